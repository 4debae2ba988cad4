//! nesy programs on timely/differential dataflow: the same answers as the
//! native engine, from several worker threads or several processes.
//!
//! ```
//! use nesy_dataflow::{Options, evaluate};
//! use nesy_engine::{Limits, Program, Value};
//!
//! let checked = nesy_lang::check_source("tc.nesy", "
//!     edge(1, 2). edge(2, 3). edge(3, 1).
//!     path(X, Y) :- edge(X, Y).
//!     path(X, Z) :- path(X, Y), edge(Y, Z).
//!     hops(N) :- N = count { X, Y : path(X, Y) }.
//! ");
//! let mut program = Program::new();
//! program.add_source(&checked.source, &checked.program)?;
//! let options = Options { workers: 2, ..Options::default() };
//! let evaluation = evaluate(&program, &options, &Limits::default())?.expect("one process collects");
//! assert_eq!(evaluation.relation("path").unwrap().len(), 9);
//! assert!(evaluation.contains("hops", &[Value::Int(9)]));
//! # Ok::<(), nesy_dataflow::Error>(())
//! ```
//!
//! How: each stratum of the program becomes dataflow operators: a
//! relation is a collection of rows, a rule's body a chain of joins
//! (antijoins for negation, `reduce` for aggregates, maps and filters for
//! arithmetic and comparisons), a recursive stratum an iterative scope
//! whose variables are its relations. Rows are values, not interned ids,
//! so that processes that read different inputs agree on them. Facts are
//! fed once in the whole cluster (worker `hash(row) % workers` feeds a
//! row), and every relation is sent to worker 0, whose process builds the
//! [`nesy_engine::Evaluation`] that queries and output read.
//!
//! What it does not run: model calls (an error names the rule), and tags
//! other than `bool` (callers refuse them before calling).

mod cluster;
mod compile;
mod datum;
mod error;
mod live;
mod plan;
mod run;

pub use datum::{Datum, Row};
pub use error::Error;
pub use live::{Changes, Live};
pub use run::{Cluster, Options, evaluate};
