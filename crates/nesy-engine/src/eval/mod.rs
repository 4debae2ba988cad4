//! Semi-naive, stratified evaluation.
//!
//! Relations are split into strata (strongly connected components of the
//! dependency graph, in dependency order). Within a stratum each rule runs
//! once on everything known, then, round after round, once per body atom of
//! the stratum with that atom reading only the previous round's new rows
//! (atoms before it read the older rows, atoms after it all rows), until a
//! round adds nothing. The rules of a round run in parallel on rayon's pool,
//! each scan split into chunks; workers intern the values they compute in a
//! private table that is merged when the round ends.
//!
//! The evaluator is generic over a [`Semiring`]. With [`Plain`] it keeps no
//! tags (every tag operation is a constant the compiler removes); with the
//! others every row read multiplies the rule's tag, every row derived
//! carries one, and a tuple whose tag changed is read again by the next
//! round's delta plans, as a new tuple would be (`tagging.rs`).
//!
//! The parts: `strata.rs` plans the strata and runs them; `round.rs` runs
//! one round's plans in parallel tasks and merges what they derived;
//! `worker.rs` runs one plan (joins, negations, model calls, emitting
//! rows), `aggregate.rs` its aggregates and `arith.rs` its arithmetic and
//! comparisons; `stats.rs` says where the time went.

// Frames are indexed by variable numbers the compiler gave out, and rows by
// the planner's column positions; both are invariants of compiled plans.
#![allow(
    clippy::indexing_slicing,
    reason = "plan-checked frame and row offsets"
)]

mod aggregate;
mod arith;
mod request;
mod round;
mod stats;
mod strata;
mod worker;

pub use arith::{arith as binary_op, compare_values, negate};
pub use stats::{RuleStats, Stats, StratumStats};

use crate::Error;
use crate::ir::{Expr, RelId, RelationInfo, Rule};
use crate::limits::{Clock, Limits};
use crate::plan::{Op, plan};
use crate::semiring::{Plain, Semiring};
use crate::storage::{Store, Version};
use crate::tagging::Tagging;
use crate::value::{Interner, Value};
use nesy_lang::Location;
pub(crate) use request::plan_request;
use std::sync::atomic::AtomicBool;
use std::time::Instant;
pub(crate) use strata::PlannedStratum;
pub(crate) use strata::strata;
use strata::{run_planned_strata, run_strata};
use worker::Worker;

/// The relations after evaluation.
pub(crate) struct Outcome {
    pub(crate) stores: Vec<Store>,
    pub(crate) interner: Interner,
    pub(crate) stats: Stats,
}

/// One plan of a rule, owned, so that a prepared program keeps its
/// requests' plans from one request to the next.
pub(crate) struct RulePlan {
    pub(super) rule: usize,
    pub(super) head: RelId,
    pub(super) head_args: Vec<Expr>,
    pub(super) ops: Vec<Op>,
    pub(super) location: Location,
    /// Variables of its frame.
    pub(super) vars: usize,
    /// For delta plans: the relation whose new rows drive it.
    pub(super) delta: Option<RelId>,
}

impl RulePlan {
    /// The plan `ops` of rule number `rule`.
    pub(super) fn new(rule: usize, of: &Rule, ops: Vec<Op>, delta: Option<RelId>) -> Self {
        let mut plan = RulePlan {
            rule,
            head: of.head,
            head_args: of.head_args.clone(),
            ops,
            location: of.location.clone(),
            vars: 0,
            delta,
        };
        plan.vars = round::max_var(&plan) + 1;
        plan
    }
}

/// Evaluates `rules` over `facts` (flat rows per relation).
pub(crate) fn evaluate(
    relations: &[RelationInfo],
    rules: &[Rule],
    facts: &[Vec<u32>],
    interner: Interner,
    limits: &Limits,
) -> Result<Outcome, Error> {
    evaluate_seeded(relations, rules, facts, Vec::new(), interner, limits)
}

/// [`evaluate`], with some relations given as finished stores (`seeds[r]`)
/// instead of rows to sort: a request reuses the base evaluation's stores.
pub(crate) fn evaluate_seeded(
    relations: &[RelationInfo],
    rules: &[Rule],
    facts: &[Vec<u32>],
    mut seeds: Vec<Option<Store>>,
    interner: Interner,
    limits: &Limits,
) -> Result<Outcome, Error> {
    let mut stores: Vec<Store> = relations
        .iter()
        .enumerate()
        .map(|(i, r)| {
            seeds
                .get_mut(i)
                .and_then(Option::take)
                .unwrap_or_else(|| Store::new(r.stored_arity()))
        })
        .collect();
    for (store, rows) in stores.iter_mut().zip(facts) {
        store.to_add.extend_from_slice(rows);
    }
    run_strata(&Plain, relations, rules, stores, interner, None, limits)
}

/// Runs strata planned by [`plan_request`] over `stores`, which must hold the
/// indexes they were planned with. Only the strata given run; the
/// statistics have the total time only (a request is not profiled: naming
/// and timing rules would cost as much as a small request).
pub(crate) fn run_planned(
    relations: &[RelationInfo],
    planned: &[PlannedStratum],
    stores: Vec<Store>,
    interner: Interner,
    limits: &Limits,
) -> Result<Outcome, Error> {
    run_planned_strata(
        &Plain,
        relations,
        planned,
        stores,
        interner,
        None,
        limits,
        Stats::default(),
        Instant::now(),
        false,
    )
}

