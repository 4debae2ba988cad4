//! A compiled program: relations, rules, facts, queries and rule tests.

mod backend;
mod lower;
mod names;
mod run;

pub use backend::Compiled;
pub(crate) use names::Names;

use crate::Error;
use crate::foreign::ForeignPredicate;
use crate::ir::{Arg, Expr, Lit, RelId, RelationInfo, Rule};
use crate::tagging::{EventKey, ParamKey, RuleWeight, Weight};
use crate::value::{Interner, Value};
use lower::{Lowering, for_each_literal_var};
use nesy_lang::ast::{self, ConstValue, Item, Literal};
use nesy_lang::{Location, SourceFile};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Rules and facts, compiled and ready to evaluate.
///
/// Add any number of checked sources ([`Program::add_source`]) and facts
/// ([`Program::add_fact`]), then [`Program::evaluate`].
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub(crate) relations: Vec<RelationInfo>,
    pub(crate) names: Names,
    pub(crate) rules: Vec<Rule>,
    /// Per relation, flat rows of interned ids in column order.
    pub(crate) facts: Vec<Vec<u32>>,
    /// Shared with evaluations, which layer their own values on top.
    pub(crate) interner: Arc<Interner>,
    pub(crate) queries: Vec<Query>,
    pub(crate) tests: Vec<TestCase>,
    /// Per relation, where runs of its facts came from (for explanations;
    /// one entry per written fact, one per run of consecutive imported lines).
    origins: Vec<Vec<Origin>>,
    /// `p :: fact.`: each occurrence an independent event. A head of an
    /// annotated disjunction holds its choice's conditional probability.
    pub(crate) probabilistic_facts: Vec<(RelId, Vec<u32>, f64)>,
    /// Per probabilistic fact: where it sits in an annotated disjunction,
    /// if it is a head of one.
    pub(crate) fact_choices: Vec<Option<FactChoice>>,
    /// Per probabilistic fact: where the probabilities of the heads up to
    /// it come from (one, outside a disjunction).
    pub(crate) fact_weights: Vec<Vec<Weight>>,
    /// The values of the tunable probabilities (`t(...)`).
    pub(crate) parameters: BTreeMap<ParamKey, f64>,
    /// The weight of each rule (`p :: head :- body.`), by rule index.
    pub(crate) rule_weights: Vec<Option<RuleWeight>>,
    /// Models rules may call, by `@model` name.
    pub(crate) models: Models,
    /// The keys of the `@input` relations, if any source declares some.
    inputs: Option<Vec<String>>,
}

/// A fact that is a head of an annotated disjunction: its event is the
/// choice for it, which holds with the conditional probability
/// (`conditional_choices`).
#[derive(Clone, Debug)]
pub(crate) struct FactChoice {
    /// Its place among the heads.
    pub(crate) position: usize,
    /// How many heads the disjunction has. The heads before it are the
    /// `position` probabilistic facts just before it.
    pub(crate) heads: usize,
}

/// Which choice an event is (see `Program::event_choice`).
#[derive(Clone, Debug)]
pub(crate) struct EventChoice {
    /// The disjunction instance it is a choice of.
    pub(crate) instance: ChoiceInstance,
    /// Its head's place among the heads.
    pub(crate) position: usize,
    /// Every head's tunable parameter (if it has one) and probability.
    pub(crate) heads: Vec<(Option<ParamKey>, f64)>,
    /// Whether it is a rule's (whose body must hold for it to matter).
    pub(crate) rule: bool,
}

/// One instance of a choice: the events of its heads are its choices.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ChoiceInstance {
    /// A probabilistic fact or weighted rule instance outside any
    /// disjunction: one event.
    Single(EventKey),
    /// A disjunction of facts, by its first head's place.
    Facts(usize),
    /// A disjunction rule's instance: its first head's rule and the body's
    /// values.
    Rules(usize, Vec<Value>),
}

/// Registered models by name.
#[derive(Clone, Default)]
pub(crate) struct Models(pub(crate) FxHashMap<String, Arc<dyn ForeignPredicate>>);

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// Where facts `first_row..first_row + rows` of a relation came from: for
/// rows of an imported table (a line, no column), row `first_row + i` is
/// on line `line + i`; otherwise every row of the run shares `location`
/// (a fact written in a rule file, an RDF file, a SPARQL import).
#[derive(Clone, Debug)]
struct Origin {
    first_row: usize,
    rows: usize,
    location: Location,
}

impl Origin {
    /// Whether its rows are lines of a table, numbered one after another.
    fn numbers_lines(&self) -> bool {
        self.location.line.is_some() && self.location.column.is_none()
    }
}

/// A `?- goal.` of a source, compiled as a rule whose head holds the goal's
/// named variables.
#[derive(Clone, Debug)]
pub struct Query {
    pub(crate) rule: Rule,
    /// The goal as written, without `?-` and the final `.`.
    pub text: String,
    /// Where the query is written.
    pub location: Location,
    /// The named variables, in order of first appearance: the answer columns.
    pub variables: Vec<String>,
}

/// A one-atom goal by relation and values ([`Program::goal_atom`]).
#[derive(Clone, Debug, PartialEq)]
pub struct GoalAtom {
    /// The relation.
    pub relation: String,
    /// Each argument: a value, or `None` for a variable.
    pub args: Vec<Option<Value>>,
    /// Each variable's name as the goal writes it (`_` for a wildcard;
    /// empty where the argument is a value).
    pub names: Vec<String>,
}

