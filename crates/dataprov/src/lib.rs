//! Data providers: where a report's data sets get their rows.
//!
//! Owns: the [`DataProvider`] trait and its implementations (ENTERDATA, SQLite, PostgreSQL),
//! parameter binding (`@name` rewritten to placeholders by a tokenizer that skips quotes and
//! comments; multi-value `IN (@p)` expanded), query timeouts, row limits, connection-string
//! parsing, the SQLite directory allow-list, shared data source (`.rds`/`.rsds`) definitions
//! and `DataSourceReference` resolution.
//!
//! Must not: render, evaluate report expressions, or know HTTP. Secrets (passwords) never
//! appear in a `Debug` output, a log line or an error message.
//!
//! The engine looks a provider up by the data source's `DataProvider` extension name in a
//! [`Registry`] and calls [`DataProvider::execute`] with the data set's query and its bound
//! parameter values; the result is a [`DataTable`]: the engine's compact column table,
//! which the providers fill value by value as rows arrive (no row of [`rdl::Value`]s is built).

pub mod connstr;
pub mod enterdata;
mod error;
pub mod postgres;
pub mod rds;
pub mod sqlite;
pub mod sqltok;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rdl::Value;
use zeroize::Zeroizing;

pub use error::DataError;

/// Upper bound for establishing a database connection (TCP, TLS, authentication).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A data provider: runs a data set's query against one kind of data source.
#[async_trait]
pub trait DataProvider: Send + Sync {
    /// Extension names it answers to (matched case-insensitively), canonical name first:
    /// `"ENTERDATA"`, `"SQLITE"`, `"POSTGRESQL"` and their aliases.
    fn names(&self) -> &'static [&'static str];

    /// Runs `query` with `params` bound, within `limits`.
    async fn execute(
        &self,
        conn: &Connection,
        query: &Query,
        params: &[BoundParam],
        limits: &Limits,
    ) -> Result<DataTable, DataError>;

    /// Connects and disconnects (the portal's "Test Connection"). `limits` carries the
    /// SQLite directory allow-list, which applies here as in `execute`.
    async fn test_connection(&self, conn: &Connection, limits: &Limits) -> Result<(), DataError>;
}

