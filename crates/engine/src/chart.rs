//! Charts and gauge panels: the definition evaluated against its data into a pure
//! [`chart::Visual`] (categories × series, one aggregate per data point, axes, legend,
//! palette, titles), drawn once as SVG, and handed to renderers as an image
//! ([`inst::Image`] with `image/svg+xml` data and the [`ChartInstance`] beside it) — as SSRS
//! hands charts to its renderers as images. Page renderers draw the SVG (HTML inline, PDF
//! as vectors); data renderers write [`ChartInstance::rows`] (one row per data point:
//! series, category, Y, X, Size; per gauge: minimum, maximum, pointer, range).
//!
//! Bounded: at most [`chart::MAX_POINTS`] category instances per grouping call and
//! data points per chart; rows of categories beyond the cap and points beyond it are not
//! evaluated, a warning says how many, and the drawing carries a note.
//!
//! Lives inside `bind` (as `bind::chart`) to reuse its frames, grouping and evaluation. Must
//! not: know output formats, measure text with fonts (the chart crate uses fixed metrics).

use std::collections::HashSet;
use std::sync::Arc;

use chart::{Axis, LegendPosition, Palette, Point, Rgba, Series, SeriesKind, Stacking, Visual};
use rdl::Value;
use rdl::expr;
use rdl::model::{self, Expression, ReportItem};
use rdl::parse::chart as def;

use super::{Ev, Frame, SetRows, Shared, value_key};
use crate::EngineError;
use crate::instance::{self as inst, Len};

/// An evaluated chart or gauge panel, beside the SVG image renderers draw.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartInstance {
    /// What is drawn.
    pub visual: Visual,
    /// The data rows for CSV/XML/JSON: named values (`Series`, `Category`, `Y`, ...).
    pub rows: Vec<Vec<(String, inst::Textbox)>>,
    /// The element name of one row (`DataPoint`, `Gauge`).
    pub row_name: String,
}

/// A data region's data set, its filtered rows and the frames its expressions see.
type RegionScope = (Arc<SetRows>, Arc<[u32]>, Vec<Frame>);

/// One leaf instance of a chart hierarchy.
struct Leaf {
    frames: Vec<Frame>,
    rows: Arc<[u32]>,
    label: String,
    /// Index of the definition leaf (which series / data point definition applies).
    def_leaf: usize,
}

fn to_rgba(c: inst::Color) -> Rgba {
    Rgba {
        r: c.r,
        g: c.g,
        b: c.b,
        a: c.a,
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Null => None,
        Value::Str(s) if s.trim().is_empty() => None,
        v => expr::convert::to_f64(v).ok().filter(|x| x.is_finite()),
    }
}

/// A textbox holding one value for the data renderers.
fn value_box(value: Value, text: String) -> inst::Textbox {
    inst::Textbox {
        paragraphs: vec![inst::Paragraph {
            runs: vec![inst::Run {
                text,
                value: value.clone(),
                style: inst::TextStyle::default(),
                action: None,
                format: None,
            }],
            align: inst::TextAlign::Left,
            left_indent: 0,
        }],
        value,
        constant: false,
        element_style: Some(inst::ElementStyle::Attribute),
        action: None,
        toggle: None,
        sort: None,
        can_grow: false,
        can_shrink: false,
    }
}

/// The SVG of `visual` as an image of the item.
fn image(name: &str, visual: &Visual, c: ChartInstance) -> inst::ItemKind {
    let svg = visual.to_svg();
    inst::ItemKind::Image(Box::new(inst::Image {
        source: inst::ImageSource::Embedded {
            name: format!("{name}.svg"),
            mime: "image/svg+xml".into(),
            data: Arc::from(svg.into_bytes().into_boxed_slice()),
        },
        sizing: inst::Sizing::Fit,
        action: None,
        chart: Some(Arc::new(c)),
    }))
}

