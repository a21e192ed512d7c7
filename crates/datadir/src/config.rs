//! `reportd.toml`: the settings an administrator reads and sets, and the generated
//! representation of the URL reservations.
//!
//! The file has two parts. The settings ([`Settings`]) are the truth: reportd reads them, and
//! `reportctl config get|set` changes them. The `[URLReservations]` table is *generated* from
//! the binding repository on every change (as RSReportServer.config's URLReservations section
//! is generated from HTTP.sys): it is never read back as truth. [`Config::drift`] compares
//! what the file holds with what the repository generates, so that a hand edit is reported.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result, atomic_write};

const HEADER: &str = "\
# reportd.toml: configuration of one reportd instance (the RSReportServer.config analogue).
# The settings below are read by reportd. Change them with `reportctl config set KEY VALUE`
# (a running server applies the change at once); hand edits take effect at the next start.
";

const GENERATED_HEADER: &str = "\
# ---------------------------------------------------------------------------------------
# GENERATED from the binding repository (bindings.json) on every change: a representation
# only, like the URLReservations section of RSReportServer.config. Edits here are NOT
# applied; `reportctl status` reports them as drift. Use `reportctl url|ssl ...` instead.
# ---------------------------------------------------------------------------------------
";

/// Settings that are not generated. Field names are the keys of `reportctl config get|set`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Settings {
    /// Identifies this instance (SSRS InstanceId); set at init, never changed.
    pub instance_id: String,
    /// SSRS SecureConnectionLevel: 0 = http allowed; 1..=3 = credentials only over https,
    /// http redirected to https when an https reservation exists.
    pub secure_connection_level: u8,
    /// The report server database: `sqlite:PATH` (relative to the data dir) or a
    /// `postgres://` URL. Absent until `reportctl database create`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Largest upload accepted by the portal and REST API, in MiB (larger: 413).
    #[serde(default = "default_max_upload")]
    pub max_upload_size_mb: u32,
    /// Log format of the server: `human` or `json`.
    #[serde(default)]
    pub log_format: LogFormat,
    // Connection limits and log rotation: ranges and defaults in `crate::limits`.
    /// A TLS handshake must complete within this many seconds (a silent client is closed then).
    #[serde(default = "crate::limits::defaults::tls_handshake_timeout_seconds")]
    pub tls_handshake_timeout_seconds: u32,
    /// A request head must arrive within this many seconds of its first byte.
    #[serde(default = "crate::limits::defaults::header_timeout_seconds")]
    pub header_timeout_seconds: u32,
    /// HTTP/1.1: idle seconds allowed between keep-alive requests.
    #[serde(default = "crate::limits::defaults::keep_alive_timeout_seconds")]
    pub keep_alive_timeout_seconds: u32,
    /// HTTP/2: seconds with no stream open before GOAWAY and close.
    #[serde(default = "crate::limits::defaults::http2_idle_timeout_seconds")]
    pub http2_idle_timeout_seconds: u32,
    /// Seconds a request body may deliver no data before the request fails.
    #[serde(default = "crate::limits::defaults::body_read_timeout_seconds")]
    pub body_read_timeout_seconds: u32,
    /// Slowest request body accepted after a 10 s grace, bytes/s (0: no check).
    #[serde(default = "crate::limits::defaults::min_body_rate_bytes_per_second")]
    pub min_body_rate_bytes_per_second: u32,
    /// Seconds a response may make no progress (client not reading) before the connection closes.
    #[serde(default = "crate::limits::defaults::send_timeout_seconds")]
    pub send_timeout_seconds: u32,
    /// Connections older than this are closed gracefully.
    #[serde(default = "crate::limits::defaults::max_connection_age_seconds")]
    pub max_connection_age_seconds: u32,
    /// Open connections at most; the oldest idle one is shed for a new one.
    #[serde(default = "crate::limits::defaults::max_connections")]
    pub max_connections: u32,
    /// Open connections from one client address at most (shedding likewise).
    #[serde(default = "crate::limits::defaults::max_connections_per_ip")]
    pub max_connections_per_ip: u32,
    /// HTTP/2 streams open at once per connection.
    #[serde(default = "crate::limits::defaults::http2_max_concurrent_streams")]
    pub http2_max_concurrent_streams: u32,
    /// HTTP/2 response bytes buffered per stream, KiB.
    #[serde(
        rename = "Http2StreamBufferKB",
        default = "crate::limits::defaults::http2_stream_buffer_kb"
    )]
    pub http2_stream_buffer_kb: u32,
    /// HTTP/2 PING/SETTINGS/RST_STREAM/empty frames per second per connection.
    #[serde(default = "crate::limits::defaults::http2_max_control_frames_per_second")]
    pub http2_max_control_frames_per_second: u32,
    /// The log file (when stderr is a file) rotates at this size, MiB.
    #[serde(
        rename = "LogMaxSizeMB",
        default = "crate::limits::defaults::log_max_size_mb"
    )]
    pub log_max_size_mb: u32,
    /// Rotated log files kept.
    #[serde(default = "crate::limits::defaults::log_max_files")]
    pub log_max_files: u32,
    /// Failed sign-ins per user name before it is locked out for `SignInLockoutSeconds`
    /// (each failure before that waits twice as long as the last); a source address may
    /// fail four times as often (it may carry several users).
    #[serde(default = "default_sign_in_max_failures")]
    pub sign_in_max_failures: u32,
    /// How long a user name or address stays locked out, and how long a failure counts.
    #[serde(default = "default_sign_in_lockout_seconds")]
    pub sign_in_lockout_seconds: u32,
    /// Longest a catalog statement may run or wait for a lock, in seconds (PostgreSQL
    /// `statement_timeout`/`lock_timeout`, SQLite busy timeout); SSRS's DatabaseQueryTimeout.
    #[serde(default = "default_database_query_timeout")]
    pub database_query_timeout: u32,
    /// Longest wait, in seconds, to connect to the report server database when its
    /// connection is set (SSRS's DatabaseLogonTimeout).
    #[serde(default = "default_database_logon_timeout")]
    pub database_logon_timeout: u32,
    /// Longest one report render may take, in seconds (SSRS's execution timeout).
    #[serde(default = "default_render_timeout_seconds")]
    pub render_timeout_seconds: u32,
    /// Directories SQLite data source files may be opened in, separated by `:`
    /// (empty: no SQLite file may be opened by a report).
    #[serde(default)]
    pub data_source_directories: String,
    /// Most rows one report execution may read from all its data sets together.
    #[serde(default = "default_max_report_rows")]
    pub max_report_rows: u32,
    /// The name the web portal shows in its title and header (SSRS's SiteName).
    #[serde(default = "default_site_name")]
    pub site_name: String,
}

