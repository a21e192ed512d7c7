//! The REST API (`/Reports/api/v2.0/...`), modelled on SSRS REST API v2.0
//! (`shared/contracts/ssrs-rest-api-v2.0.swagger.json`): JSON with the swagger's property
//! names, collections as `{"@odata.context": ..., "value": [...]}`, errors as OData errors
//! (rendered by [`crate::error`]). Read-only for now:
//!
//! - `GET Me`, `GET System`;
//! - `GET CatalogItems` (the root's children), `GET CatalogItems(Path='/x')`;
//! - `GET Folders(Path='/x')`, `GET Folders(Path='/x')/CatalogItems`.
//!
//! Same authentication and authorization as the pages; children the user cannot read are
//! left out. Items are addressed by path (`Path='...'`, quotes doubled inside); lookup by
//! Id is refused with a 400 that says to use the path.

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use catalog::{CatalogItem, ItemPath, ItemType, Permission};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;

use super::pages::{parts, readable_children};
use crate::auth::Session;
use crate::host::Authority;
use crate::{AppState, Error};

/// `GET /api/v2.0/{*rest}`.
pub(crate) async fn get(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let (session, ctx) = parts(&req)?;
    let raw = req.uri().path().strip_prefix("/api/v2.0/").unwrap_or("");
    let resource = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| Error::BadRequest("the API path is not valid UTF-8".into()))?;
    let api_base = format!("/{}/api/v2.0", ctx.vdir);
    let not_found = || Error::NotFound(format!("{api_base}/{resource}"));

    let json = match resource.as_ref() {
        "Me" => me(&state, &session, &api_base),
        "System" => system(&state, &ctx, req.extensions().get::<Authority>(), &api_base),
        "CatalogItems" => collection(&session, &ItemPath::root(), &api_base).await?,
        r => {
            let (entity, key, tail) = split_entity(r).ok_or_else(not_found)?;
            let path = parse_key(key)?;
            match (entity, tail) {
                ("CatalogItems", "") => single(&session, &path, None, &api_base).await?,
                ("Folders", "") => {
                    single(&session, &path, Some(ItemType::Folder), &api_base).await?
                }
                ("Folders", "/CatalogItems") => {
                    // Existence, type and permission first, as for a single item.
                    single(&session, &path, Some(ItemType::Folder), &api_base).await?;
                    collection(&session, &path, &api_base).await?
                }
                _ => return Err(not_found()),
            }
        }
    };
    Ok(Json(json).into_response())
}

/// `Entity(key)tail` → (entity, key, tail).
fn split_entity(r: &str) -> Option<(&str, &str, &str)> {
    let open = r.find('(')?;
    let close = r.rfind(')')?;
    (close > open).then(|| (&r[..open], &r[open + 1..close], &r[close + 1..]))
}

/// `Path='/a/b'` (quotes doubled inside, as OData writes them) → the path.
fn parse_key(key: &str) -> Result<ItemPath, Error> {
    let Some(value) = key.trim().strip_prefix("Path=") else {
        return Err(Error::BadRequest(format!(
            "items are addressed by path in this version: use (Path='/Folder/Item') instead of ({key})"
        )));
    };
    let inner = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .ok_or_else(|| {
            Error::BadRequest("the Path key must be quoted: (Path='/Folder/Item')".into())
        })?;
    ItemPath::parse(&inner.replace("''", "'"))
        .map_err(|e| Error::BadRequest(format!("invalid item path: {e}")))
}

async fn single(
    session: &Session,
    path: &ItemPath,
    want: Option<ItemType>,
    api_base: &str,
) -> Result<Value, Error> {
    let item = session
        .catalog
        .get_item(path)
        .await?
        .ok_or_else(|| Error::NotFound(path.to_string()))?;
    session.require(path, Permission::Read).await?;
    if let Some(t) = want
        && item.item_type != t
    {
        return Err(Error::BadRequest(format!(
            "'{path}' is a {}, not a {t}",
            item.item_type
        )));
    }
    let parent_id = match path.parent() {
        Some(p) => session.catalog.get_item(&p).await?.map(|i| i.id),
        None => None,
    };
    let mut v = item_json(&item, parent_id);
    let set = match want {
        Some(ItemType::Folder) => "Folders",
        _ => "CatalogItems",
    };
    v["@odata.context"] = json!(format!("{api_base}/$metadata#{set}/$entity"));
    Ok(v)
}

