//! Gauge layout: a [`GaugePanel`] (radial and linear gauges, each with one scale, its
//! ranges and pointers, plus the panel's text labels) → primitives.
//!
//! A radial scale runs clockwise from `start_angle` degrees measured from six o'clock
//! (SSRS's convention, default 20) over `sweep_angle` (default 320). A linear scale runs
//! left to right, or bottom to top when the gauge is taller than wide.

use crate::layout::{Scale, format_value, scale};
use crate::metrics::fit;
use crate::{Anchor, Axis, Prim, Rgba, Seg};

/// Radial or linear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GaugeKind {
    /// `RadialGauge`.
    #[default]
    Radial,
    /// `LinearGauge`.
    Linear,
}

/// A coloured band of the scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaugeRange {
    /// `StartValue`.
    pub start: f64,
    /// `EndValue`.
    pub end: f64,
    /// Fill (`Style/BackgroundColor`).
    pub color: Rgba,
}

/// One gauge with its (first) scale.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Gauge {
    /// Radial or linear.
    pub kind: GaugeKind,
    /// Position in the panel, percent: left, top, width, height (0 width: the whole panel).
    pub rect: [f64; 4],
    /// `MinimumValue`.
    pub min: f64,
    /// `MaximumValue`.
    pub max: f64,
    /// `Interval` of the major tick marks (`None`: auto).
    pub interval: Option<f64>,
    /// Whether tick marks are drawn.
    pub ticks: bool,
    /// Whether scale labels are drawn.
    pub labels: bool,
    /// Label format (.NET).
    pub format: Option<String>,
    /// Ranges.
    pub ranges: Vec<GaugeRange>,
    /// Pointer values (`None`: the value was empty).
    pub pointers: Vec<Option<f64>>,
    /// Radial: start angle in degrees from six o'clock, clockwise.
    pub start_angle: f64,
    /// Radial: sweep in degrees.
    pub sweep_angle: f64,
}

/// A `GaugeLabel`: text placed on the panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GaugeText {
    /// The text.
    pub text: String,
    /// Left, top, width, height in percent of the panel.
    pub rect: [f64; 4],
    /// Font size in points.
    pub size: f64,
}

/// An evaluated gauge panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GaugePanel {
    /// Width in points.
    pub width: f64,
    /// Height in points.
    pub height: f64,
    /// Gauges.
    pub gauges: Vec<Gauge>,
    /// Text labels.
    pub labels: Vec<GaugeText>,
    /// Culture of the scale labels.
    pub culture: String,
}

const TEXT: Rgba = Rgba::rgb(0x333333);
const FRAME: Rgba = Rgba::rgb(0xE6E6E6);
const SCALE: Rgba = Rgba::rgb(0x606060);
const POINTER: Rgba = Rgba::rgb(0xD9413A);

fn place(rect: [f64; 4], w: f64, h: f64) -> (f64, f64, f64, f64) {
    if rect[2] <= 0.0 || rect[3] <= 0.0 {
        return (0.0, 0.0, w, h);
    }
    let p = |v: f64| v.clamp(0.0, 100.0) / 100.0;
    (
        p(rect[0]) * w,
        p(rect[1]) * h,
        p(rect[2]) * w,
        p(rect[3]) * h,
    )
}

fn gauge_scale(g: &Gauge) -> Scale {
    let axis = Axis {
        min: Some(g.min),
        max: Some(g.max),
        interval: g.interval,
        ..Axis::default()
    };
    scale(g.min, g.max, &axis, false)
}

/// Lays a gauge panel out.
pub fn layout(p: &GaugePanel) -> Vec<Prim> {
    let mut out = Vec::new();
    let (w, h) = (p.width.max(10.0), p.height.max(10.0));
    for g in &p.gauges {
        let (x, y, gw, gh) = place(g.rect, w, h);
        match g.kind {
            GaugeKind::Radial => radial(&mut out, g, p, (x, y, gw, gh)),
            GaugeKind::Linear => linear(&mut out, g, p, (x, y, gw, gh)),
        }
    }
    for t in &p.labels {
        let (x, y, tw, th) = place(t.rect, w, h);
        let size = if t.size > 0.0 { t.size } else { 10.0 };
        out.push(Prim::Text {
            class: "gauge-text",
            x: x + tw / 2.0,
            y: y + th / 2.0 + size / 3.0,
            text: fit(&t.text, size, false, tw.max(10.0)),
            size,
            bold: false,
            color: TEXT,
            anchor: Anchor::Middle,
            rotate: 0.0,
        });
    }
    out
}

