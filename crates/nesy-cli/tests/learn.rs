//! `nesy train`, `eval`, `predict`, `export-rules`: the shapes users script
//! against, and their error paths.

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

const IRIS: &str = "knowledge/tabular/iris.csv";

fn train(dir: &std::path::Path, extra: &[&str]) -> std::path::PathBuf {
    let model = dir.join("iris.tree");
    nesy()
        .args([
            "train",
            "tree",
            "--data",
            IRIS,
            "--target",
            "class",
            "--max-depth",
            "3",
            "-o",
        ])
        .arg(&model)
        .args(extra)
        .assert()
        .success()
        .stdout(predicate::str::contains("train").and(predicate::str::contains("test")));
    model
}

#[test]
fn train_prints_train_and_test_accuracy_and_saves_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.tree");
    let out = nesy()
        .args([
            "train",
            "tree",
            "--data",
            IRIS,
            "--target",
            "class",
            "--max-depth",
            "3",
            "--seed",
            "4",
            "--test-split",
            "0.3",
            "-o",
        ])
        .arg(&model)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("150 rows, 4 features, 3 classes"), "{text}");
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("train ")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("test ")),
        "{text}"
    );
    let header: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    assert_eq!(header["format"], "nesy-model");
    assert_eq!(header["kind"], "tree");
    assert_eq!(header["variant"], "cart");
    assert_eq!(header["seed"], 4);
    assert_eq!(header["data"]["rows"], 105);
    assert_eq!(header["schema"]["classes"][2], "virginica");
    assert!(header["metrics"]["test"]["accuracy"].as_f64().unwrap() > 0.85);
    // The same command again writes the same model.
    let first = std::fs::read(&model).unwrap();
    nesy()
        .args([
            "train",
            "tree",
            "--data",
            IRIS,
            "--target",
            "class",
            "--max-depth",
            "3",
            "--seed",
            "4",
            "--test-split",
            "0.3",
            "-o",
        ])
        .arg(&model)
        .assert()
        .success();
    assert_eq!(std::fs::read(&model).unwrap(), first);
}

#[test]
fn folds_and_json_summary() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.tree");
    let json = json_stdout(
        nesy()
            .args([
                "train", "tree", "--data", IRIS, "--target", "class", "--folds", "5", "--format",
                "json", "-o",
            ])
            .arg(&model),
    );
    assert_eq!(json["folds"].as_array().unwrap().len(), 5);
    assert!(json["test"]["accuracy"].as_f64().unwrap() > 0.85);
    assert_eq!(json["rows"], 150);
}

#[test]
fn eval_gives_accuracy_macro_f1_and_confusion() {
    let dir = tempfile::tempdir().unwrap();
    let model = train(dir.path(), &[]);
    let json = json_stdout(
        nesy()
            .args(["eval", "tree", "--model"])
            .arg(&model)
            .args(["--data", IRIS, "--format", "json"]),
    );
    let accuracy = json["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.9 && accuracy <= 1.0);
    assert!(json["macro_f1"].as_f64().unwrap() > 0.9);
    let confusion = json["confusion"].as_array().unwrap();
    assert_eq!(confusion.len(), 3);
    let total: u64 = confusion
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(total, 150);
    nesy()
        .args(["eval", "tree", "--model"])
        .arg(&model)
        .args(["--data", IRIS])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("accuracy").and(predicate::str::contains("setosa      50")),
        );
}

