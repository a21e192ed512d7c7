//! `reportctl cert acme` against a local ACME CA: Debian's `pebble` with
//! `pebble-challtestsrv` as its DNS (every name is 127.0.0.1; `set-servfail` makes one
//! fail). The server answers HTTP-01 on its http reservation, installs and binds the
//! certificate, renews it on `cert renew` with 0 failed requests from a curl loop, and
//! bad input (unreachable directory, a URL that is not a directory, a failing challenge)
//! is a clear error in the command, `status` and the log while the old certificate stays.
//!
//! pebble and pebble-challtestsrv bind their own ports from their configuration (they take
//! no inherited sockets): they are given port 0 and the ports they got are read back from
//! /proc; the reportd server itself gets its sockets as usual.

mod certsource;
mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use certsource::*;
use common::{ClosedPort, curl};

#[test]
fn acme_certificate_obtained_served_renewed_and_bad_input_refused() {
    if !(have("pebble", "the local ACME CA")
        && have("pebble-challtestsrv", "pebble's DNS")
        && have("openssl", "certificates and s_client")
        && have("curl", "the request loop"))
    {
        return;
    }
    let r = started();
    let inst = &r.inst;
    let https = r.https();
    let work = r.path("pebble");
    // HTTP-01 goes to the reportd server's http port, TLS-ALPN-01 to its https port.
    let common::Pebble {
        procs: _procs,
        directory,
        ca: ca_s,
        mgmt_port,
        dns_mgmt,
    } = common::start_pebble(&work, r.http(), r.https(), false);
    let root = work.join("pebble-root.pem");
    let res = curl(
        &format!("https://localhost:{mgmt_port}/roots/0"),
        None,
        &["--cacert", &ca_s],
    );
    assert_eq!(res.status, 200, "{res:?}");
    std::fs::write(&root, &res.body).unwrap();

    // Obtain, bind, serve: the chain verifies against pebble's root.
    let t0 = std::time::Instant::now();
    let out = inst.ok(&[
        "cert",
        "acme",
        "--dns-name",
        "reports.test",
        "--directory",
        &directory,
        "--directory-ca",
        &ca_s,
        "--email",
        "admin@reports.test",
        "--bind",
        "webservice",
        "--ipport",
        &format!("0.0.0.0:{https}"),
    ]);
    println!(
        "certificate obtained and bound in {} ms",
        t0.elapsed().as_millis()
    );
    let t1 = thumbprint_in(&out);
    assert_eq!(served(https, "reports.test").as_deref(), Some(t1.as_str()));
    let o = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{https}")])
        .args([
            "-servername",
            "reports.test",
            "-verify_return_error",
            "-CAfile",
        ])
        .arg(&root)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let so = String::from_utf8_lossy(&o.stdout);
    assert!(so.contains("Verify return code: 0 (ok)"), "{so}");
    let sources: serde_json::Value =
        serde_json::from_str(&inst.ok(&["cert", "sources", "--json"])).unwrap();
    assert_eq!(sources[0]["id"], "acme-1", "{sources}");
    assert_eq!(
        sources[0]["state"]["renewal_basis"], "2/3 of the lifetime",
        "pebble 2.4 offers no ARI: {sources}"
    );
    assert!(sources[0]["state"]["next_attempt"].is_string(), "{sources}");
    assert!(
        !std::fs::read_to_string(inst.dir.join("certsources.json"))
            .unwrap()
            .contains("PRIVATE KEY")
    );

    // Forced renewal under a request loop: 0 failed requests, the new certificate served.
    let url = format!("https://reports.test:{https}/ReportServer");
    let stop = Arc::new(AtomicBool::new(false));
    let lp = curl_loop(
        url,
        vec![
            "--resolve".into(),
            format!("reports.test:{https}:127.0.0.1"),
            "--cacert".into(),
            root.to_str().unwrap().into(),
        ],
        stop.clone(),
    );
    std::thread::sleep(Duration::from_secs(1));
    let out = inst.ok(&["cert", "renew", "acme-1"]);
    let t2 = thumbprint_in(&out);
    assert_ne!(t1, t2);
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::SeqCst);
    let (n, failed) = lp.join().unwrap();
    println!("renewal under load: {n} requests, {} failed", failed.len());
    assert!(failed.is_empty(), "{failed:?}");
    assert!(n >= 5, "only {n} requests");
    assert_eq!(served(https, "reports.test").as_deref(), Some(t2.as_str()));
    let list = inst.ok(&["ssl", "list", "--json"]);
    assert!(list.contains(&t2) && !list.contains(&t1), "{list}");

    // Bad input: each a clear error in the command, status and the log; t2 still served.
    let bad = |args: &[&str], expect: &str| {
        let mut all = vec!["cert", "acme", "--timeout", "120"];
        all.extend_from_slice(args);
        let err = inst.fails(&all);
        assert!(err.contains(expect), "{args:?}: {err}");
        let w = r.warnings();
        assert!(
            w.iter().any(|w| w.contains("acme-2") && w.contains(expect)),
            "{w:?}"
        );
        assert!(r.log().contains(expect), "the log names it: {expect}");
        assert_eq!(served(https, "reports.test").as_deref(), Some(t2.as_str()));
        inst.ok(&["cert", "sources", "--remove", "acme-2"]);
    };
    let closed = ClosedPort::new();
    bad(
        &[
            "--dns-name",
            "reports.test",
            "--directory",
            &format!("https://127.0.0.1:{}/dir", closed.port),
        ],
        "cannot reach the ACME directory",
    );
    bad(
        &[
            "--dns-name",
            "reports.test",
            "--directory",
            &format!("https://localhost:{mgmt_port}/roots/0"),
            "--directory-ca",
            &ca_s,
        ],
        "is not an ACME directory",
    );
    let res = curl(
        &format!("http://127.0.0.1:{dns_mgmt}/set-servfail"),
        None,
        &["-X", "POST", "-d", "{\"host\":\"fail.test\"}"],
    );
    assert_eq!(res.status, 200, "{res:?}");
    bad(
        &[
            "--dns-name",
            "fail.test",
            "--directory",
            &directory,
            "--directory-ca",
            &ca_s,
        ],
        "the ACME challenge for fail.test failed",
    );
    // TLS-ALPN-01 on the https port: the challenge certificate is chosen before the
    // bindings, which keep serving t2 to everyone else.
    let out = inst.ok(&[
        "cert",
        "acme",
        "--dns-name",
        "alpn.test",
        "--challenge",
        "tls-alpn-01",
        "--directory",
        &directory,
        "--directory-ca",
        &ca_s,
    ]);
    let t3 = thumbprint_in(&out);
    let sources: serde_json::Value =
        serde_json::from_str(&inst.ok(&["cert", "sources", "--json"])).unwrap();
    assert_eq!(sources[1]["challenge"], "tls-alpn-01", "{sources}");
    assert_eq!(sources[1]["thumbprint"], t3.as_str(), "{sources}");
    assert_eq!(served(https, "reports.test").as_deref(), Some(t2.as_str()));

    // Refused before anything is registered.
    let err = inst.fails(&["cert", "acme", "--dns-name", "127.0.0.1"]);
    assert!(err.contains("not a DNS host name"), "{err}");
}
