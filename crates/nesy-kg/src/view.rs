//! A petgraph view of triples: entities as nodes, relations as labelled
//! edges, for graph algorithms and drawings.
//!
//! ```
//! use nesy_kg::{Graph, GraphView};
//! use nesy_engine::Value;
//!
//! let graph = Graph::in_memory()?;
//! graph.load_str("@prefix e: <http://e/> . e:a e:knows e:b . e:b e:knows e:c . e:d e:likes e:c .", "ttl")?;
//! let view = GraphView::from_graph(&graph)?;
//! let path = view.shortest_path(&Value::iri("http://e/a"), &Value::iri("http://e/d")).unwrap();
//! assert_eq!(path.len(), 3); // a knows b, b knows c, d likes c (walked backwards)
//! assert_eq!(view.components(), 1);
//! # Ok::<(), nesy_kg::KgError>(())
//! ```

use crate::{Graph, KgError};
use nesy_engine::Value;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt::Write;

/// Entities and the labelled edges between them.
pub struct GraphView {
    graph: DiGraph<Value, String>,
    nodes: HashMap<Value, NodeIndex>,
}

/// One step of a path: `from --label--> to`, and whether it was walked
/// against the edge's direction.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Where the step starts.
    pub from: Value,
    /// The relation (predicate IRI or relation name).
    pub label: String,
    /// Where it ends.
    pub to: Value,
    /// Walked from the edge's object to its subject.
    pub backwards: bool,
}

/// Which triples of a store become edges of a view. The default is what
/// people mean by the graph of their data: no literals (a path through
/// the number `1` joins everything that has a 1) and no `rdf:type` edges
/// (nor through a class, which joins all its members).
///
/// ```
/// use nesy_kg::{EdgeFilter, Graph, GraphView};
/// let graph = Graph::in_memory()?;
/// graph.load_str("@prefix e: <http://e/> . e:a e:age 1 . e:b e:age 1 . e:a a e:P . e:b a e:P .", "ttl")?;
/// let view = GraphView::from_graph_filtered(&graph, &EdgeFilter::default())?;
/// assert_eq!(view.edge_count(), 0);
/// let all = GraphView::from_graph_filtered(&graph, &EdgeFilter::everything())?;
/// assert_eq!(all.edge_count(), 4);
/// # Ok::<(), nesy_kg::KgError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EdgeFilter {
    /// Keep triples whose object is a literal.
    pub literals: bool,
    /// Keep `rdf:type` triples.
    pub types: bool,
    /// Keep only these predicates (full IRIs), when any are given.
    pub only: Vec<String>,
    /// Drop these predicates (full IRIs).
    pub exclude: Vec<String>,
}

impl EdgeFilter {
    /// Every triple.
    pub fn everything() -> Self {
        EdgeFilter {
            literals: true,
            types: true,
            ..EdgeFilter::default()
        }
    }

    /// Whether the triple `subject predicate object` is an edge.
    pub fn keeps(&self, predicate: &str, object: &Value) -> bool {
        let entity = match object {
            Value::Iri(_) => true,
            Value::Symbol(s) => s.starts_with("_:"),
            _ => false,
        };
        (self.literals || entity)
            && (self.types || predicate != RDF_TYPE)
            && (self.only.is_empty() || self.only.iter().any(|p| p == predicate))
            && !self.exclude.iter().any(|p| p == predicate)
    }
}

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

impl GraphView {
    /// Every triple of the store as an edge (literal objects are nodes too).
    pub fn from_graph(graph: &Graph) -> Result<Self, KgError> {
        Self::from_graph_filtered(graph, &EdgeFilter::everything())
    }

    /// The triples of the store that `filter` keeps, as edges.
    pub fn from_graph_filtered(graph: &Graph, filter: &EdgeFilter) -> Result<Self, KgError> {
        Ok(Self::from_edges(
            graph
                .facts()?
                .into_iter()
                .filter(|(p, _, o)| filter.keeps(p, o)),
        ))
    }

