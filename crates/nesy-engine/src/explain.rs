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

use crate::eval;
use crate::ir::{Arg, Call, Expr, Lit, RelId, Rule, ground_args, name_wildcards};
use crate::program::Program;
use crate::result::Evaluation;
use crate::value::{Interner, Value};
use crate::{Clock, Error, Limits};
use nesy_lang::ast::CmpOp;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::rc::Rc;

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
    /// `file:line:col`.
    pub location: String,
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
    pub explanation: Option<crate::model::ModelExplanation>,
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

    /// An indented tree, one step per line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        for (i, alt) in self.alternatives.iter().enumerate() {
            let _ = writeln!(out, "\nalternative proof {}:", i + 2);
            alt.write_text(&mut out);
        }
        out
    }

    /// The text of this tree, depth first, with an explicit stack (a proof
    /// can be as deep as a chain is long).
    fn write_text(&self, out: &mut String) {
        enum Work<'e> {
            Node(&'e Explanation, usize),
            Line(String),
        }
        let mut stack = vec![Work::Node(self, 0)];
        while let Some(work) = stack.pop() {
            let (node, depth) = match work {
                Work::Line(line) => {
                    out.push_str(&line);
                    continue;
                }
                Work::Node(node, depth) => (node, depth),
            };
            let pad = "  ".repeat(depth);
            let _ = writeln!(out, "{pad}{}{}  [{}]", node.mark(), node.fact, node.how());
            // Pushed last to first: premises, then attempts, then the note.
            if node.attempts.is_empty() && !node.holds {
                stack.push(Work::Line(format!(
                    "{pad}  no fact and no rule derives it\n"
                )));
            }
            for a in node.attempts.iter().rev() {
                let by = a.rule.name.as_ref().map_or(a.rule.location.clone(), |n| {
                    format!("`{n}` at {}", a.rule.location)
                });
                if let Some(b) = &a.because {
                    stack.push(Work::Node(b, depth + 2));
                }
                if let Some(w) = &a.why_not {
                    stack.push(Work::Node(w, depth + 2));
                }
                stack.push(Work::Line(format!(
                    "{pad}  rule {by}: `{}` fails: {}\n",
                    a.failed, a.reason
                )));
            }
            for p in node.premises.iter().rev() {
                stack.push(Work::Node(p, depth + 1));
            }
        }
    }

    fn mark(&self) -> &'static str {
        if self.holds { "" } else { "NOT " }
    }

    /// How a node holds, as the text form says it.
    fn how(&self) -> String {
        let how = match (self.kind, &self.rule, &self.source) {
            (NodeKind::Rule, Some(rule), _) => {
                let by = rule.name.as_ref().map_or(rule.location.clone(), |n| {
                    format!("rule `{n}` at {}", rule.location)
                });
                let bindings: Vec<String> = self
                    .bindings
                    .iter()
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect();
                if bindings.is_empty() {
                    format!("by {by}")
                } else {
                    format!("by {by} with {}", bindings.join(", "))
                }
            }
            (NodeKind::Fact, _, Some(source)) => format!("fact at {source}"),
            (NodeKind::Fact, _, None) => "fact".to_string(),
            (NodeKind::Negation, _, _) => "no tuple matches".to_string(),
            (NodeKind::Comparison, _, _) => "holds".to_string(),
            (NodeKind::Aggregate, _, _) => match &self.aggregate {
                Some(a) => format!("{} over {} rows = {}", a.function, a.size, a.result),
                None => "aggregate".to_string(),
            },
            (NodeKind::Missing, _, _) => "does not hold".to_string(),
            (NodeKind::Model, _, _) => match &self.model {
                Some(m) => match &m.explanation {
                    Some(e) => format!("{}: {}", m.model, e.text),
                    None => m.model.clone(),
                },
                None => "model".to_string(),
            },
            (NodeKind::Rule, None, _) => String::new(),
        };
        let how = if self.truncated {
            format!("{how}; its proof goes deeper than shown")
        } else {
            how
        };
        match self.tag {
            Tag::Probability(p) => format!("p = {p:.6}; {how}"),
            Tag::Bool(_) => how,
        }
    }

    /// A Graphviz drawing: facts as boxes, each derivation pointing at its
    /// premises (`dot -Tsvg`).
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph explanation {\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n",
        );
        self.write_dot(&mut out);
        out.push_str("}\n");
        out
    }

    /// Nodes numbered depth first; each edge is written once the subtree
    /// below it is (an explicit stack, as for text).
    fn write_dot(&self, out: &mut String) {
        enum Work<'e> {
            /// A node, and the edge into it (`parent`, dashed) once its
            /// subtree is written.
            Node(&'e Explanation, Option<(usize, bool)>),
            Attempt(&'e Attempt, usize),
            Edge(usize, usize, bool),
        }
        let mut next = 0;
        let mut stack = vec![Work::Node(self, None)];
        while let Some(work) = stack.pop() {
            match work {
                Work::Edge(from, to, dashed) => {
                    let style = if dashed { " [style=dashed]" } else { "" };
                    let _ = writeln!(out, "  n{from} -> n{to}{style};");
                }
                Work::Attempt(a, parent) => {
                    let aid = next;
                    next += 1;
                    let _ = writeln!(
                        out,
                        "  n{aid} [label=\"rule {}\\n{}\\nfails: {}\", color=red, style=dashed];",
                        escape(a.rule.name.as_deref().unwrap_or(&a.rule.location)),
                        escape(&a.failed),
                        escape(&a.reason)
                    );
                    let _ = writeln!(out, "  n{parent} -> n{aid} [style=dashed];");
                    for sub in a.because.iter().rev().chain(a.why_not.iter().rev()) {
                        stack.push(Work::Node(sub, Some((aid, true))));
                    }
                }
                Work::Node(node, incoming) => {
                    let id = next;
                    next += 1;
                    node.write_dot_node(out, id);
                    if let Some((parent, dashed)) = incoming {
                        stack.push(Work::Edge(parent, id, dashed));
                    }
                    for a in node.attempts.iter().rev() {
                        stack.push(Work::Attempt(a, id));
                    }
                    for p in node.premises.iter().rev() {
                        stack.push(Work::Node(p, Some((id, false))));
                    }
                }
            }
        }
    }

    fn write_dot_node(&self, out: &mut String, id: usize) {
        let detail = match (&self.rule, &self.source, &self.aggregate) {
            (Some(r), _, _) => r.name.clone().unwrap_or_else(|| r.location.clone()),
            (_, Some(s), _) => s.clone(),
            (_, _, Some(a)) => format!("{} over {} rows", a.function, a.size),
            _ => format!("{:?}", self.kind).to_lowercase(),
        };
        let color = if self.holds { "black" } else { "red" };
        let detail = match self.tag {
            Tag::Probability(p) => format!("{detail}\np = {p:.4}"),
            Tag::Bool(_) => detail,
        };
        let detail = if self.truncated {
            format!("{detail}\n(deeper than shown)")
        } else {
            detail
        };
        // Base facts are shaded, failed goals red.
        let style = match self.kind {
            NodeKind::Fact => ", style=\"rounded,filled\", fillcolor=\"#eeeeee\"",
            NodeKind::Missing => ", fontcolor=red",
            _ => "",
        };
        let _ = writeln!(
            out,
            "  n{id} [label=\"{}\\n{}\", color={color}{style}];",
            escape(&self.fact),
            escape(&detail)
        );
    }
}

