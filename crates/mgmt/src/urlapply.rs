//! The Configuration Manager's composite URL changes, each ONE operation: "Apply" on the
//! Web Service URL page (virtual directory + reserve the https URL if needed + bind the
//! chosen certificate) and "Add" of a Web Portal URL's HTTPS identity (reserve + bind).
//!
//! Every check runs under the data-dir lock inside one [`ops::change_repository`] call: the
//! repository is committed once, applied once, and undone (without dropping the lock) when
//! the running server cannot apply it. What was done comes back as a typed list of
//! [`Step`]s that the portal's Results pane and the CLI print the same way.
//!
//! This module must not parse forms or flags, print, or serve HTTP; it never logs.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use certstore::Thumbprint;
use datadir::DataDir;
use httpsys::repo::BindOutcome;
use httpsys::{Application, Endpoint, HostSpec, Repository, UrlReservation, VirtualDirectory};

use crate::ops::{self, Applied, PolicyFlags};
use crate::{Error, Result};

/// An HTTPS identity of an application: certificate, address (or every one), port and,
/// for the portal's Advanced page, an optional host name (an SNI `HOST:PORT` binding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsIdentity {
    pub app: Application,
    pub thumbprint: Thumbprint,
    /// None: every address (`https://+:PORT`, binding `0.0.0.0:PORT`).
    pub ip: Option<IpAddr>,
    /// A DNS host name: reservation `https://HOST:PORT`, binding `HOST:PORT`.
    pub host: Option<String>,
    pub port: u16,
    pub policy: PolicyFlags,
}

impl HttpsIdentity {
    /// The URL reservation and the SSL binding endpoint this identity needs.
    pub fn url_and_endpoint(&self) -> Result<(UrlReservation, Endpoint)> {
        let port = self.port;
        if port == 0 {
            return Err(Error::Refused(
                "the HTTPS port is 0; give a port from 1 to 65535, such as 443".into(),
            ));
        }
        Ok(match (&self.host, self.ip) {
            (Some(h), _) => (
                format!("https://{h}:{port}").parse()?,
                Endpoint::parse_hostnameport(&format!("{h}:{port}")).map_err(|_| {
                    Error::Refused(format!(
                        "the host {h:?} is not a DNS name; give a name such as reports.example.com, or leave the host empty"
                    ))
                })?,
            ),
            (None, Some(ip)) if !ip.is_unspecified() => {
                let shown = if ip.is_ipv6() {
                    format!("[{ip}]")
                } else {
                    ip.to_string()
                };
                (
                    format!("https://{shown}:{port}").parse()?,
                    Endpoint::IpPort(ip, port),
                )
            }
            _ => (
                format!("https://+:{port}").parse()?,
                Endpoint::IpPort(Ipv4Addr::UNSPECIFIED.into(), port),
            ),
        })
    }
}

/// What the Web Service URL page's Apply asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebServiceUrl {
    /// A new virtual directory for the web service (None keeps it).
    pub vdir: Option<VirtualDirectory>,
    /// The HTTPS certificate, address and port (None: no https change).
    pub https: Option<HttpsIdentity>,
}

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepResult {
    /// It changed something.
    Done,
    /// It was so already.
    Unchanged,
    /// It failed: nothing of the operation was kept.
    Failed,
}

impl StepResult {
    pub fn as_str(self) -> &'static str {
        match self {
            StepResult::Done => "done",
            StepResult::Unchanged => "unchanged",
            StepResult::Failed => "failed",
        }
    }
}

/// One line of the Results pane: what was attempted, how it ended, and a detail line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub action: String,
    pub result: StepResult,
    pub detail: String,
}

impl fmt::Display for Step {
    /// As the CLI prints it: the action, then the detail indented.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n  {}", self.action, self.detail)
    }
}

/// A finished operation: its steps, how it reached the server, and the URLs of the
/// application that now work (`+` shown as `localhost`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub app: Application,
    pub steps: Vec<Step>,
    pub applied: Applied,
    pub urls: Vec<String>,
}

