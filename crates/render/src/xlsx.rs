//! Excel (`rs:Format=EXCELOPENXML`, design note §2.8): an Office Open XML workbook written
//! with `rust_xlsxwriter`.
//!
//! Owns: the sheet per logical page (soft pages cut only at page breaks; `PageName` names the
//! sheet, `Sheet<n>` otherwise, names made valid and unique), the cell grid built from the
//! edges of every placed item (tablix columns and rows become grid columns and rows, items
//! spanning several become merged cells), typed cell values (numbers as numbers, dates as
//! Excel serial dates), the translation of .NET format strings to Excel number formats
//! ([`excel_number_format`]), cell styles (font, size, weight, italic, underline, colour,
//! background, borders, alignment, wrapping), column widths and row heights from the
//! report, images (charts and gauges: their SVG drawn as PNG with resvg), hyperlinks, the
//! page header as rows above the body (or, with `SimplePageHeaders`, as Excel's header
//! text) and the footer as Excel's footer text (page numbers as Excel's `&P`/`&N`).
//! Must not: evaluate expressions or do I/O beyond the caller's writer (the workbook is
//! assembled in memory, then written once).

use std::collections::HashMap;
use std::io::Write;

use engine::instance::{
    Action, BorderStyle, BoxStyle, Image, ImageSource, Instance, Item, ItemKind, Len, Sizing,
    TextAlign, TextStyle, Textbox, UM_PER_INCH, VerticalAlign, to_pt,
};
use engine::page::{Page, SoftPageOptions, TextMeasurer, layout_children, paginate, row_height};
use netfmt::Culture;
use rdl::Value;
use rust_xlsxwriter::{
    Color as XColor, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder,
    FormatUnderline, Image as XImage, Url, Workbook, Worksheet,
};

use crate::{DeviceInfo, RenderError, safe_url};

/// Excel's sheet limits.
const MAX_ROWS: usize = 1_048_576;
const MAX_COLS: usize = 16_384;
/// Edges closer than this become one grid line (avoids slivers from misaligned items).
const EDGE_TOLERANCE: Len = 500;

/// Excel settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XlsxOptions {
    /// `SimplePageHeaders`: the page header goes into Excel's page header (text only)
    /// instead of rows above the body.
    pub simple_page_headers: bool,
}

impl XlsxOptions {
    /// Parses the device information (`SimplePageHeaders`; `OmitDocumentMap`,
    /// `OmitFormulas` and `SuppressOutlines` are accepted: reportd writes neither outlines,
    /// formulas nor a document map sheet).
    pub fn from_device_info(d: &DeviceInfo) -> Result<XlsxOptions, RenderError> {
        for b in ["OmitDocumentMap", "OmitFormulas", "SuppressOutlines"] {
            d.bool(b, false)?;
        }
        Ok(XlsxOptions {
            simple_page_headers: d.bool("SimplePageHeaders", false)?,
        })
    }
}

/// What a render produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfficeSummary {
    /// Worksheets (XLSX) or logical pages (DOCX) written.
    pub pages: u32,
    /// Problems that did not stop the render (an image that does not decode, overlapping
    /// items).
    pub warnings: Vec<String>,
}

/// Renders `inst` as an XLSX workbook into `w`.
pub fn render<W: Write>(
    inst: &Instance,
    o: &XlsxOptions,
    m: &dyn TextMeasurer,
    w: &mut W,
) -> Result<OfficeSummary, RenderError> {
    render_with_fonts(inst, o, None, m, w)
}

/// [`render`] with the fonts charts and gauges set their text in (they are SVG, drawn into
/// the workbook as PNG pictures; without fonts their text is left out).
pub fn render_with_fonts<W: Write>(
    inst: &Instance,
    o: &XlsxOptions,
    fonts: Option<&fonts::FontRegistry>,
    m: &dyn TextMeasurer,
    w: &mut W,
) -> Result<OfficeSummary, RenderError> {
    let culture = Culture::get_or_en_us(&inst.language);
    let pages = paginate(inst, SoftPageOptions { height: Some(0) }, m);
    let mut wb = Workbook::new();
    let mut props = DocProperties::new()
        .set_title(inst.name.as_str())
        .set_author(inst.author.as_str())
        .set_comment(inst.description.as_str());
    if let Some(t) = excel_datetime(&inst.execution_time) {
        props = props.set_creation_datetime(&t);
    }
    wb.set_properties(&props);
    let mut summary = OfficeSummary::default();
    let mut names: Vec<String> = Vec::new();
    let mut styles = Styles::default();
    for (i, page) in pages.iter().enumerate() {
        let name = sheet_name(&page.name, i + 1, &names);
        names.push(name.clone());
        let ws = wb.add_worksheet();
        ws.set_name(name.as_str()).map_err(|e| xerr(&e))?;
        let section = &inst.sections[page.section];
        page_setup(ws, &section.page);
        let mut boxes = Vec::new();
        let mut y0 = 0;
        let mut header_text = String::new();
        if let (Some(h), Some(items)) = (&section.header, &page.header) {
            if o.simple_page_headers {
                header_text = band_text(&crate::docx::with_page_fields(h, page));
            } else {
                let (layout, grown) = layout_children(items, m);
                for (it, (top, hh)) in items.iter().zip(layout) {
                    collect(it, it.left, top, it.width, hh, None, m, &mut boxes);
                }
                y0 = h.height.max(grown);
            }
        }
        for p in &page.body {
            let it = p.item;
            collect(
                it,
                it.left,
                y0 + p.top,
                it.width,
                p.height,
                p.rows.as_deref(),
                m,
                &mut boxes,
            );
        }
        let repeat = repeat_band(page, y0, m);
        if !header_text.is_empty() {
            ws.set_header(format!("&C{}", hf_escape(&header_text)));
        }
        if let (Some(f), Some(_)) = (&section.footer, &page.footer) {
            let t = band_text(&crate::docx::with_page_fields(f, page));
            if !t.is_empty() {
                ws.set_footer(format!("&C{}", hf_escape(&t)));
            }
        }
        write_sheet(
            ws,
            &boxes,
            repeat,
            fonts,
            culture,
            &mut styles,
            &name,
            &mut summary,
        )?;
        summary.pages += 1;
    }
    if pages.is_empty() {
        wb.add_worksheet()
            .set_name("Sheet1")
            .map_err(|e| xerr(&e))?;
    }
    let bytes = wb.save_to_buffer().map_err(|e| xerr(&e))?;
    w.write_all(&bytes)?;
    w.flush()?;
    Ok(summary)
}

