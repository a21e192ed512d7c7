//! Compiled format plans: a format string and a culture turned once (per report column) into
//! what formatting each value needs, so that streaming a column of 100,000 values does not
//! parse the format 100,000 times.
//!
//! Owns: the choice, at build time, between a fast path and the general formatter, and the fast
//! paths themselves: fixed-point layouts (`N F C P` with or without a precision, `D`, `G`, and
//! the custom `0`, `0.00…`, `#,##0`, `#,##0.00…`) for `Int64` and `Decimal` values as integer
//! arithmetic on the mantissa (a `Double` on the mantissa of its 15 significant digits), and date/time patterns resolved (VB named format, standard
//! letter, culture pattern) and tokenized once. A format the plan does not compile is kept as
//! its string and formatted by the general functions ([`crate::format_vb_into`],
//! [`crate::format_vb_datetime_into`]) on every call.
//!
//! Must not: print anything other than what those functions print, byte for byte (the tests
//! compare them over every culture and a pseudo-random sweep), nor hold formatting rules of its
//! own beyond the layouts above: the rounding (half away from zero on the decimal digits, a
//! zero result signless), the sign patterns and group sizes are the ones `number.rs` and
//! `datetime.rs` apply, taken from the same tables.

use time::PrimitiveDateTime;

use crate::culture::{Culture, DateTimeFormat, NumberFormat};
use crate::number::{
    CURRENCY_NEGATIVE, CURRENCY_POSITIVE, NUMBER_NEGATIVE, Number, PERCENT_NEGATIVE,
    PERCENT_POSITIVE, parse_standard,
};
use crate::{FormatError, Num};

/// A numeric or date/time format string compiled for one culture.
///
/// Build it once per column ([`Plan::number`], [`Plan::datetime`]) and format every value with
/// it ([`Plan::format_num_into`], [`Plan::format_datetime_into`]). The output is what the
/// general functions print for the same format string and culture. A plan built for numbers
/// and given a date (or the other way round) formats through the general function with its
/// format string, so every combination is defined.
#[derive(Debug, Clone)]
pub struct Plan {
    culture: &'static Culture,
    /// The format string as given (the general path's input).
    style: Box<str>,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// `N F C P` and the custom fixed patterns, for `Int64` and `Decimal`.
    Fixed(Fixed),
    /// `D` (with its minimum digit count): an `Int64` plainly; a `Decimal` rejects `D`, so it
    /// prints as [`crate::to_string_in_into`] does (the fallback of [`Plan::format_num_into`]).
    IntD(usize),
    /// `G` without a precision (and the empty format): an `Int64` plainly, a `Decimal` with
    /// its own scale.
    General,
    /// A date/time pattern, tokenized.
    Date(DatePlan),
    /// A date/time format the general formatter rejects: the same error every time (the
    /// rejection depends on the format only, never on the value).
    DateError(FormatError),
    /// Anything else: the general formatter with `style`.
    Other,
}

/// A fixed-point layout: `prefix digits[sep digits] suffix` after rounding to `decimals`.
#[derive(Debug, Clone)]
struct Fixed {
    decimals: u32,
    /// `P`: the value × 100 first.
    percent: bool,
    group_separator: &'static str,
    /// Empty: no grouping.
    group_sizes: &'static [u8],
    decimal_separator: &'static str,
    positive: (Box<str>, Box<str>),
    negative: (Box<str>, Box<str>),
}

/// The most fraction digits a fixed layout is compiled for (a value scaled to it must fit a
/// `u128`: more go the general way).
const MAX_DECIMALS: u32 = 38;

impl Plan {
    /// A plan for numbers formatted as `format_vb_into(out, n, style, culture)` formats them,
    /// with [`crate::to_string_in_into`] where that returns an error.
    pub fn number(style: &str, culture: &'static Culture) -> Plan {
        let kind = number_kind(style, &culture.number).unwrap_or(Kind::Other);
        Plan {
            culture,
            style: style.into(),
            kind,
        }
    }

    /// A plan for date/times formatted as `format_vb_datetime_into(out, dt, style, culture)`
    /// formats them.
    pub fn datetime(style: &str, culture: &'static Culture) -> Plan {
        Plan {
            culture,
            style: style.into(),
            kind: date_kind(style, culture),
        }
    }

    /// Whether the plan took a fast path at build time (`false`: every value goes through the
    /// general formatter).
    pub fn is_compiled(&self) -> bool {
        !matches!(self.kind, Kind::Other)
    }

    /// Appends `n` formatted with the plan's format, exactly as
    ///
    /// ```text
    /// if format_vb_into(out, n, style, culture).is_err() {
    ///     to_string_in_into(out, n, culture);
    /// }
    /// ```
    ///
    /// does: a format .NET rejects for the value's type (`D` on a `Decimal`, `R` on an
    /// `Int64`, an unknown letter) prints the value's own text (`ToString()` in the culture).
    /// A `Double` takes a fixed layout's fast path from its 15 significant digits, as the
    /// general path reads it for those formats; under any other format it goes that way.
    pub fn format_num_into(&self, out: &mut String, n: Num) {
        let nfi = &self.culture.number;
        let done = match (&self.kind, n) {
            (Kind::Fixed(f), Num::Int(v)) => f.push(out, v < 0, u128::from(v.unsigned_abs()), 0),
            (Kind::Fixed(f), Num::Decimal(d)) => f.push(
                out,
                d.is_sign_negative(),
                d.mantissa().unsigned_abs(),
                d.scale(),
            ),
            // a Double's 15 significant digits, as the general path takes them for these
            // formats, then the same layout as a Decimal of those digits (zero, NaN and the
            // infinities go the general way: their signs and symbols are its rules)
            (Kind::Fixed(f), Num::Float(v)) if v.is_finite() && v != 0.0 => {
                if let Some((m, scale)) = Number::short_decimal(v.abs()) {
                    f.push(out, v < 0.0, u128::from(m), scale)
                } else {
                    let num = Number::from_f64(v, 15);
                    num.mantissa_scale()
                        .is_some_and(|(m, scale)| f.push(out, num.negative, m, scale))
                }
            }
            (Kind::IntD(min), Num::Int(v)) => {
                push_int(out, v, *min, nfi);
                true
            }
            (Kind::General, Num::Int(v)) => {
                push_int(out, v, 0, nfi);
                true
            }
            (Kind::General | Kind::IntD(_), Num::Decimal(d)) => {
                let mantissa = d.mantissa().unsigned_abs();
                if d.is_sign_negative() && mantissa != 0 {
                    out.push_str(nfi.negative_sign);
                }
                push_fixed(out, mantissa, d.scale(), "", &[], nfi.decimal_separator);
                true
            }
            _ => false,
        };
        if !done && crate::format_vb_into(out, n, &self.style, self.culture).is_err() {
            crate::to_string_in_into(out, n, self.culture);
        }
    }

