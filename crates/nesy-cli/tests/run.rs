//! `nesy run`, `nesy query` and `nesy test` end to end: output formats
//! against the golden outputs of `tests/golden/`, limits, and error paths.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on broken fixtures"
)]

mod common;

use common::{json_stdout, nesy, repo};
use predicates::prelude::*;
use serde_json::Value;
use std::path::PathBuf;

fn golden(program: &str, relation: &str) -> String {
    std::fs::read_to_string(repo().join(format!("tests/golden/{program}/{relation}.tsv"))).unwrap()
}

/// A rule file in a fresh temporary directory.
fn temp_rules(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.nesy");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn run_tsv_prints_sorted_tuples_matching_the_golden_files() {
    let out = nesy()
        .args(["run", "rules/graph.nesy", "--format", "tsv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let mut expected = String::new();
    for relation in ["cyclic", "out_degree", "reach", "source"] {
        for line in golden("graph", relation).lines() {
            expected.push_str(&format!("{relation}\t{line}\n"));
        }
    }
    assert_eq!(text, expected);
}

#[test]
fn run_output_dir_writes_one_tsv_per_relation_like_souffle() {
    let dir = tempfile::tempdir().unwrap();
    nesy()
        .args(["run", "rules/family.nesy", "--output"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout("");
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    written.sort();
    assert_eq!(written.len(), 10, "{written:?}");
    for file in written {
        let relation = file.trim_end_matches(".tsv");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(&file)).unwrap(),
            golden("family", relation),
            "{file}"
        );
    }
}

#[test]
fn run_json_has_relations_with_numbers_as_numbers() {
    let json = json_stdout(nesy().args([
        "run",
        "rules/family.nesy",
        "--format",
        "json",
        "-r",
        "next_age",
        "-r",
        "mean_age",
    ]));
    let relations = json["relations"].as_object().unwrap();
    assert_eq!(relations.len(), 2);
    assert_eq!(
        json["relations"]["next_age"][0],
        serde_json::json!(["alice", 68])
    );
    assert_eq!(json["relations"]["mean_age"][0][0], serde_json::json!(32.0));
    assert_eq!(json["queries"][0]["goal"], "ancestor(alice, W)");
    assert_eq!(
        json["queries"][0]["rows"],
        serde_json::json!([["bob"], ["carol"], ["dave"]])
    );
}

#[test]
fn run_table_and_csv_formats() {
    nesy()
        .args(["run", "rules/family.nesy", "-r", "grandparent"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "grandparent (2 tuples)\n  alice  carol\n  alice  dave\n",
        ))
        .stdout(predicate::str::contains(
            "?- ancestor(alice, W).\n  W\n  bob\n",
        ));
    let (_dir, path) = temp_rules("said(\"hello, world\", 1).\nq(X, N) :- said(X, N).\n");
    nesy()
        .args(["run", "--format", "csv"])
        .arg(&path)
        .assert()
        .success()
        .stdout("q,\"hello, world\",1\n");
}

#[test]
fn run_stats_reports_strata_and_rules_on_stderr() {
    nesy()
        .args(["run", "rules/graph.nesy", "--stats", "-r", "reach"])
        .assert()
        .success()
        .stderr(predicate::str::contains("stratum"))
        .stderr(predicate::str::contains("rules/graph.nesy:7:1"))
        .stderr(predicate::str::contains("iterations"));
}

#[test]
fn run_stats_prints_a_stratum_wider_than_a_format_width() {
    // 3,000 mutually recursive relations: listed whole, the stratum's
    // relations were wider than `format!` pads (u16), which panicked; the
    // table names six and counts the rest.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.nesy");
    let n = 3000;
    let mut text = String::from("relation_with_a_long_name_0(1).\n");
    for i in 0..n {
        text.push_str(&format!(
            "relation_with_a_long_name_{}(X) :- relation_with_a_long_name_{i}(X).\n",
            (i + 1) % n
        ));
    }
    std::fs::write(&path, text).unwrap();
    nesy()
        .args([
            "run",
            path.to_str().unwrap(),
            "--stats",
            "-r",
            "relation_with_a_long_name_7",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("1"))
        .stderr(predicate::str::contains("and 2994 more"))
        .stderr(predicate::str::contains("internal error").not());
}

#[test]
fn run_unknown_relation_or_file_is_a_usage_error() {
    nesy()
        .args(["run", "rules/family.nesy", "-r", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no relation `nope`"));
    nesy()
        .args(["run", "no/such/file.nesy"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a file"));
}

#[test]
fn run_refuses_rules_with_errors_and_shows_the_caret() {
    let (_dir, path) = temp_rules("p(X) :- q(Y).\n");
    nesy()
        .arg("run")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("rules.nesy:1:3"))
        .stderr(predicate::str::contains("nothing was run"));
}

#[test]
fn runaway_recursion_stops_at_the_tuple_limit() {
    let (_dir, path) = temp_rules("n(0).\nn(Y) :- n(X), Y = X + 1.\n");
    nesy()
        .arg("run")
        .arg(&path)
        .args(["--max-tuples", "1000"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "tuple limit of 1000 reached (relation `n` was growing)",
        ))
        .stderr(predicate::str::contains("help: raise the limit"));
}

#[test]
fn runaway_recursion_stops_at_the_time_limit() {
    let (_dir, path) = temp_rules("n(0).\nn(Y) :- n(X), Y = X + 1.\n");
    nesy()
        .arg("run")
        .arg(&path)
        .args(["--timeout", "300ms"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("time limit of 300 ms reached"));
}

#[test]
fn proof_sets_that_explode_stop_at_the_time_limit() {
    // Every path of a complete graph is a proof: `why` keeps up to 1000
    // per tuple, far more work than a second allows.
    let mut text =
        String::from("path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).\n");
    for a in 0..12 {
        for b in 0..12 {
            if a != b {
                text.push_str(&format!("0.5 :: edge(n{a}, n{b}).\n"));
            }
        }
    }
    let (_dir, path) = temp_rules(&text);
    let started = std::time::Instant::now();
    nesy()
        .arg("run")
        .arg(&path)
        .args(["--semiring", "why", "--timeout", "1s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("time limit of 1.0 s reached"));
    // Stopped near the limit, not at the end of the work.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn rule_instances_past_the_event_limit_stop_top_k() {
    // 400 ground instances of a weighted rule, each an event under top-k;
    // max-prob keeps no events and runs to the end.
    let mut text = String::from("0.5 :: pair(X, Y) :- n(X), n(Y).\n");
    for i in 0..20 {
        text.push_str(&format!("n({i}).\n"));
    }
    let (_dir, path) = temp_rules(&text);
    nesy()
        .arg("run")
        .arg(&path)
        .args(["--semiring", "top-k", "--max-events", "100"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("event limit of 100 reached"))
        .stderr(predicate::str::contains("use max-prob or add-mult"));
    nesy()
        .arg("run")
        .arg(&path)
        .args([
            "--semiring",
            "max-prob",
            "--max-events",
            "100",
            "--format",
            "tsv",
            "-r",
            "pair",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("pair\t19\t19\t0.5"));
}

#[test]
fn integer_overflow_and_division_by_zero_are_errors_naming_the_rule() {
    let (_dir, path) = temp_rules("n(1).\nn(Y) :- n(X), Y = X * 2.\n");
    nesy()
        .arg("run")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "rules.nesy:2:1: integer overflow in 4611686018427387904 * 2",
        ));
    let (_dir, path) = temp_rules("v(3). v(0).\nq(R) :- v(X), R = 10 / X.\n");
    nesy()
        .arg("run")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("division by zero in 10 / 0"))
        // The help says what to do, in a whole sentence.
        .stderr(predicate::str::contains(
            "help: the location is the rule whose arithmetic failed: guard it (for example `Y != 0` before `X / Y`) or keep its values in range\n",
        ));
}

#[test]
fn a_malformed_import_line_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("edges.facts"), "a\tb\nb\tc\td\n").unwrap();
    std::fs::write(dir.path().join("people.csv"), "name,age\nann,41\nbob,x\n").unwrap();
    std::fs::write(
        dir.path().join("tc.nesy"),
        "@import edge from \"edges.facts\".\nr(X) :- edge(X, _).\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("people.nesy"),
        "@import person from \"people.csv\".\n@decl person(name: symbol, age: int).\nadult(X) :- person(X, A), A >= 18.\n",
    )
    .unwrap();
    nesy()
        .arg("run")
        .arg(dir.path().join("tc.nesy"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "edges.facts:2: expected 2 tab-separated values, found 3",
        ));
    nesy()
        .arg("run")
        .arg(dir.path().join("people.nesy"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "people.csv:3: `x` is not an integer",
        ));
}

#[test]
fn imported_numbers_become_numbers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.tsv"), "a\t3\t1.5\nb\t10\t2\n").unwrap();
    std::fs::write(
        dir.path().join("m.nesy"),
        "@import m from \"m.tsv\".\nbig(X, S) :- m(X, N, F), S = N * F, N > 5.\n",
    )
    .unwrap();
    nesy()
        .arg("run")
        .arg(dir.path().join("m.nesy"))
        .args(["--format", "tsv"])
        .assert()
        .success()
        .stdout("big\tb\t20\n");
}

#[test]
fn query_prints_bindings_and_says_how_it_evaluated() {
    nesy()
        .args(["query", "rules/family.nesy", "ancestor(alice, X)"])
        .assert()
        .success()
        .stdout("X\nbob\ncarol\ndave\n(3 answers)\n");
    let json = json_stdout(nesy().args([
        "query",
        "rules/family.nesy",
        "sibling(X, Y), age(X, A), A > 10",
        "--format",
        "json",
    ]));
    assert_eq!(json["variables"], serde_json::json!(["X", "Y", "A"]));
    assert_eq!(json["rows"], serde_json::json!([["carol", "dave", 12]]));
    assert_eq!(json["strategy"], "full");
    let out = nesy()
        .args([
            "query",
            "rules/family.nesy",
            "ancestor(X, carol)",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["strategy"], "magic_sets");
    nesy()
        .args(["query", "rules/family.nesy", "ancestor(carol, alice)."])
        .assert()
        .success()
        .stdout("false\n");
}

#[test]
fn a_bad_goal_is_reported_with_a_caret() {
    nesy()
        .args(["query", "rules/family.nesy", "ancestor(alice X)"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("<goal>:1:"));
    nesy()
        .args(["query", "rules/family.nesy", "ancestr(alice, X)"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no relation `ancestr` in the program",
        ));
}

#[test]
fn test_runs_every_block_and_ends_with_the_counts() {
    nesy()
        .args([
            "test",
            "rules/family.nesy",
            "rules/graph.nesy",
            "rules/company.nesy",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "test rules/family.nesy:42:1 \"alice is an ancestor of her grandchildren\" ... ok",
        ))
        .stdout(predicate::str::ends_with("\n5 passed, 0 failed\n"));
}

#[test]
fn a_failing_test_names_the_expectation_and_exits_1() {
    let (_dir, path) = temp_rules(
        "edge(a, b).\nreach(X, Y) :- edge(X, Y).\n@test \"fails\" {\n    reach(b, a).\n    not reach(X, b).\n}\n@test \"passes\" {\n    given { edge(b, a). }\n    reach(b, a).\n}\n",
    );
    nesy()
        .arg("test")
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"fails\" ... FAILED"))
        .stdout(predicate::str::contains(
            "rules.nesy:4:5: expected `reach(b, a)`, but it does not hold",
        ))
        .stdout(predicate::str::contains(
            "rules.nesy:5:5: expected `not reach(X, b)`, but it holds, for example with X = a",
        ))
        .stdout(predicate::str::contains("\"passes\" ... ok"))
        .stdout(predicate::str::ends_with("\n1 passed, 1 failed\n"));
}

#[test]
fn explain_prints_a_proof_tree_with_sources() {
    nesy()
        .args(["explain", "rules/family.nesy", "ancestor(alice, dave)"])
        .assert()
        .success()
        .stdout(
            "ancestor(alice, dave)  [by rules/family.nesy:22:1 with X = alice, Y = bob, Z = dave]\n  parent(alice, bob)  [fact at rules/family.nesy:12:1]\n  ancestor(bob, dave)  [by rules/family.nesy:21:1 with X = bob, Y = dave]\n    parent(bob, dave)  [fact at rules/family.nesy:14:1]\n",
        );
}

#[test]
fn explain_says_why_not() {
    nesy()
        .args(["explain", "rules/family.nesy", "grandparent(bob, alice)"])
        .assert()
        .success()
        .stdout(
            "NOT grandparent(bob, alice)  [does not hold]\n  rule `grandparent_rule` at rules/family.nesy:25:1: `parent(carol, alice)` fails: no fact matches\n",
        );
}

#[test]
fn explain_json_and_dot() {
    let json = json_stdout(nesy().args([
        "explain",
        "rules/graph.nesy",
        "reach(a, c)",
        "--format",
        "json",
    ]));
    assert_eq!(json["fact"], "reach(a, c)");
    assert_eq!(json["holds"], true);
    assert_eq!(json["rule"]["location"], "rules/graph.nesy:7:1");
    assert_eq!(json["premises"][1]["source"], "knowledge/edges.facts:2");
    let json = json_stdout(nesy().args([
        "explain",
        "rules/graph.nesy",
        "reach(e, X)",
        "--format",
        "json",
    ]));
    assert_eq!(
        json[0]["holds"], false,
        "a goal with variables gives an array"
    );
    nesy()
        .args([
            "explain",
            "rules/graph.nesy",
            "reach(a, b)",
            "--format",
            "dot",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("digraph explanation {"))
        .stdout(predicate::str::contains("n0 -> n1;"));
}

#[test]
fn explain_needs_one_atom() {
    nesy()
        .args(["explain", "rules/family.nesy", "parent(X, Y), parent(Y, Z)"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("explain takes one atom"));
}

#[test]
fn run_with_a_probabilistic_semiring_appends_the_probability() {
    let out = nesy()
        .args([
            "run",
            "rules/probabilistic.nesy",
            "--semiring",
            "top-k",
            "-k",
            "100",
            "--format",
            "tsv",
            "-r",
            "path",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let rows: Vec<(String, f64)> = text
        .lines()
        .map(|l| {
            let (tuple, p) = l.rsplit_once('\t').unwrap();
            (tuple.to_string(), p.parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 6);
    // ProbLog: P(path(a, c)) = 1 - (1 - 0.9 * 0.8) * (1 - 0.5) = 0.86
    let (tuple, p) = &rows[1];
    assert_eq!(tuple, "path\ta\tc");
    assert!((p - 0.86).abs() < 1e-12);

    let json = json_stdout(nesy().args([
        "run",
        "rules/probabilistic.nesy",
        "--semiring",
        "max-prob",
        "--format",
        "json",
        "-r",
        "path",
    ]));
    assert_eq!(json["semiring"], "max-prob");
    let first = &json["relations"]["path"][1];
    assert_eq!(first["tuple"], serde_json::json!(["a", "c"]));
    assert!((first["probability"].as_f64().unwrap() - 0.72).abs() < 1e-12);
    // One spelling of top-k everywhere: `top-k` with -k K, or `top-k(K)`.
    for args in [
        ["--semiring", "top-k", "-k", "3"],
        ["--semiring", "top-k(3)", "-r", "path"],
    ] {
        let json = json_stdout(
            nesy()
                .args(["run", "rules/probabilistic.nesy", "--format", "json"])
                .args(args),
        );
        assert_eq!(json["semiring"], "top-k(3)");
    }
}

#[test]
fn an_unknown_semiring_is_a_usage_error() {
    nesy()
        .args(["run", "rules/probabilistic.nesy", "--semiring", "fuzzy"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown semiring `fuzzy`"));
}

#[test]
fn query_and_explain_carry_probabilities_under_a_semiring() {
    nesy()
        .args([
            "query",
            "rules/probabilistic.nesy",
            "path(a, X), path(X, d)",
            "--semiring",
            "top-k",
            "-k",
            "50",
            "--format",
            "tsv",
        ])
        .assert()
        .success()
        .stdout("b\t0.72\nc\t0.86\n");
    nesy()
        .args([
            "query",
            "rules/probabilistic.nesy",
            "dry",
            "--semiring",
            "top-k",
        ])
        .assert()
        .success()
        .stdout("true (p = 0.24)\n");
    let json = json_stdout(nesy().args([
        "explain",
        "rules/probabilistic.nesy",
        "path(a, d)",
        "--semiring",
        "max-prob",
        "--format",
        "json",
    ]));
    // What max-prob computed: the most likely proof, as its derivation
    // (the facts it takes with their probabilities).
    assert!((json["tag"].as_f64().unwrap() - 0.72).abs() < 1e-12);
    assert_eq!(json["kind"], "proofs");
    assert_eq!(json["semiring"], "max-prob");
    let proof = &json["premises"][0];
    assert_eq!(proof["kind"], "proof");
    assert!((proof["tag"].as_f64().unwrap() - 0.72).abs() < 1e-12);
    let derivation = &proof["premises"][0];
    assert_eq!(derivation["fact"], "path(a, d)");
    assert_eq!(derivation["kind"], "rule");
    let first = &derivation["premises"][0];
    assert_eq!(first["fact"], "edge(a, b)");
    assert!((first["tag"].as_f64().unwrap() - 0.9).abs() < 1e-12);
}

#[test]
fn an_explanation_under_a_semiring_is_of_what_it_computed() {
    // Plain evaluation takes every probabilistic fact as true, so there
    // `dry :- not wet.` does not hold; its probability is 0.24, and the
    // explanation shows the proof counted: rain and sprinkler both fail.
    // (max-prob and add-mult negate `wet`'s own tag: 0.3 and 0.1.)
    for (semiring, p) in [
        ("top-k", "0.24"),
        ("why", "0.24"),
        ("max-prob", "0.3"),
        ("add-mult", "0.1"),
    ] {
        let out = nesy()
            .args([
                "explain",
                "rules/probabilistic.nesy",
                "dry",
                "--semiring",
                semiring,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{semiring}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.starts_with(&format!("dry  [p = {p}")),
            "{semiring}: {text}"
        );
        assert!(
            !text.contains("NOT ") && !text.contains("does not hold"),
            "{semiring}: {text}"
        );
        assert!(
            text.contains("not rain  [p = 0.300000; must not happen]"),
            "{semiring}: {text}"
        );
        assert!(
            text.contains("not sprinkler  [p = 0.800000; must not happen]"),
            "{text}"
        );
    }
    // In DOT, a negation that holds is not drawn as a failure.
    let dot = nesy()
        .args([
            "explain",
            "rules/probabilistic.nesy",
            "dry",
            "--semiring",
            "why",
            "--format",
            "dot",
        ])
        .output()
        .unwrap();
    let dot = String::from_utf8(dot.stdout).unwrap();
    assert!(dot.contains("not rain") && !dot.contains("red"), "{dot}");
    // Nothing of non-zero probability: why not, as plain evaluation says it.
    let out = nesy()
        .args([
            "explain",
            "rules/probabilistic.nesy",
            "path(d, a)",
            "--semiring",
            "top-k",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("NOT path(d, a)"), "{text}");
}

#[test]
fn run_why_lists_proofs_and_tags_the_queries() {
    let json = json_stdout(nesy().args([
        "run",
        "rules/probabilistic.nesy",
        "--semiring",
        "why",
        "--format",
        "json",
        "-r",
        "dry",
    ]));
    assert_eq!(
        json["relations"]["dry"][0]["proofs"],
        serde_json::json!([["not rain", "not sprinkler"]])
    );
    assert_eq!(json["queries"][1]["goal"], "wet");
    assert_eq!(
        json["queries"][1]["probabilities"],
        serde_json::json!([0.76])
    );
}

/// A relation used but never defined is a warning for `nesy check` and an
/// error for `nesy run`: run, the program would quietly answer nothing.
#[test]
fn run_refuses_a_relation_nothing_defines() {
    let (_dir, path) = temp_rules("parent(alice, bob).\nchild(X) :- parnet(X, _).\n");
    nesy().arg("check").arg(&path).assert().code(0);
    nesy()
        .arg("run")
        .arg(&path)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "error[undefined-relation]: relation `parnet` is used but never defined",
        ))
        .stderr(predicate::str::contains("help: did you mean `parent`?"))
        .stderr(predicate::str::contains(
            "error: 1 relation used but never defined; nothing was run",
        ));
    // Declared, it is an input whose facts come at run time: it runs.
    let (_dir, declared) =
        temp_rules("@decl parnet(a: symbol, b: symbol).\nchild(X) :- parnet(X, _).\n");
    nesy().arg("run").arg(&declared).assert().code(0);
    // Defined by another file of the program: it runs, without a warning.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.nesy");
    let facts = dir.path().join("facts.nesy");
    std::fs::write(&rules, "child(X) :- parnet(X, _).\n").unwrap();
    std::fs::write(&facts, "parnet(ann, bob).\n").unwrap();
    nesy()
        .arg("run")
        .arg(&rules)
        .arg(&facts)
        .assert()
        .code(0)
        .stderr("")
        .stdout(predicate::str::contains("ann"));
}

#[test]
fn tests_assert_probabilities_under_the_semiring_asked() {
    nesy()
        .args(["test", "rules/probabilistic.nesy"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\"probabilities of paths and of no rain\" ... ok",
        ));
    // Under max-prob, path(a, c) is its best proof (0.72), not 0.86.
    nesy()
        .args(["test", "rules/probabilistic.nesy", "--semiring", "max-prob"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "expected `prob(path(a, c)) = 0.86 +- 0.000001`, but its probability under max-prob is 0.72",
        ));
}

/// Access rules over IRIs, as a user writes them after loading a graph.
const ACCESS: &str = "@prefix ex: <http://example.org/acme#>.
ex:member(ex:bob, ex:writers).
ex:grants(ex:writers, ex:report).
ex:mayWrite(U, R) :- ex:member(U, G), ex:grants(G, R).
";

#[test]
fn people_read_iris_with_the_programs_prefixes() {
    let (_dir, path) = temp_rules(ACCESS);
    nesy()
        .arg("run")
        .arg(&path)
        .args(["-r", "ex:mayWrite"])
        .assert()
        .success()
        .stdout(predicate::str::contains("  ex:bob  ex:report"))
        .stdout(predicate::str::contains("<http").not());
    nesy()
        .arg("query")
        .arg(&path)
        .arg("ex:mayWrite(U, R)")
        .assert()
        .success()
        .stdout("U       R\nex:bob  ex:report\n(1 answer)\n");
    nesy()
        .arg("explain")
        .arg(&path)
        .arg("ex:mayWrite(ex:bob, ex:report)")
        .assert()
        .success()
        .stdout(predicate::str::contains("ex:member(ex:bob, ex:writers)"));
    // Scripts keep full IRIs.
    nesy()
        .arg("query")
        .arg(&path)
        .args(["ex:mayWrite(U, R)", "--format", "tsv"])
        .assert()
        .success()
        .stdout("http://example.org/acme#bob\thttp://example.org/acme#report\n");
    nesy()
        .arg("query")
        .arg(&path)
        .args(["ex:mayWrite(U, R)", "--format", "csv", "--short-iris"])
        .assert()
        .success()
        .stdout("ex:bob,ex:report\n");
    for (extra, expected) in [
        (
            &[][..],
            "ex:mayWrite\thttp://example.org/acme#bob\thttp://example.org/acme#report\n",
        ),
        (&["--short-iris"][..], "ex:mayWrite\tex:bob\tex:report\n"),
        (
            &["--short-iris", "--semiring", "top-k"][..],
            "ex:mayWrite\tex:bob\tex:report\t1\n",
        ),
    ] {
        nesy()
            .arg("run")
            .arg(&path)
            .args(["-r", "ex:mayWrite", "--format", "tsv"])
            .args(extra)
            .assert()
            .success()
            .stdout(expected);
    }
}

#[test]
fn a_symbol_that_matches_no_value_but_an_iri_gets_a_did_you_mean() {
    let (_dir, path) = temp_rules(ACCESS);
    nesy()
        .arg("query")
        .arg(&path)
        .arg("ex:mayWrite(bob, R)")
        .assert()
        .success()
        .stdout("R\n(0 answers)\n")
        .stderr(predicate::str::contains(
            "warning: the goal's symbol `bob` is in no fact; the data has the IRI ex:bob: did you mean ex:bob?",
        ));
    // A symbol that is a value somewhere is not second-guessed.
    let (_dir2, other) = temp_rules(&format!("{ACCESS}note(bob).\n"));
    nesy()
        .arg("query")
        .arg(&other)
        .arg("ex:mayWrite(bob, R)")
        .assert()
        .success()
        .stderr(predicate::str::contains("did you mean").not());
}

#[test]
fn query_and_explain_take_several_files_like_run() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.nesy");
    let facts = dir.path().join("facts.nesy");
    std::fs::write(
        &rules,
        "ancestor(X, Y) :- parent(X, Y).\nancestor(X, Z) :- parent(X, Y), ancestor(Y, Z).\n",
    )
    .unwrap();
    std::fs::write(&facts, "parent(a, b). parent(b, c).\n").unwrap();
    nesy()
        .arg("query")
        .args([&rules, &facts])
        .arg("ancestor(a, X)")
        .assert()
        .success()
        .stdout("X\nb\nc\n(2 answers)\n");
    nesy()
        .arg("explain")
        .args([&rules, &facts])
        .arg("ancestor(a, c)")
        .assert()
        .success()
        .stdout(predicate::str::contains("parent(b, c)"));
}

#[test]
fn materialize_refuses_a_triples_relation_that_is_not_one() {
    let (_dir, path) = temp_rules(ACCESS);
    nesy()
        .arg("run")
        .arg(&path)
        .args(["--materialize", "--triples", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no relation `nope`"));
    nesy()
        .arg("run")
        .arg(&path)
        .args(["--materialize", "--triples", "ex:mayWrite"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`ex:mayWrite` has 2 columns; a relation of triples has three",
        ));
}

#[test]
fn a_rule_constant_that_is_a_symbol_where_the_data_has_iris_is_flagged() {
    let (_dir, path) = temp_rules(&format!("{ACCESS}writer(U) :- ex:member(U, writers).\n"));
    nesy()
        .arg("run")
        .arg(&path)
        .args(["-r", "writer"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: a rule looks for the symbol `writers`, which no fact holds; the data has the IRI ex:writers: did you mean ex:writers?",
        ));
}
