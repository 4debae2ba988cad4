//! The provenance semirings the evaluator is generic over.
//!
//! The evaluator ([`crate::eval`]) is monomorphized per semiring: for
//! [`Plain`] every tag operation is a constant (`Semiring::PLAIN`), so plain
//! Datalog compiles to the untagged engine. The others keep one tag per
//! tuple, multiply tags along a rule body, add the tags of the derivations
//! of a tuple, and re-propagate a tuple whose tag changed.

mod add_mult;
mod count;
mod max_prob;
mod plain;
mod proofs;

pub(crate) use add_mult::AddMult;
pub(crate) use count::{dnf_gradient, dnf_probability};
pub(crate) use max_prob::MaxProb;
pub(crate) use plain::Plain;
pub(crate) use proofs::{Proofs, proof_probability};

use crate::{Clock, Error};
use std::str::FromStr;

/// A proof: the literals of the base events it uses, sorted. Event `e` is
/// `2e` (it happens) or `2e + 1` (it does not, from a negation).
pub(crate) type Proof = Vec<u32>;

/// Event ids from here up are a worker's own, given real ids when its
/// round's output is merged (so ids do not depend on thread timing).
pub(crate) const LOCAL_EVENT: u32 = 1 << 29;

/// The probabilities of the events a tag may mention.
#[derive(Clone, Copy)]
pub(crate) struct Events<'a> {
    /// Events known when the round began.
    pub(crate) base: &'a [f64],
    /// A worker's events of this round (ids from [`LOCAL_EVENT`]).
    pub(crate) local: &'a [f64],
}

impl<'a> Events<'a> {
    /// Events all known: no worker's own ones.
    pub(crate) fn known(base: &'a [f64]) -> Self {
        Events { base, local: &[] }
    }

    pub(crate) fn probability(&self, id: u32) -> f64 {
        let p = if id >= LOCAL_EVENT {
            self.local.get((id - LOCAL_EVENT) as usize)
        } else {
            self.base.get(id as usize)
        };
        p.copied().unwrap_or(1.0)
    }
}

/// The operations of a provenance semiring.
pub(crate) trait Semiring: Sync {
    type Tag: Clone + PartialEq + Send + Sync;
    /// Plain Datalog: no tags are kept at all.
    const PLAIN: bool = false;
    /// `a + a = a`: re-deriving a tuple adds nothing, so a tuple whose tag
    /// changed can simply be derived again (semi-naive). Otherwise
    /// recursive strata are iterated naively, each round recomputing tags.
    const IDEMPOTENT: bool = true;
    /// Tags name their events, so each event needs a stable identity.
    const EVENTS: bool = false;
    fn zero(&self) -> Self::Tag;
    fn one(&self) -> Self::Tag;
    fn is_zero(&self, a: &Self::Tag) -> bool;
    /// Whether `a` is the unit (multiplying by it changes nothing).
    fn is_one(&self, a: &Self::Tag) -> bool;
    fn event(&self, id: u32, p: f64) -> Self::Tag;
    fn add(&self, a: &Self::Tag, b: &Self::Tag, events: Events) -> Self::Tag;
    fn mul(&self, a: &Self::Tag, b: &Self::Tag, events: Events) -> Self::Tag;
    /// The tag of `not a`.
    fn negate(&self, a: &Self::Tag, events: Events) -> Self::Tag;
    /// The probability of a tag; exact model counting can take long, so
    /// it looks at the clock.
    fn probability(&self, a: &Self::Tag, events: Events, clock: &Clock) -> Result<f64, Error>;
    fn converged(&self, old: &Self::Tag, new: &Self::Tag) -> bool {
        old == new
    }
    /// `a += b`; whether that changed `a` (beyond convergence).
    fn add_to(&self, a: &mut Self::Tag, b: &Self::Tag, events: Events) -> bool {
        let sum = self.add(a, b, events);
        let changed = !self.converged(a, &sum);
        *a = sum;
        changed
    }
    /// The tag of a conjunction of event literals `(id, probability,
    /// happens)`: each event's tag, negated where it must not happen,
    /// multiplied together. A semiring may build it in one go (`top-k` and
    /// `why`: one proof), where multiplying one literal at a time would
    /// copy a growing proof (quadratic in a disjunction's heads).
    fn all_of(&self, literals: &[(u32, f64, bool)], events: Events) -> Self::Tag {
        let mut tag = self.one();
        for &(id, p, happens) in literals {
            let event = self.event(id, p);
            let literal = if happens {
                event
            } else {
                self.negate(&event, events)
            };
            tag = self.mul(&tag, &literal, events);
        }
        tag
    }
    /// Renames the events a tag mentions.
    fn rename(&self, _: &mut Self::Tag, _: &dyn Fn(u32) -> u32, _: Events) {}
    /// The proofs a tag holds, if it holds proofs.
    fn proofs(_: &Self::Tag) -> Option<&[Proof]> {
        None
    }
}

