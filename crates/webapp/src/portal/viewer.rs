//! The report viewer at `/Reports/report/<path>` (SSRS's URL shape): the parameter pane
//! built from the report's definitions (also used by URL access's HTML5 page), with a user
//! name and password per data source that prompts for credentials, a toolbar (page n of N,
//! first/previous/next/last, refresh, zoom, find and find next, an export link per format
//! this server renders) and the report's HTML5 fragment in the page (no iframe, ids
//! prefixed).
//!
//! Everything is a plain GET: "View Report" submits the parameter form to this same URL, page
//! links carry `rc:Section=N`, find is `rc:FindString` (the first page from the current one
//! holding the text; `rc:FindNext` starts after it), zoom `rc:Zoom` (percentages applied
//! here), so the viewer works with scripts off. The one script (`assets/viewer.js`)
//! resubmits the pane when a parameter changes (cascading refresh), highlights the found
//! text and steps through it before asking for the next page, and fits Page Width / Whole
//! Page and applies a zoom choice at once. Page turns and exports reuse the execution
//! ([`crate::report::execute`]). Parameter and processing errors are shown inline above the
//! pane, in SSRS's words and codes. Every value is escaped (maud), the fragment is escaped by
//! the renderer, and its `<style>` carries this response's CSP nonce.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use catalog::{ItemPath, ItemType, Permission};
use http::{HeaderValue, header};
use httpsys::RequestContext;
use maud::{Markup, PreEscaped, html};
use rdl::model::{ParameterType, ReportParameter};

use super::pages::{badge, parts};
use super::{base, item_path_from_uri};
use crate::auth::Session;
use crate::report::pool::Cancel;
use crate::report::urlaccess::{self, Format, RenderRequest, SUPPORTED_FORMATS};
use crate::report::{self, ReportError};
use crate::{AppState, Error};

/// Largest HTML fragment the viewer embeds.
const MAX_FRAGMENT_BYTES: usize = 64 << 20;

/// `/{vdir}/report/A/B`.
pub(crate) fn viewer_url(ctx: &RequestContext, path: &ItemPath) -> String {
    format!(
        "/{}/report/{}",
        ctx.vdir,
        crate::html::encode_path_segments(path)
    )
}

/// What the pane shows for one parameter.
pub(crate) struct PaneParam<'a> {
    def: &'a ReportParameter,
    /// Current values as text (`None` = NULL).
    values: Vec<Option<String>>,
    choices: Option<Vec<(String, String)>>,
}

/// `GET /report/{*path}`.
pub(crate) async fn page(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let path = item_path_from_uri(req.uri().path(), "/report/")?;
    let (session, ctx) = parts(&req)?;
    let item = session
        .catalog
        .get_item(&path)
        .await?
        .ok_or_else(|| Error::NotFound(path.to_string()))?;
    session.require(&path, Permission::Read).await?;
    if item.item_type != ItemType::Report {
        return Err(Error::BadRequest(format!(
            "'{path}' is a {}, not a report; the viewer shows reports",
            item.item_type
        )));
    }
    let query = req.uri().query().unwrap_or("").to_owned();
    let badge = badge(&session, &path).await?;
    let nonce = report::nonce();
    let body = match viewer_body(&state, &session, &ctx, &path, &query, &nonce).await {
        Ok(m) => m,
        Err(e) => html! { (error_box(&e)) },
    };
    let content = html! {
        (super::layout::breadcrumbs(&ctx, &path, false))
        link rel="stylesheet" href={ (base(&ctx)) "/assets/viewer.css?v=" (state.version()) };
        (body)
        script src={ (base(&ctx)) "/assets/viewer.js?v=" (state.version()) } {}
    };
    let markup = super::layout::page(&state, &ctx, &item.name, Some(&badge), content);
    let mut resp = markup.into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        report::csp_with_style_nonce(&nonce),
    );
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(resp)
}

fn error_box(e: &ReportError) -> Markup {
    html! {
        div.viewer-error role="alert" {
            strong { (e.title()) }
            p { (e.message) }
            p.code { (e.code) }
        }
    }
}