fn xerr(e: &rust_xlsxwriter::XlsxError) -> RenderError {
    RenderError::Office {
        format: "XLSX",
        message: e.to_string(),
    }
}

/// A placed piece of content in absolute sheet coordinates.
struct CellBox<'a> {
    left: Len,
    top: Len,
    right: Len,
    bottom: Len,
    style: &'a BoxStyle,
    content: Content<'a>,
}

enum Content<'a> {
    Text(&'a Textbox),
    Image(&'a Image),
    Label(String),
    /// An empty tablix cell: only its borders and background.
    Empty,
}

/// Flattens an item at (x, y) of size (w, h) into boxes.
#[allow(clippy::too_many_arguments)] // reason: a position, a size and the rows of a cut tablix
fn collect<'a>(
    item: &'a Item,
    x: Len,
    y: Len,
    w: Len,
    h: Len,
    rows: Option<&[usize]>,
    m: &dyn TextMeasurer,
    out: &mut Vec<CellBox<'a>>,
) {
    if !item.visibility.is_visible() {
        return;
    }
    let mut put = |content| {
        out.push(CellBox {
            left: x,
            top: y,
            right: x + w.max(1),
            bottom: y + h.max(1),
            style: &item.style,
            content,
        })
    };
    match &item.kind {
        ItemKind::Textbox(tb) => put(Content::Text(tb)),
        ItemKind::Image(img) => put(Content::Image(img)),
        ItemKind::Placeholder(k) => put(Content::Label(format!("{}: {}", k.label(), item.name))),
        ItemKind::Subreport(Err(msg)) => put(Content::Label(msg.clone())),
        ItemKind::Line { .. } => {}
        ItemKind::Rectangle(children) => {
            let (layout, _) = layout_children(children, m);
            for (c, (top, ch)) in children.iter().zip(layout) {
                collect(c, x + c.left, y + top, c.width, ch, None, m, out);
            }
        }
        ItemKind::Subreport(Ok(sub)) => {
            let mut dy = 0;
            for s in &sub.sections {
                let (layout, grown) = layout_children(&s.body, m);
                for (c, (top, ch)) in s.body.iter().zip(layout) {
                    collect(c, x + c.left, y + dy + top, c.width, ch, None, m, out);
                }
                dy += grown;
            }
        }
        ItemKind::Tablix(t) => {
            let no_rows = t.rows.is_empty()
                || t.row_members
                    .iter()
                    .all(|mm| mm.dynamic && mm.instances.is_empty());
            // with no rows the NoRowsMessage replaces the grid; without one the header rows
            // still show (as in HTML)
            if no_rows && let Some(msg) = &t.no_rows_message {
                put(Content::Label(msg.clone()));
                return;
            }
            if t.rows.is_empty() {
                return;
            }
            let mut xs = Vec::with_capacity(t.columns.len() + 1);
            let mut cx = x;
            xs.push(cx);
            for cw in &t.columns {
                cx += cw;
                xs.push(cx);
            }
            let all: Vec<usize> = (0..t.rows.len()).collect();
            let rows = rows.unwrap_or(&all);
            let visible: Vec<(usize, Len)> = rows
                .iter()
                .map(|&r| (r, row_height(t, r, m)))
                .filter(|(_, rh)| *rh > 0)
                .collect();
            let mut ys = Vec::with_capacity(visible.len() + 1);
            let mut cy = y;
            ys.push(cy);
            for (_, rh) in &visible {
                cy += rh;
                ys.push(cy);
            }
            for (pos, &(r, _)) in visible.iter().enumerate() {
                for cell in &t.rows[r].cells {
                    let span = visible[pos..]
                        .iter()
                        .take_while(|(x, _)| *x < r + cell.rowspan)
                        .count()
                        .max(1);
                    let c1 = (cell.col + cell.colspan).min(t.columns.len());
                    if cell.col >= c1 {
                        continue;
                    }
                    let (l, rr) = (xs[cell.col], xs[c1]);
                    let (tp, bt) = (ys[pos], ys[pos + span]);
                    match &cell.item {
                        Some(ci) if ci.visibility.is_visible() => {
                            collect(ci, l, tp, rr - l, bt - tp, None, m, out)
                        }
                        _ => out.push(CellBox {
                            left: l,
                            top: tp,
                            right: rr,
                            bottom: bt,
                            style: &item.style,
                            content: Content::Empty,
                        }),
                    }
                }
            }
        }
    }
}

