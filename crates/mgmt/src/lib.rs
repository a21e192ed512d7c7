//! Management: the operations that change an instance, and the local socket through which
//! `reportctl` asks a running `reportd` to apply them (the WMI provider analogue).
//!
//! One place owns each mutation: [`ops`] changes the files (under the data-dir lock) and
//! then has the change applied — by the running server over [`client`], or at the next start
//! when the server is stopped. The server side of the socket is [`server`]; the messages
//! are [`protocol`]. The protocol is newline-delimited JSON with SSRS-style results
//! (`HRESULT`, `Error`), so that the SSRS-named WMI operations fit on it later.
//!
//! This crate must not serve HTTP or know about pages; it never logs secrets.

pub mod certops;
pub mod client;
pub mod database;
pub mod instance;
pub mod keys;
pub mod ops;
pub mod protocol;
pub mod server;
pub mod urlapply;
pub mod users;
pub mod wmi;

pub use client::Client;
pub use protocol::{Request, Response, StatusInfo};

/// Errors of management operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket could not be reached or answered garbage.
    #[error("management socket {path}: {cause}")]
    Socket { path: String, cause: String },
    /// The server answered with a failure (`HRESULT` != 0); the text is the server's.
    #[error("{0}")]
    Server(String),
    /// A check refused the change (the text names the problem and the fix).
    #[error("{0}")]
    Refused(String),
    /// A certificate cannot be bound (the text names the problem and the fix).
    #[error("{message}")]
    Certificate {
        problem: CertProblem,
        message: String,
    },
    /// The instance uses another report server database; switching must be confirmed.
    #[error(
        "this instance already uses the report server database {from}; switching it to {to} changes everything it serves: folders, reports, data sources, users and their roles come from the new database ({from} is kept as it is, and no longer used)"
    )]
    WouldSwitchDatabase { from: String, to: String },
    /// The report server database would have no System Administrator.
    #[error(
        "the report server database {database} would have no System Administrator, so nobody could sign in to manage the instance"
    )]
    NoAdministrator { database: String },
    /// A reservation still serves SSL bindings of its application that no other
    /// reservation covers.
    #[error(
        "{url} serves the SSL binding(s) {} of {}; remove those bindings first",
        endpoints(bindings),
        app.ssrs_name()
    )]
    ReservationInUse {
        app: httpsys::Application,
        url: httpsys::UrlReservation,
        bindings: Vec<httpsys::Endpoint>,
    },
    /// A certificate still used by SSL bindings cannot be removed.
    #[error(
        "certificate {thumbprint} is used by the SSL binding(s) {}; remove those bindings or give them another certificate first",
        endpoints(bindings)
    )]
    CertificateInUse {
        thumbprint: certstore::Thumbprint,
        bindings: Vec<httpsys::Endpoint>,
    },
    /// A user operation's input is wrong ([`users::UserProblem`]).
    #[error(transparent)]
    User(#[from] users::UserProblem),
    /// The report server database refused or failed the change.
    #[error(transparent)]
    Catalog(#[from] catalog::Error),
    #[error(transparent)]
    DataDir(#[from] datadir::Error),
    #[error(transparent)]
    Bindings(#[from] httpsys::Error),
}

/// Which of SSRS's CreateSSLCertificateBinding checks a certificate failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertProblem {
    /// Not in store My.
    NotFound,
    /// Only in store Root (a CA certificate, or one imported without its key).
    InRootStore,
    NoPrivateKey,
    NotServerAuth,
    /// Its names do not cover the binding's host.
    NameMismatch,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn endpoints(e: &[httpsys::Endpoint]) -> String {
    e.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
