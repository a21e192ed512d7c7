//! Hard pagination (PDF, IMAGE; design note §2.2): cuts the instance tree into physical
//! pages of a fixed size and flattens each page into positioned primitives (§6.4) that the
//! PDF and image renderers draw without knowing the instance tree.
//!
//! Owns: page size and margins (report settings overridden by [`HardPageOptions`] from
//! device info), the usable-area rule with its margin collapse, newsletter columns (each
//! column a logical page), header/footer visibility (§2.2-3, a hidden one keeps its height),
//! `TotalPages` (the body is paginated first, headers and footers are evaluated after, so
//! the count is known), tablix rows split over pages with `RepeatOnNewPage` header rows,
//! `KeepWithGroup` (a static row kept with the next or previous row), group page breaks,
//! `KeepTogether` and atomic items, `StartPage`/`EndPage`, and warnings naming the item that
//! is wider than the page. Must not: shape text or know fonts — text stays paragraphs of
//! runs; heights come from a [`TextMeasurer`], which the renderer implements with real fonts.
//!
//! Pages are streamed: a counting pass keeps only positions (items and row indices per
//! logical page), then each page is made and handed to the caller's sink
//! ([`paginate_hard_each`]), so a render holds one page of primitives at a time. A tablix
//! with streamed detail rows ([`Tablix::streamed`]) is never a tree: the counting pass keeps
//! one height per row (rows that cannot grow are not even bound for it; growing ones are
//! bound and measured), and emission binds the rows again as its pages need them, holding
//! one page of bound rows.
//!
//! Horizontal pages: a body wider than a one-column page continues on pages to the right
//! (cut at tablix column edges, numbered left to right, then down), each clipped to its
//! slice ([`HardPage::body_clip`]), with a warning naming the widest item. A rectangle whose
//! contents break pages, or that is taller than a page, is cut as its children (its box on
//! the page it starts on), so breaks on items nested in rectangles count (§2.2-5).
//!
//! Not modelled yet: items taller than a page other than tablixes and rectangles (drawn
//! clipped at the page bottom), tablix columns wider than a page inside a multi-column
//! layout (clipped at the column edge).

use crate::instance::{
    Action, Border, BoxStyle, GridRow, Image, Instance, Item, ItemKind, Len, PageBreak,
    PageContext, PageSection, PageSettings, Paragraph, Tablix, UM_PER_INCH, Visibility,
};
use crate::page::{
    TextMeasurer, grid_row_height, item_height, layout_children, row_height, streamed_row_height,
};

/// Largest page side (MS-RDL: 160in).
pub const MAX_PAGE_SIDE: Len = 160 * UM_PER_INCH;
/// Smallest page side accepted (smaller sizes are clamped with a warning).
pub const MIN_PAGE_SIDE: Len = UM_PER_INCH / 2;
/// Smallest usable body height per page (a smaller one is raised with a warning).
const MIN_BODY_HEIGHT: Len = UM_PER_INCH / 4;
/// Rounding slack for the usable-width rule (0.01in): designers type margins like 0.21975in.
const WIDTH_TOLERANCE: Len = UM_PER_INCH / 100;
/// Most pages one render produces (a guard against runaway layouts).
pub const MAX_PAGES: usize = 100_000;

/// Overrides from device information (`rc:PageWidth`, …); `None` keeps the report's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HardPageOptions {
    /// `PageWidth`.
    pub page_width: Option<Len>,
    /// `PageHeight`.
    pub page_height: Option<Len>,
    /// `MarginTop`.
    pub margin_top: Option<Len>,
    /// `MarginRight`.
    pub margin_right: Option<Len>,
    /// `MarginBottom`.
    pub margin_bottom: Option<Len>,
    /// `MarginLeft`.
    pub margin_left: Option<Len>,
    /// `Columns`.
    pub columns: Option<u32>,
    /// `ColumnSpacing`.
    pub column_spacing: Option<Len>,
    /// `StartPage` (0 or absent = from the first page).
    pub start_page: u32,
    /// `EndPage` (0 or absent = to the last page; below `StartPage` = `StartPage`).
    pub end_page: u32,
}

/// A rectangle in page coordinates (origin top-left of the physical page), micrometres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    /// Left.
    pub x: Len,
    /// Top.
    pub y: Len,
    /// Width.
    pub w: Len,
    /// Height.
    pub h: Len,
}

/// A positioned primitive of a hard page.
#[derive(Debug, Clone)]
pub enum PageItem {
    /// A background and borders.
    Box {
        /// Where.
        rect: Rect,
        /// Borders and background (padding is ignored).
        style: BoxStyle,
    },
    /// Text: paragraphs of styled runs laid out inside `rect` minus `padding`, clipped to
    /// `rect`.
    Text {
        /// Where (the textbox's border box).
        rect: Rect,
        /// Padding: top, right, bottom, left.
        padding: [Len; 4],
        /// Vertical alignment.
        valign: crate::instance::VerticalAlign,
        /// The paragraphs.
        paragraphs: Vec<Paragraph>,
    },
    /// A line.
    Line {
        /// Start.
        from: (Len, Len),
        /// End.
        to: (Len, Len),
        /// Style.
        border: Border,
    },
    /// An image.
    Image {
        /// Where.
        rect: Rect,
        /// The image.
        image: Image,
    },
    /// A hyperlink area.
    Link {
        /// Where.
        rect: Rect,
        /// The checked URL.
        url: String,
    },
    /// A document map entry (`DocumentMapLabel`): the PDF outline points here.
    Label {
        /// The label.
        text: String,
        /// Nesting level (0 = a body item, 1 = inside it, …).
        level: u8,
        /// Its top.
        y: Len,
    },
    /// A bookmark target.
    Anchor {
        /// The bookmark id.
        bookmark: String,
        /// Its top.
        y: Len,
    },
}

/// One physical page.
#[derive(Debug, Clone)]
pub struct HardPage {
    /// Page width and height.
    pub size: (Len, Len),
    /// Body items (all columns).
    pub items: Vec<PageItem>,
    /// Header items when the header shows on this page.
    pub header: Vec<PageItem>,
    /// Footer items when the footer shows on this page.
    pub footer: Vec<PageItem>,
    /// Page number (1-based, over the whole report).
    pub number: u32,
    /// Total pages of the report.
    pub total: u32,
    /// `Globals!PageName`.
    pub name: String,
    /// Index of the report section.
    pub section: usize,
    /// The body area when the body is clipped to it (horizontal pages: the slice of a body
    /// wider than the page); header and footer are not clipped.
    pub body_clip: Option<Rect>,
}

