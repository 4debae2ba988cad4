//! The provenance semirings the evaluator is generic over.
//!
//! The evaluator ([`crate::eval`]) is monomorphized per semiring: for
//! [`Plain`] every tag operation is a constant (`Semiring::PLAIN`), so plain
//! Datalog compiles to the untagged engine. The others keep one tag per
//! tuple, multiply tags along a rule body, add the tags of the derivations
//! of a tuple, and re-propagate a tuple whose tag changed.

use crate::{Clock, Error};
use rustc_hash::FxHashMap;

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
    /// Renames the events a tag mentions.
    fn rename(&self, _: &mut Self::Tag, _: &dyn Fn(u32) -> u32, _: Events) {}
    /// The proofs a tag holds, if it holds proofs.
    fn proofs(_: &Self::Tag) -> Option<&[Proof]> {
        None
    }
}

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

/// Proof sets, the `k` most likely kept (`why`: a large `k`).
///
/// A proof with an event and its negation is contradictory and dropped, so
/// negation stays exact: `not b` is the negation of `b`'s proofs, put back
/// into disjunctive form.
pub(crate) struct Proofs {
    pub(crate) k: usize,
}

fn literal_probability(literal: u32, events: Events) -> f64 {
    let p = events.probability(literal >> 1);
    if literal & 1 == 0 { p } else { 1.0 - p }
}

pub(crate) fn proof_probability(proof: &[u32], events: Events) -> f64 {
    proof
        .iter()
        .map(|&l| literal_probability(l, events))
        .product()
}

/// Whether a sorted proof holds an event and its negation.
fn contradictory(proof: &[u32]) -> bool {
    proof
        .windows(2)
        .any(|w| matches!(w, [a, b] if a >> 1 == b >> 1))
}

fn is_subset(small: &[u32], big: &[u32]) -> bool {
    let mut it = big.iter();
    small.iter().all(|x| it.any(|y| y == x))
}

impl Proofs {
    /// Keeps consistent, minimal proofs (a superset of another proof adds
    /// nothing), the most likely first, at most `k`.
    fn normalize(&self, mut proofs: Vec<Proof>, events: Events) -> Vec<Proof> {
        proofs.retain(|p| !contradictory(p));
        proofs.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        proofs.dedup();
        let mut minimal: Vec<Proof> = Vec::new();
        for p in proofs {
            if !minimal.iter().any(|m| is_subset(m, &p)) {
                minimal.push(p);
            }
        }
        let mut scored: Vec<(f64, Proof)> = minimal
            .into_iter()
            .map(|p| (proof_probability(&p, events), p))
            .collect();
        scored.sort_by(|(pa, a), (pb, b)| pb.total_cmp(pa).then_with(|| a.cmp(b)));
        scored.truncate(self.k);
        scored.into_iter().map(|(_, p)| p).collect()
    }
}

impl Semiring for Proofs {
    type Tag = Vec<Proof>;
    const EVENTS: bool = true;
    fn zero(&self) -> Vec<Proof> {
        Vec::new()
    }
    fn one(&self) -> Vec<Proof> {
        vec![Vec::new()]
    }
    fn is_zero(&self, a: &Vec<Proof>) -> bool {
        a.is_empty()
    }
    fn is_one(&self, a: &Vec<Proof>) -> bool {
        matches!(a.as_slice(), [p] if p.is_empty())
    }
    fn event(&self, id: u32, _: f64) -> Vec<Proof> {
        vec![vec![id << 1]]
    }
    fn add(&self, a: &Vec<Proof>, b: &Vec<Proof>, events: Events) -> Vec<Proof> {
        let mut sum = a.clone();
        self.add_to(&mut sum, b, events);
        sum
    }
    fn add_to(&self, a: &mut Vec<Proof>, b: &Vec<Proof>, events: Events) -> bool {
        if b.is_empty() {
            return false;
        }
        // Most additions re-derive what is known: proofs already kept, or
        // (with k kept) proofs less likely than every kept one, which can
        // be no subset of them either (a subset is at least as likely).
        let worst = if a.len() >= self.k {
            a.last().map(|p| proof_probability(p, events))
        } else {
            None
        };
        if b.iter()
            .all(|p| a.contains(p) || worst.is_some_and(|w| proof_probability(p, events) < w))
        {
            return false;
        }
        // Kept proofs are only ever dropped for new ones, so the sum
        // changed exactly when a new proof made it in.
        let fresh: Vec<&Proof> = b.iter().filter(|p| !a.contains(p)).collect();
        let mut all = std::mem::take(a);
        all.extend(fresh.iter().map(|p| (*p).clone()));
        *a = self.normalize(all, events);
        a.iter().any(|p| fresh.contains(&p))
    }
    fn mul(&self, a: &Vec<Proof>, b: &Vec<Proof>, events: Events) -> Vec<Proof> {
        // The common case in a rule body: a certain premise.
        if self.is_one(b) {
            return a.clone();
        }
        if self.is_one(a) {
            return b.clone();
        }
        let mut all = Vec::with_capacity(a.len() * b.len());
        for x in a {
            for y in b {
                let mut p: Proof = x.iter().chain(y).copied().collect();
                p.sort_unstable();
                p.dedup();
                all.push(p);
            }
        }
        self.normalize(all, events)
    }
    /// not (p1 or p2 or ...) = (not p1) and (not p2) and ..., each
    /// `not pi` the disjunction of its negated literals.
    fn negate(&self, a: &Vec<Proof>, events: Events) -> Vec<Proof> {
        let mut result = self.one();
        for proof in a {
            let clause: Vec<Proof> = proof.iter().map(|&l| vec![l ^ 1]).collect();
            result = self.mul(&result, &clause, events);
            if result.is_empty() {
                break;
            }
        }
        result
    }
    fn probability(&self, a: &Vec<Proof>, events: Events, clock: &Clock) -> Result<f64, Error> {
        dnf_probability(a, events, clock)
    }
    fn rename(&self, a: &mut Vec<Proof>, to: &dyn Fn(u32) -> u32, events: Events) {
        for proof in a.iter_mut() {
            for l in proof.iter_mut() {
                *l = (to(*l >> 1) << 1) | (*l & 1);
            }
            proof.sort_unstable();
        }
        *a = self.normalize(std::mem::take(a), events);
    }
    fn proofs(a: &Vec<Proof>) -> Option<&[Proof]> {
        Some(a)
    }
}

