//! Values and their interning.
//!
//! Every value a relation holds is interned once; tuples are rows of `u32`
//! ids, so joins compare integers and rows have a fixed width.
//!
//! ```
//! use nesy_engine::{Interner, Value};
//!
//! let mut interner = Interner::default();
//! let alice = interner.intern(Value::symbol("alice"));
//! assert_eq!(interner.intern(Value::symbol("alice")), alice);
//! assert_eq!(interner.value(alice), &Value::symbol("alice"));
//! ```

use rustc_hash::FxHashMap;
use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A value of the rule language.
#[derive(Clone, Debug)]
pub enum Value {
    /// A lowercase identifier such as `alice`.
    Symbol(Arc<str>),
    /// A quoted string.
    String(Arc<str>),
    /// A 64-bit integer.
    Int(i64),
    /// A finite 64-bit float.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// An IRI, without the angle brackets.
    Iri(Arc<str>),
}

impl Value {
    /// A symbol.
    pub fn symbol(s: impl AsRef<str>) -> Self {
        Value::Symbol(Arc::from(s.as_ref()))
    }

    /// A string.
    pub fn string(s: impl AsRef<str>) -> Self {
        Value::String(Arc::from(s.as_ref()))
    }

    /// A float; `-0.0` becomes `0.0` so equal numbers intern once.
    pub fn float(x: f64) -> Self {
        Value::Float(if x == 0.0 { 0.0 } else { x })
    }

    /// An IRI.
    pub fn iri(s: impl AsRef<str>) -> Self {
        Value::Iri(Arc::from(s.as_ref()))
    }

    /// The number as a float, if the value is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Symbol(_) => "symbol",
            Value::String(_) => "string",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Iri(_) => "iri",
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Bool(_) => 0,
            Value::Int(_) | Value::Float(_) => 1,
            Value::Symbol(_) => 2,
            Value::String(_) => 3,
            Value::Iri(_) => 4,
        }
    }

    /// The value as it is printed in tab-separated output: no quotes, no
    /// brackets (Soufflé's convention, so outputs compare with `diff`).
    pub fn to_plain_string(&self) -> String {
        self.plain().to_string()
    }

    /// Displays the value as [`Value::to_plain_string`] does, without
    /// allocating.
    pub fn plain(&self) -> Plain<'_> {
        Plain(self)
    }
}

/// A value displayed without quotes or brackets; see [`Value::plain`].
pub struct Plain<'a>(&'a Value);

impl fmt::Display for Plain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Symbol(s) | Value::String(s) | Value::Iri(s) => f.write_str(s),
            other => other.fmt(f),
        }
    }
}

/// Values print as they are written in rule files: `alice`, `"text"`, `42`,
/// `1.5`, `true`, `<http://...>`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Symbol(s) => f.write_str(s),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    write!(f, "{x:.1}")
                } else {
                    write!(f, "{x}")
                }
            }
            Value::Bool(b) => write!(f, "{b}"),
            Value::Iri(s) => write!(f, "<{s}>"),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Symbol(a), Value::Symbol(b))
            | (Value::String(a), Value::String(b))
            | (Value::Iri(a), Value::Iri(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            // Bit equality: interning needs `Eq`; -0.0 is normalised away
            // when floats are made (see `Value::float`).
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Symbol(s) | Value::String(s) | Value::Iri(s) => s.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Float(x) => x.to_bits().hash(state),
            Value::Bool(b) => b.hash(state),
        }
    }
}

/// A total order for sorted output: booleans, then numbers (ints and floats
/// compared by value), then symbols, strings and IRIs, each alphabetically.
impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Int(a), Value::Float(b)) => (*a as f64).total_cmp(b).then(Ordering::Less),
            (Value::Float(a), Value::Int(b)) => a.total_cmp(&(*b as f64)).then(Ordering::Greater),
            (Value::Symbol(a), Value::Symbol(b))
            | (Value::String(a), Value::String(b))
            | (Value::Iri(a), Value::Iri(b)) => a.cmp(b),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Numbers serialise as JSON numbers, booleans as booleans, everything else
