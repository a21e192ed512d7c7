//! Charts and gauges as pure values: an evaluated chart or gauge panel (numbers and strings,
//! no expressions) laid out into vector primitives ([`Prim`]) and written as SVG.
//!
//! Owns: the chart and gauge instance types the engine fills ([`Chart`], [`GaugePanel`]),
//! SSRS's named palettes ([`Palette`]), axis scales (nice intervals, `Minimum`/`Maximum`/
//! `Interval` overrides, label formats through `netfmt`), the layout of titles, legends,
//! axes, gridlines, ticks, series (column, bar, line, area, pie, doughnut, scatter, stacked
//! and 100 %-stacked), data labels and the no-data message, the gauge layout (radial and
//! linear scales, ranges, pointers, labels), and the SVG writer ([`svg`]).
//!
//! Must not: evaluate expressions, do I/O, or know any page or output format beyond SVG.
//! Text is measured with built-in Helvetica/Arial advance widths ([`metrics`]), the metrics
//! of the Liberation Sans face the renderers substitute, so the layout is the same in every
//! format and needs no font files.
//!
//! Units: points (1/72 in), y growing downwards, origin at the chart's top-left corner.

pub mod gauge;
pub mod layout;
pub mod metrics;
pub mod palette;
pub mod svg;

pub use gauge::{Gauge, GaugeKind, GaugePanel, GaugeRange, GaugeText};
pub use palette::Palette;

/// Most data points drawn per chart; more are dropped with a warning by the engine.
pub const MAX_POINTS: usize = 10_000;

/// An RGBA colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgba {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
    /// Alpha (255 opaque).
    pub a: u8,
}

impl Rgba {
    /// An opaque colour from `0xRRGGBB`.
    pub const fn rgb(v: u32) -> Rgba {
        Rgba {
            r: (v >> 16) as u8,
            g: (v >> 8) as u8,
            b: v as u8,
            a: 255,
        }
    }
    /// Black.
    pub const BLACK: Rgba = Rgba::rgb(0);
    /// White.
    pub const WHITE: Rgba = Rgba::rgb(0xFFFFFF);
}

/// The kind of a series (SSRS `Type`, with `Subtype` folded into [`Stacking`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeriesKind {
    /// Vertical bars.
    #[default]
    Column,
    /// Horizontal bars.
    Bar,
    /// A line through the points.
    Line,
    /// A filled area under the line.
    Area,
    /// Slices of a circle (first series only).
    Pie,
    /// Pie with a hole.
    Doughnut,
    /// Points at (X, Y); with a Size, bubbles.
    Scatter,
}

/// Stacking of column, bar and area series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stacking {
    /// Side by side (columns) or overlapping (areas, lines).
    #[default]
    None,
    /// Values added on top of each other.
    Stacked,
    /// Stacked, each category scaled to 100 %.
    Percent,
}

/// One data point of a series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Point {
    /// Index into [`Chart::categories`].
    pub category: usize,
    /// `Y` (`None`: an empty point, not drawn).
    pub y: Option<f64>,
    /// `X` (scatter).
    pub x: Option<f64>,
    /// `Size` (bubbles).
    pub size: Option<f64>,
    /// The data label text when labels are shown (already formatted).
    pub label: Option<String>,
    /// A colour set on the point (pie slices, highlighted bars).
    pub color: Option<Rgba>,
}

/// One series: a leaf of the series hierarchy × one `ChartSeries` definition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// How it is drawn.
    pub kind: SeriesKind,
    /// Stacking.
    pub stacking: Stacking,
    /// Its points, at most one per category.
    pub points: Vec<Point>,
    /// A colour from the definition (`Style/Color` of the series); `None`: the palette's.
    pub color: Option<Rgba>,
    /// Shown in the legend.
    pub in_legend: bool,
}

/// Where the legend goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LegendPosition {
    /// On the right (SSRS `RightCenter`, `RightTop`, ...).
    #[default]
    Right,
    /// On the left.
    Left,
    /// Above the plot.
    Top,
    /// Below the plot.
    Bottom,
}

/// An axis.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Axis {
    /// `ChartAxisTitle/Caption`.
    pub title: Option<String>,
    /// `Minimum` (`None`: auto).
    pub min: Option<f64>,
    /// `Maximum`.
    pub max: Option<f64>,
    /// `Interval` (`None`/0: auto).
    pub interval: Option<f64>,
    /// The label format (`Style/Format`), a .NET format string.
    pub format: Option<String>,
    /// `Visible=False` hides labels, ticks and title.
    pub hidden: bool,
    /// `MajorGridLines/Enabled` (value axes default true, category axes false).
    pub gridlines: bool,
}

