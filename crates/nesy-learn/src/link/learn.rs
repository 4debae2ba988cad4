//! The neural variant of the rule learner: one weight per candidate rule
//! (and per relation a bias), learned by gradient descent on the filtered
//! completion task, in the manner of NeuralLP and DRUM but over explicit
//! rules, so the result is a readable weighted rule file.
//!
//! ```
//! use nesy_learn::link::learn::{LearnParams, learn_weights};
//! use nesy_learn::link::rules::{Aggregate, Body, Rule, Step};
//! use nesy_learn::link::{TripleIndex, Vocab};
//!
//! // likes(X, Y) :- friend(X, Y) holds; likes(X, Y) :- friend(Y, X) does not.
//! let entities: Vec<String> = (0..8).map(|i| format!("e{i}")).collect();
//! let vocab = Vocab { entities, relations: vec!["friend".into(), "likes".into()] };
//! let mut triples = Vec::new();
//! for i in 0..8u32 {
//!     triples.push((i, 0, (i + 1) % 8));
//!     if i < 7 { triples.push((i, 1, (i + 1) % 8)); }
//! }
//! let graph = TripleIndex::new(&vocab, triples);
//! let rule = |inverse| Rule {
//!     head: 1,
//!     body: Body::Cyclic(vec![Step { relation: 0, inverse }]),
//!     support: 0, groundings: 0, confidence: 0.5, weight: 0.5,
//! };
//! let params = LearnParams { aggregate: Aggregate::NoisyOr, epochs: 30, prior: 0.0, ..LearnParams::default() };
//! let device = candle_core::Device::Cpu;
//! let (learned, _) = learn_weights(&graph, &[rule(false), rule(true)], &[], &params, &device, &mut |_, _, _| {}).unwrap();
//! let weight = |inverse| {
//!     let body = Body::Cyclic(vec![Step { relation: 0, inverse }]);
//!     learned.iter().find(|r| r.body == body).map_or(0.0, |r| r.weight)
//! };
//! // The true rule's weight rises; the false one's falls (or is pruned).
//! assert!(weight(false) > 0.7, "{}", weight(false));
//! assert!(weight(true) < 0.3, "{}", weight(true));
//! ```
//!
//! **Features.** Each training triple `(h, r, t)` is asked both ways, as in
//! the evaluator. Its features are the groundings of `r`'s rules from the
//! anchor ([`super::ground`]): a sparse rule x candidate matrix of body
//! instance counts, computed on the training graph *without the triple
//! itself* (else every rule through `r` would predict it for free).
//!
//! **Scores and losses**, per aggregate (what [`super::rules::combine`]
//! computes at prediction time):
//! - `noisy-or`: `p = 1 - (1 - b_r) Π(1 - w)^n`, written through `u =
//!   -ln(1 - w) = softplus(θ)` so `-ln(1 - p)` is a sparse sum; binary
//!   cross-entropy against every entity (the target 1, other entities 0,
//!   other known answers left out: the filtered task).
//! - `max`: `p = max w` over the rules that fire; softmax cross-entropy
//!   over the logits `logit(p)` of the candidates the rules reach (the
//!   gradient goes to the rule attaining each max), other known answers
//!   left out. Entities no rule reaches rank below every reached one.
//! - `sum`: `s = Σ w n`, softmax cross-entropy over all entities (those no
//!   rule reaches at 0), other known answers left out.
//!
//! Each rule's parameter starts at its candidate weight (the mined
//! confidence) and is pulled back to it by a Gaussian prior of strength
//! `prior` (the objective is the summed loss plus `prior * Σ (θ - θ₀)²`):
//! a rule seen in few training queries keeps about its confidence.
//!
//! AdamW (weight decay 0) on batches of queries in a seeded order; every
//! `valid_every` epochs the filtered validation MRR (train and valid as the
//! filter) picks the best weights, and training stops after `patience`
//! checks without gain. Rules whose weight ends below `prune` are dropped
//! (for `sum`, below `prune` times the largest weight); `sum`'s weights are
//! scaled so that no training query scores above 1, the range where the
//! engine's `add-mult` agrees.