/// An `@test` block of a source.
#[derive(Clone, Debug)]
pub struct TestCase {
    /// The test's name.
    pub name: String,
    /// Where the block is written.
    pub location: Location,
    pub(crate) source: SourceFile,
    pub(crate) given: Vec<ast::Clause>,
    pub(crate) expectations: Vec<ast::Expectation>,
}

impl Program {
    /// An empty program.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a model that rules call as `name.method(...)`. Register
    /// models before adding the sources that call them.
    pub fn add_model(&mut self, name: &str, model: Arc<dyn ForeignPredicate>) {
        self.models.0.insert(name.to_string(), model);
    }

    /// Puts `model` in the place of the model registered as `name`, in the
    /// registry and in every rule and query already compiled against it
    /// (so a trained copy of a network answers from now on).
    pub fn replace_model(&mut self, name: &str, model: Arc<dyn ForeignPredicate>) {
        fn swap(body: &mut [Lit], name: &str, model: &Arc<dyn ForeignPredicate>) {
            for lit in body {
                match lit {
                    Lit::Call(call) if call.model_name == name => call.model = Arc::clone(model),
                    Lit::Agg(aggregate) => swap(&mut aggregate.body, name, model),
                    _ => {}
                }
            }
        }
        for rule in &mut self.rules {
            swap(&mut rule.body, name, &model);
        }
        for query in &mut self.queries {
            swap(&mut query.rule.body, name, &model);
        }
        self.models.0.insert(name.to_string(), model);
    }

    /// Whether a model of this name is registered.
    pub fn has_model(&self, name: &str) -> bool {
        self.models.0.contains_key(name)
    }

    /// Compiles the clauses, queries and tests of a checked source. The
    /// source must have no checker errors; what the checker reports is not
    /// reported again. `@import`s are not read here (the engine knows no
    /// files): the caller adds their facts with [`Program::add_fact`].
    pub fn add_source(&mut self, source: &SourceFile, program: &ast::Program) -> Result<(), Error> {
        for item in &program.items {
            if let Item::Prefix(p) = item {
                self.names
                    .prefixes
                    .insert(p.label.text.clone(), p.iri.clone());
            }
        }
        for item in &program.items {
            match item {
                Item::Clause(clause) => self.add_clause(source, clause)?,
                Item::Decl(decl) => {
                    self.relation_id(&decl.relation, decl.fields.len(), source)?;
                }
                Item::Import(import) => {
                    if let Some(rel) = &import.relation {
                        let key = self.relation_key(&rel.text);
                        if !self.names.by_key.contains_key(&key) {
                            // The arity comes with the first fact loaded.
                            self.names.by_key.insert(key, self.relations.len());
                            self.relations.push(RelationInfo {
                                name: rel.text.clone(),
                                arity: usize::MAX,
                            });
                            self.facts.push(Vec::new());
                        }
                    }
                }
                Item::Query(query) => {
                    let compiled = self.compile_query(source, &query.body, query.span)?;
                    self.queries.push(compiled);
                }
                Item::Test(test) => {
                    let mut given = Vec::new();
                    let mut expectations = Vec::new();
                    for entry in &test.entries {
                        match entry {
                            ast::TestEntry::Given(g) => given.extend(g.clauses.iter().cloned()),
                            ast::TestEntry::Expect(e) => expectations.push(e.clone()),
                        }
                    }
                    self.tests.push(TestCase {
                        name: test.name.value.clone(),
                        location: location(source, test.span.start),
                        source: source.clone(),
                        given,
                        expectations,
                    });
                }
                Item::Input(input) => {
                    let keys: Vec<String> = input
                        .relations
                        .iter()
                        .map(|r| self.relation_key(&r.text))
                        .collect();
                    self.inputs.get_or_insert_with(Vec::new).extend(keys);
                }
                Item::Prefix(_) | Item::Model(_) => {}
            }
        }
        Ok(())
    }

    /// Adds a fact or a rule of `source`.
    pub fn add_clause(&mut self, source: &SourceFile, clause: &ast::Clause) -> Result<(), Error> {
        let ground: Option<Vec<&ConstValue>> = clause
            .body
            .is_empty()
            .then(|| {
                clause
                    .head
                    .args
                    .iter()
                    .map(|a| match a {
                        ast::Expr::Const(c) => Some(&c.value),
                        _ => None,
                    })
                    .collect()
            })
            .flatten();
        if let Some(values) = ground {
            let rel = self.relation_id(&clause.head.relation, values.len(), source)?;
            self.note_origin(rel, location(source, clause.span.start));
            let probability = clause.probability.as_ref().map(|p| p.value);
            let row: Vec<u32> = values
                .into_iter()
                .map(|v| {
                    let value = self.constant(v);
                    Arc::make_mut(&mut self.interner).intern(value)
                })
                .collect();
            if probability.is_some() {
                let heads = self.head_weights(source, clause);
                let q = conditional(&self.parameters, &heads)
                    .last()
                    .copied()
                    .unwrap_or(1.0);
                let choice = clause.choice.as_ref().map(|choice| FactChoice {
                    position: choice.position,
                    heads: choice.heads.len(),
                });
                self.probabilistic_facts.push((rel, row.clone(), q));
                self.fact_choices.push(choice);
                self.fact_weights.push(heads);
            }
            self.push_row(rel, row);
            return Ok(());
        }
        let mut lowering = Lowering::new(self, source);
        let head_args = clause
            .head
            .args
            .iter()
            .map(|a| lowering.expr(a))
            .collect::<Result<Vec<_>, _>>()?;
        let mut outside = Vec::new();
        for arg in &clause.head.args {
            arg.for_each_var(&mut |v| outside.push(v.name.clone()));
        }
        let mut body = lowering.body(&clause.body, &outside)?;
        // Model calls in the head's expressions run in the body.
        body.append(&mut lowering.hoisted);
        let var_names = lowering.vars;
        let head = self.relation_id(&clause.head.relation, clause.head.args.len(), source)?;
        self.rule_weights.resize(self.rules.len(), None);
        let weight = clause.probability.as_ref().map(|_| {
            let heads = self.head_weights(source, clause);
            RuleWeight {
                choices: conditional(&self.parameters, &heads),
                disjunction: clause
                    .choice
                    .as_ref()
                    .map(|choice| self.rules.len().saturating_sub(choice.position)),
                heads,
            }
        });
        self.rule_weights.push(weight);
        self.rules.push(Rule {
            head,
            head_args,
            body,
            var_names,
            name: clause.name.as_ref().map(|n| n.text.clone()),
            location: location(source, clause.span.start),
        });
        Ok(())
    }

