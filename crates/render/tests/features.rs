//! Small hand-written reports, one per feature: a table with a group, subtotals, RunningValue,
//! RowNumber and a scoped percentage; a matrix with row and column groups and a total
//! column; parameters, filters, Lookup, links and escaping; drilldown toggles; limits and
//! located errors. Expected strings are worked out by hand from the data below.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use engine::page::AverageCharMeasurer;
use engine::{BindOptions, Compiled, DataTable, EngineError, Globals, Instance};
use rdl::Value;
use render::{DeviceInfo, csv, html, json, xml};
use rust_decimal::Decimal;

const NS: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

fn dec(s: &str) -> Value {
    Value::Decimal(s.parse::<Decimal>().unwrap())
}

/// Sales rows in data order: A/2023/Widget 10.50, B/2024/Widget 7, A/2024/Widget 20.00,
/// A/2023/Gadget 5.25 (total 42.75; A 35.75, B 7).
fn sales() -> DataTable {
    let row = |r: &str, y: i64, p: &str, a: &str| -> Box<[Value]> {
        vec![Value::str(r), Value::Int(y), Value::str(p), dec(a)].into_boxed_slice()
    };
    DataTable::from_rows(
        vec![
            "Region".into(),
            "Year".into(),
            "Product".into(),
            "Amount".into(),
        ],
        vec![
            row("A", 2023, "Widget", "10.50"),
            row("B", 2024, "Widget", "7"),
            row("A", 2024, "Widget", "20.00"),
            row("A", 2023, "Gadget", "5.25"),
        ],
    )
}

fn regions() -> DataTable {
    DataTable::from_rows(
        vec!["Code".into(), "Name".into()],
        vec![
            vec![Value::str("A"), Value::str("Alpha <&> \"One\"")].into_boxed_slice(),
            vec![Value::str("B"), Value::str("Beta")].into_boxed_slice(),
        ],
    )
}

fn report(body: &str, params: &str, filters: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="{NS}" xmlns:rd="http://schemas.microsoft.com/SQLServer/reporting/reportdesigner">
  <DataSources><DataSource Name="DS"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource></DataSources>
  <DataSets>
    <DataSet Name="Sales"><Query><DataSourceName>DS</DataSourceName><CommandText>x</CommandText></Query>
      <Fields>
        <Field Name="Region"><DataField>Region</DataField></Field>
        <Field Name="Year"><DataField>Year</DataField></Field>
        <Field Name="Product"><DataField>Product</DataField></Field>
        <Field Name="Amount"><DataField>Amount</DataField></Field>
        <Field Name="Double"><Value>=Fields!Amount.Value * 2</Value></Field>
      </Fields>{filters}
    </DataSet>
    <DataSet Name="Regions"><Query><DataSourceName>DS</DataSourceName><CommandText>y</CommandText></Query>
      <Fields><Field Name="Code"><DataField>Code</DataField></Field><Field Name="Name"><DataField>Name</DataField></Field></Fields>
    </DataSet>
  </DataSets>
  <ReportSections><ReportSection>
    <Body><ReportItems>{body}</ReportItems><Height>2in</Height></Body>
    <Width>6in</Width>
    <Page>
      <PageFooter><Height>0.3in</Height><PrintOnFirstPage>true</PrintOnFirstPage><PrintOnLastPage>true</PrintOnLastPage>
        <ReportItems>{footer}</ReportItems></PageFooter>
    </Page>
  </ReportSection></ReportSections>
  {params}
</Report>"#,
        footer = textbox(
            "Footer",
            "=\"Page \" &amp; Globals!PageNumber &amp; \" of \" &amp; Globals!TotalPages",
            ""
        )
    )
}

fn textbox(name: &str, value: &str, extra: &str) -> String {
    format!(
        r#"<Textbox Name="{name}"><CanGrow>true</CanGrow><Paragraphs><Paragraph><TextRuns><TextRun><Value>{value}</Value><Style>{extra}</Style></TextRun></TextRuns><Style /></Paragraph></Paragraphs><Height>0.25in</Height><Width>1in</Width></Textbox>"#
    )
}

