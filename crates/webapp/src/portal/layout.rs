//! The portal's page frame: head, top bar (site name, signed-in user and roles), breadcrumbs,
//! footer; the icons; and error pages in the same look.
//!
//! Pure rendering: takes values, returns markup; no I/O, no catalog.

use catalog::{ItemPath, ItemType, Role};
use httpsys::RequestContext;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::AppState;
use crate::error::ErrorPage;

/// Who is signed in, as the top bar shows it: the name, and the system roles plus the item
/// roles held where the page is.
#[derive(Clone, Debug)]
pub(crate) struct Badge {
    pub name: String,
    pub roles: Vec<Role>,
}

/// A full page: `title` in `<title>` (with " · " and the site name, the `SiteName`
/// setting), the site name in the top bar, `content` inside `<main>`.
pub(crate) fn page(
    state: &AppState,
    ctx: &RequestContext,
    title: &str,
    badge: Option<&Badge>,
    content: Markup,
) -> Markup {
    let base = format!("/{}", ctx.vdir);
    let site = state.settings();
    let site = site.site_name.as_str();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content={ "reportd " (state.version()) };
                title { (title) " · " (site) }
                link rel="stylesheet" href={ (base) "/assets/portal.css?v=" (state.version()) };
                link rel="icon" type="image/svg+xml" href={ (base) "/assets/icon.svg?v=" (state.version()) };
            }
            body {
                header.topbar {
                    a.brand href={ (base) "/" } {
                        (PreEscaped(LOGO))
                        span.product { (site) }
                        span.app { "Web Portal" }
                    }
                    @if let Some(b) = badge {
                        div.who title="Signed in" {
                            span.avatar aria-hidden="true" { (initial(&b.name)) }
                            span.name { (b.name) }
                            span.roles {
                                @for r in &b.roles {
                                    span.role { (r.name()) }
                                }
                                @if b.roles.is_empty() {
                                    span.role.none { "no role here" }
                                }
                            }
                        }
                    }
                }
                @if badge.is_some_and(|b| super::manage::is_admin(&b.roles)) {
                    (super::manage::banner(&base, &super::manage::notices(state.data_dir(), state.source_warnings())))
                }
                main { (content) }
                footer.foot {
                    "reportd Version " (state.version())
                    " · "
                    a href={ "/" (state.webservice_vdir()) } { "Web Service" }
                    " · "
                    a href={ (base) "/api/v2.0/System" } { "REST API" }
                    @if badge.is_some_and(|b| b.roles.contains(&Role::SystemAdministrator)) {
                        " · "
                        a href={ (base) "/manage/users" } { "Users" }
                        " · "
                        a href={ (base) "/manage/status" } { "Configuration" }
                    }
                }
            }
        }
    }
}

/// "Home / Sales / 2024": every ancestor a link, the last one too when `link_last`.
pub(crate) fn breadcrumbs(ctx: &RequestContext, path: &ItemPath, link_last: bool) -> Markup {
    let mut trail: Vec<ItemPath> = Vec::new();
    let mut p = Some(path.clone());
    while let Some(cur) = p {
        p = cur.parent();
        trail.push(cur);
    }
    trail.reverse();
    let last = trail.len() - 1;
    html! {
        nav.crumbs aria-label="Breadcrumbs" {
            ol {
                @for (i, p) in trail.iter().enumerate() {
                    li {
                        @let label = if p.is_root() { "Home" } else { p.name() };
                        @if i < last || link_last {
                            a href=(super::browse_url(ctx, p)) { (label) }
                        } @else {
                            span aria-current="page" { (label) }
                        }
                    }
                }
            }
        }
    }
}

/// An error in the portal's look (no user badge: the error may precede sign-in).
pub(crate) fn error_page(state: &AppState, ctx: &RequestContext, err: &ErrorPage) -> Markup {
    let content = html! {
        section.error-card {
            p.status { (err.status.as_u16()) }
            h1 { (err.title) }
            p.message { (err.message) }
            p { a.button href={ "/" (ctx.vdir) "/" } { "Go to Home" } }
        }
    };
    page(state, ctx, err.title, None, content)
}

fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default()
}

/// The product mark (also the favicon).
const LOGO: &str = r##"<svg class="logo" viewBox="0 0 32 32" width="26" height="26" aria-hidden="true"><rect x="2" y="2" width="28" height="28" rx="7" fill="#0f766e"/><rect x="8" y="17" width="4" height="8" rx="1" fill="#fff"/><rect x="14" y="11" width="4" height="14" rx="1" fill="#99f6e4"/><rect x="20" y="7" width="4" height="18" rx="1" fill="#fff"/></svg>"##;

/// An icon for an item type.
pub(crate) fn icon(t: ItemType) -> Markup {
    let svg: &str = match t {
        ItemType::Folder => {
            r##"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M3 6.5A1.5 1.5 0 0 1 4.5 5h4.6l2 2h8.4A1.5 1.5 0 0 1 21 8.5v9A1.5 1.5 0 0 1 19.5 19h-15A1.5 1.5 0 0 1 3 17.5z" fill="#f59e0b"/></svg>"##
        }
        ItemType::Report => {
            r##"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><rect x="4" y="3" width="16" height="18" rx="2" fill="#0f766e"/><rect x="7" y="13" width="2.5" height="5" fill="#fff"/><rect x="10.8" y="9" width="2.5" height="9" fill="#99f6e4"/><rect x="14.5" y="11" width="2.5" height="7" fill="#fff"/></svg>"##
        }
        ItemType::DataSource => {
            r##"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><ellipse cx="12" cy="6" rx="7" ry="3" fill="#6366f1"/><path d="M5 6v12c0 1.7 3.1 3 7 3s7-1.3 7-3V6c0 1.7-3.1 3-7 3S5 7.7 5 6z" fill="#818cf8"/></svg>"##
        }
        ItemType::Resource => {
            r##"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M6 2h8l5 5v13a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2z" fill="#64748b"/><path d="M14 2v5h5" fill="#cbd5e1"/></svg>"##
        }
    };
    PreEscaped(svg.to_owned())
}

/// Plural section titles of a folder view, in display order.
pub(crate) const SECTIONS: [(ItemType, &str); 4] = [
    (ItemType::Folder, "Folders"),
    (ItemType::Report, "Reports"),
    (ItemType::DataSource, "Data sources"),
    (ItemType::Resource, "Resources"),
];
