//! What tagged evaluation keeps beside the relations: one tag per tuple,
//! and the events tags are made of.
//!
//! Each tuple of a tagged store carries, in its last column, its id in the
//! relation's [`TagTable`]. Rows a round derives arrive with their tags and
//! are merged here: a new tuple gets an id and its tag; a known tuple's tag
//! is added to, and if that changed it, the tuple is read again by the next
//! round's delta plans (semi-naive over tags). A semiring whose addition is
//! not idempotent (`add-mult`) instead recomputes a recursive stratum's
//! tags from scratch each round, to a fixpoint.

use crate::ir::{RelId, Var};
use crate::semiring::{Events, LOCAL_EVENT, Semiring};
use crate::storage::Store;
use crate::value::Value;
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// The tags of one relation's tuples, by tuple id.
#[derive(Clone)]
pub(crate) struct TagTable<T> {
    pub(crate) tags: Vec<T>,
    /// Tuple (stored columns, without the id) to its id.
    ids: TupleIds,
    /// Each tuple's stored columns, by id.
    pub(crate) rows: Vec<u32>,
    /// Stored columns per tuple.
    pub(crate) width: usize,
    /// Tuples stored before this round: only those can be retagged (a
    /// tuple new this round is read by the next round's delta anyway).
    stored: u32,
}

impl<T> TagTable<T> {
    pub(crate) fn new(width: usize) -> Self {
        TagTable {
            tags: Vec::new(),
            ids: if width <= 2 {
                TupleIds::Narrow(FxHashMap::default())
            } else {
                TupleIds::Wide(FxHashMap::default())
            },
            rows: Vec::new(),
            width,
            stored: 0,
        }
    }
}

/// Tuple ids by tuple: tuples of one or two columns (most relations) as
/// one `u64` key, which hashes and compares without touching the heap.
#[derive(Clone)]
enum TupleIds {
    Narrow(FxHashMap<u64, u32>),
    Wide(FxHashMap<Box<[u32]>, u32>),
}

/// A tuple of one or two columns as one key.
pub(crate) fn narrow_key(row: &[u32]) -> u64 {
    row.iter().fold(0u64, |k, &v| (k << 32) | u64::from(v))
}

impl TupleIds {
    /// The tuple's id, or `next` (then recorded as its id) if it is new.
    fn get_or_insert(&mut self, row: &[u32], next: u32) -> (u32, bool) {
        match self {
            TupleIds::Narrow(map) => {
                let entry = map.entry(narrow_key(row));
                match entry {
                    std::collections::hash_map::Entry::Occupied(e) => (*e.get(), false),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(next);
                        (next, true)
                    }
                }
            }
            TupleIds::Wide(map) => match map.get(row) {
                Some(&id) => (id, false),
                None => {
                    map.insert(row.into(), next);
                    (next, true)
                }
            },
        }
    }
}

/// What an event is, so that deriving the same rule instance or model
/// answer again reuses its event instead of making an independent one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum EventKey {
    /// A base fact (`p :: fact.`), by its place among them.
    Fact(usize),
    /// A weighted rule's ground instance: rule index and its variables'
    /// values.
    Rule(usize, Vec<Value>),
    /// A choice of an annotated disjunction's ground instance: the rule
    /// of its first head, the choice's position, and the values of the
    /// body's variables ordered by name (shared by all its heads).
    Choice(usize, usize, Vec<Value>),
    /// A model's answer: model, method, inputs, outputs.
    Call(String, String, Vec<Value>, Vec<Value>),
}

/// Every event: its probability and what it is.
#[derive(Clone, Default)]
pub(crate) struct EventTable {
    pub(crate) probabilities: Vec<f64>,
    pub(crate) names: Vec<String>,
    /// What each event is, by id (for gradients: which parameters its
    /// probability depends on).
    pub(crate) keys: Vec<EventKey>,
    ids: FxHashMap<EventKey, u32>,
}

impl EventTable {
    pub(crate) fn add(&mut self, key: EventKey, p: f64, name: String) -> u32 {
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let id = self.probabilities.len() as u32;
        self.probabilities.push(p);
        self.names.push(name);
        self.keys.push(key.clone());
        self.ids.insert(key, id);
        id
    }

    pub(crate) fn len(&self) -> usize {
        self.probabilities.len()
    }

    pub(crate) fn view(&self) -> Events<'_> {
        Events::known(&self.probabilities)
    }
}

