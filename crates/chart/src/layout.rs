//! Chart layout: a [`Chart`] → primitives. Titles on top, the legend on its side, the plot
//! area with its axes (value axis scale with nice intervals or the definition's
//! Minimum/Maximum/Interval, label formats), gridlines, ticks, then the series, then data
//! labels. Pie and doughnut charts draw the first series' points as slices.
//!
//! Bounded: at most [`MAX_TICKS`] ticks per axis whatever the interval, and the engine caps
//! points at [`crate::MAX_POINTS`].

use std::f64::consts::PI;

use crate::metrics::{fit, text_width};
use crate::{Anchor, Axis, Chart, LegendPosition, Prim, Rgba, Seg, SeriesKind, Stacking};

/// Most ticks on one axis.
pub const MAX_TICKS: usize = 200;

const PAD: f64 = 4.0;
const TITLE_SIZE: f64 = 12.0;
const LABEL_SIZE: f64 = 8.0;
const AXIS_TITLE_SIZE: f64 = 9.0;
const TEXT: Rgba = Rgba::rgb(0x333333);
const AXIS: Rgba = Rgba::rgb(0x808080);
const GRID: Rgba = Rgba::rgb(0xD9D9D9);

/// A rectangle (x, y, w, h).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Area {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

fn text(class: &'static str, x: f64, y: f64, s: &str, size: f64, anchor: Anchor) -> Prim {
    Prim::Text {
        class,
        x,
        y,
        text: s.to_owned(),
        size,
        bold: false,
        color: TEXT,
        anchor,
        rotate: 0.0,
    }
}

/// A value scale: `min..=max` in steps of `step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// Lowest value on the axis.
    pub min: f64,
    /// Highest value.
    pub max: f64,
    /// Interval between ticks.
    pub step: f64,
}

impl Scale {
    /// Maps `v` onto `0..=1`.
    pub fn frac(&self, v: f64) -> f64 {
        if self.max > self.min {
            (v - self.min) / (self.max - self.min)
        } else {
            0.0
        }
    }

    /// The tick values.
    pub fn ticks(&self) -> Vec<f64> {
        let mut out = Vec::new();
        let mut i = 0usize;
        loop {
            let v = self.min + self.step * i as f64;
            if v > self.max + self.step * 1e-9 || out.len() >= MAX_TICKS {
                break;
            }
            out.push(round_to(v, self.step));
            i += 1;
        }
        out
    }
}

fn round_to(v: f64, step: f64) -> f64 {
    let digits = (-step.abs().log10().floor()).clamp(0.0, 12.0) as i32 + 1;
    let k = 10f64.powi(digits);
    let r = (v * k).round() / k;
    if r == 0.0 { 0.0 } else { r }
}

fn nice_step(range: f64, target: f64) -> f64 {
    let raw = (range / target).abs();
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let e = 10f64.powf(raw.log10().floor());
    let f = raw / e;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * e
}

