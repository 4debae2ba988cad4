//! Hostile input to the `nesy` command (issue 14): each case once aborted
//! the process, hung it, or lost or overwrote data. Each now ends with a
//! located error and the exit status the README gives.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use common::nesy;
use predicates::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("nesy")
}

/// A command's exit status, killed (and failed) past `secs`.
fn status_within(cmd: &mut assert_cmd::Command, secs: u64) -> assert_cmd::assert::Assert {
    cmd.timeout(Duration::from_secs(secs)).assert()
}

// ------------------------------------------------------------- SPARQL

#[test]
fn deep_sparql_from_the_command_line_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "d.nt",
        "<http://x/a> <http://x/p> <http://x/b> .\n",
    );
    for query in [
        format!(
            "SELECT * WHERE {}?s ?p ?o{}",
            "{".repeat(4000),
            "}".repeat(4000)
        ),
        format!(
            "SELECT * WHERE {{ ?s ?p ?o FILTER({}?o{} != 1) }}",
            "(".repeat(5000),
            ")".repeat(5000)
        ),
        format!(
            "SELECT * WHERE {{ ?s ?p ?o FILTER({}1 > 0) }}",
            "1 + ".repeat(5000)
        ),
    ] {
        let file = write(dir.path(), "q.rq", &query);
        status_within(
            nesy()
                .args(["kg", "query", "--data"])
                .arg(&data)
                .arg("--file")
                .arg(&file),
            60,
        )
        .code(1)
        .stderr(predicate::str::contains("SPARQL 1:"));
    }
}

#[test]
fn deep_sparql_in_a_rule_file_fails_check_and_run_alike() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "deep.nesy",
        &format!(
            "@import r from sparql(\"SELECT * WHERE {}?s ?p ?o{}\").\nq(X) :- r(X).\n",
            "{".repeat(1000),
            "}".repeat(1000)
        ),
    );
    let located = "deep.nesy:1:103: error[sparql-refused]";
    status_within(nesy().arg("check").arg(&rules), 60)
        .code(1)
        .stdout(predicate::str::contains(located));
    status_within(nesy().arg("run").arg(&rules), 60)
        .code(1)
        .stderr(predicate::str::contains(located));
}

// ---------------------------------------------------- explanations

#[test]
fn a_thousand_link_chain_is_explained_quickly_and_cut_where_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut text =
        String::from("reach(X, Y) :- edge(X, Y).\nreach(X, Z) :- edge(X, Y), reach(Y, Z).\n");
    for i in 0..1000 {
        text.push_str(&format!("edge({i}, {}).\n", i + 1));
    }
    let rules = write(dir.path(), "chain.nesy", &text);
    let out = status_within(
        nesy().arg("explain").arg(&rules).args([
            "reach(0, 1000)",
            "--format",
            "json",
            "--max-depth",
            "20",
        ]),
        60,
    )
    .success()
    .get_output()
    .stdout
    .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let mut node = &v;
    let mut levels = 1;
    while let Some(next) = node["premises"].as_array().and_then(|p| p.last()) {
        node = next;
        levels += 1;
    }
    assert_eq!(levels, 20);
    assert_eq!(node["truncated"], true);
    for format in ["text", "dot"] {
        status_within(
            nesy().arg("explain").arg(&rules).args([
                "reach(0, 1000)",
                "--format",
                format,
                "--max-depth",
                "1000",
            ]),
            60,
        )
        .success();
    }
}

// ------------------------------------------------------------ RDF/XML

#[test]
fn an_entity_bomb_is_refused_by_kg_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut dtd = String::from("<!ENTITY l0 \"lol\">\n");
    for level in 1..=9 {
        dtd.push_str(&format!(
            "<!ENTITY l{level} \"{}\">\n",
            format!("&l{};", level - 1).repeat(10)
        ));
    }
    let bomb = write(
        dir.path(),
        "bomb.rdf",
        &format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE rdf:RDF [\n{dtd}]>\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"http://x/a\"><rdf:value>&l9;</rdf:value></rdf:Description></rdf:RDF>\n"
        ),
    );
    status_within(nesy().args(["kg", "load"]).arg(&bomb), 30)
        .code(1)
        .stderr(
            predicate::str::contains("bomb.rdf:8:1").and(predicate::str::contains("expands to")),
        );
}

