//! The one implementation of [`Catalog`] over an sqlx database: every statement, every
//! transaction and every rule of the catalog, written once for SQLite and PostgreSQL.
//!
//! A [`Dialect`] supplies the few things that differ between the two: the statement that
//! starts a write (SQLite's `BEGIN IMMEDIATE`), the migrations and the schema table's DDL,
//! the lock taken while migrating, how the tables of an existing database are listed, and
//! how driver errors map to [`Error`]. `sqlite.rs` and `postgres.rs` keep only connection
//! setup and their dialect, so a new catalog method is written here, once.
//!
//! The SQL here is the subset both databases run alike: `$N` placeholders (sqlx's SQLite
//! driver binds `$N` by number), booleans as bound parameters, `CAST(.. AS INTEGER)`, and no
//! collation-dependent `ORDER BY`: orderings a caller sees are made in Rust, by bytes, which
//! is what SQLite's BINARY and PostgreSQL's "C" collations did before.
//!
//! Must not: open connections, resolve paths or URLs, or hold SQL that only one backend runs
//! (that belongs in the dialect).

use std::future::Future;

use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Transaction, Type,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::common::{self, Contents, ITEM_COLUMNS, ItemRow, USER_COLUMNS, UserRow};
use crate::{
    Catalog, CatalogItem, Error, ItemPath, ItemProperties, ItemType, NewItem, NewUser, Policy,
    Result, Role, User,
};

/// Most role-assignment rows one INSERT carries: 4 parameters each stay far below SQLite's
/// 32,766 and PostgreSQL's 65,535 parameters per statement.
const POLICY_ROWS_PER_INSERT: usize = 1000;

/// Users holding System Administrator (roles are stored as comma-joined tokens).
const COUNT_ADMINS: &str =
    "SELECT COUNT(*) FROM users WHERE ',' || system_roles || ',' LIKE '%,SystemAdministrator,%'";

/// The connection type of a dialect's database.
pub type Conn<D> = <<D as Dialect>::Db as Database>::Connection;

/// What differs between the backends. Implemented by `sqlite::SqliteDialect` and
/// `postgres::PgDialect` only; the value holds what the backend's handle adds (the file
/// path, the `host:port/database` target).
pub trait Dialect: Send + Sync + 'static {
    /// The sqlx driver.
    type Db: Database;
    /// [`Catalog::backend`]: `sqlite` or `postgresql`.
    const BACKEND: &'static str;
    /// The statement that starts a write transaction.
    const BEGIN_WRITE: &'static str;
    /// Creates the schema table (`reportd_schema`) if missing, before migrations run.
    const SCHEMA_TABLE_DDL: &'static str;
    /// The migrations, in order; version = position + 1. Never edit one that has shipped:
    /// append a new one (to both backends, so that their versions agree).
    const MIGRATIONS: &'static [(&'static str, &'static str)];
    /// A statement every write transaction runs after the generation bump, so that other
    /// processes learn of the change when it commits (PostgreSQL: `pg_notify` on
    /// [`crate::notify::CHANNEL`]); `None` where there is nobody to tell (SQLite).
    const NOTIFY_WRITE: Option<&'static str>;

    /// Maps a driver error: failures of the connection rather than of the statement become
    /// [`Error::Unavailable`], naming the problem (never a password).
    fn map_error(e: sqlx::Error) -> Error;
    /// Rows a statement changed.
    fn rows_affected(done: &<Self::Db as Database>::QueryResult) -> u64;
    /// The user tables of the database (for the refusal message) and whether the schema
    /// table is among them, where the catalog would use it. `target` names the database in
    /// errors.
    fn user_tables(
        conn: &mut Conn<Self>,
        target: &str,
    ) -> impl Future<Output = Result<(Vec<String>, bool)>> + Send;
    /// The sentence refusing a database that holds `tables` (listed) of something else.
    fn foreign(target: &str, tables: &str) -> String;
    /// Readies a database that is (or is about to become) a catalog, before it is used or
    /// migrated (SQLite: WAL mode).
    fn ready(conn: &mut Conn<Self>) -> impl Future<Output = Result<()>> + Send;
    /// Starts the migration transaction, so that two processes migrating at once apply each
    /// migration once.
    fn begin_migration(
        conn: &mut Conn<Self>,
    ) -> impl Future<Output = Result<Transaction<'_, Self::Db>>> + Send;
}

