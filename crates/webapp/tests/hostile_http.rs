//! The webapp under hostile requests (issue 7): bodies refused before they are read, the
//! RDL check bounded, the page cache bounded whatever Host says, security headers on every
//! page type, CSRF tokens bound to the user and rotated, hostile Hosts never reaching a
//! `Location`, look-alike names refused, and absolute URLs keeping the `:authority` port.
//!
//! In-process (tower `oneshot` on `webapp::standalone`, a real SQLite catalog and real
//! argon2id users); bodies are streams that count how much of them the server pulled.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request as AxumRequest;
use axum::middleware::Next;
use bytes::Bytes;
use catalog::ItemPath;
use common::*;
use http::{Request, StatusCode};
use httpsys::{Application, RequestContext};
use webapp::standalone;

/// A body of `total` bytes in 64 KiB chunks (the multipart `head`, then filler, then
/// `tail`), counting the bytes the server pulled from it.
fn counted_body(head: Vec<u8>, total: u64, tail: Vec<u8>) -> (Body, Arc<AtomicU64>) {
    let pulled = Arc::new(AtomicU64::new(0));
    let counter = pulled.clone();
    let filler = total.saturating_sub((head.len() + tail.len()) as u64);
    let stream = futures_util::stream::unfold(
        (Some(head), filler, Some(tail)),
        move |(head, left, tail)| {
            let counter = counter.clone();
            async move {
                let (chunk, state) = if let Some(h) = head {
                    (Bytes::from(h), (None, left, tail))
                } else if left > 0 {
                    let n = left.min(65_536);
                    (Bytes::from(vec![b'x'; n as usize]), (None, left - n, tail))
                } else if let Some(t) = tail {
                    (Bytes::from(t), (None, 0, None))
                } else {
                    return None;
                };
                counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                Some((Ok::<_, std::io::Error>(chunk), state))
            }
        },
    );
    (Body::from_stream(stream), pulled)
}

const BOUNDARY: &str = "----reportdtestboundary7MA4YWxkTrZu0gW";

