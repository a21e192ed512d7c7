//! `reportctl ssl|webservice|portal|httpcfg|explain`: SSL bindings, the Configuration
//! Manager's "HTTPS Certificate" + Apply, HttpCfg's view of the bindings, and `explain`.

use anyhow::bail;
use certstore::{CertStore, StoreName, Thumbprint};
use clap::{Args, Subcommand, ValueEnum};
use httpsys::repo::{BindOutcome, UnbindOutcome};
use httpsys::{Application, Endpoint, MinTls, Repository, Scheme, UrlReservation};
use mgmt::ops::{self, Applied, PolicyFlags};
use mgmt::urlapply;
use serde::Serialize;

use super::{Ctx, print_json};

/// `--ipport IP:PORT` or `--hostnameport HOST:PORT`, exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct EndpointArgs {
    /// IP:PORT; 0.0.0.0:PORT means every address.
    #[arg(long, value_name = "IP:PORT")]
    pub ipport: Option<String>,
    /// HOST:PORT, chosen by SNI.
    #[arg(long, value_name = "HOST:PORT")]
    pub hostnameport: Option<String>,
    /// PORT of a central-store binding (`ssl add APP --ccs PORT`).
    #[arg(long, value_name = "PORT")]
    pub ccs: Option<String>,
}

