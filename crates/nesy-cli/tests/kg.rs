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
        .stdout("?p        ?a\nex:carol  12\nex:bob    40\nex:alice  67\n");
    nesy()
        .args([
            "kg",
            "query",
            "--data",
            "knowledge/family.ttl",
            AGES,
            "--full-iris",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "?p                                 ?a\n<http://example.org/family#carol>  12\n",
        ));
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
        .stderr(predicate::str::contains(
            "SPARQL 1:1: a query starts with SELECT, ASK, CONSTRUCT or DESCRIBE, not `SELEC`",
        ))
        .stderr(predicate::str::contains("expected one of").not());
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
    // Two steps: through bob (not through the class Person, whose
    // rdf:type edges a view leaves out by default).
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
    assert_eq!(
        text,
        "ex:carol\n  -^ex:parent-> ex:bob\n  -^ex:parent-> ex:alice\n"
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
    // bob parent carol; alice parent bob: no ages, no types.
    assert_eq!(json["edges"].as_array().unwrap().len(), 2);
    let json = json_stdout(nesy().args([
        "kg",
        "show",
        "--data",
        "knowledge/family.ttl",
        "ex:carol",
        "--format",
        "json",
        "--depth",
        "2",
        "--literals",
        "--types",
    ]));
    // carol's 3 edges; then Person's (alice, bob typed) and bob's (parent
    // from alice, age; his type is already counted)
    assert_eq!(json["edges"].as_array().unwrap().len(), 7);
    nesy()
        .args(["kg", "show", "--data", "knowledge/family.ttl", "zed"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no entity `zed`"));
}

/// Killed with SIGKILL at any moment of a load, the on-disk store reopens
/// with the file all there or none of it: a load parses the whole file,
/// then writes it in one transaction.
#[cfg(all(feature = "rocksdb", unix))]
#[test]
fn a_load_killed_midway_leaves_the_store_consistent() {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let (store, data) = (dir.path().join("store"), dir.path().join("big.nt"));
    let triples = 300_000;
    let mut text = String::new();
    for i in 0..triples {
        writeln!(text, "<http://e/s{i}> <http://e/p{}> \"v{i}\" .", i % 7).unwrap();
    }
    std::fs::write(&data, text).unwrap();
    let count = || {
        let out = nesy()
            .args(["kg", "query", "--format", "csv", "--store"])
            .arg(&store)
            .arg("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        text.lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse::<usize>()
            .unwrap()
    };
    let bin = assert_cmd::cargo::cargo_bin("nesy");
    for delay_ms in [50, 300, 800, 1500, 3000] {
        let mut child = std::process::Command::new(&bin)
            .current_dir(common::repo())
            .args(["kg", "load", "--store"])
            .arg(&store)
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        // SIGKILL: no destructor, no flush.
        let _ = child.kill();
        let _ = child.wait();
        let n = count();
        assert!(n == 0 || n == triples, "after a kill at {delay_ms} ms: {n}");
    }
    // A load that finishes after the kills holds every triple once.
    nesy()
        .args(["kg", "load", "--store"])
        .arg(&store)
        .arg(&data)
        .assert()
        .success();
    assert_eq!(count(), triples);
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

/// A held-out style graph: its own prefixes, no `rdf:` declaration.
const PEOPLE: &str = "@prefix acme: <http://example.org/acme#> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
acme:alice a foaf:Person ; foaf:age 1 ; foaf:knows acme:bob .
acme:bob a foaf:Person ; foaf:age 1 ; acme:worksAt acme:lab .
acme:carol a foaf:Person ; foaf:age 1 ; acme:worksAt acme:lab .
acme:dave a foaf:Person ; foaf:age 1 .
";

fn people() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.ttl");
    std::fs::write(&file, PEOPLE).unwrap();
    (dir, file)
}

#[test]
fn queries_know_common_and_file_prefixes_and_print_short_iris() {
    let (_dir, file) = people();
    let query = "SELECT ?p WHERE { ?p rdf:type foaf:Person ; acme:worksAt ?w } ORDER BY ?p";
    nesy()
        .args(["kg", "query", "--data"])
        .arg(&file)
        .arg(query)
        .assert()
        .success()
        .stdout("?p\nacme:bob\nacme:carol\n");
    // Scripts get full IRIs unless they ask.
    nesy()
        .args(["kg", "query", "--format", "tsv", "--data"])
        .arg(&file)
        .arg(query)
        .assert()
        .success()
        .stdout("?p\n<http://example.org/acme#bob>\n<http://example.org/acme#carol>\n");
    for (format, expected) in [
        ("tsv", "?p\nacme:bob\nacme:carol\n"),
        ("csv", "p\r\nacme:bob\r\nacme:carol\r\n"),
    ] {
        nesy()
            .args(["kg", "query", "--short-iris", "--format", format, "--data"])
            .arg(&file)
            .arg(query)
            .assert()
            .success()
            .stdout(expected);
    }
    let json = json_stdout(
        nesy()
            .args(["kg", "query", "--short-iris", "--format", "json", "--data"])
            .arg(&file)
            .arg(query),
    );
    assert_eq!(json["results"]["bindings"][0]["p"]["value"], "acme:bob");
    assert_eq!(json["results"]["bindings"][0]["p"]["type"], "uri");
    // A boolean in CSV, and a graph as N-Triples, whatever is asked.
    nesy()
        .args(["kg", "query", "--short-iris", "--format", "csv", "--data"])
        .arg(&file)
        .arg("ASK { acme:bob acme:worksAt acme:lab }")
        .assert()
        .success()
        .stdout("_askResult\r\ntrue\r\n");
    nesy()
        .args(["kg", "query", "--short-iris", "--format", "json", "--data"])
        .arg(&file)
        .arg("CONSTRUCT { ?s acme:at ?w } WHERE { ?s acme:worksAt ?w } ORDER BY ?s LIMIT 1")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("<http://example.org/acme#"));
    // Turtle out starts with the prefixes and uses them.
    nesy()
        .args(["kg", "export", "--format", "ttl", "--data"])
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "@prefix acme: <http://example.org/acme#> .",
        ))
        .stdout(predicate::str::contains("acme:bob acme:worksAt acme:lab ;"));
}