    /// Appends `dt` formatted with the plan's format: exactly what
    /// `format_vb_datetime_into(out, dt, style, culture)` appends and returns (on an error
    /// `out` is as it was; the caller keeps its own fallback).
    pub fn format_datetime_into(
        &self,
        out: &mut String,
        dt: PrimitiveDateTime,
    ) -> Result<(), FormatError> {
        match &self.kind {
            Kind::Date(p) => {
                p.push(out, dt);
                Ok(())
            }
            Kind::DateError(e) => Err(e.clone()),
            _ => crate::format_vb_datetime_into(out, dt, &self.style, self.culture),
        }
    }
}

// ---------------------------------------------------------------------------------------
// numbers

/// The fast layout of a numeric format, or None (general path). VB's named formats (`Fixed`,
/// `Standard`, ...) format as a Double, so they are never compiled: none of them parses as a
/// standard format (they are longer than three characters) or is one of the custom shapes.
fn number_kind(style: &str, nfi: &'static NumberFormat) -> Option<Kind> {
    if let Some((letter, digits)) = parse_standard(style) {
        let decimals = |default: u8| {
            if digits < 0 {
                u32::from(default)
            } else {
                digits.unsigned_abs()
            }
        };
        let fixed = match letter {
            'G' | 'g' if digits == -1 => return Some(Kind::General),
            'D' | 'd' => return Some(Kind::IntD(digits.max(0).unsigned_abs() as usize)),
            'N' | 'n' => Fixed {
                decimals: decimals(nfi.decimal_digits),
                percent: false,
                group_separator: nfi.group_separator,
                group_sizes: nfi.group_sizes,
                decimal_separator: nfi.decimal_separator,
                positive: (Box::from(""), Box::from("")),
                negative: layout(
                    NUMBER_NEGATIVE
                        .get(usize::from(nfi.negative_pattern))
                        .copied()
                        .unwrap_or("-n"),
                    nfi,
                    None,
                )?,
            },
            'F' | 'f' => Fixed {
                decimals: decimals(nfi.decimal_digits),
                percent: false,
                group_separator: "",
                group_sizes: &[],
                decimal_separator: nfi.decimal_separator,
                positive: (Box::from(""), Box::from("")),
                negative: (Box::from(nfi.negative_sign), Box::from("")),
            },
            'C' | 'c' => {
                let symbol = Some(('$', nfi.currency_symbol));
                Fixed {
                    decimals: decimals(nfi.currency_decimal_digits),
                    percent: false,
                    group_separator: nfi.currency_group_separator,
                    group_sizes: nfi.currency_group_sizes,
                    decimal_separator: nfi.currency_decimal_separator,
                    positive: layout(
                        CURRENCY_POSITIVE
                            .get(usize::from(nfi.currency_positive_pattern))
                            .copied()
                            .unwrap_or("$n"),
                        nfi,
                        symbol,
                    )?,
                    negative: layout(
                        CURRENCY_NEGATIVE
                            .get(usize::from(nfi.currency_negative_pattern))
                            .copied()
                            .unwrap_or("-$n"),
                        nfi,
                        symbol,
                    )?,
                }
            }
            'P' | 'p' => {
                let symbol = Some(('%', nfi.percent_symbol));
                Fixed {
                    decimals: decimals(nfi.percent_decimal_digits),
                    percent: true,
                    group_separator: nfi.percent_group_separator,
                    group_sizes: nfi.percent_group_sizes,
                    decimal_separator: nfi.percent_decimal_separator,
                    positive: layout(
                        PERCENT_POSITIVE
                            .get(usize::from(nfi.percent_positive_pattern))
                            .copied()
                            .unwrap_or("n %"),
                        nfi,
                        symbol,
                    )?,
                    negative: layout(
                        PERCENT_NEGATIVE
                            .get(usize::from(nfi.percent_negative_pattern))
                            .copied()
                            .unwrap_or("-n %"),
                        nfi,
                        symbol,
                    )?,
                }
            }
            _ => return None,
        };
        return (fixed.decimals <= MAX_DECIMALS).then_some(Kind::Fixed(fixed));
    }
    // the custom shapes `0`, `0.0…`, `#,##0`, `#,##0.0…`: one section, the culture's number
    // separators, the negative sign in front
    let (grouped, rest) = match style.strip_prefix("#,##") {
        Some(rest) => (true, rest),
        None => (false, style),
    };
    let fraction = rest.strip_prefix('0')?;
    let decimals = match fraction.strip_prefix('.') {
        Some(zeros) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => zeros.len(),
        Some(_) => return None,
        None if fraction.is_empty() => 0,
        None => return None,
    };
    let decimals = u32::try_from(decimals)
        .ok()
        .filter(|&d| d <= MAX_DECIMALS)?;
    Some(Kind::Fixed(Fixed {
        decimals,
        percent: false,
        group_separator: nfi.group_separator,
        group_sizes: if grouped { nfi.group_sizes } else { &[] },
        decimal_separator: nfi.decimal_separator,
        positive: (Box::from(""), Box::from("")),
        negative: (Box::from(nfi.negative_sign), Box::from("")),
    }))
}

