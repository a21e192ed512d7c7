//! The VB runtime's `FormatNumber`, `FormatCurrency`, `FormatPercent` and `FormatDateTime`
//! (`Microsoft.VisualBasic.Strings`), which RDL expressions call by name.
//!
//! Owns: the defaults those functions take from the culture (digits after the decimal:
//! `NumberDecimalDigits`/`CurrencyDecimalDigits`/`PercentDecimalDigits`; parentheses for
//! negatives: `NumberNegativePattern` 0, or a currency negative pattern that uses
//! parentheses (0, 4, 14, 15); leading digit and grouping on), and `FormatDateTime`'s
//! named formats (`ShortTime` is always `HH:mm`).
//!
//! Must not: parse arguments (the expression evaluator converts them first).
//! Behaviour was taken from the VB language reference pages for these functions; the percent
//! form `12.34%` (symbol without a space) is the VB runtime's own layout (verify).

use time::PrimitiveDateTime;

use crate::culture::{Culture, NumberFormat};
use crate::number::Number;
use crate::{FormatError, Num};

/// VB's `TriState` (`vbTrue` = -1, `vbFalse` = 0, `vbUseDefault` = -2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tristate {
    /// `TriState.True` (-1).
    True,
    /// `TriState.False` (0).
    False,
    /// `TriState.UseDefault` (-2): take the culture's setting.
    UseDefault,
}

impl Tristate {
    /// From VB's numeric value: -1 True, 0 False, anything else UseDefault (VB accepts any
    /// non-zero value as True when a Boolean is passed; `-2` is UseDefault).
    pub fn from_vb(v: i64) -> Tristate {
        match v {
            0 => Tristate::False,
            -2 => Tristate::UseDefault,
            _ => Tristate::True,
        }
    }

    fn or(self, default: bool) -> bool {
        match self {
            Tristate::True => true,
            Tristate::False => false,
            Tristate::UseDefault => default,
        }
    }
}

/// VB's `DateFormat` for `FormatDateTime` (values 0..=4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedFormat {
    /// 0: date and long time; date only at midnight.
    GeneralDate,
    /// 1: the culture's long date (`D`).
    LongDate,
    /// 2: the culture's short date (`d`).
    ShortDate,
    /// 3: the culture's long time (`T`).
    LongTime,
    /// 4: `HH:mm`.
    ShortTime,
}

impl NamedFormat {
    /// From VB's numeric value; `None` for a value outside 0..=4 (VB raises
    /// `ArgumentException` there).
    pub fn from_vb(v: i64) -> Option<NamedFormat> {
        Some(match v {
            0 => NamedFormat::GeneralDate,
            1 => NamedFormat::LongDate,
            2 => NamedFormat::ShortDate,
            3 => NamedFormat::LongTime,
            4 => NamedFormat::ShortTime,
            _ => return None,
        })
    }
}

fn to_number(n: Num) -> Number {
    match n {
        Num::Int(v) => Number::from_i64(v),
        Num::Float(v) => Number::from_f64(v, 15),
        Num::Decimal(d) => Number::from_decimal(d),
    }
}

/// The rounded absolute value as text: integer part (optionally grouped, optionally without
/// the leading `0`) and `digits` decimals. Returns the text and whether it is negative.
fn body(
    n: Num,
    digits: i32,
    scale_by: i32,
    include_leading_digit: bool,
    group: Option<(&str, &[u8])>,
    decimal_sep: &str,
) -> Option<(String, bool)> {
    if let Num::Float(v) = n
        && !v.is_finite()
    {
        return None;
    }
    let mut num = to_number(n);
    if !num.digits.is_empty() {
        num.scale = num.scale.saturating_add(scale_by);
    }
    let d = digits.clamp(0, 99);
    num.round(num.scale.saturating_add(d));
    let mut text = String::new();
    crate::number::fixed(&mut text, &num, d, group, decimal_sep);
    if !include_leading_digit && num.scale <= 0 && text.starts_with('0') && d > 0 {
        text.remove(0);
    }
    Some((text, num.negative))
}

fn non_finite(n: Num, nfi: &NumberFormat) -> String {
    crate::number::format(n, "G", nfi).unwrap_or_default()
}

