//! `cert trust` / `cert untrust`: a Root certificate into or out of the operating system's
//! trust bundle, so that curl, browsers and other programs on this machine trust it (what
//! `caddy trust` does).
//!
//! On Debian and Ubuntu that is a `.crt` file in `/usr/local/share/ca-certificates` followed
//! by `update-ca-certificates`. Both the directory and the command can be changed
//! ([`TrustTarget`]), so tests stay hermetic and other distributions can be served
//! (Fedora: `/etc/pki/ca-trust/source/anchors` + `update-ca-trust`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::store::{pem_cert, remove_if_exists};
use crate::{CertStore, Error, Result, StoreName, Thumbprint};

/// Where Debian's `update-ca-certificates` looks for local certificates.
pub const DEFAULT_TRUST_DIR: &str = "/usr/local/share/ca-certificates";
/// Environment variable that overrides the trust directory (as `--trust-dir` does).
pub const TRUST_DIR_ENV: &str = "REPORTD_TRUST_DIR";
/// The command that rebuilds the system bundle after a change in the default directory.
const DEFAULT_UPDATE_COMMAND: &str = "update-ca-certificates";

/// Where trusted certificates go and what rebuilds the bundle afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustTarget {
    /// Directory that receives `reportd-<THUMBPRINT>.crt`.
    pub dir: PathBuf,
    /// Program and arguments run after a change; None to run nothing.
    pub update_command: Option<Vec<String>>,
}

impl TrustTarget {
    /// The system's: `/usr/local/share/ca-certificates` and `update-ca-certificates`.
    pub fn system() -> Self {
        TrustTarget {
            dir: PathBuf::from(DEFAULT_TRUST_DIR),
            update_command: Some(vec![DEFAULT_UPDATE_COMMAND.to_owned()]),
        }
    }

    /// From the command line: `dir` (from `--trust-dir` or `$REPORTD_TRUST_DIR`) and an
    /// update command line (split on whitespace). With neither, the system's. With a
    /// directory of one's own and no command, nothing is run: an overridden directory is
    /// usually not what `update-ca-certificates` reads.
    pub fn resolve(dir: Option<PathBuf>, update_command: Option<&str>) -> Self {
        let command =
            update_command.map(|c| c.split_whitespace().map(str::to_owned).collect::<Vec<_>>());
        match dir {
            None => TrustTarget {
                dir: PathBuf::from(DEFAULT_TRUST_DIR),
                update_command: command.or_else(|| Some(vec![DEFAULT_UPDATE_COMMAND.to_owned()])),
            },
            Some(d) => TrustTarget {
                dir: d,
                update_command: command,
            },
        }
        .without_empty_command()
    }

    fn without_empty_command(mut self) -> Self {
        if self.update_command.as_ref().is_some_and(|c| c.is_empty()) {
            self.update_command = None;
        }
        self
    }

    /// The file that holds `thumb` when it is trusted.
    pub fn path_for(&self, thumb: &Thumbprint) -> PathBuf {
        // update-ca-certificates reads only names ending in .crt.
        self.dir.join(format!("reportd-{thumb}.crt"))
    }

    /// Runs the update command, if any; its output is returned for the caller to show.
    ///
    /// After a removal, `update-ca-certificates` needs `--fresh`: without it, it rebuilds
    /// the bundle only when it saw an addition or a removal listed in its configuration,
    /// and a deleted local file is neither, so the certificate would stay trusted.
    fn update(&self, removal: bool) -> Result<Option<String>> {
        let Some(cmd) = &self.update_command else {
            return Ok(None);
        };
        let mut cmd = cmd.clone();
        let is_debian_tool = cmd
            .first()
            .and_then(|p| Path::new(p).file_name())
            .is_some_and(|n| n == DEFAULT_UPDATE_COMMAND);
        if removal && is_debian_tool && !cmd.iter().any(|a| a == "--fresh" || a == "-f") {
            cmd.push("--fresh".into());
        }
        let (program, args) = cmd
            .split_first()
            .ok_or_else(|| Error::TrustUpdate("the trust update command is empty".into()))?;
        let out = Command::new(program).args(args).output().map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                Error::TrustUpdate(format!(
                    "{program} not found: install the ca-certificates package, or pass --trust-dir and --update-command for this system's trust store"
                ))
            } else {
                Error::TrustUpdate(format!("cannot run {program}: {e}"))
            }
        })?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            return Err(Error::TrustUpdate(format!(
                "`{}` failed ({}){}{}; the trust store was left as it was",
                cmd.join(" "),
                out.status,
                if last.is_empty() { "" } else { ": " },
                last.trim()
            )));
        }
        Ok(Some(text))
    }
}

