//! `nesy.Program` (rules loaded for batch work: evaluate, query, explain,
//! run the tests) and `nesy.Evaluation` (what an evaluation derived).

use crate::errors::OrRaise;
use crate::limits::limits;
use crate::values::{json_to_py, tuple};
use nesy::{ExplainOptions, Semiring, TaggedEvaluation, Value};
use pyo3::exceptions::{PyImportError, PyKeyError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::path::PathBuf;

/// Rules, with their imports and models loaded.
#[pyclass(module = "nesy", name = "Program")]
pub(crate) struct Program {
    pub(crate) inner: nesy::Program,
    name: String,
}

#[pymethods]
impl Program {
    /// Reads, checks and compiles rule files (their `@import`s and
    /// `@model`s resolve against each file's directory).
    #[staticmethod]
    #[pyo3(signature = (*paths))]
    fn from_file(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<Self> {
        let name = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let inner = py
            .detach(|| nesy::Program::from_files(&paths))
            .or_raise(py)?;
        Ok(Program { inner, name })
    }

    /// Checks and compiles rule text; `name` is the file name messages
    /// give (paths in it resolve against the current directory).
    #[staticmethod]
    #[pyo3(signature = (text, name = "<source>"))]
    fn from_source(py: Python<'_>, text: &str, name: &str) -> PyResult<Self> {
        let inner = py
            .detach(|| nesy::Program::from_source(name, text))
            .or_raise(py)?;
        Ok(Program {
            inner,
            name: name.to_string(),
        })
    }

    /// Adds a fact: `add_fact("edge", 1, 2)`; `str` values are symbols.
    #[pyo3(signature = (relation, *values))]
    fn add_fact(
        &mut self,
        py: Python<'_>,
        relation: &str,
        values: &Bound<'_, PyTuple>,
    ) -> PyResult<()> {
        let values = values
            .iter()
            .map(|v| crate::values::from_py(&v))
            .collect::<PyResult<Vec<Value>>>()?;
        self.inner.add_fact(relation, values).or_raise(py)
    }

    /// Evaluates every rule, under a semiring (`bool`, `max-prob`,
    /// `add-mult`, `top-k(K)`, `why`, `diff-top-k(K)`), within `timeout`
    /// seconds.
    #[pyo3(signature = (semiring = "bool", timeout = None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        semiring: &str,
        timeout: Option<f64>,
    ) -> PyResult<Evaluation> {
        let kind = crate::limits::semiring(semiring)?;
        let limits = limits(timeout)?;
        let program = &self.inner;
        let inner = if kind == Semiring::Bool {
            Kind::Plain(Box::new(
                py.detach(|| program.evaluate(&limits)).or_raise(py)?,
            ))
        } else {
            let (tagged, _) = py
                .detach(|| program.evaluate_tagged(kind, &limits))
                .or_raise(py)?;
            Kind::Tagged(Box::new(tagged))
        };
        Ok(Evaluation { inner })
    }

    /// The answers to a goal such as `ancestor(alice, X)`: one dict per
    /// answer, by variable name; under a semiring other than `bool`, with
    /// the answer's `probability`.
    #[pyo3(signature = (goal, semiring = "bool", timeout = None))]
    fn query<'py>(
        &self,
        py: Python<'py>,
        goal: &str,
        semiring: &str,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let kind = crate::limits::semiring(semiring)?;
        let limits = limits(timeout)?;
        let program = &self.inner;
        let answers = py
            .detach(|| {
                if kind == Semiring::Bool {
                    program.query(goal, &limits)
                } else {
                    program.query_tagged(goal, kind, &limits)
                }
            })
            .or_raise(py)?;
        answers_to_py(py, &answers)
    }

    /// Why a fact holds (its proof tree) or why not, as `nesy explain
    /// --format json` writes it; for a goal with variables, the first
    /// answer's (see `explain_all`).
    #[pyo3(signature = (fact, semiring = "bool", timeout = None))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        fact: &str,
        semiring: &str,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let all = self.explanations(py, fact, semiring, timeout)?;
        match all.first() {
            Some(first) => json_to_py(py, first),
            None => Err(PyKeyError::new_err(format!(
                "nothing to explain for `{fact}`"
            ))),
        }
    }

    /// Every answer of a goal explained (or why there is none), as a list.
    #[pyo3(signature = (goal, semiring = "bool", timeout = None))]
    fn explain_all<'py>(
        &self,
        py: Python<'py>,
        goal: &str,
        semiring: &str,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let all = self.explanations(py, goal, semiring, timeout)?;
        json_to_py(py, &all)
    }

    /// Runs the files' `@test` blocks: one dict per test, `name`,
    /// `location` and `outcome` (`{"status": "passed"}`, or `failed` with
    /// its `failures`, or `error`).
    #[pyo3(signature = (timeout = None))]
    fn run_tests<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let limits = limits(timeout)?;
        let program = &self.inner;
        let results = py.detach(|| program.run_tests(&limits));
        json_to_py(py, &results)
    }

    /// The checker's warnings: dicts of `code`, `message`, `location`.
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (source, d) in self.inner.warnings() {
            let dict = PyDict::new(py);
            dict.set_item("code", d.code)?;
            dict.set_item("message", &d.message)?;
            dict.set_item("location", source.locate(d).to_string())?;
            list.append(dict)?;
        }
        Ok(list)
    }

    fn __repr__(&self) -> String {
        format!("nesy.Program({:?})", self.name)
    }
}