/// A chart or gauge in a tablix cell takes the cell's size (cell items have no `Width` or
/// `Height` of their own): its drawing is made again at that size.
pub(super) fn fit_to_item(item: &mut inst::Item) {
    let inst::ItemKind::Image(img) = &mut item.kind else {
        return;
    };
    let Some(ci) = &img.chart else { return };
    let (w, h) = (
        inst::to_pt(item.width).max(36.0),
        inst::to_pt(item.height).max(36.0),
    );
    let (cw, ch) = ci.visual.size();
    if (cw - w).abs() < 0.01 && (ch - h).abs() < 0.01 {
        return;
    }
    let mut ci = (**ci).clone();
    match &mut ci.visual {
        Visual::Chart(c) => (c.width, c.height) = (w, h),
        Visual::Gauge(g) => (g.width, g.height) = (w, h),
    }
    let name = match &img.source {
        inst::ImageSource::Embedded { name, .. } => name.trim_end_matches(".svg").to_owned(),
        _ => item.name.to_string(),
    };
    let visual = ci.visual.clone();
    if let inst::ItemKind::Image(new) = image(&name, &visual, ci) {
        *img = new;
    }
}

impl Shared {
    fn c_eval(
        &self,
        e: &Option<Expression>,
        ev: &Ev<'_>,
        item: &str,
    ) -> Result<Value, EngineError> {
        match e {
            None => Ok(Value::Null),
            Some(Expression::Constant(s)) => Ok(Value::str(s.as_str())),
            Some(x) => Ok(self.eval_in(x, ev, item)?.unwrap_or(Value::Null)),
        }
    }

    fn c_num(
        &self,
        e: &Option<Expression>,
        ev: &Ev<'_>,
        item: &str,
    ) -> Result<Option<f64>, EngineError> {
        Ok(num(&self.c_eval(e, ev, item)?))
    }

    fn c_bool(
        &self,
        e: &Option<Expression>,
        ev: &Ev<'_>,
        item: &str,
        default: bool,
    ) -> Result<bool, EngineError> {
        Ok(match e {
            None => default,
            Some(x) => match self.c_eval(&Some(x.clone()), ev, item)? {
                Value::Str(s) if s.trim().eq_ignore_ascii_case("auto") => default,
                Value::Null => default,
                v => expr::convert::to_bool(&v).unwrap_or(default),
            },
        })
    }

    fn c_color(
        &self,
        e: &Option<Expression>,
        ev: &Ev<'_>,
        item: &str,
    ) -> Result<Option<Rgba>, EngineError> {
        let v = self.c_eval(e, ev, item)?;
        if v.is_null() {
            return Ok(None);
        }
        let s = expr::convert::to_string(&v, "en-US");
        if s.trim().is_empty() {
            return Ok(None);
        }
        match crate::style::color(&s) {
            Some(c) => Ok(Some(to_rgba(c))),
            None => {
                self.warn(
                    item,
                    &format!("the colour {s:?} is not valid; the palette colour is used"),
                );
                Ok(None)
            }
        }
    }

    /// The data set, its rows (filtered) and the chain of frames a data region sees.
    fn region_scope(
        &self,
        def: &ReportItem,
        ds: &Option<String>,
        filters: &[model::Filter],
        frames: &[Frame],
    ) -> Result<RegionScope, EngineError> {
        let (base, rows) = self.region_rows(def, "chart", ds, filters, frames)?;
        let rows: Arc<[u32]> = rows.into();
        let chain = Self::region_chain(def, &base, &rows, frames);
        Ok((base.set.clone(), rows, chain))
    }

    /// `rows` cut to those of the first `budget` instances of `g` (document order); the
    /// number of rows dropped.
    fn cap_group_rows(
        &self,
        g: &model::Group,
        frames: &[Frame],
        rows: &Arc<[u32]>,
        budget: usize,
    ) -> Result<(Arc<[u32]>, usize), EngineError> {
        if rows.len() <= budget {
            return Ok((rows.clone(), 0));
        }
        if g.is_details() {
            return Ok((rows[..budget].into(), rows.len() - budget));
        }
        let exprs: Vec<_> = g
            .group_expressions
            .iter()
            .map(|e| self.c.expr(e))
            .collect::<Result<_, _>>()?;
        let mut keys: HashSet<String> = HashSet::new();
        let mut kept = Vec::new();
        for (i, &r) in rows.iter().enumerate() {
            if i.is_multiple_of(4096) && self.cancelled() {
                return Err(EngineError::Cancelled);
            }
            let ev = Ev {
                row: Some(r),
                ..self.ev(frames, None)
            };
            let mut key = String::new();
            for x in &exprs {
                let v = expr::eval(x, &ev).unwrap_or(Value::Null);
                key.push_str(&value_key(&v));
                key.push('\u{1}');
            }
            if keys.contains(&key) || keys.len() < budget && keys.insert(key) {
                kept.push(r);
            }
        }
        let dropped = rows.len() - kept.len();
        Ok((kept.into(), dropped))
    }