/// The sheet band of the first top-level tablix's leading rows that repeat on each page
/// (`RepeatOnNewPage`): Excel prints them on every printed page.
fn repeat_band(page: &Page<'_>, y0: Len, m: &dyn TextMeasurer) -> Option<(Len, Len)> {
    let p = page
        .body
        .iter()
        .find(|p| matches!(p.item.kind, ItemKind::Tablix(_)) && p.item.visibility.is_visible())?;
    let ItemKind::Tablix(t) = &p.item.kind else {
        return None;
    };
    let all: Vec<usize> = (0..t.rows.len()).collect();
    let rows = p.rows.as_deref().unwrap_or(&all);
    let mut y = y0 + p.top;
    let mut band: Option<(Len, Len)> = None;
    for &r in rows {
        let h = row_height(t, r, m);
        if h == 0 {
            continue;
        }
        if !t.rows[r].repeat_on_new_page {
            break;
        }
        band = Some((band.map_or(y, |b| b.0), y + h));
        y += h;
    }
    band
}

/// Grid lines from box edges: sorted, with edges closer than the tolerance merged.
fn edges(mut v: Vec<Len>) -> Vec<Len> {
    v.sort_unstable();
    let mut out: Vec<Len> = Vec::with_capacity(v.len());
    for e in v {
        match out.last() {
            Some(&l) if e - l < EDGE_TOLERANCE => {}
            _ => out.push(e),
        }
    }
    if let [only] = out[..] {
        out.push(only + EDGE_TOLERANCE);
    }
    out
}

/// Index of the grid line nearest to `x`.
fn nearest(lines: &[Len], x: Len) -> usize {
    match lines.binary_search(&x) {
        Ok(i) => i,
        Err(0) => 0,
        Err(i) if i >= lines.len() => lines.len() - 1,
        Err(i) => {
            if x - lines[i - 1] <= lines[i] - x {
                i - 1
            } else {
                i
            }
        }
    }
}

/// A cell range `[a, b)` on one axis for the box edges `lo..hi`; at least one cell.
fn span(lines: &[Len], lo: Len, hi: Len) -> (usize, usize) {
    let a = nearest(lines, lo);
    let b = nearest(lines, hi);
    if b > a {
        (a, b)
    } else if a + 1 < lines.len() {
        (a, a + 1)
    } else {
        (a.saturating_sub(1), a.max(1))
    }
}

fn px(len: Len) -> u32 {
    (len.max(0) as f64 * 96.0 / UM_PER_INCH as f64).round() as u32
}

