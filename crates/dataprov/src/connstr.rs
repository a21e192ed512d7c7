//! Connection strings: what reports write in `<ConnectString>`, parsed into targets.
//!
//! PostgreSQL: a `postgres://user:pass@host:port/db?sslmode=...` URL, libpq `key=value`
//! pairs separated by spaces (`host=db port=5432 dbname=sales user=rep password='x y'`), or
//! the ADO.NET/Npgsql spelling separated by `;` (`Host=db;Database=sales;Username=rep`).
//! SQLite: `Data Source=PATH` (ADO.NET), a `sqlite:PATH` / `sqlite://PATH` URL, or a bare
//! path. Nothing here reads environment variables or password files: a report gets exactly
//! the connection it names. Must not: connect, or put a password in a message.

use std::fmt;

use percent_encoding::percent_decode_str;
use zeroize::Zeroizing;

use crate::DataError;

/// PostgreSQL's `sslmode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server insists.
    Allow,
    /// TLS if the server offers it (the default).
    #[default]
    Prefer,
    /// TLS required, certificate not checked.
    Require,
    /// TLS required, certificate chain checked.
    VerifyCa,
    /// TLS required, chain and host name checked.
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Option<SslMode> {
        Some(
            match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
                "disable" => SslMode::Disable,
                "allow" => SslMode::Allow,
                "prefer" => SslMode::Prefer,
                "require" => SslMode::Require,
                "verifyca" => SslMode::VerifyCa,
                "verifyfull" => SslMode::VerifyFull,
                _ => return None,
            },
        )
    }
}

/// Where and as whom to connect to PostgreSQL. `Debug` hides the password.
#[derive(Clone, Default)]
pub struct PgTarget {
    /// Host name or IP address (TCP only).
    pub host: String,
    /// TCP port (default 5432).
    pub port: u16,
    /// Database name; `None`: the server's default (the user's name).
    pub database: Option<String>,
    /// User name.
    pub user: Option<String>,
    /// Password, zeroized on drop.
    pub password: Option<Zeroizing<String>>,
    /// `sslmode`.
    pub ssl_mode: SslMode,
    /// `application_name`.
    pub application_name: Option<String>,
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ssl_mode", &self.ssl_mode)
            .field("application_name", &self.application_name)
            .finish()
    }
}

impl PgTarget {
    /// `host:port` (IPv6 in brackets), for messages.
    pub fn endpoint(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

fn pg_err(message: impl Into<String>) -> DataError {
    DataError::ConnectString {
        provider: "PostgreSQL",
        message: message.into(),
    }
}

/// Parses a PostgreSQL connect string (see the module doc).
pub fn parse_postgres(s: &str) -> Result<PgTarget, DataError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(pg_err(
            "it is empty; write for example `Host=dbserver;Port=5432;Database=sales;Username=reports`",
        ));
    }
    let lower = s.to_ascii_lowercase();
    let mut t = PgTarget {
        port: 5432,
        ..PgTarget::default()
    };
    let mut host: Option<String> = None;
    let mut port: Option<String> = None;
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        let url = url::Url::parse(s).map_err(|e| pg_err(format!("not a valid URL ({e})")))?;
        if let Some(h) = url.host_str().filter(|h| !h.is_empty()) {
            host = Some(decode(h.trim_start_matches('[').trim_end_matches(']')));
        }
        if let Some(p) = url.port() {
            port = Some(p.to_string());
        }
        if !url.username().is_empty() {
            t.user = Some(decode(url.username()));
        }
        if let Some(p) = url.password() {
            t.password = Some(Zeroizing::new(decode(p)));
        }
        let db = url.path().trim_start_matches('/');
        if !db.is_empty() {
            t.database = Some(decode(db));
        }
        for (k, v) in url.query_pairs() {
            apply_pg_key(&mut t, &mut host, &mut port, &k, &v)?;
        }
    } else if s.contains(';') {
        for (k, v) in ado_pairs(s) {
            apply_pg_key(&mut t, &mut host, &mut port, &k, &v)?;
        }
    } else {
        for (k, v) in libpq_pairs(s)? {
            apply_pg_key(&mut t, &mut host, &mut port, &k, &v)?;
        }
    }
    let mut host =
        host.ok_or_else(|| pg_err("it names no host; add `Host=...` (or `host=...`)"))?;
    // Npgsql allows `Host=server:5433`.
    if port.is_none()
        && let Some((h, p)) = host.rsplit_once(':')
        && !h.contains(':')
        && p.chars().all(|c| c.is_ascii_digit())
        && !p.is_empty()
    {
        port = Some(p.to_string());
        host = h.to_string();
    }
    if host.contains(',') {
        return Err(pg_err(format!(
            "host '{host}' lists several hosts; name one"
        )));
    }
    if host.starts_with('/') || host.starts_with('@') {
        return Err(pg_err(format!(
            "host '{host}' is a Unix socket directory; reports connect over TCP only, name a host \
             and port"
        )));
    }
    if let Some(p) = port {
        t.port = p
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| pg_err(format!("port '{p}' is not a TCP port number (1-65535)")))?;
    }
    t.host = host;
    Ok(t)
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn norm_key(k: &str) -> String {
    k.chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase()
}

