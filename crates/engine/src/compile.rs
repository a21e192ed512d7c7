//! `prepare`: a parsed report with every expression compiled once, and the data the web app
//! must fetch ([`Compiled::queries`]).
//!
//! Owns: the expression table (indexed by [`rdl::model::ExprId`]), located compile errors,
//! the `<Code>` module, and building [`QueryRequest`]s (command text and query parameters
//! evaluated against resolved parameter values). Must not: run queries.

use std::sync::{Arc, OnceLock};

use rdl::Report;
use rdl::Value;
use rdl::expr::{self, CodeModule, Context, EvalError, Expr, ParamProp};
use rdl::model::{
    Action, DataSourceKind, DefaultValue, Expression, ItemKind, ReportItem, Style, TablixMember,
    ValidValues,
};

use crate::EngineError;
use crate::params::ResolvedParams;

/// A report ready to run: parsed once per catalog generation and shared by every render.
#[derive(Debug)]
pub struct Compiled {
    /// The definition.
    pub report: Arc<Report>,
    /// The report's catalog path (`/Folder/Name`), for `Globals!ReportFolder` and
    /// drillthrough paths relative to it.
    pub path: String,
    table: Vec<OnceLock<Result<Arc<Expr>, String>>>,
    pub(crate) code: Option<Arc<CodeModule>>,
    /// Warnings found while compiling (a `<Code>` block that is not supported, ...).
    pub warnings: Vec<String>,
    /// Whether any expression or the `<Code>` block may read `ReportItems` (else a bind
    /// does not keep each textbox's last value).
    pub(crate) uses_report_items: bool,
}

/// One query the engine needs run: the web app resolves the data source, runs it with
/// `dataprov` and hands the result back to [`crate::bind`].
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRequest {
    /// The data set's name (the key of the data map passed to `bind`).
    pub dataset: String,
    /// The report data source's name.
    pub data_source: String,
    /// An embedded data source's extension (`ENTERDATA`, `SQLITE`, ...); `None` for a
    /// `DataSourceReference`.
    pub data_provider: Option<String>,
    /// An embedded data source's connection string (evaluated).
    pub connect_string: Option<String>,
    /// A shared data source's catalog path, as written (relative to the report's folder).
    pub data_source_reference: Option<String>,
    /// The command text (evaluated).
    pub command_text: String,
    /// `CommandType`.
    pub command_type: rdl::model::CommandType,
    /// Query parameters with their values (arrays for multi-value parameters).
    pub params: Vec<(String, Value)>,
    /// `Timeout` seconds (`None` = server default, 0 = none).
    pub timeout: Option<u32>,
    /// The data set's fields: (name, data field, `rd:TypeName`) — ENTERDATA types by them.
    pub fields: Vec<QueryField>,
}

/// A declared field of a data set, for the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryField {
    /// `Name`.
    pub name: String,
    /// `DataField` (calculated fields are not passed).
    pub data_field: String,
    /// `rd:TypeName`.
    pub type_name: Option<String>,
}

/// Parses `bytes` and prepares the report (convenience for `rdl::parse_report` + [`prepare`]).
pub fn parse_and_prepare(path: &str, bytes: &[u8]) -> Result<Compiled, EngineError> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let (report, warnings) = rdl::parse_report(name, bytes).map_err(EngineError::Definition)?;
    let mut c = prepare(Arc::new(report), path)?;
    c.warnings.extend(
        warnings
            .into_iter()
            .map(|w| format!("{}, {}: {}", w.at, w.path, w.message)),
    );
    Ok(c)
}

/// Compiles every expression of `report` once; the first that does not parse is a located
/// error.
pub fn prepare(report: Arc<Report>, path: &str) -> Result<Compiled, EngineError> {
    let n = report.expression_count as usize;
    let mut table = Vec::with_capacity(n);
    table.resize_with(n, OnceLock::new);
    let mut warnings = Vec::new();
    let code = match &report.code {
        Some((src, at)) => {
            let (m, ws) = CodeModule::parse(src);
            warnings.extend(ws.into_iter().map(|w| format!("{at}: {w}")));
            Some(Arc::new(m))
        }
        None => None,
    };
    let mentions = |src: &str| src.to_ascii_lowercase().contains("reportitems");
    let mut c = Compiled {
        report: report.clone(),
        path: path.to_owned(),
        table,
        code,
        warnings,
        uses_report_items: report.code.as_ref().is_some_and(|(src, _)| mentions(src)),
    };
    let mut first_err: Option<EngineError> = None;
    let mut uses = false;
    visit_report(&report, &mut |e| {
        if let Expression::Expr { src, .. } = e {
            uses |= mentions(src);
        }
        if first_err.is_none()
            && let Err(err) = c.expr(e)
        {
            first_err = Some(err);
        }
    });
    c.uses_report_items |= uses;
    match first_err {
        Some(e) => Err(e),
        None => Ok(c),
    }
}

