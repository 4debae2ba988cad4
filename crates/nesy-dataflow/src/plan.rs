//! The program in the form the dataflow is built from: the engine's
//! compiled rules with constants as values (each worker builds its own
//! dataflow from one shared copy), checked for what this backend runs.

use crate::datum::{Datum, Row};
use crate::error::Error;
use nesy_engine::ir::{Aggregate, Arg, Expr, Lit, RelId, Rule, Var};
use nesy_engine::{Compiled, Interner, Value};
use nesy_lang::Location;
use nesy_lang::ast::{AggregateFn, BinOp, CmpOp};

/// An expression over a rule's variables.
#[derive(Clone, Debug)]
pub(crate) enum DExpr {
    Var(Var),
    Const(Value),
    Binary(BinOp, Box<DExpr>, Box<DExpr>),
    Neg(Box<DExpr>),
}

impl DExpr {
    pub(crate) fn vars(&self, out: &mut Vec<Var>) {
        match self {
            DExpr::Var(v) => out.push(*v),
            DExpr::Const(_) => {}
            DExpr::Binary(_, l, r) => {
                l.vars(out);
                r.vars(out);
            }
            DExpr::Neg(e) => e.vars(out),
        }
    }
}

/// One argument of an atom.
#[derive(Clone, Debug)]
pub(crate) enum DArg {
    Var(Var),
    Const(Value),
    Wild,
}

/// A body literal.
#[derive(Clone, Debug)]
pub(crate) enum DLit {
    Atom { rel: RelId, args: Vec<DArg> },
    Neg { rel: RelId, args: Vec<DArg> },
    Cmp { op: CmpOp, lhs: DExpr, rhs: DExpr },
    Agg(Box<DAggregate>),
}

impl DLit {
    /// The variables the rest of the rule sees it mention (an aggregate:
    /// its result and group).
    pub(crate) fn outer_vars(&self) -> Vec<Var> {
        let mut out = Vec::new();
        match self {
            DLit::Atom { args, .. } | DLit::Neg { args, .. } => {
                out.extend(args.iter().filter_map(|a| match a {
                    DArg::Var(v) => Some(*v),
                    _ => None,
                }));
            }
            DLit::Cmp { lhs, rhs, .. } => {
                lhs.vars(&mut out);
                rhs.vars(&mut out);
            }
            DLit::Agg(a) => {
                out.push(a.result);
                out.extend(&a.group);
            }
        }
        out
    }
}

/// `R = f { terms : body }`.
#[derive(Clone, Debug)]
pub(crate) struct DAggregate {
    pub(crate) result: Var,
    pub(crate) function: AggregateFn,
    pub(crate) terms: Vec<DExpr>,
    pub(crate) body: Vec<DLit>,
    pub(crate) group: Vec<Var>,
}

/// A rule.
#[derive(Clone, Debug)]
pub(crate) struct DRule {
    pub(crate) head: RelId,
    pub(crate) head_args: Vec<DExpr>,
    pub(crate) body: Vec<DLit>,
    pub(crate) location: Location,
}

impl DRule {
    /// The relations it reads positively (recursion goes through these).
    pub(crate) fn positive_reads(&self) -> Vec<RelId> {
        self.body
            .iter()
            .filter_map(|lit| match lit {
                DLit::Atom { rel, .. } => Some(*rel),
                _ => None,
            })
            .collect()
    }

    /// Whether its body (aggregates' bodies included) reads `rel`.
    pub(crate) fn reads(&self, rel: RelId) -> bool {
        fn walk(body: &[DLit], rel: RelId) -> bool {
            body.iter().any(|lit| match lit {
                DLit::Atom { rel: r, .. } | DLit::Neg { rel: r, .. } => *r == rel,
                DLit::Cmp { .. } => false,
                DLit::Agg(a) => walk(&a.body, rel),
            })
        }
        walk(&self.body, rel)
    }
}

/// Everything a worker needs to build the dataflow.
#[derive(Clone, Debug)]
pub(crate) struct DataflowPlan {
    /// How many relations the program has.
    pub(crate) relations: usize,
    /// Their names, by id (for messages).
    pub(crate) names: Vec<String>,
    /// Their columns, by id.
    pub(crate) arities: Vec<usize>,
    pub(crate) rules: Vec<DRule>,
    pub(crate) strata: Vec<Vec<RelId>>,
}

