//! `bind`: data + parameters + definition → the instance tree.
//!
//! Owns: data set fields (DataField and calculated), data set/region/group filters, sorting,
//! tablix grouping into member instances and the cell grid, aggregates with scopes (data
//! set, data region, group, `Nothing`), `RunningValue`, `RowNumber`, `Previous`, `InScope`,
//! `Lookup`/`LookupSet`/`MultiLookup`, `ReportItems!`, report `Variables`, visibility and
//! drilldown toggles, actions, styles, page header/footer evaluators, and the limits (rows,
//! cells, cancellation). Must not: do I/O or know output formats.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rdl::Value;
use rdl::expr::agg::Accumulator;
use rdl::expr::{
    self, AggFn, AggregateCall, BinaryOp, CodeInstance, Context, EvalError, Expr, LookupCall,
    LookupKind, ParamProp, Scope,
};
use rdl::model::{self, Expression, FilterOperator, ReportItem, SortDirection, TablixMember};

use crate::compile::Compiled;
use crate::instance::{self as inst, Len, PageContext};
use crate::params::ResolvedParams;
use crate::style;
use crate::{ColumnKind, DataTable, EngineError, TableBuilder};

mod groupvars;
mod pagebreak;
mod recursive;
mod stream;
mod subreport;
mod usersort;

#[path = "chart.rs"]
pub mod chart;

/// What an execution knows about its environment (all inputs: the engine reads no clock).
#[derive(Debug, Clone)]
pub struct Globals {
    /// `Globals!ExecutionTime` (fixed for one execution).
    pub execution_time: time::PrimitiveDateTime,
    /// `User!UserID`.
    pub user_id: String,
    /// `User!Language` and the default culture when the report sets no `Language`.
    pub language: String,
    /// `Globals!ReportServerUrl`.
    pub report_server_url: String,
    /// `Globals!RenderFormat.Name` (`HTML5`, `CSV`...).
    pub render_format: String,
}

impl Default for Globals {
    fn default() -> Self {
        Globals {
            execution_time: time::macros::datetime!(2000-01-01 0:00),
            user_id: String::new(),
            language: "en-US".into(),
            report_server_url: String::new(),
            render_format: "HTML5".into(),
        }
    }
}

/// Bounds and interactive state of one bind.
#[derive(Debug, Clone)]
pub struct BindOptions {
    /// Most rows in all data sets together.
    pub max_rows: usize,
    /// Most evaluated cells (textboxes) in the instance.
    pub max_cells: usize,
    /// Drilldown toggles the user flipped (`rs:ShowHideToggle` ids).
    pub toggles: HashSet<String>,
    /// Set to cancel the bind (client gone, time limit); checked in every loop.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Where `Subreport` items get their definitions and data (`None`: they show a message).
    pub subreports: Option<crate::subreport::Subreports>,
    /// Interactive sorts the user chose (`rs:SortId`/`rs:SortDirection`), primary first.
    pub user_sorts: Vec<crate::usersort::UserSortChoice>,
    /// Leave the detail rows of a report's only tablix unbound when its shape allows it
    /// (`stream`: static rows, then a details group, textbox cells): they are bound one at
    /// a time while a streaming renderer (CSV, XML, JSON) writes them, so memory stays
    /// bounded by the data. Anything else must call [`inst::Instance::materialize`].
    pub stream_details: bool,
}

impl Default for BindOptions {
    fn default() -> Self {
        BindOptions {
            max_rows: 1_000_000,
            max_cells: 20_000_000,
            toggles: HashSet::new(),
            cancel: None,
            subreports: None,
            user_sorts: Vec::new(),
            stream_details: false,
        }
    }
}

/// A fast hasher for the maps a bind looks up per cell (field names, style cache keys):
/// FNV-1a over the bytes, no DoS concern (keys come from the definition, not from users).
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0 ^ n as u64)
            .wrapping_add(0x9e37_79b9_7f4a_7c15)
            .wrapping_mul(0xbf58_476d_1ce4_e5b9);
    }
}

/// A map with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

/// A data set's rows in report field order (calculated fields evaluated): the fetched table
/// itself when its columns are the report's fields in order (no copy), else a table built
/// for the report's fields.
#[derive(Debug)]
pub(crate) struct SetRows {
    name: String,
    fields: FastMap<String, usize>,
    rows: Arc<DataTable>,
}

impl SetRows {
    /// Field `i` of row `r`.
    fn value(&self, r: u32, i: usize) -> Value {
        self.rows.value(r as usize, i)
    }

    /// Field `i` of row `r` when it is a stored text ([`DataTable::text`]).
    fn text(&self, r: u32, i: usize) -> Option<&str> {
        self.rows.text(r as usize, i)
    }
}

/// A running aggregate: the rows added so far and the accumulator.
type Running = (HashSet<u32>, Accumulator);

/// Rows of a lookup data set by destination key.
type LookupIndex = HashMap<String, Vec<u32>>;

/// Group instances: their rows and scope frame.
type GroupInstances = Vec<(Arc<[u32]>, Option<Frame>)>;

static FRAME_IDS: AtomicU64 = AtomicU64::new(1);

/// One scope in the chain: a data set, a data region or a group instance.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    id: u64,
    name: Arc<str>,
    set: Arc<SetRows>,
    rows: Arc<[u32]>,
    /// Identifies the instance (for toggles): group names and keys from the top. For a
    /// details instance (`detail_row` set) this is the parent's key: the full key
    /// (`{key}/{name}={row}`) is built only when asked for ([`Frame::full_key`]).
    key: Arc<str>,
    detail_row: Option<u32>,
    details: bool,
    /// Depth in a recursive hierarchy (`Level()`), 0 elsewhere.
    level: usize,
    /// In a recursive hierarchy: the rows of this instance and its descendants.
    recursive_rows: Option<Arc<[u32]>>,
}

impl Frame {
    fn new(
        name: impl Into<Arc<str>>,
        set: Arc<SetRows>,
        rows: Arc<[u32]>,
        key: Arc<str>,
        details: bool,
    ) -> Frame {
        Frame {
            id: FRAME_IDS.fetch_add(1, Ordering::Relaxed),
            name: name.into(),
            set,
            rows,
            key,
            detail_row: None,
            details,
            level: 0,
            recursive_rows: None,
        }
    }

    /// The instance's key (group names and keys from the top).
    fn full_key(&self) -> Arc<str> {
        match self.detail_row {
            None => self.key.clone(),
            Some(r) => format!("{}/{}={r}", self.key, self.name).into(),
        }
    }
}

/// State shared by the bind and the page header/footer evaluators.
pub(crate) struct Shared {
    c: Arc<Compiled>,
    params: ResolvedParams,
    sets: HashMap<String, Arc<SetRows>>,
    set_frames: HashMap<String, Frame>,
    globals: Globals,
    culture: String,
    opts: BindOptions,
    /// Shared with the instance: page headers and streamed rows add theirs while rendering.
    warnings: inst::Warnings,
    warned: Mutex<HashSet<String>>,
    cells: AtomicUsize,
    toggle_targets: HashSet<String>,
    agg_cache: Mutex<HashMap<(usize, u64), Value>>,
    running: Mutex<HashMap<(usize, u64), Running>>,
    row_numbers: Mutex<HashMap<(usize, u64), HashMap<u32, i64>>>,
    positions: Mutex<HashMap<u64, Arc<HashMap<u32, u32>>>>,
    lookup_index: Mutex<HashMap<usize, Arc<LookupIndex>>>,
    variables: Mutex<HashMap<String, Value>>,
    report_items: Mutex<HashMap<String, Value>>,
    code: Option<CodeInstance>,
    /// The user's interactive sorts by group name (`usersort`).
    user_sorts: HashMap<String, Vec<model::SortExpression>>,
    /// Group variables by group name, and their values by (instance frame id, name).
    group_variables: HashMap<String, Vec<model::Variable>>,
    group_variable_values: Mutex<HashMap<(u64, String), Value>>,
    /// Styles whose properties are all constants, evaluated once per bind (keyed by the
    /// addresses of the definition's styles and item name, which live as long as the bind).
    const_text_styles: Mutex<FastMap<(usize, usize, usize), inst::TextStyle>>,
    const_box_styles: Mutex<FastMap<(usize, usize), inst::BoxStyle>>,
    /// The tablix (address of its definition) whose detail rows are streamed, if any.
    stream_target: Option<usize>,
    /// What the streamed rows need, left by [`Shared::tablix`] for [`bind`].
    stream_pending: Mutex<Option<stream::Pending>>,
}

/// True when `e` is absent or a constant (evaluates the same everywhere).
fn is_const(e: &Option<Expression>) -> bool {
    matches!(e, None | Some(Expression::Constant(_)))
}

fn const_border(b: &model::Border) -> bool {
    is_const(&b.color) && is_const(&b.style) && is_const(&b.width)
}

/// True when every property [`Shared::box_style_ev`] reads is a constant.
fn const_box_style(s: &model::Style) -> bool {
    const_border(&s.border)
        && const_border(&s.top_border)
        && const_border(&s.right_border)
        && const_border(&s.bottom_border)
        && const_border(&s.left_border)
        && is_const(&s.background_color)
        && is_const(&s.padding_top)
        && is_const(&s.padding_right)
        && is_const(&s.padding_bottom)
        && is_const(&s.padding_left)
        && is_const(&s.vertical_align)
}

/// True when every property [`Shared::text_style`] reads is a constant.
fn const_text_style(s: &model::Style) -> bool {
    is_const(&s.font_family)
        && is_const(&s.font_size)
        && is_const(&s.font_weight)
        && is_const(&s.font_style)
        && is_const(&s.text_decoration)
        && is_const(&s.color)
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("report", &self.c.report.name)
            .finish_non_exhaustive()
    }
}

use crate::lock;

