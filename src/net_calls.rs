//! `@model` files of kind `net`: a network answering model calls as a
//! neural predicate, and the handle training through the rules uses.
//!
//! `digit.prob(I, D, P)` binds every class `D` of entity `I` with its
//! probability (one annotated disjunction: the classes of one input
//! exclude each other); `digit.predict(I, D, P)` the most likely. The
//! entity's features are the row of the network's input table (named in
//! its file) whose id column holds `I`. A class that reads as an integer
//! is an integer (`0`..`9` for digits), any other a string.

use nesy_engine::{ForeignPredicate, ModelExplanation, ModelOutput, Signature, Value};
use nesy_learn::net::{Net, NetHeader, NetInputs};
use std::path::PathBuf;
use std::sync::Arc;

/// A network, its inputs, and where it was read from.
pub(crate) struct NetModel {
    pub(crate) net: Net,
    /// The classes as values, in the softmax's order.
    pub(crate) classes: Vec<Value>,
    pub(crate) inputs: NetInputs,
    pub(crate) header: NetHeader,
    /// The file, as the `@model` declaration resolves it.
    pub(crate) file: PathBuf,
}

impl std::fmt::Debug for NetModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NetModel({})", self.file.display())
    }
}

impl NetModel {
    /// A network, the rows it reads, and where it was read from.
    pub(crate) fn new(net: Net, inputs: NetInputs, header: NetHeader, file: PathBuf) -> Self {
        let classes = net
            .spec
            .classes
            .iter()
            .map(|c| {
                c.parse::<i64>()
                    .map_or_else(|_| Value::string(c), Value::Int)
            })
            .collect();
        NetModel {
            net,
            classes,
            inputs,
            header,
            file,
        }
    }

    /// The features of an entity, by its id value.
    pub(crate) fn row(&self, id: &Value) -> Option<&Vec<f32>> {
        let key = match id {
            Value::Symbol(s) | Value::String(s) | Value::Iri(s) => s.to_string(),
            other => other.to_string(),
        };
        self.inputs.row(&key)
    }
}

/// A network answering `prob` and `predict`.
pub(crate) struct NetCalls {
    pub(crate) path: String,
    pub(crate) model: Arc<NetModel>,
}

impl ForeignPredicate for NetCalls {
    fn describe(&self) -> String {
        format!("network {}", self.path)
    }

    fn signature(&self, method: &str) -> Result<Signature, String> {
        match method {
            "prob" | "predict" => Ok(Signature {
                inputs: vec!["Input".to_string()],
                outputs: vec!["Class".to_string(), "Probability".to_string()],
                entity_inputs: false,
                exclusive: method == "prob",
            }),
            other => Err(format!(
                "a network has no method `{other}` (it has `prob` and `predict`)"
            )),
        }
    }

    fn call(&self, method: &str, inputs: &[Value]) -> Result<Vec<ModelOutput>, String> {
        let [id] = inputs else {
            return Err("a network takes one input: the entity".to_string());
        };
        // An entity the input table does not hold has no answer.
        let Some(row) = self.model.row(id) else {
            return Ok(Vec::new());
        };
        let p = self
            .model
            .net
            .probabilities(std::slice::from_ref(row))
            .map_err(|e| e.to_string())?;
        let p = p.into_iter().next().unwrap_or_default();
        let mut answers: Vec<ModelOutput> = self
            .model
            .classes
            .iter()
            .cloned()
            .zip(p)
            .map(|(class, p)| ModelOutput {
                values: vec![class, Value::float(p)],
                probability: p,
            })
            .collect();
        if method == "predict" {
            answers.sort_by(|a, b| b.probability.total_cmp(&a.probability));
            answers.truncate(1);
        }
        Ok(answers)
    }

    fn explain(&self, _method: &str, inputs: &[Value]) -> Option<ModelExplanation> {
        let row = self.model.row(inputs.first()?)?;
        let p = self
            .model
            .net
            .probabilities(std::slice::from_ref(row))
            .ok()?;
        let classes: Vec<(String, f64)> = self
            .model
            .net
            .spec
            .classes
            .iter()
            .cloned()
            .zip(p.into_iter().next().unwrap_or_default())
            .collect();
        let text = classes
            .iter()
            .map(|(c, p)| format!("{c}: {p:.3}"))
            .collect::<Vec<_>>()
            .join(", ");
        Some(ModelExplanation {
            text: format!("class probabilities {text}"),
            detail: serde_json::json!({ "classes": classes }),
        })
    }
}
