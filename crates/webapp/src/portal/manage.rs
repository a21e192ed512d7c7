//! The configuration pages for System Administrators (`/manage/...`): Server status,
//! Certificates, Bindings; and the administrators' banner every portal page shows
//! (certificates expiring within 30 days, 7 critical; a binding whose certificate is gone).
//!
//! Everyone but a System Administrator gets 403. Every POST carries the CSRF token and
//! passes the origin check, and is refused over plain http while an https reservation
//! exists. Changes go through `mgmt::ops` (the one owner of each
//! mutation; it takes the data-dir lock and has the running server apply the change); this
//! module only reads the data dir to show it, parses forms, calls, and renders. It never
//! shows a secret (the database URL is shown as its backend only).

use std::fmt::Write as _;

use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use catalog::Role;
use certstore::{CertInfo, CertStore, SelfSignedOptions, StoreName, Thumbprint};
use datadir::DataDir;
use httpsys::Repository;
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Badge};
use super::parts;
use super::{base, csrf};
use crate::auth::Session;
use crate::host::Authority;
use crate::{AppState, Error};

pub(crate) mod scaleout;
pub(crate) mod system;
pub(crate) mod urls;

/// Certificates expiring within this many days are flagged (a warning) ...
pub(crate) const EXPIRY_WARN_DAYS: i64 = mgmt::ops::EXPIRY_WARN_DAYS;
/// ... and within this many, critical.
pub(crate) const EXPIRY_CRITICAL_DAYS: i64 = mgmt::ops::EXPIRY_CRITICAL_DAYS;

/// The configuration pages, in the order of the sub-navigation.
const PAGES: [(&str, &str); 11] = [
    ("status", "Server status"),
    ("webservice-url", "Web Service URL"),
    ("portal-url", "Web Portal URL"),
    ("certificates", "Certificates"),
    ("bindings", "Bindings"),
    ("database", "Database"),
    ("keys", "Encryption keys"),
    ("scaleout", "Scale-out"),
    ("settings", "Site settings"),
    ("security", "Security"),
    ("users", "Users"),
];

fn require_admin(session: &Session) -> Result<(), Error> {
    if session.principal.is_system_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "only System Administrators open the configuration pages; '{}' is not one",
            session.principal.name
        )))
    }
}

/// The session and request context of a System Administrator's request (else 403).
fn admin_parts(req: &Request) -> Result<(Session, httpsys::RequestContext), Error> {
    let (session, ctx) = parts(req)?;
    require_admin(&session)?;
    Ok((session, ctx))
}

/// The fields of a System Administrator's multipart POST (`csrf`, `password`: text; `file`:
/// bytes), after the origin, token and plain-http checks. Field values live in `Zeroizing`
/// buffers: one may be a password.
async fn admin_multipart(
    state: &AppState,
    req: Request,
) -> Result<
    (
        Session,
        httpsys::RequestContext,
        std::collections::HashMap<String, zeroize::Zeroizing<Vec<u8>>>,
    ),
    Error,
> {
    let (session, ctx) = admin_parts(&req)?;
    csrf::check_origin(req.headers(), &ctx, req.extensions().get::<Authority>())?;
    let bad = |e: String| Error::BadRequest(format!("the form could not be read: {e}"));
    let mut mp = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|e| bad(e.body_text()))?;
    let mut fields = std::collections::HashMap::new();
    while let Some(field) = mp.next_field().await.map_err(|e| bad(e.body_text()))? {
        let name = field.name().unwrap_or("").to_owned();
        let bytes = field.bytes().await.map_err(|e| bad(e.body_text()))?;
        fields.insert(name, zeroize::Zeroizing::new(bytes.to_vec()));
    }
    let token = fields
        .get(csrf::FIELD)
        .map(|t| String::from_utf8_lossy(t).into_owned());
    csrf::check_token(state, &session.principal, token.as_deref())?;
    refuse_plain_http(state, &ctx).await?;
    Ok((session, ctx, fields))
}

/// A text field of [`admin_multipart`]'s result ("" when absent).
fn text_field(
    fields: &std::collections::HashMap<String, zeroize::Zeroizing<Vec<u8>>>,
    name: &str,
) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(
        fields
            .get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default(),
    )
}

fn badge(session: &Session) -> Badge {
    Badge {
        name: session.principal.name.clone(),
        roles: session.principal.system_roles.clone(),
    }
}

/// How serious a banner line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Warning,
    Critical,
}

/// One line of the administrators' banner.
#[derive(Clone, Debug)]
pub(crate) struct Notice {
    pub level: Level,
    pub text: String,
}

