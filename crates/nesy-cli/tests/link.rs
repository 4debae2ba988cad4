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

/// `train rules --learn-weights` from a candidate file, with its JSON
/// summary.
fn learn(
    dir: &std::path::Path,
    candidates: &std::path::Path,
    aggregate: &str,
    seed: &str,
) -> (std::path::PathBuf, serde_json::Value) {
    let out = dir.join(format!("learned-{aggregate}-{seed}.nesy"));
    let json = json_stdout(
        nesy()
            .args(["train", "rules", "--learn-weights", "--candidates"])
            .arg(candidates)
            .args([
                "--aggregate",
                aggregate,
                "--train",
                TRAIN,
                "--valid",
                VALID,
                "--seed",
                seed,
                "--epochs",
                "20",
                "--format",
                "json",
                "-o",
            ])
            .arg(&out),
    );
    (out, json)
}

#[test]
fn learned_weights_are_what_the_evaluator_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let mined = mine(dir.path());
    for aggregate in ["max", "noisy-or", "sum"] {
        let (learned, summary) = learn(dir.path(), &mined, aggregate, "0");
        assert_eq!(summary["aggregate"], aggregate);
        assert!(summary["rules"].as_u64().unwrap() > 100, "{summary}");
        assert_eq!(
            summary["rules"].as_u64().unwrap() + summary["pruned"].as_u64().unwrap(),
            summary["candidates"].as_u64().unwrap()
        );
        let text = std::fs::read_to_string(&learned).unwrap();
        assert!(
            text.contains(&format!("// aggregate: {aggregate}\n")),
            "{}",
            &text[..800]
        );
        assert!(text.contains("// learned weight "));
        // The validation MRR training reports is the evaluator's on the file
        // as written: same rules, same weights, same aggregation.
        let on_valid = json_stdout(
            nesy()
                .args(["eval", "link", "--rules"])
                .arg(&learned)
                .args(["--test", VALID, "--filter", TRAIN, "--format", "json"]),
        );
        let reported = summary["valid_mrr_pruned"].as_f64().unwrap();
        assert!(
            (on_valid["mrr"].as_f64().unwrap() - reported).abs() < 1e-9,
            "{aggregate}: trained {reported}, evaluated {on_valid}"
        );
        nesy().arg("check").arg(&learned).assert().success();
    }
}

#[test]
fn learning_moves_the_weights_toward_the_completion_task() {
    let dir = tempfile::tempdir().unwrap();
    let mined = mine(dir.path());
    let eval = |rules: &std::path::Path| {
        json_stdout(
            nesy()
                .args(["eval", "link", "--rules"])
                .arg(rules)
                .args(["--test", VALID, "--filter", TRAIN, "--format", "json"]),
        )["mrr"]
            .as_f64()
            .unwrap()
    };
    let before = eval(&mined);
    let (learned, _) = learn(dir.path(), &mined, "max", "0");
    let after = eval(&learned);
    // Chosen on validation, starting from the mined weights: never worse
    // there, and here better.
    assert!(after > before, "mined {before}, learned {after}");
    // Flag values outside their range are clear errors, before any work.
    for (flag, word) in [
        ("--prior=-1", "prior"),
        ("--prune=1.5", "pruning"),
        ("--lr=0", "learning rate"),
        ("--epochs=0", "positive"),
    ] {
        nesy()
            .args(["train", "rules", "--learn-weights", "--candidates"])
            .arg(&mined)
            .args(["--train", TRAIN, "--valid", VALID, flag, "-o"])
            .arg(dir.path().join("x.nesy"))
            .assert()
            .code(1)
            .stderr(predicate::str::contains(word));
    }
}

