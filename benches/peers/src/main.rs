//! Runs one benchmark workload on one engine, in this process, and prints
//! one JSON line: `{"engine", "workload", "nodes", "seconds", "tuples"}`.
//! `benches/compare.py` runs it once per engine and workload (so that each
//! run's peak memory can be read from the operating system) and prints the
//! table with the ratios.
//!
//! ```text
//! nesy-peers run ENGINE WORKLOAD NODES     # ENGINE: nesy datafrog ascent crepe
//! nesy-peers facts NODES FILE              # the graph as a .facts file
//! nesy-peers whole datafrog WORKLOAD FACTS OUT   # read, evaluate, write TSV
//! nesy-peers authz [USERS]                 # Cedar and nesy, per-request latency
//! ```

mod authz;
#[path = "../../workloads.rs"]
mod workloads;

use std::io::Write;
use std::time::Instant;
use workloads::{EDGES_PER_NODE, random_graph};

const SEED: u64 = 42;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("authz") => {
            let users = args
                .get(2)
                .map_or(2000, |n| n.parse().expect("USERS is a number"));
            authz::run(users);
        }
        Some("run") if args.len() == 5 => {
            let nodes: u32 = args[4].parse().expect("NODES is a number");
            let graph = random_graph(nodes, EDGES_PER_NODE, SEED);
            let (engine, workload) = (args[2].as_str(), args[3].as_str());
            let start = Instant::now();
            let tuples = match (engine, workload) {
                ("nesy", _) => nesy_run(workload, &graph.edges),
                ("datafrog", "tc") => datafrog_tc(&graph.edges),
                ("datafrog", "sg") => datafrog_sg(&graph.edges),
                ("datafrog", "join") => datafrog_join(&graph.edges),
                ("ascent", "tc") => ascent_tc::run(&graph.edges),
                ("ascent", "sg") => ascent_sg::run(&graph.edges),
                ("ascent", "join") => ascent_join::run(&graph.edges),
                ("crepe", "tc") => crepe_tc::run(&graph.edges),
                ("crepe", "sg") => crepe_sg::run(&graph.edges),
                ("crepe", "join") => crepe_join::run(&graph.edges),
                _ => panic!("unknown engine or workload: {engine} {workload}"),
            };
            let seconds = start.elapsed().as_secs_f64();
            println!(
                "{{\"engine\": \"{engine}\", \"workload\": \"{workload}\", \"nodes\": {nodes}, \"seconds\": {seconds:.4}, \"tuples\": {tuples}}}"
            );
        }
        Some("whole") if args.len() == 6 => {
            // The whole process as a user runs it: read the edges file,
            // evaluate, write the relation as TSV (`reach<TAB>x<TAB>y`, in
            // the engine's own order, through a buffered writer).
            let (engine, workload) = (args[2].as_str(), args[3].as_str());
            let start = Instant::now();
            let text = std::fs::read_to_string(&args[4]).expect("readable FACTS");
            let edges: Vec<(u32, u32)> = text
                .lines()
                .map(|line| {
                    let (a, b) = line.split_once('\t').expect("two columns");
                    (a.parse().expect("a number"), b.parse().expect("a number"))
                })
                .collect();
            let (relation, rows) = match (engine, workload) {
                ("datafrog", "tc") => ("reach", datafrog_tc_rows(&edges)),
                ("datafrog", "sg") => ("sg", datafrog_sg_rows(&edges)),
                _ => panic!("whole runs: datafrog tc|sg, not {engine} {workload}"),
            };
            let file = std::fs::File::create(&args[5]).expect("writable OUT");
            let mut out = std::io::BufWriter::new(file);
            for (x, y) in &rows {
                writeln!(out, "{relation}\t{x}\t{y}").expect("written");
            }
            out.flush().expect("written");
            let seconds = start.elapsed().as_secs_f64();
            println!(
                "{{\"engine\": \"{engine}\", \"workload\": \"{workload}\", \"seconds\": {seconds:.4}, \"tuples\": {}}}",
                rows.len()
            );
        }
        Some("facts") if args.len() == 4 => {
            let nodes: u32 = args[2].parse().expect("NODES is a number");
            let graph = random_graph(nodes, EDGES_PER_NODE, SEED);
            std::fs::write(&args[3], workloads::facts_file(&graph)).expect("writable FILE");
        }
        _ => {
            eprintln!(
                "usage: nesy-peers run ENGINE WORKLOAD NODES | nesy-peers facts NODES FILE | nesy-peers whole datafrog WORKLOAD FACTS OUT"
            );
            std::process::exit(2);
        }
    }
}

