//! Subreports: running a `Subreport` item's report inside its parent's bind.
//!
//! Owns: [`SubreportSource`] (what the caller supplies: the prepared definition of a catalog
//! path and the rows of its queries), [`Subreports`] (that source plus the chain of reports
//! being bound, for the recursion bound), and the run of one subreport instance (parameters
//! passed from the parent — evaluated by the caller in the parent's scope — resolved,
//! cascading data fetched, queries fetched, bound, own page header/footer dropped). Must not:
//! do I/O itself (the source does it) or evaluate parent expressions (bind does).

use std::collections::HashMap;
use std::sync::Arc;

use crate::bind::{BindOptions, Globals};
use crate::compile::{Compiled, QueryRequest};
use crate::instance::Instance;
use crate::params::ParamError;
use crate::{DataTable, EngineError};

/// How deep subreports may nest (a report that includes itself stops earlier, at once).
pub const MAX_SUBREPORT_DEPTH: usize = 20;

/// Rounds of cascading-parameter data a subreport may ask for before it is refused.
const MAX_PARAMETER_ROUNDS: usize = 32;

/// What the caller supplies so subreports can run: the engine does no I/O.
pub trait SubreportSource: Send + Sync {
    /// The prepared definition of the report at the absolute catalog path `path`
    /// (e.g. `/Sales/Detail`), or a message saying why it cannot be had (not found, no
    /// permission, does not parse).
    fn definition(&self, path: &str) -> Result<Arc<Compiled>, String>;

    /// Runs the queries `requests` of the subreport `report` (their parameters are already
    /// bound) and answers their rows by data set name, or a message saying what failed.
    fn fetch(
        &self,
        report: &Compiled,
        requests: &[QueryRequest],
    ) -> Result<HashMap<String, Arc<DataTable>>, String>;
}

/// A [`SubreportSource`] and the reports being bound above this one (set by the engine).
#[derive(Clone)]
pub struct Subreports {
    source: Arc<dyn SubreportSource>,
    /// Catalog paths of the enclosing reports, outermost first.
    chain: Arc<[String]>,
}

impl std::fmt::Debug for Subreports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subreports")
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

impl Subreports {
    /// Subreports resolved through `source`.
    pub fn new(source: Arc<dyn SubreportSource>) -> Subreports {
        Subreports {
            source,
            chain: Arc::from(Vec::new()),
        }
    }
}

/// The absolute catalog path of `name` as written in a report at `parent` (relative names
/// are relative to the parent's folder).
pub(crate) fn resolve_path(parent: &str, name: &str) -> String {
    let name = name.trim();
    if name.starts_with('/') {
        return name.to_owned();
    }
    let folder = match parent.rfind('/') {
        Some(i) => &parent[..i],
        None => "",
    };
    format!("{folder}/{name}")
}

/// What a subreport run produced: its instance, and whether every data set was empty.
pub(crate) struct SubreportRun {
    pub instance: Instance,
    pub no_rows: bool,
}

/// Runs the subreport `path` of the report `parent` with the parameter values `input`
/// (already evaluated in the parent's scope). `Err(EngineError)` only for what must stop the
/// whole render (cancellation); every other failure is `Ok(Err(message))`, shown in place.
pub(crate) fn run(
    parent: &Compiled,
    path: &str,
    input: HashMap<String, Vec<Option<String>>>,
    globals: &Globals,
    opts: &BindOptions,
    max_cells: usize,
) -> Result<Result<SubreportRun, String>, EngineError> {
    let Some(subs) = &opts.subreports else {
        return Ok(Err(format!(
            "the subreport {path} cannot be shown: this server was not given a way to load \
             subreports here"
        )));
    };
    let mut chain: Vec<String> = subs.chain.to_vec();
    chain.push(parent.path.clone());
    if chain.iter().any(|p| p.eq_ignore_ascii_case(path)) {
        return Ok(Err(format!(
            "the subreport {path} includes itself ({} → {path}); point the Subreport's \
             ReportName at another report",
            chain.join(" → ")
        )));
    }
    if chain.len() > MAX_SUBREPORT_DEPTH {
        return Ok(Err(format!(
            "the subreport {path} is nested more than {MAX_SUBREPORT_DEPTH} levels deep; \
             flatten the report"
        )));
    }
    let compiled = match subs.source.definition(path) {
        Ok(c) => c,
        Err(e) => return Ok(Err(format!("the subreport {path} cannot be loaded: {e}"))),
    };
    let mut tables: HashMap<String, Arc<DataTable>> = HashMap::new();
    let mut rounds = 0;
    let params = loop {
        match compiled.resolve_parameters(&input, &tables) {
            Ok(p) => break p,
            Err(ParamError::NeedsData { requests }) if rounds < MAX_PARAMETER_ROUNDS => {
                rounds += 1;
                match subs.source.fetch(&compiled, &requests) {
                    Ok(t) => {
                        let before = tables.len();
                        tables.extend(t);
                        if tables.len() == before {
                            return Ok(Err(format!(
                                "the subreport {path}: the data its parameters need was not \
                                 returned"
                            )));
                        }
                    }
                    Err(e) => return Ok(Err(format!("the subreport {path}: {e}"))),
                }
            }
            Err(e) => return Ok(Err(format!("the subreport {path}: {e}"))),
        }
    };
    let requests = match compiled.queries(&params) {
        Ok(r) => r,
        Err(e) => return Ok(Err(format!("the subreport {path}: {e}"))),
    };
    let data = match subs.source.fetch(&compiled, &requests) {
        Ok(d) => d,
        Err(e) => return Ok(Err(format!("the subreport {path}: {e}"))),
    };
    let no_rows = !compiled.report.data_sets.is_empty()
        && compiled
            .report
            .data_sets
            .iter()
            .all(|ds| data.get(&ds.name).is_none_or(|t| t.is_empty()));
    let mut sub_opts = opts.clone();
    sub_opts.max_cells = max_cells;
    sub_opts.subreports = Some(Subreports {
        source: subs.source.clone(),
        chain: chain.into(),
    });
    match crate::bind::bind(&compiled, &params, &data, globals, &sub_opts) {
        Ok(mut instance) => {
            // subreports never render their own page header/footer (§2.2-3)
            for s in &mut instance.sections {
                s.header = None;
                s.footer = None;
            }
            Ok(Ok(SubreportRun { instance, no_rows }))
        }
        Err(EngineError::Cancelled) => Err(EngineError::Cancelled),
        Err(e @ EngineError::Limit { .. }) => Err(e),
        Err(e) => Ok(Err(format!("the subreport {path}: {e}"))),
    }
}

/// Items (cells) in an instance, to charge a subreport's cells to its parent's limit.
pub(crate) fn count_items(i: &Instance) -> usize {
    fn items(list: &[crate::instance::Item]) -> usize {
        list.iter().map(item).sum()
    }
    fn item(i: &crate::instance::Item) -> usize {
        use crate::instance::ItemKind;
        1 + match &i.kind {
            ItemKind::Rectangle(ch) => items(ch),
            ItemKind::Subreport(Ok(s)) => count_items(s),
            ItemKind::Tablix(t) => t
                .rows
                .iter()
                .flat_map(|r| r.cells.iter())
                .filter_map(|c| c.item.as_ref())
                .map(item)
                .sum(),
            _ => 0,
        }
    }
    i.sections.iter().map(|s| items(&s.body)).sum()
}
