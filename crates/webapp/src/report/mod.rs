//! Report rendering on the web side: URL access (`rs:Command=Render`), the executions the
//! portal's viewer reuses, and the bounded pool renders run on.
//!
//! One request: [`urlaccess::parse`] reads `rs:`/`rc:`/parameters → the compiled report for
//! this catalog generation (parsed once, [`execution`] caches it) → parameters resolved,
//! with the data sets cascading parameters need fetched first ([`datasources`]) → the
//! queries run (`dataprov`, limits from the settings) → the execution kept for a few minutes
//! → bind + render on the [`pool`] (off the async runtime, time limit, cancelled when the
//! client goes away), output streamed in chunks.
//!
//! Errors are [`ReportError`]s: an SSRS code, a status and words naming the problem; a
//! parameter problem is a 400, a definition that does not parse or a data/processing limit a
//! 422, the render time limit and a database that does not answer a 503. Never a 500 for
//! anything a report or a request can contain.
//! Must not: lay out or format anything (the `render` crate does), or touch files.

pub(crate) mod datasources;
pub(crate) mod execution;
pub(crate) mod pool;
pub(crate) mod subreports;
pub(crate) mod urlaccess;

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use catalog::ItemPath;
use engine::{Compiled, EngineError, ParamError};
use http::{HeaderValue, StatusCode, header};
use httpsys::RequestContext;
use render::RenderError;

use crate::AppState;
use crate::auth::Session;
use crate::error::ErrorPage;
pub(crate) use datasources::Credentials;
use execution::{ByteCache, Execution, ExecutionKey};
use pool::{Cancel, CancelOnDrop, Pool};
use urlaccess::{Format, RenderRequest};

/// Most rounds of "fetch the data sets the parameters need" (cascading depth).
const MAX_PARAMETER_ROUNDS: usize = 32;

/// The report side of the application state.
pub(crate) struct Reports {
    pub(crate) pool: Pool,
    compiled: ByteCache<(String, i64), Compiled>,
    executions: ByteCache<ExecutionKey, Execution>,
    registry: dataprov::Registry,
}

impl Default for Reports {
    fn default() -> Self {
        Reports {
            pool: Pool::default(),
            compiled: ByteCache::new(execution::COMPILED_CACHE_BYTES, Duration::from_secs(3600)),
            executions: ByteCache::new(execution::EXECUTION_CACHE_BYTES, execution::EXECUTION_TTL),
            registry: dataprov::Registry::with_defaults(),
        }
    }
}

impl Reports {
    /// The data providers reports run on (also the REST API's connection checks).
    pub(crate) fn registry(&self) -> &dataprov::Registry {
        &self.registry
    }
}

/// A report that could not be rendered: status, SSRS code, words.
#[derive(Debug, Clone)]
pub(crate) struct ReportError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The SSRS error code (`rsReportParameterValueNotSet`...).
    pub code: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl ReportError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: String) -> Self {
        ReportError {
            status,
            code,
            message,
        }
    }

    pub(crate) fn internal(what: &str) -> Self {
        tracing::error!(cause = what, "report processing failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "rsInternalError",
            "an internal error occurred while processing the report; the server log has the details".into(),
        )
    }

    pub(crate) fn timeout(limit: Duration) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "rsExecutionTimeout",
            format!(
                "the report did not finish within the time limit of {} seconds (RenderTimeoutSeconds); \
                 narrow it with parameters, or an administrator raises the limit with \
                 `reportctl config set RenderTimeoutSeconds N`",
                limit.as_secs()
            ),
        )
    }

    pub(crate) fn cancelled() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "rsProcessingAborted",
            "the report processing was cancelled".into(),
        )
    }

    /// A timeout if the flag was set by the time limit, else `self`.
    pub(crate) fn or_timeout(self, cancel: &Cancel, limit: Duration) -> Self {
        if cancel.timed_out.load(std::sync::atomic::Ordering::Relaxed) {
            Self::timeout(limit)
        } else {
            self
        }
    }

    pub(crate) fn catalog(e: catalog::Error) -> Self {
        let e = crate::Error::from(e);
        Self::new(e.status(), "rsReportServerDatabaseError", e.to_string())
    }

    pub(crate) fn param(e: &ParamError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, e.code(), e.to_string())
    }

    pub(crate) fn engine(e: &EngineError) -> Self {
        match e {
            EngineError::Parameter(p) => Self::param(p),
            EngineError::Cancelled => Self::cancelled(),
            EngineError::Limit { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                e.code(),
                format!("{e} (MaxReportRows)"),
            ),
            other => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                other.code(),
                other.to_string(),
            ),
        }
    }

    pub(crate) fn data(dataset: &str, e: &dataprov::DataError) -> Self {
        use dataprov::DataError as D;
        let code = match e {
            D::UnknownExtension { .. } => "rsDataExtensionNotFound",
            D::PathNotAllowed { .. } | D::ConnectString { .. } | D::Connect { .. } => {
                "rsErrorOpeningConnection"
            }
            D::RowLimit { .. } | D::ByteLimit { .. } => "rsProcessingLimitExceeded",
            D::Timeout { .. } => "rsQueryTimeout",
            _ => "rsErrorExecutingCommand",
        };
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            format!("Query execution failed for dataset '{dataset}': {e}"),
        )
    }

    pub(crate) fn render(e: &RenderError) -> Self {
        match e {
            RenderError::DeviceInfo { .. } | RenderError::NoSuchPage { .. } => Self::new(
                StatusCode::BAD_REQUEST,
                "rsInvalidDeviceInfo",
                e.to_string(),
            ),
            RenderError::Io(io) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "rsProcessingAborted",
                format!("the output could not be written: {io}"),
            ),
            other => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rsRenderingError",
                other.to_string(),
            ),
        }
    }

    pub(crate) fn from_io(e: std::io::Error) -> Self {
        Self::render(&RenderError::Io(e))
    }

    fn bad(code: &'static str, message: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The page title for this status.
    pub(crate) fn title(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "Report parameter or request error",
            StatusCode::UNPROCESSABLE_ENTITY => "Report processing error",
            StatusCode::SERVICE_UNAVAILABLE => "Report processing limit",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Access denied",
            _ => "Report error",
        }
    }
}

