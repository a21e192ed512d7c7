//! Word (`rs:Format=WORDOPENXML`, design note §2.8): a WordprocessingML document written
//! with `zip` and our own XML (no kept DOCX writer fits; the parts are few and small).
//!
//! Owns: the document's flow — body items in reading order (top, then left; rectangles and
//! subreports open up in place), textboxes as paragraphs of runs (font, size, weight,
//! italic, underline, strike-through, colour, alignment, indent), tablixes as `w:tbl` with the
//! report's column widths, row heights, header rows repeated on each page, column spans
//! (`gridSpan`) and row spans (`vMerge`), cell borders and shading; images as inline
//! pictures (`word/media`; charts and gauges drawn from their SVG as PNG); hyperlinks; one
//! Word section per report section with its page size, orientation and margins, and the
//! page header/footer as Word's header/footer parts; a page break at each logical page
//! break; document properties from the report.
//! Must not: evaluate expressions or do I/O beyond the caller's writer. Header/footer text is
//! evaluated once, for the first page that shows it, with marker page numbers: where
//! `Globals!PageNumber`/`TotalPages` land become Word's `PAGE`/`NUMPAGES` fields; any other
//! page-dependent value (`PageName`, `ReportItems`) is that first page's.

use std::fmt::Write as _;
use std::io::{Cursor, Write};

use engine::instance::{
    Action, Border, BorderStyle, BoxStyle, Color, Image, ImageSource, Instance, Item, ItemKind,
    Len, PageContext, PageSection, PageSettings, Paragraph, Run, Sizing, Tablix, TextAlign,
    TextStyle, Textbox, VerticalAlign, Visibility,
};
use engine::page::{Page, SoftPageOptions, TextMeasurer, layout_children, paginate, row_height};

use crate::xlsx::OfficeSummary;
use crate::{DeviceInfo, RenderError, safe_url};

const NS: &str = concat!(
    r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" "#,
    r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" "#,
    r#"xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" "#,
    r#"xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" "#,
    r#"xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture""#
);
const REL_IMAGE: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image";
const REL_LINK: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink";
const REL_HEADER: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/header";
const REL_FOOTER: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer";
const REL_STYLES: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles";
/// Images larger than this are left out with a warning (bounds the output).
const MAX_IMAGE_BYTES: usize = 32 << 20;

/// Word settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DocxOptions {
    /// `OmitHyperlinks`: hyperlinks are written as plain text.
    pub omit_hyperlinks: bool,
}

impl DocxOptions {
    /// Parses the device information (`OmitHyperlinks`; `AutoFit`, `ExpandToggles`,
    /// `FixedPageWidth` and `OmitDrillthroughs` are accepted: drillthroughs are never links
    /// in Word output, toggled items print in their initial state).
    pub fn from_device_info(d: &DeviceInfo) -> Result<DocxOptions, RenderError> {
        for b in ["ExpandToggles", "FixedPageWidth", "OmitDrillthroughs"] {
            d.bool(b, false)?;
        }
        if let Some(v) = d.get("AutoFit")
            && !["true", "false", "never", "default"]
                .iter()
                .any(|x| v.eq_ignore_ascii_case(x))
        {
            return Err(RenderError::DeviceInfo {
                setting: "AutoFit",
                problem: format!("{v:?}: use True, False, Never or Default"),
            });
        }
        Ok(DocxOptions {
            omit_hyperlinks: d.bool("OmitHyperlinks", false)?,
        })
    }
}

/// Twentieths of a point from micrometres.
fn twips(l: Len) -> i64 {
    (l.max(0) as i128 * 1440 / 25_400) as i64
}

/// English Metric Units (914,400 per inch) from micrometres.
fn emu(l: Len) -> i64 {
    l.max(0) * 36
}

