//! The steps of a renewal, behind the seams a cluster replaces.
//!
//! [`Renewer::renew_acme`] takes the [`RenewLock`] for the source, re-reads it from the
//! [`SourceStore`], orders a certificate, has the [`Installer`] import it and move every
//! binding of the previous certificate to it (one operation), and records the outcome:
//! the next renewal moment (ARI window, else two thirds of the lifetime) or, after a
//! failure, the error and a backed-off next attempt. [`Renewer::check_watch`] does the same
//! for a watched pair. On one node the lock is an in-process mutex ([`LocalLock`]) and the
//! store the data dir's registry; a cluster passes an advisory lock and its database.
//!
//! Must not: bind or serve (the installer and the challenge board are the caller's), log
//! keys or key authorizations.

use std::sync::Arc;

use certstore::WatchedPair;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::order::{ChallengeBoard, OrderRequest};
use crate::sources::{FileSources, Source, SourceKind};
use crate::{Error, Result, schedule};

/// A renewal window suggested by the CA (ARI): start, end.
type Window = (OffsetDateTime, OffsetDateTime);

/// One renewer at a time per source.
#[async_trait::async_trait]
pub trait RenewLock: Send + Sync {
    /// Waits for the lock of source `id`; held until the guard is dropped.
    async fn lock(&self, id: &str) -> Result<Box<dyn Send + Sync>>;
}

/// The single-node lock: one renewal at a time in this process (other processes change the
/// registry only under the data-dir lock).
#[derive(Debug, Default)]
pub struct LocalLock(Arc<tokio::sync::Mutex<()>>);

#[async_trait::async_trait]
impl RenewLock for LocalLock {
    async fn lock(&self, _id: &str) -> Result<Box<dyn Send + Sync>> {
        Ok(Box::new(self.0.clone().lock_owned().await))
    }
}

/// Where sources and their account credentials live.
pub trait SourceStore: Send + Sync {
    fn load(&self) -> Result<Vec<Source>>;
    /// Changes source `id`; false when it no longer exists.
    fn update_one(&self, id: &str, f: &mut dyn FnMut(&mut Source)) -> Result<bool>;
    fn load_account(&self, id: &str) -> Result<Option<Zeroizing<Vec<u8>>>>;
    fn save_account(&self, id: &str, credentials_json: &[u8]) -> Result<()>;
}

impl SourceStore for FileSources {
    fn load(&self) -> Result<Vec<Source>> {
        FileSources::load(self)
    }
    fn update_one(&self, id: &str, f: &mut dyn FnMut(&mut Source)) -> Result<bool> {
        FileSources::update_one(self, id, f)
    }
    fn load_account(&self, id: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        FileSources::load_account(self, id)
    }
    fn save_account(&self, id: &str, credentials_json: &[u8]) -> Result<()> {
        FileSources::save_account(self, id, credentials_json)
    }
}

/// What an installed certificate is.
#[derive(Debug, Clone)]
pub struct Installed {
    pub thumbprint: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The bindings moved from the previous certificate, as text.
    pub rebound: Vec<String>,
}

/// Imports a certificate with its key and moves the bindings of `replace` to it, as one
/// operation (blocking: file I/O and the server's Apply).
pub trait Installer: Send + Sync {
    fn install(&self, cert: &[u8], key: &[u8], replace: Option<&str>) -> Result<Installed>;
}

/// What a renewal step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new certificate is installed (and the bindings moved to it).
    Installed { thumbprint: String },
    /// Nothing to do: not due, or the watched files still hold the installed certificate.
    Unchanged,
    /// The source was removed meanwhile.
    Gone,
}

/// The renewal steps with their seams.
pub struct Renewer {
    pub lock: Arc<dyn RenewLock>,
    pub store: Arc<dyn SourceStore>,
    pub installer: Arc<dyn Installer>,
    pub board: Arc<dyn ChallengeBoard>,
}

impl Renewer {
    /// ACME sources due at `now` (forced, never issued, or past their next attempt).
    pub fn due(&self, now: OffsetDateTime) -> Result<Vec<String>> {
        Ok(self
            .store
            .load()?
            .into_iter()
            .filter(|s| matches!(s.kind, SourceKind::Acme { .. }) && is_due(s, now))
            .map(|s| s.id)
            .collect())
    }

    /// The earliest next attempt of any ACME source (None: nothing scheduled).
    pub fn next_wake(&self) -> Option<OffsetDateTime> {
        self.store
            .load()
            .ok()?
            .into_iter()
            .filter(|s| matches!(s.kind, SourceKind::Acme { .. }))
            .filter_map(|s| s.state.next_attempt)
            .min()
    }

