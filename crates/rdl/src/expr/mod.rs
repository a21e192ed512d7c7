//! RDL expressions: the VB.NET subset SSRS reports use.
//!
//! Owns: the lexer and Pratt parser ([`parse`]), the expression tree ([`Expr`]), the evaluator
//! with VB semantics ([`eval`]) and its runtime functions, the pure aggregate accumulators
//! ([`agg`]), and the `<Code>` block interpreter ([`code`]).
//!
//! Must not: do I/O or read the clock (`Now`/`Today` come from `Globals!ExecutionTime`
//! through the [`Context`]), know the RDL model, or iterate data: aggregates, `RowNumber`,
//! `Previous`, `Lookup` and the rest of the data-dependent calls are answered by the engine
//! through [`Context`].
//!
//! Bounds: nesting depth of a parsed expression ≤ [`MAX_DEPTH`] (a deeper one is a parse
//! error, never a stack overflow); source length ≤ [`MAX_SOURCE_LEN`]; a `<Code>` call runs at
//! most [`code::MAX_STEPS`] statements and [`code::MAX_CALL_DEPTH`] nested calls.
//!
//! ```
//! use rdl::expr::{self, Context, EvalError, ParamProp};
//! use rdl::Value;
//! struct Ctx;
//! impl Context for Ctx {
//!     fn field(&self, name: &str) -> Result<Value, EvalError> {
//!         Err(EvalError::NotFound { what: "field", name: name.into() })
//!     }
//! }
//! let e = expr::parse(r#""Total: " & Format(1234.5, "N2")"#).unwrap();
//! assert_eq!(expr::eval(&e, &Ctx).unwrap(), Value::str("Total: 1,234.50"));
//! ```

pub mod agg;
mod ast;
pub mod code;
pub mod convert;
mod eval;
mod format;
mod funcs;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

pub use ast::{
    AggFn, AggregateCall, BinaryOp, Expr, FieldProp, LookupCall, LookupKind, ParamProp, Scope,
    UnaryOp,
};
pub use code::{CodeInstance, CodeModule};
pub use eval::{eval, eval_with_locals};
pub use funcs::vb_format;

use crate::Value;

/// The deepest nesting a parsed expression may have (parentheses, operators, calls).
///
/// Parsing recurses once per level: a level costs up to ~12 KB of stack in a debug build
/// (~1 KB optimised), so a maximal expression stays near 1.2 MB, inside a 2 MB thread
/// stack. Real report expressions nest a few dozen levels at most.
pub const MAX_DEPTH: u32 = 100;

/// The longest expression source accepted, in bytes (1 MiB).
pub const MAX_SOURCE_LEN: usize = 1 << 20;

/// Parses an expression: `src` is the text after the leading `=` of an RDL property.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    parser::parse_expression(src)
}

/// Parses an RDL property value: text starting with `=` is an expression, anything else is
/// a literal string used verbatim (whitespace kept).
pub fn parse_property(text: &str) -> Result<Expr, ExprError> {
    match text.strip_prefix('=') {
        Some(src) => parse(src),
        None => Ok(Expr::Literal(Value::str(text))),
    }
}

/// Why an expression did not parse. Offsets are byte offsets into the parsed source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// A token that does not fit: the message says what was expected.
    #[error("at character {offset}: expected {expected}, found {found}")]
    Syntax {
        /// Byte offset of the offending token.
        offset: usize,
        /// What the parser expected there.
        expected: String,
        /// What it found.
        found: String,
    },
    /// A character or literal that is not valid VB (an unterminated string, a bad date).
    #[error("at character {offset}: {message}")]
    Lexical {
        /// Byte offset.
        offset: usize,
        /// What is wrong and how to write it instead.
        message: String,
    },
    /// A name that is not a known function, collection or constant.
    #[error(
        "at character {offset}: unknown name '{name}' (use Fields!{name}.Value for a field, or a supported function)"
    )]
    UnknownName {
        /// Byte offset.
        offset: usize,
        /// The name as written.
        name: String,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error(
        "at character {offset}: expression nested deeper than {limit} levels; simplify it or move the logic into a Code function"
    )]
    TooDeep {
        /// Byte offset where the limit was hit.
        offset: usize,
        /// The limit.
        limit: u32,
    },
    /// Source longer than [`MAX_SOURCE_LEN`].
    #[error("expression is {len} bytes long, more than the {limit}-byte limit")]
    TooLong {
        /// The source length.
        len: usize,
        /// The limit.
        limit: usize,
    },
}

