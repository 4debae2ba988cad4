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

use nesy::Semiring;
use nesy::{DecideOptions, Engine, Error, Input, Limits, Program, Value};
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
    twohop(X, Z) :- edge(X, Y), edge(Y, Z).
    past_safe(X) :- safe(X, _), edge(X, _).
    linked(X, Y) :- twohop(X, Y), reach(Y, X).
    linked(X, Y) :- linked(Y, X), node(X).
    lonely(X) :- node(X), not linked(X, _), not banned(X).
    total(N) :- N = count { X, Y : reach(X, Y) }.
";

const RELATIONS: [&str; 14] = [
    "edge",
    "reach",
    "blocked",
    "safe",
    "fanout",
    "node",
    "constant",
    "banned",
    "twohop",
    "past_safe",
    "linked",
    "lonely",
    "total",
    "nothing",
];

/// The engine's own program for rule text: `Prepared` (the incremental
/// evaluation this checks) is the engine's, not part of the facade.
fn engine_program(text: &str) -> nesy_engine::Program {
    let checked = nesy_lang::check_source("p.nesy", text);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let mut program = nesy_engine::Program::new();
    program
        .add_source(&checked.source, &checked.program)
        .unwrap();
    program
}

/// The rules of a proof tree's steps, by place.
fn proof_rules(e: &nesy::Explanation, out: &mut Vec<String>) {
    let mut stack = vec![e];
    while let Some(node) = stack.pop() {
        out.extend(node.rule.as_ref().map(|r| r.location.to_string()));
        stack.extend(&node.premises);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    /// Adding request facts to the prepared base gives exactly what
    /// evaluating the program with those facts from scratch gives.
    #[test]
    fn incremental_evaluation_equals_evaluation_from_scratch(
        base in proptest::collection::vec((0u8..6, 0u8..6), 0..12),
        extra in proptest::collection::vec((0u8..6, 0u8..6), 0..6),
        banned in proptest::collection::vec(0u8..6, 0..3),
        extra_banned in proptest::collection::vec(0u8..6, 0..2),
    ) {
        let mut text = String::from(RULES);
        for (a, b) in &base {
            text.push_str(&format!("edge(n{a}, n{b}).\n"));
        }
        for b in &banned {
            text.push_str(&format!("banned(n{b}).\n"));
        }
        let program = Program::from_source("p.nesy", &text).unwrap();
        let prepared = engine_program(&text).prepare(&Limits::default()).unwrap();
        let mut input: Vec<(String, Vec<Value>)> = extra
            .iter()
            .map(|(a, b)| ("edge".to_string(), vec![Value::symbol(format!("n{a}")), Value::symbol(format!("n{b}"))]))
            .collect();
        input.extend(extra_banned.iter().map(|b| ("banned".to_string(), vec![Value::symbol(format!("n{b}"))])));
        let fast = prepared.evaluate_with(&input, &Limits::default()).unwrap();
        let mut full_program = program.clone();
        for (r, v) in &input {
            full_program.add_fact(r, v.clone()).unwrap();
        }
        let full = full_program.evaluate(&Limits::default()).unwrap();
        for name in RELATIONS {
            let expected = full.relation(name).map(|r| r.to_vecs());
            prop_assert_eq!(
                &fast.relation(name).map(|r| r.to_vecs()),
                &expected,
                "relation {}", name
            );
            // One relation alone, as a decision reads it.
            prop_assert_eq!(
                &prepared.relation_with(name, &input, &Limits::default()).unwrap(),
                &expected,
                "relation {} alone", name
            );
        }
        // Explanations searched in the request's own evaluation are those
        // of the whole program with the input: proofs and why-nots alike.
        let goals: Vec<(String, Vec<Option<Value>>)> = vec![
            ("safe".to_string(), vec![None, None]),
            ("lonely".to_string(), vec![None]),
            ("linked".to_string(), vec![Some(Value::symbol("n1")), None]),
            ("past_safe".to_string(), vec![Some(Value::symbol("n0"))]),
        ];
        let options = nesy::ExplainOptions::default();
        let from_request = prepared
            .explain_atoms_with(&input, &goals, &options, &Limits::default())
            .unwrap();
        let from_scratch = full_program
            .explain_atoms(&goals, &options, &Limits::default())
            .unwrap();
        prop_assert_eq!(
            serde_json::to_value(&from_request).unwrap(),
            serde_json::to_value(&from_scratch).unwrap()
        );
        // A decision log's rules, found without building explanations, are
        // the rules of those proofs.
        let logged = prepared
            .rules_used_with(&input, &goals, &Limits::default())
            .unwrap();
        for (explained, rules) in from_request.iter().zip(&logged) {
            let mut expected = Vec::new();
            for e in explained.iter().filter(|e| e.holds) {
                proof_rules(e, &mut expected);
            }
            expected.sort();
            expected.dedup();
            let mut got: Vec<String> = rules.iter().map(|r| r.location.to_string()).collect();
            got.sort();
            prop_assert_eq!(got, expected);
        }
        // A decision keeps the evaluation of what its relation reads and
        // explains from it: the same explanations and rules again.
        for (i, goal) in goals.iter().enumerate() {
            let mut answered = prepared
                .answer_with(&goal.0, &input, &Limits::default())
                .unwrap()
                .unwrap();
            let expected = full.relation(&goal.0).map(|r| r.to_vecs());
            prop_assert_eq!(Some(&answered.rows), expected.as_ref());
            let one = std::slice::from_ref(goal);
            let explained = prepared
                .explain_answered(&mut answered, one, &options, &Limits::default())
                .unwrap();
            prop_assert_eq!(
                serde_json::to_value(&explained[0]).unwrap(),
                serde_json::to_value(&from_scratch[i]).unwrap(),
                "goal {:?}", goal
            );
            let rules = prepared
                .rules_used_answered(&mut answered, one, &Limits::default())
                .unwrap();
            prop_assert_eq!(&rules[0], &logged[i]);
        }
        // `Engine::explain` with the input: what the whole program with
        // the input explains.
        let engine = Engine::builder().rules_text("p.nesy", &text).build().unwrap();
        let mut engine_input = Input::new();
        for (r, v) in &input {
            engine_input = engine_input.fact(r, v.clone());
        }
        for goal in ["safe(X, Y)", "lonely(X)", "linked(n1, Y)", "past_safe(n0)", "reach(X, X)"] {
            let from_engine = engine.explain(goal, &engine_input).unwrap();
            let whole = full_program
                .explain(goal, &options, &Limits::default())
                .unwrap();
            prop_assert_eq!(
                serde_json::to_value(&from_engine).unwrap(),
                serde_json::to_value(&whole).unwrap(),
                "goal {}", goal
            );
        }
        // The same kind of request again reuses its plan: same answers.
        let again = prepared.evaluate_with(&input, &Limits::default()).unwrap();
        prop_assert_eq!(
            again.relation("lonely").map(|r| r.to_vecs()),
            full.relation("lonely").map(|r| r.to_vecs())
        );
    }
}

/// `only_input`: the decisions the input adds; the rule file's own
/// applicants (and an input identical to one of them) are left out.
#[test]
fn only_the_tuples_the_input_adds() {
    let engine = credit();
    let input: Input =
        serde_json::from_str(r#"{"applicant": [["c1", 100000, 27000, 9]]}"#).unwrap();
    let all = engine
        .decide("decision", &input, &DecideOptions::default())
        .unwrap();
    assert!(all.results.len() > 1);
    let only = DecideOptions {
        only_input: true,
        ..DecideOptions::default()
    };
    let mine = engine.decide("decision", &input, &only).unwrap();
    assert_eq!(mine.results.len(), 1);
    assert_eq!(mine.results[0].args[0], Value::symbol("c1"));
    assert!(all.results.contains(&mine.results[0]));
    let base = engine.base().relation("decision").unwrap();
    let known = base.rows().next().unwrap().to_vec();
    let applicant = engine.base().relation("applicant").unwrap();
    let row = applicant
        .rows()
        .find(|r| r[0] == known[0])
        .unwrap()
        .to_vec();
    let again: Input = serde_json::from_value(serde_json::json!({"applicant": [row]})).unwrap();
    let none = engine.decide("decision", &again, &only).unwrap();
    assert!(none.results.is_empty() && !none.holds);
}

#[test]
fn only_what_depends_on_the_input_is_derived_again() {
    let prepared = engine_program(RULES).prepare(&Limits::default()).unwrap();
    assert_eq!(
        prepared.rederived(&["banned"]),
        ["banned", "blocked", "lonely", "past_safe", "safe"]
    );
    assert_eq!(
        prepared.rederived(&["edge"]),
        [
            "edge",
            "fanout",
            "linked",
            "lonely",
            "node",
            "past_safe",
            "reach",
            "safe",
            "total",
            "twohop"
        ]
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
    let a = engine
        .decide("decision", &by_fields, &nesy::DecideOptions::default())
        .unwrap();
    let b = engine
        .decide("decision", &by_position, &nesy::DecideOptions::default())
        .unwrap();
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
        engine
            .decide("decision", &typed, &nesy::DecideOptions::default())
            .unwrap()
            .results,
        a.results
    );
    assert!(
        a.results
            .iter()
            .any(|r| r.args == [Value::symbol("z1"), Value::string("approve")])
    );
    // The base applicants are decided too; the request adds one.
    assert_eq!(a.results.len(), 6);
    // Nothing of the request stays in the engine.
    let again = engine
        .decide(
            "decision",
            &Input::default(),
            &nesy::DecideOptions::default(),
        )
        .unwrap();
    assert_eq!(again.results.len(), 5);
}

#[test]
fn explanations_and_why_not() {
    let input: Input =
        serde_json::from_str(r#"{"applicant": [["z2", 90000, 1000, 9]], "blacklisted": [["z2"]]}"#)
            .unwrap();
    // rules/credit.nesy takes applicants only (`@input applicant.`).
    let refused = credit()
        .decide("approve", &input, &nesy::DecideOptions::explained())
        .unwrap_err();
    assert!(refused.to_string().contains("@input"), "{refused}");
    // A program that also takes blacklist entries says so.
    let engine = Engine::builder()
        .rules(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/credit.nesy"))
        .rules_text("inputs.nesy", "@input blacklisted.")
        .build()
        .unwrap();
    let d = engine
        .decide("approve", &input, &nesy::DecideOptions::explained())
        .unwrap();
    assert!(!d.results.iter().any(|r| r.args[0] == Value::symbol("z2")));
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
    let d = engine
        .decide("big", &input, &nesy::DecideOptions::explained())
        .unwrap();
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
        .semiring(Semiring::TopK(10))
        .build()
        .unwrap();
    let d = engine
        .decide(
            "approve",
            &Input::default(),
            &nesy::DecideOptions::default(),
        )
        .unwrap();
    let a1 = d
        .results
        .iter()
        .find(|r| r.args[0] == Value::symbol("a1"))
        .unwrap();
    assert!(
        (a1.probability - 0.9777777777777777).abs() < 1e-9,
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
        (Semiring::MaxProb, 0.3, Some(0.7)),
        // exact (ProbLog): 1 - (1 - 0.24)(1 - 0.3) = 0.468.
        (Semiring::TopK(100), 0.468, Some(0.532)),
        (Semiring::Bool, 1.0, None),
    ] {
        let engine = Engine::builder()
            .rules_text("weather.nesy", rules)
            .semiring(semiring)
            .build()
            .unwrap();
        let d = engine
            .decide("wet", &input, &nesy::DecideOptions::default())
            .unwrap();
        assert_eq!(d.results.len(), 2, "{semiring:?}");
        for r in &d.results {
            assert!(
                (r.probability - wet).abs() < 1e-12,
                "{semiring:?}: {}",
                r.probability
            );
        }
        let d = engine
            .decide("dry", &input, &nesy::DecideOptions::default())
            .unwrap();
        match dry {
            Some(p) => {
                assert_eq!(d.results.len(), 2, "{semiring:?}");
                assert!((d.results[0].probability - p).abs() < 1e-12, "{semiring:?}");
            }
            None => assert!(!d.holds),
        }
        // Nothing of one request stays for the next.
        let none = engine
            .decide("wet", &Input::default(), &nesy::DecideOptions::default())
            .unwrap();
        assert!(!none.holds, "{semiring:?}");
    }
}

#[test]
fn bad_requests_are_clear_errors() {
    let engine = credit();
    let err = |json: &str| {
        let input: Input = serde_json::from_str(json).unwrap();
        match engine.decide("decision", &input, &nesy::DecideOptions::default()) {
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
        engine.decide(
            "nothing",
            &Input::default(),
            &nesy::DecideOptions::default()
        ),
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
                    .decide("decision", &input, &nesy::DecideOptions::default())
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

#[test]
fn typed_input_round_trips_through_json() {
    let engine = credit();
    let typed = Input::new().fact(
        "applicant",
        vec![
            Value::symbol("z7"),
            Value::Int(80000),
            Value::Int(1000),
            Value::Int(5),
        ],
    );
    let json = serde_json::to_string(&typed).unwrap();
    assert_eq!(json, r#"{"applicant":[["z7",80000,1000,5]]}"#);
    let back: Input = serde_json::from_str(&json).unwrap();
    let options = nesy::DecideOptions::default();
    assert_eq!(
        engine.decide("decision", &typed, &options).unwrap().results,
        engine.decide("decision", &back, &options).unwrap().results
    );
}

/// A number in a request is read exactly as written, so it reads back the
/// same after being written (found by `fuzz/` `decision_input`; the
/// default float parser of serde_json can be one ulp off).
#[test]
fn numbers_in_an_input_read_back_exactly() {
    let text = r#"{"applicant":[["a2",500055555555555.56,400,1]]}"#;
    let input: Input = serde_json::from_str(text).unwrap();
    let written = serde_json::to_string(&input).unwrap();
    let again: Input = serde_json::from_str(&written).unwrap();
    assert_eq!(serde_json::to_string(&again).unwrap(), written);
    assert_eq!(
        serde_json::to_value(&input).unwrap()["applicant"][0][1].as_f64(),
        Some(500_055_555_555_555.56)
    );
}

#[test]
fn options_override_the_semiring_and_the_limits_for_one_call() {
    let engine = Engine::builder()
        .rules_text(
            "p.nesy",
            "@decl e(a: int).\n0.5 :: w(1).\n0.5 :: w(2).\nok(X) :- e(X), w(X).\nok(X) :- e(X), w(2).",
        )
        .build()
        .unwrap();
    let input: Input = serde_json::from_str(r#"{"e": [[1]]}"#).unwrap();
    let plain = engine
        .decide("ok", &input, &nesy::DecideOptions::default())
        .unwrap();
    assert_eq!(plain.results[0].probability, 1.0);
    let exact = nesy::DecideOptions {
        semiring: Some(Semiring::TopK(10)),
        ..nesy::DecideOptions::default()
    };
    let p = engine.decide("ok", &input, &exact).unwrap().results[0].probability;
    assert!((p - 0.75).abs() < 1e-12, "{p}");
    let cancelled = nesy::Cancel::new();
    cancelled.cancel();
    let stopped = nesy::DecideOptions {
        limits: Some(Limits {
            cancel: Some(cancelled),
            ..Limits::default()
        }),
        ..nesy::DecideOptions::default()
    };
    let e = engine.decide("ok", &input, &stopped).unwrap_err();
    assert!(e.is_limit(), "{e}");
    assert!(
        !engine
            .decide("nope", &input, &exact)
            .unwrap_err()
            .is_limit()
    );
}

#[test]
fn the_engine_shows_its_sources_base_and_explanations() {
    let engine = credit();
    assert!(engine.sources()[0].1.contains("@input applicant."));
    assert!(engine.base().relation("decision").unwrap().len() >= 5);
    let d = engine
        .decide("decision", &Input::new(), &nesy::DecideOptions::explained())
        .unwrap();
    let e = d.results[0].explanation.as_ref().unwrap();
    assert_eq!(e.to_string(), e.to_text());
    let json: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    assert_eq!(json["holds"], true);
    assert_eq!(engine.info().semiring, "bool");
}

#[test]
fn a_decision_under_a_semiring_explains_what_it_computed() {
    // Plain evaluation takes the flag as true, so there `permit` does not
    // hold; under top-k it has p = 0.95, and its explanation must say so.
    let engine = Engine::builder()
        .rules_text(
            "policy.nesy",
            "@input request.
             0.05 :: flagged(r1).
             deny(R) :- flagged(R).
             decision(R, permit) :- request(R), not deny(R).
             decision(R, deny) :- request(R), deny(R).",
        )
        .semiring(Semiring::TopK(10))
        .build()
        .unwrap();
    let input = Input::new().fact("request", vec![Value::symbol("r1")]);
    let decision = engine
        .decide("decision", &input, &DecideOptions::explained())
        .unwrap();
    let permit = decision
        .results
        .iter()
        .find(|r| r.args[1] == Value::symbol("permit"))
        .unwrap();
    assert!((permit.probability - 0.95).abs() < 1e-12);
    let why = permit.explanation.as_ref().unwrap();
    assert!(why.holds);
    let text = why.to_string();
    assert!(
        text.starts_with("decision(r1, permit)  [p = 0.950000"),
        "{text}"
    );
    assert!(text.contains("not flagged(r1)"), "{text}");
    assert!(!text.contains("does not hold"), "{text}");
}
