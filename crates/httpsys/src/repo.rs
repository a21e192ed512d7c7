//! The binding repository (the HTTP.sys analogue): virtual directories, URL reservations and
//! SSL bindings, persisted as `bindings.json` in the data dir.
//!
//! This is the truth about what the server listens on. `reportd.toml`'s URLReservations
//! section is regenerated from it by [`Repository::save`] and never read back.
//! Changes go through [`update`], which holds the data-dir lock across load, change and save,
//! so concurrent `reportctl` processes serialize and a crash leaves the old or the new file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::str::FromStr;

use datadir::config::ApplicationRepr;
use datadir::{Config, DataDir, UrlReservationsRepr};
use serde::{Deserialize, Serialize};

use crate::reservation::{Scheme, UrlReservation, VirtualDirectory, parse_host};
use crate::{Application, Error, HostSpec, Result};

/// Format version of `bindings.json`; bumped on incompatible changes.
const FORMAT_VERSION: u32 = 1;

/// One URL reservation of one application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub app: Application,
    pub url: UrlReservation,
    /// Who made it (`reportctl`, `quickstart`, `init`...), shown by `url list`.
    #[serde(default)]
    pub owner: String,
}

/// The endpoint of an SSL binding, as HTTP.sys keys them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `IP:PORT`; `0.0.0.0:PORT` means every address.
    IpPort(IpAddr, u16),
    /// `HOST:PORT`, chosen by SNI.
    HostnamePort(String, u16),
    /// `ccs:PORT` (HTTP.sys's Central Certificate Store binding): the certificate is chosen
    /// per connection by SNI from the cluster certificate store; no thumbprint is bound.
    Ccs(u16),
}

impl Endpoint {
    pub fn port(&self) -> u16 {
        match self {
            Endpoint::IpPort(_, p) | Endpoint::HostnamePort(_, p) | Endpoint::Ccs(p) => *p,
        }
    }

    /// Parses the port of a central-store binding: `PORT` (or `ccs:PORT`).
    pub fn parse_ccs(s: &str) -> Result<Endpoint> {
        let t = s.trim();
        let t = t.strip_prefix("ccs:").unwrap_or(t);
        match t.parse::<u16>() {
            Ok(p) if p != 0 => Ok(Endpoint::Ccs(p)),
            _ => Err(Error::InvalidEndpoint(format!(
                "invalid --ccs {s:?}; write the https port the central certificate store serves, e.g. 443"
            ))),
        }
    }

    /// True for a central-store (`ccs:PORT`) binding.
    pub fn is_ccs(&self) -> bool {
        matches!(self, Endpoint::Ccs(_))
    }

    /// Parses `IP:PORT` (`[v6]:PORT` for IPv6).
    pub fn parse_ipport(s: &str) -> Result<Endpoint> {
        let bad = || {
            Error::InvalidEndpoint(format!(
                "invalid IP:PORT endpoint {s:?}; write IP:PORT, e.g. 0.0.0.0:443 or [::1]:8443"
            ))
        };
        let (h, p) = split_endpoint(s).ok_or_else(bad)?;
        let ip: IpAddr = h.parse().map_err(|_| bad())?;
        Ok(Endpoint::IpPort(ip, p))
    }

    /// Parses `HOST:PORT` with a DNS host name.
    pub fn parse_hostnameport(s: &str) -> Result<Endpoint> {
        let bad = || {
            Error::InvalidEndpoint(format!(
                "invalid HOST:PORT endpoint {s:?}; write HOST:PORT with a DNS name, e.g. reports.example.com:443"
            ))
        };
        let (h, p) = split_endpoint(s).ok_or_else(bad)?;
        match parse_host(h) {
            Some(HostSpec::Name(n)) => Ok(Endpoint::HostnamePort(n, p)),
            _ => Err(bad()),
        }
    }
}

fn split_endpoint(s: &str) -> Option<(&str, u16)> {
    let s = s.trim();
    let (h, p) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        (h, after.strip_prefix(':')?)
    } else {
        s.rsplit_once(':')?
    };
    let port = p.parse::<u16>().ok().filter(|p| *p != 0)?;
    Some((h, port))
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::IpPort(IpAddr::V6(ip), p) => write!(f, "[{ip}]:{p}"),
            Endpoint::IpPort(ip, p) => write!(f, "{ip}:{p}"),
            Endpoint::HostnamePort(h, p) => write!(f, "{h}:{p}"),
            Endpoint::Ccs(p) => write!(f, "ccs:{p}"),
        }
    }
}

