//! The adapter between the evaluator and .NET format strings.
//!
//! Owns: the few entry points the evaluator needs (`Format`, `.ToString(fmt)`, `CStr`'s
//! default text, `FormatNumber`/`FormatCurrency`/`FormatPercent`/`FormatDateTime`).
//!
//! The `netfmt` crate owns .NET formatting with culture data; until it offers its API this
//! module carries a small en-US implementation of the standard (`C D E F G N P X`; dates
//! `d D t T f F g G M Y s u`) and custom (`0 # , . % ‰ ; 'lit' \c`; `yyyy MM dd HH mm ss tt
//! MMM MMMM ddd dddd f`) formats, with .NET Framework rounding (15 significant digits for
//! doubles, then half away from zero). Switching over means replacing the bodies of the
//! `pub(crate)` functions below; their callers do not change.
//!
//! Must not: know expressions or the engine.

use rust_decimal::{Decimal, RoundingStrategy};
use time::PrimitiveDateTime;

use crate::Value;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The English month name (1-based), full or abbreviated.
pub(crate) fn month_name(m: u8, abbreviate: bool, _culture: &str) -> String {
    let name = MONTHS[usize::from(m.clamp(1, 12) - 1)];
    if abbreviate {
        name[..3].to_string()
    } else {
        name.to_string()
    }
}

/// The English day name, 0 = Sunday.
pub(crate) fn day_name(d: u8, abbreviate: bool, _culture: &str) -> String {
    let name = DAYS[usize::from(d % 7)];
    if abbreviate {
        name[..3].to_string()
    } else {
        name.to_string()
    }
}

/// `Format(v, fmt)` / `v.ToString(fmt)`.
pub(crate) fn format_value(v: &Value, fmt: &str, culture: &str) -> String {
    match v {
        Value::Null => String::new(),
        Value::DateTime(dt) => format_date(dt, if fmt.is_empty() { "G" } else { fmt }, culture),
        Value::Int(_) | Value::Float(_) | Value::Decimal(_) => {
            if fmt.is_empty() {
                return default_string(v, culture);
            }
            format_number_str(v, fmt, culture)
        }
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Value::Str(s) => s.to_string(),
        Value::Bytes(_) => "System.Byte[]".to_string(),
        Value::Array(_) => "System.Object[]".to_string(),
    }
}

/// `v.ToString()` without a format: dates in full (`G`), numbers as .NET prints them.
pub(crate) fn default_string(v: &Value, culture: &str) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => double_g15(*x),
        Value::Decimal(d) => d.to_string(),
        Value::Str(s) => s.to_string(),
        Value::DateTime(dt) => format_date(dt, "G", culture),
        Value::Bytes(_) => "System.Byte[]".to_string(),
        Value::Array(_) => "System.Object[]".to_string(),
    }
}

/// `CStr(v)`: as `ToString()`, except a date at midnight prints without its time and a time
/// on 1/1/0001 without its date (VB's `Conversions.ToString(Date)`).
pub(crate) fn cstr(v: &Value, culture: &str) -> String {
    match v {
        Value::DateTime(dt) => {
            let midnight = dt.time() == time::Time::MIDNIGHT;
            let zero_date = dt.date() == time::Date::MIN.replace_year(1).unwrap_or(time::Date::MIN)
                && dt.month() == time::Month::January
                && dt.day() == 1;
            if midnight {
                format_date(dt, "d", culture)
            } else if zero_date {
                format_date(dt, "T", culture)
            } else {
                format_date(dt, "G", culture)
            }
        }
        _ => default_string(v, culture),
    }
}