fn cell(name: &str, value: &str, extra: &str) -> String {
    format!(
        "<TablixCell><CellContents>{}</CellContents></TablixCell>",
        textbox(name, value, extra)
    )
}

fn row(cells: &[String]) -> String {
    format!(
        "<TablixRow><Height>0.25in</Height><TablixCells>{}</TablixCells></TablixRow>",
        cells.concat()
    )
}

/// The table: header; Region group (header row with a toggle, details toggled by it, footer
/// with the subtotal and the share of the table's total); grand total row.
fn table() -> String {
    let n2 = "<Format>N2</Format>";
    let rows = [
        row(&[
            cell("H1", "Product", ""),
            cell("H2", "Amount", ""),
            cell("H3", "Running", ""),
            cell("H4", "Row", ""),
        ]),
        row(&[
            cell("RegionName", "=Fields!Region.Value", ""),
            cell(
                "RegionLabel",
                "=Lookup(Fields!Region.Value, Fields!Code.Value, Fields!Name.Value, \"Regions\")",
                "",
            ),
            cell("G3", "", ""),
            cell("G4", "", ""),
        ]),
        row(&[
            cell("Product", "=Fields!Product.Value", ""),
            cell("Amount", "=Fields!Amount.Value", n2),
            cell(
                "Running",
                "=RunningValue(Fields!Amount.Value, Sum, Nothing)",
                n2,
            ),
            cell("Row", "=RowNumber(Nothing)", ""),
        ]),
        row(&[
            cell("F1", "Subtotal", ""),
            cell("SubAmount", "=Sum(Fields!Amount.Value)", n2),
            cell(
                "Pct",
                "=Sum(Fields!Amount.Value) / Sum(Fields!Amount.Value, \"T\")",
                "<Format>0.0%</Format>",
            ),
            cell("Doubled", "=Sum(Fields!Double.Value)", n2),
        ]),
        row(&[
            cell("T1", "Total", ""),
            cell("TotalAmount", "=Sum(Fields!Amount.Value)", n2),
            cell("Count", "=CountRows()", ""),
            cell("T4", "", ""),
        ]),
    ];
    format!(
        r#"<Tablix Name="T"><TablixBody>
  <TablixColumns>{cols}</TablixColumns>
  <TablixRows>{rows}</TablixRows></TablixBody>
  <TablixColumnHierarchy><TablixMembers><TablixMember /><TablixMember /><TablixMember /><TablixMember /></TablixMembers></TablixColumnHierarchy>
  <TablixRowHierarchy><TablixMembers>
    <TablixMember><KeepWithGroup>After</KeepWithGroup><RepeatOnNewPage>true</RepeatOnNewPage></TablixMember>
    <TablixMember>
      <Group Name="Region"><GroupExpressions><GroupExpression>=Fields!Region.Value</GroupExpression></GroupExpressions></Group>
      <SortExpressions><SortExpression><Value>=Fields!Region.Value</Value></SortExpression></SortExpressions>
      <TablixMembers>
        <TablixMember><KeepWithGroup>After</KeepWithGroup></TablixMember>
        <TablixMember><Group Name="Details" /><Visibility><Hidden>true</Hidden><ToggleItem>RegionName</ToggleItem></Visibility></TablixMember>
        <TablixMember><KeepWithGroup>Before</KeepWithGroup></TablixMember>
      </TablixMembers>
    </TablixMember>
    <TablixMember><KeepWithGroup>Before</KeepWithGroup></TablixMember>
  </TablixMembers></TablixRowHierarchy>
  <DataSetName>Sales</DataSetName><Top>0in</Top><Left>0in</Left><Height>1.25in</Height><Width>4in</Width>
</Tablix>"#,
        cols = "<TablixColumn><Width>1in</Width></TablixColumn>".repeat(4),
        rows = rows.concat()
    )
}

