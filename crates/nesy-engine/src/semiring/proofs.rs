//! `top-k` and `why`: sets of proofs, the `k` most likely kept; their
//! probability is counted exactly (`count.rs`).

use super::{Events, Proof, Semiring, dnf_probability};
use crate::{Clock, Error};

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
    fn all_of(&self, literals: &[(u32, f64, bool)], _: Events) -> Vec<Proof> {
        let mut proof: Proof = literals
            .iter()
            .map(|&(id, _, happens)| (id << 1) | u32::from(!happens))
            .collect();
        proof.sort_unstable();
        proof.dedup();
        if contradictory(&proof) {
            return self.zero();
        }
        vec![proof]
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
