//! The differential-dataflow backend against the native engine: every
//! program in `rules/` (one and two workers), the golden relations, and
//! random programs drawn from the reference test's pool of rules
//! (recursion, negation, arithmetic, the five aggregates).

#![cfg(feature = "dataflow")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

mod common;

use nesy::dataflow::Options;
use nesy::{Evaluation, Limits, Program};
use proptest::prelude::*;
use std::collections::BTreeMap;

type Relations = BTreeMap<String, Vec<Vec<nesy::Value>>>;

fn relations(evaluation: &Evaluation) -> Relations {
    evaluation
        .relation_names()
        .into_iter()
        .filter(|name| !name.starts_with('$'))
        .map(|name| {
            let rows = evaluation
                .relation(&name)
                .map(|r| r.to_vecs())
                .unwrap_or_default();
            (name, rows)
        })
        .collect()
}

fn failure<T>(result: Result<T, nesy::Error>) -> nesy::Error {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn dataflow(program: &Program, workers: usize) -> Result<Evaluation, nesy::Error> {
    let options = Options {
        workers,
        ..Options::default()
    };
    program
        .evaluate_dataflow(&options, &Limits::default())
        .map(|e| e.expect("a single process collects the results"))
}

#[test]
fn every_rule_program_gives_the_native_answers_or_names_what_it_cannot_run() {
    let mut compared = 0;
    for path in common::nesy_files("rules") {
        let program = Program::from_files(&[&path]).unwrap();
        let native = program.evaluate(&Limits::default()).unwrap();
        for workers in [1, 2] {
            match dataflow(&program, workers) {
                Ok(evaluation) => {
                    assert_eq!(
                        relations(&evaluation),
                        relations(&native),
                        "{} with {workers} workers",
                        path.display()
                    );
                    compared += 1;
                }
                Err(error) => {
                    let text = error.to_string();
                    assert!(
                        text.contains("the dataflow backend cannot evaluate the model call"),
                        "{}: {text}",
                        path.display()
                    );
                }
            }
        }
    }
    // All but the programs that call models.
    assert!(compared >= 12, "only {compared} runs compared");
}

fn drawn_program(drawn: &common::random::Drawn) -> String {
    let (edges, weights, picks) = drawn;
    let mut text = common::random::facts(edges, weights);
    for (layer, pick) in common::random::POOL.iter().zip(picks) {
        for (rule, chosen) in layer.iter().zip(pick) {
            if *chosen {
                text.push_str(rule);
                text.push('\n');
            }
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_give_the_native_answers(
        drawn in common::random::program_strategy(),
        workers in 1usize..3,
    ) {
        let text = drawn_program(&drawn);
        let program = Program::from_source("random.nesy", &text).unwrap();
        let native = program.evaluate(&Limits::default()).unwrap();
        let evaluation = dataflow(&program, workers).unwrap();
        prop_assert_eq!(relations(&evaluation), relations(&native), "{} workers:\n{}", workers, text);
    }
}

#[test]
fn the_golden_relations_come_out_of_the_dataflow_too() {
    // `tests/golden/NAME/RELATION.tsv`, as the golden test reads them.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for path in common::nesy_files("rules") {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let program = Program::from_files(&[&path]).unwrap();
        let Ok(evaluation) = dataflow(&program, 2) else {
            continue;
        };
        for name in evaluation.derived_relations() {
            let file = name.replace(
                |c: char| !(c.is_alphanumeric() || c == '_' || c == '-'),
                "_",
            );
            let golden = root
                .join("tests/golden")
                .join(&stem)
                .join(format!("{file}.tsv"));
            let expected = std::fs::read_to_string(&golden).unwrap();
            let mut text = String::new();
            for row in evaluation.relation(name).unwrap().rows() {
                let fields: Vec<String> = row.iter().map(|v| v.to_plain_string()).collect();
                text.push_str(&fields.join("\t"));
                text.push('\n');
            }
            assert_eq!(text, expected, "{}", golden.display());
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} golden relations compared");
}

#[test]
fn a_model_call_is_refused_with_the_rule_named() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/credit.nesy");
    let program = Program::from_files(&[&path]).unwrap();
    let error = failure(dataflow(&program, 1));
    let text = error.to_string();
    assert!(text.contains("credit.nesy:"), "{text}");
    assert!(text.contains("cannot evaluate the model call"), "{text}");
}

#[test]
fn arithmetic_errors_and_limits_stop_the_dataflow_as_they_stop_the_engine() {
    let program =
        Program::from_source("bad.nesy", "v(1). v(0). q(Y) :- v(X), Y = 10 / X.").unwrap();
    let error = failure(dataflow(&program, 2));
    assert!(error.to_string().contains("division by zero"), "{error}");

    let endless = Program::from_source("n.nesy", "n(0). n(Y) :- n(X), Y = X + 1.").unwrap();
    let limits = Limits {
        max_tuples: Some(300),
        ..Limits::default()
    };
    let error = failure(endless.evaluate_dataflow(&Options::default(), &limits));
    assert!(error.is_limit(), "{error}");
    let limits = Limits {
        timeout: Some(std::time::Duration::from_millis(300)),
        ..Limits::default()
    };
    let error = failure(endless.evaluate_dataflow(&Options::default(), &limits));
    assert!(error.is_limit(), "{error}");
}

/// One step of a random update sequence: insert or delete an edge or a
/// weight.
#[derive(Clone, Debug)]
enum Step {
    Edge(bool, u8, u8),
    Weight(bool, u8, u8),
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        (any::<bool>(), 0u8..6, 0u8..6).prop_map(|(i, a, b)| Step::Edge(i, a, b)),
        (any::<bool>(), 0u8..6, 0u8..5).prop_map(|(i, x, v)| Step::Weight(i, x, v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// After each insert or delete, the live dataflow holds what
    /// evaluating the program from scratch on the facts of that moment
    /// gives.
    #[test]
    fn updates_give_what_evaluating_from_scratch_gives(
        drawn in common::random::program_strategy(),
        steps in prop::collection::vec(step_strategy(), 1..8),
        workers in 1usize..3,
    ) {
        let (mut edges, mut weights, picks) = drawn.clone();
        edges.sort();
        edges.dedup();
        weights.sort();
        weights.dedup();
        let program = Program::from_source("random.nesy", &drawn_program(&(edges.clone(), weights.clone(), picks.clone()))).unwrap();
        let mut live = program.live(workers).unwrap();
        for step in steps {
            let int = |x: u8| nesy::Value::Int(i64::from(x));
            let (insert, relation, values) = match step {
                Step::Edge(insert, a, b) => {
                    if insert { edges.push((a, b)) } else { edges.retain(|e| *e != (a, b)) }
                    (insert, "e", vec![int(a), int(b)])
                }
                Step::Weight(insert, x, v) => {
                    if insert { weights.push((x, v)) } else { weights.retain(|w| *w != (x, v)) }
                    (insert, "w", vec![int(x), int(v)])
                }
            };
            edges.sort();
            edges.dedup();
            weights.sort();
            weights.dedup();
            let fact = [(relation.to_string(), values)];
            if insert {
                live.update(&fact, &[]).unwrap();
            } else {
                live.update(&[], &fact).unwrap();
            }
            let text = drawn_program(&(edges.clone(), weights.clone(), picks.clone()));
            let scratch = Program::from_source("scratch.nesy", &text).unwrap();
            let expected = relations(&scratch.evaluate(&Limits::default()).unwrap());
            for (name, rows) in &expected {
                let actual = live.rows(name).unwrap_or_default();
                prop_assert_eq!(&actual, rows, "{} after {:?} with {} workers:\n{}", name, step, workers, text);
            }
        }
    }
}

#[test]
fn an_update_naming_an_unknown_relation_or_a_wrong_arity_changes_nothing() {
    let program = Program::from_source("tc.nesy", "e(1, 2). t(X, Y) :- e(X, Y).").unwrap();
    let mut live = program.live(1).unwrap();
    let int = nesy::Value::Int;
    let good = ("e".to_string(), vec![int(2), int(3)]);
    let unknown = ("nope".to_string(), vec![int(1)]);
    let short = ("e".to_string(), vec![int(1)]);
    let error = live.update(&[good.clone(), unknown], &[]).unwrap_err();
    assert!(
        error.to_string().contains("unknown relation `nope`"),
        "{error}"
    );
    let error = live.update(&[good], &[short]).unwrap_err();
    assert!(error.to_string().contains("has 2 columns"), "{error}");
    assert_eq!(live.rows("t").unwrap(), vec![vec![int(1), int(2)]]);
}

#[test]
fn an_update_that_breaks_a_rule_s_arithmetic_is_undone() {
    let program = Program::from_source("q.nesy", "v(1). q(X, Y) :- v(X), Y = 10 / X.").unwrap();
    let mut live = program.live(2).unwrap();
    let int = nesy::Value::Int;
    let zero = ("v".to_string(), vec![int(0)]);
    let error = live.update(&[zero], &[]).unwrap_err();
    assert!(error.to_string().contains("division by zero"), "{error}");
    assert_eq!(live.rows("v").unwrap(), vec![vec![int(1)]]);
    assert_eq!(live.rows("q").unwrap(), vec![vec![int(1), int(10)]]);
    // And it still takes updates.
    live.update(&[("v".to_string(), vec![int(2)])], &[])
        .unwrap();
    assert_eq!(live.rows("q").unwrap().len(), 2);
}
