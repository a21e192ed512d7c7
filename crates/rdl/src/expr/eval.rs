//! The evaluator: walks an [`Expr`] with VB semantics.
//!
//! Owns: operator semantics (numeric promotion Integer → Decimal → Double, `&` through
//! `CStr`, `+` on two strings concatenating, `/` floating or Decimal, `\` and `Mod`,
//! comparisons across numeric types, strings (binary), dates and `Nothing`), short-circuit
//! `AndAlso`/`OrElse`, and the dispatch of collection reads and engine calls to the
//! [`Context`].
//!
//! Must not: panic on any input (division by zero, overflow and bad conversions are
//! [`EvalError`]s), recurse deeper than the parser allows, or read the clock.

use std::cmp::Ordering;
use std::collections::HashMap;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::ast::{BinaryOp, Expr, FieldProp, ParamProp, UnaryOp};
use super::code::Run;
use super::convert::{self, to_bool, to_f64};
use super::{Context, EvalError, funcs};
use crate::Value;

/// Evaluates a parsed expression against a context.
pub fn eval(expr: &Expr, ctx: &dyn Context) -> Result<Value, EvalError> {
    Env {
        ctx,
        locals: None,
        run: None,
    }
    .eval(expr)
}

/// Evaluates an expression that may read named locals (lower-case keys), e.g. a `<Code>`
/// function's variables, or values a caller binds for a filter.
pub fn eval_with_locals(
    expr: &Expr,
    ctx: &dyn Context,
    locals: &HashMap<String, Value>,
) -> Result<Value, EvalError> {
    Env {
        ctx,
        locals: Some(locals),
        run: None,
    }
    .eval(expr)
}

/// What an evaluation can see.
pub(crate) struct Env<'a> {
    pub ctx: &'a dyn Context,
    /// Locals of the `<Code>` function being run (lower-case names).
    pub locals: Option<&'a HashMap<String, Value>>,
    /// The running `<Code>` call's budget, shared by nested calls.
    pub run: Option<&'a Run>,
}

