//! What the sample tests share: the shared samples read from `../shared/samples/rdl`
//! (skipped when missing, a failure under `CI=true`), fixed globals, and a run of a sample
//! through the engine with its ENTERDATA data, as the web app runs a report; the default
//! fonts (skipped when missing, a failure under `CI=true`) and the generated `Orders` table
//! and tablix cell of the streaming tests.

#![allow(dead_code)] // reason: each test binary uses its own part of this module

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use engine::usersort::UserSortChoice;
use engine::{BindOptions, Compiled, DataTable, Globals, Instance, ParamError};
use fonts::FontRegistry;
use rdl::Value;
use rust_decimal::Decimal;

pub fn sample(name: &str) -> Option<Vec<u8>> {
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

pub fn globals() -> Globals {
    Globals {
        execution_time: time::macros::datetime!(2026-12-01 10:30:00),
        user_id: "tester".into(),
        ..Globals::default()
    }
}

/// Runs every query through the ENTERDATA provider's parser.
pub fn fetch(
    c: &Compiled,
    req: &[engine::QueryRequest],
    tables: &mut HashMap<String, Arc<DataTable>>,
) {
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
        tables.insert(q.dataset.clone(), Arc::new(t.table));
    }
}

pub fn run(name: &str, input: &[(&str, &[&str])]) -> Option<Result<Instance, ParamError>> {
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

/// The default fonts, or `None` (with `skipped:`) when they cannot be loaded; a failure under
/// `CI=true`.
pub fn fonts() -> Option<FontRegistry> {
    match FontRegistry::load_default() {
        Ok(r) => Some(r),
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{e}");
            }
            println!("skipped: {e}");
            None
        }
    }
}

/// `n` rows of the `Orders` data set (id, customer, qty, price, day): every 7th customer
/// null, the others with quotes, `<`, `>` and `&` to escape.
pub fn orders(n: i64) -> DataTable {
    let day0 = time::macros::datetime!(2024-01-01 0:00);
    DataTable::from_rows(
        ["id", "customer", "qty", "price", "day"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        (1..=n).map(|i| {
            vec![
                Value::Int(i),
                if i % 7 == 0 {
                    Value::Null
                } else {
                    Value::str(format!("Customer \"{}\", <{}> & co", i % 5, i % 3))
                },
                Value::Int(1 + i % 4),
                Value::Decimal(Decimal::new((i * 37) % 10_000, 2)),
                Value::DateTime(day0 + time::Duration::days(i % 40)),
            ]
        }),
    )
}

/// A tablix cell holding one textbox `name` of `value`, `extra` RDL before its paragraphs.
pub fn textbox(name: &str, value: &str, extra: &str) -> String {
    format!(
        "<TablixCell><CellContents><Textbox Name=\"{name}\">{extra}<Paragraphs><Paragraph><TextRuns><TextRun><Value>{value}</Value></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>"
    )
}

/// The interactive sorts chosen, as (sort id, ascending), for `BindOptions::user_sorts`.
pub fn user_sorts(sorts: &[(&str, bool)]) -> Vec<UserSortChoice> {
    sorts
        .iter()
        .map(|(id, ascending)| UserSortChoice {
            id: id.to_string(),
            ascending: *ascending,
        })
        .collect()
}

/// Binds `c` without parameters over `data`, its detail rows streamed when `stream`.
pub fn bind_data(
    c: &Arc<Compiled>,
    data: &HashMap<String, Arc<DataTable>>,
    stream: bool,
    globals: &Globals,
) -> Instance {
    let params = c
        .resolve_parameters(&HashMap::new(), &HashMap::new())
        .expect("parameters");
    let opts = BindOptions {
        stream_details: stream,
        ..BindOptions::default()
    };
    engine::bind(c, &params, data, globals, &opts).expect("bind")
}

/// The five cells of an `Orders` details row, price and day formatted.
pub fn plain_cells() -> Vec<String> {
    vec![
        textbox("Id", "=Fields!id.Value", ""),
        textbox("Customer", "=Fields!customer.Value", ""),
        textbox("Qty", "=Fields!qty.Value", ""),
        textbox(
            "Price",
            "=Fields!price.Value",
            "<Style><Format>N2</Format></Style>",
        ),
        textbox(
            "Day",
            "=Fields!day.Value",
            "<Style><Format>d</Format></Style>",
        ),
    ]
}
