//! Numeric formatting: standard (`C D E F G N P R X`) and custom (`0 # . , % ‰ E0 ; 'lit'`)
//! format strings, as .NET Framework 4.x's `Number.Formatting` does it.
//!
//! Owns: the decimal digit model (.NET's internal `NUMBER`: digits `d1 d2 ...` meaning
//! `0.d1d2... × 10^scale`), conversion of `i64`/`f64`/`Decimal` into it, .NET's rounding
//! (half away from zero on the decimal digits; doubles first cut to 15 significant digits),
//! and the section/sign rules of custom formats.
//!
//! Must not: panic on any format string. Every index into the format is checked.
//!
//! .NET Framework behaviours kept on purpose (they differ from .NET Core 3.0+):
//! - a value that rounds to zero loses its sign: `(-0.001).ToString("F2")` is `0.00`
//!   (`dotnet/core#4273`: Framework prints `0` for `(-0.1).ToString("0")`);
//! - `Double` formats with 15 significant digits (`G`, `N`, custom), 17 only for `R`
//!   fallback, `E` with precision > 14 and `G` with precision > 15;
//! - a format like `N-1` or `N123` is not a standard format: it is a custom format whose
//!   letters are literals (Framework's `ParseFormatSpecifier` accepts 0-2 digits only);
//! - `R` is accepted for `Double` only, `D`/`X` for integers only (others: `FormatException`).

use rust_decimal::Decimal;

use crate::culture::NumberFormat;
use crate::{FormatError, Num};

/// .NET's `NUMBER`: `digits` are ASCII digits without a terminator; value =
/// `0.digits × 10^scale`. Empty `digits` means zero.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub(crate) negative: bool,
    pub(crate) digits: Digits,
    pub(crate) scale: i32,
    /// Significant digits of the source type (15 double, 19 Int64, 29 Decimal).
    precision: i32,
    is_decimal: bool,
}

/// A number's significant digits, held inline (no allocation per formatted number): a
/// Decimal has at most 29, an Int64 19, a Double 17 (and rounding adds one to none).
#[derive(Clone, Copy)]
pub(crate) struct Digits {
    buf: [u8; DIGITS_MAX],
    len: u8,
}

const DIGITS_MAX: usize = 40;

impl Digits {
    pub(crate) const fn new() -> Digits {
        Digits {
            buf: [0; DIGITS_MAX],
            len: 0,
        }
    }

    /// Appends a digit (one past the room, which no number has, is dropped).
    pub(crate) fn push(&mut self, d: u8) {
        if let Some(slot) = self.buf.get_mut(usize::from(self.len)) {
            *slot = d;
            self.len += 1;
        }
    }

    pub(crate) fn pop(&mut self) -> Option<u8> {
        let last = self.last().copied()?;
        self.len -= 1;
        Some(last)
    }

    pub(crate) fn truncate(&mut self, n: usize) {
        self.len = self.len.min(u8::try_from(n).unwrap_or(u8::MAX));
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    pub(crate) fn extend_from_slice(&mut self, ds: &[u8]) {
        for &d in ds {
            self.push(d);
        }
    }

    #[cfg(test)]
    pub(crate) fn as_slice(&self) -> &[u8] {
        self
    }
}

impl std::ops::Deref for Digits {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

impl std::ops::DerefMut for Digits {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for Digits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(self).unwrap_or("?"))
    }
}

/// `v`'s decimal digits appended to `out`, without a String per number.
fn push_u128(out: &mut Digits, v: u128) {
    let mut buf = [0u8; 40];
    let mut at = buf.len();
    let mut n = v;
    // the u64 division is much cheaper: use it once the value fits
    while n > u128::from(u64::MAX) {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let at = digits_before(&mut buf, at, n as u64);
    out.extend_from_slice(&buf[at..]);
}

/// Writes `n`'s decimal digits (at least one) into `buf` so that they end just before
/// `at`; returns where they start. `buf[..at]` must have room for them (20 bytes do).
#[inline]
pub(crate) fn digits_before(buf: &mut [u8], mut at: usize, mut n: u64) -> usize {
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return at;
        }
    }
}

/// A decimal exponent's text (`7`, `-7`, `+21`), or None.
fn parse_exponent(s: &[u8]) -> Option<i32> {
    let (negative, ds) = match s {
        [b'-', ds @ ..] => (true, ds),
        [b'+', ds @ ..] => (false, ds),
        ds => (false, ds),
    };
    if ds.is_empty() || ds.len() > 4 {
        return None;
    }
    let mut e = 0i32;
    for &d in ds {
        if !d.is_ascii_digit() {
            return None;
        }
        e = e * 10 + i32::from(d - b'0');
    }
    Some(if negative { -e } else { e })
}

/// Text written on the stack (`write!` fails past its room).
struct StackText {
    buf: [u8; 64],
    len: usize,
}