/// Binds data and parameters to the report: the instance tree renderers walk.
pub fn bind(
    c: &Arc<Compiled>,
    params: &ResolvedParams,
    data: &HashMap<String, Arc<DataTable>>,
    globals: &Globals,
    opts: &BindOptions,
) -> Result<inst::Instance, EngineError> {
    let report = c.report.clone();
    let mut toggle_targets = HashSet::new();
    collect_toggle_targets(&report, &mut toggle_targets);
    let mut sh = Shared {
        c: c.clone(),
        params: params.clone(),
        sets: HashMap::new(),
        set_frames: HashMap::new(),
        globals: globals.clone(),
        culture: globals.language.clone(),
        opts: opts.clone(),
        warnings: inst::Warnings::new(c.warnings.clone()),
        warned: Mutex::new(HashSet::new()),
        cells: AtomicUsize::new(0),
        toggle_targets,
        agg_cache: Mutex::new(HashMap::new()),
        running: Mutex::new(HashMap::new()),
        row_numbers: Mutex::new(HashMap::new()),
        positions: Mutex::new(HashMap::new()),
        lookup_index: Mutex::new(HashMap::new()),
        variables: Mutex::new(HashMap::new()),
        report_items: Mutex::new(HashMap::new()),
        code: c.code.clone().map(CodeInstance::new),
        user_sorts: usersort::chosen_sorts(&report, &opts.user_sorts),
        group_variables: groupvars::group_variables(&report),
        group_variable_values: Mutex::new(HashMap::new()),
        const_text_styles: Mutex::new(FastMap::default()),
        const_box_styles: Mutex::new(FastMap::default()),
        stream_target: None,
        stream_pending: Mutex::new(None),
    };
    if opts.stream_details {
        sh.stream_target = stream::target(&sh);
    }
    // culture from the report's Language
    if let Some(l) = &report.language {
        let v = sh.eval_simple(l)?;
        let s = expr::convert::to_string(&v, "en-US");
        if !s.trim().is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            sh.culture = s.trim().to_owned();
        }
    }
    // data sets: fields, calculated fields, filters
    let mut total_rows = 0usize;
    for ds in &report.data_sets {
        let Some(table) = data.get(&ds.name) else {
            continue;
        };
        total_rows += table.len();
        if total_rows > opts.max_rows {
            return Err(EngineError::Limit {
                limit: "rows",
                max: opts.max_rows,
                fix: "filter the data in the query, or raise the row limit",
            });
        }
        let set = sh.load_set(ds, table)?;
        let rows: Arc<[u32]> = sh
            .filter_rows(&set, &ds.filters, &[], (0..set.rows.len() as u32).collect())?
            .into();
        let frame = Frame::new(ds.name.as_str(), set.clone(), rows, "".into(), false);
        sh.sets.insert(ds.name.clone(), set);
        sh.set_frames.insert(ds.name.clone(), frame);
    }
    let sh = Arc::new(sh);
    let mut sections = Vec::with_capacity(report.sections.len());
    for (si, s) in report.sections.iter().enumerate() {
        let mut body = Vec::with_capacity(s.body.items.len());
        for item in &s.body.items {
            if let Some(i) = sh.item(item, &[])? {
                body.push(i);
            }
        }
        stream::attach(&sh, &mut body);
        let p = &s.page;
        let page = inst::PageSettings {
            width: p.page_width.unwrap_or(model::Page::DEFAULT_WIDTH).0,
            height: p.page_height.unwrap_or(model::Page::DEFAULT_HEIGHT).0,
            interactive_width: p.interactive_width.unwrap_or(model::Page::DEFAULT_WIDTH).0,
            interactive_height: p
                .interactive_height
                .unwrap_or(model::Page::DEFAULT_HEIGHT)
                .0,
            margins: [
                p.top_margin.0,
                p.right_margin.0,
                p.bottom_margin.0,
                p.left_margin.0,
            ],
            columns: p.columns.max(1),
            column_spacing: p
                .column_spacing
                .map(|x| x.0)
                .unwrap_or(inst::UM_PER_INCH / 2),
        };
        let band = |ps: &Option<model::PageSection>,
                    header: bool|
         -> Result<Option<inst::PageSection>, EngineError> {
            let Some(ps) = ps else { return Ok(None) };
            Ok(Some(inst::PageSection {
                height: ps.height.0,
                print_on_first_page: ps.print_on_first_page,
                print_on_last_page: ps.print_on_last_page,
                style: sh.box_style(&ps.style, &[])?,
                items: Arc::new(PageEval {
                    sh: sh.clone(),
                    section: si,
                    header,
                }),
            }))
        };
        sections.push(inst::Section {
            body,
            body_height: s.body.height.0,
            body_width: s.width.0,
            body_style: sh.box_style(&s.body.style, &[])?,
            page,
            header: band(&p.header, true)?,
            footer: band(&p.footer, false)?,
        });
    }
    let initial_page_name = sh.initial_page_name()?;
    Ok(inst::Instance {
        initial_page_name,
        name: report.name.clone(),
        description: report.description.clone().unwrap_or_default(),
        author: report.author.clone().unwrap_or_default(),
        language: sh.culture.clone(),
        execution_time: globals.execution_time,
        data_element_name: report
            .data_element_name
            .clone()
            .unwrap_or_else(|| "Report".into()),
        data_schema: report.data_schema.clone(),
        data_element_style: match report.data_element_style {
            model::DataElementStyle::Element => inst::ElementStyle::Element,
            _ => inst::ElementStyle::Attribute,
        },
        sections,
        warning_log: sh.warnings.clone(),
    })
}

fn collect_toggle_targets(r: &model::Report, out: &mut HashSet<String>) {
    fn item(i: &ReportItem, out: &mut HashSet<String>) {
        if let Some(t) = i.visibility.as_ref().and_then(|v| v.toggle_item.clone()) {
            out.insert(t);
        }
        match &i.kind {
            model::ItemKind::Rectangle(r) => r.items.iter().for_each(|c| item(c, out)),
            model::ItemKind::Tablix(t) => {
                fn member(m: &TablixMember, out: &mut HashSet<String>) {
                    if let Some(t) = m.visibility.as_ref().and_then(|v| v.toggle_item.clone()) {
                        out.insert(t);
                    }
                    if let Some(h) = &m.header {
                        item(&h.contents.item, out);
                    }
                    m.members.iter().for_each(|c| member(c, out));
                }
                t.row_hierarchy.iter().for_each(|m| member(m, out));
                t.column_hierarchy.iter().for_each(|m| member(m, out));
                for row in &t.rows {
                    row.cells.iter().flatten().for_each(|c| item(&c.item, out));
                }
                for row in &t.corner {
                    row.iter().flatten().for_each(|c| item(&c.item, out));
                }
            }
            _ => {}
        }
    }
    for s in &r.sections {
        s.body.items.iter().for_each(|i| item(i, out));
    }
}

/// Evaluates a page header/footer per page.
struct PageEval {
    sh: Arc<Shared>,
    section: usize,
    header: bool,
}

impl inst::PageItemsEval for PageEval {
    fn evaluate(&self, page: &PageContext) -> Vec<inst::Item> {
        let Some(s) = self.sh.c.report.sections.get(self.section) else {
            return Vec::new();
        };
        let band = if self.header {
            &s.page.header
        } else {
            &s.page.footer
        };
        let Some(band) = band else { return Vec::new() };
        let mut out = Vec::new();
        for item in &band.items {
            match self.sh.item_in_page(item, page) {
                Ok(Some(i)) => out.push(i),
                Ok(None) => {}
                Err(e) => self.sh.warn(&item.name, &e.to_string()),
            }
        }
        out
    }
}

fn cmp_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering as O;
    match (a, b) {
        (Value::Null, Value::Null) => O::Equal,
        (Value::Null, _) => O::Less,
        (_, Value::Null) => O::Greater,
        (Value::Str(x), Value::Str(y)) => {
            let c = x.to_lowercase().cmp(&y.to_lowercase());
            if c == O::Equal { x.cmp(y) } else { c }
        }
        (Value::DateTime(x), Value::DateTime(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Decimal(x), Value::Decimal(y)) => x.cmp(y),
        (x, y) => match (expr::convert::to_f64(x), expr::convert::to_f64(y)) {
            (Ok(p), Ok(q)) => p.partial_cmp(&q).unwrap_or(O::Equal),
            _ => expr::convert::to_string(x, "en-US").cmp(&expr::convert::to_string(y, "en-US")),
        },
    }
}

fn value_key(v: &Value) -> String {
    match v {
        Value::Int(i) => format!("n{i}"),
        Value::Float(x) if x.fract() == 0.0 && x.abs() < 9e15 => format!("n{}", *x as i64),
        Value::Decimal(d) => format!("n{}", d.normalize()),
        other => format!("{other:?}"),
    }
}

/// The evaluation context of one expression.
struct Ev<'a> {
    sh: &'a Shared,
    frames: &'a [Frame],
    row: Option<u32>,
    page: Option<&'a PageContext>,
    /// The row values being built while calculated fields are evaluated.
    building: Option<(&'a SetRows, &'a RefCell<Vec<Value>>)>,
}

impl Ev<'_> {
    /// An aggregate over `ReportItems!X` in a page header or footer: over every value of
    /// the item `X` on this page, in page order (SSRS's page totals). Like SSRS, one report
    /// item per aggregate.
    fn page_aggregate(
        &self,
        call: &AggregateCall,
        arg: &Expr,
        page: &PageContext,
    ) -> Result<Value, EvalError> {
        let mut names: Vec<&str> = Vec::new();
        arg.walk(&mut |e| {
            if let Expr::ReportItem(n) = e
                && !names.contains(&n.as_str())
            {
                names.push(n);
            }
        });
        let [name] = names.as_slice() else {
            return Err(EvalError::Argument {
                func: format!("{:?}", call.func),
                message: format!(
                    "an aggregate in a page header or footer may refer to one report item, \
                     this one refers to {}; aggregate each item in its own expression",
                    names.join(", ")
                ),
            });
        };
        let mut one = PageContext {
            report_items: Vec::with_capacity(1),
            ..page.clone()
        };
        let mut acc = Accumulator::new(call.func);
        for (_, v) in page.report_items.iter().filter(|(n, _)| n == name) {
            one.report_items.clear();
            one.report_items.push(((*name).to_owned(), v.clone()));
            let ev = Ev {
                page: Some(&one),
                ..*self
            };
            acc.push(&expr::eval(arg, &ev)?)?;
            if call.func == AggFn::First || call.func == AggFn::Aggregate {
                break;
            }
        }
        Ok(acc.value())
    }

    fn current(&self) -> Option<(&SetRows, u32)> {
        let f = self.frames.last()?;
        let r = self.row.or_else(|| f.rows.first().copied())?;
        Some((&f.set, r))
    }

    fn scope_frame(&self, scope: &Scope) -> Result<Frame, EvalError> {
        match scope {
            Scope::Current => match self.frames.last() {
                Some(f) => Ok(f.clone()),
                None => self.only_set_frame(),
            },
            Scope::Nothing => match self.frames.first() {
                Some(f) => Ok(f.clone()),
                None => self.only_set_frame(),
            },
            Scope::Named(n) => {
                if let Some(f) = self.frames.iter().rev().find(|f| &*f.name == n.as_str()) {
                    return Ok(f.clone());
                }
                self.sh.set_frames.get(n).cloned().ok_or_else(|| {
                    EvalError::Context(format!(
                        "the scope '{n}' is not a data set, data region or group containing this expression"
                    ))
                })
            }
        }
    }

    fn only_set_frame(&self) -> Result<Frame, EvalError> {
        if self.sh.set_frames.len() == 1
            && let Some(f) = self.sh.set_frames.values().next()
        {
            return Ok(f.clone());
        }
        Err(EvalError::Context(
            "an aggregate outside a data region needs a data set scope, e.g. Sum(Fields!X.Value, \"DataSet1\")".into(),
        ))
    }

    fn at_row<'b>(&'b self, frames: &'b [Frame], row: u32) -> Ev<'b> {
        Ev {
            sh: self.sh,
            frames,
            row: Some(row),
            page: self.page,
            building: None,
        }
    }

    fn positions(&self, f: &Frame) -> Arc<HashMap<u32, u32>> {
        let mut p = lock(&self.sh.positions);
        p.entry(f.id)
            .or_insert_with(|| {
                Arc::new(
                    f.rows
                        .iter()
                        .enumerate()
                        .map(|(i, r)| (*r, i as u32))
                        .collect(),
                )
            })
            .clone()
    }

    fn check_cancel(&self) -> Result<(), EvalError> {
        if self.sh.cancelled() {
            return Err(EvalError::Context("the render was cancelled".into()));
        }
        Ok(())
    }
}

