//! Streamed detail rows in hard pages (`BindOptions::stream_details` for PDF and IMAGE): a
//! report whose only tablix streams renders to the same PDF bytes (and TIFF pages) as its
//! tree, with fixed-height rows (nothing bound to count pages) and with growing rows (bound
//! and measured in the counting pass, bound again per page), page header and footer with
//! `TotalPages` and `ReportItems!`, running values, `StartPage`/`EndPage`, columns and
//! horizontal pages.

mod common;

use common::{bind_data, fonts};

use std::collections::HashMap;
use std::sync::Arc;

use engine::{Compiled, DataTable, Globals, Instance};
use fonts::FontRegistry;
use rdl::Value;
use render::DeviceInfo;

const NS: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

fn table(n: i64) -> DataTable {
    let words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"];
    let fields = ["id", "customer", "note"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    DataTable::from_rows(
        fields,
        (1..=n).map(|i| {
            // notes of 0 to 40 words: rows of 1 to several lines where cells grow
            let note: Vec<&str> = (0..(i * 7) % 41).map(|k| words[(k % 6) as usize]).collect();
            vec![
                Value::Int(i),
                Value::str(format!("Customer {}", i % 13)),
                Value::str(note.join(" ")),
            ]
        }),
    )
}

fn cell(name: &str, value: &str, can_grow: bool) -> String {
    format!(
        "<TablixCell><CellContents><Textbox Name=\"{name}\"><CanGrow>{can_grow}</CanGrow><Paragraphs><Paragraph><TextRuns><TextRun><Value>{value}</Value></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></CellContents></TablixCell>"
    )
}

/// A 4-column table report (header row repeated on each page), detail cells growing or not,
/// with a page header and footer that use `TotalPages` and `ReportItems!` when `bands`.
fn report(can_grow: bool, bands: bool) -> String {
    let head = ["Id", "Customer", "Note", "Running"]
        .iter()
        .map(|h| cell(&format!("H{h}"), h, false))
        .collect::<String>();
    let details = [
        cell("Id", "=Fields!id.Value", false),
        cell("Customer", "=Fields!customer.Value", can_grow),
        cell("Note", "=Fields!note.Value", can_grow),
        cell(
            "Running",
            "=RowNumber(Nothing) &amp; \" / \" &amp; RunningValue(Fields!id.Value, Sum, Nothing)",
            false,
        ),
    ]
    .concat();
    let band = |name: &str, value: &str| {
        format!(
            "<Height>0.4in</Height><PrintOnFirstPage>true</PrintOnFirstPage><PrintOnLastPage>true</PrintOnLastPage><ReportItems><Textbox Name=\"{name}\"><Top>0in</Top><Left>0in</Left><Height>0.25in</Height><Width>4in</Width><Paragraphs><Paragraph><TextRuns><TextRun><Value>{value}</Value></TextRun></TextRuns></Paragraph></Paragraphs></Textbox></ReportItems>"
        )
    };
    let bands = if bands {
        format!(
            "<PageHeader>{}</PageHeader><PageFooter>{}</PageFooter>",
            band(
                "PH",
                "=\"Page \" &amp; Globals!PageNumber &amp; \" of \" &amp; Globals!TotalPages"
            ),
            band("PF", "=\"Last id: \" &amp; ReportItems!Id.Value"),
        )
    } else {
        String::new()
    };
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="{NS}">
  <DataSources><DataSource Name="DS"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="Orders"><Query><DataSourceName>DS</DataSourceName><CommandText>x</CommandText></Query>
    <Fields><Field Name="id"><DataField>id</DataField></Field><Field Name="customer"><DataField>customer</DataField></Field><Field Name="note"><DataField>note</DataField></Field></Fields></DataSet></DataSets>
  <ReportSections><ReportSection><Body><ReportItems>
    <Tablix Name="Orders"><TablixBody><TablixColumns>{cols}</TablixColumns><TablixRows>
      <TablixRow><Height>0.25in</Height><TablixCells>{head}</TablixCells></TablixRow>
      <TablixRow><Height>0.25in</Height><TablixCells>{details}</TablixCells></TablixRow>
    </TablixRows></TablixBody>
    <TablixColumnHierarchy><TablixMembers>{cm}</TablixMembers></TablixColumnHierarchy>
    <TablixRowHierarchy><TablixMembers><TablixMember><KeepWithGroup>After</KeepWithGroup><RepeatOnNewPage>true</RepeatOnNewPage></TablixMember><TablixMember><Group Name="Details" /></TablixMember></TablixMembers></TablixRowHierarchy>
    <DataSetName>Orders</DataSetName><Top>0in</Top><Left>0in</Left><Height>0.5in</Height><Width>5.5in</Width>
    </Tablix></ReportItems><Height>0.5in</Height></Body><Width>5.5in</Width>
    <Page>{bands}<PageHeight>6in</PageHeight><PageWidth>8.5in</PageWidth><LeftMargin>0.5in</LeftMargin><RightMargin>0.5in</RightMargin><TopMargin>0.5in</TopMargin><BottomMargin>0.5in</BottomMargin></Page></ReportSection></ReportSections>
</Report>"#,
        cols = ["1in", "1.5in", "2in", "1in"]
            .iter()
            .map(|w| format!("<TablixColumn><Width>{w}</Width></TablixColumn>"))
            .collect::<String>(),
        cm = "<TablixMember />".repeat(4),
    )
}

fn bind(c: &Arc<Compiled>, data: &HashMap<String, Arc<DataTable>>, stream: bool) -> Instance {
    let globals = Globals {
        execution_time: time::macros::datetime!(2026-12-01 10:30:00),
        ..Globals::default()
    };
    bind_data(c, data, stream, &globals)
}