#[allow(clippy::too_many_arguments)] // reason: the sheet, its boxes and the render's shared state
fn write_sheet(
    ws: &mut Worksheet,
    boxes: &[CellBox<'_>],
    repeat: Option<(Len, Len)>,
    fonts: Option<&fonts::FontRegistry>,
    culture: &Culture,
    styles: &mut Styles,
    sheet: &str,
    summary: &mut OfficeSummary,
) -> Result<(), RenderError> {
    if boxes.is_empty() {
        return Ok(());
    }
    let xs = edges(boxes.iter().flat_map(|b| [b.left, b.right]).collect());
    let ys = edges(boxes.iter().flat_map(|b| [b.top, b.bottom]).collect());
    let (ncols, nrows) = (xs.len().max(2) - 1, ys.len().max(2) - 1);
    if nrows > MAX_ROWS || ncols > MAX_COLS {
        return Err(RenderError::Office {
            format: "XLSX",
            message: format!(
                "the sheet {sheet:?} needs {nrows} rows and {ncols} columns; a worksheet holds \
                 at most {MAX_ROWS} rows and {MAX_COLS} columns. Add page breaks (PageBreak on \
                 a group) or filter the data"
            ),
        });
    }
    for c in 0..ncols {
        ws.set_column_width_pixels(c as u16, px(xs[c + 1] - xs[c]))
            .map_err(|e| xerr(&e))?;
    }
    for r in 0..nrows {
        ws.set_row_height(r as u32, to_pt(ys[r + 1] - ys[r]).max(1.0))
            .map_err(|e| xerr(&e))?;
    }
    if let Some((top, bottom)) = repeat {
        let (r0, r1) = span(&ys, top, bottom);
        ws.set_repeat_rows(r0 as u32, r1 as u32 - 1)
            .map_err(|e| xerr(&e))?;
    }
    // cells already taken (a later overlapping box keeps only what is free)
    let mut taken = vec![false; nrows * ncols];
    for b in boxes {
        let (c0, c1) = span(&xs, b.left, b.right);
        let (r0, r1) = span(&ys, b.top, b.bottom);
        let free = (r0..r1).all(|r| (c0..c1).all(|c| !taken[r * ncols + c]));
        let (r1, c1) = if free {
            (r1, c1)
        } else if !taken[r0 * ncols + c0] {
            summary.warnings.push(format!(
                "sheet {sheet}: an item overlaps another at row {}, column {}; it was written \
                 into one cell",
                r0 + 1,
                c0 + 1
            ));
            (r0 + 1, c0 + 1)
        } else {
            summary.warnings.push(format!(
                "sheet {sheet}: an item overlaps another at row {}, column {} and was left out",
                r0 + 1,
                c0 + 1
            ));
            continue;
        };
        for r in r0..r1 {
            for c in c0..c1 {
                taken[r * ncols + c] = true;
            }
        }
        let (row, col) = (r0 as u32, c0 as u16);
        let merged = r1 - r0 > 1 || c1 - c0 > 1;
        let cell = CellValue::of(&b.content, culture);
        let key = StyleKey::new(b.style, &b.content, cell.num_format.clone());
        let fmt = styles.get(&key);
        if merged {
            ws.merge_range(row, col, r1 as u32 - 1, c1 as u16 - 1, "", fmt)
                .map_err(|e| xerr(&e))?;
        }
        match &b.content {
            Content::Image(img) => {
                insert_image(
                    ws,
                    row,
                    col,
                    img,
                    b.right - b.left,
                    b.bottom - b.top,
                    fonts,
                    summary,
                );
                continue;
            }
            Content::Empty => {
                if !merged {
                    ws.write_blank(row, col, fmt).map_err(|e| xerr(&e))?;
                }
                continue;
            }
            _ => {}
        }
        if let Content::Text(tb) = &b.content
            && let Some(Action::Hyperlink(u)) = &tb.action
            && safe_url(u)
            && (u.starts_with("http") || u.starts_with("mailto:"))
        {
            let url = Url::new(u.as_str()).set_text(tb.text());
            if ws.write_url_with_format(row, col, url, fmt).is_ok() {
                continue;
            }
        }
        if let Content::Text(tb) = &b.content
            && let Some(rich) = rich_runs(tb)
        {
            let parts: Vec<(&Format, &str)> = rich.iter().map(|(f, s)| (f, s.as_str())).collect();
            if ws
                .write_rich_string_with_format(row, col, &parts, fmt)
                .is_ok()
            {
                continue;
            }
        }
        match cell.value {
            Cv::Blank => {
                if !merged {
                    ws.write_blank(row, col, fmt).map_err(|e| xerr(&e))?;
                }
            }
            Cv::Number(x) => {
                ws.write_number_with_format(row, col, x, fmt)
                    .map_err(|e| xerr(&e))?;
            }
            Cv::Bool(v) => {
                ws.write_boolean_with_format(row, col, v, fmt)
                    .map_err(|e| xerr(&e))?;
            }
            Cv::Text(s) => {
                // Excel's cell limit is 32,767 characters
                let s: String = s.chars().take(32_767).collect();
                ws.write_string_with_format(row, col, s, fmt)
                    .map_err(|e| xerr(&e))?;
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)] // reason: the cell, the image, its box and the render's state
fn insert_image(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    img: &Image,
    w: Len,
    h: Len,
    fonts: Option<&fonts::FontRegistry>,
    summary: &mut OfficeSummary,
) {
    let data = match &img.source {
        ImageSource::Embedded { data, mime, .. } | ImageSource::Database { data, mime }
            if crate::chartsvg::is_svg(mime) =>
        {
            // a chart or gauge: drawn at twice the box's pixels, shown at half scale
            let Some(png) = svg_png(data, w, h, fonts) else {
                summary
                    .warnings
                    .push("an SVG image (chart) could not be drawn; it was left out".into());
                return;
            };
            if let Ok(x) = XImage::new_from_buffer(&png) {
                let x = x.set_scale_width(0.5).set_scale_height(0.5);
                if ws.insert_image(row, col, &x).is_err() {
                    summary.warnings.push("an image could not be placed".into());
                }
            }
            return;
        }
        ImageSource::Embedded { data, .. } | ImageSource::Database { data, .. } => data,
        ImageSource::External(u) => {
            summary.warnings.push(format!(
                "the external image {u:?} is not embedded in Excel output"
            ));
            return;
        }
        ImageSource::Empty => return,
    };
    let Ok(x) = XImage::new_from_buffer(data) else {
        summary
            .warnings
            .push("an image is not a PNG, JPEG, GIF or BMP file; it was left out".into());
        return;
    };
    let (iw, ih) = (
        x.width() * 96.0 / x.width_dpi().max(1.0),
        x.height() * 96.0 / x.height_dpi().max(1.0),
    );
    if iw <= 0.0 || ih <= 0.0 {
        return;
    }
    let (tw, th) = (f64::from(px(w)), f64::from(px(h)));
    let (sx, sy) = match img.sizing {
        Sizing::Fit => (tw / iw, th / ih),
        Sizing::FitProportional => {
            let s = (tw / iw).min(th / ih);
            (s, s)
        }
        Sizing::AutoSize | Sizing::Clip => {
            let s = (tw / iw).min(th / ih).min(1.0);
            (s, s)
        }
    };
    let x = x.set_scale_width(sx).set_scale_height(sy);
    if ws.insert_image(row, col, &x).is_err() {
        summary.warnings.push("an image could not be placed".into());
    }
}

/// Largest side of a drawn SVG, in pixels (bounds the raster).
const MAX_SVG_SIDE: u32 = 4096;

/// An SVG (a chart or gauge) drawn on white as a PNG of twice the box's size at 96 dpi, its
/// text in the registry's fonts (none: text left out). `None` when it does not parse.
pub(crate) fn svg_png(
    svg: &[u8],
    w: Len,
    h: Len,
    fonts: Option<&fonts::FontRegistry>,
) -> Option<Vec<u8>> {
    if svg.len() > crate::chartsvg::MAX_SVG_BYTES {
        return None;
    }
    let mut opts = usvg::Options::default();
    if let Some(f) = fonts {
        opts.fontdb = crate::chartsvg::font_db(f);
    }
    let tree = usvg::Tree::from_data(svg, &opts).ok()?;
    let (pw, ph) = (
        (px(w) * 2).clamp(1, MAX_SVG_SIDE),
        (px(h) * 2).clamp(1, MAX_SVG_SIDE),
    );
    let mut pixmap = resvg::tiny_skia::Pixmap::new(pw, ph)?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    let size = tree.size();
    let (sx, sy) = (
        pw as f32 / size.width().max(1.0),
        ph as f32 / size.height().max(1.0),
    );
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(sx, sy),
        &mut pixmap.as_mut(),
    );
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, pw, ph);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().ok()?;
        // opaque on white: premultiplied and straight alpha are the same bytes
        wr.write_image_data(pixmap.data()).ok()?;
    }
    Some(out)
}