/// Which semiring tags the answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SemiringKind {
    /// Plain Datalog: a tuple holds or not.
    Bool,
    /// The probability of the most likely proof (Viterbi).
    MaxProb,
    /// Sum over proofs of the product of their probabilities, clamped to
    /// [0, 1]: fast, exact only for disjoint proofs.
    AddMult,
    /// The k most likely proofs, whose exact probability (weighted model
    /// counting over their DNF) is the tuple's; exact ProbLog probabilities
    /// when k covers every proof.
    TopK(usize),
    /// Every minimal proof (sets of base facts), for explanations; the
    /// probability is computed exactly from them.
    Why,
    /// `top-k` for learning: the same proofs and probabilities, and with
    /// them the gradient of a tuple's probability with respect to every
    /// tunable probability (`Program::gradient`).
    DiffTopK(usize),
}

impl SemiringKind {
    /// Whether tags are proofs (`top-k`, `diff-top-k`, `why`): proofs can
    /// be listed, explained and differentiated.
    pub fn keeps_proofs(self) -> bool {
        matches!(
            self,
            SemiringKind::TopK(_) | SemiringKind::DiffTopK(_) | SemiringKind::Why
        )
    }
}

impl SemiringKind {
    /// The names a semiring is written with, as `FromStr` reads them
    /// (`top-k` also as `top-k(K)`).
    pub const NAMES: [&'static str; 6] =
        ["bool", "max-prob", "add-mult", "top-k", "why", "diff-top-k"];

    /// Runs `work` monomorphized for this kind's semiring; `None` for
    /// `bool`, which keeps no tags. The one place kinds meet semirings:
    /// a new semiring is a file of its own in `semiring/` and a line here
    /// (and its name in [`SemiringKind::NAMES`], `Display` and `FromStr`).
    pub(crate) fn under<W: UnderSemiring>(self, work: W) -> Option<W::Output> {
        Some(match self {
            SemiringKind::Bool => return None,
            SemiringKind::MaxProb => work.run(&MaxProb, self),
            SemiringKind::AddMult => work.run(&AddMult, self),
            SemiringKind::TopK(k) => work.run(&Proofs { k: k.max(1) }, self),
            SemiringKind::Why => work.run(&Proofs { k: WHY_LIMIT }, self),
            SemiringKind::DiffTopK(k) => work.run(&Proofs { k: k.max(1) }, self),
        })
    }
}

/// Work done under whichever semiring a [`SemiringKind`] names.
pub(crate) trait UnderSemiring {
    type Output;
    fn run<S: Semiring + 'static>(self, sr: &S, kind: SemiringKind) -> Self::Output;
}

/// `bool`, `max-prob`, `add-mult`, `top-k(K)`, `why`: what the CLI takes
/// (`top-k` with `-k K`), JSON output says and the server reports.
impl std::fmt::Display for SemiringKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SemiringKind::Bool => f.write_str("bool"),
            SemiringKind::MaxProb => f.write_str("max-prob"),
            SemiringKind::AddMult => f.write_str("add-mult"),
            SemiringKind::TopK(k) => write!(f, "top-k({k})"),
            SemiringKind::Why => f.write_str("why"),
            SemiringKind::DiffTopK(k) => write!(f, "diff-top-k({k})"),
        }
    }
}

/// Reads what `Display` writes, and `top-k` alone as `top-k(10)`.
///
/// ```
/// use nesy_engine::SemiringKind;
/// for kind in [SemiringKind::Bool, SemiringKind::MaxProb, SemiringKind::TopK(3), SemiringKind::Why, SemiringKind::DiffTopK(5)] {
///     assert_eq!(kind.to_string().parse::<SemiringKind>(), Ok(kind));
/// }
/// assert_eq!("top-k".parse::<SemiringKind>(), Ok(SemiringKind::TopK(10)));
/// assert!("top-k(0)".parse::<SemiringKind>().is_err());
/// ```
impl FromStr for SemiringKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let unknown = || {
            format!(
                "unknown semiring `{s}`: use {}, or top-k(K), diff-top-k(K)",
                SemiringKind::NAMES.join(", ")
            )
        };
        Ok(match s {
            "bool" => SemiringKind::Bool,
            "max-prob" => SemiringKind::MaxProb,
            "add-mult" => SemiringKind::AddMult,
            "top-k" => SemiringKind::TopK(DEFAULT_K),
            "why" => SemiringKind::Why,
            "diff-top-k" => SemiringKind::DiffTopK(DEFAULT_K),
            other => {
                let (k, make): (&str, fn(usize) -> SemiringKind) =
                    if let Some(k) = other.strip_prefix("diff-top-k(") {
                        (k, SemiringKind::DiffTopK)
                    } else {
                        let k = other.strip_prefix("top-k(").ok_or_else(unknown)?;
                        (k, SemiringKind::TopK)
                    };
                let k = k.strip_suffix(')').ok_or_else(unknown)?;
                match k.trim().parse::<usize>() {
                    Ok(k) if k >= 1 => make(k),
                    _ => return Err(format!("`{s}`: k is a whole number of at least 1")),
                }
            }
        })
    }
}

/// `k` of `top-k` when none is given.
pub const DEFAULT_K: usize = 10;

/// Most proofs `why` keeps per tuple (it is meant for explanations).
pub(crate) const WHY_LIMIT: usize = 1000;
