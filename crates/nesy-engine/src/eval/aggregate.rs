//! Aggregates: the rows of an aggregate's body collected (they count
//! against the tuple limit), grouped, and folded per group.

// Frames are indexed by variable numbers the compiler gave out, and rows by
// the planner's column positions; both are invariants of compiled plans.
#![allow(
    clippy::indexing_slicing,
    reason = "plan-checked frame and row offsets"
)]

use super::worker::Worker;
use crate::Error;
use crate::ir::Expr;
use crate::plan::{AggregatePlan, Op};
use crate::semiring::Semiring;
use crate::storage::{self};
use crate::value::Value;
use nesy_lang::ast::AggregateFn;
use std::cmp::Ordering;

impl<'a, S: Semiring> Worker<'a, S> {
    pub(super) fn aggregate(
        &mut self,
        plan: &'a AggregatePlan,
        rest: &'a [Op],
        terminal: &'a [Expr],
        tag: &S::Tag,
    ) -> Result<(), Error> {
        let groups = plan.free_group.len();
        self.outs.push((Vec::new(), plan.collect.len().max(1)));
        let collected = self.run(&plan.ops, &plan.collect, None, tag);
        let mut rows = self.outs.pop().map(|(rows, _)| rows).unwrap_or_default();
        collected?;
        let width = plan.collect.len().max(1);
        storage::sort_dedup(&mut rows, width);
        let mut results: Vec<(Vec<u32>, Option<u32>)> = Vec::new();
        if groups == 0 {
            let value = self.fold(plan.function, rows.chunks_exact(width), 0)?;
            results.push((Vec::new(), value));
        } else {
            let all: Vec<&[u32]> = rows.chunks_exact(width).collect();
            let mut start = 0;
            while start < all.len() {
                let prefix = &all[start][..groups];
                let end = start
                    + all[start..]
                        .iter()
                        .take_while(|r| &r[..groups] == prefix)
                        .count();
                let value = self.fold(plan.function, all[start..end].iter().copied(), groups)?;
                results.push((prefix.to_vec(), value));
                start = end;
            }
        }
        for (prefix, value) in results {
            let Some(value) = value else { continue };
            for (&g, &v) in plan.free_group.iter().zip(&prefix) {
                self.frame[g] = v;
            }
            if plan.result_bound {
                if !self.ids_equal(self.frame[plan.result], value) {
                    continue;
                }
            } else {
                self.frame[plan.result] = value;
            }
            self.run(rest, terminal, None, tag)?;
        }
        Ok(())
    }

    /// Folds a group's rows (the aggregated term in column `col`) with
    /// the function's accumulator; `None` when the group has no value
    /// (`min` of nothing, `mean` of nothing).
    pub(super) fn fold<'r>(
        &mut self,
        function: AggregateFn,
        rows: impl Iterator<Item = &'r [u32]>,
        col: usize,
    ) -> Result<Option<u32>, Error> {
        let mut acc = Accumulator::new(function);
        for row in rows {
            acc.add(row.get(col).copied().unwrap_or(0), self)?;
        }
        let value = match acc.finish(self)? {
            Folded::Id(id) => return Ok(id),
            Folded::Value(v) => v,
        };
        Ok(value.map(|v| self.scratch.intern(v)))
    }
}

/// The running state of one aggregate function over a group.
enum Accumulator {
    Count(i64),
    /// `min` or `max`: the best value's id so far.
    Extreme {
        min: bool,
        best: Option<u32>,
    },
    /// `sum` or `mean`: exact while every value is an integer.
    Sum {
        mean: bool,
        count: i64,
        int: Option<i64>,
        float: f64,
    },
}

/// What an accumulator ends with: an id already interned, or a value.
enum Folded {
    Id(Option<u32>),
    Value(Option<Value>),
}

impl Accumulator {
    fn new(function: AggregateFn) -> Self {
        match function {
            AggregateFn::Count => Accumulator::Count(0),
            AggregateFn::Min | AggregateFn::Max => Accumulator::Extreme {
                min: function == AggregateFn::Min,
                best: None,
            },
            AggregateFn::Sum | AggregateFn::Mean => Accumulator::Sum {
                mean: function == AggregateFn::Mean,
                count: 0,
                int: Some(0),
                float: 0.0,
            },
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Accumulator::Count(_) => "count",
            Accumulator::Extreme { min: true, .. } => "min",
            Accumulator::Extreme { min: false, .. } => "max",
            Accumulator::Sum { mean: false, .. } => "sum",
            Accumulator::Sum { mean: true, .. } => "mean",
        }
    }

    fn add<S: Semiring>(&mut self, id: u32, worker: &Worker<'_, S>) -> Result<(), Error> {
        let name = self.name();
        match self {
            Accumulator::Count(n) => *n += 1,
            Accumulator::Extreme { min, best } => {
                *best = Some(match *best {
                    None => id,
                    Some(b) => {
                        let ord = worker.scratch.value(id).cmp(worker.scratch.value(b));
                        let better = if *min {
                            ord == Ordering::Less
                        } else {
                            ord == Ordering::Greater
                        };
                        if better { id } else { b }
                    }
                });
            }
            Accumulator::Sum {
                count, int, float, ..
            } => {
                *count += 1;
                match worker.scratch.value(id) {
                    Value::Int(i) => {
                        *float += *i as f64;
                        if let Some(s) = *int {
                            *int = Some(s.checked_add(*i).ok_or_else(|| {
                                worker.arithmetic(format!("integer overflow in `{name}`"))
                            })?);
                        }
                    }
                    Value::Float(x) => {
                        *float += x;
                        *int = None;
                    }
                    other => {
                        return Err(worker.arithmetic(format!(
                            "`{name}` of a non-number: {other} ({})",
                            other.type_name()
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    fn finish<S: Semiring>(self, worker: &Worker<'_, S>) -> Result<Folded, Error> {
        Ok(match self {
            Accumulator::Count(n) => Folded::Value(Some(Value::Int(n))),
            Accumulator::Extreme { best, .. } => Folded::Id(best),
            Accumulator::Sum {
                mean: false,
                int: Some(s),
                ..
            } => Folded::Value(Some(Value::Int(s))),
            Accumulator::Sum {
                mean: false, float, ..
            } => Folded::Value(Some(worker.finite(float, "sum")?)),
            Accumulator::Sum { count: 0, .. } => Folded::Value(None),
            Accumulator::Sum { count, float, .. } => {
                Folded::Value(Some(worker.finite(float / count as f64, "mean")?))
            }
        })
    }
}
