//! `@model` files as engine models: decision trees, knowledge-graph
//! embeddings and networks from `nesy-learn`, and rule files from `nesy
//! train rules` ([`crate::rule_calls`]).
//!
//! A tree model answers two methods. `predict` gives the most probable
//! class and its probability; `prob` gives every class with its
//! probability (one answer per class). Either takes the model's features in
//! the order `nesy train` saw them, or one entity whose features the engine
//! reads from binary relations named like the features. Classes are
//! strings; the probability is also the answer's tag under a probabilistic
//! semiring. A regression tree (`nesy train tree --task regression`)
//! answers both methods with its number and probability 1.

use crate::error::Error;
use crate::net_calls::{NetCalls, NetModel};
use nesy_engine::{ForeignPredicate, ModelExplanation, ModelOutput, Signature, Value};
use nesy_lang::Checked;
use nesy_lang::ast::Item;
use nesy_learn::link::kge::KgeFile;
use nesy_learn::link::{Direction, LinkScorer};
use nesy_learn::{FeatureValue, TreeModel};
use std::path::Path;
use std::sync::Arc;

/// A decision tree (any variant) answering model calls.
struct TreeCalls {
    path: String,
    model: TreeModel,
}

impl TreeCalls {
    fn encode(&self, inputs: &[Value]) -> Result<Vec<f64>, String> {
        let values: Vec<FeatureValue> = inputs
            .iter()
            .map(|v| match v {
                Value::Int(i) => FeatureValue::Number(*i as f64),
                Value::Float(x) => FeatureValue::Number(*x),
                Value::Symbol(s) | Value::String(s) | Value::Iri(s) => {
                    FeatureValue::Text(s.to_string())
                }
                Value::Bool(b) => FeatureValue::Text(b.to_string()),
            })
            .collect();
        self.model.schema().encode(&values)
    }
}

impl ForeignPredicate for TreeCalls {
    fn describe(&self) -> String {
        let variant = match self.model.header.variant {
            nesy_learn::Variant::Cart => "CART tree",
            nesy_learn::Variant::Forest => "random forest",
            nesy_learn::Variant::Soft => "soft decision tree",
        };
        format!("{variant} {}", self.path)
    }

    fn signature(&self, method: &str) -> Result<Signature, String> {
        match method {
            "predict" | "prob" => Ok(Signature {
                inputs: self
                    .model
                    .schema()
                    .features
                    .iter()
                    .map(|f| f.name.clone())
                    .collect(),
                outputs: vec![
                    if self.model.schema().task == nesy_learn::Task::Regression {
                        "Value".to_string()
                    } else {
                        "Class".to_string()
                    },
                    "Probability".to_string(),
                ],
                entity_inputs: true,
                // One input has one class: `prob`'s answers are exclusive.
                exclusive: method == "prob",
            }),
            other => Err(format!(
                "a decision tree has no method `{other}` (it has `predict` and `prob`)"
            )),
        }
    }

    fn call(&self, method: &str, inputs: &[Value]) -> Result<Vec<ModelOutput>, String> {
        let x = self.encode(inputs)?;
        // A regression's one answer: its number, certain.
        if let Some(value) = self.model.classifier.value(&x) {
            return Ok(vec![ModelOutput {
                values: vec![Value::float(value), Value::float(1.0)],
                probability: 1.0,
            }]);
        }
        let prediction = self.model.classifier.predict(&x);
        let classes = &self.model.schema().classes;
        Ok(match method {
            "predict" => vec![ModelOutput {
                values: vec![
                    Value::string(&prediction.class_name),
                    Value::float(prediction.probability),
                ],
                probability: prediction.probability,
            }],
            _ => classes
                .iter()
                .zip(&prediction.distribution)
                .map(|(c, &p)| ModelOutput {
                    values: vec![Value::string(c), Value::float(p)],
                    probability: p,
                })
                .collect(),
        })
    }

    fn explain(&self, _method: &str, inputs: &[Value]) -> Option<ModelExplanation> {
        let x = self.encode(inputs).ok()?;
        let path = self.model.classifier.explain(&x);
        Some(ModelExplanation {
            text: path.to_text(),
            detail: serde_json::to_value(&path).unwrap_or_default(),
        })
    }
}

