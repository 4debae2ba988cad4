//! Python bindings of nesy: the extension module `nesy._nesy`, which the
//! Python package `nesy` (crates/nesy-py/python/nesy) re-exports with its
//! type stubs. Built by maturin (`pip install .` at the repository root).
//!
//! ```python
//! import nesy
//! program = nesy.Program.from_source("""
//!     parent(alice, bob). parent(bob, carol).
//!     ancestor(X, Y) :- parent(X, Y).
//!     ancestor(X, Z) :- ancestor(X, Y), parent(Y, Z).
//! """)
//! assert program.query("ancestor(alice, X)") == [{"X": "bob"}, {"X": "carol"}]
//! ```
//!
//! Every call that evaluates releases the GIL: Python threads decide,
//! query and explain at once on one `nesy.Engine`.

use pyo3::prelude::*;

mod engine;
mod errors;
mod graph;
mod layer;
mod limits;
mod program;
mod trainers;
mod values;

/// The extension module.
#[pymodule]
fn _nesy(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<program::Program>()?;
    m.add_class::<program::Evaluation>()?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<graph::Graph>()?;
    m.add_class::<layer::Layer>()?;
    m.add_function(wrap_pyfunction!(program::check, m)?)?;
    m.add_function(wrap_pyfunction!(trainers::train_tree, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
