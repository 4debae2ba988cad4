//! Tags: evaluation under a provenance semiring.
//!
//! ```
//! use nesy_engine::{Limits, Program, SemiringKind, Value};
//! use nesy_lang::check_source;
//!
//! let checked = check_source("p.nesy", "
//!     0.9 :: edge(a, b). 0.8 :: edge(b, c). 0.5 :: edge(a, c).
//!     path(X, Y) :- edge(X, Y).
//!     path(X, Z) :- edge(X, Y), path(Y, Z).
//! ");
//! let mut program = Program::new();
//! program.add_source(&checked.source, &checked.program)?;
//! let exact = program.evaluate_tagged(SemiringKind::TopK(20), &Limits::default())?;
//! let p = exact.probability("path", &[Value::symbol("a"), Value::symbol("c")]).unwrap();
//! assert!((p - (1.0 - (1.0 - 0.72) * (1.0 - 0.5))).abs() < 1e-12); // ProbLog: 0.86
//! let best = program.evaluate_tagged(SemiringKind::MaxProb, &Limits::default())?;
//! assert!((best.probability("path", &[Value::symbol("a"), Value::symbol("c")]).unwrap() - 0.72).abs() < 1e-12);
//! # Ok::<(), nesy_engine::Error>(())
//! ```
//!
//! The plain (boolean) case is the engine itself and pays nothing for this.
//! Other semirings work on the program's *relevant ground program*, as
//! ProbLog does: the engine first derives every tuple that can hold in some
//! world (negations are ignored for that, so the set covers every world),
//! then each rule is grounded over those tuples, and the tags are computed
//! over the ground rules, stratum by stratum, to a fixpoint.
//!
//! Semantics: each `p :: fact.` is an independent event; each ground
//! instance of a `p :: rule.` (a binding of all its variables) is an
//! independent event, as in ProbLog. `not a` gets `1 - P(a)` under
//! `max-prob` and `add-mult`; under `top-k` and `why` it is the negation of
//! `a`'s proofs (proofs are sets of events that happen and events that do
//! not), so probabilities stay exact. Aggregates are computed over every
//! tuple that can hold, and their results count as certain.

use crate::Error;
use crate::eval::{self, Limits};
use crate::explain::atom_text;
use crate::ir::{Arg, Expr, Lit, RelId, Rule, ground_args, name_wildcards};
use crate::program::Program;
use crate::result::Evaluation;
use crate::value::Value;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::str::FromStr;

/// Which semiring tags the answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SemiringKind {
    /// Plain Datalog: a tuple holds or not.
    Bool,
    /// The probability of the most likely proof (Viterbi).
    MaxProb,
    /// Sum over proofs of the product of their probabilities, clamped to
    /// [0, 1]: fast, exact only for disjoint proofs.
    AddMult,
    /// The k most likely proofs, whose exact probability (weighted model
    /// counting over their DNF) is the tuple's; exact ProbLog probabilities
    /// when k covers every proof.
    TopK(usize),
    /// Every minimal proof (sets of base facts), for explanations; the
    /// probability is computed exactly from them.
    Why,
}

impl FromStr for SemiringKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "bool" => SemiringKind::Bool,
            "max-prob" => SemiringKind::MaxProb,
            "add-mult" => SemiringKind::AddMult,
            "top-k" => SemiringKind::TopK(DEFAULT_K),
            "why" => SemiringKind::Why,
            other => {
                return Err(format!(
                    "unknown semiring `{other}`: use bool, max-prob, add-mult, top-k or why"
                ));
            }
        })
    }
}

/// `k` of `top-k` when none is given.
pub const DEFAULT_K: usize = 10;

/// Most proofs `why` keeps per tuple (it is meant for explanations).
const WHY_LIMIT: usize = 1000;

/// Rounds of a stratum's fixpoint before giving up on convergence (only
/// `add-mult` on cycles can need many).
const MAX_ROUNDS: usize = 10_000;

