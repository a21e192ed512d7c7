//! The Web Service (`/ReportServer`): SSRS URL access.
//!
//! `GET /ReportServer?/Path[&rs:Command=ListChildren|Render][&...]`: the first query
//! component without `=` is the item path (percent- and plus-decoded: `?/Sales`,
//! `?%2fSales`, `?%2fSales+Data`); `rs:Command` defaults to ListChildren for folders and
//! Render for reports. The folder page is modelled on SSRS's: title and `<h1>`
//! "HOST/ReportServer - /Path", a `<pre>` listing (date, `&lt;dir&gt;` for folders,
//! links), a Generator meta tag and a "reportd Version X.Y.Z" footer. Rendering arrives in
//! a later version: a report answers 501 after the authorization and path checks.
//!
//! Paths are parsed by [`ItemPath::parse`] before anything else happens, and only the
//! catalog is consulted: this module never touches the file system. Children the user
//! cannot read are left out. Rendered folder pages are cached per (user, path, vdir) for
//! one catalog generation ([`crate::pagecache`]); the host is put in when served.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use catalog::{CatalogItem, ItemPath, ItemType, Permission};
use http::{HeaderValue, StatusCode, header};
use httpsys::RequestContext;

use crate::auth::{self, Session};
use crate::host::Authority;
use crate::html::{decode_component, encode_component, escape, ssrs_date};
use crate::pagecache::{HOST_MARK, Template};
use crate::{AppState, Error, error, pagecache};

/// Largest request body the Web Service reads (it takes none today).
const BODY_LIMIT: usize = 64 * 1024;

/// The Web Service router (vdir-stripped URIs).
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(access))
        .fallback(unknown_route)
        .layer(from_fn_with_state(state.clone(), auth::gate))
        .layer(axum::middleware::from_fn(crate::host::guard))
        .layer(from_fn_with_state(state.clone(), error::render_errors))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn unknown_route(req: Request) -> Error {
    Error::NotFound(req.uri().path().to_owned())
}

/// `rs:Command` values this server understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Command {
    ListChildren,
    Render,
    GetResourceContents,
    GetDataSourceContents,
}

/// A parsed URL-access request.
#[derive(Debug, PartialEq)]
struct Access {
    path: ItemPath,
    command: Option<Command>,
}

/// Parses the query as SSRS URL access does (see the module documentation).
fn parse_query(query: Option<&str>) -> Result<Access, Error> {
    let mut path: Option<String> = None;
    let mut command = None;
    for part in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            None => {
                if path.is_none() {
                    let decoded = decode_component(part).ok_or_else(|| {
                        Error::BadRequest("the item path in the URL is not valid UTF-8".into())
                    })?;
                    path = Some(decoded);
                }
            }
            Some((k, v)) => {
                let key = decode_component(k).unwrap_or_default();
                // `/Path=`: the item path as an HTML form sends it (the report's parameter
                // and credential forms).
                if key.starts_with('/') && v.is_empty() && path.is_none() {
                    path = Some(key);
                    continue;
                }
                if key.eq_ignore_ascii_case("rs:Command") {
                    let value = decode_component(v).unwrap_or_default();
                    command = Some(match value.to_ascii_lowercase().as_str() {
                        "listchildren" => Command::ListChildren,
                        "render" => Command::Render,
                        "getresourcecontents" => Command::GetResourceContents,
                        "getdatasourcecontents" => Command::GetDataSourceContents,
                        _ => {
                            return Err(Error::BadRequest(format!(
                                "the command rs:Command={value} is not supported by this report server; use rs:Command=ListChildren (folders), Render (reports), GetResourceContents (resources) or GetDataSourceContents (data sources)"
                            )));
                        }
                    });
                }
                // rs:Format, rc:* and report parameters belong to rendering (later).
            }
        }
    }
    let path = match path {
        None => ItemPath::root(),
        Some(p) => ItemPath::parse(&p)
            .map_err(|e| Error::BadRequest(format!("invalid item path in the URL: {e}")))?,
    };
    Ok(Access { path, command })
}

