//! The statistical variant: rules mined from the graph in the style of
//! AnyBURL (Meilicke et al. 2019) and AMIE.
//!
//! Mining samples training triples `r(x, y)` (seeded) and, for each,
//! enumerates the paths from `x` to `y` of one to `max_length` steps through
//! the graph (edges walked either way, the triple itself left out). Each path
//! generalises to a cyclic rule `r(X, Y) :- p1(X, A), p2(A, B), p3(B, Y)`
//! (a step walked backwards is written with its arguments swapped). Each
//! triple also proposes acyclic rules with a constant, `r(X, c) :- p(X, d)`
//! and `r(X, c) :- p(X, _)` (and the same for the head), AnyBURL's AC1 and
//! AC2. Every candidate is then scored on the whole training graph: its
//! body groundings `B` (pairs the body connects), its support `S` (those
//! that are `r` triples), and its confidence `S / (|B| + 5)`, AnyBURL's
//! correction for heads it has not seen. Rules with support 2 or more and
//! confidence 0.01 or more are kept, best first. Scoring is bounded like
//! sampling: the candidates sampled most often are scored first, every
//! relation in turn, in parallel, within the same time budget again; a
//! cyclic body is walked from at most 1,000 start entities and counts at
//! most 100,000 groundings (a seeded sample, counts scaled up, as AnyBURL
//! estimates confidence), so graphs
//! of FB15k-237's size mine in bounded time while small ones (UMLS,
//! Nations, Kinship) are scored exactly.
//!
//! A prediction aggregates the rules that fire by their [`Aggregate`]: for
//! mined rules the maximum confidence, ties broken by the noisy-or of all of
//! them, `1 - (1 - c1)(1 - c2)...`: the score is `max + 0.001 * noisy-or`.
//! (Noisy-or with mined confidences saturates on dense graphs, where
//! hundreds of weak rules fire for every candidate; AnyBURL ranks by the
//! maximum for the same reason.) Rules with learned weights
//! ([`super::learn`]) may combine by noisy-or or sum instead; the rule file
//! says which. Which candidates a rule reaches, and through how many body
//! instances, is [`super::ground`]'s job.

use super::eval::{Direction, LinkScorer};
use super::graph::{TripleIndex, Vocab};
use super::ground::{Grounder, Grounding};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// One step of a rule body: a relation, walked forwards or backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Step {
    /// The relation.
    pub relation: u32,
    /// Walked from tail to head.
    pub inverse: bool,
}

/// The shape of a rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Body {
    /// `r(X, Y) :- path from X to Y`.
    Cyclic(Vec<Step>),
    /// `r(X, c) :- step(X, d)` (`d` given: AC1) or `step(X, _)` (AC2);
    /// with `head_side`, `r(c, Y) :- step(Y, d)`.
    Constant {
        /// The constant in the head.
        constant: u32,
        /// Whether the constant is the head's first argument.
        head_side: bool,
        /// The body's one step from the variable.
        step: Step,
        /// The body's constant, if any.
        other: Option<u32>,
    },
}

/// A mined rule with its statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The head relation.
    pub head: u32,
    /// The body.
    pub body: Body,
    /// Body groundings that are head triples (estimated from a sample on
    /// large graphs).
    pub support: usize,
    /// Body groundings (estimated likewise).
    pub groundings: usize,
    /// `support / (groundings + 5)`.
    pub confidence: f64,
    /// What the rule contributes to a prediction: its confidence when
    /// mined, a learned weight ([`super::learn`]), or the rule file's.
    pub weight: f64,
}

/// How the rules that predict a candidate combine into its score; a rule
/// file names it in a `// aggregate: NAME` line ([`aggregate_of`]), `max`
/// when it has none. Each matches one of the engine's semirings, so the
/// file run by the engine ranks as the evaluator does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Aggregate {
    /// The best weight among the rules that fire, ties broken by their
    /// noisy-or (`max + 0.001 * (1 - Π(1 - w))`): AnyBURL's ranking; the
    /// engine's `max-prob` gives the max.
    #[default]
    Max,
    /// `1 - Π(1 - w)^n` over the rules, `n` the rule's body instances for
    /// the pair: ProbLog's probability of the head when each ground rule is
    /// an independent choice (the engine's exact semirings).
    NoisyOr,
    /// `Σ w n`: the engine's `add-mult` (which clamps at 1).
    Sum,
}

