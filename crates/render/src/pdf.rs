//! PDF (`rs:Format=PDF`, design note §2.7): draws the hard pages of
//! [`engine::hardpage`] with krilla.
//!
//! Owns: PDF device information (`PageWidth`, `PageHeight`, `Margin*`, `Columns`,
//! `ColumnSpacing`, `StartPage`, `EndPage`, `HumanReadablePDF`), text drawn from glyph runs
//! shaped once per render by [`fonts::TextLayout`] (fonts subset-embedded with ToUnicode by
//! krilla; a face whose OS/2 `fsType` forbids embedding is drawn as outlines), vector
//! borders, lines and backgrounds, PNG/JPEG/GIF images (a broken or oversized image is a
//! warning and a grey crossed box), hyperlinks as link annotations, and the document metadata
//! (CreationDate = ExecutionTime, so two renders of one execution are byte-identical).
//! Must not: open files or sockets (fonts come from a caller's [`fonts::FontRegistry`], the
//! output goes to a caller's writer), or evaluate expressions.
//!
//! The document map (`DocumentMapLabel` of items) becomes the outline, nested by item
//! depth, when more than one page is rendered. Pages are drawn as pagination makes them (one
//! page of primitives in memory); the detail rows of a streamed tablix are bound as their
//! pages are made (`engine::hardpage`), so a large table is never a tree of cells; krilla
//! keeps the compressed page streams (about the size of the output) until the document is
//! finished, so the output is written at the end.
//! Texts in one face, size and colour are drawn as one glyph run (a table's rows: one run,
//! a text line per baseline): krilla's cost is per run, and a run per textbox was most of a
//! page's. Only the lines that overflow a textbox that cannot grow are clipped, and such
//! lines of a page share one run inside one clip path while their visible pieces stay apart.
//!
//! Not done yet: group document map labels, bookmarks as named destinations, external
//! images (a warning), tagged PDF (`AccessiblePDF`).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use engine::Instance;
use engine::hardpage::{HardPage, HardPageOptions, PageItem, Rect, paginate_hard_each};
use engine::instance::{
    Border, BorderStyle, BoxStyle, Color, Image, ImageSource, Len, Paragraph, Sizing, TextAlign,
    VerticalAlign, to_pt,
};
use fonts::{FaceId, FontRegistry, TextLayout};
use krilla::color::rgb;
use krilla::geom::{Path, PathBuilder, Point, Transform};
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, FillRule, Stroke, StrokeDash};
use krilla::text::{Font, GlyphId, KrillaGlyph};

use crate::{DeviceInfo, RenderError};

/// Largest decoded image accepted (pixels); bigger images are a warning and an empty box.
pub const MAX_IMAGE_PIXELS: u64 = 40_000_000;

/// Why a PDF render failed.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// A device-information setting is invalid; nothing was written.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// No font can be used.
    #[error(transparent)]
    Fonts(#[from] fonts::FontError),
    /// krilla could not write the document (a font or image it could not process).
    #[error("the PDF could not be written: {0}; report this with the report definition")]
    Pdf(String),
    /// Writing the output failed (the client went away).
    #[error("writing the rendered output: {0}")]
    Io(#[from] std::io::Error),
}

/// A streamed detail row that cannot be bound (the render was cancelled).
impl From<engine::EngineError> for PdfError {
    fn from(e: engine::EngineError) -> Self {
        PdfError::Render(RenderError::Engine(e))
    }
}

/// PDF options from device information.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfOptions {
    /// Page size, margins, columns, page range.
    pub pages: HardPageOptions,
    /// `HumanReadablePDF`: uncompressed content streams.
    pub human_readable: bool,
}

/// `PageWidth`/`PageHeight`: a size in 0.5in..160in (the range RDL allows).
fn page_side_setting(d: &DeviceInfo, name: &'static str) -> Result<Option<Len>, RenderError> {
    let v = size_setting(d, name)?;
    if let Some(l) = v
        && !engine::hardpage::page_side_ok(l)
    {
        return Err(RenderError::DeviceInfo {
            setting: name,
            problem: format!(
                "{:?} ({:.2}in) is outside the allowed 0.5in..160in; use a page size in that \
                 range, like 8.5in",
                d.get(name).unwrap_or_default(),
                l as f64 / engine::instance::UM_PER_INCH as f64
            ),
        });
    }
    Ok(v)
}

fn size_setting(d: &DeviceInfo, name: &'static str) -> Result<Option<Len>, RenderError> {
    match d.get(name) {
        None => Ok(None),
        Some(v) => match engine::style::size(v) {
            Some(l) => Ok(Some(l)),
            None => Err(RenderError::DeviceInfo {
                setting: name,
                problem: format!(
                    "{v:?} is not a size; use a number with a unit, like 8.5in or 21cm"
                ),
            }),
        },
    }
}

impl PdfOptions {
    /// Reads `PageWidth`, `PageHeight`, `MarginTop|Right|Bottom|Left`, `Columns`,
    /// `ColumnSpacing`, `StartPage`, `EndPage` and `HumanReadablePDF`. A page side outside
    /// 0.5in..160in is an error naming the setting and the range.
    pub fn from_device_info(d: &DeviceInfo) -> Result<PdfOptions, RenderError> {
        let columns = match d.get("Columns") {
            None => None,
            Some(_) => {
                let n = d.uint("Columns", 1)?;
                if !(1..=100).contains(&n) {
                    return Err(RenderError::DeviceInfo {
                        setting: "Columns",
                        problem: format!("{n} columns; use 1 to 100"),
                    });
                }
                Some(n)
            }
        };
        Ok(PdfOptions {
            pages: HardPageOptions {
                page_width: page_side_setting(d, "PageWidth")?,
                page_height: page_side_setting(d, "PageHeight")?,
                margin_top: size_setting(d, "MarginTop")?,
                margin_right: size_setting(d, "MarginRight")?,
                margin_bottom: size_setting(d, "MarginBottom")?,
                margin_left: size_setting(d, "MarginLeft")?,
                columns,
                column_spacing: size_setting(d, "ColumnSpacing")?,
                start_page: d.uint("StartPage", 0)?,
                end_page: d.uint("EndPage", 0)?,
            },
            human_readable: d.bool("HumanReadablePDF", false)?,
        })
    }
}

/// What a PDF render produced.
#[derive(Debug, Clone, Default)]
pub struct PdfSummary {
    /// Pages written.
    pub pages: u32,
    /// Pages the report has (before `StartPage`/`EndPage`).
    pub total_pages: u32,
    /// Non-fatal problems (font substitutions, clamped sizes, broken images).
    pub warnings: Vec<String>,
}

struct Bytes(Arc<[u8]>);
impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
fn data(b: &Arc<[u8]>) -> krilla::Data {
    let a: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(Bytes(b.clone()));
    krilla::Data::from(a)
}