/// The site name of a new instance (SSRS: "SQL Server Reporting Services").
pub const DEFAULT_SITE_NAME: &str = "reportd";
/// Longest site name, in characters.
pub const MAX_SITE_NAME_CHARS: usize = 100;

fn default_site_name() -> String {
    DEFAULT_SITE_NAME.to_owned()
}

fn default_render_timeout_seconds() -> u32 {
    600
}
fn default_max_report_rows() -> u32 {
    1_000_000
}

fn default_sign_in_max_failures() -> u32 {
    5
}
fn default_sign_in_lockout_seconds() -> u32 {
    120
}
fn default_database_logon_timeout() -> u32 {
    10
}

fn default_database_query_timeout() -> u32 {
    30
}

fn default_max_upload() -> u32 {
    64
}

/// Largest `MaxUploadSizeMB` accepted. An upload is held whole while it is checked and
/// stored, and both catalogs keep content in one value (a SQLite blob is at most 10^9
/// bytes, a PostgreSQL bytea 1 GiB): 512 MiB keeps well inside both and bounds what one
/// request may make the server hold.
pub const MAX_UPLOAD_SIZE_MB: u32 = 512;
/// The server's log format on stderr (`LogFormat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per event.
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        }
    }
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LogFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<LogFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "human" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            _ => Err(Error::Setting(format!(
                "LogFormat must be human or json, not {s:?}"
            ))),
        }
    }
}

