//! The checker: everything that can be known about a program before it runs.
//!
//! It reports, all in one run: unknown prefixes and models, duplicate models,
//! declarations, rule and test names; unsafe variables; negation or
//! aggregation through recursion (naming the cycle); relations used with two
//! arities; values that clash with `@decl` types; probabilities outside
//! [0, 1]; missing import files; and warnings for singleton variables and for
//! relations used but never defined.
//!
//! ```
//! use nesy_lang::check_source;
//!
//! let checked = check_source("neg.nesy", "p(X) :- q(X), not p(X).\nq(a).");
//! let codes: Vec<_> = checked.diagnostics.iter().map(|d| d.code).collect();
//! assert_eq!(codes, ["not-stratifiable"]);
//! assert!(checked.diagnostics[0].help.as_deref().unwrap().contains("p -> not p"));
//! ```

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::walk::{all_clauses, for_each_atom, for_each_expr, suggest, variables};
use petgraph::algo::{astar, has_path_connecting};
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// Prefixes every file knows without declaring them.
pub const BUILTIN_PREFIXES: &[(&str, &str)] = &[
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
];

/// File extensions `@import` reads as tables (`rel from "file"` required).
pub const TABLE_FORMATS: &[&str] = &["csv", "tsv", "facts"];
/// File extensions `@import` reads as RDF.
pub const RDF_FORMATS: &[&str] = &["ttl", "nt", "nq", "trig", "rdf", "owl", "xml", "n3"];

/// The type of a declared field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// An identifier-like constant, `alice`.
    Symbol,
    /// A `"string"`.
    String,
    /// A 64-bit integer.
    Int,
    /// A 64-bit float (integers are accepted too).
    Float,
    /// An integer or a float.
    Number,
    /// `true` / `false`.
    Bool,
    /// An IRI, `<...>` or `prefix:local`.
    Iri,
    /// Anything.
    Any,
}

impl ValueType {
    /// All type names, as written in `@decl`.
    pub const NAMES: &'static [&'static str] = &[
        "symbol", "string", "int", "float", "number", "bool", "iri", "any",
    ];

    /// The type named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "symbol" => ValueType::Symbol,
            "string" => ValueType::String,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "number" => ValueType::Number,
            "bool" => ValueType::Bool,
            "iri" => ValueType::Iri,
            "any" => ValueType::Any,
            _ => return None,
        })
    }

    /// The broad kind values of this type belong to; two types clash when
    /// their kinds differ (`int` and `float` are both numeric).
    fn kind(self) -> Option<&'static str> {
        match self {
            ValueType::Symbol => Some("symbol"),
            ValueType::String => Some("string"),
            ValueType::Int | ValueType::Float | ValueType::Number => Some("number"),
            ValueType::Bool => Some("bool"),
            ValueType::Iri => Some("iri"),
            ValueType::Any => None,
        }
    }

    fn of_constant(value: &ConstValue) -> ValueType {
        match value {
            ConstValue::Symbol(_) => ValueType::Symbol,
            ConstValue::String(_) => ValueType::String,
            ConstValue::Int(_) => ValueType::Int,
            ConstValue::Float(_) => ValueType::Float,
            ConstValue::Bool(_) => ValueType::Bool,
            ConstValue::Iri(_) | ConstValue::Prefixed { .. } => ValueType::Iri,
        }
    }

    /// "a symbol", "an int", ...
    fn with_article(self) -> String {
        match self {
            ValueType::Int | ValueType::Iri | ValueType::Any => format!("an {self}"),
            _ => format!("a {self}"),
        }
    }

    /// Whether a constant of type `value` fits a field of this type.
    pub fn accepts(self, value: ValueType) -> bool {
        match (self, value) {
            (ValueType::Any, _) => true,
            (ValueType::Float | ValueType::Number, ValueType::Int | ValueType::Float) => true,
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ValueType::Symbol => "symbol",
            ValueType::String => "string",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Number => "number",
            ValueType::Bool => "bool",
            ValueType::Iri => "iri",
            ValueType::Any => "any",
        };
        f.write_str(name)
    }
}

/// What the checker may look at besides the text.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// The directory relative `@import` and `@model` paths resolve against;
    /// `None` skips the checks that read the file system.
    pub base_dir: Option<PathBuf>,
}

/// How far over 1 the probabilities of an annotated disjunction may sum:
/// floating-point rounding, not a real excess.
const DISJUNCTION_SLACK: f64 = 1e-9;

/// Checks a parsed program; returns its diagnostics in source order.
pub fn check_program(program: &Program, options: &CheckOptions) -> Vec<Diagnostic> {
    let mut checker = Checker::new(program, options);
    checker.run();
    let mut diagnostics = checker.diagnostics;
    diagnostics.extend(crate::lints::lints(program));
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    said_once(diagnostics)
}

/// Diagnostics sorted by span, each said once: the heads of an annotated
/// disjunction share their body, and what is wrong with it is checked for
/// every head. Equal diagnostics have equal spans, so they are among the
/// last ones kept.
fn said_once(sorted: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut unique: Vec<Diagnostic> = Vec::with_capacity(sorted.len());
    for d in sorted {
        let known = unique
            .iter()
            .rev()
            .take_while(|u| u.span == d.span)
            .any(|u| *u == d);
        if !known {
            unique.push(d);
        }
    }
    unique
}

