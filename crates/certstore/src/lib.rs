//! The certificate store: the Windows `LocalMachine\My` and `LocalMachine\Root` analogue.
//!
//! This crate owns `certs/` in the data dir: server certificates with their private keys
//! (`My`), trusted roots (`Root`) and the keys of pending certificate requests (`REQUEST`).
//! It creates self-signed certificates, imports and exports PKCS#12 (PFX) and PEM files in
//! the formats openssl and Windows use, makes PKCS#10 requests and installs a CA's answer,
//! describes certificates ([`CertInfo`]), hands the TLS listener a ready
//! [`rustls::sign::CertifiedKey`], and puts Root certificates into the operating system's
//! trust bundle ([`TrustTarget`]).
//!
//! What it must not do: know about SSL bindings, URL reservations or HTTP (the binding
//! checks live in `httpsys`/`mgmt` and call [`CertStore::remove`] after their own checks);
//! log or print key material (no type holding a key implements a revealing `Debug`); keep a
//! private key in memory longer than an operation (key buffers are [`zeroize::Zeroizing`]);
//! write a file other than through [`datadir::atomic_write`] under the store lock; hand-write
//! cryptography or ASN.1 (rcgen, x509-parser, p12-keystore, cms, aws-lc-rs and rustls do it).
//!
//! # Layout on disk
//! ```text
//! certs/.lock                  flock taken around every mutation of the store
//! certs/My/<THUMB>.pem         the certificate, then its chain (issuer first), PEM
//! certs/My/<THUMB>.key         its private key, PKCS#8 PEM, mode 0600 (absent: no key)
//! certs/My/<THUMB>.json        metadata kept beside it (friendly name, when added)
//! certs/Root/...               the same for trusted roots
//! certs/REQUEST/<id>.key|json  the key and description of a pending request (CSR)
//! ```
//! The `.pem` file is the commit point: a certificate exists exactly when its `.pem` does.
//! Writers put the `.key` and `.json` first and the `.pem` last, and removers delete the
//! `.pem` first, so a crash at any point leaves the old or the new certificate, never a
//! half one; leftovers without a `.pem` are swept under the lock by the next mutation.

pub mod cluster;
mod info;
mod keys;
mod pfx;
mod request;
mod store;
mod thumbprint;
mod trust;
mod watch;

use std::io;
use std::path::PathBuf;

pub use info::{CertInfo, San};
pub use keys::KeyType;
pub use request::{PendingRequest, RequestOptions};
pub use store::{CertStore, ImportOutcome, SelfSignedOptions};
pub use thumbprint::{StoreName, Thumbprint};
pub use trust::{DEFAULT_TRUST_DIR, TRUST_DIR_ENV, TrustOutcome, TrustTarget};
pub use watch::WatchedPair;

/// Certificates whose validity ends within this many days carry a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// Errors of the certificate store. Each message names the problem and what to do about it;
/// callers add the file name or command when they know it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file of the store failed (permissions, full disk).
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A data-dir primitive (atomic write, private directory) failed.
    #[error(transparent)]
    DataDir(#[from] datadir::Error),
    /// A thumbprint that is not 40 hex digits (spaces and colons are ignored).
    #[error(
        "invalid thumbprint {0:?}: expected the 40 hex digits of a SHA-1 thumbprint (as `reportctl cert list` shows; case, spaces and colons do not matter)"
    )]
    InvalidThumbprint(String),
    /// A store name other than `My` or `Root`.
    #[error(
        "unknown certificate store {0:?}: use My (server certificates) or Root (trusted roots)"
    )]
    InvalidStoreName(String),
    /// No certificate with this thumbprint in the store(s) searched.
    #[error(
        "no certificate with thumbprint {thumbprint} in {where_}; see `reportctl cert list --store My` and `--store Root`"
    )]
    NotFound {
        thumbprint: Thumbprint,
        /// "store My", "store Root" or "the store".
        where_: String,
    },
    /// A certificate in both stores was named without `--store`.
    #[error("certificate {0} is in both My and Root; say which with --store My or --store Root")]
    Ambiguous(Thumbprint),
    /// The operation needs the certificate's private key and the store has none.
    #[error(
        "certificate {0} has no private key in the store; import it with its key (--pfx, or --pem with --key), or export the certificate alone with --pem"
    )]
    NoPrivateKey(Thumbprint),
    /// A PFX whose integrity check (MAC) fails: the password is wrong, or the file was altered.
    #[error(
        "wrong password for the PFX file (its MAC does not verify, or its contents do not decrypt); check --password-file"
    )]
    WrongPassword,
    /// Input that is not what it claims to be: truncated, garbage, the wrong kind of file.
    #[error("{what} is not valid: {detail}")]
    Malformed {
        /// What was being read ("the PFX file", "the certificate", "the private key", ...).
        what: String,
        /// What is wrong with it and how to fix it.
        detail: String,
    },
    /// A PFX or response that holds no certificate.
    #[error(
        "{0} contains no certificate; export it again with the certificate included (e.g. `openssl pkcs12 -export -in CERT -inkey KEY`)"
    )]
    NoCertificate(String),
    /// The private key belongs to another certificate.
    #[error(
        "the private key does not match the certificate (their public keys differ); give the key that was generated with this certificate"
    )]
    KeyMismatch,
    /// A key algorithm or size that the store (and the TLS listener) does not serve.
    #[error(
        "unsupported key type {0}: reportd uses RSA 2048-4096, ECDSA P-256 and ECDSA P-384 keys; issue a certificate with one of those"
    )]
    UnsupportedKeyType(String),
    /// An invalid option value (DNS name, validity period, subject DN...).
    #[error("{0}")]
    InvalidOption(String),
    /// Generating a key, certificate or request failed inside rcgen or aws-lc-rs.
    #[error(
        "could not generate {what}: {detail}; this is a bug or a broken crypto library, please report it"
    )]
    Generate { what: &'static str, detail: String },
    /// A CA's answer whose public key matches no pending request.
    #[error(
        "the response matches no pending request (no key made by `reportctl cert request` has its public key); complete it on the machine that made the request, or import the certificate with its key"
    )]
    NoMatchingRequest,
    /// Exporting a PFX failed inside the PKCS#12 library.
    #[error("could not write the PFX file: {0}")]
    PfxWrite(String),
    /// Writing to the operating system's trust store was refused.
    #[error(
        "cannot write {path}: permission denied; run `sudo reportctl cert trust ...` (root is needed to change the system trust store) or pass --trust-dir DIR"
    )]
    TrustPermission { path: PathBuf },
    /// A Root certificate was expected.
    #[error(
        "certificate {0} is not in the Root store; trust only Root certificates: `reportctl cert export {0} --pem F` then `reportctl cert import --pem F --store Root`"
    )]
    NotInRoot(Thumbprint),
    /// The trust-store update command (update-ca-certificates) failed or is missing.
    #[error("{0}")]
    TrustUpdate(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn malformed(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Malformed {
            what: what.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn generate(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Error::Generate {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Result of the store's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
