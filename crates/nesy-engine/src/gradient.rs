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
use crate::program::Program;
use crate::provenance::TaggedEvaluation;
use crate::semiring::dnf_gradient;
use crate::tagging::{EventKey, ParamKey};
use crate::value::Value;
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
    /// Per parameter: the sum of the posterior probabilities of its events
    /// (a tunable fact is one event; a tunable rule one per ground
    /// instance), and how many events that is.
    pub counts: BTreeMap<ParamKey, (f64, usize)>,
}

impl Program {
    /// The events of `tagged` that are one tunable probability each (a
    /// tunable fact, or an instance of a tunable rule), with it: what EM
    /// learns, the same for every interpretation. Annotated disjunctions
    /// are not learned this way yet: an error says so.
    pub fn tunable_events(&self, tagged: &TaggedEvaluation) -> Result<Vec<(u32, ParamKey)>, Error> {
        let mut out = Vec::new();
        for (id, key) in tagged.event_keys.iter().enumerate() {
            let sensitivity = self.event_sensitivity(key);
            if sensitivity.is_empty() {
                continue;
            }
            match sensitivity.as_slice() {
                [(parameter, _)] if !self.event_in_disjunction(key) => {
                    out.push((id as u32, parameter.clone()));
                }
                _ => {
                    return Err(Error::Compile {
                        location: None,
                        message: "learning from interpretations (EM) does not learn annotated disjunctions yet; use gradient descent".to_string(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// EM's expectation step for one interpretation: the probability of
    /// `evidence` (atoms with the truth value observed) under `tagged` (a
    /// semiring that keeps proofs), and for each of the `tunable` events
    /// ([`Program::tunable_events`]) its posterior given the evidence. The
    /// evidence's DNF is the product of its atoms' proofs and of the
    /// negations of the atoms observed false; the posterior of an event `e` of probability `q` is
    /// `q (P + (1 - q) dP/dq) / P` (the evidence's probability is linear in
    /// `q`), so one backward pass gives every posterior.
    pub fn expected_counts(
        &self,
        tagged: &TaggedEvaluation,
        tunable: &[(u32, ParamKey)],
        evidence: &[(String, Vec<Value>, bool)],
        clock: &Clock,
    ) -> Result<ExpectedCounts, Error> {
        use crate::semiring::{Proofs, Semiring};
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
        let gradient: BTreeMap<u32, f64> = gradient.into_iter().collect();
        let mut counts: BTreeMap<ParamKey, (f64, usize)> = BTreeMap::new();
        for (id, parameter) in tunable {
            let q = events.probability(*id);
            let d = gradient.get(id).copied().unwrap_or(0.0);
            let posterior = if p > 0.0 {
                (q * (p + (1.0 - q) * d) / p).clamp(0.0, 1.0)
            } else {
                q
            };
            let entry = counts.entry(parameter.clone()).or_default();
            entry.0 += posterior;
            entry.1 += 1;
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
