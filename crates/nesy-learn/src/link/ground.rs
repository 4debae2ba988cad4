//! Rule groundings: for a query `(anchor, r, ?)` (or `(?, r, anchor)`),
//! which candidates each rule for `r` reaches and through how many body
//! instances.
//!
//! ```
//! use nesy_learn::link::ground::Grounder;
//! use nesy_learn::link::rules::{Body, Rule, Step};
//! use nesy_learn::link::{Direction, TripleIndex, Vocab};
//!
//! let vocab = Vocab {
//!     entities: vec!["a".into(), "b".into(), "c".into()],
//!     relations: vec!["p".into(), "r".into()],
//! };
//! // p(a, b), p(b, c), p(a, c)
//! let graph = TripleIndex::new(&vocab, vec![(0, 0, 1), (1, 0, 2), (0, 0, 2)]);
//! let step = Step { relation: 0, inverse: false };
//! // r(X, Y) :- p(X, A), p(A, Y).
//! let rule = Rule { head: 1, body: Body::Cyclic(vec![step, step]), support: 0, groundings: 0, confidence: 0.5, weight: 0.5 };
//! let grounder = Grounder::new(&[rule]);
//! let mut out = Vec::new();
//! grounder.ground(&graph, 0, 1, Direction::Tail, None, &mut out);
//! // From a, the body reaches c once (through b).
//! assert_eq!(out.len(), 1);
//! assert_eq!((out[0].candidate, out[0].rule, out[0].count), (2, 0, 1.0));
//! ```
//!
//! The count is the number of bindings of the body's variables (paths, with
//! repeated entities allowed, as the engine binds them); a rule with a
//! constant counts 1 when its body holds. One query walks every rule for
//! its relation through a trie of their paths, so rules sharing a prefix
//! share the walk. With `exclude`, that triple is treated as absent: a
//! training triple's own features must not see the triple itself, or every
//! rule containing its relation would predict it for free.

use super::eval::Direction;
use super::graph::{Triple, TripleIndex};
use super::rules::{Body, Rule, Step, reversed};
use std::collections::HashMap;

/// One rule reaching one candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grounding {
    /// The candidate entity.
    pub candidate: u32,
    /// Index of the rule in the slice the grounder was built from.
    pub rule: u32,
    /// Body instances connecting the anchor to the candidate.
    pub count: f64,
}

#[derive(Clone, Debug, Default)]
struct Node {
    step: Option<Step>,
    children: Vec<usize>,
    /// Cyclic rules whose path ends here.
    rules: Vec<u32>,
}

#[derive(Clone, Debug)]
struct Trie {
    nodes: Vec<Node>,
}

impl Trie {
    fn new() -> Trie {
        Trie {
            nodes: vec![Node::default()],
        }
    }

    fn insert(&mut self, path: &[Step], rule: u32) {
        let mut at = 0;
        for &step in path {
            let found = self.nodes.get(at).and_then(|n| {
                n.children
                    .iter()
                    .copied()
                    .find(|&c| self.nodes.get(c).and_then(|c| c.step) == Some(step))
            });
            at = match found {
                Some(c) => c,
                None => {
                    let id = self.nodes.len();
                    self.nodes.push(Node {
                        step: Some(step),
                        ..Node::default()
                    });
                    if let Some(n) = self.nodes.get_mut(at) {
                        n.children.push(id);
                    }
                    id
                }
            };
        }
        if let Some(n) = self.nodes.get_mut(at) {
            n.rules.push(rule);
        }
    }
}

#[derive(Clone, Debug)]
struct ForHead {
    tail: Trie,
    head: Trie,
    /// Rules with a constant: (rule, constant, head_side, step, other).
    constants: Vec<(u32, u32, bool, Step, Option<u32>)>,
}

/// The rules of a rule set, indexed for grounding queries.
#[derive(Clone, Debug)]
pub struct Grounder {
    by_head: HashMap<u32, ForHead>,
}