/// A proof: the base events it uses, sorted.
type Proof = Vec<u32>;

/// The semiring operations, monomorphized per semiring.
trait Semiring {
    type Tag: Clone + PartialEq;
    fn zero(&self) -> Self::Tag;
    fn one(&self) -> Self::Tag;
    fn event(&self, id: u32, p: f64) -> Self::Tag;
    fn add(&self, a: &Self::Tag, b: &Self::Tag, events: &[f64]) -> Self::Tag;
    fn mul(&self, a: &Self::Tag, b: &Self::Tag, events: &[f64]) -> Self::Tag;
    fn negate(&self, a: &Self::Tag, events: &mut Vec<f64>) -> Self::Tag;
    fn probability(&self, a: &Self::Tag, events: &[f64]) -> f64;
    fn converged(&self, old: &Self::Tag, new: &Self::Tag) -> bool {
        old == new
    }
}

/// Holds or not: the same ground program, for a uniform API (plain
/// evaluation itself is `Program::evaluate`, which needs no grounding).
struct Plain;
impl Semiring for Plain {
    type Tag = bool;
    fn zero(&self) -> bool {
        false
    }
    fn one(&self) -> bool {
        true
    }
    fn event(&self, _: u32, _: f64) -> bool {
        true
    }
    fn add(&self, a: &bool, b: &bool, _: &[f64]) -> bool {
        *a || *b
    }
    fn mul(&self, a: &bool, b: &bool, _: &[f64]) -> bool {
        *a && *b
    }
    fn negate(&self, a: &bool, _: &mut Vec<f64>) -> bool {
        !a
    }
    fn probability(&self, a: &bool, _: &[f64]) -> f64 {
        if *a { 1.0 } else { 0.0 }
    }
}

struct MaxProb;
impl Semiring for MaxProb {
    type Tag = f64;
    fn zero(&self) -> f64 {
        0.0
    }
    fn one(&self) -> f64 {
        1.0
    }
    fn event(&self, _: u32, p: f64) -> f64 {
        p
    }
    fn add(&self, a: &f64, b: &f64, _: &[f64]) -> f64 {
        a.max(*b)
    }
    fn mul(&self, a: &f64, b: &f64, _: &[f64]) -> f64 {
        a * b
    }
    fn negate(&self, a: &f64, _: &mut Vec<f64>) -> f64 {
        1.0 - a
    }
    fn probability(&self, a: &f64, _: &[f64]) -> f64 {
        *a
    }
}

struct AddMult;
impl Semiring for AddMult {
    type Tag = f64;
    fn zero(&self) -> f64 {
        0.0
    }
    fn one(&self) -> f64 {
        1.0
    }
    fn event(&self, _: u32, p: f64) -> f64 {
        p
    }
    fn add(&self, a: &f64, b: &f64, _: &[f64]) -> f64 {
        (a + b).min(1.0)
    }
    fn mul(&self, a: &f64, b: &f64, _: &[f64]) -> f64 {
        a * b
    }
    fn negate(&self, a: &f64, _: &mut Vec<f64>) -> f64 {
        1.0 - a
    }
    fn probability(&self, a: &f64, _: &[f64]) -> f64 {
        *a
    }
    fn converged(&self, old: &f64, new: &f64) -> bool {
        (old - new).abs() < 1e-13
    }
}

/// Proof sets, the `k` most likely kept (`why`: up to [`WHY_LIMIT`]).
///
/// A proof is a sorted set of *literals*: event `e` as `2e` (it happens) or
/// `2e + 1` (it does not, from a negation). A proof with both is
/// contradictory and dropped, so negation stays exact: `not b` is the
/// negation of `b`'s proofs, put back into disjunctive form.
struct Proofs {
    k: usize,
}

fn literal_probability(literal: u32, events: &[f64]) -> f64 {
    let p = events.get((literal >> 1) as usize).copied().unwrap_or(1.0);
    if literal & 1 == 0 { p } else { 1.0 - p }
}

