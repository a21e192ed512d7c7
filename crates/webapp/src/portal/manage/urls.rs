//! The Web Service URL and Web Portal URL pages: virtual directories, URL reservations, the
//! HTTPS Certificate list (server certificates with their key in store My), IP and port,
//! **Apply** (web service) and **Advanced → Add** (portal HTTPS identities), each one
//! `mgmt::urlapply` operation whose steps the Results pane lists, with the URLs that now
//! work.
//!
//! This module parses forms and renders; it changes nothing itself (the operations take the
//! data-dir lock, commit once and have the running server apply).

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use certstore::{CertInfo, CertStore, StoreName, Thumbprint};
use httpsys::{Application, Endpoint, Repository, Scheme};
use maud::{Markup, html};
use mgmt::urlapply::{self, HttpsIdentity, Report, Step, StepResult, WebServiceUrl};
use serde::Deserialize;

use super::{admin_form, admin_parts, badge, blocking, days_left, days_text, subnav};
use crate::portal::{base, csrf, layout};
use crate::{AppState, Error};

/// What the URL pages show: the repository and the certificates a binding can use.
struct View {
    repo: Repository,
    certs: Vec<CertInfo>,
    addresses: Vec<std::net::IpAddr>,
}

async fn view(state: &AppState) -> Result<View, Error> {
    let dd = state.data_dir().clone();
    blocking(move || -> Result<View, String> {
        let repo = Repository::load(&dd).map_err(|e| e.to_string())?;
        let store = CertStore::open(&dd.certs_dir()).map_err(|e| e.to_string())?;
        let certs = store
            .list(StoreName::My)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|c| c.has_private_key && c.server_auth && !c.is_ca)
            .collect();
        Ok(View {
            repo,
            certs,
            addresses: mgmt::ops::local_addresses(),
        })
    })
    .await?
    .map_err(|e| Error::Internal(format!("the URL configuration cannot be read: {e}")))
}

fn cert_label(c: &CertInfo) -> String {
    let t = c.thumbprint.to_string();
    format!(
        "{} · {} · {}…",
        c.friendly_name.as_deref().unwrap_or(&c.subject),
        days_text(days_left(c)),
        &t[..8.min(t.len())]
    )
}

/// The certificate list: "(Not selected)" and each usable certificate of store My.
fn cert_select(certs: &[CertInfo], selected: Option<&str>, allow_none: bool) -> Markup {
    html! {
        select name="thumbprint" id="thumbprint" required[!allow_none] {
            @if allow_none { option value="" selected[selected.is_none()] { "(Not selected)" } }
            @for c in certs {
                @let t = c.thumbprint.to_string();
                option value=(t) selected[selected == Some(t.as_str())] { (cert_label(c)) }
            }
        }
    }
}

fn ip_select(addresses: &[std::net::IpAddr]) -> Markup {
    html! {
        select name="ip" id="ip" {
            option value="all" selected { "All Assigned (0.0.0.0)" }
            @for a in addresses.iter().filter(|a| !a.is_unspecified()) {
                option value=(a.to_string()) { (a.to_string()) }
            }
        }
    }
}