/// Stored as `{"ipport": "0.0.0.0:443"}`, `{"hostnameport": "host:443"}` or `{"ccs": "443"}`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum EndpointRepr {
    Ipport(String),
    Hostnameport(String),
    Ccs(String),
}

impl Serialize for Endpoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Endpoint::IpPort(..) => EndpointRepr::Ipport(self.to_string()),
            Endpoint::HostnamePort(..) => EndpointRepr::Hostnameport(self.to_string()),
            Endpoint::Ccs(p) => EndpointRepr::Ccs(p.to_string()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match EndpointRepr::deserialize(d)? {
            EndpointRepr::Ipport(s) => Endpoint::parse_ipport(&s),
            EndpointRepr::Hostnameport(s) => Endpoint::parse_hostnameport(&s),
            EndpointRepr::Ccs(s) => Endpoint::parse_ccs(&s),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// Lowest TLS version a binding accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MinTls {
    #[default]
    #[serde(rename = "1.2")]
    Tls12,
    #[serde(rename = "1.3")]
    Tls13,
}

impl FromStr for MinTls {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "1.2" => Ok(MinTls::Tls12),
            "1.3" => Ok(MinTls::Tls13),
            other => Err(Error::InvalidPolicy(format!(
                "the minimum TLS version must be 1.2 or 1.3, not {other:?}"
            ))),
        }
    }
}

/// Per-binding TLS policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsPolicy {
    pub min_tls: MinTls,
    pub http2: bool,
    pub hsts: bool,
}

impl Default for TlsPolicy {
    fn default() -> Self {
        TlsPolicy {
            min_tls: MinTls::Tls12,
            http2: true,
            hsts: false,
        }
    }
}

/// An SSL binding: an endpoint, the certificate bound to it, and the applications using it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SslBinding {
    pub endpoint: Endpoint,
    /// Thumbprint (40 upper-case hex digits) of a certificate in `store`; empty for a
    /// central-store binding (`ccs:PORT`, store `Cluster`), whose certificate SNI chooses.
    pub thumbprint: String,
    pub store: String,
    pub apps: BTreeSet<Application>,
    #[serde(default)]
    pub policy: TlsPolicy,
}

/// The whole repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    pub format: u32,
    /// Raised by every committed change (`mgmt::ops::change_repository`, [`update`]): the
    /// running server applies a version once and ignores an Apply older than the one it has.
    #[serde(default)]
    pub version: u64,
    /// Virtual directory of each application.
    pub vdirs: BTreeMap<Application, VirtualDirectory>,
    pub reservations: Vec<Reservation>,
    #[serde(default)]
    pub ssl_bindings: Vec<SslBinding>,
}

impl Default for Repository {
    fn default() -> Self {
        let vdirs = Application::ALL
            .into_iter()
            .map(|a| {
                let v = VirtualDirectory::from_str(a.default_vdir())
                    .expect("default virtual directories are valid");
                (a, v)
            })
            .collect();
        Repository {
            format: FORMAT_VERSION,
            version: 0,
            vdirs,
            reservations: Vec::new(),
            ssl_bindings: Vec::new(),
        }
    }
}

