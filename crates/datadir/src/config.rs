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
    #[serde(default = "default_log_format")]
    pub log_format: String,
}

fn default_max_upload() -> u32 {
    64
}

/// Largest `MaxUploadSizeMB` accepted. An upload is held whole while it is checked and
/// stored, and both catalogs keep content in one value (a SQLite blob is at most 10^9
/// bytes, a PostgreSQL bytea 1 GiB): 512 MiB keeps well inside both and bounds what one
/// request may make the server hold.
pub const MAX_UPLOAD_SIZE_MB: u32 = 512;
fn default_log_format() -> String {
    "human".into()
}

impl Settings {
    /// Settings of a new instance.
    pub fn new(instance_id: String) -> Self {
        Settings {
            instance_id,
            secure_connection_level: 0,
            database_url: None,
            max_upload_size_mb: default_max_upload(),
            log_format: default_log_format(),
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
];

fn canonical_key(key: &str) -> Result<&'static SettingInfo> {
    SETTINGS
        .iter()
        .find(|s| s.key.eq_ignore_ascii_case(key))
        .ok_or_else(|| {
            let keys: Vec<_> = SETTINGS.iter().map(|s| s.key).collect();
            Error::Setting(format!(
                "unknown setting {key:?}; known settings: {}",
                keys.join(", ")
            ))
        })
}

impl Settings {
    /// The value of `key` as text (`reportctl config get`); unset values are empty.
    pub fn get(&self, key: &str) -> Result<String> {
        let info = canonical_key(key)?;
        Ok(match info.key {
            "SecureConnectionLevel" => self.secure_connection_level.to_string(),
            "DatabaseUrl" => self.database_url.clone().unwrap_or_default(),
            "InstanceId" => self.instance_id.clone(),
            "MaxUploadSizeMB" => self.max_upload_size_mb.to_string(),
            "LogFormat" => self.log_format.clone(),
            other => unreachable!("SETTINGS lists {other} without a getter"),
        })
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
            "LogFormat" => {
                let v = value.trim().to_ascii_lowercase();
                if v != "human" && v != "json" {
                    return Err(Error::Setting(format!(
                        "LogFormat must be human or json, not {value:?}"
                    )));
                }
                self.log_format = v;
            }
            other => unreachable!("{other} is settable without a setter"),
        }
        Ok(info.key)
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
