//! The SQLite catalog: one file in the data dir, shared by `reportd` and `reportctl`.
//! This module opens the file and supplies the SQLite [`Dialect`]; the catalog's statements
//! are the shared ones of `sql.rs`.
//!
//! Concurrency: the file is in WAL mode (readers never block the writer), every connection
//! waits up to [`BUSY_TIMEOUT`] for a lock, and every write runs in a `BEGIN IMMEDIATE`
//! transaction that bumps the generation counter first — so two processes writing at once
//! queue rather than fail, and a reader in another process sees a new generation as soon as
//! a write commits. The file is created with mode 0600 (SQLite gives its `-wal`/`-shm`
//! files the same mode).
//!
//! Opening never writes to a file that is not (or not yet meant to be) a catalog: the file
//! is inspected on a plain connection first, and only an empty file (with `create`) or a
//! catalog needing migrations is written to. This module does not resolve relative paths
//! (the caller does, against the data dir) and takes no data-dir lock.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqlitePoolOptions, SqliteQueryResult, SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, Transaction};

use crate::common::SCHEMA_TABLE;
use crate::sql::{Dialect, SqlCatalog};
use crate::{Error, Result};

/// How long a statement waits for another connection's (or process's) lock before failing
/// with "database is locked" when opened with [`SqliteCatalog::open`]. Writes are short;
/// 5 s covers a burst of them. [`crate::OpenOptions::statement_timeout`] sets it otherwise.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Pool size. SQLite has one writer at a time; the extra connections let page renders
/// read while a write is queued. Each connection costs a worker thread and its page cache.
const MAX_CONNECTIONS: u32 = 4;

/// A catalog in a SQLite file: the shared implementation with [`SqliteDialect`].
pub type SqliteCatalog = SqlCatalog<SqliteDialect>;

/// What SQLite does its own way (see [`Dialect`]); holds the path of the file.
pub struct SqliteDialect {
    path: PathBuf,
}

impl SqliteCatalog {
    /// Opens `sqlite:PATH` (also `sqlite://PATH`; a `?query` is ignored). See
    /// [`open_path`](SqliteCatalog::open_path).
    pub async fn open(url: &str, create: bool) -> Result<Self> {
        let options = crate::OpenOptions {
            statement_timeout: BUSY_TIMEOUT,
            ..crate::OpenOptions::new(create)
        };
        Self::open_with(url, &options).await
    }

    /// [`open`](SqliteCatalog::open) with explicit timeouts: `statement_timeout` is the busy
    /// timeout, `connect_timeout` the pool's acquire timeout.
    pub async fn open_with(url: &str, options: &crate::OpenOptions) -> Result<Self> {
        // The URL is not echoed: a mistaken postgres:// one may hold a password.
        let rest = url.strip_prefix("sqlite:").ok_or_else(|| {
            Error::Invalid("the database URL is not a SQLite URL; use sqlite:PATH".into())
        })?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let rest = rest.split('?').next().unwrap_or(rest);
        if rest.is_empty() || rest == ":memory:" {
            return Err(Error::Invalid(
                "the SQLite URL names no file; use sqlite:PATH (for example sqlite:catalog.db)"
                    .into(),
            ));
        }
        Self::open_path_with(Path::new(rest), options).await
    }

    /// Opens the catalog in the file `path`, migrating it forward if needed.
    ///
    /// With `create`, a missing file is created (mode 0600) and an empty one initialized;
    /// without it, either is an [`Error::Uninitialized`] naming the path and
    /// `reportctl database create`. A file holding other tables is refused
    /// ([`Error::Foreign`]) and left untouched.
    pub async fn open_path(path: &Path, create: bool) -> Result<Self> {
        let options = crate::OpenOptions {
            statement_timeout: BUSY_TIMEOUT,
            ..crate::OpenOptions::new(create)
        };
        Self::open_path_with(path, &options).await
    }

    async fn open_path_with(path: &Path, options: &crate::OpenOptions) -> Result<Self> {
        let create = options.create;
        let target = path.display().to_string();
        let created_now = ensure_file(path, &target, create)?;
        match Self::open_existing(path.to_owned(), target, options).await {
            Ok(c) => Ok(c),
            Err(e) => {
                if created_now {
                    // Leave nothing half-made behind: the file did not exist before.
                    for suffix in ["", "-wal", "-shm", "-journal"] {
                        let mut p = path.as_os_str().to_owned();
                        p.push(suffix);
                        let _ = std::fs::remove_file(PathBuf::from(p));
                    }
                }
                Err(e)
            }
        }
    }

