//! `reportctl user list|passwd|remove|roles` with the real binaries, against a running
//! server (curl as the client): a changed password and a removed user stop working at the
//! very next request, although their credentials were cached; the last System Administrator
//! cannot be removed; every change is one audit line in the server's log; a catalog that stops answering gives 503 within a second (PostgreSQL,
//! when REPORTD_TEST_PG_URL is set).

mod common;

use std::time::{Duration, Instant};

use common::*;

struct Running {
    inst: Instance,
    server: std::process::Child,
    base: String,
}

impl Running {
    /// Stops the server (SIGTERM) and returns what it logged.
    fn stop_and_read_log(&mut self) -> String {
        let mut stderr = self.server.stderr.take().unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.server.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let _ = self.server.wait();
        let mut log = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut log).unwrap();
        log
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn start() -> Running {
    let inst = Instance::new();
    let sockets = Sockets::new(1);
    let port = sockets.port(0);
    inst.init_admin(port, "correct horse battery");
    inst.ok(&["database", "create"]);
    let server = inst.spawn_server(&sockets);
    inst.wait_running();
    Running {
        inst,
        server,
        base: format!("http://127.0.0.1:{port}"),
    }
}

#[test]
fn list_passwd_and_remove_take_effect_at_once() {
    let r = start();
    let inst = &r.inst;
    let page = format!("{}/ReportServer", r.base);
    let bob_pw = inst.file("bob.pw", b"bob password one\n");
    inst.ok(&[
        "user",
        "add",
        "bob",
        "--password-file",
        bob_pw.to_str().unwrap(),
    ]);

    let out = inst.ok(&["user", "list"]);
    assert!(
        out.contains("admin") && out.contains("System Administrator"),
        "{out}"
    );
    assert!(out.contains("bob") && out.contains("Browser"), "{out}");
    let json: serde_json::Value = serde_json::from_str(&inst.ok(&["--json", "user", "list"]))
        .expect("user list --json is JSON");
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "bob"]);
    assert_eq!(json[1]["root_roles"][0], "Browser");

    // Signed in (and so cached by the server).
    assert_eq!(curl(&page, Some("bob:bob password one"), &[]).status, 200);
    assert_eq!(
        curl(&page, Some("admin:correct horse battery"), &[]).status,
        200
    );

    // passwd: the old password fails at the next request, the new one works.
    let new_pw = inst.file("bob2.pw", b"bob password two\n");
    let out = inst.ok(&[
        "user",
        "passwd",
        "bob",
        "--password-file",
        new_pw.to_str().unwrap(),
    ]);
    assert!(out.contains("Password of bob changed"), "{out}");
    assert_eq!(curl(&page, Some("bob:bob password one"), &[]).status, 401);
    assert_eq!(curl(&page, Some("bob:bob password two"), &[]).status, 200);
    // Policy and unknown users.
    let short = inst.file("short.pw", b"short\n");
    let err = inst.fails(&[
        "user",
        "passwd",
        "bob",
        "--password-file",
        short.to_str().unwrap(),
    ]);
    assert!(err.contains("at least 8 characters"), "{err}");
    let err = inst.fails(&[
        "user",
        "passwd",
        "ghost",
        "--password-file",
        new_pw.to_str().unwrap(),
    ]);
    assert!(err.contains("no user named 'ghost'"), "{err}");

    // remove: refused for the last System Administrator, at once for bob.
    let err = inst.fails(&["user", "remove", "admin"]);
    assert!(err.contains("last System Administrator"), "{err}");
    assert_eq!(
        curl(&page, Some("admin:correct horse battery"), &[]).status,
        200
    );
    let out = inst.ok(&["user", "remove", "BOB"]);
    assert!(out.contains("removed"), "{out}");
    assert_eq!(curl(&page, Some("bob:bob password two"), &[]).status, 401);
    let err = inst.fails(&["user", "remove", "bob"]);
    assert!(err.contains("no user named"), "{err}");
    let out = inst.ok(&["user", "list"]);
    assert!(!out.contains("bob"), "{out}");
}

/// A forwarder to PostgreSQL that can be cut (then the port refuses connections).
fn forwarder(
    upstream: std::net::SocketAddr,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let cut = std::sync::Arc::new(AtomicBool::new(false));
    let flag = cut.clone();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut conns: Vec<std::net::TcpStream> = Vec::new();
        loop {
            if flag.load(Ordering::Relaxed) {
                for c in &conns {
                    let _ = c.shutdown(std::net::Shutdown::Both);
                }
                return; // the listener closes: refused from now on
            }
            match listener.accept() {
                Ok((inbound, _)) => {
                    inbound.set_nonblocking(false).unwrap();
                    let Ok(out) = std::net::TcpStream::connect(upstream) else {
                        continue;
                    };
                    for (mut a, mut b) in [
                        (inbound.try_clone().unwrap(), out.try_clone().unwrap()),
                        (out.try_clone().unwrap(), inbound.try_clone().unwrap()),
                    ] {
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut a, &mut b);
                            let _ = b.shutdown(std::net::Shutdown::Both);
                        });
                    }
                    conns.push(inbound);
                    conns.push(out);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (port, cut)
}

