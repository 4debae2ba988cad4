//! `add-mult`: the sum over derivations of their products, clamped to
//! [0, 1]; exact only for disjoint proofs, and not idempotent.

use super::{Events, Semiring};
use crate::{Clock, Error};

/// Sum over derivations of their products, clamped to [0, 1].
pub(crate) struct AddMult;
impl Semiring for AddMult {
    type Tag = f64;
    const IDEMPOTENT: bool = false;
    fn zero(&self) -> f64 {
        0.0
    }
    fn one(&self) -> f64 {
        1.0
    }
    fn is_zero(&self, a: &f64) -> bool {
        *a <= 0.0
    }
    fn is_one(&self, a: &f64) -> bool {
        *a == 1.0
    }
    fn event(&self, _: u32, p: f64) -> f64 {
        p
    }
    fn add(&self, a: &f64, b: &f64, _: Events) -> f64 {
        (a + b).min(1.0)
    }
    fn mul(&self, a: &f64, b: &f64, _: Events) -> f64 {
        a * b
    }
    fn negate(&self, a: &f64, _: Events) -> f64 {
        1.0 - a
    }
    fn probability(&self, a: &f64, _: Events, _: &Clock) -> Result<f64, Error> {
        Ok(*a)
    }
    fn converged(&self, old: &f64, new: &f64) -> bool {
        (old - new).abs() < 1e-13
    }
}