#[test]
fn one_seed_gives_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let mined = mine(dir.path());
    let (a, _) = learn(dir.path(), &mined, "noisy-or", "3");
    let first = std::fs::read(&a).unwrap();
    std::fs::remove_file(&a).unwrap();
    let (b, _) = learn(dir.path(), &mined, "noisy-or", "3");
    assert_eq!(first, std::fs::read(&b).unwrap());
    // Mining and learning in one command, twice.
    let run = |name: &str| {
        let out = dir.path().join(name);
        nesy()
            .args([
                "train",
                "rules",
                "--learn-weights",
                "--train",
                TRAIN,
                "--valid",
                VALID,
                "--max-length",
                "2",
                "--samples",
                "30",
                "--epochs",
                "5",
                "--seed",
                "7",
                "-o",
            ])
            .arg(&out)
            .assert()
            .success()
            .stdout(predicate::str::contains("kept"));
        std::fs::read_to_string(out).unwrap()
    };
    assert_eq!(run("one.nesy"), run("two.nesy"));
}

#[test]
fn a_learned_rule_file_is_a_model_whose_calls_score_as_the_evaluator_does() {
    let dir = tempfile::tempdir().unwrap();
    let mined = dir.path().join("few.nesy");
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
            "6",
            "-o",
        ])
        .arg(&mined)
        .assert()
        .success();
    let (learned, _) = learn(dir.path(), &mined, "noisy-or", "0");
    std::fs::rename(&learned, dir.path().join("kin.nesy")).unwrap();
    let predicted = json_stdout(
        nesy()
            .args(["predict", "link", "usa", "intergovorgs", "--rules"])
            .arg(dir.path().join("kin.nesy"))
            .args(["--train", TRAIN, "-k", "3", "--format", "json"]),
    );
    let best = &predicted.as_array().unwrap()[0];
    let (candidate, score) = (
        best["candidate"].as_str().unwrap(),
        best["score"].as_f64().unwrap(),
    );
    assert!(score > 0.0, "{predicted}");
    let program = dir.path().join("use.nesy");
    std::fs::write(
        &program,
        format!(
            "@model kin = \"kin.nesy\".\n\
             likely(Y, P) :- kin.top(intergovorgs, usa, 3, Y), P = kin.score(intergovorgs, usa, Y).\n\
             ?- likely({candidate}, P).\n"
        ),
    )
    .unwrap();
    let run = json_stdout(nesy().arg("run").arg(&program).args(["--format", "json"]));
    let rows = run["relations"]["likely"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{run}");
    let row = rows
        .iter()
        .find(|r| r[0] == candidate)
        .expect("the best candidate");
    assert!(
        (row[1].as_f64().unwrap() - score).abs() < 1e-12,
        "{row:?} against {score}"
    );
    // The explanation of the call names the rule and walks its path.
    let why = nesy()
        .arg("explain")
        .arg(&program)
        .arg(format!("likely({candidate}, P)"))
        .assert()
        .success();
    let text = String::from_utf8(why.get_output().stdout.clone()).unwrap();
    assert!(text.contains("noisy-or"), "{text}");
    assert!(
        text.contains(":- ") && text.contains("via usa -> "),
        "{text}"
    );
    // A rule model without its graph is an error at the declaration.
    std::fs::write(
        dir.path().join("lonely.nesy"),
        "0.5 :: a(X, Y) :- b(X, Y).\n",
    )
    .unwrap();
    std::fs::write(
        &program,
        "@model kin = \"lonely.nesy\".\np(S) :- S = kin.score(a, x, y).\n",
    )
    .unwrap();
    nesy()
        .arg("run")
        .arg(&program)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("@import kg from"));
}

