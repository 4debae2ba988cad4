//! Checker behaviour on programs that are right (no false alarms) and on
//! precise problems the corpus in `tests/broken/` does not cover.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use nesy_lang::check_source;

fn codes(source: &str) -> Vec<&'static str> {
    check_source("t.nesy", source)
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect()
}

#[test]
fn valid_programs_get_no_diagnostics() {
    for source in [
        // assignment binds, in either direction and in a chain
        "n(1). m(X, Z) :- n(X), Y = X + 1, Z = Y * 2. k(Y) :- n(X), X * 2 = Y.",
        // negation over a lower stratum, anonymous and `_Name` wildcards under `not`
        "e(a, b). v(a). v(b). s(X) :- v(X), not e(X, _). t(X) :- v(X), not e(_Any, X).",
        // an aggregate's grouping variable bound only inside the aggregate
        "e(a, b). deg(X, N) :- N = count { Y : e(X, Y) }.",
        // an int where a float is declared; iri fields take prefixed names
        "@prefix ex: <http://e/>. @decl w(x: symbol, f: float). @decl l(i: iri). w(a, 1). w(b, 2.5). l(ex:a). l(<http://e/b>).",
        // the same relation through a prefix and a full prefix of the same IRI
        "@prefix ex: <http://e/>. @prefix e2: <http://e/>. ex:p(a). q(X) :- e2:p(X).",
        // a relation defined only in a test is not reported as undefined
        "r(X) :- input(X). @test \"t\" { given { input(a). } r(a). }",
        // model calls with bound inputs
        "@model m = \"m.tree\". a(x). ok(X) :- a(X), m.predict(X) = \"good\". c(X, C, P) :- a(X), m.predict(X, C, P).",
        // recursion through positive literals only
        "e(a, b). p(X, Y) :- e(X, Y). p(X, Z) :- p(X, Y), p(Y, Z).",
        // nullary atoms
        "rain. wet :- rain. dry :- not wet.",
    ] {
        assert_eq!(codes(source), Vec::<&str>::new(), "{source}");
    }
}

#[test]
fn negation_cycle_names_every_relation_of_the_cycle() {
    let checked = check_source(
        "t.nesy",
        "b(a). p(X) :- b(X), not q(X). q(X) :- r(X). r(X) :- p(X).",
    );
    let d = &checked.diagnostics[0];
    assert_eq!(d.code, "not-stratifiable");
    assert!(
        d.help.as_deref().unwrap().contains("p -> not q -> r -> p"),
        "{:?}",
        d.help
    );
}

#[test]
fn an_unbound_model_input_is_unsafe() {
    assert_eq!(
        codes("@model m = \"m\". a(x). ok(X) :- a(X), m.score(r, X, Y) > 0.5."),
        ["unsafe-variable"]
    );
}

#[test]
fn a_variable_used_only_under_an_aggregate_term_is_unsafe() {
    assert_eq!(
        codes("e(a, b). s(S) :- S = sum { W : e(_, _) }."),
        ["unsafe-variable"]
    );
}

#[test]
fn problems_in_test_blocks_are_reported() {
    assert_eq!(
        codes("p(a, b). @test \"t\" { given { q(X). } p(a). }"),
        ["unsafe-variable", "arity-mismatch"]
    );
}

#[test]
fn did_you_mean_for_relations_types_prefixes_and_models() {
    let checked = check_source(
        "t.nesy",
        "@prefix ex: <http://e/>. @model credit = \"c\". @decl w(f: flaot). parent(a, b). c(X) :- parnet(X, _), ey:k(X), credt.predict(X) = 1.",
    );
    let helps: Vec<String> = checked
        .diagnostics
        .iter()
        .filter_map(|d| d.help.clone())
        .collect();
    for hint in ["`float`", "`parent`", "`ex:`", "`credit`"] {
        assert!(
            helps.iter().any(|h| h.contains(hint)),
            "no {hint} in {helps:#?}"
        );
    }
}

#[test]
fn diagnostics_locate_lines_and_columns_in_characters() {
    let checked = check_source("t.nesy", "// é\np(\"é\", X) :- q(_Y).\n");
    let d = checked
        .diagnostics
        .iter()
        .find(|d| d.code == "unsafe-variable")
        .unwrap();
    let at = checked.source.locate(d);
    assert_eq!((at.line, at.column), (Some(2), Some(8)));
    assert_eq!(at.to_string(), "t.nesy:2:8");
}

