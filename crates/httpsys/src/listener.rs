//! The listener: one accept loop per reserved port, TLS by SSL binding, hyper for HTTP,
//! routing by reservation.
//!
//! [`Listener::apply`] makes the set of open ports, the TLS bindings and the routing table
//! match a repository state, live: certificates are loaded and the TLS table built first, new
//! ports are bound (a port held by another program fails the whole change and leaves the old
//! state serving), then the routing and TLS tables are swapped atomically, then ports no
//! longer reserved stop accepting and drain their connections, and connections of removed
//! bindings are closed gracefully (`Connection: close`, HTTP/2 GOAWAY) within the drain
//! timeout.
//!
//! On an https port, the binding is chosen after the ClientHello ([`crate::tls`]); the
//! connection then speaks HTTP/2 when ALPN chose `h2` and HTTP/1.1 otherwise. Responses over
//! TLS are never compressed (the `Accept-Encoding` of requests is removed before the
//! application sees them) and carry `Strict-Transport-Security` when the binding asks for it.
//!
//! Request handling and handshakes do no I/O beyond the socket: the routing and TLS tables
//! are in-memory values behind `ArcSwap`s, read once per request or handshake.
//!
//! Every phase of a connection is bounded by [`Limits`] ([`crate::conn`] watches them):
//! handshake, request head, request body (idle time and minimum rate, [`crate::body`]),
//! keep-alive and HTTP/2 idle time, a response the client does not read, the connection's
//! age; the total and per-address connection limits shed the oldest idle connection first.
//! [`Listener::set_limits`] changes them live for new connections.
//! ACME answers the server holds while an order is pending are served before routing and
//! before the SSL bindings: HTTP-01 tokens on plain-http ports ([`Listener::set_acme_http01`]),
//! TLS-ALPN-01 certificates to `acme-tls/1` handshakes ([`Listener::set_acme_tls_alpn`]).
//! Client-controlled values (SNI, error texts) are logged escaped and truncated
//! ([`crate::logsafe`]); warnings a client can trigger at will are rate-limited.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::LazyConfigAcceptor;

use crate::body::{BodyBounds, Leftover, RequestBody, Tracked};
use crate::conn::{Activity, Close, FrameMeter, Metered, Refused, Registry, Slot};
use crate::logsafe::{DEFAULT_MAX, RateLimited, escape};
use crate::reservation::Scheme;
use crate::route::{RouteTable, split_host_header};
use crate::tls::{BindingState, CentralCert, CentralIndex, CertSource, Serving, TlsTable};
use crate::{Application, Endpoint, Error, Repository, RequestContext, Result};

/// `Strict-Transport-Security` of bindings with `--hsts on`: one year.
const HSTS: &str = "max-age=31536000";

/// Boxed error of response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The response body type applications return.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;
/// A boxed response future.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// An application as the listener sees it: a request in (virtual directory stripped,
/// [`RequestContext`] in its extensions), a response out. Errors are the application's to
/// render; the listener never sees them.
pub trait Handler: Send + Sync + 'static {
    fn call(&self, req: Request<RequestBody>) -> ResponseFuture;
}

/// Limits that keep slow or greedy clients from pinning the server. The defaults are no
/// looser than nginx's (handshake and header 10 s, keep-alive and HTTP/2 idle 60 s).
#[derive(Clone, Debug)]
pub struct Limits {
    /// A TLS handshake (ClientHello included) must complete within this time; a client that
    /// connects and sends nothing is closed then.
    pub tls_handshake_timeout: Duration,
    /// A request head (request line and headers) must arrive within this time of its first
    /// byte (the first head: of the connection's start).
    pub header_read_timeout: Duration,
    /// HTTP/1.1: idle time allowed between keep-alive requests.
    pub keep_alive_timeout: Duration,
    /// HTTP/2: a connection with no stream open this long gets GOAWAY and is closed.
    pub h2_idle_timeout: Duration,
    /// A request body that delivers no data this long fails (the application sees a failed
    /// body read).
    pub body_read_timeout: Duration,
    /// A request body slower than this many bytes per second (after `body_rate_grace`)
    /// fails; 0 turns the check off.
    pub min_body_rate: u32,
    /// How long a body may start slowly before `min_body_rate` applies.
    pub body_rate_grace: Duration,
    /// A response body that makes no progress this long (the client reads nothing: zero
    /// HTTP/2 window, full TCP buffer) closes its connection.
    pub send_timeout: Duration,
    /// A connection older than this is closed gracefully (GOAWAY / `Connection: close`).
    pub max_connection_age: Duration,
    /// Largest request head accepted (bytes); larger heads get 431/close.
    pub max_header_bytes: usize,
    /// The application must produce a response head within this time.
    pub request_timeout: Duration,
    /// Open connections at most; when reached, the oldest idle connection is shed for a new
    /// one, and a new one is refused when none is idle.
    pub max_connections: usize,
    /// Open connections from one client address at most (shedding as above).
    pub max_connections_per_ip: usize,
    /// How long draining connections get on shutdown, when their port closes or when their
    /// SSL binding is removed; then they are closed.
    pub drain_timeout: Duration,
    /// HTTP/2: streams one connection may have open at once.
    pub h2_max_concurrent_streams: u32,
    /// HTTP/2: response bytes buffered per stream (what a zero-window client pins).
    pub h2_stream_send_buffer: usize,
    /// HTTP/2: receive window per stream (request bytes buffered before the app reads).
    pub h2_stream_window: u32,
    /// HTTP/2: PING, SETTINGS, RST_STREAM, PRIORITY and empty frames per second allowed
    /// (bursts of five times that); a connection sending more is closed.
    pub h2_max_control_frames_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            tls_handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(60),
            h2_idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            min_body_rate: 1024,
            body_rate_grace: Duration::from_secs(10),
            send_timeout: Duration::from_secs(60),
            max_connection_age: Duration::from_secs(3600),
            max_header_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(300),
            max_connections: 10_000,
            max_connections_per_ip: 1_000,
            drain_timeout: Duration::from_secs(4),
            h2_max_concurrent_streams: 100,
            h2_stream_send_buffer: 64 * 1024,
            h2_stream_window: 256 * 1024,
            h2_max_control_frames_per_second: 100,
        }
    }
}

