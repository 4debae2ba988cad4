//! Training the networks of neural predicates through the rules: each is
//! trained as a copy of its own, and the gradient of the loss with respect
//! to its class probabilities (from the proofs that use its answers) is
//! backpropagated through it.

use crate::Error;
use crate::net_calls::{NetCalls, NetModel};
use nesy_engine::{ModelAnswer, Program as Engine, Value};
use nesy_learn::net::NetInput;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One network being trained.
pub(crate) struct NetTraining {
    pub(crate) name: String,
    pub(crate) model: Arc<NetModel>,
    optimizer: nesy_learn::net::NetOptimizer,
    classes: Vec<Value>,
}

fn failed(e: nesy_learn::Error) -> Error {
    Error::Training(e.to_string())
}

impl NetTraining {
    /// Copies each network of `nets` and makes the copy answer in `engine`.
    /// With `reinitialize`, each copy's weights are drawn anew from that
    /// seed (and the network's place) instead of copied: a restart.
    pub(crate) fn start(
        nets: &[(String, Arc<NetModel>)],
        engine: &mut Engine,
        learning_rate: f64,
        reinitialize: Option<u64>,
    ) -> Result<Vec<NetTraining>, Error> {
        let mut out = Vec::new();
        for (place, (name, model)) in nets.iter().enumerate() {
            let net = match reinitialize {
                Some(seed) => model
                    .net
                    .reinitialized(seed.wrapping_mul(1_000_003).wrapping_add(place as u64)),
                None => model.net.duplicate(),
            };
            let copy = Arc::new(NetModel::new(
                net.map_err(failed)?,
                model.inputs.clone(),
                model.header.clone(),
                model.file.clone(),
            ));
            engine.replace_model(
                name,
                Arc::new(NetCalls {
                    path: model.file.display().to_string(),
                    model: Arc::clone(&copy),
                }),
            );
            out.push(NetTraining {
                name: name.clone(),
                optimizer: copy.net.optimizer(learning_rate).map_err(failed)?,
                classes: copy.classes.clone(),
                model: copy,
            });
        }
        Ok(out)
    }
}

/// A network's rows in a step and the loss's gradient for each.
type Batch = (Vec<Vec<f32>>, Vec<Vec<f64>>);

/// The loss's gradient with respect to the answers of the networks'
/// calls in a batch.
#[derive(Default)]
pub(crate) struct NetGradients {
    /// Per network and input: by the choice of each class (`prob`'s
    /// exclusive answers), and by each class's probability directly
    /// (`predict`'s one answer).
    by_input: BTreeMap<(usize, Value), (Vec<f64>, Vec<f64>)>,
}

impl NetGradients {
    /// Adds `d` (the loss's derivative with respect to the answer's event)
    /// for an answer of one of `nets`.
    pub(crate) fn add(&mut self, nets: &[NetTraining], answer: &ModelAnswer, d: f64) {
        let Some(index) = nets.iter().position(|n| n.name == answer.model) else {
            return;
        };
        let (Some(net), Some(input), Some(class)) = (
            nets.get(index),
            answer.inputs.first(),
            answer.outputs.first(),
        ) else {
            return;
        };
        let Some(c) = net.classes.iter().position(|k| k == class) else {
            return;
        };
        let n = net.classes.len();
        let entry = self
            .by_input
            .entry((index, input.clone()))
            .or_insert_with(|| (vec![0.0; n], vec![0.0; n]));
        let slot = if answer.method == "prob" {
            entry.0.get_mut(c)
        } else {
            entry.1.get_mut(c)
        };
        if let Some(slot) = slot {
            *slot += d;
        }
    }

    /// One optimiser step per network, the gradient averaged over `n`
    /// examples.
    pub(crate) fn apply(self, nets: &mut [NetTraining], n: f64) -> Result<(), Error> {
        // Per network: the rows and the gradient for each.
        let mut per_net: BTreeMap<usize, Batch> = BTreeMap::new();
        for ((index, input), (by_choice, direct)) in self.by_input {
            let Some(net) = nets.get(index) else { continue };
            let Some(row) = net.model.row(&input) else {
                continue;
            };
            let p = net
                .model
                .net
                .probabilities(std::slice::from_ref(row))
                .map_err(failed)?
                .into_iter()
                .next()
                .unwrap_or_default();
            let upstream: Vec<f64> = Engine::answer_gradient(&p, &by_choice)
                .into_iter()
                .zip(&direct)
                .map(|(a, b)| (a + b) / n)
                .collect();
            let entry = per_net.entry(index).or_default();
            entry.0.push(row.clone());
            entry.1.push(upstream);
        }
        for (index, (rows, upstream)) in per_net {
            if let Some(net) = nets.get_mut(index) {
                net.model
                    .net
                    .step(&mut net.optimizer, &rows, &upstream)
                    .map_err(failed)?;
            }
        }
        Ok(())
    }
}

/// Saves a trained network beside `output` (`OUT.NAME.net`); returns its
/// file name, for the rule file's `@model`.
pub(crate) fn save_network(
    name: &str,
    model: &NetModel,
    output: &Path,
) -> Result<(PathBuf, String), Error> {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trained".to_string());
    let file_name = format!("{stem}.{name}.net");
    let path = output.with_file_name(&file_name);
    // The input table, as the new file reaches it: the same relative path
    // when it lands in the same directory, else absolute.
    let old_dir = model.file.parent().unwrap_or(Path::new("."));
    let new_dir = path.parent().unwrap_or(Path::new("."));
    let same = |a: &Path, b: &Path| {
        let full = |p: &Path| {
            std::fs::canonicalize(if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            })
            .ok()
        };
        full(a).is_some_and(|a| Some(a) == full(b))
    };
    let table = if same(old_dir, new_dir) {
        model.header.input.table.clone()
    } else {
        let resolved = old_dir.join(&model.header.input.table);
        std::fs::canonicalize(&resolved)
            .unwrap_or(resolved)
            .display()
            .to_string()
    };
    let input = NetInput {
        table,
        id: model.header.input.id.clone(),
    };
    let mut training = model.header.training.clone();
    if let Some(object) = training.as_object_mut() {
        object.insert("through_rules".to_string(), serde_json::json!(true));
    }
    model.net.save(&input, training, &path).map_err(failed)?;
    Ok((path, file_name))
}
