//! The HTTP.sys analogue: URL reservations, SSL bindings, routing and the listener.
//!
//! Owns the binding repository (`bindings.json` in the data dir, [`repo`]), the pure routing
//! rules of HTTP.sys ([`route`]: strong wildcard, explicit host, IP-bound, weak wildcard;
//! longest prefix), the TLS bindings ([`tls`]: one rustls configuration per SSL binding,
//! chosen per connection by SNI and local address), and the listener ([`listener`]) that
//! accepts connections, completes TLS, parses HTTP with hyper and hands each request to the
//! application its reservation names.
//!
//! It must not know what the applications do: no catalog, no HTML beyond its own 400 page.

mod app;
pub mod body;
mod conn;
pub mod explain;
pub mod listener;
pub mod logsafe;
pub mod repo;
mod reservation;
pub mod route;
pub mod tls;

pub use app::{Application, RequestContext, UnknownApplication};
pub use body::{BodyError, RequestBody};
pub use listener::{Body, Change, ChangeLevel, Handler, Limits, Listener};
pub use repo::{BindOutcome, Endpoint, MinTls, Repository, SslBinding, TlsPolicy, UnbindOutcome};
pub use reservation::{HostSpec, Scheme, UrlReservation, VirtualDirectory, parse_host};
pub use tls::{BindingState, CentralCert, CentralEntry, CentralIndex, CertSource};

/// Errors of the binding repository and the listener.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A URL reservation that does not parse (`scheme://host:port`).
    #[error("{0}")]
    InvalidUrl(String),
    /// A virtual directory that is not one path segment of letters, digits, `_-.`.
    #[error(
        "invalid virtual directory {0:?}: use one path segment of letters, digits, '_', '-' or '.', e.g. ReportServer"
    )]
    InvalidVdir(String),
    /// An `IP:PORT` / `HOST:PORT` endpoint that does not parse.
    #[error("{0}")]
    InvalidEndpoint(String),
    /// A TLS policy value that is not allowed.
    #[error("{0}")]
    InvalidPolicy(String),
    /// The change collides with an existing reservation or binding (the text names it).
    #[error("{0}")]
    Conflict(String),
    /// The reservation or binding to change does not exist.
    #[error("{0}")]
    NotFound(String),
    /// No https reservation of `app` covers the endpoint a binding was asked for.
    #[error(
        "no https URL reservation of {} covers {endpoint}; reserve an https URL of port {} for it first",
        app.ssrs_name(),
        endpoint.port()
    )]
    NotReservedFor {
        app: Application,
        endpoint: Endpoint,
    },
    /// The endpoint is bound to another certificate (replacing it is an update).
    #[error(
        "{endpoint} is already bound to certificate {bound}; replace the certificate of that binding instead of binding another one"
    )]
    AlreadyBound {
        app: Application,
        endpoint: Endpoint,
        /// The thumbprint bound now.
        bound: String,
        /// The thumbprint asked for.
        wanted: String,
    },
    /// No binding on the endpoint to update: it must be made first.
    #[error("{endpoint} has no SSL binding to update; make the binding first")]
    NothingToUpdate {
        app: Application,
        endpoint: Endpoint,
        wanted: String,
    },
    /// The endpoint is bound, but not for `app`.
    #[error(
        "{endpoint} is bound for {bound_for} but not for {}; bind it for {} first",
        app.ssrs_name(),
        app.ssrs_name()
    )]
    NotBoundFor {
        app: Application,
        endpoint: Endpoint,
        bound_for: String,
    },
    /// `app` has no binding on the endpoint (to stop using).
    #[error("{} has no SSL binding on {endpoint}; choose one of its bindings", app.ssrs_name())]
    AppNotBound {
        app: Application,
        endpoint: Endpoint,
    },
    /// No binding at all on the endpoint (to delete).
    #[error("no SSL binding on {endpoint}; choose one of the bindings")]
    NoBinding { endpoint: Endpoint },
    /// `app` has no such reservation (to remove).
    #[error("{app} has no reservation {url}; choose one of its reservations")]
    NoReservation {
        app: Application,
        url: UrlReservation,
    },
    /// Another program listens on the port.
    #[error("port {0} is in use by another program; stop that program or choose another port")]
    PortInUse(u16),
    /// `bindings.json` does not parse or is from a newer version.
    #[error("{0}")]
    Corrupt(String),
    /// Reading or writing a file or socket failed.
    #[error("{0}")]
    Io(String),
    /// The data dir (config, lock) failed.
    #[error(transparent)]
    DataDir(#[from] datadir::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
