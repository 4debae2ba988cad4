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

// Frames are indexed by variable numbers the compiler gave out, and rows by
// the planner's column positions; both are invariants of compiled plans.
#![allow(
    clippy::indexing_slicing,
    reason = "plan-checked frame and row offsets"
)]

use crate::Error;
use crate::ir::{Call, Expr, RelId, RelationInfo, Rule, Var, cmp_holds};
use crate::limits::{Clock, Limits};
use crate::plan::{AggregatePlan, Op, Src, plan};
use crate::semiring::{Events, Plain, Semiring};
use crate::storage::{self, Index, Store, Version};
use crate::tagging::{EventKey, LocalEvents, Tagging, narrow_key};
use crate::value::{Interner, PENDING, Scratch, Value};
use nesy_lang::ast::{AggregateFn, BinOp, CmpOp};
use petgraph::graph::DiGraph;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::cmp::Ordering;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::time::{Duration, Instant};

/// Where the time of an evaluation went.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Wall-clock time of the whole evaluation.
    #[serde(serialize_with = "seconds")]
    pub time: Duration,
    /// One entry per stratum with rules, in evaluation order.
    pub strata: Vec<StratumStats>,
    /// One entry per rule, in program order.
    pub rules: Vec<RuleStats>,
}

/// One stratum's share.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StratumStats {
    /// The relations it defines.
    pub relations: Vec<String>,
    /// Rounds until nothing new came (1 for a stratum without recursion).
    pub iterations: usize,
    /// New tuples it added.
    pub tuples: usize,
    /// Wall-clock time.
    #[serde(serialize_with = "seconds")]
    pub time: Duration,
}

/// One rule's share.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleStats {
    /// `file:line:col`, and the `@name` if it has one.
    pub rule: String,
    /// The relation it defines.
    pub head: String,
    /// Times a plan of it ran (one per round and per recursive atom).
    pub evaluations: usize,
    /// Rows it produced, duplicates included.
    pub derived: usize,
    /// Time spent in it, summed over threads.
    #[serde(serialize_with = "seconds")]
    pub time: Duration,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The relations after evaluation.
pub(crate) struct Outcome {
    pub(crate) stores: Vec<Store>,
    pub(crate) interner: Interner,
    pub(crate) stats: Stats,
}

struct RulePlan<'r> {
    rule: usize,
    head: RelId,
    head_args: &'r [Expr],
    ops: Vec<Op>,
    location: &'r str,
    /// For delta plans: the relation whose new rows drive it.
    delta: Option<RelId>,
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
                .unwrap_or_else(|| Store::new(if r.arity == usize::MAX { 0 } else { r.arity }))
        })
        .collect();
    for (store, rows) in stores.iter_mut().zip(facts) {
        store.to_add.extend_from_slice(rows);
    }
    run_strata(&Plain, relations, rules, stores, interner, None, limits)
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

/// Rounds of a recursive stratum a non-idempotent semiring may take to
/// converge (`add-mult` on cycles).
const MAX_NAIVE_ROUNDS: usize = 10_000;

fn run_strata<S: Semiring>(
    sr: &S,
    relations: &[RelationInfo],
    rules: &[Rule],
    mut stores: Vec<Store>,
    mut interner: Interner,
    mut tagging: Option<&mut Tagging<S>>,
    limits: &Limits,
) -> Result<Outcome, Error> {
    let start = Instant::now();
    let clock = Clock::start(limits);
    let mut stats = Stats {
        rules: rules
            .iter()
            .map(|r| RuleStats {
                rule: match &r.name {
                    Some(n) => format!("{} @name({n})", r.location),
                    None => r.location.clone(),
                },
                head: relations
                    .get(r.head)
                    .map(|h| h.name.clone())
                    .unwrap_or_default(),
                ..RuleStats::default()
            })
            .collect(),
        ..Stats::default()
    };
    let stop = AtomicBool::new(false);
    // Every stratum is planned before any runs, so that each relation is
    // stored from the start in exactly the column orders its readers need
    // (an index added later would be a second copy of the rows).
    let mut planned = Vec::new();
    for stratum in strata(relations.len(), rules)? {
        let in_stratum = |rel: RelId| stratum.contains(&rel);
        let mut full_plans = Vec::new();
        let mut delta_plans = Vec::new();
        for (ri, rule) in rules.iter().enumerate().filter(|(_, r)| in_stratum(r.head)) {
            let recursive: Vec<usize> = rule
                .body
                .iter()
                .enumerate()
                .filter(|(_, l)| matches!(l, crate::ir::Lit::Atom { rel, .. } if in_stratum(*rel)))
                .map(|(i, _)| i)
                .collect();
            let make = |ops, delta| RulePlan {
                rule: ri,
                head: rule.head,
                head_args: &rule.head_args,
                ops,
                location: &rule.location,
                delta,
            };
            // Without idempotent addition, a recursive stratum is iterated
            // naively: every rule reads everything, every round.
            if recursive.is_empty() || (!S::PLAIN && !S::IDEMPOTENT) {
                let versions = vec![Version::Full; rule.body.len()];
                let mut bound = vec![false; rule.num_vars()];
                let ops = plan(
                    &rule.body,
                    &versions,
                    None,
                    &mut bound,
                    &mut stores,
                    &rule.location,
                )?;
                let delta = (!recursive.is_empty()).then_some(rule.head);
                full_plans.push(make(ops, delta));
            } else {
                for (k, &at) in recursive.iter().enumerate() {
                    let mut versions = vec![Version::Full; rule.body.len()];
                    for (j, &other) in recursive.iter().enumerate() {
                        if let Some(v) = versions.get_mut(other) {
                            *v = match j.cmp(&k) {
                                Ordering::Less => Version::Old,
                                Ordering::Equal => Version::Delta,
                                Ordering::Greater => Version::Full,
                            };
                        }
                    }
                    let mut bound = vec![false; rule.num_vars()];
                    let ops = plan(
                        &rule.body,
                        &versions,
                        Some(at),
                        &mut bound,
                        &mut stores,
                        &rule.location,
                    )?;
                    let delta = match rule.body.get(at) {
                        Some(crate::ir::Lit::Atom { rel, .. }) => Some(*rel),
                        _ => None,
                    };
                    delta_plans.push(make(ops, delta));
                }
            }
        }
        planned.push((stratum, full_plans, delta_plans));
    }
    for (stratum, full_plans, delta_plans) in planned {
        let stratum_start = Instant::now();
        let ctx = Ctx {
            clock: clock.clone(),
            limits,
            stop: &stop,
        };
        let mut stratum_stats = StratumStats {
            relations: stratum
                .iter()
                .filter_map(|&r| relations.get(r).map(|i| i.name.clone()))
                .collect(),
            ..StratumStats::default()
        };
        let naive = !S::PLAIN && !S::IDEMPOTENT && full_plans.iter().any(|p| p.delta.is_some());
        if naive && let Some(tagging) = tagging.as_deref_mut() {
            naive_stratum(
                sr,
                &stratum,
                &full_plans,
                &mut stores,
                &mut interner,
                &ctx,
                &mut stats,
                tagging,
                relations,
                &mut stratum_stats,
            )?;
        } else {
            if !full_plans.is_empty() {
                let plans: Vec<&RulePlan> = full_plans.iter().collect();
                run_round(
                    sr,
                    &plans,
                    &mut stores,
                    &mut interner,
                    &ctx,
                    &mut stats,
                    tagging.as_deref_mut(),
                )?;
            }
            loop {
                let mut added = 0;
                let mut retagged = false;
                for &rel in &stratum {
                    if let Some(store) = stores.get_mut(rel) {
                        added += store.advance();
                        retagged |= store.indexes.iter().any(|i| !i.retagged.is_empty());
                    }
                }
                stratum_stats.tuples += added;
                check_limits(&stores, relations, &ctx, &stratum)?;
                if added == 0 && !retagged {
                    break;
                }
                stratum_stats.iterations += 1;
                let plans: Vec<&RulePlan> = delta_plans
                    .iter()
                    .filter(|p| {
                        p.delta
                            .and_then(|d| stores.get(d))
                            .is_some_and(|s| s.indexes.iter().any(Index::has_delta))
                    })
                    .collect();
                if plans.is_empty() {
                    continue;
                }
                run_round(
                    sr,
                    &plans,
                    &mut stores,
                    &mut interner,
                    &ctx,
                    &mut stats,
                    tagging.as_deref_mut(),
                )?;
            }
        }
        stratum_stats.time = stratum_start.elapsed();
        if !full_plans.is_empty() || !delta_plans.is_empty() {
            stratum_stats.iterations = stratum_stats.iterations.max(1);
            stats.strata.push(stratum_stats);
        }
    }
    stats.time = start.elapsed();
    Ok(Outcome {
        stores,
        interner,
        stats,
    })
}

