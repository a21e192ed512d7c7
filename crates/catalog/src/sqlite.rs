//! The SQLite catalog: one file in the data dir, shared by `reportd` and `reportctl`.
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
    SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Executor, QueryBuilder, Sqlite, Transaction};

use crate::common::{self, Contents, ITEM_COLUMNS, ItemRow, SCHEMA_TABLE, USER_COLUMNS, UserRow};
use crate::{
    Catalog, CatalogItem, Error, ItemPath, ItemProperties, ItemType, NewItem, NewUser, Policy,
    Result, Role, User,
};

/// How long a statement waits for another connection's (or process's) lock before failing
/// with "database is locked" when opened with [`SqliteCatalog::open`]. Writes are short;
/// 5 s covers a burst of them. [`crate::OpenOptions::statement_timeout`] sets it otherwise.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Pool size. SQLite has one writer at a time; the extra connections let page renders
/// read while a write is queued. Each connection costs a worker thread and its page cache.
const MAX_CONNECTIONS: u32 = 4;

/// The migrations, in order; version = position + 1. Never edit one that has shipped:
/// append a new one.
const MIGRATIONS: &[(&str, &str)] = &[(
    "initial catalog",
    include_str!("../migrations/sqlite/0001_initial.sql"),
)];

/// A catalog in a SQLite file.
pub struct SqliteCatalog {
    pool: SqlitePool,
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
        let result = prepare(&mut probe, &target, create).await;
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
        Ok(SqliteCatalog { pool, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write: an IMMEDIATE transaction (takes the write lock now, waiting up to
    /// [`BUSY_TIMEOUT`], so no read-then-write upgrade can fail) whose first statement bumps
    /// the generation. Dropping the transaction without commit rolls both back.
    async fn write(&self) -> Result<Transaction<'static, Sqlite>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        sqlx::query("UPDATE generation SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        Ok(tx)
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

/// Inspects the file and, if allowed, initializes or migrates it.
async fn prepare(conn: &mut SqliteConnection, target: &str, create: bool) -> Result<()> {
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
    match common::classify(tables, has_marker) {
        Contents::Foreign(names) => {
            return Err(Error::Foreign(format!(
                "the SQLite file {target} holds tables that are not a reportd catalog ({}); \
                 it was left untouched: give the path of a new file",
                common::list_some(&names)
            )));
        }
        Contents::Empty if !create => {
            return Err(Error::Uninitialized {
                target: target.to_owned(),
                problem: "holds no catalog".into(),
            });
        }
        Contents::Empty => {}
        Contents::Catalog => {
            let current = current_version(conn).await?;
            check_not_too_new(current)?;
            if current == latest() {
                return ensure_wal(conn).await;
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

async fn current_version(conn: &mut SqliteConnection) -> Result<i64> {
    sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM reportd_schema")
        .fetch_one(conn)
        .await
        .map(|v| v.unwrap_or(0))
        .map_err(db)
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

/// Applies the pending migrations in one IMMEDIATE transaction (so two processes opening a
/// new file at once apply them once).
async fn migrate(conn: &mut SqliteConnection) -> Result<()> {
    ensure_wal(conn).await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
    (&mut *tx)
        .execute(sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS reportd_schema (\
            version INTEGER PRIMARY KEY NOT NULL, \
            description TEXT NOT NULL, \
            applied_at TEXT NOT NULL)",
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
            "INSERT INTO reportd_schema (version, description, applied_at) VALUES (?, ?, ?)",
        )
        .bind(version)
        .bind(*description)
        .bind(common::now())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tracing::info!(version, description, "applied catalog migration (sqlite)");
    }
    tx.commit().await.map_err(db)
}

/// The root folder: its own (empty) role assignments, created by the system.
async fn insert_root(conn: &mut SqliteConnection) -> Result<()> {
    let now = common::now();
    sqlx::query(
        "INSERT INTO items (id, path, path_key, parent_id, name, item_type, own_policies, \
         created_by, created_at, modified_by, modified_at) \
         VALUES (?, '/', '/', NULL, '', 'Folder', 1, 'system', ?, 'system', ?)",
    )
    .bind(common::new_id())
    .bind(now)
    .bind(now)
    .execute(conn)
    .await
    .map_err(db)?;
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

/// True for a UNIQUE constraint failure.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

async fn item_row(conn: &mut SqliteConnection, key: &str) -> Result<Option<ItemRow>> {
    sqlx::query_as::<_, ItemRow>(&format!(
        "SELECT {ITEM_COLUMNS} FROM items WHERE path_key = ?"
    ))
    .bind(key)
    .fetch_optional(conn)
    .await
    .map_err(db)
}

async fn get_item_in(conn: &mut SqliteConnection, path: &ItemPath) -> Result<Option<CatalogItem>> {
    item_row(conn, path.key())
        .await?
        .map(ItemRow::into_item)
        .transpose()
}

/// `(id, type)` of the item at `key`.
async fn id_and_type(
    conn: &mut SqliteConnection,
    key: &str,
) -> Result<Option<(uuid::Uuid, String)>> {
    sqlx::query_as("SELECT id, item_type FROM items WHERE path_key = ?")
        .bind(key)
        .fetch_optional(conn)
        .await
        .map_err(db)
}

/// The id of the folder that will hold `path`, and the path to store: the parent's stored
/// spelling joined with the new name (so `/sales/New` under `/Sales` is stored as
/// `/Sales/New`). [`Error::ParentMissing`] when there is no such folder.
async fn parent_folder(
    conn: &mut SqliteConnection,
    path: &ItemPath,
) -> Result<(uuid::Uuid, ItemPath)> {
    let parent = path.parent().ok_or(Error::Root)?;
    let row: Option<(uuid::Uuid, String, String)> =
        sqlx::query_as("SELECT id, item_type, path FROM items WHERE path_key = ?")
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

/// Reads an item back inside a write, where it must exist.
async fn must_get(conn: &mut SqliteConnection, path: &ItemPath) -> Result<CatalogItem> {
    get_item_in(conn, path)
        .await?
        .ok_or_else(|| Error::Db(format!("the item '{path}' vanished during a write")))
}

#[async_trait::async_trait]
impl Catalog for SqliteCatalog {
    fn backend(&self) -> &'static str {
        "sqlite"
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
        sqlx::query_as::<_, ItemRow>(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = ?"))
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
            "SELECT {ITEM_COLUMNS} FROM items WHERE parent_id = ?"
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
        let now = common::now();
        sqlx::query(
            "INSERT INTO items (id, path, path_key, parent_id, name, item_type, \
             created_by, created_at, modified_by, modified_at) \
             VALUES (?, ?, ?, ?, ?, 'Folder', ?, ?, ?, ?)",
        )
        .bind(common::new_id())
        .bind(stored.as_str())
        .bind(path.key())
        .bind(parent)
        .bind(path.name())
        .bind(by)
        .bind(now)
        .bind(by)
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
                    "UPDATE items SET size = ?, mime_type = ?, \
                     description = CASE WHEN ? = '' THEN description ELSE ? END, \
                     modified_by = ?, modified_at = ? WHERE id = ?",
                )
                .bind(size)
                .bind(new.mime_type)
                .bind(new.description)
                .bind(new.description)
                .bind(new.by)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                sqlx::query(
                    "INSERT INTO item_content (item_id, content) VALUES (?, ?) \
                     ON CONFLICT (item_id) DO UPDATE SET content = excluded.content",
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
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                sqlx::query("INSERT INTO item_content (item_id, content) VALUES (?, ?)")
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
             LEFT JOIN item_content c ON c.item_id = i.id WHERE i.path_key = ?",
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
        // substr() on the blob reads only the range; positions are 1-based.
        let start = i64::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(1))
            .ok_or_else(|| Error::Invalid(format!("content offset {offset} is out of range")))?;
        let row: Option<(time::OffsetDateTime, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT i.modified_at, substr(c.content, ?, ?) FROM items i \
             JOIN item_content c ON c.item_id = i.id WHERE i.id = ?",
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
        // The item and every key below it: keys under K start with "K/", and in byte order
        // they all sort in ["K/", "K0") since '0' follows '/'. Content and role assignments
        // go with them (ON DELETE CASCADE).
        let done =
            sqlx::query("DELETE FROM items WHERE path_key = ? OR (path_key >= ? AND path_key < ?)")
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
            "SELECT id, path FROM items WHERE path_key = ? OR (path_key >= ? AND path_key < ?)",
        )
        .bind(key)
        .bind(format!("{key}/"))
        .bind(format!("{key}0"))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        for (id, new) in common::moved_paths(from, &to, &rows)? {
            sqlx::query("UPDATE items SET path = ?, path_key = ?, name = ? WHERE id = ?")
                .bind(new.as_str())
                .bind(new.key())
                .bind(new.name())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        sqlx::query("UPDATE items SET parent_id = ? WHERE path_key = ?")
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
            "UPDATE items SET description = ?, hidden = ?, modified_by = ?, modified_at = ? \
             WHERE path_key = ?",
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
            sqlx::query_as("SELECT id, own_policies FROM items WHERE path_key = ?")
                .bind(path.key())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?
                .ok_or_else(|| Error::NotFound(path.clone()))?;
        if !own {
            return Ok(None);
        }
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT user_name, role FROM policies WHERE item_id = ? ORDER BY user_key, role",
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
        sqlx::query("DELETE FROM policies WHERE item_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("UPDATE items SET own_policies = ? WHERE id = ?")
            .bind(rows.is_some())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        for (key, name, role) in rows.unwrap_or_default() {
            sqlx::query(
                "INSERT INTO policies (item_id, user_key, user_name, role) VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(key)
            .bind(name)
            .bind(common::role_token(role))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn effective_roles(&self, path: &ItemPath, user: &str) -> Result<Vec<Role>> {
        // One query: the deepest of path and its ancestors that has its own assignments
        // (the root always does), then the user's roles there. Ancestor keys are prefixes
        // of one another, so the longest key is the deepest item.
        let chain = path.self_and_ancestors();
        let mut q = QueryBuilder::<Sqlite>::new("SELECT role FROM policies WHERE user_key = ");
        q.push_bind(common::user_key(user));
        q.push(" AND item_id = (SELECT id FROM items WHERE own_policies = 1 AND path_key IN (");
        let mut keys = q.separated(", ");
        for p in &chain {
            keys.push_bind(p.key());
        }
        q.push(") ORDER BY length(path_key) DESC LIMIT 1)");
        let tokens: Vec<String> = q
            .build_query_scalar()
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
             VALUES (?, ?, ?, ?, ?)",
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
            "SELECT {USER_COLUMNS} FROM users WHERE name_key = ?"
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
            "SELECT {USER_COLUMNS} FROM users ORDER BY name_key"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    async fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<()> {
        common::check_password_hash(password_hash)?;
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE name_key = ?")
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
        let done = sqlx::query("UPDATE users SET system_roles = ? WHERE name_key = ?")
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
        let done = sqlx::query("DELETE FROM users WHERE name_key = ?")
            .bind(&key)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(Error::UnknownUser(name.to_owned()));
        }
        // A later user of the same name must not inherit this one's access.
        sqlx::query("DELETE FROM policies WHERE user_key = ?")
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
/// the write transaction (which holds the write lock), so the answer stays true until commit.
async fn refuse_last_admin(conn: &mut SqliteConnection, name: &str) -> Result<()> {
    let is_admin: Option<String> = sqlx::query_scalar(
        "SELECT name FROM users WHERE name_key = ? AND ',' || system_roles || ',' LIKE '%,SystemAdministrator,%'",
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