impl Compiled {
    /// The compiled form of an RDL value: a literal becomes a string literal.
    pub fn expr(&self, e: &Expression) -> Result<Arc<Expr>, EngineError> {
        match e {
            Expression::Constant(s) => Ok(Arc::new(Expr::Literal(Value::str(s.as_str())))),
            Expression::Expr { src, at, id } => {
                let compile = || expr::parse(src).map(Arc::new).map_err(|e| e.to_string());
                let r = match self.table.get(id.0 as usize) {
                    Some(cell) => cell.get_or_init(compile).clone(),
                    None => compile(),
                };
                r.map_err(|message| EngineError::Expression {
                    at: *at,
                    src: truncate(src),
                    message,
                })
            }
        }
    }

    /// The report's name (`Globals!ReportName`).
    pub fn name(&self) -> &str {
        &self.report.name
    }

    /// The queries every data set of the report needs, with `params` resolved.
    pub fn queries(&self, params: &ResolvedParams) -> Result<Vec<QueryRequest>, EngineError> {
        self.report
            .data_sets
            .iter()
            .map(|ds| self.query(&ds.name, params))
            .collect()
    }

    /// The query of one data set.
    pub fn query(
        &self,
        dataset: &str,
        params: &ResolvedParams,
    ) -> Result<QueryRequest, EngineError> {
        let ds = self
            .report
            .data_set(dataset)
            .ok_or_else(|| EngineError::UnknownDataSet {
                name: dataset.to_owned(),
                used_by: "a query".into(),
            })?;
        let ctx = ParamContext {
            params,
            culture: "en-US",
        };
        let eval = |e: &Expression| -> Result<Value, EngineError> {
            let x = self.expr(e)?;
            expr::eval(&x, &ctx).map_err(|err| EngineError::Evaluation {
                what: format!("the query of data set {}", ds.name),
                message: err.to_string(),
            })
        };
        let command_text = match &ds.query.command_text {
            Some(e) => rdl::expr::convert::to_string(&eval(e)?, "en-US"),
            None => String::new(),
        };
        let mut qp = Vec::with_capacity(ds.query.parameters.len());
        for p in &ds.query.parameters {
            qp.push((p.name.clone(), eval(&p.value)?));
        }
        let source = self.report.data_source(&ds.query.data_source_name);
        let (data_provider, connect_string, data_source_reference) = match source.map(|s| &s.kind) {
            Some(DataSourceKind::Embedded(cp)) => (
                Some(cp.data_provider.clone()),
                Some(rdl::expr::convert::to_string(
                    &eval(&cp.connect_string)?,
                    "en-US",
                )),
                None,
            ),
            Some(DataSourceKind::Reference(r)) => (None, None, Some(r.clone())),
            None => {
                return Err(EngineError::UnknownDataSource {
                    name: ds.query.data_source_name.clone(),
                    dataset: ds.name.clone(),
                });
            }
        };
        let fields = ds
            .fields
            .iter()
            .filter_map(|f| match &f.source {
                rdl::model::FieldSource::DataField(d) => Some(QueryField {
                    name: f.name.clone(),
                    data_field: d.clone(),
                    type_name: f.type_name.clone(),
                }),
                rdl::model::FieldSource::Value(_) => None,
            })
            .collect();
        Ok(QueryRequest {
            dataset: ds.name.clone(),
            data_source: ds.query.data_source_name.clone(),
            data_provider,
            connect_string,
            data_source_reference,
            command_text,
            command_type: ds.query.command_type,
            params: qp,
            timeout: ds.query.timeout,
            fields,
        })
    }
}

fn truncate(s: &str) -> String {
    if s.len() <= 200 {
        return format!("={s}");
    }
    let mut end = 200;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("={}…", &s[..end])
}

/// A context that offers only parameters (query text, connection strings).
pub(crate) struct ParamContext<'a> {
    pub params: &'a ResolvedParams,
    pub culture: &'a str,
}

impl Context for ParamContext<'_> {
    fn field(&self, name: &str) -> Result<Value, EvalError> {
        Err(EvalError::Context(format!(
            "Fields!{name} cannot be used here (only parameters and globals can)"
        )))
    }
    fn parameter(
        &self,
        name: &str,
        prop: ParamProp,
        index: Option<usize>,
    ) -> Result<Value, EvalError> {
        self.params.property(name, prop, index)
    }
    fn culture(&self) -> &str {
        self.culture
    }
}

/// Calls `f` on every expression of the report.
pub(crate) fn visit_report(r: &Report, f: &mut dyn FnMut(&Expression)) {
    if let Some(l) = &r.language {
        f(l);
    }
    for v in &r.variables {
        f(&v.value);
    }
    for p in &r.parameters {
        match &p.default_value {
            Some(DefaultValue::Values(vs)) => vs.iter().flatten().for_each(&mut *f),
            Some(DefaultValue::DataSet(_)) | None => {}
        }
        if let Some(ValidValues::Values(vs)) = &p.valid_values {
            for v in vs {
                if let Some(x) = &v.value {
                    f(x);
                }
                if let Some(x) = &v.label {
                    f(x);
                }
            }
        }
    }
    for s in &r.data_sources {
        if let DataSourceKind::Embedded(cp) = &s.kind {
            f(&cp.connect_string);
        }
    }
    for ds in &r.data_sets {
        if let Some(c) = &ds.query.command_text {
            f(c);
        }
        ds.query.parameters.iter().for_each(|p| f(&p.value));
        for fl in &ds.fields {
            if let rdl::model::FieldSource::Value(e) = &fl.source {
                f(e);
            }
        }
        visit_filters(&ds.filters, f);
    }
    for s in &r.sections {
        visit_style(&s.body.style, f);
        s.body.items.iter().for_each(|i| visit_item(i, f));
        for ps in [&s.page.header, &s.page.footer].into_iter().flatten() {
            visit_style(&ps.style, f);
            ps.items.iter().for_each(|i| visit_item(i, f));
        }
    }
}

