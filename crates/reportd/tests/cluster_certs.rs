//! The cluster certificate store (`--store Cluster`) and central-store bindings
//! (`ssl add APP --ccs PORT`) on three real nodes sharing one PostgreSQL database: every
//! node serves the Cluster certificate chosen by SNI; a newer certificate added on one node
//! is served by every node's next handshake within 1 s (measured), with no failed request
//! under a load running on all three meanwhile; an unmatched name or no SNI gets no
//! certificate. On a single node (SQLite) `--store Cluster` is refused with a clear error.
//!
//! Needs PostgreSQL (`REPORTD_TEST_PG_URL`); prints `skipped:` without it, fails under
//! `CI=true`. Handshakes are made in the test process (rustls, any certificate accepted:
//! the test looks at which one it got), so the figures hold no process start-up.

mod common;
#[path = "common/pgcluster.rs"]
mod pgcluster;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{ClosedPort, Instance, Kill, Sockets};
use pgcluster::{ADMIN, FreshDb, Node, join, pg_base, start_node_on};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Accepts any certificate: the test checks which one it was given.
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn client(sni: bool) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    cfg.enable_sni = sni;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

fn sha1_hex(der: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    d.as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

/// One TLS connection to 127.0.0.1:`port` for `sni` (None: no SNI sent), optionally with a
/// GET of the Web Service: the served leaf's thumbprint (and the HTTP status).
fn request(port: u16, sni: Option<&str>, get: bool) -> Result<(String, u16), String> {
    let cfg = client(sni.is_some());
    let name = ServerName::try_from(sni.unwrap_or("unnamed.invalid").to_owned()).unwrap();
    let mut conn = rustls::ClientConnection::new(cfg, name).map_err(|e| e.to_string())?;
    let mut sock = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| e.to_string())?;
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| sha1_hex(c))
        .ok_or("no certificate")?;
    if !get {
        return Ok((leaf, 0));
    }
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    write!(
        tls,
        "GET /ReportServer HTTP/1.1\r\nHost: {}:{port}\r\nAuthorization: Basic YWRtaW46Y2x1c3RlciBhZG1pbiBwdw==\r\nConnection: close\r\n\r\n",
        sni.unwrap_or("127.0.0.1")
    )
    .map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    tls.read_exact(&mut head).map_err(|e| e.to_string())?;
    let status = std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not HTTP: {head:?}"))?;
    Ok((leaf, status))
}

/// A node with an http port (its first socket) and an https port (the second), the
/// https one reserved for the Web Service and bound as a central-store binding.
fn start_ccs_node(url: &str, first: bool) -> (Node, u16) {
    let sockets = Sockets::new(2);
    let https = sockets.port(1);
    (start_node_on(url, first, &sockets), https)
}

fn bind_ccs(node: &Node, https: u16) {
    node.inst.ok(&[
        "url",
        "reserve",
        "webservice",
        &format!("https://+:{https}"),
    ]);
    let out = node
        .inst
        .ok(&["ssl", "add", "webservice", "--ccs", &https.to_string()]);
    assert!(out.contains("ccs:"), "{out}");
}

fn new_cluster_cert(node: &Node, names: &[&str]) -> String {
    let mut args = vec![
        "cert",
        "new-self-signed",
        "--store",
        "Cluster",
        "--days",
        "30",
    ];
    for n in names {
        args.extend(["--dns-name", n]);
    }
    node.inst.ok(&args).trim().to_owned()
}

