//! The SQLite provider: a data file opened read-only, only under an allowed directory.
//!
//! A connect string names a file (`Data Source=PATH`, `sqlite:PATH`); it is opened only when
//! its path is absolute, has no `..`, and — with every symbolic link resolved — lies under one
//! of [`Limits::allowed_sqlite_dirs`] (setting `DataSourceDirectories`). The file is opened
//! read-only and never created; `ATTACH`/`DETACH` and `load_extension` are refused so a query
//! cannot reach any other file. Values are typed by the column's declared type where SQLite
//! has one (`BOOLEAN`, `DATE`/`DATETIME`, integer, real, text, blob), else by the value's
//! storage class.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::TryStreamExt;
use rdl::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{Column, ConnectOptions, Connection as _, Executor, Row, Statement, TypeInfo, ValueRef};

use crate::sqltok::{self, Dialect};
use crate::{
    BoundParam, CONNECT_TIMEOUT, CommandType, Connection, DataError, DataProvider, DataTable,
    FieldMeta, Limits, Query, RowBudget, connstr, with_timeout,
};
use engine::{ColumnKind, TableBuilder};

/// Rows sqlx's SQLite worker thread may have decoded ahead of the fetch.
const ROW_BUFFER: usize = 1024;

/// The SQLite provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct SqliteProvider;

/// Statements and functions a report query may not use: they reach other files.
const FORBIDDEN: &[&str] = &["ATTACH", "DETACH", "load_extension"];

fn refused(path: &str, reason: impl Into<String>) -> DataError {
    DataError::PathNotAllowed {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// Checks `raw` (the path from the connect string) against `allowed` and returns the
/// canonical path of the existing regular file to open.
pub fn resolve_path(raw: &str, allowed: &[PathBuf]) -> Result<PathBuf, DataError> {
    if raw == ":memory:" || raw.starts_with("file::memory:") {
        return Err(refused(raw, "an in-memory database holds no data"));
    }
    if allowed.is_empty() {
        return Err(refused(
            raw,
            "no directories are allowed (the setting DataSourceDirectories is empty)",
        ));
    }
    let p = Path::new(raw);
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(refused(raw, "'..' is not allowed in a data file path"));
    }
    if !p.is_absolute() {
        return Err(refused(raw, "the path must be absolute"));
    }
    // The allowed directories as configured and as resolved (they may be links themselves).
    let allowed_canon: Vec<PathBuf> = allowed
        .iter()
        .filter_map(|d| std::fs::canonicalize(d).ok())
        .collect();
    // Lexical check first, so nothing outside is even looked at.
    let lexically_inside = allowed
        .iter()
        .chain(&allowed_canon)
        .any(|d| d.is_absolute() && p.starts_with(d));
    if !lexically_inside {
        return Err(refused(raw, "it is outside the allowed directories"));
    }
    let canon = std::fs::canonicalize(p)
        .map_err(|e| refused(raw, format!("it cannot be resolved ({e})")))?;
    if !allowed_canon.iter().any(|d| canon.starts_with(d)) {
        return Err(refused(
            raw,
            "it resolves (through a symbolic link) to a file outside the allowed directories",
        ));
    }
    let meta = std::fs::metadata(&canon).map_err(|e| refused(raw, format!("{e}")))?;
    if !meta.is_file() {
        return Err(refused(raw, "it is not a regular file"));
    }
    Ok(canon)
}

async fn open(
    conn: &Connection,
    limits: &Limits,
) -> Result<(SqliteConnection, PathBuf), DataError> {
    let raw = connstr::parse_sqlite(&conn.connect_string)?;
    let allowed = limits.allowed_sqlite_dirs.clone();
    let raw2 = raw.clone();
    let path = tokio::task::spawn_blocking(move || resolve_path(&raw2, &allowed))
        .await
        .map_err(|e| refused(&raw, format!("the path check failed ({e})")))??;
    let opts = SqliteConnectOptions::new()
        .filename(&path)
        .read_only(true)
        .create_if_missing(false)
        // rows come from sqlx's worker thread through a channel: a deeper one lets the
        // worker run ahead instead of waking this task for every few rows
        .row_buffer_size(ROW_BUFFER)
        .disable_statement_logging();
    let target = path.display().to_string();
    let connect_err = |message: String| DataError::Connect {
        provider: "SQLite",
        target: target.clone(),
        message,
    };
    let c = match tokio::time::timeout(CONNECT_TIMEOUT, opts.connect()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Err(connect_err(e.to_string())),
        Err(_) => {
            return Err(connect_err(format!(
                "no answer within {} seconds",
                CONNECT_TIMEOUT.as_secs()
            )));
        }
    };
    Ok((c, path))
}

fn query_err(e: sqlx::Error) -> DataError {
    DataError::Query {
        message: match e {
            sqlx::Error::Database(d) => d.message().to_string(),
            other => other.to_string(),
        },
    }
}

/// The SQL to run for `query`.
fn command_sql(query: &Query) -> Result<String, DataError> {
    Ok(match query.command_type {
        CommandType::Text => query.command_text.clone(),
        CommandType::TableDirect => {
            let name = query.command_text.trim();
            format!("SELECT * FROM \"{}\"", name.replace('"', "\"\""))
        }
        CommandType::StoredProcedure => {
            return Err(DataError::Unsupported {
                message: "SQLite has no stored procedures; set the data set's command type to \
                          Text and write the query"
                    .into(),
            });
        }
    })
}

/// How a declared column type steers conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decl {
    Bool,
    Int,
    Float,
    Text,
    Blob,
    DateTime,
    None,
}

