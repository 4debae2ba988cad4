//! The neural variant: a soft decision tree (Frosst & Hinton, 2017,
//! "Distilling a Neural Network Into a Soft Decision Tree") in candle.
//!
//! Each inner node `i` sends a row right with probability
//! `sigmoid(beta * (w_i . x + b_i))` over all (standardised) features; each
//! leaf holds a softmax distribution over the classes. A row's class
//! distribution is the mixture of the leaves' distributions weighted by the
//! probability of the path to each, and the loss is the negative log of
//! the true class's mixture probability. The paper's penalty keeps inner
//! nodes balanced: for node `i` at depth `d`, with `alpha_i` the
//! path-weighted mean of its right-probability over the batch, it adds
//! `lambda * 2^-d * -(log alpha_i + log(1 - alpha_i)) / 2`. Trained with
//! AdamW on mini-batches.
//!
//! Weights are initialised from our own seeded ChaCha RNG (candle's CPU RNG
//! cannot be seeded) and batches are shuffled by it, so a seed gives the
//! same model on CPU. Prediction runs in plain Rust from the stored
//! weights.

use crate::error::{Error, Result};
use crate::table::Table;
use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How a soft tree is trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoftParams {
    /// Depth: `2^depth - 1` inner nodes, `2^depth` leaves.
    pub depth: usize,
    /// Passes over the training rows.
    pub epochs: usize,
    /// AdamW's learning rate.
    pub learning_rate: f64,
    /// AdamW's decoupled weight decay (candle's default is 0.01; soft trees
    /// on small tables do better with little).
    pub weight_decay: f64,
    /// Rows per gradient step.
    pub batch_size: usize,
    /// Weight of the balance penalty (the paper's lambda).
    pub penalty: f64,
    /// Inverse temperature of the inner nodes' sigmoids.
    pub beta: f64,
}

impl Default for SoftParams {
    fn default() -> Self {
        SoftParams {
            depth: 4,
            epochs: 100,
            learning_rate: 0.01,
            weight_decay: 1e-4,
            batch_size: 32,
            penalty: 0.1,
            beta: 1.0,
        }
    }
}

/// A trained soft tree's weights (f32, as trained).
#[derive(Clone, Debug, PartialEq)]
pub struct SoftTree {
    /// Depth of the tree.
    pub depth: usize,
    /// Encoded input columns.
    pub features: usize,
    /// Number of classes.
    pub classes: usize,
    /// Inverse temperature.
    pub beta: f32,
    /// Per column: mean and standard deviation used to standardise.
    pub mean: Vec<f32>,
    /// See `mean`.
    pub std: Vec<f32>,
    /// Inner node weights, `[features, inner]` row-major.
    pub weights: Vec<f32>,
    /// Inner node biases, `[inner]`.
    pub bias: Vec<f32>,
    /// Leaf logits, `[leaves, classes]` row-major.
    pub leaf_logits: Vec<f32>,
}

/// One inner node on the most likely path of a soft tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SoftStep {
    /// The inner node (heap order, root 0).
    pub node: usize,
    /// Probability of going right at this node.
    pub p_right: f64,
    /// The branch taken: `left` or `right`.
    pub branch: String,
    /// The features that pushed hardest, `(name, contribution)`: weight
    /// times standardised value, strongest first.
    pub strongest: Vec<(String, f64)>,
}

/// Candle's device by name: `cpu`, or `cuda` when built with the `cuda`
/// feature.
pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" => cuda_device(),
        other => Err(Error::Device(format!(
            "unknown device `{other}` (cpu or cuda)"
        ))),
    }
}

#[cfg(feature = "cuda")]
fn cuda_device() -> Result<Device> {
    Device::new_cuda(0).map_err(|e| Error::Device(format!("CUDA device 0: {e}")))
}

#[cfg(not(feature = "cuda"))]
fn cuda_device() -> Result<Device> {
    Err(Error::Device(
        "this nesy was built without CUDA: rebuild with `--features cuda` (needs nvcc)".to_string(),
    ))
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, a: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-a..a)).collect()
}

