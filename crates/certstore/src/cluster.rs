//! The pure half of the cluster certificate store (store `Cluster`): what a certificate row
//! holds and how it is made and opened.
//!
//! A row ([`ClusterCert`]) keeps the leaf and its chain as PEM, the DNS names and validity
//! the nodes' SNI index needs, and the private key (PKCS#8) sealed with the cluster key
//! through a [`Sealer`] (AES-256-GCM, associated data `cluster_certs/<THUMBPRINT>`, so a
//! sealed key cannot be moved to another row). [`prepare_pem`], [`prepare_pfx`] and
//! [`prepare_self_signed`] check a certificate as the My store's import does (the key must
//! be the certificate's, server authentication) and seal its key; [`certified_key`] opens a
//! row into what the TLS listener serves; [`describe`] is what `cert list --store Cluster`
//! shows.
//!
//! Must not: read or write the database or files (the caller's `catalog::clustercerts`
//! stores the rows), keep a clear private key beyond the call (buffers are zeroized), log
//! or show key material.

use std::sync::Arc;

use rustls::sign::CertifiedKey;
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::info::parse_cert;
use crate::keys::StoredKey;
use crate::store::{certified, parse_cert_input, pem_cert, self_signed_parts};
use crate::{CertInfo, Error, Result, San, SelfSignedOptions, StoreName, Thumbprint};

/// Seals and opens bytes with the cluster key (the key never leaves its owner).
pub trait Sealer: Send + Sync {
    /// The key version that seals now (stored beside each sealed value).
    fn version(&self) -> i64;
    /// Seals `plain`, bound to `aad`.
    fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>>;
    /// Opens what [`Sealer::seal`] made with the same `aad`.
    fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>>;
}

impl Sealer for datadir::sealed::ClusterKey {
    fn version(&self) -> i64 {
        datadir::sealed::ClusterKey::version(self)
    }
    fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
        datadir::sealed::ClusterKey::seal(self, aad, plain).map_err(|e| {
            Error::InvalidOption(format!(
                "cannot seal the private key with the cluster key: {e}"
            ))
        })
    }
    fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        datadir::sealed::ClusterKey::open(self, aad, sealed).map_err(|e| {
            Error::InvalidOption(format!(
                "the private key does not open with this node's cluster key ({e}); the row was sealed with another cluster key: restore the cluster key backup or import the certificate again"
            ))
        })
    }
}

/// One certificate of store `Cluster`, as stored (its key sealed).
#[derive(Clone)]
pub struct ClusterCert {
    pub thumbprint: Thumbprint,
    /// DNS names of its SANs, lower case (`*.example.com` kept as is).
    pub names: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Leaf, then its chain.
    pub chain_pem: String,
    /// The PKCS#8 private key sealed with the cluster key.
    pub sealed_key: Vec<u8>,
    /// The cluster key version that sealed it.
    pub key_version: i64,
    pub friendly_name: Option<String>,
}

impl std::fmt::Debug for ClusterCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterCert")
            .field("thumbprint", &self.thumbprint)
            .field("names", &self.names)
            .field("key", &"<sealed>")
            .finish_non_exhaustive()
    }
}

/// The associated data binding a sealed key to its row.
pub fn key_aad(thumbprint: &Thumbprint) -> Vec<u8> {
    format!("cluster_certs/{thumbprint}").into_bytes()
}

/// Checks a certificate file (PEM with its chain, or DER) and its key (PEM or DER; in the
/// certificate file when `key` is None) and seals the key.
pub fn prepare_pem(
    cert: &[u8],
    key: Option<&[u8]>,
    friendly_name: Option<String>,
    sealer: &dyn Sealer,
) -> Result<ClusterCert> {
    let mut certs = parse_cert_input(cert, "the certificate file")?;
    let leaf = certs.remove(0);
    let (chain, _) = crate::pfx::order_chain(&leaf, certs)?;
    let key = match key {
        Some(k) => StoredKey::from_pem_or_der(k)?,
        None if crate::keys::contains_label(cert, "PRIVATE KEY") => {
            StoredKey::from_pem_or_der(cert)?
        }
        None => return Err(no_key()),
    };
    prepare(&leaf, &chain, &key, friendly_name, sealer)
}

/// Checks a PFX and seals its key.
pub fn prepare_pfx(
    bytes: &[u8],
    password: &str,
    friendly_name: Option<String>,
    sealer: &dyn Sealer,
) -> Result<ClusterCert> {
    let c = crate::pfx::read(bytes, password)?;
    let key = c.key.ok_or_else(no_key)?;
    prepare(
        &c.leaf,
        &c.chain,
        &key,
        friendly_name.or(c.friendly_name),
        sealer,
    )
}

/// A new self-signed certificate for the cluster store.
pub fn prepare_self_signed(opts: &SelfSignedOptions, sealer: &dyn Sealer) -> Result<ClusterCert> {
    let (der, key) = self_signed_parts(opts)?;
    prepare(&der, &[], &key, opts.friendly_name.clone(), sealer)
}

fn no_key() -> Error {
    Error::InvalidOption(
        "store Cluster keeps server certificates with their private keys: give the key (--key, or a PFX with its key)".into(),
    )
}

