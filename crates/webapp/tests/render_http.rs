//! Report rendering over HTTP, in process: URL access in every format (the shared samples),
//! parameter errors in SSRS's words, unsupported formats, the viewer's parameter pane, the
//! SQLite directory allow-list, and the render time limit while other requests are served.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use catalog::ItemType;
use common::*;

fn sample(name: &str) -> Option<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/rdl");
    match std::fs::read(dir.join(name)) {
        Ok(b) => Some(b),
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("sample {name} missing under {}: {e}", dir.display());
            }
            println!(
                "skipped: sample {name} not found under {} ({e})",
                dir.display()
            );
            None
        }
    }
}

/// A report with one SQLite data set whose single value `n` is shown in a textbox.
fn sqlite_report(db: &str, query: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition">
  <DataSources><DataSource Name="DS"><ConnectionProperties><DataProvider>SQLITE</DataProvider><ConnectString>Data Source={db}</ConnectString></ConnectionProperties></DataSource></DataSources>
  <DataSets><DataSet Name="Q"><Query><DataSourceName>DS</DataSourceName><CommandText>{query}</CommandText></Query>
    <Fields><Field Name="n"><DataField>n</DataField></Field></Fields></DataSet></DataSets>
  <ReportSections><ReportSection>
    <Body><ReportItems><Textbox Name="Value"><Paragraphs><Paragraph><TextRuns><TextRun><Value>=First(Fields!n.Value, "Q")</Value></TextRun></TextRuns></Paragraph></Paragraphs><Height>0.25in</Height><Width>2in</Width></Textbox></ReportItems><Height>1in</Height></Body>
    <Width>6in</Width><Page></Page>
  </ReportSection></ReportSections>
</Report>"#
    )
}

/// The same report on the shared data source `reference`.
fn shared_report(reference: &str, query: &str) -> String {
    sqlite_report("unused", query).replace(
        "<ConnectionProperties><DataProvider>SQLITE</DataProvider><ConnectString>Data Source=unused</ConnectString></ConnectionProperties>",
        &format!("<DataSourceReference>{reference}</DataSourceReference>"),
    )
}