impl Env<'_> {
    pub(crate) fn culture(&self) -> &str {
        self.ctx.culture()
    }

    // `eval` is on every recursion path (and `<Code>` calls recurse through it), so it only
    // dispatches: each arm's work lives in its own function and this frame stays small, also
    // in debug builds.
    pub(crate) fn eval(&self, e: &Expr) -> Result<Value, EvalError> {
        match e {
            Expr::Literal(v) => Ok(v.clone()),
            Expr::Field { name, prop } => self.field(name, prop),
            Expr::Parameter { name, prop, index } => self.parameter(name, *prop, index.as_deref()),
            Expr::Global(g) => self.ctx.global(g),
            Expr::User(u) => self.ctx.user(u),
            Expr::ReportItem(r) => self.ctx.report_item(r),
            Expr::Variable(v) => self.ctx.variable(v),
            Expr::Unary(op, x) => self.unary(*op, x),
            Expr::Binary(op, a, b) => self.binary(*op, a, b),
            Expr::Call { name, args } => self.call(name, args),
            Expr::Method { target, name, args } => self.method(target, name, args),
            Expr::Index { target, index } => self.index(target, index),
            Expr::Code { name, args } => self.code(name, args),
            Expr::Local(name) => self.local(name),
            Expr::Aggregate(a) => self.ctx.aggregate(a),
            Expr::RowNumber(s) => self.ctx.row_number(s),
            Expr::Previous { expr, scope } => self.ctx.previous(expr, scope),
            Expr::InScope(s) => Ok(Value::Bool(self.ctx.in_scope(s))),
            Expr::Level(s) => self.ctx.level(s),
            Expr::Lookup(l) => self.ctx.lookup(l),
        }
    }

    #[inline(never)]
    fn field(&self, name: &str, prop: &FieldProp) -> Result<Value, EvalError> {
        match prop {
            FieldProp::Value => self.ctx.field(name),
            FieldProp::IsMissing => Ok(Value::Bool(self.ctx.field_is_missing(name))),
            FieldProp::Other(p) => self.ctx.field_property(name, p),
        }
    }

    #[inline(never)]
    fn parameter(
        &self,
        name: &str,
        prop: ParamProp,
        index: Option<&Expr>,
    ) -> Result<Value, EvalError> {
        let idx = match index {
            None => None,
            Some(i) => {
                let n = convert::to_i64(&self.eval(i)?)?;
                Some(usize::try_from(n).map_err(|_| EvalError::Argument {
                    func: format!("Parameters!{name}"),
                    message: format!("index {n} is negative"),
                })?)
            }
        };
        self.ctx.parameter(name, prop, idx)
    }

    #[inline(never)]
    fn unary(&self, op: UnaryOp, x: &Expr) -> Result<Value, EvalError> {
        let v = self.eval(x)?;
        unary(op, &v)
    }

    #[inline(never)]
    fn binary(&self, op: BinaryOp, a: &Expr, b: &Expr) -> Result<Value, EvalError> {
        match op {
            BinaryOp::AndAlso => Ok(Value::Bool(
                to_bool(&self.eval(a)?)? && to_bool(&self.eval(b)?)?,
            )),
            BinaryOp::OrElse => Ok(Value::Bool(
                to_bool(&self.eval(a)?)? || to_bool(&self.eval(b)?)?,
            )),
            _ => {
                let x = self.eval(a)?;
                let y = self.eval(b)?;
                binary(op, &x, &y, self.culture())
            }
        }
    }

    fn args(&self, args: &[Expr]) -> Result<Vec<Value>, EvalError> {
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            out.push(self.eval(a)?);
        }
        Ok(out)
    }

    #[inline(never)]
    fn call(&self, name: &str, args: &[Expr]) -> Result<Value, EvalError> {
        // `If(c, a, b)` is VB's short-circuit conditional operator.
        if name == "if" {
            return match args {
                [c, a, b] => {
                    if to_bool(&self.eval(c)?)? {
                        self.eval(a)
                    } else {
                        self.eval(b)
                    }
                }
                [a, b] => {
                    let v = self.eval(a)?;
                    if v.is_null() { self.eval(b) } else { Ok(v) }
                }
                _ => Err(EvalError::Argument {
                    func: "If".into(),
                    message: "takes (condition, then, else) or (value, default)".into(),
                }),
            };
        }
        let vals = self.args(args)?;
        funcs::call(name, &vals, self)
    }

    #[inline(never)]
    fn method(&self, target: &Expr, name: &str, args: &[Expr]) -> Result<Value, EvalError> {
        let t = self.eval(target)?;
        let vals = self.args(args)?;
        funcs::method(&t, name, &vals, self.culture())
    }

    #[inline(never)]
    fn index(&self, target: &Expr, index: &Expr) -> Result<Value, EvalError> {
        let t = self.eval(target)?;
        let i = self.eval(index)?;
        index_value(&t, &i)
    }

    #[inline(never)]
    fn code(&self, name: &str, args: &[Expr]) -> Result<Value, EvalError> {
        let key = name.to_ascii_lowercase();
        // `arr(i)` on a local array (a function's own name is a local too, but
        // `F(n - 1)` inside `F` is a recursive call).
        if let Some(v) = self
            .lookup_local(&key)
            .filter(|v| matches!(v, Value::Array(_)) || args.is_empty())
        {
            return match args {
                [i] => index_value(&v, &self.eval(i)?),
                [] => Ok(v),
                _ => Err(EvalError::Unsupported {
                    construct: format!("multi-dimensional indexing of '{name}'"),
                }),
            };
        }
        let vals = self.args(args)?;
        let Some(code) = self.ctx.code() else {
            return Err(EvalError::NotFound {
                what: "Code function",
                name: name.to_string(),
            });
        };
        code.call_in(name, &vals, self.ctx, self.run)
    }

    #[inline(never)]
    fn local(&self, name: &str) -> Result<Value, EvalError> {
        let key = name.to_ascii_lowercase();
        self.lookup_local(&key).ok_or_else(|| EvalError::NotFound {
            what: "variable",
            name: name.to_string(),
        })
    }

    fn lookup_local(&self, key: &str) -> Option<Value> {
        if let Some(v) = self.locals.and_then(|l| l.get(key)) {
            return Some(v.clone());
        }
        self.ctx.code().and_then(|c| c.module_var(key))
    }
}