impl Settings {
    /// Settings of a new instance.
    pub fn new(instance_id: String) -> Self {
        Settings {
            instance_id,
            secure_connection_level: 0,
            database_url: None,
            max_upload_size_mb: default_max_upload(),
            log_format: LogFormat::Human,
            tls_handshake_timeout_seconds: crate::limits::defaults::tls_handshake_timeout_seconds(),
            header_timeout_seconds: crate::limits::defaults::header_timeout_seconds(),
            keep_alive_timeout_seconds: crate::limits::defaults::keep_alive_timeout_seconds(),
            http2_idle_timeout_seconds: crate::limits::defaults::http2_idle_timeout_seconds(),
            body_read_timeout_seconds: crate::limits::defaults::body_read_timeout_seconds(),
            min_body_rate_bytes_per_second: crate::limits::defaults::min_body_rate_bytes_per_second(
            ),
            send_timeout_seconds: crate::limits::defaults::send_timeout_seconds(),
            max_connection_age_seconds: crate::limits::defaults::max_connection_age_seconds(),
            max_connections: crate::limits::defaults::max_connections(),
            max_connections_per_ip: crate::limits::defaults::max_connections_per_ip(),
            http2_max_concurrent_streams: crate::limits::defaults::http2_max_concurrent_streams(),
            http2_stream_buffer_kb: crate::limits::defaults::http2_stream_buffer_kb(),
            http2_max_control_frames_per_second:
                crate::limits::defaults::http2_max_control_frames_per_second(),
            log_max_size_mb: crate::limits::defaults::log_max_size_mb(),
            log_max_files: crate::limits::defaults::log_max_files(),
            sign_in_max_failures: default_sign_in_max_failures(),
            sign_in_lockout_seconds: default_sign_in_lockout_seconds(),
            database_query_timeout: default_database_query_timeout(),
            database_logon_timeout: default_database_logon_timeout(),
            render_timeout_seconds: default_render_timeout_seconds(),
            data_source_directories: String::new(),
            max_report_rows: default_max_report_rows(),
            site_name: default_site_name(),
        }
    }
}

/// One key of `reportctl config get|set`: its canonical name, whether it may be set by hand,
/// and what it means (shown by `reportctl config get` with no key).
pub struct SettingInfo {
    pub key: &'static str,
    pub settable: bool,
    pub help: &'static str,
}

pub const SETTINGS: &[SettingInfo] = &[
    SettingInfo {
        key: "SecureConnectionLevel",
        settable: true,
        help: "0 = http allowed; 1-3 = credentials only over https, http redirects to https",
    },
    SettingInfo {
        key: "DatabaseUrl",
        settable: false,
        help: "the report server database; set by `reportctl database create`",
    },
    SettingInfo {
        key: "InstanceId",
        settable: false,
        help: "identifies this instance; set at init",
    },
    SettingInfo {
        key: "MaxUploadSizeMB",
        settable: true,
        help: "largest upload accepted, in MiB (1-512)",
    },
    SettingInfo {
        key: "LogFormat",
        settable: true,
        help: "server log format: human or json",
    },
    SettingInfo {
        key: "TlsHandshakeTimeoutSeconds",
        settable: true,
        help: "seconds a TLS handshake may take; a silent client is closed then (1-60)",
    },
    SettingInfo {
        key: "HeaderTimeoutSeconds",
        settable: true,
        help: "seconds a request head may take from its first byte (1-60)",
    },
    SettingInfo {
        key: "KeepAliveTimeoutSeconds",
        settable: true,
        help: "HTTP/1.1 idle seconds between keep-alive requests (1-3600)",
    },
    SettingInfo {
        key: "Http2IdleTimeoutSeconds",
        settable: true,
        help: "HTTP/2 seconds with no stream open before GOAWAY and close (1-3600)",
    },
    SettingInfo {
        key: "BodyReadTimeoutSeconds",
        settable: true,
        help: "seconds a request body may send nothing before the request fails (1-300)",
    },
    SettingInfo {
        key: "MinBodyRateBytesPerSecond",
        settable: true,
        help: "slowest request body accepted after a 10 s grace, bytes/s; 0 = no check",
    },
    SettingInfo {
        key: "SendTimeoutSeconds",
        settable: true,
        help: "seconds a response may make no progress (client not reading) before the connection closes (1-3600)",
    },
    SettingInfo {
        key: "MaxConnectionAgeSeconds",
        settable: true,
        help: "connections older than this are closed gracefully (10-604800)",
    },
    SettingInfo {
        key: "MaxConnections",
        settable: true,
        help: "open connections at most; when full the oldest idle one is shed (1-1000000)",
    },
    SettingInfo {
        key: "MaxConnectionsPerIp",
        settable: true,
        help: "open connections from one client address at most (1-1000000)",
    },
    SettingInfo {
        key: "Http2MaxConcurrentStreams",
        settable: true,
        help: "HTTP/2 streams per connection at once (1-1000)",
    },
    SettingInfo {
        key: "Http2StreamBufferKB",
        settable: true,
        help: "HTTP/2 response bytes buffered per stream, KiB (16-16384)",
    },
    SettingInfo {
        key: "Http2MaxControlFramesPerSecond",
        settable: true,
        help: "HTTP/2 PING/SETTINGS/RST_STREAM/empty frames per second per connection (10-100000)",
    },
    SettingInfo {
        key: "LogMaxSizeMB",
        settable: true,
        help: "the server log file rotates at this size, MiB (1-4096)",
    },
    SettingInfo {
        key: "LogMaxFiles",
        settable: true,
        help: "rotated log files kept (1-100)",
    },
    SettingInfo {
        key: "SignInMaxFailures",
        settable: true,
        help: "failed sign-ins per user name before a lockout (1-1000; an address may fail 4 times as often)",
    },
    SettingInfo {
        key: "SignInLockoutSeconds",
        settable: true,
        help: "how long a locked-out user name or address waits, in seconds (1-86400)",
    },
    SettingInfo {
        key: "DatabaseLogonTimeout",
        settable: true,
        help: "longest wait to connect to the report server database when its connection is set, in seconds (1-300)",
    },
    SettingInfo {
        key: "DatabaseQueryTimeout",
        settable: true,
        help: "longest a catalog statement may run or wait for a lock, in seconds (1-3600)",
    },
    SettingInfo {
        key: "RenderTimeoutSeconds",
        settable: true,
        help: "longest one report render may take, in seconds (1-86400)",
    },
    SettingInfo {
        key: "DataSourceDirectories",
        settable: true,
        help: "absolute directories SQLite data source files may be opened in, separated by ':' (empty: none)",
    },
    SettingInfo {
        key: "MaxReportRows",
        settable: true,
        help: "most rows one report execution may read from its data sets (1-100000000)",
    },
    SettingInfo {
        key: "SiteName",
        settable: true,
        help: "the name the web portal shows in its title and header (1-100 characters, no control characters)",
    },
];

