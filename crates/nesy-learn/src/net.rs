//! Networks for neural predicates: a small MLP classifier in candle (with
//! a convolution first for image-shaped inputs, [`ConvSpec`]) whose
//! softmax over its classes is, in rules, one annotated disjunction
//! (`digit.prob(I, D, P)` binds every class `D` of input `I`).
//!
//! A network reads its inputs by entity: its file names a table (a CSV with
//! an id column and the feature columns) and a rule passes the id.
//!
//! ```
//! use nesy_learn::net::{Net, NetSpec};
//!
//! let spec = NetSpec { features: vec!["x".into(), "y".into()], hidden: vec![8], classes: vec!["a".into(), "b".into()], conv: None };
//! let net = Net::new(spec, vec![0.0, 0.0], vec![1.0, 1.0], 7, &candle_core::Device::Cpu)?;
//! let p = net.probabilities(&[vec![0.5, -1.0]])?;
//! assert!((p[0].iter().sum::<f64>() - 1.0).abs() < 1e-6);
//! # Ok::<(), nesy_learn::Error>(())
//! ```
//!
//! Weights start from our own seeded ChaCha RNG (candle's CPU RNG cannot
//! be seeded), Glorot-uniform; biases at 0. Inputs are standardised with
//! the mean and deviation of the data the network was made for.

use crate::error::{Error, Result};
use crate::model_file::{FORMAT, VERSION, read_f32, safetensors_header, write_atomic};
use candle_core::{D, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The optimiser a network trains with (AdamW).
pub type NetOptimizer = AdamW;

/// The shape of a network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetSpec {
    /// The feature columns, in order.
    pub features: Vec<String>,
    /// The widths of the hidden layers (ReLU).
    pub hidden: Vec<usize>,
    /// The classes, in the order of the softmax.
    pub classes: Vec<String>,
    /// For image-shaped inputs: a convolution (ReLU, 2x2 max-pooling)
    /// before the hidden layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conv: Option<ConvSpec>,
}

/// One convolution layer over the features read as a one-channel image
/// (row by row): `channels` filters of `kernel` x `kernel`, padded to keep
/// the size, then ReLU and 2x2 max-pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvSpec {
    /// Image rows.
    pub height: usize,
    /// Image columns.
    pub width: usize,
    /// Filters.
    pub channels: usize,
    /// Filter size (odd).
    pub kernel: usize,
}

impl ConvSpec {
    /// Values the pooled feature maps hand to the hidden layers.
    fn outputs(&self) -> Option<usize> {
        (self.height / 2)
            .checked_mul(self.width / 2)?
            .checked_mul(self.channels)
    }
}

/// Where a network reads its inputs: a CSV with an id column and the
/// feature columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetInput {
    /// The table, relative to the model file (or absolute).
    pub table: String,
    /// The column of entity ids.
    pub id: String,
}

/// A network's file header (safetensors metadata `nesy`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetHeader {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// `net`.
    pub kind: String,
    /// The shape.
    pub spec: NetSpec,
    /// Where inputs are read.
    pub input: NetInput,
    /// How it was made (seed, training, metrics).
    pub training: serde_json::Value,
    /// `nesy VERSION`.
    pub created_by: String,
}

/// An MLP classifier.
pub struct Net {
    /// Its shape.
    pub spec: NetSpec,
    /// The convolution's filters `[channels, 1, k, k]` and biases.
    conv: Option<(Var, Var)>,
    layers: Vec<(Var, Var)>,
    mean: Vec<f32>,
    std: Vec<f32>,
    device: Device,
}

