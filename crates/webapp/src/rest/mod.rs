//! The REST API (`/Reports/api/v2.0/...`, `api/v1.0` as an alias), modelled on SSRS REST
//! API v2.0 (`shared/contracts/ssrs-rest-api-v2.0.swagger.json`): JSON with the swagger's
//! property names, collections as `{"@odata.context": ..., "value": [...]}`, errors as
//! OData errors (rendered by [`crate::error`]), 201 with the entity on create, 204 on
//! delete and update. Renames (PATCH Name) and Model.MoveItems go through
//! `Catalog::move_item`.
//!
//! - [`keys`] splits a URL into entity set, key (GUID or path) and navigation;
//! - [`odata`] parses and applies the query options;
//! - [`items`] runs the operations, all through the catalog operations the portal uses
//!   (uploads through [`crate::portal::actions::store_upload`]);
//! - [`openapi`] describes [`routes`] — the table the dispatcher itself matches against, so
//!   the document cannot drift from what is served;
//! - [`session`] is `Session` POST/DELETE: a sign-in that sets the portal's session cookie
//!   for clients that cannot send Basic, and the table of those sessions the gate reads.
//!
//! Shared data sets (`DataSets`, `.rsd`) are stored as resources with the MIME type
//! [`DATASET_MIME`] (the catalog has no item type for them, and the engine does not run
//! them): the API shows them as `#Model.DataSet` items and keeps them out of `Resources`.
//!
//! Names of entity sets, navigation properties, actions and options match any case
//! (`api/v2.0/me` is what ReportingServicesTools sends). Operations of the SSRS API that
//! reportd does not offer answer 501 with an OData error; unknown names 404.
//!
//! XSRF as SSRS: every GET sets an `XSRF-TOKEN` cookie (the portal's CSRF token, bound to
//! the user and rotated, see [`crate::portal::csrf`]). A write that comes from a browser
//! (`Origin`, `Sec-Fetch-Site`), that is authenticated by the session cookie of a
//! `Session` sign-in, or that sends `X-XSRF-TOKEN` at all, must send the right token in
//! `X-XSRF-TOKEN` and be same-origin; a script using Basic authentication needs neither,
//! even when its HTTP session sends the XSRF cookie back (it is SameSite=Strict). Bodies of
//! writes must be `application/json`, which a cross-site HTML form cannot send.
//!
//! Authorization is the handlers' (Browser reads; Publisher and Content Manager write;
//! otherwise 403 `rsAccessDenied`), checked before anything is changed.

mod items;
mod keys;
pub(crate) mod listing;
mod metadata;
mod odata;
mod openapi;
mod reports;
mod security;
pub(crate) mod session;

use std::sync::OnceLock;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use catalog::{CatalogItem, ItemType};
use http::{HeaderValue, Method, header};

use crate::auth::Session;
use crate::host::Authority;
use crate::portal::csrf;
use crate::{AppState, Error};

/// An entity set or singleton reportd serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Set {
    CatalogItems,
    Folders,
    Reports,
    DataSources,
    DataSets,
    Resources,
    Me,
    System,
    Session,
    OpenApi,
    Metadata,
}

impl Set {
    const ALL: [Set; 11] = [
        Set::CatalogItems,
        Set::Folders,
        Set::Reports,
        Set::DataSources,
        Set::DataSets,
        Set::Resources,
        Set::Me,
        Set::System,
        Set::Session,
        Set::OpenApi,
        Set::Metadata,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Set::CatalogItems => "CatalogItems",
            Set::Folders => "Folders",
            Set::Reports => "Reports",
            Set::DataSources => "DataSources",
            Set::DataSets => "DataSets",
            Set::Resources => "Resources",
            Set::Me => "Me",
            Set::System => "System",
            Set::Session => "Session",
            Set::OpenApi => "openapi.json",
            Set::Metadata => "$metadata",
        }
    }

    /// The kind of item a typed set holds (`None`: every kind).
    pub(crate) fn kind(self) -> Option<Kind> {
        match self {
            Set::Folders => Some(Kind::Folder),
            Set::Reports => Some(Kind::Report),
            Set::DataSources => Some(Kind::DataSource),
            Set::DataSets => Some(Kind::DataSet),
            Set::Resources => Some(Kind::Resource),
            _ => None,
        }
    }
}

/// The MIME type that marks a stored resource as a shared data set (`.rsd`).
pub(crate) const DATASET_MIME: &str = "application/x-rsd+xml";

