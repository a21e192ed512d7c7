//! The parser against the shared samples (2016) and hand-written 2005/2008 reports:
//! concrete model facts, upgrades of old shapes, located errors.

use rdl::model::*;
use rdl::{ParseError, parse_report};

fn sample(name: &str) -> Option<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/samples/rdl")
        .join(name);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{} missing under CI: {e}",
                path.display()
            );
            println!("skipped: {} not readable: {e}", path.display());
            None
        }
    }
}

fn sz(s: &str) -> Size {
    Size::parse(s).unwrap()
}

fn find<'a>(items: &'a [ReportItem], name: &str) -> Option<&'a ReportItem> {
    for i in items {
        if i.name == name {
            return Some(i);
        }
        let inner: Vec<&ReportItem> = match &i.kind {
            ItemKind::Rectangle(r) => r.items.iter().collect(),
            ItemKind::Tablix(t) => t
                .rows
                .iter()
                .flat_map(|r| r.cells.iter().flatten())
                .map(|c| &*c.item)
                .collect(),
            _ => Vec::new(),
        };
        for x in inner {
            if let Some(f) = find(std::slice::from_ref(x), name) {
                return Some(f);
            }
        }
    }
    None
}

fn tablix(item: &ReportItem) -> &Tablix {
    match &item.kind {
        ItemKind::Tablix(t) => t,
        other => panic!("{} is not a tablix: {other:?}", item.name),
    }
}

fn text(item: &ReportItem) -> &Textbox {
    match &item.kind {
        ItemKind::Textbox(t) => t,
        other => panic!("{} is not a textbox: {other:?}", item.name),
    }
}

#[test]
fn labels_sample() {
    let Some(bytes) = sample("Labels.rdl") else {
        return;
    };
    let (r, warnings) = parse_report("Labels", &bytes).unwrap();
    assert_eq!(r.name, "Labels");
    assert_eq!(r.schema, Some(Schema::V2016));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(r.data_sources.len(), 1);
    let DataSourceKind::Embedded(cp) = &r.data_sources[0].kind else {
        panic!()
    };
    assert_eq!(cp.data_provider, "ENTERDATA");
    assert!(cp.integrated_security);
    let ds = r.data_set("DataSet").unwrap();
    let names: Vec<&str> = ds.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Title",
            "FirstName",
            "MiddleName",
            "LastName",
            "AddressLine1",
            "AddressLine2",
            "City",
            "StateProvinceCode",
            "PostalCode",
            "Country",
            "FullName"
        ]
    );
    assert_eq!(ds.fields[0].type_name.as_deref(), Some("System.String"));
    assert_eq!(ds.fields[0].source, FieldSource::DataField("Title".into()));
    let ct = ds
        .query
        .command_text
        .as_ref()
        .unwrap()
        .as_constant()
        .unwrap();
    assert!(
        ct.starts_with("<Query>")
            && ct.contains("<XmlData>")
            && ct.contains("<FirstName>Zuzana</FirstName>"),
        "{}",
        &ct[..200]
    );
    let p = r.parameter("Names").unwrap();
    assert_eq!(p.data_type, ParameterType::String);
    assert!(p.multi_value && !p.nullable && !p.hidden && !p.is_internal());
    assert_eq!(p.prompt.as_deref(), Some("Label names:"));
    assert_eq!(
        p.valid_values,
        Some(ValidValues::DataSet(DataSetReference {
            data_set_name: "DataSet".into(),
            value_field: "FullName".into(),
            label_field: Some("FullName".into()),
        }))
    );
    let s = &r.sections[0];
    assert_eq!(s.width, sz("2.5935in"));
    assert_eq!(s.body.height, sz("1in"));
    assert_eq!(s.page.columns, 3);
    assert_eq!(s.page.column_spacing, Some(sz("0.14in")));
    assert_eq!(s.page.left_margin, sz("0.21975in"));
    assert_eq!(s.page.page_height, None);
    let t4 = tablix(&s.body.items[0]);
    assert_eq!(s.body.items[0].name, "Tablix4");
    assert_eq!(t4.data_set_name.as_deref(), Some("DataSet"));
    assert_eq!(t4.columns, [sz("2.5935in")]);
    assert_eq!(t4.column_hierarchy.len(), 1);
    let details = t4.row_hierarchy[0].group.as_ref().unwrap();
    assert_eq!(details.name, "Details");
    assert!(details.is_details());
    let cell = t4.rows[0].cells[0].as_ref().unwrap();
    let tb = text(&cell.item);
    assert_eq!(cell.item.name, "LabelCell");
    assert!(tb.can_grow);
    assert_eq!(tb.paragraphs.len(), 4);
    // Runs: field, " ", field, " ", field; the space runs are verbatim.
    let runs = &tb.paragraphs[0].runs;
    assert_eq!(runs.len(), 5);
    assert_eq!(runs[1].value, Expression::Constant(" ".into()));
    assert!(
        matches!(&runs[0].value, Expression::Expr { src, .. } if src == "Fields!FirstName.Value")
    );
    assert_eq!(
        tb.paragraphs[2].runs[3].value,
        Expression::Constant("  ".into())
    );
    assert_eq!(
        tb.paragraphs[1].style.text_align,
        Some(Expression::Constant("Left".into()))
    );
    assert_eq!(
        cell.item.style.padding_left,
        Some(Expression::Constant("2pt".into()))
    );
    assert_eq!(
        cell.item.style.border.color,
        Some(Expression::Constant("LightGrey".into()))
    );
    assert_eq!(
        s.body.items[0].style.top_border.width,
        Some(Expression::Constant("0.25pt".into()))
    );
    // Expression ids are dense and unique.
    assert_eq!(r.expression_count, 9);
    assert_eq!(r.expressions.len(), 9);
    let site = &r.expressions[0];
    assert_eq!(site.src, "Fields!FirstName.Value");
    assert_eq!(
        (site.owner.as_str(), site.property.as_str()),
        ("Textbox[@Name=LabelCell]", "Value")
    );
    let Expression::Expr { id, at, .. } = &runs[2].value else {
        panic!()
    };
    assert_eq!(r.expressions[id.0 as usize].src, "Fields!MiddleName.Value");
    assert_eq!(r.expressions[id.0 as usize].at, *at);
}