impl Aggregate {
    /// Its name in rule files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Max => "max",
            Aggregate::NoisyOr => "noisy-or",
            Aggregate::Sum => "sum",
        }
    }

    /// The aggregate named `name`.
    pub fn from_name(name: &str) -> Option<Aggregate> {
        [Aggregate::Max, Aggregate::NoisyOr, Aggregate::Sum]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

/// The aggregate a rule file declares in a `// aggregate: NAME` line
/// (`max` when there is none); an unknown name is an error with its line.
pub fn aggregate_of(text: &str) -> Result<Aggregate, String> {
    for (i, line) in text.lines().enumerate() {
        if let Some(name) = line.trim().strip_prefix("// aggregate:") {
            let name = name.trim();
            return Aggregate::from_name(name).ok_or_else(|| {
                format!(
                    "{}:1: unknown aggregate `{name}` (expected max, noisy-or or sum)",
                    i + 1
                )
            });
        }
    }
    Ok(Aggregate::Max)
}

/// How to mine.
#[derive(Clone, Debug)]
pub struct MineParams {
    /// Longest cyclic body.
    pub max_length: usize,
    /// Stop sampling after this long; scoring the candidates gets as
    /// long again.
    pub time_budget: Duration,
    /// Triples sampled per relation.
    pub samples_per_relation: usize,
    /// Seeds the sampling.
    pub seed: u64,
    /// Paths followed per step (the rest sampled away) on high-degree nodes.
    pub branching: usize,
    /// Candidate bodies scored per head relation (the most often sampled).
    pub candidates_per_relation: usize,
    /// Rules kept per head relation (the most confident).
    pub rules_per_relation: usize,
}

impl Default for MineParams {
    fn default() -> Self {
        MineParams {
            max_length: 3,
            time_budget: Duration::from_secs(30),
            samples_per_relation: 200,
            seed: 0,
            branching: 20,
            candidates_per_relation: 5000,
            rules_per_relation: 1000,
        }
    }
}

const UNSEEN_HEADS: f64 = 5.0;
/// Paths kept per sampled triple (dense graphs have thousands).
const MAX_PATHS_PER_TRIPLE: usize = 200;
const MIN_SUPPORT: usize = 2;
const MIN_CONFIDENCE: f64 = 0.01;

/// What mining did, and what its time budget cut short.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MineReport {
    /// Training triples sampled (paths searched from).
    pub sampled: usize,
    /// Triples that would have been sampled with time enough.
    pub to_sample: usize,
    /// Candidate rules scored.
    pub scored: usize,
    /// Candidate rules that would have been scored with time enough.
    pub candidates: usize,
}

impl MineReport {
    /// Whether the time budget ended sampling or scoring early.
    pub fn cut_short(&self) -> bool {
        self.sampled < self.to_sample || self.scored < self.candidates
    }
}

/// Mines rules from the graph.
pub fn mine(graph: &TripleIndex, params: &MineParams) -> Vec<Rule> {
    mine_with_report(graph, params).0
}

