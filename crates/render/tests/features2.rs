//! Hand-written reports for subreports (parameters from the parent's row, NoRowsMessage,
//! no own header/footer, recursion refused) with exact expected output. Data comes from
//! the ENTERDATA provider's parser; the subreport's query parameter is applied as a `WHERE
//! column = value` by the test's catalog (what a database would do with `@Region`).

mod common;

use common::user_sorts;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use engine::page::AverageCharMeasurer;
use engine::subreport::{SubreportSource, Subreports};
use engine::{BindOptions, Compiled, DataTable, Globals, Instance, QueryRequest};
use rdl::Value;
use render::{DeviceInfo, csv, html, xml};

const NS: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

fn textbox(name: &str, value: &str) -> String {
    format!(
        r#"<Textbox Name="{name}"><CanGrow>true</CanGrow><Paragraphs><Paragraph><TextRuns><TextRun><Value>{value}</Value></TextRun></TextRuns></Paragraph></Paragraphs><Height>0.25in</Height><Width>2in</Width></Textbox>"#
    )
}

/// A report with one ENTERDATA data set `name` of `fields` (all strings) and `rows`, a query
/// parameter per entry of `query_params`, report parameters `params`, `body` items and an
/// optional page header text.
fn report(
    dataset: (&str, &[&str], &[&[&str]]),
    query_params: &[(&str, &str)],
    params: &str,
    body: &str,
    header: Option<&str>,
) -> String {
    let (name, fields, rows) = dataset;
    let xml_rows: String = rows
        .iter()
        .map(|r| {
            let cols: String = fields
                .iter()
                .zip(r.iter())
                .map(|(f, v)| format!("<{f}>{v}</{f}>"))
                .collect();
            format!(
                "&lt;Row&gt;{}&lt;/Row&gt;",
                cols.replace('<', "&lt;").replace('>', "&gt;")
            )
        })
        .collect();
    let field_defs: String = fields
        .iter()
        .map(|f| format!("<Field Name=\"{f}\"><DataField>{f}</DataField><rd:TypeName>System.String</rd:TypeName></Field>"))
        .collect();
    let qp: String = query_params
        .iter()
        .map(|(n, v)| format!("<QueryParameter Name=\"@{n}\"><Value>{v}</Value></QueryParameter>"))
        .collect();
    let qp = if qp.is_empty() {
        String::new()
    } else {
        format!("<QueryParameters>{qp}</QueryParameters>")
    };
    let header = header
        .map(|h| {
            format!(
                "<PageHeader><Height>0.3in</Height><PrintOnFirstPage>true</PrintOnFirstPage><PrintOnLastPage>true</PrintOnLastPage><ReportItems>{}</ReportItems></PageHeader>",
                textbox("Hdr", h)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="{NS}" xmlns:rd="http://schemas.microsoft.com/SQLServer/reporting/reportdesigner">
  <DataSources><DataSource Name="DS"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="{name}"><Query><DataSourceName>DS</DataSourceName>{qp}<CommandText>&lt;Query&gt;&lt;XmlData&gt;&lt;Rows&gt;{xml_rows}&lt;/Rows&gt;&lt;/XmlData&gt;&lt;/Query&gt;</CommandText></Query>
    <Fields>{field_defs}</Fields></DataSet></DataSets>
  <ReportSections><ReportSection>
    <Body><ReportItems>{body}</ReportItems><Height>2in</Height></Body>
    <Width>6in</Width><Page>{header}<InteractiveHeight>0in</InteractiveHeight></Page>
  </ReportSection></ReportSections>
  {params}
</Report>"#
    )
}

fn string_param(name: &str) -> String {
    format!(
        "<ReportParameters><ReportParameter Name=\"{name}\"><DataType>String</DataType><Prompt>{name}</Prompt></ReportParameter></ReportParameters>"
    )
}

/// A one-column table over `dataset` whose details cell is `cell` (any report item).
fn list(name: &str, dataset: &str, cell: &str) -> String {
    format!(
        r#"<Tablix Name="{name}"><TablixBody><TablixColumns><TablixColumn><Width>4in</Width></TablixColumn></TablixColumns>
  <TablixRows><TablixRow><Height>0.5in</Height><TablixCells><TablixCell><CellContents>{cell}</CellContents></TablixCell></TablixCells></TablixRow></TablixRows></TablixBody>
  <TablixColumnHierarchy><TablixMembers><TablixMember /></TablixMembers></TablixColumnHierarchy>
  <TablixRowHierarchy><TablixMembers><TablixMember><Group Name="{name}Details" /></TablixMember></TablixMembers></TablixRowHierarchy>
  <DataSetName>{dataset}</DataSetName><Top>0in</Top><Left>0in</Left><Height>0.5in</Height><Width>4in</Width></Tablix>"#
    )
}

fn subreport(name: &str, report: &str, params: &[(&str, &str)], no_rows: Option<&str>) -> String {
    let p: String = params
        .iter()
        .map(|(n, v)| format!("<Parameter Name=\"{n}\"><Value>{v}</Value></Parameter>"))
        .collect();
    let p = if p.is_empty() {
        String::new()
    } else {
        format!("<Parameters>{p}</Parameters>")
    };
    let nr = no_rows
        .map(|m| format!("<NoRowsMessage>{m}</NoRowsMessage>"))
        .unwrap_or_default();
    format!(
        "<Subreport Name=\"{name}\"><ReportName>{report}</ReportName>{p}{nr}<Top>0in</Top><Left>0in</Left><Height>0.5in</Height><Width>4in</Width></Subreport>"
    )
}

/// The test's catalog: definitions by path; `fetch` runs ENTERDATA and applies each query
/// parameter as `column = value`. Records every fetch (path, parameters) it served.
#[derive(Default)]
struct Catalog {
    reports: HashMap<String, Arc<Compiled>>,
    fetched: Mutex<Vec<String>>,
}

impl Catalog {
    fn add(&mut self, path: &str, rdl: &str) {
        let c = engine::parse_and_prepare(path, rdl.as_bytes()).unwrap();
        self.reports.insert(path.to_owned(), Arc::new(c));
    }
}

fn run_queries(req: &[QueryRequest]) -> Result<HashMap<String, Arc<DataTable>>, String> {
    let mut out = HashMap::new();
    for q in req {
        let hints: Vec<dataprov::FieldHint> = q
            .fields
            .iter()
            .map(|f| dataprov::FieldHint {
                name: f.name.clone(),
                data_field: f.data_field.clone(),
                type_name: f.type_name.clone(),
            })
            .collect();
        let t =
            dataprov::enterdata::parse_table(&q.command_text, &hints).map_err(|e| e.to_string())?;
        let mut rows: Vec<Vec<Value>> = t.rows().collect();
        for (name, value) in &q.params {
            let col = t
                .table
                .fields
                .iter()
                .position(|f| f == name.trim_start_matches('@'))
                .ok_or_else(|| format!("no column {name}"))?;
            rows.retain(|r| r[col] == *value);
        }
        let table = DataTable::from_rows(t.table.fields.clone(), rows);
        out.insert(q.dataset.clone(), Arc::new(table));
    }
    Ok(out)
}

impl SubreportSource for Catalog {
    fn definition(&self, path: &str) -> Result<Arc<Compiled>, String> {
        self.reports
            .get(path)
            .cloned()
            .ok_or_else(|| format!("the item {path} does not exist"))
    }

    fn fetch(
        &self,
        report: &Compiled,
        requests: &[QueryRequest],
    ) -> Result<HashMap<String, Arc<DataTable>>, String> {
        let params: Vec<String> = requests
            .iter()
            .flat_map(|q| q.params.iter().map(|(n, v)| format!("{n}={v:?}")))
            .collect();
        self.fetched
            .lock()
            .unwrap()
            .push(format!("{} {}", report.path, params.join(",")));
        run_queries(requests)
    }
}

fn bind(catalog: Arc<Catalog>, path: &str) -> Instance {
    let c = catalog.reports[path].clone();
    let p = c
        .resolve_parameters(&HashMap::new(), &HashMap::new())
        .unwrap();
    let data = run_queries(&c.queries(&p).unwrap()).unwrap();
    let opts = BindOptions {
        subreports: Some(Subreports::new(catalog)),
        ..Default::default()
    };
    engine::bind(&c, &p, &data, &Globals::default(), &opts).unwrap()
}

fn to_html(i: &Instance) -> String {
    let mut v = Vec::new();
    html::render(
        i,
        &html::HtmlOptions::default(),
        &AverageCharMeasurer,
        &mut v,
    )
    .unwrap();
    String::from_utf8(v).unwrap()
}

fn to_csv(i: &Instance) -> String {
    let o = csv::CsvOptions::from_device_info(&DeviceInfo::new(&HashMap::new())).unwrap();
    let mut v = Vec::new();
    csv::render(i, &o, &mut v).unwrap();
    String::from_utf8(v)
        .unwrap()
        .trim_start_matches('\u{feff}')
        .to_owned()
}

/// Parent: Regions A, B, C in a table whose cell is the subreport `Sales`, passed
/// `Region = Fields!Code.Value` of that row. Sales: A 10 + 25, B 7, none for C.
fn sales_catalog() -> Catalog {
    let mut cat = Catalog::default();
    let sales_rows: &[&[&str]] = &[&["A", "10"], &["B", "7"], &["A", "25"]];
    cat.add(
        "/Tests/Sales",
        &report(
            ("Sales", &["Region", "Amount"], sales_rows),
            &[("Region", "=Parameters!Region.Value")],
            &string_param("Region"),
            &textbox(
                "SubTotal",
                "=\"Region \" &amp; Parameters!Region.Value &amp; \": \" &amp; CountRows(\"Sales\") &amp; \" sales, \" &amp; Format(Sum(CDec(Fields!Amount.Value), \"Sales\"), \"N2\")",
            ),
            Some("SUB HEADER"),
        ),
    );
    let region_rows: &[&[&str]] = &[&["A"], &["B"], &["C"]];
    let cell = subreport(
        "Sub",
        "Sales",
        &[("Region", "=Fields!Code.Value")],
        Some("=\"No sales in \" &amp; Fields!Code.Value"),
    );
    cat.add(
        "/Tests/Regions",
        &report(
            ("Regions", &["Code"], region_rows),
            &[],
            "",
            &list("T", "Regions", &cell),
            Some("PARENT HEADER"),
        ),
    );
    cat
}

#[test]
fn subreport_in_a_table_cell_gets_the_rows_parameters_and_its_own_data() {
    let cat = Arc::new(sales_catalog());
    let i = bind(cat.clone(), "/Tests/Regions");
    assert!(i.warnings().is_empty(), "{:?}", i.warnings());
    // one fetch per row, with that row's value bound to the query parameter
    let expected: Vec<String> = ["A", "B", "C"]
        .iter()
        .map(|r| format!("/Tests/Sales @Region={:?}", Value::str(*r)))
        .collect();
    assert_eq!(*cat.fetched.lock().unwrap(), expected);
    let h = to_html(&i);
    assert!(h.contains(">Region A: 2 sales, 35.00<"), "{h}");
    assert!(h.contains(">Region B: 1 sales, 7.00<"), "{h}");
    // C: the subreport's data set has no rows → the NoRowsMessage, evaluated in the row
    assert!(h.contains(">No sales in C<"), "{h}");
    assert!(!h.contains("Region C:"), "{h}");
    // the parent's header is drawn, the subreport's never
    assert!(h.contains(">PARENT HEADER<"), "{h}");
    assert!(!h.contains("SUB HEADER"), "{h}");
    // data renderers walk into the subreport's items
    let c = to_csv(&i);
    assert!(c.contains("Region A: 2 sales, 35.00"), "{c}");
    assert!(c.contains("Region B: 1 sales, 7.00"), "{c}");
    let mut x = Vec::new();
    xml::render(&i, &xml::XmlOptions::default(), &mut x).unwrap();
    let x = String::from_utf8(x).unwrap();
    assert!(x.contains("SubTotal=\"Region A: 2 sales, 35.00\""), "{x}");
}

#[test]
fn a_report_that_includes_itself_is_refused_in_place() {
    let mut cat = Catalog::default();
    let rows: &[&[&str]] = &[&["x"]];
    cat.add(
        "/Tests/Loop",
        &report(
            ("D", &["V"], rows),
            &[],
            "",
            &format!(
                "{}{}",
                textbox("Before", "Loop body"),
                subreport("Again", "/Tests/Loop", &[], None)
            ),
            None,
        ),
    );
    // A → B → A: refused when A comes round again, B's own content still shown
    cat.add(
        "/Tests/A",
        &report(
            ("D", &["V"], rows),
            &[],
            "",
            &subreport("ToB", "B", &[], None),
            None,
        ),
    );
    cat.add(
        "/Tests/B",
        &report(
            ("D", &["V"], rows),
            &[],
            "",
            &format!(
                "{}{}",
                textbox("InB", "Inside B"),
                subreport("ToA", "A", &[], None)
            ),
            None,
        ),
    );
    let cat = Arc::new(cat);
    let i = bind(cat.clone(), "/Tests/Loop");
    let msg = "the subreport /Tests/Loop includes itself (/Tests/Loop → /Tests/Loop); point \
               the Subreport's ReportName at another report";
    assert_eq!(i.warnings(), [format!("Again: {msg}")]);
    let h = to_html(&i);
    assert!(h.contains(">Loop body<"), "{h}");
    assert!(
        h.contains(&format!(">{}<", msg.replace('\'', "&#39;"))),
        "{h}"
    );
    let h = to_html(&bind(cat, "/Tests/A"));
    assert!(h.contains(">Inside B<"), "{h}");
    assert!(
        h.contains("the subreport /Tests/A includes itself (/Tests/A → /Tests/B → /Tests/A)"),
        "{h}"
    );
}

#[test]
fn subreport_without_a_source_or_missing_shows_why() {
    let mut cat = Catalog::default();
    let rows: &[&[&str]] = &[&["x"]];
    cat.add(
        "/Tests/P",
        &report(
            ("D", &["V"], rows),
            &[],
            "",
            &subreport("Missing", "Nowhere", &[], None),
            None,
        ),
    );
    let cat = Arc::new(cat);
    let i = bind(cat.clone(), "/Tests/P");
    assert_eq!(
        i.warnings(),
        [
            "Missing: the subreport /Tests/Nowhere cannot be loaded: the item /Tests/Nowhere does not exist"
        ]
    );
    // no source given: a message, not a failed render
    let c = cat.reports["/Tests/P"].clone();
    let p = c
        .resolve_parameters(&HashMap::new(), &HashMap::new())
        .unwrap();
    let data = run_queries(&c.queries(&p).unwrap()).unwrap();
    let i = engine::bind(&c, &p, &data, &Globals::default(), &BindOptions::default()).unwrap();
    assert!(
        to_html(&i).contains("the subreport /Tests/Nowhere cannot be shown: this server was not given a way to load subreports here"),
    );
}

// ---------------------------------------------------------------------------------------
// Logical page breaks on soft pages

use engine::instance::ItemKind;
use engine::page::{self, SoftPageOptions};

fn text_of(item: &engine::instance::Item) -> String {
    match &item.kind {
        ItemKind::Textbox(tb) => tb.text(),
        ItemKind::Rectangle(ch) => ch.iter().map(text_of).collect::<Vec<_>>().join(" "),
        ItemKind::Tablix(t) => t
            .rows
            .iter()
            .flat_map(|r| r.cells.iter().filter_map(|c| c.item.as_ref()).map(text_of))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Each soft page as `header text | body text` (a tablix shows only its rows on the page).
fn pages(i: &Instance) -> Vec<String> {
    page::paginate(i, SoftPageOptions { height: None }, &AverageCharMeasurer)
        .iter()
        .map(|p| {
            let hdr = p
                .header
                .as_ref()
                .map(|h| h.iter().map(text_of).collect::<Vec<_>>().join(" "))
                .unwrap_or_default();
            let body: Vec<String> = p
                .body
                .iter()
                .map(|pl| match (&pl.item.kind, &pl.rows) {
                    (ItemKind::Tablix(t), Some(rows)) => rows
                        .iter()
                        .flat_map(|&r| {
                            t.rows[r]
                                .cells
                                .iter()
                                .filter_map(|c| c.item.as_ref())
                                .map(text_of)
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                    _ => text_of(pl.item),
                })
                .collect();
            format!("{hdr} | {}", body.join(" ; "))
        })
        .collect()
}

const PAGE_HEADER: &str = "=Globals!PageNumber &amp; \"/\" &amp; Globals!TotalPages &amp; \" \" &amp; Globals!OverallPageNumber &amp; \"/\" &amp; Globals!OverallTotalPages &amp; \" \" &amp; Globals!PageName";

fn bind_one(rdl: &str) -> Instance {
    let mut cat = Catalog::default();
    cat.add("/Tests/Breaks", rdl);
    bind(Arc::new(cat), "/Tests/Breaks")
}

fn rect(name: &str, top: &str, extra: &str, inner: &str) -> String {
    format!(
        "<Rectangle Name=\"{name}\"><ReportItems>{inner}</ReportItems>{extra}<Top>{top}</Top><Left>0in</Left><Height>0.3in</Height><Width>2in</Width></Rectangle>"
    )
}

#[test]
fn rectangle_breaks_page_names_and_page_number_reset() {
    let rows: &[&[&str]] = &[&["x"]];
    let at = |top: &str, name: &str, v: &str| {
        textbox(name, v).replace("<Height>", &format!("<Top>{top}</Top><Height>"))
    };
    let body = [
        at("0in", "Intro", "Intro"),
        rect(
            "R1",
            "0.5in",
            "<PageBreak><BreakLocation>Start</BreakLocation></PageBreak><PageName>First</PageName>",
            &textbox("InR1", "In R1"),
        ),
        rect(
            "R2",
            "1in",
            "<PageBreak><BreakLocation>StartAndEnd</BreakLocation><ResetPageNumber>=1=1</ResetPageNumber></PageBreak><PageName>=\"Sec\" &amp; \"ond\"</PageName>",
            &textbox("InR2", "In R2"),
        ),
        rect(
            "R3",
            "1.5in",
            "<PageBreak><BreakLocation>Start</BreakLocation><Disabled>=True</Disabled></PageBreak>",
            &textbox("InR3", "In R3"),
        ),
        at("1.8in", "Tail", "Tail"),
    ]
    .concat();
    let rdl = report(("D", &["V"], rows), &[], "", &body, Some(PAGE_HEADER)).replace(
        "<ReportSections>",
        "<InitialPageName>Cover</InitialPageName><ReportSections>",
    );
    let i = bind_one(&rdl);
    assert!(i.warnings().is_empty(), "{:?}", i.warnings());
    assert_eq!(
        pages(&i),
        [
            "1/2 1/4 Cover | Intro",
            "2/2 2/4 First | In R1",
            // ResetPageNumber restarts numbering at each break it causes (before R2 and
            // after it); R3's own break is disabled, the last page keeps R2's name
            "1/1 3/4 Second | In R2",
            "1/1 4/4 Second | In R3 ; Tail",
        ]
    );
    // the HTML pages are numbered overall
    let mut v = Vec::new();
    let o = html::HtmlOptions {
        section: 0,
        ..Default::default()
    };
    html::render(&i, &o, &AverageCharMeasurer, &mut v).unwrap();
    let h = String::from_utf8(v).unwrap();
    assert!(
        h.contains("id=\"page4\"") && h.contains(">1/1 3/4 Second<"),
        "{h}"
    );
}

/// A table of Sales grouped by Region: a repeated header row, the group's detail rows and a
/// footer row per region. `group_extra` goes into the `Group` element.
fn grouped_table(group_extra: &str) -> String {
    let c = |n: &str, v: &str| {
        format!(
            "<TablixCell><CellContents>{}</CellContents></TablixCell>",
            textbox(n, v)
        )
    };
    let row = |cells: String| {
        format!("<TablixRow><Height>0.25in</Height><TablixCells>{cells}</TablixCells></TablixRow>")
    };
    format!(
        r#"<Tablix Name="T"><TablixBody><TablixColumns><TablixColumn><Width>2in</Width></TablixColumn><TablixColumn><Width>2in</Width></TablixColumn></TablixColumns>
  <TablixRows>{h}{d}{f}</TablixRows></TablixBody>
  <TablixColumnHierarchy><TablixMembers><TablixMember /><TablixMember /></TablixMembers></TablixColumnHierarchy>
  <TablixRowHierarchy><TablixMembers>
    <TablixMember><KeepWithGroup>After</KeepWithGroup><RepeatOnNewPage>true</RepeatOnNewPage></TablixMember>
    <TablixMember><Group Name="Region"><GroupExpressions><GroupExpression>=Fields!Region.Value</GroupExpression></GroupExpressions>{group_extra}</Group>
      <SortExpressions><SortExpression><Value>=Fields!Region.Value</Value></SortExpression></SortExpressions>
      <TablixMembers><TablixMember><Group Name="Details" /></TablixMember><TablixMember><KeepWithGroup>Before</KeepWithGroup></TablixMember></TablixMembers>
    </TablixMember>
  </TablixMembers></TablixRowHierarchy>
  <DataSetName>Sales</DataSetName><Top>0.5in</Top><Left>0in</Left><Height>0.75in</Height><Width>4in</Width></Tablix>"#,
        h = row(c("HRegion", "Region") + &c("HAmount", "Amount")),
        d = row(c("Region", "=Fields!Region.Value") + &c("Amount", "=Fields!Amount.Value")),
        f = row(c("FLabel", "=\"Total \" &amp; Fields!Region.Value")
            + &c("FSum", "=Sum(CDec(Fields!Amount.Value))")),
    )
}

fn sales_report(group_extra: &str) -> String {
    let rows: &[&[&str]] = &[&["A", "10"], &["B", "7"], &["A", "25"], &["C", "3"]];
    let body = format!(
        "{}{}",
        textbox("Title", "Sales").replace("<Height>", "<Top>0in</Top><Height>"),
        grouped_table(group_extra)
    );
    report(
        ("Sales", &["Region", "Amount"], rows),
        &[],
        "",
        &format!(
            "{body}{}",
            textbox("After", "The end").replace("<Height>", "<Top>1.5in</Top><Height>")
        ),
        Some(PAGE_HEADER),
    )
}

#[test]
fn group_break_between_instances_repeats_the_header_and_names_pages() {
    let i = bind_one(&sales_report(
        "<PageBreak><BreakLocation>Between</BreakLocation></PageBreak><PageName>=\"Region \" &amp; Fields!Region.Value</PageName>",
    ));
    assert!(i.warnings().is_empty(), "{:?}", i.warnings());
    assert_eq!(
        pages(&i),
        [
            "1/3 1/3 Region A | Sales ; Region Amount A 10 A 25 Total A 35",
            "2/3 2/3 Region B | Region Amount B 7 Total B 7",
            "3/3 3/3 Region C | Region Amount C 3 Total C 3 ; The end",
        ]
    );
}

#[test]
fn group_break_at_start_and_end_with_disabled_and_reset_in_group_scope() {
    // Start: the first instance's break moves before the tablix (the header stays with it)
    let i = bind_one(&sales_report(
        "<PageBreak><BreakLocation>Start</BreakLocation></PageBreak>",
    ));
    assert_eq!(
        pages(&i),
        [
            "1/4 1/4  | Sales",
            "2/4 2/4  | Region Amount A 10 A 25 Total A 35",
            "3/4 3/4  | Region Amount B 7 Total B 7",
            "4/4 4/4  | Region Amount C 3 Total C 3 ; The end",
        ]
    );
    // End, disabled for B (evaluated per instance), numbering reset at each break: after
    // the last instance the next item starts a page
    let i = bind_one(&sales_report(
        "<PageBreak><BreakLocation>End</BreakLocation><Disabled>=Fields!Region.Value = \"B\"</Disabled><ResetPageNumber>true</ResetPageNumber></PageBreak>",
    ));
    assert_eq!(
        pages(&i),
        [
            "1/1 1/3  | Sales ; Region Amount A 10 A 25 Total A 35",
            "1/1 2/3  | Region Amount B 7 Total B 7 C 3 Total C 3",
            "1/1 3/3  | The end",
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Interactive sort

fn sortable_report() -> String {
    sales_report("")
        .replace(
            "<Textbox Name=\"HAmount\"><CanGrow>true</CanGrow>",
            "<Textbox Name=\"HAmount\"><CanGrow>true</CanGrow><UserSort><SortExpression>=CDec(Fields!Amount.Value)</SortExpression></UserSort>",
        )
        .replace(
            "<Textbox Name=\"HRegion\"><CanGrow>true</CanGrow>",
            "<Textbox Name=\"HRegion\"><CanGrow>true</CanGrow><UserSort><SortExpression>=Sum(CDec(Fields!Amount.Value))</SortExpression><SortExpressionScope>Region</SortExpressionScope></UserSort>",
        )
}

fn bind_sorted(rdl: &str, sorts: &[(&str, bool)]) -> Instance {
    let c = Arc::new(engine::parse_and_prepare("/Tests/Sort", rdl.as_bytes()).unwrap());
    let p = c
        .resolve_parameters(&HashMap::new(), &HashMap::new())
        .unwrap();
    let data = run_queries(&c.queries(&p).unwrap()).unwrap();
    let opts = BindOptions {
        user_sorts: user_sorts(sorts),
        ..Default::default()
    };
    engine::bind(&c, &p, &data, &Globals::default(), &opts).unwrap()
}

#[test]
fn interactive_sort_on_details_and_on_a_group_scope() {
    let rdl = sortable_report();
    let base = "Region Amount A 10 A 25 Total A 35 B 7 Total B 7 C 3 Total C 3";
    let i = bind_sorted(&rdl, &[]);
    assert!(i.warnings().is_empty(), "{:?}", i.warnings());
    assert_eq!(pages(&i), [format!("1/1 1/1  | Sales ; {base} ; The end")]);
    // the renderer offers both buttons, unsorted: the next click sorts ascending
    let o = html::HtmlOptions {
        self_url: Some("/ReportServer?/Tests/Sort".into()),
        ..Default::default()
    };
    let mut v = Vec::new();
    html::render(&i, &o, &AverageCharMeasurer, &mut v).unwrap();
    let h = String::from_utf8(v).unwrap();
    assert!(
        h.contains("href=\"/ReportServer?/Tests/Sort&amp;rs:SortId=HAmount&amp;rs:SortDirection=Ascending\">&#8693;</a>"),
        "{h}"
    );
    assert!(
        h.contains("rs:SortId=HRegion&amp;rs:SortDirection=Ascending"),
        "{h}"
    );
    // details by amount, descending, inside each region
    let i = bind_sorted(&rdl, &[("HAmount", false)]);
    assert_eq!(
        pages(&i),
        [
            "1/1 1/1  | Sales ; Region Amount A 25 A 10 Total A 35 B 7 Total B 7 C 3 Total C 3 ; The end"
        ]
    );
    let mut v = Vec::new();
    html::render(&i, &o, &AverageCharMeasurer, &mut v).unwrap();
    let h = String::from_utf8(v).unwrap();
    assert!(
        h.contains("rs:SortId=HAmount&amp;rs:SortDirection=Ascending\">&#9660;</a>"),
        "{h}"
    );
    // regions by their total (the expression evaluated in the Region scope), ascending;
    // with both, the region sort and the detail sort apply at their levels
    let i = bind_sorted(&rdl, &[("HRegion", true), ("HAmount", false)]);
    assert_eq!(
        pages(&i),
        [
            "1/1 1/1  | Sales ; Region Amount C 3 Total C 3 B 7 Total B 7 A 25 A 10 Total A 35 ; The end"
        ]
    );
    // an unknown sort id changes nothing
    let i = bind_sorted(&rdl, &[("Nope", true)]);
    assert_eq!(pages(&i), [format!("1/1 1/1  | Sales ; {base} ; The end")]);
}

// ---------------------------------------------------------------------------------------
// Recursive hierarchies

#[test]
fn recursive_hierarchy_with_level_and_recursive_sums() {
    // E1 manages E2 and E3, E2 manages E4; E5's manager is not in the data (a root)
    let rows: &[&[&str]] = &[
        &["E3", "Cleo", "E1", "20"],
        &["E1", "Ann", "", "100"],
        &["E4", "Dan", "E2", "5"],
        &["E2", "Bob", "E1", "10"],
        &["E2", "Bob", "E1", "1"],
        &["E5", "Eve", "E9", "7"],
    ];
    let c = |n: &str, v: &str| {
        format!(
            "<TablixCell><CellContents>{}</CellContents></TablixCell>",
            textbox(n, v)
        )
    };
    let cells = c("Name", "=StrDup(Level(), \"-\") &amp; Fields!Name.Value")
        + &c("Own", "=Sum(CDec(Fields!Amount.Value))")
        + &c(
            "Team",
            "=Sum(CDec(Fields!Amount.Value), \"Emp\", Recursive)",
        )
        + &c("Lvl", "=Level(\"Emp\")");
    let tablix = format!(
        r#"<Tablix Name="T"><TablixBody><TablixColumns>{cols}</TablixColumns>
  <TablixRows><TablixRow><Height>0.25in</Height><TablixCells>{cells}</TablixCells></TablixRow></TablixRows></TablixBody>
  <TablixColumnHierarchy><TablixMembers><TablixMember /><TablixMember /><TablixMember /><TablixMember /></TablixMembers></TablixColumnHierarchy>
  <TablixRowHierarchy><TablixMembers><TablixMember>
    <Group Name="Emp"><GroupExpressions><GroupExpression>=Fields!Id.Value</GroupExpression></GroupExpressions><Parent>=Fields!Manager.Value</Parent></Group>
    <SortExpressions><SortExpression><Value>=Fields!Name.Value</Value></SortExpression></SortExpressions>
  </TablixMember></TablixMembers></TablixRowHierarchy>
  <DataSetName>Staff</DataSetName><Top>0in</Top><Left>0in</Left><Height>0.25in</Height><Width>4in</Width></Tablix>"#,
        cols = "<TablixColumn><Width>1in</Width></TablixColumn>".repeat(4),
    );
    let rdl = report(
        ("Staff", &["Id", "Name", "Manager", "Amount"], rows),
        &[],
        "",
        &tablix,
        None,
    );
    let i = bind_one(&rdl);
    assert!(i.warnings().is_empty(), "{:?}", i.warnings());
    // pre-order, siblings by name; Team = own + all descendants
    assert_eq!(
        pages(&i),
        [" | Ann 100 136 0 -Bob 11 16 1 --Dan 5 5 2 -Cleo 20 20 1 Eve 7 7 0"]
    );
    let x = {
        let mut v = Vec::new();
        xml::render(&i, &xml::XmlOptions::default(), &mut v).unwrap();
        String::from_utf8(v).unwrap()
    };
    assert!(
        x.contains("Name=\"--Dan\" Own=\"5\" Team=\"5\" Lvl=\"2\""),
        "{x}"
    );
}

#[test]
fn group_variables_are_evaluated_per_instance_in_the_group_scope() {
    let rdl = sales_report(
        "<Variables><Variable Name=\"Total\"><Value>=Sum(CDec(Fields!Amount.Value))</Value></Variable></Variables>",
    )
    .replace(
        "=Fields!Amount.Value</Value>",
        "=Fields!Amount.Value &amp; \" of \" &amp; Variables!Total.Value</Value>",
    );
    let i = bind_one(&rdl);
    assert!(i.warnings().is_empty(), "{:?}", i.warnings());
    assert_eq!(
        pages(&i),
        [
            "1/1 1/1  | Sales ; Region Amount A 10 of 35 A 25 of 35 Total A 35 B 7 of 7 Total B 7 C 3 of 3 Total C 3 ; The end"
        ]
    );
}

#[test]
fn a_subreport_taller_than_its_item_grows_the_row_holding_it() {
    let mut cat = Catalog::default();
    let rows: &[&[&str]] = &[&["x"]];
    cat.add(
        "/Tests/Tall",
        &report(
            ("D", &["V"], rows),
            &[],
            "",
            &textbox("Low", "Low").replace("<Height>", "<Top>1in</Top><Height>"),
            None,
        ),
    );
    cat.add(
        "/Tests/Host",
        &report(
            ("D", &["V"], rows),
            &[],
            "",
            &list("L", "D", &subreport("S", "Tall", &[], None)),
            None,
        ),
    );
    let i = bind(Arc::new(cat), "/Tests/Host");
    let ItemKind::Tablix(t) = &i.sections[0].body[0].kind else {
        panic!("a tablix")
    };
    // the subreport's body ends at 1in + 0.25in; the item was 0.5in
    assert_eq!(
        page::row_height(t, 0, &AverageCharMeasurer),
        engine::instance::UM_PER_INCH * 5 / 4
    );
}

#[test]
fn page_header_aggregates_over_report_items_take_each_pages_values() {
    // SSRS page totals: an aggregate of ReportItems!X in a page header runs over the values
    // of X on that page (not the data set, not the first page's values again)
    let header = "=First(ReportItems!Amount.Value) &amp; \"..\" &amp; Last(ReportItems!Amount.Value) &amp; \" sum \" &amp; Sum(CDec(ReportItems!Amount.Value)) &amp; \" n \" &amp; Count(ReportItems!Amount.Value)";
    let rdl = sales_report("<PageBreak><BreakLocation>Between</BreakLocation></PageBreak>")
        .replace(PAGE_HEADER, header);
    let i = bind_one(&rdl);
    assert!(i.warnings().is_empty(), "{:?}", i.warnings());
    let heads: Vec<String> = pages(&i)
        .iter()
        .map(|p| p.split(" | ").next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        heads,
        ["10..25 sum 35 n 2", "7..7 sum 7 n 1", "3..3 sum 3 n 1"]
    );

    // two report items in one aggregate: refused (SSRS's rule), the value is #Error
    let rdl = sales_report("").replace(
        PAGE_HEADER,
        "=Sum(CDec(ReportItems!Amount.Value) + CDec(ReportItems!FSum.Value))",
    );
    let p = pages(&bind_one(&rdl));
    assert!(p[0].starts_with("#Error |"), "{p:?}");
}