/// A recursive stratum under a semiring whose addition is not idempotent:
/// each round runs every rule over everything and recomputes the
/// stratum's tags from the tags its relations had before it, until
/// neither tuples nor tags change.
#[allow(
    clippy::too_many_arguments,
    reason = "the evaluation's parts, borrowed separately"
)]
fn naive_stratum<S: Semiring>(
    sr: &S,
    stratum: &[RelId],
    full_plans: &[RulePlan],
    stores: &mut [Store],
    interner: &mut Interner,
    ctx: &Ctx,
    stats: &mut Stats,
    tagging: &mut Tagging<S>,
    relations: &[RelationInfo],
    stratum_stats: &mut StratumStats,
) -> Result<(), Error> {
    // Settle the facts first, so the base tags cover them.
    for &rel in stratum {
        if let Some(store) = stores.get_mut(rel) {
            stratum_stats.tuples += store.advance();
        }
    }
    let base: Vec<(RelId, Vec<S::Tag>)> = stratum
        .iter()
        .filter_map(|&r| tagging.tables.get(r).map(|t| (r, t.tags.clone())))
        .collect();
    let plans: Vec<&RulePlan> = full_plans.iter().collect();
    for _ in 0..MAX_NAIVE_ROUNDS {
        tagging.begin_naive(&base, sr);
        run_round(
            sr,
            &plans,
            stores,
            interner,
            ctx,
            stats,
            Some(&mut *tagging),
        )?;
        tagging.end_naive(sr);
        let mut added = 0;
        for &rel in stratum {
            if let Some(store) = stores.get_mut(rel) {
                added += store.advance();
            }
        }
        stratum_stats.tuples += added;
        stratum_stats.iterations += 1;
        check_limits(stores, relations, ctx, stratum)?;
        if added == 0 && !tagging.changed {
            return Ok(());
        }
    }
    Err(Error::Unsettled {
        rounds: MAX_NAIVE_ROUNDS,
        relation: stratum
            .first()
            .and_then(|&r| relations.get(r))
            .map(|r| r.name.clone())
            .unwrap_or_default(),
    })
}

