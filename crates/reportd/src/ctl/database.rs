//! `reportctl database create|status`: the report server database.

use anyhow::Context;
use clap::Subcommand;
use datadir::{Config, DataDir};
use httpsys::Repository;
use serde::Serialize;

use super::{Ctx, block_on, print_json};

#[derive(Debug, Subcommand)]
pub enum DatabaseCommand {
    /// Create (or connect to) the catalog and record it in reportd.toml.
    Create {
        /// sqlite:PATH (relative to the data dir; default sqlite:catalog.db) or
        /// postgres://USER@HOST:PORT/DB (created if absent, used if empty; a database that
        /// holds other tables is refused).
        #[arg(long)]
        url: Option<String>,
        /// A System Administrator to add (when `init` was given none).
        #[arg(long, requires = "admin_password_file", value_name = "USER")]
        admin_user: Option<String>,
        /// File whose first line is that administrator's password.
        #[arg(long, requires = "admin_user", value_name = "FILE")]
        admin_password_file: Option<std::path::PathBuf>,
        /// Go on although the database has no System Administrator (nobody can manage the
        /// instance over the web until `reportctl user add NAME --role "System Administrator"`).
        #[arg(long, conflicts_with = "admin_user")]
        no_admin: bool,
        /// Switch an instance that already has a database to this one.
        #[arg(long)]
        force: bool,
    },
    /// Backend, schema version and item count.
    Status,
}

/// How `database create` may finish.
#[derive(Debug, Default)]
pub struct CreateOptions {
    /// An administrator to add besides the one `init` left pending.
    pub admin: Option<(String, zeroize::Zeroizing<String>)>,
    /// Finish although no System Administrator exists.
    pub no_admin: bool,
    /// Replace the database the instance already uses.
    pub force: bool,
}

pub fn run(ctx: &Ctx, cmd: DatabaseCommand) -> anyhow::Result<i32> {
    match cmd {
        DatabaseCommand::Create {
            url,
            admin_user,
            admin_password_file,
            no_admin,
            force,
        } => {
            let url = url.unwrap_or_else(|| "sqlite:catalog.db".into());
            let admin = match (admin_user, admin_password_file) {
                (Some(u), Some(f)) => Some((
                    u,
                    datadir::read_password_file(&f).context("--admin-password-file")?,
                )),
                _ => None,
            };
            let opts = CreateOptions {
                admin,
                no_admin,
                force,
            };
            let summary = create_database(&ctx.dd, &url, &opts)?;
            println!("{summary}");
            let applied = mgmt::ops::apply(&ctx.dd)?;
            println!("{}", applied.describe());
            Ok(0)
        }
        DatabaseCommand::Status => status(ctx),
    }
}

/// The URL to open: a relative `sqlite:` path resolves against the data dir.
pub fn resolved_url(dd: &DataDir, url: &str) -> String {
    match datadir::config::resolve_sqlite_path(dd.root(), url) {
        Some(p) => format!("sqlite:{}", p.display()),
        None => url.to_owned(),
    }
}