/// Days from now to the certificate's end of validity (negative once expired), counted as
/// `reportctl cert list` and `status` count them.
pub(crate) fn days_left(c: &CertInfo) -> i64 {
    mgmt::ops::days_left(c, std::time::SystemTime::now())
}

/// "89 days left", "expires today", "expired 3 days ago": the CLI's words.
pub(crate) fn days_text(days: i64) -> String {
    mgmt::ops::expiry_text(days)
}

/// The banner for administrators: each SSL binding whose certificate is missing from store
/// My, each bound certificate expiring within [`EXPIRY_WARN_DAYS`], and each failing
/// certificate source (`sources`: `AppState::source_warnings`, the `status` ones). Reads
/// the binding repository and the store (small files); an unreadable one gives a notice
/// saying so.
pub(crate) fn notices(dd: &DataDir, sources: Vec<String>) -> Vec<Notice> {
    let repo = match Repository::load(dd) {
        Ok(r) => r,
        Err(e) => {
            return vec![Notice {
                level: Level::Critical,
                text: format!("the binding repository cannot be read: {e}"),
            }];
        }
    };
    let store = CertStore::open(&dd.certs_dir()).ok();
    let mut out = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for b in repo.ssl_bindings.iter().filter(|b| !b.endpoint.is_ccs()) {
        let info = b
            .thumbprint
            .parse::<Thumbprint>()
            .ok()
            .and_then(|t| store.as_ref()?.get(StoreName::My, &t).ok());
        match info {
            None => out.push(Notice {
                level: Level::Critical,
                text: format!(
                    "SSL binding {} refers to certificate {}, which is not in store My: its handshakes fail. Bind another certificate on the Bindings page, or remove the binding.",
                    b.endpoint, b.thumbprint
                ),
            }),
            Some(c) => {
                let days = days_left(&c);
                if days <= EXPIRY_WARN_DAYS && !seen.contains(&b.thumbprint) {
                    seen.push(b.thumbprint.clone());
                    out.push(Notice {
                        level: if days <= EXPIRY_CRITICAL_DAYS {
                            Level::Critical
                        } else {
                            Level::Warning
                        },
                        text: format!(
                            "certificate {} ({}) of {}: {}; renew it and bind the new one",
                            c.thumbprint,
                            c.subject,
                            used_by_text(&repo, &b.thumbprint),
                            days_text(days)
                        ),
                    });
                }
            }
        }
    }
    out.extend(sources.into_iter().map(|text| Notice {
        level: Level::Warning,
        text,
    }));
    out
}

/// The banner markup (empty when there is nothing to say).
pub(crate) fn banner(base: &str, notices: &[Notice]) -> Markup {
    html! {
        @if !notices.is_empty() {
            section.admin-banner aria-label="Configuration problems" {
                @for n in notices {
                    p class=(match n.level { Level::Critical => "notice critical", Level::Warning => "notice warning" }) {
                        strong { (match n.level { Level::Critical => "Critical: ", Level::Warning => "Warning: " }) }
                        (n.text)
                        " "
                        a href={ (base) "/manage/certificates" } { "Certificates" }
                    }
                }
            }
        }
    }
}

