//! OWL 2 RL on LUBM(1): `rules/owl2rl.nesy` over the benchmark's own data,
//! then the fourteen LUBM queries (benches/lubm_queries/) over the closure.
//! The expected answer counts are those the LUBM authors publish for
//! LUBM(1) with complete reasoning.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use nesy::{Limits, Program, Value};

#[test]
fn the_fourteen_lubm_queries_get_the_published_answer_counts() {
    let program = Program::from_files(&["rules/owl2rl.nesy", "knowledge/lubm/lubm1.nesy"]).unwrap();
    let evaluation = program.evaluate(&Limits::default()).unwrap();
    let closure = evaluation.relation("t").unwrap();
    assert_eq!(closure.len(), 150_790);
    let triples: Vec<(Value, String, Value)> = closure
        .rows()
        .filter_map(|row| match &row[1] {
            Value::Iri(p) => Some((row[0].clone(), p.to_string(), row[2].clone())),
            _ => None,
        })
        .collect();
    let graph = nesy_kg::Graph::in_memory().unwrap();
    graph.insert_triples(None, &triples).unwrap();
    let expected = [4, 0, 6, 34, 719, 7790, 67, 7790, 208, 4, 224, 15, 1, 5916];
    let mut got = Vec::new();
    for q in 1..=14 {
        let text = std::fs::read_to_string(format!("benches/lubm_queries/q{q}.rq")).unwrap();
        let (_, rows) = graph.select(&text).unwrap();
        got.push(rows.len());
    }
    assert_eq!(got, expected);
}
