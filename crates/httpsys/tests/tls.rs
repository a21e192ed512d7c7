//! The live TLS listener, end to end: real handshakes on loopback with rustls clients, the
//! `openssl s_client` and `curl` command-line tools, certificates made by a test CA.
//!
//! Each test runs its own listener on a free port with a repository built in code.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use httpsys::RequestBody;
use httpsys::listener::{ResponseFuture, full};
use httpsys::{
    Application, BindingState, CertSource, Change, Endpoint, Handler, Limits, Listener, MinTls,
    Repository, RequestContext, SslBinding, TlsPolicy,
};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, Tls12Resumption};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{
    AlertDescription, ClientConfig, DigitallySignedStruct, HandshakeKind, RootCertStore,
    SignatureScheme, SupportedProtocolVersion,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

// ---------------------------------------------------------------------------------------
// Certificates

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A test CA, its PEM file, and the leaf certificates it signed.
struct Pki {
    dir: tempfile::TempDir,
    issuer: Issuer<'static, KeyPair>,
    roots: Arc<RootCertStore>,
}

/// A leaf certificate: its DER (to recognise it) and the server's key pair for it.
#[derive(Clone)]
struct Leaf {
    der: CertificateDer<'static>,
    key: Arc<CertifiedKey>,
}

impl Pki {
    fn new() -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(DnType::CommonName, "reportd test CA");
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = p.self_signed(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), cert.pem()).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(cert.der().clone()).unwrap();
        Pki {
            dir,
            issuer: Issuer::new(p, key),
            roots: Arc::new(roots),
        }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    fn leaf(&self, names: &[&str]) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut p = CertificateParams::new(names.clone()).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, names[0].clone());
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        let ck = CertifiedKey::from_der(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            &provider(),
        )
        .unwrap();
        Leaf {
            der: cert.der().clone(),
            key: Arc::new(ck),
        }
    }
}

/// The server's certificate store, as a map from thumbprint to certificate.
#[derive(Default)]
struct Certs(Mutex<HashMap<String, Arc<CertifiedKey>>>);

impl Certs {
    fn put(&self, thumbprint: &str, leaf: &Leaf) {
        self.0
            .lock()
            .unwrap()
            .insert(thumbprint.to_owned(), leaf.key.clone());
    }
    fn remove(&self, thumbprint: &str) {
        self.0.lock().unwrap().remove(thumbprint);
    }
}

impl CertSource for Certs {
    fn certified_key(&self, thumbprint: &str) -> Result<Arc<CertifiedKey>, String> {
        self.0
            .lock()
            .unwrap()
            .get(thumbprint)
            .cloned()
            .ok_or_else(|| format!("certificate {thumbprint} is not in store My"))
    }
}

// ---------------------------------------------------------------------------------------
// Server

/// Echoes what the listener told the application; `/slow` answers after 700 ms.
struct Echo;

impl Handler for Echo {
    fn call(&self, req: Request<RequestBody>) -> ResponseFuture {
        Box::pin(async move {
            let ctx = req.extensions().get::<RequestContext>().cloned().unwrap();
            if req.uri().path() == "/slow" {
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
            let ae = req
                .headers()
                .get(http::header::ACCEPT_ENCODING)
                .map(|v| v.to_str().unwrap_or("?").to_owned())
                .unwrap_or_else(|| "none".into());
            let body = format!(
                "app={} vdir={} secure={} host={} path={} accept-encoding={}",
                ctx.app,
                ctx.vdir,
                ctx.secure,
                ctx.host,
                req.uri().path(),
                ae
            );
            Response::new(full(body))
        })
    }
}

struct Server {
    listener: Listener,
    certs: Arc<Certs>,
    port: u16,
}

const DRAIN: Duration = Duration::from_secs(2);

impl Server {
    fn new() -> Server {
        let mut handlers: HashMap<Application, Arc<dyn Handler>> = HashMap::new();
        handlers.insert(Application::WebService, Arc::new(Echo));
        handlers.insert(Application::Portal, Arc::new(Echo));
        let certs = Arc::new(Certs::default());
        let limits = Limits {
            drain_timeout: DRAIN,
            tls_handshake_timeout: Duration::from_secs(5),
            ..Limits::default()
        };
        let listener = Listener::new(handlers, limits, certs.clone());
        Server {
            listener,
            certs,
            port: bound_port(),
        }
    }

