//! The registry of certificate sources: `certsources.json` in the data dir, and the sealed
//! ACME account credentials in `acme/` beside it.
//!
//! Each source records what it follows (an ACME order's names and directory, or a watched
//! certificate and key path), the certificate it installed last (`thumbprint`) and its
//! renewal state (last attempt, last error, failures in a row, next attempt, forced
//! renewal). `reportctl` adds and removes sources; the server's renewal task updates their
//! state. Every change happens under the data-dir lock and is written with `atomic_write`
//! (0600); account credentials are sealed with the instance key (AES-256-GCM) and never
//! leave this module in the clear except to the ACME client.
//!
//! Must not: import certificates or touch bindings (the installer does), log credentials.

use std::path::{Path, PathBuf};

use datadir::DataDir;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// File name of the registry in the data dir.
pub const REGISTRY_FILE: &str = "certsources.json";
/// Directory of the sealed ACME account credentials in the data dir.
pub const ACCOUNTS_DIR: &str = "acme";

/// What a source follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceKind {
    /// A certificate and key file renewed by another program.
    Watch { cert: PathBuf, key: PathBuf },
    /// An ACME CA.
    Acme {
        dns_names: Vec<String>,
        directory: String,
        /// PEM of a CA to trust for the directory's own https (a private or test CA).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        directory_ca: Option<PathBuf>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
        #[serde(default)]
        challenge: crate::order::ChallengeKind,
    },
}

/// Where a source stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceState {
    /// Attempts made so far (a caller waiting for "the attempt after mine" compares this).
    #[serde(default)]
    pub attempts: u64,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_attempt: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_success: Option<OffsetDateTime>,
    /// The error of the last attempt, None after a success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Failed attempts in a row.
    #[serde(default)]
    pub failures: u32,
    /// When the renewer tries next (ACME: the renewal moment or the backoff's end).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_attempt: Option<OffsetDateTime>,
    /// How the renewal moment was chosen: "ARI window" or "2/3 of the lifetime".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_basis: Option<String>,
    /// Renew at the next opportunity whatever the schedule says (`reportctl cert renew`).
    #[serde(default)]
    pub force: bool,
}

/// One certificate source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `acme-N` or `watch-N`.
    pub id: String,
    #[serde(flatten)]
    pub kind: SourceKind,
    /// The certificate (store My) the source installed last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    #[serde(default)]
    pub state: SourceState,
}

impl Source {
    /// A new source of `kind` with an id not used in `existing`.
    pub fn new(kind: SourceKind, existing: &[Source]) -> Source {
        let prefix = match kind {
            SourceKind::Watch { .. } => "watch",
            SourceKind::Acme { .. } => "acme",
        };
        let n = (1..)
            .find(|n| !existing.iter().any(|s| s.id == format!("{prefix}-{n}")))
            .unwrap_or(1);
        Source {
            id: format!("{prefix}-{n}"),
            kind,
            thumbprint: None,
            state: SourceState::default(),
        }
    }

    /// A one-line description for lists and logs.
    pub fn describe(&self) -> String {
        match &self.kind {
            SourceKind::Watch { cert, key } => {
                format!("watch {} + {}", cert.display(), key.display())
            }
            SourceKind::Acme {
                dns_names,
                directory,
                ..
            } => format!("ACME {} from {directory}", dns_names.join(", ")),
        }
    }

