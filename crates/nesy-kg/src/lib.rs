//! The knowledge graph: an oxigraph store (in memory; on disk with the
//! `rocksdb` feature), RDF loading, SPARQL, and triples as facts.
//!
//! ```
//! use nesy_kg::Graph;
//! use nesy_engine::Value;
//!
//! let graph = Graph::in_memory()?;
//! graph.load_str(
//!     "@prefix ex: <http://example.org/> . ex:alice ex:parent ex:bob ; ex:age 67 .",
//!     "turtle",
//! )?;
//! assert_eq!(graph.len()?, 2);
//! let (variables, rows) = graph.select("SELECT ?c WHERE { ?p <http://example.org/parent> ?c }")?;
//! assert_eq!(variables, ["c"]);
//! assert_eq!(rows, vec![vec![Value::iri("http://example.org/bob")]]);
//! let facts = graph.facts()?;
//! assert!(facts.contains(&(
//!     "http://example.org/age".to_string(),
//!     Value::iri("http://example.org/alice"),
//!     Value::Int(67),
//! )));
//! # Ok::<(), nesy_kg::KgError>(())
//! ```

mod prefixes;
mod rdfxml;
mod sparql;
mod sparql_syntax;
mod triples;
mod view;

pub use prefixes::{COMMON_PREFIXES, Prefixes};
pub use sparql::{QueryForm, QueryOptions, SparqlLimits, check_query, check_query_with};
pub use triples::{TripleBlock, for_each_triple_block};
pub use view::{EdgeFilter, GraphView, Step, edges_to_dot};

use nesy_engine::Value;
use oxigraph::io::{RdfFormat, RdfParser, RdfSerializer};
use oxigraph::model::{GraphName, Literal, NamedNode, Quad, Term, vocab::xsd};
use oxigraph::store::Store;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What can go wrong with the knowledge graph.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum KgError {
    /// A file could not be read.
    #[error("cannot read `{path}`: {message}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// RDF that does not parse; nothing of the file was loaded.
    #[error("{file}:{line}:{column}: {message}")]
    #[diagnostic(help("nothing of this file was loaded; the store is as it was"))]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What the parser says.
        message: String,
    },
    /// A file whose extension names no RDF format.
    #[error(
        "`{0}`: unknown RDF format (use .ttl, .nt, .nq, .trig, .rdf, .owl, .xml, .n3, optionally .gz)"
    )]
    UnknownFormat(String),
    /// A SPARQL query or update that does not parse or fails.
    #[error("SPARQL: {0}")]
    Sparql(String),
    /// A SPARQL query or update refused before it was parsed or run: too
    /// long, nested too deep, too many patterns (see [`SparqlLimits`]).
    #[error("SPARQL {line}:{column}: {message}")]
    #[diagnostic(help(
        "queries are bounded so that none can exhaust the stack or the planner; split or flatten it"
    ))]
    Refused {
        /// 1-based line in the query text.
        line: usize,
        /// 1-based column (characters).
        column: usize,
        /// Byte offset in the query text.
        offset: usize,
        /// What is too big.
        message: String,
    },
    /// A SPARQL query or update that does not parse: an unknown prefix,
    /// or the place where the parser stopped.
    #[error("SPARQL {line}:{column}: {message}")]
    SparqlSyntax {
        /// 1-based line in the query text.
        line: usize,
        /// 1-based column (characters).
        column: usize,
        /// Byte offset in the query text.
        offset: usize,
        /// What is wrong.
        message: String,
        /// What to do about it.
        #[help]
        help: String,
    },
    /// A query stopped at a limit: time, cancellation, or the number of
    /// results.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Stopped(nesy_engine::Error),
    /// The store itself failed.
    #[error("store: {0}")]
    Storage(String),
    /// An on-disk store was asked for in a build without it.
    #[error(
        "this build has no on-disk store; rebuild with `--features rocksdb`: `cargo build --release -p nesy-cli --features rocksdb`"
    )]
    #[diagnostic(help(
        "RocksDB is compiled from C++: it needs a C++ compiler and libclang (Debian: `apt-get install g++ libclang-dev`) and takes tens of minutes the first time"
    ))]
    NoDiskStore,
}