/// A sign pattern (`-n`, `($n)`, `n %`) as the text before and after the number: `-` is the
/// negative sign, `symbol`'s character its text, anything else itself (as `number_to_string`
/// expands them). None for a pattern without exactly one `n`.
fn layout(
    pattern: &str,
    nfi: &NumberFormat,
    symbol: Option<(char, &str)>,
) -> Option<(Box<str>, Box<str>)> {
    let (mut before, mut after) = (String::new(), String::new());
    let mut seen = false;
    for ch in pattern.chars() {
        if ch == 'n' {
            if seen {
                return None;
            }
            seen = true;
            continue;
        }
        let text = if seen { &mut after } else { &mut before };
        match symbol {
            _ if ch == '-' => text.push_str(nfi.negative_sign),
            Some((c, s)) if c == ch => text.push_str(s),
            _ => text.push(ch),
        }
    }
    seen.then(|| (before.into_boxed_str(), after.into_boxed_str()))
}

/// `10^k` for `k <= 38` (the powers a `u128` holds).
const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut k = 1;
    while k < t.len() {
        t[k] = t[k - 1] * 10;
        k += 1;
    }
    t
};

fn pow10(k: u32) -> Option<u128> {
    POW10.get(k as usize).copied()
}

impl Fixed {
    /// The value `mantissa × 10^-scale` (negative if `negative`) laid out; false when it
    /// does not fit the arithmetic (the general path then formats it).
    fn push(&self, out: &mut String, negative: bool, mantissa: u128, scale: u32) -> bool {
        let Some(r) = self.scaled(mantissa, scale) else {
            return false;
        };
        // a value that rounds to zero loses its sign
        let (before, after) = if negative && r != 0 {
            &self.negative
        } else {
            &self.positive
        };
        push_text(out, before);
        push_fixed(
            out,
            r,
            self.decimals,
            self.group_separator,
            self.group_sizes,
            self.decimal_separator,
        );
        push_text(out, after);
        true
    }

    /// The value × 10^decimals, rounded half away from zero on the first dropped digit
    /// (Framework's `RoundNumber`).
    fn scaled(&self, mantissa: u128, scale: u32) -> Option<u128> {
        let (mut m, mut s) = (mantissa, scale);
        if self.percent && m != 0 {
            if s >= 2 {
                s -= 2;
            } else {
                m = m.checked_mul(pow10(2 - s)?)?;
                s = 0;
            }
        }
        let d = self.decimals;
        if s <= d {
            return m.checked_mul(pow10(d - s)?);
        }
        let k = s - d;
        // the common cases in u64 (a u128 division is a library call)
        if let Ok(m64) = u64::try_from(m)
            && k <= 19
        {
            let p = POW10[k as usize] as u64;
            let (q, rem) = (m64 / p, m64 % p);
            return Some(u128::from(if rem >= p / 2 { q + 1 } else { q }));
        }
        let p = pow10(k)?;
        let (q, rem) = (m / p, m % p);
        Some(if rem >= p / 2 { q + 1 } else { q })
    }
}

/// `r` as a fixed-point number with `decimals` fraction digits: at least one integer digit,
/// integer digits grouped by `sizes` (Framework's `FormatFixed`; empty sizes: no groups).
fn push_fixed(
    out: &mut String,
    r: u128,
    decimals: u32,
    group_separator: &str,
    sizes: &[u8],
    decimal_separator: &str,
) {
    // u128::MAX has 39 digits; decimals <= 38 pads to at most 39
    let mut buf = [b'0'; 40];
    let end = buf.len();
    let mut at = end;
    let mut v = r;
    while v > u128::from(u64::MAX) {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    at = digits_u64(&mut buf, at, v as u64);
    let decimals = (decimals as usize).min(end - 1);
    let start = at.min(end - decimals - 1);
    let (int, frac) = buf[start..].split_at(end - decimals - start);
    // one growth check for the digits (the separators may add more)
    out.reserve(int.len() + frac.len() + 2);
    push_grouped(out, int, group_separator, sizes);
    if decimals > 0 {
        push_text(out, decimal_separator);
        push_ascii(out, frac);
    }
}

/// `number::plain_int_into` (`D`, and `G` of an `Int64`): the sign, zeros up to
/// `min_digits`, the digits.
fn push_int(out: &mut String, v: i64, min_digits: usize, nfi: &NumberFormat) {
    let mut buf = [0u8; 20];
    let at = digits_u64(&mut buf, 20, v.unsigned_abs());
    if v < 0 {
        push_text(out, nfi.negative_sign);
    }
    for _ in buf.len() - at..min_digits {
        out.push('0');
    }
    push_ascii(out, &buf[at..]);
}

/// `"00" "01" … "99"`.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// Writes `n`'s decimal digits (at least one) into `buf` so that they end just before `at`,
/// two at a time; returns where they start (`buf[..at]` must hold 20 bytes).
fn digits_u64(buf: &mut [u8], mut at: usize, mut n: u64) -> usize {
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + n as u8;
    }
    at
}

/// ASCII bytes pushed as characters (no UTF-8 check, no copy call per run).
fn push_ascii(out: &mut String, ascii: &[u8]) {
    for &b in ascii {
        out.push(char::from(b));
    }
}

/// A separator or sign: one ASCII byte as a character, anything else as text.
fn push_text(out: &mut String, s: &str) {
    match s.as_bytes() {
        [] => {}
        &[b] => out.push(char::from(b)),
        _ => out.push_str(s),
    }
}