/// Mines rules from the graph, and says how far the time budget went.
pub fn mine_with_report(graph: &TripleIndex, params: &MineParams) -> (Vec<Rule>, MineReport) {
    let start = Instant::now();
    let mut report = MineReport::default();
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let mut by_relation: BTreeMap<u32, Vec<(u32, u32)>> = BTreeMap::new();
    for &(h, r, t) in &graph.triples {
        by_relation.entry(r).or_default().push((h, t));
    }
    // How often each candidate body came up, per head relation.
    let mut candidates: BTreeMap<u32, HashMap<Body, usize>> = BTreeMap::new();
    for pairs in by_relation.values_mut() {
        pairs.shuffle(&mut rng);
    }
    // Round-robin over the relations, so a time budget that runs out
    // leaves every relation with samples, not the first ones with all.
    let rounds = by_relation
        .values()
        .map(|p| p.len().min(params.samples_per_relation))
        .max()
        .unwrap_or(0);
    report.to_sample = by_relation
        .values()
        .map(|p| p.len().min(params.samples_per_relation))
        .sum();
    for round in 0..rounds {
        if start.elapsed() > params.time_budget {
            break;
        }
        for (&r, pairs) in &by_relation {
            let Some(&(x, y)) = pairs
                .get(round)
                .filter(|_| round < params.samples_per_relation)
            else {
                continue;
            };
            if start.elapsed() > params.time_budget {
                break;
            }
            report.sampled += 1;
            let found = candidates.entry(r).or_default();
            for path in paths(graph, x, y, (x, r, y), params, &mut rng) {
                *found.entry(Body::Cyclic(path)).or_default() += 1;
            }
            // Acyclic rules with a constant: from x's other edges, about y;
            // from y's other edges, about x.
            for (var, constant, head_side) in [(x, y, false), (y, x, true)] {
                let edges = if degree(graph, var) > HUB_DEGREE {
                    some_neighbours(graph, var, HUB_SAMPLE, &mut rng)
                } else {
                    neighbours(graph, var)
                };
                for (step, other) in edges {
                    if (var, step, other)
                        == (
                            x,
                            Step {
                                relation: r,
                                inverse: false,
                            },
                            y,
                        )
                        || (var, step, other)
                            == (
                                y,
                                Step {
                                    relation: r,
                                    inverse: true,
                                },
                                x,
                            )
                    {
                        continue;
                    }
                    for o in [Some(other), None] {
                        *found
                            .entry(Body::Constant {
                                constant,
                                head_side,
                                step,
                                other: o,
                            })
                            .or_default() += 1;
                    }
                }
            }
        }
    }
    let ranked: Vec<(u32, Vec<Body>)> = candidates
        .into_iter()
        .map(|(head, found)| {
            let mut found: Vec<(Body, usize)> = found.into_iter().collect();
            found.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            found.truncate(params.candidates_per_relation);
            (head, found.into_iter().map(|(body, _)| body).collect())
        })
        .collect();
    report.candidates = ranked.iter().map(|(_, b)| b.len()).sum();
    let (scored, count) = score_all(graph, &ranked, params);
    report.scored = count;
    let mut rules = Vec::new();
    for mut scored in scored {
        scored.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then(b.support.cmp(&a.support))
                .then(a.body.cmp(&b.body))
        });
        scored.truncate(params.rules_per_relation);
        rules.extend(scored);
    }
    rules.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(b.support.cmp(&a.support))
            .then(a.head.cmp(&b.head))
            .then(a.body.cmp(&b.body))
    });
    (rules, report)
}

/// Edges of an entity past which it is a hub: its edges are sampled
/// rather than listed (FB15k-237's hubs have over 10,000; UMLS's, Nations'
/// and Kinship's at most a few hundred, so they are mined as listed).
const HUB_DEGREE: usize = 1000;
/// Edges of a hub that propose rules with constants, per sampled triple.
const HUB_SAMPLE: usize = 100;

fn degree(graph: &TripleIndex, e: u32) -> usize {
    let count = |edges: &Vec<Vec<(u32, u32)>>| edges.get(e as usize).map_or(0, Vec::len);
    count(&graph.out) + count(&graph.inn)
}

/// At most `k` of the entity's edges, a random choice where it has more:
/// a hub's edges are drawn by index, never listed whole.
fn some_neighbours(
    graph: &TripleIndex,
    e: u32,
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<(Step, u32)> {
    if degree(graph, e) <= HUB_DEGREE {
        let mut next = neighbours(graph, e);
        if next.len() > k {
            next.shuffle(rng);
            next.truncate(k);
        }
        return next;
    }
    let out = graph
        .out
        .get(e as usize)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let inn = graph
        .inn
        .get(e as usize)
        .map(Vec::as_slice)
        .unwrap_or_default();
    rand::seq::index::sample(rng, out.len() + inn.len(), k)
        .into_iter()
        .filter_map(|i| match out.get(i) {
            Some(&(relation, t)) => Some((
                Step {
                    relation,
                    inverse: false,
                },
                t,
            )),
            None => inn.get(i - out.len()).map(|&(relation, h)| {
                (
                    Step {
                        relation,
                        inverse: true,
                    },
                    h,
                )
            }),
        })
        .collect()
}

fn neighbours(graph: &TripleIndex, e: u32) -> Vec<(Step, u32)> {
    let mut out = Vec::new();
    for &(relation, t) in graph
        .out
        .get(e as usize)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        out.push((
            Step {
                relation,
                inverse: false,
            },
            t,
        ));
    }
    for &(relation, h) in graph
        .inn
        .get(e as usize)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        out.push((
            Step {
                relation,
                inverse: true,
            },
            h,
        ));
    }
    out
}

/// Paths from x to y of 1..=max_length steps, not using the triple itself.
fn paths(
    graph: &TripleIndex,
    x: u32,
    y: u32,
    triple: (u32, u32, u32),
    params: &MineParams,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    let mut stack: Vec<(u32, Vec<Step>, Vec<u32>)> = vec![(x, Vec::new(), vec![x])];
    while let Some((at, path, seen)) = stack.pop() {
        if path.len() == params.max_length {
            continue;
        }
        for (step, to) in some_neighbours(graph, at, params.branching, rng) {
            let edge = if step.inverse {
                (to, step.relation, at)
            } else {
                (at, step.relation, to)
            };
            if edge == triple {
                continue;
            }
            let mut p = path.clone();
            p.push(step);
            if to == y {
                out.push(p);
                if out.len() >= MAX_PATHS_PER_TRIPLE {
                    return out;
                }
            } else if !seen.contains(&to) {
                let mut s = seen.clone();
                s.push(to);
                stack.push((to, p, s));
            }
        }
    }
    out
}