/// A refused or undone operation: the steps up to the failure (the last one failed) and
/// the error. The instance is as it was before.
#[derive(Debug)]
pub struct Failure {
    pub steps: Vec<Step>,
    pub error: Error,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; nothing was changed", self.error)
    }
}

impl std::error::Error for Failure {}

/// A URL a browser can open for a reservation: wildcards and unspecified addresses become
/// `localhost`.
pub fn browsable_url(u: &UrlReservation, vdir: &str) -> String {
    let host = match &u.host {
        HostSpec::StrongWildcard | HostSpec::WeakWildcard => "localhost".to_owned(),
        HostSpec::Ip(ip) if ip.is_unspecified() => "localhost".to_owned(),
        h => h.to_string(),
    };
    format!("{}://{host}:{}/{vdir}", u.scheme.as_str(), u.port)
}

/// The Web Service URL page's Apply: the virtual directory, then the https URL reserved
/// for the web service when it is not yet, then the certificate bound; one commit. `owner`
/// names the front end in the reservation (`portal`, `reportctl`), as `url list` shows it.
pub fn apply_web_service_url(
    dd: &DataDir,
    req: &WebServiceUrl,
    owner: &str,
) -> std::result::Result<Report, Failure> {
    if let Some(h) = &req.https
        && h.app != Application::WebService
    {
        return Err(Failure {
            steps: vec![],
            error: Error::Refused(format!(
                "the Web Service URL page configures ReportServerWebService, not {}",
                h.app.ssrs_name()
            )),
        });
    }
    run(
        dd,
        Application::WebService,
        req.vdir.as_ref(),
        req.https.as_ref(),
        owner,
    )
}

/// The Web Portal URL page's Advanced → Add: reserve the https URL for `id.app` (the
/// portal) if needed and bind the certificate; one commit. `owner` as for
/// [`apply_web_service_url`].
pub fn add_https_identity(
    dd: &DataDir,
    id: &HttpsIdentity,
    owner: &str,
) -> std::result::Result<Report, Failure> {
    run(dd, id.app, None, Some(id), owner)
}

fn run(
    dd: &DataDir,
    app: Application,
    vdir: Option<&VirtualDirectory>,
    https: Option<&HttpsIdentity>,
    owner: &str,
) -> std::result::Result<Report, Failure> {
    let mut steps: Vec<Step> = Vec::new();
    let fail = |steps: Vec<Step>, error: Error| Failure { steps, error };
    // Pure checks first: nothing to lock for them.
    let target = match https.map(|h| h.url_and_endpoint().map(|x| (h, x))) {
        None => None,
        Some(Ok(x)) => Some(x),
        Some(Err(e)) => return Err(fail(steps, e)),
    };
    if let Some((_, (_, endpoint))) = &target
        && let Err(e) = ops::check_local_ip(endpoint)
    {
        return Err(fail(steps, e));
    }
    let mut checked = false;
    let result = ops::change_repository(dd, |repo| {
        if let Some(v) = vdir {
            let action = format!(
                "Setting the virtual directory of {} to {v}",
                app.ssrs_name()
            );
            match repo.set_vdir(app, v.clone()) {
                Ok(true) => steps.push(step(action, StepResult::Done, "set")),
                Ok(false) => steps.push(step(action, StepResult::Unchanged, "already so")),
                Err(e) => {
                    steps.push(step(action, StepResult::Failed, &e.to_string()));
                    return Err(e.into());
                }
            }
        }
        if let Some((h, (url, endpoint))) = &target {
            let action = format!("Reserving URL {url} for {}", app.ssrs_name());
            match repo.reserve(app, url.clone(), owner) {
                Ok(true) => steps.push(step(action, StepResult::Done, "reserved")),
                Ok(false) => steps.push(step(action, StepResult::Unchanged, "already reserved")),
                Err(e) => {
                    steps.push(step(action, StepResult::Failed, &e.to_string()));
                    return Err(e.into());
                }
            }
            let action = format!("Binding certificate {} to {endpoint}", h.thumbprint);
            match bind(dd, repo, h, endpoint) {
                Ok(BindOutcome::Created) => steps.push(step(action, StepResult::Done, "bound")),
                Ok(BindOutcome::Updated) => steps.push(step(
                    action,
                    StepResult::Done,
                    &format!("{} now uses the existing binding", app.ssrs_name()),
                )),
                Ok(BindOutcome::Unchanged) => {
                    steps.push(step(action, StepResult::Unchanged, "already bound"))
                }
                Err(e) => {
                    steps.push(step(action, StepResult::Failed, &e.to_string()));
                    return Err(e);
                }
            }
        }
        checked = true;
        Ok(())
    });
    let action = "Applying the change".to_string();
    let applied = match result {
        Ok(((), a)) => a,
        Err(e) => {
            if checked {
                // The commit or the running server's apply failed: change_repository put
                // the old repository back (under the same lock).
                steps.push(step(action, StepResult::Failed, &e.to_string()));
            }
            return Err(fail(steps, e));
        }
    };
    steps.push(step(
        action,
        if applied == Applied::Nothing {
            StepResult::Unchanged
        } else {
            StepResult::Done
        },
        &applied.describe(),
    ));
    let urls = Repository::load(dd)
        .map(|r| {
            r.reservations_of(app)
                .map(|u| browsable_url(u, r.vdir(app)))
                .collect()
        })
        .unwrap_or_default();
    Ok(Report {
        app,
        steps,
        applied,
        urls,
    })
}

