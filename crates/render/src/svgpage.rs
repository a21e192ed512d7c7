//! One hard page as SVG (design note §6.4): the page model of [`engine::hardpage`] drawn
//! with the same text layout as PDF, so the IMAGE renderer ([`crate::image`]) rasterises
//! what the PDF shows.
//!
//! Owns: boxes, borders, lines, images (PNG/JPEG/GIF as data URIs, chart SVGs nested) and
//! text as glyph outlines taken from the font files (`<use>` of one `<path>` per glyph and
//! page), clipped to the textbox. Text is drawn as outlines, not `<text>`, so the raster
//! needs no font matching and glyphs sit exactly where the PDF puts them. Must not: read
//! files or evaluate expressions; links and bookmarks have no pixels and are skipped.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use base64::Engine as _;
use engine::hardpage::{HardPage, PageItem, Rect};
use engine::instance::{
    Border, BorderStyle, BoxStyle, Color, Image, ImageSource, Len, Paragraph, Sizing,
    VerticalAlign, to_pt,
};
use fonts::{FaceId, TextLayout};

fn pt(l: Len) -> f32 {
    to_pt(l) as f32
}

fn color(c: Color) -> String {
    format!("#{:02x}{:02x}{:02x}", c.r, c.g, c.b)
}

fn opacity(c: Color) -> String {
    if c.a == 255 {
        String::new()
    } else {
        format!(" opacity=\"{:.3}\"", f32::from(c.a) / 255.0)
    }
}

/// A glyph's SVG path data and its face's units per em.
type Outline = (Arc<str>, f32);

/// Glyph outlines of one render, by face and glyph (`None`: the face cannot be read).
#[derive(Default)]
pub struct GlyphCache {
    paths: HashMap<(FaceId, u16), Option<Outline>>,
}

impl std::fmt::Debug for GlyphCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlyphCache")
            .field("glyphs", &self.paths.len())
            .finish()
    }
}

/// Writes one page as an SVG document whose user unit is the point (width and height are
/// given unitless, so a rasteriser scales by dpi/72); problems (broken images) go to
/// `warnings`.
pub fn page_svg(
    page: &HardPage,
    layout: &TextLayout<'_>,
    glyphs: &mut GlyphCache,
    warnings: &mut Vec<String>,
) -> String {
    let (w, h) = (pt(page.size.0), pt(page.size.1));
    let mut w_ = Writer {
        layout,
        glyphs,
        body: String::new(),
        used: BTreeSet::new(),
        clips: 0,
        warnings,
    };
    for item in &page.header {
        w_.item(item);
    }
    // horizontal pages: the body is clipped to this page's slice of it
    let clip = page.body_clip.map(|r| w_.clip(r));
    if let Some(id) = clip {
        let _ = write!(w_.body, "<g clip-path=\"url(#c{id})\">");
    }
    for item in &page.items {
        w_.item(item);
    }
    if clip.is_some() {
        w_.body.push_str("</g>");
    }
    for item in &page.footer {
        w_.item(item);
    }
    let mut out = String::with_capacity(w_.body.len() + 4096);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
         width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\"><defs>"
    );
    for key in &w_.used {
        if let Some(Some((d, _))) = w_.glyphs.paths.get(key) {
            let _ = write!(out, "<path id=\"g{}_{}\" d=\"{d}\"/>", key.0.0, key.1);
        }
    }
    out.push_str("</defs>");
    out.push_str(&w_.body);
    out.push_str("</svg>");
    out
}

struct Writer<'a, 'r> {
    layout: &'a TextLayout<'r>,
    glyphs: &'a mut GlyphCache,
    body: String,
    used: BTreeSet<(FaceId, u16)>,
    clips: u32,
    warnings: &'a mut Vec<String>,
}

impl Writer<'_, '_> {
    fn item(&mut self, item: &PageItem) {
        match item {
            PageItem::Box { rect, style } => self.boxed(*rect, style),
            PageItem::Line { from, to, border } => {
                self.line((pt(from.0), pt(from.1)), (pt(to.0), pt(to.1)), border)
            }
            PageItem::Text {
                rect,
                padding,
                valign,
                paragraphs,
            } => self.text(*rect, *padding, *valign, paragraphs),
            PageItem::Image { rect, image } => self.image(*rect, image),
            PageItem::Link { .. } | PageItem::Anchor { .. } | PageItem::Label { .. } => {}
        }
    }

