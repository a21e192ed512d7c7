//! Throughput probe: binds a generated N-row, 6-column table report and renders it to CSV,
//! XML, JSON and HTML5 (one page), printing rows per second for each step.
//! `cargo run --release -p render --example rows -- 100000`

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use engine::page::AverageCharMeasurer;
use engine::{BindOptions, DataTable, Globals};
use rdl::Value;
use render::{csv, html, json, xml};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let cols = ["Id", "Name", "City", "Qty", "Price", "Day"];
    let fields: String = cols
        .iter()
        .map(|c| format!("<Field Name=\"{c}\"><DataField>{c}</DataField></Field>"))
        .collect();
    let cell = |v: &str| {
        format!(
            "<TablixCell><CellContents><Textbox Name=\"{v}\"><Paragraphs><Paragraph><TextRuns><TextRun><Value>=Fields!{v}.Value</Value><Style /></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>"
        )
    };
    let rdl = format!(
        r#"<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition">
<DataSources><DataSource Name="D"><ConnectionProperties><DataProvider>SQLITE</DataProvider><ConnectString>x</ConnectString></ConnectionProperties></DataSource></DataSources>
<DataSets><DataSet Name="S"><Query><DataSourceName>D</DataSourceName><CommandText>select</CommandText></Query><Fields>{fields}</Fields></DataSet></DataSets>
<ReportSections><ReportSection><Body><ReportItems><Tablix Name="T"><TablixBody><TablixColumns>{tc}</TablixColumns>
<TablixRows><TablixRow><Height>0.25in</Height><TablixCells>{cells}</TablixCells></TablixRow></TablixRows></TablixBody>
<TablixColumnHierarchy><TablixMembers>{cm}</TablixMembers></TablixColumnHierarchy>
<TablixRowHierarchy><TablixMembers><TablixMember><Group Name="Details" /></TablixMember></TablixMembers></TablixRowHierarchy>
<DataSetName>S</DataSetName><Height>0.25in</Height><Width>6in</Width></Tablix></ReportItems><Height>1in</Height></Body><Width>6in</Width><Page /></ReportSection></ReportSections></Report>"#,
        tc = "<TablixColumn><Width>1in</Width></TablixColumn>".repeat(6),
        cells = cols.iter().map(|c| cell(c)).collect::<String>(),
        cm = "<TablixMember />".repeat(6),
    );
    let c = Arc::new(engine::parse_and_prepare("/bench/rows", rdl.as_bytes()).expect("report"));
    let rows: Vec<Box<[Value]>> = (0..n)
        .map(|i| {
            vec![
                Value::Int(i as i64),
                Value::str(format!("Name {i}")),
                Value::str("Springfield"),
                Value::Int((i % 100) as i64),
                Value::Float(i as f64 * 0.25),
                Value::str("2024-01-01"),
            ]
            .into_boxed_slice()
        })
        .collect();
    let mut data = HashMap::new();
    data.insert(
        "S".to_owned(),
        Arc::new(DataTable::from_rows(
            cols.iter().map(|s| s.to_string()).collect(),
            rows,
        )),
    );
    let p = c
        .resolve_parameters(&HashMap::new(), &data)
        .expect("params");
    let t = Instant::now();
    let inst =
        engine::bind(&c, &p, &data, &Globals::default(), &BindOptions::default()).expect("bind");
    let bind_s = t.elapsed().as_secs_f64();
    println!("bind: {:.0} rows/s ({bind_s:.3} s)", n as f64 / bind_s);
    let mut sink = std::io::sink();
    let step = |name: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        let s = t.elapsed().as_secs_f64();
        println!(
            "{name}: {:.0} rows/s ({s:.3} s; with bind {:.0} rows/s)",
            n as f64 / s,
            n as f64 / (s + bind_s)
        );
    };
    step("csv", &mut || {
        csv::render(&inst, &csv::CsvOptions::default(), &mut sink).expect("csv")
    });
    step("xml", &mut || {
        xml::render(&inst, &xml::XmlOptions::default(), &mut sink).expect("xml")
    });
    step("json", &mut || {
        json::render(&inst, &json::JsonOptions::default(), &mut sink).expect("json")
    });
    let o = html::HtmlOptions {
        page_height: Some(0),
        ..Default::default()
    };
    step("html5", &mut || {
        html::render(&inst, &o, &AverageCharMeasurer, &mut sink).expect("html")
    });
}
