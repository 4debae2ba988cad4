//! Reasoning as a differentiable function: the probabilities of input
//! facts in, the probabilities of output facts and their Jacobian out —
//! what a neural network's layer needs (`nesy.torch.Layer` in Python is
//! this, with torch's autograd around it).
//!
//! ```
//! use nesy::{Layer, Limits, Program, Semiring, Value};
//!
//! let program = Program::from_source("add.nesy",
//!     "addition(X, Y, Z) :- digit(X, A), digit(Y, B), Z = A + B.")?;
//! // Two images, each a 0 or a 1: one annotated disjunction per image.
//! let digit = |image: &str, d: i64| vec![Value::symbol(image), Value::Int(d)];
//! let inputs = vec![("digit".to_string(),
//!     vec![digit("a", 0), digit("a", 1), digit("b", 0), digit("b", 1)])];
//! let sum = |s: i64| vec![Value::symbol("a"), Value::symbol("b"), Value::Int(s)];
//! let outputs = vec![("addition".to_string(), vec![sum(0), sum(1), sum(2)])];
//! let layer = Layer::new(&program, &inputs, true, &outputs, Semiring::DiffTopK(10))?;
//!
//! let out = layer.forward(&[0.9, 0.1, 0.2, 0.8], &Limits::default())?;
//! // P(a + b = 1) = P(a=0) P(b=1) + P(a=1) P(b=0), the images exclusive.
//! assert!((out.probabilities[1] - (0.9 * 0.8 + 0.1 * 0.2)).abs() < 1e-6);
//! // d P(a + b = 1) / d P(a=0) = P(b=1).
//! assert!((out.jacobian[1][0] - 0.8).abs() < 1e-6);
//! # Ok::<(), nesy::Error>(())
//! ```
//!
//! The input facts become tunable probabilities of a source of the layer's
//! own: with `exclusive`, the facts of a relation that differ only in
//! their last argument are one annotated disjunction (a classifier's
//! softmax over classes: "digit 3 or digit 5" is a sum, and no proof uses
//! two classes of one image); without, each fact is independent. A
//! forward pass sets those probabilities, evaluates under the semiring
//! (`diff-top-k(K)`: exact when K covers every proof) and differentiates
//! each output's probability with respect to every input probability
//! through the proofs kept ([`nesy_engine::Program::gradient`]). The items
//! of a batch are evaluated in parallel.

use crate::{Error, Program};
use nesy_engine::{Clock, Limits, ParamKey, SemiringKind, Value};
use nesy_lang::SourceFile;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// The name of the layer's own source (in explanations and keys).
const SOURCE: &str = "<layer inputs>";
/// Input probabilities are kept this far inside (0, 1): tunable
/// probabilities are strictly inside, and a softmax's can round to 0 or 1.
const EDGE: f64 = 1e-9;

/// A program as a differentiable function of the probabilities of some
/// input facts (see the module documentation).
#[derive(Clone, Debug)]
pub struct Layer {
    engine: nesy_engine::Program,
    /// The key of each input fact's probability, in input order.
    keys: Vec<ParamKey>,
    /// Input indices by annotated disjunction (exclusive facts).
    groups: Vec<Vec<usize>>,
    outputs: Vec<(String, Vec<Value>)>,
    semiring: SemiringKind,
}

/// One forward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerOutput {
    /// Each output fact's probability, in output order.
    pub probabilities: Vec<f64>,
    /// `jacobian[j][i]`: the derivative of output `j`'s probability with
    /// respect to input `i`'s.
    pub jacobian: Vec<Vec<f64>>,
}

