//! Why not: for each rule that could derive a fact, the first literal no
//! binding gets past, following a missing derived premise into its own
//! rules; and the texts of literals and model calls under bindings.

use super::{
    Attempt, Explainer, Explanation, Instance, ModelCallNode, NodeKind, RuleRef, Tag,
    instantiate_partial, outer_vars,
};
use crate::Error;
use crate::ir::{Arg, Call, Expr, Lit, RelId, Rule, ground_args};
use crate::value::{Value, atom_text};
use nesy_lang::Location;
use nesy_lang::ast::CmpOp;
use std::collections::BTreeMap;

impl Explainer<'_> {
    /// One tuple of `rel` matching `args` (unbound variables and `_` match
    /// anything).
    pub(super) fn witness(
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
            location: Location::file("<goal>"),
        };
        let rows = self.answer(&rule)?;
        Ok(rows
            .first()
            .and_then(|row| row.iter().map(|v| self.interner().get(v)).collect()))
    }

    pub(super) fn aggregate_group(
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
    pub(super) fn call_node(
        &self,
        call: &Call,
        value_of: &dyn Fn(usize) -> Option<u32>,
    ) -> Explanation {
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
    pub(super) fn call_answers(&self, call: &Call, inputs: &[Value]) -> Vec<String> {
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

    pub(super) fn literal_text(
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

    pub(super) fn expr_text(
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
    pub(super) fn attempts_for_pattern(
        &mut self,
        rel: RelId,
        args: &[Arg],
        depth: usize,
    ) -> Result<Vec<Attempt>, Error> {
        // The pattern's constants, the same for every rule.
        let consts: Vec<Option<u32>> = args
            .iter()
            .map(|a| match a {
                Arg::Const(c) => Some(*c),
                _ => None,
            })
            .collect();
        let program = self.program;
        let mut attempts = Vec::new();
        for (index, rule) in program
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.head == rel)
        {
            if let Some(instance) = instantiate_partial(rule, &consts)
                && let Some(attempt) = self.attempt(index, rule, &instance, depth)?
            {
                attempts.push(attempt);
            }
        }
        Ok(attempts)
    }

    /// Where one rule fails: its body's prefixes are run one literal
    /// longer at a time (the head's bindings first) until nothing gets
    /// through; the literal that stopped it is the failure, with the
    /// bindings of the last prefix that held.
    fn attempt(
        &mut self,
        index: usize,
        rule: &Rule,
        instance: &Instance,
        depth: usize,
    ) -> Result<Option<Attempt>, Error> {
        let body_len = instance.rule.body.len();
        let mut last_ok: Vec<Value> = Vec::new();
        let mut last_outer: Vec<usize> = Vec::new();
        let first_end = instance.equalities.max(1);
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
            let Some(lit) = instance.rule.body.get(end - 1) else {
                break;
            };
            let ids: Vec<Option<u32>> = last_ok.iter().map(|v| self.interner().get(v)).collect();
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
            let names = &instance.rule.var_names;
            let failure = match lit {
                Lit::Atom { rel, args } => {
                    self.missing_atom(*rel, args, &value_of, names, depth)?
                }
                Lit::Neg { rel, args } => {
                    self.holding_negation(*rel, args, &value_of, names, depth)?
                }
                Lit::Cmp { op, lhs, rhs } => Failure::plain(
                    format!(
                        "{} {} {}",
                        self.expr_text(lhs, &value_of, names),
                        op.as_str(),
                        self.expr_text(rhs, &value_of, names)
                    ),
                    "the comparison is false",
                ),
                Lit::Agg(agg) => Failure::plain(
                    format!("{} {{...}}", agg.function.as_str()),
                    "the aggregate has no group for these bindings",
                ),
                Lit::Call(call) => self.refused_call(call, &value_of),
            };
            return Ok(Some(Attempt {
                rule: RuleRef {
                    name: rule.name.clone(),
                    location: rule.location.clone(),
                    probability: self.program.rule_probability(index),
                },
                bindings,
                failed: failure.failed,
                reason: failure.reason,
                why_not: failure.why_not,
                because: failure.because,
            }));
        }
        Ok(None)
    }

    /// A positive atom nothing matches: for a derived relation, why not
    /// in turn (unless it is what is being explained, through recursion).
    fn missing_atom(
        &mut self,
        rel: RelId,
        args: &[Arg],
        value_of: &dyn Fn(usize) -> Option<u32>,
        names: &[String],
        depth: usize,
    ) -> Result<Failure, Error> {
        let text = self.literal_text(rel, args, value_of, names);
        let derived = self.program.rules.iter().any(|x| x.head == rel);
        let recursion = self.why_stack.contains(&text);
        let why_not = if derived && depth > 0 && !recursion {
            let sub_args: Vec<Arg> = match ground_args(args, value_of) {
                Some(g) => g.iter().map(|&c| Arg::Const(c)).collect(),
                None => args
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
            let attempts = self.attempts_for_pattern(rel, &sub_args, depth - 1);
            self.why_stack.pop();
            node.attempts = attempts?;
            Some(Box::new(node))
        } else {
            None
        };
        let reason = if recursion {
            "no tuple matches (it depends on what is being explained, through recursion)"
        } else if derived {
            "no tuple matches (and the rules for it derive none)"
        } else {
            "no fact matches"
        };
        Ok(Failure {
            why_not,
            ..Failure::plain(text, reason)
        })
    }

    /// `not a` where `a` holds: a tuple that matches, and why it holds.
    fn holding_negation(
        &mut self,
        rel: RelId,
        args: &[Arg],
        value_of: &dyn Fn(usize) -> Option<u32>,
        names: &[String],
        depth: usize,
    ) -> Result<Failure, Error> {
        let text = self.literal_text(rel, args, value_of, names);
        let witness = match ground_args(args, value_of) {
            Some(g) => Some(g),
            None => self.witness(rel, args, value_of)?,
        };
        let because = match witness {
            Some(g) if depth > 0 => Some(Box::new(self.explain_fact(rel, &g)?)),
            _ => None,
        };
        Ok(Failure {
            because,
            ..Failure::plain(format!("not {text}"), &format!("`{text}` holds"))
        })
    }

    /// A model call that gives no answer matching: what it answered.
    fn refused_call(&self, call: &Call, value_of: &dyn Fn(usize) -> Option<u32>) -> Failure {
        let mut node = self.call_node(call, value_of);
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
        Failure::plain(std::mem::take(&mut node.fact), &answered)
    }
}

/// The literal a rule failed on, why, and the explanation below it.
struct Failure {
    failed: String,
    reason: String,
    why_not: Option<Box<Explanation>>,
    because: Option<Box<Explanation>>,
}

impl Failure {
    fn plain(failed: String, reason: &str) -> Self {
        Failure {
            failed,
            reason: reason.to_string(),
            why_not: None,
            because: None,
        }
    }
}
