//! `explain`: which reservation, application, SSL binding and certificate a URL reaches.
//!
//! Owns the pure answer to "what serves `https://host:port/path` (with this SNI, arriving on
//! this local address)?", computed from a [`Repository`] with the same rules the listener
//! uses: routing through [`RouteTable::route`], and the SSL binding chosen as
//! [`crate::tls`] chooses it (a `hostnameport` binding matching SNI, then an `ipport`
//! binding with the exact local address, then a central-store binding (`ccs:PORT`) when
//! store Cluster holds a certificate for the SNI, then the unspecified address of the
//! connection's family, then the other family's). Used by `reportctl explain` and the
//! portal's Bindings page.
//!
//! It must not do I/O: what is known about a certificate (subject, names, expiry) comes from
//! the caller's lookup, since `httpsys` knows no certificate store.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use serde::Serialize;

use crate::reservation::{Scheme, parse_host, valid_dns_name};
use crate::route::{RouteTable, split_host_header};
use crate::{Application, Endpoint, Error, HostSpec, Repository, SslBinding, TlsPolicy};

/// What to explain: a URL as a client would request it, and optionally how the connection
/// arrives (the SNI the client sends, the local address it reaches).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// The URL as given.
    pub url: String,
    pub scheme: Scheme,
    /// Host of the URL, lower-case, without brackets or a trailing dot.
    pub host: String,
    pub port: u16,
    /// Path of the URL (`/` when it has none), without query or fragment.
    pub path: String,
    /// The server name the client sends; `None` means: what the URL implies (its host
    /// when that is a name, nothing for an IP literal).
    pub sni: Option<String>,
    /// The local address the connection reaches; `None` means: the URL's host when it is
    /// an IP address, else 127.0.0.1 (said so in the findings).
    pub local_ip: Option<IpAddr>,
}

impl Probe {
    /// Parses a full URL (`https://reports.example.com:8443/ReportServer`).
    pub fn parse(url: &str) -> Result<Probe, Error> {
        let bad = |why: &str| {
            Error::InvalidUrl(format!(
                "cannot explain {url:?}: {why}; give a full URL such as https://reports.example.com/ReportServer"
            ))
        };
        let s = url.trim();
        let (scheme, rest) = s.split_once("://").ok_or_else(|| bad("it has no scheme"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(bad("the scheme must be http or https")),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err(bad("user information is not allowed"));
        }
        let path = match tail.find(['?', '#']) {
            Some(i) => &tail[..i],
            None => tail,
        };
        let path = if path.is_empty() { "/" } else { path };
        let (host, port) = split_host_header(authority);
        let port = match (authority.ends_with(':'), port) {
            (true, _) => return Err(bad("the port is empty")),
            (false, Some(0)) => return Err(bad("the port must be from 1 to 65535")),
            (false, Some(p)) => p,
            (false, None) if has_port_text(authority) => {
                return Err(bad("the port must be a number from 1 to 65535"));
            }
            (false, None) => scheme.default_port(),
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if !matches!(parse_host(&host), Some(HostSpec::Name(_) | HostSpec::Ip(_))) {
            return Err(bad("the host is not a DNS name or IP address"));
        }
        Ok(Probe {
            url: s.to_owned(),
            scheme,
            host,
            port,
            path: path.to_owned(),
            sni: None,
            local_ip: None,
        })
    }

    /// The same probe with the client sending `sni` (a DNS name).
    pub fn with_sni(mut self, sni: &str) -> Result<Probe, Error> {
        let n = sni.trim().trim_end_matches('.').to_ascii_lowercase();
        if !valid_dns_name(&n) {
            return Err(Error::InvalidUrl(format!(
                "invalid server name {sni:?}: SNI is a DNS name such as reports.example.com"
            )));
        }
        self.sni = Some(n);
        Ok(self)
    }

    /// The same probe arriving on local address `ip`.
    pub fn with_local_ip(mut self, ip: IpAddr) -> Probe {
        self.local_ip = Some(ip);
        self
    }

    fn host_ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// The SNI the handshake carries: the given one, else the URL's host when it is a name.
    pub fn effective_sni(&self) -> Option<&str> {
        match &self.sni {
            Some(s) => Some(s),
            None if self.host_ip().is_none() => Some(&self.host),
            None => None,
        }
    }

    /// The local address the connection reaches, and whether it was assumed.
    fn effective_local_ip(&self) -> (IpAddr, bool) {
        match (self.local_ip, self.host_ip()) {
            (Some(ip), _) => (ip, false),
            (None, Some(ip)) => (ip, false),
            (None, None) => (Ipv4Addr::LOCALHOST.into(), true),
        }
    }
}

/// True when an authority has a `:port` part (after a bracketed IPv6 literal, if any).
fn has_port_text(authority: &str) -> bool {
    match authority.strip_prefix('[') {
        Some(rest) => rest.split_once(']').is_some_and(|(_, a)| !a.is_empty()),
        None => authority.matches(':').count() == 1,
    }
}

impl FromStr for Probe {
    type Err = Error;
    fn from_str(s: &str) -> Result<Probe, Error> {
        Probe::parse(s)
    }
}

/// What the caller's certificate store knows about a bound certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertFacts {
    /// Subject DN (`CN=..., O=...`).
    pub subject: String,
    /// The certificate's names cover the host the client checks.
    pub names_host: bool,
    /// Whole days until it expires (negative once expired).
    pub days_left: i64,
}

/// The routing half of the answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteChoice {
    pub app: Application,
    /// The application's virtual directory.
    pub vdir: String,
    /// The reservation that matched, as `scheme://host:port/vdir`.
    pub reservation: String,
}