/// A worker's new events, renamed to real ids when its output is merged.
#[derive(Default)]
pub(crate) struct LocalEvents {
    pub(crate) probabilities: Vec<f64>,
    names: Vec<String>,
    keys: Vec<EventKey>,
    ids: FxHashMap<EventKey, u32>,
}

impl LocalEvents {
    /// The event's id: a real one if it is known, else a local one.
    pub(crate) fn id(
        &mut self,
        known: &EventTable,
        key: EventKey,
        p: f64,
        name: impl FnOnce() -> String,
    ) -> u32 {
        if let Some(&id) = known.ids.get(&key) {
            return id;
        }
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let id = LOCAL_EVENT + self.probabilities.len() as u32;
        self.probabilities.push(p);
        self.names.push(name());
        self.keys.push(key.clone());
        self.ids.insert(key, id);
        id
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

/// The weight of a rule: each ground instance's tag is multiplied by it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RuleWeight {
    /// Where the probabilities of the heads up to this one come from
    /// (one for `p :: rule`): what the gradient follows.
    pub(crate) heads: Vec<Weight>,
    /// The probabilities of the instance's choices: `[p]` for `p :: rule`
    /// (one event); for the head at position `i` of an annotated
    /// disjunction, the conditional probabilities of choices `0..=i` (the
    /// first `i` must fail, the last happen).
    pub(crate) choices: Vec<f64>,
    /// For a disjunction: the index of its first head's rule, which names
    /// the choice events its heads share for one instance.
    pub(crate) disjunction: Option<usize>,
}

/// Where a probability comes from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Weight {
    /// Written: `0.3 :: ...`.
    Fixed(f64),
    /// Tunable, `t(...) :: ...`: its value is the program's parameter.
    Tunable(ParamKey),
}

/// A tunable probability (`t(...)`), by where it is written: the source's
/// name and the byte offset of the `t(...)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamKey {
    /// The source file's name, as given.
    pub file: std::sync::Arc<str>,
    /// Where its `t(...)` starts in that file.
    pub offset: usize,
}

/// What tagging needs of each rule evaluated, by position.
#[derive(Clone, Default)]
pub(crate) struct RuleTags {
    pub(crate) weights: Vec<Option<RuleWeight>>,
    pub(crate) instance_vars: Vec<Vec<Var>>,
    pub(crate) var_names: Vec<Vec<String>>,
    pub(crate) rule_ids: Vec<usize>,
}

impl RuleTags {
    /// The entries of the rules at `picked` positions.
    pub(crate) fn pick(&self, picked: &[usize]) -> RuleTags {
        RuleTags {
            weights: picked
                .iter()
                .map(|&i| self.weights.get(i).cloned().flatten())
                .collect(),
            instance_vars: picked
                .iter()
                .map(|&i| self.instance_vars.get(i).cloned().unwrap_or_default())
                .collect(),
            var_names: picked
                .iter()
                .map(|&i| self.var_names.get(i).cloned().unwrap_or_default())
                .collect(),
            rule_ids: picked
                .iter()
                .map(|&i| self.rule_ids.get(i).copied().unwrap_or(i))
                .collect(),
        }
    }
}

/// The tag state of a tagged evaluation.
pub(crate) struct Tagging<S: Semiring> {
    /// Shared with a prepared base evaluation for the relations a request
    /// does not derive again (those are never written).
    pub(crate) tables: Vec<Arc<TagTable<S::Tag>>>,
    pub(crate) events: EventTable,
    /// Per rule: its weight (`p :: rule`, or a disjunction's head).
    pub(crate) weights: Vec<Option<RuleWeight>>,
    /// Per rule: the variables whose values make one of its instances.
    pub(crate) instance_vars: Vec<Vec<Var>>,
    /// Per rule: its variables' names (to name its instances).
    pub(crate) var_names: Vec<Vec<String>>,
    /// Per rule: its index in the whole program (a request evaluates some
    /// of the rules; an instance's event is named by the program's index).
    pub(crate) rule_ids: Vec<usize>,
    /// Naive rounds: per relation of the stratum, the tags being recomputed.
    fresh: Vec<Option<Vec<S::Tag>>>,
    /// Naive rounds: whether a tag or tuple changed.
    pub(crate) changed: bool,
}

