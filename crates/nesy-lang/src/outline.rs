//! Where a program names its relations, models and prefixes: each
//! occurrence with what it does there (defines, declares, reads), for
//! editors' hover, go to definition, references and symbols.
//!
//! ```
//! use nesy_lang::{parse, outline::{occurrences, Role, SymbolKind}};
//!
//! let program = parse("edge(1, 2).\npath(X, Y) :- edge(X, Y).\n").program;
//! let found = occurrences(&program);
//! let edge: Vec<Role> = found
//!     .iter()
//!     .filter(|o| o.kind == SymbolKind::Relation && o.name == "edge")
//!     .map(|o| o.role)
//!     .collect();
//! assert_eq!(edge, [Role::Fact, Role::Read]);
//! ```

use crate::ast::*;
use crate::walk::{all_clauses, for_each_atom, for_each_expr};

/// What a name names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    /// A relation.
    Relation,
    /// A model of `@model`.
    Model,
    /// A prefix of `@prefix`.
    Prefix,
}

/// What an occurrence does with its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The head of a fact.
    Fact,
    /// The head of a rule.
    Rule,
    /// `@decl`.
    Decl,
    /// The relation of an `@import`.
    Import,
    /// `@input`.
    Input,
    /// `@model name = ...` or `@prefix label: ...`.
    Declared,
    /// Read in a body, a query or a test's expectation; a model called.
    Read,
}

impl Role {
    /// Whether the occurrence defines or declares its name (where "go to
    /// definition" goes).
    pub fn defines(self) -> bool {
        !matches!(self, Role::Read | Role::Input)
    }
}

/// One name in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// What it names.
    pub kind: SymbolKind,
    /// The name as written (`ex:parent`, `credit`, `ex`).
    pub name: String,
    /// Where the name is written.
    pub span: Span,
    /// The whole item it is part of (the clause, the declaration).
    pub item: Span,
    /// What the occurrence does.
    pub role: Role,
    /// The number of arguments written, where there are some (an atom, a
    /// `@decl`).
    pub arity: Option<usize>,
}

/// Every occurrence of a relation, model or prefix name, in source order.
pub fn occurrences(program: &Program) -> Vec<Occurrence> {
    let mut out = Vec::new();
    let mut push = |kind, name: &Name, item: Span, role, arity| {
        out.push(Occurrence {
            kind,
            name: name.text.clone(),
            span: name.span,
            item,
            role,
            arity,
        })
    };
    for item in &program.items {
        match item {
            Item::Prefix(p) => push(SymbolKind::Prefix, &p.label, p.span, Role::Declared, None),
            Item::Import(i) => {
                if let Some(r) = &i.relation {
                    push(SymbolKind::Relation, r, i.span, Role::Import, None);
                }
            }
            Item::Decl(d) => push(
                SymbolKind::Relation,
                &d.relation,
                d.span,
                Role::Decl,
                Some(d.fields.len()),
            ),
            Item::Model(m) => push(SymbolKind::Model, &m.name, m.span, Role::Declared, None),
            Item::Input(i) => {
                for r in &i.relations {
                    push(SymbolKind::Relation, r, i.span, Role::Input, None);
                }
            }
            Item::Query(q) => body(&q.body, q.span, &mut push),
            Item::Test(t) => {
                for entry in &t.entries {
                    if let TestEntry::Expect(e) = entry {
                        push(
                            SymbolKind::Relation,
                            &e.atom.relation,
                            t.span,
                            Role::Read,
                            Some(e.atom.args.len()),
                        );
                    }
                }
            }
            Item::Clause(_) => {}
        }
    }
    for clause in all_clauses(program) {
        let role = if clause.body.is_empty() {
            Role::Fact
        } else {
            Role::Rule
        };
        match &clause.choice {
            Some(choice) => {
                // An annotated disjunction: every head once, at its first clause.
                if choice.position == 0 {
                    for alt in choice.heads.iter() {
                        let arity = Some(alt.head.args.len());
                        push(
                            SymbolKind::Relation,
                            &alt.head.relation,
                            clause.span,
                            role,
                            arity,
                        );
                    }
                }
            }
            None => push(
                SymbolKind::Relation,
                &clause.head.relation,
                clause.span,
                role,
                Some(clause.head.args.len()),
            ),
        }
        body(&clause.body, clause.span, &mut push);
        let mut models = Vec::new();
        for arg in &clause.head.args {
            model_calls(arg, &mut models);
        }
        for m in models {
            push(SymbolKind::Model, m, clause.span, Role::Read, None);
        }
    }
    out.sort_by_key(|o| (o.span.start, o.span.end));
    out.dedup();
    out
}

/// The relations a body reads and the models it calls.
fn body(
    literals: &[Literal],
    item: Span,
    push: &mut impl FnMut(SymbolKind, &Name, Span, Role, Option<usize>),
) {
    for_each_atom(literals, &mut |a| {
        push(
            SymbolKind::Relation,
            &a.relation,
            item,
            Role::Read,
            Some(a.args.len()),
        )
    });
    let mut models = Vec::new();
    for literal in literals {
        match literal {
            Literal::ModelCall(m)
            | Literal::Negation(Negation {
                target: NegationTarget::ModelCall(m),
                ..
            }) => models.push(&m.model),
            _ => {}
        }
    }
    for_each_expr(literals, &mut |e| model_calls(e, &mut models));
    for m in models {
        push(SymbolKind::Model, m, item, Role::Read, None);
    }
}

/// The models an expression calls, inner calls included.
fn model_calls<'a>(expr: &'a Expr, out: &mut Vec<&'a Name>) {
    match expr {
        Expr::ModelCall(m) => {
            out.push(&m.model);
            m.args.iter().for_each(|a| model_calls(a, out));
        }
        Expr::Binary { lhs, rhs, .. } => {
            model_calls(lhs, out);
            model_calls(rhs, out);
        }
        Expr::Neg { inner, .. } => model_calls(inner, out),
        Expr::Var(_) | Expr::Const(_) => {}
    }
}
