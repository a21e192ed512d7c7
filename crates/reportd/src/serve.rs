//! The server in the foreground: listener, applications, management socket, signals.
//!
//! [`run`] wires the libraries together and owns the process lifecycle: the pid file, the
//! management socket, SIGTERM/SIGINT (stop accepting, drain in-flight requests within the
//! listener's bound, exit 0). Everything it serves comes from the data dir; every change made
//! by `reportctl` arrives as an `Apply` on the management socket and is applied live.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::Context;
use datadir::DataDir;
use http_body_util::BodyExt;
use httpsys::listener::ResponseFuture;
use httpsys::{Application, Handler, Limits, Listener, Repository};
use mgmt::protocol::{Request as MgmtRequest, Response as MgmtResponse, StatusInfo};
use tokio::sync::Notify;
use tower::ServiceExt;

/// The version every surface reports (folder page footer, REST System, status).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// An axum application behind the listener's [`Handler`] interface.
struct AxumApp(axum::Router);

impl Handler for AxumApp {
    fn call(&self, req: http::Request<httpsys::RequestBody>) -> ResponseFuture {
        let router = self.0.clone();
        Box::pin(async move {
            let resp = match router.oneshot(req.map(axum::body::Body::new)).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            resp.map(|b| {
                b.map_err(|e| -> httpsys::listener::BoxError { e.into() })
                    .boxed_unsync()
            })
        })
    }
}

/// The certificate store as the listener sees it: keys are loaded when a change is
/// applied, never on a handshake.
struct StoreCerts(DataDir);

impl httpsys::tls::CertSource for StoreCerts {
    fn certified_key(&self, thumbprint: &str) -> Result<Arc<rustls::sign::CertifiedKey>, String> {
        let t: certstore::Thumbprint = thumbprint
            .parse()
            .map_err(|e: certstore::Error| e.to_string())?;
        let store = certstore::CertStore::open(&self.0.certs_dir()).map_err(|e| e.to_string())?;
        store.certified_key(&t).map_err(|e| e.to_string())
    }
}

/// The running server's shared state, as the management socket sees it.
struct Server {
    dd: DataDir,
    listener: Listener,
    apps: webapp::AppState,
    started: SystemTime,
    started_mono: Instant,
    stop: Arc<Notify>,
    /// The repository version applied last; held while applying, so applies run one at a
    /// time and an Apply older than what is applied changes nothing.
    applied: tokio::sync::Mutex<u64>,
}

impl Server {
    /// Re-reads the binding repository and settings and applies them. `version` is the
    /// repository version the caller committed: older than the applied one, nothing is done.
    async fn apply(&self, version: Option<u64>) -> anyhow::Result<Vec<httpsys::Change>> {
        let mut applied = self.applied.lock().await;
        if let Some(v) = version
            && v < *applied
        {
            return Ok(vec![httpsys::Change::info(format!(
                "repository version {v} is older than the applied version {}: nothing to do",
                *applied
            ))]);
        }
        let repo = load_repo(&self.dd).await?;
        if let Ok(cfg) = self.dd.load_config() {
            apply_limits(&self.listener, &cfg.settings);
        }
        let mut changes = self.listener.apply(&repo).await?;
        *applied = repo.version;
        self.apps.reload().await?;
        // Certificate sources (`cert acme`, `cert watch`) may have been added or removed.
        crate::renew::poke();
        if let Some(w) = drift_warning(&self.dd, &repo) {
            // Logged with the other warnings by `apply_logged`.
            changes.push(httpsys::Change::warning(w));
        }
        // A binding made to an expiring certificate is warned about at once, not a day later.
        let certs = mgmt::ops::bound_certificates(&self.dd, &repo, SystemTime::now());
        for w in mgmt::ops::expiry_warnings(&certs) {
            tracing::warn!("{w}");
        }
        Ok(changes)
    }

    /// [`Server::apply`] with the one log line of a live change: what changed, from which
    /// front end.
    async fn apply_logged(
        &self,
        version: Option<u64>,
        front_end: &str,
    ) -> anyhow::Result<Vec<mgmt::protocol::ChangeReport>> {
        match self.apply(version).await {
            Ok(changes) => {
                for c in changes.iter().filter(|c| c.is_warning()) {
                    tracing::warn!(front_end, "{}", c.text);
                }
                // The report travels typed (level + text); the client marks warnings.
                let changes: Vec<mgmt::protocol::ChangeReport> =
                    changes.iter().map(Into::into).collect();
                let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
                tracing::info!(
                    front_end,
                    who = %crate::ctl::os_user(),
                    "live change applied: {}",
                    if lines.is_empty() {
                        "settings re-read, nothing else changed".to_string()
                    } else {
                        lines.join("; ")
                    }
                );
                Ok(changes)
            }
            Err(e) => {
                tracing::warn!(front_end, "live change failed: {e:#}");
                Err(e)
            }
        }
    }

