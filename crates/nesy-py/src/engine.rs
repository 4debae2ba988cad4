//! `nesy.Engine`: the decision API. Built once from rules, knowledge and
//! models; then decisions, answers and explanations with request-scoped
//! input, from any number of Python threads at once (the GIL is released
//! while the engine works; the engine is immutable and shared).

use crate::errors::OrRaise;
use crate::limits::limits;
use crate::values::{json_to_py, py_to_json};
use nesy::{DecideOptions, Input};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A decision engine.
#[pyclass(module = "nesy", name = "Engine", frozen)]
pub(crate) struct Engine {
    inner: nesy::Engine,
}

/// A decision's input from Python: `{"relation": [row, ...]}`, each row a
/// list of values in argument order or a dict by `@decl` field name.
fn input(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Input> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Input::new());
    };
    serde_json::from_value(py_to_json(obj)?).map_err(|e| {
        PyTypeError::new_err(format!(
            "input is {{\"relation\": [row, ...]}}, each row a list of values or a dict by field name: {e}"
        ))
    })
}

#[pymethods]
impl Engine {
    /// Builds an engine from rule files (`rules`), rule text (`source`),
    /// knowledge files (`knowledge`: RDF or tables, as `@import` reads
    /// them), models (`models`: `{name: path}`, as `@model` declares
    /// them), a semiring for probabilities, and a `timeout` in seconds
    /// for each call. With `confine_to`, `@import`s and `@model`s may read
    /// only below those directories.
    #[new]
    #[pyo3(signature = (rules = Vec::new(), knowledge = Vec::new(), models = None, semiring = "bool", source = None, timeout = None, confine_to = None))]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn new(
        py: Python<'_>,
        rules: Vec<PathBuf>,
        knowledge: Vec<PathBuf>,
        models: Option<BTreeMap<String, PathBuf>>,
        semiring: &str,
        source: Option<String>,
        timeout: Option<f64>,
        confine_to: Option<Vec<PathBuf>>,
    ) -> PyResult<Self> {
        let mut builder = nesy::Engine::builder()
            .semiring(crate::limits::semiring(semiring)?)
            .limits(limits(timeout)?);
        for r in &rules {
            builder = builder.rules(r);
        }
        if let Some(text) = &source {
            builder = builder.rules_text("<source>", text);
        }
        for k in &knowledge {
            builder = builder.knowledge(k);
        }
        for (name, path) in models.iter().flatten() {
            builder = builder.model(name, path);
        }
        if let Some(dirs) = confine_to {
            builder = builder.confine_to(dirs);
        }
        let inner = py.detach(|| builder.build()).or_raise(py)?;
        Ok(Engine { inner })
    }

    /// The tuples of relation `name` that hold with `input`, as the HTTP
    /// API's `POST /v1/decide/{name}` answers: `decision`, `holds`,
    /// `results` (each `args` and `probability`, and with `explain` its
    /// `explanation`), `metrics` (`eval_us`), and with `explain`, when
    /// nothing holds, `why_not`. `semiring` overrides the engine's for
    /// this call; `only="input"` lists only the tuples the input adds.
    #[pyo3(signature = (name, input = None, explain = false, semiring = None, only = "all"))]
    fn decide<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        input: Option<&Bound<'py, PyAny>>,
        explain: bool,
        semiring: Option<&str>,
        only: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = self::input(input)?;
        let only_input = match only {
            "all" => false,
            "input" => true,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "only is \"all\" or \"input\", not {other:?}"
                )));
            }
        };
        let options = DecideOptions {
            explain,
            only_input,
            semiring: semiring.map(crate::limits::semiring).transpose()?,
            ..DecideOptions::default()
        };
        let engine = &self.inner;
        let decision = py
            .detach(|| engine.decide(name, &input, &options))
            .or_raise(py)?;
        let out = PyDict::new(py);
        out.set_item("decision", &decision.decision)?;
        out.set_item("holds", decision.holds)?;
        out.set_item("results", json_to_py(py, &decision.results)?)?;
        let metrics = PyDict::new(py);
        metrics.set_item("eval_us", decision.eval_us)?;
        out.set_item("metrics", metrics)?;
        if let Some(w) = &decision.why_not {
            out.set_item("why_not", json_to_py(py, w)?)?;
        }
        Ok(out.into_any())
    }

    /// The answers to a goal with `input`: one dict per answer by
    /// variable (and `probability` under a semiring).
    #[pyo3(signature = (goal, input = None))]
    fn query<'py>(
        &self,
        py: Python<'py>,
        goal: &str,
        input: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = self::input(input)?;
        let engine = &self.inner;
        let answers = py.detach(|| engine.query(goal, &input)).or_raise(py)?;
        Ok(crate::program::answers_to_py(py, &answers)?.into_any())
    }

    /// Why a fact holds with `input`, or why not, as the HTTP API's
    /// `POST /v1/explain` answers: `{"explanations": [...]}`.
    #[pyo3(signature = (fact, input = None))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        fact: &str,
        input: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = self::input(input)?;
        let engine = &self.inner;
        let explanations = py.detach(|| engine.explain(fact, &input)).or_raise(py)?;
        let out = PyDict::new(py);
        out.set_item("explanations", json_to_py(py, &explanations)?)?;
        Ok(out.into_any())
    }

    /// What the engine was built from: `sources`, `models`, `relations`
    /// (with arities), `derived`, `declared`, `semiring`.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, self.inner.info())
    }

    fn __repr__(&self) -> String {
        format!("nesy.Engine({:?})", self.inner.info().sources)
    }
}
