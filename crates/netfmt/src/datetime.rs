//! Date/time formatting: standard (`d D f F g G m M o O r R s t T u U y Y`) and custom
//! (`yyyy MM dd HH hh mm ss fff FFF tt ddd dddd MMM MMMM g z K : / 'lit' \ %`) format
//! strings, as .NET Framework 4.x's `DateTimeFormat.FormatCustomized` does it.
//!
//! Owns: the token rules (a run of one letter is one token; a one-character format string is
//! a standard format, `%x` makes it custom), culture names, and the `FormatException` cases
//! (unknown standard letter, unterminated quote, trailing `\` or `%`, `%%`, more than 7 `f`).
//!
//! Must not: consult the machine's time zone. Values are `DateTime`s of unspecified kind:
//! `K` prints nothing, `z`/`zz`/`zzz` print a zero offset (reportd renders in UTC).

use std::borrow::Cow;

use time::PrimitiveDateTime;

use crate::culture::{Culture, DateTimeFormat};
use crate::{FormatError, Num};

fn bad(format: &str, reason: &'static str) -> FormatError {
    FormatError::InvalidDateTimeFormat {
        format: format.to_string(),
        reason,
    }
}

/// Formats `dt` with a .NET date/time format string.
pub(crate) fn format(
    dt: PrimitiveDateTime,
    format: &str,
    dtfi: &DateTimeFormat,
) -> Result<String, FormatError> {
    let mut out = String::new();
    format_into(&mut out, dt, format, dtfi)?;
    Ok(out)
}

/// [`format`] appended to `out` (on an error `out` is as it was).
pub(crate) fn format_into(
    out: &mut String,
    dt: PrimitiveDateTime,
    format: &str,
    dtfi: &DateTimeFormat,
) -> Result<(), FormatError> {
    let (pattern, info) = resolve(format, dtfi)?;
    let start = out.len();
    custom(out, dt, &pattern, info, format).inspect_err(|_| out.truncate(start))
}

/// The custom pattern `format` stands for and the culture data it is formatted with: an empty
/// format is `G`, one character is a standard format ([`standard`]; an unknown letter is
/// [`FormatError::InvalidSpecifier`]), anything longer is a custom pattern as it is.
pub(crate) fn resolve<'a, 'd>(
    format: &'a str,
    dtfi: &'d DateTimeFormat,
) -> Result<(Cow<'a, str>, &'d DateTimeFormat), FormatError> {
    let mut chars = format.chars();
    let (first, second) = (chars.next(), chars.next());
    Ok(match (first, second) {
        (None, _) => (
            Cow::Owned(format!("{} {}", dtfi.short_date, dtfi.long_time)),
            dtfi,
        ),
        (Some(c), None) => standard(c, dtfi).ok_or_else(|| FormatError::InvalidSpecifier {
            format: format.to_string(),
            value_type: "DateTime",
        })?,
        _ => (Cow::Borrowed(format), dtfi),
    })
}

/// Framework's `GetRealFormat`: the pattern a one-letter standard format stands for, and the
/// culture data it is formatted with (`r`, `s`, `u`, `o` always use the invariant culture).
fn standard(c: char, dtfi: &DateTimeFormat) -> Option<(Cow<'static, str>, &DateTimeFormat)> {
    let inv = &Culture::invariant().datetime;
    Some(match c {
        'd' => (Cow::Borrowed(dtfi.short_date), dtfi),
        'D' => (Cow::Borrowed(dtfi.long_date), dtfi),
        'f' => (
            Cow::Owned(format!("{} {}", dtfi.long_date, dtfi.short_time)),
            dtfi,
        ),
        'F' | 'U' => (Cow::Borrowed(dtfi.full_date_time), dtfi),
        'g' => (
            Cow::Owned(format!("{} {}", dtfi.short_date, dtfi.short_time)),
            dtfi,
        ),
        'G' => (
            Cow::Owned(format!("{} {}", dtfi.short_date, dtfi.long_time)),
            dtfi,
        ),
        'm' | 'M' => (Cow::Borrowed(dtfi.month_day), dtfi),
        'o' | 'O' => (
            Cow::Borrowed("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK"),
            inv,
        ),
        'r' | 'R' => (Cow::Borrowed("ddd, dd MMM yyyy HH':'mm':'ss 'GMT'"), inv),
        's' => (Cow::Borrowed("yyyy'-'MM'-'dd'T'HH':'mm':'ss"), inv),
        't' => (Cow::Borrowed(dtfi.short_time), dtfi),
        'T' => (Cow::Borrowed(dtfi.long_time), dtfi),
        'u' => (Cow::Borrowed("yyyy'-'MM'-'dd HH':'mm':'ss'Z'"), inv),
        'y' | 'Y' => (Cow::Borrowed(dtfi.year_month), dtfi),
        _ => return None,
    })
}

