//! VB conversions between [`Value`]s: `CStr`, `CDbl`, `CDec`, `CInt`, `CLng`, `CBool`,
//! `CDate`, and the numeric view used by operators.
//!
//! Owns: VB's rules (`CInt` rounds half to even; `True` is -1; `Nothing` converts to 0, "",
//! False and 1/1/0001; strings parse in the culture, en-US: `"1,234.5"` is 1234.5).
//!
//! Must not: format with format strings (that is `format.rs`).

use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use time::{Date, Month, PrimitiveDateTime, Time};

use super::EvalError;
use super::format;
use super::lexer::{parse_date_literal, parse_time_parts};
use crate::Value;

/// The VB name of a value's type, for conversion messages.
pub fn vb_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "Nothing",
        Value::Bool(_) => "Boolean",
        Value::Int(_) => "Long",
        Value::Float(_) => "Double",
        Value::Decimal(_) => "Decimal",
        Value::Str(_) => "String",
        Value::DateTime(_) => "Date",
        Value::Bytes(_) => "Byte()",
        Value::Array(_) => "Object()",
    }
}

fn conv_err(v: &Value, to: &'static str) -> EvalError {
    let from = match v {
        Value::Str(_) => "string",
        Value::DateTime(_) => "type 'Date'",
        Value::Bool(_) => "type 'Boolean'",
        Value::Array(_) => "type 'Object()'",
        Value::Bytes(_) => "type 'Byte()'",
        _ => "type 'Double'",
    };
    let text = match v {
        Value::Str(s) => s.to_string(),
        other => format::default_string(other, "en-US"),
    };
    EvalError::Conversion {
        from,
        to,
        value: text,
    }
}

/// `CStr(v)` in the culture (`Nothing` → "").
pub fn to_string(v: &Value, culture: &str) -> String {
    format::cstr(v, culture)
}

/// Parses a number from text as VB's `CDbl`/`CDec` do in en-US: surrounding spaces, a sign,
/// thousands separators, a leading `$`, a trailing `%` is not accepted, `&H` hex.
fn parse_number_text(s: &str) -> Option<Decimal> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(h) = t.strip_prefix("&H").or_else(|| t.strip_prefix("&h")) {
        return i64::from_str_radix(h, 16).ok().map(Decimal::from);
    }
    let (neg, body) = if let Some(r) = t.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        (true, r.trim())
    } else {
        (false, t)
    };
    let body = body.strip_prefix('$').unwrap_or(body);
    let cleaned: String = body.chars().filter(|c| *c != ',').collect();
    let cleaned = cleaned.strip_prefix('+').unwrap_or(&cleaned).to_string();
    if !cleaned.chars().any(|c| c.is_ascii_digit())
        || !cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+'))
    {
        return None;
    }
    let d = if cleaned.contains(['e', 'E']) {
        Decimal::from_scientific(&cleaned).ok()?
    } else {
        Decimal::from_str(&cleaned).ok()?
    };
    Some(if neg { -d } else { d })
}

fn parse_f64_text(s: &str) -> Option<f64> {
    if let Some(d) = parse_number_text(s) {
        return d.to_f64();
    }
    let t: String = s.trim().chars().filter(|c| *c != ',').collect();
    match t.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "infinity" => Some(f64::INFINITY),
        "-infinity" => Some(f64::NEG_INFINITY),
        _ => t.parse::<f64>().ok().filter(|x| x.is_finite()),
    }
}

/// `CDbl(v)`.
pub fn to_f64(v: &Value) -> Result<f64, EvalError> {
    match v {
        Value::Null => Ok(0.0),
        Value::Bool(b) => Ok(if *b { -1.0 } else { 0.0 }),
        Value::Int(i) => Ok(*i as f64),
        Value::Float(x) => Ok(*x),
        Value::Decimal(d) => d.to_f64().ok_or_else(|| conv_err(v, "Double")),
        Value::Str(s) => parse_f64_text(s).ok_or_else(|| conv_err(v, "Double")),
        _ => Err(conv_err(v, "Double")),
    }
}

/// A double as a Decimal, rounded to 15 significant digits as `Convert.ToDecimal(Double)`.
pub fn f64_to_decimal(x: f64) -> Option<Decimal> {
    if !x.is_finite() {
        return None;
    }
    format::number_as_decimal(&Value::Float(x))
}

