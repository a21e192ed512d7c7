//! Streamed detail rows (`BindOptions::stream_details`): the detail rows of a report's only
//! tablix are bound one at a time while a renderer writes them, so a large table never
//! exists as a tree of cells.
//!
//! Owns: which tablix qualifies (its output for a detail row depends on that row and the
//! rows before it only, and nothing of the tree follows the rows: the only item of the only
//! section's body; static leaf columns; static leaf rows, a plain details group, then static
//! leaf footer rows without visibility or `RepeatOnNewPage`; detail cells are textboxes
//! without spans or data-dependent visibility, footer cells textboxes that may span columns
//! but not rows) and binding one row exactly as [`Shared::tablix`] binds it in the tree.
//! Must not: change what a bind evaluates or in which order (rows are bound in order, after
//! the tablix's static rows before the details; footer rows after the last detail row).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rdl::Value;

use rdl::model::{self, Expression, TablixMember};

use super::{Frame, Running, SetRows, Shared, const_box_style, const_text_style, is_const, lock};
use crate::EngineError;
use crate::instance::{self as inst, Len};

/// What a streamed tablix's rows need from its bind.
pub(super) struct Pending {
    /// Index of the details member in the tablix's `row_members`.
    pub(super) member: usize,
    /// The definition row of the details (its index in `TablixBody/TablixRows`).
    pub(super) def_leaf: usize,
    /// The key of the details' parent scope (for toggles).
    pub(super) parent_key: Arc<str>,
    /// The details group's name.
    pub(super) group_name: Arc<str>,
    /// The frames the tablix's cells see.
    pub(super) chain: Vec<Frame>,
    /// The detail rows in order (filtered and sorted).
    pub(super) rows: Arc<[u32]>,
    /// Their data set.
    pub(super) set: Arc<SetRows>,
    /// Column leaves: (grid column, definition cell, visibility of the column member).
    pub(super) cols: Vec<(usize, usize, inst::Visibility)>,
    /// Grid column widths.
    pub(super) widths: Vec<Len>,
    /// The footer rows, in order.
    pub(super) tail: Vec<Tail>,
}

/// A footer row of a streamed tablix (a static row after the details).
pub(super) struct Tail {
    /// The frames its cells see.
    pub(super) frames: Vec<Frame>,
    /// Its definition row.
    pub(super) def_leaf: usize,
    /// Its row without cells (height, keeps).
    pub(super) shell: inst::GridRow,
    /// Column leaves: (grid column, definition cell, visibility of the column member).
    pub(super) cols: Vec<(usize, usize, inst::Visibility)>,
}

/// The address of the tablix definition whose rows may stream, if the report has one.
pub(super) fn target(sh: &Shared) -> Option<usize> {
    let r = &sh.c.report;
    let [s] = r.sections.as_slice() else {
        return None;
    };
    let [item] = s.body.items.as_slice() else {
        return None;
    };
    let model::ItemKind::Tablix(t) = &item.kind else {
        return None;
    };
    qualifies(sh, t).then_some(&**t as *const model::Tablix as usize)
}

fn static_leaf(m: &TablixMember) -> bool {
    m.group.is_none() && m.members.is_empty() && m.header.is_none()
}

fn qualifies(sh: &Shared, t: &model::Tablix) -> bool {
    if !t.corner.is_empty() || !t.column_hierarchy.iter().all(static_leaf) {
        return false;
    }
    let Some(k) = t.row_hierarchy.iter().position(|m| !static_leaf(m)) else {
        return false;
    };
    let (details, after) = (&t.row_hierarchy[k], &t.row_hierarchy[k + 1..]);
    let footer_member =
        |m: &TablixMember| static_leaf(m) && m.visibility.is_none() && !m.repeat_on_new_page;
    if !after.iter().all(footer_member) {
        return false;
    }
    let Some(g) = &details.group else {
        return false;
    };
    let plain_group = g.is_details()
        && g.filters.is_empty()
        && g.parent.is_none()
        && g.page_break.is_none()
        && g.page_name.is_none()
        && g.variables.is_empty()
        && !sh.user_sorts.contains_key(&g.name);
    let plain_member = details.members.is_empty()
        && details.header.is_none()
        && details.visibility.is_none()
        && !details.hide_if_no_rows
        && details.sort_expressions.is_empty();
    if !(plain_group && plain_member) {
        return false;
    }
    let Some(row) = t.rows.get(k) else {
        return false;
    };
    let textbox = |c: &model::CellContents| {
        c.row_span <= 1
            && matches!(c.item.kind, model::ItemKind::Textbox(_))
            && c.item.visibility.as_ref().is_none_or(|v| {
                v.toggle_item.is_none() && matches!(v.hidden, None | Some(Expression::Constant(_)))
            })
    };
    let footers = t.rows.get(k + 1..k + 1 + after.len());
    row.cells
        .iter()
        .flatten()
        .all(|c| c.col_span <= 1 && textbox(c))
        && footers.is_some_and(|f| f.iter().all(|r| r.cells.iter().flatten().all(textbox)))
}