/// Waits until `port` serves `thumb` for `sni`; how long that took.
fn until_served(port: u16, sni: &str, thumb: &str, limit: Duration) -> Duration {
    let t = Instant::now();
    loop {
        if let Ok((got, _)) = request(port, Some(sni), false)
            && got == thumb
        {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < limit,
            "port {port} did not serve {thumb} for {sni} within {limit:?}: {:?}",
            request(port, Some(sni), false)
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn every_node_serves_the_cluster_store_and_a_newer_certificate_within_a_second_under_load() {
    let Some(base) = pg_base() else { return };
    let db = FreshDb::new(&base);
    let url = db.url_via(None);
    let (n1, h1) = start_ccs_node(&url, true);
    let (n2, h2) = start_ccs_node(&url, false);
    let (n3, h3) = start_ccs_node(&url, false);
    join(&n1, &[&n2, &n3]);
    let nodes = [(&n1, h1), (&n2, h2), (&n3, h3)];

    let host = "reports.example.test";
    let a = new_cluster_cert(&n1, &[host]);
    let listed = n3
        .inst
        .ok(&["cert", "list", "--store", "Cluster", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(v[0]["thumbprint"], a.as_str(), "{listed}");
    assert_eq!(v[0]["store"], "Cluster", "{listed}");
    assert_eq!(v[0]["has_private_key"], true, "{listed}");
    assert!(!listed.contains("PRIVATE KEY"));
    // The key is sealed in the database, never in clear.
    let sealed = db.psql("SELECT encode(sealed_key, 'escape') FROM cluster_certs");
    assert!(!sealed.contains("PRIVATE"));
    for (n, h) in &nodes {
        bind_ccs(n, *h);
        until_served(*h, host, &a, Duration::from_secs(10));
        let (_, status) = request(*h, Some(host), true).unwrap();
        assert_eq!(status, 200);
        // status and the portal banner do not take the binding for one missing its certificate.
        assert!(
            !n.inst.warnings().iter().any(|w| w.contains("ccs:")),
            "{:?}",
            n.inst.warnings()
        );
        let list = n.inst.ok(&["ssl", "list", "--json"]);
        assert!(list.contains("by SNI from store Cluster"), "{list}");
    }
    // No SNI, or a name no Cluster certificate covers: no certificate, as for any
    // unmatched endpoint.
    assert!(request(h2, None, false).is_err());
    assert!(request(h2, Some("other.example.test"), false).is_err());
    // `explain` says the same: chosen by SNI from store Cluster, which certificate, or none.
    let said = n2
        .inst
        .ok(&["explain", &format!("https://{host}:{h2}/ReportServer")]);
    assert!(
        said.contains(&format!("ccs:{h2} (chosen by SNI from store Cluster"))
            && said.contains(&format!("Certificate: {a}")),
        "{said}"
    );
    let said = n2.inst.ok(&[
        "explain",
        &format!("https://other.example.test:{h2}/ReportServer"),
    ]);
    assert!(
        said.contains("no valid certificate of store Cluster covers other.example.test: the TLS handshake fails"),
        "{said}"
    );
    // curl with SNI, as an outside client, sees the same certificate.
    if common::tool_runs("openssl", "version") {
        assert_eq!(common::served(h3, host).as_deref(), Some(a.as_str()));
    }

    // Load on all three nodes while a newer certificate is added on node 2.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for (_, h) in &nodes {
        for _ in 0..2 {
            let (stop, ok, failed, h) = (stop.clone(), ok.clone(), failed.clone(), *h);
            workers.push(std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match request(h, Some(host), true) {
                        Ok((_, 200)) => {
                            ok.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok((_, s)) => failed.lock().unwrap().push(format!("{h}: status {s}")),
                        Err(e) => failed.lock().unwrap().push(format!("{h}: {e}")),
                    }
                }
            }));
        }
    }
    let mut figures = Vec::new();
    let mut previous = a.clone();
    for round in 0..3 {
        // NotBefore has second resolution: the next certificate must be visibly newer.
        std::thread::sleep(Duration::from_millis(1100));
        let newer = new_cluster_cert(&n2, &[host]);
        assert_ne!(newer, previous);
        let added = Instant::now();
        for (n, h) in &nodes {
            let d = until_served(*h, host, &newer, Duration::from_secs(5));
            figures.push(added.elapsed().max(d));
            let _ = n;
        }
        eprintln!(
            "round {round}: all three nodes serve {newer} after {:?}",
            added.elapsed()
        );
        previous = newer;
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    let failed = failed.lock().unwrap().clone();
    let ok = ok.load(Ordering::SeqCst);
    figures.sort();
    eprintln!(
        "store Cluster update -> served by every node: median {:?}, max {:?} over {} node-updates; load: {ok} requests, {} failed",
        figures[figures.len() / 2],
        figures.last().unwrap(),
        figures.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "failed requests under load: {failed:?}");
    assert!(ok > 30, "the load made only {ok} requests");
    assert!(
        *figures.last().unwrap() < Duration::from_secs(1),
        "{figures:?}"
    );

    // A wildcard certificate covers one more label; the newest covering certificate wins.
    std::thread::sleep(Duration::from_millis(1100));
    let wild = new_cluster_cert(&n3, &["*.example.test"]);
    until_served(h1, "other.example.test", &wild, Duration::from_secs(2));
    until_served(h1, host, &wild, Duration::from_secs(2));
    assert!(request(h1, Some("a.b.example.test"), false).is_err());
}

#[test]
fn a_single_node_refuses_store_cluster_and_ccs_bindings() {
    let inst = Instance::new();
    let sockets = Sockets::new(1);
    inst.init_admin(sockets.port(0), "single pw");
    for args in [
        vec![
            "cert",
            "new-self-signed",
            "--store",
            "Cluster",
            "--dns-name",
            "a.example.test",
        ],
        vec!["cert", "list", "--store", "Cluster"],
        vec!["ssl", "add", "webservice", "--ccs", "8443"],
    ] {
        let e = inst.fails(&args);
        assert!(e.contains("store Cluster needs a cluster"), "{args:?}: {e}");
        assert!(e.contains("--store My") && e.contains("PostgreSQL"), "{e}");
    }
    let e = inst.fails(&["ssl", "add", "webservice", "--ccs", "0"]);
    assert!(e.contains("--ccs"), "{e}");
}

// ----- ACME into store Cluster ----------------------------------------------------------

/// A load balancer in front of the nodes' http ports: each connection goes to the next
/// node that accepts (a dead node is skipped), so the CA's HTTP-01 request reaches any
/// node. While `hold` is set, connections wait (and `held` counts them) before going on.
struct Balancer {
    port: u16,
    hold: Arc<AtomicBool>,
    held: Arc<AtomicU64>,
}

impl Balancer {
    fn new(backends: Vec<u16>) -> Balancer {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let hold = Arc::new(AtomicBool::new(false));
        let held = Arc::new(AtomicU64::new(0));
        let (h, c) = (hold.clone(), held.clone());
        std::thread::spawn(move || {
            let next = Arc::new(AtomicU64::new(0));
            for conn in l.incoming() {
                let Ok(client) = conn else { continue };
                let (h, c, next, backends) = (h.clone(), c.clone(), next.clone(), backends.clone());
                std::thread::spawn(move || {
                    if h.load(Ordering::SeqCst) {
                        c.fetch_add(1, Ordering::SeqCst);
                        while h.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                    let start = next.fetch_add(1, Ordering::SeqCst) as usize;
                    let upstream = (0..backends.len()).find_map(|i| {
                        TcpStream::connect(("127.0.0.1", backends[(start + i) % backends.len()]))
                            .ok()
                    });
                    let Some(up) = upstream else { return };
                    let (mut a, mut b) = (client.try_clone().unwrap(), up.try_clone().unwrap());
                    let t = std::thread::spawn(move || {
                        let _ = std::io::copy(&mut a, &mut b);
                        let _ = b.shutdown(std::net::Shutdown::Write);
                    });
                    let (mut up, mut client) = (up, client);
                    let _ = std::io::copy(&mut up, &mut client);
                    let _ = client.shutdown(std::net::Shutdown::Write);
                    let _ = t.join();
                });
            }
        });
        Balancer { port, hold, held }
    }
}

/// [`common::start_pebble`] with HTTP-01 going to `http_port`, every order validating (by
/// default pebble reuses half of the valid authorizations, and a reused one sends no request
/// the test could hold). TLS-ALPN-01 is not used here: its port is one nobody listens on,
/// held with the processes. Returns the processes, the directory URL, the CA of pebble's
/// https, and the challtestsrv management port.
fn start_pebble(
    work: &std::path::Path,
    http_port: u16,
) -> ((Kill, ClosedPort), String, String, u16) {
    let tls = ClosedPort::new();
    let p = common::start_pebble(work, http_port, tls.port, true);
    ((p.procs, tls), p.directory, p.ca, p.dns_mgmt)
}

fn have(tool: &str, arg: &str) -> bool {
    common::tool_runs(tool, arg) || common::skipped(&format!("{tool} is not installed"))
}

#[test]
fn acme_into_store_cluster_served_by_all_renewed_under_load_and_finished_by_another_node() {
    if !(have("pebble", "-h") && have("pebble-challtestsrv", "-h") && have("openssl", "version")) {
        return;
    }
    let Some(base) = pg_base() else { return };
    let db = FreshDb::new(&base);
    let url = db.url_via(None);
    let (n1, h1) = start_ccs_node(&url, true);
    let (n2, h2) = start_ccs_node(&url, false);
    let (n3, h3) = start_ccs_node(&url, false);
    join(&n1, &[&n2, &n3]);
    let mut nodes = vec![(n1, h1), (n2, h2), (n3, h3)];
    for (n, h) in &nodes {
        bind_ccs(n, *h);
    }
    let lb = Balancer::new(nodes.iter().map(|(n, _)| n.port).collect());
    let work = nodes[0].0.inst.tmp.path().join("pebble");
    let (_pebble, directory, ca, dns_mgmt) = start_pebble(&work, lb.port);
    let host = "reports.test";
    let acme = |node: &Node, extra: &[&str]| -> std::process::Output {
        let mut args = vec![
            "cert",
            "acme",
            "--store",
            "Cluster",
            "--timeout",
            "120",
            "--directory-ca",
            &ca,
        ];
        args.extend_from_slice(extra);
        node.inst.ctl(&args)
    };
    let thumb_of = |o: &std::process::Output| -> String {
        assert!(
            o.status.success(),
            "cert acme: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    };

    // Obtained once, into store Cluster, served by every node.
    let t = Instant::now();
    let t1 = thumb_of(&acme(
        &nodes[0].0,
        &["--dns-name", host, "--directory", &directory],
    ));
    eprintln!("obtained {t1} into store Cluster in {:?}", t.elapsed());
    for (_, h) in &nodes {
        until_served(*h, host, &t1, Duration::from_secs(5));
    }
    let sources = db.psql("SELECT source FROM cluster_cert_sources");
    assert!(
        sources.contains("acme-1") && !sources.contains("PRIVATE"),
        "{sources}"
    );
    // The source's current certificate cannot be removed from under it.
    let refused = nodes[1]
        .0
        .inst
        .fails(&["cert", "remove", "--store", "Cluster", &t1]);
    assert!(
        refused.contains("current certificate of source acme-1")
            && refused.contains("cert sources --store Cluster --remove acme-1"),
        "{refused}"
    );
    let account = db.psql("SELECT encode(sealed_account, 'escape') FROM cluster_cert_sources");
    assert!(
        !account.contains("private") && !account.contains("BEGIN"),
        "sealed account"
    );
    // The account records the key version that sealed it (what a rotation re-seals).
    let versions = db.psql(
        "SELECT s.key_version = k.version FROM cluster_cert_sources s, cluster_keys k WHERE k.is_current",
    );
    assert_eq!(versions.trim(), "t", "cluster_cert_sources.key_version");

    // A forced renewal under load on all three nodes: 0 failed requests.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = nodes
        .iter()
        .map(|(_, h)| {
            let (stop, ok, failed, h) = (stop.clone(), ok.clone(), failed.clone(), *h);
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match request(h, Some(host), true) {
                        Ok((_, 200)) => {
                            ok.fetch_add(1, Ordering::SeqCst);
                        }
                        other => failed.lock().unwrap().push(format!("{h}: {other:?}")),
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1100));
    let t2 = thumb_of(&acme(
        &nodes[1].0,
        &["--dns-name", host, "--directory", &directory],
    ));
    assert_ne!(t1, t2);
    for (_, h) in &nodes {
        until_served(*h, host, &t2, Duration::from_secs(2));
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    let failed = failed.lock().unwrap().clone();
    eprintln!(
        "renewal under load: {} requests, {} failed",
        ok.load(Ordering::SeqCst),
        failed.len()
    );
    assert!(failed.is_empty(), "{failed:?}");
    assert!(ok.load(Ordering::SeqCst) > 10);

    // The renewing node is killed (-9) mid-order, while the CA's validation request waits
    // at the balancer: its session ends, the lock passes, another node finishes.
    lb.hold.store(true, Ordering::SeqCst);
    let held_before = lb.held.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1100));
    let (ca2, dir2) = (ca.clone(), directory.clone());
    let inst_dir = nodes[2].0.inst.dir.clone();
    let waiter = std::thread::spawn(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_reportctl"))
            .arg("--data-dir")
            .arg(inst_dir)
            .args([
                "cert",
                "acme",
                "--store",
                "Cluster",
                "--timeout",
                "120",
                "--directory-ca",
                &ca2,
            ])
            .args(["--dns-name", "reports.test", "--directory", &dir2])
            .output()
            .unwrap()
    });
    let t = Instant::now();
    while lb.held.load(Ordering::SeqCst) == held_before {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the CA never came to validate"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let holder = db.psql(
        "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'reportd-renewer-%'",
    );
    let pid: u32 = holder
        .strip_prefix("reportd-renewer-")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no renewer session: {holder:?}"));
    let i = nodes
        .iter()
        .position(|(n, _)| n.child.id() == pid)
        .unwrap_or_else(|| panic!("renewer pid {pid} is no node"));
    let (mut dead, _) = nodes.remove(i);
    dead.child.kill().unwrap();
    let _ = dead.child.wait();
    let killed = Instant::now();
    lb.hold.store(false, Ordering::SeqCst);
    let out = waiter.join().unwrap();
    let t3 = thumb_of(&out);
    eprintln!(
        "renewer (pid {pid}) killed mid-order; another node finished {t3} {:?} later",
        killed.elapsed()
    );
    assert_ne!(t3, t2);
    for (_, h) in &nodes {
        until_served(*h, host, &t3, Duration::from_secs(2));
    }
    // An older certificate of the source can go.
    let out = nodes[1]
        .0
        .inst
        .ok(&["cert", "remove", "--store", "Cluster", &t1]);
    assert!(out.contains("Removed certificate"), "{out}");
    let left = db.psql(&format!(
        "SELECT count(*) FROM cluster_certs WHERE thumbprint = '{t1}'"
    ));
    assert_eq!(left.trim(), "0");

    // Bad input: a clear error in the command, in every node's status and in a log; the
    // certificate served stays t3.
    let bad = |extra: &[&str], expect: &str| {
        let o = acme(&nodes[0].0, extra);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(
            !o.status.success() && err.contains(expect),
            "{extra:?}: {err}"
        );
        for (n, h) in &nodes {
            let t = Instant::now();
            while !n.inst.warnings().iter().any(|w| w.contains(expect)) {
                assert!(
                    t.elapsed() < Duration::from_secs(5),
                    "status lacks {expect}: {:?}",
                    n.inst.warnings()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            assert_eq!(request(*h, Some(host), false).unwrap().0, t3);
            // The portal's admin banner shows it as a warning too.
            let page = common::curl(&format!("{}/Reports/browse/", n.base()), Some(ADMIN), &[]);
            let banner = page.body.find("admin-banner").map(|i| {
                let b = &page.body[i..];
                &b[..b.find("</section>").unwrap_or(b.len())]
            });
            assert!(
                banner.is_some_and(|b| b.contains("notice warning") && b.contains(expect)),
                "banner lacks {expect}: {}",
                page.body
            );
        }
        // `cert sources --store Cluster` names the failing source; removing it stops it.
        let v: serde_json::Value = serde_json::from_str(
            &nodes[0]
                .0
                .inst
                .ok(&["cert", "sources", "--store", "Cluster", "--json"]),
        )
        .unwrap();
        let failing: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| {
                s["state"]["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains(expect))
            })
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(failing.len(), 1, "{v}");
        let out = nodes[1].0.inst.ok(&[
            "cert",
            "sources",
            "--store",
            "Cluster",
            "--remove",
            &failing[0],
        ]);
        assert!(out.contains("Stopped following"), "{out}");
    };
    let closed = ClosedPort::new();
    bad(
        &[
            "--dns-name",
            host,
            "--directory",
            &format!("https://127.0.0.1:{}/dir", closed.port),
        ],
        "cannot reach the ACME directory",
    );
    bad(
        &[
            "--dns-name",
            host,
            "--directory",
            &directory.replace("/dir", "/nonce-plz"),
        ],
        "is not an ACME directory",
    );
    let res = common::curl(
        &format!("http://127.0.0.1:{dns_mgmt}/set-servfail"),
        None,
        &["-X", "POST", "-d", "{\"host\":\"fail.test\"}"],
    );
    assert_eq!(res.status, 200, "{res:?}");
    bad(
        &["--dns-name", "fail.test", "--directory", &directory],
        "the ACME challenge for fail.test failed",
    );
    let mut logs = dead.log();
    for (n, _) in &mut nodes {
        logs.push_str(&n.log());
    }
    for expect in [
        "cannot reach the ACME directory",
        "is not an ACME directory",
        "the ACME challenge for fail.test failed",
    ] {
        assert!(logs.contains(expect), "no node logged {expect}");
    }
}