/// A key of `reportd.toml`'s settings, typed: what `reportctl config get|set`, the portal's
/// Site settings page and the WMI methods name. Parsed case-insensitively from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SettingKey {
    SecureConnectionLevel,
    DatabaseUrl,
    InstanceId,
    MaxUploadSizeMB,
    LogFormat,
    TlsHandshakeTimeoutSeconds,
    HeaderTimeoutSeconds,
    KeepAliveTimeoutSeconds,
    Http2IdleTimeoutSeconds,
    BodyReadTimeoutSeconds,
    MinBodyRateBytesPerSecond,
    SendTimeoutSeconds,
    MaxConnectionAgeSeconds,
    MaxConnections,
    MaxConnectionsPerIp,
    Http2MaxConcurrentStreams,
    Http2StreamBufferKB,
    Http2MaxControlFramesPerSecond,
    LogMaxSizeMB,
    LogMaxFiles,
    SignInMaxFailures,
    SignInLockoutSeconds,
    DatabaseLogonTimeout,
    DatabaseQueryTimeout,
    RenderTimeoutSeconds,
    DataSourceDirectories,
    MaxReportRows,
    SiteName,
}

impl SettingKey {
    /// Every key, in the order `config get` lists them.
    pub const ALL: [SettingKey; 28] = [
        SettingKey::SecureConnectionLevel,
        SettingKey::DatabaseUrl,
        SettingKey::InstanceId,
        SettingKey::MaxUploadSizeMB,
        SettingKey::LogFormat,
        SettingKey::TlsHandshakeTimeoutSeconds,
        SettingKey::HeaderTimeoutSeconds,
        SettingKey::KeepAliveTimeoutSeconds,
        SettingKey::Http2IdleTimeoutSeconds,
        SettingKey::BodyReadTimeoutSeconds,
        SettingKey::MinBodyRateBytesPerSecond,
        SettingKey::SendTimeoutSeconds,
        SettingKey::MaxConnectionAgeSeconds,
        SettingKey::MaxConnections,
        SettingKey::MaxConnectionsPerIp,
        SettingKey::Http2MaxConcurrentStreams,
        SettingKey::Http2StreamBufferKB,
        SettingKey::Http2MaxControlFramesPerSecond,
        SettingKey::LogMaxSizeMB,
        SettingKey::LogMaxFiles,
        SettingKey::SignInMaxFailures,
        SettingKey::SignInLockoutSeconds,
        SettingKey::DatabaseLogonTimeout,
        SettingKey::DatabaseQueryTimeout,
        SettingKey::RenderTimeoutSeconds,
        SettingKey::DataSourceDirectories,
        SettingKey::MaxReportRows,
        SettingKey::SiteName,
    ];