/// The scale of data from `lo` to `hi` on `axis` (its overrides win); `zero` includes 0.
pub fn scale(lo: f64, hi: f64, axis: &Axis, zero: bool) -> Scale {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() && lo <= hi {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    if zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if let Some(m) = axis.min.filter(|v| v.is_finite()) {
        lo = m;
    }
    if let Some(m) = axis.max.filter(|v| v.is_finite()) {
        hi = m;
    }
    if hi <= lo {
        hi = lo + if lo == 0.0 { 1.0 } else { lo.abs() };
    }
    let auto = nice_step(hi - lo, 5.0);
    let mut step = match axis.interval {
        Some(i) if i.is_finite() && i > 0.0 => i,
        _ => auto,
    };
    if (hi - lo) / step > MAX_TICKS as f64 {
        step = auto;
    }
    let min = if axis.min.is_some() {
        lo
    } else {
        (lo / step).floor() * step
    };
    let mut max = if axis.max.is_some() {
        hi
    } else {
        (hi / step).ceil() * step
    };
    if max <= min {
        max = min + step;
    }
    Scale { min, max, step }
}

/// Formats an axis value with the axis format (a .NET format string) in `culture`.
pub fn format_value(v: f64, format: Option<&str>, culture: &str) -> String {
    let c = netfmt::Culture::get_or_en_us(culture);
    match format.filter(|f| !f.trim().is_empty()) {
        Some(f) => netfmt::format_number(netfmt::Num::Float(v), f, c)
            .unwrap_or_else(|_| netfmt::to_string_in(netfmt::Num::Float(v), c)),
        None => netfmt::to_string_in(netfmt::Num::Float(v), c),
    }
}

struct LegendEntry {
    label: String,
    color: Rgba,
    line: bool,
}

/// The colour of series `i`.
fn series_color(c: &Chart, i: usize) -> Rgba {
    c.series[i].color.unwrap_or_else(|| c.palette.color(i))
}

fn is_pie(c: &Chart) -> bool {
    c.series
        .first()
        .is_some_and(|s| matches!(s.kind, SeriesKind::Pie | SeriesKind::Doughnut))
}

/// Lays a chart out.
pub fn chart(c: &Chart) -> Vec<Prim> {
    let mut out = Vec::new();
    let (w, h) = (c.width.max(10.0), c.height.max(10.0));
    if let Some(bg) = c.background {
        out.push(Prim::Rect {
            class: "chart-background",
            x: 0.0,
            y: 0.0,
            w,
            h,
            fill: Some(bg),
            stroke: None,
        });
    }
    let mut area = Area {
        x: PAD,
        y: PAD,
        w: w - 2.0 * PAD,
        h: h - 2.0 * PAD,
    };
    for t in &c.titles {
        let s = fit(t, TITLE_SIZE, true, area.w);
        out.push(Prim::Text {
            class: "title",
            x: w / 2.0,
            y: area.y + TITLE_SIZE,
            text: s,
            size: TITLE_SIZE,
            bold: true,
            color: TEXT,
            anchor: Anchor::Middle,
            rotate: 0.0,
        });
        area.y += TITLE_SIZE + 4.0;
        area.h -= TITLE_SIZE + 4.0;
    }
    if let Some(note) = &c.note {
        out.push(text(
            "note",
            PAD,
            h - PAD,
            &fit(note, 7.0, false, area.w),
            7.0,
            Anchor::Start,
        ));
        area.h -= 10.0;
    }
    if c.value_count() == 0 {
        let msg = if c.no_data_message.is_empty() {
            "No Data Available"
        } else {
            &c.no_data_message
        };
        out.push(text(
            "no-data",
            area.x + area.w / 2.0,
            area.y + area.h / 2.0,
            &fit(msg, 10.0, false, area.w),
            10.0,
            Anchor::Middle,
        ));
        return out;
    }
    let pie = is_pie(c);
    let entries: Vec<LegendEntry> = if pie {
        c.categories
            .iter()
            .enumerate()
            .map(|(i, l)| LegendEntry {
                label: l.clone(),
                color: slice_color(c, i),
                line: false,
            })
            .collect()
    } else {
        c.series
            .iter()
            .enumerate()
            .filter(|(_, s)| s.in_legend)
            .map(|(i, s)| LegendEntry {
                label: s.name.clone(),
                color: series_color(c, i),
                line: s.kind == SeriesKind::Line,
            })
            .collect()
    };
    if let Some(pos) = c.legend
        && !entries.is_empty()
    {
        area = legend(&mut out, c, pos, &entries, area);
    }
    if area.w < 10.0 || area.h < 10.0 {
        return out;
    }
    if pie {
        pie_chart(&mut out, c, area);
    } else {
        cartesian(&mut out, c, area);
    }
    out
}

fn slice_color(c: &Chart, i: usize) -> Rgba {
    c.series
        .first()
        .and_then(|s| s.points.iter().find(|p| p.category == i))
        .and_then(|p| p.color)
        .unwrap_or_else(|| c.palette.color(i))
}

/// Draws the legend and returns the area left for the plot.
fn legend(
    out: &mut Vec<Prim>,
    c: &Chart,
    pos: LegendPosition,
    entries: &[LegendEntry],
    area: Area,
) -> Area {
    const SW: f64 = 7.0;
    const ROW: f64 = 11.0;
    let title_h = if c.legend_title.is_some() { ROW } else { 0.0 };
    let mut rest = area;
    let mut items: Vec<(f64, f64, &LegendEntry, String)> = Vec::new();
    let title_at;
    match pos {
        LegendPosition::Right | LegendPosition::Left => {
            let max_w = area.w * 0.4;
            let text_w = entries
                .iter()
                .map(|e| text_width(&e.label, LABEL_SIZE, false))
                .fold(0.0, f64::max)
                .min(max_w - SW - 8.0)
                .max(10.0);
            let lw = SW + 4.0 + text_w + 4.0;
            let rows = ((area.h - title_h) / ROW).floor().max(1.0) as usize;
            let shown = entries.len().min(rows);
            let total = title_h + shown as f64 * ROW;
            let top = area.y + (area.h - total).max(0.0) / 2.0;
            let x = if pos == LegendPosition::Right {
                rest.w -= lw + PAD;
                area.x + area.w - lw
            } else {
                rest.x += lw + PAD;
                rest.w -= lw + PAD;
                area.x
            };
            title_at = (x, top + LABEL_SIZE);
            for (i, e) in entries.iter().take(shown).enumerate() {
                let y = top + title_h + i as f64 * ROW;
                items.push((x, y, e, fit(&e.label, LABEL_SIZE, false, text_w)));
            }
        }
        LegendPosition::Top | LegendPosition::Bottom => {
            let mut lines: Vec<Vec<(f64, &LegendEntry, String)>> = vec![Vec::new()];
            let mut x = 0.0;
            for e in entries {
                let label = fit(&e.label, LABEL_SIZE, false, area.w * 0.5);
                let ew = SW + 4.0 + text_width(&label, LABEL_SIZE, false) + 10.0;
                if x + ew > area.w && x > 0.0 {
                    if lines.len() >= 3 {
                        break;
                    }
                    lines.push(Vec::new());
                    x = 0.0;
                }
                if let Some(l) = lines.last_mut() {
                    l.push((x, e, label));
                }
                x += ew;
            }
            let lh = title_h + lines.len() as f64 * ROW + 2.0;
            let top = if pos == LegendPosition::Top {
                rest.y += lh + PAD;
                rest.h -= lh + PAD;
                area.y
            } else {
                rest.h -= lh + PAD;
                area.y + area.h - lh
            };
            title_at = (area.x, top + LABEL_SIZE);
            for (li, line) in lines.into_iter().enumerate() {
                let width = line
                    .last()
                    .map(|(x, e, l)| {
                        let _ = e;
                        x + SW + 4.0 + text_width(l, LABEL_SIZE, false)
                    })
                    .unwrap_or(0.0);
                let left = area.x + (area.w - width).max(0.0) / 2.0;
                for (x, e, l) in line {
                    items.push((left + x, top + title_h + li as f64 * ROW, e, l));
                }
            }
        }
    }
    if let Some(t) = &c.legend_title {
        out.push(Prim::Text {
            class: "legend-title",
            x: title_at.0,
            y: title_at.1,
            text: t.clone(),
            size: LABEL_SIZE,
            bold: true,
            color: TEXT,
            anchor: Anchor::Start,
            rotate: 0.0,
        });
    }
    for (x, y, e, label) in items {
        if e.line {
            out.push(Prim::Line {
                class: "legend-swatch",
                from: (x, y + SW / 2.0 + 1.0),
                to: (x + SW, y + SW / 2.0 + 1.0),
                color: e.color,
                width: 2.0,
            });
        } else {
            out.push(Prim::Rect {
                class: "legend-swatch",
                x,
                y: y + 1.0,
                w: SW,
                h: SW,
                fill: Some(e.color),
                stroke: None,
            });
        }
        out.push(text(
            "legend-entry",
            x + SW + 4.0,
            y + LABEL_SIZE,
            &label,
            LABEL_SIZE,
            Anchor::Start,
        ));
    }
    rest
}

fn pie_chart(out: &mut Vec<Prim>, c: &Chart, area: Area) {
    let Some(s) = c.series.first() else { return };
    let doughnut = s.kind == SeriesKind::Doughnut;
    let total: f64 = s
        .points
        .iter()
        .filter_map(|p| p.y)
        .filter(|v| *v > 0.0)
        .sum();
    if total <= 0.0 {
        return;
    }
    let (cx, cy) = (area.x + area.w / 2.0, area.y + area.h / 2.0);
    let r = (area.w.min(area.h) / 2.0 - 2.0).max(2.0);
    let ir = if doughnut { r * 0.5 } else { 0.0 };
    let at = |rad: f64, a: f64| (cx + rad * a.sin(), cy - rad * a.cos());
    let mut a0 = 0.0f64;
    let mut labels = Vec::new();
    for p in &s.points {
        let Some(v) = p.y.filter(|v| *v > 0.0) else {
            continue;
        };
        let sweep = v / total * 2.0 * PI;
        let a1 = a0 + sweep;
        let color = p.color.unwrap_or_else(|| c.palette.color(p.category));
        let mut segs = Vec::new();
        if sweep >= 2.0 * PI - 1e-9 {
            // a full circle: two half arcs
            let (x0, y0) = at(r, 0.0);
            let (x1, y1) = at(r, PI);
            segs.extend([
                Seg::M(x0, y0),
                Seg::A {
                    r,
                    large: false,
                    sweep: true,
                    x: x1,
                    y: y1,
                },
                Seg::A {
                    r,
                    large: false,
                    sweep: true,
                    x: x0,
                    y: y0,
                },
                Seg::Z,
            ]);
            if doughnut {
                let (x0, y0) = at(ir, 0.0);
                let (x1, y1) = at(ir, PI);
                segs.extend([
                    Seg::M(x0, y0),
                    Seg::A {
                        r: ir,
                        large: false,
                        sweep: false,
                        x: x1,
                        y: y1,
                    },
                    Seg::A {
                        r: ir,
                        large: false,
                        sweep: false,
                        x: x0,
                        y: y0,
                    },
                    Seg::Z,
                ]);
            }
        } else {
            let large = sweep > PI;
            let (ox0, oy0) = at(r, a0);
            let (ox1, oy1) = at(r, a1);
            if doughnut {
                let (ix0, iy0) = at(ir, a0);
                let (ix1, iy1) = at(ir, a1);
                segs.extend([
                    Seg::M(ox0, oy0),
                    Seg::A {
                        r,
                        large,
                        sweep: true,
                        x: ox1,
                        y: oy1,
                    },
                    Seg::L(ix1, iy1),
                    Seg::A {
                        r: ir,
                        large,
                        sweep: false,
                        x: ix0,
                        y: iy0,
                    },
                    Seg::Z,
                ]);
            } else {
                segs.extend([
                    Seg::M(cx, cy),
                    Seg::L(ox0, oy0),
                    Seg::A {
                        r,
                        large,
                        sweep: true,
                        x: ox1,
                        y: oy1,
                    },
                    Seg::Z,
                ]);
            }
        }
        out.push(Prim::Path {
            class: "slice",
            segs,
            fill: Some(color),
            stroke: Some((Rgba::WHITE, 0.75)),
        });
        if let Some(l) = &p.label {
            let mid = a0 + sweep / 2.0;
            let (lx, ly) = at(if doughnut { (r + ir) / 2.0 } else { r * 0.65 }, mid);
            labels.push(text(
                "data-label",
                lx,
                ly + LABEL_SIZE / 3.0,
                l,
                LABEL_SIZE,
                Anchor::Middle,
            ));
        }
        a0 = a1;
    }
    out.extend(labels);
}

/// Value extents of the non-scatter series: (lo, hi), with stacking applied.
fn value_range(c: &Chart) -> (f64, f64, bool) {
    let n = c.categories.len();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut percent = false;
    let mut pos = vec![0.0; n];
    let mut neg = vec![0.0; n];
    for s in &c.series {
        if s.kind == SeriesKind::Scatter {
            continue;
        }
        match s.stacking {
            Stacking::None => {
                for v in s.points.iter().filter_map(|p| p.y) {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
            Stacking::Stacked => {
                for p in &s.points {
                    if let (Some(v), true) = (p.y, p.category < n) {
                        if v >= 0.0 {
                            pos[p.category] += v;
                        } else {
                            neg[p.category] += v;
                        }
                    }
                }
            }
            Stacking::Percent => percent = true,
        }
    }
    for i in 0..n {
        if pos[i] != 0.0 || neg[i] != 0.0 {
            lo = lo.min(neg[i]);
            hi = hi.max(pos[i]);
        }
    }
    if percent {
        lo = lo.min(0.0);
        hi = hi.max(100.0);
    }
    (lo, hi, percent)
}

/// Per category, the totals of the 100 %-stacked series (absolute values).
fn percent_totals(c: &Chart) -> Vec<f64> {
    let mut t = vec![0.0; c.categories.len()];
    for s in c.series.iter().filter(|s| s.stacking == Stacking::Percent) {
        for p in &s.points {
            if let (Some(v), Some(slot)) = (p.y, t.get_mut(p.category)) {
                *slot += v.abs();
            }
        }
    }
    t
}

fn cartesian(out: &mut Vec<Prim>, c: &Chart, area: Area) {
    let horizontal = c.series.iter().any(|s| s.kind == SeriesKind::Bar);
    let scatter = c.series.iter().all(|s| s.kind == SeriesKind::Scatter);
    let n = c.categories.len().max(1);
    let (lo, hi, percent) = if scatter {
        let ys = c
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.y));
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        (lo, hi, false)
    } else {
        value_range(c)
    };
    let vs = scale(lo, hi, &c.value_axis, !scatter);
    let xs = if scatter {
        let xs = c.series.iter().flat_map(|s| {
            s.points
                .iter()
                .map(|p| p.x.unwrap_or(p.category as f64 + 1.0))
        });
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        Some(scale(lo, hi, &c.category_axis, false))
    } else {
        None
    };
    let vfmt = c.value_axis.format.as_deref();
    let value_label = |v: f64| {
        let s = format_value(v, vfmt, &c.culture);
        if percent && vfmt.is_none() {
            format!("{s}%")
        } else {
            s
        }
    };
    let vticks = vs.ticks();
    let vlabels: Vec<String> = vticks.iter().map(|v| value_label(*v)).collect();
    let xticks = xs.map(|s| s.ticks()).unwrap_or_default();
    let xlabels: Vec<String> = xticks
        .iter()
        .map(|v| format_value(*v, c.category_axis.format.as_deref(), &c.culture))
        .collect();
    let cat_labels: Vec<String> = if scatter {
        xlabels.clone()
    } else {
        c.categories.clone()
    };
    let widest = |ls: &[String]| {
        ls.iter()
            .map(|l| text_width(l, LABEL_SIZE, false))
            .fold(0.0, f64::max)
    };
    // which labels go on the left (vertical axis) and bottom (horizontal axis)
    let (left_labels, left_axis, bottom_axis) = if horizontal {
        (&cat_labels, &c.category_axis, &c.value_axis)
    } else {
        (&vlabels, &c.value_axis, &c.category_axis)
    };
    let mut plot = area;
    let left_w = if left_axis.hidden {
        0.0
    } else {
        widest(left_labels).min(area.w * 0.35) + 6.0
    };
    let left_title = left_axis.title.is_some() && !left_axis.hidden;
    let bottom_title = bottom_axis.title.is_some() && !bottom_axis.hidden;
    plot.x += left_w
        + if left_title {
            AXIS_TITLE_SIZE + 4.0
        } else {
            0.0
        };
    plot.w -= plot.x - area.x + 6.0;
    // category labels that do not fit side by side are turned 45° (while one label height
    // per category fits), as SSRS's label auto-fit does
    let cat_room = (area.w - left_w - 10.0) / n as f64;
    let cat_widest = widest(&c.categories);
    let rotate = !horizontal
        && !scatter
        && !c.category_axis.hidden
        && cat_widest + 4.0 > cat_room
        && LABEL_SIZE + 1.0 <= cat_room;
    let rotated_h = ((cat_widest + LABEL_SIZE) * 0.71).min(area.h * 0.3);
    let bottom_h = if bottom_axis.hidden {
        0.0
    } else if rotate {
        rotated_h + 6.0
    } else {
        LABEL_SIZE + 6.0
    };
    plot.h -= bottom_h
        + if bottom_title {
            AXIS_TITLE_SIZE + 4.0
        } else {
            0.0
        };
    plot.y += 4.0;
    plot.h -= 4.0;
    if plot.w < 5.0 || plot.h < 5.0 {
        return;
    }
    if left_title && let Some(t) = &left_axis.title {
        out.push(Prim::Text {
            class: "axis-title",
            x: area.x + AXIS_TITLE_SIZE,
            y: plot.y + plot.h / 2.0,
            text: fit(t, AXIS_TITLE_SIZE, false, plot.h),
            size: AXIS_TITLE_SIZE,
            bold: false,
            color: TEXT,
            anchor: Anchor::Middle,
            rotate: -90.0,
        });
    }
    if bottom_title && let Some(t) = &bottom_axis.title {
        out.push(text(
            "axis-title",
            plot.x + plot.w / 2.0,
            area.y + area.h - 2.0,
            &fit(t, AXIS_TITLE_SIZE, false, plot.w),
            AXIS_TITLE_SIZE,
            Anchor::Middle,
        ));
    }
    // value axis: position of a value along the axis
    let vpos = |v: f64| -> f64 {
        let f = vs.frac(v).clamp(-0.05, 1.05);
        if horizontal {
            plot.x + f * plot.w
        } else {
            plot.y + plot.h - f * plot.h
        }
    };
    // gridlines, ticks and labels of the value axis
    for (v, l) in vticks.iter().zip(&vlabels) {
        let p = vpos(*v);
        let (from, to) = if horizontal {
            ((p, plot.y), (p, plot.y + plot.h))
        } else {
            ((plot.x, p), (plot.x + plot.w, p))
        };
        if c.value_axis.gridlines {
            out.push(Prim::Line {
                class: "gridline",
                from,
                to,
                color: GRID,
                width: 0.5,
            });
        }
        if !c.value_axis.hidden {
            if horizontal {
                out.push(Prim::Line {
                    class: "tick",
                    from: (p, plot.y + plot.h),
                    to: (p, plot.y + plot.h + 3.0),
                    color: AXIS,
                    width: 0.5,
                });
                out.push(text(
                    "axis-label",
                    p,
                    plot.y + plot.h + 3.0 + LABEL_SIZE,
                    l,
                    LABEL_SIZE,
                    Anchor::Middle,
                ));
            } else {
                out.push(Prim::Line {
                    class: "tick",
                    from: (plot.x - 3.0, p),
                    to: (plot.x, p),
                    color: AXIS,
                    width: 0.5,
                });
                out.push(text(
                    "axis-label",
                    plot.x - 4.0,
                    p + LABEL_SIZE / 3.0,
                    &fit(l, LABEL_SIZE, false, left_w),
                    LABEL_SIZE,
                    Anchor::End,
                ));
            }
        }
    }
    // category axis (or the scatter X axis)
    let slot = if horizontal { plot.h } else { plot.w } / n as f64;
    let cpos = |i: f64| -> f64 {
        if horizontal {
            plot.y + slot * (i + 0.5)
        } else {
            plot.x + slot * (i + 0.5)
        }
    };
    let xpos = |x: f64| -> f64 {
        match xs {
            Some(s) => plot.x + s.frac(x) * plot.w,
            None => cpos(x),
        }
    };
    if !c.category_axis.hidden {
        if let Some(xsc) = xs {
            for (v, l) in xticks.iter().zip(&xlabels) {
                let p = plot.x + xsc.frac(*v) * plot.w;
                if c.category_axis.gridlines {
                    out.push(Prim::Line {
                        class: "gridline",
                        from: (p, plot.y),
                        to: (p, plot.y + plot.h),
                        color: GRID,
                        width: 0.5,
                    });
                }
                out.push(Prim::Line {
                    class: "tick",
                    from: (p, plot.y + plot.h),
                    to: (p, plot.y + plot.h + 3.0),
                    color: AXIS,
                    width: 0.5,
                });
                out.push(text(
                    "axis-label",
                    p,
                    plot.y + plot.h + 3.0 + LABEL_SIZE,
                    l,
                    LABEL_SIZE,
                    Anchor::Middle,
                ));
            }
        } else {
            // every k-th label so labels do not overlap
            let k = if horizontal {
                ((LABEL_SIZE + 2.0) / slot).ceil().max(1.0) as usize
            } else if rotate {
                1
            } else {
                let w = widest(&c.categories) + 4.0;
                (w / slot).ceil().max(1.0) as usize
            };
            for (i, l) in c.categories.iter().enumerate() {
                let p = cpos(i as f64);
                if horizontal {
                    out.push(Prim::Line {
                        class: "tick",
                        from: (plot.x - 3.0, p),
                        to: (plot.x, p),
                        color: AXIS,
                        width: 0.5,
                    });
                } else {
                    out.push(Prim::Line {
                        class: "tick",
                        from: (p, plot.y + plot.h),
                        to: (p, plot.y + plot.h + 3.0),
                        color: AXIS,
                        width: 0.5,
                    });
                }
                if i % k != 0 {
                    continue;
                }
                if horizontal {
                    out.push(text(
                        "axis-label",
                        plot.x - 4.0,
                        p + LABEL_SIZE / 3.0,
                        &fit(l, LABEL_SIZE, false, left_w),
                        LABEL_SIZE,
                        Anchor::End,
                    ));
                } else if rotate {
                    let (x, y) = (p + LABEL_SIZE / 3.0, plot.y + plot.h + 5.0);
                    out.push(Prim::Text {
                        class: "axis-label",
                        x,
                        y,
                        text: fit(l, LABEL_SIZE, false, rotated_h / 0.71),
                        size: LABEL_SIZE,
                        bold: false,
                        color: TEXT,
                        anchor: Anchor::End,
                        rotate: -45.0,
                    });
                } else {
                    out.push(text(
                        "axis-label",
                        p,
                        plot.y + plot.h + 3.0 + LABEL_SIZE,
                        &fit(l, LABEL_SIZE, false, slot * k as f64),
                        LABEL_SIZE,
                        Anchor::Middle,
                    ));
                }
            }
        }
    }
    // axis lines
    let base = vpos(vs.min.max(0.0).min(vs.max));
    out.push(Prim::Line {
        class: "axis",
        from: (plot.x, plot.y),
        to: (plot.x, plot.y + plot.h),
        color: AXIS,
        width: 0.75,
    });
    out.push(Prim::Line {
        class: "axis",
        from: (plot.x, plot.y + plot.h),
        to: (plot.x + plot.w, plot.y + plot.h),
        color: AXIS,
        width: 0.75,
    });
    let totals = percent_totals(c);
    let value_of = |s: &crate::Series, p: &crate::Point| -> Option<f64> {
        let v = p.y?;
        if s.stacking == Stacking::Percent {
            let t = totals.get(p.category).copied().unwrap_or(0.0);
            Some(if t > 0.0 { v / t * 100.0 } else { 0.0 })
        } else {
            Some(v)
        }
    };
    let mut labels = Vec::new();
    // bars and columns: clusters of unstacked series plus one stack per stacked kind
    let bar_kind = |s: &crate::Series| matches!(s.kind, SeriesKind::Column | SeriesKind::Bar);
    let mut cluster_of = vec![usize::MAX; c.series.len()];
    let mut clusters = 0usize;
    let mut stack_cluster = None;
    for (i, s) in c.series.iter().enumerate() {
        if !bar_kind(s) {
            continue;
        }
        if s.stacking == Stacking::None {
            cluster_of[i] = clusters;
            clusters += 1;
        } else {
            let k = *stack_cluster.get_or_insert_with(|| {
                clusters += 1;
                clusters - 1
            });
            cluster_of[i] = k;
        }
    }
    let mut stack_pos = vec![0.0; n];
    let mut stack_neg = vec![0.0; n];
    let band = slot * 0.7;
    let bw = if clusters > 0 {
        band / clusters as f64
    } else {
        band
    };
    for (si, s) in c.series.iter().enumerate() {
        if !bar_kind(s) {
            continue;
        }
        let color = series_color(c, si);
        for p in &s.points {
            let Some(v) = value_of(s, p) else { continue };
            if p.category >= n {
                continue;
            }
            let (v0, v1) = if s.stacking == Stacking::None {
                (0.0f64.max(vs.min).min(vs.max), v)
            } else if v >= 0.0 {
                let b = stack_pos[p.category];
                stack_pos[p.category] += v;
                (b, b + v)
            } else {
                let b = stack_neg[p.category];
                stack_neg[p.category] += v;
                (b, b + v)
            };
            let (a, b) = (vpos(v0), vpos(v1));
            let off = cpos(p.category as f64) - band / 2.0 + bw * cluster_of[si] as f64;
            let (x, y, w, h) = if horizontal {
                (a.min(b), off, (b - a).abs(), bw)
            } else {
                (off, a.min(b), bw, (b - a).abs())
            };
            out.push(Prim::Rect {
                class: "bar",
                x,
                y,
                w,
                h,
                fill: Some(p.color.unwrap_or(color)),
                stroke: None,
            });
            if let Some(l) = &p.label {
                let (lx, ly, anchor) = if horizontal {
                    (x + w + 2.0, y + h / 2.0 + LABEL_SIZE / 3.0, Anchor::Start)
                } else {
                    (x + w / 2.0, y - 2.0, Anchor::Middle)
                };
                labels.push(text("data-label", lx, ly, l, LABEL_SIZE, anchor));
            }
        }
    }
    // areas (stacked ones on top of each other), then lines, then scatter points
    let mut area_stack = vec![0.0; n];
    for (si, s) in c.series.iter().enumerate() {
        if !matches!(s.kind, SeriesKind::Area | SeriesKind::Line) {
            continue;
        }
        let color = series_color(c, si);
        let mut pts: Vec<(usize, f64, f64)> = Vec::new(); // category, low, high
        for p in &s.points {
            let Some(v) = value_of(s, p) else { continue };
            if p.category >= n {
                continue;
            }
            if s.kind == SeriesKind::Area && s.stacking != Stacking::None {
                let b = area_stack[p.category];
                area_stack[p.category] += v;
                pts.push((p.category, b, b + v));
            } else {
                pts.push((p.category, 0.0, v));
            }
        }
        pts.sort_by_key(|p| p.0);
        if pts.is_empty() {
            continue;
        }
        let xy = |cat: usize, v: f64| -> (f64, f64) {
            if horizontal {
                (vpos(v), cpos(cat as f64))
            } else {
                (cpos(cat as f64), vpos(v))
            }
        };
        if s.kind == SeriesKind::Area {
            let mut segs = Vec::with_capacity(pts.len() * 2 + 2);
            for (i, &(cat, _, hi)) in pts.iter().enumerate() {
                let (x, y) = xy(cat, hi);
                segs.push(if i == 0 { Seg::M(x, y) } else { Seg::L(x, y) });
            }
            for &(cat, lo, _) in pts.iter().rev() {
                let (x, y) = if s.stacking == Stacking::None {
                    let (x, _) = xy(cat, 0.0);
                    if horizontal { (base, x) } else { (x, base) }
                } else {
                    xy(cat, lo)
                };
                segs.push(Seg::L(x, y));
            }
            segs.push(Seg::Z);
            let mut fill = color;
            if s.stacking == Stacking::None && c.series.len() > 1 {
                fill.a = fill.a.min(200);
            }
            out.push(Prim::Path {
                class: "area",
                segs,
                fill: Some(fill),
                stroke: None,
            });
        } else {
            let segs: Vec<Seg> = pts
                .iter()
                .enumerate()
                .map(|(i, &(cat, _, hi))| {
                    let (x, y) = xy(cat, hi);
                    if i == 0 { Seg::M(x, y) } else { Seg::L(x, y) }
                })
                .collect();
            out.push(Prim::Path {
                class: "line",
                segs,
                fill: None,
                stroke: Some((color, 2.0)),
            });
            for &(cat, _, hi) in &pts {
                out.push(Prim::Circle {
                    class: "marker",
                    c: xy(cat, hi),
                    r: 2.5,
                    fill: color,
                });
            }
        }
        for p in &s.points {
            if let (Some(l), Some(&(cat, _, hi))) =
                (&p.label, pts.iter().find(|q| q.0 == p.category))
            {
                let (x, y) = xy(cat, hi);
                labels.push(text(
                    "data-label",
                    x,
                    y - 4.0,
                    l,
                    LABEL_SIZE,
                    Anchor::Middle,
                ));
            }
        }
    }
    let max_size = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.size))
        .fold(0.0f64, |a, b| a.max(b.abs()));
    for (si, s) in c.series.iter().enumerate() {
        if s.kind != SeriesKind::Scatter {
            continue;
        }
        let color = series_color(c, si);
        for p in &s.points {
            let Some(v) = p.y else { continue };
            let x = xpos(p.x.unwrap_or(p.category as f64 + if xs.is_some() { 1.0 } else { 0.0 }));
            let y = vpos(v);
            let r = match p.size {
                Some(sz) if max_size > 0.0 => {
                    (sz.abs() / max_size).sqrt() * (plot.w.min(plot.h) / 10.0).max(4.0)
                }
                _ => 3.0,
            };
            out.push(Prim::Circle {
                class: "point",
                c: (x, y),
                r: r.max(1.0),
                fill: p.color.unwrap_or(color),
            });
            if let Some(l) = &p.label {
                labels.push(text(
                    "data-label",
                    x,
                    y - r - 2.0,
                    l,
                    LABEL_SIZE,
                    Anchor::Middle,
                ));
            }
        }
    }
    out.extend(labels);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Point, Series};

    fn count(p: &[Prim], class: &str) -> usize {
        p.iter()
            .filter(|p| match p {
                Prim::Rect { class: c, .. }
                | Prim::Line { class: c, .. }
                | Prim::Path { class: c, .. }
                | Prim::Circle { class: c, .. }
                | Prim::Text { class: c, .. } => *c == class,
            })
            .count()
    }

    fn texts(p: &[Prim], class: &str) -> Vec<String> {
        p.iter()
            .filter_map(|p| match p {
                Prim::Text { class: c, text, .. } if *c == class => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    fn sample(kind: SeriesKind, stacking: Stacking) -> Chart {
        let series = (0..2)
            .map(|s| Series {
                name: format!("S{s}"),
                kind,
                stacking,
                points: (0..3)
                    .map(|c| Point {
                        category: c,
                        y: Some((c + 1) as f64 * 10.0 + s as f64),
                        x: Some(c as f64 * 2.0),
                        ..Point::default()
                    })
                    .collect(),
                in_legend: true,
                ..Series::default()
            })
            .collect();
        Chart {
            width: 400.0,
            height: 250.0,
            titles: vec!["Sales".into()],
            categories: vec!["Jan".into(), "Feb".into(), "Mar".into()],
            series,
            legend: Some(LegendPosition::Right),
            value_axis: Axis {
                gridlines: true,
                ..Axis::default()
            },
            culture: "en-US".into(),
            ..Chart::default()
        }
    }

    #[test]
    fn nice_scales_and_overrides() {
        let a = Axis::default();
        assert_eq!(
            scale(0.0, 87.0, &a, true),
            Scale {
                min: 0.0,
                max: 100.0,
                step: 20.0
            }
        );
        let o = Axis {
            min: Some(10.0),
            max: Some(50.0),
            interval: Some(10.0),
            ..Axis::default()
        };
        assert_eq!(
            scale(0.0, 87.0, &o, true).ticks(),
            vec![10.0, 20.0, 30.0, 40.0, 50.0]
        );
        let tiny = Axis {
            interval: Some(1e-9),
            ..Axis::default()
        };
        assert!(scale(0.0, 100.0, &tiny, true).ticks().len() <= MAX_TICKS);
        assert_eq!(format_value(1234.5, Some("N1"), "en-US"), "1,234.5");
        assert_eq!(format_value(0.25, Some("P0"), "en-US"), "25 %"); // .NET Framework en-US
    }

    #[test]
    fn each_type_draws_its_shapes() {
        let p = chart(&sample(SeriesKind::Column, Stacking::None));
        assert_eq!(count(&p, "bar"), 6);
        assert_eq!(texts(&p, "legend-entry"), vec!["S0", "S1"]);
        let labels = texts(&p, "axis-label");
        assert!(
            labels.contains(&"Feb".to_string()) && labels.contains(&"30".to_string()),
            "{labels:?}"
        );
        assert_eq!(
            count(&chart(&sample(SeriesKind::Bar, Stacking::Stacked)), "bar"),
            6
        );
        assert_eq!(
            count(&chart(&sample(SeriesKind::Line, Stacking::None)), "line"),
            2
        );
        assert_eq!(
            count(&chart(&sample(SeriesKind::Area, Stacking::Stacked)), "area"),
            2
        );
        let pct = chart(&sample(SeriesKind::Column, Stacking::Percent));
        assert!(texts(&pct, "axis-label").contains(&"100%".to_string()));
        assert_eq!(
            count(
                &chart(&sample(SeriesKind::Scatter, Stacking::None)),
                "point"
            ),
            6
        );
        let pie = chart(&sample(SeriesKind::Pie, Stacking::None));
        assert_eq!(count(&pie, "slice"), 3);
        assert_eq!(texts(&pie, "legend-entry"), vec!["Jan", "Feb", "Mar"]);
        assert_eq!(
            count(
                &chart(&sample(SeriesKind::Doughnut, Stacking::None)),
                "slice"
            ),
            3
        );
    }

    #[test]
    fn crowded_category_labels_turn_45_degrees() {
        let mut c = sample(SeriesKind::Column, Stacking::None);
        c.width = 200.0;
        c.legend = None;
        c.categories = (0..12).map(|i| format!("Category number {i}")).collect();
        for s in &mut c.series {
            s.points = (0..12)
                .map(|i| Point {
                    category: i,
                    y: Some(i as f64),
                    ..Point::default()
                })
                .collect();
        }
        let p = chart(&c);
        let rotated = p
            .iter()
            .filter(
                |p| matches!(p, Prim::Text { class: "axis-label", rotate, .. } if *rotate == -45.0),
            )
            .count();
        assert_eq!(rotated, 12);
    }

    #[test]
    fn no_data_shows_the_message() {
        let mut c = sample(SeriesKind::Column, Stacking::None);
        c.series.iter_mut().for_each(|s| s.points.clear());
        c.no_data_message = "Nothing to chart".into();
        let p = chart(&c);
        assert_eq!(texts(&p, "no-data"), vec!["Nothing to chart"]);
        assert_eq!(count(&p, "bar"), 0);
    }
}
