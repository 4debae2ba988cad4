//! Probabilities against ProbLog: each `tests/problog/NAME.nesy` has the
//! probabilities ProbLog 2 computes for it in `NAME.expected` (regenerate
//! with `python3 tests/problog/regenerate.py`, which also writes the ProbLog
//! program `NAME.pl` it ran). `top-k` with a k larger than the number of
//! proofs must match them to 1e-9; `max-prob` must equal the most likely
//! single proof; `add-mult` must stay in [0, 1] and above `max-prob`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use nesy::Semiring;
use nesy::{Limits, Program, Value};
use std::path::Path;

fn parse_value(text: &str) -> Value {
    text.parse::<i64>()
        .map_or_else(|_| Value::symbol(text), Value::Int)
}

/// `(relation, tuple, probability)` lines of an `.expected` file.
fn expected(path: &Path) -> Vec<(String, Vec<Value>, f64)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let (atom, p) = line.split_once('\t').unwrap();
            let (name, args) = match atom.split_once('(') {
                Some((name, rest)) => (
                    name.to_string(),
                    rest.trim_end_matches(')')
                        .split(", ")
                        .map(parse_value)
                        .collect(),
                ),
                None => (atom.to_string(), Vec::new()),
            };
            (name, args, p.parse().unwrap())
        })
        .collect()
}

fn corpus() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/problog");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "nesy"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the ProbLog corpus went missing");
    files
}

#[test]
fn top_k_matches_problog_exactly() {
    for file in corpus() {
        let program = Program::from_files(&[&file]).unwrap();
        let (tagged, _) = program
            .evaluate_tagged(Semiring::TopK(1000), &Limits::default())
            .unwrap();
        let rows = expected(&file.with_extension("expected"));
        let mut relations: Vec<&str> = rows.iter().map(|(r, _, _)| r.as_str()).collect();
        relations.dedup();
        for (relation, tuple, p) in &rows {
            let ours = tagged.probability(relation, tuple).unwrap();
            assert!(
                (ours - p).abs() < 1e-9,
                "{}: {relation}{tuple:?}: nesy {ours}, ProbLog {p}",
                file.display()
            );
        }
        // and no tuple ProbLog does not list
        for relation in relations {
            let ours = tagged.relation(relation).unwrap();
            let theirs = rows
                .iter()
                .filter(|(r, _, p)| r == relation && *p > 0.0)
                .count();
            assert_eq!(
                ours.rows.len(),
                theirs,
                "{}: tuples of {relation}",
                file.display()
            );
        }
    }
}

#[test]
fn max_prob_is_the_best_single_proof_and_add_mult_bounds_it() {
    // Under negation max-prob takes 1 - (the negated tuple's max-prob),
    // which is not a proof's probability: those programs are left out.
    for file in corpus()
        .into_iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().contains("not "))
    {
        let program = Program::from_files(&[&file]).unwrap();
        let (why, _) = program
            .evaluate_tagged(Semiring::Why, &Limits::default())
            .unwrap();
        let (best, _) = program
            .evaluate_tagged(Semiring::MaxProb, &Limits::default())
            .unwrap();
        let (sum, _) = program
            .evaluate_tagged(Semiring::AddMult, &Limits::default())
            .unwrap();
        for (relation, tuple, exact) in expected(&file.with_extension("expected")) {
            let viterbi = best.probability(&relation, &tuple).unwrap();
            let single = why
                .best_proof_probability(&relation, &tuple)
                .unwrap_or_else(|| panic!("{}: no proofs for {relation}{tuple:?}", file.display()));
            assert!(
                (viterbi - single).abs() < 1e-12,
                "{}: {relation}{tuple:?}: max-prob {viterbi}, best proof {single}",
                file.display()
            );
            assert!(viterbi <= exact + 1e-12);
            let approx = sum.probability(&relation, &tuple).unwrap();
            assert!((0.0..=1.0).contains(&approx));
            assert!(
                approx + 1e-12 >= viterbi,
                "{relation}{tuple:?}: add-mult {approx} < max-prob {viterbi}"
            );
        }
    }
}

#[test]
fn small_k_keeps_the_most_likely_proofs() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/problog/independent_paths.nesy");
    let program = Program::from_files(&[&file]).unwrap();
    let (one, _) = program
        .evaluate_tagged(Semiring::TopK(1), &Limits::default())
        .unwrap();
    let d = [Value::symbol("a"), Value::symbol("d")];
    // best proof a-b-d: 0.9 * 0.8
    assert!((one.probability("path", &d).unwrap() - 0.72).abs() < 1e-12);
    assert_eq!(
        one.proofs("path", &d),
        vec![vec!["edge(a, b)".to_string(), "edge(b, d)".to_string()]]
    );
    let (plain, _) = program
        .evaluate_tagged(Semiring::Bool, &Limits::default())
        .unwrap();
    assert_eq!(plain.probability("path", &d), Some(1.0));
    // bool through the tagged API agrees with plain evaluation, negation
    // included: every fact holds, so `dry :- not wet.` does not.
    let family = Program::from_files(&["rules/probabilistic.nesy"]).unwrap();
    let (tagged, _) = family
        .evaluate_tagged(Semiring::Bool, &Limits::default())
        .unwrap();
    let plain_eval = family.evaluate(&Limits::default()).unwrap();
    assert_eq!(tagged.probability("dry", &[]), Some(0.0));
    assert_eq!(tagged.probability("wet", &[]), Some(1.0));
    assert_eq!(
        tagged.relation("knows").unwrap().rows.len(),
        plain_eval.relation("knows").unwrap().len()
    );
}

#[test]
fn the_heads_of_a_disjunction_exclude_each_other() {
    let program = Program::from_source(
        "w.nesy",
        "0.2 :: weather(sun); 0.5 :: weather(rain); 0.3 :: weather(snow).
         both :- weather(sun), weather(rain).
         wet :- weather(rain). wet :- weather(snow).
         dry :- not wet.",
    )
    .unwrap();
    for semiring in [Semiring::TopK(10), Semiring::Why] {
        let (tagged, _) = program
            .evaluate_tagged(semiring, &Limits::default())
            .unwrap();
        // A proof that takes two heads of one disjunction is dropped.
        assert!(tagged.proofs("both", &[]).is_empty(), "{semiring}");
        assert_eq!(tagged.probability("both", &[]).unwrap_or(0.0), 0.0);
        // "Any of them" is their sum, not a noisy-or (0.65).
        let wet = tagged.probability("wet", &[]).unwrap();
        assert!((wet - 0.8).abs() < 1e-12, "{semiring}: {wet}");
        let dry = tagged.probability("dry", &[]).unwrap();
        assert!((dry - 0.2).abs() < 1e-12, "{semiring}: {dry}");
    }
    // Each head's probability is the one written, under every semiring.
    for semiring in [Semiring::MaxProb, Semiring::AddMult, Semiring::TopK(1)] {
        let (tagged, _) = program
            .evaluate_tagged(semiring, &Limits::default())
            .unwrap();
        for (head, p) in [("sun", 0.2), ("rain", 0.5), ("snow", 0.3)] {
            let ours = tagged
                .probability("weather", &[Value::symbol(head)])
                .unwrap();
            assert!((ours - p).abs() < 1e-12, "{semiring}: {head} {ours}");
        }
    }
}
