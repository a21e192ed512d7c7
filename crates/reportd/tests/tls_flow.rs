//! The seed page's workflow end to end with the real binaries, and outside clients
//! (`curl --cacert`, `openssl s_client`): install a certificate, select it for the Web
//! Service URL and Apply, add an HTTPS identity for the portal, open the https URLs; SNI and
//! its fallbacks; re-binds, conflicts, renewal, unbind; the traps of HTTP.sys fixed.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn thumbprint_in(out: &str) -> String {
    out.split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 40)
        .unwrap_or_else(|| panic!("no thumbprint in {out:?}"))
        .to_owned()
}

/// `openssl s_client` against 127.0.0.1:port; returns (handshake ok, full output).
fn s_client(port: u16, args: &[&str]) -> (bool, String) {
    let mut c = Command::new("openssl");
    c.args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    // Closing stdin ends the session after the handshake.
    child.stdin.take().unwrap().write_all(b"").unwrap();
    let o = child.wait_with_output().unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // With -sess_in, s_client prints the loaded session even when the handshake failed:
    // a fatal alert or SSL error line is what tells.
    let ok =
        out.contains("Cipher is ") && !out.contains("Cipher is (NONE)") && !out.contains(":error:");
    (ok, out)
}

/// SHA-1 fingerprint of the certificate the server presents, upper-case hex, no colons.
fn served_thumbprint(port: u16, sni: Option<&str>) -> Option<String> {
    let mut args = vec![];
    match sni {
        Some(s) => args.extend(["-servername", s]),
        None => args.push("-noservername"),
    }
    let (ok, out) = s_client(port, &args);
    if !ok {
        return None;
    }
    pem_sha1(&out)
}

