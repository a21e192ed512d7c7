//! The report server database's location, parsed once: [`DatabaseUrl`].
//!
//! Owns the one parser of the `DatabaseUrl` setting (`sqlite:PATH`, relative to the data
//! dir, or a `postgres://`/`postgresql://` URL) and its redaction: `Display` and `Debug`
//! never show a password, so the URL can be printed, logged and put in errors as it is.
//! The text with the password is reached only through [`DatabaseUrl::connect_string`], for
//! the catalog's connection.
//!
//! It must not connect to anything or know SQL.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use zeroize::Zeroizing;

use crate::{Error, Result};

/// Which catalog implementation a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgresql`, as `status` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The location of the report server database, as stored in `reportd.toml`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    /// As stored (may hold a password): never formatted directly.
    raw: Zeroizing<String>,
    backend: Backend,
}

impl DatabaseUrl {
    /// Parses a stored or given database URL; the error says what is wrong and what a
    /// valid one looks like (without repeating a password).
    pub fn parse(s: &str) -> Result<DatabaseUrl> {
        let s = s.trim();
        let bad = |why: &str| {
            Error::Setting(format!(
                "invalid database URL {:?}: {why}; use sqlite:FILE (relative to the data dir) or postgres://USER@HOST:PORT/DATABASE",
                redact(s)
            ))
        };
        let scheme = s.split_once(':').map(|(a, _)| a.to_ascii_lowercase());
        let backend = match scheme.as_deref() {
            Some("sqlite") => {
                let rest = &s["sqlite:".len()..];
                let rest = rest.strip_prefix("//").unwrap_or(rest);
                if rest.split('?').next().unwrap_or("").is_empty() {
                    return Err(bad("it names no file"));
                }
                Backend::Sqlite
            }
            Some("postgres" | "postgresql") => {
                let u = url::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
                if u.host_str().is_none_or(str::is_empty) && !s.contains("host=") {
                    return Err(bad("it names no host"));
                }
                let db = u.path().trim_start_matches('/');
                if db.is_empty() {
                    return Err(bad("it names no database"));
                }
                Backend::Postgres
            }
            _ => return Err(bad("the scheme must be sqlite: or postgres://")),
        };
        Ok(DatabaseUrl {
            raw: Zeroizing::new(s.to_owned()),
            backend,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The text stored in `reportd.toml` (with its password, if any): for writing the file.
    pub fn stored(&self) -> &str {
        &self.raw
    }

    /// The URL the catalog connects to, a relative SQLite path made absolute against the
    /// data dir `root`. Holds the password: pass it to the catalog only.
    pub fn connect_string(&self, root: &Path) -> Zeroizing<String> {
        match self.sqlite_path(root) {
            Some(p) => Zeroizing::new(format!("sqlite:{}", p.display())),
            None => self.raw.clone(),
        }
    }

    /// The SQLite file, absolute; `None` for PostgreSQL.
    pub fn sqlite_path(&self, root: &Path) -> Option<PathBuf> {
        (self.backend == Backend::Sqlite)
            .then(|| crate::config::resolve_sqlite_path(root, &self.raw))
            .flatten()
    }

    /// For PostgreSQL: host (and port) and database name, for `status` and the WMI
    /// properties; `None` for SQLite.
    pub fn server_and_database(&self) -> Option<(String, String)> {
        if self.backend != Backend::Postgres {
            return None;
        }
        let u = url::Url::parse(&self.raw).ok()?;
        let host = u.host_str().unwrap_or("localhost").to_owned();
        let server = match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        let db = u.path().trim_start_matches('/');
        let db = percent_decode(db);
        Some((server, db))
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

/// `s` without the password of its user information (`postgres://u:secret@h/d` →
/// `postgres://u@h/d`); text that is not such a URL is returned as is.
fn redact(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return strip_query_password(s);
    };
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    strip_query_password(&format!("{scheme}://{user}@{host}{tail}"))
}

/// Removes a `password=` query parameter.
fn strip_query_password(s: &str) -> String {
    let Some((head, query)) = s.split_once('?') else {
        return s.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| {
            !kv.split('=')
                .next()
                .unwrap_or("")
                .eq_ignore_ascii_case("password")
        })
        .collect();
    if kept.is_empty() {
        head.to_owned()
    } else {
        format!("{head}?{}", kept.join("&"))
    }
}

impl fmt::Display for DatabaseUrl {
    /// The URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.raw))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

impl FromStr for DatabaseUrl {
    type Err = Error;
    fn from_str(s: &str) -> Result<DatabaseUrl> {
        DatabaseUrl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_backends_and_refuses_the_rest() {
        let s = DatabaseUrl::parse("sqlite:catalog.db").unwrap();
        assert_eq!(s.backend(), Backend::Sqlite);
        assert_eq!(
            s.connect_string(Path::new("/data")).as_str(),
            "sqlite:/data/catalog.db"
        );
        assert_eq!(s.server_and_database(), None);
        let p = DatabaseUrl::parse("postgres://rs:p%40ss@db.example:5433/Report%24RS").unwrap();
        assert_eq!(p.backend(), Backend::Postgres);
        assert_eq!(
            p.server_and_database(),
            Some(("db.example:5433".into(), "Report$RS".into()))
        );
        assert_eq!(
            p.connect_string(Path::new("/data")).as_str(),
            "postgres://rs:p%40ss@db.example:5433/Report%24RS"
        );
        for bad in [
            "mysql://h/db",
            "sqlite:",
            "postgres://h/",
            "catalog.db",
            "postgres://u:pw@:5/x y",
        ] {
            let e = DatabaseUrl::parse(bad).unwrap_err().to_string();
            assert!(e.contains("sqlite:FILE"), "{bad}: {e}");
            assert!(!e.contains("pw@"), "{e}");
        }
    }

    #[test]
    fn display_and_debug_never_show_the_password() {
        let p = DatabaseUrl::parse("postgresql://rs:TopSecret@h:5432/rs?sslmode=require").unwrap();
        for shown in [p.to_string(), format!("{p:?}")] {
            assert!(!shown.contains("TopSecret"), "{shown}");
            assert!(
                shown.contains("postgresql://rs@h:5432/rs?sslmode=require"),
                "{shown}"
            );
        }
        let q = DatabaseUrl::parse("postgres://h/rs?user=a&password=TopSecret").unwrap();
        assert!(!q.to_string().contains("TopSecret"), "{q}");
        assert!(q.to_string().contains("user=a"), "{q}");
        assert_eq!(
            p.stored(),
            "postgresql://rs:TopSecret@h:5432/rs?sslmode=require"
        );
    }
}
