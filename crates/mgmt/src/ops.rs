//! Operations that change an instance, shared by `reportctl` and the server.
//!
//! Each changes the files under the data-dir lock, then has the change applied: by the
//! running server (over the management socket) before returning, or at the next start.

use datadir::DataDir;

use crate::protocol::Request;
use crate::{Client, Result};

/// How a change took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The running server applied it; one line per change it made.
    Live(Vec<String>),
    /// No server runs; the change applies when it starts.
    Stopped,
}

impl Applied {
    /// A line for the user: what happened to the running server.
    pub fn describe(&self) -> String {
        match self {
            Applied::Live(c) if c.is_empty() => "applied to the running server".into(),
            Applied::Live(c) => format!("applied to the running server: {}", c.join("; ")),
            Applied::Stopped => "the server is stopped; the change applies when it starts".into(),
        }
    }
}

/// Asks the running server (if any) to re-read the data dir and apply it.
pub fn apply(dd: &DataDir) -> Result<Applied> {
    match Client::connect(dd)? {
        None => Ok(Applied::Stopped),
        Some(mut c) => {
            let r = c.call_ok(&Request::Apply)?;
            Ok(Applied::Live(r.changes))
        }
    }
}