/// The pages of a render and the warnings found while cutting them.
#[derive(Debug, Clone, Default)]
pub struct HardPages {
    /// Pages in order (only `StartPage..=EndPage`).
    pub pages: Vec<HardPage>,
    /// Total pages before `StartPage`/`EndPage` were applied.
    pub total: u32,
    /// Problems (clamped sizes, items wider than the page).
    pub warnings: Vec<String>,
}

/// The resolved geometry of a section's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageGeometry {
    /// Page width.
    pub width: Len,
    /// Page height.
    pub height: Len,
    /// Margins: top, right, bottom, left (after the collapse rule).
    pub margins: [Len; 4],
    /// Number of columns (≥ 1).
    pub columns: u32,
    /// Space between columns.
    pub column_spacing: Len,
    /// Width of one column (a logical page).
    pub column_width: Len,
    /// Body height per page (page minus margins, header and footer).
    pub body_height: Len,
    /// Top of the body on the page.
    pub body_top: Len,
}

fn clamp_side(v: Len, what: &str, warnings: &mut Vec<String>) -> Len {
    if v < MIN_PAGE_SIDE {
        warnings.push(format!(
            "the page {what} {:.2}in is too small; {:.2}in is used (set PageWidth/PageHeight \
             between 0.5in and 160in)",
            v as f64 / UM_PER_INCH as f64,
            MIN_PAGE_SIDE as f64 / UM_PER_INCH as f64
        ));
        MIN_PAGE_SIDE
    } else if v > MAX_PAGE_SIDE {
        warnings.push(format!(
            "the page {what} {:.2}in is larger than 160in, the largest page RDL allows; 160in is used",
            v as f64 / UM_PER_INCH as f64
        ));
        MAX_PAGE_SIDE
    } else {
        v
    }
}

/// Whether a page side is one hard pages can have (0.5in..=160in, MS-RDL's range).
pub fn page_side_ok(v: Len) -> bool {
    (MIN_PAGE_SIDE..=MAX_PAGE_SIDE).contains(&v)
}

