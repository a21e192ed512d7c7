//! Charts and gauges of our own, one report per chart type (column, bar, line, area, pie,
//! doughnut, scatter, stacked and 100 %-stacked) and per gauge type (radial, linear),
//! asserted on the output: SVG elements in HTML5 (bars, slices, points, axis labels, legend
//! entries), the text of the PDF through `pdftotext`, the data points in CSV/XML/JSON; and
//! bad input: a chart of 1,000,000 points is drawn bounded, with a warning.

mod common;

use common::fonts;

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

use engine::page::AverageCharMeasurer;
use engine::{BindOptions, DataTable, Globals, Instance};
use rdl::Value;
use render::{DeviceInfo, csv, html, json, xml};

const NS: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

/// Sales by month and region: Jan A 10, Jan B 5, Feb A 20, Feb B 15, Mar A 30, Mar B 25.
fn sales() -> DataTable {
    let rows = [
        ("Jan", 1, "East", 10.0, 1.0),
        ("Jan", 1, "West", 5.0, 2.0),
        ("Feb", 2, "East", 20.0, 3.0),
        ("Feb", 2, "West", 15.0, 4.0),
        ("Mar", 3, "East", 30.0, 5.0),
        ("Mar", 3, "West", 25.0, 6.0),
    ];
    DataTable::from_rows(
        vec![
            "Month".into(),
            "MonthNo".into(),
            "Region".into(),
            "Amount".into(),
            "Units".into(),
        ],
        rows.iter().map(|&(m, n, r, a, u)| {
            vec![
                Value::str(m),
                Value::Int(n),
                Value::str(r),
                Value::Float(a),
                Value::Float(u),
            ]
            .into_boxed_slice()
        }),
    )
}

fn report(items: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="{NS}">
  <DataSources><DataSource Name="DS"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="Sales"><Query><DataSourceName>DS</DataSourceName><CommandText>x</CommandText></Query>
    <Fields><Field Name="Month"><DataField>Month</DataField></Field><Field Name="MonthNo"><DataField>MonthNo</DataField></Field><Field Name="Region"><DataField>Region</DataField></Field><Field Name="Amount"><DataField>Amount</DataField></Field><Field Name="Units"><DataField>Units</DataField></Field></Fields>
  </DataSet></DataSets>
  <ReportSections><ReportSection><Body><ReportItems>{items}</ReportItems><Height>4in</Height></Body><Width>7in</Width>
    <Page><PageHeight>11in</PageHeight><PageWidth>8.5in</PageWidth></Page></ReportSection></ReportSections>
</Report>"#
    )
}