/// VB `FormatNumber(n, digits, includeLeadingDigit, useParensForNegativeNumbers,
/// groupDigits)`; `digits` -1 takes the culture's `NumberDecimalDigits`.
pub fn format_number_vb(
    n: Num,
    digits: i32,
    include_leading_digit: Tristate,
    use_parens_for_negative: Tristate,
    group_digits: Tristate,
    culture: &Culture,
) -> String {
    let nfi = &culture.number;
    let d = if digits < 0 {
        i32::from(nfi.decimal_digits)
    } else {
        digits
    };
    let group = group_digits
        .or(true)
        .then_some((nfi.group_separator, nfi.group_sizes));
    let Some((text, negative)) = body(
        n,
        d,
        0,
        include_leading_digit.or(true),
        group,
        nfi.decimal_separator,
    ) else {
        return non_finite(n, nfi);
    };
    if !negative {
        text
    } else if use_parens_for_negative.or(nfi.negative_pattern == 0) {
        format!("({text})")
    } else {
        format!("{}{text}", nfi.negative_sign)
    }
}

/// VB `FormatCurrency`, laid out by the culture's currency patterns.
pub fn format_currency_vb(
    n: Num,
    digits: i32,
    include_leading_digit: Tristate,
    use_parens_for_negative: Tristate,
    group_digits: Tristate,
    culture: &Culture,
) -> String {
    let nfi = &culture.number;
    let d = if digits < 0 {
        i32::from(nfi.currency_decimal_digits)
    } else {
        digits
    };
    let group = group_digits
        .or(true)
        .then_some((nfi.currency_group_separator, nfi.currency_group_sizes));
    let Some((text, negative)) = body(
        n,
        d,
        0,
        include_leading_digit.or(true),
        group,
        nfi.currency_decimal_separator,
    ) else {
        return non_finite(n, nfi);
    };
    let positive = crate::number::CURRENCY_POSITIVE
        .get(usize::from(nfi.currency_positive_pattern))
        .copied()
        .unwrap_or("$n");
    let apply = |pattern: &str| -> String {
        let mut out = String::new();
        for ch in pattern.chars() {
            match ch {
                'n' => out.push_str(&text),
                '$' => out.push_str(nfi.currency_symbol),
                '-' => out.push_str(nfi.negative_sign),
                c => out.push(c),
            }
        }
        out
    };
    if !negative {
        return apply(positive);
    }
    let culture_parens = matches!(nfi.currency_negative_pattern, 0 | 4 | 14 | 15);
    if use_parens_for_negative.or(culture_parens) {
        if culture_parens {
            let p = crate::number::CURRENCY_NEGATIVE
                .get(usize::from(nfi.currency_negative_pattern))
                .copied()
                .unwrap_or("($n)");
            apply(p)
        } else {
            format!("({})", apply(positive))
        }
    } else if culture_parens {
        format!("{}{}", nfi.negative_sign, apply(positive))
    } else {
        let p = crate::number::CURRENCY_NEGATIVE
            .get(usize::from(nfi.currency_negative_pattern))
            .copied()
            .unwrap_or("-$n");
        apply(p)
    }
}

/// VB `FormatPercent`: the value × 100 with the percent symbol appended (`12.34%`).
pub fn format_percent_vb(
    n: Num,
    digits: i32,
    include_leading_digit: Tristate,
    use_parens_for_negative: Tristate,
    group_digits: Tristate,
    culture: &Culture,
) -> String {
    let nfi = &culture.number;
    let d = if digits < 0 {
        i32::from(nfi.percent_decimal_digits)
    } else {
        digits
    };
    let group = group_digits
        .or(true)
        .then_some((nfi.percent_group_separator, nfi.percent_group_sizes));
    let Some((text, negative)) = body(
        n,
        d,
        2,
        include_leading_digit.or(true),
        group,
        nfi.percent_decimal_separator,
    ) else {
        return non_finite(n, nfi);
    };
    let text = format!("{text}{}", nfi.percent_symbol);
    if !negative {
        text
    } else if use_parens_for_negative.or(false) {
        format!("({text})")
    } else {
        format!("{}{text}", nfi.negative_sign)
    }
}

/// VB `FormatDateTime(dt, NamedFormat)` in a culture.
pub fn format_datetime_vb(dt: PrimitiveDateTime, named: NamedFormat, culture: &Culture) -> String {
    let midnight = dt.time() == time::Time::MIDNIGHT;
    let no_date = dt.date() == time::Date::MIN || (dt.year() == 1 && dt.ordinal() == 1);
    let format = match named {
        NamedFormat::GeneralDate if no_date => "T",
        NamedFormat::GeneralDate if midnight => "d",
        NamedFormat::GeneralDate => "G",
        NamedFormat::LongDate => "D",
        NamedFormat::ShortDate => "d",
        NamedFormat::LongTime => "T",
        NamedFormat::ShortTime => "HH:mm",
    };
    crate::datetime::format(dt, format, &culture.datetime)
        .unwrap_or_else(|_: FormatError| dt.to_string())
}

