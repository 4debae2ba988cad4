//! SPARQL that cannot hurt the process: queries are bounded before they
//! are parsed, parsed and evaluated where the stack is deep enough for
//! what was allowed, and evaluated over a dataset that stops the work at
//! the time limit or on cancellation.
//!
//! ```
//! use nesy_kg::{Graph, KgError, QueryOptions};
//!
//! let graph = Graph::in_memory()?;
//! graph.load_str("<http://x/a> <http://x/p> <http://x/b> .", "nt")?;
//! let mut out = Vec::new();
//! graph.run_query("SELECT ?o WHERE { ?s ?p ?o }", &QueryOptions::default(), &mut out)?;
//! assert!(String::from_utf8_lossy(&out).contains("http://x/b"));
//!
//! // 1,000 nested groups are refused before the parser sees them.
//! let deep = format!("SELECT * WHERE {}?s ?p ?o{}", "{".repeat(1000), "}".repeat(1000));
//! let refused = graph.run_query(&deep, &QueryOptions::default(), &mut Vec::new());
//! assert!(matches!(refused, Err(KgError::Refused { line: 1, .. })));
//! # Ok::<(), KgError>(())
//! ```
//!
//! Why each bound: oxigraph's parser, optimizer and evaluator recurse on
//! the query's structure, so nesting (`{{{...`, `(((...`, `[ :p [ ...`,
//! `<< << ...`) and long operator chains (`1 + 1 + ...`, `UNION` after
//! `UNION`) overflow a thread's stack: 1,000 braces are 2 KB. Its join
//! planner is cubic in the triple patterns of a query: 1,000 patterns
//! (30 KB) take half a minute before the first solution, and an RDF
//! collection of 300 items (600 bytes) takes seconds. So a query is
//! measured first (its size, its bracket nesting, then, once parsed, its
//! triple patterns and operators), and runs on a thread whose stack holds
//! whatever passed. Evaluation reads quads through `Guarded`, which looks
//! at the clock of [`nesy_engine::Limits`] (deadline and cancel flag)
//! before every quad it reads; once the clock has said stop, every read
//! fails at once, so the operators that collect their input (`ORDER BY`,
//! joins) finish quickly too: a cross product under an `ORDER BY` stops
//! as surely as one that streams.

use crate::sparql_syntax::{QUERY_FORMS, UPDATE_FORMS, syntax_error, with_prologue};
use crate::{KgError, Prefixes};
use nesy_engine::{Clock, Limits};
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::model::{
    GraphName, GraphNameRef, NamedNodeRef, NamedOrBlankNode, SubjectRef, Term, TermRef,
};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::store::{StorageError, Store};
use rustc_hash::FxHashMap;
use spareval::{InternalQuad, QueryEvaluationError, QueryEvaluator, QueryResults};
use spargebra::algebra::{
    AggregateExpression, Expression, GraphPattern, OrderExpression, PropertyPathExpression,
};
use spargebra::{GraphUpdateOperation, Query, Update};
use std::io::Write;
use std::rc::Rc;

/// How big a SPARQL query or update may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SparqlLimits {
    /// Bytes of query text.
    pub max_bytes: usize,
    /// Brackets open at once: `{`, `(`, `[`, `<<`.
    pub max_nesting: usize,
    /// Triple patterns and property-path steps in the whole query.
    pub max_patterns: usize,
    /// Graph patterns and expression operators in the whole query.
    pub max_operators: usize,
}

impl Default for SparqlLimits {
    fn default() -> Self {
        SparqlLimits {
            max_bytes: 128 * 1024,
            max_nesting: 64,
            max_patterns: 128,
            max_operators: 4096,
        }
    }
}

/// How a query runs and how its results are written.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryOptions {
    /// The default graph is the union of every graph (so that triples
    /// materialized into a named graph answer plain patterns).
    pub union: bool,
    /// Solutions and booleans: `json`, `xml`, `csv` or `tsv`.
    pub results_format: String,
    /// Graphs (CONSTRUCT, DESCRIBE): `nt`, `ttl`, `rdf`, `nq` or `trig`.
    pub graph_format: String,
    /// Time, cancellation, and `max_tuples` as the most solutions or
    /// triples written.
    pub limits: Limits,
    /// The size of query accepted.
    pub sparql: SparqlLimits,
    /// Prefixes a query may use without declaring them (by default
    /// [`Prefixes::common`]: `rdf`, `rdfs`, `owl`, `xsd`).
    pub prefixes: Prefixes,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            union: false,
            results_format: "json".to_string(),
            graph_format: "nt".to_string(),
            limits: Limits::default(),
            sparql: SparqlLimits::default(),
            prefixes: Prefixes::common(),
        }
    }
}

