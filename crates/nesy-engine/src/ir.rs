//! The compiled form of rules: relations by id, variables by number,
//! constants interned. Planning and evaluation work on this, never on the
//! syntax tree; other backends (`nesy-dataflow`) read it through
//! [`crate::Program::compiled`].
//!
//! ```
//! use nesy_engine::Program;
//! use nesy_engine::ir::Lit;
//!
//! let checked = nesy_lang::check_source("p.nesy", "e(1, 2). p(X) :- e(X, _).");
//! let mut program = Program::new();
//! program.add_source(&checked.source, &checked.program)?;
//! let compiled = program.compiled()?;
//! assert_eq!(compiled.rules.len(), 1);
//! assert!(matches!(compiled.rules[0].body[0], Lit::Atom { .. }));
//! # Ok::<(), nesy_engine::Error>(())
//! ```

pub use crate::eval::{binary_op, compare_values, negate};
use crate::foreign::ForeignPredicate;
use nesy_lang::Location;
use nesy_lang::ast::{AggregateFn, BinOp, CmpOp};
use std::sync::Arc;

/// A relation's index in [`crate::Program`].
pub type RelId = usize;
/// A variable's slot in a rule's binding frame.
pub type Var = usize;

/// An expression over bound variables.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A variable's value.
    Var(Var),
    /// An interned constant ([`crate::Interner::value`]).
    Const(u32),
    /// `lhs op rhs`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `-e`.
    Neg(Box<Expr>),
}

impl Expr {
    /// Pushes the variables the expression reads onto `out`.
    pub fn vars(&self, out: &mut Vec<Var>) {
        match self {
            Expr::Var(v) => out.push(*v),
            Expr::Const(_) => {}
            Expr::Binary(_, l, r) => {
                l.vars(out);
                r.vars(out);
            }
            Expr::Neg(e) => e.vars(out),
        }
    }
}

/// One argument of a body atom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A variable.
    Var(Var),
    /// An interned constant.
    Const(u32),
    /// `_`: any value.
    Wild,
}

/// A body literal.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    /// `rel(args...)`: a row of the relation matches.
    Atom {
        /// The relation.
        rel: RelId,
        /// One per column.
        args: Vec<Arg>,
    },
    /// `not rel(args...)`: no row matches (its variables are bound before).
    Neg {
        /// The relation.
        rel: RelId,
        /// One per column.
        args: Vec<Arg>,
    },
    /// `lhs op rhs`; `=` with one side an unbound variable binds it.
    Cmp {
        /// The comparison.
        op: CmpOp,
        /// Left side.
        lhs: Expr,
        /// Right side.
        rhs: Expr,
    },
    /// `R = f { terms : body }`.
    Agg(Box<Aggregate>),
    /// `model.method(inputs..., outputs...)`: a learned model's answers.
    Call(Box<Call>),
}

/// A model call: inputs are bound before it runs; outputs bind or check.
#[derive(Clone)]
pub struct Call {
    /// The `@model` name.
    pub model_name: String,
    /// The model.
    pub model: Arc<dyn ForeignPredicate>,
    /// The method called.
    pub method: String,
    /// Arguments the model reads.
    pub inputs: Vec<Arg>,
    /// Arguments the model's answers bind or check.
    pub outputs: Vec<Arg>,
    /// The answers of one call exclude each other ([`crate::Signature`]).
    pub exclusive: bool,
}

impl PartialEq for Call {
    fn eq(&self, other: &Self) -> bool {
        self.model_name == other.model_name
            && self.method == other.method
            && self.inputs == other.inputs
            && self.outputs == other.outputs
            && Arc::ptr_eq(&self.model, &other.model)
    }
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("model", &self.model_name)
            .field("method", &self.method)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish()
    }
}

impl Lit {
    /// Variables the literal mentions (for aggregates: only the result and
    /// the grouping variables, which are what the rest of the rule sees).
    pub fn outer_vars(&self) -> Vec<Var> {
        let mut out = Vec::new();
        match self {
            Lit::Atom { args, .. } | Lit::Neg { args, .. } => {
                out.extend(args.iter().filter_map(|a| match a {
                    Arg::Var(v) => Some(*v),
                    _ => None,
                }));
            }
            Lit::Cmp { lhs, rhs, .. } => {
                lhs.vars(&mut out);
                rhs.vars(&mut out);
            }
            Lit::Agg(a) => {
                out.push(a.result);
                out.extend(&a.group);
            }
            Lit::Call(c) => {
                out.extend(c.inputs.iter().chain(&c.outputs).filter_map(|a| match a {
                    Arg::Var(v) => Some(*v),
                    _ => None,
                }));
            }
        }
        out
    }
}