/// VB `Format(number, style)`: the named numeric formats of the VB runtime, compared
/// case-insensitively, else `style` as a .NET format string (`Format(x, "N2")`). Named formats
/// format the value as a Double, as the VB runtime does: `General Number` → `G`, `Currency` →
/// `C`, `Fixed` → `0.00`, `Standard` → `N2`, `Percent` → `0.00%` (no space, unlike `P`),
/// `Scientific` → `0.00E+00`, `Yes/No`, `True/False`, `On/Off` (zero → No/False/Off after
/// rounding to an integer as `CInt` does). Source: "Predefined Numeric Formats (Format
/// Function)" (Visual Basic language reference).
pub fn format_vb(n: Num, style: &str, culture: &Culture) -> Result<String, FormatError> {
    let mut out = String::new();
    format_vb_into(&mut out, n, style, culture)?;
    Ok(out)
}

/// [`format_vb`] appended to `out` (nothing is appended on an error).
pub fn format_vb_into(
    out: &mut String,
    n: Num,
    style: &str,
    culture: &Culture,
) -> Result<(), FormatError> {
    let nfi = &culture.number;
    // the names are ASCII and longer than any standard format: most styles skip the compare
    let named = style.len() >= 5
        && style
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic());
    let is = |name: &str| named && style.eq_ignore_ascii_case(name);
    let as_double = || {
        Num::Float(match n {
            Num::Int(v) => v as f64,
            Num::Float(v) => v,
            // A Decimal's value as the nearest Double (the VB runtime's `DoubleType.FromObject`).
            Num::Decimal(d) => d.to_string().parse::<f64>().unwrap_or(f64::NAN),
        })
    };
    let mut choice = |yes: &'static str, no: &'static str| {
        let Num::Float(v) = as_double() else {
            out.push_str(yes);
            return Ok(());
        };
        // CInt: banker's rounding to an integer; only the zero test matters here.
        out.push_str(if v.abs() <= 0.5 || v.is_nan() {
            no
        } else {
            yes
        });
        Ok(())
    };
    let numeric = if is("general number") {
        "G"
    } else if is("currency") {
        "C"
    } else if is("fixed") {
        "0.00"
    } else if is("standard") {
        "N2"
    } else if is("percent") {
        "0.00%"
    } else if is("scientific") {
        "0.00E+00"
    } else if is("yes/no") {
        return choice("Yes", "No");
    } else if is("true/false") {
        return choice("True", "False");
    } else if is("on/off") {
        return choice("On", "Off");
    } else {
        return crate::number::format_into(out, n, style, nfi);
    };
    crate::number::format_into(out, as_double(), numeric, nfi)
}

/// VB `Format(date, style)`: the named date/time formats (`General Date` `G`, `Long Date`
/// `D`, `Medium Date` `dd-MMM-yy`, `Short Date` `d`, `Long Time` `T`, `Medium Time`
/// `hh:mm tt`, `Short Time` `HH:mm`; "Predefined Date/Time Formats (Format Function)", the
/// two medium forms verify), else `style` as a .NET date/time format string.
pub fn format_vb_datetime(
    dt: PrimitiveDateTime,
    style: &str,
    culture: &Culture,
) -> Result<String, FormatError> {
    let mut out = String::new();
    format_vb_datetime_into(&mut out, dt, style, culture)?;
    Ok(out)
}

/// [`format_vb_datetime`] appended to `out` (on an error `out` is as it was).
pub fn format_vb_datetime_into(
    out: &mut String,
    dt: PrimitiveDateTime,
    style: &str,
    culture: &Culture,
) -> Result<(), FormatError> {
    crate::datetime::format_into(out, dt, named_datetime(style), &culture.datetime)
}

/// The .NET format a VB named date/time format stands for (case-insensitive), else `style`.
pub(crate) fn named_datetime(style: &str) -> &str {
    const NAMED: [(&str, &str); 7] = [
        ("general date", "G"),
        ("long date", "D"),
        ("medium date", "dd-MMM-yy"),
        ("short date", "d"),
        ("long time", "T"),
        ("medium time", "hh:mm tt"),
        ("short time", "HH:mm"),
    ];
    if style.len() >= 9 {
        NAMED
            .iter()
            .find(|(name, _)| style.eq_ignore_ascii_case(name))
            .map_or(style, |(_, f)| f)
    } else {
        style
    }
}