fn used_by_text(repo: &Repository, thumbprint: &str) -> String {
    let used = repo.endpoints_using(thumbprint);
    if used.is_empty() {
        "no binding".into()
    } else {
        used.iter()
            .map(|e| format!("SSL binding {e}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The sub-navigation of the configuration pages.
fn subnav(base: &str, current: &str) -> Markup {
    html! {
        nav.subnav aria-label="Configuration" {
            @for (slug, label) in PAGES {
                @if slug == current {
                    span aria-current="page" { (label) }
                } @else {
                    a href={ (base) "/manage/" (slug) } { (label) }
                }
            }
        }
    }
}

/// A result line of the last action, carried in the redirect's query (`?done=` / `?error=`).
#[derive(Default)]
pub(crate) struct Outcome {
    done: Option<String>,
    error: Option<String>,
}

fn outcome(o: &Outcome) -> Markup {
    html! {
        @if let Some(d) = &o.done { p.result.ok role="status" { (d) } }
        @if let Some(e) = &o.error { p.result.failed role="alert" { (e) } }
    }
}

fn outcome_of(req: &Request) -> Outcome {
    let mut o = Outcome::default();
    let q = req.uri().query().unwrap_or("");
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        // Bounded: a result line is short; a longer one was not written by us.
        let v: String = v.chars().take(2000).collect();
        match &*k {
            "done" => o.done = Some(v),
            "error" => o.error = Some(v),
            _ => {}
        }
    }
    o
}

fn back(ctx: &httpsys::RequestContext, page: &str, result: Result<String, String>) -> Response {
    let (k, v) = match &result {
        Ok(d) => ("done", d.as_str()),
        Err(e) => ("error", e.as_str()),
    };
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair(k, v)
        .finish();
    Redirect::to(&format!("{}/manage/{page}?{q}", base(ctx))).into_response()
}

/// The redirect back to `page` after a change: `done` words what was done, the error is
/// shown as it is.
fn back_after<T, E: std::fmt::Display>(
    ctx: &httpsys::RequestContext,
    page: &str,
    r: Result<T, E>,
    done: impl FnOnce(T) -> String,
) -> Response {
    back(ctx, page, r.map(done).map_err(|e| e.to_string()))
}

/// What a System Administrator's page that reads the data dir starts from: the session,
/// the request context, the outcome of the last change, and the data dir.
fn admin_page(
    state: &AppState,
    req: &Request,
) -> Result<(Session, httpsys::RequestContext, Outcome, DataDir), Error> {
    let (session, ctx) = admin_parts(req)?;
    Ok((session, ctx, outcome_of(req), state.data_dir().clone()))
}

/// Runs blocking data-dir work (locks, files, the management socket) off the runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("configuration task failed: {e}")))
}

/// The status as the running server reports it, or as the data dir shows it when the
/// apps run without a server (no uptime, no open ports).
async fn status(state: &AppState) -> mgmt::StatusInfo {
    if let Some(h) = state.management()
        && let Some(s) = h.handle(mgmt::Request::Status).await.status
    {
        return s;
    }
    let dd = state.data_dir().clone();
    let version = state.version().to_owned();
    let settings = state.settings();
    let sources = state.source_warnings();
    blocking(move || {
        let repo = Repository::load(&dd).unwrap_or_default();
        let mut warnings = mgmt::ops::binding_problems(&dd, &repo);
        warnings.extend(notices(&dd, sources).into_iter().map(|n| n.text));
        warnings.dedup();
        let backend = settings
            .database()
            .ok()
            .flatten()
            .map(|u| u.backend().to_string());
        mgmt::StatusInfo {
            pid: std::process::id(),
            version,
            started_at: String::new(),
            uptime_seconds: 0,
            urls: repo.full_urls().into_iter().map(|(_, u)| u).collect(),
            ports: vec![],
            database: if backend.is_some() {
                "configured".into()
            } else {
                "not configured".into()
            },
            database_backend: backend,
            warnings,
            ..Default::default()
        }
    })
    .await
    .unwrap_or_else(|_| mgmt::StatusInfo {
        pid: std::process::id(),
        ..Default::default()
    })
}

fn uptime_text(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut t = String::new();
    if d > 0 {
        let _ = write!(t, "{d} d ");
    }
    let _ = write!(t, "{h:02}:{m:02}:{s:02}");
    t
}

/// `GET /manage` and `GET /manage/status`.
pub(crate) async fn status_page(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx) = admin_parts(&req)?;
    let s = status(&state).await;
    let b = base(&ctx);
    let running = state.management().is_some();
    let content = html! {
        div.titlebar { h1 { "Server status" } }
        (subnav(&b, "status"))
        dl.props.status {
            dt { "Version" } dd { "reportd " (s.version) }
            dt { "State" } dd { @if running { "Running (process " (s.pid) ")" } @else { "Serving without the reportd server (no management)" } }
            @if running {
                dt { "Started" } dd { (s.started_at) }
                dt { "Uptime" } dd { (uptime_text(s.uptime_seconds)) }
            }
            dt { "Database" } dd {
                (s.database_backend.as_deref().map(|b| if b == "sqlite" { "SQLite" } else { "PostgreSQL" }).unwrap_or("none"))
                " · " (s.database)
            }
            dt { "URLs served" } dd {
                @if s.urls.is_empty() { span.muted { "no URL reservation" } }
                ul.plain { @for u in &s.urls { li { code { (u) } } } }
            }
            @if running {
                dt { "Ports open" } dd { (s.ports.join(", ")) }
            }
            dt { "Warnings" } dd {
                @if s.warnings.is_empty() { span.muted { "none" } }
                ul.plain.warnings { @for w in &s.warnings { li { (w) } } }
            }
        }
        @if running {
            form.inline method="post" action={ (b) "/manage/status/stop" } {
                input type="hidden" name=(csrf::FIELD) value=(csrf::token(&state, &session.principal));
                button.danger type="submit" id="stop" { "Stop" }
            }
            p.hint { "Stop ends the report server process (web service and portal). Start it again with " code { "reportctl start" } " or " code { "systemctl start reportd" } "." }
        }
    };
    Ok(layout::page(
        &state,
        &ctx,
        "Server status",
        Some(&badge(&session)),
        content,
    )
    .into_response())
}

/// `GET /manage/certificates`.
pub(crate) async fn certificates_page(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, o, dd) = admin_page(&state, &req)?;
    let (certs, repo, chains) = blocking(move || -> Result<_, String> {
        let store = CertStore::open(&dd.certs_dir()).map_err(|e| e.to_string())?;
        let mut certs = store.list(StoreName::My).map_err(|e| e.to_string())?;
        certs.extend(store.list(StoreName::Root).map_err(|e| e.to_string())?);
        let repo = Repository::load(&dd).map_err(|e| e.to_string())?;
        let chains: std::collections::HashMap<String, usize> = certs
            .iter()
            .filter_map(|c| {
                let n = store.chain_der(c.store, &c.thumbprint).ok()?.len();
                Some((c.thumbprint.to_string(), n))
            })
            .collect();
        Ok((certs, repo, chains))
    })
    .await?
    .map_err(|e| Error::Internal(format!("the certificate store cannot be read: {e}")))?;
    let token = csrf::token(&state, &session.principal);
    let b = base(&ctx);
    let content = html! {
        div.titlebar { h1 { "Certificates" } span.count { (certs.len()) } }
        (subnav(&b, "certificates"))
        (outcome(&o))
        @if certs.is_empty() { p.empty { "No certificate in the store yet. Make a self-signed one below, or import one with " code { "reportctl cert import" } "." } }
        @for c in &certs {
            @let days = days_left(c);
            @let used = repo.endpoints_using(&c.thumbprint.to_string());
            article.cert {
                h2 {
                    (c.friendly_name.as_deref().unwrap_or(&c.subject))
                    " "
                    span class=(expiry_class(days)) { (days_text(days)) }
                }
                dl.props {
                    dt { "Subject" } dd { (c.subject) }
                    dt { "Names (SAN)" } dd { (c.sans_text()) }
                    dt { "Issuer" } dd { (c.issuer) @if c.self_signed { " " span.muted { "(self-signed)" } } }
                    dt { "Thumbprint" } dd { code.thumb { (c.thumbprint) } }
                    dt { "SHA-256" } dd { code.thumb { (c.sha256) } }
                    dt { "Valid" } dd { (fmt_time(c.not_before)) " to " (fmt_time(c.not_after)) }
                    dt { "Key" } dd { (c.key_type) @if !c.has_private_key { " · no private key" } }
                    dt { "Store" } dd { (c.store.as_str()) @if c.server_auth { " · server authentication" } @if c.is_ca { " · CA" } }
                    dt { "Used by" } dd {
                        @if used.is_empty() { span.muted { "no binding" } }
                        @for e in &used { code { (e.to_string()) } " " }
                    }
                    dt { "Chain" } dd { (chain_text(chains.get(&c.thumbprint.to_string()).copied().unwrap_or(1), c.self_signed)) }
                    @if !c.warnings.is_empty() {
                        dt { "Problems" } dd { (c.warnings.join("; ")) }
                    }
                }
                a.button.secondary href={ (b) "/manage/certificates/export?thumbprint=" (c.thumbprint.to_string()) } { "Export (PEM)" }
                " "
                form.inline method="post" action={ (b) "/manage/certificates/remove" } {
                    input type="hidden" name=(csrf::FIELD) value=(token);
                    input type="hidden" name="thumbprint" value=(c.thumbprint.to_string());
                    input type="hidden" name="store" value=(c.store.as_str());
                    button.danger type="submit" { "Remove" }
                }
            }
        }
        details.action open[certs.is_empty()] {
            summary { "New self-signed certificate" }
            form.panel method="post" action={ (b) "/manage/certificates/new" } {
                input type="hidden" name=(csrf::FIELD) value=(token);
                label { "DNS names and IP addresses (comma-separated; the first is the subject)"
                    input type="text" name="names" required maxlength="1000" value="localhost, 127.0.0.1"; }
                label { "Friendly name (optional)" input type="text" name="friendly_name" maxlength="256"; }
                label { "Valid for days (1 to 3650)" input type="text" name="days" value="365" inputmode="numeric" maxlength="4"; }
                p.hint { "An ECDSA P-256 key, in store My. Browsers do not trust a self-signed certificate until it is added to their trust store (" code { "reportctl cert export --pem" } ")." }
                button type="submit" { "Create" }
            }
        }
        details.action {
            summary { "Import PFX" }
            form.panel method="post" enctype="multipart/form-data" action={ (b) "/manage/certificates/import" } {
                input type="hidden" name=(csrf::FIELD) value=(token);
                label { "PFX (PKCS#12) file" input type="file" name="file" required; }
                label { "Password" input type="password" name="password" maxlength="256" autocomplete="off"; }
                button type="submit" { "Import" }
            }
        }
    };
    Ok(layout::page(
        &state,
        &ctx,
        "Certificates",
        Some(&badge(&session)),
        content,
    )
    .into_response())
}

