//! `nesy kg`: loading RDF, SPARQL queries in every result format, errors.

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

const AGES: &str = "SELECT ?p ?a WHERE { ?p <http://example.org/family#age> ?a } ORDER BY ?a";

#[test]
fn select_in_table_csv_and_json() {
    nesy()
        .args(["kg", "query", "--data", "knowledge/family.ttl", AGES])
        .assert()
        .success()
        .stdout("?p                                 ?a\n<http://example.org/family#carol>  12\n<http://example.org/family#bob>    40\n<http://example.org/family#alice>  67\n");
    nesy()
        .args([
            "kg",
            "query",
            "--data",
            "knowledge/family.ttl",
            AGES,
            "--format",
            "csv",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "p,a\r\nhttp://example.org/family#carol,12\r\n",
        ));
    let json = json_stdout(nesy().args([
        "kg",
        "query",
        "--data",
        "knowledge/family.ttl",
        AGES,
        "--format",
        "json",
    ]));
    assert_eq!(json["head"]["vars"], serde_json::json!(["p", "a"]));
    assert_eq!(json["results"]["bindings"][0]["a"]["value"], "12");
}

#[test]
fn ask_and_construct() {
    nesy()
        .args([
            "kg",
            "query",
            "--data",
            "knowledge/family.ttl",
            "ASK { ?p <http://example.org/family#age> 67 }",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"boolean\":true"));
    nesy()
        .args([
            "kg",
            "query",
            "--data",
            "knowledge/family.ttl",
            "CONSTRUCT { ?b <http://e/child> ?a } WHERE { ?a <http://example.org/family#parent> ?b }",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("<http://example.org/family#carol> <http://e/child> <http://example.org/family#bob> ."));
}

#[test]
fn load_reports_counts_and_malformed_rdf_is_located() {
    nesy()
        .args(["kg", "load", "knowledge/family.ttl"])
        .assert()
        .success()
        .stdout(predicate::str::contains("knowledge/family.ttl: 8 triples"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ttl");
    std::fs::write(&bad, "@prefix ex: <http://e/> .\nex:a ex:b .\n").unwrap();
    nesy()
        .args(["kg", "load"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.ttl:2:11:"))
        .stderr(predicate::str::contains("nothing of this file was loaded"));
}

#[test]
fn bad_sparql_and_missing_disk_store_are_errors() {
    nesy()
        .args(["kg", "query", "--data", "knowledge/family.ttl", "SELEC ?x"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("SPARQL: error at 1:"));
    if !cfg!(feature = "rocksdb") {
        nesy()
            .args(["kg", "query", "--store", "no-such-store", "ASK {}"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(
                "rebuild with `--features rocksdb`",
            ));
    }
}

#[test]
fn stats_count_the_graph() {
    nesy()
        .args(["kg", "stats", "--data", "knowledge/family.ttl"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "triples    8\nsubjects   3\npredicates 3\nclasses    1\n",
        ));
}

#[test]
fn run_materialize_prints_the_inferred_graph_as_nquads() {
    nesy()
        .args(["run", "rules/knowledge_graph.nesy", "--materialize"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "<http://example.org/family#alice> <http://example.org/family#ancestor> <http://example.org/family#carol> <urn:nesy:inferred> .",
        ))
        .stderr(predicate::str::contains("3 new triples written to <urn:nesy:inferred>"));
}

#[test]
fn path_and_show_use_the_petgraph_view() {
    // Two steps either way: through bob, or through the class Person.
    let out = nesy()
        .args([
            "kg",
            "path",
            "--data",
            "knowledge/family.ttl",
            "carol",
            "alice",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.ends_with("-> <http://example.org/family#alice>\n"),
        "{text}"
    );
    nesy()
        .args(["kg", "show", "--data", "knowledge/family.ttl", "bob"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("digraph neighbourhood {"))
        .stdout(predicate::str::contains("[label=\"parent\"]"));
    let json = json_stdout(nesy().args([
        "kg",
        "show",
        "--data",
        "knowledge/family.ttl",
        "http://example.org/family#carol",
        "--format",
        "json",
        "--depth",
        "2",
    ]));
    assert_eq!(json["entity"], "http://example.org/family#carol");
    // carol's 3 edges; then Person's (alice, bob typed) and bob's (parent
    // from alice, age; his type is already counted)
    assert_eq!(json["edges"].as_array().unwrap().len(), 7);
    nesy()
        .args(["kg", "show", "--data", "knowledge/family.ttl", "zed"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no entity `zed`"));
}

/// The on-disk store (only with `--features rocksdb`): load, query from a
/// later process, and materialize twice without adding anything the second
/// time.
#[cfg(feature = "rocksdb")]
#[test]
fn an_on_disk_store_keeps_loads_and_materializations() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    nesy()
        .args(["kg", "load", "knowledge/family.ttl", "--store"])
        .arg(&store)
        .assert()
        .success();
    nesy()
        .args(["kg", "query", "--store"])
        .arg(&store)
        .args([
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
            "--format",
            "csv",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\r\n8\r\n"));
    for expected in ["3 new triples", "0 new triples"] {
        nesy()
            .args([
                "run",
                "rules/knowledge_graph.nesy",
                "--materialize",
                "--store",
            ])
            .arg(&store)
            .assert()
            .success()
            .stderr(predicate::str::contains(expected));
    }
    nesy()
        .args(["kg", "query", "--store"])
        .arg(&store)
        .args([
            "ASK { GRAPH <urn:nesy:inferred> { ?a <http://example.org/family#ancestor> ?b } }",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"boolean\":true"));
}

#[test]
fn triple_relations_materialize_as_they_are_and_union_queries_see_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.nesy");
    std::fs::write(
        &data,
        "t(<http://e/Student>, <http://www.w3.org/2000/01/rdf-schema#subClassOf>, <http://e/Person>).\nt(<http://e/ann>, <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>, <http://e/Student>).\n",
    )
    .unwrap();
    let out = nesy()
        .args(["run", "rules/owl2rl.nesy"])
        .arg(&data)
        .args(["--materialize", "--triples", "t"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let nquads = String::from_utf8(out).unwrap();
    assert!(nquads.contains(
        "<http://e/ann> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://e/Person> <urn:nesy:inferred> ."
    ));
    let closure = dir.path().join("closure.nq");
    std::fs::write(&closure, nquads).unwrap();
    let ask = "ASK { <http://e/ann> a <http://e/Person> }";
    nesy()
        .args(["kg", "query", "--data"])
        .arg(&closure)
        .args([ask, "--format", "json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"boolean\":false"));
    nesy()
        .args(["kg", "query", "--union", "--data"])
        .arg(&closure)
        .args([ask, "--format", "json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"boolean\":true"));
}