#[test]
fn invoice_sample() {
    let Some(bytes) = sample("Invoice.rdl") else {
        return;
    };
    let (r, warnings) = parse_report("Invoice", &bytes).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(r.default_font_family.as_deref(), Some("Segoe UI"));
    let names: Vec<&str> = r.data_sets.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "SalesInvoiceDS",
            "Company",
            "Users",
            "SalesInvoiceHeaderFooterDS",
            "CompanyList"
        ]
    );
    let inv = r.data_set("SalesInvoiceDS").unwrap();
    assert_eq!(inv.fields[1].name, "InvoiceId");
    let company = r.data_set("Company").unwrap();
    assert_eq!(company.filters.len(), 1);
    let f = &company.filters[0];
    assert_eq!(f.operator, FilterOperator::Equal);
    assert!(matches!(&f.expression, Expression::Expr { src, .. } if src == "Fields!Name.Value"));
    assert!(
        matches!(&f.values[..], [Expression::Expr { src, .. }] if src == "Parameters!Company.Value")
    );
    let p = r.parameter("Company").unwrap();
    assert!(
        matches!(&p.default_value, Some(DefaultValue::Values(v)) if matches!(&v[..], [Some(Expression::Expr { src, .. })] if src == "\"Microsoft\""))
    );
    assert_eq!(p.prompt.as_deref(), Some("Select company:"));
    let img = r.embedded_image("Contoso_LogoSmall").unwrap();
    assert_eq!(img.mime_type, "image/png");
    assert_eq!(&img.data[..8], b"\x89PNG\r\n\x1a\n");
    let s = &r.sections[0];
    assert_eq!(s.width, sz("8.5in"));
    assert_eq!(s.page.interactive_height, Some(sz("26.7cm")));
    assert_eq!(s.page.interactive_width, Some(sz("21cm")));
    let header = s.page.header.as_ref().unwrap();
    assert_eq!(header.height, sz("1.34082in"));
    let footer = s.page.footer.as_ref().unwrap();
    assert_eq!(footer.height, sz("0.66481in"));
    // Tablix1: one column, rows: static header (KeepWithGroup After), the invoice group
    // with two children, two static footers (KeepWithGroup Before).
    let t1 = tablix(find(&s.body.items, "Tablix1").unwrap());
    assert_eq!(t1.data_set_name.as_deref(), Some("SalesInvoiceDS"));
    assert_eq!(t1.columns.len(), 1);
    let rh = &t1.row_hierarchy;
    assert_eq!(rh.len(), 4);
    assert_eq!(rh[0].keep_with_group, KeepWithGroup::After);
    let g = rh[1].group.as_ref().unwrap();
    assert_eq!(g.name, "Invoice_Group");
    assert!(
        matches!(&g.group_expressions[..], [Expression::Expr { src, .. }] if src == "Fields!InvoiceId.Value")
    );
    assert_eq!(rh[1].members.len(), 2);
    assert!(
        rh[1].members[1]
            .visibility
            .as_ref()
            .unwrap()
            .hidden
            .as_ref()
            .unwrap()
            .is_expr()
    );
    assert_eq!(rh[2].keep_with_group, KeepWithGroup::Before);
    assert_eq!(rh[3].keep_with_group, KeepWithGroup::Before);
    assert_eq!(t1.rows.len(), 5);
    // Tablix2 (nested): seven columns, header row repeated on new pages, details.
    let t2 = tablix(find(&s.body.items, "Tablix2").unwrap());
    assert_eq!(t2.columns.len(), 7);
    assert_eq!(t2.column_hierarchy.len(), 7);
    assert!(t2.row_hierarchy[0].repeat_on_new_page);
    assert_eq!(t2.row_hierarchy[1].group.as_ref().unwrap().name, "Details");
    assert_eq!(t2.rows.len(), 2);
    assert!(find(&s.body.items, "SalesPrice").is_some());
}