/// Refuses to build a string longer than [`funcs::MAX_STRING`] bytes (a `<Code>` loop
/// doubling a string would otherwise exhaust memory).
pub(crate) fn check_len(len: usize) -> Result<(), EvalError> {
    if len > funcs::MAX_STRING {
        return Err(EvalError::Limit {
            what: format!("the {}-byte string limit", funcs::MAX_STRING),
        });
    }
    Ok(())
}

/// Indexes an array (or a string, giving a one-character string).
pub(crate) fn index_value(t: &Value, i: &Value) -> Result<Value, EvalError> {
    let n = convert::to_i32(i)?;
    let bad = |len: usize| EvalError::Argument {
        func: "index".into(),
        message: format!("index {n} is outside the bounds of the array (length {len})"),
    };
    match t {
        Value::Array(a) => {
            let k = usize::try_from(n).map_err(|_| bad(a.len()))?;
            a.get(k).cloned().ok_or_else(|| bad(a.len()))
        }
        Value::Str(s) => {
            let k = usize::try_from(n).map_err(|_| bad(s.chars().count()))?;
            s.chars()
                .nth(k)
                .map(|c| Value::str(c.to_string()))
                .ok_or_else(|| bad(s.chars().count()))
        }
        other => Err(EvalError::Argument {
            func: "index".into(),
            message: format!("a {} value cannot be indexed", convert::vb_type(other)),
        }),
    }
}

/// A number in one of VB's three arithmetic representations.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    I(i64),
    D(Decimal),
    F(f64),
}

/// The numeric view of a value for arithmetic (`Nothing` is 0, `True` is -1, strings parse
/// as Double as VB does with Option Strict Off).
pub(crate) fn num(v: &Value, op: &str) -> Result<Num, EvalError> {
    Ok(match v {
        Value::Null => Num::I(0),
        Value::Bool(b) => Num::I(if *b { -1 } else { 0 }),
        Value::Int(i) => Num::I(*i),
        Value::Decimal(d) => Num::D(*d),
        Value::Float(x) => Num::F(*x),
        Value::Str(_) => Num::F(to_f64(v)?),
        other => {
            return Err(EvalError::Argument {
                func: format!("operator '{op}'"),
                message: format!("is not defined for type '{}'", convert::vb_type(other)),
            });
        }
    })
}

fn num_f(n: Num) -> f64 {
    match n {
        Num::I(i) => i as f64,
        Num::D(d) => d.to_f64().unwrap_or(f64::NAN),
        Num::F(x) => x,
    }
}

fn dec_overflow(op: &str) -> EvalError {
    EvalError::Overflow {
        what: format!("Decimal {op}"),
    }
}

/// Applies `+ - *` with promotion; Int overflow falls back to Double, as VB widens.
fn arith(a: Num, b: Num, op: char) -> Result<Value, EvalError> {
    Ok(match (a, b) {
        (Num::I(x), Num::I(y)) => {
            let r = match op {
                '+' => x.checked_add(y),
                '-' => x.checked_sub(y),
                _ => x.checked_mul(y),
            };
            match r {
                Some(r) => Value::Int(r),
                None => Value::Float(float_op(x as f64, y as f64, op)),
            }
        }
        (Num::F(_), _) | (_, Num::F(_)) => Value::Float(float_op(num_f(a), num_f(b), op)),
        (x, y) => {
            let dx = num_dec(x);
            let dy = num_dec(y);
            let r = match op {
                '+' => dx.checked_add(dy),
                '-' => dx.checked_sub(dy),
                _ => dx.checked_mul(dy),
            };
            Value::Decimal(r.ok_or_else(|| dec_overflow("arithmetic"))?)
        }
    })
}