fn pt(l: Len) -> f32 {
    to_pt(l) as f32
}

fn rgb_of(c: Color) -> rgb::Color {
    rgb::Color::new(c.r, c.g, c.b)
}

/// The page size hard pages would have, checked before anything is drawn: a side outside
/// 0.5in..160in (device information or the report's `PageWidth`/`PageHeight`) is an error
/// naming the setting and the range (also used by the IMAGE renderer).
pub(crate) fn check_page_size(inst: &Instance, opts: &HardPageOptions) -> Result<(), RenderError> {
    engine::hardpage::check_page_size(inst, opts)
        .map_err(|(setting, problem)| RenderError::DeviceInfo { setting, problem })
}

/// Renders `inst` as PDF into `out`.
pub fn render(
    inst: &Instance,
    fonts: &FontRegistry,
    opts: &PdfOptions,
    out: &mut impl Write,
) -> Result<PdfSummary, PdfError> {
    check_page_size(inst, &opts.pages)?;
    let layout = TextLayout::new(fonts);
    let settings = krilla::SerializeSettings {
        compress_content_streams: !opts.human_readable,
        pretty: opts.human_readable,
        enable_tagging: false,
        ..krilla::SerializeSettings::default()
    };
    let mut doc = krilla::Document::new_with(settings);
    let mut d = Drawer {
        layout: &layout,
        fonts: HashMap::new(),
        warnings: Vec::new(),
        images: HashMap::new(),
        labels: Vec::new(),
        page_index: 0,
        text_buf: String::new(),
        glyph_buf: Vec::new(),
        spare: Vec::new(),
        pending: None,
        clipped: None,
    };
    // pages are drawn as pagination makes them: one page of primitives in memory at a time
    let pages = paginate_hard_each(inst, &opts.pages, &layout, &mut |page| {
        d.page(&mut doc, &page)
    })?;
    // the instance's (binding's, then those of page headers and rows bound while paginating)
    let mut warnings = inst.warnings();
    warnings.extend(pages.warnings.iter().cloned());
    // the document map as the outline, only when more than one page is rendered (§2.7-5)
    if d.page_index > 1 && !d.labels.is_empty() {
        doc.set_outline(outline(&d.labels));
    }
    doc.set_metadata(metadata(inst));
    let bytes = doc.finish().map_err(|e| PdfError::Pdf(format!("{e:?}")))?;
    out.write_all(&bytes)?;
    warnings.extend(layout.warnings());
    warnings.extend(d.warnings);
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    Ok(PdfSummary {
        pages: pages.rendered,
        total_pages: pages.total,
        warnings,
    })
}

/// Nests document map entries by level: an entry is a child of the nearest earlier entry
/// with a lower level.
fn outline(labels: &[(usize, f32, u8, String)]) -> krilla::outline::Outline {
    fn node(l: &(usize, f32, u8, String)) -> krilla::outline::OutlineNode {
        krilla::outline::OutlineNode::new(
            l.3.clone(),
            krilla::destination::XyzDestination::new(l.0, Point::from_xy(0.0, l.1)),
        )
    }
    fn build(
        labels: &[(usize, f32, u8, String)],
        i: &mut usize,
        level: u8,
    ) -> Vec<krilla::outline::OutlineNode> {
        let mut out = Vec::new();
        while *i < labels.len() && labels[*i].2 >= level {
            let mut n = node(&labels[*i]);
            let l = labels[*i].2;
            *i += 1;
            for c in build(labels, i, l + 1) {
                n.push_child(c);
            }
            out.push(n);
        }
        out
    }
    let mut o = krilla::outline::Outline::new();
    let mut i = 0;
    let min = labels.iter().map(|l| l.2).min().unwrap_or(0);
    while i < labels.len() {
        for n in build(labels, &mut i, min) {
            o.push_child(n);
        }
    }
    o
}

fn metadata(inst: &Instance) -> krilla::metadata::Metadata {
    let t = inst.execution_time;
    let date = krilla::metadata::DateTime::new(u16::try_from(t.year()).unwrap_or(2000))
        .month(u8::from(t.month()))
        .day(t.day())
        .hour(t.hour())
        .minute(t.minute())
        .second(t.second());
    let mut m = krilla::metadata::Metadata::new()
        .title(inst.name.clone())
        .creator(format!("reportd {}", env!("CARGO_PKG_VERSION")))
        .producer(format!("reportd {} (krilla)", env!("CARGO_PKG_VERSION")))
        .creation_date(date);
    if !inst.author.is_empty() {
        m = m.authors(vec![inst.author.clone()]);
    }
    if !inst.description.is_empty() {
        m = m.description(inst.description.clone());
    }
    if !inst.language.is_empty() {
        m = m.language(inst.language.clone());
    }
    m
}

struct Drawer<'a, 'r> {
    layout: &'a TextLayout<'r>,
    fonts: HashMap<FaceId, Option<(Font, bool)>>,
    warnings: Vec<String>,
    images: HashMap<usize, Option<krilla::image::Image>>,
    /// Document map entries so far: (page index, top in pt, level, label).
    labels: Vec<(usize, f32, u8, String)>,
    /// Pages drawn so far.
    page_index: usize,
    /// Buffers reused for each glyph run.
    text_buf: String,
    glyph_buf: Vec<KrillaGlyph>,
    /// The glyph and text buffers of the last runs drawn, for the next (a page's run grows
    /// to thousands of glyphs: reused, not grown again from empty).
    spare: Vec<(Vec<KrillaGlyph>, String)>,
    /// Text waiting to be drawn as one glyph run (see [`Drawer::queue`]).
    pending: Option<Pending>,
    /// Lines clipped to their textboxes waiting to be drawn as one glyph run in one clip
    /// path (see [`Drawer::queue`]).
    clipped: Option<Pending>,
}

/// A rectangle as (left, top, right, bottom) in pt.
type Ltrb = (f32, f32, f32, f32);

/// `r` as (left, top, right, bottom) in pt.
fn ltrb(r: Rect) -> Ltrb {
    (pt(r.x), pt(r.y), pt(r.x + r.w), pt(r.y + r.h))
}

/// How far below the top of a box `inner_h` high text `text_h` high starts (PDF and the
/// IMAGE pages, `svgpage`, place text alike).
pub(crate) fn valign_offset(valign: VerticalAlign, inner_h: Len, text_h: Len) -> Len {
    match valign {
        VerticalAlign::Top => 0,
        VerticalAlign::Middle => ((inner_h - text_h) / 2).max(0),
        VerticalAlign::Bottom => (inner_h - text_h).max(0),
    }
}

