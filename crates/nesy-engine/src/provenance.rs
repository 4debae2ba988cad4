//! Tags: evaluation under a provenance semiring.
//!
//! ```
//! use nesy_engine::{Limits, Program, SemiringKind, Value};
//! use nesy_lang::check_source;
//!
//! let checked = check_source("p.nesy", "
//!     0.9 :: edge(a, b). 0.8 :: edge(b, c). 0.5 :: edge(a, c).
//!     path(X, Y) :- edge(X, Y).
//!     path(X, Z) :- edge(X, Y), path(Y, Z).
//! ");
//! let mut program = Program::new();
//! program.add_source(&checked.source, &checked.program)?;
//! let exact = program.evaluate_tagged(SemiringKind::TopK(20), &Limits::default())?;
//! let p = exact.probability("path", &[Value::symbol("a"), Value::symbol("c")]).unwrap();
//! assert!((p - (1.0 - (1.0 - 0.72) * (1.0 - 0.5))).abs() < 1e-12); // ProbLog: 0.86
//! let best = program.evaluate_tagged(SemiringKind::MaxProb, &Limits::default())?;
//! assert!((best.probability("path", &[Value::symbol("a"), Value::symbol("c")]).unwrap() - 0.72).abs() < 1e-12);
//! # Ok::<(), nesy_engine::Error>(())
//! ```
//!
//! Every semiring runs in the engine's own semi-naive evaluator,
//! monomorphized per semiring (see `semiring.rs`): the plain (boolean) case
//! keeps no tags and pays nothing for this. Under the others each tuple
//! carries a tag; a rule multiplies the tags of what it joins, a tuple's
//! derivations are added, and a tuple whose tag changed is read again by
//! the next round, as a new tuple would be. `add-mult`, whose addition is
//! not idempotent, iterates recursive strata naively (each round
//! recomputes their tags from scratch) until the tags settle.
//!
//! Semantics: each `p :: fact.` is an independent event; each ground
//! instance of a `p :: rule.` (a binding of all its variables) is an
//! independent event, as in ProbLog. `not a` gets `1 - P(a)` under
//! `max-prob` and `add-mult`; under `top-k` and `why` it is the negation of
//! `a`'s proofs (proofs are sets of events that happen and events that do
//! not), so probabilities stay exact. Aggregates are computed over every
//! tuple that can hold (inside an aggregate, `not a` fails only when `a`
//! is certain), and their results count as certain.

use crate::eval::{self, Outcome};
use crate::ir::{Lit, RelId, Rule, Var, name_wildcards};
use crate::program::Program;
use crate::result::Evaluation;
use crate::semiring::{Events, Proof, Semiring, SemiringKind, UnderSemiring, proof_probability};
use crate::storage::Store;
use crate::tagging::{EventKey, EventTable, RuleTags, TagTable, Tagging};
use crate::value::atom_text;
use crate::value::{Interner, Value};
use crate::{Clock, Error, Limits};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::any::Any;
use std::sync::Arc;

/// Tuples with their probabilities under a semiring.
pub struct TaggedEvaluation {
    /// Every tuple that can hold (the support), as plain relations.
    pub support: Evaluation,
    /// Per relation, its tuples' probabilities and proofs (shared with a
    /// prepared base evaluation for the relations a request leaves alone).
    tags: Vec<Arc<RelationTags>>,
    /// What each event is: a base fact, a rule instance, or a negation.
    pub(crate) event_names: Vec<String>,
    /// Each event's probability.
    events: Vec<f64>,
    /// What each event is (for gradients).
    pub(crate) event_keys: Vec<EventKey>,
    semiring: SemiringKind,
}

/// One relation's tuples (ids of the support's interner; none for a
/// relation of no columns) with their probabilities and kept proofs.
#[derive(Default)]
pub(crate) struct RelationTags {
    probabilities: FxHashMap<Vec<u32>, f64>,
    /// For `top-k` and `why`: proofs as sets of base facts.
    proofs: FxHashMap<Vec<u32>, Vec<Proof>>,
}