/// The rows of `rule`'s head over complete relations, as values, sorted
/// and distinct. Used for queries and test expectations after evaluation.
/// The distinct answers of one rule over finished relations; the clock is
/// the caller's, so that a series of calls (an explanation's search) keeps
/// one deadline.
pub(crate) fn answer(
    stores: &mut [Store],
    interner: &Interner,
    rule: &Rule,
    limits: &Limits,
    clock: &Clock,
) -> Result<Vec<Vec<Value>>, Error> {
    let versions = vec![Version::Full; rule.body.len()];
    let mut bound = vec![false; rule.num_vars()];
    let ops = plan(
        &rule.body,
        &versions,
        None,
        &mut bound,
        stores,
        &rule.location,
    )?;
    let stop = AtomicBool::new(false);
    let ctx = Ctx {
        clock: clock.clone(),
        limits,
        stop: &stop,
    };
    let width = rule.head_args.len();
    let mut worker = Worker::new(
        &Plain,
        stores,
        &ctx,
        interner,
        rule.num_vars(),
        &rule.location,
        width,
        None,
        0,
    );
    worker.run(&ops, &rule.head_args, None, &())?;
    let rows = worker.outs.pop().unwrap_or_default();
    let mut out: Vec<Vec<Value>> = rows
        .chunks_exact(width.max(1))
        .map(|row| {
            row.iter()
                .take(width)
                .map(|&id| worker.scratch.value(id).clone())
                .collect()
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

fn check_limits(
    stores: &[Store],
    relations: &[RelationInfo],
    ctx: &Ctx,
    stratum: &[RelId],
) -> Result<(), Error> {
    if let Some(limit) = ctx.limits.max_tuples {
        let total: usize = stores.iter().map(|s| s.len).sum();
        if total > limit {
            let growing = stratum
                .iter()
                .max_by_key(|&&r| stores.get(r).map_or(0, |s| s.len))
                .and_then(|&r| relations.get(r))
                .map(|r| r.name.clone())
                .unwrap_or_default();
            return Err(Error::TooManyTuples {
                limit,
                relation: growing,
            });
        }
    }
    ctx.check_time()
}

/// Relations grouped into strata, in an order where every stratum comes
/// after the strata it reads.
fn strata(n: usize, rules: &[Rule]) -> Result<Vec<Vec<RelId>>, Error> {
    let mut graph: DiGraph<RelId, bool> = DiGraph::new();
    let nodes: Vec<_> = (0..n).map(|r| graph.add_node(r)).collect();
    for rule in rules {
        for (dep, needs_complete) in rule.dependencies() {
            if let (Some(&a), Some(&b)) = (nodes.get(dep), nodes.get(rule.head)) {
                graph.add_edge(a, b, needs_complete);
            }
        }
    }
    let mut sccs = petgraph::algo::tarjan_scc(&graph);
    sccs.reverse();
    let mut out = Vec::new();
    for scc in sccs {
        let members: Vec<RelId> = scc
            .iter()
            .filter_map(|&i| graph.node_weight(i).copied())
            .collect();
        for rule in rules.iter().filter(|r| members.contains(&r.head)) {
            for (dep, needs_complete) in rule.dependencies() {
                if needs_complete && members.contains(&dep) {
                    return Err(Error::Compile {
                        location: rule.location.clone(),
                        message: "negation or aggregation through recursion: the rule reads a relation that depends on its own result".to_string(),
                    });
                }
            }
        }
        out.push(members);
    }
    Ok(out)
}

struct Ctx<'a> {
    clock: Clock,
    limits: &'a Limits,
    stop: &'a AtomicBool,
}

impl Ctx<'_> {
    fn check_time(&self) -> Result<(), Error> {
        self.clock.check()
    }
}

/// A piece of work: one plan, its first scan restricted to some rows.
struct Task {
    plan: usize,
    restrict: Option<(usize, usize, usize)>,
}

/// Rows of a task that made up new values (plain evaluation), or every
/// task's rows with their tags (tagged evaluation).
struct TaskOutput<S: Semiring> {
    task: usize,
    head: RelId,
    rows: Vec<u32>,
    pending: Vec<Value>,
    tags: Vec<S::Tag>,
    events: LocalEvents,
}

/// Rows per task when a scan is split.
const CHUNK: usize = 2048;

/// Tasks per batch of a tagged round.
const TAGGED_BATCH: usize = 16;

fn run_round<S: Semiring>(
    sr: &S,
    plans: &[&RulePlan],
    stores: &mut [Store],
    interner: &mut Interner,
    ctx: &Ctx,
    stats: &mut Stats,
    mut tagging: Option<&mut Tagging<S>>,
) -> Result<(), Error> {
    let mut tasks = Vec::new();
    for (p, plan) in plans.iter().enumerate() {
        match plan.ops.first() {
            Some(Op::Join {
                rel,
                index,
                version,
                key,
                ..
            }) if key.is_empty() => {
                if let Some(idx) = stores.get(*rel).and_then(|s| s.indexes.get(*index)) {
                    let width = stores.get(*rel).map_or(1, |s| s.width);
                    for (r, run) in idx.runs(*version).enumerate() {
                        let n = storage::row_count(run, width);
                        let mut lo = 0;
                        while lo < n {
                            let hi = (lo + CHUNK).min(n);
                            tasks.push(Task {
                                plan: p,
                                restrict: Some((r, lo, hi)),
                            });
                            lo = hi;
                        }
                    }
                }
            }
            _ => tasks.push(Task {
                plan: p,
                restrict: None,
            }),
        }
    }
    let rule_time: Vec<AtomicU64> = stats.rules.iter().map(|_| AtomicU64::new(0)).collect();
    let rule_rows: Vec<AtomicUsize> = stats.rules.iter().map(|_| AtomicUsize::new(0)).collect();
    if let Some(tagging) = tagging.as_deref_mut() {
        tagging.begin_round();
    }
    // Tagged rows wait for their merge with their tags (sets of proofs can
    // be large), so a tagged round runs its tasks in batches, merging after
    // each: the tags a later batch reads may be newer, which is sound for
    // an idempotent addition and, in a fixed order, still reproducible.
    let batch = if S::PLAIN {
        tasks.len().max(1)
    } else {
        TAGGED_BATCH
    };
    for (b, batch_tasks) in tasks.chunks(batch).enumerate() {
        // Rows go straight into their head's buffer as each task ends, so a
        // round never holds its output twice. Values a task made up (pending
        // ids) need the interner, so those outputs are merged afterwards, as
        // are tagged rows (in task order, so that results do not depend on
        // which thread finished first).
        let sinks: Vec<Mutex<Vec<u32>>> = stores
            .iter_mut()
            .map(|s| Mutex::new(std::mem::take(&mut s.to_add)))
            .collect();
        let with_pending: Mutex<Vec<TaskOutput<S>>> = Mutex::new(Vec::new());
        let frozen: &[Store] = stores;
        let frozen_interner: &Interner = interner;
        let frozen_tags: Option<&Tagging<S>> = tagging.as_deref();
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        let result = batch_tasks
            .par_iter()
            .enumerate()
            .try_for_each(|(i, task)| {
                let t = b * batch + i;
                let started = Instant::now();
                let Some(plan) = plans.get(task.plan) else {
                    return Ok(());
                };
                let width = frozen.get(plan.head).map_or(1, |s| s.width);
                // Rows are emitted without their tuple id.
                let width = if S::PLAIN { width } else { width - 1 };
                let mut worker = Worker::new(
                    sr,
                    frozen,
                    ctx,
                    frozen_interner,
                    max_var(plan) + 1,
                    plan.location,
                    width,
                    frozen_tags,
                    plan.rule,
                );
                let one = sr.one();
                if let Err(error) = worker.run(&plan.ops, plan.head_args, task.restrict, &one) {
                    // The first failure is the one reported; the workers it stops
                    // fail too, with nothing to say.
                    if !ctx.stop.swap(true, AtomicOrdering::SeqCst) {
                        *first_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
                    }
                    return Err(());
                }
                let rows = worker.outs.pop().unwrap_or_default();
                if let (Some(t), Some(n)) = (rule_time.get(plan.rule), rule_rows.get(plan.rule)) {
                    t.fetch_add(started.elapsed().as_nanos() as u64, AtomicOrdering::Relaxed);
                    n.fetch_add(rows.len() / width, AtomicOrdering::Relaxed);
                }
                if S::PLAIN && worker.scratch.pending.is_empty() {
                    if let Some(sink) = sinks.get(plan.head) {
                        let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
                        if sink.is_empty() {
                            *sink = rows;
                        } else {
                            // Large buffers grow by `mremap`, without copying.
                            sink.extend_from_slice(&rows);
                        }
                    }
                } else {
                    with_pending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(TaskOutput {
                            task: t,
                            head: plan.head,
                            rows,
                            pending: worker.scratch.pending,
                            tags: worker.out_tags,
                            events: worker.events,
                        });
                }
                Ok(())
            });
        for (store, sink) in stores.iter_mut().zip(sinks) {
            store.to_add = sink.into_inner().unwrap_or_else(|e| e.into_inner());
        }
        if result.is_err() {
            return Err(first_error
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or(Error::Compile {
                    location: String::new(),
                    message: "evaluation failed".to_string(),
                }));
        }
        let mut outputs = with_pending.into_inner().unwrap_or_else(|e| e.into_inner());
        outputs.sort_by_key(|o| o.task);
        for out in outputs {
            // Merging tags (sets of proofs) can take a while: keep to the clock.
            if !S::PLAIN {
                ctx.check_time()?;
            }
            let ids: Vec<u32> = out
                .pending
                .into_iter()
                .map(|v| interner.intern(v))
                .collect();
            let mut rows = out.rows;
            for id in &mut rows {
                if *id >= PENDING {
                    *id = ids.get((*id - PENDING) as usize).copied().unwrap_or(0);
                }
            }
            let Some(store) = stores.get_mut(out.head) else {
                continue;
            };
            match tagging.as_deref_mut() {
                Some(tagging) => {
                    let mut tags = out.tags;
                    tagging.adopt_events(sr, out.events, &mut tags);
                    if let Some(limit) = ctx.limits.max_events
                        && tagging.events.len() > limit
                    {
                        return Err(Error::TooManyEvents { limit });
                    }
                    tagging.merge(sr, out.head, store, &rows, tags);
                }
                None => store.to_add.extend(rows),
            }
        }
    }
    for plan in plans {
        if let Some(rule_stats) = stats.rules.get_mut(plan.rule) {
            rule_stats.evaluations += 1;
        }
    }
    for (r, rule_stats) in stats.rules.iter_mut().enumerate() {
        if let (Some(t), Some(n)) = (rule_time.get(r), rule_rows.get(r)) {
            rule_stats.time += Duration::from_nanos(t.load(AtomicOrdering::Relaxed));
            rule_stats.derived += n.load(AtomicOrdering::Relaxed);
        }
    }
    ctx.check_time()
}

fn max_var(plan: &RulePlan) -> usize {
    fn ops_max(ops: &[Op], m: &mut usize) {
        let mut vars = Vec::new();
        for op in ops {
            match op {
                Op::Join {
                    key, binds, checks, ..
                } => {
                    for s in key {
                        if let Src::Var(v) = s {
                            vars.push(*v);
                        }
                    }
                    vars.extend(binds.iter().chain(checks).map(|(_, v)| *v));
                }
                Op::Anti { key, .. } => {
                    for s in key {
                        if let Src::Var(v) = s {
                            vars.push(*v);
                        }
                    }
                }
                Op::Filter { lhs, rhs, .. } => {
                    lhs.vars(&mut vars);
                    rhs.vars(&mut vars);
                }
                Op::Assign { var, expr } => {
                    vars.push(*var);
                    expr.vars(&mut vars);
                }
                Op::Aggregate(a) => {
                    vars.push(a.result);
                    vars.extend(&a.free_group);
                    for t in &a.terms {
                        t.vars(&mut vars);
                    }
                    ops_max(&a.ops, m);
                }
                Op::Call { call, binds, .. } => {
                    vars.extend(binds.iter().map(|(_, v)| *v));
                    vars.extend(
                        call.inputs
                            .iter()
                            .chain(&call.outputs)
                            .filter_map(|a| match a {
                                crate::ir::Arg::Var(v) => Some(*v),
                                _ => None,
                            }),
                    );
                }
            }
        }
        *m = vars.into_iter().fold(*m, usize::max);
    }
    let mut m = 0;
    ops_max(&plan.ops, &mut m);
    let mut head_vars = Vec::new();
    for e in plan.head_args {
        e.vars(&mut head_vars);
    }
    head_vars.into_iter().fold(m, usize::max)
}

/// Runs one plan over a frame of variable bindings.
struct Worker<'a, S: Semiring> {
    sr: &'a S,
    stores: &'a [Store],
    ctx: &'a Ctx<'a>,
    scratch: Scratch<'a>,
    frame: Vec<u32>,
    /// Output buffers: the rule's rows at the bottom, an aggregate's
    /// collected rows above while it runs.
    outs: Vec<Vec<u32>>,
    /// The width of each output buffer's rows.
    widths: Vec<usize>,
    location: &'a str,
    emitted: usize,
    /// Per plan depth, the last lookup's ranges.
    cache: Vec<JoinCache>,
    /// Rows scanned, to check the clock now and then.
    steps: u64,
    /// Tagged evaluation: the tags of the relations read.
    tagging: Option<&'a Tagging<S>>,
    /// The tag of each row of the rule's output.
    out_tags: Vec<S::Tag>,
    /// Events first met by this worker.
    events: LocalEvents,
    /// Tagged evaluation: rows of one or two columns already emitted, to
    /// the index of their tag.
    seen: FxHashMap<u64, usize>,
    /// The rule's index (for its weight and instances).
    rule: usize,
}