fn proof_probability(proof: &Proof, events: &[f64]) -> f64 {
    proof
        .iter()
        .map(|&l| literal_probability(l, events))
        .product()
}

/// Whether a sorted proof holds an event and its negation.
fn contradictory(proof: &[u32]) -> bool {
    proof
        .windows(2)
        .any(|w| matches!(w, [a, b] if a >> 1 == b >> 1))
}

impl Proofs {
    /// Keeps consistent, minimal proofs (a superset of another proof adds
    /// nothing), the most likely first, at most `k`.
    fn normalize(&self, mut proofs: Vec<Proof>, events: &[f64]) -> Vec<Proof> {
        proofs.retain(|p| !contradictory(p));
        proofs.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        proofs.dedup();
        let mut minimal: Vec<Proof> = Vec::new();
        for p in proofs {
            if !minimal.iter().any(|m| is_subset(m, &p)) {
                minimal.push(p);
            }
        }
        minimal.sort_by(|a, b| {
            proof_probability(b, events)
                .total_cmp(&proof_probability(a, events))
                .then_with(|| a.cmp(b))
        });
        minimal.truncate(self.k);
        minimal
    }
}

fn is_subset(small: &[u32], big: &[u32]) -> bool {
    let mut it = big.iter();
    small.iter().all(|x| it.any(|y| y == x))
}

impl Semiring for Proofs {
    type Tag = Vec<Proof>;
    fn zero(&self) -> Vec<Proof> {
        Vec::new()
    }
    fn one(&self) -> Vec<Proof> {
        vec![Vec::new()]
    }
    fn event(&self, id: u32, _: f64) -> Vec<Proof> {
        vec![vec![id << 1]]
    }
    fn add(&self, a: &Vec<Proof>, b: &Vec<Proof>, events: &[f64]) -> Vec<Proof> {
        let mut all = a.clone();
        all.extend(b.iter().cloned());
        self.normalize(all, events)
    }
    fn mul(&self, a: &Vec<Proof>, b: &Vec<Proof>, events: &[f64]) -> Vec<Proof> {
        let mut all = Vec::with_capacity(a.len() * b.len());
        for x in a {
            for y in b {
                let mut p: Proof = x.iter().chain(y).copied().collect();
                p.sort_unstable();
                p.dedup();
                all.push(p);
            }
        }
        self.normalize(all, events)
    }
    /// not (p1 or p2 or ...) = (not p1) and (not p2) and ..., each
    /// `not pi` the disjunction of its negated literals.
    fn negate(&self, a: &Vec<Proof>, events: &mut Vec<f64>) -> Vec<Proof> {
        let mut result = self.one();
        for proof in a {
            let clause: Vec<Proof> = proof.iter().map(|&l| vec![l ^ 1]).collect();
            result = self.mul(&result, &clause, events);
            if result.is_empty() {
                break;
            }
        }
        result
    }
    fn probability(&self, a: &Vec<Proof>, events: &[f64]) -> f64 {
        dnf_probability(a, events)
    }
}

/// The probability that at least one proof holds, events independent:
/// Shannon expansion on the most frequent event, memoized.
pub(crate) fn dnf_probability(proofs: &[Proof], events: &[f64]) -> f64 {
    let mut memo: FxHashMap<Vec<Proof>, f64> = FxHashMap::default();
    wmc(proofs.to_vec(), events, &mut memo)
}