    async fn status(&self) -> StatusInfo {
        let repo = load_repo(&self.dd).await.unwrap_or_default();
        let mut warnings = Vec::new();
        if let Some(w) = drift_warning(&self.dd, &repo) {
            warnings.push(w);
        }
        warnings.extend(mgmt::ops::binding_problems(&self.dd, &repo));
        let certificates = mgmt::ops::bound_certificates(&self.dd, &repo, SystemTime::now());
        warnings.extend(mgmt::ops::expiry_warnings(&certificates));
        warnings.extend(crate::renew::source_warnings(&self.dd));
        let cfg = self.dd.load_config().ok();
        let (database, backend) = match cfg.as_ref().map(|c| c.settings.database()) {
            None | Some(Ok(None)) => (
                "not configured: run `reportctl database create`".to_string(),
                None,
            ),
            Some(Ok(Some(url))) => ("configured".to_string(), Some(url.backend().to_string())),
            Some(Err(e)) => (e.to_string(), None),
        };
        let started_at = time::OffsetDateTime::from(self.started)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        StatusInfo {
            pid: std::process::id(),
            version: VERSION.to_string(),
            started_at,
            uptime_seconds: self.started_mono.elapsed().as_secs(),
            // Ones a browser opens: `+`, `*` and 0.0.0.0 shown as localhost.
            urls: repo
                .reservations
                .iter()
                .map(|r| crate::ctl::ssl::browse_url(&r.url, repo.vdir(r.app)))
                .collect(),
            ports: self
                .listener
                .open_ports()
                .await
                .into_iter()
                .map(|(p, s)| format!("{p}/{}", s.as_str()))
                .collect(),
            database,
            database_backend: backend,
            warnings,
            certificates,
            binding_version: *self.applied.lock().await,
        }
    }
}

#[async_trait::async_trait]
impl mgmt::server::Handler for Server {
    async fn handle(&self, req: MgmtRequest) -> MgmtResponse {
        match req {
            MgmtRequest::Status => MgmtResponse {
                status: Some(self.status().await),
                ..MgmtResponse::ok()
            },
            MgmtRequest::Apply { version } => {
                // The socket is owner-only: the caller is the instance's OS user (or root).
                match self
                    .apply_logged(version, "reportctl (management socket)")
                    .await
                {
                    Ok(changes) => MgmtResponse {
                        changes,
                        ..MgmtResponse::ok()
                    },
                    Err(e) => MgmtResponse::failed(format!("{e:#}")),
                }
            }
            MgmtRequest::CatalogChanged { audit } => {
                if let Some(a) = audit {
                    // The socket is owner-only: the caller is the instance's OS user.
                    tracing::info!(
                        front_end = "reportctl (management socket)",
                        who = %crate::ctl::os_user(),
                        "catalog change: {}",
                        httpsys::logsafe::escape(&a, 1024)
                    );
                }
                self.apps.catalog_changed();
                MgmtResponse::ok()
            }
            MgmtRequest::SetServiceState { running } => {
                if !running {
                    self.stop.notify_one();
                }
                MgmtResponse::ok()
            }
            req @ (MgmtRequest::Invoke { .. } | MgmtRequest::GetProperties { .. }) => {
                mgmt::wmi::handle(&self.dd, &req)
                    .await
                    .unwrap_or_else(|| MgmtResponse::failed("not a management API call"))
            }
        }
    }
}

/// The applier of operations run inside the server: applies without the socket.
struct InProcess {
    server: Arc<Server>,
    rt: tokio::runtime::Handle,
}

impl mgmt::ops::Applier for InProcess {
    fn running(&self) -> bool {
        true
    }

    fn apply(&self, version: Option<u64>) -> mgmt::Result<mgmt::ops::Applied> {
        // Operations run on blocking threads; the apply runs on the runtime and this
        // thread waits for it.
        let (tx, rx) = std::sync::mpsc::channel();
        let server = self.server.clone();
        self.rt.spawn(async move {
            let r = server
                .apply_logged(version, "portal or management API (in process)")
                .await;
            let _ = tx.send(r.map_err(|e| format!("{e:#}")));
        });
        match rx.recv() {
            Ok(Ok(changes)) => Ok(mgmt::ops::Applied::Live(changes)),
            Ok(Err(e)) => Err(mgmt::Error::Server(e)),
            Err(_) => Err(mgmt::Error::Server(
                "the server stopped while applying the change".into(),
            )),
        }
    }

    fn catalog_changed(&self) {
        self.server.apps.catalog_changed();
    }
}

async fn load_repo(dd: &DataDir) -> anyhow::Result<Repository> {
    let dd = dd.clone();
    Ok(tokio::task::spawn_blocking(move || Repository::load(&dd)).await??)
}