/// The matrix: Region rows × Year columns, plus a static Total column.
fn matrix() -> String {
    let n2 = "<Format>N2</Format>";
    format!(
        r#"<Tablix Name="M"><TablixCorner><TablixCornerRows><TablixCornerRow><TablixCornerCell><CellContents>{corner}</CellContents></TablixCornerCell></TablixCornerRow></TablixCornerRows></TablixCorner>
<TablixBody><TablixColumns><TablixColumn><Width>1in</Width></TablixColumn><TablixColumn><Width>1in</Width></TablixColumn></TablixColumns>
  <TablixRows>{row}</TablixRows></TablixBody>
<TablixColumnHierarchy><TablixMembers>
  <TablixMember><Group Name="Year"><GroupExpressions><GroupExpression>=Fields!Year.Value</GroupExpression></GroupExpressions></Group>
    <SortExpressions><SortExpression><Value>=Fields!Year.Value</Value></SortExpression></SortExpressions>
    <TablixHeader><Size>0.25in</Size><CellContents>{year}</CellContents></TablixHeader></TablixMember>
  <TablixMember><TablixHeader><Size>0.25in</Size><CellContents>{total}</CellContents></TablixHeader></TablixMember>
</TablixMembers></TablixColumnHierarchy>
<TablixRowHierarchy><TablixMembers>
  <TablixMember><Group Name="Region"><GroupExpressions><GroupExpression>=Fields!Region.Value</GroupExpression></GroupExpressions></Group>
    <SortExpressions><SortExpression><Value>=Fields!Region.Value</Value><Direction>Descending</Direction></SortExpression></SortExpressions>
    <TablixHeader><Size>1in</Size><CellContents>{region}</CellContents></TablixHeader></TablixMember>
</TablixMembers></TablixRowHierarchy>
<DataSetName>Sales</DataSetName><Top>0in</Top><Left>0in</Left><Height>0.5in</Height><Width>3in</Width></Tablix>"#,
        corner = textbox("Corner", "Region", ""),
        year = textbox("YearName", "=Fields!Year.Value", ""),
        total = textbox("TotalHdr", "Total", ""),
        region = textbox("RegionName", "=Fields!Region.Value", ""),
        row = row(&[
            cell("Amt", "=Sum(Fields!Amount.Value)", n2),
            cell("RowTotal", "=Sum(Fields!Amount.Value)", n2)
        ]),
    )
}

fn compile(rdl: &str) -> Arc<Compiled> {
    Arc::new(engine::parse_and_prepare("/Tests/Sales", rdl.as_bytes()).unwrap())
}

fn data() -> HashMap<String, Arc<DataTable>> {
    let mut d = HashMap::new();
    d.insert("Sales".to_owned(), Arc::new(sales()));
    d.insert("Regions".to_owned(), Arc::new(regions()));
    d
}

fn bind_with(
    c: &Arc<Compiled>,
    input: &[(&str, &str)],
    opts: &BindOptions,
) -> Result<Instance, EngineError> {
    let input: HashMap<String, Vec<Option<String>>> = input
        .iter()
        .map(|(k, v)| (k.to_string(), vec![Some(v.to_string())]))
        .collect();
    let d = data();
    let p = c.resolve_parameters(&input, &d)?;
    engine::bind(c, &p, &d, &Globals::default(), opts)
}

fn bind(c: &Arc<Compiled>) -> Instance {
    bind_with(c, &[], &BindOptions::default()).unwrap()
}

fn to_csv(i: &Instance, settings: &[(&str, &str)]) -> String {
    let m: HashMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let o = csv::CsvOptions::from_device_info(&DeviceInfo::new(&m)).unwrap();
    let mut v = Vec::new();
    csv::render(i, &o, &mut v).unwrap();
    String::from_utf8(v)
        .unwrap()
        .trim_start_matches('\u{feff}')
        .to_owned()
}

fn to_xml(i: &Instance) -> Result<String, render::RenderError> {
    let mut v = Vec::new();
    xml::render(i, &xml::XmlOptions::default(), &mut v)?;
    Ok(String::from_utf8(v).unwrap())
}

fn to_html(i: &Instance, o: &html::HtmlOptions) -> String {
    let mut v = Vec::new();
    html::render(i, o, &AverageCharMeasurer, &mut v).unwrap();
    String::from_utf8(v).unwrap()
}

