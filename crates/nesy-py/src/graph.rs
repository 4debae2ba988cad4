//! `nesy.kg.Graph`: an oxigraph store (in memory, or on disk with the
//! `rocksdb` build), RDF loading and bounded SPARQL, rows as dicts.

use crate::errors::OrRaise;
use crate::limits::limits;
use nesy::kg::{Graph as KgGraph, KgError, QueryOptions};
use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::PathBuf;

/// A knowledge graph.
#[pyclass(module = "nesy.kg", name = "Graph", frozen)]
pub(crate) struct Graph {
    inner: KgGraph,
}

fn graph_error(e: KgError) -> nesy::Error {
    nesy::Error::Graph(nesy::GraphError {
        location: None,
        source: Box::new(e),
    })
}

#[pymethods]
impl Graph {
    /// A graph in memory, or the on-disk store in `store` (a directory,
    /// created if missing; needs nesy built with the `rocksdb` feature).
    #[new]
    #[pyo3(signature = (store = None))]
    fn new(py: Python<'_>, store: Option<PathBuf>) -> PyResult<Self> {
        let inner = match store {
            Some(dir) => py.detach(|| KgGraph::open(&dir)),
            None => KgGraph::in_memory(),
        }
        .map_err(graph_error)
        .or_raise(py)?;
        Ok(Graph { inner })
    }

    /// Loads an RDF file (Turtle, N-Triples, N-Quads, TriG, RDF/XML, by
    /// its extension), all or nothing, into the default graph or the named
    /// graph `graph`; returns the number of quads.
    #[pyo3(signature = (path, graph = None))]
    fn load(&self, py: Python<'_>, path: PathBuf, graph: Option<&str>) -> PyResult<usize> {
        let g = &self.inner;
        let summary = py
            .detach(|| g.load_file(&path, graph))
            .map_err(graph_error)
            .or_raise(py)?;
        Ok(summary.quads)
    }

    /// Loads RDF text in `format` (`ttl`, `nt`, `nq`, `trig`, `rdf`).
    #[pyo3(signature = (text, format = "ttl"))]
    fn load_text(&self, py: Python<'_>, text: &str, format: &str) -> PyResult<usize> {
        let g = &self.inner;
        let summary = py
            .detach(|| g.load_str(text, format))
            .map_err(graph_error)
            .or_raise(py)?;
        Ok(summary.quads)
    }

