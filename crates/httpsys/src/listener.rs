//! The listener: one accept loop per reserved port, hyper for HTTP, routing by reservation.
//!
//! [`Listener::apply`] makes the set of open ports and the routing table match a repository
//! state, live: new ports are bound first (a port held by another program fails the whole
//! change and leaves the old state serving), then the routing table is swapped atomically,
//! then ports no longer reserved stop accepting and drain their connections.
//!
//! Request handling does no I/O beyond the socket: the routing table is an in-memory value
//! behind an `ArcSwap`, read once per request.

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
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Semaphore, watch};
use tokio::task::JoinHandle;

use crate::reservation::Scheme;
use crate::route::{RouteTable, split_host_header};
use crate::{Application, Error, Repository, RequestContext, Result};

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
    /// How long draining connections get on shutdown or when their port closes.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(300),
            max_connections: 10_000,
            drain_timeout: Duration::from_secs(4),
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
    handlers: HashMap<Application, Arc<dyn Handler>>,
    limits: Limits,
    connections: Arc<Semaphore>,
}

/// The running listener. Cheap to clone.
#[derive(Clone)]
pub struct Listener {
    shared: Arc<Shared>,
    ports: Arc<Mutex<HashMap<u16, PortTask>>>,
}

impl Listener {
    /// A listener with no ports open yet; call [`Listener::apply`].
    pub fn new(handlers: HashMap<Application, Arc<dyn Handler>>, limits: Limits) -> Listener {
        let connections = Arc::new(Semaphore::new(limits.max_connections));
        Listener {
            shared: Arc::new(Shared {
                routes: ArcSwap::from_pointee(RouteTable::default()),
                handlers,
                limits,
                connections,
            }),
            ports: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Makes the open ports and the routing table match `repo`. Returns one line per change
    /// made ("listening on port 8080 (http)", "closed port 9090"). On error (a port in use)
    /// nothing changed.
    pub async fn apply(&self, repo: &Repository) -> Result<Vec<String>> {
        let mut ports = self.ports.lock().await;
        let wanted = repo.ports();
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
        // 2. Swap the routing table: from here on requests route by the new state.
        self.shared.routes.store(Arc::new(RouteTable::new(repo)));
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
            if !ports.contains_key(&port) {
                let listener = bind_dual_stack(port)?;
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
        }
        Ok(changes)
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
    s.set_reuse_address(true).map_err(|e| Error::Io(e.to_string()))?;
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
    let graceful = GracefulShutdown::new();
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
        let peer = canonical(peer);
        match scheme {
            Scheme::Http => {
                let svc_shared = shared.clone();
                let svc = service_fn(move |req| {
                    let shared = svc_shared.clone();
                    async move {
                        Ok::<_, Infallible>(dispatch(&shared, req, port, local, peer, false).await)
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(shared.limits.header_read_timeout)
                    .max_buf_size(shared.limits.max_header_bytes)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), svc);
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = watched.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(permit);
                });
            }
            Scheme::Https => {
                // TLS arrives with the SSL binding table; until then an https port refuses.
                tracing::warn!(port, "https port has no TLS acceptor yet; closing connection");
                drop(stream);
                drop(permit);
            }
        }
    }
    drop(listener);
    let drain = shared.limits.drain_timeout;
    if tokio::time::timeout(drain, graceful.shutdown()).await.is_err() {
        tracing::warn!(port, "connections did not drain within {drain:?}; closing them");
    }
}

fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

// Kept for the TLS path, which serves HTTP/1.1 and HTTP/2 through one builder.
#[allow(dead_code)]
fn auto_builder() -> hyper_util::server::conn::auto::Builder<TokioExecutor> {
    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
}

async fn dispatch(
    shared: &Shared,
    mut req: Request<Incoming>,
    port: u16,
    local: SocketAddr,
    peer: SocketAddr,
    secure: bool,
) -> Response<Body> {
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
        https_base: routes.https_base(route.app, host),
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