fn wmc(mut proofs: Vec<Proof>, events: &[f64], memo: &mut FxHashMap<Vec<Proof>, f64>) -> f64 {
    if proofs.iter().any(Vec::is_empty) {
        return 1.0;
    }
    if proofs.is_empty() {
        return 0.0;
    }
    if proofs.len() == 1 {
        return proofs.first().map_or(0.0, |p| proof_probability(p, events));
    }
    proofs.sort();
    proofs.dedup();
    if let Some(&p) = memo.get(&proofs) {
        return p;
    }
    let mut counts: FxHashMap<u32, usize> = FxHashMap::default();
    for p in &proofs {
        for &l in p {
            *counts.entry(l >> 1).or_default() += 1;
        }
    }
    let Some((&pivot, _)) = counts
        .iter()
        .max_by_key(|(e, c)| (**c, std::cmp::Reverse(**e)))
    else {
        return 0.0;
    };
    let pe = events.get(pivot as usize).copied().unwrap_or(1.0);
    let (yes, no) = (pivot << 1, (pivot << 1) | 1);
    // The event happens: its positive literal is satisfied (dropped), proofs
    // needing it not to happen fail. And the other way round.
    let branch = |holds: u32, fails: u32| -> Vec<Proof> {
        proofs
            .iter()
            .filter(|p| !p.contains(&fails))
            .map(|p| p.iter().copied().filter(|&l| l != holds).collect())
            .collect()
    };
    let with = branch(yes, no);
    let without = branch(no, yes);
    let result = pe * wmc(with, events, memo) + (1.0 - pe) * wmc(without, events, memo);
    memo.insert(proofs, result);
    result
}

/// Tuples with their probabilities under a semiring.
pub struct TaggedEvaluation {
    /// Every tuple that can hold (the support), as plain relations.
    pub support: Evaluation,
    probabilities: FxHashMap<(RelId, Vec<u32>), f64>,
    /// Proofs per tuple, as sets of base facts (for `top-k` and `why`).
    proofs: FxHashMap<(RelId, Vec<u32>), Vec<Proof>>,
    /// What each event is: a base fact, a rule instance, or a negation.
    pub(crate) event_names: Vec<String>,
    /// Each event's probability.
    events: Vec<f64>,
    semiring: SemiringKind,
}

/// A relation's tuples with their probabilities.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaggedRelation {
    /// The name as written.
    pub name: String,
    /// Number of columns.
    pub arity: usize,
    /// Tuples of non-zero probability, sorted by value.
    pub rows: Vec<TaggedRow>,
}

/// One tuple and its probability.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaggedRow {
    /// The values.
    pub tuple: Vec<Value>,
    /// How likely it holds, under the semiring.
    pub probability: f64,
}

impl TaggedEvaluation {
    /// A relation's tuples with their probabilities.
    pub fn relation(&self, name: &str) -> Option<TaggedRelation> {
        let relation = self.support.relation(name)?;
        let rel = self.support.relation_id(name)?;
        let mut rows = Vec::new();
        for row in relation.rows() {
            let ids: Option<Vec<u32>> = row.iter().map(|v| self.support.interner.get(v)).collect();
            let p = ids
                .and_then(|ids| self.probabilities.get(&(rel, ids)).copied())
                .unwrap_or(0.0);
            if p > 0.0 {
                rows.push(TaggedRow {
                    tuple: row.to_vec(),
                    probability: p,
                });
            }
        }
        Some(TaggedRelation {
            name: relation.name,
            arity: relation.arity,
            rows,
        })
    }

    /// The probability of one tuple (0 when it cannot hold).
    pub fn probability(&self, relation: &str, tuple: &[Value]) -> Option<f64> {
        let rel = self.support.relation_id(relation)?;
        let ids: Option<Vec<u32>> = tuple.iter().map(|v| self.support.interner.get(v)).collect();
        Some(
            ids.and_then(|ids| self.probabilities.get(&(rel, ids)).copied())
                .unwrap_or(0.0),
        )
    }