/// A data source's connection: `<ConnectionProperties>` or a shared data source, with the
/// credentials resolved. `Debug` shows the connect string with its passwords replaced.
#[derive(Clone, Default)]
pub struct Connection {
    /// `<DataProvider>`: the extension name (`SQLITE`, `POSTGRESQL`, `ENTERDATA`, ...).
    pub extension: String,
    /// `<ConnectString>`, already evaluated if it was an expression.
    pub connect_string: String,
    /// Stored or prompted credentials; they override a user/password in the connect string.
    pub credentials: Option<Credentials>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("extension", &self.extension)
            .field("connect_string", &connstr::redact(&self.connect_string))
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// A user name and password for a data source. `Debug` never shows the password; it is
/// zeroized when dropped.
#[derive(Clone, Default)]
pub struct Credentials {
    /// The database user name.
    pub user: String,
    /// The password, zeroized on drop.
    pub password: Zeroizing<String>,
}

impl Credentials {
    /// Credentials from a user name and a password.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            user: user.into(),
            password: Zeroizing::new(password.into()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How `CommandText` is interpreted (`<Query><CommandType>`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CommandType {
    /// A query in the data source's language (the default).
    #[default]
    Text,
    /// The name of a stored procedure (PostgreSQL: a set-returning function) called with the
    /// parameters by name.
    StoredProcedure,
    /// The name of a table: `SELECT * FROM` it.
    TableDirect,
}

/// A data set's query.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// `<CommandText>`, already evaluated if it was an expression.
    pub command_text: String,
    /// `<CommandType>`.
    pub command_type: CommandType,
    /// `<Timeout>` seconds: `None` when absent (then [`Limits::default_timeout`] applies),
    /// `Some(Duration::ZERO)` for SSRS's `0` (no query timeout; the render's own time limit
    /// still applies).
    pub timeout: Option<Duration>,
    /// The data set's `<Fields>`: ENTERDATA types its columns by them; the SQL providers
    /// ignore them (their columns are typed by the database).
    pub fields: Vec<FieldHint>,
}

/// A declared field of a data set: `<Field Name=".."><DataField>..</DataField>
/// <rd:TypeName>..</rd:TypeName>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldHint {
    /// The field's `Name` (what expressions use in `Fields!Name`).
    pub name: String,
    /// `<DataField>`: the column it reads.
    pub data_field: String,
    /// `<rd:TypeName>` (`System.String`, `System.Int32`, ...), if given.
    pub type_name: Option<String>,
}

/// A query parameter's value: `<QueryParameter Name="@p"><Value>`, evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundParam {
    /// The name as written in the report, with or without the leading `@`; matched
    /// case-insensitively against `@name` in the command text.
    pub name: String,
    /// The value; [`Value::Array`] for a multi-value parameter.
    pub value: Value,
}

/// Limits every query runs under.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most rows one data set may return; one more is an error
    /// ([`DataError::RowLimit`]).
    pub max_rows: usize,
    /// Most bytes (approximate: the values' sizes) one data set may hold.
    pub max_bytes: usize,
    /// The query timeout when the data set gives none; `Duration::ZERO` for none.
    pub default_timeout: Duration,
    /// The directories SQLite files may be opened in (setting `DataSourceDirectories`).
    /// Empty: no SQLite file may be opened.
    pub allowed_sqlite_dirs: Vec<PathBuf>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 1_000_000,
            max_bytes: 512 << 20,
            default_timeout: Duration::from_secs(30),
            allowed_sqlite_dirs: Vec::new(),
        }
    }
}

impl Limits {
    /// The timeout for `query`: its own, else the default; `None` for no timeout.
    pub fn timeout_for(&self, query: &Query) -> Option<Duration> {
        let t = query.timeout.unwrap_or(self.default_timeout);
        (!t.is_zero()).then_some(t)
    }
}

/// A column of a [`DataTable`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldMeta {
    /// The column name (ENTERDATA: the element name; SQL: the result column's name).
    pub name: String,
    /// The CLR type its values have (`System.String`, `System.Int64`, `System.Double`,
    /// `System.Decimal`, `System.Boolean`, `System.DateTime`, `System.Byte[]`), or
    /// `System.Object` when a column mixes types (SQLite without a declared type).
    pub type_name: String,
}

/// A data set as a provider returns it: the columns' metadata and the rows, decoded
/// straight into the engine's compact column table (the web app hands [`DataTable::table`]
/// to the bind as it is: no conversion copy). Derefs to the [`engine::DataTable`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataTable {
    /// The columns, in result order.
    pub fields: Vec<FieldMeta>,
    /// The rows, column by column; its field names are `fields`' names.
    pub table: engine::DataTable,
}

impl DataTable {
    /// A table of `rows` under `fields` (ENTERDATA, tests).
    pub fn from_rows<R: AsRef<[Value]>>(
        fields: Vec<FieldMeta>,
        rows: impl IntoIterator<Item = R>,
    ) -> Self {
        let names = fields.iter().map(|f| f.name.clone()).collect();
        DataTable {
            table: engine::DataTable::from_rows(names, rows),
            fields,
        }
    }

    /// The index of the column named `name` (exact match first, then ASCII
    /// case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.table.column(name)
    }
}

impl std::ops::Deref for DataTable {
    type Target = engine::DataTable;
    fn deref(&self) -> &engine::DataTable {
        &self.table
    }
}