/// How far right of a line's start a line `width` wide starts in `avail` (PDF and `svgpage`).
pub(crate) fn align_offset(align: TextAlign, avail: Len, width: Len) -> Len {
    match align {
        TextAlign::Left => 0,
        TextAlign::Center => (avail - width) / 2,
        TextAlign::Right => avail - width,
    }
}

fn intersects(a: Ltrb, b: Ltrb) -> bool {
    a.0 < b.2 && a.2 > b.0 && a.1 < b.3 && a.3 > b.1
}

/// Glyphs of texts in one face, size and colour: left to right on a baseline (the gaps
/// between them are advances of the glyph before each gap), then on further baselines (the
/// glyphs of a later baseline are offset by its distance from the first, and the glyph
/// before it advances to its start): one glyph run instead of one per textbox or row —
/// krilla's cost is per run, and it starts a text line per baseline within the run.
struct Pending {
    face: FaceId,
    color: (u8, u8, u8),
    size: f32,
    /// Start of the run and its first baseline.
    at: (f32, f32),
    /// The current baseline and where its last text ends.
    line: (f32, f32),
    /// What the run paints: line boxes of the baselines so far, or (clipped text) the
    /// visible pieces of its lines.
    boxes: Vec<Ltrb>,
    /// Clipped text: each line's textbox and ink band (top, bottom: the face's bounding box
    /// about the baseline). The clip path is the union of each line's box ∩ band; a line is
    /// added only when its band meets no other textbox's piece and its piece no other
    /// line's band, so each line shows exactly what its own box would show.
    clips: Vec<(Ltrb, (f32, f32))>,
    /// krilla's pen position before and after the last glyph (it adds advances in f32): a
    /// later baseline starts exactly where asked, not where rounding drifted to.
    pen: (f32, f32),
    glyphs: Vec<KrillaGlyph>,
    text: String,
}

/// Appends the glyphs of a shaped run as krilla glyphs whose text ranges start at `base`
/// (a glyph's range runs to the next cluster), returning the run's advance in em.
fn krilla_glyphs(sr: &fonts::ShapedRun, base: usize, out: &mut Vec<KrillaGlyph>) -> f32 {
    let n = sr.glyphs.len();
    let monotonic = sr.glyphs.windows(2).all(|w| w[0].cluster <= w[1].cluster);
    let first = out.len();
    let mut width = 0.0f32;
    for g in &sr.glyphs {
        out.push(KrillaGlyph::new(
            GlyphId::new(u32::from(g.id)),
            g.x_advance,
            g.x_offset,
            g.y_offset,
            0.0,
            0..0,
            None,
        ));
        width += g.x_advance;
    }
    // each glyph's text: from its cluster to the next greater cluster (or the end)
    let mut end = sr.text.len();
    for gi in (0..n).rev() {
        let start = sr.glyphs[gi].cluster as usize;
        if monotonic {
            if gi + 1 < n && sr.glyphs[gi + 1].cluster as usize > start {
                end = sr.glyphs[gi + 1].cluster as usize;
            }
        } else {
            end = sr.glyphs[gi + 1..]
                .iter()
                .map(|g| g.cluster as usize)
                .find(|&c| c > start)
                .unwrap_or(sr.text.len());
        }
        out[first + gi].text_range = base + start..base + end.max(start);
    }
    width
}

fn rect_path(r: Rect) -> Option<Path> {
    let rr = krilla::geom::Rect::from_xywh(pt(r.x), pt(r.y), pt(r.w).max(0.01), pt(r.h).max(0.01))?;
    let mut pb = PathBuilder::new();
    pb.push_rect(rr);
    pb.finish()
}

fn line_path(a: (f32, f32), b: (f32, f32)) -> Option<Path> {
    let mut pb = PathBuilder::new();
    pb.move_to(a.0, a.1);
    pb.line_to(b.0, b.1);
    pb.finish()
}

fn stroke_for(b: &Border) -> Stroke {
    let w = pt(b.width).max(0.1);
    Stroke {
        paint: rgb_of(b.color).into(),
        width: if b.style == BorderStyle::Double {
            w / 3.0
        } else {
            w
        },
        opacity: NormalizedF32::new(f32::from(b.color.a) / 255.0).unwrap_or(NormalizedF32::ONE),
        dash: match b.style {
            BorderStyle::Dotted => Some(StrokeDash {
                array: vec![w, w],
                offset: 0.0,
            }),
            BorderStyle::Dashed => Some(StrokeDash {
                array: vec![3.0 * w, 2.0 * w],
                offset: 0.0,
            }),
            _ => None,
        },
        ..Stroke::default()
    }
}

impl Drawer<'_, '_> {
    /// Draws one hard page as a PDF page.
    fn page(&mut self, doc: &mut krilla::Document, page: &HardPage) -> Result<(), PdfError> {
        let Some(ps) = krilla::page::PageSettings::from_wh(pt(page.size.0), pt(page.size.1)) else {
            return Err(PdfError::Pdf(format!(
                "page size {}x{} pt is not drawable",
                pt(page.size.0),
                pt(page.size.1)
            )));
        };
        let mut p = doc.start_page_with(ps);
        let mut links = Vec::new();
        {
            let mut s = p.surface();
            for item in &page.header {
                self.draw(&mut s, item, &mut links);
            }
            // horizontal pages: the body is clipped to this page's slice of it
            let clip = page.body_clip.and_then(rect_path);
            if let Some(c) = &clip {
                self.flush(&mut s);
                s.push_clip_path(c, &FillRule::NonZero);
            }
            for item in &page.items {
                self.draw(&mut s, item, &mut links);
            }
            if clip.is_some() {
                self.flush(&mut s);
                s.pop();
            }
            for item in &page.footer {
                self.draw(&mut s, item, &mut links);
            }
            self.flush(&mut s);
            s.finish();
        }
        for (rect, url) in links {
            if let Some(r) =
                krilla::geom::Rect::from_xywh(pt(rect.x), pt(rect.y), pt(rect.w), pt(rect.h))
            {
                let target = krilla::annotation::Target::Action(krilla::action::Action::Link(
                    krilla::action::LinkAction::new(url),
                ));
                p.add_annotation(krilla::annotation::Annotation::new_link(
                    krilla::annotation::LinkAnnotation::new(r, target),
                    None,
                ));
            }
        }
        p.finish();
        self.page_index += 1;
        Ok(())
    }

