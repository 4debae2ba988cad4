//! A program evaluated once, answering many requests that each add a few
//! facts: only the relations that depend on the added facts are derived
//! again; every other relation is taken as the base evaluation left it.
//!
//! ```
//! use nesy_engine::{Limits, Program, Value};
//! let checked = nesy_lang::check_source("r.nesy", "
//!     @decl applicant(id: symbol, income: int).
//!     blacklisted(a2).
//!     rich(A) :- applicant(A, I), I > 50000, not blacklisted(A).
//! ");
//! let mut program = Program::new();
//! program.add_source(&checked.source, &checked.program)?;
//! let prepared = program.prepare(&Limits::default())?;
//! let result = prepared.evaluate_with(
//!     &[("applicant".to_string(), vec![Value::symbol("a1"), Value::Int(90000)])],
//!     &Limits::default(),
//! )?;
//! assert!(result.contains("rich", &[Value::symbol("a1")]));
//! // `blacklisted` does not depend on the input: it was not derived again.
//! assert_eq!(prepared.rederived(&["applicant"]), ["applicant", "rich"]);
//! # Ok::<(), nesy_engine::Error>(())
//! ```

use crate::Error;
use crate::eval;
use crate::explain::{ExplainOptions, Explanation, RuleRef};
use crate::ir::{RelationInfo, Rule};
use crate::limits::{Clock, Limits};
use crate::program::{GoalAtom, Program};
use crate::provenance::{TaggedBase, TaggedEvaluation, TaggedRelation, TaggedRow};
use crate::result::Evaluation;
use crate::semiring::SemiringKind;
use crate::split;
use crate::storage::Store;
use crate::value::{Interner, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A program and its base evaluation, ready for requests.
pub struct Prepared {
    program: Program,
    relations: Vec<RelationInfo>,
    rules: Vec<Rule>,
    base: Evaluation,
    interner: Arc<Interner>,
    /// The base evaluation under a semiring, if one was asked for.
    tagged: Option<TaggedBase>,
    /// What requests run, by the relations their input goes to (sorted).
    plans: RwLock<HashMap<PlanKey, Arc<RequestPlan>>>,
}

/// A kind of request: the relations its input goes to (sorted), and the
/// one relation it asks for (none: all of them).
type PlanKey = (Vec<usize>, Option<usize>);

/// A request's evaluation, its plan, and its input rows per relation.
type Request = (eval::Outcome, Arc<RequestPlan>, Vec<Vec<u32>>);

/// A relation's rows under a request ([`Prepared::answer_with`]), with
/// the request's evaluation kept for explaining them.
pub struct Answered {
    /// The relation's rows, sorted.
    pub rows: Vec<Vec<Value>>,
    evaluation: Evaluation,
    given: Vec<Vec<u32>>,
    /// One deadline for the request and its explanations.
    clock: Clock,
}

impl std::fmt::Debug for Answered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answered")
            .field("rows", &self.rows.len())
            .finish_non_exhaustive()
    }
}

/// Kinds of request (sets of input relations) whose plans are kept; a
/// request of another kind is planned for itself.
const KEPT_PLANS: usize = 64;

/// What requests with input facts of one set of relations run, planned
/// once: a request then costs its rows' joins, not planning, sorting the
/// base again or copying the relations it does not read.
struct RequestPlan {
    /// The relations derived again.
    dirty: Vec<bool>,
    /// Their plans: the strata holding a relation derived again.
    strata: Vec<eval::PlannedStratum>,
    /// The store each relation starts from, with the indexes the plans
    /// read: a relation derived again, the base evaluation's (when the
    /// request can only add to it) or the program's facts; one the rules
    /// read, the base evaluation's (sharing its sorted runs); none for the
    /// others (an empty store). Then, for each relation derived again, a
    /// store for the rows the request adds to it; then the base's stores
    /// of the relations a first round reads as they were.
    stores: Vec<Option<Store>>,
    /// The relations the asked one reads that the request neither
    /// derives again nor starts a store for: an explanation's proofs go
    /// down to them, so [`Prepared::answer_with`] takes the base's.
    from_base: Vec<usize>,
}

impl Program {
    /// Evaluates the program once for [`Prepared::evaluate_with`].
    pub fn prepare(&self, limits: &Limits) -> Result<Prepared, Error> {
        let base = self.evaluate(limits)?;
        let mut relations = self.relations.clone();
        let rules = split::split_rules(&mut relations, &self.rules);
        Ok(self.prepared(relations, rules, base))
    }

