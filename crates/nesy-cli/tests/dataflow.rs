//! `nesy run --backend dataflow`: the native engine's output from several
//! workers and from two processes on loopback; usage and cluster errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

mod common;

use common::{nesy, repo};
use predicates::prelude::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn stdout_of(args: &[&str]) -> String {
    let out = nesy()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_dataflow_backend_prints_what_the_native_engine_prints() {
    for program in [
        "rules/same_generation.nesy",
        "rules/company.nesy",
        "rules/family.nesy",
    ] {
        let native = stdout_of(&["run", program, "--format", "tsv"]);
        for workers in ["1", "2"] {
            let dataflow = stdout_of(&[
                "run",
                program,
                "--format",
                "tsv",
                "--backend",
                "dataflow",
                "--workers",
                workers,
            ]);
            assert_eq!(dataflow, native, "{program} with {workers} workers");
        }
    }
}

/// Free loopback ports (bound and released; a race with another process
/// taking one is possible but unlikely).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

#[test]
fn two_processes_on_loopback_give_the_native_answers_from_process_0() {
    let program = repo().join("rules/same_generation.nesy");
    let native = stdout_of(&["run", program.to_str().unwrap(), "--format", "tsv"]);
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    let ports = free_ports(2);
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1]),
    )
    .unwrap();
    let start = |process: &str| {
        Command::new(assert_cmd::cargo::cargo_bin("nesy"))
            .current_dir(repo())
            .args([
                "run",
                program.to_str().unwrap(),
                "--format",
                "tsv",
                "--backend",
                "dataflow",
            ])
            .args(["--workers", "2", "--processes", "2", "--process", process])
            .arg("--hosts")
            .arg(&hosts)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut second = start("1");
    let mut first = start("0");
    let deadline = Instant::now() + Duration::from_secs(120);
    while [first.try_wait().unwrap(), second.try_wait().unwrap()]
        .iter()
        .any(Option::is_none)
    {
        if Instant::now() > deadline {
            let _ = first.kill();
            let _ = second.kill();
            panic!("the cluster did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(String::from_utf8(first.stdout).unwrap(), native);
    assert!(second.stdout.is_empty(), "process 1 writes nothing");
}

#[test]
fn flags_the_backend_cannot_take_are_usage_errors_and_model_calls_are_refused() {
    nesy()
        .args(["run", "rules/graph.nesy", "--workers", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("add `--backend dataflow`"));
    nesy()
        .args([
            "run",
            "rules/probabilistic.nesy",
            "--backend",
            "dataflow",
            "--semiring",
            "max-prob",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bool semiring only"));
    nesy()
        .args(["run", "rules/credit.nesy", "--backend", "dataflow"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot evaluate the model call"));
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    for (text, message) in [
        (
            "127.0.0.1:7001\nnowhere\n",
            "line 2: `nowhere` is not `host:port`",
        ),
        ("127.0.0.1:7001\n", "1 addresses for 2 processes"),
    ] {
        std::fs::write(&hosts, text).unwrap();
        nesy()
            .args([
                "run",
                "rules/graph.nesy",
                "--backend",
                "dataflow",
                "--processes",
                "2",
                "--hosts",
            ])
            .arg(&hosts)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(message));
    }
}