    fn line(&mut self, a: (f32, f32), b: (f32, f32), border: &Border) {
        if border.style == BorderStyle::None || border.width <= 0 {
            return;
        }
        let w = pt(border.width).max(0.1);
        let dash = match border.style {
            BorderStyle::Dotted => format!(" stroke-dasharray=\"{w} {w}\""),
            BorderStyle::Dashed => format!(" stroke-dasharray=\"{} {}\"", 3.0 * w, 2.0 * w),
            _ => String::new(),
        };
        let c = color(border.color);
        let op = opacity(border.color);
        if border.style == BorderStyle::Double {
            let t = w / 3.0;
            let (dx, dy) = if a.1 == b.1 { (0.0, t) } else { (t, 0.0) };
            for k in [-1.0f32, 1.0] {
                let _ = write!(
                    self.body,
                    "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{c}\" stroke-width=\"{t}\"{op}/>",
                    a.0 + k * dx,
                    a.1 + k * dy,
                    b.0 + k * dx,
                    b.1 + k * dy
                );
            }
            return;
        }
        let _ = write!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{c}\" stroke-width=\"{w}\"{dash}{op}/>",
            a.0, a.1, b.0, b.1
        );
    }

    fn boxed(&mut self, r: Rect, style: &BoxStyle) {
        if let Some(bg) = style.background
            && bg.a > 0
        {
            let _ = write!(
                self.body,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"{}/>",
                pt(r.x),
                pt(r.y),
                pt(r.w).max(0.0),
                pt(r.h).max(0.0),
                color(bg),
                opacity(bg)
            );
        }
        let (l, t, rr, b) = (pt(r.x), pt(r.y), pt(r.x + r.w), pt(r.y + r.h));
        let sides = [
            ((l, t), (rr, t)),
            ((rr, t), (rr, b)),
            ((l, b), (rr, b)),
            ((l, t), (l, b)),
        ];
        for (border, (a, z)) in style.borders.iter().zip(sides) {
            self.line(a, z, border);
        }
    }

    fn clip(&mut self, r: Rect) -> u32 {
        self.clips += 1;
        let id = self.clips;
        let _ = write!(
            self.body,
            "<clipPath id=\"c{id}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>",
            pt(r.x),
            pt(r.y),
            pt(r.w).max(0.0),
            pt(r.h).max(0.0)
        );
        id
    }

    fn glyph(&mut self, face: FaceId, id: u16) -> Option<f32> {
        let reg = self.layout.registry();
        let e = self.glyphs.paths.entry((face, id)).or_insert_with(|| {
            reg.glyph_svg_path(face, id)
                .map(|(d, upm)| (Arc::from(d.as_str()), upm))
        });
        let (d, upm) = e.as_ref()?;
        if d.is_empty() {
            return None;
        }
        let upm = *upm;
        self.used.insert((face, id));
        Some(upm)
    }

    fn text(&mut self, rect: Rect, pad: [Len; 4], valign: VerticalAlign, paragraphs: &[Paragraph]) {
        if paragraphs
            .iter()
            .all(|p| p.runs.iter().all(|r| r.text.trim().is_empty()))
        {
            return;
        }
        let inner_w = (rect.w - pad[1] - pad[3]).max(1);
        let mut laid = Vec::with_capacity(paragraphs.len());
        let mut total_h = 0;
        for p in paragraphs {
            let runs: Vec<(&str, &engine::instance::TextStyle)> =
                p.runs.iter().map(|r| (r.text.as_str(), &r.style)).collect();
            let lines = self.layout.layout(&runs, (inner_w - p.left_indent).max(1));
            total_h += lines.iter().map(|l| l.height).sum::<Len>();
            laid.push((p, lines));
        }
        let inner_h = rect.h - pad[0] - pad[2];
        let mut y = rect.y + pad[0] + crate::pdf::valign_offset(valign, inner_h, total_h);
        let clip = self.clip(rect);
        let _ = write!(self.body, "<g clip-path=\"url(#c{clip})\">");
        for (p, lines) in &laid {
            for line in lines {
                let avail = inner_w - p.left_indent;
                let dx = crate::pdf::align_offset(p.align, avail, line.width);
                let x0 = rect.x + pad[3] + p.left_indent + dx;
                let baseline = pt(y + line.ascent);
                for piece in &line.pieces {
                    let run = &p.runs[piece.run];
                    let size = piece.size_pt;
                    let fill = color(run.style.color);
                    let start = pt(x0 + piece.x);
                    let mut x = start;
                    for sr in &piece.shaped {
                        for g in &sr.glyphs {
                            if let Some(upm) = self.glyph(sr.face, g.id) {
                                let k = size / upm;
                                let _ = write!(
                                    self.body,
                                    "<use xlink:href=\"#g{}_{}\" transform=\"matrix({k} 0 0 {} {} {})\" fill=\"{fill}\"/>",
                                    sr.face.0,
                                    g.id,
                                    -k,
                                    x + g.x_offset * size,
                                    baseline - g.y_offset * size
                                );
                            }
                            x += g.x_advance * size;
                        }
                    }
                    let thick = (size / 14.0).max(0.5);
                    if run.style.underline {
                        let _ = write!(
                            self.body,
                            "<line x1=\"{start}\" y1=\"{y}\" x2=\"{x}\" y2=\"{y}\" stroke=\"{fill}\" stroke-width=\"{thick}\"/>",
                            y = baseline + size * 0.12
                        );
                    }
                    if run.style.line_through {
                        let _ = write!(
                            self.body,
                            "<line x1=\"{start}\" y1=\"{y}\" x2=\"{x}\" y2=\"{y}\" stroke=\"{fill}\" stroke-width=\"{thick}\"/>",
                            y = baseline - size * 0.25
                        );
                    }
                }
                y += line.height;
            }
        }
        self.body.push_str("</g>");
    }

    /// A grey crossed box where an image that cannot be drawn would be (as PDF draws it).
    fn placeholder(&mut self, rect: Rect) {
        let (x, y, w, h) = (pt(rect.x), pt(rect.y), pt(rect.w), pt(rect.h));
        let _ = write!(
            self.body,
            "<path d=\"M{x} {y}h{w}v{h}h{}ZM{x} {y}l{w} {h}M{} {y}l{} {h}\" fill=\"none\" stroke=\"#A0A0A0\" stroke-width=\"0.5\"/>",
            -w,
            x + w,
            -w
        );
    }

    fn image(&mut self, rect: Rect, img: &Image) {
        let (bytes, mime) = match &img.source {
            ImageSource::Embedded { data, mime, .. } => (data, mime.as_str()),
            ImageSource::Database { data, .. } => (data, ""),
            ImageSource::External(url) => {
                self.warnings.push(format!(
                    "the external image {url:?} is not fetched for images; an empty box is drawn"
                ));
                return;
            }
            ImageSource::Empty => return,
        };
        let (x, y, w, h) = (pt(rect.x), pt(rect.y), pt(rect.w), pt(rect.h));
        let b64 = |m: &str| {
            format!(
                "data:{m};base64,{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            )
        };
        if crate::chartsvg::is_svg(mime) {
            if bytes.len() > crate::chartsvg::MAX_SVG_BYTES {
                self.warnings
                    .push("a chart is not drawn: its SVG is too large".to_owned());
                return;
            }
            let _ = write!(
                self.body,
                "<image x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"none\" xlink:href=\"{}\"/>",
                b64("image/svg+xml")
            );
            return;
        }
        let (iw, ih) = match crate::pdf::checked_image_size(bytes) {
            Ok(s) => s,
            Err(e) => {
                self.warnings.push(format!(
                    "an image is not drawn (a crossed box instead): {e}"
                ));
                self.placeholder(rect);
                return;
            }
        };
        let m = if bytes.starts_with(b"\x89PNG") {
            "image/png"
        } else if bytes.starts_with(&[0xFF, 0xD8]) {
            "image/jpeg"
        } else {
            "image/gif"
        };
        let (nw, nh) = (iw as f32 * 0.75, ih as f32 * 0.75);
        let (dw, dh, aspect) = match img.sizing {
            Sizing::Fit => (w, h, "none"),
            Sizing::FitProportional => (w, h, "xMinYMin meet"),
            Sizing::AutoSize | Sizing::Clip => (nw, nh, "none"),
        };
        let clip = self.clip(rect);
        let _ = write!(
            self.body,
            "<g clip-path=\"url(#c{clip})\"><image x=\"{x}\" y=\"{y}\" width=\"{dw}\" height=\"{dh}\" preserveAspectRatio=\"{aspect}\" xlink:href=\"{}\"/></g>",
            b64(m)
        );
    }
}
