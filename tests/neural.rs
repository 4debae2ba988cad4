//! Neural predicates trained through the rules: a network over the digits
//! table learns to classify digits from sums of pairs alone, the gradient
//! of the sum's probability flowing back through the proofs into the
//! network; reproducible; clear errors for a network whose table lacks a
//! column.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use nesy::learn::net::{Net, NetInput, NetInputs, NetSpec};
use nesy::{Example, Program, TrainOptions, Value};
use std::path::{Path, PathBuf};

const DIGITS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/digits_addition/digits.csv"
);

/// An untrained network over the digits table, in `dir`.
fn untrained(dir: &Path, seed: u64) -> PathBuf {
    let features: Vec<String> = (0..64).map(|i| format!("p{i}")).collect();
    let inputs = NetInputs::read(Path::new(DIGITS), "id", &features).unwrap();
    let spec = NetSpec {
        features,
        hidden: vec![32],
        classes: (0..10).map(|d| d.to_string()).collect(),
        conv: None,
    };
    let net = Net::for_inputs(spec, &inputs, seed, &nesy::learn::device("cpu").unwrap()).unwrap();
    let path = dir.join("digit.net");
    let input = NetInput {
        table: DIGITS.to_string(),
        id: "id".to_string(),
    };
    net.save(&input, serde_json::json!({"seed": seed}), &path)
        .unwrap();
    path
}

const RULES: &str = "@model digit = \"digit.net\".
@input pair.
@decl pair(a: symbol, b: symbol).
addition(X, Y, Z) :- pair(X, Y), digit.prob(X, A, _), digit.prob(Y, B, _), Z = A + B.
";

/// Images `img{first}..` with their labels, from the table.
fn labelled(first: usize, count: usize) -> Vec<(String, i64)> {
    let text = std::fs::read_to_string(DIGITS).unwrap();
    text.lines()
        .skip(1 + first)
        .take(count)
        .map(|l| {
            let id = l.split(',').next().unwrap().to_string();
            let class = l.rsplit(',').next().unwrap().parse().unwrap();
            (id, class)
        })
        .collect()
}

/// Pairs of images as examples: only the sum is given.
fn pairs(images: &[(String, i64)], count: usize, seed: u64) -> Vec<Example> {
    // A small linear congruential generator: pairs drawn at random, the
    // same every run.
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut pick = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize % images.len()
    };
    (0..count)
        .map(|_| {
            let (a, x) = &images[pick()];
            let (b, y) = &images[pick()];
            let mut e = Example::new(
                "addition",
                vec![Value::symbol(a), Value::symbol(b), Value::Int(x + y)],
                1.0,
            );
            e.facts = vec![("pair".to_string(), vec![Value::symbol(a), Value::symbol(b)])];
            e
        })
        .collect()
}

#[test]
fn a_network_learns_digits_from_sums_alone() {
    let dir = tempfile::tempdir().unwrap();
    untrained(dir.path(), 1);
    std::fs::write(dir.path().join("addition.nesy"), RULES).unwrap();
    let program = Program::from_files(&[dir.path().join("addition.nesy")]).unwrap();
    let train = labelled(0, 1000);
    let test = labelled(1000, 400);
    let examples = pairs(&train, 1200, 0);
    let held_out = pairs(&test, 400, 1);
    let before = program
        .score(
            &held_out,
            nesy::Semiring::TopK(10),
            &nesy::Limits::default(),
        )
        .unwrap();
    let options = TrainOptions {
        epochs: 1,
        batch: 16,
        network_learning_rate: 6e-3,
        ..TrainOptions::default()
    };
    let trained = program
        .train(&examples, &[], &options, &mut |_| {})
        .unwrap();
    let after = trained
        .program
        .score(
            &held_out,
            nesy::Semiring::TopK(10),
            &nesy::Limits::default(),
        )
        .unwrap();
    assert!(before.accuracy < 0.3, "untrained: {before:?}");
    assert!(
        after.accuracy > 0.7,
        "sum accuracy after training: {after:?}"
    );
    // The network itself learned the digits, never having seen a label.
    let out = dir.path().join("trained.nesy");
    let written = trained.program.write_trained(&out).unwrap();
    assert_eq!(written.len(), 2);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("@model digit = \"trained.digit.net\"."),
        "{text}"
    );
    let (net, _) = Net::load(&written[1], &nesy::learn::device("cpu").unwrap()).unwrap();
    let features = net.spec.features.clone();
    let inputs = NetInputs::read(Path::new(DIGITS), "id", &features).unwrap();
    let rows: Vec<Vec<f32>> = test
        .iter()
        .map(|(id, _)| inputs.row(id).unwrap().clone())
        .collect();
    let labels: Vec<usize> = test.iter().map(|(_, c)| *c as usize).collect();
    let accuracy = net.accuracy(&rows, &labels).unwrap();
    assert!(accuracy > 0.8, "digit accuracy {accuracy}");
    // The trained files load and answer as the trained program does.
    let reloaded = Program::from_files(&[&out]).unwrap();
    let again = reloaded
        .score(
            &held_out,
            nesy::Semiring::TopK(10),
            &nesy::Limits::default(),
        )
        .unwrap();
    assert!((again.accuracy - after.accuracy).abs() < 1e-9);
    // Training a copy left the program it started from as it was.
    let unchanged = program
        .score(
            &held_out,
            nesy::Semiring::TopK(10),
            &nesy::Limits::default(),
        )
        .unwrap();
    assert_eq!(unchanged, before);
}