#[test]
fn predict_gives_class_probability_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let model = train(dir.path(), &[]);
    let json = json_stdout(
        nesy()
            .args(["predict", "tree", "--model"])
            .arg(&model)
            .args(["--data", IRIS, "--format", "json", "--explain"]),
    );
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 150);
    assert_eq!(rows[0]["line"], 2);
    assert_eq!(rows[0]["class"], "setosa");
    assert!(rows[0]["probability"].as_f64().unwrap() > 0.9);
    assert_eq!(rows[0]["path"]["kind"], "tests");
    assert_eq!(rows[0]["path"]["steps"][0]["op"], "<");
    let sum: f64 = rows[0]["distribution"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-9);
    nesy()
        .args(["predict", "tree", "--model"])
        .arg(&model)
        .args(["--data", IRIS, "--format", "tsv", "--explain"])
        .assert()
        .success()
        // 43 training rows of setosa reach that leaf: (43 + 1) / (43 + 3)
        // with the default smoothing.
        .stdout(predicate::str::starts_with(
            "2\tsetosa\t0.9565\tpetal_width = 0.2 < ",
        ));
    // Raw frequencies on request.
    let raw = train(dir.path(), &["--leaf-smoothing", "0"]);
    nesy()
        .args(["predict", "tree", "--model"])
        .arg(&raw)
        .args(["--data", IRIS, "--format", "tsv"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("2\tsetosa\t1.0000\n"));
    // A negative count is refused before anything is written.
    let bad = dir.path().join("bad.tree");
    nesy()
        .args([
            "train",
            "tree",
            "--data",
            IRIS,
            "--target",
            "class",
            "--leaf-smoothing=-1",
            "-o",
        ])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "leaf smoothing is a count of 0 or more",
        ));
    assert!(!bad.exists());
}

#[test]
fn export_rules_run_in_the_engine_and_agree_with_predict() {
    let dir = tempfile::tempdir().unwrap();
    let model = train(dir.path(), &[]);
    let rules = dir.path().join("iris_rules.nesy");
    nesy()
        .args(["export-rules", "--model"])
        .arg(&model)
        .args(["--name", "species", "--input", "flower", "-o"])
        .arg(&rules)
        .assert()
        .success();
    let text = std::fs::read_to_string(&rules).unwrap();
    assert!(text.contains(":: species(Id, \"setosa\") :-"), "{text}");
    // The iris rows as input facts, one id per CSV line.
    let csv = std::fs::read_to_string(common::repo().join(IRIS)).unwrap();
    let mut facts = String::new();
    for (i, line) in csv.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        facts.push_str(&format!(
            "flower(l{}, {}, {}, {}, {}).\n",
            i + 2,
            f[0],
            f[1],
            f[2],
            f[3]
        ));
    }
    let data = dir.path().join("flowers.nesy");
    std::fs::write(&data, facts).unwrap();
    // The exported rules check without a warning (a feature a leaf does
    // not test is written `_Name`, not left a singleton).
    nesy()
        .arg("check")
        .arg(&rules)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 errors, 0 warnings"));
    let run = json_stdout(nesy().arg("run").arg(&rules).arg(&data).args([
        "-r",
        "species",
        "--format",
        "json",
        "--semiring",
        "max-prob",
    ]));
    let predicted = json_stdout(
        nesy()
            .args(["predict", "tree", "--model"])
            .arg(&model)
            .args(["--data", IRIS, "--format", "json"]),
    );
    let tuples = run["relations"]["species"].as_array().unwrap();
    assert_eq!(tuples.len(), 150);
    for row in predicted.as_array().unwrap() {
        let id = format!("l{}", row["line"]);
        let hit = tuples
            .iter()
            .find(|t| t["tuple"][0] == id.as_str())
            .unwrap_or_else(|| panic!("{id} not derived"));
        assert_eq!(hit["tuple"][1], row["class"], "{id}");
        let (p, q) = (
            hit["probability"].as_f64().unwrap(),
            row["probability"].as_f64().unwrap(),
        );
        assert!((p - q).abs() < 1e-9, "{id}: {p} vs {q}");
    }
}

