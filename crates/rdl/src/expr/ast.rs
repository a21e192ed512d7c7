//! The expression tree that [`super::parse`] produces and [`super::eval`] walks.
//!
//! Owns: the shape of a parsed expression, and the calls the engine must answer itself
//! (aggregates, `RowNumber`, `Previous`, `Lookup`...), exposed as plain data so the engine can
//! find and pre-compute them.
//!
//! Must not: evaluate anything (that is `eval.rs`) or know the RDL model.

use crate::Value;

/// A parsed expression (the text after the leading `=` of an RDL property).
///
/// Names of functions and members are stored lower-cased (VB is case-insensitive); names of
/// fields, parameters, report items, variables and `Code` functions keep the spelling of the
/// expression (the engine compares them as RDL does, case-sensitively).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal: `"text"`, `12`, `1.5`, `1.5D`, `#1/31/2024#`, `True`, `Nothing`, and the named
    /// constants folded at parse time (`vbCrLf`, `DateInterval.Month` → `"m"`, `Math.PI`...).
    Literal(Value),
    /// `Fields!Name.Value`, `Fields!Name.IsMissing`, `Fields("Name").Value`, ...
    Field {
        /// The field's name as written.
        name: String,
        /// Which property of the field.
        prop: FieldProp,
    },
    /// `Parameters!Name.Value`, `.Label`, `.Count`, `.IsMultiValue`, `.Value(0)`.
    Parameter {
        /// The parameter's name as written.
        name: String,
        /// Which property.
        prop: ParamProp,
        /// The index of `.Value(i)` / `.Label(i)`, evaluated to an integer before the call.
        index: Option<Box<Expr>>,
    },
    /// `Globals!Name` (`PageNumber`, `TotalPages`, `ExecutionTime`, `ReportName`, ...).
    /// `Globals!RenderFormat.Name` is stored as `"RenderFormat.Name"`.
    Global(String),
    /// `User!UserID`, `User!Language`.
    User(String),
    /// `ReportItems!Name.Value` (also `ReportItems("Name").Value`).
    ReportItem(String),
    /// `Variables!Name.Value` (report and group variables).
    Variable(String),
    /// A unary operator applied to an operand.
    Unary(UnaryOp, Box<Expr>),
    /// A binary operator; `AndAlso`/`OrElse` short-circuit, all others evaluate both sides.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// A runtime function (`IIf`, `CStr`, `Len`, `DateAdd`, `Format`, `math.round`...).
    /// `name` is lower-case; functions reached through `Math.`/`System.Math.` are stored as
    /// `math.<name>` and the `Microsoft.VisualBasic.` prefixes are dropped.
    Call {
        /// The canonical lower-case function name.
        name: String,
        /// The arguments, in order.
        args: Vec<Expr>,
    },
    /// A member of a value: `.ToString("N2")`, `.Length`, `.ToUpper()`, `.Substring(1, 2)`.
    Method {
        /// The value the member is read from.
        target: Box<Expr>,
        /// The lower-case member name.
        name: String,
        /// The arguments (empty for a property such as `.Length`).
        args: Vec<Expr>,
    },
    /// Indexing a value: `Split(s, ",")(0)`.
    Index {
        /// The array or string being indexed.
        target: Box<Expr>,
        /// The index.
        index: Box<Expr>,
    },
    /// `Code.Name(args)`: a function of the report's `<Code>` block. Inside the `<Code>` block
    /// itself, a call to another function of the module (or an array local being indexed).
    Code {
        /// The function's name as written.
        name: String,
        /// The arguments.
        args: Vec<Expr>,
    },
    /// A local variable or parameter of a `<Code>` function (only produced when parsing the
    /// `<Code>` block; a report expression never contains it).
    Local(String),
    /// An aggregate (`Sum`, `Count`, ..., `RunningValue`): evaluated by the engine through
    /// [`super::Context::aggregate`].
    Aggregate(Box<AggregateCall>),
    /// `RowNumber(scope)`.
    RowNumber(Scope),
    /// `Previous(expr[, scope])`.
    Previous {
        /// The expression to evaluate on the previous row/instance.
        expr: Box<Expr>,
        /// The scope (`Current` when omitted).
        scope: Scope,
    },
    /// `InScope("name")`.
    InScope(String),
    /// `Level([scope])`.
    Level(Scope),
    /// `Lookup`, `LookupSet`, `MultiLookup`.
    Lookup(Box<LookupCall>),
}

/// A property of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProp {
    /// `.Value` (also a bare `Fields!X`).
    Value,
    /// `.IsMissing`: true when the data set has no such field.
    IsMissing,
    /// Any other extended property (`.Label`, `.UniqueName`, `.FormattedValue`, ...), as written.
    Other(String),
}

/// A property of a report parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamProp {
    /// `.Value` (the value, or the array of values of a multi-value parameter).
    Value,
    /// `.Label`.
    Label,
    /// `.Count`: the number of values.
    Count,
    /// `.IsMultiValue`.
    IsMultiValue,
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `+x`.
    Plus,
    /// `Not x` (logical on Booleans, bitwise on integers).
    Not,
}