async fn set(e: &Env, key: &str, value: &str) {
    let mut cfg = e.dd.load_config().unwrap();
    cfg.settings.set(key, value).unwrap();
    datadir::Config::write(
        &e.dd.config_path(),
        &cfg.settings,
        &cfg.url_reservations.clone().unwrap_or_default(),
    )
    .unwrap();
    e.state.reload().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_render_through_url_access_in_every_format() {
    let (Some(invoice), Some(labels)) = (sample("Invoice.rdl"), sample("Labels.rdl")) else {
        return;
    };
    let e = env(true).await;
    let c = e.catalog.as_ref().unwrap();
    c.create_folder(&catalog::ItemPath::parse("/Samples").unwrap(), "admin")
        .await
        .unwrap();
    put(c, "/Samples/Invoice", ItemType::Report, &invoice).await;
    put(c, "/Samples/Labels", ItemType::Report, &labels).await;
    let app = webapp::standalone(e.state.clone());
    let base = "/ReportServer?/Samples/Invoice&Company=Contoso+Suites";

    let r = get(&app, &format!("{base}&rs:Format=CSV"), Some(ADMIN)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("content-type").starts_with("text/csv"));
    assert!(
        r.header("content-disposition")
            .contains("filename=\"Invoice.csv\""),
        "{}",
        r.header("content-disposition")
    );
    assert!(
        r.body.contains(",D011,Lens,2,Each,2.00,0,4.00,"),
        "{}",
        r.body
    );
    assert!(r.body.contains("\"$321,113.52\""), "{}", r.body);

    let r = get(&app, &format!("{base}&rs:Format=XML"), Some(ADMIN)).await;
    r.assert_has(200, "<Report Name=\"Invoice\"");
    assert!(r.body.contains("Description=\"Lens\""), "{}", r.body);
    assert!(r.header("content-disposition").contains("Invoice.xml"));

    let r = get(&app, &format!("{base}&rs:Format=JSON"), Some(ADMIN)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["Name"], "Invoice");

    // HTML5 is the default: a full page whose <style> carries this response's nonce.
    let r = get(&app, base, Some(ADMIN)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.starts_with("<!DOCTYPE html>"),
        "{}",
        &r.body[..200.min(r.body.len())]
    );
    assert!(r.body.contains("Owl Wholesales"));
    assert!(!r.body.contains(" style="), "no inline style attributes");
    let csp = r.header("content-security-policy");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("the CSP names a style nonce");
    assert!(
        r.body.contains(&format!("<style nonce=\"{nonce}\">")),
        "{csp}"
    );
    // rc:Toolbar (default true): page n of N and the exports; rc:Toolbar=false: the bare page.
    assert!(r.body.contains("<nav class=\"rs-toolbar\""), "{}", r.body);
    assert!(r.body.contains("Page 1 of 1"), "{}", r.body);
    assert!(
        r.body
            .contains("&amp;rs:Command=Render&amp;rs:Format=CSV\">CSV</a>"),
        "{}",
        r.body
    );
    let bare = get(&app, &format!("{base}&rc:Toolbar=false"), Some(ADMIN)).await;
    assert_eq!(bare.status, 200);
    assert!(!bare.body.contains("rs-toolbar") && bare.body.contains("Owl Wholesales"));
    assert!(bare.body.starts_with("<!DOCTYPE html>"));

    // Labels without its required parameter: SSRS's code, naming the parameter.
    let r = get(
        &app,
        "/ReportServer?/Samples/Labels&rs:Format=CSV",
        Some(ADMIN),
    )
    .await;
    r.assert_has(400, "rsReportParameterValueNotSet");
    assert!(r.body.contains("Names"), "{}", r.body);
    // ...and with it, one label per row, multi-value by repetition.
    let r = get(
        &app,
        "/ReportServer?/Samples/Labels&Names=Ebony+E.+Gill&Names=Vera+Kopecka&rs:Format=CSV",
        Some(ADMIN),
    )
    .await;
    r.assert_has(200, "\"Ebony E. Gill\r\n3235 Mi Casa Court");
    // A value outside the valid values.
    let r = get(
        &app,
        "/ReportServer?/Samples/Invoice&Company=Nobody+Inc",
        Some(ADMIN),
    )
    .await;
    r.assert_has(400, "rsInvalidReportParameter");

    // Formats this server does not render: 400 naming the ones it does.
    for f in ["MHTML", "EXCEL"] {
        let r = get(&app, &format!("{base}&rs:Format={f}"), Some(ADMIN)).await;
        assert_eq!(r.status, 400, "{f}");
        assert!(
            r.body
                .contains("HTML5, PDF, EXCELOPENXML, WORDOPENXML, IMAGE, CSV, XML, JSON"),
            "{}",
            r.body
        );
    }
    // A bad device information setting is a 400 naming it.
    let r = get(
        &app,
        &format!("{base}&rs:Format=CSV&rc:NoHeader=maybe"),
        Some(ADMIN),
    )
    .await;
    r.assert_has(400, "NoHeader");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_shows_the_parameter_pane_and_the_report() {
    let Some(labels) = sample("Labels.rdl") else {
        return;
    };
    let e = env(true).await;
    let c = e.catalog.as_ref().unwrap();
    put(c, "/Labels", ItemType::Report, &labels).await;
    let app = webapp::standalone(e.state.clone());

    // The home page's report tile opens the viewer.
    let r = get(&app, "/Reports/", Some(ADMIN)).await;
    assert!(
        r.body.contains("href=\"/Reports/report/Labels\""),
        "{}",
        r.body
    );

    // No value yet: the pane with a multi-select of the valid values, no error.
    let r = get(&app, "/Reports/report/Labels", Some(ADMIN)).await;
    r.assert_has(200, "name=\"Names\" multiple");
    assert!(
        r.body.contains("<option value=\"Ebony E. Gill\">"),
        "{}",
        r.body
    );
    assert!(r.body.contains("View Report"));
    assert!(!r.body.contains("rsReportParameterValueNotSet"));
    // View Report without a value: the SSRS error inline, with the pane.
    let r = get(&app, "/Reports/report/Labels?rs:View=1", Some(ADMIN)).await;
    r.assert_has(200, "rsReportParameterValueNotSet");
    assert!(r.body.contains("name=\"Names\" multiple"));
    // With a value: the report in the page, the toolbar, the export links.
    let r = get(
        &app,
        "/Reports/report/Labels?rs:View=1&Names=Ebony+E.+Gill",
        Some(ADMIN),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(">Ebony<") || r.body.contains("Ebony E. Gill"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("class=\"pages\">Page <span class=\"n\">1</span> of <span class=\"of\">"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<option value=\"Ebony E. Gill\" selected>"),
        "{}",
        r.body
    );
    for f in ["CSV", "XML", "JSON"] {
        assert!(
            r.body.contains(&format!("/ReportServer?%2fLabels&amp;Names=Ebony%20E.%20Gill&amp;rs:Command=Render&amp;rs:Format={f}")),
            "export {f}: {}",
            r.body
        );
    }
    assert!(!r.body.contains("<iframe"));
    let csp = r.header("content-security-policy");
    assert!(csp.contains("'nonce-"), "{csp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_files_only_under_data_source_directories() {
    let e = env(true).await;
    let allowed = e.dir.path().join("data");
    let outside = e.dir.path().join("elsewhere");
    std::fs::create_dir_all(&allowed).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    // an empty file is an empty SQLite database
    std::fs::write(allowed.join("a.db"), b"").unwrap();
    std::fs::write(outside.join("b.db"), b"").unwrap();
    let c = e.catalog.as_ref().unwrap();
    let q = "SELECT 41 + 1 AS n";
    put(
        c,
        "/In",
        ItemType::Report,
        sqlite_report(&allowed.join("a.db").display().to_string(), q).as_bytes(),
    )
    .await;
    put(
        c,
        "/Out",
        ItemType::Report,
        sqlite_report(&outside.join("b.db").display().to_string(), q).as_bytes(),
    )
    .await;
    put(
        c,
        "/Catalog",
        ItemType::Report,
        sqlite_report(
            &e.dir.path().join("catalog.db").display().to_string(),
            "SELECT count(*) AS n FROM sqlite_master",
        )
        .as_bytes(),
    )
    .await;
    set(&e, "DataSourceDirectories", &allowed.display().to_string()).await;
    let app = webapp::standalone(e.state.clone());

    let r = get(&app, "/ReportServer?/In&rs:Format=CSV", Some(ADMIN)).await;
    r.assert_has(200, "42");
    for report in ["Out", "Catalog"] {
        let r = get(
            &app,
            &format!("/ReportServer?/{report}&rs:Format=CSV"),
            Some(ADMIN),
        )
        .await;
        assert_eq!(r.status, 422, "{report}: {}", r.body);
        assert!(r.body.contains("DataSourceDirectories"), "{}", r.body);
        assert!(r.body.contains("rsErrorOpeningConnection"), "{}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_time_limit_gives_the_limit_page_while_others_are_served() {
    let e = env(true).await;
    let dir = e.dir.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("slow.db"), b"").unwrap();
    let c = e.catalog.as_ref().unwrap();
    let slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x &lt; 2000000000) SELECT count(*) AS n FROM c";
    put(
        c,
        "/Slow",
        ItemType::Report,
        sqlite_report(&dir.join("slow.db").display().to_string(), slow).as_bytes(),
    )
    .await;
    set(&e, "DataSourceDirectories", &dir.display().to_string()).await;
    set(&e, "RenderTimeoutSeconds", "1").await;
    let app = webapp::standalone(e.state.clone());

    let slow_app = app.clone();
    let started = std::time::Instant::now();
    let slow =
        tokio::spawn(async move { get(&slow_app, "/ReportServer?/Slow", Some(ADMIN)).await });
    // meanwhile another request is answered at once
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = std::time::Instant::now();
    let r = get(&app, "/ReportServer?/", Some(ADMIN)).await;
    assert_eq!(r.status, 200);
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    assert!(!slow.is_finished(), "the slow report is still running");
    let r = slow.await.unwrap();
    r.assert_has(503, "RenderTimeoutSeconds");
    assert!(r.body.contains("rsExecutionTimeout"), "{}", r.body);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_stored_report_and_data_source_contents() {
    let e = env(true).await;
    let c = e.catalog.as_ref().unwrap();
    // stored without the upload check (as an older server or another node might have)
    put(
        c,
        "/Broken",
        ItemType::Report,
        b"<Report><Body><ReportItems><Textbox Name=\"x\"></Body></Report>",
    )
    .await;
    put(
        c,
        "/Shared",
        ItemType::DataSource,
        br#"<?xml version="1.0" encoding="utf-8"?><DataSourceDefinition xmlns="http://schemas.microsoft.com/sqlserver/reporting/2006/03/reportdatasource"><Extension>POSTGRESQL</Extension><ConnectString>host=db user=u password=hunter2 dbname=x</ConnectString></DataSourceDefinition>"#,
    )
    .await;
    let app = webapp::standalone(e.state.clone());
    let r = get(&app, "/ReportServer?/Broken", Some(ADMIN)).await;
    r.assert_has(422, "rsInvalidReportDefinition");
    let r = get(
        &app,
        "/ReportServer?/Shared&rs:Command=GetDataSourceContents",
        Some(ADMIN),
    )
    .await;
    r.assert_has(200, "<Extension>POSTGRESQL</Extension>");
    assert!(!r.body.contains("hunter2"), "{}", r.body);
    // a browser-role user without rights on the item sees nothing
    let r = get(&app, "/ReportServer?/Broken", Some(NOBODY)).await;
    assert_ne!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_data_sources_resolve_relative_to_the_report_folder() {
    let e = env(true).await;
    let allowed = e.dir.path().join("data");
    std::fs::create_dir_all(&allowed).unwrap();
    std::fs::write(allowed.join("s.db"), b"").unwrap();
    let c = e.catalog.as_ref().unwrap();
    c.create_folder(&catalog::ItemPath::parse("/Finance").unwrap(), "admin")
        .await
        .unwrap();
    let rds = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><RptDataSource Name="Main"><ConnectionProperties><Extension>SQLITE</Extension><ConnectString>Data Source={}</ConnectString></ConnectionProperties></RptDataSource>"#,
        allowed.join("s.db").display()
    );
    put(c, "/Finance/Main", ItemType::DataSource, rds.as_bytes()).await;
    let q = "SELECT 'shared ' || 7 AS n";
    put(
        c,
        "/Finance/Relative",
        ItemType::Report,
        shared_report("Main", q).as_bytes(),
    )
    .await;
    put(
        c,
        "/Absolute",
        ItemType::Report,
        shared_report("/Finance/Main", q).as_bytes(),
    )
    .await;
    put(
        c,
        "/Dangling",
        ItemType::Report,
        shared_report("Nowhere", q).as_bytes(),
    )
    .await;
    put(
        c,
        "/Finance/logo.txt",
        ItemType::Resource,
        b"resource bytes",
    )
    .await;
    set(&e, "DataSourceDirectories", &allowed.display().to_string()).await;
    let app = webapp::standalone(e.state.clone());
    for report in ["/Finance/Relative", "/Absolute"] {
        let r = get(
            &app,
            &format!("/ReportServer?{report}&rs:Format=CSV"),
            Some(ADMIN),
        )
        .await;
        assert_eq!(r.status, 200, "{report}: {}", r.body);
        assert!(r.body.contains("shared 7"), "{report}: {}", r.body);
    }
    let r = get(&app, "/ReportServer?/Dangling&rs:Format=CSV", Some(ADMIN)).await;
    r.assert_has(422, "&#39;/Nowhere&#39;");
    assert!(r.body.contains("does not exist"), "{}", r.body);
    let r = get(
        &app,
        "/ReportServer?/Finance/logo.txt&rs:Command=GetResourceContents",
        Some(ADMIN),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "resource bytes");
}

/// Poppler's `tool` with `args`, or None (skipped; a failure under CI) when it is not installed.
fn poppler(tool: &str, args: &[&str]) -> Option<String> {
    match std::process::Command::new(tool).args(args).output() {
        Ok(o) => {
            assert!(
                o.status.success(),
                "{tool} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            Some(String::from_utf8_lossy(&o.stdout).into_owned())
        }
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{tool} is required under CI (apt-get install poppler-utils): {e}");
            }
            println!("skipped: {tool} not found ({e}); apt-get install poppler-utils");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdf_through_url_access_is_a_letter_page_poppler_reads() {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let Some(invoice) = sample("Invoice.rdl") else {
        return;
    };
    let e = env(true).await;
    let c = e.catalog.as_ref().unwrap();
    c.create_folder(&catalog::ItemPath::parse("/Samples").unwrap(), "admin")
        .await
        .unwrap();
    put(c, "/Samples/Invoice", ItemType::Report, &invoice).await;
    let app = webapp::standalone(e.state.clone());
    let req =
        http::Request::get("/ReportServer?/Samples/Invoice&Company=Contoso+Suites&rs:Format=PDF")
            .header("host", "reports.test:8080")
            .header("authorization", basic(ADMIN))
            .body(axum::body::Body::empty())
            .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let cd = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cd.contains("filename=\"Invoice.pdf\""), "{cd}");
    let pdf = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(
        pdf.starts_with(b"%PDF-"),
        "not a PDF: {:?}",
        &pdf[..pdf.len().min(16)]
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invoice.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let file = file.to_str().unwrap();
    let Some(info) = poppler("pdfinfo", &[file]) else {
        return;
    };
    assert!(info.contains("Pages:           1"), "{info}");
    assert!(info.contains("612 x 792 pts"), "{info}");
    let text = poppler("pdftotext", &["-layout", file, "-"]).unwrap();
    assert!(text.contains("$321,113.52"), "{text}");
    assert!(text.contains("Page 1 of 1"), "{text}");
    // A bad device information setting is a 400 naming it, before anything is rendered.
    let r = get(
        &app,
        "/ReportServer?/Samples/Invoice&Company=Contoso+Suites&rs:Format=PDF&rc:PageWidth=wide",
        Some(ADMIN),
    )
    .await;
    r.assert_has(400, "PageWidth");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excel_and_word_through_url_access_are_office_files() {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let Some(invoice) = sample("Invoice.rdl") else {
        return;
    };
    let e = env(true).await;
    let c = e.catalog.as_ref().unwrap();
    c.create_folder(&catalog::ItemPath::parse("/Samples").unwrap(), "admin")
        .await
        .unwrap();
    put(c, "/Samples/Invoice", ItemType::Report, &invoice).await;
    let app = webapp::standalone(e.state.clone());
    for (format, content_type, ext, part) in [
        (
            "EXCELOPENXML",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
            "xl/workbook.xml",
        ),
        (
            "WORDOPENXML",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
            "word/document.xml",
        ),
    ] {
        let req = http::Request::get(format!(
            "/ReportServer?/Samples/Invoice&Company=Contoso+Suites&rs:Format={format}"
        ))
        .header("host", "reports.test:8080")
        .header("authorization", basic(ADMIN))
        .body(axum::body::Body::empty())
        .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 200, "{format}");
        assert_eq!(resp.headers()["content-type"], content_type);
        let cd = resp.headers()["content-disposition"].to_str().unwrap();
        assert!(cd.contains(&format!("filename=\"Invoice.{ext}\"")), "{cd}");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        // a zip package holding the format's main part
        assert!(body.starts_with(b"PK\x03\x04"), "{format}: not a zip");
        let name = part.as_bytes();
        assert!(
            body.windows(name.len()).any(|w| w == name),
            "{format}: no {part}"
        );
    }
    // A bad device information setting is a 400 naming it.
    let r = get(
        &app,
        "/ReportServer?/Samples/Invoice&Company=Contoso+Suites&rs:Format=EXCELOPENXML&rc:SimplePageHeaders=maybe",
        Some(ADMIN),
    )
    .await;
    r.assert_has(400, "SimplePageHeaders");
}
