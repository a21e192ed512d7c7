//! The configuration pages (`/Reports/manage/...`): System Administrators only, CSRF on
//! every POST, each action's effect checked in the certificate store and the binding
//! repository on disk; the administrators' banner; and the pages in headless Chromium
//! (served on 127.0.0.1:0), with screenshots.

mod common;

use certstore::{CertStore, SelfSignedOptions, StoreName, Thumbprint};
use common::*;
use httpsys::{Application, Endpoint, Repository, UrlReservation};

fn store(e: &Env) -> CertStore {
    CertStore::open(&e.dd.certs_dir()).unwrap()
}

fn my_certs(e: &Env) -> Vec<certstore::CertInfo> {
    store(e).list(StoreName::My).unwrap()
}

/// A self-signed certificate valid `days`, bound on 0.0.0.0:`port` for the portal (the
/// repository written as the ops would leave it; no server needs to run for the pages).
fn bound_cert(e: &Env, days: u32, port: u16) -> Thumbprint {
    let mut o = SelfSignedOptions::new(vec!["localhost".into()]);
    o.days = days;
    let t = store(e).new_self_signed(&o).unwrap();
    let mut repo = Repository::load(&e.dd).unwrap();
    let url: UrlReservation = format!("https://+:{port}").parse().unwrap();
    repo.reserve(Application::Portal, url, "test").unwrap();
    let ep = Endpoint::parse_ipport(&format!("0.0.0.0:{port}")).unwrap();
    repo.bind_ssl(Application::Portal, ep, &t.to_string(), None)
        .unwrap();
    repo.save(&e.dd).unwrap();
    t
}

/// The portal as the listener serves it over https on 127.0.0.1:8443 (the request context
/// the listener would attach).
fn over_https(e: &Env) -> axum::Router {
    webapp::portal(e.state.clone()).layer(axum::middleware::from_fn(
        |mut req: axum::extract::Request, next: axum::middleware::Next| {
            req.extensions_mut().insert(httpsys::RequestContext {
                app: Application::Portal,
                vdir: "Reports".into(),
                secure: true,
                host: "reports.test".into(),
                peer: std::net::SocketAddr::from(([127, 0, 0, 1], 40000)),
                local: std::net::SocketAddr::from(([127, 0, 0, 1], 8443)),
                https_base: None,
            });
            next.run(req)
        },
    ))
}

#[tokio::test]
async fn only_system_administrators_open_or_change_the_configuration() {
    let e = env(true).await;
    let app = webapp::standalone(e.state.clone());
    for page in ["status", "certificates", "bindings"] {
        let uri = format!("/Reports/manage/{page}");
        assert_eq!(get(&app, &uri, Some(BROWSER)).await.status, 403, "{uri}");
        assert_eq!(get(&app, &uri, Some(NOBODY)).await.status, 403, "{uri}");
        let r = get(&app, &uri, Some(ADMIN)).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.body);
    }
    // A Publisher's own valid token does not make the POST allowed.
    let home = get(&app, "/Reports/", Some(PUBLISHER)).await;
    let token = csrf_in(&home.body);
    let r = post_form(
        &app,
        "/Reports/manage/certificates/new",
        PUBLISHER,
        &[("csrf", &token), ("names", "localhost"), ("days", "30")],
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(my_certs(&e).is_empty(), "nothing created");
    // Only administrators see the link.
    assert!(!home.body.contains("/Reports/manage/status"));
    let admin_home = get(&app, "/Reports/", Some(ADMIN)).await;
    assert!(admin_home.body.contains("href=\"/Reports/manage/status\""));
}

