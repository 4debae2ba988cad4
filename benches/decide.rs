//! The decision API: one `Engine::decide` on the credit example (rules
//! calling the CART tree) with one applicant as input, against evaluating
//! the whole program with that applicant added.
//!
//! `cargo bench --bench decide`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use nesy::Semiring;
use nesy::{Engine, Input, Limits, Program, Value};

/// The credit example's policy with a score rule in place of the tree,
/// and its five applicants as facts.
const POLICY: &str = r#"
@decl applicant(id: symbol, income: int, debt: int, years_employed: int).
@decl blacklisted(id: symbol).
@input applicant.
applicant(a1, 85000, 12000, 6).
applicant(a2, 42000, 30000, 1).
applicant(a3, 120000, 8000, 15).
applicant(a4, 30000, 20000, 2).
applicant(a5, 64000, 22000, 4).
blacklisted(a2).
debt_ratio(A, R) :- applicant(A, I, D, _), I > 0, R = D * 100 / I.
score(A, S) :- applicant(A, I, _, Y), S = I / 1000 + Y * 3.
approve(A) :- score(A, S), S > 60, not blacklisted(A).
refer(A) :- approve(A), debt_ratio(A, R), R > 25.
decision(A, "approve") :- approve(A), not refer(A).
decision(A, "refer") :- refer(A).
decision(A, "decline") :- applicant(A, _, _, _), not approve(A).
total_debt(S) :- S = sum { D, A : applicant(A, _, D, _) }.
lowest_income(M) :- M = min { I, A : applicant(A, I, _, _) }.
"#;

/// The program with the benchmark's applicant added as a fact.
fn with_applicant(program: &Program) -> Program {
    let mut p = program.clone();
    p.add_fact(
        "applicant",
        vec![
            Value::symbol("c1"),
            Value::Int(100000),
            Value::Int(27000),
            Value::Int(9),
        ],
    )
    .unwrap();
    p
}

/// A decision rule beside LUBM(1) and its OWL 2 RL closure (150,790
/// triples), which the rule does not depend on.
fn next_to_lubm1(semiring: Semiring) -> Engine {
    Engine::builder()
        .rules(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/owl2rl.nesy"))
        .rules(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/knowledge/lubm/lubm1.nesy"
        ))
        .rules_text(
            "admit.nesy",
            "@decl request(id: symbol, score: int).\nadmit(R) :- request(R, S), S > 50.\n",
        )
        .semiring(semiring)
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/credit.nesy");
    let engine = Engine::builder().rules(rules).build().unwrap();
    let input: Input =
        serde_json::from_str(r#"{"applicant": [["c1", 100000, 27000, 9]]}"#).unwrap();
    let mut group = c.benchmark_group("decide");
    group.bench_function("engine_decide/credit", |b| {
        b.iter(|| {
            engine
                .decide("decision", &input, &nesy::DecideOptions::default())
                .unwrap()
                .results
                .len()
        })
    });
    group.bench_function("engine_decide_explained/credit", |b| {
        b.iter(|| {
            engine
                .decide("decision", &input, &nesy::DecideOptions::explained())
                .unwrap()
                .results
                .len()
        })
    });
    // Only the request's own decision, explained (`"only": "input"`).
    group.bench_function("engine_decide_explained/credit_input", |b| {
        let options = nesy::DecideOptions {
            only_input: true,
            ..nesy::DecideOptions::explained()
        };
        b.iter(|| {
            engine
                .decide("decision", &input, &options)
                .unwrap()
                .results
                .len()
        })
    });
    // What `nesy serve` asks with its decision log on: the rules of the
    // first ten results' proofs, without explanations.
    group.bench_function("engine_decide_logged/credit", |b| {
        let options = nesy::DecideOptions {
            rules_of: 10,
            ..nesy::DecideOptions::default()
        };
        b.iter(|| {
            engine
                .decide("decision", &input, &options)
                .unwrap()
                .rules_used
                .len()
        })
    });
    // The same policy with a rule where the tree was: no model call.
    let rules_only = Engine::builder()
        .rules_text("policy.nesy", POLICY)
        .build()
        .unwrap();
    group.bench_function("engine_decide/credit_rules_only", |b| {
        b.iter(|| {
            rules_only
                .decide("decision", &input, &nesy::DecideOptions::default())
                .unwrap()
                .results
                .len()
        })
    });
    let program = Program::from_files(&[rules]).unwrap();
    group.bench_function("whole_program/credit", |b| {
        b.iter(|| {
            let p = with_applicant(&program);
            p.evaluate(&Limits::default())
                .unwrap()
                .relation("decision")
                .unwrap()
                .len()
        })
    });
    // Under a semiring: the prepared tagged base re-derives and re-tags
    // only what depends on the applicant, against tagging the whole
    // program with the applicant added.
    let tagged = Engine::builder()
        .rules(rules)
        .semiring(Semiring::MaxProb)
        .build()
        .unwrap();
    group.bench_function("engine_decide_max_prob/credit", |b| {
        b.iter(|| {
            tagged
                .decide("decision", &input, &nesy::DecideOptions::default())
                .unwrap()
                .results
                .len()
        })
    });
    group.bench_function("whole_program_max_prob/credit", |b| {
        b.iter(|| {
            let p = with_applicant(&program);
            p.evaluate_tagged(Semiring::MaxProb, &Limits::default())
                .unwrap()
                .0
                .relation("decision")
                .unwrap()
                .rows
                .len()
        })
    });
    // A decision next to a large knowledge base: LUBM(1) and its OWL 2 RL
    // closure (150,790 triples) that the decision rule does not depend on.
    let lubm = next_to_lubm1(Semiring::Bool);
    let request: Input = serde_json::from_str(r#"{"request": [["r1", 70]]}"#).unwrap();
    group.sample_size(20);
    group.bench_function("engine_decide/next_to_lubm1", |b| {
        b.iter(|| {
            lubm.decide("admit", &request, &nesy::DecideOptions::default())
                .unwrap()
                .results
                .len()
        })
    });
    // The same under max-prob: the closure is tagged once, at build time.
    let lubm_tagged = next_to_lubm1(Semiring::MaxProb);
    group.bench_function("engine_decide_max_prob/next_to_lubm1", |b| {
        b.iter(|| {
            lubm_tagged
                .decide("admit", &request, &nesy::DecideOptions::default())
                .unwrap()
                .results
                .len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
