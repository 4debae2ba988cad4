//! Values as dataflow data: [`Datum`] wraps the engine's [`Value`] with
//! the order, hashing and equality the native engine uses, and a tagged
//! serialization (timely serializes data that crosses processes; the
//! engine's own `Serialize` writes symbols and strings alike).

use nesy_engine::Value;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

/// One value of a row in the dataflow.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Datum(pub Value);

/// A tuple, or a rule's bindings.
pub type Row = Vec<Datum>;

/// The wire form: one variant per kind of value.
#[derive(Serialize, Deserialize)]
enum Wire<'a> {
    Symbol(&'a str),
    String(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    Iri(&'a str),
}

/// Owned, for reading back.
#[derive(Deserialize)]
enum OwnedWire {
    Symbol(String),
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Iri(String),
}

impl Serialize for Datum {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Value::Symbol(s) => Wire::Symbol(s),
            Value::String(s) => Wire::String(s),
            Value::Int(i) => Wire::Int(*i),
            Value::Float(x) => Wire::Float(*x),
            Value::Bool(b) => Wire::Bool(*b),
            Value::Iri(s) => Wire::Iri(s),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Datum {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Datum(match OwnedWire::deserialize(deserializer)? {
            OwnedWire::Symbol(s) => Value::Symbol(Arc::from(s)),
            OwnedWire::String(s) => Value::String(Arc::from(s)),
            OwnedWire::Int(i) => Value::Int(i),
            OwnedWire::Float(x) => Value::float(x),
            OwnedWire::Bool(b) => Value::Bool(b),
            OwnedWire::Iri(s) => Value::Iri(Arc::from(s)),
        }))
    }
}