impl IntoResponse for ReportError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            status: self.status,
            title: self.title(),
            message: self.message.clone(),
            code: self.code,
        };
        let mut body = String::with_capacity(256 + self.message.len());
        body.push_str("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>");
        crate::html::escape(page.title, &mut body);
        body.push_str("</title></head><body><h1>");
        crate::html::escape(page.title, &mut body);
        body.push_str("</h1><p>");
        crate::html::escape(&self.message, &mut body);
        body.push_str(" (");
        body.push_str(self.code);
        body.push_str(")</p></body></html>");
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() = self.status;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        resp.extensions_mut().insert(page);
        resp
    }
}

/// The render time limit from the settings.
pub(crate) fn time_limit(state: &AppState) -> Duration {
    Duration::from_secs(u64::from(state.settings().render_timeout_seconds.max(1)))
}

/// The compiled report at `path` for this catalog generation (parsed once per generation).
pub(crate) async fn compiled(
    state: &AppState,
    session: &Session,
    path: &ItemPath,
) -> Result<Arc<Compiled>, ReportError> {
    let reports = state.reports();
    let key = (path.key().to_owned(), session.generation);
    if let Some(c) = reports.compiled.get(&key) {
        return Ok(c);
    }
    let bytes = session
        .catalog
        .get_content(path)
        .await
        .map_err(ReportError::catalog)?;
    let size = bytes.len().saturating_mul(8) + 1024;
    let name = path.as_str().to_owned();
    let c = reports
        .pool
        .run(time_limit(state), &Cancel::default(), move |_| {
            prepare(&name, &bytes)
        })
        .await?;
    let c = Arc::new(c);
    reports.compiled.insert(key, c.clone(), size);
    Ok(c)
}

/// Parses and prepares the stored definition of the report at `path` (CPU-bound: on the
/// pool, or on a thread that already holds a permit).
pub(crate) fn prepare(path: &str, bytes: &[u8]) -> Result<Compiled, ReportError> {
    engine::parse_and_prepare(path, bytes).map_err(|e| match e {
        EngineError::Definition(d) => ReportError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rsInvalidReportDefinition",
            format!(
                "the stored report definition cannot be processed: {d}. Upload a corrected definition"
            ),
        ),
        other => ReportError::engine(&other),
    })
}

/// Runs one query of the report at `path` with the server's limits and the credentials the
/// user gave.
pub(crate) async fn fetch_with(
    state: &AppState,
    session: &Session,
    path: &ItemPath,
    q: &engine::QueryRequest,
    creds: &Credentials,
) -> Result<Arc<engine::DataTable>, ReportError> {
    let limits = datasources::limits(&state.settings());
    datasources::run(
        &state.reports().registry,
        &state.key()[..],
        session,
        path,
        q,
        &limits,
        creds,
    )
    .await
}