#[test]
fn annotated_disjunctions_parse_into_one_clause_per_head() {
    let checked = check_source(
        "t.nesy",
        "toss(c). @name(coin) 0.5 :: heads(C); t(_) :: tails(C) :- toss(C).",
    );
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    let clauses: Vec<&nesy_lang::ast::Clause> = checked
        .program
        .items
        .iter()
        .filter_map(|i| match i {
            nesy_lang::ast::Item::Clause(c) if c.choice.is_some() => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(clauses.len(), 2);
    assert_eq!(clauses[1].head.relation.text, "tails");
    assert_eq!(clauses[1].choice.as_ref().unwrap().position, 1);
    assert_eq!(clauses[1].name.as_ref().unwrap().text, "coin");
    assert!(clauses[1].probability.as_ref().unwrap().is_tunable());
    assert!(!clauses[0].probability.as_ref().unwrap().is_tunable());
}

#[test]
fn a_disjunction_may_sum_to_one_up_to_rounding() {
    // A hundred heads of 0.01 sum to 1.0000000000000007 in floating point.
    let heads: Vec<String> = (0..100).map(|i| format!("0.01 :: pick({i})")).collect();
    let source = format!("{}.", heads.join("; "));
    assert_eq!(codes(&source), Vec::<&str>::new());
    assert_eq!(codes("0.5 :: a; 0.5000001 :: b."), ["disjunction-over-one"]);
}

#[test]
fn what_is_wrong_with_a_disjunctions_body_is_said_once() {
    // The body is shared by both heads' clauses.
    assert_eq!(
        codes("0.5 :: a(X); 0.5 :: b(X) :- p(X), q(Y). p(1). q(2)."),
        ["singleton-variable"]
    );
    assert_eq!(
        codes("p(1). 0.5 :: a(X); 0.5 :: b(X) :- p(X), undefined_thing(X)."),
        ["undefined-relation"]
    );
}

#[test]
fn a_probability_expectation_names_one_fact_and_a_probability() {
    let test = |body: &str| format!("p(a). @test \"t\" {{ {body} }}");
    assert_eq!(
        codes(&test("prob(p(a)) = 0.5 +- 0.01.")),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes(&test("prob(p(X)) = 0.5.")),
        ["probability-of-pattern"]
    );
    assert_eq!(
        codes(&test("prob(p(a)) = 1.5.")),
        ["probability-out-of-range"]
    );
    // A relation named `prob` is still a relation.
    assert_eq!(
        codes("prob(a). @test \"t\" { prob(a). }"),
        Vec::<&str>::new()
    );
}

#[test]
fn a_disjunction_has_at_most_a_thousand_heads() {
    // Head i's events are the i choices before it: the tags grow with the
    // square of the heads, so a rule file cannot ask for millions.
    let heads = |n: usize| {
        let heads: Vec<String> = (0..n).map(|i| format!("0.0001 :: pick({i})")).collect();
        format!("{}.", heads.join("; "))
    };
    assert_eq!(
        codes(&heads(nesy_lang::MAX_DISJUNCTION_HEADS)),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes(&heads(nesy_lang::MAX_DISJUNCTION_HEADS + 1)),
        ["disjunction-too-large"]
    );
}

/// Each "did you mean" carries the edit that makes it: applied, the
/// diagnostic goes away.
#[test]
fn did_you_mean_comes_with_its_edit() {
    for (source, code, fixed) in [
        (
            "parent(a, b). anc(X, Y) :- parnt(X, Y).",
            "undefined-relation",
            "parent",
        ),
        ("@decl p(x: intt). p(1).", "unknown-type", "int"),
        (
            "@prefix ex: <http://e/>. ex:p(a). q(X) :- exx:p(X).",
            "unknown-prefix",
            "ex",
        ),
        (
            "@model credit = \"m.tree\". r(X) :- a(X), credt.predict(X) = 1. a(1).",
            "unknown-model",
            "credit",
        ),
    ] {
        let checked = check_source("t.nesy", source);
        let d = checked
            .diagnostics
            .iter()
            .find(|d| d.code == code)
            .unwrap_or_else(|| panic!("{code} in {:?}", checked.diagnostics));
        let (span, text) = d.fix.clone().unwrap_or_else(|| panic!("no fix: {d:?}"));
        assert_eq!(text, fixed);
        let mut edited = source.to_string();
        edited.replace_range(span.start..span.end, &text);
        assert!(
            !codes(&edited).contains(&code),
            "{edited}: {:?}",
            codes(&edited)
        );
    }
}
