//! Parsing parameter values typed in a culture (`rs:ParameterLanguage`): numbers the way
//! `NumberStyles.Any` accepts them, dates the way `DateTime.Parse` accepts the common shapes,
//! and `Boolean.Parse`.
//!
//! Owns: the accepted shapes. Numbers: surrounding white space, a leading or trailing sign,
//! parentheses for negatives, the currency symbol before or after, group separators in the
//! integer part, the decimal separator, an exponent. Dates: ISO `yyyy-MM-dd[(T| )HH:mm[:ss
//! [.fffffff]]][Z]`, the culture's short-date order (`M/d/yyyy` for en-US, `d.M.yyyy` for
//! de-DE; separators `/ - .` all accepted) with an optional `h:mm[:ss] [AM|PM]` or `H:mm[:ss]`
//! time, and month names (`January 5, 2009`, `5 January 2009`, `Monday, January 5, 2009`).
//!
//! Must not: read the clock (a time without a date, or a date without a year, is refused
//! rather than completed with "today"), or panic on any input.

use rust_decimal::Decimal;
use time::{Date, Month, PrimitiveDateTime, Time};

use crate::Num;
use crate::culture::Culture;

/// Parses a number typed in `culture`. An integer without decimal point or exponent that
/// fits `i64` is [`Num::Int`]; otherwise [`Num::Decimal`] when it fits Decimal's 28-29
/// digits, else [`Num::Float`]. `None` when the text is not a number.
pub fn parse_number(s: &str, culture: &Culture) -> Option<Num> {
    let nfi = &culture.number;
    let mut t = s.trim();
    let mut negative = false;
    if t.starts_with('(') && t.ends_with(')') && t.len() >= 2 {
        negative = true;
        t = t[1..t.len() - 1].trim();
    }
    let mut signs = 0;
    let strip_currency = |t: &str| -> String {
        let sym = nfi.currency_symbol;
        let t = t.trim();
        let t = t.strip_prefix(sym).unwrap_or(t);
        let t = t.strip_suffix(sym).unwrap_or(t);
        t.trim().to_string()
    };
    let mut body = strip_currency(t);
    for _ in 0..2 {
        if let Some(rest) = body.strip_prefix(nfi.negative_sign) {
            negative = !negative;
            signs += 1;
            body = strip_currency(rest);
        } else if let Some(rest) = body.strip_prefix(nfi.positive_sign) {
            signs += 1;
            body = strip_currency(rest);
        } else if let Some(rest) = body.strip_suffix(nfi.negative_sign) {
            negative = !negative;
            signs += 1;
            body = strip_currency(rest);
        } else if let Some(rest) = body.strip_suffix(nfi.positive_sign) {
            signs += 1;
            body = strip_currency(rest);
        }
    }
    if signs > 1 {
        return None;
    }
    // Body: digits with group separators, decimal separator, digits, exponent.
    let group = nfi.group_separator;
    let dec = nfi.decimal_separator;
    let mut int_digits = String::new();
    let mut frac_digits = String::new();
    let mut rest = body.as_str();
    let mut seen_decimal = false;
    loop {
        if let Some(c) = rest.chars().next()
            && c.is_ascii_digit()
        {
            if seen_decimal {
                frac_digits.push(c);
            } else {
                int_digits.push(c);
            }
            rest = &rest[1..];
            continue;
        }
        if !seen_decimal && !dec.is_empty() && rest.starts_with(dec) {
            seen_decimal = true;
            rest = &rest[dec.len()..];
            continue;
        }
        if !seen_decimal && !int_digits.is_empty() {
            if !group.is_empty() && rest.starts_with(group) {
                rest = &rest[group.len()..];
                continue;
            }
            // .NET accepts a plain space where the group separator is a no-break space.
            if group == "\u{a0}" && rest.starts_with(' ') {
                rest = &rest[1..];
                continue;
            }
        }
        break;
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    let mut exponent: i64 = 0;
    let mut has_exponent = false;
    if let Some(e) = rest.strip_prefix(['e', 'E']) {
        let (eneg, digits) = if let Some(d) = e.strip_prefix(nfi.negative_sign) {
            (true, d)
        } else if let Some(d) = e.strip_prefix(nfi.positive_sign) {
            (false, d)
        } else {
            (false, e)
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 6 {
            return None;
        }
        exponent = digits.parse().ok()?;
        if eneg {
            exponent = -exponent;
        }
        has_exponent = true;
        rest = "";
    }
    if !rest.is_empty() {
        return None;
    }
    if !seen_decimal
        && !has_exponent
        && let Ok(v) = format!("{}{}", if negative { "-" } else { "" }, int_digits).parse::<i64>()
    {
        return Some(Num::Int(v));
    }
    if !has_exponent {
        let text = format!(
            "{}{}.{}",
            if negative { "-" } else { "" },
            if int_digits.is_empty() {
                "0"
            } else {
                &int_digits
            },
            if frac_digits.is_empty() {
                "0"
            } else {
                &frac_digits
            },
        );
        if let Ok(d) = text.parse::<Decimal>() {
            let d = if frac_digits.is_empty() { d.trunc() } else { d };
            return Some(Num::Decimal(d));
        }
    }
    let text = format!(
        "{}{}.{}e{}",
        if negative { "-" } else { "" },
        if int_digits.is_empty() {
            "0"
        } else {
            &int_digits
        },
        if frac_digits.is_empty() {
            "0"
        } else {
            &frac_digits
        },
        exponent
    );
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Num::Float)
}

/// `Boolean.Parse`: `True`/`False` in any case, surrounding white space allowed.
pub fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parses a date (and optional time) typed in `culture`. `None` when the text is not one of
/// the accepted shapes (see the module docs) or names an impossible date.
pub fn parse_datetime(s: &str, culture: &Culture) -> Option<PrimitiveDateTime> {
    let t = s.trim();
    if t.len() > 100 {
        return None;
    }
    if let Some(dt) = parse_iso(t) {
        return Some(dt);
    }
    let dtfi = &culture.datetime;
    // Split off the time: it starts at the first token that contains ':'.
    let tokens: Vec<&str> = t.split_whitespace().collect();
    let time_at = tokens.iter().position(|tok| tok.contains(':'));
    let (date_tokens, time_tokens) = match time_at {
        Some(i) => (&tokens[..i], &tokens[i..]),
        None => (&tokens[..], &tokens[..0]),
    };
    if date_tokens.is_empty() {
        return None;
    }
    let date = parse_date_part(&date_tokens.join(" "), culture)?;
    let time = if time_tokens.is_empty() {
        Time::MIDNIGHT
    } else {
        parse_time_part(time_tokens, dtfi.am, dtfi.pm)?
    };
    Some(PrimitiveDateTime::new(date, time))
}

fn num(s: &str, max_len: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn make_date(year: i32, month: u32, day: u32) -> Option<Date> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    if !(1..=9999).contains(&year) {
        return None;
    }
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

/// A two-digit year as .NET's Gregorian calendar reads it (`TwoDigitYearMax` 2029).
fn full_year(text: &str, y: u32) -> i32 {
    let y = y as i32;
    if text.len() <= 2 {
        if y <= 29 { 2000 + y } else { 1900 + y }
    } else {
        y
    }
}

fn parse_iso(t: &str) -> Option<PrimitiveDateTime> {
    let b = t.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let (date_text, time_text) = match t.find(['T', ' ']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut parts = date_text.split('-');
    let y = num(parts.next()?, 4)?;
    let m = num(parts.next()?, 2)?;
    let d = num(parts.next()?, 2)?;
    if parts.next().is_some() {
        return None;
    }
    let date = make_date(y as i32, m, d)?;
    let time = match time_text {
        None => Time::MIDNIGHT,
        Some(tt) => {
            let tt = tt.trim();
            let tt = tt.strip_suffix('Z').unwrap_or(tt);
            parse_clock(tt)?
        }
    };
    Some(PrimitiveDateTime::new(date, time))
}

/// `H:mm[:ss[.fffffff]]`.
fn parse_clock(t: &str) -> Option<Time> {
    let mut parts = t.split(':');
    let h = num(parts.next()?, 2)?;
    let m = num(parts.next()?, 2)?;
    let (s, nanos) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = match sec.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (sec, None),
            };
            let s = num(whole, 2)?;
            let nanos = match frac {
                None => 0,
                Some(f) => {
                    if f.is_empty() || f.len() > 7 || !f.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    let mut padded = f.to_string();
                    while padded.len() < 9 {
                        padded.push('0');
                    }
                    padded.parse::<u32>().ok()?
                }
            };
            (s, nanos)
        }
    };
    if parts.next().is_some() {
        return None;
    }
    Time::from_hms_nano(
        u8::try_from(h).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(s).ok()?,
        nanos,
    )
    .ok()
}

