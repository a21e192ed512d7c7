//! `reportctl user add|remove|passwd|roles|list`: users live in the catalog.
//!
//! Every change is one of `mgmt::users`' operations (the portal's Users and Security pages
//! call the same ones): validated, written to the catalog, reported to a running server
//! over the management socket (`CatalogChanged` with its audit line) so that credentials it
//! cached stop working at its next request. This module parses, calls, prints, and adds the
//! CLI's own fix to a refusal.

use std::path::PathBuf;

use anyhow::Context;
use catalog::{ItemPath, Role};
use clap::Subcommand;
use serde::Serialize;

use super::{Ctx, block_on, print_json};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user with a password from a file.
    Add {
        name: String,
        /// File whose first line is the password.
        #[arg(long, value_name = "FILE")]
        password_file: PathBuf,
        /// System Administrator, System User (system roles) or Browser (default),
        /// Publisher, Content Manager (item roles, assigned on / and inherited).
        #[arg(long, default_value = "Browser")]
        role: String,
    },
    /// Remove a user and their role assignments (not the last System Administrator).
    Remove { name: String },
    /// Change a user's password, read from a file.
    Passwd {
        name: String,
        /// File whose first line is the new password.
        #[arg(long, value_name = "FILE")]
        password_file: PathBuf,
    },
    /// Set a user's system roles to exactly those given (none: no system role); the last
    /// System Administrator keeps the role.
    Roles {
        name: String,
        /// "System Administrator" or "System User"; repeat for both, leave out for none.
        #[arg(long, value_name = "ROLE")]
        system_role: Vec<String>,
    },
    /// List users and their roles (`--json` for machine-readable output).
    List,
}

/// Opens the configured catalog (error naming `database create` when there is none).
pub async fn open_configured(dd: &datadir::DataDir) -> anyhow::Result<catalog::SharedCatalog> {
    let url = super::database::configured(dd)?;
    Ok(catalog::open(&url.connect_string(dd.root()), false).await?)
}

#[derive(Serialize)]
struct UserRow {
    name: String,
    system_roles: Vec<String>,
    root_roles: Vec<String>,
}

pub fn run(ctx: &Ctx, cmd: UserCommand) -> anyhow::Result<i32> {
    match cmd {
        UserCommand::Add {
            name,
            password_file,
            role,
        } => {
            let role: Role = role.parse()?;
            let password =
                datadir::read_password_file(&password_file).context("--password-file")?;
            let hash = || async { catalog::password::hash(&password) };
            user_op(ctx, "NAME", async |u| {
                u.add(&name, role, &password, hash).await
            })?;
            let scope = if role.is_system() {
                "system role"
            } else {
                "item role on /"
            };
            println!("User {name} added ({scope}: {role})");
            Ok(0)
        }
        UserCommand::Remove { name } => {
            user_op(ctx, "NAME", async |u| u.remove(&name).await)?;
            println!("User {name} removed");
            Ok(0)
        }
        UserCommand::Passwd {
            name,
            password_file,
        } => {
            let password =
                datadir::read_password_file(&password_file).context("--password-file")?;
            let hash = || async { catalog::password::hash(&password) };
            user_op(ctx, "NAME", async |u| {
                u.set_password(&name, &password, hash).await
            })?;
            println!("Password of {name} changed");
            Ok(0)
        }
        UserCommand::Roles { name, system_role } => {
            let roles = system_role
                .iter()
                .map(|r| r.parse::<Role>())
                .collect::<Result<Vec<_>, _>>()?;
            user_op(ctx, "--system-role", async |u| {
                u.set_system_roles(&name, &roles).await
            })?;
            let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
            if names.is_empty() {
                println!("{name} now holds no system role");
            } else {
                println!("{name} now holds the system role(s) {}", names.join(", "));
            }
            Ok(0)
        }
        UserCommand::List => {
            let rows = block_on(async {
                let cat = open_configured(&ctx.dd).await?;
                let root = cat
                    .get_policies(&ItemPath::root())
                    .await?
                    .unwrap_or_default();
                let mut rows = Vec::new();
                for u in cat.list_users().await? {
                    let root_roles = root
                        .iter()
                        .filter(|p| p.user.eq_ignore_ascii_case(&u.name))
                        .flat_map(|p| p.roles.iter().map(|r| r.name().to_string()))
                        .collect();
                    rows.push(UserRow {
                        system_roles: u
                            .system_roles
                            .iter()
                            .map(|r| r.name().to_string())
                            .collect(),
                        name: u.name,
                        root_roles,
                    });
                }
                anyhow::Ok(rows)
            })??;
            if ctx.json {
                print_json(&rows)?;
            } else {
                println!("{:<24} {:<28} ROLES ON /", "NAME", "SYSTEM ROLES");
                for r in rows {
                    println!(
                        "{:<24} {:<28} {}",
                        r.name,
                        r.system_roles.join(", "),
                        r.root_roles.join(", ")
                    );
                }
            }
            Ok(0)
        }
    }
}

/// Runs one `mgmt::users` operation on the configured catalog, by the OS user; a refusal
/// gets this front end's fix, pointing at `arg`.
fn user_op<T>(
    ctx: &Ctx,
    arg: &str,
    op: impl AsyncFnOnce(mgmt::users::Users<'_>) -> mgmt::Result<T>,
) -> anyhow::Result<T> {
    let me = super::os_user();
    block_on(async {
        let cat = open_configured(&ctx.dd).await?;
        let users = mgmt::users::Users {
            cat: &*cat,
            dd: &ctx.dd,
            by: mgmt::users::Actor {
                name: &me,
                front_end: mgmt::users::FrontEnd::Cli,
            },
        };
        op(users).await.map_err(|e| cli_fix(e, arg))
    })?
}

/// A refused user operation with the fix in this front end's terms (`arg` names the
/// argument that was wrong).
fn cli_fix(e: mgmt::Error, arg: &str) -> anyhow::Error {
    match e {
        mgmt::Error::User(p @ mgmt::users::UserProblem::InvalidName(_)) => {
            anyhow::anyhow!("{p}; pass another {arg}")
        }
        mgmt::Error::User(p @ mgmt::users::UserProblem::NotSystemRole(_)) => {
            anyhow::anyhow!("{p}; give --system-role \"System Administrator\" or \"System User\"")
        }
        mgmt::Error::Catalog(c @ catalog::Error::UnknownUser(_)) => {
            anyhow::anyhow!("{c}; `reportctl user list` shows the users")
        }
        mgmt::Error::Catalog(c @ catalog::Error::UserExists(_)) => anyhow::anyhow!(
            "{c}; change their password with `reportctl user passwd` or choose another NAME"
        ),
        e => e.into(),
    }
}
