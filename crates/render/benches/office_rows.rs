//! XLSX and DOCX throughput: a 6-column table of `ROWS` typed rows (default 100,000: an id,
//! two strings, a quantity in `N0`, a price in `C2`, a date in `d`). Prints rows/s and the
//! output size per format. Run: `ROWS=100000 cargo bench -p render --bench office_rows`
//! (peak RSS: wrap in `/usr/bin/time -v`; `FORMATS=XLSX` or `FORMATS=DOCX` runs one,
//! `FORMATS=none` measures building the instance alone).

use std::time::Instant;

use engine::instance::{
    GridCell, GridRow, Instance, Item, ItemKind, Paragraph, Run, Section, Tablix, Textbox,
    UM_PER_INCH,
};
use engine::page::AverageCharMeasurer;
use rdl::Value;

fn textbox(text: String, value: Value, format: Option<&str>, w: i64, h: i64) -> Item {
    let mut it = Item::new(
        "c",
        ItemKind::Textbox(Box::new(Textbox {
            paragraphs: vec![Paragraph {
                runs: vec![Run {
                    text,
                    value: value.clone(),
                    style: Default::default(),
                    action: None,
                    format: format.map(str::to_owned),
                }],
                align: Default::default(),
                left_indent: 0,
            }],
            value,
            constant: false,
            element_style: None,
            action: None,
            toggle: None,
            sort: None,
            can_grow: true,
            can_shrink: false,
        })),
    );
    it.width = w;
    it.height = h;
    it
}

fn main() {
    let rows: usize = std::env::var("ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let w = UM_PER_INCH * 12 / 10;
    let h = UM_PER_INCH / 5;
    let customers = ["Owl Wholesales", "Contoso Suites", "Fabrikam", "Northwind"];
    let products = ["Lens", "Mid-Range Speaker", "Acoustic Foam Panel", "Cable"];
    let mut grid = Vec::with_capacity(rows + 1);
    let head = ["Id", "Customer", "Product", "Qty", "Price", "Date"];
    grid.push(GridRow {
        height: h,
        cells: (0..6)
            .map(|c| GridCell {
                col: c,
                colspan: 1,
                rowspan: 1,
                item: Some(textbox(head[c].into(), Value::str(head[c]), None, w, h)),
            })
            .collect(),
        repeat_on_new_page: true,
        ..Default::default()
    });
    let day0 = time::macros::datetime!(2026-01-01 0:00);
    for r in 0..rows {
        let price = rust_decimal::Decimal::new((r % 100_000) as i64, 2);
        let date = day0 + time::Duration::days((r % 365) as i64);
        let vals: [(String, Value, Option<&str>); 6] = [
            (format!("{}", r + 1), Value::Int(r as i64 + 1), None),
            (customers[r % 4].into(), Value::str(customers[r % 4]), None),
            (products[r % 4].into(), Value::str(products[r % 4]), None),
            (
                format!("{}", r % 50),
                Value::Int((r % 50) as i64),
                Some("N0"),
            ),
            (format!("${price}"), Value::Decimal(price), Some("C2")),
            (format!("{date}"), Value::DateTime(date), Some("d")),
        ];
        grid.push(GridRow {
            height: h,
            cells: vals
                .into_iter()
                .enumerate()
                .map(|(c, (t, v, f))| GridCell {
                    col: c,
                    colspan: 1,
                    rowspan: 1,
                    item: Some(textbox(t, v, f, w, h)),
                })
                .collect(),
            ..Default::default()
        });
    }
    let mut t = Item::new(
        "T",
        ItemKind::Tablix(Box::new(Tablix {
            columns: vec![w; 6],
            rows: grid,
            header_rows: 1,
            ..Tablix::default()
        })),
    );
    t.width = 6 * w;
    t.height = 2 * h;
    let inst = Instance {
        name: "Bench".into(),
        description: String::new(),
        author: String::new(),
        language: "en-US".into(),
        execution_time: time::macros::datetime!(2026-12-01 10:30:00),
        data_element_name: "Report".into(),
        data_schema: None,
        data_element_style: Default::default(),
        sections: vec![Section {
            body: vec![t],
            body_height: 2 * h,
            body_width: 6 * w,
            body_style: Default::default(),
            page: Default::default(),
            header: None,
            footer: None,
        }],
        warning_log: Default::default(),
        initial_page_name: String::new(),
    };
    let formats = std::env::var("FORMATS").unwrap_or_else(|_| "XLSX,DOCX".into());
    println!("instance built ({rows} rows)");
    for format in formats.split(',') {
        let mut out = Vec::new();
        let t0 = Instant::now();
        match format {
            "none" => Ok(()),
            "XLSX" => {
                render::xlsx::render(&inst, &Default::default(), &AverageCharMeasurer, &mut out)
                    .map(|_| ())
            }
            _ => render::docx::render(&inst, &Default::default(), &AverageCharMeasurer, &mut out)
                .map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{e}"));
        let s = t0.elapsed().as_secs_f64();
        println!(
            "{format}: {rows} rows in {s:.2}s = {:.0} rows/s, {} bytes",
            rows as f64 / s,
            out.len()
        );
    }
}