/// The outcome of resolving parameters: the tables fetched on the way are kept either way
/// (the viewer fills drop-downs from them).
pub(crate) struct Resolved {
    pub params: Result<engine::ResolvedParams, ParamError>,
    pub tables: HashMap<String, Arc<engine::DataTable>>,
}

/// Resolves the parameters of `req`, fetching the data sets defaults and valid values need.
pub(crate) async fn resolve(
    state: &AppState,
    session: &Session,
    path: &ItemPath,
    c: &Compiled,
    input: &HashMap<String, Vec<Option<String>>>,
    creds: &Credentials,
) -> Result<Resolved, ReportError> {
    let reports = state.reports();
    let limits = datasources::limits(&state.settings());
    let creds = creds.for_report(c);
    let mut tables = HashMap::new();
    for _ in 0..MAX_PARAMETER_ROUNDS {
        match c.resolve_parameters(input, &tables) {
            Err(ParamError::NeedsData { requests }) => {
                for q in &requests {
                    let t = datasources::run(
                        &reports.registry,
                        &state.key()[..],
                        session,
                        path,
                        q,
                        &limits,
                        &creds,
                    )
                    .await?;
                    tables.insert(q.dataset.clone(), t);
                }
            }
            params => return Ok(Resolved { params, tables }),
        }
    }
    Err(ReportError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "rsReportParameterProcessingError",
        format!(
            "the parameters need more than {MAX_PARAMETER_ROUNDS} rounds of data sets; check the parameters' data set dependencies"
        ),
    ))
}

/// The execution of `req` for this user: reused while it lives, else parameters resolved
/// and the queries run.
pub(crate) async fn execute(
    state: &AppState,
    session: &Session,
    path: &ItemPath,
    c: &Compiled,
    req: &RenderRequest,
) -> Result<Arc<Execution>, ReportError> {
    let reports = state.reports();
    let key = ExecutionKey {
        user: session.principal.name.to_lowercase(),
        path: path.key().to_owned(),
        params: req.param_key(),
        generation: session.generation,
    };
    let fresh = req.server.contains_key("clearsession") || req.server.contains_key("resetsession");
    if !fresh && let Some(e) = reports.executions.get(&key) {
        return Ok(e);
    }
    let Resolved { params, mut tables } =
        resolve(state, session, path, c, &req.param_map(), &req.credentials).await?;
    let params = params.map_err(|e| ReportError::param(&e))?;
    let limits = datasources::limits(&state.settings());
    let creds = req.credentials.for_report(c);
    for q in c.queries(&params).map_err(|e| ReportError::engine(&e))? {
        if tables.contains_key(&q.dataset) {
            continue;
        }
        let t = datasources::run(
            &reports.registry,
            &state.key()[..],
            session,
            path,
            &q,
            &limits,
            &creds,
        )
        .await?;
        tables.insert(q.dataset.clone(), t);
    }
    let now = time::OffsetDateTime::now_utc();
    let e = Arc::new(Execution::new(
        params,
        tables,
        time::PrimitiveDateTime::new(now.date(), now.time()),
    ));
    reports.executions.insert(key, e.clone(), e.size());
    Ok(e)
}

/// The globals of one render.
pub(crate) fn globals(
    session: &Session,
    ctx: &RequestContext,
    e: &Execution,
    format: Format,
) -> engine::Globals {
    let scheme = if ctx.secure { "https" } else { "http" };
    engine::Globals {
        execution_time: e.execution_time,
        user_id: session.principal.name.clone(),
        language: "en-US".into(),
        report_server_url: format!("{scheme}://{}/{}", ctx.host, ctx.vdir),
        render_format: format.name().into(),
    }
}