/// What a query answered with: what [`crate::Graph::run_query`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryForm {
    /// SELECT: solutions, in the results format.
    Solutions(QueryResultsFormat),
    /// ASK: a boolean, in the results format.
    Boolean(QueryResultsFormat),
    /// CONSTRUCT or DESCRIBE: triples, in the graph format.
    Graph(RdfFormat),
}

impl QueryForm {
    /// The media type of what was written.
    pub fn media_type(&self) -> &'static str {
        match self {
            QueryForm::Solutions(f) | QueryForm::Boolean(f) => f.media_type(),
            QueryForm::Graph(f) => f.media_type(),
        }
    }
}

/// The stack of the thread queries are parsed and evaluated on. Only the
/// pages touched are ever committed; what the bounds allow needs a few
/// tens of MiB at most (measured: 65,536 chained `+` parse in 64 MiB).
const STACK: usize = 256 << 20;

/// Runs `f` on a thread with a stack deep enough for any query the
/// bounds let through.
pub(crate) fn on_query_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, KgError> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("nesy-sparql".to_string())
            .stack_size(STACK)
            .spawn_scoped(scope, f)
            .map_err(|e| KgError::Storage(format!("cannot start the query thread: {e}")))?;
        handle
            .join()
            .map_err(|_| KgError::Sparql("the query failed unexpectedly".to_string()))
    })
}

/// The size and bracket nesting of query text, checked before any parser
/// sees it: the first bracket past the limit is the error's location.
pub(crate) fn prescan(text: &str, limits: &SparqlLimits) -> Result<(), KgError> {
    if text.len() > limits.max_bytes {
        return Err(refused(
            text,
            limits.max_bytes,
            format!(
                "the query is {} bytes; at most {} are accepted",
                text.len(),
                limits.max_bytes
            ),
        ));
    }
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'#' => {
                // A comment runs to the end of the line.
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'<' => {
                // An IRI hides comments and quotes, not brackets: where
                // the parser reads `<` as less-than, what follows is code.
                if let Some(end) = iri_end(bytes, i) {
                    for (k, &c) in bytes.iter().enumerate().take(end).skip(i + 1) {
                        match c {
                            b'(' | b'[' => {
                                depth += 1;
                                if depth > limits.max_nesting {
                                    return Err(too_deep(text, k, limits));
                                }
                            }
                            b')' | b']' => depth = depth.saturating_sub(1),
                            _ => {}
                        }
                    }
                    i = end;
                    continue;
                }
                if bytes.get(i + 1) == Some(&b'<') {
                    depth += 1;
                    if depth > limits.max_nesting {
                        return Err(too_deep(text, i, limits));
                    }
                    i += 2;
                    continue;
                }
            }
            b'>' if bytes.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 2;
                continue;
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                if depth > limits.max_nesting {
                    return Err(too_deep(text, i, limits));
                }
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Where an IRI `<...>` starting at `at` ends (one past `>`), if it is one
/// (SPARQL's IRIREF: no spaces, controls or `<>"{}|^\``).
fn iri_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        match *bytes.get(i)? {
            b'>' => return Some(i + 1),
            b'<' | b'"' | b'{' | b'}' | b'|' | b'^' | b'`' | b'\\' => return None,
            c if c <= 0x20 => return None,
            _ => i += 1,
        }
    }
}

/// One past the end of the string literal starting at `at` (short or
/// long, either quote); the end of the text if it is not closed.
fn skip_string(bytes: &[u8], at: usize) -> usize {
    let Some(&quote) = bytes.get(at) else {
        return at + 1;
    };
    let long = bytes.get(at + 1) == Some(&quote) && bytes.get(at + 2) == Some(&quote);
    let mut i = if long { at + 3 } else { at + 1 };
    while let Some(&c) = bytes.get(i) {
        if c == b'\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if !long {
                return i + 1;
            }
            if bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote) {
                return i + 3;
            }
        } else if c == b'\n' && !long {
            // A short string cannot span lines: the parser will say so.
            return i;
        }
        i += 1;
    }
    i
}