/// The kind of a catalog item as the API shows it: the catalog's types, and shared data
/// sets (resources marked with [`DATASET_MIME`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Folder,
    Report,
    DataSource,
    DataSet,
    Resource,
}

impl Kind {
    pub(crate) const ALL: [Kind; 5] = [
        Kind::Folder,
        Kind::Report,
        Kind::DataSource,
        Kind::DataSet,
        Kind::Resource,
    ];

    pub(crate) fn of(item: &CatalogItem) -> Kind {
        match item.item_type {
            ItemType::Folder => Kind::Folder,
            ItemType::Report => Kind::Report,
            ItemType::DataSource => Kind::DataSource,
            ItemType::Resource if item.mime_type.as_deref() == Some(DATASET_MIME) => Kind::DataSet,
            ItemType::Resource => Kind::Resource,
        }
    }

    /// The catalog type it is stored as.
    pub(crate) fn stored(self) -> ItemType {
        match self {
            Kind::Folder => ItemType::Folder,
            Kind::Report => ItemType::Report,
            Kind::DataSource => ItemType::DataSource,
            Kind::DataSet | Kind::Resource => ItemType::Resource,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Folder => "Folder",
            Kind::Report => "Report",
            Kind::DataSource => "DataSource",
            Kind::DataSet => "DataSet",
            Kind::Resource => "Resource",
        }
    }

