//! Hostile clients against the live listener on loopback, each with a bounded loop, each
//! asserting the bound the listener promises (small limits configured per test so the
//! suite stays fast): silent TCP and TLS connections, idle HTTP/2 connections filling the
//! connection limit, slowloris heads, slow bodies, a 15 KB SNI, PING floods, a zero-window
//! HTTP/2 download, and HTTP/2 request bodies through curl.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use httpsys::listener::{ResponseFuture, full};
use httpsys::{
    Application, CertSource, Endpoint, Handler, Limits, Listener, MinTls, Repository, RequestBody,
    SslBinding, TlsPolicy,
};
use hyper::body::Frame;
use rustls::pki_types::{PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

// ---------------------------------------------------------------------------------------
// The server under attack

/// The test application: `/` answers "ok"; `/echo-body` reads the whole body and says how
/// much arrived (or why reading failed); `/ignore-body` answers without reading it;
/// `/stream` streams 10 MiB in 16 KiB chunks, counting what it produced.
struct App {
    produced: Arc<AtomicUsize>,
}

impl Handler for App {
    fn call(&self, req: Request<RequestBody>) -> ResponseFuture {
        let produced = self.produced.clone();
        Box::pin(async move {
            match req.uri().path() {
                "/echo-body" => match req.into_body().collect().await {
                    Ok(b) => Response::new(full(format!("read {} bytes", b.to_bytes().len()))),
                    Err(e) => {
                        let mut r = Response::new(full(format!("body failed: {e}")));
                        *r.status_mut() = StatusCode::BAD_REQUEST;
                        r
                    }
                },
                "/ignore-body" => Response::new(full("ignored")),
                "/stream" => Response::new(
                    Gen {
                        left: 10 << 20,
                        produced,
                    }
                    .map_err(|never: Infallible| match never {})
                    .boxed_unsync(),
                ),
                _ => Response::new(full("ok")),
            }
        })
    }
}

/// A response body produced on demand: what the listener pulls is what it buffers.
struct Gen {
    left: usize,
    produced: Arc<AtomicUsize>,
}

impl hyper::body::Body for Gen {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(16 * 1024);
        self.left -= n;
        self.produced.fetch_add(n, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; n])))))
    }
}

struct Cert(Arc<CertifiedKey>);

impl CertSource for Cert {
    fn certified_key(&self, _: &str) -> Result<Arc<CertifiedKey>, String> {
        Ok(self.0.clone())
    }
}

struct Srv {
    https: SocketAddr,
    http: SocketAddr,
    client: Arc<ClientConfig>,
    ca_pem: tempfile::NamedTempFile,
    produced: Arc<AtomicUsize>,
    _listener: Listener,
}

/// A port bound here (port 0) and handed to the listener before it serves: never a port
/// that was probed and released.
fn bound_port() -> u16 {
    httpsys::listener::inherit(httpsys::listener::listen_dual_stack(0).unwrap()).unwrap()
}

/// A listener with `limits` serving https and http on loopback with a self-signed
/// certificate for `localhost`.
async fn start(limits: Limits) -> Srv {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = CertifiedKey::from_der(
        vec![cert.cert.der().clone()],
        PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into()),
        &provider,
    )
    .unwrap();
    let produced = Arc::new(AtomicUsize::new(0));
    let mut handlers: HashMap<Application, Arc<dyn Handler>> = HashMap::new();
    handlers.insert(
        Application::WebService,
        Arc::new(App {
            produced: produced.clone(),
        }),
    );
    let listener = Listener::new(handlers, limits, Arc::new(Cert(Arc::new(key))));
    let (hp, tp) = (bound_port(), bound_port());
    let mut repo = Repository::default();
    for url in [format!("https://+:{tp}"), format!("http://+:{hp}")] {
        repo.reserve(Application::WebService, url.parse().unwrap(), "test")
            .unwrap();
    }
    repo.ssl_bindings = vec![SslBinding {
        endpoint: Endpoint::IpPort("0.0.0.0".parse().unwrap(), tp),
        thumbprint: "AA".into(),
        store: "My".into(),
        apps: Application::ALL.into_iter().collect(),
        policy: TlsPolicy {
            min_tls: MinTls::Tls12,
            http2: true,
            hsts: false,
        },
    }];
    listener.apply(&repo).await.unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let mut client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"h2".to_vec()];
    let mut ca_pem = tempfile::NamedTempFile::new().unwrap();
    ca_pem.write_all(cert.cert.pem().as_bytes()).unwrap();
    Srv {
        https: format!("127.0.0.1:{tp}").parse().unwrap(),
        http: format!("127.0.0.1:{hp}").parse().unwrap(),
        client: Arc::new(client),
        ca_pem,
        produced,
        _listener: listener,
    }
}