/// The viewer's form values: empty fields of non-string parameters mean "not given"; a
/// multi-value field without valid values holds one value per line.
pub(crate) fn normalize(c: &engine::Compiled, req: &mut RenderRequest) {
    for (name, values) in &mut req.params {
        let Some(def) = c.report.parameter(name) else {
            continue;
        };
        if def.multi_value {
            let mut split = Vec::new();
            for v in values.drain(..) {
                match v {
                    Some(s) if s.contains('\n') => split.extend(
                        s.lines()
                            .map(|l| l.trim_end_matches('\r'))
                            .filter(|l| !l.is_empty())
                            .map(|l| Some(l.to_owned())),
                    ),
                    other => split.push(other),
                }
            }
            *values = split;
        }
        if def.data_type != ParameterType::String {
            values.retain(|v| v.as_deref().is_none_or(|s| !s.trim().is_empty()));
        }
    }
    req.params.retain(|(_, v)| !v.is_empty());
}

async fn viewer_body(
    state: &AppState,
    session: &Session,
    ctx: &RequestContext,
    path: &ItemPath,
    query: &str,
    nonce: &str,
) -> Result<Markup, ReportError> {
    let mut req = urlaccess::parse_with(query, true)
        .map_err(|m| ReportError::new(http::StatusCode::BAD_REQUEST, "rsInvalidParameter", m))?;
    let submitted = req.server.contains_key("view");
    req.server.remove("view");
    let c = report::compiled(state, session, path).await?;
    normalize(&c, &mut req);
    let pane = build_pane(state, session, path, &c, &req).await?;
    let here = viewer_url(ctx, path);
    let hidden = [("rs:View".to_owned(), "1".to_owned())];
    // a report without visible parameters or prompted data sources has no pane
    let pane_markup = if pane.is_empty() {
        html! {}
    } else {
        parameter_pane(&here, &hidden, &pane, true)
    };
    let params = match pane.resolved {
        Err(e) => return Ok(html! { (error_box(&e)) (pane_markup) }),
        Ok(report::Resolved { params: Ok(p), .. }) => p,
        Ok(report::Resolved { params: Err(e), .. }) => {
            let show = submitted || !matches!(e, engine::ParamError::ValueNotSet { .. });
            return Ok(html! {
                @if show { (error_box(&ReportError::param(&e))) }
                @else { p.viewer-hint { "Enter the parameter values and select View Report." } }
                (pane_markup)
            });
        }
    };
    // the values as resolved (defaults included) drive the links
    let mut run = req.clone();
    run.params = params.to_pairs().into_iter().fold(
        Vec::new(),
        |mut acc: Vec<(String, Vec<Option<String>>)>, (k, v)| {
            match acc.iter_mut().find(|(n, _)| *n == k) {
                Some((_, vs)) => vs.push(v),
                None => acc.push((k, vec![v])),
            }
            acc
        },
    );
    let limit = report::time_limit(state);
    let exec = match tokio::time::timeout(limit, report::execute(state, session, path, &c, &run))
        .await
        .unwrap_or_else(|_| Err(ReportError::timeout(limit)))
    {
        Ok(e) => e,
        Err(e) => return Ok(html! { (error_box(&e)) (pane_markup) }),
    };
    let device = |name: &str| {
        req.device
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let section: u32 = device("Section")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    // rc:Zoom: a percentage (10-500) applied here; Page Width and Whole Page need the
    // browser's measures (viewer.js), and show at 100% without it.
    let zoom = Zoom::parse(device("Zoom").as_deref())?;
    // rc:FindString: the first page from this one (rc:FindNext: from the next one) that
    // contains the text, wrapping around.
    let find = device("FindString").filter(|s| !s.is_empty());
    let find_next = device("FindNext").is_some();
    let pairs = params.to_pairs();
    let mut o = render::html::HtmlOptions {
        fragment: true,
        prefix: "rv_".into(),
        nonce: Some(nonce.to_owned()),
        ..render::html::HtmlOptions::default()
    };
    let own_query = report::url_access_query(&ItemPath::root(), &pairs, "");
    let own_query = own_query.trim_start_matches('&').to_owned();
    let zoom_query = match &zoom {
        Zoom::Percent(100) => String::new(),
        z => format!("&rc:Zoom={}", crate::html::encode_component(&z.value())),
    };
    o.self_url = Some(format!(
        "{here}?{own_query}&rc:Section={section}{zoom_query}"
    ));
    o.drillthrough_prefix = format!("/{}/report", ctx.vdir);
    let globals = report::globals(session, ctx, &exec, Format::Html5);
    let cancel = Cancel::default();
    let _guard = report::pool::CancelOnDrop(cancel.flag.clone());
    let opts = report::bind_options(state, session, &req, &exec, limit, &cancel);
    let needle = find.as_deref().map(str::to_lowercase);
    let (fragment, pages, shown, found) = state
        .reports()
        .pool
        .run(limit, &cancel, move |_| {
            let inst = engine::bind(&c, &exec.params, &exec.tables, &globals, &opts)
                .map_err(|e| ReportError::engine(&e))?;
            let m = engine::page::AverageCharMeasurer;
            let pages = render::html::page_count(&inst, &o, &m).max(1);
            let render_page = |o: &render::html::HtmlOptions| -> Result<String, ReportError> {
                let mut out = CappedBuf(Vec::new());
                render::html::render(&inst, o, &m, &mut out)
                    .map_err(|e| ReportError::render(&e))?;
                String::from_utf8(out.0)
                    .map_err(|_| ReportError::internal("the HTML renderer wrote invalid UTF-8"))
            };
            let current = section.min(pages);
            if let Some(needle) = &needle {
                let start = if find_next {
                    current % pages + 1
                } else {
                    current
                };
                for k in 0..pages {
                    let n = (start - 1 + k) % pages + 1;
                    o.section = n;
                    let text = render_page(&o)?;
                    if page_text(&text).to_lowercase().contains(needle.as_str()) {
                        return Ok((text, pages, n, Some(true)));
                    }
                }
            }
            o.section = current;
            let text = render_page(&o)?;
            Ok((text, pages, current, needle.as_ref().map(|_| false)))
        })
        .await?;
    let ws = format!("/{}", state.webservice_vdir());
    let export_base = report::url_access_query(path, &pairs, "&rs:Command=Render");
    let page_link = |n: u32| format!("{here}?{own_query}&rc:Section={n}{zoom_query}");
    let find_text = find.clone().unwrap_or_default();
    Ok(html! {
        (pane_markup)
        nav.viewer-toolbar aria-label="Report toolbar" {
            @if shown > 1 {
                a.tb href=(page_link(1)) title="First page" { "«" }
                a.tb href=(page_link(shown - 1)) title="Previous page" { "‹" }
            } @else {
                span.tb.off { "«" } span.tb.off { "‹" }
            }
            span.pages { "Page " span.n { (shown) } " of " span.of { (pages) } }
            @if shown < pages {
                a.tb href=(page_link(shown + 1)) title="Next page" { "›" }
                a.tb href=(page_link(pages)) title="Last page" { "»" }
            } @else {
                span.tb.off { "›" } span.tb.off { "»" }
            }
            a.tb href={ (page_link(shown)) "&rs:ClearSession=true" } title="Refresh" { "⟳ Refresh" }
            form.viewer-tools method="get" action=(here) role="search" {
                @for (k, v) in &pairs {
                    @match v {
                        Some(v) => { input type="hidden" name=(k) value=(v); }
                        None => { input type="hidden" name={ (k) ":isnull" } value="true"; }
                    }
                }
                input type="hidden" name="rc:Section" value=(shown);
                label.zoom {
                    "Zoom "
                    select name="rc:Zoom" {
                        @for z in Zoom::CHOICES {
                            option value=(z.value()) selected[*z == zoom] { (z.label()) }
                        }
                    }
                }
                input type="search" name="rc:FindString" value=(find_text) placeholder="Find text in report" aria-label="Find text in report";
                button.tb type="submit" { "Find" }
                button.tb.find-next type="submit" name="rc:FindNext" value="1" { "Next" }
            }
            @if found == Some(false) {
                span.find-none role="status" { "“" (find_text) "” was not found in the report." }
            }
            span.export {
                "Export: "
                @for f in SUPPORTED_FORMATS.iter().filter(|f| **f != "HTML5") {
                    a.fmt href={ (ws) "?" (export_base) "&rs:Format=" (f) } { (f) }
                    " "
                }
                a.fmt href={ (ws) "?" (export_base) "&rs:Format=HTML5" } { "HTML5" }
            }
        }
        @if let Zoom::Percent(p) = zoom {
            @if p != 100 {
                style nonce=(nonce) { "#rv-zoom{zoom:" (p) "%}" }
            }
        }
        div.viewer-report data-zoom=(zoom.value()) data-find=[find.as_deref()] {
            div id="rv-zoom" { (PreEscaped(fragment)) }
        }
    })
}

/// The viewer's zoom (`rc:Zoom`, as SSRS's HTML viewer names it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Zoom {
    PageWidth,
    WholePage,
    Percent(u32),
}

