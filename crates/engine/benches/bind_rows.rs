//! Bind throughput: the 6-column, `ROWS`-row table report of `bench/render.sh` (default
//! 100,000 rows) bound from an in-memory table, best of `RUNS` (default 3). Prints rows/s.
//! Run: `ROWS=100000 cargo bench -p engine --bench bind_rows` (profile it with `perf record`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use rdl::Value;

fn report() -> String {
    let cols: String = ["0.7", "1.5", "1.2", "0.6", "1", "1.2"]
        .iter()
        .map(|w| format!("<TablixColumn><Width>{w}in</Width></TablixColumn>"))
        .collect();
    let head: String = ["Id", "Customer", "Product", "Qty", "Price", "Date"]
        .iter()
        .map(|h| {
            format!(
                "<TablixCell><CellContents><Textbox Name=\"H{h}\"><Paragraphs><Paragraph><TextRuns><TextRun><Value>{h}</Value><Style><FontWeight>Bold</FontWeight></Style></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>"
            )
        })
        .collect();
    let body: String = [
        ("id", "Id", ""),
        ("customer", "Customer", ""),
        ("product", "Product", ""),
        ("qty", "Qty", ""),
        ("price", "Price", "<Format>N2</Format>"),
        ("order_date", "Date", "<Format>d</Format>"),
    ]
    .iter()
    .map(|(f, n, fmt)| {
        format!(
            "<TablixCell><CellContents><Textbox Name=\"{n}\"><Paragraphs><Paragraph><TextRuns><TextRun><Value>=Fields!{f}.Value</Value><Style>{fmt}</Style></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>"
        )
    })
    .collect();
    let fields: String = [
        ("id", "System.Int32"),
        ("customer", "System.String"),
        ("product", "System.String"),
        ("qty", "System.Int32"),
        ("price", "System.Decimal"),
        ("order_date", "System.DateTime"),
    ]
    .iter()
    .map(|(f, t)| {
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
    <TablixColumnHierarchy><TablixMembers><TablixMember /><TablixMember /><TablixMember /><TablixMember /><TablixMember /><TablixMember /></TablixMembers></TablixColumnHierarchy>
    <TablixRowHierarchy><TablixMembers><TablixMember><KeepWithGroup>After</KeepWithGroup><RepeatOnNewPage>true</RepeatOnNewPage></TablixMember><TablixMember><Group Name="Details" /></TablixMember></TablixMembers></TablixRowHierarchy>
    <DataSetName>Orders</DataSetName><Top>0in</Top><Left>0in</Left><Height>0.5in</Height><Width>6.2in</Width>
    </Tablix></ReportItems><Height>0.5in</Height></Body><Width>6.5in</Width>
    <Page><InteractiveHeight>0in</InteractiveHeight></Page></ReportSection></ReportSections>
</Report>"#
    )
}

fn main() {
    let rows: usize = std::env::var("ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    if std::env::var("SIZES").is_ok() {
        sizes();
    }
    let c = Arc::new(engine::parse_and_prepare("/Bench", report().as_bytes()).expect("report"));
    let customers: Vec<Arc<str>> = (0..997)
        .map(|i| Arc::from(format!("Customer {i:04}")))
        .collect();
    let products: Vec<Arc<str>> = (0..53).map(|i| Arc::from(format!("Product {i}"))).collect();
    let day0 = time::macros::datetime!(2024-01-01 0:00);
    let table = engine::DataTable::from_rows(
        ["id", "customer", "product", "qty", "price", "order_date"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        (1..=rows as i64).map(|i| {
            vec![
                Value::Int(i),
                Value::Str(customers[(i % 997) as usize].clone()),
                Value::Str(products[(i % 53) as usize].clone()),
                Value::Int(1 + i % 20),
                Value::Decimal(rust_decimal::Decimal::new((i * 37) % 100_000, 2)),
                Value::DateTime(day0 + time::Duration::days(i % 730)),
            ]
            .into_boxed_slice()
        }),
    );
    let data = HashMap::from([("Orders".to_string(), Arc::new(table))]);
    let params = c
        .resolve_parameters(&HashMap::new(), &HashMap::new())
        .expect("parameters");
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let inst = engine::bind(
            &c,
            &params,
            &data,
            &engine::Globals::default(),
            &engine::BindOptions::default(),
        )
        .expect("bind");
        let s = t.elapsed().as_secs_f64();
        drop(inst);
        best = best.min(s);
    }
    println!(
        "bind: {rows} rows in {best:.3} s (best of {runs}): {:.0} rows/s",
        rows as f64 / best
    );
}
#[allow(dead_code)]
fn sizes() {
    use engine::instance::*;
    eprintln!(
        "Item {} Textbox {} Run {} Paragraph {} GridCell {} BoxStyle {} TextStyle {} Action {} PageBreak {} Value {}",
        size_of::<Item>(),
        size_of::<Textbox>(),
        size_of::<Run>(),
        size_of::<Paragraph>(),
        size_of::<GridCell>(),
        size_of::<BoxStyle>(),
        size_of::<TextStyle>(),
        size_of::<Action>(),
        size_of::<PageBreak>(),
        size_of::<Value>()
    );
}
