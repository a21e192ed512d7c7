//! The server's certificate-source task: ACME renewals and watched certificate files.
//!
//! [`spawn`] starts one task for the life of the server. It reads the data dir's registry
//! (`certsources.json`, `acme::sources`) at start and whenever [`poke`]d (every Apply), and:
//! - for each ACME source that is due (never issued, forced by `reportctl cert renew`, or
//!   past its renewal moment or backoff) runs `acme::renewer::Renewer::renew_acme` in its
//!   own task, with the HTTP-01 answers published to the listener
//!   (`Listener::set_acme_http01`, served on the http reservation's port) or the
//!   TLS-ALPN-01 certificates (`Listener::set_acme_tls_alpn`, on the https ports);
//! - watches the directory of each watched certificate and key (and the directory above it,
//!   non-recursive, with `notify`: never the files themselves, whose symbolic links certbot
//!   replaces), and 500 ms after the last event re-reads the pairs; a pair that does not
//!   match yet (certbot writes the certificate link before the key link) keeps the old
//!   certificate served and is retried after 1, 2, 4 ... 30 s; every 60 s all pairs are
//!   re-read anyway, for filesystems that report nothing.
//!
//! A new certificate is installed by `mgmt::certops::import_replace`: imported into My and
//! every binding of the previous one moved to it, applied live, as one operation. Failures
//! are logged and recorded in the registry, where `reportctl status` shows them
//! ([`warnings`]).
//!
//! Must not: hold a binding or certificate rule of its own (`mgmt` and `acme` have them),
//! block the runtime with file I/O (blocking steps run on `spawn_blocking`), log keys.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acme::order::ChallengeBoard;
use acme::renewer::{Installed, Installer, LocalLock, Renewer};
use acme::sources::{FileSources, Source, SourceKind};
use certstore::{CertStore, StoreName, Thumbprint};
use datadir::DataDir;
use httpsys::Listener;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

/// Quiet time after a file event before the pairs are read.
const DEBOUNCE: Duration = Duration::from_millis(500);
/// Every watched pair is re-read at least this often (the backstop).
const RECHECK: Duration = Duration::from_secs(60);

static POKE: Notify = Notify::const_new();

/// Has the task re-read the registry now (called on every Apply).
pub fn poke() {
    POKE.notify_one();
}

/// The `status` warnings of failing sources.
pub fn warnings(dd: &DataDir) -> Vec<String> {
    match FileSources::new(dd.clone()).load() {
        Ok(all) => all.iter().filter_map(Source::warning).collect(),
        Err(e) => vec![e.to_string()],
    }
}

/// Every failing certificate source's warning: this data dir's ([`warnings`]) and store
/// Cluster's ([`cluster_warnings`]). What `status` and the portal's admin banner show.
pub fn source_warnings(dd: &DataDir) -> Vec<String> {
    let mut out = warnings(dd);
    out.extend(cluster_warnings());
    out
}

/// Starts the task; it runs until aborted.
pub fn spawn(dd: DataDir, listener: Listener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(dd, listener))
}

/// HTTP-01 and TLS-ALPN-01 answers, handed to the listener as whole maps on every change.
struct Board {
    listener: Listener,
    alpn: Mutex<HashMap<String, AlpnCert>>,
}

/// A TLS-ALPN-01 challenge certificate (DER) and its key (PKCS#8 DER).
type AlpnCert = (Vec<u8>, Vec<u8>);

