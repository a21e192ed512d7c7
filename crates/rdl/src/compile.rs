//! Compiling a parsed report's expressions: every `=` value of the model through
//! [`crate::expr::parse`], and the `<Code>` block through [`CodeModule::parse`], once per
//! parsed definition.
//!
//! The result, [`Compiled`], is indexed by [`ExprId`] (the ids the parser gave each
//! [`Expression::Expr`]), so the engine looks a compiled expression up in O(1) and the model
//! stays plain data. Expressions that do not parse are collected as located
//! [`CompileError`]s; the others are still usable, so a report with one broken expression can
//! show `#Error` there (or be refused, as the caller decides).
//!
//! Must not: evaluate anything, do I/O.

use std::fmt;
use std::sync::Arc;

use crate::error::{Location, Warning};
use crate::expr::{self, CodeModule, Expr, ExprError};
use crate::model::{ExprId, ExprSite, Expression, Report};

/// A report's compiled expressions and `<Code>` module. Immutable: share it (`Arc`) between
/// renders of the same definition.
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    exprs: Vec<Option<Expr>>,
    /// The `<Code>` block's functions (empty without one).
    pub code: Arc<CodeModule>,
    /// Expressions that did not parse, in document order.
    pub errors: Vec<CompileError>,
    /// `<Code>` constructs outside the supported subset (calls to those functions give
    /// `#Error`), located in the file.
    pub warnings: Vec<Warning>,
}

impl Compiled {
    /// The compiled form of expression `id`; `None` when it did not parse (see
    /// [`Compiled::error`]) or the id is not of this report.
    pub fn get(&self, id: ExprId) -> Option<&Expr> {
        self.exprs.get(id.0 as usize)?.as_ref()
    }

    /// The compiled form of an `=` expression; `None` for a constant or one that did not
    /// parse.
    pub fn expr(&self, e: &Expression) -> Option<&Expr> {
        match e {
            Expression::Expr { id, .. } => self.get(*id),
            Expression::Constant(_) => None,
        }
    }

    /// Why expression `id` did not parse, when it did not.
    pub fn error(&self, id: ExprId) -> Option<&CompileError> {
        if self.exprs.get(id.0 as usize).is_some_and(Option::is_some) {
            return None;
        }
        self.errors.iter().find(|e| e.id == id)
    }

    /// How many expressions were compiled (parsed or not).
    pub fn len(&self) -> usize {
        self.exprs.len()
    }

    /// True when the report has no `=` expressions.
    pub fn is_empty(&self) -> bool {
        self.exprs.is_empty()
    }
}

/// An expression that does not parse, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// Which expression.
    pub id: ExprId,
    /// Where the parser stopped (the expression's start plus the error's offset).
    pub at: Location,
    /// The nearest named element, e.g. `Textbox[@Name=Total]`.
    pub owner: String,
    /// The property, e.g. `Value`.
    pub property: String,
    /// The expression's source (after `=`), cut to 200 characters for messages.
    pub src: String,
    /// The parser's reason.
    pub error: ExprError,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, in {}/{}: the expression \"={}\" does not parse ({}). Fix: correct the expression in the report designer",
            self.at, self.owner, self.property, self.src, self.error
        )
    }
}

impl std::error::Error for CompileError {}

/// Compiles every expression of `report` and its `<Code>` block. Linear in the total
/// expression source; each parse is bounded by the expression parser's depth and length
/// limits.
pub fn compile(report: &Report) -> Compiled {
    let mut out = Compiled {
        exprs: Vec::with_capacity(report.expressions.len()),
        ..Compiled::default()
    };
    for (i, site) in report.expressions.iter().enumerate() {
        let id = ExprId(u32::try_from(i).unwrap_or(u32::MAX));
        match expr::parse(&site.src) {
            Ok(e) => out.exprs.push(Some(e)),
            Err(error) => {
                out.exprs.push(None);
                out.errors.push(located(id, site, error));
            }
        }
    }
    if let Some((src, at)) = &report.code {
        let (module, warnings) = CodeModule::parse(src);
        out.code = Arc::new(module);
        out.warnings = warnings
            .into_iter()
            .map(|w| Warning {
                at: Location::new(
                    at.line
                        .saturating_add(u32::try_from(w.line.saturating_sub(1)).unwrap_or(0)),
                    if w.line <= 1 { at.column } else { 1 },
                ),
                path: "Report/Code".into(),
                message: w.to_string(),
            })
            .collect();
    }
    out
}