/// A cyclic body walked from its end: the steps reversed, each inverted.
pub fn reversed(path: &[Step]) -> Vec<Step> {
    path.iter()
        .rev()
        .map(|s| Step {
            relation: s.relation,
            inverse: !s.inverse,
        })
        .collect()
}

/// The entities a cyclic body reaches from `from`.
fn walk(graph: &TripleIndex, from: u32, path: &[Step]) -> HashSet<u32> {
    let mut frontier: HashSet<u32> = HashSet::from([from]);
    for &s in path {
        let mut next = HashSet::new();
        for &e in &frontier {
            next.extend(graph.step(e, s.relation, s.inverse));
        }
        frontier = next;
        if frontier.is_empty() {
            break;
        }
    }
    frontier
}

/// Candidates scored between two looks at the clock.
const SCORE_CHUNK: usize = 256;
/// Start entities a cyclic body is walked from at most: beyond, a seeded
/// sample, its counts scaled up (small graphs are scored exactly).
const SCORE_SAMPLE: usize = 1000;
/// Body groundings counted per rule at most: beyond, the counts so far are
/// extrapolated over the start entities not walked (the sample is in
/// random order, so the ones walked are a sample too).
const MAX_SCORED_GROUNDINGS: usize = 100_000;

/// Scores the candidates in parallel, the most often sampled of each
/// relation first and every relation in turn, until the time budget runs
/// out (what is left unscored is dropped); returns the rules of each
/// relation and how many candidates were scored. On a large graph an
/// exhaustive count is what makes mining unbounded: every candidate
/// walked from every entity.
fn score_all(
    graph: &TripleIndex,
    ranked: &[(u32, Vec<Body>)],
    params: &MineParams,
) -> (Vec<Vec<Rule>>, usize) {
    use rayon::prelude::*;
    let deadline = Instant::now() + params.time_budget;
    let starts = StartSample::new(graph, params.seed);
    // (rank, relation) order: a budget that runs out has scored the best
    // candidates of every relation, not all of the first relations'.
    let mut work: Vec<(usize, usize, u32, &Body)> = ranked
        .iter()
        .enumerate()
        .flat_map(|(i, (head, bodies))| {
            bodies
                .iter()
                .enumerate()
                .map(move |(rank, b)| (rank, i, *head, b))
        })
        .collect();
    work.sort_by_key(|&(rank, i, _, _)| (rank, i));
    let mut scored: Vec<Vec<Rule>> = vec![Vec::new(); ranked.len()];
    let mut count = 0;
    for chunk in work.chunks(SCORE_CHUNK) {
        if Instant::now() >= deadline {
            break;
        }
        let results: Vec<(usize, Option<Rule>)> = chunk
            .par_iter()
            .map(|&(_, i, head, body)| (i, score(graph, head, body.clone(), &starts)))
            .collect();
        count += chunk.len();
        for (i, rule) in results {
            if let Some(slot) = scored.get_mut(i) {
                slot.extend(rule);
            }
        }
    }
    (scored, count)
}

/// The entities a first step can be walked from, a seeded sample of them
/// where there are more than [`SCORE_SAMPLE`].
struct StartSample {
    /// By `(relation, inverse)`: the sample, and how many there are in all.
    by_step: HashMap<Step, (Vec<u32>, usize)>,
    /// By `(relation, inverse)`: all of them, in order.
    all: HashMap<Step, Vec<u32>>,
}

impl StartSample {
    fn new(graph: &TripleIndex, seed: u64) -> StartSample {
        let mut all: BTreeMap<Step, Vec<u32>> = BTreeMap::new();
        for (e, edges) in graph.out.iter().enumerate() {
            for (relation, inverse) in edges.iter().map(|&(r, _)| (r, false)).chain(
                graph
                    .inn
                    .get(e)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|&(r, _)| (r, true)),
            ) {
                let list = all.entry(Step { relation, inverse }).or_default();
                if list.last() != Some(&(e as u32)) {
                    list.push(e as u32);
                }
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5c0e);
        let by_step = all
            .iter()
            .map(|(&step, list)| {
                let mut list = list.clone();
                let total = list.len();
                if total > SCORE_SAMPLE {
                    list.shuffle(&mut rng);
                    list.truncate(SCORE_SAMPLE);
                }
                (step, (list, total))
            })
            .collect();
        StartSample {
            by_step,
            all: all.into_iter().collect(),
        }
    }
}

