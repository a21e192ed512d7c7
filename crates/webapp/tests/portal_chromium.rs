//! End to end: the portal served on 127.0.0.1:0, driven by headless Chromium (Debian's
//! `chromium`), signing in with HTTP Basic credentials in the URL as a user would.
//! Checks what renders (the DOM after the browser parsed it) and takes a screenshot.

mod common;

use std::path::Path;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_renders_in_headless_chromium() {
    if !chromium_installed() {
        return;
    }
    let e = env(true).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = webapp::standalone(e.state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let profile = tempfile::tempdir().unwrap();
    let (user, pw) = ADMIN;
    let base = format!("http://{user}:{pw}@127.0.0.1:{port}/Reports");

    // Home: the root's folder and report, the signed-in user and role, the breadcrumbs.
    let dom = chromium(profile.path(), &["--dump-dom"], &format!("{base}/")).await;
    assert!(
        dom.contains("href=\"/Reports/browse/Sales\""),
        "folder tile missing:\n{dom}"
    );
    assert!(dom.contains(">Overview<"), "report tile missing:\n{dom}");
    assert!(
        dom.contains("aria-label=\"Breadcrumbs\""),
        "breadcrumbs missing:\n{dom}"
    );
    assert!(dom.contains("System Administrator"), "role missing:\n{dom}");
    assert!(
        dom.contains("action=\"/Reports/upload?folder=%2F\""),
        "upload form missing:\n{dom}"
    );

    // Browse into the folder: its report and a breadcrumb trail back Home.
    let dom = chromium(
        profile.path(),
        &["--dump-dom"],
        &format!("{base}/browse/Sales"),
    )
    .await;
    assert!(
        dom.contains(">Quarterly<"),
        "folder content missing:\n{dom}"
    );
    assert!(
        dom.contains("<a href=\"/Reports/\">Home</a>"),
        "breadcrumb Home missing:\n{dom}"
    );
    assert!(
        dom.contains("aria-current=\"page\">Sales<"),
        "current crumb missing:\n{dom}"
    );

    // A screenshot that is a real, non-trivial PNG of the requested size.
    let shot = profile.path().join("portal.png");
    chromium(
        profile.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,800",
            "--hide-scrollbars",
        ],
        &format!("{base}/browse/Sales"),
    )
    .await;
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 800));
    assert!(
        png.len() > 8_000,
        "a blank page compresses to almost nothing; got {} bytes",
        png.len()
    );
    // For a person to look at: REPORTD_KEEP_SCREENSHOT=DIR keeps this and more pages.
    if let Ok(dir) = std::env::var("REPORTD_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, Path::new(&dir).join("portal-browse.png")).unwrap();
        for (name, url) in [
            ("portal-home", format!("{base}/")),
            ("portal-item", format!("{base}/item/Sales/Quarterly")),
            ("portal-404", format!("{base}/browse/Nope")),
            (
                "webservice",
                format!("http://{user}:{pw}@127.0.0.1:{port}/ReportServer?/Sales"),
            ),
        ] {
            let out = Path::new(&dir).join(format!("{name}.png"));
            let arg = format!("--screenshot={}", out.display());
            chromium(
                profile.path(),
                &[&arg, "--window-size=1280,800", "--hide-scrollbars"],
                &url,
            )
            .await;
        }
    }
    server.abort();
}