fn too_deep(text: &str, at: usize, limits: &SparqlLimits) -> KgError {
    refused(
        text,
        at,
        format!(
            "brackets nest deeper than {} here; flatten the query",
            limits.max_nesting
        ),
    )
}

/// A refusal located at byte `offset` of `text`.
fn refused(text: &str, offset: usize, message: String) -> KgError {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    KgError::Refused {
        line,
        column,
        offset,
        message,
    }
}

/// What a parsed query asks of the planner and evaluator.
#[derive(Default)]
struct Measure {
    patterns: usize,
    operators: usize,
}

enum Node<'a> {
    Pattern(&'a GraphPattern),
    Expr(&'a Expression),
    Path(&'a PropertyPathExpression),
}

impl Measure {
    /// Walks the algebra with an explicit stack (it can be as deep as the
    /// query is long).
    fn of<'a>(patterns: impl IntoIterator<Item = &'a GraphPattern>) -> Measure {
        let mut m = Measure::default();
        let mut stack: Vec<Node<'a>> = patterns.into_iter().map(Node::Pattern).collect();
        while let Some(node) = stack.pop() {
            m.operators += 1;
            match node {
                Node::Pattern(p) => match p {
                    GraphPattern::Bgp { patterns } => m.patterns += patterns.len(),
                    GraphPattern::Path { path, .. } => stack.push(Node::Path(path)),
                    GraphPattern::Join { left, right }
                    | GraphPattern::Union { left, right }
                    | GraphPattern::Minus { left, right }
                    | GraphPattern::Lateral { left, right } => {
                        stack.push(Node::Pattern(left));
                        stack.push(Node::Pattern(right));
                    }
                    GraphPattern::LeftJoin {
                        left,
                        right,
                        expression,
                    } => {
                        stack.push(Node::Pattern(left));
                        stack.push(Node::Pattern(right));
                        stack.extend(expression.iter().map(Node::Expr));
                    }
                    GraphPattern::Filter { expr, inner } => {
                        stack.push(Node::Expr(expr));
                        stack.push(Node::Pattern(inner));
                    }
                    GraphPattern::Extend {
                        inner, expression, ..
                    } => {
                        stack.push(Node::Expr(expression));
                        stack.push(Node::Pattern(inner));
                    }
                    GraphPattern::OrderBy { inner, expression } => {
                        stack.push(Node::Pattern(inner));
                        stack.extend(expression.iter().map(|o| match o {
                            OrderExpression::Asc(e) | OrderExpression::Desc(e) => Node::Expr(e),
                        }));
                    }
                    GraphPattern::Group {
                        inner, aggregates, ..
                    } => {
                        stack.push(Node::Pattern(inner));
                        stack.extend(aggregates.iter().filter_map(|(_, a)| match a {
                            AggregateExpression::FunctionCall { expr, .. } => {
                                Some(Node::Expr(expr))
                            }
                            AggregateExpression::CountSolutions { .. } => None,
                        }));
                    }
                    GraphPattern::Graph { inner, .. }
                    | GraphPattern::Project { inner, .. }
                    | GraphPattern::Distinct { inner }
                    | GraphPattern::Reduced { inner }
                    | GraphPattern::Slice { inner, .. }
                    | GraphPattern::Service { inner, .. } => stack.push(Node::Pattern(inner)),
                    GraphPattern::Values { .. } => {}
                },
                Node::Path(p) => match p {
                    PropertyPathExpression::NamedNode(_)
                    | PropertyPathExpression::NegatedPropertySet(_) => m.patterns += 1,
                    PropertyPathExpression::Reverse(e)
                    | PropertyPathExpression::ZeroOrMore(e)
                    | PropertyPathExpression::OneOrMore(e)
                    | PropertyPathExpression::ZeroOrOne(e) => stack.push(Node::Path(e)),
                    PropertyPathExpression::Sequence(a, b)
                    | PropertyPathExpression::Alternative(a, b) => {
                        stack.push(Node::Path(a));
                        stack.push(Node::Path(b));
                    }
                },
                Node::Expr(e) => match e {
                    Expression::NamedNode(_)
                    | Expression::Literal(_)
                    | Expression::Variable(_)
                    | Expression::Bound(_) => {}
                    Expression::Or(a, b)
                    | Expression::And(a, b)
                    | Expression::Equal(a, b)
                    | Expression::SameTerm(a, b)
                    | Expression::Greater(a, b)
                    | Expression::GreaterOrEqual(a, b)
                    | Expression::Less(a, b)
                    | Expression::LessOrEqual(a, b)
                    | Expression::Add(a, b)
                    | Expression::Subtract(a, b)
                    | Expression::Multiply(a, b)
                    | Expression::Divide(a, b) => {
                        stack.push(Node::Expr(a));
                        stack.push(Node::Expr(b));
                    }
                    Expression::In(a, list) => {
                        stack.push(Node::Expr(a));
                        stack.extend(list.iter().map(Node::Expr));
                    }
                    Expression::UnaryPlus(a) | Expression::UnaryMinus(a) | Expression::Not(a) => {
                        stack.push(Node::Expr(a));
                    }
                    Expression::Exists(p) => stack.push(Node::Pattern(p)),
                    Expression::If(a, b, c) => {
                        stack.push(Node::Expr(a));
                        stack.push(Node::Expr(b));
                        stack.push(Node::Expr(c));
                    }
                    Expression::Coalesce(list) | Expression::FunctionCall(_, list) => {
                        stack.extend(list.iter().map(Node::Expr));
                    }
                },
            }
        }
        m
    }

    fn check(&self, text: &str, limits: &SparqlLimits) -> Result<(), KgError> {
        if self.patterns > limits.max_patterns {
            return Err(refused(
                text,
                0,
                format!(
                    "the query has {} triple patterns and path steps; at most {} are accepted (the planner's cost grows with the cube of their number)",
                    self.patterns, limits.max_patterns
                ),
            ));
        }
        if self.operators > limits.max_operators {
            return Err(refused(
                text,
                0,
                format!(
                    "the query has {} operators; at most {} are accepted",
                    self.operators, limits.max_operators
                ),
            ));
        }
        Ok(())
    }
}

fn query_pattern(query: &Query) -> &GraphPattern {
    match query {
        Query::Select { pattern, .. }
        | Query::Construct { pattern, .. }
        | Query::Describe { pattern, .. }
        | Query::Ask { pattern, .. } => pattern,
    }
}

/// Bounds, then parses, then measures a query (call on the query stack).
pub(crate) fn parse_query(
    text: &str,
    limits: &SparqlLimits,
    prefixes: &Prefixes,
) -> Result<Query, KgError> {
    prescan(text, limits)?;
    let query = Query::parse(&with_prologue(text, prefixes), None)
        .map_err(|e| syntax_error(text, prefixes, &QUERY_FORMS, &e.to_string()))?;
    Measure::of([query_pattern(&query)]).check(text, limits)?;
    Ok(query)
}

/// Bounds, then parses, then measures an update (call on the query stack).
pub(crate) fn parse_update(
    text: &str,
    limits: &SparqlLimits,
    prefixes: &Prefixes,
) -> Result<Update, KgError> {
    prescan(text, limits)?;
    let update = Update::parse(&with_prologue(text, prefixes), None)
        .map_err(|e| syntax_error(text, prefixes, &UPDATE_FORMS, &e.to_string()))?;
    Measure::of(update.operations.iter().filter_map(|op| match op {
        GraphUpdateOperation::DeleteInsert { pattern, .. } => Some(pattern.as_ref()),
        _ => None,
    }))
    .check(text, limits)?;
    Ok(update)
}

/// Checks a query without running it: its size, nesting, syntax and
/// measure. For checkers of rule files that embed SPARQL.
pub fn check_query(text: &str, limits: &SparqlLimits) -> Result<(), KgError> {
    check_query_with(text, limits, &Prefixes::common())
}

/// [`check_query`] with `prefixes` known without `PREFIX` lines.
pub fn check_query_with(
    text: &str,
    limits: &SparqlLimits,
    prefixes: &Prefixes,
) -> Result<(), KgError> {
    on_query_stack(|| parse_query(text, limits, prefixes).map(drop))?
}

/// Why a guarded dataset stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DatasetError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Stopped(nesy_engine::Error),
    #[error("a term the query never met")]
    UnknownTerm,
}

