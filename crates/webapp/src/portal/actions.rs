//! The portal's actions: create folder, upload, delete, edit properties (POST, each with a
//! CSRF token and an origin check) and download (GET).
//!
//! Every change needs `Permission::Write` on the folder it changes (and on the item it
//! replaces or deletes). After a change the browser is sent back (303) to the folder or
//! item page, so reloading does not repeat the action. Uploads are authorized before their
//! body is read and limited to `MaxUploadSizeMB` chunk by chunk while they stream in;
//! `.rdl` content must pass the report definition check (`rdl::check`).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use catalog::{ItemPath, ItemProperties, ItemType, NewItem, Permission};
use http::{HeaderValue, header};
use serde::Deserialize;

use super::pages::parts;
use super::{PortalForm, browse_url, csrf, form_path, item_path_from_uri, item_url};
use crate::host::Authority;
use crate::{AppState, Error};

/// Room for the multipart framing and the small fields around the file, on top of the
/// file size limit.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

#[derive(Deserialize)]
pub(crate) struct FolderForm {
    csrf: Option<String>,
    parent: String,
    name: String,
}

/// `POST /folder`: creates `parent/name`.
pub(crate) async fn create_folder(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx) = parts(&req)?;
    csrf::check_origin(req.headers(), &ctx, req.extensions().get::<Authority>())?;
    let PortalForm(form) = PortalForm::<FolderForm>::from_request(req, &state).await?;
    csrf::check_token(&state, &session.principal, form.csrf.as_deref())?;
    let parent = form_path("parent", &form.parent)?;
    let path = parent
        .join(form.name.trim())
        .map_err(|e| Error::BadRequest(format!("invalid folder name: {e}")))?;
    session.require(&parent, Permission::Write).await?;
    session
        .catalog
        .create_folder(&path, &session.principal.name)
        .await?;
    state.catalog_changed();
    tracing::info!(user = %session.principal.name, %path, "folder created");
    Ok(Redirect::to(&browse_url(&ctx, &parent)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct PathForm {
    csrf: Option<String>,
    path: String,
}

/// `POST /delete`: deletes an item (a folder with everything below it).
pub(crate) async fn delete(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let (session, ctx) = parts(&req)?;
    csrf::check_origin(req.headers(), &ctx, req.extensions().get::<Authority>())?;
    let PortalForm(form) = PortalForm::<PathForm>::from_request(req, &state).await?;
    csrf::check_token(&state, &session.principal, form.csrf.as_deref())?;
    let path = form_path("path", &form.path)?;
    let Some(parent) = path.parent() else {
        return Err(Error::BadRequest(
            "the root folder cannot be deleted".into(),
        ));
    };
    if session.catalog.get_item(&path).await?.is_none() {
        return Err(Error::NotFound(path.to_string()));
    }
    session.require(&path, Permission::Write).await?;
    session.catalog.delete_item(&path).await?;
    state.catalog_changed();
    tracing::info!(user = %session.principal.name, %path, "item deleted");
    Ok(Redirect::to(&browse_url(&ctx, &parent)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct PropertiesForm {
    csrf: Option<String>,
    path: String,
    #[serde(default)]
    description: String,
    hidden: Option<String>,
}

/// Longest description accepted, in characters.
const MAX_DESCRIPTION: usize = 4000;

/// `POST /properties`: sets description and hidden flag.
pub(crate) async fn properties(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, Error> {
    let (session, ctx) = parts(&req)?;
    csrf::check_origin(req.headers(), &ctx, req.extensions().get::<Authority>())?;
    let PortalForm(form) = PortalForm::<PropertiesForm>::from_request(req, &state).await?;
    csrf::check_token(&state, &session.principal, form.csrf.as_deref())?;
    let path = form_path("path", &form.path)?;
    if form.description.chars().count() > MAX_DESCRIPTION {
        return Err(Error::BadRequest(format!(
            "the description is longer than {MAX_DESCRIPTION} characters; shorten it"
        )));
    }
    if session.catalog.get_item(&path).await?.is_none() {
        return Err(Error::NotFound(path.to_string()));
    }
    session.require(&path, Permission::Write).await?;
    let props = ItemProperties {
        description: form.description.replace("\r\n", "\n"),
        hidden: form.hidden.is_some(),
    };
    session
        .catalog
        .set_properties(&path, &props, &session.principal.name)
        .await?;
    state.catalog_changed();
    Ok(Redirect::to(&item_url(&ctx, &path)).into_response())
}

/// What an upload form carried.
#[derive(Default)]
struct Upload {
    csrf: Option<String>,
    folder: Option<String>,
    overwrite: bool,
    file: Option<(String, Vec<u8>)>,
}

/// Most upload bytes the process holds at once, over all uploads in progress. One upload
/// alone may always use its whole `MaxUploadSizeMB` (at most 512 MiB); beside others, an
/// upload that would push the total past this is cut off with a 503.
pub(crate) const UPLOAD_MEMORY_BUDGET: u64 = 160 * 1024 * 1024;

/// Upload bytes held now by all uploads of the process.
static UPLOAD_BYTES: AtomicU64 = AtomicU64::new(0);

/// One upload's share of [`UPLOAD_BYTES`], given back when dropped (with the content).
pub(crate) struct UploadShare {
    held: u64,
}

impl UploadShare {
    pub(crate) fn new() -> Self {
        UploadShare { held: 0 }
    }

    /// Takes `n` more bytes, or refuses: when the total would pass `budget` while other
    /// uploads hold some of it.
    pub(crate) fn take(&mut self, n: u64, budget: u64) -> Result<(), Error> {
        let total = UPLOAD_BYTES.fetch_add(n, Ordering::AcqRel) + n;
        let others = total - self.held - n;
        if total > budget && others > 0 {
            UPLOAD_BYTES.fetch_sub(n, Ordering::AcqRel);
            return Err(Error::UploadsBusy);
        }
        self.held += n;
        Ok(())
    }
}

impl Drop for UploadShare {
    fn drop(&mut self) {
        UPLOAD_BYTES.fetch_sub(self.held, Ordering::AcqRel);
    }
}

/// Longest small field (`csrf`, `folder`, `overwrite`) of the upload form, in bytes.
const SMALL_FIELD_LIMIT: usize = 8 * 1024;

/// `POST /upload[?folder=/Path]` (multipart: `csrf`, `folder`, optional `overwrite`,
/// `file`).
///
/// Refused as early as possible, in this order: a cross-site request; a declared
/// Content-Length over the limit (413, before any of the body is read); without Write on
/// the folder named in the URL (403, before any of the body is read — the portal's form
/// names it there); a `file` part sent before the `csrf` token (the token and the folder
/// are checked before one byte of the file is read); a file that grows past
/// `MaxUploadSizeMB` (413 as soon as the chunk that crosses it arrives). Only then is the
/// content checked (RDL, on the blocking pool) and stored.
pub(crate) async fn upload(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let (session, ctx) = parts(&req)?;
    csrf::check_origin(req.headers(), &ctx, req.extensions().get::<Authority>())?;
    let limit_mb = state.max_upload_mb();
    let limit = u64::from(limit_mb) * 1024 * 1024;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit + MULTIPART_OVERHEAD) {
        return Err(Error::TooLarge(limit_mb));
    }
    // Authorization before the body: the folder the form names in its URL.
    let url_folder = form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "folder")
        .map(|(_, v)| form_path("folder", &v))
        .transpose()?;
    if let Some(folder) = &url_folder {
        require_writable_folder(&session, folder).await?;
    }
    // The declared length may be absent (chunked) or a lie: the body is also cut off as it
    // streams in.
    let body_limit = usize::try_from(limit + MULTIPART_OVERHEAD).unwrap_or(usize::MAX);
    let req = req.map(|b| {
        let paced = Body::from_stream(Paced::new(b.into_data_stream()));
        Body::new(http_body_util::Limited::new(paced, body_limit))
    });
    let mut multipart = Multipart::from_request(req, &state).await.map_err(|e| {
        Error::BadRequest(format!("the upload could not be read: {}", e.body_text()))
    })?;

    let mut up = Upload::default();
    let mut share = UploadShare::new();
    let mut checked: Option<ItemPath> = url_folder.clone();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit_mb))?
    {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "file" => {
                if up.file.is_some() {
                    return Err(Error::BadRequest(
                        "the upload has more than one file; upload one file at a time".into(),
                    ));
                }
                // Nothing of the file is read before the token and the folder are checked.
                if up.csrf.is_none() {
                    return Err(Error::CrossSite);
                }
                csrf::check_token(&state, &session.principal, up.csrf.as_deref())?;
                let folder = upload_folder(url_folder.as_ref(), up.folder.as_deref())?;
                if checked.as_ref() != Some(&folder) {
                    require_writable_folder(&session, &folder).await?;
                    checked = Some(folder);
                }
                let file_name = field.file_name().unwrap_or("").to_owned();
                let mut data = Vec::new();
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| multipart_error(e, limit_mb))?
                {
                    if (data.len() + chunk.len()) as u64 > limit {
                        tracing::info!(user = %session.principal.name.escape_debug(), limit_mb, "upload refused: over MaxUploadSizeMB");
                        return Err(Error::TooLarge(limit_mb));
                    }
                    if let Err(busy) = share.take(chunk.len() as u64, UPLOAD_MEMORY_BUDGET) {
                        tracing::warn!(user = %session.principal.name.escape_debug(), "upload refused: the upload memory budget is in use");
                        return Err(busy);
                    }
                    data.extend_from_slice(&chunk);
                }
                up.file = Some((file_name, data));
            }
            "csrf" | "folder" | "overwrite" => {
                let text = small_field(&mut field, &name, limit_mb).await?;
                match name.as_str() {
                    "csrf" => up.csrf = Some(text),
                    "folder" => up.folder = Some(text),
                    _ => up.overwrite = !text.is_empty(),
                }
            }
            _ => {
                // Unknown fields are read and dropped (bounded by the body limit).
                while field
                    .chunk()
                    .await
                    .map_err(|e| multipart_error(e, limit_mb))?
                    .is_some()
                {}
            }
        }
    }
    csrf::check_token(&state, &session.principal, up.csrf.as_deref())?;
    let folder = upload_folder(url_folder.as_ref(), up.folder.as_deref())?;
    let Some((file_name, data)) = up.file.filter(|(n, _)| !n.trim().is_empty()) else {
        return Err(Error::BadRequest(
            "no file was chosen; choose a file to upload".into(),
        ));
    };
    // Browsers may send a full client path ("C:\\Users\\me\\Sales.rdl"): keep the last part.
    let file_name = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(&file_name)
        .trim()
        .to_owned();
    let item_type = ItemType::for_upload(&file_name);
    let item_name = match item_type {
        // As the SSRS portal does: "Sales.rdl" becomes the report "Sales".
        ItemType::Report | ItemType::DataSource => strip_extension(&file_name),
        _ => file_name.as_str(),
    };
    let path = folder
        .join(item_name)
        .map_err(|e| Error::BadRequest(format!("the file name cannot be an item name: {e}")))?;
    if checked.as_ref() != Some(&folder) {
        require_writable_folder(&session, &folder).await?;
    }
    if up.overwrite && session.catalog.get_item(&path).await?.is_some() {
        session.require(&path, Permission::Write).await?;
    }
    let mime = (item_type == ItemType::Resource).then(|| guess_mime(&file_name));
    store_upload(
        &state,
        &session,
        Stored {
            path: &path,
            item_type,
            mime_type: mime,
            description: "",
            overwrite: up.overwrite,
            shown_name: &file_name,
        },
        data,
    )
    .await?;
    drop(share);
    Ok(Redirect::to(&browse_url(&ctx, &folder)).into_response())
}