/// How the SSL binding was chosen for the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BindingMatch {
    /// A `hostnameport` binding for the SNI host.
    Sni,
    /// An `ipport` binding of the exact local address.
    ExactIp,
    /// A central-store binding (`ccs:PORT`): the certificate chosen by SNI from store
    /// Cluster.
    CentralStore,
    /// `0.0.0.0:port` or `[::]:port`.
    AnyAddress,
}

impl fmt::Display for BindingMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BindingMatch::Sni => "by server name (SNI)",
            BindingMatch::ExactIp => "by the local address",
            BindingMatch::CentralStore => {
                "by SNI from store Cluster (the newest valid certificate covering the name)"
            }
            BindingMatch::AnyAddress => "as the binding of every address",
        })
    }
}

/// The TLS half of the answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BindingChoice {
    pub endpoint: Endpoint,
    pub matched_by: BindingMatch,
    /// Thumbprint of the bound certificate.
    pub thumbprint: String,
    pub store: String,
    /// Applications that bound it.
    pub apps: Vec<Application>,
    pub policy: TlsPolicy,
    /// What the store knows about the certificate; `None` when it is not in the store.
    pub certificate: Option<CertFacts>,
}

/// Something a person should know about the URL, each a reason it may not work as meant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// No reservation uses the port: nothing listens there.
    NothingListens { port: u16 },
    /// The port serves the other scheme.
    OtherScheme { port: u16, serves: Scheme },
    /// The port listens, but no reservation matches host and path: the server answers 400.
    NoRoute,
    /// The URL's host is a name, so the local address was assumed.
    LocalAddressAssumed { ip: IpAddr },
    /// No SSL binding serves the handshake: it fails.
    NoSslBinding { port: u16 },
    /// The port has a central-store binding, but store Cluster holds no valid certificate
    /// for the SNI (or the client sends none), and no other binding serves: it fails.
    NoCentralCertificate { port: u16, sni: Option<String> },
    /// The binding's certificate is not in the store: the handshake fails.
    CertificateMissing { thumbprint: String },
    /// The certificate's names do not cover the host: clients reject it.
    NameMismatch { host: String },
    /// The certificate has expired: clients reject it.
    Expired { days_ago: i64 },
    /// The certificate expires within 30 days.
    ExpiresSoon { days_left: i64 },
}

/// Days before expiry from which [`Finding::ExpiresSoon`] is reported.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::NothingListens { port } => {
                write!(f, "no reservation uses port {port}: nothing listens there")
            }
            Finding::OtherScheme { port, serves } => {
                write!(
                    f,
                    "port {port} serves {}, not the URL's scheme",
                    serves.as_str()
                )
            }
            Finding::NoRoute => {
                f.write_str("no reservation matches this host and path: the server answers 400")
            }
            Finding::LocalAddressAssumed { ip } => write!(
                f,
                "the host is a name: assumed the connection reaches local address {ip}"
            ),
            Finding::NoSslBinding { port } => write!(
                f,
                "no SSL binding serves port {port} for this host: the TLS handshake fails"
            ),
            Finding::NoCentralCertificate {
                port,
                sni: Some(sni),
            } => write!(
                f,
                "port {port} has a central-store binding (ccs:{port}), but no valid certificate of store Cluster covers {sni}: the TLS handshake fails"
            ),
            Finding::NoCentralCertificate { port, sni: None } => write!(
                f,
                "port {port} has a central-store binding (ccs:{port}), which chooses by SNI, and the client sends none: the TLS handshake fails"
            ),
            Finding::CertificateMissing { thumbprint } => write!(
                f,
                "the binding's certificate {thumbprint} is missing from the store: the handshake fails"
            ),
            Finding::NameMismatch { host } => write!(
                f,
                "the certificate does not name {host}: clients will reject it"
            ),
            Finding::Expired { days_ago } => write!(
                f,
                "the certificate expired {days_ago} day(s) ago: clients will reject it"
            ),
            Finding::ExpiresSoon { days_left } => {
                write!(f, "the certificate expires in {days_left} day(s)")
            }
        }
    }
}