    /// Where the probabilities of a clause's heads up to its own come
    /// from; registers its tunable ones as parameters.
    fn head_weights(&mut self, source: &SourceFile, clause: &ast::Clause) -> Vec<Weight> {
        use ast::ProbabilityKind::Seeded;
        // Every head of the clause's disjunction (or its one head), and how
        // many of them its own weight depends on.
        let (all, upto): (Vec<Option<&ast::Probability>>, usize) = match &clause.choice {
            Some(choice) => (
                choice
                    .heads
                    .iter()
                    .map(|a| a.probability.as_ref())
                    .collect(),
                choice.position + 1,
            ),
            None => (vec![clause.probability.as_ref()], 1),
        };
        // `t(_)` heads of a disjunction share the room the others leave.
        let seeded = all.iter().flatten().filter(|p| p.kind == Seeded).count();
        let written: f64 = all
            .iter()
            .flatten()
            .filter(|p| p.kind != Seeded)
            .map(|p| p.value)
            .sum();
        let seeded_start = if clause.choice.is_some() && seeded > 0 {
            ((1.0 - written) / seeded as f64).clamp(0.0, 0.5)
        } else {
            0.5
        };
        all.into_iter()
            .take(upto)
            .map(|p| match p {
                Some(p) if p.is_tunable() => {
                    let key = ParamKey {
                        file: source.name().into(),
                        offset: p.span.start,
                    };
                    let start = if p.kind == Seeded {
                        seeded_start
                    } else {
                        p.value
                    };
                    self.parameters.entry(key.clone()).or_insert(start);
                    Weight::Tunable(key)
                }
                Some(p) => Weight::Fixed(p.value),
                None => Weight::Fixed(0.0),
            })
            .collect()
    }

    fn weight_value(&self, weight: &Weight) -> f64 {
        value_of(&self.parameters, weight)
    }