impl ChallengeBoard for Board {
    fn publish(&self, token: &str, key_authorization: &str) {
        LOCAL_HTTP01
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.to_owned(), key_authorization.to_owned());
        publish_http01(&self.listener);
    }
    fn withdraw(&self, token: &str) {
        LOCAL_HTTP01
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token);
        publish_http01(&self.listener);
    }
    fn publish_tls_alpn(&self, name: &str, cert_der: &[u8], key_der: &[u8]) -> acme::Result<()> {
        let mut m = self.alpn.lock().unwrap_or_else(|p| p.into_inner());
        m.insert(name.to_owned(), (cert_der.to_vec(), key_der.to_vec()));
        self.listener
            .set_acme_tls_alpn(&m)
            .map_err(|e| acme::Error::Install(format!("the TLS-ALPN-01 certificate: {e}")))
    }
    fn withdraw_tls_alpn(&self, name: &str) {
        let mut m = self.alpn.lock().unwrap_or_else(|p| p.into_inner());
        m.remove(name);
        let _ = self.listener.set_acme_tls_alpn(&m);
    }
}

/// Installs into store My through the one import-and-rebind operation.
struct StoreInstaller(DataDir);

impl Installer for StoreInstaller {
    fn install(&self, cert: &[u8], key: &[u8], replace: Option<&str>) -> acme::Result<Installed> {
        let old = replace.and_then(|t| t.parse::<Thumbprint>().ok());
        let r = mgmt::certops::import_replace(
            &self.0,
            mgmt::certops::ImportInput::Pem {
                cert,
                key: Some(key),
            },
            StoreName::My,
            old.as_ref(),
            mgmt::certops::Unbound::Allow,
        )
        .map_err(|e| acme::Error::Install(e.to_string()))?;
        let info =
            CertStore::open(&self.0.certs_dir())?.get(StoreName::My, &r.outcome.thumbprint)?;
        Ok(Installed {
            thumbprint: r.outcome.thumbprint.to_string(),
            not_before: info.not_before,
            not_after: info.not_after,
            rebound: r.rebound.iter().map(|e| e.to_string()).collect(),
        })
    }
}