/// nesy through its library API. As for the peers, the time includes
/// building the input relation from the edges.
fn nesy_run(workload: &str, edges: &[(u32, u32)]) -> usize {
    let (_, text, relation) = workloads::WORKLOADS
        .iter()
        .find(|(name, _, _)| *name == workload)
        .expect("known workload");
    let mut program = nesy::Program::from_source("bench.nesy", text).expect("valid rules");
    for &(a, b) in edges {
        program
            .add_fact(
                "edge",
                vec![nesy::Value::Int(a.into()), nesy::Value::Int(b.into())],
            )
            .expect("edge/2");
    }
    let evaluation = program
        .evaluate(&nesy::Limits::default())
        .expect("evaluates");
    evaluation.count(relation).unwrap_or(0)
}

fn datafrog_tc(edges: &[(u32, u32)]) -> usize {
    datafrog_tc_rows(edges).len()
}

/// `reach` as (x, y) pairs, in datafrog's order (sorted by y).
fn datafrog_tc_rows(edges: &[(u32, u32)]) -> Vec<(u32, u32)> {
    use datafrog::{Iteration, Relation};
    let edge: Relation<(u32, u32)> = edges.iter().copied().collect();
    let mut iteration = Iteration::new();
    // reach keyed by its second column: (y, x)
    let reach = iteration.variable::<(u32, u32)>("reach");
    reach.extend(edges.iter().map(|&(x, y)| (y, x)));
    while iteration.changed() {
        reach.from_join(&reach, &edge, |_y, &x, &z| (z, x));
    }
    reach.complete().iter().map(|&(y, x)| (x, y)).collect()
}

fn datafrog_sg(edges: &[(u32, u32)]) -> usize {
    datafrog_sg_rows(edges).len()
}

fn datafrog_sg_rows(edges: &[(u32, u32)]) -> Vec<(u32, u32)> {
    use datafrog::{Iteration, Relation};
    let edge: Relation<(u32, u32)> = edges.iter().copied().collect();
    let siblings = Relation::from_join(&edge, &edge, |_p, &x, &y| (x, y));
    let mut iteration = Iteration::new();
    let sg = iteration.variable::<(u32, u32)>("sg");
    let step = iteration.variable::<(u32, u32)>("step");
    sg.extend(siblings.iter().filter(|(x, y)| x != y).copied());
    while iteration.changed() {
        // sg(A, B), edge(A, X) -> step(B, X); step(B, X), edge(B, Y) -> sg(X, Y)
        step.from_join(&sg, &edge, |_a, &b, &x| (b, x));
        sg.from_join(&step, &edge, |_b, &x, &y| (x, y));
    }
    sg.complete().iter().copied().collect()
}

fn datafrog_join(edges: &[(u32, u32)]) -> usize {
    use datafrog::Relation;
    let edge: Relation<(u32, u32)> = edges.iter().copied().collect();
    let by_target: Relation<(u32, u32)> = edges.iter().map(|&(x, y)| (y, x)).collect();
    let two_by_z = Relation::from_join(&by_target, &edge, |_y, &x, &z| (z, x));
    let three: Relation<((u32, u32), ())> =
        Relation::from_join(&two_by_z, &edge, |_z, &x, &w| ((x, w), ()));
    let direct: Relation<(u32, u32)> = edges.iter().copied().collect();
    // Relation::from_antijoin reads only the "recent" tuples of its input,
    // which a plain Relation does not have; anti-join by hand instead.
    let indirect: Relation<((u32, u32), ())> = three
        .iter()
        .filter(|(k, ())| direct.binary_search(k).is_err())
        .copied()
        .collect();
    let nodes: Relation<u32> = edges.iter().flat_map(|&(a, b)| [a, b]).collect();
    let mut fanout = vec![0usize; nodes.iter().max().map_or(0, |m| *m as usize + 1)];
    for ((x, _), ()) in indirect.iter() {
        fanout[*x as usize] += 1;
    }
    std::hint::black_box(nodes.iter().map(|&n| fanout[n as usize]).sum::<usize>());
    indirect.len()
}