/// A chart of Amount by Month (category group) × Region (series group, unless `static_series`).
fn chart(ty: &str, subtype: &str, extra_point: &str, static_series: bool) -> String {
    let series_hierarchy = if static_series {
        "<ChartMembers><ChartMember><Label>Amount</Label></ChartMember></ChartMembers>"
    } else {
        r#"<ChartMembers><ChartMember><Group Name="RegionGroup"><GroupExpressions><GroupExpression>=Fields!Region.Value</GroupExpression></GroupExpressions></Group><SortExpressions><SortExpression><Value>=Fields!Region.Value</Value></SortExpression></SortExpressions><Label>=Fields!Region.Value</Label></ChartMember></ChartMembers>"#
    };
    format!(
        r#"<Chart Name="SalesChart">
  <ChartCategoryHierarchy><ChartMembers><ChartMember><Group Name="MonthGroup"><GroupExpressions><GroupExpression>=Fields!MonthNo.Value</GroupExpression></GroupExpressions></Group><SortExpressions><SortExpression><Value>=Fields!MonthNo.Value</Value></SortExpression></SortExpressions><Label>=Fields!Month.Value</Label></ChartMember></ChartMembers></ChartCategoryHierarchy>
  <ChartSeriesHierarchy>{series_hierarchy}</ChartSeriesHierarchy>
  <ChartData><ChartSeriesCollection><ChartSeries Name="Amount">
    <ChartDataPoints><ChartDataPoint><ChartDataPointValues><Y>=Sum(Fields!Amount.Value)</Y>{extra_point}</ChartDataPointValues>
      <ChartDataLabel><Style><Format>0.0</Format></Style><UseValueAsLabel>true</UseValueAsLabel><Visible>true</Visible></ChartDataLabel>
      <ChartMarker/></ChartDataPoint></ChartDataPoints>
    <Type>{ty}</Type><Subtype>{subtype}</Subtype><ChartSmartLabel/>
  </ChartSeries></ChartSeriesCollection></ChartData>
  <ChartAreas><ChartArea Name="Default">
    <ChartCategoryAxes><ChartAxis Name="Primary"><ChartAxisTitle><Caption>Month</Caption></ChartAxisTitle></ChartAxis></ChartCategoryAxes>
    <ChartValueAxes><ChartAxis Name="Primary"><Style><Format>$#,0</Format></Style><ChartAxisTitle><Caption>Revenue</Caption></ChartAxisTitle><Minimum>0</Minimum><Interval>10</Interval><ChartMajorGridLines><Enabled>True</Enabled></ChartMajorGridLines></ChartAxis></ChartValueAxes>
  </ChartArea></ChartAreas>
  <ChartLegends><ChartLegend Name="Default"><Position>BottomCenter</Position></ChartLegend></ChartLegends>
  <ChartTitles><ChartTitle Name="Default"><Caption>Quarterly sales</Caption></ChartTitle></ChartTitles>
  <Palette>Pastel</Palette>
  <ChartNoDataMessage Name="NoDataMessage"><Caption>Nothing sold</Caption></ChartNoDataMessage>
  <DataSetName>Sales</DataSetName>
  <Height>3in</Height><Width>5in</Width>
</Chart>"#
    )
}

fn gauges() -> String {
    let scale = |kind: &str, pointer: &str| {
        format!(
            r#"<GaugeScales><{kind}Scale Name="S">
  <GaugePointers><{kind}Pointer Name="P"><GaugeInputValue><Value>=Sum(Fields!Amount.Value)</Value></GaugeInputValue></{kind}Pointer>{pointer}</GaugePointers>
  <ScaleRanges><ScaleRange Name="Hot"><StartValue><Value>100</Value></StartValue><EndValue><Value>120</Value></EndValue><Style><BackgroundColor>Red</BackgroundColor></Style></ScaleRange></ScaleRanges>
  <MinimumValue><Value>0</Value></MinimumValue><MaximumValue><Value>120</Value></MaximumValue><Interval>20</Interval>
  <ScaleLabels><Style><Format>0</Format></Style></ScaleLabels>
</{kind}Scale></GaugeScales>"#
        )
    };
    format!(
        r#"<GaugePanel Name="Speed">
  <RadialGauges><RadialGauge Name="Dial"><Left>0</Left><Top>0</Top><Width>50</Width><Height>85</Height>{}</RadialGauge></RadialGauges>
  <LinearGauges><LinearGauge Name="Bar"><Left>50</Left><Top>0</Top><Width>50</Width><Height>85</Height>{}</LinearGauge></LinearGauges>
  <GaugeLabels><GaugeLabel Name="L"><Text>Total sold</Text><Left>0</Left><Top>85</Top><Width>100</Width><Height>15</Height></GaugeLabel></GaugeLabels>
  <DataSetName>Sales</DataSetName>
  <Top>3.5in</Top><Height>2in</Height><Width>5in</Width>
</GaugePanel>"#,
        scale("Radial", ""),
        scale("Linear", "")
    )
}