/// Dropped without recursion: a proof as deep as a long chain would
/// otherwise overflow the stack on the way out.
impl Drop for Explanation {
    fn drop(&mut self) {
        fn children(node: &mut Explanation, into: &mut Vec<Explanation>) {
            into.append(&mut node.premises);
            into.append(&mut node.alternatives);
            for a in &mut node.attempts {
                into.extend(a.why_not.take().map(|b| *b));
                into.extend(a.because.take().map(|b| *b));
            }
        }
        let mut stack = Vec::new();
        children(self, &mut stack);
        while let Some(mut node) = stack.pop() {
            children(&mut node, &mut stack);
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
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
        let [Lit::Atom { rel, args }] = goal.rule.body.as_slice() else {
            return Err(Error::Compile {
                location: goal.location.clone(),
                message: "explain takes one atom, such as `ancestor(alice, carol)`".to_string(),
            });
        };
        let options = ExplainOptions {
            why_not_depth: options.why_not_depth.min(MAX_WHY_NOT_DEPTH),
            max_depth: options.max_depth.clamp(1, MAX_PROOF_DEPTH),
            ..*options
        };
        let mut explainer = Explainer {
            program: self,
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
        };
        let ground: Option<Vec<u32>> = args
            .iter()
            .map(|a| match a {
                Arg::Const(c) => Some(*c),
                _ => None,
            })
            .collect();
        if let Some(row) = ground {
            return Ok(vec![explainer.explain_fact(*rel, &row)?]);
        }
        let answers = explainer.answer(&goal.rule)?;
        if answers.is_empty() {
            let pattern = explainer.pattern(*rel, args, &goal.rule.var_names);
            let mut node = Explanation::leaf(pattern, NodeKind::Missing);
            node.holds = false;
            node.tag = Tag::Bool(false);
            node.attempts = explainer.attempts_for_pattern(*rel, args, options.why_not_depth)?;
            return Ok(vec![node]);
        }
        let mut out = Vec::new();
        for row in answers.iter().take(options.max_proofs) {
            let mut values = row.iter();
            let ids: Option<Vec<u32>> = args
                .iter()
                .map(|a| match a {
                    Arg::Const(c) => Some(*c),
                    _ => values
                        .next()
                        .and_then(|v| explainer.evaluation.interner.get(v)),
                })
                .collect();
            if let Some(ids) = ids {
                out.push(explainer.explain_fact(*rel, &ids)?);
            }
        }
        Ok(out)
    }
}

/// A proved step: its node without premises, and its premises, which
/// are other steps (shared: a fact is proved once however often it is
/// used) or leaves made on the spot (negations, comparisons, aggregates,
/// model calls).
struct ProofStep {
    node: Explanation,
    premises: Vec<Premise>,
}

enum Premise {
    Step(usize),
    Leaf(Box<Explanation>),
}

/// A fact being proved: the rules for it tried one after the other, each
/// with the bindings that derive it.
struct FactSearch {
    rel: RelId,
    row: Vec<u32>,
    limit: usize,
    proofs: Vec<usize>,
    rules: Vec<usize>,
    next_rule: usize,
    instance: Option<(usize, Rc<Instance>)>,
    candidates: std::vec::IntoIter<Vec<Value>>,
}

/// One binding of a rule being checked premise by premise.
struct DerivationSearch {
    rule: usize,
    instance: Rc<Instance>,
    ids: Vec<u32>,
    next: usize,
    premises: Vec<Premise>,
}

enum Frame {
    Fact(FactSearch),
    Derivation(DerivationSearch),
}

/// What a finished frame hands to the one below it.
enum Done {
    Proofs(Vec<usize>),
    Derived(Option<usize>),
}

/// The facts on the way from the goal to the fact being proved (a proof
/// may not go round a cycle).
#[derive(Default)]
struct Path {
    order: Vec<(RelId, Vec<u32>)>,
    set: FxHashSet<(RelId, Vec<u32>)>,
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
}

impl Explainer<'_> {
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

