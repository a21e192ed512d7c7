//! [`AppState`]: what both applications share — the data dir's settings, the instance key,
//! the catalog (opened lazily, replaced when the configuration names another one) and the
//! caches.
//!
//! The catalog is an `ArcSwapOption`: requests load it without locking. While it is absent,
//! each request re-reads `reportd.toml` (a small file) and opens the database as soon as
//! `DatabaseUrl` appears, so the first request after `reportctl database create` returns is
//! served from the new catalog without a restart or a notification. Opening is serialized
//! by a mutex so a burst of requests opens it once.
//!
//! This module reads files (the configuration, the instance key) but writes none.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};
use catalog::SharedCatalog;
use datadir::{Config, DataDir, Settings};
use tokio::sync::Mutex;
use zeroize::Zeroizing;

use crate::Error;
use crate::credentials::CredentialCache;
use crate::pagecache::PageCache;
use crate::signin::{SignIn, SignInStats};

/// State shared by both applications. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("data_dir", &self.inner.dd.root())
            .field("version", &self.inner.version)
            .field("catalog_open", &self.inner.db.load().is_some())
            .finish_non_exhaustive()
    }
}

/// How long a catalog generation read from the database is trusted (see `Inner`).
pub const GENERATION_TTL: Duration = Duration::from_secs(1);

struct Inner {
    dd: DataDir,
    version: &'static str,
    /// The encryption key (a cluster's key once this node holds it, else the instance key)
    /// and the keys derived from it; swapped whole when the cluster key changes
    /// ([`AppState::set_cluster_key`]).
    keys: ArcSwap<Keys>,
    /// The settings as last read; swapped whole on reload.
    settings: ArcSwap<Settings>,
    /// The Web Service's virtual directory, for the portal's links to it.
    webservice_vdir: ArcSwap<String>,
    /// The open catalog and the URL it was opened from (None until the database exists).
    db: ArcSwapOption<Db>,
    /// Serializes re-reading the configuration and opening the catalog.
    open_lock: Mutex<()>,
    pub(crate) credentials: CredentialCache,
    /// The REST `Session` sign-ins' cookie sessions.
    sessions: crate::rest::session::Sessions,
    /// The REST API's whole-catalog listings per generation and user.
    listings: crate::rest::listing::Listings,
    pub(crate) pages: PageCache,
    /// The catalog generation as last read, and until when (nanoseconds after `epoch`) it
    /// may be used without asking the database again. Reading the generation costs a
    /// database round trip (~50 µs with sqlx on SQLite), more than the rest of a cached
    /// request: it is read at most every [`GENERATION_TTL`]. Changes made through this
    /// server, and changes `reportctl` reports over the management socket, invalidate it
    /// at once; so does a change committed by another node of a shared PostgreSQL catalog,
    /// through the `LISTEN` task of `Db` (and within the TTL should a notification be lost).
    generation: AtomicI64,
    generation_fresh_until: AtomicU64,
    epoch: Instant,
    /// Sign-in work and its bounds: the KDF workers and their permits, the per-name
    /// gates, the failure throttle ([`crate::signin`]).
    sign_in: SignIn,
    /// Until when (nanoseconds after `epoch`) a failed attempt to open the catalog is
    /// answered from `open_error` without trying again, so that while the database is down
    /// no request waits behind another's reconnect.
    open_failed_until: AtomicU64,
    open_error: std::sync::Mutex<Option<String>>,
    /// Report rendering: the pool, the compiled-report and execution caches.
    reports: crate::report::Reports,
    /// The node's state in a cluster's node table (set by `reportd serve`'s heartbeat):
    /// 0 joined or no cluster, 1 waiting to be joined, 2 removed. Requests for the catalog
    /// are answered 503 unless joined.
    cluster_state: std::sync::atomic::AtomicU8,
    /// The running server's management handler, in process (set by `reportd serve`): the
    /// configuration pages read its status through it. Absent when the apps run alone.
    management: std::sync::OnceLock<Arc<dyn mgmt::server::Handler>>,
    /// The warnings of failing certificate sources (ACME, watched files; this node's and
    /// store Cluster's), as `status` has them (set by `reportd serve`): the admin banner's.
    source_warnings: std::sync::OnceLock<SourceWarnings>,
}

