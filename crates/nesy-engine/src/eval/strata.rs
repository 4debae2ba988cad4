//! Strata: the relations in dependency order, each stratum planned before
//! any runs, then run round after round until nothing changes (naively,
//! recomputing tags, under a semiring whose addition is not idempotent).

// Frames are indexed by variable numbers the compiler gave out, and rows by
// the planner's column positions; both are invariants of compiled plans.
#![allow(
    clippy::indexing_slicing,
    reason = "plan-checked frame and row offsets"
)]

use super::round::run_round;
use super::{Ctx, Outcome, RulePlan, RuleStats, Stats, StratumStats};
use crate::Error;
use crate::ir::{RelId, RelationInfo, Rule};
use crate::limits::{Clock, Limits};
use crate::plan::plan;
use crate::semiring::Semiring;
use crate::storage::{self, Index, Store, Version};
use crate::tagging::Tagging;
use crate::value::Interner;
use petgraph::graph::DiGraph;
use std::cmp::Ordering;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Rounds of a recursive stratum a non-idempotent semiring may take to
/// converge (`add-mult` on cycles).
pub(super) const MAX_NAIVE_ROUNDS: usize = 10_000;

/// Plans every stratum, then runs them in order.
pub(super) fn run_strata<S: Semiring>(
    sr: &S,
    relations: &[RelationInfo],
    rules: &[Rule],
    mut stores: Vec<Store>,
    interner: Interner,
    tagging: Option<&mut Tagging<S>>,
    limits: &Limits,
) -> Result<Outcome, Error> {
    let start = Instant::now();
    let stats = Stats {
        rules: rules
            .iter()
            .map(|r| RuleStats {
                rule: match &r.name {
                    Some(n) => format!("{} @name({n})", r.location),
                    None => r.location.to_string(),
                },
                head: relations
                    .get(r.head)
                    .map(|h| h.name.clone())
                    .unwrap_or_default(),
                ..RuleStats::default()
            })
            .collect(),
        ..Stats::default()
    };
    // Every stratum is planned before any runs, so that each relation is
    // stored from the start in exactly the column orders its readers need
    // (an index added later would be a second copy of the rows).
    let planned = plan_strata::<S>(relations.len(), rules, &mut stores)?;
    run_planned_strata(
        sr, relations, &planned, stores, interner, tagging, limits, stats, start, true,
    )
}

/// Plans every stratum of `rules` over `n` relations (with `stores`
/// receiving the indexes the plans read), in the order they must run.
pub(super) fn plan_strata<S: Semiring>(
    n: usize,
    rules: &[Rule],
    stores: &mut [Store],
) -> Result<Vec<PlannedStratum>, Error> {
    let mut planned = Vec::new();
    for stratum in strata(n, rules)? {
        planned.push(plan_stratum::<S>(stratum, rules, stores, true)?);
    }
    Ok(planned)
}

/// Runs planned strata in order, the statistics' time counted from
/// `start`. `named`: whether the strata's statistics name their relations.
#[allow(
    clippy::too_many_arguments,
    reason = "the evaluation's parts, borrowed separately"
)]
pub(super) fn run_planned_strata<S: Semiring>(
    sr: &S,
    relations: &[RelationInfo],
    planned: &[PlannedStratum],
    mut stores: Vec<Store>,
    mut interner: Interner,
    mut tagging: Option<&mut Tagging<S>>,
    limits: &Limits,
    mut stats: Stats,
    start: Instant,
    named: bool,
) -> Result<Outcome, Error> {
    let clock = Clock::start(limits);
    let stop = AtomicBool::new(false);
    let n = relations.len();
    let mut news: Vec<Vec<u32>> = if planned.iter().any(|s| s.collect) {
        vec![Vec::new(); n]
    } else {
        Vec::new()
    };
    for stratum in planned {
        let ctx = Ctx {
            clock: clock.clone(),
            limits,
            stop: &stop,
            relations,
            profiled: named,
        };
        let mut run = Running {
            sr,
            relations,
            stores: &mut stores,
            interner: &mut interner,
            ctx: &ctx,
            stats: &mut stats,
            news: &mut news,
        };
        let stratum_stats = run.stratum(stratum, tagging.as_deref_mut(), named)?;
        if named && (!stratum.full.is_empty() || !stratum.delta.is_empty()) {
            stats.strata.push(stratum_stats);
        }
        if stratum.collect {
            // What the request added to a relation, as a relation of its
            // own (id shifted by `n`) for the strata after it.
            for &rel in &stratum.relations {
                if let (Some(rows), Some(store)) = (news.get_mut(rel), stores.get_mut(n + rel)) {
                    store.to_add = std::mem::take(rows);
                    store.advance();
                }
            }
        }
    }
    stats.time = start.elapsed();
    Ok(Outcome {
        stores,
        interner,
        stats,
    })
}

