//! XLSX and DOCX output read back: XLSX with calamine (sheet names, cell values and types,
//! number formats, fonts, merged cells) and the raw parts; DOCX by unzipping and parsing
//! WordprocessingML (paragraph and table cell text, tables, images, header/footer, page
//! setup). Reports: the quickstart samples, the shared samples and one of our own with page
//! names, formats, an image and a hyperlink.

mod common;

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::PathBuf;
use std::sync::Arc;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use engine::page::AverageCharMeasurer;
use engine::{BindOptions, Instance, ParamError};
use render::docx::{self, DocxOptions};
use render::xlsx::{self, XlsxOptions};

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

fn bind_bytes(path: &str, bytes: &[u8]) -> Instance {
    let c = Arc::new(engine::parse_and_prepare(path, bytes).unwrap());
    let input = HashMap::new();
    let mut tables = HashMap::new();
    let params = loop {
        match c.resolve_parameters(&input, &tables) {
            Ok(p) => break p,
            Err(ParamError::NeedsData { requests }) => common::fetch(&c, &requests, &mut tables),
            Err(e) => panic!("{e}"),
        }
    };
    let q = c.queries(&params).unwrap();
    common::fetch(&c, &q, &mut tables);
    engine::bind(
        &c,
        &params,
        &tables,
        &common::globals(),
        &BindOptions::default(),
    )
    .unwrap()
}

fn quickstart(name: &str) -> Instance {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../reportd/samples")
        .join(format!("{name}.rdl"));
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    bind_bytes(&format!("/Samples/{name}"), &bytes)
}

fn to_xlsx(i: &Instance) -> (Vec<u8>, xlsx::OfficeSummary) {
    let mut v = Vec::new();
    let s = xlsx::render(i, &XlsxOptions::default(), &AverageCharMeasurer, &mut v).unwrap();
    (v, s)
}

fn to_docx(i: &Instance) -> (Vec<u8>, xlsx::OfficeSummary) {
    let mut v = Vec::new();
    let s = docx::render(i, &DocxOptions::default(), &AverageCharMeasurer, &mut v).unwrap();
    (v, s)
}

fn part(zip: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut a = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut f = a.by_name(name).ok()?;
    let mut v = Vec::new();
    f.read_to_end(&mut v).unwrap();
    Some(v)
}

fn part_text(zip: &[u8], name: &str) -> String {
    String::from_utf8(part(zip, name).unwrap_or_else(|| panic!("no part {name}"))).unwrap()
}

fn part_names(zip: &[u8]) -> Vec<String> {
    let a = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    a.file_names()
        .map(|n| n.expect("a part name").into_owned())
        .collect()
}

fn workbook(bytes: &[u8]) -> Xlsx<Cursor<Vec<u8>>> {
    open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap()
}

/// The (row, col) of the first cell whose string value is `text`.
fn find(range: &calamine::Range<Data>, text: &str) -> (u32, u32) {
    range
        .used_cells()
        .find(|(_, _, d)| matches!(d, Data::String(s) if s == text))
        .map(|(r, c, _)| {
            let (r0, c0) = range.start().unwrap();
            (r as u32 + r0, c as u32 + c0)
        })
        .unwrap_or_else(|| panic!("no cell {text:?}"))
}

fn num_format(wb: &mut Xlsx<Cursor<Vec<u8>>>, sheet: &str, pos: (u32, u32)) -> String {
    let st = wb.worksheet_style(sheet).unwrap();
    st.get(pos)
        .and_then(|s| s.number_format.as_ref())
        .map(|n| n.format_code.clone())
        .unwrap_or_default()
}

fn bold(wb: &mut Xlsx<Cursor<Vec<u8>>>, sheet: &str, pos: (u32, u32)) -> bool {
    let st = wb.worksheet_style(sheet).unwrap();
    st.get(pos)
        .and_then(|s| s.font.as_ref())
        .is_some_and(|f| f.is_bold())
}

