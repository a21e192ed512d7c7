//! The PostgreSQL catalog: one database shared by several reportd nodes. This module
//! connects, creates the database when asked, and supplies the PostgreSQL [`Dialect`]; the
//! catalog's statements are the shared ones of `sql.rs`.
//!
//! Opening is careful about what it touches: it connects once (giving up within
//! [`CONNECT_TIMEOUT`], with an error naming `host:port` and the cause), creates the
//! database only when asked to and only when it does not exist, and then reads the list of
//! tables: an empty database is initialized, a reportd catalog is migrated forward, and
//! anything else is refused ([`Error::Foreign`]) before a single statement writes to it.
//!
//! Every write runs in a transaction whose first statement bumps the generation row; the row
//! lock makes writes from all nodes take turns, so each write's checks (parent exists, name
//! free) see the latest committed state under READ COMMITTED.
//!
//! This module never shows or logs the password of the URL: errors name host, port and
//! database only.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgQueryResult};
use sqlx::{Connection, Executor, Postgres, Transaction};
use tokio::time::Instant;

use crate::common::{self, SCHEMA_TABLE};
use crate::sql::{Dialect, SqlCatalog};
use crate::{Error, Result};

/// Longest time `open` spends connecting (all attempts together) before giving up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Pool size per node. Catalog statements are short; 8 connections per node keeps a few
/// nodes well under PostgreSQL's default `max_connections` of 100.
const MAX_CONNECTIONS: u32 = 8;

/// Key of the advisory lock held while migrating ("reportd" in ASCII), so nodes starting
/// together migrate once.
const MIGRATION_LOCK: i64 = 0x0072_6570_6f72_7464;

/// A catalog in a PostgreSQL database: the shared implementation with [`PgDialect`].
pub type PostgresCatalog = SqlCatalog<PgDialect>;

/// What PostgreSQL does its own way (see [`Dialect`]); holds `host:port/database`, for
/// messages.
pub struct PgDialect {
    target: String,
}

/// Where a URL points, for messages (never includes the password).
struct Target {
    host_port: String,
    database: String,
}

impl Target {
    fn of(opts: &PgConnectOptions) -> Target {
        let host_port = match opts.get_socket() {
            Some(sock) => sock.display().to_string(),
            None if opts.get_host().contains(':') => {
                format!("[{}]:{}", opts.get_host(), opts.get_port())
            }
            None => format!("{}:{}", opts.get_host(), opts.get_port()),
        };
        let database = opts
            .get_database()
            .unwrap_or(opts.get_username())
            .to_owned();
        Target {
            host_port,
            database,
        }
    }

    fn full(&self) -> String {
        format!("{}/{}", self.host_port, self.database)
    }
}

/// Why a single connection attempt failed.
enum ConnectFailure {
    /// The server answered that the database does not exist (SQLSTATE 3D000).
    NoDatabase,
    Other(Error),
}

impl PostgresCatalog {
    /// Opens the catalog at a `postgres://` URL. See [`crate::open`] for `create`.
    pub async fn open(url: &str, create: bool) -> Result<Self> {
        Self::open_with(url, &crate::OpenOptions::new(create)).await
    }

    /// [`open`](PostgresCatalog::open) with explicit timeouts: opening and later each pool
    /// acquire give up after `connect_timeout` (so a request never waits long behind a
    /// reconnect), and every pooled connection runs with `statement_timeout` and
    /// `lock_timeout` set to `statement_timeout`.
    pub async fn open_with(url: &str, options: &crate::OpenOptions) -> Result<Self> {
        let create = options.create;
        let connect_timeout = options.connect_timeout;
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| {
                Error::Invalid(format!(
                    "the PostgreSQL URL is not valid ({e}); use postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
                ))
            })?
            .application_name("reportd");
        let target = Target::of(&opts);
        let deadline = Instant::now() + connect_timeout;