/// The page size hard pages would use, checked: a side outside 0.5in..160in is an error
/// naming where it comes from (device information or the report's `PageWidth`/`PageHeight`)
/// and the allowed range, before anything is rendered. `Err` is (setting, problem).
pub fn check_page_size(
    inst: &Instance,
    opts: &HardPageOptions,
) -> Result<(), (&'static str, String)> {
    let inches = |v: Len| v as f64 / UM_PER_INCH as f64;
    for (setting, over) in [
        ("PageWidth", opts.page_width),
        ("PageHeight", opts.page_height),
    ] {
        if let Some(v) = over
            && !page_side_ok(v)
        {
            return Err((
                setting,
                format!(
                    "rc:{setting}={:.2}in is outside the allowed 0.5in..160in; use a page size in \
                     that range, like 8.5in",
                    inches(v)
                ),
            ));
        }
    }
    for (i, s) in inst.sections.iter().enumerate() {
        for (setting, v, over) in [
            ("PageWidth", s.page.width, opts.page_width),
            ("PageHeight", s.page.height, opts.page_height),
        ] {
            if over.is_none() && !page_side_ok(v) {
                let which = if inst.sections.len() > 1 {
                    format!(" of report section {}", i + 1)
                } else {
                    String::new()
                };
                return Err((
                    setting,
                    format!(
                        "the report's {setting}{which} is {:.2}in, outside the allowed \
                         0.5in..160in; fix the page size in the report definition or override it \
                         with rc:{setting}",
                        inches(v)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The usable area of a section's pages (§2.2-1), with sizes clamped to 0.5in..160in.
pub fn geometry(
    settings: &PageSettings,
    header: Option<&PageSection>,
    footer: Option<&PageSection>,
    opts: &HardPageOptions,
    warnings: &mut Vec<String>,
) -> PageGeometry {
    let width = clamp_side(opts.page_width.unwrap_or(settings.width), "width", warnings);
    let height = clamp_side(
        opts.page_height.unwrap_or(settings.height),
        "height",
        warnings,
    );
    let m = settings.margins;
    let mut top = opts.margin_top.unwrap_or(m[0]).max(0);
    let mut right = opts.margin_right.unwrap_or(m[1]).max(0);
    let mut bottom = opts.margin_bottom.unwrap_or(m[2]).max(0);
    let mut left = opts.margin_left.unwrap_or(m[3]).max(0);
    if top + bottom >= height {
        top = 0;
        bottom = 0;
    }
    if left + right >= width {
        left = 0;
        right = 0;
    }
    let columns = opts.columns.unwrap_or(settings.columns).clamp(1, 100);
    let mut spacing = opts
        .column_spacing
        .unwrap_or(settings.column_spacing)
        .max(0);
    let usable = width - left - right;
    if spacing * Len::from(columns - 1) >= usable {
        spacing = 0;
    }
    let column_width = ((usable - spacing * Len::from(columns - 1)) / Len::from(columns)).max(1);
    let hh = header.map_or(0, |h| h.height.max(0));
    let fh = footer.map_or(0, |f| f.height.max(0));
    let mut body_height = height - top - bottom - hh - fh;
    if body_height < MIN_BODY_HEIGHT {
        warnings.push(format!(
            "the page header and footer leave {:.2}in for the body; {:.2}in is used (make the \
             header or footer smaller or the page taller)",
            body_height as f64 / UM_PER_INCH as f64,
            MIN_BODY_HEIGHT as f64 / UM_PER_INCH as f64
        ));
        body_height = MIN_BODY_HEIGHT;
    }
    PageGeometry {
        width,
        height,
        margins: [top, right, bottom, left],
        columns,
        column_spacing: spacing,
        column_width,
        body_height,
        body_top: top + hh,
    }
}

/// Header shown on page `p` of `n` (§2.2-3).
pub fn header_shows(s: &PageSection, p: u32, n: u32) -> bool {
    (1 < p && p < n)
        || (s.print_on_first_page && p == 1)
        || (s.print_on_last_page && p == n && p != 1)
}

/// Footer shown on page `p` of `n` (§2.2-3).
pub fn footer_shows(s: &PageSection, p: u32, n: u32) -> bool {
    (1 < p && p < n)
        || (s.print_on_first_page && p == 1 && p != n)
        || (s.print_on_last_page && p == n)
}

/// What one logical page (a column) holds after the counting pass: positions only, the
/// primitives are made when the page is emitted.
#[derive(Default)]
struct Logical<'a> {
    placed: Vec<Placement<'a>>,
    /// A page break with `ResetPageNumber` started this page.
    reset: bool,
    /// `PageName` of an item or group instance that starts on this page.
    name: Option<String>,
}

/// An item (or a slice of a tablix's rows) placed on a logical page.
enum Placement<'a> {
    Item {
        item: &'a Item,
        /// Left edge in the body (an item nested in rectangles: the sum of their lefts).
        x: Len,
        y: Len,
        h: Len,
        /// A rectangle whose children were placed on their own: only its box is drawn.
        shell: bool,
    },
    Rows {
        item: &'a Item,
        t: &'a Tablix,
        rows: Vec<u32>,
        heights: std::rc::Rc<[Len]>,
        x: Len,
        y: Len,
    },
}

struct Cutter<'m, 'a> {
    m: &'m dyn TextMeasurer,
    logical: Vec<Logical<'a>>,
    limit: Len,
    /// The logical page count reached [`MAX_PAGES`]: stop cutting.
    full: bool,
    /// Binding a streamed detail row failed (the render was cancelled): stop cutting.
    error: Option<crate::EngineError>,
}

impl<'a> Cutter<'_, 'a> {
    fn cur(&mut self) -> &mut Logical<'a> {
        if self.logical.is_empty() {
            self.logical.push(Logical::default());
        }
        let n = self.logical.len() - 1;
        &mut self.logical[n]
    }
    fn new_page(&mut self) -> bool {
        if self.full || self.logical.len() >= MAX_PAGES * 4 {
            self.full = true;
            return false;
        }
        self.logical.push(Logical::default());
        true
    }
    fn name(&mut self, b: Option<&PageBreak>) {
        if let Some(n) = b.and_then(|b| b.page_name.as_ref()) {
            let l = self.cur();
            if l.name.is_none() {
                l.name = Some(n.clone());
            }
        }
    }
}

/// What a streaming hard pagination did.
#[derive(Debug, Clone, Default)]
pub struct HardSummary {
    /// Pages handed to the sink (only `StartPage..=EndPage`).
    pub rendered: u32,
    /// Total pages before `StartPage`/`EndPage` were applied.
    pub total: u32,
    /// Problems (clamped sizes, items wider than the page).
    pub warnings: Vec<String>,
}

/// Cuts every section of `inst` into hard pages and collects them (tests, small reports;
/// renderers use [`paginate_hard_each`], which keeps one page in memory).
/// Fails only when a streamed detail row cannot be bound (the render was cancelled).
pub fn paginate_hard(
    inst: &Instance,
    opts: &HardPageOptions,
    m: &dyn TextMeasurer,
) -> Result<HardPages, crate::EngineError> {
    let mut pages = Vec::new();
    let s = paginate_hard_each(inst, opts, m, &mut |p| {
        pages.push(p);
        Ok::<(), crate::EngineError>(())
    })?;
    Ok(HardPages {
        pages,
        total: s.total,
        warnings: s.warnings,
    })
}

/// One physical page of the counting pass.
struct PhysPlan<'a> {
    section: usize,
    /// The logical pages (columns) on it; horizontal pages of one vertical page share them.
    columns: std::rc::Rc<Vec<Logical<'a>>>,
    /// Horizontal page: index (0 = the leftmost) and the body's x range it shows.
    hpart: usize,
    hrange: (Len, Len),
    number: u32,
    total: u32,
    overall: u32,
    name: String,
}

/// Cuts every section of `inst` into hard pages and hands each page of
/// `StartPage..=EndPage` to `sink` as soon as it is made (§2.2). A counting pass first
/// places every item and row (positions only) so `TotalPages` is known; then each page's
/// primitives are made, its header and footer evaluated, and the page given away, so memory
/// holds one page plus the positions. A sink error stops pagination and is returned.
pub fn paginate_hard_each<E: From<crate::EngineError>>(
    inst: &Instance,
    opts: &HardPageOptions,
    m: &dyn TextMeasurer,
    sink: &mut dyn FnMut(HardPage) -> Result<(), E>,
) -> Result<HardSummary, E> {
    let mut warnings = Vec::new();
    let mut plan: Vec<PhysPlan<'_>> = Vec::new();
    let mut geoms: Vec<PageGeometry> = Vec::new();
    for (si, section) in inst.sections.iter().enumerate() {
        let g = geometry(
            &section.page,
            section.header.as_ref(),
            section.footer.as_ref(),
            opts,
            &mut warnings,
        );
        geoms.push(g);
        // the usable-width rule (§2.2-2): a body wider than a one-column page continues on
        // horizontal pages (as SSRS prints them), one wider than a column is clipped
        let mut hcuts = vec![0, g.column_width];
        if let Some(wide) = section
            .body
            .iter()
            .filter(|i| i.visibility != Visibility::Hidden)
            .max_by_key(|i| i.left + i.width)
            && wide.left + wide.width > g.column_width + WIDTH_TOLERANCE
        {
            let end = wide.left + wide.width;
            let inches = |v: Len| v as f64 / UM_PER_INCH as f64;
            if g.columns == 1 {
                hcuts = horizontal_cuts(&section.body, end, g.column_width);
                warnings.push(format!(
                    "the item {} ends {:.2}in from the body's left edge, but the usable page \
                     width is {:.2}in (page width minus margins), so every page continues on {} \
                     more page(s) to the right: make the item narrower, the margins smaller or \
                     the page wider",
                    wide.name,
                    inches(end),
                    inches(g.column_width),
                    hcuts.len() - 2
                ));
            } else {
                warnings.push(format!(
                    "the item {} ends {:.2}in from the body's left edge, but the usable width of \
                     a column is {:.2}in (page width minus margins and column spacing, per \
                     column); it is clipped at the column edge: make the item narrower or use \
                     fewer columns",
                    wide.name,
                    inches(end),
                    inches(g.column_width)
                ));
            }
        }
        let mut c = Cutter {
            m,
            logical: vec![Logical::default()],
            limit: g.body_height,
            full: false,
            error: None,
        };
        cut_body(&mut c, &section.body);
        if let Some(e) = c.error.take() {
            return Err(E::from(e));
        }
        if c.full {
            warnings.push(format!(
                "the report has more than {MAX_PAGES} pages; only the first {MAX_PAGES} are rendered"
            ));
        }
        // logical pages → physical pages; a break that resets numbering or names a page
        // starts a new physical page even in a multi-column layout only at a column start
        let cols = g.columns as usize;
        let mut logical = std::mem::take(&mut c.logical);
        while logical.len() > 1 && logical.last().is_some_and(|l| l.placed.is_empty()) {
            logical.pop();
        }
        let mut it = logical.into_iter().peekable();
        while it.peek().is_some() && plan.len() <= MAX_PAGES {
            let columns = std::rc::Rc::new(it.by_ref().take(cols).collect::<Vec<_>>());
            for (hpart, w) in hcuts.windows(2).enumerate() {
                plan.push(PhysPlan {
                    section: si,
                    columns: columns.clone(),
                    hpart,
                    hrange: (w[0], w[1]),
                    number: 0,
                    total: 0,
                    overall: 0,
                    name: String::new(),
                });
            }
        }
        if plan.len() >= MAX_PAGES {
            if plan.len() > MAX_PAGES && !c.full {
                warnings.push(format!(
                    "the report has more than {MAX_PAGES} pages; only the first {MAX_PAGES} are \
                     rendered"
                ));
            }
            plan.truncate(MAX_PAGES);
            break;
        }
    }
    number_plan(&mut plan, &inst.initial_page_name);
    let overall_total = plan.len() as u32;
    let (start, end) = page_range(opts.start_page, opts.end_page, overall_total);
    let mut rendered = 0u32;
    // the bound rows of a streamed tablix (one per report at most) the pages show
    let mut window = Window::default();
    for p in plan {
        if p.overall < start || p.overall > end {
            continue;
        }
        // streamed rows this page shows (all columns), bound now, with those of the pages
        // skipped before it
        let mut shown: Option<(&Tablix, usize, usize)> = None;
        for pl in p.columns.iter().flat_map(|l| &l.placed) {
            if let Placement::Rows { t, rows, .. } = pl
                && t.streamed.is_some()
            {
                for &r in rows.iter().filter(|&&r| r as usize >= t.rows.len()) {
                    let r = r as usize;
                    let (lo, hi) = shown.map_or((r, r), |(_, lo, hi)| (lo.min(r), hi.max(r)));
                    shown = Some((t, lo, hi));
                }
            }
        }
        if let Some((t, lo, hi)) = shown {
            window.fill(t, lo, hi).map_err(E::from)?;
        }
        let section = &inst.sections[p.section];
        let g = geoms[p.section];
        let mut page = HardPage {
            size: (g.width, g.height),
            items: Vec::new(),
            header: Vec::new(),
            footer: Vec::new(),
            number: p.number,
            total: p.total,
            name: p.name.clone(),
            section: p.section,
            body_clip: None,
        };
        let sliced = p.hrange != (0, g.column_width);
        if sliced {
            page.body_clip = Some(Rect {
                x: g.margins[3],
                y: g.body_top,
                w: p.hrange.1 - p.hrange.0,
                h: g.body_height,
            });
        }
        let mut report_items = ReportItems {
            on: section.header.is_some() || section.footer.is_some(),
            values: Vec::new(),
            depth: 0,
        };
        for (col, l) in p.columns.iter().enumerate() {
            let dx = g.margins[3] + col as Len * (g.column_width + g.column_spacing);
            let first = page.items.len();
            for pl in &l.placed {
                let (pl_x, pl_w) = match pl {
                    Placement::Item { item, x, .. } | Placement::Rows { item, x, .. } => {
                        (*x, item.width)
                    }
                };
                // horizontal pages: only what shows in this page's slice of the body
                if sliced && (pl_x >= p.hrange.1 || pl_x + pl_w <= p.hrange.0) {
                    continue;
                }
                match pl {
                    Placement::Item {
                        item,
                        x,
                        y,
                        h,
                        shell,
                    } => {
                        if *shell {
                            if item.visibility.is_visible() {
                                let rect = Rect {
                                    x: *x,
                                    y: *y,
                                    w: item.width,
                                    h: *h,
                                };
                                push_box(&mut page.items, &item.style, rect);
                            }
                        } else {
                            emit_item(
                                m,
                                item,
                                *x,
                                *y,
                                *h,
                                None,
                                &mut page.items,
                                &mut report_items,
                            );
                        }
                    }
                    Placement::Rows {
                        item,
                        t,
                        rows,
                        heights,
                        x,
                        y,
                    } => emit_rows(
                        m,
                        item,
                        t,
                        &window,
                        rows,
                        heights,
                        (*x, *y),
                        &mut page.items,
                        &mut report_items,
                    ),
                }
            }
            if sliced {
                // horizontal pages: what lies wholly outside the slice is not on this page
                // (text extraction would still find clipped text)
                let (x0, x1, hpart) = (p.hrange.0, p.hrange.1, p.hpart);
                let tail = page.items.split_off(first);
                page.items
                    .extend(tail.into_iter().filter(|it| in_slice(it, x0, x1, hpart)));
            }
            for item in &mut page.items[first..] {
                translate(item, dx - p.hrange.0, g.body_top);
            }
        }
        // headers and footers now that the total is known
        let ctx = PageContext {
            page_number: p.number,
            total_pages: p.total,
            overall_page_number: p.overall,
            overall_total_pages: overall_total,
            page_name: p.name,
            report_items: report_items.values,
        };
        let inner_w = g.width - g.margins[1] - g.margins[3];
        if let Some(h) = &section.header
            && header_shows(h, p.overall, overall_total)
        {
            let items = h.items.evaluate(&ctx);
            emit_band(m, &h.style, &items, inner_w, h.height, &mut page.header);
            for it in &mut page.header {
                translate(it, g.margins[3], g.margins[0]);
            }
        }
        if let Some(f) = &section.footer
            && footer_shows(f, p.overall, overall_total)
        {
            let items = f.items.evaluate(&ctx);
            emit_band(m, &f.style, &items, inner_w, f.height, &mut page.footer);
            let top = g.height - g.margins[2] - f.height;
            for it in &mut page.footer {
                translate(it, g.margins[3], top);
            }
        }
        rendered += 1;
        sink(page)?;
    }
    Ok(HardSummary {
        rendered,
        total: overall_total,
        warnings,
    })
}

/// Numbers physical pages: overall numbers run through; `number`/`total` restart at every
/// page whose first column was started by a `ResetPageNumber` break; names carry forward
/// from `InitialPageName` and each named item or group instance.
fn number_plan(plan: &mut [PhysPlan<'_>], initial: &str) {
    let n = plan.len();
    let resets: Vec<bool> = plan
        .iter()
        .enumerate()
        .map(|(i, p)| i > 0 && p.hpart == 0 && p.columns.first().is_some_and(|l| l.reset))
        .collect();
    let mut start = 0usize;
    let mut name = initial.to_owned();
    for i in 0..n {
        if resets[i] {
            start = i;
        }
        let end = (i + 1..n).find(|&j| resets[j]).unwrap_or(n);
        if let Some(nm) = plan[i].columns.iter().find_map(|l| l.name.as_ref())
            && plan[i].hpart == 0
        {
            name.clone_from(nm);
        }
        let p = &mut plan[i];
        p.overall = i as u32 + 1;
        p.number = (i - start) as u32 + 1;
        p.total = (end - start) as u32;
        p.name.clone_from(&name);
    }
}

/// `StartPage`/`EndPage` → the inclusive range of page numbers rendered (§2.7-2).
pub fn page_range(start: u32, end: u32, total: u32) -> (u32, u32) {
    let s = if start == 0 { 1 } else { start };
    let e = if end == 0 {
        if start == 0 { total } else { total.max(s) }
    } else {
        end.max(s)
    };
    (s, e.min(total.max(1)))
}

fn emit_band(
    m: &dyn TextMeasurer,
    style: &BoxStyle,
    items: &[Item],
    width: Len,
    height: Len,
    out: &mut Vec<PageItem>,
) {
    if style.background.is_some() || style.borders.iter().any(|b| b.style != Default::default()) {
        out.push(PageItem::Box {
            rect: Rect {
                x: 0,
                y: 0,
                w: width,
                h: height,
            },
            style: *style,
        });
    }
    let (layout, _) = layout_children(items, m);
    let mut sink = ReportItems {
        on: false,
        values: Vec::new(),
        depth: 0,
    };
    for (item, (top, h)) in items.iter().zip(layout) {
        if top >= height {
            continue; // fixed height: contents clipped
        }
        emit_item(
            m,
            item,
            item.left,
            top,
            h.min(height - top),
            None,
            out,
            &mut sink,
        );
    }
}

/// Whether a body item shows on the horizontal page that holds `x0..x1` of the body
/// (document map entries and bookmarks: on the first one).
fn in_slice(item: &PageItem, x0: Len, x1: Len, hpart: usize) -> bool {
    match item {
        PageItem::Box { rect, .. }
        | PageItem::Text { rect, .. }
        | PageItem::Image { rect, .. }
        | PageItem::Link { rect, .. } => rect.x < x1 && rect.x + rect.w > x0,
        PageItem::Line { from, to, .. } => from.0.min(to.0) < x1 && from.0.max(to.0) >= x0,
        PageItem::Anchor { .. } | PageItem::Label { .. } => hpart == 0,
    }
}

fn translate(item: &mut PageItem, dx: Len, dy: Len) {
    match item {
        PageItem::Box { rect, .. }
        | PageItem::Text { rect, .. }
        | PageItem::Image { rect, .. }
        | PageItem::Link { rect, .. } => {
            rect.x += dx;
            rect.y += dy;
        }
        PageItem::Line { from, to, .. } => {
            from.0 += dx;
            from.1 += dy;
            to.0 += dx;
            to.1 += dy;
        }
        PageItem::Anchor { y, .. } | PageItem::Label { y, .. } => *y += dy,
    }
}

/// True for items that never split over pages (§2.2-6).
fn atomic(item: &Item) -> bool {
    matches!(
        item.kind,
        ItemKind::Image(_) | ItemKind::Line { .. } | ItemKind::Placeholder(_)
    )
}

/// The `before` break of a tablix's first breaking row: it breaks before the tablix (the
/// column header rows stay with the first group instance).
fn leading_group_break(item: &Item) -> Option<&PageBreak> {
    let ItemKind::Tablix(t) = &item.kind else {
        return None;
    };
    t.rows
        .iter()
        .find_map(|r| r.page_break.as_ref())
        .filter(|b| b.before)
}

/// Most horizontal pages per vertical page.
const MAX_HORIZONTAL_PAGES: usize = 100;

/// Where horizontal pages cut a body `end` wide into slices of at most `width` (§2.2-2):
/// at the last column edge of a top-level tablix that fits (its columns are not cut in
/// two), else at the page width. Returns the cut positions, starting at 0; the last slice is
/// a whole page wide.
fn horizontal_cuts(body: &[Item], end: Len, width: Len) -> Vec<Len> {
    let mut edges: Vec<Len> = Vec::new();
    for i in body.iter().filter(|i| i.visibility.is_visible()) {
        if let ItemKind::Tablix(t) = &i.kind {
            let mut x = i.left;
            for w in &t.columns {
                x += w;
                edges.push(x);
            }
        }
    }
    edges.sort_unstable();
    let mut cuts = vec![0];
    loop {
        let x = cuts[cuts.len() - 1];
        let limit = x + width;
        if end <= limit + WIDTH_TOLERANCE || cuts.len() > MAX_HORIZONTAL_PAGES {
            cuts.push(limit);
            return cuts;
        }
        let next = edges
            .iter()
            .rev()
            .find(|&&e| e > x + width / 4 && e <= limit + WIDTH_TOLERANCE)
            .copied()
            .unwrap_or(limit);
        cuts.push(next);
    }
}

/// What [`cut_body`] places, in body coordinates: a body item, or, for a rectangle whose
/// contents break pages (or that is taller than a page), the rectangle's box and each of its
/// children on their own (§2.2-5: breaks on items nested in rectangles count).
struct Entry<'a> {
    item: &'a Item,
    top: Len,
    height: Len,
    x: Len,
    kind: EntryKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    /// An item placed whole (or a tablix split into rows).
    Whole,
    /// The box of a rectangle whose children are entries; its `Start` break applies here.
    Shell,
    /// Where a flattened rectangle ends: its `End` break applies here.
    End,
}

/// True when a rectangle's children are placed on their own: something inside breaks
/// pages, or it is taller than a page (and not kept together on one).
fn flattens(item: &Item, height: Len, limit: Len) -> bool {
    fn breaks_inside(children: &[Item]) -> bool {
        children.iter().any(|c| {
            c.visibility.is_visible()
                && (c.page_break.is_some()
                    || leading_group_break(c).is_some()
                    || matches!(&c.kind, ItemKind::Tablix(t) if t.rows.iter().any(|r| r.page_break.is_some()))
                    || matches!(&c.kind, ItemKind::Rectangle(ch) if breaks_inside(ch)))
        })
    }
    let ItemKind::Rectangle(children) = &item.kind else {
        return false;
    };
    !children.is_empty() && (breaks_inside(children) || height > limit)
}

fn flatten<'a>(
    items: &'a [Item],
    layout: &[(Len, Len)],
    (dx, dy): (Len, Len),
    limit: Len,
    depth: usize,
    m: &dyn TextMeasurer,
    out: &mut Vec<Entry<'a>>,
) {
    for (item, &(top, height)) in items.iter().zip(layout) {
        // hidden items and breaks on them are ignored (§2.2-5)
        if matches!(
            item.visibility,
            Visibility::Hidden | Visibility::ToggleHidden
        ) {
            continue;
        }
        let (x, y) = (dx + item.left, dy + top);
        if depth < 16
            && flattens(item, height, limit)
            && let ItemKind::Rectangle(children) = &item.kind
        {
            out.push(Entry {
                item,
                top: y,
                height,
                x,
                kind: EntryKind::Shell,
            });
            let (inner, _) = layout_children(children, m);
            flatten(children, &inner, (x, y), limit, depth + 1, m, out);
            out.push(Entry {
                item,
                top: y + height,
                height: 0,
                x,
                kind: EntryKind::End,
            });
            continue;
        }
        out.push(Entry {
            item,
            top: y,
            height,
            x,
            kind: EntryKind::Whole,
        });
    }
}

fn cut_body<'a>(c: &mut Cutter<'_, 'a>, body: &'a [Item]) {
    let (layout, _) = layout_children(body, c.m);
    let mut entries = Vec::with_capacity(body.len());
    flatten(body, &layout, (0, 0), c.limit, 0, c.m, &mut entries);
    // top to bottom; where a rectangle ends before what starts there
    entries.sort_by_key(|e| (e.top, e.kind != EntryKind::End, e.x));
    // body offset where the current logical page begins
    let mut page_start: Len = 0;
    let mut break_pending = false;
    let mut reset_pending = false;
    for e in entries {
        let item = e.item;
        let (top, height, x) = (e.top, e.height, e.x);
        let pb = item.page_break.as_ref();
        if e.kind == EntryKind::End {
            // the End break of a flattened rectangle, after all of its children
            break_pending |= pb.is_some_and(|b| b.after);
            reset_pending |= pb.is_some_and(|b| b.after && b.reset_page_number);
            continue;
        }
        let mut rel = (top - page_start).max(0);
        // PageBreak Start/End/StartAndEnd on an item, or Start on the tablix's first group
        // instance (§2.2-5)
        let lead = leading_group_break(item);
        let before = pb.is_some_and(|b| b.before) || lead.is_some();
        if (before || break_pending) && !c.cur().placed.is_empty() {
            if !c.new_page() {
                return;
            }
            c.cur().reset = reset_pending
                || pb.is_some_and(|b| b.before && b.reset_page_number)
                || lead.is_some_and(|b| b.reset_page_number);
            page_start = top;
            rel = 0;
        }
        c.name(pb);
        // a flattened rectangle's shell: its End break waits for the rectangle's End entry
        let shell = e.kind == EntryKind::Shell;
        break_pending = !shell && pb.is_some_and(|b| b.after);
        reset_pending = !shell && pb.is_some_and(|b| b.after && b.reset_page_number);
        if rel >= c.limit {
            if !c.new_page() {
                return;
            }
            page_start = top;
            rel = 0;
        }
        // a streamed tablix: its rows (bound here, heights kept) are always cut
        let heights = match &item.kind {
            ItemKind::Tablix(t) if !shell && t.streamed.is_some() => match tablix_heights(t, c.m) {
                Ok(h) => Some(h),
                Err(e) => {
                    c.error = Some(e);
                    return;
                }
            },
            _ => None,
        };
        let height = heights.as_ref().map_or(height, |h| h.iter().sum());
        if !shell
            && let ItemKind::Tablix(t) = &item.kind
            && (!t.rows.is_empty() || heights.is_some())
            && (heights.is_some()
                || rel + height > c.limit
                || t.rows.iter().any(|r| r.page_break.is_some()))
        {
            // KeepTogether: move to a fresh page when it fits there
            if item.keep_together && height <= c.limit && rel > 0 && rel + height > c.limit {
                if !c.new_page() {
                    return;
                }
                rel = 0;
            }
            let heights = heights
                .unwrap_or_else(|| (0..t.rows.len()).map(|r| row_height(t, r, c.m)).collect());
            let (end_y, brk, reset) = cut_tablix(c, item, t, heights, x, rel, lead.is_some());
            if c.full {
                return;
            }
            page_start = top + height - end_y;
            break_pending |= brk;
            reset_pending |= reset;
            continue;
        }
        if !shell
            && rel + height > c.limit
            && rel > 0
            && height <= c.limit
            && (item.keep_together || atomic(item) || matches!(item.kind, ItemKind::Textbox(_)))
        {
            if !c.new_page() {
                return;
            }
            page_start = top;
            rel = 0;
        }
        let h = height.min(c.limit - rel);
        c.cur().placed.push(Placement::Item {
            item,
            x,
            y: rel,
            h,
            shell,
        });
    }
}