/// What [`store_upload`] stores, besides the bytes.
pub(crate) struct Stored<'a> {
    pub path: &'a ItemPath,
    pub item_type: ItemType,
    pub mime_type: Option<&'a str>,
    pub description: &'a str,
    pub overwrite: bool,
    /// How the upload is named in errors (the file name, or the item path).
    pub shown_name: &'a str,
}

/// The one way uploaded content reaches the catalog (portal upload and REST API): a report
/// must pass the RDL check (on the blocking pool), then the item is stored and the caches
/// are told. Authorization (Write on the folder, and on the item it replaces) is the
/// caller's, before the body is read.
pub(crate) async fn store_upload(
    state: &AppState,
    session: &crate::auth::Session,
    what: Stored<'_>,
    data: Vec<u8>,
) -> Result<catalog::CatalogItem, Error> {
    let data = if what.item_type == ItemType::Report {
        // Linear and bounded, but megabytes of XML still take milliseconds: off the runtime.
        let (data, checked) = tokio::task::spawn_blocking(move || {
            let r = crate::validate_upload(ItemType::Report, &data);
            (data, r)
        })
        .await
        .map_err(|e| Error::Internal(format!("the RDL check panicked: {e}")))?;
        checked.map_err(|why| {
            Error::BadRequest(format!(
                "'{}' is not a valid report definition (RDL): {why}",
                what.shown_name
            ))
        })?;
        data
    } else if what.item_type == ItemType::DataSource {
        // Secrets sealed with the instance key before anything is stored; the clear
        // upload is dropped here.
        dataprov::rds::seal_for_storage(&data, &state.key()[..]).map_err(|e| match e {
            dataprov::DataError::StoredCredentials { .. } => Error::Internal(e.to_string()),
            e => Error::BadRequest(format!(
                "'{}' is not a valid shared data source (.rds): {e}",
                what.shown_name
            )),
        })?
    } else {
        data
    };
    let item = session
        .catalog
        .put_item(NewItem {
            path: what.path,
            item_type: what.item_type,
            content: &data,
            mime_type: what.mime_type,
            description: what.description,
            by: &session.principal.name,
            overwrite: what.overwrite,
        })
        .await?;
    drop(data);
    state.catalog_changed();
    tracing::info!(user = %session.principal.name, path = %item.path, kind = %item.item_type, size = item.size, "item uploaded");
    Ok(item)
}