fn push_digits(out: &mut String, value: i64, len: usize) {
    push_padded(out, value.unsigned_abs(), len.min(2));
}

/// `value`'s decimal digits, zero-padded to `len`.
pub(crate) fn push_padded(out: &mut String, value: u64, len: usize) {
    // a day, month, hour, ...: one or two digits pushed as they are
    if value < 100 && len <= 2 {
        let (tens, ones) = ((value / 10) as u8, (value % 10) as u8);
        if tens > 0 || len == 2 {
            out.push(char::from(b'0' + tens));
        }
        out.push(char::from(b'0' + ones));
        return;
    }
    // the digits, last first, without a String per number
    let mut buf = [b'0'; 40];
    let end = buf.len();
    let at = crate::number::digits_before(&mut buf, end, value);
    // the buffer's zeros before the digits pad them (more than it holds: pushed first)
    let start = if len > end {
        for _ in end - at..len {
            out.push('0');
        }
        at
    } else {
        at.min(end - len)
    };
    out.extend(buf[start..].iter().map(|&b| char::from(b)));
}

/// Framework's `FormatCustomized`. `original` is only used in error messages.
fn custom(
    out: &mut String,
    dt: PrimitiveDateTime,
    f: &str,
    dtfi: &DateTimeFormat,
    original: &str,
) -> Result<(), FormatError> {
    // an ASCII pattern (the usual one) is read as its bytes: no copy of its characters
    if f.is_ascii() {
        custom_chars(out, dt, f.as_bytes(), dtfi, original)
    } else {
        let chars: Vec<char> = f.chars().collect();
        custom_chars(out, dt, &chars, dtfi, original)
    }
}