/// `GET /ReportServer?...`.
async fn access(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let access = parse_query(req.uri().query())?;
    let (Some(session), Some(ctx)) = (
        req.extensions().get::<Session>(),
        req.extensions().get::<RequestContext>(),
    ) else {
        return Err(Error::Internal(
            "web service handler reached without the gate".into(),
        ));
    };
    let wants_listing = matches!(access.command, None | Some(Command::ListChildren));
    let user_lower = session.principal.name.to_lowercase();
    let cache_key = pagecache::key(&user_lower, access.path.key(), &ctx.vdir);
    // The host was validated by `host::guard`; the page shows it, the cache key does not.
    let shown = req
        .extensions()
        .get::<Authority>()
        .map_or(ctx.host.as_str(), |a| a.host());
    let mut host = String::with_capacity(shown.len());
    escape(shown, &mut host);
    if wants_listing && let Some(page) = state.pages().get(session.generation, &cache_key) {
        return Ok(html_response(page.render(&host)));
    }

    let path = &access.path;
    let item = session
        .catalog
        .get_item(path)
        .await?
        .ok_or_else(|| Error::NotFound(path.to_string()))?;
    session.require(path, Permission::Read).await?;
    match (item.item_type, access.command) {
        (ItemType::Folder, None | Some(Command::ListChildren)) => {
            let mut children = session.catalog.list_children(path).await?;
            if !session.principal.is_system_admin() {
                let mut readable = Vec::with_capacity(children.len());
                for child in children {
                    if session.can(&child.path, Permission::Read).await? {
                        readable.push(child);
                    }
                }
                children = readable;
            }
            let page = Template::new(&folder_page(&state, ctx, path, &children));
            let body = page.render(&host);
            state.pages().insert(session.generation, cache_key, page);
            Ok(html_response(body))
        }
        (ItemType::Folder, Some(Command::Render)) => Err(Error::BadRequest(format!(
            "'{path}' is a folder; rs:Command=Render applies to reports, use rs:Command=ListChildren"
        ))),
        (ItemType::Report, None | Some(Command::Render)) => Ok(crate::report::url_access(
            &state,
            session,
            ctx,
            path,
            req.uri().query().unwrap_or(""),
        )
        .await
        .unwrap_or_else(axum::response::IntoResponse::into_response)),
        (ItemType::DataSource, None | Some(Command::GetDataSourceContents)) => {
            Ok(crate::report::data_source_contents(session, path)
                .await
                .unwrap_or_else(axum::response::IntoResponse::into_response))
        }
        (ItemType::Resource, None | Some(Command::GetResourceContents)) => {
            // Streamed 64 KiB at a time (never the whole item per connection or stream),
            // with a type that cannot run script in a browser.
            let size = u64::try_from(item.size).unwrap_or(0);
            let mime =
                crate::portal::actions::download_type(item.item_type, item.mime_type.as_deref());
            let body =
                crate::portal::actions::content_stream(session.catalog.clone(), item.clone(), size);
            let mut resp = Response::new(body);
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            resp.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox; default-src 'none'"),
            );
            Ok(resp)
        }
        (other, Some(Command::ListChildren)) => Err(Error::BadRequest(format!(
            "'{path}' is a {other}, not a folder; rs:Command=ListChildren applies to folders"
        ))),
        (other, _) => Err(Error::BadRequest(format!(
            "'{path}' is a {other}; the Web Service lists folders and renders reports; download it from the web portal"
        ))),
    }
}