    /// Applies a repository with `https://+:PORT` for both applications and `bindings`.
    async fn apply(&self, bindings: Vec<SslBinding>) -> Vec<Change> {
        let mut repo = Repository::default();
        let url = format!("https://+:{}", self.port);
        repo.reserve(Application::WebService, url.parse().unwrap(), "test")
            .unwrap();
        repo.reserve(Application::Portal, url.parse().unwrap(), "test")
            .unwrap();
        repo.ssl_bindings = bindings;
        self.listener.apply(&repo).await.unwrap()
    }

    fn host(&self, host: &str, thumbprint: &str, policy: TlsPolicy) -> SslBinding {
        let ep = Endpoint::parse_hostnameport(&format!("{host}:{}", self.port)).unwrap();
        binding(ep, thumbprint, policy)
    }

    fn ip(&self, ip: &str, thumbprint: &str, policy: TlsPolicy) -> SslBinding {
        let ip: IpAddr = ip.parse().unwrap();
        binding(Endpoint::IpPort(ip, self.port), thumbprint, policy)
    }

    fn addr(&self, ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), self.port)
    }
}

fn binding(endpoint: Endpoint, thumbprint: &str, policy: TlsPolicy) -> SslBinding {
    SslBinding {
        endpoint,
        thumbprint: thumbprint.to_owned(),
        store: "My".into(),
        apps: Application::ALL.into_iter().collect(),
        policy,
    }
}

fn policy(min_tls: MinTls, http2: bool, hsts: bool) -> TlsPolicy {
    TlsPolicy {
        min_tls,
        http2,
        hsts,
    }
}

/// A port bound here (port 0) and handed to the listener before it serves: never a port
/// that was probed and released.
fn bound_port() -> u16 {
    httpsys::listener::inherit(httpsys::listener::listen_dual_stack(0).unwrap()).unwrap()
}

fn ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

// ---------------------------------------------------------------------------------------
// rustls client

/// Accepts any certificate (the test looks at which one it got) but checks the handshake
/// signatures, so the server proved it holds the key.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
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
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

const TLS13_12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];

