//! `nesy train rules|kge`, `nesy eval link`, `nesy predict link`, and the
//! mined rules and embeddings inside rule files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on broken fixtures"
)]

mod common;

use common::{json_stdout, nesy};
use predicates::prelude::*;

const TRAIN: &str = "knowledge/kg/nations/train.tsv";
const VALID: &str = "knowledge/kg/nations/valid.tsv";
const TEST: &str = "knowledge/kg/nations/test.tsv";
const FILTER: &str = "knowledge/kg/nations/train.tsv,knowledge/kg/nations/valid.tsv";

fn mine(dir: &std::path::Path) -> std::path::PathBuf {
    let rules = dir.join("mined.nesy");
    nesy()
        .args([
            "train",
            "rules",
            "--train",
            TRAIN,
            "--max-length",
            "2",
            "--samples",
            "40",
            "-o",
        ])
        .arg(&rules)
        .assert()
        .success()
        .stdout(predicate::str::contains("mined").and(predicate::str::contains("cyclic")));
    rules
}

fn embed(dir: &std::path::Path) -> std::path::PathBuf {
    let model = dir.join("nations.kge");
    let json = json_stdout(
        nesy()
            .args([
                "train", "kge", "--train", TRAIN, "--valid", VALID, "--model", "distmult", "--dim",
                "32", "--epochs", "15", "--format", "json", "-o",
            ])
            .arg(&model),
    );
    assert!(json["valid"]["mrr"].as_f64().unwrap() > 0.5, "{json}");
    assert!(json["best_epoch"].as_u64().unwrap() >= 5);
    model
}

#[test]
fn rules_embeddings_and_the_hybrid_are_evaluated_alike() {
    let dir = tempfile::tempdir().unwrap();
    let rules = mine(dir.path());
    let model = embed(dir.path());
    let by_rules = json_stdout(
        nesy()
            .args(["eval", "link", "--rules"])
            .arg(&rules)
            .args(["--test", TEST, "--filter", FILTER, "--format", "json"]),
    );
    for key in ["mrr", "hits_at_1", "hits_at_3", "hits_at_10"] {
        let v = by_rules[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert_eq!(by_rules["queries"], 402);
    assert_eq!(by_rules["scorer"], "rules");
    assert!(by_rules["mrr"].as_f64().unwrap() > 0.6);
    let by_model = json_stdout(
        nesy()
            .args(["eval", "link", "--model"])
            .arg(&model)
            .args(["--test", TEST, "--filter", FILTER, "--format", "json"]),
    );
    assert_eq!(by_model["scorer"], "kge");
    let hybrid = json_stdout(
        nesy()
            .args(["eval", "link", "--hybrid", "--rules"])
            .arg(&rules)
            .arg("--model")
            .arg(&model)
            .args([
                "--valid",
                VALID,
                "--test",
                TEST,
                "--filter",
                FILTER,
                "--format",
                "json",
                "--per-relation",
            ]),
    );
    assert_eq!(hybrid["scorer"], "hybrid");
    assert!(hybrid["hybrid_weight"].as_f64().is_some());
    assert!(hybrid["per_relation"].as_object().unwrap().len() > 10);
    nesy()
        .args(["eval", "link", "--hybrid", "--model"])
        .arg(&model)
        .args(["--test", TEST, "--filter", FILTER])
        .assert()
        .code(2);
}

#[test]
fn predict_link_lists_candidates_with_the_rule_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let rules = mine(dir.path());
    let json = json_stdout(
        nesy()
            .args(["predict", "link", "usa", "intergovorgs", "--rules"])
            .arg(&rules)
            .args(["--train", TRAIN, "-k", "3", "--format", "json"]),
    );
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let first = &rows[0];
    assert!(
        first["rule"].as_str().unwrap().starts_with("intergovorgs("),
        "{first}"
    );
    let path = first["path"].as_array().unwrap();
    assert_eq!(path[0], "usa");
    assert_eq!(path.last().unwrap(), &first["candidate"]);
    let model = embed(dir.path());
    nesy()
        .args(["predict", "link", "usa", "treaties", "--model"])
        .arg(&model)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("(usa, treaties, ?)")
                .and(predicate::str::contains("probability")),
        );
    nesy()
        .args(["predict", "link", "atlantis", "treaties", "--model"])
        .arg(&model)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown entity `atlantis`"));
}

