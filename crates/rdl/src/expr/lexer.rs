//! The VB lexer: source text → tokens with byte offsets.
//!
//! Owns: literals (strings with `""` escapes, integers with type suffixes, decimals `1.5D`,
//! doubles, `&H` hex, `#date#`), identifiers, operators, `'`/`REM` comments, `_` line
//! continuation. In statement mode (the `<Code>` block) newlines and `:` separate statements,
//! except after a token that cannot end a line (implicit continuation).
//!
//! Must not: interpret identifiers (keywords are recognised by the parser, case-insensitively).

use rust_decimal::Decimal;
use time::{Date, Month, PrimitiveDateTime, Time};

use super::ExprError;
use crate::Value;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A literal value.
    Lit(Value),
    /// An identifier or keyword, as written (`[bracketed]` names without brackets).
    Ident(String),
    /// `!`.
    Bang,
    /// `.`.
    Dot,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `,`.
    Comma,
    /// An operator symbol: `& + - * / \ ^ = <> < > <= >=` (and `+=`-style assignment
    /// operators in statement mode: `+= -= &= *= /=`).
    Op(&'static str),
    /// End of a statement (newline or `:`), statement mode only.
    Eol,
    /// End of input.
    Eof,
}

impl Tok {
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Lit(v) => format!("the literal {v:?}"),
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Bang => "'!'".into(),
            Tok::Dot => "'.'".into(),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::Op(o) => format!("'{o}'"),
            Tok::Eol => "the end of the line".into(),
            Tok::Eof => "the end of the expression".into(),
        }
    }
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub offset: usize,
}

