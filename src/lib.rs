#![doc = include_str!("../README.md")]
//!
//! ## The API
//!
//! This crate is the one API over nesy's parts. For decisions in a
//! service: [`Engine`] (built once by [`EngineBuilder`], asked with an
//! [`Input`] and [`DecideOptions`] for a [`Decision`]), [`Limits`] and
//! [`Cancel`], [`Semiring`], [`Explanation`], [`Value`], [`Error`]. For
//! batch work: [`Program`] loads rules (from text, or from files with their
//! `@import`s and `@model`s), takes facts, evaluates, answers goals and runs
//! tests; [`Evaluation`] holds the derived relations ([`Relation`]) and
//! [`Answers`]. [`Layer`] makes a program a differentiable function of
//! the probabilities of input facts (a neural network's layer). The rule language's front end is [`lang`]; with the default
//! features, the knowledge graph is [`kg`] and the learned models
//! [`learn`]. A service that needs neither can leave them out:
//! `nesy = { ..., default-features = false }`.
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
//! assert_eq!(broken.source.locate(d).to_string(), "broken.nesy:1:16");
//! # Ok::<(), nesy::Error>(())
//! ```
mod confine;
mod engine;
mod error;
mod import;
mod layer;
#[cfg(feature = "learn")]
mod model_check;
#[cfg(feature = "learn")]
mod model_files;
#[cfg(feature = "learn")]
mod net_calls;
mod program;
#[cfg(feature = "learn")]
mod rule_calls;
#[cfg(feature = "kg")]
mod sparql_check;
mod train;
#[cfg(feature = "learn")]
mod train_nets;

pub use confine::ReadPolicy;
pub use engine::{
    DecideOptions, Decision, DecisionResult, Engine, EngineBuilder, EngineInfo, Input, Row, Update,
};
#[cfg(feature = "kg")]
pub use error::GraphError;
pub use error::{Error, RuleErrors};
pub use nesy_engine::Error as EvalError;
pub use nesy_engine::{
    Answers, Cancel, DEFAULT_K, Evaluation, ExplainOptions, Explanation, Failure, Limits,
    MAX_PROOF_DEPTH, MAX_WHY_NOT_DEPTH, Relation, RuleStats, SemiringKind as Semiring, SortedRows,
    Stats, Strategy, StratumStats, TaggedEvaluation, TaggedRelation, TaggedRow, TestOutcome,
    TestResult, Value,
};
pub use nesy_lang::{Checked, Diagnostic, Location, Severity, SourceFile, format_source};

/// The parts of an [`Explanation`]: what kind of step a node is, its
/// tag, the rule that made it, and for facts that do not hold, the
/// attempts that failed.
pub mod explanation {
    pub use nesy_engine::{AggregateGroup, Attempt, ModelCallNode, NodeKind, RuleRef, Tag};
}

/// The language front end, for tools that read rule files themselves
/// (editors, linters, formatters): the syntax tree ([`lang::ast`]), the
/// parser ([`lang::parse`]), the checker and its diagnostics, the
/// formatter. Documented in the `nesy-lang` crate.
pub use nesy_lang as lang;

/// The knowledge graph (feature `kg`, on by default): an oxigraph store,
/// RDF loading, bounded SPARQL, and a petgraph view. Documented in the
/// `nesy-kg` crate.
#[cfg(feature = "kg")]
pub use nesy_kg as kg;

/// Learned models (feature `learn`, on by default): decision trees (CART,
/// forests, soft trees), link prediction (mined rules, embeddings).
/// Documented in the `nesy-learn` crate.
#[cfg(feature = "learn")]
pub use nesy_learn as learn;

/// The differential-dataflow backend (feature `dataflow`, on by default):
/// several worker threads or processes ([`Program::evaluate_dataflow`]).
/// Documented in the `nesy-dataflow` crate.
#[cfg(feature = "dataflow")]
pub use nesy_dataflow as dataflow;

/// Parses and checks rule text (as [`nesy_lang::check_source`]), and the
/// SPARQL of its `sparql("...")` imports as `nesy run` would bound it.
pub fn check_source(name: &str, text: &str) -> Checked {
    #[allow(unused_mut, reason = "without the kg feature nothing is added")]
    let mut checked = nesy_lang::check_source(name, text);
    #[cfg(feature = "kg")]
    sparql_check::add_sparql_diagnostics(&mut checked);
    checked
}

/// Reads and checks a rule file (as [`nesy_lang::check_file`]), the SPARQL
/// of its `sparql("...")` imports and its calls to `@model` trees.
pub fn check_file(path: &std::path::Path) -> std::io::Result<Checked> {
    let text = std::fs::read_to_string(path)?;
    Ok(check_text(path, &text))
}

/// Checks `text` as the rule file at `path` would be checked by
/// [`check_file`] (an editor's unsaved text: relative `@import` and
/// `@model` paths resolve against the file's directory).
pub fn check_text(path: &std::path::Path, text: &str) -> Checked {
    let base_dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                p
            }
        })
        .map(std::path::Path::to_path_buf);
    #[allow(unused_mut, reason = "without kg and learn nothing is added")]
    let mut checked = nesy_lang::check_with(
        nesy_lang::SourceFile::new(path.display().to_string(), text),
        &nesy_lang::CheckOptions { base_dir },
    );
    #[cfg(feature = "kg")]
    sparql_check::add_sparql_diagnostics(&mut checked);
    #[cfg(feature = "learn")]
    {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        model_check::add_model_diagnostics(&mut checked, dir, &ReadPolicy::anywhere());
    }
    checked
}
pub use layer::{Layer, LayerOutput};
pub use program::Program;
pub use train::{EpochReport, Example, ExampleScores, Interpretation, TrainOptions, Trained};

/// The Rust examples of `docs/service.md` and `docs/models.md` are
/// compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/service.md")]
pub struct ServiceGuide;

#[cfg(doctest)]
#[doc = include_str!("../docs/models.md")]
pub struct ModelsGuide;