async fn run(dd: DataDir, listener: Listener) {
    let store = Arc::new(FileSources::new(dd.clone()));
    let renewer = Arc::new(Renewer {
        lock: Arc::new(LocalLock::default()),
        store: store.clone(),
        installer: Arc::new(StoreInstaller(dd.clone())),
        board: Arc::new(Board {
            listener,
            alpn: Mutex::new(HashMap::new()),
        }),
    });
    let (events_tx, mut events) = mpsc::unbounded_channel::<()>();
    let mut _watcher: Option<notify::RecommendedWatcher> = None;
    let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    // Read every pair at start: files may have changed while the server was stopped.
    let mut watch_due = Instant::now();
    loop {
        let sources = {
            let s = store.clone();
            tokio::task::spawn_blocking(move || s.load())
                .await
                .unwrap_or_else(|e| Err(acme::Error::Registry(e.to_string())))
        };
        let sources = sources.unwrap_or_else(|e| {
            tracing::warn!("certificate sources: {e}");
            Vec::new()
        });
        let dirs = watch_dirs(&sources);
        if dirs != watched {
            _watcher = make_watcher(&dirs, events_tx.clone());
            watched = dirs;
        }

        // ACME: each due source in its own task (an order takes seconds).
        let now = time::OffsetDateTime::now_utc();
        if let Ok(due) = renewer.due(now) {
            for id in due {
                if !in_flight
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id.clone())
                {
                    continue;
                }
                let (r, flight) = (renewer.clone(), in_flight.clone());
                tokio::spawn(async move {
                    let _ = r.renew_acme(&id).await;
                    flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                    // The next moment is in the registry now.
                    poke();
                });
            }
        }

        // Watched pairs.
        if Instant::now() >= watch_due {
            let ids: Vec<String> = sources
                .iter()
                .filter(|s| matches!(s.kind, SourceKind::Watch { .. }))
                .map(|s| s.id.clone())
                .collect();
            let r = renewer.clone();
            let failures = tokio::task::spawn_blocking(move || {
                ids.iter()
                    .filter_map(|id| r.check_watch(id).err().map(|_| id.clone()))
                    .count()
            })
            .await
            .unwrap_or(0);
            watch_due = if failures > 0 {
                let most = store
                    .load()
                    .map(|all| {
                        all.iter()
                            .filter(|s| matches!(s.kind, SourceKind::Watch { .. }))
                            .map(|s| s.state.failures)
                            .filter(|f| *f > 0)
                            .min()
                            .unwrap_or(1)
                    })
                    .unwrap_or(1);
                Instant::now() + acme::schedule::watch_retry(most)
            } else {
                Instant::now() + RECHECK
            };
        }

        // Sleep until the next ACME moment, the next pair check, a file event or a poke.
        let acme_wake = renewer
            .next_wake()
            .map(|t| {
                let d = t - time::OffsetDateTime::now_utc();
                Instant::now() + d.try_into().unwrap_or(Duration::ZERO)
            })
            .unwrap_or(watch_due + RECHECK);
        let wake = acme_wake.min(watch_due);
        tokio::select! {
            _ = POKE.notified() => {}
            Some(()) = events.recv() => {
                // Debounce: wait for DEBOUNCE of quiet.
                while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, events.recv()).await {}
                watch_due = Instant::now();
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

/// The directories to watch: the parent of each watched file as named (not resolved:
/// certbot's links live there) and the directory above it.
fn watch_dirs(sources: &[Source]) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::new();
    for s in sources {
        if let SourceKind::Watch { cert, key } = &s.kind {
            for f in [cert, key] {
                if let Some(p) = f.parent() {
                    dirs.insert(p.to_owned());
                    if let Some(g) = p.parent().filter(|g| !g.as_os_str().is_empty()) {
                        dirs.insert(g.to_owned());
                    }
                }
            }
        }
    }
    dirs
}

fn make_watcher(
    dirs: &BTreeSet<PathBuf>,
    tx: mpsc::UnboundedSender<()>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    if dirs.is_empty() {
        return None;
    }
    let mut w = match notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.is_ok() {
            let _ = tx.send(());
        }
    }) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(
                "cannot watch certificate files ({e}); they are re-read every {} s instead",
                RECHECK.as_secs()
            );
            return None;
        }
    };
    for d in dirs {
        if let Err(e) = w.watch(Path::new(d), notify::RecursiveMode::NonRecursive) {
            tracing::warn!(
                dir = %d.display(),
                "cannot watch the directory ({e}); its files are re-read every {} s instead",
                RECHECK.as_secs()
            );
        }
    }
    Some(w)
}

/// How often a node compares the cluster store's version with what it loaded: the backstop
/// of the change notification.
const CLUSTER_POLL: Duration = Duration::from_secs(1);

/// The cluster key as the node holds it now (swapped on join, rotation and restore).
pub type KeyOf = Arc<dyn Fn() -> Arc<datadir::sealed::ClusterKey> + Send + Sync>;

/// Starts the follower of the cluster certificate store (PostgreSQL catalogs only; on
/// SQLite the task ends at once): it loads every certificate of store Cluster, opens its
/// key with the cluster key and hands the listener the SNI index its central-store
/// bindings choose from (`Listener::set_central_store`), and the shared ACME HTTP-01
/// answers; again on every change notification (`catalog::clustercerts::CHANNEL`), after
/// each reconnect of the listener, and whenever the store's version moved (polled every
/// second, for notifications lost while disconnected). The handshake path reads only the
/// in-memory index.
pub fn spawn_cluster_store(
    dd: DataDir,
    listener: Listener,
    key: KeyOf,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some((url, store)) = open_cluster_store(&dd, "store") else {
            return;
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<()>();
        let _notify = catalog::clustercerts::spawn_listener(
            url.to_string(),
            Arc::new(move |_| {
                let _ = tx.send(());
            }),
        );
        let mut loaded: Option<(i64, i64)> = None;
        let mut refused: HashSet<String> = HashSet::new();
        loop {
            let version = store.version().await.ok();
            let key_version = key().version();
            let want = version.map(|v| (v, key_version));
            if want.is_some() && want != loaded {
                match load_cluster(&store, &listener, key(), &mut refused).await {
                    Ok(()) => loaded = want,
                    Err(e) => tracing::warn!("cluster certificate store: {e}"),
                }
            }
            tokio::select! {
                Some(()) = rx.recv() => {
                    while rx.try_recv().is_ok() {}
                    // Reload now, whatever the version says (a resync after a reconnect).
                    loaded = None;
                }
                _ = tokio::time::sleep(CLUSTER_POLL) => {}
            }
        }
    })
}