    /// [`Program::prepare`] with the base evaluation given: one another
    /// backend computed ([`Program::evaluation_from_rows`]), such as a
    /// dataflow kept up to date as facts change. Its requests run the
    /// rules as written: the base has no rows for the intermediate
    /// relations the native planner splits long rules into.
    pub fn prepare_from(&self, base: Evaluation) -> Prepared {
        self.prepared(self.relations.clone(), self.rules.clone(), base)
    }

    fn prepared(
        &self,
        relations: Vec<RelationInfo>,
        rules: Vec<Rule>,
        base: Evaluation,
    ) -> Prepared {
        Prepared {
            interner: Arc::new(base.interner.clone()),
            program: self.clone(),
            relations,
            rules,
            base,
            tagged: None,
            plans: RwLock::default(),
        }
    }
}

/// The relations derived again when facts of `inputs` are added: the
/// inputs and everything that depends on them, through `rules`.
fn dirty_relations(n: usize, rules: &[Rule], inputs: &[usize]) -> Vec<bool> {
    let mut dirty = vec![false; n];
    for &r in inputs {
        if let Some(d) = dirty.get_mut(r) {
            *d = true;
        }
    }
    loop {
        let mut changed = false;
        for rule in rules {
            if dirty.get(rule.head).copied().unwrap_or(true) {
                continue;
            }
            if rule
                .dependencies()
                .iter()
                .any(|(r, _)| dirty.get(*r).copied().unwrap_or(false))
            {
                if let Some(d) = dirty.get_mut(rule.head) {
                    *d = true;
                }
                changed = true;
            }
        }
        if !changed {
            return dirty;
        }
    }
}

