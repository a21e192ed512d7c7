//! The report server database (the catalog): folders, reports, data sources and resources,
//! their role assignments, and the users who sign in.
//!
//! One interface, [`Catalog`], implemented once (`sql`: generic over the sqlx database,
//! with a small dialect for what differs) for two backends that own their connection setup
//! and migrations: [`sqlite::SqliteCatalog`] (embedded, the default) and
//! [`postgres::PostgresCatalog`] (several nodes sharing one database).
//! `tests/conformance.rs` runs one suite against both.
//!
//! This crate owns item paths ([`ItemPath`]), roles ([`Role`]) and what each permits
//! ([`Permission`]), and password hashing ([`password`]). It must not know about HTTP, TLS,
//! the data dir layout or rendering; it never logs content or password hashes.

pub mod clustercerts;
pub mod clusterkey;
mod common;
pub mod guard;
pub mod nodes;
pub mod notify;
pub mod password;
mod path;
mod sql;
mod types;

pub mod postgres;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

pub use path::{ItemPath, MAX_PATH_CHARS, MAX_SEGMENT_CHARS};
pub use types::*;

/// The schema version this build creates and understands (both backends have the same
/// number of migrations). [`Catalog::schema_version`] of an up-to-date catalog equals it.
pub const SCHEMA_VERSION: i64 = 4;