/// The providers this server knows, by extension name (case-insensitive).
#[derive(Clone, Default)]
pub struct Registry {
    by_name: HashMap<String, Arc<dyn DataProvider>>,
    canonical: Vec<&'static str>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("providers", &self.canonical)
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// ENTERDATA, SQLite and PostgreSQL.
    pub fn with_defaults() -> Self {
        let mut r = Self::new();
        r.register(Arc::new(enterdata::EnterDataProvider));
        r.register(Arc::new(sqlite::SqliteProvider));
        r.register(Arc::new(postgres::PostgresProvider));
        r
    }

    /// Adds `provider` under all its names (a later registration of a name wins).
    pub fn register(&mut self, provider: Arc<dyn DataProvider>) {
        let names = provider.names();
        if let Some(first) = names.first()
            && !self.canonical.contains(first)
        {
            self.canonical.push(first);
        }
        for n in names {
            self.by_name
                .insert(n.to_ascii_lowercase(), Arc::clone(&provider));
        }
    }

    /// The canonical extension names, in registration order (`ENTERDATA`, `SQLITE`,
    /// `POSTGRESQL`).
    pub fn supported(&self) -> &[&'static str] {
        &self.canonical
    }

    /// The provider for `extension`, or [`DataError::UnknownExtension`].
    pub fn get(&self, extension: &str) -> Result<&Arc<dyn DataProvider>, DataError> {
        self.by_name
            .get(&extension.trim().to_ascii_lowercase())
            .ok_or_else(|| DataError::UnknownExtension {
                extension: extension.to_string(),
                supported: self.canonical.join(", "),
            })
    }

    /// Looks up `conn.extension` and runs the query.
    pub async fn execute(
        &self,
        conn: &Connection,
        query: &Query,
        params: &[BoundParam],
        limits: &Limits,
    ) -> Result<DataTable, DataError> {
        self.get(&conn.extension)?
            .execute(conn, query, params, limits)
            .await
    }

    /// Looks up `conn.extension` and tests the connection.
    pub async fn test_connection(
        &self,
        conn: &Connection,
        limits: &Limits,
    ) -> Result<(), DataError> {
        self.get(&conn.extension)?
            .test_connection(conn, limits)
            .await
    }
}

/// Counts rows and approximate bytes while a table is filled; the SQL providers check it
/// per row, while streaming.
#[derive(Debug)]
pub(crate) struct RowBudget {
    max_rows: usize,
    max_bytes: usize,
    bytes: usize,
}

impl RowBudget {
    pub(crate) fn new(limits: &Limits) -> Self {
        RowBudget {
            max_rows: limits.max_rows,
            max_bytes: limits.max_bytes,
            bytes: 0,
        }
    }

    /// Accounts for a row of about `bytes` bytes about to become row number
    /// `rows_before + 1`.
    pub(crate) fn admit(&mut self, rows_before: usize, bytes: usize) -> Result<(), DataError> {
        if rows_before >= self.max_rows {
            return Err(DataError::RowLimit {
                limit: self.max_rows,
            });
        }
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.max_bytes {
            return Err(DataError::ByteLimit {
                limit: self.max_bytes,
            });
        }
        Ok(())
    }
}

/// The approximate memory of a row of values: a fixed cost per value plus its payload.
pub(crate) fn row_bytes(row: &[Value]) -> usize {
    row.iter().map(value_bytes).sum()
}

/// The approximate memory of one value (what [`RowBudget`] counts).
pub(crate) fn value_bytes(v: &Value) -> usize {
    16 + match v {
        Value::Str(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::Array(a) => row_bytes(a),
        _ => 0,
    }
}

/// Runs `fut` under `timeout` (none: unbounded), mapping expiry to [`DataError::Timeout`].
pub(crate) async fn with_timeout<T>(
    timeout: Option<Duration>,
    fut: impl std::future::Future<Output = Result<T, DataError>>,
) -> Result<T, DataError> {
    match timeout {
        None => fut.await,
        Some(t) => match tokio::time::timeout(t, fut).await {
            Ok(r) => r,
            Err(_) => Err(DataError::Timeout {
                seconds: t.as_secs_f64(),
            }),
        },
    }
}