/// The answer: what serves the probe, and what stands in the way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub probe: Probe,
    /// The application and reservation the request reaches; `None`: nothing routes it.
    pub route: Option<RouteChoice>,
    /// For https: the binding the handshake uses; `None`: none does.
    pub binding: Option<BindingChoice>,
    pub findings: Vec<Finding>,
}

impl Explanation {
    /// True when a client following the URL is served without a problem.
    pub fn works(&self) -> bool {
        self.route.is_some()
            && self.findings.iter().all(|f| {
                matches!(
                    f,
                    Finding::LocalAddressAssumed { .. } | Finding::ExpiresSoon { .. }
                )
            })
            && (self.probe.scheme == Scheme::Http || self.binding.is_some())
    }
}

/// The SSL binding of `bindings` a handshake on `local_ip:port` with server name `sni`
/// uses, with the rules of the listener's TLS table; `central(sni)`: store Cluster holds a
/// certificate for that name now (what a central-store binding needs).
pub fn choose_binding<'a>(
    bindings: &'a [SslBinding],
    port: u16,
    local_ip: IpAddr,
    sni: Option<&str>,
    central: impl Fn(&str) -> bool,
) -> Option<(&'a SslBinding, BindingMatch)> {
    let on_port = || bindings.iter().filter(move |b| b.endpoint.port() == port);
    if let Some(name) = sni {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let hit = on_port().find(|b| {
            matches!(&b.endpoint, Endpoint::HostnamePort(h, _)
                if h.trim_end_matches('.').eq_ignore_ascii_case(&name))
        });
        if let Some(b) = hit {
            return Some((b, BindingMatch::Sni));
        }
    }
    let local_ip = local_ip.to_canonical();
    let exact = on_port().find(|b| {
        matches!(&b.endpoint, Endpoint::IpPort(ip, _)
            if !ip.is_unspecified() && ip.to_canonical() == local_ip)
    });
    if let Some(b) = exact {
        return Some((b, BindingMatch::ExactIp));
    }
    if let Some(name) = sni
        && let Some(b) = on_port().find(|b| b.endpoint.is_ccs())
        && central(name)
    {
        return Some((b, BindingMatch::CentralStore));
    }
    let any = |v4: bool| {
        on_port().find(move |b| {
            matches!(&b.endpoint, Endpoint::IpPort(ip, _) if ip.is_unspecified() && ip.is_ipv4() == v4)
        })
    };
    let v4 = local_ip.is_ipv4();
    any(v4)
        .or_else(|| any(!v4))
        .map(|b| (b, BindingMatch::AnyAddress))
}

/// Explains `probe` against `repo`. `certs(thumbprint, host)` says what the store knows
/// about a certificate (`None`: not in the store), `host` being the name the client checks.
pub fn explain(
    repo: &Repository,
    probe: &Probe,
    certs: impl Fn(&str, &str) -> Option<CertFacts>,
) -> Explanation {
    explain_with_central(repo, probe, certs, |_| None)
}