struct Checker<'a> {
    program: &'a Program,
    options: &'a CheckOptions,
    prefixes: HashMap<String, String>,
    models: HashMap<&'a str, Span>,
    decls: HashMap<String, (&'a RelationDecl, Vec<Option<ValueType>>)>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    fn new(program: &'a Program, options: &'a CheckOptions) -> Self {
        Checker {
            program,
            options,
            prefixes: BUILTIN_PREFIXES
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            models: HashMap::new(),
            decls: HashMap::new(),
            diagnostics: Vec::new(),
        }
    }

    fn run(&mut self) {
        self.directives();
        self.arities();
        let clauses: Vec<&Clause> = all_clauses(self.program).collect();
        for clause in &clauses {
            self.clause(clause);
        }
        for item in &self.program.items {
            match item {
                Item::Query(q) => {
                    self.names_in_literals(&q.body);
                    self.safety(None, &q.body, &HashSet::new());
                }
                Item::Test(t) => {
                    for entry in &t.entries {
                        if let TestEntry::Expect(e) = entry {
                            self.atom_names(&e.atom);
                            self.plain_arguments(&e.atom);
                            self.atom_types(&e.atom, &mut HashMap::new());
                            if let Some(p) = &e.probability {
                                self.expected_probability(e, p);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        self.disjunctions(&clauses);
        self.tunable_in_tests();
        self.duplicate_names(&clauses);
        self.stratification(&clauses);
        self.undefined_relations(&clauses);
    }

    fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// The key that identifies a relation: prefixed names are expanded so two
    /// spellings of the same IRI are one relation.
    fn relation_key(&self, name: &Name) -> String {
        match name.text.split_once(':') {
            Some((prefix, local)) => match self.prefixes.get(prefix) {
                Some(ns) => format!("<{ns}{local}>"),
                None => name.text.clone(),
            },
            None => name.text.clone(),
        }
    }

    // ---------------------------------------------------------- directives

    fn directives(&mut self) {
        let mut declared_prefixes: HashMap<&str, (&str, Span)> = HashMap::new();
        for item in &self.program.items {
            if let Item::Prefix(p) = item {
                if let Some((iri, first)) = declared_prefixes.get(p.label.text.as_str())
                    && *iri != p.iri
                {
                    let d = Diagnostic::warning(
                        "prefix-redefined",
                        p.label.span,
                        format!(
                            "prefix `{}:` is declared again with another IRI",
                            p.label.text
                        ),
                    )
                    .with_label("redeclared here")
                    .with_related(*first, "first declared here")
                    .with_help("the last declaration wins for the whole file");
                    self.push(d);
                }
                declared_prefixes.insert(&p.label.text, (&p.iri, p.label.span));
                self.prefixes.insert(p.label.text.clone(), p.iri.clone());
            }
        }
        for item in &self.program.items {
            match item {
                Item::Model(m) => self.model_decl(m),
                Item::Import(i) => self.import_decl(i),
                Item::Decl(d) => self.relation_decl(d),
                _ => {}
            }
        }
    }

    fn model_decl(&mut self, m: &'a ModelDecl) {
        if let Some(first) = self.models.get(m.name.text.as_str()) {
            let d = Diagnostic::error(
                "duplicate-model",
                m.name.span,
                format!("model `{}` is declared twice", m.name.text),
            )
            .with_label("declared again here")
            .with_related(*first, "first declared here")
            .with_help("give each model its own name");
            self.push(d);
            return;
        }
        self.models.insert(&m.name.text, m.name.span);
        if let Some(path) = self.resolve(&m.path.value)
            && !path.exists()
        {
            let d = Diagnostic::warning(
                    "model-not-found",
                    m.path.span,
                    format!("model file `{}` does not exist", m.path.value),
                )
                .with_label("not found")
                .with_help(format!(
                    "the path is relative to this file (it resolved to `{}`); train the model or fix the path",
                    path.display()
                ));
            self.push(d);
        }
    }

    fn resolve(&self, path: &str) -> Option<PathBuf> {
        self.options.base_dir.as_ref().map(|base| base.join(path))
    }

    fn import_decl(&mut self, i: &ImportDecl) {
        match &i.source {
            ImportSource::File(file) => {
                let path = Path::new(&file.value);
                let mut ext = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if ext == "gz" {
                    ext = Path::new(path.file_stem().unwrap_or_default())
                        .extension()
                        .and_then(|e| e.to_str())
                        .unwrap_or("")
                        .to_ascii_lowercase();
                }
                let is_table = TABLE_FORMATS.contains(&ext.as_str());
                let is_rdf = RDF_FORMATS.contains(&ext.as_str());
                if !is_table && !is_rdf {
                    let d = Diagnostic::error(
                        "import-format",
                        file.span,
                        format!("cannot import `{}`: unknown file format", file.value),
                    )
                    .with_label("unknown extension")
                    .with_help(format!(
                        "tables: .{}; RDF: .{} (each may end in .gz)",
                        TABLE_FORMATS.join(", ."),
                        RDF_FORMATS.join(", .")
                    ));
                    self.push(d);
                } else if is_table && i.relation.is_none() {
                    let d = Diagnostic::error(
                        "import-needs-relation",
                        file.span,
                        format!("a table import needs a relation to fill: `{}`", file.value),
                    )
                    .with_help(format!("write `@import name from {}.`", file.text));
                    self.push(d);
                }
                self.path_exists(file, "import file");
            }
            ImportSource::Store(dir) => self.path_exists(dir, "store directory"),
            ImportSource::Sparql(query) => {
                if query.value.trim().is_empty() {
                    self.push(Diagnostic::error(
                        "empty-sparql",
                        query.span,
                        "the SPARQL query is empty",
                    ));
                }
                if i.relation.is_none() {
                    let d = Diagnostic::error(
                        "import-needs-relation",
                        query.span,
                        "a SPARQL import needs a relation to fill",
                    )
                    .with_help("write `@import name from sparql(\"SELECT ...\").`");
                    self.push(d);
                }
            }
        }
        if let Some(rel) = &i.relation {
            self.relation_prefix(rel);
        }
    }

    fn path_exists(&mut self, lit: &StringLit, what: &str) {
        if let Some(path) = self.resolve(&lit.value)
            && !path.exists()
        {
            let d = Diagnostic::error(
                "import-not-found",
                lit.span,
                format!("{what} `{}` does not exist", lit.value),
            )
            .with_label("not found")
            .with_help(format!(
                "paths are relative to this file (this one resolved to `{}`)",
                path.display()
            ));
            self.push(d);
        }
    }

    fn relation_decl(&mut self, d: &'a RelationDecl) {
        self.relation_prefix(&d.relation);
        let key = self.relation_key(&d.relation);
        if let Some((first, _)) = self.decls.get(&key) {
            let diag = Diagnostic::error(
                "duplicate-decl",
                d.relation.span,
                format!("relation `{}` is declared twice", d.relation.text),
            )
            .with_label("declared again here")
            .with_related(first.relation.span, "first declared here");
            self.push(diag);
            return;
        }
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut types = Vec::new();
        for field in &d.fields {
            if let Some(first) = seen.insert(&field.name.text, field.name.span) {
                let diag = Diagnostic::error(
                    "duplicate-field",
                    field.name.span,
                    format!(
                        "field `{}` appears twice in `{}`",
                        field.name.text, d.relation.text
                    ),
                )
                .with_related(first, "first here");
                self.push(diag);
            }
            let ty = ValueType::from_name(&field.ty.text);
            if ty.is_none() {
                let mut diag = Diagnostic::error(
                    "unknown-type",
                    field.ty.span,
                    format!("unknown type `{}`", field.ty.text),
                )
                .with_label("not a type");
                if let Some(s) = suggest(&field.ty.text, ValueType::NAMES.iter().copied()) {
                    diag = diag.with_fix(field.ty.span, s);
                }
                diag = diag.with_help(
                    match suggest(&field.ty.text, ValueType::NAMES.iter().copied()) {
                        Some(s) => format!(
                            "did you mean `{s}`? the types are {}",
                            ValueType::NAMES.join(", ")
                        ),
                        None => format!("the types are {}", ValueType::NAMES.join(", ")),
                    },
                );
                self.push(diag);
            }
            types.push(ty);
        }
        self.decls.insert(key, (d, types));
    }

    // ---------------------------------------------------- names and arities

    fn relation_prefix(&mut self, name: &Name) {
        if let Some((prefix, _)) = name.text.split_once(':') {
            self.known_prefix(prefix, name.span);
        }
    }

    fn known_prefix(&mut self, prefix: &str, span: Span) {
        if !self.prefixes.contains_key(prefix) {
            let known: Vec<&str> = self.prefixes.keys().map(String::as_str).collect();
            let mut d = Diagnostic::error(
                "unknown-prefix",
                Span::new(span.start, span.start + prefix.len() + 1),
                format!("unknown prefix `{prefix}:`"),
            )
            .with_label("not declared");
            if let Some(s) = suggest(prefix, known.iter().copied()) {
                d = d.with_fix(Span::new(span.start, span.start + prefix.len()), s);
            }
            d = d.with_help(match suggest(prefix, known.iter().copied()) {
                Some(s) => {
                    format!("did you mean `{s}:`? or declare it: `@prefix {prefix}: <http://...>.`")
                }
                None => format!("declare it: `@prefix {prefix}: <http://...>.`"),
            });
            self.push(d);
        }
    }

    fn atom_names(&mut self, atom: &Atom) {
        self.relation_prefix(&atom.relation);
        for arg in &atom.args {
            self.expr_names(arg);
        }
    }

    fn expr_names(&mut self, expr: &Expr) {
        match expr {
            Expr::Const(Constant {
                value: ConstValue::Prefixed { prefix, .. },
                span,
                ..
            }) => self.known_prefix(prefix, *span),
            Expr::Binary { lhs, rhs, .. } => {
                self.expr_names(lhs);
                self.expr_names(rhs);
            }
            Expr::Neg { inner, .. } => self.expr_names(inner),
            Expr::ModelCall(m) => self.model_call(m),
            _ => {}
        }
    }

    fn model_call(&mut self, m: &ModelCall) {
        if !self.models.contains_key(m.model.text.as_str()) {
            let known: Vec<&str> = self.models.keys().copied().collect();
            let mut d = Diagnostic::error(
                "unknown-model",
                m.model.span,
                format!("unknown model `{}`", m.model.text),
            )
            .with_label("no @model of this name");
            if let Some(s) = suggest(&m.model.text, known.iter().copied()) {
                d = d.with_fix(m.model.span, s);
            }
            d = d.with_help(match suggest(&m.model.text, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("declare it: `@model {} = \"path/to/model\".`", m.model.text),
            });
            self.push(d);
        }
        for arg in &m.args {
            self.expr_names(arg);
        }
    }

    fn names_in_literals(&mut self, literals: &[Literal]) {
        for literal in literals {
            match literal {
                Literal::Atom(a) => self.atom_names(a),
                Literal::Negation(n) => match &n.target {
                    NegationTarget::Atom(a) => self.atom_names(a),
                    NegationTarget::ModelCall(m) => self.model_call(m),
                },
                Literal::ModelCall(m) => self.model_call(m),
                Literal::Comparison(c) => {
                    self.expr_names(&c.lhs);
                    self.expr_names(&c.rhs);
                }
                Literal::Aggregate(agg) => {
                    for t in &agg.terms {
                        self.expr_names(t);
                    }
                    self.names_in_literals(&agg.body);
                }
            }
        }
    }

    /// Every relation must be used with one arity everywhere.
    fn arities(&mut self) {
        let mut first: HashMap<String, (usize, Span, &'static str)> = HashMap::new();
        for (key, (decl, _)) in &self.decls {
            first.insert(
                key.clone(),
                (decl.fields.len(), decl.relation.span, "declared"),
            );
        }
        let mut uses: Vec<&Atom> = Vec::new();
        for item in &self.program.items {
            match item {
                Item::Query(q) => for_each_atom(&q.body, &mut |a| uses.push(a)),
                Item::Test(t) => {
                    for entry in &t.entries {
                        match entry {
                            TestEntry::Expect(e) => uses.push(&e.atom),
                            TestEntry::Given(g) => {
                                for c in &g.clauses {
                                    uses.push(&c.head);
                                    for_each_atom(&c.body, &mut |a| uses.push(a));
                                }
                            }
                        }
                    }
                }
                Item::Clause(c) => {
                    uses.push(&c.head);
                    for_each_atom(&c.body, &mut |a| uses.push(a));
                }
                _ => {}
            }
        }
        uses.sort_by_key(|a| a.span.start);
        for atom in uses {
            let key = self.relation_key(&atom.relation);
            let arity = atom.args.len();
            match first.get(&key) {
                None => {
                    first.insert(key, (arity, atom.span, "first used"));
                }
                Some((expected, span, how)) if *expected != arity => {
                    let d = Diagnostic::error(
                        "arity-mismatch",
                        atom.span,
                        format!(
                            "relation `{}` is used with {} here but {} with {}",
                            atom.relation.text,
                            plural(arity, "argument"),
                            how,
                            plural(*expected, "argument"),
                        ),
                    )
                    .with_label(format!("{} here", plural(arity, "argument")))
                    .with_related(*span, format!("{how} with {}", plural(*expected, "argument")))
                    .with_help("a relation has one arity everywhere; rename one of them if they are different relations");
                    self.push(d);
                }
                Some(_) => {}
            }
        }
    }

    // -------------------------------------------------------------- clauses

    fn clause(&mut self, clause: &Clause) {
        if let Some(p) = &clause.probability {
            self.probability(p);
        }
        self.atom_names(&clause.head);
        self.names_in_literals(&clause.body);
        for arg in &clause.head.args {
            if let Expr::ModelCall(m) = arg {
                let d = Diagnostic::error(
                    "model-in-head",
                    m.span,
                    "a model call cannot stand in a rule head",
                )
                .with_help(
                    "call it in the body and bind its value to a variable: `V = model.method(...)`",
                );
                self.push(d);
            }
        }
        let unsafe_vars = self.safety(Some(&clause.head), &clause.body, &HashSet::new());
        if !clause.is_fact() {
            self.singletons(clause, &unsafe_vars);
        }
        let mut var_types = HashMap::new();
        self.atom_types(&clause.head, &mut var_types);
        for_each_atom(&clause.body, &mut |a| self.atom_types(a, &mut var_types));
        let mut arithmetic = Vec::new();
        if !clause.head.args.is_empty() {
            collect_arithmetic(&clause.head.args, &mut arithmetic);
        }
        for_each_expr(&clause.body, &mut |e| {
            collect_arithmetic(std::slice::from_ref(e), &mut arithmetic)
        });
        for operand in arithmetic {
            self.numeric_operand(operand, &var_types);
        }
    }

    /// Safety of a body (and head): every variable in the head, under `not`,
    /// in a comparison or in an expression must be bound by a positive atom
    /// or an assignment. Returns the names reported as unsafe.
    fn safety(
        &mut self,
        head: Option<&Atom>,
        body: &[Literal],
        outer: &HashSet<String>,
    ) -> HashSet<String> {
        let mut reported: HashSet<String> = HashSet::new();
        for literal in body {
            if let Literal::Atom(a) = literal {
                self.plain_arguments(a);
            }
            if let Literal::Negation(Negation {
                target: NegationTarget::Atom(a),
                ..
            }) = literal
            {
                self.plain_arguments(a);
            }
        }
        // Variables the rest of the clause mentions, per aggregate, to know
        // which aggregate variables group the result.
        let mut outside_counts: HashMap<String, usize> = HashMap::new();
        if let Some(h) = head {
            for arg in &h.args {
                arg.for_each_var(&mut |v| *outside_counts.entry(v.name.clone()).or_default() += 1);
            }
        }
        for v in variables(body) {
            *outside_counts.entry(v.name).or_default() += 1;
        }

        let bound = bound_variables(body, outer, &outside_counts);

        let unsafe_var =
            |this: &mut Self, reported: &mut HashSet<String>, v: &Variable, d: Diagnostic| {
                if reported.insert(v.name.clone()) {
                    this.push(d);
                }
            };

        if let Some(h) = head {
            let is_fact = body.is_empty();
            for arg in &h.args {
                arg.for_each_var(&mut |v| {
                    if v.is_anonymous() {
                        let d = Diagnostic::error(
                            "anonymous-in-head",
                            v.span,
                            "anonymous variable `_` in the head",
                        )
                        .with_label("no value for this position")
                        .with_help("use a constant, or a named variable the body binds");
                        self.push(d);
                    } else if !bound.contains(&v.name) {
                        let d = if is_fact {
                            Diagnostic::error(
                                "unsafe-variable",
                                v.span,
                                format!("variable `{}` in a fact", v.name),
                            )
                            .with_label("facts must be ground")
                            .with_help(format!(
                                "use a constant, or make this a rule whose body binds `{}`",
                                v.name
                            ))
                        } else {
                            Diagnostic::error(
                                "unsafe-variable",
                                v.span,
                                format!(
                                    "variable `{}` in the head is not bound by the body",
                                    v.name
                                ),
                            )
                            .with_label("unbound")
                            .with_help(format!(
                                "bind `{}` in a positive body atom, or assign it with `{} = ...`",
                                v.name, v.name
                            ))
                        };
                        unsafe_var(self, &mut reported, v, d);
                    }
                });
            }
        }

        for literal in body {
            match literal {
                Literal::Atom(_) => {}
                Literal::Negation(n) => {
                    let args = match &n.target {
                        NegationTarget::Atom(a) => &a.args,
                        NegationTarget::ModelCall(m) => &m.args,
                    };
                    for arg in args {
                        arg.for_each_var(&mut |v| {
                            if !v.is_wildcard() && !bound.contains(&v.name) {
                                let d = Diagnostic::error(
                                    "unsafe-variable",
                                    v.span,
                                    format!("variable `{}` under `not` is not bound by a positive atom", v.name),
                                )
                                .with_label("unbound")
                                .with_help(format!(
                                    "bind `{}` in a positive atom of the body, or write `_` if it may be any value",
                                    v.name
                                ));
                                unsafe_var(self, &mut reported, v, d);
                            }
                        });
                    }
                }
                Literal::ModelCall(m) => {
                    for arg in &m.args {
                        // `_` stands for an output not wanted (the engine
                        // rejects it as an input, where it knows which is which).
                        if matches!(arg, Expr::Var(v) if v.is_anonymous()) {
                            continue;
                        }
                        self.expression_vars(arg, &bound, &mut reported, "in a model call");
                    }
                }
                Literal::Comparison(c) => {
                    self.expression_vars(&c.lhs, &bound, &mut reported, "in a comparison");
                    self.expression_vars(&c.rhs, &bound, &mut reported, "in a comparison");
                }
                Literal::Aggregate(agg) => {
                    let inner_reported = self.safety(None, &agg.body, &bound);
                    reported.extend(inner_reported);
                    let inner_bound = bound_variables(&agg.body, &bound, &HashMap::new());
                    for term in &agg.terms {
                        term.for_each_var(&mut |v| {
                            if v.is_anonymous() {
                                let d = Diagnostic::error(
                                    "anonymous-in-expression",
                                    v.span,
                                    "`_` cannot be aggregated",
                                )
                                .with_help("name the variable and bind it in the aggregate's body");
                                self.push(d);
                            } else if !inner_bound.contains(&v.name) {
                                let d = Diagnostic::error(
                                    "unsafe-variable",
                                    v.span,
                                    format!("aggregated variable `{}` is not bound in the aggregate's body", v.name),
                                )
                                .with_label("unbound")
                                .with_help(format!(
                                    "bind `{}` in a positive atom after the `:`",
                                    v.name
                                ));
                                unsafe_var(self, &mut reported, v, d);
                            }
                        });
                    }
                }
            }
        }
        reported
    }

    fn expression_vars(
        &mut self,
        expr: &Expr,
        bound: &HashSet<String>,
        reported: &mut HashSet<String>,
        place: &str,
    ) {
        expr.for_each_var(&mut |v| {
            if v.is_anonymous() {
                let d = Diagnostic::error(
                    "anonymous-in-expression",
                    v.span,
                    format!("`_` cannot be used {place}"),
                )
                .with_help("name the variable and bind it in a positive atom");
                self.push(d);
            } else if !bound.contains(&v.name) && reported.insert(v.name.clone()) {
                let d = Diagnostic::error(
                    "unsafe-variable",
                    v.span,
                    format!("variable `{}` {place} is not bound", v.name),
                )
                .with_label("unbound")
                .with_help(format!(
                    "bind `{}` in a positive body atom first; `{} = expr` assigns only when every variable of `expr` is bound",
                    v.name, v.name
                ));
                self.push(d);
            }
        });
    }

    /// Arguments of body atoms must be variables or constants.
    fn plain_arguments(&mut self, atom: &Atom) {
        for arg in &atom.args {
            if matches!(
                arg,
                Expr::Binary { .. } | Expr::Neg { .. } | Expr::ModelCall(_)
            ) {
                let d = Diagnostic::error(
                    "expression-argument",
                    arg.span(),
                    format!("an expression cannot be an argument of `{}` here", atom.relation.text),
                )
                .with_label("computed value")
                .with_help("bind it to a variable first (`V = <expression>`) and pass `V`; expressions are allowed in rule heads");
                self.push(d);
            }
        }
    }

    fn singletons(&mut self, clause: &Clause, skip: &HashSet<String>) {
        let mut occurrences: BTreeMap<String, Vec<Span>> = BTreeMap::new();
        for arg in &clause.head.args {
            arg.for_each_var(&mut |v| occurrences.entry(v.name.clone()).or_default().push(v.span));
        }
        for v in variables(&clause.body) {
            occurrences.entry(v.name.clone()).or_default().push(v.span);
        }
        for (name, spans) in occurrences {
            if name.starts_with('_') || skip.contains(&name) {
                continue;
            }
            if let [span] = spans.as_slice() {
                let d = Diagnostic::warning(
                    "singleton-variable",
                    *span,
                    format!("variable `{name}` appears only once in this rule"),
                )
                .with_label("only use")
                .with_help(format!(
                    "if that is intended, write `_{name}` or `_`; otherwise it may be a typo"
                ));
                self.push(d);
            }
        }
    }

    // ---------------------------------------------------------------- types

    fn atom_types(
        &mut self,
        atom: &Atom,
        var_types: &mut HashMap<String, (ValueType, String, Span)>,
    ) {
        let key = self.relation_key(&atom.relation);
        let Some((decl, types)) = self.decls.get(&key) else {
            return;
        };
        let (decl, types) = (*decl, types.clone());
        for (i, (arg, ty)) in atom.args.iter().zip(types.iter()).enumerate() {
            let Some(ty) = *ty else { continue };
            let field = decl
                .fields
                .get(i)
                .map(|f| f.name.text.as_str())
                .unwrap_or("?");
            match arg {
                Expr::Const(c) => {
                    let found = ValueType::of_constant(&c.value);
                    if !ty.accepts(found) {
                        let d = Diagnostic::error(
                            "type-mismatch",
                            c.span,
                            format!(
                                "`{}` is {}, but field `{field}` of `{}` is declared `{ty}`",
                                c.text,
                                found.with_article(),
                                atom.relation.text
                            ),
                        )
                        .with_label(format!("expected {ty}"))
                        .with_related(decl.relation.span, "declared here");
                        self.push(d);
                    }
                }
                Expr::Var(v) if !v.is_anonymous() => {
                    let place = format!("field `{field}` of `{}`", atom.relation.text);
                    match var_types.get(&v.name) {
                        Some((seen, seen_place, seen_span))
                            if seen.kind().is_some()
                                && ty.kind().is_some()
                                && seen.kind() != ty.kind() =>
                        {
                            let d = Diagnostic::error(
                                "type-mismatch",
                                v.span,
                                format!(
                                    "variable `{}` is {} ({seen_place}) but {place} is declared `{ty}`",
                                    v.name,
                                    seen.with_article()
                                ),
                            )
                            .with_label(format!("used as {ty} here"))
                            .with_related(*seen_span, format!("used as {seen} here"));
                            self.push(d);
                        }
                        Some(_) => {}
                        None => {
                            var_types.insert(v.name.clone(), (ty, place, v.span));
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn numeric_operand(
        &mut self,
        operand: &Expr,
        var_types: &HashMap<String, (ValueType, String, Span)>,
    ) {
        match operand {
            Expr::Const(c) if !matches!(c.value, ConstValue::Int(_) | ConstValue::Float(_)) => {
                let d = Diagnostic::error(
                    "type-mismatch",
                    c.span,
                    format!("arithmetic on `{}`, which is not a number", c.text),
                )
                .with_label("not a number")
                .with_help("`+ - * / %` work on integers and floats");
                self.push(d);
            }
            Expr::Var(v) => {
                if let Some((ty, place, _)) = var_types.get(&v.name)
                    && ty.kind().is_some_and(|k| k != "number")
                {
                    let d = Diagnostic::error(
                        "type-mismatch",
                        v.span,
                        format!(
                            "arithmetic on `{}`, which is {} ({place})",
                            v.name,
                            ty.with_article()
                        ),
                    )
                    .with_label("not a number")
                    .with_help("`+ - * / %` work on integers and floats");
                    self.push(d);
                }
            }
            _ => {}
        }
    }

    // ------------------------------------------------------ whole program

    /// A written probability lies in [0, 1]; a tunable one strictly
    /// inside (0, 1), where learning can move it either way.
    fn probability(&mut self, p: &Probability) {
        if p.kind == ProbabilityKind::Tunable && !(p.value > 0.0 && p.value < 1.0) {
            let d = Diagnostic::error(
                "probability-out-of-range",
                p.span,
                format!("tunable probability `{}` is outside (0, 1)", p.text),
            )
            .with_label("not a starting point for learning")
            .with_help("start a tunable probability strictly between 0 and 1, e.g. `t(0.5)`, or write `t(_)` to draw it from the seed");
            self.push(d);
        } else if !(0.0..=1.0).contains(&p.value) {
            let d = Diagnostic::error(
                "probability-out-of-range",
                p.span,
                format!("probability `{}` is outside [0, 1]", p.text),
            )
            .with_label("not a probability")
            .with_help("write a probability between 0 and 1, e.g. `0.9 :: ...`");
            self.push(d);
        }
    }

    /// `prob(atom) = p +- e.`: a ground atom, `p` a probability, `e` not
    /// negative.
    fn expected_probability(&mut self, e: &Expectation, p: &ExpectedProbability) {
        if e.atom.args.iter().any(|a| !matches!(a, Expr::Const(_))) {
            let d = Diagnostic::error(
                "probability-of-pattern",
                e.atom.span,
                "`prob(...)` asks the probability of one fact: its arguments are values",
            )
            .with_help("write the fact, e.g. `prob(reach(a, d)) = 0.61 +- 0.001.`");
            self.push(d);
        }
        if !(0.0..=1.0).contains(&p.value) || p.tolerance < 0.0 {
            let d = Diagnostic::error(
                "probability-out-of-range",
                e.span,
                format!(
                    "`{} +- {}` is not a probability and a tolerance",
                    p.text, p.tolerance
                ),
            )
            .with_help("expect a probability between 0 and 1, within a tolerance of at least 0");
            self.push(d);
        }
    }

    /// Every head of an annotated disjunction has a probability, and
    /// together they sum to at most 1 (with room for rounding: a hundred
    /// heads of `0.01` sum to 1.0000000000000007).
    fn disjunctions(&mut self, clauses: &[&Clause]) {
        for clause in clauses {
            let Some(choice) = &clause.choice else {
                continue;
            };
            if choice.position != 0 {
                continue;
            }
            let mut sum = 0.0;
            for alternative in choice.heads.iter() {
                match &alternative.probability {
                    // `t(_)` starts wherever there is room.
                    Some(p) if p.kind == ProbabilityKind::Seeded => {}
                    Some(p) => sum += p.value,
                    None => {
                        let d = Diagnostic::error(
                            "disjunction-without-probability",
                            alternative.head.span,
                            "a head of an annotated disjunction has no probability",
                        )
                        .with_label("no `p ::` here")
                        .with_help("give every head a probability, e.g. `0.5 :: heads(C); 0.5 :: tails(C) :- coin(C).`");
                        self.push(d);
                    }
                }
            }
            if sum > 1.0 + DISJUNCTION_SLACK {
                let d = Diagnostic::error(
                    "disjunction-over-one",
                    clause.span,
                    format!("the probabilities of this annotated disjunction sum to {sum}, more than 1"),
                )
                .with_label("at most one of these heads holds")
                .with_help("its heads exclude each other, so their probabilities sum to at most 1 (what is left is the chance that none holds)");
                self.push(d);
            }
        }
    }

    /// A test's `given` facts are the case it checks: nothing to learn.
    fn tunable_in_tests(&mut self) {
        for item in &self.program.items {
            let Item::Test(t) = item else { continue };
            for entry in &t.entries {
                let TestEntry::Given(g) = entry else { continue };
                for clause in &g.clauses {
                    if let Some(p) = clause.probability.as_ref().filter(|p| p.is_tunable()) {
                        let d = Diagnostic::error(
                            "tunable-out-of-place",
                            p.span,
                            format!("`{}` in a test's `given` block", p.text),
                        )
                        .with_label("nothing is learned here")
                        .with_help("write the probability the test assumes, e.g. `0.5 :: ...`");
                        self.push(d);
                    }
                }
            }
        }
    }

    fn duplicate_names(&mut self, clauses: &[&Clause]) {
        let mut names: HashMap<&str, Span> = HashMap::new();
        // The heads of a disjunction share the one name written.
        for clause in clauses
            .iter()
            .filter(|c| c.choice.as_ref().is_none_or(|c| c.position == 0))
        {
            if let Some(name) = &clause.name
                && let Some(first) = names.insert(&name.text, name.span)
            {
                let d = Diagnostic::error(
                    "duplicate-rule-name",
                    name.span,
                    format!("two rules are named `{}`", name.text),
                )
                .with_label("named again here")
                .with_related(first, "first named here")
                .with_help("rule names identify rules in proofs; make them unique");
                self.push(d);
            }
        }
        let mut tests: HashMap<&str, Span> = HashMap::new();
        for item in &self.program.items {
            if let Item::Test(t) = item
                && let Some(first) = tests.insert(&t.name.value, t.name.span)
            {
                let d = Diagnostic::error(
                    "duplicate-test",
                    t.name.span,
                    format!("two tests are named {}", t.name.text),
                )
                .with_related(first, "first test of this name")
                .with_help("test names identify failures; make them unique");
                self.push(d);
            }
        }
    }

    /// Negation and aggregation must not go through recursion.
    fn stratification(&mut self, clauses: &[&Clause]) {
        let mut graph: DiGraph<String, ()> = DiGraph::new();
        let mut nodes: HashMap<String, NodeIndex> = HashMap::new();
        let mut node = |graph: &mut DiGraph<String, ()>, name: &str| -> NodeIndex {
            *nodes
                .entry(name.to_string())
                .or_insert_with(|| graph.add_node(name.to_string()))
        };
        // (head, body relation, the literal's span, aggregate?)
        let mut negative: Vec<(NodeIndex, NodeIndex, Span, bool)> = Vec::new();
        for clause in clauses {
            let head = node(&mut graph, &clause.head.relation.text);
            for literal in &clause.body {
                match literal {
                    Literal::Atom(a) => {
                        let b = node(&mut graph, &a.relation.text);
                        graph.update_edge(head, b, ());
                    }
                    Literal::Negation(Negation {
                        target: NegationTarget::Atom(a),
                        span,
                    }) => {
                        let b = node(&mut graph, &a.relation.text);
                        graph.update_edge(head, b, ());
                        negative.push((head, b, *span, false));
                    }
                    Literal::Aggregate(agg) => {
                        let mut inner: Vec<&Atom> = Vec::new();
                        for_each_atom(&agg.body, &mut |a| inner.push(a));
                        for a in inner {
                            let b = node(&mut graph, &a.relation.text);
                            graph.update_edge(head, b, ());
                            negative.push((head, b, agg.span, true));
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut reported: HashSet<(Span, NodeIndex)> = HashSet::new();
        for (head, body, span, aggregate) in negative {
            if !has_path_connecting(&graph, body, head, None) || !reported.insert((span, body)) {
                continue;
            }
            let name = |n: NodeIndex| graph.node_weight(n).cloned().unwrap_or_default();
            let path = astar(&graph, body, |n| n == head, |_| 1, |_| 0)
                .map(|(_, path)| path)
                .unwrap_or_default();
            let mut cycle = vec![name(head)];
            cycle.push(format!(
                "{}{}",
                if aggregate { "aggregate of " } else { "not " },
                name(body)
            ));
            cycle.extend(path.iter().skip(1).map(|n| name(*n)));
            let (h, b) = (name(head), name(body));
            let message = if aggregate {
                format!(
                    "aggregation through recursion: `{h}` aggregates over `{b}`, which depends on `{h}`"
                )
            } else if h == b {
                format!("negation through recursion: `{h}` depends on its own negation")
            } else {
                format!(
                    "negation through recursion: `{h}` depends on `not {b}`, and `{b}` depends on `{h}`"
                )
            };
            let d = Diagnostic::error("not-stratifiable", span, message)
                .with_label(if aggregate { "aggregate inside the cycle" } else { "negation inside the cycle" })
                .with_help(format!(
                    "cycle: {}; a relation cannot depend on the negation or an aggregate of itself, so this program has no stratified meaning",
                    cycle.join(" -> ")
                ));
            self.push(d);
        }
    }

    /// Warns about relations used in bodies that nothing defines.
    fn undefined_relations(&mut self, clauses: &[&Clause]) {
        let mut defined: HashSet<String> = HashSet::new();
        let mut triples_imported = false;
        for clause in clauses {
            defined.insert(self.relation_key(&clause.head.relation));
        }
        for item in &self.program.items {
            match item {
                Item::Import(i) => match &i.relation {
                    Some(r) => {
                        defined.insert(self.relation_key(r));
                    }
                    None => triples_imported = true,
                },
                Item::Decl(d) => {
                    defined.insert(self.relation_key(&d.relation));
                }
                // Facts of an input relation come with each request.
                Item::Input(i) => {
                    for r in &i.relations {
                        defined.insert(self.relation_key(r));
                    }
                }
                _ => {}
            }
        }
        let mut used: Vec<&Atom> = Vec::new();
        for clause in clauses {
            for_each_atom(&clause.body, &mut |a| used.push(a));
        }
        for item in &self.program.items {
            match item {
                Item::Query(q) => for_each_atom(&q.body, &mut |a| used.push(a)),
                Item::Test(t) => {
                    for entry in &t.entries {
                        if let TestEntry::Expect(e) = entry {
                            used.push(&e.atom);
                        }
                    }
                }
                _ => {}
            }
        }
        self.unused_inputs(clauses, &used);
        used.sort_by_key(|a| a.span.start);
        let mut warned: HashSet<String> = HashSet::new();
        for atom in used {
            let key = self.relation_key(&atom.relation);
            let from_triples =
                triples_imported && (atom.relation.text.contains(':') || atom.relation.text == "a");
            if defined.contains(&key) || from_triples || !warned.insert(key) {
                continue;
            }
            let names: Vec<&str> = clauses
                .iter()
                .map(|c| c.head.relation.text.as_str())
                .collect();
            let mut d = Diagnostic::warning(
                "undefined-relation",
                atom.relation.span,
                format!(
                    "relation `{}` is used but never defined",
                    atom.relation.text
                ),
            )
            .with_label("no facts, rules, import or @decl");
            if let Some(s) = suggest(&atom.relation.text, names.iter().copied()) {
                d = d.with_fix(atom.relation.span, s);
            }
            d = d.with_help(match suggest(&atom.relation.text, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? (it stays empty unless facts are added at run time)"),
                None => "define it with facts or rules, @import it, or declare it with @decl if its facts come at run time".to_string(),
            });
            self.push(d);
        }
    }
}

impl<'a> Checker<'a> {
    /// Warns about `@input` relations that nothing reads, defines or
    /// declares (a misspelling leaves the real input relation closed).
    fn unused_inputs(&mut self, clauses: &[&Clause], used: &[&Atom]) {
        let mut known: HashSet<String> = HashSet::new();
        for clause in clauses {
            known.insert(self.relation_key(&clause.head.relation));
        }
        for atom in used {
            known.insert(self.relation_key(&atom.relation));
        }
        for item in &self.program.items {
            match item {
                Item::Decl(d) => {
                    known.insert(self.relation_key(&d.relation));
                }
                Item::Import(i) => {
                    if let Some(r) = &i.relation {
                        known.insert(self.relation_key(r));
                    }
                }
                _ => {}
            }
        }
        let inputs: Vec<&Name> = self
            .program
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Input(d) => Some(&d.relations),
                _ => None,
            })
            .flatten()
            .collect();
        for name in inputs {
            if known.contains(&self.relation_key(name)) {
                continue;
            }
            let d = Diagnostic::warning(
                "unused-input",
                name.span,
                format!(
                    "`@input` names `{}`, which no rule reads, defines or declares",
                    name.text
                ),
            )
            .with_label("not used")
            .with_help(
                match suggest(&name.text, known.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "declare it with @decl, or use it in a rule".to_string(),
                },
            );
            self.push(d);
        }
    }
}

/// The variables a body binds, given `outer` bound ones: positive atoms,
/// positive model calls, assignments `V = expr` whose other side is bound, and
/// aggregates (their result, and their grouping variables bound inside).
fn bound_variables(
    body: &[Literal],
    outer: &HashSet<String>,
    outside_counts: &HashMap<String, usize>,
) -> HashSet<String> {
    let mut bound = outer.clone();
    for literal in body {
        let args = match literal {
            Literal::Atom(a) => &a.args,
            Literal::ModelCall(m) => &m.args,
            _ => continue,
        };
        for arg in args {
            if let Expr::Var(v) = arg
                && !v.is_anonymous()
            {
                bound.insert(v.name.clone());
            }
        }
    }
    loop {
        let before = bound.len();
        for literal in body {
            match literal {
                Literal::Comparison(Comparison {
                    lhs,
                    op: CmpOp::Eq,
                    rhs,
                    ..
                }) => {
                    for (target, source) in [(lhs, rhs), (rhs, lhs)] {
                        if let Some(v) = target.as_var()
                            && !v.is_anonymous()
                            && !bound.contains(&v.name)
                            && all_bound(source, &bound)
                        {
                            bound.insert(v.name.clone());
                        }
                    }
                }
                Literal::Aggregate(agg) => {
                    let inner = bound_variables(&agg.body, &bound, &HashMap::new());
                    let mut local: HashMap<String, usize> = HashMap::new();
                    for v in variables(std::slice::from_ref(literal)) {
                        *local.entry(v.name).or_default() += 1;
                    }
                    // A variable of the aggregate that the rest of the clause
                    // also mentions groups the result.
                    for (name, count) in &local {
                        let outside = outside_counts.get(name).copied().unwrap_or(0);
                        if outside > *count && inner.contains(name) {
                            bound.insert(name.clone());
                        }
                    }
                    // The result is bound even when a term is not; that term
                    // is reported on its own.
                    bound.insert(agg.result.name.clone());
                }
                _ => {}
            }
        }
        if bound.len() == before {
            return bound;
        }
    }
}

fn all_bound(expr: &Expr, bound: &HashSet<String>) -> bool {
    let mut ok = true;
    expr.for_each_var(&mut |v| ok &= !v.is_anonymous() && bound.contains(&v.name));
    ok
}

/// Operands of arithmetic operators, for the numeric type check.
fn collect_arithmetic<'e>(exprs: &'e [Expr], out: &mut Vec<&'e Expr>) {
    for e in exprs {
        match e {
            Expr::Binary { lhs, rhs, .. } => {
                out.push(lhs);
                out.push(rhs);
                collect_arithmetic(std::slice::from_ref(lhs), out);
                collect_arithmetic(std::slice::from_ref(rhs), out);
            }
            Expr::Neg { inner, .. } => {
                out.push(inner);
                collect_arithmetic(std::slice::from_ref(inner), out);
            }
            Expr::ModelCall(m) => collect_arithmetic(&m.args, out),
            _ => {}
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_diagnostic_is_said_once_even_between_others_of_its_span() {
        let span = Span::new(3, 5);
        let x = Diagnostic::error("x", span, "first");
        let y = Diagnostic::warning("y", span, "second");
        let z = Diagnostic::error("x", Span::new(6, 7), "first");
        // Two heads' checks of one body: x, y, x, y at one span.
        let said = said_once(vec![x.clone(), y.clone(), x.clone(), y.clone(), z.clone()]);
        assert_eq!(said, vec![x, y, z]);
    }
}