/// A body stream that hands over one chunk per poll: after each chunk it answers
/// `Pending` once (and wakes itself at once). The multipart parser reads greedily while
/// its stream is ready, so without this a fast client would have the whole body buffered
/// before the handler could look at the fields and refuse it; with it, the parser holds
/// about one chunk beyond what the handler consumed.
struct Paced<S> {
    inner: S,
    just_yielded: bool,
}

impl<S> Paced<S> {
    fn new(inner: S) -> Self {
        Paced {
            inner,
            just_yielded: false,
        }
    }
}

impl<S: futures_util::Stream + Unpin> futures_util::Stream for Paced<S> {
    type Item = S::Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        if self.just_yielded {
            self.just_yielded = false;
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        let polled = std::pin::Pin::new(&mut self.inner).poll_next(cx);
        if let std::task::Poll::Ready(Some(_)) = &polled {
            self.just_yielded = true;
        }
        polled
    }
}

/// The folder an upload goes to: the URL's, the form's (they must agree when both are
/// given), else the root.
fn upload_folder(url: Option<&ItemPath>, form: Option<&str>) -> Result<ItemPath, Error> {
    let form = form.map(|f| form_path("folder", f)).transpose()?;
    match (url, form) {
        (Some(u), Some(f)) if *u != f => Err(Error::BadRequest(
            "the folder in the upload URL and the folder in the form differ; upload from the folder's page".into(),
        )),
        (Some(u), _) => Ok(u.clone()),
        (None, Some(f)) => Ok(f),
        (None, None) => Ok(ItemPath::root()),
    }
}

