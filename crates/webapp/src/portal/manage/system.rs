//! The configuration pages about the server as a whole: Stop on the status page, Database
//! (backend, target without its password, schema version, generation), Encryption keys
//! (back up to a password-protected key file, restore, change, delete encrypted content,
//! through `mgmt::keys`), Site settings (SecureConnectionLevel, upload limit, render
//! timeout, site name, through `mgmt::ops::set_setting`) and Security (system role
//! assignments, through `mgmt::users::set_system_roles` as `reportctl user roles`; the
//! catalog refuses to take the last System Administrator's role).
//!
//! A change that would cut off the connection the page is using (stopping the server,
//! requiring https while on http, dropping one's own administrator role) says so and asks
//! to confirm. This module never shows or logs a secret: not the database password, not
//! the instance key, not a key file's password.

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use catalog::Role;
use datadir::SettingKey;
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{
    admin_form, admin_page, admin_parts, back, back_after, badge, blocking, outcome, outcome_of,
    subnav,
};
use crate::auth::Session;
use crate::portal::{base, csrf, layout};
use crate::{AppState, Error};

/// What a confirmation page asks: the form re-posts `fields` to `action` with
/// `confirm=yes`; `cancel` goes back.
struct Confirm<'a> {
    title: &'a str,
    why: Markup,
    action: &'a str,
    fields: &'a [(&'a str, &'a str)],
    cancel: &'a str,
}

/// A page asking to confirm a change that cuts off this connection.
fn confirm_page(
    state: &AppState,
    ctx: &httpsys::RequestContext,
    session: &Session,
    c: Confirm<'_>,
) -> Response {
    let b = base(ctx);
    let token = csrf::token(state, &session.principal);
    let content = html! {
        div.titlebar { h1 { (c.title) } }
        section.panel.danger {
            p { (c.why) }
            form.inline method="post" action={ (b) (c.action) } {
                input type="hidden" name=(csrf::FIELD) value=(token);
                @for (k, v) in c.fields { input type="hidden" name=(k) value=(v); }
                input type="hidden" name="confirm" value="yes";
                button.danger type="submit" id="confirm" { "Yes, go on" }
            }
            a.button.secondary href={ (b) (c.cancel) } { "Cancel" }
        }
    };
    layout::page(state, ctx, "Confirm", Some(&badge(session)), content).into_response()
}

#[derive(Deserialize)]
pub(crate) struct StopForm {
    csrf: Option<String>,
    #[serde(default)]
    confirm: String,
}

/// `POST /manage/status/stop`: the SSRS Stop (SetServiceState with the web service off).
/// reportd is one process: it stops serving every page, this one included, so it asks to
/// confirm first.
pub(crate) async fn stop(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let (session, ctx, form) = admin_form::<StopForm>(&state, req, |f| f.csrf.as_deref()).await?;
    if form.confirm != "yes" {
        return Ok(confirm_page(
            &state,
            &ctx,
            &session,
            Confirm {
                title: "Stop the report server?",
                why: html! { "Stopping the report server stops the web service and the web portal, this page included: nothing answers until it is started again with " code { "reportctl start" } " (or " code { "systemctl start reportd" } ")." },
                action: "/manage/status/stop",
                fields: &[],
                cancel: "/manage/status",
            },
        ));
    }
    let dd = state.data_dir().clone();
    let r = blocking(move || mgmt::ops::set_service_state(&dd, false)).await?;
    Ok(match r {
        Ok(true) => {
            tracing::info!(by = %session.principal.name, front_end = "portal", "report server stop requested");
            let content = html! {
                div.titlebar { h1 { "Server status" } }
                section.results aria-label="Results" {
                    h2 { "Results" }
                    p.result.ok role="status" { "The report server is stopping. Start it again with " code { "reportctl start" } "." }
                }
            };
            layout::page(&state, &ctx, "Stopped", Some(&badge(&session)), content).into_response()
        }
        Ok(false) => back(
            &ctx,
            "status",
            Err("no reportd server answers on the management socket: nothing to stop".into()),
        ),
        Err(e) => back(&ctx, "status", Err(e.to_string())),
    })
}

