//! Operations that change an instance, shared by `reportctl` and the server.
//!
//! Each operation validates, then changes the files under the data-dir lock, then has the
//! change applied: by the running server (over the management socket) before returning, or
//! at the next start. If the running server cannot apply a change (a port held by another
//! program), the files are put back as they were and applied again, so that nothing is left
//! half-done: the command fails and the instance is unchanged.

use std::net::IpAddr;

use certstore::{CertInfo, CertStore, StoreName, Thumbprint};
use datadir::DataDir;
use httpsys::repo::{BindOutcome, UnbindOutcome};
use httpsys::{Application, Endpoint, MinTls, Repository, SslBinding, TlsPolicy, UrlReservation};

use crate::protocol::{ChangeReport, Request};
use crate::{CertProblem, Client, Error, Result};

/// How a change took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The running server applied it; one report per change it made or problem it found.
    Live(Vec<ChangeReport>),
    /// No server runs; the change applies when it starts.
    Stopped,
    /// Nothing changed, so nothing was applied.
    Nothing,
}

impl Applied {
    /// A line for the user: what happened to the running server (warnings marked).
    pub fn describe(&self) -> String {
        match self {
            Applied::Live(c) if c.is_empty() => "applied to the running server".into(),
            Applied::Live(c) => {
                let lines: Vec<String> = c.iter().map(ChangeReport::to_string).collect();
                format!("applied to the running server ({})", lines.join("; "))
            }
            Applied::Stopped => "the server is stopped; the change applies when it starts".into(),
            Applied::Nothing => "nothing to apply".into(),
        }
    }
}

/// Where a committed change takes effect: the running server of the data dir.
///
/// `reportctl` reaches the server over the management socket ([`SocketApplier`]); the
/// server itself (its management API, the portal's pages) registers an in-process applier
/// with [`serve_in_process`], so that an operation it runs applies directly instead of
/// calling itself over its own socket. Operations find theirs with [`applier`].
pub trait Applier: Send + Sync {
    /// True when a server runs for the data dir (it binds new ports, not the operation).
    fn running(&self) -> bool;
    /// Has the running server re-read the data dir and apply it. `version` is the
    /// repository version just committed: a server that applied a newer one already
    /// ignores it (concurrent Applies land in order). [`Applied::Stopped`] when none runs.
    fn apply(&self, version: Option<u64>) -> Result<Applied>;
    /// Tells the running server that the catalog changed (best effort).
    fn catalog_changed(&self);
    /// [`Applier::catalog_changed`] with the audit line of the change, for a server in
    /// another process to log (one in this process logged it already).
    fn catalog_changed_by(&self, _audit: &str) {
        self.catalog_changed();
    }
}

/// The applier of `reportctl`: the management socket of the data dir.
#[derive(Debug, Clone)]
pub struct SocketApplier(pub DataDir);

impl Applier for SocketApplier {
    fn running(&self) -> bool {
        matches!(Client::connect(&self.0), Ok(Some(_)))
    }

    fn apply(&self, version: Option<u64>) -> Result<Applied> {
        match Client::connect(&self.0)? {
            None => Ok(Applied::Stopped),
            Some(mut c) => {
                let r = c.call_ok(&Request::Apply { version })?;
                Ok(Applied::Live(r.changes))
            }
        }
    }

    fn catalog_changed(&self) {
        if let Ok(Some(mut c)) = Client::connect(&self.0) {
            let _ = c.call(&Request::CatalogChanged { audit: None });
        }
    }

    fn catalog_changed_by(&self, audit: &str) {
        if let Ok(Some(mut c)) = Client::connect(&self.0) {
            let _ = c.call(&Request::CatalogChanged {
                audit: Some(audit.to_owned()),
            });
        }
    }
}

type Registered = Vec<(std::path::PathBuf, std::sync::Arc<dyn Applier>)>;

