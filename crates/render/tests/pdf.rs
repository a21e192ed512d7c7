//! PDF output of the three shared samples and of reports built here, read back with poppler
//! (`pdfinfo`, `pdftotext`, `pdffonts`): page counts, page size, embedded subset fonts,
//! header/footer text on given pages, the Labels sample's three columns, byte-identical
//! output for one execution, and bad input (page sizes, corrupt fonts, broken images).

mod common;

use common::*;

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

use engine::Instance;
use fonts::FontRegistry;
use render::DeviceInfo;
use render::pdf::{PdfOptions, PdfSummary};

/// Runs a poppler tool on `pdf`; `None` (skipped) when the tool is missing.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.pdf");
    std::fs::write(&path, pdf).unwrap();
    let mut cmd = Command::new(tool);
    cmd.args(args).arg(&path);
    if tool == "pdftotext" {
        cmd.arg("-");
    }
    match cmd.output() {
        Ok(o) => {
            assert!(
                o.status.success(),
                "{tool} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            Some(String::from_utf8(o.stdout).unwrap())
        }
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{tool} is not installed (apt-get install poppler-utils): {e}");
            }
            println!("skipped: {tool} not installed ({e})");
            None
        }
    }
}

fn pdf(inst: &Instance, reg: &FontRegistry, rc: &[(&str, &str)]) -> (Vec<u8>, PdfSummary) {
    let m: HashMap<String, String> = rc
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let opts = PdfOptions::from_device_info(&DeviceInfo::new(&m)).unwrap();
    let mut out = Vec::new();
    let s = render::pdf::render(inst, reg, &opts, &mut out).unwrap();
    (out, s)
}

fn pages_of(pdf: &[u8]) -> Option<(u32, String)> {
    let info = poppler("pdfinfo", &[], pdf)?;
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap();
    let size = info
        .lines()
        .find_map(|l| l.strip_prefix("Page size:"))
        .unwrap()
        .trim()
        .to_owned();
    Some((pages, size))
}

fn page_text(pdf: &[u8], page: u32) -> Option<String> {
    let p = page.to_string();
    poppler("pdftotext", &["-layout", "-f", &p, "-l", &p], pdf)
}

/// Every font embedded as a subset with a ToUnicode map.
fn assert_fonts_embedded(pdf: &[u8]) {
    let Some(f) = poppler("pdffonts", &[], pdf) else {
        return;
    };
    let rows: Vec<&str> = f.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{f}");
    for r in rows {
        let name = r.split_whitespace().next().unwrap();
        assert!(
            name.len() > 7 && name.as_bytes()[6] == b'+',
            "not a subset: {r}"
        );
        assert!(
            r.contains(" yes yes yes "),
            "not embedded/subset/ToUnicode: {r}"
        );
    }
}

fn samples() -> Vec<(&'static str, Instance)> {
    let mut v = Vec::new();
    let names: &[&str] = &["Ebony E. Gill", "Vera Kopecka"];
    for (name, input) in [
        ("Invoice.rdl", vec![("Company", &["Contoso Suites"][..])]),
        ("Labels.rdl", vec![("Names", names)]),
        ("Transcript.rdl", vec![]),
    ] {
        let Some(r) = run(name, &input) else {
            return Vec::new();
        };
        v.push((name, r.unwrap()));
    }
    v
}

#[test]
fn samples_render_to_pdf_that_poppler_reads() {
    let Some(reg) = fonts() else { return };
    for (name, inst) in samples() {
        let (bytes, s) = pdf(&inst, &reg, &[]);
        // letter pages: the samples set no PageWidth/PageHeight
        let Some((pages, size)) = pages_of(&bytes) else {
            return;
        };
        assert!(size.starts_with("612 x 792 pts"), "{name}: {size}");
        assert_eq!(pages, s.pages, "{name}");
        assert_fonts_embedded(&bytes);
        let t1 = page_text(&bytes, 1).unwrap();
        match name {
            "Invoice.rdl" => {
                assert_eq!(pages, 1);
                assert!(t1.contains("Contoso Suites"), "{t1}");
                assert!(t1.contains("Invoice CIV-000676 000007-1"), "{t1}");
                assert!(t1.contains("$321,113.52"), "{t1}");
                // the footer: PrintOnLastPage, TotalPages
                assert!(t1.contains("Page 1 of 1"), "{t1}");
                assert!(
                    s.warnings.iter().any(|w| w.contains("Segoe UI")),
                    "{:?}",
                    s.warnings
                );
            }
            "Labels.rdl" => {
                // 90 labels of 1in in 10in columns, three columns a page
                assert_eq!(pages, 3);
                let first = t1.lines().find(|l| l.contains("Ebony E. Gill")).unwrap();
                assert!(
                    first.contains("Baha Nueimat") && first.contains("Franky Courinho"),
                    "three labels side by side: {first:?}"
                );
                let t3 = page_text(&bytes, 3).unwrap();
                assert!(
                    t3.contains("Vera Kopecka") || t3.contains("Vera  Kopecka"),
                    "{t3}"
                );
                assert!(s.warnings.is_empty(), "{:?}", s.warnings);
            }
            _ => {
                assert_eq!(pages, 1);
                assert!(
                    t1.contains("Contoso Professional Certified Transcript"),
                    "{t1}"
                );
                assert!(t1.contains("GERALDO MAGELLA JUNIOR"), "{t1}");
            }
        }
    }
}