/// Runs of a multi-run textbox as rich-string parts, when their styles differ.
fn rich_runs(tb: &Textbox) -> Option<Vec<(Format, String)>> {
    let runs: Vec<_> = tb.paragraphs.iter().flat_map(|p| p.runs.iter()).collect();
    if runs.len() < 2 || runs.iter().all(|r| r.style == runs[0].style) {
        return None;
    }
    let mut parts: Vec<(Format, String)> = Vec::new();
    for (pi, p) in tb.paragraphs.iter().enumerate() {
        for (ri, r) in p.runs.iter().enumerate() {
            let mut text = r.text.clone();
            if pi > 0 && ri == 0 {
                text.insert(0, '\n');
            }
            if text.is_empty() {
                continue;
            }
            parts.push((font_format(&FontKey::of(&r.style)), text));
        }
    }
    (!parts.is_empty()).then_some(parts)
}

/// The typed value of a cell and its number format.
struct CellValue {
    value: Cv,
    num_format: Option<String>,
}

enum Cv {
    Blank,
    Number(f64),
    Bool(bool),
    Text(String),
}

impl CellValue {
    fn of(c: &Content<'_>, culture: &Culture) -> CellValue {
        let text = |s: String| CellValue {
            value: Cv::Text(s),
            num_format: None,
        };
        let tb = match c {
            Content::Text(tb) => tb,
            Content::Label(s) => return text(s.clone()),
            Content::Image(_) | Content::Empty => {
                return CellValue {
                    value: Cv::Blank,
                    num_format: None,
                };
            }
        };
        let single = match tb.paragraphs.as_slice() {
            [p] => match p.runs.as_slice() {
                [r] => Some(r),
                _ => None,
            },
            _ => None,
        };
        let Some(run) = single else {
            return text(tb.text());
        };
        let fmt = run.format.as_deref();
        match &run.value {
            Value::Null => CellValue {
                value: Cv::Blank,
                num_format: None,
            },
            Value::Int(i) => CellValue {
                value: Cv::Number(*i as f64),
                num_format: excel_number_format(fmt, NumKind::Integer, culture),
            },
            Value::Float(x) if x.is_finite() => CellValue {
                value: Cv::Number(*x),
                num_format: excel_number_format(fmt, NumKind::Real, culture),
            },
            Value::Decimal(d) => match f64::try_from(*d) {
                Ok(x) => CellValue {
                    value: Cv::Number(x),
                    num_format: excel_number_format(fmt, NumKind::Real, culture),
                },
                Err(_) => text(run.text.clone()),
            },
            Value::DateTime(t) => match excel_serial(t) {
                Some(x) => CellValue {
                    value: Cv::Number(x),
                    num_format: Some(excel_date_format(fmt.unwrap_or("G"), culture)),
                },
                None => text(run.text.clone()),
            },
            Value::Bool(b) => CellValue {
                value: Cv::Bool(*b),
                num_format: None,
            },
            _ => text(run.text.clone()),
        }
    }
}

/// Excel's serial day number of a date and time (1900 date system; days from 1899-12-30 for
/// dates from 1900-03-01). Earlier dates are not written as dates.
pub fn excel_serial(t: &time::PrimitiveDateTime) -> Option<f64> {
    let epoch = time::macros::date!(1899 - 12 - 30);
    if t.date() < time::macros::date!(1900 - 03 - 01) || t.year() > 9999 {
        return None;
    }
    let days = (t.date() - epoch).whole_days() as f64;
    let secs = f64::from(t.hour()) * 3600.0
        + f64::from(t.minute()) * 60.0
        + f64::from(t.second())
        + f64::from(t.nanosecond()) / 1e9;
    Some(days + secs / 86_400.0)
}

fn excel_datetime(t: &time::PrimitiveDateTime) -> Option<ExcelDateTime> {
    ExcelDateTime::from_ymd(t.year().try_into().ok()?, u8::from(t.month()), t.day())
        .ok()?
        .and_hms(u16::from(t.hour()), t.minute(), t.second())
        .ok()
}

/// Whether a number is an integer type (`D` applies) or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumKind {
    /// An integer value.
    Integer,
    /// A double or decimal.
    Real,
}

/// The Excel number format for a .NET numeric format string (`C2`, `N0`, `P1`, `#,##0.00`,
/// `'$'#,0.00;('$'#,0.00)`), in the culture's symbols. `None` = Excel's General (no format,
/// `G`, `R`, `X`, or a format that does not translate).
pub fn excel_number_format(fmt: Option<&str>, kind: NumKind, c: &Culture) -> Option<String> {
    let f = fmt?.trim();
    if f.is_empty() {
        return None;
    }
    let mut chars = f.chars();
    let first = chars.next()?;
    let rest = chars.as_str();
    let standard = first.is_ascii_alphabetic()
        && (rest.is_empty() || (rest.len() <= 2 && rest.chars().all(|ch| ch.is_ascii_digit())));
    if !standard {
        return custom_number(f);
    }
    let prec: Option<usize> = if rest.is_empty() {
        None
    } else {
        rest.parse().ok()
    };
    let n = &c.number;
    let zeros = |k: usize| "0".repeat(k.min(30));
    let frac = |k: usize| {
        if k == 0 {
            String::new()
        } else {
            format!(".{}", zeros(k))
        }
    };
    Some(match first.to_ascii_uppercase() {
        'C' => {
            let d = prec.unwrap_or(usize::from(n.currency_decimal_digits));
            let num = format!("#,##0{}", frac(d));
            let sym = format!("\"{}\"", n.currency_symbol.replace('"', ""));
            let pos = match n.currency_positive_pattern {
                1 => format!("{num}{sym}"),
                2 => format!("{sym} {num}"),
                3 => format!("{num} {sym}"),
                _ => format!("{sym}{num}"),
            };
            let neg = match n.currency_negative_pattern {
                0 => format!("({sym}{num})"),
                2 => format!("{sym}-{num}"),
                3 => format!("{sym}{num}-"),
                4 => format!("({num}{sym})"),
                5 => format!("-{num}{sym}"),
                8 => format!("-{num} {sym}"),
                9 => format!("-{sym} {num}"),
                12 => format!("{sym} -{num}"),
                14 => format!("({sym} {num})"),
                15 => format!("({num} {sym})"),
                _ => format!("-{sym}{num}"),
            };
            format!("{pos};{neg}")
        }
        'N' => {
            let d = prec.unwrap_or(usize::from(n.decimal_digits));
            format!("#,##0{}", frac(d))
        }
        'F' => {
            let d = prec.unwrap_or(usize::from(n.decimal_digits));
            format!("0{}", frac(d))
        }
        'P' => {
            let d = prec.unwrap_or(usize::from(n.percent_decimal_digits));
            format!("0{}%", frac(d))
        }
        'D' if kind == NumKind::Integer => zeros(prec.unwrap_or(1).max(1)),
        'E' => {
            let d = prec.unwrap_or(6);
            format!("0{}E+000", frac(d))
        }
        _ => return None,
    })
}