/// An evaluated chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chart {
    /// Width in points.
    pub width: f64,
    /// Height in points.
    pub height: f64,
    /// `ChartTitles` captions, top to bottom.
    pub titles: Vec<String>,
    /// Category labels (leaves of the category hierarchy, in order).
    pub categories: Vec<String>,
    /// Series.
    pub series: Vec<Series>,
    /// The category (X) axis.
    pub category_axis: Axis,
    /// The value (Y) axis.
    pub value_axis: Axis,
    /// The legend, `None` when hidden.
    pub legend: Option<LegendPosition>,
    /// `ChartLegend/ChartLegendTitle/Caption`.
    pub legend_title: Option<String>,
    /// The palette.
    pub palette: Palette,
    /// `ChartNoDataMessage` (shown when no point has a value).
    pub no_data_message: String,
    /// The culture axis labels are formatted in.
    pub culture: String,
    /// Background colour (`Style/BackgroundColor`), `None`: transparent.
    pub background: Option<Rgba>,
    /// A note drawn at the bottom (the engine's cap on points says what it dropped).
    pub note: Option<String>,
}

impl Chart {
    /// Number of points with a value, over all series.
    pub fn value_count(&self) -> usize {
        self.series
            .iter()
            .map(|s| s.points.iter().filter(|p| p.y.is_some()).count())
            .sum()
    }
}

/// Horizontal anchor of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Text starts at x.
    Start,
    /// Text is centred on x.
    Middle,
    /// Text ends at x.
    End,
}

/// One segment of a path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seg {
    /// Move to.
    M(f64, f64),
    /// Line to.
    L(f64, f64),
    /// Circular arc to (x, y) with radius r; `large` and `sweep` as in SVG.
    A {
        /// Radius.
        r: f64,
        /// Large-arc flag.
        large: bool,
        /// Sweep flag (clockwise on screen).
        sweep: bool,
        /// End x.
        x: f64,
        /// End y.
        y: f64,
    },
    /// Close the subpath.
    Z,
}

/// A vector primitive. `class` names what it is (`bar`, `slice`, `point`, `axis-label`,
/// `legend-entry`, ...) and is written to the SVG so tests and style sheets can find it.
#[derive(Debug, Clone, PartialEq)]
pub enum Prim {
    /// A rectangle.
    Rect {
        /// What it is.
        class: &'static str,
        /// Left.
        x: f64,
        /// Top.
        y: f64,
        /// Width.
        w: f64,
        /// Height.
        h: f64,
        /// Fill.
        fill: Option<Rgba>,
        /// Stroke colour and width.
        stroke: Option<(Rgba, f64)>,
    },
    /// A straight line.
    Line {
        /// What it is.
        class: &'static str,
        /// Start.
        from: (f64, f64),
        /// End.
        to: (f64, f64),
        /// Colour.
        color: Rgba,
        /// Width.
        width: f64,
    },
    /// A path.
    Path {
        /// What it is.
        class: &'static str,
        /// Segments.
        segs: Vec<Seg>,
        /// Fill.
        fill: Option<Rgba>,
        /// Stroke colour and width.
        stroke: Option<(Rgba, f64)>,
    },
    /// A circle.
    Circle {
        /// What it is.
        class: &'static str,
        /// Centre.
        c: (f64, f64),
        /// Radius.
        r: f64,
        /// Fill.
        fill: Rgba,
    },
    /// One line of text; `y` is the baseline.
    Text {
        /// What it is.
        class: &'static str,
        /// Anchor point x.
        x: f64,
        /// Baseline y.
        y: f64,
        /// The text.
        text: String,
        /// Font size in points.
        size: f64,
        /// Bold.
        bold: bool,
        /// Colour.
        color: Rgba,
        /// Horizontal anchor.
        anchor: Anchor,
        /// Rotation in degrees about (x, y) (−90: reads upwards).
        rotate: f64,
    },
}

/// What is drawn: a chart or a gauge panel, with its size.
#[derive(Debug, Clone, PartialEq)]
pub enum Visual {
    /// A chart.
    Chart(Box<Chart>),
    /// A gauge panel.
    Gauge(Box<GaugePanel>),
}

impl Visual {
    /// Lays the visual out into primitives.
    pub fn layout(&self) -> Vec<Prim> {
        match self {
            Visual::Chart(c) => layout::chart(c),
            Visual::Gauge(g) => gauge::layout(g),
        }
    }

    /// Width and height in points.
    pub fn size(&self) -> (f64, f64) {
        match self {
            Visual::Chart(c) => (c.width, c.height),
            Visual::Gauge(g) => (g.width, g.height),
        }
    }

    /// The SVG document of the visual.
    pub fn to_svg(&self) -> String {
        let (w, h) = self.size();
        svg::write(&self.layout(), w, h)
    }
}