#[test]
fn an_unknown_prefix_is_named_with_the_line_to_add() {
    let (_dir, file) = people();
    nesy()
        .args(["kg", "query", "--data"])
        .arg(&file)
        .arg("SELECT ?x\nWHERE { ?x schema:name ?n }")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "SPARQL 2:12: unknown prefix `schema:`",
        ))
        .stderr(predicate::str::contains("add `PREFIX schema: <...>`"))
        .stderr(predicate::str::contains("Prefix not found").not());
    // A prefix the query declares itself is not reported.
    nesy()
        .args(["kg", "query", "--data"])
        .arg(&file)
        .arg("PREFIX s: <http://schema.org/> SELECT ?x WHERE { ?x s:name ?n }")
        .assert()
        .success();
}

#[test]
fn paths_and_neighbourhoods_skip_literals_and_types_unless_asked() {
    let (_dir, file) = people();
    let path = |extra: &[&str]| {
        let out = nesy()
            .args(["kg", "path", "--data"])
            .arg(&file)
            .args(["acme:alice", "dave"])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    // dave has only an age and a class: not an entity of the default view.
    let (code, _, stderr) = path(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--literals or --types"), "{stderr}");
    let (_, stdout, _) = path(&["--literals"]);
    assert_eq!(
        stdout,
        "acme:alice\n  -foaf:age-> 1\n  -^foaf:age-> acme:dave\n"
    );
    let (_, stdout, _) = path(&["--types"]);
    assert_eq!(
        stdout,
        "acme:alice\n  -rdf:type-> foaf:Person\n  -^rdf:type-> acme:dave\n"
    );
    // Through the lab, unless worksAt is left out or knows is all there is.
    let run = |extra: &[&str]| {
        nesy()
            .args(["kg", "path", "--data"])
            .arg(&file)
            .args(["alice", "carol"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "acme:alice\n  -foaf:knows-> acme:bob\n  -acme:worksAt-> acme:lab\n  -^acme:worksAt-> acme:carol\n"
    );
    assert_eq!(
        run(&["--exclude-predicates", "acme:worksAt"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["--predicates", "foaf:knows,acme:worksAt"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(run(&["--predicates", "foaf:knows"]).status.code(), Some(2));
}

#[test]
fn sparql_in_rule_files_knows_the_files_prefixes_and_is_checked() {
    let (dir, file) = people();
    let rules = dir.path().join("r.nesy");
    std::fs::write(
        &rules,
        format!(
            "@prefix acme: <http://example.org/acme#>.\n@import \"{}\".\n\
             @import colleague from sparql(\"SELECT ?a ?b WHERE {{ ?a acme:worksAt ?w . ?b acme:worksAt ?w . ?a rdf:type foaf:Person FILTER(?a != ?b) }}\").\n",
            file.display()
        ),
    )
    .unwrap();
    // foaf: is neither common nor the rule file's: located in the string.
    nesy()
        .arg("check")
        .arg(&rules)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "r.nesy:3:107: error[sparql-unknown-prefix]: unknown prefix `foaf:`",
        ))
        .stdout(predicate::str::contains("add `PREFIX foaf: <...>`"));
    let text = std::fs::read_to_string(&rules).unwrap();
    std::fs::write(
        &rules,
        text.replacen(
            "@prefix acme:",
            "@prefix foaf: <http://xmlns.com/foaf/0.1/>.\n@prefix acme:",
            1,
        ),
    )
    .unwrap();
    nesy().arg("check").arg(&rules).assert().success();
    nesy()
        .args(["run", "-r", "colleague"])
        .arg(&rules)
        .assert()
        .success()
        .stdout(predicate::str::contains("acme:bob    acme:carol"));
}

#[test]
fn a_syntax_error_points_where_the_parser_stopped_without_its_character_classes() {
    nesy()
        .args(["kg", "query", "--data", "knowledge/family.ttl"])
        .arg("SELECT ?x\nWHERE { ?x ex:age }")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("SPARQL 2:19: syntax error at `}`"))
        .stderr(predicate::str::contains("['").not());
}

#[test]
fn query_help_says_which_prefixes_need_no_declaration() {
    nesy()
        .args(["kg", "query", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "The prefixes `rdf:`, `rdfs:`, `owl:` and `xsd:`, and those the\n`--data` files declare (Turtle, TriG), are known without `PREFIX`",
        ));
}
