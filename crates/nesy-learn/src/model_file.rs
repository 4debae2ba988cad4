//! Classifiers behind one trait, and the self-describing model files they
//! are saved in.
//!
//! A CART tree or forest is saved as JSON; a soft tree as safetensors
//! whose metadata holds the same JSON header. The header names the format
//! and version, the kind (`tree`) and variant, the feature columns and
//! their encoding, the classes, the training parameters and seed, the
//! metrics measured at training, and the training data's SHA-256. Files
//! are written to a temporary file beside the target and renamed, so a
//! crash never leaves half a model.

use crate::cart::{self, CartParams};
use crate::error::{Error, Result};
use crate::soft::{self, SoftParams, SoftStep, SoftTree};
use crate::table::{Schema, Table, Task};
use crate::tree::{PathStep, Tree, argmax};
use candle_core::Device;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// The `format` field of every nesy model file.
pub const FORMAT: &str = "nesy-model";
/// The model file version this build reads and writes.
pub const VERSION: u32 = 1;

/// A prediction: the most probable class and the whole distribution.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    /// Index of the predicted class.
    pub class: usize,
    /// Its name.
    pub class_name: String,
    /// Its probability.
    pub probability: f64,
    /// Every class's probability, in the schema's class order.
    pub distribution: Vec<f64>,
}

/// Why a classifier predicted what it did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecisionPath {
    /// The tests of a CART tree from root to leaf, and the training rows of
    /// each class at the leaf.
    Tests {
        /// The tests passed.
        steps: Vec<PathStep>,
        /// Training rows per class at the leaf.
        leaf_counts: Vec<f64>,
    },
    /// A forest: how many trees favour each class, and the path in the
    /// first tree that favours the predicted class.
    Forest {
        /// Trees whose leaf favours each class.
        votes: Vec<usize>,
        /// One agreeing tree's tests.
        steps: Vec<PathStep>,
    },
    /// A regression forest: each tree's value (the prediction is their
    /// mean), and the first tree's tests.
    Mean {
        /// Each tree's value, in tree order.
        values: Vec<f64>,
        /// The first tree's tests.
        steps: Vec<PathStep>,
    },
    /// A soft tree's most likely path.
    Soft {
        /// Its inner nodes.
        steps: Vec<SoftStep>,
    },
}