#[test]
fn table_with_group_subtotals_running_value_and_scoped_percentages() {
    let c = compile(&report(&table(), "", ""));
    let i = bind(&c);
    assert!(i.warnings().is_empty(), "{:?}", i.warnings());
    // rows in display order (group sorted by Region, details in data order); RunningValue and
    // RowNumber over Nothing count in display order; Pct = group / table total
    assert_eq!(
        to_csv(&i, &[]),
        "RegionName,RegionLabel,Product,Amount,Running,Row,SubAmount,Pct,Doubled,TotalAmount,Count\r\n\
         A,\"Alpha <&> \"\"One\"\"\",Widget,10.50,10.50,1,35.75,83.6%,71.50,42.75,4\r\n\
         A,\"Alpha <&> \"\"One\"\"\",Widget,20.00,30.50,2,35.75,83.6%,71.50,42.75,4\r\n\
         A,\"Alpha <&> \"\"One\"\"\",Gadget,5.25,35.75,3,35.75,83.6%,71.50,42.75,4\r\n\
         B,Beta,Widget,7.00,42.75,4,7.00,16.4%,14.00,42.75,4\r\n"
    );
    // compliant mode: invariant, unformatted (decimals as stored)
    let raw = to_csv(&i, &[("ExcelMode", "false"), ("FieldDelimiter", ";")]);
    assert!(raw.contains("\r\nB;Beta;Widget;7;42.75;4;7;"), "{raw}");
    let x = to_xml(&i).unwrap();
    assert!(x.contains("<T TotalAmount=\"42.75\" Count=\"4\"><Region_Collection><Region RegionName=\"A\" RegionLabel=\"Alpha &lt;&amp;&gt; &quot;One&quot;\" SubAmount=\"35.75\""), "{x}");
    assert!(x.contains("<Details_Collection><Details Product=\"Widget\" Amount=\"10.50\" Running=\"10.50\" Row=\"1\" />"));
    assert!(x.contains("<Details Product=\"Gadget\" Amount=\"5.25\" Running=\"35.75\" Row=\"3\" /></Details_Collection>"));
    let mut j = Vec::new();
    json::render(&i, &json::JsonOptions::default(), &mut j).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
    assert_eq!(
        v["T"]["Region_Collection"][1]["Details_Collection"][0]["Running"].to_string(),
        "42.75"
    );
    assert_eq!(v["T"]["Count"], 4);
    // HTML: details toggle-hidden (not drawn), the toggle is a link back to the server
    let o = html::HtmlOptions {
        self_url: Some("/ReportServer?/Tests/Sales".into()),
        ..Default::default()
    };
    let h = to_html(&i, &o);
    assert!(!h.contains(">Gadget<"), "details are collapsed");
    assert!(h.contains(">35.75<") && h.contains(">Alpha &lt;&amp;&gt; &quot;One&quot;<"));
    let id = "RegionName@/Region=\"A\"\u{1}";
    let enc: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    assert!(
        h.contains(&format!(
            "href=\"/ReportServer?/Tests/Sales&amp;rs:ShowHideToggle={enc}\""
        )),
        "{h}"
    );
    assert!(h.contains(">Page 1 of 1<"));
    // expanding region A shows its details
    let opts = BindOptions {
        toggles: HashSet::from([id.to_owned()]),
        ..Default::default()
    };
    let h = to_html(&bind_with(&c, &[], &opts).unwrap(), &o);
    assert!(h.contains(">Gadget<") && h.contains("&#8722;</a>"));
}

