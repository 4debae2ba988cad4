//! `nesy._nesy.Layer`: [`nesy::Layer`] for `nesy.torch.Layer`, which wraps
//! it in a `torch.autograd.Function` (the forward pass here gives the
//! output probabilities and their Jacobian; torch multiplies the incoming
//! gradient by it).

use crate::errors::OrRaise;
use crate::limits::limits;
use crate::program::Program;
use crate::values::from_py;
use nesy::Value;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

/// A program as a differentiable function of input fact probabilities.
#[pyclass(module = "nesy", name = "_Layer", frozen)]
pub(crate) struct Layer {
    inner: nesy::Layer,
}

/// `[(relation, [tuple, ...]), ...]` from Python.
fn facts(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<(String, Vec<Vec<Value>>)>> {
    let bad = || {
        PyTypeError::new_err(format!(
            "{what} are [(relation, [tuple of values, ...]), ...]"
        ))
    };
    let mut out = Vec::new();
    for item in obj.try_iter().map_err(|_| bad())? {
        let (name, tuples): (String, Bound<'_, PyAny>) = item?.extract().map_err(|_| bad())?;
        let mut rows = Vec::new();
        for tuple in tuples.try_iter().map_err(|_| bad())? {
            let tuple = tuple?;
            let row = tuple
                .try_iter()
                .map_err(|_| bad())?
                .map(|v| from_py(&v?))
                .collect::<PyResult<Vec<Value>>>()?;
            rows.push(row);
        }
        out.push((name, rows));
    }
    Ok(out)
}

#[pymethods]
impl Layer {
    #[new]
    #[pyo3(signature = (program, inputs, outputs, semiring, exclusive = true))]
    fn new(
        py: Python<'_>,
        program: PyRef<'_, Program>,
        inputs: &Bound<'_, PyAny>,
        outputs: &Bound<'_, PyAny>,
        semiring: &str,
        exclusive: bool,
    ) -> PyResult<Self> {
        let inputs = facts(inputs, "inputs")?;
        let outputs = facts(outputs, "outputs")?;
        let semiring = crate::limits::semiring(semiring)?;
        let inner = nesy::Layer::new(&program.inner, &inputs, exclusive, &outputs, semiring)
            .or_raise(py)?;
        Ok(Layer { inner })
    }

    /// How many input probabilities an item has.
    #[getter]
    fn inputs(&self) -> usize {
        self.inner.inputs()
    }

    /// How many output probabilities an item gets.
    #[getter]
    fn outputs(&self) -> usize {
        self.inner.outputs()
    }

    /// For each item of the batch (a list of input probabilities): its
    /// output probabilities, and the Jacobian (outputs x inputs).
    #[pyo3(signature = (batch, timeout = None))]
    #[allow(clippy::type_complexity, reason = "lists for Python")]
    fn forward(
        &self,
        py: Python<'_>,
        batch: Vec<Vec<f64>>,
        timeout: Option<f64>,
    ) -> PyResult<(Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>)> {
        let limits = limits(timeout)?;
        let layer = &self.inner;
        let out = py
            .detach(|| layer.forward_batch(&batch, &limits))
            .or_raise(py)?;
        Ok(out
            .into_iter()
            .map(|o| (o.probabilities, o.jacobian))
            .unzip())
    }
}
