//! Streamed plain cells are formatted in place (into the row's text, the culture looked up
//! once per bind): every value type under standard, custom, VB-named and rejected formats,
//! in several report languages, gives the text the tree's bind gives (CSV with formatted
//! values, and XML/JSON with them, compared byte for byte).

mod common;

use common::{bind_data, textbox};

use std::collections::HashMap;
use std::sync::Arc;

use engine::{DataTable, Globals, Instance};
use rdl::Value;
use render::{DeviceInfo, csv, json, xml};
use rust_decimal::Decimal;

const NS: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

const FIELDS: [&str; 5] = ["i", "f", "d", "t", "s"];

const NUMBER_FORMATS: [&str; 17] = [
    "",
    "N2",
    "N0",
    "C",
    "C0",
    "P1",
    "D6",
    "E3",
    "G",
    "G4",
    "F3",
    "X",
    "#,##0.00;(#,##0.00);zero",
    "Standard",
    "Yes/No",
    "Z",
    "0.0%",
];

const DATE_FORMATS: [&str; 12] = [
    "",
    "d",
    "D",
    "G",
    "f",
    "T",
    "Short Date",
    "long time",
    "yyyy-MM-dd HH:mm:ss.FFF",
    "MMM d, yyyy h:mm tt",
    "Q",
    "'open",
];

fn table() -> DataTable {
    let t0 = time::macros::datetime!(2024-02-28 13:45:06.25);
    let rows = (0..90i64).map(|k| {
        let null = k % 11 == 5;
        let v = |x: Value| if null { Value::Null } else { x };
        vec![
            v(Value::Int(
                (k - 40) * 12_345 * if k % 3 == 0 { 1_000 } else { 1 },
            )),
            v(Value::Float(match k % 6 {
                0 => (k as f64 - 45.0) * 1234.5678,
                1 => 1e20 / (k as f64 + 1.0),
                2 => -0.5,
                3 => 0.0,
                4 => 1.0 / 3.0,
                _ => f64::from(k as i32) * 1e-7,
            })),
            v(Value::Decimal(Decimal::new(
                (k - 45) * 987_654_321,
                (k % 5) as u32,
            ))),
            v(Value::DateTime(
                t0 + time::Duration::hours(k * 37) + time::Duration::milliseconds(k * 7),
            )),
            v(Value::str(match k % 4 {
                0 => "12.5".to_string(),
                1 => "2024-03-01".to_string(),
                2 => format!("text {k}, \"quoted\""),
                _ => String::new(),
            })),
        ]
    });
    DataTable::from_rows(FIELDS.iter().map(|f| f.to_string()).collect(), rows)
}

/// The cells: each field under each format its type meets.
fn cells() -> Vec<String> {
    let mut out = Vec::new();
    let mut n = 0;
    let mut cell = |field: &str, format: &str| {
        n += 1;
        let style = if format.is_empty() {
            String::new()
        } else {
            format!("<Style><Format>{format}</Format></Style>")
        };
        out.push(textbox(
            &format!("C{n}_{field}"),
            &format!("=Fields!{field}.Value"),
            &style,
        ));
    };
    for f in ["i", "f", "d"] {
        for fmt in NUMBER_FORMATS {
            cell(f, fmt);
        }
    }
    for fmt in DATE_FORMATS {
        cell("t", fmt);
    }
    for fmt in ["", "N2", "d"] {
        cell("s", fmt);
    }
    out
}

fn report(language: &str) -> String {
    let cells = cells();
    let n = cells.len();
    let language = if language.is_empty() {
        String::new()
    } else {
        format!("<Language>{language}</Language>")
    };
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="{NS}">
  <DataSources><DataSource Name="DS"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="Values"><Query><DataSourceName>DS</DataSourceName><CommandText>x</CommandText></Query>
    <Fields>{fields}</Fields></DataSet></DataSets>
  {language}
  <ReportSections><ReportSection><Body><ReportItems>
    <Tablix Name="Values"><TablixBody><TablixColumns>{cols}</TablixColumns><TablixRows>
      <TablixRow><Height>0.25in</Height><TablixCells>{cells}</TablixCells></TablixRow>
    </TablixRows></TablixBody>
    <TablixColumnHierarchy><TablixMembers>{cm}</TablixMembers></TablixColumnHierarchy>
    <TablixRowHierarchy><TablixMembers><TablixMember><Group Name="Details" /></TablixMember></TablixMembers></TablixRowHierarchy>
    <DataSetName>Values</DataSetName><Top>0in</Top><Left>0in</Left><Height>0.25in</Height><Width>5in</Width>
    </Tablix></ReportItems><Height>0.5in</Height></Body><Width>6.5in</Width>
    <Page><InteractiveHeight>0in</InteractiveHeight></Page></ReportSection></ReportSections>
</Report>"#,
        fields = FIELDS
            .iter()
            .map(|f| format!("<Field Name=\"{f}\"><DataField>{f}</DataField></Field>"))
            .collect::<String>(),
        cols = "<TablixColumn><Width>1in</Width></TablixColumn>".repeat(n),
        cells = cells.concat(),
        cm = "<TablixMember />".repeat(n),
    )
}

fn outputs(inst: &Instance) -> Vec<(String, Vec<u8>)> {
    let info = |pairs: &[(&str, &str)]| {
        DeviceInfo::new(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    };
    let mut out = Vec::new();
    let o = csv::CsvOptions::from_device_info(&info(&[])).unwrap();
    let mut b = Vec::new();
    csv::render(inst, &o, &mut b).unwrap();
    out.push(("CSV".to_string(), b));
    let formatted = [("UseFormattedValues", "true")];
    let o = xml::XmlOptions::from_device_info(&info(&formatted), None).unwrap();
    let mut b = Vec::new();
    xml::render(inst, &o, &mut b).unwrap();
    out.push(("XML".to_string(), b));
    let o = json::JsonOptions::from_device_info(&info(&formatted)).unwrap();
    let mut b = Vec::new();
    json::render(inst, &o, &mut b).unwrap();
    out.push(("JSON".to_string(), b));
    out
}

#[test]
fn formatted_in_place_the_streamed_text_is_the_tree_text() {
    let data = HashMap::from([("Values".to_string(), Arc::new(table()))]);
    for language in ["", "de-DE", "fr-FR", "ja-JP", "en_gb", "xx-YY"] {
        let rdl = report(language);
        let c = Arc::new(engine::parse_and_prepare("/Test/Values", rdl.as_bytes()).expect("rdl"));
        let tree = bind_data(&c, &data, false, &Globals::default());
        let streamed = bind_data(&c, &data, true, &Globals::default());
        assert!(
            streamed.is_streamed(),
            "{language}: the table should stream"
        );
        let (want, got) = (outputs(&tree), outputs(&streamed));
        for ((label, w), (_, g)) in want.iter().zip(&got) {
            if w != g {
                let (w, g) = (String::from_utf8_lossy(w), String::from_utf8_lossy(g));
                let line = w.lines().zip(g.lines()).find(|(a, b)| a != b);
                panic!("{language} {label} differs: {line:?}");
            }
        }
        // the formats did format: a German report groups with dots
        let text = String::from_utf8_lossy(&got[0].1).into_owned();
        if language == "de-DE" {
            assert!(
                text.contains("-493.800.000"),
                "{}",
                &text[..text.len().min(800)]
            );
        }
    }
}
