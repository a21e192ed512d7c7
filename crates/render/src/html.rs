//! HTML5 (`rs:Format=HTML5`, the default and the viewer's fragment; design note §2.6).
//!
//! Owns: the full page and the fragment (`HTMLFragment`, `PrefixId`), soft pages
//! (`Section=N`, 0 = all; page height from `InteractiveHeight` or the caller), absolute
//! positioning in millimetres inside relatively positioned containers, real `<table>`s for
//! tablixes, the CSS (every style is a class in one style sheet: the server's CSP allows no
//! inline `style` attributes, so the sheet goes into `<style nonce=…>` or is served
//! separately, [`stylesheet`] + `StyleStream`), links (hyperlinks only to http/https/mailto or
//! relative URLs, drillthrough to the server, bookmarks as anchors), drilldown toggles and
//! interactive sort as plain links back to the server (they work with scripts off).
//! Must not: write anything from the report unescaped; CSS only ever contains numbers,
//! validated colours and validated font names.
//!
//! Streaming: one page is written as it is made, flushed to the writer every
//! [`FLUSH_AT`] bytes at a row or page boundary. The first flush writes the head with the
//! classes seen so far; a class first used after it is written in a `<style>` element of its
//! own just before the part that uses it (a report smaller than [`FLUSH_AT`] has all its CSS in
//! the head). The detail rows of a streamed tablix ([`engine::instance::Tablix::streamed`])
//! are bound one at a time while they are written, in order, and the output is the same bytes
//! as the tree's (`tests/html_stream.rs`); [`needs_tree`] says when an instance must be
//! materialized first.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

use engine::instance::{
    Action, BorderStyle, BoxStyle, Color, GridRow, ImageSource, Instance, Item, ItemKind, Len,
    StreamedDetails, Tablix, TextAlign, TextStyle, Textbox, VerticalAlign, Visibility, to_pt,
};
use engine::page::{
    Page, Placed, SoftPageOptions, TextMeasurer, grid_rows, layout_children, paginate,
    paginates_streamed, streamed_row_height,
};

use crate::{DeviceInfo, RenderError, safe_url};

/// HTML settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HtmlOptions {
    /// Only the report's content (no `html`/`head`/`body`), for embedding.
    pub fragment: bool,
    /// Prefix for every `id` and class (`PrefixId`; letters, digits, `_`, `-`).
    pub prefix: String,
    /// Soft page to render (1-based); 0 = all pages.
    pub section: u32,
    /// Soft page height override (`None` = the report's `InteractiveHeight`, `Some(0)` = one
    /// page).
    pub page_height: Option<Len>,
    /// Nonce for the `<style>` element (the server's CSP `style-src 'nonce-…'`).
    pub nonce: Option<String>,
    /// `StyleStream`: link this style sheet URL instead of embedding the CSS.
    pub stylesheet_href: Option<String>,
    /// URL of this rendering, for toggle and sort links (`…&rs:ShowHideToggle=id`); `None`
    /// draws toggles without links.
    pub self_url: Option<String>,
    /// Prefix of drillthrough links: the target's path is appended, then its parameters
    /// (`?`-terminated prefix ⇒ `prefix/Path&p=v`, else `prefix/Path?p=v`).
    pub drillthrough_prefix: String,
    /// Prefix for embedded image URLs (`…name`); `None` embeds them as `data:` URIs.
    pub image_prefix: Option<String>,
    /// `LinkTarget` for hyperlinks (`_blank`, `_self`, `_parent`, `_top` or a frame name).
    pub link_target: Option<String>,
}

impl HtmlOptions {
    /// Parses the device information (`HTMLFragment`, `PrefixId`, `Section`, `StyleStream`,
    /// `LinkTarget`; viewer options `Toolbar`, `Parameters`, `JavaScript`, `DocMap`,
    /// `FindString`, `Zoom` are accepted and left to the server).
    pub fn from_device_info(d: &DeviceInfo) -> Result<HtmlOptions, RenderError> {
        let mut o = HtmlOptions {
            fragment: d.bool("HTMLFragment", false)?,
            section: d.uint("Section", 1)?,
            drillthrough_prefix: "?".into(),
            ..HtmlOptions::default()
        };
        if let Some(p) = d.get("PrefixId") {
            if !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(RenderError::DeviceInfo {
                    setting: "PrefixId",
                    problem: format!("{p:?} may contain only letters, digits, '_' and '-'"),
                });
            }
            o.prefix = p.to_owned();
        }
        if let Some(t) = d.get("LinkTarget") {
            if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(RenderError::DeviceInfo {
                    setting: "LinkTarget",
                    problem: format!("{t:?}: use _blank, _self, _parent, _top or a frame name"),
                });
            }
            o.link_target = Some(t.to_owned());
        }
        for b in [
            "Toolbar",
            "Parameters",
            "JavaScript",
            "DocMap",
            "StyleStream",
        ] {
            d.bool(b, false)?;
        }
        Ok(o)
    }
}