#[test]
fn xlsx_sales_table_sample_has_typed_cells_formats_and_merges() {
    let i = quickstart("Sales Table");
    let (bytes, summary) = to_xlsx(&i);
    assert_eq!(summary.pages, 1);
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    let mut wb = workbook(&bytes);
    assert_eq!(wb.sheet_names(), ["Sheet1"]);
    let range = wb.worksheet_range("Sheet1").unwrap();
    // the page header's title is the first row, above the table
    let title = find(&range, "Sales Table");
    let product = find(&range, "Product");
    assert!(title.0 < product.0, "{title:?} {product:?}");
    assert!(bold(&mut wb, "Sheet1", product));
    // the first detail row: East / Gadget / 2025-01-01 / 1 / 24.50
    let date_h = find(&range, "Order Date");
    let qty_h = find(&range, "Qty");
    let amount_h = find(&range, "Amount");
    let row = date_h.0 + 1;
    let date = range.get_value((row, date_h.1)).unwrap();
    match date {
        Data::DateTime(d) => assert_eq!(d.as_f64(), 45658.0),
        other => panic!("the order date is not a date: {other:?}"),
    }
    assert_eq!(num_format(&mut wb, "Sheet1", (row, date_h.1)), "m/d/yyyy");
    assert_eq!(
        range.get_value((row, qty_h.1)),
        Some(&Data::Float(1.0)),
        "quantity is a number"
    );
    assert_eq!(
        range.get_value((row, amount_h.1)),
        Some(&Data::Float(24.5)),
        "amount is a number"
    );
    assert_eq!(
        num_format(&mut wb, "Sheet1", (row, amount_h.1)),
        "\"$\"#,##0.00;(\"$\"#,##0.00)"
    );
    // the region header cell spans its detail and total rows: a merged range
    let east = find(&range, "East");
    assert_eq!(east, (row, product.1 - 1));
    let merges = wb.merge_cells_by_sheet_name("Sheet1").unwrap();
    assert!(
        merges
            .iter()
            .any(|d| d.start == east && d.end.0 > east.0 && d.end.1 == east.1),
        "{merges:?}"
    );
    // the grand total is a string (Format() returns one), the grand quantity a number
    let grand = find(&range, "Grand total");
    assert!(matches!(
        range.get_value((grand.0, qty_h.1)),
        Some(Data::Float(_))
    ));
    // the footer goes into Excel's page footer; column widths follow the report
    let sheet = part_text(&bytes, "xl/worksheets/sheet1.xml");
    assert!(
        sheet.contains("<oddFooter>&amp;CPage &amp;P of &amp;N</oddFooter>"),
        "{sheet}"
    );
    let widths = col_widths(&sheet);
    assert!(
        widths[&(product.1 + 1)] > widths[&(qty_h.1 + 1)] * 2.0,
        "{widths:?}"
    );
    // document properties
    let core = part_text(&bytes, "docProps/core.xml");
    assert!(core.contains("<dc:title>Sales Table</dc:title>"), "{core}");
}

/// `<col min= max= width=>` of a sheet by 1-based column.
fn col_widths(sheet: &str) -> HashMap<u32, f64> {
    let doc = roxmltree::Document::parse(sheet).unwrap();
    let mut m = HashMap::new();
    for c in doc.descendants().filter(|n| n.has_tag_name("col")) {
        let min: u32 = c.attribute("min").unwrap().parse().unwrap();
        let max: u32 = c.attribute("max").unwrap().parse().unwrap();
        let w: f64 = c.attribute("width").unwrap().parse().unwrap();
        for k in min..=max {
            m.insert(k, w);
        }
    }
    m
}

#[test]
fn xlsx_sales_matrix_sample_renders_numbers() {
    let i = quickstart("Sales Matrix");
    let (bytes, _) = to_xlsx(&i);
    let mut wb = workbook(&bytes);
    let names = wb.sheet_names();
    assert_eq!(names.len(), 1);
    let range = wb.worksheet_range(&names[0]).unwrap();
    let numbers = range
        .used_cells()
        .filter(|(_, _, d)| matches!(d, Data::Float(_)))
        .count();
    assert!(numbers >= 10, "{numbers} numeric cells");
}

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAEElEQVR4nGM4wMAARww4OQC4pwkBQg7AagAAAABJRU5ErkJggg==";

fn tb(name: &str, value: &str, format: &str, extra_style: &str) -> String {
    let fmt = if format.is_empty() {
        String::new()
    } else {
        format!("<Format>{format}</Format>")
    };
    format!(
        r#"<Textbox Name="{name}"><CanGrow>true</CanGrow><Paragraphs><Paragraph><TextRuns><TextRun><Value>{value}</Value><Style>{fmt}{extra_style}</Style></TextRun></TextRuns></Paragraph></Paragraphs><Style><Border><Style>Solid</Style></Border></Style></Textbox>"#
    )
}

fn cell(tbx: String) -> String {
    format!("<TablixCell><CellContents>{tbx}</CellContents></TablixCell>")
}