/// A stratum's relations and its rules' plans: the full plans run once
/// on everything known, the delta plans (one per recursive atom of a
/// rule) round after round on the previous round's new rows.
pub(crate) struct PlannedStratum {
    relations: Vec<RelId>,
    pub(super) full: Vec<RulePlan>,
    delta: Vec<RulePlan>,
    /// A request's stratum: collect the rows each round adds, for the
    /// strata after it that read only what the request added (see
    /// `request.rs`).
    pub(super) collect: bool,
}

impl PlannedStratum {
    /// Takes in a stratum that reads none of this one's relations, nor
    /// this one any of its: the two run as one.
    pub(super) fn absorb(&mut self, other: PlannedStratum) {
        self.relations.extend(other.relations);
        self.full.extend(other.full);
        self.delta.extend(other.delta);
    }
}

/// Plans the rules of one stratum (`full`: with the plans of the first
/// round, which read everything).
pub(super) fn plan_stratum<S: Semiring>(
    stratum: Vec<RelId>,
    rules: &[Rule],
    stores: &mut [Store],
    full_plans: bool,
) -> Result<PlannedStratum, Error> {
    let in_stratum = |rel: RelId| stratum.contains(&rel);
    let mut full = Vec::new();
    let mut delta = Vec::new();
    for (ri, rule) in rules.iter().enumerate().filter(|(_, r)| in_stratum(r.head)) {
        let recursive: Vec<usize> = rule
            .body
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l, crate::ir::Lit::Atom { rel, .. } if in_stratum(*rel)))
            .map(|(i, _)| i)
            .collect();
        let make = |ops, delta| RulePlan::new(ri, rule, ops, delta);
        // Without idempotent addition, a recursive stratum is iterated
        // naively: every rule reads everything, every round.
        if recursive.is_empty() || (!S::PLAIN && !S::IDEMPOTENT) {
            if !full_plans {
                continue;
            }
            let versions = vec![Version::Full; rule.body.len()];
            let mut bound = vec![false; rule.num_vars()];
            let ops = plan(
                &rule.body,
                &versions,
                None,
                &mut bound,
                stores,
                &rule.location,
            )?;
            full.push(make(ops, (!recursive.is_empty()).then_some(rule.head)));
            continue;
        }
        for (k, &at) in recursive.iter().enumerate() {
            // Atoms before the delta atom read the older rows, atoms after
            // it everything.
            let mut versions = vec![Version::Full; rule.body.len()];
            for (j, &other) in recursive.iter().enumerate() {
                if let Some(v) = versions.get_mut(other) {
                    *v = match j.cmp(&k) {
                        Ordering::Less => Version::Old,
                        Ordering::Equal => Version::Delta,
                        Ordering::Greater => Version::Full,
                    };
                }
            }
            let mut bound = vec![false; rule.num_vars()];
            let ops = plan(
                &rule.body,
                &versions,
                Some(at),
                &mut bound,
                stores,
                &rule.location,
            )?;
            let delta_rel = match rule.body.get(at) {
                Some(crate::ir::Lit::Atom { rel, .. }) => Some(*rel),
                _ => None,
            };
            delta.push(make(ops, delta_rel));
        }
    }
    Ok(PlannedStratum {
        relations: stratum,
        full: if full_plans { full } else { Vec::new() },
        delta,
        collect: false,
    })
}