/// The bytes [`escape`] changes: markup characters and the control characters it drops (a
/// table: one load a byte for the text that needs nothing, nearly every value).
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b != b'\n' as usize && b != b'\t' as usize;
        b += 1;
    }
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'&' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t
};

/// HTML-escapes text and attribute values.
pub fn escape(s: &str, out: &mut String) {
    if !s.bytes().any(|b| SPECIAL[usize::from(b)]) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    escape(s, &mut o);
    o
}

/// A `[A-Za-z0-9_-]` id from any text (other characters as `_xHH`).
fn id_part(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            o.push(c);
        } else {
            let _ = write!(o, "_{:x}", c as u32);
        }
    }
    o
}

fn url_component(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn font_stack(family: &str) -> String {
    let clean: String = family
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .collect();
    let clean = clean.trim();
    match clean.to_ascii_lowercase().as_str() {
        "" | "arial" => "Arial,\"Liberation Sans\",Helvetica,sans-serif".into(),
        "segoe ui" => "\"Segoe UI\",\"DejaVu Sans\",sans-serif".into(),
        "times new roman" => "\"Times New Roman\",\"Liberation Serif\",serif".into(),
        "courier new" => "\"Courier New\",\"Liberation Mono\",monospace".into(),
        "calibri" => "Calibri,Carlito,sans-serif".into(),
        "cambria" => "Cambria,Caladea,serif".into(),
        _ => format!("\"{clean}\",sans-serif"),
    }
}

fn mm(l: Len) -> String {
    format!("{:.2}mm", l as f64 / 1000.0)
}

/// The style sheet: declarations deduplicated into classes.
#[derive(Default)]
struct Css {
    classes: HashMap<String, usize>,
    order: Vec<String>,
}

impl Css {
    fn class(&mut self, prefix: &str, decl: String) -> String {
        let n = self.number(decl);
        format!("{prefix}r{n}")
    }

    /// The number of a declaration's class (`r<n>`), new ones numbered in first-seen order.
    fn number(&mut self, decl: String) -> usize {
        if let Some(&n) = self.classes.get(&decl) {
            return n;
        }
        let n = self.order.len();
        self.order.push(decl.clone());
        self.classes.insert(decl, n);
        n
    }

    fn sheet(&self, prefix: &str) -> String {
        let mut s = String::new();
        let p = prefix;
        let _ = writeln!(
            s,
            ".{p}rpt{{position:relative}}.{p}pg{{position:relative;margin:0 0 8mm 0}}\
             .{p}abs{{position:absolute;box-sizing:border-box;overflow:hidden}}\
             .{p}tbl{{border-collapse:collapse;table-layout:fixed}}\
             .{p}tbl td{{padding:0;vertical-align:top;box-sizing:border-box}}\
             .{p}tb{{display:flex;flex-direction:column;box-sizing:border-box;width:100%;height:100%;overflow:hidden}}\
             .{p}para{{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}}\
             .{p}tg,.{p}srt{{text-decoration:none;margin-right:1mm}}\
             .{p}ph{{display:flex;align-items:center;justify-content:center;border:1px dashed #888;color:#555;box-sizing:border-box}}"
        );
        self.classes_from(prefix, 0, &mut s);
        s
    }

    /// The rules of the classes from number `from` on.
    fn classes_from(&self, p: &str, from: usize, s: &mut String) {
        for (i, decl) in self.order.iter().enumerate().skip(from) {
            let _ = writeln!(s, ".{p}r{i}{{{decl}}}");
        }
    }
}

/// Bytes of a one-page render held before they are written (at a row or page boundary).
pub const FLUSH_AT: usize = 64 * 1024;

fn color(c: Color) -> String {
    c.hex()
}

fn box_decl(b: &BoxStyle, with_padding: bool) -> String {
    let mut d = String::new();
    for (side, border) in ["top", "right", "bottom", "left"]
        .iter()
        .zip(b.borders.iter())
    {
        let style = match border.style {
            BorderStyle::None => continue,
            BorderStyle::Solid => "solid",
            BorderStyle::Dotted => "dotted",
            BorderStyle::Dashed => "dashed",
            BorderStyle::Double => "double",
        };
        let _ = write!(
            d,
            "border-{side}:{:.2}pt {style} {};",
            to_pt(border.width).max(0.25),
            color(border.color)
        );
    }
    if let Some(bg) = b.background {
        let _ = write!(d, "background-color:{};", color(bg));
    }
    if with_padding {
        let _ = write!(
            d,
            "padding:{} {} {} {};",
            mm(b.padding[0]),
            mm(b.padding[1]),
            mm(b.padding[2]),
            mm(b.padding[3])
        );
    }
    d
}

fn text_decl(t: &TextStyle) -> String {
    let mut d = format!(
        "font-family:{};font-size:{:.2}pt;color:{};",
        font_stack(&t.font_family),
        to_pt(t.font_size),
        color(t.color)
    );
    if t.font_weight != 400 {
        let _ = write!(d, "font-weight:{};", t.font_weight.clamp(100, 900));
    }
    if t.italic {
        d.push_str("font-style:italic;");
    }
    match (t.underline, t.line_through) {
        (true, true) => d.push_str("text-decoration:underline line-through;"),
        (true, false) => d.push_str("text-decoration:underline;"),
        (false, true) => d.push_str("text-decoration:line-through;"),
        _ => {}
    }
    d
}

/// Class names already looked up for a style, so a cell's classes are found by comparing
/// plain values instead of rebuilding (and hashing) their CSS text. Bounded: past
/// [`MEMO_MAX`] entries a style is looked up the slow way (same result, only slower).
#[derive(Default)]
struct Memo {
    boxes: Vec<(BoxStyle, usize)>,
    texts: Vec<(TextStyle, usize)>,
    paras: Vec<((u8, Len), usize)>,
    cells: Vec<((Len, Len), usize)>,
    heights: Vec<(Len, usize)>,
}

/// Writes the class `r<n>` (with the prefix) into `out`. Four of these a table cell: the
/// few bytes are pushed one by one (no copy call, no UTF-8 check; the prefix is mostly empty).
fn push_class(out: &mut String, prefix: &str, n: usize) {
    if !prefix.is_empty() {
        out.push_str(prefix);
    }
    out.push('r');
    push_uint(out, n);
}

fn push_uint(out: &mut String, n: usize) {
    if n < 10 {
        out.push(char::from(b'0' + n as u8));
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &buf[i..] {
        out.push(char::from(d));
    }
}

/// Looks `key` up in a memo table, or makes its class with `make` (kept while the table has
/// room).
fn memo<K: PartialEq + Clone>(
    table: &mut Vec<(K, usize)>,
    key: &K,
    make: impl FnOnce() -> usize,
) -> usize {
    if let Some((_, n)) = table.iter().find(|(k, _)| k == key) {
        return *n;
    }
    let n = make();
    if table.len() < MEMO_MAX {
        table.push((key.clone(), n));
    }
    n
}

/// Entries per [`Memo`] table.
const MEMO_MAX: usize = 256;

struct Ctx<'o> {
    o: &'o HtmlOptions,
    css: Css,
    memo: Memo,
    out: String,
    /// Pass 1 only collects CSS; pass 2 writes.
    writing: bool,
    m: &'o dyn TextMeasurer,
    /// Where `out` is flushed to (`None`: it is only collected).
    sink: Option<&'o mut dyn Write>,
    /// The document head around its style sheet, until the first flush writes it.
    head: Option<(String, String)>,
    /// Classes whose rules are written.
    emitted: usize,
    /// The first error of a flush or of binding a streamed row: nothing more is written.
    err: Option<RenderError>,
    /// The next streamed row to bind (they are bound in order).
    cursor: usize,
    /// The height of every streamed row ([`streamed_row_height`], found before any is bound).
    streamed_h: Len,
    /// The last streamed row bound: the next is bound into it
    /// ([`engine::instance::DetailRows::row_into`]: a row of plain cells keeps its
    /// allocations, only its values change).
    streamed: GridRow,
}

impl<'o> Ctx<'o> {
    fn new(o: &'o HtmlOptions, m: &'o dyn TextMeasurer, writing: bool) -> Ctx<'o> {
        Ctx {
            o,
            css: Css::default(),
            memo: Memo::default(),
            out: String::new(),
            writing,
            m,
            sink: None,
            head: None,
            emitted: 0,
            err: None,
            cursor: 0,
            streamed_h: 0,
            streamed: GridRow::default(),
        }
    }

    /// Writes `out` to the sink: the head with the style sheet first, or the rules of the
    /// classes `out` is the first to use.
    fn flush(&mut self) {
        let Some(w) = self.sink.as_mut() else { return };
        if self.err.is_some() {
            self.out.clear();
            return;
        }
        let mut pre = String::new();
        let nonce = || {
            self.o
                .nonce
                .as_ref()
                .map(|n| format!(" nonce=\"{}\"", esc(n)))
                .unwrap_or_default()
        };
        if let Some((open, close)) = self.head.take() {
            pre = open;
            if self.o.stylesheet_href.is_none() {
                let _ = write!(
                    pre,
                    "<style{}>{}</style>",
                    nonce(),
                    self.css.sheet(&self.o.prefix)
                );
            }
            pre.push_str(&close);
        } else if self.css.order.len() > self.emitted && self.o.stylesheet_href.is_none() {
            let _ = write!(pre, "<style{}>", nonce());
            self.css
                .classes_from(&self.o.prefix, self.emitted, &mut pre);
            pre.push_str("</style>");
        }
        self.emitted = self.css.order.len();
        let r = w
            .write_all(pre.as_bytes())
            .and_then(|_| w.write_all(self.out.as_bytes()));
        if let Err(e) = r {
            self.err = Some(e.into());
        }
        self.out.clear();
    }

    /// Flushes when enough is held (at a row or page boundary).
    fn boundary(&mut self) {
        if self.writing && self.sink.is_some() && self.out.len() >= FLUSH_AT {
            self.flush();
        }
    }

    /// Binds streamed row `i` (and the rows before it not bound yet in this pass) into `row`,
    /// which holds the row bound before it; false on an error (kept in `err`).
    fn streamed_row(&mut self, s: &StreamedDetails, i: usize, row: &mut GridRow) -> bool {
        if self.err.is_some() {
            return false;
        }
        if i < self.cursor {
            // a new pass over the rows starts again at row 0
            self.cursor = 0;
        }
        while self.cursor <= i {
            if let Err(e) = s.rows.row_into(self.cursor, row) {
                self.err = Some(e.into());
                return false;
            }
            self.cursor += 1;
        }
        true
    }

    fn class(&mut self, decl: String) -> String {
        self.css.class(&self.o.prefix, decl)
    }

    /// The class of a textbox's box style.
    fn textbox_class(&mut self, b: &BoxStyle) -> usize {
        let css = &mut self.css;
        memo(&mut self.memo.boxes, b, || {
            let valign = match b.vertical_align {
                VerticalAlign::Top => "flex-start",
                VerticalAlign::Middle => "center",
                VerticalAlign::Bottom => "flex-end",
            };
            css.number(box_decl(b, true) + &format!("justify-content:{valign};"))
        })
    }

    /// The class of a run's text style.
    fn text_class(&mut self, t: &TextStyle) -> usize {
        let css = &mut self.css;
        memo(&mut self.memo.texts, t, || css.number(text_decl(t)))
    }

    /// The class of a paragraph's alignment and indent.
    fn para_class(&mut self, align: TextAlign, indent: Len) -> usize {
        let css = &mut self.css;
        memo(&mut self.memo.paras, &(align as u8, indent), || {
            let a = match align {
                TextAlign::Left => "left",
                TextAlign::Center => "center",
                TextAlign::Right => "right",
            };
            css.number(format!("text-align:{a};padding-left:{};", mm(indent)))
        })
    }

    /// The class of a table cell's box (width, height).
    fn cell_class(&mut self, w: Len, h: Len) -> usize {
        let css = &mut self.css;
        memo(&mut self.memo.cells, &(w, h), || {
            css.number(format!("width:{};height:{};", mm(w), mm(h)))
        })
    }

    /// The class of a table row's height.
    fn row_class(&mut self, h: Len) -> usize {
        let css = &mut self.css;
        memo(&mut self.memo.heights, &h, || {
            css.number(format!("height:{};", mm(h)))
        })
    }

    fn push(&mut self, s: &str) {
        if self.writing {
            self.out.push_str(s);
        }
    }

    fn action_href(&self, a: &Action) -> Option<String> {
        match a {
            Action::Hyperlink(u) => safe_url(u).then(|| u.clone()),
            Action::BookmarkLink(b) => Some(format!("#{}bm_{}", self.o.prefix, id_part(b))),
            Action::Drillthrough { report, params } => {
                let path: String = report
                    .split('/')
                    .map(url_component)
                    .collect::<Vec<_>>()
                    .join("/");
                let prefix = &self.o.drillthrough_prefix;
                let mut u = format!("{prefix}{path}");
                let mut sep = if prefix.ends_with('?') { '&' } else { '?' };
                for (k, v) in params {
                    let _ = write!(u, "{sep}{}={}", url_component(k), url_component(v));
                    sep = '&';
                }
                Some(u)
            }
        }
    }

    fn open_link(&mut self, a: &Action) -> bool {
        let Some(href) = self.action_href(a) else {
            return false;
        };
        let target = match (a, &self.o.link_target) {
            (Action::Hyperlink(_), Some(t)) => format!(" target=\"{}\"", esc(t)),
            _ => String::new(),
        };
        let rel = if matches!(a, Action::Hyperlink(_)) {
            " rel=\"noopener noreferrer\""
        } else {
            ""
        };
        self.push(&format!("<a href=\"{}\"{target}{rel}>", esc(&href)));
        true
    }

    fn self_link(&self, param: &str) -> Option<String> {
        let base = self.o.self_url.as_ref()?;
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(format!("{base}{sep}{param}"))
    }

    /// An item positioned absolutely at (top, left) with its laid-out height.
    fn positioned(&mut self, item: &Item, top: Len, height: Len) {
        if !item.visibility.is_visible() {
            return;
        }
        let pos = self.class(format!(
            "top:{};left:{};width:{};height:{};",
            mm(top),
            mm(item.left),
            mm(item.width),
            mm(height)
        ));
        self.push(&format!("<div class=\"{}abs {pos}\"", self.o.prefix));
        self.bookmark(item);
        self.push(">");
        self.item_body(item, None);
        self.push("</div>");
    }

    fn bookmark(&mut self, item: &Item) {
        if let Some(b) = &item.bookmark {
            let id = format!(" id=\"{}bm_{}\"", self.o.prefix, id_part(b));
            self.push(&id);
        }
    }

    /// The inside of an item (its box fills the container). `rows` limits a tablix.
    fn item_body(&mut self, item: &Item, rows: Option<&[usize]>) {
        match &item.kind {
            ItemKind::Textbox(tb) => self.textbox(item, tb),
            ItemKind::Rectangle(children) => {
                let cls = self.class(
                    box_decl(&item.style, false)
                        + "position:relative;width:100%;height:100%;box-sizing:border-box;",
                );
                self.push(&format!("<div class=\"{cls}\">"));
                let (layout, _) = layout_children(children, self.m);
                for (c, (top, h)) in children.iter().zip(layout) {
                    self.positioned(c, top, h);
                }
                self.push("</div>");
            }
            ItemKind::Line { border } => {
                let cls = if item.height == 0 || item.width == 0 {
                    let side = if item.height == 0 { "top" } else { "left" };
                    self.class(format!(
                        "border-{side}:{:.2}pt solid {};width:100%;height:100%;box-sizing:border-box;",
                        to_pt(border.width).max(0.25),
                        color(border.color)
                    ))
                } else {
                    self.class(format!(
                        "background:linear-gradient(to bottom right,transparent calc(50% - 0.5px),{} 50%,transparent calc(50% + 0.5px));width:100%;height:100%;",
                        color(border.color)
                    ))
                };
                self.push(&format!("<div class=\"{cls}\"></div>"));
            }
            // charts and gauges: their SVG inline (written by the chart crate, escaped there)
            ItemKind::Image(img) if img.chart.is_some() => {
                if let ImageSource::Embedded { data, .. } = &img.source {
                    let cls = self.class("width:100%;height:100%;".into());
                    self.push(&format!("<div class=\"{cls}\">"));
                    self.push(&String::from_utf8_lossy(data));
                    self.push("</div>");
                }
            }
            ItemKind::Image(img) => {
                let fit = match img.sizing {
                    engine::instance::Sizing::AutoSize | engine::instance::Sizing::Clip => "none",
                    engine::instance::Sizing::Fit => "fill",
                    engine::instance::Sizing::FitProportional => "contain",
                };
                let cls = self.class(format!(
                    "width:100%;height:100%;object-fit:{fit};object-position:left top;"
                ));
                let src = match &img.source {
                    ImageSource::Embedded { name, mime, data } => match &self.o.image_prefix {
                        Some(p) => Some(format!("{p}{}", url_component(name))),
                        None => data_uri(mime, data),
                    },
                    ImageSource::Database { mime, data } => data_uri(mime, data),
                    ImageSource::External(u) => safe_url(u).then(|| u.clone()),
                    ImageSource::Empty => None,
                };
                if let Some(src) = src {
                    let linked = img.action.as_ref().is_some_and(|a| self.open_link(a));
                    self.push(&format!(
                        "<img class=\"{cls}\" src=\"{}\" alt=\"{}\">",
                        esc(&src),
                        esc(&item.name)
                    ));
                    if linked {
                        self.push("</a>");
                    }
                }
            }
            ItemKind::Subreport(Ok(sub)) => {
                let cls = self.class("position:relative;width:100%;height:100%;".into());
                self.push(&format!("<div class=\"{cls}\">"));
                for s in &sub.sections {
                    let (layout, _) = layout_children(&s.body, self.m);
                    for (c, (top, h)) in s.body.iter().zip(layout) {
                        self.positioned(c, top, h);
                    }
                }
                self.push("</div>");
            }
            ItemKind::Subreport(Err(msg)) => {
                let p = self.o.prefix.clone();
                self.push(&format!("<div class=\"{p}ph\">{}</div>", esc(msg)));
            }
            ItemKind::Tablix(t) => self.tablix(item, t, rows),
            ItemKind::Placeholder(kind) => {
                let p = self.o.prefix.clone();
                let cls = self.class("width:100%;height:100%;".into());
                self.push(&format!(
                    "<div class=\"{p}ph {cls}\">{}: {}</div>",
                    kind.label(),
                    esc(&item.name)
                ));
            }
        }
    }

    fn textbox(&mut self, item: &Item, tb: &Textbox) {
        let o = self.o;
        let p = &o.prefix;
        let cls = self.textbox_class(&item.style);
        if self.writing {
            self.out.push_str("<div class=\"");
            self.out.push_str(p);
            self.out.push_str("tb ");
            push_class(&mut self.out, p, cls);
            self.out.push_str("\">");
        }
        let linked = tb.action.as_ref().is_some_and(|a| self.open_link(a));
        for (pi, para) in tb.paragraphs.iter().enumerate() {
            let pcls = self.para_class(para.align, para.left_indent);
            if self.writing {
                self.out.push_str("<p class=\"");
                self.out.push_str(p);
                self.out.push_str("para ");
                push_class(&mut self.out, p, pcls);
                self.out.push_str("\">");
            }
            if pi == 0 {
                if let Some(t) = &tb.toggle {
                    let sign = if t.expanded { "&#8722;" } else { "+" };
                    match self.self_link(&format!("rs:ShowHideToggle={}", url_component(&t.id))) {
                        Some(href) => self.push(&format!(
                            "<a class=\"{p}tg\" href=\"{}\">{sign}</a>",
                            esc(&href)
                        )),
                        None => self.push(&format!("<span class=\"{p}tg\">{sign}</span>")),
                    }
                }
                if let Some(s) = &tb.sort {
                    let (icon, next) = match s.ascending {
                        None => ("&#8693;", "Ascending"),
                        Some(true) => ("&#9650;", "Descending"),
                        Some(false) => ("&#9660;", "Ascending"),
                    };
                    if let Some(href) = self.self_link(&format!(
                        "rs:SortId={}&rs:SortDirection={next}",
                        url_component(&s.id)
                    )) {
                        self.push(&format!(
                            "<a class=\"{p}srt\" href=\"{}\">{icon}</a>",
                            esc(&href)
                        ));
                    }
                }
            }
            for run in &para.runs {
                let rcls = self.text_class(&run.style);
                let run_link = !linked && run.action.as_ref().is_some_and(|a| self.open_link(a));
                if self.writing {
                    self.out.push_str("<span class=\"");
                    push_class(&mut self.out, p, rcls);
                    self.out.push_str("\">");
                    escape(&run.text, &mut self.out);
                    self.out.push_str("</span>");
                }
                if run_link {
                    self.push("</a>");
                }
            }
            if para.runs.iter().all(|r| r.text.is_empty()) {
                self.push("&#8203;");
            }
            self.push("</p>");
        }
        if linked {
            self.push("</a>");
        }
        self.push("</div>");
    }

    fn tablix(&mut self, item: &Item, t: &Tablix, rows: Option<&[usize]>) {
        let p = self.o.prefix.clone();
        let no_rows = t.streamed.is_none()
            && (t.rows.is_empty()
                || t.row_members
                    .iter()
                    .all(|m| m.dynamic && m.instances.is_empty()));
        if no_rows && let Some(msg) = &t.no_rows_message {
            let cls = self.class(box_decl(&item.style, false));
            self.push(&format!("<div class=\"{cls}\">"));
            if self.writing {
                escape(msg, &mut self.out);
            }
            self.push("</div>");
            return;
        }
        let all: Vec<usize> = if rows.is_none() {
            (0..grid_rows(t)).collect()
        } else {
            Vec::new()
        };
        let rows = rows.unwrap_or(&all);
        let n0 = t.rows.len();
        let total_w: Len = t.columns.iter().sum();
        let tcls = self.class(box_decl(&item.style, false) + &format!("width:{};", mm(total_w)));
        self.push(&format!("<table class=\"{p}tbl {tcls}\"><colgroup>"));
        for w in &t.columns {
            let c = self.class(format!("width:{};", mm(*w)));
            self.push(&format!("<col class=\"{c}\">"));
        }
        self.push("</colgroup>");
        let heights: Vec<Len> = rows
            .iter()
            .map(|&r| {
                if r < n0 {
                    engine::page::row_height(t, r, self.m)
                } else {
                    self.streamed_h
                }
            })
            .collect();
        // the streamed row buffer, out of `self` while its rows are written
        let mut bound = std::mem::take(&mut self.streamed);
        for (pos, &r) in rows.iter().enumerate() {
            self.boundary();
            let row = match (&t.streamed, r.checked_sub(n0)) {
                (Some(s), Some(i)) => {
                    if !self.streamed_row(s, i, &mut bound) {
                        break;
                    }
                    &bound
                }
                _ => &t.rows[r],
            };
            if matches!(
                row.visibility,
                Visibility::Hidden | Visibility::ToggleHidden
            ) {
                continue;
            }
            let h = heights[pos];
            let rc = self.row_class(h);
            if self.writing {
                self.out.push_str("<tr class=\"");
                push_class(&mut self.out, &p, rc);
                self.out.push_str("\">");
            }
            for cell in &row.cells {
                // rows of this span that are on this page
                let span = rows[pos..]
                    .iter()
                    .take_while(|&&x| x < r + cell.rowspan)
                    .count()
                    .max(1);
                let attrs = |out: &mut String| {
                    if cell.colspan > 1 {
                        let _ = write!(out, " colspan=\"{}\"", cell.colspan);
                    }
                    if span > 1 {
                        let _ = write!(out, " rowspan=\"{span}\"");
                    }
                };
                match &cell.item {
                    Some(ci) if ci.visibility.is_visible() => {
                        let w: Len = t.columns
                            [cell.col..(cell.col + cell.colspan).min(t.columns.len())]
                            .iter()
                            .sum();
                        let hh: Len = heights[pos..pos + span].iter().sum();
                        let cc = self.cell_class(w, hh);
                        if self.writing {
                            self.out.push_str("<td");
                            attrs(&mut self.out);
                        }
                        self.bookmark(ci);
                        if self.writing {
                            self.out.push_str("><div class=\"");
                            push_class(&mut self.out, &p, cc);
                            self.out.push_str("\">");
                        }
                        self.item_body(ci, None);
                        self.push("</div></td>");
                    }
                    _ => {
                        if self.writing {
                            self.out.push_str("<td");
                            attrs(&mut self.out);
                            self.out.push_str("></td>");
                        }
                    }
                }
            }
            self.push("</tr>");
        }
        self.streamed = bound;
        self.push("</table>");
    }

    fn page(&mut self, inst: &Instance, page: &Page<'_>) {
        let p = self.o.prefix.clone();
        let section = &inst.sections[page.section];
        let width = section.body_width.max(
            section
                .page
                .interactive_width
                .min(section.body_width.max(1)),
        );
        let pc = self.class(format!("width:{};", mm(width)));
        self.push(&format!(
            "<div class=\"{p}pg {pc}\" id=\"{p}page{}\">",
            page.overall_number
        ));
        if let (Some(h), Some(items)) = (&section.header, &page.header) {
            self.band(items, h.height, &h.style, "hdr");
        }
        let bc = self.class(
            box_decl(&section.body_style, false)
                + &format!("position:relative;height:{};", mm(page.body_height)),
        );
        self.push(&format!("<div class=\"{bc}\">"));
        for placed in &page.body {
            self.placed(placed);
        }
        self.push("</div>");
        if let (Some(f), Some(items)) = (&section.footer, &page.footer) {
            self.band(items, f.height, &f.style, "ftr");
        }
        self.push("</div>");
    }

    fn band(&mut self, items: &[Item], height: Len, style: &BoxStyle, role: &str) {
        let (layout, grown) = layout_children(items, self.m);
        let cls = self.class(
            box_decl(style, false)
                + &format!("position:relative;height:{};", mm(height.max(grown))),
        );
        self.push(&format!("<div class=\"{}{role} {cls}\">", self.o.prefix));
        for (c, (top, h)) in items.iter().zip(layout) {
            self.positioned(c, top, h);
        }
        self.push("</div>");
    }

    fn placed(&mut self, placed: &Placed<'_>) {
        let item = placed.item;
        if !item.visibility.is_visible() {
            return;
        }
        let pos = self.class(format!(
            "top:{};left:{};width:{};height:{};",
            mm(placed.top),
            mm(item.left),
            mm(item.width),
            mm(placed.height)
        ));
        let extra = if matches!(item.kind, ItemKind::Tablix(_)) {
            "overflow:visible;"
        } else {
            ""
        };
        let ex = if extra.is_empty() {
            String::new()
        } else {
            format!(" {}", self.class(extra.into()))
        };
        self.push(&format!("<div class=\"{}abs {pos}{ex}\"", self.o.prefix));
        self.bookmark(item);
        self.push(">");
        self.item_body(item, placed.rows.as_deref());
        self.push("</div>");
    }
}

