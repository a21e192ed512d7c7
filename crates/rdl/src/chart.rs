//! The chart and gauge definitions (`Chart`, `GaugePanel`) and their parser.
//!
//! Owns: the model of the parts of an RDL 2008+ chart that reportd draws — the category and
//! series hierarchies (`ChartMember`s with groups, sorts and labels), `ChartData` (series with
//! their `Type`/`Subtype` and data points with `Y`, `X`, `Size`, data labels and colours),
//! `ChartAreas` (category and value axes: title, `Minimum`/`Maximum`/`Interval`, label
//! format, visibility, major gridlines), legends, titles, `Palette`, `ChartNoDataMessage` —
//! and of gauge panels (radial and linear gauges, their scales with minimum/maximum,
//! interval, tick marks and labels, ranges and pointers, and `GaugeLabels`).
//!
//! What is not drawn is said once, at parse time, as a warning: 3-D areas and exotic series
//! types (polar, radar, range, stock, funnel, ...) are read as their 2-D equivalent. The
//! many purely cosmetic elements (markers, smart labels, borders of parts, empty-point
//! styles, custom properties, frames, needles' shapes...) are skipped without warnings.
//!
//! Must not: evaluate expressions (the engine does), do I/O. Lives inside `parse` (as
//! `parse::chart`) so it shares the parser's context: expression ids, warnings, located
//! errors.

use roxmltree::Node;

use super::{Cx, R};
use crate::model::{Expression, Filter, Group, Location, SortExpression, Style};

/// How a series is drawn (the `Type` and `Subtype` pair mapped onto what reportd draws).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChartKind {
    /// `Column`.
    #[default]
    Column,
    /// `Bar`.
    Bar,
    /// `Line`.
    Line,
    /// `Area`.
    Area,
    /// `Shape` / `Pie` (and `ExplodedPie`).
    Pie,
    /// `Shape` / `Doughnut` (and `ExplodedDoughnut`).
    Doughnut,
    /// `Scatter` (`Point`, `Bubble`).
    Scatter,
}

/// Stacking from the `Subtype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChartStacking {
    /// `Plain`.
    #[default]
    None,
    /// `Stacked`.
    Stacked,
    /// `PercentStacked`.
    Percent,
}

/// A chart report item.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chart {
    /// `DataSetName`.
    pub data_set_name: Option<String>,
    /// `Filters`.
    pub filters: Vec<Filter>,
    /// `ChartCategoryHierarchy/ChartMembers`.
    pub category_hierarchy: Vec<ChartMember>,
    /// `ChartSeriesHierarchy/ChartMembers`.
    pub series_hierarchy: Vec<ChartMember>,
    /// `ChartData/ChartSeriesCollection`: one per leaf of the series hierarchy.
    pub series: Vec<ChartSeries>,
    /// `ChartAreas` (the first one is drawn).
    pub areas: Vec<ChartArea>,
    /// `ChartLegends` (the first one is drawn).
    pub legends: Vec<ChartLegend>,
    /// `ChartTitles`.
    pub titles: Vec<ChartTitle>,
    /// `Palette` as written (`None`: `Default`).
    pub palette: Option<String>,
    /// `ChartNoDataMessage/Caption`.
    pub no_data_message: Option<Expression>,
    /// `Style/BackgroundColor` of the chart.
    pub background_color: Option<Expression>,
}

/// A member of the category or series hierarchy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartMember {
    /// `Group` (`None`: a static member).
    pub group: Option<Group>,
    /// `SortExpressions`.
    pub sort_expressions: Vec<SortExpression>,
    /// `Label`.
    pub label: Option<Expression>,
    /// `ChartMembers`: children.
    pub members: Vec<ChartMember>,
}

impl ChartMember {
    /// Leaves under (and including) this member.
    pub fn leaf_count(&self) -> usize {
        if self.members.is_empty() {
            1
        } else {
            self.members.iter().map(ChartMember::leaf_count).sum()
        }
    }
}

/// A `ChartSeries`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartSeries {
    /// `Name`.
    pub name: String,
    /// What is drawn.
    pub kind: ChartKind,
    /// Stacking.
    pub stacking: ChartStacking,
    /// `ChartDataPoints`: one per leaf of the category hierarchy.
    pub data_points: Vec<ChartDataPoint>,
    /// `Style/Color` (or `BackgroundColor`).
    pub color: Option<Expression>,
    /// `Hidden`.
    pub hidden: Option<Expression>,
    /// `LegendText`.
    pub legend_text: Option<Expression>,
    /// `HideInLegend`.
    pub hide_in_legend: Option<Expression>,
    /// Where it is defined.
    pub at: Location,
}

/// A `ChartDataPoint`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartDataPoint {
    /// `ChartDataPointValues/Y`.
    pub y: Option<Expression>,
    /// `ChartDataPointValues/X`.
    pub x: Option<Expression>,
    /// `ChartDataPointValues/Size`.
    pub size: Option<Expression>,
    /// `ChartDataLabel`.
    pub label: Option<ChartDataLabel>,
    /// `Style/Color` (or `BackgroundColor`).
    pub color: Option<Expression>,
}

/// A `ChartDataLabel`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartDataLabel {
    /// `Visible`.
    pub visible: Option<Expression>,
    /// `Label` (`None` with `UseValueAsLabel`: the Y value).
    pub label: Option<Expression>,
    /// `UseValueAsLabel`.
    pub use_value_as_label: bool,
    /// `Style/Format`.
    pub format: Option<Expression>,
}

/// A `ChartArea`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartArea {
    /// `Name`.
    pub name: String,
    /// `ChartCategoryAxes` (the first is drawn).
    pub category_axes: Vec<ChartAxis>,
    /// `ChartValueAxes` (the first is drawn).
    pub value_axes: Vec<ChartAxis>,
}