fn bind_report(rdl: &str, table: DataTable) -> Instance {
    let c = Arc::new(engine::parse_and_prepare("/Tests/Charts", rdl.as_bytes()).unwrap());
    let mut d = HashMap::new();
    d.insert("Sales".to_owned(), Arc::new(table));
    let p = c.resolve_parameters(&HashMap::new(), &d).unwrap();
    let g = Globals {
        execution_time: time::macros::datetime!(2026-12-01 10:30:00),
        ..Globals::default()
    };
    engine::bind(&c, &p, &d, &g, &BindOptions::default()).unwrap()
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

/// The SVG inlined in the page (one per chart).
fn svgs(page: &str) -> Vec<&str> {
    page.match_indices("<svg ")
        .map(|(i, _)| {
            let end = page[i..].find("</svg>").unwrap();
            &page[i..i + end + 6]
        })
        .collect()
}

fn count(svg: &str, class: &str) -> usize {
    svg.matches(&format!("class=\"{class}\"")).count()
}

/// The texts of the elements of `class`.
fn texts(svg: &str, class: &str) -> Vec<String> {
    let pat = format!("<text class=\"{class}\"");
    svg.match_indices(&pat)
        .map(|(i, _)| {
            let s = &svg[i..];
            let start = s.find('>').unwrap() + 1;
            let end = s.find("</text>").unwrap();
            s[start..end].replace("&amp;", "&")
        })
        .collect()
}

fn one_svg(ty: &str, subtype: &str, extra: &str, static_series: bool) -> (Instance, String) {
    let i = bind_report(&report(&chart(ty, subtype, extra, static_series)), sales());
    let page = to_html(&i);
    let s = svgs(&page);
    assert_eq!(s.len(), 1, "{page}");
    (i, s[0].to_owned())
}

#[test]
fn column_chart_draws_a_bar_per_point_with_axes_legend_title_and_labels() {
    let (i, svg) = one_svg("Column", "Plain", "", false);
    assert!(!svg.contains("style="), "CSP: no inline style: {svg}");
    assert_eq!(count(&svg, "bar"), 6, "{svg}");
    assert_eq!(texts(&svg, "legend-entry"), vec!["East", "West"]);
    assert_eq!(texts(&svg, "title"), vec!["Quarterly sales"]);
    assert_eq!(texts(&svg, "axis-title"), vec!["Revenue", "Month"]);
    let labels = texts(&svg, "axis-label");
    for l in ["$0", "$10", "$20", "$30", "Jan", "Feb", "Mar"] {
        assert!(labels.contains(&l.to_string()), "{l} not in {labels:?}");
    }
    assert!(!labels.contains(&"$40".to_string()), "{labels:?}");
    assert_eq!(
        texts(&svg, "data-label"),
        vec!["10.0", "20.0", "30.0", "5.0", "15.0", "25.0"]
    );
    assert!(count(&svg, "gridline") >= 4);
    // Pastel palette: East sky blue, West lime green
    assert!(
        svg.contains("fill=\"#87ceeb\"") && svg.contains("fill=\"#32cd32\""),
        "{svg}"
    );
    assert!(i.warnings().is_empty(), "{:?}", i.warnings());
}

#[test]
fn bar_line_area_scatter_and_stacked_variants() {
    let (_, bar) = one_svg("Bar", "Plain", "", false);
    assert_eq!(count(&bar, "bar"), 6);
    let (_, stacked) = one_svg("Column", "Stacked", "", false);
    assert_eq!(count(&stacked, "bar"), 6);
    // stacked: the value axis reaches the 55 of March
    assert!(texts(&stacked, "axis-label").contains(&"$60".to_string()));
    let (_, pct) = one_svg("Bar", "PercentStacked", "", false);
    assert_eq!(count(&pct, "bar"), 6);
    assert!(
        texts(&pct, "axis-label").iter().any(|l| l.contains("100")),
        "{pct}"
    );
    let (_, line) = one_svg("Line", "Plain", "", false);
    assert_eq!((count(&line, "line"), count(&line, "marker")), (2, 6));
    let (_, area) = one_svg("Area", "Stacked", "", false);
    assert_eq!(count(&area, "area"), 2);
    let (_, scatter) = one_svg("Scatter", "Plain", "<X>=Sum(Fields!Units.Value)</X>", false);
    assert_eq!(count(&scatter, "point"), 6, "{scatter}");
}

#[test]
fn pie_and_doughnut_draw_a_slice_per_category_and_legend_the_categories() {
    for sub in ["Pie", "Doughnut"] {
        let (_, svg) = one_svg("Shape", sub, "", true);
        assert_eq!(count(&svg, "slice"), 3, "{sub}: {svg}");
        assert_eq!(
            texts(&svg, "legend-entry"),
            vec!["Jan", "Feb", "Mar"],
            "{sub}"
        );
        assert_eq!(
            texts(&svg, "data-label"),
            vec!["15.0", "35.0", "55.0"],
            "{sub}"
        );
    }
}

#[test]
fn exotic_and_3d_types_draw_their_2d_equivalent_with_a_warning() {
    let rdl = report(&chart("Polar", "Radar", "", false)).replace(
        "<ChartArea Name=\"Default\">",
        "<ChartArea Name=\"Default\"><ChartThreeDProperties><Enabled>true</Enabled></ChartThreeDProperties>",
    );
    let i = bind_report(&rdl, sales());
    let w = i.warnings().join("\n");
    assert!(w.contains("drawn as line charts"), "{w}");
    assert!(w.contains("3-D charts are drawn in 2-D"), "{w}");
    let page = to_html(&i);
    assert_eq!(count(svgs(&page)[0], "line"), 2);
}

#[test]
fn no_data_shows_the_no_data_message() {
    let t = DataTable::from_rows(sales().fields, Vec::<Vec<Value>>::new());
    let i = bind_report(&report(&chart("Column", "Plain", "", false)), t);
    let page = to_html(&i);
    let svg = svgs(&page)[0];
    assert_eq!(texts(svg, "no-data"), vec!["Nothing sold"]);
    assert_eq!(count(svg, "bar"), 0);
}

#[test]
fn radial_and_linear_gauges_draw_scales_ranges_pointers_and_labels() {
    let i = bind_report(&report(&gauges()), sales());
    let page = to_html(&i);
    let svg = svgs(&page)[0];
    assert_eq!(count(svg, "gauge-pointer"), 2, "{svg}");
    assert_eq!(count(svg, "gauge-range"), 2);
    assert_eq!(count(svg, "gauge-tick"), 14, "0..120 by 20, two gauges");
    let labels = texts(svg, "gauge-label");
    assert_eq!(
        labels.iter().filter(|l| *l == "120").count(),
        2,
        "{labels:?}"
    );
    assert_eq!(texts(svg, "gauge-text"), vec!["Total sold"]);
}

#[test]
fn data_renderers_carry_the_data_points() {
    let i = bind_report(
        &report(&format!(
            "{}{}",
            chart("Column", "Plain", "", false),
            gauges()
        )),
        sales(),
    );
    let mut v = Vec::new();
    csv::render(
        &i,
        &csv::CsvOptions::from_device_info(&DeviceInfo::new(&HashMap::new())).unwrap(),
        &mut v,
    )
    .unwrap();
    let text = String::from_utf8(v).unwrap();
    assert!(text.contains("East,Jan,10"), "{text}");
    assert!(text.contains("West,Mar,25"), "{text}");
    let mut v = Vec::new();
    xml::render(&i, &xml::XmlOptions::default(), &mut v).unwrap();
    let x = String::from_utf8(v).unwrap();
    assert!(
        x.contains(r#"<DataPoint Series="East" Category="Feb" Y="20" />"#),
        "{x}"
    );
    assert!(
        x.contains(r#"Name="Dial" Minimum="0" Maximum="120" Pointer="105""#),
        "{x}"
    );
    let mut v = Vec::new();
    json::render(&i, &json::JsonOptions::default(), &mut v).unwrap();
    let j: serde_json::Value = serde_json::from_slice(&v).unwrap();
    let s = j.to_string();
    assert!(s.contains("\"Category\":\"Mar\""), "{s}");
    assert!(s.contains("\"Y\":25"), "Y is a number: {s}");
}

#[test]
fn a_million_points_are_drawn_bounded_with_a_warning() {
    let rows = (0..1_000_000i64).map(|n| {
        vec![
            Value::str("m"),
            Value::Int(n),
            Value::str("East"),
            Value::Float((n % 97) as f64),
            Value::Float(1.0),
        ]
        .into_boxed_slice()
    });
    let t = DataTable::from_rows(sales().fields, rows);
    let i = bind_report(&report(&chart("Line", "Plain", "", true)), t);
    assert!(
        i.warnings()
            .iter()
            .any(|w| w.contains("more than 10000") && w.contains("not drawn")),
        "{:?}",
        i.warnings()
    );
    let page = to_html(&i);
    let svg = svgs(&page)[0];
    assert_eq!(count(svg, "marker"), 10_000, "the cap on points drawn");
    assert_eq!(texts(svg, "note").len(), 1);
    assert!(svg.len() < 8 << 20, "{} bytes", svg.len());
}

fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("charts.pdf");
    std::fs::write(&path, pdf).unwrap();
    match Command::new("pdftotext").arg(&path).arg("-").output() {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            Some(String::from_utf8(o.stdout).unwrap())
        }
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("pdftotext is not installed (apt-get install poppler-utils): {e}");
            }
            println!("skipped: pdftotext not installed ({e})");
            None
        }
    }
}

