//! `reportctl url list|reserve|remove|set-vdir`: URL reservations and virtual directories.

use anyhow::Context;
use clap::Subcommand;
use httpsys::{Application, Repository, UrlReservation, VirtualDirectory, repo};
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
                    println!("{:<24} {:<14} {}", row.application, row.virtual_directory, row.url);
                }
            }
        }
        UrlCommand::Reserve { app, url } => {
            let url: UrlReservation = url.parse()?;
            let port = url.port;
            let running = mgmt::Client::connect(dd)?.is_some();
            let changed = repo::update(dd, |r| {
                let new_port = !r.ports().contains_key(&port);
                let changed = r.reserve(app, url.clone(), "reportctl")?;
                // A stopped server cannot fail to bind later without anyone seeing it:
                // check the port now. A running server binds it while applying.
                if changed && new_port && !running {
                    httpsys::listener::check_port_free(port)?;
                }
                Ok((changed, changed))
            })?;
            if !changed {
                println!("{url} is already reserved for {app}; nothing to do");
                return Ok(0);
            }
            match mgmt::ops::apply(dd) {
                Ok(a) => println!("Reserved {url} for {app}; {}", a.describe()),
                Err(e) => {
                    // The server could not apply it (port in use): take it back.
                    repo::update(dd, |r| Ok(((), r.remove(app, &url).is_ok())))?;
                    let _ = mgmt::ops::apply(dd);
                    return Err(e).context(format!("reserving {url} for {app} failed and was undone"));
                }
            }
        }
        UrlCommand::Remove { app, url } => {
            let url: UrlReservation = url.parse()?;
            repo::update(dd, |r| r.remove(app, &url).map(|()| ((), true)))?;
            println!("Removed {url} from {app}; {}", mgmt::ops::apply(dd)?.describe());
        }
        UrlCommand::SetVdir { app, vdir } => {
            let vdir: VirtualDirectory = vdir.parse()?;
            let changed = repo::update(dd, |r| r.set_vdir(app, vdir.clone()).map(|c| (c, c)))?;
            if changed {
                println!("{} now serves /{vdir}; {}", app.ssrs_name(), mgmt::ops::apply(dd)?.describe());
            } else {
                println!("{} already serves /{vdir}; nothing to do", app.ssrs_name());
            }
        }
    }
    Ok(0)
}

/// Lets clap parse application names with SSRS spellings.
pub fn parse_app(s: &str) -> Result<Application, String> {
    s.parse().map_err(|e: httpsys::UnknownApplication| e.to_string())
}