    /// The typed set that holds this kind.
    pub(crate) fn set(self) -> Set {
        match self {
            Kind::Folder => Set::Folders,
            Kind::Report => Set::Reports,
            Kind::DataSource => Set::DataSources,
            Kind::DataSet => Set::DataSets,
            Kind::Resource => Set::Resources,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a route does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Me,
    System,
    SignIn,
    SignOut,
    OpenApi,
    List,
    Create,
    Get,
    Replace,
    Update,
    Delete,
    Content,
    Children,
    Search,
    DeleteItems,
    MoveItems,
    Metadata,
    Policies,
    SetPolicies,
    Properties,
    SetProperties,
    AllowedActions,
    ParameterDefinitions,
    SetParameterDefinitions,
    CheckConnection,
    CheckNewConnection,
    CheckReportDataSource,
    ReportDataSources,
    SetReportDataSources,
    SystemPolicies,
    SetSystemPolicies,
    SystemProperties,
    SystemAllowedActions,
    Roles,
}

/// One operation: method, set, whether it takes a key, the navigation after it (as
/// written in the swagger), and what it does.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    pub method: Method,
    pub set: Set,
    pub keyed: bool,
    /// `""`, `"Content/$value"`, `"CatalogItems"`, `"Model.SearchItems"`, ...
    pub nav: &'static str,
    pub op: Op,
    pub summary: String,
}

impl Route {
    /// The swagger-style path: `/Folders({Id})/CatalogItems`.
    pub(crate) fn path(&self) -> String {
        let mut p = format!("/{}", self.set.name());
        if self.keyed {
            p.push_str("({Id})");
        }
        if !self.nav.is_empty() {
            p.push('/');
            p.push_str(self.nav);
            if self.op == Op::Search {
                p.push_str("(searchText='{searchText}')");
            }
        }
        p
    }
}

/// The operations reportd serves: the dispatcher matches requests against this table and
/// [`openapi`] describes it.
pub(crate) fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let mut r = Vec::new();
        let mut add = |method: Method, set: Set, keyed: bool, nav: &'static str, op: Op, summary: String| {
            r.push(Route {
                method,
                set,
                keyed,
                nav,
                op,
                summary,
            });
        };
        add(Method::GET, Set::Me, false, "", Op::Me, "The signed-in user.".into());
        add(Method::GET, Set::System, false, "", Op::System, "The report server: product, version, absolute URLs.".into());
        add(Method::POST, Set::Session, false, "", Op::SignIn, "Signs in with UserName and Password (JSON or a form) and sets the portal's session cookie, for clients that cannot send Basic credentials.".into());
        add(Method::DELETE, Set::Session, false, "", Op::SignOut, "Signs out: ends the cookie's session and clears the cookie.".into());
        add(Method::GET, Set::OpenApi, false, "", Op::OpenApi, "This document.".into());
        add(Method::GET, Set::Metadata, false, "", Op::Metadata, "The CSDL document of the entity sets and types served.".into());
        add(Method::GET, Set::System, false, "Policies", Op::SystemPolicies, "The system role assignments (System Administrator, System User) of every user.".into());
        add(Method::PUT, Set::System, false, "Policies", Op::SetSystemPolicies, "Replaces the system role assignments: users not listed lose their system roles (System Administrator only).".into());
        add(Method::GET, Set::System, false, "Properties", Op::SystemProperties, "Site properties (read only).".into());
        add(Method::GET, Set::System, false, "AllowedActions", Op::SystemAllowedActions, "What the user may do on the site.".into());
        for set in [Set::CatalogItems, Set::Folders, Set::Reports, Set::DataSources, Set::DataSets, Set::Resources] {
            let what = match set.kind() {
                Some(t) => format!("{t} items"),
                None => "catalog items of every type".into(),
            };
            let n = set.name();
            add(Method::GET, set, false, "", Op::List, format!("Every {what} the user may read, with $filter, $orderby, $top, $skip, $count, $select, $expand."));
            add(Method::POST, set, false, "", Op::Create, format!("Creates one of the {what} (@odata.type, Name, Path of the parent or of the item, base64 Content; a data source also from DataSourceType and ConnectionString)."));
            add(Method::GET, set, true, "", Op::Get, format!("One of the {what}, by GUID or (Path='...')."));
            add(Method::PUT, set, true, "", Op::Replace, format!("Replaces the content (and Description, Hidden) of one of the {what}."));
            add(Method::PATCH, set, true, "", Op::Update, format!("Changes Description, Hidden or Content of one of the {what}."));
            add(Method::DELETE, set, true, "", Op::Delete, format!("Deletes one of the {what} (a folder with everything below it)."));
            if set != Set::Folders {
                add(Method::GET, set, true, "Content/$value", Op::Content, format!("The content bytes of one of the {what} ({n})."));
            }
            add(Method::GET, set, true, "Policies", Op::Policies, format!("The role assignments on one of the {what}: its own, or its parent's with InheritParentPolicy (Content Manager)."));
            add(Method::PUT, set, true, "Policies", Op::SetPolicies, format!("Sets the role assignments of one of the {what}, or InheritParentPolicy (Content Manager)."));
            add(Method::GET, set, true, "Properties", Op::Properties, format!("The properties of one of the {what} as Name/Value pairs (?properties=A,B picks some)."));
            add(Method::PATCH, set, true, "Properties", Op::SetProperties, format!("Sets Description and Hidden of one of the {what} from Name/Value pairs."));
            add(Method::PUT, set, true, "Properties", Op::SetProperties, "As PATCH (the swagger's method for typed sets).".into());
            add(Method::GET, set, true, "AllowedActions", Op::AllowedActions, format!("What the user may do on one of the {what}."));
        }
        add(Method::GET, Set::CatalogItems, true, "Roles", Op::Roles, "The item roles that can be assigned on the item.".into());
        add(Method::GET, Set::Reports, true, "ParameterDefinitions", Op::ParameterDefinitions, "The report parameters as its definition declares them.".into());
        add(Method::PATCH, Set::Reports, true, "ParameterDefinitions", Op::SetParameterDefinitions, "Changes DefaultValues, Prompt and ParameterVisibility of parameters by Name, in the stored definition.".into());
        add(Method::POST, Set::Reports, true, "Model.CheckDataSourceConnection", Op::CheckReportDataSource, "Connects to the report's data source DataSourceName and says whether that worked.".into());
        add(Method::POST, Set::DataSources, true, "Model.CheckConnection", Op::CheckConnection, "Connects to the shared data source with its stored credentials and says whether that worked.".into());
        add(Method::POST, Set::DataSources, false, "Model.CheckConnection", Op::CheckNewConnection, "Connects to the data source the body describes (DataSourceType, ConnectionString, CredentialsInServer) and says whether that worked (Publisher at the root).".into());
        add(Method::GET, Set::Reports, true, "DataSources", Op::ReportDataSources, "The report's data sources: embedded (type, connection string) or references to shared data sources.".into());
        add(Method::PUT, Set::Reports, true, "DataSources", Op::SetReportDataSources, "Changes the report's data sources by Name: a shared reference's Path, or an embedded one's DataSourceType and ConnectionString.".into());
        add(Method::GET, Set::Folders, true, "CatalogItems", Op::Children, "The children of a folder the user may read.".into());
        add(Method::GET, Set::Folders, true, "Model.SearchItems", Op::Search, "Items below a folder whose name or description contains searchText (any case).".into());
        add(Method::POST, Set::Folders, true, "Model.SearchItems", Op::Search, "As GET (the swagger's method).".into());
        add(Method::POST, Set::CatalogItems, false, "Model.DeleteItems", Op::DeleteItems, "Deletes the items at CatalogItemPaths (all checked first; none deleted if one is refused).".into());
        add(
            Method::POST,
            Set::CatalogItems,
            false,
            "Model.MoveItems",
            Op::MoveItems,
            "Moves the items at CatalogItemPaths into the folder TargetPath (all checked first).".into(),
        );
        r
    })
}

