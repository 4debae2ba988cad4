//! The statistical variant: CART with linfa-trees, random forests with
//! linfa-ensemble, converted to nesy's [`Tree`].
//!
//! linfa-trees keeps class frequencies in hash maps, so the class it
//! predicts at a tied node depends on the process's hash seed, and with it
//! whether linfa prunes a split whose children predict the same class. nesy
//! breaks those ties itself (rows of earlier classes weigh 1e-5 more, so no
//! two classes ever tie), recounts each leaf from the training rows, and
//! gives rows in file order; the same data, parameters and seed then give
//! the same tree in every process (tested across processes).

use crate::error::{Error, Result};
use crate::table::Table;
use crate::tree::{Node, Tree};
use linfa::prelude::*;
use linfa_ensemble::EnsembleLearnerParams;
use linfa_trees::{DecisionTree, SplitQuality, TreeNode};
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How a CART tree or forest is grown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CartParams {
    /// `gini` or `entropy`.
    pub criterion: Criterion,
    /// Deepest level (the root is 0); `None` grows until pure.
    pub max_depth: Option<usize>,
    /// A node with fewer rows is not split.
    pub min_samples_split: usize,
    /// No split leaves fewer rows than this on a side.
    pub min_samples_leaf: usize,
    /// Trees in a forest.
    pub trees: usize,
    /// Fraction of the features each forest tree sees.
    pub feature_fraction: f64,
}

impl Default for CartParams {
    fn default() -> Self {
        CartParams {
            criterion: Criterion::Gini,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            trees: 100,
            feature_fraction: 0.5,
        }
    }
}

/// The impurity a split minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Gini impurity.
    Gini,
    /// Information entropy.
    Entropy,
}

impl std::str::FromStr for Criterion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "gini" => Ok(Criterion::Gini),
            "entropy" => Ok(Criterion::Entropy),
            other => Err(format!("unknown criterion `{other}` (gini or entropy)")),
        }
    }
}

/// A row weighs `ROW_WEIGHT` plus one per class after its own, so that no
/// two classes tie; whole numbers keep linfa's f32 sums exact whatever
/// order its hash maps add them in (up to 2^24 / 1024 = 16k rows).
const ROW_WEIGHT: f32 = 1024.0;

fn dataset(table: &Table) -> Result<DatasetBase<Array2<f64>, Array1<usize>>> {
    let columns = table.schema.encoded_names().len();
    let flat: Vec<f64> = table.x.iter().flatten().copied().collect();
    let records = Array2::from_shape_vec((table.len(), columns), flat)
        .map_err(|e| Error::Training(e.to_string()))?;
    let targets = Array1::from_vec(table.targets().to_vec());
    Ok(tie_broken(
        DatasetBase::new(records, targets),
        table.schema.classes.len(),
    ))
}

/// linfa-trees picks a node's class from a hash map, so a tie between
/// classes goes whichever way the process's hash seed says, and decides
/// whether a split is kept (it prunes splits whose children agree).
/// Weighting rows a hair more for earlier classes breaks every tie the way
/// nesy's own leaf counts do (first class wins), in every process.
fn tie_broken(
    data: DatasetBase<Array2<f64>, Array1<usize>>,
    classes: usize,
) -> DatasetBase<Array2<f64>, Array1<usize>> {
    let weights: Vec<f32> = data
        .targets
        .iter()
        .map(|&c| ROW_WEIGHT + (classes.saturating_sub(1 + c)) as f32)
        .collect();
    data.with_weights(Array1::from_vec(weights))
}

/// linfa-ensemble's bootstrap samples drop the rows' weights, so each
/// forest tree re-applies the tie-breaking weights before linfa-trees
/// grows it.
struct TieBrokenTree {
    params: linfa_trees::DecisionTreeParams<f64, usize>,
    classes: usize,
}

impl Fit<Array2<f64>, Array1<usize>, linfa::Error> for TieBrokenTree {
    type Object = DecisionTree<f64, usize>;

