//! The decision API: an [`Engine`] built once from rules, knowledge and
//! models, then asked for decisions, answers and explanations with
//! request-scoped input facts.
//!
//! ```
//! use nesy::{DecideOptions, Engine, Input, Value};
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
//! let decision = engine.decide("approve", &input, &DecideOptions::default())?;
//! assert!(decision.holds);
//! assert_eq!(decision.results[0].args, [Value::symbol("a1")]);
//!
//! // With the proof of each result.
//! let explained = engine.decide("approve", &input, &DecideOptions::explained())?;
//! println!("{}", explained.results[0].explanation.as_ref().unwrap());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The base program (rules, knowledge, models) is evaluated once when the
//! engine is built. A request's facts are added to a copy of nothing but
//! the relations that depend on them: those are derived again, everything
//! else is read from the base evaluation. The engine is immutable, `Send +
//! Sync`, and cheap to clone (an `Arc`).

mod builder;
mod input;

pub use builder::EngineBuilder;
pub use input::{Input, Row};

use crate::error::Error;
use crate::program::Program;
use input::Schema;
use nesy_engine::{
    Answers, Cancel, Evaluation, ExplainOptions, Explanation, Limits, Prepared, SemiringKind, Value,
};
use nesy_lang::ValueType;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

/// How a decision is made: with explanations or not, and, for this call,
/// another semiring or other limits than the engine's.
///
/// ```
/// use nesy::{DecideOptions, Semiring};
/// let options = DecideOptions {
///     semiring: Some(Semiring::MaxProb),
///     ..DecideOptions::explained()
/// };
/// assert!(options.explain);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecideOptions {
    /// Explain each result, and why nothing holds when nothing does.
    pub explain: bool,
    /// Without `explain`: name in `rules_used` the rules of the proofs of
    /// the first this many results (what a decision log records, at a
    /// bounded cost whatever the number of results; a search past the
    /// limits leaves the rules found so far). 0: none.
    pub rules_of: usize,
    /// The semiring of the probabilities, instead of the engine's (the
    /// program is then evaluated whole with the input: slower).
    pub semiring: Option<SemiringKind>,
    /// Limits for this call instead of the engine's.
    pub limits: Option<Limits>,
    /// Only the tuples the input adds: those that hold with it and not
    /// without it (a decision about the request, not the rule file's own
    /// tuples). A tuple that already held without the input is left out,
    /// and so is nothing the input takes away (a negated fact it adds).
    pub only_input: bool,
}

impl DecideOptions {
    /// Every result explained.
    pub fn explained() -> Self {
        DecideOptions {
            explain: true,
            ..DecideOptions::default()
        }
    }
}

/// One tuple of a decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecisionResult {
    /// The tuple's values (in JSON, numbers and booleans as themselves, the
    /// rest as strings).
    pub args: Vec<Value>,
    /// Its probability under the semiring (1 under `bool`).
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
    /// The type of each declared field, as written in `@decl` (`int`,
    /// `symbol`, ...), in field order.
    pub declared_types: BTreeMap<String, Vec<String>>,
    /// The semiring of probabilities, as `--semiring` takes it.
    pub semiring: String,
}

struct Inner {
    program: Program,
    prepared: Prepared,
    decls: HashMap<String, Vec<(String, Option<ValueType>)>>,
    limits: Limits,
    semiring: SemiringKind,
    info: EngineInfo,
    /// How many updates the base facts have had.
    version: u64,
    /// The dataflow kept up to date by updates, when the engine was built
    /// incremental; shared by the engines one update makes of another.
    #[cfg(feature = "dataflow")]
    live: Option<Arc<std::sync::Mutex<nesy_dataflow::Live>>>,
}