/// What `trust`/`untrust` did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrustOutcome {
    /// The file written or removed.
    pub path: PathBuf,
    /// False when there was nothing to do (already trusted / not trusted).
    pub changed: bool,
    /// Output of the update command, when one ran.
    pub update_output: Option<String>,
}

impl CertStore {
    /// Puts Root certificate `thumb` into the trust directory and runs the update command.
    /// On failure of the command the file is taken back out, leaving things as they were.
    pub fn trust(&self, thumb: &Thumbprint, target: &TrustTarget) -> Result<TrustOutcome> {
        if !self.contains(StoreName::Root, thumb) {
            if self.contains(StoreName::My, thumb) {
                return Err(Error::NotInRoot(*thumb));
            }
            return Err(crate::store::not_found(thumb, Some(StoreName::Root)));
        }
        let chain = self.chain_der(StoreName::Root, thumb)?;
        // chain_der never returns an empty chain (it is an error instead).
        let text = pem_cert(&chain[0]);
        let path = target.path_for(thumb);
        let _lock = self.lock()?;
        if fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
            return Ok(TrustOutcome {
                path,
                changed: false,
                update_output: None,
            });
        }
        if !target.dir.is_dir() {
            fs::create_dir_all(&target.dir).map_err(|e| trust_io(&target.dir, e))?;
        }
        // World-readable: every program on the machine reads the trust store.
        datadir::atomic_write(&path, text.as_bytes(), 0o644).map_err(|e| match e {
            datadir::Error::Io { source, .. }
                if source.kind() == io::ErrorKind::PermissionDenied =>
            {
                Error::TrustPermission { path: path.clone() }
            }
            other => other.into(),
        })?;
        match target.update(false) {
            Ok(update_output) => Ok(TrustOutcome {
                path,
                changed: true,
                update_output,
            }),
            Err(e) => {
                let _ = remove_if_exists(&path);
                Err(e)
            }
        }
    }

    /// Takes `thumb` out of the trust directory (it need not be in the store any more) and
    /// runs the update command.
    pub fn untrust(&self, thumb: &Thumbprint, target: &TrustTarget) -> Result<TrustOutcome> {
        let path = target.path_for(thumb);
        let _lock = self.lock()?;
        let old = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(TrustOutcome {
                    path,
                    changed: false,
                    update_output: None,
                });
            }
            Err(e) => return Err(trust_io(&path, e)),
        };
        fs::remove_file(&path).map_err(|e| trust_io(&path, e))?;
        match target.update(true) {
            Ok(update_output) => Ok(TrustOutcome {
                path,
                changed: true,
                update_output,
            }),
            Err(e) => {
                let _ = datadir::atomic_write(&path, &old, 0o644);
                Err(e)
            }
        }
    }
}

fn trust_io(path: &Path, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::PermissionDenied {
        Error::TrustPermission {
            path: path.to_owned(),
        }
    } else {
        Error::io(path, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_defaults_and_overrides() {
        assert_eq!(TrustTarget::resolve(None, None), TrustTarget::system());
        let t = TrustTarget::resolve(Some("/tmp/x".into()), None);
        assert_eq!(t.update_command, None);
        let t = TrustTarget::resolve(
            Some("/tmp/x".into()),
            Some("update-ca-certificates --fresh"),
        );
        assert_eq!(
            t.update_command.unwrap(),
            vec!["update-ca-certificates".to_string(), "--fresh".into()]
        );
        let t = TrustTarget::resolve(Some("/tmp/x".into()), Some("  "));
        assert_eq!(t.update_command, None);
    }
}