    /// The proofs kept for a tuple (`top-k`, `why`), each a list of the
    /// base facts, rule instances and negations it uses.
    pub fn proofs(&self, relation: &str, tuple: &[Value]) -> Vec<Vec<String>> {
        let Some(rel) = self.support.relation_id(relation) else {
            return Vec::new();
        };
        let Some(ids) = tuple
            .iter()
            .map(|v| self.support.interner.get(v))
            .collect::<Option<Vec<u32>>>()
        else {
            return Vec::new();
        };
        self.proofs
            .get(&(rel, ids))
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        p.iter()
                            .filter_map(|&l| {
                                let name = self.event_names.get((l >> 1) as usize)?;
                                Some(if l & 1 == 1 {
                                    format!("not {name}")
                                } else {
                                    name.clone()
                                })
                            })
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The probability of the most likely proof kept for a tuple
    /// (`top-k`, `why`).
    pub fn best_proof_probability(&self, relation: &str, tuple: &[Value]) -> Option<f64> {
        let rel = self.support.relation_id(relation)?;
        let ids: Vec<u32> = tuple
            .iter()
            .map(|v| self.support.interner.get(v))
            .collect::<Option<_>>()?;
        self.proofs
            .get(&(rel, ids))?
            .iter()
            .map(|p| proof_probability(p, &self.events))
            .max_by(f64::total_cmp)
    }

    /// The semiring used.
    pub fn semiring(&self) -> SemiringKind {
        self.semiring
    }
}

/// One ground rule: head tuple, weight event, premises.
struct Instance {
    head: (RelId, Vec<u32>),
    weight: Option<u32>,
    /// Model answers the instance relies on: one event each.
    calls: Vec<u32>,
    positive: Vec<(RelId, Vec<u32>)>,
    /// Each negated literal: the tuples of the support it could match.
    negative: Vec<Vec<(RelId, Vec<u32>)>>,
}

impl Program {
    /// Evaluates under a semiring: every tuple that holds gets a
    /// probability. `SemiringKind::Bool` gives probability 1 to every
    /// tuple of a plain evaluation.
    pub fn evaluate_tagged(
        &self,
        semiring: SemiringKind,
        limits: &Limits,
    ) -> Result<TaggedEvaluation, Error> {
        // The support: everything that holds in some world. Negations are
        // dropped for it (they only remove tuples), then judged by tag.
        let mut support_program = self.clone();
        for rule in &mut support_program.rules {
            rule.body.retain(|l| !matches!(l, Lit::Neg { .. }));
        }
        let mut support = support_program.evaluate(limits)?;
        let mut events = Vec::new();
        let mut event_names = Vec::new();
        let instances = self.ground(&mut support, &mut events, &mut event_names, limits)?;
        let out = match semiring {
            SemiringKind::MaxProb => {
                self.fixpoint(&MaxProb, &support, &instances, events, event_names)
            }
            SemiringKind::AddMult => {
                self.fixpoint(&AddMult, &support, &instances, events, event_names)
            }
            SemiringKind::TopK(k) => self.fixpoint(
                &Proofs { k: k.max(1) },
                &support,
                &instances,
                events,
                event_names,
            ),
            SemiringKind::Why => self.fixpoint(
                &Proofs { k: WHY_LIMIT },
                &support,
                &instances,
                events,
                event_names,
            ),
            SemiringKind::Bool => self.fixpoint(&Plain, &support, &instances, events, event_names),
        };
        let (probabilities, proofs, event_names, events) = out;
        Ok(TaggedEvaluation {
            support,
            probabilities,
            proofs,
            event_names,
            events,
            semiring,
        })
    }