    /// Adds a glyph run at `at` (x, baseline) `width` wide to the pending run (`clip`:
    /// to the clipped run, with its textbox and ink band) when it continues it (same face,
    /// colour and size; on the current baseline to its right, or on another baseline; a
    /// clipped line whose band and piece meet no other textbox's), else draws that run and
    /// starts a new one. The other run is drawn first when the two would overlap in
    /// different colours (text of one colour paints the same in either order).
    #[allow(clippy::too_many_arguments)] // reason: two call sites, plain values
    fn queue(
        &mut self,
        s: &mut krilla::surface::Surface<'_>,
        clip: Option<(Ltrb, (f32, f32))>,
        face: FaceId,
        color: (u8, u8, u8),
        size: f32,
        at: (f32, f32),
        glyphs: &[KrillaGlyph],
        text: &str,
        width: f32,
    ) {
        let line_box = (at.0, at.1 - size * 1.3, at.0 + width, at.1 + size * 0.6);
        // what this text paints
        let piece = match clip {
            None => Some(line_box),
            Some((cell, band)) => {
                let p = (cell.0, cell.1.max(band.0), cell.2, cell.3.min(band.1));
                (p.1 < p.3).then_some(p)
            }
        };
        let other = if clip.is_some() {
            &self.pending
        } else {
            &self.clipped
        };
        if let Some(o) = other
            && o.color != color
            && piece.is_some_and(|pc| o.boxes.iter().any(|&b| intersects(b, pc)))
        {
            if clip.is_some() {
                self.flush_pending(s);
            } else {
                self.flush_clipped(s);
            }
        }
        let slot = if clip.is_some() {
            &mut self.clipped
        } else {
            &mut self.pending
        };
        if let Some(p) = slot
            && p.face == face
            && p.color == color
            && p.size == size
            // on the current baseline to the right of its text (a right-aligned text ends
            // at its box's edge, where the next one starts: rounding must not split them),
            // or on another baseline
            && (p.line.0 != at.1 || at.0 >= p.line.1 - 0.05)
            && p.text.len() + text.len() < 16_384
            && clip.is_none_or(|(cell, band)| {
                p.clips.iter().all(|&(c, b)| {
                    c == cell
                        || ((band.1 <= c.1.max(b.0) || band.0 >= c.3.min(b.1))
                            && (b.1 <= cell.1.max(band.0) || b.0 >= cell.3.min(band.1)))
                })
            })
            && let Some(last) = p.glyphs.last_mut()
        {
            last.x_advance += (at.0 - p.line.1) / size;
            let new_line = p.line.0 != at.1;
            if new_line {
                last.x_advance = (at.0 - p.pen.0) / size;
            }
            p.pen.1 = p.pen.0 + last.x_advance * size;
            let dy = (p.at.1 - at.1) / size;
            let base = p.text.len();
            p.text.push_str(text);
            let pen = &mut p.pen;
            p.glyphs.extend(glyphs.iter().map(|g| {
                let mut g = g.clone();
                g.text_range = g.text_range.start + base..g.text_range.end + base;
                g.y_offset += dy;
                pen.0 = pen.1;
                pen.1 += g.x_advance * size;
                g
            }));
            match (clip, p.boxes.last_mut()) {
                (None, Some(l)) if !new_line => {
                    l.0 = l.0.min(line_box.0);
                    l.2 = l.2.max(line_box.2);
                }
                _ => p.boxes.extend(piece),
            }
            p.clips.extend(clip);
            p.line = (at.1, at.0 + width);
            return;
        }
        if clip.is_some() {
            self.flush_clipped(s);
        } else {
            self.flush_pending(s);
        }
        let (spare_glyphs, spare_text) = self.spare.pop().unwrap_or_default();
        let p = Pending {
            face,
            color,
            size,
            at,
            line: (at.1, at.0 + width),
            boxes: piece.into_iter().collect(),
            clips: clip.into_iter().collect(),
            pen: glyphs
                .iter()
                .fold((at.0, at.0), |(_, x), g| (x, x + g.x_advance * size)),
            glyphs: {
                let mut g = spare_glyphs;
                g.clear();
                g.extend_from_slice(glyphs);
                g
            },
            text: {
                let mut t = spare_text;
                t.clear();
                t.push_str(text);
                t
            },
        };
        if clip.is_some() {
            self.clipped = Some(p);
        } else {
            self.pending = Some(p);
        }
    }

    /// Draws the waiting runs that `(left, top, right, bottom)` overlaps.
    fn flush_overlapping(&mut self, s: &mut krilla::surface::Surface<'_>, r: Ltrb) {
        if self
            .pending
            .as_ref()
            .is_some_and(|p| p.boxes.iter().any(|&b| intersects(b, r)))
        {
            self.flush_pending(s);
        }
        if self
            .clipped
            .as_ref()
            .is_some_and(|p| p.boxes.iter().any(|&b| intersects(b, r)))
        {
            self.flush_clipped(s);
        }
    }

    /// Draws the waiting runs.
    fn flush(&mut self, s: &mut krilla::surface::Surface<'_>) {
        self.flush_pending(s);
        self.flush_clipped(s);
    }

    /// Keeps a drawn run's buffers for the next run (one each for the plain and the clipped).
    fn recycle(&mut self, p: Pending) {
        if self.spare.len() < 2 {
            self.spare.push((p.glyphs, p.text));
        }
    }

    fn flush_pending(&mut self, s: &mut krilla::surface::Surface<'_>) {
        if let Some(p) = self.pending.take() {
            self.draw_run(s, &p);
            self.recycle(p);
        }
    }

    /// Draws the clipped run inside the union of its lines' visible pieces.
    fn flush_clipped(&mut self, s: &mut krilla::surface::Surface<'_>) {
        let Some(p) = self.clipped.take() else {
            return;
        };
        let mut pb = PathBuilder::new();
        for &(l, t, r, b) in &p.boxes {
            if let Some(rr) = krilla::geom::Rect::from_ltrb(l, t, r, b) {
                pb.push_rect(rr);
            }
        }
        // no piece: nothing of it is visible
        let Some(path) = pb.finish() else { return };
        s.push_clip_path(&path, &FillRule::NonZero);
        self.draw_run(s, &p);
        s.pop();
        self.recycle(p);
    }

    fn draw_run(&mut self, s: &mut krilla::surface::Surface<'_>, p: &Pending) {
        let Some((font, embeddable)) = self.font(p.face) else {
            return;
        };
        s.set_stroke(None);
        s.set_fill(Some(Fill {
            paint: rgb::Color::new(p.color.0, p.color.1, p.color.2).into(),
            ..Fill::default()
        }));
        s.draw_glyphs(
            Point::from_xy(p.at.0, p.at.1),
            &p.glyphs,
            font,
            &p.text,
            p.size,
            !embeddable,
        );
    }

    fn font(&mut self, id: FaceId) -> Option<(Font, bool)> {
        if let Some(f) = self.fonts.get(&id) {
            return f.clone();
        }
        let reg = self.layout.registry();
        let f = reg.data(id).and_then(|d| {
            let info = reg.info(id)?;
            let font = Font::new(data(&d), info.index)?;
            if !info.embeddable {
                self.warnings.push(format!(
                    "the font {} ({}) does not allow embedding (OS/2 fsType); its text is drawn \
                     as outlines and cannot be searched",
                    info.family,
                    info.path.display()
                ));
            }
            Some((font, info.embeddable))
        });
        self.fonts.insert(id, f.clone());
        f
    }