/// Splits a tablix over logical pages starting at `rel`, honouring group page breaks
/// (`GridRow::page_break`) and repeating `RepeatOnNewPage` rows; returns where it ends on
/// the last page and whether an `End` break (with `ResetPageNumber`) on its last group
/// instance is pending for the next item.
fn cut_tablix<'a>(
    c: &mut Cutter<'_, 'a>,
    item: &'a Item,
    t: &'a Tablix,
    heights: std::rc::Rc<[Len]>,
    x: Len,
    rel: Len,
    lead: bool,
) -> (Len, bool, bool) {
    // grid rows, then the streamed detail rows (no breaks, keeps or repeats of their own),
    // then the streamed footer rows (their keeps from `tail`)
    let n_rows = heights.len();
    let tail_from = n_rows - t.streamed.as_ref().map_or(0, |s| s.tail.len());
    let flags = |r: usize| {
        t.rows.get(r).or_else(|| {
            let s = t.streamed.as_ref()?;
            s.tail.get(r.checked_sub(tail_from)?)
        })
    };
    let repeat: Vec<u32> = (0..t.rows.len())
        .filter(|&r| t.rows[r].repeat_on_new_page)
        .map(|r| r as u32)
        .collect();
    let repeat_h: Len = repeat.iter().map(|&r| heights[r as usize]).sum();
    let mut rows: Vec<u32> = Vec::new();
    let mut y = rel;
    let mut start = rel;
    let mut row_break = false;
    let mut row_reset = false;
    let mut seen_break = false;
    let push = |c: &mut Cutter<'_, 'a>, rows: Vec<u32>, start: Len| {
        if !rows.is_empty() {
            c.cur().placed.push(Placement::Rows {
                item,
                t,
                rows,
                heights: heights.clone(),
                x,
                y: start,
            });
        }
    };
    for r in 0..n_rows {
        let h = heights[r];
        if h == 0 {
            continue;
        }
        let rb = flags(r).and_then(|g| g.page_break.as_ref());
        // the first group instance's Start break was taken before the tablix
        let lead_row = lead && !seen_break;
        seen_break |= rb.is_some();
        let forced = row_break || (rb.is_some_and(|b| b.before) && !lead_row);
        let reset = row_reset || rb.is_some_and(|b| b.before && b.reset_page_number);
        row_break = rb.is_some_and(|b| b.after);
        row_reset = rb.is_some_and(|b| b.after && b.reset_page_number);
        let only_repeats = rows.iter().all(|x| repeat.contains(x));
        // KeepWithGroup=After: the row and the rows it keeps with must start together
        let mut need = h;
        let mut k = r;
        while flags(k).is_some_and(|g| g.keep_with_next) && need <= c.limit {
            let Some(n) = (k + 1..n_rows).find(|&n| heights[n] > 0) else {
                break;
            };
            need += heights[n];
            k = n;
        }
        let kept_out = need > h && y + need > c.limit && need + repeat_h <= c.limit;
        if (y + h > c.limit || forced || kept_out) && !only_repeats {
            // KeepWithGroup=Before: the previous row comes along to the new page
            let mut carry = None;
            if y + h > c.limit && flags(r).is_some_and(|g| g.keep_with_previous) {
                let data_rows = rows.iter().filter(|x| !repeat.contains(x)).count();
                if let Some(&last) = rows.last()
                    && data_rows >= 2
                    && !repeat.contains(&last)
                {
                    rows.pop();
                    carry = Some(last);
                }
            }
            push(c, std::mem::take(&mut rows), start);
            if !c.new_page() {
                return (0, false, false);
            }
            if forced && reset {
                c.cur().reset = true;
            }
            start = 0;
            y = 0;
            if !repeat.contains(&(r as u32)) && repeat_h + h <= c.limit {
                rows.extend(repeat.iter().copied().filter(|&x| (x as usize) < r));
                y = rows.iter().map(|&x| heights[x as usize]).sum();
            }
            if let Some(l) = carry {
                rows.push(l);
                y += heights[l as usize];
            }
        } else if y + h > c.limit && only_repeats && start > 0 && !rows.is_empty() {
            // the header rows alone do not go at the bottom of a page
            rows.clear();
            if !c.new_page() {
                return (0, false, false);
            }
            start = 0;
            y = 0;
            for &x in &repeat {
                if (x as usize) < r {
                    rows.push(x);
                    y += heights[x as usize];
                }
            }
        }
        c.name(rb);
        rows.push(r as u32);
        y += h;
    }
    push(c, rows, start);
    (y, row_break, row_reset)
}

