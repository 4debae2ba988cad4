//! Gradients of probabilities with respect to tunable probabilities
//! (`t(...)`): what learning through the rules follows.
//!
//! ```
//! use nesy_engine::{Clock, Limits, Program, SemiringKind, Value};
//! use nesy_lang::check_source;
//!
//! let checked = check_source("p.nesy", "t(0.5) :: a. t(0.5) :: b. c :- a. c :- b.");
//! let mut program = Program::new();
//! program.add_source(&checked.source, &checked.program)?;
//! let limits = Limits::default();
//! let tagged = program.evaluate_tagged(SemiringKind::DiffTopK(10), &limits)?;
//! let gradient = program.gradient(&tagged, "c", &[], &Clock::start(&limits))?;
//! assert!((gradient.probability - 0.75).abs() < 1e-12); // 1 - (1 - a)(1 - b)
//! // d c / d a = 1 - b = 0.5, and the same for b.
//! assert!(gradient.parameters.iter().all(|(_, d)| (d - 0.5).abs() < 1e-12));
//! # Ok::<(), nesy_engine::Error>(())
//! ```

use crate::Error;
use crate::limits::Clock;
use crate::program::ChoiceInstance;
use crate::program::Program;
use crate::provenance::TaggedEvaluation;
use crate::semiring::{Proof, dnf_gradient};
use crate::tagging::{EventKey, ParamKey};
use crate::value::Value;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// A tuple's probability and its gradient (see [`Program::gradient`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gradient {
    /// The probability.
    pub probability: f64,
    /// By tunable probability (`t(...)`).
    pub parameters: Vec<(ParamKey, f64)>,
    /// By model answer: the derivative with respect to the answer's event
    /// probability (for exclusive answers, the conditional probability of
    /// its choice; see [`Program::answer_gradient`]).
    pub answers: Vec<(ModelAnswer, f64)>,
}

/// One answer of a model call.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ModelAnswer {
    /// The model's `@model` name.
    pub model: String,
    /// The method called.
    pub method: String,
    /// The inputs.
    pub inputs: Vec<Value>,
    /// The outputs this answer gave.
    pub outputs: Vec<Value>,
}

impl Program {
    /// The probability of a tuple under `tagged` (a semiring that keeps
    /// proofs: `diff-top-k`, `top-k`, `why`), and its gradient with
    /// respect to each tunable probability it depends on and each model
    /// answer it uses: weighted model counting over the kept proofs,
    /// differentiated in reverse mode, then through each event's
    /// dependence on the parameters (an annotated disjunction's choices
    /// depend on every head before them). A tuple without proofs has
    /// probability 0 and no gradient.
    pub fn gradient(
        &self,
        tagged: &TaggedEvaluation,
        relation: &str,
        tuple: &[Value],
        clock: &Clock,
    ) -> Result<Gradient, Error> {
        let Some(proofs) = tagged.proof_set(relation, tuple) else {
            return Ok(Gradient::default());
        };
        let (p, by_event) = dnf_gradient(proofs, tagged.event_view(), clock)?;
        let mut by_parameter: BTreeMap<ParamKey, f64> = BTreeMap::new();
        let mut answers = Vec::new();
        for (event, d) in by_event {
            let Some(key) = tagged.event_keys.get(event as usize) else {
                continue;
            };
            if let EventKey::Call(model, method, inputs, outputs) = key {
                answers.push((
                    ModelAnswer {
                        model: model.clone(),
                        method: method.clone(),
                        inputs: inputs.clone(),
                        outputs: outputs.clone(),
                    },
                    d,
                ));
                continue;
            }
            for (parameter, sensitivity) in self.event_sensitivity(key) {
                *by_parameter.entry(parameter).or_default() += d * sensitivity;
            }
        }
        Ok(Gradient {
            probability: p,
            parameters: by_parameter.into_iter().collect(),
            answers,
        })
    }

    /// Carries derivatives with respect to the events of one call's
    /// exclusive answers (`answers[i]`: its choice, of conditional
    /// probability `p_i / (1 - p_0 - ... - p_{i-1})`) to derivatives with
    /// respect to the answers' probabilities `p`, in answer order.
    pub fn answer_gradient(probabilities: &[f64], by_choice: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; probabilities.len()];
        for (j, d) in by_choice.iter().enumerate() {
            if *d == 0.0 {
                continue;
            }
            let heads = probabilities.get(..=j).unwrap_or(probabilities);
            for (k, s) in crate::program::choice_sensitivity(heads)
                .into_iter()
                .enumerate()
            {
                if let Some(slot) = out.get_mut(k) {
                    *slot += d * s;
                }
            }
        }
        out
    }
}

