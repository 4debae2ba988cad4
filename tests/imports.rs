//! Loading facts from tables: `@import rel from "file.csv" | ".tsv" |
//! ".facts"` (optionally gzipped), typed by `@decl` or by what the field
//! looks like; and the errors that name the file and line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use nesy::{Error, Limits, Program, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn load(dir: &Path, rules: &str) -> Result<Program, Error> {
    let path = write(dir, "rules.nesy", rules);
    Program::from_files(&[path])
}

#[test]
fn csv_columns_take_their_declared_types() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "people.csv",
        "name,age,score,zip\nann,41,0.5,01234\n\"Bob, Jr\",7,1,99\n",
    );
    let program = load(
        dir.path(),
        "@import person from \"people.csv\".\n@decl person(name: string, age: int, score: float, zip: symbol).\nq(N, A, S, Z) :- person(N, A, S, Z).\n",
    )
    .unwrap();
    let rows = program
        .evaluate(&Limits::default())
        .unwrap()
        .relation("q")
        .unwrap()
        .to_vecs();
    assert_eq!(
        rows,
        vec![
            vec![
                Value::string("Bob, Jr"),
                Value::Int(7),
                Value::Float(1.0),
                Value::symbol("99")
            ],
            vec![
                Value::string("ann"),
                Value::Int(41),
                Value::Float(0.5),
                Value::symbol("01234")
            ],
        ]
    );
}

#[test]
fn undeclared_columns_become_ints_floats_or_symbols_and_gzip_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"a\t1\t2.5\nb\t-3\tx\n").unwrap();
    std::fs::write(dir.path().join("t.facts.gz"), gz.finish().unwrap()).unwrap();
    let program = load(
        dir.path(),
        "@import t from \"t.facts.gz\".\nq(A, B, C) :- t(A, B, C).\n",
    )
    .unwrap();
    let result = program.evaluate(&Limits::default()).unwrap();
    assert!(result.contains("q", &[Value::symbol("a"), Value::Int(1), Value::Float(2.5)]));
    assert!(result.contains(
        "q",
        &[Value::symbol("b"), Value::Int(-3), Value::symbol("x")]
    ));
}

#[test]
fn a_table_wider_than_the_relation_is_an_error_at_its_first_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "e.tsv", "a\tb\tc\n");
    let err = load(dir.path(), "@import e from \"e.tsv\".\nq(X) :- e(X, _).\n").unwrap_err();
    let message = err.to_string();
    assert!(message.contains("e.tsv:1"), "{message}");
    assert!(
        message.contains("`e` has 2 columns, but the file has 3"),
        "{message}"
    );
}

#[test]
fn nothing_is_loaded_when_a_line_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "e.facts", "a\tb\nc\n");
    match load(
        dir.path(),
        "@import e from \"e.facts\".\nq(X) :- e(X, _).\n",
    ) {
        Err(Error::Import { location, message }) => {
            assert_eq!(location.line, Some(2));
            assert!(location.to_string().ends_with("e.facts:2"), "{location}");
            assert_eq!(message, "expected 2 tab-separated values, found 1");
        }
        other => panic!("expected an import error, got {other:?}"),
    }
}

#[test]
fn lines_are_counted_right_in_crlf_files() {
    // The csv crate reports a record after a CRLF line one line early.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t.csv", "a,b\r\n1,2\r\n3,x\r\n");
    match load(
        dir.path(),
        "@import t from \"t.csv\".\n@decl t(a: int, b: int).\n",
    ) {
        Err(Error::Import { location, .. }) => assert_eq!(location.line, Some(3)),
        other => panic!("expected an import error, got {other:?}"),
    }
}

#[test]
fn rdf_triples_become_facts_named_by_their_predicate() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "g.ttl",
        "@prefix ex: <http://e.org/> .\nex:a ex:knows ex:b .\nex:b ex:age 41 ; ex:name \"Bob\" ; ex:ok true .\n",
    );
    let program = load(
        dir.path(),
        "@prefix ex: <http://e.org/>.\n@import \"g.ttl\".\n@import old from sparql(\"SELECT ?p WHERE { ?p <http://e.org/age> ?a FILTER(?a > 40) }\").\nq(X, A, N, K) :- ex:knows(X, Y), ex:age(Y, A), ex:name(Y, N), ex:ok(Y, K), old(Y).\n",
    )
    .unwrap();
    let rows = program
        .evaluate(&Limits::default())
        .unwrap()
        .relation("q")
        .unwrap()
        .to_vecs();
    assert_eq!(
        rows,
        vec![vec![
            Value::iri("http://e.org/a"),
            Value::Int(41),
            Value::string("Bob"),
            Value::Bool(true)
        ]]
    );
}

#[test]
fn malformed_rdf_is_an_error_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.ttl",
        "@prefix ex: <http://e.org/> .\nex:a ex:knows .\n",
    );
    let err = load(dir.path(), "@import \"bad.ttl\".\n").unwrap_err();
    let message = err.to_string();
    assert!(message.contains("rules.nesy:1:1"), "{message}");
    assert!(message.contains("bad.ttl:2:"), "{message}");
    // A graph error of its own, at the directive, with the graph's help.
    let Error::Graph(graph) = &err else {
        panic!("expected a graph error, got {err:?}")
    };
    assert_eq!(graph.location.as_ref().unwrap().line, Some(1));
    assert!(matches!(*graph.source, nesy_kg::KgError::Syntax { .. }));
    let help = miette::Diagnostic::help(&err).unwrap().to_string();
    assert!(help.contains("nothing of this file was loaded"), "{help}");
}