impl Repository {
    /// Reads `bindings.json`; a missing file is an empty repository with default vdirs.
    pub fn load(dd: &DataDir) -> Result<Repository> {
        let path = dd.bindings_path();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let repo: Repository = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::Corrupt(format!(
                        "{}: {e}; restore it from backup, or delete it and reserve the URLs again",
                        path.display()
                    ))
                })?;
                if repo.format > FORMAT_VERSION {
                    return Err(Error::Corrupt(format!(
                        "{} has format {} but this reportd reads format {FORMAT_VERSION}; upgrade reportd",
                        path.display(),
                        repo.format
                    )));
                }
                Ok(repo)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Repository::default()),
            Err(e) => Err(Error::Io(format!("{}: {e}", path.display()))),
        }
    }

    /// Writes `bindings.json` atomically, then regenerates the URLReservations section of
    /// `reportd.toml` (settings untouched). The caller holds the data-dir lock.
    pub fn save(&self, dd: &DataDir) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("repository serializes");
        bytes.push(b'\n');
        datadir::atomic_write(&dd.bindings_path(), &bytes, 0o600)?;
        if dd.is_initialized() {
            let cfg = dd.load_config()?;
            Config::write(&dd.config_path(), &cfg.settings, &self.repr())?;
        }
        Ok(())
    }

    /// The virtual directory of `app`.
    pub fn vdir(&self, app: Application) -> &str {
        self.vdirs
            .get(&app)
            .map(|v| v.as_str())
            .unwrap_or(app.default_vdir())
    }

    /// The reservations of `app`.
    pub fn reservations_of(&self, app: Application) -> impl Iterator<Item = &UrlReservation> {
        self.reservations
            .iter()
            .filter(move |r| r.app == app)
            .map(|r| &r.url)
    }

    /// Full URLs (`http://+:8080/ReportServer`) of every reservation, for `url list`.
    pub fn full_urls(&self) -> Vec<(Application, String)> {
        self.reservations
            .iter()
            .map(|r| (r.app, format!("{}/{}", r.url, self.vdir(r.app))))
            .collect()
    }

    /// Reserves `url` for `app`. Returns false when it was already reserved (a no-op).
    pub fn reserve(&mut self, app: Application, url: UrlReservation, owner: &str) -> Result<bool> {
        if self
            .reservations
            .iter()
            .any(|r| r.app == app && r.url == url)
        {
            return Ok(false);
        }
        for r in &self.reservations {
            if r.url.port == url.port && r.url.scheme != url.scheme {
                return Err(Error::Conflict(format!(
                    "port {} already serves {} ({} for {}); one port serves one scheme: choose another port",
                    url.port,
                    r.url.scheme.as_str(),
                    r.url,
                    r.app
                )));
            }
            if r.url == url && self.vdir(r.app).eq_ignore_ascii_case(self.vdir(app)) {
                return Err(Error::Conflict(format!(
                    "{}/{} is already reserved by {} ({}); choose another URL or virtual directory",
                    url,
                    self.vdir(app),
                    r.app.ssrs_name(),
                    r.app
                )));
            }
        }
        self.reservations.push(Reservation {
            app,
            url,
            owner: owner.to_owned(),
        });
        Ok(true)
    }

    /// Removes `app`'s reservation of `url`.
    pub fn remove(&mut self, app: Application, url: &UrlReservation) -> Result<()> {
        let before = self.reservations.len();
        self.reservations
            .retain(|r| !(r.app == app && &r.url == url));
        if self.reservations.len() == before {
            return Err(Error::NoReservation {
                app,
                url: url.clone(),
            });
        }
        Ok(())
    }

    /// Moves `app` to virtual directory `vdir` (its reservations follow). Refused when the
    /// other application uses the same vdir on a shared reservation.
    pub fn set_vdir(&mut self, app: Application, vdir: VirtualDirectory) -> Result<bool> {
        if self.vdir(app) == vdir.as_str() {
            return Ok(false);
        }
        for other in Application::ALL.into_iter().filter(|a| *a != app) {
            if self.vdir(other).eq_ignore_ascii_case(vdir.as_str()) {
                let shared = self
                    .reservations_of(app)
                    .find(|u| self.reservations_of(other).any(|o| o == *u));
                if let Some(u) = shared {
                    return Err(Error::Conflict(format!(
                        "{u}/{vdir} is already used by {}; choose another virtual directory",
                        other.ssrs_name()
                    )));
                }
            }
        }
        self.vdirs.insert(app, vdir);
        Ok(true)
    }

    /// The ports the server listens on, with their scheme.
    pub fn ports(&self) -> BTreeMap<u16, Scheme> {
        self.reservations
            .iter()
            .map(|r| (r.url.port, r.url.scheme))
            .collect()
    }

    /// The generated URLReservations representation for `reportd.toml`.
    pub fn repr(&self) -> UrlReservationsRepr {
        UrlReservationsRepr {
            applications: Application::ALL
                .into_iter()
                .map(|a| ApplicationRepr {
                    name: a.ssrs_name().to_owned(),
                    virtual_directory: self.vdir(a).to_owned(),
                    urls: self.reservations_of(a).map(|u| u.to_string()).collect(),
                })
                .collect(),
        }
    }
}

