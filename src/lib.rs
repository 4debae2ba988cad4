#![doc = include_str!("../README.md")]
//!
//! ## The API
//!
//! This crate is the one API over nesy's parts: [`Program`] loads rules (from
//! text, or from files with their `@import`s), takes facts, evaluates, and
//! answers goals; [`Evaluation`] holds the derived relations with typed
//! [`Value`]s. The rule language alone is [`lang`], the evaluator alone
//! [`engine`]. The knowledge graph and learned models join as they arrive.
//!
//! ```
//! use nesy::{Limits, Program, Value};
//!
//! let program = Program::from_source("tc.nesy", "
//!     edge(1, 2). edge(2, 3). edge(3, 1).
//!     reach(X, Y) :- edge(X, Y).
//!     reach(X, Z) :- reach(X, Y), edge(Y, Z).
//!     @test \"every node reaches itself on the cycle\" { reach(1, 1). }
//! ")?;
//! let result = program.evaluate(&Limits::default())?;
//! assert_eq!(result.relation("reach").unwrap().len(), 9);
//! assert!(result.contains("reach", &[Value::Int(3), Value::Int(2)]));
//! assert!(program.run_tests(&Limits::default()).iter().all(|t| t.outcome == nesy::TestOutcome::Passed));
//!
//! let broken = nesy::check_source("broken.nesy", "grandparent(X, Z) :- parent(X, Y).");
//! let d = &broken.diagnostics[0];
//! assert_eq!(d.code, "unsafe-variable");
//! assert_eq!(broken.source.locate(d).column, 16);
//! # Ok::<(), nesy::Error>(())
//! ```
mod confine;
mod decide;
mod error;
mod import;
mod models;
mod program;
mod sparql_check;

pub use confine::ReadPolicy;
pub use decide::{Decision, DecisionResult, Engine, EngineBuilder, EngineInfo, Input, Row};
pub use error::Error;
pub use nesy_engine as engine;
pub use nesy_engine::{
    Answers, Evaluation, ExplainOptions, Explanation, Limits, Relation, Stats, Strategy,
    TestOutcome, TestResult, Value,
};
pub use nesy_lang as lang;
pub use nesy_lang::{Checked, Diagnostic, Severity, SourceFile, format_source};

/// Parses and checks rule text (as [`nesy_lang::check_source`]), and the
/// SPARQL of its `sparql("...")` imports as `nesy run` would bound it.
pub fn check_source(name: &str, text: &str) -> Checked {
    let mut checked = nesy_lang::check_source(name, text);
    sparql_check::add_sparql_diagnostics(&mut checked);
    checked
}

/// Reads and checks a rule file (as [`nesy_lang::check_file`]), and the
/// SPARQL of its `sparql("...")` imports.
pub fn check_file(path: &std::path::Path) -> std::io::Result<Checked> {
    let mut checked = nesy_lang::check_file(path)?;
    sparql_check::add_sparql_diagnostics(&mut checked);
    Ok(checked)
}
pub use program::Program;
