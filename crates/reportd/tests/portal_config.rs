//! The seed page's whole workflow done in headless Chromium against the real `reportd`:
//! Certificates → new self-signed; Web Service URL → pick it → Apply (Results pane) → open
//! the https URL; Web Portal URL → Advanced → Add (Results pane) → open the portal over
//! https; then the other configuration pages over https, and Stop. Outside clients check
//! what the browser cannot: `openssl s_client` sees the chosen certificate, `curl --cacert`
//! (with the certificate exported from the Certificates page) trusts the https URLs.
//!
//! Chromium is driven over the DevTools protocol on `--remote-debugging-pipe` (fds 3 and 4,
//! NUL-separated JSON): forms are filled and their buttons clicked in the page, so every
//! request is the browser's own (CSRF token from the page, Origin, Sec-Fetch-Site). The
//! screenshots go to a directory whose path the test prints (`REPORTD_KEEP_SCREENSHOT`
//! names another).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const ADMIN_USER: &str = "admin";
const ADMIN_PW: &str = "admin password 1";

/// True when Chromium is installed; otherwise prints `skipped: ...` (and fails under
/// `CI=true`).
fn chromium_installed() -> bool {
    if std::path::Path::new(CHROMIUM).exists() {
        return true;
    }
    skipped("chromium is not installed (apt-get install chromium)")
}