fn parse_time_part(tokens: &[&str], am: &str, pm: &str) -> Option<Time> {
    let (clock, designator) = match tokens {
        [c] => {
            // "5:30PM" without a space.
            let split = c
                .find(|ch: char| ch.is_alphabetic())
                .map(|i| (&c[..i], Some(&c[i..])));
            split.unwrap_or((c, None))
        }
        [c, d] => (*c, Some(*d)),
        _ => return None,
    };
    let time = parse_clock(clock)?;
    let Some(d) = designator else {
        return Some(time);
    };
    let is = |name: &str, fallback: &str| {
        (!name.is_empty() && d.eq_ignore_ascii_case(name)) || d.eq_ignore_ascii_case(fallback)
    };
    let hour = time.hour();
    let hour = if is(pm, "PM") {
        match hour {
            1..=11 => hour + 12,
            12 => 12,
            _ => return None,
        }
    } else if is(am, "AM") {
        match hour {
            12 => 0,
            0..=11 => hour,
            _ => return None,
        }
    } else {
        return None;
    };
    time.replace_hour(hour).ok()
}

/// The order of day, month and year in the culture's short date pattern.
fn date_order(pattern: &str) -> [char; 3] {
    let mut order = Vec::with_capacity(3);
    let mut in_quote = false;
    for c in pattern.chars() {
        if c == '\'' {
            in_quote = !in_quote;
        }
        if !in_quote && matches!(c, 'd' | 'M' | 'y') && !order.contains(&c) {
            order.push(c);
        }
    }
    match order.as_slice() {
        [a, b, c] => [*a, *b, *c],
        _ => ['M', 'd', 'y'],
    }
}

