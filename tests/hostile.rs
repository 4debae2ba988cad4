//! Hostile input to the library: each test reproduces an attack that once
//! crashed the process, forged a decision, read what it should not, or ran
//! past its limits (issue 14), and checks that it now gets a clear error
//! and nothing else. The server's and the command line's probes are in
//! `crates/nesy-server/tests/hostile.rs` and `crates/nesy-cli/tests/hostile.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use nesy::{Cancel, EvalError as EngineError, Semiring};
use nesy::{Engine, Error, ExplainOptions, Input, Limits, Program, Value};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The stack tokio gives its blocking threads, where a server evaluates.
const SERVER_STACK: usize = 2 << 20;

/// Runs `f` on a thread with the server's stack size, failing the test if
/// it takes longer than `limit` (a hang) or if the thread dies (a stack
/// overflow aborts the whole test binary, which fails too).
fn on_server_thread<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(SERVER_STACK)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .unwrap();
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}"))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn codes(e: &Error) -> Vec<&'static str> {
    match e {
        Error::Rules(ds) => ds.iter().map(|(_, d)| d.code).collect(),
        _ => Vec::new(),
    }
}

// ------------------------------------------------------------- 1. SPARQL

#[test]
fn deep_sparql_in_an_import_is_a_located_error() {
    for (query, what) in [
        (
            format!(
                "SELECT * WHERE {}?s ?p ?o{}",
                "{".repeat(1000),
                "}".repeat(1000)
            ),
            "1,000 braces",
        ),
        (
            format!(
                "SELECT * WHERE {{ ?s ?p ?o FILTER({}1{} > 0) }}",
                "(".repeat(5000),
                ")".repeat(5000)
            ),
            "5,000 parentheses",
        ),
        (
            format!(
                "SELECT * WHERE {{ ?s ?p ?o FILTER({}1 > 0) }}",
                "1 + ".repeat(5000)
            ),
            "5,000 chained additions",
        ),
        (
            format!(
                "SELECT * WHERE {{ {} }}",
                vec!["{ ?s ?p ?o }"; 5000].join(" UNION ")
            ),
            "5,000 unions",
        ),
        (
            format!("SELECT * WHERE {{ ?s ?p ({}) }}", vec!["1"; 300].join(" ")),
            "a 300-item list (600 patterns for the planner)",
        ),
    ] {
        let text = format!("@import r from sparql(\"{query}\").\nq(X) :- r(X).");
        let checked = nesy::check_source("deep.nesy", &text);
        assert!(
            checked
                .diagnostics
                .iter()
                .any(|d| d.code == "sparql-refused"),
            "{what}: {:?}",
            checked.diagnostics
        );
        let loaded = on_server_thread(Duration::from_secs(60), move || {
            Program::from_source("deep.nesy", &text).map(drop)
        });
        let e = loaded.expect_err(what);
        assert_eq!(codes(&e), ["sparql-refused"], "{what}: {e}");
    }
}

#[test]
fn deep_sparql_over_a_graph_is_refused_on_a_small_stack() {
    let graph = nesy_kg::Graph::in_memory().unwrap();
    graph
        .load_str("<http://x/a> <http://x/p> <http://x/b> .", "nt")
        .unwrap();
    let deep = format!(
        "SELECT * WHERE {}?s ?p ?o{}",
        "{".repeat(2000),
        "}".repeat(2000)
    );
    let refused = on_server_thread(Duration::from_secs(60), move || {
        let mut out = Vec::new();
        graph
            .run_query(&deep, &nesy_kg::QueryOptions::default(), &mut out)
            .map(drop)
    });
    match refused {
        Err(nesy_kg::KgError::Refused { line, column, .. }) => {
            assert_eq!((line, column), (1, 16 + 64));
        }
        other => panic!("not refused: {other:?}"),
    }
}

// -------------------------------------------------- 2. long explanations

const CHAIN: &str = "
reach(X, Y) :- edge(X, Y).
reach(X, Z) :- edge(X, Y), reach(Y, Z).
";

fn chain(links: i64) -> Program {
    let mut program = Program::from_source("chain.nesy", CHAIN).unwrap();
    for i in 0..links {
        program
            .add_fact("edge", vec![Value::Int(i), Value::Int(i + 1)])
            .unwrap();
    }
    program
}

/// The depth of a proof: levels until a node without premises.
fn depth(e: &nesy::Explanation) -> (usize, bool) {
    let mut node = e;
    let mut levels = 1;
    while let Some(last) = node.premises.last() {
        node = last;
        levels += 1;
    }
    (levels, node.truncated)
}

