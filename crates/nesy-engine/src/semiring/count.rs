//! Weighted model counting: the exact probability of a set of proofs.

use super::{Events, Proof, proof_probability};
use crate::{Clock, Error};
use rustc_hash::FxHashMap;

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
        let Some((pivot, with, without)) = shannon_split(&proofs) else {
            values.push(0.0);
            continue;
        };
        let pe = events.probability(pivot);
        // `with` is counted first, as the recursion did.
        tasks.push(Task::Combine { key: proofs, pe });
        tasks.push(Task::Count(without));
        tasks.push(Task::Count(with));
    }
    Ok(values.pop().unwrap_or(0.0))
}

/// One step of Shannon expansion: the most frequent event (ties to the
/// lowest id), and the proofs when it happens (its positive literal is
/// satisfied and dropped, proofs needing it not to happen fail) and when
/// it does not (the other way round). `None` for proofs with no event.
fn shannon_split(proofs: &[Proof]) -> Option<(u32, Vec<Proof>, Vec<Proof>)> {
    let mut counts: FxHashMap<u32, usize> = FxHashMap::default();
    for p in proofs {
        for &l in p {
            *counts.entry(l >> 1).or_default() += 1;
        }
    }
    let (&pivot, _) = counts
        .iter()
        .max_by_key(|(e, c)| (**c, std::cmp::Reverse(**e)))?;
    let (yes, no) = (pivot << 1, (pivot << 1) | 1);
    let branch = |holds: u32, fails: u32| -> Vec<Proof> {
        proofs
            .iter()
            .filter(|p| !p.contains(&fails))
            .map(|p| p.iter().copied().filter(|&l| l != holds).collect())
            .collect()
    };
    Some((pivot, branch(yes, no), branch(no, yes)))
}

/// One node of the counting circuit [`dnf_gradient`] builds.
enum Node {
    /// A constant: no proof (0) or an empty one (1).
    Const(f64),
    /// One proof: the product of its literals' probabilities.
    Proof(Proof),
    /// Shannon expansion on an event: `p * hi + (1 - p) * lo`.
    Split { event: u32, hi: usize, lo: usize },
}