/// 404 when `folder` is missing or not a folder, 403 without Write on it.
pub(crate) async fn require_writable_folder(
    session: &crate::auth::Session,
    folder: &ItemPath,
) -> Result<(), Error> {
    match session.catalog.get_item(folder).await? {
        Some(i) if i.item_type == ItemType::Folder => {}
        _ => return Err(Error::NotFound(folder.to_string())),
    }
    session.require(folder, Permission::Write).await
}

/// A small text field, read chunk by chunk and refused past [`SMALL_FIELD_LIMIT`].
async fn small_field(
    field: &mut axum::extract::multipart::Field<'_>,
    name: &str,
    limit_mb: u32,
) -> Result<String, Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| multipart_error(e, limit_mb))?
    {
        if buf.len() + chunk.len() > SMALL_FIELD_LIMIT {
            return Err(Error::BadRequest(format!(
                "the form field '{name}' is longer than {SMALL_FIELD_LIMIT} bytes"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf)
        .map_err(|_| Error::BadRequest(format!("the form field '{name}' is not UTF-8 text")))
}

fn multipart_error(e: MultipartError, limit_mb: u32) -> Error {
    if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
        Error::TooLarge(limit_mb)
    } else {
        Error::BadRequest(format!("the upload could not be read: {}", e.body_text()))
    }
}

fn strip_extension(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    }
}

/// The MIME type stored for a resource, from its file name.
pub(crate) fn guess_mime(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "xml" | "xsd" | "xslt" => "application/xml",
        "htm" | "html" => "text/html",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// The Content-Type a download is served with: the stored type only when it cannot run
/// script in a browser; never `text/html`, SVG or XML for a resource.
pub(crate) fn download_type(item_type: ItemType, stored: Option<&str>) -> &'static str {
    const SAFE: [&str; 12] = [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "application/pdf",
        "text/plain",
        "text/csv",
        "application/json",
        "application/zip",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ];
    match item_type {
        ItemType::Report | ItemType::DataSource => "application/xml",
        _ => stored
            .and_then(|s| SAFE.iter().find(|t| t.eq_ignore_ascii_case(s)).copied())
            .unwrap_or("application/octet-stream"),
    }
}

/// `GET /download/{*path}`: the content, as an attachment.
pub(crate) async fn download(req: Request) -> Result<Response, Error> {
    let path: ItemPath = item_path_from_uri(req.uri().path(), "/download/")?;
    let (session, _ctx) = parts(&req)?;
    let item = session
        .catalog
        .get_item(&path)
        .await?
        .ok_or_else(|| Error::NotFound(path.to_string()))?;
    session.require(&path, Permission::Read).await?;
    if item.item_type == ItemType::Folder {
        return Err(Error::BadRequest(format!(
            "'{path}' is a folder; only reports, data sources and resources can be downloaded"
        )));
    }
    let file_name = match item.item_type {
        ItemType::Report => format!("{}.rdl", item.name),
        ItemType::DataSource => format!("{}.rds", item.name),
        _ => item.name.clone(),
    };
    let (body, size) = served_content(&session, item.clone()).await?;
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(download_type(item.item_type, item.mime_type.as_deref())),
    );
    h.insert(header::CONTENT_DISPOSITION, content_disposition(&file_name));
    // Even if a browser were to render it, nothing in it may run.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(resp)
}