/// `facts` that `keep` keeps, distinct, grouped by relation.
fn by_relation(
    facts: &[(String, Vec<Value>)],
    keep: impl Fn(&str, &[Value]) -> bool,
) -> BTreeMap<&str, Vec<Vec<Value>>> {
    let mut seen: HashSet<(&str, &[Value])> = HashSet::new();
    let mut out: BTreeMap<&str, Vec<Vec<Value>>> = BTreeMap::new();
    for (relation, values) in facts {
        if keep(relation, values) && seen.insert((relation.as_str(), values.as_slice())) {
            out.entry(relation.as_str())
                .or_default()
                .push(values.clone());
        }
    }
    out
}

/// What [`Engine::update`] did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Update {
    /// The base facts' version after it (0 when the engine was built).
    pub version: u64,
    /// Facts that were not there and are now.
    pub inserted: usize,
    /// Facts that were there and are not.
    pub deleted: usize,
    /// Whether derived relations followed incrementally (the dataflow
    /// backend) rather than by evaluating the program again.
    pub incremental: bool,
    /// Microseconds the update took, the new base ready.
    pub eval_us: u64,
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

impl Engine {
    fn new(inner: Inner) -> Self {
        Engine {
            inner: Arc::new(inner),
            cancel: None,
        }
    }

    /// Starts a builder.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// What the engine was built from.
    pub fn info(&self) -> &EngineInfo {
        &self.inner.info
    }

    /// The rule sources the engine was built from, as `(name, text)`.
    pub fn sources(&self) -> Vec<(String, String)> {
        self.inner
            .program
            .sources()
            .iter()
            .map(|c| (c.source.name().to_string(), c.source.text().to_string()))
            .collect()
    }

    /// The base facts' version: 0 when built, one more per
    /// [`Engine::update`].
    pub fn version(&self) -> u64 {
        self.inner.version
    }

    /// Inserts and deletes base facts (of any relation: one that rules
    /// derive may have base facts too, such as triples under OWL rules) as
    /// one step: this handle answers from the new base afterwards, while
    /// clones taken before keep the old one (a request in flight sees one
    /// base or the other, never a mix). A fact both inserted and deleted
    /// is deleted. Nothing changes when a relation, an arity or a value
    /// is wrong. An engine built [`EngineBuilder::incremental`] updates its
    /// dataflow, re-deriving only what the changed facts reach; otherwise
    /// the program is evaluated again.
    ///
    /// ```
    /// use nesy::{Engine, Input, Value};
    /// let mut engine = Engine::builder()
    ///     .rules_text("r.nesy", "edge(1, 2). path(X, Y) :- edge(X, Y). path(X, Z) :- path(X, Y), edge(Y, Z).")
    ///     .build()?;
    /// let update = engine.update(
    ///     &Input::new().fact("edge", vec![Value::Int(2), Value::Int(3)]),
    ///     &Input::new(),
    /// )?;
    /// assert_eq!((update.version, update.inserted), (1, 1));
    /// assert!(engine.base().contains("path", &[Value::Int(1), Value::Int(3)]));
    /// # Ok::<(), nesy::Error>(())
    /// ```
    pub fn update(&mut self, insert: &Input, delete: &Input) -> Result<Update, Error> {
        let start = Instant::now();
        let schema = Schema {
            relations: &self.inner.info.relations,
            decls: &self.inner.decls,
            program: self.inner.program.engine(),
            base_facts: true,
        };
        let inserts = schema.facts(insert)?;
        let deletes = schema.facts(delete)?;
        let mut program = self.inner.program.clone();
        // One pass over each relation's rows, however large the update.
        let deleting: HashSet<(&str, &[Value])> = deletes
            .iter()
            .map(|(r, v)| (r.as_str(), v.as_slice()))
            .collect();
        let mut inserted = 0;
        for (relation, rows) in by_relation(&inserts, |r, v| !deleting.contains(&(r, v))) {
            let present = program.engine.remove_facts(relation, &rows)?;
            inserted += present.iter().filter(|was| !**was).count();
            for values in rows {
                program.engine.add_fact(relation, values)?;
            }
        }
        let mut deleted = 0;
        for (relation, rows) in by_relation(&deletes, |_, _| true) {
            let present = program.engine.remove_facts(relation, &rows)?;
            deleted += present.iter().filter(|was| **was).count();
        }
        let limits = self.limits(None);
        let (prepared, incremental) = self.rederive(&program, &inserts, &deletes, &limits)?;
        let prepared = prepared.with_semiring(self.inner.semiring, &limits)?;
        let version = self.inner.version + 1;
        self.inner = Arc::new(Inner {
            program,
            prepared,
            decls: self.inner.decls.clone(),
            limits: self.inner.limits.clone(),
            semiring: self.inner.semiring,
            info: self.inner.info.clone(),
            version,
            #[cfg(feature = "dataflow")]
            live: self.inner.live.clone(),
        });
        Ok(Update {
            version,
            inserted,
            deleted,
            incremental,
            eval_us: u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
        })
    }

