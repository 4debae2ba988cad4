//! One kept proof as a derivation tree: the proof search of plain
//! explanations, over every tuple that can hold, allowed only the events
//! the proof takes: a probabilistic fact whose event happens in it, a
//! weighted rule (or a head of an annotated disjunction) whose choice it
//! takes, a model answer it uses. Negations hold there by the proof's
//! `not ...` events, so they are drawn as holding, without a why-not
//! drawn from the support.

use crate::ir::{Arg, Call, RelId};
use crate::program::Program;
use crate::provenance::ProofEvent;
use crate::tagging::EventKey;
use crate::value::{Interner, Value};
use rustc_hash::{FxHashMap, FxHashSet};

/// The program's probabilistic facts by row (the program's ids are the
/// support's: an evaluation's interner layers on the program's), with the
/// probability a node shows: built once per explanation, shared by the
/// filters of its proofs.
pub(super) struct ProbabilisticFacts(FxHashMap<(RelId, Vec<u32>), (Vec<usize>, f64)>);

impl ProbabilisticFacts {
    pub(super) fn of(program: &Program) -> Self {
        let mut facts: FxHashMap<(RelId, Vec<u32>), (Vec<usize>, f64)> = FxHashMap::default();
        for (i, (rel, row, p)) in program.probabilistic_facts.iter().enumerate() {
            let shown = program.fact_probability(i).unwrap_or(*p);
            facts
                .entry((*rel, row.clone()))
                .or_insert_with(|| (Vec::new(), shown))
                .0
                .push(i);
        }
        ProbabilisticFacts(facts)
    }
}

/// What a kept proof allows a derivation to use.
pub(super) struct ProofFilter<'a> {
    facts: &'a ProbabilisticFacts,
    /// The probabilistic facts (by place) the proof has happen.
    happening: FxHashSet<usize>,
    /// Weighted rules (program rule indexes) whose instance the proof
    /// takes.
    rules: FxHashSet<usize>,
    /// Model answers the proof uses: model, method, inputs, outputs.
    calls: Vec<(String, String, Vec<Value>, Vec<Value>)>,
    /// Model methods whose answers are events (probabilistic): their
    /// answers must be the proof's; others always hold.
    uncertain: &'a FxHashSet<(String, String)>,
}

impl<'a> ProofFilter<'a> {
    /// The filter of `events` (one kept proof); `uncertain` are the model
    /// methods whose answers are events.
    pub(super) fn new(
        program: &Program,
        facts: &'a ProbabilisticFacts,
        events: &[ProofEvent],
        uncertain: &'a FxHashSet<(String, String)>,
    ) -> Self {
        let happening: Vec<&EventKey> = events
            .iter()
            .filter(|e| e.happens)
            .filter_map(|e| e.key.as_ref())
            .collect();
        let happening_facts = happening
            .iter()
            .filter_map(|k| match k {
                EventKey::Fact(i) => Some(*i),
                _ => None,
            })
            .collect();
        let mut rules = FxHashSet::default();
        for (index, weight) in program.rule_weights.iter().enumerate() {
            let Some(weight) = weight else { continue };
            let taken = happening.iter().any(|k| match (k, weight.disjunction) {
                (EventKey::Rule(r, _), None) => *r == index,
                (EventKey::Choice(first, position, _), Some(f)) => {
                    *first == f && *position + 1 == weight.choices.len()
                }
                _ => false,
            });
            if taken {
                rules.insert(index);
            }
        }
        let calls = happening
            .iter()
            .filter_map(|k| match k {
                EventKey::Call(m, f, i, o) => Some((m.clone(), f.clone(), i.clone(), o.clone())),
                _ => None,
            })
            .collect();
        ProofFilter {
            facts,
            happening: happening_facts,
            rules,
            calls,
            uncertain,
        }
    }

    /// Whether a base fact may be used: a certain one always, a
    /// probabilistic one when the proof has it happen.
    pub(super) fn allows_fact(&self, rel: RelId, row: &[u32]) -> bool {
        self.facts
            .0
            .get(&(rel, row.to_vec()))
            .is_none_or(|(places, _)| places.iter().any(|i| self.happening.contains(i)))
    }

    /// A probabilistic fact's probability (for its node).
    pub(super) fn probability(&self, rel: RelId, row: &[u32]) -> Option<f64> {
        self.facts.0.get(&(rel, row.to_vec())).map(|(_, p)| *p)
    }

    /// Whether a derivation by rule `index` may be used: an unweighted
    /// rule always, a weighted one when the proof takes its instance.
    pub(super) fn allows_rule(&self, program: &Program, index: usize) -> bool {
        match program.rule_weights.get(index) {
            Some(Some(_)) => self.rules.contains(&index),
            _ => true,
        }
    }

    /// Whether a model call's answer (its arguments as far as they are
    /// bound) is one the proof uses, or a certain one.
    pub(super) fn allows_call(
        &self,
        call: &Call,
        interner: &Interner,
        value_of: &dyn Fn(usize) -> Option<u32>,
    ) -> bool {
        if !self
            .uncertain
            .contains(&(call.model_name.clone(), call.method.clone()))
        {
            return true;
        }
        let value = |a: &Arg| match a {
            Arg::Const(c) => Some(interner.value(*c).clone()),
            Arg::Var(v) => value_of(*v).map(|id| interner.value(id).clone()),
            Arg::Wild => None,
        };
        let matches = |args: &[Arg], values: &[Value]| {
            args.len() == values.len()
                && args
                    .iter()
                    .zip(values)
                    .all(|(a, v)| value(a).is_none_or(|x| &x == v))
        };
        self.calls.iter().any(|(m, f, inputs, outputs)| {
            *m == call.model_name
                && *f == call.method
                && matches(&call.inputs, inputs)
                && matches(&call.outputs, outputs)
        })
    }
}
