//! User management for System Administrators: the page `GET /manage/users` (list, add,
//! remove, change password — plain forms with the CSRF token) and its JSON twin
//! `GET /api/v2.0/Users` (SSRS's REST API has no users resource; the shape follows its
//! collections: `{"@odata.context", "value": [...]}`).
//!
//! Everyone else gets 403. Every change is one of `mgmt::users`' operations — the ones
//! `reportctl user` calls: one validation, one audit line — and then
//! [`AppState::catalog_changed`], so credentials cached under the old generation stop
//! working at the next request. New passwords are hashed on the KDF workers, under the same
//! bound as sign-ins. Passwords are never logged,
//! echoed or kept: they live in `Zeroizing` buffers until hashed.

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use catalog::{ItemPath, Role, User};
use maud::html;
use serde::Deserialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::layout::{self, Badge};
use super::pages::parts;
use super::{PortalForm, base, csrf};
use crate::auth::Session;
use crate::host::Authority;
use crate::{AppState, Error};

/// The roles offered when adding a user: system roles are held site-wide, item roles are
/// assigned on `/` (and inherited), as `reportctl user add --role` does.
const ROLES: [Role; 5] = [
    Role::Browser,
    Role::Publisher,
    Role::ContentManager,
    Role::SystemUser,
    Role::SystemAdministrator,
];

fn require_admin(session: &Session) -> Result<(), Error> {
    if session.principal.is_system_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "only System Administrators manage users; '{}' is not one",
            session.principal.name
        )))
    }
}

/// A user with the roles shown: system roles, and item roles held on `/`.
struct Row {
    user: User,
    root_roles: Vec<Role>,
}

async fn rows(session: &Session) -> Result<Vec<Row>, Error> {
    let root = session
        .catalog
        .get_policies(&ItemPath::root())
        .await?
        .unwrap_or_default();
    Ok(session
        .catalog
        .list_users()
        .await?
        .into_iter()
        .map(|user| {
            let root_roles = root
                .iter()
                .filter(|p| p.user.eq_ignore_ascii_case(&user.name))
                .flat_map(|p| p.roles.iter().copied())
                .collect();
            Row { user, root_roles }
        })
        .collect())
}

/// `GET /manage/users`.
pub(crate) async fn page(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let (session, ctx) = parts(&req)?;
    require_admin(&session)?;
    let rows = rows(&session).await?;
    let token = csrf::token(&state, &session.principal);
    let b = base(&ctx);
    let badge = Badge {
        name: session.principal.name.clone(),
        roles: session.principal.system_roles.clone(),
    };
    let content = html! {
        div.titlebar { h1 { "Users" } }
        table.users {
            thead { tr { th { "Name" } th { "System roles" } th { "Roles on /" } th { "Created" } th { "Actions" } } }
            tbody {
                @for r in &rows {
                    tr {
                        td { (r.user.name) }
                        td { (join(&r.user.system_roles)) }
                        td { (join(&r.root_roles)) }
                        td { (r.user.created_at.format(&Rfc3339).unwrap_or_default()) }
                        td {
                            details.action {
                                summary { "Change password" }
                                form.panel method="post" action={ (b) "/manage/users/password" } {
                                    input type="hidden" name=(csrf::FIELD) value=(token);
                                    input type="hidden" name="name" value=(r.user.name);
                                    label { "New password" input type="password" name="password" required minlength="8" autocomplete="new-password"; }
                                    button type="submit" { "Change" }
                                }
                            }
                            form.inline method="post" action={ (b) "/manage/users/remove" } {
                                input type="hidden" name=(csrf::FIELD) value=(token);
                                input type="hidden" name="name" value=(r.user.name);
                                button.danger type="submit" { "Remove" }
                            }
                        }
                    }
                }
            }
        }
        details.action open {
            summary { "Add a user" }
            form.panel method="post" action={ (b) "/manage/users/add" } {
                input type="hidden" name=(csrf::FIELD) value=(token);
                label { "Name" input type="text" name="name" required maxlength="256" autocomplete="off"; }
                label { "Password" input type="password" name="password" required minlength="8" autocomplete="new-password"; }
                label { "Role"
                    select name="role" {
                        @for r in ROLES { option value=(r.name()) { (r.name()) } }
                    }
                }
                p.hint { "System roles apply to the whole site; the other roles are assigned on the Home folder and inherited below it." }
                button type="submit" { "Add" }
            }
        }
    };
    Ok(layout::page(&state, &ctx, "Users", Some(&badge), content).into_response())
}