impl Net {
    /// A fresh network: Glorot-uniform weights from `seed`, zero biases;
    /// inputs standardised by `mean` and `std` (one per feature).
    pub fn new(
        spec: NetSpec,
        mean: Vec<f32>,
        std: Vec<f32>,
        seed: u64,
        device: &Device,
    ) -> Result<Net> {
        let widths = widths(&spec)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let conv = spec.conv.map(|c| {
            let (fan_in, fan_out) = (c.kernel * c.kernel, c.channels * c.kernel * c.kernel);
            let bound = (6.0 / (fan_in + fan_out) as f32).sqrt();
            let w: Vec<f32> = (0..fan_out).map(|_| rng.gen_range(-bound..bound)).collect();
            (w, vec![0.0; c.channels])
        });
        let layers = widths
            .windows(2)
            .filter_map(|pair| match pair {
                [a, b] => Some((*a, *b)),
                _ => None,
            })
            .map(|(a, b)| {
                let bound = (6.0 / (a + b) as f32).sqrt();
                let w: Vec<f32> = (0..a * b).map(|_| rng.gen_range(-bound..bound)).collect();
                (w, vec![0.0; b])
            })
            .collect();
        Net::from_layers(spec, conv, layers, mean, std, device)
    }

    /// A network of given weights (`[inputs x outputs]` row-major, and
    /// biases), checked against the shape `spec` says.
    fn from_layers(
        spec: NetSpec,
        conv: Option<(Vec<f32>, Vec<f32>)>,
        layers: Vec<(Vec<f32>, Vec<f32>)>,
        mean: Vec<f32>,
        std: Vec<f32>,
        device: &Device,
    ) -> Result<Net> {
        let widths = widths(&spec)?;
        let n = spec.features.len();
        if mean.len() != n || std.len() != n {
            return Err(Error::Invalid(
                "one mean and deviation per feature".to_string(),
            ));
        }
        let shapes: Vec<(usize, usize)> = widths
            .windows(2)
            .filter_map(|pair| match pair {
                [a, b] => Some((*a, *b)),
                _ => None,
            })
            .collect();
        if shapes.len() != layers.len() {
            return Err(Error::Invalid(format!(
                "{} layers, but the shape has {}",
                layers.len(),
                shapes.len()
            )));
        }
        let conv = match (spec.conv, conv) {
            (None, None) => None,
            (Some(c), Some((w, b)))
                if w.len() == c.channels * c.kernel * c.kernel && b.len() == c.channels =>
            {
                Some((
                    Var::from_tensor(&Tensor::from_vec(
                        w,
                        (c.channels, 1, c.kernel, c.kernel),
                        device,
                    )?)?,
                    Var::from_tensor(&Tensor::from_vec(b, c.channels, device)?)?,
                ))
            }
            _ => {
                return Err(Error::Invalid(
                    "the convolution does not have the shape its header says".to_string(),
                ));
            }
        };
        let mut vars = Vec::with_capacity(layers.len());
        for (i, ((a, b), (w, bias))) in shapes.into_iter().zip(layers).enumerate() {
            if w.len() != a * b || bias.len() != b {
                return Err(Error::Invalid(format!(
                    "layer {i} does not have the shape its header says"
                )));
            }
            vars.push((
                Var::from_tensor(&Tensor::from_vec(w, (a, b), device)?)?,
                Var::from_tensor(&Tensor::from_vec(bias, b, device)?)?,
            ));
        }
        Ok(Net {
            spec,
            conv,
            layers: vars,
            mean,
            std: std
                .into_iter()
                .map(|s| if s > 0.0 { s } else { 1.0 })
                .collect(),
            device: device.clone(),
        })
    }

