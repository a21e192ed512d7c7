//! The report viewer at `/Reports/report/<path>` (SSRS's URL shape): the parameter pane
//! built from the report's definitions, a toolbar (page n of N, first/previous/next/last,
//! refresh, an export link per format this server renders) and the report's HTML5 fragment
//! in the page (no iframe, ids prefixed).
//!
//! Everything is a plain GET: "View Report" submits the parameter form to this same URL, page
//! links carry `rc:Section=N`, so the viewer works with scripts off. The one script
//! (`assets/viewer.js`) only resubmits the form when a parameter other parameters depend on
//! changes (cascading refresh). Page turns and exports reuse the execution
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
struct PaneParam<'a> {
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
fn normalize(c: &engine::Compiled, req: &mut RenderRequest) {
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
    let resolved = report::resolve(state, session, path, &c, &req.param_map()).await?;
    // the pane: current values, choices from the data fetched so far
    let empty = engine::ResolvedParams::default();
    let current = resolved.params.as_ref().unwrap_or(&empty);
    let mut tables = resolved.tables.clone();
    let mut pane = Vec::new();
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
            match c.parameter_choices(&def.name, current, &tables) {
                Ok(cs) => {
                    choices = cs;
                    break;
                }
                Err(engine::ParamError::NeedsData { requests }) => {
                    for q in &requests {
                        let t = report::fetch(state, session, path, q).await?;
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
        pane.push(PaneParam {
            def,
            values,
            choices,
        });
    }
    let here = viewer_url(ctx, path);
    let pane_markup = parameter_pane(&here, &pane);
    let params = match resolved.params {
        Ok(p) => p,
        Err(e) => {
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
    let section: u32 = req
        .device
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Section"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(1)
        .max(1);
    let pairs = params.to_pairs();
    let mut o = render::html::HtmlOptions {
        fragment: true,
        prefix: "rv_".into(),
        nonce: Some(nonce.to_owned()),
        ..render::html::HtmlOptions::default()
    };
    let own_query = report::url_access_query(&ItemPath::root(), &pairs, "");
    let own_query = own_query.trim_start_matches('&');
    o.self_url = Some(format!("{here}?{own_query}&rc:Section={section}"));
    o.drillthrough_prefix = format!("/{}/report", ctx.vdir);
    let globals = report::globals(session, ctx, &exec, Format::Html5);
    let cancel = Cancel::default();
    let _guard = report::pool::CancelOnDrop(cancel.flag.clone());
    let opts = report::bind_options(state, &req, &cancel);
    let (fragment, pages, shown) = state
        .reports()
        .pool
        .run(limit, &cancel, move |_| {
            let inst = engine::bind(&c, &exec.params, &exec.tables, &globals, &opts)
                .map_err(|e| ReportError::engine(&e))?;
            let m = engine::page::AverageCharMeasurer;
            let pages = render::html::page_count(&inst, &o, &m).max(1);
            o.section = section.min(pages);
            let mut out = CappedBuf(Vec::new());
            render::html::render(&inst, &o, &m, &mut out).map_err(|e| ReportError::render(&e))?;
            let text = String::from_utf8(out.0)
                .map_err(|_| ReportError::internal("the HTML renderer wrote invalid UTF-8"))?;
            Ok((text, pages, o.section))
        })
        .await?;
    let ws = format!("/{}", state.webservice_vdir());
    let export_base = report::url_access_query(path, &pairs, "&rs:Command=Render");
    let page_link = |n: u32| format!("{here}?{own_query}&rc:Section={n}");
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
            span.export {
                "Export: "
                @for f in SUPPORTED_FORMATS.iter().filter(|f| **f != "HTML5") {
                    a.fmt href={ (ws) "?" (export_base) "&rs:Format=" (f) } { (f) }
                    " "
                }
                a.fmt href={ (ws) "?" (export_base) "&rs:Format=HTML5" } { "HTML5" }
            }
        }
        div.viewer-report { (PreEscaped(fragment)) }
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

fn parameter_pane(action: &str, pane: &[PaneParam<'_>]) -> Markup {
    html! {
        form.viewer-params method="get" action=(action) {
            input type="hidden" name="rs:View" value="1";
            @for p in pane {
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
