//! Pure aggregate accumulators: the engine feeds them the argument values of a scope's rows.
//!
//! Owns: SSRS's aggregate semantics. `Nothing` values are skipped by every function except
//! `CountRows`, `First` and `Last`; `Sum`/`Avg`/`Min`/`Max` of no values are `Nothing`;
//! `Count`/`CountDistinct`/`CountRows` of none are 0. Integer sums stay Integer (on i64
//! overflow they continue exactly as Decimal), Decimal sums are exact (0.1 + 0.2 = 0.3), a
//! Double anywhere makes the result Double. `Var`/`VarP` of Decimals are exact Decimals (as
//! SSRS computes them), otherwise Doubles (Welford's method); `StDev`/`StDevP` are Doubles.
//! `RunningValue` reads [`Accumulator::value`] after each row's [`Accumulator::push`].
//!
//! Must not: iterate data or evaluate expressions (the engine does both).

use std::collections::HashSet;
use std::sync::Arc;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::EvalError;
use super::ast::AggFn;
use super::eval::compare;
use crate::Value;

/// A running sum in the narrowest exact representation.
#[derive(Debug, Clone, Copy)]
enum Sum {
    Int(i64),
    Dec(Decimal),
    Float(f64),
}

impl Sum {
    fn add(self, v: &Value, func: AggFn) -> Result<Sum, EvalError> {
        Ok(match (self, v) {
            (Sum::Int(a), Value::Int(b)) => match a.checked_add(*b) {
                Some(s) => Sum::Int(s),
                None => Sum::Dec(Decimal::from(a) + Decimal::from(*b)),
            },
            (Sum::Int(a), Value::Decimal(b)) => Sum::Dec(Decimal::from(a)).add_dec(*b),
            (Sum::Dec(a), Value::Int(b)) => Sum::Dec(a).add_dec(Decimal::from(*b)),
            (Sum::Dec(a), Value::Decimal(b)) => Sum::Dec(a).add_dec(*b),
            (s, Value::Float(b)) => Sum::Float(s.as_f64() + b),
            (Sum::Float(a), Value::Int(b)) => Sum::Float(a + *b as f64),
            (Sum::Float(a), Value::Decimal(b)) => Sum::Float(a + b.to_f64().unwrap_or(f64::NAN)),
            (_, other) => return Err(not_numeric(func, other)),
        })
    }

    fn add_dec(self, b: Decimal) -> Sum {
        match self {
            Sum::Dec(a) => match a.checked_add(b) {
                Some(s) => Sum::Dec(s),
                None => Sum::Float(a.to_f64().unwrap_or(f64::NAN) + b.to_f64().unwrap_or(f64::NAN)),
            },
            other => other,
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Sum::Int(i) => i as f64,
            Sum::Dec(d) => d.to_f64().unwrap_or(f64::NAN),
            Sum::Float(x) => x,
        }
    }

    fn value(self) -> Value {
        match self {
            Sum::Int(i) => Value::Int(i),
            Sum::Dec(d) => Value::Decimal(d),
            Sum::Float(x) => Value::Float(x),
        }
    }
}

fn not_numeric(func: AggFn, v: &Value) -> EvalError {
    EvalError::Argument {
        func: func.name().to_string(),
        message: format!(
            "the aggregate cannot be applied to values of type '{}'; convert them first (CDec, CDbl)",
            super::convert::vb_type(v)
        ),
    }
}

/// A hashable identity of a value, for `CountDistinct` (Decimal scale ignored, as .NET's
/// `Decimal.Equals`; types kept apart, as `Object.Equals`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    Float(u64),
    Str(Arc<str>),
    Date(time::PrimitiveDateTime),
    Bytes(Arc<[u8]>),
    Array(Vec<Key>),
    Null,
}

fn key(v: &Value) -> Key {
    match v {
        Value::Null => Key::Null,
        Value::Bool(b) => Key::Bool(*b),
        Value::Int(i) => Key::Int(*i),
        Value::Decimal(d) => Key::Dec(d.normalize()),
        // 0.0 and -0.0 are equal; NaNs all count as one.
        Value::Float(x) => Key::Float(if *x == 0.0 { 0 } else { x.to_bits() }),
        Value::Str(s) => Key::Str(s.clone()),
        Value::DateTime(d) => Key::Date(*d),
        Value::Bytes(b) => Key::Bytes(b.clone()),
        Value::Array(a) => Key::Array(a.iter().map(key).collect()),
    }
}

#[derive(Debug, Clone)]
enum State {
    Sum(Option<Sum>),
    Avg(Option<Sum>, u64),
    Count(u64),
    Distinct(HashSet<Key>),
    MinMax(Option<Value>),
    First(Option<Value>),
    Last(Option<Value>),
    /// Welford (count, mean, M2) for Doubles, and exact Decimal sums (Σx, Σx²) while every
    /// value is a Decimal: SSRS computes Var/VarP of Decimals in Decimal.
    Moments(u64, f64, f64, Option<(Decimal, Decimal)>),
}

/// Accumulates one aggregate over a sequence of values.
#[derive(Debug, Clone)]
pub struct Accumulator {
    func: AggFn,
    state: State,
}

impl Accumulator {
    /// An empty accumulator for `func`.
    pub fn new(func: AggFn) -> Self {
        let state = match func {
            AggFn::Sum => State::Sum(None),
            AggFn::Avg => State::Avg(None, 0),
            AggFn::Count | AggFn::CountRows => State::Count(0),
            AggFn::CountDistinct => State::Distinct(HashSet::new()),
            AggFn::Min | AggFn::Max => State::MinMax(None),
            AggFn::First | AggFn::Aggregate => State::First(None),
            AggFn::Last => State::Last(None),
            AggFn::StDev | AggFn::StDevP | AggFn::Var | AggFn::VarP => {
                State::Moments(0, 0.0, 0.0, Some((Decimal::ZERO, Decimal::ZERO)))
            }
        };
        Accumulator { func, state }
    }