mod ascent_tc {
    use ascent::ascent;
    ascent! {
        relation edge(u32, u32);
        relation reach(u32, u32);
        reach(x, y) <-- edge(x, y);
        reach(x, z) <-- reach(x, y), edge(y, z);
    }
    pub fn run(edges: &[(u32, u32)]) -> usize {
        let mut p = AscentProgram::default();
        p.edge = edges.to_vec();
        p.run();
        p.reach.len()
    }
}

mod ascent_sg {
    use ascent::ascent;
    ascent! {
        relation edge(u32, u32);
        relation sg(u32, u32);
        sg(x, y) <-- edge(p, x), edge(p, y), if x != y;
        sg(x, y) <-- edge(a, x), sg(a, b), edge(b, y);
    }
    pub fn run(edges: &[(u32, u32)]) -> usize {
        let mut p = AscentProgram::default();
        p.edge = edges.to_vec();
        p.run();
        p.sg.len()
    }
}

mod ascent_join {
    use ascent::aggregators::count;
    use ascent::ascent;
    ascent! {
        relation edge(u32, u32);
        relation node(u32);
        relation two(u32, u32);
        relation three(u32, u32);
        relation indirect(u32, u32);
        relation fanout(u32, usize);
        node(x) <-- edge(x, _);
        node(y) <-- edge(_, y);
        two(x, z) <-- edge(x, y), edge(y, z);
        three(x, w) <-- two(x, z), edge(z, w);
        indirect(x, w) <-- three(x, w), !edge(x, w);
        fanout(x, n) <-- node(x), agg n = count() in indirect(x, _);
    }
    pub fn run(edges: &[(u32, u32)]) -> usize {
        let mut p = AscentProgram::default();
        p.edge = edges.to_vec();
        p.run();
        std::hint::black_box(p.fanout.len());
        p.indirect.len()
    }
}

mod crepe_tc {
    use crepe::crepe;
    crepe! {
        @input
        struct Edge(u32, u32);
        @output
        struct Reach(u32, u32);
        Reach(x, y) <- Edge(x, y);
        Reach(x, z) <- Reach(x, y), Edge(y, z);
    }
    pub fn run(edges: &[(u32, u32)]) -> usize {
        let mut runtime = Crepe::new();
        runtime.extend(edges.iter().map(|&(a, b)| Edge(a, b)));
        let (reach,) = runtime.run();
        reach.len()
    }
}

mod crepe_sg {
    use crepe::crepe;
    crepe! {
        @input
        struct Edge(u32, u32);
        @output
        struct Sg(u32, u32);
        Sg(x, y) <- Edge(p, x), Edge(p, y), (x != y);
        Sg(x, y) <- Edge(a, x), Sg(a, b), Edge(b, y);
    }
    pub fn run(edges: &[(u32, u32)]) -> usize {
        let mut runtime = Crepe::new();
        runtime.extend(edges.iter().map(|&(a, b)| Edge(a, b)));
        let (sg,) = runtime.run();
        sg.len()
    }
}

mod crepe_join {
    use crepe::crepe;
    crepe! {
        @input
        struct Edge(u32, u32);
        struct Two(u32, u32);
        struct Three(u32, u32);
        @output
        struct Node(u32);
        @output
        struct Indirect(u32, u32);
        Node(x) <- Edge(x, _);
        Node(y) <- Edge(_, y);
        Two(x, z) <- Edge(x, y), Edge(y, z);
        Three(x, w) <- Two(x, z), Edge(z, w);
        Indirect(x, w) <- Three(x, w), !Edge(x, w);
    }
    pub fn run(edges: &[(u32, u32)]) -> usize {
        let mut runtime = Crepe::new();
        runtime.extend(edges.iter().map(|&(a, b)| Edge(a, b)));
        let (nodes, indirect) = runtime.run();
        // crepe has no aggregates: count per node by hand
        let mut fanout = std::collections::HashMap::new();
        for Indirect(x, _) in &indirect {
            *fanout.entry(*x).or_insert(0usize) += 1;
        }
        std::hint::black_box(
            nodes
                .iter()
                .map(|Node(n)| fanout.get(n).copied().unwrap_or(0))
                .sum::<usize>(),
        );
        indirect.len()
    }
}