impl Shared {
    /// The index of the details member when `t`'s rows stream in this bind (`rows` of them).
    pub(super) fn stream_here(
        &self,
        t: &model::Tablix,
        frames: &[Frame],
        rows: usize,
    ) -> Option<usize> {
        if rows == 0
            || !frames.is_empty()
            || self.stream_target != Some(t as *const model::Tablix as usize)
            || lock(&self.stream_pending).is_some()
        {
            return None;
        }
        let k = t.row_hierarchy.iter().position(|m| !static_leaf(m))?;
        // a bind that would exceed the cell limit fails before any output, in the tree
        let per_row = t.rows.get(k)?.cells.iter().flatten().count();
        let all: usize = t.rows.iter().map(|r| r.cells.len()).sum();
        let cells = self.cells.load(Ordering::Relaxed);
        let need = cells
            .saturating_add(rows.saturating_mul(per_row))
            .saturating_add(all);
        (need <= self.opts.max_cells).then_some(k)
    }
}

/// Hands the pending streamed rows to the tablix of `body` that left them.
pub(super) fn attach(sh: &Arc<Shared>, body: &mut [inst::Item]) {
    let Some(p) = lock(&sh.stream_pending).take() else {
        return;
    };
    for item in body {
        if let inst::ItemKind::Tablix(t) = &mut item.kind {
            t.streamed = Some(inst::StreamedDetails {
                member: p.member,
                tail: p.tail.iter().map(|f| f.shell.clone()).collect(),
                rows: Arc::new(Source {
                    culture: netfmt::Culture::get_or_en_us(&sh.culture),
                    start: Snapshot::take(sh),
                    plain: plain_cells(sh, &p),
                    sh: sh.clone(),
                    p,
                    first: Mutex::new(None),
                    past_first: AtomicBool::new(false),
                }),
            });
            return;
        }
    }
}

/// The order-dependent state of a bind (running values, row numbers, the last value of each
/// textbox) as it is before the first detail row: each pass over the rows starts from it,
/// so a streamed instance renders the same bytes every time.
struct Snapshot {
    running: HashMap<(usize, u64), Running>,
    row_numbers: HashMap<(usize, u64), HashMap<u32, i64>>,
    report_items: HashMap<String, Value>,
}

impl Snapshot {
    fn take(sh: &Shared) -> Snapshot {
        Snapshot {
            running: lock(&sh.running).clone(),
            row_numbers: lock(&sh.row_numbers).clone(),
            report_items: lock(&sh.report_items).clone(),
        }
    }

    fn restore(&self, sh: &Shared) {
        *lock(&sh.running) = self.running.clone();
        *lock(&sh.row_numbers) = self.row_numbers.clone();
        *lock(&sh.report_items) = self.report_items.clone();
    }
}

struct Source {
    sh: Arc<Shared>,
    /// The bind's culture, looked up once.
    culture: &'static netfmt::Culture,
    p: Pending,
    start: Snapshot,
    /// Row 0 of the current pass, kept: renderers look at it before they write it.
    first: Mutex<Option<inst::GridRow>>,
    /// A row after the first was bound in the current pass (row 0 asked again then starts a
    /// new pass).
    past_first: AtomicBool,
    /// By grid column, when every cell of the row is a [`Plain`] one: a row after the
    /// first is then the row before it with new values ([`inst::DetailRows::row_into`]).
    plain: Option<Vec<Option<Plain>>>,
}

