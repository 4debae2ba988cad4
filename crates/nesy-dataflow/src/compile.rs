//! Rules to dataflow operators, in any scope (the root one for strata
//! without recursion, an iterative one for recursive strata).
//!
//! A rule's body is a collection of bindings: rows of the values of the
//! variables bound so far, in a fixed layout. Literals are taken in the
//! native planner's order (comparisons, negations and aggregates as soon
//! as what they read is bound; then the atom with most bound arguments):
//! an atom joins on its bound variables and appends its new ones, a
//! negation is an antijoin with the relation's projection, a comparison
//! filters or binds, an aggregate is a `reduce` per group joined back on
//! the bound group variables. The head maps bindings to tuples.

use crate::datum::{Datum, Row};
use crate::plan::{DAggregate, DArg, DExpr, DLit, DRule};
use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use nesy_engine::Value;
use nesy_engine::ir::{RelId, Var, binary_op, cmp_holds, compare_values, negate};
use nesy_lang::Location;
use nesy_lang::ast::{AggregateFn, CmpOp};
use std::cmp::Ordering;
use std::sync::{Arc, Mutex};
use timely::progress::Timestamp;

/// A collection of rows.
pub(crate) type Coll<'s, T> = VecCollection<'s, T, Row>;

/// The first error a rule met while the dataflow ran (arithmetic on a
/// value it cannot take); the run reports it when it ends.
#[derive(Clone, Default)]
pub(crate) struct Faults(Arc<Mutex<Option<nesy_engine::Error>>>);

impl Faults {
    fn record(&self, location: &Location, message: String) {
        if let Ok(mut slot) = self.0.lock()
            && slot.is_none()
        {
            *slot = Some(nesy_engine::Error::Arithmetic {
                location: location.clone(),
                message,
            });
        }
    }

    /// The first error, if any.
    pub(crate) fn take(&self) -> Option<nesy_engine::Error> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// What rules read in one scope: each relation's collection, and a
/// collection of one empty row (the binding of an empty body).
pub(crate) struct Relations<'s, T: Timestamp> {
    pub(crate) by_id: Vec<Option<Coll<'s, T>>>,
    pub(crate) unit: Coll<'s, T>,
    pub(crate) faults: Faults,
}

