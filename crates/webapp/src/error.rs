//! The one error type of both applications, and the one place errors become responses.
//!
//! Handlers return `Result<_, Error>`. [`Error`]'s `IntoResponse` picks the status, logs
//! internal causes with `tracing` (never showing them), and produces a plain HTML page
//! that also carries an [`ErrorPage`] in the response extensions. Each application's
//! outermost layer ([`render_errors`]) re-renders that page in its own look: the Web
//! Service's bare SSRS style, the portal's layout, or an OData JSON error for `/api/`.
//! Nothing else in the crate writes error bodies.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use httpsys::{Application, RequestContext};

use crate::AppState;
use crate::html::escape;
use crate::portal::layout;

/// What can go wrong while serving a request (or while loading the configuration).
/// Display texts are what users see: they name the problem and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No credentials, malformed credentials, unknown user or wrong password (401 with
    /// `WWW-Authenticate: Basic`). Which of these it was is logged, never shown.
    #[error("sign in with the user name and password of a user of this report server")]
    Unauthorized,
    /// The user's roles do not permit the request (403). The text names what was refused.
    #[error("{0}")]
    Forbidden(String),
    /// A portal POST without the right CSRF token, or sent from another site (403).
    #[error(
        "this form was not sent by a page of this web portal (missing or wrong security token, or a cross-site request); reload the page and try again"
    )]
    CrossSite,
    /// SecureConnectionLevel >= 1, plain http, and the request carries credentials (403).
    #[error(
        "credentials are only accepted over https on this report server (SecureConnectionLevel {0}); use its https URL, and change the password if it was sent over http"
    )]
    CredentialsOverHttp(u8),
    /// SecureConnectionLevel >= 1, plain http, and no https URL is reserved to redirect to.
    #[error(
        "this report server requires https (SecureConnectionLevel {0}) but no https URL is reserved for this application yet; an administrator adds one with `reportctl webservice https --cert THUMBPRINT` (or `reportctl portal add-https-identity --cert THUMBPRINT`)"
    )]
    HttpsRequired(u8),
    /// No catalog item (or route) at this path (404). Holds the path as requested.
    #[error("the item '{0}' cannot be found")]
    NotFound(String),
    /// A request the server understands but refuses: invalid path, unknown command, bad
    /// form field, malformed RDL (400). The text names the problem.
    #[error("{0}")]
    BadRequest(String),
    /// An HTTP method the route does not take (405), e.g. GET on a form's action.
    #[error("the method {0} is not allowed here; use the links and forms of the pages")]
    MethodNotAllowed(String),
    /// The item already exists (409): the text says how to replace it.
    #[error("{0}")]
    Conflict(String),
    /// An upload over `MaxUploadSizeMB` (413).
    #[error(
        "the upload is larger than the limit of {0} MB; an administrator can raise it with `reportctl config set MaxUploadSizeMB N`"
    )]
    TooLarge(u32),
    /// `reportd.toml` names no report server database yet (503).
    #[error(
        "the report server database does not exist yet; an administrator creates it with `reportctl database create`"
    )]
    NoDatabase,
    /// The configured database cannot be opened or reached (503); the cause is logged.
    #[error(
        "the report server database cannot be reached; an administrator checks `reportctl database status` and the server log"
    )]
    DatabaseUnavailable,
    /// The database refuses connections, lost them, or a statement hit the statement timeout
    /// (503, within the connect timeout, never a 500). Holds the problem in words (no host,
    /// port or password: those are logged).
    #[error(
        "the report server database is not answering: {0}; an administrator checks `reportctl database status` and the server log"
    )]
    DatabaseNotAnswering(String),
    /// Too many failed sign-ins for this user name or from this address, or too many
    /// sign-ins in progress (429 with `Retry-After`). Holds the seconds to wait.
    #[error(
        "too many failed sign-ins for this user name or from this address; try again in {0} seconds"
    )]
    TooManySignIns(u64),
    /// This node of a cluster is not serving: waiting to be joined, or removed (503). The
    /// text says which and the command that changes it.
    #[error("{0}")]
    NodeNotActivated(String),
    /// Uploads in progress already hold the server's upload memory budget (503 with
    /// `Retry-After`); the upload was cut off as soon as it would have exceeded it.
    #[error(
        "too many uploads are in progress on this report server right now; try again in a few seconds"
    )]
    UploadsBusy,
    /// A feature that arrives in a later version (501). The text says what exists now.
    #[error("{0}")]
    NotImplemented(String),
    /// A bug or an unexpected failure (500). The text is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
    /// `reportd.toml` or the instance key could not be read (from [`crate::AppState::new`]
    /// and [`crate::AppState::reload`]; over HTTP a 503 whose cause is logged).
    #[error(transparent)]
    DataDir(#[from] datadir::Error),
}