/// A rule's support and body groundings: exact on graphs up to
/// [`SCORE_SAMPLE`] start entities, estimated beyond.
fn score(graph: &TripleIndex, head: u32, body: Body, starts: &StartSample) -> Option<Rule> {
    let (support, groundings, sampled_support) = match &body {
        Body::Cyclic(path) => {
            let (sample, total) = path
                .first()
                .and_then(|s| starts.by_step.get(s))
                .map(|(l, t)| (l.as_slice(), *t))
                .unwrap_or_default();
            let mut support = 0;
            let mut groundings = 0;
            let mut walked = 0;
            for &x in sample {
                for y in walk(graph, x, path) {
                    groundings += 1;
                    support += usize::from(graph.contains(x, head, y));
                }
                walked += 1;
                if groundings > MAX_SCORED_GROUNDINGS {
                    break;
                }
            }
            let scale = if walked == 0 {
                0.0
            } else {
                total as f64 / walked as f64
            };
            let estimate = |n: usize| (n as f64 * scale).round() as usize;
            (estimate(support), estimate(groundings), support)
        }
        Body::Constant {
            constant,
            head_side,
            step,
            other,
        } => {
            // The entities the body holds for: those one step back from
            // `other`, or every start of the step.
            let holding: Vec<u32> = match other {
                Some(o) => {
                    let mut v: Vec<u32> = graph.step(*o, step.relation, !step.inverse).collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                }
                None => starts.all.get(step).cloned().unwrap_or_default(),
            };
            let groundings = holding.len();
            let support = holding
                .iter()
                .filter(|&&v| {
                    if *head_side {
                        graph.contains(*constant, head, v)
                    } else {
                        graph.contains(v, head, *constant)
                    }
                })
                .count();
            (support, groundings, support)
        }
    };
    if sampled_support < MIN_SUPPORT {
        return None;
    }
    let confidence = support as f64 / (groundings as f64 + UNSEEN_HEADS);
    (confidence >= MIN_CONFIDENCE).then_some(Rule {
        head,
        body,
        support,
        groundings,
        confidence,
        weight: confidence,
    })
}

/// Rules applied once to a graph.
pub struct RuleSet {
    /// The rules, best first.
    pub rules: Vec<Rule>,
    /// The graph they are applied to.
    pub graph: TripleIndex,
    /// How the rules that fire combine.
    pub aggregate: Aggregate,
    grounder: Grounder,
}

/// Why a candidate is predicted: the best rule that fires, and one path.
#[derive(Clone, Debug, PartialEq)]
pub struct Support {
    /// Index of the rule in [`RuleSet::rules`].
    pub rule: usize,
    /// The entities the body passes through, from the anchor's side.
    pub path: Vec<u32>,
}

impl RuleSet {
    /// Indexes rules for application to `graph`, combined by `max`.
    pub fn new(rules: Vec<Rule>, graph: TripleIndex) -> RuleSet {
        let grounder = Grounder::new(&rules);
        RuleSet {
            rules,
            graph,
            aggregate: Aggregate::Max,
            grounder,
        }
    }

    /// The same rules combined by `aggregate`.
    pub fn with_aggregate(mut self, aggregate: Aggregate) -> RuleSet {
        self.aggregate = aggregate;
        self
    }

    /// Per candidate: its score under [`RuleSet::aggregate`] and the rule
    /// that contributes most to it.
    pub fn predict(
        &self,
        anchor: u32,
        relation: u32,
        direction: Direction,
    ) -> Vec<(u32, f64, usize)> {
        let mut found = Vec::new();
        self.grounder
            .ground(&self.graph, anchor, relation, direction, None, &mut found);
        combine(self.aggregate, &found, |r| {
            self.rules.get(r as usize).map_or(0.0, |r| r.weight)
        })
    }

