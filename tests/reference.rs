//! The engine against a naive reference evaluator, on random programs and
//! random data (proptest).
//!
//! The reference is deliberately simple and slow: it reads the syntax tree,
//! enumerates bindings left to right with nested loops, and iterates each
//! layer of rules to a fixpoint. The programs are drawn from a pool of rules
//! covering transitive closure (left-, right- and non-linear), same
//! generation, bounded arithmetic recursion, comparisons, negation and the
//! five aggregates.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test oracle fails loudly"
)]

use nesy::lang::ast::{self, AggregateFn, BinOp, CmpOp, ConstValue, Expr, Literal, NegationTarget};
mod common;

use common::random::{POOL, facts, program_strategy};
use nesy::{Limits, Program, Value};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

type Rows = BTreeSet<Vec<Value>>;
type Db = BTreeMap<String, Rows>;
type Env = HashMap<String, Value>;

fn parse_clause(text: &str) -> ast::Clause {
    let parsed = nesy::lang::parse(text);
    assert!(parsed.diagnostics.is_empty(), "{text}");
    match parsed.program.items.into_iter().next() {
        Some(ast::Item::Clause(c)) => c,
        _ => panic!("not a clause: {text}"),
    }
}

fn constant(c: &ConstValue) -> Value {
    match c {
        ConstValue::Int(i) => Value::Int(*i),
        ConstValue::Symbol(s) => Value::symbol(s),
        other => panic!("unexpected constant {other:?}"),
    }
}

fn eval(e: &Expr, env: &Env) -> Option<Value> {
    Some(match e {
        Expr::Var(v) => env.get(&v.name)?.clone(),
        Expr::Const(c) => constant(&c.value),
        Expr::Binary { op, lhs, rhs, .. } => {
            let (Value::Int(a), Value::Int(b)) = (eval(lhs, env)?, eval(rhs, env)?) else {
                panic!("ints only")
            };
            Value::Int(match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                BinOp::Rem => a % b,
            })
        }
        other => panic!("unexpected expression {other:?}"),
    })
}

fn matches(args: &[Expr], row: &[Value], env: &Env) -> Option<Env> {
    let mut env = env.clone();
    for (a, v) in args.iter().zip(row) {
        match a {
            Expr::Var(x) if x.is_anonymous() => {}
            Expr::Var(x) => match env.get(&x.name) {
                Some(bound) if bound != v => return None,
                Some(_) => {}
                None => {
                    env.insert(x.name.clone(), v.clone());
                }
            },
            other => {
                if &eval(other, &env)? != v {
                    return None;
                }
            }
        }
    }
    Some(env)
}

fn solve(body: &[Literal], env: &Env, db: &Db, out: &mut dyn FnMut(&Env)) {
    let Some((first, rest)) = body.split_first() else {
        out(env);
        return;
    };
    let empty = Rows::new();
    match first {
        Literal::Atom(a) => {
            for row in db.get(&a.relation.text).unwrap_or(&empty) {
                if let Some(next) = matches(&a.args, row, env) {
                    solve(rest, &next, db, out);
                }
            }
        }
        Literal::Negation(n) => {
            let NegationTarget::Atom(a) = &n.target else {
                panic!()
            };
            let rows = db.get(&a.relation.text).unwrap_or(&empty);
            if !rows.iter().any(|row| matches(&a.args, row, env).is_some()) {
                solve(rest, env, db, out);
            }
        }
        Literal::Comparison(c) => {
            if let (CmpOp::Eq, Expr::Var(v)) = (c.op, &c.lhs)
                && !env.contains_key(&v.name)
            {
                let mut next = env.clone();
                next.insert(v.name.clone(), eval(&c.rhs, env).unwrap());
                solve(rest, &next, db, out);
                return;
            }
            let (l, r) = (eval(&c.lhs, env).unwrap(), eval(&c.rhs, env).unwrap());
            let holds = match c.op {
                CmpOp::Eq => l == r,
                CmpOp::Ne => l != r,
                CmpOp::Lt => l < r,
                CmpOp::Le => l <= r,
                CmpOp::Gt => l > r,
                CmpOp::Ge => l >= r,
            };
            if holds {
                solve(rest, env, db, out);
            }
        }
        Literal::Aggregate(agg) => {
            let mut tuples = BTreeSet::new();
            solve(&agg.body, env, db, &mut |inner| {
                tuples.insert(
                    agg.terms
                        .iter()
                        .map(|t| eval(t, inner).unwrap())
                        .collect::<Vec<_>>(),
                );
            });
            let ints = || {
                tuples.iter().map(|t| match t[0] {
                    Value::Int(i) => i,
                    _ => panic!("ints only"),
                })
            };
            let value = match agg.function {
                AggregateFn::Count => Some(Value::Int(tuples.len() as i64)),
                AggregateFn::Sum => Some(Value::Int(ints().sum())),
                AggregateFn::Min => ints().min().map(Value::Int),
                AggregateFn::Max => ints().max().map(Value::Int),
                AggregateFn::Mean => (!tuples.is_empty())
                    .then(|| Value::Float(ints().sum::<i64>() as f64 / tuples.len() as f64)),
            };
            if let Some(value) = value {
                let mut next = env.clone();
                next.insert(agg.result.name.clone(), value);
                solve(rest, &next, db, out);
            }
        }
        Literal::ModelCall(_) => panic!("no models here"),
    }
}

