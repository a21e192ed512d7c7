//! `reportctl init`: a new instance in the data dir.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use datadir::{Config, DataDir, PendingAdmin, Settings};
use httpsys::{Application, Repository, UrlReservation};

use super::Ctx;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Port of the http reservation both applications get (http://+:PORT).
    #[arg(long, default_value_t = 8080)]
    pub http_port: u16,
    /// Name of a System Administrator to create with the report server database.
    #[arg(long, requires = "admin_password_file", value_name = "USER")]
    pub admin_user: Option<String>,
    /// File whose first line is that administrator's password.
    #[arg(long, requires = "admin_user", value_name = "FILE")]
    pub admin_password_file: Option<PathBuf>,
}

/// What a new instance gets.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub http_port: u16,
    /// Administrator name and password, kept hashed until the catalog exists.
    pub admin: Option<(String, zeroize::Zeroizing<String>)>,
    /// Recorded as the owner of the reservations.
    pub owner: &'static str,
}

/// Creates the instance: instance key, binding repository with `http://+:PORT` for both
/// applications, pending administrator, and — last, so that a crash before it leaves a data
/// dir that is not initialized — `reportd.toml` with SecureConnectionLevel 0.
pub fn init_instance(dd: &DataDir, opts: &InitOptions) -> anyhow::Result<()> {
    if dd.is_initialized() {
        return Err(datadir::Error::AlreadyInitialized(dd.root().to_owned()).into());
    }
    if opts.http_port == 0 {
        bail!("--http-port must be from 1 to 65535");
    }
    // Validate and hash before touching the disk.
    let pending = match &opts.admin {
        None => None,
        Some((name, password)) => {
            validate_user_name(name)?;
            catalog::password::check_policy(password)?;
            Some(PendingAdmin {
                name: name.clone(),
                password_hash: catalog::password::hash(password)?,
            })
        }
    };
    dd.create_dirs()?;
    let _lock = dd.lock()?;
    if dd.is_initialized() {
        return Err(datadir::Error::AlreadyInitialized(dd.root().to_owned()).into());
    }
    dd.create_instance_key()?;
    let mut repo = Repository::default();
    let url: UrlReservation = format!("http://+:{}", opts.http_port).parse()?;
    for app in Application::ALL {
        repo.reserve(app, url.clone(), opts.owner)?;
    }
    repo.save(dd)?; // reportd.toml does not exist yet: only bindings.json is written
    if let Some(p) = &pending {
        dd.set_pending_admin(p)?;
    }
    let settings = Settings::new(uuid::Uuid::new_v4().to_string());
    Config::write(&dd.config_path(), &settings, &repo.repr())?;
    Ok(())
}

/// User names as `mgmt::users` accepts them (one rule for every front end).
pub fn validate_user_name(name: &str) -> anyhow::Result<()> {
    Ok(mgmt::users::validate_name(name)?)
}

pub fn run(ctx: &Ctx, a: InitArgs) -> anyhow::Result<i32> {
    let admin = match (&a.admin_user, &a.admin_password_file) {
        (Some(u), Some(f)) => Some((
            u.clone(),
            datadir::read_password_file(f).context("--admin-password-file")?,
        )),
        _ => None,
    };
    init_instance(
        &ctx.dd,
        &InitOptions {
            http_port: a.http_port,
            admin,
            owner: "reportctl init",
        },
    )?;
    println!(
        "Initialized report server instance in {}",
        ctx.dd.root().display()
    );
    // Reserved as http://+:PORT (every host name); printed as a browser opens it.
    println!(
        "  Web Service URL: http://localhost:{}/ReportServer",
        a.http_port
    );
    println!(
        "  Web Portal URL:  http://localhost:{}/Reports",
        a.http_port
    );
    println!("  SecureConnectionLevel: 0");
    match &a.admin_user {
        Some(u) => {
            println!("  System Administrator {u}: created with the report server database");
            println!("Next: `reportctl database create`, then `reportctl start`.");
        }
        None => {
            eprintln!(
                "warning: no System Administrator: nobody will be able to sign in and manage this instance; \
                 give one to `reportctl database create --admin-user NAME --admin-password-file FILE` \
                 (or pass --no-admin there to go on without one)"
            );
            println!(
                "Next: `reportctl database create --admin-user NAME --admin-password-file FILE`, then `reportctl start`."
            );
        }
    }
    Ok(0)
}
