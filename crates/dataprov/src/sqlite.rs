//! The SQLite provider: a data file opened read-only, only under an allowed directory.
//!
//! A connect string names a file (`Data Source=PATH`, `sqlite:PATH`); it is opened only when
//! its path is absolute, has no `..`, and — with every symbolic link resolved — lies under one
//! of [`Limits::allowed_sqlite_dirs`] (setting `DataSourceDirectories`). The file is opened
//! read-only and never created; `ATTACH`/`DETACH` and `load_extension` are refused so a query
//! cannot reach any other file. Values are typed by the column's declared type where SQLite
//! has one (`BOOLEAN`, `DATE`/`DATETIME`, integer, real, text, blob), else by the value's
//! storage class. The fetch runs on one blocking thread (rusqlite over the same
//! `libsqlite3-sys` sqlx links): rows go from `sqlite3_step` straight into the engine's
//! table; a progress handler stops it at the query timeout or when the render is dropped.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdl::Value;
use rusqlite::OpenFlags;
use rusqlite::types::ValueRef;

use crate::sqltok::{self, Dialect};
use crate::{
    BoundParam, CONNECT_TIMEOUT, CommandType, Connection, DataError, DataProvider, DataTable,
    FieldMeta, Limits, Query, RowBudget, connstr, with_timeout,
};
use engine::{ColumnKind, TableBuilder};

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

fn connect_err(path: &Path, message: String) -> DataError {
    DataError::Connect {
        provider: "SQLite",
        target: path.display().to_string(),
        message,
    }
}

/// Checks the connect string's path against the allow-list and opens the file read-only
/// (never created, no URI interpretation, no extension loading). Blocking.
fn open(raw: &str, allowed: &[PathBuf]) -> Result<rusqlite::Connection, DataError> {
    let path = resolve_path(raw, allowed)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    // rusqlite sets a busy timeout of 5 seconds, as sqlx did: a writer's lock is waited for
    rusqlite::Connection::open_with_flags(&path, flags)
        .map_err(|e| connect_err(&path, sqlite_message(e)))
}

/// The database's own message for `e` (what `sqlite3_errmsg` said), else the error's text.
fn sqlite_message(e: rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m,
        rusqlite::Error::SqlInputError { msg, .. } => msg,
        other => other.to_string(),
    }
}