impl Layer {
    /// A layer over `program`: `inputs` and `outputs` list the facts, as
    /// relation and tuples, in the order of the probabilities passed and
    /// returned. The program's rules read the input relations as if they
    /// were facts of its own.
    pub fn new(
        program: &Program,
        inputs: &[(String, Vec<Vec<Value>>)],
        exclusive: bool,
        outputs: &[(String, Vec<Vec<Value>>)],
        semiring: SemiringKind,
    ) -> Result<Layer, Error> {
        if !matches!(semiring, SemiringKind::DiffTopK(_)) {
            return Err(Error::Request(format!(
                "a layer needs gradients: use the semiring diff-top-k(K), not {semiring}"
            )));
        }
        let mut facts: Vec<(usize, &Vec<Value>)> = Vec::new();
        for (r, (relation, tuples)) in inputs.iter().enumerate() {
            if tuples.is_empty() {
                return Err(Error::Request(format!(
                    "input relation `{relation}` has no facts"
                )));
            }
            let arity = tuples.first().map_or(0, Vec::len);
            if arity == 0 || tuples.iter().any(|t| t.len() != arity) {
                return Err(Error::Request(format!(
                    "the facts of input relation `{relation}` need one arity of at least 1"
                )));
            }
            facts.extend(tuples.iter().map(|t| (r, t)));
        }
        // Exclusive facts: one relation, all arguments but the last equal.
        let mut by_group: BTreeMap<(usize, &[Value]), Vec<usize>> = BTreeMap::new();
        for (i, (r, tuple)) in facts.iter().enumerate() {
            let rest = tuple.split_last().map_or(&[][..], |(_, rest)| rest);
            by_group.entry((*r, rest)).or_default().push(i);
        }
        let groups: Vec<Vec<usize>> = if exclusive {
            by_group.into_values().collect()
        } else {
            (0..facts.len()).map(|i| vec![i]).collect()
        };
        // The layer's source: the choices, `t(P) :: nesy_layer_in(I)`,
        // grouped; each input relation derived from the choice of its fact.
        let mut text = String::new();
        let mut offsets = vec![0usize; facts.len()];
        for group in &groups {
            for (n, &i) in group.iter().enumerate() {
                if n > 0 {
                    text.push_str("; ");
                }
                if let Some(slot) = offsets.get_mut(i) {
                    *slot = text.len();
                }
                // Starting values of a disjunction sum below 1; every
                // forward pass sets its own.
                let _ = write!(
                    text,
                    "t({}) :: nesy_layer_in({i})",
                    1.0 / (group.len() + 1) as f64
                );
            }
            text.push_str(".\n");
        }
        for (r, (relation, tuples)) in inputs.iter().enumerate() {
            let arity = tuples.first().map_or(0, Vec::len);
            let vars: Vec<String> = (0..arity).map(|k| format!("X{k}")).collect();
            let _ = writeln!(
                text,
                "{relation}({}) :- nesy_layer_in(I), nesy_layer_fact_{r}(I, {}).",
                vars.join(", "),
                vars.join(", ")
            );
        }
        let checked = nesy_lang::check_with(
            SourceFile::new(SOURCE, &text),
            &nesy_lang::CheckOptions::default(),
        );
        let errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| (checked.source.clone(), d.clone()))
            .collect();
        if !errors.is_empty() {
            return Err(Error::Rules(crate::RuleErrors::new(errors)));
        }
        let mut engine = program.engine.clone();
        engine.add_source(&checked.source, &checked.program)?;
        for (i, (r, tuple)) in facts.iter().enumerate() {
            let mut row = vec![Value::Int(i as i64)];
            row.extend(tuple.iter().cloned());
            engine.add_fact(&format!("nesy_layer_fact_{r}"), row)?;
        }
        let file: Arc<str> = Arc::from(SOURCE);
        let keys = offsets
            .into_iter()
            .map(|offset| ParamKey {
                file: Arc::clone(&file),
                offset,
            })
            .collect();
        let outputs = outputs
            .iter()
            .flat_map(|(relation, tuples)| {
                tuples.iter().map(move |t| (relation.clone(), t.clone()))
            })
            .collect();
        Ok(Layer {
            engine,
            keys,
            groups,
            outputs,
            semiring,
        })
    }

    /// How many input probabilities a forward pass takes.
    pub fn inputs(&self) -> usize {
        self.keys.len()
    }

    /// How many output probabilities it gives.
    pub fn outputs(&self) -> usize {
        self.outputs.len()
    }

    /// The output probabilities and their Jacobian for one item.
    pub fn forward(&self, probabilities: &[f64], limits: &Limits) -> Result<LayerOutput, Error> {
        if probabilities.len() != self.keys.len() {
            return Err(Error::Request(format!(
                "the layer takes {} input probabilities, got {}",
                self.keys.len(),
                probabilities.len()
            )));
        }
        if let Some(p) = probabilities.iter().find(|p| !(0.0..=1.0).contains(*p)) {
            return Err(Error::Request(format!(
                "input probabilities lie in [0, 1], got {p}"
            )));
        }
        let mut values: Vec<f64> = probabilities
            .iter()
            .map(|p| p.clamp(EDGE, 1.0 - EDGE))
            .collect();
        // An annotated disjunction's heads sum to at most 1 (a softmax's
        // can exceed it by rounding).
        for group in &self.groups {
            let sum: f64 = group.iter().filter_map(|&i| values.get(i)).sum();
            if sum > 1.0 - EDGE {
                let scale = (1.0 - EDGE) / sum;
                for &i in group {
                    if let Some(v) = values.get_mut(i) {
                        *v *= scale;
                    }
                }
            }
        }
        let mut engine = self.engine.clone();
        engine.set_parameters(self.keys.iter().cloned().zip(values));
        let clock = Clock::start(limits);
        let tagged = engine.evaluate_tagged(self.semiring, limits)?;
        let index: BTreeMap<&ParamKey, usize> =
            self.keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
        let mut out = LayerOutput {
            probabilities: Vec::with_capacity(self.outputs.len()),
            jacobian: Vec::with_capacity(self.outputs.len()),
        };
        for (relation, tuple) in &self.outputs {
            let gradient = engine.gradient(&tagged, relation, tuple, &clock)?;
            let mut row = vec![0.0; self.keys.len()];
            for (key, d) in &gradient.parameters {
                if let Some(slot) = index.get(key).and_then(|&i| row.get_mut(i)) {
                    *slot += d;
                }
            }
            out.probabilities.push(gradient.probability);
            out.jacobian.push(row);
        }
        Ok(out)
    }

    /// [`Layer::forward`] for every item of a batch, in parallel.
    pub fn forward_batch(
        &self,
        batch: &[Vec<f64>],
        limits: &Limits,
    ) -> Result<Vec<LayerOutput>, Error> {
        batch
            .par_iter()
            .map(|item| self.forward(item, limits))
            .collect()
    }
}