/// Why an expression could not be evaluated. The engine shows `#Error` for that value and
/// keeps the message as a warning naming the expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// Division (or `\`, `Mod`) by zero.
    #[error("attempted to divide by zero")]
    DivideByZero,
    /// A result outside the target type's range (`CInt(3000000000)`, a Decimal overflow).
    #[error("arithmetic operation resulted in an overflow ({what})")]
    Overflow {
        /// What overflowed.
        what: String,
    },
    /// A value that cannot be converted: `CDbl("abc")`.
    #[error("conversion from {from} \"{value}\" to type '{to}' is not valid")]
    Conversion {
        /// The source type (`string`, `Date`...).
        from: &'static str,
        /// The target type (`Double`, `Integer`...).
        to: &'static str,
        /// The value, as text.
        value: String,
    },
    /// A function called with bad arguments (count or value).
    #[error("{func}: {message}")]
    Argument {
        /// The function or operator.
        func: String,
        /// What is wrong.
        message: String,
    },
    /// A field, parameter, report item, variable, global or code function that does not
    /// exist.
    #[error("the {what} '{name}' does not exist")]
    NotFound {
        /// `field`, `parameter`, `report item`, `variable`, `global`, `Code function`...
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A construct outside the supported subset (a `<Code>` statement, a member, a call the
    /// context does not answer).
    #[error("{construct} is not supported")]
    Unsupported {
        /// The construct, named as the report author wrote it.
        construct: String,
    },
    /// A `<Code>` call ran into a bound (steps, recursion).
    #[error("the Code function exceeded {what}")]
    Limit {
        /// Which bound.
        what: String,
    },
    /// An error the engine reports (a scope that does not exist, an aggregate in the wrong
    /// place): the message is the engine's.
    #[error("{0}")]
    Context(String),
}

/// What an expression can read from the report being processed: implemented by the engine.
///
/// Every method has a default answering "not supported here" (or false), so a context for a
/// narrow purpose (a parameter default, a query parameter) implements only what it offers.
pub trait Context {
    /// `Fields!name.Value` of the current row.
    fn field(&self, name: &str) -> Result<Value, EvalError>;

    /// `Fields!name.IsMissing`: the data set has no field of that name.
    fn field_is_missing(&self, name: &str) -> bool {
        let _ = name;
        false
    }

    /// An extended field property (`Fields!name.Label`, `.UniqueName`, ...).
    fn field_property(&self, name: &str, prop: &str) -> Result<Value, EvalError> {
        let _ = name;
        Err(EvalError::Unsupported {
            construct: format!("the field property '{prop}'"),
        })
    }

    /// `Parameters!name.<prop>[(index)]`.
    fn parameter(
        &self,
        name: &str,
        prop: ParamProp,
        index: Option<usize>,
    ) -> Result<Value, EvalError> {
        let _ = (prop, index);
        Err(EvalError::NotFound {
            what: "parameter",
            name: name.into(),
        })
    }

    /// `Globals!name` (`ExecutionTime`, `PageNumber`, `RenderFormat.Name`...).
    fn global(&self, name: &str) -> Result<Value, EvalError> {
        Err(EvalError::NotFound {
            what: "global",
            name: name.into(),
        })
    }

    /// `User!UserID`, `User!Language`.
    fn user(&self, name: &str) -> Result<Value, EvalError> {
        Err(EvalError::NotFound {
            what: "user property",
            name: name.into(),
        })
    }

    /// `ReportItems!name.Value`.
    fn report_item(&self, name: &str) -> Result<Value, EvalError> {
        Err(EvalError::NotFound {
            what: "report item",
            name: name.into(),
        })
    }

    /// `Variables!name.Value`.
    fn variable(&self, name: &str) -> Result<Value, EvalError> {
        Err(EvalError::NotFound {
            what: "variable",
            name: name.into(),
        })
    }

    /// An aggregate over its scope (see [`AggregateCall`]).
    fn aggregate(&self, call: &AggregateCall) -> Result<Value, EvalError> {
        Err(EvalError::Unsupported {
            construct: format!("the aggregate {} in this expression", call.func.name()),
        })
    }

    /// `RowNumber(scope)`: the running count of rows of the scope up to the current row.
    fn row_number(&self, scope: &Scope) -> Result<Value, EvalError> {
        let _ = scope;
        Err(EvalError::Unsupported {
            construct: "RowNumber in this expression".into(),
        })
    }

    /// `Previous(expr, scope)`: `expr` evaluated on the previous row/instance of the scope,
    /// Nothing on the first.
    fn previous(&self, expr: &Expr, scope: &Scope) -> Result<Value, EvalError> {
        let _ = (expr, scope);
        Err(EvalError::Unsupported {
            construct: "Previous in this expression".into(),
        })
    }

    /// `InScope("name")`.
    fn in_scope(&self, scope: &str) -> bool {
        let _ = scope;
        false
    }

    /// `Level(scope)` in a recursive hierarchy (0 at the top).
    fn level(&self, scope: &Scope) -> Result<Value, EvalError> {
        let _ = scope;
        Err(EvalError::Unsupported {
            construct: "Level in this expression".into(),
        })
    }

    /// `Lookup`, `LookupSet`, `MultiLookup`.
    fn lookup(&self, call: &LookupCall) -> Result<Value, EvalError> {
        let _ = call;
        Err(EvalError::Unsupported {
            construct: "Lookup in this expression".into(),
        })
    }

    /// The report's `<Code>` block with its per-render state, if it has one.
    fn code(&self) -> Option<&CodeInstance> {
        None
    }

    /// The culture used for formatting and `CStr` (the report's `Language`), e.g. `en-US`.
    fn culture(&self) -> &str {
        "en-US"
    }
}