#[test]
fn forest_and_soft_variants_train_and_only_cart_exports() {
    let dir = tempfile::tempdir().unwrap();
    for variant in ["forest", "soft"] {
        let model = dir.path().join(format!("{variant}.tree"));
        let train = || {
            nesy()
                .args([
                    "train",
                    "tree",
                    "--data",
                    IRIS,
                    "--target",
                    "class",
                    "--variant",
                    variant,
                    "--trees",
                    "10",
                    "--epochs",
                    "20",
                    "-o",
                ])
                .arg(&model)
                .assert()
                .success();
            std::fs::read(&model).unwrap()
        };
        // Another process (another hash seed), the same model.
        assert_eq!(train(), train(), "{variant} is not reproducible");
        nesy()
            .args(["export-rules", "--model"])
            .arg(&model)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("export-rules takes a CART model"));
        nesy()
            .args(["predict", "tree", "--model"])
            .arg(&model)
            .args(["--data", IRIS, "--explain"])
            .assert()
            .success();
    }
    nesy()
        .args([
            "train",
            "tree",
            "--data",
            IRIS,
            "--target",
            "class",
            "--variant",
            "soft",
            "--device",
            "cuda",
            "-o",
        ])
        .arg(dir.path().join("gpu.tree"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("CUDA"));
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    nesy()
        .args(["train", "tree", "--data", IRIS, "--target", "species", "-o"])
        .arg(dir.path().join("m.tree"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no target column `species`"));
    let holes = dir.path().join("holes.csv");
    std::fs::write(&holes, "a,b,y\n1,2,x\n3,NA,z\n").unwrap();
    nesy()
        .args(["train", "tree", "--data"])
        .arg(&holes)
        .args(["--target", "y", "-o"])
        .arg(dir.path().join("m.tree"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "holes.csv:3: missing value in column `b`",
        ));
    nesy()
        .args([
            "train",
            "tree",
            "--data",
            IRIS,
            "--target",
            "class",
            "--test-split",
            "1.5",
            "-o",
        ])
        .arg(dir.path().join("m.tree"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--test-split must be between 0 and 1",
        ));
    nesy()
        .args([
            "train",
            "tree",
            "--data",
            IRIS,
            "--target",
            "class",
            "--test-split",
            "0.2",
            "--folds",
            "3",
            "-o",
        ])
        .arg(dir.path().join("m.tree"))
        .assert()
        .code(2);
    assert!(
        !dir.path().join("m.tree").exists(),
        "a failed training writes nothing"
    );
    let corrupt = dir.path().join("corrupt.tree");
    std::fs::write(&corrupt, "{\"format\": \"nesy-model\"").unwrap();
    nesy()
        .args(["eval", "tree", "--model"])
        .arg(&corrupt)
        .args(["--data", IRIS])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "corrupt.tree: not a valid nesy model file",
        ));
    let model = train(dir.path(), &[]);
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "x,class\n1,setosa\n").unwrap();
    nesy()
        .args(["predict", "tree", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&other)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no column `sepal_length`"));
}

