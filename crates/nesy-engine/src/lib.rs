//! The nesy evaluator: checked rules in, relations out.
//!
//! ```
//! use nesy_engine::{Limits, Program, Value};
//! use nesy_lang::check_source;
//!
//! let checked = check_source("family.nesy", "
//!     parent(alice, bob). parent(bob, carol).
//!     ancestor(X, Y) :- parent(X, Y).
//!     ancestor(X, Z) :- parent(X, Y), ancestor(Y, Z).
//! ");
//! assert!(!checked.has_errors());
//! let mut program = Program::new();
//! program.add_source(&checked.source, &checked.program)?;
//! program.add_fact("parent", vec![Value::symbol("carol"), Value::symbol("dave")])?;
//! let result = program.evaluate(&Limits::default())?;
//! let ancestor = result.relation("ancestor").unwrap();
//! assert_eq!(ancestor.len(), 6);
//! assert!(result.contains("ancestor", &[Value::symbol("alice"), Value::symbol("dave")]));
//! # Ok::<(), nesy_engine::Error>(())
//! ```
//!
//! How it works: values are interned ([`Interner`]); relations are sorted
//! runs of fixed-width `u32` rows with one sorted copy per column order a
//! join needs; rules are planned greedily (bound arguments first, smaller
//! relations first) and evaluated semi-naively, stratum by stratum, the
//! rules of a round in parallel. Queries with constants are evaluated
//! through a magic-set rewriting when that reads less (see
//! [`Program::query`]). The engine knows no files, RDF or HTTP: callers
//! add facts.

mod error;
mod eval;
mod explain;
mod foreign;
mod gradient;
pub mod ir;
mod limits;
mod magic;
mod plan;
mod prepared;
mod program;
mod provenance;
mod result;
mod semiring;
mod split;
mod storage;
mod tagging;
mod value;

pub use error::Error;
pub use eval::{RuleStats, Stats, StratumStats};
pub use explain::{
    AggregateGroup, Attempt, ExplainOptions, Explanation, MAX_PROOF_DEPTH, MAX_WHY_NOT_DEPTH,
    ModelCallNode, NodeKind, RuleRef, Tag,
};
pub use foreign::{ForeignPredicate, ModelExplanation, ModelOutput, Signature};
pub use gradient::{EmUnits, ExpectedCounts, Gradient, ModelAnswer};
pub use limits::{Cancel, Clock, Limits};
pub use prepared::{Answered, Prepared};
pub use program::{Compiled, FactRelation, GoalAtom, Program, Query, TestCase, ValueTable};
pub use provenance::{TaggedEvaluation, TaggedRelation, TaggedRow};
pub use result::{
    Answers, Evaluation, Failure, Relation, SortedRows, Strategy, TestOutcome, TestResult,
};
pub use semiring::{DEFAULT_K, SemiringKind};
pub use tagging::ParamKey;
pub use value::{Interner, Value};