impl Zoom {
    const CHOICES: &'static [Zoom] = &[
        Zoom::PageWidth,
        Zoom::WholePage,
        Zoom::Percent(500),
        Zoom::Percent(200),
        Zoom::Percent(150),
        Zoom::Percent(100),
        Zoom::Percent(75),
        Zoom::Percent(50),
        Zoom::Percent(25),
        Zoom::Percent(10),
    ];

    fn parse(v: Option<&str>) -> Result<Zoom, ReportError> {
        let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Zoom::Percent(100));
        };
        if v.eq_ignore_ascii_case("page width") || v.eq_ignore_ascii_case("pagewidth") {
            return Ok(Zoom::PageWidth);
        }
        if v.eq_ignore_ascii_case("whole page") || v.eq_ignore_ascii_case("wholepage") {
            return Ok(Zoom::WholePage);
        }
        match v.trim_end_matches('%').parse::<u32>() {
            Ok(p) if (10..=500).contains(&p) => Ok(Zoom::Percent(p)),
            _ => Err(ReportError::new(
                http::StatusCode::BAD_REQUEST,
                "rsInvalidDeviceInfo",
                format!(
                    "rc:Zoom={v} is not valid; use Page Width, Whole Page or a percentage from 10 to 500"
                ),
            )),
        }
    }

    fn value(&self) -> String {
        match self {
            Zoom::PageWidth => "Page Width".into(),
            Zoom::WholePage => "Whole Page".into(),
            Zoom::Percent(p) => p.to_string(),
        }
    }

    fn label(&self) -> String {
        match self {
            Zoom::Percent(p) => format!("{p}%"),
            other => other.value(),
        }
    }
}

