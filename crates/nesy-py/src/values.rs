//! nesy values to and from Python: symbols, strings and IRIs are `str`,
//! integers `int`, floats `float`, booleans `bool`; JSON-shaped results
//! (explanations, decisions) are dicts and lists, as `json.loads` would
//! give them.

use nesy::Value;
use pyo3::IntoPyObjectExt;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString, PyTuple};

/// A value as Python sees it.
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    match value {
        Value::Symbol(s) | Value::String(s) | Value::Iri(s) => s.as_ref().into_bound_py_any(py),
        Value::Int(i) => i.into_bound_py_any(py),
        Value::Float(f) => f.into_bound_py_any(py),
        Value::Bool(b) => b.into_bound_py_any(py),
    }
}

/// A row as a tuple.
pub(crate) fn tuple<'py>(py: Python<'py>, row: &[Value]) -> PyResult<Bound<'py, PyTuple>> {
    let items = row
        .iter()
        .map(|v| to_py(py, v))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, items)
}

/// A Python value as a fact's argument: `str` a symbol, `int`, finite
/// `float`, `bool`. (A quoted string of the rule language is written in
/// the rules, or given in a decision's input where `@decl` types it.)
pub(crate) fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.extract()?));
    }
    if obj.is_instance_of::<PyInt>() {
        let i: i64 = obj
            .extract()
            .map_err(|_| PyValueError::new_err(format!("{obj} does not fit in 64 bits")))?;
        return Ok(Value::Int(i));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        if !f.is_finite() {
            return Err(PyValueError::new_err(format!(
                "{f} is not a finite number: nesy's floats are finite"
            )));
        }
        return Ok(Value::float(f));
    }
    if obj.is_instance_of::<PyString>() {
        let s: String = obj.extract()?;
        return Ok(Value::symbol(s));
    }
    Err(PyTypeError::new_err(format!(
        "a fact's values are str, int, float or bool, not {}",
        obj.get_type().name()?
    )))
}

/// A serde value (an explanation, a decision) as Python dicts and lists,
/// through its JSON form so that Python sees exactly what `nesy explain
/// --format json` and the HTTP API write.
pub(crate) fn json_to_py<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value)
        .map_err(|e| PyValueError::new_err(format!("cannot convert the result: {e}")))?;
    pythonize::pythonize(py, &json).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Python dicts and lists (a decision's input) as a serde value.
pub(crate) fn py_to_json(obj: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    pythonize::depythonize(obj).map_err(|e| {
        PyTypeError::new_err(format!(
            "the input must be JSON-like (dicts, lists, str, int, finite float, bool): {e}"
        ))
    })
}