    /// The new base: from the live dataflow when there is one, else by
    /// evaluating `program`.
    fn rederive(
        &self,
        program: &Program,
        inserts: &[(String, Vec<Value>)],
        deletes: &[(String, Vec<Value>)],
        limits: &Limits,
    ) -> Result<(Prepared, bool), Error> {
        #[cfg(feature = "dataflow")]
        if let Some(live) = &self.inner.live {
            let mut live = live
                .lock()
                .map_err(|_| Error::Request("an earlier update failed midway".to_string()))?;
            live.update(inserts, deletes)?;
            let base = live.evaluation(program.engine())?;
            return Ok((program.engine().prepare_from(base), true));
        }
        let _ = (inserts, deletes);
        Ok((program.engine().prepare(limits)?, false))
    }

    /// The base program's evaluation (every relation without any input).
    pub fn base(&self) -> &Evaluation {
        self.inner.prepared.base()
    }

    /// Writes the base evaluation's derived relations of two columns
    /// into the named graph `graph_iri` of `graph`, as
    /// [`Program::materialize`] does; returns how many triples were new.
    #[cfg(feature = "kg")]
    pub fn materialize(&self, graph: &crate::kg::Graph, graph_iri: &str) -> Result<usize, Error> {
        self.inner
            .program
            .materialize(self.base(), graph, graph_iri)
    }

    /// This engine, with calls that stop when `cancel` is set (from any
    /// thread): a service gives up on a request and the work ends, rather
    /// than running on after its answer. Cheap: the engine is shared.
    ///
    /// ```
    /// # let engine = nesy::Engine::builder().rules_text("r.nesy", "p(1).").build()?;
    /// let cancel = nesy::Cancel::new();
    /// let handle = engine.with_cancel(cancel.clone());
    /// cancel.cancel();
    /// assert!(handle.query("p(X)", &nesy::Input::new()).unwrap_err().is_limit());
    /// assert!(engine.query("p(X)", &nesy::Input::new()).is_ok());
    /// # Ok::<(), nesy::Error>(())
    /// ```
    pub fn with_cancel(&self, cancel: Cancel) -> Engine {
        Engine {
            inner: Arc::clone(&self.inner),
            cancel: Some(cancel),
        }
    }

    /// The limits of a call: the engine's (or those given), with this
    /// handle's cancel flag unless they have their own.
    fn limits(&self, given: Option<&Limits>) -> Limits {
        let limits = given.unwrap_or(&self.inner.limits).clone();
        Limits {
            cancel: limits.cancel.or_else(|| self.cancel.clone()),
            ..limits
        }
    }

    /// The input as facts, checked against the program.
    fn facts(&self, input: &Input) -> Result<Vec<(String, Vec<Value>)>, Error> {
        Schema {
            relations: &self.inner.info.relations,
            decls: &self.inner.decls,
            program: self.inner.program.engine(),
            base_facts: false,
        }
        .facts(input)
    }