/// Heights of a tablix's grid rows, then of its streamed detail rows: each bound and
/// measured (only the height is kept), or, when no cell of a detail row can grow, the first
/// row's height for all of them (nothing is bound but the first row).
fn tablix_heights(
    t: &Tablix,
    m: &dyn TextMeasurer,
) -> Result<std::rc::Rc<[Len]>, crate::EngineError> {
    let mut h: Vec<Len> = (0..t.rows.len()).map(|r| row_height(t, r, m)).collect();
    if let Some(s) = &t.streamed
        && !s.rows.is_empty()
    {
        let n = s.rows.len();
        h.reserve(n);
        match streamed_row_height(t, m) {
            Some(h0) => h.extend(std::iter::repeat_n(h0, n)),
            None => {
                for i in 0..n {
                    h.push(grid_row_height(&s.rows.row(i)?, m));
                }
            }
        }
    }
    Ok(h.into())
}

/// The bound rows of a streamed tablix the pages being emitted show: rows are bound in
/// order as pages need them and dropped once no later page can show them, so emission holds
/// about a page of rows (pages before `StartPage` bind their rows too: running values and
/// row numbers depend on every row before).
#[derive(Default)]
struct Window {
    /// Grid index of `rows[0]` (the tablix's own grid rows come first).
    base: usize,
    rows: std::collections::VecDeque<GridRow>,
    /// Rows of pages done, bound again in place for later pages
    /// ([`crate::instance::DetailRows::row_into`]: a plain row changes only its values
    /// and keeps its cells' allocations), at most [`SPARE_ROWS`].
    spare: Vec<GridRow>,
}

