//! Proof search: depth first with an explicit stack, each fact proved
//! once and its step shared, then drawn as a tree to the depth asked for.

use super::{
    AggregateGroup, Explainer, Explanation, Instance, NodeKind, RuleRef, Tag, instantiate,
    instantiate_partial,
};
use crate::Error;
use crate::eval;
use crate::ir::{Arg, Expr, Lit, RelId, ground_args};
use crate::value::Value;
use rustc_hash::FxHashSet;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A proved step: its node without premises, and its premises, which
/// are other steps (shared: a fact is proved once however often it is
/// used) or leaves made on the spot (negations, comparisons, aggregates,
/// model calls).
pub(super) struct ProofStep {
    pub(super) node: Explanation,
    pub(super) premises: Vec<Premise>,
}

pub(super) enum Premise {
    Step(usize),
    Leaf(Box<Explanation>),
}

/// A fact being proved: the rules for it tried one after the other, each
/// with the bindings that derive it.
pub(super) struct FactSearch {
    pub(super) rel: RelId,
    pub(super) row: Vec<u32>,
    pub(super) limit: usize,
    pub(super) proofs: Vec<usize>,
    pub(super) rules: Vec<usize>,
    pub(super) next_rule: usize,
    pub(super) instance: Option<(usize, Rc<Instance>)>,
    pub(super) candidates: std::vec::IntoIter<Vec<u32>>,
}

/// One binding of a rule being checked premise by premise.
pub(super) struct DerivationSearch {
    pub(super) rule: usize,
    pub(super) instance: Rc<Instance>,
    pub(super) ids: Vec<u32>,
    pub(super) next: usize,
    pub(super) premises: Vec<Premise>,
}

pub(super) enum Frame {
    Fact(FactSearch),
    Derivation(DerivationSearch),
}

/// What a finished frame hands to the one below it.
pub(super) enum Done {
    Proofs(Vec<usize>),
    Derived(Option<usize>),
}

/// The facts on the way from the goal to the fact being proved (a proof
/// may not go round a cycle).
#[derive(Default)]
pub(super) struct Path {
    pub(super) order: Vec<(RelId, Vec<u32>)>,
    pub(super) set: FxHashSet<(RelId, Vec<u32>)>,
}