#[test]
fn the_same_seed_writes_the_same_network() {
    let run = |dir: &Path| {
        untrained(dir, 3);
        std::fs::write(dir.join("addition.nesy"), RULES).unwrap();
        let program = Program::from_files(&[dir.join("addition.nesy")]).unwrap();
        let examples = pairs(&labelled(0, 100), 64, 0);
        let options = TrainOptions {
            epochs: 1,
            batch: 16,
            seed: 5,
            ..TrainOptions::default()
        };
        let trained = program
            .train(&examples, &[], &options, &mut |_| {})
            .unwrap();
        let written = trained
            .program
            .write_trained(&dir.join("out.nesy"))
            .unwrap();
        written
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect::<Vec<_>>()
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert_eq!(run(a.path()), run(b.path()));
}

#[test]
fn a_network_whose_table_lacks_a_column_says_so() {
    let dir = tempfile::tempdir().unwrap();
    untrained(dir.path(), 1);
    // The same network over a table without the last pixel column.
    let (net, mut header) = Net::load(
        &dir.path().join("digit.net"),
        &nesy::learn::device("cpu").unwrap(),
    )
    .unwrap();
    let short: String = std::fs::read_to_string(DIGITS)
        .unwrap()
        .lines()
        .take(20)
        .map(|l| l.replace(",p63,", ",q63,") + "\n")
        .collect();
    std::fs::write(dir.path().join("short.csv"), short).unwrap();
    header.input.table = "short.csv".to_string();
    net.save(
        &header.input,
        header.training.clone(),
        &dir.path().join("digit.net"),
    )
    .unwrap();
    std::fs::write(dir.path().join("addition.nesy"), RULES).unwrap();
    let Err(error) = Program::from_files(&[dir.path().join("addition.nesy")]) else {
        panic!("a network over a table without its columns loaded");
    };
    let error = error.to_string();
    assert!(error.contains("addition.nesy:1:1"), "{error}");
    assert!(
        error.contains("short.csv") && error.contains("no column `p63`"),
        "{error}"
    );
}

#[test]
fn a_confined_engine_refuses_a_network_table_outside_its_directories() {
    // The network file is inside; the table its header names is not.
    let dir = tempfile::tempdir().unwrap();
    untrained(dir.path(), 1);
    std::fs::write(dir.path().join("addition.nesy"), RULES).unwrap();
    let Err(error) = nesy::Engine::builder()
        .rules(dir.path().join("addition.nesy"))
        .confine_to([dir.path()])
        .build()
    else {
        panic!("a table outside the confinement was read");
    };
    let error = error.to_string();
    assert!(error.contains("outside the directories"), "{error}");
    assert!(error.contains("addition.nesy:1:1"), "{error}");
    // Unconfined, the same files load.
    assert!(
        nesy::Engine::builder()
            .rules(dir.path().join("addition.nesy"))
            .build()
            .is_ok()
    );
}

#[test]
fn a_model_with_more_exclusive_classes_than_a_disjunction_may_have_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "id,x\na,1\n").unwrap();
    let classes = nesy::lang::MAX_DISJUNCTION_HEADS + 1;
    let spec = NetSpec {
        features: vec!["x".to_string()],
        hidden: vec![1],
        classes: (0..classes).map(|c| c.to_string()).collect(),
        conv: None,
    };
    let net = Net::new(
        spec,
        vec![0.0],
        vec![1.0],
        0,
        &nesy::learn::device("cpu").unwrap(),
    )
    .unwrap();
    let input = NetInput {
        table: "t.csv".to_string(),
        id: "id".to_string(),
    };
    net.save(&input, serde_json::json!({}), &dir.path().join("m.net"))
        .unwrap();
    let rules = "@model m = \"m.net\".\nitem(a).\nclass(I, C) :- item(I), m.prob(I, C, _).\n";
    std::fs::write(dir.path().join("r.nesy"), rules).unwrap();
    let program = Program::from_files(&[dir.path().join("r.nesy")]).unwrap();
    // Plain evaluation answers every class; a semiring refuses the one
    // disjunction of 1001 choices, saying where.
    let plain = program.evaluate(&nesy::Limits::default()).unwrap();
    assert_eq!(plain.relation("class").unwrap().len(), classes);
    let error = program
        .evaluate_tagged(nesy::Semiring::TopK(10), &nesy::Limits::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("1001 exclusive answers") && error.contains("r.nesy:3:1"),
        "{error}"
    );
}