#[test]
fn matrix_with_row_and_column_groups_and_a_total_column() {
    let c = compile(&report(&matrix(), "", ""));
    let i = bind(&c);
    assert!(i.warnings().is_empty(), "{:?}", i.warnings());
    // Region sorted descending; B has no 2023 rows: an empty cell
    assert_eq!(
        to_csv(&i, &[]),
        "RegionName,YearName,Amt,RowTotal\r\n\
         B,2023,,7.00\r\n\
         B,2024,7.00,7.00\r\n\
         A,2023,15.75,35.75\r\n\
         A,2024,20.00,35.75\r\n"
    );
    let x = to_xml(&i).unwrap();
    assert!(x.contains(
        "<M><Region_Collection><Region RegionName=\"B\" RowTotal=\"7\"><Year_Collection><Year YearName=\"2023\" /><Year YearName=\"2024\" Amt=\"7\" /></Year_Collection></Region>\
         <Region RegionName=\"A\" RowTotal=\"35.75\"><Year_Collection><Year YearName=\"2023\" Amt=\"15.75\" /><Year YearName=\"2024\" Amt=\"20.00\" /></Year_Collection></Region></Region_Collection></M>"
    ), "{x}");
    let h = to_html(&i, &html::HtmlOptions::default());
    let text: String = {
        // the visible cell texts in document order
        let mut out = Vec::new();
        for part in h.split("<span class=\"").skip(1) {
            let t = &part[part.find('>').unwrap() + 1..part.find("</span>").unwrap()];
            out.push(t.to_owned());
        }
        out.join("|")
    };
    assert!(
        text.starts_with("Region|2023|2024|Total|B||7.00|7.00|A|15.75|20.00|35.75|"),
        "{text}"
    );
}

#[test]
fn parameters_filters_links_and_escaping() {
    let params = r#"<ReportParameters><ReportParameter Name="Min"><DataType>Integer</DataType><DefaultValue><Values><Value>0</Value></Values></DefaultValue><Prompt>Min</Prompt></ReportParameter>
      <ReportParameter Name="Who"><DataType>String</DataType><Prompt>Who</Prompt><ValidValues><ParameterValues><ParameterValue><Value>x</Value><Label>Ex</Label></ParameterValue><ParameterValue><Value>&lt;script&gt;</Value></ParameterValue></ParameterValues></ValidValues></ReportParameter></ReportParameters>"#;
    let filters = r#"<Filters><Filter><FilterExpression>=Fields!Amount.Value</FilterExpression><Operator>GreaterThanOrEqual</Operator><FilterValues><FilterValue>=Parameters!Min.Value</FilterValue></FilterValues></Filter></Filters>"#;
    let body = [
        textbox("Greeting", "=\"Hi \" &amp; Parameters!Who.Value &amp; \" (\" &amp; Parameters!Who.Label &amp; \")\"", ""),
        textbox("Total", "=Sum(Fields!Amount.Value, \"Sales\")", ""),
        r#"<Textbox Name="Bad"><Paragraphs><Paragraph><TextRuns><TextRun><Value>bad</Value><Style /></TextRun></TextRuns></Paragraph></Paragraphs><ActionInfo><Actions><Action><Hyperlink>javascript:alert(1)</Hyperlink></Action></Actions></ActionInfo><Top>1in</Top><Height>0.25in</Height><Width>1in</Width></Textbox>"#.to_owned(),
        r#"<Textbox Name="Good"><Paragraphs><Paragraph><TextRuns><TextRun><Value>good</Value><Style><Color>red;}body{x:y</Color></Style></TextRun></TextRuns></Paragraph></Paragraphs><ActionInfo><Actions><Action><Drillthrough><ReportName>Detail Report</ReportName><Parameters><Parameter Name="Min"><Value>=Parameters!Min.Value</Value></Parameter></Parameters></Drillthrough></Action></Actions></ActionInfo><Top>1.5in</Top><Height>0.25in</Height><Width>1in</Width></Textbox>"#.to_owned(),
    ]
    .concat();
    let c = compile(&report(&body, params, filters));
    // missing Who: no default
    let e = bind_with(&c, &[], &BindOptions::default()).unwrap_err();
    assert_eq!(e.code(), "rsReportParameterValueNotSet");
    assert!(e.to_string().contains("'Who'"));
    let e = bind_with(&c, &[("Who", "x"), ("Min", "abc")], &BindOptions::default()).unwrap_err();
    assert_eq!(e.code(), "rsParameterTypeMismatch");
    assert!(
        e.to_string().contains("'Min'") && e.to_string().contains("Integer"),
        "{e}"
    );
    let e = bind_with(&c, &[("Who", "y")], &BindOptions::default()).unwrap_err();
    assert_eq!(e.code(), "rsInvalidReportParameter");
    let e = bind_with(&c, &[("Who", "x"), ("Nope", "1")], &BindOptions::default()).unwrap_err();
    assert_eq!(e.code(), "rsUnknownReportParameter");

    // Min=8 keeps 10.50 and 20.00
    let i = bind_with(
        &c,
        &[("Who", "<script>"), ("Min", "8")],
        &BindOptions::default(),
    )
    .unwrap();
    let h = to_html(
        &i,
        &html::HtmlOptions {
            drillthrough_prefix: "/ReportServer?".into(),
            ..Default::default()
        },
    );
    assert!(
        h.contains(">Hi &lt;script&gt; (&lt;script&gt;)<"),
        "parameter values are escaped"
    );
    assert!(!h.contains("<script"));
    assert!(h.contains(">30.50<"));
    assert!(!h.contains("javascript:"), "javascript: links are refused");
    assert!(
        h.contains("<a href=\"/ReportServer?/Tests/Detail%20Report&amp;Min=8\">")
            || h.contains("<a href=\"/ReportServer?/Tests/Detail+Report&amp;Min=8\">"),
        "{h}"
    );
    assert!(
        !h.contains("body{x:y"),
        "invalid colours never reach the CSS"
    );
    assert!(
        i.warnings().iter().any(|w| w.contains("red;}body{x:y")),
        "{:?}",
        i.warnings()
    );
    // the nonce goes on the one style element; fragments have no html/body
    let f = to_html(
        &i,
        &html::HtmlOptions {
            fragment: true,
            prefix: "v1_".into(),
            nonce: Some("abc\"x".into()),
            ..Default::default()
        },
    );
    assert!(
        f.starts_with("<style nonce=\"abc&quot;x\">")
            && !f.contains("<body")
            && f.contains("id=\"v1_report\"")
    );
    let c2 = to_csv(&i, &[]);
    assert_eq!(c2, "Greeting,Total\r\nHi <script> (<script>),30.50\r\n");
}

