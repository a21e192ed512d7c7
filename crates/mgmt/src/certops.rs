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
            "a certificate that replaces another in SSL bindings goes into store My; drop --store or use --store My".into(),
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
                "no SSL binding uses certificate {old}, so there is nothing to replace (the new certificate {new} was imported); `reportctl ssl list` shows what is bound, `reportctl ssl bind` binds it"
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