/// as its plain text.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Symbol(s) | Value::String(s) | Value::Iri(s) => serializer.serialize_str(s),
        }
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// Ids at or above this are values a worker made during a parallel step and
/// that the interner has not seen yet (see `Scratch`).
pub(crate) const PENDING: u32 = 1 << 31;

/// Interns values: each distinct value gets one `u32` id.
///
/// An interner can be layered over a shared one ([`Interner::layered`]): an
/// evaluation adds the values it computes on top of the program's table
/// without copying it.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    base: Option<Arc<Interner>>,
    /// Ids below this are the base's.
    offset: u32,
    values: Vec<Value>,
    ids: FxHashMap<Value, u32>,
}

impl Interner {
    /// An interner that knows every value of `base` (with the same ids)
    /// and adds new ones on its own.
    pub fn layered(base: Arc<Interner>) -> Self {
        Interner {
            offset: u32::try_from(base.len()).unwrap_or(PENDING),
            base: Some(base),
            values: Vec::new(),
            ids: FxHashMap::default(),
        }
    }

    /// The id of `value`, interning it if new.
    pub fn intern(&mut self, value: Value) -> u32 {
        if let Some(id) = self.get(&value) {
            return id;
        }
        let id = u32::try_from(self.len())
            .ok()
            .filter(|id| *id < PENDING)
            .unwrap_or(PENDING - 1);
        self.values.push(value.clone());
        self.ids.insert(value, id);
        id
    }

    /// The id of `value`, if it was interned.
    pub fn get(&self, value: &Value) -> Option<u32> {
        self.base
            .as_ref()
            .and_then(|b| b.get(value))
            .or_else(|| self.ids.get(value).copied())
    }

    /// The value of an id this interner gave out.
    pub fn value(&self, id: u32) -> &Value {
        // Ids only come from `intern`, so the lookup cannot miss; a foreign id
        // still gets a value rather than a panic.
        match &self.base {
            Some(base) if id < self.offset => base.value(id),
            _ => self
                .values
                .get((id - self.offset.min(id)) as usize)
                .unwrap_or(&FALLBACK),
        }
    }

    /// How many distinct values are interned.
    pub fn len(&self) -> usize {
        self.offset as usize + self.values.len()
    }

    /// Whether nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

static FALLBACK: Value = Value::Bool(false);

/// Interning during a parallel step: the shared interner is read-only, so a
/// worker gives values it has not seen provisional ids (`PENDING + n`) that
/// are replaced by real ones when the step's rows are merged.
pub(crate) struct Scratch<'a> {
    pub(crate) interner: &'a Interner,
    pub(crate) pending: Vec<Value>,
    pending_ids: FxHashMap<Value, u32>,
}

impl<'a> Scratch<'a> {
    pub(crate) fn new(interner: &'a Interner) -> Self {
        Scratch {
            interner,
            pending: Vec::new(),
            pending_ids: FxHashMap::default(),
        }
    }

    pub(crate) fn intern(&mut self, value: Value) -> u32 {
        if let Some(id) = self.interner.get(&value) {
            return id;
        }
        if let Some(&id) = self.pending_ids.get(&value) {
            return id;
        }
        let id = PENDING + self.pending.len() as u32;
        self.pending.push(value.clone());
        self.pending_ids.insert(value, id);
        id
    }

    pub(crate) fn value(&self, id: u32) -> &Value {
        if id >= PENDING {
            self.pending
                .get((id - PENDING) as usize)
                .unwrap_or(&FALLBACK)
        } else {
            self.interner.value(id)
        }
    }
}

/// `name(a, b)` as written in rules; `name` alone for no arguments.
pub(crate) fn atom_text(name: &str, args: &[String]) -> String {
    if args.is_empty() {
        name.to_string()
    } else {
        format!("{name}({})", args.join(", "))
    }
}
