//! Every example program in `rules/` checks without errors, and uses every
//! construct of the language somewhere.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on broken fixtures"
)]

mod common;

use nesy::lang::ast::{Expr, Item, Literal, NegationTarget, TestEntry};
use std::collections::BTreeSet;

#[test]
fn every_example_program_checks_without_errors() {
    let files = common::nesy_files("rules");
    assert!(files.len() >= 5);
    for path in files {
        let checked = nesy::check_file(&path).unwrap();
        let errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        // The only warnings allowed are for model files that a later release trains.
        for d in &checked.diagnostics {
            assert_eq!(d.code, "model-not-found", "{}: {d:?}", path.display());
        }
    }
}

fn expr_kinds(e: &Expr, seen: &mut BTreeSet<&'static str>) {
    match e {
        Expr::Binary { lhs, rhs, .. } => {
            seen.insert("arithmetic");
            expr_kinds(lhs, seen);
            expr_kinds(rhs, seen);
        }
        Expr::ModelCall(_) => {
            seen.insert("model call in expression");
        }
        Expr::Const(c) => {
            seen.insert(match c.value {
                nesy::lang::ast::ConstValue::Symbol(_) => "symbol",
                nesy::lang::ast::ConstValue::String(_) => "string",
                nesy::lang::ast::ConstValue::Int(_) => "int",
                nesy::lang::ast::ConstValue::Float(_) => "float",
                nesy::lang::ast::ConstValue::Bool(_) => "bool",
                nesy::lang::ast::ConstValue::Iri(_) => "iri",
                nesy::lang::ast::ConstValue::Prefixed { .. } => "prefixed name",
            });
        }
        _ => {}
    }
}

fn literal_kinds(body: &[Literal], seen: &mut BTreeSet<&'static str>) {
    for l in body {
        match l {
            Literal::Atom(a) => a.args.iter().for_each(|e| expr_kinds(e, seen)),
            Literal::Negation(n) => {
                seen.insert("negation");
                if let NegationTarget::Atom(a) = &n.target {
                    a.args.iter().for_each(|e| expr_kinds(e, seen));
                }
            }
            Literal::Comparison(c) => {
                seen.insert("comparison");
                expr_kinds(&c.lhs, seen);
                expr_kinds(&c.rhs, seen);
            }
            Literal::Aggregate(a) => {
                seen.insert(match a.function {
                    nesy::lang::ast::AggregateFn::Count => "count",
                    nesy::lang::ast::AggregateFn::Sum => "sum",
                    nesy::lang::ast::AggregateFn::Min => "min",
                    nesy::lang::ast::AggregateFn::Max => "max",
                    nesy::lang::ast::AggregateFn::Mean => "mean",
                });
                literal_kinds(&a.body, seen);
            }
            Literal::ModelCall(_) => {
                seen.insert("model call as relation");
            }
        }
    }
}

#[test]
fn the_examples_exercise_every_construct() {
    let mut seen = BTreeSet::new();
    for path in common::nesy_files("rules") {
        let checked = nesy::check_file(&path).unwrap();
        if !checked.program.comments.is_empty() {
            seen.insert("comment");
        }
        for item in &checked.program.items {
            match item {
                Item::Prefix(_) => {
                    seen.insert("@prefix");
                }
                Item::Import(i) => {
                    seen.insert(match (&i.source, &i.relation) {
                        (nesy::lang::ast::ImportSource::File(_), None) => "@import rdf",
                        (nesy::lang::ast::ImportSource::File(_), Some(_)) => "@import table",
                        (nesy::lang::ast::ImportSource::Sparql(_), _) => "@import sparql",
                        (nesy::lang::ast::ImportSource::Store(_), _) => "@import store",
                    });
                }
                Item::Decl(_) => {
                    seen.insert("@decl");
                }
                Item::Model(_) => {
                    seen.insert("@model");
                }
                Item::Input(_) => {
                    seen.insert("@input");
                }
                Item::Query(q) => {
                    seen.insert("query");
                    literal_kinds(&q.body, &mut seen);
                }
                Item::Test(t) => {
                    seen.insert("@test");
                    for e in &t.entries {
                        seen.insert(match e {
                            TestEntry::Given(_) => "given",
                            TestEntry::Expect(x) if x.negated => "negative expectation",
                            TestEntry::Expect(_) => "expectation",
                        });
                    }
                }
                Item::Clause(c) => {
                    seen.insert(if c.is_fact() { "fact" } else { "rule" });
                    if c.name.is_some() {
                        seen.insert("@name");
                    }
                    if c.probability.is_some() {
                        seen.insert(if c.is_fact() {
                            "probabilistic fact"
                        } else {
                            "weighted rule"
                        });
                    }
                    c.head.args.iter().for_each(|e| expr_kinds(e, &mut seen));
                    literal_kinds(&c.body, &mut seen);
                }
            }
        }
    }
    let missing: Vec<&str> = [
        "comment",
        "@prefix",
        "@import rdf",
        "@import table",
        "@import sparql",
        "@decl",
        "@model",
        "@input",
        "query",
        "@test",
        "given",
        "expectation",
        "negative expectation",
        "fact",
        "rule",
        "@name",
        "probabilistic fact",
        "weighted rule",
        "negation",
        "comparison",
        "arithmetic",
        "count",
        "sum",
        "min",
        "max",
        "mean",
        "model call in expression",
        "model call as relation",
        "symbol",
        "string",
        "int",
        "float",
        "iri",
        "prefixed name",
    ]
    .into_iter()
    .filter(|k| !seen.contains(k))
    .collect();
    assert!(missing.is_empty(), "no example uses {missing:?}");
}