/// Naive evaluation: each layer to a fixpoint, in order.
fn reference(fact_text: &str, layers: &[Vec<&str>]) -> Db {
    let mut db = Db::new();
    for item in nesy::lang::parse(fact_text).program.items {
        if let ast::Item::Clause(c) = item {
            let row = c
                .head
                .args
                .iter()
                .map(|a| eval(a, &Env::new()).unwrap())
                .collect();
            db.entry(c.head.relation.text.clone())
                .or_default()
                .insert(row);
        }
    }
    for layer in layers {
        let rules: Vec<ast::Clause> = layer.iter().map(|r| parse_clause(r)).collect();
        for r in &rules {
            db.entry(r.head.relation.text.clone()).or_default();
        }
        loop {
            let mut new = Vec::new();
            for rule in &rules {
                solve(&rule.body, &Env::new(), &db, &mut |env| {
                    let row: Vec<Value> = rule
                        .head
                        .args
                        .iter()
                        .map(|a| eval(a, env).unwrap())
                        .collect();
                    new.push((rule.head.relation.text.clone(), row));
                });
            }
            let mut changed = false;
            for (rel, row) in new {
                changed |= db.entry(rel).or_default().insert(row);
            }
            if !changed {
                break;
            }
        }
    }
    db
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_naive_reference((edges, weights, picks) in program_strategy()) {
        let layers: Vec<Vec<&str>> = POOL
            .iter()
            .zip(&picks)
            .map(|(layer, pick)| layer.iter().zip(pick).filter(|(_, p)| **p).map(|(r, _)| *r).collect())
            .collect();
        let fact_text = facts(&edges, &weights);
        let mut text = fact_text.clone();
        for layer in &layers {
            for rule in layer {
                text.push_str(rule);
                text.push('\n');
            }
        }
        let expected = reference(&fact_text, &layers);
        let program = Program::from_source("random.nesy", &text).unwrap();
        let evaluation = program.evaluate(&Limits::default()).unwrap();
        for (relation, rows) in &expected {
            let actual: Rows = evaluation
                .relation(relation)
                .map(|r| r.to_vecs().into_iter().collect())
                .unwrap_or_default();
            prop_assert_eq!(&actual, rows, "relation {} of\n{}", relation, text);
        }
    }

    #[test]
    fn magic_set_answers_equal_full_evaluation(
        (edges, _, picks) in program_strategy(),
        start in 0u8..6,
    ) {
        let mut text = facts(&edges, &[]);
        for (rule, pick) in POOL[0].iter().zip(&picks[0]) {
            if *pick {
                text.push_str(rule);
                text.push('\n');
            }
        }
        text.push_str("t(X, Y) :- e(X, Y).\nsg(X, Y) :- e(P, X), e(P, Y), X != Y.\n");
        let program = Program::from_source("random.nesy", &text).unwrap();
        let evaluation = program.evaluate(&Limits::default()).unwrap();
        for relation in ["t", "sg"] {
            let goal = format!("{relation}({start}, Y)");
            let answers = program.query(&goal, &Limits::default()).unwrap();
            prop_assert_eq!(answers.strategy, nesy::Strategy::MagicSets);
            let expected: Vec<Vec<Value>> = evaluation
                .relation(relation)
                .unwrap()
                .rows()
                .filter(|row| row[0] == Value::Int(i64::from(start)))
                .map(|row| row[1..].to_vec())
                .collect();
            prop_assert_eq!(&answers.rows, &expected, "{} over\n{}", goal, text);
        }
    }

    #[test]
    fn more_facts_never_remove_positive_consequences(
        edges in prop::collection::vec((0u8..6, 0u8..6), 0..12),
        extra in prop::collection::vec((0u8..6, 0u8..6), 1..4),
    ) {
        let rules = POOL[0].join("\n");
        let small = format!("{}{rules}", facts(&edges, &[]));
        let mut more = edges.clone();
        more.extend(extra);
        let large = format!("{}{rules}", facts(&more, &[]));
        let a = Program::from_source("a.nesy", &small).unwrap().evaluate(&Limits::default()).unwrap();
        let b = Program::from_source("b.nesy", &large).unwrap().evaluate(&Limits::default()).unwrap();
        for relation in ["t", "sg", "lt", "loop"] {
            let big: Rows = b.relation(relation).unwrap().to_vecs().into_iter().collect();
            for row in a.relation(relation).unwrap().rows() {
                prop_assert!(big.contains(row), "{} lost {:?}", relation, row);
            }
        }
    }
}
