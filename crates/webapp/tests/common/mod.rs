//! Test fixture shared by the webapp test binaries: a real data dir in a temp dir, a real
//! SQLite catalog, users with real argon2id hashes, and helpers to drive the apps
//! in-process (tower `oneshot`).
#![allow(dead_code)] // reason: each test binary uses a different subset of the fixture

use std::path::Path;

use axum::Router;
use axum::body::Body;
use base64::Engine;
use catalog::{ItemPath, ItemType, NewItem, NewUser, Policy, Role, SharedCatalog};
use datadir::{Config, DataDir, Settings, UrlReservationsRepr};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use webapp::AppState;

pub const VERSION: &str = "9.9.9-test";
pub const ADMIN: (&str, &str) = ("admin", "admin-password-1");
pub const BROWSER: (&str, &str) = ("bob", "bob-password-1");
pub const PUBLISHER: (&str, &str) = ("pat", "pat-password-1");
pub const NOBODY: (&str, &str) = ("nobody", "nobody-password-1");

pub struct Env {
    pub dir: tempfile::TempDir,
    pub dd: DataDir,
    pub state: AppState,
    pub catalog: Option<SharedCatalog>,
}

/// Writes reportd.toml with `database_url` and `max_upload_mb`.
pub fn write_config(dd: &DataDir, database_url: Option<&str>, max_upload_mb: u32, scl: u8) {
    let mut settings = Settings::new("test-instance".into());
    settings.database_url = database_url.map(str::to_owned);
    settings.max_upload_size_mb = max_upload_mb;
    settings.secure_connection_level = scl;
    Config::write(
        &dd.config_path(),
        &settings,
        &UrlReservationsRepr::default(),
    )
    .unwrap();
}

/// Creates the catalog file, the four users, root policies and sample content:
/// `/Sales` (folder) with `/Sales/Quarterly` (report), `/Overview` (report) and `/Secret`
/// (folder only the administrator may see).
pub async fn create_catalog(root: &Path) -> SharedCatalog {
    let url = format!("sqlite:{}", root.join("catalog.db").display());
    let c = catalog::open(&url, true).await.unwrap();
    for ((name, pw), roles) in [
        (ADMIN, vec![Role::SystemAdministrator]),
        (BROWSER, vec![]),
        (PUBLISHER, vec![]),
        (NOBODY, vec![]),
    ] {
        c.add_user(&NewUser {
            name: name.into(),
            password_hash: hash_once(pw),
            system_roles: roles,
        })
        .await
        .unwrap();
    }
    let root_path = ItemPath::root();
    c.set_policies(
        &root_path,
        Some(&[
            Policy {
                user: ADMIN.0.into(),
                roles: vec![Role::ContentManager],
            },
            Policy {
                user: BROWSER.0.into(),
                roles: vec![Role::Browser],
            },
            Policy {
                user: PUBLISHER.0.into(),
                roles: vec![Role::Publisher],
            },
        ]),
    )
    .await
    .unwrap();
    let sales = ItemPath::parse("/Sales").unwrap();
    c.create_folder(&sales, "admin").await.unwrap();
    put(
        &c,
        "/Sales/Quarterly",
        ItemType::Report,
        MINIMAL_RDL.as_bytes(),
    )
    .await;
    put(&c, "/Overview", ItemType::Report, MINIMAL_RDL.as_bytes()).await;
    let secret = ItemPath::parse("/Secret").unwrap();
    c.create_folder(&secret, "admin").await.unwrap();
    c.set_policies(
        &secret,
        Some(&[Policy {
            user: ADMIN.0.into(),
            roles: vec![Role::ContentManager],
        }]),
    )
    .await
    .unwrap();
    c
}

/// argon2id hashes of the fixture passwords, made once per test binary: a debug build
/// spends about a second per hash.
fn hash_once(pw: &str) -> String {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static HASHES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let map = HASHES.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(h) = map.lock().unwrap().get(pw) {
        return h.clone();
    }
    let h = catalog::password::hash(pw).unwrap();
    map.lock().unwrap().insert(pw.to_owned(), h.clone());
    h
}

