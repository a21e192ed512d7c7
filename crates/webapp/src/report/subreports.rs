//! Subreports at run time: the [`engine::subreport::SubreportSource`] the web side gives a
//! bind. The engine asks for a subreport's definition by absolute catalog path (it resolves
//! `ReportName` against the parent's folder) and for the rows of its queries; this source
//! answers from the catalog, as the signed-in user.
//!
//! Owns: the per-render source ([`CatalogSubreports`]): the user's Read permission on the
//! subreport checked, its definition compiled once per catalog generation (the same cache as
//! top-level reports), its queries run with the server's limits and the credentials the user
//! gave for this render, and the rows kept in the execution so that page turns and exports
//! of the parent do not run them again.
//!
//! The bind runs on the render pool (a blocking thread), so the catalog and the data
//! providers (async) are driven with [`tokio::runtime::Handle::block_on`], each call bounded
//! by what is left of the render's time limit. The definition is compiled on the calling
//! thread: it already holds a pool permit, and asking for a second could wait forever.
//! Must not: render, or load anything the user may not read.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use catalog::{ItemPath, ItemType, Permission};
use engine::{Compiled, DataTable, QueryRequest};
use tokio::runtime::Handle;
use tokio::time::Instant;

use super::execution::Execution;
use super::pool::Cancel;
use super::{Credentials, ReportError};
use crate::AppState;
use crate::auth::Session;

/// Bytes of subreport rows an execution keeps for reuse (beyond it, they are fetched again on
/// each render).
const KEPT_BYTES: usize = 64 << 20;

/// The subreports of one render.
pub(crate) struct CatalogSubreports {
    handle: Handle,
    state: AppState,
    session: Session,
    execution: Arc<Execution>,
    credentials: Credentials,
    deadline: Instant,
    cancel: Cancel,
}

impl CatalogSubreports {
    /// The source for a render of `execution` that must end by `deadline`; call on the
    /// runtime (it takes the current handle).
    pub(crate) fn new(
        state: &AppState,
        session: &Session,
        execution: Arc<Execution>,
        credentials: Credentials,
        deadline: Instant,
        cancel: &Cancel,
    ) -> CatalogSubreports {
        CatalogSubreports {
            handle: Handle::current(),
            state: state.clone(),
            session: session.clone(),
            execution,
            credentials,
            deadline,
            cancel: cancel.clone(),
        }
    }

    /// Runs `fut` on the runtime from this blocking thread, within the render's time limit.
    fn block_on<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, String>>,
    ) -> Result<T, String> {
        if self.cancel.flag.load(Ordering::Relaxed) {
            return Err("the render was cancelled".into());
        }
        self.handle
            .block_on(async { tokio::time::timeout_at(self.deadline, fut).await })
            .unwrap_or_else(|_| {
                Err(
                    "the render time limit (RenderTimeoutSeconds) passed while it was loading"
                        .into(),
                )
            })
    }
}

fn message(e: ReportError) -> String {
    format!("{} ({})", e.message, e.code)
}

impl engine::subreport::SubreportSource for CatalogSubreports {
    fn definition(&self, path: &str) -> Result<Arc<Compiled>, String> {
        let p = ItemPath::parse(path)
            .map_err(|e| format!("'{path}' is not a valid catalog path: {e}"))?;
        let session = &self.session;
        let bytes = self.block_on(async {
            let item = session
                .catalog
                .get_item(&p)
                .await
                .map_err(|e| message(ReportError::catalog(e)))?;
            match item {
                None => return Err(format!("the report '{p}' does not exist")),
                Some(i) if i.item_type != ItemType::Report => {
                    return Err(format!("'{p}' is a {}, not a report", i.item_type));
                }
                Some(_) => {}
            }
            if !session
                .can(&p, Permission::Read)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!(
                    "the permissions granted to user '{}' are insufficient to view '{p}'",
                    session.principal.name
                ));
            }
            let key = (p.key().to_owned(), session.generation);
            if let Some(c) = self.state.reports().compiled.get(&key) {
                return Ok(Err(c));
            }
            let bytes = session
                .catalog
                .get_content(&p)
                .await
                .map_err(|e| message(ReportError::catalog(e)))?;
            Ok(Ok(bytes))
        })?;
        let bytes = match bytes {
            Err(cached) => return Ok(cached),
            Ok(b) => b,
        };
        let size = bytes.len().saturating_mul(8) + 1024;
        let c = Arc::new(super::prepare(p.as_str(), &bytes).map_err(message)?);
        self.state.reports().compiled.insert(
            (p.key().to_owned(), session.generation),
            c.clone(),
            size,
        );
        Ok(c)
    }

    fn fetch(
        &self,
        report: &Compiled,
        requests: &[QueryRequest],
    ) -> Result<HashMap<String, Arc<DataTable>>, String> {
        let p = ItemPath::parse(&report.path)
            .map_err(|e| format!("'{}' is not a valid catalog path: {e}", report.path))?;
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        for q in requests {
            let key = kept_key(&report.path, q);
            match self.execution.subreport_rows(&key) {
                Some(t) => {
                    out.insert(q.dataset.clone(), t);
                }
                None => missing.push((key, q)),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let creds = self.credentials.for_report(report);
        let (state, session, creds) = (&self.state, &self.session, &creds);
        let fetched = self.block_on(async {
            let mut got = Vec::new();
            for (key, q) in missing {
                let t = super::fetch_with(state, session, &p, q, creds)
                    .await
                    .map_err(message)?;
                got.push((key, q.dataset.clone(), t));
            }
            Ok(got)
        })?;
        for (key, dataset, t) in fetched {
            self.execution
                .keep_subreport_rows(key, t.clone(), KEPT_BYTES);
            out.insert(dataset, t);
        }
        Ok(out)
    }
}

/// What identifies a subreport query's rows within an execution: the report, the data set,
/// its evaluated command and connect string, and its parameter values.
fn kept_key(path: &str, q: &QueryRequest) -> String {
    let mut k = format!(
        "{}\u{0}{}\u{0}{}\u{0}{}",
        path.to_lowercase(),
        q.dataset,
        q.command_text,
        q.connect_string.as_deref().unwrap_or("")
    );
    for (name, value) in &q.params {
        k.push('\u{0}');
        k.push_str(name);
        k.push('=');
        k.push_str(&format!("{value:?}"));
    }
    k
}
