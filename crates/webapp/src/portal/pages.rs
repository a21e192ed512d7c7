//! The portal's GET pages: home and folder views (`/`, `/browse/{*path}`) and the item
//! properties page (`/item/{*path}`).
//!
//! Reads the catalog through the request's [`Session`]; writes nothing. Forms on these
//! pages post to [`super::actions`], each with the user's CSRF token.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use catalog::{CatalogItem, ItemPath, ItemType, Permission, Role};
use httpsys::RequestContext;
use maud::html;

use super::layout::{self, Badge, SECTIONS};
use super::{base, browse_url, csrf, download_url, item_path_from_uri, item_url};
use crate::auth::Session;
use crate::html::{encode_component, human_size, short_date};
use crate::{AppState, Error};

/// The session and listener context of a gated request.
pub(crate) fn parts(req: &Request) -> Result<(Session, RequestContext), Error> {
    match (
        req.extensions().get::<Session>(),
        req.extensions().get::<RequestContext>(),
    ) {
        (Some(s), Some(c)) => Ok((s.clone(), c.clone())),
        _ => Err(Error::Internal(
            "portal handler reached without the gate".into(),
        )),
    }
}

/// The badge for the top bar: system roles, then the item roles held at `path`.
pub(crate) async fn badge(session: &Session, path: &ItemPath) -> Result<Badge, Error> {
    let mut roles: Vec<Role> = session.principal.system_roles.clone();
    for r in session.item_roles(path).await? {
        if !roles.contains(&r) {
            roles.push(r);
        }
    }
    Ok(Badge {
        name: session.principal.name.clone(),
        roles,
    })
}

/// The children of `path` that the user may read.
pub(crate) async fn readable_children(
    session: &Session,
    path: &ItemPath,
) -> Result<Vec<CatalogItem>, Error> {
    let children = session.catalog.list_children(path).await?;
    if session.principal.is_system_admin() {
        return Ok(children);
    }
    let mut out = Vec::with_capacity(children.len());
    for c in children {
        if session.can(&c.path, Permission::Read).await? {
            out.push(c);
        }
    }
    Ok(out)
}

/// `GET /`: the root folder.
pub(crate) async fn home(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let show_hidden = wants_hidden(req.uri().query());
    let (session, ctx) = parts(&req)?;
    folder_view(&state, &session, &ctx, ItemPath::root(), show_hidden).await
}

/// `GET /browse/{*path}`.
pub(crate) async fn browse(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let path = item_path_from_uri(req.uri().path(), "/browse/")?;
    let show_hidden = wants_hidden(req.uri().query());
    let (session, ctx) = parts(&req)?;
    folder_view(&state, &session, &ctx, path, show_hidden).await
}

fn wants_hidden(query: Option<&str>) -> bool {
    form_urlencoded::parse(query.unwrap_or("").as_bytes()).any(|(k, v)| k == "hidden" && v == "1")
}

