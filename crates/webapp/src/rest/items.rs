//! The operations of the REST API on catalog items, `Me` and `System`.
//!
//! Each operation resolves its key (GUID or path; 404 `rsItemNotFound` when nothing is
//! there), checks the user's permission on the item or the folder it changes (403
//! `rsAccessDenied`) before anything changes, and changes the catalog only through the
//! operations the portal uses: [`crate::portal::actions::store_upload`] for content,
//! `create_folder`, `set_properties`, `delete_item`. It must not write error bodies
//! ([`crate::error`] does) nor parse URLs ([`super::keys`]).

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use catalog::{CatalogItem, ItemPath, ItemProperties, ItemType, Permission};
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;

use super::keys::Key;
use super::odata::{Expand, Options, Pair, SELECTABLE};
use super::{DATASET_MIME, Kind, Op, Set};
use crate::auth::Session;
use crate::host::Authority;
use crate::portal::actions::{self, Stored, UPLOAD_MEMORY_BUDGET, UploadShare};
use crate::{AppState, Error};

/// Most items one listing walks (`GET CatalogItems` lists the whole catalog).
const MAX_LISTED: usize = 200_000;
/// Room for the JSON around the base64 content, in bytes.
const JSON_OVERHEAD: u64 = 64 * 1024;
/// Most paths one `Model.DeleteItems` takes.
const MAX_DELETE_ITEMS: usize = 1000;

/// One request, resolved by the dispatcher.
pub(super) struct Call<'a> {
    pub state: &'a AppState,
    pub session: &'a Session,
    pub ctx: &'a httpsys::RequestContext,
    pub authority: Option<&'a Authority>,
    pub api_base: String,
    pub set: Set,
    pub key: Option<Key>,
    /// The argument of a function segment (`searchText`).
    pub arg: Option<String>,
    pub options: Options,
}