/// The body `item`'s content is served with, and its length (portal downloads, the REST
/// API's `Content`): a data source's public definition
/// ([`dataprov::rds::public_definition`]: never its password or sealed credentials),
/// anything else streamed as stored.
pub(crate) async fn served_content(
    session: &crate::auth::Session,
    item: catalog::CatalogItem,
) -> Result<(Body, u64), Error> {
    if item.item_type == ItemType::DataSource {
        let bytes = session.catalog.get_content(&item.path).await?;
        let xml = dataprov::rds::public_definition(&bytes).map_err(|e| {
            Error::BadRequest(format!(
                "the data source '{}' cannot be shown: {e}",
                item.path
            ))
        })?;
        let len = xml.len() as u64;
        return Ok((Body::from(xml), len));
    }
    let size = u64::try_from(item.size).unwrap_or(0);
    Ok((content_stream(session.catalog.clone(), item, size), size))
}

/// Bytes read from the catalog per chunk of a download.
const DOWNLOAD_CHUNK: u32 = 64 * 1024;

/// The content of `item` as a body read [`DOWNLOAD_CHUNK`] bytes at a time, each chunk only
/// when the connection asks for the next one (HTTP/2 flow control, TCP back-pressure): a
/// download holds one chunk, whatever the size of the item and however slow the client.
/// If the item is replaced or deleted mid-way the body ends with an error, so the client
/// sees a truncated response (shorter than its Content-Length), never a mix of versions.
pub(crate) fn content_stream(
    catalog: catalog::SharedCatalog,
    item: catalog::CatalogItem,
    size: u64,
) -> Body {
    let stream = futures_util::stream::unfold(0u64, move |offset| {
        let catalog = catalog.clone();
        let item = item.clone();
        async move {
            if offset >= size {
                return None;
            }
            let outcome = catalog
                .read_content_range(&item, offset, DOWNLOAD_CHUNK)
                .await;
            Some(match outcome {
                Ok(Some(chunk)) if !chunk.is_empty() => {
                    let next = offset + chunk.len() as u64;
                    (Ok(bytes::Bytes::from(chunk)), next)
                }
                Ok(Some(_)) | Ok(None) => {
                    tracing::info!(path = %item.path, "download cut: the item changed while it was sent");
                    (
                        Err(std::io::Error::other(
                            "the item was replaced or deleted during the download",
                        )),
                        size,
                    )
                }
                Err(e) => {
                    tracing::error!(path = %item.path, error = %e, "download cut: the catalog failed");
                    (Err(std::io::Error::other(e.to_string())), size)
                }
            })
        }
    });
    Body::from_stream(stream)
}

