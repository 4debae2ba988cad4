//! Base-fact updates: one fact inserted then deleted through the live
//! dataflow (`nesy_dataflow::Live`), against evaluating the program again
//! (the native engine), on LUBM(1)'s OWL 2 RL closure and, through
//! `Engine::update`, on a small access policy (a ban added and lifted).
//!
//! `cargo bench --bench updates`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use nesy::{Engine, Input, Limits, Program, Value};
use std::time::Duration;

/// An access policy: group membership through a hierarchy, a deny list,
/// a count.
const POLICY: &str = r#"
@decl member(user: symbol, group: symbol).
@decl inside(group: symbol, parent: symbol).
@decl banned(user: symbol).
inside(admins, staff). inside(staff, everyone). inside(guests, everyone).
member(alice, admins). member(bob, staff). member(carol, guests). member(dave, staff).
in_group(U, G) :- member(U, G).
in_group(U, P) :- in_group(U, G), inside(G, P).
can_read(U) :- in_group(U, staff), not banned(U).
can_write(U) :- in_group(U, admins), not banned(U).
staff_size(N) :- N = count { U : in_group(U, staff) }.
"#;

fn lubm1() -> Program {
    let root = env!("CARGO_MANIFEST_DIR");
    Program::from_files(&[
        format!("{root}/rules/owl2rl.nesy"),
        format!("{root}/knowledge/lubm/lubm1.nesy"),
    ])
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("updates");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));

    let program = lubm1();
    let mut live = program.live(1).unwrap();
    let iri = |s: &str| Value::iri(s);
    let fact = (
        "t".to_string(),
        vec![
            iri("http://www.Department0.University0.edu/NewStudent"),
            iri("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            iri("http://swat.cse.lehigh.edu/onto/univ-bench.owl#GraduateStudent"),
        ],
    );
    let inserted = live.update(std::slice::from_ref(&fact), &[]).unwrap();
    assert!(inserted.added.len() > 1, "the new student's types follow");
    live.update(&[], std::slice::from_ref(&fact)).unwrap();
    group.bench_function("lubm1/live_insert", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += live.update(std::slice::from_ref(&fact), &[]).unwrap().time;
                live.update(&[], std::slice::from_ref(&fact)).unwrap();
            }
            total
        });
    });
    group.bench_function("lubm1/live_delete", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                live.update(std::slice::from_ref(&fact), &[]).unwrap();
                total += live.update(&[], std::slice::from_ref(&fact)).unwrap().time;
            }
            total
        });
    });
    group.bench_function("lubm1/evaluate_again", |b| {
        b.iter(|| program.evaluate(&Limits::default()).unwrap());
    });
    drop(live);

    let blacklist = Input::new().fact("banned", vec![Value::symbol("bob")]);
    for incremental in [true, false] {
        let mut engine = Engine::builder()
            .rules_text("policy.nesy", POLICY)
            .incremental(incremental)
            .build()
            .unwrap();
        let name = if incremental {
            "policy/engine_update_incremental"
        } else {
            "policy/engine_update_evaluate_again"
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                engine.update(&blacklist, &Input::new()).unwrap();
                engine.update(&Input::new(), &blacklist).unwrap();
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