    /// The program with the input's facts added (for explanations and
    /// other semirings, which evaluate it whole).
    fn with_input(&self, facts: &[(String, Vec<Value>)]) -> Result<Program, Error> {
        let mut program = self.inner.program.clone();
        for (r, values) in facts {
            program.add_fact(r, values.clone())?;
        }
        Ok(program)
    }

    /// The tuples of relation `decision` that hold with `input`, each with
    /// its probability and, as `options` ask, its proof (and why not, when
    /// none holds).
    pub fn decide(
        &self,
        decision: &str,
        input: &Input,
        options: &DecideOptions,
    ) -> Result<Decision, Error> {
        let Some(&arity) = self.inner.info.relations.get(decision) else {
            return Err(unknown_decision(decision));
        };
        let facts = self.facts(input)?;
        let limits = self.limits(options.limits.as_ref());
        let semiring = options.semiring.unwrap_or(self.inner.semiring);
        let start = Instant::now();
        // A decision to explain keeps its evaluation: the proofs are
        // searched in it.
        let mut answered = None;
        let (rows, probabilities) =
            if semiring == SemiringKind::Bool && (options.explain || options.rules_of > 0) {
                let mut a = self
                    .inner
                    .prepared
                    .answer_with(decision, &facts, &limits)?
                    .ok_or_else(|| unknown_decision(decision))?;
                let rows = std::mem::take(&mut a.rows);
                answered = Some(a);
                let ones = vec![1.0; rows.len()];
                (rows, ones)
            } else {
                self.tuples(decision, &facts, semiring, &limits)?
            };
        let eval_us = start.elapsed().as_micros() as u64;
        let mut results: Vec<DecisionResult> = rows
            .into_iter()
            .zip(probabilities)
            .map(|(args, probability)| DecisionResult {
                args,
                probability,
                explanation: None,
            })
            .collect();
        if options.only_input {
            let base = self.base();
            results.retain(|r| !base.contains(decision, &r.args));
        }
        let found = results.len();
        let mut why_not = None;
        let mut rules_used = Vec::new();
        let shown = if options.explain {
            found
        } else {
            options.rules_of.min(found)
        };
        // Goals are made of the typed values, never of text: a value such
        // as `Ann Lee`, `not` or `x, y` names itself.
        let mut goals: Vec<(String, Vec<Option<Value>>)> = results
            .iter()
            .take(shown)
            .map(|result| {
                (
                    decision.to_string(),
                    result.args.iter().cloned().map(Some).collect(),
                )
            })
            .collect();
        if options.explain {
            if found == 0 {
                goals.push((decision.to_string(), vec![None; arity]));
            }
            // Proofs are searched in the request's own evaluation.
            let prepared = &self.inner.prepared;
            let options = ExplainOptions::default();
            let proofs = match &mut answered {
                Some(a) => prepared.explain_answered(a, &goals, &options, &limits)?,
                None => prepared.explain_atoms_with(&facts, &goals, &options, &limits)?,
            };
            // Under a semiring, what it computed: the proofs it kept (the
            // plain proofs still name the rules used).
            let mut shown_trees = if semiring != SemiringKind::Bool {
                let goals = goals.get(..found).unwrap_or_default();
                self.with_input(&facts)?
                    .explain_atoms_under(goals, &ExplainOptions::default(), semiring, &limits)?
                    .into_iter()
            } else {
                Vec::new().into_iter()
            };
            let mut proofs = proofs.into_iter();
            for result in &mut results {
                let first = proofs.next().and_then(|e| e.into_iter().next());
                if let Some(x) = &first {
                    collect_rules(x, &mut rules_used);
                }
                let tagged = shown_trees.next().and_then(|e| e.into_iter().next());
                result.explanation = tagged.or(first);
            }
            if found == 0 {
                why_not = proofs.next().and_then(|e| e.into_iter().next());
            }
        } else if !goals.is_empty() {
            // The log's rules: proofs searched, no explanations built (a
            // search past the limits names none).
            let prepared = &self.inner.prepared;
            let found = match &mut answered {
                Some(a) => prepared.rules_used_answered(a, &goals, &limits),
                None => prepared.rules_used_with(&facts, &goals, &limits),
            }
            .unwrap_or_default();
            for rule in found.iter().flatten() {
                rules_used.push(rule_name(rule));
            }
        }
        rules_used.sort();
        rules_used.dedup();
        Ok(Decision {
            decision: decision.to_string(),
            holds: !results.is_empty(),
            results,
            why_not,
            rules_used,
            eval_us,
        })
    }

