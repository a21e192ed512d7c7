//! HTML5 with streamed detail rows (`BindOptions::stream_details`) gives the same bytes as
//! the tree: one page (InteractiveHeight 0), soft pages (each `Section` and all), fragments,
//! prefixes, nonces and style streams; a large table is written while it is rendered (its
//! late classes in `<style>` elements of their own). Reports that may not stream (groups,
//! toggles, an interactive sort chosen, group page breaks, rows that grow) are bound in the
//! tree or materialized first ([`html::needs_tree`]), with the same bytes; a page footer that
//! shows values of its page streams too.

mod common;

use common::{orders, plain_cells, textbox, user_sorts};

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use engine::page::AverageCharMeasurer;
use engine::{BindOptions, Compiled, Globals, Instance};
use render::html::{self, HtmlOptions};

const NS: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

/// A table report: one header row, then the details row of `cells`.
fn report(cells: &[String], details: &str, height: &str, page_extra: &str) -> String {
    let n = cells.len();
    let header: String = (0..n)
        .map(|i| {
            textbox(
                &format!("H{i}"),
                &format!("Head {i}"),
                "<Style><FontWeight>Bold</FontWeight></Style>",
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="{NS}">
  <DataSources><DataSource Name="DS"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="Orders"><Query><DataSourceName>DS</DataSourceName><CommandText>x</CommandText></Query>
    <Fields>{fields}</Fields></DataSet></DataSets>
  <ReportSections><ReportSection><Body><ReportItems>
    <Tablix Name="Orders"><TablixBody><TablixColumns>{cols}</TablixColumns><TablixRows>
      <TablixRow><Height>0.25in</Height><TablixCells>{header}</TablixCells></TablixRow>
      <TablixRow><Height>0.25in</Height><TablixCells>{cells}</TablixCells></TablixRow>
    </TablixRows></TablixBody>
    <TablixColumnHierarchy><TablixMembers>{cm}</TablixMembers></TablixColumnHierarchy>
    <TablixRowHierarchy><TablixMembers><TablixMember><KeepWithGroup>After</KeepWithGroup><RepeatOnNewPage>true</RepeatOnNewPage></TablixMember>{details}</TablixMembers></TablixRowHierarchy>
    <DataSetName>Orders</DataSetName><Top>0in</Top><Left>0in</Left><Height>0.5in</Height><Width>5in</Width>
    <NoRowsMessage>No orders</NoRowsMessage>
    </Tablix></ReportItems><Height>0.5in</Height></Body><Width>6.5in</Width>
    <Page>{page_extra}<InteractiveHeight>{height}</InteractiveHeight></Page></ReportSection></ReportSections>
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

const DETAILS: &str = "<TablixMember><Group Name=\"Details\" /></TablixMember>";

fn bind(c: &Arc<Compiled>, rows: i64, stream: bool, sorts: &[(&str, bool)]) -> Instance {
    let params = c
        .resolve_parameters(&HashMap::new(), &HashMap::new())
        .expect("parameters");
    let data = HashMap::from([("Orders".to_string(), Arc::new(orders(rows)))]);
    let opts = BindOptions {
        stream_details: stream,
        user_sorts: user_sorts(sorts),
        ..BindOptions::default()
    };
    engine::bind(c, &params, &data, &Globals::default(), &opts).expect("bind")
}

fn option_sets() -> Vec<(&'static str, HtmlOptions)> {
    vec![
        ("page", HtmlOptions::default()),
        (
            "fragment",
            HtmlOptions {
                fragment: true,
                prefix: "v1_".into(),
                nonce: Some("n0nce".into()),
                self_url: Some("/ReportServer?/Test/Orders".into()),
                ..HtmlOptions::default()
            },
        ),
        (
            "style stream",
            HtmlOptions {
                stylesheet_href: Some("/style.css".into()),
                ..HtmlOptions::default()
            },
        ),
    ]
}

fn html_of(inst: &Instance, o: &HtmlOptions) -> Result<Vec<u8>, render::RenderError> {
    let mut b = Vec::new();
    html::render(inst, o, &AverageCharMeasurer, &mut b)?;
    Ok(b)
}

/// Every page (and all) of every option set, with page counts and style sheets.
fn outputs(inst: &Instance) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (label, o) in option_sets() {
        let pages = html::page_count(inst, &o, &AverageCharMeasurer);
        out.push((format!("{label} pages"), pages.to_string().into_bytes()));
        for section in (0..=pages).chain([pages + 1]) {
            let o = HtmlOptions {
                section,
                ..o.clone()
            };
            let b = match html_of(inst, &o) {
                Ok(b) => b,
                Err(e) => e.to_string().into_bytes(),
            };
            out.push((format!("{label} section {section}"), b));
            if let Ok(css) = html::stylesheet(inst, &o, &AverageCharMeasurer) {
                out.push((format!("{label} section {section} css"), css.into_bytes()));
            }
        }
    }
    out
}

/// Renders `rdl` over `rows` rows from the tree and streamed; returns whether the rows were
/// written as they were bound (streamed and not materialized).
fn same_bytes(rdl: &str, rows: i64, sorts: &[(&str, bool)]) -> bool {
    let c = Arc::new(engine::parse_and_prepare("/Test/Orders", rdl.as_bytes()).expect("report"));
    let tree = bind(&c, rows, false, sorts);
    assert!(!tree.is_streamed());
    let expected = outputs(&tree);
    let mut streamed = bind(&c, rows, true, sorts);
    let did_stream = streamed.is_streamed() && !html::needs_tree(&streamed, &AverageCharMeasurer);
    if html::needs_tree(&streamed, &AverageCharMeasurer) {
        streamed.materialize().expect("materialize");
    }
    let got = outputs(&streamed);
    assert_eq!(expected.len(), got.len());
    for ((label, want), (_, have)) in expected.iter().zip(&got) {
        if want != have {
            let at = want.iter().zip(have).take_while(|(a, b)| a == b).count();
            let from = at.saturating_sub(200);
            panic!(
                "{label} differs at byte {at} of {}/{}:\ntree:   {}\nstream: {}",
                want.len(),
                have.len(),
                String::from_utf8_lossy(&want[from..(at + 200).min(want.len())]),
                String::from_utf8_lossy(&have[from..(at + 200).min(have.len())])
            );
        }
    }
    did_stream
}

#[test]
fn a_plain_table_streams_with_the_same_bytes_on_one_page_and_on_soft_pages() {
    for height in ["0in", "2in", "11in"] {
        let rdl = report(&plain_cells(), DETAILS, height, "");
        assert!(same_bytes(&rdl, 1, &[]), "{height}");
        assert!(same_bytes(&rdl, 97, &[]), "{height}");
    }
}

#[test]
fn order_dependent_values_stream_with_the_same_bytes_on_every_page() {
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
    // data-dependent styles: colours, weights and alignment from the values
    cells.push(textbox(
        "Styled",
        "=IIf(Fields!qty.Value = 2, Nothing, Fields!qty.Value)",
        "<Style><Color>=IIf(Fields!qty.Value > 2, \"Red\", \"Black\")</Color><BackgroundColor>=IIf(Fields!id.Value Mod 2 = 0, \"#eeeeee\", \"White\")</BackgroundColor><FontWeight>=IIf(Fields!qty.Value = 4, \"Bold\", \"Normal\")</FontWeight></Style>",
    ));
    let rdl = report(&cells, DETAILS, "1.5in", "");
    assert!(same_bytes(&rdl, 120, &[]));
}

/// A writer that records the size of each write.
#[derive(Default)]
struct Writes(Vec<usize>, Vec<u8>);

impl Write for Writes {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.push(b.len());
        self.1.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_large_page_is_written_while_it_is_rendered_with_late_classes_before_their_use() {
    // a class first needed after the first flush: a colour from row 2,500 on
    let mut cells = plain_cells();
    cells[0] = textbox(
        "Id",
        "=Fields!id.Value",
        "<Style><BackgroundColor>=IIf(Fields!id.Value > 2500, \"Yellow\", \"White\")</BackgroundColor></Style>",
    );
    let rdl = report(&cells, DETAILS, "0in", "");
    assert!(same_bytes(&rdl, 3000, &[]));
    let c = Arc::new(engine::parse_and_prepare("/Test/Orders", rdl.as_bytes()).unwrap());
    let inst = bind(&c, 3000, true, &[]);
    assert!(inst.is_streamed() && !html::needs_tree(&inst, &AverageCharMeasurer));
    let o = HtmlOptions {
        nonce: Some("abc".into()),
        ..HtmlOptions::default()
    };
    let mut w = Writes::default();
    html::render(&inst, &o, &AverageCharMeasurer, &mut w).unwrap();
    let total: usize = w.0.iter().sum();
    assert!(total > 10 * html::FLUSH_AT, "{total} bytes");
    assert!(
        w.0.iter().all(|&n| n <= html::FLUSH_AT + 4096),
        "every write is about one flush: {:?}",
        w.0
    );
    let h = String::from_utf8(w.1).unwrap();
    let yellow = "background-color:#ffff00;";
    let rule = h.find(yellow).expect("the yellow rule");
    let head_end = h.find("</head>").unwrap();
    assert!(rule > head_end, "the late class is not in the head");
    let class = &h[..rule];
    let class = &class[class.rfind(".r").unwrap() + 1..class.rfind('{').unwrap()];
    let first_use = h.find(&format!(" {class}\"")).expect("the class is used");
    assert!(rule < first_use, "its rule comes before its first use");
    assert!(
        h[..rule].ends_with(&format!("<style nonce=\"abc\">.{class}{{")),
        "in a style element of its own"
    );
    assert_eq!(
        h.matches("<style").count(),
        2,
        "the head's sheet and one late one"
    );
    // the row 2,501 is the first yellow one
    assert!(h[first_use..].contains(">2501</span>"));
    assert!(!h[..first_use].contains(">2501</span>"));
}

#[test]
fn tables_that_cannot_stream_give_the_same_bytes_from_the_tree() {
    // a group on the details
    let grouped = report(
        &plain_cells(),
        "<TablixMember><Group Name=\"Details\"><GroupExpressions><GroupExpression>=Fields!qty.Value</GroupExpression></GroupExpressions></Group></TablixMember>",
        "2in",
        "",
    );
    assert!(!same_bytes(&grouped, 40, &[]));
    // details hidden behind a toggle in the header
    let toggled = report(
        &plain_cells(),
        "<TablixMember><Group Name=\"Details\" /><Visibility><Hidden>true</Hidden><ToggleItem>H0</ToggleItem></Visibility></TablixMember>",
        "0in",
        "",
    );
    assert!(!same_bytes(&toggled, 40, &[]));
    // a page break between the instances of a group
    let broken = report(
        &plain_cells(),
        "<TablixMember><Group Name=\"Details\"><PageBreak><BreakLocation>Between</BreakLocation></PageBreak></Group></TablixMember>",
        "0in",
        "",
    );
    assert!(!same_bytes(&broken, 12, &[]));
    // rows that may grow are measured in the tree
    let mut cells = plain_cells();
    cells[1] = textbox(
        "Customer",
        "=Fields!customer.Value",
        "<CanGrow>true</CanGrow>",
    );
    assert!(!same_bytes(&report(&cells, DETAILS, "2in", ""), 40, &[]));
    // a footer row after the details (its height is not the details')
    let mut footer: String = textbox(
        "Total",
        "=Sum(Fields!price.Value)",
        "<CanGrow>true</CanGrow>",
    );
    for i in 1..5 {
        footer.push_str(&textbox(&format!("F{i}"), &format!("Foot {i}"), ""));
    }
    let with_footer_row = report(
        &plain_cells(),
        &format!("{DETAILS}<TablixMember><KeepWithGroup>Before</KeepWithGroup></TablixMember>"),
        "2in",
        "",
    )
    .replace(
        "</TablixCells></TablixRow>\n    </TablixRows>",
        &format!(
            "</TablixCells></TablixRow><TablixRow><Height>0.4in</Height><TablixCells>{footer}</TablixCells></TablixRow>\n    </TablixRows>"
        ),
    );
    assert!(with_footer_row.contains("Foot 4"));
    assert!(!same_bytes(&with_footer_row, 40, &[]));
    // no rows: the message
    assert!(!same_bytes(
        &report(&plain_cells(), DETAILS, "0in", ""),
        0,
        &[]
    ));
}

#[test]
fn a_page_footer_with_the_values_on_its_page_streams_with_the_same_bytes() {
    let footer = "<PageFooter><Height>0.3in</Height><PrintOnFirstPage>true</PrintOnFirstPage><PrintOnLastPage>true</PrintOnLastPage><ReportItems><Textbox Name=\"F\"><Paragraphs><Paragraph><TextRuns><TextRun><Value>=\"Page \" &amp; Globals!PageNumber &amp; \" of \" &amp; Globals!TotalPages &amp; \" first \" &amp; ReportItems!Id.Value</Value></TextRun></TextRuns></Paragraph></Paragraphs><Height>0.3in</Height><Width>4in</Width></Textbox></ReportItems></PageFooter>";
    let mut cells = plain_cells();
    cells.push(textbox(
        "Run",
        "=RunningValue(Fields!price.Value, Sum, \"Orders\")",
        "",
    ));
    for height in ["2in", "0in"] {
        let rdl = report(&cells, DETAILS, height, footer);
        assert!(same_bytes(&rdl, 40, &[]), "{height}");
    }
    let c = Arc::new(
        engine::parse_and_prepare(
            "/Test/Orders",
            report(&cells, DETAILS, "2in", footer).as_bytes(),
        )
        .unwrap(),
    );
    let inst = bind(&c, 40, true, &[]);
    let o = HtmlOptions {
        section: 2,
        ..HtmlOptions::default()
    };
    let h = String::from_utf8(html_of(&inst, &o).unwrap()).unwrap();
    // the first Id on page 2 (rows 8-14)
    assert!(h.contains(">Page 2 of 6 first 8<"), "{h}");
}

#[test]
fn interactive_sort_streams_until_a_sort_is_chosen() {
    let rdl = report(&plain_cells(), DETAILS, "2in", "").replace(
        "<Textbox Name=\"H3\">",
        "<Textbox Name=\"H3\"><UserSort><SortExpression>=Fields!price.Value</SortExpression></UserSort>",
    );
    // the sort button in the header, the details in data order
    assert!(same_bytes(&rdl, 60, &[]));
    // sorted: the tree
    assert!(!same_bytes(&rdl, 60, &[("H3", false)]));
}

#[test]
fn a_table_footer_row_of_the_details_height_streams_with_the_same_bytes() {
    // a 2005 table footer: a Count, a Sum, a running value and a label spanning two columns
    let footer = format!(
        "{}{}{}<TablixCell><CellContents><Textbox Name=\"FLabel\"><Paragraphs><Paragraph><TextRuns><TextRun><Value>rows</Value></TextRun></TextRuns></Paragraph></Paragraphs></Textbox><ColSpan>2</ColSpan></CellContents></TablixCell><TablixCell />",
        textbox("FCount", "=Count(Fields!id.Value)", ""),
        textbox(
            "FSum",
            "=Sum(Fields!price.Value)",
            "<Style><Format>N2</Format></Style>"
        ),
        textbox("FRun", "=RunningValue(Fields!qty.Value, Sum, Nothing)", ""),
    );
    let page_footer = "<PageFooter><Height>0.3in</Height><PrintOnFirstPage>true</PrintOnFirstPage><PrintOnLastPage>true</PrintOnLastPage><ReportItems><Textbox Name=\"PF\"><Paragraphs><Paragraph><TextRuns><TextRun><Value>=\"Page \" &amp; Globals!PageNumber &amp; \" of \" &amp; Globals!TotalPages &amp; \" \" &amp; ReportItems!FCount.Value</Value></TextRun></TextRuns></Paragraph></Paragraphs><Height>0.3in</Height><Width>4in</Width></Textbox></ReportItems></PageFooter>";
    for (height, page_extra) in [("0in", ""), ("2in", ""), ("2in", page_footer)] {
        let rdl = report(
            &plain_cells(),
            &format!(
                "{DETAILS}<TablixMember><KeepWithGroup>Before</KeepWithGroup></TablixMember>"
            ),
            height,
            page_extra,
        )
        .replace(
            "</TablixCells></TablixRow>\n    </TablixRows>",
            &format!(
                "</TablixCells></TablixRow><TablixRow><Height>0.25in</Height><TablixCells>{footer}</TablixCells></TablixRow>\n    </TablixRows>"
            ),
        );
        assert!(rdl.contains("FLabel"));
        for rows in [1, 7, 40] {
            assert!(
                same_bytes(&rdl, rows, &[]),
                "{height} {rows}: the rows did not stream"
            );
        }
    }
}