    /// The tunable probabilities (`t(...)`) and their values, by place.
    pub fn parameters(&self) -> Vec<(ParamKey, f64)> {
        self.parameters
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Gives tunable probabilities new values (unknown keys are ignored);
    /// the events that depend on them follow.
    pub fn set_parameters(&mut self, values: impl IntoIterator<Item = (ParamKey, f64)>) {
        for (key, value) in values {
            if let Some(slot) = self.parameters.get_mut(&key) {
                *slot = value;
            }
        }
        self.refresh_weights();
    }

    /// Derives every probabilistic fact's and weighted rule's event
    /// probabilities from the parameters' current values.
    fn refresh_weights(&mut self) {
        let params = &self.parameters;
        for ((_, _, q), heads) in self.probabilistic_facts.iter_mut().zip(&self.fact_weights) {
            *q = conditional(params, heads).last().copied().unwrap_or(1.0);
        }
        for weight in self.rule_weights.iter_mut().flatten() {
            weight.choices = conditional(params, &weight.heads);
        }
    }

    /// Projects the tunable heads of each annotated disjunction back where
    /// the heads' probabilities sum to more than 1 (after a learning step):
    /// the same amount is taken from each (the Euclidean projection, which
    /// keeps gradient descent's fixed point the maximum-likelihood one),
    /// none going below `floor`.
    pub fn normalize_disjunctions(&mut self, floor: f64) {
        const ROOM: f64 = 1e-9;
        let params = &self.parameters;
        let mut projected: Vec<(ParamKey, f64)> = Vec::new();
        for heads in self.disjunction_lists() {
            let sum: f64 = heads.iter().map(|w| value_of(params, w)).sum();
            if sum <= 1.0 {
                continue;
            }
            let (fixed, tunable) = split_heads(params, heads);
            let budget = (1.0 - ROOM - fixed).max(0.0);
            // The shift tau with sum(max(p - tau, floor)) = budget, by
            // bisection (the sum falls as tau grows).
            let total =
                |tau: f64| -> f64 { tunable.iter().map(|(_, p)| (p - tau).max(floor)).sum() };
            let (mut lo, mut hi) = (0.0, 1.0);
            for _ in 0..100 {
                let mid = (lo + hi) / 2.0;
                if total(mid) > budget {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            projected.extend(
                tunable
                    .into_iter()
                    .map(|(key, p)| (key.clone(), (p - hi).max(floor))),
            );
        }
        if !projected.is_empty() {
            self.set_parameters(projected);
        }
    }

    /// Every annotated disjunction's heads' weights, once each (the list
    /// of its last head, which holds them all).
    fn disjunction_lists(&self) -> Vec<&[Weight]> {
        let facts = self
            .fact_choices
            .iter()
            .zip(&self.fact_weights)
            .filter(|(choice, _)| choice.as_ref().is_some_and(|c| c.position + 1 == c.heads))
            .map(|(_, heads)| heads.as_slice());
        let rules = self
            .rule_weights
            .iter()
            .enumerate()
            .filter_map(|(index, weight)| {
                let first = weight.as_ref()?.disjunction?;
                let (last, weight) = self.last_head_of(first)?;
                (last == index).then_some(weight.heads.as_slice())
            });
        facts.chain(rules).collect()
    }

    /// The last head of the disjunction whose first head is rule `first`:
    /// its rule index and weight (which lists every head's weight).
    fn last_head_of(&self, first: usize) -> Option<(usize, &RuleWeight)> {
        self.rule_weights
            .iter()
            .enumerate()
            .skip(first)
            .map_while(|(i, w)| Some((i, w.as_ref().filter(|w| w.disjunction == Some(first))?)))
            .last()
    }

    /// The probability written (or learned) for probabilistic fact
    /// `index`: for a head of an annotated disjunction its own, not the
    /// conditional probability of its choice.
    pub(crate) fn fact_probability(&self, index: usize) -> Option<f64> {
        let heads = self.fact_weights.get(index)?;
        heads.last().map(|w| self.weight_value(w))
    }

    /// The probability written (or learned) for rule `index`, if it has
    /// one: a disjunction head's own, not its choice's.
    pub(crate) fn rule_probability(&self, index: usize) -> Option<f64> {
        let weight = self.rule_weights.get(index)?.as_ref()?;
        weight.heads.last().map(|w| self.weight_value(w))
    }

    /// The choice an event stands for, with every head of its annotated
    /// disjunction (one head outside one): which instance it belongs to,
    /// its position among the heads, and each head's tunable parameter (if
    /// any) and probability. `None` for a model's answer.
    pub(crate) fn event_choice(&self, key: &EventKey) -> Option<EventChoice> {
        let heads_of = |heads: &[Weight]| -> Vec<(Option<ParamKey>, f64)> {
            heads
                .iter()
                .map(|w| match w {
                    Weight::Tunable(k) => (Some(k.clone()), self.weight_value(w)),
                    Weight::Fixed(p) => (None, *p),
                })
                .collect()
        };
        match key {
            EventKey::Fact(i) => match self.fact_choices.get(*i)? {
                Some(choice) => {
                    let first = i.checked_sub(choice.position)?;
                    let last = self
                        .fact_weights
                        .get(first + choice.heads.checked_sub(1)?)?;
                    Some(EventChoice {
                        instance: ChoiceInstance::Facts(first),
                        position: choice.position,
                        heads: heads_of(last),
                        rule: false,
                    })
                }
                None => Some(EventChoice {
                    instance: ChoiceInstance::Single(key.clone()),
                    position: 0,
                    heads: heads_of(
                        self.fact_weights
                            .get(*i)?
                            .last()
                            .map(std::slice::from_ref)?,
                    ),
                    rule: false,
                }),
            },
            EventKey::Rule(rule, _) => {
                let weight = self.rule_weights.get(*rule)?.as_ref()?;
                Some(EventChoice {
                    instance: ChoiceInstance::Single(key.clone()),
                    position: 0,
                    heads: heads_of(weight.heads.last().map(std::slice::from_ref)?),
                    rule: true,
                })
            }
            EventKey::Choice(first, position, values) => {
                let (_, last) = self.last_head_of(*first)?;
                Some(EventChoice {
                    instance: ChoiceInstance::Rules(*first, values.clone()),
                    position: *position,
                    heads: heads_of(&last.heads),
                    rule: true,
                })
            }
            EventKey::Call(..) => None,
        }
    }

    /// Gives each annotated disjunction with tunable heads the whole
    /// probability its written heads leave (`problog lfi`'s normalisation
    /// after each EM step): the tunable heads are scaled together.
    pub fn complete_disjunctions(&mut self) {
        let params = &self.parameters;
        let mut scaled: Vec<(ParamKey, f64)> = Vec::new();
        for heads in self.disjunction_lists() {
            let (fixed, tunable) = split_heads(params, heads);
            let sum: f64 = tunable.iter().map(|(_, p)| p).sum();
            if tunable.is_empty() || sum <= 0.0 {
                continue;
            }
            let factor = (1.0 - fixed).max(0.0) / sum;
            scaled.extend(tunable.into_iter().map(|(k, p)| (k.clone(), p * factor)));
        }
        if !scaled.is_empty() {
            self.set_parameters(scaled);
        }
    }

    /// How an event's probability moves with each parameter it depends on.
    pub(crate) fn event_sensitivity(&self, key: &EventKey) -> Vec<(ParamKey, f64)> {
        let heads: &[Weight] = match key {
            EventKey::Fact(i) => self.fact_weights.get(*i).map_or(&[], Vec::as_slice),
            EventKey::Rule(rule, _) => self
                .rule_weights
                .get(*rule)
                .and_then(Option::as_ref)
                .map_or(&[], |w| w.heads.as_slice()),
            EventKey::Choice(first, position, _) => self
                .rule_weights
                .get(first + position)
                .and_then(Option::as_ref)
                .map_or(&[], |w| w.heads.as_slice()),
            EventKey::Call(..) => &[],
        };
        let values: Vec<f64> = heads.iter().map(|w| self.weight_value(w)).collect();
        heads
            .iter()
            .zip(choice_sensitivity(&values))
            .filter_map(|(w, d)| match w {
                Weight::Tunable(key) => Some((key.clone(), d)),
                Weight::Fixed(_) => None,
            })
            .collect()
    }

    /// Adds one fact. The relation is created if new; its arity must match
    /// earlier uses.
    pub fn add_fact(&mut self, relation: &str, values: Vec<Value>) -> Result<(), Error> {
        let rel = self.relation_by_text(relation, relation, values.len(), None)?;
        let row: Vec<u32> = values
            .into_iter()
            .map(|v| Arc::make_mut(&mut self.interner).intern(v))
            .collect();
        self.push_row(rel, row);
        Ok(())
    }

    /// Removes every copy of each of `facts` from `relation`, in one pass
    /// over its rows; says per fact whether it was there. An unknown
    /// relation or a wrong arity is an error and removes nothing. Where
    /// the other facts came from is kept.
    ///
    /// ```
    /// use nesy_engine::{Program, Value};
    /// let mut program = Program::new();
    /// program.add_fact("e", vec![Value::Int(1), Value::Int(2)])?;
    /// let gone = program.remove_facts("e", &[vec![Value::Int(1), Value::Int(2)], vec![Value::Int(5), Value::Int(6)]])?;
    /// assert_eq!(gone, [true, false]);
    /// assert_eq!(program.remove_facts("e", &[vec![Value::Int(1), Value::Int(2)]])?, [false]);
    /// # Ok::<(), nesy_engine::Error>(())
    /// ```
    pub fn remove_facts(
        &mut self,
        relation: &str,
        facts: &[Vec<Value>],
    ) -> Result<Vec<bool>, Error> {
        let rel = self
            .names
            .lookup(relation)
            .ok_or_else(|| Error::UnknownRelation(relation.to_string()))?;
        let arity = self.relations.get(rel).map_or(0, |r| r.stored_arity());
        if let Some(values) = facts.iter().find(|v| v.len() != arity) {
            return Err(Error::Arity {
                relation: relation.to_string(),
                expected: arity,
                found: values.len(),
                location: None,
            });
        }
        // Rows as ids (a value never interned is in no row), each with
        // whether a row holds it.
        let keys: Vec<Option<Vec<u32>>> = facts
            .iter()
            .map(|values| {
                if values.is_empty() {
                    Some(vec![0])
                } else {
                    values.iter().map(|v| self.interner.get(v)).collect()
                }
            })
            .collect();
        let mut wanted: FxHashMap<&[u32], bool> = keys
            .iter()
            .flatten()
            .map(|k| (k.as_slice(), false))
            .collect();
        let width = arity.max(1);
        let Some(rows) = self.facts.get_mut(rel) else {
            return Ok(vec![false; facts.len()]);
        };
        let mut gone: Vec<usize> = Vec::new();
        for (i, row) in rows.chunks_exact(width).enumerate() {
            if let Some(present) = wanted.get_mut(row) {
                *present = true;
                gone.push(i);
            }
        }
        let found: Vec<bool> = keys
            .iter()
            .map(|k| {
                k.as_ref()
                    .is_some_and(|k| wanted.get(k.as_slice()).copied().unwrap_or(false))
            })
            .collect();
        if gone.is_empty() {
            return Ok(found);
        }
        let kept: Vec<u32> = rows
            .chunks_exact(width)
            .enumerate()
            .filter(|(i, _)| gone.binary_search(i).is_err())
            .flat_map(|(_, r)| r.iter().copied())
            .collect();
        *rows = kept;
        if let Some(origins) = self.origins.get_mut(rel) {
            // Later rows move up; a run of table lines with a row taken
            // out becomes two runs, so that every line stays right.
            for &index in gone.iter().rev() {
                let mut split = Vec::new();
                for origin in origins.iter_mut() {
                    if origin.first_row > index {
                        origin.first_row -= 1;
                    } else if index < origin.first_row + origin.rows {
                        let before = index - origin.first_row;
                        let after = origin.rows - before - 1;
                        if origin.numbers_lines() && after > 0 {
                            let mut location = origin.location.clone();
                            location.line = location.line.map(|l| l + before + 1);
                            split.push(Origin {
                                first_row: index,
                                rows: after,
                                location,
                            });
                            origin.rows = before;
                        } else {
                            origin.rows -= 1;
                        }
                    }
                }
                origins.extend(split);
                origins.retain(|o| o.rows > 0);
                origins.sort_by_key(|o| o.first_row);
            }
        }
        Ok(found)
    }

    /// Adds one fact read from `origin` (a line of an imported table, an
    /// RDF file, the `@import` of a SPARQL query), so that explanations can
    /// say where it came from.
    pub fn add_fact_from(
        &mut self,
        relation: &str,
        values: Vec<Value>,
        origin: &Location,
    ) -> Result<(), Error> {
        let rel = self.relation_by_text(relation, relation, values.len(), None)?;
        self.note_origin(rel, origin.clone());
        let row: Vec<u32> = values
            .into_iter()
            .map(|v| Arc::make_mut(&mut self.interner).intern(v))
            .collect();
        self.push_row(rel, row);
        Ok(())
    }

    /// The relation `relation` for [`Program::add_indexed_fact`]: created if
    /// new; its arity must match earlier uses.
    pub fn fact_relation(&mut self, relation: &str, arity: usize) -> Result<FactRelation, Error> {
        self.relation_by_text(relation, relation, arity, None)
            .map(|rel| FactRelation { rel, arity })
    }

    /// Adds one fact read from `origin` whose values are given as indexes
    /// into `table` (a block of a file whose distinct values were made
    /// once): each value is interned the first time a row uses it, so the
    /// program is as if every row were added by [`Program::add_fact_from`].
    /// A row not of the relation's arity, or an index outside the table, is
    /// an error and adds nothing.
    pub fn add_indexed_fact(
        &mut self,
        relation: FactRelation,
        row: &[u32],
        table: &mut ValueTable<'_>,
        origin: &Location,
    ) -> Result<(), Error> {
        if row.len() != relation.arity {
            return Err(Error::Arity {
                relation: self
                    .relations
                    .get(relation.rel)
                    .map_or_else(String::new, |r| r.name.clone()),
                expected: relation.arity,
                found: row.len(),
                location: Some(origin.clone()),
            });
        }
        if row.iter().any(|&i| i as usize >= table.values.len()) {
            return Err(Error::Compile {
                location: Some(origin.clone()),
                message: format!(
                    "a fact's value index is outside its table of {} values",
                    table.values.len()
                ),
            });
        }
        self.note_origin(relation.rel, origin.clone());
        let interner = Arc::make_mut(&mut self.interner);
        let Some(rows) = self.facts.get_mut(relation.rel) else {
            return Ok(());
        };
        if row.is_empty() {
            rows.push(0);
        }
        for &index in row {
            let (Some(id), Some(value)) = (
                table.ids.get_mut(index as usize),
                table.values.get(index as usize),
            ) else {
                continue;
            };
            if *id == u32::MAX {
                *id = interner.intern(value.clone());
            }
            rows.push(*id);
        }
        Ok(())
    }

    /// Records that the next row of `rel` comes from `location`: runs of
    /// rows from consecutive lines of one table, or from one place, share
    /// one record.
    fn note_origin(&mut self, rel: RelId, location: Location) {
        let arity = self.relations.get(rel).map_or(1, |r| r.arity.max(1));
        let next_row = self.facts.get(rel).map_or(0, |rows| rows.len() / arity);
        if self.origins.len() <= rel {
            self.origins.resize_with(rel + 1, Vec::new);
        }
        let Some(origins) = self.origins.get_mut(rel) else {
            return;
        };
        if let Some(last) = origins.last_mut()
            && last.first_row + last.rows == next_row
        {
            let continues = if last.numbers_lines() {
                location.column.is_none()
                    && last.location.file == location.file
                    && last.location.line.map(|l| l + last.rows) == location.line
            } else {
                last.location == location
            };
            if continues {
                last.rows += 1;
                return;
            }
        }
        origins.push(Origin {
            first_row: next_row,
            rows: 1,
            location,
        });
    }

    /// Where a base fact was written (`file:line:col`), imported from a
    /// table (`file:line`) or from RDF (`file`), if known.
    pub(crate) fn fact_origin(&self, rel: RelId, row: &[u32]) -> Option<Location> {
        let arity = self.relations.get(rel)?.arity.max(1);
        let key: Vec<u32> = if row.is_empty() {
            vec![0]
        } else {
            row.to_vec()
        };
        let index = self
            .facts
            .get(rel)?
            .chunks_exact(arity)
            .position(|r| r == key.as_slice())?;
        let origin = self
            .origins
            .get(rel)?
            .iter()
            .find(|o| o.first_row <= index && index < o.first_row + o.rows)?;
        let mut location = origin.location.clone();
        if origin.numbers_lines() {
            location.line = location.line.map(|l| l + (index - origin.first_row));
        }
        Some(location)
    }

    fn push_row(&mut self, rel: RelId, row: Vec<u32>) {
        if let Some(rows) = self.facts.get_mut(rel) {
            // A relation of no columns stores a placeholder column.
            if row.is_empty() {
                rows.push(0);
            } else {
                rows.extend(row);
            }
        }
    }

    /// Declares a relation of `arity` columns (so it can be read when it has
    /// no facts).
    pub fn declare(&mut self, relation: &str, arity: usize) -> Result<(), Error> {
        self.relation_by_text(relation, relation, arity, None)
            .map(|_| ())
    }

    /// The relations' names and arities (arity `None` while an imported
    /// relation has no rows yet).
    pub fn relations(&self) -> impl Iterator<Item = (&str, Option<usize>)> {
        self.relations
            .iter()
            .map(|r| (r.name.as_str(), (r.arity != usize::MAX).then_some(r.arity)))
    }

    /// Makes a query's answers a relation of its own, named `?- goal`, so
    /// that evaluating the program (under any semiring) derives them.
    /// Returns the relation's name.
    pub fn add_query_relation(&mut self, query: &Query) -> String {
        let name = format!("?- {}", query.text);
        let head = self.relations.len();
        self.names.by_key.insert(name.clone(), head);
        self.relations.push(RelationInfo {
            name: name.clone(),
            arity: query.variables.len(),
        });
        self.facts.push(Vec::new());
        let mut rule = query.rule.clone();
        rule.head = head;
        self.rule_weights.resize(self.rules.len(), None);
        self.rule_weights.push(None);
        self.rules.push(rule);
        name
    }

    /// The IRI a relation name stands for (`ex:parent` with its prefix, or
    /// `<http://...>`), if it is one.
    pub fn relation_iri(&self, relation: &str) -> Option<String> {
        let key = self.names.key(relation);
        key.strip_prefix('<')?.strip_suffix('>').map(str::to_string)
    }

    /// Whether a request may add facts to `relation`: one of the `@input`
    /// relations when the program names any, otherwise any relation no
    /// rule derives (so that input can never stand in for a conclusion).
    pub fn accepts_input(&self, relation: &str) -> bool {
        match &self.inputs {
            Some(keys) => keys.contains(&self.relation_key(relation)),
            None => match self.names.lookup(relation) {
                Some(id) => self.rules.iter().all(|r| r.head != id),
                None => false,
            },
        }
    }

    /// The `@input` relations, if the program declares any.
    pub fn input_relations(&self) -> Option<&[String]> {
        self.inputs.as_deref()
    }

    /// Whether the program has a relation of this name.
    pub fn has_relation(&self, relation: &str) -> bool {
        self.names.lookup(relation).is_some()
    }

    /// A relation's arity, once known.
    pub fn arity(&self, relation: &str) -> Option<usize> {
        let info = self.relations.get(self.names.lookup(relation)?)?;
        (info.arity != usize::MAX).then_some(info.arity)
    }

    /// The queries (`?- goal.`) of the sources, in order.
    pub fn queries(&self) -> &[Query] {
        &self.queries
    }

    /// The `@test` blocks of the sources, in order.
    pub fn tests(&self) -> &[TestCase] {
        &self.tests
    }

    /// Compiles a goal (the body of `?- goal.`) written in `source`.
    pub fn compile_query(
        &mut self,
        source: &SourceFile,
        body: &[Literal],
        span: ast::Span,
    ) -> Result<Query, Error> {
        let mut lowering = Lowering::new(self, source);
        let mut named = Vec::new();
        for literal in body {
            for_each_literal_var(literal, &mut |v: &ast::Variable| {
                if !v.is_anonymous() && !named.contains(&v.name) {
                    named.push(v.name.clone());
                }
            });
        }
        let body = lowering.body(body, &named)?;
        let head_args = named
            .iter()
            .map(|n| Expr::Var(lowering.var_id(n)))
            .collect::<Vec<_>>();
        let var_names = lowering.vars;
        let text = source
            .text()
            .get(span.start..span.end)
            .unwrap_or_default()
            .trim();
        let text = text.strip_prefix("?-").unwrap_or(text).trim();
        let text = text.strip_suffix('.').unwrap_or(text).trim().to_string();
        // The head relation is made when the query is evaluated.
        let head = usize::MAX;
        let location = location(source, span.start);
        Ok(Query {
            rule: Rule {
                head,
                head_args,
                body,
                var_names,
                name: None,
                location: location.clone(),
            },
            text,
            location,
            variables: named,
        })
    }

    /// A one-atom goal built from typed values, no text involved: `Some`
    /// arguments are constants, `None` ones variables (`X0`, `X1`, ...).
    /// What a decision explains, whatever its values look like (`Ann Lee`,
    /// `not`, `x, y`).
    pub fn atom_query(&mut self, relation: &str, args: &[Option<Value>]) -> Result<Query, Error> {
        let mut interner = std::mem::take(Arc::make_mut(&mut self.interner));
        let query = self.atom_query_in(relation, args, None, &mut interner);
        *Arc::make_mut(&mut self.interner) = interner;
        query
    }

    /// A one-atom goal as a relation and its arguments (`None` for a
    /// variable), the form [`Program::atom_query`] takes; `None` for a goal
    /// that is not one atom, or names a variable twice (`p(X, X)`: the
    /// arguments alone would lose that they are equal).
    pub fn goal_atom(&self, goal: &Query) -> Option<GoalAtom> {
        let [Lit::Atom { rel, args }] = goal.rule.body.as_slice() else {
            return None;
        };
        let mut seen = Vec::new();
        let mut values = Vec::with_capacity(args.len());
        let mut names = Vec::with_capacity(args.len());
        for arg in args {
            let (value, name) = match arg {
                Arg::Const(c) => (Some(self.interner.value(*c).clone()), String::new()),
                Arg::Var(v) if seen.contains(v) => return None,
                Arg::Var(v) => {
                    seen.push(*v);
                    (
                        None,
                        goal.rule.var_names.get(*v).cloned().unwrap_or_default(),
                    )
                }
                Arg::Wild => (None, "_".to_string()),
            };
            values.push(value);
            names.push(name);
        }
        Some(GoalAtom {
            relation: self.relations.get(*rel)?.name.clone(),
            args: values,
            names,
        })
    }

    /// [`Program::atom_query`] with its values interned in `interner` (an
    /// evaluation's, which knows every value of the program).
    /// `names`, when given, names each argument's variable (`X{i}`
    /// otherwise).
    pub(crate) fn atom_query_in(
        &self,
        relation: &str,
        args: &[Option<Value>],
        names: Option<&[String]>,
        interner: &mut crate::value::Interner,
    ) -> Result<Query, Error> {
        let name_of = |i: usize| {
            names
                .and_then(|n| n.get(i))
                .cloned()
                .unwrap_or_else(|| format!("X{i}"))
        };
        let rel = self
            .names
            .lookup(relation)
            .ok_or_else(|| Error::UnknownRelation(relation.to_string()))?;
        let arity = self.relations.get(rel).map_or(0, |r| r.arity);
        if arity != usize::MAX && arity != args.len() {
            return Err(Error::Arity {
                relation: relation.to_string(),
                expected: arity,
                found: args.len(),
                location: None,
            });
        }
        let mut variables = Vec::new();
        let mut ir_args = Vec::new();
        for (i, a) in args.iter().enumerate() {
            match a {
                Some(v) => ir_args.push(Arg::Const(interner.intern(v.clone()))),
                None => {
                    ir_args.push(Arg::Var(variables.len()));
                    variables.push(name_of(i));
                }
            }
        }
        let shown: Vec<String> = args
            .iter()
            .zip(0..)
            .map(|(a, i)| a.as_ref().map_or_else(|| name_of(i), Value::to_string))
            .collect();
        Ok(Query {
            rule: Rule {
                head: usize::MAX,
                head_args: (0..variables.len()).map(Expr::Var).collect(),
                body: vec![Lit::Atom { rel, args: ir_args }],
                var_names: variables.clone(),
                name: None,
                location: Location::file("<request>"),
            },
            text: crate::value::atom_text(relation, &shown),
            location: Location::file("<request>"),
            variables,
        })
    }

    pub(crate) fn relation_key(&self, text: &str) -> String {
        self.names.key(text)
    }

    fn relation_id(
        &mut self,
        name: &ast::Name,
        arity: usize,
        source: &SourceFile,
    ) -> Result<RelId, Error> {
        let at = location(source, name.span.start);
        self.relation_by_text(&name.text, &name.text, arity, Some(at))
    }

    fn relation_by_text(
        &mut self,
        text: &str,
        display: &str,
        arity: usize,
        location: Option<Location>,
    ) -> Result<RelId, Error> {
        let key = self.relation_key(text);
        if let Some(&id) = self.names.by_key.get(&key) {
            if let Some(info) = self.relations.get_mut(id) {
                if info.arity == usize::MAX {
                    info.arity = arity;
                } else if info.arity != arity {
                    return Err(Error::Arity {
                        relation: info.name.clone(),
                        expected: info.arity,
                        found: arity,
                        location,
                    });
                }
            }
            return Ok(id);
        }
        let id = self.relations.len();
        self.names.by_key.insert(key, id);
        self.relations.push(RelationInfo {
            name: display.to_string(),
            arity,
        });
        self.facts.push(Vec::new());
        Ok(id)
    }

    /// The value a constant of rule text stands for (prefixed names
    /// expanded with this program's prefixes).
    pub fn constant_value(&self, value: &ConstValue) -> Value {
        self.constant(value)
    }

    fn constant(&self, value: &ConstValue) -> Value {
        match value {
            ConstValue::Symbol(s) => Value::symbol(s),
            ConstValue::String(s) => Value::string(s),
            ConstValue::Int(i) => Value::Int(*i),
            ConstValue::Float(x) => Value::float(*x),
            ConstValue::Bool(b) => Value::Bool(*b),
            ConstValue::Iri(i) => Value::iri(i),
            ConstValue::Prefixed { prefix, local } => {
                match self
                    .relation_key(&format!("{prefix}:{local}"))
                    .strip_prefix('<')
                {
                    Some(iri) => Value::iri(iri.trim_end_matches('>')),
                    None => Value::symbol(format!("{prefix}:{local}")),
                }
            }
        }
    }
}

/// Where a byte offset of a source is.
pub(crate) fn location(source: &SourceFile, offset: usize) -> Location {
    source.location(offset)
}

/// The value of a weight, given the parameters' values.
fn value_of(params: &BTreeMap<ParamKey, f64>, weight: &Weight) -> f64 {
    match weight {
        Weight::Fixed(p) => *p,
        Weight::Tunable(key) => params.get(key).copied().unwrap_or(0.5),
    }
}

/// A disjunction's heads split into the sum of the written ones and the
/// tunable ones with their current values.
fn split_heads<'w>(
    params: &BTreeMap<ParamKey, f64>,
    heads: &'w [Weight],
) -> (f64, Vec<(&'w ParamKey, f64)>) {
    let (mut fixed, mut tunable) = (0.0, Vec::new());
    for w in heads {
        match w {
            Weight::Fixed(p) => fixed += p,
            Weight::Tunable(key) => tunable.push((key, value_of(params, w))),
        }
    }
    (fixed, tunable)
}

/// [`conditional_choices`] of the heads' current values.
fn conditional(params: &BTreeMap<ParamKey, f64>, heads: &[Weight]) -> Vec<f64> {
    let values: Vec<f64> = heads.iter().map(|w| value_of(params, w)).collect();
    conditional_choices(&values)
}

/// The probabilities of the choices a head depends on, from the
/// probabilities `p` of the heads up to it (one outside a disjunction).
/// Head `i` holds when choices `0..i` fail and choice `i` happens, so
/// choice `i` has probability `p_i / (1 - p_0 - ... - p_{i-1})` and head
/// `i` exactly `p_i`; a proof that takes two heads holds a choice and its
/// negation, and is dropped. (ProbLog's encoding of annotated disjunctions
/// as independent facts.)
fn conditional_choices(p: &[f64]) -> Vec<f64> {
    let mut left = 1.0;
    let mut out = Vec::with_capacity(p.len());
    for &p in p {
        let q = if left > 0.0 {
            (p / left).clamp(0.0, 1.0)
        } else {
            0.0
        };
        out.push(q);
        left -= p;
    }
    out
}

/// How the probability of the last choice of [`conditional_choices`]
/// moves with each head's probability: `q = p_j / L` with
/// `L = 1 - p_0 - ... - p_{j-1}`, so `dq/dp_j = 1 / L` and
/// `dq/dp_k = p_j / L^2` for `k < j`.
pub(crate) fn choice_sensitivity(p: &[f64]) -> Vec<f64> {
    let Some((&last, before)) = p.split_last() else {
        return Vec::new();
    };
    let left = 1.0 - before.iter().sum::<f64>();
    if left <= 0.0 {
        return vec![0.0; p.len()];
    }
    let mut out = vec![last / (left * left); before.len()];
    out.push(1.0 / left);
    out
}

/// A relation facts are added to by [`Program::add_indexed_fact`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FactRelation {
    rel: RelId,
    arity: usize,
}

/// A block's distinct values, interned the first time a fact uses each
/// (see [`Program::add_indexed_fact`]).
#[derive(Debug)]
pub struct ValueTable<'a> {
    values: &'a [Value],
    /// The interned id of each value, `u32::MAX` while not yet interned.
    ids: Vec<u32>,
}

impl<'a> ValueTable<'a> {
    /// The table of `values`, none interned yet.
    pub fn new(values: &'a [Value]) -> Self {
        ValueTable {
            values,
            ids: vec![u32::MAX; values.len()],
        }
    }

    /// The values of the table.
    pub fn values(&self) -> &'a [Value] {
        self.values
    }
}