fn join(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /api/v2.0/Users`.
pub(crate) async fn api_list(req: Request) -> Result<Response, Error> {
    let (session, ctx) = parts(&req)?;
    require_admin(&session)?;
    let value: Vec<_> = rows(&session)
        .await?
        .into_iter()
        .map(|r| {
            json!({
                "Name": r.user.name,
                "SystemRoles": r.user.system_roles.iter().map(|x| x.name()).collect::<Vec<_>>(),
                "RootRoles": r.root_roles.iter().map(|x| x.name()).collect::<Vec<_>>(),
                "CreatedDate": r.user.created_at.format(&Rfc3339).unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(json!({
        "@odata.context": format!("/{}/api/v2.0/$metadata#Users", ctx.vdir),
        "value": value,
    }))
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct AddForm {
    csrf: Option<String>,
    name: String,
    password: String,
    role: String,
}

#[derive(Deserialize)]
pub(crate) struct NameForm {
    csrf: Option<String>,
    name: String,
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    csrf: Option<String>,
    name: String,
    password: String,
}

/// The session of a form POST by a System Administrator, after the origin and token checks.
async fn admin_form<T: serde::de::DeserializeOwned>(
    state: &AppState,
    req: Request,
    token: impl Fn(&T) -> Option<&str>,
) -> Result<(Session, httpsys::RequestContext, T), Error> {
    checked_form(state, req, token, require_admin).await
}

/// The session, context and form of a form POST, after the origin check, the CSRF token
/// check and `allowed` (the page's own role check with its own message), in that order.
/// The one prelude of the administrators' forms (users here, configuration in `manage`).
pub(crate) async fn checked_form<T: serde::de::DeserializeOwned>(
    state: &AppState,
    req: Request,
    token: impl Fn(&T) -> Option<&str>,
    allowed: fn(&Session) -> Result<(), Error>,
) -> Result<(Session, httpsys::RequestContext, T), Error> {
    let (session, ctx) = parts(&req)?;
    csrf::check_origin(req.headers(), &ctx, req.extensions().get::<Authority>())?;
    let PortalForm(form) = PortalForm::<T>::from_request(req, state).await?;
    csrf::check_token(state, &session.principal, token(&form))?;
    allowed(&session)?;
    Ok((session, ctx, form))
}

fn back(ctx: &httpsys::RequestContext) -> Response {
    Redirect::to(&format!("{}/manage/users", base(ctx))).into_response()
}

/// The user operations of a portal change: the session's catalog, by the signed-in
/// administrator.
pub(crate) fn portal_users<'a>(
    session: &'a Session,
    dd: &'a datadir::DataDir,
) -> mgmt::users::Users<'a> {
    mgmt::users::Users {
        cat: &*session.catalog,
        dd,
        by: mgmt::users::Actor {
            name: &session.principal.name,
            front_end: mgmt::users::FrontEnd::Portal,
        },
    }
}

/// A refused user operation as this front end shows it: the catalog's refusals keep their
/// status, an invalid input names the form field to correct.
pub(crate) fn op_error(e: mgmt::Error, field: &str) -> Error {
    match e {
        mgmt::Error::Catalog(c) => c.into(),
        mgmt::Error::User(p) => Error::BadRequest(format!("{p}; correct the {field} field")),
        e => Error::BadRequest(e.to_string()),
    }
}

/// The KDF workers' hash of a new password, for `mgmt::users`.
async fn hashed(state: &AppState, password: &Zeroizing<String>) -> Result<String, mgmt::Error> {
    state
        .sign_in()
        .hash_password(password)
        .await
        .map_err(|e| mgmt::Error::Refused(e.to_string()))
}

/// `POST /manage/users/add`: `mgmt::users::add`, as `reportctl user add`.
pub(crate) async fn add(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let (session, ctx, mut form) =
        admin_form::<AddForm>(&state, req, |f| f.csrf.as_deref()).await?;
    let password = Zeroizing::new(std::mem::take(&mut form.password));
    let role: Role = form.role.parse()?;
    let name = form.name.trim().to_owned();
    let dd = state.data_dir().clone();
    portal_users(&session, &dd)
        .add(&name, role, &password, || hashed(&state, &password))
        .await
        .map_err(|e| op_error(e, "Name"))?;
    state.catalog_changed();
    Ok(back(&ctx))
}

/// `POST /manage/users/remove`: `mgmt::users::remove`.
pub(crate) async fn remove(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let (session, ctx, form) = admin_form::<NameForm>(&state, req, |f| f.csrf.as_deref()).await?;
    let dd = state.data_dir().clone();
    portal_users(&session, &dd)
        .remove(&form.name)
        .await
        .map_err(|e| op_error(e, "Name"))?;
    state.catalog_changed();
    Ok(back(&ctx))
}

/// `POST /manage/users/password`: `mgmt::users::set_password`.
pub(crate) async fn password(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, mut form) =
        admin_form::<PasswordForm>(&state, req, |f| f.csrf.as_deref()).await?;
    let password = Zeroizing::new(std::mem::take(&mut form.password));
    let dd = state.data_dir().clone();
    portal_users(&session, &dd)
        .set_password(&form.name, &password, || hashed(&state, &password))
        .await
        .map_err(|e| op_error(e, "New password"))?;
    state.catalog_changed();
    Ok(back(&ctx))
}
