//! Hints for goals that find nothing: a symbol (`bob`) is not an IRI
//! (`ex:bob`), and a goal over a graph's triples easily mixes them up.

use nesy::Value;
use nesy::kg::Prefixes;
use nesy::lang::ast::{ConstValue, Expr, Item, Literal};
use std::collections::BTreeSet;

/// The symbols written in `goal` (`?-` and `.` optional).
pub(crate) fn goal_symbols(goal: &str) -> Vec<String> {
    let goal = goal.trim();
    let goal = goal.strip_prefix("?-").unwrap_or(goal).trim();
    let goal = goal.strip_suffix('.').unwrap_or(goal);
    let parsed = nesy::lang::parse(&format!("?- {goal}."));
    let mut out = Vec::new();
    for item in &parsed.program.items {
        if let Item::Query(q) = item {
            body_symbols(&q.body, &mut out);
        }
    }
    out
}

/// The symbols written in the bodies of a program's rules (what a rule
/// looks for, as `member(U, writers)` does).
pub(crate) fn rule_symbols(program: &nesy::Program) -> Vec<String> {
    let mut out = Vec::new();
    for checked in program.sources() {
        for item in &checked.program.items {
            if let Item::Clause(c) = item {
                body_symbols(&c.body, &mut out);
            }
        }
    }
    out
}

fn body_symbols(body: &[Literal], out: &mut Vec<String>) {
    for literal in body {
        let args = match literal {
            Literal::Atom(a) => &a.args,
            Literal::Negation(n) => match &n.target {
                nesy::lang::ast::NegationTarget::Atom(a) => &a.args,
                _ => continue,
            },
            _ => continue,
        };
        for arg in args {
            if let Expr::Const(c) = arg
                && let ConstValue::Symbol(s) = &c.value
                && !out.contains(s)
            {
                out.push(s.clone());
            }
        }
    }
}

/// For each symbol of `symbols` that is no value of `evaluation` while
/// IRIs with that local name are (`...#bob`, `.../bob`): the IRIs (at most
/// three, short where a prefix fits).
pub(crate) fn symbol_not_iri(
    symbols: &[String],
    evaluation: &nesy::Evaluation,
    prefixes: &Prefixes,
) -> Vec<Hint> {
    if symbols.is_empty() {
        return Vec::new();
    }
    let mut present: BTreeSet<String> = BTreeSet::new();
    let mut iris: Vec<(String, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    'scan: for relation in evaluation.relations() {
        // Every symbol held by some fact: nothing to hint, stop reading.
        if present.len() == symbols.len() {
            break 'scan;
        }
        for row in relation.rows() {
            for value in row {
                match value {
                    Value::Symbol(s) if symbols.iter().any(|x| x.as_str() == s.as_ref()) => {
                        present.insert(s.to_string());
                    }
                    Value::Iri(iri) => {
                        let local = iri.rsplit(['#', '/']).next().unwrap_or_default();
                        if symbols.iter().any(|x| x == local) && seen.insert(iri.to_string()) {
                            iris.push((local.to_string(), iri.to_string()));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let mut hints = Vec::new();
    for symbol in symbols {
        if present.contains(symbol) {
            continue;
        }
        let candidates: Vec<String> = iris
            .iter()
            .filter(|(local, _)| local == symbol)
            .take(3)
            .map(|(_, iri)| prefixes.shorten(iri).unwrap_or_else(|| format!("<{iri}>")))
            .collect();
        if candidates.is_empty() {
            continue;
        }
        hints.push(Hint {
            symbol: symbol.clone(),
            iris: candidates,
        });
    }
    hints
}

/// A symbol no fact holds, and the IRIs of the same local name that are
/// values (short where a prefix fits).
pub(crate) struct Hint {
    pub(crate) symbol: String,
    pub(crate) iris: Vec<String>,
}

impl Hint {
    /// `the data has the IRI ex:bob: did you mean ex:bob?`
    pub(crate) fn did_you_mean(&self) -> String {
        let noun = if self.iris.len() == 1 { "IRI" } else { "IRIs" };
        format!(
            "the data has the {noun} {}: did you mean {}?",
            self.iris.join(", "),
            self.iris.first().map_or("", String::as_str)
        )
    }
}
