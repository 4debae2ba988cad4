//! The typed syntax tree of a rule file. Every node keeps its [`Span`].
//!
//! ```
//! use nesy_lang::{parse, ast::Item};
//!
//! let parsed = parse("ancestor(X, Y) :- parent(X, Y).");
//! assert!(parsed.diagnostics.is_empty());
//! let Item::Clause(rule) = &parsed.program.items[0] else { unreachable!() };
//! assert_eq!(rule.head.relation.text, "ancestor");
//! assert_eq!(rule.body.len(), 1);
//! ```

use serde::Serialize;
use std::fmt;

/// A byte range in the source text, `start..end`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span that covers both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span covers no bytes.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        (span.start, span.len()).into()
    }
}

/// A parsed rule file: its items in source order and its comments.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Program {
    /// Top-level items in the order they appear.
    pub items: Vec<Item>,
    /// Every comment in the file, in source order (the formatter keeps them).
    pub comments: Vec<Comment>,
}

/// A `//` or `/* */` comment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Comment {
    /// The comment as written, delimiters included.
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// One top-level item of a rule file.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    /// `@prefix ex: <http://example.org/>.`
    Prefix(PrefixDecl),
    /// `@import ...`
    Import(ImportDecl),
    /// `@decl rel(field: type, ...).`
    Decl(RelationDecl),
    /// `@model name = "path".`
    Model(ModelDecl),
    /// `@input rel, ....`: relations a request may add facts to.
    Input(InputDecl),
    /// A fact or a rule.
    Clause(Clause),
    /// `?- goal.`
    Query(Query),
    /// `@test "name" { ... }`
    Test(TestBlock),
}

impl Item {
    /// The span of the whole item.
    pub fn span(&self) -> Span {
        match self {
            Item::Prefix(d) => d.span,
            Item::Import(d) => d.span,
            Item::Decl(d) => d.span,
            Item::Model(d) => d.span,
            Item::Input(d) => d.span,
            Item::Clause(c) => c.span,
            Item::Query(q) => q.span,
            Item::Test(t) => t.span,
        }
    }
}

/// A name as written (identifier, prefixed name), with its span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Name {
    /// The text as written.
    pub text: String,
    /// Where it is.
    pub span: Span,
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A string literal: its decoded value and its text as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StringLit {
    /// The decoded value (escapes resolved).
    pub value: String,
    /// The literal as written, quotes included.
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// `@prefix label: <iri>.`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrefixDecl {
    /// The label without the colon (`ex`; empty for the default prefix).
    pub label: Name,
    /// The namespace IRI, without angle brackets.
    pub iri: String,
    /// Where the IRI is written.
    pub iri_span: Span,
    /// The whole declaration.
    pub span: Span,
}

/// `@import [relation from] source.`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportDecl {
    /// The relation the rows go into; `None` for RDF imports (triples become
    /// facts named by their predicates).
    pub relation: Option<Name>,
    /// What is imported.
    pub source: ImportSource,
    /// The whole declaration.
    pub span: Span,
}

/// Where an `@import` reads from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ImportSource {
    /// A file: RDF (`.ttl`, `.nt`, ...) or a table (`.csv`, `.tsv`, `.facts`).
    File(StringLit),
    /// An on-disk knowledge-graph store: `store("DIR")`.
    Store(StringLit),
    /// The rows of a SPARQL SELECT: `sparql("SELECT ...")`.
    Sparql(StringLit),
}

/// `@decl rel(field: type, ...).`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RelationDecl {
    /// The declared relation.
    pub relation: Name,
    /// Its fields, in argument order.
    pub fields: Vec<Field>,
    /// The whole declaration.
    pub span: Span,
}

/// One `name: type` of a declaration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Field {
    /// The field name (used for JSON input objects).
    pub name: Name,
    /// The type name as written; the checker resolves it to a [`crate::ValueType`].
    pub ty: Name,
}

/// `@model name = "path".`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelDecl {
    /// The name rules call it by.
    pub name: Name,
    /// The model file.
    pub path: StringLit,
    /// The whole declaration.
    pub span: Span,
}

/// `@input rel, ....`: the relations a decision request may add facts to.
/// Without any `@input`, requests may add facts to the relations no rule
/// derives; with one, to the relations listed and no others.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InputDecl {
    /// The relations, as written.
    pub relations: Vec<Name>,
    /// The whole declaration.
    pub span: Span,
}

