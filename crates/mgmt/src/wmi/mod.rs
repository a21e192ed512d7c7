//! The WMI-named management API: the methods and properties of SSRS's
//! `MSReportServer_ConfigurationSetting` and `MSReportServer_Instance` classes, as
//! SqlServerDsc (`Invoke-CimMethod` with named arguments) and ReportingServicesTools
//! (`$wmi.Method(a, b, c)`, positional in MOF order) call them, on `reportd.sock`.
//!
//! [`table`] is the pure part: method → MOF-ordered parameters → [`table::Op`], and the
//! binding of named or positional arguments. [`exec`] runs a bound call through the
//! operations library ([`crate::ops`], [`crate::keys`], [`crate::database`]) and answers with
//! the SSRS out-parameters (`HRESULT`, `Error`/`ExtendedErrors`, parallel arrays with
//! `Length`, `Script`, `KeyFile` as base64). [`properties`] gives the properties clients read.
//!
//! This module owns no state and changes nothing itself; it must not log argument values
//! (passwords, key files).

pub mod cluster;
pub mod exec;
pub mod hresult;
pub mod table;

use serde_json::{Map, Value};

use datadir::DataDir;

use crate::protocol::{Request, Response};
pub use table::{Args, Class};

/// One call as it arrives on the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub class: String,
    pub method: String,
    pub args: Args,
}

impl Invocation {
    /// From the socket request's fields: `Arguments` (named) or `Args` (positional).
    pub fn from_request(
        class: &str,
        method: &str,
        arguments: Option<&Map<String, Value>>,
        args: Option<&Vec<Value>>,
    ) -> Result<Invocation, String> {
        let args = match (arguments, args) {
            (Some(_), Some(_)) => {
                return Err(
                    "give the arguments either by name (Arguments) or by position (Args), not both"
                        .into(),
                );
            }
            (Some(m), None) => Args::Named(m.clone()),
            (None, Some(v)) => Args::Positional(v.clone()),
            (None, None) => Args::Positional(Vec::new()),
        };
        Ok(Invocation {
            class: class.to_owned(),
            method: method.to_owned(),
            args,
        })
    }
}

/// Runs one call (blocking: it may take the data-dir lock, open the catalog and have the
/// server apply the change). The answer always carries `HRESULT`.
pub fn invoke(dd: &DataDir, inv: &Invocation) -> Response {
    let Some(class) = Class::parse(&inv.class) else {
        return hresult::failure(
            hresult::E_INVALIDARG,
            format!(
                "unknown class {:?}; use MSReportServer_ConfigurationSetting or MSReportServer_Instance",
                inv.class
            ),
        );
    };
    let Some(method) = table::lookup(class, &inv.method) else {
        let known: Vec<&str> = table::METHODS
            .iter()
            .filter(|m| m.class == class)
            .map(|m| m.name)
            .collect();
        return hresult::failure(
            hresult::WBEM_E_METHOD_NOT_IMPLEMENTED,
            format!(
                "{} has no method {:?}; its methods are: {}",
                class.name(),
                inv.method,
                known.join(", ")
            ),
        );
    };
    let bound = match table::bind(method, &inv.args) {
        Ok(b) => b,
        Err(e) => return hresult::failure(hresult::E_INVALIDARG, e.0),
    };
    // Scale-out methods on a cluster (PostgreSQL catalog) are the node table's.
    let resp = cluster::run(dd, &bound).unwrap_or_else(|| exec::run(dd, &bound));
    tracing::info!(
        method = method.name,
        hresult = format_args!("{:#010x}", resp.hresult as u32),
        "management API call"
    );
    resp
}

/// The properties of `class` for this instance, by their SSRS names.
pub fn properties(dd: &DataDir, class: &str) -> Response {
    match Class::parse(class) {
        None => hresult::failure(
            hresult::E_INVALIDARG,
            format!(
                "unknown class {class:?}; use MSReportServer_ConfigurationSetting or MSReportServer_Instance"
            ),
        ),
        Some(c) => match exec::properties(dd, c) {
            Ok(out) => Response {
                out,
                ..Response::ok()
            },
            Err(e) => hresult::failure(hresult::E_FAIL, e.to_string()),
        },
    }
}

/// Runs a WMI request of the socket (`Invoke`, `GetProperties`), blocking; None for other
/// requests.
pub fn run_request(dd: &DataDir, req: &Request) -> Option<Response> {
    Some(match req {
        Request::Invoke {
            class,
            method,
            arguments,
            args,
        } => match Invocation::from_request(class, method, arguments.as_ref(), args.as_ref()) {
            Ok(inv) => invoke(dd, &inv),
            Err(e) => hresult::failure(hresult::E_INVALIDARG, e),
        },
        Request::GetProperties { class } => properties(dd, class),
        _ => return None,
    })
}

/// [`run_request`] from async code (on a blocking thread).
pub async fn handle(dd: &DataDir, req: &Request) -> Option<Response> {
    if !matches!(req, Request::Invoke { .. } | Request::GetProperties { .. }) {
        return None;
    }
    let (dd, req) = (dd.clone(), req.clone());
    Some(
        tokio::task::spawn_blocking(move || run_request(&dd, &req))
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| hresult::failure(hresult::E_FAIL, "the call failed")),
    )
}