    /// The tuples of `decision` with the input's facts, with their
    /// probabilities under `semiring` (the tuples of non-zero probability,
    /// as `nesy run --semiring` lists them).
    fn tuples(
        &self,
        decision: &str,
        facts: &[(String, Vec<Value>)],
        semiring: SemiringKind,
        limits: &Limits,
    ) -> Result<(Vec<Vec<Value>>, Vec<f64>), Error> {
        let unknown = || unknown_decision(decision);
        let tagged = if semiring == SemiringKind::Bool {
            let rows = self
                .inner
                .prepared
                .relation_with(decision, facts, limits)?
                .ok_or_else(unknown)?;
            let ones = vec![1.0; rows.len()];
            return Ok((rows, ones));
        } else if semiring == self.inner.semiring {
            // The base was tagged under this semiring once: a request
            // re-tags only what depends on its input and the decision reads.
            return Ok(self
                .inner
                .prepared
                .relation_tagged_with(decision, facts, limits)?
                .ok_or_else(unknown)?
                .rows
                .into_iter()
                .map(|r| (r.tuple, r.probability))
                .unzip());
        } else {
            self.with_input(facts)?.evaluate_tagged(semiring, limits)?.0
        };
        Ok(tagged
            .relation(decision)
            .ok_or_else(unknown)?
            .rows
            .into_iter()
            .map(|r| (r.tuple, r.probability))
            .unzip())
    }

    /// Answers a goal such as `approve(X)` with the input's facts.
    pub fn query(&self, goal: &str, input: &Input) -> Result<Answers, Error> {
        let facts = self.facts(input)?;
        let program = self.with_input(&facts)?;
        let limits = self.limits(None);
        if self.inner.semiring == SemiringKind::Bool {
            program.query(goal, &limits)
        } else {
            program.query_tagged(goal, self.inner.semiring, &limits)
        }
    }

    /// Why a fact holds with the input's facts, or why not.
    pub fn explain(&self, fact: &str, input: &Input) -> Result<Vec<Explanation>, Error> {
        let facts = self.facts(input)?;
        let limits = self.limits(None);
        let options = ExplainOptions::default();
        let goal = self.inner.program.goal_atom(fact)?;
        // Under `bool`, from the request's own evaluation of what the
        // goal's relation reads.
        if self.inner.semiring == SemiringKind::Bool
            && let Some(goal) = goal
        {
            let prepared = &self.inner.prepared;
            if let Some(mut answered) = prepared.answer_with(&goal.relation, &facts, &limits)? {
                return Ok(prepared.explain_goal_answered(
                    &mut answered,
                    &goal,
                    &options,
                    &limits,
                )?);
            }
        }
        self.with_input(&facts)?.explain(fact, &options, &limits)
    }
}

/// The error for a decision relation the program does not have.
fn unknown_decision(decision: &str) -> Error {
    Error::Request(format!("unknown decision relation `{decision}`"))
}

/// A rule as the decision log names it: its `@name`, or where it is.
fn rule_name(rule: &crate::explanation::RuleRef) -> String {
    rule.name
        .clone()
        .unwrap_or_else(|| rule.location.to_string())
}

/// The rules a proof uses (an explicit stack: proofs can be deep).
fn collect_rules(e: &Explanation, out: &mut Vec<String>) {
    let mut stack = vec![e];
    while let Some(node) = stack.pop() {
        if let Some(r) = &node.rule {
            out.push(rule_name(r));
        }
        stack.extend(&node.premises);
    }
}