/// Evaluates `rules` under semiring `sr`, semi-naively over tags: the base
/// facts are in `tagging` already (merged into `stores`' rows to add).
pub(crate) fn evaluate_tagged<S: Semiring>(
    sr: &S,
    relations: &[RelationInfo],
    rules: &[Rule],
    stores: Vec<Store>,
    interner: Interner,
    tagging: &mut Tagging<S>,
    limits: &Limits,
) -> Result<Outcome, Error> {
    run_strata(
        sr,
        relations,
        rules,
        stores,
        interner,
        Some(tagging),
        limits,
    )
}

/// The rows of `rule`'s head over finished relations, as values, sorted
/// and distinct: queries, test expectations, explanations. The clock is
/// the caller's, so that a series of calls (an explanation's search) keeps
/// one deadline.
pub(crate) fn answer(
    stores: &mut [Store],
    interner: &Interner,
    rule: &Rule,
    limits: &Limits,
    clock: &Clock,
) -> Result<Vec<Vec<Value>>, Error> {
    let ops = plan_answer(stores, rule, &[])?;
    let query = Answer {
        ops: &ops,
        vars: rule.num_vars(),
        presets: &[],
        terminal: &rule.head_args,
        location: &rule.location,
    };
    let mut out = run_answer(stores, interner, &query, limits, clock, |scratch, row| {
        Some(row.iter().map(|&id| scratch.value(id).clone()).collect())
    })?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// The plan of `rule`'s body over finished relations, the variables in
/// `bound` given from outside (set by [`Answer::presets`] when it runs).
pub(crate) fn plan_answer(
    stores: &mut [Store],
    rule: &Rule,
    bound: &[usize],
) -> Result<Vec<Op>, Error> {
    let versions = vec![Version::Full; rule.body.len()];
    let mut is_bound = vec![false; rule.num_vars()];
    for &v in bound {
        if let Some(b) = is_bound.get_mut(v) {
            *b = true;
        }
    }
    plan(
        &rule.body,
        &versions,
        None,
        &mut is_bound,
        stores,
        &rule.location,
    )
}

/// A planned body to run over finished relations.
pub(crate) struct Answer<'a> {
    pub(crate) ops: &'a [Op],
    /// The rule's variables.
    pub(crate) vars: usize,
    /// Variables bound before the plan runs, with their values.
    pub(crate) presets: &'a [(usize, u32)],
    /// What each answer row is.
    pub(crate) terminal: &'a [Expr],
    pub(crate) location: &'a Location,
}

/// The distinct answers of a planned body as interned ids, in the order
/// of their values (as [`answer`] sorts them); rows holding a value the
/// evaluation never stored (one only computed by arithmetic) are left out.
pub(crate) fn answer_ids(
    stores: &[Store],
    interner: &Interner,
    query: &Answer<'_>,
    limits: &Limits,
    clock: &Clock,
) -> Result<Vec<Vec<u32>>, Error> {
    let mut out = run_answer(stores, interner, query, limits, clock, |_, row| {
        row.iter()
            .all(|&id| id < crate::value::PENDING)
            .then(|| row.to_vec())
    })?;
    out.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| {
                if x == y {
                    std::cmp::Ordering::Equal
                } else {
                    interner.value(x).cmp(interner.value(y))
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out.dedup();
    Ok(out)
}

/// Runs a planned body and maps each answer row (ids, scratch ids for
/// computed values) through `row`.
fn run_answer<T>(
    stores: &[Store],
    interner: &Interner,
    query: &Answer<'_>,
    limits: &Limits,
    clock: &Clock,
    row: impl Fn(&crate::value::Scratch<'_>, &[u32]) -> Option<T>,
) -> Result<Vec<T>, Error> {
    let stop = AtomicBool::new(false);
    let ctx = Ctx {
        clock: clock.clone(),
        limits,
        stop: &stop,
        relations: &[],
        profiled: false,
    };
    let width = query.terminal.len();
    let mut worker = Worker::new(
        &Plain,
        stores,
        &ctx,
        interner,
        query.vars,
        query.location,
        width,
        None,
        0,
    );
    for &(v, id) in query.presets {
        if let Some(slot) = worker.frame.get_mut(v) {
            *slot = id;
        }
    }
    worker.run(query.ops, query.terminal, None, &())?;
    let rows = worker.outs.pop().map(|(rows, _)| rows).unwrap_or_default();
    Ok(rows
        .chunks_exact(width.max(1))
        .filter_map(|r| row(&worker.scratch, r.get(..width).unwrap_or_default()))
        .collect())
}

pub(super) struct Ctx<'a> {
    pub(super) clock: Clock,
    pub(super) limits: &'a Limits,
    pub(super) stop: &'a AtomicBool,
    /// The program's relations, for naming one in an error (empty when a
    /// lone query rule runs).
    pub(super) relations: &'a [RelationInfo],
    /// Whether rounds time their rules for [`Stats`] (a request's small
    /// rounds would spend a good part of their time reading the clock).
    pub(super) profiled: bool,
}

impl Ctx<'_> {
    pub(super) fn check_time(&self) -> Result<(), Error> {
        self.clock.check()
    }
}
