//! The `nesy` command end to end: exit codes, output formats, and the shared
//! corpus of broken programs in the repository's `tests/broken/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on broken fixtures"
)]

mod common;

use common::{nesy, repo};
use predicates::prelude::*;
use serde_json::Value;
use std::path::PathBuf;

fn broken(name: &str) -> String {
    format!("tests/broken/{name}.nesy")
}

#[test]
fn help_and_version() {
    nesy()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("check"));
    nesy()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "nesy {}",
            env!("CARGO_PKG_VERSION")
        )));
}

/// Each command's help says what it does instead of sending the reader
/// back to the help they are reading.
#[test]
fn help_never_refers_to_itself() {
    for command in [
        "check",
        "fmt",
        "run",
        "query",
        "explain",
        "test",
        "kg",
        "train",
        "eval",
        "predict",
        "export-rules",
        "serve",
    ] {
        let output = nesy().args([command, "--help"]).output().unwrap();
        assert!(output.status.success(), "{command} --help");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(
            !help.contains(&format!("nesy {command} --help")),
            "`nesy {command} --help` refers to itself:\n{help}"
        );
    }
    let top = nesy().arg("--help").output().unwrap();
    let top = String::from_utf8_lossy(&top.stdout);
    assert!(!top.contains("--help`"), "{top}");
    assert!(top.contains("/v1/decide"), "{top}");
}