impl<'s, T: Timestamp + Lattice + Ord> Relations<'s, T> {
    fn get(&self, rel: RelId) -> Coll<'s, T> {
        match self.by_id.get(rel).and_then(Option::as_ref) {
            Some(c) => c.clone(),
            // A relation nothing defines: empty.
            None => self.unit.clone().filter(|_| false),
        }
    }

    /// The tuples `rule` derives.
    pub(crate) fn rule(&self, rule: &DRule) -> Result<Coll<'s, T>, String> {
        let bindings = self.body(&rule.body, Bindings::unit(), &rule.location)?;
        let head: Vec<CExpr> = rule
            .head_args
            .iter()
            .map(|e| CExpr::new(e, &bindings.layout))
            .collect::<Option<_>>()
            .ok_or_else(|| "a head variable is never bound".to_string())?;
        let faults = self.faults.clone();
        let location = rule.location.clone();
        Ok(self
            .rows(bindings)
            .flat_map(move |row| match eval_all(&head, &row) {
                Ok(tuple) => Some(tuple),
                Err(message) => {
                    faults.record(&location, message);
                    None
                }
            }))
    }

    fn rows(&self, bindings: Bindings<'s, T>) -> Coll<'s, T> {
        bindings.rows.unwrap_or_else(|| self.unit.clone())
    }

    /// The bindings of `body` extending `start`.
    fn body(
        &self,
        body: &[DLit],
        start: Bindings<'s, T>,
        location: &Location,
    ) -> Result<Bindings<'s, T>, String> {
        let mut bindings = start;
        let mut remaining: Vec<usize> = (0..body.len()).collect();
        loop {
            while let Some(pos) = remaining
                .iter()
                .position(|&i| ready(body, i, &remaining, &bindings.layout))
            {
                let i = remaining.remove(pos);
                if let Some(lit) = body.get(i) {
                    bindings = self.non_atom(lit, bindings, location)?;
                }
            }
            let Some(best) = best_atom(body, &remaining, &bindings.layout) else {
                break;
            };
            remaining.retain(|&i| i != best);
            if let Some(DLit::Atom { rel, args }) = body.get(best) {
                bindings = self.atom(*rel, args, bindings);
            }
        }
        if remaining.is_empty() {
            Ok(bindings)
        } else {
            Err("cannot order the rule's body: a variable is never bound".to_string())
        }
    }

    /// Joins an atom: bound variables are the key, new ones are appended.
    fn atom(&self, rel: RelId, args: &[DArg], bindings: Bindings<'s, T>) -> Bindings<'s, T> {
        let mut checks: Vec<(usize, Value)> = Vec::new();
        let mut key_cols: Vec<usize> = Vec::new();
        let mut key_from: Vec<usize> = Vec::new();
        let mut new_cols: Vec<usize> = Vec::new();
        let mut repeats: Vec<(usize, usize)> = Vec::new();
        let mut layout = bindings.layout.clone();
        let mut first_col: Vec<(Var, usize)> = Vec::new();
        for (col, arg) in args.iter().enumerate() {
            match arg {
                DArg::Const(c) => checks.push((col, c.clone())),
                DArg::Wild => {}
                DArg::Var(v) => {
                    if let Some(pos) = bindings.layout.iter().position(|x| x == v) {
                        key_cols.push(col);
                        key_from.push(pos);
                    } else if let Some(&(_, first)) = first_col.iter().find(|(x, _)| x == v) {
                        repeats.push((first, col));
                    } else {
                        first_col.push((*v, col));
                        new_cols.push(col);
                        layout.push(*v);
                    }
                }
            }
        }
        let matching = self.get(rel).flat_map(move |row: Row| {
            // Constants match as interned ids do: the same value (an int
            // constant does not match a float cell).
            let fits = checks
                .iter()
                .all(|(c, v)| row.get(*c).is_some_and(|d| d.0 == *v))
                && repeats.iter().all(|(a, b)| row.get(*a) == row.get(*b));
            fits.then(|| {
                let key: Row = key_cols
                    .iter()
                    .filter_map(|&c| row.get(c).cloned())
                    .collect();
                let new: Row = new_cols
                    .iter()
                    .filter_map(|&c| row.get(c).cloned())
                    .collect();
                (key, new)
            })
        });
        let rows = match bindings.rows {
            None => matching.map(|(_, new)| new),
            Some(rows) => rows
                .map(move |b: Row| {
                    let key: Row = key_from.iter().filter_map(|&p| b.get(p).cloned()).collect();
                    (key, b)
                })
                .join_map(matching, |_, b, new| {
                    let mut out = b.clone();
                    out.extend(new.iter().cloned());
                    out
                }),
        };
        Bindings {
            rows: Some(rows),
            layout,
        }
    }

    fn non_atom(
        &self,
        lit: &DLit,
        bindings: Bindings<'s, T>,
        location: &Location,
    ) -> Result<Bindings<'s, T>, String> {
        match lit {
            DLit::Atom { .. } => Err("internal: an atom taken as a filter".to_string()),
            DLit::Neg { rel, args } => Ok(self.negation(*rel, args, bindings)),
            DLit::Cmp { op, lhs, rhs } => Ok(self.comparison(*op, lhs, rhs, bindings, location)),
            DLit::Agg(aggregate) => self.aggregate(aggregate, bindings, location),
        }
    }

    /// `not rel(args)`: the bindings whose tuple has no match.
    fn negation(&self, rel: RelId, args: &[DArg], bindings: Bindings<'s, T>) -> Bindings<'s, T> {
        let cols: Vec<usize> = (0..args.len())
            .filter(|&c| !matches!(args.get(c), Some(DArg::Wild)))
            .collect();
        let key_of: Vec<KeyPart> = args
            .iter()
            .filter_map(|a| match a {
                DArg::Wild => None,
                DArg::Const(c) => Some(KeyPart::Const(Datum(c.clone()))),
                DArg::Var(v) => bindings
                    .layout
                    .iter()
                    .position(|x| x == v)
                    .map(KeyPart::Col),
            })
            .collect();
        let present = self
            .get(rel)
            .map(move |row: Row| -> Row {
                cols.iter().filter_map(|&c| row.get(c).cloned()).collect()
            })
            .distinct();
        let layout = bindings.layout.clone();
        let rows = self
            .rows(bindings)
            .map(move |b: Row| (key(&key_of, &b), b))
            .antijoin(present)
            .map(|(_, b)| b);
        Bindings {
            rows: Some(rows),
            layout,
        }
    }

    /// A comparison: a filter, or `X = e` binding `X`.
    fn comparison(
        &self,
        op: CmpOp,
        lhs: &DExpr,
        rhs: &DExpr,
        bindings: Bindings<'s, T>,
        location: &Location,
    ) -> Bindings<'s, T> {
        let faults = self.faults.clone();
        let location = location.clone();
        let mut layout = bindings.layout.clone();
        let (l, r) = (CExpr::new(lhs, &layout), CExpr::new(rhs, &layout));
        let rows = self.rows(bindings);
        let rows = match (l, r, lhs, rhs) {
            (Some(l), Some(r), _, _) => rows.filter(move |b| match (l.eval(b), r.eval(b)) {
                (Ok(x), Ok(y)) => cmp_holds(op, compare_values(&x, &y)),
                (Err(message), _) | (_, Err(message)) => {
                    faults.record(&location, message);
                    false
                }
            }),
            (None, Some(e), DExpr::Var(v), _) | (Some(e), None, _, DExpr::Var(v)) => {
                layout.push(*v);
                rows.flat_map(move |mut b: Row| match e.eval(&b) {
                    Ok(x) => {
                        b.push(Datum(x));
                        Some(b)
                    }
                    Err(message) => {
                        faults.record(&location, message);
                        None
                    }
                })
            }
            _ => rows.filter(|_| false),
        };
        Bindings {
            rows: Some(rows),
            layout,
        }
    }

    /// `R = f { terms : body }`: the body's bindings, from the bound group
    /// variables' values, grouped by the group variables and folded;
    /// joined back on the bound ones. With every group variable bound,
    /// `count` and `sum` of nothing are 0.
    fn aggregate(
        &self,
        aggregate: &DAggregate,
        bindings: Bindings<'s, T>,
        location: &Location,
    ) -> Result<Bindings<'s, T>, String> {
        let bound: Vec<Var> = aggregate
            .group
            .iter()
            .copied()
            .filter(|g| bindings.layout.contains(g))
            .collect();
        let free: Vec<Var> = aggregate
            .group
            .iter()
            .copied()
            .filter(|g| !bindings.layout.contains(g))
            .collect();
        let bound_at: Vec<usize> = positions(&bound, &bindings.layout);
        // The values the bound group variables take: the aggregate's body
        // starts from them (it may need them bound, as `Y = X + 1` does).
        let keys: Coll<'s, T> = match &bindings.rows {
            Some(rows) if !bound.is_empty() => {
                let at = bound_at.clone();
                rows.clone()
                    .map(move |b: Row| -> Row {
                        at.iter().filter_map(|&p| b.get(p).cloned()).collect()
                    })
                    .distinct()
            }
            _ => self.unit.clone(),
        };
        let seed = Bindings {
            rows: (!bound.is_empty()).then(|| keys.clone()),
            layout: if bound.is_empty() {
                Vec::new()
            } else {
                bound.clone()
            },
        };
        let inner = self.body(&aggregate.body, seed, location)?;
        let group: Vec<Var> = bound.iter().chain(&free).copied().collect();
        let group_at = positions(&group, &inner.layout);
        if group_at.len() != group.len() {
            return Err("an aggregate's group variable is not bound by its body".to_string());
        }
        let terms: Vec<CExpr> = aggregate
            .terms
            .iter()
            .map(|e| CExpr::new(e, &inner.layout))
            .collect::<Option<_>>()
            .ok_or_else(|| "an aggregated term's variable is never bound".to_string())?;
        let faults = self.faults.clone();
        let at = location.clone();
        let collected = self
            .rows(inner)
            .flat_map(move |b: Row| {
                let key: Row = group_at.iter().filter_map(|&p| b.get(p).cloned()).collect();
                match eval_all(&terms, &b) {
                    Ok(values) => Some((key, values)),
                    Err(message) => {
                        faults.record(&at, message);
                        None
                    }
                }
            })
            .distinct();
        let function = aggregate.function;
        let faults = self.faults.clone();
        let at = location.clone();
        let mut folded: VecCollection<'s, T, (Row, Datum)> =
            collected.reduce(move |_key, values: &[(&Row, isize)], out| {
                match fold(function, values.iter().map(|(row, _)| *row)) {
                    Ok(Some(v)) => out.push((Datum(v), 1)),
                    Ok(None) => {}
                    Err(message) => faults.record(&at, message),
                }
            });
        if free.is_empty() && matches!(function, AggregateFn::Count | AggregateFn::Sum) {
            let empty = keys
                .map(|k: Row| (k, ()))
                .antijoin(folded.clone().map(|(k, _)| k).distinct())
                .map(|(k, ())| (k, Datum(Value::Int(0))));
            folded = folded.concat(empty);
        }
        let result_at = bindings.layout.iter().position(|&v| v == aggregate.result);
        let mut layout = bindings.layout.clone();
        layout.extend(&free);
        if result_at.is_none() {
            layout.push(aggregate.result);
        }
        let split = bound.len();
        let joined = folded.map(move |(key, value)| {
            let (b, f) = key.split_at(split.min(key.len()));
            (b.to_vec(), (f.to_vec(), value))
        });
        let rows = match bindings.rows {
            None => joined.map(|(_, (mut f, value))| {
                f.push(value);
                f
            }),
            Some(rows) => rows
                .map(move |b: Row| {
                    let key: Row = bound_at.iter().filter_map(|&p| b.get(p).cloned()).collect();
                    (key, b)
                })
                .join_map(joined, |_, b, (f, value)| {
                    let mut out = b.clone();
                    out.extend(f.iter().cloned());
                    out.push(value.clone());
                    out
                }),
        };
        // A result bound before: the fold must equal it (numbers by value).
        let rows = match result_at {
            Some(p) => rows.flat_map(move |mut b: Row| {
                let value = b.pop()?;
                let earlier = b.get(p)?;
                (compare_values(&earlier.0, &value.0) == Ordering::Equal).then_some(b)
            }),
            None => rows,
        };
        Ok(Bindings {
            rows: Some(rows),
            layout,
        })
    }
}