/// Unread request bodies are read (and discarded) up to this many bytes before the
/// response goes out; see [`crate::body`].
const DRAIN_MAX: usize = 256 * 1024;
/// ... and for at most this long.
const DRAIN_TIME: Duration = Duration::from_secs(2);
/// HTTP/2 streams reset by the client before the application saw them, at most (hyper's
/// rapid-reset bound).
const H2_PENDING_RESETS: usize = 20;
/// HTTP/2 streams the server resets for protocol errors of the client, at most per
/// connection; then GOAWAY.
const H2_LOCAL_RESETS: usize = 256;
/// HTTP/2 keep-alive: a PING after this much silence while streams are open...
const H2_PING_INTERVAL: Duration = Duration::from_secs(30);
/// ... that must be answered within this time, or the connection is closed.
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);
/// Grace for in-flight requests when a connection closes for its age or idle time.
const AGE_DRAIN: Duration = Duration::from_secs(60);

/// How much a [`Change`] matters to whoever made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeLevel {
    /// Something the change did, as asked.
    Info,
    /// Something the change left not working (a binding that completes no handshake); the
    /// change itself still took effect.
    Warning,
}

/// One thing [`Listener::apply`] changed or found, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub level: ChangeLevel,
    /// What happened, without any level prefix ("closed port 9090").
    pub text: String,
}

impl Change {
    pub fn info(text: impl Into<String>) -> Change {
        Change {
            level: ChangeLevel::Info,
            text: text.into(),
        }
    }

    pub fn warning(text: impl Into<String>) -> Change {
        Change {
            level: ChangeLevel::Warning,
            text: text.into(),
        }
    }

    pub fn is_warning(&self) -> bool {
        self.level == ChangeLevel::Warning
    }
}

/// The line printed for the user: warnings are marked as such.
impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level {
            ChangeLevel::Info => f.write_str(&self.text),
            ChangeLevel::Warning => write!(f, "warning: {}", self.text),
        }
    }
}

/// "connection limit reached" warnings: one per 10 s with the count held back.
static REFUSED: RateLimited = RateLimited::new(Duration::from_secs(10));
/// "accept failed" warnings (EMFILE under a flood): likewise.
static ACCEPT_FAILED: RateLimited = RateLimited::new(Duration::from_secs(10));