fn decl_of(type_name: &str) -> Decl {
    match type_name {
        "BOOLEAN" => Decl::Bool,
        "INTEGER" => Decl::Int,
        "REAL" => Decl::Float,
        "TEXT" => Decl::Text,
        "BLOB" => Decl::Blob,
        "DATE" | "DATETIME" => Decl::DateTime,
        _ => Decl::None,
    }
}

fn clr_of(d: Decl) -> &'static str {
    match d {
        Decl::Bool => "System.Boolean",
        Decl::Int => "System.Int64",
        Decl::Float => "System.Double",
        Decl::Text => "System.String",
        Decl::Blob => "System.Byte[]",
        Decl::DateTime => "System.DateTime",
        Decl::None => "System.Object",
    }
}

/// The table column kind a declared SQLite column type stores its values as (values of
/// another storage class make the column mixed).
fn column_kind(d: Decl) -> ColumnKind {
    match d {
        Decl::Bool => ColumnKind::Bool,
        Decl::Int => ColumnKind::Int,
        Decl::Float => ColumnKind::Float,
        Decl::Text => ColumnKind::Str,
        Decl::Blob => ColumnKind::Bytes,
        Decl::DateTime => ColumnKind::DateTime,
        Decl::None => ColumnKind::Unknown,
    }
}

/// Decodes column `i` of `row` into column `i` of `out` by its storage class, steered by the
/// declared type; returns the value's approximate size for the byte limit.
fn push(row: &SqliteRow, i: usize, decl: Decl, out: &mut TableBuilder) -> Result<usize, DataError> {
    let raw = row.try_get_raw(i).map_err(query_err)?;
    if raw.is_null() {
        out.push_null(i);
        return Ok(16);
    }
    let storage = raw.type_info();
    let mut extra = 0;
    match storage.name() {
        "INTEGER" => {
            let v: i64 = row.try_get_unchecked(i).map_err(query_err)?;
            match decl {
                Decl::Bool => out.push_bool(i, v != 0),
                Decl::Float => out.push_float(i, v as f64),
                _ => out.push_int(i, v),
            }
        }
        "REAL" => out.push_float(i, row.try_get_unchecked(i).map_err(query_err)?),
        "BLOB" => {
            let v: &[u8] = row.try_get_unchecked(i).map_err(query_err)?;
            extra = v.len();
            out.push_bytes(i, Arc::from(v));
        }
        _ => {
            let v: &str = row.try_get_unchecked(i).map_err(query_err)?;
            extra = v.len();
            match decl {
                Decl::DateTime => match crate::enterdata::parse_datetime(v) {
                    Some(t) => out.push_datetime(i, t),
                    None => out.push_str(i, v),
                },
                Decl::Bool if v.eq_ignore_ascii_case("true") => out.push_bool(i, true),
                Decl::Bool if v.eq_ignore_ascii_case("false") => out.push_bool(i, false),
                _ => out.push_str(i, v),
            }
        }
    }
    Ok(16 + extra)
}