/// How long a load took and what it added.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadSummary {
    /// Quads in the file.
    pub quads: usize,
    /// Wall-clock time.
    pub time: Duration,
}

/// A reader that reports how many bytes went through it.
struct Counting<R, F> {
    inner: R,
    read: u64,
    progress: F,
}

impl<R: Read, F: FnMut(u64)> Read for Counting<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.progress)(self.read);
        Ok(n)
    }
}

/// A knowledge graph backed by an oxigraph store.
#[derive(Clone)]
pub struct Graph {
    store: Store,
    /// The common prefixes and those of the Turtle and TriG loaded by
    /// this value (a store on disk does not keep them).
    prefixes: Arc<Mutex<Prefixes>>,
}

/// The RDF format a file name stands for (`.gz` is looked through).
pub fn format_of(path: &Path) -> Option<(RdfFormat, bool)> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let (name, gz) = match name.strip_suffix(".gz") {
        Some(stem) => (stem.to_string(), true),
        None => (name, false),
    };
    let ext = Path::new(&name).extension()?.to_str()?.to_string();
    let format = match ext.as_str() {
        "owl" | "xml" => RdfFormat::RdfXml,
        other => RdfFormat::from_extension(other)?,
    };
    Some((format, gz))
}

impl Graph {
    /// An empty graph in memory.
    pub fn in_memory() -> Result<Self, KgError> {
        Ok(Graph {
            store: Store::new().map_err(|e| KgError::Storage(e.to_string()))?,
            prefixes: Arc::new(Mutex::new(Prefixes::common())),
        })
    }

    /// The on-disk store in `dir` (created if missing).
    #[cfg(feature = "rocksdb")]
    pub fn open(dir: &Path) -> Result<Self, KgError> {
        Ok(Graph {
            store: Store::open(dir).map_err(|e| KgError::Storage(e.to_string()))?,
            prefixes: Arc::new(Mutex::new(Prefixes::common())),
        })
    }

    /// The on-disk store in `dir` (created if missing).
    #[cfg(not(feature = "rocksdb"))]
    pub fn open(_dir: &Path) -> Result<Self, KgError> {
        Err(KgError::NoDiskStore)
    }

    /// Loads an RDF file, all or nothing, into the default graph or `graph`.
    pub fn load_file(&self, path: &Path, graph: Option<&str>) -> Result<LoadSummary, KgError> {
        self.load_file_with_progress(path, graph, |_| {})
    }

