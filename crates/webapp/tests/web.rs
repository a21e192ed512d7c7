//! Both applications driven in-process against a real data dir and SQLite catalog.

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request as AxumRequest;
use axum::middleware::Next;
use catalog::{ItemPath, ItemType};
use common::*;
use http::{Request, StatusCode};
use httpsys::{Application, RequestContext};
use webapp::standalone;

// ---------------------------------------------------------------- authentication

#[tokio::test]
async fn basic_auth_is_required_on_both_apps() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    for uri in ["/ReportServer", "/Reports/", "/Reports/api/v2.0/Me"] {
        let r = get(&app, uri, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(
            r.header("www-authenticate").starts_with("Basic"),
            "{uri}: {:?}",
            r.headers
        );
        let r = get(&app, uri, Some((ADMIN.0, "wrong-password"))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri} wrong password");
        assert!(r.header("www-authenticate").starts_with("Basic"));
        let r = get(&app, uri, Some(("ghost", "whatever-password"))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri} unknown user");
    }
    let r = get(&app, "/ReportServer", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    // API errors are OData JSON.
    let r = get(&app, "/Reports/api/v2.0/Me", None).await;
    assert!(
        r.header("content-type").starts_with("application/json"),
        "{:?}",
        r.headers
    );
    assert!(r.body.contains("\"error\""), "{}", r.body);
}

#[tokio::test]
async fn user_without_a_role_is_forbidden() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let r = get(&app, "/ReportServer", Some(NOBODY)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("nobody"), "{}", r.body);
    let r = get(&app, "/Reports/", Some(NOBODY)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Access denied"), "portal look: {}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_first_requests_verifies_the_password_once() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let burst = (0..16).map(|_| {
        let app = app.clone();
        tokio::spawn(async move { get(&app, "/ReportServer", Some(BROWSER)).await.status })
    });
    for h in burst.collect::<Vec<_>>() {
        assert_eq!(h.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(
        e.state.verifications(),
        1,
        "16 concurrent sign-ins share one KDF run"
    );
    // Wrong passwords are verified every time (and so throttled, one at a time per user).
    for _ in 0..2 {
        assert_eq!(
            get(&app, "/ReportServer", Some((BROWSER.0, "wrong-password-1")))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(e.state.verifications(), 3);
}

#[tokio::test]
async fn verified_credentials_are_cached_and_invalidated_by_catalog_changes() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    assert_eq!(e.state.cached_credentials(), 0);
    let t0 = Instant::now();
    assert_eq!(
        get(&app, "/ReportServer", Some(BROWSER)).await.status,
        StatusCode::OK
    );
    let first = t0.elapsed();
    assert_eq!(
        e.state.cached_credentials(),
        1,
        "a verified credential is cached"
    );

    // The fastest of five cached requests (robust against a busy machine) costs less
    // than the first one, which ran the KDF.
    let mut fastest = std::time::Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(
            get(&app, "/ReportServer", Some(BROWSER)).await.status,
            StatusCode::OK
        );
        fastest = fastest.min(t.elapsed());
    }
    assert!(
        fastest < first,
        "a cached request ({fastest:?}) costs less than one with the KDF ({first:?})"
    );
    assert_eq!(e.state.cached_credentials(), 1);

    // A wrong password is never a hit, and failures are not cached.
    assert_eq!(
        get(&app, "/ReportServer", Some((BROWSER.0, "nope-nope-nope")))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(e.state.cached_credentials(), 1);

    // Changing the password changes the generation. Made by another process without telling
    // the server, it shows within GENERATION_TTL (reportctl tells the server, which then
    // calls catalog_changed: at once).
    let c = e.catalog.as_ref().unwrap();
    c.set_password_hash(
        BROWSER.0,
        &catalog::password::hash("bob-new-password").unwrap(),
    )
    .await
    .unwrap();
    tokio::time::sleep(webapp::GENERATION_TTL + std::time::Duration::from_millis(50)).await;
    assert_eq!(
        get(&app, "/ReportServer", Some(BROWSER)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&app, "/ReportServer", Some((BROWSER.0, "bob-new-password")))
            .await
            .status,
        StatusCode::OK
    );
    // Removing the user too; told by the one who made the change, the server forgets at once.
    c.delete_user(BROWSER.0).await.unwrap();
    e.state.catalog_changed();
    assert_eq!(
        get(&app, "/ReportServer", Some((BROWSER.0, "bob-new-password")))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

// ---------------------------------------------------------------- database lifecycle

#[tokio::test]
async fn before_the_database_exists_503_then_served_without_restart() {
    let e = env(false).await;
    let app = standalone(e.state.clone());
    for uri in ["/ReportServer", "/Reports/"] {
        let r = get(&app, uri, Some(ADMIN)).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert!(
            r.body.contains("reportctl database create"),
            "{uri}: {}",
            r.body
        );
    }
    // What `reportctl database create` does, while the app runs.
    create_catalog(e.dir.path()).await;
    write_config(&e.dd, Some("sqlite:catalog.db"), 64, 0);
    let r = get(&app, "/ReportServer", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Sales"));
    let r = get(&app, "/Reports/", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn reload_picks_up_settings() {
    let e = env(true).await;
    assert_eq!(e.state.settings().max_upload_size_mb, 64);
    write_config(&e.dd, Some("sqlite:catalog.db"), 3, 0);
    e.state.reload().await.unwrap();
    assert_eq!(e.state.settings().max_upload_size_mb, 3);
}

// ---------------------------------------------------------------- web service

#[tokio::test]
async fn folder_page_has_the_ssrs_shape() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let r = get(&app, "/ReportServer", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "text/html; charset=utf-8");
    let b = &r.body;
    assert!(
        b.contains("<title>reports.test/ReportServer - /</title>"),
        "{b}"
    );
    assert!(b.contains("<h1>reports.test/ReportServer - /</h1>"), "{b}");
    assert!(
        b.contains("<meta name=\"Generator\" content=\"reportd 9.9.9-test\">"),
        "{b}"
    );
    assert!(b.contains("<pre>") && b.contains("</pre>"), "{b}");
    assert!(
        b.contains(
            "&lt;dir&gt; <a href=\"/ReportServer?%2fSales&amp;rs:Command=ListChildren\">Sales</a>"
        ),
        "{b}"
    );
    assert!(
        b.contains("<a href=\"/ReportServer?%2fOverview&amp;rs:Command=Render\">Overview</a>"),
        "{b}"
    );
    assert!(b.contains("reportd Version 9.9.9-test"), "{b}");
    assert!(
        !b.contains("[To Parent Directory]"),
        "no parent link at the root"
    );
    // The SSRS date shape: "Tuesday, November 24, 2026 6:12 PM".
    let date_like = b.lines().any(|l| {
        l.contains(", ") && (l.contains(" AM ") || l.contains(" PM ")) && l.contains("day, ")
    });
    assert!(date_like, "{b}");
    // Folders first, then reports (catalog order).
    assert!(b.find(">Sales<").unwrap() < b.find(">Overview<").unwrap());
}

#[tokio::test]
async fn list_children_of_a_subfolder_in_every_query_form() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    for uri in [
        "/ReportServer?/Sales",
        "/ReportServer?%2fSales&rs:Command=ListChildren",
        "/ReportServer?%2FSales&rs:command=listchildren",
        "/reportserver/?/sales",
    ] {
        let r = get(&app, uri, Some(ADMIN)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        assert!(
            r.body.contains("ReportServer - /Sales</h1>"),
            "{uri}: {}",
            r.body
        );
        assert!(
            r.body
                .contains("?%2fSales%2fQuarterly&amp;rs:Command=Render\">Quarterly</a>"),
            "{}",
            r.body
        );
        assert!(r.body.contains("<a href=\"/ReportServer?%2f&amp;rs:Command=ListChildren\">[To Parent Directory]</a>"), "{}", r.body);
    }
}

#[tokio::test]
async fn names_with_spaces_round_trip_through_links() {
    let e = env(true).await;
    let c = e.catalog.as_ref().unwrap();
    c.create_folder(&ItemPath::parse("/Sales Data & More").unwrap(), "admin")
        .await
        .unwrap();
    put(
        c,
        "/Sales Data & More/Q1+Q2",
        ItemType::Report,
        MINIMAL_RDL.as_bytes(),
    )
    .await;
    let app = standalone(e.state.clone());
    let root = get(&app, "/ReportServer", Some(ADMIN)).await;
    let href = "/ReportServer?%2fSales%20Data%20%26%20More&amp;rs:Command=ListChildren";
    assert!(root.body.contains(href), "{}", root.body);
    let r = get(&app, &href.replace("&amp;", "&"), Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("- /Sales Data &amp; More</h1>"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("%2fQ1%2BQ2&amp;rs:Command=Render\">Q1+Q2</a>"),
        "{}",
        r.body
    );
    // '+' as a space is accepted too.
    let r = get(&app, "/ReportServer?/Sales+Data+%26+More", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_path_is_a_404_naming_it() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let r = get(&app, "/ReportServer?/No%20Such/Thing", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("/No Such/Thing"), "{}", r.body);
    let r = get(&app, "/Reports/browse/No%20Such", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("/No Such"), "{}", r.body);
}

#[tokio::test]
async fn traversal_is_refused_and_never_reaches_the_file_system() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    for uri in [
        "/ReportServer?/../../etc/passwd",
        "/ReportServer?%2f..%2f..%2fetc%2fpasswd&rs:Command=ListChildren",
        "/ReportServer?/Sales/..%2f..%2fcatalog.db",
    ] {
        let r = get(&app, uri, Some(ADMIN)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.body);
        assert!(r.body.contains("Invalid item path"), "{}", r.body);
        assert!(!r.body.contains("root:"), "{}", r.body);
    }
    let r = get(
        &app,
        "/Reports/download/..%2F..%2Fetc%2Fpasswd",
        Some(ADMIN),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = get(&app, "/ReportServer/../../etc/passwd", Some(ADMIN)).await;
    assert!(
        r.status == StatusCode::NOT_FOUND || r.status == StatusCode::BAD_REQUEST,
        "{}",
        r.status
    );
}

#[tokio::test]
async fn render_after_checks_and_unknown_commands_400() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let r = get(&app, "/ReportServer?/Overview", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.starts_with("<!DOCTYPE html>"), "{}", r.body);
    let r = get(
        &app,
        "/ReportServer?/Missing&rs:Command=Render",
        Some(ADMIN),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = get(&app, "/ReportServer?/Overview&rs:Command=Render", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = get(
        &app,
        "/ReportServer?/Sales&rs:Command=GetResourceContents",
        Some(ADMIN),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("folder"), "{}", r.body);
    let r = get(
        &app,
        "/ReportServer?/Sales&rs:Command=GetComponentDefinition",
        Some(ADMIN),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("GetComponentDefinition"), "{}", r.body);
}

#[tokio::test]
async fn listings_omit_items_the_user_cannot_read() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let admin = get(&app, "/ReportServer", Some(ADMIN)).await;
    assert!(admin.body.contains(">Secret</a>"));
    let bob = get(&app, "/ReportServer", Some(BROWSER)).await;
    assert_eq!(bob.status, StatusCode::OK);
    assert!(
        bob.body.contains(">Sales</a>") && !bob.body.contains("Secret"),
        "{}",
        bob.body
    );
    assert_eq!(
        get(&app, "/ReportServer?/Secret", Some(BROWSER))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let portal = get(&app, "/Reports/", Some(BROWSER)).await;
    assert!(portal.body.contains("Sales") && !portal.body.contains("Secret"));
    let api = get(&app, "/Reports/api/v2.0/CatalogItems", Some(BROWSER)).await;
    assert!(!api.body.contains("Secret"), "{}", api.body);
}

// ---------------------------------------------------------------- SecureConnectionLevel

/// The Web Service or portal as the listener would run it: a layer inserting the context.
fn behind_listener(
    app: axum::Router,
    application: Application,
    secure: bool,
    https_base: Option<&str>,
) -> axum::Router {
    let https_base = https_base.map(str::to_owned);
    app.layer(axum::middleware::from_fn(
        move |mut req: AxumRequest, next: Next| {
            let ctx = RequestContext {
                app: application,
                vdir: application.default_vdir().into(),
                secure,
                host: "reports.test".into(),
                peer: SocketAddr::from(([127, 0, 0, 1], 50000)),
                local: SocketAddr::from(([127, 0, 0, 1], 8080)),
                https_base: https_base.clone(),
            };
            req.extensions_mut().insert(ctx);
            next.run(req)
        },
    ))
}

#[tokio::test]
async fn secure_connection_level_redirects_or_refuses_credentials() {
    let e = env_with(true, 64, 1).await;
    let ws = |secure, base| {
        behind_listener(
            webapp::webservice(e.state.clone()),
            Application::WebService,
            secure,
            base,
        )
    };

    // http with an https reservation: redirected before credentials are looked at.
    let app = ws(false, Some("https://reports.test:8443/ReportServer"));
    let r = get(&app, "/?%2fSales&rs:Command=ListChildren", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        r.header("location"),
        "https://reports.test:8443/ReportServer?%2fSales&rs:Command=ListChildren"
    );
    let post = Request::post("/x").body(Body::empty()).unwrap();
    let r = send(&app, post).await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        r.header("location"),
        "https://reports.test:8443/ReportServer/x"
    );

    // http without one: credentials refused, and the page names the fix.
    let app = ws(false, None);
    let r = get(&app, "/", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("only accepted over https"), "{}", r.body);
    let r = get(&app, "/", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("reportctl webservice https"), "{}", r.body);

    // https: served.
    let app = ws(true, None);
    assert_eq!(get(&app, "/", Some(ADMIN)).await.status, StatusCode::OK);

    // The portal follows the same rule.
    let portal = behind_listener(
        webapp::portal(e.state.clone()),
        Application::Portal,
        false,
        Some("https://reports.test/Reports"),
    );
    let r = get(&portal, "/browse/Sales", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        r.header("location"),
        "https://reports.test/Reports/browse/Sales"
    );

    // At level 0 plain http works.
    write_config(&e.dd, Some("sqlite:catalog.db"), 64, 0);
    e.state.reload().await.unwrap();
    assert_eq!(
        get(&ws(false, None), "/", Some(ADMIN)).await.status,
        StatusCode::OK
    );
}

// ---------------------------------------------------------------- portal

#[tokio::test]
async fn portal_home_browse_item_and_breadcrumbs() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    for uri in ["/Reports", "/Reports/"] {
        let r = get(&app, uri, Some(BROWSER)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert_eq!(r.header("cache-control"), "no-store");
        assert!(
            r.body.contains("href=\"/Reports/browse/Sales\""),
            "{}",
            r.body
        );
        assert!(
            r.body.contains("href=\"/Reports/item/Overview\""),
            "{}",
            r.body
        );
        assert!(
            r.body.contains(">bob<") && r.body.contains("Browser"),
            "user and role shown"
        );
        assert!(
            !r.body.contains("action=\"/Reports/upload\""),
            "a Browser gets no upload form"
        );
        assert!(
            r.body.contains("/Reports/assets/portal.css"),
            "embedded stylesheet linked"
        );
    }
    let r = get(&app, "/Reports/browse/Sales", Some(BROWSER)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("aria-label=\"Breadcrumbs\""));
    assert!(
        r.body.contains("<a href=\"/Reports/\">Home</a>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("Quarterly"));
    let r = get(&app, "/Reports/item/Sales/Quarterly", Some(BROWSER)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Report") && r.body.contains("/Sales/Quarterly"));
    assert!(
        r.body
            .contains("href=\"/ReportServer?%2fSales%2fQuarterly\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("/Reports/download/Sales/Quarterly"));

    let r = get(&app, "/Reports/assets/portal.css", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").starts_with("text/css"));
    assert!(r.header("cache-control").contains("max-age"));
    assert_eq!(
        get(&app, "/Reports/assets/../../etc/passwd", Some(ADMIN))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/Reports/assets/nope.js", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/Reports/nothing-here", Some(ADMIN)).await.status,
        StatusCode::NOT_FOUND
    );
    let r = get(&app, "/Reports/upload", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.body.contains("Method not allowed"), "{}", r.body);
}

#[tokio::test]
async fn upload_makes_the_right_item_types() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let page = get(&app, "/Reports/browse/Sales", Some(PUBLISHER)).await;
    assert!(
        page.body
            .contains("action=\"/Reports/upload?folder=%2FSales\""),
        "a Publisher gets the upload form"
    );
    let token = csrf_in(&page.body);

    let rdl = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples/rdl/Invoice.rdl"
    ))
    .unwrap_or_else(|_| MINIMAL_RDL.as_bytes().to_vec());
    for (file, data, path, kind) in [
        (
            "Invoice.rdl",
            rdl.as_slice(),
            "/Sales/Invoice",
            ItemType::Report,
        ),
        (
            "Warehouse.rds",
            // a valid definition without secrets is stored as uploaded
            b"<DataSourceDefinition><Extension>SQLITE</Extension></DataSourceDefinition>"
                .as_slice(),
            "/Sales/Warehouse",
            ItemType::DataSource,
        ),
        (
            "logo.png",
            b"\x89PNG\r\n\x1a\nfake".as_slice(),
            "/Sales/logo.png",
            ItemType::Resource,
        ),
        (
            "notes.html",
            b"<script>alert(1)</script>".as_slice(),
            "/Sales/notes.html",
            ItemType::Resource,
        ),
    ] {
        let r = upload(&app, PUBLISHER, &token, "/Sales", file, data, false).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{file}: {}", r.body);
        assert_eq!(r.header("location"), "/Reports/browse/Sales");
        let item = e
            .catalog
            .as_ref()
            .unwrap()
            .get_item(&ItemPath::parse(path).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(item.item_type, kind, "{file}");
        assert_eq!(item.size as usize, data.len());
    }
    // Download: attachment, and a resource never comes back as HTML.
    let r = get(&app, "/Reports/download/Sales/notes.html", Some(BROWSER)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/octet-stream");
    assert!(
        r.header("content-disposition").starts_with("attachment;"),
        "{:?}",
        r.headers
    );
    assert_eq!(r.body, "<script>alert(1)</script>");
    let r = get(&app, "/Reports/download/Sales/Invoice", Some(BROWSER)).await;
    assert!(r.header("content-disposition").contains("Invoice.rdl"));

    // Same name again: 409 without overwrite, replaced with it.
    let r = upload(
        &app, PUBLISHER, &token, "/Sales", "logo.png", b"other", false,
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = upload(
        &app, PUBLISHER, &token, "/Sales", "logo.png", b"other", true,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The new items show in both applications.
    let ws = get(&app, "/ReportServer?/Sales", Some(BROWSER)).await;
    assert!(ws.body.contains(">Invoice</a>"), "{}", ws.body);
    let api = get(
        &app,
        "/Reports/api/v2.0/Folders(Path='/Sales')/CatalogItems",
        Some(BROWSER),
    )
    .await;
    assert!(api.body.contains("\"Type\":\"DataSource\""), "{}", api.body);
}

#[tokio::test]
async fn malformed_rdl_is_refused_with_the_reason() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let token = csrf_in(&get(&app, "/Reports/", Some(ADMIN)).await.body);
    let r = upload(
        &app,
        ADMIN,
        &token,
        "/",
        "Broken.rdl",
        b"<Report><Body></Report>",
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("not well-formed XML"), "{}", r.body);
    let r = upload(
        &app,
        ADMIN,
        &token,
        "/",
        "Page.rdl",
        b"<html><body/></html>",
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("not &lt;Report&gt;"), "{}", r.body);
    let xxe = b"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Report>&x;</Report>";
    let r = upload(&app, ADMIN, &token, "/", "Xxe.rdl", xxe, false).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("DOCTYPE"), "{}", r.body);
    assert!(
        e.catalog
            .as_ref()
            .unwrap()
            .get_item(&ItemPath::parse("/Xxe").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn oversized_upload_is_413_naming_the_setting() {
    let e = env_with(true, 1, 0).await;
    let app = standalone(e.state.clone());
    let token = csrf_in(&get(&app, "/Reports/", Some(ADMIN)).await.body);
    let big = vec![b'x'; 2 * 1024 * 1024];
    let r = upload(&app, ADMIN, &token, "/", "big.bin", &big, false).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(
        r.body.contains("1 MB") && r.body.contains("reportctl config set MaxUploadSizeMB"),
        "{}",
        r.body
    );
    // With a declared Content-Length over the limit, refused before the body is read.
    let (ct, body) = multipart(
        &[("csrf", &token), ("folder", "/")],
        Some(("big.bin", &big)),
    );
    let req = Request::post("/Reports/upload")
        .header("authorization", basic(ADMIN))
        .header("content-type", ct)
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap();
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    // Just under the limit is fine.
    let ok = vec![b'y'; 1024 * 1024 - 10];
    let r = upload(&app, ADMIN, &token, "/", "fits.bin", &ok, false).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        e.catalog
            .as_ref()
            .unwrap()
            .get_item(&ItemPath::parse("/big.bin").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn browser_can_read_but_not_change() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let page = get(&app, "/Reports/item/Overview", Some(BROWSER)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("action=\"/Reports/delete\""),
        "no delete form for a Browser"
    );
    // The token of the user's own (any) page, taken from a page an admin sees for bob's name:
    // a Browser has no forms, so compute it through a Publisher-less route: the admin's
    // token is not bob's, and must be refused as well.
    let admin_token = csrf_in(&get(&app, "/Reports/", Some(ADMIN)).await.body);
    let r = upload(&app, BROWSER, &admin_token, "/", "x.txt", b"x", false).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "another user's token: {}",
        r.body
    );
    // With bob's own token (as a page would carry it), the role refuses.
    let bob_token = token_of(&e, BROWSER.0);
    let r = upload(&app, BROWSER, &bob_token, "/", "x.txt", b"x", false).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("insufficient"), "{}", r.body);
    let r = post_form(
        &app,
        "/Reports/folder",
        BROWSER,
        &[("csrf", &bob_token), ("parent", "/"), ("name", "New")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post_form(
        &app,
        "/Reports/delete",
        BROWSER,
        &[("csrf", &bob_token), ("path", "/Overview")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        e.catalog
            .as_ref()
            .unwrap()
            .get_item(&ItemPath::parse("/Overview").unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

/// The CSRF token a page would give `user` now: tokens depend only on the instance key,
/// the user name and the 4-hour window (`portal::csrf`).
fn token_of(e: &Env, user: &str) -> String {
    token_in_window(e, user, 0)
}

/// The token of `user` for the window `back` windows before the current one.
fn token_in_window(e: &Env, user: &str, back: u64) -> String {
    use hmac::{Hmac, Mac};
    // The CSRF key derives from the encryption key (here the instance key).
    let key = datadir::sealed::subkey(&e.dd.instance_key().unwrap()[..], "reportd csrf");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let window = now / (4 * 3600) - back;
    let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key[..]).unwrap();
    m.update(b"reportd csrf v2\0");
    m.update(user.to_lowercase().as_bytes());
    m.update(b"\0");
    m.update(&window.to_be_bytes());
    hex::encode(m.finalize().into_bytes())
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_or_from_another_site_are_refused() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let token = csrf_in(&get(&app, "/Reports/", Some(ADMIN)).await.body);
    assert_eq!(token, token_of(&e, ADMIN.0));
    let r = post_form(
        &app,
        "/Reports/folder",
        ADMIN,
        &[("parent", "/"), ("name", "A")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "missing token");
    assert!(r.body.contains("security token"), "{}", r.body);
    let r = post_form(
        &app,
        "/Reports/folder",
        ADMIN,
        &[("csrf", "00ff"), ("parent", "/"), ("name", "A")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "wrong token");
    let r = upload(&app, ADMIN, "deadbeef", "/", "x.txt", b"x", false).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "wrong token on upload");
    // Right token, but the browser says the form came from another site.
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("csrf", token.as_str()), ("parent", "/"), ("name", "A")])
        .finish();
    for (h, v) in [
        ("origin", "http://evil.test"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let req = Request::post("/Reports/folder")
            .header("host", "reports.test:8080")
            .header("authorization", basic(ADMIN))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(h, v)
            .body(Body::from(body.clone()))
            .unwrap();
        assert_eq!(
            send(&app, req).await.status,
            StatusCode::FORBIDDEN,
            "{h}: {v}"
        );
    }
    assert!(
        e.catalog
            .as_ref()
            .unwrap()
            .get_item(&ItemPath::parse("/A").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    // Same origin and the right token: created.
    let req = Request::post("/Reports/folder")
        .header("host", "reports.test:8080")
        .header("authorization", basic(ADMIN))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "http://reports.test:8080")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .unwrap();
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        e.catalog
            .as_ref()
            .unwrap()
            .get_item(&ItemPath::parse("/A").unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn create_folder_properties_and_delete() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let token = csrf_in(
        &get(&app, "/Reports/browse/Sales", Some(PUBLISHER))
            .await
            .body,
    );
    let r = post_form(
        &app,
        "/Reports/folder",
        PUBLISHER,
        &[
            ("csrf", &token),
            ("parent", "/Sales"),
            ("name", "2026 Plans"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/Reports/browse/Sales");
    let r = get(&app, "/Reports/browse/Sales/2026%20Plans", Some(PUBLISHER)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("This folder is empty."));
    let r = post_form(
        &app,
        "/Reports/folder",
        PUBLISHER,
        &[("csrf", &token), ("parent", "/Sales"), ("name", "..")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post_form(
        &app,
        "/Reports/folder",
        PUBLISHER,
        &[
            ("csrf", &token),
            ("parent", "/Sales"),
            ("name", "2026 plans"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    let r = post_form(
        &app,
        "/Reports/properties",
        PUBLISHER,
        &[
            ("csrf", &token),
            ("path", "/Sales/Quarterly"),
            ("description", "Numbers <b>per</b> quarter"),
            ("hidden", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let item = get(&app, "/Reports/item/Sales/Quarterly", Some(PUBLISHER)).await;
    assert!(
        item.body.contains("Numbers &lt;b&gt;per&lt;/b&gt; quarter"),
        "escaped: {}",
        item.body
    );
    let folder = get(&app, "/Reports/browse/Sales", Some(PUBLISHER)).await;
    assert!(folder.body.contains("Show 1 hidden"), "{}", folder.body);
    let folder = get(&app, "/Reports/browse/Sales?hidden=1", Some(PUBLISHER)).await;
    assert!(folder.body.contains("Quarterly"));

    let r = post_form(
        &app,
        "/Reports/delete",
        PUBLISHER,
        &[("csrf", &token), ("path", "/Sales")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/Reports/");
    assert_eq!(
        get(&app, "/Reports/browse/Sales", Some(PUBLISHER))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = post_form(
        &app,
        "/Reports/delete",
        ADMIN,
        &[("csrf", &token_of(&e, ADMIN.0)), ("path", "/")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------- REST API

#[tokio::test]
async fn rest_api_me_system_and_catalog_items() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let json = |r: Resp| -> serde_json::Value {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.header("content-type").starts_with("application/json"));
        serde_json::from_str(&r.body).unwrap()
    };
    let me = json(get(&app, "/Reports/api/v2.0/Me", Some(BROWSER)).await);
    assert_eq!(me["Username"], "bob");
    assert!(me["Id"].as_str().unwrap().len() == 36);
    let sys = json(get(&app, "/Reports/api/v2.0/System", Some(BROWSER)).await);
    assert_eq!(sys["ProductVersion"], VERSION);
    assert_eq!(sys["ReportServerRelativeUrl"], "/ReportServer");
    assert_eq!(
        sys["ReportServerAbsoluteUrl"],
        "http://reports.test:8080/ReportServer"
    );

    let root = json(get(&app, "/Reports/api/v2.0/CatalogItems", Some(ADMIN)).await);
    assert!(
        root["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#CatalogItems")
    );
    let names: Vec<&str> = root["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Name"].as_str().unwrap())
        .collect();
    // The whole catalog, by path (as SSRS lists CatalogItems).
    assert_eq!(names, ["Overview", "Sales", "Quarterly", "Secret"]);
    let sales = &root["value"][1];
    for key in [
        "Id",
        "Name",
        "Path",
        "Type",
        "Description",
        "Hidden",
        "Size",
        "ModifiedBy",
        "ModifiedDate",
        "CreatedBy",
        "CreatedDate",
        "ParentFolderId",
    ] {
        assert!(sales.get(key).is_some(), "{key} missing in {sales}");
    }
    assert_eq!(sales["Type"], "Folder");
    assert_eq!(sales["Path"], "/Sales");

    let f = json(
        get(
            &app,
            "/Reports/api/v2.0/Folders(Path='/Sales')",
            Some(BROWSER),
        )
        .await,
    );
    assert_eq!(f["Name"], "Sales");
    let kids = json(
        get(
            &app,
            "/Reports/api/v2.0/Folders(Path='/Sales')/CatalogItems",
            Some(BROWSER),
        )
        .await,
    );
    assert_eq!(kids["value"][0]["Path"], "/Sales/Quarterly");
    assert_eq!(kids["value"][0]["ParentFolderId"], f["Id"]);
    let rep = json(
        get(
            &app,
            "/Reports/api/v2.0/CatalogItems(Path='/Sales/Quarterly')",
            Some(BROWSER),
        )
        .await,
    );
    assert_eq!(rep["Type"], "Report");
    assert_eq!(rep["ParentFolderId"], f["Id"]);

    let r = get(
        &app,
        "/Reports/api/v2.0/CatalogItems(Path='/Nope')",
        Some(BROWSER),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let err: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(err["error"]["code"], "rsItemNotFound");
    let r = get(
        &app,
        "/Reports/api/v2.0/Folders(Path='/Secret')/CatalogItems",
        Some(BROWSER),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = get(
        &app,
        "/Reports/api/v2.0/Folders(Path='/Overview')",
        Some(BROWSER),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
