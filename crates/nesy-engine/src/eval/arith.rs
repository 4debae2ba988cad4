//! Arithmetic and comparisons: checked integer arithmetic, finite floats,
//! and one order over values.

// Frames are indexed by variable numbers the compiler gave out, and rows by
// the planner's column positions; both are invariants of compiled plans.
#![allow(
    clippy::indexing_slicing,
    reason = "plan-checked frame and row offsets"
)]

use super::worker::Worker;
use crate::Error;
use crate::ir::{Expr, cmp_holds};
use crate::semiring::Semiring;
use crate::value::Value;
use nesy_lang::ast::{BinOp, CmpOp};
use std::cmp::Ordering;

impl<'a, S: Semiring> Worker<'a, S> {
    pub(super) fn finite(&self, x: f64, what: &str) -> Result<Value, Error> {
        if x.is_finite() {
            Ok(Value::float(x))
        } else {
            Err(self.arithmetic(format!("float overflow in {what}")))
        }
    }

    pub(super) fn ids_equal(&self, a: u32, b: u32) -> bool {
        a == b || {
            let (x, y) = (self.scratch.value(a), self.scratch.value(b));
            matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
    }

    pub(super) fn compare(&mut self, op: CmpOp, lhs: &Expr, rhs: &Expr) -> Result<bool, Error> {
        // Plain variables and constants compare by id where that decides.
        let simple = |e: &Expr, frame: &[u32]| match e {
            Expr::Var(v) => Some(frame[*v]),
            Expr::Const(c) => Some(*c),
            _ => None,
        };
        if let (Some(a), Some(b)) = (simple(lhs, &self.frame), simple(rhs, &self.frame)) {
            if a == b {
                return Ok(cmp_holds(op, Ordering::Equal));
            }
            let (x, y) = (self.scratch.value(a), self.scratch.value(b));
            return Ok(cmp_holds(op, compare_values(x, y)));
        }
        let x = self.eval(lhs)?;
        let y = self.eval(rhs)?;
        Ok(cmp_holds(op, compare_values(&x, &y)))
    }

    pub(super) fn eval_id(&mut self, e: &Expr) -> Result<u32, Error> {
        match e {
            Expr::Var(v) => Ok(self.frame[*v]),
            Expr::Const(c) => Ok(*c),
            _ => {
                let value = self.eval(e)?;
                Ok(self.scratch.intern(value))
            }
        }
    }

    pub(super) fn eval(&self, e: &Expr) -> Result<Value, Error> {
        match e {
            Expr::Var(v) => Ok(self.scratch.value(self.frame[*v]).clone()),
            Expr::Const(c) => Ok(self.scratch.value(*c).clone()),
            Expr::Neg(inner) => negate(&self.eval(inner)?).map_err(|m| self.arithmetic(m)),
            Expr::Binary(op, l, r) => {
                let (a, b) = (self.eval(l)?, self.eval(r)?);
                arith(*op, &a, &b).map_err(|m| self.arithmetic(m))
            }
        }
    }
}

/// `-v`: checked for integers; anything but a number is an error (the
/// message says why).
pub fn negate(v: &Value) -> Result<Value, String> {
    match v {
        Value::Int(i) => i
            .checked_neg()
            .map(Value::Int)
            .ok_or_else(|| format!("integer overflow in -({i})")),
        Value::Float(x) => Ok(Value::float(-x)),
        other => Err(format!("cannot negate {other} ({})", other.type_name())),
    }
}

/// Numbers compare by value across int and float; other values by the
/// total order of [`Value`].
pub fn compare_values(x: &Value, y: &Value) -> Ordering {
    match (x, y) {
        (Value::Int(a), Value::Int(b)) => a.cmp(b),
        _ => match (x.as_f64(), y.as_f64()) {
            (Some(a), Some(b)) => a.total_cmp(&b),
            _ => x.cmp(y),
        },
    }
}

/// Integer arithmetic is checked; a float anywhere makes the result a
/// float, which must stay finite.
pub fn arith(op: BinOp, a: &Value, b: &Value) -> Result<Value, String> {
    let sym = op.as_str();
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            let (x, y) = (*x, *y);
            if matches!(op, BinOp::Div | BinOp::Rem) && y == 0 {
                return Err(format!("division by zero in {x} {sym} {y}"));
            }
            let r = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::Div => x.checked_div(y),
                BinOp::Rem => x.checked_rem(y),
            };
            r.map(Value::Int)
                .ok_or_else(|| format!("integer overflow in {x} {sym} {y}"))
        }
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => {
                if matches!(op, BinOp::Div | BinOp::Rem) && y == 0.0 {
                    return Err(format!("division by zero in {a} {sym} {b}"));
                }
                let r = match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    BinOp::Div => x / y,
                    BinOp::Rem => x % y,
                };
                if r.is_finite() {
                    Ok(Value::float(r))
                } else {
                    Err(format!("float overflow in {a} {sym} {b}"))
                }
            }
            _ => {
                let culprit = if a.as_f64().is_none() { a } else { b };
                Err(format!(
                    "`{sym}` needs numbers, but got {culprit} ({})",
                    culprit.type_name()
                ))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(
            arith(BinOp::Add, &Value::Int(2), &Value::Int(3)),
            Ok(Value::Int(5))
        );
        assert_eq!(
            arith(BinOp::Div, &Value::Int(7), &Value::Int(2)),
            Ok(Value::Int(3))
        );
        assert_eq!(
            arith(BinOp::Div, &Value::Int(7), &Value::Float(2.0)),
            Ok(Value::Float(3.5))
        );
        assert!(
            arith(BinOp::Add, &Value::Int(i64::MAX), &Value::Int(1))
                .unwrap_err()
                .contains("overflow")
        );
        assert!(
            arith(BinOp::Rem, &Value::Int(1), &Value::Int(0))
                .unwrap_err()
                .contains("division by zero")
        );
        assert!(arith(BinOp::Div, &Value::Int(i64::MIN), &Value::Int(-1)).is_err());
        assert!(arith(BinOp::Mul, &Value::Float(1e308), &Value::Float(10.0)).is_err());
        assert!(
            arith(BinOp::Add, &Value::symbol("a"), &Value::Int(1))
                .unwrap_err()
                .contains("symbol")
        );
    }
}
