//! The decision API: an [`Engine`] built once from rules, knowledge and
//! models, then asked for decisions, answers and explanations with
//! request-scoped input facts.
//!
//! ```
//! use nesy::{Engine, Input};
//! # let dir = tempfile::tempdir()?;
//! # let rules = dir.path().join("credit.nesy");
//! # std::fs::write(&rules, "
//! #   @decl applicant(id: symbol, income: int, debt: int).
//! #   blacklisted(a2).
//! #   approve(A) :- applicant(A, I, D), D * 100 / I < 30, not blacklisted(A).
//! # ")?;
//! let engine = Engine::builder().rules(&rules).build()?;
//! let input: Input = serde_json::from_str(
//!     r#"{"applicant": [{"id": "a1", "income": 50000, "debt": 4000}]}"#,
//! )?;
//! let decision = engine.decide("approve", &input, false)?;
//! assert!(decision.holds);
//! assert_eq!(decision.results[0].args, [serde_json::json!("a1")]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The base program (rules, knowledge, models) is evaluated once when the
//! engine is built. A request's facts are added to a copy of nothing but
//! the relations that depend on them: those are derived again, everything
//! else is read from the base evaluation (see
//! [`nesy_engine::Prepared`]). The engine is immutable, `Send + Sync`, and
//! cheap to clone (an `Arc`).

use crate::ReadPolicy;
use crate::error::Error;
use crate::program::Program;
use nesy_engine::{
    Answers, Cancel, ExplainOptions, Explanation, Limits, Prepared, SemiringKind, Value,
};
use nesy_lang::ValueType;
use nesy_lang::ast::Item;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Request-scoped facts: `{"relation": [row, ...]}`, each row an array of
/// values in argument order or an object keyed by the `@decl` field names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Input(pub BTreeMap<String, Vec<Row>>);

/// One input row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Row {
    /// Values in argument order.
    Values(Vec<serde_json::Value>),
    /// Values by `@decl` field name.
    Fields(serde_json::Map<String, serde_json::Value>),
    /// Typed values in argument order (from Rust; not part of the JSON form).
    #[serde(skip)]
    Typed(Vec<Value>),
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

/// One tuple of a decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecisionResult {
    /// The tuple's values (numbers as JSON numbers, the rest as strings).
    pub args: Vec<serde_json::Value>,
    /// Its probability under the engine's semiring (1 under `bool`).
    pub probability: f64,
    /// Why it holds, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

/// The answer to [`Engine::decide`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    /// The decision relation.
    pub decision: String,
    /// Whether any tuple holds.
    pub holds: bool,
    /// The tuples that hold.
    pub results: Vec<DecisionResult>,
    /// When none holds and an explanation was asked for: why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<Explanation>,
    /// Names (or locations) of the rules the explanations use.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules_used: Vec<String>,
    /// Microseconds spent evaluating.
    pub eval_us: u64,
}

/// What the engine was built from.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EngineInfo {
    /// Rule and knowledge files.
    pub sources: Vec<String>,
    /// Models, `name -> file`.
    pub models: BTreeMap<String, String>,
    /// Relations and their arities.
    pub relations: BTreeMap<String, usize>,
    /// Relations defined by rules (decisions can be asked of these).
    pub derived: Vec<String>,
    /// `@decl`ared relations with their field names.
    pub declared: BTreeMap<String, Vec<String>>,
    /// The semiring of probabilities.
    pub semiring: String,
}

struct Inner {
    program: Program,
    prepared: Prepared,
    decls: HashMap<String, Vec<(String, Option<ValueType>)>>,
    limits: Limits,
    semiring: SemiringKind,
    info: EngineInfo,
}