    /// [`Graph::load_file`], calling `progress` with the bytes of the file
    /// read so far (for a progress bar).
    pub fn load_file_with_progress(
        &self,
        path: &Path,
        graph: Option<&str>,
        progress: impl FnMut(u64),
    ) -> Result<LoadSummary, KgError> {
        let display = path.display().to_string();
        let (format, gz) =
            format_of(path).ok_or_else(|| KgError::UnknownFormat(display.clone()))?;
        let file = std::fs::File::open(path).map_err(|e| KgError::Io {
            path: display.clone(),
            message: e.to_string(),
        })?;
        let file = Counting {
            inner: file,
            read: 0,
            progress,
        };
        let reader: Box<dyn Read + '_> = if gz {
            Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
                file,
            )))
        } else {
            Box::new(std::io::BufReader::new(file))
        };
        self.load_reader(reader, format, &display, graph)
    }

    /// Loads RDF text; `format` is a file extension (`"turtle"` and `"ttl"`
    /// both work).
    pub fn load_str(&self, text: &str, format: &str) -> Result<LoadSummary, KgError> {
        let format = match format {
            "turtle" => RdfFormat::Turtle,
            other => RdfFormat::from_extension(other)
                .ok_or_else(|| KgError::UnknownFormat(other.to_string()))?,
        };
        self.load_reader(text.as_bytes(), format, "<text>", None)
    }

    fn load_reader(
        &self,
        reader: impl Read,
        format: RdfFormat,
        name: &str,
        graph: Option<&str>,
    ) -> Result<LoadSummary, KgError> {
        let start = Instant::now();
        let reader = guard_entities(reader, format, name)?;
        let mut parser = RdfParser::from_format(format);
        if let Some(g) = graph {
            let node =
                NamedNode::new(g).map_err(|e| KgError::Sparql(format!("graph IRI `{g}`: {e}")))?;
            parser = parser.with_default_graph(node);
        }
        // Parse everything first: a syntax error leaves the store untouched.
        let mut parsed = parser.rename_blank_nodes().for_reader(reader);
        let quads: Vec<Quad> = parsed
            .by_ref()
            .collect::<Result<_, _>>()
            .map_err(|e| parse_error(e, name))?;
        let found: Vec<(String, String)> = parsed
            .prefixes()
            .map(|(label, iri)| (label.to_string(), iri.to_string()))
            .collect();
        let count = quads.len();
        self.store
            .transaction(|mut t| {
                for quad in &quads {
                    t.insert(quad.as_ref())?;
                }
                Ok::<(), oxigraph::store::StorageError>(())
            })
            .map_err(|e| KgError::Storage(e.to_string()))?;
        if let Ok(mut prefixes) = self.prefixes.lock() {
            for (label, iri) in found {
                prefixes.add(&label, &iri);
            }
        }
        Ok(LoadSummary {
            quads: count,
            time: start.elapsed(),
        })
    }

    /// The prefixes a query on this graph knows without declaring them:
    /// `rdf`, `rdfs`, `owl`, `xsd`, and those of the Turtle and TriG files
    /// loaded through this value (the last file's win).
    pub fn prefixes(&self) -> Prefixes {
        self.prefixes
            .lock()
            .map(|p| p.clone())
            .unwrap_or_else(|_| Prefixes::common())
    }

    /// Quads in the store.
    pub fn len(&self) -> Result<usize, KgError> {
        self.store
            .len()
            .map_err(|e| KgError::Storage(e.to_string()))
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> Result<bool, KgError> {
        Ok(self.len()? == 0)
    }

    /// Runs a SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE) and writes
    /// its results: solutions and booleans in `options.results_format`,
    /// graphs in `options.graph_format`. The query is bounded first
    /// ([`SparqlLimits`]), and stops at `options.limits` (time, the cancel
    /// flag, `max_tuples` results). Returns what was written.
    pub fn run_query(
        &self,
        sparql: &str,
        options: &QueryOptions,
        out: impl Write + Send,
    ) -> Result<QueryForm, KgError> {
        sparql::on_query_stack(|| sparql::run(&self.store, sparql, options, out))?
    }

    /// Runs a query and writes its results: solutions and booleans in
    /// `format` (`json`, `xml`, `csv`, `tsv`), graphs as N-Triples (or
    /// Turtle with `format` = `ttl`).
    pub fn write_query(
        &self,
        sparql: &str,
        format: &str,
        out: impl Write + Send,
    ) -> Result<(), KgError> {
        self.write_query_with(sparql, format, false, out)
    }

    /// [`Graph::write_query`]; with `union`, the default graph is the
    /// union of every graph.
    pub fn write_query_with(
        &self,
        sparql: &str,
        format: &str,
        union: bool,
        out: impl Write + Send,
    ) -> Result<(), KgError> {
        let graph_format = if format == "ttl" { "ttl" } else { "nt" };
        let options = QueryOptions {
            union,
            results_format: format.to_string(),
            graph_format: graph_format.to_string(),
            prefixes: self.prefixes(),
            ..QueryOptions::default()
        };
        self.run_query(sparql, &options, out).map(drop)
    }

    /// Runs a SPARQL update (bounded as queries are).
    pub fn update(&self, sparql: &str) -> Result<(), KgError> {
        sparql::on_query_stack(|| {
            let update = sparql::parse_update(sparql, &SparqlLimits::default(), &self.prefixes())?;
            self.store
                .update(oxigraph::sparql::Update::from(update))
                .map_err(|e| KgError::Sparql(e.to_string()))
        })?
    }

    /// Writes every quad as N-Quads (or `format`: `nt`, `ttl`, `trig`, ...);
    /// Turtle and TriG start with the graph's [`Graph::prefixes`] and use
    /// them.
    pub fn export(&self, format: &str, out: impl Write) -> Result<(), KgError> {
        let rdf = RdfFormat::from_extension(format)
            .ok_or_else(|| KgError::UnknownFormat(format.to_string()))?;
        let mut serializer = RdfSerializer::from_format(rdf);
        if matches!(rdf, RdfFormat::Turtle | RdfFormat::TriG) {
            for (label, iri) in self.prefixes().iter() {
                serializer = serializer
                    .with_prefix(label, iri)
                    .map_err(|e| KgError::Storage(format!("prefix `{label}:`: {e}")))?;
            }
        }
        let mut serializer = serializer.for_writer(out);
        for quad in self.store.iter() {
            let quad = quad.map_err(|e| KgError::Storage(e.to_string()))?;
            if rdf.supports_datasets() {
                serializer.serialize_quad(&quad)
            } else {
                serializer.serialize_triple(quad.as_ref())
            }
            .map_err(|e| KgError::Storage(e.to_string()))?;
        }
        serializer
            .finish()
            .map_err(|e| KgError::Storage(e.to_string()))?;
        Ok(())
    }

    /// The rows of a SELECT: variable names and values.
    pub fn select(&self, sparql: &str) -> Result<(Vec<String>, Vec<Vec<Value>>), KgError> {
        self.select_with(sparql, &QueryOptions::default())
    }

    /// [`Graph::select`] under `options` (union default graph, limits).
    pub fn select_with(
        &self,
        sparql: &str,
        options: &QueryOptions,
    ) -> Result<(Vec<String>, Vec<Vec<Value>>), KgError> {
        let (variables, rows) =
            sparql::on_query_stack(|| sparql::select(&self.store, sparql, options))??;
        // Rows with an unbound variable have no fact to make.
        let rows = rows
            .into_iter()
            .filter_map(|row| {
                row.iter()
                    .map(|t| t.as_ref().map(term_value))
                    .collect::<Option<Vec<Value>>>()
            })
            .collect();
        Ok((variables, rows))
    }

    /// Every triple (of every graph) as `(predicate IRI, subject, object)`.
    pub fn facts(&self) -> Result<Vec<(String, Value, Value)>, KgError> {
        let mut out = Vec::new();
        for quad in self.store.iter() {
            let quad = quad.map_err(|e| KgError::Storage(e.to_string()))?;
            out.push((
                quad.predicate.as_str().to_string(),
                term_value(&quad.subject.into()),
                term_value(&quad.object),
            ));
        }
        Ok(out)
    }

    /// Inserts `(subject, predicate IRI, object)` triples into the named
    /// graph `graph` (the default graph for `None`); returns how many were
    /// new. Values that are not IRIs become literals (symbols as plain
    /// strings); triples whose subject is not an IRI are skipped.
    pub fn insert_triples(
        &self,
        graph: Option<&str>,
        triples: &[(Value, String, Value)],
    ) -> Result<usize, KgError> {
        let graph = match graph {
            Some(g) => GraphName::NamedNode(
                NamedNode::new(g).map_err(|e| KgError::Sparql(format!("graph IRI `{g}`: {e}")))?,
            ),
            None => GraphName::DefaultGraph,
        };
        let mut quads = Vec::new();
        for (s, p, o) in triples {
            let Value::Iri(subject) = s else { continue };
            let (Ok(subject), Ok(predicate)) =
                (NamedNode::new(subject.as_ref()), NamedNode::new(p.as_str()))
            else {
                continue;
            };
            quads.push(Quad::new(subject, predicate, value_term(o), graph.clone()));
        }
        self.store
            .transaction(|mut t| {
                let mut new = 0;
                for q in &quads {
                    if t.insert(q.as_ref())? {
                        new += 1;
                    }
                }
                Ok::<usize, oxigraph::store::StorageError>(new)
            })
            .map_err(|e| KgError::Storage(e.to_string()))
    }
}

