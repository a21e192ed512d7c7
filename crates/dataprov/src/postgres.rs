//! The PostgreSQL provider over sqlx.
//!
//! One connection per execute (connect bounded by [`CONNECT_TIMEOUT`]); the query timeout is
//! enforced twice: on the server (`statement_timeout`, sent at connect) and here
//! (`tokio::time::timeout` around connect and fetch). Rows stream and the row/byte limits are
//! checked per row. A query without bound parameters (one `SELECT`/`WITH`/`VALUES`/`TABLE`
//! statement) whose columns are all integers, floats, numerics, texts, booleans, dates or
//! timestamps is prepared (its columns and parse errors as sqlx gets them), then its rows come
//! through `COPY (query) TO STDOUT (FORMAT binary)`, decoded here tuple by tuple (no row
//! objects or per-row stream layers); what COPY refuses before it runs is run again as it is.
//! Any other query goes through sqlx's row stream. The connection is configured from the
//! connect string only: no environment variable, `.pgpass` or Unix socket of the server's own
//! account is used, and a user name is required. Values: `int2/4/8` → Int, `float4/8` →
//! Float, `numeric` → Decimal (scale kept), text types → Str, `bool`, `date`/`timestamp` →
//! DateTime, `timestamptz` → DateTime in UTC, `time` → Str, `bytea` → Bytes, `uuid` → Str;
//! anything else is an error that says how to cast it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use rdl::Value;
use rust_decimal::Decimal;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{
    PgArgumentBuffer, PgConnectOptions, PgConnection, PgDatabaseError, PgRow, PgSslMode,
    PgTypeInfo, PgValueFormat, Postgres,
};
use sqlx::{Column, ConnectOptions, Connection as _, Executor, Row, TypeInfo, ValueRef};

use crate::connstr::{self, PgTarget, SslMode};
use crate::sqltok::{self, Dialect};
use crate::{
    BoundParam, CONNECT_TIMEOUT, CommandType, Connection, DataError, DataProvider, DataTable,
    FieldMeta, Limits, Query, RowBudget, with_timeout,
};
use engine::{ColumnKind, TableBuilder};

/// The PostgreSQL provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct PostgresProvider;

/// A NULL whose type the server infers from context (OID 0), so `col = @p` with a NULL
/// works whatever `col`'s type is.
struct UntypedNull;

impl sqlx::Type<Postgres> for UntypedNull {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(0))
    }
}

impl sqlx::Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(&self, _buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Ok(IsNull::Yes)
    }
}

/// The target of `conn` with the stored credentials applied.
fn target(conn: &Connection) -> Result<PgTarget, DataError> {
    let mut t = connstr::parse_postgres(&conn.connect_string)?;
    if let Some(c) = &conn.credentials {
        if !c.user.is_empty() {
            t.user = Some(c.user.clone());
        }
        t.password = Some(c.password.clone());
    }
    if t.user.is_none() {
        return Err(DataError::ConnectString {
            provider: "PostgreSQL",
            message: "it names no user; add `Username=...` (or `user=...`) or store credentials \
                      in the data source"
                .into(),
        });
    }
    Ok(t)
}

fn options(t: &PgTarget, statement_timeout: Option<Duration>) -> PgConnectOptions {
    let user = t.user.as_deref().unwrap_or_default();
    // new_without_pgpass: never the server account's ~/.pgpass. Every field that
    // `new_without_pgpass` may have taken from the environment is overwritten below.
    let mut o = PgConnectOptions::new_without_pgpass()
        .host(&t.host)
        .port(t.port)
        .username(user)
        .password(t.password.as_deref().map_or("", |p| p.as_str()))
        .database(t.database.as_deref().unwrap_or(user))
        .ssl_mode(match t.ssl_mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Allow => PgSslMode::Allow,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        })
        .application_name(t.application_name.as_deref().unwrap_or("reportd"))
        .statement_cache_capacity(0)
        .log_statements(tracing::log::LevelFilter::Off);
    if let Some(d) = statement_timeout {
        let ms = d.as_millis().clamp(1, i32::MAX as u128);
        o = o.options([("statement_timeout", ms.to_string())]);
    }
    o
}

/// Removes the password from a driver message (belt and braces: sqlx does not echo it).
fn scrub(message: String, t: &PgTarget) -> String {
    match &t.password {
        Some(p) if p.len() >= 3 => message.replace(p.as_str(), "<redacted>"),
        _ => message,
    }
}

async fn connect(
    t: &PgTarget,
    statement_timeout: Option<Duration>,
) -> Result<PgConnection, DataError> {
    let opts = options(t, statement_timeout);
    let err = |message: String| DataError::Connect {
        provider: "PostgreSQL",
        target: t.endpoint(),
        message: scrub(message, t),
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&opts)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(sqlx::Error::Database(d))) => Err(err(d.message().to_string())),
        Ok(Err(e)) => Err(err(e.to_string())),
        Err(_) => Err(err(format!(
            "no answer within {} seconds",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

fn query_err(e: sqlx::Error, t: &PgTarget, timeout: Option<Duration>) -> DataError {
    match e {
        sqlx::Error::Database(d) => {
            if d.code().as_deref() == Some("57014")
                && let Some(tm) = timeout
            {
                return DataError::Timeout {
                    seconds: tm.as_secs_f64(),
                };
            }
            let mut m = d.message().to_string();
            if let Some(pg) = d.try_downcast_ref::<PgDatabaseError>() {
                if let Some(detail) = pg.detail() {
                    m.push_str(&format!(" ({detail})"));
                }
                if let Some(hint) = pg.hint() {
                    m.push_str(&format!("; hint: {hint}"));
                }
                m.push_str(&format!(" [SQLSTATE {}]", pg.code()));
            }
            DataError::Query {
                message: scrub(m, t),
            }
        }
        other => DataError::Query {
            message: scrub(other.to_string(), t),
        },
    }
}

/// `schema.name` / `"Quoted"."Name"`: an identifier chain safe to put in SQL as written.
fn is_identifier_chain(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            if let Some(inner) = part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                !inner.is_empty() && !inner.replace("\"\"", "").contains('"')
            } else {
                let mut cs = part.chars();
                cs.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                    && cs.all(|c| c == '_' || c == '$' || c.is_alphanumeric())
            }
        })
}

fn is_plain_identifier(s: &str) -> bool {
    !s.contains('.') && !s.starts_with('"') && is_identifier_chain(s)
}