impl Context for Ev<'_> {
    fn field(&self, name: &str) -> Result<Value, EvalError> {
        if let Some((set, row)) = self.building {
            let i = *set.fields.get(name).ok_or_else(|| EvalError::NotFound {
                what: "field",
                name: name.into(),
            })?;
            return Ok(row.borrow().get(i).cloned().unwrap_or(Value::Null));
        }
        let (set, row) = match self.current() {
            Some(x) => x,
            None => {
                let f = self.only_set_frame()?;
                let Some(&r) = f.rows.first() else {
                    return Ok(Value::Null);
                };
                let i = *f.set.fields.get(name).ok_or_else(|| EvalError::NotFound {
                    what: "field",
                    name: name.into(),
                })?;
                return Ok(f.set.value(r, i));
            }
        };
        let i = *set.fields.get(name).ok_or_else(|| EvalError::NotFound {
            what: "field",
            name: name.into(),
        })?;
        Ok(set.value(row, i))
    }

    fn field_is_missing(&self, name: &str) -> bool {
        match self.frames.last() {
            Some(f) => !f.set.fields.contains_key(name),
            None => true,
        }
    }

    fn parameter(
        &self,
        name: &str,
        prop: ParamProp,
        index: Option<usize>,
    ) -> Result<Value, EvalError> {
        self.sh.params.property(name, prop, index)
    }

    fn global(&self, name: &str) -> Result<Value, EvalError> {
        let g = &self.sh.globals;
        let page = |f: fn(&PageContext) -> u32| -> Result<Value, EvalError> {
            match self.page {
                Some(p) => Ok(Value::Int(i64::from(f(p)))),
                None => Err(EvalError::Context(format!(
                    "Globals!{name} can only be used in the page header or footer"
                ))),
            }
        };
        match name.to_ascii_lowercase().as_str() {
            "executiontime" => Ok(Value::DateTime(g.execution_time)),
            "reportname" => Ok(Value::str(self.sh.c.report.name.as_str())),
            "reportfolder" => {
                let p = &self.sh.c.path;
                let folder = match p.rfind('/') {
                    Some(0) | None => "/",
                    Some(i) => &p[..i],
                };
                Ok(Value::str(folder))
            }
            "reportserverurl" => Ok(Value::str(g.report_server_url.as_str())),
            "pagenumber" => page(|p| p.page_number),
            "totalpages" => page(|p| p.total_pages),
            "overallpagenumber" => page(|p| p.overall_page_number),
            "overalltotalpages" => page(|p| p.overall_total_pages),
            "pagename" => Ok(Value::str(
                self.page.map(|p| p.page_name.as_str()).unwrap_or(""),
            )),
            "renderformat.name" => Ok(Value::str(g.render_format.as_str())),
            "renderformat.isinteractive" => Ok(Value::Bool(matches!(
                g.render_format.to_ascii_uppercase().as_str(),
                "HTML5" | "HTML4.0" | "RPL"
            ))),
            _ => Err(EvalError::NotFound {
                what: "global",
                name: name.into(),
            }),
        }
    }

    fn user(&self, name: &str) -> Result<Value, EvalError> {
        match name.to_ascii_lowercase().as_str() {
            "userid" => Ok(Value::str(self.sh.globals.user_id.as_str())),
            "language" => Ok(Value::str(self.sh.globals.language.as_str())),
            _ => Err(EvalError::NotFound {
                what: "user property",
                name: name.into(),
            }),
        }
    }

    fn report_item(&self, name: &str) -> Result<Value, EvalError> {
        if let Some(p) = self.page
            && let Some((_, v)) = p.report_items.iter().find(|(n, _)| n == name)
        {
            return Ok(v.clone());
        }
        lock(&self.sh.report_items)
            .get(name)
            .cloned()
            .ok_or_else(|| EvalError::NotFound {
                what: "report item",
                name: name.into(),
            })
    }

    fn variable(&self, name: &str) -> Result<Value, EvalError> {
        if let Some(v) = self.group_variable(name) {
            return v;
        }
        if let Some(v) = lock(&self.sh.variables).get(name) {
            return Ok(v.clone());
        }
        let def = self
            .sh
            .c
            .report
            .variables
            .iter()
            .find(|v| v.name == name)
            .ok_or_else(|| EvalError::NotFound {
                what: "variable",
                name: name.into(),
            })?;
        let x = self
            .sh
            .c
            .expr(&def.value)
            .map_err(|e| EvalError::Context(e.to_string()))?;
        let ev = Ev {
            sh: self.sh,
            frames: &[],
            row: None,
            page: None,
            building: None,
        };
        let v = expr::eval(&x, &ev)?;
        lock(&self.sh.variables).insert(name.to_owned(), v.clone());
        Ok(v)
    }

    fn aggregate(&self, call: &AggregateCall) -> Result<Value, EvalError> {
        if let Some(page) = self.page
            && let Some(arg) = &call.arg
            && arg.uses_report_items()
        {
            return self.page_aggregate(call, arg, page);
        }
        let frame = self.scope_frame(&call.scope)?;
        let key = (call as *const AggregateCall as usize, frame.id);
        let frames: Vec<Frame> = match self.frames.iter().position(|f| f.id == frame.id) {
            Some(i) => self.frames[..=i].to_vec(),
            None => vec![frame.clone()],
        };
        if call.running {
            // accumulate in display order: the rows of the current row/instance not yet seen
            let (mut seen, mut acc) = lock(&self.sh.running)
                .remove(&key)
                .unwrap_or_else(|| (HashSet::new(), Accumulator::new(call.func)));
            let new_rows: Vec<u32> = match self.row {
                Some(r) => vec![r],
                None => self
                    .frames
                    .last()
                    .map(|f| f.rows.to_vec())
                    .unwrap_or_default(),
            };
            let in_scope = self.positions(&frame);
            for r in new_rows {
                if in_scope.contains_key(&r) && seen.insert(r) {
                    let v = match &call.arg {
                        Some(a) => expr::eval(a, &self.at_row(&frames, r))?,
                        None => Value::Null,
                    };
                    acc.push(&v)?;
                }
            }
            let out = acc.value();
            lock(&self.sh.running).insert(key, (seen, acc));
            return Ok(out);
        }
        if let Some(v) = lock(&self.sh.agg_cache).get(&key) {
            return Ok(v.clone());
        }
        let mut acc = Accumulator::new(call.func);
        let rows = match (&frame.recursive_rows, call.recursive) {
            (Some(sub), true) => sub,
            _ => &frame.rows,
        };
        for (i, &r) in rows.iter().enumerate() {
            if i.is_multiple_of(4096) {
                self.check_cancel()?;
            }
            let v = match &call.arg {
                Some(a) => expr::eval(a, &self.at_row(&frames, r))?,
                None => Value::Null,
            };
            acc.push(&v)?;
            if call.func == AggFn::First || call.func == AggFn::Aggregate {
                break;
            }
        }
        let out = acc.value();
        lock(&self.sh.agg_cache).insert(key, out.clone());
        Ok(out)
    }

    fn row_number(&self, scope: &Scope) -> Result<Value, EvalError> {
        // rows of the scope processed so far, in display order, the current one included
        let frame = self.scope_frame(scope)?;
        let Some((_, row)) = self.current() else {
            return Ok(Value::Int(0));
        };
        let key = (scope as *const Scope as usize, frame.id);
        let mut map = lock(&self.sh.row_numbers);
        let seen = map.entry(key).or_default();
        let next = seen.len() as i64 + 1;
        Ok(Value::Int(*seen.entry(row).or_insert(next)))
    }

    fn previous(&self, e: &Expr, scope: &Scope) -> Result<Value, EvalError> {
        let frame = match scope {
            Scope::Current => {
                let n = self.frames.len();
                match self.frames.last() {
                    Some(f) if f.details && n >= 2 => self.frames[n - 2].clone(),
                    Some(f) => f.clone(),
                    None => return Ok(Value::Null),
                }
            }
            s => self.scope_frame(s)?,
        };
        let Some((_, row)) = self.current() else {
            return Ok(Value::Null);
        };
        let pos = self.positions(&frame);
        match pos.get(&row) {
            Some(&p) if p > 0 => {
                let prev = frame.rows[p as usize - 1];
                let frames: Vec<Frame> = self.frames.to_vec();
                expr::eval(e, &self.at_row(&frames, prev))
            }
            _ => Ok(Value::Null),
        }
    }

    fn in_scope(&self, scope: &str) -> bool {
        self.frames.iter().any(|f| &*f.name == scope)
    }

    fn level(&self, scope: &Scope) -> Result<Value, EvalError> {
        Ok(Value::Int(self.recursive_level(scope) as i64))
    }

    fn lookup(&self, call: &LookupCall) -> Result<Value, EvalError> {
        let frame = self
            .sh
            .set_frames
            .get(&call.dataset)
            .cloned()
            .ok_or_else(|| {
                EvalError::Context(format!(
                    "Lookup: the data set '{}' does not exist or has no data",
                    call.dataset
                ))
            })?;
        let key = call as *const LookupCall as usize;
        let index = {
            let cached = lock(&self.sh.lookup_index).get(&key).cloned();
            match cached {
                Some(i) => i,
                None => {
                    let frames = vec![frame.clone()];
                    let mut idx: HashMap<String, Vec<u32>> = HashMap::new();
                    for &r in frame.rows.iter() {
                        let k = expr::eval(&call.destination, &self.at_row(&frames, r))?;
                        idx.entry(value_key(&k)).or_default().push(r);
                    }
                    let idx = Arc::new(idx);
                    lock(&self.sh.lookup_index).insert(key, idx.clone());
                    idx
                }
            }
        };
        let frames = vec![frame];
        let one = |k: &Value| -> Result<Value, EvalError> {
            match index.get(&value_key(k)).and_then(|v| v.first()) {
                Some(&r) => expr::eval(&call.result, &self.at_row(&frames, r)),
                None => Ok(Value::Null),
            }
        };
        let src = expr::eval(&call.source, self)?;
        match call.kind {
            LookupKind::Lookup => one(&src),
            LookupKind::LookupSet => {
                let mut out = Vec::new();
                for &r in index
                    .get(&value_key(&src))
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    out.push(expr::eval(&call.result, &self.at_row(&frames, r))?);
                }
                Ok(Value::Array(out.into()))
            }
            LookupKind::MultiLookup => {
                let keys: Vec<Value> = match src {
                    Value::Array(a) => a.to_vec(),
                    v => vec![v],
                };
                let mut out = Vec::with_capacity(keys.len());
                for k in &keys {
                    out.push(one(k)?);
                }
                Ok(Value::Array(out.into()))
            }
        }
    }

    fn code(&self) -> Option<&CodeInstance> {
        self.sh.code.as_ref()
    }

    fn culture(&self) -> &str {
        &self.sh.culture
    }
}

