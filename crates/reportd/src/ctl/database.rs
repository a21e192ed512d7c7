//! `reportctl database create|status`: the report server database.

use anyhow::Context;
use clap::Subcommand;
use datadir::{DataDir, DatabaseUrl};
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

pub use mgmt::database::CreateOptions;

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
                (Some(u), Some(f)) => {
                    let password =
                        datadir::read_password_file(&f).context("--admin-password-file")?;
                    super::init::validate_user_name(&u)?;
                    Some(datadir::PendingAdmin {
                        name: u,
                        password_hash: catalog::password::hash(&password)?,
                    })
                }
                _ => None,
            };
            let opts = CreateOptions {
                admin,
                no_admin,
                force,
            };
            let (summary, applied) = create_database(&ctx.dd, &url, &opts)?;
            println!("{summary}");
            println!("{}", applied.describe());
            Ok(0)
        }
        DatabaseCommand::Status => status(ctx),
    }
}

/// `database create` (and quickstart): `mgmt::database::create`, its refusals given the
/// flags that change them; returns the lines to print and how the change was applied.
pub fn create_database(
    dd: &DataDir,
    url: &str,
    opts: &CreateOptions,
) -> anyhow::Result<(String, mgmt::ops::Applied)> {
    dd.require_initialized()?;
    let url = DatabaseUrl::parse(url).context("--url")?;
    let c = match mgmt::database::create(dd, &url, opts) {
        Ok(c) => c,
        Err(e @ mgmt::Error::WouldSwitchDatabase { .. }) => {
            anyhow::bail!("{e}; pass --force to switch")
        }
        Err(e @ mgmt::Error::NoAdministrator { .. }) => anyhow::bail!(
            "{e}; pass --admin-user NAME --admin-password-file FILE, or --no-admin to create it without one"
        ),
        Err(e) => return Err(e.into()),
    };
    let mut s = format!(
        "Report server database ready: {} {} (schema version {})",
        c.backend, c.url, c.schema_version
    );
    if let Some(old) = &c.switched_from {
        s.push_str(&format!(
            "\nSwitched from {old}: content, users and roles now come from {}",
            c.url
        ));
    }
    for name in &c.admins_added {
        s.push_str(&format!("\nSystem Administrator {name} added"));
    }
    if c.without_admin {
        s.push_str(
            "\nwarning: the database has no System Administrator (--no-admin); add one with `reportctl user add NAME --role \"System Administrator\"`",
        );
    }
    Ok((s, c.applied))
}

/// The configured database, or the error naming `database create` when there is none.
pub fn configured(dd: &DataDir) -> anyhow::Result<DatabaseUrl> {
    dd.load_config()?.settings.database()?.ok_or_else(|| {
        anyhow::anyhow!(
            "the report server database does not exist yet; run `reportctl database create`"
        )
    })
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
    let Some(url) = cfg.settings.database()? else {
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
    let resolved = url.connect_string(ctx.dd.root());
    let r = block_on(async {
        let cat = catalog::open(&resolved, false).await?;
        anyhow::Ok((
            cat.backend(),
            cat.schema_version().await?,
            cat.item_count().await?,
        ))
    })?
    .with_context(|| format!("database {url}"));
    match r {
        Ok((backend, version, count)) => {
            if ctx.json {
                print_json(&DbStatus {
                    configured: true,
                    url: Some(url.to_string()),
                    backend: Some(backend.into()),
                    schema_version: Some(version),
                    item_count: Some(count),
                    error: None,
                })?;
            } else {
                println!("Backend: {backend}");
                println!("URL: {url}");
                println!("Schema version: {version}");
                println!("Items: {count}");
            }
            Ok(0)
        }
        Err(e) => Err(e),
    }
}
