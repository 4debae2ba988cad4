//! One error type for training, prediction and model files.

use miette::Diagnostic;
use thiserror::Error;

/// What can go wrong in `nesy-learn`.
#[derive(Debug, Error, Diagnostic)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    #[diagnostic(code(nesy::learn::io))]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A data file has a bad row, column or value.
    #[error("{path}:{line}: {message}")]
    #[diagnostic(code(nesy::learn::data))]
    Data {
        /// The data file.
        path: String,
        /// Its line (1-based, the header is line 1).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A model file is corrupt, of another kind or version, or does not fit
    /// the data it is used on.
    #[error("{path}: {message}")]
    #[diagnostic(code(nesy::learn::model_file))]
    ModelFile {
        /// The model file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Bad training parameters or inputs.
    #[error("{0}")]
    #[diagnostic(code(nesy::learn::invalid))]
    Invalid(String),
    /// The learner failed.
    #[error("training failed: {0}")]
    #[diagnostic(code(nesy::learn::training))]
    Training(String),
    /// The requested device is not available.
    #[error("{0}")]
    #[diagnostic(code(nesy::learn::device))]
    Device(String),
}

impl From<linfa::Error> for Error {
    fn from(e: linfa::Error) -> Self {
        Error::Training(e.to_string())
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Training(e.to_string())
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
