//! Explanations of what a semiring computed: a tuple's probability and the
//! proofs it was counted from, not the plain evaluation's tree (in which
//! every probabilistic fact holds, so `permit :- not deny.` "does not
//! hold" while its probability is 0.95).

use super::kept::{ProbabilisticFacts, ProofFilter};
use super::{ExplainOptions, Explainer, Explanation, NodeKind, Tag};
use crate::eval;
use crate::ir::{Arg, RelId};
use crate::limits::{Clock, Limits};
use crate::program::Program;
use crate::provenance::TaggedEvaluation;
use crate::result::Evaluation;
use crate::tagging::EventKey;
use crate::value::{Value, atom_text};
use crate::{Error, Query};
use rustc_hash::FxHashSet;

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
        // Model methods whose answers are events (the others are certain).
        let uncertain: FxHashSet<(String, String)> = source
            .event_keys
            .iter()
            .filter_map(|k| match k {
                EventKey::Call(m, f, _, _) => Some((m.clone(), f.clone())),
                _ => None,
            })
            .collect();
        let facts = ProbabilisticFacts::of(self);
        let mut kept_by_tuple = Vec::with_capacity(tuples.len());
        for (p, tuple) in tuples {
            let mut kept = source.kept_proofs(&name, &tuple);
            if proofs.is_some() {
                kept.truncate(1);
            }
            kept_by_tuple.push((p, tuple, kept));
        }
        let most_likely = proofs.is_some();
        let mut out = Vec::with_capacity(kept_by_tuple.len());
        for (p, tuple, kept) in kept_by_tuple {
            let texts: Vec<String> = tuple.iter().map(Value::to_string).collect();
            let mut root = Explanation::leaf(atom_text(&name, &texts), NodeKind::Proofs);
            root.tag = Tag::Probability(p);
            root.semiring = Some(semiring.clone());
            let count = kept.len();
            let row: Option<Vec<u32>> = tuple
                .iter()
                .map(|v| tagged.support.interner.get(v))
                .collect();
            for (i, proof) in kept.into_iter().enumerate() {
                let label = if most_likely {
                    "its most likely proof".to_string()
                } else {
                    format!("proof {} of {count}", i + 1)
                };
                let mut node = Explanation::leaf(label, NodeKind::Proof);
                node.tag = Tag::Probability(proof.probability);
                let filter = ProofFilter::new(self, &facts, &proof.events, &uncertain);
                let tree = match &row {
                    Some(row) => {
                        self.derivation(&mut tagged.support, *rel, row, filter, limits, clock)?
                    }
                    None => None,
                };
                let drawn = tree.is_some();
                if let Some(tree) = tree {
                    node.premises.push(tree);
                }
                // With the tree drawn, the events it shows are not listed
                // again: only those that must not happen.
                for event in proof.events.into_iter().filter(|e| !drawn || !e.happens) {
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
            out.push(root);
        }
        Ok(out)
    }

    /// The derivation of `rel(row)` that one kept proof stands for, as a
    /// tree (`None` when the search finds none within its budget).
    fn derivation(
        &self,
        support: &mut Evaluation,
        rel: RelId,
        row: &[u32],
        filter: ProofFilter<'_>,
        limits: &Limits,
        clock: &Clock,
    ) -> Result<Option<Explanation>, Error> {
        let options = ExplainOptions {
            // A negation holds by the proof's `not ...` events, not by
            // what the support lacks: no why-not under it.
            why_not_depth: 0,
            ..ExplainOptions::default()
        };
        let mut explainer = Explainer::new(self, support, options, limits, clock, Some(filter));
        let found = explainer.prove_all(rel, row, 1)?;
        Ok(found.first().map(|&root| explainer.tree(root)))
    }
}
