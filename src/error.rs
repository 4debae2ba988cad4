//! Errors of loading and running rules.
//!
//! ```
//! let err = nesy::Program::from_source("a.nesy", "p(X) :- q(Y).\nr(X) :- s(Z).").unwrap_err();
//! let nesy::Error::Rules(errors) = &err else { panic!("{err}") };
//! assert_eq!(errors.len(), 2);
//! // One line for logs; each diagnostic, with its caret, through miette.
//! assert!(err.to_string().starts_with("a.nesy:1:3: "));
//! assert_eq!(miette::Diagnostic::related(&err).unwrap().count(), 2);
//! ```

use nesy_lang::{Diagnostic, Location, Report, SourceFile};
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
    #[error(transparent)]
    #[diagnostic(transparent)]
    Rules(RuleErrors),
    /// A malformed line of a training or evaluation examples file.
    #[error("{location}: {message}")]
    Examples {
        /// The file and line.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// Training could not run as asked (nothing to learn, bad options).
    #[error("{0}")]
    Training(String),
    /// A malformed line in an imported table.
    #[error("{location}: {message}")]
    Import {
        /// The file and line (the file alone when the reader cannot say).
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A `@model` file exists but is not a model this build reads.
    #[error("{location}: {message}")]
    Model {
        /// The `@model` declaration.
        location: Location,
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
        /// The directive.
        location: Location,
        /// The path as written.
        path: String,
    },
    /// The knowledge graph failed: RDF that does not parse, a store that
    /// cannot be opened, a SPARQL query refused or failed.
    #[cfg(feature = "kg")]
    #[error(transparent)]
    #[diagnostic(transparent)]
    Graph(#[from] GraphError),
    /// Something this build leaves out (a cargo feature that is off).
    #[error("{location}: {message}")]
    Unsupported {
        /// The directive that needs it.
        location: Location,
        /// What and why.
        message: String,
    },
    /// Compiling or evaluating failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Engine(#[from] nesy_engine::Error),
    /// The dataflow backend failed (feature `dataflow`).
    #[cfg(feature = "dataflow")]
    #[error(transparent)]
    #[diagnostic(transparent)]
    Dataflow(nesy_dataflow::Error),
}

#[cfg(feature = "dataflow")]
impl From<nesy_dataflow::Error> for Error {
    /// The engine's own errors (limits, arithmetic) stay engine errors, so
    /// that callers match them whichever backend ran.
    fn from(error: nesy_dataflow::Error) -> Self {
        match error {
            nesy_dataflow::Error::Engine(e) => Error::Engine(e),
            other => Error::Dataflow(other),
        }
    }
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

/// The checker's errors, each with its source. Displayed as one line (the
/// first error, and how many more); as a miette diagnostic every error is
/// a `related()` report with its source excerpt and caret.
#[derive(Debug)]
pub struct RuleErrors {
    errors: Vec<(SourceFile, Diagnostic)>,
    reports: Vec<Report>,
}

impl RuleErrors {
    pub(crate) fn new(errors: Vec<(SourceFile, Diagnostic)>) -> Self {
        let reports = errors
            .iter()
            .map(|(source, d)| source.report(d.clone()))
            .collect();
        RuleErrors { errors, reports }
    }

    /// Each error with the source it is in.
    pub fn iter(&self) -> std::slice::Iter<'_, (SourceFile, Diagnostic)> {
        self.errors.iter()
    }

    /// How many errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether there are none (never, for an error returned by nesy).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl<'a> IntoIterator for &'a RuleErrors {
    type Item = &'a (SourceFile, Diagnostic);
    type IntoIter = std::slice::Iter<'a, (SourceFile, Diagnostic)>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl std::fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.errors.first() {
            Some((source, d)) => {
                write!(f, "{}: {}", source.locate(d), d.message)?;
                match self.errors.len() {
                    1 => Ok(()),
                    n => write!(f, " (and {} more)", n - 1),
                }
            }
            None => f.write_str("the rules have errors"),
        }
    }
}

impl std::error::Error for RuleErrors {}

impl miette::Diagnostic for RuleErrors {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new("nesy::rules"))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        Some(Box::new(
            self.reports.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

/// A knowledge-graph error, with the directive it happened at when it came
/// from a rule file's `@import`.
#[cfg(feature = "kg")]
#[derive(Debug, thiserror::Error)]
#[error("{}{source}", .location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default())]
pub struct GraphError {
    /// The `@import`, when there is one.
    pub location: Option<Location>,
    /// What the graph said (boxed: it is large, and errors are moved on
    /// every `?`).
    #[source]
    pub source: Box<nesy_kg::KgError>,
}

#[cfg(feature = "kg")]
impl miette::Diagnostic for GraphError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.source.code()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.source.help()
    }
}

#[cfg(feature = "kg")]
impl From<nesy_kg::KgError> for Error {
    fn from(source: nesy_kg::KgError) -> Self {
        Error::Graph(GraphError {
            location: None,
            source: Box::new(source),
        })
    }
}