    /// Every ground instance of every rule over the support.
    fn ground(
        &self,
        support: &mut Evaluation,
        events: &mut Vec<f64>,
        names: &mut Vec<String>,
        limits: &Limits,
    ) -> Result<Vec<Instance>, Error> {
        // Base facts first: one event per probabilistic occurrence.
        let mut instances = Vec::new();
        for (rel, row, p) in &self.probabilistic_facts {
            let Some(values) = row
                .iter()
                .map(|&id| Some(self.interner.value(id).clone()))
                .collect::<Option<Vec<Value>>>()
            else {
                continue;
            };
            let Some(ids) = values
                .iter()
                .map(|v| support.interner.get(v))
                .collect::<Option<Vec<u32>>>()
            else {
                continue;
            };
            events.push(*p);
            names.push(self.fact_text(*rel, &values));
            instances.push(Instance {
                head: (*rel, ids),
                weight: Some((events.len() - 1) as u32),
                calls: Vec::new(),
                positive: Vec::new(),
                negative: Vec::new(),
            });
        }
        // One event per distinct model answer, however many rules use it.
        type CallKey = (String, String, Vec<u32>, Vec<u32>);
        let mut call_events: FxHashMap<CallKey, u32> = FxHashMap::default();
        for (index, rule) in self.rules.iter().enumerate() {
            let weight = self.rule_weights.get(index).copied().flatten();
            // Wildcards of positive atoms become variables, so that each
            // premise is a complete tuple.
            let mut var_names = rule.var_names.clone();
            let mut body = Vec::new();
            let mut negations = Vec::new();
            for lit in &rule.body {
                match lit {
                    Lit::Atom { rel, args } => {
                        let args = name_wildcards(args, &mut var_names);
                        body.push(Lit::Atom { rel: *rel, args });
                    }
                    Lit::Neg { rel, args } => negations.push((*rel, args.clone())),
                    other => body.push(other.clone()),
                }
            }
            let mut outer: Vec<usize> = body.iter().flat_map(Lit::outer_vars).collect();
            for (_, args) in &negations {
                outer.extend(args.iter().filter_map(|a| match a {
                    Arg::Var(v) => Some(*v),
                    _ => None,
                }));
            }
            outer.sort_unstable();
            outer.dedup();
            let mut head_args: Vec<Expr> = outer.iter().map(|&v| Expr::Var(v)).collect();
            head_args.extend(rule.head_args.iter().cloned());
            let grounding = Rule {
                head: rule.head,
                head_args,
                body: body.clone(),
                var_names,
                name: rule.name.clone(),
                location: rule.location.clone(),
            };
            let rows = eval::answer(&mut support.stores, &support.interner, &grounding, limits)?;
            for row in rows {
                let ids: Option<Vec<u32>> = row.iter().map(|v| support.interner.get(v)).collect();
                let value_of = |v: usize| {
                    outer
                        .iter()
                        .position(|&o| o == v)
                        .and_then(|i| ids.as_ref().and_then(|ids| ids.get(i).copied()))
                };
                let head: Option<Vec<u32>> = row
                    .get(outer.len()..)
                    .unwrap_or_default()
                    .iter()
                    .map(|v| support.interner.get(v))
                    .collect();
                let Some(head) = head else { continue };
                let mut positive = Vec::new();
                for lit in &body {
                    if let Lit::Atom { rel, args } = lit {
                        let tuple: Option<Vec<u32>> = ground_args(args, &value_of);
                        if let Some(t) = tuple {
                            positive.push((*rel, t));
                        }
                    }
                }
                let mut calls = Vec::new();
                for lit in &body {
                    if let Lit::Call(call) = lit
                        && let (Some(inputs), Some(outputs)) = (
                            ground_args(&call.inputs, &value_of),
                            ground_args(&call.outputs, &value_of),
                        )
                    {
                        let key = (
                            call.model_name.clone(),
                            call.method.clone(),
                            inputs,
                            outputs,
                        );
                        let event = match call_events.get(&key) {
                            Some(&e) => e,
                            None => {
                                let value = |id: &u32| support.interner.value(*id).clone();
                                let input_values: Vec<Value> = key.2.iter().map(value).collect();
                                let output_values: Vec<Value> = key.3.iter().map(value).collect();
                                let p = call
                                    .model
                                    .call(&call.method, &input_values)
                                    .unwrap_or_default()
                                    .into_iter()
                                    .find(|a| a.values == output_values)
                                    .map_or(0.0, |a| a.probability);
                                events.push(p);
                                names.push(format!(
                                    "{}.{}({}) -> ({})",
                                    call.model_name,
                                    call.method,
                                    input_values
                                        .iter()
                                        .map(Value::to_string)
                                        .collect::<Vec<_>>()
                                        .join(", "),
                                    output_values
                                        .iter()
                                        .map(Value::to_string)
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ));
                                let e = (events.len() - 1) as u32;
                                call_events.insert(key, e);
                                e
                            }
                        };
                        calls.push(event);
                    }
                }
                let mut negative = Vec::new();
                for (rel, args) in &negations {
                    let pattern: Vec<Option<u32>> = args
                        .iter()
                        .map(|a| match a {
                            Arg::Const(c) => Some(*c),
                            Arg::Var(v) => value_of(*v),
                            Arg::Wild => None,
                        })
                        .collect();
                    negative.push(matching(support, *rel, &pattern));
                }
                let weight = weight.map(|p| {
                    events.push(p);
                    let bindings: Vec<String> = outer
                        .iter()
                        .zip(&row)
                        .filter_map(|(&v, value)| {
                            rule.var_names
                                .get(v)
                                .filter(|n| !n.starts_with('_'))
                                .map(|n| format!("{n} = {value}"))
                        })
                        .collect();
                    names.push(format!(
                        "rule {} with {}",
                        rule.location,
                        bindings.join(", ")
                    ));
                    (events.len() - 1) as u32
                });
                instances.push(Instance {
                    head: (rule.head, head),
                    weight,
                    calls,
                    positive,
                    negative,
                });
            }
        }
        Ok(instances)
    }

