//! Streamed detail rows (`BindOptions::stream_details`) give the same bytes as the tree:
//! reports whose only tablix may stream are rendered to CSV, XML and JSON (several device
//! settings each) both ways; reports that may not stream are bound in the tree either way.

mod common;

use common::{bind_data, orders, plain_cells, textbox};

use std::collections::HashMap;
use std::sync::Arc;

use engine::page::AverageCharMeasurer;
use engine::{Compiled, DataTable, Globals, Instance};
use render::{DeviceInfo, csv, html, json, xml};

const NS: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

/// A table report: `header_rows` static rows of `header`, then the details row of `cells`.
fn report(header: &[String], cells: &[String], tablix_extra: &str, report_extra: &str) -> String {
    let n = cells.len();
    let rows: String = header
        .iter()
        .map(|h| {
            format!("<TablixRow><Height>0.25in</Height><TablixCells>{h}</TablixCells></TablixRow>")
        })
        .collect();
    let statics: String = header
        .iter()
        .map(|_| "<TablixMember><KeepWithGroup>After</KeepWithGroup></TablixMember>")
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="{NS}">
  <DataSources><DataSource Name="DS"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="Orders"><Query><DataSourceName>DS</DataSourceName><CommandText>x</CommandText></Query>
    <Fields>{fields}</Fields></DataSet></DataSets>
  {report_extra}
  <ReportSections><ReportSection><Body><ReportItems>
    <Tablix Name="Orders"><TablixBody><TablixColumns>{cols}</TablixColumns><TablixRows>
      {rows}
      <TablixRow><Height>0.25in</Height><TablixCells>{cells}</TablixCells></TablixRow>
    </TablixRows></TablixBody>
    <TablixColumnHierarchy><TablixMembers>{cm}</TablixMembers></TablixColumnHierarchy>
    <TablixRowHierarchy><TablixMembers>{statics}<TablixMember><Group Name="Details" /></TablixMember></TablixMembers></TablixRowHierarchy>
    <DataSetName>Orders</DataSetName>{tablix_extra}<Top>0in</Top><Left>0in</Left><Height>0.5in</Height><Width>5in</Width>
    </Tablix></ReportItems><Height>0.5in</Height></Body><Width>6.5in</Width>
    <Page><InteractiveHeight>0in</InteractiveHeight></Page></ReportSection></ReportSections>
</Report>"#,
        fields = ["id", "customer", "qty", "price", "day"]
            .iter()
            .map(|f| format!("<Field Name=\"{f}\"><DataField>{f}</DataField></Field>"))
            .collect::<String>(),
        cols = "<TablixColumn><Width>1in</Width></TablixColumn>".repeat(n),
        cells = cells.concat(),
        cm = "<TablixMember />".repeat(n),
    )
}

fn bind(c: &Arc<Compiled>, data: &HashMap<String, Arc<DataTable>>, stream: bool) -> Instance {
    bind_data(c, data, stream, &Globals::default())
}