/// Most rows [`Window`] keeps for reuse (a page's worth and more).
const SPARE_ROWS: usize = 256;

impl Window {
    /// Makes rows `lo..=hi` (grid indices past the tablix's own rows) available.
    fn fill(&mut self, t: &Tablix, lo: usize, hi: usize) -> Result<(), crate::EngineError> {
        let Some(s) = &t.streamed else { return Ok(()) };
        let own = t.rows.len();
        if self.rows.is_empty() && self.base < own {
            self.base = own;
        }
        while self.base < lo
            && let Some(done) = self.rows.pop_front()
        {
            if self.spare.len() < SPARE_ROWS {
                self.spare.push(done);
            }
            self.base += 1;
        }
        while self.base + self.rows.len() <= hi {
            let i = self.base + self.rows.len() - own;
            let row = match self.spare.pop() {
                Some(mut r) => {
                    s.rows.row_into(i, &mut r)?;
                    r
                }
                None => s.rows.row(i)?,
            };
            if self.base + self.rows.len() < lo {
                // a row of a page not rendered (StartPage): bound in order, not kept
                self.base += 1;
                self.spare.push(row);
            } else {
                self.rows.push_back(row);
            }
        }
        Ok(())
    }

    fn get<'t>(&'t self, t: &'t Tablix, r: usize) -> Option<&'t GridRow> {
        match t.rows.get(r) {
            Some(row) => Some(row),
            None => self.rows.get(r.checked_sub(self.base)?),
        }
    }
}