    /// The rows of a SELECT query as dicts by variable: IRIs and strings
    /// as `str`, numbers and booleans typed, unbound variables left out.
    /// `rdf:`, `rdfs:`, `owl:`, `xsd:` and the loaded files' prefixes need
    /// no `PREFIX` line.
    #[pyo3(signature = (sparql, timeout = None))]
    fn select<'py>(
        &self,
        py: Python<'py>,
        sparql: &str,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let json = self.results(py, sparql, timeout, "json")?;
        let parsed: serde_json::Value = serde_json::from_str(&json)
            .map_err(|e| PyValueError::new_err(format!("SPARQL results: {e}")))?;
        let rows = PyList::empty(py);
        let Some(bindings) = parsed
            .pointer("/results/bindings")
            .and_then(|b| b.as_array())
        else {
            return Err(PyValueError::new_err(
                "not a SELECT query: use ask() for ASK, query() for CONSTRUCT and DESCRIBE",
            ));
        };
        for binding in bindings {
            let row = PyDict::new(py);
            if let Some(map) = binding.as_object() {
                for (var, term) in map {
                    row.set_item(var, term_to_py(py, term)?)?;
                }
            }
            rows.append(row)?;
        }
        Ok(rows)
    }

    /// The answer of an ASK query.
    #[pyo3(signature = (sparql, timeout = None))]
    fn ask(&self, py: Python<'_>, sparql: &str, timeout: Option<f64>) -> PyResult<bool> {
        let json = self.results(py, sparql, timeout, "json")?;
        let parsed: serde_json::Value = serde_json::from_str(&json)
            .map_err(|e| PyValueError::new_err(format!("SPARQL results: {e}")))?;
        parsed
            .get("boolean")
            .and_then(serde_json::Value::as_bool)
            .ok_or_else(|| PyValueError::new_err("not an ASK query"))
    }

    /// Any query's results as text: solutions in `format` (`json`, `xml`,
    /// `csv`, `tsv`), graphs (CONSTRUCT, DESCRIBE) as N-Triples, or Turtle
    /// with `format="ttl"`.
    #[pyo3(signature = (sparql, format = "json", timeout = None))]
    fn query(
        &self,
        py: Python<'_>,
        sparql: &str,
        format: &str,
        timeout: Option<f64>,
    ) -> PyResult<String> {
        self.results(py, sparql, timeout, format)
    }

    /// Runs a SPARQL update.
    fn update(&self, py: Python<'_>, sparql: &str) -> PyResult<()> {
        let g = &self.inner;
        py.detach(|| g.update(sparql))
            .map_err(graph_error)
            .or_raise(py)
    }

    /// The whole graph as text (`ttl`, with the known prefixes; `nt`,
    /// `nq`, `trig`, `rdf`).
    #[pyo3(signature = (format = "ttl"))]
    fn export(&self, py: Python<'_>, format: &str) -> PyResult<String> {
        let g = &self.inner;
        let mut out = Vec::new();
        py.detach(|| g.export(format, &mut out))
            .map_err(graph_error)
            .or_raise(py)?;
        String::from_utf8(out).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.inner.len().map_err(graph_error).or_raise(py)
    }

    fn __repr__(&self) -> String {
        match self.inner.len() {
            Ok(n) => format!("nesy.kg.Graph({n} quads)"),
            Err(_) => "nesy.kg.Graph(?)".to_string(),
        }
    }
}

impl Graph {
    fn results(
        &self,
        py: Python<'_>,
        sparql: &str,
        timeout: Option<f64>,
        format: &str,
    ) -> PyResult<String> {
        let options = QueryOptions {
            results_format: format.to_string(),
            graph_format: if format == "ttl" { "ttl" } else { "nt" }.to_string(),
            limits: limits(timeout)?,
            prefixes: self.inner.prefixes(),
            ..QueryOptions::default()
        };
        let g = &self.inner;
        let mut out = Vec::new();
        py.detach(|| g.run_query(sparql, &options, &mut out))
            .map_err(graph_error)
            .or_raise(py)?;
        String::from_utf8(out).map_err(|e| PyValueError::new_err(e.to_string()))
    }
}

const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

/// A SPARQL JSON results term as a Python value: numbers and booleans of
/// the XSD types typed, everything else its text (blank nodes `_:id`).
fn term_to_py<'py>(py: Python<'py>, term: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    let value = term.get("value").and_then(|v| v.as_str()).unwrap_or("");
    let kind = term.get("type").and_then(|v| v.as_str()).unwrap_or("");
    if kind == "bnode" {
        return format!("_:{value}").into_bound_py_any(py);
    }
    let datatype = term
        .get("datatype")
        .and_then(|v| v.as_str())
        .and_then(|d| d.strip_prefix(XSD));
    match datatype {
        Some(
            "integer" | "int" | "long" | "short" | "byte" | "nonNegativeInteger"
            | "positiveInteger" | "negativeInteger" | "nonPositiveInteger" | "unsignedInt"
            | "unsignedLong" | "unsignedShort" | "unsignedByte",
        ) => {
            if let Ok(i) = value.parse::<i64>() {
                return i.into_bound_py_any(py);
            }
        }
        Some("decimal" | "double" | "float") => {
            if let Ok(f) = value.parse::<f64>() {
                return f.into_bound_py_any(py);
            }
        }
        Some("boolean") => return (value == "true" || value == "1").into_bound_py_any(py),
        _ => {}
    }
    value.into_bound_py_any(py)
}
