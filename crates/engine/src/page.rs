//! Soft pagination (HTML5 and the viewer, §2.2-8): cuts the instance tree into vertical pages
//! of about `InteractiveHeight`, and evaluates page headers/footers per page.
//!
//! Owns: item heights (growing textboxes through a [`TextMeasurer`]), item placement when
//! items above grow, splitting tablix rows over pages with repeated header rows, the
//! header/footer visibility rule (§2.2-3) and the page context (`PageNumber`, `TotalPages`,
//! `ReportItems` on the page). Must not: render anything, or copy the items (pages borrow).
//!
//! A tablix with streamed detail rows ([`Tablix::streamed`]) is paginated without binding
//! them when their height is known from the first one ([`streamed_row_height`]: no cell can
//! grow); its grid rows are then numbered on past `rows` (streamed row `i` is grid row
//! `rows.len() + i`). Reports where that does not hold ([`paginates_streamed`] is false)
//! must be materialized first.

use crate::instance::{
    GridRow, Instance, Item, ItemKind, Len, PageBreak, PageContext, Tablix, TextStyle, Textbox,
    Visibility,
};

/// Grid rows of `t`, streamed detail rows included.
pub fn grid_rows(t: &Tablix) -> usize {
    t.rows.len() + t.streamed.as_ref().map_or(0, |s| s.rows.len())
}

/// The height of every streamed detail row of `t`, when it is known without binding them:
/// the first row's cells are textboxes that cannot grow (`CanGrow` is not an expression, so
/// every row has the same design height) and every footer row streamed after them
/// ([`crate::instance::StreamedDetails::tail`]) is such a row of that height. `None`: no
/// streamed rows, or they must be measured.
pub fn streamed_row_height(t: &Tablix, m: &dyn TextMeasurer) -> Option<Len> {
    let s = t.streamed.as_ref()?;
    if s.rows.is_empty() {
        return Some(0);
    }
    let fixed = |row: &GridRow| {
        row.cells.iter().all(|c| match &c.item {
            None => true,
            Some(i) => matches!(&i.kind, ItemKind::Textbox(tb) if !tb.can_grow),
        })
    };
    let row = s.rows.row(0).ok()?;
    let h = fixed(&row).then(|| grid_row_height(&row, m))?;
    // footer rows (bound here for their shape only: a pass starts again at row 0) must
    // have that height too
    for i in s.rows.len() - s.tail.len()..s.rows.len() {
        let row = s.rows.row(i).ok()?;
        if !fixed(&row) || grid_row_height(&row, m) != h {
            return None;
        }
    }
    Some(h)
}

/// True when [`paginate`] can cut `inst` into pages without measuring streamed rows: every
/// streamed tablix has rows of a known height ([`streamed_row_height`]). (With a page header
/// or footer, [`paginate`] binds the streamed rows once, in order, for the values each page
/// shows them.)
pub fn paginates_streamed(inst: &Instance, m: &dyn TextMeasurer) -> bool {
    inst.sections.iter().all(|s| {
        s.body.iter().all(|i| match &i.kind {
            ItemKind::Tablix(t) if t.streamed.is_some() => streamed_row_height(t, m).is_some(),
            _ => true,
        })
    })
}

/// Measures text for pagination.
pub trait TextMeasurer {
    /// The height of `text` laid out in `style` wrapped at `width` (one line at least).
    fn text_height(&self, text: &str, style: &TextStyle, width: Len) -> Len;
}

/// A measurer for soft pages: every character is 0.5 em wide, lines are 1.2 em high.
#[derive(Debug, Clone, Copy, Default)]
pub struct AverageCharMeasurer;

impl TextMeasurer for AverageCharMeasurer {
    fn text_height(&self, text: &str, style: &TextStyle, width: Len) -> Len {
        let char_w = (style.font_size / 2).max(1);
        let per_line = (width / char_w).max(1) as usize;
        let mut lines = 0usize;
        for line in text.split('\n') {
            let n = line.trim_end_matches('\r').chars().count();
            lines += n.div_ceil(per_line).max(1);
        }
        lines.max(1) as Len * style.font_size * 12 / 10
    }
}