#[test]
fn xml_duplicate_names_are_an_error_naming_both_items() {
    let body = [
        textbox("A", "=Fields!Product.Value", ""),
        textbox("B", "=Fields!Region.Value", "")
            .replace("<CanGrow>", "<DataElementName>A</DataElementName><CanGrow>"),
    ]
    .concat();
    let c = compile(&report(&body, "", ""));
    let e = to_xml(&bind(&c)).unwrap_err().to_string();
    assert!(
        e.contains("A and B") && e.contains("DataElementName"),
        "{e}"
    );
}

#[test]
fn limits_cancellation_and_located_errors() {
    let c = compile(&report(&table(), "", ""));
    let e = bind_with(
        &c,
        &[],
        &BindOptions {
            max_rows: 3,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("limit of 3 rows"), "{e}");
    let e = bind_with(
        &c,
        &[],
        &BindOptions {
            max_cells: 5,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("limit of 5 cells"), "{e}");
    let cancel = Arc::new(AtomicBool::new(true));
    let e = bind_with(
        &c,
        &[],
        &BindOptions {
            cancel: Some(cancel),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e, EngineError::Cancelled);

    let bad = report(&textbox("X", "=Fields!Amount.Value +", ""), "", "");
    let e = engine::parse_and_prepare("/x", bad.as_bytes()).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, EngineError::Expression { at, .. } if at.line > 1),
        "{msg}"
    );
    assert!(msg.contains("=Fields!Amount.Value +"), "{msg}");
    // a division by zero is that one value's #Error with a warning, never a failed render
    let c = compile(&report(
        &textbox("Z", "=1 / 0 + Sum(Fields!Amount.Value, \"Sales\") \\ 0", ""),
        "",
        "",
    ));
    let i = bind(&c);
    assert!(to_csv(&i, &[]).contains("#Error"));
    assert!(
        i.warnings().iter().any(|w| w.starts_with("Z:")),
        "{:?}",
        i.warnings()
    );
}
