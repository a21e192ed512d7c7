//! The portal's embedded assets: one stylesheet and one icon, compiled into the binary
//! (`include_bytes!` from `crates/webapp/assets/`). Nothing is fetched from elsewhere.
//!
//! Served without credentials and cacheable for a day; page links carry `?v=VERSION`, so
//! a new release is fetched at once.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use crate::Error;

const PORTAL_CSS: &[u8] = include_bytes!("../../assets/portal.css");
const ICON_SVG: &[u8] = include_bytes!("../../assets/icon.svg");
const VIEWER_CSS: &[u8] = include_bytes!("../../assets/viewer.css");
const VIEWER_JS: &[u8] = include_bytes!("../../assets/viewer.js");

/// `GET /assets/{file}`.
pub(crate) async fn serve(Path(file): Path<String>) -> Result<Response, Error> {
    let (body, content_type) = match file.as_str() {
        "portal.css" => (PORTAL_CSS, "text/css; charset=utf-8"),
        "icon.svg" => (ICON_SVG, "image/svg+xml"),
        "viewer.css" => (VIEWER_CSS, "text/css; charset=utf-8"),
        "viewer.js" => (VIEWER_JS, "text/javascript; charset=utf-8"),
        _ => return Err(Error::NotFound(format!("/assets/{file}"))),
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    Ok(resp)
}