    /// The canonical name (`SecureConnectionLevel`).
    pub fn as_str(self) -> &'static str {
        match self {
            SettingKey::SecureConnectionLevel => "SecureConnectionLevel",
            SettingKey::DatabaseUrl => "DatabaseUrl",
            SettingKey::InstanceId => "InstanceId",
            SettingKey::MaxUploadSizeMB => "MaxUploadSizeMB",
            SettingKey::LogFormat => "LogFormat",
            SettingKey::TlsHandshakeTimeoutSeconds => "TlsHandshakeTimeoutSeconds",
            SettingKey::HeaderTimeoutSeconds => "HeaderTimeoutSeconds",
            SettingKey::KeepAliveTimeoutSeconds => "KeepAliveTimeoutSeconds",
            SettingKey::Http2IdleTimeoutSeconds => "Http2IdleTimeoutSeconds",
            SettingKey::BodyReadTimeoutSeconds => "BodyReadTimeoutSeconds",
            SettingKey::MinBodyRateBytesPerSecond => "MinBodyRateBytesPerSecond",
            SettingKey::SendTimeoutSeconds => "SendTimeoutSeconds",
            SettingKey::MaxConnectionAgeSeconds => "MaxConnectionAgeSeconds",
            SettingKey::MaxConnections => "MaxConnections",
            SettingKey::MaxConnectionsPerIp => "MaxConnectionsPerIp",
            SettingKey::Http2MaxConcurrentStreams => "Http2MaxConcurrentStreams",
            SettingKey::Http2StreamBufferKB => "Http2StreamBufferKB",
            SettingKey::Http2MaxControlFramesPerSecond => "Http2MaxControlFramesPerSecond",
            SettingKey::LogMaxSizeMB => "LogMaxSizeMB",
            SettingKey::LogMaxFiles => "LogMaxFiles",
            SettingKey::SignInMaxFailures => "SignInMaxFailures",
            SettingKey::SignInLockoutSeconds => "SignInLockoutSeconds",
            SettingKey::DatabaseLogonTimeout => "DatabaseLogonTimeout",
            SettingKey::DatabaseQueryTimeout => "DatabaseQueryTimeout",
            SettingKey::RenderTimeoutSeconds => "RenderTimeoutSeconds",
            SettingKey::DataSourceDirectories => "DataSourceDirectories",
            SettingKey::MaxReportRows => "MaxReportRows",
            SettingKey::SiteName => "SiteName",
        }
    }

    /// Whether it may be set by hand, and what it means.
    pub fn info(self) -> &'static SettingInfo {
        SETTINGS
            .iter()
            .find(|s| s.key == self.as_str())
            .expect("SETTINGS lists every SettingKey")
    }
}

impl std::fmt::Display for SettingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SettingKey {
    type Err = Error;
    fn from_str(key: &str) -> Result<SettingKey> {
        SettingKey::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(key.trim()))
            .ok_or_else(|| {
                let keys: Vec<_> = SettingKey::ALL.iter().map(|k| k.as_str()).collect();
                Error::Setting(format!(
                    "unknown setting {key:?}; known settings: {}",
                    keys.join(", ")
                ))
            })
    }
}

fn canonical_key(key: &str) -> Result<&'static SettingInfo> {
    Ok(key.parse::<SettingKey>()?.info())
}

impl Settings {
    /// The report server database, parsed ([`crate::DatabaseUrl`]); `None` until
    /// `reportctl database create`. The error names the setting and the fix.
    pub fn database(&self) -> Result<Option<crate::DatabaseUrl>> {
        match &self.database_url {
            None => Ok(None),
            Some(s) => crate::DatabaseUrl::parse(s).map(Some).map_err(|e| {
                Error::Setting(format!(
                    "DatabaseUrl in reportd.toml: {e}; connect the instance again with `reportctl database create`"
                ))
            }),
        }
    }

    /// The value of `key` as text (`reportctl config get`); unset values are empty.
    pub fn get(&self, key: &str) -> Result<String> {
        let info = canonical_key(key)?;
        if let Some(v) = crate::limits::get(self, info.key) {
            return Ok(v);
        }
        Ok(match info.key {
            "SecureConnectionLevel" => self.secure_connection_level.to_string(),
            // Never the password: `config get` output is shown and pasted around.
            "DatabaseUrl" => match self.database()? {
                Some(u) => u.to_string(),
                None => String::new(),
            },
            "InstanceId" => self.instance_id.clone(),
            "MaxUploadSizeMB" => self.max_upload_size_mb.to_string(),
            "LogFormat" => self.log_format.to_string(),
            "SignInMaxFailures" => self.sign_in_max_failures.to_string(),
            "SignInLockoutSeconds" => self.sign_in_lockout_seconds.to_string(),
            "DatabaseQueryTimeout" => self.database_query_timeout.to_string(),
            "DatabaseLogonTimeout" => self.database_logon_timeout.to_string(),
            "RenderTimeoutSeconds" => self.render_timeout_seconds.to_string(),
            "DataSourceDirectories" => self.data_source_directories.clone(),
            "MaxReportRows" => self.max_report_rows.to_string(),
            "SiteName" => self.site_name.clone(),
            other => unreachable!("SETTINGS lists {other} without a getter"),
        })
    }

