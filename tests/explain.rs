//! Explanations: proof trees are valid (every step an instance of the rule
//! it names, every leaf a base fact), why-not finds the missing link, and
//! the JSON shape is the documented one.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use nesy::{ExplainOptions, Explanation, Limits, Program, Value};
use proptest::prelude::*;
use std::collections::BTreeSet;

const TC: &str = "reach(X, Y) :- edge(X, Y).\nreach(X, Z) :- reach(X, Y), edge(Y, Z).\n";

fn tc_program(edges: &[(u8, u8)]) -> Program {
    let mut text = String::new();
    for (a, b) in edges {
        text.push_str(&format!("edge(n{a}, n{b}).\n"));
    }
    text.push_str(TC);
    Program::from_source("tc.nesy", &text).unwrap()
}

fn explain(program: &Program, goal: &str) -> Explanation {
    let mut all = program
        .explain(goal, &ExplainOptions::default(), &Limits::default())
        .unwrap();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

/// Checks a transitive-closure proof step by step against the two rules.
fn check_tc_proof(node: &Explanation, edges: &BTreeSet<(String, String)>, first_rule_line: usize) {
    assert!(node.holds, "{}", node.fact);
    let b = |name: &str| node.bindings.get(name).map(Value::to_string).unwrap();
    match node.kind {
        nesy::explanation::NodeKind::Fact => {
            let inner = node
                .fact
                .strip_prefix("edge(")
                .and_then(|f| f.strip_suffix(')'))
                .unwrap();
            let (x, y) = inner.split_once(", ").unwrap();
            assert!(
                edges.contains(&(x.to_string(), y.to_string())),
                "{} is not a base fact",
                node.fact
            );
            assert!(
                node.source.as_deref().unwrap().starts_with("tc.nesy:"),
                "{:?}",
                node.source
            );
        }
        nesy::explanation::NodeKind::Rule => {
            let location = &node.rule.as_ref().unwrap().location;
            match location.to_string().as_str() {
                l if l == format!("tc.nesy:{first_rule_line}:1") => {
                    assert_eq!(node.fact, format!("reach({}, {})", b("X"), b("Y")));
                    assert_eq!(node.premises.len(), 1);
                    assert_eq!(
                        node.premises[0].fact,
                        format!("edge({}, {})", b("X"), b("Y"))
                    );
                }
                l if l == format!("tc.nesy:{}:1", first_rule_line + 1) => {
                    assert_eq!(node.fact, format!("reach({}, {})", b("X"), b("Z")));
                    assert_eq!(node.premises.len(), 2);
                    assert_eq!(
                        node.premises[0].fact,
                        format!("reach({}, {})", b("X"), b("Y"))
                    );
                    assert_eq!(
                        node.premises[1].fact,
                        format!("edge({}, {})", b("Y"), b("Z"))
                    );
                }
                other => panic!("unknown rule location {other}"),
            }
            for p in &node.premises {
                check_tc_proof(p, edges, first_rule_line);
            }
        }
        other => panic!("unexpected node kind {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_derived_fact_has_a_valid_proof(edges in prop::collection::vec((0u8..6, 0u8..6), 1..12)) {
        let program = tc_program(&edges);
        let names: BTreeSet<(String, String)> = edges.iter().map(|(a, b)| (format!("n{a}"), format!("n{b}"))).collect();
        let evaluation = program.evaluate(&Limits::default()).unwrap();
        for row in evaluation.relation("reach").unwrap().rows() {
            let goal = format!("reach({}, {})", row[0], row[1]);
            let proof = explain(&program, &goal);
            prop_assert_eq!(&proof.fact, &goal);
            check_tc_proof(&proof, &names, edges.len() + 1);
        }
    }
}

#[test]
fn why_not_names_the_missing_link() {
    let program = tc_program(&[(1, 2), (2, 3), (4, 5)]);
    let why = explain(&program, "reach(n1, n5)");
    assert!(!why.holds);
    assert_eq!(why.kind, nesy::explanation::NodeKind::Missing);
    assert_eq!(why.attempts.len(), 2);
    assert_eq!(why.attempts[0].failed, "edge(n1, n5)");
    assert_eq!(why.attempts[0].reason, "no fact matches");
    // reach(n1, Y) holds for Y = n2, then edge(n2, n5) is missing
    assert_eq!(why.attempts[1].failed, "edge(n2, n5)");
    assert_eq!(
        why.attempts[1].bindings.get("Y"),
        Some(&Value::symbol("n2"))
    );
    let text = why.attempts[1].rule.location.to_string();
    assert_eq!(text, "tc.nesy:5:1");
}

#[test]
fn negation_and_aggregates_are_explained() {
    let program = Program::from_files(&["rules/family.nesy"]).unwrap();
    let why_not = explain(&program, "orphan(bob)");
    assert!(!why_not.holds);
    assert_eq!(why_not.attempts[0].failed, "not parent(_, bob)");
    let because = why_not.attempts[0].because.as_ref().unwrap();
    assert_eq!(because.fact, "parent(alice, bob)");
    assert_eq!(because.source.as_deref(), Some("rules/family.nesy:12:1"));

    let why = explain(&program, "children(bob, 2)");
    let aggregate = why.premises[1].aggregate.as_ref().unwrap();
    assert_eq!(aggregate.function, "count");
    assert_eq!(
        aggregate.rows,
        vec![vec![Value::symbol("carol")], vec![Value::symbol("dave")]]
    );
    assert_eq!(aggregate.result, Value::Int(2));

    let why = explain(&program, "orphan(alice)");
    assert_eq!(why.premises[1].fact, "not parent(_, alice)");
    assert_eq!(why.premises[1].kind, nesy::explanation::NodeKind::Negation);
}

#[test]
fn all_lists_alternative_proofs_and_the_json_shape_is_stable() {
    let program = tc_program(&[(1, 2), (2, 4), (1, 3), (3, 4)]);
    let options = ExplainOptions {
        all: true,
        ..ExplainOptions::default()
    };
    let why = program
        .explain("reach(n1, n4)", &options, &Limits::default())
        .unwrap()
        .remove(0);
    assert_eq!(why.alternatives.len(), 1);
    assert_ne!(why.premises[0].fact, why.alternatives[0].premises[0].fact);

    let json = serde_json::to_value(&why).unwrap();
    for key in [
        "fact", "holds", "tag", "kind", "rule", "bindings", "source", "premises",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["rule"]["location"], "tc.nesy:6:1");
    assert_eq!(json["rule"]["name"], serde_json::Value::Null);
    assert_eq!(json["tag"], true);
    let leaf = &json["premises"][1];
    assert_eq!(leaf["kind"], "fact");
    assert_eq!(leaf["rule"], serde_json::Value::Null);
    assert!(why.to_dot().starts_with("digraph explanation {"));
    assert!(why.to_text().contains("alternative proof 2:"));
}

#[test]
fn a_goal_with_variables_explains_each_answer() {
    let program = tc_program(&[(1, 2), (2, 3)]);
    let all = program
        .explain(
            "reach(n1, X)",
            &ExplainOptions::default(),
            &Limits::default(),
        )
        .unwrap();
    let facts: Vec<&str> = all.iter().map(|e| e.fact.as_str()).collect();
    assert_eq!(facts, ["reach(n1, n2)", "reach(n1, n3)"]);
    let none = program
        .explain(
            "reach(n3, X)",
            &ExplainOptions::default(),
            &Limits::default(),
        )
        .unwrap();
    assert_eq!(none.len(), 1);
    assert!(!none[0].holds);
    assert_eq!(none[0].fact, "reach(n3, X)");
}

fn kept(text: &str, goal: &str) -> Vec<String> {
    let program = Program::from_source("k.nesy", text).unwrap();
    let explained = program
        .explain_tagged(
            goal,
            &ExplainOptions::default(),
            nesy::Semiring::TopK(10),
            &Limits::default(),
        )
        .unwrap();
    // One text per kept proof.
    explained[0]
        .premises
        .iter()
        .map(|proof| proof.to_string())
        .collect()
}

#[test]
fn each_kept_proof_is_drawn_as_the_derivation_it_stands_for() {
    // Two weighted rules derive `h` from the same fact: each proof shows
    // its own rule.
    let proofs = kept("a.\n0.6 :: h :- a.\n0.3 :: h :- a.\n", "h");
    assert_eq!(proofs.len(), 2);
    assert!(
        proofs[0].contains("h  [by k.nesy:2:1 (weight 0.6)]"),
        "{}",
        proofs[0]
    );
    assert!(
        proofs[1].contains("h  [by k.nesy:3:1 (weight 0.3)]"),
        "{}",
        proofs[1]
    );
    // A disjunction's heads: each proof takes its own, with the head's
    // probability, and says which choices must fail.
    let proofs = kept(
        "0.3 :: weather(sun); 0.5 :: weather(rain); 0.2 :: weather(snow).\n\
         wet :- weather(rain).\nwet :- weather(snow).\n",
        "wet",
    );
    assert!(
        proofs[0].contains("weather(rain)  [p = 0.500000; fact at"),
        "{}",
        proofs[0]
    );
    assert!(!proofs[0].contains("weather(snow)  [p"), "{}", proofs[0]);
    assert!(
        proofs[0].contains("not choice 1 of 3: weather(sun)"),
        "{}",
        proofs[0]
    );
    assert!(
        proofs[1].contains("weather(snow)  [p = 0.200000; fact at"),
        "{}",
        proofs[1]
    );
    // A negation holds by the proof's events, though the negated fact is
    // in the support (it may hold in other worlds).
    let proofs = kept(
        "0.9 :: verified(a1).\n0.05 :: fraud(a1).\napplicant(a1).\n\
         approve(A) :- applicant(A), verified(A), not fraud(A).\n",
        "approve(a1)",
    );
    assert_eq!(proofs.len(), 1);
    assert!(
        proofs[0].contains("not fraud(a1)  [holds in this proof (see its `not` events)]"),
        "{}",
        proofs[0]
    );
    assert!(proofs[0].contains("not fraud(a1)  [p = 0.950000; must not happen]"));
    assert!(proofs[0].contains("verified(a1)  [p = 0.900000; fact at k.nesy:1:1]"));
}

#[test]
fn a_kept_proof_shows_the_model_answer_it_uses() {
    // A tree's classes are one disjunction: `some` has one proof per class,
    // and each proof's tree shows its own class, not the first one found.
    let text = "@model credit = \"models/credit.tree\".\n\
                applicant(a1, 52000, 4000, 3).\n\
                some(A) :- applicant(A, I, D, Y), credit.prob(I, D, Y, C, _).\n";
    let proofs = kept(text, "some(a1)");
    assert_eq!(proofs.len(), 2, "{proofs:?}");
    let used = |class: &str, p: &str| format!("credit.prob(52000, 4000, 3) -> (\"{class}\", {p}");
    // Each tree's answer (the line with the tree's reason), then for the
    // second class the choice of the first that must fail.
    assert!(
        proofs[0].contains(&format!("    {}", used("good", "0.97"))),
        "{}",
        proofs[0]
    );
    assert!(proofs[0].contains("C = \"good\""), "{}", proofs[0]);
    assert!(
        proofs[1].contains(&format!("    {}", used("bad", "0.02"))),
        "{}",
        proofs[1]
    );
    assert!(proofs[1].contains("C = \"bad\""), "{}", proofs[1]);
}