#[test]
fn the_credit_example_combines_the_tree_with_policy() {
    nesy()
        .args(["run", "rules/credit.nesy", "-r", "decision", "--format", "tsv"])
        .assert()
        .success()
        .stdout(
            "decision\ta1\tapprove\ndecision\ta2\tdecline\ndecision\ta3\trefer\ndecision\ta4\tapprove\ndecision\ta5\tdecline\n",
        );
    let json = json_stdout(nesy().args([
        "explain",
        "rules/credit.nesy",
        "approve(a1)",
        "--format",
        "json",
    ]));
    let premises = json["premises"].as_array().unwrap();
    let call = premises.iter().find(|p| p["kind"] == "model").unwrap();
    assert_eq!(call["model"]["call"], "credit.predict");
    assert_eq!(call["model"]["explanation"]["detail"]["kind"], "tests");
    nesy()
        .args(["test", "rules/credit.nesy"])
        .assert()
        .success();
    // Why a5 is declined: the model said "bad", shown under the negation.
    nesy()
        .args(["explain", "rules/credit.nesy", "decision(a5, \"decline\")"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("NOT approve(a5)")
                .and(predicate::str::contains("`\"bad\" = \"good\"` fails")),
        );
}

#[test]
fn train_program_writes_the_learned_file_and_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &std::path::Path| {
        json_stdout(
            nesy()
                .args([
                    "train",
                    "program",
                    "examples/learning/dice.nesy",
                    "--examples",
                    "examples/learning/rolls.tsv",
                    "--valid",
                    "examples/learning/rolls.tsv",
                    "--epochs",
                    "300",
                    "--batch",
                    "10",
                    "--lr",
                    "0.05",
                    "--seed",
                    "3",
                    "--format",
                    "json",
                    "-o",
                ])
                .arg(out),
        )
    };
    let (first, second) = (dir.path().join("a.nesy"), dir.path().join("b.nesy"));
    let json = run(&first);
    for key in [
        "epochs",
        "loss",
        "valid_accuracy",
        "weights",
        "seconds_per_epoch",
    ] {
        assert!(json.get(key).is_some(), "{key} missing: {json}");
    }
    assert_eq!(json["epochs"], 300);
    assert_eq!(json["valid_accuracy"], 0.5);
    let text = std::fs::read_to_string(&first).unwrap();
    assert!(
        text.contains(
            "t(0.2) :: roll(D, 1); t(0.3) :: roll(D, 2); t(0.5) :: roll(D, 3) :- die(D)."
        ),
        "{text}"
    );
    // Same seed, same inputs: the same bytes; and the output trains again.
    run(&second);
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
    nesy().args(["check"]).arg(&first).assert().success();
    let scores = json_stdout(nesy().args(["eval", "program"]).arg(&first).args([
        "--examples",
        "examples/learning/rolls.tsv",
        "--format",
        "json",
    ]));
    assert_eq!(scores["examples"], 10);
    assert_eq!(scores["accuracy"], 0.5);
    let expected = 2.0 * 0.2f64.ln() + 3.0 * 0.3f64.ln() + 5.0 * 0.5f64.ln();
    assert!((scores["log_likelihood"].as_f64().unwrap() - expected).abs() < 1e-4);
}

#[test]
fn train_program_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let dice = std::path::PathBuf::from("examples/learning/dice.nesy");
    let bad = file("bad.tsv", "roll(d1, 1)\t1\nroll(d1, 2)\n");
    let fixed = file("fixed.nesy", "0.5 :: a.\n");
    let over = file("over.nesy", "t(1.5) :: a.\n");
    let examples = file("a.tsv", "a\t1\n");
    for (rules, examples, says) in [
        (&dice, &bad, "bad.tsv:2: expected `atom<TAB>probability`"),
        (&fixed, &examples, "no tunable probability"),
        (
            &over,
            &examples,
            "tunable probability `t(1.5)` is outside (0, 1)",
        ),
    ] {
        nesy()
            .args(["train", "program"])
            .arg(rules)
            .arg("--examples")
            .arg(examples)
            .arg("-o")
            .arg(dir.path().join("out.nesy"))
            .assert()
            .failure()
            .stderr(predicate::str::contains(says));
    }
}

#[test]
fn train_program_restarts_report_every_run_and_need_validation() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("coin.nesy");
    std::fs::write(&rules, "t(_) :: heads.\n").unwrap();
    let examples = dir.path().join("ex.tsv");
    std::fs::write(&examples, "heads\t1\nheads\t1\nheads\t0\n").unwrap();
    let out = dir.path().join("out.nesy");
    let run = |extra: &[&str]| {
        let mut command = nesy();
        command
            .args(["train", "program"])
            .arg(&rules)
            .arg("--examples")
            .arg(&examples)
            .args(["--epochs", "2", "-o"])
            .arg(&out)
            .args(extra);
        command
    };
    let restarts = [
        "--restarts",
        "3",
        "--restart-steps",
        "1",
        "--valid",
        examples.to_str().unwrap(),
    ];
    let json = json_stdout(&mut run(&[&restarts[..], &["--format", "json"]].concat()));
    assert_eq!(json["restarts"].as_array().unwrap().len(), 3, "{json}");
    assert_eq!(json["epochs"], 2);
    // In text, which run went on.
    let text = run(&restarts)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("restarts: valid accuracy ") && text.contains("went on"),
        "{text}"
    );
    // Restarts are chosen on validation examples, which must be given.
    run(&["--restarts", "3"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("validation examples"));
}