/// Appliers of the data dirs this process serves (normally one: `reportd serve`).
static IN_PROCESS: std::sync::Mutex<Registered> = std::sync::Mutex::new(Vec::new());

/// Unregisters an in-process applier when dropped (the server stops).
#[must_use = "the applier is unregistered when the guard is dropped"]
pub struct InProcessGuard(std::path::PathBuf);

impl Drop for InProcessGuard {
    fn drop(&mut self) {
        let mut list = IN_PROCESS.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|(root, _)| *root != self.0);
    }
}

/// The server of `dd` runs in this process and applies changes through `applier`.
pub fn serve_in_process(dd: &DataDir, applier: std::sync::Arc<dyn Applier>) -> InProcessGuard {
    let root = dd.root().to_path_buf();
    let mut list = IN_PROCESS.lock().unwrap_or_else(|p| p.into_inner());
    list.retain(|(r, _)| *r != root);
    list.push((root.clone(), applier));
    InProcessGuard(root)
}

/// The applier for `dd`: the in-process one when this process serves it, else the socket.
pub fn applier(dd: &DataDir) -> std::sync::Arc<dyn Applier> {
    let list = IN_PROCESS.lock().unwrap_or_else(|p| p.into_inner());
    match list.iter().find(|(root, _)| root == dd.root()) {
        Some((_, a)) => a.clone(),
        None => std::sync::Arc::new(SocketApplier(dd.clone())),
    }
}

/// Asks the running server (if any) to re-read the data dir and apply it.
pub fn apply(dd: &DataDir) -> Result<Applied> {
    applier(dd).apply(None)
}

/// Tells the running server (if any) that the catalog changed. Best effort: a server that
/// cannot be told sees the change within its cache time anyway.
pub fn catalog_changed(dd: &DataDir) {
    applier(dd).catalog_changed();
}

/// [`catalog_changed`] with the audit line of the change (what, by whom, from where).
pub fn catalog_changed_by(dd: &DataDir, audit: &str) {
    applier(dd).catalog_changed_by(audit);
}

/// True when a server answers on the management socket (or this process serves `dd`).
pub fn server_running(dd: &DataDir) -> bool {
    applier(dd).running()
}

/// Changes the binding repository with `f` and applies the result; on a failed apply the
/// old repository is restored (and applied) and the error returned. The data-dir lock is
/// held until the running server has applied the change (or it was undone): concurrent
/// changes reach the server in the order they were committed, and an undo cannot overwrite
/// a change another process made after this one. Every commit raises the repository's
/// version (the undo too), which the server uses to ignore an Apply older than what it has.
pub fn change_repository<T>(
    dd: &DataDir,
    f: impl FnOnce(&mut Repository) -> Result<T>,
) -> Result<(T, Applied)> {
    let applier = applier(dd);
    let running = applier.running();
    let _lock = dd.lock()?;
    let mut repo = Repository::load(dd)?;
    let old = repo.clone();
    let out = f(&mut repo)?;
    if repo == old {
        return Ok((out, Applied::Nothing));
    }
    if !running {
        // Nobody will bind the new ports until the server starts: check them now,
        // so that a port held by another program fails the operation, not the start.
        for port in repo.ports().keys().filter(|p| !old.ports().contains_key(p)) {
            httpsys::listener::check_port_free(*port)?;
        }
    }
    repo.version = old.version + 1;
    repo.save(dd)?;
    match applier.apply(Some(repo.version)) {
        Ok(a) => Ok((out, a)),
        Err(e) => {
            let mut back = old;
            back.version = repo.version + 1;
            back.save(dd)?;
            let _ = applier.apply(Some(back.version));
            Err(Error::Server(format!("{e}; the change was undone")))
        }
    }
}

/// Reserves `url` for `app`; `owner` (the front end) is recorded with the reservation.
pub fn reserve_url(
    dd: &DataDir,
    app: Application,
    url: &UrlReservation,
    owner: &str,
) -> Result<(bool, Applied)> {
    change_repository(dd, |r| Ok(r.reserve(app, url.clone(), owner)?))
}