    fn draw(
        &mut self,
        s: &mut krilla::surface::Surface<'_>,
        item: &PageItem,
        links: &mut Vec<(Rect, String)>,
    ) {
        match item {
            PageItem::Box { rect, style } => {
                let grow = style
                    .borders
                    .iter()
                    .map(|b| pt(b.width))
                    .fold(0.0f32, f32::max);
                let (l, t) = (pt(rect.x) - grow, pt(rect.y) - grow);
                let (r, b) = (pt(rect.x + rect.w) + grow, pt(rect.y + rect.h) + grow);
                self.flush_overlapping(s, (l, t, r, b));
                draw_box(s, *rect, style)
            }
            PageItem::Line { from, to, border } => {
                if border.style == BorderStyle::None {
                    return;
                }
                let w = pt(border.width);
                let (x0, x1) = (pt(from.0.min(to.0)) - w, pt(from.0.max(to.0)) + w);
                let (y0, y1) = (pt(from.1.min(to.1)) - w, pt(from.1.max(to.1)) + w);
                self.flush_overlapping(s, (x0, y0, x1, y1));
                if let Some(p) = line_path((pt(from.0), pt(from.1)), (pt(to.0), pt(to.1))) {
                    s.set_fill(None);
                    s.set_stroke(Some(stroke_for(border)));
                    s.draw_path(&p);
                    s.set_stroke(None);
                }
            }
            PageItem::Text {
                rect,
                padding,
                valign,
                paragraphs,
            } => self.draw_text(s, *rect, *padding, *valign, paragraphs),
            PageItem::Image { rect, image } => {
                self.flush(s);
                self.draw_image(s, *rect, image)
            }
            PageItem::Link { rect, url } => {
                if crate::safe_url(url) {
                    links.push((*rect, url.clone()));
                }
            }
            PageItem::Label { text, level, y } => {
                self.labels
                    .push((self.page_index, pt(*y), *level, text.clone()));
            }
            PageItem::Anchor { .. } => {}
        }
    }

    /// Draws a textbox of one paragraph of one run that fits on one line (most cells of a
    /// table) placing exactly what [`Drawer::draw_text`] would (the same line metrics,
    /// alignment and clipping) without laying it out: a text that
    /// [`TextLayout::plain_glyphs`] places without shaping (ids, amounts, dates) glyph by
    /// glyph with no shaped run or cache look-up, another from its one cached shaped run.
    /// False when it does not apply (nothing drawn).
    #[allow(clippy::too_many_arguments)] // reason: draw_text's values, one call site
    fn draw_one_line(
        &mut self,
        s: &mut krilla::surface::Surface<'_>,
        rect: Rect,
        pad: [Len; 4],
        valign: VerticalAlign,
        inner_w: Len,
        p: &Paragraph,
        r: &engine::instance::Run,
    ) -> bool {
        let text = r.text.as_str();
        // TextLayout::layout's one-line case: no line break, no trailing white space
        if r.style.underline
            || r.style.line_through
            || text.is_empty()
            || text.contains('\n')
            || text.trim_end().len() != text.len()
        {
            return false;
        }
        let size = to_pt(r.style.font_size) as f32;
        let avail = inner_w - p.left_indent;
        let mut glyphs = std::mem::take(&mut self.glyph_buf);
        glyphs.clear();
        // the line's width in em (as layout sums it) and the glyphs' advance (as
        // krilla_glyphs sums it)
        let (line_face, face, w_em, run_em) =
            if let Some(plain) = self.layout.plain_glyphs(text, &r.style) {
                let mut w_em = 0.0f32;
                for (i, byte) in text.bytes().enumerate() {
                    let (id, adv) = plain.glyph(byte);
                    glyphs.push(KrillaGlyph::new(
                        GlyphId::new(u32::from(id)),
                        adv,
                        0.0,
                        0.0,
                        0.0,
                        i..i + 1,
                        None,
                    ));
                    w_em += adv;
                }
                (plain.face, plain.face, w_em, w_em)
            } else {
                let shaped = self.layout.shape(text, &r.style);
                let [sr] = shaped.as_slice() else {
                    self.glyph_buf = glyphs;
                    return false;
                };
                let w_em: f32 = shaped.iter().map(|s| s.width_em).sum();
                let run_em = krilla_glyphs(sr, 0, &mut glyphs);
                // the line's metrics are the style's face's (as layout's), the ink band the
                // glyphs' face's (a fallback face for text the style's face lacks)
                (self.layout.face_for(&r.style), sr.face, w_em, run_em)
            };
        let line_w = engine::instance::pt(f64::from(w_em * size));
        if line_w > avail.max(1) {
            self.glyph_buf = glyphs;
            return false;
        }
        if glyphs.is_empty() || text.trim().is_empty() || self.font(face).is_none() {
            // as draw_text: nothing to draw, or a face that cannot be embedded
            self.glyph_buf = glyphs;
            return true;
        }
        let vm = self.layout.vmetrics(line_face);
        let ink = self.layout.vmetrics(face).ink;
        let ascent = engine::instance::pt(f64::from(vm.ascent * size));
        let line_h = engine::instance::pt(f64::from((vm.ascent + vm.descent + vm.gap) * size));
        let inner_h = rect.h - pad[0] - pad[2];
        let inner_bottom = rect.y + pad[0] + inner_h;
        let y = rect.y + pad[0] + valign_offset(valign, inner_h, line_h);
        let x0 = rect.x + pad[3] + p.left_indent + align_offset(p.align, avail, line_w);
        let b = pt(y + ascent);
        let clip = (line_w > avail || y + line_h > inner_bottom)
            .then(|| (ltrb(rect), (b - ink.0 * size, b + ink.1 * size)));
        let c = r.style.color;
        self.queue(
            s,
            clip,
            face,
            (c.r, c.g, c.b),
            size,
            (pt(x0), b),
            &glyphs,
            text,
            run_em * size,
        );
        self.glyph_buf = glyphs;
        true
    }