struct Running {
    inst: Instance,
    child: std::process::Child,
    http: u16,
    /// The server's sockets: 0 is the http port, 1 a spare for an https reservation.
    sockets: Sockets,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn started() -> Running {
    let inst = Instance::new();
    let sockets = Sockets::new(2);
    let http = sockets.port(0);
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
    let child = inst.spawn_server(&sockets);
    inst.wait_running();
    Running {
        inst,
        child,
        http,
        sockets,
    }
}

const ADMIN: Option<&str> = Some("admin:admin password 1");

#[test]
fn seed_workflow_webservice_then_portal() {
    let r = started();
    let inst = &r.inst;
    let https = r.sockets.port(1);

    // Install a server certificate: self-signed, exported to PFX, imported into Root.
    let out = inst.ok(&[
        "cert",
        "new-self-signed",
        "--dns-name",
        "localhost",
        "--dns-name",
        "127.0.0.1",
        "--friendly-name",
        "Test certificate",
    ]);
    let t = thumbprint_in(&out);
    let pw = inst.file("pfx.pw", b"pfx secret\n");
    let pfx = inst.tmp.path().join("certificate-export.pfx");
    inst.ok(&[
        "cert",
        "export",
        &t,
        "--pfx",
        pfx.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    inst.ok(&[
        "cert",
        "import",
        "--pfx",
        pfx.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
        "--store",
        "Root",
    ]);
    let pem = inst.tmp.path().join("trust.pem");
    inst.ok(&["cert", "export", &t, "--pem", pem.to_str().unwrap()]);

    // Web Service URL: select the certificate, Apply.
    let out = inst.ok(&[
        "webservice",
        "https",
        "--cert",
        &t,
        "--port",
        &https.to_string(),
    ]);
    assert!(
        out.contains("Reserving URL") && out.contains("Binding certificate"),
        "{out}"
    );
    assert!(
        out.contains(&format!("https://localhost:{https}/ReportServer")),
        "{out}"
    );
    let url = format!("https://localhost:{https}/ReportServer");
    let res = curl(&url, ADMIN, &["--cacert", pem.to_str().unwrap()]);
    assert_eq!(res.status, 200, "{res:?}");
    assert!(
        res.body.contains("localhost/ReportServer - /"),
        "{}",
        res.body
    );
    // The portal is not on https yet: 400 (no reservation of the portal matches).
    let res = curl(
        &format!("https://localhost:{https}/Reports"),
        ADMIN,
        &["--cacert", pem.to_str().unwrap()],
    );
    assert_eq!(res.status, 400, "{res:?}");

    // Web Portal URL: add an HTTPS identity with the same certificate.
    let out = inst.ok(&[
        "portal",
        "add-https-identity",
        "--cert",
        &t,
        "--port",
        &https.to_string(),
    ]);
    assert!(out.contains("/Reports"), "{out}");
    let res = curl(
        &format!("https://localhost:{https}/Reports"),
        ADMIN,
        &["--cacert", pem.to_str().unwrap()],
    );
    assert_eq!(res.status, 200, "{res:?}");
    // Over TLS: security headers, no compression even when asked.
    let res = curl(
        &url,
        ADMIN,
        &[
            "--cacert",
            pem.to_str().unwrap(),
            "-H",
            "Accept-Encoding: gzip, br",
        ],
    );
    let h = res.headers.to_ascii_lowercase();
    assert!(
        h.contains("x-content-type-options: nosniff") && !h.contains("content-encoding"),
        "{h}"
    );

    // Re-running is a no-op; the binding is shared and listed.
    let out = inst.ok(&[
        "ssl",
        "bind",
        "webservice",
        &t,
        "--ipport",
        &format!("0.0.0.0:{https}"),
    ]);
    assert!(out.contains("nothing to do"), "{out}");
    let list: serde_json::Value =
        serde_json::from_str(&inst.ok(&["ssl", "list", "--json"])).unwrap();
    assert_eq!(
        list[0]["applications"].as_array().unwrap().len(),
        2,
        "{list}"
    );

    // A bound certificate cannot be removed; the error names the binding.
    let err = inst.fails(&["cert", "remove", &t, "--store", "My"]);
    assert!(err.contains(&format!("0.0.0.0:{https}")), "{err}");

    // TLS 1.1 is refused; TLS 1.2 and 1.3 work.
    let (ok, _) = s_client(
        https,
        &[
            "-servername",
            "localhost",
            "-tls1_1",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
        ],
    );
    assert!(!ok, "TLS 1.1 must be refused");
    assert!(s_client(https, &["-servername", "localhost", "-tls1_2"]).0);
    assert!(s_client(https, &["-servername", "localhost", "-tls1_3"]).0);

    // SecureConnectionLevel 1: http redirects to the https reservation.
    inst.ok(&["config", "set", "SecureConnectionLevel", "1"]);
    let res = curl(
        &format!("http://localhost:{}/ReportServer?/", r.http),
        None,
        &[],
    );
    assert!(matches!(res.status, 301 | 308), "{res:?}");
    assert!(
        res.headers
            .contains(&format!("https://localhost:{https}/ReportServer")),
        "{}",
        res.headers
    );

    // explain names application, reservation, binding, certificate.
    let out = inst.ok(&["explain", &url]);
    assert!(
        out.contains("ReportServerWebService") && out.contains(&t),
        "{out}"
    );
}

#[test]
fn sni_choice_fallbacks_resumption_and_unbind() {
    let r = started();
    let inst = &r.inst;
    let https = r.sockets.port(1);
    let t_any = thumbprint_in(&inst.ok(&["cert", "new-self-signed", "--dns-name", "localhost"]));
    let t_b = thumbprint_in(&inst.ok(&["cert", "new-self-signed", "--dns-name", "b.test"]));
    let t_c = thumbprint_in(&inst.ok(&[
        "cert",
        "new-self-signed",
        "--dns-name",
        "b.test",
        "--key-type",
        "rsa-2048",
    ]));
    inst.ok(&[
        "url",
        "reserve",
        "webservice",
        &format!("https://+:{https}"),
    ]);

    // Nothing bound yet: the port listens but no handshake completes.
    assert_eq!(served_thumbprint(https, Some("localhost")), None);

    inst.ok(&[
        "ssl",
        "bind",
        "webservice",
        &t_any,
        "--ipport",
        &format!("0.0.0.0:{https}"),
    ]);
    inst.ok(&[
        "ssl",
        "bind",
        "webservice",
        &t_b,
        "--hostnameport",
        &format!("b.test:{https}"),
    ]);
    assert_eq!(
        served_thumbprint(https, Some("b.test")).as_deref(),
        Some(t_b.as_str()),
        "SNI match"
    );
    assert_eq!(
        served_thumbprint(https, Some("other.test")).as_deref(),
        Some(t_any.as_str()),
        "fallback to 0.0.0.0"
    );
    assert_eq!(
        served_thumbprint(https, None).as_deref(),
        Some(t_any.as_str()),
        "no SNI: fallback"
    );

    // Conflicting bind refused; a certificate that does not name the host refused.
    let err = inst.fails(&[
        "ssl",
        "bind",
        "webservice",
        &t_c,
        "--hostnameport",
        &format!("b.test:{https}"),
    ]);
    assert!(err.contains("ssl update"), "{err}");
    let err = inst.fails(&[
        "ssl",
        "bind",
        "webservice",
        &t_any,
        "--hostnameport",
        &format!("c.test:{https}"),
    ]);
    assert!(err.contains("does not cover host c.test"), "{err}");
    let err = inst.fails(&[
        "ssl",
        "bind",
        "webservice",
        &t_any,
        "--ipport",
        &format!("192.0.2.77:{https}"),
    ]);
    assert!(err.contains("not an address of this machine"), "{err}");

    // Renewal: ssl update, the next handshake has the new certificate.
    let out = inst.ok(&[
        "ssl",
        "update",
        "webservice",
        &t_c,
        "--hostnameport",
        &format!("b.test:{https}"),
    ]);
    assert!(out.contains("ReportServerWebService"), "{out}");
    assert_eq!(
        served_thumbprint(https, Some("b.test")).as_deref(),
        Some(t_c.as_str())
    );

    // Resumption while bound; none after unbind.
    let sess = inst.tmp.path().join("sess.pem");
    let (ok, _) = s_client(
        https,
        &[
            "-servername",
            "localhost",
            "-tls1_2",
            "-sess_out",
            sess.to_str().unwrap(),
        ],
    );
    assert!(ok);
    let (ok, out) = s_client(
        https,
        &[
            "-servername",
            "localhost",
            "-tls1_2",
            "-sess_in",
            sess.to_str().unwrap(),
        ],
    );
    assert!(
        ok && out.contains("Reused"),
        "resumption while bound: {out}"
    );
    inst.ok(&[
        "ssl",
        "unbind",
        "webservice",
        "--ipport",
        &format!("0.0.0.0:{https}"),
    ]);
    let (ok, out) = s_client(
        https,
        &[
            "-servername",
            "localhost",
            "-tls1_2",
            "-sess_in",
            sess.to_str().unwrap(),
        ],
    );
    assert!(
        !ok || !out.contains("Reused"),
        "no resumption after unbind: {out}"
    );
    assert!(!ok, "no handshake for an unbound endpoint: {out}");
    // The SNI binding still serves b.test.
    assert_eq!(
        served_thumbprint(https, Some("b.test")).as_deref(),
        Some(t_c.as_str())
    );

    // A certificate deleted behind reportd's back: status says so, httpcfg delete removes it.
    for entry in std::fs::read_dir(inst.dir.join("certs/My")).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with(&t_c) {
            std::fs::remove_file(p).unwrap();
        }
    }
    let st = inst.ctl(&["status"]);
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(text.contains("no longer in store My"), "{text}");
    inst.ok(&[
        "httpcfg",
        "delete",
        "ssl",
        "--hostnameport",
        &format!("b.test:{https}"),
    ]);
    assert!(
        inst.ok(&["httpcfg", "query", "ssl"])
            .lines()
            .all(|l| !l.contains("b.test"))
    );
    assert_eq!(
        served_thumbprint(https, Some("b.test")),
        None,
        "no binding left: no handshake"
    );
}

#[test]
fn port_conflict_and_drift() {
    let r = started();
    let inst = &r.inst;
    let held = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let err = inst.fails(&["url", "reserve", "portal", &format!("http://+:{port}")]);
    assert!(err.contains(&format!("port {port}")), "{err}");
    let list = inst.ok(&["url", "list"]);
    assert!(
        !list.contains(&port.to_string()),
        "reservation left behind: {list}"
    );
    drop(held);

    // A hand edit of the generated section is drift: reported, not applied.
    let cfg = inst.dir.join("reportd.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let edited = text.replace(&format!("http://+:{}", r.http), "http://+:1");
    assert_ne!(text, edited);
    std::fs::write(&cfg, edited).unwrap();
    let out = String::from_utf8_lossy(&inst.ctl(&["status"]).stdout).into_owned();
    assert!(out.contains("drift"), "{out}");
    assert_eq!(
        curl(
            &format!("http://127.0.0.1:{}/ReportServer", r.http),
            ADMIN,
            &[]
        )
        .status,
        200
    );
}

#[test]
fn quickstart_serves_https_and_redirects_http() {
    let inst = Instance::new();
    let sockets = Sockets::new(2);
    let (https, http) = (sockets.port(0), sockets.port(1));
    let pw = inst.file("admin.pw", b"quickstart pass 1\n");
    let mut cmd = Command::new(REPORTD);
    cmd.args([
        "--data-dir",
        inst.dir.to_str().unwrap(),
        "quickstart",
        "--https-port",
        &https.to_string(),
        "--http-port",
        &http.to_string(),
        "--admin-password-file",
        pw.to_str().unwrap(),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    sockets.pass(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut trust = None;
    let mut lines = Vec::new();
    while trust.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no Trust: line; got {lines:?}"));
        if let Some(p) = line.strip_prefix("Trust: ") {
            trust = Some(p.to_owned());
        }
        lines.push(line);
    }
    let trust = trust.unwrap();
    assert!(std::path::Path::new(&trust).is_absolute(), "{trust}");
    let res = curl(
        &format!("https://localhost:{https}/ReportServer"),
        Some("admin:quickstart pass 1"),
        &["--cacert", &trust],
    );
    assert_eq!(res.status, 200, "{res:?}");
    assert!(res.body.contains("Samples"), "{}", res.body);
    let res = curl(
        &format!("https://localhost:{https}/Reports"),
        Some("admin:quickstart pass 1"),
        &["--cacert", &trust],
    );
    assert_eq!(res.status, 200, "{res:?}");
    // Over HTTP/2 the host comes as `:authority`: absolute URLs keep its port.
    let res = curl(
        &format!("https://localhost:{https}/Reports/api/v2.0/System"),
        Some("admin:quickstart pass 1"),
        &["--cacert", &trust, "--http2"],
    );
    assert_eq!(res.status, 200, "{res:?}");
    assert!(
        res.body.contains(&format!("localhost:{https}/")),
        "System over h2 lost the port: {}",
        res.body
    );
    let res = curl(&format!("http://localhost:{http}/Reports"), None, &[]);
    assert!(matches!(res.status, 301 | 308), "{res:?}");
    // Credentials are never accepted over http.
    let res = curl(
        &format!("http://localhost:{http}/ReportServer"),
        Some("admin:quickstart pass 1"),
        &[],
    );
    assert_ne!(res.status, 200, "{res:?}");
    let _ = child.kill();
    let _ = child.wait();
}