    /// The leaf instances of a chart hierarchy, in order, at most `budget` of them.
    #[allow(clippy::too_many_arguments)]
    fn chart_leaves(
        &self,
        members: &[def::ChartMember],
        frames: &[Frame],
        rows: &Arc<[u32]>,
        set: &Arc<SetRows>,
        prefix: &str,
        def_leaf: &mut usize,
        out: &mut Vec<Leaf>,
        dropped: &mut usize,
        item: &str,
    ) -> Result<(), EngineError> {
        for m in members {
            let my_leaf = *def_leaf;
            let budget = chart::MAX_POINTS.saturating_sub(out.len()).max(1);
            let instances: Vec<(Arc<[u32]>, Option<Frame>)> = match &m.group {
                None => vec![(rows.clone(), None)],
                Some(g) => {
                    let (rows, d) = self.cap_group_rows(g, frames, rows, budget)?;
                    *dropped += d;
                    let sorts = self.group_sorts(g, &m.sort_expressions);
                    self.group_instances(g, &sorts, frames, &rows, set)?
                }
            };
            for (grows, gframe) in instances {
                let mut fr = frames.to_vec();
                if let Some(f) = gframe {
                    fr.push(f);
                }
                let ev = self.ev(&fr, None);
                let label = match (&m.label, &m.group) {
                    (Some(l), _) => self.format(&self.c_eval(&Some(l.clone()), &ev, item)?, None),
                    (None, Some(g)) => match g.group_expressions.first() {
                        Some(e) => self.format(&self.c_eval(&Some(e.clone()), &ev, item)?, None),
                        None => String::new(),
                    },
                    (None, None) => String::new(),
                };
                let label = if prefix.is_empty() {
                    label
                } else {
                    format!("{prefix} / {label}")
                };
                if m.members.is_empty() {
                    if out.len() >= chart::MAX_POINTS {
                        *dropped += grows.len().max(1);
                        continue;
                    }
                    out.push(Leaf {
                        frames: fr,
                        rows: grows,
                        label,
                        def_leaf: my_leaf,
                    });
                } else {
                    let mut dl = my_leaf;
                    self.chart_leaves(
                        &m.members, &fr, &grows, set, &label, &mut dl, out, dropped, item,
                    )?;
                }
            }
            *def_leaf = my_leaf + m.leaf_count();
        }
        Ok(())
    }