    fn draw_text(
        &mut self,
        s: &mut krilla::surface::Surface<'_>,
        rect: Rect,
        pad: [Len; 4],
        valign: VerticalAlign,
        paragraphs: &[Paragraph],
    ) {
        if paragraphs
            .iter()
            .all(|p| p.runs.iter().all(|r| r.text.trim().is_empty()))
        {
            return;
        }
        let inner_w = (rect.w - pad[1] - pad[3]).max(1);
        if let [p] = paragraphs
            && let [r] = p.runs.as_slice()
            && self.draw_one_line(s, rect, pad, valign, inner_w, p, r)
        {
            return;
        }
        let mut laid = Vec::with_capacity(paragraphs.len());
        let mut total_h = 0;
        for p in paragraphs {
            let lines: std::rc::Rc<[fonts::LineLayout]> = match p.runs.as_slice() {
                [r] => self
                    .layout
                    .layout_run(&r.text, &r.style, (inner_w - p.left_indent).max(1)),
                runs => {
                    let runs: Vec<(&str, &engine::instance::TextStyle)> =
                        runs.iter().map(|r| (r.text.as_str(), &r.style)).collect();
                    self.layout
                        .layout(&runs, (inner_w - p.left_indent).max(1))
                        .into()
                }
            };
            total_h += lines.iter().map(|l| l.height).sum::<Len>();
            laid.push((p, lines));
        }
        let inner_h = rect.h - pad[0] - pad[2];
        let inner_bottom = rect.y + pad[0] + inner_h;
        let mut y = rect.y + pad[0] + valign_offset(valign, inner_h, total_h);
        // lines inside the box are drawn as they are (joining the pending run); from the
        // first line that is not (too wide, or below the box: a box that cannot grow) the
        // rest is clipped to the box (its (left, top, right, bottom)), so a clip path costs
        // only text that needs it
        let mut clip: Option<Ltrb> = None;
        for (p, lines) in &laid {
            for line in lines.iter() {
                let avail = inner_w - p.left_indent;
                let x0 = rect.x + pad[3] + p.left_indent + align_offset(p.align, avail, line.width);
                let baseline = y + line.ascent;
                if clip.is_none() && (line.width > avail || y + line.height > inner_bottom) {
                    clip = Some(ltrb(rect));
                }
                // merge consecutive pieces of one run and face into one glyph run
                let mut i = 0;
                while i < line.pieces.len() {
                    let run_idx = line.pieces[i].run;
                    let mut j = i;
                    while j + 1 < line.pieces.len() && line.pieces[j + 1].run == run_idx {
                        j += 1;
                    }
                    let run = &p.runs[run_idx];
                    let size = line.pieces[i].size_pt;
                    let mut x = pt(x0 + line.pieces[i].x);
                    let start_x = x;
                    // group shaped runs by face
                    let shaped: Vec<&Arc<fonts::ShapedRun>> = line.pieces[i..=j]
                        .iter()
                        .flat_map(|p| p.shaped.iter())
                        .collect();
                    let mut k = 0;
                    while k < shaped.len() {
                        let face = shaped[k].face;
                        let mut text = std::mem::take(&mut self.text_buf);
                        let mut glyphs = std::mem::take(&mut self.glyph_buf);
                        text.clear();
                        glyphs.clear();
                        let mut width = 0.0f32;
                        while k < shaped.len() && shaped[k].face == face {
                            let sr = shaped[k];
                            let base = text.len();
                            text.push_str(&sr.text);
                            width += krilla_glyphs(sr, base, &mut glyphs) * size;
                            k += 1;
                        }
                        if glyphs.is_empty() || text.trim().is_empty() {
                            x += width;
                            self.text_buf = text;
                            self.glyph_buf = glyphs;
                            continue;
                        }
                        if self.font(face).is_none() {
                            x += width;
                            self.text_buf = text;
                            self.glyph_buf = glyphs;
                            continue;
                        }
                        let c = run.style.color;
                        let b = pt(baseline);
                        // clipped lines: their box and the face's ink band about the baseline
                        let clip = clip.map(|cell| {
                            let ink = self.layout.vmetrics(face).ink;
                            (cell, (b - ink.0 * size, b + ink.1 * size))
                        });
                        // joins the glyph run of text before it
                        self.queue(
                            s,
                            clip,
                            face,
                            (c.r, c.g, c.b),
                            size,
                            (x, b),
                            &glyphs,
                            &text,
                            width,
                        );
                        x += width;
                        self.text_buf = text;
                        self.glyph_buf = glyphs;
                    }
                    if run.style.underline || run.style.line_through {
                        self.flush(s);
                        let clip_path = clip.and_then(|_| rect_path(rect));
                        if let Some(c) = &clip_path {
                            s.push_clip_path(c, &FillRule::NonZero);
                        }
                        let vm = self
                            .layout
                            .vmetrics(shaped.first().map(|r| r.face).unwrap_or(fonts::FaceId(0)));
                        let b = pt(baseline);
                        let mut stroke = Stroke {
                            paint: rgb_of(run.style.color).into(),
                            width: (size / 14.0).max(0.5),
                            ..Stroke::default()
                        };
                        stroke.dash = None;
                        s.set_fill(None);
                        s.set_stroke(Some(stroke));
                        if run.style.underline
                            && let Some(path) =
                                line_path((start_x, b + size * 0.12), (x, b + size * 0.12))
                        {
                            s.draw_path(&path);
                        }
                        if run.style.line_through
                            && let Some(path) = line_path(
                                (start_x, b - size * vm.ascent * 0.3),
                                (x, b - size * vm.ascent * 0.3),
                            )
                        {
                            s.draw_path(&path);
                        }
                        s.set_stroke(None);
                        if clip_path.is_some() {
                            s.pop();
                        }
                    }
                    i = j + 1;
                }
                y += line.height;
            }
        }
    }

    fn draw_image(&mut self, s: &mut krilla::surface::Surface<'_>, rect: Rect, img: &Image) {
        let bytes = match &img.source {
            ImageSource::Embedded { data, .. } | ImageSource::Database { data, .. } => data,
            ImageSource::External(url) => {
                self.warnings.push(format!(
                    "the external image {url:?} is not fetched for PDF; an empty box is drawn"
                ));
                return;
            }
            ImageSource::Empty => return,
        };
        // charts and gauges: their SVG as vectors with real text (crate::chartsvg)
        if let ImageSource::Embedded { mime, .. } = &img.source
            && crate::chartsvg::is_svg(mime)
        {
            let db = crate::chartsvg::font_db(self.layout.registry());
            let at = (pt(rect.x), pt(rect.y), pt(rect.w), pt(rect.h));
            if let Err(e) = crate::chartsvg::draw(s, at, bytes, &db) {
                self.warnings.push(format!("a chart is not drawn: {e}"));
            }
            return;
        }
        let key = Arc::as_ptr(bytes) as *const u8 as usize;
        let image = match self.images.get(&key) {
            Some(i) => i.clone(),
            None => {
                let i = decode_image(bytes);
                let i = match i {
                    Ok(i) => Some(i),
                    Err(e) => {
                        self.warnings.push(format!(
                            "an image is not drawn (a crossed box instead): {e}"
                        ));
                        None
                    }
                };
                self.images.insert(key, i.clone());
                i
            }
        };
        let Some(image) = image else {
            draw_placeholder(s, rect);
            return;
        };
        let (iw, ih) = image.size();
        let (rw, rh) = (pt(rect.w), pt(rect.h));
        // natural size at 96 dpi
        let (nw, nh) = (iw as f32 * 0.75, ih as f32 * 0.75);
        let (w, h) = match img.sizing {
            Sizing::Fit => (rw, rh),
            Sizing::FitProportional => {
                let k = (rw / nw.max(0.01)).min(rh / nh.max(0.01));
                (nw * k, nh * k)
            }
            Sizing::AutoSize | Sizing::Clip => (nw, nh),
        };
        let Some(size) = krilla::geom::Size::from_wh(w.max(0.01), h.max(0.01)) else {
            return;
        };
        let clip = rect_path(rect);
        if let Some(c) = &clip {
            s.push_clip_path(c, &FillRule::NonZero);
        }
        s.push_transform(&Transform::from_translate(pt(rect.x), pt(rect.y)));
        s.draw_image(image, size);
        s.pop();
        if clip.is_some() {
            s.pop();
        }
    }
}