/// A diagnostic's message is said once: on its `file:line:col:` header,
/// not again on miette's `×` line under it.
#[test]
fn each_diagnostic_message_is_printed_once() {
    let output = nesy()
        .args(["check", &broken("unsafe_head")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let message = "variable `Z` in the head is not bound by the body";
    assert_eq!(text.matches(message).count(), 1, "{text}");
    assert!(!text.contains('×'), "{text}");
    assert!(text.contains("help: bind `Z`"), "{text}");
    // With color too (the excerpt is rendered another way).
    let output = assert_cmd::Command::cargo_bin("nesy")
        .unwrap()
        .current_dir(repo())
        .args(["--color", "always", "check", &broken("unsafe_head")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(text.matches(message).count(), 1, "{text}");
}

#[test]
fn every_shipped_rule_file_checks() {
    nesy()
        .args(["check", "rules/"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 errors"));
}

#[test]
fn an_error_exits_1_with_file_line_column_and_a_caret() {
    nesy()
        .args(["check", &broken("unsafe_head")])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "tests/broken/unsafe_head.nesy:2:16: error[unsafe-variable]: variable `Z` in the head is not bound by the body",
        ))
        .stdout(predicate::str::contains("grandparent(X, Z) :- parent(X, Y)."))
        .stdout(predicate::str::contains("┬"))
        .stdout(predicate::str::contains("help: bind `Z`"));
}

#[test]
fn warnings_alone_exit_0_unless_denied() {
    nesy().args(["check", &broken("warnings")]).assert().code(0);
    nesy()
        .args(["check", "--deny-warnings", &broken("warnings")])
        .assert()
        .code(1);
}

#[test]
fn usage_errors_exit_2() {
    nesy().args(["check"]).assert().code(2);
    nesy()
        .args(["check", "--format", "yaml", "rules/"])
        .assert()
        .code(2);
    nesy()
        .args(["check", "no/such/file.nesy"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not exist"));
    nesy().args(["frobnicate"]).assert().code(2);
}

/// The CLI agrees with the library on the whole corpus: same diagnostics, as
/// JSON, with every documented key.
#[test]
fn json_output_matches_the_corpus_expectations() {
    let dir = repo().join("tests/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "nesy"))
        .collect();
    files.sort();
    assert!(files.len() >= 20);
    for path in files {
        let relative = format!(
            "tests/broken/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let output = nesy()
            .args(["check", "--format", "json", &relative])
            .output()
            .unwrap();
        let expected_code = if relative.ends_with("warnings.nesy") {
            0
        } else {
            1
        };
        assert_eq!(output.status.code(), Some(expected_code), "{relative}");
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut lines = String::new();
        for d in json["diagnostics"].as_array().unwrap() {
            for key in [
                "file", "line", "column", "severity", "code", "message", "help",
            ] {
                assert!(d.get(key).is_some(), "{relative}: no `{key}` in {d}");
            }
            assert_eq!(d["file"], relative.as_str());
            lines.push_str(&format!(
                "{}:{}: {}[{}]: {}\n",
                d["line"],
                d["column"],
                d["severity"].as_str().unwrap(),
                d["code"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            ));
            if let Some(help) = d["help"].as_str() {
                lines.push_str(&format!("  help: {help}\n"));
            }
        }
        let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        assert_eq!(lines, expected, "{relative}");
        assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    }
}

#[test]
fn all_problems_of_a_file_are_reported_in_one_run() {
    let output = nesy()
        .args([
            "check",
            "--format",
            "json",
            &broken("several_syntax_errors"),
        ])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["errors"], 4);
    assert_eq!(json["warnings"], 1);
    let lines: Vec<u64> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 5, 6, 6]);
}

#[test]
fn fmt_check_reports_unformatted_files_and_fmt_rewrites_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("messy.nesy");
    std::fs::write(&file, "p(X):-q(X).\nq(a).\n").unwrap();
    let path = file.to_str().unwrap();

    nesy()
        .args(["fmt", "--check", path])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("would reformat"))
        // The change itself, as a unified diff.
        .stdout(predicate::str::contains(
            "-p(X):-q(X).\n+p(X) :- q(X).\n q(a).\n",
        ));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "p(X):-q(X).\nq(a).\n"
    );

    nesy().args(["fmt", path]).assert().code(0);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "p(X) :- q(X).\nq(a).\n"
    );
    nesy().args(["fmt", "--check", path]).assert().code(0);
}

#[test]
fn fmt_refuses_a_file_with_syntax_errors_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.nesy");
    let text = "p(X :- q(X).\n";
    std::fs::write(&file, text).unwrap();
    nesy()
        .args(["fmt", file.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("broken.nesy:1:5"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

#[test]
fn fmt_reads_standard_input() {
    nesy()
        .args(["fmt", "-"])
        .write_stdin("?-p( X ).")
        .assert()
        .success()
        .stdout("?- p(X).\n");
    nesy()
        .args(["fmt", "--check", "-"])
        .write_stdin("?-p( X ).\n")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("-?-p( X ).\n+?- p(X).\n"));
}

#[test]
fn shipped_rules_are_formatted() {
    nesy().args(["fmt", "--check", "rules/"]).assert().code(0);
}

#[test]
fn hostile_input_never_panics() {
    for input in [
        "\u{0}\u{1}((((",
        "@test \"x\" {",
        "p(\"\\u{110000}\").",
        "\"\"\"",
        "p(X) :- X = 1 / 0.",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hostile.nesy");
        std::fs::write(&file, input).unwrap();
        let output = nesy()
            .args(["check", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(matches!(output.status.code(), Some(0 | 1)), "{input:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("internal error"),
            "{input:?}: {stderr}"
        );
    }
}

#[test]
fn json_diagnostics_carry_the_did_you_mean_edit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.nesy");
    std::fs::write(&file, "parent(a, b).\nanc(X, Y) :- parnt(X, Y).\n").unwrap();
    let output = nesy()
        .args(["check", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let typo = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "undefined-relation")
        .unwrap()
        .clone();
    assert_eq!(
        typo["fix"],
        serde_json::json!({"line": 2, "column": 14, "end_line": 2, "end_column": 19, "replacement": "parent"})
    );
    // Without a suggestion there is no `fix` key at all.
    std::fs::write(&file, "anc(X, Y) :- zzz(X, Y).\n").unwrap();
    let output = nesy()
        .args(["check", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["diagnostics"][0].get("fix").is_none(), "{json}");
}
