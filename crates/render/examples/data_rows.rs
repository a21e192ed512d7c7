//! Data-format throughput probe: the 6-column table report of `bench/render.sh` bound from an
//! in-memory table with streamed detail rows (as the server binds for CSV, XML and JSON) and
//! rendered to CSV, XML and JSON, best of `RUNS` (default 3); fetch and TLS not included.
//! `cargo run --release -p render --example data_rows -- [ROWS]` (profile it with
//! `perf record -g`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use engine::{BindOptions, ColumnKind, Globals, TableBuilder};
use render::{csv, json, xml};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FIELDS: [(&str, &str, &str, &str); 6] = [
    ("id", "Id", "System.Int32", ""),
    ("customer", "Customer", "System.String", ""),
    ("product", "Product", "System.String", ""),
    ("qty", "Qty", "System.Int32", ""),
    ("price", "Price", "System.Decimal", "<Format>N2</Format>"),
    (
        "order_date",
        "Date",
        "System.DateTime",
        "<Format>d</Format>",
    ),
];

fn report() -> String {
    let cell = |name: &str, value: &str, style: &str| {
        format!(
            "<TablixCell><CellContents><Textbox Name=\"{name}\"><Paragraphs><Paragraph><TextRuns><TextRun><Value>{value}</Value><Style>{style}</Style></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>"
        )
    };
    let head: String = FIELDS
        .iter()
        .map(|(_, n, _, _)| cell(&format!("H{n}"), n, "<FontWeight>Bold</FontWeight>"))
        .collect();
    let body: String = FIELDS
        .iter()
        .map(|(f, n, _, fmt)| cell(n, &format!("=Fields!{f}.Value"), fmt))
        .collect();
    let fields: String = FIELDS
        .iter()
        .map(|(f, _, t, _)| {
            format!(
                "<Field Name=\"{f}\"><DataField>{f}</DataField><rd:TypeName>{t}</rd:TypeName></Field>"
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition" xmlns:rd="http://schemas.microsoft.com/SQLServer/reporting/reportdesigner">
  <DataSources><DataSource Name="DB"><ConnectionProperties><DataProvider>SQLITE</DataProvider><ConnectString>Data Source=x.db</ConnectString></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="Orders"><Query><DataSourceName>DB</DataSourceName><CommandText>SELECT 1</CommandText></Query>
    <Fields>{fields}</Fields></DataSet></DataSets>
  <ReportSections><ReportSection><Body><ReportItems>
    <Tablix Name="Orders"><TablixBody><TablixColumns>{cols}</TablixColumns><TablixRows>
      <TablixRow><Height>0.25in</Height><TablixCells>{head}</TablixCells></TablixRow>
      <TablixRow><Height>0.25in</Height><TablixCells>{body}</TablixCells></TablixRow>
    </TablixRows></TablixBody>
    <TablixColumnHierarchy><TablixMembers>{members}</TablixMembers></TablixColumnHierarchy>
    <TablixRowHierarchy><TablixMembers><TablixMember><KeepWithGroup>After</KeepWithGroup><RepeatOnNewPage>true</RepeatOnNewPage></TablixMember><TablixMember><Group Name="Details" /></TablixMember></TablixMembers></TablixRowHierarchy>
    <DataSetName>Orders</DataSetName><Top>0in</Top><Left>0in</Left><Height>0.5in</Height><Width>6.2in</Width>
    </Tablix></ReportItems><Height>0.5in</Height></Body><Width>6.5in</Width>
    <Page><InteractiveHeight>0in</InteractiveHeight></Page></ReportSection></ReportSections>
</Report>"#,
        cols = "<TablixColumn><Width>1in</Width></TablixColumn>".repeat(6),
        members = "<TablixMember />".repeat(6),
    )
}

fn main() {
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let c = Arc::new(engine::parse_and_prepare("/Bench", report().as_bytes()).expect("report"));
    let day0 = time::macros::datetime!(2024-01-01 0:00);
    let mut b = TableBuilder::new(
        FIELDS.iter().map(|f| f.0.to_string()).collect(),
        &[
            ColumnKind::Int,
            ColumnKind::Str,
            ColumnKind::Str,
            ColumnKind::Int,
            ColumnKind::Decimal,
            ColumnKind::DateTime,
        ],
    );
    for i in 1..=n {
        b.push_int(0, i);
        b.push_str(1, &format!("Customer {:04}", i % 997));
        b.push_str(2, &format!("Product {}", i % 53));
        b.push_int(3, 1 + i % 20);
        b.push_decimal(4, rust_decimal::Decimal::new((i * 37) % 100_000, 2));
        b.push_datetime(5, day0 + time::Duration::days(i % 730));
        b.end_row();
    }
    let table = b.finish();
    println!("table: {n} rows, {} bytes", table.heap_size());
    let data = HashMap::from([("Orders".to_string(), Arc::new(table))]);
    let params = c
        .resolve_parameters(&HashMap::new(), &HashMap::new())
        .expect("parameters");
    let opts = BindOptions {
        stream_details: true,
        ..BindOptions::default()
    };
    let mut out = Vec::with_capacity(16 << 20);
    for fmt in ["CSV", "XML", "JSON"] {
        let mut best = f64::MAX;
        for _ in 0..runs {
            out.clear();
            let t = Instant::now();
            let inst = engine::bind(&c, &params, &data, &Globals::default(), &opts).expect("bind");
            match fmt {
                "CSV" => csv::render(&inst, &csv::CsvOptions::default(), &mut out).expect("csv"),
                "XML" => xml::render(&inst, &xml::XmlOptions::default(), &mut out).expect("xml"),
                _ => json::render(&inst, &json::JsonOptions::default(), &mut out).expect("json"),
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{fmt}: bind + render {n} rows in {best:.3} s: {:.0} rows/s, {} bytes",
            n as f64 / best,
            out.len()
        );
    }
}
