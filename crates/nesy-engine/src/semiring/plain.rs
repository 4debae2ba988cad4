//! Plain Datalog: no tags at all.

use super::{Events, Semiring};
use crate::{Clock, Error};

/// Holds or not: the engine without tags.
pub(crate) struct Plain;
impl Semiring for Plain {
    type Tag = ();
    const PLAIN: bool = true;
    fn zero(&self) {}
    fn one(&self) {}
    fn is_zero(&self, _: &()) -> bool {
        false
    }
    fn is_one(&self, _: &()) -> bool {
        true
    }
    fn event(&self, _: u32, _: f64) {}
    fn add(&self, _: &(), _: &(), _: Events) {}
    fn mul(&self, _: &(), _: &(), _: Events) {}
    fn negate(&self, _: &(), _: Events) {}
    fn probability(&self, _: &(), _: Events, _: &Clock) -> Result<f64, Error> {
        Ok(1.0)
    }
}
