//! Hard pagination rules (design note §2.2) asserted on real PDF output read back with
//! poppler: group and rectangle page breaks (`BreakLocation` Start/End/StartAndEnd/Between,
//! `Disabled`, `ResetPageNumber`, `PageName` → `Globals!PageName`), `RepeatOnNewPage` header
//! rows, `KeepTogether`, header/footer `PrintOnFirstPage`/`PrintOnLastPage`,
//! `rc:StartPage`/`rc:EndPage` and `rc:Columns` (text positions from `pdftotext -bbox`).

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

use engine::{BindOptions, Instance, ParamError};
use fonts::FontRegistry;
use render::DeviceInfo;
use render::pdf::PdfOptions;

const NS: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

/// Header text naming the page: number/total overall-number/overall-total name.
const PAGE_INFO: &str = "=\"P\" &amp; Globals!PageNumber &amp; \"/\" &amp; Globals!TotalPages &amp; \"-\" &amp; Globals!OverallPageNumber &amp; \"/\" &amp; Globals!OverallTotalPages &amp; \"-\" &amp; Globals!PageName";

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn fonts() -> Option<FontRegistry> {
    match FontRegistry::load_default() {
        Ok(r) => Some(r),
        Err(e) => {
            assert!(!ci(), "{e}");
            println!("skipped: {e}");
            None
        }
    }
}

fn textbox(name: &str, value: &str, top: &str) -> String {
    format!(
        r#"<Textbox Name="{name}"><CanGrow>true</CanGrow><Paragraphs><Paragraph><TextRuns><TextRun><Value>{value}</Value></TextRun></TextRuns></Paragraph></Paragraphs><Top>{top}</Top><Left>0in</Left><Height>0.25in</Height><Width>2in</Width></Textbox>"#
    )
}

fn band(tag: &str, first: bool, last: bool, value: &str) -> String {
    format!(
        "<{tag}><Height>0.3in</Height><PrintOnFirstPage>{first}</PrintOnFirstPage><PrintOnLastPage>{last}</PrintOnLastPage><ReportItems>{}</ReportItems></{tag}>",
        textbox(&format!("{tag}Text"), value, "0in")
    )
}