impl From<catalog::Error> for Error {
    fn from(e: catalog::Error) -> Self {
        use catalog::Error as C;
        match e {
            C::NotFound(p) => Error::NotFound(p.to_string()),
            C::AlreadyExists(_) | C::TypeConflict { .. } => Error::Conflict(e.to_string()),
            C::ParentMissing(_)
            | C::Invalid(_)
            | C::Root
            | C::UserExists(_)
            | C::UnknownUser(_) => Error::BadRequest(e.to_string()),
            C::Uninitialized { .. } => {
                tracing::warn!(error = %e, "report server database not created yet");
                Error::NoDatabase
            }
            C::SchemaTooNew { .. } => {
                tracing::error!(error = %e, "report server database unavailable");
                Error::DatabaseUnavailable
            }
            C::Connect { ref cause, .. } => {
                tracing::error!(error = %e, "report server database unavailable");
                Error::DatabaseNotAnswering(cause.clone())
            }
            C::Unavailable(ref problem) => {
                tracing::error!(error = %e, "report server database not answering");
                Error::DatabaseNotAnswering(problem.clone())
            }
            C::LastAdministrator(_) => Error::Conflict(e.to_string()),
            C::Foreign(_) | C::Db(_) => Error::Internal(e.to_string()),
        }
    }
}

impl Error {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_)
            | Error::CrossSite
            | Error::CredentialsOverHttp(_)
            | Error::HttpsRequired(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::NoDatabase
            | Error::DatabaseUnavailable
            | Error::DatabaseNotAnswering(_)
            | Error::UploadsBusy
            | Error::NodeNotActivated(_)
            | Error::DataDir(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::TooManySignIns(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The OData error code of the REST API (SSRS's names where it has one).
    fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized => "rsLogonFailed",
            Error::Forbidden(_) => "rsAccessDenied",
            Error::CrossSite => "rsCrossSiteRequest",
            Error::CredentialsOverHttp(_) | Error::HttpsRequired(_) => "rsSecureConnectionRequired",
            Error::NotFound(_) => "rsItemNotFound",
            Error::BadRequest(_) => "rsInvalidParameter",
            Error::MethodNotAllowed(_) => "rsMethodNotAllowed",
            Error::Conflict(_) => "rsItemAlreadyExists",
            Error::TooLarge(_) => "rsRequestTooLarge",
            Error::NoDatabase => "rsReportServerDatabaseUnavailable",
            Error::DatabaseUnavailable | Error::DatabaseNotAnswering(_) | Error::DataDir(_) => {
                "rsReportServerDatabaseUnavailable"
            }
            Error::TooManySignIns(_) => "rsLogonFailed",
            Error::UploadsBusy => "rsServerBusy",
            Error::NodeNotActivated(_) => "rsReportServerNotActivated",
            Error::NotImplemented(_) => "rsNotImplemented",
            Error::Internal(_) => "rsInternalError",
        }
    }

    fn title(&self) -> &'static str {
        match self.status() {
            StatusCode::UNAUTHORIZED => "Sign-in required",
            StatusCode::FORBIDDEN => "Access denied",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
            StatusCode::CONFLICT => "Already exists",
            StatusCode::PAYLOAD_TOO_LARGE => "Upload too large",
            StatusCode::SERVICE_UNAVAILABLE => "Service unavailable",
            StatusCode::TOO_MANY_REQUESTS => "Too many sign-in attempts",
            StatusCode::NOT_IMPLEMENTED => "Not implemented yet",
            _ => "Internal error",
        }
    }

    /// What the user is shown: the Display text, except for internals.
    fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => {
                "an internal error occurred; the server log has the details".to_owned()
            }
            Error::DataDir(_) => {
                "the report server configuration cannot be read; the server log has the details"
                    .to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// "the item ... cannot be found" → "The item ... cannot be found."
fn sentence(mut s: String) -> String {
    if let Some(first) = s.chars().next() {
        let upper: String = first.to_uppercase().collect();
        s.replace_range(..first.len_utf8(), &upper);
    }
    if !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

/// An error response's content, left in the response extensions for [`render_errors`].
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    pub code: &'static str,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match &self {
            Error::Internal(cause) => tracing::error!(%cause, "request failed"),
            Error::DataDir(cause) => tracing::error!(%cause, "configuration unreadable"),
            _ => {}
        }
        let page = ErrorPage {
            status: self.status(),
            title: self.title(),
            message: sentence(self.public_message()),
            code: self.code(),
        };
        let mut resp = plain_page(&page);
        if matches!(self, Error::Unauthorized) {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"reportd\", charset=\"UTF-8\""),
            );
        }
        if matches!(self, Error::UploadsBusy) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if let Error::TooManySignIns(secs) = self {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        resp.extensions_mut().insert(page);
        resp
    }
}