#[test]
fn a_long_chain_is_explained_on_a_small_stack_and_cut_at_the_depth_limit() {
    let (text, json, dot, levels, truncated) = on_server_thread(Duration::from_secs(120), || {
        let program = chain(2000);
        let why = program
            .explain(
                "reach(0, 2000)",
                &ExplainOptions::default(),
                &Limits::default(),
            )
            .unwrap();
        let e = &why[0];
        assert!(e.holds);
        let (levels, truncated) = depth(e);
        (
            e.to_text(),
            serde_json::to_string(e).unwrap(),
            e.to_dot(),
            levels,
            truncated,
        )
    });
    // 50 levels shown; the last says the proof goes on.
    assert_eq!(levels, 50);
    assert!(truncated);
    assert!(json.contains("\"truncated\":true"));
    assert!(text.contains("its proof goes deeper than shown"));
    assert!(dot.contains("deeper than shown"));
}

#[test]
fn the_whole_chain_can_be_shown_up_to_the_hard_limit() {
    let (levels, truncated) = on_server_thread(Duration::from_secs(120), || {
        let program = chain(600);
        let options = ExplainOptions {
            max_depth: 5000, // capped at MAX_PROOF_DEPTH
            ..ExplainOptions::default()
        };
        let why = program
            .explain("reach(0, 600)", &options, &Limits::default())
            .unwrap();
        // Rendering and dropping a 1,200-level tree: no recursion.
        let _ = why[0].to_text();
        let _ = why[0].to_dot();
        depth(&why[0])
    });
    // 600 rule steps, each with its edge premise: reach(599, 600) is the
    // last rule step, its premise edge(599, 600) a fact.
    assert_eq!(levels, 601);
    assert!(!truncated);
}

#[test]
fn decisions_over_a_long_chain_with_explanations_stay_up() {
    let engine = Engine::builder()
        .rules_text(
            "chain.nesy",
            &format!("@decl edge(a: int, b: int).\n{CHAIN}"),
        )
        .limits(Limits {
            timeout: Some(Duration::from_secs(5)),
            ..Limits::default()
        })
        .build()
        .unwrap();
    let edges: Vec<serde_json::Value> = (0..500).map(|i| serde_json::json!([i, i + 1])).collect();
    let input: Input = serde_json::from_value(serde_json::json!({ "edge": edges })).unwrap();
    let (holds, results, rules, all) = on_server_thread(Duration::from_secs(120), move || {
        let why = engine.explain("reach(0, 500)", &input).unwrap();
        // What a logged decision does: rules from the first proofs only.
        let options = nesy::DecideOptions {
            rules_of: 10,
            ..nesy::DecideOptions::default()
        };
        let named = engine.decide("reach", &input, &options).unwrap();
        // Every one of 125,250 results explained: within the time limit,
        // or stopped by it, never a crash.
        let all = engine.decide("reach", &input, &nesy::DecideOptions::explained());
        (why[0].holds, named.results.len(), named.rules_used, all)
    });
    assert!(holds);
    assert_eq!(results, 501 * 500 / 2);
    assert_eq!(rules.len(), 2, "{rules:?}");
    match all {
        Ok(d) => assert!(d.results.iter().all(|r| r.explanation.is_some())),
        Err(e) => assert!(
            matches!(e, Error::Engine(EngineError::Timeout { .. })),
            "{e}"
        ),
    }
}

// ------------------------------------------------------------ 3. RDF/XML

fn laughs(levels: usize) -> String {
    let mut dtd = String::from("<!ENTITY l0 \"lol\">\n");
    for level in 1..=levels {
        let refs = format!("&l{};", level - 1).repeat(10);
        dtd.push_str(&format!("<!ENTITY l{level} \"{refs}\">\n"));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE rdf:RDF [\n{dtd}]>\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"http://x/a\"><rdf:value>&l{levels};</rdf:value></rdf:Description></rdf:RDF>\n"
    )
}

#[test]
fn an_rdfxml_entity_bomb_is_refused_before_it_expands() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = write(dir.path(), "bomb.rdf", &laughs(9));
    let rules = write(dir.path(), "r.nesy", "@import \"bomb.rdf\".\n");
    let start = Instant::now();
    let e = Program::from_files(&[rules]).unwrap_err().to_string();
    assert!(e.contains("bomb.rdf") && e.contains("expands to"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(30));
    // The same parser serves the knowledge graph directly.
    let graph = nesy_kg::Graph::in_memory().unwrap();
    assert!(graph.load_file(&bomb, None).is_err());
    assert_eq!(graph.len().unwrap(), 0);
}