/// Rows bound so far and which variable each column holds; `rows: None`
/// is the one empty binding (nothing read yet).
pub(crate) struct Bindings<'s, T: Timestamp> {
    rows: Option<Coll<'s, T>>,
    layout: Vec<Var>,
}

impl<T: Timestamp> Bindings<'_, T> {
    fn unit() -> Self {
        Bindings {
            rows: None,
            layout: Vec::new(),
        }
    }
}

fn positions(vars: &[Var], layout: &[Var]) -> Vec<usize> {
    vars.iter()
        .filter_map(|v| layout.iter().position(|x| x == v))
        .collect()
}

enum KeyPart {
    Col(usize),
    Const(Datum),
}

fn key(parts: &[KeyPart], row: &Row) -> Row {
    parts
        .iter()
        .filter_map(|p| match p {
            KeyPart::Col(c) => row.get(*c).cloned(),
            KeyPart::Const(d) => Some(d.clone()),
        })
        .collect()
}

/// Whether a non-atom literal can be placed now (the native planner's
/// rule: negations once their variables are bound, `X = e` once `e` is,
/// aggregates once every other literal sharing a group variable is
/// placed).
fn ready(body: &[DLit], i: usize, remaining: &[usize], layout: &[Var]) -> bool {
    let bound = |v: &Var| layout.contains(v);
    let expr_bound = |e: &DExpr| {
        let mut vars = Vec::new();
        e.vars(&mut vars);
        vars.iter().all(bound)
    };
    match body.get(i) {
        Some(DLit::Atom { .. }) | None => false,
        Some(DLit::Neg { args, .. }) => args.iter().all(|a| match a {
            DArg::Var(v) => bound(v),
            DArg::Const(_) | DArg::Wild => true,
        }),
        Some(DLit::Cmp { op, lhs, rhs }) => {
            let (l, r) = (expr_bound(lhs), expr_bound(rhs));
            (l && r)
                || (*op == CmpOp::Eq
                    && ((r && matches!(lhs, DExpr::Var(_))) || (l && matches!(rhs, DExpr::Var(_)))))
        }
        Some(DLit::Agg(agg)) => agg.group.iter().all(|g| {
            bound(g)
                || !remaining.iter().any(|&j| {
                    j != i
                        && body.get(j).is_some_and(|l| {
                            !matches!(l, DLit::Agg(_)) && l.outer_vars().contains(g)
                        })
                })
        }),
    }
}