fn data_uri(mime: &str, data: &[u8]) -> Option<String> {
    let ok = matches!(
        mime.to_ascii_lowercase().as_str(),
        "image/png"
            | "image/jpeg"
            | "image/jpg"
            | "image/gif"
            | "image/bmp"
            | "image/x-png"
            | "image/webp"
    );
    if !ok {
        return None;
    }
    use base64::Engine as _;
    Some(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(data)
    ))
}

fn selected<'p, 'a>(pages: &'p [Page<'a>], section: u32) -> Result<Vec<&'p Page<'a>>, RenderError> {
    if section == 0 {
        return Ok(pages.iter().collect());
    }
    match pages.get(section as usize - 1) {
        Some(p) => Ok(vec![p]),
        None => Err(RenderError::NoSuchPage {
            requested: section,
            pages: pages.len() as u32,
        }),
    }
}

/// True when `inst` has streamed detail rows this renderer cannot write as they are bound
/// (their height must be measured: a cell can grow): call [`Instance::materialize`] first.
pub fn needs_tree(inst: &Instance, m: &dyn TextMeasurer) -> bool {
    inst.is_streamed() && !paginates_streamed(inst, m)
}

/// The height of the streamed rows of `inst`'s streamed tablix (0 if none).
fn streamed_height(inst: &Instance, m: &dyn TextMeasurer) -> Len {
    inst.sections
        .iter()
        .flat_map(|s| &s.body)
        .find_map(|i| match &i.kind {
            ItemKind::Tablix(t) if t.streamed.is_some() => streamed_row_height(t, m),
            _ => None,
        })
        .unwrap_or(0)
}

