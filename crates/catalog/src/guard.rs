//! A circuit breaker in front of a catalog: while the database is down, calls fail at once.
//!
//! [`Guarded`] wraps any [`Catalog`]. When a call fails with [`Error::Unavailable`] or
//! [`Error::Connect`] (no pooled connection within the acquire timeout, connection lost),
//! the breaker opens: every later call answers `Error::Unavailable` with the same problem
//! immediately, without touching the pool, so no request waits behind reconnect attempts.
//! One probe task (started by the failure) asks the database for the generation every
//! [`PROBE_EVERY`]; its first success closes the breaker and the node serves again by
//! itself.
//!
//! This module owns that health flag and the probe; it must not retry a failed call (the
//! caller answers 503) nor hold catalog data.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{
    Catalog, CatalogItem, Error, ItemPath, ItemProperties, NewItem, NewUser, Policy, Result, Role,
    SharedCatalog, User,
};

/// Pause between two probes of a database that is down.
pub const PROBE_EVERY: Duration = Duration::from_millis(200);

/// A catalog behind a circuit breaker (see the module docs).
pub struct Guarded {
    inner: SharedCatalog,
    health: Arc<Health>,
}

#[derive(Default)]
struct Health {
    down: AtomicBool,
    probing: AtomicBool,
    problem: Mutex<String>,
}

impl Health {
    fn problem(&self) -> String {
        self.problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_problem(&self, problem: String) {
        *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = problem;
    }
}

/// Longest a [`Guarded::verify`] check may take before the database counts as down.
pub const VERIFY_TIMEOUT: Duration = Duration::from_millis(250);

/// Wraps `inner` in a [`Guarded`] breaker. Must run inside a tokio runtime (the probe is a
/// task).
pub fn guarded(inner: SharedCatalog) -> Arc<Guarded> {
    Arc::new(Guarded {
        inner,
        health: Arc::default(),
    })
}

impl Guarded {
    /// Checks the database now, in a task (called when the change listener loses its
    /// connection, so that the breaker opens before a request has to find out): a failure
    /// or no answer within [`VERIFY_TIMEOUT`] opens the breaker.
    pub fn verify(self: &Arc<Self>) {
        if self.is_down() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let r = match tokio::time::timeout(VERIFY_TIMEOUT, this.inner.generation()).await {
                Ok(r) => r,
                Err(_) => Err(Error::Unavailable(format!(
                    "PostgreSQL did not answer within {} ms",
                    VERIFY_TIMEOUT.as_millis()
                ))),
            };
            let _ = this.observe(r);
        });
    }

    /// Whether the breaker is open now (the database was found down and has not answered a
    /// probe since).
    pub fn is_down(&self) -> bool {
        self.health.down.load(Ordering::Acquire)
    }

    fn check(&self) -> Result<()> {
        if self.is_down() {
            return Err(Error::Unavailable(self.health.problem()));
        }
        Ok(())
    }

    fn observe<T>(&self, r: Result<T>) -> Result<T> {
        let problem = match &r {
            Err(Error::Unavailable(p)) => p.clone(),
            Err(Error::Connect { cause, .. }) => cause.clone(),
            _ => return r,
        };
        self.health.set_problem(problem);
        if !self.health.down.swap(true, Ordering::AcqRel) {
            tracing::error!(
                "the report server database is not answering; requests fail fast until it is back"
            );
        }
        self.start_probe();
        r
    }

    fn start_probe(&self) {
        if self.health.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.inner.clone();
        let health = self.health.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                match inner.generation().await {
                    Ok(_) => break,
                    Err(Error::Unavailable(p)) | Err(Error::Connect { cause: p, .. }) => {
                        health.set_problem(p)
                    }
                    Err(_) => break,
                }
            }
            health.probing.store(false, Ordering::Release);
            health.down.store(false, Ordering::Release);
            tracing::info!("the report server database answers again");
        });
    }
}

/// Each call: refused at once while down, else delegated and its failure observed.
macro_rules! guard {
    ($self:ident . $call:ident ( $($arg:expr),* )) => {{
        $self.check()?;
        let r = $self.inner.$call($($arg),*).await;
        $self.observe(r)
    }};
}

#[async_trait::async_trait]
impl Catalog for Guarded {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn schema_version(&self) -> Result<i64> {
        guard!(self.schema_version())
    }
    async fn item_count(&self) -> Result<i64> {
        guard!(self.item_count())
    }
    async fn generation(&self) -> Result<i64> {
        guard!(self.generation())
    }
    async fn get_item(&self, path: &ItemPath) -> Result<Option<CatalogItem>> {
        guard!(self.get_item(path))
    }
    async fn get_item_by_id(&self, id: uuid::Uuid) -> Result<Option<CatalogItem>> {
        guard!(self.get_item_by_id(id))
    }
    async fn list_children(&self, path: &ItemPath) -> Result<Vec<CatalogItem>> {
        guard!(self.list_children(path))
    }
    async fn create_folder(&self, path: &ItemPath, by: &str) -> Result<CatalogItem> {
        guard!(self.create_folder(path, by))
    }
    async fn put_item(&self, new: NewItem<'_>) -> Result<CatalogItem> {
        guard!(self.put_item(new))
    }
    async fn get_content(&self, path: &ItemPath) -> Result<Vec<u8>> {
        guard!(self.get_content(path))
    }
    async fn read_content_range(
        &self,
        item: &CatalogItem,
        offset: u64,
        len: u32,
    ) -> Result<Option<Vec<u8>>> {
        guard!(self.read_content_range(item, offset, len))
    }
    async fn delete_item(&self, path: &ItemPath) -> Result<()> {
        guard!(self.delete_item(path))
    }
    async fn move_item(&self, from: &ItemPath, to: &ItemPath) -> Result<CatalogItem> {
        guard!(self.move_item(from, to))
    }
    async fn set_properties(
        &self,
        path: &ItemPath,
        props: &ItemProperties,
        by: &str,
    ) -> Result<CatalogItem> {
        guard!(self.set_properties(path, props, by))
    }
    async fn get_policies(&self, path: &ItemPath) -> Result<Option<Vec<Policy>>> {
        guard!(self.get_policies(path))
    }
    async fn set_policies(&self, path: &ItemPath, policies: Option<&[Policy]>) -> Result<()> {
        guard!(self.set_policies(path, policies))
    }
    async fn effective_roles(&self, path: &ItemPath, user: &str) -> Result<Vec<Role>> {
        guard!(self.effective_roles(path, user))
    }
    async fn add_user(&self, user: &NewUser) -> Result<()> {
        guard!(self.add_user(user))
    }
    async fn get_user(&self, name: &str) -> Result<Option<User>> {
        guard!(self.get_user(name))
    }
    async fn list_users(&self) -> Result<Vec<User>> {
        guard!(self.list_users())
    }
    async fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<()> {
        guard!(self.set_password_hash(name, password_hash))
    }
    async fn set_system_roles(&self, name: &str, roles: &[Role]) -> Result<()> {
        guard!(self.set_system_roles(name, roles))
    }
    async fn delete_user(&self, name: &str) -> Result<()> {
        guard!(self.delete_user(name))
    }
    async fn count_system_administrators(&self) -> Result<i64> {
        guard!(self.count_system_administrators())
    }
}
