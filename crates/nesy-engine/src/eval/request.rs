//! A request's plan over a prepared base: the strata of the relations its
//! input reaches, each run either from the base's tuples with only what
//! the request adds (when the request can only add to it), or again from
//! the program's facts (when it may also take away).
//!
//! Adding facts only adds tuples to a relation whose rules read the
//! changed relations positively: such a stratum starts from its base
//! tuples, and its first round runs each rule once per body atom over a
//! changed relation, that atom reading only the rows the request added to
//! it (kept as a relation of its own, id shifted by the number of
//! relations `n`), the changed atoms before it only the base's rows (id
//! shifted by `2 n`), the others everything, so that each new derivation
//! is found once; recursion then goes on semi-naively.
//! A rule that negates or aggregates a changed relation may lose tuples,
//! and so may every relation that reads one it derives: those strata are
//! evaluated again from the program's facts, reading the others whole.
//! Strata of one depth (reading none of each other) run as one.

use super::strata::{PlannedStratum, plan_stratum, strata};
use crate::Error;
use crate::ir::{Lit, RelId, RelationInfo, Rule};
use crate::plan::plan;
use crate::semiring::Plain;
use crate::storage::{Store, Version};

/// The strata a request runs, and the stores it starts from (`3 n` of
/// them: the relations, what the request added to each, and the base's
/// rows of those read as they were before the request).
pub(crate) struct RequestStrata {
    pub(crate) strata: Vec<PlannedStratum>,
    pub(crate) stores: Vec<Store>,
    /// The relations read whole from the base without being derived.
    pub(crate) read: Vec<bool>,
    /// The relations whose base rows a first round reads (at `2 n + r`).
    pub(crate) old: Vec<bool>,
}

/// Plans a request whose input reaches the `dirty` relations. `rules` are
/// the program's; `base` the base evaluation's stores; `facts` the
/// program's facts per relation (flat rows).
pub(crate) fn plan_request(
    relations: &[RelationInfo],
    rules: &[Rule],
    dirty: &[bool],
    base: &[Store],
    facts: &[Vec<u32>],
) -> Result<RequestStrata, Error> {
    let n = relations.len();
    let is_dirty = |r: RelId| dirty.get(r).copied().unwrap_or(false);
    let rules: Vec<Rule> = rules.iter().filter(|r| is_dirty(r.head)).cloned().collect();
    let arity = |r: RelId| relations.get(r).map_or(0, RelationInfo::stored_arity);
    let mut stores: Vec<Store> = (0..3 * n).map(|r| Store::new(arity(r % n))).collect();
    let mut read = vec![false; n];
    let mut old = vec![false; n];
    let mut recomputed = vec![false; n];
    // Strata by depth: those of one depth read none of each other and run
    // as one (a request's cost is mostly per round, not per row).
    let mut depth = vec![0usize; n];
    let mut planned: Vec<(usize, PlannedStratum)> = Vec::new();
    for stratum in strata(n, &rules)? {
        if !stratum.iter().any(|&r| is_dirty(r)) {
            continue;
        }
        let own: Vec<(usize, &Rule)> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| stratum.contains(&r.head))
            .collect();
        let level = own
            .iter()
            .flat_map(|(_, r)| r.dependencies())
            .filter(|(dep, _)| is_dirty(*dep) && !stratum.contains(dep))
            .map(|(dep, _)| depth.get(dep).map_or(0, |d| d + 1))
            .max()
            .unwrap_or(0);
        for &r in &stratum {
            if let Some(d) = depth.get_mut(r) {
                *d = level;
            }
        }
        for (_, rule) in &own {
            for (dep, _) in rule.dependencies() {
                if !is_dirty(dep)
                    && let (Some(x), Some(store), Some(from)) =
                        (read.get_mut(dep), stores.get_mut(dep), base.get(dep))
                    && !*x
                {
                    *x = true;
                    *store = from.clone();
                }
            }
        }
        let grows_only = own.iter().all(|(_, rule)| {
            rule.dependencies().iter().all(|&(dep, complete)| {
                stratum.contains(&dep)
                    || !is_dirty(dep)
                    || (!complete && !recomputed.get(dep).copied().unwrap_or(true))
            })
        });
        for &r in &stratum {
            if let (Some(store), Some(from)) = (stores.get_mut(r), base.get(r)) {
                if grows_only {
                    *store = from.clone();
                } else {
                    store.to_add = facts.get(r).cloned().unwrap_or_default();
                }
            }
            if let Some(x) = recomputed.get_mut(r) {
                *x = !grows_only;
            }
        }
        if !grows_only {
            let stratum = plan_stratum::<Plain>(stratum, &rules, &mut stores, true)?;
            planned.push((level, stratum));
            continue;
        }
        let mut first_round = Vec::new();
        for &(ri, rule) in &own {
            let changed = |lit: &Lit| matches!(lit, Lit::Atom { rel, .. } if !stratum.contains(rel) && is_dirty(*rel));
            for (at, lit) in rule.body.iter().enumerate() {
                if !changed(lit) {
                    continue;
                }
                // The atom reads only what the request added; the changed
                // atoms before it, only what the base had.
                let mut body = rule.body.clone();
                for (j, lit) in body.iter_mut().enumerate().take(at + 1) {
                    if !changed(lit) {
                        continue;
                    }
                    if let Lit::Atom { rel, .. } = lit {
                        if j == at {
                            *rel += n;
                        } else {
                            if let (Some(store), Some(from), Some(used)) = (
                                stores.get_mut(2 * n + *rel),
                                base.get(*rel),
                                old.get_mut(*rel),
                            ) && !*used
                            {
                                *used = true;
                                *store = from.clone();
                            }
                            *rel += 2 * n;
                        }
                    }
                }
                let versions = vec![Version::Full; body.len()];
                let mut bound = vec![false; rule.num_vars()];
                let ops = plan(
                    &body,
                    &versions,
                    Some(at),
                    &mut bound,
                    &mut stores,
                    &rule.location,
                )?;
                first_round.push((ri, ops));
            }
        }
        let mut stratum = plan_stratum::<Plain>(stratum, &rules, &mut stores, false)?;
        stratum.full = first_round
            .into_iter()
            .filter_map(|(ri, ops)| {
                rules
                    .get(ri)
                    .map(|rule| super::RulePlan::new(ri, rule, ops, None))
            })
            .collect();
        stratum.collect = true;
        planned.push((level, stratum));
    }
    // Stable: a depth's strata keep their order (what grows first).
    planned.sort_by_key(|(level, s)| (*level, !s.collect));
    let mut merged: Vec<(usize, PlannedStratum)> = Vec::new();
    for (level, stratum) in planned {
        match merged.last_mut() {
            Some((l, last)) if *l == level && last.collect == stratum.collect => {
                last.absorb(stratum);
            }
            _ => merged.push((level, stratum)),
        }
    }
    Ok(RequestStrata {
        strata: merged.into_iter().map(|(_, s)| s).collect(),
        stores,
        read,
        old,
    })
}