/// Entity sets and navigation names of the SSRS API that reportd does not offer (501).
const NOT_OFFERED: [&str; 17] = [
    "Kpis",
    "MobileReports",
    "PowerBIReports",
    "ExcelWorkbooks",
    "LinkedReports",
    "Subscriptions",
    "Schedules",
    "CacheRefreshPlans",
    "Extensions",
    "FavoriteItems",
    "SharedDataSets",
    "Comments",
    "DependentItems",
    "HistorySnapshots",
    "CacheOptions",
    "Model.GetData",
    "Model.GetSchema",
];

/// `ANY /api/{*rest}`: the dispatcher.
pub(crate) async fn handle(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let ctx = req
        .extensions()
        .get::<httpsys::RequestContext>()
        .cloned()
        .ok_or_else(|| Error::Internal("REST handler reached without the gate".into()))?;
    let via_cookie = req.extensions().get::<session::ViaCookie>().is_some();
    let raw = req
        .uri()
        .path()
        .strip_prefix("/api/")
        .unwrap_or("")
        .to_owned();
    let Some((version, rest)) = raw.split_once('/') else {
        return Err(Error::NotFound(req.uri().path().to_owned()));
    };
    if !(version.eq_ignore_ascii_case("v2.0") || version.eq_ignore_ascii_case("v1.0")) {
        return Err(Error::NotFound(format!(
            "api/{version} (this server offers api/v2.0, and api/v1.0 as an alias)"
        )));
    }
    let mut resource = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .map_err(|_| Error::BadRequest("the API path is not valid UTF-8".into()))?
        .into_owned();
    let mut method = req.method().clone();
    let mut req = req;
    // OData's `POST .../$query`: the query options in a text/plain body, for those too long
    // for a URL; answered as the GET.
    let body_query = match resource.rsplit_once('/') {
        Some((head, tail)) if tail.eq_ignore_ascii_case("$query") && method == Method::POST => {
            resource = head.to_owned();
            let (parts, body) = req.into_parts();
            let text = query_body(&parts.headers, body).await?;
            req = Request::from_parts(parts, axum::body::Body::empty());
            method = Method::GET;
            Some(text)
        }
        _ => None,
    };
    if body_query.is_some() && req.uri().query().is_some_and(|q| !q.is_empty()) {
        return Err(Error::BadRequest(
            "POST .../$query takes its query options in the body only, not also in the URL".into(),
        ));
    }
    let options = odata::parse(body_query.as_deref().or(req.uri().query()))?;
    let addr = keys::parse(&resource, &|n| options.alias(n))?;

    // CatalogItemByPath(path=@path) is v1.0's CatalogItems(Path=...).
    let set_name = if addr.set.eq_ignore_ascii_case("CatalogItemByPath") {
        "CatalogItems"
    } else {
        addr.set.as_str()
    };
    let Some(set) = Set::ALL
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(set_name))
    else {
        return Err(not_offered_or_missing(&addr.set, &resource));
    };
    let nav: Vec<&str> = addr.nav.iter().map(|s| s.name.as_str()).collect();
    let nav_text = nav.join("/");
    let candidates: Vec<&Route> = routes()
        .iter()
        .filter(|r| {
            r.set == set && r.keyed == addr.key.is_some() && r.nav.eq_ignore_ascii_case(&nav_text)
        })
        .collect();
    let route = match candidates
        .iter()
        .find(|r| r.method == method || (method == Method::HEAD && r.method == Method::GET))
    {
        Some(r) => *r,
        None if candidates.is_empty() => {
            let last = nav.last().copied().unwrap_or(&addr.set);
            return Err(not_offered_or_missing(last, &resource));
        }
        None => {
            let allow: Vec<&str> = candidates.iter().map(|r| r.method.as_str()).collect();
            let mut resp = Error::MethodNotAllowed(method.to_string()).into_response();
            if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
                resp.headers_mut().insert(header::ALLOW, v);
            }
            return Ok(resp);
        }
    };
    let authority = req.extensions().get::<Authority>().cloned();
    if route.op == Op::SignIn {
        return session::sign_in(&state, &ctx, authority.as_ref(), req).await;
    }
    // Only `POST Session` passes the gate without a session.
    let (session, _) = crate::portal::parts(&req)?;
    let write = !matches!(method, Method::GET | Method::HEAD);
    if write {
        check_xsrf(
            &state,
            &session,
            &ctx,
            authority.as_ref(),
            req.headers(),
            via_cookie,
        )?;
    }
    if route.op == Op::SignOut {
        return Ok(session::sign_out(&state, &session, &ctx, req.headers()));
    }
    let call = items::Call {
        state: &state,
        session: &session,
        ctx: &ctx,
        authority: authority.as_ref(),
        api_base: format!("/{}/api/{}", ctx.vdir, version.to_ascii_lowercase()),
        set,
        key: addr.key.clone(),
        arg: addr.nav.last().and_then(|s| s.arg.clone()),
        options,
    };
    let mut resp = items::run(call, route.op, req).await?;
    if !write {
        set_xsrf_cookie(&state, &session, &ctx, &mut resp);
    }
    Ok(resp)
}

