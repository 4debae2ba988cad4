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
        self.outs.push(Vec::new());
        self.widths.push(plan.collect.len().max(1));
        let collected = self.run(&plan.ops, &plan.collect, None, tag);
        self.widths.pop();
        let mut rows = self.outs.pop().unwrap_or_default();
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

    pub(super) fn fold<'r>(
        &mut self,
        function: AggregateFn,
        rows: impl Iterator<Item = &'r [u32]>,
        col: usize,
    ) -> Result<Option<u32>, Error> {
        let mut count: i64 = 0;
        let mut int_sum: Option<i64> = Some(0);
        let mut float_sum = 0.0f64;
        let mut best: Option<u32> = None;
        for row in rows {
            count += 1;
            let id = row.get(col).copied().unwrap_or(0);
            match function {
                AggregateFn::Count => {}
                AggregateFn::Min | AggregateFn::Max => {
                    best = Some(match best {
                        None => id,
                        Some(b) => {
                            let ord = self.scratch.value(id).cmp(self.scratch.value(b));
                            let better = if function == AggregateFn::Min {
                                ord == Ordering::Less
                            } else {
                                ord == Ordering::Greater
                            };
                            if better { id } else { b }
                        }
                    })
                }
                AggregateFn::Sum | AggregateFn::Mean => {
                    let value = self.scratch.value(id).clone();
                    match value {
                        Value::Int(i) => {
                            float_sum += i as f64;
                            if let Some(s) = int_sum {
                                int_sum = Some(s.checked_add(i).ok_or_else(|| {
                                    self.arithmetic(format!(
                                        "integer overflow in `{}`",
                                        function.as_str()
                                    ))
                                })?);
                            }
                        }
                        Value::Float(x) => {
                            float_sum += x;
                            int_sum = None;
                        }
                        other => {
                            return Err(self.arithmetic(format!(
                                "`{}` of a non-number: {other} ({})",
                                function.as_str(),
                                other.type_name()
                            )));
                        }
                    }
                }
            }
        }
        let value = match function {
            AggregateFn::Count => Value::Int(count),
            AggregateFn::Min | AggregateFn::Max => return Ok(best),
            AggregateFn::Sum => match int_sum {
                Some(s) => Value::Int(s),
                None => self.finite(float_sum, "sum")?,
            },
            AggregateFn::Mean => {
                if count == 0 {
                    return Ok(None);
                }
                self.finite(float_sum / count as f64, "mean")?
            }
        };
        Ok(Some(self.scratch.intern(value)))
    }
}
