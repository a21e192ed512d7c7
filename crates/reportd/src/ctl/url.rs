//! `reportctl url list|reserve|remove|set-vdir`: URL reservations and virtual directories.

use clap::Subcommand;
use httpsys::{Application, Repository, UrlReservation, VirtualDirectory};
use serde::Serialize;

use super::{Ctx, print_json};

#[derive(Debug, Subcommand)]
pub enum UrlCommand {
    /// The reserved URLs of both applications.
    List,
    /// Reserve scheme://host:port for an application (webservice or portal).
    Reserve { app: Application, url: String },
    /// Remove an application's reservation.
    Remove { app: Application, url: String },
    /// Change an application's virtual directory; its reservations follow.
    SetVdir { app: Application, vdir: String },
}

#[derive(Serialize)]
struct Row {
    application: &'static str,
    virtual_directory: String,
    reservation: String,
    url: String,
    owner: String,
}

pub fn run(ctx: &Ctx, cmd: UrlCommand) -> anyhow::Result<i32> {
    let dd = &ctx.dd;
    dd.require_initialized()?;
    match cmd {
        UrlCommand::List => {
            let r = Repository::load(dd)?;
            let rows: Vec<Row> = r
                .reservations
                .iter()
                .map(|res| Row {
                    application: res.app.ssrs_name(),
                    virtual_directory: r.vdir(res.app).to_owned(),
                    reservation: res.url.to_string(),
                    url: format!("{}/{}", res.url, r.vdir(res.app)),
                    owner: res.owner.clone(),
                })
                .collect();
            if ctx.json {
                print_json(&rows)?;
            } else {
                println!("{:<24} {:<14} URL", "APPLICATION", "VDIR");
                for row in rows {
                    println!(
                        "{:<24} {:<14} {}",
                        row.application, row.virtual_directory, row.url
                    );
                }
            }
        }
        UrlCommand::Reserve { app, url } => {
            let url: UrlReservation = url.parse()?;
            let (changed, applied) = mgmt::ops::reserve_url(dd, app, &url, "reportctl")?;
            if changed {
                println!(
                    "Reserved {url} for {}; {}",
                    app.ssrs_name(),
                    applied.describe()
                );
            } else {
                println!(
                    "{url} is already reserved for {}; nothing to do",
                    app.ssrs_name()
                );
            }
        }
        UrlCommand::Remove { app, url } => {
            let url: UrlReservation = url.parse()?;
            let applied = mgmt::ops::remove_url(dd, app, &url)?;
            println!(
                "Removed {url} from {}; {}",
                app.ssrs_name(),
                applied.describe()
            );
        }
        UrlCommand::SetVdir { app, vdir } => {
            let vdir: VirtualDirectory = vdir.parse()?;
            let (changed, applied) =
                mgmt::ops::change_repository(dd, |r| Ok(r.set_vdir(app, vdir.clone())?))?;
            if changed {
                println!(
                    "{} now serves /{vdir}; {}",
                    app.ssrs_name(),
                    applied.describe()
                );
            } else {
                println!("{} already serves /{vdir}; nothing to do", app.ssrs_name());
            }
        }
    }
    Ok(0)
}