fn command_sql(query: &Query, params: &[BoundParam]) -> Result<String, DataError> {
    let name = query.command_text.trim();
    let bad_name = |what: &str| DataError::Unsupported {
        message: format!(
            "'{name}' is not a valid {what} name; write it as name or schema.name (quote a part \
             with \"...\"), or use the Text command type"
        ),
    };
    Ok(match query.command_type {
        CommandType::Text => query.command_text.clone(),
        CommandType::TableDirect => {
            if !is_identifier_chain(name) {
                return Err(bad_name("table"));
            }
            format!("SELECT * FROM {name}")
        }
        CommandType::StoredProcedure => {
            if !is_identifier_chain(name) {
                return Err(bad_name("function"));
            }
            let mut args = Vec::with_capacity(params.len());
            for p in params {
                let pn = p.name.trim_start_matches('@');
                if !is_plain_identifier(pn) {
                    return Err(DataError::Parameter {
                        name: pn.to_string(),
                        message: "a stored procedure's parameter must be named like its argument \
                                  (letters, digits, _)"
                            .into(),
                    });
                }
                args.push(format!("{pn} => @{pn}"));
            }
            format!("SELECT * FROM {name}({})", args.join(", "))
        }
    })
}

fn bind<'q>(
    q: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    v: Value,
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    match v {
        Value::Null | Value::Array(_) => q.bind(UntypedNull),
        Value::Bool(b) => q.bind(b),
        // int4 when it fits: it widens implicitly to int8/numeric/float8 where compared, and
        // matches `integer` function arguments (int8 would not).
        Value::Int(i) => match i32::try_from(i) {
            Ok(small) => q.bind(small),
            Err(_) => q.bind(i),
        },
        Value::Float(x) => q.bind(x),
        Value::Decimal(d) => q.bind(d),
        Value::Str(s) => q.bind(s.to_string()),
        Value::DateTime(t) => q.bind(t),
        Value::Bytes(b) => q.bind(b.to_vec()),
    }
}

/// How a column's values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    I2,
    I4,
    I8,
    F4,
    F8,
    Numeric,
    Text,
    Bool,
    Date,
    Timestamp,
    Timestamptz,
    Time,
    Bytea,
    Uuid,
    Oid,
    Char,
    Unknown,
}

fn kind_of(type_name: &str) -> Kind {
    match type_name {
        "INT2" => Kind::I2,
        "INT4" => Kind::I4,
        "INT8" => Kind::I8,
        "FLOAT4" => Kind::F4,
        "FLOAT8" => Kind::F8,
        "NUMERIC" => Kind::Numeric,
        "TEXT" | "VARCHAR" | "BPCHAR" | "CHAR" | "NAME" | "UNKNOWN" => Kind::Text,
        "BOOL" => Kind::Bool,
        "DATE" => Kind::Date,
        "TIMESTAMP" => Kind::Timestamp,
        "TIMESTAMPTZ" => Kind::Timestamptz,
        "TIME" => Kind::Time,
        "BYTEA" => Kind::Bytea,
        "UUID" => Kind::Uuid,
        "OID" => Kind::Oid,
        "\"CHAR\"" => Kind::Char,
        _ => Kind::Unknown,
    }
}

fn clr_of(k: Kind) -> &'static str {
    match k {
        Kind::I2 | Kind::I4 | Kind::I8 | Kind::Oid => "System.Int64",
        Kind::F4 | Kind::F8 => "System.Double",
        Kind::Numeric => "System.Decimal",
        Kind::Bool => "System.Boolean",
        Kind::Date | Kind::Timestamp | Kind::Timestamptz => "System.DateTime",
        Kind::Bytea => "System.Byte[]",
        Kind::Text | Kind::Time | Kind::Uuid | Kind::Char => "System.String",
        Kind::Unknown => "System.Object",
    }
}

/// The table column kind a PostgreSQL column's values are stored as.
fn column_kind(k: Kind) -> ColumnKind {
    match k {
        Kind::I2 | Kind::I4 | Kind::I8 | Kind::Oid => ColumnKind::Int,
        Kind::F4 | Kind::F8 => ColumnKind::Float,
        Kind::Numeric => ColumnKind::Decimal,
        Kind::Bool => ColumnKind::Bool,
        Kind::Date | Kind::Timestamp | Kind::Timestamptz => ColumnKind::DateTime,
        Kind::Bytea => ColumnKind::Bytes,
        Kind::Text | Kind::Time | Kind::Uuid | Kind::Char => ColumnKind::Str,
        Kind::Unknown => ColumnKind::Unknown,
    }
}