/// The next atom: most arguments bound (constants count), the first
/// written on a tie.
fn best_atom(body: &[DLit], remaining: &[usize], layout: &[Var]) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for &i in remaining {
        if let Some(DLit::Atom { args, .. }) = body.get(i) {
            let score = args
                .iter()
                .filter(|a| match a {
                    DArg::Const(_) => true,
                    DArg::Var(v) => layout.contains(v),
                    DArg::Wild => false,
                })
                .count();
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((i, score));
            }
        }
    }
    best.map(|(i, _)| i)
}

/// An expression over a binding row's columns.
enum CExpr {
    Col(usize),
    Const(Value),
    Binary(nesy_lang::ast::BinOp, Box<CExpr>, Box<CExpr>),
    Neg(Box<CExpr>),
}

impl CExpr {
    /// `e` over `layout`; `None` when a variable is not in it.
    fn new(e: &DExpr, layout: &[Var]) -> Option<CExpr> {
        Some(match e {
            DExpr::Var(v) => CExpr::Col(layout.iter().position(|x| x == v)?),
            DExpr::Const(c) => CExpr::Const(c.clone()),
            DExpr::Binary(op, l, r) => CExpr::Binary(
                *op,
                Box::new(CExpr::new(l, layout)?),
                Box::new(CExpr::new(r, layout)?),
            ),
            DExpr::Neg(inner) => CExpr::Neg(Box::new(CExpr::new(inner, layout)?)),
        })
    }