/// A binary operator, in VB's precedence groups (highest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `^` (always Double).
    Pow,
    /// `*`.
    Mul,
    /// `/` (Double, or Decimal when both sides are Decimal).
    Div,
    /// `\` (integer division).
    IntDiv,
    /// `Mod`.
    Mod,
    /// `+` (numbers add, two strings concatenate).
    Add,
    /// `-`.
    Sub,
    /// `&` (string concatenation).
    Concat,
    /// `=`.
    Eq,
    /// `<>`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `Like` (VB patterns: `? * # [a-z] [!x]`).
    Like,
    /// `Is` (reference identity; in practice `x Is Nothing`).
    Is,
    /// `IsNot`.
    IsNot,
    /// `And` (both sides evaluated).
    And,
    /// `AndAlso` (short-circuit).
    AndAlso,
    /// `Or` (both sides evaluated).
    Or,
    /// `OrElse` (short-circuit).
    OrElse,
    /// `Xor`.
    Xor,
}

/// The scope argument of an aggregate or scoped function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The argument was omitted: the scope the expression is evaluated in.
    Current,
    /// `Nothing`: the outermost scope (the data set of the data region / report).
    Nothing,
    /// A data set, data region or group name (a string constant in the expression).
    Named(String),
}

impl Scope {
    /// The name, for `Named` scopes.
    pub fn name(&self) -> Option<&str> {
        match self {
            Scope::Named(n) => Some(n),
            _ => None,
        }
    }
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggFn {
    /// `Sum`: Nothing over no (non-null) values.
    Sum,
    /// `Avg`.
    Avg,
    /// `Count` of non-null values.
    Count,
    /// `CountDistinct` of non-null values.
    CountDistinct,
    /// `CountRows`: rows in scope (no argument expression).
    CountRows,
    /// `Min`.
    Min,
    /// `Max`.
    Max,
    /// `First`.
    First,
    /// `Last`.
    Last,
    /// `StDev` (sample).
    StDev,
    /// `StDevP` (population).
    StDevP,
    /// `Var` (sample).
    Var,
    /// `VarP` (population).
    VarP,
    /// `Aggregate`: the data provider's own aggregate (the engine decides; reportd's providers
    /// have none, so engines typically treat it like `First` over the detail rows).
    Aggregate,
}

impl AggFn {
    /// The aggregate for a (case-insensitive) function name.
    pub fn from_name(name: &str) -> Option<AggFn> {
        Some(match name.to_ascii_lowercase().as_str() {
            "sum" => AggFn::Sum,
            "avg" => AggFn::Avg,
            "count" => AggFn::Count,
            "countdistinct" => AggFn::CountDistinct,
            "countrows" => AggFn::CountRows,
            "min" => AggFn::Min,
            "max" => AggFn::Max,
            "first" => AggFn::First,
            "last" => AggFn::Last,
            "stdev" => AggFn::StDev,
            "stdevp" => AggFn::StDevP,
            "var" => AggFn::Var,
            "varp" => AggFn::VarP,
            "aggregate" => AggFn::Aggregate,
            _ => return None,
        })
    }

    /// The function's name as SSRS spells it.
    pub fn name(self) -> &'static str {
        match self {
            AggFn::Sum => "Sum",
            AggFn::Avg => "Avg",
            AggFn::Count => "Count",
            AggFn::CountDistinct => "CountDistinct",
            AggFn::CountRows => "CountRows",
            AggFn::Min => "Min",
            AggFn::Max => "Max",
            AggFn::First => "First",
            AggFn::Last => "Last",
            AggFn::StDev => "StDev",
            AggFn::StDevP => "StDevP",
            AggFn::Var => "Var",
            AggFn::VarP => "VarP",
            AggFn::Aggregate => "Aggregate",
        }
    }
}

/// One aggregate call in an expression, for the engine to evaluate.
///
/// The engine iterates the rows of `scope`, evaluates `arg` per row (with a context positioned
/// on that row) and feeds an [`super::agg::Accumulator`]. For `running`, it accumulates in
/// order up to and including the current row (`RunningValue(expr, Sum, scope)`).
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateCall {
    /// The aggregate function (for `RunningValue`, the accumulated function).
    pub func: AggFn,
    /// The argument expression; `None` for `CountRows`.
    pub arg: Option<Expr>,
    /// The scope argument.
    pub scope: Scope,
    /// `Recursive` was given (aggregate over a recursive hierarchy's descendants).
    pub recursive: bool,
    /// This is `RunningValue(arg, func, scope)`.
    pub running: bool,
    /// Position in [`Expr::aggregates`] of the whole parsed expression (pre-order, outer
    /// first): lets the engine cache per-instance results by `(expression, id)`.
    pub id: u32,
}