        let mut conn = match connect_once(&opts, &target, deadline, connect_timeout).await {
            Ok(c) => c,
            Err(ConnectFailure::NoDatabase) if create => {
                create_database(&opts, &target, deadline, connect_timeout).await?;
                match connect_once(&opts, &target, deadline, connect_timeout).await {
                    Ok(c) => c,
                    Err(ConnectFailure::NoDatabase) => {
                        return Err(Error::Db(format!(
                            "the database {} was created but cannot be found",
                            target.full()
                        )));
                    }
                    Err(ConnectFailure::Other(e)) => return Err(e),
                }
            }
            Err(ConnectFailure::NoDatabase) => {
                return Err(Error::Uninitialized {
                    target: target.full(),
                    problem: "does not exist".into(),
                });
            }
            Err(ConnectFailure::Other(e)) => return Err(e),
        };
        let prepared = Self::prepare(&mut conn, &target.full(), create).await;
        let _ = conn.close().await;
        prepared?;

        // The probe just connected, so the pool may connect lazily. Acquiring waits at most
        // connect_timeout later on too (a pool exhausted or a server gone): the request then
        // fails with Error::Unavailable instead of queueing behind reconnect attempts.
        let ms = options.statement_timeout.as_millis().max(1);
        let opts = opts.options([
            ("statement_timeout", format!("{ms}ms")),
            ("lock_timeout", format!("{ms}ms")),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(connect_timeout)
            .connect_lazy_with(opts);
        Ok(SqlCatalog {
            pool,
            dialect: PgDialect {
                target: target.full(),
            },
        })
    }

    /// `host:port/database` of this catalog (no credentials).
    pub fn target(&self) -> &str {
        &self.dialect.target
    }
}

/// One connection attempt, bounded by `deadline`. Unlike a pool, it does not retry a
/// refused connection until the deadline, so the real cause reaches the user at once.
async fn connect_once(
    opts: &PgConnectOptions,
    target: &Target,
    deadline: Instant,
    timeout: Duration,
) -> std::result::Result<PgConnection, ConnectFailure> {
    match tokio::time::timeout_at(deadline, PgConnection::connect_with(opts)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(sqlx::Error::Database(d))) if d.code().as_deref() == Some("3D000") => {
            Err(ConnectFailure::NoDatabase)
        }
        Ok(Err(e)) => Err(ConnectFailure::Other(connect_error(target, e))),
        Err(_) => Err(ConnectFailure::Other(Error::Connect {
            target: target.full(),
            cause: format!(
                "no answer within {:.1} seconds; check that the host is reachable and PostgreSQL listens on that port",
                timeout.as_secs_f64()
            ),
        })),
    }
}

/// A connection failure with a hint for the usual causes.
fn connect_error(target: &Target, e: sqlx::Error) -> Error {
    let hint = match &e {
        sqlx::Error::Io(_) => "; check that PostgreSQL is running and listens on that address",
        sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("28P01" | "28000")) => {
            "; check the user name and password in the URL"
        }
        sqlx::Error::Tls(_) => "; check the server's TLS setup or the sslmode in the URL",
        _ => "",
    };
    Error::Connect {
        target: target.full(),
        cause: format!("{e}{hint}"),
    }
}

/// Quotes an SQL identifier: double quotes, inner ones doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Creates the database of `opts` from a maintenance database (`postgres`, else
/// `template1`) on the same server. A database created meanwhile by someone else is fine.
async fn create_database(
    opts: &PgConnectOptions,
    target: &Target,
    deadline: Instant,
    timeout: Duration,
) -> Result<()> {
    let name = &target.database;
    if name.is_empty() || name.len() > 63 || name.contains('\0') {
        return Err(Error::Invalid(format!(
            "the database name {} is not usable; PostgreSQL names are 1 to 63 bytes",
            common::quote(name)
        )));
    }
    let mut last = None;
    for maintenance in ["postgres", "template1"] {
        let admin_opts = opts.clone().database(maintenance);
        let mut admin = match connect_once(&admin_opts, target, deadline, timeout).await {
            Ok(c) => c,
            Err(ConnectFailure::NoDatabase) => continue,
            Err(ConnectFailure::Other(e)) => {
                last = Some(e);
                continue;
            }
        };
        let create_sql = format!("CREATE DATABASE {}", quote_ident(name));
        let created = (&mut admin).execute(sqlx::raw_sql(&create_sql)).await;
        let _ = admin.close().await;
        return match created {
            Ok(_) => {
                tracing::info!(database = %name, server = %target.host_port, "created the catalog database");
                Ok(())
            }
            Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("42P04") => Ok(()),
            Err(e) => Err(Error::Db(format!(
                "cannot create the database {}: {e}; create it yourself (CREATE DATABASE) or give the user the CREATEDB privilege",
                target.full()
            ))),
        };
    }
    Err(last.unwrap_or_else(|| Error::Connect {
        target: target.host_port.clone(),
        cause: format!(
            "the database {} does not exist and no maintenance database (postgres, template1) \
             is reachable to create it from; create it yourself",
            common::quote(name)
        ),
    }))
}

