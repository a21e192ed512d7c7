//! Query parameters: `@name` in a command text rewritten to the backend's numbered
//! placeholders (`?N` for SQLite, `$N` for PostgreSQL), the values collected for binding.
//!
//! A small SQL scanner finds `@name` outside string literals (`'...'` with `''`, PostgreSQL
//! `E'...'` with backslash escapes), quoted identifiers (`"..."`; SQLite also `[...]` and
//! `` `...` ``), comments (`--`, `/* */`, nested in PostgreSQL), PostgreSQL dollar quotes
//! (`$tag$ ... $tag$`) and `@@` operators. `@p::int` is the parameter `p` followed by a cast.
//! A multi-value parameter ([`Value::Array`]) becomes one placeholder per value, so
//! `IN (@p)` works as in SSRS; an empty one becomes `NULL` (`IN (NULL)` matches nothing).
//!
//! Values are only ever bound, never spliced into the text. Must not: execute anything.

use std::collections::HashMap;

use rdl::Value;

use crate::{BoundParam, DataError};

/// The placeholder syntax and quoting rules of a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `?N` placeholders; `[...]` and `` `...` `` quote identifiers.
    Sqlite,
    /// `$N` placeholders; dollar quotes, `E'...'` strings, nested block comments.
    Postgres,
}

/// A command text with placeholders and the values to bind: `values[i]` is placeholder
/// number `i + 1`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rewritten {
    /// The command text with every `@name` replaced.
    pub sql: String,
    /// The values in placeholder order.
    pub values: Vec<Value>,
}

/// What the scanner reports outside literals and comments.
#[derive(Debug)]
enum Event<'a> {
    /// `@name` at `start..end` (byte offsets into the text).
    Param {
        start: usize,
        end: usize,
        name: &'a str,
    },
    /// A bare word (keyword or unquoted identifier).
    Word(&'a str),
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c == '$' || c.is_alphanumeric()
}

/// Walks `sql`, calling `on` for each parameter and bare word outside literals/comments.
/// Unterminated literals and comments run to the end of the text (the database reports
/// the syntax error).
fn scan<'a>(sql: &'a str, dialect: Dialect, mut on: impl FnMut(Event<'a>)) {
    let b = sql.as_bytes();
    let n = b.len();
    let mut i = 0;
    // Whether the previous significant character ends an identifier (so `x@y`, `a$b$` are
    // not parameters / dollar quotes).
    let mut prev_ident = false;
    while i < n {
        let c = b[i];
        match c {
            b'\'' => {
                i = skip_quoted(b, i, b'\'', false);
                prev_ident = false;
            }
            b'"' => {
                i = skip_quoted(b, i, b'"', false);
                prev_ident = true;
            }
            b'`' if dialect == Dialect::Sqlite => {
                i = skip_quoted(b, i, b'`', false);
                prev_ident = true;
            }
            b'[' if dialect == Dialect::Sqlite => {
                i = match b[i + 1..].iter().position(|&x| x == b']') {
                    Some(p) => i + 1 + p + 1,
                    None => n,
                };
                prev_ident = true;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = match b[i..].iter().position(|&x| x == b'\n') {
                    Some(p) => i + p + 1,
                    None => n,
                };
                prev_ident = false;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(b, i, dialect == Dialect::Postgres);
                prev_ident = false;
            }
            b'$' if dialect == Dialect::Postgres && !prev_ident => {
                match dollar_tag(sql, i) {
                    Some(tag) => {
                        let body = i + tag.len();
                        i = match sql[body..].find(tag) {
                            Some(p) => body + p + tag.len(),
                            None => n,
                        };
                        prev_ident = false;
                    }
                    None => {
                        // `$1` positional parameter or a stray `$`.
                        i += 1;
                        while i < n && b[i].is_ascii_digit() {
                            i += 1;
                        }
                        prev_ident = false;
                    }
                }
            }
            b'@' => {
                if b.get(i + 1) == Some(&b'@') {
                    // `@@` operator (PostgreSQL text search) or `@@global` (SQL Server).
                    i += 2;
                    prev_ident = false;
                    continue;
                }
                let rest = &sql[i + 1..];
                let starts_ident = rest.chars().next().is_some_and(is_ident_start);
                if starts_ident && !prev_ident {
                    let len = rest
                        .char_indices()
                        .find(|&(_, ch)| !(ch == '_' || ch.is_alphanumeric()))
                        .map_or(rest.len(), |(p, _)| p);
                    let end = i + 1 + len;
                    on(Event::Param {
                        start: i,
                        end,
                        name: &sql[i + 1..end],
                    });
                    i = end;
                    prev_ident = true;
                } else {
                    i += 1;
                    prev_ident = false;
                }
            }
            _ => {
                // Decode one char (offsets stay on char boundaries: every delimiter above is
                // ASCII).
                let ch = sql[i..].chars().next().unwrap_or('\0');
                if is_ident_start(ch) || (ch.is_ascii_digit() && !prev_ident) {
                    let start = i;
                    let word_len = sql[i..]
                        .char_indices()
                        .find(|&(_, x)| !is_ident_char(x))
                        .map_or(sql.len() - i, |(p, _)| p);
                    i += word_len;
                    let word = &sql[start..i];
                    if dialect == Dialect::Postgres
                        && word.eq_ignore_ascii_case("e")
                        && b.get(i) == Some(&b'\'')
                    {
                        i = skip_quoted(b, i, b'\'', true);
                        prev_ident = false;
                        continue;
                    }
                    if is_ident_start(ch) {
                        on(Event::Word(word));
                    }
                    prev_ident = true;
                } else {
                    i += ch.len_utf8().max(1);
                    prev_ident = ch == '_' || ch.is_alphanumeric();
                }
            }
        }
    }
}