fn prepare(
    leaf: &[u8],
    chain: &[Vec<u8>],
    key: &StoredKey,
    friendly_name: Option<String>,
    sealer: &dyn Sealer,
) -> Result<ClusterCert> {
    let parsed = parse_cert(leaf, "the certificate")?;
    key.check_matches(&parsed)?;
    let now = OffsetDateTime::now_utc();
    let info = CertInfo::from_parsed(leaf, &parsed, StoreName::My, true, None, now);
    if !info.server_auth {
        return Err(Error::InvalidOption(format!(
            "certificate {} is not for server authentication (its extended key usage lacks serverAuth, or it is a CA); store Cluster serves TLS, use a server certificate",
            info.thumbprint
        )));
    }
    let names = dns_names(&info);
    if names.is_empty() {
        return Err(Error::InvalidOption(format!(
            "certificate {} has no DNS name in its subject alternative names; a central-store binding chooses by host name (SNI), so give a certificate for the host names it serves",
            info.thumbprint
        )));
    }
    let mut chain_pem = pem_cert(leaf);
    for c in chain {
        chain_pem.push_str(&pem_cert(c));
    }
    let pkcs8 = Zeroizing::new(key.to_private_key_der().secret_der().to_vec());
    let sealed_key = sealer.seal(&key_aad(&info.thumbprint), &pkcs8)?;
    Ok(ClusterCert {
        thumbprint: info.thumbprint,
        names,
        not_before: info.not_before,
        not_after: info.not_after,
        chain_pem,
        sealed_key,
        key_version: sealer.version(),
        friendly_name: friendly_name.filter(|n| !n.trim().is_empty()),
    })
}

fn dns_names(info: &CertInfo) -> Vec<String> {
    let mut names: Vec<String> = info
        .sans
        .iter()
        .filter_map(|s| match s {
            San::Dns(d) => Some(d.trim_end_matches('.').to_ascii_lowercase()),
            San::Ip(_) => None,
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// What `cert list --store Cluster` shows of a row (its `store` reads My: the caller names
/// the store Cluster).
pub fn describe(c: &ClusterCert, now: OffsetDateTime) -> Result<CertInfo> {
    let chain = chain_der(c)?;
    let mut info =
        CertInfo::from_der(&chain[0], StoreName::My, true, c.friendly_name.clone(), now)?;
    info.friendly_name = c.friendly_name.clone();
    Ok(info)
}

fn chain_der(c: &ClusterCert) -> Result<Vec<CertificateDer<'static>>> {
    let certs = parse_cert_input(c.chain_pem.as_bytes(), "a Cluster store certificate")?;
    Ok(certs.into_iter().map(CertificateDer::from).collect())
}

/// Opens a row into the chain and signing key the listener serves.
pub fn certified_key(c: &ClusterCert, sealer: &dyn Sealer) -> Result<Arc<CertifiedKey>> {
    let chain = chain_der(c)?;
    if Thumbprint::of_der(&chain[0]) != c.thumbprint {
        return Err(Error::malformed(
            format!("the Cluster store row {}", c.thumbprint),
            "its certificate has another thumbprint; remove the row and import the certificate again",
        ));
    }
    let pkcs8 = sealer.open(&key_aad(&c.thumbprint), &c.sealed_key)?;
    let key = StoredKey::from_pkcs8(&pkcs8)?;
    certified(chain, &key, &c.thumbprint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> datadir::sealed::ClusterKey {
        datadir::sealed::ClusterKey::generate(7).unwrap()
    }

    #[test]
    fn a_self_signed_row_opens_with_its_key_only() {
        let k = key();
        let mut opts =
            SelfSignedOptions::new(vec!["reports.example.com".into(), "*.example.org".into()]);
        opts.friendly_name = Some("web".into());
        let c = prepare_self_signed(&opts, &k).unwrap();
        assert_eq!(c.names, vec!["*.example.org", "reports.example.com"]);
        assert_eq!(c.key_version, 7);
        assert!(!format!("{c:?}").contains("PRIVATE"));
        assert!(!c.chain_pem.contains("PRIVATE"));
        let ck = certified_key(&c, &k).unwrap();
        assert_eq!(ck.cert.len(), 1);
        // Another cluster key does not open it; nor does the row under another thumbprint.
        let e = certified_key(&c, &key()).unwrap_err().to_string();
        assert!(e.contains("cluster key"), "{e}");
        let other =
            prepare_self_signed(&SelfSignedOptions::new(vec!["a.example.com".into()]), &k).unwrap();
        let mut swapped = other.clone();
        swapped.sealed_key = c.sealed_key.clone();
        assert!(certified_key(&swapped, &k).is_err());
        let info = describe(&c, OffsetDateTime::now_utc()).unwrap();
        assert_eq!(info.thumbprint, c.thumbprint);
        assert_eq!(info.friendly_name.as_deref(), Some("web"));
    }

    #[test]
    fn a_pem_without_its_key_or_with_another_key_is_refused() {
        let k = key();
        let dir = tempfile::tempdir().unwrap();
        let store = crate::CertStore::open(dir.path()).unwrap();
        let t1 = store
            .new_self_signed(&SelfSignedOptions::new(vec!["one.example.com".into()]))
            .unwrap();
        let t2 = store
            .new_self_signed(&SelfSignedOptions::new(vec!["two.example.com".into()]))
            .unwrap();
        let pem1 = store.export_pem(&t1).unwrap();
        let key2 = std::fs::read(dir.path().join("My").join(format!("{t2}.key"))).unwrap();
        let key1 = std::fs::read(dir.path().join("My").join(format!("{t1}.key"))).unwrap();
        let e = prepare_pem(pem1.as_bytes(), None, None, &k)
            .unwrap_err()
            .to_string();
        assert!(e.contains("private key"), "{e}");
        let e = prepare_pem(pem1.as_bytes(), Some(&key2), None, &k).unwrap_err();
        assert!(matches!(e, Error::KeyMismatch), "{e}");
        let c = prepare_pem(pem1.as_bytes(), Some(&key1), None, &k).unwrap();
        assert_eq!(c.thumbprint, t1);
        certified_key(&c, &k).unwrap();
    }
}