/// Registers each `@model` of a source whose file exists; a file that
/// exists but cannot be read as a model is an error at the declaration. A
/// missing file is left to the checker's warning, and a call to it fails to
/// compile.
pub(crate) fn load_models(
    engine: &mut nesy_engine::Program,
    checked: &Checked,
    dir: &Path,
    policy: &crate::ReadPolicy,
) -> Result<Vec<(String, Arc<NetModel>)>, Error> {
    let mut nets = Vec::new();
    for item in &checked.program.items {
        let Item::Model(decl) = item else { continue };
        let location = checked.source.location(decl.span.start);
        // Refused before anything is asked of the file, even whether it exists.
        let path = policy.check(&dir.join(&decl.path.value), &location)?;
        if !path.exists() {
            continue;
        }
        let failed = |e: nesy_learn::Error| Error::Model {
            location: location.clone(),
            message: e.to_string(),
        };
        // A rule file from `nesy train rules` is a model too.
        if path.extension().is_some_and(|e| e == "nesy") {
            let calls = crate::rule_calls::load(
                &path,
                &decl.path.value,
                |p| policy.check(p, &location),
                &location,
            )?;
            engine.add_model(&decl.name.text, Arc::new(calls));
            continue;
        }
        let kind = nesy_learn::model_file::model_kind(&path).map_err(failed)?;
        let model: Arc<dyn ForeignPredicate> = match kind.as_str() {
            "kge" => Arc::new(KgeCalls {
                path: decl.path.value.clone(),
                file: KgeFile::load(&path).map_err(failed)?,
            }),
            "tree" => Arc::new(TreeCalls {
                path: decl.path.value.clone(),
                model: TreeModel::load(&path).map_err(failed)?,
            }),
            "net" => {
                let model = Arc::new(load_net(&path, policy, &location).map_err(failed)?);
                nets.push((decl.name.text.clone(), Arc::clone(&model)));
                Arc::new(NetCalls {
                    path: decl.path.value.clone(),
                    model,
                })
            }
            other => {
                return Err(Error::Model {
                    location,
                    message: format!(
                        "`{}` is a model of kind `{other}`, which this nesy does not read (it reads `tree`, `kge` and `net`)",
                        decl.path.value
                    ),
                });
            }
        };
        engine.add_model(&decl.name.text, model);
    }
    Ok(nets)
}

/// A network and the input table its file names (relative to the file),
/// read under the same policy as the rules' own files.
fn load_net(
    path: &Path,
    policy: &crate::ReadPolicy,
    location: &nesy_lang::Location,
) -> Result<NetModel, nesy_learn::Error> {
    let (net, header) = nesy_learn::net::Net::load(path, &nesy_learn::device("cpu")?)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let table = policy
        .check(&dir.join(&header.input.table), location)
        .map_err(|e| nesy_learn::Error::Invalid(e.to_string()))?;
    let inputs = nesy_learn::net::NetInputs::read(&table, &header.input.id, &net.spec.features)?;
    Ok(NetModel::new(net, inputs, header, path.to_path_buf()))
}

/// A knowledge-graph embedding answering `score(R, H, T) -> (Score)` (the
/// calibrated probability that the triple holds) and `top(R, H, K) ->
/// (Tail)` (the K most likely tails, each with its probability as the tag).
/// Entities and relations are matched by name whatever their value type;
/// `top` answers in the type of the head it was given. An entity or
/// relation the embedding does not know has no answer.
struct KgeCalls {
    path: String,
    file: KgeFile,
}