/// A relation's tuples with their probabilities.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaggedRelation {
    /// The name as written.
    pub name: String,
    /// Number of columns.
    pub arity: usize,
    /// Tuples of non-zero probability, sorted by value.
    pub rows: Vec<TaggedRow>,
}

/// One tuple and its probability.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaggedRow {
    /// The values.
    pub tuple: Vec<Value>,
    /// How likely it holds, under the semiring.
    pub probability: f64,
}

impl TaggedEvaluation {
    /// A relation's tuples with their probabilities.
    pub fn relation(&self, name: &str) -> Option<TaggedRelation> {
        let relation = self.support.relation(name)?;
        let rel = self.support.relation_id(name)?;
        let mut rows = Vec::new();
        for row in relation.rows() {
            let ids: Option<Vec<u32>> = row.iter().map(|v| self.support.interner.get(v)).collect();
            let p = ids
                .and_then(|ids| self.stored_probability(rel, &ids))
                .unwrap_or(0.0);
            if p > 0.0 {
                rows.push(TaggedRow {
                    tuple: row.to_vec(),
                    probability: p,
                });
            }
        }
        Some(TaggedRelation {
            name: relation.name,
            arity: relation.arity,
            rows,
        })
    }

    /// The probability of one tuple (0 when it cannot hold).
    pub fn probability(&self, relation: &str, tuple: &[Value]) -> Option<f64> {
        let rel = self.support.relation_id(relation)?;
        let ids: Option<Vec<u32>> = tuple.iter().map(|v| self.support.interner.get(v)).collect();
        Some(
            ids.and_then(|ids| self.stored_probability(rel, &ids))
                .unwrap_or(0.0),
        )
    }