fn expiry_class(days: i64) -> &'static str {
    if days <= EXPIRY_CRITICAL_DAYS {
        "expiry critical"
    } else if days <= EXPIRY_WARN_DAYS {
        "expiry warning"
    } else {
        "expiry ok"
    }
}

fn fmt_time(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The session and form of a POST by a System Administrator, after the origin and token
/// checks.
async fn admin_form<T: serde::de::DeserializeOwned>(
    state: &AppState,
    req: Request,
    token: impl Fn(&T) -> Option<&str>,
) -> Result<(Session, httpsys::RequestContext, T), Error> {
    let (session, ctx, form) = super::users::checked_form(state, req, token, require_admin).await?;
    refuse_plain_http(state, &ctx).await?;
    Ok((session, ctx, form))
}

/// Refuses a change that came over plain http while the portal has an https URL.
async fn refuse_plain_http(state: &AppState, ctx: &httpsys::RequestContext) -> Result<(), Error> {
    if !ctx.secure {
        let dd = state.data_dir().clone();
        let https = blocking(move || https_reservation(&dd)).await?;
        if let Some(url) = https {
            return Err(Error::Forbidden(format!(
                "configuration changes are refused over plain http while the portal has the https URL {url} (the form would carry the administrator's credentials in the clear); open this page over https at {url}"
            )));
        }
    }
    Ok(())
}

/// The first https URL of the portal, if any (an unreadable repository counts as one:
/// refuse). Only the portal's: while only the web service has https, these pages cannot be
/// opened over https at all, and refusing would leave no way to add the portal's identity.
fn https_reservation(dd: &DataDir) -> Option<String> {
    match Repository::load(dd) {
        Ok(r) => r
            .reservations_of(httpsys::Application::Portal)
            .find(|u| u.scheme == httpsys::Scheme::Https)
            .map(|u| mgmt::urlapply::browsable_url(u, r.vdir(httpsys::Application::Portal))),
        Err(e) => Some(format!("(the binding repository cannot be read: {e})")),
    }
}

#[derive(Deserialize)]
pub(crate) struct NewCertForm {
    csrf: Option<String>,
    names: String,
    #[serde(default)]
    friendly_name: String,
    #[serde(default)]
    days: String,
}

/// `POST /manage/certificates/new`.
pub(crate) async fn new_certificate(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, form) =
        admin_form::<NewCertForm>(&state, req, |f| f.csrf.as_deref()).await?;
    let names: Vec<String> = form
        .names
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return Ok(back(
            &ctx,
            "certificates",
            Err("the field 'DNS names' is empty: give at least one name, such as localhost".into()),
        ));
    }
    let days: u32 = match form.days.trim() {
        "" => 365,
        d => match d.parse() {
            Ok(n) if (1..=3650).contains(&n) => n,
            _ => {
                return Ok(back(
                    &ctx,
                    "certificates",
                    Err(format!(
                        "the field 'Valid for days' must be a number from 1 to 3650, not {d:?}"
                    )),
                ));
            }
        },
    };
    let mut opts = SelfSignedOptions::new(names);
    opts.days = days;
    let fname = form.friendly_name.trim();
    opts.friendly_name = (!fname.is_empty()).then(|| fname.to_owned());
    let dd = state.data_dir().clone();
    let r = blocking(move || {
        let store = CertStore::open(&dd.certs_dir())?;
        store.new_self_signed(&opts)
    })
    .await?;
    Ok(back_after(&ctx, "certificates", r, |t| {
        tracing::info!(by = %session.principal.name, front_end = "portal", thumbprint = %t, "self-signed certificate created");
        format!("created self-signed certificate {t} in store My")
    }))
}