/// Escapes text for XML and drops characters XML 1.0 cannot hold.
fn esc(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

fn e(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    esc(s, &mut o);
    o
}

struct Rel {
    kind: &'static str,
    target: String,
    external: bool,
}

/// The document being assembled: its parts and relationships.
struct Doc<'a> {
    o: &'a DocxOptions,
    m: &'a dyn TextMeasurer,
    rels: Vec<Rel>,
    media: Vec<(String, Vec<u8>)>,
    parts: Vec<(String, String, &'static str)>,
    next_pic: u32,
    warnings: Vec<String>,
    /// Writing a header or footer: page-number marks become Word fields.
    fields: bool,
    /// Fonts for the text of charts and gauges (drawn as pictures).
    fonts: Option<&'a fonts::FontRegistry>,
}

impl Doc<'_> {
    fn rel(&mut self, kind: &'static str, target: String, external: bool) -> String {
        self.rels.push(Rel {
            kind,
            target,
            external,
        });
        format!("rId{}", self.rels.len())
    }

    /// Items in reading order at horizontal offset `x` (for indents).
    fn items(&mut self, items: &[Item], x: Len, in_cell: bool, out: &mut String) {
        let (layout, _) = layout_children(items, self.m);
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| (layout[i].0, items[i].left));
        for i in order {
            let it = &items[i];
            self.item(it, x + it.left, in_cell, None, out);
        }
    }

    fn item(&mut self, it: &Item, x: Len, in_cell: bool, rows: Option<&[usize]>, out: &mut String) {
        if !it.visibility.is_visible() {
            return;
        }
        match &it.kind {
            ItemKind::Textbox(tb) => {
                if !in_cell && tb.text_ref().trim().is_empty() {
                    return;
                }
                self.textbox(tb, &it.style, if in_cell { 0 } else { x }, out);
            }
            ItemKind::Rectangle(children) => self.items(children, x, in_cell, out),
            ItemKind::Subreport(Ok(sub)) => {
                for s in &sub.sections {
                    self.items(&s.body, x, in_cell, out);
                }
            }
            ItemKind::Subreport(Err(msg)) => plain_para(msg, out),
            ItemKind::Placeholder(k) => plain_para(&format!("{}: {}", k.label(), it.name), out),
            ItemKind::Line { border } => {
                if it.height == 0 {
                    out.push_str("<w:p><w:pPr><w:pBdr>");
                    border_el("bottom", border, out);
                    out.push_str("</w:pBdr></w:pPr></w:p>");
                }
            }
            ItemKind::Image(img) => self.image(img, it.width, it.height, out),
            ItemKind::Tablix(t) => self.tablix(it, t, if in_cell { 0 } else { x }, rows, out),
        }
    }

    fn textbox(&mut self, tb: &Textbox, style: &BoxStyle, x: Len, out: &mut String) {
        let link = match &tb.action {
            Some(Action::Hyperlink(u)) if !self.o.omit_hyperlinks && external_url(u) => {
                Some(u.clone())
            }
            _ => None,
        };
        for p in &tb.paragraphs {
            self.paragraph(p, style, x, link.as_deref(), out);
        }
    }

    fn paragraph(
        &mut self,
        p: &Paragraph,
        style: &BoxStyle,
        x: Len,
        link: Option<&str>,
        out: &mut String,
    ) {
        out.push_str("<w:p><w:pPr>");
        if let Some(bg) = style.background.filter(|c| c.a > 0) {
            let _ = write!(
                out,
                r#"<w:shd w:val="clear" w:color="auto" w:fill="{}"/>"#,
                hex(bg)
            );
        }
        let indent = twips(x + p.left_indent);
        if indent > 0 {
            let _ = write!(out, r#"<w:ind w:left="{indent}"/>"#);
        }
        let jc = match p.align {
            TextAlign::Left => "left",
            TextAlign::Center => "center",
            TextAlign::Right => "right",
        };
        let _ = write!(out, r#"<w:jc w:val="{jc}"/></w:pPr>"#);
        let whole = link.map(|u| self.rel(REL_LINK, u.to_owned(), true));
        if let Some(id) = &whole {
            let _ = write!(out, r#"<w:hyperlink r:id="{id}">"#);
        }
        for r in &p.runs {
            let own = match (&whole, &r.action) {
                (None, Some(Action::Hyperlink(u)))
                    if !self.o.omit_hyperlinks && external_url(u) =>
                {
                    Some(self.rel(REL_LINK, u.clone(), true))
                }
                _ => None,
            };
            if let Some(id) = &own {
                let _ = write!(out, r#"<w:hyperlink r:id="{id}">"#);
            }
            run(r, self.fields, out);
            if own.is_some() {
                out.push_str("</w:hyperlink>");
            }
        }
        if whole.is_some() {
            out.push_str("</w:hyperlink>");
        }
        out.push_str("</w:p>");
    }

    fn image(&mut self, img: &Image, w: Len, h: Len, out: &mut String) {
        let (data, mime): (&[u8], &str) = match &img.source {
            ImageSource::Embedded { data, mime, .. } | ImageSource::Database { data, mime } => {
                (&data[..], mime.as_str())
            }
            ImageSource::External(u) => {
                self.warnings.push(format!(
                    "the external image {u:?} is not embedded in Word output"
                ));
                return;
            }
            ImageSource::Empty => return,
        };
        // a chart or gauge (SVG): drawn as a PNG of the box's size
        let rastered;
        let (data, sizing) = if crate::chartsvg::is_svg(mime) {
            match crate::xlsx::svg_png(data, w, h, self.fonts) {
                Some(p) => {
                    rastered = p;
                    (&rastered[..], Sizing::Fit)
                }
                None => {
                    self.warnings
                        .push("an SVG image (chart) could not be drawn; it was left out".into());
                    return;
                }
            }
        } else {
            (data, img.sizing)
        };
        let Some(ext) = image_ext(data) else {
            self.warnings.push(format!(
                "an image ({mime}) is not a PNG, JPEG, GIF or BMP file; it was left out"
            ));
            return;
        };
        if data.len() > MAX_IMAGE_BYTES {
            self.warnings.push(format!(
                "an image of {} bytes is larger than {MAX_IMAGE_BYTES}; it was left out",
                data.len()
            ));
            return;
        }
        let Ok(x) = rust_xlsxwriter::Image::new_from_buffer(data) else {
            self.warnings
                .push("an image does not decode; it was left out".into());
            return;
        };
        // the image's natural size in micrometres (its DPI, 96 when unset)
        let nat = |px: f64, dpi: f64| {
            let dpi = if dpi > 0.0 { dpi } else { 96.0 };
            px / dpi * 25_400.0
        };
        let (nw, nh) = (
            nat(x.width(), x.width_dpi()),
            nat(x.height(), x.height_dpi()),
        );
        if nw < 1.0 || nh < 1.0 {
            return;
        }
        let (cw, ch) = match sizing {
            Sizing::Fit => (w, h),
            Sizing::FitProportional | Sizing::Clip | Sizing::AutoSize => {
                let s = (w as f64 / nw).min(h as f64 / nh);
                let s = if sizing == Sizing::FitProportional {
                    s
                } else {
                    s.min(1.0)
                };
                ((nw * s).round() as Len, (nh * s).round() as Len)
            }
        };
        self.next_pic += 1;
        let n = self.next_pic;
        let name = format!("image{n}.{ext}");
        let id = self.rel(REL_IMAGE, format!("media/{name}"), false);
        self.media.push((name.clone(), data.to_vec()));
        let (cx, cy) = (emu(cw.max(1)), emu(ch.max(1)));
        let _ = write!(
            out,
            r#"<w:p><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{n}" name="Picture {n}"/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:nvPicPr><pic:cNvPr id="{n}" name="{name}"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="{id}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"#
        );
    }

    fn tablix(
        &mut self,
        item: &Item,
        t: &Tablix,
        x: Len,
        rows: Option<&[usize]>,
        out: &mut String,
    ) {
        let no_rows = t.rows.is_empty()
            || t.row_members
                .iter()
                .all(|mm| mm.dynamic && mm.instances.is_empty());
        // with no rows the NoRowsMessage replaces the grid; without one the header rows
        // still show (as in HTML)
        if no_rows && let Some(msg) = &t.no_rows_message {
            plain_para(msg, out);
            return;
        }
        if t.rows.is_empty() {
            return;
        }
        let ncols = t.columns.len();
        if ncols == 0 {
            return;
        }
        let all: Vec<usize> = (0..t.rows.len()).collect();
        let rows = rows.unwrap_or(&all);
        let visible: Vec<(usize, Len)> = rows
            .iter()
            .filter(|&&r| {
                !matches!(
                    t.rows[r].visibility,
                    Visibility::Hidden | Visibility::ToggleHidden
                )
            })
            .map(|&r| (r, row_height(t, r, self.m)))
            .filter(|(_, h)| *h > 0)
            .collect();
        let total: Len = t.columns.iter().sum();
        let _ = write!(
            out,
            r#"<w:tbl><w:tblPr><w:tblW w:w="{}" w:type="dxa"/>"#,
            twips(total)
        );
        if x > 0 {
            let _ = write!(out, r#"<w:tblInd w:w="{}" w:type="dxa"/>"#, twips(x));
        }
        out.push_str(r#"<w:tblLayout w:type="fixed"/><w:tblCellMar><w:left w:w="0" w:type="dxa"/><w:right w:w="0" w:type="dxa"/></w:tblCellMar></w:tblPr><w:tblGrid>"#);
        for w in &t.columns {
            let _ = write!(out, r#"<w:gridCol w:w="{}"/>"#, twips(*w));
        }
        out.push_str("</w:tblGrid>");
        // leading rows that repeat on each page become Word header rows
        let headers = visible
            .iter()
            .take_while(|(r, _)| t.rows[*r].repeat_on_new_page)
            .count();
        // per starting column: (rows still covered below, columns spanned) of a row span
        let mut merges: Vec<Option<(usize, usize)>> = vec![None; ncols];
        for (pos, &(r, h)) in visible.iter().enumerate() {
            out.push_str("<w:tr><w:trPr>");
            let _ = write!(
                out,
                r#"<w:trHeight w:val="{}" w:hRule="atLeast"/>"#,
                twips(h)
            );
            if pos < headers {
                out.push_str("<w:tblHeader/>");
            }
            out.push_str("</w:trPr>");
            let row = &t.rows[r];
            let mut col = 0;
            while col < ncols {
                if let Some((left, span)) = merges[col] {
                    let span = span.clamp(1, ncols - col);
                    let w: Len = t.columns[col..col + span].iter().sum();
                    let _ = write!(
                        out,
                        r#"<w:tc><w:tcPr><w:tcW w:w="{}" w:type="dxa"/>"#,
                        twips(w)
                    );
                    if span > 1 {
                        let _ = write!(out, r#"<w:gridSpan w:val="{span}"/>"#);
                    }
                    out.push_str("<w:vMerge/></w:tcPr><w:p/></w:tc>");
                    merges[col] = if left > 1 {
                        Some((left - 1, span))
                    } else {
                        None
                    };
                    col += span;
                    continue;
                }
                let Some(cell) = row.cells.iter().find(|c| c.col == col) else {
                    let w = t.columns[col];
                    let _ = write!(
                        out,
                        r#"<w:tc><w:tcPr><w:tcW w:w="{}" w:type="dxa"/></w:tcPr><w:p/></w:tc>"#,
                        twips(w)
                    );
                    col += 1;
                    continue;
                };
                let span = cell.colspan.clamp(1, ncols - col);
                let rspan = visible[pos..]
                    .iter()
                    .take_while(|(x, _)| *x < r + cell.rowspan)
                    .count()
                    .max(1);
                let w: Len = t.columns[col..col + span].iter().sum();
                let _ = write!(
                    out,
                    r#"<w:tc><w:tcPr><w:tcW w:w="{}" w:type="dxa"/>"#,
                    twips(w)
                );
                if span > 1 {
                    let _ = write!(out, r#"<w:gridSpan w:val="{span}"/>"#);
                }
                if rspan > 1 {
                    out.push_str(r#"<w:vMerge w:val="restart"/>"#);
                    merges[col] = Some((rspan - 1, span));
                }
                let style = cell.item.as_ref().map(|i| &i.style).unwrap_or(&item.style);
                cell_style(style, out);
                out.push_str("</w:tcPr>");
                let mut inner = String::new();
                if let Some(ci) = &cell.item {
                    self.item(ci, 0, true, None, &mut inner);
                }
                if !inner.ends_with("</w:p>") && !inner.ends_with("<w:p/>") {
                    inner.push_str("<w:p/>");
                }
                out.push_str(&inner);
                out.push_str("</w:tc>");
                col += span;
            }
            out.push_str("</w:tr>");
        }
        out.push_str("</w:tbl>");
        // two tables in a row would merge into one: keep them apart
        out.push_str("<w:p/>");
    }
}

fn external_url(u: &str) -> bool {
    let l = u.trim().to_ascii_lowercase();
    safe_url(u)
        && (l.starts_with("http://") || l.starts_with("https://") || l.starts_with("mailto:"))
}

fn image_ext(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        Some("gif")
    } else if data.starts_with(b"BM") {
        Some("bmp")
    } else {
        None
    }
}

fn hex(c: Color) -> String {
    format!("{:02X}{:02X}{:02X}", c.r, c.g, c.b)
}

fn plain_para(text: &str, out: &mut String) {
    out.push_str(r#"<w:p><w:r><w:t xml:space="preserve">"#);
    esc(text, out);
    out.push_str("</w:t></w:r></w:p>");
}

fn run_props(s: &TextStyle, out: &mut String) {
    let f = e(&s.font_family);
    let _ = write!(
        out,
        r#"<w:rPr><w:rFonts w:ascii="{f}" w:hAnsi="{f}" w:cs="{f}" w:eastAsia="{f}"/>"#
    );
    if s.font_weight >= 600 {
        out.push_str("<w:b/>");
    }
    if s.italic {
        out.push_str("<w:i/>");
    }
    if s.line_through {
        out.push_str("<w:strike/>");
    }
    if s.color != Color::BLACK {
        let _ = write!(out, r#"<w:color w:val="{}"/>"#, hex(s.color));
    }
    // half-points
    let hp = (engine::instance::to_pt(s.font_size) * 2.0)
        .round()
        .clamp(2.0, 3276.0) as i64;
    let _ = write!(out, r#"<w:sz w:val="{hp}"/><w:szCs w:val="{hp}"/>"#);
    if s.underline {
        out.push_str(r#"<w:u w:val="single"/>"#);
    }
    out.push_str("</w:rPr>");
}

/// Page numbers that no report prints: a header/footer evaluated with them shows where
/// `Globals!PageNumber` / `TotalPages` went, and those places become Word's `PAGE` and
/// `NUMPAGES` fields (Word numbers the pages it lays out).
pub(crate) const PAGE_MARK: u32 = 91_827_364;
pub(crate) const PAGES_MARK: u32 = 91_827_365;

/// A header/footer's items evaluated on `page` with the page numbers replaced by the marks.
pub(crate) fn with_page_fields(sec: &PageSection, page: &Page<'_>) -> Vec<Item> {
    let mut report_items = Vec::new();
    for p in &page.body {
        textbox_values(std::slice::from_ref(p.item), &mut report_items);
    }
    sec.items.evaluate(&PageContext {
        page_number: PAGE_MARK,
        total_pages: PAGES_MARK,
        overall_page_number: PAGE_MARK,
        overall_total_pages: PAGES_MARK,
        page_name: page.name.clone(),
        report_items,
    })
}

/// `ReportItems` of a page: its textboxes' values in order (bounded).
fn textbox_values(items: &[Item], out: &mut Vec<(String, rdl::Value)>) {
    for it in items {
        if out.len() >= 100_000 {
            return;
        }
        match &it.kind {
            ItemKind::Textbox(tb) => out.push((it.name.to_string(), tb.value.clone())),
            ItemKind::Rectangle(c) => textbox_values(c, out),
            ItemKind::Tablix(t) => {
                for r in &t.rows {
                    for c in &r.cells {
                        if let Some(ci) = &c.item {
                            textbox_values(std::slice::from_ref(ci), out);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// A run; with `fields` (headers and footers) the page-number marks become fields.
fn run(r: &Run, fields: bool, out: &mut String) {
    if r.text.is_empty() {
        return;
    }
    let (page, pages) = (PAGE_MARK.to_string(), PAGES_MARK.to_string());
    if fields
        && let Some((at, mark)) = [&page, &pages]
            .iter()
            .filter_map(|m| r.text.find(m.as_str()).map(|i| (i, *m)))
            .min()
    {
        // text before, the field, the rest (which may hold another mark)
        let piece = |text: &str| Run {
            text: text.to_owned(),
            ..r.clone()
        };
        run(&piece(&r.text[..at]), fields, out);
        let instr = if *mark == page { "PAGE" } else { "NUMPAGES" };
        let _ = write!(out, r#"<w:fldSimple w:instr=" {instr} "><w:r>"#);
        run_props(&r.style, out);
        out.push_str("<w:t>1</w:t></w:r></w:fldSimple>");
        run(&piece(&r.text[at + mark.len()..]), fields, out);
        return;
    }
    out.push_str("<w:r>");
    run_props(&r.style, out);
    for (i, line) in r.text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("<w:br/>");
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        for (j, part) in line.split('\t').enumerate() {
            if j > 0 {
                out.push_str("<w:tab/>");
            }
            if !part.is_empty() {
                out.push_str(r#"<w:t xml:space="preserve">"#);
                esc(part, out);
                out.push_str("</w:t>");
            }
        }
    }
    out.push_str("</w:r>");
}

fn border_el(side: &str, b: &Border, out: &mut String) {
    let val = match b.style {
        BorderStyle::None => "nil",
        BorderStyle::Solid => "single",
        BorderStyle::Dotted => "dotted",
        BorderStyle::Dashed => "dashed",
        BorderStyle::Double => "double",
    };
    // eighths of a point, 2..96
    let sz = (engine::instance::to_pt(b.width) * 8.0)
        .round()
        .clamp(2.0, 96.0) as i64;
    let _ = write!(
        out,
        r#"<w:{side} w:val="{val}" w:sz="{sz}" w:space="0" w:color="{}"/>"#,
        hex(b.color)
    );
}

fn cell_style(s: &BoxStyle, out: &mut String) {
    if s.borders.iter().any(|b| b.style != BorderStyle::None) {
        out.push_str("<w:tcBorders>");
        for (i, side) in [(0, "top"), (3, "left"), (2, "bottom"), (1, "right")] {
            border_el(side, &s.borders[i], out);
        }
        out.push_str("</w:tcBorders>");
    }
    if let Some(bg) = s.background.filter(|c| c.a > 0) {
        let _ = write!(
            out,
            r#"<w:shd w:val="clear" w:color="auto" w:fill="{}"/>"#,
            hex(bg)
        );
    }
    let va = match s.vertical_align {
        VerticalAlign::Top => "top",
        VerticalAlign::Middle => "center",
        VerticalAlign::Bottom => "bottom",
    };
    let _ = write!(out, r#"<w:vAlign w:val="{va}"/>"#);
}

/// A header or footer part's XML from its items.
fn band_part(doc: &mut Doc<'_>, root: &str, items: &[Item]) -> String {
    let mut body = String::new();
    doc.fields = true;
    doc.items(items, 0, false, &mut body);
    doc.fields = false;
    if !body.ends_with("</w:p>") && !body.ends_with("<w:p/>") {
        body.push_str("<w:p/>");
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:{root} {NS}>{body}</w:{root}>"#
    )
}

fn sect_pr(
    p: &PageSettings,
    header: Option<(&str, Len, bool)>,
    footer: Option<(&str, Len, bool)>,
    out: &mut String,
) {
    out.push_str("<w:sectPr>");
    if let Some((id, _, _)) = header {
        let _ = write!(out, r#"<w:headerReference w:type="default" r:id="{id}"/>"#);
    }
    if let Some((id, _, _)) = footer {
        let _ = write!(out, r#"<w:footerReference w:type="default" r:id="{id}"/>"#);
    }
    let (w, h) = (twips(p.width).max(1440), twips(p.height).max(1440));
    let orient = if w > h {
        r#" w:orient="landscape""#
    } else {
        ""
    };
    let _ = write!(out, r#"<w:pgSz w:w="{w}" w:h="{h}"{orient}/>"#);
    let [t, r, b, l] = p.margins;
    let hh = header.map(|x| x.1).unwrap_or(0);
    let fh = footer.map(|x| x.1).unwrap_or(0);
    let _ = write!(
        out,
        r#"<w:pgMar w:top="{}" w:right="{}" w:bottom="{}" w:left="{}" w:header="{}" w:footer="{}" w:gutter="0"/>"#,
        twips(t + hh),
        twips(r),
        twips(b + fh),
        twips(l),
        twips(t),
        twips(b)
    );
    // the header is not on the first page unless PrintOnFirstPage
    if header.is_some_and(|x| !x.2) || footer.is_some_and(|x| !x.2) {
        out.push_str("<w:titlePg/>");
    }
    out.push_str("</w:sectPr>");
}

/// Renders `inst` as a DOCX document into `w`.
pub fn render<W: Write>(
    inst: &Instance,
    o: &DocxOptions,
    m: &dyn TextMeasurer,
    w: &mut W,
) -> Result<OfficeSummary, RenderError> {
    render_with_fonts(inst, o, None, m, w)
}

/// [`render`] with the fonts charts and gauges set their text in (they are SVG, drawn into
/// the document as PNG pictures; without fonts their text is left out).
pub fn render_with_fonts<W: Write>(
    inst: &Instance,
    o: &DocxOptions,
    fonts: Option<&fonts::FontRegistry>,
    m: &dyn TextMeasurer,
    w: &mut W,
) -> Result<OfficeSummary, RenderError> {
    let pages = paginate(inst, SoftPageOptions { height: Some(0) }, m);
    let mut doc = Doc {
        o,
        m,
        rels: Vec::new(),
        media: Vec::new(),
        parts: Vec::new(),
        next_pic: 0,
        warnings: Vec::new(),
        fields: false,
        fonts,
    };
    doc.rel(REL_STYLES, "styles.xml".into(), false);
    // document.xml is deflated as it grows: memory holds about one chunk of it, not all
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let (deflate, _) = zip_options();
    z.start_file("word/document.xml", deflate).map_err(zerr)?;
    let mut body = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {NS}><w:body>"#
    );
    let nsections = inst.sections.len();
    for (si, section) in inst.sections.iter().enumerate() {
        let sp: Vec<&Page<'_>> = pages.iter().filter(|p| p.section == si).collect();
        for (pi, page) in sp.iter().enumerate() {
            if pi > 0 {
                body.push_str(r#"<w:p><w:r><w:br w:type="page"/></w:r></w:p>"#);
            }
            for placed in &page.body {
                let it = placed.item;
                doc.item(it, it.left, false, placed.rows.as_deref(), &mut body);
                if body.len() >= CHUNK {
                    z.write_all(body.as_bytes())?;
                    body.clear();
                }
            }
        }
        let mut header = None;
        if let Some(h) = &section.header
            && let Some(page) = sp.iter().find(|p| p.header.is_some())
        {
            let n = doc.parts.len() + 1;
            let items = with_page_fields(h, page);
            let xml = band_part(&mut doc, "hdr", &items);
            doc.parts
                .push((format!("word/header{n}.xml"), xml, "header"));
            let id = doc.rel(REL_HEADER, format!("header{n}.xml"), false);
            header = Some((id, h.height, h.print_on_first_page));
        }
        let mut footer = None;
        if let Some(f) = &section.footer
            && let Some(page) = sp.iter().find(|p| p.footer.is_some())
        {
            let n = doc.parts.len() + 1;
            let items = with_page_fields(f, page);
            let xml = band_part(&mut doc, "ftr", &items);
            doc.parts
                .push((format!("word/footer{n}.xml"), xml, "footer"));
            let id = doc.rel(REL_FOOTER, format!("footer{n}.xml"), false);
            footer = Some((id, f.height, f.print_on_first_page));
        }
        let hdr = header.as_ref().map(|(id, h, f)| (id.as_str(), *h, *f));
        let ftr = footer.as_ref().map(|(id, h, f)| (id.as_str(), *h, *f));
        if si + 1 < nsections {
            body.push_str("<w:p><w:pPr>");
            sect_pr(&section.page, hdr, ftr, &mut body);
            body.push_str("</w:pPr></w:p>");
        } else {
            sect_pr(&section.page, hdr, ftr, &mut body);
        }
    }
    if inst.sections.is_empty() {
        sect_pr(&PageSettings::default(), None, None, &mut body);
    }
    body.push_str("</w:body></w:document>");
    z.write_all(body.as_bytes())?;
    drop(body);
    let bytes = package(inst, &doc, z).map_err(zerr)?;
    w.write_all(&bytes)?;
    w.flush()?;
    Ok(OfficeSummary {
        pages: pages.len() as u32,
        warnings: doc.warnings,
    })
}

/// Bytes of document.xml held before they go to the compressor.
const CHUNK: usize = 1 << 20;

fn zerr(e: zip::result::ZipError) -> RenderError {
    RenderError::Office {
        format: "DOCX",
        message: e.to_string(),
    }
}

/// Deflated and stored entries, with a fixed timestamp (1980-01-01): the same report gives
/// the same bytes.
fn zip_options() -> (zip::write::SimpleFileOptions, zip::write::SimpleFileOptions) {
    let base =
        zip::write::SimpleFileOptions::default().last_modified_time(zip::DateTime::default());
    (
        base.compression_method(zip::CompressionMethod::Deflated),
        base.compression_method(zip::CompressionMethod::Stored),
    )
}

/// The package's other parts after document.xml, then the central directory.
fn package(
    inst: &Instance,
    doc: &Doc<'_>,
    mut z: zip::ZipWriter<Cursor<Vec<u8>>>,
) -> zip::result::ZipResult<Vec<u8>> {
    let (deflate, stored) = zip_options();
    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/><Default Extension="jpeg" ContentType="image/jpeg"/><Default Extension="gif" ContentType="image/gif"/><Default Extension="bmp" ContentType="image/bmp"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>"#,
    );
    for (name, _, kind) in &doc.parts {
        let _ = write!(
            types,
            r#"<Override PartName="/{name}" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.{kind}+xml"/>"#
        );
    }
    types.push_str("</Types>");
    z.start_file("[Content_Types].xml", deflate)?;
    z.write_all(types.as_bytes())?;
    z.start_file("_rels/.rels", deflate)?;
    z.write_all(
        br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>"#,
    )?;
    let t = &inst.execution_time;
    let created = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let core = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{}</dc:title><dc:creator>{}</dc:creator><dc:description>{}</dc:description><dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created></cp:coreProperties>"#,
        e(&inst.name),
        e(&inst.author),
        e(&inst.description)
    );
    z.start_file("docProps/core.xml", deflate)?;
    z.write_all(core.as_bytes())?;
    z.start_file("word/styles.xml", deflate)?;
    z.write_all(STYLES.as_bytes())?;
    for (name, xml, _) in &doc.parts {
        z.start_file(name.as_str(), deflate)?;
        z.write_all(xml.as_bytes())?;
    }
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    for (i, r) in doc.rels.iter().enumerate() {
        let mode = if r.external {
            r#" TargetMode="External""#
        } else {
            ""
        };
        let _ = write!(
            rels,
            r#"<Relationship Id="rId{}" Type="{}" Target="{}"{mode}/>"#,
            i + 1,
            r.kind,
            e(&r.target)
        );
    }
    rels.push_str("</Relationships>");
    z.start_file("word/_rels/document.xml.rels", deflate)?;
    z.write_all(rels.as_bytes())?;
    for (name, data) in &doc.media {
        // images are compressed already
        z.start_file(format!("word/media/{name}"), stored)?;
        z.write_all(data)?;
    }
    Ok(z.finish()?.into_inner())
}

/// Document defaults: RDL's Arial 10pt, no space between paragraphs.
const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:cs="Arial" w:eastAsia="Arial"/><w:sz w:val="20"/><w:szCs w:val="20"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style><w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="0" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="0" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style></w:styles>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_drops_invalid_characters() {
        assert_eq!(e("a<b>&\"c\u{1}d"), "a&lt;b&gt;&amp;&quot;cd");
    }

    #[test]
    fn units() {
        assert_eq!(twips(25_400), 1440);
        assert_eq!(emu(25_400), 914_400);
    }
}