impl DecisionPath {
    /// One line per test, for people.
    pub fn to_text(&self) -> String {
        let tests = |steps: &[PathStep]| {
            steps
                .iter()
                .map(|s| {
                    format!(
                        "{} = {} {} {}",
                        s.feature,
                        fmt(s.value),
                        s.op,
                        fmt(s.threshold)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            DecisionPath::Tests { steps, .. } => tests(steps),
            DecisionPath::Forest { votes, steps } => {
                format!("votes {:?}; one tree: {}", votes, tests(steps))
            }
            DecisionPath::Mean { values, steps } => {
                let (lo, hi) = values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v), hi.max(v))
                    });
                format!(
                    "the mean of {} trees (from {} to {}); one tree: {}",
                    values.len(),
                    fmt(lo),
                    fmt(hi),
                    tests(steps)
                )
            }
            DecisionPath::Soft { steps } => steps
                .iter()
                .map(|s| {
                    let strongest = s
                        .strongest
                        .iter()
                        .map(|(f, c)| format!("{f} {c:+.2}"))
                        .collect::<Vec<_>>()
                        .join(" ");
                    format!(
                        "node {} {} (p={:.2}; {strongest})",
                        s.node,
                        s.branch,
                        if s.branch == "right" {
                            s.p_right
                        } else {
                            1.0 - s.p_right
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

fn fmt(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// A trained classifier: predicts a class with a probability from an
/// encoded row (see [`Schema::encode`]) and explains one prediction.
pub trait Classifier: Send + Sync {
    /// The columns it reads and the classes it predicts.
    fn schema(&self) -> &Schema;
    /// The class distribution for an encoded row.
    fn proba(&self, x: &[f64]) -> Vec<f64>;
    /// Why the row gets its prediction.
    fn explain(&self, x: &[f64]) -> DecisionPath;
    /// A regression model's prediction (`None` for a classifier).
    fn value(&self, _x: &[f64]) -> Option<f64> {
        None
    }
    /// The most probable class (the first on a tie).
    fn predict(&self, x: &[f64]) -> Prediction {
        let distribution = self.proba(x);
        let class = argmax(&distribution);
        Prediction {
            class,
            class_name: self
                .schema()
                .classes
                .get(class)
                .cloned()
                .unwrap_or_default(),
            probability: distribution.get(class).copied().unwrap_or(0.0),
            distribution,
        }
    }
}

/// What training needs besides the table and parameters.
pub struct FitOptions<'a> {
    /// Seeds every random choice.
    pub seed: u64,
    /// Where candle runs (neural variants).
    pub device: Device,
    /// Called after each epoch with (epoch, mean loss) (neural variants).
    pub progress: &'a mut dyn FnMut(usize, f64),
}

/// A classifier that can be fitted on a table.
pub trait Fit: Classifier + Sized {
    /// Its training parameters.
    type Params;
    /// Fits on every row of `table`.
    fn fit(table: &Table, params: &Self::Params, options: &mut FitOptions<'_>) -> Result<Self>;
}

/// A CART tree.
#[derive(Clone, Debug)]
pub struct Cart {
    /// Columns and classes.
    pub schema: Schema,
    /// The tree.
    pub tree: Tree,
    /// Added to each class's count in a leaf ([`crate::tree::smoothed`]).
    pub leaf_smoothing: f64,
}

impl Classifier for Cart {
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn proba(&self, x: &[f64]) -> Vec<f64> {
        if self.schema.task == Task::Regression {
            return Vec::new();
        }
        self.tree
            .proba_smoothed(x, self.schema.classes.len(), self.leaf_smoothing)
    }
    fn value(&self, x: &[f64]) -> Option<f64> {
        (self.schema.task == Task::Regression).then(|| self.tree.value(x))
    }
    fn explain(&self, x: &[f64]) -> DecisionPath {
        let leaf_counts = match self.tree.nodes.get(self.tree.leaf(x)) {
            Some(crate::tree::Node::Leaf { counts }) => counts.clone(),
            _ => Vec::new(),
        };
        DecisionPath::Tests {
            steps: self.tree.path(x, &self.schema.encoded_names()),
            leaf_counts,
        }
    }
}

impl Fit for Cart {
    type Params = CartParams;
    fn fit(table: &Table, params: &CartParams, options: &mut FitOptions<'_>) -> Result<Self> {
        let params = CartParams {
            seed: options.seed,
            ..params.clone()
        };
        Ok(Cart {
            schema: table.schema.clone(),
            tree: cart::fit_cart(table, &params)?,
            leaf_smoothing: params.smoothing_for(false),
        })
    }
}

/// A random forest.
#[derive(Clone, Debug)]
pub struct Forest {
    /// Columns and classes.
    pub schema: Schema,
    /// The trees.
    pub trees: Vec<Tree>,
    /// Added to each class's count in a leaf of each tree.
    pub leaf_smoothing: f64,
}

impl Classifier for Forest {
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn proba(&self, x: &[f64]) -> Vec<f64> {
        if self.schema.task == Task::Regression {
            return Vec::new();
        }
        let classes = self.schema.classes.len();
        let mut out = vec![0.0; classes];
        for t in &self.trees {
            for (o, p) in out
                .iter_mut()
                .zip(t.proba_smoothed(x, classes, self.leaf_smoothing))
            {
                *o += p / self.trees.len().max(1) as f64;
            }
        }
        out
    }
    fn explain(&self, x: &[f64]) -> DecisionPath {
        if self.schema.task == Task::Regression {
            return DecisionPath::Mean {
                values: self.trees.iter().map(|t| t.value(x)).collect(),
                steps: self
                    .trees
                    .first()
                    .map(|t| t.path(x, &self.schema.encoded_names()))
                    .unwrap_or_default(),
            };
        }
        let classes = self.schema.classes.len();
        let predicted = argmax(&self.proba(x));
        let mut votes = vec![0usize; classes];
        let mut steps = Vec::new();
        for t in &self.trees {
            let c = argmax(&t.proba(x, classes));
            if let Some(v) = votes.get_mut(c) {
                *v += 1;
            }
            if c == predicted && steps.is_empty() {
                steps = t.path(x, &self.schema.encoded_names());
            }
        }
        DecisionPath::Forest { votes, steps }
    }
    fn value(&self, x: &[f64]) -> Option<f64> {
        (self.schema.task == Task::Regression).then(|| {
            // Each tree's share, so that values near f64::MAX do not sum
            // to infinity.
            let n = self.trees.len().max(1) as f64;
            self.trees.iter().map(|t| t.value(x) / n).sum::<f64>()
        })
    }
}

impl Fit for Forest {
    type Params = CartParams;
    fn fit(table: &Table, params: &CartParams, options: &mut FitOptions<'_>) -> Result<Self> {
        Ok(Forest {
            schema: table.schema.clone(),
            trees: cart::fit_forest(table, params, options.seed)?,
            leaf_smoothing: params.smoothing_for(true),
        })
    }
}

/// A soft decision tree (candle).
#[derive(Clone, Debug)]
pub struct Soft {
    /// Columns and classes.
    pub schema: Schema,
    /// The weights.
    pub tree: SoftTree,
}

impl Classifier for Soft {
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn proba(&self, x: &[f64]) -> Vec<f64> {
        self.tree.proba(x)
    }
    fn explain(&self, x: &[f64]) -> DecisionPath {
        DecisionPath::Soft {
            steps: self.tree.path(x, &self.schema.encoded_names()),
        }
    }
}

impl Fit for Soft {
    type Params = SoftParams;
    fn fit(table: &Table, params: &SoftParams, options: &mut FitOptions<'_>) -> Result<Self> {
        Ok(Soft {
            schema: table.schema.clone(),
            tree: soft::fit_soft(
                table,
                params,
                options.seed,
                &options.device,
                options.progress,
            )?,
        })
    }
}

/// Which learner made a tree model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// CART.
    Cart,
    /// Random forest.
    Forest,
    /// Soft decision tree, candle.
    Soft,
}

impl std::str::FromStr for Variant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cart" => Ok(Variant::Cart),
            "forest" => Ok(Variant::Forest),
            "soft" => Ok(Variant::Soft),
            other => Err(format!("unknown variant `{other}` (cart, forest or soft)")),
        }
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Variant::Cart => "cart",
            Variant::Forest => "forest",
            Variant::Soft => "soft",
        })
    }
}

/// Where a model's training data came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    /// The file as given.
    pub file: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Rows the final model was fitted on.
    pub rows: usize,
}

