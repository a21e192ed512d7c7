//! End to end: the report viewer served on 127.0.0.1:0 and driven by headless Chromium:
//! the parameter pane, the toolbar and the rendered report in the DOM, no CSP violation
//! (the report's `<style>` carries the response's nonce; the viewer's own look and script
//! are served assets), and a screenshot.

mod common;

use std::path::{Path, PathBuf};

use catalog::ItemType;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_renders_in_headless_chromium() {
    if !chromium_installed() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/rdl");
    let invoice = match std::fs::read(dir.join("Invoice.rdl")) {
        Ok(b) => b,
        Err(err) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("sample Invoice.rdl missing under {}: {err}", dir.display());
            }
            println!(
                "skipped: sample Invoice.rdl not found under {}",
                dir.display()
            );
            return;
        }
    };
    let e = env(true).await;
    put(
        e.catalog.as_ref().unwrap(),
        "/Invoice",
        ItemType::Report,
        &invoice,
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = webapp::standalone(e.state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let profile = tempfile::tempdir().unwrap();
    let (user, pw) = ADMIN;
    let url = format!(
        "http://{user}:{pw}@127.0.0.1:{port}/Reports/report/Invoice?rs:View=1&Company=Contoso+Suites"
    );

    let dom = chromium(profile.path(), &["--dump-dom"], &url).await;
    assert!(
        dom.contains("class=\"viewer-params\""),
        "pane missing:\n{dom}"
    );
    assert!(
        dom.contains("<option value=\"Contoso Suites\" selected=\"\">"),
        "selected company missing:\n{dom}"
    );
    assert!(
        dom.contains("Owl Wholesales"),
        "report content missing:\n{dom}"
    );
    assert!(dom.contains("$321,113.52"), "invoice total missing:\n{dom}");
    assert!(
        dom.contains("rs:Format=CSV"),
        "export links missing:\n{dom}"
    );

    let shot = profile.path().join("viewer.png");
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
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 900));
    assert!(
        png.len() > 20_000,
        "a nearly blank page: {} bytes",
        png.len()
    );
    if let Ok(dir) = std::env::var("REPORTD_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, Path::new(&dir).join("viewer-invoice.png")).unwrap();
    }
    server.abort();
}
