//! `reportctl wmi METHOD [NAME=VALUE...|VALUE...]`: the WMI-named management API for scripts.
//!
//! Arguments are named (`Application=ReportServerWebService`) or positional in MOF order,
//! not mixed; a byte-array parameter (`KeyFile`) takes `@FILE` or base64. `METHOD` is any method of
//! `MSReportServer_ConfigurationSetting` or `MSReportServer_Instance` (any case), or
//! `properties` for the class's properties. The call goes to the running server over the
//! management socket, or runs in this process when the server is stopped. `--json` prints the
//! out-parameters as one JSON object with the SSRS names; the exit status is 0 exactly when
//! `HRESULT` is 0. This module only parses, calls and prints.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use mgmt::Client;
use mgmt::protocol::{Request, Response};
use mgmt::wmi::table::{self, Class, Ty};
use serde_json::{Map, Value};

use super::Ctx;

#[derive(Debug, Args)]
pub struct WmiArgs {
    /// Method name (e.g. ReserveURL, ListSSLCertificates), or `properties`.
    pub method: String,
    /// NAME=VALUE arguments, or VALUE arguments in the method's parameter order.
    pub args: Vec<String>,
    /// The class: MSReportServer_ConfigurationSetting (default) or MSReportServer_Instance.
    #[arg(long)]
    pub class: Option<String>,
}

pub fn run(ctx: &Ctx, a: WmiArgs) -> anyhow::Result<i32> {
    let req = build_request(&a)?;
    let resp = call(ctx, &req)?;
    print(ctx.json, &resp)?;
    Ok(if resp.hresult == 0 { 0 } else { 1 })
}

/// Sends `req` to the running server, or runs it here when none runs.
pub(crate) fn call(ctx: &Ctx, req: &Request) -> anyhow::Result<Response> {
    if let Some(mut c) = Client::connect(&ctx.dd)? {
        return Ok(c.call(req)?);
    }
    mgmt::wmi::run_request(&ctx.dd, req).context("not a management API call")
}

fn build_request(a: &WmiArgs) -> anyhow::Result<Request> {
    let class = match &a.class {
        Some(c) => Some(Class::parse(c).with_context(|| {
            format!(
                "unknown class {c:?}; use MSReportServer_ConfigurationSetting or MSReportServer_Instance"
            )
        })?),
        None => None,
    };
    if a.method.eq_ignore_ascii_case("properties") {
        if !a.args.is_empty() {
            bail!("`reportctl wmi properties` takes no arguments (only --class)");
        }
        return Ok(Request::GetProperties {
            class: class.unwrap_or(Class::ConfigurationSetting).name().into(),
        });
    }
    let method = match class {
        Some(c) => table::lookup(c, &a.method),
        None => Class::ALL
            .into_iter()
            .find_map(|c| table::lookup(c, &a.method)),
    };
    let Some(method) = method else {
        // Let the server answer with the list of methods and its HRESULT.
        return Ok(Request::Invoke {
            class: class.unwrap_or(Class::ConfigurationSetting).name().into(),
            method: a.method.clone(),
            arguments: None,
            args: Some(Vec::new()),
        });
    };
    let param_of = |name: &str| {
        method
            .params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
    };
    let named: Vec<Option<(&str, &str)>> = a
        .args
        .iter()
        .map(|s| s.split_once('=').filter(|(k, _)| param_of(k).is_some()))
        .collect();
    let value = |ty: Ty, v: &str| -> anyhow::Result<Value> {
        if ty == Ty::Bytes
            && let Some(path) = v.strip_prefix('@')
        {
            let bytes = read_bounded(&PathBuf::from(path))?;
            return Ok(Value::Array(bytes.into_iter().map(Value::from).collect()));
        }
        Ok(Value::String(v.to_owned()))
    };
    let (arguments, args) = if !a.args.is_empty() && named.iter().all(Option::is_some) {
        let mut m = Map::new();
        for (k, v) in named.into_iter().flatten() {
            let ty = param_of(k).map(|p| p.ty).unwrap_or(Ty::Str);
            m.insert(k.trim().to_owned(), value(ty, v)?);
        }
        (Some(m), None)
    } else {
        if named.iter().any(Option::is_some) && a.args.len() > 1 {
            bail!(
                "give {}'s arguments either all as NAME=VALUE or all by position ({}), not mixed",
                method.name,
                method
                    .params
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let mut v = Vec::new();
        for (i, s) in a.args.iter().enumerate() {
            let ty = method.params.get(i).map(|p| p.ty).unwrap_or(Ty::Str);
            v.push(value(ty, s)?);
        }
        (None, Some(v))
    };
    Ok(Request::Invoke {
        class: method.class.name().into(),
        method: method.name.into(),
        arguments,
        args,
    })
}

/// A key file or similar small input: at most 1 MiB.
fn read_bounded(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    if meta.len() > 1 << 20 {
        bail!(
            "{} is {} bytes; a key file is far smaller (at most 1 MiB is read)",
            path.display(),
            meta.len()
        );
    }
    std::fs::read(path).with_context(|| format!("{}", path.display()))
}

/// The out-parameters as one JSON object: `HRESULT`, `Error`, `ExtendedErrors`, the rest.
pub(crate) fn as_json(r: &Response) -> Value {
    let mut m = Map::new();
    m.insert("HRESULT".into(), Value::from(r.hresult));
    if let Some(e) = &r.error {
        m.insert("Error".into(), Value::String(e.clone()));
    }
    if !r.extended_errors.is_empty() {
        m.insert(
            "ExtendedErrors".into(),
            Value::Array(
                r.extended_errors
                    .iter()
                    .cloned()
                    .map(Value::String)
                    .collect(),
            ),
        );
    }
    for (k, v) in &r.out {
        m.insert(k.clone(), v.clone());
    }
    Value::Object(m)
}

fn print(json: bool, r: &Response) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&as_json(r))?);
        return Ok(());
    }
    println!("HRESULT: {} ({:#010x})", r.hresult, r.hresult as u32);
    if let Some(e) = &r.error {
        eprintln!("Error: {e}");
    }
    for (k, v) in &r.out {
        match v {
            Value::Array(items) => {
                let text: Vec<String> = items.iter().map(plain).collect();
                println!("{k}: {}", text.join(", "));
            }
            other => println!("{k}: {}", plain(other)),
        }
    }
    Ok(())
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
