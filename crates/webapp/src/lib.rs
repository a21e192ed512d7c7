//! The two applications of a report server, as axum routers: the **Web Service**
//! (`/ReportServer`: SSRS-shaped folder pages and URL access) and the **Web Portal**
//! (`/Reports`: browse, upload, manage, and the REST API under `/api/v2.0`).
//!
//! This crate owns what happens to a request once the listener has routed it: the
//! SecureConnectionLevel policy, HTTP Basic authentication against catalog users (with a
//! short-lived cache of verified credentials), authorization by role, CSRF protection of the
//! portal's forms, the HTML of every page and error, and the embedded assets.
//!
//! It must not know about sockets, TLS or URL reservations: the listener (`httpsys`) strips
//! the virtual directory and hands over an [`httpsys::RequestContext`]; [`standalone`] builds
//! that context for tests and tools that run without it. It must not compress responses
//! (BREACH) and must never serve anything that is not in the catalog or embedded in the binary.
//! Errors reach users in exactly one place, [`Error`]'s `IntoResponse`.
//!
//! Map of the crate:
//! - `state`: [`AppState`], settings and the lazily opened catalog.
//! - `auth`: the per-request gate (https policy, database present, credentials) and
//!   authorization helpers; [`credentials`]: the verified-credential cache (public for
//!   `benches/auth.rs`); `signin`: what a cache miss costs and its bounds (KDF workers,
//!   per-name gates, the failure throttle, timing of unknown names).
//! - `webservice`: the Web Service; `portal`: the Web Portal; `rest`: the REST API under
//!   the portal (`/Reports/api/v2.0`).
//! - `error`: [`Error`], the one error type, and how errors render.
//! - `pagecache`: rendered folder pages per catalog generation, capped in bytes; `html`:
//!   escaping, URL encoding of paths, dates.
//! - `host`: the Host / `:authority` validation every request passes first; `headers`: the
//!   security headers (CSP) of every response.

mod auth;
pub mod credentials;
mod error;
mod headers;
mod host;
mod html;
mod pagecache;
mod portal;
mod report;
mod rest;
mod signin;
mod state;
mod webservice;

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::response::IntoResponse;
use http::{Uri, header};
use httpsys::{Application, RequestContext};
use tower::ServiceExt;

pub use error::Error;
pub use headers::CONTENT_SECURITY_POLICY;
pub use signin::SignInStats;
pub use state::{AppState, CATALOG_CONNECT_TIMEOUT, GENERATION_TTL};

/// Checks an upload before it is stored (portal; `reportctl catalog upload` calls
/// [`rdl::check_upload`] itself): a report must pass the report definition check, which is
/// linear in its input and bounded (elements, attributes per element, depth; no DOCTYPE or
/// entities). The error says what is wrong in words a user can act on.
pub fn validate_upload(item_type: catalog::ItemType, bytes: &[u8]) -> Result<(), String> {
    match item_type {
        catalog::ItemType::Report => rdl::check_upload(bytes)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        _ => Ok(()),
    }
}

/// The MIME type stored for a resource, from its file name.
pub fn guess_mime(file_name: &str) -> &'static str {
    portal::actions::guess_mime(file_name)
}

/// The Web Service application (`/ReportServer`), expecting vdir-stripped URIs and an
/// [`httpsys::RequestContext`] in the request extensions.
pub fn webservice(state: AppState) -> Router {
    webservice::router(state)
}

/// The Web Portal application (`/Reports`), expecting vdir-stripped URIs and an
/// [`httpsys::RequestContext`] in the request extensions.
pub fn portal(state: AppState) -> Router {
    portal::router(state)
}

/// Both applications at their default virtual directories (`/ReportServer`, `/Reports`,
/// matched case-insensitively, as HTTP.sys does) over plain http, with a synthesized
/// [`RequestContext`]: for tests and tools that run without the listener. Anything else is
/// a 404. Every response carries the security headers ([`CONTENT_SECURITY_POLICY`] and
/// the rest), as behind the listener.
pub fn standalone(state: AppState) -> Router {
    let ws = webservice(state.clone());
    let portal = portal(state);
    Router::new().fallback(move |req: Request| {
        let ws = ws.clone();
        let portal = portal.clone();
        async move {
            let Some((app, rest)) = split_vdir(req.uri()) else {
                let mut resp = Error::NotFound(req.uri().path().to_owned()).into_response();
                headers::secure(resp.headers_mut());
                return resp;
            };
            let (mut parts, body) = req.into_parts();
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(strip_port)
                .or_else(|| parts.uri.host())
                .unwrap_or("localhost")
                .to_owned();
            let peer = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0)
                .unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
            // HTTP/2 (and an absolute-form request) names the authority in the URI, which
            // loses it when the vdir is stripped: keep it as the Host the apps read.
            if !parts.headers.contains_key(header::HOST)
                && let Some(v) = parts
                    .uri
                    .authority()
                    .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok())
            {
                parts.headers.insert(header::HOST, v);
            }
            parts.uri = rest;
            parts.extensions.insert(RequestContext {
                app,
                vdir: app.default_vdir().to_owned(),
                secure: false,
                host,
                peer,
                local: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                https_base: None,
            });
            let req = Request::from_parts(parts, body);
            let router = match app {
                Application::WebService => ws,
                Application::Portal => portal,
            };
            // Router's error type is Infallible.
            let mut resp = match router.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            headers::secure(resp.headers_mut());
            resp
        }
    })
}

/// Which application a path belongs to at the default virtual directories, and the URI
/// with the virtual directory stripped (`/ReportServer` → `/`, `/Reports/x?y` → `/x?y`).
fn split_vdir(uri: &Uri) -> Option<(Application, Uri)> {
    let path = uri.path();
    for app in Application::ALL {
        let vdir = app.default_vdir();
        let Some(head) = path.get(1..1 + vdir.len()) else {
            continue;
        };
        if !path.starts_with('/') || !head.eq_ignore_ascii_case(vdir) {
            continue;
        }
        let rest = &path[1 + vdir.len()..];
        if !(rest.is_empty() || rest.starts_with('/')) {
            continue;
        }
        let rest = if rest.is_empty() { "/" } else { rest };
        let pq = match uri.query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_owned(),
        };
        return pq.parse::<Uri>().ok().map(|u| (app, u));
    }
    None
}

/// `host:port` → `host`, `[::1]:port` → `[::1]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vdir_split_is_case_insensitive_and_segment_bound() {
        let (app, rest) = split_vdir(&"/reportserver?%2fSales".parse().unwrap()).unwrap();
        assert_eq!(app, Application::WebService);
        assert_eq!(rest.to_string(), "/?%2fSales");
        let (app, rest) = split_vdir(&"/Reports/browse/A".parse().unwrap()).unwrap();
        assert_eq!(app, Application::Portal);
        assert_eq!(rest.path(), "/browse/A");
        assert!(split_vdir(&"/ReportsX".parse().unwrap()).is_none());
        assert!(split_vdir(&"/".parse().unwrap()).is_none());
        assert_eq!(
            split_vdir(&"/Reports".parse().unwrap()).unwrap().1.path(),
            "/"
        );
    }

    #[test]
    fn port_is_stripped_from_host() {
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("[::1]:8080"), "[::1]");
        assert_eq!(strip_port("example.com"), "example.com");
    }
}