/// What running strata borrows.
struct Running<'e, 'c, S: Semiring> {
    sr: &'e S,
    relations: &'e [RelationInfo],
    stores: &'e mut Vec<Store>,
    interner: &'e mut Interner,
    ctx: &'e Ctx<'c>,
    stats: &'e mut Stats,
    /// A collecting stratum's new rows per relation, in canonical order.
    news: &'e mut Vec<Vec<u32>>,
}

impl<S: Semiring> Running<'_, '_, S> {
    /// Runs one stratum to its fixpoint.
    fn stratum(
        &mut self,
        stratum: &PlannedStratum,
        mut tagging: Option<&mut Tagging<S>>,
        named: bool,
    ) -> Result<StratumStats, Error> {
        let started = named.then(Instant::now);
        let mut stratum_stats = StratumStats::default();
        if named {
            stratum_stats.relations = stratum
                .relations
                .iter()
                .filter_map(|&r| self.relations.get(r).map(|i| i.name.clone()))
                .collect();
        }
        let naive = !S::PLAIN && !S::IDEMPOTENT && stratum.full.iter().any(|p| p.delta.is_some());
        if naive && let Some(tagging) = tagging.as_deref_mut() {
            naive_stratum(
                self.sr,
                &stratum.relations,
                &stratum.full,
                self.stores,
                self.interner,
                self.ctx,
                self.stats,
                tagging,
                self.relations,
                &mut stratum_stats,
            )?;
        } else {
            self.semi_naive(stratum, tagging, &mut stratum_stats)?;
        }
        stratum_stats.time = started.map(|s| s.elapsed()).unwrap_or_default();
        stratum_stats.iterations = stratum_stats.iterations.max(1);
        Ok(stratum_stats)
    }

    /// The full plans once, then the delta plans whose relation has new
    /// (or retagged) rows, until a round adds nothing.
    fn semi_naive(
        &mut self,
        stratum: &PlannedStratum,
        mut tagging: Option<&mut Tagging<S>>,
        stratum_stats: &mut StratumStats,
    ) -> Result<(), Error> {
        if !stratum.full.is_empty() {
            let plans: Vec<&RulePlan> = stratum.full.iter().collect();
            self.round(&plans, tagging.as_deref_mut())?;
        }
        loop {
            let mut added = 0;
            let mut retagged = false;
            for &rel in &stratum.relations {
                if let Some(store) = self.stores.get_mut(rel) {
                    let new = store.advance();
                    added += new;
                    retagged |= store.indexes.iter().any(|i| !i.retagged.is_empty());
                    if stratum.collect
                        && new > 0
                        && let (Some(first), Some(out)) =
                            (store.indexes.first(), self.news.get_mut(rel))
                    {
                        let identity: Vec<usize> = (0..store.width).collect();
                        out.extend(storage::permute(
                            &first.recent,
                            store.width,
                            &first.perm,
                            &identity,
                        ));
                    }
                }
            }
            stratum_stats.tuples += added;
            check_limits(self.stores, self.relations, self.ctx, &stratum.relations)?;
            if added == 0 && !retagged {
                return Ok(());
            }
            stratum_stats.iterations += 1;
            let plans: Vec<&RulePlan> = stratum
                .delta
                .iter()
                .filter(|p| {
                    p.delta
                        .and_then(|d| self.stores.get(d))
                        .is_some_and(|s| s.indexes.iter().any(Index::has_delta))
                })
                .collect();
            if !plans.is_empty() {
                self.round(&plans, tagging.as_deref_mut())?;
            }
        }
    }

    fn round(
        &mut self,
        plans: &[&RulePlan],
        tagging: Option<&mut Tagging<S>>,
    ) -> Result<(), Error> {
        run_round(
            self.sr,
            plans,
            self.stores,
            self.interner,
            self.ctx,
            self.stats,
            tagging,
        )
    }
}