    /// The function accumulated.
    pub fn func(&self) -> AggFn {
        self.func
    }

    /// Adds one row's value (for `CountRows`, any value: each call is a row).
    pub fn push(&mut self, v: &Value) -> Result<(), EvalError> {
        let func = self.func;
        match &mut self.state {
            State::Count(n) => {
                if func == AggFn::CountRows || !v.is_null() {
                    *n += 1;
                }
            }
            State::First(f) => {
                if f.is_none() {
                    *f = Some(v.clone());
                }
            }
            State::Last(l) => *l = Some(v.clone()),
            _ if v.is_null() => {}
            State::Sum(s) => {
                *s = Some(s.unwrap_or(Sum::Int(0)).add(v, func)?);
            }
            State::Avg(s, n) => {
                *s = Some(s.unwrap_or(Sum::Int(0)).add(v, func)?);
                *n += 1;
            }
            State::Distinct(set) => {
                set.insert(key(v));
            }
            State::MinMax(m) => {
                let replace = match m {
                    None => true,
                    Some(cur) => {
                        let o = compare(v, cur)?.ok_or_else(|| not_numeric(func, v))?;
                        if func == AggFn::Min {
                            o.is_lt()
                        } else {
                            o.is_gt()
                        }
                    }
                };
                if replace {
                    *m = Some(v.clone());
                }
            }
            State::Moments(n, mean, m2, exact) => {
                *exact = match (v, *exact) {
                    (Value::Decimal(d), Some((s, q))) => d
                        .checked_mul(*d)
                        .and_then(|sq| Some((s.checked_add(*d)?, q.checked_add(sq)?))),
                    _ => None,
                };
                let x = match v {
                    Value::Int(i) => *i as f64,
                    Value::Float(x) => *x,
                    Value::Decimal(d) => d.to_f64().unwrap_or(f64::NAN),
                    other => return Err(not_numeric(func, other)),
                };
                *n += 1;
                let delta = x - *mean;
                *mean += delta / *n as f64;
                *m2 += delta * (x - *mean);
            }
        }
        Ok(())
    }

    /// The aggregate of the values pushed so far (what `RunningValue` shows on this row).
    pub fn value(&self) -> Value {
        match &self.state {
            State::Sum(s) => s.map_or(Value::Null, Sum::value),
            State::Avg(None, _) | State::Avg(_, 0) => Value::Null,
            State::Avg(Some(s), n) => match s {
                Sum::Dec(d) => d.checked_div(Decimal::from(*n)).map_or(
                    Value::Float(d.to_f64().unwrap_or(f64::NAN) / *n as f64),
                    Value::Decimal,
                ),
                other => Value::Float(other.as_f64() / *n as f64),
            },
            State::Count(n) => Value::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
            State::Distinct(set) => Value::Int(i64::try_from(set.len()).unwrap_or(i64::MAX)),
            State::MinMax(m) | State::First(m) | State::Last(m) => m.clone().unwrap_or(Value::Null),
            State::Moments(n, _, m2, exact) => {
                let population = matches!(self.func, AggFn::StDevP | AggFn::VarP);
                if let (Some((s, q)), true) = (exact, *n > 0) {
                    if let Some(var) = exact_variance(*n, *s, *q, population) {
                        return match self.func {
                            AggFn::Var | AggFn::VarP => Value::Decimal(var),
                            // Through the text: correctly rounded, as `Convert.ToDouble(Decimal)`.
                            _ => Value::Float(
                                var.to_string().parse::<f64>().unwrap_or(f64::NAN).sqrt(),
                            ),
                        };
                    }
                    if !population && *n == 1 {
                        return Value::Null;
                    }
                }
                let denom = if population {
                    *n as f64
                } else {
                    *n as f64 - 1.0
                };
                if *n == 0 || denom <= 0.0 {
                    // SSRS: StDev/Var of a single value is Nothing; of none, Nothing.
                    return Value::Null;
                }
                let var = m2 / denom;
                Value::Float(if matches!(self.func, AggFn::StDev | AggFn::StDevP) {
                    var.sqrt()
                } else {
                    var
                })
            }
        }
    }

    /// The final aggregate.
    pub fn finish(self) -> Value {
        self.value()
    }
}

/// `(nΣx² − (Σx)²) / (n(n−1))` (or `/ n²` for the population) in Decimal, as SSRS does
/// for Decimal data; `None` for a single value of a sample, or on Decimal overflow.
fn exact_variance(n: u64, s: Decimal, q: Decimal, population: bool) -> Option<Decimal> {
    let nd = Decimal::from(n);
    let denom = if population {
        nd.checked_mul(nd)?
    } else {
        nd.checked_mul(Decimal::from(n.checked_sub(1)?))?
    };
    if denom.is_zero() {
        return None;
    }
    let num = nd.checked_mul(q)?.checked_sub(s.checked_mul(s)?)?;
    num.checked_div(denom)
}

/// Aggregates a whole sequence at once (convenience for tests and small scopes).
pub fn aggregate<'a>(
    func: AggFn,
    values: impl IntoIterator<Item = &'a Value>,
) -> Result<Value, EvalError> {
    let mut a = Accumulator::new(func);
    for v in values {
        a.push(v)?;
    }
    Ok(a.finish())
}