/// The terms a query has met, numbered: tuples carry the numbers (cheap
/// to copy, hash and compare, as oxigraph's own encoded terms are), and
/// a term is looked up only to be shown or computed with.
#[derive(Default)]
struct Terms {
    all: std::cell::RefCell<Vec<Term>>,
    ids: std::cell::RefCell<FxHashMap<Term, u32>>,
}

impl Terms {
    fn id(&self, term: Term) -> u32 {
        if let Some(&id) = self.ids.borrow().get(&term) {
            return id;
        }
        let mut all = self.all.borrow_mut();
        let id = u32::try_from(all.len()).unwrap_or(u32::MAX);
        all.push(term.clone());
        self.ids.borrow_mut().insert(term, id);
        id
    }

    fn term(&self, id: u32) -> Result<Term, DatasetError> {
        self.all
            .borrow()
            .get(id as usize)
            .cloned()
            .ok_or(DatasetError::UnknownTerm)
    }

    fn quad(
        &self,
        quad: Result<oxigraph::model::Quad, DatasetError>,
        graph: Option<u32>,
    ) -> Result<InternalQuad<Guarded>, DatasetError> {
        let quad = quad?;
        Ok(InternalQuad {
            subject: self.id(quad.subject.into()),
            predicate: self.id(quad.predicate.into()),
            object: self.id(quad.object),
            graph_name: graph,
        })
    }
}

