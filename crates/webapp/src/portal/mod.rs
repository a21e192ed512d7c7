//! The Web Portal (`/Reports`): server-rendered pages to browse the catalog, upload,
//! create folders, delete and edit properties, and the REST API under `/api/v2.0`.
//!
//! Routes (vdir-stripped):
//! - `GET /` home (the root folder), `GET /browse/{*path}` a folder with breadcrumbs,
//!   `GET /item/{*path}` an item's properties, `GET /report/{*path}` the report viewer
//!   ([`viewer`]), `GET /download/{*path}` its content;
//! - `POST /folder`, `POST /upload` (multipart), `POST /delete`, `POST /properties`, each
//!   with a CSRF token ([`csrf`]) and refused when sent cross-site;
//! - `/api/v2.0/...` and `/api/v1.0/...`, any method: the REST API ([`crate::rest`]);
//! - `GET /manage/users` and `POST /manage/users/{add,remove,password}`, and
//!   `GET /api/v2.0/Users` ([`users`]): System Administrators only;
//! - `GET /manage/{status,webservice-url,portal-url,certificates,bindings,database,keys,
//!   settings,security}` and their POSTs ([`manage`]): the configuration pages, System
//!   Administrators only;
//! - `GET /assets/{file}`: the embedded stylesheet and icon, public and cacheable.
//!
//! Everything works without JavaScript: every action is a plain HTML form. Every asset is
//! embedded in the binary; nothing is loaded from elsewhere. Pages are rendered with maud,
//! which escapes every interpolated value.

pub(crate) mod actions;
mod assets;
pub(crate) mod csrf;
pub(crate) mod layout;
mod manage;
mod pages;
mod users;
pub(crate) mod viewer;

pub(crate) use pages::{parts, readable_children};

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::middleware::from_fn_with_state;
use axum::routing::{any, get, post};
use catalog::ItemPath;
use serde::de::DeserializeOwned;

use crate::{AppState, Error, auth, error};

/// Largest body of the portal's urlencoded forms (the upload has its own limit).
const FORM_LIMIT: usize = 64 * 1024;

/// The Web Portal router (vdir-stripped URIs).
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/browse", get(pages::home))
        .route("/browse/", get(pages::home))
        .route("/browse/{*path}", get(pages::browse))
        .route("/item/{*path}", get(pages::item))
        .route("/report/{*path}", get(viewer::page))
        .route("/download/{*path}", get(actions::download))
        .route("/folder", post(actions::create_folder))
        .route(
            "/upload",
            post(actions::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/delete", post(actions::delete))
        .route("/properties", post(actions::properties))
        .route("/api/{*rest}", any(crate::rest::handle))
        .route("/api/v2.0/Users", get(users::api_list))
        .route("/manage/users", get(users::page))
        .route("/manage/users/add", post(users::add))
        .route("/manage/users/remove", post(users::remove))
        .route("/manage/users/password", post(users::password))
        .route("/manage", get(manage::status_page))
        .route("/manage/status", get(manage::status_page))
        .route("/manage/certificates", get(manage::certificates_page))
        .route("/manage/certificates/new", post(manage::new_certificate))
        .route(
            "/manage/certificates/remove",
            post(manage::remove_certificate),
        )
        .route("/manage/bindings", get(manage::bindings_page))
        .route("/manage/bindings/delete", post(manage::delete_binding))
        .route("/manage/bindings/explain", get(manage::explain_page))
        .route(
            "/manage/certificates/export",
            get(manage::export_certificate),
        )
        .route(
            "/manage/certificates/import",
            post(manage::import_certificate),
        )
        .route("/manage/status/stop", post(manage::system::stop))
        .route(
            "/manage/webservice-url",
            get(manage::urls::webservice_page).post(manage::urls::webservice_apply),
        )
        .route("/manage/portal-url", get(manage::urls::portal_url_page))
        .route(
            "/manage/portal-url/advanced",
            get(manage::urls::portal_url_page),
        )
        .route(
            "/manage/portal-url/add",
            get(manage::urls::portal_add_page).post(manage::urls::portal_add),
        )
        .route("/manage/database", get(manage::system::database_page))
        .route("/manage/keys", get(manage::system::keys_page))
        .route("/manage/scaleout", get(manage::scaleout::page))
        .route("/manage/scaleout/join", post(manage::scaleout::change))
        .route("/manage/scaleout/remove", post(manage::scaleout::change))
        .route("/manage/keys/backup", post(manage::system::keys_backup))
        .route("/manage/keys/restore", post(manage::system::keys_restore))
        .route("/manage/keys/rotate", post(manage::system::keys_change))
        .route("/manage/keys/delete", post(manage::system::keys_change))
        .route(
            "/manage/settings",
            get(manage::system::settings_page).post(manage::system::settings_apply),
        )
        .route(
            "/manage/security",
            get(manage::system::security_page).post(manage::system::security_apply),
        )
        .fallback(unknown_route)
        .layer(from_fn_with_state(state.clone(), auth::gate))
        // Added after the gate: served without credentials.
        .route("/assets/{file}", get(assets::serve))
        // Before everything but error rendering: no unchecked Host reaches anything.
        .layer(axum::middleware::from_fn(crate::host::guard))
        .layer(from_fn_with_state(state.clone(), error::render_errors))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .with_state(state)
}

async fn unknown_route(req: Request) -> Error {
    Error::NotFound(req.uri().path().to_owned())
}

/// The portal's urlencoded form extractor: like `axum::Form`, but a malformed form is an
/// [`Error`] rendered like every other.
pub(crate) struct PortalForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PortalForm<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|f| PortalForm(f.0))
            .map_err(|e| {
                Error::BadRequest(format!("the form could not be read: {}", e.body_text()))
            })
    }
}