/// What `bind_ssl` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindOutcome {
    /// A new binding for the endpoint.
    Created,
    /// The endpoint was bound to this certificate already; the application now uses it too
    /// (or its policy changed).
    Updated,
    /// Same certificate, same endpoint, same application, same policy: nothing to do.
    Unchanged,
}

/// What `unbind_ssl` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnbindOutcome {
    /// The application no longer uses the binding; other applications still do.
    AppRemoved(Vec<Application>),
    /// The last application stopped using it: the binding is gone.
    BindingRemoved,
}

impl Repository {
    /// The https reservation of `app` that `endpoint` serves, if any: an SSL binding must
    /// be for a URL the application reserved (SSRS refuses others).
    pub fn covering_reservation(
        &self,
        app: Application,
        endpoint: &Endpoint,
    ) -> Option<&UrlReservation> {
        self.reservations_of(app).find(|u| {
            u.scheme == Scheme::Https
                && u.port == endpoint.port()
                && match (endpoint, &u.host) {
                    (Endpoint::IpPort(ip, _), HostSpec::Ip(rip)) => {
                        ip.is_unspecified() || rip.is_unspecified() || ip == rip
                    }
                    (Endpoint::IpPort(..), _) => true,
                    (Endpoint::HostnamePort(h, _), HostSpec::Name(n)) => h == n,
                    (Endpoint::HostnamePort(..), HostSpec::Ip(rip)) => rip.is_unspecified(),
                    (Endpoint::HostnamePort(..), _) => true,
                    // Any https reservation of the port: the host comes from SNI.
                    (Endpoint::Ccs(_), _) => true,
                }
        })
    }

    /// The binding of `endpoint`.
    pub fn binding(&self, endpoint: &Endpoint) -> Option<&SslBinding> {
        self.ssl_bindings.iter().find(|b| &b.endpoint == endpoint)
    }

    /// Endpoints bound to the certificate `thumbprint`.
    pub fn endpoints_using(&self, thumbprint: &str) -> Vec<&Endpoint> {
        self.ssl_bindings
            .iter()
            .filter(|b| b.thumbprint.eq_ignore_ascii_case(thumbprint))
            .map(|b| &b.endpoint)
            .collect()
    }

    /// Binds `thumbprint` to `endpoint` for `app`. Checks, in SSRS's order after the
    /// certificate checks (done by the caller): a reservation of `app` covers the endpoint;
    /// the endpoint is not bound to another certificate (that is `ssl update`'s job).
    /// `policy` None keeps an existing binding's policy (or the default for a new one).
    pub fn bind_ssl(
        &mut self,
        app: Application,
        endpoint: Endpoint,
        thumbprint: &str,
        policy: Option<TlsPolicy>,
    ) -> Result<BindOutcome> {
        if self.covering_reservation(app, &endpoint).is_none() {
            return Err(Error::NotReservedFor { app, endpoint });
        }
        match self
            .ssl_bindings
            .iter_mut()
            .find(|b| b.endpoint == endpoint)
        {
            Some(b) if !b.thumbprint.eq_ignore_ascii_case(thumbprint) => Err(Error::AlreadyBound {
                app,
                bound: b.thumbprint.clone(),
                wanted: thumbprint.to_owned(),
                endpoint,
            }),
            Some(b) => {
                let mut changed = b.apps.insert(app);
                if let Some(p) = policy
                    && p != b.policy
                {
                    b.policy = p;
                    changed = true;
                }
                Ok(if changed {
                    BindOutcome::Updated
                } else {
                    BindOutcome::Unchanged
                })
            }
            None => {
                let store = if endpoint.is_ccs() { "Cluster" } else { "My" };
                self.ssl_bindings.push(SslBinding {
                    endpoint,
                    thumbprint: thumbprint.to_owned(),
                    store: store.into(),
                    apps: [app].into_iter().collect(),
                    policy: policy.unwrap_or_default(),
                });
                Ok(BindOutcome::Created)
            }
        }
    }