use super::eval::{Direction, rank};
use super::graph::{Triple, TripleIndex};
use super::ground::{Grounder, Grounding};
use super::rules::{Aggregate, Rule, combine};
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How to learn.
#[derive(Clone, Debug)]
pub struct LearnParams {
    /// How rule scores combine (what the weights are learned for).
    pub aggregate: Aggregate,
    /// Epochs at most.
    pub epochs: usize,
    /// AdamW's learning rate.
    pub learning_rate: f64,
    /// Queries per batch.
    pub batch_size: usize,
    /// Seeds the sample of queries and the batch order.
    pub seed: u64,
    /// Training queries at most (two per training triple), a seeded sample
    /// beyond that: bounds time and memory on large graphs.
    pub max_queries: usize,
    /// Groundings at most over the training queries (each 12 bytes): the
    /// sample stops growing past it.
    pub max_groundings: usize,
    /// Time for grounding the training queries: the sample stops growing
    /// past it.
    pub grounding_budget: Duration,
    /// Validation triples at most (a seeded sample beyond).
    pub max_valid: usize,
    /// Rules below this weight are dropped.
    pub prune: f64,
    /// Epochs between validation checks.
    pub valid_every: usize,
    /// Checks without gain before stopping.
    pub patience: usize,
    /// Strength of the pull of each rule's parameter back to its starting
    /// value (from the candidate's weight): a Gaussian prior, so rules seen
    /// in few training queries stay near their confidence.
    pub prior: f64,
}

impl Default for LearnParams {
    fn default() -> Self {
        LearnParams {
            aggregate: Aggregate::Max,
            epochs: 50,
            learning_rate: 0.05,
            batch_size: 256,
            seed: 0,
            max_queries: 200_000,
            max_groundings: 100_000_000,
            grounding_budget: Duration::from_secs(120),
            max_valid: 5_000,
            prune: 0.001,
            valid_every: 1,
            patience: 5,
            prior: 1.0,
        }
    }
}