struct PortTask {
    scheme: Scheme,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

struct Shared {
    routes: ArcSwap<RouteTable>,
    tls: ArcSwap<TlsTable>,
    handlers: HashMap<Application, Arc<dyn Handler>>,
    /// Read once per connection: a change applies to connections accepted after it.
    limits: ArcSwap<Limits>,
    connections: Arc<Registry>,
    certs: Arc<dyn CertSource>,
    provider: Arc<CryptoProvider>,
    /// Used when no binding matches: the handshake ends with an alert.
    refuse: Arc<ServerConfig>,
    /// ACME HTTP-01 answers (token -> key authorization) the server holds while an order
    /// is pending; served on plain-http ports before routing ([`Listener::set_acme_http01`]).
    acme_http01: ArcSwap<HashMap<String, String>>,
    /// ACME TLS-ALPN-01 answers (server name, lower case -> a configuration serving the
    /// challenge certificate with ALPN `acme-tls/1`), chosen before the SSL bindings.
    acme_tls_alpn: ArcSwap<HashMap<String, Arc<ServerConfig>>>,
    /// The central (cluster) certificate store that `ccs:PORT` bindings choose from by SNI
    /// ([`Listener::set_central_store`]).
    central: Arc<ArcSwap<CentralIndex>>,
}

/// The running listener. Cheap to clone.
#[derive(Clone)]
pub struct Listener {
    shared: Arc<Shared>,
    ports: Arc<Mutex<HashMap<u16, PortTask>>>,
}

impl Listener {
    /// A listener with no ports open yet; call [`Listener::apply`]. `certs` supplies the
    /// certificates of SSL bindings when they are applied.
    pub fn new(
        handlers: HashMap<Application, Arc<dyn Handler>>,
        limits: Limits,
        certs: Arc<dyn CertSource>,
    ) -> Listener {
        let connections = Registry::new();
        let provider = crate::tls::provider();
        Listener {
            shared: Arc::new(Shared {
                routes: ArcSwap::from_pointee(RouteTable::default()),
                tls: ArcSwap::from_pointee(TlsTable::default()),
                handlers,
                limits: ArcSwap::from_pointee(limits),
                connections,
                certs,
                refuse: crate::tls::refusing_config(&provider),
                provider,
                acme_http01: ArcSwap::from_pointee(HashMap::new()),
                acme_tls_alpn: ArcSwap::from_pointee(HashMap::new()),
                central: Arc::default(),
            }),
            ports: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Replaces the central (cluster) certificate store that `ccs:PORT` bindings choose
    /// from: the next handshake picks from `certs` (loaded by the caller; nothing here
    /// reads a file or the database). Returns how many certificates it holds.
    pub fn set_central_store(&self, certs: Vec<CentralCert>) -> usize {
        let index = CentralIndex::new(certs);
        let n = index.len();
        self.shared.central.store(Arc::new(index));
        n
    }

    /// Replaces the ACME HTTP-01 answers: a plain-http request for
    /// `/.well-known/acme-challenge/TOKEN` with a token in `answers` gets its key
    /// authorization (`text/plain`), on any host, before routing. The map comes from the
    /// server's renewal task; nothing here reads files.
    pub fn set_acme_http01(&self, answers: HashMap<String, String>) {
        self.shared.acme_http01.store(Arc::new(answers));
    }

    /// Replaces the ACME TLS-ALPN-01 answers: a handshake on an https port that offers
    /// ALPN `acme-tls/1` (RFC 8737) with a server name in `answers` gets that name's challenge
    /// certificate (DER, with its PKCS#8 DER key) and is closed after the handshake. A
    /// certificate the TLS library refuses is left out (and named in the error).
    pub fn set_acme_tls_alpn(
        &self,
        answers: &HashMap<String, (Vec<u8>, Vec<u8>)>,
    ) -> std::result::Result<(), String> {
        let mut map = HashMap::new();
        let mut bad = Vec::new();
        for (name, (cert, key)) in answers {
            // Not `with_single_cert`: the certificate's critical acmeIdentifier extension
            // is one the verifier (rightly) refuses in a served chain; only this key is
            // checked here and the CA checks the rest.
            let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.clone().into());
            let built = self
                .shared
                .provider
                .key_provider
                .load_private_key(key)
                .and_then(|signer| {
                    let ck = rustls::sign::CertifiedKey::new(vec![cert.clone().into()], signer);
                    let mut cfg = ServerConfig::builder_with_provider(self.shared.provider.clone())
                        .with_protocol_versions(&[
                            &rustls::version::TLS13,
                            &rustls::version::TLS12,
                        ])?
                        .with_no_client_auth()
                        .with_cert_resolver(Arc::new(AcmeAlpnCert(Arc::new(ck))));
                    cfg.alpn_protocols = vec![b"acme-tls/1".to_vec()];
                    Ok(cfg)
                });
            match built {
                Ok(cfg) => {
                    map.insert(name.to_ascii_lowercase(), Arc::new(cfg));
                }
                Err(e) => bad.push(format!("{name}: {e}")),
            }
        }
        self.shared.acme_tls_alpn.store(Arc::new(map));
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("; "))
        }
    }