    /// The value of `key` as text.
    pub fn get_key(&self, key: SettingKey) -> Result<String> {
        self.get(key.as_str())
    }

    /// Sets `key` from text, validating it.
    pub fn set_key(&mut self, key: SettingKey, value: &str) -> Result<()> {
        self.set(key.as_str(), value).map(|_| ())
    }

    /// Sets `key` from text, validating it (`reportctl config set`). Returns the canonical key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<&'static str> {
        let info = canonical_key(key)?;
        if !info.settable {
            return Err(Error::Setting(format!(
                "{} cannot be set by hand: {}",
                info.key, info.help
            )));
        }
        if let Some(r) = crate::limits::set(self, info.key, value) {
            return r.map(|()| info.key);
        }
        match info.key {
            "SecureConnectionLevel" => {
                self.secure_connection_level = match value.trim().parse::<u8>() {
                    Ok(n @ 0..=3) => n,
                    _ => {
                        return Err(Error::Setting(format!(
                            "SecureConnectionLevel must be 0, 1, 2 or 3, not {value:?}"
                        )));
                    }
                }
            }
            "MaxUploadSizeMB" => {
                self.max_upload_size_mb = match value.trim().parse::<u32>() {
                    Ok(n @ 1..=MAX_UPLOAD_SIZE_MB) => n,
                    _ => {
                        return Err(Error::Setting(format!(
                            "MaxUploadSizeMB must be a whole number from 1 to {MAX_UPLOAD_SIZE_MB}, not {value:?}"
                        )));
                    }
                }
            }
            "LogFormat" => self.log_format = value.parse()?,
            "SignInMaxFailures" => self.sign_in_max_failures = ranged(info.key, value, 1, 1000)?,
            "SignInLockoutSeconds" => {
                self.sign_in_lockout_seconds = ranged(info.key, value, 1, 86_400)?
            }
            "DatabaseLogonTimeout" => {
                self.database_logon_timeout = ranged(info.key, value, 1, 300)?
            }
            "DatabaseQueryTimeout" => {
                self.database_query_timeout = ranged(info.key, value, 1, 3600)?
            }
            "RenderTimeoutSeconds" => {
                self.render_timeout_seconds = ranged(info.key, value, 1, 86_400)?
            }
            "DataSourceDirectories" => {
                let v = value.trim();
                if let Some(bad) = v
                    .split(':')
                    .filter(|d| !d.is_empty())
                    .find(|d| !d.starts_with('/') || d.split('/').any(|s| s == ".."))
                {
                    return Err(Error::Setting(format!(
                        "DataSourceDirectories takes absolute directories separated by ':'; {bad:?} is not absolute or contains '..'"
                    )));
                }
                self.data_source_directories = v.to_owned();
            }
            "MaxReportRows" => self.max_report_rows = ranged(info.key, value, 1, 100_000_000)?,
            "SiteName" => self.site_name = site_name(value)?,
            other => unreachable!("{other} is settable without a setter"),
        }
        Ok(info.key)
    }
}

/// `value` as a site name: trimmed, 1-[`MAX_SITE_NAME_CHARS`] characters, no control
/// characters (it goes into every page's title and header).
fn site_name(value: &str) -> Result<String> {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 || n > MAX_SITE_NAME_CHARS {
        return Err(Error::Setting(format!(
            "SiteName must have 1 to {MAX_SITE_NAME_CHARS} characters, not {n}"
        )));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::Setting(
            "SiteName must not contain control characters (line breaks, tabs, escapes)".into(),
        ));
    }
    Ok(v.to_owned())
}

/// `value` as a whole number from `min` to `max`, else an error naming `key` and the range.
fn ranged(key: &str, value: &str, min: u32, max: u32) -> Result<u32> {
    match value.trim().parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Error::Setting(format!(
            "{key} must be a whole number from {min} to {max}, not {value:?}"
        ))),
    }
}

/// The generated `[URLReservations]` table: one entry per application.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlReservationsRepr {
    #[serde(rename = "Application", default)]
    pub applications: Vec<ApplicationRepr>,
}