/// The text a reader sees in an HTML fragment: tags and `<style>` blocks dropped, the
/// renderer's entities decoded (for find).
fn page_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        if rest
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("<style"))
        {
            rest = match rest.find("</style>") {
                Some(end) => &rest[end + 8..],
                None => "",
            };
            continue;
        }
        rest = match rest.find('>') {
            Some(gt) => &rest[gt + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The parameter pane of a report: its visible parameters with their current values and
/// choices, the data sources that prompt for credentials, and the resolution behind them
/// (`Err` when the data the parameters need could not be had, e.g. credentials missing).
pub(crate) struct Pane<'a> {
    pub params: Vec<PaneParam<'a>>,
    pub prompted: Vec<report::datasources::Prompted>,
    pub resolved: Result<report::Resolved, ReportError>,
}

impl Pane<'_> {
    /// True when there is nothing to ask.
    pub(crate) fn is_empty(&self) -> bool {
        self.params.is_empty() && self.prompted.is_empty()
    }
}

/// Resolves `req`'s parameters of `c` and builds the pane (the viewer's and URL access's).
pub(crate) async fn build_pane<'a>(
    state: &AppState,
    session: &Session,
    path: &ItemPath,
    c: &'a engine::Compiled,
    req: &RenderRequest,
) -> Result<Pane<'a>, ReportError> {
    let prompted = report::datasources::prompted(session, path, c).await;
    let resolved =
        report::resolve(state, session, path, c, &req.param_map(), &req.credentials).await;
    let empty = engine::ResolvedParams::default();
    let (current, mut tables) = match &resolved {
        Ok(r) => (r.params.as_ref().unwrap_or(&empty), r.tables.clone()),
        Err(_) => (&empty, std::collections::HashMap::new()),
    };
    let creds = req.credentials.for_report(c);
    let mut params = Vec::new();
    for def in c
        .report
        .parameters
        .iter()
        .filter(|p| !p.is_internal() && !p.hidden)
    {
        let values = match current.get(&def.name) {
            Some(v) => v
                .values
                .iter()
                .map(|x| (!x.is_null()).then(|| engine::params::value_text(x)))
                .collect(),
            None => req
                .params
                .iter()
                .find(|(n, _)| *n == def.name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        };
        let mut choices = None;
        for _ in 0..4 {
            if resolved.is_err() {
                break;
            }
            match c.parameter_choices(&def.name, current, &tables) {
                Ok(cs) => {
                    choices = cs;
                    break;
                }
                Err(engine::ParamError::NeedsData { requests }) => {
                    for q in &requests {
                        let t = report::fetch_with(state, session, path, q, &creds).await?;
                        tables.insert(q.dataset.clone(), t);
                    }
                }
                Err(_) => break,
            }
        }
        let choices = choices.map(|cs| {
            cs.into_iter()
                .map(|(v, l)| (engine::params::value_text(&v), l))
                .collect()
        });
        params.push(PaneParam {
            def,
            values,
            choices,
        });
    }
    Ok(Pane {
        params,
        prompted,
        resolved,
    })
}

/// A `Write` into memory that refuses to grow past [`MAX_FRAGMENT_BYTES`].
struct CappedBuf(Vec<u8>);