/// Decodes column `i` of `row` into column `i` of `out`; returns the value's approximate
/// size for the byte limit.
fn push(row: &PgRow, i: usize, kind: Kind, out: &mut TableBuilder) -> Result<usize, sqlx::Error> {
    // the column's type was checked once (`kind_of` on its type name), so each value is
    // decoded without sqlx's per-value compatibility check
    fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
        row: &'r PgRow,
        i: usize,
    ) -> Result<Option<T>, sqlx::Error> {
        row.try_get_unchecked::<Option<T>, _>(i)
    }
    fn put<T>(
        out: &mut TableBuilder,
        i: usize,
        v: Option<T>,
        f: impl FnOnce(&mut TableBuilder, T),
    ) {
        match v {
            Some(v) => f(out, v),
            None => out.push_null(i),
        }
    }
    let mut extra = 0;
    match kind {
        // the binary forms of int2/4/8 and date read directly (as sqlx reads them); a value in
        // another form goes through sqlx
        Kind::I2 | Kind::I4 | Kind::I8 | Kind::Date => {
            let raw = row.try_get_raw(i)?;
            let bytes = (raw.format() == PgValueFormat::Binary)
                .then(|| raw.as_bytes().ok())
                .flatten();
            if raw.is_null() {
                out.push_null(i);
            } else if let Some(b) = bytes
                && let Some(v) = fixed_int(kind, b)
            {
                if kind == Kind::Date {
                    let d = pg_date(v).ok_or_else(|| {
                        sqlx::Error::Decode("the date is out of range (infinity?)".into())
                    })?;
                    out.push_datetime(i, d.midnight());
                } else {
                    out.push_int(i, v);
                }
            } else {
                match kind {
                    Kind::I2 => put(out, i, get::<i16>(row, i)?, |o, v| o.push_int(i, v.into())),
                    Kind::I4 => put(out, i, get::<i32>(row, i)?, |o, v| o.push_int(i, v.into())),
                    Kind::I8 => put(out, i, get::<i64>(row, i)?, |o, v| o.push_int(i, v)),
                    _ => put(out, i, get::<time::Date>(row, i)?, |o, d| {
                        o.push_datetime(i, d.midnight())
                    }),
                }
            }
        }
        Kind::Oid => put(out, i, get::<Oid>(row, i)?, |o, v| {
            o.push_int(i, v.0.into())
        }),
        Kind::F4 => put(out, i, get::<f32>(row, i)?, |o, v| {
            o.push_float(i, v.into())
        }),
        Kind::F8 => put(out, i, get::<f64>(row, i)?, |o, v| o.push_float(i, v)),
        Kind::Numeric => {
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                out.push_null(i);
            } else if let Some(d) = (raw.format() == PgValueFormat::Binary)
                .then(|| raw.as_bytes().ok().and_then(numeric))
                .flatten()
            {
                out.push_decimal(i, d);
            } else if (raw.format() == PgValueFormat::Binary)
                && raw.as_bytes().is_ok_and(numeric_too_big)
            {
                // sqlx's decoding panics on these (a multiplication overflow)
                return Err(sqlx::Error::Decode(NUMERIC_TOO_BIG.into()));
            } else {
                // NaN, infinities and what the fast path does not take: sqlx's decoding
                put(out, i, get::<Decimal>(row, i)?, |o, v| o.push_decimal(i, v))
            }
        }
        Kind::Text => put(out, i, get::<&str>(row, i)?, |o, v| {
            extra = v.len();
            o.push_str(i, v)
        }),
        Kind::Char => put(out, i, get::<i8>(row, i)?, |o, v| {
            o.push_str(i, char::from(v as u8).encode_utf8(&mut [0; 4]))
        }),
        Kind::Bool => put(out, i, get::<bool>(row, i)?, |o, v| o.push_bool(i, v)),
        Kind::Timestamp => put(out, i, get::<time::PrimitiveDateTime>(row, i)?, |o, t| {
            o.push_datetime(i, t)
        }),
        Kind::Timestamptz => put(out, i, get::<time::OffsetDateTime>(row, i)?, |o, t| {
            let u = t.to_offset(time::UtcOffset::UTC);
            o.push_datetime(i, time::PrimitiveDateTime::new(u.date(), u.time()))
        }),
        Kind::Time => put(out, i, get::<time::Time>(row, i)?, |o, t| {
            let base = format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
            let s = match t.microsecond() {
                0 => base,
                us => format!("{base}.{us:06}"),
            };
            extra = s.len();
            o.push_str(i, &s)
        }),
        Kind::Bytea => put(out, i, get::<&[u8]>(row, i)?, |o, v| {
            extra = v.len();
            o.push_bytes(i, Arc::from(v))
        }),
        Kind::Uuid => put(out, i, get::<uuid::Uuid>(row, i)?, |o, u| {
            extra = 36;
            o.push_str(
                i,
                u.hyphenated()
                    .encode_lower(&mut uuid::Uuid::encode_buffer()),
            )
        }),
        Kind::Unknown => out.push_null(i),
    }
    Ok(16 + extra)
}

/// Why a NUMERIC past Decimal's range is not read.
const NUMERIC_TOO_BIG: &str = "the number has more than 28 digits before the decimal point and \
                               does not fit a System.Decimal; cast it in the query (::float8, \
                               or ::text to keep every digit)";

/// The binary value of an `int2`/`int4`/`int8` (or a `date`: days since 2000-01-01) of the
/// right length; `None` for another length (sqlx then says what is wrong).
fn fixed_int(kind: Kind, b: &[u8]) -> Option<i64> {
    Some(match kind {
        Kind::I2 => i16::from_be_bytes(b.try_into().ok()?).into(),
        Kind::I4 | Kind::Date => i32::from_be_bytes(b.try_into().ok()?).into(),
        Kind::I8 => i64::from_be_bytes(b.try_into().ok()?),
        _ => return None,
    })
}

/// PostgreSQL's day number as a date; `None` past the dates `time` holds (`infinity`).
fn pg_date(days: i64) -> Option<time::Date> {
    time::macros::date!(2000 - 01 - 01).checked_add(time::Duration::days(days))
}

/// The `k`-th 16-bit big-endian word of a binary `NUMERIC` (the header's four, then the
/// digits), `None` past its end.
fn numeric_word(b: &[u8], k: usize) -> Option<u16> {
    b.get(2 * k..2 * k + 2)
        .map(|w| u16::from_be_bytes([w[0], w[1]]))
}

/// A binary `NUMERIC` (`ndigits`, `weight`, `sign`, `dscale` as 16-bit big-endian words,
/// then `ndigits` base-10000 digits, the first of weight `10000^weight`) as the Decimal
/// sqlx makes of it (the value at scale `dscale`; zero, which has no digits, at scale 0),
/// computed in integers without a vector of digits. `None` for what it does not take (NaN,
/// infinities, a scale over 28, a value near Decimal's limit, a malformed value): the caller
/// then decodes it as sqlx does.
fn numeric(b: &[u8]) -> Option<Decimal> {
    let word = |k: usize| numeric_word(b, k);
    let (ndigits, weight, sign, dscale) = (word(0)?, word(1)? as i16, word(2)?, word(3)?);
    let negative = match sign {
        0x0000 => false,
        0x4000 => true,
        _ => return None,
    };
    if b.len() != 8 + 2 * usize::from(ndigits) {
        return None;
    }
    if ndigits == 0 {
        return Some(Decimal::ZERO);
    }
    let scale = i32::from(dscale);
    if scale > 28 {
        return None;
    }
    let mut m: u128 = 0;
    for k in 0..usize::from(ndigits) {
        let d = u128::from(word(4 + k)?);
        let w = i32::from(weight) - k as i32;
        if d >= 10_000 || w < -7 {
            return None;
        }
        // the digit's place in the mantissa at `scale`: 10^e
        let e = 4 * w + scale;
        let part = if e >= 0 {
            d.checked_mul(10u128.checked_pow(e as u32)?)?
        } else {
            let div = 10u128.pow((-e) as u32);
            if d % div != 0 {
                return None;
            }
            d / div
        };
        m = m.checked_add(part)?;
    }
    // well inside the 96-bit mantissa (sqlx sums at up to 3 more places), and not zero
    if m == 0 || m >= (1u128 << 96) / 1000 {
        return None;
    }
    let m = i128::try_from(m).ok()?;
    Some(Decimal::from_i128_with_scale(
        if negative { -m } else { m },
        scale as u32,
    ))
}

