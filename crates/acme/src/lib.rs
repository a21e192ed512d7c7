//! Certificates that renew themselves: ACME orders and watched certificate files.
//!
//! A *certificate source* ([`sources::Source`]) says where a certificate of store `My` comes
//! from and keeps coming from: an ACME CA (`reportctl cert acme`) or a pair of files another
//! program renews (`reportctl cert watch`, e.g. certbot's `live/NAME/*.pem`). The sources
//! are registered in the data dir (`certsources.json`, [`sources::FileSources`]) so that the
//! *server* follows them: its renewal task (`reportd::renew`) drives a [`renewer::Renewer`].
//!
//! - [`order`]: one ACME order with instant-acme (aws-lc-rs only, no ring): account from
//!   sealed credentials or a new one, HTTP-01 answers published on a [`order::ChallengeBoard`]
//!   the listener serves, finalize with a fresh key, the chain back; ARI when offered.
//! - [`schedule`]: pure decisions: when a certificate is due (ARI window, else two thirds
//!   of its lifetime), how long a failing source waits (backoff).
//! - [`renewer`]: the steps of a renewal behind three seams — a [`renewer::RenewLock`]
//!   (one renewer at a time: an in-process mutex on one node, an advisory lock in a
//!   cluster), a [`renewer::SourceStore`] (the file here, PostgreSQL in a cluster) and a
//!   [`renewer::Installer`] (import into the store and rebind atomically: `mgmt::certops`).
//!
//! Must not: bind, serve or know reservations (the installer and the listener do), log key
//! material or account keys (account credentials are sealed with the instance key), or make
//! a change to the data dir other than through its lock and `atomic_write`.

pub mod order;
pub mod renewer;
pub mod schedule;
pub mod sources;

/// Errors of certificate sources. Each names the problem and the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ACME directory could not be reached (connection refused, DNS, TLS trust).
    #[error(
        "cannot reach the ACME directory {url}: {detail}; check --directory (and --directory-ca for a private CA's https)"
    )]
    Unreachable { url: String, detail: String },
    /// The directory URL answered something that is not an ACME directory.
    #[error(
        "{url} is not an ACME directory ({detail}); give the CA's directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory"
    )]
    NotADirectory { url: String, detail: String },
    /// The CA refused a step (account, order, finalize), with its problem document.
    #[error("the ACME CA refused the {step}: {detail}")]
    Refused { step: &'static str, detail: String },
    /// A challenge failed: the CA could not fetch the answer.
    #[error(
        "the ACME challenge for {name} failed: {detail}; the CA must reach this server's http port (the http URL reservation) at {name}"
    )]
    Challenge { name: String, detail: String },
    /// Bad option values (names, URLs, files).
    #[error("{0}")]
    Invalid(String),
    /// The watched pair cannot be served (mismatch, missing, expired).
    #[error(transparent)]
    Certificate(#[from] certstore::Error),
    #[error(transparent)]
    DataDir(#[from] datadir::Error),
    /// Installing the certificate (import + rebind) failed.
    #[error("{0}")]
    Install(String),
    /// The registry file cannot be read or written.
    #[error("{0}")]
    Registry(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