/// Splits `src` into tokens. `statements` selects statement mode (newlines matter).
pub(crate) fn lex(src: &str, statements: bool) -> Result<Vec<Token>, ExprError> {
    let b = src.as_bytes();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | 0x0c => i += 1,
            b'\r' | b'\n' => {
                i += 1;
                if statements && continues_after(out.last()) {
                    continue;
                }
                if statements && !matches!(out.last(), Some(Token { tok: Tok::Eol, .. }) | None) {
                    out.push(Token {
                        tok: Tok::Eol,
                        offset: start,
                    });
                }
            }
            b':' if statements => {
                i += 1;
                out.push(Token {
                    tok: Tok::Eol,
                    offset: start,
                });
            }
            b'\'' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'_' if is_continuation(b, i) => {
                // `_` at the end of a line joins it with the next.
                i += 1;
                while i < b.len() && matches!(b[i], b' ' | b'\t') {
                    i += 1;
                }
                if i < b.len() && b[i] == b'\r' {
                    i += 1;
                }
                if i < b.len() && b[i] == b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                let (s, next) = lex_string(src, i)?;
                i = next;
                // `"a"c` is a Char literal: a one-character string here.
                if i < b.len() && (b[i] == b'c' || b[i] == b'C') && !is_ident_byte(b, i + 1) {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Lit(Value::str(s)),
                    offset: start,
                });
            }
            b'#' => {
                let end = src[i + 1..].find(['#', '\n']).map(|e| e + i + 1);
                let Some(end) = end.filter(|&e| b[e] == b'#') else {
                    return Err(ExprError::Lexical {
                        offset: start,
                        message:
                            "unterminated date literal: write it as #M/d/yyyy# or #yyyy-MM-dd#"
                                .into(),
                    });
                };
                let text = &src[i + 1..end];
                let dt = parse_date_literal(text.trim()).ok_or_else(|| ExprError::Lexical {
                    offset: start,
                    message: format!(
                        "'#{text}#' is not a valid date literal: write it as #M/d/yyyy#, #M/d/yyyy h:mm:ss AM# or #yyyy-MM-dd#"
                    ),
                })?;
                i = end + 1;
                out.push(Token {
                    tok: Tok::Lit(Value::DateTime(dt)),
                    offset: start,
                });
            }
            b'0'..=b'9' => {
                let (v, next) = lex_number(src, i)?;
                i = next;
                out.push(Token {
                    tok: Tok::Lit(v),
                    offset: start,
                });
            }
            b'.' if i + 1 < b.len() && b[i + 1].is_ascii_digit() && !prev_is_value(out.last()) => {
                let (v, next) = lex_number(src, i)?;
                i = next;
                out.push(Token {
                    tok: Tok::Lit(v),
                    offset: start,
                });
            }
            b'&' if i + 1 < b.len() && (b[i + 1] == b'H' || b[i + 1] == b'h') => {
                let mut j = i + 2;
                while j < b.len() && b[j].is_ascii_hexdigit() {
                    j += 1;
                }
                if j == i + 2 {
                    return Err(ExprError::Lexical {
                        offset: start,
                        message: "'&H' must be followed by hexadecimal digits".into(),
                    });
                }
                let v =
                    i64::from_str_radix(&src[i + 2..j], 16).map_err(|_| ExprError::Lexical {
                        offset: start,
                        message: "hexadecimal literal too large".into(),
                    })?;
                i = j;
                out.push(Token {
                    tok: Tok::Lit(Value::Int(v)),
                    offset: start,
                });
            }
            b'[' => {
                let Some(end) = src[i..].find(']') else {
                    return Err(ExprError::Lexical {
                        offset: start,
                        message: "unterminated [name]: add the closing ']'".into(),
                    });
                };
                out.push(Token {
                    tok: Tok::Ident(src[i + 1..i + end].to_string()),
                    offset: start,
                });
                i += end + 1;
            }
            b'!' => {
                i += 1;
                out.push(Token {
                    tok: Tok::Bang,
                    offset: start,
                });
            }
            b'.' => {
                i += 1;
                out.push(Token {
                    tok: Tok::Dot,
                    offset: start,
                });
            }
            b'(' => {
                i += 1;
                out.push(Token {
                    tok: Tok::LParen,
                    offset: start,
                });
            }
            b')' => {
                i += 1;
                // Implicit continuation ends before `)`.
                if statements {
                    while matches!(out.last(), Some(Token { tok: Tok::Eol, .. })) {
                        out.pop();
                    }
                }
                out.push(Token {
                    tok: Tok::RParen,
                    offset: start,
                });
            }
            b',' => {
                i += 1;
                out.push(Token {
                    tok: Tok::Comma,
                    offset: start,
                });
            }
            b'{' | b'}' if statements => {
                i += 1;
                out.push(Token {
                    tok: Tok::Op(if c == b'{' { "{" } else { "}" }),
                    offset: start,
                });
            }
            b'<' | b'>' | b'=' | b'&' | b'+' | b'-' | b'*' | b'/' | b'\\' | b'^' => {
                let two = src.get(i..i + 2).unwrap_or("");
                let op: &'static str = match two {
                    "<>" => "<>",
                    "<=" => "<=",
                    ">=" => ">=",
                    "+=" if statements => "+=",
                    "-=" if statements => "-=",
                    "&=" if statements => "&=",
                    "*=" if statements => "*=",
                    "/=" if statements => "/=",
                    _ => match c {
                        b'<' => "<",
                        b'>' => ">",
                        b'=' => "=",
                        b'&' => "&",
                        b'+' => "+",
                        b'-' => "-",
                        b'*' => "*",
                        b'/' => "/",
                        b'\\' => "\\",
                        _ => "^",
                    },
                };
                i += op.len();
                out.push(Token {
                    tok: Tok::Op(op),
                    offset: start,
                });
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let mut j = i;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80)
                {
                    j += 1;
                }
                // Keep slicing on a char boundary: non-ASCII bytes are consumed whole.
                while !src.is_char_boundary(j) {
                    j += 1;
                }
                let word = &src[i..j];
                // Type characters on identifiers (`x$`, `n%`) are dropped.
                if j < b.len() && matches!(b[j], b'$' | b'%') {
                    j += 1;
                }
                if word.eq_ignore_ascii_case("rem") {
                    while j < b.len() && b[j] != b'\n' && b[j] != b'\r' {
                        j += 1;
                    }
                    i = j;
                    continue;
                }
                out.push(Token {
                    tok: Tok::Ident(word.to_string()),
                    offset: start,
                });
                i = j;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(ExprError::Lexical {
                    offset: start,
                    message: format!("unexpected character '{ch}'"),
                });
            }
        }
    }
    if statements && !matches!(out.last(), Some(Token { tok: Tok::Eol, .. }) | None) {
        out.push(Token {
            tok: Tok::Eol,
            offset: src.len(),
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        offset: src.len(),
    });
    Ok(out)
}

