//! Explanations: why a fact holds (a proof tree down to base facts) and why
//! it does not (each rule that could derive it, and the first literal that
//! fails).
//!
//! ```
//! use nesy_engine::{ExplainOptions, Limits, Program};
//! use nesy_lang::check_source;
//!
//! let checked = check_source("family.nesy", "
//!     parent(alice, bob). parent(bob, carol).
//!     @name(step) ancestor(X, Y) :- parent(X, Y).
//!     ancestor(X, Z) :- parent(X, Y), ancestor(Y, Z).
//!     ?- ancestor(alice, carol).
//!     ?- ancestor(carol, alice).
//! ");
//! let mut program = Program::new();
//! program.add_source(&checked.source, &checked.program)?;
//! let mut evaluation = program.evaluate(&Limits::default())?;
//! let queries = program.queries().to_vec();
//! let why = &program.explain(&mut evaluation, &queries[0], &ExplainOptions::default())?[0];
//! assert!(why.holds);
//! assert_eq!(why.premises.len(), 2); // parent(alice, bob), ancestor(bob, carol)
//! assert_eq!(why.premises[1].rule.as_ref().unwrap().name.as_deref(), Some("step"));
//! let why_not = &program.explain(&mut evaluation, &queries[1], &ExplainOptions::default())?[0];
//! assert!(!why_not.holds);
//! assert_eq!(why_not.attempts.len(), 2); // both ancestor rules, each with its failing literal
//! # Ok::<(), nesy_engine::Error>(())
//! ```
//!
//! Proofs are reconstructed on demand from the evaluated relations: plain
//! evaluation keeps nothing extra. To explain `p(c)`, each rule for `p` is
//! run again with its head bound to `c`; a binding whose premises can all be
//! explained in turn (without going round a cycle) is a proof.
//!
//! The parts: this file holds the tree's types and the entry points;
//! `render.rs` draws a tree as text and DOT; `proof.rs` searches proofs;
//! `why_not.rs` says why a fact does not hold; `tagged.rs` explains what a
//! semiring computed from the proofs it kept.

mod kept;
mod proof;
mod render;
mod tagged;
mod why_not;

use crate::eval;
use crate::ir::{Arg, Expr, Lit, RelId, Rule, name_wildcards};
use crate::program::Program;
use crate::result::Evaluation;
use crate::value::{Interner, Value, atom_text};
use crate::{Clock, Error, Limits};
use nesy_lang::Location;
use nesy_lang::ast::CmpOp;
use proof::ProofStep;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::collections::BTreeMap;

/// How far explanations go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExplainOptions {
    /// Also list alternative proofs of the fact, up to `max_proofs`.
    pub all: bool,
    /// Most proofs listed with `all`; most answers explained for a goal with
    /// variables.
    pub max_proofs: usize,
    /// How deep "why not" follows a missing premise into its own rules
    /// (at most [`MAX_WHY_NOT_DEPTH`]).
    pub why_not_depth: usize,
    /// Rule bindings tried in all before giving up on a proof (bounds the
    /// search on highly recursive programs).
    pub budget: usize,
    /// Levels of a proof tree shown; a step below is listed with
    /// `truncated` and no premises (at most [`MAX_PROOF_DEPTH`]). The
    /// default, 50, keeps the JSON form (two levels of nesting per proof
    /// level) within what common JSON readers accept (serde_json: 128).
    pub max_depth: usize,
    /// Nodes of a proof tree shown (shared sub-proofs count each time they
    /// are shown); past it, steps are `truncated`.
    pub max_nodes: usize,
}

/// The deepest proof tree an explanation shows. Trees are searched and
/// drawn without recursion, but serializers (serde, and the JSON readers
/// of most languages) recurse on nesting.
pub const MAX_PROOF_DEPTH: usize = 1000;

/// The deepest "why not" an explanation follows.
pub const MAX_WHY_NOT_DEPTH: usize = 8;

impl Default for ExplainOptions {
    fn default() -> Self {
        ExplainOptions {
            all: false,
            max_proofs: 10,
            why_not_depth: 3,
            budget: 10_000,
            max_depth: 50,
            max_nodes: 10_000,
        }
    }
}