fn device(pairs: &[(&str, &str)]) -> DeviceInfo {
    DeviceInfo::new(
        &pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn pdf(inst: &Instance, reg: &FontRegistry, rc: &[(&str, &str)]) -> (Vec<u8>, u32) {
    let o = render::pdf::PdfOptions::from_device_info(&device(rc)).unwrap();
    let mut out = Vec::new();
    let s = render::pdf::render(inst, reg, &o, &mut out).unwrap();
    (out, s.pages)
}

const SETTINGS: &[&[(&str, &str)]] = &[
    &[],
    &[("StartPage", "3"), ("EndPage", "4")],
    &[("StartPage", "2")],
    &[("Columns", "2"), ("PageWidth", "14in")],
    // a body wider than the page: horizontal pages share each vertical page's rows
    &[("PageWidth", "4in")],
];

/// Renders `rdl` over `rows` rows from the tree and streamed, with every setting.
fn same_pdf(reg: &FontRegistry, rdl: &str, rows: i64) {
    let c = Arc::new(engine::parse_and_prepare("/Test/Orders", rdl.as_bytes()).expect("report"));
    let data = HashMap::from([("Orders".to_string(), Arc::new(table(rows)))]);
    let tree = bind(&c, &data, false);
    assert!(!tree.is_streamed());
    // one streamed instance renders several times (each render a new pass over the rows)
    let streamed = bind(&c, &data, true);
    assert!(streamed.is_streamed(), "the report's rows do not stream");
    for rc in SETTINGS {
        let (want, pages) = pdf(&tree, reg, rc);
        let (have, streamed_pages) = pdf(&streamed, reg, rc);
        assert!(pages > 1, "{rc:?}: {pages} pages");
        assert_eq!(pages, streamed_pages, "{rc:?}");
        assert!(
            want == have,
            "{rc:?}: the streamed PDF differs from the tree's"
        );
    }
}

#[test]
fn fixed_height_rows_stream_to_the_same_pdf() {
    let Some(reg) = fonts() else { return };
    same_pdf(&reg, &report(false, false), 300);
    same_pdf(&reg, &report(false, true), 300);
}

#[test]
fn growing_rows_with_total_pages_stream_to_the_same_pdf() {
    let Some(reg) = fonts() else { return };
    same_pdf(&reg, &report(true, true), 250);
}

#[test]
fn streamed_rows_give_the_same_tiff_pages() {
    let Some(reg) = fonts() else { return };
    let rdl = report(true, true);
    let c = Arc::new(engine::parse_and_prepare("/Test/Orders", rdl.as_bytes()).expect("report"));
    let data = HashMap::from([("Orders".to_string(), Arc::new(table(120)))]);
    let tiff = |inst: &Instance| {
        let rc = [
            ("OutputFormat", "TIFF"),
            ("DpiX", "48"),
            ("DpiY", "48"),
            ("StartPage", "2"),
            ("EndPage", "4"),
        ];
        let o = render::image::ImageOptions::from_device_info(&device(&rc)).unwrap();
        let mut out = Vec::new();
        let s = render::image::render(inst, &reg, &o, &mut out).unwrap();
        assert_eq!(s.pages, 3);
        out
    };
    let streamed = bind(&c, &data, true);
    assert!(streamed.is_streamed());
    assert!(tiff(&bind(&c, &data, false)) == tiff(&streamed));
}

/// `rdl` with a table footer row after the details (`KeepWithGroup=Before`, as a 2005
/// footer): a Count, a Sum, and a running value spanning the last two columns.
fn with_footer(rdl: &str, height: &str) -> String {
    let foot = format!(
        "{}{}<TablixCell><CellContents><Textbox Name=\"FRun\"><CanGrow>false</CanGrow><Paragraphs><Paragraph><TextRuns><TextRun><Value>=\"rows, running \" &amp; RunningValue(Fields!id.Value, Max, Nothing)</Value></TextRun></TextRuns></Paragraph></Paragraphs></Textbox><ColSpan>2</ColSpan></CellContents></TablixCell><TablixCell />",
        cell("FCount", "=Count(Fields!id.Value)", false),
        cell("FSum", "=Sum(Fields!id.Value)", false),
    );
    let row = format!(
        "<TablixRow><Height>{height}</Height><TablixCells>{foot}</TablixCells></TablixRow>\n    </TablixRows>"
    );
    let out = rdl.replacen("</TablixRows>", &row, 1).replacen(
        "<TablixMember><Group Name=\"Details\" /></TablixMember>",
        "<TablixMember><Group Name=\"Details\" /></TablixMember><TablixMember><KeepWithGroup>Before</KeepWithGroup></TablixMember>",
        1,
    );
    assert!(out.contains("FRun") && out.contains("KeepWithGroup>Before"));
    out
}

#[test]
fn a_footer_row_streams_to_the_same_pdf_on_the_last_of_several_pages() {
    let Some(reg) = fonts() else { return };
    // fixed rows, a repeated header: 19 rows a page, so with 190 the footer starts a page
    // and takes the last detail row along (KeepWithGroup=Before)
    let fixed = with_footer(&report(false, false), "0.25in");
    for rows in [187, 190, 191] {
        same_pdf(&reg, &fixed, rows);
    }
    // page header and footer bands, a footer of its own height, growing rows
    same_pdf(&reg, &with_footer(&report(false, true), "0.4in"), 150);
    same_pdf(&reg, &with_footer(&report(true, true), "0.25in"), 120);
}