/// Decodes an image's header and hands it to krilla, refusing what is not PNG/JPEG/GIF or
/// is larger than [`MAX_IMAGE_PIXELS`].
fn decode_image(b: &Arc<[u8]>) -> Result<krilla::image::Image, String> {
    checked_image_size(b)?;
    let r = if b.starts_with(b"\x89PNG") {
        krilla::image::Image::from_png(data(b), true)
    } else if b.starts_with(&[0xFF, 0xD8]) {
        krilla::image::Image::from_jpeg(data(b), true)
    } else {
        krilla::image::Image::from_gif(data(b), true)
    };
    r.map_err(|e| format!("it cannot be decoded ({e})"))
}

/// Width and height of a PNG, JPEG or GIF image, refusing other data and images larger
/// than [`MAX_IMAGE_PIXELS`] (also used by the IMAGE renderer).
pub(crate) fn checked_image_size(b: &[u8]) -> Result<(u32, u32), String> {
    let (w, h) = image_dimensions(b).ok_or_else(|| {
        "its data is not a PNG, JPEG or GIF image (check the image's MIME type and contents)"
            .to_owned()
    })?;
    if u64::from(w) * u64::from(h) > MAX_IMAGE_PIXELS || w == 0 || h == 0 {
        return Err(format!(
            "it is {w}x{h} pixels, more than the {MAX_IMAGE_PIXELS} pixels allowed; use a smaller image"
        ));
    }
    Ok((w, h))
}

/// Width and height from a PNG, GIF or JPEG header.
fn image_dimensions(b: &[u8]) -> Option<(u32, u32)> {
    if b.len() >= 24 && b.starts_with(b"\x89PNG\r\n\x1a\n") && &b[12..16] == b"IHDR" {
        let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
        let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
        return Some((w, h));
    }
    if b.len() >= 10 && (b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a")) {
        return Some((
            u32::from(u16::from_le_bytes([b[6], b[7]])),
            u32::from(u16::from_le_bytes([b[8], b[9]])),
        ));
    }
    if b.len() >= 4 && b[0] == 0xFF && b[1] == 0xD8 {
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xFF {
                return None;
            }
            let marker = b[i + 1];
            let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
            if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
                let h = u32::from(u16::from_be_bytes([b[i + 5], b[i + 6]]));
                let w = u32::from(u16::from_be_bytes([b[i + 7], b[i + 8]]));
                return Some((w, h));
            }
            if len < 2 {
                return None;
            }
            i += 2 + len;
        }
    }
    None
}

/// A grey crossed box where an image that cannot be drawn would be.
fn draw_placeholder(s: &mut krilla::surface::Surface<'_>, r: Rect) {
    let (l, t, w, h) = (pt(r.x), pt(r.y), pt(r.w), pt(r.h));
    let mut pb = PathBuilder::new();
    if let Some(rr) = krilla::geom::Rect::from_xywh(l, t, w.max(0.01), h.max(0.01)) {
        pb.push_rect(rr);
    }
    pb.move_to(l, t);
    pb.line_to(l + w, t + h);
    pb.move_to(l + w, t);
    pb.line_to(l, t + h);
    let Some(path) = pb.finish() else { return };
    s.set_fill(None);
    s.set_stroke(Some(Stroke {
        paint: rgb::Color::new(160, 160, 160).into(),
        width: 0.5,
        ..Stroke::default()
    }));
    s.draw_path(&path);
    s.set_stroke(None);
}