/// A .NET custom numeric format as an Excel format: digit placeholders, separators, `%`,
/// exponents and sections carry over; quoted and escaped literals become Excel literals.
fn custom_number(f: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = f.chars().peekable();
    while let Some(ch) = it.next() {
        match ch {
            '0' | '#' | '.' | ',' | '%' | ';' | ' ' | '-' | '+' | '(' | ')' | '$' | ':' | '/' => {
                out.push(ch)
            }
            'E' | 'e' => {
                out.push('E');
                if let Some(&s) = it.peek()
                    && (s == '+' || s == '-')
                {
                    out.push(s);
                    it.next();
                } else {
                    out.push('+');
                }
            }
            '\\' => {
                let lit = it.next()?;
                push_literal(&mut out, lit);
            }
            '\'' | '"' => {
                let mut lit = String::new();
                for c in it.by_ref() {
                    if c == ch {
                        break;
                    }
                    lit.push(c);
                }
                out.push('"');
                out.push_str(&lit.replace('"', ""));
                out.push('"');
            }
            '‰' => return None,
            c => push_literal(&mut out, c),
        }
    }
    Some(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '"' {
        out.push_str("\\\"");
    } else {
        out.push('"');
        out.push(c);
        out.push('"');
    }
}

/// The Excel date/time format for a .NET date/time format string (`d`, `D`, `g`, `G`,
/// `yyyy-MM-dd`, `d MMMM yyyy`, `HH:mm`); standard formats use the culture's patterns.
pub fn excel_date_format(fmt: &str, c: &Culture) -> String {
    let d = &c.datetime;
    let f = fmt.trim();
    let pattern: String = if f.chars().count() == 1 {
        match f {
            "d" => d.short_date.into(),
            "D" => d.long_date.into(),
            "t" => d.short_time.into(),
            "T" => d.long_time.into(),
            "f" => format!("{} {}", d.long_date, d.short_time),
            "F" => d.full_date_time.into(),
            "g" => format!("{} {}", d.short_date, d.short_time),
            "G" => format!("{} {}", d.short_date, d.long_time),
            "M" | "m" => d.month_day.into(),
            "Y" | "y" => d.year_month.into(),
            "s" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss".into(),
            "u" => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'".into(),
            "o" | "O" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffff".into(),
            "r" | "R" => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'".into(),
            _ => format!("{} {}", d.short_date, d.long_time),
        }
    } else {
        f.to_owned()
    };
    custom_date(&pattern, d.date_separator, d.time_separator)
}

fn custom_date(p: &str, date_sep: &str, time_sep: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == ch {
            n += 1;
        }
        match ch {
            'y' => out.push_str(if n <= 2 { "yy" } else { "yyyy" }),
            'M' => out.push_str(match n {
                1 => "m",
                2 => "mm",
                3 => "mmm",
                _ => "mmmm",
            }),
            'd' => out.push_str(match n {
                1 => "d",
                2 => "dd",
                3 => "ddd",
                _ => "dddd",
            }),
            'h' | 'H' => out.push_str(if n == 1 { "h" } else { "hh" }),
            'm' => out.push_str(if n == 1 { "m" } else { "mm" }),
            's' => out.push_str(if n == 1 { "s" } else { "ss" }),
            'f' | 'F' => {
                // fractions follow a '.' literal in .NET patterns
                if !out.ends_with('.') {
                    out.push('.');
                }
                out.push_str(&"0".repeat(n.min(3)));
            }
            't' => out.push_str(if n == 1 { "A/P" } else { "AM/PM" }),
            'z' | 'K' | 'g' => {}
            '/' => push_sep(&mut out, date_sep),
            ':' => push_sep(&mut out, time_sep),
            '\'' | '"' => {
                let mut j = i + 1;
                let mut lit = String::new();
                while j < chars.len() && chars[j] != ch {
                    lit.push(chars[j]);
                    j += 1;
                }
                if !lit.is_empty() {
                    out.push('"');
                    out.push_str(&lit.replace('"', ""));
                    out.push('"');
                }
                i = j + 1;
                continue;
            }
            '\\' => {
                if let Some(&c) = chars.get(i + 1) {
                    push_literal(&mut out, c);
                }
                i += 2;
                continue;
            }
            '%' => {}
            ' ' | ',' | '.' | '-' => out.extend(std::iter::repeat_n(ch, n)),
            c => {
                for _ in 0..n {
                    push_literal(&mut out, c);
                }
            }
        }
        i += n;
    }
    out
}

fn push_sep(out: &mut String, sep: &str) {
    match sep {
        "/" | ":" | "-" | "." | " " => out.push_str(sep),
        s => {
            out.push('"');
            out.push_str(&s.replace('"', ""));
            out.push('"');
        }
    }
}