/// Which lookup function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKind {
    /// `Lookup`: the first matching row's result, or Nothing.
    Lookup,
    /// `LookupSet`: an array of all matching rows' results.
    LookupSet,
    /// `MultiLookup`: `source` is an array; an array with one `Lookup` per element.
    MultiLookup,
}

/// A `Lookup(source, destination, result, "DataSet")` call.
///
/// The engine evaluates `source` in the current context (via [`super::eval`]), and
/// `destination`/`result` per row of `dataset`.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupCall {
    /// Which function.
    pub kind: LookupKind,
    /// The key expression, in the current scope.
    pub source: Expr,
    /// The key expression, in the destination data set.
    pub destination: Expr,
    /// The result expression, in the destination data set.
    pub result: Expr,
    /// The destination data set's name.
    pub dataset: String,
}

impl Expr {
    /// All aggregate calls of this expression, outer before inner, in source order (the
    /// order of their `id`s).
    pub fn aggregates(&self) -> Vec<&AggregateCall> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Aggregate(a) = e {
                out.push(&**a);
            }
        });
        out
    }

    /// True when the expression reads no data, parameters, globals or items: its value is a
    /// constant (the engine may evaluate it once).
    pub fn is_constant(&self) -> bool {
        let mut constant = true;
        self.walk(&mut |e| match e {
            Expr::Literal(_)
            | Expr::Unary(..)
            | Expr::Binary(..)
            | Expr::Method { .. }
            | Expr::Index { .. } => {}
            Expr::Call { name, .. } => {
                if matches!(
                    name.as_str(),
                    "now" | "today" | "datetime.now" | "datetime.today"
                ) {
                    constant = false;
                }
            }
            _ => constant = false,
        });
        constant
    }

    /// True when the expression (outside aggregates) reads `ReportItems!`: such expressions
    /// are evaluated after the items they name (and in page headers/footers, per page).
    pub fn uses_report_items(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| {
            if matches!(e, Expr::ReportItem(_)) {
                found = true;
            }
        });
        found
    }

    /// Visits this node and its sub-expressions, parents first. The recursion depth is
    /// bounded by the parser's nesting limit.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Literal(_)
            | Expr::Field { .. }
            | Expr::Global(_)
            | Expr::User(_)
            | Expr::ReportItem(_)
            | Expr::Variable(_)
            | Expr::Local(_)
            | Expr::RowNumber(_)
            | Expr::InScope(_)
            | Expr::Level(_) => {}
            Expr::Parameter { index, .. } => {
                if let Some(i) = index {
                    i.walk(f);
                }
            }
            Expr::Unary(_, e) => e.walk(f),
            Expr::Binary(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::Call { args, .. } | Expr::Code { args, .. } => {
                for a in args {
                    a.walk(f);
                }
            }
            Expr::Method { target, args, .. } => {
                target.walk(f);
                for a in args {
                    a.walk(f);
                }
            }
            Expr::Index { target, index } => {
                target.walk(f);
                index.walk(f);
            }
            Expr::Aggregate(a) => {
                if let Some(arg) = &a.arg {
                    arg.walk(f);
                }
            }
            Expr::Previous { expr, .. } => expr.walk(f),
            Expr::Lookup(l) => {
                l.source.walk(f);
                l.destination.walk(f);
                l.result.walk(f);
            }
        }
    }

    /// Numbers the aggregates (pre-order) so `AggregateCall::id` matches `aggregates()`.
    pub(crate) fn number_aggregates(&mut self, next: &mut u32) {
        match self {
            Expr::Aggregate(a) => {
                a.id = *next;
                *next += 1;
                if let Some(arg) = &mut a.arg {
                    arg.number_aggregates(next);
                }
            }
            Expr::Literal(_)
            | Expr::Field { .. }
            | Expr::Global(_)
            | Expr::User(_)
            | Expr::ReportItem(_)
            | Expr::Variable(_)
            | Expr::Local(_)
            | Expr::RowNumber(_)
            | Expr::InScope(_)
            | Expr::Level(_) => {}
            Expr::Parameter { index, .. } => {
                if let Some(i) = index {
                    i.number_aggregates(next);
                }
            }
            Expr::Unary(_, e) => e.number_aggregates(next),
            Expr::Binary(_, a, b) => {
                a.number_aggregates(next);
                b.number_aggregates(next);
            }
            Expr::Call { args, .. } | Expr::Code { args, .. } => {
                for a in args {
                    a.number_aggregates(next);
                }
            }
            Expr::Method { target, args, .. } => {
                target.number_aggregates(next);
                for a in args {
                    a.number_aggregates(next);
                }
            }
            Expr::Index { target, index } => {
                target.number_aggregates(next);
                index.number_aggregates(next);
            }
            Expr::Previous { expr, .. } => expr.number_aggregates(next),
            Expr::Lookup(l) => {
                l.source.number_aggregates(next);
                l.destination.number_aggregates(next);
                l.result.number_aggregates(next);
            }
        }
    }
}