fn query_err(e: rusqlite::Error) -> DataError {
    DataError::Query {
        message: sqlite_message(e),
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

/// The conversion a column's declared type (`sqlite3_column_decltype`) asks for; `None` for an
/// expression column. SQLite's affinity rules as sqlx applies them (`INT4`/`INT8`,
/// `BOOL`/`BOOLEAN`, `DATE`, `DATETIME`/`TIMESTAMP`, then `*INT*`, `*CHAR*`/`*CLOB*`/`*TEXT*`,
/// `*BLOB*`, `*REAL*`/`*FLOA*`/`*DOUB*`); `TIME`, `NUMERIC`, `DECIMAL` and the like take each
/// value's storage class.
fn decl_of(declared: Option<&str>) -> Decl {
    let Some(d) = declared else {
        return Decl::None;
    };
    let s = d.to_ascii_lowercase();
    match s.as_str() {
        "int4" | "int8" => Decl::Int,
        "boolean" | "bool" => Decl::Bool,
        "date" | "datetime" | "timestamp" => Decl::DateTime,
        "time" => Decl::None,
        _ if s.contains("int") => Decl::Int,
        _ if s.contains("char") || s.contains("clob") || s.contains("text") => Decl::Text,
        _ if s.contains("blob") => Decl::Blob,
        _ if s.contains("real") || s.contains("floa") || s.contains("doub") => Decl::Float,
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

/// Decodes `v` into column `i` of `out` by its storage class, steered by the declared type;
/// returns the value's approximate size for the byte limit.
fn push(v: ValueRef<'_>, i: usize, decl: Decl, out: &mut TableBuilder) -> Result<usize, DataError> {
    Ok(match v {
        ValueRef::Null => {
            out.push_null(i);
            16
        }
        ValueRef::Integer(v) => {
            match decl {
                Decl::Bool => out.push_bool(i, v != 0),
                Decl::Float => out.push_float(i, v as f64),
                _ => out.push_int(i, v),
            }
            16
        }
        ValueRef::Real(x) => {
            out.push_float(i, x);
            16
        }
        ValueRef::Blob(b) => {
            out.push_bytes(i, Arc::from(b));
            16 + b.len()
        }
        ValueRef::Text(t) => {
            let bad = |e: std::str::Utf8Error| DataError::Query {
                message: format!("column {i} holds text that is not valid UTF-8 ({e})"),
            };
            match decl {
                Decl::DateTime | Decl::Bool => {
                    let v = std::str::from_utf8(t).map_err(bad)?;
                    match decl {
                        Decl::DateTime => match parse_datetime(v) {
                            Some(t) => out.push_datetime(i, t),
                            None => out.push_str(i, v),
                        },
                        _ if v.eq_ignore_ascii_case("true") => out.push_bool(i, true),
                        _ if v.eq_ignore_ascii_case("false") => out.push_bool(i, false),
                        _ => out.push_str(i, v),
                    }
                }
                // checked as UTF-8 when it is a new text
                _ => out.push_utf8(i, t).map_err(bad)?,
            }
            16 + t.len()
        }
    })
}

/// `v` as a date/time: SQLite's own forms `YYYY-MM-DD` and `YYYY-MM-DD HH:MM:SS` read
/// directly, anything else as ENTERDATA reads it (the same result for those two forms).
fn parse_datetime(v: &str) -> Option<time::PrimitiveDateTime> {
    fn num(b: &[u8]) -> Option<u16> {
        b.iter().try_fold(0u16, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u16::from(c - b'0'))
        })
    }
    let b = v.as_bytes();
    let fast = (b.len() == 10
        || (b.len() == 19 && b[10] == b' ' && b[13] == b':' && b[16] == b':'))
        && b[4] == b'-'
        && b[7] == b'-';
    if fast {
        let date = (|| {
            let month = time::Month::try_from(u8::try_from(num(&b[5..7])?).ok()?).ok()?;
            time::Date::from_calendar_date(
                i32::from(num(&b[..4])?),
                month,
                u8::try_from(num(&b[8..10])?).ok()?,
            )
            .ok()
        })();
        let clock = if b.len() == 10 {
            Some(time::Time::MIDNIGHT)
        } else {
            (|| {
                let part = |r: std::ops::Range<usize>| u8::try_from(num(&b[r])?).ok();
                time::Time::from_hms(part(11..13)?, part(14..16)?, part(17..19)?).ok()
            })()
        };
        if let (Some(d), Some(t)) = (date, clock) {
            return Some(time::PrimitiveDateTime::new(d, t));
        }
    }
    crate::enterdata::parse_datetime(v)
}

/// Binds `value` to parameter `index` (1-based) of `stmt`.
fn bind(stmt: &mut rusqlite::Statement<'_>, index: usize, value: &Value) -> rusqlite::Result<()> {
    match value {
        Value::Null | Value::Array(_) => stmt.raw_bind_parameter(index, rusqlite::types::Null),
        Value::Bool(b) => stmt.raw_bind_parameter(index, b),
        Value::Int(i) => stmt.raw_bind_parameter(index, i),
        Value::Float(x) => stmt.raw_bind_parameter(index, x),
        // Text keeps every digit; SQLite's numeric affinity converts it where compared.
        Value::Decimal(d) => stmt.raw_bind_parameter(index, d.to_string()),
        Value::Str(s) => stmt.raw_bind_parameter(index, &**s),
        Value::DateTime(t) => stmt.raw_bind_parameter(index, format_datetime(*t)),
        Value::Bytes(b) => stmt.raw_bind_parameter(index, &**b),
    }
}

/// Binds the statement's parameters from `values`, the anonymous ones (`?`, what the
/// rewrite writes) in order from `*next`, `?NNN`/`$NNN` by number; a parameter past the end
/// of `values` stays NULL.
fn bind_all(
    stmt: &mut rusqlite::Statement<'_>,
    values: &[Value],
    next: &mut usize,
) -> Result<(), DataError> {
    for p in 1..=stmt.parameter_count() {
        let n = match stmt.parameter_name(p) {
            None => {
                *next += 1;
                *next
            }
            Some(name) => name
                .strip_prefix(['?', '$'])
                .and_then(|d| d.parse::<usize>().ok())
                .ok_or_else(|| DataError::Query {
                    message: format!(
                        "unsupported SQL parameter format: {name}; write @name in the query \
                         and define the query parameter in the data set"
                    ),
                })?,
        };
        let Some(v) = n.checked_sub(1).and_then(|k| values.get(k)) else {
            break;
        };
        bind(stmt, p, v).map_err(query_err)?;
    }
    Ok(())
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
/// so a timed-out or abandoned query (the render dropped) stops its blocking thread.
struct InterruptOnDrop(Arc<AtomicBool>);

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// VM instructions between progress-handler calls (a few microseconds of work).
const PROGRESS_OPS: i32 = 1000;

/// What the blocking fetch needs, moved onto its thread.
struct Job {
    raw_path: String,
    allowed: Vec<PathBuf>,
    sql: String,
    values: Vec<Value>,
    limits: Limits,
    stop: Arc<AtomicBool>,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
}

/// The columns of a result: names, CLR types, conversions and the table they fill.
struct Sink {
    fields: Vec<FieldMeta>,
    decls: Vec<Decl>,
    out: TableBuilder,
}

impl Sink {
    fn of(stmt: &rusqlite::Statement<'_>) -> Sink {
        let columns = stmt.columns();
        let decls: Vec<Decl> = columns.iter().map(|c| decl_of(c.decl_type())).collect();
        let fields: Vec<FieldMeta> = columns
            .iter()
            .zip(&decls)
            .map(|(c, d)| FieldMeta {
                name: c.name().to_string(),
                type_name: clr_of(*d).to_string(),
            })
            .collect();
        let kinds: Vec<ColumnKind> = decls.iter().map(|d| column_kind(*d)).collect();
        let out = TableBuilder::new(fields.iter().map(|f| f.name.clone()).collect(), &kinds);
        Sink { fields, decls, out }
    }
}

/// Opens the file and runs the query on this (blocking) thread: each row goes from
/// `sqlite3_step` straight into the table, the values read in place (no copy per value,
/// no channel per row). Every statement of the text runs in order (their `?` parameters
/// numbered across them); the columns are those of the first statement that has any, and
/// the rows of every statement with columns fill them.
fn fetch(job: Job) -> Result<DataTable, DataError> {
    let c = open(&job.raw_path, &job.allowed)?;
    let (stop, deadline) = (job.stop, job.deadline);
    c.progress_handler(
        PROGRESS_OPS,
        Some(move || stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d)),
    );
    let err = |e: rusqlite::Error| match (deadline, job.timeout) {
        (Some(d), Some(t)) if Instant::now() >= d => DataError::Timeout {
            seconds: t.as_secs_f64(),
        },
        _ => query_err(e),
    };
    let mut sink: Option<Sink> = None;
    let mut budget = RowBudget::new(&job.limits);
    let mut next_param = 0;
    let mut batch = rusqlite::Batch::new(&c, &job.sql);
    while let Some(mut stmt) = batch.next().map_err(err)? {
        bind_all(&mut stmt, &job.values, &mut next_param)?;
        if sink.is_none() && stmt.column_count() > 0 {
            sink = Some(Sink::of(&stmt));
        }
        let width = stmt.column_count();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().map_err(err)? {
            let Some(s) = sink.as_mut() else { continue };
            let mut bytes = 0;
            for (i, d) in s.decls.iter().enumerate() {
                if i >= width {
                    return Err(DataError::Query {
                        message: format!(
                            "a statement of the query returns {width} columns where the first \
                             returns {}; a data set has one set of columns",
                            s.decls.len()
                        ),
                    });
                }
                bytes += push(row.get_ref(i).map_err(err)?, i, *d, &mut s.out)?;
            }
            budget.admit(s.out.rows(), bytes)?;
            s.out.end_row();
        }
    }
    let _ = c.close();
    Ok(match sink {
        Some(s) => DataTable {
            fields: s.fields,
            table: s.out.finish(),
        },
        None => DataTable {
            fields: Vec::new(),
            table: TableBuilder::new(Vec::new(), &[]).finish(),
        },
    })
}

/// Runs `f` on a blocking thread (file checks, opening and stepping block).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DataError> + Send + 'static,
) -> Result<T, DataError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(DataError::Query {
            message: format!("the SQLite fetch failed ({e})"),
        })
    })
}

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
    let raw_path = connstr::parse_sqlite(&conn.connect_string)?;
    let stop = Arc::new(AtomicBool::new(false));
    // dropped with this future (a timeout, the render abandoned): the fetch stops soon
    let _interrupt = InterruptOnDrop(Arc::clone(&stop));
    let job = Job {
        raw_path,
        allowed: limits.allowed_sqlite_dirs.clone(),
        sql: rw.sql,
        values: rw.values,
        limits: limits.clone(),
        stop,
        deadline: timeout.map(|t| Instant::now() + t),
        timeout,
    };
    blocking(move || fetch(job)).await
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
        let raw = connstr::parse_sqlite(&conn.connect_string)?;
        let allowed = limits.allowed_sqlite_dirs.clone();
        let target = raw.clone();
        let work = blocking(move || {
            let c = open(&raw, &allowed)?;
            let _ = c.close();
            Ok(())
        });
        match tokio::time::timeout(CONNECT_TIMEOUT, work).await {
            Ok(r) => r,
            Err(_) => Err(DataError::Connect {
                provider: "SQLite",
                target,
                message: format!("no answer within {} seconds", CONNECT_TIMEOUT.as_secs()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Column as _, ConnectOptions as _, Executor as _, Statement as _, TypeInfo as _};

    struct Db {
        _tmp: tempfile::TempDir,
        dir: PathBuf,
        file: PathBuf,
    }

    fn db(schema: &str) -> Db {
        let tmp = tempfile::tempdir().unwrap();
        let dir = std::fs::canonicalize(tmp.path()).unwrap();
        let file = dir.join("t.db");
        rusqlite::Connection::open(&file)
            .unwrap()
            .execute_batch(schema)
            .unwrap();
        Db {
            _tmp: tmp,
            dir,
            file,
        }
    }

    fn conn(d: &Db) -> Connection {
        Connection {
            extension: "SQLITE".into(),
            connect_string: format!("Data Source={}", d.file.display()),
            credentials: None,
        }
    }

    fn limits(d: &Db) -> Limits {
        Limits {
            allowed_sqlite_dirs: vec![d.dir.clone()],
            ..Limits::default()
        }
    }

    /// The mapping the sqlx fetch used: sqlx's type name of the prepared column.
    fn decl_by_sqlx_name(name: &str) -> Decl {
        match name {
            "BOOLEAN" => Decl::Bool,
            "INTEGER" => Decl::Int,
            "REAL" => Decl::Float,
            "TEXT" => Decl::Text,
            "BLOB" => Decl::Blob,
            "DATE" | "DATETIME" => Decl::DateTime,
            _ => Decl::None,
        }
    }

    #[tokio::test]
    async fn declared_types_map_as_sqlx_mapped_them() {
        let types = [
            "INT4",
            "int8",
            "INTEGER",
            "BIGINT",
            "UNSIGNED BIG INT",
            "MEDIUMINT",
            "BOOL",
            "Boolean",
            "DATE",
            "TIME",
            "TIMESTAMP",
            "DateTime",
            "VARCHAR(20)",
            "NCHAR(5)",
            "CLOB",
            "TEXT",
            "BLOB",
            "REAL",
            "FLOAT",
            "DOUBLE PRECISION",
            "NUMERIC",
            "DECIMAL(10,2)",
            "STRING",
            "",
        ];
        let cols: Vec<String> = (0..types.len())
            .map(|i| format!("c{i} {}", types[i]))
            .collect();
        let d = db(&format!("CREATE TABLE t ({});", cols.join(", ")));
        let sql = "SELECT *, 1 + 1 AS expr, 'x' AS lit FROM t";
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&d.file)
            .read_only(true)
            .connect()
            .await
            .unwrap();
        let stmt = (&mut c).prepare(sql).await.unwrap();
        let by_sqlx: Vec<Decl> = stmt
            .columns()
            .iter()
            .map(|c| decl_by_sqlx_name(c.type_info().name()))
            .collect();
        let r = rusqlite::Connection::open(&d.file).unwrap();
        let ours: Vec<Decl> = r
            .prepare(sql)
            .unwrap()
            .columns()
            .iter()
            .map(|c| decl_of(c.decl_type()))
            .collect();
        assert_eq!(ours.len(), types.len() + 2);
        assert_eq!(ours, by_sqlx);
        // and not all alike: the test would catch a mapping that ignores the declaration
        assert_eq!(ours[0], Decl::Int);
        assert_eq!(ours[6], Decl::Bool);
        assert_eq!(ours[12], Decl::Text);
        assert_eq!(ours[19], Decl::Float);
        assert_eq!(ours[20], Decl::None);
    }

    #[test]
    fn sqlite_date_forms_read_as_enterdata_reads_them() {
        let mut cases = vec![
            String::new(),
            "2024-1-02".into(),
            "2024-01-02T10:20:30".into(),
            "2024-01-02 10:20:30.5".into(),
            "2024-01-02 1:20:30".into(),
            "2024-01-02 10:20:3x".into(),
            "20x4-01-02".into(),
            "+024-01-02".into(),
            "2024-01-02 10-20-30".into(),
            "01/02/2024".into(),
            "2024-01-02 24:00:00".into(),
            "2024-01-02 23:60:00".into(),
            "2024-01-02 23:59:60".into(),
        ];
        for y in [0, 1, 1900, 2000, 2023, 2024, 9999] {
            for m in 0..=13 {
                for d in [0, 1, 28, 29, 30, 31, 32] {
                    cases.push(format!("{y:04}-{m:02}-{d:02}"));
                    cases.push(format!(
                        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
                        d % 25,
                        m * 5,
                        d
                    ));
                }
            }
        }
        let mut dated = 0;
        for c in &cases {
            let ours = parse_datetime(c);
            assert_eq!(ours, crate::enterdata::parse_datetime(c), "{c:?}");
            dated += usize::from(ours.is_some());
        }
        // both forms, valid and not, were among the cases
        assert!(
            dated > 500 && dated < cases.len() - 500,
            "{dated} of {}",
            cases.len()
        );
    }

    #[tokio::test]
    async fn parameters_number_across_the_statements_of_the_text() {
        let d = db("CREATE TABLE t (a INTEGER);");
        let q = Query {
            command_text: "SELECT @a AS v; SELECT @b; SELECT ?1 || '!'".into(),
            ..Query::default()
        };
        let params = [
            BoundParam {
                name: "a".into(),
                value: Value::from("first"),
            },
            BoundParam {
                name: "b".into(),
                value: Value::Int(2),
            },
        ];
        let t = SqliteProvider
            .execute(&conn(&d), &q, &params, &limits(&d))
            .await
            .unwrap();
        assert_eq!(t.fields.len(), 1);
        assert_eq!(t.fields[0].name, "v");
        assert_eq!(t.len(), 3);
        assert_eq!(t.value(0, 0), Value::from("first"));
        assert_eq!(t.value(1, 0), Value::Int(2));
        assert_eq!(t.value(2, 0), Value::from("first!"));
    }

    /// `BEGIN EXCLUSIVE` on a second connection: it succeeds only while no reader holds the
    /// file's shared lock.
    fn exclusive(file: &Path, wait: Duration) -> rusqlite::Result<()> {
        let w = rusqlite::Connection::open(file)?;
        w.busy_timeout(wait)?;
        w.execute_batch("BEGIN EXCLUSIVE; ROLLBACK;")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_fetch_stops_and_lets_go_of_the_file() {
        let d = db("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1);");
        let q = Query {
            // never ends: reads t (a shared lock on the file) for every row of c
            command_text: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                           SELECT count(*) FROM c, t"
                .into(),
            // far beyond the drop below; it ends the query (and this test, failed) should
            // the drop not stop it
            timeout: Some(Duration::from_secs(20)),
            ..Query::default()
        };
        let (cn, l) = (conn(&d), limits(&d));
        let fetch = SqliteProvider.execute(&cn, &q, &[], &l);
        let watched = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let file = d.file.clone();
            // while the fetch runs, the file is locked
            tokio::task::spawn_blocking(move || exclusive(&file, Duration::ZERO))
                .await
                .unwrap()
        };
        let locked = tokio::select! {
            r = fetch => panic!("the runaway query ended: {r:?}"),
            l = watched => l,
        };
        assert!(locked.is_err(), "the running fetch held no lock");
        // the fetch future is dropped now: its blocking thread must stop and close the file
        let file = d.file.clone();
        let started = Instant::now();
        tokio::task::spawn_blocking(move || exclusive(&file, Duration::from_secs(5)))
            .await
            .unwrap()
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