#[test]
fn pdf_draws_charts_and_gauges_as_vectors_with_their_text() {
    let Some(reg) = fonts() else { return };
    let i = bind_report(
        &report(&format!(
            "{}{}",
            chart("Column", "Plain", "", false),
            gauges()
        )),
        sales(),
    );
    let opts =
        render::pdf::PdfOptions::from_device_info(&DeviceInfo::new(&HashMap::new())).unwrap();
    let mut out = Vec::new();
    let summary = render::pdf::render(&i, &reg, &opts, &mut out).unwrap();
    let mut again = Vec::new();
    render::pdf::render(&i, &reg, &opts, &mut again).unwrap();
    assert!(out == again, "two renders of one execution differ");
    // to look at it: REPORTD_CHART_PDF=/tmp/charts.pdf, then pdftoppm -png
    if let Ok(p) = std::env::var("REPORTD_CHART_PDF") {
        std::fs::write(p, &out).unwrap();
    }
    if let Ok(p) = std::env::var("REPORTD_CHART_HTML") {
        std::fs::write(p, to_html(&i)).unwrap();
    }
    let Some(text) = pdftotext(&out) else { return };
    // the chart text is set in the registry's Arial substitute, embedded as a subset
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fonts.pdf");
    std::fs::write(&path, &out).unwrap();
    let fonts = Command::new("pdffonts").arg(&path).output().unwrap();
    let fonts = String::from_utf8(fonts.stdout).unwrap();
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for r in rows {
        assert!(
            r.contains(" yes yes yes "),
            "not embedded/subset/ToUnicode: {r}"
        );
    }
    for t in [
        "Quarterly sales",
        "Revenue",
        "Month",
        "East",
        "West",
        "Jan",
        "$30",
        "Total sold",
        "120",
    ] {
        assert!(
            text.contains(t),
            "{t:?} not in the PDF text:\n{text}\n{summary:?}"
        );
    }
}

