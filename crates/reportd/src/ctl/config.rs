//! `reportctl config get|set`: settings of reportd.toml that are not generated.

use clap::Subcommand;
use datadir::config::SETTINGS;

use super::{Ctx, print_json};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a setting (all settings without KEY).
    Get { key: Option<String> },
    /// Change a setting; a running server applies it at once.
    Set { key: String, value: String },
}

pub fn run(ctx: &Ctx, cmd: ConfigCommand) -> anyhow::Result<i32> {
    let dd = &ctx.dd;
    match cmd {
        ConfigCommand::Get { key: Some(k) } => {
            let cfg = dd.load_config()?;
            let v = cfg.settings.get(&k)?;
            if ctx.json {
                print_json(&serde_json::json!({ "key": k, "value": v }))?;
            } else {
                println!("{v}");
            }
        }
        ConfigCommand::Get { key: None } => {
            let cfg = dd.load_config()?;
            let mut all = serde_json::Map::new();
            for s in SETTINGS {
                all.insert(s.key.into(), cfg.settings.get(s.key)?.into());
            }
            if ctx.json {
                print_json(&all)?;
            } else {
                for s in SETTINGS {
                    println!("{} = {}", s.key, cfg.settings.get(s.key)?);
                }
            }
        }
        ConfigCommand::Set { key, value } => {
            dd.require_initialized()?;
            let (key, applied) = mgmt::ops::set_setting(dd, &key, &value)?;
            println!(
                "{key} = {}; {}",
                dd.load_config()?.settings.get(key)?,
                applied.describe()
            );
        }
    }
    Ok(0)
}