fn settings(pairs: &[(&str, &str)]) -> DeviceInfo {
    DeviceInfo::new(
        &pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// Every data format and setting tried, as (label, bytes).
fn outputs(inst: &Instance) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let csvs: &[&[(&str, &str)]] = &[
        &[],
        &[("ExcelMode", "false")],
        &[("NoHeader", "true"), ("FieldDelimiter", ";")],
        &[("Encoding", "Unicode"), ("Qualifier", "'")],
    ];
    for s in csvs {
        let o = csv::CsvOptions::from_device_info(&settings(s)).unwrap();
        let mut b = Vec::new();
        csv::render(inst, &o, &mut b).unwrap();
        out.push((format!("CSV {s:?}"), b));
    }
    let xmls: &[&[(&str, &str)]] = &[&[], &[("Indented", "true"), ("UseFormattedValues", "true")]];
    for s in xmls {
        let o = xml::XmlOptions::from_device_info(&settings(s), None).unwrap();
        let mut b = Vec::new();
        xml::render(inst, &o, &mut b).unwrap();
        out.push((format!("XML {s:?}"), b));
    }
    let jsons: &[&[(&str, &str)]] = &[&[], &[("Indented", "true"), ("UseFormattedValues", "true")]];
    for s in jsons {
        let o = json::JsonOptions::from_device_info(&settings(s)).unwrap();
        let mut b = Vec::new();
        json::render(inst, &o, &mut b).unwrap();
        out.push((format!("JSON {s:?}"), b));
    }
    out
}

fn html_of(inst: &Instance) -> String {
    let o = html::HtmlOptions::from_device_info(&settings(&[])).unwrap();
    let mut b = Vec::new();
    html::render(inst, &o, &AverageCharMeasurer, &mut b).unwrap();
    String::from_utf8(b).unwrap()
}

/// Renders `rdl` over `rows` rows both ways and compares; returns whether it streamed.
fn same_bytes(rdl: &str, rows: i64) -> bool {
    let c = Arc::new(engine::parse_and_prepare("/Test/Orders", rdl.as_bytes()).expect("report"));
    let data = HashMap::from([("Orders".to_string(), Arc::new(orders(rows)))]);
    let tree = bind(&c, &data, false);
    assert!(!tree.is_streamed());
    let expected = outputs(&tree);
    let streamed = bind(&c, &data, true);
    let did_stream = streamed.is_streamed();
    let got = outputs(&streamed);
    for ((label, want), (_, have)) in expected.iter().zip(&got) {
        assert!(
            want == have,
            "{label} differs:\ntree:   {}\nstream: {}",
            String::from_utf8_lossy(&want[..want.len().min(600)]),
            String::from_utf8_lossy(&have[..have.len().min(600)])
        );
    }
    // materialized, the streamed instance is the tree (HTML walks the grid)
    let mut m = bind(&c, &data, true);
    m.materialize().unwrap();
    assert!(!m.is_streamed());
    assert_eq!(html_of(&m), html_of(&tree));
    assert_eq!(outputs(&m), expected);
    did_stream
}

fn header() -> String {
    ["Id", "Customer", "Qty", "Price", "Day"]
        .iter()
        .map(|h| textbox(&format!("H{h}"), h, ""))
        .collect()
}

#[test]
fn a_plain_table_streams_with_the_same_bytes() {
    let rdl = report(&[header()], &plain_cells(), "", "");
    assert!(same_bytes(&rdl, 1));
    assert!(same_bytes(&rdl, 250));
}

/// The streamed rows of `inst`'s only tablix.
fn streamed_rows(inst: &Instance) -> Arc<dyn engine::instance::DetailRows> {
    inst.sections[0]
        .body
        .iter()
        .find_map(|i| match &i.kind {
            engine::instance::ItemKind::Tablix(t) => t.streamed.as_ref().map(|s| s.rows.clone()),
            _ => None,
        })
        .expect("a streamed tablix")
}

/// The texts of a bound row's cells, in cell order.
fn cell_texts(row: &engine::instance::GridRow) -> Vec<String> {
    row.cells
        .iter()
        .map(|c| match &c.item {
            Some(engine::instance::Item {
                kind: engine::instance::ItemKind::Textbox(tb),
                ..
            }) => tb.text_ref().into_owned(),
            _ => panic!("a textbox cell"),
        })
        .collect()
}

#[test]
fn a_plain_row_gives_its_texts_without_being_bound_and_only_then() {
    let c = Arc::new(
        engine::parse_and_prepare(
            "/Test/Orders",
            report(&[header()], &plain_cells(), "", "").as_bytes(),
        )
        .expect("report"),
    );
    let data = HashMap::from([("Orders".to_string(), Arc::new(orders(60)))]);
    let want: Vec<Vec<String>> = {
        let rows = streamed_rows(&bind(&c, &data, true));
        (0..rows.len())
            .map(|i| cell_texts(&rows.row(i).unwrap()))
            .collect()
    };
    let rows = streamed_rows(&bind(&c, &data, true));
    let mut row = engine::instance::GridRow::default();
    let mut texts = engine::instance::RowTexts::default();
    // the first row is bound; none is held before it
    assert!(!rows.texts_into(0, &row, &[0], &mut texts).unwrap());
    assert!(!rows.row_into_same_shape(0, &mut row).unwrap());
    assert!(rows.row_into_same_shape(1, &mut row).unwrap());
    // then every row's texts, in the order asked (cells out of order, one twice)
    let cells = [4, 0, 1, 1, 3, 2];
    for (i, want) in want.iter().enumerate().skip(2) {
        assert!(
            rows.texts_into(i, &row, &cells, &mut texts).unwrap(),
            "row {i}"
        );
        let got: Vec<&str> = texts.iter().collect();
        let expected: Vec<&str> = cells.iter().map(|&k| want[k].as_str()).collect();
        assert_eq!(got, expected, "row {i}");
        assert_eq!(texts.joined(), expected.concat());
    }
    // a cell the row does not have, and a row past the data set: bound instead
    assert!(!rows.texts_into(2, &row, &[5], &mut texts).unwrap());
    assert!(!rows.texts_into(want.len(), &row, &[0], &mut texts).unwrap());
    // the row itself was left as it was: row 1's texts
    assert_eq!(cell_texts(&row), want[1]);

    // a cell that is not a plain field: never texts
    let mut cells = plain_cells();
    cells[0] = textbox("Id", "=Fields!id.Value * 2", "");
    let c = Arc::new(
        engine::parse_and_prepare(
            "/Test/Orders",
            report(&[header()], &cells, "", "").as_bytes(),
        )
        .expect("report"),
    );
    let rows = streamed_rows(&bind(&c, &data, true));
    let mut row = engine::instance::GridRow::default();
    rows.row_into_same_shape(0, &mut row).unwrap();
    rows.row_into_same_shape(1, &mut row).unwrap();
    assert!(!rows.texts_into(2, &row, &[1], &mut texts).unwrap());
}

#[test]
fn running_values_row_numbers_and_aggregates_stream_with_the_same_bytes() {
    let mut cells = plain_cells();
    cells.push(textbox("N", "=RowNumber(Nothing)", ""));
    cells.push(textbox(
        "Run",
        "=RunningValue(Fields!price.Value, Sum, \"Orders\")",
        "",
    ));
    cells.push(textbox("Prev", "=Previous(Fields!id.Value)", ""));
    cells.push(textbox(
        "Share",
        "=Fields!price.Value / Sum(Fields!price.Value, \"Orders\")",
        "<Style><Format>P1</Format></Style>",
    ));
    cells.push(textbox(
        "Odd",
        "=IIf(Fields!id.Value Mod 2 = 1, \"odd\", Nothing)",
        "<DataElementName>Parity</DataElementName><DataElementStyle>Element</DataElementStyle>",
    ));
    let mut head = header();
    head.push_str(&textbox("Total", "=Sum(Fields!price.Value)", ""));
    head.push_str(&textbox(
        "Label",
        "Rows",
        "<DataElementOutput>Output</DataElementOutput>",
    ));
    head.push_str(&textbox("Count", "=CountRows()", ""));
    head.push_str(&textbox("Empty", "=Nothing", ""));
    head.push_str(&textbox("Last", "=Last(Fields!id.Value)", ""));
    let rdl = report(&[head], &cells, "", "");
    assert!(same_bytes(&rdl, 120));
}

#[test]
fn sorted_filtered_element_style_tables_stream_with_the_same_bytes() {
    let mut cells = plain_cells();
    cells[1] = textbox(
        "Customer",
        "=Fields!customer.Value",
        "<Visibility><Hidden>true</Hidden></Visibility>",
    );
    let extra = "<Filters><Filter><FilterExpression>=Fields!qty.Value</FilterExpression><Operator>GreaterThan</Operator><FilterValues><FilterValue DataType=\"Integer\">1</FilterValue></FilterValues></Filter></Filters>\
        <SortExpressions><SortExpression><Value>=Fields!day.Value</Value><Direction>Descending</Direction></SortExpression><SortExpression><Value>=Fields!id.Value</Value></SortExpression></SortExpressions>";
    let rdl = report(
        &[header(), header().replace("Name=\"H", "Name=\"G")],
        &cells,
        extra,
        "<DataElementStyle>Element</DataElementStyle><DataElementName>Export</DataElementName>",
    );
    assert!(same_bytes(&rdl, 90));
    // no header rows at all
    let rdl = report(&[], &plain_cells(), "", "");
    assert!(same_bytes(&rdl, 30));
}

#[test]
fn tables_that_cannot_stream_are_bound_in_the_tree() {
    // a row visibility that depends on the data
    let mut cells = plain_cells();
    cells[0] = textbox(
        "Id",
        "=Fields!id.Value",
        "<Visibility><Hidden>=Fields!id.Value = 3</Hidden></Visibility>",
    );
    assert!(!same_bytes(&report(&[header()], &cells, "", ""), 20));
    // a group on the details
    let grouped = report(&[header()], &plain_cells(), "", "").replace(
        "<Group Name=\"Details\" />",
        "<Group Name=\"Details\"><GroupExpressions><GroupExpression>=Fields!qty.Value</GroupExpression></GroupExpressions></Group>",
    );
    assert!(!same_bytes(&grouped, 20));
    // no rows: nothing to stream
    assert!(!same_bytes(&report(&[header()], &plain_cells(), "", ""), 0));
}

/// `rdl` with a footer row of `cells` after the details (a static member, as a 2005 table
/// footer is: `KeepWithGroup=Before`).
fn with_footer(rdl: &str, cells: &str) -> String {
    let row = format!(
        "<TablixRow><Height>0.25in</Height><TablixCells>{cells}</TablixCells></TablixRow>\n    </TablixRows>"
    );
    rdl.replacen("</TablixRows>", &row, 1).replacen(
        "<TablixMember><Group Name=\"Details\" /></TablixMember>",
        "<TablixMember><Group Name=\"Details\" /></TablixMember><TablixMember><KeepWithGroup>Before</KeepWithGroup></TablixMember>",
        1,
    )
}

/// A textbox cell spanning `span` columns, then the cells it covers.
fn spanning(name: &str, value: &str, span: usize) -> String {
    format!(
        "<TablixCell><CellContents><Textbox Name=\"{name}\"><Paragraphs><Paragraph><TextRuns><TextRun><Value>{value}</Value></TextRun></TextRuns></Paragraph></Paragraphs></Textbox><ColSpan>{span}</ColSpan></CellContents></TablixCell>{}",
        "<TablixCell />".repeat(span - 1)
    )
}

#[test]
fn footer_rows_with_aggregates_and_spans_stream_with_the_same_bytes() {
    // the 2005 bench's footer: a Count, then a label spanning the other columns
    let foot = format!(
        "{}{}",
        textbox("FCount", "=Count(Fields!id.Value)", ""),
        spanning("FLabel", "rows", 4)
    );
    let rdl = with_footer(&report(&[header()], &plain_cells(), "", ""), &foot);
    assert!(same_bytes(&rdl, 1));
    assert!(same_bytes(&rdl, 140));
    // Sum over the data set, a running value after the last row, the last detail's value,
    // two footer rows
    let mut cells = plain_cells();
    cells.push(textbox(
        "Run",
        "=RunningValue(Fields!price.Value, Sum, \"Orders\")",
        "",
    ));
    let foot = format!(
        "{}{}",
        textbox("FCount", "=Count(Fields!id.Value)", ""),
        spanning("FLabel", "rows", 5)
    );
    let foot2 = [
        textbox("FSum", "=Sum(Fields!price.Value)", ""),
        textbox(
            "FRun",
            "=RunningValue(Fields!qty.Value, Sum, \"Orders\")",
            "",
        ),
        textbox("FLast", "=Last(Fields!id.Value)", ""),
        textbox("FCountRows", "=CountRows()", ""),
        textbox("FRunBox", "=ReportItems!Run.Value", ""),
        textbox("FN", "=RowNumber(Nothing)", ""),
    ]
    .concat();
    let head = format!("{}<TablixCell />", header());
    let rdl = with_footer(
        &with_footer(&report(&[head], &cells, "", ""), &foot),
        &foot2,
    );
    assert!(same_bytes(&rdl, 75));
}

#[test]
fn warnings_found_while_rendering_reach_the_instance() {
    // row 50 divides by zero: bound while CSV writes the rows, after `bind` returned
    let mut cells = plain_cells();
    cells[2] = textbox("Qty", "=Fields!qty.Value \\ (Fields!id.Value - 50)", "");
    let header_box = "<PageHeader><Height>0.3in</Height><PrintOnFirstPage>true</PrintOnFirstPage>\
        <ReportItems><Textbox Name=\"Head\"><Paragraphs><Paragraph><TextRuns><TextRun>\
        <Value>=Globals!PageNumber \\ 0</Value></TextRun></TextRuns></Paragraph></Paragraphs>\
        <Height>0.25in</Height><Width>2in</Width></Textbox></ReportItems></PageHeader>";
    let rdl = report(&[header()], &cells, "", "").replace(
        "<Page><InteractiveHeight>",
        &format!("<Page>{header_box}<InteractiveHeight>"),
    );
    let c = Arc::new(engine::parse_and_prepare("/Test/Orders", rdl.as_bytes()).expect("report"));
    let data = HashMap::from([("Orders".to_string(), Arc::new(orders(80)))]);
    let qty = |w: &[String]| w.iter().filter(|w| w.starts_with("Qty: ")).count();
    let head = |w: &[String]| w.iter().filter(|w| w.starts_with("Head: ")).count();

    // the tree binds every row at once: the row's warning is there before rendering
    let tree = bind(&c, &data, false);
    assert_eq!(qty(&tree.warnings()), 1, "{:?}", tree.warnings());

    let streamed = bind(&c, &data, true);
    assert!(streamed.is_streamed());
    assert_eq!(qty(&streamed.warnings()), 0, "{:?}", streamed.warnings());
    let log = streamed.warning_log.clone();
    let o = csv::CsvOptions::from_device_info(&settings(&[])).unwrap();
    csv::render(&streamed, &o, &mut Vec::new()).unwrap();
    drop(streamed);
    let after = log.list();
    assert_eq!(qty(&after), 1, "{after:?}");
    assert_eq!(
        after.iter().find(|w| w.starts_with("Qty: ")),
        tree.warnings().iter().find(|w| w.starts_with("Qty: "))
    );

    // the page header is evaluated per page, by the renderer
    assert_eq!(head(&tree.warnings()), 0);
    let h = html_of(&tree);
    assert!(h.contains("#Error"), "{h}");
    assert_eq!(head(&tree.warnings()), 1, "{:?}", tree.warnings());
}