/// The relations `target` depends on through `rules`, itself included.
fn reads(n: usize, rules: &[Rule], target: usize) -> Vec<bool> {
    let mut read = vec![false; n];
    let mut stack = vec![target];
    while let Some(r) = stack.pop() {
        match read.get_mut(r) {
            Some(seen) if !*seen => *seen = true,
            _ => continue,
        }
        for rule in rules.iter().filter(|rule| rule.head == r) {
            stack.extend(rule.dependencies().into_iter().map(|(dep, _)| dep));
        }
    }
    read
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("relations", &self.relations.len())
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// The base evaluation (no request facts).
    pub fn base(&self) -> &Evaluation {
        &self.base
    }

    /// The program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Ids of the relations derived again when facts of `inputs` are added:
    /// the inputs and everything that depends on them.
    fn dirty(&self, inputs: &[usize]) -> Vec<bool> {
        dirty_relations(self.relations.len(), &self.rules, inputs)
    }

    /// Also evaluates the base under `semiring`, for
    /// [`Prepared::evaluate_tagged_with`] (`bool` keeps no tags).
    ///
    /// ```
    /// use nesy_engine::{Limits, Program, SemiringKind, Value};
    /// let checked = nesy_lang::check_source("r.nesy", "
    ///     @decl applicant(id: symbol).
    ///     0.9 :: verified(a1).
    ///     0.5 :: busy.
    ///     approve(A) :- applicant(A), verified(A), not busy.
    /// ");
    /// let mut program = Program::new();
    /// program.add_source(&checked.source, &checked.program)?;
    /// let prepared = program
    ///     .prepare(&Limits::default())?
    ///     .with_semiring(SemiringKind::MaxProb, &Limits::default())?;
    /// let input = [("applicant".to_string(), vec![Value::symbol("a1")])];
    /// let tagged = prepared.evaluate_tagged_with(&input, &Limits::default())?;
    /// let p = tagged.probability("approve", &[Value::symbol("a1")]).unwrap();
    /// assert!((p - 0.9 * 0.5).abs() < 1e-12);
    /// # Ok::<(), nesy_engine::Error>(())
    /// ```
    pub fn with_semiring(mut self, semiring: SemiringKind, limits: &Limits) -> Result<Self, Error> {
        self.tagged = self.program.prepare_tagged(semiring, limits)?;
        Ok(self)
    }

    /// Whether the base holds tuples of a relation derived by a rule that
    /// calls the model `name`. A request derives again only what its input
    /// reaches, so after that model changes (a network trained in place)
    /// such a base is stale and must be prepared again; a base that never
    /// called it stays right.
    pub fn base_calls_model(&self, name: &str) -> bool {
        self.program.rules.iter().any(|rule| {
            rule.calls_model(name)
                && self
                    .program
                    .relations
                    .get(rule.head)
                    .and_then(|info| self.base.count(&info.name))
                    .is_some_and(|n| n > 0)
        })
    }

    /// The semiring requests are tagged in.
    pub fn semiring(&self) -> SemiringKind {
        self.tagged
            .as_ref()
            .map_or(SemiringKind::Bool, |t| t.evaluation.semiring())
    }

    /// [`Prepared::evaluate_with`] under the semiring of
    /// [`Prepared::with_semiring`]: every tuple with its probability. Only
    /// the relations that depend on the input are derived (and tagged)
    /// again; the others keep the base evaluation's tuples and tags.
    /// Without a semiring, every tuple of the plain evaluation has
    /// probability 1.
    pub fn evaluate_tagged_with(
        &self,
        input: &[(String, Vec<Value>)],
        limits: &Limits,
    ) -> Result<TaggedEvaluation, Error> {
        let Some(tagged) = &self.tagged else {
            return Ok(TaggedEvaluation::certain(
                self.evaluate_with(input, limits)?,
            ));
        };
        self.tagged_request(tagged, input, None, limits)
    }

    /// A request under the tagged base: what depends on the input (and,
    /// with a `target`, what it reads) derived and tagged again.
    fn tagged_request(
        &self,
        tagged: &TaggedBase,
        input: &[(String, Vec<Value>)],
        target: Option<usize>,
        limits: &Limits,
    ) -> Result<TaggedEvaluation, Error> {
        let mut interner = Interner::layered(Arc::clone(&tagged.interner));
        let (extra, inputs) = self.input_rows(input, &mut interner)?;
        let n = self.program.relations.len();
        let mut dirty = dirty_relations(n, &self.program.rules, &inputs);
        if let Some(target) = target {
            for (d, r) in dirty.iter_mut().zip(reads(n, &self.program.rules, target)) {
                *d &= r;
            }
        }
        tagged.request(&self.program, &dirty, &extra, interner, limits)
    }

    /// Relation `name`'s tuples and probabilities with `input` facts
    /// added, under the semiring of [`Prepared::with_semiring`] (1 each
    /// without one): [`Prepared::evaluate_tagged_with`] for one relation,
    /// deriving and tagging again only what it reads. `None` for a
    /// relation the program does not have.
    pub fn relation_tagged_with(
        &self,
        name: &str,
        input: &[(String, Vec<Value>)],
        limits: &Limits,
    ) -> Result<Option<TaggedRelation>, Error> {
        let Some(rel) = self.program.names.lookup(name) else {
            return Ok(None);
        };
        let Some(tagged) = &self.tagged else {
            let arity = self.relations.get(rel).map_or(0, |r| r.arity);
            return Ok(self
                .relation_with(name, input, limits)?
                .map(|rows| TaggedRelation {
                    name: name.to_string(),
                    arity,
                    rows: rows
                        .into_iter()
                        .map(|tuple| TaggedRow {
                            tuple,
                            probability: 1.0,
                        })
                        .collect(),
                }));
        };
        Ok(self
            .tagged_request(tagged, input, Some(rel), limits)?
            .relation(name))
    }

    /// The input facts as rows per relation, and the relations they go to.
    fn input_rows(
        &self,
        input: &[(String, Vec<Value>)],
        interner: &mut Interner,
    ) -> Result<(Vec<Vec<u32>>, Vec<usize>), Error> {
        let mut extra: Vec<Vec<u32>> = vec![Vec::new(); self.relations.len()];
        let mut inputs = Vec::new();
        for (name, values) in input {
            let Some(rel) = self.program.names.lookup(name) else {
                return Err(Error::UnknownRelation(name.clone()));
            };
            let arity = self.relations.get(rel).map_or(0, |r| r.arity);
            if arity != usize::MAX && arity != values.len() {
                return Err(Error::Arity {
                    relation: name.clone(),
                    expected: arity,
                    found: values.len(),
                    location: None,
                });
            }
            let row: Vec<u32> = values.iter().map(|v| interner.intern(v.clone())).collect();
            if let Some(rows) = extra.get_mut(rel) {
                if row.is_empty() {
                    rows.push(0);
                } else {
                    rows.extend(row);
                }
            }
            inputs.push(rel);
        }
        Ok((extra, inputs))
    }

    /// The names of the relations an input to `relations` makes derive
    /// again (internal helper relations left out), sorted.
    pub fn rederived(&self, relations: &[&str]) -> Vec<String> {
        let ids: Vec<usize> = relations
            .iter()
            .filter_map(|r| self.program.names.lookup(r))
            .collect();
        let mut out: Vec<String> = self
            .dirty(&ids)
            .iter()
            .enumerate()
            .filter(|(_, d)| **d)
            .filter_map(|(r, _)| self.relations.get(r).map(|i| i.name.clone()))
            .filter(|n| !n.starts_with(split::INTERNAL))
            .collect();
        out.sort();
        out
    }

    /// Evaluates with `input` facts added (`(relation, values)`): the
    /// relations that depend on them are derived from the program's facts
    /// plus the input (or, where the input can only add tuples, from the
    /// base's tuples plus what the input adds); every other relation keeps
    /// its base tuples. Its statistics have the total time only.
    pub fn evaluate_with(
        &self,
        input: &[(String, Vec<Value>)],
        limits: &Limits,
    ) -> Result<Evaluation, Error> {
        let (outcome, _, _) = self.run_request(input, limits, None)?;
        Ok(self.assemble(outcome))
    }

    /// The rows of relation `name` with `input` facts added, sorted as
    /// [`Evaluation::relation`]'s; `None` for an unknown relation. What
    /// [`Prepared::evaluate_with`] computes for that relation, without
    /// copying the relations it does not need.
    ///
    /// ```
    /// use nesy_engine::{Limits, Program, Value};
    /// let checked = nesy_lang::check_source("r.nesy", "
    ///     @decl applicant(id: symbol, income: int).
    ///     rich(A) :- applicant(A, I), I > 50000.
    /// ");
    /// let mut program = Program::new();
    /// program.add_source(&checked.source, &checked.program)?;
    /// let prepared = program.prepare(&Limits::default())?;
    /// let input = [("applicant".to_string(), vec![Value::symbol("a1"), Value::Int(90000)])];
    /// let rows = prepared.relation_with("rich", &input, &Limits::default())?;
    /// assert_eq!(rows, Some(vec![vec![Value::symbol("a1")]]));
    /// # Ok::<(), nesy_engine::Error>(())
    /// ```
    pub fn relation_with(
        &self,
        name: &str,
        input: &[(String, Vec<Value>)],
        limits: &Limits,
    ) -> Result<Option<Vec<Vec<Value>>>, Error> {
        let Some(rel) = self.program.names.lookup(name) else {
            return Ok(None);
        };
        let (outcome, plan, _) = self.run_request(input, limits, Some(rel))?;
        Ok(self.target_rows(name, rel, &outcome, &plan))
    }

    /// [`Prepared::relation_with`], the request's evaluation kept to
    /// explain the rows ([`Prepared::explain_answered`],
    /// [`Prepared::rules_used_answered`]): a decision explained costs one
    /// evaluation of what its relation reads, not a second of the whole
    /// program.
    pub fn answer_with(
        &self,
        name: &str,
        input: &[(String, Vec<Value>)],
        limits: &Limits,
    ) -> Result<Option<Answered>, Error> {
        let Some(rel) = self.program.names.lookup(name) else {
            return Ok(None);
        };
        let clock = Clock::start(limits);
        let (mut outcome, plan, given) = self.run_request(input, limits, Some(rel))?;
        let Some(rows) = self.target_rows(name, rel, &outcome, &plan) else {
            return Ok(None);
        };
        // What the relation reads and the request left alone, as in the
        // base: proofs go down to it.
        for &r in &plan.from_base {
            if let (Some(store), Some(base)) = (outcome.stores.get_mut(r), self.base.stores.get(r))
            {
                *store = base.clone();
            }
        }
        Ok(Some(Answered {
            rows,
            evaluation: self.assemble(outcome),
            given,
            clock,
        }))
    }

    /// Relation `rel`'s rows after a request asking for it.
    fn target_rows(
        &self,
        name: &str,
        rel: usize,
        outcome: &eval::Outcome,
        plan: &RequestPlan,
    ) -> Option<Vec<Vec<Value>>> {
        let (info, store) = (self.relations.get(rel)?, outcome.stores.get(rel)?);
        if !plan.dirty.get(rel).copied().unwrap_or(false) {
            return self.base.sorted_rows(name).map(|rows| rows.to_vecs());
        }
        Some(crate::result::sorted_rows(info, store, &outcome.interner).to_vecs())
    }

    /// [`Prepared::explain_atoms_with`] over an answer's own evaluation;
    /// the goals must be of the answer's relation (or of relations it
    /// reads).
    pub fn explain_answered(
        &self,
        answered: &mut Answered,
        goals: &[(String, Vec<Option<Value>>)],
        options: &ExplainOptions,
        limits: &Limits,
    ) -> Result<Vec<Vec<Explanation>>, Error> {
        let queries = self.queries(&mut answered.evaluation, goals)?;
        self.program.explain_goals_given(
            &mut answered.evaluation,
            &queries,
            options,
            limits,
            &answered.clock,
            &answered.given,
        )
    }

    /// Explains a goal written as text (its variables keep their names),
    /// over an answer's own evaluation.
    pub fn explain_goal_answered(
        &self,
        answered: &mut Answered,
        goal: &GoalAtom,
        options: &ExplainOptions,
        limits: &Limits,
    ) -> Result<Vec<Explanation>, Error> {
        let query = self.program.atom_query_in(
            &goal.relation,
            &goal.args,
            Some(&goal.names),
            &mut answered.evaluation.interner,
        )?;
        self.program.explain_given(
            &mut answered.evaluation,
            &query,
            options,
            limits,
            &answered.clock,
            &answered.given,
        )
    }

    /// [`Prepared::rules_used_with`] over an answer's own evaluation.
    pub fn rules_used_answered(
        &self,
        answered: &mut Answered,
        goals: &[(String, Vec<Option<Value>>)],
        limits: &Limits,
    ) -> Result<Vec<Vec<RuleRef>>, Error> {
        let queries = self.queries(&mut answered.evaluation, goals)?;
        self.program.rules_used_given(
            &mut answered.evaluation,
            &queries,
            limits,
            &answered.clock,
            &answered.given,
        )
    }

    /// Goals as queries over an evaluation of this program.
    fn queries(
        &self,
        evaluation: &mut Evaluation,
        goals: &[(String, Vec<Option<Value>>)],
    ) -> Result<Vec<crate::Query>, Error> {
        goals
            .iter()
            .map(|(relation, args)| {
                self.program
                    .atom_query_in(relation, args, None, &mut evaluation.interner)
            })
            .collect()
    }

    /// Why each goal holds, or why not, with `input` facts added: the
    /// proofs are searched in the request's own evaluation (what
    /// [`Prepared::evaluate_with`] computes), and the input's facts are
    /// facts of them. A goal is a relation and its arguments, `None` for a
    /// variable.
    ///
    /// ```
    /// use nesy_engine::{ExplainOptions, Limits, Program, Value};
    /// let checked = nesy_lang::check_source("r.nesy", "
    ///     @decl applicant(id: symbol, income: int).
    ///     rich(A) :- applicant(A, I), I > 50000.
    /// ");
    /// let mut program = Program::new();
    /// program.add_source(&checked.source, &checked.program)?;
    /// let prepared = program.prepare(&Limits::default())?;
    /// let input = [("applicant".to_string(), vec![Value::symbol("a1"), Value::Int(90000)])];
    /// let goal = ("rich".to_string(), vec![Some(Value::symbol("a1"))]);
    /// let why = prepared.explain_atoms_with(&input, &[goal], &ExplainOptions::default(), &Limits::default())?;
    /// assert!(why[0][0].holds);
    /// # Ok::<(), nesy_engine::Error>(())
    /// ```
    pub fn explain_atoms_with(
        &self,
        input: &[(String, Vec<Value>)],
        goals: &[(String, Vec<Option<Value>>)],
        options: &ExplainOptions,
        limits: &Limits,
    ) -> Result<Vec<Vec<Explanation>>, Error> {
        let mut whole = self.whole_with(input, limits)?;
        self.explain_answered(&mut whole, goals, options, limits)
    }

    /// For each goal, the rules of its first proof in the evaluation with
    /// `input` (none for a goal that does not hold), as
    /// [`Prepared::explain_atoms_with`] would show them, without building
    /// the explanations: what a decision log records.
    pub fn rules_used_with(
        &self,
        input: &[(String, Vec<Value>)],
        goals: &[(String, Vec<Option<Value>>)],
        limits: &Limits,
    ) -> Result<Vec<Vec<RuleRef>>, Error> {
        let mut whole = self.whole_with(input, limits)?;
        self.rules_used_answered(&mut whole, goals, limits)
    }

    /// The request's evaluation of every relation, kept to explain any.
    fn whole_with(
        &self,
        input: &[(String, Vec<Value>)],
        limits: &Limits,
    ) -> Result<Answered, Error> {
        let clock = Clock::start(limits);
        let (outcome, _, given) = self.run_request(input, limits, None)?;
        Ok(Answered {
            rows: Vec::new(),
            evaluation: self.assemble(outcome),
            given,
            clock,
        })
    }

    /// A request's whole outcome as an evaluation of the program.
    fn assemble(&self, outcome: eval::Outcome) -> Evaluation {
        Evaluation::assemble(
            self.program.names.clone(),
            self.relations.clone(),
            &self.rules,
            outcome,
        )
    }

    /// Runs a request's plan over the input's rows. Without a `target`,
    /// every relation is in the outcome (those not derived again copied
    /// from the base); with one, only what it reads is derived (a decision
    /// does not pay for relations it does not depend on).
    fn run_request(
        &self,
        input: &[(String, Vec<Value>)],
        limits: &Limits,
        target: Option<usize>,
    ) -> Result<Request, Error> {
        let whole = target.is_none();
        let mut interner = Interner::layered(Arc::clone(&self.interner));
        let (extra, inputs) = self.input_rows(input, &mut interner)?;
        let plan = self.request_plan(inputs, target)?;
        let n = self.relations.len();
        let stores: Vec<Store> = (0..3 * n)
            .map(|r| {
                let start = plan.stores.get(r).and_then(Option::as_ref);
                let mut store = match start {
                    Some(store) => store.clone(),
                    None if whole && r < n => {
                        self.base.stores.get(r).cloned().unwrap_or_else(|| {
                            Store::new(self.relations.get(r).map_or(0, RelationInfo::stored_arity))
                        })
                    }
                    None => Store::new(
                        self.relations
                            .get(r % n.max(1))
                            .map_or(0, RelationInfo::stored_arity),
                    ),
                };
                if let Some(rows) = extra.get(r) {
                    store.to_add.extend_from_slice(rows);
                }
                store
            })
            .collect();
        let mut outcome =
            eval::run_planned(&self.relations, &plan.strata, stores, interner, limits)?;
        // What the request added, relation by relation, served its strata.
        outcome.stores.truncate(n);
        Ok((outcome, plan, extra))
    }

    /// The plan of requests whose input goes to `inputs` (asking for
    /// `target` only, if given), made on the first such request.
    fn request_plan(
        &self,
        mut inputs: Vec<usize>,
        target: Option<usize>,
    ) -> Result<Arc<RequestPlan>, Error> {
        inputs.sort_unstable();
        inputs.dedup();
        let key = (inputs, target);
        if let Some(plan) = self
            .plans
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(Arc::clone(plan));
        }
        let mut dirty = self.dirty(&key.0);
        let target_reads = target.map(|t| reads(self.relations.len(), &self.rules, t));
        if let Some(read) = &target_reads {
            for (d, r) in dirty.iter_mut().zip(read) {
                *d &= r;
            }
        }
        let is_dirty = |r: usize| dirty.get(r).copied().unwrap_or(false);
        let n = self.relations.len();
        let planned = eval::plan_request(
            &self.relations,
            &self.rules,
            &dirty,
            &self.base.stores,
            &self.program.facts,
        )?;
        let read = planned.read;
        let old = planned.old;
        let strata = planned.strata;
        let stores = planned
            .stores
            .into_iter()
            .enumerate()
            .map(|(r, s)| {
                let kept = if r < n {
                    is_dirty(r) || read.get(r).copied().unwrap_or(false)
                } else if r < 2 * n {
                    is_dirty(r - n)
                } else {
                    // The base's rows, for a first round that reads them.
                    old.get(r - 2 * n).copied().unwrap_or(false)
                };
                kept.then_some(s)
            })
            .collect::<Vec<Option<Store>>>();
        let from_base = target_reads
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter(|&(r, &read)| read && !is_dirty(r) && stores.get(r).is_none_or(Option::is_none))
            .map(|(r, _)| r)
            .collect();
        let plan = Arc::new(RequestPlan {
            dirty,
            strata,
            stores,
            from_base,
        });
        let mut plans = self.plans.write().unwrap_or_else(|e| e.into_inner());
        if plans.len() < KEPT_PLANS {
            plans.insert(key, Arc::clone(&plan));
        }
        Ok(plan)
    }
}
