//! `reportctl keys backup|restore|rotate`: the encryption key (the `rskeymgmt` analogue):
//! the instance key of a one-node instance, the cluster key of a PostgreSQL cluster (then
//! every command acts on the whole cluster and running nodes pick the change up live).
//!
//! Each command calls one operation of `mgmt::keys` and prints what it did; the password
//! comes from a file (never from the command line, where `ps` would show it). A refused
//! command (a wrong password, another key) is logged too.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::{Ctx, print_json};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write the encryption key (the cluster key in a cluster), sealed under a password, to
    /// FILE (rskeymgmt -e).
    Backup {
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// File whose first line is the password (at least 8 characters).
        #[arg(long, value_name = "FILE")]
        password_file: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Replace the encryption key by the one in a backup (rskeymgmt -a); in a cluster the
    /// backed-up key becomes the cluster's and this node is joined with it.
    Restore {
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        #[arg(long, value_name = "FILE")]
        password_file: PathBuf,
    },
    /// A new encryption key; every stored credential (in a cluster also every Cluster-store
    /// key and every node's copy) is re-sealed with it at once (rskeymgmt -s).
    Rotate,
}

pub fn run(ctx: &Ctx, cmd: KeysCommand) -> anyhow::Result<i32> {
    let dd = &ctx.dd;
    let clustered = mgmt::keys::has_cluster_key(dd).unwrap_or(false);
    let what = if clustered {
        "Cluster key"
    } else {
        "Instance key"
    };
    let logged = |e: mgmt::Error| {
        tracing::error!("keys: {e}");
        e
    };
    let restart_hint = |needed: bool| {
        if needed {
            "; the running server keeps the old key until it restarts: run `reportctl restart`"
        } else {
            ""
        }
    };
    match cmd {
        KeysCommand::Backup {
            file,
            password_file,
            force,
        } => {
            if file.exists() && !force {
                bail!(
                    "{} exists; choose another --file or pass --force to replace it",
                    file.display()
                );
            }
            let pw = datadir::read_password_file(&password_file)?;
            let (bytes, check) = mgmt::keys::backup(dd, &pw).map_err(logged)?;
            datadir::atomic_write(&file, &bytes, 0o600)
                .with_context(|| format!("writing {}", file.display()))?;
            if ctx.json {
                print_json(&serde_json::json!({"file": file, "key_check_value": check}))?;
            } else {
                println!(
                    "{what} (check value {check}) backed up to {}; keep it and its password apart",
                    file.display()
                );
            }
        }
        KeysCommand::Restore {
            file,
            password_file,
        } => {
            let pw = datadir::read_password_file(&password_file)?;
            let bytes = std::fs::read(&file).with_context(|| format!("{}", file.display()))?;
            let (change, unreadable) = mgmt::keys::restore(dd, &bytes, &pw).map_err(logged)?;
            if ctx.json {
                print_json(&serde_json::json!({
                    "key_check_value": change.check_value,
                    "unreadable_data_sources": change.data_sources,
                    "restart_needed": change.restart_needed,
                }))?;
            } else {
                println!(
                    "{what} restored (check value {}){}",
                    change.check_value,
                    restart_hint(change.restart_needed)
                );
                if unreadable > 0 {
                    println!(
                        "warning: {unreadable} shared data source(s) hold credentials sealed with another key: {}",
                        change.data_sources.join(", ")
                    );
                }
            }
        }
        KeysCommand::Rotate => {
            let change = mgmt::keys::rotate(dd).map_err(logged)?;
            if ctx.json {
                print_json(&serde_json::json!({
                    "key_check_value": change.check_value,
                    "resealed_data_sources": change.data_sources,
                    "restart_needed": change.restart_needed,
                }))?;
            } else {
                println!(
                    "New {} (check value {}); {} data source credential(s) re-sealed{}",
                    what.to_lowercase(),
                    change.check_value,
                    change.data_sources.len(),
                    restart_hint(change.restart_needed)
                );
            }
        }
    }
    Ok(0)
}