impl std::io::Write for CappedBuf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + data.len() > MAX_FRAGMENT_BYTES {
            return Err(std::io::Error::other(format!(
                "the report page is larger than {} MiB; view it in smaller pages or export it",
                MAX_FRAGMENT_BYTES >> 20
            )));
        }
        self.0.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The pane's form: a GET of `action` with the `hidden` fields, an input per parameter and a
/// user name and password per data source that prompts (never filled in). With
/// `open` false it starts collapsed (`rc:Parameters=Collapsed`).
pub(crate) fn parameter_pane(
    action: &str,
    hidden: &[(String, String)],
    pane: &Pane<'_>,
    open: bool,
) -> Markup {
    html! {
        details.viewer-pane open[open] {
        summary { "Parameters" }
        form.viewer-params method="get" action=(action) {
            @for (k, v) in hidden {
                input type="hidden" name=(k) value=(v);
            }
            @for d in &pane.prompted {
                @let user_id = format!("dsu_{}", d.name);
                @let pw_id = format!("dsp_{}", d.name);
                fieldset.credentials data-datasource=(d.name) {
                    legend { (d.prompt) " (" (d.name) ")" }
                    label for=(user_id) { "User name" }
                    input id=(user_id) type="text" name={ "dsu:" (d.name) } autocomplete="username";
                    label for=(pw_id) { "Password" }
                    input id=(pw_id) type="password" name={ "dsp:" (d.name) } autocomplete="current-password";
                }
            }
            @for p in &pane.params {
                @let name = p.def.name.as_str();
                @let label = p.def.prompt.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| name.to_owned());
                @let id = format!("p_{name}");
                @let is_null = p.values.len() == 1 && p.values[0].is_none();
                @let first = p.values.first().cloned().flatten().unwrap_or_default();
                div.param data-param=(name) {
                    label for=(id) { (label) }
                    @if let Some(choices) = &p.choices {
                        select id=(id) name=(name) multiple[p.def.multi_value] {
                            @if !p.def.multi_value { option value="" { "<Select a Value>" } }
                            @for (v, l) in choices {
                                @let sel = p.values.iter().any(|x| x.as_deref() == Some(v.as_str()));
                                option value=(v) selected[sel] { (l) }
                            }
                        }
                    } @else if p.def.data_type == ParameterType::Boolean {
                        span.radios {
                            label { input type="radio" name=(name) value="True" checked[first.eq_ignore_ascii_case("true")]; " True" }
                            label { input type="radio" name=(name) value="False" checked[first.eq_ignore_ascii_case("false")]; " False" }
                        }
                    } @else if p.def.multi_value {
                        @let text = p.values.iter().flatten().cloned().collect::<Vec<_>>().join("\n");
                        textarea id=(id) name=(name) rows="3" placeholder="one value per line" { (text) }
                    } @else {
                        @let (ty, step) = match p.def.data_type {
                            ParameterType::Integer => ("number", Some("1")),
                            ParameterType::Float => ("number", Some("any")),
                            _ => ("text", None),
                        };
                        input id=(id) type=(ty) step=[step] name=(name) value=(first)
                            placeholder=[(p.def.data_type == ParameterType::DateTime).then_some("yyyy-mm-dd")];
                    }
                    @if p.def.nullable {
                        label.null { input type="checkbox" name={ (name) ":isnull" } value="true" checked[is_null]; " NULL" }
                    }
                    @if p.def.allow_blank && p.def.data_type == ParameterType::String {
                        span.blank { "(may be blank)" }
                    }
                }
            }
            button type="submit" { "View Report" }
        }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_text_drops_tags_and_styles() {
        let html = "<style nonce=\"n\">.a{color:red}</style><div class=\"a\">Owl <span>Whole</span>sales &amp; Co &lt;1&gt;</div>";
        assert_eq!(page_text(html), "Owl Wholesales & Co <1>");
    }

    #[test]
    fn zoom_values() {
        assert_eq!(Zoom::parse(None).unwrap(), Zoom::Percent(100));
        assert_eq!(Zoom::parse(Some("Page Width")).unwrap(), Zoom::PageWidth);
        assert_eq!(Zoom::parse(Some("whole page")).unwrap(), Zoom::WholePage);
        assert_eq!(Zoom::parse(Some("150")).unwrap(), Zoom::Percent(150));
        let e = Zoom::parse(Some("9000")).unwrap_err();
        assert!(e.message.contains("rc:Zoom=9000"), "{}", e.message);
    }
}
