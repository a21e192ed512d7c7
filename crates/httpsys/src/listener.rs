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

use std::collections::HashMap;
use std::convert::Infallible;
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
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::LazyConfigAcceptor;

use crate::reservation::Scheme;
use crate::route::{RouteTable, split_host_header};
use crate::tls::{BindingState, CertSource, Serving, TlsTable};
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
    fn call(&self, req: Request<Incoming>) -> ResponseFuture;
}

/// Limits that keep slow or greedy clients from pinning the server.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Whole request head (request line and headers) must arrive within this time; also the
    /// idle time allowed between keep-alive requests.
    pub header_read_timeout: Duration,
    /// Largest request head accepted (bytes); larger heads get 431/close.
    pub max_header_bytes: usize,
    /// A whole request (including reading its body) must complete within this time.
    pub request_timeout: Duration,
    /// Open connections at most; further accepts wait.
    pub max_connections: usize,
    /// How long draining connections get on shutdown, when their port closes or when their
    /// SSL binding is removed; then they are closed.
    pub drain_timeout: Duration,
    /// A TLS handshake (ClientHello included) must complete within this time.
    pub tls_handshake_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(300),
            max_connections: 10_000,
            drain_timeout: Duration::from_secs(4),
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

struct PortTask {
    scheme: Scheme,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

struct Shared {
    routes: ArcSwap<RouteTable>,
    tls: ArcSwap<TlsTable>,
    handlers: HashMap<Application, Arc<dyn Handler>>,
    limits: Limits,
    connections: Arc<Semaphore>,
    certs: Arc<dyn CertSource>,
    provider: Arc<CryptoProvider>,
    /// Used when no binding matches: the handshake ends with an alert.
    refuse: Arc<ServerConfig>,
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
        let connections = Arc::new(Semaphore::new(limits.max_connections));
        let provider = crate::tls::provider();
        Listener {
            shared: Arc::new(Shared {
                routes: ArcSwap::from_pointee(RouteTable::default()),
                tls: ArcSwap::from_pointee(TlsTable::default()),
                handlers,
                limits,
                connections,
                certs,
                refuse: crate::tls::refusing_config(&provider),
                provider,
            }),
            ports: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Makes the open ports, the SSL bindings and the routing table match `repo`. Returns one
    /// line per change made ("listening on port 8080 (http)", "closed port 9090", "SSL
    /// binding 0.0.0.0:443 serves certificate AB12..."); lines starting with "warning:" name
    /// bindings that complete no handshake because their certificate cannot be loaded (that
    /// does not fail the change). On error (a port in use) nothing changed.
    pub async fn apply(&self, repo: &Repository) -> Result<Vec<String>> {
        let mut ports = self.ports.lock().await;
        let wanted = repo.ports();
        // 0. Load the certificates and build the TLS table: file I/O, so off the runtime's
        // threads, and never on the handshake path.
        let (tls, pending) = {
            let shared = self.shared.clone();
            let bindings = repo.ssl_bindings.clone();
            tokio::task::spawn_blocking(move || {
                let old = shared.tls.load();
                TlsTable::build(&bindings, shared.certs.as_ref(), &old, &shared.provider)
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
                None => fresh.push((port, scheme, bind_dual_stack(port)?)),
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
        for (port, scheme, listener) in fresh {
            let (stop, stop_rx) = watch::channel(false);
            let task = tokio::spawn(accept_loop(
                self.shared.clone(),
                listener,
                port,
                scheme,
                stop_rx,
            ));
            ports.insert(port, PortTask { scheme, stop, task });
            changes.push(format!("listening on port {port} ({})", scheme.as_str()));
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
                changes.push(format!("closed port {port}"));
            }
        }
        // A port whose scheme changed was closed above; open it again with the new scheme.
        for (&port, &scheme) in &wanted {
            if let std::collections::hash_map::Entry::Vacant(slot) = ports.entry(port) {
                let listener = bind_dual_stack(port)?;
                let (stop, stop_rx) = watch::channel(false);
                let task = tokio::spawn(accept_loop(
                    self.shared.clone(),
                    listener,
                    port,
                    scheme,
                    stop_rx,
                ));
                slot.insert(PortTask { scheme, stop, task });
                changes.push(format!("listening on port {port} ({})", scheme.as_str()));
            }
        }
        changes.extend(tls_changes);
        Ok(changes)
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

/// Binds `[::]:port` dual stack (IPv4 arrives as v4-mapped), or `0.0.0.0:port` where the
/// machine has no IPv6. A port held by another program is [`Error::PortInUse`].
pub fn bind_dual_stack(port: u16) -> Result<TcpListener> {
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
    TcpListener::from_std(std_listener).map_err(|e| Error::Io(format!("port {port}: {e}")))
}

/// Checks that `port` could be bound now (the server is stopped and a command wants to
/// reserve it): a port held by another program is [`Error::PortInUse`].
pub fn check_port_free(port: u16) -> Result<()> {
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
        let permit = tokio::select! {
            p = shared.connections.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(port, error = %e, "accept failed");
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
        let conn = Conn {
            shared: shared.clone(),
            port,
            local,
            peer: canonical(peer),
            stop: stop.clone(),
            _done: done.clone(),
            _permit: permit,
        };
        match scheme {
            Scheme::Http => tokio::spawn(conn.serve(stream, false, None)),
            Scheme::Https => tokio::spawn(conn.serve_tls(stream)),
        };
    }
    drop(listener);
    drop(done);
    // Each connection closes itself within the drain timeout of the stop signal.
    let bound = shared.limits.drain_timeout + Duration::from_secs(1);
    if tokio::time::timeout(bound, drained.recv()).await.is_err() {
        tracing::warn!(port, "connections did not close within {bound:?}");
    }
}

/// One accepted connection: where it arrived, and what tells it to finish.
struct Conn {
    shared: Arc<Shared>,
    port: u16,
    local: SocketAddr,
    peer: SocketAddr,
    /// True once the port closes.
    stop: watch::Receiver<bool>,
    /// Dropped when the connection ends: the accept loop waits for all of them.
    _done: mpsc::Sender<()>,
    /// The connection's place under `Limits::max_connections`.
    _permit: OwnedSemaphorePermit,
}

impl Conn {
    /// Completes the TLS handshake with the binding chosen from the ClientHello, then serves
    /// HTTP over it. No binding matches → the handshake ends with a fatal alert.
    async fn serve_tls(mut self, stream: TcpStream) {
        let deadline = tokio::time::Instant::now() + self.shared.limits.tls_handshake_timeout;
        let hello = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
        let start = tokio::select! {
            r = tokio::time::timeout_at(deadline, hello) => match r {
                Ok(Ok(start)) => start,
                Ok(Err(e)) => {
                    tracing::debug!(peer = %self.peer, error = %e, "no valid TLS ClientHello");
                    return;
                }
                Err(_) => {
                    tracing::debug!(peer = %self.peer, "no TLS ClientHello in time");
                    return;
                }
            },
            _ = stopped(&mut self.stop) => return,
        };
        let (chosen, sni) = {
            let table = self.shared.tls.load();
            let hello = start.client_hello();
            let sni = hello.server_name().map(str::to_owned);
            let chosen = table
                .choose(self.port, self.local.ip(), sni.as_deref())
                .map(|e| (e.config.clone(), e.serving.subscribe()));
            (chosen, sni)
        };
        let Some((config, mut serving)) = chosen else {
            tracing::debug!(
                port = self.port,
                local = %self.local.ip(),
                sni = sni.as_deref().unwrap_or("-"),
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
                    tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(peer = %self.peer, "TLS handshake did not complete in time");
                    return;
                }
            },
            _ = stopped(&mut self.stop) => return,
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
    /// closes, or the SSL binding (`binding`, for TLS connections) is removed; then finishes
    /// gracefully within the drain timeout.
    async fn serve<IO>(mut self, io: IO, h2: bool, binding: Option<watch::Receiver<Serving>>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let limits = self.shared.limits.clone();
        let builder = auto::Builder::new(TokioExecutor::new());
        let mut builder = if h2 {
            builder.http2_only()
        } else {
            builder.http1_only()
        };
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(limits.max_header_bytes)
            .keep_alive(true);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
        let svc = {
            let shared = self.shared.clone();
            let (port, local, peer) = (self.port, self.local, self.peer);
            let binding = binding.clone();
            service_fn(move |req| {
                let shared = shared.clone();
                let tls = binding.as_ref().map(|b| *b.borrow());
                async move {
                    let mut resp = dispatch(&shared, req, port, local, peer, tls.is_some()).await;
                    if tls == Some(Serving::Yes { hsts: true }) {
                        resp.headers_mut().insert(
                            header::STRICT_TRANSPORT_SECURITY,
                            HeaderValue::from_static(HSTS),
                        );
                    }
                    Ok::<_, Infallible>(resp)
                }
            })
        };
        let conn = builder.serve_connection(TokioIo::new(io), svc);
        tokio::pin!(conn);
        let mut binding = binding;
        let unbound = async {
            match binding.as_mut() {
                Some(b) => closed(b).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(peer = %self.peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stopped(&mut self.stop) => {}
            _ = unbound => {}
        }
        // HTTP/1.1: the response in flight says `Connection: close`; HTTP/2: GOAWAY.
        conn.as_mut().graceful_shutdown();
        if tokio::time::timeout(limits.drain_timeout, conn)
            .await
            .is_err()
        {
            tracing::debug!(peer = %self.peer, "connection did not finish within the drain timeout; closed");
        }
    }
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
    mut req: Request<Incoming>,
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
    if head_bytes > shared.limits.max_header_bytes {
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
    let routes = shared.routes.load();
    let path = req.uri().path().to_owned();
    let Some(route) = routes.route(port, local.ip(), host, &path) else {
        return finish(plain_page(
            StatusCode::BAD_REQUEST,
            "Bad Request - Invalid URL",
            "No URL reservation of this report server matches the requested URL. \
             `reportctl url list` shows the reserved URLs.",
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
    let resp = match tokio::time::timeout(shared.limits.request_timeout, handler.call(req)).await {
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