fn bind<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    v: Value,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    match v {
        Value::Null | Value::Array(_) => q.bind(None::<String>),
        Value::Bool(b) => q.bind(b),
        Value::Int(i) => q.bind(i),
        Value::Float(x) => q.bind(x),
        // Text keeps every digit; SQLite's numeric affinity converts it where compared.
        Value::Decimal(d) => q.bind(d.to_string()),
        Value::Str(s) => q.bind(s.to_string()),
        Value::DateTime(t) => q.bind(format_datetime(t)),
        Value::Bytes(b) => q.bind(b.to_vec()),
    }
}

/// SQLite's conventional text form `YYYY-MM-DD HH:MM:SS[.fff]`.
fn format_datetime(t: time::PrimitiveDateTime) -> String {
    let base = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    match t.millisecond() {
        0 => base,
        ms => format!("{base}.{ms:03}"),
    }
}

/// Sets its flag when dropped: the progress handler then interrupts the running statement,
/// so a timed-out or abandoned query stops burning the worker thread.
struct InterruptOnDrop(Arc<AtomicBool>);

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// VM instructions between progress-handler calls (a few microseconds of work).
const PROGRESS_OPS: i32 = 1000;

async fn run(
    conn: &Connection,
    query: &Query,
    params: &[BoundParam],
    limits: &Limits,
    timeout: Option<Duration>,
) -> Result<DataTable, DataError> {
    let sql = command_sql(query)?;
    if let Some(k) = sqltok::find_keyword(&sql, Dialect::Sqlite, FORBIDDEN) {
        return Err(DataError::Unsupported {
            message: format!(
                "{k} is not allowed in a report query: a SQLite data source reads only its own \
                 file; remove it from the query"
            ),
        });
    }
    let rw = sqltok::rewrite(&sql, params, Dialect::Sqlite)?;
    let (mut c, _path) = open(conn, limits).await?;
    let interrupted = Arc::new(AtomicBool::new(false));
    let _interrupt = InterruptOnDrop(Arc::clone(&interrupted));
    let deadline = timeout.map(|t| Instant::now() + t);
    {
        let flag = Arc::clone(&interrupted);
        let mut h = c.lock_handle().await.map_err(query_err)?;
        h.set_progress_handler(PROGRESS_OPS, move || {
            !flag.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d)
        });
    }
    let query_err = |e: sqlx::Error| match (deadline, timeout) {
        (Some(d), Some(t)) if Instant::now() >= d => DataError::Timeout {
            seconds: t.as_secs_f64(),
        },
        _ => query_err(e),
    };
    let stmt = (&mut c).prepare(rw.sql.as_str()).await.map_err(query_err)?;
    let decls: Vec<Decl> = stmt
        .columns()
        .iter()
        .map(|col| decl_of(col.type_info().name()))
        .collect();
    let fields: Vec<FieldMeta> = stmt
        .columns()
        .iter()
        .zip(&decls)
        .map(|(col, d)| FieldMeta {
            name: col.name().to_string(),
            type_name: clr_of(*d).to_string(),
        })
        .collect();
    let mut q = stmt.query();
    for v in rw.values {
        q = bind(q, v);
    }
    let kinds: Vec<ColumnKind> = decls.iter().map(|d| column_kind(*d)).collect();
    let mut out = TableBuilder::new(fields.iter().map(|f| f.name.clone()).collect(), &kinds);
    let mut budget = RowBudget::new(limits);
    {
        let mut stream = q.fetch(&mut c);
        while let Some(row) = stream.try_next().await.map_err(query_err)? {
            let mut bytes = 0;
            for (i, d) in decls.iter().enumerate() {
                bytes += push(&row, i, *d, &mut out)?;
            }
            budget.admit(out.rows(), bytes)?;
            out.end_row();
        }
    }
    let _ = c.close().await;
    Ok(DataTable {
        fields,
        table: out.finish(),
    })
}

#[async_trait]
impl DataProvider for SqliteProvider {
    fn names(&self) -> &'static [&'static str] {
        &[
            "SQLITE",
            "SQLite",
            "Microsoft.Data.Sqlite",
            "System.Data.SQLite",
            "sqlite3",
        ]
    }

    async fn execute(
        &self,
        conn: &Connection,
        query: &Query,
        params: &[BoundParam],
        limits: &Limits,
    ) -> Result<DataTable, DataError> {
        let timeout = limits.timeout_for(query);
        with_timeout(timeout, run(conn, query, params, limits, timeout)).await
    }

    async fn test_connection(&self, conn: &Connection, limits: &Limits) -> Result<(), DataError> {
        let (c, _) = open(conn, limits).await?;
        let _ = c.close().await;
        Ok(())
    }
}