    /// Replaces the certificate (and, if given, the policy) of the binding of `endpoint`
    /// for every application that uses it; returns those applications.
    pub fn update_ssl(
        &mut self,
        app: Application,
        endpoint: &Endpoint,
        thumbprint: &str,
        policy: Option<TlsPolicy>,
    ) -> Result<Vec<Application>> {
        let b = self
            .ssl_bindings
            .iter_mut()
            .find(|b| &b.endpoint == endpoint)
            .ok_or_else(|| Error::NothingToUpdate {
                app,
                endpoint: endpoint.clone(),
                wanted: thumbprint.to_owned(),
            })?;
        if !b.apps.contains(&app) {
            return Err(Error::NotBoundFor {
                app,
                endpoint: endpoint.clone(),
                bound_for: app_names(&b.apps),
            });
        }
        b.thumbprint = thumbprint.to_owned();
        if let Some(p) = policy {
            b.policy = p;
        }
        Ok(b.apps.iter().copied().collect())
    }

    /// Removes `app`'s use of the binding of `endpoint`; the binding goes with its last user.
    pub fn unbind_ssl(&mut self, app: Application, endpoint: &Endpoint) -> Result<UnbindOutcome> {
        let idx = self
            .ssl_bindings
            .iter()
            .position(|b| &b.endpoint == endpoint && b.apps.contains(&app))
            .ok_or_else(|| Error::AppNotBound {
                app,
                endpoint: endpoint.clone(),
            })?;
        let b = &mut self.ssl_bindings[idx];
        b.apps.remove(&app);
        if b.apps.is_empty() {
            self.ssl_bindings.remove(idx);
            Ok(UnbindOutcome::BindingRemoved)
        } else {
            Ok(UnbindOutcome::AppRemoved(b.apps.iter().copied().collect()))
        }
    }

    /// Deletes the binding of `endpoint` whatever uses it (`httpcfg delete ssl`): works even
    /// when its certificate is gone.
    pub fn delete_ssl(&mut self, endpoint: &Endpoint) -> Result<SslBinding> {
        let idx = self
            .ssl_bindings
            .iter()
            .position(|b| &b.endpoint == endpoint)
            .ok_or_else(|| Error::NoBinding {
                endpoint: endpoint.clone(),
            })?;
        Ok(self.ssl_bindings.remove(idx))
    }
}

/// The reportctl flag that names `endpoint`.
pub fn endpoint_flag(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::IpPort(..) => format!("--ipport {endpoint}"),
        Endpoint::HostnamePort(..) => format!("--hostnameport {endpoint}"),
        Endpoint::Ccs(p) => format!("--ccs {p}"),
    }
}