/// `CDec(v)`.
pub fn to_decimal(v: &Value) -> Result<Decimal, EvalError> {
    match v {
        Value::Null => Ok(Decimal::ZERO),
        Value::Bool(b) => Ok(if *b {
            Decimal::NEGATIVE_ONE
        } else {
            Decimal::ZERO
        }),
        Value::Int(i) => Ok(Decimal::from(*i)),
        Value::Float(x) => f64_to_decimal(*x).ok_or_else(|| EvalError::Overflow {
            what: format!("{} does not fit a Decimal", format::double_g15(*x)),
        }),
        Value::Decimal(d) => Ok(*d),
        Value::Str(s) => parse_number_text(s).ok_or_else(|| conv_err(v, "Decimal")),
        _ => Err(conv_err(v, "Decimal")),
    }
}

/// Rounds half to even (VB's `CInt`/`CLng` on fractional values) into `[min, max]`.
fn round_to_int(v: &Value, min: i64, max: i64, to: &'static str) -> Result<i64, EvalError> {
    let overflow = || EvalError::Overflow {
        what: format!("the value does not fit {to}"),
    };
    let n = match v {
        Value::Null => 0,
        Value::Bool(b) => {
            if *b {
                -1
            } else {
                0
            }
        }
        Value::Int(i) => *i,
        Value::Float(x) => {
            let r = x.round_ties_even();
            if !r.is_finite() || r < min as f64 || r > max as f64 {
                return Err(overflow());
            }
            r as i64
        }
        Value::Decimal(d) => d
            .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
            .to_i64()
            .ok_or_else(overflow)?,
        Value::Str(s) => {
            let d = parse_number_text(s).ok_or_else(|| conv_err(v, to))?;
            return round_to_int(&Value::Decimal(d), min, max, to);
        }
        _ => return Err(conv_err(v, to)),
    };
    if n < min || n > max {
        return Err(overflow());
    }
    Ok(n)
}

/// `CInt(v)`: Int32 range, half to even.
pub fn to_i32(v: &Value) -> Result<i64, EvalError> {
    round_to_int(v, i64::from(i32::MIN), i64::from(i32::MAX), "Integer")
}

/// `CLng(v)`: Int64 range, half to even.
pub fn to_i64(v: &Value) -> Result<i64, EvalError> {
    round_to_int(v, i64::MIN, i64::MAX, "Long")
}

/// `CShort(v)`.
pub fn to_i16(v: &Value) -> Result<i64, EvalError> {
    round_to_int(v, i64::from(i16::MIN), i64::from(i16::MAX), "Short")
}

/// `CByte(v)`.
pub fn to_u8(v: &Value) -> Result<i64, EvalError> {
    round_to_int(v, 0, 255, "Byte")
}

/// `CBool(v)`: numbers are True when non-zero; strings "True"/"False" or a number.
pub fn to_bool(v: &Value) -> Result<bool, EvalError> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::Int(i) => Ok(*i != 0),
        Value::Float(x) => Ok(*x != 0.0),
        Value::Decimal(d) => Ok(!d.is_zero()),
        Value::Str(s) => {
            let t = s.trim();
            if t.eq_ignore_ascii_case("true") {
                Ok(true)
            } else if t.eq_ignore_ascii_case("false") {
                Ok(false)
            } else {
                parse_f64_text(t)
                    .map(|x| x != 0.0)
                    .ok_or_else(|| conv_err(v, "Boolean"))
            }
        }
        _ => Err(conv_err(v, "Boolean")),
    }
}

/// The zero date, `#1/1/0001#` (`CDate(Nothing)`).
pub fn zero_date() -> PrimitiveDateTime {
    // 1 January of year 1 is a valid `time` date (its range starts at -9999).
    Date::from_calendar_date(1, Month::January, 1)
        .map(|d| PrimitiveDateTime::new(d, Time::MIDNIGHT))
        .unwrap_or(PrimitiveDateTime::MIN)
}