    fn fact_text(&self, rel: RelId, values: &[Value]) -> String {
        let name = self.relations.get(rel).map_or("?", |r| r.name.as_str());
        let args: Vec<String> = values.iter().map(Value::to_string).collect();
        atom_text(name, &args)
    }

    fn fixpoint<S: Semiring>(
        &self,
        semiring: &S,
        support: &Evaluation,
        instances: &[Instance],
        mut events: Vec<f64>,
        mut names: Vec<String>,
    ) -> Fixpoint
    where
        S::Tag: 'static,
    {
        // Deterministic base facts are certain.
        let mut tags: FxHashMap<(RelId, Vec<u32>), S::Tag> = FxHashMap::default();
        let probabilistic: std::collections::HashSet<(RelId, Vec<u32>)> = instances
            .iter()
            .filter(|i| i.positive.is_empty() && i.negative.is_empty() && i.weight.is_some())
            .map(|i| i.head.clone())
            .collect();
        for (rel, rows) in self.facts.iter().enumerate() {
            let arity = self.relations.get(rel).map_or(1, |r| r.arity.max(1));
            for row in rows.chunks_exact(arity) {
                let values: Vec<Value> = row
                    .iter()
                    .map(|&id| self.interner.value(id).clone())
                    .collect();
                let Some(ids) = values
                    .iter()
                    .map(|v| support.interner.get(v))
                    .collect::<Option<Vec<u32>>>()
                else {
                    continue;
                };
                let key = (
                    rel,
                    if self.relations.get(rel).is_some_and(|r| r.arity == 0) {
                        Vec::new()
                    } else {
                        ids
                    },
                );
                if !probabilistic.contains(&key) || self.is_deterministic_fact(rel, row) {
                    tags.insert(key, semiring.one());
                }
            }
        }
        let base = tags.clone();
        // Stratum by stratum, in the engine's order.
        let strata = eval::strata_order(self.relations.len(), &self.rules).unwrap_or_default();
        for stratum in strata {
            let members: Vec<&Instance> = instances
                .iter()
                .filter(|i| stratum.contains(&i.head.0))
                .collect();
            if members.is_empty() {
                continue;
            }
            for _ in 0..MAX_ROUNDS {
                let mut next: FxHashMap<(RelId, Vec<u32>), S::Tag> = FxHashMap::default();
                for inst in &members {
                    let mut t = match inst.weight {
                        Some(e) => {
                            semiring.event(e, events.get(e as usize).copied().unwrap_or(1.0))
                        }
                        None => semiring.one(),
                    };
                    for &e in &inst.calls {
                        let call =
                            semiring.event(e, events.get(e as usize).copied().unwrap_or(1.0));
                        t = semiring.mul(&t, &call, &events);
                    }
                    for premise in &inst.positive {
                        let pt = tags
                            .get(premise)
                            .cloned()
                            .unwrap_or_else(|| semiring.zero());
                        t = semiring.mul(&t, &pt, &events);
                    }
                    for matches in &inst.negative {
                        for m in matches {
                            let pt = tags.get(m).cloned().unwrap_or_else(|| semiring.zero());
                            let n = semiring.negate(&pt, &mut events);
                            if n != semiring.one() {
                                names.resize(
                                    events.len(),
                                    format!("not {}", self.tuple_text(support, m)),
                                );
                            }
                            t = semiring.mul(&t, &n, &events);
                        }
                    }
                    let entry = next.entry(inst.head.clone()).or_insert_with(|| {
                        base.get(&inst.head)
                            .cloned()
                            .unwrap_or_else(|| semiring.zero())
                    });
                    *entry = semiring.add(entry, &t, &events);
                }
                let mut changed = false;
                for (key, tag) in next {
                    let same = tags
                        .get(&key)
                        .is_some_and(|old| semiring.converged(old, &tag));
                    if !same {
                        changed = true;
                        tags.insert(key, tag);
                    }
                }
                if !changed {
                    break;
                }
            }
        }
        names.resize(events.len(), String::new());
        let mut probabilities = FxHashMap::default();
        let mut proofs = FxHashMap::default();
        for (key, tag) in tags {
            probabilities.insert(key.clone(), semiring.probability(&tag, &events));
            if let Some(p) = (&tag as &dyn std::any::Any).downcast_ref::<Vec<Proof>>() {
                proofs.insert(key, p.clone());
            }
        }
        (probabilities, proofs, names, events)
    }

