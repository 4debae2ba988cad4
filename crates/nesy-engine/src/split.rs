//! Splitting long rule bodies where a projection pays.
//!
//! `sg(X, Y) :- edge(A, X), sg(A, B), edge(B, Y).` joins three atoms; run as
//! one nested loop it makes a row per `(A, B, X, Y)`. After the first two
//! atoms only `B` and `X` matter, so the rule is evaluated as
//! `tmp(B, X) :- edge(A, X), sg(A, B).` and `sg(X, Y) :- tmp(B, X),
//! edge(B, Y).`: the intermediate relation is a set, so each `(B, X)` is
//! joined with `edge` once however many `A` lead to it (the plan datafrog
//! users write by hand). A rule is split only when the first join drops a
//! variable; rules with aggregates are left whole.

use crate::ir::{Arg, Expr, Lit, RelationInfo, Rule, Var};
use std::collections::BTreeSet;

/// Names of intermediate relations start with this (no rule can name one).
pub(crate) const INTERNAL: char = '$';

/// `rules` with long bodies split; new relations are appended to
/// `relations`.
pub(crate) fn split_rules(relations: &mut Vec<RelationInfo>, rules: &[Rule]) -> Vec<Rule> {
    let mut out = Vec::new();
    for rule in rules {
        split(relations, rule.clone(), 1, &mut out);
    }
    out
}

fn atom_vars(lit: &Lit) -> BTreeSet<Var> {
    lit.outer_vars().into_iter().collect()
}

fn split(relations: &mut Vec<RelationInfo>, rule: Rule, part: usize, out: &mut Vec<Rule>) {
    let atoms: Vec<usize> = (0..rule.body.len())
        .filter(|&i| matches!(rule.body.get(i), Some(Lit::Atom { .. })))
        .collect();
    if atoms.len() < 3 || rule.body.iter().any(|l| matches!(l, Lit::Agg(_))) {
        out.push(rule);
        return;
    }
    let mut best: Option<(usize, Vec<usize>, Vec<Var>)> = None;
    for (n, &i) in atoms.iter().enumerate() {
        for &j in atoms.iter().skip(n + 1) {
            let (Some(a), Some(b)) = (rule.body.get(i), rule.body.get(j)) else {
                continue;
            };
            let (va, vb) = (atom_vars(a), atom_vars(b));
            if va.is_disjoint(&vb) {
                continue;
            }
            let mut bound: BTreeSet<Var> = va.union(&vb).copied().collect();
            let mut part_lits = vec![i, j];
            // Filters, negations and assignments that can run in the first
            // join go with it.
            loop {
                let before = part_lits.len();
                for (k, lit) in rule.body.iter().enumerate() {
                    if part_lits.contains(&k) || matches!(lit, Lit::Atom { .. }) {
                        continue;
                    }
                    if let Some(binds) = placeable(lit, &bound) {
                        part_lits.push(k);
                        bound.extend(binds);
                    }
                }
                if part_lits.len() == before {
                    break;
                }
            }
            let mut later: BTreeSet<Var> = BTreeSet::new();
            for e in &rule.head_args {
                let mut v = Vec::new();
                e.vars(&mut v);
                later.extend(v);
            }
            for (k, lit) in rule.body.iter().enumerate() {
                if !part_lits.contains(&k) {
                    later.extend(lit.outer_vars());
                }
            }
            let keep: Vec<Var> = bound
                .iter()
                .copied()
                .filter(|v| later.contains(v))
                .collect();
            let dropped = bound.len() - keep.len();
            if dropped > 0 && best.as_ref().is_none_or(|(d, _, _)| dropped > *d) {
                part_lits.sort_unstable();
                best = Some((dropped, part_lits, keep));
            }
        }
    }
    let Some((_, part_lits, keep)) = best else {
        out.push(rule);
        return;
    };
    let head_name = relations
        .get(rule.head)
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let tmp = relations.len();
    relations.push(RelationInfo {
        name: format!("{INTERNAL}{head_name}:{}:{part}", rule.location),
        arity: keep.len(),
    });
    let first: Vec<Lit> = part_lits
        .iter()
        .filter_map(|&k| rule.body.get(k).cloned())
        .collect();
    out.push(Rule {
        head: tmp,
        head_args: keep.iter().map(|&v| Expr::Var(v)).collect(),
        body: first,
        var_names: rule.var_names.clone(),
        name: rule.name.clone(),
        location: rule.location.clone(),
    });
    let mut rest = vec![Lit::Atom {
        rel: tmp,
        args: keep.iter().map(|&v| Arg::Var(v)).collect(),
    }];
    rest.extend(
        rule.body
            .iter()
            .enumerate()
            .filter(|(k, _)| !part_lits.contains(k))
            .map(|(_, l)| l.clone()),
    );
    let remainder = Rule { body: rest, ..rule };
    split(relations, remainder, part + 1, out);
}

/// The variables a non-atom literal binds, if it can run once `bound` are
/// bound.
fn placeable(lit: &Lit, bound: &BTreeSet<Var>) -> Option<Vec<Var>> {
    let all = |e: &Expr| {
        let mut v = Vec::new();
        e.vars(&mut v);
        v.iter().all(|x| bound.contains(x))
    };
    match lit {
        Lit::Neg { args, .. } => args
            .iter()
            .all(|a| match a {
                Arg::Var(v) => bound.contains(v),
                _ => true,
            })
            .then(Vec::new),
        Lit::Cmp { op, lhs, rhs } => {
            let (l, r) = (all(lhs), all(rhs));
            if l && r {
                Some(Vec::new())
            } else if *op == nesy_lang::ast::CmpOp::Eq {
                match (lhs, rhs) {
                    (Expr::Var(v), _) if r => Some(vec![*v]),
                    (_, Expr::Var(v)) if l => Some(vec![*v]),
                    _ => None,
                }
            } else {
                None
            }
        }
        Lit::Call(call) => call
            .inputs
            .iter()
            .all(|a| match a {
                Arg::Var(v) => bound.contains(v),
                _ => true,
            })
            .then(|| {
                call.outputs
                    .iter()
                    .filter_map(|a| match a {
                        Arg::Var(v) => Some(*v),
                        _ => None,
                    })
                    .collect()
            }),
        Lit::Atom { .. } | Lit::Agg(_) => None,
    }
}