/// Where the failing certificate sources' warnings come from (see [`AppState::set_source_warnings`]).
pub type SourceWarnings = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

struct Db {
    /// Parsed once from `reportd.toml` (its Display/Debug never show a password).
    url: datadir::DatabaseUrl,
    /// `DatabaseQueryTimeout` it was opened with (a change reopens it).
    query_timeout: u32,
    catalog: SharedCatalog,
    /// PostgreSQL: the `LISTEN` task invalidating the generation cache when any node
    /// commits a change ([`catalog::notify`]); aborted when the catalog is replaced.
    _listener: Option<AbortOnDrop>,
}

/// A task that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long opening the catalog, and later each wait for a pooled connection, may take
/// before the request is answered 503 (`Error::DatabaseNotAnswering`): a database that is
/// down costs a request less than a second, never a queue behind reconnects.
pub const CATALOG_CONNECT_TIMEOUT: Duration = Duration::from_millis(750);

impl AppState {
    /// Loads settings and the instance key from the data dir; the catalog is opened lazily
    /// (on the first request, or by [`AppState::reload`]).
    pub fn new(dd: DataDir, server_version: &'static str) -> Result<AppState, Error> {
        let config = dd.load_config()?;
        let key = dd.instance_key()?;
        Ok(AppState {
            inner: Arc::new(Inner {
                credentials: CredentialCache::new(&key),
                sessions: Default::default(),
                listings: Default::default(),
                keys: ArcSwap::from_pointee(Keys::of(datadir::sealed::ClusterKey::new(key, 0))),
                version: server_version,
                webservice_vdir: ArcSwap::from_pointee(webservice_vdir_of(&config)),
                settings: ArcSwap::from_pointee(config.settings),
                db: ArcSwapOption::empty(),
                open_lock: Mutex::new(()),
                pages: PageCache::default(),
                generation: AtomicI64::new(0),
                generation_fresh_until: AtomicU64::new(0),
                epoch: Instant::now(),
                sign_in: SignIn::new()?,
                open_failed_until: AtomicU64::new(0),
                open_error: std::sync::Mutex::new(None),
                reports: crate::report::Reports::default(),
                management: std::sync::OnceLock::new(),
                source_warnings: std::sync::OnceLock::new(),
                cluster_state: std::sync::atomic::AtomicU8::new(0),
                dd,
            }),
        })
    }

    /// Re-reads reportd.toml (SecureConnectionLevel, MaxUploadSizeMB, DatabaseUrl) and, if
    /// the database URL changed or appeared, opens the catalog (a vanished URL closes it).
    /// Called by the server when the management socket reports a change; also done lazily
    /// by requests while no catalog is open.
    pub async fn reload(&self) -> Result<(), Error> {
        let _guard = self.inner.open_lock.lock().await;
        self.reload_locked().await
    }

