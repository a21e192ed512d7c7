//! The SVG writer: primitives → one `<svg>` element (presentation attributes only, no
//! `style` attributes or elements, so it passes a strict Content-Security-Policy when
//! inlined in HTML). Numbers are written with two decimals, so output is deterministic.

use std::fmt::Write;

use crate::{Anchor, Prim, Rgba, Seg};

/// The font family written on text: the metric-compatible face first.
pub const FONT_FAMILY: &str = "Liberation Sans, Arial, Helvetica, sans-serif";

fn n(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn color(c: Rgba) -> String {
    format!("#{:02x}{:02x}{:02x}", c.r, c.g, c.b)
}

fn paint(out: &mut String, attr: &str, c: Option<Rgba>) {
    match c {
        Some(c) => {
            let _ = write!(out, " {attr}=\"{}\"", color(c));
            if c.a < 255 {
                let _ = write!(out, " {attr}-opacity=\"{}\"", n(f64::from(c.a) / 255.0));
            }
        }
        None => {
            let _ = write!(out, " {attr}=\"none\"");
        }
    }
}

fn stroke(out: &mut String, s: Option<(Rgba, f64)>) {
    if let Some((c, w)) = s {
        paint(out, "stroke", Some(c));
        let _ = write!(out, " stroke-width=\"{}\"", n(w));
    }
}

/// Escapes text for XML content and attribute values.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// Path data of segments.
pub fn path_data(segs: &[Seg]) -> String {
    let mut d = String::new();
    for s in segs {
        if !d.is_empty() {
            d.push(' ');
        }
        match *s {
            Seg::M(x, y) => {
                let _ = write!(d, "M{} {}", n(x), n(y));
            }
            Seg::L(x, y) => {
                let _ = write!(d, "L{} {}", n(x), n(y));
            }
            Seg::A {
                r,
                large,
                sweep,
                x,
                y,
            } => {
                let _ = write!(
                    d,
                    "A{} {} 0 {} {} {} {}",
                    n(r),
                    n(r),
                    u8::from(large),
                    u8::from(sweep),
                    n(x),
                    n(y)
                );
            }
            Seg::Z => d.push('Z'),
        }
    }
    d
}

/// Writes `prims` as an SVG document of `w` × `h` points.
pub fn write(prims: &[Prim], w: f64, h: f64) -> String {
    let mut out = String::with_capacity(256 + prims.len() * 96);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{w}pt\" height=\"{h}pt\" viewBox=\"0 0 {w} {h}\" font-family=\"{FONT_FAMILY}\">",
        w = n(w),
        h = n(h)
    );
    for p in prims {
        match p {
            Prim::Rect {
                class,
                x,
                y,
                w,
                h,
                fill,
                stroke: s,
            } => {
                let _ = write!(
                    out,
                    "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
                    n(*x),
                    n(*y),
                    n(w.max(0.0)),
                    n(h.max(0.0))
                );
                paint(&mut out, "fill", *fill);
                stroke(&mut out, *s);
                out.push_str("/>");
            }
            Prim::Line {
                class,
                from,
                to,
                color: c,
                width,
            } => {
                let _ = write!(
                    out,
                    "<line class=\"{class}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"",
                    n(from.0),
                    n(from.1),
                    n(to.0),
                    n(to.1)
                );
                stroke(&mut out, Some((*c, *width)));
                out.push_str("/>");
            }
            Prim::Path {
                class,
                segs,
                fill,
                stroke: s,
            } => {
                let _ = write!(out, "<path class=\"{class}\" d=\"{}\"", path_data(segs));
                paint(&mut out, "fill", *fill);
                stroke(&mut out, *s);
                out.push_str("/>");
            }
            Prim::Circle { class, c, r, fill } => {
                let _ = write!(
                    out,
                    "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"{}\"",
                    n(c.0),
                    n(c.1),
                    n(*r)
                );
                paint(&mut out, "fill", Some(*fill));
                out.push_str("/>");
            }
            Prim::Text {
                class,
                x,
                y,
                text,
                size,
                bold,
                color: c,
                anchor,
                rotate,
            } => {
                let a = match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                };
                let _ = write!(
                    out,
                    "<text class=\"{class}\" x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{a}\"",
                    n(*x),
                    n(*y),
                    n(*size)
                );
                if *bold {
                    out.push_str(" font-weight=\"bold\"");
                }
                if *rotate != 0.0 {
                    let _ = write!(
                        out,
                        " transform=\"rotate({} {} {})\"",
                        n(*rotate),
                        n(*x),
                        n(*y)
                    );
                }
                paint(&mut out, "fill", Some(*c));
                out.push('>');
                escape(text, &mut out);
                out.push_str("</text>");
            }
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_escaped_deterministic_svg() {
        let prims = vec![
            Prim::Rect {
                class: "bar",
                x: 1.0,
                y: 2.005,
                w: 3.0,
                h: -1.0,
                fill: Some(Rgba::rgb(0x418CF0)),
                stroke: None,
            },
            Prim::Text {
                class: "axis-label",
                x: 0.0,
                y: 10.0,
                text: "<A&B>".into(),
                size: 8.0,
                bold: true,
                color: Rgba::BLACK,
                anchor: Anchor::End,
                rotate: -90.0,
            },
        ];
        let s = write(&prims, 100.0, 50.0);
        assert!(
            s.contains(
                "<rect class=\"bar\" x=\"1\" y=\"2\" width=\"3\" height=\"0\" fill=\"#418cf0\"/>"
            ),
            "{s}"
        );
        assert!(s.contains("&lt;A&amp;B&gt;</text>"), "{s}");
        assert!(s.contains("rotate(-90 0 10)"), "{s}");
        assert!(!s.contains("style"));
        assert_eq!(s, write(&prims, 100.0, 50.0));
    }
}
