//! Certificate operations that also move bindings: import with `--replace` (certbot's
//! deploy hook, IIS's Certificate Rebind), used by `reportctl cert import --replace` and by
//! the server's renewal task for ACME and watched certificates.
//!
//! [`import_replace`] imports the new certificate and moves every SSL binding of the old
//! one to it in one operation: under the data-dir lock (through
//! [`crate::ops::change_repository`]) the certificate is imported, each binding is checked
//! as `ssl update` checks it and switched, the repository is committed and applied by the
//! running server before the lock is released; a failed apply puts the old repository
//! back, so bindings never point at a half-installed certificate.
//!
//! Must not: know where certificates come from (ACME, files) or log key material.

use certstore::{CertStore, ImportOutcome, StoreName, Thumbprint};
use datadir::DataDir;
use httpsys::Endpoint;

use crate::ops::{Applied, change_repository, check_certificate};
use crate::{Error, Result};

/// A certificate to import: PEM/DER with an optional key, or a PFX.
pub enum ImportInput<'a> {
    Pem {
        cert: &'a [u8],
        key: Option<&'a [u8]>,
    },
    Pfx {
        bytes: &'a [u8],
        password: &'a str,
    },
}

impl std::fmt::Debug for ImportInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ImportInput::Pem { .. } => "ImportInput::Pem(<redacted>)",
            ImportInput::Pfx { .. } => "ImportInput::Pfx(<redacted>)",
        })
    }
}

/// What [`import_replace`] did.
#[derive(Debug, Clone)]
pub struct Replaced {
    pub outcome: ImportOutcome,
    /// The endpoints whose binding now serves the new certificate.
    pub rebound: Vec<Endpoint>,
    pub applied: Applied,
}

/// When no binding uses the certificate to replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unbound {
    /// Refuse (a deploy hook naming the wrong thumbprint must not succeed silently),
    /// unless the new certificate is already bound (the hook ran twice).
    Refuse,
    /// Import anyway (a renewal whose certificate is not bound yet).
    Allow,
}

/// Imports `input` into `store` and, with `replace`, moves every binding of that
/// certificate to the new one, applied live, as one operation.
pub fn import_replace(
    dd: &DataDir,
    input: ImportInput<'_>,
    store: StoreName,
    replace: Option<&Thumbprint>,
    unbound: Unbound,
) -> Result<Replaced> {
    if replace.is_some() && store != StoreName::My {
        return Err(Error::Refused(
            "a certificate that replaces another in SSL bindings goes into store My; import it into store My".into(),
        ));
    }
    let certs = CertStore::open(&dd.certs_dir()).map_err(cert_err)?;
    let ((outcome, rebound), applied) = change_repository(dd, |r| {
        // Under the data-dir lock: no `cert remove` or binding change in between.
        let outcome = match &input {
            ImportInput::Pem { cert, key } => certs.import_pem(cert, *key, store),
            ImportInput::Pfx { bytes, password } => certs.import_pfx(bytes, password, store),
        }
        .map_err(cert_err)?;
        let Some(old) = replace else {
            return Ok((outcome, Vec::new()));
        };
        let new = outcome.thumbprint.to_string();
        let old_text = old.to_string();
        if old_text == new {
            return Ok((outcome, Vec::new()));
        }
        let endpoints: Vec<Endpoint> = r.endpoints_using(&old_text).into_iter().cloned().collect();
        if endpoints.is_empty() && unbound == Unbound::Refuse && r.endpoints_using(&new).is_empty()
        {
            return Err(Error::Refused(format!(
                "no SSL binding uses certificate {old}, so there is nothing to replace (the new certificate {new} was imported); bind the new certificate to an endpoint to use it"
            )));
        }
        for e in &endpoints {
            check_certificate(dd, &outcome.thumbprint, e)?;
            let b = r
                .ssl_bindings
                .iter_mut()
                .find(|b| &b.endpoint == e)
                .ok_or_else(|| Error::Refused(format!("binding {e} vanished")))?;
            b.thumbprint = new.clone();
        }
        Ok((outcome, endpoints))
    })?;
    Ok(Replaced {
        outcome,
        rebound,
        applied,
    })
}

fn cert_err(e: certstore::Error) -> Error {
    Error::Refused(e.to_string())
}

// ----- store Cluster ---------------------------------------------------------------------

/// The PostgreSQL URL of this instance's catalog, or the error `--store Cluster` gets on a
/// single node (SQLite, or no database yet).
pub fn cluster_url(dd: &DataDir) -> Result<zeroize::Zeroizing<String>> {
    let cfg = dd.load_config()?;
    let single = || {
        Error::Refused(
            "store Cluster needs a cluster: this instance's report server database is not PostgreSQL (an embedded SQLite catalog serves one node); use --store My, or create the catalog on PostgreSQL with `reportctl database create --url postgres://...`".into(),
        )
    };
    let url = cfg.settings.database()?.ok_or_else(single)?;
    if url.backend() != datadir::Backend::Postgres {
        return Err(single());
    }
    Ok(url.connect_string(dd.root()))
}

/// Runs `f` on the cluster store of this instance's database (on a runtime of its own:
/// call it from a plain thread, as `reportctl` does).
fn with_cluster_store<T, F>(
    dd: &DataDir,
    f: impl FnOnce(catalog::clustercerts::ClusterCerts) -> F,
) -> Result<T>
where
    F: std::future::Future<Output = catalog::Result<T>>,
{
    let url = cluster_url(dd)?;
    crate::keys::block_on(async move {
        let store = catalog::clustercerts::ClusterCerts::open(&url)?;
        f(store).await
    })?
    .map_err(Error::from)
}