fn radial(out: &mut Vec<Prim>, g: &Gauge, p: &GaugePanel, (x, y, w, h): (f64, f64, f64, f64)) {
    let (cx, cy) = (x + w / 2.0, y + h / 2.0);
    let r = (w.min(h) / 2.0 - 3.0).max(5.0);
    let sc = gauge_scale(g);
    let start = if g.sweep_angle > 0.0 {
        g.start_angle
    } else {
        20.0
    };
    let sweep = if g.sweep_angle > 0.0 {
        g.sweep_angle.min(360.0)
    } else {
        320.0
    };
    // angle in degrees from six o'clock, clockwise → screen point
    let at = |rad: f64, v: f64| {
        let a = (start + sc.frac(v).clamp(0.0, 1.0) * sweep).to_radians();
        (cx - rad * a.sin(), cy + rad * a.cos())
    };
    out.push(Prim::Circle {
        class: "gauge-frame",
        c: (cx, cy),
        r,
        fill: FRAME,
    });
    let band_out = r * 0.9;
    let band_in = r * 0.78;
    for rg in &g.ranges {
        let (a, b) = (rg.start.min(rg.end), rg.start.max(rg.end));
        let frac = (sc.frac(b).clamp(0.0, 1.0) - sc.frac(a).clamp(0.0, 1.0)) * sweep;
        if frac <= 0.0 {
            continue;
        }
        let large = frac > 180.0;
        let (o0, o1) = (at(band_out, a), at(band_out, b));
        let (i0, i1) = (at(band_in, a), at(band_in, b));
        out.push(Prim::Path {
            class: "gauge-range",
            segs: vec![
                Seg::M(o0.0, o0.1),
                Seg::A {
                    r: band_out,
                    large,
                    sweep: true,
                    x: o1.0,
                    y: o1.1,
                },
                Seg::L(i1.0, i1.1),
                Seg::A {
                    r: band_in,
                    large,
                    sweep: false,
                    x: i0.0,
                    y: i0.1,
                },
                Seg::Z,
            ],
            fill: Some(rg.color),
            stroke: None,
        });
    }
    let size = (r / 9.0).clamp(5.0, 10.0);
    for v in sc.ticks() {
        if g.ticks {
            out.push(Prim::Line {
                class: "gauge-tick",
                from: at(band_out, v),
                to: at(band_in, v),
                color: SCALE,
                width: 1.0,
            });
        }
        if g.labels {
            let (lx, ly) = at(r * 0.64, v);
            out.push(Prim::Text {
                class: "gauge-label",
                x: lx,
                y: ly + size / 3.0,
                text: format_value(v, g.format.as_deref(), &p.culture),
                size,
                bold: false,
                color: TEXT,
                anchor: Anchor::Middle,
                rotate: 0.0,
            });
        }
    }
    for v in g.pointers.iter().flatten() {
        let v = v.clamp(sc.min, sc.max);
        let tip = at(r * 0.85, v);
        let a = (start + sc.frac(v) * sweep).to_radians();
        let (nx, ny) = (a.cos() * r * 0.04, a.sin() * r * 0.04);
        out.push(Prim::Path {
            class: "gauge-pointer",
            segs: vec![
                Seg::M(cx + nx, cy + ny),
                Seg::L(tip.0, tip.1),
                Seg::L(cx - nx, cy - ny),
                Seg::Z,
            ],
            fill: Some(POINTER),
            stroke: None,
        });
    }
    out.push(Prim::Circle {
        class: "gauge-cap",
        c: (cx, cy),
        r: r * 0.07,
        fill: SCALE,
    });
}

