//! Filtered link-prediction ranking, as the literature reports it.
//!
//! Each test triple `(h, r, t)` is asked both ways: rank `t` among all
//! entities as the tail of `(h, r, ?)`, and `h` as the head of `(?, r, t)`.
//! Candidates that form a known triple (in any filter file) other than the
//! one asked are removed first. Ties are ranked realistically: the mean of
//! the optimistic and pessimistic rank, `1 + better + equal / 2`.

use super::graph::Triple;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Which end of a triple is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `(anchor, r, ?)`.
    Tail,
    /// `(?, r, anchor)`.
    Head,
}

/// Anything that scores every entity as the missing end of a triple
/// (higher is more likely).
pub trait LinkScorer {
    /// One score per entity id.
    fn scores(&self, anchor: u32, relation: u32, direction: Direction) -> Vec<f64>;
}

/// MRR and Hits@k over both directions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LinkMetrics {
    /// Mean reciprocal rank.
    pub mrr: f64,
    /// Fraction ranked first.
    pub hits_at_1: f64,
    /// Fraction in the top 3.
    pub hits_at_3: f64,
    /// Fraction in the top 10.
    pub hits_at_10: f64,
    /// Queries ranked (two per test triple).
    pub queries: usize,
    /// Per relation name, with `--per-relation`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub per_relation: BTreeMap<String, LinkMetrics>,
}

#[derive(Default)]
struct Sums {
    rr: f64,
    h1: f64,
    h3: f64,
    h10: f64,
    n: usize,
}

impl Sums {
    fn add(&mut self, rank: f64) {
        self.rr += 1.0 / rank;
        self.h1 += f64::from(u8::from(rank <= 1.0));
        self.h3 += f64::from(u8::from(rank <= 3.0));
        self.h10 += f64::from(u8::from(rank <= 10.0));
        self.n += 1;
    }

    fn metrics(&self) -> LinkMetrics {
        let n = self.n.max(1) as f64;
        LinkMetrics {
            mrr: self.rr / n,
            hits_at_1: self.h1 / n,
            hits_at_3: self.h3 / n,
            hits_at_10: self.h10 / n,
            queries: self.n,
            per_relation: BTreeMap::new(),
        }
    }
}

/// The realistic filtered rank of `target` among `scores`.
pub fn rank(scores: &[f64], target: u32, filtered: &[u32]) -> f64 {
    let Some(&s) = scores.get(target as usize) else {
        return scores.len() as f64;
    };
    let mut better = 0usize;
    let mut equal = 0usize;
    for (i, &x) in scores.iter().enumerate() {
        if i == target as usize {
            continue;
        }
        if x > s || x.is_nan() {
            better += 1;
        } else if x == s {
            equal += 1;
        }
    }
    // Known answers other than the target do not count against it.
    for &f in filtered {
        if f == target {
            continue;
        }
        if let Some(&x) = scores.get(f as usize) {
            if x > s || x.is_nan() {
                better -= 1;
            } else if x == s {
                equal -= 1;
            }
        }
    }
    1.0 + better as f64 + equal as f64 / 2.0
}

/// Ranks every test triple both ways against `known` (the filter).
pub fn evaluate(
    scorer: &dyn LinkScorer,
    test: &[Triple],
    known: &[Triple],
    relation_names: Option<&[String]>,
) -> LinkMetrics {
    let mut tails: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    let mut heads: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    for &(h, r, t) in known.iter().chain(test) {
        tails.entry((h, r)).or_default().push(t);
        heads.entry((r, t)).or_default().push(h);
    }
    for v in tails.values_mut().chain(heads.values_mut()) {
        v.sort_unstable();
        v.dedup();
    }
    let mut all = Sums::default();
    let mut by_relation: BTreeMap<u32, Sums> = BTreeMap::new();
    for &(h, r, t) in test {
        let tail_scores = scorer.scores(h, r, Direction::Tail);
        let tail_rank = rank(
            &tail_scores,
            t,
            tails.get(&(h, r)).map(Vec::as_slice).unwrap_or_default(),
        );
        let head_scores = scorer.scores(t, r, Direction::Head);
        let head_rank = rank(
            &head_scores,
            h,
            heads.get(&(r, t)).map(Vec::as_slice).unwrap_or_default(),
        );
        for rank in [tail_rank, head_rank] {
            all.add(rank);
            if relation_names.is_some() {
                by_relation.entry(r).or_default().add(rank);
            }
        }
    }
    let mut metrics = all.metrics();
    if let Some(names) = relation_names {
        metrics.per_relation = by_relation
            .into_iter()
            .map(|(r, s)| {
                (
                    names
                        .get(r as usize)
                        .cloned()
                        .unwrap_or_else(|| r.to_string()),
                    s.metrics(),
                )
            })
            .collect();
    }
    metrics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_are_filtered_and_ties_realistic() {
        // target 2 scores 0.5; entity 0 scores higher but is a known answer.
        let scores = [0.9, 0.1, 0.5, 0.5, 0.5, 0.7];
        assert_eq!(rank(&scores, 2, &[]), 1.0 + 2.0 + 1.0);
        assert_eq!(rank(&scores, 2, &[0, 2]), 1.0 + 1.0 + 1.0);
        assert_eq!(rank(&scores, 2, &[0, 3, 4]), 2.0);
    }

    struct Fixed;
    impl LinkScorer for Fixed {
        fn scores(&self, anchor: u32, _: u32, _: Direction) -> Vec<f64> {
            // Prefers the entity after the anchor.
            (0..4)
                .map(|e| if e == (anchor + 1) % 4 { 1.0 } else { 0.0 })
                .collect()
        }
    }

    #[test]
    fn both_directions_count() {
        let m = evaluate(&Fixed, &[(0, 0, 1)], &[], None);
        assert_eq!(m.queries, 2);
        // tail of (0, r, ?): entity 1 ranks first. head of (?, r, 1): the
        // scorer prefers 2; entity 0 ties with 1 and 3 at 0: rank 2 + 2/2.
        assert!((m.mrr - (1.0 + 1.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(m.hits_at_1, 0.5);
    }
}