/// Orders grouped by region, a page break between regions naming each page, formats of
/// every kind, a title outside the table, an image, a hyperlink, landscape pages with a
/// header and a footer.
fn orders_report(image: &str) -> String {
    let rows = [
        (
            "East",
            "Gadget",
            "2025-01-01T00:00:00",
            "1200",
            "24.50",
            "0.125",
        ),
        ("East", "Widget", "2025-02-03T10:30:00", "3", "-7.25", "0.5"),
        (
            "North",
            "Gizmo",
            "2025-06-04T00:00:00",
            "8",
            "196.00",
            "0.25",
        ),
        ("West", "Gadget", "2025-11-07T00:00:00", "5", "99.90", "1"),
    ];
    let data: String = rows
        .iter()
        .map(|(r, p, d, q, a, x)| {
            format!(
                "&lt;Row&gt;&lt;Region&gt;{r}&lt;/Region&gt;&lt;Product&gt;{p}&lt;/Product&gt;&lt;OrderDate&gt;{d}&lt;/OrderDate&gt;&lt;Qty&gt;{q}&lt;/Qty&gt;&lt;Amount&gt;{a}&lt;/Amount&gt;&lt;Rate&gt;{x}&lt;/Rate&gt;&lt;/Row&gt;"
            )
        })
        .collect();
    let field = |n: &str, t: &str| {
        format!(
            "<Field Name=\"{n}\"><DataField>{n}</DataField><rd:TypeName>System.{t}</rd:TypeName></Field>"
        )
    };
    let fields = [
        field("Region", "String"),
        field("Product", "String"),
        field("OrderDate", "DateTime"),
        field("Qty", "Int32"),
        field("Amount", "Decimal"),
        field("Rate", "Double"),
    ]
    .concat();
    let bold = "<FontWeight>Bold</FontWeight>";
    let header = [
        cell(tb("HProduct", "Product", "", bold)),
        cell(tb("HDate", "Order Date", "", bold)),
        cell(tb("HQty", "Qty", "", bold)),
        cell(tb("HAmount", "Amount", "", bold)),
        cell(tb("HRate", "Rate", "", bold)),
    ]
    .concat();
    let details = [
        cell(tb("Product", "=Fields!Product.Value", "", "")),
        cell(tb("OrderDate", "=Fields!OrderDate.Value", "yyyy-MM-dd", "")),
        cell(tb("Qty", "=Fields!Qty.Value", "N0", "")),
        cell(tb(
            "Amount",
            "=Fields!Amount.Value",
            "'$'#,0.00;('$'#,0.00)",
            "",
        )),
        cell(tb("Rate", "=Fields!Rate.Value", "P1", "")),
    ]
    .concat();
    let total = [
        format!(
            "<TablixCell><CellContents>{}<ColSpan>2</ColSpan></CellContents></TablixCell><TablixCell />",
            tb("TotalLabel", "=\"Total \" &amp; Fields!Region.Value", "", bold)
        ),
        cell(tb("TotalQty", "=Sum(Fields!Qty.Value)", "N0", bold)),
        cell(tb("TotalAmount", "=Sum(Fields!Amount.Value)", "C2", bold)),
        cell(tb("TotalRate", "", "", "")),
    ]
    .concat();
    let row = |c: &str| {
        format!("<TablixRow><Height>0.25in</Height><TablixCells>{c}</TablixCells></TablixRow>")
    };
    let col = "<TablixColumn><Width>1.2in</Width></TablixColumn>";
    let tablix = format!(
        r#"<Tablix Name="Orders"><TablixBody><TablixColumns>{cols}</TablixColumns><TablixRows>{h}{d}{t}</TablixRows></TablixBody>
<TablixColumnHierarchy><TablixMembers><TablixMember /><TablixMember /><TablixMember /><TablixMember /><TablixMember /></TablixMembers></TablixColumnHierarchy>
<TablixRowHierarchy><TablixMembers>
  <TablixMember><KeepWithGroup>After</KeepWithGroup><RepeatOnNewPage>true</RepeatOnNewPage></TablixMember>
  <TablixMember><Group Name="Region"><GroupExpressions><GroupExpression>=Fields!Region.Value</GroupExpression></GroupExpressions><PageBreak><BreakLocation>Between</BreakLocation></PageBreak><PageName>=Fields!Region.Value</PageName></Group>
    <SortExpressions><SortExpression><Value>=Fields!Region.Value</Value></SortExpression></SortExpressions>
    <TablixMembers><TablixMember><Group Name="Details" /></TablixMember><TablixMember><KeepWithGroup>Before</KeepWithGroup></TablixMember></TablixMembers>
  </TablixMember>
</TablixMembers></TablixRowHierarchy>
<DataSetName>Orders</DataSetName><Top>0.5in</Top><Left>0in</Left><Height>0.75in</Height><Width>6in</Width></Tablix>"#,
        cols = col.repeat(5),
        h = row(&header),
        d = row(&details),
        t = row(&total),
    );
    let title = r##"<Textbox Name="Title"><Paragraphs><Paragraph><TextRuns><TextRun><Value>Orders by region</Value><Style><FontSize>14pt</FontSize><FontWeight>Bold</FontWeight><Color>#C00000</Color></Style></TextRun></TextRuns></Paragraph></Paragraphs><Top>0in</Top><Left>0in</Left><Height>0.35in</Height><Width>3in</Width></Textbox>"##;
    let link = r#"<Textbox Name="Link"><ActionInfo><Actions><Action><Hyperlink>https://example.com/orders</Hyperlink></Action></Actions></ActionInfo><Paragraphs><Paragraph><TextRuns><TextRun><Value>Open the shop</Value></TextRun></TextRuns></Paragraph></Paragraphs><Top>0in</Top><Left>3.5in</Left><Height>0.25in</Height><Width>1.5in</Width></Textbox>"#;
    let logo = r#"<Image Name="Logo"><Source>Embedded</Source><Value>Logo</Value><Sizing>FitProportional</Sizing><Top>0in</Top><Left>5.2in</Left><Height>0.3in</Height><Width>0.4in</Width></Image>"#;
    let text = |n: &str, v: &str| {
        format!(
            r#"<Textbox Name="{n}"><Paragraphs><Paragraph><TextRuns><TextRun><Value>{v}</Value></TextRun></TextRuns></Paragraph></Paragraphs><Top>0in</Top><Left>0in</Left><Height>0.25in</Height><Width>4in</Width></Textbox>"#
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition" xmlns:rd="http://schemas.microsoft.com/SQLServer/reporting/reportdesigner">
  <Author>Office Tests</Author>
  <DataSources><DataSource Name="DS"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="Orders"><Query><DataSourceName>DS</DataSourceName><CommandText>&lt;Query&gt;&lt;XmlData&gt;&lt;Rows&gt;{data}&lt;/Rows&gt;&lt;/XmlData&gt;&lt;/Query&gt;</CommandText></Query><Fields>{fields}</Fields></DataSet></DataSets>
  <ReportSections><ReportSection>
    <Body><ReportItems>{title}{link}{logo}{tablix}</ReportItems><Height>2in</Height></Body>
    <Width>6in</Width>
    <Page>
      <PageHeader><Height>0.3in</Height><PrintOnFirstPage>true</PrintOnFirstPage><PrintOnLastPage>true</PrintOnLastPage><ReportItems>{hdr}</ReportItems></PageHeader>
      <PageFooter><Height>0.3in</Height><PrintOnFirstPage>true</PrintOnFirstPage><PrintOnLastPage>true</PrintOnLastPage><ReportItems>{ftr}</ReportItems></PageFooter>
      <PageHeight>8.5in</PageHeight><PageWidth>11in</PageWidth>
      <LeftMargin>0.5in</LeftMargin><RightMargin>0.5in</RightMargin><TopMargin>0.75in</TopMargin><BottomMargin>0.75in</BottomMargin>
    </Page>
  </ReportSection></ReportSections>
  <EmbeddedImages><EmbeddedImage Name="Logo"><MIMEType>image/png</MIMEType><ImageData>{image}</ImageData></EmbeddedImage></EmbeddedImages>
  <Language>en-US</Language>
</Report>"#,
        hdr = text("Hdr", "Quarterly orders"),
        ftr = text("Ftr", "Confidential &amp; internal"),
    )
}

fn orders(image: &str) -> Instance {
    bind_bytes("/Tests/Orders", orders_report(image).as_bytes())
}

#[test]
fn xlsx_own_report_sheet_per_page_name_with_formats_image_and_link() {
    let i = orders(PNG);
    assert!(i.warnings().is_empty(), "{:?}", i.warnings());
    let (bytes, summary) = to_xlsx(&i);
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    let mut wb = workbook(&bytes);
    assert_eq!(wb.sheet_names(), ["East", "North", "West"]);
    let east = wb.worksheet_range("East").unwrap();
    // the title outside the table is a cell: bold 14pt dark red
    let t = find(&east, "Orders by region");
    let st = wb.worksheet_style("East").unwrap();
    let font = st.get(t).unwrap().font.clone().unwrap();
    assert!(font.is_bold());
    assert_eq!(font.size, Some(14.0));
    let c = font.color.unwrap();
    assert_eq!((c.red, c.green, c.blue), (0xC0, 0, 0));
    // the header row repeats on each sheet
    let h = find(&east, "Order Date");
    let north = wb.worksheet_range("North").unwrap();
    find(&north, "Order Date");
    // typed values with translated formats
    let r = h.0 + 1;
    let (pc, dc) = (h.1 - 1, h.1);
    assert_eq!(
        east.get_value((r, pc)),
        Some(&Data::String("Gadget".into()))
    );
    match east.get_value((r, dc)).unwrap() {
        Data::DateTime(d) => assert_eq!(d.as_f64(), 45658.0),
        other => panic!("not a date: {other:?}"),
    }
    match east.get_value((r + 1, dc)).unwrap() {
        Data::DateTime(d) => assert!((d.as_f64() - 45691.4375).abs() < 1e-9),
        other => panic!("not a date: {other:?}"),
    }
    assert_eq!(num_format(&mut wb, "East", (r, dc)), "yyyy-mm-dd");
    // the title, link and logo above cut some table columns in two (as SSRS does): find
    // each column by its header
    let (qc, ac, rc) = (
        find(&east, "Qty").1,
        find(&east, "Amount").1,
        find(&east, "Rate").1,
    );
    assert!(qc > dc && ac > qc && rc > ac);
    assert_eq!(east.get_value((r, qc)), Some(&Data::Float(1200.0)));
    assert_eq!(num_format(&mut wb, "East", (r, qc)), "#,##0");
    assert_eq!(east.get_value((r + 1, ac)), Some(&Data::Float(-7.25)));
    assert_eq!(
        num_format(&mut wb, "East", (r, ac)),
        "\"$\"#,0.00;(\"$\"#,0.00)"
    );
    assert_eq!(east.get_value((r, rc)), Some(&Data::Float(0.125)));
    assert_eq!(num_format(&mut wb, "East", (r, rc)), "0.0%");
    // the group total: a label over two columns (merged), sums as numbers in C2
    let tl = find(&east, "Total East");
    assert_eq!(tl, (r + 2, pc));
    assert_eq!(east.get_value((tl.0, qc)), Some(&Data::Float(1203.0)));
    assert_eq!(east.get_value((tl.0, ac)), Some(&Data::Float(17.25)));
    assert_eq!(
        num_format(&mut wb, "East", (tl.0, ac)),
        "\"$\"#,##0.00;(\"$\"#,##0.00)"
    );
    let merged = wb.merge_cells_by_sheet_name("East").unwrap();
    assert!(
        merged.iter().any(|d| d.start == tl && d.end == (tl.0, dc)),
        "{merged:?}"
    );
    // the page header is the first row; the footer is Excel's footer (with & escaped)
    assert!(find(&east, "Quarterly orders").0 < t.0);
    let sheet1 = part_text(&bytes, "xl/worksheets/sheet1.xml");
    assert!(
        sheet1.contains("Confidential &amp;&amp; internal"),
        "{sheet1}"
    );
    assert!(sheet1.contains("orientation=\"landscape\""), "{sheet1}");
    // the repeated header row prints on every page (print titles)
    let book = part_text(&bytes, "xl/workbook.xml");
    assert!(
        book.contains(&format!("East!${h}:${h}", h = h.0 + 1)),
        "{book}"
    );
    // the image and the hyperlink
    let names = part_names(&bytes);
    assert!(
        names.iter().any(|n| n == "xl/media/image1.png"),
        "{names:?}"
    );
    let rels = part_text(&bytes, "xl/worksheets/_rels/sheet1.xml.rels");
    assert!(rels.contains("https://example.com/orders"), "{rels}");
    // byte-identical on a second render (fixed ExecutionTime)
    assert_eq!(to_xlsx(&i).0, bytes);
}

/// Paragraph texts of a WordprocessingML part, in order.
fn paragraphs(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name((W, "p")))
        .map(|p| {
            p.descendants()
                .filter(|n| n.has_tag_name((W, "t")))
                .filter_map(|t| t.text())
                .collect::<String>()
        })
        .collect()
}