fn linear(out: &mut Vec<Prim>, g: &Gauge, p: &GaugePanel, (x, y, w, h): (f64, f64, f64, f64)) {
    let vertical = h > w;
    let sc = gauge_scale(g);
    out.push(Prim::Rect {
        class: "gauge-frame",
        x: x + 1.0,
        y: y + 1.0,
        w: w - 2.0,
        h: h - 2.0,
        fill: Some(FRAME),
        stroke: None,
    });
    // the scale runs along `len` from `s0`; `cross` is the middle across it
    let (s0, len, cross, thick) = if vertical {
        (
            y + h - 10.0,
            h - 20.0,
            x + w / 2.0,
            (w * 0.15).clamp(4.0, 20.0),
        )
    } else {
        (x + 10.0, w - 20.0, y + h / 2.0, (h * 0.15).clamp(4.0, 20.0))
    };
    let pos = |v: f64| {
        let f = sc.frac(v).clamp(0.0, 1.0) * len;
        if vertical { s0 - f } else { s0 + f }
    };
    let rect = |a: f64, b: f64, c0: f64, t: f64| -> (f64, f64, f64, f64) {
        let (lo, hi) = (a.min(b), a.max(b));
        if vertical {
            (c0, lo, t, hi - lo)
        } else {
            (lo, c0, hi - lo, t)
        }
    };
    for rg in &g.ranges {
        let (rx, ry, rw, rh) = rect(pos(rg.start), pos(rg.end), cross + thick * 0.6, thick * 0.5);
        out.push(Prim::Rect {
            class: "gauge-range",
            x: rx,
            y: ry,
            w: rw,
            h: rh,
            fill: Some(rg.color),
            stroke: None,
        });
    }
    let (ax, ay) = if vertical {
        ((cross, pos(sc.min)), (cross, pos(sc.max)))
    } else {
        ((pos(sc.min), cross), (pos(sc.max), cross))
    };
    out.push(Prim::Line {
        class: "gauge-scale",
        from: ax,
        to: ay,
        color: SCALE,
        width: 1.0,
    });
    let size = (thick * 0.8).clamp(5.0, 9.0);
    for v in sc.ticks() {
        let q = pos(v);
        if g.ticks {
            let (from, to) = if vertical {
                ((cross - thick * 0.4, q), (cross, q))
            } else {
                ((q, cross - thick * 0.4), (q, cross))
            };
            out.push(Prim::Line {
                class: "gauge-tick",
                from,
                to,
                color: SCALE,
                width: 1.0,
            });
        }
        if g.labels {
            let (lx, ly, anchor) = if vertical {
                (cross - thick * 0.6, q + size / 3.0, Anchor::End)
            } else {
                (q, cross - thick * 0.6, Anchor::Middle)
            };
            out.push(Prim::Text {
                class: "gauge-label",
                x: lx,
                y: ly,
                text: format_value(v, g.format.as_deref(), &p.culture),
                size,
                bold: false,
                color: TEXT,
                anchor,
                rotate: 0.0,
            });
        }
    }
    for v in g.pointers.iter().flatten() {
        let (rx, ry, rw, rh) = rect(
            pos(sc.min),
            pos(v.clamp(sc.min, sc.max)),
            cross + 1.0,
            thick * 0.5,
        );
        out.push(Prim::Rect {
            class: "gauge-pointer",
            x: rx,
            y: ry,
            w: rw,
            h: rh,
            fill: Some(POINTER),
            stroke: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn hostile_scales_stay_bounded() {
        for (min, max, interval) in [
            (-1e308, 1e308, None),
            (0.0, 1e12, Some(1e-9)),
            (5.0, 5.0, Some(0.0)),
            (f64::NAN, f64::INFINITY, Some(f64::NAN)),
        ] {
            for kind in [GaugeKind::Radial, GaugeKind::Linear] {
                let panel = GaugePanel {
                    width: 100.0,
                    height: 100.0,
                    gauges: vec![Gauge {
                        kind,
                        min,
                        max,
                        interval,
                        ticks: true,
                        labels: true,
                        pointers: vec![Some(f64::NAN), Some(1e300)],
                        ..Gauge::default()
                    }],
                    ..GaugePanel::default()
                };
                let p = layout(&panel);
                assert!(count(&p, "gauge-tick") <= crate::layout::MAX_TICKS + 1);
                let svg = crate::svg::write(&p, 100.0, 100.0);
                assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            }
        }
    }

    #[test]
    fn radial_and_linear_gauges_draw_scale_ranges_and_pointers() {
        for kind in [GaugeKind::Radial, GaugeKind::Linear] {
            let panel = GaugePanel {
                width: 200.0,
                height: 150.0,
                gauges: vec![Gauge {
                    kind,
                    min: 0.0,
                    max: 100.0,
                    interval: Some(20.0),
                    ticks: true,
                    labels: true,
                    ranges: vec![GaugeRange {
                        start: 80.0,
                        end: 100.0,
                        color: Rgba::rgb(0xFF0000),
                    }],
                    pointers: vec![Some(42.0)],
                    ..Gauge::default()
                }],
                labels: vec![GaugeText {
                    text: "Speed".into(),
                    rect: [0.0, 80.0, 100.0, 20.0],
                    size: 9.0,
                }],
                culture: "en-US".into(),
            };
            let p = layout(&panel);
            assert_eq!(count(&p, "gauge-tick"), 6, "{kind:?}");
            assert_eq!(count(&p, "gauge-label"), 6, "{kind:?}");
            assert_eq!(count(&p, "gauge-range"), 1, "{kind:?}");
            assert_eq!(count(&p, "gauge-pointer"), 1, "{kind:?}");
            assert_eq!(count(&p, "gauge-text"), 1, "{kind:?}");
        }
    }
}
