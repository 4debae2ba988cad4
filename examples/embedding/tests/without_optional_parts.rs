//! nesy built without `kg` and `learn`: decisions work; a rule file that
//! needs a missing part says which feature, and where.

use nesy::{DecideOptions, Engine, Input, Program, Value};

#[test]
fn decisions_need_neither_the_graph_nor_the_learners() {
    let engine = Engine::builder()
        .rules_text(
            "credit.nesy",
            "@input applicant.
             @decl applicant(id: symbol, income: int, debt: int).
             approve(A) :- applicant(A, I, D), D * 4 < I.",
        )
        .build()
        .unwrap();
    let input: Input =
        serde_json::from_str(r#"{"applicant": [["c1", 100000, 20000], ["c2", 50000, 20000]]}"#)
            .unwrap();
    let decision = engine
        .decide("approve", &input, &DecideOptions::default())
        .unwrap();
    let approved: Vec<&Value> = decision.results.iter().map(|r| &r.args[0]).collect();
    assert_eq!(approved, [&Value::symbol("c1")]);
}

#[test]
fn rdf_imports_name_the_kg_feature() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k.ttl"), "").unwrap();
    let rules = dir.path().join("r.nesy");
    std::fs::write(&rules, "q(1).\n@import \"k.ttl\".\n").unwrap();
    let Err(error) = Program::from_files(&[&rules]) else {
        panic!("an RDF import without `kg` loaded");
    };
    let text = error.to_string();
    assert!(text.contains("the `kg` feature"), "{text}");
    assert!(text.contains("r.nesy:2:1"), "{text}");
}

#[test]
fn models_name_the_learn_feature() {
    let Err(error) = Program::from_source("m.nesy", "@model credit = \"credit.tree\".\n") else {
        panic!("a model without `learn` loaded");
    };
    let text = error.to_string();
    assert!(text.contains("the `learn` feature"), "{text}");
    assert!(text.starts_with("m.nesy:1:1: "), "{text}");
}