/// Soft-page options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftPageOptions {
    /// Page body height; `None` = each section's `InteractiveHeight`; `Some(0)` = one page
    /// per section.
    pub height: Option<Len>,
}

/// A top-level body item placed on a page.
#[derive(Debug, Clone)]
pub struct Placed<'a> {
    /// The item.
    pub item: &'a Item,
    /// Top on this page (relative to the page body).
    pub top: Len,
    /// Height it takes on this page.
    pub height: Len,
    /// For a tablix: the grid rows on this page (repeated header rows first).
    pub rows: Option<Vec<usize>>,
}

/// One soft page.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    /// Index of the report section.
    pub section: usize,
    /// `Globals!PageNumber`: the page's number (1-based), restarting at each
    /// `ResetPageNumber` break.
    pub number: u32,
    /// `Globals!TotalPages`: pages in this numbering region.
    pub total: u32,
    /// `Globals!OverallPageNumber` (never resets).
    pub overall_number: u32,
    /// `Globals!OverallTotalPages`.
    pub overall_total: u32,
    /// `Globals!PageName`: `InitialPageName`, then the `PageName` of the last item that
    /// started on this or an earlier page.
    pub name: String,
    /// Header items, when the header shows on this page.
    pub header: Option<Vec<Item>>,
    /// Footer items, when the footer shows on this page.
    pub footer: Option<Vec<Item>>,
    /// Body items on this page.
    pub body: Vec<Placed<'a>>,
    /// Height of the body on this page.
    pub body_height: Len,
}

/// Height of an item as laid out (textboxes grow, tablixes sum their rows).
pub fn item_height(item: &Item, m: &dyn TextMeasurer) -> Len {
    match &item.kind {
        ItemKind::Textbox(tb) => textbox_height(item, tb, m),
        ItemKind::Tablix(t) => {
            if grid_rows(t) == 0 {
                return item.height;
            }
            let streamed = t.streamed.as_ref().map_or(0, |s| s.rows.len()) as Len;
            let fixed = if streamed > 0 {
                streamed_row_height(t, m).unwrap_or(0)
            } else {
                0
            };
            (0..t.rows.len()).map(|r| row_height(t, r, m)).sum::<Len>() + streamed * fixed
        }
        ItemKind::Rectangle(children) => {
            let grown = layout_children(children, m).1;
            item.height.max(grown)
        }
        // a subreport grows with its body (sections stacked)
        ItemKind::Subreport(Ok(sub)) => {
            let grown: Len = sub
                .sections
                .iter()
                .map(|s| layout_children(&s.body, m).1)
                .sum();
            item.height.max(grown)
        }
        _ => item.height,
    }
}

fn textbox_height(item: &Item, tb: &Textbox, m: &dyn TextMeasurer) -> Len {
    if !tb.can_grow || item.width <= 0 {
        return item.height;
    }
    let pad = item.style.padding;
    let width = (item.width - pad[1] - pad[3]).max(1);
    let mut h = pad[0] + pad[2];
    for p in &tb.paragraphs {
        let text: std::borrow::Cow<'_, str> = match p.runs.as_slice() {
            [r] => r.text.as_str().into(),
            runs => runs
                .iter()
                .map(|r| r.text.as_str())
                .collect::<String>()
                .into(),
        };
        h += match p.runs.first() {
            Some(r) => m.text_height(&text, &r.style, width),
            None => m.text_height(&text, &TextStyle::default(), width),
        };
    }
    item.height.max(h)
}

/// Height of one grid row: its design height or the tallest single-row cell's content.
pub fn row_height(t: &Tablix, row: usize, m: &dyn TextMeasurer) -> Len {
    let Some(r) = t.rows.get(row) else { return 0 };
    if !r.visibility.is_visible() && r.visibility != Visibility::AlwaysHidden {
        return 0;
    }
    grid_row_height(r, m)
}

