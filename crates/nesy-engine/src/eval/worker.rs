//! The worker: one plan run over the stores, binding a frame of
//! variables op by op (joins, negations, model calls, comparisons), and
//! emitting the head's rows with their tags.

// Frames are indexed by variable numbers the compiler gave out, and rows by
// the planner's column positions; both are invariants of compiled plans.
#![allow(
    clippy::indexing_slicing,
    reason = "plan-checked frame and row offsets"
)]

use super::Ctx;
use crate::Error;
use crate::foreign::ModelOutput;
use crate::ir::{Call, Expr, RelId, Var};
use crate::plan::{Op, Src};
use crate::semiring::{Events, Semiring};
use crate::storage::{self, Index, Store, Version};
use crate::tagging::{EventKey, LocalEvents, RuleWeight, Tagging, narrow_key};
use crate::value::{Interner, PENDING, Scratch, Value};
use nesy_lang::Location;
use rustc_hash::FxHashMap;
use std::sync::atomic::Ordering as AtomicOrdering;

/// Rows a worker holds before it drops repeated ones when no tuple limit
/// is set (16 MiB of single-column rows).
const UNLIMITED_COMPACTION: usize = 1 << 22;

/// A worker's buffers, kept per thread between workers: a request runs
/// dozens of small tasks, and each would otherwise allocate them anew.
#[derive(Default)]
struct Buffers {
    frame: Vec<u32>,
    outs: Vec<(Vec<u32>, usize)>,
    cache: Vec<JoinCache>,
}

/// Buffers kept per thread, and the largest kept (in elements).
const KEPT_BUFFERS: usize = 8;
const KEPT_BUFFER_LEN: usize = 1 << 12;

thread_local! {
    static BUFFERS: std::cell::RefCell<Vec<Buffers>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs one plan over a frame of variable bindings.
pub(super) struct Worker<'a, S: Semiring> {
    pub(super) sr: &'a S,
    pub(super) stores: &'a [Store],
    pub(super) ctx: &'a Ctx<'a>,
    pub(super) scratch: Scratch<'a>,
    pub(super) frame: Vec<u32>,
    /// Output buffers with the width of their rows: the rule's rows at
    /// the bottom, an aggregate's collected rows above while it runs.
    pub(super) outs: Vec<(Vec<u32>, usize)>,
    pub(super) location: &'a Location,
    pub(super) emitted: usize,
    /// Per plan depth, the last lookup's ranges.
    pub(super) cache: Vec<JoinCache>,
    /// Rows scanned, to check the clock now and then.
    pub(super) steps: u64,
    /// Tagged evaluation: the tags of the relations read.
    pub(super) tagging: Option<&'a Tagging<S>>,
    /// The tag of each row of the rule's output.
    pub(super) out_tags: Vec<S::Tag>,
    /// Events first met by this worker.
    pub(super) events: LocalEvents,
    /// Tagged evaluation: rows of one or two columns already emitted, to
    /// the index of their tag.
    pub(super) seen: FxHashMap<u64, usize>,
    /// The rule's index (for its weight and instances).
    pub(super) rule: usize,
    /// Rows held above which repeats are dropped again (see
    /// `count_emission`).
    pub(super) compact_at: usize,
}

impl<'a, S: Semiring> Worker<'a, S> {
    #[allow(clippy::too_many_arguments, reason = "a worker's borrowed parts")]
    pub(super) fn new(
        sr: &'a S,
        stores: &'a [Store],
        ctx: &'a Ctx<'a>,
        interner: &'a Interner,
        vars: usize,
        location: &'a Location,
        head: usize,
        tagging: Option<&'a Tagging<S>>,
        rule: usize,
    ) -> Self {
        let mut kept = BUFFERS
            .with(|b| b.try_borrow_mut().ok().and_then(|mut b| b.pop()))
            .unwrap_or_default();
        kept.frame.clear();
        kept.frame.resize(vars.max(1), 0);
        kept.outs.clear();
        kept.outs.push((Vec::new(), head.max(1)));
        // A kept cache names ops of another plan: forget its keys.
        for c in &mut kept.cache {
            c.op = 0;
        }
        Worker {
            sr,
            stores,
            ctx,
            scratch: Scratch::new(interner),
            frame: kept.frame,
            outs: kept.outs,
            location,
            emitted: 0,
            cache: kept.cache,
            steps: 0,
            tagging,
            out_tags: Vec::new(),
            events: LocalEvents::default(),
            seen: FxHashMap::default(),
            rule,
            compact_at: 0,
        }
    }