/// .NET Framework's default `Double.ToString()`: 15 significant digits, `E+XX` outside
/// 1E-5 ≤ |x| < 1E15.
pub(crate) fn double_g15(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if x == 0.0 {
        return "0".into();
    }
    let s = format!("{x:.14e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if neg { "-" } else { "" };
    if !(-4..15).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}E{esign}{:02}", exp.abs());
    }
    if exp < 0 {
        let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = usize::try_from(exp + 1).unwrap_or(1);
    if digits.len() <= int_len {
        format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

/// A number as an exact decimal the way .NET Framework formats it: doubles through their
/// 15-significant-digit text. `None` for values a Decimal cannot hold (NaN, ±∞, ≥ 7.9E28).
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

fn group3(int_digits: &str, sep: &str) -> String {
    let mut out = String::with_capacity(int_digits.len() + int_digits.len() / 3);
    let n = int_digits.len();
    for (i, ch) in int_digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(ch);
    }
    out
}

/// `d` rounded half away from zero to `dp` places, as (negative, integer digits, fraction
/// digits exactly `dp` long).
fn fixed_parts(d: Decimal, dp: u32) -> (bool, String, String) {
    let r = d.round_dp_with_strategy(dp.min(28), RoundingStrategy::MidpointAwayFromZero);
    let neg = r.is_sign_negative() && !r.is_zero();
    let s = format!("{:.*}", dp as usize, r.abs());
    match s.split_once('.') {
        Some((i, f)) => (neg, i.to_string(), f.to_string()),
        None => (neg, s, String::new()),
    }
}

fn standard_numeric(v: &Value, letter: char, prec: Option<u32>) -> Option<String> {
    let d = number_as_decimal(v);
    let upper = letter.to_ascii_uppercase();
    match upper {
        'N' | 'F' | 'C' | 'P' => {
            let d = d?;
            let d = if upper == 'P' {
                d * Decimal::ONE_HUNDRED
            } else {
                d
            };
            let (neg, i, f) = fixed_parts(d, prec.unwrap_or(2));
            let int = if upper == 'F' { i } else { group3(&i, ",") };
            let num = if f.is_empty() {
                int
            } else {
                format!("{int}.{f}")
            };
            Some(match (upper, neg) {
                ('C', true) => format!("(${num})"),
                ('C', false) => format!("${num}"),
                ('P', true) => format!("-{num} %"),
                ('P', false) => format!("{num} %"),
                (_, true) => format!("-{num}"),
                (_, false) => num,
            })
        }
        'D' => {
            let i = match v {
                Value::Int(i) => *i,
                _ => return None,
            };
            let digits = i.unsigned_abs().to_string();
            let w = prec.unwrap_or(0) as usize;
            let sign = if i < 0 { "-" } else { "" };
            Some(format!("{sign}{digits:0>w$}"))
        }
        'X' => {
            let i = match v {
                Value::Int(i) => *i,
                _ => return None,
            };
            let w = prec.unwrap_or(0) as usize;
            let s = if i < 0 && i >= i64::from(i32::MIN) {
                format!("{:x}", i as i32)
            } else {
                format!("{i:x}")
            };
            let s = format!("{s:0>w$}");
            Some(if letter == 'X' {
                s.to_ascii_uppercase()
            } else {
                s
            })
        }
        'E' => {
            let x = match v {
                Value::Int(i) => *i as f64,
                Value::Float(x) => *x,
                Value::Decimal(d) => d.to_string().parse().ok()?,
                _ => return None,
            };
            let p = prec.unwrap_or(6) as usize;
            let s = format!("{x:.p$e}");
            let (m, e) = s.split_once('e')?;
            let e: i32 = e.parse().ok()?;
            let esign = if e < 0 { '-' } else { '+' };
            Some(format!(
                "{m}{}{esign}{:03}",
                if letter == 'e' { 'e' } else { 'E' },
                e.abs()
            ))
        }
        'G' => match (v, prec) {
            (Value::Float(x), None) => Some(double_g15(*x)),
            (_, None) => Some(default_string(v, "en-US")),
            (_, Some(p)) => {
                let d = d?;
                if d.is_zero() {
                    return Some("0".into());
                }
                let digits = d.abs().trunc().to_string().trim_start_matches('0').len() as i64;
                let scale = (i64::from(p) - digits.max(if d.abs() < Decimal::ONE { 0 } else { 1 }))
                    .clamp(0, 28) as u32;
                let r = d.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
                Some(r.normalize().to_string())
            }
        },
        _ => None,
    }
}

/// A numeric format string (standard when it is one letter plus optional digits).
fn format_number_str(v: &Value, fmt: &str, culture: &str) -> String {
    let mut chars = fmt.chars();
    if let Some(letter) = chars.next() {
        let rest = chars.as_str();
        if letter.is_ascii_alphabetic()
            && rest.len() <= 2
            && rest.chars().all(|c| c.is_ascii_digit())
        {
            let prec = if rest.is_empty() {
                None
            } else {
                rest.parse().ok()
            };
            if let Some(s) = standard_numeric(v, letter, prec) {
                return s;
            }
            if "CDEFGNPXRcdefgnpxr".contains(letter) {
                return default_string(v, culture);
            }
        }
    }
    custom_number(v, fmt).unwrap_or_else(|| default_string(v, culture))
}

/// Splits a custom format at unquoted `;`.
fn sections(fmt: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quote: Option<char> = None;
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        let cur = out.last_mut();
        let Some(cur) = cur else { break };
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, '\\') => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (None, ';') => out.push(String::new()),
            (None, c) => cur.push(c),
        }
    }
    out
}