fn is_ident_byte(b: &[u8], i: usize) -> bool {
    i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_')
}

/// `_` preceded by whitespace (or at the start) and followed only by spaces to the line end.
fn is_continuation(b: &[u8], i: usize) -> bool {
    if i > 0 && !matches!(b[i - 1], b' ' | b'\t' | b'\r' | b'\n') {
        return false;
    }
    let mut j = i + 1;
    while j < b.len() && matches!(b[j], b' ' | b'\t') {
        j += 1;
    }
    j >= b.len() || b[j] == b'\n' || b[j] == b'\r'
}

/// Tokens after which a newline does not end the statement (implicit line continuation).
fn continues_after(t: Option<&Token>) -> bool {
    matches!(
        t.map(|t| &t.tok),
        Some(Tok::Op(_) | Tok::Comma | Tok::LParen | Tok::Dot | Tok::Bang)
    ) && !matches!(t.map(|t| &t.tok), Some(Tok::Op("}")))
}

/// Whether the previous token ends a value (so `.5` after it is member access, not a number).
fn prev_is_value(t: Option<&Token>) -> bool {
    matches!(
        t.map(|t| &t.tok),
        Some(Tok::Ident(_) | Tok::RParen | Tok::Lit(_))
    )
}

fn lex_string(src: &str, start: usize) -> Result<(String, usize), ExprError> {
    let b = src.as_bytes();
    let mut s = String::new();
    let mut i = start + 1;
    let mut seg = i;
    loop {
        if i >= b.len() {
            return Err(ExprError::Lexical {
                offset: start,
                message:
                    "unterminated string: add the closing '\"' (write \"\" for a quote inside)"
                        .into(),
            });
        }
        if b[i] == b'"' {
            s.push_str(&src[seg..i]);
            if i + 1 < b.len() && b[i + 1] == b'"' {
                s.push('"');
                i += 2;
                seg = i;
                continue;
            }
            return Ok((s, i + 1));
        }
        i += 1;
    }
}

fn lex_number(src: &str, start: usize) -> Result<(Value, usize), ExprError> {
    let b = src.as_bytes();
    let mut i = start;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut is_float = false;
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        is_float = true;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            is_float = true;
            i = j;
        }
    }
    let text = &src[start..i];
    let bad = |what: &str| ExprError::Lexical {
        offset: start,
        message: format!("'{text}' is not a valid {what} literal"),
    };
    // Type suffixes: D/@ Decimal, R/# Double, F/! Single, I/% S L/& UI UL US Integer types.
    let suffix_len = |s: &str| -> bool {
        let end = i + s.len();
        src.get(i..end).is_some_and(|t| t.eq_ignore_ascii_case(s)) && !is_ident_byte(b, end)
    };
    let (kind, len) = if suffix_len("d") || (i < b.len() && b[i] == b'@') {
        ('d', 1)
    } else if suffix_len("r")
        || suffix_len("f")
        || (i < b.len() && b[i] == b'#')
        || (i < b.len() && b[i] == b'!' && !is_ident_byte(b, i + 1))
    {
        ('r', 1)
    } else if suffix_len("ui") || suffix_len("ul") || suffix_len("us") {
        ('i', 2)
    } else if suffix_len("i") || suffix_len("l") || suffix_len("s") || (i < b.len() && b[i] == b'%')
    {
        ('i', 1)
    } else {
        (if is_float { 'r' } else { 'n' }, 0)
    };
    let v = match kind {
        'd' => Value::Decimal(parse_decimal(text).ok_or_else(|| bad("Decimal"))?),
        'r' => Value::Float(text.parse::<f64>().map_err(|_| bad("Double"))?),
        'i' => {
            if is_float {
                return Err(bad("integer"));
            }
            Value::Int(text.parse::<i64>().map_err(|_| bad("integer"))?)
        }
        _ => match text.parse::<i64>() {
            Ok(n) => Value::Int(n),
            // Larger than Long: VB makes it a Decimal if it fits.
            Err(_) => Value::Decimal(parse_decimal(text).ok_or_else(|| bad("number"))?),
        },
    };
    Ok((v, i + len))
}