/// `GET /manage/database`: read-only, never the password.
pub(crate) async fn database_page(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx) = admin_parts(&req)?;
    let url = state.settings().database().map_err(Error::from)?;
    let cat = &session.catalog;
    let schema = cat.schema_version().await.map_err(Error::from)?;
    let items = cat.item_count().await.map_err(Error::from)?;
    let generation = cat.generation().await.map_err(Error::from)?;
    let b = base(&ctx);
    let content = html! {
        div.titlebar { h1 { "Database" } }
        (subnav(&b, "database"))
        dl.props.database {
            dt { "Backend" } dd { (match url.as_ref().map(|u| u.backend()) { Some(datadir::dburl::Backend::Sqlite) => "SQLite", Some(_) => "PostgreSQL", None => "none" }) }
            // DatabaseUrl's Display leaves the password out.
            dt { "Report server database" } dd { code { (url.as_ref().map(ToString::to_string).unwrap_or_default()) } " " span.muted { "(no password is shown)" } }
            dt { "Schema version" } dd { (schema) @if schema == catalog::SCHEMA_VERSION { " · current" } @else { " · this reportd expects " (catalog::SCHEMA_VERSION) } }
            dt { "Generation" } dd { (generation) }
            dt { "Items" } dd { (items) }
            dt { "Service account" } dd { (mgmt::database::service_account()) }
        }
        p.hint { "Change the database with " code { "reportctl database create --url URL --force" } " or the management API (" code { "SetDatabaseConnection" } "); the scripts a DBA runs come from " code { "reportctl wmi GenerateDatabaseCreationScript" } "." }
    };
    Ok(layout::page(&state, &ctx, "Database", Some(&badge(&session)), content).into_response())
}

