//! `nesy serve`: a real process on a real port, a curl-like round trip on
//! the shipped credit example, and a refused start.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on broken fixtures"
)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn post(addr: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status: u16 = response.split(' ').nth(1).unwrap().parse().unwrap();
    let json = response.split("\r\n\r\n").nth(1).unwrap();
    (status, serde_json::from_str(json).unwrap())
}

/// `nesy serve ARGS` started in `dir`, and the address it listens on
/// (the first line of its standard error names it).
fn start(dir: &std::path::Path, args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("nesy"))
        .current_dir(dir)
        .arg("serve")
        .args(args)
        .env_remove("NESY_TOKEN")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    let addr = line.rsplit("http://").next().unwrap().to_string();
    (child, addr)
}

#[test]
fn serve_answers_decisions_over_http() {
    let (mut child, addr) = start(
        &common::repo(),
        &["--rules", "rules/credit.nesy", "--addr", "127.0.0.1:0"],
    );
    let (status, body) = post(
        &addr,
        "/v1/decide/decision",
        r#"{"input": {"applicant": [{"id": "c1", "income": 100000, "debt": 27000, "years_employed": 9}]}}"#,
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["args"] == serde_json::json!(["c1", "refer"])),
        "{body}"
    );
}

#[test]
fn serve_refuses_to_start_on_bad_rules() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.nesy");
    std::fs::write(&bad, "p(X) :- .\n").unwrap();
    common::nesy()
        .args(["serve", "--rules"])
        .arg(&bad)
        .args(["--addr", "127.0.0.1:0"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("bad.nesy:1:"));
}

#[cfg(unix)]
#[test]
fn sighup_reloads_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.nesy");
    std::fs::write(
        &rules,
        "@decl order(id: symbol, total: int).\nbig(O) :- order(O, T), T > 100.\n",
    )
    .unwrap();
    let (mut child, addr) = start(dir.path(), &["--rules", "r.nesy", "--addr", "127.0.0.1:0"]);
    let ask = r#"{"input": {"order": [["o1", 50]]}}"#;
    let (_, before) = post(&addr, "/v1/decide/big", ask);
    std::fs::write(
        &rules,
        "@decl order(id: symbol, total: int).\nbig(O) :- order(O, T), T > 10.\n",
    )
    .unwrap();
    Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    let mut after = before.clone();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        after = post(&addr, "/v1/decide/big", ask).1;
        if after["holds"] == true {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(before["holds"], false);
    assert_eq!(after["holds"], true, "the reloaded rule decides");
}

/// A request with a bearer token, its status.
fn status_with_token(addr: &str, token: Option<&str>) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET /v1/rules HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split(' ').nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_token_from_a_file_and_a_warning_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "from-a-file\n").unwrap();
    let token = token.display().to_string();
    let (mut child, addr) = start(
        &common::repo(),
        &[
            "--rules",
            "rules/credit.nesy",
            "--addr",
            "127.0.0.1:0",
            "--token-file",
            &token,
        ],
    );
    let without = status_with_token(&addr, None);
    let with = status_with_token(&addr, Some("from-a-file"));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!((without, with), (401, 200));
    // Every interface, no token: said before serving.
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("nesy"))
        .current_dir(common::repo())
        .args([
            "serve",
            "--rules",
            "rules/credit.nesy",
            "--addr",
            "0.0.0.0:0",
        ])
        .env_remove("NESY_TOKEN")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.starts_with("warning: serving on 0.0.0.0:0 without a token"),
        "{first}"
    );
}