fn located(id: ExprId, site: &ExprSite, error: ExprError) -> CompileError {
    let offset = match &error {
        ExprError::Syntax { offset, .. }
        | ExprError::Lexical { offset, .. }
        | ExprError::UnknownName { offset, .. }
        | ExprError::TooDeep { offset, .. } => *offset,
        ExprError::TooLong { .. } => 0,
    };
    CompileError {
        id,
        at: advance(site.at, &site.src, offset),
        owner: site.owner.clone(),
        property: site.property.clone(),
        src: site.src.chars().take(200).collect(),
        error,
    }
}

/// `start` moved over the first `offset` bytes of `src`.
fn advance(start: Location, src: &str, offset: usize) -> Location {
    let mut at = start;
    let end = offset.min(src.len());
    for (i, c) in src.char_indices() {
        if i >= end {
            break;
        }
        if c == '\n' {
            at.line = at.line.saturating_add(1);
            at.column = 1;
        } else {
            at.column = at.column.saturating_add(1);
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

    fn report(values: &[&str], code: &str) -> Report {
        let runs: String = values
            .iter()
            .map(|v| format!("<TextRun><Value>{v}</Value></TextRun>"))
            .collect();
        let rdl = format!(
            "<Report xmlns=\"{NS}\">{code}<ReportSections><ReportSection><Body><Height>1in</Height><ReportItems>\n<Textbox Name=\"T\"><Paragraphs><Paragraph><TextRuns>{runs}</TextRuns></Paragraph></Paragraphs></Textbox></ReportItems></Body><Width>1in</Width><Page/></ReportSection></ReportSections></Report>"
        );
        crate::parse_report("R", rdl.as_bytes()).unwrap().0
    }

    #[test]
    fn compiles_every_expression_by_id() {
        let r = report(&["=1 + 2", "plain", "=Fields!A.Value &amp; \"x\""], "");
        let c = compile(&r);
        assert_eq!(c.len(), 2);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let ctx = NoData;
        let crate::model::ItemKind::Textbox(tb) = &r.sections[0].body.items[0].kind else {
            panic!()
        };
        let runs = &tb.paragraphs[0].runs;
        let e = c.expr(&runs[0].value).unwrap();
        assert_eq!(expr::eval(e, &ctx).unwrap(), crate::Value::Int(3));
        assert!(c.expr(&runs[1].value).is_none());
        assert!(c.expr(&runs[2].value).is_some());
    }

    #[test]
    fn broken_expressions_are_located_errors() {
        let r = report(&["=1 +", "=Len(\"ok\")"], "");
        let c = compile(&r);
        assert_eq!(c.errors.len(), 1);
        let e = &c.errors[0];
        assert_eq!(e.id, ExprId(0));
        assert_eq!(
            (e.owner.as_str(), e.property.as_str()),
            ("Textbox[@Name=T]", "Value")
        );
        assert_eq!(e.at.line, 2);
        let text = e.to_string();
        assert!(
            text.starts_with("line 2, column ") && text.contains("\"=1 +\""),
            "{text}"
        );
        assert!(c.get(ExprId(0)).is_none() && c.error(ExprId(0)).is_some());
        assert!(c.get(ExprId(1)).is_some() && c.error(ExprId(1)).is_none());
        // A 100,000-deep expression is an error, not a stack overflow.
        let deep = format!("={}1{}", "(".repeat(100_000), ")".repeat(100_000));
        let c = compile(&report(&[&deep], ""));
        assert_eq!(
            c.errors.len(),
            1,
            "{:?}",
            c.errors.first().map(|e| &e.error)
        );
    }

    #[test]
    fn code_block_is_compiled() {
        let code = "<Code>Public Function Twice(x As Integer) As Integer\nReturn x * 2\nEnd Function</Code>";
        let c = compile(&report(&["=Code.Twice(2)"], code));
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert!(c.code.has_function("Twice"));
    }

    struct NoData;
    impl expr::Context for NoData {
        fn field(&self, name: &str) -> Result<crate::Value, expr::EvalError> {
            Err(expr::EvalError::NotFound {
                what: "field",
                name: name.into(),
            })
        }
    }
}
