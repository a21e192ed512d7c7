//! The data dir: one report server instance on disk (the "machine").
//!
//! This crate owns the layout of the data dir, the crash-safe write primitive every other
//! crate uses ([`atomic_write`]), the data-dir-wide mutation lock ([`DataDir::lock`]),
//! `reportd.toml` ([`config`]), the instance key and the administrator kept by `init` until
//! the catalog exists ([`PendingAdmin`]).
//!
//! It must not know about HTTP, TLS, SQL or certificates: those crates build on it. It does
//! blocking file I/O only; async callers wrap it in `spawn_blocking`.

pub mod config;
pub mod dburl;
mod fsutil;
pub mod keyfile;
pub mod limits;
pub mod sealed;

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use config::{Config, LogFormat, SettingKey, Settings, UrlReservationsRepr};
pub use dburl::{Backend, DatabaseUrl};
pub use fsutil::{atomic_write, create_private_dir, ensure_private_file};

/// Environment variable naming the data dir when `--data-dir` is not given.
pub const DATA_DIR_ENV: &str = "REPORTD_DATA_DIR";
/// Data dir used when neither `--data-dir` nor `$REPORTD_DATA_DIR` is given.
pub const DEFAULT_DATA_DIR: &str = "reportd-data";
/// `sun_path` holds 108 bytes including the terminating NUL on Linux.
const MAX_SOCKET_PATH: usize = 107;

/// Errors of the data dir. Every variant names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed (permissions, full disk, missing directory).
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The data dir has no `reportd.toml`: `reportctl init` (or `reportd quickstart`) was not run.
    #[error(
        "{0} is not an initialized data dir (no reportd.toml); run `reportctl init` or `reportd quickstart` first, or pass --data-dir"
    )]
    NotInitialized(PathBuf),
    /// `reportctl init` on a data dir that already has a configuration.
    #[error(
        "{0} is already initialized; nothing was changed (use another --data-dir to start afresh)"
    )]
    AlreadyInitialized(PathBuf),
    /// `reportd.toml` does not parse, or a setting has an invalid value.
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    /// A `reportctl config get|set` key that does not exist or cannot be set by hand.
    #[error("{0}")]
    Setting(String),
    /// The management socket path does not fit in a Unix socket address.
    #[error(
        "socket path {0} is too long for a Unix socket ({1} bytes, at most {MAX_SOCKET_PATH}); pass --socket PATH with a shorter path"
    )]
    SocketPathTooLong(PathBuf, usize),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A data dir: paths of everything in it. Cheap to clone; holds no open files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
    socket: Option<PathBuf>,
}

impl DataDir {
    /// The data dir at `root` (made absolute against the current directory, so that a daemon
    /// started in the background finds the same files).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root: PathBuf = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()
                .map(|cwd| cwd.join(&root))
                .unwrap_or(root)
        };
        DataDir { root, socket: None }
    }

    /// `--data-dir` if given, else `$REPORTD_DATA_DIR`, else `./reportd-data`.
    pub fn resolve(flag: Option<&Path>) -> Self {
        match flag {
            Some(p) => DataDir::new(p),
            None => match std::env::var_os(DATA_DIR_ENV) {
                Some(v) if !v.is_empty() => DataDir::new(PathBuf::from(v)),
                _ => DataDir::new(DEFAULT_DATA_DIR),
            },
        }
    }

    /// Overrides the management socket path (`--socket PATH`).
    pub fn with_socket(mut self, socket: Option<PathBuf>) -> Self {
        self.socket = socket;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `reportd.toml`, the RSReportServer.config analogue.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("reportd.toml")
    }
    /// The default SQLite catalog file.
    pub fn default_catalog_path(&self) -> PathBuf {
        self.root.join("catalog.db")
    }
    /// Root of the certificate store (`My/`, `Root/`, `REQUEST/` below it).
    pub fn certs_dir(&self) -> PathBuf {
        self.root.join("certs")
    }
    /// The binding repository (URL reservations and SSL bindings): the HTTP.sys analogue.
    pub fn bindings_path(&self) -> PathBuf {
        self.root.join("bindings.json")
    }
    pub fn instance_key_path(&self) -> PathBuf {
        self.root.join("instance.key")
    }
    pub fn pending_admin_path(&self) -> PathBuf {
        self.root.join("pending-admin.json")
    }
    pub fn pid_path(&self) -> PathBuf {
        self.root.join("reportd.pid")
    }
    pub fn log_dir(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn log_path(&self) -> PathBuf {
        self.log_dir().join("reportd.log")
    }
    /// Where the running server publishes its state (pid, start time, URLs) for `status`.
    pub fn state_path(&self) -> PathBuf {
        self.root.join("reportd.state.json")
    }
    /// The exported quickstart certificate (PEM), for clients to trust.
    pub fn trust_pem_path(&self) -> PathBuf {
        self.root.join("reportd-localhost.pem")
    }

    /// The management socket: `--socket` if given, else `reportd.sock` in the data dir.
    /// A path too long for `sun_path` is an error naming `--socket PATH`.
    pub fn socket_path(&self) -> Result<PathBuf> {
        let p = self
            .socket
            .clone()
            .unwrap_or_else(|| self.root.join("reportd.sock"));
        let len = p.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(Error::SocketPathTooLong(p, len));
        }
        Ok(p)
    }

    /// True when `reportd.toml` exists.
    pub fn is_initialized(&self) -> bool {
        self.config_path().exists()
    }

    /// Errors with a hint to run `reportctl init` unless the data dir is initialized.
    pub fn require_initialized(&self) -> Result<()> {
        if self.is_initialized() {
            Ok(())
        } else {
            Err(Error::NotInitialized(self.root.clone()))
        }
    }

    /// Creates the data dir (mode 0700) if absent.
    pub fn create_dirs(&self) -> Result<()> {
        create_private_dir(&self.root)?;
        create_private_dir(&self.log_dir())?;
        Ok(())
    }

    /// Takes the data-dir-wide mutation lock, blocking until it is free.
    ///
    /// Every change to the configuration, the binding repository or the certificate store
    /// happens under this lock, in `reportctl` and in the server alike, so two writers never
    /// interleave. It is an advisory `flock`: released when the guard drops or the process
    /// dies (a `kill -9` never leaves a stale lock behind).
    pub fn lock(&self) -> Result<DirLock> {
        create_private_dir(&self.root)?;
        let path = self.root.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        file.lock().map_err(|e| Error::io(&path, e))?;
        Ok(DirLock { _file: file })
    }

    /// Reads `reportd.toml`.
    pub fn load_config(&self) -> Result<Config> {
        self.require_initialized()?;
        Config::load(&self.config_path())
    }

    /// The instance key: 32 random bytes created at init, owner-only. Keys CSRF tokens and
    /// the credential cache; never logged.
    pub fn instance_key(&self) -> Result<Zeroizing<[u8; 32]>> {
        let path = self.instance_key_path();
        let mut f = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let mut buf = Zeroizing::new(Vec::with_capacity(32));
        f.read_to_end(&mut buf).map_err(|e| Error::io(&path, e))?;
        let mut key = Zeroizing::new([0u8; 32]);
        if buf.len() != 32 {
            return Err(Error::Config {
                path,
                message: format!(
                    "instance key has {} bytes, expected 32; restore it from backup",
                    buf.len()
                ),
            });
        }
        key.copy_from_slice(&buf);
        Ok(key)
    }

    /// Replaces the instance key (a restore or a rotation); callers hold [`DataDir::lock`].
    pub fn replace_instance_key(&self, key: &[u8; 32]) -> Result<()> {
        atomic_write(&self.instance_key_path(), &key[..], 0o600)
    }

    /// Creates the instance key unless one exists.
    pub fn create_instance_key(&self) -> Result<()> {
        let path = self.instance_key_path();
        if path.exists() {
            return Ok(());
        }
        let mut key = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(&mut key[..]);
        atomic_write(&path, &key[..], 0o600)
    }

    /// The administrator named at `init`, kept hashed until `database create` moves it into
    /// the catalog.
    pub fn pending_admin(&self) -> Result<Option<PendingAdmin>> {
        let path = self.pending_admin_path();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Config {
                    path,
                    message: format!("unreadable pending administrator ({e}); delete the file and add the user with `reportctl user add`"),
                }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    pub fn set_pending_admin(&self, admin: &PendingAdmin) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(admin).expect("PendingAdmin serializes");
        atomic_write(&self.pending_admin_path(), &bytes, 0o600)
    }

    pub fn clear_pending_admin(&self) -> Result<()> {
        let path = self.pending_admin_path();
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(path, e)),
        }
    }
}