/// What one interpretation says of the tunable probabilities (learning
/// from interpretations, EM's expectation step).
#[derive(Clone, Debug, Default)]
pub struct ExpectedCounts {
    /// The probability of the evidence.
    pub evidence: f64,
    /// Per parameter, summed over its events (a tunable fact is one; a
    /// tunable rule one per ground instance; an annotated disjunction's
    /// head one per instance): the expected number of times the event
    /// happened with its body true, and the expected number of times its
    /// body was true (1 for a fact), both given the evidence. EM's new
    /// value is the first over the second, as `problog lfi` takes it.
    pub counts: BTreeMap<ParamKey, (f64, f64)>,
}

/// What EM learns, the same for every interpretation: each tunable fact
/// or rule instance outside a disjunction, and each instance of an
/// annotated disjunction with a tunable head (see
/// [`Program::em_units`]).
#[derive(Clone, Debug, Default)]
pub struct EmUnits {
    units: Vec<EmUnit>,
}

/// One choice: its heads' events, parameters and probabilities, and for a
/// rule's instance the proofs of its body.
#[derive(Clone, Debug)]
struct EmUnit {
    /// By head: the choice's event, if the evaluation made it.
    events: Vec<Option<u32>>,
    /// By head: its tunable parameter and probability.
    heads: Vec<(Option<ParamKey>, f64)>,
    /// A rule instance's body, as proofs; `None` when it is certain.
    body: Option<Vec<Proof>>,
}

impl Program {
    /// The choices of `tagged` that EM learns ([`EmUnits`]). A rule
    /// instance's body is read off the kept proofs that use it: each such
    /// proof without the instance's own choices is a proof of the body.
    pub fn em_units(&self, tagged: &TaggedEvaluation) -> EmUnits {
        let mut units: Vec<EmUnit> = Vec::new();
        let mut by_instance: FxHashMap<ChoiceInstance, usize> = FxHashMap::default();
        let mut unit_of_event: FxHashMap<u32, usize> = FxHashMap::default();
        let mut rules: Vec<bool> = Vec::new();
        for (id, key) in tagged.event_keys.iter().enumerate() {
            let Some(choice) = self.event_choice(key) else {
                continue;
            };
            if choice.heads.iter().all(|(param, _)| param.is_none()) {
                continue;
            }
            let index = *by_instance.entry(choice.instance).or_insert_with(|| {
                units.push(EmUnit {
                    events: vec![None; choice.heads.len()],
                    heads: choice.heads.clone(),
                    body: None,
                });
                rules.push(choice.rule);
                units.len() - 1
            });
            if let Some(slot) = units
                .get_mut(index)
                .and_then(|u| u.events.get_mut(choice.position))
            {
                *slot = Some(id as u32);
            }
            unit_of_event.insert(id as u32, index);
        }
        // Bodies of rule instances, from the proofs that take one of their
        // choices.
        let mut bodies: Vec<Vec<Proof>> = vec![Vec::new(); units.len()];
        for proofs in tagged.all_proof_sets() {
            for proof in proofs {
                let mut taken: Vec<usize> = proof
                    .iter()
                    .filter(|&&l| l & 1 == 0)
                    .filter_map(|l| unit_of_event.get(&(l >> 1)).copied())
                    .filter(|&u| rules.get(u).copied().unwrap_or(false))
                    .collect();
                taken.sort_unstable();
                taken.dedup();
                for u in taken {
                    let body: Proof = proof
                        .iter()
                        .copied()
                        .filter(|l| unit_of_event.get(&(l >> 1)) != Some(&u))
                        .collect();
                    if let Some(b) = bodies.get_mut(u) {
                        b.push(body);
                    }
                }
            }
        }
        for ((unit, mut body), rule) in units.iter_mut().zip(bodies).zip(rules) {
            body.sort();
            body.dedup();
            // A certain body (an empty proof), or one no kept proof shows
            // (its instance then bears on no evidence), counts as true.
            if rule && !body.is_empty() && !body.iter().any(Vec::is_empty) {
                unit.body = Some(body);
            }
        }
        EmUnits { units }
    }