/// Trains a soft tree; `progress(epoch, mean loss)` is called after each
/// epoch.
pub fn fit_soft(
    table: &Table,
    params: &SoftParams,
    seed: u64,
    device: &Device,
    progress: &mut dyn FnMut(usize, f64),
) -> Result<SoftTree> {
    if params.depth == 0 || params.depth > 10 {
        return Err(Error::Invalid(format!(
            "soft tree depth must be 1..=10, got {}",
            params.depth
        )));
    }
    if params.batch_size == 0 || params.epochs == 0 {
        return Err(Error::Invalid(
            "epochs and batch size must be positive".to_string(),
        ));
    }
    let n = table.len();
    let features = table.schema.encoded_names().len();
    let classes = table.schema.classes.len();
    if n == 0 {
        return Err(Error::Invalid("no training rows".to_string()));
    }
    let inner = (1usize << params.depth) - 1;
    let leaves = inner + 1;
    let (mean, std) = standardisation(table, features);
    let flat: Vec<f32> = table
        .x
        .iter()
        .flat_map(|row| {
            row.iter()
                .zip(mean.iter().zip(&std))
                .map(|(v, (m, s))| (*v as f32 - m) / s)
        })
        .collect();
    let targets: Vec<u32> = table.targets().iter().map(|&c| c as u32).collect();
    let x = Tensor::from_vec(flat, (n, features), device)?;
    let y = Tensor::from_vec(targets, n, device)?;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a = (6.0 / (features + 1) as f32).sqrt();
    let w = Var::from_tensor(&Tensor::from_vec(
        uniform(&mut rng, features * inner, a),
        (features, inner),
        device,
    )?)?;
    let b = Var::from_tensor(&Tensor::zeros(inner, DType::F32, device)?)?;
    let phi = Var::from_tensor(&Tensor::from_vec(
        uniform(&mut rng, leaves * classes, 0.1),
        (leaves, classes),
        device,
    )?)?;
    let mut opt = AdamW::new(
        vec![w.clone(), b.clone(), phi.clone()],
        ParamsAdamW {
            lr: params.learning_rate,
            weight_decay: params.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    let mut order: Vec<u32> = (0..n as u32).collect();
    for epoch in 0..params.epochs {
        order.shuffle(&mut rng);
        let mut total = 0.0;
        let mut batches = 0usize;
        for chunk in order.chunks(params.batch_size) {
            let idx = Tensor::from_vec(chunk.to_vec(), chunk.len(), device)?;
            let xb = x.index_select(&idx, 0)?;
            let yb = y.index_select(&idx, 0)?;
            let (mix, penalty) = forward(&xb, &w, &b, &phi, params)?;
            let picked = mix.gather(&yb.unsqueeze(1)?, 1)?.squeeze(1)?;
            let nll = picked.clamp(1e-7f32, 1.0f32)?.log()?.mean_all()?.neg()?;
            let loss = (nll + (penalty * params.penalty)?)?;
            opt.backward_step(&loss)?;
            total += f64::from(loss.to_scalar::<f32>()?);
            batches += 1;
        }
        let mean_loss = total / batches.max(1) as f64;
        if !mean_loss.is_finite() {
            return Err(Error::Training(format!(
                "the loss diverged at epoch {} (try a lower --learning-rate)",
                epoch + 1
            )));
        }
        progress(epoch + 1, mean_loss);
    }
    Ok(SoftTree {
        depth: params.depth,
        features,
        classes,
        beta: params.beta as f32,
        mean,
        std,
        weights: w.as_tensor().flatten_all()?.to_vec1()?,
        bias: b.as_tensor().to_vec1()?,
        leaf_logits: phi.as_tensor().flatten_all()?.to_vec1()?,
    })
}

/// Mixture class probabilities `[batch, classes]` and the balance penalty.
fn forward(
    x: &Tensor,
    w: &Var,
    b: &Var,
    phi: &Var,
    params: &SoftParams,
) -> Result<(Tensor, Tensor)> {
    let batch = x.dim(0)?;
    let logits = (x.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())? * params.beta)?;
    let p = candle_nn::ops::sigmoid(&logits)?;
    let mut mu = Tensor::ones((batch, 1), DType::F32, x.device())?;
    let mut penalty = Tensor::zeros((), DType::F32, x.device())?;
    for d in 0..params.depth {
        let width = 1usize << d;
        let pd = p.narrow(1, width - 1, width)?;
        let reach = mu.sum(0)?;
        let alpha = ((&mu * &pd)?.sum(0)? / (reach + 1e-7)?)?.clamp(1e-4f32, 1.0 - 1e-4f32)?;
        let balance = ((alpha.log()? + alpha.affine(-1.0, 1.0)?.log()?)? * -0.5)?.sum_all()?;
        penalty = (penalty + (balance * 0.5f64.powi(d as i32))?)?;
        let left = (&mu * pd.affine(-1.0, 1.0)?)?;
        let right = (&mu * &pd)?;
        mu = Tensor::stack(&[left, right], 2)?.reshape((batch, 2 * width))?;
    }
    let q = candle_nn::ops::softmax(phi.as_tensor(), D::Minus1)?;
    Ok((mu.matmul(&q)?, penalty))
}

fn standardisation(table: &Table, features: usize) -> (Vec<f32>, Vec<f32>) {
    let n = table.len().max(1) as f64;
    let mut mean = vec![0f64; features];
    for row in &table.x {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v / n;
        }
    }
    let mut var = vec![0f64; features];
    for row in &table.x {
        for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (v - m) * (v - m) / n;
        }
    }
    (
        mean.iter().map(|&m| m as f32).collect(),
        var.iter()
            .map(|&s| if s > 1e-12 { s.sqrt() as f32 } else { 1.0 })
            .collect(),
    )
}

