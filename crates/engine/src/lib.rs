//! The report engine: parameters, data binding, grouping, aggregates, the evaluated instance
//! tree renderers walk, and soft pagination.
//!
//! Owns: [`prepare`] (a parsed report with its expressions compiled once),
//! [`Compiled::resolve_parameters`], [`Compiled::queries`] (what the web app must fetch),
//! [`bind`] (data + parameters → [`Instance`]) and [`page::paginate`]. Must not: do I/O —
//! data arrives as [`DataTable`]s (the web app runs the queries with `dataprov`), text is
//! measured through [`page::TextMeasurer`], the clock and the user are [`Globals`].
//!
//! The call sequence of one execution:
//!
//! ```text
//! let compiled = Arc::new(engine::parse_and_prepare("/Folder/Report", &rdl_bytes)?);
//! let params = loop {            // cascading parameters may need data sets first
//!     match compiled.resolve_parameters(&input, &tables) {
//!         Ok(p) => break p,
//!         Err(ParamError::NeedsData { requests }) => { /* run them, insert into tables */ }
//!         Err(e) => return Err(e),   // e.code(): rsReportParameterValueNotSet, ...
//!     }
//! };
//! for q in compiled.queries(&params)? { /* run q with dataprov, tables.insert(q.dataset, t) */ }
//! let instance = engine::bind(&compiled, &params, &tables, &globals, &BindOptions::default())?;
//! render::csv::render(&instance, &options, &mut out)?;   // or xml / json / html
//! ```

pub mod bind;
pub mod compile;
pub mod hardpage;
pub mod instance;
pub mod page;
pub mod params;
pub mod style;
pub mod subreport;
pub mod table;
pub mod usersort;

pub use bind::{BindOptions, Globals, bind};
pub use compile::{Compiled, QueryField, QueryRequest, parse_and_prepare, prepare};
pub use instance::Instance;
pub use params::{ParamError, ParamValue, ResolvedParams};
pub use table::{ColumnKind, DataTable, TableBuilder};

use rdl::Location;

/// Locks `m`; a poisoned lock only means another evaluation panicked: the data is still usable.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why a report could not be prepared or bound.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The definition does not parse.
    #[error("the report definition is not valid: {0}")]
    Definition(rdl::ParseError),
    /// An expression does not parse.
    #[error(
        "{at}: the expression {src} is not valid: {message}. Fix the expression in the report definition"
    )]
    Expression {
        /// Where it is.
        at: Location,
        /// Its source (shortened).
        src: String,
        /// What is wrong.
        message: String,
    },
    /// An expression the report cannot run without failed (a filter, a group, a query).
    #[error("{what} could not be evaluated: {message}")]
    Evaluation {
        /// What was evaluated.
        what: String,
        /// The error.
        message: String,
    },
    /// Parameters could not be resolved.
    #[error("{0}")]
    Parameter(ParamError),
    /// A data set name that does not exist (or has no data).
    #[error(
        "the data set '{name}' used by {used_by} does not exist in the report or was not fetched"
    )]
    UnknownDataSet {
        /// The name.
        name: String,
        /// Who uses it.
        used_by: String,
    },
    /// A data source name that does not exist.
    #[error("the data source '{name}' of the data set '{dataset}' does not exist in the report")]
    UnknownDataSource {
        /// The name.
        name: String,
        /// The data set.
        dataset: String,
    },
    /// A limit was hit.
    #[error("the report exceeds the limit of {max} {limit}: {fix}")]
    Limit {
        /// Which limit (`rows`, `cells`).
        limit: &'static str,
        /// Its value.
        max: usize,
        /// What to do.
        fix: &'static str,
    },
    /// The bind was cancelled (client gone, time limit).
    #[error("the report processing was cancelled")]
    Cancelled,
}

impl EngineError {
    /// The SSRS error code for pages and logs.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Definition(_) => "rsInvalidReportDefinition",
            EngineError::Expression { .. } => "rsCompilerErrorInExpression",
            EngineError::Evaluation { .. } => "rsProcessingError",
            EngineError::Parameter(p) => p.code(),
            EngineError::UnknownDataSet { .. } => "rsInvalidDataSetName",
            EngineError::UnknownDataSource { .. } => "rsInvalidDataSourceReference",
            EngineError::Limit { .. } => "rsProcessingLimitExceeded",
            EngineError::Cancelled => "rsProcessingAborted",
        }
    }
}