/// RDF/XML is read whole and its entities bounded before the parser sees
/// it (see `rdfxml.rs`); other formats stream as they are.
fn guard_entities<'r>(
    mut reader: impl Read + 'r,
    format: RdfFormat,
    name: &str,
) -> Result<Box<dyn Read + 'r>, KgError> {
    if format != RdfFormat::RdfXml {
        return Ok(Box::new(reader));
    }
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(|e| KgError::Io {
        path: name.to_string(),
        message: e.to_string(),
    })?;
    rdfxml::check_entities(&bytes, name)?;
    Ok(Box::new(std::io::Cursor::new(bytes)))
}

fn parse_error(e: oxigraph::io::RdfParseError, name: &str) -> KgError {
    match e {
        oxigraph::io::RdfParseError::Syntax(s) => {
            let (line, column) = s
                .location()
                .map_or((0, 0), |l| (l.start.line + 1, l.start.column + 1));
            KgError::Syntax {
                file: name.to_string(),
                line,
                column,
                message: s.to_string(),
            }
        }
        oxigraph::io::RdfParseError::Io(e) => KgError::Io {
            path: name.to_string(),
            message: e.to_string(),
        },
    }
}

/// An RDF term as a nesy value: IRIs stay IRIs, typed literals become
/// numbers and booleans, other literals strings, blank nodes `_:id` symbols.
pub fn term_value(term: &Term) -> Value {
    match term {
        Term::NamedNode(n) => Value::iri(n.as_str()),
        Term::BlankNode(b) => Value::symbol(format!("_:{}", b.as_str())),
        Term::Literal(l) => literal_value(l),
        #[allow(
            unreachable_patterns,
            reason = "RDF-star triples when oxigraph's feature is on"
        )]
        _ => Value::string(term.to_string()),
    }
}