/// Errors of the catalog. Display texts are complete sentences a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No item at this path (or the user may not see it). Web surfaces map this to 404.
    #[error("the item '{0}' cannot be found")]
    NotFound(ItemPath),
    /// An item already exists at this path and overwrite was not asked for.
    #[error("an item named '{0}' already exists; delete it first or choose another name")]
    AlreadyExists(ItemPath),
    /// An item of another type exists at this path: `put_item` with overwrite cannot turn a
    /// Report into a Resource (or replace a folder); the old item must be deleted first.
    #[error(
        "'{path}' already exists as a {existing} and cannot be replaced by a {new}; delete it first or choose another name"
    )]
    TypeConflict {
        path: ItemPath,
        existing: ItemType,
        new: ItemType,
    },
    /// The parent of the path is missing or is not a folder.
    #[error("the parent folder of '{0}' does not exist or is not a folder; create it first")]
    ParentMissing(ItemPath),
    /// A path, name or value that the catalog refuses (traversal, control characters, too long).
    #[error("{0}")]
    Invalid(String),
    /// The root folder cannot be deleted, renamed or replaced.
    #[error("the root folder '/' cannot be changed this way")]
    Root,
    /// A user name that already exists (`user add` twice).
    #[error("a user named '{0}' already exists")]
    UserExists(String),
    /// No such user.
    #[error("no user named '{0}'")]
    UnknownUser(String),
    /// The database holds tables that are not a reportd catalog (refused by `database create`).
    #[error("{0}")]
    Foreign(String),
    /// The database does not exist or holds no catalog yet, and `open` was not asked to
    /// create one (`target` is the SQLite file or `host:port/database`).
    #[error(
        "the report server database {target} {problem}; create it with `reportctl database create`"
    )]
    Uninitialized { target: String, problem: String },
    /// The catalog schema is newer than this build understands.
    #[error(
        "the catalog schema version {found} is newer than this reportd supports ({supported}); upgrade reportd"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    /// The database could not be reached (host, port, credentials, timeout).
    #[error("cannot connect to the report server database at {target}: {cause}")]
    Connect { target: String, cause: String },
    /// An open catalog stopped answering: no pooled connection within the acquire timeout
    /// (server down, wrong port, network), a connection lost mid-statement, or a statement
    /// that waited longer than the statement timeout for a lock. Retrying later may work;
    /// web surfaces answer 503. The text names the problem, never a password.
    #[error(
        "the report server database is not answering ({0}); check it with `reportctl database status`"
    )]
    Unavailable(String),
    /// Removing the user, or their System Administrator role, would leave the report
    /// server without any System Administrator.
    #[error(
        "'{0}' is the last System Administrator; add another one first (`reportctl user add NAME --role \"System Administrator\"`)"
    )]
    LastAdministrator(String),
    /// Any other database failure.
    #[error("report server database error: {0}")]
    Db(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The catalog interface. Paths are case-insensitive ('/Sales' and '/sales' name one item);
/// the stored spelling is the one given at creation.
#[async_trait::async_trait]
pub trait Catalog: Send + Sync + 'static {
    /// `sqlite` or `postgresql`.
    fn backend(&self) -> &'static str;
    /// Schema version the database is at (the number of applied migrations).
    async fn schema_version(&self) -> Result<i64>;
    /// Number of catalog items, the root folder excluded.
    async fn item_count(&self) -> Result<i64>;
    /// A counter that changes whenever anything in the catalog changes (items, roles,
    /// users), whichever process or node made the change. Cheap: one indexed read. Caches
    /// of rendered pages and verified credentials are keyed by it.
    async fn generation(&self) -> Result<i64>;

    /// The item at `path` (the root `/` is a folder that always exists).
    async fn get_item(&self, path: &ItemPath) -> Result<Option<CatalogItem>>;
    /// The item whose [`CatalogItem::id`] is `id` (ids are stable: replacing content keeps
    /// them), as the REST API addresses items by GUID.
    async fn get_item_by_id(&self, id: uuid::Uuid) -> Result<Option<CatalogItem>>;
    /// The children of the folder at `path`, folders first, then by name (case-insensitive).
    async fn list_children(&self, path: &ItemPath) -> Result<Vec<CatalogItem>>;
    /// Creates a folder; the parent must exist.
    async fn create_folder(&self, path: &ItemPath, by: &str) -> Result<CatalogItem>;
    /// Creates (or, with `overwrite`, replaces the content of) a report, data source or
    /// resource. Replacing keeps the id, created-by/at and role assignments.
    async fn put_item(&self, new: NewItem<'_>) -> Result<CatalogItem>;
    /// The content of a non-folder item.
    async fn get_content(&self, path: &ItemPath) -> Result<Vec<u8>>;
    /// Up to `len` bytes of the content of the item `item` (as [`Catalog::get_item`]
    /// returned it), from byte `offset`: what streams a download without holding the
    /// whole content. Empty at or past the end. `Ok(None)` when the item is gone or its
    /// content was replaced since (its `modified_at` differs), so a stream never mixes two
    /// versions.
    async fn read_content_range(
        &self,
        item: &CatalogItem,
        offset: u64,
        len: u32,
    ) -> Result<Option<Vec<u8>>>;
    /// Deletes the item, and everything below it for a folder.
    async fn delete_item(&self, path: &ItemPath) -> Result<()>;
    /// Moves or renames the item at `from` to `to` (everything below a folder goes with
    /// it), keeping ids, content, dates and role assignments. The parent of `to` must be a
    /// folder ([`Error::ParentMissing`]); nothing may be at `to` ([`Error::AlreadyExists`]),
    /// unless `to` only changes the case of `from`; a folder cannot move below itself
    /// ([`Error::Invalid`]). Returns the moved item.
    async fn move_item(&self, from: &ItemPath, to: &ItemPath) -> Result<CatalogItem>;
    /// Changes description and hidden flag.
    async fn set_properties(
        &self,
        path: &ItemPath,
        props: &ItemProperties,
        by: &str,
    ) -> Result<CatalogItem>;

    /// Role assignments set on `path` itself (None when it inherits from its parent).
    async fn get_policies(&self, path: &ItemPath) -> Result<Option<Vec<Policy>>>;
    /// Sets the role assignments of `path` (breaking inheritance), or with `None` returns it
    /// to inheriting from its parent. The root always has its own policies.
    async fn set_policies(&self, path: &ItemPath, policies: Option<&[Policy]>) -> Result<()>;
    /// The item roles `user` holds on `path`: those of the nearest item at or above `path`
    /// that has its own policies.
    async fn effective_roles(&self, path: &ItemPath, user: &str) -> Result<Vec<Role>>;

    /// Adds a user with a password hash (see [`password::hash`]) and system roles.
    async fn add_user(&self, user: &NewUser) -> Result<()>;
    /// The user named `name` (case-insensitive), with hash and system roles.
    async fn get_user(&self, name: &str) -> Result<Option<User>>;
    async fn list_users(&self) -> Result<Vec<User>>;
    async fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<()>;
    /// Sets the system roles of `name`. Refuses ([`Error::LastAdministrator`]) to take
    /// System Administrator from the last user who holds it.
    async fn set_system_roles(&self, name: &str, roles: &[Role]) -> Result<()>;
    /// Deletes the user and their role assignments. Refuses
    /// ([`Error::LastAdministrator`]) to delete the last System Administrator; the check
    /// and the delete are one transaction, so two concurrent removals of the last two
    /// administrators cannot both succeed.
    async fn delete_user(&self, name: &str) -> Result<()>;
    /// How many users hold the System Administrator role.
    async fn count_system_administrators(&self) -> Result<i64>;
}

/// A shared handle to whichever implementation the configuration names.
pub type SharedCatalog = Arc<dyn Catalog>;

/// Default of [`OpenOptions::statement_timeout`].
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a catalog is opened. [`open`] uses [`OpenOptions::new`]; a server passes a short
/// `connect_timeout` so that a database that is down is answered within a second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// Create a missing SQLite file or PostgreSQL database (see [`open`]).
    pub create: bool,
    /// Longest wait to open the catalog, and later for a pooled connection (sqlx
    /// `acquire_timeout`): past it a request fails with [`Error::Connect`] or
    /// [`Error::Unavailable`] instead of waiting behind another request's reconnect.
    pub connect_timeout: Duration,
    /// Longest a statement may run or wait for a lock: PostgreSQL `statement_timeout` and
    /// `lock_timeout` on every pooled connection, SQLite `busy_timeout`.
    pub statement_timeout: Duration,
}

