//! Decision-tree benchmarks: fitting CART and a soft tree on
//! breast_cancer, predicting every row, and rules calling a tree for 1,000
//! applicants (the model-call path of the engine).
//!
//! `cargo bench --bench trees`. The comparison with scikit-learn on the
//! same splits is `benches/trees.py`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use nesy::{Limits, Program};
use nesy_learn::cart::CartParams;
use nesy_learn::soft::SoftParams;
use nesy_learn::{Cart, Classifier, Fit, FitOptions, Soft, Table};
use std::path::Path;
use std::time::Duration;

fn table() -> Table {
    Table::from_csv(
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/knowledge/tabular/breast_cancer.csv"
        )),
        "class",
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let table = table();
    let mut progress = |_: usize, _: f64| {};
    let mut group = c.benchmark_group("trees");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("cart_fit/breast_cancer", |b| {
        b.iter(|| {
            let mut options = FitOptions {
                seed: 0,
                device: nesy_learn::device("cpu").unwrap(),
                progress: &mut progress,
            };
            Cart::fit(&table, &CartParams::default(), &mut options).unwrap()
        })
    });
    let soft = SoftParams {
        epochs: 10,
        ..SoftParams::default()
    };
    group.bench_function("soft_fit_10_epochs/breast_cancer", |b| {
        b.iter(|| {
            let mut options = FitOptions {
                seed: 0,
                device: nesy_learn::device("cpu").unwrap(),
                progress: &mut progress,
            };
            Soft::fit(&table, &soft, &mut options).unwrap()
        })
    });
    let mut options = FitOptions {
        seed: 0,
        device: nesy_learn::device("cpu").unwrap(),
        progress: &mut progress,
    };
    let cart = Cart::fit(&table, &CartParams::default(), &mut options).unwrap();
    group.bench_function("cart_predict/569_rows", |b| {
        b.iter(|| table.x.iter().map(|x| cart.predict(x).class).sum::<usize>())
    });
    // Rules calling the shipped credit tree for 1,000 applicants.
    let mut rules = String::from("@model credit = \"models/credit.tree\".\n");
    for i in 0..1000 {
        rules.push_str(&format!(
            "applicant(a{i}, {}, {}, {}).\n",
            20000 + i * 90,
            (i * 37) % 30000,
            i % 15
        ));
    }
    rules.push_str("risk(A, C, P) :- applicant(A, I, D, Y), credit.predict(I, D, Y, C, P).\n");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/models/credit.tree"),
        dir.path().join("models/credit.tree"),
    )
    .unwrap();
    std::fs::write(dir.path().join("bench.nesy"), rules).unwrap();
    let program = Program::from_files(&[dir.path().join("bench.nesy")]).unwrap();
    group.bench_function("rules_call_tree/1000_applicants", |b| {
        b.iter(|| {
            program
                .evaluate(&Limits::default())
                .unwrap()
                .relation("risk")
                .unwrap()
                .len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
