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

pub(super) fn run_round<S: Semiring>(
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
    for e in plan.head_args {
        e.vars(&mut head_vars);
    }
    head_vars.into_iter().fold(m, usize::max)
}
