//! How fast the front end reads rule files: parse, check and format a
//! generated program of 2,000 rules and 20,000 facts (about 1 MB); and how
//! fast a table is imported: `@import` of a CSV file of 1,000,000 rows
//! (its line numbers once counted from the start for every record: 100,000
//! rows took 82 s).
//!
//! Run with `cargo bench --bench front_end`.
#![allow(clippy::unwrap_used, reason = "benchmark setup")]
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::fmt::Write;
use std::hint::black_box;

/// A deterministic program: facts over 20 relations, and rules that join,
/// negate, compare, compute and aggregate over them.
fn program(rules: usize, facts: usize) -> String {
    let mut text = String::from("// generated for the front-end benchmark\n");
    for i in 0..facts {
        writeln!(
            text,
            "e{}(n{}, n{}, {}).",
            i % 20,
            i % 997,
            (i * 7) % 991,
            i % 100
        )
        .unwrap();
    }
    for i in 0..rules {
        let (a, b, c) = (i % 20, (i + 3) % 20, (i + 7) % 20);
        match i % 4 {
            0 => writeln!(
                text,
                "r{i}(X, Z) :- e{a}(X, Y, _), e{b}(Y, Z, W), W > {}.",
                i % 50
            ),
            1 => writeln!(
                text,
                "r{i}(X, V) :- e{a}(X, _, A), e{c}(X, _, B), V = A * 2 + B - {i}."
            ),
            2 => writeln!(
                text,
                "r{i}(X) :- e{a}(X, Y, _), not e{b}(Y, X, _), X != n{}.",
                i % 997
            ),
            _ => writeln!(
                text,
                "r{i}(X, N) :- e{a}(X, _, _), N = count {{ Y : e{c}(X, Y, _) }}."
            ),
        }
        .unwrap();
    }
    text
}

fn front_end(c: &mut Criterion) {
    let source = program(2_000, 20_000);
    let mut group = c.benchmark_group("front_end");
    group.throughput(Throughput::Bytes(source.len() as u64));
    group.sample_size(20);
    group.bench_function("parse", |b| {
        b.iter(|| nesy::lang::parse(black_box(&source)))
    });
    group.bench_function("parse_and_check", |b| {
        b.iter(|| nesy::check_source("bench.nesy", black_box(&source)))
    });
    group.bench_function("format", |b| {
        b.iter(|| nesy::format_source(black_box(&source)).unwrap())
    });
    group.finish();
}

fn import(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,name,amount\n");
    for i in 0..1_000_000 {
        writeln!(csv, "{i},n{},{}", i % 9973, i % 1000).unwrap();
    }
    std::fs::write(dir.path().join("rows.csv"), &csv).unwrap();
    let rules = dir.path().join("import.nesy");
    std::fs::write(
        &rules,
        "@decl row(id: int, name: symbol, amount: int).\n@import row from \"rows.csv\".\n",
    )
    .unwrap();
    let mut group = c.benchmark_group("import");
    group.throughput(Throughput::Bytes(csv.len() as u64));
    group.sample_size(10);
    group.bench_function("csv_1m_rows", |b| {
        b.iter(|| nesy::Program::from_files(black_box(std::slice::from_ref(&rules))).unwrap())
    });
    group.finish();
}

criterion_group!(benches, front_end, import);
criterion_main!(benches);