/// Whether a binary finite `NUMERIC` is at least 8 * 10^28 (its first base-10000 digit of
/// weight 7 or more): past Decimal's range (about 7.9 * 10^28), and sqlx's decoding of it
/// would panic instead of failing.
fn numeric_too_big(b: &[u8]) -> bool {
    let word = |k: usize| numeric_word(b, k);
    match (word(0), word(1), word(2), word(4)) {
        (Some(n), Some(weight), Some(0x0000 | 0x4000), Some(first)) if n > 0 => {
            let weight = weight as i16;
            weight > 7 || (weight == 7 && first >= 8)
        }
        _ => false,
    }
}

fn fields_of<C: Column>(cols: &[C]) -> Result<(Vec<FieldMeta>, Vec<Kind>), DataError>
where
    C::Database: sqlx::Database<TypeInfo = PgTypeInfo>,
{
    let mut fields = Vec::with_capacity(cols.len());
    let mut kinds = Vec::with_capacity(cols.len());
    for c in cols {
        let type_name = c.type_info().name();
        let k = kind_of(type_name);
        if k == Kind::Unknown {
            return Err(DataError::ColumnType {
                column: c.name().to_string(),
                db_type: type_name.to_string(),
            });
        }
        fields.push(FieldMeta {
            name: c.name().to_string(),
            type_name: clr_of(k).to_string(),
        });
        kinds.push(k);
    }
    Ok((fields, kinds))
}

/// Whether the rows of `sql` (a query without bound parameters) may come through
/// `COPY (sql) TO STDOUT (FORMAT binary)`: one statement (no `;` at all) that begins with
/// `SELECT`, `WITH`, `VALUES` or `TABLE`. What COPY then refuses is run as it is.
fn copy_form(sql: &str) -> bool {
    let t = sql.trim_start();
    let end = t
        .bytes()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(t.len());
    let word = &t[..end];
    !sql.contains(';')
        && ["SELECT", "WITH", "VALUES", "TABLE"]
            .iter()
            .any(|k| word.eq_ignore_ascii_case(k))
}

/// Column kinds whose binary values [`copy_value`] reads (every one of them as the sqlx path
/// reads it).
fn copies(k: Kind) -> bool {
    matches!(
        k,
        Kind::I2
            | Kind::I4
            | Kind::I8
            | Kind::F4
            | Kind::F8
            | Kind::Numeric
            | Kind::Text
            | Kind::Bool
            | Kind::Date
            | Kind::Timestamp
            | Kind::Timestamptz
    )
}

/// What [`copy_rows`] did.
enum Copied {
    /// The rows.
    Table(DataTable),
    /// The statement is prepared but its columns are not all [`copies`] ones (or it has
    /// parameters, or no columns): nothing ran.
    Unsuitable,
    /// The server refused the COPY before it ran the query; the connection is not usable.
    Refused,
}

/// The signature, flags and header extension length that begin a binary COPY.
const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// The rows of `sql` through a binary COPY: the statement is prepared first (its columns,
/// and the errors a query gets from the server when it is parsed, exactly as the sqlx
/// path gets them), then each row is one CopyData message read here (no row object, no
/// per-row stream layers). Limits and timeouts as in [`fetch_rows`].
async fn copy_rows(
    c: &mut PgConnection,
    sql: &str,
    limits: &Limits,
    t: &PgTarget,
    timeout: Option<Duration>,
) -> Result<Copied, DataError> {
    use sqlx::Statement as _;
    let stmt = c
        .prepare_with(sql, &[])
        .await
        .map_err(|e| query_err(e, t, timeout))?;
    let no_params = match stmt.parameters() {
        Some(sqlx::Either::Left(p)) => p.is_empty(),
        Some(sqlx::Either::Right(n)) => n == 0,
        None => true,
    };
    let cols = stmt.columns();
    if !no_params
        || cols.is_empty()
        || !cols
            .iter()
            .all(|col| copies(kind_of(col.type_info().name())))
    {
        return Ok(Copied::Unsuitable);
    }
    let (fields, kinds) = fields_of(cols)?;
    let names: Vec<String> = fields.iter().map(|x| x.name.clone()).collect();
    let ck: Vec<ColumnKind> = kinds.iter().map(|k| column_kind(*k)).collect();
    let mut b = TableBuilder::new(names.clone(), &ck);
    let copy = format!("COPY (\n{sql}\n) TO STDOUT (FORMAT binary)");
    let mut stream = match c.copy_out_raw(&copy).await {
        Ok(s) => s,
        Err(sqlx::Error::Database(d)) if d.code().as_deref() != Some("57014") => {
            return Ok(Copied::Refused);
        }
        Err(e) => return Err(query_err(e, t, timeout)),
    };
    let mut budget = RowBudget::new(limits);
    let mut rd = CopyReader::default();
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|e| query_err(e, t, timeout))?
    {
        rd.feed(&chunk, &kinds, &names, &mut b, &mut budget)?;
    }
    drop(stream);
    if !rd.ended || !rd.carry.is_empty() {
        return Err(DataError::Query {
            message: "the server's COPY data ended early".into(),
        });
    }
    Ok(Copied::Table(DataTable {
        fields,
        table: b.finish(),
    }))
}

/// Reads a binary COPY's bytes (a tuple may span messages: its start waits in `carry`).
#[derive(Default)]
struct CopyReader {
    carry: Vec<u8>,
    header: bool,
    ended: bool,
}

fn copy_protocol(what: &str) -> DataError {
    DataError::Query {
        message: format!("unexpected COPY data from the server: {what}"),
    }
}

impl CopyReader {
    fn feed(
        &mut self,
        chunk: &[u8],
        kinds: &[Kind],
        names: &[String],
        b: &mut TableBuilder,
        budget: &mut RowBudget,
    ) -> Result<(), DataError> {
        if self.carry.is_empty() {
            let used = self.tuples(chunk, kinds, names, b, budget)?;
            self.carry.extend_from_slice(&chunk[used..]);
        } else {
            let mut data = std::mem::take(&mut self.carry);
            data.extend_from_slice(chunk);
            let used = self.tuples(&data, kinds, names, b, budget)?;
            data.drain(..used);
            self.carry = data;
        }
        Ok(())
    }