#[derive(Deserialize)]
pub(crate) struct RemoveCertForm {
    csrf: Option<String>,
    thumbprint: String,
    #[serde(default)]
    store: String,
}

/// `POST /manage/certificates/remove`: through `mgmt::ops::remove_certificate`, which
/// refuses while a binding uses it and names the bindings.
pub(crate) async fn remove_certificate(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, form) =
        admin_form::<RemoveCertForm>(&state, req, |f| f.csrf.as_deref()).await?;
    let thumb: Thumbprint = form
        .thumbprint
        .trim()
        .parse()
        .map_err(|e: certstore::Error| Error::BadRequest(format!("field 'thumbprint': {e}")))?;
    let store = if form.store.eq_ignore_ascii_case("root") {
        StoreName::Root
    } else {
        StoreName::My
    };
    let dd = state.data_dir().clone();
    let r = blocking(move || mgmt::ops::remove_certificate(&dd, &thumb, store))
        .await?
        .map_err(portal_fix);
    Ok(back_after(&ctx, "certificates", r, |()| {
        tracing::info!(by = %session.principal.name, front_end = "portal", thumbprint = %form.thumbprint.trim(), "certificate removed");
        format!(
            "removed certificate {} from store {}",
            form.thumbprint.trim(),
            store.as_str()
        )
    }))
}