/// A positive atom with each `_` made a fresh variable (its name pushed
/// onto `var_names`), so that a binding of the body names the whole tuple.
pub(crate) fn name_wildcards(args: &[Arg], var_names: &mut Vec<String>) -> Vec<Arg> {
    args.iter()
        .map(|a| match a {
            Arg::Wild => {
                var_names.push(format!("_{}", var_names.len()));
                Arg::Var(var_names.len() - 1)
            }
            other => *other,
        })
        .collect()
}

/// The tuple an atom's arguments make under bindings, if every argument is
/// bound (`_` never is).
pub(crate) fn ground_args(args: &[Arg], value_of: &dyn Fn(Var) -> Option<u32>) -> Option<Vec<u32>> {
    args.iter()
        .map(|a| match a {
            Arg::Const(c) => Some(*c),
            Arg::Var(v) => value_of(*v),
            Arg::Wild => None,
        })
        .collect()
}

/// `R = f { terms : body }`, grouped by `group`.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    /// The variable the result binds (or checks, when bound before).
    pub result: Var,
    /// The function.
    pub function: AggregateFn,
    /// The aggregated terms (`count` may have several: distinct tuples).
    pub terms: Vec<Expr>,
    /// The literals whose bindings are aggregated.
    pub body: Vec<Lit>,
    /// Variables of the aggregate the rest of the rule also mentions.
    pub group: Vec<Var>,
}

/// A compiled rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The relation it derives.
    pub head: RelId,
    /// One expression per head column.
    pub head_args: Vec<Expr>,
    /// The body's literals, as written.
    pub body: Vec<Lit>,
    /// Variable names by number (`_N` for wildcards named by the compiler).
    pub var_names: Vec<String>,
    /// `@name(...)`, if given.
    pub name: Option<String>,
    /// Where the rule is written, for statistics and errors.
    pub location: Location,
}

impl Rule {
    /// How many variables the rule has.
    pub fn num_vars(&self) -> usize {
        self.var_names.len()
    }

    /// Whether the body (aggregates' bodies included) calls the model `name`.
    pub fn calls_model(&self, name: &str) -> bool {
        fn calls(body: &[Lit], name: &str) -> bool {
            body.iter().any(|lit| match lit {
                Lit::Call(call) => call.model_name == name,
                Lit::Agg(aggregate) => calls(&aggregate.body, name),
                _ => false,
            })
        }
        calls(&self.body, name)
    }

    /// The relations the body reads, and whether each is read under `not` or
    /// an aggregate (which needs it complete first).
    pub fn dependencies(&self) -> Vec<(RelId, bool)> {
        fn walk(body: &[Lit], inside_aggregate: bool, out: &mut Vec<(RelId, bool)>) {
            for lit in body {
                match lit {
                    Lit::Atom { rel, .. } => out.push((*rel, inside_aggregate)),
                    Lit::Neg { rel, .. } => out.push((*rel, true)),
                    Lit::Cmp { .. } | Lit::Call(_) => {}
                    Lit::Agg(a) => walk(&a.body, true, out),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.body, false, &mut out);
        out
    }
}

/// What the evaluator knows of a relation.
#[derive(Clone, Debug, PartialEq)]
pub struct RelationInfo {
    /// The name as first written.
    pub name: String,
    /// Columns (`usize::MAX` while not known).
    pub arity: usize,
}

impl RelationInfo {
    /// The columns its store has (an arity not known yet, `usize::MAX`,
    /// stores none).
    pub fn stored_arity(&self) -> usize {
        if self.arity == usize::MAX {
            0
        } else {
            self.arity
        }
    }
}

/// Comparison of two numbers or values: `CmpOp` applied to an ordering.
pub fn cmp_holds(op: CmpOp, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        CmpOp::Eq => ord == Equal,
        CmpOp::Ne => ord != Equal,
        CmpOp::Lt => ord == Less,
        CmpOp::Le => ord != Greater,
        CmpOp::Gt => ord == Greater,
        CmpOp::Ge => ord != Less,
    }
}