/// `GET /manage/keys`.
pub(crate) async fn keys_page(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, o, dd) = admin_page(&state, &req)?;
    // The cluster key once this node's PostgreSQL database has one, else the instance key.
    let check = blocking(move || {
        mgmt::keys::cluster_key(&dd)
            .map(|k| (k.version() > 0, k.check_value()))
            .map_err(|e| e.to_string())
    })
    .await?;
    let which = match &check {
        Ok((true, _)) => "Cluster key",
        _ => "Instance key",
    };
    let check = check.map(|(_, c)| c);
    let b = base(&ctx);
    let token = csrf::token(&state, &session.principal);
    let content = html! {
        div.titlebar { h1 { "Encryption keys" } }
        (subnav(&b, "keys"))
        (outcome(&o))
        dl.props {
            dt { (which) " check value" } dd { @match &check { Ok(c) => code { (c) }, Err(e) => span.expiry.critical { (e) } } }
        }
        p.hint { "The " (which.to_lowercase()) " seals the stored credentials of shared data sources" @if which == "Cluster key" { ", for every node of the cluster (backup, restore and change act on all of them at once)" } ". Back it up to restore them on another machine or after a loss." }
        details.action open {
            summary { "Back Up" }
            form.panel method="post" action={ (b) "/manage/keys/backup" } {
                input type="hidden" name=(csrf::FIELD) value=(token);
                label { "Password (at least 8 characters)" input type="password" name="password" required minlength="8" maxlength="256" autocomplete="new-password"; }
                label { "Confirm password" input type="password" name="password2" required minlength="8" maxlength="256" autocomplete="new-password"; }
                button type="submit" { "Back Up" }
            }
        }
        details.action {
            summary { "Restore" }
            form.panel method="post" enctype="multipart/form-data" action={ (b) "/manage/keys/restore" } {
                input type="hidden" name=(csrf::FIELD) value=(token);
                label { "Key file" input type="file" name="file" required; }
                label { "Password" input type="password" name="password" required maxlength="256" autocomplete="current-password"; }
                button type="submit" { "Restore" }
            }
        }
        details.action {
            summary { "Change" }
            form.panel method="post" action={ (b) "/manage/keys/rotate" } {
                input type="hidden" name=(csrf::FIELD) value=(token);
                p.hint { "Makes a new instance key and re-seals every stored credential with it. Back up the new key afterwards." }
                button type="submit" { "Change" }
            }
        }
        details.action {
            summary { "Delete encrypted content" }
            form.panel method="post" action={ (b) "/manage/keys/delete" } {
                input type="hidden" name=(csrf::FIELD) value=(token);
                p.hint { "Makes a new key and deletes every stored credential: those data sources must be given their credentials again." }
                button.danger type="submit" { "Delete" }
            }
        }
    };
    Ok(layout::page(
        &state,
        &ctx,
        "Encryption keys",
        Some(&badge(&session)),
        content,
    )
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct BackupForm {
    csrf: Option<String>,
    password: String,
    password2: String,
}

/// `POST /manage/keys/backup`: the key file as a download (never stored here).
pub(crate) async fn keys_backup(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, mut form) =
        admin_form::<BackupForm>(&state, req, |f| f.csrf.as_deref()).await?;
    let password = Zeroizing::new(std::mem::take(&mut form.password));
    let password2 = Zeroizing::new(std::mem::take(&mut form.password2));
    if *password != *password2 {
        return Ok(back(
            &ctx,
            "keys",
            Err("the two passwords differ; type the same password twice".into()),
        ));
    }
    let dd = state.data_dir().clone();
    let r = blocking(move || mgmt::keys::backup(&dd, &password)).await?;
    Ok(match r {
        Ok((file, check)) => {
            tracing::info!(by = %session.principal.name, front_end = "portal", check_value = %check, "instance key backed up");
            (
                [
                    (header::CONTENT_TYPE, "application/octet-stream"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"reportd-key.snk\"",
                    ),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                file,
            )
                .into_response()
        }
        Err(e) => back(&ctx, "keys", Err(e.to_string())),
    })
}

/// `POST /manage/keys/restore` (multipart: `csrf`, `file`, `password`).
pub(crate) async fn keys_restore(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, fields) = super::admin_multipart(&state, req).await?;
    let password = super::text_field(&fields, "password");
    let Some(file) = fields.get("file").filter(|f| !f.is_empty()).cloned() else {
        return Ok(back(
            &ctx,
            "keys",
            Err("choose the key file to restore".into()),
        ));
    };
    let dd = state.data_dir().clone();
    let r = blocking(move || mgmt::keys::restore(&dd, &file, &password)).await?;
    Ok(back_after(&ctx, "keys", r, |(change, unreadable)| {
        tracing::info!(by = %session.principal.name, front_end = "portal", check_value = %change.check_value, "instance key restored");
        let mut msg = format!(
            "restored the instance key (check value {})",
            change.check_value
        );
        if unreadable > 0 {
            msg.push_str(&format!(
                "; {unreadable} data source(s) hold credentials sealed with another key: {}",
                change.data_sources.join(", ")
            ));
        }
        if change.restart_needed {
            msg.push_str("; restart the server (`reportctl restart`) to use it");
        }
        msg
    }))
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    csrf: Option<String>,
}

/// `POST /manage/keys/rotate` and `POST /manage/keys/delete`.
pub(crate) async fn keys_change(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let delete = req.uri().path().ends_with("/delete");
    let (session, ctx, _) = admin_form::<CsrfOnly>(&state, req, |f| f.csrf.as_deref()).await?;
    let dd = state.data_dir().clone();
    let r = blocking(move || {
        if delete {
            mgmt::keys::delete_encrypted(&dd)
        } else {
            mgmt::keys::rotate(&dd)
        }
    })
    .await?;
    Ok(back_after(&ctx, "keys", r, |change| {
        tracing::info!(by = %session.principal.name, front_end = "portal", check_value = %change.check_value, delete, "instance key changed");
        let what = if delete {
            "deleted the stored credentials of"
        } else {
            "re-sealed"
        };
        let mut msg = format!(
            "a new instance key (check value {}); {what} {} data source(s)",
            change.check_value,
            change.data_sources.len()
        );
        if change.restart_needed {
            msg.push_str("; restart the server (`reportctl restart`) to use it");
        }
        msg
    }))
}

