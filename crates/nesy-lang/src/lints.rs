//! Lints for programs that check clean and quietly answer nothing: mistakes
//! a newcomer makes that leave a rule unable to match.
//!
//! ```
//! use nesy_lang::check_source;
//!
//! // Lowercase names are constants: this rule joins the constants `u` and `g`.
//! let checked = check_source("a.nesy", "member(ann, admins).\nin_group(u, g) :- member(u, g).\n");
//! let d = checked.diagnostics.iter().find(|d| d.code == "constant-like-variable").unwrap();
//! assert!(d.help.as_deref().unwrap().contains("did you mean variables `U`, `G`?"));
//!
//! // `bob` occurs nowhere else, `ex:bob` does.
//! let checked = check_source(
//!     "b.nesy",
//!     "@prefix ex: <http://e/>.\nex:parent(ex:bob, ex:ann).\nbobs(X) :- ex:parent(bob, X).\n",
//! );
//! let d = checked.diagnostics.iter().find(|d| d.code == "unmatched-constant").unwrap();
//! assert_eq!(d.help.as_deref(), Some("did you mean `ex:bob`?"));
//! ```

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::walk::{all_clauses, for_each_atom, suggest};
use std::collections::{HashMap, HashSet};

/// The lints' diagnostics (warnings), in no particular order.
pub(crate) fn lints(program: &Program) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let clauses: Vec<&Clause> = all_clauses(program).collect();
    let places = constant_places(program, &clauses);
    for clause in &clauses {
        if let Some(d) = constants_like_variables(clause, &places) {
            out.push(d);
        }
    }
    out.extend(unmatched_constants(program, &clauses, &places));
    out
}

/// For each constant, the items it occurs in: clause `i` of `clauses` is
/// `i`; queries and test expectations follow.
type Places = HashMap<String, HashSet<usize>>;

fn constant_places(program: &Program, clauses: &[&Clause]) -> Places {
    let mut places: Places = HashMap::new();
    for (i, clause) in clauses.iter().enumerate() {
        for e in clause_exprs(clause) {
            for_each_constant(e, &mut |c| {
                if let Some(t) = constant_text(&c.value) {
                    places.entry(t).or_default().insert(i);
                }
            });
        }
    }
    let mut other = clauses.len();
    for item in &program.items {
        let mut exprs: Vec<&Expr> = Vec::new();
        match item {
            Item::Query(q) => crate::walk::for_each_expr(&q.body, &mut |e| exprs.push(e)),
            Item::Test(t) => {
                for entry in &t.entries {
                    if let TestEntry::Expect(e) = entry {
                        exprs.extend(&e.atom.args);
                    }
                }
            }
            _ => continue,
        }
        for e in exprs {
            for_each_constant(e, &mut |c| {
                if let Some(t) = constant_text(&c.value) {
                    places.entry(t).or_default().insert(other);
                }
            });
        }
        other += 1;
    }
    places
}

/// A constant written as it would be in a rule, for comparing occurrences.
fn constant_text(value: &ConstValue) -> Option<String> {
    match value {
        ConstValue::Symbol(s) => Some(s.clone()),
        ConstValue::String(s) => Some(format!("{s:?}")),
        ConstValue::Iri(i) => Some(format!("<{i}>")),
        ConstValue::Prefixed { prefix, local } => Some(format!("{prefix}:{local}")),
        ConstValue::Int(_) | ConstValue::Float(_) | ConstValue::Bool(_) => None,
    }
}

/// Calls `f` on every constant of an expression.
fn for_each_constant<'a>(expr: &'a Expr, f: &mut dyn FnMut(&'a Constant)) {
    match expr {
        Expr::Const(c) => f(c),
        Expr::Var(_) => {}
        Expr::Binary { lhs, rhs, .. } => {
            for_each_constant(lhs, f);
            for_each_constant(rhs, f);
        }
        Expr::Neg { inner, .. } => for_each_constant(inner, f),
        Expr::ModelCall(m) => m.args.iter().for_each(|a| for_each_constant(a, f)),
    }
}

/// Every expression of a clause, head and body (aggregates included).
fn clause_exprs(clause: &Clause) -> Vec<&Expr> {
    let mut exprs: Vec<&Expr> = clause.head.args.iter().collect();
    crate::walk::for_each_expr(&clause.body, &mut |e| exprs.push(e));
    exprs
}

/// Whether a lowercase name is how variables are named elsewhere: one
/// letter, or a letter and digits (`x`, `u`, `x1`).
fn looks_like_a_variable(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_digit())
}

