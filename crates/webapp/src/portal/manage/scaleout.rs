//! The Scale-out page (`/manage/scaleout`, SSRS Configuration Manager's "Scale-out
//! Deployment"): every node on this report server database with its state, cluster key
//! version, last heartbeat, URLs and the binding version it applied; **Add** joins a
//! waiting (or removed) node and **Remove** removes a joined one, through the same
//! `mgmt::keys` operations as `reportctl cluster join|remove` and the WMI methods.
//!
//! POSTs carry the CSRF token and pass the origin and plain-http checks ([`admin_form`]).
//! A one-node instance (SQLite catalog) shows that it has no scale-out. This module never
//! shows a key or the database URL.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::{admin_form, admin_page, back_after, badge, blocking, outcome, subnav};
use crate::portal::{base, csrf, layout};
use crate::{AppState, Error};

/// `GET /manage/scaleout`.
pub(crate) async fn page(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let (session, ctx, o, dd) = admin_page(&state, &req)?;
    let nodes = blocking(move || mgmt::keys::nodes(&dd).map_err(|e| e.to_string())).await?;
    let b = base(&ctx);
    let token = csrf::token(&state, &session.principal);
    let content = html! {
        div.titlebar { h1 { "Scale-out" } }
        (subnav(&b, "scaleout"))
        (outcome(&o))
        @match &nodes {
            Err(e) => p.result.failed role="alert" { (e) },
            Ok(None) => p.hint { "This instance uses an embedded SQLite catalog: it is one node. Nodes that share a PostgreSQL report server database form a scale-out deployment." },
            Ok(Some((me, list))) => {
                p.hint { "Nodes that share this report server database. A new node waits until a joined node adds it (its copy of the cluster key is sealed for it); it serves from its next heartbeat, without a restart." }
                table.nodes {
                    thead { tr { th { "Installation ID" } th { "Machine" } th { "State" } th { "Key" } th { "Last seen" } th { "URLs" } th { "Bindings" } th {} } }
                    tbody {
                        @for n in list {
                            tr data-id=(n.installation_id) {
                                td { code { (n.installation_id) } @if &n.installation_id == me { " " span.muted { "(this node)" } } }
                                td { (n.host) }
                                td.state { (n.state) }
                                td { @if n.key_version > 0 { "v" (n.key_version) } @else { span.muted { "none" } } }
                                td {
                                    @match (&n.last_seen, n.alive) {
                                        (Some(t), true) => { "alive, " (t.to_string()) }
                                        (Some(t), false) => span.expiry.critical { "down since " (t.to_string()) },
                                        (None, _) => span.muted { "stopped" },
                                    }
                                }
                                td { @for u in &n.urls { div { code { (u) } } } }
                                td { "v" (n.binding_version) }
                                td {
                                    @if n.state != "joined" {
                                        form.inline method="post" action={ (b) "/manage/scaleout/join" } {
                                            input type="hidden" name=(csrf::FIELD) value=(token);
                                            input type="hidden" name="id" value=(n.installation_id);
                                            button type="submit" { "Add" }
                                        }
                                    } @else {
                                        form.inline method="post" action={ (b) "/manage/scaleout/remove" } {
                                            input type="hidden" name=(csrf::FIELD) value=(token);
                                            input type="hidden" name="id" value=(n.installation_id);
                                            button.danger type="submit" { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&state, &ctx, "Scale-out", Some(&badge(&session)), content).into_response())
}

#[derive(Deserialize)]
pub(crate) struct NodeForm {
    csrf: Option<String>,
    id: String,
}

/// `POST /manage/scaleout/join` and `POST /manage/scaleout/remove`.
pub(crate) async fn change(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let remove = req.uri().path().ends_with("/remove");
    let (session, ctx, form) = admin_form::<NodeForm>(&state, req, |f| f.csrf.as_deref()).await?;
    let dd = state.data_dir().clone();
    let id = form.id.trim().to_owned();
    let r = blocking(move || {
        if remove {
            mgmt::keys::remove(&dd, &id)
        } else {
            mgmt::keys::join(&dd, &id)
        }
    })
    .await?;
    Ok(back_after(&ctx, "scaleout", r, |c| {
        tracing::info!(by = %session.principal.name, front_end = "portal", installation_id = %c.installation_id, state = %c.state, "cluster node changed");
        if c.unchanged {
            format!("{} is {} already", c.installation_id, c.state)
        } else if c.state == "joined" {
            format!(
                "added {} (cluster key version {}); it serves from its next heartbeat",
                c.installation_id, c.key_version
            )
        } else {
            format!("removed {}", c.installation_id)
        }
    }))
}