/// The multipart framing around a file of any size: fields and the file part's head, and
/// the closing boundary.
fn multipart_frame(fields: &[(&str, &str)], file_name: &str) -> (Vec<u8>, Vec<u8>) {
    let mut head = Vec::new();
    for (k, v) in fields {
        head.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    head.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    (head, format!("\r\n--{BOUNDARY}--\r\n").into_bytes())
}

fn upload_request(uri: &str, who: (&str, &str), body: Body) -> Request<Body> {
    Request::post(uri)
        .header("host", "reports.test:8080")
        .header("authorization", basic(who))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .unwrap()
}

/// An RDL whose `Report` element has `n` attributes.
fn many_attributes_rdl(n: usize) -> Vec<u8> {
    let mut s = String::with_capacity(n * 16 + 256);
    s.push_str("<?xml version=\"1.0\"?><Report xmlns=\"http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition\"");
    for i in 0..n {
        s.push_str(&format!(" a{i}=\"v\""));
    }
    s.push_str("><Body><Height>1in</Height></Body><Width>6in</Width></Report>");
    s.into_bytes()
}

// ------------------------------------------------------------------------- bodies

#[tokio::test]
async fn a_100k_attribute_rdl_is_refused_fast_and_before_parsing_without_write() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let rdl = many_attributes_rdl(100_000);
    assert!(rdl.len() > 1_000_000);

    // A Browser may not write to /: refused before one byte of the body is read.
    let token = token_in_window(&e, BROWSER.0, 0);
    let (head, tail) = multipart_frame(&[("csrf", &token), ("folder", "/")], "Bomb.rdl");
    let total = (head.len() + rdl.len() + tail.len()) as u64;
    let (body, pulled) = counted_body(head, total, tail);
    let r = send(
        &app,
        upload_request("/Reports/upload?folder=%2F", BROWSER, body),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("insufficient"), "{}", r.body);
    assert_eq!(
        pulled.load(Ordering::Relaxed),
        0,
        "no byte of the body read"
    );

    // Without the folder in the URL: the token and folder fields are checked before the
    // file part is read, so only the fields and the few chunks the multipart parser reads
    // ahead were pulled.
    let (head, tail) = multipart_frame(&[("csrf", &token), ("folder", "/")], "Bomb.rdl");
    let first = head.len() as u64;
    let (body, pulled) = counted_body(head, 64 * 1024 * 1024, tail);
    let r = send(&app, upload_request("/Reports/upload", BROWSER, body)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        pulled.load(Ordering::Relaxed) <= first + 6 * 65_536,
        "pulled {} of 64 MiB",
        pulled.load(Ordering::Relaxed)
    );

    // An administrator may write: the check itself refuses it, in one linear pass.
    let token = token_in_window(&e, ADMIN.0, 0);
    let started = Instant::now();
    let r = upload(&app, ADMIN, &token, "/", "Bomb.rdl", &rdl, false).await;
    let took = started.elapsed();
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("attributes"), "{}", r.body);
    // The quadratic check took 10 s (release) here; the linear one milliseconds.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        e.catalog
            .as_ref()
            .unwrap()
            .get_item(&ItemPath::parse("/Bomb").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_oversized_upload_is_refused_without_being_read_whole() {
    let e = env_with(true, 1, 0).await;
    let app = standalone(e.state.clone());
    let token = token_in_window(&e, ADMIN.0, 0);
    // 256 MiB streamed without a Content-Length, against a 1 MiB limit.
    let (head, tail) = multipart_frame(&[("csrf", &token), ("folder", "/")], "huge.bin");
    let (body, pulled) = counted_body(head, 256 * 1024 * 1024, tail);
    let r = send(
        &app,
        upload_request("/Reports/upload?folder=%2F", ADMIN, body),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(r.body.contains("MaxUploadSizeMB"), "{}", r.body);
    let read = pulled.load(Ordering::Relaxed);
    assert!(
        read <= 1024 * 1024 + 3 * 65_536,
        "read {read} bytes of 256 MiB"
    );
    // A declared length over the limit: nothing read at all.
    let (head, tail) = multipart_frame(&[("csrf", &token)], "huge.bin");
    let (body, pulled) = counted_body(head, 256 * 1024 * 1024, tail);
    let mut req = upload_request("/Reports/upload?folder=%2F", ADMIN, body);
    req.headers_mut()
        .insert("content-length", (256u64 * 1024 * 1024).into());
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(pulled.load(Ordering::Relaxed), 0);
    // A file part before the token: refused before the file is read.
    let (head, tail) = multipart_frame(&[], "early.bin");
    let (body, pulled) = counted_body(head.clone(), 8 * 1024 * 1024, tail);
    let r = send(
        &app,
        upload_request("/Reports/upload?folder=%2F", ADMIN, body),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(pulled.load(Ordering::Relaxed) <= head.len() as u64 + 6 * 65_536);
}

#[tokio::test]
async fn a_download_streams_the_content_in_chunks() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 17)
        .map(|i: usize| (i % 251) as u8)
        .collect();
    put(
        e.catalog.as_ref().unwrap(),
        "/big.bin",
        catalog::ItemType::Resource,
        &data,
    )
    .await;
    let req = Request::get("/Reports/download/big.bin")
        .header("host", "reports.test:8080")
        .header("authorization", basic(ADMIN))
        .body(Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-length"], data.len().to_string());
    let mut body = resp.into_body();
    let mut got = Vec::new();
    let mut frames = 0;
    while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
        let chunk = frame.unwrap().into_data().unwrap();
        assert!(chunk.len() <= 64 * 1024, "a frame of {} bytes", chunk.len());
        got.extend_from_slice(&chunk);
        frames += 1;
    }
    assert_eq!(got, data);
    assert!(frames >= 48, "{frames} frames");

    // The Web Service's GetResourceContents streams the same way.
    let req = Request::get("/ReportServer?/big.bin&rs:Command=GetResourceContents")
        .header("host", "reports.test:8080")
        .header("authorization", basic(ADMIN))
        .body(Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-length"], data.len().to_string());
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    let mut body = resp.into_body();
    let mut got = Vec::new();
    while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
        let chunk = frame.unwrap().into_data().unwrap();
        assert!(chunk.len() <= 64 * 1024, "a frame of {} bytes", chunk.len());
        got.extend_from_slice(&chunk);
    }
    assert_eq!(got, data);
}

// ------------------------------------------------------------------------- caches

#[tokio::test]
async fn varying_host_headers_do_not_grow_the_page_cache() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let mut bytes_after_first = None;
    for i in 0..300 {
        let host = format!("h{i}.attacker.test:{}", 1000 + i);
        let req = Request::get("/ReportServer?/Sales")
            .header("host", &host)
            .header("authorization", basic(BROWSER))
            .body(Body::empty())
            .unwrap();
        let r = send(&app, req).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body
                .contains(&format!("h{i}.attacker.test/ReportServer - /Sales")),
            "the page shows the host asked for"
        );
        let (pages, bytes) = e.state.page_cache_stats();
        assert_eq!(pages, 1, "one page whatever the Host");
        match bytes_after_first {
            None => bytes_after_first = Some(bytes),
            Some(b) => assert_eq!(bytes, b),
        }
    }
    // Invalid Hosts are refused before anything is cached or rendered.
    for bad in ["evil.example/path?", "a b", "x@y:80", "h:99999"] {
        let req = Request::get("/ReportServer?/Sales")
            .header("host", bad)
            .header("authorization", basic(BROWSER))
            .body(Body::empty())
            .unwrap();
        let r = send(&app, req).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
    assert_eq!(e.state.page_cache_stats().0, 1);
}