pub(crate) fn grid_row_height(r: &GridRow, m: &dyn TextMeasurer) -> Len {
    let mut h = r.height;
    for c in &r.cells {
        if c.rowspan == 1
            && let Some(item) = &c.item
        {
            h = h.max(item_height(item, m));
        }
    }
    h
}

/// Lays out sibling items: returns each one's top after items above it grew, and the total
/// height. An item moves down by the growth of every item that ends above its top.
pub fn layout_children(items: &[Item], m: &dyn TextMeasurer) -> (Vec<(Len, Len)>, Len) {
    let heights: Vec<Len> = items
        .iter()
        .map(|i| match i.visibility {
            Visibility::Hidden | Visibility::ToggleHidden => 0,
            _ => item_height(i, m),
        })
        .collect();
    let mut out = Vec::with_capacity(items.len());
    let mut bottom = 0;
    for (i, item) in items.iter().enumerate() {
        let mut shift: Len = 0;
        for (j, other) in items.iter().enumerate() {
            if j != i && other.top + other.height <= item.top {
                shift += heights[j] - other.height;
            }
        }
        let top = (item.top + shift).max(0);
        bottom = bottom.max(top + heights[i]);
        out.push((top, heights[i]));
    }
    (out, bottom)
}

/// Cuts every section of `inst` into soft pages and evaluates headers and footers.
pub fn paginate<'a>(
    inst: &'a Instance,
    opts: SoftPageOptions,
    m: &dyn TextMeasurer,
) -> Vec<Page<'a>> {
    let mut pages: Vec<Page<'a>> = Vec::new();
    // page indices where numbering restarts, and (page index, name) of named items
    let mut resets: Vec<usize> = Vec::new();
    let mut names: Vec<(usize, String)> = Vec::new();
    for (si, section) in inst.sections.iter().enumerate() {
        let limit = opts.height.unwrap_or(section.page.interactive_height);
        let (layout, _) = layout_children(&section.body, m);
        let mut order: Vec<usize> = (0..section.body.len()).collect();
        order.sort_by_key(|&i| (layout[i].0, section.body[i].left));
        let mut cur: Vec<Placed<'a>> = Vec::new();
        let mut page_start: Len = 0; // body offset where the current page begins
        let mut cur_height: Len = 0;
        let mut break_pending = false;
        let mut reset_pending = false;
        let flush = |cur: &mut Vec<Placed<'a>>, h: &mut Len, pages: &mut Vec<Page<'a>>| {
            pages.push(Page {
                section: si,
                number: 0,
                total: 0,
                overall_number: 0,
                overall_total: 0,
                name: String::new(),
                header: None,
                footer: None,
                body: std::mem::take(cur),
                body_height: *h,
            });
            *h = 0;
        };
        for i in order {
            let item = &section.body[i];
            let (top, height) = layout[i];
            if matches!(
                item.visibility,
                Visibility::Hidden | Visibility::ToggleHidden
            ) {
                continue;
            }
            // logical page breaks (§2.2-5) on top-level rectangles and data regions
            let pb = item.page_break.as_ref();
            let lead = leading_group_break(item);
            if (break_pending || pb.is_some_and(|b| b.before) || lead.is_some()) && !cur.is_empty()
            {
                flush(&mut cur, &mut cur_height, &mut pages);
                page_start = top;
                if reset_pending {
                    resets.push(pages.len());
                }
            }
            if let Some(b) = pb.into_iter().chain(lead).next() {
                if b.before && b.reset_page_number {
                    resets.push(pages.len());
                }
                if let Some(n) = &b.page_name {
                    names.push((pages.len(), n.clone()));
                }
            }
            break_pending = pb.is_some_and(|b| b.after);
            reset_pending = pb.is_some_and(|b| b.after && b.reset_page_number);
            let mut rel_top = (top - page_start).max(0);
            if limit > 0 && rel_top >= limit && !cur.is_empty() {
                flush(&mut cur, &mut cur_height, &mut pages);
                page_start = top;
                rel_top = 0;
            }
            if let ItemKind::Tablix(t) = &item.kind
                && ((limit > 0 && rel_top + height > limit)
                    || t.rows.iter().any(|r| r.page_break.is_some()))
                && grid_rows(t) > 0
            {
                // split the rows over pages, repeating the marked header rows (streamed
                // detail rows have no breaks and do not repeat)
                let n = grid_rows(t);
                let fixed = streamed_row_height(t, m).unwrap_or(0);
                let repeat: Vec<usize> = (0..t.rows.len())
                    .filter(|&r| t.rows[r].repeat_on_new_page)
                    .collect();
                let repeat_h: Len = repeat.iter().map(|&r| row_height(t, r, m)).sum();
                let mut rows: Vec<usize> = Vec::new();
                let mut y = rel_top;
                let mut start_top = rel_top;
                // a group instance's break after its last row, pending for the next row
                let mut row_break = false;
                let mut row_reset = false;
                for r in 0..n {
                    let h = if r < t.rows.len() {
                        row_height(t, r, m)
                    } else {
                        fixed
                    };
                    if h == 0 {
                        continue;
                    }
                    let rb = t.rows.get(r).and_then(|x| x.page_break.as_ref());
                    // the first group instance's Start break moved before the tablix
                    let lead_row = lead.is_some()
                        && t.rows[..r.min(t.rows.len())]
                            .iter()
                            .all(|x| x.page_break.is_none());
                    let forced = row_break || (rb.is_some_and(|b| b.before) && !lead_row);
                    let reset = row_reset || rb.is_some_and(|b| b.before && b.reset_page_number);
                    row_break = rb.is_some_and(|b| b.after);
                    row_reset = rb.is_some_and(|b| b.after && b.reset_page_number);
                    let only_repeats = rows.iter().all(|x| repeat.contains(x));
                    if ((limit > 0 && y + h > limit) || forced) && !only_repeats {
                        let used = y - start_top;
                        cur.push(Placed {
                            item,
                            top: start_top,
                            height: used,
                            rows: Some(std::mem::take(&mut rows)),
                        });
                        cur_height = cur_height.max(y);
                        flush(&mut cur, &mut cur_height, &mut pages);
                        page_start = top + y - rel_top;
                        start_top = 0;
                        y = repeat_h;
                        rows.extend(repeat.iter().copied().filter(|&x| x != r));
                        if forced && reset {
                            resets.push(pages.len());
                        }
                    }
                    if let Some(n) = rb.and_then(|b| b.page_name.as_ref()) {
                        names.push((pages.len(), n.clone()));
                    }
                    rows.push(r);
                    y += h;
                }
                if row_break {
                    // an End break on the last group instance: the next item starts a page
                    break_pending = true;
                    reset_pending |= row_reset;
                }
                cur_height = cur_height.max(y);
                cur.push(Placed {
                    item,
                    top: start_top,
                    height: y - start_top,
                    rows: Some(rows),
                });
                continue;
            }
            let rows = match &item.kind {
                ItemKind::Tablix(t) => Some((0..grid_rows(t)).collect()),
                _ => None,
            };
            cur_height = cur_height.max(rel_top + height);
            cur.push(Placed {
                item,
                top: rel_top,
                height,
                rows,
            });
        }
        if !cur.is_empty() || pages.iter().all(|p| p.section != si) {
            flush(&mut cur, &mut cur_height, &mut pages);
        }
    }
    let total = pages.len() as u32;
    number_pages(&mut pages, &resets, &names, &inst.initial_page_name);
    // the values on each page first (streamed rows bound in order, once), then the bands:
    // they are evaluated with every row bound, as after a bind of the whole tree
    let items: Vec<Vec<(String, rdl::Value)>> = pages
        .iter()
        .map(|p| {
            let section = &inst.sections[p.section];
            // only page headers and footers read them
            if section.header.is_some() || section.footer.is_some() {
                page_report_items(&p.body)
            } else {
                Vec::new()
            }
        })
        .collect();
    for (p, report_items) in pages.iter_mut().zip(items) {
        let section = &inst.sections[p.section];
        let first_of_section = p.overall_number == 1;
        let last_of_section = p.overall_number == total;
        let ctx = PageContext {
            page_number: p.number,
            total_pages: p.total,
            overall_page_number: p.overall_number,
            overall_total_pages: total,
            page_name: p.name.clone(),
            report_items,
        };
        let n = p.overall_number;
        if let Some(h) = &section.header {
            let show = (n > 1 && !last_of_section)
                || (h.print_on_first_page && first_of_section)
                || (h.print_on_last_page && last_of_section && !first_of_section);
            if show {
                p.header = Some(h.items.evaluate(&ctx));
            }
        }
        if let Some(f) = &section.footer {
            let show = (n > 1 && !last_of_section)
                || (f.print_on_first_page && first_of_section && !last_of_section)
                || (f.print_on_last_page && last_of_section);
            if show {
                p.footer = Some(f.items.evaluate(&ctx));
            }
        }
    }
    pages
}