/// Logs `mgmt::ops::expiry_warnings` at start and then once a day, for as long as the server runs.
async fn warn_expiry_daily(dd: DataDir) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(24 * 3600));
    loop {
        tick.tick().await;
        let dd2 = dd.clone();
        let warnings = tokio::task::spawn_blocking(move || {
            let repo = Repository::load(&dd2).unwrap_or_default();
            mgmt::ops::expiry_warnings(&mgmt::ops::bound_certificates(
                &dd2,
                &repo,
                SystemTime::now(),
            ))
        })
        .await
        .unwrap_or_default();
        for w in warnings {
            tracing::warn!("{w}");
        }
    }
}

/// The `drift` warning when reportd.toml's generated section was edited by hand.
pub fn drift_warning(dd: &DataDir, repo: &Repository) -> Option<String> {
    let cfg = dd.load_config().ok()?;
    cfg.drift(&repo.repr())
}

/// The listener's limits from the settings (`crate::limits` of datadir has their ranges).
pub fn limits_from(s: &datadir::Settings) -> Limits {
    use std::time::Duration;
    let secs = |n: u32| Duration::from_secs(u64::from(n));
    Limits {
        tls_handshake_timeout: secs(s.tls_handshake_timeout_seconds),
        header_read_timeout: secs(s.header_timeout_seconds),
        keep_alive_timeout: secs(s.keep_alive_timeout_seconds),
        h2_idle_timeout: secs(s.http2_idle_timeout_seconds),
        body_read_timeout: secs(s.body_read_timeout_seconds),
        min_body_rate: s.min_body_rate_bytes_per_second,
        send_timeout: secs(s.send_timeout_seconds),
        max_connection_age: secs(s.max_connection_age_seconds),
        max_connections: s.max_connections as usize,
        max_connections_per_ip: s.max_connections_per_ip as usize,
        h2_max_concurrent_streams: s.http2_max_concurrent_streams,
        h2_stream_send_buffer: s.http2_stream_buffer_kb as usize * 1024,
        h2_max_control_frames_per_second: s.http2_max_control_frames_per_second,
        ..Limits::default()
    }
}

/// Applies the connection limits and log rotation of `s` to the running server: new
/// connections get the new limits; the log rotates by the new size from its next line.
fn apply_limits(listener: &Listener, s: &datadir::Settings) {
    listener.set_limits(limits_from(s));
    crate::logfile::LogSink::set_rotation(
        u64::from(s.log_max_size_mb) * 1024 * 1024,
        s.log_max_files,
    );
}

/// Takes the listening sockets a service manager passed (systemd socket activation:
/// `LISTEN_FDS` sockets from fd 3, `LISTEN_PID` naming this process when set,
/// `LISTEN_FDNAMES` for the log) and hands them to the listener, which serves each on the
/// reservation naming its port instead of binding the port itself. Call first in `main`,
/// before other threads exist: it removes the variables from the environment so that no
/// child process takes them for its own. Returns a line per socket for the log.
pub fn take_inherited_sockets() -> anyhow::Result<Vec<String>> {
    let names: Vec<String> = std::env::var("LISTEN_FDNAMES")
        .map(|v| v.split(':').map(str::to_owned).collect())
        .unwrap_or_default();
    let mut fds = listenfd::ListenFd::from_env();
    let mut lines = Vec::new();
    for i in 0..fds.len() {
        let socket = fds
            .take_tcp_listener(i)
            .with_context(|| format!("LISTEN_FDS: socket {} (fd {})", i + 1, i + 3))?
            .with_context(|| format!("LISTEN_FDS: fd {} was already taken", i + 3))?;
        let addr = socket.local_addr()?;
        let port = httpsys::listener::inherit(socket)?;
        let name = names.get(i).map(String::as_str).unwrap_or("");
        lines.push(format!(
            "inherited listening socket {addr}{} for port {port}: it serves a reservation naming that port",
            if name.is_empty() {
                String::new()
            } else {
                format!(" ({name})")
            }
        ));
    }
    Ok(lines)
}

/// Removes the pid file when the server exits (normally or by error).
struct PidFile(std::path::PathBuf);

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Serves the data dir until SIGTERM/SIGINT or a management stop request.
/// `banner` lines are printed to stdout once the server listens (quickstart's URLs).
pub async fn run(dd: DataDir, banner: Vec<String>) -> anyhow::Result<()> {
    run_reporting(dd, banner, None).await
}

