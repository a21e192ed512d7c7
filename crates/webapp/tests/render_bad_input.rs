//! Bad input to the hard-page renderers through URL access (issue 9, Done-when "bad
//! input"): images that are not images or claim 50,000x50,000 pixels render as PDF and
//! IMAGE with a placeholder (the warnings go to the render log), page sizes of 0 or 1000
//! inches are a 400 naming the setting and the allowed range, and the server keeps serving
//! the next request.

mod common;

use base64::Engine as _;
use catalog::ItemType;
use common::*;

/// A one-page report with two images (`Broken`: not an image; `Huge`: a PNG header claiming
/// 50,000 x 50,000 pixels) and a textbox, `PageWidth` as given.
fn images_report(page_width: &str) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    huge.extend_from_slice(&50_000u32.to_be_bytes());
    huge.extend_from_slice(&50_000u32.to_be_bytes());
    huge.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    let image = |name: &str, top: &str| {
        format!(
            "<Image Name=\"{name}\"><Source>Embedded</Source><Value>{name}</Value><Sizing>Fit</Sizing><Top>{top}</Top><Left>0in</Left><Height>1in</Height><Width>1in</Width></Image>"
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition">
  <ReportSections><ReportSection>
    <Body><ReportItems>{broken}{huge_item}<Textbox Name="Note"><Paragraphs><Paragraph><TextRuns><TextRun><Value>Still here</Value></TextRun></TextRuns></Paragraph></Paragraphs><Top>2.5in</Top><Left>0in</Left><Height>0.25in</Height><Width>2in</Width></Textbox></ReportItems><Height>3in</Height></Body>
    <Width>6in</Width>
    <Page><PageHeight>11in</PageHeight><PageWidth>{page_width}</PageWidth></Page>
  </ReportSection></ReportSections>
  <EmbeddedImages>
    <EmbeddedImage Name="Broken"><MIMEType>image/png</MIMEType><ImageData>{not_image}</ImageData></EmbeddedImage>
    <EmbeddedImage Name="Huge"><MIMEType>image/png</MIMEType><ImageData>{huge}</ImageData></EmbeddedImage>
  </EmbeddedImages>
</Report>"#,
        broken = image("Broken", "0in"),
        huge_item = image("Huge", "1.2in"),
        not_image = b64(b"this is not an image at all"),
        huge = b64(&huge),
    )
}

/// GET `uri` as the administrator: the status and the body's bytes.
async fn get_bytes(app: &axum::Router, uri: &str) -> (u16, Vec<u8>) {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let req = http::Request::get(uri)
        .header("host", "reports.test:8080")
        .header("authorization", basic(ADMIN))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

/// The text poppler reads from a PDF; `None` (skipped, a failure under CI) without it.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("out.pdf");
    std::fs::write(&f, pdf).unwrap();
    match std::process::Command::new("pdftotext")
        .arg(&f)
        .arg("-")
        .output()
    {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            Some(String::from_utf8_lossy(&o.stdout).into_owned())
        }
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "pdftotext: {e} (apt-get install poppler-utils)"
            );
            println!("skipped: pdftotext not found ({e})");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_images_and_page_sizes_through_url_access_and_the_server_keeps_serving() {
    if fonts::FontRegistry::load_default().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no fonts installed (apt-get install {})",
            fonts::DEBIAN_PACKAGES
        );
        println!("skipped: no fonts installed");
        return;
    }
    let e = env(true).await;
    let c = e.catalog.as_ref().unwrap();
    put(
        c,
        "/Images",
        ItemType::Report,
        images_report("8.5in").as_bytes(),
    )
    .await;
    put(
        c,
        "/Huge Page",
        ItemType::Report,
        images_report("1000in").as_bytes(),
    )
    .await;
    let app = webapp::standalone(e.state.clone());
    // images that cannot be drawn: a PDF and a PNG all the same (a crossed box for each)
    let (status, pdf) = get_bytes(&app, "/ReportServer?/Images&rs:Format=PDF").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
    assert!(pdf.starts_with(b"%PDF-"));
    if let Some(text) = pdftotext(&pdf) {
        assert!(text.contains("Still here"), "{text}");
    }
    let r = get(&app, "/ReportServer?/Images&rs:Format=IMAGE", Some(ADMIN)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), "image/png");
    let (_, png) = get_bytes(&app, "/ReportServer?/Images&rs:Format=IMAGE").await;
    assert!(
        png.starts_with(b"\x89PNG\r\n"),
        "{:?}",
        &png[..png.len().min(16)]
    );
    // page sizes out of range: a 400 naming the setting and the range, nothing rendered
    for (uri, setting) in [
        (
            "/ReportServer?/Images&rs:Format=PDF&rc:PageWidth=0in",
            "PageWidth",
        ),
        (
            "/ReportServer?/Images&rs:Format=IMAGE&rc:PageHeight=1000in",
            "PageHeight",
        ),
        (
            "/ReportServer?/Huge%20Page&rs:Format=PDF",
            "PageWidth is 1000.00in",
        ),
        (
            "/ReportServer?/Huge%20Page&rs:Format=IMAGE",
            "PageWidth is 1000.00in",
        ),
    ] {
        let r = get(&app, uri, Some(ADMIN)).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.body);
        assert!(r.body.contains(setting), "{uri}: {}", r.body);
        assert!(r.body.contains("0.5in..160in"), "{uri}: {}", r.body);
        assert!(!r.body.starts_with("%PDF"), "{uri}");
    }
    // the report's own size can be overridden by device information
    let r = get(
        &app,
        "/ReportServer?/Huge%20Page&rs:Format=PDF&rc:PageWidth=8.5in",
        Some(ADMIN),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.starts_with("%PDF-"));
    // and the server keeps serving: the same report again, as HTML5
    let r = get(&app, "/ReportServer?/Images&rs:Format=HTML5", Some(ADMIN)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Still here"), "{}", r.body);
}
