//! Errors of compiling and evaluating rules.

use nesy_lang::Location;
use std::time::Duration;

/// What can go wrong when rules are compiled or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum Error {
    /// A rule or fact the evaluator cannot take (the checker reports most of
    /// these earlier, with a caret).
    #[error("{}{message}", prefix(.location))]
    #[diagnostic(code(nesy::compile))]
    Compile {
        /// Where the offending text is, when there is one.
        location: Option<Location>,
        /// What is wrong.
        message: String,
    },
    /// A relation used with two different numbers of columns.
    #[error("relation `{relation}` has {expected} columns, but {found} were given{}", at(.location))]
    #[diagnostic(code(nesy::arity))]
    Arity {
        /// The relation.
        relation: String,
        /// Its arity so far.
        expected: usize,
        /// The arity of the new use.
        found: usize,
        /// Where, if known.
        location: Option<Location>,
    },
    /// A relation name that is not in the program.
    #[error("unknown relation `{0}`")]
    #[diagnostic(code(nesy::unknown_relation))]
    UnknownRelation(String),
    /// Overflow, division by zero, or arithmetic on a non-number.
    #[error("{location}: {message}")]
    #[diagnostic(
        code(nesy::arithmetic),
        help(
            "the location is the rule whose arithmetic failed: guard it (for example `Y != 0` before `X / Y`) or keep its values in range"
        )
    )]
    Arithmetic {
        /// The rule that computed it.
        location: Location,
        /// What happened, with the values.
        message: String,
    },
    /// A model call failed (wrong input types, a missing method).
    #[error("{location}: {call} failed: {message}")]
    #[diagnostic(code(nesy::model_call))]
    Model {
        /// The calling rule.
        location: Location,
        /// `model.method`.
        call: String,
        /// What the model said.
        message: String,
    },
    /// The evaluation ran longer than allowed.
    #[error("evaluation stopped: time limit of {} reached", humanize(.limit))]
    #[diagnostic(
        code(nesy::limit::timeout),
        help(
            "raise the limit (`--timeout`), or look for rules that derive without end, such as `n(X + 1) :- n(X).`"
        )
    )]
    Timeout {
        /// The limit.
        limit: Duration,
    },
    /// The work was cancelled from outside ([`crate::Cancel`]), such as
    /// by a server whose request ran out of time.
    #[error("evaluation stopped: cancelled")]
    #[diagnostic(code(nesy::limit::cancelled))]
    Cancelled,
    /// The evaluation derived more tuples than allowed.
    #[error(
        "evaluation stopped: tuple limit of {limit} reached (relation `{relation}` was growing)"
    )]
    #[diagnostic(
        code(nesy::limit::tuples),
        help(
            "raise the limit (`--max-tuples`), or look for rules that derive without end, such as `n(X + 1) :- n(X).`"
        )
    )]
    TooManyTuples {
        /// The limit.
        limit: usize,
        /// The relation that crossed it.
        relation: String,
    },
    /// Too many events under `top-k` or `why`.
    #[error("evaluation stopped: event limit of {limit} reached")]
    #[diagnostic(
        code(nesy::limit::events),
        help(
            "under top-k and why every ground instance of a weighted rule (and every model answer) is an event with its own identity; use max-prob or add-mult, which keep none, or raise the limit (`--max-events`)"
        )
    )]
    TooManyEvents {
        /// The limit.
        limit: usize,
    },
    /// `add-mult` tags on a recursion kept changing.
    #[error(
        "evaluation stopped: add-mult tags of `{relation}` still changed after {rounds} rounds"
    )]
    #[diagnostic(
        code(nesy::limit::rounds),
        help(
            "add-mult adds every derivation, cycles included, so on a recursion its sums can settle very slowly; use max-prob or top-k there"
        )
    )]
    Unsettled {
        /// Rounds run.
        rounds: usize,
        /// A relation of the recursion.
        relation: String,
    },
}

fn at(location: &Option<Location>) -> String {
    location
        .as_ref()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default()
}

fn prefix(location: &Option<Location>) -> String {
    location
        .as_ref()
        .map(|l| format!("{l}: "))
        .unwrap_or_default()
}

fn humanize(d: &Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 1.0 {
        format!("{secs:.1} s")
    } else {
        format!("{} ms", d.as_millis())
    }
}