/// A row of the catalog as the certificate store's type.
pub fn cluster_cert_of(
    r: catalog::clustercerts::CertRow,
) -> Result<certstore::cluster::ClusterCert> {
    Ok(certstore::cluster::ClusterCert {
        thumbprint: r.thumbprint.parse().map_err(|e: certstore::Error| {
            Error::Refused(format!("a Cluster store row has a bad thumbprint: {e}"))
        })?,
        names: r.names,
        not_before: r.not_before,
        not_after: r.not_after,
        chain_pem: r.chain_pem,
        sealed_key: r.sealed_key,
        key_version: r.key_version,
        friendly_name: r.friendly_name,
    })
}

/// A certificate of the store as a row of the catalog (created now).
pub fn cluster_row_of(c: &certstore::cluster::ClusterCert) -> catalog::clustercerts::CertRow {
    catalog::clustercerts::CertRow {
        thumbprint: c.thumbprint.to_string(),
        names: c.names.clone(),
        not_before: c.not_before,
        not_after: c.not_after,
        chain_pem: c.chain_pem.clone(),
        sealed_key: c.sealed_key.clone(),
        key_version: c.key_version,
        friendly_name: c.friendly_name.clone(),
        created_at: time::OffsetDateTime::now_utc(),
    }
}

/// What a change of store Cluster did.
#[derive(Debug, Clone)]
pub struct ClusterAdded {
    pub thumbprint: Thumbprint,
    /// False: the certificate was already in the store (nothing changed).
    pub added: bool,
    pub names: Vec<String>,
}

/// Adds a prepared certificate to store Cluster: one transaction that also notifies every
/// node, whose central-store bindings serve it from their next handshake.
pub fn cluster_add(dd: &DataDir, cert: &certstore::cluster::ClusterCert) -> Result<ClusterAdded> {
    let row = cluster_row_of(cert);
    let added = with_cluster_store(dd, |s| async move { s.insert(&row).await })?;
    Ok(ClusterAdded {
        thumbprint: cert.thumbprint,
        added,
        names: cert.names.clone(),
    })
}

/// Imports a certificate with its key into store Cluster (the key sealed with the cluster
/// key of this node).
pub fn cluster_import(
    dd: &DataDir,
    input: ImportInput<'_>,
    friendly_name: Option<String>,
) -> Result<ClusterAdded> {
    cluster_url(dd)?;
    let key = crate::keys::cluster_key(dd)?;
    let cert = match input {
        ImportInput::Pem { cert, key: k } => {
            certstore::cluster::prepare_pem(cert, k, friendly_name, &key)
        }
        ImportInput::Pfx { bytes, password } => {
            certstore::cluster::prepare_pfx(bytes, password, friendly_name, &key)
        }
    }
    .map_err(cert_err)?;
    cluster_add(dd, &cert)
}

/// Creates a self-signed certificate in store Cluster.
pub fn cluster_new_self_signed(
    dd: &DataDir,
    opts: &certstore::SelfSignedOptions,
) -> Result<ClusterAdded> {
    cluster_url(dd)?;
    let key = crate::keys::cluster_key(dd)?;
    let cert = certstore::cluster::prepare_self_signed(opts, &key).map_err(cert_err)?;
    cluster_add(dd, &cert)
}

/// Every certificate of store Cluster, newest NotBefore first.
pub fn cluster_list(dd: &DataDir) -> Result<Vec<certstore::cluster::ClusterCert>> {
    with_cluster_store(dd, |s| async move { s.list().await })?
        .into_iter()
        .map(cluster_cert_of)
        .collect()
}

/// Removes a certificate from store Cluster (central-store bindings stop choosing it at
/// once; bindings never name it, so nothing else changes). Refused while a cluster
/// certificate source (ACME) has it as its current certificate: the source would go on
/// renewing a certificate no one can see, so it is removed first (`cert sources --store
/// Cluster --remove ID`); older certificates of a source can go.
pub fn cluster_remove(dd: &DataDir, thumb: &Thumbprint) -> Result<()> {
    let t = thumb.to_string();
    let sources = with_cluster_store(dd, |s| async move { s.sources().await })?;
    if let Some(id) = sources.iter().find_map(|r| {
        let v: serde_json::Value = serde_json::from_str(&r.source).ok()?;
        let current = v.get("thumbprint")?.as_str()?;
        current.eq_ignore_ascii_case(&t).then(|| r.id.clone())
    }) {
        return Err(Error::Refused(format!(
            "certificate {thumb} is the current certificate of source {id}, which renews it into store Cluster; remove the source first (`reportctl cert sources --store Cluster --remove {id}`)"
        )));
    }
    if !with_cluster_store(dd, |s| async move { s.remove(&t).await })? {
        return Err(Error::Refused(format!(
            "no certificate with thumbprint {thumb} in store Cluster; `reportctl cert list --store Cluster` lists them"
        )));
    }
    Ok(())
}

/// `ssl add APP --ccs PORT`: a central-store binding (HTTP.sys `ccs=PORT`) for `app`, whose
/// certificate is chosen per connection by SNI from store Cluster. Needs a cluster.
pub fn ccs_bind(
    dd: &DataDir,
    app: httpsys::Application,
    port: u16,
    flags: &crate::ops::PolicyFlags,
) -> Result<(httpsys::BindOutcome, Applied)> {
    cluster_url(dd)?;
    let endpoint = Endpoint::Ccs(port);
    change_repository(dd, |r| {
        let existing = r.binding(&endpoint).map(|b| &b.policy);
        let mut flags = flags.clone();
        if existing.is_none() && flags.hsts.is_none() {
            flags.hsts = Some(false);
        }
        let policy = flags.over(existing);
        Ok(r.bind_ssl(app, endpoint.clone(), "", policy)?)
    })
}