impl DataflowPlan {
    /// The plan of `compiled`; a model call is an error naming the rule.
    pub(crate) fn new(compiled: &Compiled<'_>) -> Result<Self, Error> {
        let interner = compiled.interner;
        let rules = compiled
            .rules
            .iter()
            .map(|rule| translate_rule(rule, interner))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DataflowPlan {
            relations: compiled.relations.len(),
            names: compiled.relations.iter().map(|r| r.name.clone()).collect(),
            arities: compiled
                .relations
                .iter()
                .map(|r| r.stored_arity())
                .collect(),
            rules,
            strata: compiled.strata.clone(),
        })
    }
}

/// The base facts of `compiled` as rows of values, per relation, sorted
/// and distinct.
pub(crate) fn fact_rows(compiled: &Compiled<'_>) -> Vec<Vec<Row>> {
    compiled
        .relations
        .iter()
        .enumerate()
        .map(|(r, info)| {
            let Some(flat) = compiled.facts.get(r) else {
                return Vec::new();
            };
            let arity = info.stored_arity();
            // A relation of no columns stores a placeholder column.
            let mut rows: Vec<Row> = flat
                .chunks_exact(arity.max(1))
                .map(|row| {
                    row.iter()
                        .take(arity)
                        .map(|&id| Datum(compiled.interner.value(id).clone()))
                        .collect()
                })
                .collect();
            // A set: a fact written twice is one row (updates count on it).
            rows.sort_unstable();
            rows.dedup();
            rows
        })
        .collect()
}

fn translate_rule(rule: &Rule, interner: &Interner) -> Result<DRule, Error> {
    let body = translate_body(&rule.body, interner, &rule.location)?;
    Ok(DRule {
        head: rule.head,
        head_args: rule
            .head_args
            .iter()
            .map(|e| translate_expr(e, interner))
            .collect(),
        body,
        location: rule.location.clone(),
    })
}

fn translate_body(
    body: &[Lit],
    interner: &Interner,
    location: &Location,
) -> Result<Vec<DLit>, Error> {
    body.iter()
        .map(|lit| {
            Ok(match lit {
                Lit::Atom { rel, args } => DLit::Atom {
                    rel: *rel,
                    args: translate_args(args, interner),
                },
                Lit::Neg { rel, args } => DLit::Neg {
                    rel: *rel,
                    args: translate_args(args, interner),
                },
                Lit::Cmp { op, lhs, rhs } => DLit::Cmp {
                    op: *op,
                    lhs: translate_expr(lhs, interner),
                    rhs: translate_expr(rhs, interner),
                },
                Lit::Agg(aggregate) => {
                    let Aggregate {
                        result,
                        function,
                        terms,
                        body,
                        group,
                    } = aggregate.as_ref();
                    DLit::Agg(Box::new(DAggregate {
                        result: *result,
                        function: *function,
                        terms: terms.iter().map(|e| translate_expr(e, interner)).collect(),
                        body: translate_body(body, interner, location)?,
                        group: group.clone(),
                    }))
                }
                Lit::Call(call) => {
                    return Err(Error::Unsupported {
                        location: location.clone(),
                        what: format!(
                            "the model call `{}.{}` (models run on the native engine only)",
                            call.model_name, call.method
                        ),
                    });
                }
            })
        })
        .collect()
}

fn translate_args(args: &[Arg], interner: &Interner) -> Vec<DArg> {
    args.iter()
        .map(|a| match a {
            Arg::Var(v) => DArg::Var(*v),
            Arg::Const(c) => DArg::Const(interner.value(*c).clone()),
            Arg::Wild => DArg::Wild,
        })
        .collect()
}

fn translate_expr(e: &Expr, interner: &Interner) -> DExpr {
    match e {
        Expr::Var(v) => DExpr::Var(*v),
        Expr::Const(c) => DExpr::Const(interner.value(*c).clone()),
        Expr::Binary(op, l, r) => DExpr::Binary(
            *op,
            Box::new(translate_expr(l, interner)),
            Box::new(translate_expr(r, interner)),
        ),
        Expr::Neg(inner) => DExpr::Neg(Box::new(translate_expr(inner, interner))),
    }
}
