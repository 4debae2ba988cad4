//! The neural variant: knowledge-graph embeddings trained with candle.
//!
//! TransE, DistMult, ComplEx and RotatE, each scoring a query `(h, r, ?)`
//! against every entity at once as one matrix product: the query is
//! combined into one vector `q(h, r)`, and the scores are `q · E^T`
//! (DistMult, ComplEx) or the negative distance `-sqrt(|q|^2 - 2 q · E^T +
//! |E|^2)` (TransE, RotatE, with an L2 distance), never by broadcasting the
//! query over entities. Head queries use reciprocal relations: `(?, r, t)`
//! is asked as `(t, r⁻¹, ?)`, with `r⁻¹` a relation of its own. Training
//! minimises the cross-entropy of the true answer among all entities
//! (1-vs-all), with N3 regularisation (Lacroix et al. 2018) for the
//! bilinear models and L2 for the distance models, by AdamW with weight
//! decay 0 (candle's default is 0.01, which fights the regulariser). Every
//! `valid_every` epochs the filtered validation MRR is measured; the best
//! weights are kept and training stops after `patience` checks without
//! improvement. Initial weights and batch order come from a seeded ChaCha
//! generator of ours.
//!
//! A score is turned into a probability by Platt scaling fitted on the
//! validation triples against seeded corrupted ones: `sigmoid(a * s + b)`.

use super::eval::{self, Direction, LinkMetrics, LinkScorer};
use super::graph::Triple;
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Which embedding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KgeKind {
    /// `h + r ≈ t` (Bordes et al. 2013).
    TransE,
    /// `<h, r, t>` (Yang et al. 2015).
    DistMult,
    /// `Re(<h, r, conj(t)>)` (Trouillon et al. 2016).
    ComplEx,
    /// `h ∘ r ≈ t`, `|r| = 1` (Sun et al. 2019).
    RotatE,
}

impl std::str::FromStr for KgeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "transe" => Ok(KgeKind::TransE),
            "distmult" => Ok(KgeKind::DistMult),
            "complex" => Ok(KgeKind::ComplEx),
            "rotate" => Ok(KgeKind::RotatE),
            other => Err(format!(
                "unknown embedding `{other}` (transe, distmult, complex, rotate)"
            )),
        }
    }
}

impl std::fmt::Display for KgeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KgeKind::TransE => "transe",
            KgeKind::DistMult => "distmult",
            KgeKind::ComplEx => "complex",
            KgeKind::RotatE => "rotate",
        })
    }
}

/// How to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KgeParams {
    /// The embedding.
    pub kind: KgeKind,
    /// Rank (complex models have `dim` complex numbers).
    pub dim: usize,
    /// Most passes over the training triples.
    pub epochs: usize,
    /// AdamW's learning rate.
    pub learning_rate: f64,
    /// AdamW's weight decay (0: the regulariser does that job).
    pub weight_decay: f64,
    /// Queries per step.
    pub batch_size: usize,
    /// Weight of the N3 (bilinear) or L2 (distance) regulariser.
    pub regularization: f64,
    /// Epochs between validation checks.
    pub valid_every: usize,
    /// Checks without improvement before stopping.
    pub patience: usize,
}

impl KgeParams {
    /// Defaults that train each model well on small graphs (Nations, UMLS).
    pub fn defaults(kind: KgeKind) -> KgeParams {
        KgeParams {
            kind,
            dim: 200,
            epochs: 200,
            learning_rate: match kind {
                KgeKind::TransE | KgeKind::RotatE => 0.003,
                _ => 0.01,
            },
            weight_decay: 0.0,
            batch_size: 128,
            regularization: match kind {
                KgeKind::TransE | KgeKind::RotatE => 1e-4,
                _ => 0.01,
            },
            valid_every: 5,
            patience: 4,
        }
    }
}

