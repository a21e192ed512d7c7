//! Messages on the management socket: one JSON object per line each way.
//!
//! Results follow the SSRS WMI provider's shape: `HRESULT` 0 on success, otherwise an
//! `Error` text (and `ExtendedErrors`).

use serde::{Deserialize, Serialize};

/// A request from `reportctl` (or the portal) to the running server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Op")]
pub enum Request {
    /// State of the service: pid, uptime, URLs, database, warnings.
    Status,
    /// Re-read the files and apply them live: the binding repository (ports, routes, TLS),
    /// the settings, the catalog location. Answers with one line per change made.
    /// `Version` is the repository version the caller committed: a server that applied a
    /// newer one answers without applying (an Apply that arrives late changes nothing).
    Apply {
        #[serde(rename = "Version", default, skip_serializing_if = "Option::is_none")]
        version: Option<u64>,
    },
    /// The catalog was changed by another process (`reportctl catalog|user`): forget cached
    /// pages and credentials now rather than when their time is up. `Audit` says what
    /// changed and who changed it, for the server's log.
    CatalogChanged {
        #[serde(rename = "Audit", default, skip_serializing_if = "Option::is_none")]
        audit: Option<String>,
    },
    /// Stop the service gracefully (the SSRS SetServiceState with EnableWebService=false).
    SetServiceState { running: bool },
    /// A WMI method of `MSReportServer_ConfigurationSetting` or `MSReportServer_Instance`
    /// ([`crate::wmi`]), with named (`Arguments`) or positional (`Args`, MOF order)
    /// arguments; method and argument names in any case. The reply carries the SSRS
    /// out-parameters beside `HRESULT`.
    Invoke {
        #[serde(rename = "Class", default)]
        class: String,
        #[serde(rename = "Method")]
        method: String,
        #[serde(rename = "Arguments", default, skip_serializing_if = "Option::is_none")]
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
        #[serde(rename = "Args", default, skip_serializing_if = "Option::is_none")]
        args: Option<Vec<serde_json::Value>>,
    },
    /// The properties of a WMI class instance (`InstanceName`, `InstallationID`, ...).
    GetProperties {
        #[serde(rename = "Class", default)]
        class: String,
    },
}

/// What the server answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    #[serde(rename = "HRESULT")]
    pub hresult: i32,
    #[serde(rename = "Error", default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(
        rename = "ExtendedErrors",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extended_errors: Vec<String>,
    /// Changes applied (for `Apply`), each with its level: typed, never a text prefix.
    #[serde(rename = "Changes", default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ChangeReport>,
    #[serde(rename = "Status", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusInfo>,
    /// Out-parameters of a WMI method, or properties, under their SSRS names.
    #[serde(flatten)]
    pub out: serde_json::Map<String, serde_json::Value>,
}

/// How much a [`ChangeReport`] matters (the level of `httpsys::Change`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeLevel {
    /// Something the change did, as asked.
    Info,
    /// Something the change left not working; the change itself took effect.
    Warning,
}

/// One thing an `Apply` changed or found, as it travels on the socket:
/// `{"Level": "Warning", "Text": "..."}`. Each front end marks the level its own way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeReport {
    #[serde(rename = "Level")]
    pub level: ChangeLevel,
    /// What happened, without any level prefix.
    #[serde(rename = "Text")]
    pub text: String,
}

impl ChangeReport {
    pub fn is_warning(&self) -> bool {
        self.level == ChangeLevel::Warning
    }
}

/// The line a client prints: warnings marked as such.
impl std::fmt::Display for ChangeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.level {
            ChangeLevel::Info => f.write_str(&self.text),
            ChangeLevel::Warning => write!(f, "warning: {}", self.text),
        }
    }
}

impl From<&httpsys::Change> for ChangeReport {
    fn from(c: &httpsys::Change) -> ChangeReport {
        ChangeReport {
            level: match c.level {
                httpsys::ChangeLevel::Info => ChangeLevel::Info,
                httpsys::ChangeLevel::Warning => ChangeLevel::Warning,
            },
            text: c.text.clone(),
        }
    }
}

/// `E_FAIL`, the HRESULT of a failed operation.
pub const E_FAIL: i32 = 0x8000_4005_u32 as i32;

impl Response {
    pub fn ok() -> Response {
        Response::default()
    }
    pub fn failed(error: impl Into<String>) -> Response {
        Response {
            hresult: E_FAIL,
            error: Some(error.into()),
            ..Response::default()
        }
    }
}

/// State of a running server (`reportctl status`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusInfo {
    pub pid: u32,
    pub version: String,
    /// Start time, RFC 3339.
    pub started_at: String,
    pub uptime_seconds: u64,
    /// Full URLs of every reservation (`http://+:8080/ReportServer`).
    pub urls: Vec<String>,
    /// Ports listening now, as `8080/http`.
    pub ports: Vec<String>,
    /// `not configured`, `connected`, or an error text.
    pub database: String,
    pub database_backend: Option<String>,
    pub warnings: Vec<String>,
    /// The certificate of each SSL binding that is in store My, with its days to expiry.
    #[serde(default)]
    pub certificates: Vec<BoundCertificate>,
    /// The binding repository version the server applied last.
    #[serde(default)]
    pub binding_version: u64,
}

/// A certificate an SSL binding serves, with its days to expiry (`status`, the portal).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundCertificate {
    pub endpoint: String,
    pub thumbprint: String,
    pub subject: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whole days until it expires (negative once expired).
    pub days_to_expiry: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_with_and_without_a_version() {
        let old: Request = serde_json::from_str(r#"{"Op":"Apply"}"#).unwrap();
        assert_eq!(old, Request::Apply { version: None });
        let v = serde_json::to_string(&Request::Apply { version: Some(7) }).unwrap();
        assert_eq!(v, r#"{"Op":"Apply","Version":7}"#);
        assert_eq!(
            serde_json::from_str::<Request>(&v).unwrap(),
            Request::Apply { version: Some(7) }
        );
    }

    #[test]
    fn change_reports_carry_their_level_as_a_field() {
        let w = ChangeReport::from(&httpsys::Change::warning("no handshake on 0.0.0.0:1"));
        let r = Response {
            changes: vec![
                ChangeReport::from(&httpsys::Change::info("opened port 1")),
                w,
            ],
            ..Response::ok()
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(
            line.contains(r#"{"Level":"Warning","Text":"no handshake on 0.0.0.0:1"}"#),
            "{line}"
        );
        assert!(!line.contains("warning:"), "no text prefix: {line}");
        let back: Response = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
        assert!(back.changes[1].is_warning() && !back.changes[0].is_warning());
    }

    #[test]
    fn catalog_changed_with_and_without_an_audit_line() {
        let old: Request = serde_json::from_str(r#"{"Op":"CatalogChanged"}"#).unwrap();
        assert_eq!(old, Request::CatalogChanged { audit: None });
        let r = Request::CatalogChanged {
            audit: Some("user x removed, by root (reportctl)".into()),
        };
        let line = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), r);
    }

    #[test]
    fn status_of_an_older_server_still_reads() {
        let s: StatusInfo = serde_json::from_str(
            r#"{"pid":1,"version":"0","started_at":"","uptime_seconds":0,"urls":[],"ports":[],"database":"","database_backend":null,"warnings":[]}"#,
        )
        .unwrap();
        assert!(s.certificates.is_empty());
    }
}
