//! Growing one CART tree the way scikit-learn's `DecisionTreeClassifier`
//! and `DecisionTreeRegressor` do (their `BestSplitter`): at each node the
//! features are visited in a seeded random order, up to `max_features` of
//! them that are not constant there; every threshold between two
//! neighbouring distinct values is tried with its exact weighted impurity
//! (gini or entropy for classes, squared error for numbers), and the best
//! split found first wins ties. Rows carry weights (a forest's bootstrap
//! counts).
//!
//! ```
//! use nesy_learn::cart::Criterion;
//! use nesy_learn::grow::{GrowParams, Target, grow};
//! use rand::SeedableRng;
//!
//! // One feature; class 1 from 2.5 on.
//! let x = vec![vec![1.0], vec![2.0], vec![3.0], vec![4.0]];
//! let y = vec![0, 0, 1, 1];
//! let rows: Vec<(usize, f64)> = (0..4).map(|i| (i, 1.0)).collect();
//! let params = GrowParams { criterion: Criterion::Gini, max_depth: None,
//!     min_samples_split: 2, min_samples_leaf: 1, max_features: 1 };
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let tree = grow(&x, Target::Classes { y: &y, classes: 2 }, &rows, &params, &mut rng);
//! assert_eq!(tree.proba(&[2.4], 2), vec![1.0, 0.0]);
//! assert_eq!(tree.proba(&[2.6], 2), vec![0.0, 1.0]);
//! // Regression: the leaves hold the mean of their rows.
//! let values = vec![1.0, 1.0, 5.0, 7.0];
//! let tree = grow(&x, Target::Values(&values), &rows, &params, &mut rng);
//! assert_eq!(tree.value(&[1.5]), 1.0);
//! assert_eq!(tree.value(&[3.2]), 5.0);
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

/// What a tree predicts, per row.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// A class index per row, of `classes` classes.
    Classes {
        /// The rows' classes.
        y: &'a [usize],
        /// How many classes.
        classes: usize,
    },
    /// A number per row (regression, squared error).
    Values(&'a [f64]),
}

/// Grows a tree on `rows` (indices into `x` and the target, each with its
/// weight; rows of weight 0 are left out). Each leaf holds the weighted
/// class counts of its rows, or for numbers their weighted mean.
pub fn grow(
    x: &[Vec<f64>],
    target: Target<'_>,
    rows: &[(usize, f64)],
    params: &GrowParams,
    rng: &mut ChaCha8Rng,
) -> Tree {
    let features = x.first().map_or(0, Vec::len);
    let scale = match target {
        Target::Values(v) => power_of_two_scale(rows.iter().filter_map(|(r, _)| v.get(*r))),
        Target::Classes { .. } => 1.0,
    };
    let grower = Grower {
        x,
        target,
        features,
        params,
        scale,
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
        let counts = grower.stats(&node_rows);
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
            None => nodes.push(Node::Leaf {
                counts: grower.leaf(counts),
            }),
        }
    }
    Tree { nodes }
}

struct Grower<'a> {
    x: &'a [Vec<f64>],
    target: Target<'a>,
    features: usize,
    params: &'a GrowParams,
    /// Numbers are summed (and squared) divided by this power of two, so
    /// that targets near `f64::MAX` do not overflow; exact, so trees of
    /// ordinary numbers are the same to the last bit.
    scale: f64,
}