/// Rules, knowledge and models, evaluated once; see the module docs.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
    /// Stops this handle's calls when set ([`Engine::with_cancel`]).
    cancel: Option<Cancel>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("info", &self.inner.info)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Engine`].
#[derive(Clone, Debug, Default)]
pub struct EngineBuilder {
    rules: Vec<PathBuf>,
    texts: Vec<(String, String)>,
    knowledge: Vec<PathBuf>,
    models: Vec<(String, PathBuf)>,
    limits: Limits,
    semiring: Option<SemiringKind>,
    policy: ReadPolicy,
}

impl EngineBuilder {
    /// A rule file (its `@import`s and `@model`s resolve against its folder).
    pub fn rules(mut self, path: impl AsRef<Path>) -> Self {
        self.rules.push(path.as_ref().to_path_buf());
        self
    }

    /// Rule text, named `name` in messages.
    pub fn rules_text(mut self, name: &str, text: &str) -> Self {
        self.texts.push((name.to_string(), text.to_string()));
        self
    }

    /// Knowledge: a `.nesy` file of facts, or an RDF file whose triples
    /// become facts `p(s, o)`.
    pub fn knowledge(mut self, path: impl AsRef<Path>) -> Self {
        self.knowledge.push(path.as_ref().to_path_buf());
        self
    }

    /// A model file rules call as `name.method(...)`.
    pub fn model(mut self, name: &str, path: impl AsRef<Path>) -> Self {
        self.models
            .push((name.to_string(), path.as_ref().to_path_buf()));
        self
    }

    /// Reads `@import` and `@model` files only below these directories
    /// (checked before any is opened); the files given to the builder
    /// itself are read wherever they are.
    pub fn confine_to<P: AsRef<Path>>(mut self, dirs: impl IntoIterator<Item = P>) -> Self {
        self.policy = ReadPolicy::within(dirs);
        self
    }

    /// Limits for the base evaluation and for every request.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The semiring decisions' probabilities are computed in (default
    /// `bool`: every tuple that holds has probability 1).
    pub fn semiring(mut self, semiring: SemiringKind) -> Self {
        self.semiring = Some(semiring);
        self
    }

    /// Checks, loads and evaluates everything.
    pub fn build(self) -> Result<Engine, Error> {
        let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let mut files: Vec<PathBuf> = self.rules.clone();
        let mut generated = String::new();
        for k in &self.knowledge {
            if k.extension().is_some_and(|e| e == "nesy") {
                files.push(k.clone());
            } else {
                generated.push_str(&format!("@import {:?}.\n", abs(k).display().to_string()));
            }
        }
        for (name, path) in &self.models {
            generated.push_str(&format!(
                "@model {name} = {:?}.\n",
                abs(path).display().to_string()
            ));
        }
        let mut texts = self.texts.clone();
        if !generated.is_empty() {
            // Models first: the rules that call them compile after.
            texts.insert(0, ("<engine>".to_string(), generated));
        }
        // The knowledge and model files given here are read where they are.
        let given = self
            .knowledge
            .iter()
            .chain(self.models.iter().map(|m| &m.1))
            .filter_map(|p| abs(p).parent().map(Path::to_path_buf));
        let policy = self.policy.also(given);
        let program = Program::from_files_confined(&files, &texts, &policy)?;
        let prepared = program
            .engine()
            .prepare(&self.limits)?
            .with_semiring(self.semiring.unwrap_or(SemiringKind::Bool), &self.limits)?;
        let mut decls = HashMap::new();
        let mut info = EngineInfo {
            sources: files
                .iter()
                .map(|f| f.display().to_string())
                .chain(self.texts.iter().map(|t| t.0.clone()))
                .collect(),
            semiring: self.semiring.unwrap_or(SemiringKind::Bool).to_string(),
            ..EngineInfo::default()
        };
        for source in program.sources() {
            for item in &source.program.items {
                match item {
                    Item::Decl(d) => {
                        let fields: Vec<(String, Option<ValueType>)> = d
                            .fields
                            .iter()
                            .map(|f| (f.name.text.clone(), ValueType::from_name(&f.ty.text)))
                            .collect();
                        info.declared.insert(
                            d.relation.text.clone(),
                            fields.iter().map(|f| f.0.clone()).collect(),
                        );
                        decls.insert(d.relation.text.clone(), fields);
                    }
                    Item::Model(m) => {
                        info.models
                            .insert(m.name.text.clone(), m.path.value.clone());
                    }
                    _ => {}
                }
            }
        }
        let base = prepared.base();
        for name in base.relation_names() {
            if let Some(r) = base.relation(&name) {
                info.relations.insert(name.clone(), r.arity);
            }
        }
        info.derived = base
            .derived_relations()
            .into_iter()
            .map(str::to_string)
            .collect();
        Ok(Engine {
            inner: Arc::new(Inner {
                program,
                prepared,
                decls,
                limits: self.limits,
                semiring: self.semiring.unwrap_or(SemiringKind::Bool),
                info,
            }),
            cancel: None,
        })
    }
}

fn json_of(v: &Value) -> serde_json::Value {
    match v {
        Value::Int(i) => serde_json::json!(i),
        Value::Float(x) => serde_json::json!(x),
        Value::Bool(b) => serde_json::json!(b),
        Value::Symbol(s) | Value::String(s) | Value::Iri(s) => serde_json::json!(s.as_ref()),
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

impl Engine {
    /// Starts a builder.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// What the engine was built from.
    pub fn info(&self) -> &EngineInfo {
        &self.inner.info
    }

    /// This engine, with calls that stop when `cancel` is set (from any
    /// thread): a service gives up on a request and the work ends, rather
    /// than running on after its answer. Cheap: the engine is shared.
    ///
    /// ```
    /// # let engine = nesy::Engine::builder().rules_text("r.nesy", "p(1).").build()?;
    /// let cancel = nesy::engine::Cancel::new();
    /// let handle = engine.with_cancel(cancel.clone());
    /// cancel.cancel();
    /// assert!(handle.query("p(X)", &nesy::Input::new()).is_err());
    /// assert!(engine.query("p(X)", &nesy::Input::new()).is_ok());
    /// # Ok::<(), nesy::Error>(())
    /// ```
    pub fn with_cancel(&self, cancel: Cancel) -> Engine {
        Engine {
            inner: Arc::clone(&self.inner),
            cancel: Some(cancel),
        }
    }

    /// The limits of a call: the engine's, with this handle's cancel flag.
    fn limits(&self) -> Limits {
        Limits {
            cancel: self.cancel.clone(),
            ..self.inner.limits.clone()
        }
    }

    /// The input as facts, checked against the program.
    pub fn facts(&self, input: &Input) -> Result<Vec<(String, Vec<Value>)>, Error> {
        let mut out = Vec::new();
        for (relation, rows) in &input.0 {
            let decl = self.inner.decls.get(relation);
            let Some(&arity) = self.inner.info.relations.get(relation) else {
                return Err(Error::Request(format!(
                    "unknown relation `{relation}` (the program has {})",
                    self.inner
                        .info
                        .relations
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            if !self.inner.program.engine().accepts_input(relation) {
                return Err(Error::Request(
                    match self.inner.program.engine().input_relations() {
                        Some(inputs) => format!(
                            "`{relation}` is not an input relation: requests may add facts to {} (the program's @input)",
                            inputs.join(", ")
                        ),
                        None => format!(
                            "`{relation}` is derived by rules: a request may add facts only to relations no rule derives (or to those the program marks `@input`)"
                        ),
                    },
                ));
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

    /// The program with the input's facts added (for explanations and
    /// probabilities, which evaluate it whole).
    fn with_input(&self, facts: &[(String, Vec<Value>)]) -> Result<Program, Error> {
        let mut program = self.inner.program.clone();
        for (r, values) in facts {
            program.add_fact(r, values.clone())?;
        }
        Ok(program)
    }

    /// The tuples of relation `decision` that hold with `input`, each with
    /// its probability and, if `explain`, its proof; when none holds and
    /// `explain`, why not.
    pub fn decide(&self, decision: &str, input: &Input, explain: bool) -> Result<Decision, Error> {
        let explained = if explain {
            Explained::All
        } else {
            Explained::None
        };
        self.decide_explained(decision, input, explained)
    }

    /// [`Engine::decide`] without explanations, its `rules_used` read from
    /// the proofs of the first `max_results` results (or of why nothing
    /// holds): what a decision log names, at a bounded cost whatever the
    /// number of results. A proof search past the limits leaves the rules
    /// it had found; the decision stands.
    pub fn decide_naming_rules(
        &self,
        decision: &str,
        input: &Input,
        max_results: usize,
    ) -> Result<Decision, Error> {
        self.decide_explained(decision, input, Explained::RulesOf(max_results))
    }

    fn decide_explained(
        &self,
        decision: &str,
        input: &Input,
        explained: Explained,
    ) -> Result<Decision, Error> {
        let Some(&arity) = self.inner.info.relations.get(decision) else {
            return Err(Error::Request(format!(
                "unknown decision relation `{decision}`"
            )));
        };
        let facts = self.facts(input)?;
        let limits = self.limits();
        let start = Instant::now();
        let unknown = || Error::Request(format!("unknown decision relation `{decision}`"));
        // Under a semiring the results are the tuples that hold with a
        // non-zero probability (as `nesy run --semiring` lists them): the
        // tagged evaluation alone answers.
        let (rows, probabilities): (Vec<Vec<Value>>, Vec<f64>) =
            if self.inner.semiring == SemiringKind::Bool {
                let evaluation = self.inner.prepared.evaluate_with(&facts, &limits)?;
                let rows = evaluation.relation(decision).ok_or_else(unknown)?.to_vecs();
                let ones = vec![1.0; rows.len()];
                (rows, ones)
            } else {
                let tagged = self.inner.prepared.evaluate_tagged_with(&facts, &limits)?;
                tagged
                    .relation(decision)
                    .ok_or_else(unknown)?
                    .rows
                    .into_iter()
                    .map(|r| (r.tuple, r.probability))
                    .unzip()
            };
        let eval_us = start.elapsed().as_micros() as u64;
        let mut results: Vec<DecisionResult> = rows
            .iter()
            .zip(&probabilities)
            .map(|(row, &p)| DecisionResult {
                args: row.iter().map(json_of).collect(),
                probability: p,
                explanation: None,
            })
            .collect();
        let mut why_not = None;
        let mut rules_used = Vec::new();
        let (shown, keep) = match explained {
            Explained::None => (0, false),
            Explained::All => (rows.len(), true),
            Explained::RulesOf(n) => (n.min(rows.len()), false),
        };
        if explained != Explained::None {
            let program = self.with_input(&facts)?;
            // Goals are made of the typed values, never of text: a value
            // such as `Ann Lee`, `not` or `x, y` names itself.
            let mut goals: Vec<(String, Vec<Option<Value>>)> = rows
                .iter()
                .take(shown)
                .map(|row| {
                    (
                        decision.to_string(),
                        row.iter().cloned().map(Some).collect(),
                    )
                })
                .collect();
            if rows.is_empty() {
                goals.push((decision.to_string(), vec![None; arity]));
            }
            let proofs = match program.explain_atoms(&goals, &ExplainOptions::default(), &limits) {
                Ok(p) => p,
                Err(_) if !keep => Vec::new(),
                Err(e) => return Err(e),
            };
            let mut proofs = proofs.into_iter();
            for result in results.iter_mut().take(shown) {
                let first = proofs.next().and_then(|e| e.into_iter().next());
                if let Some(x) = first {
                    collect_rules(&x, &mut rules_used);
                    result.explanation = keep.then_some(x);
                }
            }
            if rows.is_empty() {
                let none = proofs.next().and_then(|e| e.into_iter().next());
                if let Some(w) = &none {
                    collect_rules(w, &mut rules_used);
                }
                why_not = none.filter(|_| keep);
            }
            rules_used.sort();
            rules_used.dedup();
        }
        Ok(Decision {
            decision: decision.to_string(),
            holds: !results.is_empty(),
            results,
            why_not,
            rules_used,
            eval_us,
        })
    }

    /// Answers a goal such as `approve(X)` with the input's facts.
    pub fn query(&self, goal: &str, input: &Input) -> Result<Answers, Error> {
        let facts = self.facts(input)?;
        let program = self.with_input(&facts)?;
        let limits = self.limits();
        if self.inner.semiring == SemiringKind::Bool {
            program.query(goal, &limits)
        } else {
            program.query_tagged(goal, self.inner.semiring, &limits)
        }
    }

    /// Why a fact holds with the input's facts, or why not.
    pub fn explain(&self, fact: &str, input: &Input) -> Result<Vec<Explanation>, Error> {
        let facts = self.facts(input)?;
        self.with_input(&facts)?
            .explain(fact, &ExplainOptions::default(), &self.limits())
    }

    /// The base program (for SPARQL over its knowledge, statistics, ...).
    pub fn program(&self) -> &Program {
        &self.inner.program
    }
}

/// How much of a decision is explained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Explained {
    None,
    /// Every result, and why not when none holds.
    All,
    /// Only the rules of the first n results' proofs.
    RulesOf(usize),
}

/// The rules a proof uses (an explicit stack: proofs can be deep).
fn collect_rules(e: &Explanation, out: &mut Vec<String>) {
    let mut stack = vec![e];
    while let Some(node) = stack.pop() {
        if let Some(r) = &node.rule {
            out.push(r.name.clone().unwrap_or_else(|| r.location.clone()));
        }
        stack.extend(&node.premises);
    }
}