#[tokio::test]
async fn posts_without_the_csrf_token_or_from_another_site_are_refused() {
    let e = env(true).await;
    let app = webapp::standalone(e.state.clone());
    let r = post_form(
        &app,
        "/Reports/manage/certificates/new",
        ADMIN,
        &[("names", "localhost")],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = post_form(
        &app,
        "/Reports/manage/certificates/new",
        ADMIN,
        &[("csrf", "00"), ("names", "localhost")],
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(my_certs(&e).is_empty());
    // A valid token on a cross-site request.
    let page = get(&app, "/Reports/manage/certificates", Some(ADMIN)).await;
    let token = csrf_in(&page.body);
    let body = format!("csrf={token}&names=localhost");
    let req = http::Request::post("/Reports/manage/certificates/new")
        .header("host", "reports.test:8080")
        .header("authorization", basic(ADMIN))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(axum::body::Body::from(body))
        .unwrap();
    assert_eq!(send(&app, req).await.status, 403);
    assert!(my_certs(&e).is_empty());
}

#[tokio::test]
async fn new_self_signed_and_remove_change_the_store() {
    let e = env(true).await;
    let app = webapp::standalone(e.state.clone());
    let page = get(&app, "/Reports/manage/certificates", Some(ADMIN)).await;
    assert!(page.body.contains("No certificate in the store yet"));
    let token = csrf_in(&page.body);
    let r = post_form(
        &app,
        "/Reports/manage/certificates/new",
        ADMIN,
        &[
            ("csrf", &token),
            ("names", "reports.test, 127.0.0.1"),
            ("friendly_name", "Portal test"),
            ("days", "90"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.header("location").contains("done="), "{:?}", r.headers);
    let certs = my_certs(&e);
    assert_eq!(certs.len(), 1);
    let c = &certs[0];
    assert!(c.subject.contains("reports.test"), "{}", c.subject);
    assert_eq!(c.friendly_name.as_deref(), Some("Portal test"));
    assert!(c.has_private_key && c.server_auth);
    // The page lists it with its names, thumbprint, days left and no user.
    let page = get(&app, "/Reports/manage/certificates", Some(ADMIN)).await;
    assert!(page.body.contains(&c.thumbprint.to_string()));
    assert!(page.body.contains("DNS:reports.test"), "{}", page.body);
    assert!(
        page.body.contains("89 days left") || page.body.contains("90 days left"),
        "{}",
        page.body
    );
    assert!(page.body.contains("no binding"));

    // Bad input: a clear refusal, nothing made.
    let r = post_form(
        &app,
        "/Reports/manage/certificates/new",
        ADMIN,
        &[("csrf", &token), ("names", "x"), ("days", "99999")],
    )
    .await;
    assert_eq!(r.status, 303);
    let after = get(&app, r.header("location"), Some(ADMIN)).await;
    assert!(
        after.body.contains("must be a number from 1 to 3650"),
        "{}",
        after.body
    );
    assert_eq!(my_certs(&e).len(), 1);

    // Remove: gone from the store.
    let r = post_form(
        &app,
        "/Reports/manage/certificates/remove",
        ADMIN,
        &[
            ("csrf", &token),
            ("thumbprint", &c.thumbprint.to_string()),
            ("store", "My"),
        ],
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(my_certs(&e).is_empty());
}

#[tokio::test]
async fn a_certificate_in_use_is_not_removed_and_the_refusal_names_the_binding() {
    let e = env(true).await;
    let app = webapp::standalone(e.state.clone());
    let t = bound_cert(&e, 365, 8443);
    let page = get(&app, "/Reports/manage/certificates", Some(ADMIN)).await;
    assert!(
        page.body.contains("<code>0.0.0.0:8443</code>"),
        "used by: {}",
        page.body
    );
    let token = csrf_in(&page.body);
    let form = [("csrf", token.as_str()), ("thumbprint", &t.to_string())];
    // Over plain http while an https reservation exists: refused, naming https.
    let r = post_form(&app, "/Reports/manage/certificates/remove", ADMIN, &form).await;
    r.assert_has(403, "refused over plain http");
    // Over https: refused because the binding uses it, which the result names.
    let https = over_https(&e);
    let r = post_form(&https, "/manage/certificates/remove", ADMIN, &form).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r
        .header("location")
        .trim_start_matches("/Reports")
        .to_owned();
    let after = get(&https, &location, Some(ADMIN)).await;
    assert!(
        after
            .body
            .contains("is used by the SSL binding(s) 0.0.0.0:8443"),
        "{}",
        after.body
    );
    // This front end's fix, not the command line's.
    let result = after
        .body
        .split("<p class=\"result failed\"")
        .nth(1)
        .and_then(|r| r.split("</p>").next())
        .unwrap_or_default();
    assert!(
        result.contains("on the Bindings page") && !result.contains("reportctl"),
        "{result}"
    );
    assert!(store(&e).contains(StoreName::My, &t), "still there");
    assert_eq!(
        Repository::load(&e.dd).unwrap().ssl_bindings.len(),
        1,
        "binding untouched"
    );
    // The Bindings page: endpoint → certificate → policy.
    let b = get(&app, "/Reports/manage/bindings", Some(ADMIN)).await;
    assert!(b.body.contains("0.0.0.0:8443") && b.body.contains(&t.to_string()));
    assert!(b.body.contains("TLS 1.2+"), "{}", b.body);
    assert!(b.body.contains("<code>https://+:8443</code>"), "{}", b.body);
}

#[tokio::test]
async fn removing_the_binding_in_use_asks_to_confirm_then_goes_through_the_ops() {
    let e = env(true).await;
    let https = over_https(&e);
    bound_cert(&e, 365, 8443);
    let page = get(&https, "/manage/bindings", Some(ADMIN)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = csrf_in(&page.body);
    // This request came over 127.0.0.1:8443, which the binding 0.0.0.0:8443 serves.
    let form = [("csrf", token.as_str()), ("endpoint", "0.0.0.0:8443")];
    let r = post_form(&https, "/manage/bindings/delete", ADMIN, &form).await;
    r.assert_has(200, "cuts off this connection");
    assert!(r.body.contains("name=\"confirm\" value=\"yes\""));
    assert_eq!(Repository::load(&e.dd).unwrap().ssl_bindings.len(), 1);
    // Confirmed: gone from the repository on disk (no server runs: applies at start).
    let mut confirmed = form.to_vec();
    confirmed.push(("confirm", "yes"));
    let r = post_form(&https, "/manage/bindings/delete", ADMIN, &confirmed).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(Repository::load(&e.dd).unwrap().ssl_bindings.is_empty());
    let location = r
        .header("location")
        .trim_start_matches("/Reports")
        .to_owned();
    let after = get(&https, &location, Some(ADMIN)).await;
    assert!(
        after.body.contains("removed the SSL binding 0.0.0.0:8443"),
        "{}",
        after.body
    );
    // A binding of another port is removed without asking; an unknown one is a clear error.
    bound_cert(&e, 365, 9443);
    let form = [("csrf", token.as_str()), ("endpoint", "0.0.0.0:9443")];
    let r = post_form(&https, "/manage/bindings/delete", ADMIN, &form).await;
    assert_eq!(r.status, 303);
    assert!(Repository::load(&e.dd).unwrap().ssl_bindings.is_empty());
    let r = post_form(&https, "/manage/bindings/delete", ADMIN, &form).await;
    let location = r
        .header("location")
        .trim_start_matches("/Reports")
        .to_owned();
    let after = get(&https, &location, Some(ADMIN)).await;
    assert!(after.body.contains("result failed"), "{}", after.body);
}

#[tokio::test]
async fn the_banner_warns_administrators_of_expiring_and_missing_certificates() {
    let e = env(true).await;
    let app = webapp::standalone(e.state.clone());
    let home = get(&app, "/Reports/", Some(ADMIN)).await;
    assert!(!home.body.contains("admin-banner"), "nothing to say yet");

    let soon = bound_cert(&e, 20, 8443);
    let home = get(&app, "/Reports/", Some(ADMIN)).await;
    assert!(home.body.contains("notice warning"), "{}", home.body);
    assert!(home.body.contains(&soon.to_string()));
    assert!(!home.body.contains("notice critical"));

    let critical = bound_cert(&e, 5, 9443);
    let home = get(&app, "/Reports/browse/Sales", Some(ADMIN)).await;
    assert!(home.body.contains("notice critical"), "{}", home.body);
    assert!(home.body.contains(&critical.to_string()));
    // Not for others.
    let bob = get(&app, "/Reports/", Some(BROWSER)).await;
    assert!(!bob.body.contains("admin-banner"));

    // A certificate removed behind the ops' back: the binding is named.
    store(&e).remove(&critical, StoreName::My).unwrap();
    let home = get(&app, "/Reports/", Some(ADMIN)).await;
    assert!(
        home.body
            .contains("SSL binding 0.0.0.0:9443 refers to certificate"),
        "{}",
        home.body
    );
    // Status lists the same warnings; the database is shown by backend only.
    let s = get(&app, "/Reports/manage/status", Some(ADMIN)).await;
    assert!(s.body.contains("reportd 9.9.9-test"), "{}", s.body);
    assert!(s.body.contains("SQLite"));
    assert!(!s.body.contains("catalog.db"), "no connection string");
    assert!(s.body.contains("0.0.0.0:9443"));
    assert!(s.body.contains("https://+:8443/Reports"), "{}", s.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_pages_in_headless_chromium() {
    if !chromium_installed() {
        return;
    }
    let e = env(true).await;
    bound_cert(&e, 20, 8443);
    let mut o = SelfSignedOptions::new(vec!["reports.example.com".into()]);
    o.friendly_name = Some("Spare".into());
    store(&e).new_self_signed(&o).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = webapp::standalone(e.state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let profile = tempfile::tempdir().unwrap();
    let shots = match std::env::var("REPORTD_KEEP_SCREENSHOT") {
        Ok(d) => std::path::PathBuf::from(d),
        Err(_) => profile.path().join("shots"),
    };
    std::fs::create_dir_all(&shots).unwrap();
    let (user, pw) = ADMIN;
    let base = format!("http://{user}:{pw}@127.0.0.1:{port}/Reports");
    for (page, expect) in [
        ("status", "URLs served"),
        ("certificates", "Used by"),
        ("bindings", "SSL bindings"),
    ] {
        let url = format!("{base}/manage/{page}");
        let dom = chromium(profile.path(), &["--dump-dom"], &url).await;
        assert!(dom.contains(expect), "{page}:\n{dom}");
        assert!(dom.contains("notice warning"), "banner on {page}");
        let shot = shots.join(format!("manage-{page}.png"));
        chromium(
            profile.path(),
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1280,900",
                "--hide-scrollbars",
            ],
            &url,
        )
        .await;
        let png = std::fs::read(&shot).expect("screenshot written");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(png.len() > 8_000, "{page}: not a blank page");
    }
    server.abort();
}

/// A port of a socket this process holds as an inherited one: the stopped-server port check
/// of a new reservation passes for it, and nobody else can take it meanwhile.
fn held_port() -> u16 {
    httpsys::listener::inherit(httpsys::listener::listen_dual_stack(0).unwrap()).unwrap()
}

fn self_signed(e: &Env, names: &[&str], friendly: &str) -> Thumbprint {
    let mut o = SelfSignedOptions::new(names.iter().map(|s| s.to_string()).collect());
    o.friendly_name = Some(friendly.into());
    store(e).new_self_signed(&o).unwrap()
}

#[tokio::test]
async fn the_new_pages_are_for_system_administrators_and_their_posts_need_the_token() {
    let e = env(true).await;
    let app = webapp::standalone(e.state.clone());
    for page in [
        "webservice-url",
        "portal-url",
        "portal-url/advanced",
        "portal-url/add",
        "database",
        "keys",
        "settings",
        "security",
        "bindings/explain?url=http://localhost/Reports",
    ] {
        let uri = format!("/Reports/manage/{page}");
        assert_eq!(get(&app, &uri, Some(BROWSER)).await.status, 403, "{uri}");
        let r = get(&app, &uri, Some(ADMIN)).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.body);
        assert!(
            !r.body.contains("<script") && !r.body.contains("style="),
            "{uri}: inline"
        );
    }
    let home = get(&app, "/Reports/", Some(PUBLISHER)).await;
    let token = csrf_in(&home.body);
    for post in [
        "webservice-url",
        "portal-url/add",
        "settings",
        "security",
        "keys/rotate",
        "status/stop",
    ] {
        let uri = format!("/Reports/manage/{post}");
        let r = post_form(&app, &uri, PUBLISHER, &[("csrf", &token)]).await;
        assert_eq!(r.status, 403, "{uri}");
        let r = post_form(&app, &uri, ADMIN, &[("csrf", "00")]).await;
        assert_eq!(r.status, 403, "{uri} without a valid token");
    }
    assert!(Repository::load(&e.dd).unwrap().ssl_bindings.is_empty());
}

#[tokio::test]
async fn web_service_url_apply_reserves_and_binds_in_one_change_with_results() {
    let e = env(true).await;
    let app = webapp::standalone(e.state.clone());
    let t = self_signed(&e, &["localhost"], "Test certificate");
    // A certificate without server authentication is not offered.
    let page = get(&app, "/Reports/manage/webservice-url", Some(ADMIN)).await;
    assert!(page.body.contains("HTTPS Certificate"), "{}", page.body);
    assert!(
        page.body.contains(&format!("option value=\"{t}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains("Test certificate"));
    let token = csrf_in(&page.body);
    let port = held_port();
    let port_s = port.to_string();
    let t_s = t.to_string();
    let form = [
        ("csrf", token.as_str()),
        ("vdir", "ReportServer"),
        ("ip", "all"),
        ("port", &port_s),
        ("thumbprint", &t_s),
    ];
    let r = post_form(&app, "/Reports/manage/webservice-url", ADMIN, &form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for line in [
        format!("Reserving URL https://+:{port} for ReportServerWebService"),
        format!("Binding certificate {t} to 0.0.0.0:{port}"),
        "the server is stopped; the change applies when it starts".to_string(),
        format!("href=\"https://localhost:{port}/ReportServer\""),
    ] {
        assert!(r.body.contains(&line), "Results lack {line:?}: {}", r.body);
    }
    let repo = Repository::load(&e.dd).unwrap();
    assert!(
        repo.reservations_of(Application::WebService)
            .any(|u| u.to_string() == format!("https://+:{port}"))
    );
    assert_eq!(repo.ssl_bindings.len(), 1);
    assert_eq!(repo.ssl_bindings[0].thumbprint, t.to_string());
    let saved = std::fs::read(e.dd.bindings_path()).unwrap();

    // Bad input: a clear refusal naming the field, nothing written.
    for (field, value, says) in [
        ("port", "70000", "'HTTPS Port' must be a port"),
        ("vdir", "a/b", "'Virtual Directory'"),
        ("thumbprint", "XYZ", "'HTTPS Certificate'"),
        ("ip", "192.0.2.77", "not an address of this machine"),
    ] {
        let mut bad = form.to_vec();
        bad.retain(|(k, _)| *k != field);
        bad.push((field, value));
        let r = post_form(&app, "/Reports/manage/webservice-url", ADMIN, &bad).await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("result failed"), "{field}: {}", r.body);
        assert!(r.body.contains(says), "{field}: {}", r.body);
        assert!(r.body.contains("nothing was changed"));
        assert_eq!(
            std::fs::read(e.dd.bindings_path()).unwrap(),
            saved,
            "{field}"
        );
    }
    // Another certificate on the same endpoint: refused by the binding step, nothing kept.
    let other = self_signed(&e, &["localhost"], "Other");
    let other_s = other.to_string();
    let mut again = form.to_vec();
    again.retain(|(k, _)| *k != "thumbprint");
    again.push(("thumbprint", &other_s));
    let r = post_form(&app, "/Reports/manage/webservice-url", ADMIN, &again).await;
    assert!(r.body.contains("step failed"), "{}", r.body);
    assert!(
        r.body.contains("is already bound to certificate"),
        "{}",
        r.body
    );
    assert_eq!(std::fs::read(e.dd.bindings_path()).unwrap(), saved);
}

#[tokio::test]
async fn web_portal_url_add_joins_or_makes_an_https_identity_and_a_bad_host_changes_nothing() {
    let e = env(true).await;
    let app = webapp::standalone(e.state.clone());
    let t = self_signed(&e, &["localhost", "reports.test"], "Portal cert");
    let page = get(&app, "/Reports/manage/portal-url", Some(ADMIN)).await;
    assert!(page.body.contains("id=\"advanced\""), "{}", page.body);
    let adv = get(&app, "/Reports/manage/portal-url/advanced", Some(ADMIN)).await;
    assert!(adv.body.contains("Multiple HTTPS Identities"));
    assert!(adv.body.contains("id=\"add\""));
    let add = get(&app, "/Reports/manage/portal-url/add", Some(ADMIN)).await;
    assert!(add.body.contains("Add a Report Server HTTPS Binding"));
    let token = csrf_in(&add.body);
    let port = held_port();
    let (port_s, t_s) = (port.to_string(), t.to_string());
    // A host the certificate does not name: the binding step fails, nothing is kept.
    let before = std::fs::read(e.dd.bindings_path()).ok();
    let add_form = |host| {
        [
            ("csrf", token.as_str()),
            ("thumbprint", t_s.as_str()),
            ("ip", "all"),
            ("port", port_s.as_str()),
            ("host", host),
        ]
    };
    let form = add_form("elsewhere.example.com");
    let r = post_form(&app, "/Reports/manage/portal-url/add", ADMIN, &form).await;
    r.assert_has(200, "does not cover host elsewhere.example.com");
    assert_eq!(std::fs::read(e.dd.bindings_path()).ok(), before);
    // With a host it names: an SNI binding reports.test:PORT and its reservation.
    let form = add_form("Reports.Test");
    let r = post_form(&app, "/Reports/manage/portal-url/add", ADMIN, &form).await;
    assert!(
        r.body.contains(&format!(
            "Reserving URL https://reports.test:{port} for ReportServerWebApp"
        )),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(&format!("https://reports.test:{port}/Reports"))
    );
    let repo = Repository::load(&e.dd).unwrap();
    assert_eq!(
        repo.ssl_bindings[0].endpoint,
        Endpoint::parse_hostnameport(&format!("reports.test:{port}")).unwrap()
    );
    // The identity table lists it; explain says the SNI binding serves it.
    let adv = get(&app, "/Reports/manage/portal-url/advanced", Some(ADMIN)).await;
    assert!(adv.body.contains("<td>reports.test</td>"), "{}", adv.body);
    let uri = format!("/Reports/manage/bindings/explain?url=https://reports.test:{port}/Reports");
    let x = get(&app, &uri, Some(ADMIN)).await;
    assert!(x.body.contains("by server name (SNI)"), "{}", x.body);
    assert!(x.body.contains(&t.to_string()));
    // Now the portal has https: changes over plain http are refused, naming the URL.
    let r = post_form(&app, "/Reports/manage/portal-url/add", ADMIN, &form).await;
    r.assert_has(403, "refused over plain http");
    assert!(
        r.body
            .contains(&format!("https://reports.test:{port}/Reports"))
    );
}

#[tokio::test]
async fn settings_security_and_keys_change_through_the_operations() {
    let e = env(true).await;
    let app = webapp::standalone(e.state.clone());
    let page = get(&app, "/Reports/manage/settings", Some(ADMIN)).await;
    let token = csrf_in(&page.body);
    // Requiring https from a plain-http page asks first.
    let form = [
        ("csrf", token.as_str()),
        ("SecureConnectionLevel", "1"),
        ("MaxUploadSizeMB", "12"),
        ("RenderTimeoutSeconds", "90"),
    ];
    let r = post_form(&app, "/Reports/manage/settings", ADMIN, &form).await;
    r.assert_has(200, "this connection is cut off");
    assert_eq!(
        e.dd.load_config().unwrap().settings.secure_connection_level,
        0
    );
    let mut keep_http = form.to_vec();
    keep_http[1] = ("SecureConnectionLevel", "0");
    let r = post_form(&app, "/Reports/manage/settings", ADMIN, &keep_http).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let s = e.dd.load_config().unwrap().settings;
    assert_eq!((s.max_upload_size_mb, s.render_timeout_seconds), (12, 90));
    let r = post_form(
        &app,
        "/Reports/manage/settings",
        ADMIN,
        &[("csrf", &token), ("RenderTimeoutSeconds", "soon")],
    )
    .await;
    let after = get(&app, r.header("location"), Some(ADMIN)).await;
    assert!(after.body.contains("result failed"), "{}", after.body);
    assert_eq!(
        e.dd.load_config().unwrap().settings.render_timeout_seconds,
        90
    );

    // Security: give bob System User; taking one's own administrator role asks first, and
    // the catalog refuses to take the last one's.
    let sec = get(&app, "/Reports/manage/security", Some(ADMIN)).await;
    assert!(sec.body.contains("bob"), "{}", sec.body);
    let r = post_form(
        &app,
        "/Reports/manage/security",
        ADMIN,
        &[("csrf", &token), ("user", "bob"), ("role", "System User")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let cat = e.catalog.as_ref().unwrap();
    let bob = cat
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == "bob")
        .unwrap();
    assert_eq!(bob.system_roles, vec![catalog::Role::SystemUser]);
    let r = post_form(
        &app,
        "/Reports/manage/security",
        ADMIN,
        &[("csrf", &token), ("user", "admin"), ("role", "System User")],
    )
    .await;
    r.assert_has(200, "you lose these configuration pages");
    let r = post_form(
        &app,
        "/Reports/manage/security",
        ADMIN,
        &[
            ("csrf", &token),
            ("user", "admin"),
            ("role", "System User"),
            ("confirm", "yes"),
        ],
    )
    .await;
    let after = get(&app, r.header("location"), Some(ADMIN)).await;
    assert!(
        after.body.contains("result failed"),
        "last administrator: {}",
        after.body
    );
    let admin = cat
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == "admin")
        .unwrap();
    assert!(admin.is_system_admin());

    // Keys: a backup downloads a key file whose check value is the page's; restore takes it
    // back; a short password is refused.
    let keys = get(&app, "/Reports/manage/keys", Some(ADMIN)).await;
    let check = datadir::keyfile::check_value(&e.dd.instance_key().unwrap()[..]);
    assert!(keys.body.contains(&check), "{}", keys.body);
    let body = "csrf=".to_string() + &token + "&password=long+enough+1&password2=long+enough+1";
    let req = http::Request::post("/Reports/manage/keys/backup")
        .header("host", "reports.test:8080")
        .header("authorization", basic(ADMIN))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let file = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&file[..8], datadir::keyfile::MAGIC);
    let r = post_form(
        &app,
        "/Reports/manage/keys/backup",
        ADMIN,
        &[
            ("csrf", &token),
            ("password", "short"),
            ("password2", "short"),
        ],
    )
    .await;
    let after = get(&app, r.header("location"), Some(ADMIN)).await;
    assert!(after.body.contains("too short"), "{}", after.body);
    let r = post_form(
        &app,
        "/Reports/manage/keys/rotate",
        ADMIN,
        &[("csrf", &token)],
    )
    .await;
    let after = get(&app, r.header("location"), Some(ADMIN)).await;
    assert!(after.body.contains("a new instance key"), "{}", after.body);
    let rotated = datadir::keyfile::check_value(&e.dd.instance_key().unwrap()[..]);
    assert_ne!(rotated, check);
    let r = post_multipart(
        &app,
        "/Reports/manage/keys/restore",
        ADMIN,
        &[("csrf", &token), ("password", "long enough 1")],
        Some(("reportd-key.snk", &file)),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let restored = datadir::keyfile::check_value(&e.dd.instance_key().unwrap()[..]);
    assert_eq!(restored, check);
}

#[tokio::test]
async fn certificates_export_pem_and_import_pfx() {
    let e = env(true).await;
    let app = webapp::standalone(e.state.clone());
    let t = self_signed(&e, &["localhost"], "Exported");
    let r = get(
        &app,
        &format!("/Reports/manage/certificates/export?thumbprint={t}"),
        Some(ADMIN),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.starts_with("-----BEGIN CERTIFICATE-----"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("PRIVATE KEY"));
    let pfx = store(&e).export_pfx(&t, "pfx secret", false).unwrap();
    store(&e).remove(&t, StoreName::My).unwrap();
    let page = get(&app, "/Reports/manage/certificates", Some(ADMIN)).await;
    let token = csrf_in(&page.body);
    let r = post_multipart(
        &app,
        "/Reports/manage/certificates/import",
        ADMIN,
        &[("csrf", &token), ("password", "pfx secret")],
        Some(("c.pfx", &pfx[..])),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(store(&e).contains(StoreName::My, &t));
    let page = get(&app, "/Reports/manage/certificates", Some(ADMIN)).await;
    assert!(
        page.body.contains("self-signed: the certificate alone"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn site_name_and_users_change_through_the_operations_reportctl_uses() {
    let e = env(true).await;
    let app = webapp::standalone(e.state.clone());
    let page = get(&app, "/Reports/manage/settings", Some(ADMIN)).await;
    assert!(
        page.body.contains("<title>Site settings · reportd</title>"),
        "the default site name: {}",
        page.body
    );
    let token = csrf_in(&page.body);
    let r = post_form(
        &app,
        "/Reports/manage/settings",
        ADMIN,
        &[("csrf", &token), ("SiteName", "  Contoso Reports ")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        e.dd.load_config().unwrap().settings.site_name,
        "Contoso Reports"
    );
    // Live, in every page's title and header.
    let users = get(&app, "/Reports/manage/users", Some(ADMIN)).await;
    assert!(
        users
            .body
            .contains("<title>Users · Contoso Reports</title>")
            && users
                .body
                .contains("<span class=\"product\">Contoso Reports</span>"),
        "{}",
        users.body
    );
    // Refused with the reason; the file keeps the old name.
    let long = "x".repeat(101);
    for (bad, why) in [
        ("two\nlines", "control characters"),
        (long.as_str(), "1 to 100"),
    ] {
        let r = post_form(
            &app,
            "/Reports/manage/settings",
            ADMIN,
            &[("csrf", &token), ("SiteName", bad)],
        )
        .await;
        let after = get(&app, r.header("location"), Some(ADMIN)).await;
        assert!(
            after.body.contains("result failed") && after.body.contains(why),
            "{bad:?}: {}",
            after.body
        );
    }
    assert_eq!(
        e.dd.load_config().unwrap().settings.site_name,
        "Contoso Reports"
    );

    // Users: the name rule of `reportctl user add` (mgmt::users), refused before anything
    // is written, naming the field to correct.
    let r = post_form(
        &app,
        "/Reports/manage/users/add",
        ADMIN,
        &[
            ("csrf", &token),
            ("name", "a:b"),
            ("password", "long enough 1"),
            ("role", "Browser"),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("nvalid user name") && r.body.contains("correct the Name field"),
        "{}",
        r.body
    );
    let cat = e.catalog.as_ref().unwrap();
    assert!(cat.get_user("a:b").await.unwrap().is_none());
    // An item role is assigned on / as `reportctl user add --role Publisher` does.
    let r = post_form(
        &app,
        "/Reports/manage/users/add",
        ADMIN,
        &[
            ("csrf", &token),
            ("name", "carol"),
            ("password", "long enough 1"),
            ("role", "Publisher"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let root = cat
        .get_policies(&catalog::ItemPath::root())
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        root.iter()
            .any(|p| p.user == "carol" && p.roles == vec![catalog::Role::Publisher]),
        "{root:?}"
    );
    assert!(
        cat.get_user("carol")
            .await
            .unwrap()
            .unwrap()
            .system_roles
            .is_empty()
    );
}