/// Integer digits with a separator after each group, groups counted from the right by
/// `sizes` (the last size repeats; a 0 size ends grouping) — `number::push_grouped`'s rule.
fn push_grouped(out: &mut String, int: &[u8], separator: &str, sizes: &[u8]) {
    let len = int.len();
    let first = sizes.first().map_or(0, |&s| usize::from(s));
    if first == 0 || len <= first {
        push_ascii(out, int);
        return;
    }
    if sizes.len() == 1 {
        // one size (every culture here: 3): a short head, then whole groups
        let head = match len % first {
            0 => first,
            h => h,
        };
        push_ascii(out, &int[..head]);
        for group in int[head..].chunks(first) {
            push_text(out, separator);
            push_ascii(out, group);
        }
        return;
    }
    // cut points from the left, found from the right
    let mut cuts = [0usize; 40];
    let mut count = 0;
    let mut total = 0usize;
    for idx in 0.. {
        let size = usize::from(sizes[idx.min(sizes.len() - 1)]);
        total += size;
        if size == 0 || total >= len || count == cuts.len() {
            break;
        }
        cuts[count] = len - total;
        count += 1;
    }
    let mut from = 0;
    for &cut in cuts[..count].iter().rev() {
        push_ascii(out, &int[from..cut]);
        push_text(out, separator);
        from = cut;
    }
    push_ascii(out, &int[from..]);
}

// ---------------------------------------------------------------------------------------
// dates

/// A date/time pattern as tokens; literal text lives in `text`.
#[derive(Debug, Clone)]
struct DatePlan {
    tokens: Vec<Token>,
    /// A token reads the year, month or day (one calendar conversion per value).
    needs_date: bool,
}

/// One token of a custom date/time pattern (`pad`: two digits, else one or two).
#[derive(Debug, Clone)]
enum Token {
    /// Text as it is (adjacent literal text merged).
    Literal(Box<str>),
    Hour12(bool),
    Hour24(bool),
    Minute(bool),
    Second(bool),
    Day(bool),
    DayName(&'static [&'static str; 7]),
    Month(bool),
    MonthName(&'static [&'static str; 12]),
    /// `y`, `yy`: the year modulo 100.
    Year2(bool),
    /// `yyy`..: the year padded to this many digits.
    Year(usize),
    /// `f…` (`trim` false) or `F…` (`trim`: trailing zeros dropped, and with them a `.` this
    /// pattern wrote just before, unless `pop` is false: inside `%F`).
    Fraction {
        digits: u8,
        trim: bool,
        pop: bool,
    },
    /// `t` (first characters) or `tt`.
    Designator(&'static str, &'static str),
}

/// Any valid date the calendar conversions accept, for finding a format's error once.
const PROBE: PrimitiveDateTime = time::macros::datetime!(2001-02-03 04:05:06.007);