impl OpenOptions {
    /// `create` with the defaults: 10 s to connect, [`DEFAULT_STATEMENT_TIMEOUT`].
    pub fn new(create: bool) -> Self {
        OpenOptions {
            create,
            connect_timeout: postgres::CONNECT_TIMEOUT,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
        }
    }
}

/// Opens (and migrates forward) the catalog at `url`: `sqlite:PATH` or `postgres://...`.
///
/// With `create`, a missing SQLite file (mode 0600) or PostgreSQL database is created and an
/// empty one initialized; without it, either is [`Error::Uninitialized`]. A file or database
/// that holds tables which are not a reportd catalog is refused ([`Error::Foreign`]) and left
/// untouched. Connecting gives up within 10 seconds with an [`Error::Connect`] naming the
/// host and port (or file) and the cause. Relative SQLite paths are taken as given: resolve
/// them against the data dir first.
pub async fn open(url: &str, create: bool) -> Result<SharedCatalog> {
    open_with(url, &OpenOptions::new(create)).await
}

/// [`open`] with explicit timeouts ([`OpenOptions`]).
pub async fn open_with(url: &str, options: &OpenOptions) -> Result<SharedCatalog> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(
            sqlite::SqliteCatalog::open_with(url, options).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            postgres::PostgresCatalog::open_with(url, options).await?,
        ))
    } else {
        // Only the scheme is shown: the rest may hold a password.
        let scheme = url.split_once(':').map_or("", |(s, _)| s);
        Err(Error::Invalid(format!(
            "unsupported database URL (scheme {scheme:?}); use sqlite:PATH or postgres://USER@HOST/DB"
        )))
    }
}