// ------------------------------------------------------------------------- headers

/// A user name and password.
type User = (&'static str, &'static str);

fn assert_secure(r: &Resp, what: &str) {
    let csp = r.header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{what}: CSP {csp:?}"
    );
    assert_eq!(r.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(r.header("x-frame-options"), "DENY", "{what}");
    assert_eq!(r.header("referrer-policy"), "same-origin", "{what}");
    if r.header("content-type").starts_with("text/html") {
        for inline in ["<script", "<style", " style=", "javascript:", " onclick="] {
            assert!(
                !r.body.contains(inline),
                "{what}: inline {inline} in {}",
                r.body
            );
        }
    }
}

#[tokio::test]
async fn every_page_type_carries_the_csp_and_security_headers() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let cases: [(&str, Option<User>, StatusCode); 10] = [
        ("/Reports/", Some(ADMIN), StatusCode::OK),
        ("/Reports/item/Overview", Some(ADMIN), StatusCode::OK),
        ("/ReportServer?/Sales", Some(ADMIN), StatusCode::OK),
        ("/Reports/api/v2.0/Me", Some(ADMIN), StatusCode::OK),
        ("/Reports/assets/portal.css", None, StatusCode::OK),
        ("/ReportServer?/Nope", Some(ADMIN), StatusCode::NOT_FOUND),
        ("/Reports/browse/Nope", Some(ADMIN), StatusCode::NOT_FOUND),
        ("/ReportServer?/..", Some(ADMIN), StatusCode::BAD_REQUEST),
        ("/Reports/", None, StatusCode::UNAUTHORIZED),
        ("/Elsewhere", None, StatusCode::NOT_FOUND),
    ];
    for (uri, who, want) in cases {
        let r = get(&app, uri, who).await;
        assert_eq!(r.status, want, "{uri}: {}", r.body);
        assert_secure(&r, uri);
    }
    let r = get(&app, "/Reports/api/v2.0/Nope", Some(ADMIN)).await;
    assert!(r.header("content-type").starts_with("application/json"));
    assert_secure(&r, "REST error");
    // A download keeps its own, stricter policy.
    let r = get(&app, "/Reports/download/Overview", Some(ADMIN)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-security-policy").starts_with("sandbox"));
    // 503 before the database exists.
    let none = env(false).await;
    let app = standalone(none.state.clone());
    for uri in ["/Reports/", "/ReportServer", "/Reports/api/v2.0/Me"] {
        let r = get(&app, uri, Some(ADMIN)).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert_secure(&r, uri);
    }
    // 400 for a hostile Host.
    let req = Request::get("/Reports/")
        .header("host", "evil.example/path?")
        .body(Body::empty())
        .unwrap();
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_secure(&r, "bad Host");
}

// ------------------------------------------------------------------------- tokens