async fn folder_view(
    state: &AppState,
    session: &Session,
    ctx: &RequestContext,
    path: ItemPath,
    show_hidden: bool,
) -> Result<Response, Error> {
    let item = session
        .catalog
        .get_item(&path)
        .await?
        .ok_or_else(|| Error::NotFound(path.to_string()))?;
    session.require(&path, Permission::Read).await?;
    if item.item_type != ItemType::Folder {
        return Ok(Redirect::to(&item_url(ctx, &path)).into_response());
    }
    let children = readable_children(session, &path).await?;
    let hidden_count = children.iter().filter(|c| c.hidden).count();
    let visible: Vec<&CatalogItem> = children
        .iter()
        .filter(|c| show_hidden || !c.hidden)
        .collect();
    let can_write = session.can(&path, Permission::Write).await?;
    let badge = badge(session, &path).await?;
    let token = csrf::token(state, &session.principal);
    let title = if path.is_root() { "Home" } else { path.name() };
    let here = browse_url(ctx, &path);
    let b = base(ctx);

    let content = html! {
        (layout::breadcrumbs(ctx, &path, false))
        div.titlebar {
            h1 { (title) }
            @if hidden_count > 0 {
                @if show_hidden {
                    a.toggle href=(here) { "Hide hidden items" }
                } @else {
                    a.toggle href={ (here) "?hidden=1" } { "Show " (hidden_count) " hidden" }
                }
            }
            a.toggle href=(item_url(ctx, &path)) { "Properties" }
        }
        @if can_write {
            div.actions {
                details.action {
                    summary { "New folder" }
                    form.panel method="post" action={ (b) "/folder" } {
                        input type="hidden" name=(csrf::FIELD) value=(token);
                        input type="hidden" name="parent" value=(path.as_str());
                        label { "Name" input type="text" name="name" required maxlength="260" autocomplete="off"; }
                        button type="submit" { "Create" }
                    }
                }
                details.action {
                    summary { "Upload" }
                    form.panel method="post" action={ (b) "/upload?folder=" (encode_component(path.as_str())) } enctype="multipart/form-data" {
                        input type="hidden" name=(csrf::FIELD) value=(token);
                        input type="hidden" name="folder" value=(path.as_str());
                        label { "File" input type="file" name="file" required; }
                        label.check { input type="checkbox" name="overwrite" value="1"; "Overwrite an item of the same name" }
                        p.hint { ".rdl becomes a report, .rds a data source, anything else a resource. Limit: " (state.max_upload_mb()) " MB." }
                        button type="submit" { "Upload" }
                    }
                }
            }
        }
        @if visible.is_empty() {
            p.empty { "This folder is empty." }
        }
        @for (kind, heading) in SECTIONS {
            @let items: Vec<&&CatalogItem> = visible.iter().filter(|c| c.item_type == kind).collect();
            @if !items.is_empty() {
                section.group {
                    h2 { (heading) span.count { (items.len()) } }
                    ul.tiles {
                        @for c in items {
                            li.tile.hidden[c.hidden] {
                                @let href = match kind { ItemType::Folder => browse_url(ctx, &c.path), ItemType::Report => super::viewer::viewer_url(ctx, &c.path), _ => item_url(ctx, &c.path) };
                                a.main href=(href) {
                                    (layout::icon(kind))
                                    span.name { (c.name) }
                                }
                                span.meta {
                                    (short_date(c.modified_at))
                                    @if kind != ItemType::Folder { " · " (human_size(c.size)) }
                                }
                                @if !c.description.is_empty() { span.desc { (c.description) } }
                                a.more href=(item_url(ctx, &c.path)) title="Properties" aria-label={ "Properties of " (c.name) } { "⋯" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(state, ctx, title, Some(&badge), content).into_response())
}

/// `GET /item/{*path}`: type, size, dates, description, hidden flag, download and Web
/// Service links, and (with Write) the properties and delete forms.
pub(crate) async fn item(State(state): State<AppState>, req: Request) -> Result<Response, Error> {
    let path = item_path_from_uri(req.uri().path(), "/item/")?;
    let (session, ctx) = parts(&req)?;
    let item = session
        .catalog
        .get_item(&path)
        .await?
        .ok_or_else(|| Error::NotFound(path.to_string()))?;
    session.require(&path, Permission::Read).await?;
    let can_write = session.can(&path, Permission::Write).await?;
    let badge = badge(&session, &path).await?;
    let token = csrf::token(&state, &session.principal);
    let b = base(&ctx);
    let title = if path.is_root() { "Home" } else { path.name() };
    let ws_link = {
        let mut q = String::new();
        for seg in path.segments() {
            q.push_str("%2f");
            q.push_str(&encode_component(seg).to_string());
        }
        if q.is_empty() {
            q.push_str("%2f");
        }
        format!("/{}?{q}", state.webservice_vdir())
    };

    let content = html! {
        (layout::breadcrumbs(&ctx, &path, true))
        div.titlebar {
            h1 { (layout::icon(item.item_type)) (title) }
            span.badge { (item.item_type.as_str()) }
        }
        div.links {
            @if item.item_type == ItemType::Folder {
                a.button href=(browse_url(&ctx, &path)) { "Open folder" }
            } @else {
                a.button href=(download_url(&ctx, &path)) { "Download" }
            }
            @if matches!(item.item_type, ItemType::Folder | ItemType::Report) {
                a.button.secondary href=(ws_link) { "Open in the Web Service" }
            }
        }
        dl.props {
            dt { "Type" } dd { (item.item_type.as_str()) }
            dt { "Path" } dd { code { (item.path.as_str()) } }
            @if item.item_type != ItemType::Folder {
                dt { "Size" } dd { (human_size(item.size)) " (" (item.size) " bytes)" }
            }
            @if let Some(m) = &item.mime_type { dt { "Content type" } dd { (m) } }
            dt { "Created" } dd { (short_date(item.created_at)) " by " (item.created_by) }
            dt { "Modified" } dd { (short_date(item.modified_at)) " by " (item.modified_by) }
            dt { "Description" } dd { @if item.description.is_empty() { span.muted { "None" } } @else { (item.description) } }
            dt { "Hidden" } dd { @if item.hidden { "Yes" } @else { "No" } }
        }
        @if can_write && !path.is_root() {
            section.edit {
                h2 { "Properties" }
                form.panel method="post" action={ (b) "/properties" } {
                    input type="hidden" name=(csrf::FIELD) value=(token);
                    input type="hidden" name="path" value=(path.as_str());
                    label { "Description" textarea name="description" rows="3" maxlength="4000" { (item.description) } }
                    label.check { input type="checkbox" name="hidden" value="1" checked[item.hidden]; "Hide in tile view" }
                    button type="submit" { "Apply" }
                }
                h2 { "Delete" }
                form.panel.danger method="post" action={ (b) "/delete" } {
                    input type="hidden" name=(csrf::FIELD) value=(token);
                    input type="hidden" name="path" value=(path.as_str());
                    p { @if item.item_type == ItemType::Folder { "Deletes this folder and everything in it." } @else { "Deletes this item." } }
                    button.danger type="submit" { "Delete " (title) }
                }
            }
        }
    };
    Ok(layout::page(&state, &ctx, title, Some(&badge), content).into_response())
}