#[test]
fn a_missing_rule_file_is_an_io_error() {
    let err = Program::from_files(&["no/such.nesy"]).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(err.to_string().starts_with("cannot read `no/such.nesy`"));
}

#[test]
fn materialized_relations_are_triples_sparql_sees_and_twice_adds_nothing() {
    let program = Program::from_files(&["rules/knowledge_graph.nesy"]).unwrap();
    let evaluation = program.evaluate(&Limits::default()).unwrap();
    let graph = nesy_kg::Graph::in_memory().unwrap();
    let first = program
        .materialize(&evaluation, &graph, "urn:nesy:inferred")
        .unwrap();
    assert_eq!(first, 3, "ex:ancestor has three tuples");
    assert_eq!(
        program
            .materialize(&evaluation, &graph, "urn:nesy:inferred")
            .unwrap(),
        0
    );
    let (_, rows) = graph
        .select("SELECT ?d WHERE { GRAPH <urn:nesy:inferred> { <http://example.org/family#alice> <http://example.org/family#ancestor> ?d } } ORDER BY ?d")
        .unwrap();
    assert_eq!(
        rows,
        vec![
            vec![Value::iri("http://example.org/family#bob")],
            vec![Value::iri("http://example.org/family#carol")]
        ]
    );
}

#[test]
fn a_triples_relation_must_be_one() {
    let program = Program::from_files(&["rules/knowledge_graph.nesy"]).unwrap();
    let evaluation = program.evaluate(&Limits::default()).unwrap();
    let graph = nesy_kg::Graph::in_memory().unwrap();
    let err = program
        .materialize_with(&evaluation, &graph, "urn:g", &["nope".to_string()])
        .unwrap_err();
    assert_eq!(err.to_string(), "unknown relation `nope`");
    let err = program
        .materialize_with(&evaluation, &graph, "urn:g", &["ex:ancestor".to_string()])
        .unwrap_err();
    assert!(err.to_string().contains("has 2 columns"), "{err}");
    assert!(graph.is_empty().unwrap(), "nothing was written");
}

#[test]
fn a_sparql_import_knows_the_files_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "g.ttl",
        "@prefix acme: <http://example.org/acme#> .\nacme:ann acme:worksAt acme:lab .\nacme:bo acme:worksAt acme:lab .\n",
    );
    let program = load(
        dir.path(),
        "@prefix acme: <http://example.org/acme#>.\n@import \"g.ttl\".\n\
         @import staff from sparql(\"SELECT ?p WHERE { ?p acme:worksAt ?w } ORDER BY ?p\").\n",
    )
    .unwrap();
    let staff = program.evaluate(&Limits::default()).unwrap();
    assert_eq!(
        staff.relation("staff").unwrap().to_vecs(),
        vec![
            vec![Value::iri("http://example.org/acme#ann")],
            vec![Value::iri("http://example.org/acme#bo")]
        ]
    );
}

#[test]
fn a_is_rdf_type() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "g.ttl",
        "@prefix e: <http://e/> .\ne:ann a e:Person .\n",
    );
    let program = load(dir.path(), "@import \"g.ttl\".\nperson(X) :- a(X, <http://e/Person>).\nsame(X) :- rdf:type(X, <http://e/Person>).\n").unwrap();
    let result = program.evaluate(&Limits::default()).unwrap();
    assert!(result.contains("person", &[Value::iri("http://e/ann")]));
    assert!(result.contains("same", &[Value::iri("http://e/ann")]));
}

/// The source of an imported fact in its explanation: `file:line` for a row
/// of a table (the lines of a run of rows counted right), the file alone
/// for an RDF triple, the `@import` directive for a SPARQL row.
#[test]
fn explanations_say_where_an_imported_fact_came_from() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t.csv", "a,b\n1,2\n3,4\n\n5,6\n");
    write(
        dir.path(),
        "g.ttl",
        "@prefix e: <http://e/> .\ne:ann e:knows e:bob .\ne:bob e:knows e:cid .\n",
    );
    let program = load(
        dir.path(),
        "@import t from \"t.csv\".\n@import g from \"g.ttl\".\n@import k from sparql(\"SELECT ?x WHERE { ?x <http://e/knows> <http://e/cid> }\").\n",
    )
    .unwrap();
    let source = |goal: &str| {
        let explained = program
            .explain(goal, &nesy::ExplainOptions::default(), &Limits::default())
            .unwrap();
        explained[0].source.clone().unwrap()
    };
    let csv = dir.path().join("t.csv").display().to_string();
    assert_eq!(source("t(1, 2)"), format!("{csv}:2"));
    assert_eq!(source("t(3, 4)"), format!("{csv}:3"));
    // After the blank line.
    assert_eq!(source("t(5, 6)"), format!("{csv}:5"));
    let ttl = dir.path().join("g.ttl").display().to_string();
    assert_eq!(
        source("g(<http://e/bob>, <http://e/knows>, <http://e/cid>)"),
        ttl
    );
    let rules = dir.path().join("rules.nesy").display().to_string();
    assert_eq!(source("k(<http://e/bob>)"), format!("{rules}:3:1"));
}