    /// The warning `status` shows while the source's last attempt failed.
    pub fn warning(&self) -> Option<String> {
        let e = self.state.last_error.as_ref()?;
        let next = self
            .state
            .next_attempt
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .map(|t| format!("; next attempt {t}"))
            .unwrap_or_default();
        Some(format!(
            "certificate source {} ({}) failed {} time(s): {e}{next}; the certificate {} is still served",
            self.id,
            self.describe(),
            self.state.failures,
            self.thumbprint.as_deref().unwrap_or("(none yet)")
        ))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Registry {
    #[serde(default)]
    sources: Vec<Source>,
}

/// The registry in a data dir.
#[derive(Clone, Debug)]
pub struct FileSources {
    dd: DataDir,
}

impl FileSources {
    pub fn new(dd: DataDir) -> FileSources {
        FileSources { dd }
    }

    fn path(&self) -> PathBuf {
        self.dd.root().join(REGISTRY_FILE)
    }

    /// Every source (none when the file does not exist).
    pub fn load(&self) -> Result<Vec<Source>> {
        read_registry(&self.path())
    }

    /// Changes the sources with `f` under the data-dir lock; written only when changed.
    pub fn update<T>(&self, f: impl FnOnce(&mut Vec<Source>) -> Result<T>) -> Result<T> {
        let _lock = self.dd.lock()?;
        let path = self.path();
        let mut sources = read_registry(&path)?;
        let before = sources.clone();
        let out = f(&mut sources)?;
        if sources != before {
            let reg = Registry { sources };
            let json = serde_json::to_vec_pretty(&reg)
                .map_err(|e| Error::Registry(format!("cannot encode {REGISTRY_FILE}: {e}")))?;
            datadir::atomic_write(&path, &json, 0o600)?;
        }
        Ok(out)
    }

    /// Changes the source `id` with `f`; false when there is no such source (removed).
    pub fn update_one(&self, id: &str, f: impl FnOnce(&mut Source)) -> Result<bool> {
        self.update(|all| {
            Ok(match all.iter_mut().find(|s| s.id == id) {
                Some(s) => {
                    f(s);
                    true
                }
                None => false,
            })
        })
    }

    fn account_path(&self, id: &str) -> PathBuf {
        self.dd
            .root()
            .join(ACCOUNTS_DIR)
            .join(format!("{id}.account"))
    }

    /// The ACME account credentials of source `id` (JSON), opened with the instance key.
    pub fn load_account(&self, id: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let path = self.account_path(id);
        let sealed = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::Registry(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        let key = self.dd.instance_key()?;
        match datadir::sealed::open(&key[..], &sealed) {
            Ok(plain) => Ok(Some(plain)),
            // Sealed with another instance key: a new account is made instead.
            Err(e) => {
                tracing::warn!(
                    source = id,
                    "ACME account credentials unusable ({e}); a new account will be registered"
                );
                Ok(None)
            }
        }
    }

    /// Stores the ACME account credentials of source `id`, sealed, 0600 in a 0700 directory.
    pub fn save_account(&self, id: &str, credentials_json: &[u8]) -> Result<()> {
        let key = self.dd.instance_key()?;
        let sealed = datadir::sealed::seal(&key[..], credentials_json)
            .map_err(|e| Error::Registry(format!("cannot seal the ACME account: {e}")))?;
        datadir::create_private_dir(&self.dd.root().join(ACCOUNTS_DIR))?;
        datadir::atomic_write(&self.account_path(id), &sealed, 0o600)?;
        Ok(())
    }

    /// Removes the account credentials of a removed source.
    pub fn remove_account(&self, id: &str) {
        let _ = std::fs::remove_file(self.account_path(id));
    }
}

fn read_registry(path: &Path) -> Result<Vec<Source>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice::<Registry>(&b)
            .map(|r| r.sources)
            .map_err(|e| {
                Error::Registry(format!(
                    "{} is not valid ({e}); fix or remove it and register the sources again",
                    path.display()
                ))
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::Registry(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_and_ids_are_unique() {
        let tmp = tempfile::tempdir().unwrap();
        let dd = DataDir::new(tmp.path());
        dd.create_dirs().unwrap();
        let reg = FileSources::new(dd);
        assert!(reg.load().unwrap().is_empty());
        reg.update(|all| {
            let w = Source::new(
                SourceKind::Watch {
                    cert: "/c.pem".into(),
                    key: "/k.pem".into(),
                },
                all,
            );
            all.push(w);
            let a = Source::new(
                SourceKind::Acme {
                    dns_names: vec!["a.test".into()],
                    directory: "https://localhost:14000/dir".into(),
                    directory_ca: None,
                    email: None,
                    challenge: Default::default(),
                },
                all,
            );
            all.push(a);
            let w2 = Source::new(
                SourceKind::Watch {
                    cert: "/c2.pem".into(),
                    key: "/k2.pem".into(),
                },
                all,
            );
            all.push(w2);
            Ok(())
        })
        .unwrap();
        let all = reg.load().unwrap();
        let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["watch-1", "acme-1", "watch-2"]);
        assert!(
            reg.update_one("acme-1", |s| {
                s.state.last_error = Some("boom".into());
                s.state.failures = 2;
            })
            .unwrap()
        );
        assert!(!reg.update_one("acme-9", |_| {}).unwrap());
        let a = reg.load().unwrap().remove(1);
        assert!(a.warning().unwrap().contains("boom"), "{:?}", a.warning());
    }
}
