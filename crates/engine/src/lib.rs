//! The report engine: parameters, data binding, grouping, aggregates and the evaluated
//! instance tree renderers walk, and soft pagination. Pure: no I/O (data arrives as tables,
//! output leaves as an [`instance::Instance`]; text is measured through
//! [`page::TextMeasurer`]).

pub mod instance;
pub mod page;

pub use instance::Instance;