pub(super) async fn run(c: Call<'_>, op: Op, req: Request) -> Result<Response, Error> {
    let keyed_only = !matches!(op, Op::List | Op::Children | Op::Search);
    if keyed_only {
        c.options.for_entity()?;
    }
    match op {
        Op::Me => Ok(json_ok(me(&c))),
        Op::SignIn | Op::SignOut => Err(Error::Internal(
            "Session is answered by the dispatcher".into(),
        )),
        Op::System => Ok(json_ok(system(&c))),
        Op::OpenApi => Ok(json_ok(super::openapi::document(&c.api_base))),
        Op::List => list(&c).await,
        Op::Get => {
            let item = resolve(&c, Permission::Read).await?;
            if c.options.expand.contains(&Expand::Policies) {
                c.session
                    .require(&item.path, Permission::ManageSecurity)
                    .await?;
            }
            let parent = parent_id(c.session, &item).await?;
            let mut v = item_json(&c, &item, parent);
            expand(&c, &item, &mut v).await?;
            v["@odata.context"] =
                json!(format!("{}/$metadata#{}/$entity", c.api_base, c.set.name()));
            Ok(json_ok(v))
        }
        Op::Children => {
            let folder = resolve(&c, Permission::Read).await?;
            let kids = crate::portal::readable_children(c.session, &folder.path).await?;
            let items = kids.into_iter().map(|k| (k, Some(folder.id))).collect();
            collection(&c, items, "CatalogItems").await
        }
        Op::Search => search(&c).await,
        Op::Content => content(&c).await,
        Op::Create => create(&c, req).await,
        Op::Replace => replace(&c, req).await,
        Op::Update => update(&c, req).await,
        Op::Delete => {
            let item = resolve(&c, Permission::Write).await?;
            delete(&c, &item.path).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Op::DeleteItems => delete_items(&c, req).await,
        Op::MoveItems => move_items(&c, req).await,
        Op::Metadata => Ok(super::metadata::response()),
        Op::Policies => super::security::policies(&c).await,
        Op::SetPolicies => super::security::set_policies(&c, req).await,
        Op::Properties => super::security::properties(&c).await,
        Op::SetProperties => super::security::set_properties(&c, req).await,
        Op::AllowedActions => super::security::allowed_actions(&c).await,
        Op::SystemPolicies => super::security::system_policies(&c).await,
        Op::SetSystemPolicies => super::security::set_system_policies(&c, req).await,
        Op::SystemProperties => Ok(json_ok(super::security::system_properties(&c))),
        Op::SystemAllowedActions => Ok(json_ok(super::security::system_allowed_actions(&c))),
        Op::Roles => super::security::roles(&c).await,
        Op::ParameterDefinitions => super::reports::parameter_definitions(&c).await,
        Op::SetParameterDefinitions => super::reports::set_parameter_definitions(&c, req).await,
        Op::CheckConnection => super::reports::check_connection(&c).await,
        Op::CheckNewConnection => super::reports::check_new_connection(&c, req).await,
        Op::CheckReportDataSource => super::reports::check_report_data_source(&c, req).await,
        Op::ReportDataSources => super::reports::data_sources(&c).await,
        Op::SetReportDataSources => super::reports::set_data_sources(&c, req).await,
    }
}

pub(super) fn json_ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

/// The item the key names, checked against the set's type and `need`.
pub(super) async fn resolve(c: &Call<'_>, need: Permission) -> Result<CatalogItem, Error> {
    let item = match &c.key {
        Some(Key::Id(id)) => c
            .session
            .catalog
            .get_item_by_id(*id)
            .await?
            .ok_or_else(|| Error::NotFound(id.to_string()))?,
        Some(Key::Path(p)) => c
            .session
            .catalog
            .get_item(p)
            .await?
            .ok_or_else(|| Error::NotFound(p.to_string()))?,
        None => return Err(Error::Internal("a keyed operation without a key".into())),
    };
    // Read first: a user who may not see the item learns no more than "denied".
    c.session.require(&item.path, Permission::Read).await?;
    if need != Permission::Read {
        c.session.require(&item.path, need).await?;
    }
    let kind = Kind::of(&item);
    if let Some(t) = c.set.kind()
        && kind != t
    {
        return Err(Error::BadRequest(format!(
            "'{}' is a {kind}, not a {t}; address it through {} or CatalogItems",
            item.path,
            kind.set().name()
        )));
    }
    Ok(item)
}

async fn parent_id(session: &Session, item: &CatalogItem) -> Result<Option<uuid::Uuid>, Error> {
    Ok(match item.path.parent() {
        Some(p) => session.catalog.get_item(&p).await?.map(|i| i.id),
        None => None,
    })
}

fn date(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// An item as SSRS shows it, with `$select` and `$expand=Properties` applied (the other
/// expansions need the catalog: [`expand`]).
fn item_json(c: &Call<'_>, item: &CatalogItem, parent: Option<uuid::Uuid>) -> Value {
    let kind = Kind::of(item);
    let full = json!({
        "Id": item.id,
        "Name": item.name,
        "Description": if item.description.is_empty() { Value::Null } else { json!(item.description) },
        "Path": item.path.as_str(),
        "Type": kind.name(),
        "Hidden": item.hidden,
        "Size": item.size,
        "ModifiedBy": item.modified_by,
        "ModifiedDate": date(item.modified_at),
        "CreatedBy": item.created_by,
        "CreatedDate": date(item.created_at),
        "ParentFolderId": parent,
        "ContentType": item.mime_type,
        "Content": "",
        "IsFavorite": false,
    });
    let mut out = Map::new();
    out.insert(
        "@odata.type".into(),
        json!(format!("#Model.{}", kind.name())),
    );
    let keys: &[&str] = c.options.select.as_deref().unwrap_or(&SELECTABLE);
    for k in keys {
        if let Some(v) = full.get(*k) {
            out.insert((*k).to_owned(), v.clone());
        }
    }
    if c.options.expand.contains(&Expand::Properties) {
        out.insert(
            "Properties".into(),
            json!([
                {"Name": "Description", "Value": item.description},
                {"Name": "Hidden", "Value": item.hidden.to_string()},
            ]),
        );
    }
    Value::Object(out)
}

/// `$expand=Policies` and `$expand=DataSources` of one item: its role assignments (null
/// when the user may not manage its security) and a report's data sources (empty for other
/// kinds).
async fn expand(c: &Call<'_>, item: &CatalogItem, v: &mut Value) -> Result<(), Error> {
    if c.options.expand.contains(&Expand::Policies) {
        v["Policies"] = if c
            .session
            .can(&item.path, Permission::ManageSecurity)
            .await?
        {
            super::security::expanded_policies(c, item).await?
        } else {
            Value::Null
        };
    }
    if c.options.expand.contains(&Expand::DataSources) {
        v["DataSources"] = if item.item_type == ItemType::Report {
            super::reports::expanded_data_sources(c, item).await?
        } else {
            json!([])
        };
    }
    Ok(())
}

/// A collection response: options applied, `@odata.count` when asked. Only the items of
/// the page are turned into JSON.
async fn collection<T: std::borrow::Borrow<Pair>>(
    c: &Call<'_>,
    mut items: Vec<T>,
    set: &str,
) -> Result<Response, Error> {
    let count = c.options.apply(&mut items);
    let mut value: Vec<Value> = Vec::with_capacity(items.len());
    for t in &items {
        let (i, p) = std::borrow::Borrow::<Pair>::borrow(t);
        let mut v = item_json(c, i, *p);
        expand(c, i, &mut v).await?;
        value.push(v);
    }
    let mut v = json!({
        "@odata.context": format!("{}/$metadata#{set}", c.api_base),
        "value": value,
    });
    if c.options.count {
        v["@odata.count"] = json!(count);
    }
    Ok(json_ok(v))
}

/// Every item below `top` (itself excluded) the user may read, with its parent's id;
/// folders first, then by name, depth first.
async fn walk(
    session: &Session,
    top: &CatalogItem,
) -> Result<Vec<(CatalogItem, Option<uuid::Uuid>)>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![(top.path.clone(), top.id)];
    while let Some((path, id)) = stack.pop() {
        let kids = crate::portal::readable_children(session, &path).await?;
        for k in kids.into_iter().rev() {
            if k.item_type == ItemType::Folder {
                stack.push((k.path.clone(), k.id));
            }
            out.push((k, Some(id)));
            if out.len() > MAX_LISTED {
                return Err(Error::BadRequest(format!(
                    "the catalog has more than {MAX_LISTED} items; list one folder at a time with Folders(Path='...')/CatalogItems"
                )));
            }
        }
    }
    out.sort_by(|(a, _), (b, _)| a.path.key().cmp(b.path.key()));
    Ok(out)
}

/// `GET Set`: the whole catalog's listing (walked once per catalog generation and user,
/// [`super::listing`]), narrowed to the set's kind, then the options.
async fn list(c: &Call<'_>) -> Result<Response, Error> {
    let user = super::listing::user_key(&c.session.principal);
    let generation = c.session.generation;
    let all = match c.state.listings().get(generation, &user) {
        Some(l) => l,
        None => {
            let root = c
                .session
                .catalog
                .get_item(&ItemPath::root())
                .await?
                .ok_or_else(|| Error::NotFound("/".into()))?;
            let l: super::listing::Listing = std::sync::Arc::new(walk(c.session, &root).await?);
            c.state.listings().put(generation, &user, l.clone());
            l
        }
    };
    let items: Vec<&(CatalogItem, Option<uuid::Uuid>)> = match c.set.kind() {
        Some(t) => all.iter().filter(|(i, _)| Kind::of(i) == t).collect(),
        None => all.iter().collect(),
    };
    collection(c, items, c.set.name()).await
}

async fn search(c: &Call<'_>) -> Result<Response, Error> {
    let folder = resolve(c, Permission::Read).await?;
    let text = c.arg.clone().unwrap_or_default().to_lowercase();
    let mut items = walk(c.session, &folder).await?;
    items.retain(|(i, _)| {
        i.name.to_lowercase().contains(&text) || i.description.to_lowercase().contains(&text)
    });
    collection(c, items, "CatalogItems").await
}

async fn content(c: &Call<'_>) -> Result<Response, Error> {
    let item = resolve(c, Permission::Read).await?;
    if item.item_type == ItemType::Folder {
        return Err(Error::BadRequest(format!(
            "'{}' is a folder; folders have no content",
            item.path
        )));
    }
    let kind = if Kind::of(&item) == Kind::DataSet {
        "application/xml"
    } else {
        actions::download_type(item.item_type, item.mime_type.as_deref())
    };
    // A data source's content without its password or sealed credentials.
    let (body, size) = actions::served_content(c.session, item).await?;
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(resp)
}

// ------------------------------------------------------------------------------- writes

/// The body of a write: JSON, read while it streams in against the upload limit (413) and
/// the process's upload memory budget (503).
pub(super) async fn read_json_value(
    c: &Call<'_>,
    req: Request,
) -> Result<(Value, UploadShare), Error> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(Error::BadRequest(format!(
            "the request body must be application/json (Content-Type was '{ct}')"
        )));
    }
    let limit_mb = c.state.max_upload_mb();
    let limit = (u64::from(limit_mb) * 1024 * 1024).div_ceil(3) * 4 + JSON_OVERHEAD;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Error::TooLarge(limit_mb));
    }
    let mut share = UploadShare::new();
    let mut body = req.into_body();
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| Error::BadRequest(format!("the request body could not be read: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if (buf.len() + data.len()) as u64 > limit {
                return Err(Error::TooLarge(limit_mb));
            }
            share.take(data.len() as u64, UPLOAD_MEMORY_BUDGET)?;
            buf.extend_from_slice(&data);
        }
    }
    let v: Value = serde_json::from_slice(&buf)
        .map_err(|e| Error::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    Ok((v, share))
}