/// Bind options of one render of `exec` (subreports load from the catalog as `session`,
/// within `limit` from now). Call on the runtime.
pub(crate) fn bind_options(
    state: &AppState,
    session: &Session,
    req: &RenderRequest,
    exec: &Arc<Execution>,
    limit: Duration,
    cancel: &Cancel,
) -> engine::BindOptions {
    let source = subreports::CatalogSubreports::new(
        state,
        session,
        exec.clone(),
        req.credentials.clone(),
        tokio::time::Instant::now() + limit,
        cancel,
    );
    let mut o = engine::BindOptions {
        max_rows: state.settings().max_report_rows.max(1) as usize,
        cancel: Some(cancel.flag.clone()),
        subreports: Some(engine::subreport::Subreports::new(Arc::new(source))),
        ..engine::BindOptions::default()
    };
    if let Some(t) = req.server.get("showhidetoggle") {
        for id in t.split(',').filter(|s| !s.is_empty()) {
            o.toggles.insert(id.to_owned());
        }
    }
    // interactive sort: rs:SortId=<textbox>&rs:SortDirection=Ascending|Descending
    if let Some(id) = req.server.get("sortid").filter(|s| !s.is_empty()) {
        let ascending = !req
            .server
            .get("sortdirection")
            .is_some_and(|d| d.eq_ignore_ascii_case("descending"));
        o.user_sorts.push(engine::usersort::UserSortChoice {
            id: id.to_string(),
            ascending,
        });
    }
    o
}

/// A fresh CSP nonce (128 random bits, hex).
pub(crate) fn nonce() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

