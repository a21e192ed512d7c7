//! `reportctl user add|remove|passwd|list`: users live in the catalog.
//!
//! Every change is written to the catalog (which bumps its generation) and then reported
//! to a running server over the management socket (`CatalogChanged`), so credentials it
//! cached for a removed user or an old password stop working at its next request. The
//! catalog refuses to remove the last System Administrator.

use std::path::PathBuf;

use anyhow::Context;
use catalog::{ItemPath, NewUser, Policy, Role};
use clap::Subcommand;
use serde::Serialize;

use super::{Ctx, block_on, print_json};
use crate::ctl::init::validate_user_name;

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
            validate_user_name(&name)?;
            let role: Role = role.parse()?;
            let password =
                datadir::read_password_file(&password_file).context("--password-file")?;
            catalog::password::check_policy(&password)?;
            let hash = catalog::password::hash(&password)?;
            block_on(async {
                let cat = open_configured(&ctx.dd).await?;
                cat.add_user(&NewUser {
                    name: name.clone(),
                    password_hash: hash,
                    system_roles: if role.is_system() { vec![role] } else { vec![] },
                })
                .await?;
                if !role.is_system() {
                    let root = ItemPath::root();
                    let mut policies = cat.get_policies(&root).await?.unwrap_or_default();
                    match policies
                        .iter_mut()
                        .find(|p| p.user.eq_ignore_ascii_case(&name))
                    {
                        Some(p) if !p.roles.contains(&role) => p.roles.push(role),
                        Some(_) => {}
                        None => policies.push(Policy {
                            user: name.clone(),
                            roles: vec![role],
                        }),
                    }
                    cat.set_policies(&root, Some(&policies)).await?;
                }
                anyhow::Ok(())
            })??;
            mgmt::ops::catalog_changed(&ctx.dd);
            let scope = if role.is_system() {
                "system role"
            } else {
                "item role on /"
            };
            println!("User {name} added ({scope}: {role})");
            Ok(0)
        }
        UserCommand::Remove { name } => {
            block_on(async {
                let cat = open_configured(&ctx.dd).await?;
                cat.delete_user(&name).await?;
                anyhow::Ok(())
            })??;
            mgmt::ops::catalog_changed(&ctx.dd);
            println!("User {name} removed");
            Ok(0)
        }
        UserCommand::Passwd {
            name,
            password_file,
        } => {
            let password =
                datadir::read_password_file(&password_file).context("--password-file")?;
            catalog::password::check_policy(&password)?;
            block_on(async {
                let cat = open_configured(&ctx.dd).await?;
                // Hash only for a user that exists: the error names the user at once.
                if cat.get_user(&name).await?.is_none() {
                    return Err(catalog::Error::UnknownUser(name.clone()).into());
                }
                let hash = catalog::password::hash(&password)?;
                cat.set_password_hash(&name, &hash).await?;
                anyhow::Ok(())
            })??;
            mgmt::ops::catalog_changed(&ctx.dd);
            println!("Password of {name} changed");
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