    fn eval(&self, row: &Row) -> Result<Value, String> {
        match self {
            CExpr::Col(c) => row
                .get(*c)
                .map(|d| d.0.clone())
                .ok_or_else(|| "internal: a binding too short".to_string()),
            CExpr::Const(v) => Ok(v.clone()),
            CExpr::Binary(op, l, r) => binary_op(*op, &l.eval(row)?, &r.eval(row)?),
            CExpr::Neg(inner) => negate(&inner.eval(row)?),
        }
    }
}

fn eval_all(exprs: &[CExpr], row: &Row) -> Result<Row, String> {
    exprs.iter().map(|e| e.eval(row).map(Datum)).collect()
}

/// Folds a group's distinct term tuples (sorted) as the native engine
/// does: `count` counts them, `sum`/`mean` add their first terms (exact
/// while all are integers), `min`/`max` pick by the order of values.
fn fold<'r>(
    function: AggregateFn,
    rows: impl Iterator<Item = &'r Row>,
) -> Result<Option<Value>, String> {
    let name = match function {
        AggregateFn::Count => "count",
        AggregateFn::Sum => "sum",
        AggregateFn::Min => "min",
        AggregateFn::Max => "max",
        AggregateFn::Mean => "mean",
    };
    let firsts = rows.map(|r| r.first().map(|d| &d.0));
    match function {
        AggregateFn::Count => Ok(Some(Value::Int(firsts.count() as i64))),
        AggregateFn::Min => Ok(firsts.flatten().min().cloned()),
        AggregateFn::Max => Ok(firsts.flatten().max().cloned()),
        AggregateFn::Sum | AggregateFn::Mean => {
            let (mut count, mut int, mut float) = (0i64, Some(0i64), 0.0f64);
            for value in firsts.flatten() {
                count += 1;
                match value {
                    Value::Int(i) => {
                        float += *i as f64;
                        if let Some(s) = int {
                            int = Some(
                                s.checked_add(*i)
                                    .ok_or_else(|| format!("integer overflow in `{name}`"))?,
                            );
                        }
                    }
                    Value::Float(x) => {
                        float += x;
                        int = None;
                    }
                    other => {
                        return Err(format!(
                            "`{name}` of a non-number: {other} ({})",
                            other.type_name()
                        ));
                    }
                }
            }
            let finite = |x: f64| {
                if x.is_finite() {
                    Ok(Value::float(x))
                } else {
                    Err(format!("float overflow in {name}"))
                }
            };
            match (function, int) {
                (AggregateFn::Sum, Some(s)) => Ok(Some(Value::Int(s))),
                (AggregateFn::Sum, None) => finite(float).map(Some),
                _ if count == 0 => Ok(None),
                _ => finite(float / count as f64).map(Some),
            }
        }
    }
}
