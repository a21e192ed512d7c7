//! The adapter between the evaluator and `netfmt` (.NET Framework format strings and culture
//! data).
//!
//! Owns: mapping [`Value`]s onto `netfmt`'s inputs for the few entry points the evaluator
//! needs — `Format`, `.ToString(fmt)`, `CStr`'s default text, `FormatNumber`/
//! `FormatCurrency`/`FormatPercent`/`FormatDateTime`, month and day names — and turning a
//! format string .NET rejects into an [`EvalError`] (the value shows `#Error`).
//!
//! Must not: implement formatting itself (that is `netfmt`'s), or know the engine.

use netfmt::{Culture, NamedFormat, Num, Tristate};
use rust_decimal::Decimal;
use time::PrimitiveDateTime;

use super::EvalError;
use crate::Value;

fn culture_of(name: &str) -> &'static Culture {
    Culture::get_or_en_us(name)
}

fn num_of(v: &Value) -> Option<Num> {
    match v {
        Value::Int(i) => Some(Num::Int(*i)),
        Value::Float(x) => Some(Num::Float(*x)),
        Value::Decimal(d) => Some(Num::Decimal(*d)),
        _ => None,
    }
}

fn format_err(func: &str, e: netfmt::FormatError) -> EvalError {
    EvalError::Argument {
        func: func.to_string(),
        message: e.to_string(),
    }
}

/// The culture's month name (1-based), full or abbreviated.
pub(crate) fn month_name(m: u8, abbreviate: bool, culture: &str) -> String {
    let dt = &culture_of(culture).datetime;
    let i = usize::from(m.clamp(1, 12) - 1);
    if abbreviate {
        dt.abbreviated_month_names[i]
    } else {
        dt.month_names[i]
    }
    .to_string()
}

/// The culture's day name, 0 = Sunday.
pub(crate) fn day_name(d: u8, abbreviate: bool, culture: &str) -> String {
    let dt = &culture_of(culture).datetime;
    let i = usize::from(d % 7);
    if abbreviate {
        dt.abbreviated_day_names[i]
    } else {
        dt.day_names[i]
    }
    .to_string()
}

/// `v.ToString(fmt)` / `String.Format("{0:fmt}")`: a .NET format string.
pub(crate) fn format_value(v: &Value, fmt: &str, culture: &str) -> Result<String, EvalError> {
    let c = culture_of(culture);
    if let Some(n) = num_of(v) {
        return netfmt::format_number(n, fmt, c).map_err(|e| format_err(".ToString", e));
    }
    match v {
        Value::DateTime(dt) => {
            netfmt::format_datetime(*dt, fmt, c).map_err(|e| format_err(".ToString", e))
        }
        other => Ok(default_string(other, culture)),
    }
}

/// VB's `Format(v, style)`: VB's named formats (`Currency`, `Short Date`, `Yes/No`...) or a
/// .NET format string.
pub(crate) fn format_vb(v: &Value, style: &str, culture: &str) -> Result<String, EvalError> {
    let c = culture_of(culture);
    if let Some(n) = num_of(v) {
        return netfmt::format_vb(n, style, c).map_err(|e| format_err("Format", e));
    }
    match v {
        Value::DateTime(dt) => {
            netfmt::format_vb_datetime(*dt, style, c).map_err(|e| format_err("Format", e))
        }
        Value::Bool(b) => netfmt::format_vb(Num::Int(if *b { -1 } else { 0 }), style, c)
            .map_err(|e| format_err("Format", e)),
        other => Ok(default_string(other, culture)),
    }
}

/// `v.ToString()` without a format: dates in full (`G`), numbers as .NET Framework prints
/// them in the culture (Doubles to 15 significant digits, Decimals with their scale).
pub(crate) fn default_string(v: &Value, culture: &str) -> String {
    if let Some(n) = num_of(v) {
        return netfmt::to_string_in(n, culture_of(culture));
    }
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Value::Str(s) => s.to_string(),
        Value::DateTime(dt) => netfmt::datetime_default(*dt, culture_of(culture)),
        Value::Bytes(_) => "System.Byte[]".to_string(),
        Value::Array(_) => "System.Object[]".to_string(),
        // Numbers were handled above.
        Value::Int(_) | Value::Float(_) | Value::Decimal(_) => String::new(),
    }
}

/// `CStr(v)`: as `ToString()`, except a date at midnight prints without its time and a time
/// on 1/1/0001 without its date (VB's `Conversions.ToString(Date)`).
pub(crate) fn cstr(v: &Value, culture: &str) -> String {
    match v {
        Value::DateTime(dt) => {
            netfmt::format_datetime_vb(*dt, NamedFormat::GeneralDate, culture_of(culture))
        }
        _ => default_string(v, culture),
    }
}

/// A Double as .NET Framework's `ToString()` prints it (for messages).
pub(crate) fn double_g15(x: f64) -> String {
    netfmt::to_string_default(Num::Float(x))
}

/// A number as an exact decimal the way .NET Framework converts it: doubles through their
/// 15-significant-digit text (`Convert.ToDecimal(Double)`). `None` for values a Decimal
/// cannot hold (NaN, ±∞, ≥ 7.9E28).
pub(crate) fn number_as_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Int(i) => Some(Decimal::from(*i)),
        Value::Decimal(d) => Some(*d),
        Value::Float(x) => {
            if !x.is_finite() {
                return None;
            }
            let s = format!("{x:.14e}");
            let d = Decimal::from_scientific(&s).ok()?;
            Some(d.normalize())
        }
        Value::Bool(b) => Some(if *b {
            Decimal::NEGATIVE_ONE
        } else {
            Decimal::ZERO
        }),
        _ => None,
    }
}

/// A date with a standard or custom .NET format.
pub(crate) fn format_date(
    dt: &PrimitiveDateTime,
    fmt: &str,
    culture: &str,
) -> Result<String, EvalError> {
    netfmt::format_datetime(*dt, fmt, culture_of(culture)).map_err(|e| format_err("Format", e))
}

/// `FormatNumber` (`kind` 'N') / `FormatCurrency` ('C') / `FormatPercent` ('P'): `digits`
/// < 0 means the culture's default; the other three are VB TriState values (-1 true,
/// 0 false, -2 the culture's default).
pub(crate) fn format_vb_number(
    n: Num,
    kind: char,
    digits: i64,
    lead_zero: i64,
    parens: i64,
    group: i64,
    culture: &str,
) -> String {
    let c = culture_of(culture);
    let digits = i32::try_from(digits.clamp(-1, 99)).unwrap_or(-1);
    let (l, p, g) = (
        Tristate::from_vb(lead_zero),
        Tristate::from_vb(parens),
        Tristate::from_vb(group),
    );
    match kind {
        'C' => netfmt::format_currency_vb(n, digits, l, p, g, c),
        'P' => netfmt::format_percent_vb(n, digits, l, p, g, c),
        _ => netfmt::format_number_vb(n, digits, l, p, g, c),
    }
}

/// `FormatDateTime(d, named)`; `None` for a named format outside 0..=4.
pub(crate) fn format_datetime_vb(
    dt: PrimitiveDateTime,
    named: i64,
    culture: &str,
) -> Option<String> {
    let n = NamedFormat::from_vb(named)?;
    Some(netfmt::format_datetime_vb(dt, n, culture_of(culture)))
}