fn eval_err(what: &str, e: EvalError) -> EngineError {
    EngineError::Evaluation {
        what: what.to_owned(),
        message: e.to_string(),
    }
}

impl Shared {
    fn cancelled(&self) -> bool {
        self.opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    fn warn(&self, item: &str, msg: &str) {
        let mut w = lock(&self.warned);
        if w.len() < 1000 && w.insert(format!("{item}\u{0}{msg}")) {
            self.warnings.push(format!("{item}: {msg}"));
        }
    }

    fn ev<'a>(&'a self, frames: &'a [Frame], page: Option<&'a PageContext>) -> Ev<'a> {
        Ev {
            sh: self,
            frames,
            row: None,
            page,
            building: None,
        }
    }

    fn eval_simple(&self, e: &Expression) -> Result<Value, EngineError> {
        let x = self.c.expr(e)?;
        expr::eval(&x, &self.ev(&[], None)).map_err(|err| eval_err("the report's Language", err))
    }

    /// Evaluates an expression; a failure becomes a warning and `None`.
    fn eval_in(
        &self,
        e: &Expression,
        ev: &Ev<'_>,
        item: &str,
    ) -> Result<Option<Value>, EngineError> {
        let x = self.c.expr(e)?;
        match expr::eval(&x, ev) {
            Ok(v) => Ok(Some(v)),
            Err(err) => {
                if self.cancelled() {
                    return Err(EngineError::Cancelled);
                }
                self.warn(item, &err.to_string());
                Ok(None)
            }
        }
    }

    fn eval_str(
        &self,
        e: &Option<Expression>,
        ev: &Ev<'_>,
        item: &str,
    ) -> Result<Option<String>, EngineError> {
        match e {
            None => Ok(None),
            Some(Expression::Constant(s)) => Ok(Some(s.clone())),
            Some(x) => Ok(self
                .eval_in(x, ev, item)?
                .map(|v| expr::convert::to_string(&v, "en-US"))),
        }
    }

    fn eval_bool(&self, e: &Expression, ev: &Ev<'_>, item: &str) -> Result<bool, EngineError> {
        if let Some(b) = e.constant_bool() {
            return Ok(b);
        }
        Ok(match self.eval_in(e, ev, item)? {
            Some(v) => expr::convert::to_bool(&v).unwrap_or(false),
            None => false,
        })
    }

    fn load_set(
        &self,
        ds: &model::DataSet,
        table: &Arc<DataTable>,
    ) -> Result<Arc<SetRows>, EngineError> {
        let mut fields = FastMap::default();
        let mut sources: Vec<Option<usize>> = Vec::with_capacity(ds.fields.len());
        let mut calculated = Vec::new();
        for (i, f) in ds.fields.iter().enumerate() {
            fields.insert(f.name.clone(), i);
            match &f.source {
                model::FieldSource::DataField(col) => {
                    let c = table.fields.iter().position(|n| n == col).or_else(|| {
                        table
                            .fields
                            .iter()
                            .position(|n| n.eq_ignore_ascii_case(col))
                    });
                    if c.is_none() {
                        self.warn(
                            &ds.name,
                            &format!(
                                "the query returned no column {col} for the field {}",
                                f.name
                            ),
                        );
                    }
                    sources.push(c);
                }
                model::FieldSource::Value(e) => {
                    sources.push(None);
                    calculated.push((i, self.c.expr(e)?));
                }
            }
        }
        let n = ds.fields.len();
        if calculated.is_empty()
            && table.fields.len() == n
            && sources.iter().enumerate().all(|(i, s)| *s == Some(i))
        {
            return Ok(Arc::new(SetRows {
                name: ds.name.clone(),
                fields,
                rows: table.clone(),
            }));
        }
        let names: Vec<String> = ds.fields.iter().map(|f| f.name.clone()).collect();
        let kinds: Vec<ColumnKind> = sources
            .iter()
            .map(|s| s.and_then(|c| table.kind(c)).unwrap_or(ColumnKind::Unknown))
            .collect();
        let mut out = TableBuilder::new(names, &kinds);
        if calculated.is_empty() {
            for r in 0..table.len() {
                for (i, s) in sources.iter().enumerate() {
                    out.push(i, s.map_or(Value::Null, |c| table.value(r, c)));
                }
                out.end_row();
            }
            return Ok(Arc::new(SetRows {
                name: ds.name.clone(),
                fields,
                rows: Arc::new(out.finish()),
            }));
        }
        let shape = SetRows {
            name: ds.name.clone(),
            fields: fields.clone(),
            rows: Arc::new(DataTable::default()),
        };
        for ri in 0..table.len() {
            if ri.is_multiple_of(4096) && self.cancelled() {
                return Err(EngineError::Cancelled);
            }
            let vals: Vec<Value> = (0..n)
                .map(|i| sources[i].map_or(Value::Null, |c| table.value(ri, c)))
                .collect();
            let cell = RefCell::new(vals);
            for (i, x) in &calculated {
                let ev = Ev {
                    sh: self,
                    frames: &[],
                    row: None,
                    page: None,
                    building: Some((&shape, &cell)),
                };
                let v = match expr::eval(x, &ev) {
                    Ok(v) => v,
                    Err(e) => {
                        self.warn(
                            &ds.name,
                            &format!("the calculated field {}: {e}", ds.fields[*i].name),
                        );
                        Value::str("#Error")
                    }
                };
                cell.borrow_mut()[*i] = v;
            }
            for (i, v) in cell.into_inner().into_iter().enumerate() {
                out.push(i, v);
            }
            out.end_row();
        }
        Ok(Arc::new(SetRows {
            name: ds.name.clone(),
            fields,
            rows: Arc::new(out.finish()),
        }))
    }

    /// Applies filters to `rows` (evaluated per row with `frames` + the set as innermost).
    fn filter_rows(
        &self,
        set: &Arc<SetRows>,
        filters: &[model::Filter],
        frames: &[Frame],
        rows: Vec<u32>,
    ) -> Result<Vec<u32>, EngineError> {
        if filters.is_empty() {
            return Ok(rows);
        }
        let mut chain = frames.to_vec();
        chain.push(Frame::new(
            set.name.as_str(),
            set.clone(),
            rows.clone().into(),
            "".into(),
            false,
        ));
        let mut keep = rows;
        for f in filters {
            let x = self.c.expr(&f.expression)?;
            let vals: Vec<Arc<Expr>> = f
                .values
                .iter()
                .map(|v| self.c.expr(v))
                .collect::<Result<_, _>>()?;
            let ev0 = self.ev(&chain, None);
            match f.operator {
                FilterOperator::TopN
                | FilterOperator::BottomN
                | FilterOperator::TopPercent
                | FilterOperator::BottomPercent => {
                    let n = match vals.first() {
                        Some(v) => expr::convert::to_f64(
                            &expr::eval(v, &ev0).map_err(|e| eval_err("a filter value", e))?,
                        )
                        .unwrap_or(0.0),
                        None => 0.0,
                    };
                    let mut keyed: Vec<(Value, u32)> = Vec::with_capacity(keep.len());
                    for &r in &keep {
                        let ev = Ev {
                            row: Some(r),
                            ..self.ev(&chain, None)
                        };
                        keyed.push((expr::eval(&x, &ev).map_err(|e| eval_err("a filter", e))?, r));
                    }
                    let top = matches!(
                        f.operator,
                        FilterOperator::TopN | FilterOperator::TopPercent
                    );
                    keyed.sort_by(|a, b| {
                        if top {
                            cmp_values(&b.0, &a.0)
                        } else {
                            cmp_values(&a.0, &b.0)
                        }
                    });
                    let count =
                        if matches!(f.operator, FilterOperator::TopN | FilterOperator::BottomN) {
                            n.max(0.0) as usize
                        } else {
                            ((keyed.len() as f64) * n / 100.0).ceil() as usize
                        };
                    let chosen: HashSet<u32> =
                        keyed.into_iter().take(count).map(|(_, r)| r).collect();
                    keep.retain(|r| chosen.contains(r));
                }
                op => {
                    // filter values are evaluated once unless they read fields
                    let mut fixed: Vec<Value> = Vec::new();
                    for v in &vals {
                        match expr::eval(v, &ev0) {
                            Ok(Value::Array(a)) => fixed.extend(a.iter().cloned()),
                            Ok(val) => fixed.push(val),
                            Err(e) => return Err(eval_err("a filter value", e)),
                        }
                    }
                    let mut out = Vec::with_capacity(keep.len());
                    for (i, &r) in keep.iter().enumerate() {
                        if i.is_multiple_of(4096) && self.cancelled() {
                            return Err(EngineError::Cancelled);
                        }
                        let ev = Ev {
                            row: Some(r),
                            ..self.ev(&chain, None)
                        };
                        let v =
                            expr::eval(&x, &ev).map_err(|e| eval_err("a filter expression", e))?;
                        if filter_match(op, &v, &fixed, &ev)? {
                            out.push(r);
                        }
                    }
                    keep = out;
                }
            }
        }
        Ok(keep)
    }

    fn box_style(&self, s: &model::Style, frames: &[Frame]) -> Result<inst::BoxStyle, EngineError> {
        let ev = self.ev(frames, None);
        self.box_style_ev(s, &ev, "style")
    }

    fn box_style_ev(
        &self,
        s: &model::Style,
        ev: &Ev<'_>,
        item: &str,
    ) -> Result<inst::BoxStyle, EngineError> {
        if !const_box_style(s) {
            return self.box_style_eval(s, ev, item);
        }
        let key = (s as *const model::Style as usize, item.as_ptr() as usize);
        if let Some(b) = lock(&self.const_box_styles).get(&key) {
            return Ok(*b);
        }
        let b = self.box_style_eval(s, ev, item)?;
        lock(&self.const_box_styles).insert(key, b);
        Ok(b)
    }

    fn box_style_eval(
        &self,
        s: &model::Style,
        ev: &Ev<'_>,
        item: &str,
    ) -> Result<inst::BoxStyle, EngineError> {
        let mut b = inst::BoxStyle::default();
        let base = self.border(&s.border, None, ev, item)?;
        for (i, side) in [
            &s.top_border,
            &s.right_border,
            &s.bottom_border,
            &s.left_border,
        ]
        .into_iter()
        .enumerate()
        {
            b.borders[i] = self.border(side, Some(base), ev, item)?;
        }
        if let Some(c) = self.eval_str(&s.background_color, ev, item)? {
            b.background = style::color(&c).filter(|c| c.a > 0);
        }
        let pad = |e: &Option<Expression>| -> Result<Len, EngineError> {
            Ok(self
                .eval_str(e, ev, item)?
                .and_then(|s| style::size(&s))
                .unwrap_or(0))
        };
        b.padding = [
            pad(&s.padding_top)?,
            pad(&s.padding_right)?,
            pad(&s.padding_bottom)?,
            pad(&s.padding_left)?,
        ];
        if let Some(v) = self.eval_str(&s.vertical_align, ev, item)? {
            b.vertical_align = style::vertical_align(&v).unwrap_or_default();
        }
        Ok(b)
    }

    fn border(
        &self,
        b: &model::Border,
        base: Option<inst::Border>,
        ev: &Ev<'_>,
        item: &str,
    ) -> Result<inst::Border, EngineError> {
        let mut out = base.unwrap_or_else(style::default_border);
        if let Some(s) = self.eval_str(&b.style, ev, item)? {
            out.style = style::border_style(&s).unwrap_or_default();
        }
        if let Some(c) = self.eval_str(&b.color, ev, item)? {
            match style::color(&c) {
                Some(c) => out.color = c,
                None => self.warn(
                    item,
                    &format!("the colour {c:?} is not valid; black is used"),
                ),
            }
        }
        if let Some(w) = self.eval_str(&b.width, ev, item)? {
            out.width = style::size(&w).unwrap_or(out.width);
        }
        Ok(out)
    }

    fn text_style(
        &self,
        run: &model::Style,
        tb: &model::Style,
        ev: &Ev<'_>,
        item: &str,
    ) -> Result<inst::TextStyle, EngineError> {
        if !(const_text_style(run) && const_text_style(tb)) {
            return self.text_style_eval(run, tb, ev, item);
        }
        let key = (
            run as *const model::Style as usize,
            tb as *const model::Style as usize,
            item.as_ptr() as usize,
        );
        if let Some(t) = lock(&self.const_text_styles).get(&key) {
            return Ok(t.clone());
        }
        let t = self.text_style_eval(run, tb, ev, item)?;
        lock(&self.const_text_styles).insert(key, t.clone());
        Ok(t)
    }

    fn text_style_eval(
        &self,
        run: &model::Style,
        tb: &model::Style,
        ev: &Ev<'_>,
        item: &str,
    ) -> Result<inst::TextStyle, EngineError> {
        let mut t = inst::TextStyle::default();
        if let Some(f) = &self.c.report.default_font_family {
            t.font_family = f.clone();
        }
        let pick = |a: &Option<Expression>,
                    b: &Option<Expression>|
         -> Result<Option<String>, EngineError> {
            match self.eval_str(a, ev, item)? {
                Some(v) => Ok(Some(v)),
                None => self.eval_str(b, ev, item),
            }
        };
        if let Some(f) = pick(&run.font_family, &tb.font_family)? {
            match style::font_family(&f) {
                Some(f) => t.font_family = f,
                None => self.warn(item, &format!("the font family {f:?} is not valid")),
            }
        }
        if let Some(s) = pick(&run.font_size, &tb.font_size)? {
            t.font_size = style::size(&s)
                .filter(|x| *x > 0 && *x < 200 * inst::UM_PER_INCH / 72 * 10)
                .unwrap_or(t.font_size);
        }
        if let Some(w) = pick(&run.font_weight, &tb.font_weight)? {
            t.font_weight = style::font_weight(&w).unwrap_or(400);
        }
        if let Some(s) = pick(&run.font_style, &tb.font_style)? {
            t.italic = s.trim().eq_ignore_ascii_case("italic");
        }
        if let Some(d) = pick(&run.text_decoration, &tb.text_decoration)? {
            let d = d.to_ascii_lowercase();
            t.underline = d.contains("underline");
            t.line_through = d.contains("linethrough");
        }
        if let Some(c) = pick(&run.color, &tb.color)? {
            match style::color(&c) {
                Some(c) => t.color = c,
                None => self.warn(
                    item,
                    &format!("the colour {c:?} is not valid; black is used"),
                ),
            }
        }
        Ok(t)
    }

    fn format(&self, v: &Value, fmt: Option<&str>) -> String {
        let f: &str = match (fmt, v) {
            (Some(f), _) if !f.is_empty() => f,
            (_, Value::DateTime(_)) => "G",
            _ => return expr::convert::to_string(v, &self.culture),
        };
        if v.is_null() {
            return String::new();
        }
        match expr::vb_format(v, f, &self.culture) {
            Ok(s) => s,
            Err(_) => expr::convert::to_string(v, &self.culture),
        }
    }

    fn frames_key(frames: &[Frame]) -> Arc<str> {
        frames
            .last()
            .map(Frame::full_key)
            .unwrap_or_else(|| "".into())
    }

    fn visibility(
        &self,
        v: &Option<model::Visibility>,
        ev: &Ev<'_>,
        frames: &[Frame],
        item: &str,
    ) -> Result<inst::Visibility, EngineError> {
        let Some(v) = v else {
            return Ok(inst::Visibility::Visible);
        };
        let hidden = match &v.hidden {
            None => false,
            Some(e) => self.eval_bool(e, ev, item)?,
        };
        if let Some(t) = &v.toggle_item {
            let id = format!("{t}@{}", Self::frames_key(frames));
            let flipped = self.opts.toggles.contains(&id);
            return Ok(if hidden != flipped {
                inst::Visibility::ToggleHidden
            } else {
                inst::Visibility::Visible
            });
        }
        Ok(match (&v.hidden, hidden) {
            (_, false) => inst::Visibility::Visible,
            (Some(Expression::Constant(_)), true) => inst::Visibility::AlwaysHidden,
            _ => inst::Visibility::Hidden,
        })
    }

    fn action(
        &self,
        actions: &[model::Action],
        ev: &Ev<'_>,
        item: &str,
    ) -> Result<Option<inst::Action>, EngineError> {
        let Some(a) = actions.first() else {
            return Ok(None);
        };
        Ok(match a {
            model::Action::Hyperlink(e) => self
                .eval_str(&Some(e.clone()), ev, item)?
                .filter(|s| !s.trim().is_empty())
                .map(inst::Action::Hyperlink),
            model::Action::BookmarkLink(e) => self
                .eval_str(&Some(e.clone()), ev, item)?
                .map(inst::Action::BookmarkLink),
            model::Action::Drillthrough(d) => {
                let Some(name) = self.eval_str(&Some(d.report_name.clone()), ev, item)? else {
                    return Ok(None);
                };
                let report = if name.starts_with('/') {
                    name
                } else {
                    let folder = match self.c.path.rfind('/') {
                        Some(i) => &self.c.path[..i],
                        None => "",
                    };
                    format!("{folder}/{name}")
                };
                let mut params = Vec::new();
                for p in &d.parameters {
                    if let Some(o) = &p.omit
                        && self.eval_bool(o, ev, item)?
                    {
                        continue;
                    }
                    match self.eval_in(&p.value, ev, item)? {
                        Some(Value::Array(a)) => {
                            for v in a.iter() {
                                params.push((p.name.clone(), crate::params::value_text(v)));
                            }
                        }
                        Some(v) => params.push((p.name.clone(), crate::params::value_text(&v))),
                        None => {}
                    }
                }
                Some(inst::Action::Drillthrough { report, params })
            }
        })
    }

    fn count_cell(&self) -> Result<(), EngineError> {
        let n = self.cells.fetch_add(1, Ordering::Relaxed) + 1;
        if n > self.opts.max_cells {
            return Err(EngineError::Limit {
                limit: "cells",
                max: self.opts.max_cells,
                fix: "show fewer rows or columns (filter the data), or raise the cell limit",
            });
        }
        if n.is_multiple_of(1024) && self.cancelled() {
            return Err(EngineError::Cancelled);
        }
        Ok(())
    }

    fn item_in_page(
        &self,
        def: &ReportItem,
        page: &PageContext,
    ) -> Result<Option<inst::Item>, EngineError> {
        self.item_ctx(def, &[], Some(page))
    }

    fn item(&self, def: &ReportItem, frames: &[Frame]) -> Result<Option<inst::Item>, EngineError> {
        self.item_ctx(def, frames, None)
    }

    fn item_ctx(
        &self,
        def: &ReportItem,
        frames: &[Frame],
        page: Option<&PageContext>,
    ) -> Result<Option<inst::Item>, EngineError> {
        let ev = self.ev(frames, page);
        let name = def.name.as_str();
        let mut item = inst::Item::new(name, inst::ItemKind::Rectangle(Vec::new()));
        item.top = def.top.0;
        item.left = def.left.0;
        item.width = def.width.map(|s| s.0).unwrap_or(0);
        item.height = def.height.map(|s| s.0).unwrap_or(0);
        item.keep_together = def.keep_together;
        if let Some(n) = &def.data_element_name {
            item.data_element_name = n.clone();
        }
        item.data_element_output = match def.data_element_output {
            model::DataElementOutput::Auto => inst::DataOutput::Auto,
            model::DataElementOutput::Output => inst::DataOutput::Output,
            model::DataElementOutput::NoOutput => inst::DataOutput::NoOutput,
            model::DataElementOutput::ContentsOnly => inst::DataOutput::ContentsOnly,
        };
        item.visibility = self.visibility(&def.visibility, &ev, frames, name)?;
        item.style = self.box_style_ev(&def.style, &ev, name)?;
        if let Some(b) = &def.bookmark {
            item.bookmark = self
                .eval_str(&Some(b.clone()), &ev, name)?
                .filter(|s| !s.is_empty());
        }
        if let Some(l) = &def.document_map_label {
            item.document_map_label = self
                .eval_str(&Some(l.clone()), &ev, name)?
                .filter(|s| !s.is_empty());
        }
        item.page_break = self.item_page_break(def, &ev)?;
        item.kind = match &def.kind {
            model::ItemKind::Textbox(tb) => {
                inst::ItemKind::Textbox(Box::new(self.textbox(def, tb, &ev, frames)?))
            }
            model::ItemKind::Rectangle(r) => {
                let mut ch = Vec::with_capacity(r.items.len());
                for c in &r.items {
                    if let Some(i) = self.item_ctx(c, frames, page)? {
                        ch.push(i);
                    }
                }
                inst::ItemKind::Rectangle(ch)
            }
            model::ItemKind::Line => inst::ItemKind::Line {
                border: item.style.borders[0],
            },
            model::ItemKind::Image(img) => {
                inst::ItemKind::Image(Box::new(self.image(img, &ev, name)?))
            }
            model::ItemKind::Subreport(s) => self.subreport(s, &ev, name)?,
            model::ItemKind::Tablix(t) => {
                inst::ItemKind::Tablix(Box::new(self.tablix(def, t, frames)?))
            }
            model::ItemKind::Chart(ch) => self.chart(def, ch, frames)?,
            model::ItemKind::GaugePanel(g) => self.gauge_panel(def, g, frames)?,
            model::ItemKind::Placeholder(p) => inst::ItemKind::Placeholder(match p.kind {
                model::PlaceholderKind::Chart => inst::PlaceholderKind::Chart,
                model::PlaceholderKind::GaugePanel => inst::PlaceholderKind::Gauge,
                model::PlaceholderKind::Map => inst::PlaceholderKind::Map,
                model::PlaceholderKind::CustomReportItem(_) => inst::PlaceholderKind::Custom,
            }),
        };
        Ok(Some(item))
    }

    fn image(
        &self,
        img: &model::Image,
        ev: &Ev<'_>,
        name: &str,
    ) -> Result<inst::Image, EngineError> {
        let source = match img.source {
            model::ImageSource::Embedded => {
                let n = self
                    .eval_str(&Some(img.value.clone()), ev, name)?
                    .unwrap_or_default();
                match self.c.report.embedded_image(&n) {
                    Some(e) => inst::ImageSource::Embedded {
                        name: e.name.clone(),
                        mime: e.mime_type.clone(),
                        data: e.data.clone(),
                    },
                    None => {
                        self.warn(name, &format!("the embedded image {n:?} does not exist"));
                        inst::ImageSource::Empty
                    }
                }
            }
            model::ImageSource::External => {
                match self.eval_str(&Some(img.value.clone()), ev, name)? {
                    Some(u) if !u.is_empty() => inst::ImageSource::External(u),
                    _ => inst::ImageSource::Empty,
                }
            }
            model::ImageSource::Database => match self.eval_in(&img.value, ev, name)? {
                Some(Value::Bytes(b)) => inst::ImageSource::Database {
                    mime: self
                        .eval_str(&img.mime_type, ev, name)?
                        .unwrap_or_else(|| "image/png".into()),
                    data: b,
                },
                _ => inst::ImageSource::Empty,
            },
        };
        Ok(inst::Image {
            source,
            sizing: match img.sizing {
                model::Sizing::AutoSize => inst::Sizing::AutoSize,
                model::Sizing::Fit => inst::Sizing::Fit,
                model::Sizing::FitProportional => inst::Sizing::FitProportional,
                model::Sizing::Clip => inst::Sizing::Clip,
            },
            action: self.action(&img.actions, ev, name)?,
            chart: None,
        })
    }

    fn textbox(
        &self,
        def: &ReportItem,
        tb: &model::Textbox,
        ev: &Ev<'_>,
        frames: &[Frame],
    ) -> Result<inst::Textbox, EngineError> {
        self.count_cell()?;
        let name = def.name.as_str();
        let mut paragraphs = Vec::with_capacity(tb.paragraphs.len());
        let mut constant = true;
        let mut run_count = 0usize;
        let tb_align = self.eval_str(&def.style.text_align, ev, name)?;
        let mut tb_format = self.eval_str(&def.style.format, ev, name)?;
        // one run: its format may take the textbox's without a copy
        let single_run = matches!(tb.paragraphs.as_slice(), [p] if p.runs.len() == 1);
        for p in &tb.paragraphs {
            let mut runs = Vec::with_capacity(p.runs.len());
            for r in &p.runs {
                let (value, text, format) = match &r.value {
                    Expression::Constant(s) => (Value::str(s.as_str()), s.clone(), None),
                    e => {
                        let x = self.c.expr(e)?;
                        if !x.is_constant() {
                            constant = false;
                        }
                        match expr::eval(&x, ev) {
                            Ok(v) => {
                                let fmt = match self.eval_str(&r.style.format, ev, name)? {
                                    Some(f) => Some(f),
                                    None if single_run => tb_format.take(),
                                    None => tb_format.clone(),
                                };
                                let text = self.format(&v, fmt.as_deref());
                                (v, text, fmt)
                            }
                            Err(err) => {
                                if self.cancelled() {
                                    return Err(EngineError::Cancelled);
                                }
                                self.warn(name, &err.to_string());
                                (Value::str("#Error"), "#Error".to_owned(), None)
                            }
                        }
                    }
                };
                let style = self.text_style(&r.style, &def.style, ev, name)?;
                let action = self.action(&r.actions, ev, name)?;
                run_count += 1;
                runs.push(inst::Run {
                    text,
                    value,
                    style,
                    action,
                    format,
                });
            }
            let align = match self
                .eval_str(&p.style.text_align, ev, name)?
                .or_else(|| tb_align.clone())
            {
                Some(a) => style::text_align(&a).unwrap_or(None),
                None => None,
            };
            let align = align.unwrap_or_else(|| {
                let first = p.runs.first().and(runs.first()).map(|r| &r.value);
                match first {
                    Some(
                        Value::Int(_) | Value::Float(_) | Value::Decimal(_) | Value::DateTime(_),
                    ) => inst::TextAlign::Right,
                    _ => inst::TextAlign::Left,
                }
            });
            let left_indent = self
                .eval_str(&p.left_indent, ev, name)?
                .and_then(|s| style::size(&s))
                .unwrap_or(0);
            paragraphs.push(inst::Paragraph {
                runs,
                align,
                left_indent,
            });
        }
        let value = if run_count == 1 {
            paragraphs
                .iter()
                .flat_map(|p| p.runs.first())
                .next()
                .map(|r| r.value.clone())
                .unwrap_or(Value::Null)
        } else {
            let mut s = String::new();
            for (i, p) in paragraphs.iter().enumerate() {
                if i > 0 {
                    s.push_str("\r\n");
                }
                p.runs.iter().for_each(|r| s.push_str(&r.text));
            }
            Value::str(s)
        };
        if self.c.uses_report_items {
            let mut ri = lock(&self.report_items);
            match ri.get_mut(def.name.as_str()) {
                Some(slot) => *slot = value.clone(),
                None => {
                    ri.insert(def.name.clone(), value.clone());
                }
            }
        }
        let toggle = if !self.toggle_targets.is_empty() && self.toggle_targets.contains(name) {
            let id = format!("{name}@{}", Self::frames_key(frames));
            let initial = match &tb.toggle_image {
                Some(e) => self.eval_bool(e, ev, name)?,
                None => false,
            };
            Some(inst::ToggleState {
                expanded: initial != self.opts.toggles.contains(&id),
                id,
            })
        } else {
            None
        };
        Ok(inst::Textbox {
            paragraphs,
            value,
            constant,
            element_style: match tb.data_element_style {
                model::DataElementStyle::Auto => None,
                model::DataElementStyle::Attribute => Some(inst::ElementStyle::Attribute),
                model::DataElementStyle::Element => Some(inst::ElementStyle::Element),
            },
            action: self.action(&tb.actions, ev, name)?,
            toggle,
            sort: self.sort_button(tb, name),
            can_grow: tb.can_grow,
            can_shrink: tb.can_shrink,
        })
    }
}