// ------------------------------------------------- streams and numbers

#[test]
fn a_closed_stderr_or_stdout_is_no_crash() {
    // Standard error a pipe nobody reads any more, and the command fails
    // (a missing file): its message cannot be written, and it exits 2
    // (the panic hook's own eprintln! used to abort the process).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = std::process::Command::new(bin())
        .args(["run", "/no/such/file.nesy"])
        .stdout(Stdio::null())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    // Standard output a pipe nobody reads: quietly done.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(bin())
        .args(["run", "rules/family.nesy", "--format", "tsv"])
        .current_dir(common::repo())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Standard output a full disk: a clear error and exit 1.
    if Path::new("/dev/full").exists() {
        let out = std::process::Command::new(bin())
            .args(["run", "rules/family.nesy"])
            .current_dir(common::repo())
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("cannot write to standard output: No space left"),
            "{stderr}"
        );
    }
}

#[test]
fn an_enormous_timeout_is_no_deadline() {
    nesy()
        .args([
            "run",
            "rules/family.nesy",
            "--timeout",
            "10000000000000000000",
        ])
        .assert()
        .success();
}

#[test]
fn limits_stop_model_counting_and_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..60 {
        text.push_str(&format!("0.5 :: f({i}).\n"));
    }
    let mut state: u64 = 7;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % 60
    };
    for _ in 0..40 {
        text.push_str(&format!(
            "g :- f({}), f({}), f({}).\n",
            next(),
            next(),
            next()
        ));
    }
    let hard = write(dir.path(), "hard.nesy", &text);
    status_within(
        nesy()
            .arg("run")
            .arg(&hard)
            .args(["--semiring", "top-k", "-k", "1000", "--timeout", "1s"]),
        30,
    )
    .code(1)
    .stderr(predicate::str::contains("time limit"));
    let mut agg = String::from("c(N) :- N = count { X, Y, Z : a(X), a(Y), a(Z) }.\n");
    for i in 0..1500 {
        agg.push_str(&format!("a({i}).\n"));
    }
    let agg = write(dir.path(), "agg.nesy", &agg);
    status_within(
        nesy()
            .arg("run")
            .arg(&agg)
            .args(["--max-tuples", "1000000"]),
        60,
    )
    .code(1)
    .stderr(predicate::str::contains("tuple limit"));
}

// ------------------------------------------------------- file handling

#[cfg(unix)]
#[test]
fn directory_walks_survive_link_loops_and_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d");
    std::fs::create_dir(&d).unwrap();
    write(&d, "good.nesy", "p(1).\n");
    std::fs::write(d.join("latin1.nesy"), b"p(\"caf\xe9\").\n").unwrap();
    std::os::unix::fs::symlink("..", d.join("up")).unwrap();
    std::os::unix::fs::symlink(".", d.join("self")).unwrap();
    status_within(nesy().arg("check").arg(&d), 30)
        .code(1)
        .stdout(
            predicate::str::contains("latin1.nesy: error[unreadable]")
                .and(predicate::str::contains("2 files checked: 1 error")),
        );
    status_within(nesy().args(["fmt", "--check"]).arg(&d), 30)
        .code(1)
        .stderr(predicate::str::contains("latin1.nesy"));
    status_within(nesy().arg("test").arg(&d), 30).code(1);
}

#[cfg(unix)]
#[test]
fn fmt_through_a_link_formats_the_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let target = write(dir.path(), "real.nesy", "p(1).   q(X):-p(X).\n");
    let link = dir.path().join("link.nesy");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    nesy().arg("fmt").arg(&link).assert().success();
    assert!(link.is_symlink());
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "p(1).\nq(X) :- p(X).\n"
    );
}

#[test]
fn run_output_never_writes_two_relations_to_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "r.nesy",
        "@prefix ex: <http://example.org/>.\nex:r(X) :- b(X).\nex_r(X) :- b(X).\nb(1).\n",
    );
    let out = dir.path().join("out");
    nesy()
        .arg("run")
        .arg(&rules)
        .arg("--output")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "would both be written to `ex_r.tsv`",
        ));
    assert!(!out.join("ex_r.tsv").exists());
}