#[test]
fn an_rdl_2005_chart_draws_too() {
    let rdl = r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2005/01/reportdefinition">
  <DataSources><DataSource Name="DS"><ConnectionProperties><DataProvider>ENTERDATA</DataProvider><ConnectString /></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="Sales"><Query><DataSourceName>DS</DataSourceName><CommandText>x</CommandText></Query>
    <Fields><Field Name="Month"><DataField>Month</DataField></Field><Field Name="MonthNo"><DataField>MonthNo</DataField></Field><Field Name="Region"><DataField>Region</DataField></Field><Field Name="Amount"><DataField>Amount</DataField></Field><Field Name="Units"><DataField>Units</DataField></Field></Fields>
  </DataSet></DataSets>
  <Body><ReportItems><Chart Name="Old"><Type>Column</Type><Subtype>Stacked</Subtype><DataSetName>Sales</DataSetName>
    <CategoryGroupings><CategoryGrouping><DynamicCategories><Grouping Name="M"><GroupExpressions><GroupExpression>=Fields!MonthNo.Value</GroupExpression></GroupExpressions></Grouping><Label>=Fields!Month.Value</Label></DynamicCategories></CategoryGrouping></CategoryGroupings>
    <SeriesGroupings><SeriesGrouping><DynamicSeries><Grouping Name="R"><GroupExpressions><GroupExpression>=Fields!Region.Value</GroupExpression></GroupExpressions></Grouping><Label>=Fields!Region.Value</Label></DynamicSeries></SeriesGrouping></SeriesGroupings>
    <ChartData><ChartSeries><DataPoints><DataPoint><DataValues><DataValue><Value>=Sum(Fields!Amount.Value)</Value></DataValue></DataValues></DataPoint></DataPoints></ChartSeries></ChartData>
    <Legend><Visible>true</Visible></Legend><Height>3in</Height><Width>5in</Width>
  </Chart></ReportItems><Height>4in</Height></Body><Width>7in</Width>
</Report>"#;
    let i = bind_report(rdl, sales());
    let page = to_html(&i);
    let svg = svgs(&page)[0];
    assert_eq!(count(svg, "bar"), 6, "{svg}");
    assert_eq!(texts(svg, "legend-entry"), vec!["East", "West"]);
    assert!(
        texts(svg, "axis-label").contains(&"60".to_string()),
        "{svg}"
    );
}