fn filter_match(
    op: FilterOperator,
    v: &Value,
    vals: &[Value],
    ev: &Ev<'_>,
) -> Result<bool, EngineError> {
    use std::cmp::Ordering as O;
    let first = vals.first().cloned().unwrap_or(Value::Null);
    let cmp = |a: &Value, b: &Value| -> O { cmp_values(a, b) };
    let eq = |a: &Value, b: &Value| -> bool {
        match (a, b) {
            (Value::Str(x), Value::Str(y)) => x == y,
            _ => cmp(a, b) == O::Equal,
        }
    };
    Ok(match op {
        FilterOperator::Equal => eq(v, &first),
        FilterOperator::NotEqual => !eq(v, &first),
        FilterOperator::GreaterThan => cmp(v, &first) == O::Greater,
        FilterOperator::GreaterThanOrEqual => cmp(v, &first) != O::Less,
        FilterOperator::LessThan => cmp(v, &first) == O::Less,
        FilterOperator::LessThanOrEqual => cmp(v, &first) != O::Greater,
        FilterOperator::In => vals.iter().any(|x| eq(v, x)),
        FilterOperator::Between => {
            let hi = vals.get(1).cloned().unwrap_or(Value::Null);
            cmp(v, &first) != O::Less && cmp(v, &hi) != O::Greater
        }
        FilterOperator::Like => {
            let e = Expr::Binary(
                BinaryOp::Like,
                Box::new(Expr::Literal(v.clone())),
                Box::new(Expr::Literal(first)),
            );
            expr::eval(&e, ev)
                .ok()
                .and_then(|b| expr::convert::to_bool(&b).ok())
                .unwrap_or(false)
        }
        FilterOperator::TopN
        | FilterOperator::BottomN
        | FilterOperator::TopPercent
        | FilterOperator::BottomPercent => true,
    })
}