    /// A copy with weights of its own (training the copy leaves this one
    /// as it is).
    pub fn duplicate(&self) -> Result<Net> {
        let layers = self
            .layers
            .iter()
            .map(|(w, b)| {
                Ok((
                    Var::from_tensor(&w.as_tensor().copy()?)?,
                    Var::from_tensor(&b.as_tensor().copy()?)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let conv = match &self.conv {
            Some((w, b)) => Some((
                Var::from_tensor(&w.as_tensor().copy()?)?,
                Var::from_tensor(&b.as_tensor().copy()?)?,
            )),
            None => None,
        };
        Ok(Net {
            spec: self.spec.clone(),
            conv,
            layers,
            mean: self.mean.clone(),
            std: self.std.clone(),
            device: self.device.clone(),
        })
    }

    /// A fresh network of the same shape and input scaling, its weights
    /// drawn anew from `seed` (as [`Net::new`]).
    pub fn reinitialized(&self, seed: u64) -> Result<Net> {
        Net::new(
            self.spec.clone(),
            self.mean.clone(),
            self.std.clone(),
            seed,
            &self.device,
        )
    }

    /// A fresh network for the rows of `inputs`, standardised by their
    /// mean and deviation.
    pub fn for_inputs(
        spec: NetSpec,
        inputs: &NetInputs,
        seed: u64,
        device: &Device,
    ) -> Result<Net> {
        let n = spec.features.len();
        let rows = inputs.rows.len().max(1) as f64;
        let mut mean = vec![0f64; n];
        for row in &inputs.rows {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += f64::from(*v) / rows;
            }
        }
        let mut var = vec![0f64; n];
        for row in &inputs.rows {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (f64::from(*v) - m).powi(2) / rows;
            }
        }
        let mean = mean.into_iter().map(|m| m as f32).collect();
        let std = var.into_iter().map(|v| v.sqrt() as f32).collect();
        Net::new(spec, mean, std, seed, device)
    }

    fn tensor(&self, rows: &[Vec<f32>]) -> Result<Tensor> {
        let n = self.spec.features.len();
        let mut flat = Vec::with_capacity(rows.len() * n);
        for row in rows {
            if row.len() != n {
                return Err(Error::Invalid(format!(
                    "the network reads {n} features, got {}",
                    row.len()
                )));
            }
            flat.extend(
                row.iter()
                    .zip(self.mean.iter().zip(&self.std))
                    .map(|(v, (m, s))| (v - m) / s),
            );
        }
        Ok(Tensor::from_vec(flat, (rows.len(), n), &self.device)?)
    }

    /// Class probabilities `[rows, classes]`, in the graph (for gradients).
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        if let (Some(c), Some((w, b))) = (self.spec.conv, &self.conv) {
            let n = h.dim(0)?;
            h = h
                .reshape((n, 1, c.height, c.width))?
                .conv2d(w.as_tensor(), c.kernel / 2, 1, 1, 1)?
                .broadcast_add(&b.as_tensor().reshape((1, c.channels, 1, 1))?)?
                .relu()?
                .max_pool2d(2)?
                .flatten_from(1)?;
        }
        let last = self.layers.len().saturating_sub(1);
        for (i, (w, b)) in self.layers.iter().enumerate() {
            h = h.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())?;
            if i < last {
                h = h.relu()?;
            }
        }
        Ok(candle_nn::ops::softmax(&h, D::Minus1)?)
    }