#[test]
fn transcript_sample() {
    let Some(bytes) = sample("Transcript.rdl") else {
        return;
    };
    let (r, warnings) = parse_report("Transcript", &bytes).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let names: Vec<&str> = r.data_sets.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Users", "Certification"]);
    assert!(r.embedded_image("Line").is_some());
    assert!(r.embedded_image("Contoso_LogoSmall").is_some());
    let s = &r.sections[0];
    let groups: Vec<String> = ["Tablix1", "Tablix2", "Tablix6"]
        .iter()
        .flat_map(|n| {
            let t = tablix(find(&s.body.items, n).unwrap_or_else(|| panic!("{n}")));
            fn walk(ms: &[TablixMember], out: &mut Vec<String>) {
                for m in ms {
                    if let Some(g) = &m.group {
                        out.push(g.name.clone());
                    }
                    walk(&m.members, out);
                }
            }
            let mut out = Vec::new();
            walk(&t.row_hierarchy, &mut out);
            out
        })
        .collect();
    let mut sorted = groups.clone();
    sorted.sort();
    assert_eq!(sorted, ["Details", "Details1", "Name"], "{groups:?}");
}

const NS2005: &str = "http://schemas.microsoft.com/sqlserver/reporting/2005/01/reportdefinition";
const NS2008: &str = "http://schemas.microsoft.com/sqlserver/reporting/2008/01/reportdefinition";
const NS2016: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

fn tb(name: &str, value: &str) -> String {
    format!("<Textbox Name=\"{name}\"><Value>{value}</Value></Textbox>")
}

fn cell(item: &str) -> String {
    format!("<TableCell><ReportItems>{item}</ReportItems></TableCell>")
}

fn row(cells: &str) -> String {
    format!("<TableRow><TableCells>{cells}</TableCells><Height>0.25in</Height></TableRow>")
}