/// The tag of a node: how much the fact is believed. Plain evaluation
/// knows only true and false.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Tag {
    /// Holds or not.
    Bool(bool),
    /// The probability under a probabilistic semiring.
    Probability(f64),
}

/// A rule, by `@name` and place.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleRef {
    /// The `@name`, if the rule has one.
    pub name: Option<String>,
    /// Where the rule is written (`file:line:col` in JSON).
    pub location: Location,
    /// The rule's probability (`p :: rule`, a disjunction head's, or a
    /// tunable one's current, learned value), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

/// What kind of step a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A fact of the program (written in a rule file or imported).
    Fact,
    /// Derived by a rule from the premises.
    Rule,
    /// `not atom`: no tuple matches.
    Negation,
    /// A comparison or an assignment, with the values it compared.
    Comparison,
    /// An aggregate over a group.
    Aggregate,
    /// Does not hold, and no rule could derive it (see `attempts`).
    Missing,
    /// A learned model's answer (see `model`).
    Model,
    /// A tuple's probability under a semiring; its premises are the
    /// proofs it was computed from.
    Proofs,
    /// One proof kept by the semiring; its premises are its events.
    Proof,
    /// An event of a proof: a probabilistic fact, a weighted rule's
    /// instance, a choice of an annotated disjunction or a model's answer
    /// (`not ...`: one that must not happen).
    Event,
}

/// A model call in a proof: which model, what it answered, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelCallNode {
    /// The model, described: `CART tree models/credit.tree`.
    pub model: String,
    /// `name.method`.
    pub call: String,
    /// The input values.
    pub inputs: Vec<Value>,
    /// The output values.
    pub outputs: Vec<Value>,
    /// The model's probability for this answer.
    pub probability: f64,
    /// The model's own explanation (a decision path), when it gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<crate::foreign::ModelExplanation>,
}

/// The group an aggregate premise summarised.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AggregateGroup {
    /// `count`, `sum`, ...
    pub function: String,
    /// The distinct term tuples aggregated (at most 100 are listed).
    pub rows: Vec<Vec<Value>>,
    /// How many there were.
    pub size: usize,
    /// The result.
    pub result: Value,
}

/// One rule that could have derived a fact that does not hold, and where it
/// failed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attempt {
    /// The rule.
    pub rule: RuleRef,
    /// The bindings known when the literal failed.
    pub bindings: BTreeMap<String, Value>,
    /// The literal that failed, with those bindings substituted.
    pub failed: String,
    /// Why it failed.
    pub reason: String,
    /// For a missing derived atom: why that does not hold, in turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<Box<Explanation>>,
    /// For a negation that failed: why the negated atom holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<Box<Explanation>>,
}

/// Why a fact holds, or why not. The JSON form is stable:
/// `{"fact", "holds", "tag", "kind", "rule": {"name", "location"} | null,
/// "bindings": {...}, "source": "file:line:col" | null, "premises": [...]}`,
/// plus `aggregate` on aggregate nodes, `attempts` when the fact does not
/// hold, and `alternatives` (other proofs) when asked for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    /// The fact, as written in rules: `ancestor(alice, carol)`.
    pub fact: String,
    /// Whether it holds.
    pub holds: bool,
    /// How much it is believed.
    pub tag: Tag,
    /// What kind of step this is.
    pub kind: NodeKind,
    /// The rule that derived it (rule nodes).
    pub rule: Option<RuleRef>,
    /// The rule's variable bindings (rule nodes).
    pub bindings: BTreeMap<String, Value>,
    /// Where a base fact was written or imported (`file:line:col`, or
    /// `file:line` for an imported row).
    pub source: Option<String>,
    /// The premises, in the rule's body order.
    pub premises: Vec<Explanation>,
    /// For aggregate nodes: the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<AggregateGroup>,
    /// For facts that do not hold: each rule that could derive it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// Other proofs of the same fact (with `all`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Explanation>,
    /// For model nodes: the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelCallNode>,
    /// The proof goes on below this step, but past
    /// [`ExplainOptions::max_depth`] or `max_nodes`: its premises are not
    /// shown.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// For [`NodeKind::Proofs`]: the semiring that computed the tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semiring: Option<String>,
    /// The relation and tuple of the node, for tagging.
    #[serde(skip)]
    atom: Option<(String, Vec<Value>)>,
}