    async fn open_existing(
        path: PathBuf,
        target: String,
        options: &crate::OpenOptions,
    ) -> Result<Self> {
        let create = options.create;
        let busy = options.statement_timeout;
        let connect_err = |e: sqlx::Error| Error::Connect {
            target: target.clone(),
            cause: e.to_string(),
        };
        // No journal_mode here: setting WAL writes the file header, which must not happen
        // to a file that turns out to be foreign. `foreign_keys` is per connection.
        let base = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(false)
            .busy_timeout(busy)
            .foreign_keys(true);

        let mut probe = SqliteConnection::connect_with(&base)
            .await
            .map_err(connect_err)?;
        let result = Self::prepare(&mut probe, &target, create).await;
        let _ = probe.close().await;
        result?;

        // The file is in WAL mode now (persistent), so pool connections need not set it;
        // NORMAL sync is durable in WAL mode except for the last commits on power loss.
        let opts = base.synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // No reconnects for a local file: a connection is busy only while a statement
            // runs or waits for the write lock, so wait as long as that may take.
            .acquire_timeout(options.statement_timeout + options.connect_timeout)
            // A connection to a local file does not go stale: skip the ping that sqlx would
            // otherwise run on every acquire (it doubled the cost of each query).
            .test_before_acquire(false)
            .connect_with(opts)
            .await
            .map_err(connect_err)?;
        Ok(SqlCatalog {
            pool,
            dialect: SqliteDialect { path },
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.dialect.path
    }
}

/// Makes sure the file exists (creating it, mode 0600, with `create`). Returns whether it
/// was created now.
fn ensure_file(path: &Path, target: &str, create: bool) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(false),
        Ok(_) => Err(Error::Invalid(format!(
            "{target} is not a regular file; give the path of a SQLite catalog file"
        ))),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if !create {
                return Err(Error::Uninitialized {
                    target: target.to_owned(),
                    problem: "does not exist".into(),
                });
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
                && !dir.is_dir()
            {
                return Err(Error::Connect {
                    target: target.to_owned(),
                    cause: format!(
                        "the directory {} does not exist; create it first",
                        dir.display()
                    ),
                });
            }
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(_) => Ok(true),
                // Another process created it just now: use theirs.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(Error::Connect {
                    target: target.to_owned(),
                    cause: format!("cannot create the file: {e}"),
                }),
            }
        }
        Err(e) => Err(Error::Connect {
            target: target.to_owned(),
            cause: e.to_string(),
        }),
    }
}

impl Dialect for SqliteDialect {
    type Db = Sqlite;
    const BACKEND: &'static str = "sqlite";
    /// IMMEDIATE takes the write lock now (waiting up to the busy timeout), so no
    /// read-then-write upgrade can fail with "database is locked" halfway through a write.
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const SCHEMA_TABLE_DDL: &'static str = "CREATE TABLE IF NOT EXISTS reportd_schema (\
        version INTEGER PRIMARY KEY NOT NULL, \
        description TEXT NOT NULL, \
        applied_at TEXT NOT NULL)";
    const MIGRATIONS: &'static [(&'static str, &'static str)] = &[
        (
            "initial catalog",
            include_str!("../migrations/sqlite/0001_initial.sql"),
        ),
        (
            "cluster nodes",
            include_str!("../migrations/sqlite/0002_cluster_nodes.sql"),
        ),
        (
            "cluster key",
            include_str!("../migrations/sqlite/0003_cluster_key.sql"),
        ),
        (
            "cluster certificates",
            include_str!("../migrations/sqlite/0004_cluster_certs.sql"),
        ),
    ];
    /// One process writes the file at a time and no other node shares it.
    const NOTIFY_WRITE: Option<&'static str> = None;

    fn map_error(e: sqlx::Error) -> Error {
        db(e)
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    async fn user_tables(conn: &mut SqliteConnection, target: &str) -> Result<(Vec<String>, bool)> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| Error::Connect {
            target: target.to_owned(),
            cause: format!("cannot read it as a SQLite database: {e}"),
        })?;
        let has_marker = tables.iter().any(|t| t == SCHEMA_TABLE);
        Ok((tables, has_marker))
    }

    fn foreign(target: &str, tables: &str) -> String {
        format!(
            "the SQLite file {target} holds tables that are not a reportd catalog ({tables}); \
             it was left untouched: give the path of a new file"
        )
    }

    async fn ready(conn: &mut SqliteConnection) -> Result<()> {
        ensure_wal(conn).await
    }

    /// One IMMEDIATE transaction: two processes opening a new file at once apply the
    /// migrations once.
    async fn begin_migration(conn: &mut SqliteConnection) -> Result<Transaction<'_, Sqlite>> {
        conn.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }
}

/// Puts the file in WAL mode (a persistent property of the file) unless it already is.
/// Switching needs no other connection open, which holds for a new file; an existing
/// catalog is already in WAL mode and only gets the read.
async fn ensure_wal(conn: &mut SqliteConnection) -> Result<()> {
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    if mode.eq_ignore_ascii_case("wal") {
        return Ok(());
    }
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            mode,
            "the SQLite catalog could not be switched to WAL mode; concurrent writers may wait longer"
        );
    }
    Ok(())
}

/// Maps a driver error. "Database is locked" (the busy timeout passed) and a pool that
/// gave no connection in time are [`Error::Unavailable`], naming what happened.
fn db(e: sqlx::Error) -> Error {
    if let sqlx::Error::Database(d) = &e
        && matches!(d.code().as_deref(), Some("5" | "517" | "6"))
    {
        return Error::Unavailable(
            "the catalog file stayed locked by another writer for longer than the statement timeout; try again".into(),
        );
    }
    match e {
        sqlx::Error::PoolTimedOut => Error::Unavailable(
            "no connection to the catalog file became free in time (the pool is busy)".into(),
        ),
        sqlx::Error::PoolClosed => Error::Unavailable("the catalog is being closed".into()),
        sqlx::Error::Io(io) => Error::Unavailable(format!("the catalog file cannot be read: {io}")),
        e => Error::Db(e.to_string()),
    }
}