/// The store as SPARQL sees it: the default graph (the store's, the
/// union of all, or the query's `FROM` graphs), the named graphs (all, or
/// the query's `FROM NAMED`), and the clock, consulted as quads are read.
pub(crate) struct Guarded {
    store: Store,
    /// `None`: the union of every graph.
    default: Option<Vec<GraphName>>,
    /// `None`: every named graph.
    named: Option<Vec<NamedOrBlankNode>>,
    stop: Rc<Stop>,
    terms: Rc<Terms>,
}

impl Guarded {
    pub(crate) fn new(store: Store, query: &Query, union: bool, clock: Clock) -> Self {
        let (default, named) = match query.dataset() {
            Some(d) => (
                Some(d.default.iter().cloned().map(GraphName::from).collect()),
                d.named
                    .as_ref()
                    .map(|n| n.iter().cloned().map(NamedOrBlankNode::from).collect()),
            ),
            None if union => (None, None),
            None => (Some(vec![GraphName::DefaultGraph]), None),
        };
        Guarded {
            store,
            default,
            named,
            stop: Rc::new(Stop {
                clock,
                said: std::cell::RefCell::new(None),
            }),
            terms: Rc::new(Terms::default()),
        }
    }

    fn check(&self) -> Result<(), DatasetError> {
        self.stop.check()
    }

    /// The store's quads matching, the clock checked as they are read;
    /// `graph` `None` means any graph.
    fn quads(
        &self,
        subject: Option<SubjectRef<'_>>,
        predicate: Option<NamedNodeRef<'_>>,
        object: Option<TermRef<'_>>,
        graph: Option<GraphNameRef<'_>>,
    ) -> impl Iterator<Item = Result<oxigraph::model::Quad, DatasetError>> + 'static {
        Checked {
            inner: self
                .store
                .quads_for_pattern(subject, predicate, object, graph),
            stop: Rc::clone(&self.stop),
            done: false,
        }
    }
}

/// The clock of a query's evaluation, and whether it has already said
/// stop: once it has, every read fails at once. (spareval's ORDER BY and
/// joins collect their input, errors and all; reads that fail cheaply
/// make the rest of the work cheap too.)
struct Stop {
    clock: Clock,
    said: std::cell::RefCell<Option<nesy_engine::Error>>,
}

impl Stop {
    /// Whether the clock has already said stop (without reading it).
    fn stopped(&self) -> Result<(), DatasetError> {
        match self.said.borrow().as_ref() {
            Some(e) => Err(DatasetError::Stopped(e.clone())),
            None => Ok(()),
        }
    }

    fn check(&self) -> Result<(), DatasetError> {
        if let Some(e) = self.said.borrow().as_ref() {
            return Err(DatasetError::Stopped(e.clone()));
        }
        self.clock.check().map_err(|e| {
            *self.said.borrow_mut() = Some(e.clone());
            DatasetError::Stopped(e)
        })
    }
}

/// Quads read with the clock checked before each: the first that comes
/// too late is an error, and the iterator ends.
struct Checked<I> {
    inner: I,
    stop: Rc<Stop>,
    done: bool,
}

