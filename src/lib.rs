#![doc = include_str!("../README.md")]
//!
//! ## The API
//!
//! This crate is the one API over nesy's parts. Today it holds the rule
//! language ([`lang`]): parse, check and format rule files. The engine,
//! knowledge graph and learned models join it as they arrive.
//!
//! ```
//! let checked = nesy::check_source(
//!     "family.nesy",
//!     "parent(alice, bob).\nancestor(X, Y) :- parent(X, Y).\n?- ancestor(alice, W).",
//! );
//! assert!(!checked.has_errors());
//!
//! let broken = nesy::check_source("broken.nesy", "grandparent(X, Z) :- parent(X, Y).");
//! let d = &broken.diagnostics[0];
//! assert_eq!(d.code, "unsafe-variable");
//! assert_eq!(broken.source.locate(d).column, 16);
//! ```

mod error;
pub mod import;
mod program;

pub use error::Error;
pub use nesy_engine as engine;
pub use nesy_engine::{
    Answers, Evaluation, Limits, Relation, Stats, Strategy, TestOutcome, TestResult, Value,
};
pub use nesy_lang as lang;
pub use nesy_lang::{
    Checked, Diagnostic, Severity, SourceFile, check_file, check_source, format_source,
};
pub use program::Program;
