//! Growing one CART tree the way scikit-learn's `DecisionTreeClassifier`
//! does (its `BestSplitter`): at each node the features are visited in a
//! seeded random order, up to `max_features` of them that are not
//! constant there; every threshold between two neighbouring distinct
//! values is tried with its exact weighted impurity, and the best split
//! found first wins ties. Rows carry weights (a forest's bootstrap counts).
//!
//! ```
//! use nesy_learn::cart::Criterion;
//! use nesy_learn::grow::{GrowParams, grow};
//! use rand::SeedableRng;
//!
//! // One feature; class 1 from 2.5 on.
//! let x = vec![vec![1.0], vec![2.0], vec![3.0], vec![4.0]];
//! let y = vec![0, 0, 1, 1];
//! let rows: Vec<(usize, f64)> = (0..4).map(|i| (i, 1.0)).collect();
//! let params = GrowParams { criterion: Criterion::Gini, max_depth: None,
//!     min_samples_split: 2, min_samples_leaf: 1, max_features: 1 };
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let tree = grow(&x, &y, 2, &rows, &params, &mut rng);
//! assert_eq!(tree.proba(&[2.4], 2), vec![1.0, 0.0]);
//! assert_eq!(tree.proba(&[2.6], 2), vec![0.0, 1.0]);
//! ```

use crate::cart::Criterion;
use crate::tree::{Node, Tree};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Values closer than this count as equal (scikit-learn's
/// `FEATURE_THRESHOLD`).
const SAME_VALUE: f64 = 1e-7;

/// How one tree grows.
#[derive(Clone, Debug, PartialEq)]
pub struct GrowParams {
    /// The impurity a split lowers.
    pub criterion: Criterion,
    /// Deepest level (the root is 0); `None` grows until pure.
    pub max_depth: Option<usize>,
    /// A node with fewer rows is not split.
    pub min_samples_split: usize,
    /// No split leaves fewer rows than this on a side.
    pub min_samples_leaf: usize,
    /// Features tried per node (all of them for a single tree).
    pub max_features: usize,
}

/// Grows a tree on `rows` (indices into `x` and `y`, each with its weight;
/// rows of weight 0 are left out), with `classes` classes. Each leaf holds
/// the weighted class counts of its rows.
pub fn grow(
    x: &[Vec<f64>],
    y: &[usize],
    classes: usize,
    rows: &[(usize, f64)],
    params: &GrowParams,
    rng: &mut ChaCha8Rng,
) -> Tree {
    let features = x.first().map_or(0, Vec::len);
    let grower = Grower {
        x,
        y,
        classes,
        features,
        params,
    };
    let mut nodes: Vec<Node> = Vec::new();
    // (rows of the node, depth, the parent's slot to point here)
    type Pending = (Vec<(usize, f64)>, usize, Option<(usize, bool)>);
    let start: Vec<(usize, f64)> = rows.iter().copied().filter(|(_, w)| *w > 0.0).collect();
    let mut stack: Vec<Pending> = vec![(start, 0, None)];
    while let Some((node_rows, depth, parent)) = stack.pop() {
        let at = nodes.len();
        if let Some((p, is_left)) = parent
            && let Some(Node::Split { left, right, .. }) = nodes.get_mut(p)
        {
            if is_left {
                *left = at;
            } else {
                *right = at;
            }
        }
        let counts = grower.counts(&node_rows);
        match grower.split(&node_rows, &counts, depth, rng) {
            Some((feature, threshold)) => {
                let (left, right): (Vec<_>, Vec<_>) = node_rows
                    .into_iter()
                    .partition(|(r, _)| grower.value(*r, feature) < threshold);
                nodes.push(Node::Split {
                    feature,
                    threshold,
                    left: 0,
                    right: 0,
                });
                // Left first out of the stack: children follow parents,
                // left subtrees before right ones.
                stack.push((right, depth + 1, Some((at, false))));
                stack.push((left, depth + 1, Some((at, true))));
            }
            None => nodes.push(Node::Leaf { counts }),
        }
    }
    Tree { nodes }
}

struct Grower<'a> {
    x: &'a [Vec<f64>],
    y: &'a [usize],
    classes: usize,
    features: usize,
    params: &'a GrowParams,
}