/// A TLS connection (ALPN h2) to the server.
async fn tls(srv: &Srv) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(srv.https).await.unwrap();
    TlsConnector::from(srv.client.clone())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

/// An HTTP/2 client connection over TLS; its driver runs in the background.
async fn h2_client(
    srv: &Srv,
    builder: h2::client::Builder,
) -> (
    h2::client::SendRequest<Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
) {
    let io = tls(srv).await;
    let (send, conn) = builder.handshake::<_, Bytes>(io).await.unwrap();
    (send, tokio::spawn(conn))
}

/// GET `/` over a fresh HTTP/2 connection; the status, or None when it failed.
async fn h2_get(srv: &Srv) -> Option<StatusCode> {
    let io = tokio::time::timeout(Duration::from_secs(5), async {
        let tcp = TcpStream::connect(srv.https).await.ok()?;
        TlsConnector::from(srv.client.clone())
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .ok()
    })
    .await
    .ok()??;
    let (mut send, conn) = h2::client::handshake(io).await.ok()?;
    tokio::spawn(conn);
    let req = Request::get(format!(
        "https://localhost:{}/ReportServer/",
        srv.https.port()
    ))
    .body(())
    .unwrap();
    let (resp, _) = send.send_request(req, true).ok()?;
    let resp = tokio::time::timeout(Duration::from_secs(5), resp)
        .await
        .ok()?
        .ok()?;
    Some(resp.status())
}

/// Reads until EOF or error; how long that took (None: still open after `within`).
async fn closed_within<R: tokio::io::AsyncRead + Unpin>(
    r: &mut R,
    within: Duration,
) -> Option<Duration> {
    let t = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()?;
    Some(t.elapsed())
}

fn fast(limits: Limits) -> Limits {
    Limits {
        drain_timeout: Duration::from_secs(1),
        ..limits
    }
}

// ---------------------------------------------------------------------------------------
// Connection phases

#[tokio::test]
async fn silent_tcp_is_closed_within_the_handshake_and_header_timeouts() {
    let srv = start(fast(Limits {
        tls_handshake_timeout: Duration::from_secs(1),
        header_read_timeout: Duration::from_secs(1),
        ..Limits::default()
    }))
    .await;
    for addr in [srv.https, srv.http] {
        let mut silent = Vec::new();
        for _ in 0..20 {
            silent.push(TcpStream::connect(addr).await.unwrap());
        }
        for s in &mut silent {
            let took = closed_within(s, Duration::from_secs(4))
                .await
                .unwrap_or_else(|| panic!("a silent connection to {addr} stayed open 4 s"));
            assert!(
                took < Duration::from_millis(2500),
                "{addr}: closed after {took:?}"
            );
        }
    }
}

#[tokio::test]
async fn slowloris_heads_are_closed_at_the_header_timeout_but_keep_alive_lasts() {
    let srv = start(fast(Limits {
        header_read_timeout: Duration::from_secs(1),
        keep_alive_timeout: Duration::from_secs(3),
        ..Limits::default()
    }))
    .await;
    // A head trickled one byte per 200 ms never completes: closed at ~1 s.
    let mut s = TcpStream::connect(srv.http).await.unwrap();
    let t = Instant::now();
    s.write_all(b"GET /ReportServer/ HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut closed = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if s.write_all(b"X").await.is_err() {
            closed = true;
            break;
        }
        let mut b = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), s.read(&mut b)).await
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "a trickled head kept its connection for 6 s");
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );

    // After a complete request, an idle keep-alive connection outlives the header timeout
    // and is closed at the keep-alive timeout.
    let mut s = TcpStream::connect(srv.http).await.unwrap();
    s.write_all(b"GET /ReportServer/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let t = Instant::now();
    let took = closed_within(&mut s, Duration::from_secs(6))
        .await
        .expect("keep-alive connection never closed");
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_millis(4500),
        "keep-alive closed after {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn slow_and_stalled_bodies_fail_within_their_bounds() {
    let srv = start(fast(Limits {
        body_read_timeout: Duration::from_secs(1),
        min_body_rate: 1000,
        body_rate_grace: Duration::from_secs(1),
        ..Limits::default()
    }))
    .await;
    // 20 bytes/s against a 1000 bytes/s minimum: refused soon after the 1 s grace.
    let mut s = TcpStream::connect(srv.http).await.unwrap();
    s.write_all(b"POST /ReportServer/echo-body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n")
        .await
        .unwrap();
    let t = Instant::now();
    let mut reply = Vec::new();
    for _ in 0..100 {
        if s.write_all(b"xx").await.is_err() {
            break;
        }
        let mut b = [0u8; 4096];
        match tokio::time::timeout(Duration::from_millis(100), s.read(&mut b)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                reply.extend_from_slice(&b[..n]);
                break;
            }
            Err(_) => {}
        }
    }
    let took = t.elapsed();
    let reply = String::from_utf8_lossy(&reply).to_string();
    assert!(took < Duration::from_secs(4), "slow body held {took:?}");
    assert!(
        reply.starts_with("HTTP/1.1 400") && reply.contains("slower than 1000 bytes/s"),
        "{reply}"
    );

    // A body that stops: the read fails at the body timeout (rate check off).
    let srv = start(fast(Limits {
        body_read_timeout: Duration::from_secs(1),
        min_body_rate: 0,
        ..Limits::default()
    }))
    .await;
    let mut s = TcpStream::connect(srv.http).await.unwrap();
    s.write_all(b"POST /ReportServer/echo-body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc")
        .await
        .unwrap();
    let t = Instant::now();
    let mut reply = Vec::new();
    let mut b = vec![0u8; 4096];
    while !String::from_utf8_lossy(&reply).contains("body failed") {
        match tokio::time::timeout(Duration::from_secs(4), s.read(&mut b)).await {
            Err(_) => panic!("a stalled body held the request 4 s"),
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => reply.extend_from_slice(&b[..n]),
        }
    }
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.contains("no request body data for 1 s"), "{reply}");
    assert!(t.elapsed() < Duration::from_millis(2500));
}

