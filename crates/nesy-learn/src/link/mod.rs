//! Link prediction on a knowledge graph: which tail completes `(h, r, ?)`,
//! which head completes `(?, r, t)`.
//!
//! Behind one [`LinkScorer`] trait, evaluated by one [`evaluate`]: rules
//! mined from the graph ([`rules`], statistical, explainable by
//! construction), the same rules with weights learned by gradient descent
//! ([`learn`], neural, still a rule file), and embeddings trained with
//! candle ([`kge`], neural); [`Hybrid`] mixes rules and an embedding.

pub mod eval;
pub mod graph;
pub mod ground;
pub mod kge;
pub mod learn;
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
    /// The rule weight (0, 0.05, ..., 1: both parts alone included) with
    /// the best filtered MRR on `valid`, the lower weight on a tie; `known`
    /// filters as in [`evaluate`]. Each part scores the validation queries
    /// once.
    pub fn fit_weight(&mut self, valid: &[Triple], known: &[Triple]) -> f64 {
        let mut answers: std::collections::HashMap<(u32, u32, bool), Vec<u32>> =
            std::collections::HashMap::new();
        for &(h, r, t) in known.iter().chain(valid) {
            answers.entry((h, r, false)).or_default().push(t);
            answers.entry((t, r, true)).or_default().push(h);
        }
        for v in answers.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        // Per query: (rule scores, embedding probabilities, target, filter).
        type Scored<'f> = (Vec<f64>, Vec<f64>, u32, &'f [u32]);
        let queries: Vec<Scored<'_>> = valid
            .iter()
            .flat_map(|&(h, r, t)| [(h, r, t, Direction::Tail), (t, r, h, Direction::Head)])
            .map(|(anchor, r, target, direction)| {
                let rules = self.rules.scores(anchor, r, direction);
                let embedding = self.calibrated(anchor, r, direction);
                let filter = answers
                    .get(&(anchor, r, direction == Direction::Head))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                (rules, embedding, target, filter)
            })
            .collect();
        let mut best = (f64::MIN, 0.5);
        for step in 0..=20 {
            let weight = f64::from(step) / 20.0;
            let mrr: f64 = queries
                .iter()
                .map(|(rules, embedding, target, filter)| {
                    let mixed: Vec<f64> = rules
                        .iter()
                        .zip(embedding)
                        .map(|(&r, &e)| mix(weight, r, e))
                        .collect();
                    1.0 / eval::rank(&mixed, *target, filter)
                })
                .sum();
            if mrr > best.0 {
                best = (mrr, weight);
            }
        }
        self.weight = best.1;
        best.1
    }

    fn calibrated(&self, anchor: u32, relation: u32, direction: Direction) -> Vec<f64> {
        let (a, b) = self.embedding.calibration;
        self.embedding
            .scores(anchor, relation, direction)
            .iter()
            .map(|&e| 1.0 / (1.0 + (-(a * e + b)).exp()))
            .collect()
    }
}

/// The hybrid's score: `w * rule score + (1 - w) * probability`.
fn mix(weight: f64, rule: f64, probability: f64) -> f64 {
    weight * rule.min(1.0) + (1.0 - weight) * probability
}

impl LinkScorer for Hybrid<'_> {
    fn scores(&self, anchor: u32, relation: u32, direction: Direction) -> Vec<f64> {
        let by_rules = self.rules.scores(anchor, relation, direction);
        self.calibrated(anchor, relation, direction)
            .iter()
            .zip(&by_rules)
            .map(|(&p, &r)| mix(self.weight, r, p))
            .collect()
    }
}