    /// Reads the whole tuples at the start of `data`; returns the bytes read.
    fn tuples(
        &mut self,
        data: &[u8],
        kinds: &[Kind],
        names: &[String],
        b: &mut TableBuilder,
        budget: &mut RowBudget,
    ) -> Result<usize, DataError> {
        let mut at = 0;
        if !self.header {
            let Some(ext) = data.get(15..19) else {
                return Ok(0);
            };
            if !data.starts_with(COPY_SIGNATURE) {
                return Err(copy_protocol("no binary COPY signature"));
            }
            let ext = u32::from_be_bytes([ext[0], ext[1], ext[2], ext[3]]) as usize;
            if data.len() < 19 + ext {
                return Ok(0);
            }
            at = 19 + ext;
            self.header = true;
        }
        while at < data.len() {
            if self.ended {
                return Err(copy_protocol("bytes after the end"));
            }
            let Some(n) = copy_tuple_len(&data[at..]) else {
                break;
            };
            let tuple = &data[at..at + n];
            at += n;
            let count = i16::from_be_bytes([tuple[0], tuple[1]]);
            if count == -1 {
                self.ended = true;
                continue;
            }
            if count as usize != kinds.len() {
                return Err(copy_protocol("a row of another width"));
            }
            let mut p = 2;
            let mut bytes = 0;
            for (i, &k) in kinds.iter().enumerate() {
                let len = i32::from_be_bytes([tuple[p], tuple[p + 1], tuple[p + 2], tuple[p + 3]]);
                p += 4;
                if len < 0 {
                    b.push_null(i);
                    bytes += 16;
                    continue;
                }
                let v = &tuple[p..p + len as usize];
                p += len as usize;
                bytes += copy_value(v, i, k, b).map_err(|e| DataError::Query {
                    message: format!("column '{}': {e}", names[i]),
                })?;
            }
            budget.admit(b.rows(), bytes)?;
            b.end_row();
        }
        Ok(at)
    }
}

/// The length of the tuple (or trailer) at the start of `d`, `None` while it is incomplete.
fn copy_tuple_len(d: &[u8]) -> Option<usize> {
    let count = i16::from_be_bytes([*d.first()?, *d.get(1)?]);
    let mut p = 2;
    for _ in 0..count.max(0) {
        let l = d.get(p..p + 4)?;
        let len = i32::from_be_bytes([l[0], l[1], l[2], l[3]]);
        p += 4 + len.max(0) as usize;
    }
    (p <= d.len()).then_some(p)
}

/// Decodes the binary value `v` of column `i` (of a [`copies`] kind) into `out`, as [`push`]
/// decodes it from a row (errors say the same); returns its approximate size.
fn copy_value(
    v: &[u8],
    i: usize,
    kind: Kind,
    out: &mut TableBuilder,
) -> Result<usize, sqlx::Error> {
    // what sqlx's `try_get_unchecked` makes of a decoder's error
    let column = |source: BoxDynError| sqlx::Error::ColumnDecode {
        index: format!("{i:?}"),
        source,
    };
    let bad_len = || column(format!("a {kind:?} value of {} bytes", v.len()).into());
    let mut extra = 0;
    match kind {
        Kind::I2 | Kind::I4 | Kind::I8 | Kind::Date => {
            let n = fixed_int(kind, v).ok_or_else(bad_len)?;
            if kind == Kind::Date {
                let d = pg_date(n).ok_or_else(|| {
                    sqlx::Error::Decode("the date is out of range (infinity?)".into())
                })?;
                out.push_datetime(i, d.midnight());
            } else {
                out.push_int(i, n);
            }
        }
        Kind::F4 => {
            let b: [u8; 4] = v.try_into().map_err(|_| bad_len())?;
            out.push_float(i, f32::from_be_bytes(b).into());
        }
        Kind::F8 => {
            let b: [u8; 8] = v.try_into().map_err(|_| bad_len())?;
            out.push_float(i, f64::from_be_bytes(b));
        }
        Kind::Numeric => {
            if let Some(d) = numeric(v) {
                out.push_decimal(i, d);
            } else if numeric_too_big(v) {
                return Err(sqlx::Error::Decode(NUMERIC_TOO_BIG.into()));
            } else {
                out.push_decimal(i, numeric_as_sqlx(v).map_err(column)?);
            }
        }
        Kind::Text => {
            // checked as UTF-8 (what sqlx's `&str` decoding checks) when it is a new text
            out.push_utf8(i, v).map_err(|e| column(e.into()))?;
            extra = v.len();
        }
        Kind::Bool => out.push_bool(i, *v.first().ok_or_else(bad_len)? != 0),
        Kind::Timestamp | Kind::Timestamptz => {
            // microseconds since 2000-01-01 00:00 (UTC for timestamptz)
            let b: [u8; 8] = v.try_into().map_err(|_| bad_len())?;
            let us = i64::from_be_bytes(b);
            let t = time::macros::datetime!(2000-01-01 0:00)
                .checked_add(time::Duration::microseconds(us))
                .ok_or_else(|| {
                    sqlx::Error::Decode("the timestamp is out of range (infinity?)".into())
                })?;
            out.push_datetime(i, t);
        }
        _ => return Err(column(format!("{kind:?} is not read from COPY").into())),
    }
    Ok(16 + extra)
}

/// sqlx's decoding of a binary `NUMERIC` into a Decimal (what [`numeric`] does not take:
/// NaN, scales over 28, values near Decimal's limit), with its errors; a value past
/// Decimal's range is [`numeric_too_big`]'s.
fn numeric_as_sqlx(b: &[u8]) -> Result<Decimal, BoxDynError> {
    use rust_decimal::MathematicalOps;
    let word = |k: usize| numeric_word(b, k).ok_or("a NUMERIC value too short");
    let (ndigits, mut weight, sign, scale) = (word(0)?, word(1)? as i16, word(2)?, word(3)? as i16);
    let negative = match sign {
        0x0000 => false,
        0x4000 => true,
        0xC000 => return Err("Decimal does not support NaN values".into()),
        _ => return Err(format!("invalid value for PgNumericSign: {sign:#04X}").into()),
    };
    if ndigits == 0 {
        return Ok(Decimal::ZERO);
    }
    let scale =
        u32::try_from(scale).map_err(|_| format!("invalid scale value for Pg NUMERIC: {scale}"))?;
    let mut value = Decimal::ZERO;
    for k in 0..usize::from(ndigits) {
        let digit = word(4 + k)? as i16;
        let mul = Decimal::from(10_000i16)
            .checked_powi(weight as i64)
            .ok_or("value not representable as rust_decimal::Decimal")?;
        let part = Decimal::from(digit) * mul;
        value = value
            .checked_add(part)
            .ok_or("value not representable as rust_decimal::Decimal")?;
        weight = weight.checked_sub(1).ok_or("weight underflowed")?;
    }
    if negative {
        value.set_sign_negative(true);
    } else {
        value.set_sign_positive(true);
    }
    value.rescale(scale);
    Ok(value)
}