fn num_dec(n: Num) -> Decimal {
    match n {
        Num::I(i) => Decimal::from(i),
        Num::D(d) => d,
        // Only called when neither side is a Double.
        Num::F(x) => convert::f64_to_decimal(x).unwrap_or_default(),
    }
}

fn float_op(x: f64, y: f64, op: char) -> f64 {
    match op {
        '+' => x + y,
        '-' => x - y,
        _ => x * y,
    }
}

fn is_zero(n: Num) -> bool {
    match n {
        Num::I(i) => i == 0,
        Num::D(d) => d.is_zero(),
        Num::F(x) => x == 0.0,
    }
}

/// A unary operator.
pub(crate) fn unary(op: UnaryOp, v: &Value) -> Result<Value, EvalError> {
    match op {
        UnaryOp::Plus => Ok(match num(v, "+")? {
            Num::I(i) => Value::Int(i),
            Num::D(d) => Value::Decimal(d),
            Num::F(x) => Value::Float(x),
        }),
        UnaryOp::Neg => Ok(match num(v, "-")? {
            Num::I(i) => match i.checked_neg() {
                Some(n) => Value::Int(n),
                None => Value::Decimal(-Decimal::from(i)),
            },
            Num::D(d) => Value::Decimal(-d),
            Num::F(x) => Value::Float(-x),
        }),
        UnaryOp::Not => Ok(match v {
            Value::Bool(b) => Value::Bool(!b),
            Value::Str(_) => Value::Bool(!to_bool(v)?),
            Value::Null => Value::Int(-1),
            other => Value::Int(!convert::to_i64(other)?),
        }),
    }
}

