//! Engine benchmarks: the workloads of `benches/workloads.rs` (transitive
//! closure, same generation, a join with negation and an aggregate) on
//! seeded random graphs, evaluated through the library API.
//!
//! `cargo bench --bench engine`. The peer comparison (datafrog, ascent,
//! crepe, clingo) on larger graphs is `benches/compare.py`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

#[path = "workloads.rs"]
mod workloads;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nesy::Semiring;
use nesy::{Limits, Program, Value};
use std::time::Duration;

fn program(text: &str, edges: &[(u32, u32)]) -> Program {
    let mut program = Program::from_source("bench.nesy", text).unwrap();
    for &(a, b) in edges {
        program
            .add_fact("edge", vec![Value::Int(a.into()), Value::Int(b.into())])
            .unwrap();
    }
    program
}

fn engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for (name, text, relation, nodes) in [
        ("tc", workloads::TC, "reach", 500),
        ("tc", workloads::TC, "reach", 1000),
        ("sg", workloads::SG, "sg", 500),
        ("join", workloads::JOIN, "indirect", 4000),
    ] {
        let graph = workloads::random_graph(nodes, workloads::EDGES_PER_NODE, 42);
        let program = program(text, &graph.edges);
        group.bench_with_input(BenchmarkId::new(name, nodes), &program, |b, p| {
            b.iter(|| p.evaluate(&Limits::default()).unwrap().count(relation))
        });
    }
    group.finish();
}

fn query(c: &mut Criterion) {
    // A goal with a constant: magic sets derive only what node 0 reaches.
    let graph = workloads::random_graph(1000, 2, 7);
    let program = program(workloads::TC, &graph.edges);
    let mut group = c.benchmark_group("query");
    group.sample_size(10);
    group.bench_function("reach(0, X) magic sets", |b| {
        b.iter(|| {
            program
                .query("reach(0, X)", &Limits::default())
                .unwrap()
                .rows
                .len()
        })
    });
    group.bench_function("reach(0, X) full evaluation", |b| {
        b.iter(|| {
            let evaluation = program.evaluate(&Limits::default()).unwrap();
            evaluation
                .relation("reach")
                .unwrap()
                .rows()
                .filter(|row| row.first() == Some(&Value::Int(0)))
                .count()
        })
    });
    group.finish();
}

fn tagged(c: &mut Criterion) {
    // The same closure with probabilistic edges, under each semiring: the
    // plain engine, tags carried through the same semi-naive evaluation.
    let graph = workloads::random_graph(200, workloads::EDGES_PER_NODE, 42);
    let mut text = String::from(workloads::TC);
    for (i, &(a, b)) in graph.edges.iter().enumerate() {
        let p = 0.5 + 0.05 * (i % 10) as f64;
        text.push_str(&format!("{p} :: edge({a}, {b}).\n"));
    }
    let program = Program::from_source("tagged.nesy", &text).unwrap();
    let mut group = c.benchmark_group("tagged");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for (name, semiring) in [
        ("bool", Semiring::Bool),
        ("max-prob", Semiring::MaxProb),
        ("top-k 3", Semiring::TopK(3)),
    ] {
        group.bench_function(BenchmarkId::new("tc/200", name), |b| {
            b.iter(|| {
                program
                    .evaluate_tagged(semiring, &Limits::default())
                    .unwrap()
                    .0
                    .relation("reach")
                    .unwrap()
                    .rows
                    .len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, engine, query, tagged);
criterion_main!(benches);