impl<I, E> Iterator for Checked<I>
where
    I: Iterator<Item = Result<oxigraph::model::Quad, E>>,
    DatasetError: From<E>,
{
    type Item = Result<oxigraph::model::Quad, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Err(e) = self.stop.check() {
            self.done = true;
            return Some(Err(e));
        }
        Some(self.inner.next()?.map_err(DatasetError::from))
    }
}

fn graph_term(name: &GraphName) -> Option<Term> {
    match name {
        GraphName::NamedNode(n) => Some(n.clone().into()),
        GraphName::BlankNode(b) => Some(b.clone().into()),
        GraphName::DefaultGraph => None,
    }
}

type Quads = Box<dyn Iterator<Item = Result<InternalQuad<Guarded>, DatasetError>>>;

impl spareval::QueryableDataset for Guarded {
    type InternalTerm = u32;
    type Error = DatasetError;

    fn internal_quads_for_pattern(
        &self,
        subject: Option<&u32>,
        predicate: Option<&u32>,
        object: Option<&u32>,
        graph_name: Option<Option<&u32>>,
    ) -> Quads {
        if let Err(e) = self.check() {
            return Box::new(std::iter::once(Err(e)));
        }
        let look = |id: Option<&u32>| id.map(|&i| self.terms.term(i)).transpose();
        let (subject, predicate, object) = match (look(subject), look(predicate), look(object)) {
            (Ok(s), Ok(p), Ok(o)) => (s, p, o),
            _ => return Box::new(std::iter::empty()),
        };
        let subject = match subject.as_ref().map(Term::as_ref) {
            None => None,
            Some(TermRef::NamedNode(n)) => Some(SubjectRef::NamedNode(n)),
            Some(TermRef::BlankNode(b)) => Some(SubjectRef::BlankNode(b)),
            #[allow(
                unreachable_patterns,
                reason = "RDF-star triples when the feature is on"
            )]
            Some(TermRef::Triple(t)) => Some(SubjectRef::Triple(t)),
            Some(_) => return Box::new(std::iter::empty()),
        };
        let predicate = match predicate.as_ref().map(Term::as_ref) {
            None => None,
            Some(TermRef::NamedNode(n)) => Some(n),
            Some(_) => return Box::new(std::iter::empty()),
        };
        let object = object.as_ref().map(Term::as_ref);
        let terms = Rc::clone(&self.terms);
        match graph_name {
            // One named graph, if the dataset has it.
            Some(Some(&id)) => {
                let name: NamedOrBlankNode = match self.terms.term(id) {
                    Ok(Term::NamedNode(n)) => n.into(),
                    Ok(Term::BlankNode(b)) => b.into(),
                    _ => return Box::new(std::iter::empty()),
                };
                if self.named.as_ref().is_some_and(|n| !n.contains(&name)) {
                    return Box::new(std::iter::empty());
                }
                Box::new(
                    self.quads(subject, predicate, object, Some(name.as_ref().into()))
                        .map(move |q| terms.quad(q, Some(id))),
                )
            }
            // The default graph.
            Some(None) => match &self.default {
                None => Box::new(
                    self.quads(subject, predicate, object, None)
                        .map(move |q| terms.quad(q, None)),
                ),
                Some(graphs) => {
                    let parts: Vec<Quads> = graphs
                        .iter()
                        .map(|g| -> Quads {
                            let terms = Rc::clone(&terms);
                            Box::new(
                                self.quads(subject, predicate, object, Some(g.as_ref()))
                                    .map(move |q| terms.quad(q, None)),
                            )
                        })
                        .collect();
                    Box::new(parts.into_iter().flatten())
                }
            },
            // Any named graph.
            None => match &self.named {
                Some(names) => {
                    let parts: Vec<Quads> = names
                        .iter()
                        .map(|n| -> Quads {
                            let graph = graph_term(&n.clone().into()).map(|t| terms.id(t));
                            let terms = Rc::clone(&terms);
                            Box::new(
                                self.quads(subject, predicate, object, Some(n.as_ref().into()))
                                    .map(move |q| terms.quad(q, graph)),
                            )
                        })
                        .collect();
                    Box::new(parts.into_iter().flatten())
                }
                None => Box::new(self.quads(subject, predicate, object, None).filter_map(
                    move |q| match q {
                        Ok(q) if q.graph_name.is_default_graph() => None,
                        Ok(q) => {
                            let graph = graph_term(&q.graph_name).map(|t| terms.id(t));
                            Some(terms.quad(Ok(q), graph))
                        }
                        Err(e) => Some(Err(e)),
                    },
                )),
            },
        }
    }

    fn internal_named_graphs(&self) -> Box<dyn Iterator<Item = Result<u32, DatasetError>>> {
        let names: Vec<Result<u32, DatasetError>> = match &self.named {
            Some(names) => names
                .iter()
                .map(|n| Ok(self.terms.id(Term::from(n.clone()))))
                .collect(),
            None => self
                .store
                .named_graphs()
                .map(|g| Ok(self.terms.id(Term::from(g?))))
                .collect(),
        };
        Box::new(names.into_iter())
    }

    fn contains_internal_graph_name(&self, graph_name: &u32) -> Result<bool, DatasetError> {
        let name: NamedOrBlankNode = match self.terms.term(*graph_name)? {
            Term::NamedNode(n) => n.into(),
            Term::BlankNode(b) => b.into(),
            _ => return Ok(false),
        };
        match &self.named {
            Some(names) => Ok(names.contains(&name)),
            None => Ok(self.store.contains_named_graph(name.as_ref())?),
        }
    }

    fn internalize_term(&self, term: Term) -> Result<u32, DatasetError> {
        Ok(self.terms.id(term))
    }

    fn externalize_term(&self, term: u32) -> Result<Term, DatasetError> {
        self.terms.term(term)
    }

    /// Terms are read for comparisons (ORDER BY sorts what it collected,
    /// errors and all) and filters (through this, by default): once
    /// stopped, they fail, so that a sort of millions of rows compares
    /// nothing and ends at once.
    fn externalize_expression_term(
        &self,
        term: u32,
    ) -> Result<spareval::ExpressionTerm, DatasetError> {
        self.stop.stopped()?;
        Ok(self.terms.term(term)?.into())
    }
}