fn month_from_name(word: &str, culture: &Culture) -> Option<u32> {
    let w = word.trim_end_matches('.');
    let inv = &Culture::invariant().datetime;
    for dtfi in [&culture.datetime, inv] {
        for (i, (full, abbr)) in dtfi
            .month_names
            .iter()
            .zip(dtfi.abbreviated_month_names.iter())
            .enumerate()
        {
            if w.eq_ignore_ascii_case(full) || w.eq_ignore_ascii_case(abbr.trim_end_matches('.')) {
                return Some(i as u32 + 1);
            }
            if full.to_lowercase() == w.to_lowercase() {
                return Some(i as u32 + 1);
            }
        }
    }
    None
}

fn is_day_name(word: &str, culture: &Culture) -> bool {
    let w = word.trim_end_matches('.').to_lowercase();
    let inv = &Culture::invariant().datetime;
    [&culture.datetime, inv].iter().any(|dtfi| {
        dtfi.day_names
            .iter()
            .chain(dtfi.abbreviated_day_names.iter())
            .any(|n| n.trim_end_matches('.').to_lowercase() == w)
    })
}

fn parse_date_part(text: &str, culture: &Culture) -> Option<Date> {
    if text.chars().any(char::is_alphabetic) {
        // Month-name form: words and numbers in any of the usual orders.
        let mut month = None;
        let mut numbers: Vec<&str> = Vec::new();
        for piece in text.split(|c: char| c.is_whitespace() || c == ',' || c == '/' || c == '-') {
            let piece = piece.trim_end_matches('.');
            if piece.is_empty() || piece.eq_ignore_ascii_case("de") {
                continue;
            }
            if piece.bytes().all(|b| b.is_ascii_digit()) {
                numbers.push(piece);
            } else if let Some(m) = month_from_name(piece, culture) {
                if month.replace(m).is_some() {
                    return None;
                }
            } else if !is_day_name(piece, culture) {
                return None;
            }
        }
        let month = month?;
        let (day_text, year_text) = match numbers.as_slice() {
            [a, b] if a.len() == 4 => (*b, *a),
            [a, b] => (*a, *b),
            _ => return None,
        };
        let day = num(day_text, 2)?;
        let y = num(year_text, 4)?;
        return make_date(full_year(year_text, y), month, day);
    }
    let parts: Vec<&str> = text
        .split(['/', '-', '.', ' '])
        .filter(|p| !p.is_empty())
        .collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let fields = [*a, *b, *c];
    // A four-digit first field is year-first whatever the culture (2009/01/05).
    let order = if a.len() == 4 {
        ['y', 'M', 'd']
    } else {
        date_order(culture.datetime.short_date)
    };
    let (mut y, mut m, mut d) = (None, None, None);
    for (field, kind) in fields.iter().zip(order) {
        match kind {
            'y' => y = Some((num(field, 4)?, *field)),
            'M' => m = Some(num(field, 2)?),
            _ => d = Some(num(field, 2)?),
        }
    }
    let (y, year_text) = y?;
    make_date(full_year(year_text, y), m?, d?)
}
