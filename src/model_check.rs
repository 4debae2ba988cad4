//! Lints of calls to `@model` files, which only the model file can settle:
//! a class compared with a value that is not one of the model's classes
//! (`fraud` where the classes are the strings `"fraud"` and `"legit"`),
//! and features passed by position in another order than the model takes
//! them. Both check clean and answer nothing (or the wrong thing).

use crate::ReadPolicy;
use nesy_lang::ast::{
    Clause, CmpOp, ConstValue, Constant, Expr, Item, Literal, ModelCall, NegationTarget, TestEntry,
};
use nesy_lang::{Checked, Diagnostic};
use std::collections::HashMap;
use std::path::Path;

/// What the lints need of a tree model: its features and classes.
struct Shape {
    file: String,
    features: Vec<String>,
    classes: Vec<String>,
}

/// Adds the warnings of the calls to the tree models `checked` declares
/// (a model file that is missing, refused or unreadable is left to the
/// errors and warnings that say so).
pub(crate) fn add_model_diagnostics(checked: &mut Checked, dir: &Path, policy: &ReadPolicy) {
    let mut shapes: HashMap<String, Shape> = HashMap::new();
    for item in &checked.program.items {
        let Item::Model(decl) = item else { continue };
        let location = checked.source.location(decl.span.start);
        let Ok(path) = policy.check(&dir.join(&decl.path.value), &location) else {
            continue;
        };
        if nesy_learn::model_file::model_kind(&path).ok().as_deref() != Some("tree") {
            continue;
        }
        let Ok(model) = nesy_learn::TreeModel::load(&path) else {
            continue;
        };
        let schema = model.schema();
        shapes.insert(
            decl.name.text.clone(),
            Shape {
                file: decl.path.value.clone(),
                features: schema.features.iter().map(|f| f.name.clone()).collect(),
                classes: schema.classes.clone(),
            },
        );
    }
    if shapes.is_empty() {
        return;
    }
    let mut found = Vec::new();
    for clause in clauses(&checked.program.items) {
        let mut calls = Vec::new();
        for literal in &clause.body {
            collect_calls(literal, &mut calls);
        }
        for call in calls {
            if let Some(shape) = shapes.get(&call.model.text) {
                found.extend(lint_call(call, shape, &clause.body));
            }
        }
    }
    checked.diagnostics.extend(found);
    checked
        .diagnostics
        .sort_by_key(|d| (d.span.start, d.span.end));
}

/// Every clause: top-level and in `given` blocks.
fn clauses(items: &[Item]) -> Vec<&Clause> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Clause(c) => out.push(c),
            Item::Test(t) => {
                for entry in &t.entries {
                    if let TestEntry::Given(g) = entry {
                        out.extend(&g.clauses);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The model calls of a literal, aggregates' bodies included.
fn collect_calls<'a>(literal: &'a Literal, out: &mut Vec<&'a ModelCall>) {
    match literal {
        Literal::ModelCall(m) => out.push(m),
        Literal::Negation(n) => {
            if let NegationTarget::ModelCall(m) = &n.target {
                out.push(m);
            }
        }
        Literal::Aggregate(a) => a.body.iter().for_each(|l| collect_calls(l, out)),
        Literal::Atom(_) | Literal::Comparison(_) => {}
    }
}

/// A name as the lints compare it: lowercase, without `_` or `-`.
fn normalized(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn lint_call(call: &ModelCall, shape: &Shape, body: &[Literal]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if !matches!(call.method.text.as_str(), "predict" | "prob") {
        return out;
    }
    let features = shape.features.len();
    // By position: the features, then class and probability; by entity:
    // the entity, then the same.
    let class_at = match call.args.len() {
        n if n == features + 2 => features,
        3 => 1,
        _ => return out,
    };
    let Some(class) = call.args.get(class_at) else {
        return out;
    };
    let compared: Vec<&Constant> = match class {
        Expr::Const(c) => vec![c],
        Expr::Var(v) if !v.is_anonymous() => compared_with(&v.name, body),
        _ => Vec::new(),
    };
    for c in compared {
        if let Some(d) = class_mismatch(c, call, shape) {
            out.push(d);
        }
    }
    if class_at == features && features > 1 {
        out.extend(feature_order(call, shape));
    }
    out
}

/// The constants a variable is compared with for equality in a body.
fn compared_with<'a>(var: &str, body: &'a [Literal]) -> Vec<&'a Constant> {
    body.iter()
        .filter_map(|l| match l {
            Literal::Comparison(c) if c.op == CmpOp::Eq => match (&c.lhs, &c.rhs) {
                (Expr::Var(v), Expr::Const(k)) | (Expr::Const(k), Expr::Var(v))
                    if v.name == var =>
                {
                    Some(k)
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// A class output compared with a value that is not one of the classes.
fn class_mismatch(c: &Constant, call: &ModelCall, shape: &Shape) -> Option<Diagnostic> {
    // A regression tree has no classes: its output is a number.
    if shape.classes.is_empty() {
        return None;
    }
    if let ConstValue::String(s) = &c.value
        && shape.classes.contains(s)
    {
        return None;
    }
    let classes = shape
        .classes
        .iter()
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let bare = match &c.value {
        ConstValue::String(s) | ConstValue::Symbol(s) => s.clone(),
        _ => c.text.clone(),
    };
    let help = match shape
        .classes
        .iter()
        .find(|k| **k == bare || normalized(k) == normalized(&bare))
    {
        Some(k) => format!("the classes are strings: write `\"{k}\"`"),
        None => format!("the classes of `{}` are {classes}", shape.file),
    };
    Some(
        Diagnostic::warning(
            "model-class",
            c.span,
            format!(
                "`{}` is not a class of `{}`, so `{}.{}` never gives it",
                c.text, call.model.text, call.model.text, call.method.text
            ),
        )
        .with_label("not a class")
        .with_help(help),
    )
}

/// Features passed by position, as variables named like the model's
/// features but in another order.
fn feature_order(call: &ModelCall, shape: &Shape) -> Option<Diagnostic> {
    let given: Vec<String> = call
        .args
        .iter()
        .take(shape.features.len())
        .map(|a| {
            a.as_var()
                .filter(|v| !v.is_anonymous())
                .map(|v| normalized(&v.name))
        })
        .collect::<Option<_>>()?;
    let expected: Vec<String> = shape.features.iter().map(|f| normalized(f)).collect();
    let (mut a, mut b) = (given.clone(), expected.clone());
    a.sort();
    b.sort();
    if a != b || given == expected {
        return None;
    }
    Some(
        Diagnostic::warning(
            "model-feature-order",
            call.span,
            format!(
                "the features are passed to `{}.{}` in another order than the model takes them",
                call.model.text, call.method.text
            ),
        )
        .with_label("features out of order")
        .with_help(format!(
            "`{}` takes ({}, then class and probability)",
            shape.file,
            shape.features.join(", ")
        )),
    )
}