/// [`custom`] over the pattern's characters (bytes of an ASCII pattern, or `char`s).
fn custom_chars<C: Copy + Into<char>>(
    out: &mut String,
    dt: PrimitiveDateTime,
    f: &[C],
    dtfi: &DateTimeFormat,
    original: &str,
) -> Result<(), FormatError> {
    // what was in `out` before: not this pattern's to change
    let base = out.len();
    let at = |k: usize| -> Option<char> { f.get(k).map(|&c| c.into()) };
    let mut i = 0;
    while i < f.len() {
        let ch: char = f[i].into();
        let run = f[i..]
            .iter()
            .take_while(|&&c| Into::<char>::into(c) == ch)
            .count();
        let token_len;
        match ch {
            'g' => {
                token_len = run;
                out.push_str(dtfi.era);
            }
            'h' => {
                token_len = run;
                let h = i64::from(dt.hour() % 12);
                push_digits(out, if h == 0 { 12 } else { h }, run);
            }
            'H' => {
                token_len = run;
                push_digits(out, i64::from(dt.hour()), run);
            }
            'm' => {
                token_len = run;
                push_digits(out, i64::from(dt.minute()), run);
            }
            's' => {
                token_len = run;
                push_digits(out, i64::from(dt.second()), run);
            }
            'f' | 'F' => {
                token_len = run;
                if run > 7 {
                    return Err(bad(original, "more than seven f/F fraction digits"));
                }
                // .NET ticks are 100 ns.
                let mut fraction = i64::from(dt.nanosecond() / 100) / 10i64.pow(7 - run as u32);
                let mut digits = run;
                if ch == 'F' {
                    while digits > 0 && fraction % 10 == 0 {
                        fraction /= 10;
                        digits -= 1;
                    }
                }
                if digits > 0 {
                    let s = fraction.to_string();
                    for _ in s.len()..digits {
                        out.push('0');
                    }
                    out.push_str(&s);
                } else if out.len() > base && out.ends_with('.') {
                    out.pop();
                }
            }
            't' => {
                token_len = run;
                let designator = if dt.hour() < 12 { dtfi.am } else { dtfi.pm };
                if run == 1 {
                    if let Some(c) = designator.chars().next() {
                        out.push(c);
                    }
                } else {
                    out.push_str(designator);
                }
            }
            'd' => {
                token_len = run;
                if run <= 2 {
                    push_digits(out, i64::from(dt.day()), run);
                } else {
                    let wd = usize::from(dt.weekday().number_days_from_sunday());
                    let names = if run == 3 {
                        &dtfi.abbreviated_day_names
                    } else {
                        &dtfi.day_names
                    };
                    out.push_str(names.get(wd).copied().unwrap_or(""));
                }
            }
            'M' => {
                token_len = run;
                let m = usize::from(u8::from(dt.month()));
                if run <= 2 {
                    push_digits(out, m as i64, run);
                } else {
                    let names = if run == 3 {
                        &dtfi.abbreviated_month_names
                    } else {
                        &dtfi.month_names
                    };
                    out.push_str(names.get(m.wrapping_sub(1)).copied().unwrap_or(""));
                }
            }
            'y' => {
                token_len = run;
                let year = i64::from(dt.year());
                if run <= 2 {
                    push_digits(out, year % 100, run);
                } else if year >= 0 && run <= 20 {
                    // what "D<run>" makes of a year that is not negative: zero-padded digits
                    push_padded(out, year.unsigned_abs(), run);
                } else {
                    // Framework: year.ToString("D" + tokenLen, InvariantCulture) — beyond 99
                    // digits that is a custom format, reproduced by the number formatter.
                    let spec = format!("D{run}");
                    let s =
                        crate::number::format(Num::Int(year), &spec, &Culture::invariant().number)
                            .unwrap_or_else(|_| year.to_string());
                    out.push_str(&s);
                }
            }
            'z' => {
                token_len = run;
                out.push_str(match run {
                    1 => "+0",
                    2 => "+00",
                    _ => "+00:00",
                });
            }
            'K' => {
                token_len = 1;
            }
            ':' => {
                token_len = 1;
                out.push_str(dtfi.time_separator);
            }
            '/' => {
                token_len = 1;
                out.push_str(dtfi.date_separator);
            }
            '\'' | '"' => {
                let mut p = i + 1;
                let mut found = false;
                while p < f.len() {
                    let c: char = f[p].into();
                    p += 1;
                    if c == ch {
                        found = true;
                        break;
                    } else if c == '\\' {
                        match at(p) {
                            Some(n) => {
                                out.push(n);
                                p += 1;
                            }
                            None => return Err(bad(original, "a trailing \\ inside a quote")),
                        }
                    } else {
                        out.push(c);
                    }
                }
                if !found {
                    return Err(bad(original, "a quote without its closing quote"));
                }
                token_len = p - i;
            }
            '%' => match at(i + 1) {
                Some(n) if n != '%' => {
                    custom(out, dt, &n.to_string(), dtfi, original)?;
                    token_len = 2;
                }
                _ => return Err(bad(original, "a % not followed by one format character")),
            },
            '\\' => match at(i + 1) {
                Some(n) => {
                    out.push(n);
                    token_len = 2;
                }
                None => return Err(bad(original, "a trailing \\")),
            },
            c => {
                token_len = 1;
                out.push(c);
            }
        }
        i += token_len.max(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_years_are_what_the_number_formatter_makes() {
        let inv = &Culture::invariant().number;
        for year in [0i64, 1, 9, 10, 99, 100, 999, 1000, 2024, 9999] {
            for run in 3..=20 {
                let mut fast = String::new();
                push_padded(&mut fast, year.unsigned_abs(), run);
                let slow = crate::number::format(Num::Int(year), &format!("D{run}"), inv).unwrap();
                assert_eq!(fast, slow, "year {year}, {run} y");
            }
        }
        // a pattern longer than the stack buffer, and one with non-ASCII literals
        let dt = time::Date::from_calendar_date(2024, time::Month::March, 5)
            .unwrap()
            .with_hms(7, 8, 9)
            .unwrap();
        let inv = &Culture::invariant().datetime;
        let long = format!("'{}'yyyy-MM-dd", "x".repeat(70));
        assert_eq!(
            format(dt, &long, inv).unwrap(),
            format!("{}2024-03-05", "x".repeat(70))
        );
        assert_eq!(format(dt, "d", inv).unwrap(), "03/05/2024");
        assert_eq!(format(dt, "dd'ä'MM", inv).unwrap(), "05ä03");
        // every value and width the fast and general paths take, as the plain rule
        for value in (0..=250u64).chain([9_999, 123_456_789, u64::MAX]) {
            for len in 0..=45usize {
                let digits = value.to_string();
                let want = format!("{}{digits}", "0".repeat(len.saturating_sub(digits.len())));
                let mut got = String::from("x");
                push_padded(&mut got, value, len);
                assert_eq!(got, format!("x{want}"), "{value} to {len}");
            }
        }
        let mut s = String::new();
        push_digits(&mut s, -7, 2);
        push_digits(&mut s, 123, 1);
        assert_eq!(s, "07123");
    }
}