/// The cluster catalog's URL and its certificate store; `None` on a SQLite catalog, or
/// (logged as a warning about the cluster certificate `what`) when the store does not open.
fn open_cluster_store(
    dd: &DataDir,
    what: &str,
) -> Option<(
    zeroize::Zeroizing<String>,
    catalog::clustercerts::ClusterCerts,
)> {
    let url = mgmt::certops::cluster_url(dd).ok()?;
    match catalog::clustercerts::ClusterCerts::open(&url) {
        Ok(s) => Some((url, s)),
        Err(e) => {
            tracing::warn!("cluster certificate {what}: {e}");
            None
        }
    }
}

/// Loads store Cluster and the shared HTTP-01 answers into the listener.
async fn load_cluster(
    store: &catalog::clustercerts::ClusterCerts,
    listener: &Listener,
    key: Arc<datadir::sealed::ClusterKey>,
    refused: &mut HashSet<String>,
) -> Result<(), String> {
    let rows = store.list().await.map_err(|e| e.to_string())?;
    let challenges = store.challenges().await.map_err(|e| e.to_string())?;
    let opened = tokio::task::spawn_blocking(move || {
        rows.into_iter()
            .map(|r| {
                let t = r.thumbprint.clone();
                let opened = mgmt::certops::cluster_cert_of(r)
                    .map_err(|e| e.to_string())
                    .and_then(|c| {
                        certstore::cluster::certified_key(&c, key.as_ref())
                            .map(|k| httpsys::CentralCert {
                                thumbprint: c.thumbprint.to_string(),
                                names: c.names.clone(),
                                not_before: c.not_before.unix_timestamp(),
                                not_after: c.not_after.unix_timestamp(),
                                key: k,
                            })
                            .map_err(|e| e.to_string())
                    });
                (t, opened)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| e.to_string())?;
    let mut certs = Vec::with_capacity(opened.len());
    for (t, o) in opened {
        match o {
            Ok(c) => {
                refused.remove(&t);
                certs.push(c);
            }
            Err(e) => {
                if refused.insert(t.clone()) {
                    tracing::warn!(thumbprint = %t, "store Cluster certificate not served: {e}");
                }
            }
        }
    }
    let n = listener.set_central_store(certs);
    tracing::debug!(certificates = n, "store Cluster loaded");
    *CLUSTER_HTTP01.lock().unwrap_or_else(|p| p.into_inner()) = challenges.into_iter().collect();
    publish_http01(listener);
    Ok(())
}

/// HTTP-01 answers from the cluster database, merged with this node's own.
static CLUSTER_HTTP01: std::sync::LazyLock<Mutex<HashMap<String, String>>> =
    std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));
/// This node's own HTTP-01 answers (the order it runs).
static LOCAL_HTTP01: std::sync::LazyLock<Mutex<HashMap<String, String>>> =
    std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));