/// [`run`], setting `serving` once the server listens (before the banner is printed), so
/// that a caller can tell a failed start from a failure later.
pub async fn run_reporting(
    dd: DataDir,
    banner: Vec<String>,
    serving: Option<&std::sync::atomic::AtomicBool>,
) -> anyhow::Result<()> {
    dd.require_initialized()?;
    let socket_path = dd.socket_path()?;
    // The management socket doubles as the "already running" check.
    let mgmt_listener = mgmt::server::bind(&socket_path).context("cannot start")?;
    datadir::atomic_write(
        &dd.pid_path(),
        format!("{}\n", std::process::id()).as_bytes(),
        0o644,
    )?;
    let _pid = PidFile(dd.pid_path());

    // The cluster node table (PostgreSQL catalogs): a copied data dir is refused here,
    // before anything is served.
    let urls = load_repo(&dd)
        .await?
        .reservations
        .iter()
        .map(|r| r.url.to_string())
        .collect();
    let membership = crate::ctl::cluster::join_at_start(&dd, urls, VERSION).await?;
    let apps = webapp::AppState::new(dd.clone(), VERSION)?;
    if let Some(m) = &membership {
        m.attach(apps.clone());
    }
    if let Err(e) = apps.reload().await {
        tracing::warn!("report server database: {e}");
    }
    let mut handlers: HashMap<Application, Arc<dyn Handler>> = HashMap::new();
    handlers.insert(
        Application::WebService,
        Arc::new(AxumApp(webapp::webservice(apps.clone()))),
    );
    handlers.insert(
        Application::Portal,
        Arc::new(AxumApp(webapp::portal(apps.clone()))),
    );
    let certs: Arc<dyn httpsys::tls::CertSource> = Arc::new(StoreCerts(dd.clone()));
    let limits = match dd.load_config() {
        Ok(cfg) => limits_from(&cfg.settings),
        Err(_) => Limits::default(),
    };
    let listener = Listener::new(handlers, limits, certs);
    let repo = load_repo(&dd).await?;
    for c in listener.apply(&repo).await? {
        match c.level {
            httpsys::ChangeLevel::Info => tracing::info!("{}", c.text),
            httpsys::ChangeLevel::Warning => tracing::warn!("{}", c.text),
        }
    }
    if let Some(w) = drift_warning(&dd, &repo) {
        tracing::warn!("{w}");
    }
    for r in &repo.reservations {
        let url = crate::ctl::ssl::browse_url(&r.url, repo.vdir(r.app));
        tracing::info!(application = r.app.ssrs_name(), reservation = %r.url, "serving {url}");
    }

    let stop = Arc::new(Notify::new());
    let server = Arc::new(Server {
        dd: dd.clone(),
        listener: listener.clone(),
        apps,
        started: SystemTime::now(),
        started_mono: Instant::now(),
        stop: stop.clone(),
        applied: tokio::sync::Mutex::new(repo.version),
    });
    // Operations this process runs (the management API, the portal) apply in process.
    let _in_process = mgmt::ops::serve_in_process(
        &dd,
        Arc::new(InProcess {
            server: server.clone(),
            rt: tokio::runtime::Handle::current(),
        }),
    );
    // The portal's configuration pages call the management handler in process.
    server.apps.set_management(server.clone());
    // The admin banner shows the failing certificate sources as `status` does.
    let sources_dd = dd.clone();
    server
        .apps
        .set_source_warnings(Arc::new(move || crate::renew::source_warnings(&sources_dd)));
    if let Some(m) = &membership {
        m.report_status(server.clone());
    }
    let expiry_task = tokio::spawn(warn_expiry_daily(dd.clone()));
    // ACME renewals and watched certificate files (`reportctl cert acme|watch`).
    let renew_task = crate::renew::spawn(dd.clone(), listener.clone());
    // Store Cluster for the central-store bindings, and ACME in the cluster (PostgreSQL
    // catalogs).
    let key_of: crate::renew::KeyOf = {
        let apps = server.apps.clone();
        Arc::new(move || apps.cluster_key())
    };
    let cluster_store_task =
        crate::renew::spawn_cluster_store(dd.clone(), listener.clone(), key_of.clone());
    let cluster_renew_task =
        crate::renew::spawn_cluster_renewer(dd.clone(), listener.clone(), key_of);
    let mgmt_task = tokio::spawn(mgmt::server::serve(
        mgmt_listener,
        socket_path.clone(),
        server.clone(),
    ));
    tracing::info!(pid = std::process::id(), data_dir = %dd.root().display(), "reportd {VERSION} started");
    if let Some(s) = serving {
        s.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    for line in banner {
        println!("{line}");
    }

    wait_for_stop(&stop).await;
    tracing::info!("stopping: no new connections; draining requests in flight");
    mgmt_task.abort();
    expiry_task.abort();
    renew_task.abort();
    cluster_store_task.abort();
    cluster_renew_task.abort();
    if let Some(m) = membership {
        m.leave().await;
    }
    let _ = std::fs::remove_file(&socket_path);
    listener.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_stop(stop: &Notify) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot install SIGTERM handler: {e}");
            return stop.notified().await;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        _ = stop.notified() => tracing::info!("stop requested over the management socket"),
    }
}