    /// Orders and installs a certificate for ACME source `id` if it is due (or `force`d).
    pub async fn renew_acme(&self, id: &str) -> Result<Outcome> {
        let _guard = self.lock.lock(id).await?;
        let Some(src) = self.store.load()?.into_iter().find(|s| s.id == id) else {
            return Ok(Outcome::Gone);
        };
        let SourceKind::Acme {
            dns_names,
            directory,
            directory_ca,
            email,
            challenge,
        } = &src.kind
        else {
            return Ok(Outcome::Unchanged);
        };
        let now = OffsetDateTime::now_utc();
        if !is_due(&src, now) {
            return Ok(Outcome::Unchanged);
        }
        let req = OrderRequest {
            dns_names,
            directory,
            directory_ca: directory_ca.as_deref(),
            email: email.as_deref(),
            challenge: *challenge,
        };
        let result = self
            .order_and_install(id, &req, src.thumbprint.as_deref())
            .await;
        self.record(id, now, result.as_ref().map(|(i, w)| (i, *w)), true)?;
        result.map(|(i, _)| Outcome::Installed {
            thumbprint: i.thumbprint,
        })
    }

    async fn order_and_install(
        &self,
        id: &str,
        req: &OrderRequest<'_>,
        previous: Option<&str>,
    ) -> Result<(Installed, Option<Window>)> {
        let account = self.store.load_account(id)?;
        let got =
            crate::order::obtain(req, account.as_deref().map(|a| &a[..]), &*self.board).await?;
        if let Some(creds) = &got.new_account {
            self.store.save_account(id, creds)?;
        }
        let installer = self.installer.clone();
        let previous = previous.map(str::to_owned);
        let chain = got.chain_pem.clone();
        let key = got.key_pem.clone();
        let installed = tokio::task::spawn_blocking(move || {
            installer.install(chain.as_bytes(), key.as_bytes(), previous.as_deref())
        })
        .await
        .map_err(|e| Error::Install(format!("the install task failed: {e}")))??;
        Ok((installed, got.ari_window))
    }

    /// Re-reads watched source `id` and installs its pair when it holds a new certificate
    /// (blocking). A pair that does not match yet is an error: the caller retries.
    pub fn check_watch(&self, id: &str) -> Result<Outcome> {
        let Some(src) = self.store.load()?.into_iter().find(|s| s.id == id) else {
            return Ok(Outcome::Gone);
        };
        let SourceKind::Watch { cert, key } = &src.kind else {
            return Ok(Outcome::Unchanged);
        };
        let now = OffsetDateTime::now_utc();
        let pair = match WatchedPair::read(cert, key) {
            Ok(p) => p,
            Err(e) => {
                let e = Error::from(e);
                self.record(id, now, Err(&e), false)?;
                return Err(e);
            }
        };
        let thumb = pair.thumbprint.to_string();
        if src.thumbprint.as_deref() == Some(thumb.as_str()) {
            if src.state.last_error.is_some() {
                // The files are back to what is served: the failure is over.
                self.store.update_one(id, &mut |s| {
                    s.state.last_error = None;
                    s.state.failures = 0;
                })?;
            }
            return Ok(Outcome::Unchanged);
        }
        let result = self.installer.install(
            pair.cert_bytes(),
            pair.key_bytes(),
            src.thumbprint.as_deref(),
        );
        self.record(id, now, result.as_ref().map(|i| (i, None)), false)?;
        result.map(|i| Outcome::Installed {
            thumbprint: i.thumbprint,
        })
    }

    /// Writes the outcome of an attempt into the source's state.
    fn record(
        &self,
        id: &str,
        now: OffsetDateTime,
        result: std::result::Result<(&Installed, Option<Window>), &Error>,
        acme: bool,
    ) -> Result<()> {
        match result {
            Ok((i, _)) => {
                tracing::info!(
                    source = id,
                    thumbprint = %i.thumbprint,
                    rebound = %i.rebound.join(", "),
                    "certificate source installed a new certificate"
                );
            }
            Err(e) => tracing::warn!(source = id, "certificate source failed: {e}"),
        }
        self.store.update_one(id, &mut |s| {
            s.state.attempts += 1;
            s.state.last_attempt = Some(now);
            match result {
                Ok((i, ari)) => {
                    s.thumbprint = Some(i.thumbprint.clone());
                    s.state.last_success = Some(now);
                    s.state.last_error = None;
                    s.state.failures = 0;
                    s.state.force = false;
                    s.state.next_attempt = None;
                    if acme {
                        s.state.next_attempt =
                            Some(schedule::renew_at(i.not_before, i.not_after, ari));
                        s.state.renewal_basis = Some(
                            if ari.is_some() {
                                "ARI window"
                            } else {
                                "2/3 of the lifetime"
                            }
                            .into(),
                        );
                    }
                }
                Err(e) => {
                    s.state.last_error = Some(e.to_string());
                    s.state.failures += 1;
                    s.state.force = false;
                    let wait = if acme {
                        schedule::backoff(s.state.failures)
                    } else {
                        schedule::watch_retry(s.state.failures)
                    };
                    s.state.next_attempt = Some(now + wait);
                }
            }
        })?;
        Ok(())
    }
}

/// Forced, or never attempted, or past its next attempt.
fn is_due(s: &Source, now: OffsetDateTime) -> bool {
    s.state.force || s.state.next_attempt.is_none_or(|t| t <= now)
}