/// A client that verifies against the test CA.
fn verifying(pki: &Pki, versions: &[&'static SupportedProtocolVersion]) -> ClientConfig {
    let mut c = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(pki.roots.clone())
        .with_no_client_auth();
    c.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    c
}

/// A client that records whatever certificate it is sent.
fn recording(sni: bool) -> Arc<ClientConfig> {
    let mut c = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
        .with_no_client_auth();
    c.enable_sni = sni;
    Arc::new(c)
}

/// Connects to `addr` and completes a TLS handshake for `name` (a DNS name sends SNI, an IP
/// address does not).
async fn connect(
    addr: SocketAddr,
    name: &str,
    cfg: &Arc<ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(name.to_owned()).unwrap();
    tokio::time::timeout(
        Duration::from_secs(5),
        TlsConnector::from(cfg.clone()).connect(name, tcp),
    )
    .await
    .expect("handshake did not hang")
}

/// The end-entity certificate the server sent.
fn served(tls: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    tls.get_ref().1.peer_certificates().unwrap()[0].clone()
}

/// The alert a failed handshake received.
fn alert(e: &std::io::Error) -> Option<AlertDescription> {
    match e.get_ref()?.downcast_ref::<rustls::Error>()? {
        rustls::Error::AlertReceived(a) => Some(*a),
        _ => None,
    }
}

fn kind(tls: &TlsStream<TcpStream>) -> HandshakeKind {
    tls.get_ref().1.handshake_kind().unwrap()
}

// ---------------------------------------------------------------------------------------
// HTTP over the TLS stream (hyper's client)

enum Http {
    H1(hyper::client::conn::http1::SendRequest<Empty<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Empty<Bytes>>),
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

/// Starts HTTP on `tls` by its ALPN result; the handle resolves when the connection ends.
async fn http(tls: TlsStream<TcpStream>) -> (Http, tokio::task::JoinHandle<()>) {
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let io = TokioIo::new(tls);
    if h2 {
        let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        (
            Http::H2(send),
            tokio::spawn(async move {
                let _ = conn.await;
            }),
        )
    } else {
        let (send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        (
            Http::H1(send),
            tokio::spawn(async move {
                let _ = conn.await;
            }),
        )
    }
}

impl Http {
    async fn get(&mut self, host: &str, port: u16, path: &str) -> hyper::Result<Reply> {
        let resp = match self {
            Http::H1(s) => {
                let req = Request::get(path)
                    .header(http::header::HOST, format!("{host}:{port}"))
                    .header(http::header::ACCEPT_ENCODING, "gzip, br")
                    .body(Empty::new())
                    .unwrap();
                s.send_request(req).await?
            }
            Http::H2(s) => {
                let req = Request::get(format!("https://{host}:{port}{path}"))
                    .header(http::header::ACCEPT_ENCODING, "gzip, br")
                    .body(Empty::new())
                    .unwrap();
                s.send_request(req).await?
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// One request on a fresh connection; reading the response also takes in TLS 1.3 tickets.
async fn get_once(tls: TlsStream<TcpStream>, host: &str, port: u16, path: &str) -> Reply {
    let (mut h, _conn) = http(tls).await;
    h.get(host, port, path).await.unwrap()
}

// ---------------------------------------------------------------------------------------
// openssl and curl

fn have(tool: &str) -> bool {
    let ok = std::process::Command::new(tool)
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is required under CI"
        );
        println!("skipped: {tool} not found");
    }
    ok
}

/// Runs `openssl s_client` with `args`, sending an HTTP request for `host` and waiting for
/// the server to close. Returns (success, stdout + stderr).
async fn s_client(port: u16, host: &str, args: &[&str]) -> (bool, String) {
    let mut cmd = tokio::process::Command::new("openssl");
    cmd.arg("s_client")
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-ign_eof")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let request =
        format!("GET /ReportServer HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
    let _ = stdin.write_all(request.as_bytes()).await;
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("openssl s_client finished")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && text.contains("200 OK"), text)
}

/// `curl` for `https://host:PORT/path`, resolving `host` to 127.0.0.1 and trusting the test
/// CA. Returns (HTTP version, response headers, body).
async fn curl(
    pki: &Pki,
    host: &str,
    port: u16,
    path: &str,
    extra: &[&str],
) -> (String, String, String) {
    let headers = pki.dir.path().join(format!("headers-{host}-{port}"));
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", "--compressed"])
        .arg("--cacert")
        .arg(pki.ca_file())
        .arg("--resolve")
        .arg(format!("{host}:{port}:127.0.0.1"))
        .arg("-D")
        .arg(&headers)
        .args(["-w", "\n%{http_version}"])
        .args(extra)
        .arg(format!("https://{host}:{port}{path}"))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, version) = stdout.rsplit_once('\n').unwrap();
    let head = std::fs::read_to_string(&headers).unwrap();
    (
        version.to_owned(),
        head.to_ascii_lowercase(),
        body.to_owned(),
    )
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_then_exact_address_then_any_address() {
    let pki = Pki::new();
    let a = pki.leaf(&["a.test"]);
    let ip = pki.leaf(&["127.0.0.1"]);
    let any = pki.leaf(&["any.test", "127.0.0.2", "::1"]);
    let s = Server::new();
    s.certs.put("A", &a);
    s.certs.put("IP", &ip);
    s.certs.put("ANY", &any);
    let p = TlsPolicy::default();
    let lines = s
        .apply(vec![
            s.host("a.test", "A", p.clone()),
            s.ip("127.0.0.1", "IP", p.clone()),
            s.ip("0.0.0.0", "ANY", p.clone()),
        ])
        .await;
    assert!(
        lines
            .iter()
            .any(|l| l.text.contains(&format!("a.test:{}", s.port))),
        "{lines:?}"
    );

    let with_sni = recording(true);
    let no_sni = recording(false);
    // SNI naming a hostnameport binding wins over the exact address.
    let t = connect(s.addr("127.0.0.1"), "A.Test", &with_sni)
        .await
        .unwrap();
    assert_eq!(served(&t), a.der, "hostnameport by SNI (case-insensitive)");
    // SNI naming no binding: the ipport with the exact local address.
    let t = connect(s.addr("127.0.0.1"), "b.test", &with_sni)
        .await
        .unwrap();
    assert_eq!(
        served(&t),
        ip.der,
        "SNI without a binding falls back to ipport"
    );
    let t = connect(s.addr("127.0.0.1"), "a.test", &no_sni)
        .await
        .unwrap();
    assert_eq!(
        served(&t),
        ip.der,
        "no SNI: ipport with the exact local address"
    );
    // Another local address: 0.0.0.0:port.
    let t = connect(s.addr("127.0.0.2"), "a.test", &no_sni)
        .await
        .unwrap();
    assert_eq!(served(&t), any.der, "no exact address: 0.0.0.0:port");
    // Dual stack: 0.0.0.0:port serves IPv6 too.
    if ipv6_loopback() {
        let t = connect(s.addr("::1"), "::1", &no_sni).await.unwrap();
        assert_eq!(served(&t), any.der, "0.0.0.0:port serves IPv6");
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but there is no IPv6 loopback (::1) to check dual-stack serving"
        );
        println!("skipped: no IPv6 loopback");
    }

    // A real client verifying the chain against the CA, and the request routed.
    let t = connect(
        s.addr("127.0.0.1"),
        "a.test",
        &Arc::new(verifying(&pki, TLS13_12)),
    )
    .await
    .unwrap();
    let r = get_once(t, "a.test", s.port, "/ReportServer/x").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body
            .starts_with("app=webservice vdir=ReportServer secure=true host=a.test path=/x"),
        "{}",
        r.body
    );
    assert!(
        r.body.ends_with("accept-encoding=none"),
        "no compression over TLS: {}",
        r.body
    );
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(r.headers["x-frame-options"], "DENY");

    let states = s.listener.binding_states();
    assert_eq!(states.len(), 3);
    assert!(
        states.iter().all(|(_, st)| *st == BindingState::Active),
        "{states:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_matching_binding_is_an_alert_and_no_certificate() {
    let pki = Pki::new();
    let s = Server::new();
    s.certs.put("A", &pki.leaf(&["a.test"]));
    s.apply(vec![s.host("a.test", "A", TlsPolicy::default())])
        .await;

    let e = connect(s.addr("127.0.0.1"), "c.test", &recording(true))
        .await
        .unwrap_err();
    assert_eq!(alert(&e), Some(AlertDescription::AccessDenied), "{e}");
    let e = connect(s.addr("127.0.0.1"), "a.test", &recording(false))
        .await
        .unwrap_err();
    assert_eq!(
        alert(&e),
        Some(AlertDescription::AccessDenied),
        "no SNI: {e}"
    );

    if have("openssl") {
        for args in [&["-servername", "c.test"][..], &["-noservername"][..]] {
            let (ok, out) = s_client(s.port, "c.test", args).await;
            assert!(!ok, "{out}");
            assert!(out.contains("no peer certificate available"), "{out}");
            assert!(out.contains("alert access denied"), "{out}");
        }
        let (ok, out) = s_client(s.port, "a.test", &["-servername", "a.test"]).await;
        assert!(ok, "{out}");
    }

    // A port whose bindings are all gone keeps its reservation and refuses every handshake.
    let lines = s.apply(vec![]).await;
    assert!(
        lines.iter().any(|l| l.text.contains("removed")),
        "{lines:?}"
    );
    let e = connect(s.addr("127.0.0.1"), "a.test", &recording(true))
        .await
        .unwrap_err();
    assert_eq!(alert(&e), Some(AlertDescription::AccessDenied), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_versions_and_cipher_suites() {
    if !have("openssl") {
        return;
    }
    let pki = Pki::new();
    let s = Server::new();
    s.certs.put("A", &pki.leaf(&["a.test"]));
    s.apply(vec![s.host("a.test", "A", TlsPolicy::default())])
        .await;
    let sni = ["-servername", "a.test"];

    let (ok, out) = s_client(
        s.port,
        "a.test",
        &[&sni[..], &["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]].concat(),
    )
    .await;
    assert!(!ok, "TLS 1.1 must be refused: {out}");
    assert!(out.contains("no peer certificate available"), "{out}");
    let (ok, out) = s_client(s.port, "a.test", &[&sni[..], &["-tls1_3"]].concat()).await;
    assert!(ok && out.contains("TLSv1.3"), "{out}");
    // TLS 1.2: the server's order wins (AES-256 first although the client prefers AES-128).
    let (ok, out) = s_client(
        s.port,
        "a.test",
        &[
            &sni[..],
            &[
                "-tls1_2",
                "-cipher",
                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
            ],
        ]
        .concat(),
    )
    .await;
    assert!(ok, "{out}");
    assert!(
        out.contains("Cipher is ECDHE-ECDSA-AES256-GCM-SHA384"),
        "{out}"
    );
    // No CBC, no static RSA key exchange.
    for cipher in [
        "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-ECDSA-AES256-SHA384",
        "AES128-GCM-SHA256",
    ] {
        let (ok, out) = s_client(
            s.port,
            "a.test",
            &[&sni[..], &["-tls1_2", "-cipher", cipher]].concat(),
        )
        .await;
        assert!(!ok, "{cipher} must be refused: {out}");
    }
    let t = connect(
        s.addr("127.0.0.1"),
        "a.test",
        &Arc::new(verifying(&pki, TLS12)),
    )
    .await
    .unwrap();
    assert_eq!(
        t.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );

    // --min-tls 1.3 refuses TLS 1.2.
    s.apply(vec![s.host(
        "a.test",
        "A",
        policy(MinTls::Tls13, true, false),
    )])
    .await;
    let e = connect(
        s.addr("127.0.0.1"),
        "a.test",
        &Arc::new(verifying(&pki, TLS12)),
    )
    .await
    .unwrap_err();
    assert_eq!(alert(&e), Some(AlertDescription::ProtocolVersion), "{e}");
    let (ok, out) = s_client(s.port, "a.test", &[&sni[..], &["-tls1_2"]].concat()).await;
    assert!(!ok, "{out}");
    let (ok, out) = s_client(s.port, "a.test", &[&sni[..], &["-tls1_3"]].concat()).await;
    assert!(ok, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alpn_and_hsts_follow_the_binding_policy() {
    let pki = Pki::new();
    let s = Server::new();
    s.certs.put("A", &pki.leaf(&["a.test"]));
    s.apply(vec![s.host(
        "a.test",
        "A",
        policy(MinTls::Tls12, true, true),
    )])
    .await;
    let client = Arc::new(verifying(&pki, TLS13_12));

    let t = connect(s.addr("127.0.0.1"), "a.test", &client)
        .await
        .unwrap();
    assert_eq!(t.get_ref().1.alpn_protocol(), Some(b"h2".as_slice()));
    let r = get_once(t, "a.test", s.port, "/Reports").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body
            .starts_with("app=portal vdir=Reports secure=true host=a.test path=/ "),
        "{}",
        r.body
    );
    assert!(r.body.ends_with("accept-encoding=none"), "{}", r.body);
    assert_eq!(r.headers["strict-transport-security"], "max-age=31536000");
    if have("curl") {
        let (version, head, body) = curl(&pki, "a.test", s.port, "/ReportServer", &[]).await;
        assert_eq!(version, "2", "HTTP/2 by ALPN");
        assert!(
            head.contains("strict-transport-security: max-age=31536000"),
            "{head}"
        );
        assert!(!head.contains("content-encoding"), "{head}");
        assert!(body.contains("secure=true"), "{body}");
    }

    let (mut open, _conn) = http(
        connect(s.addr("127.0.0.1"), "a.test", &client)
            .await
            .unwrap(),
    )
    .await;
    let r = open.get("a.test", s.port, "/Reports").await.unwrap();
    assert!(r.headers.contains_key("strict-transport-security"));

    // Off: HTTP/1.1 only, no HSTS; an open connection follows the new HSTS policy.
    s.apply(vec![s.host(
        "a.test",
        "A",
        policy(MinTls::Tls12, false, false),
    )])
    .await;
    let r = open.get("a.test", s.port, "/Reports").await.unwrap();
    assert!(!r.headers.contains_key("strict-transport-security"));
    let t = connect(s.addr("127.0.0.1"), "a.test", &client)
        .await
        .unwrap();
    assert_eq!(t.get_ref().1.alpn_protocol(), Some(b"http/1.1".as_slice()));
    let r = get_once(t, "a.test", s.port, "/Reports").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.headers.contains_key("strict-transport-security"));
    if have("curl") {
        let (version, head, _) = curl(&pki, "a.test", s.port, "/ReportServer", &[]).await;
        assert_eq!(version, "1.1");
        assert!(!head.contains("strict-transport-security"), "{head}");
        let (version, _, _) = curl(&pki, "a.test", s.port, "/ReportServer", &["--http2"]).await;
        assert_eq!(version, "1.1", "h2 is not offered when --http2 off");
    }
}

/// A rustls client config that resumes: TLS 1.3 tickets, or TLS 1.2 by session id or ticket.
fn resuming(pki: &Pki, mode: &str) -> Arc<ClientConfig> {
    let mut c = match mode {
        "tls13" => verifying(pki, TLS13_12),
        _ => verifying(pki, TLS12),
    };
    c.resumption = Resumption::in_memory_sessions(64).tls12_resumption(match mode {
        "tls12-id" => Tls12Resumption::SessionIdOnly,
        _ => Tls12Resumption::SessionIdOrTickets,
    });
    Arc::new(c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumption_lives_and_dies_with_the_binding() {
    let pki = Pki::new();
    // One certificate for both bindings: a session must still not cross them.
    let cert = pki.leaf(&["a.test", "b.test", "127.0.0.1"]);
    let s = Server::new();
    s.certs.put("A", &cert);
    let a = s.host("a.test", "A", TlsPolicy::default());
    let any = s.ip("0.0.0.0", "A", TlsPolicy::default());
    s.apply(vec![a.clone(), any.clone()]).await;
    let modes = ["tls13", "tls12-id", "tls12-ticket"];
    let clients: Vec<_> = modes.iter().map(|m| resuming(&pki, m)).collect();
    let addr = s.addr("127.0.0.1");

    for (m, c) in modes.iter().zip(&clients) {
        let t = connect(addr, "a.test", c).await.unwrap();
        assert_eq!(kind(&t), HandshakeKind::Full, "{m}");
        get_once(t, "a.test", s.port, "/ReportServer").await;
        let t = connect(addr, "a.test", c).await.unwrap();
        assert_eq!(kind(&t), HandshakeKind::Resumed, "{m}: resumes while bound");
        get_once(t, "a.test", s.port, "/ReportServer").await;
    }
    // An unrelated change keeps the binding's sessions.
    s.certs.put("B", &pki.leaf(&["b.test"]));
    s.apply(vec![
        a.clone(),
        any.clone(),
        s.host("b.test", "B", TlsPolicy::default()),
    ])
    .await;
    for (m, c) in modes.iter().zip(&clients) {
        let t = connect(addr, "a.test", c).await.unwrap();
        assert_eq!(kind(&t), HandshakeKind::Resumed, "{m}: unrelated change");
        get_once(t, "a.test", s.port, "/ReportServer").await;
    }

    let openssl = have("openssl");
    let sess = pki.dir.path().join("session.pem");
    let sess_arg = sess.to_str().unwrap();
    let sess_out = ["-servername", "a.test", "-sess_out", sess_arg];
    let sess_in = ["-servername", "a.test", "-sess_in", sess_arg];
    if openssl {
        // TLS 1.3 tickets, then TLS 1.2 session ids.
        for extra in [&[][..], &["-tls1_2", "-no_ticket"][..]] {
            let (ok, out) = s_client(s.port, "a.test", &[&sess_out[..], extra].concat()).await;
            assert!(ok && out.contains("New,"), "{out}");
            let (ok, out) = s_client(s.port, "a.test", &[&sess_in[..], extra].concat()).await;
            assert!(ok && out.contains("Reused,"), "{extra:?}: {out}");
        }
        assert!(s_client(s.port, "a.test", &sess_out).await.0);
        assert!(read(&sess).contains("SSL SESSION"));
    }

    // Unbound and bound again (same certificate): a new binding, with none of the old
    // binding's sessions.
    s.apply(vec![any.clone()]).await;
    s.apply(vec![a.clone(), any.clone()]).await;
    for (m, c) in modes.iter().zip(&clients) {
        let t = connect(addr, "a.test", c).await.unwrap();
        assert_eq!(
            kind(&t),
            HandshakeKind::Full,
            "{m}: no resumption into a new binding"
        );
        get_once(t, "a.test", s.port, "/ReportServer").await;
    }
    if openssl {
        let (ok, out) = s_client(s.port, "a.test", &sess_in).await;
        assert!(
            ok && out.contains("New,"),
            "no resumption into a new binding: {out}"
        );
        assert!(s_client(s.port, "a.test", &sess_out).await.0);
    }

    // Unbind a.test: its connections now reach 0.0.0.0:port, which has the same
    // certificate, but none of a.test's sessions resume there.
    s.apply(vec![any.clone()]).await;
    for (m, c) in modes.iter().zip(&clients) {
        let t = connect(addr, "a.test", c).await.unwrap();
        assert_eq!(
            kind(&t),
            HandshakeKind::Full,
            "{m}: no resumption after unbind"
        );
    }
    if openssl {
        let (ok, out) = s_client(s.port, "a.test", &sess_in).await;
        assert!(
            ok && out.contains("New,"),
            "no resumption after unbind: {out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_update_serves_the_new_certificate_and_keeps_open_connections() {
    let pki = Pki::new();
    let old = pki.leaf(&["a.test"]);
    let new = pki.leaf(&["a.test"]);
    let s = Server::new();
    s.certs.put("OLD", &old);
    s.certs.put("NEW", &new);
    s.apply(vec![s.host("a.test", "OLD", TlsPolicy::default())])
        .await;
    let mut h1_client = verifying(&pki, TLS13_12);
    h1_client.alpn_protocols = vec![b"http/1.1".to_vec()];
    let h1_client = Arc::new(h1_client);
    let h2_client = Arc::new(verifying(&pki, TLS13_12));
    let addr = s.addr("127.0.0.1");

    let t1 = connect(addr, "a.test", &h1_client).await.unwrap();
    assert_eq!(served(&t1), old.der);
    let (mut h1, h1_conn) = http(t1).await;
    let t2 = connect(addr, "a.test", &h2_client).await.unwrap();
    let (mut h2, h2_conn) = http(t2).await;
    assert!(matches!(h2, Http::H2(_)));
    assert_eq!(
        h1.get("a.test", s.port, "/ReportServer")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    assert_eq!(
        h2.get("a.test", s.port, "/ReportServer")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );

    // A request in flight across the update completes too.
    let mut in_flight = {
        let t = connect(addr, "a.test", &h1_client).await.unwrap();
        let (h, _c) = http(t).await;
        h
    };
    let port = s.port;
    let slow =
        tokio::spawn(async move { in_flight.get("a.test", port, "/ReportServer/slow").await });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let lines = s
        .apply(vec![s.host("a.test", "NEW", TlsPolicy::default())])
        .await;
    assert!(
        lines
            .iter()
            .any(|l| l.text.contains("now serves certificate NEW")),
        "{lines:?}"
    );
    let t = connect(addr, "a.test", &h1_client).await.unwrap();
    assert_eq!(
        served(&t),
        new.der,
        "the next handshake uses the new certificate"
    );

    // Open connections keep working, well past the drain timeout.
    tokio::time::sleep(DRAIN + Duration::from_millis(500)).await;
    let r = slow.await.unwrap().unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.headers.contains_key("connection"), "{:?}", r.headers);
    assert_eq!(
        h1.get("a.test", s.port, "/ReportServer")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    assert_eq!(
        h2.get("a.test", s.port, "/ReportServer")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    assert!(!h1_conn.is_finished() && !h2_conn.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbind_closes_open_connections_gracefully() {
    let pki = Pki::new();
    let s = Server::new();
    s.certs.put("A", &pki.leaf(&["a.test"]));
    s.certs.put("B", &pki.leaf(&["b.test"]));
    let b = s.host("b.test", "B", TlsPolicy::default());
    s.apply(vec![s.host("a.test", "A", TlsPolicy::default()), b.clone()])
        .await;
    let mut h1_client = verifying(&pki, TLS13_12);
    h1_client.alpn_protocols = vec![b"http/1.1".to_vec()];
    let h1_client = Arc::new(h1_client);
    let h2_client = Arc::new(verifying(&pki, TLS13_12));
    let addr = s.addr("127.0.0.1");
    let port = s.port;

    // An idle HTTP/1.1 keep-alive connection, one with a request in flight, an HTTP/2
    // connection with a request in flight, and a connection on the binding that stays.
    let (mut idle, idle_conn) = http(connect(addr, "a.test", &h1_client).await.unwrap()).await;
    assert_eq!(
        idle.get("a.test", port, "/ReportServer")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    let (mut busy, busy_conn) = http(connect(addr, "a.test", &h1_client).await.unwrap()).await;
    let (mut h2, h2_conn) = http(connect(addr, "a.test", &h2_client).await.unwrap()).await;
    let (mut other, other_conn) = http(connect(addr, "b.test", &h1_client).await.unwrap()).await;
    let busy_req =
        tokio::spawn(async move { busy.get("a.test", port, "/ReportServer/slow").await });
    let h2_req = tokio::spawn(async move {
        let r = h2.get("a.test", port, "/ReportServer/slow").await;
        (r, h2)
    });
    tokio::time::sleep(Duration::from_millis(150)).await;

    let started = Instant::now();
    let lines = s.apply(vec![b.clone()]).await;
    assert!(
        lines
            .iter()
            .any(|l| l.text.contains(&format!("a.test:{port} removed"))),
        "{lines:?}"
    );
    // No new handshake on the unbound endpoint.
    let e = connect(addr, "a.test", &h1_client).await.unwrap_err();
    assert_eq!(alert(&e), Some(AlertDescription::AccessDenied), "{e}");

    // Requests in flight complete; HTTP/1.1 says Connection: close.
    let r = busy_req.await.unwrap().unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["connection"], "close");
    let (r, mut h2) = h2_req.await.unwrap();
    assert_eq!(r.unwrap().status, StatusCode::OK);
    // Then every connection of the binding ends within the drain bound.
    for (name, c) in [("idle", idle_conn), ("busy", busy_conn), ("h2", h2_conn)] {
        tokio::time::timeout(DRAIN + Duration::from_secs(1), c)
            .await
            .unwrap_or_else(|_| panic!("{name} connection still open"))
            .unwrap();
    }
    assert!(started.elapsed() < DRAIN + Duration::from_secs(1));
    assert!(idle.get("a.test", port, "/ReportServer").await.is_err());
    assert!(
        h2.get("a.test", port, "/ReportServer").await.is_err(),
        "GOAWAY"
    );
    // The other binding's connection is untouched.
    assert_eq!(
        other
            .get("b.test", port, "/ReportServer")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    assert!(!other_conn.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_without_its_certificate_serves_nothing_and_spares_the_others() {
    let pki = Pki::new();
    let s = Server::new();
    s.certs.put("A", &pki.leaf(&["a.test"]));
    let a = s.host("a.test", "A", TlsPolicy::default());
    let b = s.host("b.test", "GONE", TlsPolicy::default());
    let lines = s.apply(vec![a.clone(), b.clone()]).await;
    let warning = lines
        .iter()
        .find(|l| l.is_warning())
        .map(|l| l.text.as_str())
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(warning.contains(&format!("b.test:{}", s.port)), "{warning}");
    assert!(
        warning.contains("certificate GONE is not in store My"),
        "{warning}"
    );
    assert!(!warning.starts_with("warning"), "no text prefix: {warning}");
    let states = s.listener.binding_states();
    assert_eq!(states.len(), 2);
    for (ep, st) in &states {
        match ep {
            Endpoint::HostnamePort(h, _) if h == "a.test" => assert_eq!(*st, BindingState::Active),
            _ => assert!(matches!(st, BindingState::CertificateMissing(w) if w.contains("GONE"))),
        }
    }
    let client = Arc::new(verifying(&pki, TLS13_12));
    let addr = s.addr("127.0.0.1");
    let e = connect(addr, "b.test", &client).await.unwrap_err();
    assert_eq!(alert(&e), Some(AlertDescription::AccessDenied), "{e}");
    let t = connect(addr, "a.test", &client).await.unwrap();
    assert_eq!(
        get_once(t, "a.test", s.port, "/ReportServer").await.status,
        StatusCode::OK
    );

    // The certificate of a standing binding disappears: it stops serving (its open
    // connections close); it comes back: served again.
    let (mut open, open_conn) = http(connect(addr, "a.test", &client).await.unwrap()).await;
    assert_eq!(
        open.get("a.test", s.port, "/ReportServer")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );
    s.certs.remove("A");
    let lines = s.apply(vec![a.clone(), b.clone()]).await;
    assert_eq!(
        lines.iter().filter(|l| l.is_warning()).count(),
        2,
        "{lines:?}"
    );
    assert!(connect(addr, "a.test", &client).await.is_err());
    tokio::time::timeout(DRAIN + Duration::from_secs(1), open_conn)
        .await
        .expect("connection of a binding that lost its certificate closes")
        .unwrap();
    s.certs.put("A", &pki.leaf(&["a.test"]));
    s.apply(vec![a, b]).await;
    assert!(connect(addr, "a.test", &client).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_open_and_close_with_reservations() {
    let pki = Pki::new();
    let s = Server::new();
    s.certs.put("A", &pki.leaf(&["a.test"]));
    s.apply(vec![s.ip("0.0.0.0", "A", TlsPolicy::default())])
        .await;
    let client = Arc::new(verifying(&pki, TLS13_12));
    let (mut h, conn) = http(
        connect(s.addr("127.0.0.1"), "a.test", &client)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        h.get("a.test", s.port, "/ReportServer")
            .await
            .unwrap()
            .status,
        StatusCode::OK
    );

    // Plain http on another port keeps its behaviour: not secure, Accept-Encoding kept.
    let http_port = bound_port();
    let mut repo = Repository::default();
    repo.reserve(
        Application::WebService,
        format!("http://+:{http_port}").parse().unwrap(),
        "test",
    )
    .unwrap();
    let lines = s.listener.apply(&repo).await.unwrap();
    assert!(
        lines.contains(&Change::info(format!("closed port {}", s.port))),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.text.contains("removed")),
        "{lines:?}"
    );
    tokio::time::timeout(DRAIN + Duration::from_secs(1), conn)
        .await
        .expect("connections of a closed port close")
        .unwrap();
    assert!(TcpStream::connect(s.addr("127.0.0.1")).await.is_err());
    let tcp = TcpStream::connect(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), http_port))
        .await
        .unwrap();
    let (mut send, c) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(c);
    let req = Request::get("/ReportServer/y")
        .header(http::header::HOST, "localhost")
        .header(http::header::ACCEPT_ENCODING, "gzip")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert!(!resp.headers().contains_key("strict-transport-security"));
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains("secure=false host=localhost path=/y accept-encoding=gzip"),
        "{body}"
    );
    s.listener.shutdown().await;
}