/// A `ChartAxis`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartAxis {
    /// `Name`.
    pub name: String,
    /// `ChartAxisTitle/Caption`.
    pub title: Option<Expression>,
    /// `Minimum`.
    pub minimum: Option<Expression>,
    /// `Maximum`.
    pub maximum: Option<Expression>,
    /// `Interval`.
    pub interval: Option<Expression>,
    /// `Style/Format`.
    pub format: Option<Expression>,
    /// `Visible` (`Auto`, `True`, `False`).
    pub visible: Option<Expression>,
    /// `ChartMajorGridLines/Enabled`.
    pub gridlines: Option<Expression>,
}

/// A `ChartLegend`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartLegend {
    /// `Hidden`.
    pub hidden: Option<Expression>,
    /// `Position` as written (`TopRight`, `BottomCenter`, ...).
    pub position: Option<String>,
    /// `ChartLegendTitle/Caption`.
    pub title: Option<Expression>,
}

/// A `ChartTitle`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartTitle {
    /// `Caption`.
    pub caption: Option<Expression>,
    /// `Hidden`.
    pub hidden: Option<Expression>,
}

/// Radial or linear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GaugeKind {
    /// `RadialGauge`.
    #[default]
    Radial,
    /// `LinearGauge`.
    Linear,
}

/// A gauge panel report item.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GaugePanel {
    /// `DataSetName`.
    pub data_set_name: Option<String>,
    /// `Filters`.
    pub filters: Vec<Filter>,
    /// `RadialGauges` and `LinearGauges`, in document order.
    pub gauges: Vec<Gauge>,
    /// `GaugeLabels`.
    pub labels: Vec<GaugeLabel>,
}

/// A `RadialGauge` or `LinearGauge`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Gauge {
    /// `Name`.
    pub name: String,
    /// Radial or linear.
    pub kind: GaugeKind,
    /// `Left`, `Top`, `Width`, `Height` in percent of the panel (0 width: all of it).
    pub rect: [f64; 4],
    /// `GaugeScales` (the first is drawn).
    pub scales: Vec<GaugeScale>,
}

/// A `RadialScale` or `LinearScale`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GaugeScale {
    /// `MinimumValue/Value` (default 0).
    pub minimum: Option<Expression>,
    /// `MaximumValue/Value` (default 100).
    pub maximum: Option<Expression>,
    /// `Interval`.
    pub interval: Option<Expression>,
    /// `GaugeMajorTickMarks/Hidden`.
    pub ticks_hidden: Option<Expression>,
    /// `ScaleLabels/Hidden`.
    pub labels_hidden: Option<Expression>,
    /// `ScaleLabels/Style/Format`.
    pub format: Option<Expression>,
    /// `ScaleRanges`.
    pub ranges: Vec<GaugeRange>,
    /// `GaugePointers`: each pointer's `GaugeInputValue/Value`.
    pub pointers: Vec<Expression>,
    /// `StartAngle` (radial).
    pub start_angle: Option<f64>,
    /// `SweepAngle` (radial).
    pub sweep_angle: Option<f64>,
}

/// A `ScaleRange`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GaugeRange {
    /// `StartValue/Value`.
    pub start: Option<Expression>,
    /// `EndValue/Value`.
    pub end: Option<Expression>,
    /// `Style/BackgroundColor`.
    pub color: Option<Expression>,
}

/// A `GaugeLabel`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GaugeLabel {
    /// `Text`.
    pub text: Option<Expression>,
    /// `Left`, `Top`, `Width`, `Height` in percent.
    pub rect: [f64; 4],
    /// `Style/FontSize`.
    pub font_size: Option<Expression>,
}

/// Series types reportd draws as something else, with what it says.
fn substitute(t: &str, sub: &str) -> Option<(ChartKind, ChartStacking, Option<&'static str>)> {
    use ChartKind as K;
    use ChartStacking as S;
    let stacking = match sub {
        "Stacked" => S::Stacked,
        "PercentStacked" => S::Percent,
        _ => S::None,
    };
    Some(match t {
        "Column" => (K::Column, stacking, None),
        "Bar" => (K::Bar, stacking, None),
        "Area" => match sub {
            "Smooth" => (
                K::Area,
                S::None,
                Some("a smooth area is drawn with straight segments"),
            ),
            _ => (K::Area, stacking, None),
        },
        "Line" => match sub {
            "Smooth" | "Stepped" => (
                K::Line,
                S::None,
                Some("a smooth or stepped line is drawn with straight segments"),
            ),
            _ => (K::Line, S::None, None),
        },
        "Scatter" => (K::Scatter, S::None, None),
        "Shape" => match sub {
            "Doughnut" | "ExplodedDoughnut" => (K::Doughnut, S::None, None),
            "Funnel" | "Pyramid" => (
                K::Pie,
                S::None,
                Some("funnel and pyramid charts are drawn as pie charts"),
            ),
            _ => (K::Pie, S::None, None),
        },
        "Polar" => (
            K::Line,
            S::None,
            Some("polar and radar charts are drawn as line charts"),
        ),
        "Range" => match sub {
            "RangeBar" => (
                K::Bar,
                S::None,
                Some("range charts are drawn as their plain 2-D type (the low value is not shown)"),
            ),
            "RangeColumn" => (
                K::Column,
                S::None,
                Some("range charts are drawn as their plain 2-D type (the low value is not shown)"),
            ),
            _ => (
                K::Area,
                S::None,
                Some("range charts are drawn as their plain 2-D type (the low value is not shown)"),
            ),
        },
        "Stock" => (
            K::Line,
            S::None,
            Some("stock and candlestick charts are drawn as line charts of their Y values"),
        ),
        _ => return None,
    })
}

/// Parses a number written as a constant (gauge positions and angles).
fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