/// One application's reservations, each the literal `scheme://host:port` string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplicationRepr {
    pub name: String,
    pub virtual_directory: String,
    #[serde(rename = "URLs")]
    pub urls: Vec<String>,
}

/// `reportd.toml` as read from disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub settings: Settings,
    /// What the file's generated section holds (None when absent or unreadable).
    pub url_reservations: Option<UrlReservationsRepr>,
}

#[derive(Deserialize)]
struct FileShape {
    #[serde(flatten)]
    settings: Settings,
    #[serde(rename = "URLReservations", default)]
    url_reservations: Option<toml::Value>,
}

#[derive(Serialize)]
struct FileOut<'a> {
    #[serde(flatten)]
    settings: &'a Settings,
}

#[derive(Serialize)]
struct GeneratedOut<'a> {
    #[serde(rename = "URLReservations")]
    url_reservations: &'a UrlReservationsRepr,
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<Self> {
        let shape: FileShape = toml::from_str(text).map_err(|e| Error::Config {
            path: path.to_owned(),
            message: format!(
                "invalid configuration: {}; fix the file or restore it with `reportctl config set`",
                e.message()
            ),
        })?;
        if shape.settings.secure_connection_level > 3 {
            return Err(Error::Config {
                path: path.to_owned(),
                message: "SecureConnectionLevel must be 0-3".into(),
            });
        }
        if let Err(message) = crate::limits::validate(&shape.settings) {
            return Err(Error::Config {
                path: path.to_owned(),
                message,
            });
        }
        let url_reservations = shape
            .url_reservations
            .and_then(|v| v.try_into::<UrlReservationsRepr>().ok());
        Ok(Config {
            settings: shape.settings,
            url_reservations,
        })
    }

    /// Writes the settings and a freshly generated reservations section, atomically.
    /// Callers hold the data-dir lock.
    pub fn write(path: &Path, settings: &Settings, generated: &UrlReservationsRepr) -> Result<()> {
        let mut out = String::from(HEADER);
        out.push('\n');
        out.push_str(&toml::to_string(&FileOut { settings }).expect("settings serialize to TOML"));
        out.push('\n');
        out.push_str(GENERATED_HEADER);
        out.push_str(
            &toml::to_string(&GeneratedOut {
                url_reservations: generated,
            })
            .expect("reservations serialize to TOML"),
        );
        atomic_write(path, out.as_bytes(), 0o600)
    }

    /// Describes how the file's generated section differs from `expected`, if it does:
    /// a hand edit that reportd does not apply. The text contains the word `drift`.
    pub fn drift(&self, expected: &UrlReservationsRepr) -> Option<String> {
        if self.url_reservations.as_ref() == Some(expected) {
            return None;
        }
        let found = match &self.url_reservations {
            None => "missing or unreadable".to_string(),
            Some(r) => summarize(r),
        };
        Some(format!(
            "configuration drift: the URLReservations section of reportd.toml ({found}) differs from the binding repository ({}); hand edits there are not applied; use `reportctl url ...` (the next change rewrites the section)",
            summarize(expected)
        ))
    }
}

fn summarize(r: &UrlReservationsRepr) -> String {
    let parts: Vec<String> = r
        .applications
        .iter()
        .map(|a| format!("{} /{} {}", a.name, a.virtual_directory, a.urls.join(" ")))
        .collect();
    if parts.is_empty() {
        "no reservations".into()
    } else {
        parts.join("; ")
    }
}

