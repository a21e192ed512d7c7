//! The new user's path, with the real binaries and curl: init → 503 → database create →
//! 401 → folder page → ListChildren → portal → Browser user → traversal refused →
//! SIGTERM → start/status/stop/status. Run against SQLite always and PostgreSQL when
//! REPORTD_TEST_PG_URL is set.

mod common;

use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const RDL: &[u8] = br#"<?xml version="1.0" encoding="utf-8"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition">
  <ReportSections><ReportSection><Body><Height>1in</Height></Body><Width>1in</Width><Page/></ReportSection></ReportSections>
</Report>"#;

fn flow(db_url: Option<String>) {
    let inst = Instance::new();
    let sockets = Sockets::new(1);
    let port = sockets.port(0);
    let out = inst.init_admin(port, "correct horse battery");
    assert!(out.contains("/ReportServer"), "{out}");
    // A second init refuses and changes nothing.
    let before = std::fs::read(inst.dir.join("reportd.toml")).unwrap();
    let err = inst.fails(&["init"]);
    assert!(err.contains("already initialized"), "{err}");
    assert_eq!(
        std::fs::read(inst.dir.join("reportd.toml")).unwrap(),
        before
    );

    let mut server = inst.spawn_server(&sockets);
    inst.wait_running();
    let base = format!("http://127.0.0.1:{port}");

    // Before the database exists: 503 naming the command.
    let r = curl(&format!("{base}/ReportServer"), None, &[]);
    assert_eq!(r.status, 503, "{r:?}");
    assert!(r.body.contains("reportctl database create"), "{}", r.body);
    assert_eq!(curl(&format!("{base}/Reports"), None, &[]).status, 503);

    // Create it while the server runs: the next request is served from it.
    let mut args = vec!["database", "create"];
    if let Some(u) = &db_url {
        args.extend(["--url", u.as_str()]);
    }
    inst.ok(&args);
    let r = curl(&format!("{base}/ReportServer"), None, &[]);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.headers
            .to_ascii_lowercase()
            .contains("www-authenticate: basic"),
        "{}",
        r.headers
    );
    assert_eq!(
        curl(
            &format!("{base}/ReportServer"),
            Some("admin:wrong password"),
            &[]
        )
        .status,
        401
    );

    // Content from the command line.
    inst.ok(&["catalog", "mkdir", "/Sales Reports"]);
    let rdl = inst.file("Quarterly.rdl", RDL);
    inst.ok(&["catalog", "upload", rdl.to_str().unwrap(), "/Sales Reports"]);
    let ls = inst.ok(&["catalog", "ls", "/Sales Reports", "--json"]);
    let items: serde_json::Value = serde_json::from_str(&ls).unwrap();
    assert_eq!(items[0]["Path"], "/Sales Reports/Quarterly");
    assert_eq!(items[0]["Type"], "Report");

    let admin = Some("admin:correct horse battery");
    let r = curl(&format!("{base}/ReportServer"), admin, &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body.contains("&lt;dir&gt;") && r.body.contains("Sales Reports"),
        "{}",
        r.body
    );
    assert!(r.body.contains("reportd Version"), "{}", r.body);
    for h in ["x-content-type-options: nosniff", "x-frame-options: deny"] {
        assert!(
            r.headers.to_ascii_lowercase().contains(h),
            "{h} missing: {}",
            r.headers
        );
    }

    let r = curl(
        &format!("{base}/ReportServer?%2fSales+Reports&rs:Command=ListChildren"),
        admin,
        &[],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body.contains("Quarterly") && r.body.contains("rs:Command=Render"),
        "{}",
        r.body
    );

    let r = curl(&format!("{base}/Reports"), admin, &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("Sales Reports"), "{}", r.body);

    // A Browser reads; it does not write.
    let rpw = inst.file("reader.pw", b"reader password 1\n");
    inst.ok(&[
        "user",
        "add",
        "reader",
        "--password-file",
        rpw.to_str().unwrap(),
    ]);
    let reader = Some("reader:reader password 1");
    let r = curl(
        &format!("{base}/ReportServer?/Sales%20Reports"),
        reader,
        &[],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("Quarterly"), "{}", r.body);
    let r = curl(&format!("{base}/Reports"), reader, &[]);
    assert_eq!(r.status, 200);

    // Traversal: refused, and no file served.
    for bad in [
        "/ReportServer?/../../etc/passwd",
        "/ReportServer?%2f..%2f..%2fetc%2fpasswd",
        "/ReportServer/../../etc/passwd",
    ] {
        let r = curl(&format!("{base}{bad}"), admin, &[]);
        assert!((400..500).contains(&r.status), "{bad}: {r:?}");
        assert!(!r.body.contains("root:"), "{bad} served a file");
    }
    // `+` is dual stack: IPv6 loopback reaches the same server.
    let r = curl(&format!("http://[::1]:{port}/ReportServer"), admin, &["-g"]);
    assert_eq!(r.status, 200, "IPv6: {r:?}");
    // Oversized request heads are refused, not buffered.
    let big = format!("X-Big: {}", "a".repeat(100 * 1024));
    let r = curl(&format!("{base}/ReportServer"), admin, &["-H", &big]);
    assert!(
        r.status == 431 || r.status == 400 || r.status == 0,
        "oversized head: {}",
        r.status
    );
    // Nothing matches → 400 page that says so.
    let r = curl(&format!("{base}/elsewhere"), None, &[]);
    assert_eq!(r.status, 400);

    // SIGTERM: stops within 5 s, exit 0.
    let t = Instant::now();
    kill(Pid::from_raw(server.id() as i32), Signal::SIGTERM).unwrap();
    let status = loop {
        if let Some(s) = server.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "reportd did not exit within 5 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");

    // Service control: `start` hands the socket on to the daemon; from then on only the
    // daemon holds the port, so that `stop` closing it shows.
    assert_eq!(inst.ctl(&["status"]).status.code(), Some(3));
    let o = inst.ctl_with(&sockets, &["start"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success() && out.contains("running"), "{out}");
    drop(sockets);
    let o = inst.ctl(&["status"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let st: serde_json::Value =
        serde_json::from_slice(&inst.ctl(&["status", "--json"]).stdout).unwrap();
    assert_eq!(st["state"], "running");
    assert_eq!(
        curl(&format!("{base}/ReportServer"), admin, &[]).status,
        200
    );
    inst.ok(&["stop"]);
    assert_eq!(inst.ctl(&["status"]).status.code(), Some(3));
    assert!(port_closed(port), "port {port} still open after stop");
}

#[test]
fn json_logs_and_sigint() {
    let inst = Instance::new();
    let sockets = Sockets::new(1);
    let port = sockets.port(0);
    inst.ok(&["init", "--http-port", &port.to_string()]);
    let mut cmd = std::process::Command::new(REPORTD);
    cmd.args([
        "--data-dir",
        inst.dir.to_str().unwrap(),
        "--log-format",
        "json",
        "serve",
    ])
    .stderr(std::process::Stdio::piped());
    sockets.pass(&mut cmd);
    let child = cmd.spawn().unwrap();
    inst.wait_running();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", out.status);
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() >= 2, "{err}");
    for l in lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v.get("level").is_some(), "{l}");
    }
}

#[test]
fn new_user_flow_sqlite() {
    flow(None);
}

#[test]
fn new_user_flow_postgres() {
    let Ok(base) = std::env::var("REPORTD_TEST_PG_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but REPORTD_TEST_PG_URL is not set"
        );
        eprintln!("skipped: REPORTD_TEST_PG_URL not set");
        return;
    };
    // A fresh database on the same server: created by `database create`.
    let name = format!("reportd_flow_{}", uuid::Uuid::new_v4().simple());
    let url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("REPORTD_TEST_PG_URL must name a database"),
    };
    flow(Some(url));
    let _ = std::process::Command::new("psql")
        .args([
            base.as_str(),
            "-c",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ])
        .output();
}