/// An operation's refusal with this front end's fix: where on these pages the change that
/// resolves it is made (the library's text says what is wrong in terms of the operation).
pub(crate) fn portal_fix(e: mgmt::Error) -> String {
    let fix = match &e {
        mgmt::Error::CertificateInUse { .. } => Some(
            "on the Bindings page, delete those bindings, or give them another certificate on the Web Service URL or Web Portal URL page",
        ),
        mgmt::Error::ReservationInUse { .. } => Some("delete those bindings on the Bindings page"),
        mgmt::Error::Bindings(httpsys::Error::AlreadyBound { .. }) => Some(
            "choose the certificate bound now, or delete that binding on the Bindings page first",
        ),
        mgmt::Error::Bindings(httpsys::Error::NotReservedFor { .. }) => {
            Some("add an https URL of that port on the Web Service URL or Web Portal URL page")
        }
        _ => None,
    };
    match fix {
        Some(f) => format!("{e} ({f})"),
        None => e.to_string(),
    }
}

/// `GET /manage/bindings`: each SSL binding, endpoint → certificate → policy.
pub(crate) async fn bindings_page(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, o, dd) = admin_page(&state, &req)?;
    let (repo, certs) = blocking(move || -> Result<_, String> {
        let repo = Repository::load(&dd).map_err(|e| e.to_string())?;
        let store = CertStore::open(&dd.certs_dir()).map_err(|e| e.to_string())?;
        let certs = store.list(StoreName::My).map_err(|e| e.to_string())?;
        Ok((repo, certs))
    })
    .await?
    .map_err(|e| Error::Internal(format!("the bindings cannot be read: {e}")))?;
    let serving = serving_state(&state).await;
    let b = base(&ctx);
    let token = csrf::token(&state, &session.principal);
    let content = html! {
        div.titlebar { h1 { "Bindings" } }
        (subnav(&b, "bindings"))
        (outcome(&o))
        h2 { "URL reservations" }
        table.grid {
            thead { tr { th { "Application" } th { "Reservation" } th { "Virtual directory" } } }
            tbody {
                @for r in &repo.reservations {
                    tr { td { (r.app.ssrs_name()) } td { code { (r.url.to_string()) } } td { code { "/" (repo.vdir(r.app)) } } }
                }
            }
        }
        section.panel.explain aria-label="Explain a URL" {
            form.inline method="get" action={ (b) "/manage/bindings/explain" } {
                label for="explain-url" { "Explain a URL: which reservation, binding and certificate serve it" }
                input type="text" id="explain-url" name="url" maxlength="2000" placeholder="https://localhost:443/Reports";
                button type="submit" { "Explain" }
            }
        }
        h2 { "SSL bindings" }
        @if repo.ssl_bindings.is_empty() { p.empty { "No SSL binding: nothing is served over https." } }
        @else {
            table.grid {
                thead { tr { th { "Endpoint" } th { "Applications" } th { "Certificate" } th { "Policy" } th { "Served now" } th { "Actions" } } }
                tbody {
                    @for sb in &repo.ssl_bindings {
                        @let cert = certs.iter().find(|c| c.thumbprint.to_string() == sb.thumbprint);
                        tr {
                            td { code { (sb.endpoint.to_string()) } }
                            td { (sb.apps.iter().map(|a| a.ssrs_name()).collect::<Vec<_>>().join(", ")) }
                            td {
                                code.thumb { (sb.thumbprint) }
                                br;
                                @match cert {
                                    Some(c) => { (c.subject) " · " span class=(expiry_class(days_left(c))) { (days_text(days_left(c))) } }
                                    None => { span.expiry.critical { "missing from store My: handshakes fail" } }
                                }
                            }
                            td { "TLS " (if sb.policy.min_tls == httpsys::MinTls::Tls13 { "1.3" } else { "1.2" }) "+"
                                 (if sb.policy.http2 { " · HTTP/2" } else { "" })
                                 (if sb.policy.hsts { " · HSTS" } else { "" }) }
                            td { (serving.as_ref().map(|s| if s.contains(&sb.endpoint.port()) { "port open" } else { "port not open" }).unwrap_or("server not running")) }
                            td {
                                form.inline method="post" action={ (b) "/manage/bindings/delete" } {
                                    input type="hidden" name=(csrf::FIELD) value=(token);
                                    input type="hidden" name="endpoint" value=(sb.endpoint.to_string());
                                    button.danger type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&state, &ctx, "Bindings", Some(&badge(&session)), content).into_response())
}

#[derive(Deserialize)]
pub(crate) struct DeleteBindingForm {
    csrf: Option<String>,
    endpoint: String,
    #[serde(default)]
    confirm: String,
}

/// Whether the binding of `endpoint` serves the connection this request came on.
fn serves_this_connection(ctx: &httpsys::RequestContext, endpoint: &httpsys::Endpoint) -> bool {
    if !ctx.secure || endpoint.port() != ctx.local.port() {
        return false;
    }
    match endpoint {
        httpsys::Endpoint::IpPort(ip, _) => {
            ip.is_unspecified() || ip.to_canonical() == ctx.local.ip().to_canonical()
        }
        httpsys::Endpoint::HostnamePort(h, _) => h.eq_ignore_ascii_case(&ctx.host),
        httpsys::Endpoint::Ccs(_) => true,
    }
}

/// `POST /manage/bindings/delete`: through `mgmt::ops::ssl_delete` (live: the running
/// server applies it). Removing the binding this page is served over asks to confirm.
pub(crate) async fn delete_binding(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, form) =
        admin_form::<DeleteBindingForm>(&state, req, |f| f.csrf.as_deref()).await?;
    let text = form.endpoint.trim().to_owned();
    let endpoint = httpsys::Endpoint::parse_ipport(&text)
        .or_else(|_| httpsys::Endpoint::parse_hostnameport(&text))
        .map_err(|e| Error::BadRequest(format!("field 'endpoint': {e}")))?;
    if serves_this_connection(&ctx, &endpoint) && form.confirm != "yes" {
        let b = base(&ctx);
        let token = csrf::token(&state, &session.principal);
        let content = html! {
            div.titlebar { h1 { "Remove the binding in use?" } }
            section.panel.danger {
                p { "This page is served over the SSL binding " code { (text) } ". Removing it cuts off this connection: the page will stop loading, and https on that endpoint stops until another certificate is bound." }
                form.inline method="post" action={ (b) "/manage/bindings/delete" } {
                    input type="hidden" name=(csrf::FIELD) value=(token);
                    input type="hidden" name="endpoint" value=(text);
                    input type="hidden" name="confirm" value="yes";
                    button.danger type="submit" { "Remove it anyway" }
                }
                a.button.secondary href={ (b) "/manage/bindings" } { "Cancel" }
            }
        };
        return Ok(
            layout::page(&state, &ctx, "Confirm", Some(&badge(&session)), content).into_response(),
        );
    }
    let dd = state.data_dir().clone();
    let r = blocking(move || mgmt::ops::ssl_delete(&dd, &endpoint)).await?;
    Ok(back_after(&ctx, "bindings", r, |(gone, applied)| {
        tracing::info!(by = %session.principal.name, front_end = "portal", endpoint = %gone.endpoint, "SSL binding removed");
        format!(
            "removed the SSL binding {} (certificate {}); {}",
            gone.endpoint,
            gone.thumbprint,
            applied.describe()
        )
    }))
}

/// Whether `roles` make the banner show (System Administrators only).
pub(crate) fn is_admin(roles: &[Role]) -> bool {
    roles.contains(&Role::SystemAdministrator)
}

fn chain_text(n: usize, self_signed: bool) -> String {
    match (n, self_signed) {
        (1, true) => "self-signed: the certificate alone (clients must trust it)".into(),
        (1, false) => {
            "the certificate alone: clients need its issuer (import the chain with it)".into()
        }
        (n, _) => format!("the certificate and {} issuer certificate(s)", n - 1),
    }
}

/// The ports the running server listens on now (None when no server runs).
async fn serving_state(state: &AppState) -> Option<Vec<u16>> {
    let h = state.management()?;
    let s = h.handle(mgmt::Request::Status).await.status?;
    Some(
        s.ports
            .iter()
            .filter_map(|p| p.split('/').next()?.parse().ok())
            .collect(),
    )
}

/// `GET /manage/certificates/export?thumbprint=T`: the certificate alone, PEM (no key), for
/// clients to trust (`curl --cacert`, a browser's import).
pub(crate) async fn export_certificate(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    admin_parts(&req)?;
    let q = req.uri().query().unwrap_or("");
    let t = form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "thumbprint")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let thumb: Thumbprint = t
        .trim()
        .parse()
        .map_err(|e: certstore::Error| Error::BadRequest(format!("parameter 'thumbprint': {e}")))?;
    let dd = state.data_dir().clone();
    let pem = blocking(move || CertStore::open(&dd.certs_dir())?.export_pem(&thumb))
        .await?
        .map_err(|e| Error::NotFound(e.to_string()))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/x-pem-file"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                &format!(
                    "attachment; filename=\"{}.pem\"",
                    t.trim().to_ascii_uppercase()
                ),
            ),
        ],
        pem,
    )
        .into_response())
}