    async fn reload_locked(&self) -> Result<(), Error> {
        let dd = self.inner.dd.clone();
        let config = tokio::task::spawn_blocking(move || dd.load_config())
            .await
            .map_err(|e| Error::Internal(format!("configuration reader panicked: {e}")))??;
        self.inner
            .webservice_vdir
            .store(Arc::new(webservice_vdir_of(&config)));
        let url = config.settings.database()?;
        let query_timeout = config.settings.database_query_timeout.max(1);
        self.inner.settings.store(Arc::new(config.settings));
        let current = self.inner.db.load_full();
        match (url, current) {
            (None, None) => Ok(()),
            (None, Some(_)) => {
                tracing::warn!("DatabaseUrl was removed from reportd.toml; catalog closed");
                self.replace_db(None);
                Ok(())
            }
            (Some(url), Some(db)) if db.url == url && db.query_timeout == query_timeout => Ok(()),
            (Some(url), _) => {
                // A relative `sqlite:` path is relative to the data dir, not the working
                // directory; the string holds the password: it goes to the catalog only.
                let resolved = url.connect_string(self.inner.dd.root());
                let options = catalog::OpenOptions {
                    create: false,
                    connect_timeout: CATALOG_CONNECT_TIMEOUT,
                    statement_timeout: Duration::from_secs(u64::from(query_timeout)),
                };
                // Behind a circuit breaker: while the database is down, requests get their
                // 503 at once instead of each waiting for a pooled connection.
                let opened = catalog::open_with(&resolved, &options).await?;
                let guard = catalog::guard::guarded(opened);
                let catalog: SharedCatalog = guard.clone();
                tracing::info!(backend = catalog.backend(), "report server database opened");
                let listener = (catalog.backend() == "postgresql").then(|| {
                    // Weak: the task must not keep the state (which owns it) alive.
                    let weak = Arc::downgrade(&self.inner);
                    let guard = Arc::downgrade(&guard);
                    AbortOnDrop(catalog::notify::spawn_listener(
                        String::clone(&resolved),
                        Arc::new(move |change| {
                            // Lost: nothing cached may be served as current until the
                            // database answers again.
                            if change == catalog::notify::Change::Lost
                                && let Some(g) = guard.upgrade()
                            {
                                g.verify();
                            }
                            if let Some(inner) = weak.upgrade() {
                                inner.generation_fresh_until.store(0, Ordering::Release);
                            }
                        }),
                    ))
                });
                self.replace_db(Some(Arc::new(Db {
                    url,
                    query_timeout,
                    catalog,
                    _listener: listener,
                })));
                Ok(())
            }
        }
    }

    fn replace_db(&self, db: Option<Arc<Db>>) {
        // Generations of two databases are unrelated: nothing cached from the old one may
        // be matched against the new one's counter.
        self.catalog_changed();
        self.inner.db.store(db);
        self.inner.credentials.clear();
        self.inner.pages.clear();
    }

    /// The catalog generation, read from the database at most every [`GENERATION_TTL`]
    /// unless [`AppState::catalog_changed`] was called since.
    pub(crate) async fn generation(&self, catalog: &SharedCatalog) -> Result<i64, Error> {
        let now = self.inner.epoch.elapsed().as_nanos() as u64;
        if now < self.inner.generation_fresh_until.load(Ordering::Acquire) {
            return Ok(self.inner.generation.load(Ordering::Acquire));
        }
        let g = catalog.generation().await?;
        self.inner.generation.store(g, Ordering::Release);
        let until = now.saturating_add(GENERATION_TTL.as_nanos() as u64);
        self.inner
            .generation_fresh_until
            .store(until, Ordering::Release);
        Ok(g)
    }

    /// Forgets the cached generation: the next request reads it from the database, so
    /// that pages and credentials cached under the old one are not served. Called after
    /// every write this server makes, on reload, and when `reportctl` reports a change.
    pub fn catalog_changed(&self) {
        self.inner
            .generation_fresh_until
            .store(0, Ordering::Release);
    }

    /// The open catalog; while there is none, re-reads the configuration and opens the
    /// database it names. [`Error::NoDatabase`] when none is configured yet.
    pub(crate) async fn catalog(&self) -> Result<SharedCatalog, Error> {
        match self.inner.cluster_state.load(Ordering::Acquire) {
            0 => {}
            1 => {
                return Err(Error::NodeNotActivated(
                    "this report server is waiting to be joined to its cluster; on a joined node run `reportctl cluster join INSTALLATION_ID` (`reportctl cluster status` lists them)".into(),
                ));
            }
            _ => {
                return Err(Error::NodeNotActivated(
                    "this report server was removed from its cluster; on a joined node run `reportctl cluster join INSTALLATION_ID` to take it back".into(),
                ));
            }
        }
        if let Some(db) = &*self.inner.db.load() {
            return Ok(db.catalog.clone());
        }
        if let Some(problem) = self.recent_open_failure() {
            return Err(Error::DatabaseNotAnswering(problem));
        }
        // Whoever holds the lock is opening the catalog within CATALOG_CONNECT_TIMEOUT;
        // wait a little longer than that, never behind a queue of reconnects.
        let wait = CATALOG_CONNECT_TIMEOUT + Duration::from_millis(200);
        let Ok(_guard) = tokio::time::timeout(wait, self.inner.open_lock.lock()).await else {
            return Err(Error::DatabaseNotAnswering(
                "another request is still trying to connect".into(),
            ));
        };
        if let Some(problem) = self.recent_open_failure() {
            return Err(Error::DatabaseNotAnswering(problem));
        }
        if self.inner.db.load().is_none()
            && let Err(e) = self.reload_locked().await
        {
            return Err(match e {
                Error::DataDir(cause) => {
                    tracing::error!(%cause, "cannot read the configuration");
                    Error::DatabaseUnavailable
                }
                Error::DatabaseUnavailable => Error::DatabaseUnavailable,
                Error::NoDatabase => Error::NoDatabase,
                Error::DatabaseNotAnswering(problem) => {
                    self.remember_open_failure(&problem);
                    Error::DatabaseNotAnswering(problem)
                }
                other => {
                    tracing::error!(error = %other, "cannot open the report server database");
                    Error::DatabaseUnavailable
                }
            });
        }
        match &*self.inner.db.load() {
            Some(db) => Ok(db.catalog.clone()),
            None => Err(Error::NoDatabase),
        }
    }

