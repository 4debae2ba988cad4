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