fn publish_http01(listener: &Listener) {
    let mut all = CLUSTER_HTTP01
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    all.extend(
        LOCAL_HTTP01
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    listener.set_acme_http01(all);
}

// ----- ACME in a cluster ----------------------------------------------------------------

/// The `status` warnings of failing cluster sources, as this node last read them.
static CLUSTER_WARNINGS: std::sync::LazyLock<Mutex<Vec<String>>> =
    std::sync::LazyLock::new(|| Mutex::new(Vec::new()));

/// The warnings of failing cluster certificate sources (empty on a single node).
pub fn cluster_warnings() -> Vec<String> {
    CLUSTER_WARNINGS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// Runs `f` (database I/O) from a synchronous seam of the renewer, on this runtime.
fn blocking<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

/// The associated data of a cluster source's sealed ACME account.
fn account_aad(id: &str) -> Vec<u8> {
    format!("cluster_cert_sources/{id}").into_bytes()
}

/// Cluster certificate sources in the database (`cluster_cert_sources`).
struct ClusterSources {
    store: catalog::clustercerts::ClusterCerts,
    key: KeyOf,
}

impl acme::renewer::SourceStore for ClusterSources {
    fn load(&self) -> acme::Result<Vec<Source>> {
        let rows = blocking(self.store.sources())
            .map_err(|e| acme::Error::Registry(format!("cluster certificate sources: {e}")))?;
        Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_str::<Source>(&r.source).ok())
            .collect())
    }
    fn update_one(&self, id: &str, f: &mut dyn FnMut(&mut Source)) -> acme::Result<bool> {
        let Some(mut s) = self.load()?.into_iter().find(|s| s.id == id) else {
            return Ok(false);
        };
        f(&mut s);
        let json = serde_json::to_string(&s).map_err(|e| acme::Error::Registry(e.to_string()))?;
        blocking(self.store.put_source(id, &json, None))
            .map_err(|e| acme::Error::Registry(format!("cluster certificate sources: {e}")))?;
        Ok(true)
    }
    fn load_account(&self, id: &str) -> acme::Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        let rows = blocking(self.store.sources())
            .map_err(|e| acme::Error::Registry(format!("cluster certificate sources: {e}")))?;
        let Some(sealed) = rows
            .into_iter()
            .find(|r| r.id == id)
            .and_then(|r| r.sealed_account)
        else {
            return Ok(None);
        };
        (self.key)()
            .open(&account_aad(id), &sealed)
            .map(Some)
            .map_err(|e| {
                acme::Error::Registry(format!(
                    "the ACME account of {id} does not open with the cluster key ({e}); remove the source and add it again"
                ))
            })
    }
    fn save_account(&self, id: &str, credentials_json: &[u8]) -> acme::Result<()> {
        let key = (self.key)();
        let sealed = key
            .seal(&account_aad(id), credentials_json)
            .map_err(|e| acme::Error::Registry(format!("sealing the ACME account: {e}")))?;
        let src = self
            .load()?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| acme::Error::Registry(format!("source {id} was removed")))?;
        let json = serde_json::to_string(&src).map_err(|e| acme::Error::Registry(e.to_string()))?;
        blocking(
            self.store
                .put_source(id, &json, Some((&sealed, key.version()))),
        )
        .map_err(|e| acme::Error::Registry(format!("cluster certificate sources: {e}")))
    }
}

/// One renewer in the cluster: the advisory lock on a dedicated connection, waited for.
struct ClusterLock(catalog::clustercerts::ClusterCerts);

