//! The benchmark workloads, shared by the criterion benches (`benches/`)
//! and the peer comparison (`benches/peers/`): seeded random graphs and the
//! rule programs run over them.
//!
//! The generator is splitmix64 seeded by the caller, written out here so
//! that the graphs are the same on every machine and every version.

#![allow(dead_code, reason = "each includer uses part of it")]

/// Edges per node in the benchmark graphs.
pub const EDGES_PER_NODE: u32 = 5;

/// A directed graph on nodes `0..nodes`.
pub struct Graph {
    /// Number of nodes.
    pub nodes: u32,
    /// Edges, possibly repeated (engines keep sets).
    pub edges: Vec<(u32, u32)>,
}

/// `per_node` edges from each node to uniformly drawn nodes.
pub fn random_graph(nodes: u32, per_node: u32, seed: u64) -> Graph {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut edges = Vec::with_capacity((nodes * per_node) as usize);
    for from in 0..nodes {
        for _ in 0..per_node {
            edges.push((from, (next() % u64::from(nodes)) as u32));
        }
    }
    Graph { nodes, edges }
}

/// The graph as a Soufflé `.facts` file (tab-separated, no header).
pub fn facts_file(graph: &Graph) -> String {
    let mut out = String::with_capacity(graph.edges.len() * 10);
    for (a, b) in &graph.edges {
        out.push_str(&format!("{a}\t{b}\n"));
    }
    out
}

/// Transitive closure.
pub const TC: &str = "
reach(X, Y) :- edge(X, Y).
reach(X, Z) :- reach(X, Y), edge(Y, Z).
";

/// Same generation: two nodes whose parents are of the same generation.
pub const SG: &str = "
sg(X, Y) :- edge(P, X), edge(P, Y), X != Y.
sg(X, Y) :- edge(A, X), sg(A, B), edge(B, Y).
";

/// Join-heavy with negation and an aggregate: the nodes three steps away
/// that are not direct successors, counted per node.
pub const JOIN: &str = "
node(X) :- edge(X, _).
node(Y) :- edge(_, Y).
two(X, Z) :- edge(X, Y), edge(Y, Z).
three(X, W) :- two(X, Z), edge(Z, W).
indirect(X, W) :- three(X, W), not edge(X, W).
fanout(X, N) :- node(X), N = count { W : indirect(X, W) }.
";

/// The workloads by name, with the relation whose size is reported.
pub const WORKLOADS: &[(&str, &str, &str)] = &[
    ("tc", TC, "reach"),
    ("sg", SG, "sg"),
    ("join", JOIN, "indirect"),
];