#[allow(clippy::too_many_arguments)] // reason: one call site shape, all plain data
fn emit_rows(
    m: &dyn TextMeasurer,
    item: &Item,
    t: &Tablix,
    window: &Window,
    rows: &[u32],
    heights: &[Len],
    (left, top): (Len, Len),
    out: &mut Vec<PageItem>,
    ri: &mut ReportItems,
) {
    let mut xs = vec![0 as Len];
    for w in &t.columns {
        xs.push(xs[xs.len() - 1] + w);
    }
    let total_h: Len = rows.iter().map(|&r| heights[r as usize]).sum();
    push_box(
        out,
        &item.style,
        Rect {
            x: left,
            y: top,
            w: item.width,
            h: total_h,
        },
    );
    let mut y = top;
    for (k, &r) in rows.iter().enumerate() {
        let h = heights[r as usize];
        if h == 0 {
            continue;
        }
        let Some(row) = window.get(t, r as usize) else {
            continue;
        };
        for cell in &row.cells {
            let Some(ci) = &cell.item else { continue };
            let x0 = xs.get(cell.col).copied().unwrap_or(0);
            let x1 = xs
                .get(cell.col + cell.colspan.max(1))
                .copied()
                .unwrap_or(x0 + ci.width);
            // a row-spanning cell covers the following rows on this page
            let mut ch = h;
            for next in rows.iter().skip(k + 1).take(cell.rowspan.max(1) - 1) {
                ch += heights[*next as usize];
            }
            ri.depth = ri.depth.saturating_add(1);
            emit_item(m, ci, left + x0, y, ch, Some(x1 - x0), out, ri);
            ri.depth -= 1;
        }
        y += h;
    }
}

fn push_box(out: &mut Vec<PageItem>, style: &BoxStyle, rect: Rect) {
    let has_border = style
        .borders
        .iter()
        .any(|b| b.style != crate::instance::BorderStyle::None && b.width > 0);
    if style.background.is_some() || has_border {
        out.push(PageItem::Box {
            rect,
            style: *style,
        });
    }
}