/// A failed evaluation as our error: a stop by the clock keeps its kind.
fn evaluation_error(e: QueryEvaluationError) -> KgError {
    if let QueryEvaluationError::Dataset(inner) = &e
        && let Some(DatasetError::Stopped(stop)) = inner.downcast_ref::<DatasetError>()
    {
        return KgError::Stopped(stop.clone());
    }
    KgError::Sparql(e.to_string())
}

/// Counts what is written against the limits, checking the clock.
struct Budget<'a> {
    clock: &'a Clock,
    max: Option<usize>,
    written: usize,
}

impl Budget<'_> {
    fn next(&mut self) -> Result<(), KgError> {
        self.written += 1;
        if let Some(max) = self.max
            && self.written > max
        {
            return Err(KgError::Stopped(nesy_engine::Error::TooManyTuples {
                limit: max,
                relation: "the query's results".to_string(),
            }));
        }
        if self.written.is_multiple_of(64) {
            self.clock.check().map_err(KgError::Stopped)?;
        }
        Ok(())
    }
}

fn io_error(e: std::io::Error) -> KgError {
    KgError::Sparql(format!("cannot write the results: {e}"))
}

/// Parses, evaluates and writes a query, on the calling thread (which
/// must be the query stack).
pub(crate) fn run(
    store: &Store,
    text: &str,
    options: &QueryOptions,
    mut out: impl Write,
) -> Result<QueryForm, KgError> {
    let clock = Clock::start(&options.limits);
    let query = parse_query(text, &options.sparql, &options.prefixes)?;
    let dataset = Guarded::new(store.clone(), &query, options.union, clock.clone());
    let results = QueryEvaluator::new()
        .execute(dataset, &query)
        .map_err(evaluation_error)?;
    let mut budget = Budget {
        clock: &clock,
        max: options.limits.max_tuples,
        written: 0,
    };
    let results_format = || {
        QueryResultsFormat::from_extension(&options.results_format).ok_or_else(|| {
            KgError::Sparql(format!(
                "unknown result format `{}`: use json, xml, csv or tsv",
                options.results_format
            ))
        })
    };
    match results {
        QueryResults::Boolean(value) => {
            let format = results_format()?;
            QueryResultsSerializer::from_format(format)
                .serialize_boolean_to_writer(&mut out, value)
                .map_err(io_error)?;
            Ok(QueryForm::Boolean(format))
        }
        QueryResults::Solutions(solutions) => {
            let format = results_format()?;
            let mut writer = QueryResultsSerializer::from_format(format)
                .serialize_solutions_to_writer(&mut out, solutions.variables().to_vec())
                .map_err(io_error)?;
            for solution in solutions {
                let solution = solution.map_err(evaluation_error)?;
                budget.next()?;
                writer.serialize(&solution).map_err(io_error)?;
            }
            writer.finish().map_err(io_error)?;
            Ok(QueryForm::Solutions(format))
        }
        QueryResults::Graph(triples) => {
            let format = match options.graph_format.as_str() {
                "turtle" => RdfFormat::Turtle,
                other => RdfFormat::from_extension(other).unwrap_or(RdfFormat::NTriples),
            };
            let mut writer = RdfSerializer::from_format(format).for_writer(&mut out);
            for triple in triples {
                let triple = triple.map_err(evaluation_error)?;
                budget.next()?;
                writer.serialize_triple(&triple).map_err(io_error)?;
            }
            writer.finish().map_err(io_error)?;
            Ok(QueryForm::Graph(format))
        }
    }
}