    /// Makes the open ports, the SSL bindings and the routing table match `repo`. Returns one
    /// [`Change`] per change made ("listening on port 8080 (http)", "closed port 9090", "SSL
    /// binding 0.0.0.0:443 serves certificate AB12..."); [`ChangeLevel::Warning`] ones name
    /// bindings that complete no handshake because their certificate cannot be loaded (that
    /// does not fail the change). On error (a port in use) nothing changed.
    pub async fn apply(&self, repo: &Repository) -> Result<Vec<Change>> {
        let mut ports = self.ports.lock().await;
        let wanted = repo.ports();
        // 0. Load the certificates and build the TLS table: file I/O, so off the runtime's
        // threads, and never on the handshake path.
        let (tls, pending) = {
            let shared = self.shared.clone();
            let bindings = repo.ssl_bindings.clone();
            tokio::task::spawn_blocking(move || {
                let old = shared.tls.load();
                TlsTable::build(
                    &bindings,
                    shared.certs.as_ref(),
                    &old,
                    &shared.provider,
                    &shared.central,
                )
            })
            .await
            .map_err(|e| {
                Error::Io(format!(
                    "loading the certificates of the SSL bindings failed: {e}; see the server log"
                ))
            })?
        };
        // 1. Bind every new port first, so that a failure changes nothing.
        let mut fresh = Vec::new();
        for (&port, &scheme) in &wanted {
            match ports.get(&port) {
                Some(t) if t.scheme == scheme => continue,
                Some(_) => {} // scheme changed: rebinding would fail; restart the port below
                None => match open_port(port) {
                    Ok((l, inherited)) => fresh.push((port, scheme, l, inherited)),
                    Err(e) => {
                        // Inherited sockets taken for this change go back unused.
                        for (p, _, l, inherited) in fresh {
                            if inherited && let Ok(l) = l.into_std() {
                                return_inherited(p, l);
                            }
                        }
                        return Err(e);
                    }
                },
            }
        }
        let mut changes = Vec::new();
        // 2. Swap the routing and TLS tables: from here on requests route, and handshakes
        // choose bindings, by the new state.
        self.shared.routes.store(Arc::new(RouteTable::new(repo)));
        self.shared.tls.store(Arc::new(tls));
        // Connections of removed bindings start closing; those of changed bindings learn
        // their new policy.
        let tls_changes = pending.commit();
        // 3. Start accepting on the new ports.
        for (port, scheme, listener, _) in fresh {
            let (stop, stop_rx) = watch::channel(false);
            let task = tokio::spawn(accept_loop(
                self.shared.clone(),
                listener,
                port,
                scheme,
                stop_rx,
            ));
            ports.insert(port, PortTask { scheme, stop, task });
            changes.push(Change::info(format!(
                "listening on port {port} ({})",
                scheme.as_str()
            )));
        }
        // 4. Close ports that are no longer reserved (or whose scheme changed).
        let gone: Vec<u16> = ports
            .iter()
            .filter(|(p, t)| wanted.get(p) != Some(&t.scheme))
            .map(|(p, _)| *p)
            .collect();
        for port in gone {
            if let Some(t) = ports.remove(&port) {
                let _ = t.stop.send(true);
                let _ = t.task.await;
                changes.push(Change::info(format!("closed port {port}")));
            }
        }
        // A port whose scheme changed was closed above; open it again with the new scheme.
        for (&port, &scheme) in &wanted {
            if let std::collections::hash_map::Entry::Vacant(slot) = ports.entry(port) {
                let (listener, _) = open_port(port)?;
                let (stop, stop_rx) = watch::channel(false);
                let task = tokio::spawn(accept_loop(
                    self.shared.clone(),
                    listener,
                    port,
                    scheme,
                    stop_rx,
                ));
                slot.insert(PortTask { scheme, stop, task });
                changes.push(Change::info(format!(
                    "listening on port {port} ({})",
                    scheme.as_str()
                )));
            }
        }
        changes.extend(tls_changes);
        Ok(changes)
    }

    /// Changes the limits; connections accepted from now on use them (open ones keep the
    /// limits they started with, except the connection limits, which apply at once).
    pub fn set_limits(&self, limits: Limits) {
        self.shared.limits.store(Arc::new(limits));
    }

    /// The limits new connections get.
    pub fn limits(&self) -> Limits {
        (**self.shared.limits.load()).clone()
    }

    /// Connections open now (all ports).
    pub fn open_connections(&self) -> usize {
        self.shared.connections.len()
    }

    /// Every SSL binding of the last applied state with whether it serves handshakes, sorted
    /// by endpoint (for `status`).
    pub fn binding_states(&self) -> Vec<(Endpoint, BindingState)> {
        self.shared.tls.load().states()
    }

    /// The ports open now, with their scheme.
    pub async fn open_ports(&self) -> Vec<(u16, Scheme)> {
        let ports = self.ports.lock().await;
        let mut v: Vec<_> = ports.iter().map(|(p, t)| (*p, t.scheme)).collect();
        v.sort();
        v
    }

    /// Stops accepting on every port and lets open connections finish their current request
    /// within the drain timeout.
    pub async fn shutdown(&self) {
        let mut ports = self.ports.lock().await;
        for (_, t) in ports.drain() {
            let _ = t.stop.send(true);
            let _ = t.task.await;
        }
    }
}