/// A valid, unique worksheet name: at most 31 characters, none of `[]:*?/\`, no leading or
/// trailing apostrophe, `Sheet<n>` when the page has no name.
fn sheet_name(page_name: &str, n: usize, taken: &[String]) -> String {
    let clean: String = page_name
        .chars()
        .map(|c| {
            if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim().trim_matches('\'').to_owned();
    let base = if clean.is_empty() || clean.eq_ignore_ascii_case("history") {
        format!("Sheet{n}")
    } else {
        clean.chars().take(31).collect()
    };
    let used = |s: &str| taken.iter().any(|t| t.eq_ignore_ascii_case(s));
    if !used(&base) {
        return base;
    }
    for k in 2.. {
        let suffix = format!(" ({k})");
        let keep = 31 - suffix.chars().count();
        let cand: String = base.chars().take(keep).collect::<String>() + &suffix;
        if !used(&cand) {
            return cand;
        }
    }
    unreachable!("an unbounded counter finds a free name")
}

fn page_setup(ws: &mut Worksheet, p: &engine::instance::PageSettings) {
    let inch = |l: Len| l as f64 / UM_PER_INCH as f64;
    let (w, h) = (p.width.min(p.height), p.width.max(p.height));
    let near = |a: Len, b: Len| (a - b).abs() < 2_000;
    let paper = if near(w, 215_900) && near(h, 279_400) {
        1
    } else if near(w, 215_900) && near(h, 355_600) {
        5
    } else if near(w, 210_000) && near(h, 297_000) {
        9
    } else if near(w, 148_000) && near(h, 210_000) {
        11
    } else {
        0
    };
    if paper != 0 {
        ws.set_paper_size(paper);
    }
    if p.width > p.height {
        ws.set_landscape();
    }
    let [t, r, b, l] = p.margins;
    ws.set_margins(inch(l), inch(r), inch(t), inch(b), 0.3, 0.3);
}

/// The text of a header/footer band, textboxes in reading order joined by spaces.
fn band_text(items: &[Item]) -> String {
    let mut tbs: Vec<(&Item, &Textbox)> = Vec::new();
    fn walk<'a>(items: &'a [Item], out: &mut Vec<(&'a Item, &'a Textbox)>) {
        for it in items {
            if !it.visibility.is_visible() {
                continue;
            }
            match &it.kind {
                ItemKind::Textbox(tb) => out.push((it, tb)),
                ItemKind::Rectangle(c) => walk(c, out),
                _ => {}
            }
        }
    }
    walk(items, &mut tbs);
    tbs.sort_by_key(|(it, _)| (it.top, it.left));
    let parts: Vec<String> = tbs
        .iter()
        .map(|(_, tb)| tb.text().replace("\r\n", " "))
        .filter(|s| !s.trim().is_empty())
        .collect();
    parts.join("  ")
}

/// Escapes `&` for Excel's header/footer codes, turns the page-number marks into `&P` and
/// `&N` (Excel numbers the printed pages) and keeps within its 255-character limit.
fn hf_escape(s: &str) -> String {
    let s: String = s.chars().filter(|c| !c.is_control()).take(200).collect();
    s.replace('&', "&&")
        .replace(&crate::docx::PAGE_MARK.to_string(), "&P")
        .replace(&crate::docx::PAGES_MARK.to_string(), "&N")
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FontKey {
    family: String,
    size: Len,
    bold: bool,
    italic: bool,
    underline: bool,
    strike: bool,
    color: u32,
}

impl FontKey {
    fn of(t: &TextStyle) -> FontKey {
        FontKey {
            family: t.font_family.clone(),
            size: t.font_size,
            bold: t.font_weight >= 600,
            italic: t.italic,
            underline: t.underline,
            strike: t.line_through,
            color: rgb(t.color),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct StyleKey {
    font: FontKey,
    background: Option<u32>,
    borders: [(u8, u32); 4],
    align: u8,
    valign: u8,
    wrap: bool,
    num_format: Option<String>,
}

fn rgb(c: engine::instance::Color) -> u32 {
    (u32::from(c.r) << 16) | (u32::from(c.g) << 8) | u32::from(c.b)
}

impl StyleKey {
    fn new(b: &BoxStyle, content: &Content<'_>, num_format: Option<String>) -> StyleKey {
        let (font, align, wrap) = match content {
            Content::Text(tb) => {
                let first = tb.paragraphs.iter().flat_map(|p| p.runs.iter()).next();
                let font = first.map(|r| FontKey::of(&r.style));
                let align = match tb.paragraphs.first().map(|p| p.align) {
                    Some(TextAlign::Center) => 2,
                    Some(TextAlign::Right) => 3,
                    _ => 1,
                };
                let multi = tb.paragraphs.len() > 1
                    || tb
                        .paragraphs
                        .iter()
                        .any(|p| p.runs.iter().any(|r| r.text.contains('\n')));
                (font, align, tb.can_grow || multi)
            }
            _ => (None, 0, false),
        };
        let font = font.unwrap_or_else(|| FontKey::of(&TextStyle::default()));
        let border = |i: usize| {
            let s = &b.borders[i];
            let code = match s.style {
                BorderStyle::None => 0,
                BorderStyle::Solid if s.width <= engine::instance::pt(1.25) => 1,
                BorderStyle::Solid if s.width <= engine::instance::pt(2.25) => 2,
                BorderStyle::Solid => 3,
                BorderStyle::Dotted => 4,
                BorderStyle::Dashed => 5,
                BorderStyle::Double => 6,
            };
            (code, rgb(s.color))
        };
        StyleKey {
            font,
            background: b.background.filter(|c| c.a > 0).map(rgb),
            borders: [border(0), border(1), border(2), border(3)],
            align,
            valign: match b.vertical_align {
                VerticalAlign::Top => 0,
                VerticalAlign::Middle => 1,
                VerticalAlign::Bottom => 2,
            },
            wrap,
            num_format,
        }
    }
}

fn font_format(f: &FontKey) -> Format {
    let mut x = Format::new()
        .set_font_name(f.family.as_str())
        .set_font_size((to_pt(f.size) * 2.0).round() / 2.0);
    if f.bold {
        x = x.set_bold();
    }
    if f.italic {
        x = x.set_italic();
    }
    if f.underline {
        x = x.set_underline(FormatUnderline::Single);
    }
    if f.strike {
        x = x.set_font_strikethrough();
    }
    if f.color != 0 {
        x = x.set_font_color(XColor::RGB(f.color));
    }
    x
}

/// Cell formats made once per distinct style.
#[derive(Default)]
struct Styles {
    map: HashMap<StyleKey, Format>,
}

impl Styles {
    fn get(&mut self, k: &StyleKey) -> &Format {
        self.map.entry(k.clone()).or_insert_with(|| build_format(k))
    }
}

fn build_format(k: &StyleKey) -> Format {
    let mut f = font_format(&k.font);
    if let Some(bg) = k.background {
        f = f.set_background_color(XColor::RGB(bg));
    }
    let line = |code: u8| match code {
        1 => FormatBorder::Thin,
        2 => FormatBorder::Medium,
        3 => FormatBorder::Thick,
        4 => FormatBorder::Dotted,
        5 => FormatBorder::Dashed,
        6 => FormatBorder::Double,
        _ => FormatBorder::None,
    };
    let [(t, tc), (r, rc), (b, bc), (l, lc)] = k.borders;
    if t != 0 {
        f = f
            .set_border_top(line(t))
            .set_border_top_color(XColor::RGB(tc));
    }
    if r != 0 {
        f = f
            .set_border_right(line(r))
            .set_border_right_color(XColor::RGB(rc));
    }
    if b != 0 {
        f = f
            .set_border_bottom(line(b))
            .set_border_bottom_color(XColor::RGB(bc));
    }
    if l != 0 {
        f = f
            .set_border_left(line(l))
            .set_border_left_color(XColor::RGB(lc));
    }
    f = match k.align {
        1 => f.set_align(FormatAlign::Left),
        2 => f.set_align(FormatAlign::Center),
        3 => f.set_align(FormatAlign::Right),
        _ => f,
    };
    f = match k.valign {
        1 => f.set_align(FormatAlign::VerticalCenter),
        2 => f.set_align(FormatAlign::Bottom),
        _ => f.set_align(FormatAlign::Top),
    };
    if k.wrap {
        f = f.set_text_wrap();
    }
    if let Some(n) = &k.num_format {
        f = f.set_num_format(n.as_str());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_numeric_formats() {
        let c = Culture::en_us();
        let f = |s: &str| excel_number_format(Some(s), NumKind::Real, c).unwrap_or_default();
        assert_eq!(f("C2"), "\"$\"#,##0.00;(\"$\"#,##0.00)");
        assert_eq!(f("C"), "\"$\"#,##0.00;(\"$\"#,##0.00)");
        assert_eq!(f("N0"), "#,##0");
        assert_eq!(f("N"), "#,##0.00");
        assert_eq!(f("P1"), "0.0%");
        assert_eq!(f("F3"), "0.000");
        assert_eq!(f("E2"), "0.00E+000");
        assert_eq!(
            excel_number_format(Some("D5"), NumKind::Integer, c).as_deref(),
            Some("00000")
        );
        assert_eq!(excel_number_format(Some("G"), NumKind::Real, c), None);
        assert_eq!(excel_number_format(None, NumKind::Real, c), None);
    }

    #[test]
    fn custom_numeric_formats() {
        let c = Culture::en_us();
        let f = |s: &str| excel_number_format(Some(s), NumKind::Real, c).unwrap_or_default();
        assert_eq!(f("#,##0.00"), "#,##0.00");
        assert_eq!(f("'$'#,0.00;('$'#,0.00)"), "\"$\"#,0.00;(\"$\"#,0.00)");
        assert_eq!(f("0.0 kg"), "0.0 \"k\"\"g\"");
        assert_eq!(f("#,###,##0.##"), "#,###,##0.##");
    }

    #[test]
    fn date_formats() {
        let c = Culture::en_us();
        assert_eq!(excel_date_format("d", c), "m/d/yyyy");
        assert_eq!(excel_date_format("yyyy-MM-dd", c), "yyyy-mm-dd");
        assert_eq!(excel_date_format("d MMMM yyyy", c), "d mmmm yyyy");
        assert_eq!(excel_date_format("HH:mm:ss", c), "hh:mm:ss");
        assert_eq!(excel_date_format("G", c), "m/d/yyyy h:mm:ss AM/PM");
        assert_eq!(
            excel_date_format("s", c),
            "yyyy\"-\"mm\"-\"dd\"T\"hh\":\"mm\":\"ss"
        );
    }

    #[test]
    fn sheet_names() {
        let taken = vec!["Sales".to_owned()];
        assert_eq!(sheet_name("", 3, &[]), "Sheet3");
        assert_eq!(sheet_name("a/b:c", 1, &[]), "a_b_c");
        assert_eq!(sheet_name("sales", 2, &taken), "sales (2)");
        assert_eq!(sheet_name(&"x".repeat(40), 1, &[]).chars().count(), 31);
    }

    #[test]
    fn serial_dates() {
        let t = time::macros::datetime!(2009-01-05 12:00:00);
        assert_eq!(excel_serial(&t), Some(39818.5));
        assert_eq!(
            excel_serial(&time::macros::datetime!(1899-01-01 0:00)),
            None
        );
    }
}
