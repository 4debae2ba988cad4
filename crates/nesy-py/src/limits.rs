//! `timeout=` and `semiring=` arguments as the engine takes them.

use nesy::{Limits, Semiring};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::time::Duration;

/// Limits with a timeout in seconds (`None`: the engine's defaults).
pub(crate) fn limits(timeout: Option<f64>) -> PyResult<Limits> {
    let mut limits = Limits::default();
    if let Some(t) = timeout {
        if !(t.is_finite() && t > 0.0) {
            return Err(PyValueError::new_err(format!(
                "timeout must be a positive number of seconds, got {t}"
            )));
        }
        limits.timeout = Some(Duration::from_secs_f64(t.min(1e9)));
    }
    Ok(limits)
}

/// A semiring by the name `--semiring` takes: `bool`, `max-prob`,
/// `add-mult`, `top-k(K)`, `why`, `diff-top-k(K)`.
pub(crate) fn semiring(name: &str) -> PyResult<Semiring> {
    name.parse::<Semiring>().map_err(PyValueError::new_err)
}