/// Parses a date string as `CDate`/`DateValue` do in en-US: `1/31/2024`, `2024-01-31`,
/// `2024-01-31T10:30:00`, `January 31, 2024`, `31 January 2024`, `Jan 31 2024`, each with an
/// optional time (`10:30`, `10:30:15 PM`).
pub fn parse_date(s: &str) -> Option<PrimitiveDateTime> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let t = t.trim_end_matches('Z');
    let normal = t.replacen('T', " ", 1);
    let candidate = if t.len() >= 11 && t.as_bytes().get(10) == Some(&b'T') {
        normal.as_str()
    } else {
        t
    };
    if let Some(d) = parse_date_literal(candidate) {
        return Some(d);
    }
    // Month names.
    let cleaned = t.replace(',', " ");
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let month_of = |w: &str| -> Option<u8> {
        let lw = w.to_ascii_lowercase();
        (1..=12u8).find(|m| {
            let name = format::month_name(*m, false, "en-US").to_ascii_lowercase();
            lw.len() >= 3 && name.starts_with(&lw)
        })
    };
    // Drop a leading day name ("Wednesday, January 31, 2024").
    let words: Vec<&str> = if words.first().is_some_and(|w| {
        (0..7u8).any(|d| format::day_name(d, false, "en-US").eq_ignore_ascii_case(w))
    }) {
        words[1..].to_vec()
    } else {
        words
    };
    if words.len() >= 3 {
        let (m, d, y) = if let Some(m) = month_of(words[0]) {
            (
                m,
                words[1].parse::<u8>().ok()?,
                words[2].parse::<i32>().ok()?,
            )
        } else if let Some(m) = month_of(words[1]) {
            (
                m,
                words[0].parse::<u8>().ok()?,
                words[2].parse::<i32>().ok()?,
            )
        } else {
            return None;
        };
        let date = Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()?;
        let time = parse_time_parts(&words[3..])?;
        return Some(PrimitiveDateTime::new(date, time));
    }
    None
}

/// `CDate(v)`.
pub fn to_date(v: &Value) -> Result<PrimitiveDateTime, EvalError> {
    match v {
        Value::Null => Ok(zero_date()),
        Value::DateTime(d) => Ok(*d),
        Value::Str(s) => parse_date(s).ok_or_else(|| conv_err(v, "Date")),
        _ => Err(conv_err(v, "Date")),
    }
}

/// `IsNumeric(v)`.
pub fn is_numeric(v: &Value) -> bool {
    match v {
        Value::Int(_) | Value::Float(_) | Value::Decimal(_) | Value::Bool(_) => true,
        Value::Str(s) => parse_f64_text(s).is_some(),
        _ => false,
    }
}

/// `IsDate(v)`.
pub fn is_date(v: &Value) -> bool {
    match v {
        Value::DateTime(_) => true,
        Value::Str(s) => parse_date(s).is_some(),
        _ => false,
    }
}

/// `Val(s)`: the leading number of a string, 0 if none (never fails).
pub fn val(v: &Value) -> f64 {
    let s = match v {
        Value::Str(s) => s.to_string(),
        Value::Null => return 0.0,
        other => return to_f64(other).unwrap_or(0.0),
    };
    let chars: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let mut end = 0;
    let b = chars.as_bytes();
    if end < b.len() && (b[end] == b'-' || b[end] == b'+') {
        end += 1;
    }
    let mut seen_dot = false;
    while end < b.len() && (b[end].is_ascii_digit() || (b[end] == b'.' && !seen_dot)) {
        seen_dot |= b[end] == b'.';
        end += 1;
    }
    chars[..end].parse().unwrap_or(0.0)
}

/// `v.ToString(format)` with .NET Framework semantics in a culture (what a textbox's
/// `Format` property does); an empty format is `ToString()`. A format string .NET rejects
/// (`"Z"` on a number) is an error, shown as `#Error`.
pub fn format(v: &Value, format: &str, culture: &str) -> Result<String, EvalError> {
    if format.is_empty() {
        return Ok(format::default_string(v, culture));
    }
    format::format_value(v, format, culture)
}

/// Compares two values as VB's `<`/`=` do (numbers across Integer/Decimal/Double, strings
/// ordinally, dates, `Nothing` as 0/""/the zero date); `None` when unordered (NaN). An error
/// for values VB cannot compare (a string that is not a number against a number).
pub fn compare(a: &Value, b: &Value) -> Result<Option<std::cmp::Ordering>, EvalError> {
    super::eval::compare(a, b)
}