fn visit_filters(fs: &[rdl::model::Filter], f: &mut dyn FnMut(&Expression)) {
    for x in fs {
        f(&x.expression);
        x.values.iter().for_each(&mut *f);
    }
}

fn visit_style(s: &Style, f: &mut dyn FnMut(&Expression)) {
    for b in [
        &s.border,
        &s.top_border,
        &s.bottom_border,
        &s.left_border,
        &s.right_border,
    ] {
        [&b.color, &b.style, &b.width]
            .into_iter()
            .flatten()
            .for_each(&mut *f);
    }
    [
        &s.background_color,
        &s.font_style,
        &s.font_family,
        &s.font_size,
        &s.font_weight,
        &s.format,
        &s.text_decoration,
        &s.text_align,
        &s.vertical_align,
        &s.color,
        &s.padding_left,
        &s.padding_right,
        &s.padding_top,
        &s.padding_bottom,
        &s.language,
    ]
    .into_iter()
    .flatten()
    .for_each(f);
}

fn visit_actions(actions: &[Action], f: &mut dyn FnMut(&Expression)) {
    for a in actions {
        match a {
            Action::Hyperlink(e) | Action::BookmarkLink(e) => f(e),
            Action::Drillthrough(d) => {
                f(&d.report_name);
                for p in &d.parameters {
                    f(&p.value);
                    if let Some(o) = &p.omit {
                        f(o);
                    }
                }
            }
        }
    }
}

fn visit_member(m: &TablixMember, f: &mut dyn FnMut(&Expression)) {
    if let Some(g) = &m.group {
        g.group_expressions.iter().for_each(&mut *f);
        visit_filters(&g.filters, f);
        if let Some(p) = &g.parent {
            f(p);
        }
        g.variables.iter().for_each(|v| f(&v.value));
    }
    m.sort_expressions.iter().for_each(|s| f(&s.value));
    if let Some(h) = &m.header {
        visit_item(&h.contents.item, f);
    }
    if let Some(v) = &m.visibility
        && let Some(h) = &v.hidden
    {
        f(h);
    }
    m.members.iter().for_each(|c| visit_member(c, f));
}

fn visit_item(i: &ReportItem, f: &mut dyn FnMut(&Expression)) {
    visit_style(&i.style, f);
    if let Some(v) = &i.visibility
        && let Some(h) = &v.hidden
    {
        f(h);
    }
    if let Some(b) = &i.bookmark {
        f(b);
    }
    match &i.kind {
        ItemKind::Textbox(t) => {
            visit_actions(&t.actions, f);
            if let Some(ti) = &t.toggle_image {
                f(ti);
            }
            if let Some(us) = &t.user_sort {
                f(&us.sort_expression);
            }
            for p in &t.paragraphs {
                visit_style(&p.style, f);
                if let Some(x) = &p.left_indent {
                    f(x);
                }
                for r in &p.runs {
                    f(&r.value);
                    visit_style(&r.style, f);
                    visit_actions(&r.actions, f);
                }
            }
        }
        ItemKind::Rectangle(r) => r.items.iter().for_each(|c| visit_item(c, f)),
        ItemKind::Image(img) => {
            f(&img.value);
            if let Some(m) = &img.mime_type {
                f(m);
            }
            visit_actions(&img.actions, f);
        }
        ItemKind::Subreport(s) => {
            for p in &s.parameters {
                f(&p.value);
            }
            if let Some(n) = &s.no_rows_message {
                f(n);
            }
        }
        ItemKind::Tablix(t) => {
            visit_filters(&t.filters, f);
            t.sort_expressions.iter().for_each(|s| f(&s.value));
            if let Some(n) = &t.no_rows_message {
                f(n);
            }
            for row in &t.corner {
                row.iter().flatten().for_each(|c| visit_item(&c.item, f));
            }
            for row in &t.rows {
                row.cells
                    .iter()
                    .flatten()
                    .for_each(|c| visit_item(&c.item, f));
            }
            t.row_hierarchy.iter().for_each(|m| visit_member(m, f));
            t.column_hierarchy.iter().for_each(|m| visit_member(m, f));
        }
        ItemKind::Chart(ch) => rdl::parse::chart::chart_expressions(ch, f),
        ItemKind::Line | ItemKind::Placeholder(_) | ItemKind::GaugePanel(_) => {}
    }
}
