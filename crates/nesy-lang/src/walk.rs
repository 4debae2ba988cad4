//! Walking a program's syntax: its clauses, atoms, expressions and
//! variables; and the did-you-mean of names.

use crate::ast::*;

/// Every clause of the program: top-level ones and those in `given` blocks.
pub(crate) fn all_clauses(program: &Program) -> impl Iterator<Item = &Clause> {
    program
        .items
        .iter()
        .flat_map(|item| -> Box<dyn Iterator<Item = &Clause>> {
            match item {
                Item::Clause(c) => Box::new(std::iter::once(c)),
                Item::Test(t) => Box::new(t.entries.iter().flat_map(|e| match e {
                    TestEntry::Given(g) => g.clauses.iter().collect::<Vec<_>>(),
                    TestEntry::Expect(_) => Vec::new(),
                })),
                _ => Box::new(std::iter::empty()),
            }
        })
}

/// Calls `f` on every relation atom in `literals`: positive, negated, and
/// inside aggregates (recursively).
pub(crate) fn for_each_atom<'a>(literals: &'a [Literal], f: &mut dyn FnMut(&'a Atom)) {
    for literal in literals {
        match literal {
            Literal::Atom(a) => f(a),
            Literal::Negation(Negation {
                target: NegationTarget::Atom(a),
                ..
            }) => f(a),
            Literal::Aggregate(agg) => for_each_atom(&agg.body, f),
            _ => {}
        }
    }
}

/// Calls `f` on every expression of the literals (recursing into aggregates).
pub(crate) fn for_each_expr<'a>(literals: &'a [Literal], f: &mut dyn FnMut(&'a Expr)) {
    for literal in literals {
        match literal {
            Literal::Atom(a) => a.args.iter().for_each(&mut *f),
            Literal::Negation(n) => match &n.target {
                NegationTarget::Atom(a) => a.args.iter().for_each(&mut *f),
                NegationTarget::ModelCall(m) => m.args.iter().for_each(&mut *f),
            },
            Literal::ModelCall(m) => m.args.iter().for_each(&mut *f),
            Literal::Comparison(c) => {
                f(&c.lhs);
                f(&c.rhs);
            }
            Literal::Aggregate(agg) => {
                agg.terms.iter().for_each(&mut *f);
                for_each_expr(&agg.body, f);
            }
        }
    }
}

/// Every variable occurrence in a list of literals, in order.
pub(crate) fn variables(literals: &[Literal]) -> Vec<Variable> {
    let mut out = Vec::new();
    for literal in literals {
        match literal {
            Literal::Aggregate(agg) => {
                out.push(agg.result.clone());
                for t in &agg.terms {
                    t.for_each_var(&mut |v| out.push(v.clone()));
                }
                out.extend(variables(&agg.body));
            }
            other => for_each_expr(std::slice::from_ref(other), &mut |e| {
                e.for_each_var(&mut |v| out.push(v.clone()))
            }),
        }
    }
    out
}

/// The closest candidate by edit distance, if close enough to be a typo.
pub(crate) fn suggest<'c>(
    name: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    candidates
        .filter(|c| *c != name)
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= if name.len() <= 4 { 1 } else { 2 } && *d < c.len().min(name.len()))
        .min()
        .map(|(_, c)| c)
}
