//! Magic-set rewriting: derive only what a goal with constants can reach.
//!
//! For a goal `p(c, Y)`, each derived relation is copied once per binding
//! pattern it is called with (`p@bf`: first argument bound), and each copy
//! is guarded by a *magic* relation holding the bindings that are asked for.
//! Bindings flow through rule bodies in the planner's order (sideways
//! information passing): `magic q@b(...) :- magic p@a(...), atoms before q`.
//! The rewriting applies when the goal is one atom with a constant and the
//! rules it depends on use neither negation nor aggregates (the rewritten
//! program could otherwise be unstratified).

use crate::ir::{Arg, Expr, Lit, RelId, RelationInfo, Rule, Var};
use nesy_lang::ast::CmpOp;
use rustc_hash::FxHashMap;
use std::collections::HashSet;

/// A program specialised to one goal.
pub(crate) struct Rewritten {
    pub(crate) relations: Vec<RelationInfo>,
    pub(crate) rules: Vec<Rule>,
    /// The goal, reading the adorned relation.
    pub(crate) goal: Rule,
}

type Adornment = Vec<bool>;

pub(crate) fn rewrite(
    relations: &[RelationInfo],
    rules: &[Rule],
    goal: &Rule,
) -> Option<Rewritten> {
    let [
        Lit::Atom {
            rel: goal_rel,
            args: goal_args,
        },
    ] = goal.body.as_slice()
    else {
        return None;
    };
    let derived: HashSet<RelId> = rules.iter().map(|r| r.head).collect();
    if !derived.contains(goal_rel) || !goal_args.iter().any(|a| matches!(a, Arg::Const(_))) {
        return None;
    }
    // The relations the goal depends on must be positive Datalog.
    let mut cone = HashSet::from([*goal_rel]);
    let mut stack = vec![*goal_rel];
    while let Some(r) = stack.pop() {
        for rule in rules.iter().filter(|x| x.head == r) {
            for (dep, needs_complete) in rule.dependencies() {
                if needs_complete {
                    return None;
                }
                if cone.insert(dep) {
                    stack.push(dep);
                }
            }
        }
    }
    let mut out = Rewriter {
        relations: relations.to_vec(),
        rules: Vec::new(),
        adorned: FxHashMap::default(),
        queue: Vec::new(),
        derived,
    };
    let adornment: Adornment = goal_args
        .iter()
        .map(|a| matches!(a, Arg::Const(_)))
        .collect();
    let (goal_adorned, goal_magic) = out.adorned(*goal_rel, &adornment);
    // Seed: the goal's constants.
    let seed: Vec<Expr> = goal_args
        .iter()
        .filter_map(|a| match a {
            Arg::Const(c) => Some(Expr::Const(*c)),
            _ => None,
        })
        .collect();
    out.rules.push(Rule {
        head: goal_magic,
        head_args: seed,
        body: Vec::new(),
        var_names: Vec::new(),
        name: None,
        location: goal.location.clone(),
    });
    while let Some((rel, adornment)) = out.queue.pop() {
        for rule in rules.iter().filter(|r| r.head == rel) {
            out.rewrite_rule(rule, &adornment)?;
        }
    }
    let mut new_goal = goal.clone();
    new_goal.body = vec![Lit::Atom {
        rel: goal_adorned,
        args: goal_args.clone(),
    }];
    Some(Rewritten {
        relations: out.relations,
        rules: out.rules,
        goal: new_goal,
    })
}

struct Rewriter {
    relations: Vec<RelationInfo>,
    rules: Vec<Rule>,
    /// (relation, adornment) -> (adorned copy, its magic relation)
    adorned: FxHashMap<(RelId, Adornment), (RelId, RelId)>,
    queue: Vec<(RelId, Adornment)>,
    derived: HashSet<RelId>,
}

fn pattern(adornment: &[bool]) -> String {
    adornment
        .iter()
        .map(|&b| if b { 'b' } else { 'f' })
        .collect()
}

impl Rewriter {
    fn new_relation(&mut self, name: String, arity: usize) -> RelId {
        self.relations.push(RelationInfo { name, arity });
        self.relations.len() - 1
    }

    fn adorned(&mut self, rel: RelId, adornment: &Adornment) -> (RelId, RelId) {
        if let Some(&ids) = self.adorned.get(&(rel, adornment.clone())) {
            return ids;
        }
        let (name, arity) = self
            .relations
            .get(rel)
            .map(|r| (r.name.clone(), r.arity))
            .unwrap_or_default();
        let p = pattern(adornment);
        let copy = self.new_relation(format!("{name}@{p}"), arity);
        let bound = adornment.iter().filter(|b| **b).count();
        let magic = self.new_relation(format!("magic:{name}@{p}"), bound);
        self.adorned.insert((rel, adornment.clone()), (copy, magic));
        self.queue.push((rel, adornment.clone()));
        (copy, magic)
    }