async fn collection(session: &Session, folder: &ItemPath, api_base: &str) -> Result<Value, Error> {
    let parent = session
        .catalog
        .get_item(folder)
        .await?
        .ok_or_else(|| Error::NotFound(folder.to_string()))?;
    session.require(folder, Permission::Read).await?;
    let children = readable_children(session, folder).await?;
    let value: Vec<Value> = children
        .iter()
        .map(|c| item_json(c, Some(parent.id)))
        .collect();
    Ok(json!({
        "@odata.context": format!("{api_base}/$metadata#CatalogItems"),
        "@odata.count": value.len(),
        "value": value,
    }))
}

fn item_json(item: &CatalogItem, parent_id: Option<uuid::Uuid>) -> Value {
    let date = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    json!({
        "@odata.type": format!("#Model.{}", item.item_type.as_str()),
        "Id": item.id,
        "Name": item.name,
        "Description": if item.description.is_empty() { Value::Null } else { json!(item.description) },
        "Path": item.path.as_str(),
        "Type": item.item_type.as_str(),
        "Hidden": item.hidden,
        "Size": item.size,
        "ModifiedBy": item.modified_by,
        "ModifiedDate": date(item.modified_at),
        "CreatedBy": item.created_by,
        "CreatedDate": date(item.created_at),
        "ParentFolderId": parent_id,
        "ContentType": item.mime_type,
        "Content": "",
        "IsFavorite": false,
    })
}

fn me(state: &AppState, session: &Session, api_base: &str) -> Value {
    // Users have no id in the catalog; a stable one is derived from the instance key and
    // the name, so that it is the same on every request and different per instance.
    let mut h = Sha256::new();
    h.update(b"reportd user id\0");
    h.update(state.key());
    h.update(session.principal.name.to_lowercase().as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    json!({
        "@odata.context": format!("{api_base}/$metadata#Model.User"),
        "Id": id,
        "Username": session.principal.name,
        "DisplayName": session.principal.name,
        "HasFavoriteItems": false,
        "MyReportsPath": Value::Null,
    })
}

/// `System`: absolute URLs are built from the validated authority the client named, port
/// included (HTTP/2 `:authority` or `Host`, see [`crate::host`]).
fn system(
    state: &AppState,
    ctx: &httpsys::RequestContext,
    authority: Option<&Authority>,
    api_base: &str,
) -> Value {
    let scheme = if ctx.secure { "https" } else { "http" };
    let authority = authority.map_or(ctx.host.as_str(), |a| a.text.as_str());
    let ws = state.webservice_vdir();
    json!({
        "@odata.context": format!("{api_base}/$metadata#Model.SystemInfo"),
        "ReportServerAbsoluteUrl": format!("{scheme}://{authority}/{ws}"),
        "ReportServerRelativeUrl": format!("/{ws}"),
        "WebPortalRelativeUrl": format!("/{}", ctx.vdir),
        "ProductName": "reportd",
        "ProductVersion": state.version(),
        "ProductType": "SqlServerReportingServices",
        "TimeZone": "UTC",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_keys_parse() {
        assert_eq!(
            split_entity("Folders(Path='/a')/CatalogItems"),
            Some(("Folders", "Path='/a'", "/CatalogItems"))
        );
        assert_eq!(parse_key("Path='/O''Brien'").unwrap().as_str(), "/O'Brien");
        assert!(
            parse_key("01234567-89ab-cdef-0123-456789abcdef")
                .unwrap_err()
                .to_string()
                .contains("Path=")
        );
        assert!(parse_key("Path='/../x'").is_err());
        assert!(parse_key("Path=/x").is_err());
    }
}
