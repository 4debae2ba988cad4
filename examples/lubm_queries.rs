//! LUBM(1) end to end, timed: load the ontology and the data, materialize
//! the OWL 2 RL closure with `rules/owl2rl.nesy`, put it in an oxigraph
//! store, and run the fourteen LUBM queries (`benches/lubm_queries/`).
//!
//! `cargo run --release --example lubm_queries`

use nesy::{Limits, Program, Value};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let program = Program::from_files(&["rules/owl2rl.nesy", "knowledge/lubm/lubm1.nesy"])?;
    let loaded = start.elapsed();
    let evaluation = program.evaluate(&Limits::default())?;
    let materialized = start.elapsed() - loaded;
    let closure = evaluation.relation("t").ok_or("no relation t")?;
    let triples: Vec<(Value, String, Value)> = closure
        .rows()
        .filter_map(|row| match row {
            [s, Value::Iri(p), o] => Some((s.clone(), p.to_string(), o.clone())),
            _ => None,
        })
        .collect();
    let before_store = Instant::now();
    let graph = nesy_kg::Graph::in_memory()?;
    graph.insert_triples(None, &triples)?;
    println!("load (parse + facts)   {:>8.3} s", loaded.as_secs_f64());
    println!(
        "materialize (OWL 2 RL) {:>8.3} s  {} triples",
        materialized.as_secs_f64(),
        closure.len()
    );
    println!(
        "closure into a store   {:>8.3} s",
        before_store.elapsed().as_secs_f64()
    );
    for q in 1..=14 {
        let text = std::fs::read_to_string(format!("benches/lubm_queries/q{q}.rq"))?;
        let t = Instant::now();
        let (_, rows) = graph.select(&text)?;
        println!(
            "Q{q:<2} {:>7} answers {:>8.3} s",
            rows.len(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