fn apply_pg_key(
    t: &mut PgTarget,
    host: &mut Option<String>,
    port: &mut Option<String>,
    key: &str,
    value: &str,
) -> Result<(), DataError> {
    match norm_key(key).as_str() {
        "host" | "server" | "hostaddr" | "address" | "addr" => *host = Some(value.to_string()),
        "port" => *port = Some(value.to_string()),
        "dbname" | "database" | "initialcatalog" | "db" => {
            t.database = Some(value.to_string()).filter(|d| !d.is_empty())
        }
        "user" | "username" | "userid" | "uid" => {
            t.user = Some(value.to_string()).filter(|u| !u.is_empty())
        }
        "password" | "pwd" | "passwd" => t.password = Some(Zeroizing::new(value.to_string())),
        "sslmode" => {
            t.ssl_mode = SslMode::parse(value).ok_or_else(|| {
                pg_err(format!(
                    "sslmode '{value}' is not one of disable, allow, prefer, require, verify-ca, \
                     verify-full"
                ))
            })?
        }
        "applicationname" => t.application_name = Some(value.to_string()),
        // Pooling, timeouts and client settings: the server applies its own.
        other => tracing::debug!(key = other, "ignoring PostgreSQL connection string key"),
    }
    Ok(())
}

/// `Key=Value;Key2="quoted; value";...` (ADO.NET): keys case-insensitive, values may be
/// quoted with `"` or `'` (a doubled quote inside is one).
pub(crate) fn ado_pairs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.trim().is_empty() {
        let Some(eq) = rest.find('=') else {
            break;
        };
        let key = rest[..eq].trim().trim_start_matches(';').trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let (value, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let mut v = String::new();
                let mut chars = after[1..].char_indices().peekable();
                let mut end = after.len();
                while let Some((i, c)) = chars.next() {
                    if c == q {
                        if chars.peek().map(|&(_, n)| n) == Some(q) {
                            v.push(q);
                            chars.next();
                            continue;
                        }
                        end = 1 + i + 1;
                        break;
                    }
                    v.push(c);
                }
                let tail = &after[end.min(after.len())..];
                let next = tail.find(';').map_or("", |p| &tail[p + 1..]);
                (v, next)
            }
            _ => match after.find(';') {
                Some(p) => (after[..p].trim().to_string(), &after[p + 1..]),
                None => (after.trim().to_string(), ""),
            },
        };
        if !key.is_empty() {
            out.push((key, value));
        }
        rest = next;
    }
    out
}

/// libpq `key=value key2='quoted \' value'` pairs.
fn libpq_pairs(s: &str) -> Result<Vec<(String, String)>, DataError> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(pg_err(format!(
                "'{key}' has no value; write key=value pairs such as `host=db port=5432 \
                 dbname=sales user=reports`, or a postgres:// URL"
            )));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(pg_err(format!(
                    "the quoted value of '{key}' has no closing quote"
                )));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c == '\\' {
                    chars.next();
                    if let Some(n) = chars.next() {
                        value.push(n);
                    }
                    continue;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key, value));
    }
    Ok(out)
}

/// Extracts the file path from a SQLite connect string (see the module doc). The path is
/// not checked here; [`crate::sqlite::resolve_path`] does that.
pub fn parse_sqlite(s: &str) -> Result<String, DataError> {
    let s = s.trim();
    let err = |m: &str| DataError::ConnectString {
        provider: "SQLite",
        message: m.to_string(),
    };
    if s.is_empty() {
        return Err(err(
            "it is empty; write `Data Source=/path/to/file.db` with a file under an allowed \
             directory",
        ));
    }
    if s.len() >= 7 && s[..7].eq_ignore_ascii_case("sqlite:") {
        let rest = &s[7..];
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split_once('?').map_or(rest, |(p, _)| p);
        if path.is_empty() {
            return Err(err(
                "the sqlite: URL names no file; write `sqlite:///path/to/file.db`",
            ));
        }
        return Ok(decode(path));
    }
    if !s.contains('=') {
        return Ok(s.to_string());
    }
    ado_pairs(s)
        .into_iter()
        .find(|(k, _)| matches!(norm_key(k).as_str(), "datasource" | "filename"))
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| err("it has no `Data Source=`; write `Data Source=/path/to/file.db`"))
}

fn is_password_key(k: &str) -> bool {
    matches!(norm_key(k).as_str(), "password" | "pwd" | "passwd")
}

/// `connect_string` with every password replaced by `***`, for `Debug` and logs. A string
/// that cannot be parsed is replaced entirely.
pub fn redact(connect_string: &str) -> String {
    let s = connect_string.trim();
    if s.contains("://") {
        let Ok(mut u) = url::Url::parse(s) else {
            return "<unparsable connect string>".into();
        };
        if u.password().is_some() {
            let _ = u.set_password(Some("***"));
        }
        if u.query().is_some() {
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let v = if is_password_key(&k) {
                        "***".into()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            u.query_pairs_mut().clear().extend_pairs(pairs);
        }
        return u.to_string();
    }
    let show = |k: &str, v: &str| {
        if is_password_key(k) {
            "***".to_string()
        } else {
            v.to_string()
        }
    };
    if s.contains(';') || !s.contains('=') {
        if !s.contains('=') {
            return s.to_string();
        }
        return ado_pairs(s)
            .iter()
            .map(|(k, v)| format!("{k}={}", show(k, v)))
            .collect::<Vec<_>>()
            .join(";");
    }
    let join = |pairs: &[(String, String)], sep: &str| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", show(k, v)))
            .collect::<Vec<_>>()
            .join(sep)
    };
    match libpq_pairs(s) {
        Ok(pairs) => join(&pairs, " "),
        // `Data Source=/x.db` (one ADO.NET pair, no `;`).
        Err(_) => join(&ado_pairs(s), ";"),
    }
}