/// [`read_json_value`] for bodies that must be one JSON object.
pub(super) async fn read_json(
    c: &Call<'_>,
    req: Request,
) -> Result<(Map<String, Value>, UploadShare), Error> {
    let (v, share) = read_json_value(c, req).await?;
    match v {
        Value::Object(m) => Ok((m, share)),
        _ => Err(Error::BadRequest(
            "the request body must be a JSON object".into(),
        )),
    }
}

pub(super) fn string_field<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, Error> {
    match body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
    {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(Error::BadRequest(format!(
            "{name} must be a string, not {other}"
        ))),
    }
}

pub(super) fn bool_field(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, Error> {
    match body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
    {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(Error::BadRequest(format!(
            "{name} must be true or false, not {other}"
        ))),
    }
}

/// The kind `@odata.type` names (`#Model.Report`), or the set's.
fn body_type(set: Set, body: &Map<String, Value>) -> Result<Kind, Error> {
    let given = string_field(body, "@odata.type")?;
    let t = match given {
        None => set.kind().ok_or_else(|| {
            Error::BadRequest("@odata.type is missing; say what to create: #Model.Folder, #Model.Report, #Model.DataSource, #Model.DataSet or #Model.Resource".into())
        })?,
        Some(s) => {
            let name = s.trim_start_matches('#');
            let name = name.strip_prefix("Model.").unwrap_or(name);
            Kind::ALL
                .into_iter()
                .find(|k| k.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    Error::BadRequest(format!(
                        "@odata.type '{s}' is not a type reportd stores; use #Model.Folder, #Model.Report, #Model.DataSource, #Model.DataSet or #Model.Resource"
                    ))
                })?
        }
    };
    if let Some(want) = set.kind()
        && want != t
    {
        return Err(Error::BadRequest(format!(
            "@odata.type says {t} but {} holds {want} items; post it to {} or CatalogItems",
            set.name(),
            t.set().name()
        )));
    }
    Ok(t)
}