fn literal_value(l: &Literal) -> Value {
    let dt = l.datatype();
    let text = l.value();
    let integer = [
        xsd::INTEGER,
        xsd::INT,
        xsd::LONG,
        xsd::SHORT,
        xsd::BYTE,
        xsd::NON_NEGATIVE_INTEGER,
        xsd::POSITIVE_INTEGER,
        xsd::NEGATIVE_INTEGER,
        xsd::NON_POSITIVE_INTEGER,
        xsd::UNSIGNED_INT,
        xsd::UNSIGNED_LONG,
        xsd::UNSIGNED_SHORT,
        xsd::UNSIGNED_BYTE,
    ];
    if integer.contains(&dt)
        && let Ok(i) = text.trim().parse::<i64>()
    {
        return Value::Int(i);
    }
    if [xsd::DECIMAL, xsd::DOUBLE, xsd::FLOAT].contains(&dt)
        && let Ok(x) = text.trim().parse::<f64>()
        && x.is_finite()
    {
        return Value::float(x);
    }
    if dt == xsd::BOOLEAN {
        match text.trim() {
            "true" | "1" => return Value::Bool(true),
            "false" | "0" => return Value::Bool(false),
            _ => {}
        }
    }
    Value::string(text)
}

/// A nesy value as an RDF term (the inverse of [`term_value`] for IRIs,
/// numbers, booleans and strings; symbols become plain literals).
pub fn value_term(value: &Value) -> Term {
    match value {
        Value::Iri(i) => NamedNode::new(i.as_ref()).map_or_else(
            |_| Literal::new_simple_literal(i.as_ref()).into(),
            Term::from,
        ),
        Value::Int(i) => Literal::from(*i).into(),
        Value::Float(x) => Literal::from(*x).into(),
        Value::Bool(b) => Literal::from(*b).into(),
        Value::String(s) | Value::Symbol(s) => Literal::new_simple_literal(s.as_ref()).into(),
    }
}