/// Tables as rows of cell texts.
fn tables(xml: &str) -> Vec<Vec<Vec<String>>> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name((W, "tbl")))
        .map(|t| {
            t.children()
                .filter(|n| n.has_tag_name((W, "tr")))
                .map(|tr| {
                    tr.children()
                        .filter(|n| n.has_tag_name((W, "tc")))
                        .map(|tc| {
                            tc.descendants()
                                .filter(|n| n.has_tag_name((W, "t")))
                                .filter_map(|t| t.text())
                                .collect::<String>()
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

fn attr(xml: &str, tag: &str, name: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name((W, tag)))
        .filter_map(|n| n.attribute((W, name)).map(str::to_owned))
        .collect()
}

#[test]
fn docx_sales_table_sample_text_table_and_page_setup() {
    let i = quickstart("Sales Table");
    let (bytes, summary) = to_docx(&i);
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    let doc = part_text(&bytes, "word/document.xml");
    let t = tables(&doc);
    assert_eq!(t.len(), 1);
    let rows = &t[0];
    assert_eq!(
        rows[0],
        ["Region", "Product", "Order Date", "Qty", "Amount"]
    );
    assert_eq!(rows[1], ["East", "Gadget", "1/1/2025", "1", "$24.50"]);
    // the region cell spans its rows: the rows below hold vMerge continuations
    assert!(doc.contains(r#"<w:vMerge w:val="restart"/>"#));
    assert!(rows[2][0].is_empty());
    assert!(
        rows.iter()
            .any(|r| r[0] == "All regions" || r[0] == "Grand total")
    );
    // column widths (1in row header + 1.4in, 1.1in, 0.6in, 1.2in)
    assert_eq!(
        attr(&doc, "gridCol", "w"),
        ["1440", "2016", "1584", "864", "1728"]
    );
    // Letter, 1in margins; header and footer as Word parts
    assert_eq!(attr(&doc, "pgSz", "w"), ["12240"]);
    assert_eq!(attr(&doc, "pgSz", "h"), ["15840"]);
    assert_eq!(attr(&doc, "pgMar", "left"), ["1440"]);
    let hdr = part_text(&bytes, "word/header1.xml");
    assert!(
        paragraphs(&hdr).contains(&"Sales Table".to_owned()),
        "{hdr}"
    );
    let ftr = part_text(&bytes, "word/footer2.xml");
    assert!(
        paragraphs(&ftr).contains(&"Page 1 of 1".to_owned()),
        "{ftr}"
    );
    // Globals!PageNumber and TotalPages became Word's page fields
    assert!(
        ftr.contains(r#"<w:fldSimple w:instr=" PAGE ">"#)
            && ftr.contains(r#"<w:fldSimple w:instr=" NUMPAGES ">"#),
        "{ftr}"
    );
    let rels = part_text(&bytes, "word/_rels/document.xml.rels");
    assert!(
        rels.contains("header1.xml") && rels.contains("footer2.xml"),
        "{rels}"
    );
    let core = part_text(&bytes, "docProps/core.xml");
    assert!(core.contains("<dc:title>Sales Table</dc:title>"), "{core}");
}

#[test]
fn docx_own_report_text_runs_tables_image_link_and_page_breaks() {
    let i = orders(PNG);
    let (bytes, summary) = to_docx(&i);
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    assert_eq!(summary.pages, 3);
    let doc = part_text(&bytes, "word/document.xml");
    let paras = paragraphs(&doc);
    assert_eq!(paras[0], "Orders by region");
    assert!(paras.contains(&"Open the shop".to_owned()));
    // the title's run: bold, 14pt (28 half-points), dark red
    let x = roxmltree::Document::parse(&doc).unwrap();
    let run = x
        .descendants()
        .find(|n| {
            n.has_tag_name((W, "r"))
                && n.descendants()
                    .any(|t| t.text() == Some("Orders by region"))
        })
        .unwrap();
    let rpr = run.children().find(|n| n.has_tag_name((W, "rPr"))).unwrap();
    let child = |t: &str| rpr.children().find(|n| n.has_tag_name((W, t)));
    assert!(child("b").is_some());
    assert_eq!(child("sz").unwrap().attribute((W, "val")), Some("28"));
    assert_eq!(
        child("color").unwrap().attribute((W, "val")),
        Some("C00000")
    );
    // one table per region page, the header row repeated (w:tblHeader), page breaks between
    let t = tables(&doc);
    assert_eq!(t.len(), 3);
    assert_eq!(
        t[0][1],
        ["Gadget", "2025-01-01", "1,200", "$24.50", "12.5 %"]
    );
    assert_eq!(t[0][3][0], "Total East");
    assert_eq!(t[1][0][1], "Order Date");
    assert_eq!(doc.matches("<w:tblHeader/>").count(), 3);
    assert_eq!(doc.matches(r#"<w:br w:type="page"/>"#).count(), 2);
    assert!(doc.contains(r#"<w:gridSpan w:val="2"/>"#));
    // landscape 11x8.5in, 0.5in side margins; the header sits in the top margin
    assert_eq!(attr(&doc, "pgSz", "orient"), ["landscape"]);
    assert_eq!(attr(&doc, "pgSz", "w"), ["15840"]);
    assert_eq!(attr(&doc, "pgMar", "left"), ["720"]);
    assert_eq!(attr(&doc, "pgMar", "header"), ["1080"]);
    // the image: a media part, a relationship and an inline picture that points to it
    let names = part_names(&bytes);
    assert!(
        names.iter().any(|n| n == "word/media/image1.png"),
        "{names:?}"
    );
    let media = part(&bytes, "word/media/image1.png").unwrap();
    assert!(media.starts_with(b"\x89PNG"));
    let blip = x
        .descendants()
        .find(|n| n.tag_name().name() == "blip")
        .unwrap()
        .attribute((R, "embed"))
        .unwrap()
        .to_owned();
    let rels = part_text(&bytes, "word/_rels/document.xml.rels");
    let rdoc = roxmltree::Document::parse(&rels).unwrap();
    let target = |id: &str| {
        rdoc.descendants()
            .find(|n| n.attribute("Id") == Some(id))
            .and_then(|n| n.attribute("Target"))
            .unwrap()
            .to_owned()
    };
    assert_eq!(target(&blip), "media/image1.png");
    // FitProportional: the 4x3 picture fills the 0.3in height (0.4in x 0.3in)
    let ext = x
        .descendants()
        .find(|n| n.tag_name().name() == "extent")
        .unwrap();
    assert_eq!(ext.attribute("cx"), Some("365760"));
    assert_eq!(ext.attribute("cy"), Some("274320"));
    // the hyperlink: an external relationship
    let link = x
        .descendants()
        .find(|n| n.has_tag_name((W, "hyperlink")))
        .unwrap()
        .attribute((R, "id"))
        .unwrap()
        .to_owned();
    assert_eq!(target(&link), "https://example.com/orders");
    // footer text escaped and read back
    let ftr_name = names.iter().find(|n| n.starts_with("word/footer")).unwrap();
    let ftr = part_text(&bytes, ftr_name);
    assert!(paragraphs(&ftr).contains(&"Confidential & internal".to_owned()));
    assert_eq!(to_docx(&i).0, bytes, "byte-identical on a second render");
}

#[test]
fn an_image_that_is_not_an_image_is_left_out_with_a_warning() {
    // "not an image" in base64
    let i = orders("bm90IGFuIGltYWdl");
    let (x, xs) = to_xlsx(&i);
    assert!(
        xs.warnings.iter().any(|w| w.contains("image")),
        "{:?}",
        xs.warnings
    );
    assert!(!part_names(&x).iter().any(|n| n.contains("media")));
    workbook(&x);
    let (d, ds) = to_docx(&i);
    assert!(
        ds.warnings.iter().any(|w| w.contains("image")),
        "{:?}",
        ds.warnings
    );
    assert!(!part_names(&d).iter().any(|n| n.contains("media")));
    roxmltree::Document::parse(&part_text(&d, "word/document.xml")).unwrap();
}

#[test]
fn shared_samples_render_to_both_formats() {
    for (name, input) in [
        ("Invoice.rdl", vec![("Company", &["Contoso Suites"][..])]),
        (
            "Labels.rdl",
            vec![("Names", &["Ebony E. Gill", "Vera Kopecka"][..])],
        ),
        ("Transcript.rdl", vec![]),
    ] {
        let Some(r) = common::run(name, &input) else {
            return;
        };
        let i = r.unwrap();
        let (x, _) = to_xlsx(&i);
        let mut wb = workbook(&x);
        let sheets = wb.sheet_names();
        assert!(!sheets.is_empty());
        let strings: usize = sheets
            .iter()
            .map(|s| {
                wb.worksheet_range(s)
                    .unwrap()
                    .used_cells()
                    .filter(|(_, _, d)| matches!(d, Data::String(_)))
                    .count()
            })
            .sum();
        assert!(strings > 3, "{name}: {strings} text cells");
        let (d, _) = to_docx(&i);
        let doc = part_text(&d, "word/document.xml");
        let text: String = paragraphs(&doc).concat();
        assert!(text.len() > 20, "{name}: {text}");
        if name == "Invoice.rdl" {
            assert!(text.contains("Owl Wholesales"), "{text}");
            let range = wb.worksheet_range(&sheets[0]).unwrap();
            assert!(
                range
                    .used_cells()
                    .any(|(_, _, d)| matches!(d, Data::String(s) if s.contains("Owl Wholesales"))),
                "Invoice sheet lacks the company"
            );
        }
        if name == "Transcript.rdl" {
            assert!(text.contains("Contoso Certified IT Professional"), "{text}");
        }
    }
}

#[test]
fn device_information_is_checked() {
    let mut m = HashMap::new();
    m.insert("rc:SimplePageHeaders".to_owned(), "maybe".to_owned());
    let e = XlsxOptions::from_device_info(&render::DeviceInfo::new(&m)).unwrap_err();
    assert!(e.to_string().contains("SimplePageHeaders"), "{e}");
    let mut m = HashMap::new();
    m.insert("rc:AutoFit".to_owned(), "sometimes".to_owned());
    let e = DocxOptions::from_device_info(&render::DeviceInfo::new(&m)).unwrap_err();
    assert!(e.to_string().contains("AutoFit"), "{e}");
    // SimplePageHeaders puts the header into Excel's page header
    let i = quickstart("Sales Table");
    let mut v = Vec::new();
    let o = XlsxOptions {
        simple_page_headers: true,
    };
    xlsx::render(&i, &o, &AverageCharMeasurer, &mut v).unwrap();
    let sheet = part_text(&v, "xl/worksheets/sheet1.xml");
    assert!(
        sheet.contains("<oddHeader>&amp;CSales Table</oddHeader>"),
        "{sheet}"
    );
}

/// Opens both outputs in LibreOffice headless (when `soffice` is installed) and checks the
/// text it reads: XLSX converted to CSV per sheet, DOCX to plain text.
#[test]
#[ignore = "needs LibreOffice (apt-get install libreoffice-calc libreoffice-writer); cargo test -p render --test office -- --ignored"]
fn libreoffice_reads_both_formats() {
    let soffice = std::process::Command::new("soffice")
        .arg("--version")
        .output();
    if soffice.is_err() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "soffice is required under CI (apt-get install libreoffice-calc libreoffice-writer)"
            );
        }
        println!("skipped: soffice not found; apt-get install libreoffice-calc libreoffice-writer");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let i = orders(PNG);
    std::fs::write(dir.path().join("orders.xlsx"), to_xlsx(&i).0).unwrap();
    std::fs::write(dir.path().join("orders.docx"), to_docx(&i).0).unwrap();
    let profile = format!(
        "-env:UserInstallation=file://{}/profile",
        dir.path().display()
    );
    let convert = |file: &str, to: &str| {
        let o = std::process::Command::new("soffice")
            .args([
                profile.as_str(),
                "--headless",
                "--convert-to",
                to,
                "--outdir",
            ])
            .arg(dir.path())
            .arg(dir.path().join(file))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    // the first sheet as CSV, values formatted by the translated number formats
    // filter options: comma, quote, UTF-8, from line 1, ..., save cell contents as shown
    convert(
        "orders.xlsx",
        "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true",
    );
    let csv = std::fs::read_to_string(dir.path().join("orders.csv")).unwrap();
    assert!(csv.contains("Orders by region"), "{csv}");
    assert!(csv.contains("2025-01-01"), "{csv}");
    assert!(csv.contains("\"1,200\""), "{csv}");
    assert!(csv.contains("($7.25)"), "{csv}");
    assert!(csv.contains("12.5%"), "{csv}");
    assert!(csv.contains("$17.25"), "{csv}");
    convert("orders.docx", "txt:Text");
    let txt = std::fs::read_to_string(dir.path().join("orders.txt")).unwrap();
    for s in [
        "Orders by region",
        "Open the shop",
        "Total East",
        "Gizmo",
        "2025-11-07",
    ] {
        assert!(txt.contains(s), "{s}: {txt}");
    }
}

/// Writes the quickstart Sales Table and the orders report as XLSX and DOCX into
/// `$OFFICE_OUT` for a look in an office suite (a manual check, not an assertion).
#[test]
#[ignore = "writes files for manual inspection: OFFICE_OUT=/tmp/office cargo test -p render --test office -- --ignored write_files"]
fn write_files_for_manual_inspection() {
    let Ok(dir) = std::env::var("OFFICE_OUT") else {
        println!("skipped: set OFFICE_OUT to a directory");
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    for (name, i) in [
        ("sales-table", quickstart("Sales Table")),
        ("sales-matrix", quickstart("Sales Matrix")),
        ("orders", orders(PNG)),
    ] {
        std::fs::write(format!("{dir}/{name}.xlsx"), to_xlsx(&i).0).unwrap();
        std::fs::write(format!("{dir}/{name}.docx"), to_docx(&i).0).unwrap();
    }
}

/// A column chart (SVG from the engine) is drawn into both formats as a PNG picture of the
/// chart's box (5in x 3in at 192 px/in), its text in the machine's fonts.
#[test]
fn charts_become_pictures_in_both_formats() {
    let rdl = r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition">
  <DataSources><DataSource Name="DS"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="Sales"><Query><DataSourceName>DS</DataSourceName><CommandText>&lt;Query&gt;&lt;XmlData&gt;&lt;Rows&gt;&lt;Row&gt;&lt;Month&gt;Jan&lt;/Month&gt;&lt;Amount&gt;10&lt;/Amount&gt;&lt;/Row&gt;&lt;Row&gt;&lt;Month&gt;Feb&lt;/Month&gt;&lt;Amount&gt;20&lt;/Amount&gt;&lt;/Row&gt;&lt;/Rows&gt;&lt;/XmlData&gt;&lt;/Query&gt;</CommandText></Query>
    <Fields><Field Name="Month"><DataField>Month</DataField></Field><Field Name="Amount"><DataField>Amount</DataField><rd:TypeName xmlns:rd="http://schemas.microsoft.com/SQLServer/reporting/reportdesigner">System.Double</rd:TypeName></Field></Fields>
  </DataSet></DataSets>
  <ReportSections><ReportSection><Body><ReportItems>
<Chart Name="SalesChart">
  <ChartCategoryHierarchy><ChartMembers><ChartMember><Group Name="MonthGroup"><GroupExpressions><GroupExpression>=Fields!Month.Value</GroupExpression></GroupExpressions></Group><Label>=Fields!Month.Value</Label></ChartMember></ChartMembers></ChartCategoryHierarchy>
  <ChartSeriesHierarchy><ChartMembers><ChartMember><Label>Amount</Label></ChartMember></ChartMembers></ChartSeriesHierarchy>
  <ChartData><ChartSeriesCollection><ChartSeries Name="Amount"><ChartDataPoints><ChartDataPoint><ChartDataPointValues><Y>=Sum(Fields!Amount.Value)</Y></ChartDataPointValues></ChartDataPoint></ChartDataPoints><Type>Column</Type></ChartSeries></ChartSeriesCollection></ChartData>
  <ChartAreas><ChartArea Name="Default" /></ChartAreas>
  <ChartTitles><ChartTitle Name="Default"><Caption>Monthly sales</Caption></ChartTitle></ChartTitles>
  <DataSetName>Sales</DataSetName><Top>0in</Top><Left>0in</Left><Height>3in</Height><Width>5in</Width>
</Chart></ReportItems><Height>3in</Height></Body><Width>6in</Width><Page /></ReportSection></ReportSections>
</Report>"#;
    let i = bind_bytes("/Tests/Chart", rdl.as_bytes());
    let fonts = fonts::FontRegistry::load_default().ok();
    let mut x = Vec::new();
    let xs = xlsx::render_with_fonts(
        &i,
        &XlsxOptions::default(),
        fonts.as_ref(),
        &AverageCharMeasurer,
        &mut x,
    )
    .unwrap();
    assert!(xs.warnings.is_empty(), "{:?}", xs.warnings);
    let mut d = Vec::new();
    let ds = docx::render_with_fonts(
        &i,
        &DocxOptions::default(),
        fonts.as_ref(),
        &AverageCharMeasurer,
        &mut d,
    )
    .unwrap();
    assert!(ds.warnings.is_empty(), "{:?}", ds.warnings);
    for (zip, name) in [(&x, "xl/media/image1.png"), (&d, "word/media/image1.png")] {
        let png = part(zip, name).unwrap_or_else(|| panic!("no {name}: {:?}", part_names(zip)));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}");
        let (w, h) = (
            u32::from_be_bytes(png[16..20].try_into().unwrap()),
            u32::from_be_bytes(png[20..24].try_into().unwrap()),
        );
        assert_eq!((w, h), (960, 576), "{name}");
    }
    if let Ok(dir) = std::env::var("OFFICE_OUT") {
        std::fs::write(format!("{dir}/chart.xlsx"), &x).unwrap();
        std::fs::write(format!("{dir}/chart.docx"), &d).unwrap();
    }
    // in Word the picture takes the chart's box: 5in x 3in
    let doc = part_text(&d, "word/document.xml");
    assert!(
        doc.contains(r#"<wp:extent cx="4572000" cy="2743200"/>"#),
        "{doc}"
    );
}