    /// The proofs kept for a tuple (`top-k`, `why`), each a list of the
    /// base facts, rule instances and negations it uses.
    pub fn proofs(&self, relation: &str, tuple: &[Value]) -> Vec<Vec<String>> {
        self.kept_proofs(relation, tuple)
            .into_iter()
            .map(|proof| {
                proof
                    .events
                    .into_iter()
                    .map(|e| {
                        if e.happens {
                            e.name
                        } else {
                            format!("not {}", e.name)
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// The proofs kept for a tuple (none for a semiring that keeps none).
    pub(crate) fn proof_set(&self, relation: &str, tuple: &[Value]) -> Option<&[Proof]> {
        let rel = self.support.relation_id(relation)?;
        let ids: Vec<u32> = tuple
            .iter()
            .map(|v| self.support.interner.get(v))
            .collect::<Option<_>>()?;
        self.tags.get(rel)?.proofs.get(&ids).map(Vec::as_slice)
    }

    /// Every tuple's kept proofs, relation by relation.
    pub(crate) fn all_proof_sets(&self) -> impl Iterator<Item = &[Proof]> {
        self.tags
            .iter()
            .flat_map(|tags| tags.proofs.values().map(Vec::as_slice))
    }

    /// The proofs kept for a tuple, most likely first: each its
    /// probability and its events (name, whether it must happen, its
    /// probability).
    pub(crate) fn kept_proofs(&self, relation: &str, tuple: &[Value]) -> Vec<KeptProof> {
        let Some(proofs) = self.proof_set(relation, tuple) else {
            return Vec::new();
        };
        let events = self.event_view();
        let mut kept: Vec<KeptProof> = proofs
            .iter()
            .map(|proof| KeptProof {
                probability: proof_probability(proof, events),
                events: proof
                    .iter()
                    .map(|&l| {
                        let event = l >> 1;
                        ProofEvent {
                            name: self
                                .event_names
                                .get(event as usize)
                                .cloned()
                                .unwrap_or_default(),
                            happens: l & 1 == 0,
                            probability: events.probability(event),
                            key: self.event_keys.get(event as usize).cloned(),
                        }
                    })
                    .collect(),
            })
            .collect();
        kept.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        kept
    }

    /// The probability of the most likely proof kept for a tuple
    /// (`top-k`, `why`).
    pub fn best_proof_probability(&self, relation: &str, tuple: &[Value]) -> Option<f64> {
        let rel = self.support.relation_id(relation)?;
        let ids: Vec<u32> = tuple
            .iter()
            .map(|v| self.support.interner.get(v))
            .collect::<Option<_>>()?;
        self.tags
            .get(rel)?
            .proofs
            .get(&ids)?
            .iter()
            .map(|p| proof_probability(p, self.event_view()))
            .max_by(f64::total_cmp)
    }

    /// The semiring used.
    pub fn semiring(&self) -> SemiringKind {
        self.semiring
    }

    fn stored_probability(&self, rel: RelId, ids: &[u32]) -> Option<f64> {
        self.tags.get(rel)?.probabilities.get(ids).copied()
    }

    pub(crate) fn event_view(&self) -> Events<'_> {
        Events::known(&self.events)
    }
}

impl Program {
    /// Evaluates under a semiring: every tuple that holds gets a
    /// probability. `SemiringKind::Bool` gives probability 1 to every
    /// tuple of a plain evaluation.
    pub fn evaluate_tagged(
        &self,
        semiring: SemiringKind,
        limits: &Limits,
    ) -> Result<TaggedEvaluation, Error> {
        match self.prepare_tagged(semiring, limits)? {
            Some(base) => Ok(base.evaluation),
            None => self.evaluate_plain_tagged(limits),
        }
    }

    fn evaluate_plain_tagged(&self, limits: &Limits) -> Result<TaggedEvaluation, Error> {
        Ok(TaggedEvaluation::certain(self.evaluate(limits)?))
    }
}

impl TaggedEvaluation {
    /// A plain evaluation as tagged: every tuple has probability 1.
    pub(crate) fn certain(support: Evaluation) -> TaggedEvaluation {
        let mut tags = Vec::with_capacity(support.stores.len());
        for (rel, store) in support.stores.iter().enumerate() {
            let arity = support.relations.get(rel).map_or(0, |r| r.arity);
            let mut relation = RelationTags::default();
            for row in store.rows().chunks_exact(store.width) {
                let key = if arity == 0 { Vec::new() } else { row.to_vec() };
                relation.probabilities.insert(key, 1.0);
            }
            tags.push(Arc::new(relation));
        }
        TaggedEvaluation {
            support,
            tags,
            event_names: Vec::new(),
            events: Vec::new(),
            event_keys: Vec::new(),
            semiring: SemiringKind::Bool,
        }
    }
}

impl Program {
    /// The rules as tagged evaluation runs them: each `_` of a positive atom
    /// becomes a variable, so that a binding of the body names one ground
    /// instance of the rule.
    fn tagged_rules(&self) -> (Vec<Rule>, RuleTags) {
        let mut rules = self.rules.clone();
        let mut tags = RuleTags::default();
        for (index, rule) in rules.iter_mut().enumerate() {
            let mut var_names = std::mem::take(&mut rule.var_names);
            for lit in &mut rule.body {
                if let Lit::Atom { args, .. } = lit {
                    *args = name_wildcards(args, &mut var_names);
                }
            }
            rule.var_names = var_names;
            let mut vars: Vec<Var> = rule.body.iter().flat_map(Lit::outer_vars).collect();
            vars.sort_unstable();
            vars.dedup();
            tags.instance_vars.push(vars);
            tags.var_names.push(rule.var_names.clone());
            tags.weights
                .push(self.rule_weights.get(index).cloned().flatten());
            tags.rule_ids.push(index);
        }
        (rules, tags)
    }

    fn columns(&self, rel: RelId) -> usize {
        self.relations
            .get(rel)
            .map_or(0, |r| if r.arity == usize::MAX { 0 } else { r.arity })
    }

    /// Evaluates the whole program under `sr`, keeping what a request on
    /// top of it needs.
    fn tagged_base<S: Semiring + 'static>(
        &self,
        sr: &S,
        kind: SemiringKind,
        limits: &Limits,
    ) -> Result<TaggedBase, Error> {
        // One deadline for deriving the tags and computing probabilities.
        let clock = Clock::start(limits);
        let (rules, rule_tags) = self.tagged_rules();
        let n = self.relations.len();
        let mut stores: Vec<Store> = (0..n).map(|r| Store::tagged(self.columns(r))).collect();
        let mut events = EventTable::default();
        for (i, (rel, row, p)) in self.probabilistic_facts.iter().enumerate() {
            let values: Vec<Value> = row
                .iter()
                .map(|&id| self.interner.value(id).clone())
                .collect();
            let mut name = self.fact_text(*rel, &values);
            if let Some(Some(choice)) = self.fact_choices.get(i) {
                // The event is the choice, of conditional probability.
                name = format!("choice {} of {}: {name}", choice.position + 1, choice.heads);
            }
            events.add(EventKey::Fact(i), *p, name);
        }
        let tables = (0..n)
            .map(|r| Arc::new(TagTable::new(self.columns(r).max(1))))
            .collect();
        let mut tagging: Tagging<S> = Tagging::new(tables, events, rule_tags.clone());
        self.merge_facts(sr, &mut tagging, &mut stores, &vec![true; n]);
        let interner = Interner::layered(Arc::clone(&self.interner));
        let outcome = eval::evaluate_tagged(
            sr,
            &self.relations,
            &rules,
            stores,
            interner,
            &mut tagging,
            limits,
        )?;
        let Outcome {
            stores,
            interner,
            stats,
        } = outcome;
        let interner = Arc::new(interner);
        let evaluation = self.tagged_evaluation(
            sr,
            kind,
            &rules,
            stats,
            Interner::layered(Arc::clone(&interner)),
            &tagging,
            None,
            &clock,
        )?;
        Ok(TaggedBase {
            evaluation,
            interner,
            state: Box::new(BaseState {
                rules,
                rule_tags,
                stores,
                tagging,
            }),
        })
    }

    /// The base facts of the relations marked in `only` with their tags:
    /// each `p :: fact` its event, every other fact certain (a fact also
    /// stated without a probability too).
    fn merge_facts<S: Semiring>(
        &self,
        sr: &S,
        tagging: &mut Tagging<S>,
        stores: &mut [Store],
        only: &[bool],
    ) {
        let wanted = |rel: RelId| only.get(rel).copied().unwrap_or(false);
        let mut probabilistic: FxHashMap<(RelId, &[u32]), usize> = FxHashMap::default();
        for (rel, row, _) in &self.probabilistic_facts {
            let row: &[u32] = if row.is_empty() { &[0] } else { row };
            *probabilistic.entry((*rel, row)).or_default() += 1;
        }
        for (rel, rows) in self.facts.iter().enumerate().filter(|(r, _)| wanted(*r)) {
            let width = self.columns(rel).max(1);
            let mut certain = Vec::new();
            for row in rows.chunks_exact(width) {
                match probabilistic.get_mut(&(rel, row)) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => certain.extend_from_slice(row),
                }
            }
            if let Some(store) = stores.get_mut(rel) {
                let tags = vec![sr.one(); certain.len() / width];
                tagging.merge(sr, rel, store, &certain, tags);
            }
        }
        for (i, (rel, row, _)) in self.probabilistic_facts.iter().enumerate() {
            let row: &[u32] = if row.is_empty() { &[0] } else { row };
            if wanted(*rel)
                && let Some(store) = stores.get_mut(*rel)
            {
                // A head of an annotated disjunction: the choices before
                // it (the facts just before it) fail, its own happens.
                let position = self
                    .fact_choices
                    .get(i)
                    .and_then(Option::as_ref)
                    .map_or(0, |c| c.position);
                let literals: Vec<(u32, f64, bool)> = (i.saturating_sub(position)..=i)
                    .filter_map(|j| {
                        let (_, _, q) = self.probabilistic_facts.get(j)?;
                        Some((j as u32, *q, j == i))
                    })
                    .collect();
                let tag = sr.all_of(&literals, tagging.events.view());
                tagging.merge(sr, *rel, store, row, vec![tag]);
            }
        }
    }

    /// The tagged evaluation's results; with `reuse`, the relations not
    /// marked dirty are taken from a base evaluation as they are.
    #[allow(
        clippy::too_many_arguments,
        reason = "the parts of an evaluation, moved in"
    )]
    fn tagged_evaluation<S: Semiring>(
        &self,
        sr: &S,
        kind: SemiringKind,
        rules: &[Rule],
        stats: crate::eval::Stats,
        interner: Interner,
        tagging: &Tagging<S>,
        reuse: Option<(&TaggedEvaluation, &[bool])>,
        clock: &Clock,
    ) -> Result<TaggedEvaluation, Error> {
        let events = tagging.events.view();
        let mut tags = Vec::with_capacity(tagging.tables.len());
        let mut stores = Vec::with_capacity(tagging.tables.len());
        for (rel, table) in tagging.tables.iter().enumerate() {
            if let Some((base, dirty)) = reuse
                && !dirty.get(rel).copied().unwrap_or(true)
                && let (Some(t), Some(store)) = (base.tags.get(rel), base.support.stores.get(rel))
            {
                tags.push(Arc::clone(t));
                stores.push(store.clone());
                continue;
            }
            let arity = self.columns(rel);
            let mut store = Store::new(arity);
            store.to_add = table.rows.clone();
            store.advance();
            // Settled into a shared run: a request on top of this
            // evaluation then copies no rows of it.
            store.advance();
            stores.push(store);
            let mut relation = RelationTags::default();
            for (row, tag) in table.rows.chunks_exact(table.width).zip(&table.tags) {
                let key = if arity == 0 { Vec::new() } else { row.to_vec() };
                relation
                    .probabilities
                    .insert(key.clone(), sr.probability(tag, events, clock)?);
                if let Some(p) = S::proofs(tag) {
                    relation.proofs.insert(key, p.to_vec());
                }
            }
            tags.push(Arc::new(relation));
        }
        let support = Evaluation::assemble(
            self.names.clone(),
            self.relations.clone(),
            rules,
            Outcome {
                stores,
                interner,
                stats,
            },
        );
        Ok(TaggedEvaluation {
            support,
            tags,
            event_names: tagging.events.names.clone(),
            events: tagging.events.probabilities.clone(),
            event_keys: tagging.events.keys.clone(),
            semiring: kind,
        })
    }

    fn fact_text(&self, rel: RelId, values: &[Value]) -> String {
        let name = self.relations.get(rel).map_or("?", |r| r.name.as_str());
        let args: Vec<String> = values.iter().map(Value::to_string).collect();
        atom_text(name, &args)
    }
}

/// One proof kept for a tuple.
pub(crate) struct KeptProof {
    pub(crate) probability: f64,
    pub(crate) events: Vec<ProofEvent>,
}

/// An event of a kept proof.
pub(crate) struct ProofEvent {
    /// What it is: a fact, a rule instance, a choice, a model answer.
    pub(crate) name: String,
    /// Whether the proof needs it to happen (or not to).
    pub(crate) happens: bool,
    /// The event's own probability.
    pub(crate) probability: f64,
    /// What it is, for the proof's derivation tree.
    pub(crate) key: Option<EventKey>,
}

/// A whole-program tagged evaluation kept for requests on top of it
/// ([`crate::Prepared`] with a semiring).
pub(crate) struct TaggedBase {
    pub(crate) evaluation: TaggedEvaluation,
    /// The base evaluation's values, which requests layer theirs over.
    pub(crate) interner: Arc<Interner>,
    /// `BaseState<S>` of the semiring's type.
    state: Box<dyn Any + Send + Sync>,
}

/// The tagged stores and tag tables of a base evaluation.
struct BaseState<S: Semiring> {
    rules: Vec<Rule>,
    rule_tags: RuleTags,
    stores: Vec<Store>,
    tagging: Tagging<S>,
}

impl TaggedBase {
    /// Evaluates `program` (the one this base came from) with `extra`
    /// certain facts per relation (ids of `interner`, layered over this
    /// base's), deriving again only the relations marked in `dirty`.
    pub(crate) fn request(
        &self,
        program: &Program,
        dirty: &[bool],
        extra: &[Vec<u32>],
        interner: Interner,
        limits: &Limits,
    ) -> Result<TaggedEvaluation, Error> {
        /// A request's tagged evaluation, under the base's semiring.
        struct Request<'r> {
            base: &'r TaggedBase,
            program: &'r Program,
            dirty: &'r [bool],
            extra: &'r [Vec<u32>],
            interner: Interner,
            limits: &'r Limits,
        }
        impl UnderSemiring for Request<'_> {
            type Output = Result<TaggedEvaluation, Error>;
            fn run<S: Semiring + 'static>(self, sr: &S, _: SemiringKind) -> Self::Output {
                self.base.request_with(
                    sr,
                    self.program,
                    self.dirty,
                    self.extra,
                    self.interner,
                    self.limits,
                )
            }
        }
        let work = Request {
            base: self,
            program,
            dirty,
            extra,
            interner,
            limits,
        };
        self.evaluation.semiring.under(work).unwrap_or_else(|| {
            Err(Error::Compile {
                location: None,
                message: "a plain evaluation has no tagged base".to_string(),
            })
        })
    }

    fn request_with<S: Semiring + 'static>(
        &self,
        sr: &S,
        program: &Program,
        dirty: &[bool],
        extra: &[Vec<u32>],
        interner: Interner,
        limits: &Limits,
    ) -> Result<TaggedEvaluation, Error> {
        let clock = Clock::start(limits);
        let Some(state) = self.state.downcast_ref::<BaseState<S>>() else {
            return Err(Error::Compile {
                location: None,
                message: "the tagged base was made under another semiring".to_string(),
            });
        };
        let is_dirty = |r: RelId| dirty.get(r).copied().unwrap_or(false);
        let n = program.relations.len();
        let mut stores: Vec<Store> = (0..n)
            .map(|r| match state.stores.get(r) {
                Some(store) if !is_dirty(r) => store.clone(),
                _ => Store::tagged(program.columns(r)),
            })
            .collect();
        let tables = (0..n)
            .map(|r| match state.tagging.tables.get(r) {
                Some(table) if !is_dirty(r) => Arc::clone(table),
                _ => Arc::new(TagTable::new(program.columns(r).max(1))),
            })
            .collect();
        let picked: Vec<usize> = state
            .rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| is_dirty(rule.head))
            .map(|(i, _)| i)
            .collect();
        let rules: Vec<Rule> = picked
            .iter()
            .filter_map(|&i| state.rules.get(i).cloned())
            .collect();
        let mut tagging: Tagging<S> = Tagging::new(
            tables,
            state.tagging.events.clone(),
            state.rule_tags.pick(&picked),
        );
        program.merge_facts(sr, &mut tagging, &mut stores, dirty);
        for (rel, rows) in extra
            .iter()
            .enumerate()
            .filter(|(_, rows)| !rows.is_empty())
        {
            let width = program.columns(rel).max(1);
            if let Some(store) = stores.get_mut(rel) {
                tagging.merge(sr, rel, store, rows, vec![sr.one(); rows.len() / width]);
            }
        }
        let outcome = eval::evaluate_tagged(
            sr,
            &program.relations,
            &rules,
            stores,
            interner,
            &mut tagging,
            limits,
        )?;
        program.tagged_evaluation(
            sr,
            self.evaluation.semiring,
            &state.rules,
            outcome.stats,
            outcome.interner,
            &tagging,
            Some((&self.evaluation, dirty)),
            &clock,
        )
    }
}

impl Program {
    /// Evaluates the whole program under `semiring` for
    /// [`crate::Prepared::evaluate_tagged_with`].
    pub(crate) fn prepare_tagged(
        &self,
        semiring: SemiringKind,
        limits: &Limits,
    ) -> Result<Option<TaggedBase>, Error> {
        /// The whole program tagged under the semiring.
        struct Base<'r> {
            program: &'r Program,
            limits: &'r Limits,
        }
        impl UnderSemiring for Base<'_> {
            type Output = Result<TaggedBase, Error>;
            fn run<S: Semiring + 'static>(self, sr: &S, kind: SemiringKind) -> Self::Output {
                self.program.tagged_base(sr, kind, self.limits)
            }
        }
        semiring
            .under(Base {
                program: self,
                limits,
            })
            .transpose()
    }
}