#[test]
fn postgres_that_stops_answering_gives_503_within_a_second() {
    let Some(base_url) = std::env::var("REPORTD_TEST_PG_URL")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "REPORTD_TEST_PG_URL must be set in CI"
        );
        println!("skipped: REPORTD_TEST_PG_URL not set");
        return;
    };
    // postgres://user@127.0.0.1:5432/postgres → the same server through the forwarder,
    // a fresh database.
    let rest = base_url.split_once("://").unwrap().1;
    let (auth, _) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, hostport) = auth.rsplit_once('@').unwrap_or(("postgres", auth));
    let hostport = hostport.replace("localhost", "127.0.0.1");
    let upstream: std::net::SocketAddr = hostport.parse().expect("REPORTD_TEST_PG_URL host:port");
    let (port, cut) = forwarder(upstream);
    let db = format!("reportd_outage_{}", std::process::id());
    let url = format!("postgres://{user}@127.0.0.1:{port}/{db}");

    let inst = Instance::new();
    let sockets = Sockets::new(1);
    let http = sockets.port(0);
    let pw = inst.file("admin.pw", b"correct horse battery\n");
    inst.ok(&[
        "init",
        "--http-port",
        &http.to_string(),
        "--admin-user",
        "admin",
        "--admin-password-file",
        pw.to_str().unwrap(),
    ]);
    inst.ok(&["database", "create", "--url", &url]);
    let server = inst.spawn_server(&sockets);
    inst.wait_running();
    let _running = Running {
        inst,
        server,
        base: String::new(),
    };
    let page = format!("http://127.0.0.1:{http}/ReportServer");
    assert_eq!(
        curl(&page, Some("admin:correct horse battery"), &[]).status,
        200
    );

    cut.store(true, std::sync::atomic::Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..3 {
        // A page that needs the database (the generation is re-read every second).
        std::thread::sleep(Duration::from_millis(1100));
        let t2 = Instant::now();
        let r = curl(&page, Some("admin:correct horse battery"), &[]);
        let took = t2.elapsed();
        assert_eq!(r.status, 503, "{r:?}");
        assert!(r.body.contains("not answering"), "{}", r.body);
        assert!(r.body.contains("reportctl database status"), "{}", r.body);
        assert!(took < Duration::from_secs(1), "503 after {took:?}");
    }
    // Clean up the database on the real server.
    let _ = std::process::Command::new("psql")
        .args([
            base_url.as_str(),
            "-c",
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        ])
        .output();
}

#[test]
fn a_user_name_with_a_newline_cannot_forge_a_log_line() {
    let mut r = start();
    let forged = "bob\n2026-01-01T00:00:00Z  INFO forged: admin signed in";
    let b64 = base64_encode(format!("{forged}:wrong password").as_bytes());
    let page = format!("{}/ReportServer", r.base);
    let reply = curl(&page, None, &["-H", &format!("Authorization: Basic {b64}")]);
    assert_eq!(reply.status, 401, "{reply:?}");
    let log = r.stop_and_read_log();
    assert!(log.contains("sign-in refused"), "{log}");
    assert!(
        log.contains("bob\\n2026-01-01"),
        "the name is escaped: {log}"
    );
    assert!(
        !log.lines()
            .any(|l| l.contains("INFO forged") && !l.contains("bob\\n")),
        "a forged line: {log}"
    );
}

/// Base64 by coreutils' `base64` (an outside tool, as curl is).
fn base64_encode(data: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("base64")
        .arg("-w0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("coreutils base64 runs");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn system_roles_and_every_user_change_are_one_audit_line_in_the_server_log() {
    let mut r = start();
    let inst = &r.inst;
    let pw = inst.file("carol.pw", b"carol password 1\n");
    let pw = pw.to_str().unwrap();
    inst.ok(&[
        "user",
        "add",
        "carol",
        "--password-file",
        pw,
        "--role",
        "Publisher",
    ]);
    let out = inst.ok(&["user", "roles", "carol", "--system-role", "System User"]);
    assert!(
        out.contains("carol now holds the system role(s) System User"),
        "{out}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&inst.ok(&["--json", "user", "list"])).unwrap();
    let carol = json
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "carol")
        .unwrap();
    assert_eq!(carol["system_roles"], serde_json::json!(["System User"]));
    assert_eq!(carol["root_roles"], serde_json::json!(["Publisher"]));

    // The operation's refusals, each with this front end's fix.
    let err = inst.fails(&["user", "roles", "carol", "--system-role", "Browser"]);
    assert!(
        err.contains("Browser is not a system role") && err.contains("--system-role"),
        "{err}"
    );
    let err = inst.fails(&["user", "roles", "admin"]);
    assert!(err.contains("last System Administrator"), "{err}");
    let err = inst.fails(&["user", "add", "a:b", "--password-file", pw]);
    assert!(
        err.contains("invalid user name") && err.contains("pass another NAME"),
        "{err}"
    );
    let out = inst.ok(&["user", "list"]);
    assert!(!out.contains("a:b"), "{out}");

    // The server logs each change made by the other process once: what, by whom, from where.
    let log = r.stop_and_read_log();
    for what in [
        "user carol added (item role on /: Publisher)",
        "system roles of carol set: System User",
    ] {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(what)).collect();
        assert_eq!(lines.len(), 1, "{what}: {log}");
        assert!(
            lines[0].contains("catalog change") && lines[0].contains("(reportctl)"),
            "{}",
            lines[0]
        );
    }
    assert!(!log.contains("carol password"), "no password in the log");
}
