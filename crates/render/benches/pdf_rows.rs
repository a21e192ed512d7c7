//! PDF throughput: a 6-column table of `ROWS` rows (default 100,000; values repeat like real
//! report data) rendered to PDF with the machine's fonts. Prints rows/s and the output size.
//! Also prints CPU seconds of the render (rows per CPU second: the figure that holds on a
//! shared machine) and the process's RSS before the render and at its peak.
//! Run: `ROWS=100000 cargo bench -p render --bench pdf_rows`.

mod common;

use common::{cpu_secs, rss_kb};

use std::time::Instant;

/// The server's allocator (crates/reportd/src/bin/reportd.rs), so RSS figures match a render
/// in `reportd` (glibc malloc keeps freed memory of a large render mapped).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use engine::instance::{
    GridCell, GridRow, Instance, Item, ItemKind, Paragraph, Run, Section, Tablix, Textbox,
    UM_PER_INCH,
};

fn textbox(text: String, w: i64, h: i64) -> Item {
    let mut it = Item::new(
        "c",
        ItemKind::Textbox(Box::new(Textbox {
            paragraphs: vec![Paragraph {
                runs: vec![Run {
                    text: text.clone(),
                    value: rdl::Value::Str(text.as_str().into()),
                    style: Default::default(),
                    action: None,
                    format: None,
                }],
                align: Default::default(),
                left_indent: 0,
            }],
            value: rdl::Value::Null,
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
    let products = [
        "Lens",
        "Mid-Range Speaker",
        "Acoustic Foam Panel",
        "Speaker cable 10",
    ];
    let customers = [
        "Owl Wholesales",
        "Contoso Suites",
        "Fabrikam",
        "Northwind Traders",
    ];
    let mut grid = Vec::with_capacity(rows + 1);
    let head = ["Id", "Customer", "Product", "Qty", "Price", "Date"];
    grid.push(GridRow {
        height: h,
        cells: (0..6)
            .map(|c| GridCell {
                col: c,
                colspan: 1,
                rowspan: 1,
                item: Some(textbox(head[c].into(), w, h)),
            })
            .collect(),
        repeat_on_new_page: true,
        visibility: Default::default(),
        ..Default::default()
    });
    for r in 0..rows {
        let vals = [
            format!("{}", r + 1),
            customers[r % 4].to_owned(),
            products[r % 4].to_owned(),
            format!("{}", r % 50),
            format!("{}.{:02}", r % 1000, r % 100),
            format!("{}/{}/2026", r % 12 + 1, r % 28 + 1),
        ];
        grid.push(GridRow {
            height: h,
            cells: vals
                .into_iter()
                .enumerate()
                .map(|(c, v)| GridCell {
                    col: c,
                    colspan: 1,
                    rowspan: 1,
                    item: Some(textbox(v, w, h)),
                })
                .collect(),
            repeat_on_new_page: false,
            visibility: Default::default(),
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
    let page = engine::instance::PageSettings {
        margins: [UM_PER_INCH / 2; 4],
        ..Default::default()
    };
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
            page,
            header: None,
            footer: None,
        }],
        warning_log: Default::default(),
        initial_page_name: String::new(),
    };
    let reg = fonts::FontRegistry::load_default().unwrap_or_else(|e| panic!("{e}"));
    let rss_before = rss_kb("VmRSS");
    // the peak below is the render's: VmHWM restarts from the current RSS
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    // HUMAN=1: uncompressed content streams (to read what a page costs); OUT=path: the PDF
    let opts = render::pdf::PdfOptions {
        human_readable: std::env::var_os("HUMAN").is_some(),
        ..Default::default()
    };
    let cpu0 = cpu_secs();
    let start = Instant::now();
    let mut out = Vec::new();
    let s = render::pdf::render(&inst, &reg, &opts, &mut out).unwrap_or_else(|e| panic!("{e}"));
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    println!(
        "pdf: {rows} rows, {} pages, {} bytes, {secs:.2} s, {:.0} rows/s",
        s.pages,
        out.len(),
        rows as f64 / secs
    );
    if let Some(path) = std::env::var_os("OUT") {
        std::fs::write(path, &out).unwrap_or_else(|e| panic!("{e}"));
    }
    println!(
        "pdf: {cpu:.2} CPU s, {:.0} rows per CPU second",
        rows as f64 / cpu
    );
    println!(
        "pdf: RSS before render {} MB (instance tree and fonts), peak during the render {} MB",
        rss_before / 1024,
        rss_kb("VmHWM") / 1024
    );
}
