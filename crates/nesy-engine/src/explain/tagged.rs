//! Explanations of what a semiring computed: a tuple's probability and the
//! proofs it was counted from, not the plain evaluation's tree (in which
//! every probabilistic fact holds, so `permit :- not deny.` "does not
//! hold" while its probability is 0.95).

use super::{Explanation, NodeKind, Tag};
use crate::eval;
use crate::ir::Arg;
use crate::limits::{Clock, Limits};
use crate::program::Program;
use crate::provenance::TaggedEvaluation;
use crate::value::{Value, atom_text};
use crate::{Error, Query};

impl Program {
    /// Explains `goal` as `tagged` computed it: for each answer of non-zero
    /// probability (best first, at most `max_proofs`), a tree whose
    /// premises are the proofs kept for it, each with its probability and
    /// its events (the facts, rule instances, choices and model answers
    /// that must happen, and the ones that must not, as `not ...`).
    /// `proofs` gives the proofs where `tagged`'s semiring keeps none
    /// (`max-prob`, `add-mult`): its most likely one is shown.
    /// An empty result: no answer holds with a non-zero probability.
    pub fn explain_tagged(
        &self,
        tagged: &mut TaggedEvaluation,
        proofs: Option<&TaggedEvaluation>,
        goal: &Query,
        max_proofs: usize,
        limits: &Limits,
        clock: &Clock,
    ) -> Result<Vec<Explanation>, Error> {
        let (rel, args) = super::goal_atom(goal)?;
        let Some(name) = self.relations.get(*rel).map(|r| r.name.clone()) else {
            return Ok(Vec::new());
        };
        // The answers among every tuple that can hold (the support).
        let support = &mut tagged.support;
        let answers = eval::answer(
            &mut support.stores,
            &support.interner,
            &goal.rule,
            limits,
            clock,
        )?;
        let mut tuples: Vec<(f64, Vec<Value>)> = Vec::new();
        for row in answers {
            let mut values = row.into_iter();
            let tuple: Vec<Value> = args
                .iter()
                .map(|a| match a {
                    Arg::Const(c) => self.interner.value(*c).clone(),
                    _ => values.next().unwrap_or(Value::Bool(false)),
                })
                .collect();
            let p = tagged.probability(&name, &tuple).unwrap_or(0.0);
            if p > 0.0 {
                tuples.push((p, tuple));
            }
        }
        tuples.sort_by(|(a, x), (b, y)| b.total_cmp(a).then_with(|| x.cmp(y)));
        tuples.truncate(max_proofs.max(1));
        let semiring = tagged.semiring().to_string();
        let source = proofs.unwrap_or(tagged);
        Ok(tuples
            .into_iter()
            .map(|(p, tuple)| {
                let mut kept = source.kept_proofs(&name, &tuple);
                if proofs.is_some() {
                    kept.truncate(1);
                }
                let texts: Vec<String> = tuple.iter().map(Value::to_string).collect();
                let mut root = Explanation::leaf(atom_text(&name, &texts), NodeKind::Proofs);
                root.tag = Tag::Probability(p);
                root.semiring = Some(semiring.clone());
                let count = kept.len();
                for (i, proof) in kept.into_iter().enumerate() {
                    let label = if proofs.is_some() {
                        "its most likely proof".to_string()
                    } else {
                        format!("proof {} of {count}", i + 1)
                    };
                    let mut node = Explanation::leaf(label, NodeKind::Proof);
                    node.tag = Tag::Probability(proof.probability);
                    for event in proof.events {
                        let (text, p) = if event.happens {
                            (event.name, event.probability)
                        } else {
                            (format!("not {}", event.name), 1.0 - event.probability)
                        };
                        let mut leaf = Explanation::leaf(text, NodeKind::Event);
                        leaf.tag = Tag::Probability(p);
                        node.premises.push(leaf);
                    }
                    root.premises.push(node);
                }
                root.atom = Some((name.clone(), tuple));
                root
            })
            .collect())
    }
}