    /// The problem of the last failed open, while it is recent (one connect timeout).
    fn recent_open_failure(&self) -> Option<String> {
        let now = self.inner.epoch.elapsed().as_nanos() as u64;
        if now >= self.inner.open_failed_until.load(Ordering::Acquire) {
            return None;
        }
        self.inner
            .open_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn remember_open_failure(&self, problem: &str) {
        *self
            .inner
            .open_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(problem.to_owned());
        let now = self.inner.epoch.elapsed().as_nanos() as u64;
        let until = now.saturating_add(CATALOG_CONNECT_TIMEOUT.as_nanos() as u64);
        self.inner.open_failed_until.store(until, Ordering::Release);
    }

    /// Records this node's state in its cluster (`joined`, `waiting`, `removed`): only a
    /// joined node (or one without a cluster) serves the catalog.
    pub fn set_cluster_state(&self, state: &str) {
        let v = match state {
            "waiting" => 1,
            "removed" => 2,
            _ => 0,
        };
        if self.inner.cluster_state.swap(v, Ordering::AcqRel) != v {
            tracing::info!(state, "cluster membership changed");
        }
    }

    /// Uses `key` (this node's copy of its cluster's key, opened) from now on: for the
    /// sealed data-source credentials and, derived with their own labels, CSRF tokens and
    /// session cookies, so that every node of the cluster accepts what another served.
    /// Set by `reportd serve` when the node is joined and whenever the key version changes.
    pub fn set_cluster_key(&self, key: datadir::sealed::ClusterKey) {
        let version = key.version();
        if self.inner.keys.load().cluster.version() != version {
            tracing::info!(key_version = version, "cluster key in use");
        }
        self.inner.keys.store(Arc::new(Keys::of(key)));
        // Pages rendered with credentials opened by the old key are still right; nothing
        // cached depends on the key itself.
    }

    /// The encryption key in use (the cluster key, or the instance key as version 0).
    pub fn cluster_key(&self) -> Arc<datadir::sealed::ClusterKey> {
        self.inner.keys.load().cluster.clone()
    }

    /// The settings as last read.
    pub fn settings(&self) -> Arc<Settings> {
        self.inner.settings.load_full()
    }

    /// The folder-page cache now: (pages, bytes). Bounded by a byte cap whatever the
    /// clients send (for tests and diagnostics).
    pub fn page_cache_stats(&self) -> (usize, usize) {
        self.inner.pages.stats()
    }

    /// How many verified credentials are cached now (for tests and diagnostics).
    pub fn cached_credentials(&self) -> usize {
        self.inner.credentials.len()
    }

    pub(crate) fn secure_connection_level(&self) -> u8 {
        self.inner.settings.load().secure_connection_level
    }

    /// Largest accepted upload in MiB (a hand-edited reportd.toml cannot raise it past
    /// [`datadir::config::MAX_UPLOAD_SIZE_MB`]).
    pub(crate) fn max_upload_mb(&self) -> u32 {
        self.inner
            .settings
            .load()
            .max_upload_size_mb
            .clamp(1, datadir::config::MAX_UPLOAD_SIZE_MB)
    }

    pub(crate) fn version(&self) -> &'static str {
        self.inner.version
    }

