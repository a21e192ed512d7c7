//! `reportctl`: the configuration manager on the command line.
//!
//! Each command group lives in its own module with a clap `Subcommand` (or `Args`) type and
//! a `run` function. Errors travel up as `anyhow::Error`; the binary prints one line and
//! exits 1. Listing and status commands honour `--json`.

pub mod catalog;
pub mod cert;
pub mod cluster;
pub mod config;
pub mod database;
pub mod init;
pub mod keys;
pub mod service;
pub mod ssl;
pub mod url;
pub mod user;
pub mod wmi;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use datadir::DataDir;

/// Exit code of `reportctl status` when the server is stopped (LSB convention).
pub const EXIT_STOPPED: i32 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "reportctl",
    version,
    about = "reportd configuration manager",
    after_help = after_help()
)]
pub struct Cli {
    /// Data dir of the instance (else $REPORTD_DATA_DIR, else ./reportd-data).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Management socket path (default: reportd.sock in the data dir).
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Machine-readable output (JSON) for listing and status commands.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new instance in the data dir: configuration, instance key, URL reservations.
    Init(init::InitArgs),
    /// Read or change settings of reportd.toml (SecureConnectionLevel, ...).
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// The report server database (catalog): create, status.
    #[command(subcommand)]
    Database(database::DatabaseCommand),
    /// Users of the report server.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Start the server in the background.
    Start,
    /// Stop the running server gracefully.
    Stop,
    /// Stop, then start the server.
    Restart,
    /// State of the server: exit 0 when running, 3 when stopped.
    Status,
    /// Catalog content: ls, mkdir, upload, rm.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// Certificates in the local store (My, Root).
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// URL reservations and virtual directories.
    #[command(subcommand)]
    Url(url::UrlCommand),
    /// SSL bindings: certificate to endpoint (IP:PORT or HOST:PORT), per application.
    #[command(subcommand)]
    Ssl(ssl::SslCommand),
    /// Web Service settings ("Web Service URL" page).
    #[command(subcommand)]
    Webservice(ssl::WebServiceCommand),
    /// Web Portal settings ("Web Portal URL" page).
    #[command(subcommand)]
    Portal(ssl::PortalCommand),
    /// The binding repository as HttpCfg/netsh show it.
    #[command(subcommand)]
    Httpcfg(ssl::HttpCfgCommand),
    /// Which reservation, application, binding and certificate serve URL.
    Explain { url: String },
    /// The WMI-named management API (MSReportServer_ConfigurationSetting methods) for scripts;
    /// exit 0 exactly when HRESULT is 0.
    Wmi(wmi::WmiArgs),
    /// The instance key: backup, restore, rotate (the rskeymgmt analogue).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The nodes sharing this PostgreSQL catalog: status, join, remove.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
}

/// What `--help` lists below the commands: the application names commands take, and the
/// setting keys of `config get|set`.
fn after_help() -> String {
    let mut s = String::from("Applications (the APP argument of url, ssl, explain):\n");
    for app in httpsys::Application::ALL {
        s.push_str(&format!("  {:<12} {}\n", app.to_string(), app.ssrs_name()));
    }
    s.push_str("\nSetting keys (`reportctl config get|set KEY`):\n");
    for k in datadir::config::SETTINGS {
        let set = if k.settable { "" } else { " (read-only)" };
        s.push_str(&format!("  {}{set}\n", k.key));
    }
    s
}

/// Global options every command sees.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub dd: DataDir,
    pub json: bool,
}

