//! Link prediction on a knowledge graph: which tail completes `(h, r, ?)`,
//! which head completes `(?, r, t)`.
//!
//! Two variants behind one [`LinkScorer`] trait, evaluated by one
//! [`evaluate`]: rules mined from the graph ([`rules`], statistical,
//! explainable by construction) and embeddings trained with candle
//! ([`kge`], neural); [`Hybrid`] combines them.

pub mod eval;
pub mod graph;
pub mod kge;
pub mod rules;

pub use eval::{Direction, LinkMetrics, LinkScorer, evaluate};
pub use graph::{Triple, TripleIndex, Vocab};

/// Rules and an embedding mixed: `w * rule score + (1 - w) * the
/// embedding's calibrated probability`, with `w` chosen on validation
/// triples ([`Hybrid::fit_weight`]) or given. The rule score (the best
/// confidence of the rules that fire) and the calibrated probability are
/// both in [0, 1], so the mix needs no rescaling; candidates no rule reaches
/// are still ordered by the embedding.
pub struct Hybrid<'a> {
    /// The mined rules.
    pub rules: &'a rules::RuleSet,
    /// The embedding.
    pub embedding: &'a kge::Kge,
    /// Weight of the rules.
    pub weight: f64,
}

impl Hybrid<'_> {
    /// The rule weight (0, 0.1, ..., 1) with the best filtered MRR on
    /// `valid`; `known` filters as in [`evaluate`].
    pub fn fit_weight(&mut self, valid: &[Triple], known: &[Triple]) -> f64 {
        let mut best = (f64::MIN, 0.5);
        for step in 0..=10 {
            self.weight = f64::from(step) / 10.0;
            let mrr = evaluate(self, valid, known, None).mrr;
            if mrr > best.0 {
                best = (mrr, self.weight);
            }
        }
        self.weight = best.1;
        best.1
    }
}

impl LinkScorer for Hybrid<'_> {
    fn scores(&self, anchor: u32, relation: u32, direction: Direction) -> Vec<f64> {
        let by_rules = self.rules.scores(anchor, relation, direction);
        let (a, b) = self.embedding.calibration;
        self.embedding
            .scores(anchor, relation, direction)
            .iter()
            .zip(&by_rules)
            .map(|(&e, &r)| {
                let p = 1.0 / (1.0 + (-(a * e + b)).exp());
                self.weight * r.min(1.0) + (1.0 - self.weight) * p
            })
            .collect()
    }
}