    fn fit(
        &self,
        data: &DatasetBase<Array2<f64>, Array1<usize>>,
    ) -> std::result::Result<Self::Object, linfa::Error> {
        let weighted = tie_broken(
            DatasetBase::new(data.records.clone(), data.targets.clone()),
            self.classes,
        );
        self.params.fit(&weighted)
    }
}

fn tree_params(params: &CartParams) -> linfa_trees::DecisionTreeParams<f64, usize> {
    DecisionTree::params()
        .split_quality(match params.criterion {
            Criterion::Gini => SplitQuality::Gini,
            Criterion::Entropy => SplitQuality::Entropy,
        })
        .max_depth(params.max_depth)
        // linfa compares the split minimum with the node's row count, and the
        // leaf minimum with the side's summed weight (a row weighs
        // ROW_WEIGHT and at most classes - 1 more).
        .min_weight_split(params.min_samples_split as f32)
        .min_weight_leaf(params.min_samples_leaf as f32 * ROW_WEIGHT)
}

/// Grows one CART tree on the table.
pub fn fit_cart(table: &Table, params: &CartParams) -> Result<Tree> {
    if table.is_empty() {
        return Err(Error::Invalid("no training rows".to_string()));
    }
    let data = dataset(table)?;
    let model = tree_params(params)
        .fit(&data)
        .map_err(|e| Error::Training(e.to_string()))?;
    let mut tree = convert(model.root_node(), None);
    tree.fill_counts(table);
    Ok(tree)
}

/// Grows a random forest (bootstrap rows, a random subset of the features
/// per tree) with linfa-ensemble; each tree's leaves count the whole
/// training table, and the forest's probability is the mean of its trees'.
pub fn fit_forest(table: &Table, params: &CartParams, seed: u64) -> Result<Vec<Tree>> {
    if table.is_empty() {
        return Err(Error::Invalid("no training rows".to_string()));
    }
    if params.trees == 0 {
        return Err(Error::Invalid(
            "a forest needs at least one tree".to_string(),
        ));
    }
    if !(params.feature_fraction > 0.0 && params.feature_fraction <= 1.0) {
        return Err(Error::Invalid(
            "the feature fraction must be in (0, 1]".to_string(),
        ));
    }
    let data = dataset(table)?;
    let base = TieBrokenTree {
        params: tree_params(params),
        classes: table.schema.classes.len(),
    };
    let forest = EnsembleLearnerParams::new_fixed_rng(base, ChaCha8Rng::seed_from_u64(seed))
        .ensemble_size(params.trees)
        .bootstrap_proportion(1.0)
        .feature_proportion(params.feature_fraction)
        .fit(&data)
        .map_err(|e| Error::Training(e.to_string()))?;
    Ok(forest
        .models
        .iter()
        .zip(&forest.model_features)
        .map(|(m, features)| {
            let mut tree = convert(m.root_node(), Some(features));
            tree.fill_counts(table);
            tree
        })
        .collect())
}

/// linfa's nodes to ours (depth first, parents before children), with the
/// feature indices of a forest tree's column subset mapped back.
fn convert(root: &TreeNode<f64, usize>, features: Option<&Vec<usize>>) -> Tree {
    let mut nodes = Vec::new();
    // (linfa node, index of the parent's slot to patch, is left child)
    type Pending<'t> = (&'t TreeNode<f64, usize>, Option<(usize, bool)>);
    let mut stack: Vec<Pending<'_>> = vec![(root, None)];
    while let Some((node, parent)) = stack.pop() {
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
        let children = node.children();
        let (l, r) = (
            children.first().and_then(|c| c.as_deref()),
            children.get(1).and_then(|c| c.as_deref()),
        );
        match (node.is_leaf(), l, r) {
            (false, Some(l), Some(r)) => {
                let (feature, threshold, _) = node.split();
                let feature = features
                    .and_then(|f| f.get(feature).copied())
                    .unwrap_or(feature);
                nodes.push(Node::Split {
                    feature,
                    threshold,
                    left: 0,
                    right: 0,
                });
                stack.push((r, Some((at, false))));
                stack.push((l, Some((at, true))));
            }
            _ => nodes.push(Node::Leaf { counts: Vec::new() }),
        }
    }
    Tree { nodes }
}