/// A report with one ENTERDATA data set `Sales(Region, Amount)` of `rows`, `body` items and
/// `page` elements (header, footer) inside `<Page>`.
fn report(rows: &[(&str, &str)], body: &str, page: &str) -> String {
    let xml_rows: String = rows
        .iter()
        .map(|(r, a)| {
            format!("&lt;Row&gt;&lt;Region&gt;{r}&lt;/Region&gt;&lt;Amount&gt;{a}&lt;/Amount&gt;&lt;/Row&gt;")
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="{NS}" xmlns:rd="http://schemas.microsoft.com/SQLServer/reporting/reportdesigner">
  <DataSources><DataSource Name="DS"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="Sales"><Query><DataSourceName>DS</DataSourceName><CommandText>&lt;Query&gt;&lt;XmlData&gt;&lt;Rows&gt;{xml_rows}&lt;/Rows&gt;&lt;/XmlData&gt;&lt;/Query&gt;</CommandText></Query>
    <Fields><Field Name="Region"><DataField>Region</DataField><rd:TypeName>System.String</rd:TypeName></Field><Field Name="Amount"><DataField>Amount</DataField><rd:TypeName>System.String</rd:TypeName></Field></Fields></DataSet></DataSets>
  <InitialPageName>Cover</InitialPageName>
  <ReportSections><ReportSection>
    <Body><ReportItems>{body}</ReportItems><Height>2in</Height></Body>
    <Width>6in</Width><Page>{page}<PageHeight>11in</PageHeight><PageWidth>8.5in</PageWidth><LeftMargin>1in</LeftMargin><TopMargin>0.5in</TopMargin><BottomMargin>0.5in</BottomMargin></Page>
  </ReportSection></ReportSections>
</Report>"#
    )
}

/// A table grouped by Region: a header row (`RepeatOnNewPage`, `KeepWithGroup=After`), the
/// detail rows and a footer row per region; `group_extra` goes into the `Group` element.
fn grouped_table(group_extra: &str, top: &str) -> String {
    let c = |n: &str, v: &str| {
        format!(
            "<TablixCell><CellContents>{}</CellContents></TablixCell>",
            textbox(n, v, "0in")
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
  <DataSetName>Sales</DataSetName><Top>{top}</Top><Left>0in</Left><Height>0.75in</Height><Width>4in</Width></Tablix>"#,
        h = row(c("HRegion", "Region") + &c("HAmount", "Amount")),
        d = row(c("Region", "=Fields!Region.Value") + &c("Amount", "=Fields!Amount.Value")),
        f = row(c("FLabel", "=\"Total\" &amp; Fields!Region.Value")
            + &c("FSum", "=\"Sum\" &amp; Sum(CDec(Fields!Amount.Value))")),
    )
}

const SALES: &[(&str, &str)] = &[("A", "10"), ("B", "7"), ("A", "25"), ("C", "3")];

fn bind_rdl(rdl: &str) -> Instance {
    let c = Arc::new(engine::parse_and_prepare("/Tests/Pages", rdl.as_bytes()).unwrap());
    let mut tables = HashMap::new();
    let params = loop {
        match c.resolve_parameters(&HashMap::new(), &tables) {
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

fn pdf(inst: &Instance, reg: &FontRegistry, rc: &[(&str, &str)]) -> Vec<u8> {
    let m: HashMap<String, String> = rc
        .iter()
        .map(|(k, v)| (format!("rc:{k}"), v.to_string()))
        .collect();
    let opts = PdfOptions::from_device_info(&DeviceInfo::new(&m)).unwrap();
    let mut out = Vec::new();
    render::pdf::render(inst, reg, &opts, &mut out).unwrap();
    out
}

/// A word `pdftotext -bbox` found: page (1-based), text, left and top in points.
#[derive(Debug, Clone)]
struct Word {
    page: u32,
    text: String,
    x: f64,
    y: f64,
}

/// Every word of `pdf` with its page and position; `None` (skipped) without poppler.
fn words(pdf: &[u8]) -> Option<Vec<Word>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.pdf");
    std::fs::write(&path, pdf).unwrap();
    let o = match Command::new("pdftotext")
        .arg("-bbox")
        .arg(&path)
        .arg("-")
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            assert!(
                !ci(),
                "pdftotext is not installed (apt-get install poppler-utils): {e}"
            );
            println!("skipped: pdftotext not installed ({e})");
            return None;
        }
    };
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = String::from_utf8(o.stdout).unwrap();
    let attr = |l: &str, a: &str| -> f64 {
        let k = format!("{a}=\"");
        let s = &l[l.find(&k).unwrap() + k.len()..];
        s[..s.find('"').unwrap()].parse().unwrap()
    };
    let mut page = 0;
    let mut out = Vec::new();
    for l in html.lines() {
        let l = l.trim();
        if l.starts_with("<page ") {
            page += 1;
        } else if l.starts_with("<word ") {
            let text = &l[l.find('>').unwrap() + 1..l.rfind("</word>").unwrap()];
            out.push(Word {
                page,
                text: text.to_owned(),
                x: attr(l, "xMin"),
                y: attr(l, "yMin"),
            });
        }
    }
    assert!(page > 0, "{html}");
    Some(out)
}

/// The words of each page joined by spaces, in reading order.
fn pages(w: &[Word]) -> Vec<String> {
    let n = w.iter().map(|w| w.page).max().unwrap_or(0);
    (1..=n)
        .map(|p| {
            w.iter()
                .filter(|w| w.page == p)
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The words of the PDF of `body` over `rows`, under a page header showing [`PAGE_INFO`];
/// `None` when poppler is missing (see [`words`]).
fn headed_words(reg: &FontRegistry, rows: &[(&str, &str)], body: &str) -> Option<Vec<Word>> {
    let i = bind_rdl(&report(
        rows,
        body,
        &band("PageHeader", true, true, PAGE_INFO),
    ));
    words(&pdf(&i, reg, &[]))
}

fn find<'a>(w: &'a [Word], text: &str) -> Vec<&'a Word> {
    w.iter().filter(|w| w.text == text).collect()
}

#[test]
fn group_break_between_names_pages_and_repeats_the_header_row() {
    let Some(reg) = fonts() else { return };
    let body = textbox("Title", "Sales", "0in")
        + &grouped_table(
            "<PageBreak><BreakLocation>Between</BreakLocation></PageBreak><PageName>=\"Region\" &amp; Fields!Region.Value</PageName>",
            "0.5in",
        )
        + &textbox("After", "TheEnd", "1.5in");
    let Some(w) = headed_words(&reg, SALES, &body) else {
        return;
    };
    assert_eq!(
        pages(&w),
        [
            "P1/3-1/3-RegionA Sales Region Amount A 10 A 25 TotalA Sum35",
            "P2/3-2/3-RegionB Region Amount B 7 TotalB Sum7",
            "P3/3-3/3-RegionC Region Amount C 3 TotalC Sum3 TheEnd",
        ]
    );
    // the repeated header row starts the body on pages 2 and 3 (top margin 0.5in + 0.3in
    // header = 57.6pt)
    let heads = find(&w, "Region");
    assert_eq!(heads.len(), 3);
    for h in &heads[1..] {
        assert!((h.y - 57.6).abs() < 4.0, "{h:?}");
    }
}

#[test]
fn group_breaks_start_end_disabled_and_reset_page_number() {
    let Some(reg) = fonts() else { return };
    let body = |extra: &str| {
        textbox("Title", "Sales", "0in")
            + &grouped_table(extra, "0.5in")
            + &textbox("After", "TheEnd", "1.5in")
    };
    let head = band("PageHeader", true, true, PAGE_INFO);
    // Start: the first instance's break moves before the tablix, the header row with it
    let i = bind_rdl(&report(
        SALES,
        &body("<PageBreak><BreakLocation>Start</BreakLocation></PageBreak>"),
        &head,
    ));
    let Some(w) = words(&pdf(&i, &reg, &[])) else {
        return;
    };
    assert_eq!(
        pages(&w),
        [
            "P1/4-1/4-Cover Sales",
            "P2/4-2/4-Cover Region Amount A 10 A 25 TotalA Sum35",
            "P3/4-3/4-Cover Region Amount B 7 TotalB Sum7",
            "P4/4-4/4-Cover Region Amount C 3 TotalC Sum3 TheEnd",
        ]
    );
    // End, disabled for B (per instance), ResetPageNumber: numbering restarts at each break
    let i = bind_rdl(&report(
        SALES,
        &body(
            "<PageBreak><BreakLocation>End</BreakLocation><Disabled>=Fields!Region.Value = \"B\"</Disabled><ResetPageNumber>true</ResetPageNumber></PageBreak>",
        ),
        &head,
    ));
    let w = words(&pdf(&i, &reg, &[])).unwrap();
    assert_eq!(
        pages(&w),
        [
            "P1/1-1/3-Cover Sales Region Amount A 10 A 25 TotalA Sum35",
            "P1/1-2/3-Cover Region Amount B 7 TotalB Sum7 C 3 TotalC Sum3",
            "P1/1-3/3-Cover TheEnd",
        ]
    );
}

fn rect(name: &str, top: &str, extra: &str, inner: &str) -> String {
    format!(
        "<Rectangle Name=\"{name}\"><ReportItems>{inner}</ReportItems>{extra}<Top>{top}</Top><Left>0in</Left><Height>0.3in</Height><Width>2in</Width></Rectangle>"
    )
}

#[test]
fn rectangle_breaks_page_names_reset_and_disabled() {
    let Some(reg) = fonts() else { return };
    let body = [
        textbox("Intro", "Intro", "0in"),
        rect(
            "R1",
            "0.5in",
            "<PageBreak><BreakLocation>Start</BreakLocation></PageBreak><PageName>First</PageName>",
            &textbox("InR1", "InR1", "0in"),
        ),
        rect(
            "R2",
            "1in",
            "<PageBreak><BreakLocation>StartAndEnd</BreakLocation><ResetPageNumber>=1=1</ResetPageNumber></PageBreak><PageName>=\"Sec\" &amp; \"ond\"</PageName>",
            &textbox("InR2", "InR2", "0in"),
        ),
        rect(
            "R3",
            "1.5in",
            "<PageBreak><BreakLocation>Start</BreakLocation><Disabled>=True</Disabled></PageBreak>",
            &textbox("InR3", "InR3", "0in"),
        ),
        textbox("Tail", "Tail", "1.8in"),
    ]
    .concat();
    let Some(w) = headed_words(&reg, &[("A", "1")], &body) else {
        return;
    };
    assert_eq!(
        pages(&w),
        [
            "P1/2-1/4-Cover Intro",
            "P2/2-2/4-First InR1",
            "P1/1-3/4-Second InR2",
            "P1/1-4/4-Second InR3 Tail",
        ]
    );
}

/// A 3-page report (three rectangles with Start breaks) with a header and footer.
fn three_pages(header: (bool, bool), footer: (bool, bool)) -> Instance {
    let body = [
        rect("R1", "0in", "", &textbox("B1", "Body1", "0in")),
        rect(
            "R2",
            "0.5in",
            "<PageBreak><BreakLocation>Start</BreakLocation></PageBreak>",
            &textbox("B2", "Body2", "0in"),
        ),
        rect(
            "R3",
            "1in",
            "<PageBreak><BreakLocation>Start</BreakLocation></PageBreak>",
            &textbox("B3", "Body3", "0in"),
        ),
    ]
    .concat();
    let page = band(
        "PageHeader",
        header.0,
        header.1,
        "=\"Head\" &amp; Globals!PageNumber &amp; \"of\" &amp; Globals!TotalPages",
    ) + &band(
        "PageFooter",
        footer.0,
        footer.1,
        "=\"Foot\" &amp; Globals!PageNumber",
    );
    bind_rdl(&report(&[("A", "1")], &body, &page))
}

#[test]
fn print_on_first_and_last_page() {
    let Some(reg) = fonts() else { return };
    // both flags false: header and footer only on the middle page
    let Some(w) = words(&pdf(
        &three_pages((false, false), (false, false)),
        &reg,
        &[],
    )) else {
        return;
    };
    assert_eq!(pages(&w), ["Body1", "Head2of3 Body2 Foot2", "Body3"]);
    // header on the first page only, footer on the last only
    let w = words(&pdf(&three_pages((true, false), (false, true)), &reg, &[])).unwrap();
    assert_eq!(
        pages(&w),
        ["Head1of3 Body1", "Head2of3 Body2 Foot2", "Body3 Foot3"]
    );
    // the footer sits at the page bottom: 11in - 0.5in margin - 0.3in footer = 734.4pt
    let f = find(&w, "Foot3")[0];
    assert!((f.y - 734.4).abs() < 4.0, "{f:?}");
    // header PrintOnLastPage: shown on the last page
    let w = words(&pdf(&three_pages((false, true), (true, false)), &reg, &[])).unwrap();
    assert_eq!(
        pages(&w),
        ["Body1 Foot1", "Head2of3 Body2 Foot2", "Head3of3 Body3"]
    );
}

#[test]
fn start_page_and_end_page_select_pages_with_report_numbers() {
    let Some(reg) = fonts() else { return };
    let i = three_pages((true, true), (true, true));
    let Some(w) = words(&pdf(&i, &reg, &[("StartPage", "2"), ("EndPage", "3")])) else {
        return;
    };
    assert_eq!(pages(&w), ["Head2of3 Body2 Foot2", "Head3of3 Body3 Foot3"]);
    // StartPage alone: from that page to the end; EndPage below StartPage: one page
    let w = words(&pdf(&i, &reg, &[("StartPage", "3")])).unwrap();
    assert_eq!(pages(&w), ["Head3of3 Body3 Foot3"]);
    let w = words(&pdf(&i, &reg, &[("StartPage", "2"), ("EndPage", "1")])).unwrap();
    assert_eq!(pages(&w), ["Head2of3 Body2 Foot2"]);
}

/// A list of `n` detail rows `Row1`…`RowN`, each 0.5in high.
fn list_rows(n: usize, keep: bool) -> (Vec<(String, String)>, String) {
    let rows: Vec<(String, String)> = (1..=n).map(|k| ("R".into(), format!("Row{k}"))).collect();
    let t = grouped_table("", "0in")
        .replace(
            "Sum(CDec(Fields!Amount.Value))",
            "Count(Fields!Amount.Value)",
        )
        .replace(
            "<Height>0.25in</Height><TablixCells>",
            "<Height>0.5in</Height><TablixCells>",
        )
        .replace(
            "<DataSetName>",
            if keep {
                "<KeepTogether>true</KeepTogether><DataSetName>"
            } else {
                "<DataSetName>"
            },
        );
    (rows, t)
}

#[test]
fn table_rows_split_over_pages_repeat_the_header_and_keep_together_moves() {
    let Some(reg) = fonts() else { return };
    let (rows, t) = list_rows(12, false);
    let rows: Vec<(&str, &str)> = rows.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let i = bind_rdl(&report(&rows, &t, ""));
    // a 4in page with 0.5in margins: 3in of body = six 0.5in rows a page
    let Some(w) = words(&pdf(&i, &reg, &[("PageHeight", "4in")])) else {
        return;
    };
    let p = pages(&w);
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(p[0].starts_with("Region Amount R Row1 "), "{p:?}");
    assert!(p[1].starts_with("Region Amount R Row"), "{p:?}");
    assert!(p[2].ends_with("TotalR Sum12"), "{p:?}");
    // every data row once, in order, across the pages
    let seen: Vec<&str> = w
        .iter()
        .filter(|w| w.text.starts_with("Row"))
        .map(|w| w.text.as_str())
        .collect();
    let want: Vec<String> = (1..=12).map(|k| format!("Row{k}")).collect();
    assert_eq!(seen, want);
    // the header row repeats at the top of each page's body (0.5in margin = 36pt)
    for h in find(&w, "Amount") {
        assert!((h.y - 36.0).abs() < 4.0, "{h:?}");
    }
    // KeepWithGroup=Before: with 10 rows the footer row would start page 3 alone; the last
    // data row comes along
    let (rows, t) = list_rows(10, false);
    let rows: Vec<(&str, &str)> = rows.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let i = bind_rdl(&report(&rows, &t, ""));
    let w = words(&pdf(&i, &reg, &[("PageHeight", "4in")])).unwrap();
    let p = pages(&w);
    assert_eq!(p.len(), 3, "{p:?}");
    assert_eq!(p[2], "Region Amount R Row10 TotalR Sum10");
    // KeepTogether: a 2in table after a 2in textbox moves whole to page 2 of a 4in page
    let (rows, t) = list_rows(2, true);
    let rows: Vec<(&str, &str)> = rows.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let body = textbox("Tall", "Tall", "0in").replace("0.25in</Height>", "2in</Height>")
        + &t.replace(
            "<Top>0in</Top><Left>0in</Left><Height>0.75in",
            "<Top>2in</Top><Left>0in</Left><Height>0.75in",
        );
    let i = bind_rdl(&report(&rows, &body, ""));
    let w = words(&pdf(&i, &reg, &[("PageHeight", "4in")])).unwrap();
    assert_eq!(
        pages(&w),
        ["Tall", "Region Amount R Row1 R Row2 TotalR Sum2"]
    );
}

#[test]
fn columns_fill_left_to_right_then_the_next_page() {
    let Some(reg) = fonts() else { return };
    let (rows, t) = list_rows(18, false);
    let rows: Vec<(&str, &str)> = rows.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let i = bind_rdl(&report(&rows, &t, ""));
    // 8.5in page, 0.5in side margins, 2 columns of 3.5in with 0.5in between; 3in of body
    let Some(w) = words(&pdf(
        &i,
        &reg,
        &[
            ("PageHeight", "4in"),
            ("Columns", "2"),
            ("ColumnSpacing", "0.5in"),
            ("MarginLeft", "0.5in"),
            ("MarginRight", "0.5in"),
        ],
    )) else {
        return;
    };
    let p = pages(&w);
    assert_eq!(p.len(), 2, "{p:?}");
    let at = |t: &str| find(&w, t)[0].clone();
    // Row1 in the left column of page 1, Row6 in the right one, Row11 left on page 2
    let (r1, r6, r11) = (at("Row1"), at("Row6"), at("Row11"));
    assert_eq!(
        (r1.page, r6.page, r11.page),
        (1, 1, 2),
        "{r1:?} {r6:?} {r11:?}"
    );
    // left column starts at 0.5in + 2in (the Amount column) = 180pt; right at +4in = 468pt
    assert!((r1.x - 180.0).abs() < 4.0, "{r1:?}");
    assert!((r6.x - 468.0).abs() < 4.0, "{r6:?}");
    assert!((r11.x - 180.0).abs() < 4.0, "{r11:?}");
}

#[test]
fn document_map_labels_become_the_outline_when_there_are_pages() {
    let Some(reg) = fonts() else { return };
    let labelled = |name: &str, top: &str, label: &str, brk: bool| {
        rect(
            name,
            top,
            &format!(
                "<DocumentMapLabel>{label}</DocumentMapLabel>{}",
                if brk {
                    "<PageBreak><BreakLocation>Start</BreakLocation></PageBreak>"
                } else {
                    ""
                }
            ),
            &textbox(&format!("{name}T"), name, "0in").replace(
                "<CanGrow>",
                "<DocumentMapLabel>=\"Inner \" &amp; \"Text\"</DocumentMapLabel><CanGrow>",
            ),
        )
    };
    let body = labelled("Chapter1", "0in", "First chapter", false)
        + &labelled("Chapter2", "0.5in", "Second chapter", true);
    let i = bind_rdl(&report(&[("A", "1")], &body, ""));
    let bytes = pdf(&i, &reg, &[]);
    let has = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(has("/Outlines"), "no outline");
    for t in ["(First chapter)", "(Second chapter)", "(Inner Text)"] {
        assert!(has(t), "{t} not in the outline");
    }
    // one page rendered: no outline (§2.7-5)
    let one = pdf(&i, &reg, &[("StartPage", "2"), ("EndPage", "2")]);
    assert!(!one.windows(9).any(|w| w == b"/Outlines"));
    let Some(w) = words(&bytes) else { return };
    assert_eq!(pages(&w), ["Chapter1", "Chapter2"]);
}

#[test]
fn breaks_inside_rectangles_count_and_a_nested_tablix_breaks_between_groups() {
    let Some(reg) = fonts() else { return };
    // Outer holds a textbox, a rectangle breaking at its start and end, and a textbox after it
    let inner = rect(
        "Inner",
        "0.4in",
        "<PageBreak><BreakLocation>StartAndEnd</BreakLocation></PageBreak><PageName>Inside</PageName>",
        &textbox("InB", "InB", "0in"),
    );
    let outer = format!(
        "<Rectangle Name=\"Outer\"><ReportItems>{}{inner}{}</ReportItems><Top>0.5in</Top><Left>0in</Left><Height>1.2in</Height><Width>3in</Width></Rectangle>",
        textbox("InA", "InA", "0in"),
        textbox("InC", "InC", "0.9in"),
    );
    let body = textbox("Intro", "Intro", "0in") + &outer + &textbox("Tail", "Tail", "1.8in");
    let Some(w) = headed_words(&reg, &[("A", "1")], &body) else {
        return;
    };
    assert_eq!(
        pages(&w),
        [
            "P1/3-1/3-Cover Intro InA",
            "P2/3-2/3-Inside InB",
            "P3/3-3/3-Inside InC Tail",
        ]
    );
    // a grouped table with Between breaks inside a rectangle pages like one in the body
    let table = grouped_table(
        "<PageBreak><BreakLocation>Between</BreakLocation></PageBreak>",
        "0in",
    );
    let body = textbox("Title", "Sales", "0in")
        + &format!(
            "<Rectangle Name=\"Box\"><ReportItems>{table}</ReportItems><Top>0.5in</Top><Left>0.5in</Left><Height>0.8in</Height><Width>4.5in</Width></Rectangle>"
        )
        + &textbox("After", "TheEnd", "1.5in");
    let Some(mut w) = headed_words(&reg, SALES, &body) else {
        return;
    };
    // top to bottom (poppler reads the indented table as a column of its own)
    w.sort_by(|a, b| {
        (a.page, a.y.round() as i64, a.x.round() as i64).cmp(&(
            b.page,
            b.y.round() as i64,
            b.x.round() as i64,
        ))
    });
    assert_eq!(
        pages(&w),
        [
            "P1/3-1/3-Cover Sales Region Amount A 10 A 25 TotalA Sum35",
            "P2/3-2/3-Cover Region Amount B 7 TotalB Sum7",
            "P3/3-3/3-Cover Region Amount C 3 TotalC Sum3 TheEnd",
        ]
    );
    // the table keeps the rectangle's left offset: 1in margin + 0.5in = 108pt
    for h in find(&w, "Region") {
        assert!((h.x - 108.0).abs() < 6.0, "{h:?}");
    }
}

/// A 5-column table (2in each), 10in wide: a header row `ColA`..`ColE`, then one row per
/// data row with cells `A<Amount>`..`E<Amount>`.
fn wide_table() -> String {
    let cols = ["A", "B", "C", "D", "E"];
    let cell = |name: String, v: String| {
        format!(
            "<TablixCell><CellContents>{}</CellContents></TablixCell>",
            textbox(&name, &v, "0in")
        )
    };
    let head: String = cols
        .iter()
        .map(|c| cell(format!("H{c}"), format!("Col{c}")))
        .collect();
    let detail: String = cols
        .iter()
        .map(|c| {
            cell(
                format!("D{c}"),
                format!("=\"{c}\" &amp; Fields!Amount.Value"),
            )
        })
        .collect();
    format!(
        r#"<Tablix Name="Wide"><TablixBody><TablixColumns>{cols}</TablixColumns>
  <TablixRows><TablixRow><Height>0.25in</Height><TablixCells>{head}</TablixCells></TablixRow><TablixRow><Height>0.25in</Height><TablixCells>{detail}</TablixCells></TablixRow></TablixRows></TablixBody>
  <TablixColumnHierarchy><TablixMembers>{members}</TablixMembers></TablixColumnHierarchy>
  <TablixRowHierarchy><TablixMembers><TablixMember><KeepWithGroup>After</KeepWithGroup><RepeatOnNewPage>true</RepeatOnNewPage></TablixMember><TablixMember><Group Name="Details" /></TablixMember></TablixMembers></TablixRowHierarchy>
  <DataSetName>Sales</DataSetName><Top>0in</Top><Left>0in</Left><Height>0.5in</Height><Width>10in</Width></Tablix>"#,
        cols = "<TablixColumn><Width>2in</Width></TablixColumn>".repeat(5),
        members = "<TablixMember />".repeat(5),
    )
}

#[test]
fn a_body_wider_than_the_page_continues_on_horizontal_pages_named_in_a_warning() {
    let Some(reg) = fonts() else { return };
    // 50 rows of 0.25in do not fit the 9.7in body: 2 pages down; 10in of columns on a
    // 7.5in usable width (8.5in - 1in left margin): 2 pages across, cut between C and D
    let amounts: Vec<String> = (1..=50).map(|k| k.to_string()).collect();
    let rows: Vec<(&str, &str)> = amounts.iter().map(|a| ("R", a.as_str())).collect();
    let i = bind_rdl(&report(
        &rows,
        &wide_table(),
        &band("PageHeader", true, true, PAGE_INFO),
    ));
    let opts = PdfOptions::default();
    let mut out = Vec::new();
    let s = render::pdf::render(&i, &reg, &opts, &mut out).unwrap();
    assert_eq!((s.pages, s.total_pages), (4, 4));
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("Wide") && w.contains("1 more page(s) to the right")),
        "{:?}",
        s.warnings
    );
    let Some(w) = words(&out) else { return };
    let on = |p: u32| -> Vec<&str> {
        w.iter()
            .filter(|w| w.page == p)
            .map(|w| w.text.as_str())
            .collect()
    };
    // left to right, then down; the header row repeats on every page of its columns
    for (p, has, not) in [
        (
            1,
            ["P1/4-1/4-Cover", "ColA", "ColC", "A1", "C1"],
            ["ColD", "D1"],
        ),
        (
            2,
            ["P2/4-2/4-Cover", "ColD", "ColE", "D1", "E1"],
            ["ColC", "A1"],
        ),
        (
            3,
            ["P3/4-3/4-Cover", "ColA", "A50", "C50", "ColC"],
            ["D50", "A1"],
        ),
        (
            4,
            ["P4/4-4/4-Cover", "ColD", "D50", "E50", "ColE"],
            ["A50", "C50"],
        ),
    ] {
        let t = on(p);
        for h in has {
            assert!(t.contains(&h), "page {p} lacks {h}: {t:?}");
        }
        for n in not {
            assert!(!t.contains(&n), "page {p} has {n}: {t:?}");
        }
    }
    // the second page across starts its columns at the left margin (72pt)
    let d1 = find(&w, "D1");
    assert_eq!(d1.len(), 1);
    assert!((d1[0].x - 72.0).abs() < 6.0, "{:?}", d1[0]);
}