#[async_trait::async_trait]
impl acme::renewer::RenewLock for ClusterLock {
    async fn lock(&self, _id: &str) -> acme::Result<Box<dyn Send + Sync>> {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            match self.0.try_renewer_lock().await {
                Ok(Some(l)) => return Ok(Box::new(Mutex::new(l))),
                Ok(None) => {}
                Err(e) => tracing::warn!("the cluster renewer lock: {e}"),
            }
            if Instant::now() >= deadline {
                return Err(acme::Error::Install(
                    "another node has held the cluster renewer lock for 10 minutes; see its log"
                        .into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Installs into store Cluster: every node serves it on its central-store bindings.
struct ClusterInstaller {
    store: catalog::clustercerts::ClusterCerts,
    key: KeyOf,
}

impl Installer for ClusterInstaller {
    fn install(&self, cert: &[u8], key: &[u8], _replace: Option<&str>) -> acme::Result<Installed> {
        let c = certstore::cluster::prepare_pem(cert, Some(key), None, (self.key)().as_ref())?;
        let row = mgmt::certops::cluster_row_of(&c);
        blocking(self.store.insert(&row))
            .map_err(|e| acme::Error::Install(format!("store Cluster: {e}")))?;
        Ok(Installed {
            thumbprint: c.thumbprint.to_string(),
            not_before: c.not_before,
            not_after: c.not_after,
            rebound: Vec::new(),
        })
    }
}

/// HTTP-01 answers through the database, so that whichever node the CA reaches answers;
/// `publish` returns (and the order sets the challenge ready) only after every node had
/// its chance to reload (the notification, at the latest its 1 s poll).
struct ClusterBoard {
    store: catalog::clustercerts::ClusterCerts,
    listener: Listener,
}

impl ChallengeBoard for ClusterBoard {
    fn publish(&self, token: &str, key_authorization: &str) {
        LOCAL_HTTP01
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.to_owned(), key_authorization.to_owned());
        publish_http01(&self.listener);
        if let Err(e) = blocking(self.store.put_challenge(token, key_authorization)) {
            tracing::warn!("sharing the HTTP-01 answer with the other nodes failed: {e}");
            return;
        }
        // The CA may ask any node as soon as the challenge is set ready: give every node
        // its reload (on the notification, or at the latest on its 1 s version poll).
        std::thread::sleep(CLUSTER_POLL + Duration::from_millis(250));
    }
    fn withdraw(&self, token: &str) {
        LOCAL_HTTP01
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token);
        publish_http01(&self.listener);
        let _ = blocking(self.store.remove_challenge(token));
    }
}

/// Starts the cluster's ACME task on this node (PostgreSQL catalogs only): every second it
/// reads the cluster sources (their failures become this node's `status` warnings) and,
/// for each one due, takes the cluster renewer lock (a session advisory lock on a dedicated
/// connection: one node renews at a time, and a node that dies loses it with its session),
/// re-reads the source and orders only if it is still due; the certificate goes to store
/// Cluster.
pub fn spawn_cluster_renewer(
    dd: DataDir,
    listener: Listener,
    key: KeyOf,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some((_, store)) = open_cluster_store(&dd, "sources") else {
            return;
        };
        let renewer = Arc::new(Renewer {
            lock: Arc::new(ClusterLock(store.clone())),
            store: Arc::new(ClusterSources {
                store: store.clone(),
                key: key.clone(),
            }),
            installer: Arc::new(ClusterInstaller {
                store: store.clone(),
                key,
            }),
            board: Arc::new(ClusterBoard {
                store: store.clone(),
                listener,
            }),
        });
        let busy = Arc::new(std::sync::atomic::AtomicBool::new(false));
        loop {
            if let Ok(rows) = store.sources().await {
                let all: Vec<Source> = rows
                    .iter()
                    .filter_map(|r| serde_json::from_str(&r.source).ok())
                    .collect();
                *CLUSTER_WARNINGS.lock().unwrap_or_else(|p| p.into_inner()) =
                    all.iter().filter_map(Source::warning).collect();
                let now = time::OffsetDateTime::now_utc();
                let due: Vec<String> = all
                    .iter()
                    .filter(|s| matches!(s.kind, SourceKind::Acme { .. }))
                    .filter(|s| s.state.force || s.state.next_attempt.is_none_or(|t| t <= now))
                    .map(|s| s.id.clone())
                    .collect();
                if !due.is_empty() && !busy.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    let (r, busy) = (renewer.clone(), busy.clone());
                    tokio::spawn(async move {
                        for id in due {
                            match r.renew_acme(&id).await {
                                Ok(acme::renewer::Outcome::Installed { thumbprint }) => {
                                    tracing::info!(source = %id, %thumbprint, "store Cluster has a new certificate");
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!(source = %id, "cluster certificate source failed: {e}")
                                }
                            }
                        }
                        busy.store(false, std::sync::atomic::Ordering::SeqCst);
                    });
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}