impl Grounder {
    /// Indexes `rules` by head relation; [`Grounding::rule`] indexes `rules`.
    pub fn new(rules: &[Rule]) -> Grounder {
        let mut by_head: HashMap<u32, ForHead> = HashMap::new();
        for (i, rule) in rules.iter().enumerate() {
            let entry = by_head.entry(rule.head).or_insert_with(|| ForHead {
                tail: Trie::new(),
                head: Trie::new(),
                constants: Vec::new(),
            });
            match &rule.body {
                Body::Cyclic(path) => {
                    entry.tail.insert(path, i as u32);
                    entry.head.insert(&reversed(path), i as u32);
                }
                Body::Constant {
                    constant,
                    head_side,
                    step,
                    other,
                } => entry
                    .constants
                    .push((i as u32, *constant, *head_side, *step, *other)),
            }
        }
        Grounder { by_head }
    }

    /// Appends to `out` every (candidate, rule, count) for the query;
    /// `exclude` is a triple treated as absent from `graph`.
    pub fn ground(
        &self,
        graph: &TripleIndex,
        anchor: u32,
        relation: u32,
        direction: Direction,
        exclude: Option<Triple>,
        out: &mut Vec<Grounding>,
    ) {
        let Some(for_head) = self.by_head.get(&relation) else {
            return;
        };
        let trie = match direction {
            Direction::Tail => &for_head.tail,
            Direction::Head => &for_head.head,
        };
        let mut walker = Walker {
            graph,
            exclude,
            scratch: vec![0.0; graph.entities],
            touched: Vec::new(),
        };
        walker.descend(trie, 0, &[(anchor, 1.0)], out);
        for &(rule, constant, head_side, step, other) in &for_head.constants {
            // r(X, c) answers tail queries, r(c, Y) head queries; asked the
            // other way the rule names no candidate.
            let applies = matches!(
                (head_side, direction),
                (false, Direction::Tail) | (true, Direction::Head)
            );
            if !applies {
                continue;
            }
            let holds = graph
                .step(anchor, step.relation, step.inverse)
                .filter(|&x| Some(edge(anchor, step, x)) != exclude)
                .any(|x| other.is_none_or(|o| o == x));
            if holds {
                out.push(Grounding {
                    candidate: constant,
                    rule,
                    count: 1.0,
                });
            }
        }
    }
}

/// The triple walked when stepping from `at` to `to`.
fn edge(at: u32, step: Step, to: u32) -> Triple {
    if step.inverse {
        (to, step.relation, at)
    } else {
        (at, step.relation, to)
    }
}

struct Walker<'a> {
    graph: &'a TripleIndex,
    exclude: Option<Triple>,
    /// Path counts per entity for the step being taken (a sparse
    /// accumulator: only `touched` entries are non-zero).
    scratch: Vec<f64>,
    touched: Vec<u32>,
}

impl Walker<'_> {
    fn descend(
        &mut self,
        trie: &Trie,
        node: usize,
        frontier: &[(u32, f64)],
        out: &mut Vec<Grounding>,
    ) {
        let Some(n) = trie.nodes.get(node) else {
            return;
        };
        for &rule in &n.rules {
            out.extend(frontier.iter().map(|&(candidate, count)| Grounding {
                candidate,
                rule,
                count,
            }));
        }
        for &child in &n.children {
            let Some(step) = trie.nodes.get(child).and_then(|c| c.step) else {
                continue;
            };
            let next = self.step(frontier, step);
            if !next.is_empty() {
                self.descend(trie, child, &next, out);
            }
        }
    }

    fn step(&mut self, frontier: &[(u32, f64)], step: Step) -> Vec<(u32, f64)> {
        for &(at, count) in frontier {
            for to in self.graph.step(at, step.relation, step.inverse) {
                if self.exclude == Some(edge(at, step, to)) {
                    continue;
                }
                if let Some(slot) = self.scratch.get_mut(to as usize) {
                    if *slot == 0.0 {
                        self.touched.push(to);
                    }
                    *slot += count;
                }
            }
        }
        self.touched.sort_unstable();
        let mut next = Vec::with_capacity(self.touched.len());
        for &e in &self.touched {
            if let Some(slot) = self.scratch.get_mut(e as usize) {
                next.push((e, *slot));
                *slot = 0.0;
            }
        }
        self.touched.clear();
        next
    }
}