impl Explainer<'_> {
    /// Starts proving a fact: a known proof or a cycle answers at once;
    /// otherwise a frame that tries its rules.
    pub(super) fn enter(
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
        if self.is_base(rel, &row)
            && self
                .filter
                .as_ref()
                .is_none_or(|f| f.allows_fact(rel, &row))
        {
            let node = if self.lean {
                Explanation::leaf(String::new(), NodeKind::Fact)
            } else {
                let mut node = self.fact_node(rel, &row, NodeKind::Fact);
                node.source = self.program.fact_origin(rel, &row).map(|l| l.to_string());
                if let Some(p) = self.filter.as_ref().and_then(|f| f.probability(rel, &row)) {
                    node.tag = Tag::Probability(p);
                }
                node
            };
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
            .filter(|&i| {
                self.filter
                    .as_ref()
                    .is_none_or(|f| f.allows_rule(self.program, i))
            })
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

    pub(super) fn step(&mut self, node: Explanation, premises: Vec<Premise>) -> usize {
        self.proofs.push(ProofStep { node, premises });
        self.proofs.len() - 1
    }

    /// Up to `limit` proofs of a fact that holds, as steps. Depth first,
    /// with an explicit stack: a proof is as deep as the chain it follows.
    pub(super) fn prove_all(
        &mut self,
        rel: RelId,
        row: &[u32],
        limit: usize,
    ) -> Result<Vec<usize>, Error> {
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
                        if let Some(ids) = f.candidates.next() {
                            self.budget -= 1;
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
                            if let Some((instance, candidates)) = self.bindings(rule, &f.row)? {
                                f.candidates = candidates.into_iter();
                                f.instance = Some((rule, instance));
                            }
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
                        if let (Lit::Call(call), Some(filter)) = (lit, &self.filter)
                            && !filter.allows_call(call, &self.evaluation.interner, &value_of)
                        {
                            // An answer the proof does not use.
                            stack.pop();
                            done = Some(Done::Derived(None));
                            continue;
                        }
                        if self.lean {
                            let leaf = Explanation::leaf(String::new(), NodeKind::Comparison);
                            d.premises.push(Premise::Leaf(Box::new(leaf)));
                            d.next += 1;
                            continue;
                        }
                        let mut leaf = self.premise_leaf(lit, &instance, &value_of)?;
                        if self.filter.is_some() && matches!(lit, Lit::Neg { .. }) {
                            leaf.source =
                                Some("holds in this proof (see its `not` events)".to_string());
                        }
                        d.premises.push(Premise::Leaf(Box::new(leaf)));
                        d.next += 1;
                        continue;
                    }
                    // Every premise proved: the rule's step.
                    let premises = std::mem::take(&mut d.premises);
                    let (rule, ids) = (d.rule, std::mem::take(&mut d.ids));
                    stack.pop();
                    let node = if self.lean {
                        let mut node = Explanation::leaf(String::new(), NodeKind::Rule);
                        node.rule = self.rule_ref(rule);
                        node
                    } else {
                        let head_row = match stack.last() {
                            Some(Frame::Fact(f)) => f.row.clone(),
                            _ => Vec::new(),
                        };
                        self.rule_node(rule, &instance, &ids, &head_row)
                    };
                    let id = self.step(node, premises);
                    done = Some(Done::Derived(Some(id)));
                }
            }
        }
        Ok(Vec::new())
    }

    /// The bindings of rule `rule` that derive `row` of its head, as ids
    /// of the instance's outer variables in the order of their values;
    /// `None` when the head cannot match `row`.
    fn bindings(&mut self, rule: usize, row: &[u32]) -> Result<Option<Bindings>, Error> {
        let planned = match self.plans.get(&rule) {
            Some(p) => p.clone(),
            None => {
                let p = self.plan_rule(rule)?;
                self.plans.insert(rule, p.clone());
                p
            }
        };
        let Some(planned) = planned else {
            return self.bindings_unplanned(rule, row);
        };
        let mut presets: Vec<(usize, u32)> = Vec::with_capacity(row.len());
        for (slot, &c) in planned.head.iter().zip(row) {
            match *slot {
                HeadSlot::Var(v) => match presets.iter().find(|(w, _)| *w == v) {
                    Some(&(_, prev)) if prev != c => return Ok(None),
                    Some(_) => {}
                    None => presets.push((v, c)),
                },
                HeadSlot::Const(k) if k != c => return Ok(None),
                HeadSlot::Const(_) => {}
            }
        }
        let rule = &planned.instance.rule;
        let query = eval::Answer {
            ops: &planned.ops,
            vars: rule.num_vars(),
            presets: &presets,
            terminal: &rule.head_args,
            location: &rule.location,
        };
        let rows = eval::answer_ids(
            &self.evaluation.stores,
            &self.evaluation.interner,
            &query,
            self.limits,
            &self.clock,
        )?;
        Ok(Some((Rc::clone(&planned.instance), rows)))
    }

    /// A rule planned once for every fact of its head: its head's
    /// variables bound from outside. `None` for a head with an expression
    /// (such a rule is instantiated for each fact).
    fn plan_rule(&mut self, rule: usize) -> Result<Option<Rc<Planned>>, Error> {
        let program = self.program;
        let Some(r) = program.rules.get(rule) else {
            return Ok(None);
        };
        let mut head = Vec::with_capacity(r.head_args.len());
        for arg in &r.head_args {
            head.push(match arg {
                Expr::Var(v) => HeadSlot::Var(*v),
                Expr::Const(k) => HeadSlot::Const(*k),
                _ => return Ok(None),
            });
        }
        let Some(instance) = instantiate_partial(r, &[]) else {
            return Ok(None);
        };
        let bound: Vec<usize> = head
            .iter()
            .filter_map(|s| match s {
                HeadSlot::Var(v) => Some(*v),
                HeadSlot::Const(_) => None,
            })
            .collect();
        let ops = if self.filter.is_some() {
            eval::plan_answer(
                &mut self.evaluation.stores,
                &positive(&instance.rule),
                &bound,
            )?
        } else {
            eval::plan_answer(&mut self.evaluation.stores, &instance.rule, &bound)?
        };
        Ok(Some(Rc::new(Planned {
            instance: Rc::new(instance),
            ops,
            head,
        })))
    }

    /// [`Self::bindings`] for a rule with an expression in its head: the
    /// rule instantiated for `row` and planned for it alone.
    fn bindings_unplanned(&mut self, rule: usize, row: &[u32]) -> Result<Option<Bindings>, Error> {
        let program = self.program;
        let Some(instance) = program.rules.get(rule).and_then(|r| instantiate(r, row)) else {
            return Ok(None);
        };
        let rows = if self.filter.is_some() {
            self.answer(&positive(&instance.rule))?
        } else {
            self.answer(&instance.rule)?
        };
        let interner = &self.evaluation.interner;
        let ids = rows
            .iter()
            .filter_map(|r| r.iter().map(|v| interner.get(v)).collect())
            .collect();
        Ok(Some((Rc::new(instance), ids)))
    }

    /// Rule `index` by name and place.
    fn rule_ref(&self, index: usize) -> Option<RuleRef> {
        self.program.rules.get(index).map(|rule| RuleRef {
            name: rule.name.clone(),
            location: rule.location.clone(),
            probability: self.program.rule_probability(index),
        })
    }

    /// Adds to `out` the rules of the proof step `root` and the steps
    /// below it, each rule once, in the order the proof reaches them.
    pub(super) fn rules_of(&self, root: usize, out: &mut Vec<RuleRef>) {
        let mut seen = FxHashSet::default();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            let Some(step) = self.proofs.get(id) else {
                continue;
            };
            if !seen.insert(id) {
                continue;
            }
            if let Some(rule) = &step.node.rule
                && !out.contains(rule)
            {
                out.push(rule.clone());
            }
            stack.extend(step.premises.iter().rev().filter_map(|p| match p {
                Premise::Step(s) => Some(*s),
                Premise::Leaf(_) => None,
            }));
        }
    }

    /// The node of a rule step: the head fact, the rule, its bindings.
    pub(super) fn rule_node(
        &self,
        rule: usize,
        instance: &Instance,
        ids: &[u32],
        head_row: &[u32],
    ) -> Explanation {
        let index = rule;
        let Some(rule) = self.program.rules.get(index) else {
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
        node.rule = self.rule_ref(index);
        node.bindings = bindings;
        node
    }

    /// A proof step as a tree, down to `max_depth` levels and `max_nodes`
    /// nodes; a step past either is shown `truncated`, without premises.
    /// Built bottom up with an explicit stack.
    pub(super) fn tree(&self, root: usize) -> Explanation {
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
    pub(super) fn premise_leaf(
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
}

/// A rule instance and its bindings that derive a fact, as ids of the
/// instance's outer variables.
type Bindings = (Rc<Instance>, Vec<Vec<u32>>);

/// A rule planned for proving facts of its head (see
/// [`Explainer::plan_rule`]).
pub(super) struct Planned {
    instance: Rc<Instance>,
    ops: Vec<crate::plan::Op>,
    head: Vec<HeadSlot>,
}

/// What a head argument does with the fact's value there.
enum HeadSlot {
    /// Binds (or, seen before, must equal) the variable.
    Var(usize),
    /// Must be this constant.
    Const(u32),
}

/// Under a kept proof, negations hold by its `not ...` events: the
/// support, where the negated atom may hold, does not decide them. The
/// rule without them answers for such a proof.
fn positive(rule: &crate::ir::Rule) -> crate::ir::Rule {
    let mut rule = rule.clone();
    rule.body.retain(|lit| !matches!(lit, Lit::Neg { .. }));
    rule
}