    /// Starts proving a fact: a known proof or a cycle answers at once;
    /// otherwise a frame that tries its rules.
    fn enter(
        &mut self,
        rel: RelId,
        row: Vec<u32>,
        limit: usize,
        path: &mut Path,
    ) -> Result<FactSearch, Done> {
        if limit == 1
            && let Some(&id) = self.proven.get(&(rel, row.clone()))
        {
            return Err(Done::Proofs(vec![id]));
        }
        if path.set.contains(&(rel, row.clone())) {
            return Err(Done::Proofs(Vec::new()));
        }
        let mut proofs = Vec::new();
        if self.is_base(rel, &row) {
            let mut node = self.fact_node(rel, &row, NodeKind::Fact);
            node.source = self.program.fact_origin(rel, &row);
            proofs.push(self.step(node, Vec::new()));
        }
        path.order.push((rel, row.clone()));
        path.set.insert((rel, row.clone()));
        let rules = self
            .program
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.head == rel)
            .map(|(i, _)| i)
            .collect();
        Ok(FactSearch {
            rel,
            row,
            limit,
            proofs,
            rules,
            next_rule: 0,
            instance: None,
            candidates: Vec::new().into_iter(),
        })
    }

    fn step(&mut self, node: Explanation, premises: Vec<Premise>) -> usize {
        self.proofs.push(ProofStep { node, premises });
        self.proofs.len() - 1
    }

    /// Up to `limit` proofs of a fact that holds, as steps. Depth first,
    /// with an explicit stack: a proof is as deep as the chain it follows.
    fn prove_all(&mut self, rel: RelId, row: &[u32], limit: usize) -> Result<Vec<usize>, Error> {
        let mut path = Path::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut done: Option<Done> = match self.enter(rel, row.to_vec(), limit, &mut path) {
            Ok(search) => {
                stack.push(Frame::Fact(search));
                None
            }
            Err(Done::Proofs(p)) => return Ok(p),
            Err(Done::Derived(_)) => return Ok(Vec::new()),
        };
        while let Some(top) = stack.last_mut() {
            self.tick()?;
            match top {
                Frame::Fact(f) => {
                    if let Some(Done::Derived(Some(id))) = done.take() {
                        f.proofs.push(id);
                    }
                    if f.proofs.len() < f.limit && self.budget > 0 {
                        if let Some(candidate) = f.candidates.next() {
                            self.budget -= 1;
                            let Some(ids) = candidate
                                .iter()
                                .map(|v| self.evaluation.interner.get(v))
                                .collect::<Option<Vec<u32>>>()
                            else {
                                continue;
                            };
                            let Some((rule, instance)) = &f.instance else {
                                continue;
                            };
                            let frame = DerivationSearch {
                                rule: *rule,
                                instance: Rc::clone(instance),
                                ids,
                                next: 0,
                                premises: Vec::new(),
                            };
                            stack.push(Frame::Derivation(frame));
                            continue;
                        }
                        if let Some(&rule) = f.rules.get(f.next_rule) {
                            f.next_rule += 1;
                            let program = self.program;
                            let Some(instance) =
                                program.rules.get(rule).and_then(|r| instantiate(r, &f.row))
                            else {
                                continue;
                            };
                            let candidates = eval::answer(
                                &mut self.evaluation.stores,
                                &self.evaluation.interner,
                                &instance.rule,
                                self.limits,
                                &self.clock,
                            )?;
                            f.candidates = candidates.into_iter();
                            f.instance = Some((rule, Rc::new(instance)));
                            continue;
                        }
                    }
                    // Every rule tried (or enough proofs, or the budget spent).
                    let proofs = std::mem::take(&mut f.proofs);
                    let key = (f.rel, std::mem::take(&mut f.row));
                    stack.pop();
                    if let Some(last) = path.order.pop() {
                        path.set.remove(&last);
                    }
                    if let Some(&first) = proofs.first() {
                        self.proven.insert(key, first);
                    }
                    if stack.is_empty() {
                        return Ok(proofs);
                    }
                    done = Some(Done::Proofs(proofs));
                }
                Frame::Derivation(d) => {
                    match done.take() {
                        Some(Done::Proofs(sub)) => match sub.first() {
                            Some(&id) => {
                                d.premises.push(Premise::Step(id));
                                d.next += 1;
                            }
                            None => {
                                stack.pop();
                                done = Some(Done::Derived(None));
                                continue;
                            }
                        },
                        Some(other) => done = Some(other),
                        None => {}
                    }
                    let instance = Rc::clone(&d.instance);
                    let body = instance
                        .rule
                        .body
                        .get(instance.equalities..)
                        .unwrap_or_default();
                    if let Some(lit) = body.get(d.next) {
                        let value_of = |v: usize| {
                            instance
                                .outer
                                .iter()
                                .position(|&o| o == v)
                                .and_then(|i| d.ids.get(i).copied())
                        };
                        if let Lit::Atom { rel, args } = lit {
                            let Some(row) = ground_args(args, &value_of) else {
                                stack.pop();
                                done = Some(Done::Derived(None));
                                continue;
                            };
                            match self.enter(*rel, row, 1, &mut path) {
                                Ok(search) => stack.push(Frame::Fact(search)),
                                Err(answer) => done = Some(answer),
                            }
                            continue;
                        }
                        let leaf = self.premise_leaf(lit, &instance, &value_of)?;
                        d.premises.push(Premise::Leaf(Box::new(leaf)));
                        d.next += 1;
                        continue;
                    }
                    // Every premise proved: the rule's step.
                    let premises = std::mem::take(&mut d.premises);
                    let (rule, ids) = (d.rule, std::mem::take(&mut d.ids));
                    stack.pop();
                    let head_row = match stack.last() {
                        Some(Frame::Fact(f)) => f.row.clone(),
                        _ => Vec::new(),
                    };
                    let node = self.rule_node(rule, &instance, &ids, &head_row);
                    let id = self.step(node, premises);
                    done = Some(Done::Derived(Some(id)));
                }
            }
        }
        Ok(Vec::new())
    }

    /// The node of a rule step: the head fact, the rule, its bindings.
    fn rule_node(
        &self,
        rule: usize,
        instance: &Instance,
        ids: &[u32],
        head_row: &[u32],
    ) -> Explanation {
        let Some(rule) = self.program.rules.get(rule) else {
            return Explanation::leaf(String::new(), NodeKind::Rule);
        };
        let mut bindings = BTreeMap::new();
        for (i, &v) in instance.outer.iter().enumerate() {
            let Some(name) = rule.var_names.get(v) else {
                continue;
            };
            if name.starts_with('_') || name == "_" {
                continue;
            }
            if let Some(&id) = ids.get(i) {
                bindings.insert(name.clone(), self.interner().value(id).clone());
            }
        }
        let mut node = self.fact_node(rule.head, head_row, NodeKind::Rule);
        node.rule = Some(RuleRef {
            name: rule.name.clone(),
            location: rule.location.clone(),
        });
        node.bindings = bindings;
        node
    }

    /// A proof step as a tree, down to `max_depth` levels and `max_nodes`
    /// nodes; a step past either is shown `truncated`, without premises.
    /// Built bottom up with an explicit stack.
    fn tree(&self, root: usize) -> Explanation {
        struct Work {
            step: usize,
            depth: usize,
            next: usize,
            premises: Vec<Explanation>,
        }
        let mut shown = 0usize;
        let mut stack = vec![Work {
            step: root,
            depth: 0,
            next: 0,
            premises: Vec::new(),
        }];
        let mut finished: Option<Explanation> = None;
        while let Some(top) = stack.last_mut() {
            let Some(step) = self.proofs.get(top.step) else {
                stack.pop();
                continue;
            };
            if let Some(node) = finished.take() {
                top.premises.push(node);
            }
            // `max_depth` levels: the root is the first.
            let cut = top.depth + 1 >= self.options.max_depth || shown >= self.options.max_nodes;
            if cut && top.next == 0 && !step.premises.is_empty() {
                let mut node = step.node.clone();
                node.truncated = true;
                shown += 1;
                stack.pop();
                finished = Some(node);
                continue;
            }
            match step.premises.get(top.next) {
                Some(Premise::Leaf(leaf)) => {
                    top.next += 1;
                    top.premises.push(leaf.as_ref().clone());
                }
                Some(Premise::Step(child)) => {
                    top.next += 1;
                    let child = Work {
                        step: *child,
                        depth: top.depth + 1,
                        next: 0,
                        premises: Vec::new(),
                    };
                    stack.push(child);
                }
                None => {
                    let mut node = step.node.clone();
                    node.premises = std::mem::take(&mut top.premises);
                    shown += 1;
                    stack.pop();
                    finished = Some(node);
                }
            }
        }
        finished.unwrap_or_else(|| Explanation::leaf(String::new(), NodeKind::Rule))
    }

    /// A premise that is not a positive atom, under a binding: a
    /// negation (with why the negated atom does not hold), a comparison,
    /// an aggregate's group, a model call.
    fn premise_leaf(
        &mut self,
        lit: &Lit,
        instance: &Instance,
        value_of: &dyn Fn(usize) -> Option<u32>,
    ) -> Result<Explanation, Error> {
        Ok(match lit {
            // Positive atoms are steps of their own; this is not reached.
            Lit::Atom { rel, args } => Explanation::leaf(
                self.literal_text(*rel, args, value_of, &instance.rule.var_names),
                NodeKind::Fact,
            ),
            Lit::Neg { rel, args } => {
                let text = self.literal_text(*rel, args, value_of, &instance.rule.var_names);
                let mut leaf = Explanation::leaf(format!("not {text}"), NodeKind::Negation);
                // A derived atom that does not hold: say why not, as a
                // premise of the negation.
                let derived = self.program.rules.iter().any(|r| r.head == *rel);
                if derived
                    && self.options.why_not_depth > 0
                    && let Some(row) = ground_args(args, value_of)
                {
                    let mut missing = self.fact_node(*rel, &row, NodeKind::Missing);
                    missing.holds = false;
                    missing.tag = Tag::Bool(false);
                    let consts: Vec<Arg> = row.iter().map(|&c| Arg::Const(c)).collect();
                    missing.attempts =
                        self.attempts_for_pattern(*rel, &consts, self.options.why_not_depth - 1)?;
                    leaf.premises.push(missing);
                }
                leaf
            }
            Lit::Cmp { op, lhs, rhs } => {
                let text = format!(
                    "{} {} {}",
                    self.expr_text(lhs, value_of, &instance.rule.var_names),
                    op.as_str(),
                    self.expr_text(rhs, value_of, &instance.rule.var_names)
                );
                Explanation::leaf(text, NodeKind::Comparison)
            }
            Lit::Agg(agg) => {
                let result = value_of(agg.result).map(|id| self.interner().value(id).clone());
                let group = self.aggregate_group(agg, value_of, &instance.rule)?;
                let name = instance
                    .rule
                    .var_names
                    .get(agg.result)
                    .cloned()
                    .unwrap_or_default();
                let shown = result.clone().map_or("?".to_string(), |v| v.to_string());
                let mut node = Explanation::leaf(
                    format!("{name} = {} {{...}} = {shown}", agg.function.as_str()),
                    NodeKind::Aggregate,
                );
                node.aggregate = Some(AggregateGroup {
                    function: agg.function.as_str().to_string(),
                    size: group.len(),
                    rows: group.into_iter().take(100).collect(),
                    result: result.unwrap_or(Value::Bool(false)),
                });
                node
            }
            Lit::Call(call) => self.call_node(call, value_of),
        })
    }

    /// One tuple of `rel` matching `args` (unbound variables and `_` match
    /// anything).
    fn witness(
        &mut self,
        rel: RelId,
        args: &[Arg],
        value_of: &dyn Fn(usize) -> Option<u32>,
    ) -> Result<Option<Vec<u32>>, Error> {
        let mut names = Vec::new();
        let args: Vec<Arg> = args
            .iter()
            .map(|a| match a {
                Arg::Var(v) if value_of(*v).is_some() => value_of(*v).map_or(Arg::Wild, Arg::Const),
                Arg::Const(c) => Arg::Const(*c),
                _ => {
                    names.push(format!("_{}", names.len()));
                    Arg::Var(names.len() - 1)
                }
            })
            .collect();
        let head_args = args
            .iter()
            .map(|a| match a {
                Arg::Const(c) => Expr::Const(*c),
                Arg::Var(v) => Expr::Var(*v),
                Arg::Wild => Expr::Const(0),
            })
            .collect();
        let rule = Rule {
            head: rel,
            head_args,
            body: vec![Lit::Atom { rel, args }],
            var_names: names,
            name: None,
            location: String::new(),
        };
        let rows = self.answer(&rule)?;
        Ok(rows
            .first()
            .and_then(|row| row.iter().map(|v| self.interner().get(v)).collect()))
    }

    fn aggregate_group(
        &mut self,
        agg: &crate::ir::Aggregate,
        value_of: &dyn Fn(usize) -> Option<u32>,
        rule: &Rule,
    ) -> Result<Vec<Vec<Value>>, Error> {
        let mut body: Vec<Lit> = agg
            .group
            .iter()
            .filter_map(|&g| {
                value_of(g).map(|id| Lit::Cmp {
                    op: CmpOp::Eq,
                    lhs: Expr::Var(g),
                    rhs: Expr::Const(id),
                })
            })
            .collect();
        body.extend(agg.body.iter().cloned());
        let group_rule = Rule {
            head: usize::MAX,
            head_args: agg.terms.clone(),
            body,
            var_names: rule.var_names.clone(),
            name: None,
            location: rule.location.clone(),
        };
        self.answer(&group_rule)
    }

    /// A model call under bindings, as a proof node with the model's
    /// probability and explanation.
    fn call_node(&self, call: &Call, value_of: &dyn Fn(usize) -> Option<u32>) -> Explanation {
        let value = |a: &Arg| match a {
            Arg::Const(c) => Some(self.interner().value(*c).clone()),
            Arg::Var(v) => value_of(*v).map(|id| self.interner().value(id).clone()),
            Arg::Wild => None,
        };
        let inputs: Vec<Option<Value>> = call.inputs.iter().map(value).collect();
        let outputs: Vec<Option<Value>> = call.outputs.iter().map(value).collect();
        let show = |vs: &[Option<Value>]| {
            vs.iter()
                .map(|v| v.as_ref().map_or("_".to_string(), Value::to_string))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let text = format!(
            "{}.{}({}) -> ({})",
            call.model_name,
            call.method,
            show(&inputs),
            show(&outputs)
        );
        let mut node = Explanation::leaf(text, NodeKind::Model);
        let Some(inputs) = inputs.into_iter().collect::<Option<Vec<Value>>>() else {
            return node;
        };
        let answers = call.model.call(&call.method, &inputs).unwrap_or_default();
        let answer = answers.iter().find(|a| {
            a.values.iter().zip(&outputs).all(|(v, o)| {
                o.as_ref().is_none_or(|o| {
                    o == v || matches!((o.as_f64(), v.as_f64()), (Some(x), Some(y)) if x == y)
                })
            })
        });
        let probability = answer.map_or(0.0, |a| a.probability);
        node.tag = Tag::Probability(probability);
        node.model = Some(ModelCallNode {
            model: call.model.describe(),
            call: format!("{}.{}", call.model_name, call.method),
            outputs: answer.map(|a| a.values.clone()).unwrap_or_default(),
            inputs: inputs.clone(),
            probability,
            explanation: call.model.explain(&call.method, &inputs),
        });
        node
    }

    /// What a model answers for inputs, for why-not.
    fn call_answers(&self, call: &Call, inputs: &[Value]) -> Vec<String> {
        call.model
            .call(&call.method, inputs)
            .unwrap_or_default()
            .iter()
            .map(|a| {
                format!(
                    "({}) with p = {:.4}",
                    a.values
                        .iter()
                        .map(Value::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    a.probability
                )
            })
            .collect()
    }

    fn literal_text(
        &self,
        rel: RelId,
        args: &[Arg],
        value_of: &dyn Fn(usize) -> Option<u32>,
        names: &[String],
    ) -> String {
        let name = self
            .program
            .relations
            .get(rel)
            .map_or("?", |r| r.name.as_str());
        let args: Vec<String> = args
            .iter()
            .map(|a| match a {
                Arg::Const(c) => self.interner().value(*c).to_string(),
                Arg::Var(v) => value_of(*v).map_or_else(
                    || names.get(*v).cloned().unwrap_or_default(),
                    |id| self.interner().value(id).to_string(),
                ),
                Arg::Wild => "_".to_string(),
            })
            .collect();
        atom_text(name, &args)
    }

    fn expr_text(
        &self,
        e: &Expr,
        value_of: &dyn Fn(usize) -> Option<u32>,
        names: &[String],
    ) -> String {
        match e {
            Expr::Var(v) => value_of(*v).map_or_else(
                || names.get(*v).cloned().unwrap_or_default(),
                |id| self.interner().value(id).to_string(),
            ),
            Expr::Const(c) => self.interner().value(*c).to_string(),
            Expr::Binary(op, l, r) => format!(
                "({} {} {})",
                self.expr_text(l, value_of, names),
                op.as_str(),
                self.expr_text(r, value_of, names)
            ),
            Expr::Neg(inner) => format!("-{}", self.expr_text(inner, value_of, names)),
        }
    }

    /// Why nothing matches `rel(args)`: per rule, the first literal that
    /// no binding gets past.
    fn attempts_for_pattern(
        &mut self,
        rel: RelId,
        args: &[Arg],
        depth: usize,
    ) -> Result<Vec<Attempt>, Error> {
        let rules: Vec<&Rule> = self
            .program
            .rules
            .iter()
            .filter(|r| r.head == rel)
            .collect();
        // The pattern's constants, the same for every rule.
        let consts: Vec<Option<u32>> = args
            .iter()
            .map(|a| match a {
                Arg::Const(c) => Some(*c),
                _ => None,
            })
            .collect();
        let mut attempts = Vec::new();
        for rule in rules {
            let Some(instance) = instantiate_partial(rule, &consts) else {
                continue;
            };
            let rule_ref = RuleRef {
                name: rule.name.clone(),
                location: rule.location.clone(),
            };
            let body_len = instance.rule.body.len();
            let mut last_ok: Vec<Value> = Vec::new();
            let mut last_outer: Vec<usize> = Vec::new();
            // The head's bindings first (the equalities alone), then one
            // more literal at a time until nothing gets through.
            let first_end = if instance.equalities > 0 {
                instance.equalities
            } else {
                1
            };
            for end in first_end..=body_len {
                let prefix = Rule {
                    body: instance.rule.body.get(..end).unwrap_or_default().to_vec(),
                    ..instance.rule.clone()
                };
                let outer = outer_vars(&prefix.body);
                let prefix = Rule {
                    head_args: outer.iter().map(|&v| Expr::Var(v)).collect(),
                    ..prefix
                };
                // A prefix that cannot be ordered (a comparison before the
                // atom binding its variable) is judged with the next literal.
                let rows = match self.answer(&prefix) {
                    Ok(rows) => rows,
                    Err(_) if end < body_len => continue,
                    Err(e) => return Err(e),
                };
                if let Some(first) = rows.first() {
                    last_ok = first.clone();
                    last_outer = outer;
                    continue;
                }
                let ids: Vec<Option<u32>> =
                    last_ok.iter().map(|v| self.interner().get(v)).collect();
                let value_of = |v: usize| {
                    last_outer
                        .iter()
                        .position(|&o| o == v)
                        .and_then(|i| ids.get(i).copied().flatten())
                };
                let mut bindings = BTreeMap::new();
                for (i, &v) in last_outer.iter().enumerate() {
                    if let (Some(name), Some(value)) = (rule.var_names.get(v), last_ok.get(i))
                        && !name.starts_with('_')
                    {
                        bindings.insert(name.clone(), value.clone());
                    }
                }
                let Some(lit) = instance.rule.body.get(end - 1) else {
                    break;
                };
                let names = &instance.rule.var_names;
                let (failed, reason, why_not, because) = match lit {
                    Lit::Atom { rel: r, args: a } => {
                        let text = self.literal_text(*r, a, &value_of, names);
                        let ground: Option<Vec<u32>> = ground_args(a, &value_of);
                        let derived = self.program.rules.iter().any(|x| x.head == *r);
                        let recursion = self.why_stack.contains(&text);
                        let why = if derived && depth > 0 && !recursion {
                            let sub_args: Vec<Arg> = match &ground {
                                Some(g) => g.iter().map(|&c| Arg::Const(c)).collect(),
                                None => a
                                    .iter()
                                    .map(|x| match x {
                                        Arg::Var(v) => value_of(*v).map_or(Arg::Wild, Arg::Const),
                                        other => *other,
                                    })
                                    .collect(),
                            };
                            let mut node = Explanation::leaf(text.clone(), NodeKind::Missing);
                            node.holds = false;
                            node.tag = Tag::Bool(false);
                            self.why_stack.push(text.clone());
                            let attempts = self.attempts_for_pattern(*r, &sub_args, depth - 1);
                            self.why_stack.pop();
                            node.attempts = attempts?;
                            Some(Box::new(node))
                        } else {
                            None
                        };
                        let reason = if recursion {
                            "no tuple matches (it depends on what is being explained, through recursion)".to_string()
                        } else if derived {
                            "no tuple matches (and the rules for it derive none)".to_string()
                        } else {
                            "no fact matches".to_string()
                        };
                        (text, reason, why, None)
                    }
                    Lit::Neg { rel: r, args: a } => {
                        let text = self.literal_text(*r, a, &value_of, names);
                        let ground: Option<Vec<u32>> = ground_args(a, &value_of);
                        let witness = match ground {
                            Some(g) => Some(g),
                            None => self.witness(*r, a, &value_of)?,
                        };
                        let because = match witness {
                            Some(g) if depth > 0 => Some(Box::new(self.explain_fact(*r, &g)?)),
                            _ => None,
                        };
                        (
                            format!("not {text}"),
                            format!("`{text}` holds"),
                            None,
                            because,
                        )
                    }
                    Lit::Cmp { op, lhs, rhs } => (
                        format!(
                            "{} {} {}",
                            self.expr_text(lhs, &value_of, names),
                            op.as_str(),
                            self.expr_text(rhs, &value_of, names)
                        ),
                        "the comparison is false".to_string(),
                        None,
                        None,
                    ),
                    Lit::Agg(agg) => (
                        format!("{} {{...}}", agg.function.as_str()),
                        "the aggregate has no group for these bindings".to_string(),
                        None,
                        None,
                    ),
                    Lit::Call(call) => {
                        let mut node = self.call_node(call, &value_of);
                        let answered = node
                            .model
                            .as_ref()
                            .map(|m| {
                                let answers = self.call_answers(call, &m.inputs);
                                if answers.is_empty() {
                                    "the model gives no answer for these inputs".to_string()
                                } else {
                                    format!("the model answers {}", answers.join(" or "))
                                }
                            })
                            .unwrap_or_else(|| "its inputs are not bound".to_string());
                        (std::mem::take(&mut node.fact), answered, None, None)
                    }
                };
                attempts.push(Attempt {
                    rule: rule_ref.clone(),
                    bindings,
                    failed,
                    reason,
                    why_not,
                    because,
                });
                break;
            }
        }
        Ok(attempts)
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

/// `name(a, b)` as written in rules; `name` alone for no arguments.
pub(crate) fn atom_text(name: &str, args: &[String]) -> String {
    if args.is_empty() {
        name.to_string()
    } else {
        format!("{name}({})", args.join(", "))
    }
}