/// The number of soft pages `inst` has with these options (the viewer's "of N").
pub fn page_count(inst: &Instance, o: &HtmlOptions, m: &dyn TextMeasurer) -> u32 {
    paginate(
        inst,
        SoftPageOptions {
            height: o.page_height,
        },
        m,
    )
    .len() as u32
}

/// The CSS of the selected page(s), for `StyleStream` (serve it at `o.stylesheet_href`).
pub fn stylesheet(
    inst: &Instance,
    o: &HtmlOptions,
    m: &dyn TextMeasurer,
) -> Result<String, RenderError> {
    let pages = paginate(
        inst,
        SoftPageOptions {
            height: o.page_height,
        },
        m,
    );
    let sel = selected(&pages, o.section)?;
    let mut c = Ctx::new(o, m, false);
    c.streamed_h = streamed_height(inst, m);
    for p in &sel {
        c.page(inst, p);
    }
    if let Some(e) = c.err {
        return Err(e);
    }
    Ok(c.css.sheet(&o.prefix))
}

/// Renders the selected soft page(s) of `inst` as HTML5.
pub fn render<W: Write>(
    inst: &Instance,
    o: &HtmlOptions,
    m: &dyn TextMeasurer,
    w: &mut W,
) -> Result<(), RenderError> {
    let pages = paginate(
        inst,
        SoftPageOptions {
            height: o.page_height,
        },
        m,
    );
    let sel = selected(&pages, o.section)?;
    let streamed_h = streamed_height(inst, m);
    let p = &o.prefix;
    let mut open = String::new();
    if !o.fragment {
        let lang: String = inst
            .language
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let _ = write!(
            open,
            "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>",
            esc(&inst.name)
        );
    }
    if let Some(href) = &o.stylesheet_href {
        let _ = write!(open, "<link rel=\"stylesheet\" href=\"{}\">", esc(href));
    }
    let mut close = String::new();
    if !o.fragment {
        close.push_str("</head><body>");
    }
    let _ = write!(close, "<div class=\"{p}rpt\" id=\"{p}report\">");
    // One page is written as it is made (its CSS: the head has the classes seen before the
    // first flush, later ones come just before their first use). Several pages: pass 1
    // collects the style sheet, pass 2 writes the pages (the head has every class).
    let one_pass = sel.len() == 1;
    let mut c = Ctx::new(o, m, one_pass);
    c.streamed_h = streamed_h;
    if !one_pass {
        for page in &sel {
            c.page(inst, page);
        }
        if let Some(e) = c.err.take() {
            return Err(e);
        }
        c.writing = true;
    }
    c.head = Some((open, close));
    c.sink = Some(w);
    for page in &sel {
        c.page(inst, page);
        if !one_pass {
            c.flush();
        }
    }
    c.out.push_str("</div>");
    if !o.fragment {
        c.out.push_str("</body></html>\n");
    }
    c.flush();
    if let Some(e) = c.err {
        return Err(e);
    }
    let Some(w) = c.sink else {
        return Ok(());
    };
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_changes_exactly_markup_and_dropped_control_characters() {
        for b in 0u8..0x80 {
            let s = char::from(b).to_string();
            let mut out = String::new();
            escape(&s, &mut out);
            let special = matches!(b, b'<' | b'>' | b'&' | b'"' | b'\'')
                || (b < 0x20 && b != b'\n' && b != b'\t');
            assert_eq!(out != s, special, "byte {b:#x}: {out:?}");
            assert_eq!(SPECIAL[usize::from(b)], special, "byte {b:#x}");
        }
        // bytes of multi-byte characters are never special: the text is kept as it is
        assert!(SPECIAL[0x80..].iter().all(|&x| !x));
        let mut out = String::new();
        escape("é<ü>\u{1}\t\n'\"&", &mut out);
        assert_eq!(out, "é&lt;ü&gt;\t\n&#39;&quot;&amp;");
    }
}