    /// Evaluates a chart into an image item carrying its [`ChartInstance`].
    pub(super) fn chart(
        &self,
        item: &ReportItem,
        ch: &def::Chart,
        frames: &[Frame],
    ) -> Result<inst::ItemKind, EngineError> {
        let name = item.name.as_str();
        let (set, rows, chain) = self.region_scope(item, &ch.data_set_name, &ch.filters, frames)?;
        let ev = self.ev(&chain, None);
        let mut dropped_rows = 0usize;
        let mut cats = Vec::new();
        if ch.category_hierarchy.is_empty() {
            cats.push(Leaf {
                frames: chain.clone(),
                rows: rows.clone(),
                label: String::new(),
                def_leaf: 0,
            });
        } else {
            let mut dl = 0;
            self.chart_leaves(
                &ch.category_hierarchy,
                &chain,
                &rows,
                &set,
                "",
                &mut dl,
                &mut cats,
                &mut dropped_rows,
                name,
            )?;
        }
        let mut sers = Vec::new();
        if ch.series_hierarchy.is_empty() {
            sers.push(Leaf {
                frames: chain.clone(),
                rows: rows.clone(),
                label: String::new(),
                def_leaf: 0,
            });
        } else {
            let mut dl = 0;
            self.chart_leaves(
                &ch.series_hierarchy,
                &chain,
                &rows,
                &set,
                "",
                &mut dl,
                &mut sers,
                &mut dropped_rows,
                name,
            )?;
        }
        // categories × series: the cells, intersecting the series' group rows with the category's
        let cat_sets: Vec<HashSet<u32>> = if sers.iter().any(|s| s.frames.len() > chain.len()) {
            cats.iter()
                .map(|c| c.rows.iter().copied().collect())
                .collect()
        } else {
            Vec::new()
        };
        let mut series = Vec::new();
        let mut data_rows = Vec::new();
        let mut evaluated = 0usize;
        let mut dropped_points = 0usize;
        for sl in &sers {
            let Some(sd) = ch.series.get(sl.def_leaf).or(ch.series.first()) else {
                continue;
            };
            let sev = self.ev(&sl.frames, None);
            if self.c_bool(&sd.hidden, &sev, name, false)? {
                continue;
            }
            let sname = match &sd.legend_text {
                Some(t) => self.format(&self.c_eval(&Some(t.clone()), &sev, name)?, None),
                None if !sl.label.is_empty() => sl.label.clone(),
                None => sd.name.clone(),
            };
            let mut s = Series {
                name: sname.clone(),
                kind: match sd.kind {
                    def::ChartKind::Column => SeriesKind::Column,
                    def::ChartKind::Bar => SeriesKind::Bar,
                    def::ChartKind::Line => SeriesKind::Line,
                    def::ChartKind::Area => SeriesKind::Area,
                    def::ChartKind::Pie => SeriesKind::Pie,
                    def::ChartKind::Doughnut => SeriesKind::Doughnut,
                    def::ChartKind::Scatter => SeriesKind::Scatter,
                },
                stacking: match sd.stacking {
                    def::ChartStacking::None => Stacking::None,
                    def::ChartStacking::Stacked => Stacking::Stacked,
                    def::ChartStacking::Percent => Stacking::Percent,
                },
                points: Vec::new(),
                color: self.c_color(&sd.color, &sev, name)?,
                in_legend: !self.c_bool(&sd.hide_in_legend, &sev, name, false)?,
            };
            for (ci, cl) in cats.iter().enumerate() {
                if evaluated >= chart::MAX_POINTS {
                    dropped_points += 1;
                    continue;
                }
                if self.cancelled() {
                    return Err(EngineError::Cancelled);
                }
                let Some(dp) = sd.data_points.get(cl.def_leaf).or(sd.data_points.first()) else {
                    continue;
                };
                evaluated += 1;
                let mut fr = cl.frames.clone();
                if let Some(rs) = cat_sets.get(ci) {
                    for f in &sl.frames[chain.len()..] {
                        let inter: Vec<u32> =
                            f.rows.iter().copied().filter(|r| rs.contains(r)).collect();
                        let key: Arc<str> = format!("{}{}", Self::frames_key(&fr), f.key).into();
                        fr.push(Frame::new(
                            &*f.name,
                            f.set.clone(),
                            inter.into(),
                            key,
                            f.details,
                        ));
                    }
                }
                // an empty intersection is no point (SSRS draws nothing there)
                if fr.last().is_some_and(|f| f.rows.is_empty()) {
                    continue;
                }
                let pev = self.ev(&fr, None);
                let yv = self.c_eval(&dp.y, &pev, name)?;
                let y = num(&yv);
                let xv = self.c_eval(&dp.x, &pev, name)?;
                let sv = self.c_eval(&dp.size, &pev, name)?;
                let label = match &dp.label {
                    Some(l) if self.c_bool(&l.visible, &pev, name, false)? => {
                        let fmt = match &l.format {
                            Some(f) => {
                                Some(self.format(&self.c_eval(&Some(f.clone()), &pev, name)?, None))
                            }
                            None => None,
                        };
                        Some(match (&l.label, l.use_value_as_label) {
                            (Some(e), false) => self.format(
                                &self.c_eval(&Some(e.clone()), &pev, name)?,
                                fmt.as_deref(),
                            ),
                            _ => self.format(&yv, fmt.as_deref()),
                        })
                    }
                    _ => None,
                };
                let mut row = vec![
                    (
                        "Series".to_owned(),
                        value_box(Value::str(sname.as_str()), sname.clone()),
                    ),
                    (
                        "Category".to_owned(),
                        value_box(Value::str(cl.label.as_str()), cl.label.clone()),
                    ),
                    (
                        "Y".to_owned(),
                        value_box(yv.clone(), self.format(&yv, None)),
                    ),
                ];
                if dp.x.is_some() {
                    row.push((
                        "X".to_owned(),
                        value_box(xv.clone(), self.format(&xv, None)),
                    ));
                }
                if dp.size.is_some() {
                    row.push((
                        "Size".to_owned(),
                        value_box(sv.clone(), self.format(&sv, None)),
                    ));
                }
                data_rows.push(row);
                s.points.push(Point {
                    category: ci,
                    y,
                    x: num(&xv),
                    size: num(&sv),
                    label,
                    color: self.c_color(&dp.color, &pev, name)?,
                });
            }
            series.push(s);
        }
        if matches!(
            series.first().map(|s| s.kind),
            Some(SeriesKind::Pie | SeriesKind::Doughnut)
        ) && series.len() > 1
        {
            self.warn(name, "a pie or doughnut chart draws its first series only");
        }
        let mut note = None;
        if dropped_rows > 0 || dropped_points > 0 {
            let msg = format!(
                "the chart has more than {} categories or data points: {} data points and the rows of {} further group instances are not drawn; group or filter the data to chart fewer points",
                chart::MAX_POINTS,
                dropped_points,
                dropped_rows
            );
            self.warn(name, &msg);
            note = Some(format!(
                "Only the first {} data points are drawn",
                chart::MAX_POINTS
            ));
        }
        let area = ch.areas.first();
        let axis = |a: Option<&def::ChartAxis>, value: bool| -> Result<Axis, EngineError> {
            let Some(a) = a else {
                return Ok(Axis {
                    gridlines: value,
                    ..Axis::default()
                });
            };
            let s = |e: &Option<Expression>| -> Result<Option<String>, EngineError> {
                Ok(self
                    .eval_str(e, &ev, name)?
                    .filter(|s| !s.trim().is_empty()))
            };
            let visible = s(&a.visible)?;
            Ok(Axis {
                title: s(&a.title)?,
                min: self.c_num(&a.minimum, &ev, name)?,
                max: self.c_num(&a.maximum, &ev, name)?,
                interval: self.c_num(&a.interval, &ev, name)?.filter(|v| *v > 0.0),
                format: s(&a.format)?,
                hidden: visible.is_some_and(|v| v.trim().eq_ignore_ascii_case("false")),
                gridlines: self.c_bool(&a.gridlines, &ev, name, value)?,
            })
        };
        let category_axis = axis(area.and_then(|a| a.category_axes.first()), false)?;
        let value_axis = axis(area.and_then(|a| a.value_axes.first()), true)?;
        let (legend, legend_title) = match ch.legends.first() {
            Some(l) if !self.c_bool(&l.hidden, &ev, name, false)? => {
                let p = l.position.as_deref().unwrap_or("RightTop");
                let pos = if p.starts_with("Left") {
                    LegendPosition::Left
                } else if p.starts_with("Top") {
                    LegendPosition::Top
                } else if p.starts_with("Bottom") {
                    LegendPosition::Bottom
                } else {
                    LegendPosition::Right
                };
                (
                    Some(pos),
                    self.eval_str(&l.title, &ev, name)?
                        .filter(|s| !s.is_empty()),
                )
            }
            _ => (None, None),
        };
        let mut titles = Vec::new();
        for t in &ch.titles {
            if !self.c_bool(&t.hidden, &ev, name, false)?
                && let Some(c) = self
                    .eval_str(&t.caption, &ev, name)?
                    .filter(|s| !s.is_empty())
            {
                titles.push(c);
            }
        }
        let visual = chart::Chart {
            width: inst::to_pt(item.width.map(|s| s.0).unwrap_or(0) as Len).max(36.0),
            height: inst::to_pt(item.height.map(|s| s.0).unwrap_or(0) as Len).max(36.0),
            titles,
            categories: cats.iter().map(|c| c.label.clone()).collect(),
            series,
            category_axis,
            value_axis,
            legend,
            legend_title,
            palette: ch
                .palette
                .as_deref()
                .and_then(Palette::from_name)
                .unwrap_or_default(),
            no_data_message: self
                .eval_str(&ch.no_data_message, &ev, name)?
                .unwrap_or_default(),
            culture: self.culture.clone(),
            background: self.c_color(&ch.background_color, &ev, name)?,
            note,
        };
        let visual = Visual::Chart(Box::new(visual));
        let ci = ChartInstance {
            visual: visual.clone(),
            rows: data_rows,
            row_name: "DataPoint".into(),
        };
        Ok(image(name, &visual, ci))
    }

