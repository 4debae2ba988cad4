//! `Engine::update`: base facts inserted and deleted, decisions after it
//! see them, clones taken before keep the old base; incremental (the
//! dataflow) and by re-evaluation agree.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use nesy::{DecideOptions, Engine, Input, Value};

const RULES: &str = "
    @decl member(user: symbol, group: symbol).
    @decl inside(group: symbol, parent: symbol).
    @decl banned(user: symbol).
    inside(admins, staff).
    member(alice, admins).
    in_group(U, G) :- member(U, G).
    in_group(U, P) :- in_group(U, G), inside(G, P).
    can_read(U) :- in_group(U, staff), not banned(U).
    staff_size(N) :- N = count { U : in_group(U, staff) }.
";

fn engines() -> Vec<(bool, Engine)> {
    let mut out = Vec::new();
    for incremental in [false, true] {
        let mut builder = Engine::builder().rules_text("acl.nesy", RULES);
        if incremental {
            builder = builder.incremental(true);
        }
        out.push((incremental, builder.build().unwrap()));
    }
    out
}

fn holds(engine: &Engine, relation: &str, args: &[Value]) -> bool {
    engine.base().contains(relation, args)
}

#[test]
fn inserts_and_deletes_are_seen_by_the_next_decisions_and_not_by_older_clones() {
    let sym = Value::symbol;
    for (incremental, mut engine) in engines() {
        let before = engine.clone();
        let update = engine
            .update(
                &Input::new().fact("member", vec![sym("bob"), sym("admins")]),
                &Input::new(),
            )
            .unwrap();
        assert_eq!((update.version, update.inserted, update.deleted), (1, 1, 0));
        assert_eq!(update.incremental, incremental);
        assert!(holds(&engine, "can_read", &[sym("bob")]));
        assert!(holds(&engine, "staff_size", &[Value::Int(2)]));
        assert!(
            !holds(&before, "can_read", &[sym("bob")]),
            "the old clone changed"
        );
        assert_eq!(before.version(), 0);

        let update = engine
            .update(
                &Input::new().fact("banned", vec![sym("alice")]),
                &Input::new().fact("member", vec![sym("bob"), sym("admins")]),
            )
            .unwrap();
        assert_eq!((update.version, update.inserted, update.deleted), (2, 1, 1));
        assert!(!holds(&engine, "can_read", &[sym("alice")]));
        assert!(!holds(&engine, "can_read", &[sym("bob")]));
        assert!(holds(&engine, "staff_size", &[Value::Int(1)]));
        // A decision with request input reads the new base.
        let decision = engine
            .decide(
                "can_read",
                &Input::new().fact("member", vec![sym("carol"), sym("admins")]),
                &DecideOptions::default(),
            )
            .unwrap();
        assert_eq!(decision.results.len(), 1, "{incremental}");
        assert_eq!(decision.results[0].args, [sym("carol")]);
        // Deleting what is not there, inserting what is: no change.
        let update = engine
            .update(
                &Input::new().fact("inside", vec![sym("admins"), sym("staff")]),
                &Input::new().fact("banned", vec![sym("nobody")]),
            )
            .unwrap();
        assert_eq!((update.inserted, update.deleted), (0, 0));
    }
}

#[test]
fn a_bad_update_is_refused_whole() {
    let sym = Value::symbol;
    for (_, mut engine) in engines() {
        let unknown = engine.update(
            &Input::new()
                .fact("banned", vec![sym("alice")])
                .fact("nope", vec![sym("x")]),
            &Input::new(),
        );
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("unknown relation `nope`")
        );
        let arity = engine.update(
            &Input::new().fact("banned", vec![sym("alice"), sym("bob")]),
            &Input::new(),
        );
        assert!(
            arity
                .unwrap_err()
                .to_string()
                .contains("takes 1 values, got 2")
        );
        let typed: Input = serde_json::from_str(r#"{"banned": [[1.5]]}"#).unwrap();
        let value = engine.update(&typed, &Input::new());
        assert!(value.is_err(), "a number taken as a user");
        assert_eq!(engine.version(), 0);
        assert!(holds(&engine, "can_read", &[sym("alice")]));
    }
}

#[test]
fn an_incremental_engine_refuses_what_the_dataflow_cannot_run() {
    let error = Engine::builder()
        .rules_text("m.nesy", "p(1). q(X) :- p(X).")
        .semiring(nesy::Semiring::MaxProb)
        .incremental(true)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("bool semiring only"), "{error}");
}

/// A large update is one pass per relation: 20,000 facts in and 20,000
/// out of a relation of 20,000 (checking each fact against every other
/// took minutes), with the counts exact.
#[test]
fn a_large_update_is_linear_and_counted_exactly() {
    let mut engine = Engine::builder()
        .rules_text("big.nesy", "@decl e(a: int, b: int).\nout(X) :- e(X, _).")
        .build()
        .unwrap();
    let edges = |from: i64, to: i64| {
        (from..to).fold(Input::new(), |input, i| {
            input.fact("e", vec![Value::Int(i), Value::Int(i + 1)])
        })
    };
    let first = engine.update(&edges(0, 20_000), &Input::new()).unwrap();
    assert_eq!((first.inserted, first.deleted), (20_000, 0));
    // Half of the inserts are there already; half of the deletes are not.
    let second = engine
        .update(&edges(10_000, 30_000), &edges(-10_000, 10_000))
        .unwrap();
    assert_eq!((second.inserted, second.deleted), (10_000, 10_000));
    assert_eq!(engine.base().relation("out").unwrap().len(), 20_000);
}

/// A fact both inserted and deleted ends deleted, and counts as deleted
/// when it was there.
#[test]
fn a_fact_both_inserted_and_deleted_is_deleted() {
    let sym = Value::symbol;
    for (_, mut engine) in engines() {
        let alice = Input::new().fact("member", vec![sym("alice"), sym("admins")]);
        let update = engine.update(&alice, &alice).unwrap();
        assert_eq!((update.inserted, update.deleted), (0, 1));
        assert!(!holds(&engine, "can_read", &[sym("alice")]));
    }
}

/// An update whose consequences outgrow the engine's limits is stopped by
/// them and refused whole: the base and its version stay as they were.
/// (The incremental engine's live dataflow runs updates without limits:
/// see issue 22.)
#[test]
fn an_update_past_the_limits_is_refused_and_changes_nothing() {
    let rules = "
        @decl seed(v: int).
        n(X) :- seed(X).
        n(Y) :- n(X), Y = X + 1, Y < 1000000.
        ok(yes).
    ";
    let limits = nesy::Limits {
        max_tuples: Some(10_000),
        ..nesy::Limits::default()
    };
    let mut engine = Engine::builder()
        .rules_text("grow.nesy", rules)
        .limits(limits)
        .build()
        .unwrap();
    let error = engine
        .update(
            &Input::new().fact("seed", vec![Value::Int(0)]),
            &Input::new(),
        )
        .unwrap_err();
    assert!(error.to_string().contains("tuple"), "{error}");
    assert_eq!(engine.version(), 0);
    assert!(!holds(&engine, "n", &[Value::Int(0)]));
    assert!(holds(&engine, "ok", &[Value::symbol("yes")]));
}