impl Program {
    fn explanations(
        &self,
        py: Python<'_>,
        goal: &str,
        semiring: &str,
        timeout: Option<f64>,
    ) -> PyResult<Vec<nesy::Explanation>> {
        let kind = crate::limits::semiring(semiring)?;
        let limits = limits(timeout)?;
        let program = &self.inner;
        py.detach(|| program.explain_tagged(goal, &ExplainOptions::default(), kind, &limits))
            .or_raise(py)
    }
}

/// Answers as a list of dicts by variable (and `probability`).
pub(crate) fn answers_to_py<'py>(
    py: Python<'py>,
    answers: &nesy::Answers,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (i, row) in answers.rows.iter().enumerate() {
        let dict = PyDict::new(py);
        for (name, value) in answers.variables.iter().zip(row) {
            dict.set_item(name, crate::values::to_py(py, value)?)?;
        }
        if let Some(p) = answers.probabilities.as_ref().and_then(|p| p.get(i)) {
            dict.set_item("probability", p)?;
        }
        list.append(dict)?;
    }
    Ok(list)
}

enum Kind {
    Plain(Box<nesy::Evaluation>),
    Tagged(Box<TaggedEvaluation>),
}

/// What an evaluation derived: every relation's tuples, and under a
/// semiring their probabilities.
#[pyclass(module = "nesy", name = "Evaluation", frozen)]
pub(crate) struct Evaluation {
    inner: Kind,
}

impl Evaluation {
    /// A relation's rows with their probabilities (1 without a semiring),
    /// sorted.
    fn rows(&self, name: &str) -> PyResult<Vec<(Vec<Value>, f64)>> {
        let unknown = || PyKeyError::new_err(format!("no relation `{name}` in this program"));
        Ok(match &self.inner {
            Kind::Plain(e) => e
                .relation(name)
                .ok_or_else(unknown)?
                .to_vecs()
                .into_iter()
                .map(|r| (r, 1.0))
                .collect(),
            Kind::Tagged(t) => {
                let mut rows: Vec<(Vec<Value>, f64)> = t
                    .relation(name)
                    .ok_or_else(unknown)?
                    .rows
                    .into_iter()
                    .map(|r| (r.tuple, r.probability))
                    .collect();
                rows.sort_by(|a, b| a.0.cmp(&b.0));
                rows
            }
        })
    }
}