fn html_response(body: Bytes) -> Response {
    let mut resp = Response::new(axum::body::Body::from(body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// The query-component form of a path, as SSRS writes it: `%2fSales%2fQ1%20Data`.
fn path_query(path: &ItemPath, out: &mut String) {
    use std::fmt::Write;
    if path.is_root() {
        out.push_str("%2f");
        return;
    }
    for seg in path.segments() {
        out.push_str("%2f");
        // Writing to a String cannot fail.
        let _ = write!(out, "{}", encode_component(seg));
    }
}

fn link(out: &mut String, vdir: &str, path: &ItemPath, command: &str, text: &str) {
    out.push_str("<a href=\"/");
    escape(vdir, out);
    out.push('?');
    path_query(path, out);
    out.push_str("&amp;rs:Command=");
    out.push_str(command);
    out.push_str("\">");
    escape(text, out);
    out.push_str("</a>");
}

/// Width of the date column: the longest date ("Wednesday, September 30, 2026 12:00 PM").
const DATE_WIDTH: usize = 38;

/// The SSRS-shaped folder page, with [`HOST_MARK`] where the host goes.
fn folder_page(
    state: &AppState,
    ctx: &RequestContext,
    path: &ItemPath,
    children: &[CatalogItem],
) -> String {
    let mut b = String::with_capacity(1024 + children.len() * 200);
    let mut heading = String::with_capacity(64);
    // The host is put in when the page is served (see `pagecache::Template`).
    heading.push_str(HOST_MARK);
    heading.push('/');
    escape(&ctx.vdir, &mut heading);
    heading.push_str(" - ");
    escape(path.as_str(), &mut heading);

    b.push_str("<html><head><title>");
    b.push_str(&heading);
    b.push_str("</title><meta name=\"Generator\" content=\"reportd ");
    b.push_str(state.version());
    b.push_str("\"><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body><h1>");
    b.push_str(&heading);
    b.push_str("</h1><hr>\n<pre>");
    if let Some(parent) = path.parent() {
        link(
            &mut b,
            &ctx.vdir,
            &parent,
            "ListChildren",
            "[To Parent Directory]",
        );
        b.push_str("<br><br>");
    }
    // Inside <pre> a newline is a line break too: lines end with <br> only, as in SSRS.
    for child in children {
        let date = ssrs_date(child.modified_at);
        for _ in date.chars().count()..DATE_WIDTH {
            b.push(' ');
        }
        b.push_str(&date);
        match child.item_type {
            ItemType::Folder => {
                b.push_str("        &lt;dir&gt; ");
                link(&mut b, &ctx.vdir, &child.path, "ListChildren", &child.name);
            }
            ItemType::Report => {
                b.push_str("              ");
                link(&mut b, &ctx.vdir, &child.path, "Render", &child.name);
            }
            ItemType::DataSource | ItemType::Resource => {
                // Listed for completeness; their contents are downloaded from the portal.
                let size = child.size.to_string();
                for _ in size.len()..13 {
                    b.push(' ');
                }
                b.push_str(&size);
                b.push(' ');
                escape(&child.name, &mut b);
            }
        }
        b.push_str("<br>");
    }
    b.push_str("</pre><hr>\nreportd Version ");
    b.push_str(state.version());
    b.push_str("\n</body></html>\n");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_forms_of_ssrs_url_access() {
        let a = parse_query(Some("/Sales")).unwrap();
        assert_eq!(a.path.as_str(), "/Sales");
        assert_eq!(a.command, None);
        let a = parse_query(Some("%2fSales+Data%2fQ1&rs:Command=ListChildren")).unwrap();
        assert_eq!(a.path.as_str(), "/Sales Data/Q1");
        assert_eq!(a.command, Some(Command::ListChildren));
        let a = parse_query(Some("%2fA%20B&rs%3ACommand=render&rs:Format=PDF&Year=2024")).unwrap();
        assert_eq!(a.path.as_str(), "/A B");
        assert_eq!(a.command, Some(Command::Render));
        assert!(parse_query(None).unwrap().path.is_root());
        assert!(parse_query(Some("")).unwrap().path.is_root());
    }

    #[test]
    fn traversal_and_unknown_commands_are_bad_requests() {
        for q in [
            "/../../etc/passwd",
            "%2f..%2f..%2fetc%2fpasswd",
            "/a//b",
            "/a\\b",
        ] {
            let e = parse_query(Some(q)).unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{q}");
            assert!(e.to_string().contains("invalid item path"), "{e}");
        }
        let e = parse_query(Some("/x&rs:Command=GetComponentDefinition")).unwrap_err();
        assert!(e.to_string().contains("GetComponentDefinition"), "{e}");
    }

    #[test]
    fn path_links_round_trip() {
        let p = ItemPath::parse("/Sales Data/a&b=c+d").unwrap();
        let mut q = String::new();
        path_query(&p, &mut q);
        assert_eq!(q, "%2fSales%20Data%2fa%26b%3Dc%2Bd");
        assert_eq!(parse_query(Some(&q)).unwrap().path, p);
        let mut r = String::new();
        path_query(&ItemPath::root(), &mut r);
        assert_eq!(r, "%2f");
    }
}