#[test]
fn train_tree_refuses_a_bad_feature_share() {
    let dir = tempfile::tempdir().unwrap();
    for (value, says) in [
        ("0", "at least one feature per split"),
        (
            "1.5",
            "is not sqrt, log2, all, a count or a fraction in (0, 1]",
        ),
        ("some", "is not sqrt, log2, all"),
    ] {
        nesy()
            .args([
                "train",
                "tree",
                "--data",
                IRIS,
                "--target",
                "class",
                "--variant",
                "forest",
            ])
            .arg(format!("--max-features={value}"))
            .arg("-o")
            .arg(dir.path().join("f.tree"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    assert!(!dir.path().join("f.tree").exists());
}

#[test]
fn train_program_by_em_reads_problog_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alarm.nesy");
    let json = json_stdout(
        nesy()
            .args([
                "train",
                "program",
                "tests/lfi/alarm.nesy",
                "--method",
                "em",
                "--examples",
                "tests/lfi/alarm.ev",
                "--format",
                "json",
                "-o",
            ])
            .arg(&out),
    );
    assert_eq!(json["weights"]["burglary"], 0.6);
    assert_eq!(json["weights"]["p_alarm2"], 0.0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("t(0.6) :: burglary.\nt(0.999999) :: earthquake."),
        "{text}"
    );
    nesy().args(["check"]).arg(&out).assert().success();
}

#[test]
fn train_program_by_em_learns_disjunctions_and_warns_of_impossible_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("coins.nesy");
    std::fs::write(
        &rules,
        "toss(c1). toss(c2).\nt(0.4) :: side(C, heads); t(0.4) :: side(C, tails) :- toss(C).\n",
    )
    .unwrap();
    let evidence = dir.path().join("coins.ev");
    std::fs::write(
        &evidence,
        "evidence(side(c1, heads), true).\nevidence(side(c2, tails), true).\n---\n\
         evidence(side(c1, tails), true).\nevidence(side(c2, tails), true).\n---\n\
         evidence(side(c1, heads), false).\nevidence(side(c1, tails), false).\n",
    )
    .unwrap();
    let out = nesy()
        .args(["train", "program"])
        .arg(&rules)
        .args(["--method", "em", "--examples"])
        .arg(&evidence)
        .args(["--format", "json", "-o"])
        .arg(dir.path().join("out.nesy"))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: 1 of 3 interpretations left out of the last EM step",
        ));
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["ignored_interpretations"], 1);
    // One heads in four tosses; the heads take all the probability.
    let weight = |head: &str| {
        json["weights"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(name, _)| name.ends_with(&format!("coins.nesy:2:1: {head}")))
            .and_then(|(_, w)| w.as_f64())
            .unwrap()
    };
    let (heads, tails) = (weight("side(C, heads)"), weight("side(C, tails)"));
    assert!(
        (heads - 0.25).abs() < 1e-6 && (tails - 0.75).abs() < 1e-6,
        "{json}"
    );
}