/// Two static series with their own definitions (a column and a line: a combination chart),
/// in a tablix cell: one chart per region, each over that region's rows.
#[test]
fn a_combination_chart_per_group_in_a_tablix() {
    let chart = r#"<Chart Name="PerRegion">
  <ChartCategoryHierarchy><ChartMembers><ChartMember><Group Name="M"><GroupExpressions><GroupExpression>=Fields!MonthNo.Value</GroupExpression></GroupExpressions></Group><Label>=Fields!Month.Value</Label></ChartMember></ChartMembers></ChartCategoryHierarchy>
  <ChartSeriesHierarchy><ChartMembers><ChartMember><Label>Amount</Label></ChartMember><ChartMember><Label>Units</Label></ChartMember></ChartMembers></ChartSeriesHierarchy>
  <ChartData><ChartSeriesCollection>
    <ChartSeries Name="A"><ChartDataPoints><ChartDataPoint><ChartDataPointValues><Y>=Sum(Fields!Amount.Value)</Y></ChartDataPointValues></ChartDataPoint></ChartDataPoints><Type>Column</Type></ChartSeries>
    <ChartSeries Name="U"><ChartDataPoints><ChartDataPoint><ChartDataPointValues><Y>=Sum(Fields!Units.Value)</Y></ChartDataPointValues></ChartDataPoint></ChartDataPoints><Type>Line</Type></ChartSeries>
  </ChartSeriesCollection></ChartData>
  <ChartLegends><ChartLegend Name="L"/></ChartLegends><DataSetName>Sales</DataSetName>
</Chart>"#;
    let tablix = format!(
        r#"<Tablix Name="T"><TablixBody><TablixColumns><TablixColumn><Width>5in</Width></TablixColumn></TablixColumns>
  <TablixRows><TablixRow><Height>2in</Height><TablixCells><TablixCell><CellContents>{chart}</CellContents></TablixCell></TablixCells></TablixRow></TablixRows></TablixBody>
  <TablixColumnHierarchy><TablixMembers><TablixMember/></TablixMembers></TablixColumnHierarchy>
  <TablixRowHierarchy><TablixMembers><TablixMember><Group Name="Region"><GroupExpressions><GroupExpression>=Fields!Region.Value</GroupExpression></GroupExpressions></Group></TablixMember></TablixMembers></TablixRowHierarchy>
  <DataSetName>Sales</DataSetName><Height>2in</Height><Width>5in</Width></Tablix>"#
    );
    let i = bind_report(&report(&tablix), sales());
    let page = to_html(&i);
    let charts = svgs(&page);
    assert_eq!(charts.len(), 2, "{page}");
    for svg in &charts {
        assert_eq!((count(svg, "bar"), count(svg, "line")), (3, 1), "{svg}");
        assert_eq!(texts(svg, "legend-entry"), vec!["Amount", "Units"]);
    }
    // East's amounts reach 30, West's 25: each chart scales to its own group's rows
    assert!(texts(charts[0], "axis-label").contains(&"30".to_string()));
    assert!(
        !texts(charts[1], "axis-label").contains(&"30".to_string()),
        "{}",
        charts[1]
    );
}