    /// Gives this worker's buffers back to the thread's pool (after its
    /// output was taken), small ones only.
    pub(super) fn recycle(&mut self) {
        let buffers = Buffers {
            frame: std::mem::take(&mut self.frame),
            outs: std::mem::take(&mut self.outs),
            cache: std::mem::take(&mut self.cache),
        };
        if buffers.frame.capacity() > KEPT_BUFFER_LEN
            || buffers.cache.len() > KEPT_BUFFER_LEN
            || buffers
                .outs
                .iter()
                .any(|(o, _)| o.capacity() > KEPT_BUFFER_LEN)
        {
            return;
        }
        BUFFERS.with(|b| {
            if let Ok(mut b) = b.try_borrow_mut()
                && b.len() < KEPT_BUFFERS
            {
                b.push(buffers);
            }
        });
    }

    /// Whether tags are followed here: tagged evaluation, outside
    /// aggregates (whose results count as certain).
    pub(super) fn tags_on(&self) -> bool {
        !S::PLAIN && self.tagging.is_some() && self.outs.len() == 1
    }

    pub(super) fn event_probabilities(&self) -> Events<'_> {
        events_of(self.tagging, &self.events)
    }

    /// The tag of stored row `row` of relation `rel`.
    pub(super) fn row_tag(&self, rel: RelId, row: &[u32]) -> Option<&'a S::Tag> {
        let tagging = self.tagging?;
        let id = *row.last()?;
        tagging.tables.get(rel)?.tags.get(id as usize)
    }

    /// An event's tag: one with identity when the semiring names events.
    pub(super) fn event_tag(
        &mut self,
        key: impl FnOnce() -> EventKey,
        p: f64,
        name: impl FnOnce() -> String,
    ) -> Result<S::Tag, Error> {
        let id = self.event_id(key, p, name)?;
        Ok(self.sr.event(id, p))
    }

    /// An event's id (0 where the semiring does not name events), within
    /// the event limit.
    fn event_id(
        &mut self,
        key: impl FnOnce() -> EventKey,
        p: f64,
        name: impl FnOnce() -> String,
    ) -> Result<u32, Error> {
        if !S::EVENTS {
            return Ok(0);
        }
        let Some(tagging) = self.tagging else {
            return Ok(0);
        };
        let id = self.events.id(&tagging.events, key(), p, name);
        if let Some(limit) = self.ctx.limits.max_events
            && tagging.events.len() + self.events.len() > limit
        {
            return Err(Error::TooManyEvents { limit });
        }
        Ok(id)
    }

    /// The tag of a model's answer: one event per distinct call.
    /// For one of exclusive answers, `choice` is its place and their count.
    pub(super) fn call_tag(
        &mut self,
        call: &Call,
        inputs: &[Value],
        outputs: &[Value],
        p: f64,
        choice: Option<(usize, usize)>,
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
                let prefix = choice
                    .map(|(i, n)| format!("choice {} of {n}: ", i + 1))
                    .unwrap_or_default();
                format!(
                    "{prefix}{}.{}({}) -> ({})",
                    call.model_name,
                    call.method,
                    list(inputs),
                    list(outputs)
                )
            },
        )
    }

    /// The tag of the weighted rule instance the frame holds: each binding
    /// of the rule's variables is an independent event, as in ProbLog. For
    /// a head of an annotated disjunction, the choices before it fail and
    /// its own happens; the heads of one instance share those choices.
    pub(super) fn rule_instance_tag(&mut self, weight: &RuleWeight) -> Result<S::Tag, Error> {
        let Some(&own) = weight.choices.last() else {
            return Ok(self.sr.one());
        };
        if !S::EVENTS {
            let last = weight.choices.len() - 1;
            let literals: Vec<(u32, f64, bool)> = weight
                .choices
                .iter()
                .enumerate()
                .map(|(i, &q)| (0, q, i == last))
                .collect();
            return Ok(self.sr.all_of(&literals, self.event_probabilities()));
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
        let bindings = || -> String {
            names
                .iter()
                .zip(&values)
                .filter(|(n, _)| !n.starts_with('_'))
                .map(|(n, v)| format!("{n} = {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(first) = weight.disjunction else {
            let text = format!("rule {location} with {}", bindings());
            let key_values = values.clone();
            return self.event_tag(|| EventKey::Rule(rule, key_values), own, || text);
        };
        // The heads' rules number their variables apart: name the instance
        // by the values in the order of the variables' names.
        let mut named: Vec<(&String, &Value)> = names.iter().zip(&values).collect();
        named.sort();
        let key_values: Vec<Value> = named.into_iter().map(|(_, v)| v.clone()).collect();
        let text = bindings();
        let count = weight.choices.len();
        let mut literals = Vec::with_capacity(count);
        for (position, &q) in weight.choices.iter().enumerate() {
            let key = EventKey::Choice(first, position, key_values.clone());
            let name = || format!("choice {} of rule {location} with {text}", position + 1);
            let id = self.event_id(|| key, q, name)?;
            literals.push((id, q, position + 1 == count));
        }
        Ok(self.sr.all_of(&literals, self.event_probabilities()))
    }

    /// `not rel(key...)` under tags: the product of the negations of the
    /// tags of the tuples it could match (none: it holds for sure). Inside
    /// an aggregate only a certain tuple makes it fail.
    #[allow(
        clippy::too_many_arguments,
        reason = "the negated atom's parts and the rest of the plan"
    )]
    pub(super) fn tagged_negation(
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
pub(super) fn events_of<'b, S: Semiring>(
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
pub(super) struct JoinCache {
    pub(super) op: usize,
    pub(super) len: usize,
    pub(super) key: [u32; KEY_STACK],
    pub(super) ranges: Vec<(usize, usize)>,
}

/// Keys up to this many columns are built on the stack.
pub(super) const KEY_STACK: usize = 8;

/// A key's values ([`Worker::key`]).
struct Key {
    stack: [u32; KEY_STACK],
    heap: Vec<u32>,
    len: usize,
}

impl Key {
    fn as_slice(&self) -> &[u32] {
        if self.len <= KEY_STACK {
            &self.stack[..self.len]
        } else {
            &self.heap
        }
    }
}

impl<'a, S: Semiring> Worker<'a, S> {
    pub(super) fn arithmetic(&self, message: String) -> Error {
        Error::Arithmetic {
            location: self.location.clone(),
            message,
        }
    }

    /// Runs the ops from the first of `ops` on, then emits the head's row;
    /// `restrict` limits the first scan to some rows of one run (a task).
    pub(super) fn run(
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
            Op::Join { .. } => self.join(ops, terminal, restrict, tag),
            Op::Anti { rel, index, key } => {
                self.anti(ops.len(), op, (*rel, *index, key), rest, terminal, tag)
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
            } => self.call(call, binds, checks, rest, terminal, tag),
        }
    }

    /// The values of a key, on the stack for keys of up to [`KEY_STACK`]
    /// columns.
    fn key(&self, sources: &[Src]) -> Key {
        let mut key = Key {
            stack: [0; KEY_STACK],
            heap: Vec::new(),
            len: sources.len(),
        };
        if sources.len() <= KEY_STACK {
            for (slot, s) in key.stack.iter_mut().zip(sources) {
                *slot = self.src(*s);
            }
        } else {
            key.heap = sources.iter().map(|s| self.src(*s)).collect();
        }
        key
    }

    /// A join (`ops[0]`): each row of the relation matching the key binds
    /// the frame and runs the rest, its tag multiplied in.
    fn join(
        &mut self,
        ops: &'a [Op],
        terminal: &'a [Expr],
        restrict: Option<(usize, usize, usize)>,
        tag: &S::Tag,
    ) -> Result<(), Error> {
        let Some((
            op @ Op::Join {
                rel,
                index,
                version,
                key,
                binds,
                checks,
                exists,
            },
            rest,
        )) = ops.split_first()
        else {
            return Ok(());
        };
        let Some(store) = self.stores.get(*rel) else {
            return Ok(());
        };
        let Some(idx) = store.indexes.get(*index) else {
            return Ok(());
        };
        let width = store.width;
        let key = self.key(key);
        let key_vals = key.as_slice();
        // A value made in this round exists in no relation yet.
        if key_vals.iter().any(|&k| k >= PENDING) {
            return Ok(());
        }
        let cacheable = restrict.is_none() && !key_vals.is_empty() && key_vals.len() <= KEY_STACK;
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
                // A join may scan long without deriving anything (a filter
                // rejecting a cross product): check the clock here too,
                // not only when rows are emitted.
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
                if !self.tags_on() {
                    self.run(rest, terminal, None, tag)?;
                    if *exists {
                        // Untagged, every further row would derive the
                        // same: `c(_, _, _)` is not a cross product.
                        return Ok(());
                    }
                    continue;
                }
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
            }
        }
        Ok(())
    }

    /// `not rel(key...)`: the rest runs when no row matches (under a
    /// semiring, with the matching rows' tags negated in).
    fn anti(
        &mut self,
        depth: usize,
        op: &Op,
        (rel, index, key): (RelId, usize, &[Src]),
        rest: &'a [Op],
        terminal: &'a [Expr],
        tag: &S::Tag,
    ) -> Result<(), Error> {
        let Some(store) = self.stores.get(rel) else {
            return self.run(rest, terminal, None, tag);
        };
        let Some(idx) = store.indexes.get(index) else {
            return self.run(rest, terminal, None, tag);
        };
        let key = self.key(key);
        let key_vals = key.as_slice();
        if !S::PLAIN && self.tagging.is_some() {
            return self.tagged_negation(rel, idx, store.width, key_vals, rest, terminal, tag);
        }
        let found = if key_vals.iter().any(|&k| k >= PENDING) {
            false
        } else if !key_vals.is_empty() && key_vals.len() <= KEY_STACK {
            self.lookup(depth, op, idx, Version::Full, store.width, key_vals);
            self.cache[depth].ranges.iter().any(|(lo, hi)| lo < hi)
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

    /// A model call: each answer binds the outputs (or is checked against
    /// bound ones) and runs the rest, its probability the answer's tag.
    fn call(
        &mut self,
        call: &'a Call,
        binds: &[(usize, Var)],
        checks: &[(usize, Src)],
        rest: &'a [Op],
        terminal: &'a [Expr],
        tag: &S::Tag,
    ) -> Result<(), Error> {
        let inputs: Vec<Value> = call
            .inputs
            .iter()
            .map(|a| match a {
                crate::ir::Arg::Var(v) => self.scratch.value(self.frame[*v]).clone(),
                crate::ir::Arg::Const(c) => self.scratch.value(*c).clone(),
                crate::ir::Arg::Wild => Value::Bool(false),
            })
            .collect();
        let answers = call
            .model
            .call(&call.method, &inputs)
            .map_err(|message| Error::Model {
                location: self.location.clone(),
                call: format!("{}.{}", call.model_name, call.method),
                message,
            })?;
        let mut answer_tags = Vec::new();
        if self.tags_on() {
            answer_tags = self.answer_tags(call, &inputs, &answers)?;
        }
        for (i, answer) in answers.into_iter().enumerate() {
            let answer_tag = if let Some(t) = answer_tags.get(i) {
                let t = self.sr.mul(tag, t, self.event_probabilities());
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

    /// The tags of a call's answers: each its own event, or for exclusive
    /// answers one annotated disjunction in the order given (answer `i`
    /// holds when the choices of the answers before it fail and its own
    /// happens, with probability `p_i / (1 - p_0 - ... - p_{i-1})`).
    fn answer_tags(
        &mut self,
        call: &Call,
        inputs: &[Value],
        answers: &[ModelOutput],
    ) -> Result<Vec<S::Tag>, Error> {
        if call.exclusive && answers.len() > nesy_lang::MAX_DISJUNCTION_HEADS {
            // One disjunction of that many choices: as in the language.
            return Err(Error::Model {
                location: self.location.clone(),
                call: format!("{}.{}", call.model_name, call.method),
                message: format!(
                    "{} exclusive answers (classes); at most {} under a probabilistic semiring",
                    answers.len(),
                    nesy_lang::MAX_DISJUNCTION_HEADS
                ),
            });
        }
        let mut tags = Vec::with_capacity(answers.len());
        let mut failed = self.sr.one();
        let mut left = 1.0;
        let count = answers.len();
        for (i, answer) in answers.iter().enumerate() {
            if !call.exclusive {
                tags.push(self.call_tag(call, inputs, &answer.values, answer.probability, None)?);
                continue;
            }
            let p = answer.probability;
            let q = if left > 0.0 {
                (p / left).clamp(0.0, 1.0)
            } else {
                0.0
            };
            left -= p;
            let choice = self.call_tag(call, inputs, &answer.values, q, Some((i, count)))?;
            let events = self.event_probabilities();
            tags.push(self.sr.mul(&failed, &choice, events));
            let fails = self.sr.negate(&choice, events);
            failed = self.sr.mul(&failed, &fails, events);
        }
        Ok(tags)
    }

    /// Finds the rows starting with `key` in each run of `idx`, into
    /// `self.cache[depth].ranges`. Scans usually arrive sorted by the key a
    /// later op looks up, so the last key's ranges are reused when the key
    /// repeats, and searched forward from when it grows.
    pub(super) fn lookup(
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
    pub(super) fn check_stop(&self) -> Result<(), Error> {
        if self.ctx.stop.load(AtomicOrdering::Relaxed) {
            // Another worker failed; its error is the one reported and this
            // one is dropped.
            return Err(Error::Compile {
                location: Some(self.location.clone()),
                message: "stopped because another part of the evaluation failed".to_string(),
            });
        }
        self.ctx.check_time()
    }

    pub(super) fn src(&self, s: Src) -> u32 {
        match s {
            Src::Var(v) => self.frame[v],
            Src::Const(c) => c,
        }
    }

    pub(super) fn emit(&mut self, terminal: &'a [Expr], tag: &S::Tag) -> Result<(), Error> {
        let mut row_tag = None;
        if self.tags_on() {
            let t = match self
                .tagging
                .and_then(|t| t.weights.get(self.rule))
                .and_then(Option::as_ref)
            {
                Some(weight) => {
                    let weight = self.rule_instance_tag(weight)?;
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
        let Some((out, _)) = self.outs.last_mut() else {
            return Ok(());
        };
        if row.is_empty() {
            out.push(0);
        } else {
            out.extend_from_slice(row);
        }
        self.count_emission()
    }

    /// Rows held in the output buffers.
    fn held(&self) -> usize {
        self.outs.iter().map(|(out, w)| out.len() / w).sum()
    }

    /// Checks the clock and the tuple limit now and then as rows come.
    pub(super) fn count_emission(&mut self) -> Result<(), Error> {
        self.emitted += 1;
        let every = if S::PLAIN { 4096 } else { 64 };
        if self.emitted.is_multiple_of(every) {
            self.check_stop()?;
            // An aggregate's enumerated rows are held too, until it folds
            // them: they count against the limit as derived rows do.
            let limit = self.ctx.limits.max_tuples;
            let mut held = self.held();
            if held > limit.unwrap_or(UNLIMITED_COMPACTION).max(self.compact_at) {
                // What counts is what the relation would hold, not how
                // often a rule derives the same row: drop the repeats
                // before judging (memory stays within about twice the
                // limit, or twice the distinct rows; without a limit,
                // repeats are dropped past a few million rows all the
                // same).
                let tagged = !self.out_tags.is_empty();
                for (i, (out, w)) in self.outs.iter_mut().enumerate() {
                    // Tagged rows stand beside their tags, by position.
                    if !(i == 0 && tagged) {
                        storage::sort_dedup(out, *w);
                    }
                }
                held = self.held();
                self.compact_at = held.saturating_mul(2);
                if let Some(limit) = limit
                    && held > limit
                {
                    return Err(Error::TooManyTuples {
                        limit,
                        relation: format!("the rule at {}", self.location),
                    });
                }
            }
        }
        Ok(())
    }
}