/// Listening sockets this process was given already bound (systemd socket activation, or a
/// test that bound port 0), by port, not yet serving a reservation. Process-wide because
/// the sockets are: they arrive with the process (file descriptors), before any
/// [`Listener`] exists, and `check_port_free` (a stopped server's port check) must see them
/// too. One entry per port; tiny.
static INHERITED: std::sync::Mutex<std::collections::BTreeMap<u16, std::net::TcpListener>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Hands the listener a socket that is already bound and listening (taken from
/// `LISTEN_FDS`, or bound by a test on port 0). It serves its port once a reservation names
/// that port — instead of binding one — and is closed when no reservation names it any
/// more. Returns the port. Refused: a socket that does not listen on TCP, or a second
/// socket for a port that already has one (give one dual-stack socket per port).
pub fn inherit(socket: std::net::TcpListener) -> Result<u16> {
    let addr = socket
        .local_addr()
        .map_err(|e| Error::Io(format!("an inherited socket has no local address: {e}")))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| Error::Io(format!("inherited socket {addr}: {e}")))?;
    let port = addr.port();
    let mut pool = INHERITED.lock().unwrap_or_else(|p| p.into_inner());
    if pool.contains_key(&port) {
        return Err(Error::Conflict(format!(
            "two inherited sockets listen on port {port}; pass one dual-stack socket per port (systemd: ListenStream={port})"
        )));
    }
    pool.insert(port, socket);
    Ok(port)
}

/// The ports of inherited sockets not serving yet (for logs and `status`).
pub fn inherited_ports() -> Vec<u16> {
    let pool = INHERITED.lock().unwrap_or_else(|p| p.into_inner());
    pool.keys().copied().collect()
}

fn take_inherited(port: u16) -> Option<std::net::TcpListener> {
    let mut pool = INHERITED.lock().unwrap_or_else(|p| p.into_inner());
    pool.remove(&port)
}

/// Puts back an inherited socket that a failed change took.
fn return_inherited(port: u16, socket: std::net::TcpListener) {
    let mut pool = INHERITED.lock().unwrap_or_else(|p| p.into_inner());
    pool.insert(port, socket);
}

/// The socket for `port`: the inherited one when there is one ([`inherit`]), else
/// [`bind_dual_stack`].
/// The flag says whether it was inherited.
fn open_port(port: u16) -> Result<(TcpListener, bool)> {
    match take_inherited(port) {
        Some(s) => TcpListener::from_std(s)
            .map(|l| (l, true))
            .map_err(|e| Error::Io(format!("inherited port {port}: {e}"))),
        None => bind_dual_stack(port).map(|l| (l, false)),
    }
}

/// Binds `[::]:port` dual stack (IPv4 arrives as v4-mapped), or `0.0.0.0:port` where the
/// machine has no IPv6. A port held by another program is [`Error::PortInUse`].
pub fn bind_dual_stack(port: u16) -> Result<TcpListener> {
    let std_listener = listen_dual_stack(port)?;
    TcpListener::from_std(std_listener).map_err(|e| Error::Io(format!("port {port}: {e}")))
}

/// [`bind_dual_stack`] without a runtime: a listening, non-blocking std socket. Port 0
/// picks a free port (tests bind it this way and [`inherit`] the socket).
pub fn listen_dual_stack(port: u16) -> Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let make = |domain: Domain, addr: SocketAddr| -> std::io::Result<std::net::TcpListener> {
        let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        if domain == Domain::IPV6 {
            s.set_only_v6(false)?;
        }
        s.set_reuse_address(true)?;
        s.set_nonblocking(true)?;
        s.bind(&addr.into())?;
        s.listen(1024)?;
        Ok(s.into())
    };
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    let std_listener = match make(Domain::IPV6, v6) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            return Err(Error::PortInUse(port));
        }
        Err(_) => {
            let v4 = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), port);
            make(Domain::IPV4, v4).map_err(|e| match e.kind() {
                std::io::ErrorKind::AddrInUse => Error::PortInUse(port),
                _ => Error::Io(format!("cannot listen on port {port}: {e}")),
            })?
        }
    };
    Ok(std_listener)
}

/// Checks that `port` could be bound now (the server is stopped and a command wants to
/// reserve it): a port held by another program is [`Error::PortInUse`]. A port this process
/// inherited a socket for ([`inherit`]) is free for it.
pub fn check_port_free(port: u16) -> Result<()> {
    if INHERITED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains_key(&port)
    {
        return Ok(());
    }
    // A throwaway std socket: binding needs no runtime.
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV6, Type::STREAM, None)
        .or_else(|_| Socket::new(Domain::IPV4, Type::STREAM, None))
        .map_err(|e| Error::Io(e.to_string()))?;
    let _ = s.set_only_v6(false);
    s.set_reuse_address(true)
        .map_err(|e| Error::Io(e.to_string()))?;
    let addr: SocketAddr = if s.domain().ok() == Some(Domain::IPV6) {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)
    } else {
        SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), port)
    };
    match s.bind(&addr.into()).and_then(|_| s.listen(1)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(Error::PortInUse(port)),
        Err(e) => Err(Error::Io(format!("cannot listen on port {port}: {e}"))),
    }
}