/// The identities (reservations, with the binding serving each https one) of `app`.
fn identities(repo: &Repository, app: Application, certs: &[CertInfo]) -> Markup {
    html! {
        table.grid.identities {
            thead { tr { th { "URL" } th { "Reservation" } th { "SSL binding" } th { "Certificate" } } }
            tbody {
                @for u in repo.reservations_of(app) {
                    @let bindings: Vec<_> = repo.ssl_bindings.iter()
                        .filter(|b| b.apps.contains(&app) && b.endpoint.port() == u.port && u.scheme == Scheme::Https)
                        .collect();
                    tr {
                        td {
                            @let url = urlapply::browsable_url(u, repo.vdir(app));
                            a href=(url) { (url) }
                        }
                        td { code { (u.to_string()) } }
                        td {
                            @if u.scheme == Scheme::Http { span.muted { "http: none" } }
                            @else if bindings.is_empty() { span.expiry.critical { "none: handshakes fail" } }
                            @for b in &bindings { code { (b.endpoint.to_string()) } " " }
                        }
                        td {
                            @for b in &bindings {
                                @match certs.iter().find(|c| c.thumbprint.to_string() == b.thumbprint) {
                                    Some(c) => { (c.friendly_name.as_deref().unwrap_or(&c.subject)) " " code.thumb { (b.thumbprint) } " " }
                                    None => { code.thumb { (b.thumbprint) } " " span.expiry.critical { "not in store My" } " " }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if repo.reservations_of(app).next().is_none() {
            p.empty { "No URL reservation: " (app.ssrs_name()) " is not served." }
        }
    }
}

/// The Results pane: each step as the CLI prints it, then the URLs that now work.
fn results(outcome: &Result<Report, urlapply::Failure>) -> Markup {
    let (steps, urls, error): (&[Step], &[String], Option<String>) = match outcome {
        Ok(r) => (&r.steps, &r.urls, None),
        Err(f) => (&f.steps, &[], Some(f.to_string())),
    };
    html! {
        section.results aria-label="Results" {
            h2 { "Results" }
            ol.steps {
                @for s in steps {
                    li class={ "step " (s.result.as_str()) } {
                        span.mark aria-hidden="true" { (match s.result { StepResult::Done => "✔", StepResult::Unchanged => "–", StepResult::Failed => "✘" }) }
                        " " (s.action)
                        br;
                        span.detail { (s.detail) }
                    }
                }
            }
            @if let Some(e) = error {
                p.result.failed role="alert" { (e) }
            } @else {
                p.result.ok role="status" { "Applied." }
                h3 { "URLs that now work" }
                ul.plain.urls { @for u in urls { li { a href=(u) { (u) } } } }
            }
        }
    }
}

fn current_https_port(repo: &Repository, app: Application) -> u16 {
    repo.reservations_of(app)
        .find(|u| u.scheme == Scheme::Https)
        .map(|u| u.port)
        .unwrap_or(443)
}

fn ws_page(
    state: &AppState,
    ctx: &httpsys::RequestContext,
    session: &crate::auth::Session,
    v: &View,
    outcome: Option<&Result<Report, urlapply::Failure>>,
) -> Response {
    let b = base(ctx);
    let token = csrf::token(state, &session.principal);
    let app = Application::WebService;
    let bound = v
        .repo
        .ssl_bindings
        .iter()
        .find(|sb| sb.apps.contains(&app))
        .map(|sb| sb.thumbprint.clone());
    let content = html! {
        div.titlebar { h1 { "Web Service URL" } }
        (subnav(&b, "webservice-url"))
        p.hint { "Configure a URL used to access the Report Server (" (app.ssrs_name()) "). Apply reserves the https URL when it is not yet, binds the chosen certificate and has the running server serve it, in one change." }
        form.panel.config method="post" action={ (b) "/manage/webservice-url" } {
            input type="hidden" name=(csrf::FIELD) value=(token);
            h3 { "Report Server Web Service Virtual Directory" }
            label for="vdir" { "Virtual Directory" }
            input type="text" id="vdir" name="vdir" required maxlength="100" value=(v.repo.vdir(app));
            h3 { "Report Server Web Service Site identification" }
            label for="ip" { "IP Address" }
                (ip_select(&v.addresses))
                label for="port" { "HTTPS Port" }
                input type="text" id="port" name="port" inputmode="numeric" maxlength="5" value=(current_https_port(&v.repo, app));
                label for="thumbprint" { "HTTPS Certificate" }
                (cert_select(&v.certs, bound.as_deref(), true))
                @if v.certs.is_empty() {
                    p.hint { "No server certificate with its private key in store My: make one on the " a href={ (b) "/manage/certificates" } { "Certificates" } " page." }
                }
            button type="submit" id="apply" { "Apply" }
        }
        h2 { "Report Server Web Service URLs" }
        (identities(&v.repo, app, &v.certs))
        @if let Some(o) = outcome { (results(o)) }
    };
    layout::page(
        state,
        ctx,
        "Web Service URL",
        Some(&badge(session)),
        content,
    )
    .into_response()
}

/// `GET /manage/webservice-url`.
pub(crate) async fn webservice_page(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx) = admin_parts(&req)?;
    let v = view(&state).await?;
    Ok(ws_page(&state, &ctx, &session, &v, None))
}

#[derive(Deserialize)]
pub(crate) struct HttpsForm {
    csrf: Option<String>,
    #[serde(default)]
    vdir: String,
    #[serde(default)]
    thumbprint: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    host: String,
}

/// The identity a form names (None: no certificate chosen).
fn identity_of(form: &HttpsForm, app: Application) -> Result<Option<HttpsIdentity>, String> {
    let t = form.thumbprint.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let thumbprint: Thumbprint = t
        .parse()
        .map_err(|e: certstore::Error| format!("the field 'HTTPS Certificate': {e}"))?;
    let port: u16 = match form.port.trim() {
        "" => 443,
        p => p.parse().ok().filter(|p| *p != 0).ok_or_else(|| {
            format!("the field 'HTTPS Port' must be a port from 1 to 65535, not {p:?}")
        })?,
    };
    let ip = match form.ip.trim() {
        "" | "all" | "0.0.0.0" => None,
        s => Some(
            s.parse()
                .map_err(|_| format!("the field 'IP Address' must be All Assigned or an address of this machine, not {s:?}"))?,
        ),
    };
    let host = Some(form.host.trim().to_ascii_lowercase()).filter(|h| !h.is_empty());
    Ok(Some(HttpsIdentity {
        app,
        thumbprint,
        ip,
        host,
        port,
        policy: mgmt::ops::PolicyFlags::default(),
    }))
}

fn refused(msg: String) -> Result<Report, urlapply::Failure> {
    Err(urlapply::Failure {
        steps: vec![],
        error: mgmt::Error::Refused(msg),
    })
}

/// `POST /manage/webservice-url`: Apply, through `mgmt::urlapply::apply_web_service_url`;
/// answers the page with its Results pane.
pub(crate) async fn webservice_apply(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, form) = admin_form::<HttpsForm>(&state, req, |f| f.csrf.as_deref()).await?;
    let outcome = match (
        form.vdir.trim().parse::<httpsys::VirtualDirectory>(),
        identity_of(&form, Application::WebService),
    ) {
        (Err(e), _) => refused(format!("the field 'Virtual Directory': {e}")),
        (_, Err(e)) => refused(e),
        (Ok(vdir), Ok(https)) => {
            let dd = state.data_dir().clone();
            let req = WebServiceUrl {
                vdir: Some(vdir),
                https,
            };
            blocking(move || urlapply::apply_web_service_url(&dd, &req, "portal")).await?
        }
    };
    log_outcome(&session, "Web Service URL applied", &outcome);
    let v = view(&state).await?;
    Ok(ws_page(&state, &ctx, &session, &v, Some(&outcome)))
}

fn log_outcome(
    session: &crate::auth::Session,
    what: &str,
    outcome: &Result<Report, urlapply::Failure>,
) {
    match outcome {
        Ok(r) => {
            let steps: Vec<String> = r
                .steps
                .iter()
                .map(|s| format!("{}: {}", s.action, s.detail))
                .collect();
            tracing::info!(by = %session.principal.name, front_end = "portal", "{what}: {}", steps.join("; "));
        }
        Err(f) => {
            tracing::info!(by = %session.principal.name, front_end = "portal", "{what}: refused: {f}")
        }
    }
}

fn portal_page(
    state: &AppState,
    ctx: &httpsys::RequestContext,
    session: &crate::auth::Session,
    v: &View,
    advanced: bool,
    outcome: Option<&Result<Report, urlapply::Failure>>,
) -> Response {
    let b = base(ctx);
    let app = Application::Portal;
    let content = html! {
        div.titlebar { h1 { "Web Portal URL" } }
        (subnav(&b, "portal-url"))
        p.hint { "Configure the URL of the web portal (" (app.ssrs_name()) "). It shares ports with the web service; its virtual directory tells them apart." }
        dl.props {
            dt { "Virtual Directory" } dd { code { "/" (v.repo.vdir(app)) } }
        }
        h2 { "Web Portal Site Identification" }
        (identities(&v.repo, app, &v.certs))
        @if !advanced {
            a.button id="advanced" href={ (b) "/manage/portal-url/advanced" } { "Advanced" }
        } @else {
            section.panel.advanced aria-label="Advanced Multiple Web Site Configuration" {
                h2 { "Multiple HTTPS Identities for the currently Reporting Services feature" }
                table.grid {
                    thead { tr { th { "IP Address" } th { "Host Header" } th { "SSL Port" } th { "Certificate" } } }
                    tbody {
                        @for sb in v.repo.ssl_bindings.iter().filter(|sb| sb.apps.contains(&app)) {
                            tr {
                                @match &sb.endpoint {
                                    Endpoint::IpPort(ip, p) => { td { (if ip.is_unspecified() { "All Assigned".to_string() } else { ip.to_string() }) } td { span.muted { "(none)" } } td { (p) } }
                                    Endpoint::HostnamePort(h, p) => { td { "All Assigned" } td { (h) } td { (p) } }
                                    Endpoint::Ccs(p) => { td { "All Assigned" } td { "(central store, by SNI)" } td { (p) } }
                                }
                                td {
                                    @match v.certs.iter().find(|c| c.thumbprint.to_string() == sb.thumbprint) {
                                        Some(c) => { (c.friendly_name.as_deref().unwrap_or(&c.subject)) " " code.thumb { (sb.thumbprint) } }
                                        None => { code.thumb { (sb.thumbprint) } " " span.expiry.critical { "not in store My" } }
                                    }
                                }
                            }
                        }
                    }
                }
                a.button id="add" href={ (b) "/manage/portal-url/add" } { "Add" }
            }
        }
        @if let Some(o) = outcome { (results(o)) }
    };
    layout::page(state, ctx, "Web Portal URL", Some(&badge(session)), content).into_response()
}

/// `GET /manage/portal-url` and `GET /manage/portal-url/advanced`.
pub(crate) async fn portal_url_page(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx) = admin_parts(&req)?;
    let advanced = req.uri().path().ends_with("/advanced");
    let v = view(&state).await?;
    Ok(portal_page(&state, &ctx, &session, &v, advanced, None))
}

/// `GET /manage/portal-url/add`: the "Add a Report Server HTTPS Binding" dialog.
pub(crate) async fn portal_add_page(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx) = admin_parts(&req)?;
    let v = view(&state).await?;
    let b = base(&ctx);
    let token = csrf::token(&state, &session.principal);
    let content = html! {
        div.titlebar { h1 { "Add a Report Server HTTPS Binding" } }
        (subnav(&b, "portal-url"))
        form.panel.config method="post" action={ (b) "/manage/portal-url/add" } {
            input type="hidden" name=(csrf::FIELD) value=(token);
            label for="thumbprint" { "Certificate" }
            (cert_select(&v.certs, None, false))
            label for="ip" { "IP Address" }
            (ip_select(&v.addresses))
            label for="port" { "SSL Port" }
            input type="text" id="port" name="port" inputmode="numeric" maxlength="5" value=(current_https_port(&v.repo, Application::WebService));
            label for="host" { "Host Header (optional: an SNI binding for this name)" }
            input type="text" id="host" name="host" maxlength="253" placeholder="reports.example.com";
            @if v.certs.is_empty() {
                p.hint { "No server certificate with its private key in store My: make one on the " a href={ (b) "/manage/certificates" } { "Certificates" } " page." }
            }
            button type="submit" id="ok" { "OK" }
            " "
            a.button.secondary href={ (b) "/manage/portal-url/advanced" } { "Cancel" }
        }
    };
    Ok(layout::page(
        &state,
        &ctx,
        "Add a Report Server HTTPS Binding",
        Some(&badge(&session)),
        content,
    )
    .into_response())
}

/// `POST /manage/portal-url/add`: through `mgmt::urlapply::add_https_identity`; answers
/// the Advanced page with its Results pane.
pub(crate) async fn portal_add(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx, form) = admin_form::<HttpsForm>(&state, req, |f| f.csrf.as_deref()).await?;
    let outcome = match identity_of(&form, Application::Portal) {
        Err(e) => refused(e),
        Ok(None) => refused("the field 'Certificate' is empty: choose a certificate".into()),
        Ok(Some(id)) => {
            let dd = state.data_dir().clone();
            blocking(move || urlapply::add_https_identity(&dd, &id, "portal")).await?
        }
    };
    log_outcome(&session, "Web Portal HTTPS identity added", &outcome);
    let v = view(&state).await?;
    Ok(portal_page(
        &state,
        &ctx,
        &session,
        &v,
        true,
        Some(&outcome),
    ))
}