#[test]
fn mined_rules_run_in_the_engine_with_their_paths_in_explanations() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("mined.nesy");
    nesy()
        .args([
            "train",
            "rules",
            "--train",
            TRAIN,
            "--max-length",
            "2",
            "--samples",
            "20",
            "--rules-per-relation",
            "5",
            "-o",
        ])
        .arg(&rules)
        .assert()
        .success();
    let text = std::fs::read_to_string(&rules).unwrap();
    assert!(text.contains("@import kg from"), "{}", &text[..400]);
    assert!(text.contains(":: intergovorgs(X, Y) :-"));
    assert!(text.contains("// support "));
    let json =
        json_stdout(
            nesy()
                .arg("run")
                .arg(&rules)
                .args(["-r", "intergovorgs", "--format", "json"]),
        );
    let tuples = json["relations"]["intergovorgs"].as_array().unwrap();
    let train = std::fs::read_to_string(common::repo().join(TRAIN)).unwrap();
    let derived = tuples
        .iter()
        .find(|t| {
            !train.contains(&format!(
                "{}\tintergovorgs\t{}\n",
                t[0].as_str().unwrap(),
                t[1].as_str().unwrap()
            ))
        })
        .expect("a predicted link");
    let (h, t) = (derived[0].as_str().unwrap(), derived[1].as_str().unwrap());
    let why = json_stdout(
        nesy()
            .arg("explain")
            .arg(&rules)
            .arg(format!("intergovorgs(\"{h}\", \"{t}\")"))
            .args(["--format", "json"]),
    );
    assert!(why["holds"].as_bool().unwrap());
    // Derived by a mined rule: its premises are the path's links.
    assert!(
        why["rule"]["location"]
            .as_str()
            .unwrap()
            .contains("mined.nesy"),
        "{why}"
    );
    assert!(!why["premises"].as_array().unwrap().is_empty());
}

#[test]
fn embeddings_inside_rules() {
    let dir = tempfile::tempdir().unwrap();
    embed(dir.path());
    let rules = dir.path().join("allies.nesy");
    std::fs::write(
        &rules,
        "@model nations = \"nations.kge\".\n\
         country(usa). country(uk). country(china).\n\
         ally(X, Y, P) :- country(X), country(Y), X != Y, P = nations.score(militaryalliance, X, Y).\n\
         partner(X, Y) :- country(X), nations.top(treaties, X, 2, Y).\n",
    )
    .unwrap();
    let json = json_stdout(nesy().arg("run").arg(&rules).args(["--format", "json"]));
    assert_eq!(json["relations"]["ally"].as_array().unwrap().len(), 6);
    for row in json["relations"]["ally"].as_array().unwrap() {
        let p = row[2].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
    }
    let partners = json["relations"]["partner"].as_array().unwrap();
    assert_eq!(partners.len(), 6, "two per country");
    // Under a semiring the score is the tag.
    let tagged = json_stdout(nesy().arg("run").arg(&rules).args([
        "-r",
        "partner",
        "--semiring",
        "max-prob",
        "--format",
        "json",
    ]));
    assert!(
        tagged["relations"]["partner"][0]["probability"]
            .as_f64()
            .unwrap()
            < 1.0
    );
    nesy()
        .arg("explain")
        .arg(&rules)
        .arg("partner(usa, Y)")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("nations.top(treaties, usa, 2)")
                .and(predicate::str::contains("distmult embedding")),
        );
    std::fs::write(
        &rules,
        "@model nations = \"nations.kge\".\nc(usa).\nbad(X) :- c(X), nations.score(X, X).\n",
    )
    .unwrap();
    nesy()
        .arg("run")
        .arg(&rules)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`nations.score` takes (Relation, Head, Tail, Score): 2 arguments given",
        ));
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.tsv");
    std::fs::write(&bad, "a\tr\tb\nonly two\tfields\n").unwrap();
    nesy()
        .args(["train", "rules", "--train"])
        .arg(&bad)
        .arg("-o")
        .arg(dir.path().join("r.nesy"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.tsv:2"));
    nesy()
        .args([
            "train", "kge", "--train", TRAIN, "--valid", VALID, "--device", "cuda", "-o",
        ])
        .arg(dir.path().join("m.kge"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("CUDA"));
    nesy()
        .args([
            "train", "kge", "--train", TRAIN, "--valid", VALID, "--model", "holE", "-o",
        ])
        .arg(dir.path().join("m.kge"))
        .assert()
        .code(2);
    nesy()
        .args(["eval", "link", "--test", TEST])
        .assert()
        .code(2);
    let not_model = dir.path().join("x.kge");
    std::fs::write(&not_model, "nonsense").unwrap();
    nesy()
        .args(["eval", "link", "--model"])
        .arg(&not_model)
        .args(["--test", TEST, "--filter", FILTER])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("x.kge"));
}
