//! Classification metrics: accuracy, macro-F1, confusion matrix, and how
//! good the probabilities are (Brier score, log-loss).

use serde::{Deserialize, Serialize};

/// How well predictions match the truth: for classes, accuracy, macro-F1
/// and the confusion matrix; for a regression, its errors
/// ([`Metrics::regression`]), and only those are written out.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Metrics {
    /// Fraction of rows predicted right.
    pub accuracy: f64,
    /// The unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// `confusion[truth][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
    /// A regression's errors.
    #[serde(default)]
    pub errors: Option<RegressionErrors>,
}

/// How far a regression's predictions are from the truth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegressionErrors {
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// The coefficient of determination, `1 - SSE / SST` (scikit-learn's
    /// `score`; 1 when the truth does not vary and is predicted exactly).
    pub r2: f64,
}

impl Serialize for Metrics {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.errors {
            Some(errors) => errors.serialize(serializer),
            None => {
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("accuracy", &self.accuracy)?;
                map.serialize_entry("macro_f1", &self.macro_f1)?;
                map.serialize_entry("confusion", &self.confusion)?;
                map.end()
            }
        }
    }
}

impl Metrics {
    /// A regression's errors: `predicted` against `truth`.
    ///
    /// ```
    /// use nesy_learn::Metrics;
    /// let m = Metrics::regression(&[1.0, 2.0, 3.0], &[1.0, 2.0, 5.0]);
    /// let e = m.errors.unwrap();
    /// assert!((e.rmse - (4.0f64 / 3.0).sqrt()).abs() < 1e-12);
    /// assert!((e.mae - 2.0 / 3.0).abs() < 1e-12);
    /// assert!((e.r2 - (1.0 - 4.0 / 2.0)).abs() < 1e-12);
    /// ```
    pub fn regression(truth: &[f64], predicted: &[f64]) -> Metrics {
        let n = truth.len().min(predicted.len());
        if n == 0 {
            return Metrics {
                errors: Some(RegressionErrors::default()),
                ..Metrics::default()
            };
        }
        // Computed on values divided by a power of two (exact), so that
        // targets near f64::MAX give errors, not infinities.
        let scale = crate::grow::power_of_two_scale(truth.iter().chain(predicted));
        let mean = truth.iter().take(n).map(|t| t / scale).sum::<f64>() / n as f64;
        let (mut sse, mut sae, mut sst) = (0.0, 0.0, 0.0);
        for (t, p) in truth.iter().zip(predicted) {
            let (t, p) = (t / scale, p / scale);
            sse += (t - p) * (t - p);
            sae += (t - p).abs();
            sst += (t - mean) * (t - mean);
        }
        let r2 = if sst > 0.0 {
            1.0 - sse / sst
        } else if sse == 0.0 {
            1.0
        } else {
            0.0
        };
        Metrics {
            errors: Some(RegressionErrors {
                rmse: (sse / n as f64).sqrt() * scale,
                mae: sae / n as f64 * scale,
                r2,
            }),
            ..Metrics::default()
        }
    }
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
            errors: None,
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

/// How good predicted probabilities are, not only their argmax: what
/// matters when a class probability becomes the tag of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbabilityScores {
    /// Mean over rows of the squared distance between the predicted
    /// distribution and the true class's indicator (0 is perfect, 2 the
    /// worst).
    pub brier: f64,
    /// Mean over rows of `-ln p(true class)`, with `p` clipped at 1e-15 (a
    /// leaf that gives the true class 0 costs 34.5, not infinity).
    pub log_loss: f64,
}

impl ProbabilityScores {
    /// Scores of `distributions` (one per row, by class index) against the
    /// true class indices.
    ///
    /// ```
    /// use nesy_learn::metrics::ProbabilityScores;
    /// let s = ProbabilityScores::new(&[0, 1], &[vec![0.8, 0.2], vec![0.5, 0.5]]);
    /// assert!((s.brier - (0.08 + 0.5) / 2.0).abs() < 1e-12);
    /// assert!((s.log_loss - (-(0.8f64.ln()) - 0.5f64.ln()) / 2.0).abs() < 1e-12);
    /// ```
    pub fn new(truth: &[usize], distributions: &[Vec<f64>]) -> ProbabilityScores {
        let n = truth.len().min(distributions.len());
        if n == 0 {
            return ProbabilityScores {
                brier: 0.0,
                log_loss: 0.0,
            };
        }
        let (mut brier, mut log_loss) = (0.0, 0.0);
        for (&t, p) in truth.iter().zip(distributions) {
            brier += p
                .iter()
                .enumerate()
                .map(|(c, &q)| (q - if c == t { 1.0 } else { 0.0 }).powi(2))
                .sum::<f64>();
            let q = p.get(t).copied().unwrap_or(0.0).clamp(1e-15, 1.0);
            log_loss -= q.ln();
        }
        ProbabilityScores {
            brier: brier / n as f64,
            log_loss: log_loss / n as f64,
        }
    }
}