/// The probability that at least one proof holds, as [`dnf_probability`]
/// counts it, and its gradient with respect to the probability of every
/// event the proofs mention (`(event, d probability / d p_event)`, sorted
/// by event). The expansion is kept as a circuit (shared sub-results once)
/// and differentiated in reverse mode: one backward pass gives every
/// event's derivative.
pub(crate) fn dnf_gradient(
    proofs: &[Proof],
    events: Events,
    clock: &Clock,
) -> Result<(f64, Vec<(u32, f64)>), Error> {
    enum Task {
        Build(Vec<Proof>),
        /// Both branches built (their node ids on top of the stack).
        Join {
            key: Vec<Proof>,
            event: u32,
        },
    }
    let mut nodes: Vec<Node> = Vec::new();
    let mut memo: FxHashMap<Vec<Proof>, usize> = FxHashMap::default();
    let mut tasks = vec![Task::Build(proofs.to_vec())];
    let mut built: Vec<usize> = Vec::new();
    let mut steps = 0u32;
    while let Some(task) = tasks.pop() {
        let mut proofs = match task {
            Task::Join { key, event } => {
                let lo = built.pop().unwrap_or(0);
                let hi = built.pop().unwrap_or(0);
                nodes.push(Node::Split { event, hi, lo });
                let id = nodes.len() - 1;
                memo.insert(key, id);
                built.push(id);
                continue;
            }
            Task::Build(proofs) => proofs,
        };
        steps = steps.wrapping_add(1);
        if steps.is_multiple_of(256) {
            clock.check()?;
        }
        let leaf = if proofs.iter().any(Vec::is_empty) {
            Some(Node::Const(1.0))
        } else if proofs.is_empty() {
            Some(Node::Const(0.0))
        } else if proofs.len() == 1 {
            proofs.pop().map(Node::Proof)
        } else {
            None
        };
        if let Some(leaf) = leaf {
            nodes.push(leaf);
            built.push(nodes.len() - 1);
            continue;
        }
        proofs.sort();
        proofs.dedup();
        if let Some(&id) = memo.get(&proofs) {
            built.push(id);
            continue;
        }
        let Some((pivot, with, without)) = shannon_split(&proofs) else {
            nodes.push(Node::Const(0.0));
            built.push(nodes.len() - 1);
            continue;
        };
        tasks.push(Task::Join {
            key: proofs,
            event: pivot,
        });
        tasks.push(Task::Build(without));
        tasks.push(Task::Build(with));
    }
    let Some(root) = built.pop() else {
        return Ok((0.0, Vec::new()));
    };
    // Forward: children are built before their parents, so in id order.
    let literal = |l: u32| {
        let p = events.probability(l >> 1);
        if l & 1 == 0 { p } else { 1.0 - p }
    };
    let at = |values: &[f64], id: usize| values.get(id).copied().unwrap_or(0.0);
    let mut value: Vec<f64> = Vec::with_capacity(nodes.len());
    for node in &nodes {
        let v = match node {
            Node::Const(c) => *c,
            Node::Proof(p) => p.iter().map(|&l| literal(l)).product(),
            Node::Split { event, hi, lo } => {
                let p = events.probability(*event);
                p * at(&value, *hi) + (1.0 - p) * at(&value, *lo)
            }
        };
        value.push(v);
    }
    // Backward, parents before children.
    let mut adjoint = vec![0.0; nodes.len()];
    if let Some(a) = adjoint.get_mut(root) {
        *a = 1.0;
    }
    let mut gradient: FxHashMap<u32, f64> = FxHashMap::default();
    for (id, node) in nodes.iter().enumerate().rev() {
        let a = at(&adjoint, id);
        if a == 0.0 {
            continue;
        }
        match node {
            Node::Const(_) => {}
            Node::Proof(p) => {
                for (i, &l) in p.iter().enumerate() {
                    let others: f64 = p
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, &m)| literal(m))
                        .product();
                    let sign = if l & 1 == 0 { 1.0 } else { -1.0 };
                    *gradient.entry(l >> 1).or_default() += a * sign * others;
                }
            }
            Node::Split { event, hi, lo } => {
                let p = events.probability(*event);
                if let Some(h) = adjoint.get_mut(*hi) {
                    *h += a * p;
                }
                if let Some(l) = adjoint.get_mut(*lo) {
                    *l += a * (1.0 - p);
                }
                *gradient.entry(*event).or_default() += a * (at(&value, *hi) - at(&value, *lo));
            }
        }
    }
    let mut gradient: Vec<(u32, f64)> = gradient.into_iter().collect();
    gradient.sort_by_key(|(e, _)| *e);
    Ok((at(&value, root), gradient))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, reason = "tests")]
    use super::*;
    use crate::Limits;

    /// Derivatives against central finite differences on random DNFs with
    /// negated literals and shared events.
    #[test]
    fn the_gradient_matches_finite_differences() {
        let clock = Clock::start(&Limits::default());
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..200 {
            let n_events = 1 + next(6) as u32;
            let probabilities: Vec<f64> = (0..n_events)
                .map(|_| 0.05 + 0.9 * (next(1000) as f64 / 1000.0))
                .collect();
            let proofs: Vec<Proof> = (0..1 + next(5))
                .map(|_| {
                    let mut p: Proof = (0..1 + next(3))
                        .map(|_| ((next(n_events as u64) as u32) << 1) | (next(3) == 0) as u32)
                        .collect();
                    p.sort_unstable();
                    p.dedup();
                    p
                })
                .filter(|p| !p.windows(2).any(|w| w[0] >> 1 == w[1] >> 1))
                .collect();
            let events = Events::known(&probabilities);
            let (value, gradient) = dnf_gradient(&proofs, events, &clock).unwrap();
            let counted = dnf_probability(&proofs, events, &clock).unwrap();
            assert!((value - counted).abs() < 1e-12, "{value} vs {counted}");
            for e in 0..n_events {
                let h = 1e-6;
                let mut up = probabilities.clone();
                up[e as usize] += h;
                let mut down = probabilities.clone();
                down[e as usize] -= h;
                let f = |ps: &[f64]| dnf_probability(&proofs, Events::known(ps), &clock).unwrap();
                let numeric = (f(&up) - f(&down)) / (2.0 * h);
                let ours = gradient
                    .iter()
                    .find(|(x, _)| *x == e)
                    .map_or(0.0, |(_, d)| *d);
                assert!(
                    (numeric - ours).abs() < 1e-6,
                    "event {e}: {ours} vs {numeric} for {proofs:?} at {probabilities:?}"
                );
            }
        }
    }
}
