//! Join plans: the order a rule's body is evaluated in, and the index each
//! atom is read through.
//!
//! The planner is greedy: after the delta atom (in semi-naive rounds) it
//! places every comparison, assignment, negation and aggregate as soon as
//! their variables are bound, then the atom with the most bound arguments,
//! the smaller relation first on a tie. An atom whose arguments are bound
//! is read through an index whose leading columns are those arguments; an
//! atom scanned without bound arguments is read in the column order the
//! next atom looks up, so equal keys come together.

use crate::Error;
use crate::ir::{Aggregate, Arg, Call, Expr, Lit, RelId, Var};
use crate::storage::{Store, Version};
use nesy_lang::Location;
use nesy_lang::ast::{AggregateFn, CmpOp};

/// A value known when an operation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Src {
    Var(Var),
    Const(u32),
}

/// One step of a plan.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// For each row of `rel` whose leading columns equal `key`: bind.
    Join {
        rel: RelId,
        index: usize,
        version: Version,
        key: Vec<Src>,
        /// (stored column, variable) bound by this row.
        binds: Vec<(usize, Var)>,
        /// (stored column, variable) that must equal a variable this row
        /// bound in an earlier column (`p(X, X)`).
        checks: Vec<(usize, Var)>,
        /// The atom binds nothing (its other arguments are `_`): one
        /// matching row answers it, an existence check. Rows are still
        /// read one by one where their tags matter.
        exists: bool,
    },
    /// No row of `rel` starts with `key`.
    Anti {
        rel: RelId,
        index: usize,
        key: Vec<Src>,
    },
    Filter {
        op: CmpOp,
        lhs: Expr,
        rhs: Expr,
    },
    Assign {
        var: Var,
        expr: Expr,
    },
    Aggregate(Box<AggregatePlan>),
    /// Call a model; per answer, bind `binds` (output position, variable)
    /// and check `checks` (output position, known value).
    Call {
        call: Box<Call>,
        binds: Vec<(usize, Var)>,
        checks: Vec<(usize, Src)>,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct AggregatePlan {
    pub(crate) function: AggregateFn,
    pub(crate) result: Var,
    /// Whether the result variable was bound before (then it is compared).
    pub(crate) result_bound: bool,
    pub(crate) terms: Vec<Expr>,
    /// Group variables the aggregate binds (the others are bound already).
    pub(crate) free_group: Vec<Var>,
    /// What each inner binding contributes: the free group variables, then
    /// the terms.
    pub(crate) collect: Vec<Expr>,
    pub(crate) ops: Vec<Op>,
}

/// Plans `body`: `versions[i]` says which rows atom `i` reads; `first`, if
/// set, is placed first (the delta atom).
pub(crate) fn plan(
    body: &[Lit],
    versions: &[Version],
    first: Option<usize>,
    bound: &mut [bool],
    stores: &mut [Store],
    location: &Location,
) -> Result<Vec<Op>, Error> {
    let mut remaining: Vec<usize> = (0..body.len()).filter(|i| Some(*i) != first).collect();
    let mut ops = Vec::new();
    if let Some(f) = first {
        push_atom(body, versions, f, &remaining, bound, stores, &mut ops);
    }
    loop {
        while let Some(pos) = remaining
            .iter()
            .position(|&i| ready(body, i, &remaining, bound))
        {
            let i = remaining.remove(pos);
            let Some(lit) = body.get(i) else { continue };
            ops.push(non_atom(lit, bound, stores, location)?);
        }
        let Some(best) = best_atom(body, &remaining, bound, stores) else {
            break;
        };
        remaining.retain(|&i| i != best);
        push_atom(body, versions, best, &remaining, bound, stores, &mut ops);
    }
    if remaining.is_empty() {
        Ok(ops)
    } else {
        Err(Error::Compile {
            location: Some(location.clone()),
            message: "cannot order the rule's body: a variable is never bound".to_string(),
        })
    }
}

fn is_bound(bound: &[bool], v: Var) -> bool {
    bound.get(v).copied().unwrap_or(false)
}

fn bind(bound: &mut [bool], v: Var) {
    if let Some(b) = bound.get_mut(v) {
        *b = true;
    }
}

fn expr_bound(e: &Expr, bound: &[bool]) -> bool {
    let mut vars = Vec::new();
    e.vars(&mut vars);
    vars.iter().all(|&v| is_bound(bound, v))
}

fn arg_bound(a: &Arg, bound: &[bool]) -> bool {
    match a {
        Arg::Const(_) => true,
        Arg::Var(v) => is_bound(bound, *v),
        Arg::Wild => false,
    }
}

/// Whether a non-atom literal can be placed now.
fn ready(body: &[Lit], i: usize, remaining: &[usize], bound: &[bool]) -> bool {
    match body.get(i) {
        Some(Lit::Atom { .. }) | None => false,
        Some(Lit::Neg { args, .. }) => args
            .iter()
            .all(|a| matches!(a, Arg::Wild) || arg_bound(a, bound)),
        Some(Lit::Cmp { op, lhs, rhs }) => {
            let (l, r) = (expr_bound(lhs, bound), expr_bound(rhs, bound));
            (l && r)
                || (*op == CmpOp::Eq
                    && ((r && matches!(lhs, Expr::Var(_))) || (l && matches!(rhs, Expr::Var(_)))))
        }
        Some(Lit::Call(call)) => call.inputs.iter().all(|a| arg_bound(a, bound)),
        Some(Lit::Agg(agg)) => agg.group.iter().all(|&g| {
            is_bound(bound, g)
                || !remaining.iter().any(|&j| {
                    j != i
                        && body.get(j).is_some_and(|l| {
                            !matches!(l, Lit::Agg(_)) && l.outer_vars().contains(&g)
                        })
                })
        }),
    }
}

fn src(a: &Arg) -> Option<Src> {
    match a {
        Arg::Var(v) => Some(Src::Var(*v)),
        Arg::Const(c) => Some(Src::Const(*c)),
        Arg::Wild => None,
    }
}

fn non_atom(
    lit: &Lit,
    bound: &mut [bool],
    stores: &mut [Store],
    location: &Location,
) -> Result<Op, Error> {
    Ok(match lit {
        Lit::Neg { rel, args } => {
            let cols: Vec<usize> = (0..args.len())
                .filter(|&c| !matches!(args.get(c), Some(Arg::Wild)))
                .collect();
            let key = cols
                .iter()
                .filter_map(|&c| args.get(c).and_then(src))
                .collect();
            let perm = lead_with(&cols, args.len());
            let index = index_for(stores, *rel, &perm);
            Op::Anti {
                rel: *rel,
                index,
                key,
            }
        }
        Lit::Cmp { op, lhs, rhs } => {
            let (l, r) = (expr_bound(lhs, bound), expr_bound(rhs, bound));
            match (l, r, lhs, rhs) {
                (false, true, Expr::Var(v), _) => {
                    bind(bound, *v);
                    Op::Assign {
                        var: *v,
                        expr: rhs.clone(),
                    }
                }
                (true, false, _, Expr::Var(v)) => {
                    bind(bound, *v);
                    Op::Assign {
                        var: *v,
                        expr: lhs.clone(),
                    }
                }
                _ => Op::Filter {
                    op: *op,
                    lhs: lhs.clone(),
                    rhs: rhs.clone(),
                },
            }
        }
        Lit::Agg(agg) => aggregate(agg, bound, stores, location)?,
        Lit::Call(call) => {
            let mut binds = Vec::new();
            let mut checks = Vec::new();
            for (pos, a) in call.outputs.iter().enumerate() {
                match a {
                    Arg::Var(v) if !is_bound(bound, *v) => {
                        binds.push((pos, *v));
                        bind(bound, *v);
                    }
                    Arg::Var(v) => checks.push((pos, Src::Var(*v))),
                    Arg::Const(c) => checks.push((pos, Src::Const(*c))),
                    Arg::Wild => {}
                }
            }
            Op::Call {
                call: call.clone(),
                binds,
                checks,
            }
        }
        Lit::Atom { .. } => {
            return Err(Error::Compile {
                location: Some(location.clone()),
                message: "internal: atom planned as a filter".to_string(),
            });
        }
    })
}

fn aggregate(
    agg: &Aggregate,
    bound: &mut [bool],
    stores: &mut [Store],
    location: &Location,
) -> Result<Op, Error> {
    let free_group: Vec<Var> = agg
        .group
        .iter()
        .copied()
        .filter(|&g| !is_bound(bound, g))
        .collect();
    let result_bound = is_bound(bound, agg.result);
    // Inside, the outer bindings hold; the aggregate's own variables start
    // unbound (they may share a slot number with nothing outside).
    let mut inner = bound.to_vec();
    let versions = vec![Version::Full; agg.body.len()];
    let ops = plan(&agg.body, &versions, None, &mut inner, stores, location)?;
    for &g in &free_group {
        bind(bound, g);
    }
    bind(bound, agg.result);
    Ok(Op::Aggregate(Box::new(AggregatePlan {
        function: agg.function,
        result: agg.result,
        result_bound,
        terms: agg.terms.clone(),
        collect: free_group
            .iter()
            .map(|&g| Expr::Var(g))
            .chain(agg.terms.iter().cloned())
            .collect(),
        free_group,
        ops,
    })))
}

/// `lead` first (in order), then the other columns ascending.
fn lead_with(lead: &[usize], arity: usize) -> Vec<usize> {
    let mut perm = lead.to_vec();
    perm.extend((0..arity).filter(|c| !lead.contains(c)));
    perm
}

fn index_for(stores: &mut [Store], rel: RelId, perm: &[usize]) -> usize {
    match stores.get_mut(rel) {
        Some(store) => {
            // Relations of no columns store one placeholder column.
            if perm.is_empty() {
                store.index(&[0])
            } else {
                store.index(perm)
            }
        }
        None => 0,
    }
}

fn size(stores: &[Store], rel: RelId) -> usize {
    stores
        .get(rel)
        .map_or(0, |s| s.len + s.to_add.len() / s.width)
}

/// The atom to read next: most bound arguments, then the smaller relation.
fn best_atom(body: &[Lit], remaining: &[usize], bound: &[bool], stores: &[Store]) -> Option<usize> {
    remaining
        .iter()
        .filter_map(|&i| match body.get(i) {
            Some(Lit::Atom { rel, args }) => {
                let n = args.iter().filter(|a| arg_bound(a, bound)).count();
                let score = (
                    n > 0 || args.is_empty(),
                    n,
                    std::cmp::Reverse(size(stores, *rel)),
                );
                Some((score, std::cmp::Reverse(i), i))
            }
            _ => None,
        })
        .max()
        .map(|(_, _, i)| i)
}

fn push_atom(
    body: &[Lit],
    versions: &[Version],
    i: usize,
    remaining: &[usize],
    bound: &mut [bool],
    stores: &mut [Store],
    ops: &mut Vec<Op>,
) {
    let Some(Lit::Atom { rel, args }) = body.get(i) else {
        return;
    };
    let version = versions.get(i).copied().unwrap_or(Version::Full);
    let bound_cols: Vec<usize> = (0..args.len())
        .filter(|&c| args.get(c).is_some_and(|a| arg_bound(a, bound)))
        .collect();
    let perm = if bound_cols.is_empty() {
        scan_order(body, i, remaining, bound, stores)
    } else {
        lead_with(&bound_cols, args.len())
    };
    let key: Vec<Src> = bound_cols
        .iter()
        .filter_map(|&c| args.get(c).and_then(src))
        .collect();
    let index = index_for(stores, *rel, &perm);
    let mut binds = Vec::new();
    let mut checks = Vec::new();
    for (pos, &col) in perm.iter().enumerate().skip(key.len()) {
        if let Some(Arg::Var(v)) = args.get(col) {
            if is_bound(bound, *v) {
                checks.push((pos, *v));
            } else {
                binds.push((pos, *v));
                bind(bound, *v);
            }
        }
    }
    ops.push(Op::Join {
        rel: *rel,
        index,
        version,
        key,
        exists: binds.is_empty(),
        binds,
        checks,
    });
}

/// Column order for scanning atom `i`: the columns holding the variables
/// the next atom will look up come first, so its lookups arrive in order.
fn scan_order(
    body: &[Lit],
    i: usize,
    remaining: &[usize],
    bound: &[bool],
    stores: &[Store],
) -> Vec<usize> {
    let Some(Lit::Atom { args, .. }) = body.get(i) else {
        return Vec::new();
    };
    let mut after = bound.to_vec();
    for a in args {
        if let Arg::Var(v) = a {
            bind(&mut after, *v);
        }
    }
    let mut lead = Vec::new();
    if let Some(next) = best_atom(body, remaining, &after, stores)
        && let Some(Lit::Atom {
            args: next_args, ..
        }) = body.get(next)
    {
        for a in next_args {
            if let Arg::Var(v) = a
                && !is_bound(bound, *v)
                && let Some(col) = args.iter().position(|x| x == a)
                && !lead.contains(&col)
            {
                lead.push(col);
            }
        }
    }
    lead_with(&lead, args.len())
}