/// Checks that `bytes` are a shared data set definition (`<SharedDataSet>` root).
fn check_data_set(bytes: &[u8], shown: &str) -> Result<(), Error> {
    let bad = |why: String| {
        Error::BadRequest(format!(
            "'{shown}' is not a shared data set definition (.rsd): {why}"
        ))
    };
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                let local = e.local_name();
                return if local.as_ref() == b"SharedDataSet" {
                    Ok(())
                } else {
                    Err(bad(format!(
                        "its root element is <{}>, not <SharedDataSet>",
                        String::from_utf8_lossy(local.as_ref())
                    )))
                };
            }
            Ok(quick_xml::events::Event::DocType(_)) => {
                return Err(bad("a DOCTYPE is not accepted".into()));
            }
            Ok(quick_xml::events::Event::Eof) => return Err(bad("it has no element".into())),
            Ok(_) => {}
            Err(e) => return Err(bad(format!("it is not XML: {e}"))),
        }
        buf.clear();
    }
}

/// The base64 `Content`, decoded (413 past the upload limit).
fn body_content(
    c: &Call<'_>,
    body: &Map<String, Value>,
    t: ItemType,
    share: &mut UploadShare,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(text) = string_field(body, "Content")? else {
        return Ok(None);
    };
    if text.is_empty() && t == ItemType::Folder {
        return Ok(None);
    }
    let limit_mb = c.state.max_upload_mb();
    if (text.len() as u64 / 4) * 3 > u64::from(limit_mb) * 1024 * 1024 {
        return Err(Error::TooLarge(limit_mb));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| Error::BadRequest(format!("Content is not valid base64: {e}")))?;
    share.take(bytes.len() as u64, UPLOAD_MEMORY_BUDGET)?;
    Ok(Some(bytes))
}