#[test]
fn regression_trees_train_evaluate_predict_and_answer_rules() {
    let dir = tempfile::tempdir().unwrap();
    // y = 10 x + 100 for red, 10 x for blue: a tree grown until pure fits it.
    let data = dir.path().join("sizes.csv");
    let mut text = String::from("id,x,colour,y\n");
    for i in 0..40 {
        let colour = if i % 2 == 0 { "red" } else { "blue" };
        let y = 10 * i + if colour == "red" { 100 } else { 0 };
        text.push_str(&format!("r{i},{i},{colour},{y}\n"));
    }
    std::fs::write(&data, text).unwrap();
    let model = dir.path().join("sizes.tree");
    let json = json_stdout(
        nesy()
            .args([
                "train",
                "tree",
                "--task",
                "regression",
                "--id",
                "id",
                "--target",
                "y",
            ])
            .arg("--data")
            .arg(&data)
            // Fitted on every row.
            .arg("--test-data")
            .arg(&data)
            .args(["--format", "json", "-o"])
            .arg(&model),
    );
    assert_eq!(json["task"], "regression");
    assert!(json["train"]["rmse"].as_f64().unwrap() < 1e-9, "{json}");
    assert!(json["train"]["accuracy"].is_null(), "{json}");
    let eval = json_stdout(
        nesy()
            .args(["eval", "tree", "--format", "json", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&data),
    );
    assert_eq!(eval["rmse"], 0.0);
    assert_eq!(eval["r2"], 1.0);
    assert_eq!(eval["rows"], 40);
    nesy()
        .args([
            "predict", "tree", "--format", "tsv", "--id", "id", "--model",
        ])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("r0\t100\nr1\t10\n"));
    // From rules: the value, with probability 1.
    let rules = dir.path().join("sizes.nesy");
    std::fs::write(
        &rules,
        "@model sizes = \"sizes.tree\".\nitem(a, 3, \"blue\").\nitem(b, 4, \"red\").\n\
         size(I, V, P) :- item(I, X, C), sizes.predict(X, C, V, P).\n",
    )
    .unwrap();
    nesy()
        .arg("run")
        .arg(&rules)
        .args(["-r", "size", "--format", "tsv"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("size\ta\t30.0\t1.0")
                .and(predicate::str::contains("size\tb\t140.0\t1.0")),
        );
    // A regression forest explains itself by its trees' values.
    let forest = dir.path().join("sizes-forest.tree");
    nesy()
        .args([
            "train",
            "tree",
            "--task",
            "regression",
            "--variant",
            "forest",
            "--trees",
            "4",
        ])
        .args(["--id", "id", "--target", "y", "--data"])
        .arg(&data)
        .arg("-o")
        .arg(&forest)
        .assert()
        .success();
    nesy()
        .args(["predict", "tree", "--explain", "--format", "tsv", "--model"])
        .arg(&forest)
        .arg("--data")
        .arg(&data)
        .assert()
        .success()
        .stdout(predicate::str::contains("the mean of 4 trees (from "));
    // Targets near f64::MAX: sums and squares would overflow; the model
    // is still written, read back, and scored with finite errors.
    let huge = dir.path().join("huge.csv");
    let mut text = String::from("x,y\n");
    for i in 0..30 {
        let y = if i < 15 { -1.7e308 } else { 1.7e308 };
        text.push_str(&format!("{i},{y:e}\n"));
    }
    std::fs::write(&huge, text).unwrap();
    for variant in ["cart", "forest"] {
        let model = dir.path().join(format!("huge-{variant}.tree"));
        nesy()
            .args([
                "train",
                "tree",
                "--task",
                "regression",
                "--target",
                "y",
                "--variant",
                variant,
            ])
            .arg("--data")
            .arg(&huge)
            .arg("--test-data")
            .arg(&huge)
            .arg("-o")
            .arg(&model)
            .assert()
            .success();
        let eval = json_stdout(
            nesy()
                .args(["eval", "tree", "--format", "json", "--model"])
                .arg(&model)
                .arg("--data")
                .arg(&huge),
        );
        assert!(
            eval["rmse"].as_f64().is_some_and(f64::is_finite),
            "{variant}: {eval}"
        );
        assert!(
            eval["r2"].as_f64().is_some_and(f64::is_finite),
            "{variant}: {eval}"
        );
    }
    // Its leaves are not class shares: no rules are exported from it.
    nesy()
        .args(["export-rules", "--model"])
        .arg(&model)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "a regression tree's leaves are numbers",
        ));
    // A target that is not a number, and a soft regression, are refused.
    let words = dir.path().join("words.csv");
    std::fs::write(&words, "x,y\n1,2\n2,two\n").unwrap();
    nesy()
        .args([
            "train",
            "tree",
            "--task",
            "regression",
            "--target",
            "y",
            "--data",
        ])
        .arg(&words)
        .arg("-o")
        .arg(dir.path().join("w.tree"))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("words.csv:3")
                .and(predicate::str::contains("is not a number")),
        );
    nesy()
        .args([
            "train",
            "tree",
            "--task",
            "regression",
            "--variant",
            "soft",
            "--id",
            "id",
            "--target",
            "y",
            "--data",
        ])
        .arg(&data)
        .arg("-o")
        .arg(dir.path().join("s.tree"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "a regression takes `--variant cart` or `forest`",
        ));
    assert!(!dir.path().join("w.tree").exists() && !dir.path().join("s.tree").exists());
}

