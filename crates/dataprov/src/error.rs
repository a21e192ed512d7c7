//! The one error type of this crate. Every message names the problem and the fix; none
//! contains a password.

/// Why a data set could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The data source's `DataProvider` names an extension no provider answers to.
    #[error(
        "the data extension '{extension}' is not supported; supported extensions: {supported}. \
         Change the data source's DataProvider (or point the report at a shared data source of a \
         supported type)"
    )]
    UnknownExtension {
        /// The extension as written in the report.
        extension: String,
        /// The canonical names of the registered providers, comma separated.
        supported: String,
    },

    /// The connect string could not be understood.
    #[error("invalid {provider} connection string: {message}")]
    ConnectString {
        /// `SQLite` or `PostgreSQL`.
        provider: &'static str,
        /// What is wrong and how to write it (never the password).
        message: String,
    },

    /// A SQLite file was refused by the directory allow-list (or does not exist).
    #[error(
        "the SQLite file '{path}' may not be opened: {reason}. Data files must be under a \
         directory an administrator allowed with `reportctl config set DataSourceDirectories`"
    )]
    PathNotAllowed {
        /// The path as the connect string named it.
        path: String,
        /// Why (outside the allowed directories, `..`, no directories configured, missing...).
        reason: String,
    },

    /// Connecting to the database failed (refused, unreachable, authentication).
    #[error(
        "cannot connect to {provider} at {target}: {message}; check the host, port, database \
         and credentials of the data source"
    )]
    Connect {
        /// `SQLite` or `PostgreSQL`.
        provider: &'static str,
        /// `host:port` or the file path (never the password).
        target: String,
        /// The driver's message, with any password removed.
        message: String,
    },

    /// The database rejected or failed the query.
    #[error("the query failed: {message}")]
    Query {
        /// The database's own message (with SQLSTATE when it has one).
        message: String,
    },

    /// The query ran longer than its timeout.
    #[error(
        "the query did not finish within {seconds} seconds; make it faster or raise the data \
         set's Query/Timeout"
    )]
    Timeout {
        /// The timeout that applied.
        seconds: f64,
    },

    /// The query returned more rows than allowed.
    #[error(
        "the data set returned more than {limit} rows; filter it in the query or raise the \
         server setting MaxReportRows (`reportctl config set MaxReportRows N`)"
    )]
    RowLimit {
        /// The limit that applied.
        limit: usize,
    },

    /// The rows held more bytes than allowed.
    #[error(
        "the data set holds more than {limit} bytes, the server's memory bound for one data \
         set; select fewer rows or columns, or shorter values"
    )]
    ByteLimit {
        /// The limit that applied.
        limit: usize,
    },

    /// A query parameter is missing, unused in a way that cannot work, or of a type the
    /// database cannot take.
    #[error("query parameter @{name}: {message}")]
    Parameter {
        /// The parameter name without `@`.
        name: String,
        /// What is wrong and the fix.
        message: String,
    },

    /// The query is not allowed or not supported by this provider (a command type it does
    /// not have, `ATTACH` in SQLite, an embedded table that does not parse).
    #[error("{message}")]
    Unsupported {
        /// What and why, with the fix.
        message: String,
    },

    /// ENTERDATA: the embedded table in the command text does not parse.
    #[error(
        "the embedded data (ENTERDATA) is invalid: {message}; re-enter the data in the report designer"
    )]
    EnterData {
        /// What is wrong, with line/column where known.
        message: String,
    },

    /// A shared data source definition (`.rds`/`.rsds`) or a `DataSourceReference` is
    /// invalid.
    #[error("invalid shared data source: {message}")]
    DataSourceDefinition {
        /// What is wrong and the fix.
        message: String,
    },

    /// The credentials sealed in a stored shared data source cannot be opened (changed,
    /// sealed with another instance key, or not in the format this server writes).
    #[error("the stored credentials of the shared data source cannot be used: {message}")]
    StoredCredentials {
        /// Why, with the fix (never the secret).
        message: String,
    },

    /// A result column has a database type this server cannot read.
    #[error(
        "column '{column}' has the database type {db_type}, which reports cannot read; cast it \
         in the query (for example `{column}::text`)"
    )]
    ColumnType {
        /// The column name.
        column: String,
        /// The database's type name.
        db_type: String,
    },
}