/// A trained embedding.
#[derive(Clone, Debug, PartialEq)]
pub struct Kge {
    /// Which model.
    pub kind: KgeKind,
    /// Rank.
    pub dim: usize,
    /// Number of entities.
    pub entities: usize,
    /// Number of relations (without their reciprocals).
    pub relations: usize,
    /// `[entities, width]` row-major.
    pub entity: Vec<f32>,
    /// `[2 * relations, relation width]` row-major; reciprocals second.
    pub relation: Vec<f32>,
    /// Platt scaling: probability = sigmoid(a * score + b).
    pub calibration: (f64, f64),
}

/// Entity vector width for a model.
pub fn entity_width(kind: KgeKind, dim: usize) -> usize {
    match kind {
        KgeKind::TransE | KgeKind::DistMult => dim,
        KgeKind::ComplEx | KgeKind::RotatE => 2 * dim,
    }
}

/// Relation vector width for a model (RotatE stores phases).
pub fn relation_width(kind: KgeKind, dim: usize) -> usize {
    match kind {
        KgeKind::TransE | KgeKind::DistMult | KgeKind::RotatE => dim,
        KgeKind::ComplEx => 2 * dim,
    }
}

/// The query vectors `[batch, width]` for entity rows `h` and relation rows `r`.
fn query(kind: KgeKind, dim: usize, h: &Tensor, r: &Tensor) -> candle_core::Result<Tensor> {
    match kind {
        KgeKind::TransE => h + r,
        KgeKind::DistMult => h * r,
        KgeKind::ComplEx => {
            let (hr, hi) = (h.narrow(1, 0, dim)?, h.narrow(1, dim, dim)?);
            let (rr, ri) = (r.narrow(1, 0, dim)?, r.narrow(1, dim, dim)?);
            let re = ((&hr * &rr)? - (&hi * &ri)?)?;
            let im = ((&hr * &ri)? + (&hi * &rr)?)?;
            Tensor::cat(&[re, im], 1)
        }
        KgeKind::RotatE => {
            let (hr, hi) = (h.narrow(1, 0, dim)?, h.narrow(1, dim, dim)?);
            let (c, s) = (r.cos()?, r.sin()?);
            let re = ((&hr * &c)? - (&hi * &s)?)?;
            let im = ((&hr * &s)? + (&hi * &c)?)?;
            Tensor::cat(&[re, im], 1)
        }
    }
}

/// Scores `[batch, entities]` of queries `q` against entity matrix `e`.
fn score_all(kind: KgeKind, q: &Tensor, e: &Tensor) -> candle_core::Result<Tensor> {
    let dots = q.matmul(&e.t()?)?;
    match kind {
        KgeKind::DistMult | KgeKind::ComplEx => Ok(dots),
        KgeKind::TransE | KgeKind::RotatE => {
            // |q - t|^2 = |q|^2 - 2 q.t + |t|^2, as one matrix product.
            let qq = q.sqr()?.sum_keepdim(1)?;
            let tt = e.sqr()?.sum_keepdim(1)?.t()?;
            let d2 = ((qq.broadcast_add(&tt))? - (dots * 2.0)?)?;
            d2.clamp(1e-9f32, f32::MAX)?.sqrt()?.neg()
        }
    }
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, a: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-a..a)).collect()
}

/// What training measured.
#[derive(Clone, Debug, Serialize)]
pub struct KgeReport {
    /// Filtered validation metrics of the kept weights.
    pub valid: LinkMetrics,
    /// The epoch they come from.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs_run: usize,
}

/// Progress after an epoch: (epoch, mean loss, validation MRR if checked).
pub type KgeProgress<'a> = &'a mut dyn FnMut(usize, f64, Option<f64>);

/// The triples an embedding is trained on, and how many ids there are.
#[derive(Clone, Copy, Debug)]
pub struct TrainingSet<'a> {
    /// Training triples.
    pub train: &'a [Triple],
    /// Validation triples (early stopping, calibration); may be empty.
    pub valid: &'a [Triple],
    /// Number of entities.
    pub entities: usize,
    /// Number of relations.
    pub relations: usize,
}