impl<'a, S: Semiring> Worker<'a, S> {
    #[allow(clippy::too_many_arguments, reason = "a worker's borrowed parts")]
    fn new(
        sr: &'a S,
        stores: &'a [Store],
        ctx: &'a Ctx<'a>,
        interner: &'a Interner,
        vars: usize,
        location: &'a str,
        head: usize,
        tagging: Option<&'a Tagging<S>>,
        rule: usize,
    ) -> Self {
        Worker {
            sr,
            stores,
            ctx,
            scratch: Scratch::new(interner),
            frame: vec![0; vars.max(1)],
            outs: vec![Vec::new()],
            widths: vec![head.max(1)],
            location,
            emitted: 0,
            cache: Vec::new(),
            steps: 0,
            tagging,
            out_tags: Vec::new(),
            events: LocalEvents::default(),
            seen: FxHashMap::default(),
            rule,
        }
    }

    /// Whether tags are followed here: tagged evaluation, outside
    /// aggregates (whose results count as certain).
    fn tags_on(&self) -> bool {
        !S::PLAIN && self.tagging.is_some() && self.outs.len() == 1
    }

    fn event_probabilities(&self) -> Events<'_> {
        events_of(self.tagging, &self.events)
    }

    /// The tag of stored row `row` of relation `rel`.
    fn row_tag(&self, rel: RelId, row: &[u32]) -> Option<&'a S::Tag> {
        let tagging = self.tagging?;
        let id = *row.last()?;
        tagging.tables.get(rel)?.tags.get(id as usize)
    }

    /// An event's tag: one with identity when the semiring names events.
    fn event_tag(
        &mut self,
        key: impl FnOnce() -> EventKey,
        p: f64,
        name: impl FnOnce() -> String,
    ) -> Result<S::Tag, Error> {
        if !S::EVENTS {
            return Ok(self.sr.event(0, p));
        }
        let Some(tagging) = self.tagging else {
            return Ok(self.sr.event(0, p));
        };
        let id = self.events.id(&tagging.events, key(), p, name);
        if let Some(limit) = self.ctx.limits.max_events
            && tagging.events.len() + self.events.len() > limit
        {
            return Err(Error::TooManyEvents { limit });
        }
        Ok(self.sr.event(id, p))
    }

    /// The tag of a model's answer: one event per distinct call.
    fn call_tag(
        &mut self,
        call: &Call,
        inputs: &[Value],
        outputs: &[Value],
        p: f64,
    ) -> Result<S::Tag, Error> {
        self.event_tag(
            || {
                EventKey::Call(
                    call.model_name.clone(),
                    call.method.clone(),
                    inputs.to_vec(),
                    outputs.to_vec(),
                )
            },
            p,
            || {
                let list = |vs: &[Value]| {
                    vs.iter()
                        .map(Value::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!(
                    "{}.{}({}) -> ({})",
                    call.model_name,
                    call.method,
                    list(inputs),
                    list(outputs)
                )
            },
        )
    }

    /// The tag of the weighted rule instance the frame holds: each binding
    /// of the rule's variables is an independent event, as in ProbLog.
    fn rule_instance_tag(&mut self, p: f64) -> Result<S::Tag, Error> {
        if !S::EVENTS {
            return Ok(self.sr.event(0, p));
        }
        let vars: &[Var] = self
            .tagging
            .and_then(|t| t.instance_vars.get(self.rule))
            .map_or(&[][..], Vec::as_slice);
        let values: Vec<Value> = vars
            .iter()
            .map(|&v| self.scratch.value(self.frame[v]).clone())
            .collect();
        let rule = self
            .tagging
            .and_then(|t| t.rule_ids.get(self.rule).copied())
            .unwrap_or(self.rule);
        let location = self.location;
        let names: Vec<String> = self
            .tagging
            .and_then(|t| t.var_names.get(self.rule))
            .map(|names| {
                vars.iter()
                    .map(|&v| names.get(v).cloned().unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default();
        let text = || {
            let bindings: Vec<String> = names
                .iter()
                .zip(&values)
                .filter(|(n, _)| !n.starts_with('_'))
                .map(|(n, v)| format!("{n} = {v}"))
                .collect();
            format!("rule {location} with {}", bindings.join(", "))
        };
        let key_values = values.clone();
        self.event_tag(|| EventKey::Rule(rule, key_values), p, text)
    }

    /// `not rel(key...)` under tags: the product of the negations of the
    /// tags of the tuples it could match (none: it holds for sure). Inside
    /// an aggregate only a certain tuple makes it fail.
    #[allow(
        clippy::too_many_arguments,
        reason = "the negated atom's parts and the rest of the plan"
    )]
    fn tagged_negation(
        &mut self,
        rel: RelId,
        idx: &'a Index,
        width: usize,
        key: &[u32],
        rest: &'a [Op],
        terminal: &'a [Expr],
        tag: &S::Tag,
    ) -> Result<(), Error> {
        let mut t = tag.clone();
        if !key.iter().any(|&k| k >= PENDING) {
            for run in idx.runs(Version::Full) {
                let (lo, hi) = storage::key_range(run, width, key);
                for row in run[lo * width..hi * width].chunks_exact(width) {
                    let Some(row_tag) = self.row_tag(rel, row) else {
                        continue;
                    };
                    if !self.tags_on() {
                        if self.sr.is_one(row_tag) {
                            return Ok(());
                        }
                        continue;
                    }
                    let events = self.event_probabilities();
                    let negated = self.sr.negate(row_tag, events);
                    t = self.sr.mul(&t, &negated, events);
                    if self.sr.is_zero(&t) {
                        return Ok(());
                    }
                }
            }
        }
        self.run(rest, terminal, None, &t)
    }
}

/// The events a worker's tags may mention: those known when its round
/// began, and its own.
fn events_of<'b, S: Semiring>(
    tagging: Option<&'b Tagging<S>>,
    local: &'b LocalEvents,
) -> Events<'b> {
    Events {
        base: tagging.map_or(&[][..], |t| t.events.probabilities.as_slice()),
        local: &local.probabilities,
    }
}