/// The `before` break of a tablix's first breaking row: it breaks before the tablix (the
/// rows above it — column headers — stay with the first group instance).
fn leading_group_break(item: &Item) -> Option<&PageBreak> {
    let ItemKind::Tablix(t) = &item.kind else {
        return None;
    };
    t.rows
        .iter()
        .find_map(|r| r.page_break.as_ref())
        .filter(|b| b.before)
}

/// Numbers pages: overall numbers run through; `number`/`total` restart at every index in
/// `resets`; names carry forward from `initial` and each `(page, name)`.
fn number_pages(
    pages: &mut [Page<'_>],
    resets: &[usize],
    names: &[(usize, String)],
    initial: &str,
) {
    let total = pages.len() as u32;
    let mut start = 0usize;
    let mut name = initial.to_owned();
    for i in 0..pages.len() {
        if i > 0 && resets.contains(&i) {
            start = i;
        }
        let end = (i + 1..pages.len())
            .find(|j| resets.contains(j))
            .unwrap_or(pages.len());
        if let Some((_, n)) = names.iter().find(|(p, _)| *p == i) {
            name.clone_from(n);
        }
        let p = &mut pages[i];
        p.overall_number = i as u32 + 1;
        p.overall_total = total;
        p.number = (i - start) as u32 + 1;
        p.total = (end - start) as u32;
        p.name.clone_from(&name);
    }
}

/// The textbox values on a page, in page order (for `ReportItems!X` in headers/footers).
fn page_report_items(body: &[Placed<'_>]) -> Vec<(String, rdl::Value)> {
    let mut out = Vec::new();
    for p in body {
        match (&p.item.kind, &p.rows) {
            (ItemKind::Tablix(t), Some(rows)) => {
                for &r in rows {
                    let bound;
                    let row = match (t.rows.get(r), &t.streamed) {
                        (Some(row), _) => row,
                        // a streamed row, bound here (a failure shows when it is written)
                        (None, Some(s)) => match s.rows.row(r - t.rows.len()) {
                            Ok(row) => {
                                bound = row;
                                &bound
                            }
                            Err(_) => continue,
                        },
                        (None, None) => continue,
                    };
                    for c in &row.cells {
                        if let Some(i) = &c.item {
                            collect_items(i, &mut out);
                        }
                    }
                }
            }
            _ => collect_items(p.item, &mut out),
        }
    }
    out
}

fn collect_items(item: &Item, out: &mut Vec<(String, rdl::Value)>) {
    match &item.kind {
        ItemKind::Textbox(tb) => out.push((item.name.clone(), tb.value.clone())),
        ItemKind::Rectangle(ch) => ch.iter().for_each(|c| collect_items(c, out)),
        ItemKind::Tablix(t) => {
            for r in &t.rows {
                for c in &r.cells {
                    if let Some(i) = &c.item {
                        collect_items(i, out);
                    }
                }
            }
        }
        _ => {}
    }
}