async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    port: u16,
    scheme: Scheme,
    mut stop: watch::Receiver<bool>,
) {
    // Every connection task holds a sender; when all are gone, the port has drained.
    let (done, mut drained) = mpsc::channel::<()>(1);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    crate::warn_limited!(ACCEPT_FAILED, "port {port}: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        // Small responses go out at once; keep-alive clients wait on them.
        let _ = stream.set_nodelay(true);
        let local = match stream.local_addr() {
            Ok(a) => canonical(a),
            Err(_) => continue,
        };
        let peer = canonical(peer);
        let limits = shared.limits.load_full();
        let activity = Activity::new();
        let slot = match shared.connections.admit(peer.ip(), &limits, &activity) {
            Ok(s) => s,
            Err(why) => {
                let why = match why {
                    Refused::Total(n) => format!("{n} connections are open and none is idle"),
                    Refused::PerIp(n) => {
                        format!("{n} connections from this address are open and none is idle")
                    }
                };
                crate::warn_limited!(
                    REFUSED,
                    "connection from {} refused: {why} (settings MaxConnections, MaxConnectionsPerIp)",
                    peer.ip()
                );
                drop(stream);
                continue;
            }
        };
        let conn = Conn {
            shared: shared.clone(),
            limits,
            activity,
            port,
            local,
            peer,
            stop: stop.clone(),
            _done: done.clone(),
            _slot: slot,
        };
        match scheme {
            Scheme::Http => tokio::spawn(conn.serve(stream, false, None)),
            Scheme::Https => tokio::spawn(conn.serve_tls(stream)),
        };
    }
    drop(listener);
    drop(done);
    // Each connection closes itself within the drain timeout of the stop signal.
    let bound = shared.limits.load().drain_timeout.max(AGE_DRAIN) + Duration::from_secs(1);
    if tokio::time::timeout(bound, drained.recv()).await.is_err() {
        tracing::warn!(port, "connections did not close within {bound:?}");
    }
}

/// One accepted connection: where it arrived, and what tells it to finish.
struct Conn {
    shared: Arc<Shared>,
    /// The limits when the connection was accepted.
    limits: Arc<Limits>,
    /// What the connection is doing, for its bounds and for shedding.
    activity: Arc<Activity>,
    port: u16,
    local: SocketAddr,
    peer: SocketAddr,
    /// True once the port closes.
    stop: watch::Receiver<bool>,
    /// Dropped when the connection ends: the accept loop waits for all of them.
    _done: mpsc::Sender<()>,
    /// The connection's place under the connection limits.
    _slot: Slot,
}

impl Conn {
    /// Completes the TLS handshake with the binding chosen from the ClientHello, then serves
    /// HTTP over it. No binding matches → the handshake ends with a fatal alert.
    async fn serve_tls(mut self, stream: TcpStream) {
        let deadline = tokio::time::Instant::now() + self.limits.tls_handshake_timeout;
        let hello = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
        let start = tokio::select! {
            r = tokio::time::timeout_at(deadline, hello) => match r {
                Ok(Ok(start)) => start,
                Ok(Err(e)) => {
                    let e = e.to_string();
                    tracing::debug!(peer = %self.peer, error = %escape(&e, DEFAULT_MAX), "no valid TLS ClientHello");
                    return;
                }
                Err(_) => {
                    tracing::debug!(peer = %self.peer, "no TLS ClientHello in time");
                    return;
                }
            },
            _ = stopped(&mut self.stop) => return,
            _ = shed(self.activity.clone()) => return,
        };
        let (chosen, sni) = {
            let table = self.shared.tls.load();
            let hello = start.client_hello();
            let sni = hello.server_name().map(str::to_owned);
            // An ACME CA validating TLS-ALPN-01: its challenge certificate, then close.
            let acme = hello
                .alpn()
                .is_some_and(|mut p| p.any(|p| p == b"acme-tls/1"))
                .then(|| {
                    let name = sni.as_deref()?.to_ascii_lowercase();
                    self.shared.acme_tls_alpn.load().get(&name).cloned()
                })
                .flatten();
            if let Some(cfg) = acme {
                let _ = tokio::time::timeout_at(deadline, start.into_stream(cfg)).await;
                return;
            }
            let chosen = table
                .choose(self.port, self.local.ip(), sni.as_deref())
                .map(|e| (e.config.clone(), e.serving.subscribe()));
            (chosen, sni)
        };
        let Some((config, mut serving)) = chosen else {
            tracing::debug!(
                port = self.port,
                local = %self.local.ip(),
                sni = %escape(sni.as_deref().unwrap_or("-"), DEFAULT_MAX),
                "no SSL binding matches; refusing the handshake"
            );
            // Sends the alert; the result is the refusal itself.
            let refuse = self.shared.refuse.clone();
            let _ = tokio::time::timeout_at(deadline, start.into_stream(refuse)).await;
            return;
        };
        let tls = tokio::select! {
            r = tokio::time::timeout_at(deadline, start.into_stream(config)) => match r {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    let e = e.to_string();
                    tracing::debug!(peer = %self.peer, error = %escape(&e, DEFAULT_MAX), "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(peer = %self.peer, "TLS handshake did not complete in time");
                    return;
                }
            },
            _ = stopped(&mut self.stop) => return,
            _ = shed(self.activity.clone()) => return,
            // The binding went away mid-handshake: it completes no new handshake.
            _ = closed(&mut serving) => {
                tracing::debug!(peer = %self.peer, "SSL binding removed mid-handshake; connection closed");
                return;
            }
        };
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
        self.serve(tls, h2, Some(serving)).await;
    }