/// A fact (no body) or a rule, optionally named and weighted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Clause {
    /// `@name(...)`, shown in every proof that uses the rule.
    pub name: Option<Name>,
    /// `p :: ...`: the probability of a fact or the weight of a rule.
    pub probability: Option<Probability>,
    /// The head atom.
    pub head: Atom,
    /// The body literals; empty for a fact.
    pub body: Vec<Literal>,
    /// The whole clause, from its name to the final `.`.
    pub span: Span,
    /// One head of an annotated disjunction, `p1 :: h1; p2 :: h2 :- body.`:
    /// each head is a clause of its own, sharing the name, body and span.
    pub choice: Option<Choice>,
}

/// Where a clause sits in an annotated disjunction: its heads are
/// mutually exclusive (at most one holds for each ground instance of the
/// body), with the probabilities written.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Choice {
    /// This clause's head among `heads`.
    pub position: usize,
    /// Every head of the disjunction, in order (shared by its clauses).
    pub heads: std::sync::Arc<[Alternative]>,
}

/// One head of an annotated disjunction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alternative {
    /// Its probability (required; the checker reports a missing one).
    pub probability: Option<Probability>,
    /// The head atom.
    pub head: Atom,
}

impl Clause {
    /// Whether the clause is a fact (has no body).
    pub fn is_fact(&self) -> bool {
        self.body.is_empty()
    }
}

/// The `p` of `p :: ...`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Probability {
    /// Its value: as written, the initial value of `t(p)`, and 0.5 for
    /// `t(_)` until training draws one.
    pub value: f64,
    /// Fixed or learned.
    pub kind: ProbabilityKind,
    /// As written (normalised: `0.3`, `t(0.3)`, `t(_)`).
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// Whether a probability is written or learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ProbabilityKind {
    /// `0.3`: as written.
    Fixed,
    /// `t(0.3)`: learned, starting from the value written.
    Tunable,
    /// `t(_)`: learned, starting from a value drawn from the seed.
    Seeded,
}

impl Probability {
    /// Whether training may change it (`t(...)`).
    pub fn is_tunable(&self) -> bool {
        self.kind != ProbabilityKind::Fixed
    }
}

/// `relation(arg, ...)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Atom {
    /// The relation name as written (`parent`, `ex:parent`).
    pub relation: Name,
    /// The arguments.
    pub args: Vec<Expr>,
    /// Where it is.
    pub span: Span,
}

/// One conjunct of a rule body or query.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Literal {
    /// A positive atom.
    Atom(Atom),
    /// `not atom`.
    Negation(Negation),
    /// `lhs op rhs`.
    Comparison(Comparison),
    /// `V = count { ... : ... }`.
    Aggregate(Aggregate),
    /// `model.method(args)` used as a relation.
    ModelCall(ModelCall),
}

impl Literal {
    /// Where the literal is.
    pub fn span(&self) -> Span {
        match self {
            Literal::Atom(a) => a.span,
            Literal::Negation(n) => n.span,
            Literal::Comparison(c) => c.span,
            Literal::Aggregate(a) => a.span,
            Literal::ModelCall(m) => m.span,
        }
    }
}

/// `not atom` or `not model.method(...)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Negation {
    /// What must not hold.
    pub target: NegationTarget,
    /// The whole literal, `not` included.
    pub span: Span,
}

/// What a negation negates.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NegationTarget {
    /// A relation.
    Atom(Atom),
    /// A model used as a relation.
    ModelCall(ModelCall),
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    /// `=` (also binds a variable to the other side's value)
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// `lhs op rhs`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// Left side.
    pub lhs: Expr,
    /// Operator.
    pub op: CmpOp,
    /// Right side.
    pub rhs: Expr,
    /// The whole comparison.
    pub span: Span,
}

/// Aggregate functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateFn {
    /// Number of distinct bindings.
    Count,
    /// Sum of the first term over distinct bindings.
    Sum,
    /// Smallest value of the first term.
    Min,
    /// Largest value of the first term.
    Max,
    /// Arithmetic mean of the first term over distinct bindings.
    Mean,
}

impl AggregateFn {
    /// The function's name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateFn::Count => "count",
            AggregateFn::Sum => "sum",
            AggregateFn::Min => "min",
            AggregateFn::Max => "max",
            AggregateFn::Mean => "mean",
        }
    }
}

/// `Result = fn { terms : body }`: the terms are aggregated over the distinct
/// bindings of all of them; variables shared with the rest of the rule group
/// the result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Aggregate {
    /// The variable that receives the result.
    pub result: Variable,
    /// The function.
    pub function: AggregateFn,
    /// The aggregated terms; the first is the value for `sum`, `min`, `max`, `mean`.
    pub terms: Vec<Expr>,
    /// The conjunction aggregated over.
    pub body: Vec<Literal>,
    /// The whole literal.
    pub span: Span,
}