fn draw_box(s: &mut krilla::surface::Surface<'_>, rect: Rect, style: &BoxStyle) {
    if let Some(bg) = style.background
        && bg.a > 0
        && let Some(p) = rect_path(rect)
    {
        s.set_stroke(None);
        s.set_fill(Some(Fill {
            paint: rgb_of(bg).into(),
            opacity: NormalizedF32::new(f32::from(bg.a) / 255.0).unwrap_or(NormalizedF32::ONE),
            ..Fill::default()
        }));
        s.draw_path(&p);
    }
    let (l, t, r, b) = (
        pt(rect.x),
        pt(rect.y),
        pt(rect.x + rect.w),
        pt(rect.y + rect.h),
    );
    // borders: top, right, bottom, left
    let sides = [
        ((l, t), (r, t)),
        ((r, t), (r, b)),
        ((l, b), (r, b)),
        ((l, t), (l, b)),
    ];
    for (border, (a, z)) in style.borders.iter().zip(sides) {
        if border.style == BorderStyle::None || border.width <= 0 {
            continue;
        }
        s.set_fill(None);
        s.set_stroke(Some(stroke_for(border)));
        if border.style == BorderStyle::Double {
            let w = pt(border.width) / 3.0;
            let (dx, dy) = if a.1 == z.1 { (0.0, w) } else { (w, 0.0) };
            for k in [-1.0f32, 1.0] {
                if let Some(p) =
                    line_path((a.0 + k * dx, a.1 + k * dy), (z.0 + k * dx, z.1 + k * dy))
                {
                    s.draw_path(&p);
                }
            }
        } else if let Some(p) = line_path(a, z) {
            s.draw_path(&p);
        }
        s.set_stroke(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&50_000u32.to_be_bytes());
        png.extend_from_slice(&50_000u32.to_be_bytes());
        assert_eq!(image_dimensions(&png), Some((50_000, 50_000)));
        let e = decode_image(&Arc::from(png.as_slice())).unwrap_err();
        assert!(e.contains("50000x50000"), "{e}");
        let e = decode_image(&Arc::from(&b"not an image"[..])).unwrap_err();
        assert!(e.contains("not a PNG"), "{e}");
    }

    /// Words of a PDF with their boxes (left, top) in pt, by `pdftotext -bbox`; `None` when
    /// poppler is not installed (outside CI).
    fn words(pdf: &[u8]) -> Option<Vec<(String, f32, f32)>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.pdf");
        std::fs::write(&path, pdf).unwrap();
        let o = match std::process::Command::new("pdftotext")
            .arg("-bbox")
            .arg(&path)
            .arg("-")
            .output()
        {
            Ok(o) => o,
            Err(e) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI=true but pdftotext does not run ({e}): apt-get install poppler-utils"
                );
                println!("skipped: pdftotext does not run ({e}); apt-get install poppler-utils");
                return None;
            }
        };
        let html = String::from_utf8(o.stdout).unwrap();
        let attr = |l: &str, k: &str| -> f32 {
            let i = l.find(&format!("{k}=\"")).unwrap() + k.len() + 2;
            l[i..].split('"').next().unwrap().parse().unwrap()
        };
        Some(
            html.lines()
                .filter(|l| l.trim_start().starts_with("<word "))
                .map(|l| {
                    let w = l[l.find('>').unwrap() + 1..l.rfind("</word>").unwrap()].to_owned();
                    (w, attr(l, "xMin"), attr(l, "yMin"))
                })
                .collect(),
        )
    }

    /// A table whose rows are drawn as one glyph run per colour: every text still starts at
    /// its own cell (left aligned and right aligned), a red cell is its own run, and the
    /// second line of a cell that cannot grow is clipped but present.
    #[test]
    fn rows_in_one_glyph_run_keep_their_places() {
        use engine::instance::{
            GridCell, GridRow, Item, ItemKind, Run, Section, Tablix, Textbox, UM_PER_INCH,
        };
        let reg = match FontRegistry::load_default() {
            Ok(r) => r,
            Err(e) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI=true but {e}"
                );
                println!("skipped: {e}");
                return;
            }
        };
        let (w, h) = (UM_PER_INCH * 3 / 2, UM_PER_INCH / 4);
        let cell = |text: &str, red: bool, right: bool| {
            let mut style = engine::instance::TextStyle::default();
            if red {
                style.color = Color {
                    r: 200,
                    g: 0,
                    b: 0,
                    a: 255,
                };
            }
            let mut it = Item::new(
                "c",
                ItemKind::Textbox(Box::new(Textbox {
                    paragraphs: vec![Paragraph {
                        runs: vec![Run {
                            text: text.to_owned(),
                            value: rdl::Value::Null,
                            style,
                            action: None,
                            format: None,
                        }],
                        align: if right {
                            TextAlign::Right
                        } else {
                            TextAlign::Left
                        },
                        left_indent: 0,
                    }],
                    value: rdl::Value::Null,
                    constant: false,
                    element_style: None,
                    action: None,
                    toggle: None,
                    sort: None,
                    can_grow: false,
                    can_shrink: false,
                })),
            );
            it.width = w;
            it.height = h;
            it
        };
        let texts = [
            ["Alpha", "Gamma", "101"],
            ["Delta", "Zeta", "202"],
            ["Theta", "Kappa Lambda Omicron Upsilon", "303"],
        ];
        let rows = texts
            .iter()
            .enumerate()
            .map(|(r, t)| GridRow {
                height: h,
                cells: (0..3)
                    .map(|c| GridCell {
                        col: c,
                        colspan: 1,
                        rowspan: 1,
                        item: Some(cell(t[c], r == 1 && c == 0, c == 2)),
                    })
                    .collect(),
                ..Default::default()
            })
            .collect();
        let mut t = Item::new(
            "T",
            ItemKind::Tablix(Box::new(Tablix {
                columns: vec![w; 3],
                rows,
                ..Tablix::default()
            })),
        );
        t.width = 3 * w;
        t.height = 3 * h;
        let inst = Instance {
            name: "T".into(),
            description: String::new(),
            author: String::new(),
            language: "en-US".into(),
            execution_time: time::macros::datetime!(2026-12-01 10:30:00),
            data_element_name: "Report".into(),
            data_schema: None,
            data_element_style: Default::default(),
            sections: vec![Section {
                body: vec![t],
                body_height: 3 * h,
                body_width: 3 * w,
                body_style: Default::default(),
                page: engine::instance::PageSettings {
                    margins: [UM_PER_INCH; 4],
                    ..Default::default()
                },
                header: None,
                footer: None,
            }],
            warning_log: Default::default(),
            initial_page_name: String::new(),
        };
        let mut out = Vec::new();
        render(&inst, &reg, &PdfOptions::default(), &mut out).unwrap();
        let Some(words) = words(&out) else { return };
        let at = |word: &str| {
            words
                .iter()
                .find(|x| x.0 == word)
                .map(|x| (x.1, x.2))
                .unwrap_or_else(|| panic!("{word:?} not in {words:?}"))
        };
        let (left, top) = (72.0f32, 72.0f32);
        for (r, row) in texts.iter().enumerate() {
            let y = at(row[0]).1;
            // each row 18pt below the one before, its words on one line
            assert!(
                (y - (top + 18.0 * r as f32)).abs() < 3.0,
                "{row:?}: {y} {words:?}"
            );
            assert!((at(row[0]).0 - left).abs() < 3.5, "{row:?} {words:?}");
            let w1 = row[1].split(' ').next().unwrap();
            assert!((at(w1).0 - (left + 108.0)).abs() < 3.5, "{row:?} {words:?}");
            assert!((at(w1).1 - y).abs() < 0.5, "{row:?} {words:?}");
            // right aligned: ends near the cell's right edge, past its middle
            let x = at(row[2]).0;
            assert!(x > left + 270.0 && x < left + 324.0, "{row:?} {words:?}");
            assert!((at(row[2]).1 - y).abs() < 0.5, "{row:?} {words:?}");
        }
        // the wrapped cell's next line is below its first, clipped but in the text
        assert!(at("Upsilon").1 > at("Kappa").1 + 5.0, "{words:?}");
        let o = String::from_utf8_lossy(&out);
        assert!(o.contains("/FlateDecode"));
    }

    #[test]
    fn device_info() {
        let mut m = HashMap::new();
        m.insert("rc:PageWidth".to_owned(), "11in".to_owned());
        m.insert("rc:Columns".to_owned(), "2".to_owned());
        let o = PdfOptions::from_device_info(&DeviceInfo::new(&m)).unwrap();
        assert_eq!(o.pages.page_width, Some(11 * 25_400));
        assert_eq!(o.pages.columns, Some(2));
        m.insert("rc:PageHeight".to_owned(), "tall".to_owned());
        let e = PdfOptions::from_device_info(&DeviceInfo::new(&m)).unwrap_err();
        assert!(e.to_string().contains("PageHeight"), "{e}");
    }
}
