//! A request on a prepared program costs what its input reaches: a model
//! is called for the request's rows only, where the rules can only add
//! tuples, and only for the relations the request asks for; relations that
//! may lose tuples are derived again and still agree with evaluating
//! everything from scratch.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use nesy_engine::{
    ForeignPredicate, Limits, ModelExplanation, ModelOutput, Program, Signature, Value,
};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A model that scores an income and counts its calls.
#[derive(Default)]
struct Counting {
    calls: AtomicUsize,
}

impl ForeignPredicate for Counting {
    fn describe(&self) -> String {
        "a counting scorer".to_string()
    }

    fn signature(&self, _method: &str) -> Result<Signature, String> {
        Ok(Signature {
            inputs: vec!["income".to_string()],
            outputs: vec!["score".to_string()],
            entity_inputs: false,
            exclusive: false,
        })
    }

    fn call(&self, _method: &str, inputs: &[Value]) -> Result<Vec<ModelOutput>, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let Some(Value::Int(income)) = inputs.first() else {
            return Err("an income".to_string());
        };
        Ok(vec![ModelOutput {
            values: vec![Value::Int(income / 1000)],
            probability: 1.0,
        }])
    }

    fn explain(&self, _method: &str, _inputs: &[Value]) -> Option<ModelExplanation> {
        None
    }
}

const RULES: &str = "
    @decl applicant(id: symbol, income: int).
    @model m = \"scorer\".
    score(A, S) :- applicant(A, I), m.score(I, S).
    good(A) :- score(A, S), S > 10.
    decline(A) :- applicant(A, _), not good(A).
    approved(N) :- N = count { A : good(A) }.
    audit(A, S) :- applicant(A, I), m.score(I, S), S > 1000000.
    rescored(A, S) :- applicant(A, I), score(A, _), m.score(I, S).
";

fn program(model: Arc<Counting>, applicants: usize) -> Program {
    let mut text = RULES.to_string();
    for i in 0..applicants {
        writeln!(text, "applicant(a{i}, {}).", 5000 + 97 * i).unwrap();
    }
    let checked = nesy_lang::check_source("credit.nesy", &text);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let mut program = Program::new();
    program.add_model("m", model);
    program
        .add_source(&checked.source, &checked.program)
        .unwrap();
    program
}

fn applicant(id: &str, income: i64) -> (String, Vec<Value>) {
    (
        "applicant".to_string(),
        vec![Value::symbol(id), Value::Int(income)],
    )
}

#[test]
fn a_request_calls_the_model_for_its_own_rows_only() {
    let model = Arc::new(Counting::default());
    let prepared = program(Arc::clone(&model), 300)
        .prepare(&Limits::default())
        .unwrap();
    // Once for `score`, once for `audit`, once for `rescored`.
    assert_eq!(model.calls.load(Ordering::SeqCst), 900);
    let input = [applicant("new", 50_000), applicant("poor", 2_000)];
    for _ in 0..3 {
        let before = model.calls.load(Ordering::SeqCst);
        let good = prepared
            .relation_with("good", &input, &Limits::default())
            .unwrap()
            .unwrap();
        // `audit` depends on the input too, but `good` does not read it.
        assert_eq!(model.calls.load(Ordering::SeqCst) - before, 2);
        assert!(good.contains(&vec![Value::symbol("new")]));
        assert!(!good.contains(&vec![Value::symbol("poor")]));
    }
    // `rescored` reads two relations the input changes: each new
    // derivation is found once (the first round's second plan reads the
    // base's applicants, not the new ones again): 2 calls for `score`, 2
    // for `rescored`.
    let before = model.calls.load(Ordering::SeqCst);
    let rescored = prepared
        .relation_with("rescored", &input, &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(model.calls.load(Ordering::SeqCst) - before, 4);
    assert_eq!(rescored.len(), 302);
    // An applicant already in the base adds nothing, and calls nothing.
    let before = model.calls.load(Ordering::SeqCst);
    prepared
        .relation_with(
            "good",
            &[applicant("a7", 5000 + 97 * 7)],
            &Limits::default(),
        )
        .unwrap();
    assert_eq!(model.calls.load(Ordering::SeqCst), before);
}

#[test]
fn relations_that_may_lose_tuples_agree_with_evaluation_from_scratch() {
    let model = Arc::new(Counting::default());
    let base = program(Arc::clone(&model), 40);
    let prepared = base.prepare(&Limits::default()).unwrap();
    let input = [
        applicant("new", 50_000),
        applicant("poor", 2_000),
        applicant("a3", 5000 + 97 * 3),
    ];
    let mut whole = program(Arc::clone(&model), 40);
    for (relation, values) in &input {
        whole.add_fact(relation, values.clone()).unwrap();
    }
    let expected = whole.evaluate(&Limits::default()).unwrap();
    let request = prepared.evaluate_with(&input, &Limits::default()).unwrap();
    for name in [
        "applicant",
        "score",
        "good",
        "decline",
        "approved",
        "audit",
        "rescored",
    ] {
        let want = expected.relation(name).map(|r| r.to_vecs());
        assert_eq!(request.relation(name).map(|r| r.to_vecs()), want, "{name}");
        assert_eq!(
            prepared
                .relation_with(name, &input, &Limits::default())
                .unwrap(),
            want,
            "{name} alone"
        );
    }
    assert!(
        request
            .relation("decline")
            .unwrap()
            .to_vecs()
            .contains(&vec![Value::symbol("poor")])
    );
}

/// Requests of more kinds (sets of input relations) than the prepared
/// program keeps plans for are planned for themselves, with the same
/// answers: a client cannot grow the cache by varying what it sends.
#[test]
fn more_kinds_of_request_than_are_kept_still_agree() {
    let mut text = String::from("seen(x0). seen(x1). seen(x2). seen(x3).\n");
    for i in 0..7 {
        writeln!(
            text,
            "@decl in{i}(v: symbol).\n@input in{i}.\nhit(X) :- in{i}(X)."
        )
        .unwrap();
    }
    text.push_str("miss(X) :- seen(X), not hit(X).\n");
    let checked = nesy_lang::check_source("kinds.nesy", &text);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let mut program = Program::new();
    program
        .add_source(&checked.source, &checked.program)
        .unwrap();
    let prepared = program.prepare(&Limits::default()).unwrap();
    for kind in 1u32..128 {
        let input: Vec<(String, Vec<Value>)> = (0..7)
            .filter(|i| kind & (1 << i) != 0)
            .map(|i| (format!("in{i}"), vec![Value::symbol(format!("x{}", i % 4))]))
            .collect();
        let mut whole = program.clone();
        for (relation, values) in &input {
            whole.add_fact(relation, values.clone()).unwrap();
        }
        let expected = whole.evaluate(&Limits::default()).unwrap();
        for name in ["hit", "miss"] {
            assert_eq!(
                prepared
                    .relation_with(name, &input, &Limits::default())
                    .unwrap(),
                expected.relation(name).map(|r| r.to_vecs()),
                "{name} for kind {kind}"
            );
        }
    }
}