    /// Edges `(label, subject, object)`, from triples or from any binary
    /// relations.
    pub fn from_edges(edges: impl Iterator<Item = (String, Value, Value)>) -> Self {
        let mut view = GraphView {
            graph: DiGraph::new(),
            nodes: HashMap::new(),
        };
        for (label, s, o) in edges {
            let a = view.node(s);
            let b = view.node(o);
            view.graph.add_edge(a, b, label);
        }
        view
    }

    fn node(&mut self, v: Value) -> NodeIndex {
        if let Some(&n) = self.nodes.get(&v) {
            return n;
        }
        let n = self.graph.add_node(v.clone());
        self.nodes.insert(v, n);
        n
    }

    /// Number of entities.
    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The entity a name stands for: an exact IRI (with or without `<>`),
    /// or the one IRI ending in `#name` or `/name`.
    pub fn find(&self, name: &str) -> Option<Value> {
        let bare = name.trim().trim_start_matches('<').trim_end_matches('>');
        let exact = Value::iri(bare);
        if self.nodes.contains_key(&exact) {
            return Some(exact);
        }
        let symbol = Value::symbol(bare);
        if self.nodes.contains_key(&symbol) {
            return Some(symbol);
        }
        let mut found = self.nodes.keys().filter(|v| match v {
            Value::Iri(i) => i.ends_with(&format!("#{bare}")) || i.ends_with(&format!("/{bare}")),
            _ => false,
        });
        let first = found.next()?.clone();
        found.next().is_none().then_some(first)
    }

    /// The edges within `depth` steps of `entity` (either direction).
    pub fn neighbourhood(&self, entity: &Value, depth: usize) -> Vec<(Value, String, Value)> {
        let Some(&start) = self.nodes.get(entity) else {
            return Vec::new();
        };
        let mut seen = BTreeSet::from([start]);
        let mut frontier = vec![start];
        let mut edges = BTreeSet::new();
        for _ in 0..depth {
            let mut next = Vec::new();
            for n in frontier {
                for e in self
                    .graph
                    .edges_directed(n, petgraph::Direction::Outgoing)
                    .chain(self.graph.edges_directed(n, petgraph::Direction::Incoming))
                {
                    edges.insert(e.id());
                    for m in [e.source(), e.target()] {
                        if seen.insert(m) {
                            next.push(m);
                        }
                    }
                }
            }
            frontier = next;
        }
        edges
            .into_iter()
            .filter_map(|e| {
                let (a, b) = self.graph.edge_endpoints(e)?;
                Some((
                    self.graph[a].clone(),
                    self.graph[e].clone(),
                    self.graph[b].clone(),
                ))
            })
            .collect()
    }

    /// The fewest steps from `a` to `b`, edges walked either way.
    pub fn shortest_path(&self, a: &Value, b: &Value) -> Option<Vec<Step>> {
        let (&start, &goal) = (self.nodes.get(a)?, self.nodes.get(b)?);
        let mut previous: HashMap<NodeIndex, (NodeIndex, petgraph::graph::EdgeIndex, bool)> =
            HashMap::new();
        let mut queue = VecDeque::from([start]);
        let mut seen = BTreeSet::from([start]);
        while let Some(n) = queue.pop_front() {
            if n == goal {
                break;
            }
            let out = self
                .graph
                .edges_directed(n, petgraph::Direction::Outgoing)
                .map(|e| (e.target(), e.id(), false));
            let inc = self
                .graph
                .edges_directed(n, petgraph::Direction::Incoming)
                .map(|e| (e.source(), e.id(), true));
            for (m, e, backwards) in out.chain(inc) {
                if seen.insert(m) {
                    previous.insert(m, (n, e, backwards));
                    queue.push_back(m);
                }
            }
        }
        if start != goal && !previous.contains_key(&goal) {
            return None;
        }
        let mut steps = Vec::new();
        let mut at = goal;
        while let Some(&(from, e, backwards)) = previous.get(&at) {
            steps.push(Step {
                from: self.graph.node_weight(from)?.clone(),
                label: self.graph.edge_weight(e)?.clone(),
                to: self.graph.node_weight(at)?.clone(),
                backwards,
            });
            at = from;
        }
        steps.reverse();
        Some(steps)
    }