/// Runs a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let ctx = Ctx {
        dd: DataDir::resolve(cli.data_dir.as_deref()).with_socket(cli.socket),
        json: cli.json,
    };
    // Only init makes a data dir; every other command works on one that exists, and creates
    // nothing (no stray certs/ or logs/) in a directory that is not one.
    if !matches!(cli.command, Command::Init(_)) {
        ctx.dd.require_initialized()?;
    }
    let r = match cli.command {
        Command::Init(a) => init::run(&ctx, a),
        Command::Config(c) => config::run(&ctx, c),
        Command::Database(c) => database::run(&ctx, c),
        Command::User(c) => user::run(&ctx, c),
        Command::Start => service::start(&ctx),
        Command::Stop => service::stop(&ctx),
        Command::Restart => service::restart(&ctx),
        Command::Status => service::status(&ctx),
        Command::Catalog(c) => catalog::run(&ctx, c),
        Command::Cert(c) => cert::run(&ctx, c),
        Command::Url(c) => url::run(&ctx, c),
        Command::Ssl(c) => ssl::run_ssl(&ctx, c),
        Command::Webservice(c) => ssl::run_webservice(&ctx, c),
        Command::Portal(c) => ssl::run_portal(&ctx, c),
        Command::Httpcfg(c) => ssl::run_httpcfg(&ctx, c),
        Command::Explain { url } => ssl::explain(&ctx, &url),
        Command::Wmi(a) => wmi::run(&ctx, a),
        Command::Keys(c) => keys::run(&ctx, c),
        Command::Cluster(c) => cluster::run(&ctx, c),
    };
    r.map_err(with_remedy)
}

/// A library error with this front end's fix: the libraries say what is wrong and what to
/// change in terms of the operation; the `reportctl` command that changes it is added here.
fn with_remedy(e: anyhow::Error) -> anyhow::Error {
    let fix = e.chain().find_map(|c| {
        if let Some(m) = c.downcast_ref::<mgmt::Error>() {
            return match m {
                mgmt::Error::Bindings(b) => binding_remedy(b),
                other => mgmt_remedy(other),
            };
        }
        c.downcast_ref::<httpsys::Error>().and_then(binding_remedy)
    });
    match fix {
        Some(fix) => anyhow::anyhow!("{} ({fix})", crate::error_line(&e)),
        None => e,
    }
}

/// The `reportctl` flag naming `endpoint`.
pub(crate) fn endpoint_flag(endpoint: &httpsys::Endpoint) -> String {
    httpsys::repo::endpoint_flag(endpoint)
}

fn binding_remedy(e: &httpsys::Error) -> Option<String> {
    use httpsys::Error as E;
    Some(match e {
        E::NotReservedFor { app, endpoint } => format!(
            "`reportctl url reserve {app} https://+:{}`",
            endpoint.port()
        ),
        E::AlreadyBound {
            app,
            endpoint,
            wanted,
            ..
        } => format!(
            "to replace it: `reportctl ssl update {app} {wanted} {}`",
            endpoint_flag(endpoint)
        ),
        E::NothingToUpdate {
            app,
            endpoint,
            wanted,
        } => format!(
            "`reportctl ssl bind {app} {wanted} {}`",
            endpoint_flag(endpoint)
        ),
        E::NotBoundFor { app, endpoint, .. } => format!(
            "`reportctl ssl bind {app} THUMBPRINT {}`",
            endpoint_flag(endpoint)
        ),
        E::AppNotBound { .. } => "`reportctl ssl list` shows the bindings".into(),
        E::NoBinding { .. } => "`reportctl httpcfg query ssl` shows them".into(),
        E::NoReservation { .. } => "`reportctl url list` shows the reservations".into(),
        E::Corrupt(_) => "then `reportctl url reserve` the URLs again".into(),
        _ => return None,
    })
}

fn mgmt_remedy(e: &mgmt::Error) -> Option<String> {
    Some(match e {
        mgmt::Error::ReservationInUse { app, bindings, .. } => {
            let cmds: Vec<String> = bindings
                .iter()
                .map(|b| format!("`reportctl ssl unbind {app} {}`", endpoint_flag(b)))
                .collect();
            cmds.join(", ")
        }
        mgmt::Error::CertificateInUse { bindings, .. } => {
            let flag = bindings.first().map(endpoint_flag).unwrap_or_default();
            format!(
                "`reportctl ssl unbind APP {flag}`, or `reportctl ssl update APP NEW_THUMBPRINT {flag}`"
            )
        }
        mgmt::Error::Certificate {
            problem: mgmt::CertProblem::NoPrivateKey,
            ..
        } => "`reportctl cert import --pfx FILE`, or a PEM with `--key FILE`".into(),
        _ => return None,
    })
}

/// A current-thread runtime for the commands that talk to the catalog.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(f))
}

/// Who a command acts as, for created-by/modified-by: the operating-system user.
pub(crate) fn os_user() -> String {
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