/// `POST /manage/certificates/import` (multipart: `csrf`, `file`, `password`): a PFX into
/// store My, under the data-dir lock.
pub(crate) async fn import_certificate(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, fields) = admin_multipart(&state, req).await?;
    let password = text_field(&fields, "password");
    let Some(file) = fields.get("file").filter(|f| !f.is_empty()).cloned() else {
        return Ok(back(
            &ctx,
            "certificates",
            Err("choose the PFX file to import".into()),
        ));
    };
    let dd = state.data_dir().clone();
    let r = blocking(move || -> Result<_, String> {
        let _lock = dd.lock().map_err(|e| e.to_string())?;
        let store = CertStore::open(&dd.certs_dir()).map_err(|e| e.to_string())?;
        store
            .import_pfx(&file, &password, StoreName::My)
            .map_err(|e| e.to_string())
    })
    .await?;
    Ok(match r {
        Ok(o) => {
            tracing::info!(by = %session.principal.name, front_end = "portal", thumbprint = %o.thumbprint, "certificate imported");
            back(
                &ctx,
                "certificates",
                Ok(format!(
                    "imported certificate {} into store My",
                    o.thumbprint
                )),
            )
        }
        Err(e) => back(&ctx, "certificates", Err(e)),
    })
}

/// `GET /manage/bindings/explain?url=U`: which application, reservation, SSL binding and
/// certificate serve `U`, from the binding repository (what the server serves after Apply).
pub(crate) async fn explain_page(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx) = admin_parts(&req)?;
    let q = req.uri().query().unwrap_or("");
    let url: String = form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "url")
        .map(|(_, v)| v.chars().take(2000).collect())
        .unwrap_or_default();
    let dd = state.data_dir().clone();
    let u = url.clone();
    let lines = blocking(move || explain(&dd, u.trim())).await?;
    let b = base(&ctx);
    let content = html! {
        div.titlebar { h1 { "Explain a URL" } }
        (subnav(&b, "bindings"))
        form.inline method="get" action={ (b) "/manage/bindings/explain" } {
            label for="explain-url" { "URL" }
            input type="text" id="explain-url" name="url" maxlength="2000" value=(url);
            button type="submit" { "Explain" }
        }
        @match &lines {
            Ok(rows) => {
                dl.props.explain { @for (k, v) in rows { dt { (k) } dd { (v) } } }
            }
            Err(e) => { p.result.failed role="alert" { (e) } }
        }
        a href={ (b) "/manage/bindings" } { "Back to Bindings" }
    };
    Ok(layout::page(&state, &ctx, "Explain", Some(&badge(&session)), content).into_response())
}