impl<S: Semiring> Tagging<S> {
    pub(crate) fn new(
        tables: Vec<Arc<TagTable<S::Tag>>>,
        events: EventTable,
        rules: RuleTags,
    ) -> Self {
        let widths = tables.len();
        Tagging {
            tables,
            events,
            weights: rules.weights,
            instance_vars: rules.instance_vars,
            var_names: rules.var_names,
            rule_ids: rules.rule_ids,
            fresh: (0..widths).map(|_| None).collect(),
            changed: false,
        }
    }

    /// Gives a worker's new events real ids, renaming them in its tags.
    pub(crate) fn adopt_events(&mut self, sr: &S, local: LocalEvents, tags: &mut [S::Tag]) {
        if local.is_empty() {
            return;
        }
        let ids: Vec<u32> = local
            .keys
            .into_iter()
            .zip(local.probabilities)
            .zip(local.names)
            .map(|((key, p), name)| self.events.add(key, p, name))
            .collect();
        let rename = |e: u32| {
            if e >= LOCAL_EVENT {
                ids.get((e - LOCAL_EVENT) as usize).copied().unwrap_or(e)
            } else {
                e
            }
        };
        for tag in tags {
            sr.rename(tag, &rename, self.events.view());
        }
    }

    /// Starts a round: what is stored now is what it can retag.
    pub(crate) fn begin_round(&mut self) {
        // Shared tables are a base evaluation's, never written here.
        for table in self.tables.iter_mut().filter_map(Arc::get_mut) {
            table.stored = table.tags.len() as u32;
        }
    }

    /// Starts a naive round over `relations`: their tags are recomputed
    /// from `base` (the tags they had before the stratum).
    pub(crate) fn begin_naive(&mut self, base: &[(RelId, Vec<S::Tag>)], sr: &S) {
        self.changed = false;
        for (rel, tags) in base {
            let mut fresh = tags.clone();
            let len = self.tables.get(*rel).map_or(0, |t| t.tags.len());
            fresh.resize(len, sr.zero());
            if let Some(slot) = self.fresh.get_mut(*rel) {
                *slot = Some(fresh);
            }
        }
    }

    /// Ends a naive round: the recomputed tags replace the old ones.
    pub(crate) fn end_naive(&mut self, sr: &S) {
        for (table, fresh) in self.tables.iter_mut().zip(&mut self.fresh) {
            if let Some(fresh) = fresh.take() {
                let table = Arc::make_mut(table);
                let same = fresh.len() == table.tags.len()
                    && fresh
                        .iter()
                        .zip(&table.tags)
                        .all(|(new, old)| sr.converged(old, new));
                if !same {
                    self.changed = true;
                }
                table.tags = fresh;
            }
        }
    }

    /// Merges derived rows (stored columns, without ids) and their tags
    /// into relation `rel`: new tuples go to the store's rows to add, known
    /// tuples whose tag changed to its rows to read again.
    pub(crate) fn merge(
        &mut self,
        sr: &S,
        rel: RelId,
        store: &mut Store,
        rows: &[u32],
        tags: Vec<S::Tag>,
    ) {
        let events = self.events.view();
        let (Some(table), Some(fresh)) = (self.tables.get_mut(rel), self.fresh.get_mut(rel)) else {
            return;
        };
        let table = Arc::make_mut(table);
        let width = table.width;
        let known = table.stored;
        for (row, tag) in rows.chunks_exact(width.max(1)).zip(tags) {
            if sr.is_zero(&tag) {
                continue;
            }
            let next = table.tags.len() as u32;
            match table.ids.get_or_insert(row, next) {
                (id, true) => {
                    table.rows.extend_from_slice(row);
                    store.to_add.extend_from_slice(row);
                    store.to_add.push(id);
                    match fresh {
                        Some(fresh) => {
                            table.tags.push(sr.zero());
                            fresh.push(tag);
                        }
                        None => table.tags.push(tag),
                    }
                }
                (id, false) => {
                    let naive = fresh.is_some();
                    let slot = match fresh {
                        Some(fresh) => fresh.get_mut(id as usize),
                        None => table.tags.get_mut(id as usize),
                    };
                    let Some(slot) = slot else { continue };
                    let changed = sr.add_to(slot, &tag, events);
                    if !naive && id < known && changed {
                        store.to_retag.extend_from_slice(row);
                        store.to_retag.push(id);
                    }
                }
            }
        }
    }
}