// ---------------------------------------------------------------------------------------
// HTTP/2

#[tokio::test]
async fn idle_h2_connections_close_at_the_idle_timeout() {
    let srv = start(fast(Limits {
        h2_idle_timeout: Duration::from_secs(1),
        ..Limits::default()
    }))
    .await;
    let mut conns = Vec::new();
    for _ in 0..20 {
        conns.push(h2_client(&srv, h2::client::Builder::new()).await);
    }
    let t = Instant::now();
    for (_send, driver) in conns {
        // The server's GOAWAY ends the client connection.
        tokio::time::timeout(Duration::from_secs(4), driver)
            .await
            .expect("an idle h2 connection stayed open 4 s")
            .unwrap()
            .ok();
    }
    assert!(
        t.elapsed() < Duration::from_millis(3000),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn silent_h2_connections_filling_the_limit_do_not_keep_clients_out() {
    let srv = start(fast(Limits {
        max_connections: 50,
        max_connections_per_ip: 50,
        h2_idle_timeout: Duration::from_secs(60),
        ..Limits::default()
    }))
    .await;
    // 80 silent connections (handshake done, no stream): the limit is reached and the
    // oldest idle ones are shed.
    let mut idle = Vec::new();
    for _ in 0..80 {
        idle.push(h2_client(&srv, h2::client::Builder::new()).await);
    }
    // Silent TCP connections that never start TLS are idle as well.
    let mut raw = Vec::new();
    for _ in 0..30 {
        raw.push(TcpStream::connect(srv.https).await.unwrap());
    }
    for i in 0..20 {
        let t = Instant::now();
        assert_eq!(
            h2_get(&srv).await,
            Some(StatusCode::OK),
            "client {i} kept out"
        );
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
    let finished = idle.iter().filter(|(_, d)| d.is_finished()).count();
    assert!(
        finished >= 50,
        "only {finished} of 80 idle connections were shed"
    );
}

#[tokio::test]
async fn ping_flood_closes_the_connection() {
    let srv = start(fast(Limits {
        h2_max_control_frames_per_second: 50,
        ..Limits::default()
    }))
    .await;
    let mut io = tls(&srv).await;
    io.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    io.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap(); // empty SETTINGS
    let ping = [0u8, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    let (mut rd, mut wr) = tokio::io::split(io);
    let reader = tokio::spawn(async move { closed_within(&mut rd, Duration::from_secs(5)).await });
    let mut sent = 0;
    let t = Instant::now();
    while sent < 20_000 && t.elapsed() < Duration::from_secs(5) {
        if wr.write_all(&ping).await.is_err() {
            break;
        }
        sent += 1;
    }
    let took = reader.await.unwrap();
    assert!(took.is_some(), "the connection survived {sent} PINGs");
    assert!(sent < 20_000, "all {sent} PINGs were accepted");
}

#[tokio::test]
async fn zero_window_download_pins_at_most_the_stream_buffer() {
    let srv = start(fast(Limits {
        h2_stream_send_buffer: 64 * 1024,
        send_timeout: Duration::from_secs(1),
        ..Limits::default()
    }))
    .await;
    let mut b = h2::client::Builder::new();
    b.initial_window_size(0);
    let mut streams = Vec::new();
    let (mut send, driver) = h2_client(&srv, b).await;
    for _ in 0..10 {
        let req = Request::get(format!(
            "https://localhost:{}/ReportServer/stream",
            srv.https.port()
        ))
        .body(())
        .unwrap();
        let (resp, _) = send.send_request(req, true).unwrap();
        streams.push(resp);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let produced = srv.produced.load(Ordering::SeqCst);
    // Per stream: the 64 KiB send buffer plus the chunk being handed over.
    assert!(
        produced <= 10 * (64 + 16) * 1024,
        "{produced} bytes produced for 10 zero-window streams"
    );
    // Nothing is read: the connection is closed at the send timeout.
    tokio::time::timeout(Duration::from_secs(4), driver)
        .await
        .expect("a zero-window connection stayed open 4 s")
        .ok();
    drop(streams);
    assert_eq!(srv.produced.load(Ordering::SeqCst), produced);
}

/// Whether an outside tool is installed; missing fails under `CI=true`.
fn have(tool: &str) -> bool {
    let ok = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is required under CI"
        );
        eprintln!("skipped: {tool} is not installed");
    }
    ok
}

#[tokio::test]
async fn h2_request_bodies_work_with_curl_whether_or_not_the_app_reads_them() {
    if !have("curl") {
        return;
    }
    let srv = start(Limits::default()).await;
    let big = "b".repeat(200_000);
    for (path, body, expect) in [
        ("/ignore-body", "a=b".to_string(), "ignored".to_string()),
        ("/echo-body", "a=b".to_string(), "read 3 bytes".to_string()),
        ("/echo-body", big.clone(), "read 200000 bytes".to_string()),
        ("/ignore-body", big, "ignored".to_string()),
    ] {
        for _ in 0..3 {
            let out = tokio::process::Command::new("curl")
                .args(["-sS", "--http2", "--cacert"])
                .arg(srv.ca_pem.path())
                .args(["-X", "POST", "--data-binary", "@-"])
                .args(["-w", "\n%{http_version} %{http_code}"])
                .arg(format!(
                    "https://localhost:{}/ReportServer{path}",
                    srv.https.port()
                ))
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut child = out;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(body.as_bytes()).await.unwrap();
            drop(stdin);
            let out = child.wait_with_output().await.unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{path}: curl failed: {} {text}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(text, format!("{expect}\n2 200"), "{path}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Logs

/// Counts the bytes of log output.
#[derive(Clone, Default)]
struct Counted(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Counted {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A TLS 1.2/1.3 ClientHello record carrying `sni` as its server name (test bytes, not a
/// parser: the server must cope with whatever a client sends).
fn client_hello(sni: &[u8]) -> Vec<u8> {
    let mut ext = Vec::new();
    let name_list_len = sni.len() + 3;
    ext.extend_from_slice(&[0, 0]); // server_name
    ext.extend_from_slice(&((name_list_len + 2) as u16).to_be_bytes());
    ext.extend_from_slice(&(name_list_len as u16).to_be_bytes());
    ext.push(0); // host_name
    ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    ext.extend_from_slice(sni);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]); // random
    body.push(0); // session id
    body.extend_from_slice(&[0, 2, 0x13, 0x01]); // TLS_AES_128_GCM_SHA256
    body.extend_from_slice(&[1, 0]); // null compression
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[tokio::test]
async fn a_15_kb_sni_in_a_loop_grows_the_log_by_a_bounded_amount() {
    // Even at DEBUG (more than a server logs by default), every line stays short.
    let out = Counted::default();
    let w = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // No SSL binding for the name and a binding for nothing else: the refusal is logged.
    let srv = start(Limits::default()).await;
    let evil: Vec<u8> = (0..15_000)
        .map(|i| if i % 50 == 49 { b'\n' } else { b'a' })
        .collect();
    let mut names = vec![evil, vec![b'a'; 15_000]];
    names.push(b"x.example\r\nINFO forged".to_vec());
    let attempts = 200;
    for i in 0..attempts {
        let mut s = TcpStream::connect(srv.https).await.unwrap();
        let _ = s.write_all(&client_hello(&names[i % names.len()])).await;
        let _ = closed_within(&mut s, Duration::from_secs(2)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = String::from_utf8_lossy(&out.0.lock().unwrap()).to_string();
    // Not vacuous: every attempt was logged (one line each).
    assert!(log.lines().count() >= attempts, "{log}");
    let per_attempt = log.len() / attempts;
    assert!(
        per_attempt < 2048,
        "{per_attempt} log bytes per 15 KB SNI attempt"
    );
    assert!(
        !log.contains(&"a".repeat(200)),
        "a long SNI reached the log"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("INFO forged")),
        "a forged line reached the log"
    );
}