fn date_kind(style: &str, culture: &'static Culture) -> Kind {
    let dtfi = &culture.datetime;
    let format = crate::vb::named_datetime(style);
    // the general formatter's rejection (it depends on the format only): replayed per call
    let mut probe = String::new();
    if let Err(e) = crate::datetime::format_into(&mut probe, PROBE, format, dtfi) {
        return Kind::DateError(e);
    }
    let Ok((pattern, info)) = crate::datetime::resolve(format, dtfi) else {
        return Kind::Other;
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut plan = DatePlan {
        tokens: Vec::new(),
        needs_date: false,
    };
    if plan.compile(&chars, info, true).is_none() {
        return Kind::Other;
    }
    plan.needs_date = plan.tokens.iter().any(|t| {
        matches!(
            t,
            Token::Day(_)
                | Token::Month(_)
                | Token::MonthName(_)
                | Token::Year2(_)
                | Token::Year(_)
        )
    });
    Kind::Date(plan)
}

impl DatePlan {
    fn literal(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(Token::Literal(last)) = self.tokens.last_mut() {
            *last = format!("{last}{s}").into_boxed_str();
        } else {
            self.tokens.push(Token::Literal(s.into()));
        }
    }

    fn char_literal(&mut self, c: char) {
        self.literal(c.encode_utf8(&mut [0; 4]));
    }

    /// Framework's `FormatCustomized` (as `datetime::custom_chars` reads it) into tokens.
    /// `top`: the pattern itself, not the one character after a `%`. None where the pattern
    /// is rejected (never, once the general formatter accepted it).
    fn compile(&mut self, f: &[char], dtfi: &'static DateTimeFormat, top: bool) -> Option<()> {
        let mut i = 0;
        while i < f.len() {
            let ch = f[i];
            let run = f[i..].iter().take_while(|&&c| c == ch).count();
            let pad = run >= 2;
            let mut token_len = run;
            match ch {
                'g' => self.literal(dtfi.era),
                'h' => self.tokens.push(Token::Hour12(pad)),
                'H' => self.tokens.push(Token::Hour24(pad)),
                'm' => self.tokens.push(Token::Minute(pad)),
                's' => self.tokens.push(Token::Second(pad)),
                'f' | 'F' => {
                    if run > 7 {
                        return None;
                    }
                    self.tokens.push(Token::Fraction {
                        digits: run as u8,
                        trim: ch == 'F',
                        pop: top,
                    });
                }
                't' => {
                    let first = |s: &'static str| &s[..s.chars().next().map_or(0, char::len_utf8)];
                    self.tokens.push(if run == 1 {
                        Token::Designator(first(dtfi.am), first(dtfi.pm))
                    } else {
                        Token::Designator(dtfi.am, dtfi.pm)
                    });
                }
                'd' => self.tokens.push(match run {
                    1 | 2 => Token::Day(pad),
                    3 => Token::DayName(&dtfi.abbreviated_day_names),
                    _ => Token::DayName(&dtfi.day_names),
                }),
                'M' => self.tokens.push(match run {
                    1 | 2 => Token::Month(pad),
                    3 => Token::MonthName(&dtfi.abbreviated_month_names),
                    _ => Token::MonthName(&dtfi.month_names),
                }),
                'y' => match run {
                    1 | 2 => self.tokens.push(Token::Year2(pad)),
                    3..=20 => self.tokens.push(Token::Year(run)),
                    _ => return None,
                },
                'z' => self.literal(match run {
                    1 => "+0",
                    2 => "+00",
                    _ => "+00:00",
                }),
                'K' => token_len = 1,
                ':' => {
                    token_len = 1;
                    self.literal(dtfi.time_separator);
                }
                '/' => {
                    token_len = 1;
                    self.literal(dtfi.date_separator);
                }
                '\'' | '"' => {
                    let mut p = i + 1;
                    let mut found = false;
                    while p < f.len() {
                        let c = f[p];
                        p += 1;
                        if c == ch {
                            found = true;
                            break;
                        } else if c == '\\' {
                            let n = *f.get(p)?;
                            self.char_literal(n);
                            p += 1;
                        } else {
                            self.char_literal(c);
                        }
                    }
                    if !found {
                        return None;
                    }
                    token_len = p - i;
                }
                '%' => match f.get(i + 1) {
                    Some(&n) if n != '%' => {
                        self.compile(&[n], dtfi, false)?;
                        token_len = 2;
                    }
                    _ => return None,
                },
                '\\' => {
                    self.char_literal(*f.get(i + 1)?);
                    token_len = 2;
                }
                c => {
                    token_len = 1;
                    self.char_literal(c);
                }
            }
            i += token_len.max(1);
        }
        Some(())
    }

    fn push(&self, out: &mut String, dt: PrimitiveDateTime) {
        // what was in `out` before: not this pattern's to change
        let base = out.len();
        let (year, month, day) = if self.needs_date {
            dt.to_calendar_date()
        } else {
            (0, time::Month::January, 1)
        };
        for token in &self.tokens {
            match *token {
                Token::Literal(ref text) => push_text(out, text),
                Token::Hour12(pad) => {
                    let h = dt.hour() % 12;
                    push2(out, if h == 0 { 12 } else { h }, pad);
                }
                Token::Hour24(pad) => push2(out, dt.hour(), pad),
                Token::Minute(pad) => push2(out, dt.minute(), pad),
                Token::Second(pad) => push2(out, dt.second(), pad),
                Token::Day(pad) => push2(out, day, pad),
                Token::DayName(names) => {
                    out.push_str(names[usize::from(dt.weekday().number_days_from_sunday())]);
                }
                Token::Month(pad) => push2(out, u8::from(month), pad),
                Token::MonthName(names) => out.push_str(names[usize::from(u8::from(month)) - 1]),
                Token::Year2(pad) => push2(out, (year % 100).unsigned_abs() as u8, pad),
                Token::Year(run) => {
                    if run == 4 && (0..10_000).contains(&year) {
                        let y = year.unsigned_abs() as u16;
                        push2(out, (y / 100) as u8, true);
                        push2(out, (y % 100) as u8, true);
                    } else if year >= 0 {
                        crate::datetime::push_padded(out, u64::from(year.unsigned_abs()), run);
                    } else {
                        // as the general formatter: year.ToString("D" + run, Invariant)
                        let spec = format!("D{run}");
                        let y = Num::Int(i64::from(year));
                        let inv = &Culture::invariant().number;
                        let s = crate::number::format(y, &spec, inv)
                            .unwrap_or_else(|_| year.to_string());
                        out.push_str(&s);
                    }
                }
                Token::Fraction { digits, trim, pop } => {
                    // .NET ticks are 100 ns
                    let mut digits = u32::from(digits);
                    let mut fraction = (dt.nanosecond() / 100) / 10u32.pow(7 - digits);
                    if trim {
                        while digits > 0 && fraction.is_multiple_of(10) {
                            fraction /= 10;
                            digits -= 1;
                        }
                    }
                    if digits > 0 {
                        crate::datetime::push_padded(out, u64::from(fraction), digits as usize);
                    } else if pop && out.len() > base && out.ends_with('.') {
                        out.pop();
                    }
                }
                Token::Designator(am, pm) => push_text(out, if dt.hour() < 12 { am } else { pm }),
            }
        }
    }
}

/// `v` (< 100) as one or two digits, or always two when `pad`.
fn push2(out: &mut String, v: u8, pad: bool) {
    let (tens, ones) = (v / 10, v % 10);
    if tens > 0 || pad {
        out.push(char::from(b'0' + tens));
    }
    out.push(char::from(b'0' + ones));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decimal;
    use time::{Date, Month, Time};

    use crate::number::tests::Rng;

    fn cultures() -> Vec<&'static Culture> {
        let all: Vec<_> = Culture::names()
            .map(|n| Culture::get(n).expect("a listed culture"))
            .collect();
        for name in ["", "en-US", "de-DE", "fr-FR", "ja-JP"] {
            assert!(all.iter().any(|c| c.name == name), "{name} missing");
        }
        all
    }

    /// The engine's two calls the plan replaces.
    fn old_number(n: Num, style: &str, culture: &'static Culture) -> String {
        let mut out = String::from("<");
        if crate::format_vb_into(&mut out, n, style, culture).is_err() {
            crate::to_string_in_into(&mut out, n, culture);
        }
        out
    }

    fn plan_number(plan: &Plan, n: Num) -> String {
        let mut out = String::from("<");
        plan.format_num_into(&mut out, n);
        out
    }

    fn old_date(
        dt: PrimitiveDateTime,
        style: &str,
        c: &'static Culture,
    ) -> (String, Result<(), FormatError>) {
        let mut out = String::from("<");
        let r = crate::format_vb_datetime_into(&mut out, dt, style, c);
        (out, r)
    }

    fn plan_date(plan: &Plan, dt: PrimitiveDateTime) -> (String, Result<(), FormatError>) {
        let mut out = String::from("<");
        let r = plan.format_datetime_into(&mut out, dt);
        (out, r)
    }

    const NUMBER_FORMATS: &[&str] = &[
        "",
        "G",
        "g",
        "G0",
        "G5",
        "g29",
        "N",
        "N0",
        "N1",
        "N2",
        "N5",
        "N28",
        "N38",
        "N39",
        "N99",
        "n3",
        "F",
        "F0",
        "F2",
        "F10",
        "f4",
        "F38",
        "C",
        "C0",
        "C2",
        "c3",
        "C30",
        "P",
        "P0",
        "P1",
        "p2",
        "P36",
        "D",
        "D0",
        "D5",
        "D20",
        "D99",
        "d3",
        "X",
        "x8",
        "E",
        "e2",
        "R",
        "Z",
        "Q3",
        "0",
        "00",
        "0.0",
        "0.00",
        "0.000000",
        "0.00000000000000000000000000000",
        "#,##0",
        "#,##0.00",
        "#,##0.0000",
        "#,##0.",
        "0.",
        "0.0#",
        "#,##0.00;(#,##0.00)",
        "#,###",
        "$#,##0.00",
        "#,##0.00 ",
        "#,##0.0a",
        "#,##",
        "#,##0,",
        "Standard",
        "Fixed",
        "Currency",
        "Percent",
        "General Number",
        "Scientific",
        "Yes/No",
        "On/Off",
        "True/False",
        "N123",
        "N-1",
    ];

    /// The formats the plan must compile (the fast paths the task promises).
    const FAST_NUMBER_FORMATS: &[&str] = &[
        "",
        "G",
        "N",
        "N0",
        "N2",
        "n3",
        "F",
        "F2",
        "C",
        "C0",
        "c3",
        "P",
        "P1",
        "D",
        "D5",
        "0",
        "0.00",
        "#,##0",
        "#,##0.00",
        "#,##0.0000",
    ];

    fn dec(s: &str) -> Num {
        Num::Decimal(s.parse::<Decimal>().expect("a decimal literal"))
    }

    fn number_values() -> Vec<Num> {
        let mut v: Vec<Num> = [
            0i64,
            1,
            -1,
            5,
            9,
            10,
            99,
            100,
            999,
            1000,
            -1000,
            9999,
            12345,
            -12345,
            1_234_567,
            -1_234_567,
            1_000_000_000_000_000_000,
            -999_999_999_999_999_999,
            i64::MAX,
            i64::MAX - 1,
            i64::MIN,
            i64::MIN + 1,
        ]
        .into_iter()
        .map(Num::Int)
        .collect();
        for s in [
            "0",
            "-0",
            "0.00",
            "-0.00",
            "0.005",
            "-0.005",
            "0.004999",
            "0.0049",
            "2.5",
            "-2.5",
            "0.5",
            "-0.5",
            "1.5",
            "1.005",
            "-1.005",
            "0.995",
            "9.995",
            "99.995",
            "999.995",
            "-999.995",
            "999999.995",
            "1234.5678",
            "-1234.5678",
            "1234.5",
            "0.1",
            "-0.1",
            "123456789.123456789",
            "0.0000000000000000000000000001",
            "-0.0000000000000000000000000001",
            "0.0000000000000000000000000005",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "7922816251426433759354395033.5",
            "7.9228162514264337593543950335",
            "1.0000000000000000000000000000",
            "0.9999999999999999999999999999",
            "1.50",
            "100.000",
            "-0.0050",
        ] {
            v.push(dec(s));
        }
        let max = Decimal::MAX.mantissa();
        for scale in 0..=28u32 {
            for m in [
                1i128,
                4,
                5,
                15,
                49,
                50,
                51,
                95,
                149,
                150,
                994,
                995,
                12_345_678_901_234_567_890,
                i128::from(u64::MAX),
                i128::from(u64::MAX) + 1,
                max,
                max - 5,
            ] {
                v.push(Num::Decimal(Decimal::from_i128_with_scale(m, scale)));
                v.push(Num::Decimal(Decimal::from_i128_with_scale(-m, scale)));
            }
        }
        for f in [
            0.0,
            -0.0,
            1.5,
            -2.5,
            0.005,
            1234.5678,
            -1e20,
            1e300,
            f64::NAN,
            f64::INFINITY,
        ] {
            v.push(Num::Float(f));
        }
        v
    }

    #[test]
    fn numbers_print_as_the_general_path() {
        let values = number_values();
        let mut failures = Vec::new();
        for culture in cultures() {
            for &style in NUMBER_FORMATS {
                let plan = Plan::number(style, culture);
                for &n in &values {
                    let (want, got) = (old_number(n, style, culture), plan_number(&plan, n));
                    if want != got && failures.len() < 20 {
                        failures.push(format!(
                            "{n:?} {style:?} {}: plan {got:?}, general {want:?}",
                            culture.name
                        ));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn the_promised_formats_are_compiled() {
        for culture in cultures() {
            for &style in FAST_NUMBER_FORMATS {
                let plan = Plan::number(style, culture);
                assert!(
                    matches!(plan.kind, Kind::Fixed(_) | Kind::General | Kind::IntD(_)),
                    "{style:?} {}: {:?}",
                    culture.name,
                    plan.kind
                );
            }
            // named VB formats format as a Double: never compiled
            for style in ["Standard", "fixed", "Currency", "Percent", "General Number"] {
                assert!(!Plan::number(style, culture).is_compiled(), "{style}");
            }
        }
        // and their output is the real thing, not only equal to it
        let c = Culture::en_us();
        let de = Culture::get("de-DE").unwrap();
        let fr = Culture::get("fr-FR").unwrap();
        assert_eq!(
            plan_number(&Plan::number("N2", c), dec("-1234.565")),
            "<-1,234.57"
        );
        assert_eq!(
            plan_number(&Plan::number("C", c), dec("-1234.565")),
            "<($1,234.57)"
        );
        assert_eq!(
            plan_number(&Plan::number("C", de), dec("-1234.5")),
            "<-1.234,50 \u{20ac}"
        );
        assert_eq!(
            plan_number(&Plan::number("N2", fr), Num::Int(1234567)),
            "<1\u{a0}234\u{a0}567,00"
        );
        assert_eq!(
            plan_number(&Plan::number("P1", c), dec("0.12345")),
            "<12.3 %"
        );
        assert_eq!(plan_number(&Plan::number("F2", c), dec("-0.004")), "<0.00");
        assert_eq!(plan_number(&Plan::number("D", c), dec("1.50")), "<1.50");
        assert_eq!(
            plan_number(&Plan::number("G", c), dec("-0.0050")),
            "<-0.0050"
        );
    }

    /// Other group sizes than the tables' `[3]`: the generic grouping against number.rs.
    #[test]
    fn other_group_sizes_group_as_the_general_path() {
        let sizes: [&'static [u8]; 6] = [&[3, 2], &[1], &[2, 3, 0], &[0], &[], &[4, 1]];
        let base = Culture::en_us();
        for sizes in sizes {
            let culture: &'static Culture = Box::leak(Box::new(Culture {
                number: NumberFormat {
                    group_sizes: sizes,
                    currency_group_sizes: sizes,
                    percent_group_sizes: sizes,
                    negative_pattern: 4,
                    ..base.number.clone()
                },
                ..base.clone()
            }));
            for style in ["N2", "C", "P0", "#,##0.00", "#,##0", "N0"] {
                let plan = Plan::number(style, culture);
                assert!(plan.is_compiled());
                for n in number_values() {
                    assert_eq!(
                        plan_number(&plan, n),
                        old_number(n, style, culture),
                        "{n:?} {style} {sizes:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_pseudo_random_sweep_prints_as_the_general_path() {
        let styles = [
            "N2",
            "N0",
            "N4",
            "F2",
            "F0",
            "C",
            "P",
            "P2",
            "D",
            "D8",
            "G",
            "0.00",
            "#,##0",
            "#,##0.00",
            "#,##0.000",
            "0",
        ];
        let cultures = [
            Culture::en_us(),
            Culture::get("de-DE").unwrap(),
            Culture::get("fr-FR").unwrap(),
        ];
        let plans: Vec<_> = cultures
            .iter()
            .flat_map(|&c| styles.iter().map(move |&s| (Plan::number(s, c), s, c)))
            .collect();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for i in 0..100_000 {
            let n = match i % 4 {
                3 => {
                    // doubles of every magnitude, and short decimals as a database's REAL holds
                    let x = f64::from_bits(rng.next());
                    if x.is_finite() && rng.below(2) == 0 {
                        Num::Float(x)
                    } else {
                        let cents = (rng.next() >> rng.below(64)) as i64;
                        let x = cents as f64 / 10f64.powi(rng.below(6) as i32);
                        Num::Float(if rng.below(2) == 0 { x } else { -x })
                    }
                }
                0 => {
                    let bits = rng.below(64);
                    Num::Int((rng.next() >> bits) as i64)
                }
                _ => {
                    let bits = 1 + rng.below(96) as u32;
                    let m = (u128::from(rng.next()) << 64 | u128::from(rng.next())) >> (128 - bits);
                    let m = i128::try_from(m).unwrap();
                    let scale = rng.below(29) as u32;
                    let m = if rng.below(2) == 0 { m } else { -m };
                    Num::Decimal(Decimal::from_i128_with_scale(m, scale))
                }
            };
            // each value through a few of the plans (all of them would take minutes in debug)
            for _ in 0..4 {
                let (plan, style, culture) = &plans[rng.below(plans.len() as u64) as usize];
                assert_eq!(
                    plan_number(plan, n),
                    old_number(n, style, culture),
                    "{n:?} {style} {}",
                    culture.name
                );
            }
        }
    }

    const DATE_FORMATS: &[&str] = &[
        "",
        "d",
        "D",
        "f",
        "F",
        "g",
        "G",
        "m",
        "M",
        "t",
        "T",
        "y",
        "Y",
        "s",
        "u",
        "o",
        "O",
        "r",
        "R",
        "U",
        "K",
        "z",
        "Q",
        "x",
        "General Date",
        "Long Date",
        "Medium Date",
        "Short Date",
        "Long Time",
        "Medium Time",
        "Short Time",
        "short date",
        "LONG TIME",
        "yyyy-MM-dd HH:mm:ss",
        "MMM d, yyyy",
        "dddd",
        "ddd",
        "dd",
        "%d",
        "%M",
        "%y",
        "%h",
        "%H",
        "%m",
        "%s",
        "%F",
        "%f",
        "%t",
        "%K",
        "%z",
        "%g",
        "%/",
        "%:",
        "%'",
        "%\\",
        "%",
        "%%",
        "%dd",
        "a%",
        "HH:mm:ss.fff",
        "HH:mm:ss.FFF",
        "ss.FFFFFFF",
        "ss'.'FFF",
        "ss\\.FFF",
        "s.F",
        ".%F",
        "ss.%F",
        ".F",
        "F.F",
        "fffffff",
        "FFFFFFF",
        "ffffffff",
        "FFFFFFFF",
        "'literal' yyyy",
        "\"dq\" MM",
        "'a\\'b' d",
        "'a\\",
        "'unterminated",
        "yyyy\\",
        "\\'",
        "\\d\\\\",
        "h:mm tt",
        "h:mm t",
        "hh hhh HHH",
        "y yy yyy yyyy yyyyy",
        "yyyyyyyyyyyyyyyyyyyy",
        "yyyyyyyyyyyyyyyyyyyyy",
        "MMMM MMMMM",
        "dd/MM/yyyy",
        "g gg",
        "z zz zzz",
        "KK",
        "\u{65e5}\u{4ed8}: yyyy\u{5e74}M\u{6708}",
        "d.M.yyyy",
        "dd-MMM-yy",
        "mm:ss",
        "H:m:s",
    ];

    fn date_values() -> Vec<PrimitiveDateTime> {
        let at = |y, m, d, h, mi, s, ns| {
            Date::from_calendar_date(y, m, d)
                .unwrap()
                .with_time(Time::from_hms_nano(h, mi, s, ns).unwrap())
        };
        let mut v = vec![
            at(1, Month::January, 1, 0, 0, 0, 0),
            at(1, Month::January, 1, 13, 0, 0, 0),
            at(9999, Month::December, 31, 23, 59, 59, 999_999_999),
            at(2000, Month::February, 29, 0, 0, 0, 0),
            at(2024, Month::February, 29, 12, 0, 0, 0),
            at(2023, Month::March, 5, 0, 0, 0, 100),
            at(2023, Month::March, 5, 12, 0, 0, 1_200_000),
            at(2023, Month::November, 25, 11, 59, 59, 120_000_000),
            at(1999, Month::December, 31, 23, 59, 59, 500_000_000),
            at(99, Month::July, 4, 9, 5, 3, 0),
            at(100, Month::July, 4, 21, 5, 3, 7_654_321),
            at(-1, Month::June, 15, 1, 2, 3, 0),
            at(-9999, Month::January, 1, 0, 0, 0, 0),
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2_000 {
            let date = Date::from_julian_day(
                Date::from_calendar_date(1, Month::January, 1)
                    .unwrap()
                    .to_julian_day()
                    + rng.below(3_652_059) as i32,
            )
            .unwrap();
            let ns = match rng.below(3) {
                0 => 0,
                1 => rng.below(1000) as u32 * 1_000_000,
                _ => rng.below(1_000_000_000) as u32,
            };
            let time = Time::from_hms_nano(
                rng.below(24) as u8,
                rng.below(60) as u8,
                rng.below(60) as u8,
                ns,
            )
            .unwrap();
            v.push(date.with_time(time));
        }
        v
    }

    #[test]
    fn dates_print_as_the_general_path() {
        let values = date_values();
        let mut failures = Vec::new();
        for culture in cultures() {
            for &style in DATE_FORMATS {
                let plan = Plan::datetime(style, culture);
                for &dt in &values {
                    let (want, got) = (old_date(dt, style, culture), plan_date(&plan, dt));
                    if want != got && failures.len() < 20 {
                        failures.push(format!(
                            "{dt} {style:?} {}: plan {got:?}, general {want:?}",
                            culture.name
                        ));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn date_formats_are_compiled_and_errors_replayed() {
        for culture in cultures() {
            for &style in DATE_FORMATS {
                let plan = Plan::datetime(style, culture);
                // only the 21-y year (the number formatter's) is left to the general path
                assert_eq!(
                    plan.is_compiled(),
                    style != "yyyyyyyyyyyyyyyyyyyyy",
                    "{style:?}: {:?}",
                    plan.kind
                );
            }
        }
        let c = Culture::en_us();
        let dt = date_values()[4];
        assert_eq!(
            plan_date(&Plan::datetime("d", c), dt),
            ("<2/29/2024".into(), Ok(()))
        );
        assert_eq!(
            plan_date(&Plan::datetime("G", c), dt),
            ("<2/29/2024 12:00:00 PM".into(), Ok(()))
        );
        for (style, reason) in [
            ("'open", "a quote without its closing quote"),
            ("ffffffff", "more than seven f/F fraction digits"),
            ("%%", "a % not followed by one format character"),
        ] {
            let (out, r) = plan_date(&Plan::datetime(style, c), dt);
            assert_eq!(out, "<");
            assert_eq!(
                r,
                Err(FormatError::InvalidDateTimeFormat {
                    format: style.into(),
                    reason
                })
            );
        }
        assert_eq!(
            plan_date(&Plan::datetime("Q", c), dt).1,
            Err(FormatError::InvalidSpecifier {
                format: "Q".into(),
                value_type: "DateTime"
            })
        );
    }

    /// `Plan::number("G")` (or `""`) is also what `to_string_in_into` prints: the engine's
    /// call for a value without a format.
    #[test]
    fn the_g_plan_is_to_string_in() {
        for culture in cultures() {
            let (g, empty) = (Plan::number("G", culture), Plan::number("", culture));
            assert!(g.is_compiled() && empty.is_compiled());
            for n in number_values() {
                let mut want = String::from("<");
                crate::to_string_in_into(&mut want, n, culture);
                assert_eq!(plan_number(&g, n), want, "{n:?} {}", culture.name);
                assert_eq!(plan_number(&empty, n), want, "{n:?} {}", culture.name);
            }
        }
    }

    #[test]
    fn a_plan_given_the_other_type_formats_as_the_general_function() {
        let c = Culture::en_us();
        let dt = date_values()[5];
        for style in ["N2", "d", "yyyy", "#,##0", "Q"] {
            let number = Plan::number(style, c);
            assert_eq!(plan_date(&number, dt), old_date(dt, style, c), "{style}");
            let date = Plan::datetime(style, c);
            for n in [Num::Int(-42), dec("1234.567"), Num::Float(0.25)] {
                assert_eq!(
                    plan_number(&date, n),
                    old_number(n, style, c),
                    "{style} {n:?}"
                );
            }
        }
    }
}