fn app_names(apps: &BTreeSet<Application>) -> String {
    apps.iter()
        .map(|a| a.ssrs_name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Load, change and save the repository under the data-dir lock. `f` returns whether it
/// changed anything; nothing is written when it did not (or when it failed).
pub fn update<T>(dd: &DataDir, f: impl FnOnce(&mut Repository) -> Result<(T, bool)>) -> Result<T> {
    let _lock = dd.lock()?;
    let mut repo = Repository::load(dd)?;
    let (out, changed) = f(&mut repo)?;
    if changed {
        repo.version += 1;
        repo.save(dd)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> UrlReservation {
        s.parse().unwrap()
    }

    #[test]
    fn both_apps_share_a_reservation_but_not_a_full_url() {
        let mut r = Repository::default();
        assert!(
            r.reserve(Application::WebService, u("http://+:8080"), "t")
                .unwrap()
        );
        assert!(
            r.reserve(Application::Portal, u("http://+:8080"), "t")
                .unwrap()
        );
        assert!(
            !r.reserve(Application::Portal, u("http://+:8080"), "t")
                .unwrap(),
            "idempotent"
        );
        let e = r
            .set_vdir(Application::Portal, "reportserver".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("ReportServerWebService"), "{e}");
    }

    #[test]
    fn one_scheme_per_port() {
        let mut r = Repository::default();
        r.reserve(Application::WebService, u("http://+:8443"), "t")
            .unwrap();
        let e = r
            .reserve(Application::Portal, u("https://+:8443"), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("port 8443"), "{e}");
    }

    #[test]
    fn endpoints_parse_and_print() {
        assert_eq!(
            Endpoint::parse_ipport("0.0.0.0:443").unwrap().to_string(),
            "0.0.0.0:443"
        );
        assert_eq!(
            Endpoint::parse_ipport("[::1]:8443").unwrap().to_string(),
            "[::1]:8443"
        );
        assert_eq!(
            Endpoint::parse_hostnameport("Reports.Example.com:443")
                .unwrap()
                .to_string(),
            "reports.example.com:443"
        );
        assert!(Endpoint::parse_ipport("host:443").is_err());
        assert!(Endpoint::parse_hostnameport("1.2.3.4:443").is_err());
        assert!(Endpoint::parse_ipport("0.0.0.0").is_err());
        let ccs = Endpoint::parse_ccs("443").unwrap();
        assert_eq!(ccs.to_string(), "ccs:443");
        assert_eq!(Endpoint::parse_ccs("ccs:8443").unwrap().port(), 8443);
        assert!(Endpoint::parse_ccs("0").is_err() && Endpoint::parse_ccs("host:443").is_err());
        let json = serde_json::to_string(&ccs).unwrap();
        assert_eq!(json, r#"{"ccs":"443"}"#);
        assert_eq!(serde_json::from_str::<Endpoint>(&json).unwrap(), ccs);
    }

    #[test]
    fn repository_roundtrips_through_json() {
        let mut r = Repository::default();
        r.reserve(
            Application::WebService,
            u("https://reports.example.com:443"),
            "t",
        )
        .unwrap();
        r.ssl_bindings.push(SslBinding {
            endpoint: Endpoint::parse_hostnameport("reports.example.com:443").unwrap(),
            thumbprint: "AB".repeat(20),
            store: "My".into(),
            apps: [Application::WebService].into_iter().collect(),
            policy: TlsPolicy::default(),
        });
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Repository>(&json).unwrap(), r);
    }

    fn https_repo() -> Repository {
        let mut r = Repository::default();
        r.reserve(Application::WebService, u("https://+:8443"), "t")
            .unwrap();
        r.reserve(
            Application::Portal,
            u("https://reports.example.com:8443"),
            "t",
        )
        .unwrap();
        r
    }

    #[test]
    fn ssl_bind_checks_coverage_and_conflicts() {
        let mut r = https_repo();
        let any = Endpoint::parse_ipport("0.0.0.0:8443").unwrap();
        let t1 = "A".repeat(40);
        let t2 = "B".repeat(40);
        assert_eq!(
            r.bind_ssl(Application::WebService, any.clone(), &t1, None)
                .unwrap(),
            BindOutcome::Created
        );
        assert_eq!(
            r.bind_ssl(Application::WebService, any.clone(), &t1, None)
                .unwrap(),
            BindOutcome::Unchanged
        );
        assert_eq!(
            r.bind_ssl(Application::Portal, any.clone(), &t1, None)
                .unwrap(),
            BindOutcome::Updated
        );
        let e = r
            .bind_ssl(Application::WebService, any.clone(), &t2, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("replace the certificate of that binding") && e.contains(&t1),
            "{e}"
        );
        let other_port = Endpoint::parse_ipport("0.0.0.0:9443").unwrap();
        let e = r
            .bind_ssl(Application::WebService, other_port, &t1, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("reserve an https URL of port 9443"), "{e}");
        let wrong_host = Endpoint::parse_hostnameport("other.example.com:8443").unwrap();
        assert!(
            r.bind_ssl(Application::Portal, wrong_host, &t1, None)
                .is_err()
        );
        assert_eq!(r.endpoints_using(&t1.to_lowercase()).len(), 1);
    }

    #[test]
    fn ssl_update_and_unbind_keep_other_apps() {
        let mut r = https_repo();
        let any = Endpoint::parse_ipport("0.0.0.0:8443").unwrap();
        let t1 = "A".repeat(40);
        r.bind_ssl(Application::WebService, any.clone(), &t1, None)
            .unwrap();
        r.bind_ssl(Application::Portal, any.clone(), &t1, None)
            .unwrap();
        let apps = r
            .update_ssl(Application::Portal, &any, &"C".repeat(40), None)
            .unwrap();
        assert_eq!(apps, vec![Application::WebService, Application::Portal]);
        assert_eq!(r.binding(&any).unwrap().thumbprint, "C".repeat(40));
        assert_eq!(
            r.unbind_ssl(Application::Portal, &any).unwrap(),
            UnbindOutcome::AppRemoved(vec![Application::WebService])
        );
        assert_eq!(
            r.unbind_ssl(Application::WebService, &any).unwrap(),
            UnbindOutcome::BindingRemoved
        );
        assert!(r.ssl_bindings.is_empty());
        assert!(r.delete_ssl(&any).is_err());
    }
}
