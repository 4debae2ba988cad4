//! Errors of loading and running rules.

use nesy_lang::{Diagnostic, SourceFile};
use std::path::PathBuf;

/// What can go wrong when rule files are loaded or run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The checker found errors (each with its source, for rendering).
    #[error("{}", rules_summary(.0))]
    Rules(Vec<(SourceFile, Diagnostic)>),
    /// A malformed line in an imported table.
    #[error("{file}:{line}: {message}")]
    Import {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A `@model` file exists but is not a model this build reads.
    #[error("{location}: {message}")]
    Model {
        /// `file:line:col` of the `@model` declaration.
        location: String,
        /// What is wrong with the file.
        message: String,
    },
    /// A request to the decision API is malformed (unknown relation or
    /// field, a value of the wrong type).
    #[error("bad request: {0}")]
    Request(String),
    /// An `@import` or `@model` path outside the directories the program
    /// may read ([`crate::ReadPolicy`]); nothing of it was opened.
    #[error("{location}: `{path}` is outside the directories this program may read")]
    #[diagnostic(help(
        "a service reads only below the directories it was started with; move the file there"
    ))]
    Confined {
        /// `file:line:col` of the directive.
        location: String,
        /// The path as written.
        path: String,
    },
    /// Something this build cannot do yet.
    #[error("{location}: {message}")]
    Unsupported {
        /// `file:line:col` of the directive.
        location: String,
        /// What and why.
        message: String,
    },
    /// Compiling or evaluating failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Engine(#[from] nesy_engine::Error),
}

impl Error {
    /// Whether a limit stopped the work: the time limit, the tuple or
    /// event budget, a cancellation, `add-mult` that did not settle. A
    /// service answers these differently from bad input (422, not 400).
    pub fn is_limit(&self) -> bool {
        use nesy_engine::Error as E;
        matches!(
            self,
            Error::Engine(
                E::Timeout { .. }
                    | E::TooManyTuples { .. }
                    | E::TooManyEvents { .. }
                    | E::Unsettled { .. }
                    | E::Cancelled
            )
        )
    }
}

fn rules_summary(errors: &[(SourceFile, Diagnostic)]) -> String {
    match errors.first() {
        Some((source, d)) => {
            let at = source.locate(d);
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            format!(
                "{}:{}:{}: {}{more}",
                source.name(),
                at.line,
                at.column,
                d.message
            )
        }
        None => "the rules have errors".to_string(),
    }
}