    /// One path by which rule `rule` connects `anchor` to `candidate`.
    pub fn path(&self, rule: usize, anchor: u32, candidate: u32, direction: Direction) -> Vec<u32> {
        let Some(Rule {
            body: Body::Cyclic(path),
            ..
        }) = self.rules.get(rule)
        else {
            return vec![anchor, candidate];
        };
        let steps: Vec<Step> = match direction {
            Direction::Tail => path.clone(),
            Direction::Head => reversed(path),
        };
        // Depth-first search for one instance.
        fn search(g: &TripleIndex, at: u32, steps: &[Step], goal: u32, out: &mut Vec<u32>) -> bool {
            let Some((s, rest)) = steps.split_first() else {
                return at == goal;
            };
            for next in g.step(at, s.relation, s.inverse) {
                out.push(next);
                if search(g, next, rest, goal, out) {
                    return true;
                }
                out.pop();
            }
            false
        }
        let mut out = vec![anchor];
        if search(&self.graph, anchor, &steps, candidate, &mut out) {
            out
        } else {
            vec![anchor, candidate]
        }
    }

    /// A mined rule in nesy's syntax, with names from the vocabulary.
    pub fn rule_text(rule: &Rule, vocab: &Vocab) -> String {
        let rel =
            |r: u32| relation_name(vocab.relations.get(r as usize).map_or("?", String::as_str));
        let ent =
            |e: u32| string_literal(vocab.entities.get(e as usize).map_or("?", String::as_str));
        let atom = |s: &Step, a: &str, b: &str| {
            if s.inverse {
                format!("{}({b}, {a})", rel(s.relation))
            } else {
                format!("{}({a}, {b})", rel(s.relation))
            }
        };
        match &rule.body {
            Body::Cyclic(path) => {
                let vars: Vec<String> = (0..=path.len())
                    .map(|i| match i {
                        0 => "X".to_string(),
                        i if i == path.len() => "Y".to_string(),
                        i => ["A", "B", "C", "D", "E"]
                            .get(i - 1)
                            .map_or(format!("V{i}"), |v| v.to_string()),
                    })
                    .collect();
                let body: Vec<String> = path
                    .iter()
                    .zip(vars.windows(2))
                    .map(|(s, w)| match w {
                        [a, b] => atom(s, a, b),
                        _ => String::new(),
                    })
                    .collect();
                format!("{}(X, Y) :- {}", rel(rule.head), body.join(", "))
            }
            Body::Constant {
                constant,
                head_side,
                step,
                other,
            } => {
                let (v, c) = if *head_side {
                    ("Y", ent(*constant))
                } else {
                    ("X", ent(*constant))
                };
                let head = if *head_side {
                    format!("{}({c}, {v})", rel(rule.head))
                } else {
                    format!("{}({v}, {c})", rel(rule.head))
                };
                let o = other.map_or("_".to_string(), ent);
                format!("{head} :- {}", atom(step, v, &o))
            }
        }
    }
}

/// Per candidate of one query's groundings: its score under `aggregate`
/// with rule `i` weighing `weight(i)`, and the rule contributing most.
pub fn combine(
    aggregate: Aggregate,
    groundings: &[Grounding],
    weight: impl Fn(u32) -> f64,
) -> Vec<(u32, f64, usize)> {
    // candidate -> (accumulated, best contribution, its rule, log of misses)
    let mut found: BTreeMap<u32, (f64, f64, u32, f64)> = BTreeMap::new();
    for g in groundings {
        let w = weight(g.rule).clamp(0.0, 1.0);
        let entry = found
            .entry(g.candidate)
            .or_insert((0.0, f64::MIN, g.rule, 0.0));
        let contribution = match aggregate {
            Aggregate::Max => {
                entry.0 = entry.0.max(w);
                entry.3 += (1.0 - w).ln();
                w
            }
            Aggregate::NoisyOr => {
                entry.3 += g.count * (1.0 - w).ln();
                1.0 - (1.0 - w).powf(g.count)
            }
            Aggregate::Sum => {
                entry.0 += w * g.count;
                w * g.count
            }
        };
        if contribution > entry.1 || (contribution == entry.1 && g.rule < entry.2) {
            entry.1 = contribution;
            entry.2 = g.rule;
        }
    }
    found
        .into_iter()
        .map(|(c, (acc, _, rule, log_miss))| {
            let score = match aggregate {
                Aggregate::Max => acc + 1e-3 * (1.0 - log_miss.exp()),
                Aggregate::NoisyOr => -log_miss.exp_m1(),
                Aggregate::Sum => acc,
            };
            (c, score, rule as usize)
        })
        .collect()
}

impl LinkScorer for RuleSet {
    fn scores(&self, anchor: u32, relation: u32, direction: Direction) -> Vec<f64> {
        let mut out = vec![0.0; self.graph.entities];
        for (c, s, _) in self.predict(anchor, relation, direction) {
            if let Some(slot) = out.get_mut(c as usize) {
                *slot = s;
            }
        }
        out
    }
}

/// A relation name as a nesy identifier: lowercase letters, digits, `_`.
pub fn relation_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        s = format!("r_{s}");
    }
    s
}

