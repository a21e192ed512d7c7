//! .NET Framework formatting and parsing semantics for report values.
//!
//! Owns: standard and custom numeric format strings (`C N P D F E G X`, `0 # , . % ‰ ; 'lit'`),
//! standard and custom date/time format strings, culture data (NLS-style, as SSRS on .NET
//! Framework prints them: en-US `C` of −1234.56 is `($1,234.56)`), the VB runtime's
//! `FormatNumber`/`FormatCurrency`/`FormatPercent`/`FormatDateTime`, and parsing of parameter
//! values in a culture; and compiled format plans ([`Plan`]: a format parsed once per column,
//! fast paths for the common numeric and date layouts).
//!
//! Must not: know RDL, expressions or I/O. Values come in as Rust primitives
//! (`i64`, `f64`, `rust_decimal::Decimal`, `time::PrimitiveDateTime`) and go out as `String`.
//! No function panics on any input; a format string .NET rejects gives [`FormatError`].

mod culture;
mod datetime;
mod number;
mod parse;
mod plan;
mod vb;

pub use culture::{Culture, DateTimeFormat, NumberFormat};
pub use parse::{parse_bool, parse_datetime, parse_number};
pub use plan::Plan;
pub use rust_decimal::Decimal;
pub use time::PrimitiveDateTime;
pub use vb::{
    NamedFormat, Tristate, format_currency_vb, format_datetime_vb, format_number_vb,
    format_percent_vb, format_vb, format_vb_datetime, format_vb_datetime_into, format_vb_into,
};

use std::fmt;

/// A numeric report value, as the three .NET types SSRS meets: `Int64` (all integer types),
/// `Double` (also `Single`), `Decimal`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// `System.Int64` (and the narrower integer types: `X` prints 64-bit two's complement).
    Int(i64),
    /// `System.Double`.
    Float(f64),
    /// `System.Decimal` (its scale is kept: `1.50` prints as `1.50`).
    Decimal(Decimal),
}

impl From<i64> for Num {
    fn from(v: i64) -> Num {
        Num::Int(v)
    }
}

impl From<i32> for Num {
    fn from(v: i32) -> Num {
        Num::Int(i64::from(v))
    }
}

impl From<f64> for Num {
    fn from(v: f64) -> Num {
        Num::Float(v)
    }
}

impl From<Decimal> for Num {
    fn from(v: Decimal) -> Num {
        Num::Decimal(v)
    }
}

/// A format string .NET would reject with a `FormatException`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// A one-letter (plus up to two digits) standard format whose letter is not a standard
    /// specifier for this value type, e.g. `Z`, `D2` on a Double, `R` on a Decimal, `X` on a
    /// Decimal, `Q` on a date. Fix: use one of the documented specifiers for the type, or a
    /// custom format.
    InvalidSpecifier {
        /// The format string as given.
        format: String,
        /// The .NET type name the value was formatted as (`Int64`, `Double`, `Decimal`,
        /// `DateTime`).
        value_type: &'static str,
    },
    /// A custom date/time format that .NET cannot parse: an unterminated quote, a trailing
    /// `\` or `%`, `%%`, or more than seven `f`/`F`. Fix: close the quote or escape the
    /// character.
    InvalidDateTimeFormat {
        /// The format string as given.
        format: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::InvalidSpecifier { format, value_type } => write!(
                f,
                "format specifier \"{format}\" is not valid for a {value_type} value; use a \
                 standard format this type supports (C, D, E, F, G, N, P, R, X as applicable) \
                 or a custom format such as \"#,##0.00\""
            ),
            FormatError::InvalidDateTimeFormat { format, reason } => write!(
                f,
                "date/time format \"{format}\" is not valid: {reason}; quote literal text \
                 ('text') or escape single characters with \\"
            ),
        }
    }
}

impl std::error::Error for FormatError {}

/// `value.ToString(format, culture)` for a number, as .NET Framework 4.x prints it.
///
/// An empty format is `G`. Custom formats never fail (as in .NET); a standard specifier the
/// type does not support is [`FormatError::InvalidSpecifier`].
pub fn format_number(n: Num, format: &str, culture: &Culture) -> Result<String, FormatError> {
    number::format(n, format, &culture.number)
}

/// `value.ToString(format, culture)` for a `DateTime` of unspecified kind (what report data
/// and parameters carry). `K` prints nothing and `z` prints the offset as `+00:00` (the
/// server's zone is not consulted: reportd renders in UTC).
pub fn format_datetime(
    dt: PrimitiveDateTime,
    format: &str,
    culture: &Culture,
) -> Result<String, FormatError> {
    datetime::format(dt, format, &culture.datetime)
}

/// `value.ToString()` with the invariant-looking defaults .NET Framework uses: `Int64`
/// plainly, `Double` as `G` (15 significant digits, `1E+16` style exponents), `Decimal` with
/// its scale (`1.50`). Culture-independent digits; uses `.` as the decimal separator.
pub fn to_string_default(n: Num) -> String {
    number::default_string(n, &Culture::invariant().number)
}

/// `value.ToString()` in a culture (the culture's decimal separator and signs).
pub fn to_string_in(n: Num, culture: &Culture) -> String {
    number::default_string(n, &culture.number)
}

/// [`to_string_in`] appended to `out`.
pub fn to_string_in_into(out: &mut String, n: Num, culture: &Culture) {
    // `G` is valid for every type; the fallback is never taken
    if number::format_into(out, n, "G", &culture.number).is_err() {
        out.push_str(&number::default_string(n, &culture.number));
    }
}

/// [`datetime_default`] appended to `out`.
pub fn datetime_default_into(out: &mut String, dt: PrimitiveDateTime, culture: &Culture) {
    if datetime::format_into(out, dt, "G", &culture.datetime).is_err() {
        out.push_str(&dt.to_string());
    }
}

/// `DateTime.ToString()` in a culture: the `G` pattern (en-US `1/5/2009 12:00:00 AM`).
pub fn datetime_default(dt: PrimitiveDateTime, culture: &Culture) -> String {
    datetime::format(dt, "G", &culture.datetime).unwrap_or_else(|_| dt.to_string())
}