impl Explanation {
    fn leaf(fact: String, kind: NodeKind) -> Self {
        Explanation {
            fact,
            holds: true,
            tag: Tag::Bool(true),
            kind,
            rule: None,
            bindings: BTreeMap::new(),
            source: None,
            premises: Vec::new(),
            aggregate: None,
            attempts: Vec::new(),
            alternatives: Vec::new(),
            model: None,
            truncated: false,
            semiring: None,
            atom: None,
        }
    }

    /// Replaces each node's tag with its probability under the semiring of
    /// `tagged` (which must come from the same program).
    pub fn apply_tags(&mut self, tagged: &crate::TaggedEvaluation) {
        let mut stack: Vec<&mut Explanation> = vec![self];
        while let Some(node) = stack.pop() {
            if let Some((relation, tuple)) = &node.atom
                && let Some(p) = tagged.probability(relation, tuple)
            {
                node.tag = Tag::Probability(p);
            }
            stack.extend(node.premises.iter_mut());
            stack.extend(node.alternatives.iter_mut());
            for a in &mut node.attempts {
                stack.extend(a.why_not.as_deref_mut());
                stack.extend(a.because.as_deref_mut());
            }
        }
    }
}

impl Program {
    /// Explains the fact a one-atom query names: a proof when it holds, the
    /// failing rules when not. A goal with variables explains each answer
    /// (up to `max_proofs`), or why there is none. Unbounded in time; see
    /// [`Program::explain_with`].
    pub fn explain(
        &self,
        evaluation: &mut Evaluation,
        goal: &crate::Query,
        options: &ExplainOptions,
    ) -> Result<Vec<Explanation>, Error> {
        let limits = Limits::default();
        self.explain_with(evaluation, goal, options, &limits, &Clock::start(&limits))
    }

    /// [`Program::explain`] within `limits`: the search stops when `clock`
    /// says so (its deadline or cancel flag; one clock can span several
    /// explanations of a request), and the rows it reads count against
    /// the tuple limit.
    pub fn explain_with(
        &self,
        evaluation: &mut Evaluation,
        goal: &crate::Query,
        options: &ExplainOptions,
        limits: &Limits,
        clock: &Clock,
    ) -> Result<Vec<Explanation>, Error> {
        self.explain_given(evaluation, goal, options, limits, clock, &[])
    }

    /// [`Program::explain_with`] over an evaluation of this program with
    /// `given` facts added (a request's input, rows per relation): those
    /// are facts of the proofs as the program's own are.
    pub(crate) fn explain_given(
        &self,
        evaluation: &mut Evaluation,
        goal: &crate::Query,
        options: &ExplainOptions,
        limits: &Limits,
        clock: &Clock,
        given: &[Vec<u32>],
    ) -> Result<Vec<Explanation>, Error> {
        self.explain_goals_given(
            evaluation,
            std::slice::from_ref(goal),
            options,
            limits,
            clock,
            given,
        )
        .map(|mut all| all.pop().unwrap_or_default())
    }

    /// [`Program::explain_given`] for several goals, each rule planned
    /// once for all. Each goal is searched afresh, with the whole budget
    /// (so that it is explained as it would be alone).
    pub(crate) fn explain_goals_given(
        &self,
        evaluation: &mut Evaluation,
        goals: &[crate::Query],
        options: &ExplainOptions,
        limits: &Limits,
        clock: &Clock,
        given: &[Vec<u32>],
    ) -> Result<Vec<Vec<Explanation>>, Error> {
        let options = ExplainOptions {
            why_not_depth: options.why_not_depth.min(MAX_WHY_NOT_DEPTH),
            max_depth: options.max_depth.clamp(1, MAX_PROOF_DEPTH),
            ..*options
        };
        let mut explainer = Explainer::new(self, evaluation, options, limits, clock, None);
        explainer.add_given(given);
        goals
            .iter()
            .map(|goal| {
                explainer.next_goal();
                explainer.explain_goal(goal)
            })
            .collect()
    }

