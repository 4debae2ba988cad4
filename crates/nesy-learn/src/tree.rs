//! Decision trees as nesy stores them: splits on encoded columns and leaves
//! with the class frequencies of the training rows that reach them, so
//! every prediction has a probability and a path.

use crate::table::Schema;
use serde::{Deserialize, Serialize};

/// A binary tree of threshold tests; node 0 is the root.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// The nodes; children come after their parent.
    pub nodes: Vec<Node>,
}

/// One node of a [`Tree`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum Node {
    /// Rows with `x[feature] < threshold` go left, the others right.
    Split {
        /// Encoded column.
        feature: usize,
        /// The threshold.
        threshold: f64,
        /// Node index of the left child.
        left: usize,
        /// Node index of the right child.
        right: usize,
    },
    /// A leaf: how many training rows of each class reached it; in a
    /// regression tree, one number: the mean target of those rows.
    Leaf {
        /// Per class, in the schema's class order (regression: the mean).
        counts: Vec<f64>,
    },
}

/// The tests on the way to a leaf, `(column, went left, threshold)`, and
/// the leaf's class counts.
pub type LeafPath = (Vec<(usize, bool, f64)>, Vec<f64>);

/// One test on a decision path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathStep {
    /// The encoded column's name (`income`, `colour=red`).
    pub feature: String,
    /// The row's value.
    pub value: f64,
    /// The threshold it was compared with.
    pub threshold: f64,
    /// `<` (went left) or `>=` (went right).
    pub op: String,
}

impl Tree {
    /// The leaf a row reaches.
    pub fn leaf(&self, x: &[f64]) -> usize {
        let mut at = 0;
        // A tree is acyclic (children come after parents); the bound only
        // guards against a corrupt file.
        for _ in 0..=self.nodes.len() {
            match self.nodes.get(at) {
                Some(Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                }) => {
                    let v = x.get(*feature).copied().unwrap_or(f64::NAN);
                    at = if v < *threshold { *left } else { *right };
                }
                _ => break,
            }
        }
        at
    }

    /// A regression tree's prediction for a row: the mean target of the
    /// training rows in its leaf.
    pub fn value(&self, x: &[f64]) -> f64 {
        match self.nodes.get(self.leaf(x)) {
            Some(Node::Leaf { counts }) => counts.first().copied().unwrap_or(f64::NAN),
            _ => f64::NAN,
        }
    }

    /// The class distribution of the leaf a row reaches: its training
    /// rows' frequencies.
    pub fn proba(&self, x: &[f64], classes: usize) -> Vec<f64> {
        self.proba_smoothed(x, classes, 0.0)
    }

    /// The class distribution of the leaf a row reaches, each class's
    /// count raised by `smoothing` ([`smoothed`]).
    pub fn proba_smoothed(&self, x: &[f64], classes: usize, smoothing: f64) -> Vec<f64> {
        match self.nodes.get(self.leaf(x)) {
            Some(Node::Leaf { counts }) => smoothed(counts, classes, smoothing),
            _ => vec![1.0 / classes.max(1) as f64; classes],
        }
    }

    /// The tests a row passes on its way to its leaf.
    pub fn path(&self, x: &[f64], names: &[String]) -> Vec<PathStep> {
        let mut out = Vec::new();
        let mut at = 0;
        for _ in 0..=self.nodes.len() {
            let Some(Node::Split {
                feature,
                threshold,
                left,
                right,
            }) = self.nodes.get(at)
            else {
                break;
            };
            let v = x.get(*feature).copied().unwrap_or(f64::NAN);
            let goes_left = v < *threshold;
            out.push(PathStep {
                feature: names
                    .get(*feature)
                    .cloned()
                    .unwrap_or_else(|| format!("x{feature}")),
                value: v,
                threshold: *threshold,
                op: if goes_left { "<" } else { ">=" }.to_string(),
            });
            at = if goes_left { *left } else { *right };
        }
        out
    }

    /// Checks the node links and columns against a schema.
    pub fn validate(&self, schema: &Schema) -> Result<(), String> {
        let columns = schema.encoded_names().len();
        for (i, node) in self.nodes.iter().enumerate() {
            match node {
                Node::Split {
                    feature,
                    left,
                    right,
                    threshold,
                } => {
                    if *feature >= columns || *left <= i || *right <= i {
                        return Err(format!("tree node {i} is malformed"));
                    }
                    if *left >= self.nodes.len() || *right >= self.nodes.len() {
                        return Err(format!("tree node {i} points past the end"));
                    }
                    if !threshold.is_finite() {
                        return Err(format!("tree node {i} has threshold {threshold}"));
                    }
                }
                Node::Leaf { counts } => {
                    if schema.task == crate::table::Task::Regression {
                        if counts.len() != 1 || !counts.iter().all(|v| v.is_finite()) {
                            return Err(format!("regression leaf {i} is not one number"));
                        }
                    } else if counts.len() != schema.classes.len() {
                        return Err(format!("leaf {i} has {} classes", counts.len()));
                    }
                }
            }
        }
        if self.nodes.is_empty() {
            return Err("the tree has no nodes".to_string());
        }
        Ok(())
    }

    /// Leaves with the tests on the path to each, left to right.
    pub fn leaves(&self) -> Vec<LeafPath> {
        let mut out = Vec::new();
        let mut stack = vec![(0usize, Vec::new())];
        while let Some((at, tests)) = stack.pop() {
            match self.nodes.get(at) {
                Some(Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                }) => {
                    let mut r: Vec<(usize, bool, f64)> = tests.clone();
                    r.push((*feature, false, *threshold));
                    stack.push((*right, r));
                    let mut l = tests;
                    l.push((*feature, true, *threshold));
                    stack.push((*left, l));
                }
                Some(Node::Leaf { counts }) => out.push((tests, counts.clone())),
                None => {}
            }
        }
        out
    }
}

/// A leaf's class probabilities with Laplace smoothing: `(n_c + a) / (n +
/// a K)` for `K` classes, so that a leaf of two rows of one class says
/// 0.75 (of two classes, `a` = 1), not 1; `a` = 0 gives the raw
/// frequencies. Uniform when nothing was counted.
pub fn smoothed(counts: &[f64], classes: usize, a: f64) -> Vec<f64> {
    if a <= 0.0 {
        return normalise(counts, classes);
    }
    let total: f64 = counts.iter().sum::<f64>() + a * classes as f64;
    (0..classes)
        .map(|c| (counts.get(c).copied().unwrap_or(0.0) + a) / total)
        .collect()
}

/// Counts to probabilities; uniform when nothing was counted.
pub(crate) fn normalise(counts: &[f64], classes: usize) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    if total > 0.0 {
        counts.iter().map(|c| c / total).collect()
    } else {
        vec![1.0 / classes.max(1) as f64; classes]
    }
}

/// The index of the largest value, the first on a tie.
pub(crate) fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if p.get(best).is_some_and(|b| v > b) {
            best = i;
        }
    }
    best
}