/// `score(R, H, T) -> (Score)` and `top(R, H, K) -> (Tail)`: what link
/// predictors (embeddings, rule files) answer; `what` names the model in
/// the error for another method.
pub(crate) fn link_signature(method: &str, what: &str) -> Result<Signature, String> {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    match method {
        "score" => Ok(Signature {
            inputs: names(&["Relation", "Head", "Tail"]),
            outputs: names(&["Score"]),
            entity_inputs: false,
            exclusive: false,
        }),
        "top" => Ok(Signature {
            inputs: names(&["Relation", "Head", "K"]),
            outputs: names(&["Tail"]),
            entity_inputs: false,
            // A head may have several tails.
            exclusive: false,
        }),
        other => Err(format!(
            "{what} has no method `{other}` (it has `score` and `top`)"
        )),
    }
}

/// An entity name as a value of the type `head` was given in (a symbol
/// for a symbol, an IRI for an IRI, else a string).
pub(crate) fn entity_like(head: &Value, name: &str) -> Value {
    match head {
        Value::Symbol(_) => Value::symbol(name),
        Value::Iri(_) => Value::iri(name),
        _ => Value::string(name),
    }
}

/// An entity or relation name given as a symbol, string, IRI or other value.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::Symbol(s) | Value::String(s) | Value::Iri(s) => s.to_string(),
        other => other.to_string(),
    }
}

impl KgeCalls {
    fn ids(&self, relation: &Value, head: &Value) -> Option<(u32, u32)> {
        let h = &self.file.header;
        let r = h.relations.binary_search(&value_text(relation)).ok()? as u32;
        let e = h.entities.binary_search(&value_text(head)).ok()? as u32;
        Some((r, e))
    }
}

impl ForeignPredicate for KgeCalls {
    fn describe(&self) -> String {
        format!("{} embedding {}", self.file.header.model, self.path)
    }

    fn signature(&self, method: &str) -> Result<Signature, String> {
        link_signature(method, "an embedding")
    }

    fn call(&self, method: &str, inputs: &[Value]) -> Result<Vec<ModelOutput>, String> {
        let [relation, head, third] = inputs else {
            return Err("expected three inputs".to_string());
        };
        let Some((r, h)) = self.ids(relation, head) else {
            return Ok(Vec::new());
        };
        let model = &self.file.model;
        match method {
            "score" => {
                let Ok(t) = self.file.header.entities.binary_search(&value_text(third)) else {
                    return Ok(Vec::new());
                };
                let p = model.probability(h, r, t as u32);
                Ok(vec![ModelOutput {
                    values: vec![Value::float(p)],
                    probability: p,
                }])
            }
            _ => {
                let k = match third {
                    Value::Int(k) if *k >= 0 => *k as usize,
                    other => return Err(format!("K must be a non-negative integer, got {other}")),
                };
                let scores = model.scores(h, r, Direction::Tail);
                let mut ranked: Vec<(usize, f64)> = scores.into_iter().enumerate().collect();
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                Ok(ranked
                    .into_iter()
                    .take(k)
                    .filter_map(|(e, _)| {
                        let name = self.file.header.entities.get(e)?;
                        Some(ModelOutput {
                            values: vec![entity_like(head, name)],
                            probability: model.probability(h, r, e as u32),
                        })
                    })
                    .collect())
            }
        }
    }

    fn explain(&self, method: &str, inputs: &[Value]) -> Option<ModelExplanation> {
        let [relation, head, third] = inputs else {
            return None;
        };
        let (r, h) = self.ids(relation, head)?;
        let model = &self.file.model;
        let scores = model.scores(h, r, Direction::Tail);
        let n = scores.len();
        match method {
            "score" => {
                let t = self
                    .file
                    .header
                    .entities
                    .binary_search(&value_text(third))
                    .ok()?;
                let s = *scores.get(t)?;
                let better = scores.iter().filter(|&&x| x > s).count();
                let text = format!(
                    "{} score {s:.4}, calibrated probability {:.4}, rank {} of {n} tails",
                    self.file.header.model,
                    model.probability(h, r, t as u32),
                    better + 1
                );
                Some(ModelExplanation {
                    text,
                    detail: serde_json::json!({"score": s, "rank": better + 1, "of": n}),
                })
            }
            _ => Some(ModelExplanation {
                text: format!(
                    "the top {third} of {n} tails by {} score",
                    self.file.header.model
                ),
                detail: serde_json::json!({"of": n}),
            }),
        }
    }
}
