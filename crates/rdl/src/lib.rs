//! RDL: the report definition language, as values.
//!
//! Owns: the report definition model (one 2016-shaped model; 2005 Table/Matrix/List and
//! 2008/2010 Body/Page upgraded into it), the namespace-agnostic parser with located errors,
//! the upload check (linear in its input, bounded), the [`Value`] type, and the VB.NET
//! expression language (lexer, parser, evaluator, runtime functions, `<Code>` interpreter).
//!
//! Must not: do I/O of any kind (files, sockets, clocks, databases), know HTTP, SQL or fonts.
//! Everything that varies per run (the execution time, the user, the culture, data) is an
//! input.

pub mod check;
pub mod compile;
pub mod error;
pub mod expr;
pub mod model;
pub mod parse;
pub mod value;

pub use check::{CheckError, CheckSummary, Limits, check_upload, check_upload_with};
pub use compile::{CompileError, Compiled, compile};
pub use error::{Location, ParseError, Warning};
pub use model::{Expression, Report, Size};
pub use parse::parse_report;
pub use value::Value;