/// Removes `app`'s reservation of `url`. Refused while an SSL binding of `app` depends on
/// it alone (remove the binding first), so that no binding is left without a reservation.
pub fn remove_url(dd: &DataDir, app: Application, url: &UrlReservation) -> Result<Applied> {
    change_repository(dd, |r| {
        r.remove(app, url)?;
        let orphaned = orphaned_bindings(r, app);
        if !orphaned.is_empty() {
            return Err(Error::ReservationInUse {
                app,
                url: url.clone(),
                bindings: orphaned,
            });
        }
        Ok(())
    })
    .map(|(_, a)| a)
}

/// The endpoints of `app`'s SSL bindings that no reservation of `app` covers.
fn orphaned_bindings(r: &Repository, app: Application) -> Vec<Endpoint> {
    r.ssl_bindings
        .iter()
        .filter(|b| b.apps.contains(&app) && r.covering_reservation(app, &b.endpoint).is_none())
        .map(|b| b.endpoint.clone())
        .collect()
}

/// Optional TLS policy flags (`--min-tls`, `--http2`, `--hsts`): None keeps what is there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyFlags {
    pub min_tls: Option<MinTls>,
    pub http2: Option<bool>,
    pub hsts: Option<bool>,
}

impl PolicyFlags {
    fn any(&self) -> bool {
        self.min_tls.is_some() || self.http2.is_some() || self.hsts.is_some()
    }
    /// `base` with the given flags applied; None when no flag was given.
    pub(crate) fn over(&self, base: Option<&TlsPolicy>) -> Option<TlsPolicy> {
        if !self.any() {
            return None;
        }
        let mut p = base.cloned().unwrap_or_default();
        if let Some(v) = self.min_tls {
            p.min_tls = v;
        }
        if let Some(v) = self.http2 {
            p.http2 = v;
        }
        if let Some(v) = self.hsts {
            p.hsts = v;
        }
        Some(p)
    }
}

/// The certificate checks of SSRS's CreateSSLCertificateBinding, each with its own message:
/// in store My, has a private key, usable for server authentication, and (for a
/// hostnameport) its names cover the host.
pub fn check_certificate(
    dd: &DataDir,
    thumb: &Thumbprint,
    endpoint: &Endpoint,
) -> Result<CertInfo> {
    let store = CertStore::open(&dd.certs_dir()).map_err(cert_err)?;
    let info = match store.get(StoreName::My, thumb) {
        Ok(i) => i,
        Err(_) if store.contains(StoreName::Root, thumb) => {
            return Err(cert_problem(
                CertProblem::InRootStore,
                format!(
                    "certificate {thumb} is in store Root, not My: a binding needs a server certificate with its private key in My; import it as a PFX with its key"
                ),
            ));
        }
        Err(_) => {
            return Err(cert_problem(
                CertProblem::NotFound,
                format!(
                    "no certificate with thumbprint {thumb} in store My; choose one of the certificates in My"
                ),
            ));
        }
    };
    if !info.has_private_key {
        return Err(cert_problem(
            CertProblem::NoPrivateKey,
            format!(
                "certificate {thumb} has no private key in the store; import it with its private key (a PFX, or the PEM certificate with its key)"
            ),
        ));
    }
    if !info.server_auth {
        return Err(cert_problem(
            CertProblem::NotServerAuth,
            format!(
                "certificate {thumb} is not for server authentication (its extended key usage lacks serverAuth, or it is a CA); use a server certificate"
            ),
        ));
    }
    if let Endpoint::HostnamePort(host, _) = endpoint
        && !info.covers_host(host)
    {
        return Err(cert_problem(
            CertProblem::NameMismatch,
            format!(
                "certificate {thumb} does not cover host {host} (its names: {}); use a certificate whose SAN names {host}",
                info.sans_text()
            ),
        ));
    }
    Ok(info)
}