impl StackText {
    fn new() -> StackText {
        StackText {
            buf: [0; 64],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl Number {
    /// The digit at `i`, or 0 (the terminator) past the end.
    fn dig(&self, i: usize) -> u8 {
        self.digits.get(i).copied().unwrap_or(0)
    }

    pub(crate) fn from_i64(v: i64) -> Number {
        let mut digits = Digits::new();
        push_u128(&mut digits, u128::from(v.unsigned_abs()));
        if v == 0 {
            digits.clear();
        }
        let scale = digits.len() as i32;
        Number {
            negative: v < 0,
            digits,
            scale,
            precision: 19,
            is_decimal: false,
        }
    }

    pub(crate) fn from_decimal(d: Decimal) -> Number {
        let mantissa = d.mantissa().unsigned_abs();
        let mut digits = Digits::new();
        push_u128(&mut digits, mantissa);
        if mantissa == 0 {
            digits.clear();
        }
        let scale = digits.len() as i32 - d.scale() as i32;
        Number {
            negative: d.is_sign_negative() && mantissa != 0,
            digits,
            scale,
            precision: 29,
            is_decimal: true,
        }
    }

    /// A finite double cut (correctly rounded) to `precision` significant digits, trailing
    /// zeros removed — what Framework's `DoubleToNumber` (via `_ecvt`) gives.
    ///
    /// Fast path: the shortest digits that read back as `v` (zmij), when they are no more
    /// than `precision <= 15` and `v` is normal. They are then the correctly rounded
    /// `precision` digits, never a tie: they lie within half an ulp of `v` (an ulp is at most
    /// 2^-52 of `v`), and two numbers of at most 15 significant digits near `v` differ by
    /// about 10^-15 of it or more, so no other is as close to `v`. Otherwise (17 digits, a
    /// subnormal, or more shortest digits than asked) the exact digits of `{:.*e}`.
    pub(crate) fn from_f64(v: f64, precision: usize) -> Number {
        #[cfg(test)]
        if tests::EXACT_ONLY.get() {
            return Number::from_f64_exact(v, precision);
        }
        if precision <= 15 && v.is_normal() {
            let mut buf = zmij::Buffer::new();
            if let Some(num) = Number::parse_float(v, buf.format_finite(v.abs()).as_bytes())
                && num.digits.len() <= precision
            {
                return num;
            }
        }
        Number::from_f64_exact(v, precision)
    }

    /// `v` (finite, > 0) as `m × 10^-s` with at most 15 significant digits, when a decimal of
    /// that length reads back as `v`: then it is `from_f64(v, 15)`'s value (the argument
    /// above: a decimal of at most 15 digits within half an ulp of `v` is its correctly
    /// rounded 15 digits), found without writing and reading digits. Tries `s = 0, 1, ..`
    /// (so no trailing zero after the point): `m` is `v·10^s` rounded, which is the one
    /// candidate of that `s` — the product is below 2^50, so both its rounding error and the
    /// candidate's distance from it are at most 1/8 — and it reads back as `v` exactly when
    /// the correctly rounded quotient `m / 10^s` (both exact doubles) is `v`. None: no such
    /// decimal below 10^15, or a product reaches 2^50 (infinity too) first: the digits' way
    /// decides.
    pub(crate) fn short_decimal(v: f64) -> Option<(u64, u32)> {
        const POW10: [f64; 16] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
        ];
        // 2^50
        const LIMIT: f64 = 1_125_899_906_842_624.0;
        for (s, &p10) in POW10.iter().enumerate() {
            let p = v * p10;
            if p >= LIMIT {
                return None;
            }
            let m = p.round();
            if m / p10 == v {
                return (m < 1e15).then_some((m as u64, s as u32));
            }
        }
        None
    }

    /// [`Number::from_f64`] without the fast path: Rust's exact, correctly rounded
    /// `{:.*e}` (written into a stack buffer, a String only for a precision past its room).
    pub(crate) fn from_f64_exact(v: f64, precision: usize) -> Number {
        if v == 0.0 || !v.is_finite() {
            return Number {
                negative: v.is_sign_negative(),
                digits: Digits::new(),
                scale: 0,
                precision: 15,
                is_decimal: false,
            };
        }
        use std::fmt::Write;
        let mut buf = StackText::new();
        let p = precision.saturating_sub(1);
        if write!(buf, "{:.*e}", p, v.abs()).is_ok()
            && let Some(num) = Number::parse_float(v, buf.as_bytes())
        {
            return num;
        }
        let s = format!("{:.*e}", p, v.abs());
        Number::parse_float(v, s.as_bytes()).unwrap_or(Number {
            negative: v.is_sign_negative(),
            digits: Digits::new(),
            scale: 0,
            precision: 15,
            is_decimal: false,
        })
    }

    /// The Number of `|v|`'s text `s` (`123.45`, `0.001`, `1.5e-7`, `1e+21`, `1.20e3`), with
    /// `v`'s sign; leading and trailing zeros dropped. None for text of another shape.
    fn parse_float(v: f64, s: &[u8]) -> Option<Number> {
        let (mant, exp) = match s.iter().position(|&b| b == b'e') {
            Some(at) => (&s[..at], parse_exponent(&s[at + 1..])?),
            None => (s, 0),
        };
        let mut digits = Digits::new();
        let (mut seen, mut leading, mut point) = (0i32, 0i32, None);
        for &b in mant {
            match b {
                b'.' if point.is_none() => point = Some(seen),
                b'0' if digits.is_empty() => {
                    leading += 1;
                    seen += 1;
                }
                b'0'..=b'9' => {
                    digits.push(b);
                    seen += 1;
                }
                _ => return None,
            }
        }
        if digits.is_empty() {
            return None;
        }
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        Some(Number {
            negative: v.is_sign_negative(),
            digits,
            scale: point.unwrap_or(seen) - leading + exp,
            precision: 15,
            is_decimal: false,
        })
    }

    /// Framework's `RoundNumber`: keep `pos` digits, round half up on the next digit (away
    /// from zero), strip trailing zeros; a zero result loses its sign and scale.
    pub(crate) fn round(&mut self, pos: i32) {
        let mut i: usize = 0;
        while (i as i64) < pos as i64 && i < self.digits.len() {
            i += 1;
        }
        if (i as i64) == pos as i64 && self.dig(i) >= b'5' {
            while i > 0 && self.digits[i - 1] == b'9' {
                i -= 1;
            }
            if i > 0 {
                self.digits[i - 1] += 1;
            } else {
                self.scale += 1;
                if self.digits.is_empty() {
                    self.digits.push(b'1');
                } else {
                    self.digits[0] = b'1';
                }
                i = 1;
            }
        } else {
            while i > 0 && self.digits[i - 1] == b'0' {
                i -= 1;
            }
        }
        if i == 0 {
            self.scale = 0;
            self.negative = false;
        }
        self.digits.truncate(i);
    }
}

/// `ParseFormatSpecifier`: `Some((letter, precision or -1))` for a standard format, `None`
/// for a custom one. An empty format is `G`.
pub(crate) fn parse_standard(format: &str) -> Option<(char, i32)> {
    let b = format.as_bytes();
    if b.is_empty() {
        return Some(('G', -1));
    }
    if !b[0].is_ascii_alphabetic() {
        return None;
    }
    let mut p = 1;
    let mut n: i32 = -1;
    if p < b.len() && b[p].is_ascii_digit() {
        n = i32::from(b[p] - b'0');
        p += 1;
        while p < b.len() && b[p].is_ascii_digit() {
            n = n * 10 + i32::from(b[p] - b'0');
            p += 1;
            if n >= 10 {
                break;
            }
        }
    }
    if p == b.len() {
        Some((char::from(b[0]), n))
    } else {
        None
    }
}

fn bad_specifier(format: &str, kind: &'static str) -> FormatError {
    FormatError::InvalidSpecifier {
        format: format.to_string(),
        value_type: kind,
    }
}

/// Formats `n` with a .NET numeric format string in the culture's number data.
pub(crate) fn format(n: Num, format: &str, nfi: &NumberFormat) -> Result<String, FormatError> {
    let mut out = String::new();
    format_into(&mut out, n, format, nfi)?;
    Ok(out)
}

/// [`format`] appended to `out` (nothing is appended on an error).
pub(crate) fn format_into(
    out: &mut String,
    n: Num,
    format: &str,
    nfi: &NumberFormat,
) -> Result<(), FormatError> {
    let standard = parse_standard(format);
    match n {
        Num::Int(v) => {
            if let Some((fmt, digits)) = standard {
                match fmt {
                    'G' | 'g' if digits < 1 => {
                        plain_int_into(out, v, 0, nfi);
                        return Ok(());
                    }
                    'D' | 'd' => {
                        plain_int_into(out, v, digits.max(0) as usize, nfi);
                        return Ok(());
                    }
                    'X' | 'x' => {
                        out.push_str(&hex(v, digits.max(0) as usize, fmt == 'x'));
                        return Ok(());
                    }
                    _ => {}
                }
                let mut num = Number::from_i64(v);
                number_to_string(out, &mut num, fmt, digits, nfi)
                    .ok_or_else(|| bad_specifier(format, "Int64"))
            } else {
                out.push_str(&custom(&mut Number::from_i64(v), format, nfi));
                Ok(())
            }
        }
        Num::Decimal(d) => {
            let mut num = Number::from_decimal(d);
            match standard {
                Some((fmt, digits)) => number_to_string(out, &mut num, fmt, digits, nfi)
                    .ok_or_else(|| bad_specifier(format, "Decimal")),
                None => {
                    out.push_str(&custom(&mut num, format, nfi));
                    Ok(())
                }
            }
        }
        Num::Float(v) => {
            if v.is_nan() {
                out.push_str(nfi.nan_symbol);
                return Ok(());
            }
            if v.is_infinite() {
                let s = if v > 0.0 {
                    nfi.positive_infinity
                } else {
                    nfi.negative_infinity
                };
                out.push_str(s);
                return Ok(());
            }
            match standard {
                Some((fmt, digits)) => {
                    let precision = match fmt {
                        'R' | 'r' => {
                            let num = Number::from_f64(v, 15);
                            let back = number_to_f64(&num);
                            let (mut num, p) = if back == Some(v) {
                                (num, 15)
                            } else {
                                (Number::from_f64(v, 17), 17)
                            };
                            let g = if fmt == 'R' { 'G' } else { 'g' };
                            return number_to_string(out, &mut num, g, p, nfi)
                                .ok_or_else(|| bad_specifier(format, "Double"));
                        }
                        'E' | 'e' if digits > 14 => 17,
                        'G' | 'g' if digits > 15 => 17,
                        _ => 15,
                    };
                    let mut num = Number::from_f64(v, precision);
                    num.precision = 15;
                    number_to_string(out, &mut num, fmt, digits, nfi)
                        .ok_or_else(|| bad_specifier(format, "Double"))
                }
                None => {
                    out.push_str(&custom(&mut Number::from_f64(v, 15), format, nfi));
                    Ok(())
                }
            }
        }
    }
}

impl Number {
    /// The absolute value as `mantissa × 10^-scale` (its digits read as one integer), when
    /// that fits a `u128`.
    pub(crate) fn mantissa_scale(&self) -> Option<(u128, u32)> {
        let mut m: u128 = 0;
        for &d in self.digits.iter() {
            m = m
                .checked_mul(10)?
                .checked_add(u128::from(d.checked_sub(b'0')?))?;
        }
        let exp = self.scale - i32::try_from(self.digits.len()).ok()?;
        if exp >= 0 {
            Some((m.checked_mul(10u128.checked_pow(exp.unsigned_abs())?)?, 0))
        } else {
            Some((m, exp.unsigned_abs()))
        }
    }
}

fn number_to_f64(num: &Number) -> Option<f64> {
    if num.digits.is_empty() {
        return Some(0.0);
    }
    let s = format!(
        "{}0.{}e{}",
        if num.negative { "-" } else { "" },
        std::str::from_utf8(&num.digits).ok()?,
        num.scale
    );
    s.parse().ok()
}

#[cfg(test)]
fn plain_int(v: i64, min_digits: usize, nfi: &NumberFormat) -> String {
    let mut out = String::new();
    plain_int_into(&mut out, v, min_digits, nfi);
    out
}

pub(crate) fn plain_int_into(out: &mut String, v: i64, min_digits: usize, nfi: &NumberFormat) {
    let mut buf = [0u8; 20];
    let at = digits_before(&mut buf, 20, v.unsigned_abs());
    if v < 0 {
        out.push_str(nfi.negative_sign);
    }
    for _ in buf.len() - at..min_digits {
        out.push('0');
    }
    // ASCII digits
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or_default());
}

fn hex(v: i64, min_digits: usize, lower: bool) -> String {
    let s = if lower {
        format!("{:x}", v as u64)
    } else {
        format!("{:X}", v as u64)
    };
    let mut out = String::with_capacity(s.len().max(min_digits));
    for _ in s.len()..min_digits {
        out.push('0');
    }
    out.push_str(&s);
    out
}

/// Framework's `NumberToString` for the standard formats common to all types. `None` is
/// .NET's `FormatException` ("Format specifier was invalid").
fn number_to_string(
    out: &mut String,
    num: &mut Number,
    fmt: char,
    digits: i32,
    nfi: &NumberFormat,
) -> Option<()> {
    match fmt {
        'C' | 'c' => {
            let d = if digits < 0 {
                i32::from(nfi.currency_decimal_digits)
            } else {
                digits
            };
            num.round(num.scale.saturating_add(d));
            let pattern = if num.negative {
                CURRENCY_NEGATIVE
                    .get(usize::from(nfi.currency_negative_pattern))
                    .copied()
                    .unwrap_or("-$n")
            } else {
                CURRENCY_POSITIVE
                    .get(usize::from(nfi.currency_positive_pattern))
                    .copied()
                    .unwrap_or("$n")
            };
            for ch in pattern.chars() {
                match ch {
                    'n' => format_fixed(
                        out,
                        num,
                        d,
                        Some((nfi.currency_group_separator, nfi.currency_group_sizes)),
                        nfi.currency_decimal_separator,
                    ),
                    '-' => out.push_str(nfi.negative_sign),
                    '$' => out.push_str(nfi.currency_symbol),
                    c => out.push(c),
                }
            }
        }
        'F' | 'f' => {
            let d = if digits < 0 {
                i32::from(nfi.decimal_digits)
            } else {
                digits
            };
            num.round(num.scale.saturating_add(d));
            if num.negative {
                out.push_str(nfi.negative_sign);
            }
            format_fixed(out, num, d, None, nfi.decimal_separator);
        }
        'N' | 'n' => {
            let d = if digits < 0 {
                i32::from(nfi.decimal_digits)
            } else {
                digits
            };
            num.round(num.scale.saturating_add(d));
            let pattern = if num.negative {
                NUMBER_NEGATIVE
                    .get(usize::from(nfi.negative_pattern))
                    .copied()
                    .unwrap_or("-n")
            } else {
                "n"
            };
            for ch in pattern.chars() {
                match ch {
                    'n' => format_fixed(
                        out,
                        num,
                        d,
                        Some((nfi.group_separator, nfi.group_sizes)),
                        nfi.decimal_separator,
                    ),
                    '-' => out.push_str(nfi.negative_sign),
                    c => out.push(c),
                }
            }
        }
        'E' | 'e' => {
            let d = if digits < 0 { 6 } else { digits } + 1;
            num.round(d);
            if num.negative {
                out.push_str(nfi.negative_sign);
            }
            format_scientific(out, num, d, fmt, nfi);
        }
        'G' | 'g' => {
            let mut max_digits = digits;
            let mut no_rounding = false;
            if digits < 1 {
                if num.is_decimal && digits == -1 {
                    no_rounding = true;
                } else {
                    max_digits = num.precision;
                }
            }
            if !no_rounding {
                num.round(max_digits);
            }
            if num.negative && !num.digits.is_empty() {
                out.push_str(nfi.negative_sign);
            }
            let exp_char = if fmt == 'G' { 'E' } else { 'e' };
            format_general(out, num, max_digits, exp_char, no_rounding, nfi);
        }
        'P' | 'p' => {
            let d = if digits < 0 {
                i32::from(nfi.percent_decimal_digits)
            } else {
                digits
            };
            if !num.digits.is_empty() {
                num.scale += 2;
            }
            num.round(num.scale.saturating_add(d));
            let pattern = if num.negative {
                PERCENT_NEGATIVE
                    .get(usize::from(nfi.percent_negative_pattern))
                    .copied()
                    .unwrap_or("-n %")
            } else {
                PERCENT_POSITIVE
                    .get(usize::from(nfi.percent_positive_pattern))
                    .copied()
                    .unwrap_or("n %")
            };
            for ch in pattern.chars() {
                match ch {
                    'n' => format_fixed(
                        out,
                        num,
                        d,
                        Some((nfi.percent_group_separator, nfi.percent_group_sizes)),
                        nfi.percent_decimal_separator,
                    ),
                    '-' => out.push_str(nfi.negative_sign),
                    '%' => out.push_str(nfi.percent_symbol),
                    c => out.push(c),
                }
            }
        }
        _ => return None,
    }
    Some(())
}

// Pattern tables from the NumberFormatInfo property documentation (`$`/`%` = the symbol,
// `n` = the number, `-` = NegativeSign).
pub(crate) const CURRENCY_POSITIVE: [&str; 4] = ["$n", "n$", "$ n", "n $"];
pub(crate) const CURRENCY_NEGATIVE: [&str; 16] = [
    "($n)", "-$n", "$-n", "$n-", "(n$)", "-n$", "n-$", "n$-", "-n $", "-$ n", "n $-", "$ n-",
    "$ -n", "n- $", "($ n)", "(n $)",
];
pub(crate) const NUMBER_NEGATIVE: [&str; 5] = ["(n)", "-n", "- n", "n-", "n -"];
pub(crate) const PERCENT_POSITIVE: [&str; 4] = ["n %", "n%", "%n", "% n"];
pub(crate) const PERCENT_NEGATIVE: [&str; 12] = [
    "-n %", "-n%", "-%n", "%-n", "%n-", "n-%", "n%-", "-% n", "n %-", "% n-", "% -n", "n- %",
];

/// Integer digits of `num` (zero-padded up to its scale), grouped by `sizes` from the right.
fn push_grouped(out: &mut String, int_digits: &[u8], sep: &str, sizes: &[u8]) {
    if sizes.is_empty() {
        out.extend(int_digits.iter().map(|&b| char::from(b)));
        return;
    }
    // Split points counted from the right.
    let mut cuts = Vec::new();
    let mut idx = 0;
    let mut total: usize = 0;
    loop {
        let size = usize::from(sizes[idx.min(sizes.len() - 1)]);
        if size == 0 {
            break;
        }
        total += size;
        if total >= int_digits.len() {
            break;
        }
        cuts.push(int_digits.len() - total);
        idx += 1;
    }
    let mut next_cut = cuts.pop();
    for (i, &b) in int_digits.iter().enumerate() {
        if Some(i) == next_cut {
            out.push_str(sep);
            next_cut = cuts.pop();
        }
        out.push(char::from(b));
    }
}

/// [`format_fixed`] for the VB helpers.
pub(crate) fn fixed(
    out: &mut String,
    num: &Number,
    decimals: i32,
    group: Option<(&str, &[u8])>,
    decimal_sep: &str,
) {
    format_fixed(out, num, decimals, group, decimal_sep);
}

/// Framework's `FormatFixed`: integer part (grouped if `group` is given), then `decimals`
/// fraction digits.
fn format_fixed(
    out: &mut String,
    num: &Number,
    decimals: i32,
    group: Option<(&str, &[u8])>,
    decimal_sep: &str,
) {
    let mut dig = 0usize;
    let mut dig_pos = num.scale;
    if dig_pos > 0 {
        // the integer digits: on the stack unless the number is huge
        let mut stack = [0u8; 64];
        let mut heap = Vec::new();
        let int_digits: &mut [u8] = if dig_pos as usize <= stack.len() {
            &mut stack[..dig_pos as usize]
        } else {
            heap.resize(dig_pos as usize, 0);
            &mut heap
        };
        for slot in int_digits.iter_mut() {
            let d = num.dig(dig);
            if d != 0 {
                dig += 1;
                *slot = d;
            } else {
                *slot = b'0';
            }
        }
        dig_pos = 0;
        match group {
            Some((sep, sizes)) => push_grouped(out, int_digits, sep, sizes),
            // ASCII digits
            None => out.push_str(std::str::from_utf8(int_digits).unwrap_or_default()),
        }
    } else {
        out.push('0');
    }
    if decimals > 0 {
        out.push_str(decimal_sep);
        let mut remaining = decimals;
        if dig_pos < 0 {
            let zeros = (-dig_pos).min(remaining);
            for _ in 0..zeros {
                out.push('0');
            }
            remaining -= zeros;
        }
        while remaining > 0 {
            let d = num.dig(dig);
            if d != 0 {
                dig += 1;
                out.push(char::from(d));
            } else {
                out.push('0');
            }
            remaining -= 1;
        }
    }
}

fn format_exponent(
    out: &mut String,
    value: i32,
    exp_char: char,
    min_digits: usize,
    positive_sign: bool,
    nfi: &NumberFormat,
) {
    out.push(exp_char);
    if value < 0 {
        out.push_str(nfi.negative_sign);
    } else if positive_sign {
        out.push_str(nfi.positive_sign);
    }
    let s = value.unsigned_abs().to_string();
    for _ in s.len()..min_digits {
        out.push('0');
    }
    out.push_str(&s);
}

/// Framework's `FormatScientific` (`E`): one digit, the decimal point (unless `E0`), the rest,
/// then `E+ddd`.
fn format_scientific(
    out: &mut String,
    num: &Number,
    max_digits: i32,
    fmt: char,
    nfi: &NumberFormat,
) {
    let mut dig = 0usize;
    let take = |dig: &mut usize| {
        let d = num.dig(*dig);
        if d != 0 {
            *dig += 1;
            char::from(d)
        } else {
            '0'
        }
    };
    out.push(take(&mut dig));
    if max_digits != 1 {
        out.push_str(nfi.decimal_separator);
    }
    for _ in 1..max_digits {
        out.push(take(&mut dig));
    }
    let e = if num.digits.is_empty() {
        0
    } else {
        num.scale - 1
    };
    format_exponent(out, e, fmt, 3, true, nfi);
}

/// Framework's `FormatGeneral` (`G`): fixed notation unless the exponent is ≥ the precision
/// or < -4, then `E+dd`.
fn format_general(
    out: &mut String,
    num: &Number,
    max_digits: i32,
    exp_char: char,
    suppress_scientific: bool,
    nfi: &NumberFormat,
) {
    let mut dig_pos = num.scale;
    let mut scientific = false;
    if !suppress_scientific && (dig_pos > max_digits || dig_pos < -3) {
        dig_pos = 1;
        scientific = true;
    }
    let mut dig = 0usize;
    if dig_pos > 0 {
        while dig_pos > 0 {
            let d = num.dig(dig);
            if d != 0 {
                dig += 1;
                out.push(char::from(d));
            } else {
                out.push('0');
            }
            dig_pos -= 1;
        }
    } else {
        out.push('0');
    }
    if dig < num.digits.len() || dig_pos < 0 {
        out.push_str(nfi.decimal_separator);
        while dig_pos < 0 {
            out.push('0');
            dig_pos += 1;
        }
        while dig < num.digits.len() {
            out.push(char::from(num.digits[dig]));
            dig += 1;
        }
    }
    if scientific {
        format_exponent(out, num.scale - 1, exp_char, 2, true, nfi);
    }
}

/// Framework's `FindSection`: the byte offset of section `section` (0 positive, 1 negative,
/// 2 zero), or 0 when that section is absent or empty.
// The arms mirror Framework's `switch` one to one; guard-collapsed arms would read worse.
#[allow(clippy::collapsible_match)]
fn find_section(f: &[char], section: usize) -> usize {
    if section == 0 {
        return 0;
    }
    let mut left = section;
    let mut i = 0;
    while i < f.len() {
        let ch = f[i];
        i += 1;
        match ch {
            '\'' | '"' => {
                while i < f.len() {
                    let c = f[i];
                    i += 1;
                    if c == ch {
                        break;
                    }
                }
            }
            '\\' => {
                if i < f.len() {
                    i += 1;
                }
            }
            ';' => {
                left -= 1;
                if left == 0 {
                    if i < f.len() && f[i] != ';' {
                        return i;
                    }
                    return 0;
                }
            }
            _ => {}
        }
    }
    0
}

/// Framework's `NumberToStringFormat`: a custom numeric format.
// The arms mirror Framework's `switch` one to one; guard-collapsed arms would read worse.
#[allow(clippy::collapsible_match)]
fn custom(num: &mut Number, format: &str, nfi: &NumberFormat) -> String {
    let f: Vec<char> = format.chars().collect();
    let at = |i: usize| f.get(i).copied().unwrap_or('\0');

    let mut digit_count: i32;
    let mut decimal_pos: i32;
    let mut first_digit: i32;
    let mut last_digit: i32;
    let mut scientific: bool;
    let mut thousand_pos: i32;
    let mut thousand_count: i32 = 0;
    let mut thousand_seps: bool;
    let mut scale_adjust: i32;
    let mut section = find_section(
        &f,
        if num.digits.is_empty() {
            2
        } else if num.negative {
            1
        } else {
            0
        },
    );
    loop {
        digit_count = 0;
        decimal_pos = -1;
        first_digit = i32::MAX;
        last_digit = 0;
        scientific = false;
        thousand_pos = -1;
        thousand_seps = false;
        scale_adjust = 0;
        let mut i = section;
        while i < f.len() && f[i] != ';' {
            let ch = f[i];
            i += 1;
            match ch {
                '#' => digit_count += 1,
                '0' => {
                    if first_digit == i32::MAX {
                        first_digit = digit_count;
                    }
                    digit_count += 1;
                    last_digit = digit_count;
                }
                '.' => {
                    if decimal_pos < 0 {
                        decimal_pos = digit_count;
                    }
                }
                ',' => {
                    if digit_count > 0 && decimal_pos < 0 {
                        if thousand_pos >= 0 {
                            if thousand_pos == digit_count {
                                thousand_count += 1;
                                continue;
                            }
                            thousand_seps = true;
                        }
                        thousand_pos = digit_count;
                        thousand_count = 1;
                    }
                }
                '%' => scale_adjust += 2,
                '\u{2030}' => scale_adjust += 3,
                '\'' | '"' => {
                    while i < f.len() {
                        let c = f[i];
                        i += 1;
                        if c == ch {
                            break;
                        }
                    }
                }
                '\\' => {
                    if i < f.len() {
                        i += 1;
                    }
                }
                'E' | 'e' => {
                    if at(i) == '0' || ((at(i) == '+' || at(i) == '-') && at(i + 1) == '0') {
                        i += 1;
                        while at(i) == '0' {
                            i += 1;
                        }
                        scientific = true;
                    }
                }
                _ => {}
            }
        }
        if decimal_pos < 0 {
            decimal_pos = digit_count;
        }
        if thousand_pos >= 0 {
            if thousand_pos == decimal_pos {
                scale_adjust -= thousand_count * 3;
            } else {
                thousand_seps = true;
            }
        }
        if !num.digits.is_empty() {
            num.scale = num.scale.saturating_add(scale_adjust);
            let pos = if scientific {
                digit_count
            } else {
                num.scale
                    .saturating_add(digit_count)
                    .saturating_sub(decimal_pos)
            };
            num.round(pos);
            if num.digits.is_empty() {
                let zero_section = find_section(&f, 2);
                if zero_section != section {
                    section = zero_section;
                    continue;
                }
            }
        } else {
            num.negative = false;
            num.scale = 0;
        }
        break;
    }

    let first_digit = if first_digit < decimal_pos {
        decimal_pos - first_digit
    } else {
        0
    };
    let last_digit = if last_digit > decimal_pos {
        decimal_pos - last_digit
    } else {
        0
    };
    let (mut dig_pos, mut adjust) = if scientific {
        (decimal_pos, 0)
    } else {
        (
            num.scale.max(decimal_pos),
            num.scale.saturating_sub(decimal_pos),
        )
    };

    // Positions (digit counts from the decimal point) after which a group separator goes.
    let mut sep_positions: Vec<i32> = Vec::new();
    if thousand_seps && !nfi.group_sizes.is_empty() {
        let sizes = nfi.group_sizes;
        let mut idx = 0usize;
        let mut total = i32::from(sizes[0]);
        let mut size = total;
        let total_digits = dig_pos + if adjust < 0 { adjust } else { 0 };
        let num_digits = first_digit.max(total_digits);
        while num_digits > total && size != 0 {
            sep_positions.push(total);
            if idx + 1 < sizes.len() {
                idx += 1;
                size = i32::from(sizes[idx]);
            }
            total = total.saturating_add(size);
        }
    }
    let mut sep_next = sep_positions.len();

    let mut out = String::new();
    if num.negative && section == 0 {
        out.push_str(nfi.negative_sign);
    }
    let mut decimal_written = false;
    let mut dig = 0usize;
    let mut i = section;

    macro_rules! maybe_group {
        () => {
            if thousand_seps && dig_pos > 1 && sep_next > 0 {
                if dig_pos == sep_positions[sep_next - 1] + 1 {
                    out.push_str(nfi.group_separator);
                    sep_next -= 1;
                }
            }
        };
    }

    while i < f.len() && f[i] != ';' {
        let ch = f[i];
        i += 1;
        if adjust > 0 && matches!(ch, '#' | '0' | '.') {
            while adjust > 0 {
                let d = num.dig(dig);
                if d != 0 {
                    dig += 1;
                    out.push(char::from(d));
                } else {
                    out.push('0');
                }
                maybe_group!();
                dig_pos -= 1;
                adjust -= 1;
            }
        }
        match ch {
            '#' | '0' => {
                let c = if adjust < 0 {
                    adjust += 1;
                    if dig_pos <= first_digit { b'0' } else { 0 }
                } else {
                    let d = num.dig(dig);
                    if d != 0 {
                        dig += 1;
                        d
                    } else if dig_pos > last_digit {
                        b'0'
                    } else {
                        0
                    }
                };
                if c != 0 {
                    out.push(char::from(c));
                    maybe_group!();
                }
                dig_pos -= 1;
            }
            '.' => {
                if dig_pos != 0 || decimal_written {
                    continue;
                }
                if last_digit < 0 || (decimal_pos < digit_count && num.dig(dig) != 0) {
                    out.push_str(nfi.decimal_separator);
                    decimal_written = true;
                }
            }
            '\u{2030}' => out.push_str(nfi.per_mille_symbol),
            '%' => out.push_str(nfi.percent_symbol),
            ',' => {}
            '\'' | '"' => {
                while i < f.len() {
                    let c = f[i];
                    i += 1;
                    if c == ch {
                        break;
                    }
                    out.push(c);
                }
            }
            '\\' => {
                if i < f.len() {
                    out.push(f[i]);
                    i += 1;
                }
            }
            'E' | 'e' => {
                if scientific {
                    let mut positive_sign = false;
                    let mut zeros = 0usize;
                    if at(i) == '0' {
                        zeros += 1;
                    } else if at(i) == '+' && at(i + 1) == '0' {
                        positive_sign = true;
                    } else if at(i) == '-' && at(i + 1) == '0' {
                    } else {
                        out.push(ch);
                        continue;
                    }
                    i += 1;
                    while at(i) == '0' {
                        zeros += 1;
                        i += 1;
                    }
                    let zeros = zeros.min(10);
                    let exp = if num.digits.is_empty() {
                        0
                    } else {
                        num.scale - decimal_pos
                    };
                    format_exponent(&mut out, exp, ch, zeros, positive_sign, nfi);
                    scientific = false;
                } else {
                    out.push(ch);
                    if at(i) == '+' || at(i) == '-' {
                        out.push(at(i));
                        i += 1;
                    }
                    while at(i) == '0' {
                        out.push('0');
                        i += 1;
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `Double.ToString()` / `Decimal.ToString()` / `Int64.ToString()` in a culture: `G`.
pub(crate) fn default_string(n: Num, nfi: &NumberFormat) -> String {
    // `G` is valid for every type, so this cannot fail; fall back to Rust's form regardless.
    format(n, "G", nfi).unwrap_or_else(|_| match n {
        Num::Int(v) => v.to_string(),
        Num::Float(v) => v.to_string(),
        Num::Decimal(d) => d.to_string(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    thread_local! {
        /// Makes this thread's `Number::from_f64` take its exact path only.
        pub(super) static EXACT_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// xorshift64*: reproducible test values without a dependency (the plan's tests too).
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Doubles that test the fast path's edges: specials, subnormals, powers of ten and two
    /// and their neighbours, binary halfway cases (0.125, 2.5), decimal ones at the 15th and
    /// 16th digit (2.675, 1.234567890123455), short decimals (prices), random bit patterns.
    fn hard_doubles(random: usize) -> Vec<f64> {
        let mut v = vec![
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            5e-324,
            -5e-324,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE.next_down(),
            f64::MIN_POSITIVE.next_up(),
            f64::MAX,
            f64::MIN,
            0.125,
            2.675,
            1e-7,
            1e21,
            1e15,
            1e16,
            1e17,
            0.1 + 0.2,
            1.0 / 3.0,
            2.0 / 3.0,
            123.45,
            0.5,
            1.5,
            2.5,
            0.05,
            0.015,
            9.995,
            999_999_999_999_999.9,
            999_999_999_999_999.4,
            0.999_999_999_999_999_9,
            9.999_999_999_999_995,
            1.234_567_890_123_455,
            (1u64 << 53) as f64,
            ((1u64 << 53) - 1) as f64,
            i64::MAX as f64,
        ];
        for k in -325..=308 {
            let p: f64 = format!("1e{k}").parse().unwrap();
            v.extend([p, p.next_up(), p.next_down(), -p]);
        }
        for k in -1074..=1023 {
            let p = 2f64.powi(k);
            v.extend([p, p.next_up(), p.next_down()]);
        }
        for n in 0..300u32 {
            for k in 1..=12 {
                v.push(f64::from(2 * n + 1) / f64::from(1u32 << k));
            }
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..random {
            v.push(f64::from_bits(rng.next()));
            // a decimal of 1 to 17 digits at a random scale, and its neighbours
            let digits = 1 + rng.below(17) as u32;
            let m = rng.below(10u64.pow(digits));
            let e = rng.below(60) as i32 - 30;
            let d: f64 = format!("{m}e{e}").parse().unwrap();
            v.extend([d, d.next_up(), d.next_down()]);
            // a halfway case at the 15th or 16th significant digit
            let h = 10u64.pow(13 + rng.below(2) as u32) + rng.below(8 * 10u64.pow(13));
            let h: f64 = format!("{h}5e{}", rng.below(40) as i32 - 20)
                .parse()
                .unwrap();
            v.push(h);
        }
        v
    }

    fn parts(n: &Number) -> (bool, Vec<u8>, i32, i32, bool) {
        (
            n.negative,
            n.digits.to_vec(),
            n.scale,
            n.precision,
            n.is_decimal,
        )
    }

    #[test]
    fn fast_doubles_are_the_exact_digits() {
        let mut fast = 0usize;
        let values = hard_doubles(40_000);
        for &v in &values {
            for precision in 0..=18 {
                let got = Number::from_f64(v, precision);
                let want = Number::from_f64_exact(v, precision);
                assert_eq!(
                    parts(&got),
                    parts(&want),
                    "{v:e} ({:#x}) at {precision}",
                    v.to_bits()
                );
                fast += usize::from(precision == 15 && v.is_normal() && got.digits.len() < 15);
            }
        }
        // the fast path is taken (not only the exact one compared with itself)
        assert!(fast > values.len() / 4, "{fast} of {}", values.len());
        // the exact path itself: correctly rounded, `_ecvt`'s digits
        let n = Number::from_f64_exact(2.675, 3);
        assert_eq!((n.digits.as_slice(), n.scale), (&b"267"[..], 1));
        let n = Number::from_f64_exact(5e-324, 15);
        assert_eq!(
            (n.digits.as_slice(), n.scale),
            (&b"494065645841247"[..], -323)
        );
        let n = Number::from_f64(0.001, 15);
        assert_eq!((n.digits.as_slice(), n.scale), (&b"1"[..], -2));
        let n = Number::from_f64(-1e21, 15);
        assert_eq!(
            (n.negative, n.digits.as_slice(), n.scale),
            (true, &b"1"[..], 22)
        );
    }

    #[test]
    fn every_double_format_prints_as_the_exact_path_does() {
        use crate::vb::{Tristate, format_currency_vb, format_number_vb, format_percent_vb};
        let formats = [
            "",
            "G",
            "g",
            "G5",
            "G15",
            "G16",
            "G17",
            "R",
            "r",
            "E",
            "e3",
            "E14",
            "E15",
            "E20",
            "F",
            "F0",
            "F2",
            "F10",
            "N",
            "N2",
            "n4",
            "C",
            "C3",
            "P",
            "P1",
            "0",
            "0.00",
            "#,##0.###",
            "0.###E+0",
            "0.0%",
            "#.##;(#.##);zero",
            "00.000e-00",
            "D",
            "X",
        ];
        let vb_styles = [
            "General Number",
            "Currency",
            "Fixed",
            "Standard",
            "Percent",
            "Scientific",
        ];
        let cultures = [
            crate::Culture::invariant(),
            crate::Culture::get_or_en_us("de-DE"),
        ];
        let run = |v: f64, exact: bool| {
            EXACT_ONLY.set(exact);
            let mut out = Vec::new();
            for culture in cultures {
                let n = Num::Float(v);
                for f in formats {
                    out.push(crate::format_number(n, f, culture));
                }
                for f in vb_styles {
                    out.push(crate::format_vb(n, f, culture));
                }
                let t = Tristate::UseDefault;
                out.push(Ok(format_number_vb(n, 2, t, t, t, culture)));
                out.push(Ok(format_currency_vb(n, -1, t, t, t, culture)));
                out.push(Ok(format_percent_vb(n, 1, t, t, t, culture)));
                let mut s = String::new();
                crate::to_string_in_into(&mut s, n, culture);
                out.push(Ok(s));
            }
            EXACT_ONLY.set(false);
            out
        };
        for v in hard_doubles(2_000) {
            assert_eq!(run(v, false), run(v, true), "{v:e} ({:#x})", v.to_bits());
        }
    }

    #[test]
    fn a_short_decimal_is_the_value_of_the_shortest_digits() {
        let mut values = hard_doubles(20_000);
        // what a REAL column holds: few decimals, every magnitude a price or amount has
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..200_000 {
            let m = rng.next() >> rng.below(64);
            let x = m as f64 / 10f64.powi(rng.below(16) as i32);
            values.extend([x, x.next_up(), x.next_down()]);
        }
        let mut taken = 0;
        for v in values {
            if !(v.is_finite() && v > 0.0) {
                continue;
            }
            let expected = Number::from_f64(v, 15).mantissa_scale();
            if let Some((m, s)) = Number::short_decimal(v) {
                taken += 1;
                // the same value: equal after scaling to the larger scale
                let (em, es) = expected.unwrap_or_else(|| panic!("{v:e}: no digits' value"));
                let (a, b) = if s >= es {
                    (u128::from(m), em * 10u128.pow(s - es))
                } else {
                    (u128::from(m) * 10u128.pow(es - s), em)
                };
                assert_eq!(a, b, "{v:e} ({:#x}): {m}e-{s} vs {em}e-{es}", v.to_bits());
            }
        }
        // the fast path is taken for most of them, not a vacuous comparison
        assert!(taken > 100_000, "{taken}");
    }

    #[test]
    fn digits_are_what_display_makes() {
        let mut values = vec![0u128, 1, 9, 10, 99, 100, u128::from(u64::MAX), u128::MAX];
        values.push(u128::from(u64::MAX) + 1);
        values.push(u128::from(i64::MIN.unsigned_abs()));
        values.extend((0..39).map(|p| 10u128.pow(p)));
        values.extend((1..39).map(|p| 10u128.pow(p) - 1));
        values.extend((0..128).map(|b| (1u128 << b) + 7));
        for v in values {
            let mut d = Digits::new();
            push_u128(&mut d, v);
            assert_eq!(std::str::from_utf8(&d).unwrap(), v.to_string());
        }
        let nfi = &crate::Culture::invariant().number;
        assert_eq!(plain_int(-42, 5, nfi), "-00042");
        assert_eq!(plain_int(i64::MIN, 0, nfi), i64::MIN.to_string());
        let n = Number::from_decimal(Decimal::new(-12345, 2));
        assert_eq!(
            (n.negative, n.digits.as_slice(), n.scale),
            (true, &b"12345"[..], 3)
        );
        assert!(Number::from_i64(0).digits.is_empty());
    }
}