/// Holds the data-dir mutation lock until dropped.
pub struct DirLock {
    _file: File,
}

impl fmt::Debug for DirLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DirLock")
    }
}

/// A System Administrator named at `init`, waiting for the catalog. The hash is a PHC
/// string (argon2id); the password itself is never stored.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingAdmin {
    pub name: String,
    pub password_hash: String,
}

impl fmt::Debug for PendingAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAdmin")
            .field("name", &self.name)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

/// Reads a password file: its first line, trailing CR/LF stripped. The password is
/// zeroized when dropped.
pub fn read_password_file(path: &Path) -> Result<Zeroizing<String>> {
    let bytes = Zeroizing::new(fs::read(path).map_err(|e| Error::io(path, e))?);
    let text = std::str::from_utf8(&bytes).map_err(|_| Error::Config {
        path: path.to_owned(),
        message: "password file is not UTF-8 text".into(),
    })?;
    let first = text.split('\n').next().unwrap_or("");
    let first = first.trim_end_matches(['\r', '\n']);
    Ok(Zeroizing::new(first.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_path_too_long_names_the_override() {
        let long = "x".repeat(120);
        let dd = DataDir::new(format!("/tmp/{long}"));
        let err = dd.socket_path().unwrap_err().to_string();
        assert!(err.contains("--socket PATH"), "{err}");
        let dd = dd.with_socket(Some("/tmp/r.sock".into()));
        assert_eq!(dd.socket_path().unwrap(), PathBuf::from("/tmp/r.sock"));
    }

    #[test]
    fn password_file_first_line_without_crlf() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        fs::write(&p, "s3cret pass\r\nsecond line\n").unwrap();
        assert_eq!(read_password_file(&p).unwrap().as_str(), "s3cret pass");
        fs::write(&p, "short").unwrap();
        assert_eq!(read_password_file(&p).unwrap().as_str(), "short");
    }

    #[test]
    fn lock_serializes_writers_across_handles() {
        let dir = tempfile::tempdir().unwrap();
        let dd = DataDir::new(dir.path());
        let g = dd.lock().unwrap();
        let path = dir.path().join(".lock");
        let other = OpenOptions::new().write(true).open(path).unwrap();
        assert!(
            other.try_lock().is_err(),
            "second handle must not get the lock"
        );
        drop(g);
        assert!(other.try_lock().is_ok());
    }

    #[test]
    fn instance_key_is_private_and_stable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dd = DataDir::new(dir.path());
        dd.create_instance_key().unwrap();
        let k1 = dd.instance_key().unwrap();
        dd.create_instance_key().unwrap();
        assert_eq!(*k1, *dd.instance_key().unwrap());
        let mode = fs::metadata(dd.instance_key_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "instance key must be owner-only");
    }
}
