//! Request routing by URL reservation, with HTTP.sys's rules. Pure: no I/O.
//!
//! For a request on port P, the reservations of P are tried by category — strong wildcard
//! (`+`), explicit host name, IP-bound, weak wildcard (`*`) — and within the first category
//! that has a match, the longest virtual-directory prefix wins. Host names and virtual
//! directories compare case-insensitively, as HTTP.sys does.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::reservation::{HostSpec, Scheme};
use crate::{Application, Repository};

/// Where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub app: Application,
    /// The virtual directory as configured.
    pub vdir: String,
    /// Bytes of the request path taken by `/{vdir}`.
    pub prefix_len: usize,
}

#[derive(Debug)]
struct Entry {
    host: HostSpec,
    app: Application,
    vdir: String,
}

/// The routing table of one repository state: built once per change, read per request.
#[derive(Debug, Default)]
pub struct RouteTable {
    ports: HashMap<u16, (Scheme, Vec<Entry>)>,
    /// Per application: https reservations, for SecureConnectionLevel redirects.
    https: HashMap<Application, Vec<(HostSpec, u16)>>,
    vdirs: HashMap<Application, String>,
}

impl RouteTable {
    pub fn new(repo: &Repository) -> RouteTable {
        let mut t = RouteTable::default();
        for r in &repo.reservations {
            let vdir = repo.vdir(r.app).to_owned();
            let (_, entries) = t
                .ports
                .entry(r.url.port)
                .or_insert_with(|| (r.url.scheme, Vec::new()));
            entries.push(Entry {
                host: r.url.host.clone(),
                app: r.app,
                vdir,
            });
            if r.url.scheme == Scheme::Https {
                t.https
                    .entry(r.app)
                    .or_default()
                    .push((r.url.host.clone(), r.url.port));
            }
        }
        for (_, entries) in t.ports.values_mut() {
            // Category first, then longest virtual directory first.
            entries.sort_by(|a, b| {
                a.host
                    .category()
                    .cmp(&b.host.category())
                    .then(b.vdir.len().cmp(&a.vdir.len()))
            });
        }
        for a in Application::ALL {
            t.vdirs.insert(a, repo.vdir(a).to_owned());
        }
        t
    }

    /// The scheme served on `port`, if any reservation uses it.
    pub fn scheme(&self, port: u16) -> Option<Scheme> {
        self.ports.get(&port).map(|(s, _)| *s)
    }

    /// Routes a request that arrived on `local_ip:port` for `host` (no port) and `path`.
    pub fn route(&self, port: u16, local_ip: IpAddr, host: &str, path: &str) -> Option<Route> {
        let (_, entries) = self.ports.get(&port)?;
        let host = normalize_host(host);
        let local_ip = local_ip.to_canonical();
        // Entries are sorted by category then prefix length, so the first match wins.
        entries.iter().find_map(|e| {
            let host_ok = match &e.host {
                HostSpec::StrongWildcard | HostSpec::WeakWildcard => true,
                HostSpec::Name(n) => *n == host,
                HostSpec::Ip(ip) => ip.is_unspecified() || ip.to_canonical() == local_ip,
            };
            if !host_ok {
                return None;
            }
            prefix_len(path, &e.vdir).map(|prefix_len| Route {
                app: e.app,
                vdir: e.vdir.clone(),
                prefix_len,
            })
        })
    }

    /// `https://host[:port]/vdir` of an https reservation of `app`, for redirects; wildcard
    /// hosts take the host the client asked for.
    pub fn https_base(&self, app: Application, request_host: &str) -> Option<String> {
        let list = self.https.get(&app)?;
        let (host, port) = list
            .iter()
            .min_by_key(|(h, _)| h.category())
            .map(|(h, p)| (h.clone(), *p))?;
        let host = match host {
            HostSpec::Name(n) => n,
            HostSpec::Ip(ip) if !ip.is_unspecified() => HostSpec::Ip(ip).to_string(),
            _ => {
                let h = request_host.trim();
                if h.contains(':') && !h.starts_with('[') {
                    format!("[{h}]")
                } else {
                    h.to_owned()
                }
            }
        };
        let vdir = self
            .vdirs
            .get(&app)
            .map(String::as_str)
            .unwrap_or(app.default_vdir());
        Some(if port == 443 {
            format!("https://{host}/{vdir}")
        } else {
            format!("https://{host}:{port}/{vdir}")
        })
    }
}

/// Lower-cases a host and strips a trailing dot and IPv6 brackets.
fn normalize_host(h: &str) -> String {
    let h = h.trim_end_matches('.');
    let h = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    h.to_ascii_lowercase()
}

