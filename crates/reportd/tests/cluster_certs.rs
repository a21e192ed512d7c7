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

use common::{Instance, Sockets};
use pgcluster::{FreshDb, Node, join, pg_base};
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
    let inst = Instance::new();
    let sockets = Sockets::new(2);
    let (port, https) = (sockets.port(0), sockets.port(1));
    if first {
        inst.init_admin(port, "cluster admin pw");
    } else {
        inst.ok(&["init", "--http-port", &port.to_string()]);
    }
    inst.ok(&["database", "create", "--url", url]);
    let child = inst.spawn_server(&sockets);
    inst.wait_running();
    (Node { inst, port, child }, https)
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
    }
    // No SNI, or a name no Cluster certificate covers: no certificate, as for any
    // unmatched endpoint.
    assert!(request(h2, None, false).is_err());
    assert!(request(h2, Some("other.example.test"), false).is_err());
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