#[test]
fn report_2005_table_list_matrix_upgrade() {
    let table = format!(
        r#"<Table Name="T"><DataSetName>DS</DataSetName><Top>1cm</Top><Left>2mm</Left><Width>2in</Width>
        <TableColumns><TableColumn><Width>1in</Width></TableColumn><TableColumn><Width>1in</Width></TableColumn></TableColumns>
        <Header><TableRows>{h}</TableRows><RepeatOnNewPage>true</RepeatOnNewPage></Header>
        <TableGroups><TableGroup><Grouping Name="ByCat"><GroupExpressions><GroupExpression>=Fields!Cat.Value</GroupExpression></GroupExpressions><PageBreakAtEnd>true</PageBreakAtEnd></Grouping>
          <Sorting><SortBy><SortExpression>=Fields!Cat.Value</SortExpression><Direction>Descending</Direction></SortBy></Sorting>
          <Header><TableRows>{gh}</TableRows></Header><Footer><TableRows>{gf}</TableRows></Footer></TableGroup></TableGroups>
        <Details><TableRows>{d}</TableRows></Details>
        <Footer><TableRows>{f}</TableRows></Footer></Table>"#,
        h = row(&(cell(&tb("H1", "Name")) + &cell(&tb("H2", "Amount")))),
        gh = row(&format!(
            "<TableCell><ReportItems>{}</ReportItems><ColSpan>2</ColSpan></TableCell>",
            tb("GH", "=Fields!Cat.Value")
        )),
        gf = row(&(cell(&tb("GF1", "Total")) + &cell(&tb("GF2", "=Sum(Fields!Amount.Value)")))),
        d = row(&(cell(&tb("D1", "=Fields!Name.Value")) + &cell(&tb("D2", "=Fields!Amount.Value")))),
        f = row(&(cell(&tb("F1", "All")) + &cell(&tb("F2", "=Sum(Fields!Amount.Value)")))),
    );
    let list = format!(
        r#"<List Name="L"><DataSetName>DS</DataSetName><Top>3in</Top><Height>0.5in</Height><Width>3in</Width>
        <Grouping Name="LG"><GroupExpressions><GroupExpression>=Fields!Cat.Value</GroupExpression></GroupExpressions></Grouping>
        <ReportItems>{}</ReportItems></List>"#,
        tb("LT", "=Fields!Cat.Value")
    );
    let matrix = format!(
        r#"<Matrix Name="M"><DataSetName>DS</DataSetName><Top>4in</Top>
        <Corner><ReportItems>{corner}</ReportItems></Corner>
        <ColumnGroupings><ColumnGrouping><Height>0.25in</Height><DynamicColumns>
          <Grouping Name="Year"><GroupExpressions><GroupExpression>=Fields!Year.Value</GroupExpression></GroupExpressions></Grouping>
          <Subtotal><ReportItems>{ct}</ReportItems></Subtotal>
          <ReportItems>{ch}</ReportItems></DynamicColumns></ColumnGrouping></ColumnGroupings>
        <RowGroupings><RowGrouping><Width>1in</Width><DynamicRows>
          <Grouping Name="Cat"><GroupExpressions><GroupExpression>=Fields!Cat.Value</GroupExpression></GroupExpressions></Grouping>
          <Subtotal><ReportItems>{rt}</ReportItems><Position>Before</Position></Subtotal>
          <ReportItems>{rh}</ReportItems></DynamicRows></RowGrouping></RowGroupings>
        <MatrixColumns><MatrixColumn><Width>0.75in</Width></MatrixColumn></MatrixColumns>
        <MatrixRows><MatrixRow><Height>0.2in</Height><MatrixCells><MatrixCell><ReportItems>{v}</ReportItems></MatrixCell></MatrixCells></MatrixRow></MatrixRows>
        </Matrix>"#,
        corner = tb("C", "Category"),
        ct = tb("CT", "Total"),
        ch = tb("CH", "=Fields!Year.Value"),
        rt = tb("RT", "All"),
        rh = tb("RH", "=Fields!Cat.Value"),
        v = tb("V", "=Sum(Fields!Amount.Value)"),
    );
    let rdl = format!(
        r#"<?xml version="1.0"?>
<Report xmlns="{NS2005}" xmlns:rd="http://schemas.microsoft.com/SQLServer/reporting/reportdesigner">
  <DataSources><DataSource Name="src"><ConnectionProperties><DataProvider>SQLITE</DataProvider><ConnectString>Data Source=/x.db</ConnectString></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="DS"><Query><DataSourceName>src</DataSourceName><CommandText>select * from t where c = @c</CommandText>
    <QueryParameters><QueryParameter Name="@c"><Value>=Parameters!C.Value</Value></QueryParameter></QueryParameters><Timeout>30</Timeout></Query>
    <Fields><Field Name="Cat"><DataField>cat</DataField><rd:TypeName>System.String</rd:TypeName></Field><Field Name="Amount"><DataField>amount</DataField></Field>
    <Field Name="Double"><Value>=Fields!Amount.Value * 2</Value></Field></Fields></DataSet></DataSets>
  <ReportParameters><ReportParameter Name="C"><DataType>Integer</DataType><Nullable>true</Nullable>
    <DefaultValue><Values><Value>1</Value></Values></DefaultValue>
    <ValidValues><ParameterValues><ParameterValue><Value>1</Value><Label>One</Label></ParameterValue><ParameterValue><Value>2</Value></ParameterValue></ParameterValues></ValidValues></ReportParameter></ReportParameters>
  <Body><ReportItems>{table}{list}{matrix}</ReportItems><Height>5in</Height><Columns>2</Columns></Body>
  <Width>6.5in</Width>
  <PageHeader><Height>0.5in</Height><PrintOnFirstPage>true</PrintOnFirstPage><ReportItems>{ph}</ReportItems></PageHeader>
  <PageHeight>29.7cm</PageHeight><PageWidth>21cm</PageWidth><LeftMargin>1in</LeftMargin><InteractiveHeight>0in</InteractiveHeight>
</Report>"#,
        ph = "<Textbox Name=\"PH\"><Value>=Globals!PageNumber</Value><Style><BorderColor><Default>Black</Default><Top>Red</Top></BorderColor><BorderStyle><Default>Solid</Default></BorderStyle><FontWeight>Bold</FontWeight></Style><Action><Drillthrough><ReportName>Detail</ReportName><Parameters><Parameter Name=\"P\"><Value>=1</Value></Parameter></Parameters></Drillthrough></Action></Textbox>",
    );
    let (r, warnings) = parse_report("Old", rdl.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(r.schema, Some(Schema::V2005));
    let ds = r.data_set("DS").unwrap();
    assert_eq!(ds.query.timeout, Some(30));
    assert_eq!(ds.query.parameters[0].name, "@c");
    assert_eq!(ds.fields[0].type_name.as_deref(), Some("System.String"));
    assert!(matches!(&ds.fields[2].source, FieldSource::Value(e) if e.is_expr()));
    let p = r.parameter("C").unwrap();
    assert_eq!(p.data_type, ParameterType::Integer);
    assert!(p.nullable && p.is_internal());
    let Some(ValidValues::Values(vv)) = &p.valid_values else {
        panic!()
    };
    assert_eq!(vv.len(), 2);
    assert_eq!(vv[0].label, Some(Expression::Constant("One".into())));
    assert_eq!(vv[1].label, None);

    let s = &r.sections[0];
    assert_eq!(s.width, sz("6.5in"));
    assert_eq!(s.body.height, sz("5in"));
    assert_eq!(s.page.page_height, Some(sz("29.7cm")));
    assert_eq!(s.page.page_width, Some(sz("21cm")));
    assert_eq!(s.page.left_margin, Size(25_400));
    assert_eq!(s.page.interactive_height, Some(Size::ZERO));
    assert_eq!(s.page.columns, 2);
    let ph = s.page.header.as_ref().unwrap();
    assert!(ph.print_on_first_page && !ph.print_on_last_page);
    let phb = &ph.items[0];
    assert_eq!(
        phb.style.border.color,
        Some(Expression::Constant("Black".into()))
    );
    assert_eq!(
        phb.style.top_border.color,
        Some(Expression::Constant("Red".into()))
    );
    assert_eq!(
        phb.style.border.style,
        Some(Expression::Constant("Solid".into()))
    );
    let t = text(phb);
    assert!(
        matches!(t.single_value(), Some(Expression::Expr { src, .. }) if src == "Globals!PageNumber")
    );
    let [Action::Drillthrough(d)] = &t.actions[..] else {
        panic!("{:?}", t.actions)
    };
    assert_eq!(d.report_name, Expression::Constant("Detail".into()));
    assert_eq!(d.parameters[0].name, "P");

    // Table: header row, group (header, details, footer), table footer.
    let ti = &s.body.items[0];
    assert_eq!((ti.top, ti.left), (sz("1cm"), sz("2mm")));
    let t = tablix(ti);
    assert_eq!(t.origin, TablixOrigin::Table);
    assert_eq!(t.columns, [sz("1in"), sz("1in")]);
    assert_eq!(t.column_hierarchy.len(), 2);
    let rh = &t.row_hierarchy;
    assert_eq!(rh.len(), 3);
    assert!(rh[0].group.is_none() && rh[0].repeat_on_new_page);
    assert_eq!(rh[0].keep_with_group, KeepWithGroup::After);
    let g = rh[1].group.as_ref().unwrap();
    assert_eq!(g.name, "ByCat");
    assert_eq!(g.page_break.as_ref().unwrap().location, BreakLocation::End);
    assert_eq!(
        rh[1].sort_expressions[0].direction,
        SortDirection::Descending
    );
    assert_eq!(rh[1].members.len(), 3);
    assert_eq!(rh[1].members[0].keep_with_group, KeepWithGroup::After);
    let det = &rh[1].members[1];
    assert!(det.group.as_ref().unwrap().is_details());
    assert_eq!(det.group.as_ref().unwrap().name, "T_Details_Group");
    assert_eq!(rh[1].members[2].keep_with_group, KeepWithGroup::Before);
    assert_eq!(rh[2].keep_with_group, KeepWithGroup::Before);
    // Body rows follow the leaves: H, GH, D, GF, F.
    let first: Vec<&str> = t
        .rows
        .iter()
        .map(|r| r.cells[0].as_ref().unwrap().item.name.as_str())
        .collect();
    assert_eq!(first, ["H1", "GH", "D1", "GF1", "F1"]);
    assert_eq!(t.rows[1].cells[0].as_ref().unwrap().col_span, 2);
    assert!(t.rows[1].cells[1].is_none());

    // List: one cell holding a rectangle with the list's items, grouped by LG.
    let l = tablix(&s.body.items[1]);
    assert_eq!(l.origin, TablixOrigin::List);
    assert_eq!(l.columns, [sz("3in")]);
    assert_eq!(l.rows[0].height, sz("0.5in"));
    assert_eq!(l.row_hierarchy[0].group.as_ref().unwrap().name, "LG");
    let ItemKind::Rectangle(rect) = &l.rows[0].cells[0].as_ref().unwrap().item.kind else {
        panic!()
    };
    assert_eq!(rect.items[0].name, "LT");

    // Matrix: columns Year + Total(after); rows Total(before) + Cat; corner spans.
    let m = tablix(&s.body.items[2]);
    assert_eq!(m.origin, TablixOrigin::Matrix);
    assert_eq!(m.column_hierarchy.len(), 2);
    assert_eq!(m.column_hierarchy[0].group.as_ref().unwrap().name, "Year");
    assert!(m.column_hierarchy[1].group.is_none());
    assert_eq!(
        m.column_hierarchy[1]
            .header
            .as_ref()
            .unwrap()
            .contents
            .item
            .name,
        "CT"
    );
    assert_eq!(
        m.row_hierarchy[0]
            .header
            .as_ref()
            .unwrap()
            .contents
            .item
            .name,
        "RT"
    );
    assert_eq!(m.row_hierarchy[1].group.as_ref().unwrap().name, "Cat");
    assert_eq!(m.row_hierarchy[1].header.as_ref().unwrap().size, sz("1in"));
    assert_eq!(m.columns, [sz("0.75in"), sz("0.75in")]);
    assert_eq!(m.rows.len(), 2);
    assert!(m.rows.iter().all(
        |r| r.cells.len() == 2 && r.cells.iter().all(|c| c.as_ref().unwrap().item.name == "V")
    ));
    assert_eq!(m.corner[0][0].as_ref().unwrap().item.name, "C");
}

#[test]
fn report_2008_body_and_page_become_a_section() {
    let rdl = format!(
        r#"<Report xmlns="{NS2008}" xmlns:x="urn:vendor"><Author>me</Author><x:Thing/>
  <DataSources><DataSource Name="s"><DataSourceReference>/Shared/Sales</DataSourceReference></DataSource></DataSources>
  <Body><ReportItems>
    <Tablix Name="T"><TablixBody><TablixColumns><TablixColumn><Width>1in</Width></TablixColumn></TablixColumns>
      <TablixRows><TablixRow><Height>0.25in</Height><TablixCells><TablixCell><CellContents>
        <Textbox Name="X"><Paragraphs><Paragraph><TextRuns><TextRun><Value>a &amp; b</Value><Style><FontSize>=IIf(true, "9pt", "8pt")</FontSize></Style></TextRun></TextRuns></Paragraph></Paragraphs></Textbox>
      </CellContents></TablixCell></TablixCells></TablixRow></TablixRows></TablixBody>
      <TablixColumnHierarchy><TablixMembers><TablixMember/></TablixMembers></TablixColumnHierarchy>
      <TablixRowHierarchy><TablixMembers><TablixMember><Group Name="D"/></TablixMember></TablixMembers></TablixRowHierarchy>
      <Unknown2008Thing/>
    </Tablix>
    <Line Name="Ln"><Top>1in</Top><Height>0in</Height><Width>-2in</Width></Line>
    <Chart Name="Ch"><DataSetName>DS</DataSetName><Height>2in</Height><Width>3in</Width><ChartSeriesHierarchy/></Chart>
  </ReportItems><Height>2in</Height></Body>
  <Width>7in</Width>
  <Page><PageFooter><Height>1cm</Height><PrintOnLastPage>true</PrintOnLastPage></PageFooter><PageHeight>11in</PageHeight><TopMargin>0.5in</TopMargin></Page>
</Report>"#
    );
    let (r, warnings) = parse_report("New", rdl.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.schema, Some(Schema::V2008));
    assert_eq!(r.author.as_deref(), Some("me"));
    assert_eq!(
        r.data_sources[0].kind,
        DataSourceKind::Reference("/Shared/Sales".into())
    );
    let msgs: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs[0].contains("unknown namespace 'urn:vendor'") && msgs[0].starts_with("line 1,"),
        "{}",
        msgs[0]
    );
    assert!(
        msgs[1].contains("<Unknown2008Thing>") && msgs[1].contains("Tablix[@Name=T]"),
        "{}",
        msgs[1]
    );
    let s = &r.sections[0];
    assert_eq!(s.width, sz("7in"));
    assert_eq!(s.page.page_height, Some(sz("11in")));
    assert_eq!(s.page.top_margin, sz("0.5in"));
    assert!(s.page.footer.as_ref().unwrap().print_on_last_page);
    let t = tablix(&s.body.items[0]);
    let x = text(&t.rows[0].cells[0].as_ref().unwrap().item);
    let run = &x.paragraphs[0].runs[0];
    assert_eq!(run.value, Expression::Constant("a & b".into()));
    let Some(Expression::Expr { src, at, .. }) = &run.style.font_size else {
        panic!()
    };
    assert_eq!(src, "IIf(true, \"9pt\", \"8pt\")");
    assert_eq!(at.line, 6);
    let ln = &s.body.items[1];
    assert!(matches!(ln.kind, ItemKind::Line));
    assert_eq!(ln.width, Some(sz("-2in")));
    let ch = &s.body.items[2];
    let ItemKind::Chart(chart) = &ch.kind else {
        panic!("{:?}", ch.kind)
    };
    assert_eq!(chart.data_set_name.as_deref(), Some("DS"));
    assert_eq!((ch.height, ch.width), (Some(sz("2in")), Some(sz("3in"))));
}