/// What learning did.
#[derive(Clone, Debug, Default)]
pub struct LearnReport {
    /// Training queries (after sampling).
    pub queries: usize,
    /// Non-zero features over them.
    pub groundings: usize,
    /// Epochs run.
    pub epochs_run: usize,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Validation MRR of the kept weights before pruning (`None` without
    /// validation triples).
    pub valid_mrr: Option<f64>,
    /// Validation MRR of the rules written (after pruning).
    pub valid_mrr_pruned: Option<f64>,
    /// Rules dropped by pruning.
    pub pruned: usize,
    /// Per relation id, the learned bias (`noisy-or`; 0 otherwise).
    pub bias: Vec<f64>,
    /// Seconds grounding the training and validation queries.
    pub seconds_grounding: f64,
    /// Seconds of gradient descent (validation checks included).
    pub seconds_training: f64,
}

/// Progress after an epoch: (epoch, mean loss, validation MRR if checked).
pub type LearnProgress<'a> = &'a mut dyn FnMut(usize, f64, Option<f64>);

/// One query's features, its target and its filter.
struct Query {
    relation: u32,
    /// `(slot, rule, count)`; slot indexes `candidates`.
    pairs: Vec<(u32, u32, f32)>,
    /// Reached candidates, then the target if no rule reaches it.
    slots: usize,
    target: u32,
    /// Slots of other known answers (left out of the loss).
    masked: Vec<u32>,
    /// Negatives no rule reaches.
    unreached: f32,
}

/// A validation query: its groundings on the whole training graph.
struct ValidQuery {
    groundings: Vec<Grounding>,
    target: u32,
    filtered: Vec<u32>,
}

/// Learns the weights of `candidates` on `graph`; returns the rules kept
/// (weights in [`Rule::weight`], best first per head) and a report.
pub fn learn_weights(
    graph: &TripleIndex,
    candidates: &[Rule],
    valid: &[Triple],
    params: &LearnParams,
    device: &Device,
    progress: LearnProgress<'_>,
) -> Result<(Vec<Rule>, LearnReport)> {
    if params.epochs == 0 || params.batch_size == 0 || params.max_queries == 0 {
        return Err(Error::Invalid(
            "epochs, batch size and queries must be positive".to_string(),
        ));
    }
    if !(params.learning_rate > 0.0 && params.learning_rate.is_finite()) {
        return Err(Error::Invalid(
            "the learning rate must be positive".to_string(),
        ));
    }
    if !(params.prior >= 0.0 && params.prior.is_finite()) {
        return Err(Error::Invalid(
            "the prior's strength must be 0 or more".to_string(),
        ));
    }
    if !(0.0..1.0).contains(&params.prune) {
        return Err(Error::Invalid(
            "the pruning threshold must be in [0, 1)".to_string(),
        ));
    }
    if candidates.is_empty() {
        return Err(Error::Invalid("no candidate rules to learn".to_string()));
    }
    let start = Instant::now();
    let grounder = Grounder::new(candidates);
    let queries = training_queries(graph, &grounder, params);
    let valid = sample(valid, params.max_valid, params.seed);
    let valid = valid.as_slice();
    let valid_queries = validation_queries(graph, &grounder, valid);
    let mut report = LearnReport {
        queries: queries.len(),
        groundings: queries.iter().map(|q| q.pairs.len()).sum(),
        bias: vec![0.0; graph.relations],
        seconds_grounding: start.elapsed().as_secs_f64(),
        ..LearnReport::default()
    };
    let start = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed ^ 0x1ea4);
    // Where each rule starts (and the prior pulls it back to): its weight,
    // the mined confidence. Under noisy-or and sum a rule adds up over its
    // body instances, so it starts at the weight that gives a pair reached
    // through its mean number of instances about its confidence.
    let mut instances = vec![(0.0f64, 0usize); candidates.len()];
    for q in &queries {
        for &(_, rule, count) in &q.pairs {
            if let Some(m) = instances.get_mut(rule as usize) {
                m.0 += f64::from(count);
                m.1 += 1;
            }
        }
    }
    let init: Vec<f32> = candidates
        .iter()
        .zip(&instances)
        .map(|(r, &(total, pairs))| {
            let c = r.weight.clamp(1e-3, 0.999);
            let mean = if pairs > 0 {
                (total / pairs as f64).max(1.0)
            } else {
                1.0
            };
            let t = match params.aggregate {
                Aggregate::Max => (c / (1.0 - c)).ln(),
                // softplus(θ) = -ln(1 - c) / mean
                Aggregate::NoisyOr => (-(1.0 - c).ln() / mean).exp_m1().ln(),
                // softplus(θ) = c / mean
                Aggregate::Sum => (c / mean).exp_m1().ln(),
            };
            t as f32
        })
        .collect();
    let theta0 = Tensor::from_vec(init.clone(), candidates.len(), device)?;
    let theta = Var::from_tensor(&theta0)?;
    // The prior's pull, spread over the batches of an epoch.
    let prior = params.prior / queries.len().max(1) as f64;
    let bias = Var::from_tensor(&Tensor::full(-6.9f32, graph.relations.max(1), device)?)?;
    let mut vars = vec![theta.clone()];
    if params.aggregate == Aggregate::NoisyOr {
        vars.push(bias.clone());
    }
    let mut opt = AdamW::new(
        vars,
        ParamsAdamW {
            lr: params.learning_rate,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;
    let mut order: Vec<usize> = (0..queries.len()).collect();
    let mut best: Option<(f64, Vec<f32>, Vec<f32>, usize)> = None;
    let mut checks_without_gain = 0;
    for epoch in 1..=params.epochs {
        report.epochs_run = epoch;
        order.shuffle(&mut rng);
        let (mut total, mut batches) = (0.0, 0usize);
        for chunk in order.chunks(params.batch_size) {
            let batch: Vec<&Query> = chunk.iter().filter_map(|&i| queries.get(i)).collect();
            let loss = match params.aggregate {
                Aggregate::NoisyOr => noisy_or_loss(&batch, &theta, &bias, device)?,
                Aggregate::Max => max_loss(&batch, &theta, device)?,
                Aggregate::Sum => sum_loss(&batch, &theta, device)?,
            };
            let Some(loss) = loss else { continue };
            let loss = if prior > 0.0 {
                let pull = (theta.as_tensor() - &theta0)?.sqr()?.sum_all()?;
                (loss + (pull * prior)?)?
            } else {
                loss
            };
            opt.backward_step(&loss)?;
            total += f64::from(loss.to_scalar::<f32>()?);
            batches += 1;
        }
        let mean = total / batches.max(1) as f64;
        if !mean.is_finite() {
            return Err(Error::Training(format!(
                "the loss diverged at epoch {epoch} (try a lower --lr)"
            )));
        }
        let check = epoch % params.valid_every.max(1) == 0 || epoch == params.epochs;
        let mut mrr = None;
        if check {
            let theta_now = theta
                .as_tensor()
                .to_device(&Device::Cpu)?
                .to_vec1::<f32>()?;
            let weights = file_weights(params.aggregate, &theta_now);
            // Without validation triples the training loss decides.
            let score = if valid_queries.is_empty() {
                -mean
            } else {
                validation_mrr(&valid_queries, params.aggregate, &weights, graph.entities)
            };
            mrr = (!valid_queries.is_empty()).then_some(score);
            if best.as_ref().is_none_or(|b| score > b.0) {
                let bias_now = bias.as_tensor().to_device(&Device::Cpu)?.to_vec1::<f32>()?;
                best = Some((score, theta_now, bias_now, epoch));
                checks_without_gain = 0;
            } else {
                checks_without_gain += 1;
            }
        }
        progress(epoch, mean, mrr);
        if checks_without_gain >= params.patience.max(1) {
            break;
        }
    }
    let Some((score, theta_best, bias_best, best_epoch)) = best else {
        return Err(Error::Training("no epoch was checked".to_string()));
    };
    report.best_epoch = best_epoch;
    if !valid_queries.is_empty() {
        report.valid_mrr = Some(score);
    }
    if params.aggregate == Aggregate::NoisyOr {
        report.bias = bias_best
            .iter()
            .map(|&b| 1.0 / (1.0 + (-f64::from(b)).exp()))
            .collect();
    }
    let mut weights = file_weights(params.aggregate, &theta_best);
    if params.aggregate == Aggregate::Sum {
        // Scale so no training query scores above 1 (add-mult's range).
        let top = queries
            .iter()
            .map(|q| {
                let mut acc = vec![0.0f64; q.slots];
                for &(slot, rule, count) in &q.pairs {
                    if let (Some(a), Some(w)) =
                        (acc.get_mut(slot as usize), weights.get(rule as usize))
                    {
                        *a += w * f64::from(count);
                    }
                }
                acc.into_iter().fold(0.0, f64::max)
            })
            .fold(0.0, f64::max);
        if top > 0.0 {
            weights.iter_mut().for_each(|w| *w /= top);
        }
    }
    let floor = match params.aggregate {
        Aggregate::Sum => params.prune * weights.iter().copied().fold(0.0, f64::max),
        _ => params.prune,
    };
    let mut kept: Vec<Rule> = candidates
        .iter()
        .zip(&weights)
        .filter(|&(_, &w)| w >= floor && w > 0.0)
        .map(|(r, &w)| Rule {
            weight: w,
            ..r.clone()
        })
        .collect();
    report.pruned = candidates.len() - kept.len();
    kept.sort_by(|a, b| {
        a.head
            .cmp(&b.head)
            .then(b.weight.total_cmp(&a.weight))
            .then(a.body.cmp(&b.body))
    });
    if !valid_queries.is_empty() {
        let kept_grounder = Grounder::new(&kept);
        let pruned_queries = validation_queries(graph, &kept_grounder, valid);
        let kept_weights: Vec<f64> = kept.iter().map(|r| r.weight).collect();
        report.valid_mrr_pruned = Some(validation_mrr(
            &pruned_queries,
            params.aggregate,
            &kept_weights,
            graph.entities,
        ));
    }
    report.seconds_training = start.elapsed().as_secs_f64();
    Ok((kept, report))
}

/// The weight a rule file carries for each parameter.
fn file_weights(aggregate: Aggregate, theta: &[f32]) -> Vec<f64> {
    theta
        .iter()
        .map(|&t| {
            let t = f64::from(t);
            match aggregate {
                Aggregate::Sum => softplus(t),
                _ => 1.0 / (1.0 + (-t).exp()),
            }
        })
        .collect()
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Every training triple both ways (a seeded sample of at most
/// `max_queries`), grounded without the triple itself.
fn training_queries(graph: &TripleIndex, grounder: &Grounder, params: &LearnParams) -> Vec<Query> {
    let mut tails: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    let mut heads: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    for &(h, r, t) in &graph.triples {
        tails.entry((h, r)).or_default().push(t);
        heads.entry((r, t)).or_default().push(h);
    }
    let mut asked: Vec<(Triple, Direction)> = graph
        .triples
        .iter()
        .flat_map(|&t| [(t, Direction::Tail), (t, Direction::Head)])
        .collect();
    asked.sort_unstable_by_key(|&((h, r, t), d)| (h, r, t, d == Direction::Head));
    asked.dedup();
    // A seeded order, taken in chunks until a budget runs out: the sample
    // is the same for one seed whatever the machine's speed, except where
    // the time budget cuts it.
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    asked.shuffle(&mut rng);
    asked.truncate(params.max_queries);
    let start = Instant::now();
    let mut out: Vec<Query> = Vec::new();
    let mut groundings = 0usize;
    for chunk in asked.chunks(2048) {
        if groundings >= params.max_groundings || start.elapsed() > params.grounding_budget {
            break;
        }
        let grounded = ground_chunk(graph, grounder, chunk, &tails, &heads);
        groundings += grounded.iter().map(|q| q.pairs.len()).sum::<usize>();
        out.extend(grounded);
    }
    out
}

/// Keeps at most `n` of `items`, a seeded sample in their order.
fn sample(items: &[Triple], n: usize, seed: u64) -> Vec<Triple> {
    if items.len() <= n {
        return items.to_vec();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7a1d);
    let mut picked: Vec<usize> = rand::seq::index::sample(&mut rng, items.len(), n).into_vec();
    picked.sort_unstable();
    picked
        .into_iter()
        .filter_map(|i| items.get(i).copied())
        .collect()
}

type Answers = HashMap<(u32, u32), Vec<u32>>;

fn ground_chunk(
    graph: &TripleIndex,
    grounder: &Grounder,
    chunk: &[(Triple, Direction)],
    tails: &Answers,
    heads: &Answers,
) -> Vec<Query> {
    chunk
        .par_iter()
        .map(|&((h, r, t), direction)| {
            let (anchor, target, known) = match direction {
                Direction::Tail => (h, t, tails.get(&(h, r))),
                Direction::Head => (t, h, heads.get(&(r, t))),
            };
            let mut found = Vec::new();
            grounder.ground(graph, anchor, r, direction, Some((h, r, t)), &mut found);
            let mut candidates: Vec<u32> = found.iter().map(|g| g.candidate).collect();
            candidates.sort_unstable();
            candidates.dedup();
            let slot_of = |e: u32| candidates.binary_search(&e).ok().map(|i| i as u32);
            let pairs = found
                .iter()
                .filter_map(|g| Some((slot_of(g.candidate)?, g.rule, g.count as f32)))
                .collect();
            let mut slots = candidates.len();
            let target_slot = match slot_of(target) {
                Some(s) => s,
                None => {
                    slots += 1;
                    candidates.len() as u32
                }
            };
            let known = known.map(Vec::as_slice).unwrap_or_default();
            let masked: Vec<u32> = known
                .iter()
                .filter(|&&e| e != target)
                .filter_map(|&e| slot_of(e))
                .collect();
            let known_unreached = known
                .iter()
                .filter(|&&e| e != target && slot_of(e).is_none())
                .count();
            let unreached = graph.entities
                - candidates.len()
                - known_unreached
                - usize::from(target_slot as usize == candidates.len());
            Query {
                relation: r,
                pairs,
                slots,
                target: target_slot,
                masked,
                unreached: unreached as f32,
            }
        })
        .collect()
}

fn validation_queries(
    graph: &TripleIndex,
    grounder: &Grounder,
    valid: &[Triple],
) -> Vec<ValidQuery> {
    let mut tails: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    let mut heads: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    for &(h, r, t) in graph.triples.iter().chain(valid) {
        tails.entry((h, r)).or_default().push(t);
        heads.entry((r, t)).or_default().push(h);
    }
    valid
        .par_iter()
        .flat_map_iter(|&(h, r, t)| [((h, r, t), Direction::Tail), ((h, r, t), Direction::Head)])
        .map(|((h, r, t), direction)| {
            let (anchor, target, filtered) = match direction {
                Direction::Tail => (h, t, tails.get(&(h, r))),
                Direction::Head => (t, h, heads.get(&(r, t))),
            };
            let mut groundings = Vec::new();
            grounder.ground(graph, anchor, r, direction, None, &mut groundings);
            ValidQuery {
                groundings,
                target,
                filtered: filtered.cloned().unwrap_or_default(),
            }
        })
        .collect()
}

/// Filtered MRR of validation queries under the given weights.
fn validation_mrr(
    queries: &[ValidQuery],
    aggregate: Aggregate,
    weights: &[f64],
    entities: usize,
) -> f64 {
    let total: f64 = queries
        .par_iter()
        .map(|q| {
            let mut scores = vec![0.0; entities];
            for (c, s, _) in combine(aggregate, &q.groundings, |r| {
                weights.get(r as usize).copied().unwrap_or(0.0)
            }) {
                if let Some(slot) = scores.get_mut(c as usize) {
                    *slot = s;
                }
            }
            1.0 / rank(&scores, q.target, &q.filtered)
        })
        .sum();
    total / queries.len().max(1) as f64
}

/// The flattened features of a batch: global slot per pair, and per slot
/// its query.
struct Flat {
    slots: usize,
    pair_slot: Vec<u32>,
    pair_rule: Vec<u32>,
    pair_count: Vec<f32>,
    slot_query: Vec<u32>,
    /// Per slot: 1 for the target, else 0.
    positive: Vec<f32>,
    /// Per slot: 1 for a negative (not the target, not another known answer).
    negative: Vec<f32>,
    /// Global slot of each query's target.
    targets: Vec<u32>,
}

fn flatten(batch: &[&Query]) -> Flat {
    let mut flat = Flat {
        slots: 0,
        pair_slot: Vec::new(),
        pair_rule: Vec::new(),
        pair_count: Vec::new(),
        slot_query: Vec::new(),
        positive: Vec::new(),
        negative: Vec::new(),
        targets: Vec::new(),
    };
    for (qi, q) in batch.iter().enumerate() {
        let base = flat.slots as u32;
        for &(slot, rule, count) in &q.pairs {
            flat.pair_slot.push(base + slot);
            flat.pair_rule.push(rule);
            flat.pair_count.push(count);
        }
        let start = flat.positive.len();
        flat.positive.resize(start + q.slots, 0.0);
        flat.negative.resize(start + q.slots, 1.0);
        flat.slot_query.resize(start + q.slots, qi as u32);
        if let Some(p) = flat.positive.get_mut(start + q.target as usize) {
            *p = 1.0;
        }
        for s in std::iter::once(q.target).chain(q.masked.iter().copied()) {
            if let Some(n) = flat.negative.get_mut(start + s as usize) {
                *n = 0.0;
            }
        }
        flat.targets.push(base + q.target);
        flat.slots += q.slots;
    }
    flat
}

fn softplus_t(x: &Tensor) -> candle_core::Result<Tensor> {
    x.relu()? + x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?
}

/// `Σ w n` per slot, for parameters `w` (one per rule).
fn slot_sums(flat: &Flat, w: &Tensor, device: &Device) -> candle_core::Result<Tensor> {
    let rules = Tensor::from_vec(flat.pair_rule.clone(), flat.pair_rule.len(), device)?;
    let counts = Tensor::from_vec(flat.pair_count.clone(), flat.pair_count.len(), device)?;
    let slots = Tensor::from_vec(flat.pair_slot.clone(), flat.pair_slot.len(), device)?;
    let contributions = (w.index_select(&rules, 0)? * counts)?;
    Tensor::zeros(flat.slots, DType::F32, device)?.index_add(&slots, &contributions, 0)
}

fn noisy_or_loss(
    batch: &[&Query],
    theta: &Var,
    bias: &Var,
    device: &Device,
) -> candle_core::Result<Option<Tensor>> {
    let flat = flatten(batch);
    if flat.slots == 0 {
        return Ok(None);
    }
    let u = softplus_t(theta.as_tensor())?;
    let ub = softplus_t(bias.as_tensor())?;
    let slot_relation: Vec<u32> = flat
        .slot_query
        .iter()
        .map(|&q| batch.get(q as usize).map_or(0, |q| q.relation))
        .collect();
    let slot_relation = Tensor::from_vec(slot_relation, flat.slots, device)?;
    // -ln(1 - p) per slot.
    let s = (slot_sums(&flat, &u, device)? + ub.index_select(&slot_relation, 0)?)?;
    let targets = Tensor::from_vec(flat.targets.clone(), flat.targets.len(), device)?;
    let at_target = s.index_select(&targets, 0)?.clamp(1e-6f32, f32::MAX)?;
    // -ln p = -ln(1 - e^-s)
    let positive = at_target
        .neg()?
        .exp()?
        .affine(-1.0, 1.0)?
        .log()?
        .neg()?
        .sum_all()?;
    let negative_mask = Tensor::from_vec(flat.negative.clone(), flat.slots, device)?;
    let reached = (s * negative_mask)?.sum_all()?;
    let mut unreached = vec![0f32; ub.dims1()?];
    for q in batch {
        if let Some(u) = unreached.get_mut(q.relation as usize) {
            *u += q.unreached;
        }
    }
    let unreached =
        (Tensor::from_vec(unreached.clone(), unreached.len(), device)? * ub)?.sum_all()?;
    let loss = ((positive + reached)? + unreached)?;
    Ok(Some((loss / batch.len() as f64)?))
}

fn max_loss(batch: &[&Query], theta: &Var, device: &Device) -> candle_core::Result<Option<Tensor>> {
    // A target no rule reaches scores 0 whatever the weights: nothing to learn.
    let batch: Vec<&Query> = batch
        .iter()
        .copied()
        .filter(|q| q.pairs.iter().any(|&(slot, _, _)| slot == q.target))
        .collect();
    let flat = flatten(&batch);
    if flat.slots == 0 {
        return Ok(None);
    }
    let values = theta
        .as_tensor()
        .to_device(&Device::Cpu)?
        .to_vec1::<f32>()?;
    // The rule attaining the max, per slot (every slot is reached).
    let mut best: Vec<u32> = vec![u32::MAX; flat.slots];
    for (&slot, &rule) in flat.pair_slot.iter().zip(&flat.pair_rule) {
        if let Some(b) = best.get_mut(slot as usize) {
            let value = |r: u32| values.get(r as usize).copied().unwrap_or(f32::MIN);
            if *b == u32::MAX || value(rule) > value(*b) {
                *b = rule;
            }
        }
    }
    let z = theta
        .as_tensor()
        .index_select(&Tensor::from_vec(best, flat.slots, device)?, 0)?;
    softmax_ce(&batch, &flat, &z, None, device).map(Some)
}

fn sum_loss(batch: &[&Query], theta: &Var, device: &Device) -> candle_core::Result<Option<Tensor>> {
    let flat = flatten(batch);
    if flat.slots == 0 {
        return Ok(None);
    }
    let w = softplus_t(theta.as_tensor())?;
    let z = slot_sums(&flat, &w, device)?;
    softmax_ce(batch, &flat, &z, Some(0.0), device).map(Some)
}

/// Softmax cross-entropy of each query's target against every entity but
/// the other known answers, for per-slot logits `z`; entities no rule
/// reaches have logit `unreached` (`None`: they are left out, as they can
/// never outrank a reached one).
fn softmax_ce(
    batch: &[&Query],
    flat: &Flat,
    z: &Tensor,
    unreached: Option<f32>,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let included: Vec<f32> = flat
        .positive
        .iter()
        .zip(&flat.negative)
        .map(|(p, n)| p + n)
        .collect();
    // A constant shift per query (its largest logit) keeps exp in range.
    let values = z.to_device(&Device::Cpu)?.to_vec1::<f32>()?;
    let mut shift: Vec<f32> = batch
        .iter()
        .map(|q| match unreached {
            Some(u) if q.unreached > 0.0 => u,
            _ => f32::MIN,
        })
        .collect();
    for ((&q, &v), &inc) in flat.slot_query.iter().zip(&values).zip(&included) {
        if let Some(m) = shift.get_mut(q as usize)
            && inc > 0.0
        {
            *m = m.max(v);
        }
    }
    let slot_query = Tensor::from_vec(flat.slot_query.clone(), flat.slots, device)?;
    let shift_t = Tensor::from_vec(shift.clone(), batch.len(), device)?;
    let included = Tensor::from_vec(included, flat.slots, device)?;
    // Left-out slots may lie above the shift: clamped, or inf * 0 = NaN.
    let exps = ((z - shift_t.index_select(&slot_query, 0)?)?
        .clamp(f32::MIN, 0f32)?
        .exp()?
        * included)?;
    let rest: Vec<f32> = batch
        .iter()
        .zip(&shift)
        .map(|(q, m)| match unreached {
            Some(u) if q.unreached > 0.0 => q.unreached * (u - m).exp(),
            _ => 0.0,
        })
        .collect();
    let sums = Tensor::from_vec(rest, batch.len(), device)?.index_add(&slot_query, &exps, 0)?;
    let log_sum = (sums.log()? + shift_t)?;
    let targets = Tensor::from_vec(flat.targets.clone(), flat.targets.len(), device)?;
    let loss = (log_sum - z.index_select(&targets, 0)?)?.sum_all()?;
    loss / batch.len() as f64
}