/// The explanation of `url` as label/value rows (the labels `reportctl explain` prints),
/// from `mgmt::ops::explain` (the listener's own choice, `httpsys::explain`).
fn explain(dd: &DataDir, url: &str) -> Result<Vec<(&'static str, String)>, String> {
    let probe = httpsys::explain::Probe::parse(url).map_err(|e| e.to_string())?;
    let e = mgmt::ops::explain(dd, &probe).map_err(|e| e.to_string())?;
    let mut rows = vec![("URL", e.probe.url.clone())];
    match &e.route {
        Some(r) => {
            rows.push(("Application", r.app.ssrs_name().to_owned()));
            rows.push(("Virtual directory", r.vdir.clone()));
            rows.push(("Reservation", r.reservation.clone()));
        }
        None => rows.push(("Application", "(none)".into())),
    }
    if let Some(b) = &e.binding {
        rows.push(("SSL binding", format!("{} ({})", b.endpoint, b.matched_by)));
        rows.push(("Certificate", b.thumbprint.clone()));
        if let Some(c) = &b.certificate {
            rows.push(("Certificate subject", c.subject.clone()));
            rows.push(("Certificate validity", days_text(c.days_left)));
        }
    }
    rows.push(("Works", if e.works() { "yes" } else { "no" }.to_owned()));
    rows.extend(e.findings.iter().map(|f| ("Note", f.to_string())));
    Ok(rows)
}
