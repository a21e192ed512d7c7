//! What a new user meets first, with the real binaries (issue 11, "fixes found tried as a
//! new user"): quickstart all or nothing and honest about ports, commands that refuse a
//! directory that is not a data dir, `status --json`, an instance without an administrator,
//! database choice, URLs a browser opens, the TLS workflow's last step, the upload conflict,
//! and `--help`.

mod common;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn thumbprint_in(out: &str) -> String {
    out.split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 40)
        .unwrap_or_else(|| panic!("no thumbprint in {out:?}"))
        .to_owned()
}

/// `reportd quickstart ARGS` on the instance's data dir, with `sockets` handed in.
fn quickstart(inst: &Instance, sockets: &Sockets, args: &[&str]) -> Command {
    let mut cmd = Command::new(REPORTD);
    cmd.args(["--data-dir", inst.dir.to_str().unwrap(), "quickstart"])
        .args(args)
        .stdin(Stdio::null());
    sockets.pass(&mut cmd);
    cmd
}

/// Kills the server when the test ends, whatever happens.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lines a running quickstart prints, until one starts with `until`.
fn lines_until(child: &mut Child, until: &str) -> Vec<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_else(|_| panic!("no {until:?} line; got {lines:?}"));
        let done = line.starts_with(until);
        lines.push(line);
        if done {
            return lines;
        }
    }
}