/// `Path` is the parent's or the item's own (SSRS takes both): the item's when its last
/// segment is `Name`.
fn target_path(body: &Map<String, Value>) -> Result<ItemPath, Error> {
    let name = string_field(body, "Name")?
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::BadRequest("Name is missing; give the item a name".into()))?;
    let base = match string_field(body, "Path")? {
        Some(p) if !p.is_empty() => {
            ItemPath::parse(p).map_err(|e| Error::BadRequest(format!("invalid Path: {e}")))?
        }
        _ => ItemPath::root(),
    };
    if !base.is_root() && base.name().to_lowercase() == name.to_lowercase() {
        return Ok(base);
    }
    base.join(name)
        .map_err(|e| Error::BadRequest(format!("invalid Name: {e}")))
}

fn created(
    c: &Call<'_>,
    item: &CatalogItem,
    parent: Option<uuid::Uuid>,
    status: StatusCode,
) -> Response {
    let set = Kind::of(item).set().name();
    let mut v = item_json(c, item, parent);
    v["@odata.context"] = json!(format!("{}/$metadata#{set}/$entity", c.api_base));
    let mut resp = (status, axum::Json(v)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("{}/{set}({})", c.api_base, item.id)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

async fn create(c: &Call<'_>, req: Request) -> Result<Response, Error> {
    let (body, mut share) = read_json(c, req).await?;
    let kind = body_type(c.set, &body)?;
    let t = kind.stored();
    let path = target_path(&body)?;
    let parent = path
        .parent()
        .ok_or(Error::BadRequest("the root folder already exists".into()))?;
    actions::require_writable_folder(c.session, &parent).await?;
    let description = string_field(&body, "Description")?.unwrap_or("");
    let hidden = bool_field(&body, "Hidden")?.unwrap_or(false);
    let item = if t == ItemType::Folder {
        let item = c
            .session
            .catalog
            .create_folder(&path, &c.session.principal.name)
            .await?;
        c.state.catalog_changed();
        item
    } else {
        let data = match body_content(c, &body, t, &mut share)? {
            Some(d) => d,
            None if kind == Kind::DataSource => super::reports::data_source_from_fields(&body)?,
            None => return Err(missing_content(kind)),
        };
        if kind == Kind::DataSet {
            check_data_set(&data, path.as_str())?;
        }
        let mime = mime_of(&body, kind, path.name())?;
        store(c, &path, t, mime.as_deref(), description, false, data).await?
    };
    let item = finish_properties(
        c,
        item,
        (!description.is_empty() && t == ItemType::Folder).then_some(description),
        hidden.then_some(true),
    )
    .await?;
    drop(share);
    let parent_id = parent_id(c.session, &item).await?;
    Ok(created(c, &item, parent_id, StatusCode::CREATED))
}

fn missing_content(t: Kind) -> Error {
    Error::BadRequest(format!(
        "Content is missing: send the {t}'s bytes in base64"
    ))
}

fn mime_of(body: &Map<String, Value>, t: Kind, name: &str) -> Result<Option<String>, Error> {
    match t {
        Kind::DataSet => return Ok(Some(DATASET_MIME.to_owned())),
        Kind::Resource => {}
        _ => return Ok(None),
    }
    Ok(Some(match string_field(body, "ContentType")? {
        Some(m) if !m.trim().is_empty() => {
            if m.len() > 255 || !m.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
                return Err(Error::BadRequest(
                    "ContentType must be a MIME type such as image/png".into(),
                ));
            }
            if m.trim().eq_ignore_ascii_case(DATASET_MIME) {
                return Err(Error::BadRequest(format!(
                    "ContentType {DATASET_MIME} marks shared data sets; create one with @odata.type #Model.DataSet"
                )));
            }
            m.trim().to_owned()
        }
        _ => actions::guess_mime(name).to_owned(),
    }))
}

pub(super) async fn store(
    c: &Call<'_>,
    path: &ItemPath,
    t: ItemType,
    mime: Option<&str>,
    description: &str,
    overwrite: bool,
    data: Vec<u8>,
) -> Result<CatalogItem, Error> {
    let shown = path.to_string();
    actions::store_upload(
        c.state,
        c.session,
        Stored {
            path,
            item_type: t,
            mime_type: mime,
            description,
            overwrite,
            shown_name: &shown,
        },
        data,
    )
    .await
}

/// Sets Description and Hidden when asked (one `set_properties`), keeping what is not given.
pub(super) async fn finish_properties(
    c: &Call<'_>,
    item: CatalogItem,
    description: Option<&str>,
    hidden: Option<bool>,
) -> Result<CatalogItem, Error> {
    if description.is_none() && hidden.is_none() {
        return Ok(item);
    }
    let props = ItemProperties {
        description: description.map_or_else(|| item.description.clone(), str::to_owned),
        hidden: hidden.unwrap_or(item.hidden),
    };
    if props.description == item.description && props.hidden == item.hidden {
        return Ok(item);
    }
    let item = c
        .session
        .catalog
        .set_properties(&item.path, &props, &c.session.principal.name)
        .await?;
    c.state.catalog_changed();
    Ok(item)
}

/// `PUT Set(key)`: the ReportingServicesTools overwrite after a 409 — the POST body again.
async fn replace(c: &Call<'_>, req: Request) -> Result<Response, Error> {
    let item = resolve(c, Permission::Write).await?;
    let kind = Kind::of(&item);
    let (body, mut share) = read_json(c, req).await?;
    if string_field(&body, "@odata.type")?.is_some() {
        let t = body_type(Set::CatalogItems, &body)?;
        if t != kind {
            return Err(Error::BadRequest(format!(
                "'{}' is a {kind}; a PUT cannot turn it into a {t} (delete it first)",
                item.path
            )));
        }
    }
    let description = string_field(&body, "Description")?;
    let hidden = bool_field(&body, "Hidden")?;
    let item = if item.item_type == ItemType::Folder {
        item
    } else {
        let data = match body_content(c, &body, item.item_type, &mut share)? {
            Some(d) => d,
            None if kind == Kind::DataSource => super::reports::data_source_from_fields(&body)?,
            None => return Err(missing_content(kind)),
        };
        if kind == Kind::DataSet {
            check_data_set(&data, item.path.as_str())?;
        }
        let mime = mime_of(&body, kind, &item.name)?.or(item.mime_type.clone());
        store(
            c,
            &item.path,
            item.item_type,
            mime.as_deref(),
            description.unwrap_or(&item.description),
            true,
            data,
        )
        .await?
    };
    let item = finish_properties(c, item, description, hidden).await?;
    drop(share);
    let parent = parent_id(c.session, &item).await?;
    Ok(created(c, &item, parent, StatusCode::OK))
}

/// `PATCH Set(key)`: Description, Hidden, Content; a Name other than the current one is
/// refused (renaming is not offered yet).
async fn update(c: &Call<'_>, req: Request) -> Result<Response, Error> {
    let item = resolve(c, Permission::Write).await?;
    let (body, mut share) = read_json(c, req).await?;
    for k in body.keys() {
        let known = [
            "Name",
            "Description",
            "Hidden",
            "Content",
            "ContentType",
            "Path",
            "Id",
            "Type",
        ]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(k));
        if !known && !k.starts_with("@odata.") {
            return Err(Error::BadRequest(format!(
                "the property '{k}' cannot be changed; PATCH takes Description, Hidden and Content"
            )));
        }
    }
    let rename = match string_field(&body, "Name")? {
        Some(name) if name != item.name => {
            let parent = item.path.parent().ok_or(Error::BadRequest(
                "the root folder cannot be renamed".into(),
            ))?;
            let to = parent
                .join(name.trim())
                .map_err(|e| Error::BadRequest(format!("invalid Name: {e}")))?;
            actions::require_writable_folder(c.session, &parent).await?;
            Some(to)
        }
        _ => None,
    };
    if let Some(p) = string_field(&body, "Path")?
        && ItemPath::parse(p).ok().as_ref().map(ItemPath::key) != Some(item.path.key())
    {
        return Err(Error::NotImplemented(
            "moving an item is not offered yet; Path must be the current path".into(),
        ));
    }
    let description = string_field(&body, "Description")?;
    let hidden = bool_field(&body, "Hidden")?;
    let mut item = item;
    let kind = Kind::of(&item);
    if let Some(data) = body_content(c, &body, item.item_type, &mut share)? {
        if item.item_type == ItemType::Folder {
            return Err(Error::BadRequest(format!(
                "'{}' is a folder; folders have no content",
                item.path
            )));
        }
        if kind == Kind::DataSet {
            check_data_set(&data, item.path.as_str())?;
        }
        let mime = mime_of(&body, kind, &item.name)?.or(item.mime_type.clone());
        let desc = item.description.clone();
        item = store(
            c,
            &item.path,
            item.item_type,
            mime.as_deref(),
            &desc,
            true,
            data,
        )
        .await?;
    }
    let item = finish_properties(c, item, description, hidden).await?;
    drop(share);
    if let Some(to) = rename {
        c.session.catalog.move_item(&item.path, &to).await?;
        c.state.catalog_changed();
        tracing::info!(user = %c.session.principal.name, from = %item.path, %to, "item renamed (REST)");
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete(c: &Call<'_>, path: &ItemPath) -> Result<(), Error> {
    if path.is_root() {
        return Err(Error::BadRequest(
            "the root folder cannot be deleted".into(),
        ));
    }
    c.session.catalog.delete_item(path).await?;
    c.state.catalog_changed();
    tracing::info!(user = %c.session.principal.name, %path, "item deleted (REST)");
    Ok(())
}

/// `POST CatalogItems/Model.DeleteItems {"CatalogItemPaths": [...]}`: every path is
/// checked (exists, Write) before the first is deleted.
async fn delete_items(c: &Call<'_>, req: Request) -> Result<Response, Error> {
    let (body, _share) = read_json(c, req).await?;
    let paths =
        match body
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("CatalogItemPaths"))
            .map(|(_, v)| v)
        {
            Some(Value::Array(a)) => a,
            _ => return Err(Error::BadRequest(
                "CatalogItemPaths is missing; send {\"CatalogItemPaths\": [\"/Folder/Item\", ...]}"
                    .into(),
            )),
        };
    if paths.len() > MAX_DELETE_ITEMS {
        return Err(Error::BadRequest(format!(
            "CatalogItemPaths has more than {MAX_DELETE_ITEMS} paths; delete in several requests"
        )));
    }
    let mut checked = Vec::with_capacity(paths.len());
    for p in paths {
        let Value::String(s) = p else {
            return Err(Error::BadRequest(format!(
                "CatalogItemPaths holds {p}, which is not a path string"
            )));
        };
        let path = ItemPath::parse(s)
            .map_err(|e| Error::BadRequest(format!("invalid path in CatalogItemPaths: {e}")))?;
        if path.is_root() {
            return Err(Error::BadRequest(
                "the root folder cannot be deleted".into(),
            ));
        }
        if c.session.catalog.get_item(&path).await?.is_none() {
            return Err(Error::NotFound(path.to_string()));
        }
        c.session.require(&path, Permission::Write).await?;
        checked.push(path);
    }
    for path in &checked {
        // A path below one deleted before it is already gone.
        match delete(c, path).await {
            Ok(()) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(json_ok(json!({
        "@odata.context": format!("{}/$metadata#Edm.Boolean", c.api_base),
        "value": true,
    })))
}

/// `POST CatalogItems/Model.MoveItems {"CatalogItemPaths": [...], "TargetPath": "/F"}`:
/// Write on the target folder and on every item, checked before the first move.
async fn move_items(c: &Call<'_>, req: Request) -> Result<Response, Error> {
    let (body, _share) = read_json(c, req).await?;
    let target = string_field(&body, "TargetPath")?.ok_or_else(|| {
        Error::BadRequest("TargetPath is missing; name the folder to move the items into".into())
    })?;
    let target = ItemPath::parse(target)
        .map_err(|e| Error::BadRequest(format!("invalid TargetPath: {e}")))?;
    let paths = match body.iter().find(|(k, _)| k.eq_ignore_ascii_case("CatalogItemPaths")).map(|(_, v)| v) {
        Some(Value::Array(a)) => a,
        _ => return Err(Error::BadRequest("CatalogItemPaths is missing; send {\"CatalogItemPaths\": [\"/Folder/Item\", ...], \"TargetPath\": \"/Folder\"}".into())),
    };
    if paths.len() > MAX_DELETE_ITEMS {
        return Err(Error::BadRequest(format!(
            "CatalogItemPaths has more than {MAX_DELETE_ITEMS} paths; move in several requests"
        )));
    }
    actions::require_writable_folder(c.session, &target).await?;
    let mut moves = Vec::with_capacity(paths.len());
    for p in paths {
        let Value::String(s) = p else {
            return Err(Error::BadRequest(format!(
                "CatalogItemPaths holds {p}, which is not a path string"
            )));
        };
        let from = ItemPath::parse(s)
            .map_err(|e| Error::BadRequest(format!("invalid path in CatalogItemPaths: {e}")))?;
        let item = c
            .session
            .catalog
            .get_item(&from)
            .await?
            .ok_or_else(|| Error::NotFound(from.to_string()))?;
        c.session.require(&item.path, Permission::Write).await?;
        let to = target
            .join(&item.name)
            .map_err(|e| Error::BadRequest(format!("cannot move '{from}': {e}")))?;
        moves.push((item.path, to));
    }
    for (from, to) in &moves {
        c.session.catalog.move_item(from, to).await?;
        c.state.catalog_changed();
        tracing::info!(user = %c.session.principal.name, %from, %to, "item moved (REST)");
    }
    Ok(json_ok(json!({
        "@odata.context": format!("{}/$metadata#Edm.Boolean", c.api_base),
        "value": true,
    })))
}

// ------------------------------------------------------------------------ Me and System

fn me(c: &Call<'_>) -> Value {
    // Users have no id in the catalog; a stable one is derived from the encryption key (the
    // cluster's, so every node gives the same) and the name, different per instance.
    let mut h = Sha256::new();
    h.update(b"reportd user id\0");
    h.update(&c.state.key()[..]);
    h.update(c.session.principal.name.to_lowercase().as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    json!({
        "@odata.context": format!("{}/$metadata#Model.User", c.api_base),
        "Id": id,
        "Username": c.session.principal.name,
        "DisplayName": c.session.principal.name,
        "HasFavoriteItems": false,
        // reportd has no My Reports folders (SSRS: null when My Reports is off).
        "MyReportsPath": Value::Null,
    })
}

/// `System`: absolute URLs are built from the validated authority the client named, port
/// included (HTTP/2 `:authority` or `Host`, see [`crate::host`]).
fn system(c: &Call<'_>) -> Value {
    let scheme = if c.ctx.secure { "https" } else { "http" };
    let authority = c.authority.map_or(c.ctx.host.as_str(), |a| a.text.as_str());
    let ws = c.state.webservice_vdir();
    json!({
        "@odata.context": format!("{}/$metadata#Model.SystemInfo", c.api_base),
        "ReportServerAbsoluteUrl": format!("{scheme}://{authority}/{ws}"),
        "ReportServerRelativeUrl": format!("/{ws}"),
        "WebPortalRelativeUrl": format!("/{}", c.ctx.vdir),
        "ProductName": "reportd",
        "ProductVersion": c.state.version(),
        "ProductType": "SqlServerReportingServices",
        "TimeZone": "UTC",
    })
}