/// Compares two values as VB's `=`/`<` do; `None` when unordered (NaN).
pub(crate) fn compare(a: &Value, b: &Value) -> Result<Option<Ordering>, EvalError> {
    use Value as V;
    Ok(match (a, b) {
        (V::Null, V::Null) => Some(Ordering::Equal),
        (V::Str(x), V::Str(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (V::Str(x), V::Null) => Some(x.as_ref().cmp("")),
        (V::Null, V::Str(y)) => Some("".cmp(y.as_ref())),
        (V::DateTime(x), V::DateTime(y)) => Some(x.cmp(y)),
        (V::DateTime(_), V::Null | V::Str(_)) => {
            Some(convert::to_date(a)?.cmp(&convert::to_date(b).unwrap_or(convert::zero_date())))
        }
        (V::Null | V::Str(_), V::DateTime(_)) => compare(b, a)?.map(Ordering::reverse),
        (V::Bool(x), V::Str(_)) => Some(bool_cmp(*x, to_bool(b)?)),
        (V::Str(_), V::Bool(y)) => Some(bool_cmp(to_bool(a)?, *y)),
        (V::Array(_) | V::Bytes(_), _) | (_, V::Array(_) | V::Bytes(_)) => {
            return Err(EvalError::Argument {
                func: "comparison".into(),
                message: format!(
                    "values of type '{}' and '{}' cannot be compared",
                    convert::vb_type(a),
                    convert::vb_type(b)
                ),
            });
        }
        (V::DateTime(_), _) | (_, V::DateTime(_)) => {
            return Err(EvalError::Argument {
                func: "comparison".into(),
                message: format!(
                    "a Date cannot be compared with a value of type '{}'",
                    convert::vb_type(if matches!(a, V::DateTime(_)) { b } else { a })
                ),
            });
        }
        _ => {
            let (x, y) = (num(a, "=")?, num(b, "=")?);
            match (x, y) {
                (Num::I(p), Num::I(q)) => Some(p.cmp(&q)),
                (Num::F(_), _) | (_, Num::F(_)) => num_f(x).partial_cmp(&num_f(y)),
                _ => Some(num_dec(x).cmp(&num_dec(y))),
            }
        }
    })
}

/// VB orders Booleans as numbers: True (-1) < False (0).
fn bool_cmp(x: bool, y: bool) -> Ordering {
    y.cmp(&x)
}

/// A binary operator on two evaluated operands (all but the short-circuit ones).
pub(crate) fn binary(
    op: BinaryOp,
    a: &Value,
    b: &Value,
    culture: &str,
) -> Result<Value, EvalError> {
    use BinaryOp as B;
    match op {
        B::Concat => {
            let mut s = convert::to_string(a, culture);
            let t = convert::to_string(b, culture);
            check_len(s.len() + t.len())?;
            s.push_str(&t);
            Ok(Value::str(s))
        }
        B::Add => match (a, b) {
            (Value::Str(x), Value::Str(y)) => {
                check_len(x.len() + y.len())?;
                Ok(Value::str(format!("{x}{y}")))
            }
            (Value::Str(_), Value::Null) => Ok(a.clone()),
            (Value::Null, Value::Str(_)) => Ok(b.clone()),
            (Value::DateTime(_), _) | (_, Value::DateTime(_)) => Err(EvalError::Unsupported {
                construct: "adding to a Date with '+' (use DateAdd or .AddDays)".into(),
            }),
            _ => arith(num(a, "+")?, num(b, "+")?, '+'),
        },
        B::Sub => match (a, b) {
            (Value::DateTime(_), _) | (_, Value::DateTime(_)) => Err(EvalError::Unsupported {
                construct: "subtracting Dates with '-' (use DateDiff or DateAdd)".into(),
            }),
            _ => arith(num(a, "-")?, num(b, "-")?, '-'),
        },
        B::Mul => arith(num(a, "*")?, num(b, "*")?, '*'),
        B::Div => {
            let (x, y) = (num(a, "/")?, num(b, "/")?);
            if is_zero(y) {
                return Err(EvalError::DivideByZero);
            }
            match (x, y) {
                (Num::D(_), Num::D(_) | Num::I(_)) | (Num::I(_), Num::D(_)) => num_dec(x)
                    .checked_div(num_dec(y))
                    .map(Value::Decimal)
                    .ok_or_else(|| dec_overflow("division")),
                _ => Ok(Value::Float(num_f(x) / num_f(y))),
            }
        }
        B::IntDiv => {
            let (x, y) = (
                convert::to_i64(&num_value(num(a, "\\")?))?,
                convert::to_i64(&num_value(num(b, "\\")?))?,
            );
            if y == 0 {
                return Err(EvalError::DivideByZero);
            }
            x.checked_div(y)
                .map(Value::Int)
                .ok_or_else(|| EvalError::Overflow {
                    what: "integer division".into(),
                })
        }
        B::Mod => {
            let (x, y) = (num(a, "Mod")?, num(b, "Mod")?);
            if is_zero(y) {
                return Err(EvalError::DivideByZero);
            }
            match (x, y) {
                (Num::I(p), Num::I(q)) => Ok(Value::Int(p.checked_rem(q).unwrap_or(0))),
                (Num::F(_), _) | (_, Num::F(_)) => Ok(Value::Float(num_f(x) % num_f(y))),
                _ => num_dec(x)
                    .checked_rem(num_dec(y))
                    .map(Value::Decimal)
                    .ok_or_else(|| dec_overflow("Mod")),
            }
        }
        B::Pow => {
            let (x, y) = (num_f(num(a, "^")?), num_f(num(b, "^")?));
            Ok(Value::Float(x.powf(y)))
        }
        B::Eq => Ok(Value::Bool(compare(a, b)? == Some(Ordering::Equal))),
        B::Ne => Ok(Value::Bool(compare(a, b)? != Some(Ordering::Equal))),
        B::Lt => Ok(Value::Bool(compare(a, b)? == Some(Ordering::Less))),
        B::Gt => Ok(Value::Bool(compare(a, b)? == Some(Ordering::Greater))),
        B::Le => Ok(Value::Bool(matches!(
            compare(a, b)?,
            Some(Ordering::Less | Ordering::Equal)
        ))),
        B::Ge => Ok(Value::Bool(matches!(
            compare(a, b)?,
            Some(Ordering::Greater | Ordering::Equal)
        ))),
        B::Like => {
            let s = convert::to_string(a, culture);
            let p = convert::to_string(b, culture);
            Ok(Value::Bool(like(&s, &p)))
        }
        B::Is => Ok(Value::Bool(is_same(a, b))),
        B::IsNot => Ok(Value::Bool(!is_same(a, b))),
        B::And | B::Or | B::Xor | B::AndAlso | B::OrElse => logical(op, a, b),
    }
}

fn num_value(n: Num) -> Value {
    match n {
        Num::I(i) => Value::Int(i),
        Num::D(d) => Value::Decimal(d),
        Num::F(x) => Value::Float(x),
    }
}

/// `Is`: reference identity. Values are not references here, so only `Nothing Is Nothing`
/// and shared strings/arrays are identical.
fn is_same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Str(x), Value::Str(y)) => std::sync::Arc::ptr_eq(x, y),
        (Value::Array(x), Value::Array(y)) => std::sync::Arc::ptr_eq(x, y),
        _ => false,
    }
}