/// [`explain`] for a data dir with store Cluster: `central(sni)` is the certificate store
/// Cluster would give a handshake for `sni` now (its thumbprint and what is known of it;
/// `None`: none covers the name), as the server's `CentralIndex::pick` chooses.
pub fn explain_with_central(
    repo: &Repository,
    probe: &Probe,
    certs: impl Fn(&str, &str) -> Option<CertFacts>,
    central: impl Fn(&str) -> Option<(String, CertFacts)>,
) -> Explanation {
    let mut findings = Vec::new();
    let table = RouteTable::new(repo);
    let port = probe.port;
    let (local_ip, assumed) = probe.effective_local_ip();
    let scheme_ok = match table.scheme(port) {
        None => {
            findings.push(Finding::NothingListens { port });
            false
        }
        Some(s) if s != probe.scheme => {
            findings.push(Finding::OtherScheme { port, serves: s });
            false
        }
        Some(_) => true,
    };
    let route = if scheme_ok {
        table
            .route(port, local_ip, &probe.host, &probe.path)
            .map(|r| {
                let reservation = repo
                    .reservations
                    .iter()
                    .filter(|x| {
                        x.app == r.app && x.url.port == port && x.url.scheme == probe.scheme
                    })
                    .filter(|x| match &x.url.host {
                        HostSpec::Name(n) => *n == probe.host,
                        HostSpec::Ip(ip) => {
                            ip.is_unspecified() || ip.to_canonical() == local_ip.to_canonical()
                        }
                        _ => true,
                    })
                    .min_by_key(|x| x.url.host.category())
                    .map(|x| format!("{}/{}", x.url, r.vdir))
                    .unwrap_or_default();
                RouteChoice {
                    app: r.app,
                    vdir: r.vdir,
                    reservation,
                }
            })
    } else {
        None
    };
    if scheme_ok && route.is_none() {
        findings.push(Finding::NoRoute);
    }
    if assumed && scheme_ok {
        findings.push(Finding::LocalAddressAssumed { ip: local_ip });
    }
    let mut binding = None;
    if probe.scheme == Scheme::Https && scheme_ok {
        let sni = probe.effective_sni();
        let picked = sni.and_then(&central);
        match choose_binding(&repo.ssl_bindings, port, local_ip, sni, |_| {
            picked.is_some()
        }) {
            None if repo
                .ssl_bindings
                .iter()
                .any(|b| b.endpoint.is_ccs() && b.endpoint.port() == port) =>
            {
                findings.push(Finding::NoCentralCertificate {
                    port,
                    sni: sni.map(str::to_owned),
                })
            }
            None => findings.push(Finding::NoSslBinding { port }),
            Some((b, matched_by)) => {
                let (thumbprint, store, facts) = match (matched_by, &picked) {
                    (BindingMatch::CentralStore, Some((t, f))) => {
                        (t.clone(), "Cluster".to_owned(), Some(f.clone()))
                    }
                    _ => (
                        b.thumbprint.clone(),
                        b.store.clone(),
                        certs(&b.thumbprint, &probe.host),
                    ),
                };
                match &facts {
                    None => findings.push(Finding::CertificateMissing {
                        thumbprint: thumbprint.clone(),
                    }),
                    Some(c) => {
                        if !c.names_host {
                            findings.push(Finding::NameMismatch {
                                host: probe.host.clone(),
                            });
                        }
                        if c.days_left < 0 {
                            findings.push(Finding::Expired {
                                days_ago: -c.days_left,
                            });
                        } else if c.days_left <= EXPIRY_WARNING_DAYS {
                            findings.push(Finding::ExpiresSoon {
                                days_left: c.days_left,
                            });
                        }
                    }
                }
                binding = Some(BindingChoice {
                    endpoint: b.endpoint.clone(),
                    matched_by,
                    thumbprint,
                    store,
                    apps: b.apps.iter().copied().collect(),
                    policy: b.policy.clone(),
                    certificate: facts,
                });
            }
        }
    }
    Explanation {
        probe: probe.clone(),
        route,
        binding,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UrlReservation;

    const T1: &str = "1111111111111111111111111111111111111111";
    const T2: &str = "2222222222222222222222222222222222222222";
    const T3: &str = "3333333333333333333333333333333333333333";

    fn repo() -> Repository {
        let mut r = Repository::default();
        for (a, u) in [
            (Application::WebService, "http://+:8080"),
            (Application::WebService, "https://+:8443"),
            (Application::Portal, "https://b.test:8443"),
        ] {
            r.reserve(a, u.parse::<UrlReservation>().unwrap(), "t")
                .unwrap();
        }
        let any = Endpoint::parse_ipport("0.0.0.0:8443").unwrap();
        r.bind_ssl(Application::WebService, any, T1, None).unwrap();
        let sni = Endpoint::parse_hostnameport("b.test:8443").unwrap();
        r.bind_ssl(Application::Portal, sni, T2, None).unwrap();
        r
    }

    fn facts(subject: &str, names_host: bool, days_left: i64) -> Option<CertFacts> {
        Some(CertFacts {
            subject: subject.into(),
            names_host,
            days_left,
        })
    }

    fn good(_: &str, _: &str) -> Option<CertFacts> {
        facts("CN=ok", true, 365)
    }

    #[test]
    fn probes_parse_with_defaults_and_refuse_nonsense() {
        let p = Probe::parse("HTTPS://B.Test./Reports/browse?x=1#f").unwrap();
        assert_eq!(
            (p.scheme, p.host.as_str(), p.port, p.path.as_str()),
            (Scheme::Https, "b.test", 443, "/Reports/browse")
        );
        let p = Probe::parse("http://[::1]:8080").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.path.as_str()),
            ("::1", 8080, "/")
        );
        assert_eq!(p.effective_sni(), None);
        for bad in [
            "b.test/x",
            "ftp://b.test/",
            "http://u@b.test/",
            "http://b.test:/",
            "http://b.test:0/",
            "http://b.test:99999/",
            "http://+:80/",
            "http://bad_host/",
        ] {
            let e = Probe::parse(bad).unwrap_err().to_string();
            assert!(e.contains("full URL"), "{bad}: {e}");
        }
        assert!(
            Probe::parse("https://a.test/")
                .unwrap()
                .with_sni("-x")
                .is_err()
        );
    }

    #[test]
    fn sni_binding_before_the_any_address_binding() {
        let r = repo();
        let e = explain(
            &r,
            &Probe::parse("https://b.test:8443/Reports").unwrap(),
            good,
        );
        let route = e.route.as_ref().unwrap();
        assert_eq!(route.app, Application::Portal);
        assert_eq!(route.reservation, "https://b.test:8443/Reports");
        let b = e.binding.as_ref().unwrap();
        assert_eq!(
            (b.thumbprint.as_str(), b.matched_by),
            (T2, BindingMatch::Sni)
        );
        assert!(e.works(), "{:?}", e.findings);

        let e = explain(
            &r,
            &Probe::parse("https://localhost:8443/ReportServer").unwrap(),
            good,
        );
        assert_eq!(e.route.as_ref().unwrap().app, Application::WebService);
        assert_eq!(
            e.route.as_ref().unwrap().reservation,
            "https://+:8443/ReportServer"
        );
        let b = e.binding.as_ref().unwrap();
        assert_eq!(
            (b.thumbprint.as_str(), b.matched_by),
            (T1, BindingMatch::AnyAddress)
        );
        assert!(e.findings.contains(&Finding::LocalAddressAssumed {
            ip: Ipv4Addr::LOCALHOST.into()
        }));

        // An IP literal sends no SNI; a given SNI overrides the URL's host.
        let p = Probe::parse("https://127.0.0.1:8443/ReportServer")
            .unwrap()
            .with_sni("B.test")
            .unwrap();
        assert_eq!(explain(&r, &p, good).binding.unwrap().thumbprint, T2);
    }

    #[test]
    fn exact_ip_binding_and_the_other_family() {
        let mut r = repo();
        r.ssl_bindings.push(SslBinding {
            endpoint: Endpoint::parse_ipport("127.0.0.1:8443").unwrap(),
            thumbprint: T3.into(),
            store: "My".into(),
            apps: [Application::WebService].into_iter().collect(),
            policy: TlsPolicy::default(),
        });
        let (b, m) = choose_binding(
            &r.ssl_bindings,
            8443,
            "::ffff:127.0.0.1".parse().unwrap(),
            None,
            |_| false,
        )
        .unwrap();
        assert_eq!((b.thumbprint.as_str(), m), (T3, BindingMatch::ExactIp));
        // Only 0.0.0.0 is bound: an IPv6 connection falls back to it, as the listener does.
        let (b, m) = choose_binding(&r.ssl_bindings, 8443, "::1".parse().unwrap(), None, |_| {
            false
        })
        .unwrap();
        assert_eq!((b.thumbprint.as_str(), m), (T1, BindingMatch::AnyAddress));
        assert!(
            choose_binding(&r.ssl_bindings, 9443, "::1".parse().unwrap(), None, |_| {
                false
            })
            .is_none()
        );
    }

    #[test]
    fn findings_name_what_stands_in_the_way() {
        let r = repo();
        let f = |url: &str, certs: fn(&str, &str) -> Option<CertFacts>| {
            explain(&r, &Probe::parse(url).unwrap(), certs).findings
        };
        assert_eq!(
            f("http://localhost:9999/ReportServer", good),
            vec![Finding::NothingListens { port: 9999 }]
        );
        assert_eq!(
            f("https://localhost:8080/ReportServer", good),
            vec![Finding::OtherScheme {
                port: 8080,
                serves: Scheme::Http
            }]
        );
        assert!(f("http://localhost:8080/Nope", good).contains(&Finding::NoRoute));
        let missing = f("https://localhost:8443/ReportServer", |_, _| None);
        assert!(missing.contains(&Finding::CertificateMissing {
            thumbprint: T1.into()
        }));
        let wrong = f("https://localhost:8443/ReportServer", |_, _| {
            facts("CN=x", false, -2)
        });
        assert!(wrong.contains(&Finding::NameMismatch {
            host: "localhost".into()
        }));
        assert!(wrong.contains(&Finding::Expired { days_ago: 2 }));
        let soon = f("https://localhost:8443/ReportServer", |_, _| {
            facts("CN=x", true, 7)
        });
        assert!(soon.contains(&Finding::ExpiresSoon { days_left: 7 }));

        let mut none = repo();
        none.ssl_bindings.clear();
        let e = explain(
            &none,
            &Probe::parse("https://localhost:8443/ReportServer").unwrap(),
            good,
        );
        assert!(e.findings.contains(&Finding::NoSslBinding { port: 8443 }));
        assert!(!e.works());
        let text = Finding::NoSslBinding { port: 8443 }.to_string();
        assert!(text.contains("handshake fails"), "{text}");
    }

    #[test]
    fn a_central_store_binding_chooses_by_sni_after_the_exact_ones() {
        let mut r = repo();
        r.ssl_bindings.clear();
        r.bind_ssl(Application::WebService, Endpoint::Ccs(8443), "", None)
            .unwrap();
        let central = |sni: &str| {
            (sni == "c.test").then(|| (T3.to_owned(), facts("CN=c.test", true, 60).unwrap()))
        };
        let probe = |url: &str| Probe::parse(url).unwrap();
        let e = explain_with_central(
            &r,
            &probe("https://c.test:8443/ReportServer"),
            good,
            central,
        );
        let b = e.binding.as_ref().unwrap();
        assert_eq!(
            (b.thumbprint.as_str(), b.store.as_str(), b.matched_by),
            (T3, "Cluster", BindingMatch::CentralStore)
        );
        assert!(e.works(), "{:?}", e.findings);
        assert!(
            b.matched_by
                .to_string()
                .contains("by SNI from store Cluster")
        );
        // A name no certificate covers, or no SNI at all: the handshake fails, and says why.
        let e = explain_with_central(
            &r,
            &probe("https://d.test:8443/ReportServer"),
            good,
            central,
        );
        assert!(e.binding.is_none());
        let f = &e.findings[e.findings.len() - 1];
        assert_eq!(
            f,
            &Finding::NoCentralCertificate {
                port: 8443,
                sni: Some("d.test".into())
            }
        );
        assert!(
            f.to_string()
                .contains("no valid certificate of store Cluster covers d.test")
        );
        let e = explain_with_central(
            &r,
            &probe("https://127.0.0.1:8443/ReportServer"),
            good,
            central,
        );
        assert!(e.findings.contains(&Finding::NoCentralCertificate {
            port: 8443,
            sni: None
        }));
        // An exact-address binding comes first; the any-address one after the central store.
        let any = Endpoint::parse_ipport("0.0.0.0:8443").unwrap();
        r.bind_ssl(Application::WebService, any, T1, None).unwrap();
        let e = explain_with_central(
            &r,
            &probe("https://c.test:8443/ReportServer"),
            good,
            central,
        );
        assert_eq!(e.binding.unwrap().matched_by, BindingMatch::CentralStore);
        let e = explain_with_central(
            &r,
            &probe("https://d.test:8443/ReportServer"),
            good,
            central,
        );
        assert_eq!(e.binding.unwrap().thumbprint, T1);
        let exact = Endpoint::parse_ipport("127.0.0.1:8443").unwrap();
        r.bind_ssl(Application::WebService, exact, T2, None)
            .unwrap();
        let e = explain_with_central(
            &r,
            &probe("https://c.test:8443/ReportServer"),
            good,
            central,
        );
        assert_eq!(e.binding.unwrap().matched_by, BindingMatch::ExactIp);
    }

    #[test]
    fn explanations_serialize_for_json_front_ends() {
        let e = explain(
            &repo(),
            &Probe::parse("https://b.test:8443/Reports").unwrap(),
            good,
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["route"]["app"], "portal");
        assert_eq!(v["binding"]["endpoint"]["hostnameport"], "b.test:8443");
        assert_eq!(v["binding"]["matched_by"], "sni");
        assert_eq!(v["binding"]["certificate"]["days_left"], 365);
    }
}