/// Refuses an `IP:PORT` whose IP is not an address of this machine.
pub fn check_local_ip(endpoint: &Endpoint) -> Result<()> {
    let Endpoint::IpPort(ip, _) = endpoint else {
        return Ok(());
    };
    if ip.is_unspecified() || local_addresses().contains(&ip.to_canonical()) {
        return Ok(());
    }
    Err(refused(format!(
        "{ip} is not an address of this machine; use 0.0.0.0 (every address) or one of: {}",
        local_addresses()
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// The IP addresses of this machine (the WMI ListIPAddresses).
pub fn local_addresses() -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|l| l.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default();
    v.sort();
    v.dedup();
    v
}

/// `ssl bind`: validates and creates (or joins) the binding of `endpoint` for `app`.
pub fn ssl_bind(
    dd: &DataDir,
    app: Application,
    thumb: &Thumbprint,
    endpoint: &Endpoint,
    flags: &PolicyFlags,
) -> Result<(BindOutcome, Applied)> {
    check_local_ip(endpoint)?;
    change_repository(dd, |r| {
        // Under the data-dir lock, so that a concurrent `cert remove` (which checks the
        // bindings under it) cannot remove the certificate between this check and the commit.
        let info = check_certificate(dd, thumb, endpoint)?;
        let existing = r.binding(endpoint).map(|b| &b.policy);
        let mut flags = flags.clone();
        // A new binding gets HSTS unless told otherwise when browsers can keep it safely:
        // a CA-issued certificate for a real host name. Pinning `localhost`, an IP or a
        // self-signed test certificate to https for a year would outlive the test.
        if existing.is_none() && flags.hsts.is_none() {
            flags.hsts = Some(hsts_by_default(&info, endpoint));
        }
        let policy = flags.over(existing);
        Ok(r.bind_ssl(app, endpoint.clone(), &thumb.to_string(), policy)?)
    })
}

/// Whether a new binding of `info` on `endpoint` sends `Strict-Transport-Security` when
/// `--hsts` is not given: on for a certificate that is not self-signed and names a real DNS
/// host (one with a dot, not `localhost`/`*.localhost`, not an IP literal); for a
/// `HOST:PORT` binding that host decides, for `IP:PORT` the certificate's DNS names.
pub fn hsts_by_default(info: &CertInfo, endpoint: &Endpoint) -> bool {
    fn real_host(h: &str) -> bool {
        let h = h.trim_end_matches('.').to_ascii_lowercase();
        let h = h.strip_prefix("*.").unwrap_or(&h);
        h.contains('.')
            && h.parse::<IpAddr>().is_err()
            && h != "localhost"
            && !h.ends_with(".localhost")
    }
    if info.self_signed {
        return false;
    }
    match endpoint {
        Endpoint::HostnamePort(host, _) => real_host(host),
        Endpoint::IpPort(..) => info
            .sans
            .iter()
            .any(|s| matches!(s, certstore::San::Dns(d) if real_host(d))),
        // SNI chooses the certificate per connection: no one certificate decides.
        Endpoint::Ccs(_) => false,
    }
}

/// `ssl update`: replaces the certificate of the binding of `endpoint` for every
/// application that uses it (the renewal path); returns those applications.
pub fn ssl_update(
    dd: &DataDir,
    app: Application,
    thumb: &Thumbprint,
    endpoint: &Endpoint,
    flags: &PolicyFlags,
) -> Result<(Vec<Application>, Applied)> {
    change_repository(dd, |r| {
        // Under the data-dir lock (see `ssl_bind`).
        check_certificate(dd, thumb, endpoint)?;
        let policy = flags.over(r.binding(endpoint).map(|b| &b.policy));
        Ok(r.update_ssl(app, endpoint, &thumb.to_string(), policy)?)
    })
}

/// `ssl unbind`: `app` stops using the binding; it goes with its last application. Works
/// whether or not the certificate still exists.
pub fn ssl_unbind(
    dd: &DataDir,
    app: Application,
    endpoint: &Endpoint,
) -> Result<(UnbindOutcome, Applied)> {
    change_repository(dd, |r| Ok(r.unbind_ssl(app, endpoint)?))
}

/// `httpcfg delete ssl`: removes the binding of `endpoint` whoever uses it.
pub fn ssl_delete(dd: &DataDir, endpoint: &Endpoint) -> Result<(SslBinding, Applied)> {
    change_repository(dd, |r| Ok(r.delete_ssl(endpoint)?))
}

/// `cert remove`: refused while a binding uses the certificate (the error names them).
pub fn remove_certificate(dd: &DataDir, thumb: &Thumbprint, store: StoreName) -> Result<()> {
    let _lock = dd.lock()?;
    let repo = Repository::load(dd)?;
    if store == StoreName::My {
        let used: Vec<Endpoint> = repo
            .endpoints_using(&thumb.to_string())
            .into_iter()
            .cloned()
            .collect();
        if !used.is_empty() {
            return Err(Error::CertificateInUse {
                thumbprint: *thumb,
                bindings: used,
            });
        }
    }
    // Still under the data-dir lock, so no binding can appear between check and removal
    // (the store's own lock is another file: the order is always data dir, then store).
    let store_handle = CertStore::open(&dd.certs_dir()).map_err(cert_err)?;
    store_handle.remove(thumb, store).map_err(cert_err)
}

/// The state of each SSL binding: whether its certificate is still in the store.
pub fn binding_problems(dd: &DataDir, repo: &Repository) -> Vec<String> {
    let Ok(store) = CertStore::open(&dd.certs_dir()) else {
        return Vec::new();
    };
    repo.ssl_bindings
        .iter()
        // A central-store binding names no certificate of My (SNI chooses from Cluster).
        .filter(|b| !b.endpoint.is_ccs())
        .filter_map(|b| {
            let ok = b
                .thumbprint
                .parse::<Thumbprint>()
                .map(|t| store.contains(StoreName::My, &t))
                .unwrap_or(false);
            (!ok).then(|| {
                format!(
                    "SSL binding {} refers to certificate {} which is no longer in store My: it serves no handshake; delete the binding or give it another certificate",
                    b.endpoint, b.thumbprint,
                )
            })
        })
        .collect()
}

/// `explain URL`: what serves `probe` now according to the data dir (the pure choice is
/// `httpsys::explain`; this adds what store My knows about the bound certificate). When
/// the port has a central-store binding, store Cluster is read and indexed as the server
/// indexes it (`httpsys::CentralIndex`, the same `pick`), so the answer names the
/// certificate a handshake for the host gets now, or says none does.
pub fn explain(
    dd: &DataDir,
    probe: &httpsys::explain::Probe,
) -> Result<httpsys::explain::Explanation> {
    let repo = Repository::load(dd)?;
    let store = CertStore::open(&dd.certs_dir()).map_err(cert_err)?;
    let now = std::time::SystemTime::now();
    let ccs = probe.scheme == httpsys::Scheme::Https
        && repo
            .ssl_bindings
            .iter()
            .any(|b| b.endpoint.is_ccs() && b.endpoint.port() == probe.port);
    let central = if ccs {
        httpsys::CentralIndex::new(
            crate::certops::cluster_list(dd)?
                .into_iter()
                .map(ClusterEntry)
                .collect(),
        )
    } else {
        httpsys::CentralIndex::default()
    };
    let unix_now = time::OffsetDateTime::from(now).unix_timestamp();
    Ok(httpsys::explain::explain_with_central(
        &repo,
        probe,
        |thumb, host| {
            let t = thumb.parse::<Thumbprint>().ok()?;
            let info = store.get(StoreName::My, &t).ok()?;
            Some(httpsys::explain::CertFacts {
                subject: info.subject.clone(),
                names_host: info.covers_host(host),
                days_left: days_left(&info, now),
            })
        },
        |sni| {
            let c = &central.pick(sni, unix_now)?.0;
            Some((
                c.thumbprint.to_string(),
                httpsys::explain::CertFacts {
                    subject: format!("(store Cluster) DNS names {}", c.names.join(", ")),
                    names_host: true,
                    days_left: (c.not_after - time::OffsetDateTime::from(now)).whole_days(),
                },
            ))
        },
    ))
}

/// A certificate of store Cluster as the central index sees it (names and validity; its
/// key stays sealed).
struct ClusterEntry(certstore::cluster::ClusterCert);

impl httpsys::CentralEntry for ClusterEntry {
    fn names(&self) -> &[String] {
        &self.0.names
    }
    fn validity(&self) -> (i64, i64) {
        (
            self.0.not_before.unix_timestamp(),
            self.0.not_after.unix_timestamp(),
        )
    }
}

/// Whole days from `now` to the end of `info`'s validity (negative once expired).
pub fn days_left(info: &CertInfo, now: std::time::SystemTime) -> i64 {
    let now: time::OffsetDateTime = now.into();
    (info.not_after - now).whole_days()
}

/// Bound certificates expiring within this many days are warned about.
pub const EXPIRY_WARN_DAYS: i64 = 30;
/// ... and within this many, critically.
pub const EXPIRY_CRITICAL_DAYS: i64 = 7;

/// "89 days left", "expires today", "expired 3 days ago".
pub fn expiry_text(days: i64) -> String {
    match days {
        0 => "expires today".into(),
        1 => "1 day left".into(),
        d if d > 1 => format!("{d} days left"),
        -1 => "expired 1 day ago".into(),
        d => format!("expired {} days ago", -d),
    }
}

/// Every SSL binding's certificate that is in store My, with its days to expiry at `now`
/// (a missing one is [`binding_problems`]' to report).
pub fn bound_certificates(
    dd: &DataDir,
    repo: &Repository,
    now: std::time::SystemTime,
) -> Vec<crate::protocol::BoundCertificate> {
    let Ok(store) = CertStore::open(&dd.certs_dir()) else {
        return Vec::new();
    };
    repo.ssl_bindings
        .iter()
        .filter_map(|b| {
            let t: Thumbprint = b.thumbprint.parse().ok()?;
            let c = store.get(StoreName::My, &t).ok()?;
            Some(crate::protocol::BoundCertificate {
                endpoint: b.endpoint.to_string(),
                thumbprint: b.thumbprint.clone(),
                subject: c.subject.clone(),
                not_after: c
                    .not_after
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                days_to_expiry: days_left(&c, now),
            })
        })
        .collect()
}

/// A warning per bound certificate expiring within [`EXPIRY_WARN_DAYS`] (`critical: `
/// within [`EXPIRY_CRITICAL_DAYS`]).
pub fn expiry_warnings(certs: &[crate::protocol::BoundCertificate]) -> Vec<String> {
    certs
        .iter()
        .filter(|c| c.days_to_expiry <= EXPIRY_WARN_DAYS)
        .map(|c| {
            let level = if c.days_to_expiry <= EXPIRY_CRITICAL_DAYS {
                "critical: "
            } else {
                ""
            };
            format!(
                "{level}certificate {} of SSL binding {} ({}) {}; renew it and give the binding the new certificate",
                c.thumbprint,
                c.endpoint,
                c.subject,
                expiry_text(c.days_to_expiry)
            )
        })
        .collect()
}

fn cert_problem(problem: CertProblem, message: String) -> Error {
    Error::Certificate { problem, message }
}

/// Removes `app`'s reservation of `url` and, as SSRS's RemoveURL does, the SSL bindings of
/// `app` that no other reservation of it still covers (a binding shared with the other
/// application keeps serving that one). Returns the endpoints `app` stopped using.
pub fn remove_url_and_bindings(
    dd: &DataDir,
    app: Application,
    url: &UrlReservation,
) -> Result<(Vec<Endpoint>, Applied)> {
    change_repository(dd, |r| {
        r.remove(app, url)?;
        let orphaned = orphaned_bindings(r, app);
        for e in &orphaned {
            r.unbind_ssl(app, e)?;
        }
        Ok(orphaned)
    })
}

/// Changes one setting of reportd.toml and applies it.
pub fn set_setting_key(dd: &DataDir, key: datadir::SettingKey, value: &str) -> Result<Applied> {
    set_setting(dd, key.as_str(), value).map(|(_, a)| a)
}

/// Changes one setting of reportd.toml (canonical key or any case) and applies it; returns
/// the canonical key.
pub fn set_setting(dd: &DataDir, key: &str, value: &str) -> Result<(&'static str, Applied)> {
    let key = {
        let _lock = dd.lock()?;
        let mut cfg = dd.load_config()?;
        let before = cfg.settings.clone();
        let key = cfg.settings.set(key, value)?;
        if cfg.settings == before {
            return Ok((key, Applied::Nothing));
        }
        let repo = Repository::load(dd)?;
        datadir::Config::write(&dd.config_path(), &cfg.settings, &repo.repr())?;
        key
    };
    Ok((key, apply(dd)?))
}

/// Asks the running server to stop (`running` false); `Ok(false)` when none runs.
pub fn set_service_state(dd: &DataDir, running: bool) -> Result<bool> {
    match Client::connect(dd)? {
        None => Ok(false),
        Some(mut c) => {
            c.call_ok(&Request::SetServiceState { running })?;
            Ok(true)
        }
    }
}

fn refused(msg: String) -> Error {
    Error::Refused(msg)
}

fn cert_err(e: certstore::Error) -> Error {
    Error::Refused(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use certstore::San;

    fn cert(sans: &[San], self_signed: bool) -> CertInfo {
        let epoch = std::time::UNIX_EPOCH.into();
        CertInfo {
            thumbprint: "00112233445566778899AABBCCDDEEFF00112233".parse().unwrap(),
            sha256: String::new(),
            subject: "CN=test".into(),
            issuer: if self_signed { "CN=test" } else { "CN=Some CA" }.into(),
            sans: sans.to_vec(),
            not_before: epoch,
            not_after: epoch,
            key_type: "ECDSA P-256".into(),
            has_private_key: true,
            server_auth: true,
            is_ca: false,
            self_signed,
            friendly_name: None,
            store: StoreName::My,
            warnings: vec![],
        }
    }

    #[test]
    fn hsts_is_on_by_default_only_for_ca_certificates_of_real_host_names() {
        let any = |p| Endpoint::IpPort("0.0.0.0".parse().unwrap(), p);
        let host = |h: &str| Endpoint::HostnamePort(h.into(), 443);
        let real = [San::Dns("reports.example.com".into())];
        let local = [
            San::Dns("localhost".into()),
            San::Ip("127.0.0.1".parse().unwrap()),
        ];
        assert!(hsts_by_default(&cert(&real, false), &any(443)));
        assert!(hsts_by_default(
            &cert(&real, false),
            &host("reports.example.com")
        ));
        assert!(
            !hsts_by_default(&cert(&real, true), &any(443)),
            "self-signed"
        );
        assert!(
            !hsts_by_default(&cert(&local, false), &any(443)),
            "localhost/IP only"
        );
        assert!(!hsts_by_default(
            &cert(&real, false),
            &host("app.localhost")
        ));
        assert!(!hsts_by_default(&cert(&real, false), &host("127.0.0.1")));
        assert!(!hsts_by_default(
            &cert(&[San::Dns("intranet".into())], false),
            &any(443)
        ));
    }
}
