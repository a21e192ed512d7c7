//! The scale-out methods of `MSReportServer_ConfigurationSetting` on a cluster (a
//! PostgreSQL catalog): `ListReportServersInDatabase` (the node table as parallel arrays),
//! `InitializeReportServer(InstallationID)` (= `cluster join`: seal the cluster key for
//! that node) and `DeleteEncryptionKey(InstallationID)` (= `cluster remove`). A one-node
//! instance (SQLite catalog) keeps the answers of [`super::exec`].
//!
//! Installation ids are the node table's; the instance's own `InstallationID` property
//! (`reportd.toml`'s instance id) is accepted as an alias of this node, so the clients'
//! "initialize myself" call (`InitializeReportServer($this.InstallationID)`) means this node.
//!
//! Calls `crate::keys` only; owns no state and logs no argument values.

use serde_json::{Value, json};

use datadir::DataDir;

use super::hresult;
use super::table::{Bound, Op};
use crate::protocol::Response;
use crate::{Error, keys};

/// The answer for `b` when it is a scale-out method and the instance is a cluster; None
/// otherwise (then [`super::exec::run`] answers).
pub fn run(dd: &DataDir, b: &Bound) -> Option<Response> {
    if !matches!(
        b.method.op,
        Op::ListReportServersInDatabase | Op::InitializeReportServer | Op::DeleteEncryptionKey
    ) {
        return None;
    }
    if !keys::is_clustered(dd).unwrap_or(false) || dd.require_initialized().is_err() {
        return None;
    }
    Some(match run_clustered(dd, b) {
        Ok(out) => Response {
            out,
            ..Response::ok()
        },
        Err(r) => *r,
    })
}

type Out = serde_json::Map<String, Value>;

fn run_clustered(dd: &DataDir, b: &Bound) -> Result<Out, Box<Response>> {
    let mut out = Out::new();
    match b.method.op {
        Op::ListReportServersInDatabase => {
            let nodes = keys::block_on(async {
                match keys::cluster(dd)? {
                    Some(reg) => reg.list().await.map_err(keys::db_err),
                    None => Ok(Vec::new()),
                }
            })
            .and_then(|r| r)
            .map_err(|e| Box::new(hresult::failure(hresult::E_FAIL, e.to_string())))?;
            let me = keys::installation_id(dd).map_err(fail)?;
            let own_name = super::exec::instance_name(dd);
            let strings = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
            out.insert(
                "InstallationIDs".into(),
                strings(nodes.iter().map(|n| n.installation_id.clone()).collect()),
            );
            out.insert(
                "MachineNames".into(),
                strings(nodes.iter().map(|n| n.host.clone()).collect()),
            );
            out.insert(
                "InstanceNames".into(),
                strings(
                    nodes
                        .iter()
                        .map(|n| {
                            if n.installation_id == me {
                                own_name.clone()
                            } else {
                                instance_of(&n.serving)
                            }
                        })
                        .collect(),
                ),
            );
            out.insert(
                "IsInitialized".into(),
                Value::Array(nodes.iter().map(|n| json!(n.state == "joined")).collect()),
            );
            out.insert("Length".into(), json!(nodes.len()));
        }
        Op::InitializeReportServer => {
            let id = target(dd, b)?;
            let change = keys::join(dd, &id).map_err(fail)?;
            out.insert("State".into(), json!(change.state));
        }
        Op::DeleteEncryptionKey => {
            let id = target(dd, b)?;
            let change = keys::remove(dd, &id).map_err(fail)?;
            out.insert("State".into(), json!(change.state));
        }
        _ => {}
    }
    Ok(out)
}

/// The node the call names: `InstallationID`, with this instance's own id meaning this
/// node.
fn target(dd: &DataDir, b: &Bound) -> Result<String, Box<Response>> {
    let id = b
        .str("InstallationID")
        .map_err(|e| Box::new(hresult::failure(hresult::E_INVALIDARG, e.0)))?;
    let norm = |s: &str| s.trim().trim_matches(['{', '}']).to_ascii_lowercase();
    let own_alias = dd
        .load_config()
        .map(|c| norm(&c.settings.instance_id))
        .unwrap_or_default();
    if !own_alias.is_empty() && norm(id) == own_alias {
        return keys::installation_id(dd).map_err(fail);
    }
    Ok(norm(id))
}

/// The instance name a node put in its `serving` report (`instance NAME; ...`).
fn instance_of(serving: &str) -> String {
    serving
        .strip_prefix("instance ")
        .and_then(|r| r.split(';').next())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("reportd")
        .to_owned()
}

/// An operation's refusal: unknown ids are invalid arguments, the rest failures.
fn fail(e: Error) -> Box<Response> {
    let text = e.to_string();
    let code = if text.contains("no node with the installation id") {
        hresult::E_INVALIDARG
    } else {
        hresult::E_FAIL
    };
    Box::new(hresult::failure(code, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_come_from_the_serving_report() {
        assert_eq!(instance_of("instance n2; ports 8081/http"), "n2");
        assert_eq!(instance_of("ports 8081/http"), "reportd");
        assert_eq!(instance_of(""), "reportd");
    }
}