/// Everything about a model but its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// The file version, [`VERSION`].
    pub version: u32,
    /// `tree`.
    pub kind: String,
    /// The learner.
    pub variant: Variant,
    /// Columns, encoding and classes.
    pub schema: Schema,
    /// The training parameters.
    pub params: serde_json::Value,
    /// The seed.
    pub seed: u64,
    /// Metrics measured at training (`train`, `test`, `folds`).
    pub metrics: serde_json::Value,
    /// The training data.
    pub data: DataInfo,
    /// The nesy version that wrote it.
    pub created_by: String,
}

/// A tree model as stored in a file.
pub struct TreeModel {
    /// What it is.
    pub header: Header,
    /// The classifier.
    pub classifier: Box<dyn Classifier>,
    /// The CART tree, kept for exporting rules.
    pub cart: Option<Tree>,
}

impl std::fmt::Debug for TreeModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeModel")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct JsonFile {
    #[serde(flatten)]
    header: Header,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tree: Option<Tree>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    trees: Option<Vec<Tree>>,
}

/// A trained tree of any variant, ready to save.
pub enum Trained {
    /// CART.
    Cart(Cart),
    /// Forest.
    Forest(Forest),
    /// Soft tree.
    Soft(Soft),
}

impl Trained {
    /// As the common trait.
    pub fn classifier(&self) -> &dyn Classifier {
        match self {
            Trained::Cart(c) => c,
            Trained::Forest(c) => c,
            Trained::Soft(c) => c,
        }
    }

    /// Writes the model with its header, atomically.
    pub fn save(&self, header: &Header, path: &Path) -> Result<()> {
        let bytes = match self {
            Trained::Cart(c) => json_bytes(header, Some(c.tree.clone()), None)?,
            Trained::Forest(f) => json_bytes(header, None, Some(f.trees.clone()))?,
            Trained::Soft(s) => soft_bytes(header, &s.tree)?,
        };
        write_atomic(path, &bytes)
    }
}