/// The policy of a page that carries a report's `<style nonce=…>`.
pub(crate) fn csp_with_style_nonce(nonce: &str) -> HeaderValue {
    let v = format!(
        "default-src 'none'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    // hex digits and ASCII punctuation only
    HeaderValue::from_str(&v)
        .unwrap_or_else(|_| HeaderValue::from_static(crate::CONTENT_SECURITY_POLICY))
}

/// The query string for `path` with `pairs` (the Web Service's URL of a rendering).
pub(crate) fn url_access_query(
    path: &ItemPath,
    pairs: &[(String, Option<String>)],
    extra: &str,
) -> String {
    let mut q = String::new();
    for seg in path.segments() {
        q.push_str("%2f");
        q.push_str(&crate::html::encode_component(seg).to_string());
    }
    for (k, v) in pairs {
        q.push('&');
        q.push_str(&crate::html::encode_component(k).to_string());
        match v {
            Some(v) => {
                q.push('=');
                q.push_str(&crate::html::encode_component(v).to_string());
            }
            None => q.push_str(":isnull=true"),
        }
    }
    q.push_str(extra);
    q
}

/// The format-specific last step of a render (options already checked).
/// The machine's fonts, scanned once, on the first PDF render (only PDF measures and embeds
/// fonts; HTML5 leaves them to the browser). No usable font fails PDF renders only, with the
/// message that names the Debian packages to install.
fn font_registry() -> Result<Arc<fonts::FontRegistry>, String> {
    static FONTS: std::sync::OnceLock<Result<Arc<fonts::FontRegistry>, String>> =
        std::sync::OnceLock::new();
    FONTS
        .get_or_init(|| match fonts::FontRegistry::load_default() {
            Ok(r) => {
                for w in &r.warnings {
                    tracing::warn!(warning = %httpsys::logsafe::escape(w, 256), "font registry");
                }
                Ok(Arc::new(r))
            }
            Err(e) => Err(e.to_string()),
        })
        .clone()
}

/// A PDF render's warnings (font substitutions, clipped items) go to the log, at debug level:
/// they repeat on every render of the report.
fn log_pdf_warning(report: &str, warning: &str) {
    tracing::debug!(report = %httpsys::logsafe::escape(report, 256), warning = %httpsys::logsafe::escape(warning, 512), "pdf render warning");
}

/// The instance's warnings (an expression's `#Error`, a failed subreport; page headers' and
/// streamed rows' included) after a render, at debug level like PDF's (PDF and IMAGE put them
/// in their summaries, logged with their own).
fn log_report_warning(report: &str, warning: &str) {
    tracing::debug!(report = %httpsys::logsafe::escape(report, 256), warning = %httpsys::logsafe::escape(warning, 512), "report render warning");
}

/// An XLSX/DOCX render's warnings (images left out, overlapping items) go to the log at
/// debug level, like PDF's.
fn log_office_warning(report: &str, warning: &str) {
    tracing::debug!(report = %httpsys::logsafe::escape(report, 256), warning = %httpsys::logsafe::escape(warning, 512), "office render warning");
}

type RenderJob =
    Box<dyn FnOnce(&mut pool::ChannelWriter, engine::Instance) -> Result<(), RenderError> + Send>;

/// `GET /ReportServer?/Path&rs:Command=Render...`: the report in the requested format,
/// streamed.
pub(crate) async fn url_access(
    state: &AppState,
    session: &Session,
    ctx: &RequestContext,
    path: &ItemPath,
    query: &str,
) -> Result<Response, ReportError> {
    let req = urlaccess::parse(query).map_err(|m| ReportError::bad("rsInvalidParameter", m))?;
    let format = req
        .format()
        .map_err(|m| ReportError::bad("rsRenderingExtensionNotFound", m))?;
    let c = compiled(state, session, path).await?;
    // rc:Parameters is the page's (true, false or Collapsed), not the renderer's
    let render_device: HashMap<String, String> = req
        .device
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("Parameters"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let device = render::DeviceInfo::new(&render_device);
    // The HTML5 page with the toolbar shows the parameter pane (rc:Parameters=true, the
    // default, or Collapsed; false hides it): parameter and credential problems are shown
    // in it, above the form to correct them.
    let pane = match format {
        Format::Html5 => {
            let all = render::DeviceInfo::new(&req.device);
            url_access_pane(state, session, ctx, path, &c, &req, &all).await?
        }
        _ => None,
    };
    let pane_html = pane
        .as_ref()
        .map(|(html, _)| html.clone())
        .unwrap_or_default();
    if let Some((html, Some(e))) = pane {
        return Ok(pane_error_page(path.name(), &html, &e));
    }
    // The queries count against the time limit too (a dropped query is interrupted).
    let limit = time_limit(state);
    let exec = match tokio::time::timeout(limit, execute(state, session, path, &c, &req))
        .await
        .unwrap_or_else(|_| Err(ReportError::timeout(limit)))
    {
        Ok(e) => e,
        Err(e) if !pane_html.is_empty() => return Ok(pane_error_page(path.name(), &pane_html, &e)),
        Err(e) => return Err(e),
    };
    let globals = globals(session, ctx, &exec, format);
    let cancel = Cancel::default();
    let guard = CancelOnDrop(cancel.flag.clone());
    let mut opts = bind_options(state, session, &req, &exec, limit, &cancel);
    // data renderers, PDF, IMAGE and HTML5 write a large table's rows as they are bound
    // (engine::bind::stream); HTML5 materializes them where it cannot (html::needs_tree)
    opts.stream_details = matches!(
        format,
        Format::Csv | Format::Xml | Format::Json | Format::Pdf | Format::Image | Format::Html5
    );
    let name = path.name().to_owned();
    let mut nonce_used = None;
    // IMAGE: (MIME type, extension) of the chosen OutputFormat
    let mut image_file = None;
    // Device information is checked before anything is rendered: a bad setting is a 400.
    let job: RenderJob = match format {
        Format::Csv => {
            let o = render::csv::CsvOptions::from_device_info(&device)
                .map_err(|e| ReportError::render(&e))?;
            Box::new(move |w, inst| render::csv::render(&inst, &o, w))
        }
        Format::Xml => {
            let o = render::xml::XmlOptions::from_device_info(&device, None)
                .map_err(|e| ReportError::render(&e))?;
            Box::new(move |w, inst| render::xml::render(&inst, &o, w))
        }
        Format::Json => {
            let o = render::json::JsonOptions::from_device_info(&device)
                .map_err(|e| ReportError::render(&e))?;
            Box::new(move |w, inst| render::json::render(&inst, &o, w))
        }
        Format::Pdf => {
            let o = render::pdf::PdfOptions::from_device_info(&device)
                .map_err(|e| ReportError::render(&e))?;
            let report = path.to_string();
            Box::new(move |w, inst| {
                let fonts =
                    font_registry().map_err(|m| RenderError::Io(std::io::Error::other(m)))?;
                let summary = render::pdf::render(&inst, &fonts, &o, w).map_err(|e| match e {
                    render::pdf::PdfError::Render(e) => e,
                    other => RenderError::Io(std::io::Error::other(other.to_string())),
                })?;
                for warning in &summary.warnings {
                    log_pdf_warning(&report, warning);
                }
                Ok(())
            })
        }
        Format::Xlsx => {
            let o = render::xlsx::XlsxOptions::from_device_info(&device)
                .map_err(|e| ReportError::render(&e))?;
            let report = path.to_string();
            Box::new(move |w, inst| {
                let m = engine::page::AverageCharMeasurer;
                // charts and gauges are drawn with the machine's fonts when there are any
                let fonts = font_registry().ok();
                let summary = render::xlsx::render_with_fonts(&inst, &o, fonts.as_deref(), &m, w)?;
                for warning in &summary.warnings {
                    log_office_warning(&report, warning);
                }
                Ok(())
            })
        }
        Format::Image => {
            let o = render::image::ImageOptions::from_device_info(&device)
                .map_err(|e| ReportError::render(&e))?;
            image_file = Some((o.format.mime(), o.format.extension()));
            let report = path.to_string();
            Box::new(move |w, inst| {
                let fonts =
                    font_registry().map_err(|m| RenderError::Io(std::io::Error::other(m)))?;
                let summary = render::image::render(&inst, &fonts, &o, w).map_err(|e| match e {
                    render::image::ImageError::Render(e) => e,
                    other => RenderError::Io(std::io::Error::other(other.to_string())),
                })?;
                for warning in &summary.warnings {
                    log_pdf_warning(&report, warning);
                }
                Ok(())
            })
        }
        Format::Docx => {
            let o = render::docx::DocxOptions::from_device_info(&device)
                .map_err(|e| ReportError::render(&e))?;
            let report = path.to_string();
            Box::new(move |w, inst| {
                let m = engine::page::AverageCharMeasurer;
                // charts and gauges are drawn with the machine's fonts when there are any
                let fonts = font_registry().ok();
                let summary = render::docx::render_with_fonts(&inst, &o, fonts.as_deref(), &m, w)?;
                for warning in &summary.warnings {
                    log_office_warning(&report, warning);
                }
                Ok(())
            })
        }
        Format::Html5 => {
            let mut o = render::html::HtmlOptions::from_device_info(&device)
                .map_err(|e| ReportError::render(&e))?;
            let n = nonce();
            o.nonce = Some(n.clone());
            nonce_used = Some(n);
            let pairs = exec.params.to_pairs();
            o.self_url = Some(format!(
                "/{}?{}",
                ctx.vdir,
                url_access_query(path, &pairs, "&rs:Command=Render")
            ));
            o.drillthrough_prefix = format!("/{}?", ctx.vdir);
            // rc:Toolbar (default true) frames the report with SSRS's toolbar: page n of
            // N, first/previous/next/last, refresh and exports.
            let toolbar = !o.fragment
                && device
                    .bool("Toolbar", true)
                    .map_err(|e| ReportError::render(&e))?;
            if toolbar {
                o.fragment = true;
                let base = format!(
                    "/{}?{}",
                    ctx.vdir,
                    url_access_query(path, &pairs, "&rs:Command=Render")
                );
                let title = name.clone();
                Box::new(move |w, mut inst| {
                    let m = engine::page::AverageCharMeasurer;
                    if render::html::needs_tree(&inst, &m) {
                        inst.materialize()?;
                    }
                    let pages = render::html::page_count(&inst, &o, &m).max(1);
                    if o.section > pages {
                        o.section = pages;
                    }
                    let bar = toolbar_page_head(
                        &title,
                        &base,
                        o.section,
                        pages,
                        o.nonce.as_deref(),
                        &pane_html,
                    );
                    w.write_all(bar.as_bytes())?;
                    render::html::render(&inst, &o, &m, w)?;
                    w.write_all(b"</div></body></html>\n")?;
                    Ok(())
                })
            } else {
                Box::new(move |w, mut inst| {
                    let m = engine::page::AverageCharMeasurer;
                    if render::html::needs_tree(&inst, &m) {
                        inst.materialize()?;
                    }
                    render::html::render(&inst, &o, &m, w)
                })
            }
        }
    };
    // PDF and IMAGE summaries carry the instance's warnings (render::pdf, render::image)
    let logs_own = matches!(format, Format::Pdf | Format::Image);
    let report = path.to_string();
    let streamed = state
        .reports()
        .pool
        .stream(limit, &cancel, move |_, w| {
            let inst = engine::bind(&c, &exec.params, &exec.tables, &globals, &opts)
                .map_err(|e| ReportError::engine(&e))?;
            let warnings = inst.warning_log.clone();
            let done = job(w, inst).map_err(|e| ReportError::render(&e));
            if !logs_own {
                for warning in warnings.list() {
                    log_report_warning(&report, &warning);
                }
            }
            done
        })
        .await?;
    let content_type = match format {
        Format::Html5 => "text/html; charset=utf-8",
        Format::Csv => "text/csv; charset=utf-8",
        Format::Xml => "text/xml; charset=utf-8",
        Format::Json => "application/json; charset=utf-8",
        Format::Pdf => "application/pdf",
        Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Format::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Format::Image => image_file.map_or("image/png", |f: (&'static str, &'static str)| f.0),
    };
    let first = streamed.first;
    let rest = streamed.rest;
    let body = futures_util::stream::unfold(
        (Some(first), rest, guard),
        |(first, mut rest, guard)| async move {
            if let Some(f) = first {
                return Some((Ok::<Bytes, std::io::Error>(f), (None, rest, guard)));
            }
            match rest.recv().await {
                Some(Ok(b)) => Some((Ok(b), (None, rest, guard))),
                Some(Err(e)) => {
                    tracing::warn!(code = e.code, message = %e.message, "report render failed after output began");
                    Some((Err(std::io::Error::other(e.message)), (None, rest, guard)))
                }
                None => None,
            }
        },
    );
    let mut resp = Response::new(Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(n) = nonce_used {
        h.insert(header::CONTENT_SECURITY_POLICY, csp_with_style_nonce(&n));
    }
    if format != Format::Html5 {
        h.insert(
            header::CONTENT_DISPOSITION,
            attachment(&name, image_file.map_or(format.extension(), |f| f.1)),
        );
    }
    Ok(resp)
}

/// The CSS of the URL-access toolbar (inline, under the response's nonce).
const TOOLBAR_CSS: &str = "body{margin:0;font-family:system-ui,sans-serif}\
.rs-toolbar{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;padding:.35rem .75rem;\
border-bottom:1px solid #cbd5e1;background:#f8fafc;font-size:14px}\
.rs-toolbar a{text-decoration:none;color:#0f766e;padding:.1rem .4rem;border-radius:4px}\
.rs-toolbar a:hover{background:#e2e8f0}.rs-toolbar .off{color:#cbd5e1;padding:.1rem .4rem}\
.rs-toolbar .export{margin-left:auto}.rs-report{padding:1rem}\
.viewer-pane{margin:.5rem .75rem;font-size:14px}.viewer-pane summary{cursor:pointer;font-weight:600}\
.viewer-params{display:flex;flex-wrap:wrap;gap:.75rem 1.5rem;align-items:flex-end;padding:.5rem 0}\
.viewer-params .param,.viewer-params fieldset{display:flex;flex-direction:column;gap:.25rem}\
.rs-error{margin:.75rem;padding:.5rem 1rem;border:1px solid #fecaca;background:#fef2f2;color:#991b1b}";

/// The head of a URL-access HTML5 page with the toolbar: everything up to the report's
/// fragment (closed by `</div></body></html>`). `base` is the rendering's URL.
fn toolbar_page_head(
    title: &str,
    base: &str,
    section: u32,
    pages: u32,
    nonce: Option<&str>,
    pane: &str,
) -> String {
    use crate::html::escape;
    let mut b = String::with_capacity(2048);
    b.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    escape(title, &mut b);
    b.push_str("</title><style");
    if let Some(n) = nonce {
        b.push_str(" nonce=\"");
        escape(n, &mut b);
        b.push('"');
    }
    b.push('>');
    b.push_str(TOOLBAR_CSS);
    b.push_str("</style></head><body><nav class=\"rs-toolbar\" aria-label=\"Report toolbar\">");
    let link = |b: &mut String, n: u32, text: &str, label: &str, on: bool| {
        if on {
            b.push_str("<a href=\"");
            escape(&format!("{base}&rc:Section={n}"), b);
            b.push_str("\" title=\"");
            b.push_str(label);
            b.push_str("\">");
            b.push_str(text);
            b.push_str("</a>");
        } else {
            b.push_str("<span class=\"off\">");
            b.push_str(text);
            b.push_str("</span>");
        }
    };
    let shown = section.max(1);
    link(&mut b, 1, "«", "First page", section > 1);
    link(
        &mut b,
        shown.saturating_sub(1).max(1),
        "‹",
        "Previous page",
        section > 1,
    );
    if section == 0 {
        b.push_str(&format!("<span class=\"pages\">All {pages} pages</span>"));
    } else {
        b.push_str(&format!(
            "<span class=\"pages\">Page {shown} of {pages}</span>"
        ));
    }
    link(
        &mut b,
        (shown + 1).min(pages),
        "›",
        "Next page",
        section != 0 && shown < pages,
    );
    link(
        &mut b,
        pages,
        "»",
        "Last page",
        section != 0 && shown < pages,
    );
    b.push_str("<a href=\"");
    escape(
        &format!("{base}&rc:Section={shown}&rs:ClearSession=true"),
        &mut b,
    );
    b.push_str("\" title=\"Refresh\">⟳ Refresh</a><span class=\"export\">Export:");
    for f in urlaccess::SUPPORTED_FORMATS
        .iter()
        .filter(|f| **f != "HTML5")
    {
        b.push_str(" <a href=\"");
        escape(&format!("{base}&rs:Format={f}"), &mut b);
        b.push_str("\">");
        b.push_str(f);
        b.push_str("</a>");
    }
    b.push_str("</span></nav>");
    b.push_str(pane);
    b.push_str("<div class=\"rs-report\">");
    b
}

/// `rc:Parameters`: `true` (default), `false` or `Collapsed`.
fn parameters_mode(device: &render::DeviceInfo) -> Result<Option<bool>, ReportError> {
    match device.get("Parameters").map(str::trim) {
        None => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("collapsed") => Ok(Some(false)),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(None),
        Some(v) => Err(ReportError::bad(
            "rsInvalidDeviceInfo",
            format!("rc:Parameters={v} is not valid; use true, false or Collapsed"),
        )),
    }
}

/// The parameter pane of a URL-access HTML5 page, when it has one (the toolbar is on,
/// `rc:Parameters` is not false, and the report has visible parameters or data sources
/// that prompt), and the error to show above it instead of the report.
async fn url_access_pane(
    state: &AppState,
    session: &Session,
    ctx: &RequestContext,
    path: &ItemPath,
    c: &Compiled,
    req: &RenderRequest,
    device: &render::DeviceInfo,
) -> Result<Option<(String, Option<ReportError>)>, ReportError> {
    let toolbar = device
        .bool("Toolbar", true)
        .map_err(|e| ReportError::render(&e))?;
    let fragment = device
        .bool("HTMLFragment", false)
        .map_err(|e| ReportError::render(&e))?;
    let Some(open) = parameters_mode(device)? else {
        return Ok(None);
    };
    if !toolbar || fragment {
        return Ok(None);
    }
    let mut preq = req.clone();
    if preq.server.contains_key("view") {
        // submitted from the pane: empty fields of typed parameters mean "not given"
        crate::portal::viewer::normalize(c, &mut preq);
    }
    let pane = crate::portal::viewer::build_pane(state, session, path, c, &preq).await?;
    if pane.is_empty() {
        return Ok(None);
    }
    let mut hidden = vec![
        (path.as_str().to_owned(), String::new()),
        ("rs:Command".to_owned(), "Render".to_owned()),
        ("rs:View".to_owned(), "1".to_owned()),
    ];
    for (k, v) in &req.device {
        if !k.eq_ignore_ascii_case("Section") {
            hidden.push((format!("rc:{k}"), v.clone()));
        }
    }
    let markup =
        crate::portal::viewer::parameter_pane(&format!("/{}", ctx.vdir), &hidden, &pane, open);
    let error = match pane.resolved {
        Err(e) => Some(e),
        Ok(Resolved { params: Err(e), .. }) => Some(ReportError::param(&e)),
        Ok(_) => None,
    };
    Ok(Some((markup.into_string(), error)))
}

/// A URL-access page with the parameter pane and `e` above it (status `e.status`).
fn pane_error_page(title: &str, pane: &str, e: &ReportError) -> Response {
    use crate::html::escape;
    let n = nonce();
    let mut b = String::with_capacity(4096);
    b.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    escape(title, &mut b);
    b.push_str("</title><style nonce=\"");
    b.push_str(&n);
    b.push_str("\">");
    b.push_str(TOOLBAR_CSS);
    b.push_str("</style></head><body><div class=\"rs-error\" role=\"alert\"><strong>");
    escape(e.title(), &mut b);
    b.push_str("</strong><p>");
    escape(&e.message, &mut b);
    b.push_str(" (");
    b.push_str(e.code);
    b.push_str(")</p></div>");
    b.push_str(pane);
    b.push_str("</body></html>\n");
    let mut resp = Response::new(Body::from(b));
    *resp.status_mut() = e.status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, csp_with_style_nonce(&n));
    // no `ErrorPage` extension: the error middleware would replace the pane with its page
    resp
}

/// `attachment; filename="Name.csv"; filename*=UTF-8''Name.csv`.
pub(crate) fn attachment(name: &str, ext: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " -_.()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}.{ext}\"; filename*=UTF-8''{encoded}.{ext}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// `rs:Command=GetDataSourceContents`: the definition without secrets.
pub(crate) async fn data_source_contents(
    session: &Session,
    path: &ItemPath,
) -> Result<Response, ReportError> {
    let xml = datasources::public_contents(session, path).await?;
    let mut resp = Response::new(Body::from(xml));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    Ok(resp)
}