    /// Weakly connected components.
    pub fn components(&self) -> usize {
        petgraph::algo::connected_components(&self.graph)
    }

    /// A random walk of up to `length` steps along edges' directions,
    /// reproducible from `seed`.
    pub fn random_walk(&self, start: &Value, length: usize, seed: u64) -> Vec<Value> {
        let Some(&mut_start) = self.nodes.get(start) else {
            return Vec::new();
        };
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut at = mut_start;
        let mut walk = vec![start.clone()];
        for _ in 0..length {
            let out: Vec<NodeIndex> = self
                .graph
                .neighbors_directed(at, petgraph::Direction::Outgoing)
                .collect();
            if out.is_empty() {
                break;
            }
            let pick = (next() % out.len() as u64) as usize;
            let Some(&n) = out.get(pick) else { break };
            at = n;
            if let Some(v) = self.graph.node_weight(n) {
                walk.push(v.clone());
            }
        }
        walk
    }
}

/// Edges as a Graphviz drawing, labels shortened to their local names.
pub fn edges_to_dot(edges: &[(Value, String, Value)], focus: Option<&Value>) -> String {
    let short = |s: &str| s.rsplit(['#', '/']).next().unwrap_or(s).to_string();
    let name = |v: &Value| match v {
        Value::Iri(i) => short(i),
        other => other.to_string(),
    };
    let mut ids: HashMap<&Value, usize> = HashMap::new();
    let mut out = String::from(
        "digraph neighbourhood {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n",
    );
    for (s, _, o) in edges {
        for v in [s, o] {
            let next = ids.len();
            if let std::collections::hash_map::Entry::Vacant(e) = ids.entry(v) {
                e.insert(next);
                let bold = if Some(v) == focus { ", penwidth=2" } else { "" };
                let _ = writeln!(
                    out,
                    "  n{next} [label=\"{}\"{bold}];",
                    name(v).replace('"', "\\\"")
                );
            }
        }
    }
    for (s, p, o) in edges {
        if let (Some(a), Some(b)) = (ids.get(s), ids.get(o)) {
            let _ = writeln!(
                out,
                "  n{a} -> n{b} [label=\"{}\"];",
                short(p).replace('"', "\\\"")
            );
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> GraphView {
        GraphView::from_edges(
            [
                ("p", "a", "b"),
                ("p", "b", "c"),
                ("q", "b", "d"),
                ("p", "x", "y"),
            ]
            .into_iter()
            .map(|(l, s, o)| (l.to_string(), Value::symbol(s), Value::symbol(o))),
        )
    }

    #[test]
    fn walks_are_reproducible_and_follow_edges() {
        let view = chain();
        let a = view.random_walk(&Value::symbol("a"), 5, 7);
        assert_eq!(a, view.random_walk(&Value::symbol("a"), 5, 7));
        assert_eq!(a.first(), Some(&Value::symbol("a")));
        assert_eq!(a.get(1), Some(&Value::symbol("b")));
        assert!(a.len() <= 3);
    }

    #[test]
    fn components_neighbourhoods_and_missing_paths() {
        let view = chain();
        assert_eq!(view.components(), 2);
        assert_eq!(view.neighbourhood(&Value::symbol("b"), 1).len(), 3);
        assert!(
            view.shortest_path(&Value::symbol("a"), &Value::symbol("y"))
                .is_none()
        );
        assert_eq!(
            view.shortest_path(&Value::symbol("d"), &Value::symbol("c"))
                .map(|p| p.len()),
            Some(2)
        );
    }
}