#[test]
fn one_execution_renders_byte_identical_pdf() {
    let Some(reg) = fonts() else { return };
    for (name, inst) in samples() {
        let (a, _) = pdf(&inst, &reg, &[]);
        let (b, _) = pdf(&inst, &reg, &[]);
        assert!(a == b, "{name}: two renders differ");
        let needle = b"reportd 0.1.0";
        assert!(
            a.windows(needle.len()).any(|w| w == needle),
            "{name}: Creator"
        );
    }
}

// ---- a report built here: a 200-row table with a repeated header row, a page header and
// footer with PageNumber/TotalPages, and a KeepTogether rectangle after the table

use engine::instance::{
    Action, GridCell, GridRow, Item, ItemKind, PageContext, PageItemsEval, PageSection, Paragraph,
    Run, Section, Tablix, Textbox, UM_PER_INCH,
};

fn textbox(name: &str, text: &str, w: i64, h: i64) -> Item {
    let mut it = Item::new(
        name,
        ItemKind::Textbox(Box::new(Textbox {
            paragraphs: vec![Paragraph {
                runs: vec![Run {
                    text: text.into(),
                    value: rdl::Value::Str(text.into()),
                    style: Default::default(),
                    action: None,
                    format: None,
                }],
                align: Default::default(),
                left_indent: 0,
            }],
            value: rdl::Value::Str(text.into()),
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

struct PageNo(&'static str);
impl PageItemsEval for PageNo {
    fn evaluate(&self, p: &PageContext) -> Vec<Item> {
        vec![textbox(
            "PageNo",
            &format!("{} Page {} of {}", self.0, p.page_number, p.total_pages),
            4 * UM_PER_INCH,
            UM_PER_INCH / 4,
        )]
    }
}

fn table_report(rows: usize) -> Instance {
    let row_h = UM_PER_INCH / 4;
    let cols = vec![2 * UM_PER_INCH, 2 * UM_PER_INCH];
    let cell = |col: usize, text: &str| GridCell {
        col,
        colspan: 1,
        rowspan: 1,
        item: Some(textbox(&format!("c{col}"), text, 2 * UM_PER_INCH, row_h)),
    };
    let mut grid = vec![GridRow {
        height: row_h,
        cells: vec![cell(0, "Header Name"), cell(1, "Header Amount")],
        repeat_on_new_page: true,
        visibility: Default::default(),
        ..Default::default()
    }];
    for r in 1..=rows {
        grid.push(GridRow {
            height: row_h,
            cells: vec![
                cell(0, &format!("Row {r}")),
                cell(1, &format!("{}.00", r * 7)),
            ],
            repeat_on_new_page: false,
            visibility: Default::default(),
            ..Default::default()
        });
    }
    let mut t = Item::new(
        "BigTable",
        ItemKind::Tablix(Box::new(Tablix {
            columns: cols,
            rows: grid,
            header_rows: 1,
            ..Tablix::default()
        })),
    );
    t.width = 4 * UM_PER_INCH;
    t.height = 2 * row_h;
    let mut kept = Item::new(
        "Kept",
        ItemKind::Rectangle(vec![textbox(
            "KeptText",
            "Kept block",
            3 * UM_PER_INCH,
            row_h,
        )]),
    );
    kept.top = t.height + UM_PER_INCH / 10;
    kept.width = 3 * UM_PER_INCH;
    kept.height = 3 * UM_PER_INCH;
    kept.keep_together = true;
    let mut link = textbox("Link", "example link", 2 * UM_PER_INCH, row_h);
    if let ItemKind::Textbox(tb) = &mut link.kind {
        tb.action = Some(Action::Hyperlink("https://example.com/x".into()));
    }
    link.left = 5 * UM_PER_INCH;
    let band = |print_first, print_last, label| PageSection {
        height: UM_PER_INCH / 2,
        print_on_first_page: print_first,
        print_on_last_page: print_last,
        style: Default::default(),
        items: Arc::new(PageNo(label)),
    };
    let page = engine::instance::PageSettings {
        margins: [UM_PER_INCH / 2; 4],
        ..Default::default()
    };
    Instance {
        name: "Big".into(),
        description: "A table".into(),
        author: "Tester".into(),
        language: "en-US".into(),
        execution_time: time::macros::datetime!(2026-12-01 10:30:00),
        data_element_name: "Report".into(),
        data_schema: None,
        data_element_style: Default::default(),
        sections: vec![Section {
            body: vec![t, kept, link],
            body_height: 4 * UM_PER_INCH,
            body_width: 7 * UM_PER_INCH,
            body_style: Default::default(),
            page,
            header: Some(band(false, false, "Header")),
            footer: Some(band(false, true, "Footer")),
        }],
        warning_log: Default::default(),
        initial_page_name: String::new(),
    }
}

#[test]
fn table_splits_over_pages_with_repeated_header_total_pages_and_keep_together() {
    let Some(reg) = fonts() else { return };
    let inst = table_report(200);
    let (bytes, s) = pdf(&inst, &reg, &[]);
    // body: 11in - 1in margins - 0.5in header - 0.5in footer = 9in = 36 rows of 0.25in;
    // the header row repeats, so 35 data rows a page: 6 pages for the table, and the 3in
    // KeepTogether rectangle does not fit under the last 25 rows (6.5in): page 7
    assert_eq!(s.pages, 7, "{:?}", s.warnings);
    let Some((pages, _)) = pages_of(&bytes) else {
        return;
    };
    assert_eq!(pages, 7);
    let t: Vec<String> = (1..=7).map(|p| page_text(&bytes, p).unwrap()).collect();
    // header: not on page 1 (PrintOnFirstPage=false) nor on the last (PrintOnLastPage=false)
    assert!(!t[0].contains("Header Page"), "{}", t[0]);
    assert!(t[1].contains("Header Page 2 of 7"));
    assert!(!t[6].contains("Header Page"));
    // footer: not on page 1, on the last (PrintOnLastPage=true)
    assert!(!t[0].contains("Footer Page"));
    assert!(t[2].contains("Footer Page 3 of 7"), "{}", t[2]);
    assert!(t[6].contains("Footer Page 7 of 7"));
    for (i, page) in t.iter().enumerate().take(6) {
        assert!(
            page.contains("Header Name"),
            "page {}: repeated header row",
            i + 1
        );
        let first = i * 35 + 1;
        assert!(
            page.contains(&format!("Row {first} ")),
            "page {}: Row {first}",
            i + 1
        );
        assert!(
            !page.contains(&format!("Row {} ", first + 35)),
            "page {}",
            i + 1
        );
    }
    assert!(t[5].contains("Row 200") && !t[5].contains("Kept block"));
    assert!(t[6].contains("Kept block") && !t[6].contains("Row "));
    // the hyperlink is a link annotation
    let needle = b"https://example.com/x";
    assert!(bytes.windows(needle.len()).any(|w| w == needle));
    assert_fonts_embedded(&bytes);
}

#[test]
fn columns_start_and_end_page_from_device_info() {
    let Some(reg) = fonts() else { return };
    let inst = table_report(200);
    // two columns: 7 logical pages on 4 sheets; column 2 of sheet 1 starts at Row 36
    let (bytes, s) = pdf(
        &inst,
        &reg,
        &[("rc:Columns", "2"), ("rc:ColumnSpacing", "0.2in")],
    );
    assert_eq!(s.pages, 4);
    let Some(t1) = page_text(&bytes, 1) else {
        return;
    };
    let line = t1.lines().find(|l| l.contains("Row 1 ")).unwrap();
    assert!(line.contains("Row 36 "), "{line:?}");
    // StartPage/EndPage pick pages; numbers stay those of the whole report
    let (bytes, s) = pdf(&inst, &reg, &[("rc:StartPage", "2"), ("rc:EndPage", "3")]);
    assert_eq!((s.pages, s.total_pages), (2, 7));
    assert_eq!(pages_of(&bytes).unwrap().0, 2);
    assert!(page_text(&bytes, 1).unwrap().contains("Header Page 2 of 7"));
    let (_, s) = pdf(&inst, &reg, &[("rc:StartPage", "5")]);
    assert_eq!(s.pages, 3);
}

#[test]
fn page_sizes_of_zero_or_1000_inches_are_errors_naming_the_setting_and_range() {
    let Some(reg) = fonts() else { return };
    let inst = table_report(10);
    // device information: refused when read, before anything is rendered
    for (k, v) in [
        ("PageWidth", "0in"),
        ("PageHeight", "1000in"),
        ("rc:PageWidth", "0.1in"),
    ] {
        let m: HashMap<String, String> = [(k.to_owned(), v.to_owned())].into();
        let e = PdfOptions::from_device_info(&DeviceInfo::new(&m))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(k.trim_start_matches("rc:")) && e.contains("0.5in..160in"),
            "{k}={v}: {e}"
        );
    }
    // the report's own page size: an error naming it and the override, nothing written
    for (w, h, needle) in [
        (0, 11 * UM_PER_INCH, "the report's PageWidth is 0.00in"),
        (
            85 * UM_PER_INCH / 10,
            1000 * UM_PER_INCH,
            "the report's PageHeight is 1000.00in",
        ),
    ] {
        let mut bad = table_report(10);
        bad.sections[0].page.width = w;
        bad.sections[0].page.height = h;
        let mut out = Vec::new();
        let e = render::pdf::render(&bad, &reg, &PdfOptions::default(), &mut out)
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle) && e.contains("0.5in..160in"), "{e}");
        assert!(out.is_empty());
        // device information overrides it
        let (bytes, _) = pdf(
            &bad,
            &reg,
            &[("PageWidth", "8.5in"), ("PageHeight", "11in")],
        );
        assert!(bytes.starts_with(b"%PDF-"));
    }
    // the limits themselves are pages
    let (bytes, _) = pdf(
        &inst,
        &reg,
        &[("PageWidth", "0.5in"), ("PageHeight", "160in")],
    );
    let Some((_, size)) = pages_of(&bytes) else {
        return;
    };
    assert!(size.starts_with("36 x 11520 pts"), "{size}");
    // a size that is not a size is an error naming the setting
    let m: HashMap<String, String> = [("rc:PageWidth".to_owned(), "wide".to_owned())].into();
    let e = PdfOptions::from_device_info(&DeviceInfo::new(&m)).unwrap_err();
    assert!(e.to_string().contains("PageWidth"), "{e}");
    // the item wider than the page is named
    let (_, s) = pdf(&inst, &reg, &[("PageWidth", "5in")]);
    assert!(
        s.warnings.iter().any(|w| w.contains("Link")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn a_corrupt_font_file_is_skipped_and_no_font_is_an_error_naming_packages() {
    let Some(reg) = fonts() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Broken.ttf"), vec![0u8; 4096]).unwrap();
    let e = FontRegistry::load(&[dir.path().to_owned()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("fonts-liberation2"), "{e}");
    let sans = reg.resolve("Arial", 400, false).face;
    std::fs::copy(&reg.info(sans).unwrap().path, dir.path().join("sans.ttf")).unwrap();
    let small = FontRegistry::load(&[dir.path().to_owned()]).unwrap();
    assert!(
        small.warnings.iter().any(|w| w.contains("Broken.ttf")),
        "{:?}",
        small.warnings
    );
    let (bytes, _) = pdf(&table_report(5), &small, &[]);
    let Some(t) = page_text(&bytes, 1) else {
        return;
    };
    assert!(t.contains("Row 5"), "{t}");
}

#[test]
fn a_broken_image_is_a_warning_and_an_empty_box() {
    let Some(reg) = fonts() else { return };
    let mut inst = table_report(3);
    let mut img = Item::new(
        "Logo",
        ItemKind::Image(Box::new(engine::instance::Image {
            source: engine::instance::ImageSource::Embedded {
                name: "logo".into(),
                mime: "image/png".into(),
                data: Arc::from(&b"\x89PNG this is not a png"[..]),
            },
            sizing: Default::default(),
            action: None,
            chart: None,
        })),
    );
    img.top = 4 * UM_PER_INCH;
    img.width = UM_PER_INCH;
    img.height = UM_PER_INCH;
    inst.sections[0].body.push(img);
    let (bytes, s) = pdf(&inst, &reg, &[]);
    assert!(
        s.warnings.iter().any(|w| w.contains("image")),
        "{:?}",
        s.warnings
    );
    assert!(pages_of(&bytes).is_none_or(|(p, _)| p == 1));
}

#[test]
fn a_page_break_before_an_item_starts_a_new_page() {
    let Some(reg) = fonts() else { return };
    let mut inst = table_report(5);
    let (_, s) = pdf(&inst, &reg, &[]);
    assert_eq!(s.pages, 1);
    inst.sections[0].body[1].page_break = Some(engine::instance::PageBreak {
        before: true,
        ..Default::default()
    });
    let (bytes, s) = pdf(&inst, &reg, &[]);
    assert_eq!(s.pages, 2);
    let Some(t2) = page_text(&bytes, 2) else {
        return;
    };
    assert!(t2.contains("Kept block") && !t2.contains("Row 5"), "{t2}");
}