#[test]
fn quickstart_on_a_busy_port_creates_nothing_and_prints_no_password() {
    let inst = Instance::new();
    // Another program holds the https port; the http port is ours.
    let busy = httpsys::listener::listen_dual_stack(0).unwrap();
    let busy_port = busy.local_addr().unwrap().port();
    let sockets = Sockets::new(1);
    let o = quickstart(
        &inst,
        &sockets,
        &[
            "--https-port",
            &busy_port.to_string(),
            "--http-port",
            &sockets.port(0).to_string(),
        ],
    )
    .output()
    .unwrap();
    assert!(!o.status.success(), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("--https-port {busy_port}")) && err.contains("in use"),
        "{err}"
    );
    assert!(err.contains("nothing was created"), "{err}");
    assert!(!stdout(&o).contains("Password"), "{}", stdout(&o));
    assert!(!inst.dir.exists(), "quickstart left {}", inst.dir.display());

    // Into an existing empty directory: it stays empty.
    std::fs::create_dir(&inst.dir).unwrap();
    let o = quickstart(&inst, &sockets, &["--https-port", &busy_port.to_string()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert_eq!(std::fs::read_dir(&inst.dir).unwrap().count(), 0);
    drop(busy);
}

#[test]
fn quickstart_that_cannot_start_serving_removes_the_instance_it_made() {
    let inst = Instance::new();
    let sockets = Sockets::new(2);
    // Everything is made, then the management socket cannot be bound: the start fails.
    let o = Command::new(REPORTD)
        .args(["--data-dir", inst.dir.to_str().unwrap()])
        .arg("--socket")
        .arg(inst.tmp.path().join("no such dir/reportd.sock"))
        .args([
            "quickstart",
            "--https-port",
            &sockets.port(0).to_string(),
            "--http-port",
            &sockets.port(1).to_string(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(!stdout(&o).contains("Password"), "{}", stdout(&o));
    assert!(
        !inst.dir.exists(),
        "quickstart left a half-made instance: {:?}",
        std::fs::read_dir(&inst.dir).map(|d| d.count())
    );
}

#[test]
fn quickstart_on_an_existing_instance_refuses_ports_it_does_not_serve() {
    let inst = Instance::new();
    let sockets = Sockets::new(2);
    let (port, other) = (sockets.port(0), sockets.port(1));
    inst.ok(&["init", "--http-port", &port.to_string()]);
    let before = std::fs::read(inst.dir.join("reportd.toml")).unwrap();

    let o = quickstart(&inst, &sockets, &["--http-port", &other.to_string()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(&format!("serves http on port {port}"))
            && err.contains(&format!("--http-port {other}"))
            && err.contains("url reserve"),
        "{err}"
    );
    let o = quickstart(&inst, &sockets, &["--https-port", "9443"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("reserves no https port"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(inst.dir.join("reportd.toml")).unwrap(),
        before
    );

    // The port it does serve is accepted, and the URLs it prints are that port's.
    let mut child = quickstart(&inst, &sockets, &["--http-port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines_until(&mut child, "Web Portal URL");
    let _server = Server(child);
    assert!(
        lines.contains(&format!(
            "Web Service URL: http://localhost:{port}/ReportServer"
        )),
        "{lines:?}"
    );
}

#[test]
fn commands_other_than_init_refuse_a_directory_that_is_not_a_data_dir() {
    let inst = Instance::new();
    let commands: &[&[&str]] = &[
        &["cert", "new-self-signed", "--dns-name", "localhost"],
        &["cert", "list"],
        &["status"],
        &["start"],
        &["config", "get"],
        &["url", "list"],
        &["database", "create", "--no-admin"],
        &["user", "list"],
        &["ssl", "list"],
    ];
    for args in commands {
        let err = inst.fails(args);
        assert!(
            err.contains("not an initialized data dir"),
            "{args:?}: {err}"
        );
        assert!(
            !inst.dir.exists(),
            "{args:?} created {}",
            inst.dir.display()
        );
    }
    std::fs::create_dir(&inst.dir).unwrap();
    for args in commands {
        inst.fails(args);
        assert_eq!(
            std::fs::read_dir(&inst.dir).unwrap().count(),
            0,
            "{args:?} wrote into the directory"
        );
    }
}

#[test]
fn status_json_has_one_warnings_key_and_urls_a_browser_opens() {
    let inst = Instance::new();
    let sockets = Sockets::new(1);
    let port = sockets.port(0);
    let out = inst.ok(&["init", "--http-port", &port.to_string()]);
    assert!(!out.contains("+:"), "{out}");
    assert!(
        out.contains(&format!("http://localhost:{port}/ReportServer")),
        "{out}"
    );

    // Stopped: the files' warnings (no database yet).
    let o = inst.ctl(&["status", "--json"]);
    assert_eq!(o.status.code(), Some(3));
    let text = stdout(&o);
    assert_eq!(text.matches("\"warnings\"").count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["state"], "stopped");
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("database create"),
        "{v}"
    );
    let o = inst.ctl(&["status"]);
    assert!(!stdout(&o).contains("+:"), "{}", stdout(&o));

    // Running: the server's warnings in the same one key.
    let _server = Server(inst.spawn_server(&sockets));
    inst.wait_running();
    let o = inst.ctl(&["status", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert_eq!(text.matches("\"warnings\"").count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["state"], "running");
    let urls: Vec<&str> = v["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert!(
        urls.contains(&format!("http://localhost:{port}/ReportServer").as_str()),
        "{urls:?}"
    );
    assert!(urls.iter().all(|u| !u.contains('+')), "{urls:?}");
    let out = inst.ok(&["status"]);
    assert!(!out.contains("+:"), "{out}");
    // And a browser's client opens it.
    assert_eq!(
        curl(&format!("http://localhost:{port}/ReportServer"), None, &[]).status,
        503
    );
}

#[test]
fn an_instance_without_an_administrator_is_warned_about_and_needs_no_admin() {
    let inst = Instance::new();
    let o = inst.ctl(&["init"]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("warning: no System Administrator"),
        "{}",
        stderr(&o)
    );
    let err = inst.fails(&["database", "create"]);
    assert!(
        err.contains("no System Administrator")
            && err.contains("--admin-user")
            && err.contains("--no-admin"),
        "{err}"
    );
    assert!(
        !inst.dir.join("catalog.db").exists(),
        "refusal created the catalog"
    );
    assert!(inst.ctl(&["database", "status"]).status.code() == Some(1));
    let out = inst.ok(&["database", "create", "--no-admin"]);
    assert!(out.contains("--no-admin"), "{out}");

    // Or name one at database create.
    let inst = Instance::new();
    inst.ok(&["init"]);
    let pw = inst.file("bob.pw", b"bob password 12\n");
    let out = inst.ok(&[
        "database",
        "create",
        "--admin-user",
        "bob",
        "--admin-password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(out.contains("System Administrator bob added"), "{out}");
    let users: serde_json::Value =
        serde_json::from_str(&inst.ok(&["user", "list", "--json"])).unwrap();
    assert!(
        users.to_string().contains("System Administrator"),
        "{users}"
    );
}

#[test]
fn switching_an_instance_to_another_catalog_needs_force_and_says_what_changes() {
    let inst = Instance::new();
    let pw = inst.file("admin.pw", b"admin password 1\n");
    let admin = [
        "--admin-user",
        "admin",
        "--admin-password-file",
        pw.to_str().unwrap(),
    ];
    let mut init = vec!["init"];
    init.extend(admin);
    inst.ok(&init);
    inst.ok(&["database", "create"]);
    // The same database again is fine.
    inst.ok(&["database", "create"]);
    let mut switch = vec!["database", "create", "--url", "sqlite:other.db"];
    switch.extend(admin);
    let err = inst.fails(&switch);
    assert!(
        err.contains("--force") && err.contains("users") && err.contains("catalog.db"),
        "{err}"
    );
    assert!(!inst.dir.join("other.db").exists());
    switch.push("--force");
    let out = inst.ok(&switch);
    assert!(
        out.contains("Switched from") && out.contains("catalog.db"),
        "{out}"
    );
    let cfg = read_to_string(&inst.dir.join("reportd.toml"));
    assert!(cfg.contains("sqlite:other.db"), "{cfg}");
}

#[test]
fn database_create_refuses_a_shared_postgresql_database_holding_other_tables() {
    let Ok(base) = std::env::var("REPORTD_TEST_PG_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but REPORTD_TEST_PG_URL is not set"
        );
        eprintln!("skipped: REPORTD_TEST_PG_URL not set");
        return;
    };
    let name = format!("reportd_shared_{}", uuid::Uuid::new_v4().simple());
    let psql = |url: &str, sql: &str| {
        let o = Command::new("psql")
            .args([url, "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("psql runs");
        assert!(o.status.success(), "psql {sql}: {}", stderr(&o));
    };
    psql(&base, &format!("CREATE DATABASE {name}"));
    let url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("REPORTD_TEST_PG_URL must name a database"),
    };
    psql(
        &url,
        "CREATE TABLE other_app (id int); INSERT INTO other_app VALUES (1)",
    );
    let inst = Instance::new();
    let pw = inst.file("admin.pw", b"admin password 1\n");
    inst.ok(&[
        "init",
        "--admin-user",
        "admin",
        "--admin-password-file",
        pw.to_str().unwrap(),
    ]);
    let err = inst.fails(&["database", "create", "--url", &url]);
    assert!(
        err.contains("other_app") && err.contains("not a reportd catalog"),
        "{err}"
    );
    let cfg = read_to_string(&inst.dir.join("reportd.toml"));
    assert!(
        !cfg.contains(&name),
        "the refused database was recorded: {cfg}"
    );
    psql(&url, "SELECT 1 FROM other_app"); // untouched
    psql(
        &base,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
}

#[test]
fn tls_by_hand_ends_with_how_clients_trust_the_certificate() {
    let inst = Instance::new();
    let sockets = Sockets::new(2);
    let (http, https) = (sockets.port(0), sockets.port(1));
    let pw = inst.file("admin.pw", b"admin password 1\n");
    inst.ok(&[
        "init",
        "--http-port",
        &http.to_string(),
        "--admin-user",
        "admin",
        "--admin-password-file",
        pw.to_str().unwrap(),
    ]);
    inst.ok(&["database", "create"]);
    let _server = Server(inst.spawn_server(&sockets));
    inst.wait_running();
    let t = thumbprint_in(&inst.ok(&["cert", "new-self-signed", "--dns-name", "localhost"]));
    let out = inst.ok(&[
        "webservice",
        "https",
        "--cert",
        &t,
        "--port",
        &https.to_string(),
    ]);
    assert!(
        out.contains(&format!("reportctl cert export {t} --pem"))
            && out.contains(&format!("reportctl cert trust {t}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("https://localhost:{https}/ReportServer")),
        "{out}"
    );
    // The hint works: the exported PEM is what curl trusts.
    let pem = inst.tmp.path().join("server.pem");
    inst.ok(&["cert", "export", &t, "--pem", pem.to_str().unwrap()]);
    let r = curl(
        &format!("https://localhost:{https}/ReportServer"),
        Some("admin:admin password 1"),
        &["--cacert", pem.to_str().unwrap()],
    );
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn upload_conflict_names_overwrite() {
    let inst = Instance::new();
    inst.ok(&["init"]);
    inst.ok(&["database", "create", "--no-admin"]);
    let f = inst.file("notes.txt", b"hello");
    inst.ok(&["catalog", "upload", f.to_str().unwrap(), "/"]);
    let err = inst.fails(&["catalog", "upload", f.to_str().unwrap(), "/"]);
    assert!(
        err.contains("already exists") && err.contains("--overwrite"),
        "{err}"
    );
    inst.ok(&["catalog", "upload", f.to_str().unwrap(), "/", "--overwrite"]);
}

#[test]
fn help_lists_the_applications_and_the_setting_keys() {
    let o = Command::new(REPORTCTL).arg("--help").output().unwrap();
    assert!(o.status.success());
    let out = stdout(&o);
    for word in [
        "webservice",
        "ReportServerWebService",
        "portal",
        "ReportServerWebApp",
        "SecureConnectionLevel",
        "MaxUploadSizeMB",
        "DatabaseUrl",
        "LogMaxFiles",
    ] {
        assert!(out.contains(word), "--help does not name {word}:\n{out}");
    }
}

#[test]
fn days_to_expiry_in_status_and_cert_list_and_live_changes_logged() {
    let inst = Instance::new();
    let sockets = Sockets::new(2);
    let (http, https) = (sockets.port(0), sockets.port(1));
    inst.ok(&["init", "--http-port", &http.to_string()]);
    inst.ok(&["database", "create", "--no-admin"]);
    let log = std::fs::File::create(inst.tmp.path().join("server.log")).unwrap();
    let mut cmd = Command::new(REPORTD);
    cmd.args(["--data-dir", inst.dir.to_str().unwrap(), "serve"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    sockets.pass(&mut cmd);
    let server = Server(cmd.spawn().unwrap());
    inst.wait_running();
    let t = thumbprint_in(&inst.ok(&[
        "cert",
        "new-self-signed",
        "--dns-name",
        "localhost",
        "--days",
        "5",
    ]));
    let list = inst.ok(&["cert", "list"]);
    assert!(list.contains("days left"), "{list}");
    let v: serde_json::Value = serde_json::from_str(&inst.ok(&["cert", "list", "--json"])).unwrap();
    let days = v[0]["days_to_expiry"].as_i64().unwrap();
    assert!((3..=5).contains(&days), "{v}");
    inst.ok(&[
        "webservice",
        "https",
        "--cert",
        &t,
        "--port",
        &https.to_string(),
    ]);
    let out = inst.ok(&["status"]);
    assert!(out.contains(&t) && out.contains("days left"), "{out}");
    assert!(
        out.contains("Warning: critical: certificate") && out.contains("ssl update"),
        "{out}"
    );
    let v: serde_json::Value = serde_json::from_str(&inst.ok(&["status", "--json"])).unwrap();
    assert_eq!(v["certificates"][0]["thumbprint"], t.as_str(), "{v}");
    drop(server);
    let log = read_to_string(&inst.tmp.path().join("server.log"));
    let changes: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("live change applied"))
        .collect();
    assert!(
        changes.iter().any(|l| l.contains("reportctl")
            && l.contains("who=")
            && l.contains(&format!("listening on port {https}"))),
        "{log}"
    );
    assert!(
        log.contains("critical: certificate"),
        "no expiry warning in the log: {log}"
    );
}

#[test]
fn quickstart_builds_beside_the_data_dir_and_commits_once() {
    // A step that fails while the instance is being built (the administrator password is
    // refused by the policy after the ports were checked): nothing appears, nothing is left
    // beside it either.
    let inst = Instance::new();
    let sockets = Sockets::new(2);
    let short = inst.file("short.pw", b"short\n");
    let before: Vec<_> = std::fs::read_dir(inst.tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let (https, http) = (sockets.port(0).to_string(), sockets.port(1).to_string());
    let o = quickstart(
        &inst,
        &sockets,
        &[
            "--https-port",
            &https,
            "--http-port",
            &http,
            "--admin-password-file",
            short.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(stderr(&o).contains("too short"), "{}", stderr(&o));
    assert!(!inst.dir.exists(), "quickstart left {}", inst.dir.display());
    let after: Vec<_> = std::fs::read_dir(inst.tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(after, before, "nothing left beside the data dir");

    // Into an existing directory holding a file of its owner's: the instance arrives whole
    // (the file is kept), serves, and no staging directory stays behind.
    std::fs::create_dir(&inst.dir).unwrap();
    std::fs::write(inst.dir.join("notes.txt"), b"mine").unwrap();
    let mut child = quickstart(
        &inst,
        &sockets,
        &["--https-port", &https, "--http-port", &http],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let lines = lines_until(&mut child, "Trust");
    let _server = Server(child);
    assert!(
        lines
            .iter()
            .any(|l| l == &format!("Web Portal URL: https://localhost:{https}/Reports")),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| !l.contains("+:")), "{lines:?}");
    assert_eq!(std::fs::read(inst.dir.join("notes.txt")).unwrap(), b"mine");
    let left: Vec<String> = std::fs::read_dir(inst.tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "staging left: {left:?}");
    // One instance, whole: its database, its certificate bound, the samples' directory
    // recorded where the instance lives now (not where it was built).
    let settings = datadir::DataDir::new(&inst.dir)
        .load_config()
        .unwrap()
        .settings;
    assert!(settings.database_url.is_some());
    assert_eq!(settings.secure_connection_level, 1);
    assert!(
        settings
            .data_source_directories
            .starts_with(std::path::absolute(&inst.dir).unwrap().to_str().unwrap()),
        "{}",
        settings.data_source_directories
    );
    let repo = httpsys::Repository::load(&datadir::DataDir::new(&inst.dir)).unwrap();
    assert_eq!(repo.ssl_bindings.len(), 1);
}
