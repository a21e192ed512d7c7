//! Reading a certificate and key pair that another program renews in place (certbot's
//! `live/NAME/fullchain.pem` + `privkey.pem`, a Kubernetes secret mount, a deploy script).
//!
//! [`WatchedPair::read`] opens both paths (following symbolic links, as certbot's relative
//! links into `archive/` need), parses the certificate chain and the key, and accepts the
//! pair only when it could be served: the key is the certificate's, the certificate is for
//! server authentication and inside its validity period. A pair caught half-written (the new
//! certificate beside the old key, or a link missing for a moment during certbot's
//! unlink-then-symlink swap) is an error the caller retries; nothing here changes the store.
//!
//! Must not: watch files or schedule anything (the server's renewal task does), write the
//! store (the caller imports the pair through its import operation), or log key material
//! (the key bytes stay in a [`Zeroizing`] buffer and no `Debug` shows them).

use std::fs;
use std::path::Path;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::info::parse_cert;
use crate::keys::StoredKey;
use crate::store::parse_cert_input;
use crate::{CertInfo, Error, Result, StoreName, Thumbprint};

/// A pair read from disk that passed every check.
pub struct WatchedPair {
    /// The leaf certificate's thumbprint.
    pub thumbprint: Thumbprint,
    /// End of the leaf certificate's validity.
    pub not_after: OffsetDateTime,
    /// The certificate file as read (leaf, then chain).
    cert: Vec<u8>,
    /// The key file as read.
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for WatchedPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchedPair")
            .field("thumbprint", &self.thumbprint)
            .field("not_after", &self.not_after)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl WatchedPair {
    /// Reads and checks the pair at `cert_path` (PEM, leaf first, optionally its chain, or
    /// DER) and `key_path` (PEM or DER; PKCS#8, PKCS#1 or SEC1).
    pub fn read(cert_path: &Path, key_path: &Path) -> Result<WatchedPair> {
        let cert = fs::read(cert_path).map_err(|e| Error::io(cert_path, e))?;
        let key = Zeroizing::new(fs::read(key_path).map_err(|e| Error::io(key_path, e))?);
        Self::check(cert, key, OffsetDateTime::now_utc())
    }

    /// The checks of [`WatchedPair::read`] on bytes already read, at time `now`.
    pub fn check(
        cert: Vec<u8>,
        key: Zeroizing<Vec<u8>>,
        now: OffsetDateTime,
    ) -> Result<WatchedPair> {
        let certs = parse_cert_input(&cert, "the watched certificate file")?;
        let leaf = &certs[0];
        let parsed = parse_cert(leaf, "the watched certificate")?;
        let stored = StoredKey::from_pem_or_der(&key)?;
        stored.check_matches(&parsed)?;
        let info = CertInfo::from_parsed(leaf, &parsed, StoreName::My, true, None, now);
        if !info.server_auth {
            return Err(Error::InvalidOption(format!(
                "the watched certificate {} is not for server authentication (its extended key usage lacks serverAuth, or it is a CA); watch a server certificate",
                info.thumbprint
            )));
        }
        if info.not_after <= now {
            return Err(Error::InvalidOption(format!(
                "the watched certificate {} expired on {}; renew it",
                info.thumbprint,
                info.not_after.date()
            )));
        }
        if info.not_before > now {
            return Err(Error::InvalidOption(format!(
                "the watched certificate {} is not valid before {}; check the clock of the machine that issued it",
                info.thumbprint, info.not_before
            )));
        }
        Ok(WatchedPair {
            thumbprint: info.thumbprint,
            not_after: info.not_after,
            cert,
            key,
        })
    }

    /// The certificate file's bytes.
    pub fn cert_bytes(&self) -> &[u8] {
        &self.cert
    }

    /// The key file's bytes (zeroized when the pair is dropped).
    pub fn key_bytes(&self) -> &[u8] {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CertStore, SelfSignedOptions};

    fn pair(dir: &Path, name: &str) -> (Vec<u8>, Zeroizing<Vec<u8>>) {
        let store = CertStore::open(&dir.join(name)).unwrap();
        let t = store
            .new_self_signed(&SelfSignedOptions::new(vec!["localhost".into()]))
            .unwrap();
        let cert = store.export_pem(&t).unwrap().into_bytes();
        let key = fs::read(dir.join(name).join("My").join(format!("{t}.key"))).unwrap();
        (cert, Zeroizing::new(key))
    }

    #[test]
    fn a_matching_pair_passes_and_a_mismatched_one_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (c1, k1) = pair(tmp.path(), "a");
        let (c2, k2) = pair(tmp.path(), "b");
        let now = OffsetDateTime::now_utc();
        let p = WatchedPair::check(c1.clone(), k1.clone(), now).unwrap();
        assert_eq!(p.cert_bytes(), c1.as_slice());
        assert!(!format!("{p:?}").contains("PRIVATE"));
        WatchedPair::check(c2, k2.clone(), now).unwrap();
        let e = WatchedPair::check(c1, k2, now).unwrap_err();
        assert!(matches!(e, Error::KeyMismatch), "{e}");
    }

    #[test]
    fn missing_files_name_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let e = WatchedPair::read(&tmp.path().join("cert.pem"), &tmp.path().join("key.pem"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cert.pem"), "{e}");
    }

    #[test]
    fn an_expired_certificate_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (c, k) = pair(tmp.path(), "a");
        let later = OffsetDateTime::now_utc() + time::Duration::days(400);
        let e = WatchedPair::check(c, k, later).unwrap_err().to_string();
        assert!(e.contains("expired"), "{e}");
    }
}