impl Grower<'_> {
    fn value(&self, row: usize, feature: usize) -> f64 {
        self.x
            .get(row)
            .and_then(|r| r.get(feature))
            .copied()
            .unwrap_or(f64::NAN)
    }

    /// Length of a node's statistics: a weight per class, or for numbers
    /// the sums of weights, weighted values and weighted squares.
    fn width(&self) -> usize {
        match self.target {
            Target::Classes { classes, .. } => classes,
            Target::Values(_) => 3,
        }
    }

    /// Adds row `row` of weight `w` to `stats`.
    fn add(&self, stats: &mut [f64], row: usize, w: f64) {
        match self.target {
            Target::Classes { y, .. } => {
                if let Some(c) = stats.get_mut(y.get(row).copied().unwrap_or(0)) {
                    *c += w;
                }
            }
            Target::Values(v) => {
                let v = v.get(row).copied().unwrap_or(0.0) / self.scale;
                if let [sw, swv, swv2] = stats {
                    *sw += w;
                    *swv += w * v;
                    *swv2 += w * v * v;
                }
            }
        }
    }

    fn stats(&self, rows: &[(usize, f64)]) -> Vec<f64> {
        let mut stats = vec![0.0; self.width()];
        for (r, w) in rows {
            self.add(&mut stats, *r, *w);
        }
        stats
    }

    /// The total weight of `stats`.
    fn weight(&self, stats: &[f64]) -> f64 {
        match self.target {
            Target::Classes { .. } => stats.iter().sum(),
            Target::Values(_) => stats.first().copied().unwrap_or(0.0),
        }
    }

    /// What a leaf keeps: class counts, or the mean.
    fn leaf(&self, stats: Vec<f64>) -> Vec<f64> {
        match (self.target, stats.as_slice()) {
            (Target::Values(_), [sw, swv, _]) if *sw > 0.0 => vec![swv / sw * self.scale],
            (Target::Values(_), _) => vec![0.0],
            (Target::Classes { .. }, _) => stats,
        }
    }

    /// Whether nothing is left to separate: one class, or one value.
    fn pure(&self, rows: &[(usize, f64)], stats: &[f64]) -> bool {
        match self.target {
            Target::Classes { .. } => stats.iter().filter(|&&c| c > 0.0).count() <= 1,
            Target::Values(v) => {
                let mut values = rows.iter().filter_map(|(r, _)| v.get(*r));
                let first = values.next();
                values.all(|x| Some(x) == first)
            }
        }
    }

    /// `-W * impurity` of `stats` (what scikit-learn calls the proxy: the
    /// split maximising the children's sum lowers the impurity most).
    fn proxy(&self, stats: &[f64]) -> f64 {
        let total = self.weight(stats);
        if total <= 0.0 {
            return 0.0;
        }
        match (self.target, self.params.criterion) {
            // -sum w (v - mean)^2 = (sum w v)^2 / W - sum w v^2, and the
            // last term is the same for every split of a node.
            (Target::Values(_), _) => stats.get(1).map_or(0.0, |s| s * s / total),
            (Target::Classes { .. }, Criterion::Gini) => {
                stats.iter().map(|c| c * c).sum::<f64>() / total - total
            }
            (Target::Classes { .. }, Criterion::Entropy) => stats
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
        if self.pure(rows, counts)
            || p.max_depth.is_some_and(|d| depth >= d)
            || n < p.min_samples_split.max(2)
            || n < 2 * p.min_samples_leaf.max(1)
        {
            return None;
        }
        let leaf_min = p.min_samples_leaf.max(1);
        // Features in a seeded order (Fisher-Yates, drawn as they are
        // needed); constant ones do not count towards `max_features`.
        let mut order: Vec<usize> = (0..self.features).collect();
        let mut visited = 0;
        let mut best: Option<(f64, usize, f64)> = None;
        let mut sorted: Vec<(f64, usize, f64)> = Vec::with_capacity(n);
        let mut right: Vec<f64> = Vec::with_capacity(self.width());
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
            let mut left = vec![0.0; self.width()];
            for i in 0..n.saturating_sub(1) {
                let (Some(&(v, r, w)), Some(&(next, _, _))) = (sorted.get(i), sorted.get(i + 1))
                else {
                    break;
                };
                self.add(&mut left, r, w);
                if next <= v + SAME_VALUE {
                    continue;
                }
                let n_left = i + 1;
                if n_left < leaf_min || n - n_left < leaf_min {
                    continue;
                }
                // One buffer for every threshold: this is the grower's
                // innermost loop.
                right.clear();
                right.extend(counts.iter().zip(&left).map(|(t, l)| t - l));
                let score = self.proxy(&left) + self.proxy(&right);
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

/// The power of two at or below the largest magnitude among `values` (1
/// when they are all 0): dividing by it keeps every value under 2 in
/// magnitude, exactly.
pub(crate) fn power_of_two_scale<'v>(values: impl Iterator<Item = &'v f64>) -> f64 {
    let largest = values
        .map(|v| v.abs())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    if largest > 0.0 {
        2f64.powi(largest.log2().floor() as i32)
    } else {
        1.0
    }
}