/// The item path of a portal URL: what follows `prefix` in the raw (still encoded) URI
/// path, each segment percent-decoded (`/browse/Sales%20Data/Q1` → `/Sales Data/Q1`).
pub(crate) fn item_path_from_uri(uri_path: &str, prefix: &str) -> Result<ItemPath, Error> {
    let rest = uri_path.strip_prefix(prefix).unwrap_or("");
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        return Ok(ItemPath::root());
    }
    let mut path = String::with_capacity(rest.len() + 1);
    for seg in rest.split('/') {
        let decoded = percent_encoding::percent_decode_str(seg)
            .decode_utf8()
            .map_err(|_| Error::BadRequest("the item path in the URL is not valid UTF-8".into()))?;
        if decoded.contains('/') {
            return Err(Error::BadRequest(format!(
                "invalid item path in the URL: the name '{decoded}' contains '/'"
            )));
        }
        path.push('/');
        path.push_str(&decoded);
    }
    ItemPath::parse(&path)
        .map_err(|e| Error::BadRequest(format!("invalid item path in the URL: {e}")))
}

/// Parses a path given in a form field.
pub(crate) fn form_path(field: &str, value: &str) -> Result<ItemPath, Error> {
    ItemPath::parse(value)
        .map_err(|e| Error::BadRequest(format!("invalid path in the form field '{field}': {e}")))
}

/// Links inside the portal: `/{vdir}/...`.
pub(crate) fn base(ctx: &httpsys::RequestContext) -> String {
    format!("/{}", ctx.vdir)
}

/// `/{vdir}/browse/A/B` (root: `/{vdir}/`).
pub(crate) fn browse_url(ctx: &httpsys::RequestContext, path: &ItemPath) -> String {
    if path.is_root() {
        format!("/{}/", ctx.vdir)
    } else {
        format!(
            "/{}/browse/{}",
            ctx.vdir,
            crate::html::encode_path_segments(path)
        )
    }
}

/// `/{vdir}/item/A/B`.
pub(crate) fn item_url(ctx: &httpsys::RequestContext, path: &ItemPath) -> String {
    format!(
        "/{}/item/{}",
        ctx.vdir,
        crate::html::encode_path_segments(path)
    )
}

/// `/{vdir}/download/A/B`.
pub(crate) fn download_url(ctx: &httpsys::RequestContext, path: &ItemPath) -> String {
    format!(
        "/{}/download/{}",
        ctx.vdir,
        crate::html::encode_path_segments(path)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_paths_decode_per_segment() {
        assert_eq!(
            item_path_from_uri("/browse/Sales%20Data/Q1", "/browse/")
                .unwrap()
                .as_str(),
            "/Sales Data/Q1"
        );
        assert!(
            item_path_from_uri("/browse/", "/browse/")
                .unwrap()
                .is_root()
        );
        assert!(item_path_from_uri("/browse/a%2Fb", "/browse/").is_err());
        assert!(item_path_from_uri("/browse/..", "/browse/").is_err());
        assert!(item_path_from_uri("/browse/%ff", "/browse/").is_err());
    }
}