/// `model.method(args)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelCall {
    /// The model's name from `@model`.
    pub model: Name,
    /// The method (`predict`, `score`, `top`, ...).
    pub method: Name,
    /// The arguments.
    pub args: Vec<Expr>,
    /// The whole call.
    pub span: Span,
}

/// A variable; `_` is anonymous.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

impl Variable {
    /// `_`, a fresh variable at each occurrence.
    pub fn is_anonymous(&self) -> bool {
        self.name == "_"
    }

    /// `_` or `_Name`: exempt from the singleton warning and free to stand for
    /// any value under `not`.
    pub fn is_wildcard(&self) -> bool {
        self.name.starts_with('_')
    }
}

/// Arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }

    /// Binding strength: `*`, `/`, `%` bind tighter than `+`, `-`.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Add | BinOp::Sub => 1,
            BinOp::Mul | BinOp::Div | BinOp::Rem => 2,
        }
    }
}

/// A term or an arithmetic expression.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expr {
    /// A variable.
    Var(Variable),
    /// A constant.
    Const(Constant),
    /// `lhs op rhs`.
    Binary {
        /// Operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
        /// The whole expression.
        span: Span,
    },
    /// `-expr` (a minus before a number literal is folded into the constant).
    Neg {
        /// The negated expression.
        inner: Box<Expr>,
        /// The whole expression.
        span: Span,
    },
    /// A model called for its value: `credit.predict(A)`.
    ModelCall(ModelCall),
}

impl Expr {
    /// Where the expression is.
    pub fn span(&self) -> Span {
        match self {
            Expr::Var(v) => v.span,
            Expr::Const(c) => c.span,
            Expr::Binary { span, .. } | Expr::Neg { span, .. } => *span,
            Expr::ModelCall(m) => m.span,
        }
    }

    /// Calls `f` on every variable in the expression, left to right.
    pub fn for_each_var<'a>(&'a self, f: &mut dyn FnMut(&'a Variable)) {
        match self {
            Expr::Var(v) => f(v),
            Expr::Const(_) => {}
            Expr::Binary { lhs, rhs, .. } => {
                lhs.for_each_var(f);
                rhs.for_each_var(f);
            }
            Expr::Neg { inner, .. } => inner.for_each_var(f),
            Expr::ModelCall(m) => m.args.iter().for_each(|a| a.for_each_var(f)),
        }
    }

    /// The variable, if the expression is just one.
    pub fn as_var(&self) -> Option<&Variable> {
        match self {
            Expr::Var(v) => Some(v),
            _ => None,
        }
    }
}

/// A constant value with its text as written.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Constant {
    /// The value.
    pub value: ConstValue,
    /// As written (the formatter prints this, so `1.50` stays `1.50`).
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// The value of a constant.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum ConstValue {
    /// A lowercase identifier, `alice`.
    Symbol(String),
    /// A `"string"`.
    String(String),
    /// A 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `<http://...>`, without the brackets.
    Iri(String),
    /// `prefix:local`, expanded by the checker with the file's prefixes.
    Prefixed {
        /// The prefix label (may be empty).
        prefix: String,
        /// The local part.
        local: String,
    },
}

/// `?- body.`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Query {
    /// The goal.
    pub body: Vec<Literal>,
    /// The whole query.
    pub span: Span,
}

/// `@test "name" { given { facts } expectations }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestBlock {
    /// The test's name.
    pub name: StringLit,
    /// Its entries in source order.
    pub entries: Vec<TestEntry>,
    /// The whole block.
    pub span: Span,
}

/// One entry of a test block.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TestEntry {
    /// `given { clauses }`: facts (and rules) added for this test only.
    Given(Given),
    /// `atom.` must hold; `not atom.` must not.
    Expect(Expectation),
}

/// `given { clauses }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Given {
    /// The extra clauses.
    pub clauses: Vec<Clause>,
    /// The whole block.
    pub span: Span,
}

/// An expectation of a test.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expectation {
    /// `true` for `not atom.` (must not hold).
    pub negated: bool,
    /// `prob(atom) = p +- e.`: the probability it must have.
    pub probability: Option<ExpectedProbability>,
    /// The atom; its variables are existential.
    pub atom: Atom,
    /// The whole expectation.
    pub span: Span,
}

/// The `= p +- e` of `prob(atom) = p +- e.`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpectedProbability {
    /// The probability expected.
    pub value: f64,
    /// How far off it may be (`1e-9` when not written).
    pub tolerance: f64,
    /// `p` as written.
    pub text: String,
    /// `e` as written, if it is.
    pub tolerance_text: Option<String>,
}