    /// Serves HTTP/1.1 (or HTTP/2 when `h2`) on `io` until the client leaves, the port
    /// closes, the SSL binding (`binding`, for TLS connections) is removed or a bound of
    /// [`Limits`] is crossed; then finishes gracefully within the drain timeout (or closes at
    /// once, for bounds that mean the client is stalling).
    async fn serve<IO>(mut self, io: IO, h2: bool, binding: Option<watch::Receiver<Serving>>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let limits = self.limits.clone();
        self.activity.serving();
        let builder = auto::Builder::new(TokioExecutor::new());
        let mut builder = if h2 {
            builder.http2_only()
        } else {
            builder.http1_only()
        };
        // hyper's own head timeout also runs between keep-alive requests; the supervisor
        // applies the header and keep-alive timeouts separately, this is only a backstop.
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(
                limits.keep_alive_timeout.max(limits.header_read_timeout)
                    + limits.header_read_timeout,
            )
            .max_buf_size(limits.max_header_bytes.max(8192))
            .keep_alive(true);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
            .max_concurrent_streams(limits.h2_max_concurrent_streams)
            .max_send_buf_size(limits.h2_stream_send_buffer)
            .initial_stream_window_size(limits.h2_stream_window)
            .max_pending_accept_reset_streams(H2_PENDING_RESETS)
            .max_local_error_reset_streams(H2_LOCAL_RESETS)
            .keep_alive_interval(H2_PING_INTERVAL)
            .keep_alive_timeout(H2_PING_TIMEOUT);
        let bounds = BodyBounds {
            idle: limits.body_read_timeout,
            min_rate: limits.min_body_rate,
            grace: limits.body_rate_grace,
        };
        let svc = {
            let shared = self.shared.clone();
            let activity = self.activity.clone();
            let (port, local, peer) = (self.port, self.local, self.peer);
            let binding = binding.clone();
            service_fn(move |req: Request<Incoming>| {
                let shared = shared.clone();
                let activity = activity.clone();
                let tls = binding.as_ref().map(|b| *b.borrow());
                async move {
                    let in_flight = activity.request_started();
                    let leftover: Leftover = Arc::default();
                    let req = req.map(|b| RequestBody::new(b, bounds, Some(leftover.clone())));
                    let mut resp = dispatch(&shared, req, port, local, peer, tls.is_some()).await;
                    crate::body::drain(&leftover, DRAIN_MAX, DRAIN_TIME).await;
                    if tls == Some(Serving::Yes { hsts: true }) {
                        resp.headers_mut().insert(
                            header::STRICT_TRANSPORT_SECURITY,
                            HeaderValue::from_static(HSTS),
                        );
                    }
                    let resp = resp.map(|b| Tracked::new(b, activity, in_flight));
                    Ok::<_, Infallible>(resp)
                }
            })
        };
        let meter = h2.then(|| FrameMeter::new(limits.h2_max_control_frames_per_second));
        let io = Metered::new(io, self.activity.clone(), meter);
        let conn = builder.serve_connection(TokioIo::new(io), svc);
        tokio::pin!(conn);
        let mut binding = binding;
        let unbound = async {
            match binding.as_mut() {
                Some(b) => closed(b).await,
                None => std::future::pending().await,
            }
        };
        let activity = self.activity.clone();
        let drain = tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    let e = e.to_string();
                    tracing::debug!(peer = %self.peer, error = %escape(&e, DEFAULT_MAX), "connection ended with an error");
                }
                return;
            }
            _ = stopped(&mut self.stop) => limits.drain_timeout,
            _ = unbound => limits.drain_timeout,
            why = crate::conn::supervise(activity.clone(), limits.clone(), h2) => {
                tracing::debug!(peer = %self.peer, "closing the connection: {}", why.as_str());
                if !why.graceful() {
                    return;
                }
                if why == Close::MaxAge { AGE_DRAIN } else { limits.drain_timeout }
            }
        };
        // HTTP/1.1: the response in flight says `Connection: close`; HTTP/2: GOAWAY.
        conn.as_mut().graceful_shutdown();
        let finish = async {
            tokio::select! {
                _ = conn => {}
                // Still bounded while draining: a stalled response or a shed ends it.
                why = crate::conn::supervise(activity.clone(), limits.clone(), h2) => {
                    if why.graceful() {
                        std::future::pending::<()>().await;
                    }
                }
            }
        };
        if tokio::time::timeout(drain, finish).await.is_err() {
            tracing::debug!(peer = %self.peer, "connection did not finish within the drain timeout; closed");
        }
    }
}