async fn run(
    conn: &Connection,
    query: &Query,
    params: &[BoundParam],
    limits: &Limits,
    timeout: Option<Duration>,
) -> Result<DataTable, DataError> {
    let t = target(conn)?;
    let sql = command_sql(query, params)?;
    let rw = sqltok::rewrite(&sql, params, Dialect::Postgres)?;
    let mut c = connect(&t, timeout).await?;
    if rw.values.is_empty() && copy_form(&rw.sql) {
        match copy_rows(&mut c, &rw.sql, limits, &t, timeout).await? {
            Copied::Table(d) => {
                let _ = c.close().await;
                return Ok(d);
            }
            // prepared, but not for COPY: the rows as below, on this connection
            Copied::Unsuitable => {}
            // the server refused the COPY form before running it: the query as it is, on a
            // new connection (it says what is wrong, exactly as without COPY)
            Copied::Refused => c = connect(&t, timeout).await?,
        }
    }
    fetch_rows(c, &rw.sql, rw.values, limits, &t, timeout).await
}

/// The rows of `sql` with `values` bound, through sqlx's row stream.
async fn fetch_rows(
    mut c: PgConnection,
    sql: &str,
    values: Vec<Value>,
    limits: &Limits,
    t: &PgTarget,
    timeout: Option<Duration>,
) -> Result<DataTable, DataError> {
    let mut q = sqlx::query(sql);
    for v in values {
        q = bind(q, v);
    }
    let mut fields: Option<(Vec<FieldMeta>, Vec<Kind>)> = None;
    let mut out: Option<TableBuilder> = None;
    let mut budget = RowBudget::new(limits);
    {
        // the executor's stream itself (what `fetch` filters through one more boxed stream)
        let mut stream = Executor::fetch_many(&mut c, q);
        while let Some(step) = stream
            .try_next()
            .await
            .map_err(|e| query_err(e, t, timeout))?
        {
            let sqlx::Either::Right(row) = step else {
                continue;
            };
            let (f, kinds) = match &fields {
                Some(f) => f,
                None => fields.insert(fields_of(row.columns())?),
            };
            let b = out.get_or_insert_with(|| {
                let names = f.iter().map(|x| x.name.clone()).collect();
                let ck: Vec<ColumnKind> = kinds.iter().map(|k| column_kind(*k)).collect();
                TableBuilder::new(names, &ck)
            });
            let mut bytes = 0;
            for (i, k) in kinds.iter().enumerate() {
                bytes += push(&row, i, *k, b).map_err(|e| DataError::Query {
                    message: format!("column '{}': {e}", row.columns()[i].name()),
                })?;
            }
            budget.admit(b.rows(), bytes)?;
            b.end_row();
        }
    }
    let (fields, table) = match (fields, out) {
        (Some((f, _)), Some(b)) => (f, b.finish()),
        // No rows: ask the server for the columns (parse only, nothing runs again).
        _ => {
            let d = (&mut c)
                .describe(sql)
                .await
                .map_err(|e| query_err(e, t, timeout))?;
            let (f, kinds) = fields_of(d.columns())?;
            let names = f.iter().map(|x| x.name.clone()).collect();
            let ck: Vec<ColumnKind> = kinds.iter().map(|k| column_kind(*k)).collect();
            (f, TableBuilder::new(names, &ck).finish())
        }
    };
    let _ = c.close().await;
    Ok(DataTable { fields, table })
}

