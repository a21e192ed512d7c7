//! HTML5 throughput and memory without the server: the 6-column table report of
//! `bench/render.sh` (InteractiveHeight 0: one page) over `ROWS` rows (default 100,000) built
//! in memory, bound and rendered to HTML5 into a counting sink. Prints CPU seconds of bind +
//! render, rows per CPU second, the output size and the peak RSS growth over the data set
//! (the data set's size: its CSV output). `TREE=1` binds the whole tree (no streamed rows);
//! `OUT=path` writes the output there too; `IH=2in` sets InteractiveHeight (default 0in);
//! `FORMAT=CSV` (or `XML`, `JSON`) renders the same bind in that format instead.
//! Run: `ROWS=100000 cargo bench -p render --bench html_rows`.

mod common;

use common::{cpu_secs, rss_kb};

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

/// The server's allocator (crates/reportd/src/bin/reportd.rs), so RSS figures match.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use engine::{BindOptions, DataTable, Globals};
use rdl::Value;
use rust_decimal::Decimal;

const FIELDS: [&str; 6] = ["id", "customer", "product", "qty", "price", "order_date"];

fn report() -> String {
    let cols: String = [0.7, 1.5, 1.2, 0.6, 1.0, 1.2]
        .iter()
        .map(|w| format!("<TablixColumn><Width>{w}in</Width></TablixColumn>"))
        .collect();
    let cell = |name: &str, value: &str, style: &str| {
        format!(
            "<TablixCell><CellContents><Textbox Name=\"{name}\"><Paragraphs><Paragraph><TextRuns><TextRun><Value>{value}</Value><Style>{style}</Style></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>"
        )
    };
    let heads: String = ["Id", "Customer", "Product", "Qty", "Price", "Date"]
        .iter()
        .map(|h| cell(&format!("H{h}"), h, "<FontWeight>Bold</FontWeight>"))
        .collect();
    let names = ["Id", "Customer", "Product", "Qty", "Price", "Date"];
    let details: String = FIELDS
        .iter()
        .zip(names)
        .map(|(f, n)| {
            let fmt = match *f {
                "price" => "<Format>N2</Format>",
                "order_date" => "<Format>d</Format>",
                _ => "",
            };
            cell(n, &format!("=Fields!{f}.Value"), fmt)
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition">
  <DataSources><DataSource Name="DB"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="Orders"><Query><DataSourceName>DB</DataSourceName><CommandText>x</CommandText></Query>
    <Fields>{fields}</Fields></DataSet></DataSets>
  <ReportSections><ReportSection><Body><ReportItems>
    <Tablix Name="Orders"><TablixBody><TablixColumns>{cols}</TablixColumns><TablixRows>
      <TablixRow><Height>0.25in</Height><TablixCells>{heads}</TablixCells></TablixRow>
      <TablixRow><Height>0.25in</Height><TablixCells>{details}</TablixCells></TablixRow>
    </TablixRows></TablixBody>
    <TablixColumnHierarchy><TablixMembers>{cm}</TablixMembers></TablixColumnHierarchy>
    <TablixRowHierarchy><TablixMembers><TablixMember><KeepWithGroup>After</KeepWithGroup><RepeatOnNewPage>true</RepeatOnNewPage></TablixMember><TablixMember><Group Name="Details" /></TablixMember></TablixMembers></TablixRowHierarchy>
    <DataSetName>Orders</DataSetName><Top>0in</Top><Left>0in</Left><Height>0.5in</Height><Width>6.2in</Width>
    </Tablix></ReportItems><Height>0.5in</Height></Body><Width>6.5in</Width>
    <Page><PageHeight>11in</PageHeight><PageWidth>8.5in</PageWidth><InteractiveHeight>{ih}</InteractiveHeight></Page></ReportSection></ReportSections>
</Report>"#,
        fields = FIELDS
            .iter()
            .map(|f| format!("<Field Name=\"{f}\"><DataField>{f}</DataField></Field>"))
            .collect::<String>(),
        cm = "<TablixMember />".repeat(6),
        ih = std::env::var("IH").unwrap_or_else(|_| "0in".into()),
    )
}

/// The rows `bench/render.sh` makes with generate_series.
fn table(n: i64) -> DataTable {
    let day0 = time::macros::datetime!(2024-01-01 0:00);
    DataTable::from_rows(
        FIELDS.iter().map(|s| s.to_string()).collect(),
        (1..=n).map(|i| {
            vec![
                Value::Int(i),
                Value::str(format!("Customer {:04}", i % 997)),
                Value::str(format!("Product {}", i % 53)),
                Value::Int(1 + i % 20),
                Value::Decimal(Decimal::new((i * 37) % 100_000, 2)),
                Value::DateTime(day0 + time::Duration::days(i % 730)),
            ]
        }),
    )
}

struct Count(usize);
impl Write for Count {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len();
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Tee<'f>(Count, Option<&'f mut std::fs::File>);
impl Write for Tee<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if let Some(f) = &mut self.1 {
            f.write_all(b)?;
        }
        self.0.write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() {
    let rows: i64 = std::env::var("ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tree = std::env::var_os("TREE").is_some();
    // FORMAT=CSV|XML|JSON renders that instead of HTML5 (the same bind)
    let format = std::env::var("FORMAT")
        .unwrap_or_else(|_| "html5".into())
        .to_ascii_lowercase();
    let c = Arc::new(engine::parse_and_prepare("/Bench/Orders", report().as_bytes()).unwrap());
    let params = c
        .resolve_parameters(&HashMap::new(), &HashMap::new())
        .unwrap();
    let data = HashMap::from([("Orders".to_string(), Arc::new(table(rows)))]);
    let opts = BindOptions {
        stream_details: !tree,
        ..BindOptions::default()
    };
    // the data set's size: its CSV
    let data_bytes = {
        let inst = engine::bind(&c, &params, &data, &Globals::default(), &opts).unwrap();
        let o =
            render::csv::CsvOptions::from_device_info(&render::DeviceInfo::new(&HashMap::new()))
                .unwrap();
        let mut w = Count(0);
        render::csv::render(&inst, &o, &mut w).unwrap();
        w.0
    };
    // the bind alone: every streamed row bound and dropped
    if !tree {
        let inst = engine::bind(&c, &params, &data, &Globals::default(), &opts).unwrap();
        let cpu0 = cpu_secs();
        if let Some(engine::instance::ItemKind::Tablix(t)) =
            inst.sections[0].body.first().map(|i| &i.kind)
            && let Some(s) = &t.streamed
        {
            for i in 0..s.rows.len() {
                std::hint::black_box(s.rows.row(i).unwrap());
            }
        }
        let cpu = cpu_secs() - cpu0;
        println!(
            "{format}: binding the rows alone {cpu:.2} CPU s ({:.2} us a row)",
            cpu * 1e6 / rows as f64
        );
    }
    let rss0 = rss_kb("VmRSS");
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let cpu0 = cpu_secs();
    let inst = engine::bind(&c, &params, &data, &Globals::default(), &opts).unwrap();
    let streamed = inst.is_streamed();
    // OUT=path: the output goes to that file too
    let mut file = std::env::var_os("OUT").map(|p| std::fs::File::create(p).unwrap());
    let mut w = std::io::BufWriter::with_capacity(64 * 1024, Tee(Count(0), file.as_mut()));
    let device = render::DeviceInfo::new(&HashMap::new());
    match format.as_str() {
        "csv" => {
            let o = render::csv::CsvOptions::from_device_info(&device).unwrap();
            render::csv::render(&inst, &o, &mut w).unwrap();
        }
        "xml" => {
            let o = render::xml::XmlOptions::from_device_info(&device, None).unwrap();
            render::xml::render(&inst, &o, &mut w).unwrap();
        }
        "json" => {
            let o = render::json::JsonOptions::from_device_info(&device).unwrap();
            render::json::render(&inst, &o, &mut w).unwrap();
        }
        _ => {
            let o = render::html::HtmlOptions::from_device_info(&device).unwrap();
            render::html::render(&inst, &o, &engine::page::AverageCharMeasurer, &mut w).unwrap();
        }
    }
    let out = w.into_inner().map(|t| t.0.0).unwrap_or(0);
    let cpu = cpu_secs() - cpu0;
    let grow = rss_kb("VmHWM").saturating_sub(rss0) * 1024;
    println!(
        "{format}: {rows} rows ({}), {cpu:.2} CPU s, {:.0} rows per CPU second, {out} bytes out",
        if streamed { "streamed" } else { "tree" },
        rows as f64 / cpu
    );
    println!(
        "{format}: data set {data_bytes} bytes, peak RSS growth {} MB = {:.2}x the data set",
        grow / 1_048_576,
        grow as f64 / data_bytes as f64
    );
}
