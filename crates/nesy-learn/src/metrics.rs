//! Classification metrics: accuracy, macro-F1, confusion matrix.

use serde::{Deserialize, Serialize};

/// How well predictions match the truth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Fraction of rows predicted right.
    pub accuracy: f64,
    /// The unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// `confusion[truth][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
}

impl Metrics {
    /// Compares predicted with true class indices over `classes` classes.
    pub fn new(truth: &[usize], predicted: &[usize], classes: usize) -> Metrics {
        let mut confusion = vec![vec![0usize; classes]; classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            if let Some(cell) = confusion.get_mut(t).and_then(|row| row.get_mut(p)) {
                *cell += 1;
            }
        }
        let total = truth.len().min(predicted.len());
        let right: usize = (0..classes)
            .map(|c| {
                confusion
                    .get(c)
                    .and_then(|r| r.get(c))
                    .copied()
                    .unwrap_or(0)
            })
            .sum();
        let f1s: Vec<f64> = (0..classes)
            .map(|c| {
                let tp = confusion
                    .get(c)
                    .and_then(|r| r.get(c))
                    .copied()
                    .unwrap_or(0) as f64;
                let predicted_c: usize = confusion.iter().filter_map(|r| r.get(c)).sum();
                let actual_c: usize = confusion.get(c).map_or(0, |r| r.iter().sum());
                let denominator = (predicted_c + actual_c) as f64;
                if denominator == 0.0 {
                    0.0
                } else {
                    2.0 * tp / denominator
                }
            })
            .collect();
        Metrics {
            accuracy: if total == 0 {
                0.0
            } else {
                right as f64 / total as f64
            },
            macro_f1: if f1s.is_empty() {
                0.0
            } else {
                f1s.iter().sum::<f64>() / f1s.len() as f64
            },
            confusion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_a_known_confusion() {
        // truth:     a a a b b
        // predicted: a a b b a
        let m = Metrics::new(&[0, 0, 0, 1, 1], &[0, 0, 1, 1, 0], 2);
        assert_eq!(m.confusion, vec![vec![2, 1], vec![1, 1]]);
        assert!((m.accuracy - 0.6).abs() < 1e-12);
        // F1(a) = 2*2/(3+3) = 0.667, F1(b) = 2*1/(2+2) = 0.5
        assert!((m.macro_f1 - (2.0 / 3.0 + 0.5) / 2.0).abs() < 1e-12);
    }
}