#[test]
fn learning_inputs_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let bad_rules = dir.path().join("cands.nesy");
    std::fs::write(
        &bad_rules,
        "// candidates\n0.5 :: intergovorgs(X, Y) :- ngo(X, Y).\nintergovorgs(X, Y) :- ngo(X Y).\n0.5 :: ngo(X, Y) :- ngo(Y, X).\n",
    )
    .unwrap();
    nesy()
        .args(["train", "rules", "--learn-weights", "--candidates"])
        .arg(&bad_rules)
        .args(["--train", TRAIN, "--valid", VALID, "-o"])
        .arg(dir.path().join("out.nesy"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cands.nesy:3:"));
    let bad_triples = dir.path().join("t.tsv");
    std::fs::write(&bad_triples, "usa\tngo\tuk\nusa ngo uk\n").unwrap();
    for (train, valid) in [
        (bad_triples.as_path(), VALID.as_ref()),
        (TRAIN.as_ref(), bad_triples.as_path()),
    ] {
        nesy()
            .args(["train", "rules", "--learn-weights", "--train"])
            .arg(train)
            .arg("--valid")
            .arg(valid)
            .arg("-o")
            .arg(dir.path().join("out.nesy"))
            .assert()
            .code(1)
            .stderr(predicate::str::contains("t.tsv:2"));
    }
    // No path rule in the file: nothing to learn.
    let empty = dir.path().join("empty.nesy");
    std::fs::write(&empty, "a(1).\n").unwrap();
    nesy()
        .args(["train", "rules", "--learn-weights", "--candidates"])
        .arg(&empty)
        .args(["--train", TRAIN, "-o"])
        .arg(dir.path().join("out.nesy"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no path rules"));
    // Learning flags without --learn-weights are usage errors.
    nesy()
        .args(["train", "rules", "--train", TRAIN, "--candidates"])
        .arg(&empty)
        .arg("-o")
        .arg(dir.path().join("out.nesy"))
        .assert()
        .code(2);
    // A rule file naming an unknown aggregate.
    let odd = dir.path().join("odd.nesy");
    std::fs::write(
        &odd,
        "// aggregate: mean\n0.5 :: intergovorgs(X, Y) :- ngo(X, Y).\n",
    )
    .unwrap();
    nesy()
        .args(["eval", "link", "--rules"])
        .arg(&odd)
        .args(["--test", TEST, "--filter", FILTER])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("odd.nesy:1:").and(predicate::str::contains("mean")));
}

#[test]
fn the_hybrid_takes_learned_rules_and_is_never_below_its_parts_on_validation() {
    let dir = tempfile::tempdir().unwrap();
    let mined = mine(dir.path());
    let (learned, _) = learn(dir.path(), &mined, "max", "0");
    let model = embed(dir.path());
    let on_valid = |extra: &[&std::ffi::OsStr]| {
        json_stdout(
            nesy()
                .args(["eval", "link"])
                .args(extra)
                .args(["--test", VALID, "--filter", TRAIN, "--format", "json"]),
        )
    };
    let rules_only = on_valid(&["--rules".as_ref(), learned.as_os_str()])["mrr"]
        .as_f64()
        .unwrap();
    let model_only = on_valid(&["--model".as_ref(), model.as_os_str()])["mrr"]
        .as_f64()
        .unwrap();
    let hybrid = on_valid(&[
        "--hybrid".as_ref(),
        "--rules".as_ref(),
        learned.as_os_str(),
        "--model".as_ref(),
        model.as_os_str(),
        "--valid".as_ref(),
        VALID.as_ref(),
    ]);
    let weight = hybrid["hybrid_weight"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&weight));
    assert!(
        hybrid["mrr"].as_f64().unwrap() >= rules_only.max(model_only) - 1e-12,
        "hybrid {hybrid}, rules {rules_only}, embedding {model_only}"
    );
    // Without --valid the default is said, on stderr.
    nesy()
        .args(["eval", "link", "--hybrid", "--rules"])
        .arg(&learned)
        .arg("--model")
        .arg(&model)
        .args(["--test", TEST, "--filter", FILTER])
        .assert()
        .success()
        .stderr(predicate::str::contains("no --valid").and(predicate::str::contains("0.5")))
        .stdout(predicate::str::contains("rule weight 0.50"));
}