/// Skips a literal opened by `q` at `start`; a doubled `q` is an escape, and with
/// `backslash` so is `\x`. Returns the offset after the closing quote (or the end).
fn skip_quoted(b: &[u8], start: usize, q: u8, backslash: bool) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

fn skip_block_comment(b: &[u8], start: usize, nested: bool) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < b.len() {
        if b[i] == b'/' && b[i + 1] == b'*' {
            if depth == 0 || nested {
                depth += 1;
            }
            i += 2;
        } else if b[i] == b'*' && b[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// `$tag$` or `$$` starting at `i`, if that is what is there.
fn dollar_tag(sql: &str, i: usize) -> Option<&str> {
    let rest = &sql[i + 1..];
    let mut chars = rest.char_indices();
    match chars.next() {
        Some((_, '$')) => return Some(&sql[i..i + 2]),
        Some((_, c)) if is_ident_start(c) => {}
        _ => return None,
    }
    for (p, c) in chars {
        if c == '$' {
            return Some(&sql[i..i + 1 + p + 1]);
        }
        if !(c == '_' || c.is_alphanumeric()) {
            return None;
        }
    }
    None
}

fn normalize(name: &str) -> String {
    name.trim_start_matches('@').to_lowercase()
}

/// Rewrites every `@name` in `sql` to a numbered placeholder bound to the parameter of that
/// name (case-insensitive; the leading `@` of a [`BoundParam::name`] is optional).
///
/// The same parameter used twice reuses its placeholder(s). A name the query uses but
/// `params` lacks is [`DataError::Parameter`]; parameters the query does not use are
/// ignored (SSRS passes every query parameter of a data set).
pub fn rewrite(sql: &str, params: &[BoundParam], dialect: Dialect) -> Result<Rewritten, DataError> {
    let by_name: HashMap<String, &Value> = params
        .iter()
        .map(|p| (normalize(&p.name), &p.value))
        .collect();
    let mut out = String::with_capacity(sql.len() + 16);
    let mut values: Vec<Value> = Vec::new();
    // Parameter name -> its placeholder text (one or a comma list).
    let mut assigned: HashMap<String, String> = HashMap::new();
    let mut copied = 0;
    let mut failure: Option<DataError> = None;
    scan(sql, dialect, |ev| {
        let Event::Param { start, end, name } = ev else {
            return;
        };
        if failure.is_some() {
            return;
        }
        let key = normalize(name);
        let text = match assigned.get(&key) {
            Some(t) => t.clone(),
            None => {
                let Some(value) = by_name.get(&key) else {
                    failure = Some(DataError::Parameter {
                        name: name.to_string(),
                        message: "the query uses it but the data set passes no value for it; \
                                  add it under the data set's Query/QueryParameters"
                            .into(),
                    });
                    return;
                };
                let t = match value {
                    Value::Array(items) => {
                        if items.is_empty() {
                            "NULL".to_string()
                        } else {
                            let mut t = String::new();
                            for (k, item) in items.iter().enumerate() {
                                if matches!(item, Value::Array(_)) {
                                    failure = Some(DataError::Parameter {
                                        name: name.to_string(),
                                        message: "a multi-value parameter's values must be \
                                                  single values, not lists"
                                            .into(),
                                    });
                                    return;
                                }
                                if k > 0 {
                                    t.push_str(", ");
                                }
                                values.push(item.clone());
                                push_placeholder(&mut t, dialect, values.len());
                            }
                            t
                        }
                    }
                    v => {
                        values.push((*v).clone());
                        let mut t = String::new();
                        push_placeholder(&mut t, dialect, values.len());
                        t
                    }
                };
                assigned.insert(key, t.clone());
                t
            }
        };
        out.push_str(&sql[copied..start]);
        out.push_str(&text);
        copied = end;
    });
    if let Some(e) = failure {
        return Err(e);
    }
    out.push_str(&sql[copied..]);
    Ok(Rewritten { sql: out, values })
}

fn push_placeholder(out: &mut String, dialect: Dialect, n: usize) {
    out.push(match dialect {
        Dialect::Sqlite => '?',
        Dialect::Postgres => '$',
    });
    out.push_str(&n.to_string());
}

/// The first of `keywords` (ASCII case-insensitive) that `sql` uses as a bare word outside
/// literals, quoted identifiers and comments.
pub fn find_keyword<'k>(sql: &str, dialect: Dialect, keywords: &[&'k str]) -> Option<&'k str> {
    let mut found = None;
    scan(sql, dialect, |ev| {
        if let (None, Event::Word(w)) = (found, ev) {
            found = keywords.iter().copied().find(|k| k.eq_ignore_ascii_case(w));
        }
    });
    found
}

/// The parameter names (without `@`, as written) `sql` uses, in order of first use.
pub fn parameter_names(sql: &str, dialect: Dialect) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    scan(sql, dialect, |ev| {
        if let Event::Param { name, .. } = ev
            && !names.iter().any(|n| n.eq_ignore_ascii_case(name))
        {
            names.push(name.to_string());
        }
    });
    names
}