/// A plain field cell: `=Fields!X.Value` in a one-run textbox whose every other part
/// (styles, format, alignment unless General, visibility, no actions, bookmarks, toggles,
/// sorts) is a constant, so binding it for another row changes only its value, its text
/// and a General alignment, exactly as [`Shared::textbox`] would set them.
#[derive(Debug, Clone)]
struct Plain {
    /// The field's index in the data set.
    field: usize,
    /// General alignment: by the value's type.
    auto_align: bool,
    /// The cell's format compiled, from the first row rebound (the format is a constant).
    plans: OnceLock<CellPlans>,
}

/// A plain cell's format compiled once for numbers and for dates ([`netfmt::Plan`]): what
/// [`format_into`] does with that format, without reading the format string again.
#[derive(Debug, Clone)]
struct CellPlans {
    /// The format the plans are for (`None`: no format).
    format: Option<Box<str>>,
    number: netfmt::Plan,
    date: netfmt::Plan,
}

impl CellPlans {
    fn new(format: Option<&str>, culture: &'static netfmt::Culture) -> CellPlans {
        let format = format.filter(|f| !f.is_empty());
        CellPlans {
            format: format.map(Box::from),
            // no format: a number's own text, which the empty format's plan prints
            number: netfmt::Plan::number(format.unwrap_or(""), culture),
            date: netfmt::Plan::datetime(format.unwrap_or("G"), culture),
        }
    }

    /// [`format_into`] of `v` with the plans' format.
    fn format_into(
        &self,
        sh: &Shared,
        culture: &'static netfmt::Culture,
        v: &Value,
        out: &mut String,
    ) {
        use netfmt::Num;
        match v {
            Value::Null => {}
            Value::Int(i) => self.number.format_num_into(out, Num::Int(*i)),
            Value::Float(x) => self.number.format_num_into(out, Num::Float(*x)),
            Value::Decimal(d) => self.number.format_num_into(out, Num::Decimal(*d)),
            Value::DateTime(dt) => {
                if self.date.format_datetime_into(out, *dt).is_err() {
                    out.push_str(&rdl::expr::convert::to_string(v, &sh.culture));
                }
            }
            _ => format_into(sh, culture, v, self.format.as_deref(), out),
        }
    }
}

/// The plain cells of the streamed row by grid column, or `None` when a cell is not plain.
fn plain_cells(sh: &Shared, p: &Pending) -> Option<Vec<Option<Plain>>> {
    if sh.c.uses_report_items {
        return None;
    }
    let item = sh.c.report.sections.first()?.body.items.first()?;
    let model::ItemKind::Tablix(t) = &item.kind else {
        return None;
    };
    let def_row = t.rows.get(p.def_leaf)?;
    let mut out = vec![None; p.cols.iter().map(|c| c.0 + 1).max().unwrap_or(0)];
    for &(col, def_leaf, _) in &p.cols {
        let cell = def_row.cells.get(def_leaf)?.as_ref()?;
        out[col] = Some(plain_cell(sh, &p.set, &cell.item)?);
    }
    Some(out)
}

fn plain_cell(sh: &Shared, set: &SetRows, def: &model::ReportItem) -> Option<Plain> {
    let model::ItemKind::Textbox(tb) = &def.kind else {
        return None;
    };
    let [para] = tb.paragraphs.as_slice() else {
        return None;
    };
    let [run] = para.runs.as_slice() else {
        return None;
    };
    let constant_item = def.bookmark.is_none()
        && def.document_map_label.is_none()
        && def.page_break.is_none()
        && def.visibility.as_ref().is_none_or(|v| {
            v.toggle_item.is_none() && matches!(v.hidden, None | Some(Expression::Constant(_)))
        })
        && const_box_style(&def.style)
        && const_text_style(&def.style)
        && is_const(&def.style.format)
        && is_const(&def.style.text_align);
    let constant_text = tb.actions.is_empty()
        && tb.user_sort.is_none()
        && tb.hide_duplicates.is_none()
        && !sh.toggle_targets.contains(def.name.as_str())
        && is_const(&para.style.text_align)
        && is_const(&para.left_indent)
        && run.actions.is_empty()
        && const_text_style(&run.style)
        && is_const(&run.style.format);
    if !(constant_item && constant_text) || matches!(run.value, Expression::Constant(_)) {
        return None;
    }
    let x = sh.c.expr(&run.value).ok()?;
    let rdl::expr::Expr::Field {
        name,
        prop: rdl::expr::FieldProp::Value,
    } = &*x
    else {
        return None;
    };
    let field = *set.fields.get(name.as_str())?;
    let align = [&para.style.text_align, &def.style.text_align]
        .into_iter()
        .find_map(|a| match a {
            Some(Expression::Constant(s)) => Some(s.as_str()),
            _ => None,
        });
    Some(Plain {
        plans: OnceLock::new(),
        field,
        auto_align: align.is_none_or(|a| crate::style::text_align(a).flatten().is_none()),
    })
}

