//! nesy's errors as Python exceptions. Every exception is a `NesyError`
//! with the one-line message as its argument and as attributes: `report`
//! (the diagnostics as `nesy check` prints them, source excerpt and caret),
//! `location` (`file:line:col`, or `None`), `file`, `line`, `column`, and
//! `diagnostics` (each error of a rule file: `code`, `message`, `severity`,
//! `location`, `file`, `line`, `column`, `help`). Subclasses say what
//! kind: `RuleError` (the rules do not check), `InputError` (a fact, a
//! decision's input, a request that does not fit the program), `LimitError`
//! (a timeout or budget stopped the work), `GraphError` (RDF or SPARQL).

use miette::{GraphicalReportHandler, GraphicalTheme};
use nesy::{Error, Location};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(
    nesy,
    NesyError,
    PyException,
    "An error of nesy, with `report`, `location`, `file`, `line`, `column` and `diagnostics`."
);
create_exception!(nesy, RuleError, NesyError, "Rules that do not check.");
create_exception!(
    nesy,
    InputError,
    NesyError,
    "A fact, input or request that does not fit the program."
);
create_exception!(
    nesy,
    LimitError,
    NesyError,
    "A time limit, budget or cancellation stopped the work."
);
create_exception!(nesy, GraphError, NesyError, "RDF or SPARQL that failed.");

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("NesyError", py.get_type::<NesyError>())?;
    m.add("RuleError", py.get_type::<RuleError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("LimitError", py.get_type::<LimitError>())?;
    m.add("GraphError", py.get_type::<GraphError>())?;
    Ok(())
}

/// The diagnostic as `nesy check` renders it, without colours.
fn render(e: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
    match handler.render_report(&mut out, e) {
        Ok(()) => out,
        Err(_) => e.to_string(),
    }
}

/// One diagnostic of a rule file.
struct Located {
    code: String,
    message: String,
    severity: String,
    location: Option<Location>,
    help: Option<String>,
}

/// Sets the location attributes on a dict or an exception.
fn set_location(target: &Bound<'_, PyAny>, location: Option<&Location>) -> PyResult<()> {
    target.setattr("location", location.map(ToString::to_string))?;
    target.setattr("file", location.map(|l| l.file.to_string()))?;
    target.setattr("line", location.and_then(|l| l.line))?;
    target.setattr("column", location.and_then(|l| l.column))?;
    Ok(())
}

/// A nesy error as the exception of its kind.
pub(crate) fn to_py(py: Python<'_>, e: &Error) -> PyErr {
    let message = e.to_string();
    let mut diagnostics = Vec::new();
    let location: Option<Location> = match e {
        Error::Rules(errors) => {
            for (source, d) in errors {
                diagnostics.push(Located {
                    code: d.code.to_string(),
                    message: d.message.clone(),
                    severity: format!("{:?}", d.severity).to_lowercase(),
                    location: Some(source.locate(d)),
                    help: d.help.clone(),
                });
            }
            diagnostics.first().and_then(|d| d.location.clone())
        }
        Error::Examples { location, .. }
        | Error::Import { location, .. }
        | Error::Model { location, .. }
        | Error::Confined { location, .. }
        | Error::Unsupported { location, .. } => Some(location.clone()),
        Error::Graph(g) => g.location.clone(),
        Error::Io { path, .. } => Some(Location {
            file: path.display().to_string().into(),
            line: None,
            column: None,
        }),
        _ => None,
    };
    let err = if e.is_limit() {
        LimitError::new_err(message)
    } else {
        match e {
            Error::Rules(_) => RuleError::new_err(message),
            Error::Request(_) | Error::Engine(_) => InputError::new_err(message),
            Error::Graph(_) => GraphError::new_err(message),
            _ => NesyError::new_err(message),
        }
    };
    if let Err(failed) = describe(py, &err, e, location.as_ref(), &diagnostics) {
        return failed;
    }
    err
}

fn describe(
    py: Python<'_>,
    err: &PyErr,
    e: &Error,
    location: Option<&Location>,
    diagnostics: &[Located],
) -> PyResult<()> {
    let value = err.value(py);
    value.setattr("report", render(e))?;
    set_location(value.as_any(), location)?;
    let list = diagnostics
        .iter()
        .map(|d| {
            let dict = PyDict::new(py);
            dict.set_item("code", &d.code)?;
            dict.set_item("message", &d.message)?;
            dict.set_item("severity", &d.severity)?;
            dict.set_item("help", &d.help)?;
            let l = d.location.as_ref();
            dict.set_item("location", l.map(ToString::to_string))?;
            dict.set_item("file", l.map(|l| l.file.to_string()))?;
            dict.set_item("line", l.and_then(|l| l.line))?;
            dict.set_item("column", l.and_then(|l| l.column))?;
            Ok(dict)
        })
        .collect::<PyResult<Vec<_>>>()?;
    value.setattr("diagnostics", list)?;
    Ok(())
}

/// A Rust result as a Python one.
pub(crate) trait OrRaise<T> {
    /// The value, or the error as its exception.
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaise<T> for Result<T, Error> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, &e))
    }
}