    /// The rules of the first proof of each goal that holds (none for one
    /// that does not), found as [`Program::explain_goals_given`] finds
    /// proofs but without building explanations: what a decision log
    /// records. Each rule once, in the order the proof reaches them.
    pub(crate) fn rules_used_given(
        &self,
        evaluation: &mut Evaluation,
        goals: &[crate::Query],
        limits: &Limits,
        clock: &Clock,
        given: &[Vec<u32>],
    ) -> Result<Vec<Vec<RuleRef>>, Error> {
        let options = ExplainOptions::default();
        let mut explainer = Explainer::new(self, evaluation, options, limits, clock, None);
        explainer.lean = true;
        explainer.add_given(given);
        let mut out = Vec::with_capacity(goals.len());
        for goal in goals {
            explainer.next_goal();
            let (rel, args) = goal_atom(goal)?;
            let rows: Vec<Vec<u32>> = match ground_row(args) {
                Some(row) => vec![row],
                None => explainer
                    .answer(&goal.rule)?
                    .iter()
                    .take(options.max_proofs)
                    .filter_map(|values| explainer.goal_row(args, values))
                    .collect(),
            };
            let mut rules = Vec::new();
            for row in rows {
                if !explainer.holds(*rel, &row) {
                    continue;
                }
                if let Some(&root) = explainer.prove_all(*rel, &row, 1)?.first() {
                    explainer.rules_of(root, &mut rules);
                }
            }
            out.push(rules);
        }
        Ok(out)
    }
}