/// `attachment; filename="ascii-fallback"; filename*=UTF-8''percent-encoded` (RFC 6266).
fn content_disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let value = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        crate::html::encode_component(name)
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_upload_may_use_its_limit_but_not_beside_others() {
        // Budgets far above what other tests of this process hold at once.
        let big = 1 << 40;
        let mut a = UploadShare::new();
        a.take(10, big).unwrap();
        let base = UPLOAD_BYTES.load(Ordering::Acquire);
        // Alone past the budget: allowed (base counts only `a` when no other test uploads).
        let mut b = UploadShare::new();
        let busy = b.take(100, base + 50);
        assert!(
            matches!(busy, Err(Error::UploadsBusy)),
            "a holds some: refused"
        );
        assert_eq!(b.held, 0);
        drop(a);
        drop(b);
        let mut c = UploadShare::new();
        let before = UPLOAD_BYTES.load(Ordering::Acquire);
        if before == 0 {
            c.take(1000, 10).unwrap();
            assert_eq!(UPLOAD_BYTES.load(Ordering::Acquire), 1000);
        }
        drop(c);
    }

    #[test]
    fn resources_never_download_as_html() {
        assert_eq!(
            download_type(ItemType::Resource, Some("text/html")),
            "application/octet-stream"
        );
        assert_eq!(
            download_type(ItemType::Resource, Some("image/svg+xml")),
            "application/octet-stream"
        );
        assert_eq!(
            download_type(ItemType::Resource, Some("image/png")),
            "image/png"
        );
        assert_eq!(
            download_type(ItemType::Resource, None),
            "application/octet-stream"
        );
        assert_eq!(download_type(ItemType::Report, None), "application/xml");
    }

    #[test]
    fn names_and_types_from_file_names() {
        assert_eq!(strip_extension("Sales.rdl"), "Sales");
        assert_eq!(strip_extension(".rdl"), ".rdl");
        assert_eq!(guess_mime("logo.PNG"), "image/png");
        assert_eq!(guess_mime("noext"), "application/octet-stream");
        let cd = content_disposition("Über \"q\".pdf");
        let cd = cd.to_str().unwrap();
        assert!(
            cd.starts_with(
                "attachment; filename=\"_ber _q_.pdf\"; filename*=UTF-8''%C3%9Cber%20%22q%22.pdf"
            ),
            "{cd}"
        );
    }
}