/// Parses a decimal literal exactly (`1.50` keeps its scale; exponents allowed).
pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    use std::str::FromStr;
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(text).ok()
    } else {
        Decimal::from_str(text).ok()
    }
}

/// Parses the inside of `#...#`: `M/d/yyyy[ h:mm[:ss] [AM|PM]]`, `yyyy-MM-dd[ HH:mm:ss]`, or a
/// time alone (`#10:30 PM#`, date 1/1/0001).
pub(crate) fn parse_date_literal(text: &str) -> Option<PrimitiveDateTime> {
    let mut parts = text.split_whitespace();
    let first = parts.next()?;
    let rest: Vec<&str> = parts.collect();
    let (date, time_parts): (Date, Vec<&str>) = if first.contains('/') || first.contains('-') {
        let sep = if first.contains('/') { '/' } else { '-' };
        let f: Vec<&str> = first.split(sep).collect();
        if f.len() != 3 {
            return None;
        }
        let nums: Vec<i32> = f.iter().map(|s| s.parse().ok()).collect::<Option<_>>()?;
        let (y, m, d) = if sep == '-' || f[0].len() == 4 {
            (nums[0], nums[1], nums[2])
        } else {
            (nums[2], nums[0], nums[1])
        };
        let month = Month::try_from(u8::try_from(m).ok()?).ok()?;
        (
            Date::from_calendar_date(y, month, u8::try_from(d).ok()?).ok()?,
            rest,
        )
    } else {
        let mut all = vec![first];
        all.extend(rest);
        (Date::from_calendar_date(1, Month::January, 1).ok()?, all)
    };
    let time = parse_time_parts(&time_parts)?;
    Some(PrimitiveDateTime::new(date, time))
}

/// `h[:mm[:ss]] [AM|PM]` (also `10:30PM`); empty → midnight.
pub(crate) fn parse_time_parts(parts: &[&str]) -> Option<Time> {
    if parts.is_empty() {
        return Some(Time::MIDNIGHT);
    }
    let joined = parts.join(" ");
    let upper = joined.to_ascii_uppercase();
    let (clock, ampm) = if let Some(c) = upper.strip_suffix("AM") {
        (c.trim().to_string(), Some(false))
    } else if let Some(c) = upper.strip_suffix("PM") {
        (c.trim().to_string(), Some(true))
    } else {
        (upper.trim().to_string(), None)
    };
    let f: Vec<&str> = clock.split(':').collect();
    if f.is_empty() || f.len() > 3 {
        return None;
    }
    let mut h: u8 = f[0].parse().ok()?;
    let m: u8 = f.get(1).map_or(Some(0), |s| s.parse().ok())?;
    let (s, nanos): (u8, u32) = match f.get(2) {
        None => (0, 0),
        Some(sec) => {
            if let Some((whole, frac)) = sec.split_once('.') {
                let mut digits: String = frac.chars().take(9).collect();
                while digits.len() < 9 {
                    digits.push('0');
                }
                (whole.parse().ok()?, digits.parse().ok()?)
            } else {
                (sec.parse().ok()?, 0)
            }
        }
    };
    if f.len() == 1 && ampm.is_none() {
        return None;
    }
    if let Some(pm) = ampm {
        if h == 0 || h > 12 {
            return None;
        }
        if h == 12 {
            h = 0;
        }
        if pm {
            h += 12;
        }
    }
    Time::from_hms_nano(h, m, s, nanos).ok()
}