/// The ranges a join found for the last key it looked up.
#[derive(Default)]
struct JoinCache {
    op: usize,
    len: usize,
    key: [u32; KEY_STACK],
    ranges: Vec<(usize, usize)>,
}

/// Keys up to this many columns are built on the stack.
const KEY_STACK: usize = 8;

impl<'a, S: Semiring> Worker<'a, S> {
    fn arithmetic(&self, message: String) -> Error {
        Error::Arithmetic {
            location: self.location.to_string(),
            message,
        }
    }

    fn run(
        &mut self,
        ops: &'a [Op],
        terminal: &'a [Expr],
        restrict: Option<(usize, usize, usize)>,
        tag: &S::Tag,
    ) -> Result<(), Error> {
        let Some((op, rest)) = ops.split_first() else {
            return self.emit(terminal, tag);
        };
        match op {
            Op::Join {
                rel,
                index,
                version,
                key,
                binds,
                checks,
            } => {
                let Some(store) = self.stores.get(*rel) else {
                    return Ok(());
                };
                let Some(idx) = store.indexes.get(*index) else {
                    return Ok(());
                };
                let width = store.width;
                let mut stack = [0u32; KEY_STACK];
                let heap: Vec<u32>;
                let key_vals: &[u32] = if key.len() <= KEY_STACK {
                    for (slot, s) in stack.iter_mut().zip(key) {
                        *slot = self.src(*s);
                    }
                    &stack[..key.len()]
                } else {
                    heap = key.iter().map(|s| self.src(*s)).collect();
                    &heap
                };
                // A value made in this round exists in no relation yet.
                if key_vals.iter().any(|&k| k >= PENDING) {
                    return Ok(());
                }
                let cacheable =
                    restrict.is_none() && !key_vals.is_empty() && key_vals.len() <= KEY_STACK;
                if cacheable {
                    self.lookup(ops.len(), op, idx, *version, width, key_vals);
                }
                for (r, run) in idx.runs(*version).enumerate() {
                    let (lo, hi) = match restrict {
                        Some((only, lo, hi)) if only == r => (lo, hi),
                        Some(_) => continue,
                        None if cacheable => self.cache[ops.len()]
                            .ranges
                            .get(r)
                            .copied()
                            .unwrap_or((0, 0)),
                        None => storage::key_range(run, width, key_vals),
                    };
                    for row in run[lo * width..hi * width].chunks_exact(width) {
                        // A join may scan long without deriving anything
                        // (a filter rejecting a cross product): check the
                        // clock here too, not only when rows are emitted.
                        self.steps = self.steps.wrapping_add(1);
                        // A tagged row costs a tag product: look sooner.
                        let mask = if S::PLAIN { 0xF_FFFF } else { 0x3FF };
                        if self.steps & mask == 0 {
                            self.check_stop()?;
                        }
                        for &(c, v) in binds {
                            self.frame[v] = row[c];
                        }
                        if !checks.iter().all(|&(c, v)| self.frame[v] == row[c]) {
                            continue;
                        }
                        if self.tags_on() {
                            let Some(row_tag) = self.row_tag(*rel, row) else {
                                continue;
                            };
                            // A certain row (most facts) leaves the tag as it is.
                            if self.sr.is_one(row_tag) {
                                self.run(rest, terminal, None, tag)?;
                                continue;
                            }
                            let t = self.sr.mul(tag, row_tag, self.event_probabilities());
                            if !self.sr.is_zero(&t) {
                                self.run(rest, terminal, None, &t)?;
                            }
                        } else {
                            self.run(rest, terminal, None, tag)?;
                        }
                    }
                }
                Ok(())
            }
            Op::Anti { rel, index, key } => {
                let Some(store) = self.stores.get(*rel) else {
                    return self.run(rest, terminal, None, tag);
                };
                let Some(idx) = store.indexes.get(*index) else {
                    return self.run(rest, terminal, None, tag);
                };
                let mut stack = [0u32; KEY_STACK];
                let heap: Vec<u32>;
                let key_vals: &[u32] = if key.len() <= KEY_STACK {
                    for (slot, s) in stack.iter_mut().zip(key) {
                        *slot = self.src(*s);
                    }
                    &stack[..key.len()]
                } else {
                    heap = key.iter().map(|s| self.src(*s)).collect();
                    &heap
                };
                if !S::PLAIN && self.tagging.is_some() {
                    return self.tagged_negation(
                        *rel,
                        idx,
                        store.width,
                        key_vals,
                        rest,
                        terminal,
                        tag,
                    );
                }
                let found = if key_vals.iter().any(|&k| k >= PENDING) {
                    false
                } else if !key_vals.is_empty() && key_vals.len() <= KEY_STACK {
                    self.lookup(ops.len(), op, idx, Version::Full, store.width, key_vals);
                    self.cache[ops.len()].ranges.iter().any(|(lo, hi)| lo < hi)
                } else {
                    idx.runs(Version::Full).any(|run| {
                        let (lo, hi) = storage::key_range(run, store.width, key_vals);
                        lo < hi
                    })
                };
                if found {
                    Ok(())
                } else {
                    self.run(rest, terminal, None, tag)
                }
            }
            Op::Filter { op, lhs, rhs } => {
                if self.compare(*op, lhs, rhs)? {
                    self.run(rest, terminal, None, tag)
                } else {
                    Ok(())
                }
            }
            Op::Assign { var, expr } => {
                let id = self.eval_id(expr)?;
                self.frame[*var] = id;
                self.run(rest, terminal, None, tag)
            }
            Op::Aggregate(plan) => self.aggregate(plan, rest, terminal, tag),
            Op::Call {
                call,
                binds,
                checks,
            } => {
                let inputs: Vec<Value> = call
                    .inputs
                    .iter()
                    .map(|a| match a {
                        crate::ir::Arg::Var(v) => self.scratch.value(self.frame[*v]).clone(),
                        crate::ir::Arg::Const(c) => self.scratch.value(*c).clone(),
                        crate::ir::Arg::Wild => Value::Bool(false),
                    })
                    .collect();
                let answers =
                    call.model
                        .call(&call.method, &inputs)
                        .map_err(|message| Error::Model {
                            location: self.location.to_string(),
                            call: format!("{}.{}", call.model_name, call.method),
                            message,
                        })?;
                for answer in answers {
                    let answer_tag = if self.tags_on() {
                        let t = self.call_tag(call, &inputs, &answer.values, answer.probability)?;
                        let t = self.sr.mul(tag, &t, self.event_probabilities());
                        if self.sr.is_zero(&t) {
                            continue;
                        }
                        Some(t)
                    } else {
                        None
                    };
                    let ids: Vec<u32> = answer
                        .values
                        .into_iter()
                        .map(|v| self.scratch.intern(v))
                        .collect();
                    for &(pos, v) in binds {
                        if let Some(&id) = ids.get(pos) {
                            self.frame[v] = id;
                        }
                    }
                    let matches = checks.iter().all(|&(pos, s)| {
                        ids.get(pos)
                            .is_some_and(|&id| self.ids_equal(id, self.src(s)))
                    });
                    if matches {
                        self.run(rest, terminal, None, answer_tag.as_ref().unwrap_or(tag))?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Finds the rows starting with `key` in each run of `idx`, into
    /// `self.cache[depth].ranges`. Scans usually arrive sorted by the key a
    /// later op looks up, so the last key's ranges are reused when the key
    /// repeats, and searched forward from when it grows.
    fn lookup(
        &mut self,
        depth: usize,
        op: &Op,
        idx: &Index,
        version: Version,
        width: usize,
        key: &[u32],
    ) {
        if self.cache.len() <= depth {
            self.cache.resize_with(depth + 1, JoinCache::default);
        }
        let op_id = op as *const Op as usize;
        let Some(c) = self.cache.get_mut(depth) else {
            return;
        };
        let same_op = c.op == op_id && c.len == key.len();
        if same_op && c.key[..key.len()] == *key {
            return;
        }
        let forward =
            same_op && c.key[..key.len()] < *key && c.ranges.len() == idx.runs(version).count();
        c.op = op_id;
        c.len = key.len();
        c.key[..key.len()].copy_from_slice(key);
        if forward {
            for (range, run) in c.ranges.iter_mut().zip(idx.runs(version)) {
                *range = storage::key_range_from(run, width, key, range.0);
            }
        } else {
            c.ranges.clear();
            c.ranges.extend(
                idx.runs(version)
                    .map(|run| storage::key_range(run, width, key)),
            );
        }
    }

    /// Fails when the time is up or another worker failed.
    fn check_stop(&self) -> Result<(), Error> {
        if self.ctx.stop.load(AtomicOrdering::Relaxed) {
            // Another worker failed; its error is the one reported and this
            // one is dropped.
            return Err(Error::Compile {
                location: self.location.to_string(),
                message: "stopped because another part of the evaluation failed".to_string(),
            });
        }
        self.ctx.check_time()
    }

    fn src(&self, s: Src) -> u32 {
        match s {
            Src::Var(v) => self.frame[v],
            Src::Const(c) => c,
        }
    }

    fn emit(&mut self, terminal: &'a [Expr], tag: &S::Tag) -> Result<(), Error> {
        let mut row_tag = None;
        if self.tags_on() {
            let t = match self
                .tagging
                .and_then(|t| t.weights.get(self.rule).copied().flatten())
            {
                Some(p) => {
                    let weight = self.rule_instance_tag(p)?;
                    self.sr.mul(tag, &weight, self.event_probabilities())
                }
                None => tag.clone(),
            };
            if self.sr.is_zero(&t) {
                return Ok(());
            }
            row_tag = Some(t);
        }
        let mut values = [0u32; KEY_STACK];
        let n = terminal.len();
        if n <= KEY_STACK {
            for (slot, e) in values.iter_mut().zip(terminal) {
                *slot = self.eval_id(e)?;
            }
        }
        let heap: Vec<u32> = if n > KEY_STACK {
            terminal
                .iter()
                .map(|e| self.eval_id(e))
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        let row: &[u32] = if n > KEY_STACK { &heap } else { &values[..n] };
        if let Some(t) = row_tag {
            // A rule derives the same head many times: its tags are added
            // here, so the round's merge sees each row once per task.
            if row.len() <= 2 {
                let key = narrow_key(row);
                let next = self.out_tags.len();
                match self.seen.entry(key) {
                    std::collections::hash_map::Entry::Occupied(e) => {
                        let i = *e.get();
                        // Fields borrowed apart: the tag is changed in place.
                        let events = events_of(self.tagging, &self.events);
                        if let Some(old) = self.out_tags.get_mut(i) {
                            self.sr.add_to(old, &t, events);
                        }
                        return self.count_emission();
                    }
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(next);
                    }
                }
            }
            self.out_tags.push(t);
        }
        let Some(out) = self.outs.last_mut() else {
            return Ok(());
        };
        if row.is_empty() {
            out.push(0);
        } else {
            out.extend_from_slice(row);
        }
        self.count_emission()
    }

    /// Checks the clock and the tuple limit now and then as rows come.
    fn count_emission(&mut self) -> Result<(), Error> {
        self.emitted += 1;
        let every = if S::PLAIN { 4096 } else { 64 };
        if self.emitted.is_multiple_of(every) {
            self.check_stop()?;
            // An aggregate's enumerated rows are held too, until it folds
            // them: they count against the limit as derived rows do.
            let held: usize = self
                .outs
                .iter()
                .zip(&self.widths)
                .map(|(out, &w)| out.len() / w)
                .sum();
            if let Some(limit) = self.ctx.limits.max_tuples
                && held > limit
            {
                return Err(Error::TooManyTuples {
                    limit,
                    relation: format!("the rule at {}", self.location),
                });
            }
        }
        Ok(())
    }

    fn aggregate(
        &mut self,
        plan: &'a AggregatePlan,
        rest: &'a [Op],
        terminal: &'a [Expr],
        tag: &S::Tag,
    ) -> Result<(), Error> {
        let groups = plan.free_group.len();
        self.outs.push(Vec::new());
        self.widths.push(plan.collect.len().max(1));
        let collected = self.run(&plan.ops, &plan.collect, None, tag);
        self.widths.pop();
        let mut rows = self.outs.pop().unwrap_or_default();
        collected?;
        let width = plan.collect.len().max(1);
        storage::sort_dedup(&mut rows, width);
        let mut results: Vec<(Vec<u32>, Option<u32>)> = Vec::new();
        if groups == 0 {
            let value = self.fold(plan.function, rows.chunks_exact(width), 0)?;
            results.push((Vec::new(), value));
        } else {
            let all: Vec<&[u32]> = rows.chunks_exact(width).collect();
            let mut start = 0;
            while start < all.len() {
                let prefix = &all[start][..groups];
                let end = start
                    + all[start..]
                        .iter()
                        .take_while(|r| &r[..groups] == prefix)
                        .count();
                let value = self.fold(plan.function, all[start..end].iter().copied(), groups)?;
                results.push((prefix.to_vec(), value));
                start = end;
            }
        }
        for (prefix, value) in results {
            let Some(value) = value else { continue };
            for (&g, &v) in plan.free_group.iter().zip(&prefix) {
                self.frame[g] = v;
            }
            if plan.result_bound {
                if !self.ids_equal(self.frame[plan.result], value) {
                    continue;
                }
            } else {
                self.frame[plan.result] = value;
            }
            self.run(rest, terminal, None, tag)?;
        }
        Ok(())
    }

    fn fold<'r>(
        &mut self,
        function: AggregateFn,
        rows: impl Iterator<Item = &'r [u32]>,
        col: usize,
    ) -> Result<Option<u32>, Error> {
        let mut count: i64 = 0;
        let mut int_sum: Option<i64> = Some(0);
        let mut float_sum = 0.0f64;
        let mut best: Option<u32> = None;
        for row in rows {
            count += 1;
            let id = row.get(col).copied().unwrap_or(0);
            match function {
                AggregateFn::Count => {}
                AggregateFn::Min | AggregateFn::Max => {
                    best = Some(match best {
                        None => id,
                        Some(b) => {
                            let ord = self.scratch.value(id).cmp(self.scratch.value(b));
                            let better = if function == AggregateFn::Min {
                                ord == Ordering::Less
                            } else {
                                ord == Ordering::Greater
                            };
                            if better { id } else { b }
                        }
                    })
                }
                AggregateFn::Sum | AggregateFn::Mean => {
                    let value = self.scratch.value(id).clone();
                    match value {
                        Value::Int(i) => {
                            float_sum += i as f64;
                            if let Some(s) = int_sum {
                                int_sum = Some(s.checked_add(i).ok_or_else(|| {
                                    self.arithmetic(format!(
                                        "integer overflow in `{}`",
                                        function.as_str()
                                    ))
                                })?);
                            }
                        }
                        Value::Float(x) => {
                            float_sum += x;
                            int_sum = None;
                        }
                        other => {
                            return Err(self.arithmetic(format!(
                                "`{}` of a non-number: {other} ({})",
                                function.as_str(),
                                other.type_name()
                            )));
                        }
                    }
                }
            }
        }
        let value = match function {
            AggregateFn::Count => Value::Int(count),
            AggregateFn::Min | AggregateFn::Max => return Ok(best),
            AggregateFn::Sum => match int_sum {
                Some(s) => Value::Int(s),
                None => self.finite(float_sum, "sum")?,
            },
            AggregateFn::Mean => {
                if count == 0 {
                    return Ok(None);
                }
                self.finite(float_sum / count as f64, "mean")?
            }
        };
        Ok(Some(self.scratch.intern(value)))
    }

    fn finite(&self, x: f64, what: &str) -> Result<Value, Error> {
        if x.is_finite() {
            Ok(Value::float(x))
        } else {
            Err(self.arithmetic(format!("float overflow in {what}")))
        }
    }

    fn ids_equal(&self, a: u32, b: u32) -> bool {
        a == b || {
            let (x, y) = (self.scratch.value(a), self.scratch.value(b));
            matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
    }

    fn compare(&mut self, op: CmpOp, lhs: &Expr, rhs: &Expr) -> Result<bool, Error> {
        // Plain variables and constants compare by id where that decides.
        let simple = |e: &Expr, frame: &[u32]| match e {
            Expr::Var(v) => Some(frame[*v]),
            Expr::Const(c) => Some(*c),
            _ => None,
        };
        if let (Some(a), Some(b)) = (simple(lhs, &self.frame), simple(rhs, &self.frame)) {
            if a == b {
                return Ok(cmp_holds(op, Ordering::Equal));
            }
            let (x, y) = (self.scratch.value(a), self.scratch.value(b));
            return Ok(cmp_holds(op, compare_values(x, y)));
        }
        let x = self.eval(lhs)?;
        let y = self.eval(rhs)?;
        Ok(cmp_holds(op, compare_values(&x, &y)))
    }

    fn eval_id(&mut self, e: &Expr) -> Result<u32, Error> {
        match e {
            Expr::Var(v) => Ok(self.frame[*v]),
            Expr::Const(c) => Ok(*c),
            _ => {
                let value = self.eval(e)?;
                Ok(self.scratch.intern(value))
            }
        }
    }

    fn eval(&self, e: &Expr) -> Result<Value, Error> {
        match e {
            Expr::Var(v) => Ok(self.scratch.value(self.frame[*v]).clone()),
            Expr::Const(c) => Ok(self.scratch.value(*c).clone()),
            Expr::Neg(inner) => match self.eval(inner)? {
                Value::Int(i) => i
                    .checked_neg()
                    .map(Value::Int)
                    .ok_or_else(|| self.arithmetic(format!("integer overflow in -({i})"))),
                Value::Float(x) => Ok(Value::float(-x)),
                other => {
                    Err(self.arithmetic(format!("cannot negate {other} ({})", other.type_name())))
                }
            },
            Expr::Binary(op, l, r) => {
                let (a, b) = (self.eval(l)?, self.eval(r)?);
                arith(*op, &a, &b).map_err(|m| self.arithmetic(m))
            }
        }
    }
}

/// Numbers compare by value across int and float; other values by the
/// total order of [`Value`].
pub(crate) fn compare_values(x: &Value, y: &Value) -> Ordering {
    match (x, y) {
        (Value::Int(a), Value::Int(b)) => a.cmp(b),
        _ => match (x.as_f64(), y.as_f64()) {
            (Some(a), Some(b)) => a.total_cmp(&b),
            _ => x.cmp(y),
        },
    }
}

/// Integer arithmetic is checked; a float anywhere makes the result a
/// float, which must stay finite.
pub(crate) fn arith(op: BinOp, a: &Value, b: &Value) -> Result<Value, String> {
    let sym = op.as_str();
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            let (x, y) = (*x, *y);
            if matches!(op, BinOp::Div | BinOp::Rem) && y == 0 {
                return Err(format!("division by zero in {x} {sym} {y}"));
            }
            let r = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::Div => x.checked_div(y),
                BinOp::Rem => x.checked_rem(y),
            };
            r.map(Value::Int)
                .ok_or_else(|| format!("integer overflow in {x} {sym} {y}"))
        }
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => {
                if matches!(op, BinOp::Div | BinOp::Rem) && y == 0.0 {
                    return Err(format!("division by zero in {a} {sym} {b}"));
                }
                let r = match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    BinOp::Div => x / y,
                    BinOp::Rem => x % y,
                };
                if r.is_finite() {
                    Ok(Value::float(r))
                } else {
                    Err(format!("float overflow in {a} {sym} {b}"))
                }
            }
            _ => {
                let culprit = if a.as_f64().is_none() { a } else { b };
                Err(format!(
                    "`{sym}` needs numbers, but got {culprit} ({})",
                    culprit.type_name()
                ))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(
            arith(BinOp::Add, &Value::Int(2), &Value::Int(3)),
            Ok(Value::Int(5))
        );
        assert_eq!(
            arith(BinOp::Div, &Value::Int(7), &Value::Int(2)),
            Ok(Value::Int(3))
        );
        assert_eq!(
            arith(BinOp::Div, &Value::Int(7), &Value::Float(2.0)),
            Ok(Value::Float(3.5))
        );
        assert!(
            arith(BinOp::Add, &Value::Int(i64::MAX), &Value::Int(1))
                .unwrap_err()
                .contains("overflow")
        );
        assert!(
            arith(BinOp::Rem, &Value::Int(1), &Value::Int(0))
                .unwrap_err()
                .contains("division by zero")
        );
        assert!(arith(BinOp::Div, &Value::Int(i64::MIN), &Value::Int(-1)).is_err());
        assert!(arith(BinOp::Mul, &Value::Float(1e308), &Value::Float(10.0)).is_err());
        assert!(
            arith(BinOp::Add, &Value::symbol("a"), &Value::Int(1))
                .unwrap_err()
                .contains("symbol")
        );
    }
}