/// Headless Chromium with one page, driven over the DevTools pipe.
struct Browser {
    child: std::process::Child,
    to: std::io::PipeWriter,
    from: mpsc::Receiver<Value>,
    next_id: u64,
    session: String,
    /// Console and log entries seen so far (CSP violations are looked for in them).
    log: Vec<String>,
    shots: std::path::PathBuf,
    shot_no: usize,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start(shots: std::path::PathBuf) -> Browser {
        use command_fds::{CommandFdExt, FdMapping};
        let profile = tempfile::tempdir().unwrap();
        let (cmd_r, cmd_w) = std::io::pipe().unwrap();
        let (resp_r, resp_w) = std::io::pipe().unwrap();
        let mut c = Command::new(CHROMIUM);
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--remote-debugging-pipe",
            "--window-size=1280,900",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        c.fd_mappings(vec![
            FdMapping {
                parent_fd: cmd_r.into(),
                child_fd: 3,
            },
            FdMapping {
                parent_fd: resp_w.into(),
                child_fd: 4,
            },
        ])
        .unwrap();
        let child = c.spawn().expect("chromium starts");
        drop(c); // closes the child's ends here, so a dead browser reads as EOF
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(resp_r);
            loop {
                let mut buf = Vec::new();
                match r.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        buf.pop();
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                            && tx.send(v).is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        let mut b = Browser {
            child,
            to: cmd_w,
            from: rx,
            next_id: 0,
            session: String::new(),
            log: vec![],
            shots,
            shot_no: 0,
            _profile: profile,
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}));
        let target = target["targetId"].as_str().unwrap().to_owned();
        let s = b.call(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        b.session = s["sessionId"].as_str().unwrap().to_owned();
        for m in [
            "Page.enable",
            "Runtime.enable",
            "Network.enable",
            "Log.enable",
        ] {
            b.call(m, json!({}));
        }
        let auth = format!(
            "Basic {}",
            b64(format!("{ADMIN_USER}:{ADMIN_PW}").as_bytes())
        );
        b.call(
            "Network.setExtraHTTPHeaders",
            json!({"headers": {"Authorization": auth}}),
        );
        // The self-signed certificate is not in Chromium's trust store; what it is, is
        // checked with openssl and curl --cacert instead.
        b.call(
            "Security.setIgnoreCertificateErrors",
            json!({"ignore": true}),
        );
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        );
        b
    }

    /// Sends a command (to the page's session once attached) and waits for its answer.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no answer to {method} within 60 s"));
            if v["id"].as_u64() == Some(id) {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            self.event(&v);
        }
    }

    fn event(&mut self, v: &Value) {
        match v["method"].as_str() {
            Some("Log.entryAdded") => self.log.push(v["params"]["entry"]["text"].to_string()),
            Some("Runtime.consoleAPICalled") => self.log.push(v["params"].to_string()),
            _ => {}
        }
    }

    /// Evaluates `js` in the page; returns its value.
    fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    /// Waits until a new document (one without the marker the old one got) has loaded.
    fn wait_new_document(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.call(
                "Runtime.evaluate",
                json!({"expression": "typeof window.__old === 'undefined' && document.readyState === 'complete'", "returnByValue": true}),
            );
            if r["result"]["value"] == json!(true) {
                return;
            }
            assert!(Instant::now() < deadline, "the page did not load");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn goto(&mut self, url: &str) {
        self.eval("window.__old = 1");
        self.call("Page.navigate", json!({"url": url}));
        self.wait_new_document();
    }

    /// Clicks the element `selector` (a submit button or a link) and waits for the page it
    /// leads to.
    fn click(&mut self, selector: &str) {
        let js = format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return false; window.__old = 1; e.click(); return true; }})()",
            sel = json!(selector)
        );
        assert_eq!(
            self.eval(&js),
            json!(true),
            "no {selector} on {}",
            self.url()
        );
        self.wait_new_document();
    }

    /// Sets the value of the form control `selector`.
    fn set(&mut self, selector: &str, value: &str) {
        let js = format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; e.value = {}; return e.value === {}; }})()",
            json!(selector),
            json!(value),
            json!(value)
        );
        assert_eq!(
            self.eval(&js),
            json!(true),
            "cannot set {selector} to {value}"
        );
    }

    fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn url(&mut self) -> String {
        self.eval("location.href")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A full-page PNG screenshot named `name`; returns its path.
    fn shot(&mut self, name: &str) -> std::path::PathBuf {
        let m = self.call("Page.getLayoutMetrics", json!({}));
        let size = &m["cssContentSize"];
        let (w, h) = (
            size["width"].as_f64().unwrap_or(1280.0),
            size["height"].as_f64().unwrap_or(900.0).min(4000.0),
        );
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}}),
        );
        let png = unb64(r["data"].as_str().unwrap());
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(png.len() > 8_000, "{name}: not a blank page");
        self.shot_no += 1;
        let path = self.shots.join(format!("{:02}-{name}.png", self.shot_no));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// No Content-Security-Policy violation logged so far.
    fn assert_no_csp_violation(&mut self) {
        // Drain pending events first.
        while let Ok(v) = self.from.try_recv() {
            self.event(&v);
        }
        let bad: Vec<&String> = self
            .log
            .iter()
            .filter(|l| l.contains("Content Security Policy") || l.contains("Refused to"))
            .collect();
        assert!(bad.is_empty(), "CSP violations: {bad:?}");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Base64 with the coreutils tool (no base64 crate in this package).
fn b64(data: &[u8]) -> String {
    pipe_through(&["base64", "-w0"], data)
        .into_iter()
        .map(char::from)
        .collect()
}

fn unb64(text: &str) -> Vec<u8> {
    pipe_through(&["base64", "-d"], text.as_bytes())
}

fn pipe_through(cmd: &[&str], input: &[u8]) -> Vec<u8> {
    let mut c = Command::new(cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let input = input.to_vec();
    let w = std::thread::spawn(move || stdin.write_all(&input));
    let mut out = Vec::new();
    c.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    w.join().unwrap().unwrap();
    assert!(c.wait().unwrap().success(), "{cmd:?}");
    out
}

fn tools_installed() -> bool {
    for tool in ["openssl", "curl", "base64"] {
        if !tool_runs(tool, "--version") {
            return skipped(&format!("{tool} is not installed"));
        }
    }
    true
}

/// The server process, killed if the test ends early.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_seed_workflow_in_headless_chromium() {
    if !chromium_installed() || !tools_installed() {
        return;
    }
    let inst = Instance::new();
    let sockets = Sockets::new(2);
    let (http, https) = (sockets.port(0), sockets.port(1));
    let pw = inst.file("admin.pw", format!("{ADMIN_PW}\n").as_bytes());
    inst.ok(&[
        "init",
        "--http-port",
        &http.to_string(),
        "--admin-user",
        ADMIN_USER,
        "--admin-password-file",
        pw.to_str().unwrap(),
    ]);
    inst.ok(&["database", "create"]);
    let mut server = Server(inst.spawn_server(&sockets));
    inst.wait_running();
    drop(sockets); // the server owns the ports now

    let shots = match std::env::var("REPORTD_KEEP_SCREENSHOT") {
        Ok(d) => std::path::PathBuf::from(d),
        Err(_) => {
            std::env::temp_dir().join(format!("reportd-portal-config-{}", std::process::id()))
        }
    };
    std::fs::create_dir_all(&shots).unwrap();
    println!("screenshots: {}", shots.display());
    let mut b = Browser::start(shots.clone());
    let portal = format!("http://127.0.0.1:{http}/Reports");

    // Report Server Status: running, with Stop.
    b.goto(&format!("{portal}/manage/status"));
    let t = b.text();
    assert!(t.contains("Running (process"), "{t}");
    assert!(b.eval("!!document.querySelector('#stop')") == json!(true));
    b.shot("status");

    // Certificates → New self-signed certificate.
    b.goto(&format!("{portal}/manage/certificates"));
    b.set(
        "form[action$='/manage/certificates/new'] input[name=names]",
        "localhost, 127.0.0.1",
    );
    b.set(
        "form[action$='/manage/certificates/new'] input[name=friendly_name]",
        "Test certificate",
    );
    b.click("form[action$='/manage/certificates/new'] button[type=submit]");
    let t = b.text();
    let thumb = t
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 40)
        .unwrap_or_else(|| panic!("no thumbprint after Create: {t}"))
        .to_owned();
    assert!(t.contains("created self-signed certificate"), "{t}");
    assert!(
        t.contains("DNS:localhost") && t.contains("no binding"),
        "{t}"
    );
    b.shot("certificates-new-self-signed");

    // Web Service URL → HTTPS Certificate → Apply.
    b.goto(&format!("{portal}/manage/webservice-url"));
    let options = b.eval(
        "[...document.querySelectorAll('#thumbprint option')].map(o => o.textContent).join('\\n')",
    );
    assert!(
        options.as_str().unwrap().contains("Test certificate"),
        "the HTTPS Certificate list: {options}"
    );
    b.set("#thumbprint", &thumb);
    b.set("#port", &https.to_string());
    b.shot("webservice-url-certificate-picked");
    b.click("#apply");
    let t = b.text();
    for line in [
        format!("Reserving URL https://+:{https} for ReportServerWebService"),
        format!("Binding certificate {thumb} to 0.0.0.0:{https}"),
        "applied to the running server".to_string(),
        format!("https://localhost:{https}/ReportServer"),
    ] {
        assert!(t.contains(&line), "Results lack {line:?}:\n{t}");
    }
    assert!(!t.contains("failed"), "{t}");
    b.shot("webservice-url-apply-results");

    // The certificate as a client gets it from the Certificates page's Export.
    let pem = inst.tmp.path().join("trust.pem");
    let export = curl(
        &format!("{portal}/manage/certificates/export?thumbprint={thumb}"),
        Some(&format!("{ADMIN_USER}:{ADMIN_PW}")),
        &[],
    );
    assert_eq!(export.status, 200, "{export:?}");
    assert!(export.body.starts_with("-----BEGIN CERTIFICATE-----"));
    std::fs::write(&pem, &export.body).unwrap();
    let creds = format!("{ADMIN_USER}:{ADMIN_PW}");
    let cacert = ["--cacert", pem.to_str().unwrap()];

    // Open the https URL from the Results pane: the browser gets the folder page, openssl
    // sees the chosen certificate, curl trusts it with the exported PEM.
    b.click(&format!(
        "section.results a[href='https://localhost:{https}/ReportServer']"
    ));
    let t = b.text();
    assert!(t.contains("localhost/ReportServer - /"), "{t}");
    assert!(b.url().starts_with("https://"), "{}", b.url());
    b.shot("webservice-over-https");
    assert_eq!(served(https, "localhost").as_deref(), Some(thumb.as_str()));
    let r = curl(
        &format!("https://localhost:{https}/ReportServer"),
        Some(&creds),
        &cacert,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let r = curl(
        &format!("https://localhost:{https}/Reports/"),
        Some(&creds),
        &cacert,
    );
    assert_eq!(r.status, 400, "the portal is not on https yet: {r:?}");

    // Web Portal URL → Advanced → Add → Certificate → OK.
    b.goto(&format!("{portal}/manage/portal-url"));
    b.shot("portal-url");
    b.click("#advanced");
    assert!(b.text().contains("Multiple HTTPS Identities"));
    b.shot("portal-url-advanced");
    b.click("#add");
    b.set("#thumbprint", &thumb);
    b.set("#port", &https.to_string());
    b.shot("portal-url-add-binding");
    b.click("#ok");
    let t = b.text();
    for line in [
        format!("Reserving URL https://+:{https} for ReportServerWebApp"),
        "ReportServerWebApp now uses the existing binding".to_string(),
        format!("https://localhost:{https}/Reports"),
    ] {
        assert!(t.contains(&line), "Results lack {line:?}:\n{t}");
    }
    b.shot("portal-url-add-results");

    // Web Portal Site Identification: open the portal over https.
    b.click(&format!(
        "section.results a[href='https://localhost:{https}/Reports']"
    ));
    assert!(b.url().starts_with("https://"), "{}", b.url());
    assert!(b.text().contains("Home"), "{}", b.text());
    b.shot("portal-over-https");
    let r = curl(
        &format!("https://localhost:{https}/Reports/"),
        Some(&creds),
        &cacert,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(served(https, "localhost").as_deref(), Some(thumb.as_str()));

    // Now that the portal has https, a change over plain http is refused (naming it).
    b.goto(&format!("{portal}/manage/certificates"));
    b.set(
        "form[action$='/manage/certificates/new'] input[name=names]",
        "refused.example",
    );
    b.click("form[action$='/manage/certificates/new'] button[type=submit]");
    let t = b.text();
    assert!(t.contains("refused over plain http"), "{t}");
    assert!(
        t.contains(&format!("https://localhost:{https}/Reports")),
        "{t}"
    );
    b.shot("refused-over-http");

    // The other pages, over https.
    let secure = format!("https://localhost:{https}/Reports");
    b.goto(&format!("{secure}/manage/bindings"));
    let t = b.text();
    assert!(
        t.contains(&format!("0.0.0.0:{https}")) && t.contains("port open"),
        "{t}"
    );
    b.shot("bindings");
    b.set(
        "#explain-url",
        &format!("https://localhost:{https}/Reports"),
    );
    b.click("form[action$='/manage/bindings/explain'] button[type=submit]");
    let t = b.text();
    assert!(
        t.contains("ReportServerWebApp") && t.contains(&thumb),
        "{t}"
    );
    b.shot("bindings-explain");
    b.goto(&format!("{secure}/manage/certificates"));
    let t = b.text();
    assert!(t.contains(&format!("0.0.0.0:{https}")), "used by: {t}");
    b.shot("certificates-used-by");
    b.goto(&format!("{secure}/manage/database"));
    let t = b.text();
    assert!(t.contains("SQLite") && t.contains("Schema version"), "{t}");
    b.shot("database");
    b.goto(&format!("{secure}/manage/keys"));
    assert!(b.text().contains("check value"));
    b.shot("encryption-keys");
    b.goto(&format!("{secure}/manage/settings"));
    b.set("#render", "77");
    b.click("form[action$='/manage/settings'] button[type=submit]");
    let t = b.text();
    assert!(t.contains("RenderTimeoutSeconds = 77"), "{t}");
    assert!(read_to_string(&inst.dir.join("reportd.toml")).contains("77"));
    b.shot("site-settings");
    b.goto(&format!("{secure}/manage/security"));
    let t = b.text();
    assert!(
        t.contains(ADMIN_USER) && t.contains("System Administrator"),
        "{t}"
    );
    b.shot("security");
    b.assert_no_csp_violation();

    // Report Server Status → Stop → confirm: the server ends.
    b.goto(&format!("{secure}/manage/status"));
    b.click("#stop");
    assert!(
        b.text().contains("Stopping the report server stops"),
        "{}",
        b.text()
    );
    b.shot("stop-confirm");
    b.click("#confirm");
    assert!(b.text().contains("is stopping"), "{}", b.text());
    b.shot("stopped");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("screenshots: {}", shots.display());
}