/// The certificate checks and the binding, as `ops::ssl_bind` makes them, on the
/// repository being changed (the caller holds the data-dir lock).
fn bind(
    dd: &DataDir,
    repo: &mut Repository,
    h: &HttpsIdentity,
    endpoint: &Endpoint,
) -> Result<BindOutcome> {
    let info = ops::check_certificate(dd, &h.thumbprint, endpoint)?;
    let existing = repo.binding(endpoint).map(|b| b.policy.clone());
    let mut flags = h.policy.clone();
    if existing.is_none() && flags.hsts.is_none() {
        flags.hsts = Some(ops::hsts_by_default(&info, endpoint));
    }
    let policy = if flags == PolicyFlags::default() {
        None
    } else {
        let mut p = existing.unwrap_or_default();
        if let Some(v) = flags.min_tls {
            p.min_tls = v;
        }
        if let Some(v) = flags.http2 {
            p.http2 = v;
        }
        if let Some(v) = flags.hsts {
            p.hsts = v;
        }
        Some(p)
    };
    Ok(repo.bind_ssl(h.app, endpoint.clone(), &h.thumbprint.to_string(), policy)?)
}

fn step(action: String, result: StepResult, detail: &str) -> Step {
    Step {
        action,
        result,
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use certstore::{CertStore, SelfSignedOptions, StoreName};

    fn instance() -> (tempfile::TempDir, DataDir, Thumbprint) {
        let tmp = tempfile::tempdir().unwrap();
        let dd = DataDir::new(tmp.path().join("data"));
        dd.create_dirs().unwrap();
        let s = datadir::Settings::new("11111111-2222-3333-4444-555555555555".into());
        datadir::Config::write(&dd.config_path(), &s, &Repository::default().repr()).unwrap();
        let store = CertStore::open(&dd.certs_dir()).unwrap();
        let t = store
            .new_self_signed(&SelfSignedOptions::new(vec!["localhost".into()]))
            .unwrap();
        (tmp, dd, t)
    }

    /// A port of a socket this process holds (as the server inherits its sockets): the
    /// stopped-server port check passes for it, and nobody else can take it meanwhile.
    fn held_port() -> u16 {
        httpsys::listener::inherit(httpsys::listener::listen_dual_stack(0).unwrap()).unwrap()
    }

    fn identity(app: Application, t: &Thumbprint, port: u16) -> HttpsIdentity {
        HttpsIdentity {
            app,
            thumbprint: *t,
            ip: None,
            host: None,
            port,
            policy: PolicyFlags::default(),
        }
    }

    #[test]
    fn apply_reserves_binds_and_reports_each_step_once_committed() {
        let (_tmp, dd, t) = instance();
        let port = held_port();
        let req = WebServiceUrl {
            vdir: Some("RS".parse().unwrap()),
            https: Some(identity(Application::WebService, &t, port)),
        };
        let r = apply_web_service_url(&dd, &req, "test").unwrap();
        let results: Vec<_> = r.steps.iter().map(|s| s.result).collect();
        assert_eq!(
            results,
            [
                StepResult::Done,
                StepResult::Done,
                StepResult::Done,
                StepResult::Done
            ],
            "{:#?}",
            r.steps
        );
        assert_eq!(
            r.steps[1].action,
            format!("Reserving URL https://+:{port} for ReportServerWebService")
        );
        assert_eq!(r.applied, Applied::Stopped);
        assert!(r.urls.contains(&format!("https://localhost:{port}/RS")));
        let repo = Repository::load(&dd).unwrap();
        assert_eq!(repo.vdir(Application::WebService), "RS");
        assert_eq!(repo.ssl_bindings.len(), 1);
        assert_eq!(repo.ssl_bindings[0].thumbprint, t.to_string());
        // Again: every step unchanged, nothing applied.
        let again = apply_web_service_url(&dd, &req, "test").unwrap();
        assert!(
            again
                .steps
                .iter()
                .all(|s| s.result == StepResult::Unchanged),
            "{:#?}",
            again.steps
        );
        // The portal joins the binding on the same port.
        let p = add_https_identity(&dd, &identity(Application::Portal, &t, port), "test").unwrap();
        assert_eq!(
            p.steps[1].detail,
            "ReportServerWebApp now uses the existing binding"
        );
        let repo = Repository::load(&dd).unwrap();
        assert_eq!(repo.ssl_bindings[0].apps.len(), 2);
    }

    #[test]
    fn a_failed_check_leaves_the_instance_unchanged_and_names_the_step() {
        let (_tmp, dd, t) = instance();
        let before = std::fs::read(dd.bindings_path()).ok();
        // The certificate's names do not cover the host: the reservation step passed in
        // memory, the binding step failed, nothing was committed.
        let mut id = identity(Application::Portal, &t, 18444);
        id.host = Some("reports.example.com".into());
        let f = add_https_identity(&dd, &id, "test").unwrap_err();
        assert_eq!(f.steps.len(), 2, "{:#?}", f.steps);
        assert_eq!(f.steps[1].result, StepResult::Failed);
        assert!(f.to_string().contains("does not cover host"), "{f}");
        assert!(f.to_string().ends_with("nothing was changed"));
        assert_eq!(std::fs::read(dd.bindings_path()).ok(), before);
        assert!(
            Repository::load(&dd)
                .unwrap()
                .reservations_of(Application::Portal)
                .all(|u| u.port != 18444)
        );
        // A certificate that is not in the store.
        let store = CertStore::open(&dd.certs_dir()).unwrap();
        store.remove(&t, StoreName::My).unwrap();
        let f =
            add_https_identity(&dd, &identity(Application::Portal, &t, 18444), "test").unwrap_err();
        assert!(
            f.to_string().contains("no certificate with thumbprint"),
            "{f}"
        );
        // Port 0 and a foreign IP are refused before the lock.
        let mut id = identity(Application::Portal, &t, 0);
        assert!(
            add_https_identity(&dd, &id, "test")
                .unwrap_err()
                .steps
                .is_empty()
        );
        id.port = 18445;
        id.ip = Some("192.0.2.77".parse().unwrap());
        let f = add_https_identity(&dd, &id, "test").unwrap_err();
        assert!(
            f.to_string().contains("not an address of this machine"),
            "{f}"
        );
    }
}