fn err(rdl: &str) -> ParseError {
    parse_report("Bad", rdl.as_bytes()).expect_err(rdl)
}

#[test]
fn malformed_definitions_give_located_errors() {
    let e = err(&format!(
        "<Report xmlns=\"{NS2016}\">\n<ReportSections><ReportSection>\n  <Body><Height>2 inches</Height></Body><Width>1in</Width><Page/></ReportSection></ReportSections></Report>"
    ));
    assert_eq!((e.at.line, e.at.column), (3, 9), "{e}");
    assert_eq!(e.path, "Report/ReportSections/ReportSection/Body/Height");
    assert!(
        e.problem.contains("'2 inches', not a size") && e.fix.contains("in, cm, mm, pt or pc"),
        "{e}"
    );

    let e = err(&format!(
        "<Report xmlns=\"{NS2016}\"><DataSets><DataSet Name=\"D\"><Fields/></DataSet></DataSets></Report>"
    ));
    assert_eq!(e.path, "Report/DataSets/DataSet[@Name=D]");
    assert!(e.to_string().contains("has no <Query>"), "{e}");

    let e = err(&format!(
        "<Report xmlns=\"{NS2016}\"><ReportSections><ReportSection><Body><Height>1in</Height><ReportItems><Textbox><Paragraphs/></Textbox></ReportItems></Body><Width>1in</Width><Page/></ReportSection></ReportSections></Report>"
    ));
    assert!(
        e.to_string().contains("no Name attribute") && e.fix.contains("Name="),
        "{e}"
    );

    let e = err(&format!("<Report xmlns=\"{NS2016}\"><ReportSections><ReportSection><Body><Height>1in</Height><ReportItems>
      <Tablix Name=\"T\"><TablixBody><TablixColumns><TablixColumn><Width>1in</Width></TablixColumn></TablixColumns><TablixRows/></TablixBody>
      <TablixColumnHierarchy><TablixMembers><TablixMember/><TablixMember/></TablixMembers></TablixColumnHierarchy></Tablix>
      </ReportItems></Body><Width>1in</Width><Page/></ReportSection></ReportSections></Report>"));
    assert!(
        e.problem
            .contains("1 body columns but its column hierarchy has 2"),
        "{e}"
    );
    assert!(
        e.path.ends_with("ReportItems/Tablix[@Name=T]"),
        "{}",
        e.path
    );
    assert_eq!(e.at.line, 2);

    let e = err(&format!(
        "<Report MustUnderstand=\"zz\" xmlns=\"{NS2016}\" xmlns:zz=\"urn:zz\"/>"
    ));
    assert!(e.problem.contains("extension 'zz' (urn:zz)"), "{e}");
    let e = err(&format!(
        "<Report xmlns=\"{NS2016}\"><AutoRefresh>soon</AutoRefresh></Report>"
    ));
    assert!(e.problem.contains("not a whole number"), "{e}");
    let e = err("<Report xmlns=\"urn:not-rdl\"/>");
    assert!(
        e.problem.contains("not a report definition namespace"),
        "{e}"
    );
    let e = err("<Report><Body>");
    assert!(e.to_string().contains("not well-formed"), "{e}");
    let e = err(&format!("<Report xmlns=\"{NS2016}\"/>"));
    assert!(e.problem.contains("has no <ReportSections>"), "{e}");
    // Depth beyond the checked bound is refused before any recursion.
    let deep = format!(
        "<Report xmlns=\"{NS2016}\">{}{}</Report>",
        "<Rectangle Name=\"r\"><ReportItems>".repeat(200),
        "</ReportItems></Rectangle>".repeat(200)
    );
    assert!(err(&deep).to_string().contains("nested more than 256"));
}

#[test]
fn matrix_2005_static_rows_under_a_subtotalled_group_map_onto_matrix_rows() {
    let m = format!(
        r#"<Matrix Name="M"><Corner><ReportItems>{c}</ReportItems></Corner>
        <ColumnGroupings><ColumnGrouping><Height>0.25in</Height><DynamicColumns>
          <Grouping Name="Y"><GroupExpressions><GroupExpression>=Fields!Y.Value</GroupExpression></GroupExpressions></Grouping>
          <ReportItems>{yh}</ReportItems></DynamicColumns></ColumnGrouping></ColumnGroupings>
        <RowGroupings>
          <RowGrouping><Width>1in</Width><DynamicRows>
            <Grouping Name="Cat"><GroupExpressions><GroupExpression>=Fields!Cat.Value</GroupExpression></GroupExpressions></Grouping>
            <Subtotal><ReportItems>{tot}</ReportItems></Subtotal>
            <ReportItems>{ch}</ReportItems></DynamicRows></RowGrouping>
          <RowGrouping><Width>0.5in</Width><StaticRows>
            <StaticRow><ReportItems>{s1}</ReportItems></StaticRow><StaticRow><ReportItems>{s2}</ReportItems></StaticRow>
          </StaticRows></RowGrouping>
        </RowGroupings>
        <MatrixColumns><MatrixColumn><Width>1in</Width></MatrixColumn></MatrixColumns>
        <MatrixRows>
          <MatrixRow><Height>0.2in</Height><MatrixCells><MatrixCell><ReportItems>{v1}</ReportItems></MatrixCell></MatrixCells></MatrixRow>
          <MatrixRow><Height>0.3in</Height><MatrixCells><MatrixCell><ReportItems>{v2}</ReportItems></MatrixCell></MatrixCells></MatrixRow>
        </MatrixRows></Matrix>"#,
        c = tb("C", ""),
        yh = tb("YH", "=Fields!Y.Value"),
        tot = tb("Tot", "Total"),
        ch = tb("CH", "=Fields!Cat.Value"),
        s1 = tb("S1", "Sales"),
        s2 = tb("S2", "Qty"),
        v1 = tb("V1", "=Sum(Fields!Sales.Value)"),
        v2 = tb("V2", "=Sum(Fields!Qty.Value)"),
    );
    let rdl = format!(
        "<Report xmlns=\"{NS2005}\"><Body><ReportItems>{m}</ReportItems><Height>1in</Height></Body><Width>5in</Width></Report>"
    );
    let (r, warnings) = parse_report("M", rdl.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    let t = tablix(&r.sections[0].body.items[0]);
    // Rows: Cat group {Sales, Qty}, then the subtotal {Sales, Qty}: four body rows.
    assert_eq!(t.row_hierarchy.len(), 2);
    let cat = &t.row_hierarchy[0];
    assert_eq!(cat.group.as_ref().unwrap().name, "Cat");
    let statics: Vec<&str> = cat
        .members
        .iter()
        .map(|m| m.header.as_ref().unwrap().contents.item.name.as_str())
        .collect();
    assert_eq!(statics, ["S1", "S2"]);
    let total = &t.row_hierarchy[1];
    assert!(total.group.is_none());
    assert_eq!(total.header.as_ref().unwrap().contents.item.name, "Tot");
    assert_eq!(total.members.len(), 2);
    let cells: Vec<&str> = t
        .rows
        .iter()
        .map(|r| r.cells[0].as_ref().unwrap().item.name.as_str())
        .collect();
    assert_eq!(cells, ["V1", "V2", "V1", "V2"]);
    let heights: Vec<Size> = t.rows.iter().map(|r| r.height).collect();
    assert_eq!(
        heights,
        [sz("0.2in"), sz("0.3in"), sz("0.2in"), sz("0.3in")]
    );
    assert_eq!(t.corner.len(), 1);
    assert_eq!(t.corner[0].len(), 2);
    assert_eq!(t.corner[0][0].as_ref().unwrap().col_span, 2);
}

#[test]
fn sample_expressions_compile() {
    for name in ["Invoice.rdl", "Labels.rdl", "Transcript.rdl"] {
        let Some(bytes) = sample(name) else { return };
        let (r, _) = parse_report(name, &bytes).unwrap();
        let c = rdl::compile(&r);
        assert_eq!(c.len(), r.expressions.len());
        let errors: Vec<String> = c.errors.iter().map(ToString::to_string).collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        assert!(c.warnings.is_empty(), "{name}: {:?}", c.warnings);
    }
}

#[test]
fn items_are_found_anywhere() {
    let Some(bytes) = sample("Invoice.rdl") else {
        return;
    };
    let (r, _) = parse_report("Invoice", &bytes).unwrap();
    let all = r.all_items();
    let textboxes = all
        .iter()
        .filter(|i| matches!(i.kind, ItemKind::Textbox(_)))
        .count();
    // Every <Textbox Name=...> of the file, body, header and footer included.
    let in_file = String::from_utf8_lossy(&bytes)
        .matches("<Textbox Name=")
        .count();
    assert_eq!(textboxes, in_file);
    assert!(r.find_item("SalesPrice").is_some());
    assert!(r.find_item("Image1").is_some());
    assert!(r.find_item("NoSuchItem").is_none());
    let mut names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "item names are unique");
}

/// Truncated and corrupted samples: always a result (Ok or a located error), never a panic.
#[test]
fn damaged_samples_never_panic() {
    let Some(bytes) = sample("Invoice.rdl") else {
        return;
    };
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut refused = 0;
    for i in 0..150 {
        let mut b = bytes.clone();
        if i % 2 == 0 {
            b.truncate((next() as usize) % bytes.len());
        } else {
            for _ in 0..4 {
                let at = (next() as usize) % b.len();
                b[at] = b"<>/=\"&;x 1"[(next() as usize) % 10];
            }
        }
        match rdl::check_upload(&b) {
            Ok(_) => {}
            Err(e) => {
                refused += 1;
                assert!(!e.to_string().is_empty());
            }
        }
        if let Err(e) = parse_report("x", &b) {
            assert!(e.at.line >= 1, "{e}");
        }
    }
    assert!(
        refused >= 75,
        "every truncation must be refused ({refused})"
    );
}
