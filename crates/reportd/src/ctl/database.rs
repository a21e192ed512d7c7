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
        /// postgres://USER@HOST:PORT/DB (created if absent, used if empty).
        #[arg(long)]
        url: Option<String>,
    },
    /// Backend, schema version and item count.
    Status,
}

pub fn run(ctx: &Ctx, cmd: DatabaseCommand) -> anyhow::Result<i32> {
    match cmd {
        DatabaseCommand::Create { url } => {
            let url = url.unwrap_or_else(|| "sqlite:catalog.db".into());
            let summary = create_database(&ctx.dd, &url)?;
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

/// Creates or connects to the catalog at `url`, moves the pending administrator into it,
/// and records the URL in reportd.toml. Nothing is recorded unless all of that worked.
pub fn create_database(dd: &DataDir, url: &str) -> anyhow::Result<String> {
    dd.require_initialized()?;
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        anyhow::bail!(
            "unsupported database URL {url:?}; use sqlite:PATH or postgres://USER@HOST:PORT/DB"
        );
    }
    let _lock = dd.lock()?;
    let resolved = resolved_url(dd, url);
    let pending = dd.pending_admin()?;
    let (backend, version) = block_on(async {
        let cat = catalog::open(&resolved, true).await?;
        if let Some(p) = &pending {
            match cat.get_user(&p.name).await? {
                Some(_) => {}
                None => {
                    cat.add_user(&catalog::NewUser {
                        name: p.name.clone(),
                        password_hash: p.password_hash.clone(),
                        system_roles: vec![catalog::Role::SystemAdministrator],
                    })
                    .await?
                }
            }
        }
        anyhow::Ok((cat.backend(), cat.schema_version().await?))
    })??;
    let mut cfg = dd.load_config()?;
    cfg.settings.database_url = Some(url.to_owned());
    let repo = Repository::load(dd)?;
    Config::write(&dd.config_path(), &cfg.settings, &repo.repr())?;
    dd.clear_pending_admin()?;
    let mut s = format!(
        "Report server database ready: {backend} {} (schema version {version})",
        display_url(&resolved)
    );
    if let Some(p) = pending {
        s.push_str(&format!("\nSystem Administrator {} added", p.name));
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