    /// Hands the apps the running server's management handler (once; later calls are
    /// ignored), so that the configuration pages call it in process.
    pub fn set_management(&self, handler: Arc<dyn mgmt::server::Handler>) {
        let _ = self.inner.management.set(handler);
    }

    /// Hands the apps the function giving the failing certificate sources' warnings (the
    /// one `status` uses; once, later calls are ignored), shown in the admin banner.
    pub fn set_source_warnings(&self, f: SourceWarnings) {
        let _ = self.inner.source_warnings.set(f);
    }

    /// The failing certificate sources' warnings (none when the apps run alone).
    pub(crate) fn source_warnings(&self) -> Vec<String> {
        self.inner
            .source_warnings
            .get()
            .map(|f| f())
            .unwrap_or_default()
    }

    pub(crate) fn management(&self) -> Option<&Arc<dyn mgmt::server::Handler>> {
        self.inner.management.get()
    }

    pub(crate) fn data_dir(&self) -> &DataDir {
        &self.inner.dd
    }

    /// The keys in use; derefs to the encryption key.
    pub(crate) fn key(&self) -> Arc<Keys> {
        self.inner.keys.load_full()
    }

    pub(crate) fn webservice_vdir(&self) -> Arc<String> {
        self.inner.webservice_vdir.load_full()
    }

    pub(crate) fn credentials(&self) -> &CredentialCache {
        &self.inner.credentials
    }

    pub(crate) fn sessions(&self) -> &crate::rest::session::Sessions {
        &self.inner.sessions
    }

    pub(crate) fn listings(&self) -> &crate::rest::listing::Listings {
        &self.inner.listings
    }

    pub(crate) fn pages(&self) -> &PageCache {
        &self.inner.pages
    }

    pub(crate) fn reports(&self) -> &crate::report::Reports {
        &self.inner.reports
    }

    pub(crate) fn sign_in(&self) -> &SignIn {
        &self.inner.sign_in
    }

    /// Password hashes run (the KDF) since start: verifications, dummy verifications of
    /// unknown names, hashes of new passwords.
    pub fn verifications(&self) -> u64 {
        self.inner.sign_in.stats().kdf_runs
    }

    /// The sign-in counters: KDFs running and their bound, gates, throttle tables.
    pub fn sign_in_stats(&self) -> SignInStats {
        self.inner.sign_in.stats()
    }
}

/// The encryption key and the keys derived from it (HKDF, distinct labels).
pub(crate) struct Keys {
    cluster: Arc<datadir::sealed::ClusterKey>,
    /// Keys the portal's CSRF tokens (and the REST XSRF token).
    pub(crate) csrf: Zeroizing<[u8; 32]>,
    /// Keys the REST `Session` cookies.
    pub(crate) session: Zeroizing<[u8; 32]>,
}

impl Keys {
    fn of(key: datadir::sealed::ClusterKey) -> Keys {
        Keys {
            csrf: key.subkey("reportd csrf"),
            session: key.subkey("reportd session cookie"),
            cluster: Arc::new(key),
        }
    }
}

impl std::ops::Deref for Keys {
    type Target = [u8; 32];
    fn deref(&self) -> &[u8; 32] {
        self.cluster.bytes()
    }
}

/// The Web Service's virtual directory as the generated section of reportd.toml shows it.
/// Only used to build links from the portal; `ReportServer` when absent.
fn webservice_vdir_of(config: &Config) -> String {
    config
        .url_reservations
        .as_ref()
        .and_then(|r| {
            r.applications.iter().find(|a| {
                a.name.parse::<httpsys::Application>().ok()
                    == Some(httpsys::Application::WebService)
            })
        })
        .map(|a| a.virtual_directory.trim_matches('/').to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| httpsys::Application::WebService.default_vdir().to_owned())
}