fn json_bytes(header: &Header, tree: Option<Tree>, trees: Option<Vec<Tree>>) -> Result<Vec<u8>> {
    let file = JsonFile {
        header: header.clone(),
        tree,
        trees,
    };
    let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| Error::Training(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn soft_bytes(header: &Header, tree: &SoftTree) -> Result<Vec<u8>> {
    use safetensors::tensor::{Dtype, TensorView};
    let inner = (1usize << tree.depth) - 1;
    let to_bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let tensors = [
        (
            "weights",
            to_bytes(&tree.weights),
            vec![tree.features, inner],
        ),
        ("bias", to_bytes(&tree.bias), vec![inner]),
        (
            "leaf_logits",
            to_bytes(&tree.leaf_logits),
            vec![inner + 1, tree.classes],
        ),
        ("mean", to_bytes(&tree.mean), vec![tree.features]),
        ("std", to_bytes(&tree.std), vec![tree.features]),
    ];
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, bytes, shape)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (*name, v))
                .map_err(|e| Error::Training(e.to_string()))
        })
        .collect::<Result<_>>()?;
    let mut metadata = HashMap::new();
    metadata.insert(
        "nesy".to_string(),
        serde_json::to_string(header).map_err(|e| Error::Training(e.to_string()))?,
    );
    // One key only: safetensors writes the map in hash order, and a model
    // file should be the same bytes every time.
    safetensors::serialize(views, Some(metadata)).map_err(|e| Error::Training(e.to_string()))
}

/// The nesy header (JSON text) a safetensors model file holds in its
/// metadata, or why not (`unreadable` says what the file is not, when it
/// is no safetensors file at all).
pub(crate) fn safetensors_header(bytes: &[u8], unreadable: &str) -> Result<String, String> {
    let (_, meta) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| format!("{unreadable}: {e}"))?;
    meta.metadata()
        .as_ref()
        .and_then(|m| m.get("nesy"))
        .cloned()
        .ok_or_else(|| "a safetensors file without a nesy header".to_string())
}