    fn rewrite_rule(&mut self, rule: &Rule, adornment: &Adornment) -> Option<()> {
        let (copy, magic) = self.adorned(rule.head, adornment);
        let mut bound = vec![false; rule.num_vars()];
        let mut magic_args = Vec::new();
        for (arg, &b) in rule.head_args.iter().zip(adornment) {
            if !b {
                continue;
            }
            match arg {
                Expr::Var(v) => {
                    if let Some(slot) = bound.get_mut(*v) {
                        *slot = true;
                    }
                    magic_args.push(Arg::Var(*v));
                }
                Expr::Const(c) => magic_args.push(Arg::Const(*c)),
                // A computed head argument cannot pass its binding down.
                _ => return None,
            }
        }
        let magic_atom = Lit::Atom {
            rel: magic,
            args: magic_args,
        };
        let mut new_body = vec![magic_atom.clone()];
        let mut remaining: Vec<usize> = (0..rule.body.len()).collect();
        while !remaining.is_empty() {
            let pos = pick(&rule.body, &remaining, &bound)?;
            let i = remaining.remove(pos);
            let lit = rule.body.get(i)?;
            match lit {
                Lit::Atom { rel, args } if self.derived.contains(rel) => {
                    let adornment: Adornment = args
                        .iter()
                        .map(|a| match a {
                            Arg::Const(_) => true,
                            Arg::Var(v) => bound.get(*v).copied().unwrap_or(false),
                            Arg::Wild => false,
                        })
                        .collect();
                    let (inner_copy, inner_magic) = self.adorned(*rel, &adornment);
                    let head_args: Vec<Expr> = args
                        .iter()
                        .zip(&adornment)
                        .filter(|(_, b)| **b)
                        .filter_map(|(a, _)| match a {
                            Arg::Var(v) => Some(Expr::Var(*v)),
                            Arg::Const(c) => Some(Expr::Const(*c)),
                            Arg::Wild => None,
                        })
                        .collect();
                    self.rules.push(Rule {
                        head: inner_magic,
                        head_args,
                        body: new_body.clone(),
                        var_names: rule.var_names.clone(),
                        name: None,
                        location: rule.location.clone(),
                    });
                    new_body.push(Lit::Atom {
                        rel: inner_copy,
                        args: args.clone(),
                    });
                }
                other => new_body.push(other.clone()),
            }
            for v in lit.outer_vars() {
                if let Some(slot) = bound.get_mut(v) {
                    *slot = true;
                }
            }
        }
        self.rules.push(Rule {
            head: copy,
            head_args: rule.head_args.clone(),
            body: new_body,
            var_names: rule.var_names.clone(),
            name: rule.name.clone(),
            location: rule.location.clone(),
        });
        Some(())
    }
}

/// The next body literal in sideways order: a comparison whose variables
/// are bound, else the atom with the most bound arguments.
fn pick(body: &[Lit], remaining: &[usize], bound: &[bool]) -> Option<usize> {
    let is_bound = |v: &Var| bound.get(*v).copied().unwrap_or(false);
    let expr_bound = |e: &Expr| {
        let mut vars = Vec::new();
        e.vars(&mut vars);
        vars.iter().all(is_bound)
    };
    let ready = remaining.iter().position(|&i| match body.get(i) {
        Some(Lit::Cmp { op, lhs, rhs }) => {
            let (l, r) = (expr_bound(lhs), expr_bound(rhs));
            (l && r)
                || (*op == CmpOp::Eq
                    && ((r && matches!(lhs, Expr::Var(_))) || (l && matches!(rhs, Expr::Var(_)))))
        }
        _ => false,
    });
    if ready.is_some() {
        return ready;
    }
    remaining
        .iter()
        .enumerate()
        .filter_map(|(pos, &i)| match body.get(i) {
            Some(Lit::Atom { args, .. }) => {
                let n = args
                    .iter()
                    .filter(|a| match a {
                        Arg::Const(_) => true,
                        Arg::Var(v) => is_bound(v),
                        Arg::Wild => false,
                    })
                    .count();
                Some((n, std::cmp::Reverse(pos), pos))
            }
            _ => None,
        })
        .max()
        .map(|(_, _, pos)| pos)
}