#[test]
fn train_net_and_eval_net() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("points.csv");
    let mut text = String::from("id,x,y,class\n");
    for i in 0..60 {
        let (x, y) = ((i % 10) as f64, (i / 10) as f64);
        let class = if x > y { "above" } else { "below" };
        text.push_str(&format!("p{i},{x},{y},{class}\n"));
    }
    std::fs::write(&data, text).unwrap();
    let model = dir.path().join("m.net");
    let json = json_stdout(
        nesy()
            .args(["train", "net", "--data"])
            .arg(&data)
            .args([
                "--target", "class", "--epochs", "200", "--lr", "0.05", "--format", "json", "-o",
            ])
            .arg(&model),
    );
    assert_eq!(json["classes"], serde_json::json!(["above", "below"]));
    assert!(
        json["training"]["train_accuracy"].as_f64().unwrap() > 0.9,
        "{json}"
    );
    let scores = json_stdout(
        nesy()
            .args(["eval", "net", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .args(["--format", "json"]),
    );
    assert_eq!(scores["rows"], 60);
    assert_eq!(scores["accuracy"], json["training"]["train_accuracy"]);
    // Training on labels needs the label column.
    nesy()
        .args(["train", "net", "--data"])
        .arg(&data)
        .args(["--classes", "above,below", "-o"])
        .arg(dir.path().join("n.net"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("needs `--target`"));
}

#[test]
fn an_id_column_is_flagged_and_can_be_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("people.csv");
    let mut text = String::from("name,age,label\n");
    for i in 0..30 {
        text.push_str(&format!(
            "person{i},{},{}\n",
            20 + i,
            if i < 15 { "young" } else { "old" }
        ));
    }
    std::fs::write(&data, text).unwrap();
    let model = dir.path().join("m.tree");
    let run = |extra: &[&str]| {
        nesy()
            .args(["train", "tree", "--target", "label", "--data"])
            .arg(&data)
            .arg("-o")
            .arg(&model)
            .args(extra)
            .assert()
            .success()
    };
    run(&[]).stderr(predicate::str::contains(
        "warning: column `name` looks like an id",
    ));
    for flags in [&["--id", "name"][..], &["--exclude", "name"][..]] {
        run(flags).stderr(predicate::str::contains("looks like an id").not());
        let json = json_stdout(
            nesy()
                .args(["eval", "tree", "--format", "json", "--model"])
                .arg(&model)
                .arg("--data")
                .arg(&data),
        );
        assert!(json["accuracy"].as_f64().unwrap() > 0.99, "{json}");
    }
    nesy()
        .args([
            "train",
            "tree",
            "--target",
            "label",
            "--exclude",
            "nope",
            "--data",
        ])
        .arg(&data)
        .arg("-o")
        .arg(&model)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no column `nope` to leave out"));
}

#[test]
fn training_names_the_features_in_call_order_and_predictions_key_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("c.tree");
    nesy()
        .args([
            "train",
            "tree",
            "--data",
            "knowledge/credit_history.csv",
            "--target",
            "outcome",
            "--max-depth",
            "3",
            "-o",
        ])
        .arg(&model)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "features, in the order a call passes them: income (number), debt (number), years_employed (number)",
        ));
    nesy()
        .args([
            "predict",
            "tree",
            "--data",
            "knowledge/applicants.csv",
            "--id",
            "id",
            "--format",
            "tsv",
            "--model",
        ])
        .arg(&model)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("a1\tgood\t0.9677\na2\tbad\t"));
    let json = json_stdout(
        nesy()
            .args([
                "predict",
                "tree",
                "--data",
                "knowledge/applicants.csv",
                "--id",
                "id",
                "--format",
                "json",
                "--model",
            ])
            .arg(&model),
    );
    assert_eq!(json[1]["id"], "a2");
    assert_eq!(json[1]["line"], 3);
    nesy()
        .args([
            "predict",
            "tree",
            "--data",
            "knowledge/applicants.csv",
            "--id",
            "nope",
            "--model",
        ])
        .arg(&model)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no column `nope`"));
}