/// Resolves a `sqlite:` URL whose path is relative against the data dir root.
pub fn resolve_sqlite_path(root: &Path, url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let rest = rest.split('?').next().unwrap_or(rest);
    let p = Path::new(rest);
    Some(if p.is_absolute() {
        p.to_owned()
    } else {
        root.join(p)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_a_typed_key_and_back() {
        assert_eq!(SettingKey::ALL.len(), SETTINGS.len());
        for s in SETTINGS {
            let k: SettingKey = s.key.to_ascii_lowercase().parse().unwrap();
            assert_eq!(k.as_str(), s.key);
            assert_eq!(k.info().key, s.key);
        }
        let e = "NoSuchKey".parse::<SettingKey>().unwrap_err().to_string();
        assert!(e.contains("SecureConnectionLevel"), "{e}");
        let mut st = Settings::new("i".into());
        st.set_key(SettingKey::LogFormat, "JSON").unwrap();
        assert_eq!(st.log_format, LogFormat::Json);
        assert_eq!(st.get_key(SettingKey::LogFormat).unwrap(), "json");
        assert!(st.set_key(SettingKey::LogFormat, "xml").is_err());
        st.database_url = Some("postgres://rs:TopSecret@h/rs".into());
        let shown = st.get_key(SettingKey::DatabaseUrl).unwrap();
        assert_eq!(shown, "postgres://rs@h/rs");
    }

    fn repr() -> UrlReservationsRepr {
        UrlReservationsRepr {
            applications: vec![ApplicationRepr {
                name: "ReportServerWebService".into(),
                virtual_directory: "ReportServer".into(),
                urls: vec!["http://+:8080".into()],
            }],
        }
    }

    #[test]
    fn roundtrip_and_no_drift() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("reportd.toml");
        let s = Settings::new("id-1".into());
        Config::write(&p, &s, &repr()).unwrap();
        let c = Config::load(&p).unwrap();
        assert_eq!(c.settings, s);
        assert_eq!(c.drift(&repr()), None);
        let text = fs::read_to_string(&p).unwrap();
        assert!(text.contains("\"http://+:8080\""), "{text}");
        assert!(text.contains("GENERATED"), "{text}");
    }

    #[test]
    fn hand_edit_is_drift() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("reportd.toml");
        Config::write(&p, &Settings::new("x".into()), &repr()).unwrap();
        let text = fs::read_to_string(&p).unwrap().replace("+:8080", "+:9999");
        fs::write(&p, text).unwrap();
        let c = Config::load(&p).unwrap();
        let d = c.drift(&repr()).expect("drift");
        assert!(d.contains("drift") && d.contains("9999"), "{d}");
    }

    #[test]
    fn set_validates() {
        let mut s = Settings::new("x".into());
        assert_eq!(
            s.set("secureconnectionlevel", "1").unwrap(),
            "SecureConnectionLevel"
        );
        assert_eq!(s.secure_connection_level, 1);
        assert!(s.set("SecureConnectionLevel", "7").is_err());
        assert!(
            s.set("DatabaseUrl", "x")
                .unwrap_err()
                .to_string()
                .contains("database create")
        );
        assert!(
            s.set("Nope", "1")
                .unwrap_err()
                .to_string()
                .contains("known settings")
        );
    }

    #[test]
    fn site_name_is_checked_and_defaults_to_reportd() {
        let mut s = Settings::new("x".into());
        assert_eq!(s.get("SiteName").unwrap(), DEFAULT_SITE_NAME);
        s.set("sitename", "  Contoso Reports ").unwrap();
        assert_eq!(s.site_name, "Contoso Reports");
        let long = "x".repeat(MAX_SITE_NAME_CHARS + 1);
        for (bad, why) in [
            ("", "1 to 100"),
            ("   ", "1 to 100"),
            (long.as_str(), "1 to 100"),
            ("two\nlines", "control characters"),
            ("esc\u{1b}[31m", "control characters"),
        ] {
            let e = s.set("SiteName", bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert_eq!(
            s.site_name, "Contoso Reports",
            "unchanged by refused values"
        );
        // A file written before the setting existed reads with the default.
        let old: Settings =
            toml::from_str("InstanceId = \"x\"\nSecureConnectionLevel = 0\n").unwrap();
        assert_eq!(old.site_name, DEFAULT_SITE_NAME);
    }

    #[test]
    fn max_upload_has_a_sane_range() {
        let mut s = Settings::new("x".into());
        s.set("MaxUploadSizeMB", "512").unwrap();
        assert_eq!(s.max_upload_size_mb, 512);
        for bad in ["4096", "513", "0", "-1", "lots"] {
            let e = s.set("MaxUploadSizeMB", bad).unwrap_err().to_string();
            assert!(e.contains("from 1 to 512"), "{bad}: {e}");
        }
        assert_eq!(s.max_upload_size_mb, 512, "unchanged by refused values");
    }

    #[test]
    fn garbage_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("reportd.toml");
        fs::write(&p, "SecureConnectionLevel = [").unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("reportd.toml") && e.contains("invalid configuration"),
            "{e}"
        );
    }

    #[test]
    fn sqlite_paths_resolve_against_root() {
        let root = Path::new("/data");
        assert_eq!(
            resolve_sqlite_path(root, "sqlite:catalog.db").unwrap(),
            PathBuf::from("/data/catalog.db")
        );
        assert_eq!(
            resolve_sqlite_path(root, "sqlite:///x/c.db").unwrap(),
            PathBuf::from("/x/c.db")
        );
        assert!(resolve_sqlite_path(root, "postgres://h/db").is_none());
    }
}