/// Largest `$query` body, in bytes.
const MAX_QUERY_BODY: usize = 1024 * 1024;

/// The body of `POST .../$query`: `text/plain`, the query options as in a URL.
async fn query_body(headers: &http::HeaderMap, body: axum::body::Body) -> Result<String, Error> {
    use http_body_util::BodyExt;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("text/plain")
    {
        return Err(Error::BadRequest(format!(
            "the body of POST .../$query must be text/plain query options such as $filter=Name eq 'x'&$top=5 (Content-Type was '{ct}')"
        )));
    }
    let mut body = body;
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| Error::BadRequest(format!("the request body could not be read: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > MAX_QUERY_BODY {
                return Err(Error::BadRequest(format!(
                    "the query options of POST .../$query are longer than {MAX_QUERY_BODY} bytes"
                )));
            }
            buf.extend_from_slice(&data);
        }
    }
    String::from_utf8(buf)
        .map(|s| s.trim().to_owned())
        .map_err(|_| Error::BadRequest("the query options are not valid UTF-8".into()))
}

/// 501 for what SSRS offers and reportd does not (a name reportd serves on another set
/// counts), 404 for names that exist nowhere.
fn not_offered_or_missing(name: &str, resource: &str) -> Error {
    let elsewhere = routes().iter().any(|r| {
        r.nav
            .split('/')
            .next()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    });
    if elsewhere || NOT_OFFERED.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        Error::NotImplemented(format!(
            "{name} is part of the SSRS REST API but reportd does not offer it yet; GET api/v2.0/openapi.json lists what it offers"
        ))
    } else {
        Error::NotFound(format!("api/v2.0/{resource}"))
    }
}

/// Name of the XSRF cookie and header (as SSRS and Angular name them).
const XSRF_COOKIE: &str = "XSRF-TOKEN";
const XSRF_HEADER: &str = "x-xsrf-token";

fn set_xsrf_cookie(
    state: &AppState,
    session: &Session,
    ctx: &httpsys::RequestContext,
    resp: &mut Response,
) {
    let token = csrf::token(state, &session.principal);
    let secure = if ctx.secure { "; Secure" } else { "" };
    let cookie = format!(
        "{XSRF_COOKIE}={token}; Path=/{}; SameSite=Strict{secure}",
        ctx.vdir
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// See the module documentation: which writes must carry the XSRF token.
fn check_xsrf(
    state: &AppState,
    session: &Session,
    ctx: &httpsys::RequestContext,
    authority: Option<&Authority>,
    headers: &http::HeaderMap,
    via_cookie: bool,
) -> Result<(), Error> {
    let sent = headers.get(XSRF_HEADER);
    // Not the XSRF cookie: it is SameSite=Strict (never sent cross-site), and scripts
    // whose HTTP session keeps cookies (Python requests, PowerShell web sessions) send it
    // back without the header. A request authenticated by the session cookie always needs
    // the token.
    let browser = headers.contains_key(header::ORIGIN) || headers.contains_key("sec-fetch-site");
    if !(browser || via_cookie || sent.is_some()) {
        return Ok(());
    }
    let refused = || {
        Error::Forbidden(
            "this write carries cookies or comes from a browser, so it must send the XSRF-TOKEN cookie's value (set by any GET, e.g. api/v2.0/Me) in the X-XSRF-TOKEN header; scripts using Basic authentication without cookies need neither".into(),
        )
    };
    csrf::check_origin(headers, ctx, authority).map_err(|_| refused())?;
    let sent = sent.and_then(|v| v.to_str().ok());
    csrf::check_token(state, &session.principal, sent).map_err(|_| refused())
}