/// `GET /manage/settings`.
pub(crate) async fn settings_page(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, o, dd) = admin_page(&state, &req)?;
    let s = blocking(move || {
        dd.load_config()
            .map(|c| c.settings)
            .map_err(|e| e.to_string())
    })
    .await?
    .map_err(|e| Error::Internal(format!("reportd.toml cannot be read: {e}")))?;
    let b = base(&ctx);
    let token = csrf::token(&state, &session.principal);
    let content = html! {
        div.titlebar { h1 { "Site settings" } }
        (subnav(&b, "settings"))
        (outcome(&o))
        form.panel.config method="post" action={ (b) "/manage/settings" } {
            input type="hidden" name=(csrf::FIELD) value=(token);
            label for="scl" { "SecureConnectionLevel (0: http allowed; 1 to 3: https required)" }
            select id="scl" name="SecureConnectionLevel" {
                @for l in 0..=3u8 { option value=(l) selected[s.secure_connection_level == l] { (l) } }
            }
            label for="upload" { "Largest upload, MB (MaxUploadSizeMB)" }
            input type="text" id="upload" name="MaxUploadSizeMB" inputmode="numeric" maxlength="6" value=(s.max_upload_size_mb);
            label for="render" { "Render time limit, seconds (RenderTimeoutSeconds)" }
            input type="text" id="render" name="RenderTimeoutSeconds" inputmode="numeric" maxlength="6" value=(s.render_timeout_seconds);
            label for="sitename" { "Site name, shown in every portal page's title and header (SiteName)" }
            input type="text" id="sitename" name="SiteName" maxlength=(datadir::config::MAX_SITE_NAME_CHARS) value=(s.site_name);
            button type="submit" { "Apply" }
        }
        p.hint { "Every change is written to reportd.toml and applied to the running server at once." }
    };
    Ok(layout::page(
        &state,
        &ctx,
        "Site settings",
        Some(&badge(&session)),
        content,
    )
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct SettingsForm {
    csrf: Option<String>,
    #[serde(rename = "SecureConnectionLevel", default)]
    scl: String,
    #[serde(rename = "MaxUploadSizeMB", default)]
    upload: String,
    #[serde(rename = "RenderTimeoutSeconds", default)]
    render: String,
    #[serde(rename = "SiteName", default)]
    site_name: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /manage/settings`: each changed setting through `mgmt::ops::set_setting`.
pub(crate) async fn settings_apply(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, form) =
        admin_form::<SettingsForm>(&state, req, |f| f.csrf.as_deref()).await?;
    let scl = form.scl.trim().to_owned();
    if !ctx.secure
        && scl.parse::<u8>().is_ok_and(|l| l >= 1)
        && state.secure_connection_level() == 0
        && form.confirm != "yes"
    {
        return Ok(confirm_page(
            &state,
            &ctx,
            &session,
            Confirm {
                title: "Require https?",
                why: html! { "This page is open over plain http. With SecureConnectionLevel " (scl) " the server refuses plain http: this connection is cut off and the portal must be opened over https (an https URL with a certificate must exist: Web Portal URL → Advanced → Add)." },
                action: "/manage/settings",
                fields: &[
                    ("SecureConnectionLevel", &scl),
                    ("MaxUploadSizeMB", form.upload.trim()),
                    ("RenderTimeoutSeconds", form.render.trim()),
                    ("SiteName", form.site_name.trim()),
                ],
                cancel: "/manage/settings",
            },
        ));
    }
    let changes: Vec<(SettingKey, String)> = [
        (SettingKey::SecureConnectionLevel, scl),
        (SettingKey::MaxUploadSizeMB, form.upload.trim().to_owned()),
        (
            SettingKey::RenderTimeoutSeconds,
            form.render.trim().to_owned(),
        ),
        (SettingKey::SiteName, form.site_name.trim().to_owned()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let dd = state.data_dir().clone();
    let r = blocking(move || -> Result<Vec<String>, String> {
        let mut done = Vec::new();
        for (k, v) in changes {
            match mgmt::ops::set_setting_key(&dd, k, &v) {
                Ok(mgmt::ops::Applied::Nothing) => {}
                Ok(a) => done.push(format!("{k} = {v} ({})", a.describe())),
                Err(e) => return Err(format!("{k}: {e}; correct the field and Apply again")),
            }
        }
        Ok(done)
    })
    .await?;
    state.reload().await.ok();
    Ok(match r {
        Ok(done) if done.is_empty() => back(&ctx, "settings", Ok("nothing changed".into())),
        Ok(done) => {
            tracing::info!(by = %session.principal.name, front_end = "portal", "settings changed: {}", done.join("; "));
            back(&ctx, "settings", Ok(format!("changed {}", done.join("; "))))
        }
        Err(e) => back(&ctx, "settings", Err(e)),
    })
}

/// `GET /manage/security`: the system role assignments.
pub(crate) async fn security_page(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx) = admin_parts(&req)?;
    let o = outcome_of(&req);
    let users = session.catalog.list_users().await.map_err(Error::from)?;
    let b = base(&ctx);
    let token = csrf::token(&state, &session.principal);
    let system: Vec<Role> = Role::ALL.into_iter().filter(|r| r.is_system()).collect();
    let content = html! {
        div.titlebar { h1 { "Security" } span.count { (users.len()) } }
        (subnav(&b, "security"))
        (outcome(&o))
        p.hint { "Site-wide roles. Item roles are set per folder; users are added on the " a href={ (b) "/manage/users" } { "Users" } " page." }
        @for u in &users { form id={ "roles-" (u.name) } method="post" action={ (b) "/manage/security" } {} }
        table.grid {
            thead { tr { th { "User" } @for r in &system { th { (r.name()) } } th { "" } } }
            tbody {
                @for u in &users {
                    tr {
                        td { (u.name) }
                        @for r in &system {
                            td { input type="checkbox" form={ "roles-" (u.name) } name="role" value=(r.name()) checked[u.system_roles.contains(r)] aria-label={ (r.name()) " for " (u.name) }; }
                        }
                        td {
                            input type="hidden" form={ "roles-" (u.name) } name=(csrf::FIELD) value=(token);
                            input type="hidden" form={ "roles-" (u.name) } name="user" value=(u.name);
                            button type="submit" form={ "roles-" (u.name) } { "Save" }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&state, &ctx, "Security", Some(&badge(&session)), content).into_response())
}

/// `POST /manage/security`: `user`, `role` (repeated), `confirm`.
pub(crate) async fn security_apply(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    // Repeated `role` fields: read the pairs, not a struct.
    let (session, ctx, pairs) = admin_form::<Vec<(String, String)>>(&state, req, |f| {
        f.iter()
            .find(|(k, _)| k == csrf::FIELD)
            .map(|(_, v)| v.as_str())
    })
    .await?;
    let field = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
    };
    let user = field("user").unwrap_or_default();
    let mut roles = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "role") {
        match Role::ALL
            .into_iter()
            .find(|r| r.is_system() && r.name() == v)
        {
            Some(r) => roles.push(r),
            None => {
                return Err(Error::BadRequest(format!(
                    "field 'role': {v:?} is not a system role; use System Administrator or System User"
                )));
            }
        }
    }
    if user.eq_ignore_ascii_case(&session.principal.name)
        && !roles.contains(&Role::SystemAdministrator)
        && field("confirm").as_deref() != Some("yes")
    {
        let mut fields: Vec<(&str, &str)> = vec![("user", user.as_str())];
        fields.extend(roles.iter().map(|r| ("role", r.name())));
        return Ok(confirm_page(
            &state,
            &ctx,
            &session,
            Confirm {
                title: "Give up System Administrator?",
                why: html! { "You are " (user) ": without System Administrator you lose these configuration pages at the next request." },
                action: "/manage/security",
                fields: &fields,
                cancel: "/manage/security",
            },
        ));
    }
    let dd = state.data_dir().clone();
    let r = crate::portal::users::portal_users(&session, &dd)
        .set_system_roles(&user, &roles)
        .await;
    state.catalog_changed();
    Ok(back_after(&ctx, "security", r, |()| {
        let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        format!(
            "{user}: {}",
            if names.is_empty() {
                "no system role".to_string()
            } else {
                names.join(", ")
            }
        )
    }))
}