/// `And`/`Or`/`Xor`: logical when a side is Boolean, bitwise on integers.
fn logical(op: BinaryOp, a: &Value, b: &Value) -> Result<Value, EvalError> {
    let boolean =
        matches!(a, Value::Bool(_) | Value::Str(_)) || matches!(b, Value::Bool(_) | Value::Str(_));
    if boolean {
        let (x, y) = (to_bool(a)?, to_bool(b)?);
        return Ok(Value::Bool(match op {
            BinaryOp::And | BinaryOp::AndAlso => x && y,
            BinaryOp::Or | BinaryOp::OrElse => x || y,
            _ => x ^ y,
        }));
    }
    let (x, y) = (convert::to_i64(a)?, convert::to_i64(b)?);
    Ok(Value::Int(match op {
        BinaryOp::And | BinaryOp::AndAlso => x & y,
        BinaryOp::Or | BinaryOp::OrElse => x | y,
        _ => x ^ y,
    }))
}

/// VB's `Like` (Option Compare Binary): `?` one char, `*` any run, `#` a digit, `[abc]`,
/// `[a-z]`, `[!abc]`. Iterative with backtracking on `*` only: linear-ish, no recursion.
pub(crate) fn like(s: &str, pattern: &str) -> bool {
    #[derive(Debug)]
    enum P {
        Any,
        Star,
        Digit,
        Set(Vec<(char, char)>, bool),
        Ch(char),
    }
    let mut pat = Vec::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '?' => pat.push(P::Any),
            '*' => pat.push(P::Star),
            '#' => pat.push(P::Digit),
            '[' => {
                let mut j = i + 1;
                let neg = j < chars.len() && chars[j] == '!';
                if neg {
                    j += 1;
                }
                let mut ranges = Vec::new();
                while j < chars.len() && chars[j] != ']' {
                    if j + 2 < chars.len() && chars[j + 1] == '-' && chars[j + 2] != ']' {
                        ranges.push((chars[j], chars[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((chars[j], chars[j]));
                        j += 1;
                    }
                }
                if j >= chars.len() {
                    // An unclosed '[' is matched literally.
                    pat.push(P::Ch('['));
                } else {
                    pat.push(P::Set(ranges, neg));
                    i = j;
                }
            }
            c => pat.push(P::Ch(c)),
        }
        i += 1;
    }
    let text: Vec<char> = s.chars().collect();
    let matches_one = |p: &P, c: char| match p {
        P::Any => true,
        P::Digit => c.is_ascii_digit(),
        P::Ch(x) => *x == c,
        P::Set(r, neg) => r.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *neg,
        P::Star => false,
    };
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < text.len() {
        if pi < pat.len() && !matches!(pat[pi], P::Star) && matches_one(&pat[pi], text[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < pat.len() && matches!(pat[pi], P::Star) {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < pat.len() && matches!(pat[pi], P::Star) {
        pi += 1;
    }
    pi == pat.len()
}
