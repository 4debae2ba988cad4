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

/// What a kept proof allows a derivation to use.
pub(super) struct ProofFilter {
    /// Every probabilistic fact (by its row in the support's interner):
    /// whether the proof has it happen.
    facts: FxHashMap<(RelId, Vec<u32>), (bool, f64)>,
    /// Weighted rules (program rule indexes) whose instance the proof
    /// takes.
    rules: FxHashSet<usize>,
    /// Model answers the proof uses: model, method, inputs, outputs.
    calls: Vec<(String, String, Vec<Value>, Vec<Value>)>,
    /// Model methods whose answers are events (probabilistic): their
    /// answers must be the proof's; others always hold.
    uncertain: FxHashSet<(String, String)>,
}

impl ProofFilter {
    /// The filter of `events` (one kept proof); `uncertain` are the model
    /// methods whose answers are events.
    pub(super) fn new(
        program: &Program,
        events: &[ProofEvent],
        uncertain: FxHashSet<(String, String)>,
        interner: &Interner,
    ) -> Self {
        let happening: Vec<&EventKey> = events
            .iter()
            .filter(|e| e.happens)
            .filter_map(|e| e.key.as_ref())
            .collect();
        let mut facts = FxHashMap::default();
        for (i, (rel, row, p)) in program.probabilistic_facts.iter().enumerate() {
            // The program's ids are the support's: its interner layers on
            // the program's.
            let values: Option<Vec<u32>> = row
                .iter()
                .map(|&id| interner.get(program.interner.value(id)))
                .collect();
            if let Some(values) = values {
                let happens = happening.iter().any(|k| **k == EventKey::Fact(i));
                let shown = program.fact_probability(i).unwrap_or(*p);
                let slot = facts.entry((*rel, values)).or_insert((false, shown));
                slot.0 |= happens;
            }
        }
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
            rules,
            calls,
            uncertain,
        }
    }

    /// Whether a base fact may be used: a certain one always, a
    /// probabilistic one when the proof has it happen.
    pub(super) fn allows_fact(&self, rel: RelId, row: &[u32]) -> bool {
        self.facts
            .get(&(rel, row.to_vec()))
            .is_none_or(|(happens, _)| *happens)
    }

    /// A probabilistic fact's probability (for its node).
    pub(super) fn probability(&self, rel: RelId, row: &[u32]) -> Option<f64> {
        self.facts.get(&(rel, row.to_vec())).map(|(_, p)| *p)
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