    /// Evaluates a gauge panel (in its data set's scope) into an image item.
    pub(super) fn gauge_panel(
        &self,
        item: &ReportItem,
        gp: &def::GaugePanel,
        frames: &[Frame],
    ) -> Result<inst::ItemKind, EngineError> {
        let name = item.name.as_str();
        let chain = if gp.data_set_name.is_some() || self.c.report.data_sets.len() == 1 {
            self.region_scope(item, &gp.data_set_name, &gp.filters, frames)?
                .2
        } else {
            frames.to_vec()
        };
        let ev = self.ev(&chain, None);
        let mut gauges = Vec::new();
        let mut rows = Vec::new();
        for g in &gp.gauges {
            let Some(s) = g.scales.first() else { continue };
            let min = self.c_num(&s.minimum, &ev, name)?.unwrap_or(0.0);
            let mut max = self.c_num(&s.maximum, &ev, name)?.unwrap_or(100.0);
            if max <= min {
                self.warn(name, &format!("the gauge {}: its maximum is not above its minimum; a range of 100 is used", g.name));
                max = min + 100.0;
            }
            let mut ranges = Vec::new();
            for r in &s.ranges {
                let start = self.c_num(&r.start, &ev, name)?.unwrap_or(min);
                let end = self.c_num(&r.end, &ev, name)?.unwrap_or(max);
                let color = self
                    .c_color(&r.color, &ev, name)?
                    .unwrap_or(Rgba::rgb(0xC0C0C0));
                ranges.push(chart::GaugeRange { start, end, color });
            }
            let mut pointers = Vec::new();
            for p in &s.pointers {
                pointers.push(self.c_num(&Some(p.clone()), &ev, name)?);
            }
            let fmt = self
                .eval_str(&s.format, &ev, name)?
                .filter(|f| !f.is_empty());
            let f = |v: f64| {
                value_box(
                    Value::Float(v),
                    self.format(&Value::Float(v), fmt.as_deref()),
                )
            };
            let mut row = vec![
                (
                    "Name".to_owned(),
                    value_box(Value::str(g.name.as_str()), g.name.clone()),
                ),
                ("Minimum".to_owned(), f(min)),
                ("Maximum".to_owned(), f(max)),
            ];
            if let Some(Some(p)) = pointers.first() {
                row.push(("Pointer".to_owned(), f(*p)));
            }
            if let Some(r) = ranges.first() {
                row.push(("RangeStart".to_owned(), f(r.start)));
                row.push(("RangeEnd".to_owned(), f(r.end)));
            }
            rows.push(row);
            gauges.push(chart::Gauge {
                kind: match g.kind {
                    def::GaugeKind::Radial => chart::GaugeKind::Radial,
                    def::GaugeKind::Linear => chart::GaugeKind::Linear,
                },
                rect: g.rect,
                min,
                max,
                interval: self.c_num(&s.interval, &ev, name)?.filter(|v| *v > 0.0),
                ticks: !self.c_bool(&s.ticks_hidden, &ev, name, false)?,
                labels: !self.c_bool(&s.labels_hidden, &ev, name, false)?,
                format: fmt.clone(),
                ranges,
                pointers,
                start_angle: s.start_angle.unwrap_or(20.0),
                sweep_angle: s.sweep_angle.unwrap_or(320.0),
            });
        }
        let mut labels = Vec::new();
        for l in &gp.labels {
            let text = self.eval_str(&l.text, &ev, name)?.unwrap_or_default();
            let size = self
                .eval_str(&l.font_size, &ev, name)?
                .and_then(|s| crate::style::size(&s))
                .map(inst::to_pt)
                .unwrap_or(10.0);
            labels.push(chart::GaugeText {
                text,
                rect: l.rect,
                size,
            });
        }
        let panel = chart::GaugePanel {
            width: inst::to_pt(item.width.map(|s| s.0).unwrap_or(0) as Len).max(36.0),
            height: inst::to_pt(item.height.map(|s| s.0).unwrap_or(0) as Len).max(36.0),
            gauges,
            labels,
            culture: self.culture.clone(),
        };
        let visual = Visual::Gauge(Box::new(panel));
        let ci = ChartInstance {
            visual: visual.clone(),
            rows,
            row_name: "Gauge".into(),
        };
        Ok(image(name, &visual, ci))
    }
}