/// [`Shared::format`] of `v` appended to `out`, for the values a plain cell usually holds
/// (numbers, dates, texts) without a String of its own; `culture` is the bind's.
fn format_into(
    sh: &Shared,
    culture: &'static netfmt::Culture,
    v: &Value,
    fmt: Option<&str>,
    out: &mut String,
) {
    use netfmt::Num;
    let fmt = fmt.filter(|f| !f.is_empty());
    let num = match v {
        Value::Int(i) => Some(Num::Int(*i)),
        Value::Float(x) => Some(Num::Float(*x)),
        Value::Decimal(d) => Some(Num::Decimal(*d)),
        _ => None,
    };
    match (fmt, v, num) {
        (_, Value::Null, _) => {}
        (None, Value::Str(s), _) => out.push_str(s),
        (None, _, Some(n)) => netfmt::to_string_in_into(out, n, culture),
        // a format .NET rejects: the value's own text
        (Some(f), _, Some(n)) => {
            if netfmt::format_vb_into(out, n, f, culture).is_err() {
                netfmt::to_string_in_into(out, n, culture);
            }
        }
        (f, Value::DateTime(dt), _) => {
            if netfmt::format_vb_datetime_into(out, *dt, f.unwrap_or("G"), culture).is_err() {
                out.push_str(&rdl::expr::convert::to_string(v, &sh.culture));
            }
        }
        _ => out.push_str(&sh.format(v, fmt)),
    }
}

impl inst::DetailRows for Source {
    fn len(&self) -> usize {
        self.p.rows.len() + self.p.tail.len()
    }

    fn row(&self, i: usize) -> Result<inst::GridRow, EngineError> {
        if i == 0 {
            let mut first = lock(&self.first);
            let past_first = self.past_first.load(Ordering::Acquire);
            if !past_first && let Some(r) = &*first {
                return Ok(r.clone());
            }
            if past_first {
                // a new pass (another render of the same instance)
                self.start.restore(&self.sh);
            }
            let r = self.bind_row(0)?;
            *first = Some(r.clone());
            self.past_first.store(false, Ordering::Release);
            return Ok(r);
        }
        self.mark_past_first();
        self.bind_row(i)
    }

    fn row_into(&self, i: usize, row: &mut inst::GridRow) -> Result<(), EngineError> {
        self.row_into_same_shape(i, row).map(|_| ())
    }

    fn row_into_same_shape(&self, i: usize, row: &mut inst::GridRow) -> Result<bool, EngineError> {
        match &self.plain {
            Some(plain) if i > 0 && i < self.p.rows.len() && self.same_shape(plain, row) => {
                self.mark_past_first();
                // only the plain cells' values, texts and alignments change
                self.rebind_plain(i, plain, row).map(|()| true)
            }
            _ => {
                *row = self.row(i)?;
                Ok(false)
            }
        }
    }

    fn texts_into(
        &self,
        i: usize,
        row: &inst::GridRow,
        cells: &[usize],
        out: &mut inst::RowTexts,
    ) -> Result<bool, EngineError> {
        match &self.plain {
            Some(plain) => self.plain_texts(i, plain, row, cells, out),
            None => Ok(false),
        }
    }
}

impl Source {
    /// Notes that a row after the first is bound (a load, and a store only the first time).
    fn mark_past_first(&self) {
        if !self.past_first.load(Ordering::Relaxed) {
            self.past_first.store(true, Ordering::Release);
        }
    }

