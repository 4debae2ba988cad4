//! The decision API: incremental evaluation agrees with evaluating from
//! scratch, inputs as arrays or objects, decisions with probabilities and
//! explanations, why-not, clear errors, and an engine shared by threads.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use nesy::engine::SemiringKind;
use nesy::{Engine, Error, Input, Limits, Program, Value};
use proptest::prelude::*;

const RULES: &str = "
    reach(X, Y) :- edge(X, Y).
    reach(X, Z) :- reach(X, Y), edge(Y, Z).
    blocked(X) :- banned(X).
    safe(X, Y) :- reach(X, Y), not blocked(Y).
    fanout(X, N) :- node(X), N = count { Y : edge(X, Y) }.
    node(X) :- edge(X, _).
    node(Y) :- edge(_, Y).
    constant(1).
";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Adding request facts to the prepared base gives exactly what
    /// evaluating the program with those facts from scratch gives.
    #[test]
    fn incremental_evaluation_equals_evaluation_from_scratch(
        base in proptest::collection::vec((0u8..6, 0u8..6), 0..12),
        extra in proptest::collection::vec((0u8..6, 0u8..6), 0..6),
        banned in proptest::collection::vec(0u8..6, 0..3),
    ) {
        let mut text = String::from(RULES);
        for (a, b) in &base {
            text.push_str(&format!("edge(n{a}, n{b}).\n"));
        }
        for b in &banned {
            text.push_str(&format!("banned(n{b}).\n"));
        }
        let program = Program::from_source("p.nesy", &text).unwrap();
        let prepared = program.engine().prepare(&Limits::default()).unwrap();
        let input: Vec<(String, Vec<Value>)> = extra
            .iter()
            .map(|(a, b)| ("edge".to_string(), vec![Value::symbol(format!("n{a}")), Value::symbol(format!("n{b}"))]))
            .collect();
        let fast = prepared.evaluate_with(&input, &Limits::default()).unwrap();
        let mut full_program = program.clone();
        for (r, v) in &input {
            full_program.add_fact(r, v.clone()).unwrap();
        }
        let full = full_program.evaluate(&Limits::default()).unwrap();
        for name in ["edge", "reach", "blocked", "safe", "fanout", "node", "constant", "banned"] {
            prop_assert_eq!(
                fast.relation(name).map(|r| r.to_vecs()),
                full.relation(name).map(|r| r.to_vecs()),
                "relation {}", name
            );
        }
    }
}

#[test]
fn only_what_depends_on_the_input_is_derived_again() {
    let program = Program::from_source("p.nesy", RULES).unwrap();
    let prepared = program.engine().prepare(&Limits::default()).unwrap();
    assert_eq!(
        prepared.rederived(&["banned"]),
        ["banned", "blocked", "safe"]
    );
    assert_eq!(
        prepared.rederived(&["edge"]),
        ["edge", "fanout", "node", "reach", "safe"]
    );
}