impl Dialect for PgDialect {
    type Db = Postgres;
    const BACKEND: &'static str = "postgresql";
    /// READ COMMITTED; the generation bump that follows row-locks the counter, so writes
    /// from all nodes take turns.
    const BEGIN_WRITE: &'static str = "BEGIN";
    const SCHEMA_TABLE_DDL: &'static str = "CREATE TABLE IF NOT EXISTS reportd_schema (\
        version BIGINT PRIMARY KEY, \
        description TEXT NOT NULL, \
        applied_at TIMESTAMPTZ NOT NULL)";
    const MIGRATIONS: &'static [(&'static str, &'static str)] = &[
        (
            "initial catalog",
            include_str!("../migrations/postgres/0001_initial.sql"),
        ),
        (
            "cluster nodes",
            include_str!("../migrations/postgres/0002_cluster_nodes.sql"),
        ),
        (
            "cluster key",
            include_str!("../migrations/postgres/0003_cluster_key.sql"),
        ),
        (
            "cluster certificates",
            include_str!("../migrations/postgres/0004_cluster_certs.sql"),
        ),
    ];

    const NOTIFY_WRITE: Option<&'static str> = Some(crate::notify::NOTIFY_SQL);

    fn map_error(e: sqlx::Error) -> Error {
        db(e)
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    /// Every relation outside the system schemas (any schema: a shared database such as
    /// `postgres` holding other objects is not empty); the marker counts only in the
    /// current schema, where the catalog's statements would find it.
    async fn user_tables(conn: &mut PgConnection, _target: &str) -> Result<(Vec<String>, bool)> {
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT n.nspname::text, c.relname::text, n.nspname = current_schema() \
             FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg\\_%' \
             ORDER BY 1, 2",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        let has_marker = rows
            .iter()
            .any(|(_, table, current)| *current && table == SCHEMA_TABLE);
        let names = rows
            .into_iter()
            .map(|(schema, table, _)| format!("{schema}.{table}"))
            .collect();
        Ok((names, has_marker))
    }

    fn foreign(target: &str, tables: &str) -> String {
        format!(
            "the PostgreSQL database {target} holds tables that are not a reportd catalog ({tables}); \
             it was left untouched: use an empty database or a new database name"
        )
    }

    async fn ready(_conn: &mut PgConnection) -> Result<()> {
        Ok(())
    }

    /// A transaction holding an advisory lock, so nodes starting together migrate once.
    async fn begin_migration(conn: &mut PgConnection) -> Result<Transaction<'_, Postgres>> {
        let mut tx = conn.begin().await.map_err(db)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        Ok(tx)
    }
}

/// Maps a driver error. Failures of the connection rather than of the statement (no pooled
/// connection in time, connection lost, server shutting down, statement or lock timeout)
/// are [`Error::Unavailable`], naming the problem.
pub(crate) fn db(e: sqlx::Error) -> Error {
    let problem = match &e {
        sqlx::Error::PoolTimedOut => {
            "no connection to PostgreSQL within the connect timeout: the server is down, refuses connections or is unreachable"
        }
        sqlx::Error::PoolClosed => "the catalog is being closed",
        sqlx::Error::Io(_) => "the connection to PostgreSQL was lost",
        sqlx::Error::Tls(_) => "the TLS connection to PostgreSQL failed",
        sqlx::Error::Database(d) => match d.code().as_deref() {
            Some("57014") => {
                "a statement ran longer than the statement timeout (probably waiting for a lock another session holds)"
            }
            Some("55P03") => {
                "a statement waited longer than the lock timeout for a lock another session holds"
            }
            Some("57P01" | "57P02" | "57P03") => {
                "the PostgreSQL server is shutting down, restarting or terminated the connection"
            }
            Some("53300") => "PostgreSQL has no free connection slot (max_connections)",
            Some(c) if c.starts_with("08") => "the connection to PostgreSQL failed",
            _ => return Error::Db(e.to_string()),
        },
        _ => return Error::Db(e.to_string()),
    };
    Error::Unavailable(problem.to_owned())
}