    fn tuple_text(&self, support: &Evaluation, key: &(RelId, Vec<u32>)) -> String {
        let values: Vec<Value> = key
            .1
            .iter()
            .map(|&id| support.interner.value(id).clone())
            .collect();
        self.fact_text(key.0, &values)
    }

    /// Whether a fact row also occurs without a probability.
    fn is_deterministic_fact(&self, rel: RelId, row: &[u32]) -> bool {
        let arity = self.relations.get(rel).map_or(1, |r| r.arity.max(1));
        let occurrences = self.facts.get(rel).map_or(0, |rows| {
            rows.chunks_exact(arity).filter(|r| *r == row).count()
        });
        let probabilistic = self
            .probabilistic_facts
            .iter()
            .filter(|(r, x, _)| *r == rel && (x.as_slice() == row || (x.is_empty() && row == [0])))
            .count();
        occurrences > probabilistic
    }
}

/// Probabilities, proofs, event names and event probabilities.
type Fixpoint = (
    FxHashMap<(RelId, Vec<u32>), f64>,
    FxHashMap<(RelId, Vec<u32>), Vec<Proof>>,
    Vec<String>,
    Vec<f64>,
);

/// The support's tuples of `rel` matching a pattern (`None`: any value).
fn matching(support: &Evaluation, rel: RelId, pattern: &[Option<u32>]) -> Vec<(RelId, Vec<u32>)> {
    let Some(store) = support.stores.get(rel) else {
        return Vec::new();
    };
    let arity = pattern.len();
    let rows = store.rows();
    rows.chunks_exact(store.width)
        .filter(|row| {
            pattern
                .iter()
                .zip(row.iter())
                .all(|(p, v)| p.is_none_or(|p| p == *v))
        })
        .map(|row| (rel, row.iter().take(arity).copied().collect()))
        .collect()
}