/// A SELECT's variables, and its rows (unbound variables `None`).
pub(crate) type Selected = (Vec<String>, Vec<Vec<Option<Term>>>);

/// The variables and rows of a SELECT (on the query stack).
pub(crate) fn select(
    store: &Store,
    text: &str,
    options: &QueryOptions,
) -> Result<Selected, KgError> {
    let clock = Clock::start(&options.limits);
    let query = parse_query(text, &options.sparql, &options.prefixes)?;
    if !matches!(query, Query::Select { .. }) {
        return Err(KgError::Sparql("a SELECT query is needed here".to_string()));
    }
    let dataset = Guarded::new(store.clone(), &query, options.union, clock.clone());
    let QueryResults::Solutions(solutions) = QueryEvaluator::new()
        .execute(dataset, &query)
        .map_err(evaluation_error)?
    else {
        return Err(KgError::Sparql("a SELECT query is needed here".to_string()));
    };
    let variables: Vec<String> = solutions
        .variables()
        .iter()
        .map(|v| v.as_str().to_string())
        .collect();
    let mut budget = Budget {
        clock: &clock,
        max: options.limits.max_tuples,
        written: 0,
    };
    let mut rows = Vec::new();
    for solution in solutions {
        let solution = solution.map_err(evaluation_error)?;
        budget.next()?;
        rows.push(
            variables
                .iter()
                .map(|v| solution.get(v.as_str()).cloned())
                .collect(),
        );
    }
    Ok((variables, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_in_strings_iris_and_comments_do_not_count() {
        let limits = SparqlLimits {
            max_nesting: 3,
            ..SparqlLimits::default()
        };
        let ok = "SELECT * WHERE { ?s <http://x/a(b)> \"(((({{{\" . # ((((((\n ?s ?p '''[[[[''' FILTER(?o < 3 && ?o > (1)) }";
        // Less-than that looks like an IRI: its brackets still count.
        let sneaky = "SELECT * WHERE { ?s ?p ?o FILTER(?o<(((?o>1))) }";
        assert!(prescan(sneaky, &limits).is_err());
        assert!(prescan(ok, &limits).is_ok());
        let deep = "SELECT * WHERE { ?s ?p ?o FILTER(((?o))) }";
        let Err(KgError::Refused { line, column, .. }) = prescan(deep, &limits) else {
            panic!("not refused");
        };
        assert_eq!((line, column), (1, 35));
        // A comment hides nothing after its line.
        let hidden = "SELECT * # <x\n WHERE { {{{?s ?p ?o}}} }";
        assert!(prescan(hidden, &limits).is_err());
        // Quoted triples nest too.
        assert!(
            prescan(
                "SELECT * WHERE { << << << ?a ?b ?c >> ?p ?o >> ?q ?r >> ?s ?t }",
                &limits
            )
            .is_err()
        );
    }

    #[test]
    fn an_iri_is_not_an_operator() {
        assert_eq!(iri_end(b"<http://x/a> .", 0), Some(12));
        assert_eq!(iri_end(b"< 3)", 0), None);
        assert_eq!(iri_end(b"<= 3 && ?x > 2", 0), None);
    }
}