enum Item {
    Digit(bool),
    Lit(String),
}

fn custom_number(v: &Value, fmt: &str) -> Option<String> {
    let d = number_as_decimal(v)?;
    let secs = sections(fmt);
    let (sec, use_abs) = if d.is_zero() && secs.len() >= 3 && !secs[2].is_empty() {
        (&secs[2], true)
    } else if d.is_sign_negative() && !d.is_zero() && secs.len() >= 2 && !secs[1].is_empty() {
        (&secs[1], true)
    } else {
        (&secs[0], false)
    };
    // Tokenise the section.
    let mut int_items: Vec<Item> = Vec::new();
    let mut frac_items: Vec<Item> = Vec::new();
    let mut in_frac = false;
    let mut grouping = false;
    let mut scale_commas = 0u32;
    let mut pending_commas = 0u32;
    let mut percent = 0u32;
    let mut permille = 0u32;
    let mut seen_digit = false;
    let mut chars = sec.chars().peekable();
    while let Some(c) = chars.next() {
        let items = if in_frac {
            &mut frac_items
        } else {
            &mut int_items
        };
        match c {
            '0' | '#' => {
                if pending_commas > 0 && !in_frac {
                    if seen_digit {
                        grouping = true;
                    }
                    pending_commas = 0;
                }
                seen_digit = true;
                items.push(Item::Digit(c == '0'));
            }
            '.' if !in_frac => {
                if pending_commas > 0 {
                    scale_commas += pending_commas;
                    pending_commas = 0;
                }
                in_frac = true;
            }
            ',' if !in_frac => pending_commas += 1,
            ',' => {}
            '%' => {
                percent += 1;
                items.push(Item::Lit("%".into()));
            }
            '‰' => {
                permille += 1;
                items.push(Item::Lit("‰".into()));
            }
            '\'' | '"' => {
                let mut lit = String::new();
                for n in chars.by_ref() {
                    if n == c {
                        break;
                    }
                    lit.push(n);
                }
                items.push(Item::Lit(lit));
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    items.push(Item::Lit(n.to_string()));
                }
            }
            c => items.push(Item::Lit(c.to_string())),
        }
    }
    if pending_commas > 0 && !in_frac {
        scale_commas += pending_commas;
    }
    let mut x = if use_abs { d.abs() } else { d };
    for _ in 0..percent {
        x *= Decimal::ONE_HUNDRED;
    }
    for _ in 0..permille {
        x *= Decimal::ONE_THOUSAND;
    }
    for _ in 0..scale_commas {
        x /= Decimal::ONE_THOUSAND;
    }
    let max_frac = frac_items
        .iter()
        .filter(|i| matches!(i, Item::Digit(_)))
        .count() as u32;
    let min_frac = frac_items
        .iter()
        .filter(|i| matches!(i, Item::Digit(_)))
        .enumerate()
        .filter(|(_, i)| matches!(i, Item::Digit(true)))
        .map(|(k, _)| k + 1)
        .max()
        .unwrap_or(0);
    let (neg, int_digits, frac_digits) = fixed_parts(x, max_frac);
    let int_digits = int_digits.trim_start_matches('0').to_string();
    let mut frac: Vec<char> = frac_digits.chars().collect();
    while frac.len() > min_frac && frac.last() == Some(&'0') {
        frac.pop();
    }
    // Minimum integer digits: placeholders from the first '0' to the decimal point.
    let int_placeholders: Vec<bool> = int_items
        .iter()
        .filter_map(|i| {
            if let Item::Digit(z) = i {
                Some(*z)
            } else {
                None
            }
        })
        .collect();
    let min_int = int_placeholders
        .iter()
        .position(|z| *z)
        .map_or(0, |p| int_placeholders.len() - p);
    let mut digits: Vec<char> = int_digits.chars().collect();
    while digits.len() < min_int {
        digits.insert(0, '0');
    }
    // Assign digits right to left over the integer placeholders.
    let n_ph = int_placeholders.len();
    let mut out_int: Vec<String> = Vec::new();
    let mut remaining = digits.len();
    let mut ph_seen = 0;
    let mut digit_count_out = 0usize;
    let emit_digit = |ch: char, out: &mut Vec<String>, count: &mut usize| {
        if grouping && *count > 0 && count.is_multiple_of(3) {
            out.push(",".into());
        }
        out.push(ch.to_string());
        *count += 1;
    };
    for item in int_items.iter().rev() {
        match item {
            Item::Digit(_) => {
                ph_seen += 1;
                if ph_seen == n_ph {
                    while remaining > 0 {
                        remaining -= 1;
                        emit_digit(digits[remaining], &mut out_int, &mut digit_count_out);
                    }
                } else if remaining > 0 {
                    remaining -= 1;
                    emit_digit(digits[remaining], &mut out_int, &mut digit_count_out);
                }
            }
            Item::Lit(l) => out_int.push(l.clone()),
        }
    }
    out_int.reverse();
    let mut out: String = out_int.concat();
    if n_ph == 0 && !digits.is_empty() && int_items.is_empty() && frac_items.is_empty() {
        out = digits.iter().collect();
    }
    let mut frac_out = String::new();
    let mut fi = 0;
    let mut any_frac_digit = false;
    for item in &frac_items {
        match item {
            Item::Digit(_) => {
                if fi < frac.len() {
                    frac_out.push(frac[fi]);
                    any_frac_digit = true;
                }
                fi += 1;
            }
            Item::Lit(l) => frac_out.push_str(l),
        }
    }
    if any_frac_digit {
        out.push('.');
    }
    out.push_str(&frac_out);
    if neg && !use_abs {
        out.insert(0, '-');
    }
    Some(out)
}