/// If `path` is `/{vdir}`, `/{vdir}/...` (case-insensitive), the length of `/{vdir}`.
fn prefix_len(path: &str, vdir: &str) -> Option<usize> {
    let rest = path.strip_prefix('/')?;
    let head = rest.get(..vdir.len())?;
    if !head.eq_ignore_ascii_case(vdir) {
        return None;
    }
    match rest.as_bytes().get(vdir.len()) {
        None | Some(b'/') => Some(vdir.len() + 1),
        _ => None,
    }
}

/// Splits a Host header value into host and optional port (`[::1]:8080`, `a.b:80`, `a.b`).
pub fn split_host_header(v: &str) -> (&str, Option<u16>) {
    if let Some(rest) = v.strip_prefix('[') {
        if let Some((h, after)) = rest.split_once(']') {
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
            return (h, port);
        }
        return (v, None);
    }
    match v.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().ok()),
        _ => (v, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UrlReservation;

    fn table(res: &[(Application, &str)], vdirs: &[(Application, &str)]) -> RouteTable {
        let mut repo = Repository::default();
        for (a, v) in vdirs {
            repo.set_vdir(*a, v.parse().unwrap()).unwrap();
        }
        for (a, u) in res {
            repo.reserve(*a, u.parse::<UrlReservation>().unwrap(), "t")
                .unwrap();
        }
        RouteTable::new(&repo)
    }

    const LO: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn both_apps_on_one_port_by_vdir() {
        let t = table(
            &[
                (Application::WebService, "http://+:8080"),
                (Application::Portal, "http://+:8080"),
            ],
            &[],
        );
        let r = t.route(8080, LO, "localhost", "/ReportServer").unwrap();
        assert_eq!((r.app, r.prefix_len), (Application::WebService, 13));
        assert_eq!(
            t.route(8080, LO, "x", "/reports/browse/a").unwrap().app,
            Application::Portal
        );
        assert!(t.route(8080, LO, "x", "/ReportServerX").is_none());
        assert!(t.route(8080, LO, "x", "/").is_none());
        assert!(t.route(9999, LO, "x", "/Reports").is_none());
    }

    #[test]
    fn category_order_strong_host_ip_weak() {
        // Same vdir for both apps so that only the host category decides.
        let vd = [(Application::Portal, "X"), (Application::WebService, "X")];
        let t = table(
            &[
                (Application::WebService, "http://*:80"),
                (Application::Portal, "http://reports.example.com:80"),
            ],
            &vd,
        );
        assert_eq!(
            t.route(80, LO, "Reports.Example.COM.", "/x").unwrap().app,
            Application::Portal
        );
        assert_eq!(
            t.route(80, LO, "other", "/x").unwrap().app,
            Application::WebService
        );

        let t = table(
            &[
                (Application::WebService, "http://127.0.0.1:80"),
                (Application::Portal, "http://+:80"),
            ],
            &vd,
        );
        assert_eq!(
            t.route(80, LO, "anything", "/x").unwrap().app,
            Application::Portal,
            "strong wildcard first"
        );

        let t = table(
            &[
                (Application::WebService, "http://127.0.0.1:80"),
                (Application::Portal, "http://*:80"),
            ],
            &vd,
        );
        assert_eq!(
            t.route(80, LO, "a", "/x").unwrap().app,
            Application::WebService,
            "IP-bound before weak"
        );
        let other: IpAddr = "10.9.9.9".parse().unwrap();
        assert_eq!(
            t.route(80, other, "a", "/x").unwrap().app,
            Application::Portal
        );
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(
            t.route(80, mapped, "a", "/x").unwrap().app,
            Application::WebService,
            "v4-mapped is v4"
        );
    }

    #[test]
    fn longest_prefix_within_a_category() {
        let t = table(
            &[
                (Application::WebService, "http://+:80"),
                (Application::Portal, "http://+:80"),
            ],
            &[
                (Application::WebService, "Rep"),
                (Application::Portal, "Reports"),
            ],
        );
        assert_eq!(
            t.route(80, LO, "h", "/Reports/x").unwrap().app,
            Application::Portal
        );
        assert_eq!(
            t.route(80, LO, "h", "/Rep/x").unwrap().app,
            Application::WebService
        );
    }

    #[test]
    fn https_base_for_redirects() {
        let t = table(
            &[
                (Application::WebService, "http://+:8080"),
                (Application::WebService, "https://+:8443"),
            ],
            &[],
        );
        assert_eq!(
            t.https_base(Application::WebService, "localhost").unwrap(),
            "https://localhost:8443/ReportServer"
        );
        assert_eq!(t.https_base(Application::Portal, "localhost"), None);
    }

    #[test]
    fn host_header_split() {
        assert_eq!(split_host_header("[::1]:8080"), ("::1", Some(8080)));
        assert_eq!(split_host_header("a.b:80"), ("a.b", Some(80)));
        assert_eq!(split_host_header("a.b"), ("a.b", None));
    }
}