    /// True when `row` is a bound row of this tablix whose cells are all plain.
    fn same_shape(&self, plain: &[Option<Plain>], row: &inst::GridRow) -> bool {
        row.cells.len() == self.p.cols.len()
            && row.cells.iter().all(|c| {
                plain.get(c.col).is_some_and(Option::is_some)
                    && matches!(
                        &c.item,
                        Some(inst::Item { kind: inst::ItemKind::Textbox(tb), .. })
                            if matches!(tb.paragraphs.as_slice(), [p] if p.runs.len() == 1)
                    )
            })
    }

    /// Row `i` from the row before it: each plain cell gets the row's value and its text.
    fn rebind_plain(
        &self,
        i: usize,
        plain: &[Option<Plain>],
        row: &mut inst::GridRow,
    ) -> Result<(), EngineError> {
        let r = self.admit(i, row.cells.len())?;
        for cell in &mut row.cells {
            let (
                Some(Some(pc)),
                Some(inst::Item {
                    kind: inst::ItemKind::Textbox(tb),
                    ..
                }),
            ) = (plain.get(cell.col), &mut cell.item)
            else {
                continue;
            };
            let Some(para) = tb.paragraphs.first_mut() else {
                continue;
            };
            let Some(run) = para.runs.first_mut() else {
                continue;
            };
            let v = self.p.set.value(r, pc.field);
            run.text.clear();
            self.format_cell(pc, run.format.as_deref(), &v, &mut run.text);
            if pc.auto_align {
                para.align = match v {
                    Value::Int(_) | Value::Float(_) | Value::Decimal(_) | Value::DateTime(_) => {
                        inst::TextAlign::Right
                    }
                    _ => inst::TextAlign::Left,
                };
            }
            tb.value = v.clone();
            run.value = v;
        }
        Ok(())
    }

    /// The data row of detail row `i`, once cancellation is checked and its `n` cells are
    /// counted against the cell limit, as binding the row counts them one by one (every
    /// cell plain: [`Source::same_shape`]).
    fn admit(&self, i: usize, n: usize) -> Result<u32, EngineError> {
        let (sh, p) = (&self.sh, &self.p);
        if i.is_multiple_of(1024) && sh.cancelled() {
            return Err(EngineError::Cancelled);
        }
        let Some(&r) = p.rows.get(i) else {
            return Err(EngineError::Evaluation {
                what: "a streamed detail row".into(),
                message: format!("row {i} of {} does not exist", p.rows.len()),
            });
        };
        if sh.cells.fetch_add(n, Ordering::Relaxed) + n > sh.opts.max_cells {
            return Err(EngineError::Limit {
                limit: "cells",
                max: sh.opts.max_cells,
                fix: "show fewer rows or columns (filter the data), or raise the cell limit",
            });
        }
        Ok(r)
    }

    /// The text of plain cell `pc` with the format `fmt` (the cell's constant format) for
    /// the value `v`, appended to `out`: what [`Shared::textbox`] makes it.
    fn format_cell(&self, pc: &Plain, fmt: Option<&str>, v: &Value, out: &mut String) {
        let plans = pc.plans.get_or_init(|| CellPlans::new(fmt, self.culture));
        if plans.format.as_deref() == fmt.filter(|f| !f.is_empty()) {
            plans.format_into(&self.sh, self.culture, v, out);
        } else {
            format_into(&self.sh, self.culture, v, fmt, out);
        }
    }

    /// [`inst::DetailRows::texts_into`] for plain rows.
    fn plain_texts(
        &self,
        i: usize,
        plain: &[Option<Plain>],
        row: &inst::GridRow,
        cells: &[usize],
        out: &mut inst::RowTexts,
    ) -> Result<bool, EngineError> {
        if i == 0
            || i >= self.p.rows.len()
            || cells.iter().any(|&k| k >= row.cells.len())
            || !self.same_shape(plain, row)
        {
            return Ok(false);
        }
        self.mark_past_first();
        let r = self.admit(i, row.cells.len())?;
        out.clear();
        for &k in cells {
            let cell = &row.cells[k];
            // every cell of a row of this shape is a plain one-run textbox
            let (
                Some(Some(pc)),
                Some(inst::Item {
                    kind: inst::ItemKind::Textbox(tb),
                    ..
                }),
            ) = (plain.get(cell.col), &cell.item)
            else {
                out.push_with(|_| {});
                continue;
            };
            let fmt = tb
                .paragraphs
                .first()
                .and_then(|p| p.runs.first())
                .and_then(|run| run.format.as_deref());
            out.push_with(|text| {
                // a stored text without a format is its own text: no new reference to it
                if fmt.is_none_or(str::is_empty)
                    && let Some(s) = self.p.set.text(r, pc.field)
                {
                    text.push_str(s);
                } else {
                    self.format_cell(pc, fmt, &self.p.set.value(r, pc.field), text);
                }
            });
        }
        Ok(true)
    }

