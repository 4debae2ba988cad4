//! Request input: `{"relation": [row, ...]}`, each row an array of values
//! in argument order or an object keyed by the relation's `@decl` field
//! names; from Rust, [`Input::fact`] with typed values.
//!
//! ```
//! use nesy::{Input, Value};
//!
//! let from_json: Input = serde_json::from_str(r#"{"applicant": [["a1", 52000]]}"#)?;
//! let from_rust = Input::new().fact("applicant", vec![Value::symbol("a1"), Value::Int(52000)]);
//! // Typed rows are written as JSON rows, so input round-trips.
//! assert_eq!(serde_json::to_string(&from_rust)?, r#"{"applicant":[["a1",52000]]}"#);
//! assert_eq!(serde_json::to_string(&from_json)?, serde_json::to_string(&from_rust)?);
//! # Ok::<(), serde_json::Error>(())
//! ```

use crate::error::Error;
use nesy_engine::Value;
use nesy_lang::ValueType;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};

/// Request-scoped facts: `{"relation": [row, ...]}`, each row an array of
/// values in argument order or an object keyed by the `@decl` field names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Input(pub BTreeMap<String, Vec<Row>>);

/// One input row.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Row {
    /// Values in argument order.
    Values(Vec<serde_json::Value>),
    /// Values by `@decl` field name.
    Fields(serde_json::Map<String, serde_json::Value>),
    /// Typed values in argument order (from Rust; written as a JSON array,
    /// which reads back as the same facts where the relation is declared).
    #[serde(skip)]
    Typed(Vec<Value>),
}

impl Serialize for Row {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Row::Values(values) => values.serialize(serializer),
            Row::Fields(fields) => fields.serialize(serializer),
            Row::Typed(values) => values.serialize(serializer),
        }
    }
}

impl Input {
    /// No facts.
    pub fn new() -> Self {
        Input::default()
    }

    /// Adds a typed fact, as Rust code builds input.
    pub fn fact(mut self, relation: &str, values: Vec<Value>) -> Self {
        self.0
            .entry(relation.to_string())
            .or_default()
            .push(Row::Typed(values));
        self
    }
}

/// What input must fit: the program's relations and arities, its
/// declarations, and which relations requests may add facts to.
pub(crate) struct Schema<'p> {
    pub(crate) relations: &'p BTreeMap<String, usize>,
    pub(crate) decls: &'p HashMap<String, Vec<(String, Option<ValueType>)>>,
    pub(crate) program: &'p nesy_engine::Program,
    /// Base-fact updates ([`crate::Engine::update`]): any relation of the
    /// program, whatever its `@input` says (a relation rules derive may
    /// have base facts too, as a knowledge graph's triples under OWL
    /// rules).
    pub(crate) base_facts: bool,
}

impl Schema<'_> {
    /// The input as facts, checked against the program.
    pub(crate) fn facts(&self, input: &Input) -> Result<Vec<(String, Vec<Value>)>, Error> {
        let mut out = Vec::new();
        for (relation, rows) in &input.0 {
            let decl = self.decls.get(relation);
            let Some(&arity) = self.relations.get(relation) else {
                return Err(Error::Request(format!(
                    "unknown relation `{relation}` (the program has {})",
                    self.relations
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            if !self.base_facts && !self.program.accepts_input(relation) {
                return Err(Error::Request(match self.program.input_relations() {
                    Some(inputs) => format!(
                        "`{relation}` is not an input relation: requests may add facts to {} (the program's @input)",
                        inputs.join(", ")
                    ),
                    None => format!(
                        "`{relation}` is derived by rules: a request may add facts only to relations no rule derives (or to those the program marks `@input`)"
                    ),
                }));
            }
            for (i, row) in rows.iter().enumerate() {
                let at = format!("{relation}[{i}]");
                let values = match row {
                    Row::Typed(vs) => {
                        if vs.len() != arity {
                            return Err(Error::Request(format!(
                                "{at}: {relation} takes {arity} values, got {}",
                                vs.len()
                            )));
                        }
                        vs.clone()
                    }
                    Row::Values(vs) => {
                        if vs.len() != arity {
                            return Err(Error::Request(format!(
                                "{at}: {relation} takes {arity} values, got {}",
                                vs.len()
                            )));
                        }
                        vs.iter()
                            .enumerate()
                            .map(|(c, v)| {
                                value_of(v, decl.and_then(|d| d.get(c)).and_then(|f| f.1), &at)
                            })
                            .collect::<Result<Vec<_>, _>>()?
                    }
                    Row::Fields(map) => {
                        let Some(fields) = decl else {
                            return Err(Error::Request(format!(
                                "{at}: an object row needs `@decl {relation}(...)` to name the fields; give an array instead"
                            )));
                        };
                        if let Some(unknown) =
                            map.keys().find(|k| !fields.iter().any(|f| &f.0 == *k))
                        {
                            return Err(Error::Request(format!(
                                "{at}: unknown field `{unknown}` (the fields are {})",
                                fields
                                    .iter()
                                    .map(|f| f.0.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )));
                        }
                        fields
                            .iter()
                            .map(|(name, ty)| match map.get(name) {
                                Some(v) => value_of(v, *ty, &format!("{at}.{name}")),
                                None => {
                                    Err(Error::Request(format!("{at}: missing field `{name}`")))
                                }
                            })
                            .collect::<Result<Vec<_>, _>>()?
                    }
                };
                out.push((relation.clone(), values));
            }
        }
        Ok(out)
    }
}

fn value_of(v: &serde_json::Value, ty: Option<ValueType>, at: &str) -> Result<Value, Error> {
    let bad = |what: &str| Error::Request(format!("{at}: {what}"));
    Ok(match (v, ty) {
        (serde_json::Value::String(s), Some(ValueType::String)) => Value::string(s),
        (serde_json::Value::String(s), Some(ValueType::Iri)) => Value::iri(s),
        (serde_json::Value::String(s), None | Some(ValueType::Symbol) | Some(ValueType::Any)) => {
            Value::symbol(s)
        }
        (serde_json::Value::String(_), _) => {
            return Err(bad("expected a number or bool, got a string"));
        }
        (serde_json::Value::Number(n), Some(ValueType::Int)) => Value::Int(
            n.as_i64()
                .ok_or_else(|| bad(&format!("{n} is not an integer")))?,
        ),
        (
            serde_json::Value::Number(n),
            None | Some(ValueType::Float | ValueType::Number | ValueType::Any),
        ) => match n.as_i64() {
            Some(i) if ty != Some(ValueType::Float) => Value::Int(i),
            _ => Value::float(n.as_f64().ok_or_else(|| bad("not a finite number"))?),
        },
        (serde_json::Value::Number(_), _) => return Err(bad("expected a string, got a number")),
        (serde_json::Value::Bool(b), None | Some(ValueType::Bool | ValueType::Any)) => {
            Value::Bool(*b)
        }
        (serde_json::Value::Bool(_), _) => return Err(bad("did not expect a bool")),
        _ => return Err(bad("values are strings, numbers or booleans")),
    })
}