    /// EM's expectation step for one interpretation: the probability of
    /// `evidence` (atoms with the truth value observed) under `tagged` (a
    /// semiring that keeps proofs), and for each tunable probability its
    /// expected counts ([`ExpectedCounts`]). The evidence's DNF is the
    /// product of its atoms' proofs and of the negations of the atoms
    /// observed false; its probability `P` is linear in each choice's head
    /// probabilities `p_j`, so that with `D_j = dP/dp_j` (one backward pass
    /// gives them all) and `B` the evidence and the body together, a head
    /// happened with its body with probability
    /// `p_j (D_j + P(B) - sum_i p_i D_i) / P` (the bracket is the evidence's
    /// probability given that head; a fact's body is certain, `P(B) = P`).
    pub fn expected_counts(
        &self,
        tagged: &TaggedEvaluation,
        units: &EmUnits,
        evidence: &[(String, Vec<Value>, bool)],
        clock: &Clock,
    ) -> Result<ExpectedCounts, Error> {
        use crate::semiring::{Proofs, Semiring, dnf_probability};
        let sr = Proofs { k: usize::MAX };
        let events = tagged.event_view();
        let mut dnf = sr.one();
        for (relation, tuple, holds) in evidence {
            let proofs = tagged
                .proof_set(relation, tuple)
                .map(<[_]>::to_vec)
                .unwrap_or_default();
            let term = if *holds {
                proofs
            } else {
                sr.negate(&proofs, events)
            };
            dnf = sr.mul(&dnf, &term, events);
            clock.check()?;
        }
        let (p, gradient) = dnf_gradient(&dnf, events, clock)?;
        let gradient: FxHashMap<u32, f64> = gradient.into_iter().collect();
        let mut counts: BTreeMap<ParamKey, (f64, f64)> = BTreeMap::new();
        if p <= 0.0 {
            return Ok(ExpectedCounts {
                evidence: p,
                counts,
            });
        }
        for unit in &units.units {
            let with_body = match &unit.body {
                None => p,
                Some(body) => {
                    let both = sr.mul(&dnf, body, events);
                    dnf_probability(&both, events, clock)?
                }
            };
            let probabilities: Vec<f64> = unit.heads.iter().map(|(_, q)| *q).collect();
            let by_choice: Vec<f64> = unit
                .events
                .iter()
                .map(|e| e.and_then(|e| gradient.get(&e).copied()).unwrap_or(0.0))
                .collect();
            let by_head = Program::answer_gradient(&probabilities, &by_choice);
            let given_none = with_body
                - probabilities
                    .iter()
                    .zip(&by_head)
                    .map(|(q, d)| q * d)
                    .sum::<f64>();
            let body = with_body / p;
            for ((param, q), d) in unit.heads.iter().zip(&by_head) {
                let Some(param) = param else { continue };
                let happened = (q * (d + given_none) / p).clamp(0.0, body);
                let entry = counts.entry(param.clone()).or_default();
                entry.0 += happened;
                entry.1 += body;
            }
        }
        Ok(ExpectedCounts {
            evidence: p,
            counts,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, reason = "tests")]
    use super::*;

    /// The choices' conditional probabilities of answer probabilities `p`.
    fn choices(p: &[f64]) -> Vec<f64> {
        let mut left = 1.0;
        p.iter()
            .map(|&p| {
                let q = p / left;
                left -= p;
                q
            })
            .collect()
    }

    #[test]
    fn answer_gradients_follow_the_choices_back_to_the_probabilities() {
        // F(q) = sum c_j q_j^2, so dF/dq_j = 2 c_j q_j; the derivative with
        // respect to each p_k must match finite differences of F(q(p)).
        let p = [0.1, 0.25, 0.3, 0.15, 0.2];
        let c = [0.7, -1.3, 2.0, 0.4, 1.1];
        let f = |p: &[f64]| -> f64 { choices(p).iter().zip(&c).map(|(q, c)| c * q * q).sum() };
        let by_choice: Vec<f64> = choices(&p)
            .iter()
            .zip(&c)
            .map(|(q, c)| 2.0 * c * q)
            .collect();
        let ours = Program::answer_gradient(&p, &by_choice);
        for k in 0..p.len() {
            let h = 1e-6;
            let (mut up, mut down) = (p, p);
            up[k] += h;
            down[k] -= h;
            let numeric = (f(&up) - f(&down)) / (2.0 * h);
            assert!(
                (ours[k] - numeric).abs() < 1e-5,
                "p_{k}: {} vs {numeric}",
                ours[k]
            );
        }
    }
}