#[test]
fn eval_scores_the_probabilities_as_predict_gives_them() {
    // Brier and log-loss recomputed here from `predict tree --format json`
    // and the table's labels.
    let dir = tempfile::tempdir().unwrap();
    let model = train(dir.path(), &[]);
    let eval = json_stdout(
        nesy()
            .args(["eval", "tree", "--model"])
            .arg(&model)
            .args(["--data", IRIS, "--format", "json"]),
    );
    let predicted = json_stdout(
        nesy()
            .args(["predict", "tree", "--model"])
            .arg(&model)
            .args(["--data", IRIS, "--format", "json"]),
    );
    let text = std::fs::read_to_string(common::repo().join(IRIS)).unwrap();
    let labels: Vec<String> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.rsplit(',').next().unwrap().trim().to_string())
        .collect();
    let rows = predicted.as_array().unwrap();
    assert_eq!(rows.len(), labels.len());
    let (mut brier, mut log_loss) = (0.0, 0.0);
    for (row, label) in rows.iter().zip(&labels) {
        for (class, p) in row["distribution"].as_object().unwrap() {
            let p = p.as_f64().unwrap();
            let y = if class == label { 1.0 } else { 0.0 };
            brier += (p - y) * (p - y);
        }
        let p = row["distribution"][label.as_str()].as_f64().unwrap();
        log_loss -= p.max(1e-15).ln();
    }
    let n = labels.len() as f64;
    assert!(
        (eval["brier"].as_f64().unwrap() - brier / n).abs() < 1e-12,
        "{eval}"
    );
    assert!(
        (eval["log_loss"].as_f64().unwrap() - log_loss / n).abs() < 1e-12,
        "{eval}"
    );
    // A depth-3 tree on iris is not certain everywhere.
    assert!(eval["brier"].as_f64().unwrap() > 0.01);
}

#[test]
fn an_image_shape_that_does_not_fit_the_table_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.net");
    for (shape, says) in [
        ("8by8", "give the image's rows and columns"),
        ("9x8", "needs 72 features (it has 64)"),
        ("99999999999x99999999999", "needs too many features"),
    ] {
        nesy()
            .args([
                "train",
                "net",
                "--data",
                "examples/digits_addition/digits.csv",
                "--target",
                "class",
                "--epochs",
                "0",
                "--image",
                shape,
                "-o",
            ])
            .arg(&out)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(says));
        assert!(!out.exists(), "nothing is written for {shape}");
    }
}
