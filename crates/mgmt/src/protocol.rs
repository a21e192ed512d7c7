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
    Apply,
    /// The catalog was changed by another process (`reportctl catalog|user`): forget cached
    /// pages and credentials now rather than when their time is up.
    CatalogChanged,
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
    /// Changes applied (for `Apply`).
    #[serde(rename = "Changes", default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    #[serde(rename = "Status", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusInfo>,
    /// Out-parameters of a WMI method, or properties, under their SSRS names.
    #[serde(flatten)]
    pub out: serde_json::Map<String, serde_json::Value>,
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
}
