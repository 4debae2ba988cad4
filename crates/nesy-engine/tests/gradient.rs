//! Gradients of probabilities with respect to tunable probabilities,
//! against central finite differences: tunable facts, rule weights and
//! annotated disjunctions (whose choices depend on every head before
//! them), with negation.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use nesy_engine::{Clock, Limits, Program, SemiringKind, Value};
use nesy_lang::check_source;
use proptest::prelude::*;

fn program(text: &str) -> Program {
    let checked = check_source("g.nesy", text);
    assert!(
        checked.diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        checked.diagnostics
    );
    let mut program = Program::new();
    program
        .add_source(&checked.source, &checked.program)
        .unwrap();
    program
}

fn probability(program: &Program, relation: &str, tuple: &[Value]) -> f64 {
    let tagged = program
        .evaluate_tagged(SemiringKind::DiffTopK(1000), &Limits::default())
        .unwrap();
    tagged.probability(relation, tuple).unwrap_or(0.0)
}

/// A program over tunable edges, a tunable rule and a tunable
/// disjunction, with the starting values given.
fn source(p: &[f64; 7]) -> String {
    format!(
        "t({}) :: edge(a, b). t({}) :: edge(b, c). t({}) :: edge(a, c).
         path(X, Y) :- edge(X, Y).
         path(X, Z) :- edge(X, Y), path(Y, Z).
         t({}) :: shortcut(X, Y) :- path(X, Y).
         node(a). node(c).
         t({}) :: colour(N, red); t({}) :: colour(N, green); 0.1 :: colour(N, blue) :- node(N).
         same :- colour(a, C), colour(c, C).
         lonely :- node(N), not shortcut(a, N), colour(N, red).
         t({}) :: noise.
         goal :- same, not noise.
         goal :- lonely.",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6]
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn gradients_match_finite_differences(
        p in proptest::array::uniform7(0.05f64..0.95),
    ) {
        // The disjunction's tunable heads must leave room for blue (0.1).
        let mut p = p;
        let scale = (p[4] + p[5]) / 0.85;
        if scale > 1.0 {
            p[4] /= scale;
            p[5] /= scale;
        }
        let program = program(&source(&p));
        let limits = Limits::default();
        let tagged = program.evaluate_tagged(SemiringKind::DiffTopK(1000), &limits).unwrap();
        let parameters = program.parameters();
        prop_assert_eq!(parameters.len(), 7);
        for (relation, tuple) in [
            ("goal", vec![]),
            ("same", vec![]),
            ("lonely", vec![]),
            ("shortcut", vec![Value::symbol("a"), Value::symbol("c")]),
        ] {
            let gradient = program
                .gradient(&tagged, relation, &tuple, &Clock::start(&limits))
                .unwrap();
            let value = gradient.probability;
            let gradient = gradient.parameters;
            prop_assert!((value - probability(&program, relation, &tuple)).abs() < 1e-12);
            for (key, at) in &parameters {
                let h = 1e-6;
                let mut up = program.clone();
                up.set_parameters([(key.clone(), at + h)]);
                let mut down = program.clone();
                down.set_parameters([(key.clone(), at - h)]);
                let numeric = (probability(&up, relation, &tuple)
                    - probability(&down, relation, &tuple))
                    / (2.0 * h);
                let ours = gradient
                    .iter()
                    .find(|(k, _)| k == key)
                    .map_or(0.0, |(_, d)| *d);
                prop_assert!(
                    (numeric - ours).abs() < 1e-5,
                    "{}{:?} by the t(...) at {}: {} vs {}",
                    relation, tuple, key.offset, ours, numeric
                );
            }
        }
    }
}

#[test]
fn a_request_on_a_prepared_program_has_the_gradient_of_the_whole_program() {
    // The input reaches `path` and what depends on it; the disjunction of
    // `colour` and `noise` stay as the base tagged them.
    let text = source(&[0.3, 0.6, 0.2, 0.7, 0.4, 0.3, 0.2]).replace(
        "t(0.3) :: edge(a, b).",
        "@input link. @decl link(x: symbol, y: symbol).",
    ) + " edge(X, Y) :- link(X, Y).";
    let limits = Limits::default();
    let semiring = SemiringKind::DiffTopK(1000);
    let prepared = program(&text)
        .prepare(&limits)
        .unwrap()
        .with_semiring(semiring, &limits)
        .unwrap();
    let input = [(
        "link".to_string(),
        vec![Value::symbol("a"), Value::symbol("b")],
    )];
    let request = prepared.evaluate_tagged_with(&input, &limits).unwrap();
    let mut whole = program(&text);
    whole
        .add_fact("link", vec![Value::symbol("a"), Value::symbol("b")])
        .unwrap();
    let tagged = whole.evaluate_tagged(semiring, &limits).unwrap();
    let clock = Clock::start(&limits);
    for relation in ["path", "goal"] {
        let tuple: &[Value] = if relation == "path" {
            &[Value::symbol("a"), Value::symbol("c")]
        } else {
            &[]
        };
        let ours = prepared
            .program()
            .gradient(&request, relation, tuple, &clock)
            .unwrap();
        let reference = whole.gradient(&tagged, relation, tuple, &clock).unwrap();
        assert!(ours.probability > 0.0);
        assert!((ours.probability - reference.probability).abs() < 1e-12);
        assert_eq!(ours.parameters.len(), reference.parameters.len());
        for ((k1, d1), (k2, d2)) in ours.parameters.iter().zip(&reference.parameters) {
            assert_eq!(k1, k2);
            assert!((d1 - d2).abs() < 1e-12, "{relation}: {d1} vs {d2}");
        }
    }
    // Only what the input reaches was derived again.
    assert!(
        !prepared
            .rederived(&["link"])
            .contains(&"colour".to_string())
    );
}

#[test]
fn a_disjunction_over_1_is_projected_as_a_whole() {
    // Heads pushed to 0.7, 0.5, 0.1 (sum 1.3) by a learning step: the
    // Euclidean projection takes 0.1 from each, the last stopping at the
    // floor: 0.6, 0.4, floor (less the floor's share). Projecting the first
    // two heads on their own first, then all three, as was done before,
    // gave about 0.567, 0.367, 0.067.
    for source in [
        "t(0.3) :: w(sun); t(0.3) :: w(rain); t(0.3) :: w(snow).",
        "d(x).\nt(0.3) :: w(X, sun); t(0.3) :: w(X, rain); t(0.3) :: w(X, snow) :- d(X).",
    ] {
        let mut program = program(source);
        let keys: Vec<_> = program.parameters().into_iter().map(|(k, _)| k).collect();
        program.set_parameters(keys.iter().cloned().zip([0.7, 0.5, 0.1]));
        let floor = 1e-4;
        program.normalize_disjunctions(floor);
        let values: Vec<f64> = program.parameters().into_iter().map(|(_, v)| v).collect();
        assert!((values[0] - 0.6).abs() < 1e-4, "{source}: {values:?}");
        assert!((values[1] - 0.4).abs() < 1e-4, "{source}: {values:?}");
        assert!((values[2] - floor).abs() < 1e-9, "{source}: {values:?}");
        // And EM's completion scales them to take the whole probability.
        program.set_parameters(keys.iter().cloned().zip([0.2, 0.2, 0.1]));
        program.complete_disjunctions();
        let values: Vec<f64> = program.parameters().into_iter().map(|(_, v)| v).collect();
        assert!(
            (values[0] - 0.4).abs() < 1e-12 && (values[2] - 0.2).abs() < 1e-12,
            "{values:?}"
        );
    }
}