/// The row a goal names when all its arguments are constants.
fn ground_row(args: &[Arg]) -> Option<Vec<u32>> {
    args.iter()
        .map(|a| match a {
            Arg::Const(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// The one atom an explained goal is.
fn goal_atom(goal: &crate::Query) -> Result<(&RelId, &[Arg]), Error> {
    match goal.rule.body.as_slice() {
        [Lit::Atom { rel, args }] => Ok((rel, args)),
        _ => Err(Error::Compile {
            location: Some(goal.location.clone()),
            message: "explain takes one atom, such as `ancestor(alice, carol)`".to_string(),
        }),
    }
}

struct Explainer<'a> {
    program: &'a Program,
    evaluation: &'a mut Evaluation,
    options: ExplainOptions,
    budget: usize,
    /// Per relation, the base facts (built when first needed).
    base: FxHashMap<RelId, FxHashSet<Vec<u32>>>,
    /// Every step proved so far.
    proofs: Vec<ProofStep>,
    /// The first proof found of each fact.
    proven: FxHashMap<(RelId, Vec<u32>), usize>,
    /// The "why not" patterns being explained, outermost first.
    why_stack: Vec<String>,
    limits: &'a Limits,
    clock: Clock,
    steps: u32,
    /// Explaining one kept proof: only its events may be used.
    filter: Option<kept::ProofFilter<'a>>,
    /// Each rule planned once for proving facts of its head.
    plans: FxHashMap<usize, Option<std::rc::Rc<proof::Planned>>>,
    /// Only which rules prove a fact: nodes without texts, negations
    /// without why-not, model calls and aggregates not asked again.
    lean: bool,
}

impl<'a> Explainer<'a> {
    /// A search over `evaluation`, allowed only `filter`'s events if any.
    fn new(
        program: &'a Program,
        evaluation: &'a mut Evaluation,
        options: ExplainOptions,
        limits: &'a Limits,
        clock: &Clock,
        filter: Option<kept::ProofFilter<'a>>,
    ) -> Self {
        Explainer {
            program,
            evaluation,
            options,
            budget: options.budget,
            base: FxHashMap::default(),
            proofs: Vec::new(),
            proven: FxHashMap::default(),
            why_stack: Vec::new(),
            limits,
            clock: clock.clone(),
            steps: 0,
            filter,
            plans: FxHashMap::default(),
            lean: false,
        }
    }

    /// Starts the search for another goal: the budget whole again, no
    /// proof of an earlier goal reused (a proof found under another goal's
    /// path may differ from the one this goal finds alone).
    fn next_goal(&mut self) {
        self.budget = self.options.budget;
        self.proofs.clear();
        self.proven.clear();
    }

    /// Counts a request's input (rows per relation) among the base facts.
    fn add_given(&mut self, given: &[Vec<u32>]) {
        let program = self.program;
        for (r, rows) in given.iter().enumerate() {
            let width = program.relations.get(r).map_or(0, |i| i.arity);
            let width = if width == usize::MAX { 0 } else { width };
            for row in rows.chunks(width.max(1)) {
                self.add_base(r, if width == 0 { &[] } else { row });
            }
        }
    }

    /// The fact of a goal's relation that an answer of the goal names.
    fn goal_row(&self, args: &[Arg], answer: &[Value]) -> Option<Vec<u32>> {
        let mut values = answer.iter();
        args.iter()
            .map(|a| match a {
                Arg::Const(c) => Some(*c),
                _ => values.next().and_then(|v| self.evaluation.interner.get(v)),
            })
            .collect()
    }

    /// Explains one goal: a ground fact, or each answer of a pattern (or
    /// why there is none).
    fn explain_goal(&mut self, goal: &crate::Query) -> Result<Vec<Explanation>, Error> {
        let (rel, args) = goal_atom(goal)?;
        if let Some(row) = ground_row(args) {
            return Ok(vec![self.explain_fact(*rel, &row)?]);
        }
        let answers = self.answer(&goal.rule)?;
        if answers.is_empty() {
            let pattern = self.pattern(*rel, args, &goal.rule.var_names);
            let mut node = Explanation::leaf(pattern, NodeKind::Missing);
            node.holds = false;
            node.tag = Tag::Bool(false);
            node.attempts = self.attempts_for_pattern(*rel, args, self.options.why_not_depth)?;
            return Ok(vec![node]);
        }
        let mut out = Vec::new();
        for answer in answers.iter().take(self.options.max_proofs) {
            if let Some(row) = self.goal_row(args, answer) {
                out.push(self.explain_fact(*rel, &row)?);
            }
        }
        Ok(out)
    }

    fn interner(&self) -> &Interner {
        &self.evaluation.interner
    }

    /// The answers of a rule over the evaluation, within the limits.
    fn answer(&mut self, rule: &Rule) -> Result<Vec<Vec<Value>>, Error> {
        eval::answer(
            &mut self.evaluation.stores,
            &self.evaluation.interner,
            rule,
            self.limits,
            &self.clock,
        )
    }

    /// Looks at the clock every few steps of the search.
    fn tick(&mut self) -> Result<(), Error> {
        self.steps = self.steps.wrapping_add(1);
        if self.steps.is_multiple_of(64) {
            self.clock.check()?;
        }
        Ok(())
    }

    fn fact_text(&self, rel: RelId, row: &[u32]) -> String {
        let name = self
            .program
            .relations
            .get(rel)
            .map_or("?", |r| r.name.as_str());
        let args: Vec<String> = row
            .iter()
            .map(|&id| self.interner().value(id).to_string())
            .collect();
        atom_text(name, &args)
    }

    fn fact_node(&self, rel: RelId, row: &[u32], kind: NodeKind) -> Explanation {
        let mut node = Explanation::leaf(self.fact_text(rel, row), kind);
        let name = self
            .program
            .relations
            .get(rel)
            .map(|r| r.name.clone())
            .unwrap_or_default();
        node.atom = Some((
            name,
            row.iter()
                .map(|&id| self.interner().value(id).clone())
                .collect(),
        ));
        node
    }

    fn pattern(&self, rel: RelId, args: &[Arg], names: &[String]) -> String {
        self.literal_text(rel, args, &|_| None, names)
    }

    fn holds(&mut self, rel: RelId, row: &[u32]) -> bool {
        self.evaluation
            .stores
            .get(rel)
            .is_some_and(|s| s.contains(row))
    }

    /// Counts `row` among the base facts of `rel`.
    fn add_base(&mut self, rel: RelId, row: &[u32]) {
        self.is_base(rel, row);
        if let Some(set) = self.base.get_mut(&rel) {
            set.insert(if row.is_empty() {
                vec![0]
            } else {
                row.to_vec()
            });
        }
    }

    fn is_base(&mut self, rel: RelId, row: &[u32]) -> bool {
        let program = self.program;
        let set = self.base.entry(rel).or_insert_with(|| {
            let arity = program.relations.get(rel).map_or(0, |r| r.arity).max(1);
            program
                .facts
                .get(rel)
                .map(|rows| rows.chunks_exact(arity).map(<[u32]>::to_vec).collect())
                .unwrap_or_default()
        });
        let key: Vec<u32> = if row.is_empty() {
            vec![0]
        } else {
            row.to_vec()
        };
        set.contains(&key)
    }

    fn explain_fact(&mut self, rel: RelId, row: &[u32]) -> Result<Explanation, Error> {
        if self.holds(rel, row) {
            let limit = if self.options.all {
                self.options.max_proofs
            } else {
                1
            };
            let proofs = self.prove_all(rel, row, limit)?;
            let mut shown = proofs.iter().map(|&id| self.tree(id));
            if let Some(mut first) = shown.next() {
                first.alternatives = shown.collect();
                return Ok(first);
            }
            // The search budget ran out: say that it holds, without a proof.
            let mut node = self.fact_node(rel, row, NodeKind::Rule);
            node.source = Some("holds; the proof search gave up (raise the budget)".to_string());
            return Ok(node);
        }
        let mut node = self.fact_node(rel, row, NodeKind::Missing);
        node.holds = false;
        node.tag = Tag::Bool(false);
        let args: Vec<Arg> = row.iter().map(|&c| Arg::Const(c)).collect();
        node.attempts = self.attempts_for_pattern(rel, &args, self.options.why_not_depth)?;
        Ok(node)
    }
}

/// A rule with its head bound to a fact: equalities first, then the body,
/// wildcards of positive atoms made variables (so that a binding names every
/// premise completely).
struct Instance {
    rule: Rule,
    /// How many leading equalities bind the head.
    equalities: usize,
    /// The variables a binding reports, in order.
    outer: Vec<usize>,
}

fn instantiate(rule: &Rule, row: &[u32]) -> Option<Instance> {
    let consts: Vec<Option<u32>> = row.iter().map(|&c| Some(c)).collect();
    instantiate_partial(rule, &consts)
}

fn instantiate_partial(rule: &Rule, consts: &[Option<u32>]) -> Option<Instance> {
    let mut body = Vec::new();
    let mut trailing = Vec::new();
    let mut seen: FxHashMap<usize, u32> = FxHashMap::default();
    for (arg, c) in rule.head_args.iter().zip(consts) {
        let Some(c) = c else { continue };
        match arg {
            Expr::Var(v) => {
                if let Some(prev) = seen.get(v) {
                    if prev != c {
                        return None;
                    }
                    continue;
                }
                seen.insert(*v, *c);
                body.push(Lit::Cmp {
                    op: CmpOp::Eq,
                    lhs: Expr::Var(*v),
                    rhs: Expr::Const(*c),
                });
            }
            Expr::Const(k) => {
                if k != c {
                    return None;
                }
            }
            other => trailing.push(Lit::Cmp {
                op: CmpOp::Eq,
                lhs: other.clone(),
                rhs: Expr::Const(*c),
            }),
        }
    }
    let equalities = body.len();
    let mut var_names = rule.var_names.clone();
    for lit in &rule.body {
        match lit {
            Lit::Atom { rel, args } => {
                let args = name_wildcards(args, &mut var_names);
                body.push(Lit::Atom { rel: *rel, args });
            }
            other => body.push(other.clone()),
        }
    }
    body.extend(trailing);
    let outer = outer_vars(&body);
    Some(Instance {
        rule: Rule {
            head: rule.head,
            head_args: outer.iter().map(|&v| Expr::Var(v)).collect(),
            body,
            var_names,
            name: rule.name.clone(),
            location: rule.location.clone(),
        },
        equalities,
        outer,
    })
}

/// The variables a body binds that the rest of a rule can see, sorted.
fn outer_vars(body: &[Lit]) -> Vec<usize> {
    let mut vars: Vec<usize> = body.iter().flat_map(Lit::outer_vars).collect();
    vars.sort_unstable();
    vars.dedup();
    vars
}
