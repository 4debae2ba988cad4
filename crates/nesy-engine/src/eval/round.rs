//! One round: each plan's first scan split into tasks run in parallel,
//! and what they derived merged in task order (tagged rounds in batches).

// Frames are indexed by variable numbers the compiler gave out, and rows by
// the planner's column positions; both are invariants of compiled plans.
#![allow(
    clippy::indexing_slicing,
    reason = "plan-checked frame and row offsets"
)]

use super::worker::Worker;
use super::{Ctx, RulePlan, Stats};
use crate::Error;
use crate::ir::RelId;
use crate::plan::{Op, Src};
use crate::semiring::Semiring;
use crate::storage::{self, Store};
use crate::tagging::{LocalEvents, Tagging};
use crate::value::{Interner, PENDING, Value};
use rayon::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::time::{Duration, Instant};

/// A piece of work: one plan, its first scan restricted to some rows.
pub(super) struct Task {
    pub(super) plan: usize,
    pub(super) restrict: Option<(usize, usize, usize)>,
}

/// Rows of a task that made up new values (plain evaluation), or every
/// task's rows with their tags (tagged evaluation).
pub(super) struct TaskOutput<S: Semiring> {
    pub(super) task: usize,
    pub(super) head: RelId,
    pub(super) rows: Vec<u32>,
    pub(super) pending: Vec<Value>,
    pub(super) tags: Vec<S::Tag>,
    pub(super) events: LocalEvents,
}

/// Rows per task when a scan is split.
pub(super) const CHUNK: usize = 2048;

/// Tasks per batch of a tagged round.
pub(super) const TAGGED_BATCH: usize = 16;

/// Runs one round: every plan, its first scan split into tasks run in
/// parallel, and what they derived merged into the stores' rows to add.
pub(super) fn run_round<S: Semiring>(
    sr: &S,
    plans: &[&RulePlan],
    stores: &mut [Store],
    interner: &mut Interner,
    ctx: &Ctx,
    stats: &mut Stats,
    mut tagging: Option<&mut Tagging<S>>,
) -> Result<(), Error> {
    let tasks = tasks(plans, stores);
    let timing = ctx.profiled.then(|| RoundTiming::new(stats));
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
        let run = Batch {
            sr,
            plans,
            ctx,
            timing: timing.as_ref(),
            first: b * batch,
        };
        let outputs = run.run(batch_tasks, stores, interner, tagging.as_deref())?;
        merge(sr, outputs, stores, interner, ctx, tagging.as_deref_mut())?;
    }
    if let Some(timing) = timing {
        timing.record(plans, stats);
    }
    ctx.check_time()
}