/// The probability that at least one proof holds, events independent:
/// Shannon expansion on the most frequent event, memoized. Its cost can
/// be exponential in the events, so it looks at the clock as it goes, and
/// it expands with an explicit stack (one level per event).
pub(crate) fn dnf_probability(
    proofs: &[Proof],
    events: Events,
    clock: &Clock,
) -> Result<f64, Error> {
    enum Task {
        Count(Vec<Proof>),
        /// Both branches counted (their values on top of the stack).
        Combine {
            key: Vec<Proof>,
            pe: f64,
        },
    }
    let mut memo: FxHashMap<Vec<Proof>, f64> = FxHashMap::default();
    let mut tasks = vec![Task::Count(proofs.to_vec())];
    let mut values: Vec<f64> = Vec::new();
    let mut steps = 0u32;
    while let Some(task) = tasks.pop() {
        let mut proofs = match task {
            Task::Combine { key, pe } => {
                let without = values.pop().unwrap_or(0.0);
                let with = values.pop().unwrap_or(0.0);
                let result = pe * with + (1.0 - pe) * without;
                memo.insert(key, result);
                values.push(result);
                continue;
            }
            Task::Count(proofs) => proofs,
        };
        steps = steps.wrapping_add(1);
        if steps.is_multiple_of(256) {
            clock.check()?;
        }
        if proofs.iter().any(Vec::is_empty) {
            values.push(1.0);
            continue;
        }
        if proofs.is_empty() {
            values.push(0.0);
            continue;
        }
        if proofs.len() == 1 {
            values.push(proofs.first().map_or(0.0, |p| proof_probability(p, events)));
            continue;
        }
        proofs.sort();
        proofs.dedup();
        if let Some(&p) = memo.get(&proofs) {
            values.push(p);
            continue;
        }
        let mut counts: FxHashMap<u32, usize> = FxHashMap::default();
        for p in &proofs {
            for &l in p {
                *counts.entry(l >> 1).or_default() += 1;
            }
        }
        let Some((&pivot, _)) = counts
            .iter()
            .max_by_key(|(e, c)| (**c, std::cmp::Reverse(**e)))
        else {
            values.push(0.0);
            continue;
        };
        let pe = events.probability(pivot);
        let (yes, no) = (pivot << 1, (pivot << 1) | 1);
        // The event happens: its positive literal is satisfied (dropped),
        // proofs needing it not to happen fail. And the other way round.
        let branch = |holds: u32, fails: u32| -> Vec<Proof> {
            proofs
                .iter()
                .filter(|p| !p.contains(&fails))
                .map(|p| p.iter().copied().filter(|&l| l != holds).collect())
                .collect()
        };
        let with = branch(yes, no);
        let without = branch(no, yes);
        // `with` is counted first, as the recursion did.
        tasks.push(Task::Combine { key: proofs, pe });
        tasks.push(Task::Count(without));
        tasks.push(Task::Count(with));
    }
    Ok(values.pop().unwrap_or(0.0))
}