/// A value both encoded as a parameter and decoded from a column of `DB` (bound alias).
pub trait Codec<DB: Database>:
    for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send
{
}

impl<DB: Database, T> Codec<DB> for T where
    T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send
{
}

/// A catalog in an sqlx database: a pool and the dialect. `sqlite::SqliteCatalog` and
/// `postgres::PostgresCatalog` name its two instances and add their constructors.
pub struct SqlCatalog<D: Dialect> {
    pub(crate) pool: Pool<D::Db>,
    pub(crate) dialect: D,
}

// The two where-lists below (helpers, then the trait impl) are the same on purpose: Rust
// does not infer from `D: Dialect` facts about other types (how the driver encodes a Uuid,
// what a `&mut` connection executes), so each generic impl block states what it needs of
// the driver; both backends' drivers satisfy them.
impl<D: Dialect> SqlCatalog<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> Option<&'q str>: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> &'q [u8]: Encode<'q, D::Db> + Type<D::Db>,
    Uuid: Codec<D::Db>,
    String: Codec<D::Db>,
    i64: Codec<D::Db>,
    bool: Codec<D::Db>,
    OffsetDateTime: Codec<D::Db>,
    Vec<u8>: Codec<D::Db>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    for<'a> &'a str: ColumnIndex<<D::Db as Database>::Row>,
{
    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Inspects the database on `conn` and, if allowed, initializes or migrates it. Writes
    /// nothing unless it is empty (with `create`) or already a reportd catalog.
    pub(crate) async fn prepare(conn: &mut Conn<D>, target: &str, create: bool) -> Result<()> {
        let (tables, has_marker) = D::user_tables(conn, target).await?;
        match common::classify(tables, has_marker) {
            Contents::Foreign(names) => {
                return Err(Error::Foreign(D::foreign(
                    target,
                    &common::list_some(&names),
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
                let current = Self::current_version(conn).await?;
                check_not_too_new::<D>(current)?;
                if current == latest::<D>() {
                    return D::ready(conn).await;
                }
            }
        }
        Self::migrate(conn).await
    }

    async fn current_version(conn: &mut Conn<D>) -> Result<i64> {
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM reportd_schema")
            .fetch_one(conn)
            .await
            .map(|v| v.unwrap_or(0))
            .map_err(D::map_error)
    }

    /// Applies the pending migrations in one transaction (see [`Dialect::begin_migration`]).
    async fn migrate(conn: &mut Conn<D>) -> Result<()> {
        D::ready(conn).await?;
        let mut tx = D::begin_migration(conn).await?;
        (&mut *tx)
            .execute(sqlx::raw_sql(D::SCHEMA_TABLE_DDL))
            .await
            .map_err(D::map_error)?;
        let current = Self::current_version(&mut tx).await?;
        check_not_too_new::<D>(current)?;
        for (i, (description, sql)) in D::MIGRATIONS.iter().enumerate() {
            let version = i as i64 + 1;
            if version <= current {
                continue;
            }
            (&mut *tx)
                .execute(sqlx::raw_sql(sql))
                .await
                .map_err(D::map_error)?;
            if version == 1 {
                Self::insert_root(&mut tx).await?;
            }
            sqlx::query(
                "INSERT INTO reportd_schema (version, description, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(version)
            .bind(*description)
            .bind(common::now())
            .execute(&mut *tx)
            .await
            .map_err(D::map_error)?;
            tracing::info!(
                version,
                description,
                backend = D::BACKEND,
                "applied catalog migration"
            );
        }
        tx.commit().await.map_err(D::map_error)
    }

    /// The root folder: its own (empty) role assignments, created by the system.
    async fn insert_root(conn: &mut Conn<D>) -> Result<()> {
        let now = common::now();
        sqlx::query(
            "INSERT INTO items (id, path, path_key, parent_id, name, item_type, own_policies, \
             created_by, created_at, modified_by, modified_at) \
             VALUES ($1, '/', '/', NULL, '', 'Folder', $2, 'system', $3, 'system', $3)",
        )
        .bind(common::new_id())
        .bind(true)
        .bind(now)
        .execute(conn)
        .await
        .map_err(D::map_error)?;
        Ok(())
    }

    /// Starts a write: a transaction ([`Dialect::BEGIN_WRITE`]) whose first statement bumps
    /// the generation. The bump takes the write lock (SQLite's IMMEDIATE already has it;
    /// PostgreSQL's row lock makes writers of all nodes take turns), so each write's checks
    /// (parent exists, name free) see the latest committed state. Then
    /// [`Dialect::NOTIFY_WRITE`]: PostgreSQL delivers the notification at commit, and not at
    /// all on rollback. Dropping the transaction without commit rolls all back.
    async fn write(&self) -> Result<Transaction<'static, D::Db>> {
        let mut tx = self
            .pool
            .begin_with(D::BEGIN_WRITE)
            .await
            .map_err(D::map_error)?;
        sqlx::query("UPDATE generation SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await
            .map_err(D::map_error)?;
        if let Some(notify) = D::NOTIFY_WRITE {
            sqlx::query(notify)
                .execute(&mut *tx)
                .await
                .map_err(D::map_error)?;
        }
        Ok(tx)
    }

    async fn get_item_in(conn: &mut Conn<D>, path: &ItemPath) -> Result<Option<CatalogItem>> {
        sqlx::query_as::<_, ItemRow>(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE path_key = $1"
        ))
        .bind(path.key())
        .fetch_optional(conn)
        .await
        .map_err(D::map_error)?
        .map(ItemRow::into_item)
        .transpose()
    }

    /// Reads an item back inside a write, where it must exist.
    async fn must_get(conn: &mut Conn<D>, path: &ItemPath) -> Result<CatalogItem> {
        Self::get_item_in(conn, path)
            .await?
            .ok_or_else(|| Error::Db(format!("the item '{path}' vanished during a write")))
    }

    /// `(id, type)` of the item at `key`.
    async fn id_and_type(conn: &mut Conn<D>, key: &str) -> Result<Option<(Uuid, String)>> {
        sqlx::query_as("SELECT id, item_type FROM items WHERE path_key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await
            .map_err(D::map_error)
    }

    /// The id of the folder that will hold `path`, and the path to store: the parent's
    /// stored spelling joined with the new name (so `/sales/New` under `/Sales` is stored as
    /// `/Sales/New`). [`Error::ParentMissing`] when there is no such folder.
    async fn parent_folder(conn: &mut Conn<D>, path: &ItemPath) -> Result<(Uuid, ItemPath)> {
        let parent = path.parent().ok_or(Error::Root)?;
        let row: Option<(Uuid, String, String)> =
            sqlx::query_as("SELECT id, item_type, path FROM items WHERE path_key = $1")
                .bind(parent.key())
                .fetch_optional(conn)
                .await
                .map_err(D::map_error)?;
        match row {
            Some((id, t, stored)) if t == ItemType::Folder.as_str() => {
                let stored = ItemPath::parse(&stored)
                    .map_err(|e| Error::Db(format!("the catalog holds an invalid path: {e}")))?;
                Ok((id, stored.join(path.name())?))
            }
            _ => Err(Error::ParentMissing(path.clone())),
        }
    }

    /// Runs `sql` (`UPDATE users SET column = $1 WHERE name_key = $2`) for the user `name`
    /// inside a write; [`Error::UnknownUser`] when there is no such user.
    async fn update_user(
        conn: &mut Conn<D>,
        sql: &'static str,
        value: &str,
        name: &str,
    ) -> Result<()> {
        let done = sqlx::query(sql)
            .bind(value)
            .bind(common::user_key(name))
            .execute(conn)
            .await
            .map_err(D::map_error)?;
        if D::rows_affected(&done) == 0 {
            return Err(Error::UnknownUser(name.to_owned()));
        }
        Ok(())
    }

    /// [`Error::LastAdministrator`] when `name` is the only System Administrator. Runs
    /// inside a write transaction, which holds the write lock: no other write (from any
    /// process or node) can change the answer before commit.
    async fn refuse_last_admin(conn: &mut Conn<D>, name: &str) -> Result<()> {
        let is_admin: Option<String> = sqlx::query_scalar(
            "SELECT name FROM users WHERE name_key = $1 \
             AND ',' || system_roles || ',' LIKE '%,SystemAdministrator,%'",
        )
        .bind(common::user_key(name))
        .fetch_optional(&mut *conn)
        .await
        .map_err(D::map_error)?;
        let Some(stored) = is_admin else {
            return Ok(());
        };
        let admins: i64 = sqlx::query_scalar(COUNT_ADMINS)
            .fetch_one(&mut *conn)
            .await
            .map_err(D::map_error)?;
        if admins <= 1 {
            return Err(Error::LastAdministrator(stored));
        }
        Ok(())
    }
}

fn latest<D: Dialect>() -> i64 {
    D::MIGRATIONS.len() as i64
}

fn check_not_too_new<D: Dialect>(found: i64) -> Result<()> {
    if found > latest::<D>() {
        return Err(Error::SchemaTooNew {
            found,
            supported: latest::<D>(),
        });
    }
    Ok(())
}

/// `count` placeholders from `$first`, comma-separated: `$2, $3, $4`.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// True for a UNIQUE constraint failure.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// The bound of `path_key` range scans over the subtree of `key`: keys below K start with
/// "K/", and in byte order (SQLite BINARY, PostgreSQL "C" on `path_key`) they all sort in
/// ["K/", "K0") since '0' follows '/'.
fn subtree_range(key: &str) -> (String, String) {
    (format!("{key}/"), format!("{key}0"))
}

#[async_trait::async_trait]
impl<D: Dialect> Catalog for SqlCatalog<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> Option<&'q str>: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> &'q [u8]: Encode<'q, D::Db> + Type<D::Db>,
    Uuid: Codec<D::Db>,
    String: Codec<D::Db>,
    i64: Codec<D::Db>,
    bool: Codec<D::Db>,
    OffsetDateTime: Codec<D::Db>,
    Vec<u8>: Codec<D::Db>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    for<'a> &'a str: ColumnIndex<<D::Db as Database>::Row>,
{
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn schema_version(&self) -> Result<i64> {
        let mut conn = self.pool.acquire().await.map_err(D::map_error)?;
        Self::current_version(&mut conn).await
    }

    async fn item_count(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM items WHERE parent_id IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(D::map_error)
    }

    async fn generation(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT value FROM generation WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(D::map_error)
    }

    async fn get_item(&self, path: &ItemPath) -> Result<Option<CatalogItem>> {
        let mut conn = self.pool.acquire().await.map_err(D::map_error)?;
        Self::get_item_in(&mut conn, path).await
    }

    async fn get_item_by_id(&self, id: Uuid) -> Result<Option<CatalogItem>> {
        sqlx::query_as::<_, ItemRow>(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(D::map_error)?
            .map(ItemRow::into_item)
            .transpose()
    }

    async fn list_children(&self, path: &ItemPath) -> Result<Vec<CatalogItem>> {
        let mut conn = self.pool.acquire().await.map_err(D::map_error)?;
        let (id, item_type) = Self::id_and_type(&mut conn, path.key())
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
        .map_err(D::map_error)?;
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
        if Self::id_and_type(&mut tx, path.key()).await?.is_some() {
            return Err(Error::AlreadyExists(path.clone()));
        }
        let (parent, stored) = Self::parent_folder(&mut tx, path).await?;
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
        .map_err(|e| already_exists::<D>(e, path))?;
        let item = Self::must_get(&mut tx, path).await?;
        tx.commit().await.map_err(D::map_error)?;
        Ok(item)
    }

    async fn put_item(&self, new: NewItem<'_>) -> Result<CatalogItem> {
        common::check_new_item(&new)?;
        let path = new.path;
        let size = new.content.len() as i64;
        let now = common::now();
        let mut tx = self.write().await?;
        let id = match Self::id_and_type(&mut tx, path.key()).await? {
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
                .map_err(D::map_error)?;
                id
            }
            None => {
                let (parent, stored) = Self::parent_folder(&mut tx, path).await?;
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
                .map_err(|e| already_exists::<D>(e, path))?;
                id
            }
        };
        // A new item has no content row yet; a replaced one gets its content swapped.
        sqlx::query(
            "INSERT INTO item_content (item_id, content) VALUES ($1, $2) \
             ON CONFLICT (item_id) DO UPDATE SET content = excluded.content",
        )
        .bind(id)
        .bind(new.content)
        .execute(&mut *tx)
        .await
        .map_err(D::map_error)?;
        let item = Self::must_get(&mut tx, path).await?;
        tx.commit().await.map_err(D::map_error)?;
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
        .map_err(D::map_error)?;
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
        // substr() reads only the range (PostgreSQL: TOAST slices); positions are 1-based.
        // The casts make PostgreSQL pick substr(bytea, int4, int4): a bytea is at most
        // 1 GiB, so both fit.
        let start = i64::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(1))
            .ok_or_else(|| Error::Invalid(format!("content offset {offset} is out of range")))?;
        let row: Option<(OffsetDateTime, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT i.modified_at, substr(c.content, CAST($1 AS INTEGER), CAST($2 AS INTEGER)) \
             FROM items i JOIN item_content c ON c.item_id = i.id WHERE i.id = $3",
        )
        .bind(start)
        .bind(i64::from(len))
        .bind(item.id)
        .fetch_optional(&self.pool)
        .await
        .map_err(D::map_error)?;
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
        let (low, high) = subtree_range(key);
        let mut tx = self.write().await?;
        // The item and everything below it; content and role assignments go with them
        // (ON DELETE CASCADE).
        let done = sqlx::query(
            "DELETE FROM items WHERE path_key = $1 OR (path_key >= $2 AND path_key < $3)",
        )
        .bind(key)
        .bind(low)
        .bind(high)
        .execute(&mut *tx)
        .await
        .map_err(D::map_error)?;
        if D::rows_affected(&done) == 0 {
            return Err(Error::NotFound(path.clone()));
        }
        tx.commit().await.map_err(D::map_error)
    }

    async fn move_item(&self, from: &ItemPath, to: &ItemPath) -> Result<CatalogItem> {
        if from.is_root() || to.is_root() {
            return Err(Error::Root);
        }
        let mut tx = self.write().await?;
        if Self::id_and_type(&mut tx, from.key()).await?.is_none() {
            return Err(Error::NotFound(from.clone()));
        }
        let (parent_id, to) = Self::parent_folder(&mut tx, to).await?;
        if to.key() != from.key() && Self::id_and_type(&mut tx, to.key()).await?.is_some() {
            return Err(Error::AlreadyExists(to));
        }
        let key = from.key();
        let (low, high) = subtree_range(key);
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT id, path FROM items WHERE path_key = $1 OR (path_key >= $2 AND path_key < $3)",
        )
        .bind(key)
        .bind(low)
        .bind(high)
        .fetch_all(&mut *tx)
        .await
        .map_err(D::map_error)?;
        for (id, new) in common::moved_paths(from, &to, &rows)? {
            sqlx::query("UPDATE items SET path = $1, path_key = $2, name = $3 WHERE id = $4")
                .bind(new.as_str())
                .bind(new.key())
                .bind(new.name())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(D::map_error)?;
        }
        sqlx::query("UPDATE items SET parent_id = $1 WHERE path_key = $2")
            .bind(parent_id)
            .bind(to.key())
            .execute(&mut *tx)
            .await
            .map_err(D::map_error)?;
        let item = Self::must_get(&mut tx, &to).await?;
        tx.commit().await.map_err(D::map_error)?;
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
        .bind(props.description.as_str())
        .bind(props.hidden)
        .bind(by)
        .bind(common::now())
        .bind(path.key())
        .execute(&mut *tx)
        .await
        .map_err(D::map_error)?;
        if D::rows_affected(&done) == 0 {
            return Err(Error::NotFound(path.clone()));
        }
        let item = Self::must_get(&mut tx, path).await?;
        tx.commit().await.map_err(D::map_error)?;
        Ok(item)
    }

    async fn get_policies(&self, path: &ItemPath) -> Result<Option<Vec<Policy>>> {
        let mut conn = self.pool.acquire().await.map_err(D::map_error)?;
        let (id, own): (Uuid, bool) =
            sqlx::query_as("SELECT id, own_policies FROM items WHERE path_key = $1")
                .bind(path.key())
                .fetch_optional(&mut *conn)
                .await
                .map_err(D::map_error)?
                .ok_or_else(|| Error::NotFound(path.clone()))?;
        if !own {
            return Ok(None);
        }
        let mut rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT user_key, user_name, role FROM policies WHERE item_id = $1")
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .map_err(D::map_error)?;
        // By user key, then role, in byte order (group_policies groups adjacent rows).
        rows.sort_unstable_by(|a, b| (&a.0, &a.2).cmp(&(&b.0, &b.2)));
        common::group_policies(
            rows.into_iter()
                .map(|(_, user, role)| (user, role))
                .collect(),
        )
        .map(Some)
    }

    async fn set_policies(&self, path: &ItemPath, policies: Option<&[Policy]>) -> Result<()> {
        if path.is_root() && policies.is_none() {
            return Err(Error::Root);
        }
        let rows = policies.map(common::flatten_policies).transpose()?;
        let mut tx = self.write().await?;
        let (id, _) = Self::id_and_type(&mut tx, path.key())
            .await?
            .ok_or_else(|| Error::NotFound(path.clone()))?;
        sqlx::query("DELETE FROM policies WHERE item_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(D::map_error)?;
        sqlx::query("UPDATE items SET own_policies = $1 WHERE id = $2")
            .bind(rows.is_some())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(D::map_error)?;
        for chunk in rows
            .as_deref()
            .unwrap_or_default()
            .chunks(POLICY_ROWS_PER_INSERT)
        {
            let values = (0..chunk.len())
                .map(|row| format!("({})", placeholders(4 * row + 1, 4)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO policies (item_id, user_key, user_name, role) VALUES {values}"
            );
            let mut q = sqlx::query(&sql);
            for (key, name, role) in chunk {
                q = q
                    .bind(id)
                    .bind(key.as_str())
                    .bind(name.as_str())
                    .bind(common::role_token(*role));
            }
            q.execute(&mut *tx).await.map_err(D::map_error)?;
        }
        tx.commit().await.map_err(D::map_error)
    }

    async fn effective_roles(&self, path: &ItemPath, user: &str) -> Result<Vec<Role>> {
        // One query: the deepest of path and its ancestors that has its own assignments
        // (the root always does), then the user's roles there. Ancestor keys are prefixes
        // of one another, so the longest key is the deepest item.
        let chain = path.self_and_ancestors();
        let sql = format!(
            "SELECT role FROM policies WHERE user_key = $1 AND item_id = \
             (SELECT id FROM items WHERE own_policies AND path_key IN ({}) \
              ORDER BY length(path_key) DESC LIMIT 1)",
            placeholders(2, chain.len())
        );
        let mut q = sqlx::query_scalar(&sql).bind(common::user_key(user));
        for p in &chain {
            q = q.bind(p.key());
        }
        let tokens: Vec<String> = q.fetch_all(&self.pool).await.map_err(D::map_error)?;
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
        .bind(user.name.as_str())
        .bind(user.password_hash.as_str())
        .bind(common::roles_to_text(&roles))
        .bind(common::now())
        .execute(&mut *tx)
        .await;
        match done {
            Ok(_) => tx.commit().await.map_err(D::map_error),
            Err(e) if is_unique_violation(&e) => Err(Error::UserExists(user.name.clone())),
            Err(e) => Err(D::map_error(e)),
        }
    }

    async fn get_user(&self, name: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE name_key = $1"
        ))
        .bind(common::user_key(name))
        .fetch_optional(&self.pool)
        .await
        .map_err(D::map_error)?
        .map(UserRow::into_user)
        .transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query_as::<_, UserRow>(&format!("SELECT {USER_COLUMNS} FROM users"))
            .fetch_all(&self.pool)
            .await
            .map_err(D::map_error)?;
        let mut users = rows
            .into_iter()
            .map(UserRow::into_user)
            .collect::<Result<Vec<_>>>()?;
        // By name key (the lowercase name), in byte order.
        users.sort_by_cached_key(|u| common::user_key(&u.name));
        Ok(users)
    }

    async fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<()> {
        common::check_password_hash(password_hash)?;
        let mut tx = self.write().await?;
        Self::update_user(
            &mut tx,
            "UPDATE users SET password_hash = $1 WHERE name_key = $2",
            password_hash,
            name,
        )
        .await?;
        tx.commit().await.map_err(D::map_error)
    }

    async fn set_system_roles(&self, name: &str, roles: &[Role]) -> Result<()> {
        let roles = common::check_system_roles(roles)?;
        let mut tx = self.write().await?;
        if !roles.contains(&Role::SystemAdministrator) {
            Self::refuse_last_admin(&mut tx, name).await?;
        }
        Self::update_user(
            &mut tx,
            "UPDATE users SET system_roles = $1 WHERE name_key = $2",
            &common::roles_to_text(&roles),
            name,
        )
        .await?;
        tx.commit().await.map_err(D::map_error)
    }

    async fn delete_user(&self, name: &str) -> Result<()> {
        let key = common::user_key(name);
        let mut tx = self.write().await?;
        Self::refuse_last_admin(&mut tx, name).await?;
        let done = sqlx::query("DELETE FROM users WHERE name_key = $1")
            .bind(key.as_str())
            .execute(&mut *tx)
            .await
            .map_err(D::map_error)?;
        if D::rows_affected(&done) == 0 {
            return Err(Error::UnknownUser(name.to_owned()));
        }
        // A later user of the same name must not inherit this one's access.
        sqlx::query("DELETE FROM policies WHERE user_key = $1")
            .bind(key.as_str())
            .execute(&mut *tx)
            .await
            .map_err(D::map_error)?;
        tx.commit().await.map_err(D::map_error)
    }

    async fn count_system_administrators(&self) -> Result<i64> {
        sqlx::query_scalar(COUNT_ADMINS)
            .fetch_one(&self.pool)
            .await
            .map_err(D::map_error)
    }
}

/// An INSERT's unique violation as [`Error::AlreadyExists`] (another writer got there
/// first), anything else mapped by the dialect.
fn already_exists<D: Dialect>(e: sqlx::Error, path: &ItemPath) -> Error {
    if is_unique_violation(&e) {
        Error::AlreadyExists(path.clone())
    } else {
        D::map_error(e)
    }
}