/// The token of `user` for the window `back` windows before the current one (the formula
/// of `portal::csrf`: HMAC(CSRF key, "reportd csrf v2\0" user "\0" window), the CSRF key
/// derived from the instance key).
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
async fn csrf_tokens_are_bound_to_the_user_and_rotate() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let admin_token = csrf_in(&get(&app, "/Reports/", Some(ADMIN)).await.body);
    assert_eq!(admin_token, token_in_window(&e, ADMIN.0, 0));
    let pat_token = csrf_in(&get(&app, "/Reports/", Some(PUBLISHER)).await.body);
    assert_ne!(admin_token, pat_token);
    let folder = |token: &str, name: &str| {
        vec![
            ("csrf".to_owned(), token.to_owned()),
            ("parent".to_owned(), "/".to_owned()),
            ("name".to_owned(), name.to_owned()),
        ]
    };
    let post = |who, fields: Vec<(String, String)>| {
        let app = app.clone();
        async move {
            let f: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            post_form(&app, "/Reports/folder", who, &f).await
        }
    };
    // A's token is refused for B.
    let r = post(PUBLISHER, folder(&admin_token, "ByA")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("security token"));
    // The previous window's token still works (a page left open), two back does not.
    let r = post(
        PUBLISHER,
        folder(&token_in_window(&e, PUBLISHER.0, 1), "Prev"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post(
        PUBLISHER,
        folder(&token_in_window(&e, PUBLISHER.0, 2), "Old"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = post(PUBLISHER, folder(&pat_token, "Now")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

// ------------------------------------------------------------------------- Location

/// The portal as the listener runs it with SecureConnectionLevel 1 and an https
/// reservation on a wildcard host: the context's https base is built from the Host the
/// client sent, as `httpsys::RouteTable::https_base` does.
fn behind_wildcard_listener(app: axum::Router) -> axum::Router {
    app.layer(axum::middleware::from_fn(
        move |mut req: AxumRequest, next: Next| {
            let raw = req
                .headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let (host, _) = httpsys::route::split_host_header(&raw);
            let ctx = RequestContext {
                app: Application::Portal,
                vdir: "Reports".into(),
                secure: false,
                host: host.to_owned(),
                peer: SocketAddr::from(([127, 0, 0, 1], 50000)),
                local: SocketAddr::from(([127, 0, 0, 1], 8080)),
                https_base: Some(format!("https://{host}:8443/Reports")),
            };
            req.extensions_mut().insert(ctx);
            next.run(req)
        },
    ))
}

#[tokio::test]
async fn a_hostile_host_never_reaches_location() {
    let e = env_with(true, 64, 1).await;
    let app = behind_wildcard_listener(webapp::portal(e.state.clone()));
    for bad in [
        "evil.example/path?",
        "evil.example/path?:80",
        "evil.example\\@x",
        "a b",
        "evil.example#frag",
    ] {
        let req = Request::get("/browse/Sales")
            .header("host", bad)
            .body(Body::empty())
            .unwrap();
        let r = send(&app, req).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert_eq!(r.header("location"), "", "{bad}");
        assert!(!r.body.contains("evil"), "{bad} echoed: {}", r.body);
    }
    // A valid Host is still redirected to https.
    let req = Request::get("/browse/Sales")
        .header("host", "reports.test:8080")
        .body(Body::empty())
        .unwrap();
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        r.header("location"),
        "https://reports.test:8443/Reports/browse/Sales"
    );
}

// ------------------------------------------------------------------------- names

#[tokio::test]
async fn look_alike_names_are_refused() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    let token = token_in_window(&e, ADMIN.0, 0);
    for name in [
        "Sa\u{200B}les",
        "Sales\u{200E}",
        "\u{FEFF}Sales",
        "Sa\u{202E}les",
        "Sales\u{00A0}2",
    ] {
        let r = post_form(
            &app,
            "/Reports/folder",
            ADMIN,
            &[("csrf", &token), ("parent", "/"), ("name", name)],
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name:?}: {}", r.body);
        assert!(r.body.contains("U+"), "{name:?}: {}", r.body);
        let r = upload(
            &app,
            ADMIN,
            &token,
            "/",
            &format!("{name}.txt"),
            b"x",
            false,
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "upload {name:?}: {}",
            r.body
        );
    }
    // The decomposed spelling of an existing name is the same name.
    let r = post_form(
        &app,
        "/Reports/folder",
        ADMIN,
        &[("csrf", &token), ("parent", "/"), ("name", "Caf\u{E9}")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post_form(
        &app,
        "/Reports/folder",
        ADMIN,
        &[("csrf", &token), ("parent", "/"), ("name", "Cafe\u{301}")],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let kids = e
        .catalog
        .as_ref()
        .unwrap()
        .list_children(&ItemPath::root())
        .await
        .unwrap();
    assert!(!kids.iter().any(|k| k.name.contains('\u{200B}')));
}

// ------------------------------------------------------------------------- authority

#[tokio::test]
async fn system_urls_keep_the_authority_port_without_a_host_header() {
    let e = env(true).await;
    let app = standalone(e.state.clone());
    // As HTTP/2 delivers it: an absolute URI (the :authority) and no Host header.
    let req = Request::get("http://reports.test:8443/Reports/api/v2.0/System")
        .header("authorization", basic(BROWSER))
        .body(Body::empty())
        .unwrap();
    assert!(!req.headers().contains_key("host"));
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        v["ReportServerAbsoluteUrl"],
        "http://reports.test:8443/ReportServer"
    );
    // With Host, its port.
    let r = get(&app, "/Reports/api/v2.0/System", Some(BROWSER)).await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        v["ReportServerAbsoluteUrl"],
        "http://reports.test:8080/ReportServer"
    );
}