impl Grower<'_> {
    fn value(&self, row: usize, feature: usize) -> f64 {
        self.x
            .get(row)
            .and_then(|r| r.get(feature))
            .copied()
            .unwrap_or(f64::NAN)
    }

    fn class(&self, row: usize) -> usize {
        self.y.get(row).copied().unwrap_or(0)
    }

    fn counts(&self, rows: &[(usize, f64)]) -> Vec<f64> {
        let mut counts = vec![0.0; self.classes];
        for (r, w) in rows {
            if let Some(c) = counts.get_mut(self.class(*r)) {
                *c += w;
            }
        }
        counts
    }

    /// `-W * impurity` of counts summing to `total` (what scikit-learn
    /// calls the proxy: the split maximising the children's sum lowers the
    /// impurity most).
    fn proxy(&self, counts: &[f64], total: f64) -> f64 {
        if total <= 0.0 {
            return 0.0;
        }
        match self.params.criterion {
            Criterion::Gini => counts.iter().map(|c| c * c).sum::<f64>() / total - total,
            Criterion::Entropy => counts
                .iter()
                .filter(|&&c| c > 0.0)
                .map(|c| c * (c / total).ln())
                .sum(),
        }
    }

    /// The best split of a node, or `None` for a leaf.
    fn split(
        &self,
        rows: &[(usize, f64)],
        counts: &[f64],
        depth: usize,
        rng: &mut ChaCha8Rng,
    ) -> Option<(usize, f64)> {
        let p = self.params;
        let n = rows.len();
        let pure = counts.iter().filter(|&&c| c > 0.0).count() <= 1;
        if pure
            || p.max_depth.is_some_and(|d| depth >= d)
            || n < p.min_samples_split.max(2)
            || n < 2 * p.min_samples_leaf.max(1)
        {
            return None;
        }
        let total: f64 = counts.iter().sum();
        let leaf_min = p.min_samples_leaf.max(1);
        // Features in a seeded order (Fisher-Yates, drawn as they are
        // needed); constant ones do not count towards `max_features`.
        let mut order: Vec<usize> = (0..self.features).collect();
        let mut visited = 0;
        let mut best: Option<(f64, usize, f64)> = None;
        let mut sorted: Vec<(f64, usize, f64)> = Vec::with_capacity(n);
        for drawn in 0..self.features {
            if visited >= p.max_features.max(1) {
                break;
            }
            let pick = rng.gen_range(drawn..self.features);
            order.swap(drawn, pick);
            let feature = order.get(drawn).copied().unwrap_or(0);
            sorted.clear();
            sorted.extend(rows.iter().map(|&(r, w)| (self.value(r, feature), r, w)));
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (Some(lo), Some(hi)) = (sorted.first(), sorted.last()) else {
                continue;
            };
            if hi.0 <= lo.0 + SAME_VALUE {
                continue;
            }
            visited += 1;
            let mut left = vec![0.0; self.classes];
            let mut left_total = 0.0;
            for i in 0..n.saturating_sub(1) {
                let (Some(&(v, r, w)), Some(&(next, _, _))) = (sorted.get(i), sorted.get(i + 1))
                else {
                    break;
                };
                if let Some(c) = left.get_mut(self.class(r)) {
                    *c += w;
                }
                left_total += w;
                if next <= v + SAME_VALUE {
                    continue;
                }
                let n_left = i + 1;
                if n_left < leaf_min || n - n_left < leaf_min {
                    continue;
                }
                let right: Vec<f64> = counts.iter().zip(&left).map(|(t, l)| t - l).collect();
                let score = self.proxy(&left, left_total) + self.proxy(&right, total - left_total);
                if best.is_none_or(|(b, _, _)| score > b) {
                    let mut threshold = v / 2.0 + next / 2.0;
                    if threshold >= next || !threshold.is_finite() {
                        threshold = next;
                    }
                    best = Some((score, feature, threshold));
                }
            }
        }
        best.map(|(_, feature, threshold)| (feature, threshold))
    }
}