    fn tablix(&self) -> Option<&model::Tablix> {
        let item = self.sh.c.report.sections.first()?.body.items.first()?;
        match &item.kind {
            model::ItemKind::Tablix(t) => Some(t),
            _ => None,
        }
    }

    /// Footer row `j`, bound as the tree binds a static row's cells (after every detail row).
    fn bind_tail(&self, j: usize) -> Result<inst::GridRow, EngineError> {
        let (sh, p) = (&self.sh, &self.p);
        let Some(tail) = p.tail.get(j) else {
            return Err(EngineError::Evaluation {
                what: "a streamed footer row".into(),
                message: format!("footer row {j} of {} does not exist", p.tail.len()),
            });
        };
        let mut row = tail.shell.clone();
        let Some(def_row) = self.tablix().and_then(|t| t.rows.get(tail.def_leaf)) else {
            return Ok(row);
        };
        for &(col, def_leaf, vis) in &tail.cols {
            let Some(Some(cell)) = def_row.cells.get(def_leaf) else {
                continue;
            };
            let mut item = sh.item(&cell.item, &tail.frames)?;
            let colspan = cell.col_span.max(1) as usize;
            if let Some(it) = &mut item {
                if vis != inst::Visibility::Visible && it.visibility == inst::Visibility::Visible {
                    it.visibility = vis;
                }
                let end = (col + colspan).min(p.widths.len());
                it.width = p.widths.get(col..end).map_or(0, |w| w.iter().sum());
                it.height = row.height;
                it.top = 0;
                it.left = 0;
            }
            row.cells.push(inst::GridCell {
                col,
                colspan,
                rowspan: 1,
                item,
            });
        }
        row.cells.sort_by_key(|c| c.col);
        Ok(row)
    }

    fn bind_row(&self, i: usize) -> Result<inst::GridRow, EngineError> {
        let (sh, p) = (&self.sh, &self.p);
        if i.is_multiple_of(1024) && sh.cancelled() {
            return Err(EngineError::Cancelled);
        }
        if let Some(j) = i.checked_sub(p.rows.len()) {
            return self.bind_tail(j);
        }
        let Some(&r) = p.rows.get(i) else {
            return Err(EngineError::Evaluation {
                what: "a streamed detail row".into(),
                message: format!("row {i} of {} does not exist", p.rows.len()),
            });
        };
        let def_row = self.tablix().and_then(|t| t.rows.get(p.def_leaf));
        let height = def_row.map(|d| d.height.0).unwrap_or(0);
        let mut cells = Vec::with_capacity(p.cols.len());
        if let Some(def_row) = def_row {
            let mut f = Frame::new(
                p.group_name.clone(),
                p.set.clone(),
                Arc::new([r]),
                p.parent_key.clone(),
                true,
            );
            f.detail_row = Some(r);
            let mut fr = Vec::with_capacity(p.chain.len() + 1);
            fr.extend(p.chain.iter().cloned());
            fr.push(f);
            for &(col, def_leaf, vis) in &p.cols {
                let Some(Some(cell)) = def_row.cells.get(def_leaf) else {
                    continue;
                };
                let mut item = sh.item(&cell.item, &fr)?;
                if let Some(it) = &mut item {
                    if vis != inst::Visibility::Visible
                        && it.visibility == inst::Visibility::Visible
                    {
                        it.visibility = vis;
                    }
                    it.width = p.widths.get(col).copied().unwrap_or(0);
                    it.height = height;
                    it.top = 0;
                    it.left = 0;
                }
                cells.push(inst::GridCell {
                    col,
                    colspan: 1,
                    rowspan: 1,
                    item,
                });
            }
            cells.sort_by_key(|c| c.col);
        }
        Ok(inst::GridRow {
            height,
            cells,
            repeat_on_new_page: false,
            visibility: inst::Visibility::Visible,
            page_break: None,
            keep_with_next: false,
            keep_with_previous: false,
        })
    }
}