    /// Each row's class probabilities.
    pub fn probabilities(&self, rows: &[Vec<f32>]) -> Result<Vec<Vec<f64>>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let p = self.forward(&self.tensor(rows)?)?;
        let p: Vec<Vec<f32>> = p.to_vec2()?;
        Ok(p.into_iter()
            .map(|r| r.into_iter().map(f64::from).collect())
            .collect())
    }

    /// The share of rows whose most probable class is their label.
    pub fn accuracy(&self, rows: &[Vec<f32>], labels: &[usize]) -> Result<f64> {
        let p = self.probabilities(rows)?;
        let right = p
            .iter()
            .zip(labels)
            .filter(|(p, y)| {
                p.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(i, _)| i)
                    == Some(**y)
            })
            .count();
        Ok(right as f64 / labels.len().max(1) as f64)
    }

    /// An AdamW optimiser over the weights.
    pub fn optimizer(&self, learning_rate: f64) -> Result<AdamW> {
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            return Err(Error::Invalid(format!(
                "the learning rate is a positive number, not {learning_rate}"
            )));
        }
        let vars = self
            .conv
            .iter()
            .chain(&self.layers)
            .flat_map(|(w, b)| [w.clone(), b.clone()])
            .collect();
        Ok(AdamW::new(
            vars,
            ParamsAdamW {
                lr: learning_rate,
                weight_decay: 0.0,
                ..ParamsAdamW::default()
            },
        )?)
    }

    /// One step given the gradient of a loss with respect to each row's
    /// class probabilities (what learning through the rules computes):
    /// backpropagates `sum(p * upstream)` through the network.
    pub fn step(
        &self,
        optimizer: &mut AdamW,
        rows: &[Vec<f32>],
        upstream: &[Vec<f64>],
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let classes = self.spec.classes.len();
        let flat: Vec<f32> = upstream
            .iter()
            .flat_map(|g| (0..classes).map(|c| g.get(c).copied().unwrap_or(0.0) as f32))
            .collect();
        let g = Tensor::from_vec(flat, (rows.len(), classes), &self.device)?;
        let p = self.forward(&self.tensor(rows)?)?;
        let surrogate = (p * g)?.sum_all()?;
        optimizer.backward_step(&surrogate)?;
        Ok(())
    }

    /// Supervised training on labelled rows (class indices): cross-entropy,
    /// AdamW on shuffled mini-batches. `progress(epoch, mean loss)`.
    #[allow(
        clippy::too_many_arguments,
        reason = "the training parameters, each plain"
    )]
    pub fn fit(
        &self,
        rows: &[Vec<f32>],
        labels: &[usize],
        epochs: usize,
        batch: usize,
        learning_rate: f64,
        seed: u64,
        progress: &mut dyn FnMut(usize, f64),
    ) -> Result<()> {
        if rows.len() != labels.len() || rows.is_empty() {
            return Err(Error::Invalid(
                "one label per row, and some rows".to_string(),
            ));
        }
        let mut optimizer = self.optimizer(learning_rate)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<usize> = (0..rows.len()).collect();
        for epoch in 1..=epochs {
            order.shuffle(&mut rng);
            let mut total = 0.0;
            let mut batches = 0;
            for chunk in order.chunks(batch.max(1)) {
                let xb: Vec<Vec<f32>> =
                    chunk.iter().filter_map(|&i| rows.get(i).cloned()).collect();
                let yb: Vec<u32> = chunk
                    .iter()
                    .filter_map(|&i| labels.get(i).map(|&l| l as u32))
                    .collect();
                let y = Tensor::from_vec(yb, chunk.len(), &self.device)?;
                let p = self.forward(&self.tensor(&xb)?)?;
                let picked = p.gather(&y.unsqueeze(1)?, 1)?.squeeze(1)?;
                let loss = picked.clamp(1e-7f32, 1.0f32)?.log()?.mean_all()?.neg()?;
                optimizer.backward_step(&loss)?;
                total += f64::from(loss.to_scalar::<f32>()?);
                batches += 1;
            }
            progress(epoch, total / f64::from(batches.max(1)));
        }
        Ok(())
    }

    /// Saves the network as safetensors with its header as metadata.
    pub fn save(&self, input: &NetInput, training: serde_json::Value, path: &Path) -> Result<()> {
        use safetensors::tensor::{Dtype, TensorView};
        let header = NetHeader {
            format: FORMAT.to_string(),
            version: VERSION,
            kind: "net".to_string(),
            spec: self.spec.clone(),
            input: input.clone(),
            training,
            created_by: format!("nesy {}", env!("CARGO_PKG_VERSION")),
        };
        let to_bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let mut tensors: Vec<(String, Vec<u8>, Vec<usize>)> = vec![
            (
                "mean".to_string(),
                to_bytes(&self.mean),
                vec![self.mean.len()],
            ),
            ("std".to_string(), to_bytes(&self.std), vec![self.std.len()]),
        ];
        let named = self
            .conv
            .iter()
            .map(|pair| ("conv".to_string(), pair))
            .chain(
                self.layers
                    .iter()
                    .enumerate()
                    .map(|(i, pair)| (format!("layer{i}"), pair)),
            );
        for (name, (w, b)) in named {
            for (part, var) in [("weight", w), ("bias", b)] {
                let tensor = var.as_tensor();
                tensors.push((
                    format!("{name}.{part}"),
                    to_bytes(&tensor.flatten_all()?.to_vec1()?),
                    tensor.dims().to_vec(),
                ));
            }
        }
        let views: Vec<(&str, TensorView<'_>)> = tensors
            .iter()
            .map(|(name, bytes, shape)| {
                TensorView::new(Dtype::F32, shape.clone(), bytes)
                    .map(|v| (name.as_str(), v))
                    .map_err(|e| Error::Training(e.to_string()))
            })
            .collect::<Result<_>>()?;
        let mut metadata = HashMap::new();
        metadata.insert(
            "nesy".to_string(),
            serde_json::to_string(&header).map_err(|e| Error::Training(e.to_string()))?,
        );
        let bytes = safetensors::serialize(views, Some(metadata))
            .map_err(|e| Error::Training(e.to_string()))?;
        write_atomic(path, &bytes)
    }

    /// Reads a network file, checking its kind, version and shapes.
    pub fn load(path: &Path, device: &Device) -> Result<(Net, NetHeader)> {
        let shown = path.display().to_string();
        let bad = |message: String| Error::ModelFile {
            path: shown.clone(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        let text = safetensors_header(&bytes, "not a safetensors network").map_err(&bad)?;
        let header: NetHeader = serde_json::from_str(&text)
            .map_err(|e| bad(format!("its nesy header is invalid: {e}")))?;
        if header.format != FORMAT || header.version != VERSION || header.kind != "net" {
            return Err(bad(format!(
                "a `{}` file of version {}, not a version {VERSION} network",
                header.kind, header.version
            )));
        }
        let tensors = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| bad(format!("corrupt tensors: {e}")))?;
        let read = |name: &str| read_f32(&tensors, name).map_err(&bad);
        // Sizes are checked against the spec before anything is made of
        // them: a header cannot ask for more memory than the file holds.
        let layers = (0..widths(&header.spec)
            .map_err(|e| bad(e.to_string()))?
            .len()
            .saturating_sub(1))
            .map(|i| {
                Ok((
                    read(&format!("layer{i}.weight"))?,
                    read(&format!("layer{i}.bias"))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let conv = match header.spec.conv {
            Some(_) => Some((read("conv.weight")?, read("conv.bias")?)),
            None => None,
        };
        let net = Net::from_layers(
            header.spec.clone(),
            conv,
            layers,
            read("mean")?,
            read("std")?,
            device,
        )
        .map_err(|e| bad(e.to_string()))?;
        Ok((net, header))
    }
}

/// Most weights a network may have (50 million: 200 MB of f32).
pub const MAX_PARAMETERS: usize = 50_000_000;

/// The layer widths of a shape, inputs to classes; refuses a shape without
/// features, with fewer than two classes, with an empty hidden layer, or
/// with more than [`MAX_PARAMETERS`] weights.
fn widths(spec: &NetSpec) -> Result<Vec<usize>> {
    if spec.features.is_empty() || spec.classes.len() < 2 {
        return Err(Error::Invalid(
            "a network needs at least one feature and two classes".to_string(),
        ));
    }
    if spec.hidden.contains(&0) {
        return Err(Error::Invalid(
            "hidden layers have at least one unit".to_string(),
        ));
    }
    let first = match spec.conv {
        None => spec.features.len(),
        Some(c) => {
            let pooled = c.outputs().unwrap_or(usize::MAX);
            if c.height.checked_mul(c.width) != Some(spec.features.len())
                || c.height < 2
                || c.width < 2
                || c.channels == 0
                || c.kernel % 2 == 0
                || c.kernel > c.height.min(c.width)
            {
                return Err(Error::Invalid(format!(
                    "a convolution over {}x{} images needs {} features (it has {}), \
                     at least one filter and an odd kernel no larger than the image",
                    c.height,
                    c.width,
                    c.height
                        .checked_mul(c.width)
                        .map_or("too many".to_string(), |n| n.to_string()),
                    spec.features.len()
                )));
            }
            pooled
        }
    };
    let conv_weights = spec.conv.map_or(Some(0), |c| {
        c.kernel
            .checked_mul(c.kernel)
            .and_then(|k| k.checked_add(1))
            .and_then(|k| c.channels.checked_mul(k))
    });
    let mut widths = vec![first];
    widths.extend(&spec.hidden);
    widths.push(spec.classes.len());
    let total = widths
        .windows(2)
        .try_fold(conv_weights.unwrap_or(usize::MAX), |sum, pair| match pair {
            [a, b] => a.checked_mul(*b)?.checked_add(*b)?.checked_add(sum),
            _ => Some(sum),
        });
    match total {
        Some(n) if n <= MAX_PARAMETERS => Ok(widths),
        _ => Err(Error::Invalid(format!(
            "a network of widths {widths:?} has more than {MAX_PARAMETERS} weights"
        ))),
    }
}

/// The rows a network reads, by entity id.
#[derive(Clone, Debug, Default)]
pub struct NetInputs {
    /// Entity ids, in table order.
    pub ids: Vec<String>,
    /// Their feature values, in the network's feature order.
    pub rows: Vec<Vec<f32>>,
    by_id: HashMap<String, usize>,
}

impl NetInputs {
    /// Reads `features` of each row of a CSV, keyed by column `id`; a
    /// missing column or a value that is not a number is an error naming
    /// the file and line.
    pub fn read(path: &Path, id: &str, features: &[String]) -> Result<NetInputs> {
        let shown = path.display().to_string();
        let mut reader = csv::Reader::from_path(path).map_err(|e| Error::Data {
            path: shown.clone(),
            line: 1,
            message: e.to_string(),
        })?;
        let headers = reader
            .headers()
            .map_err(|e| Error::Data {
                path: shown.clone(),
                line: 1,
                message: e.to_string(),
            })?
            .clone();
        let column = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| Error::Data {
                    path: shown.clone(),
                    line: 1,
                    message: format!("no column `{name}`"),
                })
        };
        let id_column = column(id)?;
        let columns: Vec<usize> = features.iter().map(|f| column(f)).collect::<Result<_>>()?;
        let mut inputs = NetInputs::default();
        for (i, record) in reader.records().enumerate() {
            let line = i as u64 + 2;
            let record = record.map_err(|e| Error::Data {
                path: shown.clone(),
                line,
                message: e.to_string(),
            })?;
            let key = record.get(id_column).unwrap_or_default().to_string();
            let row = columns
                .iter()
                .zip(features)
                .map(|(&c, name)| {
                    let text = record.get(c).unwrap_or_default();
                    text.trim().parse::<f32>().map_err(|_| Error::Data {
                        path: shown.clone(),
                        line,
                        message: format!("`{text}` in column `{name}` is not a number"),
                    })
                })
                .collect::<Result<Vec<f32>>>()?;
            inputs.by_id.insert(key.clone(), inputs.ids.len());
            inputs.ids.push(key);
            inputs.rows.push(row);
        }
        Ok(inputs)
    }

    /// The features of entity `id`.
    pub fn row(&self, id: &str) -> Option<&Vec<f32>> {
        self.rows.get(*self.by_id.get(id)?)
    }
}

/// The columns of a CSV other than `id` and `target`: a network's
/// features by default.
pub fn feature_columns(path: &Path, id: &str, target: Option<&str>) -> Result<Vec<String>> {
    let (headers, _) = read_column(path, None)?;
    Ok(headers
        .into_iter()
        .filter(|h| h != id && Some(h.as_str()) != target)
        .collect())
}

/// The distinct values of column `target`, numbers in numeric order.
pub fn target_classes(path: &Path, target: &str) -> Result<Vec<String>> {
    let (_, values) = read_column(path, Some(target))?;
    let mut classes: Vec<String> = Vec::new();
    for (_, v) in values {
        if !classes.contains(&v) {
            classes.push(v);
        }
    }
    if classes.iter().all(|v| v.parse::<f64>().is_ok()) {
        classes.sort_by(|a, b| {
            let number = |s: &str| s.parse::<f64>().unwrap_or(0.0);
            number(a).total_cmp(&number(b))
        });
    } else {
        classes.sort();
    }
    Ok(classes)
}

/// Column `target` of each row as an index into `classes`; a value that is
/// not a class is an error naming the file and line.
pub fn target_labels(path: &Path, target: &str, classes: &[String]) -> Result<Vec<usize>> {
    let (_, values) = read_column(path, Some(target))?;
    values
        .into_iter()
        .map(|(line, v)| {
            classes
                .iter()
                .position(|c| *c == v)
                .ok_or_else(|| Error::Data {
                    path: path.display().to_string(),
                    line,
                    message: format!("`{v}` is not one of the classes {classes:?}"),
                })
        })
        .collect()
}

/// A column's trimmed values, each with its line.
type Column = Vec<(u64, String)>;

/// A CSV's header, and column `name`'s values.
fn read_column(path: &Path, name: Option<&str>) -> Result<(Vec<String>, Column)> {
    let shown = path.display().to_string();
    let data = |line: u64, message: String| Error::Data {
        path: shown.clone(),
        line,
        message,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| data(1, e.to_string()))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| data(1, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let Some(name) = name else {
        return Ok((headers, Vec::new()));
    };
    let column = headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| data(1, format!("no column `{name}`")))?;
    let mut values = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = record.map_err(|e| data(line, e.to_string()))?;
        values.push((
            line,
            record.get(column).unwrap_or_default().trim().to_string(),
        ));
    }
    Ok((headers, values))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;

    fn spec(hidden: Vec<usize>) -> NetSpec {
        NetSpec {
            features: vec!["x".into(), "y".into()],
            hidden,
            classes: vec!["a".into(), "b".into()],
            conv: None,
        }
    }

    /// A network file whose header says `claimed` and whose tensors are
    /// those of a small network.
    fn file_claiming(claimed: NetSpec, dir: &Path) -> std::path::PathBuf {
        let net = Net::new(spec(vec![3]), vec![0.0; 2], vec![1.0; 2], 1, &Device::Cpu).unwrap();
        let path = dir.join("m.net");
        let input = NetInput {
            table: "t.csv".into(),
            id: "id".into(),
        };
        net.save(&input, serde_json::json!({}), &path).unwrap();
        // Rewrite the header in place of the real one.
        let bytes = std::fs::read(&path).unwrap();
        let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut header: NetHeader =
            serde_json::from_str(&safetensors_header(&bytes, "?").unwrap()).unwrap();
        header.spec = claimed;
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors.tensors();
        let metadata =
            HashMap::from([("nesy".to_string(), serde_json::to_string(&header).unwrap())]);
        std::fs::write(
            &path,
            safetensors::serialize(views, Some(metadata)).unwrap(),
        )
        .unwrap();
        path
    }

    #[test]
    fn a_header_cannot_ask_for_more_than_the_file_holds() {
        let dir = tempfile::tempdir().unwrap();
        // Two hidden layers of a million units: 10^12 weights.
        let huge = file_claiming(spec(vec![1_000_000, 1_000_000]), dir.path());
        let error = Net::load(&huge, &Device::Cpu)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("more than 50000000 weights"), "{error}");
        // A plausible shape the tensors do not have.
        let other = file_claiming(spec(vec![4]), dir.path());
        let error = Net::load(&other, &Device::Cpu)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("layer 0 does not have the shape"), "{error}");
        // And the real one loads.
        let real = file_claiming(spec(vec![3]), dir.path());
        assert!(Net::load(&real, &Device::Cpu).is_ok());
    }

    #[test]
    fn a_learning_rate_is_a_positive_number() {
        let net = Net::new(spec(vec![2]), vec![0.0; 2], vec![1.0; 2], 0, &Device::Cpu).unwrap();
        for rate in [f64::NAN, 0.0, -1.0, f64::INFINITY] {
            assert!(net.optimizer(rate).is_err(), "{rate}");
        }
        assert!(net.optimizer(1e-3).is_ok());
    }

    fn image_spec(channels: usize, kernel: usize) -> NetSpec {
        NetSpec {
            features: (0..16).map(|i| format!("p{i}")).collect(),
            hidden: vec![4],
            classes: vec!["a".into(), "b".into()],
            conv: Some(ConvSpec {
                height: 4,
                width: 4,
                channels,
                kernel,
            }),
        }
    }

    #[test]
    fn a_convolution_saves_loads_and_learns() {
        let net = Net::new(
            image_spec(3, 3),
            vec![0.0; 16],
            vec![1.0; 16],
            5,
            &Device::Cpu,
        )
        .unwrap();
        // A vertical bar is class a, a horizontal one b.
        let bar = |vertical: bool| -> Vec<f32> {
            (0..16)
                .map(|i| {
                    let (r, c) = (i / 4, i % 4);
                    f32::from(u8::from(if vertical { c == 1 } else { r == 1 }))
                })
                .collect()
        };
        let rows = vec![bar(true), bar(false)];
        net.fit(&rows, &[0, 1], 60, 2, 0.05, 0, &mut |_, _| {})
            .unwrap();
        let p = net.probabilities(&rows).unwrap();
        assert!(p[0][0] > 0.9 && p[1][1] > 0.9, "{p:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.net");
        let input = NetInput {
            table: "t.csv".into(),
            id: "id".into(),
        };
        net.save(&input, serde_json::json!({}), &path).unwrap();
        let (loaded, header) = Net::load(&path, &Device::Cpu).unwrap();
        assert_eq!(header.spec, image_spec(3, 3));
        assert_eq!(loaded.probabilities(&rows).unwrap(), p);
        // Its header cannot claim filters its tensors lack.
        let mut bytes_header = header.clone();
        bytes_header.spec = image_spec(4, 3);
        let bytes = std::fs::read(&path).unwrap();
        let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let metadata = HashMap::from([(
            "nesy".to_string(),
            serde_json::to_string(&bytes_header).unwrap(),
        )]);
        std::fs::write(
            &path,
            safetensors::serialize(tensors.tensors(), Some(metadata)).unwrap(),
        )
        .unwrap();
        let error = Net::load(&path, &Device::Cpu)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("shape its header says"), "{error}");
    }

    #[test]
    fn image_shapes_are_checked() {
        for (channels, kernel) in [(0, 3), (3, 2), (3, 5)] {
            let error = Net::new(
                image_spec(channels, kernel),
                vec![0.0; 16],
                vec![1.0; 16],
                0,
                &Device::Cpu,
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
            assert!(error.contains("a convolution over 4x4 images"), "{error}");
        }
        let mut huge = image_spec(3, 3);
        huge.conv = huge.conv.map(|c| ConvSpec {
            height: usize::MAX,
            width: usize::MAX,
            ..c
        });
        let error = Net::new(huge, vec![0.0; 16], vec![1.0; 16], 0, &Device::Cpu)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("needs too many features (it has 16)"),
            "{error}"
        );
        let mut wrong = image_spec(3, 3);
        wrong.features.pop();
        assert!(Net::new(wrong, vec![0.0; 15], vec![1.0; 15], 0, &Device::Cpu).is_err());
    }

    #[test]
    fn shapes_are_refused_before_anything_is_allocated() {
        for (hidden, says) in [
            (vec![0], "at least one unit"),
            (vec![usize::MAX, 2], "weights"),
            (vec![100_000, 100_000], "weights"),
        ] {
            let error = Net::new(spec(hidden), vec![0.0; 2], vec![1.0; 2], 0, &Device::Cpu)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains(says), "{error}");
        }
    }
}