impl Cx<'_> {
    /// A `<Chart>` element's own children (those the common item part did not take).
    pub(super) fn chart(&mut self, node: Node<'_, '_>, rest: &[Node<'_, '_>]) -> R<Chart> {
        let mut ch = Chart::default();
        let mut three_d = false;
        for &c in rest {
            match c.tag_name().name() {
                "DataSetName" => ch.data_set_name = Some(self.string(c)),
                "Filters" => ch.filters = self.filters(c)?,
                "ChartCategoryHierarchy" => ch.category_hierarchy = self.chart_hierarchy(c)?,
                "ChartSeriesHierarchy" => ch.series_hierarchy = self.chart_hierarchy(c)?,
                "ChartData" => {
                    for d in self.children(c) {
                        if d.tag_name().name() == "ChartSeriesCollection" {
                            for s in self.children(d) {
                                if s.tag_name().name() == "ChartSeries" {
                                    ch.series.push(self.chart_series(s)?);
                                }
                            }
                        }
                    }
                }
                "ChartAreas" => {
                    for a in self.children(c) {
                        if a.tag_name().name() == "ChartArea" {
                            let (area, td) = self.chart_area(a)?;
                            three_d |= td;
                            ch.areas.push(area);
                        }
                    }
                }
                "ChartLegends" => {
                    for l in self.children(c) {
                        if l.tag_name().name() == "ChartLegend" {
                            ch.legends.push(self.chart_legend(l));
                        }
                    }
                }
                "ChartTitles" => {
                    for t in self.children(c) {
                        if t.tag_name().name() == "ChartTitle" {
                            let mut title = ChartTitle::default();
                            for x in self.children(t) {
                                match x.tag_name().name() {
                                    "Caption" => title.caption = Some(self.expr(x)),
                                    "Hidden" => title.hidden = Some(self.expr(x)),
                                    _ => {}
                                }
                            }
                            ch.titles.push(title);
                        }
                    }
                }
                "Palette" => {
                    let p = self.string(c);
                    const NAMES: [&str; 12] = [
                        "Default",
                        "EarthTones",
                        "Excel",
                        "GrayScale",
                        "Light",
                        "Pastel",
                        "SemiTransparent",
                        "Berry",
                        "Chocolate",
                        "Fire",
                        "SeaGreen",
                        "BrightPastel",
                    ];
                    if !NAMES.iter().any(|n| n.eq_ignore_ascii_case(&p)) {
                        self.warn(
                            c,
                            format!(
                                "the palette '{p}' is not supported; the Default palette is used (write one of {})",
                                NAMES.join(", ")
                            ),
                        );
                    }
                    ch.palette = Some(p);
                }
                "ChartNoDataMessage" => {
                    for x in self.children(c) {
                        if x.tag_name().name() == "Caption" {
                            ch.no_data_message = Some(self.expr(x));
                        }
                    }
                }
                "Style" => ch.background_color = self.style(c)?.background_color,
                _ => {}
            }
        }
        if three_d {
            self.warn(
                node,
                "3-D charts are drawn in 2-D (ChartThreeDProperties is ignored)",
            );
        }
        Ok(ch)
    }

    fn chart_hierarchy(&mut self, node: Node<'_, '_>) -> R<Vec<ChartMember>> {
        let mut out = Vec::new();
        for c in self.children(node) {
            if c.tag_name().name() == "ChartMembers" {
                out = self.chart_members(c)?;
            }
        }
        Ok(out)
    }

    fn chart_members(&mut self, node: Node<'_, '_>) -> R<Vec<ChartMember>> {
        let mut out = Vec::new();
        for m in self.children(node) {
            if m.tag_name().name() != "ChartMember" {
                self.unknown(m);
                continue;
            }
            let mut cm = ChartMember::default();
            for c in self.children(m) {
                match c.tag_name().name() {
                    "Group" => cm.group = Some(self.group(c)?),
                    "SortExpressions" => cm.sort_expressions = self.sort_expressions(c)?,
                    "Label" => cm.label = Some(self.expr(c)),
                    "ChartMembers" => cm.members = self.chart_members(c)?,
                    _ => {}
                }
            }
            out.push(cm);
        }
        Ok(out)
    }

    fn chart_series(&mut self, node: Node<'_, '_>) -> R<ChartSeries> {
        let mut s = ChartSeries {
            name: node.attribute("Name").unwrap_or_default().to_owned(),
            at: self.at(node),
            ..ChartSeries::default()
        };
        let (mut ty, mut sub) = ("Column".to_owned(), "Plain".to_owned());
        let mut type_node = node;
        for c in self.children(node) {
            match c.tag_name().name() {
                "Type" => {
                    ty = self.string(c);
                    type_node = c;
                }
                "Subtype" => sub = self.string(c),
                "ChartDataPoints" => {
                    for p in self.children(c) {
                        if p.tag_name().name() == "ChartDataPoint" {
                            s.data_points.push(self.chart_data_point(p)?);
                        }
                    }
                }
                "Style" => {
                    let st = self.style(c)?;
                    s.color = st.color.or(st.background_color);
                }
                "Hidden" => s.hidden = Some(self.expr(c)),
                "LegendText" => s.legend_text = Some(self.expr(c)),
                "HideInLegend" => s.hide_in_legend = Some(self.expr(c)),
                _ => {}
            }
        }
        match substitute(&ty, &sub) {
            Some((k, st, note)) => {
                s.kind = k;
                s.stacking = st;
                if let Some(n) = note {
                    self.warn(type_node, format!("the series {} is {ty}/{sub}: {n}", s.name));
                }
            }
            None => self.warn(
                type_node,
                format!(
                    "the series {} has the chart type '{ty}', which reportd does not know; it is drawn as a column chart (write Column, Bar, Line, Area, Shape or Scatter)",
                    s.name
                ),
            ),
        }
        Ok(s)
    }

    fn chart_data_point(&mut self, node: Node<'_, '_>) -> R<ChartDataPoint> {
        let mut p = ChartDataPoint::default();
        for c in self.children(node) {
            match c.tag_name().name() {
                "ChartDataPointValues" => {
                    for v in self.children(c) {
                        match v.tag_name().name() {
                            "Y" => p.y = Some(self.expr(v)),
                            "X" => p.x = Some(self.expr(v)),
                            "Size" => p.size = Some(self.expr(v)),
                            // High, Low, Start, End, Mean, Median: not drawn
                            _ => {}
                        }
                    }
                }
                "ChartDataLabel" => {
                    let mut l = ChartDataLabel::default();
                    for x in self.children(c) {
                        match x.tag_name().name() {
                            "Visible" => l.visible = Some(self.expr(x)),
                            "Label" => l.label = Some(self.expr(x)),
                            "UseValueAsLabel" => l.use_value_as_label = self.bool(x)?,
                            "Style" => l.format = self.style(x)?.format,
                            _ => {}
                        }
                    }
                    p.label = Some(l);
                }
                "Style" => {
                    let st: Style = self.style(c)?;
                    p.color = st.color.or(st.background_color);
                }
                _ => {}
            }
        }
        Ok(p)
    }

    /// A chart area and whether it asks for 3-D.
    fn chart_area(&mut self, node: Node<'_, '_>) -> R<(ChartArea, bool)> {
        let mut a = ChartArea {
            name: node.attribute("Name").unwrap_or_default().to_owned(),
            ..ChartArea::default()
        };
        let mut three_d = false;
        for c in self.children(node) {
            match c.tag_name().name() {
                "ChartCategoryAxes" | "ChartValueAxes" => {
                    let value = c.tag_name().name() == "ChartValueAxes";
                    for x in self.children(c) {
                        if x.tag_name().name() == "ChartAxis" {
                            let axis = self.chart_axis(x)?;
                            if value {
                                a.value_axes.push(axis);
                            } else {
                                a.category_axes.push(axis);
                            }
                        }
                    }
                }
                "ChartThreeDProperties" => {
                    for x in self.children(c) {
                        if x.tag_name().name() == "Enabled" {
                            three_d |= self.string(x).eq_ignore_ascii_case("true");
                        }
                    }
                }
                _ => {}
            }
        }
        Ok((a, three_d))
    }

    fn chart_axis(&mut self, node: Node<'_, '_>) -> R<ChartAxis> {
        let mut a = ChartAxis {
            name: node.attribute("Name").unwrap_or_default().to_owned(),
            ..ChartAxis::default()
        };
        for c in self.children(node) {
            match c.tag_name().name() {
                "ChartAxisTitle" => {
                    for x in self.children(c) {
                        if x.tag_name().name() == "Caption" {
                            a.title = Some(self.expr(x));
                        }
                    }
                }
                "Minimum" => a.minimum = Some(self.expr(c)),
                "Maximum" => a.maximum = Some(self.expr(c)),
                "Interval" => a.interval = Some(self.expr(c)),
                "Visible" => a.visible = Some(self.expr(c)),
                "Style" => a.format = self.style(c)?.format,
                "ChartMajorGridLines" => {
                    for x in self.children(c) {
                        if x.tag_name().name() == "Enabled" {
                            a.gridlines = Some(self.expr(x));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(a)
    }

    fn chart_legend(&mut self, node: Node<'_, '_>) -> ChartLegend {
        let mut l = ChartLegend::default();
        for c in self.children(node) {
            match c.tag_name().name() {
                "Hidden" => l.hidden = Some(self.expr(c)),
                "Position" => l.position = Some(self.string(c)),
                "ChartLegendTitle" => {
                    for x in self.children(c) {
                        if x.tag_name().name() == "Caption" {
                            l.title = Some(self.expr(x));
                        }
                    }
                }
                _ => {}
            }
        }
        l
    }

    /// A `<GaugePanel>` element's own children.
    pub(super) fn gauge_panel(&mut self, rest: &[Node<'_, '_>]) -> R<GaugePanel> {
        let mut g = GaugePanel::default();
        for &c in rest {
            match c.tag_name().name() {
                "DataSetName" => g.data_set_name = Some(self.string(c)),
                "Filters" => g.filters = self.filters(c)?,
                "RadialGauges" | "LinearGauges" => {
                    for x in self.children(c) {
                        let kind = match x.tag_name().name() {
                            "RadialGauge" => GaugeKind::Radial,
                            "LinearGauge" => GaugeKind::Linear,
                            _ => continue,
                        };
                        g.gauges.push(self.gauge(x, kind)?);
                    }
                }
                "GaugeLabels" => {
                    for x in self.children(c) {
                        if x.tag_name().name() == "GaugeLabel" {
                            let mut l = GaugeLabel::default();
                            for y in self.children(x) {
                                match y.tag_name().name() {
                                    "Text" => l.text = Some(self.expr(y)),
                                    "Style" => l.font_size = self.style(y)?.font_size,
                                    n => self.percent_slot(n, y, &mut l.rect),
                                }
                            }
                            g.labels.push(l);
                        }
                    }
                }
                "StateIndicators" => self.warn(
                    c,
                    "state indicators are not drawn yet; the gauge panel shows its other gauges",
                ),
                _ => {}
            }
        }
        Ok(g)
    }

    fn percent_slot(&mut self, name: &str, node: Node<'_, '_>, rect: &mut [f64; 4]) {
        let i = match name {
            "Left" => 0,
            "Top" => 1,
            "Width" => 2,
            "Height" => 3,
            _ => return,
        };
        match number(&self.string(node)) {
            Some(v) => rect[i] = v,
            None => self.warn(
                node,
                format!(
                    "<{name}> of a gauge part is a percentage (a number such as 50); it was ignored"
                ),
            ),
        }
    }

    fn gauge(&mut self, node: Node<'_, '_>, kind: GaugeKind) -> R<Gauge> {
        let mut g = Gauge {
            name: node.attribute("Name").unwrap_or_default().to_owned(),
            kind,
            ..Gauge::default()
        };
        for c in self.children(node) {
            match c.tag_name().name() {
                "GaugeScales" => {
                    for s in self.children(c) {
                        if matches!(s.tag_name().name(), "RadialScale" | "LinearScale") {
                            g.scales.push(self.gauge_scale(s)?);
                        }
                    }
                }
                n => self.percent_slot(n, c, &mut g.rect),
            }
        }
        Ok(g)
    }

    /// The `<Value>` inside a `GaugeInputValue`-shaped element.
    fn input_value(&mut self, node: Node<'_, '_>) -> Option<Expression> {
        let mut out = None;
        for c in self.children(node) {
            if c.tag_name().name() == "Value" {
                out = Some(self.expr(c));
            }
        }
        out
    }

    fn gauge_scale(&mut self, node: Node<'_, '_>) -> R<GaugeScale> {
        let mut s = GaugeScale::default();
        for c in self.children(node) {
            match c.tag_name().name() {
                "MinimumValue" => s.minimum = self.input_value(c),
                "MaximumValue" => s.maximum = self.input_value(c),
                "Interval" => s.interval = Some(self.expr(c)),
                "GaugeMajorTickMarks" => {
                    for x in self.children(c) {
                        if x.tag_name().name() == "Hidden" {
                            s.ticks_hidden = Some(self.expr(x));
                        }
                    }
                }
                "ScaleLabels" => {
                    for x in self.children(c) {
                        match x.tag_name().name() {
                            "Hidden" => s.labels_hidden = Some(self.expr(x)),
                            "Style" => s.format = self.style(x)?.format,
                            _ => {}
                        }
                    }
                }
                "ScaleRanges" => {
                    for r in self.children(c) {
                        if r.tag_name().name() != "ScaleRange" {
                            continue;
                        }
                        let mut range = GaugeRange::default();
                        for x in self.children(r) {
                            match x.tag_name().name() {
                                "StartValue" => range.start = self.input_value(x),
                                "EndValue" => range.end = self.input_value(x),
                                "Style" => range.color = self.style(x)?.background_color,
                                _ => {}
                            }
                        }
                        s.ranges.push(range);
                    }
                }
                "GaugePointers" => {
                    for p in self.children(c) {
                        if !matches!(p.tag_name().name(), "RadialPointer" | "LinearPointer") {
                            continue;
                        }
                        for x in self.children(p) {
                            if x.tag_name().name() == "GaugeInputValue"
                                && let Some(v) = self.input_value(x)
                            {
                                s.pointers.push(v);
                            }
                        }
                    }
                }
                "StartAngle" => s.start_angle = number(&self.string(c)),
                "SweepAngle" => s.sweep_angle = number(&self.string(c)),
                _ => {}
            }
        }
        Ok(s)
    }
}

/// A 2005 data point: its `DataValues`, data label and colour.
type Point2005 = (Vec<Expression>, Option<ChartDataLabel>, Option<Expression>);

impl Cx<'_> {
    /// An RDL 2005 `<Chart>` (chart-level `Type`/`Subtype`, `CategoryGroupings`,
    /// `SeriesGroupings`, `ChartData/ChartSeries/DataPoints`, `CategoryAxis`/`ValueAxis`,
    /// `Legend`, `Title`) upgraded into the 2008 model.
    pub(super) fn chart_2005(&mut self, node: Node<'_, '_>, rest: &[Node<'_, '_>]) -> R<Chart> {
        let mut ch = Chart::default();
        let (mut ty, mut sub) = ("Column".to_owned(), "Plain".to_owned());
        let mut type_node = node;
        let mut raw_series: Vec<Vec<Point2005>> = Vec::new();
        let mut area = ChartArea::default();
        for &c in rest {
            match c.tag_name().name() {
                "DataSetName" => ch.data_set_name = Some(self.string(c)),
                "Filters" => ch.filters = self.filters(c)?,
                "Type" => {
                    ty = self.string(c);
                    type_node = c;
                }
                "Subtype" => sub = self.string(c),
                "CategoryGroupings" => ch.category_hierarchy = self.groupings_2005(c)?,
                "SeriesGroupings" => ch.series_hierarchy = self.groupings_2005(c)?,
                "ChartData" => {
                    for s in self.children(c) {
                        if s.tag_name().name() != "ChartSeries" {
                            continue;
                        }
                        let mut points = Vec::new();
                        for d in self.children(s) {
                            if d.tag_name().name() != "DataPoints" {
                                continue;
                            }
                            for p in self.children(d) {
                                if p.tag_name().name() == "DataPoint" {
                                    points.push(self.data_point_2005(p)?);
                                }
                            }
                        }
                        raw_series.push(points);
                    }
                }
                "CategoryAxis" | "ValueAxis" => {
                    let value = c.tag_name().name() == "ValueAxis";
                    for a in self.children(c) {
                        if a.tag_name().name() == "Axis" {
                            let axis = self.axis_2005(a)?;
                            if value {
                                area.value_axes.push(axis);
                            } else {
                                area.category_axes.push(axis);
                            }
                        }
                    }
                }
                "Legend" => {
                    let mut l = ChartLegend::default();
                    for x in self.children(c) {
                        match x.tag_name().name() {
                            "Visible" => {
                                let v = self.string(x);
                                l.hidden =
                                    Some(Expression::constant(if v.eq_ignore_ascii_case("true") {
                                        "false"
                                    } else {
                                        "true"
                                    }));
                            }
                            "Position" => l.position = Some(self.string(x)),
                            _ => {}
                        }
                    }
                    // 2005: a legend is hidden unless Visible is true
                    if l.hidden.is_none() {
                        l.hidden = Some(Expression::constant("true"));
                    }
                    ch.legends.push(l);
                }
                "Title" => {
                    let mut t = ChartTitle::default();
                    for x in self.children(c) {
                        if x.tag_name().name() == "Caption" {
                            t.caption = Some(self.expr(x));
                        }
                    }
                    ch.titles.push(t);
                }
                "Palette" => ch.palette = Some(self.string(c)),
                "Style" => ch.background_color = self.style(c)?.background_color,
                "ThreeDProperties" => {
                    for x in self.children(c) {
                        if x.tag_name().name() == "Enabled"
                            && self.string(x).eq_ignore_ascii_case("true")
                        {
                            self.warn(
                                node,
                                "3-D charts are drawn in 2-D (ThreeDProperties is ignored)",
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        ch.areas.push(area);
        // 2005 names: Pie/Doughnut/Bubble/Stock are types of their own
        let (t08, s08) = match ty.as_str() {
            "Pie" => ("Shape", "Pie"),
            "Doughnut" => ("Shape", "Doughnut"),
            "Bubble" => ("Scatter", "Bubble"),
            "Stock" => ("Stock", "Stock"),
            "Line" if sub.contains("Smooth") => ("Line", "Smooth"),
            t => (t, sub.as_str()),
        };
        let (kind, stacking, note) = match substitute(t08, s08) {
            Some(k) => k,
            None => {
                self.warn(
                    type_node,
                    format!("the chart type '{ty}' is not known; it is drawn as a column chart"),
                );
                (ChartKind::Column, ChartStacking::None, None)
            }
        };
        if let Some(n) = note {
            self.warn(type_node, format!("the chart is {ty}/{sub}: {n}"));
        }
        let xy = matches!(ty.as_str(), "Scatter" | "Bubble");
        for (i, points) in raw_series.into_iter().enumerate() {
            let data_points = points
                .into_iter()
                .map(|(mut vals, label, color)| {
                    let mut p = ChartDataPoint {
                        label,
                        color,
                        ..ChartDataPoint::default()
                    };
                    if xy && vals.len() >= 2 {
                        p.size = vals.get(2).cloned();
                        p.y = Some(vals.remove(1));
                        p.x = Some(vals.remove(0));
                    } else {
                        p.y = vals.into_iter().next();
                    }
                    p
                })
                .collect();
            ch.series.push(ChartSeries {
                name: format!("Series{}", i + 1),
                kind,
                stacking,
                data_points,
                at: self.at(node),
                ..ChartSeries::default()
            });
        }
        Ok(ch)
    }

    /// 2005 `CategoryGroupings`/`SeriesGroupings`: one level per grouping, outermost first.
    fn groupings_2005(&mut self, node: Node<'_, '_>) -> R<Vec<ChartMember>> {
        let mut levels: Vec<Vec<ChartMember>> = Vec::new();
        for g in self.children(node) {
            if !matches!(g.tag_name().name(), "CategoryGrouping" | "SeriesGrouping") {
                continue;
            }
            for c in self.children(g) {
                match c.tag_name().name() {
                    "DynamicCategories" | "DynamicSeries" => {
                        let mut m = ChartMember::default();
                        for x in self.children(c) {
                            match x.tag_name().name() {
                                "Grouping" => m.group = Some(self.grouping(x)?),
                                "Sorting" => m.sort_expressions = self.sort_expressions(x)?,
                                "Label" => m.label = Some(self.expr(x)),
                                _ => {}
                            }
                        }
                        levels.push(vec![m]);
                    }
                    "StaticCategories" | "StaticSeries" => {
                        let mut ms = Vec::new();
                        for x in self.children(c) {
                            if x.tag_name().name() == "StaticMember" {
                                let mut m = ChartMember::default();
                                for y in self.children(x) {
                                    if y.tag_name().name() == "Label" {
                                        m.label = Some(self.expr(y));
                                    }
                                }
                                ms.push(m);
                            }
                        }
                        levels.push(ms);
                    }
                    _ => {}
                }
            }
        }
        // nest: each level's members under every member of the level above
        let mut out: Vec<ChartMember> = Vec::new();
        for level in levels.into_iter().rev() {
            out = level
                .into_iter()
                .map(|mut m| {
                    m.members = out.clone();
                    m
                })
                .collect();
        }
        Ok(out)
    }

    fn data_point_2005(&mut self, node: Node<'_, '_>) -> R<Point2005> {
        let (mut vals, mut label, mut color) = (Vec::new(), None, None);
        for c in self.children(node) {
            match c.tag_name().name() {
                "DataValues" => {
                    for v in self.children(c) {
                        if v.tag_name().name() == "DataValue" {
                            for x in self.children(v) {
                                if x.tag_name().name() == "Value" {
                                    vals.push(self.expr(x));
                                }
                            }
                        }
                    }
                }
                "DataLabel" => {
                    let mut l = ChartDataLabel {
                        use_value_as_label: true,
                        ..ChartDataLabel::default()
                    };
                    for x in self.children(c) {
                        match x.tag_name().name() {
                            "Visible" => l.visible = Some(self.expr(x)),
                            "Value" => {
                                l.label = Some(self.expr(x));
                                l.use_value_as_label = false;
                            }
                            "Style" => l.format = self.style(x)?.format,
                            _ => {}
                        }
                    }
                    label = Some(l);
                }
                "Style" => {
                    let st = self.style(c)?;
                    color = st.background_color.or(st.color);
                }
                _ => {}
            }
        }
        Ok((vals, label, color))
    }

    fn axis_2005(&mut self, node: Node<'_, '_>) -> R<ChartAxis> {
        let mut a = ChartAxis::default();
        for c in self.children(node) {
            match c.tag_name().name() {
                "Title" => {
                    for x in self.children(c) {
                        if x.tag_name().name() == "Caption" {
                            a.title = Some(self.expr(x));
                        }
                    }
                }
                "Min" => a.minimum = Some(self.expr(c)),
                "Max" => a.maximum = Some(self.expr(c)),
                "MajorInterval" => a.interval = Some(self.expr(c)),
                "Visible" => a.visible = Some(self.expr(c)),
                "Style" => a.format = self.style(c)?.format,
                "MajorGridLines" => {
                    for x in self.children(c) {
                        if x.tag_name().name() == "ShowGridLines" {
                            a.gridlines = Some(self.expr(x));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(a)
    }
}

/// Every expression of a chart, in document order (for compiling them up front).
pub fn chart_expressions<'a>(c: &'a Chart, f: &mut dyn FnMut(&'a Expression)) {
    fn members<'a>(ms: &'a [ChartMember], f: &mut dyn FnMut(&'a Expression)) {
        for m in ms {
            if let Some(g) = &m.group {
                g.group_expressions.iter().for_each(&mut *f);
            }
            m.sort_expressions.iter().for_each(|s| f(&s.value));
            if let Some(l) = &m.label {
                f(l);
            }
            members(&m.members, f);
        }
    }
    members(&c.category_hierarchy, f);
    members(&c.series_hierarchy, f);
    for s in &c.series {
        for p in &s.data_points {
            for e in [&p.y, &p.x, &p.size, &p.color].into_iter().flatten() {
                f(e);
            }
            if let Some(l) = &p.label {
                for e in [&l.visible, &l.label, &l.format].into_iter().flatten() {
                    f(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ItemKind;

    const NS: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

    fn parse(items: &str) -> (Vec<crate::model::ReportItem>, Vec<String>) {
        let rdl = format!(
            r#"<Report xmlns="{NS}"><ReportSections><ReportSection><Body><ReportItems>{items}</ReportItems><Height>1in</Height></Body><Width>1in</Width><Page/></ReportSection></ReportSections></Report>"#
        );
        let (r, w) = crate::parse_report("T", rdl.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let items = r.sections[0].body.items.clone();
        (items, w.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_chart_parses_hierarchies_series_axes_legend_and_palette() {
        let (items, warnings) = parse(
            r#"<Chart Name="C"><ChartCategoryHierarchy><ChartMembers><ChartMember><Group Name="G"><GroupExpressions><GroupExpression>=Fields!M.Value</GroupExpression></GroupExpressions></Group><Label>=Fields!M.Value</Label></ChartMember></ChartMembers></ChartCategoryHierarchy>
<ChartSeriesHierarchy><ChartMembers><ChartMember><Label>Sales</Label></ChartMember></ChartMembers></ChartSeriesHierarchy>
<ChartData><ChartSeriesCollection><ChartSeries Name="S"><ChartDataPoints><ChartDataPoint><ChartDataPointValues><Y>=Sum(Fields!A.Value)</Y><Size>=1</Size></ChartDataPointValues><ChartDataLabel><Visible>true</Visible><UseValueAsLabel>true</UseValueAsLabel></ChartDataLabel><ChartMarker><Type>Circle</Type></ChartMarker></ChartDataPoint></ChartDataPoints><Type>Bar</Type><Subtype>PercentStacked</Subtype></ChartSeries>
<ChartSeries Name="T"><Type>Stock</Type><Subtype>Candlestick</Subtype></ChartSeries></ChartSeriesCollection></ChartData>
<ChartAreas><ChartArea Name="Default"><ChartCategoryAxes><ChartAxis Name="Primary"><ChartAxisTitle><Caption>Month</Caption></ChartAxisTitle></ChartAxis></ChartCategoryAxes><ChartValueAxes><ChartAxis Name="Primary"><Style><Format>N0</Format></Style><Minimum>0</Minimum><Maximum>100</Maximum><Interval>25</Interval></ChartAxis></ChartValueAxes><ChartThreeDProperties><Enabled>true</Enabled></ChartThreeDProperties></ChartArea></ChartAreas>
<ChartLegends><ChartLegend Name="L"><Position>BottomCenter</Position></ChartLegend></ChartLegends>
<ChartTitles><ChartTitle Name="T"><Caption>Title</Caption></ChartTitle></ChartTitles><Palette>Neon</Palette>
<ChartNoDataMessage Name="N"><Caption>None</Caption></ChartNoDataMessage><DataSetName>DS</DataSetName></Chart>"#,
        );
        let ItemKind::Chart(c) = &items[0].kind else {
            panic!("{:?}", items[0].kind)
        };
        assert_eq!(c.data_set_name.as_deref(), Some("DS"));
        assert_eq!(c.category_hierarchy.len(), 1);
        assert!(c.category_hierarchy[0].group.is_some());
        assert_eq!(c.series.len(), 2);
        assert_eq!(
            (c.series[0].kind, c.series[0].stacking),
            (ChartKind::Bar, ChartStacking::Percent)
        );
        assert_eq!(c.series[1].kind, ChartKind::Line);
        let p = &c.series[0].data_points[0];
        assert!(p.y.as_ref().is_some_and(Expression::is_expr) && p.size.is_some());
        assert!(p.label.as_ref().is_some_and(|l| l.use_value_as_label));
        let axis = &c.areas[0].value_axes[0];
        assert_eq!(axis.interval, Some(Expression::constant("25")));
        assert_eq!(axis.format, Some(Expression::constant("N0")));
        assert_eq!(c.legends[0].position.as_deref(), Some("BottomCenter"));
        assert_eq!(c.palette.as_deref(), Some("Neon"));
        let w = warnings.join("\n");
        assert!(w.contains("palette 'Neon' is not supported"), "{w}");
        assert!(w.contains("stock and candlestick"), "{w}");
        assert!(w.contains("3-D charts are drawn in 2-D"), "{w}");
        assert_eq!(warnings.len(), 3, "{w}");
    }

    #[test]
    fn a_gauge_panel_parses_gauges_scales_ranges_pointers_and_labels() {
        let (items, warnings) = parse(
            r#"<GaugePanel Name="G"><RadialGauges><RadialGauge Name="R"><GaugeScales><RadialScale Name="S"><GaugePointers><RadialPointer Name="P"><GaugeInputValue><Value>=Sum(Fields!A.Value)</Value></GaugeInputValue><NeedleStyle>Triangular</NeedleStyle></RadialPointer></GaugePointers>
<ScaleRanges><ScaleRange Name="X"><StartValue><Value>80</Value></StartValue><EndValue><Value>100</Value></EndValue><Style><BackgroundColor>Red</BackgroundColor></Style></ScaleRange></ScaleRanges>
<MinimumValue><Value>0</Value></MinimumValue><MaximumValue><Value>=100</Value></MaximumValue><StartAngle>30</StartAngle><SweepAngle>300</SweepAngle></RadialScale></GaugeScales><Left>5</Left><Width>40</Width></RadialGauge></RadialGauges>
<LinearGauges><LinearGauge Name="L"><GaugeScales><LinearScale Name="S"><GaugePointers><LinearPointer Name="P"><GaugeInputValue><Value>42</Value></GaugeInputValue></LinearPointer></GaugePointers></LinearScale></GaugeScales><Top>wide</Top></LinearGauge></LinearGauges>
<GaugeLabels><GaugeLabel Name="T"><Text>Speed</Text><Top>90</Top></GaugeLabel></GaugeLabels></GaugePanel>"#,
        );
        let ItemKind::GaugePanel(g) = &items[0].kind else {
            panic!("{:?}", items[0].kind)
        };
        assert_eq!(g.gauges.len(), 2);
        assert_eq!(g.gauges[0].kind, GaugeKind::Radial);
        assert_eq!(g.gauges[0].rect, [5.0, 0.0, 40.0, 0.0]);
        let s = &g.gauges[0].scales[0];
        assert_eq!((s.start_angle, s.sweep_angle), (Some(30.0), Some(300.0)));
        assert_eq!(s.ranges.len(), 1);
        assert_eq!(s.pointers.len(), 1);
        assert!(s.maximum.as_ref().is_some_and(Expression::is_expr));
        assert_eq!(g.gauges[1].kind, GaugeKind::Linear);
        assert_eq!(g.labels[0].text, Some(Expression::constant("Speed")));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("percentage"), "{warnings:?}");
    }
}

#[cfg(test)]
mod tests_2005 {
    use super::*;
    use crate::model::ItemKind;

    #[test]
    fn an_rdl_2005_chart_is_upgraded() {
        let rdl = r#"<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2005/01/reportdefinition"><Body><ReportItems>
<Chart Name="C"><Type>Scatter</Type><Subtype>Plain</Subtype><DataSetName>DS</DataSetName>
<CategoryGroupings><CategoryGrouping><DynamicCategories><Grouping Name="G"><GroupExpressions><GroupExpression>=Fields!M.Value</GroupExpression></GroupExpressions></Grouping><Label>=Fields!M.Value</Label></DynamicCategories></CategoryGrouping></CategoryGroupings>
<SeriesGroupings><SeriesGrouping><StaticSeries><StaticMember><Label>Sales</Label></StaticMember><StaticMember><Label>Cost</Label></StaticMember></StaticSeries></SeriesGrouping></SeriesGroupings>
<ChartData><ChartSeries><DataPoints><DataPoint><DataValues><DataValue><Value>=Fields!X.Value</Value></DataValue><DataValue><Value>=Sum(Fields!Y.Value)</Value></DataValue></DataValues><DataLabel><Visible>true</Visible></DataLabel></DataPoint></DataPoints></ChartSeries>
<ChartSeries><DataPoints><DataPoint><DataValues><DataValue><Value>1</Value></DataValue><DataValue><Value>2</Value></DataValue></DataValues></DataPoint></DataPoints></ChartSeries></ChartData>
<ValueAxis><Axis><Title><Caption>Amount</Caption></Title><Min>0</Min><MajorInterval>5</MajorInterval><MajorGridLines><ShowGridLines>true</ShowGridLines></MajorGridLines></Axis></ValueAxis>
<Legend><Visible>true</Visible><Position>BottomCenter</Position></Legend><Title><Caption>T</Caption></Title><Palette>Excel</Palette>
</Chart></ReportItems><Height>1in</Height></Body><Width>1in</Width></Report>"#;
        let (r, w) = crate::parse_report("T", rdl.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert!(w.is_empty(), "{w:?}");
        let ItemKind::Chart(c) = &r.sections[0].body.items[0].kind else {
            panic!()
        };
        assert_eq!(c.category_hierarchy.len(), 1);
        assert_eq!(c.series_hierarchy.len(), 2);
        assert_eq!(c.series.len(), 2);
        assert_eq!(c.series[0].kind, ChartKind::Scatter);
        let p = &c.series[0].data_points[0];
        assert!(p.x.is_some() && p.y.as_ref().is_some_and(Expression::is_expr));
        assert_eq!(
            c.areas[0].value_axes[0].interval,
            Some(Expression::constant("5"))
        );
        assert_eq!(c.legends[0].hidden, Some(Expression::constant("false")));
        assert_eq!(c.titles.len(), 1);
    }
}