/// The page in its bare form, used as is by the Web Service.
fn plain_page(page: &ErrorPage) -> Response {
    let mut body = String::with_capacity(512);
    body.push_str("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>");
    escape(page.title, &mut body);
    body.push_str("</title></head><body><h1>");
    escape(page.title, &mut body);
    body.push_str("</h1><hr><p>");
    escape(&page.message, &mut body);
    body.push_str("</p><hr>reportd</body></html>");
    with_body(page.status, "text/html; charset=utf-8", body)
}

fn with_body(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Outermost layer of each application: renders [`ErrorPage`]s in the application's look,
/// marks every response `Cache-Control: no-store` unless the handler chose otherwise
/// (the embedded assets are the only cacheable responses) and adds the security headers
/// ([`crate::headers`]).
pub(crate) async fn render_errors(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let ctx = req.extensions().get::<RequestContext>().cloned();
    let is_api = req.uri().path().starts_with("/api/");
    let method = req.method().clone();
    let mut resp = next.run(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED
        && resp.extensions().get::<ErrorPage>().is_none()
    {
        // The router's own 405 (no body): give it a page like every other error.
        let allow = resp.headers().get(header::ALLOW).cloned();
        resp = Error::MethodNotAllowed(method.to_string()).into_response();
        if let Some(allow) = allow {
            resp.headers_mut().insert(header::ALLOW, allow);
        }
    }
    if let Some(page) = resp.extensions_mut().remove::<ErrorPage>() {
        let (content_type, body) = match &ctx {
            Some(ctx) if ctx.app == Application::Portal && is_api => (
                "application/json; charset=utf-8",
                serde_json::json!({
                    "error": { "code": page.code, "message": page.message, "details": [] }
                })
                .to_string(),
            ),
            Some(ctx) if ctx.app == Application::Portal => (
                "text/html; charset=utf-8",
                layout::error_page(&state, ctx, &page).into_string(),
            ),
            Some(ctx) => (
                "text/html; charset=utf-8",
                webservice_error(&state, ctx, &page),
            ),
            None => ("text/html; charset=utf-8", String::new()),
        };
        if !body.is_empty() {
            let headers = resp.headers_mut();
            headers.remove(header::CONTENT_LENGTH);
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            *resp.body_mut() = Body::from(body);
        }
    }
    resp.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    crate::headers::secure(resp.headers_mut());
    resp
}

/// An error in the Web Service's SSRS-like style: "HOST/ReportServer - Error".
fn webservice_error(state: &AppState, ctx: &RequestContext, page: &ErrorPage) -> String {
    let mut b = String::with_capacity(1024);
    b.push_str("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>");
    escape(&ctx.host, &mut b);
    b.push('/');
    escape(&ctx.vdir, &mut b);
    b.push_str(" - ");
    escape(page.title, &mut b);
    b.push_str("</title></head><body><h1>Report Server Error</h1><hr><ul><li>");
    escape(&page.message, &mut b);
    b.push_str(" (");
    b.push_str(page.code);
    b.push_str(")</li></ul><hr>reportd Version ");
    b.push_str(state.version());
    b.push_str("</body></html>");
    b
}
