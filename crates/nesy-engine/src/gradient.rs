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
//! let (p, gradient) = program.gradient(&tagged, "c", &[], &Clock::start(&limits))?;
//! assert!((p - 0.75).abs() < 1e-12); // 1 - (1 - a)(1 - b)
//! // d c / d a = 1 - b = 0.5, and the same for b.
//! assert!(gradient.iter().all(|(_, d)| (d - 0.5).abs() < 1e-12));
//! # Ok::<(), nesy_engine::Error>(())
//! ```

use crate::Error;
use crate::limits::Clock;
use crate::program::Program;
use crate::provenance::TaggedEvaluation;
use crate::semiring::dnf_gradient;
use crate::tagging::ParamKey;
use crate::value::Value;
use std::collections::BTreeMap;

impl Program {
    /// The probability of a tuple under `tagged` (a semiring that keeps
    /// proofs: `diff-top-k`, `top-k`, `why`), and its gradient with
    /// respect to each tunable probability it depends on: weighted model
    /// counting over the kept proofs, differentiated in reverse mode, then
    /// through each event's dependence on the parameters (an annotated
    /// disjunction's choices depend on every head before them). A tuple
    /// without proofs has probability 0 and no gradient.
    pub fn gradient(
        &self,
        tagged: &TaggedEvaluation,
        relation: &str,
        tuple: &[Value],
        clock: &Clock,
    ) -> Result<(f64, Vec<(ParamKey, f64)>), Error> {
        let Some(proofs) = tagged.proof_set(relation, tuple) else {
            return Ok((0.0, Vec::new()));
        };
        let (p, by_event) = dnf_gradient(proofs, tagged.event_view(), clock)?;
        let mut by_parameter: BTreeMap<ParamKey, f64> = BTreeMap::new();
        for (event, d) in by_event {
            let Some(key) = tagged.event_keys.get(event as usize) else {
                continue;
            };
            for (parameter, sensitivity) in self.event_sensitivity(key) {
                *by_parameter.entry(parameter).or_default() += d * sensitivity;
            }
        }
        Ok((p, by_parameter.into_iter().collect()))
    }
}
