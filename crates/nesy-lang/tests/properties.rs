//! Property tests: the parser never panics, and formatting keeps the meaning
//! of a program (same tree, spans aside) and is idempotent.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on broken fixtures"
)]

use nesy_lang::{format_source, parse};
use proptest::prelude::*;
use serde_json::Value;

/// The tree without positions (and without the text of numbers, which the
/// formatter may normalise from `- 3` to `-3`).
fn shape(source: &str) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("span");
                map.remove("iri_span");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let parsed = parse(source);
    assert!(
        parsed.diagnostics.is_empty(),
        "{source}\n{:?}",
        parsed.diagnostics
    );
    let mut v = serde_json::to_value(&parsed.program).unwrap();
    strip(&mut v);
    v
}

/// Pieces of the language, shuffled into mostly-wrong programs.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "p",
        "q",
        "(",
        ")",
        "X",
        "_",
        ",",
        ".",
        ":-",
        "not ",
        "\"s\"",
        "\"",
        "1.5",
        "-",
        "3",
        "::",
        "@test",
        "@name",
        "@prefix",
        "@decl",
        "@import",
        "@model",
        "{",
        "}",
        "given",
        "?-",
        "count",
        "=",
        "+",
        "*",
        "/",
        "<",
        ">=",
        "!=",
        "//c\n",
        "/*",
        "*/",
        "<http://x>",
        "ex:a",
        ":",
        "\n",
        " ",
        "m.f",
        "from",
        "sparql",
        "store",
        "\"\"\"",
        "\\",
        "é",
        "\u{0}",
        "9999999999999999999999",
    ])
}

fn variable() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["X", "Y", "Z"]).prop_map(String::from)
}

fn constant() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "1",
        "-2",
        "\"s\"",
        "2.5",
        "true",
        "<http://x/y>",
        "ex:k",
    ])
    .prop_map(String::from)
}

fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        variable(),
        constant().prop_filter("numeric", |c| { c.parse::<f64>().is_ok() })
    ];
    leaf.prop_recursive(4, 16, 2, |inner| {
        (
            inner.clone(),
            prop::sample::select(vec!["+", "-", "*", "/", "%"]),
            inner,
            any::<bool>(),
        )
            .prop_map(|(l, op, r, parens)| {
                if parens {
                    format!("({l}) {op} ({r})")
                } else {
                    format!("{l} {op} {r}")
                }
            })
    })
}

fn atom() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["p", "q", "r", "ex:s"]),
        prop::collection::vec(prop_oneof![variable(), constant()], 2),
    )
        .prop_map(|(rel, args)| format!("{rel}({})", args.join(",")))
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        atom(),
        atom().prop_map(|a| format!("not {a}")),
        (
            expr(),
            prop::sample::select(vec!["=", "!=", "<", "<=", ">", ">="]),
            expr()
        )
            .prop_map(|(l, op, r)| format!("{l} {op} {r}")),
        (variable(), atom()).prop_map(|(v, a)| format!("N = count {{ {v} : {a} }}")),
    ]
}

fn clause() -> impl Strategy<Value = String> {
    (
        atom(),
        prop::collection::vec(literal(), 0..5),
        prop::option::of(prop::sample::select(vec!["0.5", "1", "0.125"])),
        prop::option::of(prop::sample::select(vec!["// note\n", "/* c */ "])),
    )
        .prop_map(|(head, body, prob, comment)| {
            let prob = prob.map(|p| format!("{p} :: ")).unwrap_or_default();
            let comment = comment.unwrap_or("");
            if body.is_empty() {
                format!("{comment}{prob}{head}.")
            } else {
                format!("{prob}{head} :-{comment}{}.", body.join(" , "))
            }
        })
}

fn program() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(clause(), 1..6),
        prop::collection::vec(atom(), 0..3),
        prop::sample::select(vec!["\n", "\n\n", " ", "\n\n\n  "]),
    )
        .prop_map(|(clauses, expectations, sep)| {
            let mut text = format!("@prefix ex: <http://example.org/>.{sep}");
            text.push_str(&clauses.join(sep));
            if !expectations.is_empty() {
                let body: Vec<String> = expectations.iter().map(|a| format!("{a}.")).collect();
                text.push_str(&format!(
                    "{sep}@test \"t\" {{ given {{ p(a, b). }} {} }}",
                    body.join(" not ")
                ));
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn parsing_any_text_never_panics(text in "\\PC{0,200}") {
        let _ = nesy_lang::check_source("any.nesy", &text);
    }

    #[test]
    fn parsing_token_soup_never_panics(tokens in prop::collection::vec(token(), 0..60)) {
        let text = tokens.concat();
        let checked = nesy_lang::check_source("soup.nesy", &text);
        for d in &checked.diagnostics {
            // Every diagnostic points inside the text, on char boundaries.
            prop_assert!(d.span.start <= d.span.end && d.span.end <= text.len());
            prop_assert!(text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end));
        }
    }

    #[test]
    fn formatting_keeps_the_tree_and_is_idempotent(source in program()) {
        let formatted = format_source(&source).unwrap();
        prop_assert_eq!(shape(&source), shape(&formatted));
        prop_assert_eq!(format_source(&formatted).unwrap(), formatted);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        "p(X) :- q(X), Y = {}X{}.",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let checked = nesy_lang::check_source("deep.nesy", &deep);
    assert!(checked.has_errors());
}

#[test]
fn long_operator_chains_are_an_error_not_a_crash() {
    let chain = format!("p(X) :- q(X), Y = X{}.", " + 1".repeat(100_000));
    assert!(nesy_lang::check_source("chain.nesy", &chain).has_errors());
    let negations = format!("p(X) :- q(X), Y = {}X.", "-".repeat(100_000));
    assert!(nesy_lang::check_source("neg.nesy", &negations).has_errors());
}

/// Found by the fuzzer: nested negations formatted with parentheses read back
/// as too deeply nested.
#[test]
fn nested_negations_format_and_read_back() {
    let source = format!("?- o = t - {}R, t(R).", "-".repeat(98));
    let formatted = format_source(&source).unwrap();
    assert_eq!(format_source(&formatted).unwrap(), formatted);
    assert_eq!(shape(&source), shape(&formatted));
}