/// Resolves once the registry sheds the connection (during the handshake).
async fn shed(activity: Arc<Activity>) {
    activity.wait_shed().await;
}

/// Resolves once the port closes (or its accept loop is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Resolves once the binding no longer serves. An error means its sender is gone, which
/// happens only after it left the TLS table: closed as well.
async fn closed(serving: &mut watch::Receiver<Serving>) {
    let _ = serving.wait_for(|s| *s == Serving::Closed).await;
}

fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

async fn dispatch(
    shared: &Shared,
    mut req: Request<RequestBody>,
    port: u16,
    local: SocketAddr,
    peer: SocketAddr,
    secure: bool,
) -> Response<Body> {
    // hyper bounds its read buffer (max_buf_size) but may still parse a head somewhat larger
    // than that when it arrives in one read; the limit users see is enforced here.
    let head_bytes: usize = req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    let limits = shared.limits.load();
    if head_bytes > limits.max_header_bytes {
        return finish(plain_page(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request Header Fields Too Large",
            "The request's headers are larger than this server accepts.",
        ));
    }
    if secure {
        // No HTTP compression over TLS (BREACH): applications compress only what the client
        // accepts, so they never see that it accepts anything.
        req.headers_mut().remove(header::ACCEPT_ENCODING);
    }
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
    let Some(host_header) = host else {
        return finish(plain_page(
            StatusCode::BAD_REQUEST,
            "Bad Request",
            "The request has no Host header.",
        ));
    };
    let (host, _) = split_host_header(&host_header);
    let path = req.uri().path().to_owned();
    if !secure
        && let Some(token) = path.strip_prefix("/.well-known/acme-challenge/")
        && let Some(answer) = shared.acme_http01.load().get(token)
    {
        let mut resp = Response::new(full(answer.clone()));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        return finish(resp);
    }
    let routes = shared.routes.load();
    let Some(route) = routes.route(port, local.ip(), host, &path) else {
        return finish(plain_page(
            StatusCode::BAD_REQUEST,
            "Bad Request - Invalid URL",
            "No URL reservation of this report server matches the requested URL. \
             Use one of its reserved URLs; an administrator can list them.",
        ));
    };
    let Some(handler) = shared.handlers.get(&route.app).cloned() else {
        return finish(plain_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "This application is not running.",
        ));
    };
    let ctx = RequestContext {
        app: route.app,
        vdir: route.vdir.clone(),
        secure,
        host: host.to_owned(),
        peer,
        local,
        // Only a plain-http request can be redirected to https: skip the work over TLS.
        https_base: if secure {
            None
        } else {
            routes.https_base(route.app, host)
        },
    };
    drop(routes);
    // HTTP/2 carries the host in `:authority`, not in a Host header; the URI rewrite below
    // drops the authority, so hand it on as Host (with its port), as HTTP/1.1 would have.
    if !req.headers().contains_key(header::HOST)
        && let Ok(v) = HeaderValue::from_str(&host_header)
    {
        req.headers_mut().insert(header::HOST, v);
    }
    let rest = &path[route.prefix_len..];
    let rest = if rest.is_empty() { "/" } else { rest };
    let pq = match req.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    match pq.parse::<Uri>() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => {
            return finish(plain_page(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                "The request URL is malformed.",
            ));
        }
    }
    req.extensions_mut().insert(ctx);
    let request_timeout = limits.request_timeout;
    drop(limits);
    let resp = match tokio::time::timeout(request_timeout, handler.call(req)).await {
        Ok(r) => r,
        Err(_) => plain_page(
            StatusCode::REQUEST_TIMEOUT,
            "Request Timeout",
            "The request took too long.",
        ),
    };
    finish(resp)
}

/// Headers every response carries, whatever produced it (SPEC §4).
fn finish(mut resp: Response<Body>) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::SERVER)
        .or_insert(HeaderValue::from_static("reportd"));
    resp
}

/// The one certificate of a TLS-ALPN-01 validation handshake.
#[derive(Debug)]
struct AcmeAlpnCert(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for AcmeAlpnCert {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A minimal HTML page for errors the listener itself answers.
pub fn plain_page(status: StatusCode, title: &str, text: &str) -> Response<Body> {
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p><hr><p>reportd</p></body></html>"
    );
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// A complete body from bytes.
pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}