// ------------------------------------------------- 5. forged conclusions

const POLICY: &str = "
@decl applicant(id: symbol, income: int).
blacklisted(mallory).
approve(A) :- applicant(A, I), I > 50000, not blacklisted(A).
decision(A, \"approve\") :- approve(A).
decision(A, \"decline\") :- applicant(A, _), not approve(A).
";

#[test]
fn input_cannot_write_derived_relations() {
    let engine = Engine::builder()
        .rules_text("p.nesy", POLICY)
        .build()
        .unwrap();
    for forged in [
        r#"{"decision": [["mallory", "approve"]]}"#,
        r#"{"approve": [["a9"]], "applicant": [["a9", 10]]}"#,
    ] {
        let input: Input = serde_json::from_str(forged).unwrap();
        let e = engine
            .decide("decision", &input, &nesy::DecideOptions::default())
            .unwrap_err();
        assert!(matches!(e, Error::Request(_)), "{e}");
        assert!(e.to_string().contains("derived by rules"), "{e}");
    }
    // Facts of base relations are what requests are for.
    let ok: Input = serde_json::from_str(r#"{"applicant": [["a9", 10]]}"#).unwrap();
    let d = engine
        .decide("decision", &ok, &nesy::DecideOptions::default())
        .unwrap();
    assert_eq!(
        d.results[0].args,
        [Value::symbol("a9"), Value::string("decline")]
    );
}

#[test]
fn with_input_declared_only_those_relations_take_facts() {
    let engine = Engine::builder()
        .rules_text("p.nesy", &format!("@input applicant.\n{POLICY}"))
        .build()
        .unwrap();
    // `blacklisted` is a base relation, but not an input of this program.
    let input: Input =
        serde_json::from_str(r#"{"applicant": [["b1", 90000]], "blacklisted": [["b2"]]}"#).unwrap();
    let e = engine
        .decide("decision", &input, &nesy::DecideOptions::default())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("`blacklisted` is not an input relation"),
        "{e}"
    );
    // The same holds for query and explain.
    assert!(engine.query("approve(X)", &input).is_err());
    assert!(engine.explain("approve(b1)", &input).is_err());
}

// --------------------------------------------- 6. goals from typed values

#[test]
fn explanations_are_of_the_values_decided_whatever_they_look_like() {
    let engine = Engine::builder()
        .rules_text(
            "p.nesy",
            "@decl person(name: symbol).\nok(X) :- person(X), not banned(X).\nbanned(nobody).",
        )
        .build()
        .unwrap();
    let names = [
        "Bob",
        "Carl",
        "Ann Lee",
        "c-1",
        "not",
        "x, y",
        "\"quoted\"",
        "X",
    ];
    let rows: Vec<serde_json::Value> = names.iter().map(|n| serde_json::json!([n])).collect();
    let input: Input = serde_json::from_value(serde_json::json!({ "person": rows })).unwrap();
    let d = engine
        .decide("ok", &input, &nesy::DecideOptions::explained())
        .unwrap();
    assert_eq!(d.results.len(), names.len());
    for r in &d.results {
        let name = r.args[0].plain().to_string();
        let name = name.as_str();
        let e = r.explanation.as_ref().expect("each result is explained");
        assert!(e.holds, "{name}");
        assert_eq!(e.bindings["X"], Value::symbol(name), "{name}");
        let premise = &e.premises[0];
        assert_eq!(premise.kind, nesy::explanation::NodeKind::Fact, "{name}");
    }
    // Nothing holds: the why-not is of the pattern, from no text either.
    let none = engine
        .decide("ok", &Input::new(), &nesy::DecideOptions::explained())
        .unwrap();
    assert!(!none.holds);
    assert!(none.why_not.is_some());
}

// ----------------------------------------------------- 8. confinement

#[cfg(unix)]
fn fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn paths_outside_are_refused_before_they_are_opened() {
    let served = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    // A named pipe with no writer: opening it for reading blocks, so a
    // load that opened it would never finish.
    let secret = outside.path().join("secret.csv");
    fifo(&secret);
    let model = outside.path().join("m.tree");
    fifo(&model);
    for directive in [
        format!("@import leak from {:?}.", secret.display().to_string()),
        format!(
            "@import leak from {:?}.",
            format!(
                "{}/../{}/secret.csv",
                served.path().display(),
                outside.path().file_name().unwrap().to_string_lossy()
            )
        ),
        format!("@model m = {:?}.", model.display().to_string()),
        format!(
            "@import {:?}.",
            outside.path().join("k.ttl").display().to_string()
        ),
    ] {
        let rules = write(served.path(), "r.nesy", &format!("{directive}\nq(1).\n"));
        let dir = served.path().to_path_buf();
        let e = on_server_thread(Duration::from_secs(20), move || {
            Engine::builder()
                .rules(&rules)
                .confine_to([dir])
                .build()
                .map(drop)
        })
        .unwrap_err();
        assert!(matches!(e, Error::Confined { .. }), "{directive}: {e}");
        assert!(e.to_string().contains("outside the directories"), "{e}");
    }
    // A rule file used as a model reads the graph it imports as `kg`: that
    // path is confined too, though the rule file itself is served.
    write(
        served.path(),
        "kin.nesy",
        &format!(
            "@import kg from {:?}.\n0.5 :: a(X, Y) :- b(X, Y).\n",
            secret.display().to_string()
        ),
    );
    let rules = write(
        served.path(),
        "r.nesy",
        "@model kin = \"kin.nesy\".\nq(1).\n",
    );
    let dir = served.path().to_path_buf();
    let e = on_server_thread(Duration::from_secs(20), move || {
        Engine::builder()
            .rules(&rules)
            .confine_to([dir])
            .build()
            .map(drop)
    })
    .unwrap_err();
    assert!(matches!(e, Error::Confined { .. }), "rule model: {e}");
}

// ------------------------------------------- 9, 10, 11. limits that stop

#[test]
fn a_cancelled_call_stops_its_work() {
    // The counting starts from the request's input, so the build is quick
    // and the request would run for hours.
    let engine = Engine::builder()
        .rules_text(
            "n.nesy",
            "@decl start(x: int).\nn(X) :- start(X).\nn(Y) :- n(X), Y = X + 1, X < 1000000000.",
        )
        .build()
        .unwrap();
    let cancel = Cancel::new();
    let handle = engine.with_cancel(cancel.clone());
    let started = Instant::now();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        cancel.cancel();
    });
    let input: Input = serde_json::from_str(r#"{"start": [[0]]}"#).unwrap();
    let e = handle
        .decide("n", &input, &nesy::DecideOptions::default())
        .unwrap_err();
    stopper.join().unwrap();
    assert!(matches!(e, Error::Engine(EngineError::Cancelled)), "{e}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// 60 probabilistic facts and `rules` three-literal rules for one head,
/// drawn with a fixed seed: exact model counting is exponential here.
fn hard_count(rules: usize) -> String {
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
    for _ in 0..rules {
        text.push_str(&format!(
            "g :- f({}), f({}), f({}).\n",
            next(),
            next(),
            next()
        ));
    }
    text
}

#[test]
fn weighted_model_counting_stops_at_the_time_limit() {
    let program = Program::from_source("hard.nesy", &hard_count(40)).unwrap();
    let limits = Limits {
        timeout: Some(Duration::from_secs(1)),
        ..Limits::default()
    };
    let started = Instant::now();
    let e = program
        .evaluate_tagged(Semiring::TopK(1000), &limits)
        .map(drop)
        .unwrap_err();
    assert!(
        matches!(e, Error::Engine(EngineError::Timeout { .. })),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

/// `source` with, for each `(relation, arity, n)`, the facts
/// `relation(i, ..., i)` for `i` in `0..n`.
fn with_diagonal_facts(source: &str, facts: &[(&str, usize, i64)]) -> Program {
    let mut program = Program::from_source("facts.nesy", source).unwrap();
    for &(relation, arity, n) in facts {
        for i in 0..n {
            program
                .add_fact(relation, vec![Value::Int(i); arity])
                .unwrap();
        }
    }
    program
}

#[test]
fn rows_an_aggregate_enumerates_count_against_the_tuple_limit() {
    let program = with_diagonal_facts(
        "c(N) :- N = count { X, Y, Z : a(X), a(Y), a(Z) }.",
        &[("a", 1, 1500)],
    );
    let limits = Limits {
        max_tuples: Some(1_000_000),
        ..Limits::default()
    };
    let e = program.evaluate(&limits).map(drop).unwrap_err();
    assert!(
        matches!(e, Error::Engine(EngineError::TooManyTuples { .. })),
        "{e}"
    );
}

/// Soufflé's own test: atoms that only test for a row are existence
/// checks, not a cross product (1000^6 rows here; before, the tuple limit
/// stopped it, blaming `c`, which held 1,000 rows).
#[test]
fn atoms_that_bind_nothing_are_existence_checks() {
    let source = "a(). \
        query(X) :- a(), c(_, _, _), d(_), e(_), f(_, _), not g(_), h(_), i(X), k(_), l(_).";
    let mut facts = vec![("c", 3, 1000), ("f", 2, 1000), ("i", 1, 3)];
    facts.extend(["d", "e", "h", "k", "l"].map(|r| (r, 1, 1000)));
    let limits = Limits {
        max_tuples: Some(100_000),
        timeout: Some(Duration::from_secs(20)),
        ..Limits::default()
    };
    // `g` holds a row: the negation fails, nothing is derived.
    let mut with_g = facts.clone();
    with_g.push(("g", 1, 1));
    let evaluation = with_diagonal_facts(source, &with_g)
        .evaluate(&limits)
        .unwrap();
    assert_eq!(evaluation.count("query"), Some(0));
    let source = source.replace("not g(_)", "not g(-1)");
    let evaluation = with_diagonal_facts(&source, &facts)
        .evaluate(&limits)
        .unwrap();
    assert_eq!(evaluation.count("query"), Some(3));
    // Under a semiring every matching row still counts: q holds if p(1)
    // or p(2) does, 1 - 0.5 * 0.5.
    let program = Program::from_source("p.nesy", "0.5 :: p(1). 0.5 :: p(2). q() :- p(_).").unwrap();
    let (tagged, _) = program
        .evaluate_tagged(Semiring::TopK(10), &Limits::default())
        .unwrap();
    let p = tagged.probability("q", &[]).unwrap();
    assert!((p - 0.75).abs() < 1e-9, "{p}");
}

/// The tuple limit is about what relations hold: a rule deriving ten rows
/// two million times is within a limit of a million, and a rule deriving
/// too many distinct rows is named by its relation.
#[test]
fn the_tuple_limit_counts_distinct_rows_and_names_their_relation() {
    let facts = [("a", 1, 10), ("b", 1, 200_000)];
    let limits = Limits {
        max_tuples: Some(1_000_000),
        ..Limits::default()
    };
    let e = with_diagonal_facts(
        "q(X) :- a(X), b(Y), Y >= 0. big(X, Y) :- b(X), b(Y).",
        &facts,
    )
    .evaluate(&limits)
    .map(drop)
    .unwrap_err();
    assert!(
        matches!(&e, Error::Engine(EngineError::TooManyTuples { relation, .. }) if relation == "big"),
        "{e}"
    );
    let evaluation = with_diagonal_facts("q(X) :- a(X), b(Y), Y >= 0.", &facts)
        .evaluate(&limits)
        .unwrap();
    assert_eq!(evaluation.count("q"), Some(10));
}

// ------------------------------------------------------------ 12. imports

#[test]
fn imported_tables_keep_their_line_numbers_their_first_value_and_their_digits() {
    let dir = tempfile::tempdir().unwrap();
    // A byte-order mark before the first value of a tab-separated file.
    write(dir.path(), "e.tsv", "\u{feff}a\tb\nb\tc\n");
    write(dir.path(), "e.facts", "\u{feff}a\tb\n");
    // An id too large for 64 bits stays exact (as text).
    write(
        dir.path(),
        "ids.csv",
        "id\n123456789012345678901\n123456789012345678902\n",
    );
    // A bad row deep in a file is reported on its own line.
    let mut big = String::from("x,y\n");
    for i in 0..20_000 {
        big.push_str(&format!("{i},{i}\n"));
    }
    big.push_str("oops\n");
    write(dir.path(), "big.csv", &big);
    let rules = write(
        dir.path(),
        "r.nesy",
        "@import e from \"e.tsv\".\n@import f from \"e.facts\".\n@import id from \"ids.csv\".\nfrom_a(Y) :- e(a, Y).\nfrom_f(Y) :- f(a, Y).\n",
    );
    let program = Program::from_files(&[rules]).unwrap();
    let result = program.evaluate(&Limits::default()).unwrap();
    assert!(result.contains("from_a", &[Value::symbol("b")]));
    assert!(result.contains("from_f", &[Value::symbol("b")]));
    assert_eq!(result.relation("id").unwrap().len(), 2);
    assert!(result.contains("id", &[Value::symbol("123456789012345678901")]));
    let bad = write(dir.path(), "bad.nesy", "@import t from \"big.csv\".\n");
    let e = Program::from_files(&[bad]).unwrap_err().to_string();
    assert!(e.contains("big.csv:20002"), "{e}");
}