impl EndpointArgs {
    fn endpoint(&self) -> anyhow::Result<Endpoint> {
        Ok(match (&self.ipport, &self.hostnameport, &self.ccs) {
            (Some(s), None, None) => Endpoint::parse_ipport(s)?,
            (None, Some(s), None) => Endpoint::parse_hostnameport(s)?,
            (None, None, Some(s)) => Endpoint::parse_ccs(s)?,
            _ => bail!(
                "give exactly one of --ipport IP:PORT, --hostnameport HOST:PORT and --ccs PORT"
            ),
        })
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// Per-binding TLS policy flags.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Lowest TLS version accepted: 1.2 or 1.3.
    #[arg(long, value_name = "1.2|1.3")]
    pub min_tls: Option<String>,
    /// Offer HTTP/2 (ALPN h2).
    #[arg(long, value_enum)]
    pub http2: Option<OnOff>,
    /// Send Strict-Transport-Security.
    #[arg(long, value_enum)]
    pub hsts: Option<OnOff>,
}

impl PolicyArgs {
    fn flags(&self) -> anyhow::Result<PolicyFlags> {
        Ok(PolicyFlags {
            min_tls: self
                .min_tls
                .as_deref()
                .map(str::parse::<MinTls>)
                .transpose()?,
            http2: self.http2.map(|v| matches!(v, OnOff::On)),
            hsts: self.hsts.map(|v| matches!(v, OnOff::On)),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum SslCommand {
    /// Bind a certificate of store My to an endpoint for an application.
    Bind {
        app: Application,
        thumbprint: String,
        #[command(flatten)]
        endpoint: EndpointArgs,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Add a central-store binding (HTTP.sys `ccs=PORT`): each connection on PORT gets the
    /// certificate of store Cluster that covers its SNI name (the newest valid one), so a
    /// renewal in the Cluster store needs no rebinding. Needs a PostgreSQL catalog.
    Add {
        app: Application,
        /// The https port.
        #[arg(long, value_name = "PORT")]
        ccs: String,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Remove one application's use of a binding (the binding goes with its last user).
    Unbind {
        app: Application,
        #[command(flatten)]
        endpoint: EndpointArgs,
    },
    /// Replace the certificate of a binding, for every application using it (renewal).
    Update {
        app: Application,
        thumbprint: String,
        #[command(flatten)]
        endpoint: EndpointArgs,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// The SSL bindings and their state.
    List,
}

#[derive(Debug, Subcommand)]
pub enum WebServiceCommand {
    /// Select an HTTPS certificate for the Web Service and Apply: reserve https://+:PORT
    /// and bind the certificate.
    Https(HttpsArgs),
}

#[derive(Debug, Subcommand)]
pub enum PortalCommand {
    /// Add an HTTPS identity for the Web Portal: reserve the URL and bind the certificate.
    AddHttpsIdentity {
        #[command(flatten)]
        https: HttpsArgs,
        /// Host name of the identity (SNI binding HOST:PORT); default: every host.
        #[arg(long)]
        host: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct HttpsArgs {
    /// Thumbprint of a certificate in store My.
    #[arg(long, value_name = "THUMBPRINT")]
    pub cert: String,
    #[arg(long, default_value_t = 443)]
    pub port: u16,
    /// `all` (every address) or one IP address of this machine.
    #[arg(long, default_value = "all")]
    pub ip: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Subcommand)]
pub enum HttpCfgCommand {
    /// Query the SSL bindings (as `httpcfg query ssl` / `netsh http show sslcert`).
    Query {
        #[arg(value_parser = ["ssl"])]
        what: String,
    },
    /// Delete an SSL binding whoever uses it; works when its certificate is gone.
    Delete {
        #[arg(value_parser = ["ssl"])]
        what: String,
        #[command(flatten)]
        endpoint: EndpointArgs,
    },
}

/// An operation's error with the `reportctl` command that fixes it, where one does.
fn with_cli_fix(e: mgmt::Error) -> anyhow::Error {
    match &e {
        mgmt::Error::Certificate {
            problem: mgmt::CertProblem::NotFound,
            message,
        } if message.contains("store Root") => {
            anyhow::anyhow!("{e} (`reportctl cert import --pfx FILE --password-file F`)")
        }
        mgmt::Error::Certificate {
            problem: mgmt::CertProblem::NotFound,
            ..
        } => anyhow::anyhow!("{e} (`reportctl cert list` shows them)"),
        _ => e.into(),
    }
}

fn thumb(s: &str) -> anyhow::Result<Thumbprint> {
    Ok(s.parse::<Thumbprint>()?)
}

pub fn run_ssl(ctx: &Ctx, cmd: SslCommand) -> anyhow::Result<i32> {
    let dd = &ctx.dd;
    dd.require_initialized()?;
    match cmd {
        SslCommand::Bind {
            app,
            thumbprint,
            endpoint,
            policy,
        } => {
            let t = thumb(&thumbprint)?;
            let ep = endpoint.endpoint()?;
            if ep.is_ccs() {
                bail!(
                    "a central-store binding names no certificate: use `reportctl ssl add {app} --ccs {}`",
                    ep.port()
                );
            }
            let (outcome, applied) =
                ops::ssl_bind(dd, app, &t, &ep, &policy.flags()?).map_err(with_cli_fix)?;
            match outcome {
                BindOutcome::Created => println!(
                    "Bound certificate {t} to {ep} for {}; {}",
                    app.ssrs_name(),
                    applied.describe()
                ),
                BindOutcome::Updated => println!(
                    "{ep} (certificate {t}) now serves {}; {}",
                    app.ssrs_name(),
                    applied.describe()
                ),
                BindOutcome::Unchanged => println!(
                    "{ep} is already bound to {t} for {}; nothing to do",
                    app.ssrs_name()
                ),
            }
        }
        SslCommand::Add { app, ccs, policy } => {
            let Endpoint::Ccs(port) = Endpoint::parse_ccs(&ccs)? else {
                bail!("--ccs takes a port");
            };
            let (outcome, applied) =
                mgmt::certops::ccs_bind(dd, app, port, &policy.flags()?).map_err(with_cli_fix)?;
            match outcome {
                BindOutcome::Created => println!(
                    "Added central-store binding ccs:{port} for {}: each connection gets the store Cluster certificate for its SNI name; {}",
                    app.ssrs_name(),
                    applied.describe()
                ),
                BindOutcome::Updated => println!(
                    "ccs:{port} now serves {}; {}",
                    app.ssrs_name(),
                    applied.describe()
                ),
                BindOutcome::Unchanged => println!(
                    "ccs:{port} already serves {}; nothing to do",
                    app.ssrs_name()
                ),
            }
        }
        SslCommand::Unbind { app, endpoint } => {
            let ep = endpoint.endpoint()?;
            let (outcome, applied) = ops::ssl_unbind(dd, app, &ep)?;
            match outcome {
                UnbindOutcome::BindingRemoved => {
                    println!("Removed the SSL binding {ep}; {}", applied.describe())
                }
                UnbindOutcome::AppRemoved(rest) => println!(
                    "{} no longer uses {ep}; the binding stays for {}; {}",
                    app.ssrs_name(),
                    rest.iter()
                        .map(|a| a.ssrs_name())
                        .collect::<Vec<_>>()
                        .join(", "),
                    applied.describe()
                ),
            }
        }
        SslCommand::Update {
            app,
            thumbprint,
            endpoint,
            policy,
        } => {
            let t = thumb(&thumbprint)?;
            let ep = endpoint.endpoint()?;
            let (apps, applied) =
                ops::ssl_update(dd, app, &t, &ep, &policy.flags()?).map_err(with_cli_fix)?;
            println!(
                "{ep} now uses certificate {t} for {}; {}",
                apps.iter()
                    .map(|a| a.ssrs_name())
                    .collect::<Vec<_>>()
                    .join(", "),
                applied.describe()
            );
        }
        SslCommand::List => list(ctx)?,
    }
    Ok(0)
}

#[derive(Serialize)]
struct BindingRow {
    endpoint: String,
    kind: &'static str,
    thumbprint: String,
    store: String,
    applications: Vec<&'static str>,
    min_tls: &'static str,
    http2: bool,
    hsts: bool,
    state: String,
}

fn rows(ctx: &Ctx) -> anyhow::Result<Vec<BindingRow>> {
    let repo = Repository::load(&ctx.dd)?;
    let store = CertStore::open(&ctx.dd.certs_dir())?;
    Ok(repo
        .ssl_bindings
        .iter()
        .map(|b| {
            let present = b
                .thumbprint
                .parse::<Thumbprint>()
                .map(|t| store.contains(StoreName::My, &t))
                .unwrap_or(false);
            BindingRow {
                endpoint: b.endpoint.to_string(),
                kind: match b.endpoint {
                    Endpoint::IpPort(..) => "ipport",
                    Endpoint::HostnamePort(..) => "hostnameport",
                    Endpoint::Ccs(..) => "ccs",
                },
                thumbprint: b.thumbprint.clone(),
                store: b.store.clone(),
                applications: b.apps.iter().map(|a| a.ssrs_name()).collect(),
                min_tls: match b.policy.min_tls {
                    MinTls::Tls12 => "1.2",
                    MinTls::Tls13 => "1.3",
                },
                http2: b.policy.http2,
                hsts: b.policy.hsts,
                state: if present {
                    "ok".into()
                } else if b.endpoint.is_ccs() {
                    "by SNI from store Cluster".into()
                } else {
                    "certificate missing".into()
                },
            }
        })
        .collect())
}

fn list(ctx: &Ctx) -> anyhow::Result<()> {
    let rows = rows(ctx)?;
    if ctx.json {
        return print_json(&rows);
    }
    println!(
        "{:<28} {:<40} {:<8} {:<5} {:<5} {:<20} APPLICATIONS",
        "ENDPOINT", "THUMBPRINT", "MIN TLS", "H2", "HSTS", "STATE"
    );
    for r in rows {
        println!(
            "{:<28} {:<40} {:<8} {:<5} {:<5} {:<20} {}",
            r.endpoint,
            r.thumbprint,
            r.min_tls,
            if r.http2 { "on" } else { "off" },
            if r.hsts { "on" } else { "off" },
            r.state,
            r.applications.join(", ")
        );
    }
    Ok(())
}

/// The Configuration Manager's Apply (`mgmt::urlapply`: reserve and bind, one commit):
/// one line per step, then the URLs that work and how clients trust the certificate.
fn https_identity(
    ctx: &Ctx,
    app: Application,
    a: &HttpsArgs,
    host: Option<&str>,
) -> anyhow::Result<i32> {
    let dd = &ctx.dd;
    dd.require_initialized()?;
    let t = thumb(&a.cert)?;
    let ip =
        if a.ip.eq_ignore_ascii_case("all") {
            None
        } else {
            Some(a.ip.parse::<std::net::IpAddr>().map_err(|_| {
                anyhow::anyhow!("--ip must be `all` or an IP address, not {:?}", a.ip)
            })?)
        };
    let id = urlapply::HttpsIdentity {
        app,
        thumbprint: t,
        ip,
        host: host.map(str::to_owned),
        port: a.port,
        policy: a.policy.flags()?,
    };
    let done = match app {
        Application::WebService => urlapply::apply_web_service_url(
            dd,
            &urlapply::WebServiceUrl {
                vdir: None,
                https: Some(id),
            },
            "reportctl",
        ),
        Application::Portal => urlapply::add_https_identity(dd, &id, "reportctl"),
    };
    let report = match done {
        Ok(r) => r,
        Err(f) => {
            for s in &f.steps {
                println!("{s}");
            }
            return Err(with_cli_fix(f.error).context("nothing was changed"));
        }
    };
    for s in &report.steps {
        println!("{s}");
    }
    match report.applied {
        Applied::Stopped => println!("The server is stopped: `reportctl start` serves these URLs"),
        _ => println!("Applied"),
    }
    println!("URLs of {}:", app.ssrs_name());
    for u in &report.urls {
        println!("  {u}");
    }
    print_trust_hint(&t);
    Ok(0)
}

/// The last step of the by-hand TLS workflow: how clients come to trust the certificate.
fn print_trust_hint(t: &certstore::Thumbprint) {
    println!("Clients must trust this certificate (or its issuer):");
    println!(
        "  reportctl cert export {t} --pem {t}.pem    # give the file to clients: curl --cacert {t}.pem, a browser's import"
    );
    println!(
        "  reportctl cert trust {t}                   # or trust it in this machine's OS store"
    );
}

/// A URL a person can open for a reservation: wildcards become `localhost`.
pub fn browse_url(u: &UrlReservation, vdir: &str) -> String {
    urlapply::browsable_url(u, vdir)
}

pub fn run_webservice(ctx: &Ctx, cmd: WebServiceCommand) -> anyhow::Result<i32> {
    match cmd {
        WebServiceCommand::Https(a) => https_identity(ctx, Application::WebService, &a, None),
    }
}

pub fn run_portal(ctx: &Ctx, cmd: PortalCommand) -> anyhow::Result<i32> {
    match cmd {
        PortalCommand::AddHttpsIdentity { https, host } => {
            https_identity(ctx, Application::Portal, &https, host.as_deref())
        }
    }
}

pub fn run_httpcfg(ctx: &Ctx, cmd: HttpCfgCommand) -> anyhow::Result<i32> {
    let dd = &ctx.dd;
    dd.require_initialized()?;
    match cmd {
        HttpCfgCommand::Query { .. } => {
            let rows = rows(ctx)?;
            if ctx.json {
                print_json(&rows)?;
                return Ok(0);
            }
            println!("SSL Certificate bindings:");
            println!("-------------------------");
            for r in rows {
                println!();
                let label = if r.kind == "ipport" {
                    "IP:port"
                } else {
                    "Hostname:port"
                };
                println!("    {label:<40}: {}", r.endpoint);
                println!("    {:<40}: {}", "Certificate Hash", r.thumbprint);
                println!("    {:<40}: {}", "Certificate Store Name", r.store);
                println!("    {:<40}: {}", "Applications", r.applications.join(", "));
                println!("    {:<40}: {}", "Minimum TLS Version", r.min_tls);
                println!(
                    "    {:<40}: {}",
                    "HTTP/2",
                    if r.http2 { "Enabled" } else { "Disabled" }
                );
                println!(
                    "    {:<40}: {}",
                    "HSTS",
                    if r.hsts { "Enabled" } else { "Disabled" }
                );
                println!("    {:<40}: {}", "State", r.state);
            }
        }
        HttpCfgCommand::Delete { endpoint, .. } => {
            let ep = endpoint.endpoint()?;
            let (b, applied) = ops::ssl_delete(dd, &ep)?;
            println!(
                "Deleted the SSL binding {ep} (certificate {}, used by {}); {}",
                b.thumbprint,
                b.apps
                    .iter()
                    .map(|a| a.ssrs_name())
                    .collect::<Vec<_>>()
                    .join(", "),
                applied.describe()
            );
        }
    }
    Ok(0)
}

/// `explain URL`: which reservation, application, binding and certificate serve it
/// (`mgmt::ops::explain`); prints it, exit status 0 either way.
pub fn explain(ctx: &Ctx, url: &str) -> anyhow::Result<i32> {
    let dd = &ctx.dd;
    dd.require_initialized()?;
    let probe = httpsys::explain::Probe::parse(url)?;
    let e = ops::explain(dd, &probe)?;
    if ctx.json {
        print_json(&e)?;
        return Ok(0);
    }
    println!("URL: {}", e.probe.url);
    match &e.route {
        Some(r) => {
            println!("Application: {}", r.app.ssrs_name());
            println!("Virtual directory: {}", r.vdir);
            println!("Reservation: {}", r.reservation);
        }
        None => println!("Application: (none)"),
    }
    if e.probe.scheme == Scheme::Https {
        match &e.binding {
            Some(b) => {
                println!("SSL binding: {} (chosen {})", b.endpoint, b.matched_by);
                println!("Certificate: {}", b.thumbprint);
                if let Some(c) = &b.certificate {
                    println!("Certificate subject: {}", c.subject);
                    println!("Certificate days left: {}", c.days_left);
                }
            }
            None => println!("SSL binding: (none)"),
        }
    }
    for n in &e.findings {
        println!("Note: {n}");
    }
    Ok(0)
}