/// Creates or connects to the catalog at `url`, moves the pending administrator (and the
/// one in `opts`) into it, and records the URL in reportd.toml. Nothing is recorded unless
/// all of that worked. Refused, before anything is created: switching an instance that has
/// a database to another without `opts.force`; a database that would have no System
/// Administrator without `opts.no_admin`. A database holding tables that are not a catalog
/// is refused by the catalog and left untouched.
pub fn create_database(dd: &DataDir, url: &str, opts: &CreateOptions) -> anyhow::Result<String> {
    dd.require_initialized()?;
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        anyhow::bail!(
            "unsupported database URL {url:?}; use sqlite:PATH or postgres://USER@HOST:PORT/DB"
        );
    }
    let admin = match &opts.admin {
        None => None,
        Some((name, password)) => {
            super::init::validate_user_name(name)?;
            catalog::password::check_policy(password)?;
            Some(datadir::PendingAdmin {
                name: name.clone(),
                password_hash: catalog::password::hash(password)?,
            })
        }
    };
    let _lock = dd.lock()?;
    let resolved = resolved_url(dd, url);
    let mut cfg = dd.load_config()?;
    let switched = match &cfg.settings.database_url {
        Some(old) if resolved_url(dd, old) != resolved => {
            let old = display_url(&resolved_url(dd, old));
            if !opts.force {
                anyhow::bail!(
                    "this instance already uses the report server database {old}; switching it to {} \
                     changes everything it serves: folders, reports, data sources, users and their roles \
                     come from the new database ({old} is kept as it is, and no longer used); \
                     pass --force to switch",
                    display_url(&resolved)
                );
            }
            Some(old)
        }
        _ => None,
    };
    let pending = dd.pending_admin()?;
    let new_admins: Vec<datadir::PendingAdmin> = pending.iter().cloned().chain(admin).collect();
    let (backend, version, admins) = block_on(async {
        if new_admins.is_empty() && !opts.no_admin {
            // Nobody to add: an existing catalog must have an administrator already. A
            // database that does not exist yet is not created for a refusal.
            let has_admin = match catalog::open(&resolved, false).await {
                Ok(cat) => cat.list_users().await?.iter().any(|u| u.is_system_admin()),
                // Tables that are not a catalog: say that, not that an administrator is missing.
                Err(e @ catalog::Error::Foreign(_)) => return Err(e.into()),
                Err(_) => false,
            };
            if !has_admin {
                anyhow::bail!(
                    "the report server database {} would have no System Administrator, so nobody could \
                     sign in to manage the instance; pass --admin-user NAME --admin-password-file FILE, \
                     or --no-admin to create it without one",
                    display_url(&resolved)
                );
            }
        }
        let cat = catalog::open(&resolved, true).await?;
        let mut added = Vec::new();
        for p in &new_admins {
            if cat.get_user(&p.name).await?.is_none() {
                cat.add_user(&catalog::NewUser {
                    name: p.name.clone(),
                    password_hash: p.password_hash.clone(),
                    system_roles: vec![catalog::Role::SystemAdministrator],
                })
                .await?;
                added.push(p.name.clone());
            }
        }
        anyhow::Ok((cat.backend(), cat.schema_version().await?, added))
    })??;
    cfg.settings.database_url = Some(url.to_owned());
    let repo = Repository::load(dd)?;
    Config::write(&dd.config_path(), &cfg.settings, &repo.repr())?;
    dd.clear_pending_admin()?;
    let mut s = format!(
        "Report server database ready: {backend} {} (schema version {version})",
        display_url(&resolved)
    );
    if let Some(old) = switched {
        s.push_str(&format!(
            "\nSwitched from {old}: content, users and roles now come from {}",
            display_url(&resolved)
        ));
    }
    for name in admins {
        s.push_str(&format!("\nSystem Administrator {name} added"));
    }
    if opts.no_admin && new_admins.is_empty() {
        s.push_str(
            "\nwarning: no System Administrator was added (--no-admin); add one with `reportctl user add NAME --role \"System Administrator\"`",
        );
    }
    Ok(s)
}

/// A database URL without any password it may carry.
pub fn display_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
    {
        let user = userinfo.split(':').next().unwrap_or("");
        return format!("{scheme}://{user}@{host}");
    }
    url.to_owned()
}

#[derive(Serialize)]
struct DbStatus {
    configured: bool,
    url: Option<String>,
    backend: Option<String>,
    schema_version: Option<i64>,
    item_count: Option<i64>,
    error: Option<String>,
}

fn status(ctx: &Ctx) -> anyhow::Result<i32> {
    let cfg = ctx.dd.load_config()?;
    let Some(url) = cfg.settings.database_url else {
        if ctx.json {
            print_json(&DbStatus {
                configured: false,
                url: None,
                backend: None,
                schema_version: None,
                item_count: None,
                error: None,
            })?;
        } else {
            println!("Database: not configured; run `reportctl database create`");
        }
        return Ok(1);
    };
    let resolved = resolved_url(&ctx.dd, &url);
    let r = block_on(async {
        let cat = catalog::open(&resolved, false).await?;
        anyhow::Ok((
            cat.backend(),
            cat.schema_version().await?,
            cat.item_count().await?,
        ))
    })?
    .with_context(|| format!("database {}", display_url(&resolved)));
    match r {
        Ok((backend, version, count)) => {
            if ctx.json {
                print_json(&DbStatus {
                    configured: true,
                    url: Some(display_url(&resolved)),
                    backend: Some(backend.into()),
                    schema_version: Some(version),
                    item_count: Some(count),
                    error: None,
                })?;
            } else {
                println!("Backend: {backend}");
                println!("URL: {}", display_url(&resolved));
                println!("Schema version: {version}");
                println!("Items: {count}");
            }
            Ok(0)
        }
        Err(e) => Err(e),
    }
}