/// A date with a standard or custom format (en-US).
pub(crate) fn format_date(dt: &PrimitiveDateTime, fmt: &str, culture: &str) -> String {
    let expanded = match fmt {
        "d" => "M/d/yyyy",
        "D" => "dddd, MMMM d, yyyy",
        "t" => "h:mm tt",
        "T" => "h:mm:ss tt",
        "f" => "dddd, MMMM d, yyyy h:mm tt",
        "F" => "dddd, MMMM d, yyyy h:mm:ss tt",
        "g" => "M/d/yyyy h:mm tt",
        "G" => "M/d/yyyy h:mm:ss tt",
        "M" | "m" => "MMMM d",
        "Y" | "y" => "MMMM yyyy",
        "s" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        "u" => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        "o" | "O" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffff",
        f => f,
    };
    let fmt = expanded
        .strip_prefix('%')
        .filter(|s| s.chars().count() == 1)
        .unwrap_or(expanded);
    custom_date(dt, fmt, culture)
}

fn custom_date(dt: &PrimitiveDateTime, fmt: &str, culture: &str) -> String {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c && "dMyhHmsftz".contains(c) {
            n += 1;
        }
        let hour12 = match dt.hour() % 12 {
            0 => 12,
            h => h,
        };
        match c {
            'd' => match n {
                1 => out.push_str(&dt.day().to_string()),
                2 => out.push_str(&format!("{:02}", dt.day())),
                3 => out.push_str(&day_name(
                    dt.weekday().number_days_from_sunday(),
                    true,
                    culture,
                )),
                _ => out.push_str(&day_name(
                    dt.weekday().number_days_from_sunday(),
                    false,
                    culture,
                )),
            },
            'M' => {
                let m = u8::from(dt.month());
                match n {
                    1 => out.push_str(&m.to_string()),
                    2 => out.push_str(&format!("{m:02}")),
                    3 => out.push_str(&month_name(m, true, culture)),
                    _ => out.push_str(&month_name(m, false, culture)),
                }
            }
            'y' => {
                let y = dt.year();
                match n {
                    1 => out.push_str(&(y % 100).to_string()),
                    2 => out.push_str(&format!("{:02}", y % 100)),
                    _ => out.push_str(&format!("{y:0n$}")),
                }
            }
            'h' => out.push_str(&if n == 1 {
                hour12.to_string()
            } else {
                format!("{hour12:02}")
            }),
            'H' => out.push_str(&if n == 1 {
                dt.hour().to_string()
            } else {
                format!("{:02}", dt.hour())
            }),
            'm' => out.push_str(&if n == 1 {
                dt.minute().to_string()
            } else {
                format!("{:02}", dt.minute())
            }),
            's' => out.push_str(&if n == 1 {
                dt.second().to_string()
            } else {
                format!("{:02}", dt.second())
            }),
            'f' | 'F' => {
                let frac = format!("{:09}", dt.nanosecond());
                let take = n.min(7);
                let part = &frac[..take];
                if c == 'F' {
                    out.push_str(part.trim_end_matches('0'));
                } else {
                    out.push_str(part);
                }
            }
            't' => {
                let ampm = if dt.hour() < 12 { "AM" } else { "PM" };
                out.push_str(if n == 1 { &ampm[..1] } else { ampm });
            }
            'z' => {}
            '\'' | '"' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != c {
                    out.push(chars[j]);
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            '\\' => {
                if i + 1 < chars.len() {
                    out.push(chars[i + 1]);
                }
                i += 2;
                continue;
            }
            '%' => {}
            c => out.push(c),
        }
        i += n;
    }
    out
}

