//! Learned models as relations: foreign predicates that rules call as
//! `name.method(inputs..., outputs...)`.
//!
//! The engine knows nothing of trees or embeddings: a caller registers an
//! implementation of [`ForeignPredicate`] under the name `@model` declares
//! ([`crate::Program::add_model`]) before adding the sources that call it.

use crate::value::Value;
use serde::Serialize;

/// What a method takes and gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The inputs, by name (for a classifier, its features in order).
    pub inputs: Vec<String>,
    /// The outputs, by name (`class`, `probability`).
    pub outputs: Vec<String>,
    /// Whether one entity may stand for the inputs, read from binary
    /// relations named like them (see the language guide).
    pub entity_inputs: bool,
    /// Whether the answers of one call exclude each other (a classifier's
    /// classes): under a semiring they are one annotated disjunction, so
    /// "class a or class b" has the sum of their probabilities.
    pub exclusive: bool,
}

/// One answer of a call: output values and how much the model believes
/// them (the tag in probabilistic semirings).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelOutput {
    /// One value per output of the signature.
    pub values: Vec<Value>,
    /// In [0, 1].
    pub probability: f64,
}

/// Why a model gave its answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelExplanation {
    /// One line for people (a tree's tests, a soft tree's path).
    pub text: String,
    /// The same, structured.
    pub detail: serde_json::Value,
}

/// A learned model the engine can call.
pub trait ForeignPredicate: Send + Sync {
    /// What it is, for explanations: `CART tree models/credit.tree`.
    fn describe(&self) -> String;
    /// The signature of `method`, or why there is no such method.
    fn signature(&self, method: &str) -> Result<Signature, String>;
    /// Calls `method` with bound inputs (as many as the signature's
    /// inputs); an error is reported with the calling rule.
    fn call(&self, method: &str, inputs: &[Value]) -> Result<Vec<ModelOutput>, String>;
    /// Why the call with these inputs answers as it does.
    fn explain(&self, method: &str, inputs: &[Value]) -> Option<ModelExplanation>;
}