#[async_trait]
impl DataProvider for PostgresProvider {
    fn names(&self) -> &'static [&'static str] {
        &["POSTGRESQL", "PostgreSQL", "Npgsql", "PGSQL", "postgres"]
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

    async fn test_connection(&self, conn: &Connection, _limits: &Limits) -> Result<(), DataError> {
        let t = target(conn)?;
        let mut c = connect(&t, Some(CONNECT_TIMEOUT)).await?;
        c.ping().await.map_err(|e| query_err(e, &t, None))?;
        let _ = c.close().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test server's URL (`REPORTD_TEST_PG_URL`); without it a test prints a
    /// `skipped:` line and returns, or fails under CI (`CI=true`).
    fn test_pg_url() -> Option<String> {
        let url = std::env::var("REPORTD_TEST_PG_URL")
            .ok()
            .filter(|u| !u.is_empty());
        if url.is_none() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but REPORTD_TEST_PG_URL is not set"
            );
            println!("skipped: REPORTD_TEST_PG_URL not set");
        }
        url
    }

    /// The binary COPY path reads what the sqlx row stream reads: the same tables (values,
    /// kinds, nulls, columns of an empty result), the same errors, limits and fallbacks,
    /// against the real server at `REPORTD_TEST_PG_URL` (skipped without it). A query with
    /// a bound parameter takes the row stream: each query runs both ways.
    #[tokio::test]
    async fn copy_reads_what_the_row_stream_reads() {
        let Some(url) = test_pg_url() else { return };
        let conn = Connection {
            extension: "POSTGRESQL".into(),
            connect_string: url.clone(),
            credentials: None,
        };
        let limits = Limits::default();
        let both = |sql: &str, limits: &Limits| {
            let q = |text: String| Query {
                command_text: text,
                ..Query::default()
            };
            let copied = q(sql.to_string());
            // the same rows with a bound parameter: the row stream
            let streamed = q(format!("SELECT * FROM (\n{sql}\n) AS q WHERE @one = 1"));
            let (conn, limits) = (conn.clone(), limits.clone());
            async move {
                let one = [BoundParam {
                    name: "one".into(),
                    value: Value::Int(1),
                }];
                let a = PostgresProvider.execute(&conn, &copied, &[], &limits).await;
                let b = PostgresProvider
                    .execute(&conn, &streamed, &one, &limits)
                    .await;
                (a, b)
            }
        };
        assert!(copy_form(" select 1"));
        assert!(copy_form("WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(!copy_form("SELECT 1;"));
        assert!(!copy_form("SHOW work_mem"));
        assert!(!copy_form("SELECTION"));
        let tables = [
            // every kind COPY reads, nulls, texts past a network buffer, Unicode
            "SELECT g AS n, g::int2 AS s, (g * 3000000000)::int8 AS big, g::float8 / 3 AS f, \
             (g / 7.0)::float4 AS r, (g * 1.25)::numeric(10,3) AS d, 'x' || g AS t, \
             'äbc'::varchar(5) AS vc, 'ab'::char(3) AS bp, g % 2 = 0 AS b, \
             DATE '2024-01-01' + g AS dt, TIMESTAMP '2024-01-01 10:00:00.123456' + g * interval '1 h' AS ts, \
             TIMESTAMPTZ '2024-01-01 10:00:00+02' AS tz, \
             CASE WHEN g % 3 = 0 THEN NULL ELSE g END AS sometimes, \
             CASE WHEN g % 100 = 0 THEN repeat('y', 20000 + g) END AS long, \
             NULL::int AS nul, NULL::numeric AS nnum \
             FROM generate_series(1, 3000) g",
            // numerics of every shape, the fast decoding's and the fallback's
            "SELECT n, n::numeric(38, 6) AS m, round(n, 2) AS r FROM (VALUES \
             (0::numeric), (-0.00), (1.50), (-999.99), (9999.9999), (0.0001), (1e-28), \
             (3.1415926535897932384626433832), (-12345.678900), (1000000.01)) AS v(n)",
            // scale 29: sqlx's decoding (rescaled to 28)
            "SELECT 1.00000000000000000000000000000 AS n, '-Infinity'::float8 AS f",
            // no rows: the columns only
            "SELECT g AS n, 'x' AS t FROM generate_series(1, 0) g",
            // a type COPY does not read here: the row stream
            "SELECT g, TIME '13:14:15' AS tm, '6f1c2a4e-0000-4000-8000-000000000001'::uuid AS u \
             FROM generate_series(1, 3) g",
            "VALUES (1, 'a'), (2, 'b')",
            "WITH x AS (SELECT 5 AS v) SELECT v FROM x -- a trailing comment",
        ];
        // which way each query goes
        let pt = connstr::parse_postgres(&url).unwrap();
        for (k, sql) in tables.iter().enumerate() {
            let mut c = connect(&pt, None).await.unwrap();
            let r = copy_rows(&mut c, sql, &limits, &pt, None).await.unwrap();
            let copied = matches!(r, Copied::Table(_));
            assert_eq!(copied, k != 4, "{sql}");
        }
        for sql in tables {
            let (a, b) = both(sql, &limits).await;
            let (a, b) = match (a, b) {
                (Ok(a), Ok(b)) => (a, b),
                (a, b) => panic!("{sql}: {a:?} / {b:?}"),
            };
            assert_eq!(a.fields, b.fields, "{sql}");
            assert_eq!(a.len(), b.len(), "{sql}");
            for r in 0..a.len() {
                assert_eq!(a.row(r), b.row(r), "{sql}: row {r}");
            }
            for c in 0..a.fields.len() {
                assert_eq!(a.kind(c), b.kind(c), "{sql}: column {c}");
            }
        }
        // errors: while parsing, while planning (COPY refused, then run as it is), while
        // running, in decoding
        for sql in [
            "SELECT * FROM nope",
            "SELECT 1 / 0 AS x",
            "SELECT 1 / (g - 3) AS x FROM generate_series(1, 5) g",
            "SELECT 'NaN'::numeric AS n",
            "SELECT 'infinity'::date AS d",
            "SELECT 1e40::numeric AS n",
            "SELECT j::text FROM (SELECT '{}'::json AS j) x",
            "SELECT '{}'::json AS j",
            "SELECT 123456789012345678901234.5678 AS n",
            "SELECT 79228162514264337593543950335 AS n",
            "SELECT 7922816251426433759354395033.5 AS n",
            "SELECT -0.000000000000000000000000001 AS n",
            "SELECT 12345678901234567890123456789012 AS n",
            "SELECT '-Infinity'::numeric AS n",
            "SELECT 3.14159265358979323846264338327950288 AS n",
            "SELECT 1e-30::numeric AS tiny",
        ] {
            let (a, b) = both(sql, &limits).await;
            match (a, b) {
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{sql}"),
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{sql}"),
                (a, b) => panic!("{sql}: {a:?} / {b:?}"),
            }
        }
        // the row and byte limits while the rows come
        let few = Limits {
            max_rows: 100,
            ..Limits::default()
        };
        let (a, b) = both("SELECT g FROM generate_series(1, 5000000) g", &few).await;
        assert!(
            matches!(a, Err(DataError::RowLimit { limit: 100 })),
            "{a:?}"
        );
        assert!(
            matches!(b, Err(DataError::RowLimit { limit: 100 })),
            "{b:?}"
        );
        let small = Limits {
            max_bytes: 10_000,
            ..Limits::default()
        };
        let (a, b) = both(
            "SELECT repeat('x', 1000) FROM generate_series(1, 100)",
            &small,
        )
        .await;
        assert!(
            matches!(a, Err(DataError::ByteLimit { limit: 10_000 })),
            "{a:?}"
        );
        assert!(
            matches!(b, Err(DataError::ByteLimit { limit: 10_000 })),
            "{b:?}"
        );
        // the query timeout, on the server and here
        let tq = Query {
            command_text: "SELECT 1 AS x FROM pg_sleep(30)".into(),
            timeout: Some(Duration::from_secs(1)),
            ..Query::default()
        };
        let e = PostgresProvider
            .execute(&conn, &tq, &[], &limits)
            .await
            .unwrap_err();
        assert!(matches!(e, DataError::Timeout { .. }), "{e}");
        // a data-modifying query through COPY runs once
        let q = |text: &str| Query {
            command_text: text.into(),
            ..Query::default()
        };
        let name = format!("copy_once_{}", std::process::id());
        let mut c = PgConnection::connect(&url).await.expect("connect");
        sqlx::query(&format!("DROP TABLE IF EXISTS {name}"))
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE TABLE {name} (a int)"))
            .execute(&mut c)
            .await
            .unwrap();
        let t = PostgresProvider
            .execute(
                &conn,
                &q(&format!(
                    "WITH x AS (INSERT INTO {name} VALUES (1), (2) RETURNING a) SELECT a FROM x"
                )),
                &[],
                &limits,
            )
            .await
            .unwrap();
        assert_eq!(t.len(), 2);
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {name}"))
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(n, 2);
        sqlx::query(&format!("DROP TABLE {name}"))
            .execute(&mut c)
            .await
            .unwrap();
        // the COPY reader takes tuples split anywhere across messages
        let kinds = [Kind::I4, Kind::Text];
        let names = ["a".to_string(), "b".to_string()];
        let mut bytes = COPY_SIGNATURE.to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        for (n, s) in [(7i32, "seven"), (-1, "")] {
            bytes.extend_from_slice(&2i16.to_be_bytes());
            bytes.extend_from_slice(&4i32.to_be_bytes());
            bytes.extend_from_slice(&n.to_be_bytes());
            if s.is_empty() {
                bytes.extend_from_slice(&(-1i32).to_be_bytes());
            } else {
                bytes.extend_from_slice(&(s.len() as i32).to_be_bytes());
                bytes.extend_from_slice(s.as_bytes());
            }
        }
        bytes.extend_from_slice(&(-1i16).to_be_bytes());
        for split in 0..=bytes.len() {
            let mut b = TableBuilder::new(names.to_vec(), &[ColumnKind::Int, ColumnKind::Str]);
            let mut budget = RowBudget::new(&limits);
            let mut rd = CopyReader::default();
            for part in [&bytes[..split], &bytes[split..]] {
                rd.feed(part, &kinds, &names, &mut b, &mut budget).unwrap();
            }
            assert!(rd.ended && rd.carry.is_empty(), "split at {split}");
            let t = b.finish();
            assert_eq!(t.row(0), [Value::Int(7), Value::from("seven")]);
            assert_eq!(t.row(1), [Value::Int(-1), Value::Null]);
        }
    }

    /// The fast NUMERIC decoding gives what sqlx's gives (value and scale), for values the
    /// real server sends at `REPORTD_TEST_PG_URL` (skipped without it); what it does not
    /// take is left to sqlx.
    #[tokio::test]
    async fn numeric_decodes_as_sqlx_does() {
        let Some(url) = test_pg_url() else { return };
        let mut c = PgConnection::connect(&url).await.expect("connect");
        let literals = [
            "0",
            "0.00",
            "-0.00",
            "1",
            "-1",
            "0.5",
            "1.50",
            "12.34",
            "-999.99",
            "10000",
            "9999.9999",
            "100000000",
            "0.0001",
            "0.00001",
            "-0.000000000000000000000000001",
            "123456789012345678901234.5678",
            "79228162514264337593543950335",
            "7922816251426433759354395033.5",
            "12345678901234567890123456789012",
            "1e-28",
            "1e-30",
            "3.14159265358979323846264338327950288",
            "NaN",
            "-12345.678900",
            "5000.0000",
            "1000000.01",
        ];
        let mut fast = 0;
        for lit in literals {
            for sql in [
                format!("SELECT '{lit}'::numeric AS n"),
                format!("SELECT round('{lit}'::numeric, 2) AS n WHERE '{lit}' <> 'NaN'"),
                format!(
                    "SELECT ('{lit}'::numeric * 3)::numeric(38, 6) AS n WHERE abs('{lit}'::numeric) < 1e30"
                ),
            ] {
                let rows = sqlx::query(&sql).fetch_all(&mut c).await.expect(&sql);
                for row in rows {
                    let raw = row.try_get_raw(0).unwrap();
                    let ours = numeric(raw.as_bytes().unwrap());
                    if let Some(d) = ours {
                        fast += 1;
                        let t = row
                            .try_get::<Decimal, _>(0)
                            .unwrap_or_else(|e| panic!("{sql}: sqlx refused {e}"));
                        assert_eq!(
                            (d.to_string(), d.scale()),
                            (t.to_string(), t.scale()),
                            "{sql}"
                        );
                    }
                }
            }
        }
        // the usual values take the fast path
        assert!(fast >= 50, "{fast}");
        // integers and dates read directly: what sqlx reads
        let sql = "SELECT (-32768 + k)::int2 AS a, (k * 12345 - 2147483648)::int4 AS b, \
                   (k::int8 * 987654321987 - 9223372036854775807) AS c, \
                   date '0001-01-01' + k * 9876 AS d FROM generate_series(0, 300) AS k";
        let rows = sqlx::query(sql).fetch_all(&mut c).await.expect(sql);
        for row in &rows {
            let v = |k: usize, kind| {
                fixed_int(kind, row.try_get_raw(k).unwrap().as_bytes().unwrap()).unwrap()
            };
            assert_eq!(v(0, Kind::I2), i64::from(row.get::<i16, _>(0)));
            assert_eq!(v(1, Kind::I4), i64::from(row.get::<i32, _>(1)));
            assert_eq!(v(2, Kind::I8), row.get::<i64, _>(2));
            assert_eq!(pg_date(v(3, Kind::Date)), Some(row.get::<time::Date, _>(3)));
        }
        assert_eq!(fixed_int(Kind::I4, &[0, 1]), None);
        // infinity is not a date sqlx or time holds: an error, not a panic
        let row = sqlx::query("SELECT 'infinity'::date AS d")
            .fetch_one(&mut c)
            .await
            .unwrap();
        let days = fixed_int(Kind::Date, row.try_get_raw(0).unwrap().as_bytes().unwrap());
        assert_eq!(days.and_then(pg_date), None);
        // a number past Decimal's range is a clear error, not sqlx's overflow panic
        for (lit, big) in [
            ("12345678901234567890123456789012", true),
            ("-80000000000000000000000000000", true),
            ("1e40", true),
            ("79228162514264337593543950335", false),
            ("-9999999999999999999999999999.5", false),
            ("NaN", false),
        ] {
            let sql = format!("SELECT '{lit}'::numeric AS n");
            let row = sqlx::query(&sql).fetch_one(&mut c).await.unwrap();
            let raw = row.try_get_raw(0).unwrap();
            assert_eq!(numeric_too_big(raw.as_bytes().unwrap()), big, "{lit}");
            let mut out = TableBuilder::new(vec!["n".into()], &[ColumnKind::Decimal]);
            let r = push(&row, 0, Kind::Numeric, &mut out);
            if big {
                let e = r.unwrap_err().to_string();
                assert!(
                    e.contains("more than 28 digits") && e.contains("::float8"),
                    "{e}"
                );
            }
        }
        // a malformed value is not taken
        assert_eq!(numeric(&[0, 1, 0, 0, 0, 0, 0, 2]), None);
        assert_eq!(numeric(&[0, 1, 0, 0, 0, 0, 0, 2, 0x27, 0x10]), None);
        assert_eq!(
            numeric(&[0, 1, 0, 0, 0x40, 0, 0, 2, 0, 12]),
            Some(Decimal::new(-1200, 2))
        );
    }
}