/// The tasks of a round: a plan whose first op scans a whole relation is
/// split into chunks of its rows; any other is one task.
fn tasks(plans: &[&RulePlan], stores: &[Store]) -> Vec<Task> {
    let mut tasks = Vec::new();
    for (p, plan) in plans.iter().enumerate() {
        match plan.ops.first() {
            Some(Op::Join {
                rel,
                index,
                version,
                key,
                exists,
                ..
            }) if key.is_empty() && !exists => {
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
    tasks
}

/// Rows a round's tasks may read, at most, to run on the calling thread.
const INLINE_ROWS: usize = CHUNK;

/// Whether a batch is small enough to run on the calling thread: one task,
/// or tasks whose first scans read fewer than [`INLINE_ROWS`] rows in all
/// (a task whose first step is not a chunked scan counts as the relation it
/// reads first, a bound on what its lookup can find).
fn small(tasks: &[Task], stores: &[Store], plans: &[&RulePlan]) -> bool {
    if tasks.len() <= 1 {
        return true;
    }
    let mut rows = 0;
    for task in tasks {
        rows += match task.restrict {
            Some((_, lo, hi)) => hi - lo,
            None => match plans.get(task.plan).and_then(|p| p.ops.first()) {
                Some(Op::Join { rel, .. } | Op::Anti { rel, .. }) => {
                    stores.get(*rel).map_or(0, |s| s.len)
                }
                _ => 1,
            },
        };
        if rows >= INLINE_ROWS {
            return false;
        }
    }
    true
}

/// Time and rows per rule, added up by the tasks of a round.
struct RoundTiming {
    time: Vec<AtomicU64>,
    rows: Vec<AtomicUsize>,
}

impl RoundTiming {
    fn new(stats: &Stats) -> Self {
        RoundTiming {
            time: stats.rules.iter().map(|_| AtomicU64::new(0)).collect(),
            rows: stats.rules.iter().map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    fn add(&self, rule: usize, started: Instant, rows: usize) {
        if let (Some(t), Some(n)) = (self.time.get(rule), self.rows.get(rule)) {
            t.fetch_add(started.elapsed().as_nanos() as u64, AtomicOrdering::Relaxed);
            n.fetch_add(rows, AtomicOrdering::Relaxed);
        }
    }

    fn record(&self, plans: &[&RulePlan], stats: &mut Stats) {
        for plan in plans {
            if let Some(rule_stats) = stats.rules.get_mut(plan.rule) {
                rule_stats.evaluations += 1;
            }
        }
        for (r, rule_stats) in stats.rules.iter_mut().enumerate() {
            if let (Some(t), Some(n)) = (self.time.get(r), self.rows.get(r)) {
                rule_stats.time += Duration::from_nanos(t.load(AtomicOrdering::Relaxed));
                rule_stats.derived += n.load(AtomicOrdering::Relaxed);
            }
        }
    }
}

/// One batch of a round's tasks, run in parallel.
struct Batch<'b, S: Semiring> {
    sr: &'b S,
    plans: &'b [&'b RulePlan],
    ctx: &'b Ctx<'b>,
    timing: Option<&'b RoundTiming>,
    /// The number of the batch's first task.
    first: usize,
}

impl<S: Semiring> Batch<'_, S> {
    /// Runs the tasks. Plain rows go straight into their head's buffer as
    /// each task ends, so a round never holds its output twice; rows with
    /// values a task made up (which need the interner) and tagged rows are
    /// returned, to be merged in task order (so that results do not depend
    /// on which thread finished first).
    fn run(
        &self,
        tasks: &[Task],
        stores: &mut [Store],
        interner: &Interner,
        tagging: Option<&Tagging<S>>,
    ) -> Result<Vec<TaskOutput<S>>, Error> {
        // One buffer per relation the tasks derive (a round fills few of
        // the program's relations).
        let mut heads: Vec<RelId> = tasks
            .iter()
            .filter_map(|t| self.plans.get(t.plan).map(|p| p.head))
            .collect();
        heads.sort_unstable();
        heads.dedup();
        let sinks: Vec<(RelId, Mutex<Vec<u32>>)> = heads
            .iter()
            .filter_map(|&h| {
                let store = stores.get_mut(h)?;
                Some((h, Mutex::new(std::mem::take(&mut store.to_add))))
            })
            .collect();
        let kept: Mutex<Vec<TaskOutput<S>>> = Mutex::new(Vec::new());
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        let frozen: &[Store] = stores;
        let body = |(i, task): (usize, &Task)| {
            let output = match self.task(task, self.first + i, frozen, interner, tagging) {
                Ok(output) => output,
                Err(error) => {
                    // The first failure is the one reported; the workers it
                    // stops fail too, with nothing to say.
                    if !self.ctx.stop.swap(true, AtomicOrdering::SeqCst) {
                        *first_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
                    }
                    return Err(());
                }
            };
            let Some(output) = output else {
                return Ok(());
            };
            if S::PLAIN && output.pending.is_empty() {
                if let Some((_, sink)) = sinks.iter().find(|(h, _)| *h == output.head) {
                    let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
                    if sink.is_empty() {
                        *sink = output.rows;
                    } else {
                        // Large buffers grow by `mremap`, without copying.
                        sink.extend_from_slice(&output.rows);
                    }
                }
            } else {
                kept.lock().unwrap_or_else(|e| e.into_inner()).push(output);
            }
            Ok(())
        };
        // Handing a few rows to the pool's threads costs more than reading
        // them (a request's rounds take microseconds; waking a thread, tens).
        let result = if small(tasks, frozen, self.plans) {
            tasks.iter().enumerate().try_for_each(body)
        } else {
            tasks.par_iter().enumerate().try_for_each(body)
        };
        for (head, sink) in sinks {
            if let Some(store) = stores.get_mut(head) {
                store.to_add = sink.into_inner().unwrap_or_else(|e| e.into_inner());
            }
        }
        if result.is_err() {
            return Err(first_error
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or(Error::Compile {
                    location: None,
                    message: "evaluation failed".to_string(),
                }));
        }
        let mut outputs = kept.into_inner().unwrap_or_else(|e| e.into_inner());
        outputs.sort_by_key(|o| o.task);
        Ok(outputs)
    }

    /// One task: a worker runs its plan over the frozen stores.
    fn task(
        &self,
        task: &Task,
        number: usize,
        stores: &[Store],
        interner: &Interner,
        tagging: Option<&Tagging<S>>,
    ) -> Result<Option<TaskOutput<S>>, Error> {
        let started = self.timing.map(|_| Instant::now());
        let Some(plan) = self.plans.get(task.plan) else {
            return Ok(None);
        };
        let width = stores.get(plan.head).map_or(1, |s| s.width);
        // Rows are emitted without their tuple id.
        let width = if S::PLAIN { width } else { width - 1 };
        let mut worker = Worker::new(
            self.sr,
            stores,
            self.ctx,
            interner,
            plan.vars,
            &plan.location,
            width,
            tagging,
            plan.rule,
        );
        let one = self.sr.one();
        worker
            .run(&plan.ops, &plan.head_args, task.restrict, &one)
            .map_err(|e| match e {
                // Name the relation the rule fills, not only the rule.
                Error::TooManyTuples { limit, relation } => Error::TooManyTuples {
                    limit,
                    relation: self
                        .ctx
                        .relations
                        .get(plan.head)
                        .map_or(relation, |head| head.name.clone()),
                },
                e => e,
            })?;
        let rows = worker.outs.pop().map(|(rows, _)| rows).unwrap_or_default();
        worker.recycle();
        if let (Some(timing), Some(started)) = (self.timing, started) {
            timing.add(plan.rule, started, rows.len() / width);
        }
        Ok(Some(TaskOutput {
            task: number,
            head: plan.head,
            rows,
            pending: worker.scratch.pending,
            tags: worker.out_tags,
            events: worker.events,
        }))
    }
}

/// Merges the outputs kept by a batch, in task order: made-up values are
/// interned, tagged rows merged with their tags.
fn merge<S: Semiring>(
    sr: &S,
    outputs: Vec<TaskOutput<S>>,
    stores: &mut [Store],
    interner: &mut Interner,
    ctx: &Ctx,
    mut tagging: Option<&mut Tagging<S>>,
) -> Result<(), Error> {
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
    Ok(())
}

pub(super) fn max_var(plan: &RulePlan) -> usize {
    pub(super) fn ops_max(ops: &[Op], m: &mut usize) {
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
    for e in &plan.head_args {
        e.vars(&mut head_vars);
    }
    head_vars.into_iter().fold(m, usize::max)
}
