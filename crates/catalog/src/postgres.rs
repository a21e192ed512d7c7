//! The PostgreSQL catalog: one database shared by several reportd nodes.
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

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Executor, Postgres, QueryBuilder, Transaction};
use tokio::time::Instant;

use crate::common::{self, Contents, ITEM_COLUMNS, ItemRow, SCHEMA_TABLE, USER_COLUMNS, UserRow};
use crate::{
    Catalog, CatalogItem, Error, ItemPath, ItemProperties, ItemType, NewItem, NewUser, Policy,
    Result, Role, User,
};

/// Longest time `open` spends connecting (all attempts together) before giving up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Pool size per node. Catalog statements are short; 8 connections per node keeps a few
/// nodes well under PostgreSQL's default `max_connections` of 100.
const MAX_CONNECTIONS: u32 = 8;

/// Key of the advisory lock held while migrating ("reportd" in ASCII), so nodes starting
/// together migrate once.
const MIGRATION_LOCK: i64 = 0x0072_6570_6f72_7464;

/// The migrations, in order; version = position + 1. Never edit one that has shipped:
/// append a new one.
const MIGRATIONS: &[(&str, &str)] = &[(
    "initial catalog",
    include_str!("../migrations/postgres/0001_initial.sql"),
)];

/// A catalog in a PostgreSQL database.
pub struct PostgresCatalog {
    pool: PgPool,
    /// `host:port/database`, for messages.
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
        let prepared = prepare(&mut conn, &target, create).await;
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
        Ok(PostgresCatalog {
            pool,
            target: target.full(),
        })
    }

    /// `host:port/database` of this catalog (no credentials).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write: a transaction whose first statement bumps (and so row-locks) the
    /// generation. Dropping it without commit rolls both back.
    async fn write(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("UPDATE generation SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        Ok(tx)
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

/// Inspects the database and, if allowed, initializes or migrates it. Writes nothing unless
/// the database is empty (with `create`) or already a reportd catalog.
async fn prepare(conn: &mut PgConnection, target: &Target, create: bool) -> Result<()> {
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
    match common::classify(names, has_marker) {
        Contents::Foreign(names) => {
            return Err(Error::Foreign(format!(
                "the PostgreSQL database {} holds tables that are not a reportd catalog ({}); \
                 it was left untouched: use an empty database or a new database name",
                target.full(),
                common::list_some(&names)
            )));
        }
        Contents::Empty if !create => {
            return Err(Error::Uninitialized {
                target: target.full(),
                problem: "holds no catalog".into(),
            });
        }
        Contents::Empty => {}
        Contents::Catalog => {
            let current = current_version(conn).await?;
            check_not_too_new(current)?;
            if current == latest() {
                return Ok(());
            }
        }
    }
    migrate(conn).await
}

fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

fn check_not_too_new(found: i64) -> Result<()> {
    if found > latest() {
        return Err(Error::SchemaTooNew {
            found,
            supported: latest(),
        });
    }
    Ok(())
}

async fn current_version(conn: &mut PgConnection) -> Result<i64> {
    sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM reportd_schema")
        .fetch_one(conn)
        .await
        .map(|v| v.unwrap_or(0))
        .map_err(db)
}

/// Applies the pending migrations in one transaction, under an advisory lock.
async fn migrate(conn: &mut PgConnection) -> Result<()> {
    let mut tx = conn.begin().await.map_err(db)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    (&mut *tx)
        .execute(sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS reportd_schema (\
            version BIGINT PRIMARY KEY, \
            description TEXT NOT NULL, \
            applied_at TIMESTAMPTZ NOT NULL)",
        ))
        .await
        .map_err(db)?;
    let current = current_version(&mut tx).await?;
    check_not_too_new(current)?;
    for (i, (description, sql)) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version <= current {
            continue;
        }
        (&mut *tx).execute(sqlx::raw_sql(sql)).await.map_err(db)?;
        if version == 1 {
            insert_root(&mut tx).await?;
        }
        sqlx::query(
            "INSERT INTO reportd_schema (version, description, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(version)
        .bind(*description)
        .bind(common::now())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tracing::info!(
            version,
            description,
            "applied catalog migration (postgresql)"
        );
    }
    tx.commit().await.map_err(db)
}

/// The root folder: its own (empty) role assignments, created by the system.
async fn insert_root(conn: &mut PgConnection) -> Result<()> {
    let now = common::now();
    sqlx::query(
        "INSERT INTO items (id, path, path_key, parent_id, name, item_type, own_policies, \
         created_by, created_at, modified_by, modified_at) \
         VALUES ($1, '/', '/', NULL, '', 'Folder', TRUE, 'system', $2, 'system', $2)",
    )
    .bind(common::new_id())
    .bind(now)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Maps a driver error. Failures of the connection rather than of the statement (no pooled
/// connection in time, connection lost, server shutting down, statement or lock timeout)
/// are [`Error::Unavailable`], naming the problem.
fn db(e: sqlx::Error) -> Error {
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

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

async fn get_item_in(conn: &mut PgConnection, path: &ItemPath) -> Result<Option<CatalogItem>> {
    sqlx::query_as::<_, ItemRow>(&format!(
        "SELECT {ITEM_COLUMNS} FROM items WHERE path_key = $1"
    ))
    .bind(path.key())
    .fetch_optional(conn)
    .await
    .map_err(db)?
    .map(ItemRow::into_item)
    .transpose()
}

async fn id_and_type(conn: &mut PgConnection, key: &str) -> Result<Option<(uuid::Uuid, String)>> {
    sqlx::query_as("SELECT id, item_type FROM items WHERE path_key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await
        .map_err(db)
}

/// The id of the folder that will hold `path`, and the path to store: the parent's stored
/// spelling joined with the new name. [`Error::ParentMissing`] when there is no such folder.
async fn parent_folder(conn: &mut PgConnection, path: &ItemPath) -> Result<(uuid::Uuid, ItemPath)> {
    let parent = path.parent().ok_or(Error::Root)?;
    let row: Option<(uuid::Uuid, String, String)> =
        sqlx::query_as("SELECT id, item_type, path FROM items WHERE path_key = $1")
            .bind(parent.key())
            .fetch_optional(conn)
            .await
            .map_err(db)?;
    match row {
        Some((id, t, stored)) if t == ItemType::Folder.as_str() => {
            let stored = ItemPath::parse(&stored)
                .map_err(|e| Error::Db(format!("the catalog holds an invalid path: {e}")))?;
            Ok((id, stored.join(path.name())?))
        }
        _ => Err(Error::ParentMissing(path.clone())),
    }
}

async fn must_get(conn: &mut PgConnection, path: &ItemPath) -> Result<CatalogItem> {
    get_item_in(conn, path)
        .await?
        .ok_or_else(|| Error::Db(format!("the item '{path}' vanished during a write")))
}

#[async_trait::async_trait]
impl Catalog for PostgresCatalog {
    fn backend(&self) -> &'static str {
        "postgresql"
    }

    async fn schema_version(&self) -> Result<i64> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        current_version(&mut conn).await
    }

    async fn item_count(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM items WHERE parent_id IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn generation(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT value FROM generation WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn get_item(&self, path: &ItemPath) -> Result<Option<CatalogItem>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        get_item_in(&mut conn, path).await
    }

    async fn get_item_by_id(&self, id: uuid::Uuid) -> Result<Option<CatalogItem>> {
        sqlx::query_as::<_, ItemRow>(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(ItemRow::into_item)
            .transpose()
    }

    async fn list_children(&self, path: &ItemPath) -> Result<Vec<CatalogItem>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let (id, item_type) = id_and_type(&mut conn, path.key())
            .await?
            .ok_or_else(|| Error::NotFound(path.clone()))?;
        if item_type != ItemType::Folder.as_str() {
            return Err(Error::Invalid(format!(
                "'{path}' is a {item_type}, not a folder; only folders have children"
            )));
        }
        let rows = sqlx::query_as::<_, ItemRow>(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE parent_id = $1"
        ))
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        let mut items = rows
            .into_iter()
            .map(ItemRow::into_item)
            .collect::<Result<Vec<_>>>()?;
        common::sort_children(&mut items);
        Ok(items)
    }

    async fn create_folder(&self, path: &ItemPath, by: &str) -> Result<CatalogItem> {
        if path.is_root() {
            return Err(Error::AlreadyExists(path.clone()));
        }
        common::check_text("user name", by, common::MAX_USER_NAME_CHARS)?;
        let mut tx = self.write().await?;
        if id_and_type(&mut tx, path.key()).await?.is_some() {
            return Err(Error::AlreadyExists(path.clone()));
        }
        let (parent, stored) = parent_folder(&mut tx, path).await?;
        sqlx::query(
            "INSERT INTO items (id, path, path_key, parent_id, name, item_type, \
             created_by, created_at, modified_by, modified_at) \
             VALUES ($1, $2, $3, $4, $5, 'Folder', $6, $7, $6, $7)",
        )
        .bind(common::new_id())
        .bind(stored.as_str())
        .bind(path.key())
        .bind(parent)
        .bind(path.name())
        .bind(by)
        .bind(common::now())
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::AlreadyExists(path.clone())
            } else {
                db(e)
            }
        })?;
        let item = must_get(&mut tx, path).await?;
        tx.commit().await.map_err(db)?;
        Ok(item)
    }

    async fn put_item(&self, new: NewItem<'_>) -> Result<CatalogItem> {
        common::check_new_item(&new)?;
        let path = new.path;
        let size = new.content.len() as i64;
        let now = common::now();
        let mut tx = self.write().await?;
        match id_and_type(&mut tx, path.key()).await? {
            Some(_) if !new.overwrite => return Err(Error::AlreadyExists(path.clone())),
            Some((id, existing)) => {
                let existing: ItemType = existing.parse()?;
                if existing != new.item_type {
                    return Err(Error::TypeConflict {
                        path: path.clone(),
                        existing,
                        new: new.item_type,
                    });
                }
                // Keeps id, spelling, created-by/at, hidden, role assignments; an empty
                // description keeps the old one.
                sqlx::query(
                    "UPDATE items SET size = $1, mime_type = $2, \
                     description = CASE WHEN $3 = '' THEN description ELSE $3 END, \
                     modified_by = $4, modified_at = $5 WHERE id = $6",
                )
                .bind(size)
                .bind(new.mime_type)
                .bind(new.description)
                .bind(new.by)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                sqlx::query(
                    "INSERT INTO item_content (item_id, content) VALUES ($1, $2) \
                     ON CONFLICT (item_id) DO UPDATE SET content = EXCLUDED.content",
                )
                .bind(id)
                .bind(new.content)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            None => {
                let (parent, stored) = parent_folder(&mut tx, path).await?;
                let id = common::new_id();
                sqlx::query(
                    "INSERT INTO items (id, path, path_key, parent_id, name, item_type, size, \
                     mime_type, description, created_by, created_at, modified_by, modified_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10, $11)",
                )
                .bind(id)
                .bind(stored.as_str())
                .bind(path.key())
                .bind(parent)
                .bind(path.name())
                .bind(new.item_type.as_str())
                .bind(size)
                .bind(new.mime_type)
                .bind(new.description)
                .bind(new.by)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        Error::AlreadyExists(path.clone())
                    } else {
                        db(e)
                    }
                })?;
                sqlx::query("INSERT INTO item_content (item_id, content) VALUES ($1, $2)")
                    .bind(id)
                    .bind(new.content)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        }
        let item = must_get(&mut tx, path).await?;
        tx.commit().await.map_err(db)?;
        Ok(item)
    }

    async fn get_content(&self, path: &ItemPath) -> Result<Vec<u8>> {
        let row: Option<(String, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT i.item_type, c.content FROM items i \
             LEFT JOIN item_content c ON c.item_id = i.id WHERE i.path_key = $1",
        )
        .bind(path.key())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        match row {
            None => Err(Error::NotFound(path.clone())),
            Some((t, _)) if t == ItemType::Folder.as_str() => Err(Error::Invalid(format!(
                "'{path}' is a folder; folders have no content"
            ))),
            Some((_, content)) => Ok(content.unwrap_or_default()),
        }
    }

    async fn read_content_range(
        &self,
        item: &CatalogItem,
        offset: u64,
        len: u32,
    ) -> Result<Option<Vec<u8>>> {
        // substring() on the bytea reads only the range (TOAST slices); positions are
        // 1-based. A bytea is at most 1 GiB, so both fit an int4.
        let start = i64::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(1))
            .ok_or_else(|| Error::Invalid(format!("content offset {offset} is out of range")))?;
        let row: Option<(time::OffsetDateTime, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT i.modified_at, substring(c.content FROM $1::int4 FOR $2::int4) FROM items i \
             JOIN item_content c ON c.item_id = i.id WHERE i.id = $3",
        )
        .bind(start)
        .bind(i64::from(len))
        .bind(item.id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(match row {
            Some((modified_at, bytes)) if modified_at == item.modified_at => {
                Some(bytes.unwrap_or_default())
            }
            _ => None,
        })
    }

    async fn delete_item(&self, path: &ItemPath) -> Result<()> {
        if path.is_root() {
            return Err(Error::Root);
        }
        let key = path.key();
        let mut tx = self.write().await?;
        // The item and every key below it: keys under K sort in ["K/", "K0") in the "C"
        // collation of path_key, since '0' follows '/'. Content and role assignments go
        // with them (ON DELETE CASCADE).
        let done = sqlx::query(
            "DELETE FROM items WHERE path_key = $1 OR (path_key >= $2 AND path_key < $3)",
        )
        .bind(key)
        .bind(format!("{key}/"))
        .bind(format!("{key}0"))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(path.clone()));
        }
        tx.commit().await.map_err(db)
    }

    async fn move_item(&self, from: &ItemPath, to: &ItemPath) -> Result<CatalogItem> {
        if from.is_root() || to.is_root() {
            return Err(Error::Root);
        }
        let mut tx = self.write().await?;
        if id_and_type(&mut tx, from.key()).await?.is_none() {
            return Err(Error::NotFound(from.clone()));
        }
        let (parent_id, to) = parent_folder(&mut tx, to).await?;
        if to.key() != from.key() && id_and_type(&mut tx, to.key()).await?.is_some() {
            return Err(Error::AlreadyExists(to));
        }
        let key = from.key();
        let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(
            "SELECT id, path FROM items WHERE path_key = $1 OR (path_key >= $2 AND path_key < $3)",
        )
        .bind(key)
        .bind(format!("{key}/"))
        .bind(format!("{key}0"))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        for (id, new) in common::moved_paths(from, &to, &rows)? {
            sqlx::query("UPDATE items SET path = $1, path_key = $2, name = $3 WHERE id = $4")
                .bind(new.as_str())
                .bind(new.key())
                .bind(new.name())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        sqlx::query("UPDATE items SET parent_id = $1 WHERE path_key = $2")
            .bind(parent_id)
            .bind(to.key())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let item = must_get(&mut tx, &to).await?;
        tx.commit().await.map_err(db)?;
        Ok(item)
    }

    async fn set_properties(
        &self,
        path: &ItemPath,
        props: &ItemProperties,
        by: &str,
    ) -> Result<CatalogItem> {
        common::check_text(
            "description",
            &props.description,
            common::MAX_DESCRIPTION_CHARS,
        )?;
        common::check_text("user name", by, common::MAX_USER_NAME_CHARS)?;
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE items SET description = $1, hidden = $2, modified_by = $3, modified_at = $4 \
             WHERE path_key = $5",
        )
        .bind(&props.description)
        .bind(props.hidden)
        .bind(by)
        .bind(common::now())
        .bind(path.key())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(path.clone()));
        }
        let item = must_get(&mut tx, path).await?;
        tx.commit().await.map_err(db)?;
        Ok(item)
    }

    async fn get_policies(&self, path: &ItemPath) -> Result<Option<Vec<Policy>>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let (id, own): (uuid::Uuid, bool) =
            sqlx::query_as("SELECT id, own_policies FROM items WHERE path_key = $1")
                .bind(path.key())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?
                .ok_or_else(|| Error::NotFound(path.clone()))?;
        if !own {
            return Ok(None);
        }
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT user_name, role FROM policies WHERE item_id = $1 \
             ORDER BY user_key COLLATE \"C\", role COLLATE \"C\"",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        common::group_policies(rows).map(Some)
    }

    async fn set_policies(&self, path: &ItemPath, policies: Option<&[Policy]>) -> Result<()> {
        if path.is_root() && policies.is_none() {
            return Err(Error::Root);
        }
        let rows = policies.map(common::flatten_policies).transpose()?;
        let mut tx = self.write().await?;
        let (id, _) = id_and_type(&mut tx, path.key())
            .await?
            .ok_or_else(|| Error::NotFound(path.clone()))?;
        sqlx::query("DELETE FROM policies WHERE item_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("UPDATE items SET own_policies = $1 WHERE id = $2")
            .bind(rows.is_some())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let rows = rows.unwrap_or_default();
        if !rows.is_empty() {
            // One statement for all assignments.
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO policies (item_id, user_key, user_name, role) ",
            );
            q.push_values(rows, |mut b, (key, name, role)| {
                b.push_bind(id)
                    .push_bind(key)
                    .push_bind(name)
                    .push_bind(common::role_token(role));
            });
            q.build().execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn effective_roles(&self, path: &ItemPath, user: &str) -> Result<Vec<Role>> {
        // One query: the deepest of path and its ancestors that has its own assignments
        // (the root always does), then the user's roles there. Ancestor keys are prefixes
        // of one another, so the longest key is the deepest item.
        let keys: Vec<String> = path
            .self_and_ancestors()
            .iter()
            .map(|p| p.key().to_owned())
            .collect();
        let tokens: Vec<String> = sqlx::query_scalar(
            "SELECT role FROM policies WHERE user_key = $1 AND item_id = \
             (SELECT id FROM items WHERE own_policies AND path_key = ANY($2) \
              ORDER BY length(path_key) DESC LIMIT 1)",
        )
        .bind(common::user_key(user))
        .bind(keys)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        common::roles_from_tokens(tokens)
    }

    async fn add_user(&self, user: &NewUser) -> Result<()> {
        common::check_user_name(&user.name)?;
        common::check_password_hash(&user.password_hash)?;
        let roles = common::check_system_roles(&user.system_roles)?;
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "INSERT INTO users (name_key, name, password_hash, system_roles, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(common::user_key(&user.name))
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(common::roles_to_text(&roles))
        .bind(common::now())
        .execute(&mut *tx)
        .await;
        match done {
            Ok(_) => tx.commit().await.map_err(db),
            Err(e) if is_unique_violation(&e) => Err(Error::UserExists(user.name.clone())),
            Err(e) => Err(db(e)),
        }
    }

    async fn get_user(&self, name: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE name_key = $1"
        ))
        .bind(common::user_key(name))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(UserRow::into_user)
        .transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY name_key COLLATE \"C\""
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    async fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<()> {
        common::check_password_hash(password_hash)?;
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE name_key = $2")
            .bind(password_hash)
            .bind(common::user_key(name))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(Error::UnknownUser(name.to_owned()));
        }
        tx.commit().await.map_err(db)
    }

    async fn set_system_roles(&self, name: &str, roles: &[Role]) -> Result<()> {
        let roles = common::check_system_roles(roles)?;
        let mut tx = self.write().await?;
        if !roles.contains(&Role::SystemAdministrator) {
            refuse_last_admin(&mut tx, name).await?;
        }
        let done = sqlx::query("UPDATE users SET system_roles = $1 WHERE name_key = $2")
            .bind(common::roles_to_text(&roles))
            .bind(common::user_key(name))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(Error::UnknownUser(name.to_owned()));
        }
        tx.commit().await.map_err(db)
    }

    async fn delete_user(&self, name: &str) -> Result<()> {
        let key = common::user_key(name);
        let mut tx = self.write().await?;
        refuse_last_admin(&mut tx, name).await?;
        let done = sqlx::query("DELETE FROM users WHERE name_key = $1")
            .bind(&key)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(Error::UnknownUser(name.to_owned()));
        }
        // A later user of the same name must not inherit this one's access.
        sqlx::query("DELETE FROM policies WHERE user_key = $1")
            .bind(&key)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn count_system_administrators(&self) -> Result<i64> {
        sqlx::query_scalar(COUNT_ADMINS)
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }
}

/// Users holding System Administrator (roles are stored as comma-joined tokens).
const COUNT_ADMINS: &str =
    "SELECT COUNT(*) FROM users WHERE ',' || system_roles || ',' LIKE '%,SystemAdministrator,%'";

/// [`Error::LastAdministrator`] when `name` is the only System Administrator. Runs inside
/// a write transaction, which holds the generation row lock: no other write (from any
/// node) can change the answer before commit.
async fn refuse_last_admin(conn: &mut PgConnection, name: &str) -> Result<()> {
    let is_admin: Option<String> = sqlx::query_scalar(
        "SELECT name FROM users WHERE name_key = $1 AND ',' || system_roles || ',' LIKE '%,SystemAdministrator,%'",
    )
    .bind(common::user_key(name))
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(stored) = is_admin else {
        return Ok(());
    };
    let admins: i64 = sqlx::query_scalar(COUNT_ADMINS)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    if admins <= 1 {
        return Err(Error::LastAdministrator(stored));
    }
    Ok(())
}
