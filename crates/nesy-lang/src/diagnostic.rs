//! Diagnostics: what the parser and checker report, with spans, codes and help.
//!
//! ```
//! use nesy_lang::{check_source, Severity};
//!
//! let checked = check_source("family.nesy", "ancestor(X, Y) :- parent(X, Z).");
//! let unsafe_var = checked.diagnostics.iter().find(|d| d.code == "unsafe-variable").unwrap();
//! assert_eq!(unsafe_var.severity, Severity::Error);
//! let located = checked.source.locate(unsafe_var);
//! assert_eq!((located.line, located.column), (Some(1), Some(13)));
//! assert_eq!(located.to_string(), "family.nesy:1:13");
//! ```

use crate::ast::Span;
use miette::{LabeledSpan, NamedSource, SourceCode};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The program may be fine, but look.
    Warning,
    /// The program is rejected.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One problem found in a source text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable, kebab-case code, e.g. `unsafe-variable`.
    pub code: &'static str,
    /// What is wrong, lowercase, user input in backticks.
    pub message: String,
    /// Where: the caret goes here.
    pub span: Span,
    /// A short label under the caret.
    pub label: Option<String>,
    /// How to fix it, when we can say.
    pub help: Option<String>,
    /// Other places that explain the problem (e.g. the first definition).
    pub related: Vec<(Span, String)>,
    /// The edit a "did you mean" suggests: the text to put at the span.
    pub fix: Option<(Span, String)>,
}

impl Diagnostic {
    /// An error.
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: None,
            help: None,
            related: Vec::new(),
            fix: None,
        }
    }

    /// A warning.
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    /// With the edit that makes its suggestion: `text` in place of `span`.
    pub fn with_fix(mut self, span: Span, text: impl Into<String>) -> Self {
        self.fix = Some((span, text.into()));
        self
    }

    /// With a label under the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// With a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// With another labelled place.
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    /// Whether it is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A source text with its name (usually the file path), shared cheaply.
#[derive(Clone, Debug)]
pub struct SourceFile {
    name: Arc<str>,
    text: Arc<str>,
    line_starts: Arc<[usize]>,
}

/// A place in a text as a person reads it (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Where something was written: a file and, when known, the line and
/// column. Displays as `file:line:column`, `file:line` (a row of an
/// imported table) or `file` (a triple of an RDF file, whose parsers give
/// no line per triple); serialized as that text.
///
/// ```
/// use nesy_lang::Location;
///
/// assert_eq!(Location::at("rules/a.nesy", 3, 7).to_string(), "rules/a.nesy:3:7");
/// assert_eq!(Location::line("data/people.csv", 12).to_string(), "data/people.csv:12");
/// assert_eq!(Location::file("kg/world.ttl").to_string(), "kg/world.ttl");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// The file's path, as given.
    pub file: Arc<str>,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column in characters, when known (only with a line).
    pub column: Option<usize>,
}

impl Location {
    /// A line and column of a file.
    pub fn at(file: impl Into<Arc<str>>, line: usize, column: usize) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
            column: Some(column),
        }
    }

    /// A line of a file.
    pub fn line(file: impl Into<Arc<str>>, line: usize) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
            column: None,
        }
    }

    /// A file, nothing finer.
    pub fn file(file: impl Into<Arc<str>>) -> Self {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for Location {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl SourceFile {
    /// A named text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text: Arc<str> = Arc::from(text.into());
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect::<Vec<_>>();
        SourceFile {
            name: Arc::from(name.into()),
            text,
            line_starts: line_starts.into(),
        }
    }

    /// The name (path) of the source.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 1-based line and column of a byte offset (clamped to the text).
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line_index = self
            .line_starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let line_start = self.line_starts.get(line_index).copied().unwrap_or(0);
        let column = self
            .text
            .get(line_start..offset)
            .map_or(offset - line_start, |prefix| prefix.chars().count());
        Position {
            line: line_index + 1,
            column: column + 1,
        }
    }

    /// The file, line and column of a byte offset.
    pub fn location(&self, offset: usize) -> Location {
        let at = self.position(offset);
        Location::at(self.name.clone(), at.line, at.column)
    }

    /// Where a diagnostic starts.
    pub fn locate(&self, diagnostic: &Diagnostic) -> Location {
        self.location(diagnostic.span.start)
    }

    /// The diagnostic as a report miette can render with this source.
    pub fn report(&self, diagnostic: Diagnostic) -> Report {
        Report {
            diagnostic,
            named_source: NamedSource::new(&self.name, self.text.to_string()).with_language("nesy"),
            show_code: true,
            show_message: true,
        }
    }

    /// The diagnostic in the stable JSON shape of `nesy check --format json`.
    pub fn to_json(&self, diagnostic: &Diagnostic) -> JsonDiagnostic {
        let start = self.position(diagnostic.span.start);
        let end = self.position(diagnostic.span.end);
        JsonDiagnostic {
            file: self.name.to_string(),
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
            severity: diagnostic.severity,
            code: diagnostic.code,
            message: diagnostic.message.clone(),
            help: diagnostic.help.clone(),
            fix: diagnostic.fix.as_ref().map(|(span, replacement)| {
                let (start, end) = (self.position(span.start), self.position(span.end));
                JsonFix {
                    line: start.line,
                    column: start.column,
                    end_line: end.line,
                    end_column: end.column,
                    replacement: replacement.clone(),
                }
            }),
        }
    }
}

/// A diagnostic in JSON: `file`, `line`, `column`, `severity`, `code`,
/// `message`, `help` (plus where the span ends).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonDiagnostic {
    /// The file's path.
    pub file: String,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column of the start.
    pub column: usize,
    /// 1-based line of the end.
    pub end_line: usize,
    /// 1-based column of the end (exclusive).
    pub end_column: usize,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The stable code, e.g. `unsafe-variable`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to fix it, or null.
    pub help: Option<String>,
    /// The edit a "did you mean" suggests, when there is one (left out
    /// otherwise): the text to put between the two positions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<JsonFix>,
}

/// The edit of [`JsonDiagnostic::fix`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonFix {
    /// 1-based line of the start of the text to replace.
    pub line: usize,
    /// 1-based column of its start.
    pub column: usize,
    /// 1-based line of its end.
    pub end_line: usize,
    /// 1-based column of its end (exclusive).
    pub end_column: usize,
    /// What to put there.
    pub replacement: String,
}

/// A diagnostic bundled with its source, for rendering with miette.
#[derive(Debug)]
pub struct Report {
    diagnostic: Diagnostic,
    named_source: NamedSource<String>,
    show_code: bool,
    show_message: bool,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.show_message {
            f.write_str(&self.diagnostic.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Report {}

impl Report {
    /// The same report without the `nesy::code` header line, for output that
    /// already shows the code.
    pub fn without_code(mut self) -> Self {
        self.show_code = false;
        self
    }

    /// The same report displaying no message: the source excerpt, labels
    /// and help only, for output whose own header line already says it
    /// (miette would repeat it on its `×` line).
    pub fn without_message(mut self) -> Self {
        self.show_message = false;
        self
    }
}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if !self.show_code {
            return None;
        }
        Some(Box::new(format!("nesy::{}", self.diagnostic.code)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.named_source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary =
            LabeledSpan::new_primary_with_span(self.diagnostic.label.clone(), self.diagnostic.span);
        let related = self
            .diagnostic
            .related
            .iter()
            .map(|(span, label)| LabeledSpan::new_with_span(Some(label.clone()), *span));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}