fn string_literal(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The mined rules as a nesy rule file: the training graph imported as
/// `kg(head, relation, tail)` strings, one rule per relation making it a
/// binary relation, then the weighted mined rules (weight = confidence) with
/// their statistics.
pub fn to_nesy(rules: &[Rule], vocab: &Vocab, train_import: &str, source: &str) -> String {
    let header = format!(
        "// Rules mined by `nesy train rules` from {source}: {} rules.
// Each rule's weight is its confidence on the training graph,
// support / (body groundings + 5). Run with a semiring (`--semiring
// max-prob`) to rank predictions; `nesy eval link --rules` applies them
// to the training graph once, scoring a candidate by the best weight
// among the rules that predict it.
",
        rules.len()
    );
    write_file(
        &header,
        Aggregate::Max,
        rules,
        vocab,
        train_import,
        |rule| {
            format!(
                "support {}, body groundings {}, confidence {:.4}",
                rule.support, rule.groundings, rule.confidence
            )
        },
    )
}

/// Learned rules ([`super::learn`]) as a nesy rule file, laid out as
/// [`to_nesy`]'s with the aggregate the weights were learned for, and for
/// `noisy-or` each relation's bias (what no rule explains) as a comment.
pub fn to_nesy_learned(
    rules: &[Rule],
    vocab: &Vocab,
    train_import: &str,
    summary: &str,
    aggregate: Aggregate,
    bias: &[f64],
) -> String {
    use std::fmt::Write;
    let how = match aggregate {
        Aggregate::NoisyOr => {
            "a candidate's score is 1 - the product of (1 - weight) over every\n\
             // body instance of every rule predicting it: ProbLog's probability,\n\
             // what the engine's exact semirings compute (`--semiring top-k`)"
        }
        Aggregate::Max => {
            "a candidate's score is the best weight among the rules predicting\n\
             // it (`--semiring max-prob`), ties broken by their noisy-or"
        }
        Aggregate::Sum => {
            "a candidate's score is the sum of weight x body instances over the\n\
             // rules predicting it (`--semiring add-mult`, exact below 1)"
        }
    };
    let mut header = format!(
        "// Rules with weights learned by `nesy train rules --learn-weights`: {} rules.\n// {summary}\n// The weights were learned for this aggregate (the line below is read\n// by `nesy eval link` and `nesy predict link`): {how}.\n",
        rules.len()
    );
    if aggregate == Aggregate::NoisyOr {
        header.push_str("// Per relation, the bias the rules were learned beside (the chance of\n// a link no rule explains; not used in ranking):\n");
        for (name, b) in vocab.relations.iter().zip(bias) {
            let _ = writeln!(header, "//   bias {}: {b:.6}", relation_name(name));
        }
    }
    write_file(&header, aggregate, rules, vocab, train_import, |rule| {
        if rule.support > 0 || rule.groundings > 0 {
            format!(
                "learned weight {:.4}; mined with support {}, body groundings {}, confidence {:.4}",
                rule.weight, rule.support, rule.groundings, rule.confidence
            )
        } else {
            format!(
                "learned weight {:.4}; from the candidate file at weight {:.4}",
                rule.weight, rule.confidence
            )
        }
    })
}

fn write_file(
    header: &str,
    aggregate: Aggregate,
    rules: &[Rule],
    vocab: &Vocab,
    train_import: &str,
    comment: impl Fn(&Rule) -> String,
) -> String {
    use std::fmt::Write;
    let mut out = header.to_string();
    let _ = writeln!(out, "// aggregate: {}\n", aggregate.name());
    let _ = writeln!(out, "@import kg from \"{train_import}\".");
    let _ = writeln!(
        out,
        "@decl kg(head: string, relation: string, tail: string).\n"
    );
    for r in &vocab.relations {
        let _ = writeln!(
            out,
            "{}(X, Y) :- kg(X, {}, Y).",
            relation_name(r),
            string_literal(r)
        );
    }
    for rule in rules {
        let _ = writeln!(out);
        let _ = writeln!(out, "// {}", comment(rule));
        let _ = writeln!(
            out,
            "{:?} :: {}.",
            rule.weight,
            RuleSet::rule_text(rule, vocab)
        );
    }
    out
}

/// Reads weighted path rules back from a nesy rule file (as [`to_nesy`]
/// writes them, or edited by hand): every weighted clause whose head and
/// body atoms are relations of the vocabulary, in one of the mined shapes.
/// Other clauses are skipped; the number skipped is returned too.
pub fn from_nesy(text: &str, vocab: &Vocab) -> Result<(Vec<Rule>, usize), String> {
    read_rules(text, vocab, None)
}

/// Candidate rules for learning ([`super::learn`]): as [`from_nesy`], and
/// unweighted path rules too, starting at weight 0.5.
pub fn candidates_from_nesy(text: &str, vocab: &Vocab) -> Result<(Vec<Rule>, usize), String> {
    read_rules(text, vocab, Some(0.5))
}

/// Errors are `LINE:COLUMN: message`.
fn read_rules(
    text: &str,
    vocab: &Vocab,
    unweighted: Option<f64>,
) -> Result<(Vec<Rule>, usize), String> {
    use nesy_lang::ast::{ConstValue, Expr, Item, Literal};
    let parsed = nesy_lang::parse(text);
    if let Some(d) = parsed
        .diagnostics
        .iter()
        .find(|d| d.severity == nesy_lang::Severity::Error)
    {
        let before = text.get(..d.span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        return Err(format!("{line}:{column}: {}", d.message));
    }
    let names: HashMap<String, u32> = vocab
        .relations
        .iter()
        .enumerate()
        .map(|(i, r)| (relation_name(r), i as u32))
        .collect();
    #[derive(Clone, PartialEq)]
    enum Term {
        Var(String),
        Any,
        Entity(u32),
    }
    let term = |e: &Expr| -> Option<Term> {
        match e {
            Expr::Var(v) if v.is_anonymous() => Some(Term::Any),
            Expr::Var(v) => Some(Term::Var(v.name.clone())),
            Expr::Const(c) => match &c.value {
                ConstValue::String(s) | ConstValue::Symbol(s) => vocab.entity(s).map(Term::Entity),
                _ => None,
            },
            _ => None,
        }
    };
    let mut rules = Vec::new();
    let mut skipped = 0;
    for item in &parsed.program.items {
        let Item::Clause(clause) = item else { continue };
        let Some(weight) = clause.probability.as_ref().map(|p| p.value).or(unweighted) else {
            continue;
        };
        let parsed_rule = (|| -> Option<Rule> {
            let head = *names.get(&clause.head.relation.text)?;
            let [a, b] = clause.head.args.as_slice() else {
                return None;
            };
            let (a, b) = (term(a)?, term(b)?);
            let mut atoms = Vec::new();
            for lit in &clause.body {
                let Literal::Atom(atom) = lit else {
                    return None;
                };
                let r = *names.get(&atom.relation.text)?;
                let [x, y] = atom.args.as_slice() else {
                    return None;
                };
                atoms.push((r, term(x)?, term(y)?));
            }
            let body = match (&a, &b) {
                (Term::Var(x), Term::Var(y)) => {
                    let mut at = x.clone();
                    let mut path = Vec::new();
                    for (r, s, o) in &atoms {
                        match (s, o) {
                            (Term::Var(s), Term::Var(o)) if *s == at => {
                                path.push(Step {
                                    relation: *r,
                                    inverse: false,
                                });
                                at = o.clone();
                            }
                            (Term::Var(s), Term::Var(o)) if *o == at => {
                                path.push(Step {
                                    relation: *r,
                                    inverse: true,
                                });
                                at = s.clone();
                            }
                            _ => return None,
                        }
                    }
                    if at != *y || path.is_empty() {
                        return None;
                    }
                    Body::Cyclic(path)
                }
                (var, constant) | (constant, var) if matches!(var, Term::Var(_)) => {
                    let Term::Entity(c) = constant else {
                        return None;
                    };
                    let head_side = matches!(a, Term::Entity(_));
                    let [(r, s, o)] = atoms.as_slice() else {
                        return None;
                    };
                    let (step, other) = if s == var {
                        (
                            Step {
                                relation: *r,
                                inverse: false,
                            },
                            o,
                        )
                    } else if o == var {
                        (
                            Step {
                                relation: *r,
                                inverse: true,
                            },
                            s,
                        )
                    } else {
                        return None;
                    };
                    let other = match other {
                        Term::Entity(e) => Some(*e),
                        Term::Any => None,
                        Term::Var(_) => return None,
                    };
                    Body::Constant {
                        constant: *c,
                        head_side,
                        step,
                        other,
                    }
                }
                _ => return None,
            };
            Some(Rule {
                head,
                body,
                support: 0,
                groundings: 0,
                confidence: weight,
                weight,
            })
        })();
        match parsed_rule {
            Some(r) => rules.push(r),
            None => skipped += 1,
        }
    }
    Ok((rules, skipped))
}