/// A recursive stratum under a semiring whose addition is not idempotent:
/// each round runs every rule over everything and recomputes the
/// stratum's tags from the tags its relations had before it, until
/// neither tuples nor tags change.
#[allow(
    clippy::too_many_arguments,
    reason = "the evaluation's parts, borrowed separately"
)]
pub(super) fn naive_stratum<S: Semiring>(
    sr: &S,
    stratum: &[RelId],
    full_plans: &[RulePlan],
    stores: &mut [Store],
    interner: &mut Interner,
    ctx: &Ctx,
    stats: &mut Stats,
    tagging: &mut Tagging<S>,
    relations: &[RelationInfo],
    stratum_stats: &mut StratumStats,
) -> Result<(), Error> {
    // Settle the facts first, so the base tags cover them.
    for &rel in stratum {
        if let Some(store) = stores.get_mut(rel) {
            stratum_stats.tuples += store.advance();
        }
    }
    let base: Vec<(RelId, Vec<S::Tag>)> = stratum
        .iter()
        .filter_map(|&r| tagging.tables.get(r).map(|t| (r, t.tags.clone())))
        .collect();
    let plans: Vec<&RulePlan> = full_plans.iter().collect();
    for _ in 0..MAX_NAIVE_ROUNDS {
        tagging.begin_naive(&base, sr);
        run_round(
            sr,
            &plans,
            stores,
            interner,
            ctx,
            stats,
            Some(&mut *tagging),
        )?;
        tagging.end_naive(sr);
        let mut added = 0;
        for &rel in stratum {
            if let Some(store) = stores.get_mut(rel) {
                added += store.advance();
            }
        }
        stratum_stats.tuples += added;
        stratum_stats.iterations += 1;
        check_limits(stores, relations, ctx, stratum)?;
        if added == 0 && !tagging.changed {
            return Ok(());
        }
    }
    Err(Error::Unsettled {
        rounds: MAX_NAIVE_ROUNDS,
        relation: stratum
            .first()
            .and_then(|&r| relations.get(r))
            .map(|r| r.name.clone())
            .unwrap_or_default(),
    })
}

pub(super) fn check_limits(
    stores: &[Store],
    relations: &[RelationInfo],
    ctx: &Ctx,
    stratum: &[RelId],
) -> Result<(), Error> {
    if let Some(limit) = ctx.limits.max_tuples {
        let total: usize = stores.iter().map(|s| s.len).sum();
        if total > limit {
            let growing = stratum
                .iter()
                .max_by_key(|&&r| stores.get(r).map_or(0, |s| s.len))
                .and_then(|&r| relations.get(r))
                .map(|r| r.name.clone())
                .unwrap_or_default();
            return Err(Error::TooManyTuples {
                limit,
                relation: growing,
            });
        }
    }
    ctx.check_time()
}

/// Relations grouped into strata, in an order where every stratum comes
/// after the strata it reads.
pub(crate) fn strata(n: usize, rules: &[Rule]) -> Result<Vec<Vec<RelId>>, Error> {
    let mut graph: DiGraph<RelId, bool> = DiGraph::new();
    let nodes: Vec<_> = (0..n).map(|r| graph.add_node(r)).collect();
    for rule in rules {
        for (dep, needs_complete) in rule.dependencies() {
            if let (Some(&a), Some(&b)) = (nodes.get(dep), nodes.get(rule.head)) {
                graph.add_edge(a, b, needs_complete);
            }
        }
    }
    let mut sccs = petgraph::algo::tarjan_scc(&graph);
    sccs.reverse();
    let mut out = Vec::new();
    for scc in sccs {
        let members: Vec<RelId> = scc
            .iter()
            .filter_map(|&i| graph.node_weight(i).copied())
            .collect();
        for rule in rules.iter().filter(|r| members.contains(&r.head)) {
            for (dep, needs_complete) in rule.dependencies() {
                if needs_complete && members.contains(&dep) {
                    return Err(Error::Compile {
                        location: Some(rule.location.clone()),
                        message: "negation or aggregation through recursion: the rule reads a relation that depends on its own result".to_string(),
                    });
                }
            }
        }
        out.push(members);
    }
    Ok(out)
}