/// `FormatNumber` / `FormatCurrency` / `FormatPercent`: `digits` < 0 means the culture's
/// default (2); `lead_zero`, `parens`, `group` are VB TriState values (-1 true, 0 false,
/// -2 default).
pub(crate) fn format_vb_number(
    d: Decimal,
    kind: char,
    digits: i64,
    lead_zero: i64,
    parens: i64,
    group: i64,
) -> String {
    let dp = if digits < 0 {
        2
    } else {
        u32::try_from(digits.min(28)).unwrap_or(2)
    };
    let d = if kind == 'P' {
        d * Decimal::ONE_HUNDRED
    } else {
        d
    };
    let (neg, i, f) = fixed_parts(d, dp);
    let int = if group == 0 { i } else { group3(&i, ",") };
    let int = if lead_zero == 0 && int == "0" && !f.is_empty() {
        String::new()
    } else {
        int
    };
    let mut num = if f.is_empty() {
        int
    } else {
        format!("{int}.{f}")
    };
    match kind {
        'C' => num = format!("${num}"),
        'P' => num.push('%'),
        _ => {}
    }
    // Currency defaults to parentheses (the culture's negative pattern); the others to '-'.
    let use_parens = parens == -1 || (parens == -2 && kind == 'C');
    match (neg, use_parens) {
        (true, true) => format!("({num})"),
        (true, false) => format!("-{num}"),
        _ => num,
    }
}