fn credit() -> Engine {
    Engine::builder()
        .rules(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/credit.nesy"))
        .build()
        .unwrap()
}

#[test]
fn decisions_take_input_as_arrays_or_objects() {
    let engine = credit();
    let by_fields: Input = serde_json::from_str(
        r#"{"applicant": [{"id": "z1", "income": 95000, "debt": 2000, "years_employed": 8}]}"#,
    )
    .unwrap();
    let by_position: Input =
        serde_json::from_str(r#"{"applicant": [["z1", 95000, 2000, 8]]}"#).unwrap();
    let a = engine.decide("decision", &by_fields, false).unwrap();
    let b = engine.decide("decision", &by_position, false).unwrap();
    assert_eq!(a.results, b.results);
    let typed = Input::new().fact(
        "applicant",
        vec![
            Value::symbol("z1"),
            Value::Int(95000),
            Value::Int(2000),
            Value::Int(8),
        ],
    );
    assert_eq!(
        engine.decide("decision", &typed, false).unwrap().results,
        a.results
    );
    assert!(
        a.results
            .iter()
            .any(|r| r.args == [serde_json::json!("z1"), serde_json::json!("approve")])
    );
    // The base applicants are decided too; the request adds one.
    assert_eq!(a.results.len(), 6);
    // Nothing of the request stays in the engine.
    let again = engine.decide("decision", &Input::default(), false).unwrap();
    assert_eq!(again.results.len(), 5);
}

#[test]
fn explanations_and_why_not() {
    let input: Input =
        serde_json::from_str(r#"{"applicant": [["z2", 90000, 1000, 9]], "blacklisted": [["z2"]]}"#)
            .unwrap();
    // rules/credit.nesy takes applicants only (`@input applicant.`).
    let refused = credit().decide("approve", &input, true).unwrap_err();
    assert!(refused.to_string().contains("@input"), "{refused}");
    // A program that also takes blacklist entries says so.
    let engine = Engine::builder()
        .rules(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/credit.nesy"))
        .rules_text("inputs.nesy", "@input blacklisted.")
        .build()
        .unwrap();
    let d = engine.decide("approve", &input, true).unwrap();
    assert!(!d.results.iter().any(|r| r.args[0] == "z2"));
    assert!(
        d.results
            .iter()
            .all(|r| r.explanation.as_ref().is_some_and(|e| e.holds))
    );
    assert!(
        d.rules_used.contains(&"approve_by_model".to_string()),
        "{:?}",
        d.rules_used
    );
    let why = engine.explain("approve(z2)", &input).unwrap();
    assert!(!why[0].holds);
    assert!(
        why[0].attempts[0].failed.contains("not blacklisted(z2)"),
        "{:?}",
        why[0].attempts
    );
    // A decision that finds nothing says so, and why.
    let engine = Engine::builder()
        .rules_text(
            "t.nesy",
            "@decl order(id: symbol, total: int).\nbig(O) :- order(O, T), T > 1000.\n",
        )
        .build()
        .unwrap();
    let input: Input = serde_json::from_str(r#"{"order": [{"id": "o1", "total": 20}]}"#).unwrap();
    let d = engine.decide("big", &input, true).unwrap();
    assert!(!d.holds && d.results.is_empty());
    let why = d.why_not.unwrap();
    assert!(!why.holds);
    assert!(
        why.attempts[0].failed.contains("20 > 1000"),
        "{:?}",
        why.attempts
    );
}

#[test]
fn probabilities_come_from_the_semiring() {
    let engine = Engine::builder()
        .rules(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/credit.nesy"))
        .semiring(SemiringKind::TopK(10))
        .build()
        .unwrap();
    let d = engine.decide("approve", &Input::default(), false).unwrap();
    let a1 = d.results.iter().find(|r| r.args[0] == "a1").unwrap();
    assert!(
        (a1.probability - 0.8205128205128205).abs() < 1e-9,
        "{}",
        a1.probability
    );
}

#[test]
fn under_a_semiring_a_decision_is_tagged_with_its_input() {
    // `dry` holds only in the worlds where `wet` does not: plain evaluation
    // (every fact true) never derives it, a semiring gives it its chance.
    let rules = "@decl day(d: symbol).
        0.3 :: rain. 0.5 :: sprinkler.
        0.8 :: wet(D) :- day(D), rain.
        0.6 :: wet(D) :- day(D), sprinkler.
        dry(D) :- day(D), not wet(D).";
    let input: Input = serde_json::from_str(r#"{"day": [["mon"], ["tue"]]}"#).unwrap();
    for (semiring, wet, dry) in [
        // max-prob: the best proof of wet, 0.5 * 0.6; not wet = 1 - 0.3.
        (SemiringKind::MaxProb, 0.3, Some(0.7)),
        // exact (ProbLog): 1 - (1 - 0.24)(1 - 0.3) = 0.468.
        (SemiringKind::TopK(100), 0.468, Some(0.532)),
        (SemiringKind::Bool, 1.0, None),
    ] {
        let engine = Engine::builder()
            .rules_text("weather.nesy", rules)
            .semiring(semiring)
            .build()
            .unwrap();
        let d = engine.decide("wet", &input, false).unwrap();
        assert_eq!(d.results.len(), 2, "{semiring:?}");
        for r in &d.results {
            assert!(
                (r.probability - wet).abs() < 1e-12,
                "{semiring:?}: {}",
                r.probability
            );
        }
        let d = engine.decide("dry", &input, false).unwrap();
        match dry {
            Some(p) => {
                assert_eq!(d.results.len(), 2, "{semiring:?}");
                assert!((d.results[0].probability - p).abs() < 1e-12, "{semiring:?}");
            }
            None => assert!(!d.holds),
        }
        // Nothing of one request stays for the next.
        let none = engine.decide("wet", &Input::default(), false).unwrap();
        assert!(!none.holds, "{semiring:?}");
    }
}

#[test]
fn bad_requests_are_clear_errors() {
    let engine = credit();
    let err = |json: &str| {
        let input: Input = serde_json::from_str(json).unwrap();
        match engine.decide("decision", &input, false) {
            Err(Error::Request(m)) => m,
            other => panic!("expected a request error, got {other:?}"),
        }
    };
    assert!(err(r#"{"nope": [[1]]}"#).contains("unknown relation `nope`"));
    assert!(err(r#"{"applicant": [["a", 1]]}"#).contains("applicant takes 4 values, got 2"));
    assert!(err(r#"{"applicant": [{"id": "a", "salary": 1}]}"#).contains("unknown field `salary`"));
    assert!(
        err(r#"{"applicant": [{"id": "a", "income": 1, "debt": 2}]}"#)
            .contains("missing field `years_employed`")
    );
    assert!(
        err(r#"{"applicant": [["a", "lots", 2, 3]]}"#).contains("applicant[0]: expected a number")
    );
    assert!(err(r#"{"applicant": [["a", 1.5, 2, 3]]}"#).contains("not an integer"));
    assert!(matches!(
        engine.decide("nothing", &Input::default(), false),
        Err(Error::Request(_))
    ));
}

#[test]
fn one_engine_serves_many_threads() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Engine>();
    let engine = credit();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let input: Input = serde_json::from_str(&format!(
                    r#"{{"applicant": [["t{i}", 90000, 1000, 5]]}}"#
                ))
                .unwrap();
                engine
                    .decide("decision", &input, false)
                    .unwrap()
                    .results
                    .len()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 6);
    }
}