/// The f32 values of tensor `name` of a safetensors file, or why not.
pub(crate) fn read_f32(
    tensors: &safetensors::SafeTensors<'_>,
    name: &str,
) -> Result<Vec<f32>, String> {
    let t = tensors
        .tensor(name)
        .map_err(|e| format!("tensor `{name}`: {e}"))?;
    if t.dtype() != safetensors::Dtype::F32 {
        return Err(format!("tensor `{name}` is not f32"));
    }
    Ok(t.data()
        .chunks_exact(4)
        .filter_map(|c| <[u8; 4]>::try_from(c).ok().map(f32::from_le_bytes))
        .collect())
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over
/// `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let shown = path.display().to_string();
    let io = |source| Error::Io {
        path: shown.clone(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// The leaf smoothing a CART or forest file was trained with: 0 when its
/// parameters do not say (files written before smoothing existed hold raw
/// frequencies).
fn leaf_smoothing(header: &Header) -> std::result::Result<f64, String> {
    match header.params.get("leaf_smoothing") {
        None => Ok(0.0),
        Some(v) => match v.as_f64() {
            Some(a) if a.is_finite() && a >= 0.0 => Ok(a),
            _ => Err(format!("leaf_smoothing is a count of 0 or more, not {v}")),
        },
    }
}

impl TreeModel {
    /// The smoothing of the leaves' class probabilities (CART, forest; 0
    /// for a soft tree).
    pub fn leaf_smoothing(&self) -> f64 {
        match self.header.variant {
            Variant::Soft => 0.0,
            _ => leaf_smoothing(&self.header).unwrap_or(0.0),
        }
    }

    /// Reads a model file of kind `tree`, checking its format, version and
    /// shapes.
    pub fn load(path: &Path) -> Result<TreeModel> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        let bad = |message: String| Error::ModelFile {
            path: shown.clone(),
            message,
        };
        let model = if bytes.first() == Some(&b'{') {
            let file: JsonFile = serde_json::from_slice(&bytes)
                .map_err(|e| bad(format!("not a valid nesy model file: {e}")))?;
            check_header(&file.header).map_err(&bad)?;
            let schema = file.header.schema.clone();
            let leaf_smoothing = leaf_smoothing(&file.header).map_err(&bad)?;
            match (file.header.variant, file.tree, file.trees) {
                (Variant::Cart, Some(tree), _) => {
                    tree.validate(&schema).map_err(&bad)?;
                    TreeModel {
                        header: file.header,
                        classifier: Box::new(Cart {
                            schema,
                            tree: tree.clone(),
                            leaf_smoothing,
                        }),
                        cart: Some(tree),
                    }
                }
                (Variant::Forest, _, Some(trees)) if !trees.is_empty() => {
                    for t in &trees {
                        t.validate(&schema).map_err(&bad)?;
                    }
                    TreeModel {
                        header: file.header,
                        classifier: Box::new(Forest {
                            schema,
                            trees,
                            leaf_smoothing,
                        }),
                        cart: None,
                    }
                }
                (variant, _, _) => {
                    return Err(bad(format!("a {variant} model file without its trees")));
                }
            }
        } else {
            let header_text =
                safetensors_header(&bytes, "neither a JSON nor a safetensors model file")
                    .map_err(&bad)?;
            let header: Header = serde_json::from_str(&header_text)
                .map_err(|e| bad(format!("its nesy header is invalid: {e}")))?;
            check_header(&header).map_err(&bad)?;
            if header.variant != Variant::Soft {
                return Err(bad(format!(
                    "a {} model stored as safetensors",
                    header.variant
                )));
            }
            let tensors = safetensors::SafeTensors::deserialize(&bytes)
                .map_err(|e| bad(format!("corrupt tensors: {e}")))?;
            let read = |name: &str| read_f32(&tensors, name).map_err(&bad);
            let params: SoftParams = serde_json::from_value(header.params.clone())
                .map_err(|e| bad(format!("soft tree parameters: {e}")))?;
            let schema = header.schema.clone();
            let tree = SoftTree {
                depth: params.depth,
                features: schema.encoded_names().len(),
                classes: schema.classes.len(),
                beta: params.beta as f32,
                mean: read("mean")?,
                std: read("std")?,
                weights: read("weights")?,
                bias: read("bias")?,
                leaf_logits: read("leaf_logits")?,
            };
            tree.validate().map_err(&bad)?;
            TreeModel {
                header,
                classifier: Box::new(Soft { schema, tree }),
                cart: None,
            }
        };
        Ok(model)
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        self.classifier.schema()
    }
}

/// The `kind` a model file's header gives (`tree`, `kge`), read without
/// loading the weights.
pub fn model_kind(path: &Path) -> Result<String> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: shown.clone(),
        source,
    })?;
    let bad = |message: String| Error::ModelFile {
        path: shown.clone(),
        message,
    };
    let header: serde_json::Value = if bytes.first() == Some(&b'{') {
        serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("not a valid nesy model file: {e}")))?
    } else {
        let text = safetensors_header(&bytes, "neither a JSON nor a safetensors model file")
            .map_err(&bad)?;
        serde_json::from_str(&text).map_err(|e| bad(format!("its nesy header is invalid: {e}")))?
    };
    header
        .get("kind")
        .and_then(|k| k.as_str())
        .map(str::to_string)
        .ok_or_else(|| bad("the header names no kind".to_string()))
}

fn check_header(h: &Header) -> Result<(), String> {
    if h.format != FORMAT {
        return Err(format!("format `{}`, expected `{FORMAT}`", h.format));
    }
    if h.version != VERSION {
        return Err(format!(
            "model file version {} but this nesy reads version {VERSION}",
            h.version
        ));
    }
    if h.kind != "tree" {
        return Err(format!("a `{}` model, not a decision tree", h.kind));
    }
    if h.schema.features.is_empty() {
        return Err("the header has no features".to_string());
    }
    match h.schema.task {
        Task::Classification if h.schema.classes.len() < 2 => {
            return Err("the header has fewer than two classes".to_string());
        }
        Task::Regression if !h.schema.classes.is_empty() => {
            return Err("a regression model's header lists classes".to_string());
        }
        Task::Regression if h.variant == Variant::Soft => {
            return Err("a soft tree cannot be a regression".to_string());
        }
        _ => {}
    }
    Ok(())
}