/// Trains an embedding on `data.train`, early-stopping on `data.valid`
/// (filtered by both).
pub fn train(
    data: TrainingSet<'_>,
    params: &KgeParams,
    seed: u64,
    device: &Device,
    progress: KgeProgress<'_>,
) -> Result<(Kge, KgeReport)> {
    let TrainingSet {
        train,
        valid,
        entities,
        relations,
    } = data;
    if params.dim == 0 || params.batch_size == 0 || params.epochs == 0 {
        return Err(Error::Invalid(
            "dim, batch size and epochs must be positive".to_string(),
        ));
    }
    if train.is_empty() || entities == 0 {
        return Err(Error::Invalid("no training triples".to_string()));
    }
    let (ew, rw) = (
        entity_width(params.kind, params.dim),
        relation_width(params.kind, params.dim),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let init = match params.kind {
        KgeKind::TransE | KgeKind::RotatE => 6.0 / (params.dim as f32).sqrt(),
        _ => 0.1,
    };
    let e = Var::from_tensor(&Tensor::from_vec(
        uniform(&mut rng, entities * ew, init),
        (entities, ew),
        device,
    )?)?;
    let r_init = match params.kind {
        KgeKind::RotatE => std::f32::consts::PI,
        _ => init,
    };
    let r = Var::from_tensor(&Tensor::from_vec(
        uniform(&mut rng, 2 * relations * rw, r_init),
        (2 * relations, rw),
        device,
    )?)?;
    let mut opt = AdamW::new(
        vec![e.clone(), r.clone()],
        ParamsAdamW {
            lr: params.learning_rate,
            weight_decay: params.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    // (anchor, relation row, answer): each triple both ways.
    let mut queries: Vec<(u32, u32, u32)> = Vec::with_capacity(train.len() * 2);
    for &(h, rel, t) in train {
        queries.push((h, rel, t));
        queries.push((t, rel + relations as u32, h));
    }
    let known: Vec<Triple> = train.iter().chain(valid).copied().collect();
    let mut best: Option<(f64, Kge, LinkMetrics, usize)> = None;
    let mut checks_without_gain = 0;
    let mut epochs_run = 0;
    for epoch in 1..=params.epochs {
        epochs_run = epoch;
        queries.shuffle(&mut rng);
        let mut total = 0.0;
        let mut batches = 0;
        for chunk in queries.chunks(params.batch_size) {
            let n = chunk.len();
            let hs = Tensor::from_vec(chunk.iter().map(|q| q.0).collect::<Vec<u32>>(), n, device)?;
            let rs = Tensor::from_vec(chunk.iter().map(|q| q.1).collect::<Vec<u32>>(), n, device)?;
            let ts = Tensor::from_vec(chunk.iter().map(|q| q.2).collect::<Vec<u32>>(), n, device)?;
            let he = e.as_tensor().index_select(&hs, 0)?;
            let re = r.as_tensor().index_select(&rs, 0)?;
            let q = query(params.kind, params.dim, &he, &re)?;
            let logits = score_all(params.kind, &q, e.as_tensor())?;
            let loss = candle_nn::loss::cross_entropy(&logits, &ts)?;
            let te = e.as_tensor().index_select(&ts, 0)?;
            let reg = match params.kind {
                KgeKind::DistMult | KgeKind::ComplEx => {
                    // N3: the cube of each factor's modulus.
                    let cube = |x: &Tensor| -> candle_core::Result<Tensor> {
                        x.abs()?.powf(3.0)?.sum_all()
                    };
                    ((cube(&he)? + cube(&re)?)? + cube(&te)?)?
                }
                KgeKind::TransE | KgeKind::RotatE => {
                    ((he.sqr()?.sum_all()? + te.sqr()?.sum_all()?)? + re.sqr()?.sum_all()?)?
                }
            };
            let loss = (loss + (reg * (params.regularization / n as f64))?)?;
            opt.backward_step(&loss)?;
            total += f64::from(loss.to_scalar::<f32>()?);
            batches += 1;
        }
        let mean = total / f64::from(batches.max(1));
        if !mean.is_finite() {
            return Err(Error::Training(format!(
                "the loss diverged at epoch {epoch} (try a lower --learning-rate)"
            )));
        }
        let check = epoch % params.valid_every.max(1) == 0 || epoch == params.epochs;
        let mut mrr = None;
        if check {
            let model = snapshot(params, entities, relations, &e, &r)?;
            let metrics = if valid.is_empty() {
                LinkMetrics {
                    mrr: -mean,
                    ..LinkMetrics::default()
                }
            } else {
                eval::evaluate(&model, valid, &known, None)
            };
            mrr = Some(metrics.mrr);
            if best.as_ref().is_none_or(|b| metrics.mrr > b.0) {
                best = Some((metrics.mrr, model, metrics, epoch));
                checks_without_gain = 0;
            } else {
                checks_without_gain += 1;
            }
        }
        progress(epoch, mean, mrr);
        if checks_without_gain >= params.patience {
            break;
        }
    }
    let Some((_, mut model, metrics, best_epoch)) = best else {
        return Err(Error::Training("no validation check ran".to_string()));
    };
    model.calibration = calibrate(&model, valid, train, &known, seed);
    Ok((
        model,
        KgeReport {
            valid: metrics,
            best_epoch,
            epochs_run,
        },
    ))
}

fn snapshot(
    params: &KgeParams,
    entities: usize,
    relations: usize,
    e: &Var,
    r: &Var,
) -> Result<Kge> {
    Ok(Kge {
        kind: params.kind,
        dim: params.dim,
        entities,
        relations,
        entity: e
            .as_tensor()
            .flatten_all()?
            .to_device(&Device::Cpu)?
            .to_vec1()?,
        relation: r
            .as_tensor()
            .flatten_all()?
            .to_device(&Device::Cpu)?
            .to_vec1()?,
        calibration: (1.0, 0.0),
    })
}

/// Platt scaling on the validation triples (or training ones when there
/// are none) against one seeded corrupted tail each.
fn calibrate(
    model: &Kge,
    valid: &[Triple],
    train: &[Triple],
    known: &[Triple],
    seed: u64,
) -> (f64, f64) {
    let positives = if valid.is_empty() { train } else { valid };
    let known: std::collections::HashSet<Triple> = known.iter().copied().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut samples: Vec<(f64, f64)> = Vec::new();
    for &(h, r, t) in positives.iter().take(2000) {
        let scores = model.scores(h, r, Direction::Tail);
        if let Some(&s) = scores.get(t as usize) {
            samples.push((s, 1.0));
        }
        for _ in 0..10 {
            let c = rng.gen_range(0..model.entities as u32);
            if !known.contains(&(h, r, c)) {
                if let Some(&s) = scores.get(c as usize) {
                    samples.push((s, 0.0));
                }
                break;
            }
        }
    }
    if samples.is_empty() {
        return (1.0, 0.0);
    }
    // Standardise, fit logistic regression by gradient descent, undo.
    let n = samples.len() as f64;
    let mean = samples.iter().map(|s| s.0).sum::<f64>() / n;
    let std = (samples.iter().map(|s| (s.0 - mean).powi(2)).sum::<f64>() / n)
        .sqrt()
        .max(1e-9);
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..2000 {
        let (mut ga, mut gb) = (0.0, 0.0);
        for &(s, y) in &samples {
            let z = (s - mean) / std;
            let p = 1.0 / (1.0 + (-(a * z + b)).exp());
            ga += (p - y) * z;
            gb += p - y;
        }
        a -= 0.5 * ga / n;
        b -= 0.5 * gb / n;
    }
    (a / std, b - a * mean / std)
}

impl Kge {
    fn entity_row(&self, e: u32) -> &[f32] {
        let w = entity_width(self.kind, self.dim);
        self.entity
            .get(e as usize * w..(e as usize + 1) * w)
            .unwrap_or_default()
    }

    fn relation_row(&self, r: u32) -> &[f32] {
        let w = relation_width(self.kind, self.dim);
        self.relation
            .get(r as usize * w..(r as usize + 1) * w)
            .unwrap_or_default()
    }

    /// The query vector for an anchor and relation row.
    fn query_vector(&self, anchor: u32, relation_row: u32) -> Vec<f32> {
        let (h, r, d) = (
            self.entity_row(anchor),
            self.relation_row(relation_row),
            self.dim,
        );
        let at = |v: &[f32], i: usize| v.get(i).copied().unwrap_or(0.0);
        match self.kind {
            KgeKind::TransE => h.iter().zip(r).map(|(a, b)| a + b).collect(),
            KgeKind::DistMult => h.iter().zip(r).map(|(a, b)| a * b).collect(),
            KgeKind::ComplEx => {
                let mut q = vec![0.0; 2 * d];
                for i in 0..d {
                    let (hr, hi, rr, ri) = (at(h, i), at(h, d + i), at(r, i), at(r, d + i));
                    if let Some(x) = q.get_mut(i) {
                        *x = hr * rr - hi * ri;
                    }
                    if let Some(x) = q.get_mut(d + i) {
                        *x = hr * ri + hi * rr;
                    }
                }
                q
            }
            KgeKind::RotatE => {
                let mut q = vec![0.0; 2 * d];
                for i in 0..d {
                    let (hr, hi, th) = (at(h, i), at(h, d + i), at(r, i));
                    let (c, s) = (th.cos(), th.sin());
                    if let Some(x) = q.get_mut(i) {
                        *x = hr * c - hi * s;
                    }
                    if let Some(x) = q.get_mut(d + i) {
                        *x = hr * s + hi * c;
                    }
                }
                q
            }
        }
    }

    /// The calibrated probability of `(h, r, t)`.
    pub fn probability(&self, h: u32, r: u32, t: u32) -> f64 {
        let s = self
            .scores(h, r, Direction::Tail)
            .get(t as usize)
            .copied()
            .unwrap_or(f64::MIN);
        let (a, b) = self.calibration;
        1.0 / (1.0 + (-(a * s + b)).exp())
    }

    /// Checks that the weights have the shapes the header says.
    pub fn validate(&self) -> Result<(), String> {
        let ok = self.entity.len() == self.entities * entity_width(self.kind, self.dim)
            && self.relation.len() == 2 * self.relations * relation_width(self.kind, self.dim)
            && self.dim > 0;
        if ok {
            Ok(())
        } else {
            Err("the embedding's weights do not have the shapes its header says".to_string())
        }
    }
}

impl LinkScorer for Kge {
    fn scores(&self, anchor: u32, relation: u32, direction: Direction) -> Vec<f64> {
        let row = match direction {
            Direction::Tail => relation,
            Direction::Head => relation + self.relations as u32,
        };
        let q = self.query_vector(anchor, row);
        (0..self.entities as u32)
            .map(|e| {
                let t = self.entity_row(e);
                match self.kind {
                    KgeKind::DistMult | KgeKind::ComplEx => {
                        f64::from(q.iter().zip(t).map(|(a, b)| a * b).sum::<f32>())
                    }
                    KgeKind::TransE | KgeKind::RotatE => -f64::from(
                        q.iter()
                            .zip(t)
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum::<f32>()
                            .sqrt(),
                    ),
                }
            })
            .collect()
    }
}

/// Scores a batch of queries on `device` through the same matrix product
/// training uses (for comparing devices and checking the plain-Rust scorer).
pub fn batch_scores(model: &Kge, queries: &[(u32, u32)], device: &Device) -> Result<Vec<Vec<f32>>> {
    let (ew, rw) = (
        entity_width(model.kind, model.dim),
        relation_width(model.kind, model.dim),
    );
    let e = Tensor::from_vec(model.entity.clone(), (model.entities, ew), device)?;
    let r = Tensor::from_vec(model.relation.clone(), (2 * model.relations, rw), device)?;
    let hs = Tensor::from_vec(
        queries.iter().map(|q| q.0).collect::<Vec<u32>>(),
        queries.len(),
        device,
    )?;
    let rs = Tensor::from_vec(
        queries.iter().map(|q| q.1).collect::<Vec<u32>>(),
        queries.len(),
        device,
    )?;
    let q = query(
        model.kind,
        model.dim,
        &e.index_select(&hs, 0)?,
        &r.index_select(&rs, 0)?,
    )?;
    Ok(score_all(model.kind, &q, &e)?
        .to_dtype(DType::F32)?
        .to_device(&Device::Cpu)?
        .to_vec2()?)
}

/// Everything about an embedding but its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KgeHeader {
    /// Always `nesy-model`.
    pub format: String,
    /// The file version.
    pub version: u32,
    /// `kge`.
    pub kind: String,
    /// The embedding model.
    pub model: KgeKind,
    /// Rank.
    pub dim: usize,
    /// Entity names, by id.
    pub entities: Vec<String>,
    /// Relation names, by id.
    pub relations: Vec<String>,
    /// Training parameters.
    pub params: KgeParams,
    /// The seed.
    pub seed: u64,
    /// Validation metrics, best epoch.
    pub metrics: serde_json::Value,
    /// Platt scaling `[a, b]`.
    pub calibration: [f64; 2],
    /// Training and validation files with their SHA-256.
    pub data: serde_json::Value,
    /// The nesy version that wrote it.
    pub created_by: String,
}

/// An embedding with its names.
#[derive(Clone, Debug)]
pub struct KgeFile {
    /// The header.
    pub header: KgeHeader,
    /// The weights.
    pub model: Kge,
}

impl KgeFile {
    /// Writes safetensors (`entity`, `relation`) with the header as the
    /// metadata key `nesy`, atomically.
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        use safetensors::tensor::{Dtype, TensorView};
        let m = &self.model;
        let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let (eb, rb) = (bytes(&m.entity), bytes(&m.relation));
        let views = vec![
            (
                "entity",
                TensorView::new(
                    Dtype::F32,
                    vec![m.entities, entity_width(m.kind, m.dim)],
                    &eb,
                )
                .map_err(|e| Error::Training(e.to_string()))?,
            ),
            (
                "relation",
                TensorView::new(
                    Dtype::F32,
                    vec![2 * m.relations, relation_width(m.kind, m.dim)],
                    &rb,
                )
                .map_err(|e| Error::Training(e.to_string()))?,
            ),
        ];
        let mut metadata = std::collections::HashMap::new();
        metadata.insert(
            "nesy".to_string(),
            serde_json::to_string(&self.header).map_err(|e| Error::Training(e.to_string()))?,
        );
        let data = safetensors::serialize(views, Some(metadata))
            .map_err(|e| Error::Training(e.to_string()))?;
        crate::model_file::write_atomic(path, &data)
    }

    /// Reads an embedding file, checking its header and shapes.
    pub fn load(path: &std::path::Path) -> Result<KgeFile> {
        let shown = path.display().to_string();
        let bad = |message: String| Error::ModelFile {
            path: shown.clone(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        let text = crate::model_file::safetensors_header(&bytes, "not a safetensors model file")
            .map_err(&bad)?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| bad(format!("its nesy header is invalid: {e}")))?;
        if value.get("kind").and_then(|k| k.as_str()) != Some("kge") {
            return Err(bad(format!(
                "a `{}` model, not a knowledge-graph embedding",
                value.get("kind").and_then(|k| k.as_str()).unwrap_or("?")
            )));
        }
        let header: KgeHeader = serde_json::from_value(value)
            .map_err(|e| bad(format!("its nesy header is invalid: {e}")))?;
        if header.format != crate::model_file::FORMAT
            || header.version != crate::model_file::VERSION
        {
            return Err(bad(format!(
                "format {} version {}, expected {} version {}",
                header.format,
                header.version,
                crate::model_file::FORMAT,
                crate::model_file::VERSION
            )));
        }
        let tensors = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| bad(format!("corrupt tensors: {e}")))?;
        let read = |name: &str| crate::model_file::read_f32(&tensors, name).map_err(&bad);
        let model = Kge {
            kind: header.model,
            dim: header.dim,
            entities: header.entities.len(),
            relations: header.relations.len(),
            entity: read("entity")?,
            relation: read("relation")?,
            calibration: (header.calibration[0], header.calibration[1]),
        };
        model.validate().map_err(&bad)?;
        Ok(KgeFile { header, model })
    }
}