#[pymethods]
impl Evaluation {
    /// The relations, by name.
    fn relations(&self) -> Vec<String> {
        match &self.inner {
            Kind::Plain(e) => e.relation_names(),
            Kind::Tagged(t) => t.support.relation_names(),
        }
    }

    /// A relation's tuples, sorted (under a semiring, those of non-zero
    /// probability).
    fn relation<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (row, _) in self.rows(name)? {
            list.append(tuple(py, &row)?)?;
        }
        Ok(list)
    }

    /// A relation's tuples with their probabilities: `[(tuple, p), ...]`.
    fn probabilities<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (row, p) in self.rows(name)? {
            list.append((tuple(py, &row)?, p))?;
        }
        Ok(list)
    }

    /// Whether a tuple holds: `evaluation.contains("edge", 1, 2)`.
    #[pyo3(signature = (relation, *values))]
    fn contains(&self, relation: &str, values: &Bound<'_, PyTuple>) -> PyResult<bool> {
        let values = values
            .iter()
            .map(|v| crate::values::from_py(&v))
            .collect::<PyResult<Vec<Value>>>()?;
        Ok(self.rows(relation)?.iter().any(|(row, _)| {
            row.len() == values.len() && row.iter().zip(&values).all(|(a, b)| same(a, b))
        }))
    }

    /// A relation as a pandas DataFrame: columns `0`, `1`, ... (and
    /// `probability` under a semiring). Needs pandas.
    fn to_pandas<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let pandas = py
            .import("pandas")
            .map_err(|_| PyImportError::new_err("to_pandas needs pandas: pip install pandas"))?;
        let rows = self.rows(name)?;
        let arity = rows.first().map_or(0, |r| r.0.len());
        let mut columns: Vec<String> = (0..arity).map(|i| i.to_string()).collect();
        let tagged = matches!(self.inner, Kind::Tagged(_));
        let data = PyList::empty(py);
        for (row, p) in &rows {
            let items = PyList::empty(py);
            for v in row {
                items.append(crate::values::to_py(py, v)?)?;
            }
            if tagged {
                items.append(p)?;
            }
            data.append(items)?;
        }
        if tagged {
            columns.push("probability".to_string());
        }
        let kwargs = PyDict::new(py);
        kwargs.set_item("columns", columns)?;
        pandas.call_method("DataFrame", (data,), Some(&kwargs))
    }

    fn __repr__(&self) -> String {
        format!("nesy.Evaluation({} relations)", self.relations().len())
    }
}

/// Whether a derived value is the one Python gave: a `str` matches a
/// symbol, a string or an IRI of that text.
fn same(derived: &Value, given: &Value) -> bool {
    match (derived, given) {
        (Value::String(a) | Value::Iri(a), Value::Symbol(b)) => a == b,
        _ => derived == given,
    }
}

/// Checks rule text or a rule file without running it: its diagnostics
/// (errors and warnings) as dicts of `code`, `severity`, `message`,
/// `location`, `help`.
#[pyfunction]
#[pyo3(signature = (text = None, path = None, name = "<source>"))]
pub(crate) fn check<'py>(
    py: Python<'py>,
    text: Option<&str>,
    path: Option<PathBuf>,
    name: &str,
) -> PyResult<Bound<'py, PyList>> {
    let checked = match (text, &path) {
        (Some(t), None) => py.detach(|| nesy::check_source(name, t)),
        (None, Some(p)) => py
            .detach(|| nesy::check_file(p))
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("{}: {e}", p.display())))?,
        _ => {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "check takes the rule text or path=, one of them",
            ));
        }
    };
    let list = PyList::empty(py);
    for d in &checked.diagnostics {
        let dict = PyDict::new(py);
        dict.set_item("code", d.code)?;
        dict.set_item("severity", format!("{:?}", d.severity).to_lowercase())?;
        dict.set_item("message", &d.message)?;
        dict.set_item("location", checked.source.locate(d).to_string())?;
        dict.set_item("help", &d.help)?;
        list.append(dict)?;
    }
    Ok(list)
}