/// A rule without variables whose constants look like variables, one of
/// them in no other clause: `in_group(u, g) :- member(u, g).` joins the
/// constants `u` and `g`, which no fact has.
fn constants_like_variables(clause: &Clause, places: &Places) -> Option<Diagnostic> {
    if clause.is_fact() {
        return None;
    }
    let exprs = clause_exprs(clause);
    let mut has_variable = false;
    for e in &exprs {
        e.for_each_var(&mut |_| has_variable = true);
    }
    let aggregates = clause
        .body
        .iter()
        .any(|l| matches!(l, Literal::Aggregate(_)));
    if has_variable || aggregates {
        return None;
    }
    let mut names: Vec<&str> = Vec::new();
    for e in &exprs {
        for_each_constant(e, &mut |c| {
            if let ConstValue::Symbol(s) = &c.value
                && looks_like_a_variable(s)
                && !names.contains(&s.as_str())
            {
                names.push(s);
            }
        });
    }
    let elsewhere = |n: &str| places.get(n).is_some_and(|p| p.len() > 1);
    if names.iter().all(|n| elsewhere(n)) {
        return None;
    }
    let quoted = |f: &dyn Fn(&str) -> String| {
        names
            .iter()
            .map(|n| format!("`{}`", f(n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(
        Diagnostic::warning(
            "constant-like-variable",
            clause.head.span,
            format!(
                "this rule has no variables: {} {} constants",
                quoted(&|n| n.to_string()),
                if names.len() == 1 { "is a" } else { "are" }
            ),
        )
        .with_label("no variables")
        .with_help(format!(
            "did you mean variables {}? variables start with an uppercase letter or `_`",
            quoted(&|n| n.to_uppercase())
        )),
    )
}

/// The name without its prefix or namespace, lowercased: `ex:Bob`,
/// `<http://e/bob>` and `bob` all give `bob`.
fn local_name(text: &str) -> String {
    let text = text.trim_matches(|c| c == '<' || c == '>' || c == '"');
    let local = text.rsplit([':', '/', '#']).next().unwrap_or(text);
    local.to_lowercase()
}

/// Constants in a rule's body that occur nowhere else in the program, where
/// a similar one does: the rule can never match them (`bob` where the facts
/// say `ex:bob`). Relations whose facts come from elsewhere (imports,
/// `@input`, `@decl`) are not judged: their values are not in the text.
fn unmatched_constants(program: &Program, clauses: &[&Clause], places: &Places) -> Vec<Diagnostic> {
    let mut open: HashSet<&str> = HashSet::new();
    let mut triples_imported = false;
    for item in &program.items {
        match item {
            Item::Import(i) => match &i.relation {
                Some(r) => {
                    open.insert(&r.text);
                }
                None => triples_imported = true,
            },
            Item::Decl(d) => {
                open.insert(&d.relation.text);
            }
            Item::Input(i) => open.extend(i.relations.iter().map(|r| r.text.as_str())),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for clause in clauses.iter().filter(|c| !c.is_fact()) {
        let mut atoms: Vec<&Atom> = Vec::new();
        for_each_atom(&clause.body, &mut |a| atoms.push(a));
        for atom in atoms {
            let from_triples =
                triples_imported && (atom.relation.text.contains(':') || atom.relation.text == "a");
            if open.contains(atom.relation.text.as_str()) || from_triples {
                continue;
            }
            for arg in &atom.args {
                let Expr::Const(c) = arg else { continue };
                let Some(text) = constant_text(&c.value) else {
                    continue;
                };
                if places.get(&text).is_some_and(|p| p.len() > 1) {
                    continue;
                }
                let local = local_name(&text);
                let mut similar: Vec<&str> = places
                    .keys()
                    .filter(|k| **k != text && local_name(k) == local)
                    .map(String::as_str)
                    .collect();
                similar.sort_unstable();
                let guess = similar
                    .first()
                    .copied()
                    .or_else(|| suggest(&text, places.keys().map(String::as_str)));
                let Some(guess) = guess else { continue };
                out.push(
                    Diagnostic::warning(
                        "unmatched-constant",
                        c.span,
                        format!(
                            "`{}` occurs in no fact and no other rule, so this atom never matches",
                            c.text
                        ),
                    )
                    .with_label("nowhere else")
                    .with_fix(c.span, guess)
                    .with_help(format!("did you mean `{guess}`?")),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_like_names_are_one_letter_and_digits() {
        for name in ["x", "u", "g", "x1", "a42"] {
            assert!(looks_like_a_variable(name), "{name}");
        }
        for name in ["bob", "X", "x_1", "", "1x", "é"] {
            assert!(!looks_like_a_variable(name), "{name}");
        }
    }

    #[test]
    fn local_names_drop_prefixes_namespaces_and_case() {
        assert_eq!(local_name("ex:Bob"), "bob");
        assert_eq!(local_name("<http://e.org/people#Bob>"), "bob");
        assert_eq!(local_name("<http://e.org/bob>"), "bob");
        assert_eq!(local_name("\"Bob\""), "bob");
        assert_eq!(local_name("bob"), "bob");
    }
}
