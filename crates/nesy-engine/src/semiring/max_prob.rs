//! `max-prob`: the probability of the most likely proof (Viterbi).

use super::{Events, Semiring};
use crate::{Clock, Error};

/// The probability of the most likely proof (Viterbi).
pub(crate) struct MaxProb;
impl Semiring for MaxProb {
    type Tag = f64;
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
        a.max(*b)
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
}
