//! `@model` files as engine models: decision trees from `nesy-learn`.
//!
//! A tree model answers two methods. `predict` gives the most probable
//! class and its probability; `prob` gives every class with its
//! probability (one answer per class). Either takes the model's features in
//! the order `nesy train` saw them, or one entity whose features the engine
//! reads from binary relations named like the features. Classes are
//! strings; the probability is also the answer's tag under a probabilistic
//! semiring.

use crate::error::Error;
use nesy_engine::{Model, ModelExplanation, ModelOutput, Signature, Value};
use nesy_lang::Checked;
use nesy_lang::ast::Item;
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

impl Model for TreeCalls {
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
                outputs: vec!["Class".to_string(), "Probability".to_string()],
            }),
            other => Err(format!(
                "a decision tree has no method `{other}` (it has `predict` and `prob`)"
            )),
        }
    }

    fn call(&self, method: &str, inputs: &[Value]) -> Result<Vec<ModelOutput>, String> {
        let x = self.encode(inputs)?;
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
) -> Result<(), Error> {
    for item in &checked.program.items {
        let Item::Model(decl) = item else { continue };
        let path = dir.join(&decl.path.value);
        if !path.exists() {
            continue;
        }
        let position = checked.source.position(decl.span.start);
        let location = format!(
            "{}:{}:{}",
            checked.source.name(),
            position.line,
            position.column
        );
        let model = TreeModel::load(&path).map_err(|e| Error::Model {
            location: location.clone(),
            message: e.to_string(),
        })?;
        engine.add_model(
            &decl.name.text,
            Arc::new(TreeCalls {
                path: decl.path.value.clone(),
                model,
            }),
        );
    }
    Ok(())
}