// ---------------------------------------------------------------------------------------
// Tablix

/// One expanded member instance (before the grid is built).
struct Expanded<'d> {
    def: &'d TablixMember,
    frames: Vec<Frame>,
    rows: Arc<[u32]>,
    children: Vec<ExpandedMember<'d>>,
    /// Leaf position along the axis (for leaves).
    leaf: Option<usize>,
    /// The body row/column of the definition a leaf maps onto.
    def_leaf: usize,
    visibility: inst::Visibility,
    /// Header level (number of header-bearing ancestors).
    level: usize,
    first_leaf: usize,
    leaf_count: usize,
}

struct ExpandedMember<'d> {
    def: &'d TablixMember,
    instances: Vec<Expanded<'d>>,
}

struct Axis {
    leaves: usize,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    fn expand<'d>(
        &self,
        members: &'d [TablixMember],
        frames: &[Frame],
        rows: &Arc<[u32]>,
        set: &Arc<SetRows>,
        level: usize,
        def_leaf: &mut usize,
        axis: &mut Axis,
        parent_hidden: inst::Visibility,
    ) -> Result<Vec<ExpandedMember<'d>>, EngineError> {
        let mut out = Vec::with_capacity(members.len());
        for m in members {
            let my_def_leaf = *def_leaf;
            let mut instances = Vec::new();
            let groups: GroupInstances = match &m.group {
                None => vec![(rows.clone(), None)],
                Some(g) => {
                    let sorts = self.group_sorts(g, &m.sort_expressions);
                    self.group_instances(g, &sorts, frames, rows, set)?
                }
            };
            for (grows, gframe) in groups {
                if self.cancelled() {
                    return Err(EngineError::Cancelled);
                }
                let mut fr = frames.to_vec();
                if let Some(f) = gframe {
                    fr.push(f);
                }
                let ev = self.ev(&fr, None);
                let mut vis = self.visibility(&m.visibility, &ev, frames, "TablixMember")?;
                if m.hide_if_no_rows && grows.is_empty() {
                    vis = inst::Visibility::Hidden;
                }
                if parent_hidden != inst::Visibility::Visible && vis == inst::Visibility::Visible {
                    vis = parent_hidden;
                }
                let lvl = level + usize::from(m.header.is_some());
                let first_leaf = axis.leaves;
                let mut dl = my_def_leaf;
                let (children, leaf) = if m.members.is_empty() {
                    let l = axis.leaves;
                    axis.leaves += 1;
                    (Vec::new(), Some(l))
                } else {
                    (
                        self.expand(&m.members, &fr, &grows, set, lvl, &mut dl, axis, vis)?,
                        None,
                    )
                };
                instances.push(Expanded {
                    def: m,
                    frames: fr,
                    rows: grows,
                    children,
                    leaf,
                    def_leaf: my_def_leaf,
                    visibility: vis,
                    level,
                    first_leaf,
                    leaf_count: axis.leaves - first_leaf,
                });
            }
            *def_leaf = my_def_leaf + m.leaf_count();
            out.push(ExpandedMember { def: m, instances });
        }
        Ok(out)
    }

    fn group_instances(
        &self,
        g: &model::Group,
        sorts: &[model::SortExpression],
        frames: &[Frame],
        rows: &Arc<[u32]>,
        set: &Arc<SetRows>,
    ) -> Result<GroupInstances, EngineError> {
        let parent_key = Self::frames_key(frames);
        let group_name: Arc<str> = g.name.as_str().into();
        let mut groups: Vec<(String, Vec<u32>)> = Vec::new();
        let mut details_out = None;
        if g.is_details() {
            // one instance per row; the key string is built only if a toggle asks for it
            let mut out = Vec::with_capacity(rows.len());
            for (i, &r) in rows.iter().enumerate() {
                if i.is_multiple_of(4096) && self.cancelled() {
                    return Err(EngineError::Cancelled);
                }
                let rs: Arc<[u32]> = Arc::new([r]);
                let mut f = Frame::new(
                    group_name.clone(),
                    set.clone(),
                    rs.clone(),
                    parent_key.clone(),
                    true,
                );
                f.detail_row = Some(r);
                out.push((rs, f));
            }
            details_out = Some(out);
        } else {
            let exprs: Vec<Arc<Expr>> = g
                .group_expressions
                .iter()
                .map(|e| self.c.expr(e))
                .collect::<Result<_, _>>()?;
            let mut index: HashMap<String, usize> = HashMap::new();
            for (i, &r) in rows.iter().enumerate() {
                if i.is_multiple_of(4096) && self.cancelled() {
                    return Err(EngineError::Cancelled);
                }
                let ev = Ev {
                    row: Some(r),
                    ..self.ev(frames, None)
                };
                let mut key = String::new();
                for x in &exprs {
                    let v = expr::eval(x, &ev)
                        .map_err(|e| eval_err(&format!("the group expression of {}", g.name), e))?;
                    key.push_str(&value_key(&v));
                    key.push('\u{1}');
                }
                match index.get(&key) {
                    Some(&gi) => groups[gi].1.push(r),
                    None => {
                        index.insert(key.clone(), groups.len());
                        groups.push((key, vec![r]));
                    }
                }
            }
        }
        let mut out: Vec<(Arc<[u32]>, Frame)> = match details_out {
            Some(d) => d,
            None => groups
                .into_iter()
                .map(|(k, rs)| {
                    let rows: Arc<[u32]> = rs.into();
                    let key: Arc<str> = format!("{parent_key}/{}={k}", g.name).into();
                    let f = Frame::new(
                        group_name.clone(),
                        set.clone(),
                        rows.clone(),
                        key,
                        g.is_details(),
                    );
                    (rows, f)
                })
                .collect(),
        };
        // group filters, evaluated in the group's scope
        if !g.filters.is_empty() {
            let mut kept = Vec::with_capacity(out.len());
            for (rows, f) in out {
                let mut fr = frames.to_vec();
                fr.push(f.clone());
                let ev = self.ev(&fr, None);
                let mut ok = true;
                for flt in &g.filters {
                    let x = self.c.expr(&flt.expression)?;
                    let v = expr::eval(&x, &ev)
                        .map_err(|e| eval_err(&format!("a filter of group {}", g.name), e))?;
                    let mut vals = Vec::new();
                    for fv in &flt.values {
                        let fx = self.c.expr(fv)?;
                        match expr::eval(&fx, &ev).map_err(|e| eval_err("a filter value", e))? {
                            Value::Array(a) => vals.extend(a.iter().cloned()),
                            v => vals.push(v),
                        }
                    }
                    if !filter_match(flt.operator, &v, &vals, &ev)? {
                        ok = false;
                        break;
                    }
                }
                if ok {
                    kept.push((rows, f));
                }
            }
            out = kept;
        }
        if !sorts.is_empty() {
            let exprs: Vec<(Arc<Expr>, SortDirection)> = sorts
                .iter()
                .map(|s| Ok((self.c.expr(&s.value)?, s.direction)))
                .collect::<Result<_, EngineError>>()?;
            let mut keyed = Vec::with_capacity(out.len());
            for (rows, f) in out {
                let mut fr = frames.to_vec();
                fr.push(f.clone());
                let ev = self.ev(&fr, None);
                let mut keys = Vec::with_capacity(exprs.len());
                for (x, _) in &exprs {
                    keys.push(
                        expr::eval(x, &ev).map_err(|e| {
                            eval_err(&format!("a sort expression of {}", g.name), e)
                        })?,
                    );
                }
                keyed.push((keys, rows, f));
            }
            keyed.sort_by(|a, b| {
                for (i, (_, dir)) in exprs.iter().enumerate() {
                    let c = cmp_values(&a.0[i], &b.0[i]);
                    let c = if *dir == SortDirection::Descending {
                        c.reverse()
                    } else {
                        c
                    };
                    if c != std::cmp::Ordering::Equal {
                        return c;
                    }
                }
                std::cmp::Ordering::Equal
            });
            out = keyed.into_iter().map(|(_, r, f)| (r, f)).collect();
        }
        if let Some(p) = &g.parent {
            out = self.recursive_order(g, p, frames, out)?;
        }
        Ok(out.into_iter().map(|(r, f)| (r, Some(f))).collect())
    }

    /// The data set a data region (`kind`: "tablix", "chart") names, or the report's only
    /// one, and the rows it sees, filtered: inside a group of the same data set that group's
    /// rows, else the whole set's.
    pub(crate) fn region_rows(
        &self,
        def: &ReportItem,
        kind: &str,
        ds: &Option<String>,
        filters: &[model::Filter],
        frames: &[Frame],
    ) -> Result<(Frame, Vec<u32>), EngineError> {
        let ds_name = match ds {
            Some(n) => n.clone(),
            None if self.c.report.data_sets.len() == 1 => self.c.report.data_sets[0].name.clone(),
            None => {
                return Err(EngineError::UnknownDataSet {
                    name: String::new(),
                    used_by: format!("the {kind} {} (set its DataSetName)", def.name),
                });
            }
        };
        let base =
            self.set_frames
                .get(&ds_name)
                .cloned()
                .ok_or_else(|| EngineError::UnknownDataSet {
                    name: ds_name.clone(),
                    used_by: format!("the {kind} {}", def.name),
                })?;
        let rows: Vec<u32> = match frames.iter().rev().find(|f| f.set.name == base.set.name) {
            Some(f) => f.rows.to_vec(),
            None => base.rows.to_vec(),
        };
        let rows = self.filter_rows(&base.set, filters, frames, rows)?;
        Ok((base, rows))
    }

    /// The frames a data region's contents see: `frames`, the data set's own frame (once)
    /// and the region's, holding `rows`.
    pub(crate) fn region_chain(
        def: &ReportItem,
        base: &Frame,
        rows: &Arc<[u32]>,
        frames: &[Frame],
    ) -> Vec<Frame> {
        let set = &base.set;
        let mut chain: Vec<Frame> = frames.to_vec();
        if !chain.iter().any(|f| f.set.name == set.name) {
            chain.push(Frame::new(
                set.name.as_str(),
                set.clone(),
                base.rows.clone(),
                Self::frames_key(frames),
                false,
            ));
        }
        chain.push(Frame::new(
            def.name.as_str(),
            set.clone(),
            rows.clone(),
            Self::frames_key(frames),
            false,
        ));
        chain
    }

    fn tablix(
        &self,
        def: &ReportItem,
        t: &model::Tablix,
        frames: &[Frame],
    ) -> Result<inst::Tablix, EngineError> {
        let (base, mut rows) =
            self.region_rows(def, "tablix", &t.data_set_name, &t.filters, frames)?;
        let set = base.set.clone();
        if !t.sort_expressions.is_empty() {
            let exprs: Vec<(Arc<Expr>, SortDirection)> = t
                .sort_expressions
                .iter()
                .map(|s| Ok((self.c.expr(&s.value)?, s.direction)))
                .collect::<Result<_, EngineError>>()?;
            let mut chain = frames.to_vec();
            chain.push(base.clone());
            let mut keyed = Vec::with_capacity(rows.len());
            for &r in &rows {
                let ev = Ev {
                    row: Some(r),
                    ..self.ev(&chain, None)
                };
                let mut k = Vec::with_capacity(exprs.len());
                for (x, _) in &exprs {
                    k.push(expr::eval(x, &ev).map_err(|e| eval_err("a sort expression", e))?);
                }
                keyed.push((k, r));
            }
            keyed.sort_by(|a, b| {
                for (i, (_, dir)) in exprs.iter().enumerate() {
                    let c = cmp_values(&a.0[i], &b.0[i]);
                    let c = if *dir == SortDirection::Descending {
                        c.reverse()
                    } else {
                        c
                    };
                    if c != std::cmp::Ordering::Equal {
                        return c;
                    }
                }
                std::cmp::Ordering::Equal
            });
            rows = keyed.into_iter().map(|(_, r)| r).collect();
        }
        let rows: Arc<[u32]> = rows.into();
        let chain = Self::region_chain(def, &base, &rows, frames);
        // streamed: the details member and the footer members after it are left out of the
        // row axis (the footers' members are placed after the details, numbered on past it)
        let stream_k = self.stream_here(t, frames, rows.len());
        let row_defs = match stream_k {
            Some(k) => &t.row_hierarchy[..k],
            None => &t.row_hierarchy[..],
        };

        // column axis
        let mut caxis = Axis { leaves: 0 };
        let mut dl = 0;
        let cols = self.expand(
            &t.column_hierarchy,
            &chain,
            &rows,
            &set,
            0,
            &mut dl,
            &mut caxis,
            inst::Visibility::Visible,
        )?;
        let mut col_leaves: Vec<&Expanded<'_>> = Vec::new();
        collect_leaves(&cols, &mut col_leaves);
        // row axis
        let mut raxis = Axis { leaves: 0 };
        let mut dl = 0;
        let rws = self.expand(
            row_defs,
            &chain,
            &rows,
            &set,
            0,
            &mut dl,
            &mut raxis,
            inst::Visibility::Visible,
        )?;
        let mut row_leaves: Vec<&Expanded<'_>> = Vec::new();
        collect_leaves(&rws, &mut row_leaves);

        let header_rows = max_level(&cols).max(t.corner.len());
        let header_cols = max_level(&rws).max(t.corner.first().map(|r| r.len()).unwrap_or(0));
        let mut out = inst::Tablix {
            header_rows,
            header_columns: header_cols,
            ..inst::Tablix::default()
        };
        // widths: row header levels, then one per column leaf
        let mut hdr_w = vec![0; header_cols];
        header_sizes(&t.row_hierarchy, 0, &mut hdr_w);
        out.columns = hdr_w;
        for l in &col_leaves {
            out.columns
                .push(t.columns.get(l.def_leaf).map(|s| s.0).unwrap_or(0));
        }
        let mut hdr_h = vec![0; header_rows];
        header_sizes(&t.column_hierarchy, 0, &mut hdr_h);
        for h in &hdr_h {
            out.rows.push(inst::GridRow {
                height: *h,
                ..inst::GridRow::default()
            });
        }
        for l in &row_leaves {
            let def_row = t.rows.get(l.def_leaf);
            out.rows.push(inst::GridRow {
                height: def_row.map(|r| r.height.0).unwrap_or(0),
                cells: Vec::new(),
                repeat_on_new_page: l.def.repeat_on_new_page && l.def.group.is_none(),
                visibility: l.visibility,
                page_break: None,
                keep_with_next: l.def.group.is_none()
                    && l.def.keep_with_group == model::KeepWithGroup::After,
                keep_with_previous: l.def.group.is_none()
                    && l.def.keep_with_group == model::KeepWithGroup::Before,
            });
        }
        self.group_page_breaks(&rws, header_rows, &mut out.rows)?;
        // corner
        for (r, crow) in t.corner.iter().enumerate() {
            for (c, cell) in crow.iter().enumerate() {
                if let Some(cc) = cell {
                    let item = self.item(&cc.item, &chain)?;
                    if let Some(row) = out.rows.get_mut(r) {
                        row.cells.push(inst::GridCell {
                            col: c,
                            colspan: cc.col_span.max(1) as usize,
                            rowspan: cc.row_span.max(1) as usize,
                            item,
                        });
                    }
                }
            }
        }
        // column headers and column members
        out.column_members =
            self.place_members(&cols, &mut out, header_cols, header_rows, false)?;
        // row headers, body cells and row members
        out.row_members = self.place_members(&rws, &mut out, header_cols, header_rows, true)?;
        if let Some(k) = stream_k {
            let details = ExpandedMember {
                def: &t.row_hierarchy[k],
                instances: Vec::new(),
            };
            let m = self.place_members(&[details], &mut out, header_cols, header_rows, true)?;
            out.row_members.extend(m);
        }
        let stream_member = out.row_members.len().saturating_sub(1);
        let mut tail = Vec::new();
        if let Some(k) = stream_k
            && k + 1 < t.row_hierarchy.len()
        {
            let mut faxis = Axis {
                leaves: raxis.leaves + rows.len(),
            };
            let mut fdl = k + 1;
            let foot = self.expand(
                &t.row_hierarchy[k + 1..],
                &chain,
                &rows,
                &set,
                0,
                &mut fdl,
                &mut faxis,
                inst::Visibility::Visible,
            )?;
            let m = self.place_members(&foot, &mut out, header_cols, header_rows, true)?;
            out.row_members.extend(m);
            let mut leaves: Vec<&Expanded<'_>> = Vec::new();
            collect_leaves(&foot, &mut leaves);
            for l in leaves {
                tail.push(stream::Tail {
                    frames: l.frames.clone(),
                    def_leaf: l.def_leaf,
                    shell: inst::GridRow {
                        height: t.rows.get(l.def_leaf).map(|r| r.height.0).unwrap_or(0),
                        cells: Vec::new(),
                        repeat_on_new_page: false,
                        visibility: l.visibility,
                        page_break: None,
                        keep_with_next: l.def.keep_with_group == model::KeepWithGroup::After,
                        keep_with_previous: l.def.keep_with_group == model::KeepWithGroup::Before,
                    },
                    cols: Vec::new(),
                });
            }
        }
        for l in &row_leaves {
            let Some(leaf) = l.leaf else { continue };
            let grid_row = header_rows + leaf;
            let Some(def_row) = t.rows.get(l.def_leaf) else {
                continue;
            };
            let row_set: Option<HashSet<u32>> =
                if col_leaves.iter().any(|c| c.frames.len() > chain.len()) {
                    Some(l.rows.iter().copied().collect())
                } else {
                    None
                };
            out.rows[grid_row].cells.reserve(col_leaves.len());
            for c in &col_leaves {
                let Some(cleaf) = c.leaf else { continue };
                let Some(Some(cell)) = def_row.cells.get(c.def_leaf) else {
                    continue;
                };
                let mut owned;
                let mut fr: &[Frame] = &l.frames;
                if let Some(rs) = &row_set {
                    owned = l.frames.clone();
                    for f in &c.frames[chain.len()..] {
                        let inter: Vec<u32> =
                            f.rows.iter().copied().filter(|r| rs.contains(r)).collect();
                        let key: Arc<str> =
                            format!("{}{}", Self::frames_key(&owned), f.full_key()).into();
                        owned.push(Frame::new(
                            f.name.clone(),
                            f.set.clone(),
                            inter.into(),
                            key,
                            f.details,
                        ));
                    }
                    fr = &owned;
                }
                let item = self.item(&cell.item, fr)?;
                let mut item = item;
                if let Some(i) = &mut item
                    && c.visibility != inst::Visibility::Visible
                    && i.visibility == inst::Visibility::Visible
                {
                    i.visibility = c.visibility;
                }
                out.rows[grid_row].cells.push(inst::GridCell {
                    col: header_cols + cleaf,
                    colspan: cell.col_span.max(1) as usize,
                    rowspan: cell.row_span.max(1) as usize,
                    item,
                });
            }
            out.rows[grid_row].cells.sort_by_key(|c| c.col);
        }
        // cell items take the size of their cells
        let widths = out.columns.clone();
        let heights: Vec<Len> = out.rows.iter().map(|r| r.height).collect();
        for (ri, r) in out.rows.iter_mut().enumerate() {
            r.cells.sort_by_key(|c| c.col);
            for cell in &mut r.cells {
                if let Some(i) = &mut cell.item {
                    let end = (cell.col + cell.colspan).min(widths.len());
                    i.width = widths
                        .get(cell.col..end)
                        .map(|w| w.iter().sum())
                        .unwrap_or(0);
                    let rend = (ri + cell.rowspan).min(heights.len());
                    i.height = heights[ri..rend].iter().sum();
                    i.top = 0;
                    i.left = 0;
                    chart::fit_to_item(i);
                }
            }
        }
        if let Some(k) = stream_k {
            let cols = col_leaves
                .iter()
                .filter_map(|c| Some((header_cols + c.leaf?, c.def_leaf, c.visibility)))
                .collect();
            for f in &mut tail {
                f.cols = col_leaves
                    .iter()
                    .filter_map(|c| Some((header_cols + c.leaf?, c.def_leaf, c.visibility)))
                    .collect();
            }
            *lock(&self.stream_pending) = Some(stream::Pending {
                member: stream_member,
                tail,
                def_leaf: k,
                parent_key: Self::frames_key(&chain),
                group_name: t.row_hierarchy[k]
                    .group
                    .as_ref()
                    .map_or("", |g| g.name.as_str())
                    .into(),
                chain: chain.clone(),
                rows: rows.clone(),
                set: set.clone(),
                cols,
                widths: out.columns.clone(),
            });
        }
        if rows.is_empty()
            && let Some(m) = &t.no_rows_message
        {
            out.no_rows_message =
                self.eval_str(&Some(m.clone()), &self.ev(&chain, None), &def.name)?;
        }
        Ok(out)
    }

    /// Evaluates header cells and builds the instance-tree members of one axis.
    fn place_members(
        &self,
        members: &[ExpandedMember<'_>],
        out: &mut inst::Tablix,
        header_cols: usize,
        header_rows: usize,
        row_axis: bool,
    ) -> Result<Vec<inst::Member>, EngineError> {
        let mut res = Vec::with_capacity(members.len());
        for m in members {
            let mut instances = Vec::with_capacity(m.instances.len());
            for e in &m.instances {
                let header = match &e.def.header {
                    Some(h) => {
                        let item = self.item(&h.contents.item, &e.frames)?;
                        let (r, c, rowspan, colspan) = if row_axis {
                            (
                                header_rows + e.first_leaf,
                                e.level,
                                e.leaf_count.max(1),
                                h.contents.col_span.max(1) as usize,
                            )
                        } else {
                            (
                                e.level,
                                header_cols + e.first_leaf,
                                h.contents.row_span.max(1) as usize,
                                e.leaf_count.max(1),
                            )
                        };
                        if e.leaf_count > 0
                            && let Some(row) = out.rows.get_mut(r)
                        {
                            let mut item = item;
                            if let Some(i) = &mut item
                                && e.visibility != inst::Visibility::Visible
                                && i.visibility == inst::Visibility::Visible
                            {
                                i.visibility = e.visibility;
                            }
                            row.cells.push(inst::GridCell {
                                col: c,
                                colspan,
                                rowspan,
                                item,
                            });
                        }
                        Some((r, c))
                    }
                    None => None,
                };
                let children =
                    self.place_members(&e.children, out, header_cols, header_rows, row_axis)?;
                let leaf = e.leaf.map(|l| {
                    if row_axis {
                        header_rows + l
                    } else {
                        header_cols + l
                    }
                });
                instances.push(inst::MemberInstance {
                    header,
                    leaf,
                    children,
                    visibility: e.visibility,
                });
            }
            let (dynamic, instance_name, output) = match &m.def.group {
                Some(g) => (
                    true,
                    g.data_element_name
                        .clone()
                        .unwrap_or_else(|| g.name.clone()),
                    g.data_element_output,
                ),
                None => (false, String::new(), m.def.data_element_output),
            };
            res.push(inst::Member {
                dynamic,
                collection_name: m.def.data_element_name.clone(),
                instance_name,
                data_element_output: match output {
                    model::DataElementOutput::Auto => inst::DataOutput::Auto,
                    model::DataElementOutput::Output => inst::DataOutput::Output,
                    model::DataElementOutput::NoOutput => inst::DataOutput::NoOutput,
                    model::DataElementOutput::ContentsOnly => inst::DataOutput::ContentsOnly,
                },
                instances,
            });
        }
        Ok(res)
    }
}

fn collect_leaves<'a, 'd>(members: &'a [ExpandedMember<'d>], out: &mut Vec<&'a Expanded<'d>>) {
    for m in members {
        for e in &m.instances {
            if e.leaf.is_some() {
                out.push(e);
            } else {
                collect_leaves(&e.children, out);
            }
        }
    }
}

/// The number of header levels of an axis.
fn max_level(members: &[ExpandedMember<'_>]) -> usize {
    fn def_depth(m: &TablixMember) -> usize {
        usize::from(m.header.is_some()) + m.members.iter().map(def_depth).max().unwrap_or(0)
    }
    members.iter().map(|m| def_depth(m.def)).max().unwrap_or(0)
}

fn header_sizes(members: &[TablixMember], level: usize, out: &mut [Len]) {
    for m in members {
        let mut l = level;
        if let Some(h) = &m.header {
            if let Some(slot) = out.get_mut(level) {
                *slot = (*slot).max(h.size.0);
            }
            l += 1;
        }
        header_sizes(&m.members, l, out);
    }
}