/// Textbox values on a page for `ReportItems!Name` in its header and footer (collected
/// only when the section has one).
struct ReportItems {
    on: bool,
    values: Vec<(String, rdl::Value)>,
    /// Nesting depth of the item being emitted (document map levels).
    depth: u8,
}

/// Flattens one item at (x, y) with the laid-out height `h` (and `width` instead of its
/// own, for a tablix cell).
#[allow(clippy::too_many_arguments)] // reason: one recursive shape, all plain data
fn emit_item(
    m: &dyn TextMeasurer,
    item: &Item,
    x: Len,
    y: Len,
    h: Len,
    width: Option<Len>,
    out: &mut Vec<PageItem>,
    ri: &mut ReportItems,
) {
    if !item.visibility.is_visible() {
        return;
    }
    let rect = Rect {
        x,
        y,
        w: width.unwrap_or(item.width),
        h,
    };
    if let Some(b) = &item.bookmark {
        out.push(PageItem::Anchor {
            bookmark: b.clone(),
            y,
        });
    }
    if let Some(l) = &item.document_map_label {
        out.push(PageItem::Label {
            text: l.clone(),
            level: ri.depth,
            y,
        });
    }
    match &item.kind {
        ItemKind::Textbox(tb) => {
            if ri.on {
                ri.values.push((item.name.to_string(), tb.value.clone()));
            }
            push_box(out, &item.style, rect);
            out.push(PageItem::Text {
                rect,
                padding: item.style.padding,
                valign: item.style.vertical_align,
                paragraphs: tb.paragraphs.clone(),
            });
            if let Some(Action::Hyperlink(u)) = &tb.action {
                out.push(PageItem::Link {
                    rect,
                    url: u.clone(),
                });
            }
        }
        ItemKind::Rectangle(children) => {
            push_box(out, &item.style, rect);
            let (layout, _) = layout_children(children, m);
            for (ch, (top, chh)) in children.iter().zip(layout) {
                if top >= h {
                    continue;
                }
                ri.depth = ri.depth.saturating_add(1);
                emit_item(m, ch, x + ch.left, y + top, chh.min(h - top), None, out, ri);
                ri.depth -= 1;
            }
        }
        ItemKind::Line { border } => out.push(PageItem::Line {
            from: (x, y),
            to: (x + item.width, y + item.height),
            border: *border,
        }),
        ItemKind::Image(img) => {
            push_box(out, &item.style, rect);
            out.push(PageItem::Image {
                rect,
                image: (**img).clone(),
            });
            if let Some(Action::Hyperlink(u)) = &img.action {
                out.push(PageItem::Link {
                    rect,
                    url: u.clone(),
                });
            }
        }
        ItemKind::Tablix(t) => {
            if t.rows.is_empty() {
                if let Some(msg) = &t.no_rows_message {
                    out.push(text_item(rect, msg));
                }
                return;
            }
            let heights: Vec<Len> = (0..t.rows.len()).map(|r| row_height(t, r, m)).collect();
            let rows: Vec<u32> = (0..t.rows.len() as u32).collect();
            let none = Window::default();
            emit_rows(m, item, t, &none, &rows, &heights, (x, y), out, ri);
        }
        ItemKind::Subreport(Ok(sub)) => {
            if let Some(s) = sub.sections.first() {
                let (layout, _) = layout_children(&s.body, m);
                for (ch, (top, chh)) in s.body.iter().zip(layout) {
                    if top >= h {
                        continue;
                    }
                    ri.depth = ri.depth.saturating_add(1);
                    emit_item(m, ch, x + ch.left, y + top, chh.min(h - top), None, out, ri);
                    ri.depth -= 1;
                }
            }
        }
        ItemKind::Subreport(Err(e)) => out.push(text_item(rect, e)),
        ItemKind::Placeholder(k) => {
            let mut st = BoxStyle::default();
            for b in &mut st.borders {
                b.style = crate::instance::BorderStyle::Dashed;
                b.color = crate::instance::Color {
                    r: 128,
                    g: 128,
                    b: 128,
                    a: 255,
                };
            }
            out.push(PageItem::Box { rect, style: st });
            out.push(text_item(rect, k.label()));
        }
    }
}

fn text_item(rect: Rect, text: &str) -> PageItem {
    PageItem::Text {
        rect,
        padding: [crate::instance::pt(2.0); 4],
        valign: Default::default(),
        paragraphs: vec![Paragraph {
            runs: vec![crate::instance::Run {
                text: text.to_owned(),
                value: rdl::Value::Null,
                style: Default::default(),
                action: None,
                format: None,
            }],
            align: Default::default(),
            left_indent: 0,
        }],
    }
}

/// The laid-out height of an item (re-exported for renderers that size boxes).
pub fn laid_out_height(item: &Item, m: &dyn TextMeasurer) -> Len {
    item_height(item, m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_footer_rule() {
        let s = |f: bool, l: bool| PageSection {
            height: 0,
            print_on_first_page: f,
            print_on_last_page: l,
            style: BoxStyle::default(),
            items: std::sync::Arc::new(crate::instance::StaticItems::default()),
        };
        // single page: header needs PrintOnFirstPage, footer needs PrintOnLastPage
        assert!(header_shows(&s(true, false), 1, 1));
        assert!(!header_shows(&s(false, true), 1, 1));
        assert!(!footer_shows(&s(true, false), 1, 1));
        assert!(footer_shows(&s(false, true), 1, 1));
        assert!(header_shows(&s(false, false), 2, 3));
        assert!(!header_shows(&s(false, false), 3, 3));
        assert!(header_shows(&s(false, true), 3, 3));
    }

    #[test]
    fn page_ranges() {
        assert_eq!(page_range(0, 0, 7), (1, 7));
        assert_eq!(page_range(3, 0, 7), (3, 7));
        assert_eq!(page_range(3, 2, 7), (3, 3));
        assert_eq!(page_range(2, 4, 7), (2, 4));
        assert_eq!(page_range(2, 40, 7), (2, 7));
    }

    #[test]
    fn margins_collapse_and_sizes_clamp() {
        let mut w = Vec::new();
        let s = PageSettings {
            margins: [6 * UM_PER_INCH; 4],
            ..PageSettings::default()
        };
        let g = geometry(&s, None, None, &HardPageOptions::default(), &mut w);
        assert_eq!(g.margins, [0; 4]);
        assert_eq!(g.column_width, 85 * UM_PER_INCH / 10);
        let o = HardPageOptions {
            page_width: Some(0),
            page_height: Some(1000 * UM_PER_INCH),
            columns: Some(3),
            column_spacing: Some(UM_PER_INCH / 2),
            ..Default::default()
        };
        let g = geometry(&PageSettings::default(), None, None, &o, &mut w);
        assert_eq!((g.width, g.height), (MIN_PAGE_SIDE, MAX_PAGE_SIDE));
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[1].contains("160in"));
    }
}