impl SoftTree {
    fn inner(&self) -> usize {
        (1usize << self.depth) - 1
    }

    fn standardised(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(v, (m, s))| (v - f64::from(*m)) / f64::from(*s))
            .collect()
    }

    /// Probability of going right at each inner node.
    fn node_probabilities(&self, z: &[f64]) -> Vec<f64> {
        let inner = self.inner();
        (0..inner)
            .map(|i| {
                let mut s = f64::from(self.bias.get(i).copied().unwrap_or(0.0));
                for (j, v) in z.iter().enumerate() {
                    s += f64::from(self.weights.get(j * inner + i).copied().unwrap_or(0.0)) * v;
                }
                1.0 / (1.0 + (-f64::from(self.beta) * s).exp())
            })
            .collect()
    }

    fn leaf_distribution(&self, leaf: usize) -> Vec<f64> {
        let logits: Vec<f64> = (0..self.classes)
            .map(|c| {
                f64::from(
                    self.leaf_logits
                        .get(leaf * self.classes + c)
                        .copied()
                        .unwrap_or(0.0),
                )
            })
            .collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let total: f64 = exp.iter().sum();
        exp.iter().map(|e| e / total).collect()
    }

    /// The class distribution for one encoded row: the leaves' mixture.
    pub fn proba(&self, x: &[f64]) -> Vec<f64> {
        let p = self.node_probabilities(&self.standardised(x));
        let mut mu = vec![1.0f64];
        for d in 0..self.depth {
            let start = (1usize << d) - 1;
            mu = mu
                .iter()
                .enumerate()
                .flat_map(|(j, m)| {
                    let pr = p.get(start + j).copied().unwrap_or(0.5);
                    [m * (1.0 - pr), m * pr]
                })
                .collect();
        }
        let mut out = vec![0.0; self.classes];
        for (leaf, m) in mu.iter().enumerate() {
            for (o, q) in out.iter_mut().zip(self.leaf_distribution(leaf)) {
                *o += m * q;
            }
        }
        out
    }

    /// The most likely root-to-leaf path, each node with its probability
    /// and the three features that pushed hardest.
    pub fn path(&self, x: &[f64], names: &[String]) -> Vec<SoftStep> {
        let z = self.standardised(x);
        let p = self.node_probabilities(&z);
        let inner = self.inner();
        let mut out = Vec::new();
        let mut node = 0usize;
        while node < inner {
            let pr = p.get(node).copied().unwrap_or(0.5);
            let mut contributions: Vec<(String, f64)> = z
                .iter()
                .enumerate()
                .map(|(j, v)| {
                    let w = f64::from(self.weights.get(j * inner + node).copied().unwrap_or(0.0));
                    (
                        names.get(j).cloned().unwrap_or_else(|| format!("x{j}")),
                        w * v * f64::from(self.beta),
                    )
                })
                .collect();
            contributions.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
            contributions.truncate(3);
            let right = pr >= 0.5;
            out.push(SoftStep {
                node,
                p_right: pr,
                branch: if right { "right" } else { "left" }.to_string(),
                strongest: contributions,
            });
            node = 2 * node + if right { 2 } else { 1 };
        }
        out
    }

    /// Checks the weight shapes.
    pub fn validate(&self) -> Result<(), String> {
        let inner = self.inner();
        let ok = self.depth >= 1
            && self.depth <= 10
            && self.mean.len() == self.features
            && self.std.len() == self.features
            && self.weights.len() == self.features * inner
            && self.bias.len() == inner
            && self.leaf_logits.len() == (inner + 1) * self.classes;
        if ok {
            Ok(())
        } else {
            Err("the soft tree's weights do not have the shapes its header says".to_string())
        }
    }
}