pub async fn put(c: &SharedCatalog, path: &str, t: ItemType, content: &[u8]) {
    let p = ItemPath::parse(path).unwrap();
    c.put_item(NewItem {
        path: &p,
        item_type: t,
        content,
        mime_type: None,
        description: "",
        by: "admin",
        overwrite: false,
    })
    .await
    .unwrap();
}

pub const MINIMAL_RDL: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition"><Body><Height>1in</Height></Body><Width>6in</Width></Report>"#;

/// A data dir with a configuration; with `with_db`, also the catalog.
pub async fn env(with_db: bool) -> Env {
    env_with(with_db, 64, 0).await
}

pub async fn env_with(with_db: bool, max_upload_mb: u32, scl: u8) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let dd = DataDir::new(dir.path());
    dd.create_dirs().unwrap();
    dd.create_instance_key().unwrap();
    let catalog = if with_db {
        let c = create_catalog(dir.path()).await;
        write_config(&dd, Some("sqlite:catalog.db"), max_upload_mb, scl);
        Some(c)
    } else {
        write_config(&dd, None, max_upload_mb, scl);
        None
    };
    let state = AppState::new(dd.clone(), VERSION).unwrap();
    Env {
        dir,
        dd,
        state,
        catalog,
    }
}

pub fn basic((user, pw): (&str, &str)) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
    )
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    /// Asserts the status and that the body holds `needle`, showing the body when not.
    #[track_caller]
    pub fn assert_has(&self, status: u16, needle: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(self.body.contains(needle), "{}", self.body);
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Resp {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// GET `uri` (with Host: reports.test:8080), signed in as `who` when given.
pub async fn get(app: &Router, uri: &str, who: Option<(&str, &str)>) -> Resp {
    let mut b = Request::get(uri).header("host", "reports.test:8080");
    if let Some(w) = who {
        b = b.header("authorization", basic(w));
    }
    send(app, b.body(Body::empty()).unwrap()).await
}

/// The CSRF token in a portal page.
pub fn csrf_in(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("page has a CSRF field");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// POST an urlencoded form.
pub async fn post_form(
    app: &Router,
    uri: &str,
    who: (&str, &str),
    fields: &[(&str, &str)],
) -> Resp {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let req = Request::post(uri)
        .header("host", "reports.test:8080")
        .header("authorization", basic(who))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    send(app, req).await
}

/// A multipart body: text fields, then one file.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----reportdtestboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, data)) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub async fn upload(
    app: &Router,
    who: (&str, &str),
    csrf: &str,
    folder: &str,
    name: &str,
    data: &[u8],
    overwrite: bool,
) -> Resp {
    let mut fields = vec![("csrf", csrf), ("folder", folder)];
    if overwrite {
        fields.push(("overwrite", "1"));
    }
    post_multipart(app, "/Reports/upload", who, &fields, Some((name, data))).await
}

/// POST a multipart form (see [`multipart`]) to `uri`, signed in as `who`.
pub async fn post_multipart(
    app: &Router,
    uri: &str,
    who: (&str, &str),
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> Resp {
    let (ct, body) = multipart(fields, file);
    let req = Request::post(uri)
        .header("host", "reports.test:8080")
        .header("authorization", basic(who))
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap();
    send(app, req).await
}

/// Debian's Chromium, driven headless by the browser tests.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// True when Chromium is installed; otherwise prints `skipped: ...` (and fails under
/// `CI=true`, where a skipped browser test would prove nothing).
pub fn chromium_installed() -> bool {
    if std::path::Path::new(CHROMIUM).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "chromium is required under CI (apt-get install chromium)"
    );
    println!("skipped: chromium not installed");
    false
}

/// Runs headless Chromium with `mode_args` on `url`; returns stdout. Bounded in time.
pub async fn chromium(profile: &std::path::Path, mode_args: &[&str], url: &str) -> String {
    let mut cmd = tokio::process::Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--enable-logging=stderr",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(mode_args)
    .arg(url)
    .kill_on_drop(true);
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
        .await
        .expect("chromium finished within 120 s")
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Every response carries a strict Content-Security-Policy: the pages must need nothing
    // it forbids (the browser logs each violation).
    assert!(
        !stderr.contains("Content Security Policy") && !stderr.contains("Refused to"),
        "CSP violation on {url}:\n{stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
