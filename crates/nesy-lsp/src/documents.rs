//! The open rule files, each checked as it was last sent, and their
//! diagnostics in the protocol's terms.

use crate::text::{LineIndex, uri_path};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range,
    Uri,
};
use nesy_lang::outline::{Occurrence, occurrences};
use nesy_lang::{CheckOptions, Checked, Severity, SourceFile, check_with};
use std::collections::BTreeMap;

/// How a file's text is checked: the rule file's path and its text.
pub type Checker = dyn Fn(&std::path::Path, &str) -> Checked;

/// An open rule file.
pub(crate) struct Document {
    pub(crate) uri: Uri,
    pub(crate) checked: Checked,
    pub(crate) occurrences: Vec<Occurrence>,
    lines: LineIndex,
}

impl Document {
    /// Checks `text` as the file `uri` names (relative `@import` and
    /// `@model` paths resolve against its directory, as `nesy check` does).
    pub(crate) fn new(uri: Uri, text: String, check: &Checker) -> Self {
        let checked = match uri_path(&uri) {
            Some(path) => check(&path, &text),
            None => check_with(
                SourceFile::new(uri.as_str(), text),
                &CheckOptions { base_dir: None },
            ),
        };
        let occurrences = occurrences(&checked.program);
        let lines = LineIndex::new(checked.source.text());
        Document {
            uri,
            checked,
            occurrences,
            lines,
        }
    }

    pub(crate) fn text(&self) -> &str {
        self.checked.source.text()
    }

    /// The occurrence of a name at byte `at`, if any.
    pub(crate) fn occurrence_at(&self, at: usize) -> Option<&Occurrence> {
        self.occurrences
            .iter()
            .find(|o| o.span.start <= at && at <= o.span.end)
    }

    pub(crate) fn location(&self, start: usize, end: usize) -> Location {
        Location::new(self.uri.clone(), self.range(start, end))
    }

    /// The protocol's range of bytes `start..end`.
    pub(crate) fn range(&self, start: usize, end: usize) -> Range {
        self.lines.range(self.text(), start, end)
    }

    /// The byte offset of a protocol position.
    pub(crate) fn offset(&self, position: Position) -> usize {
        self.lines.offset(self.text(), position)
    }

    /// The checker's diagnostics: code, message, the help after it, the
    /// related places. At most [`MAX_DIAGNOSTICS`], then one saying how
    /// many more `nesy check` lists (a file of a million bad lines would
    /// otherwise be a message the editor chokes on).
    pub(crate) fn diagnostics(&self) -> Vec<lsp_types::Diagnostic> {
        let all = &self.checked.diagnostics;
        let mut out: Vec<lsp_types::Diagnostic> = all
            .iter()
            .take(MAX_DIAGNOSTICS)
            .map(|d| self.diagnostic(d))
            .collect();
        if let Some(next) = all.get(MAX_DIAGNOSTICS) {
            out.push(lsp_types::Diagnostic {
                range: self.range(next.span.start, next.span.start),
                severity: Some(DiagnosticSeverity::INFORMATION),
                source: Some("nesy".to_string()),
                message: format!(
                    "{} more diagnostics not shown; `nesy check` lists them all",
                    all.len() - MAX_DIAGNOSTICS
                ),
                ..lsp_types::Diagnostic::default()
            });
        }
        out
    }

    /// One checker diagnostic in the protocol's terms.
    pub(crate) fn diagnostic(&self, d: &nesy_lang::Diagnostic) -> lsp_types::Diagnostic {
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let related: Vec<DiagnosticRelatedInformation> = d
            .related
            .iter()
            .map(|(span, label)| DiagnosticRelatedInformation {
                location: self.location(span.start, span.end),
                message: label.clone(),
            })
            .collect();
        lsp_types::Diagnostic {
            range: self.range(d.span.start, d.span.end),
            severity: Some(match d.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            code: Some(NumberOrString::String(d.code.to_string())),
            source: Some("nesy".to_string()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..lsp_types::Diagnostic::default()
        }
    }
}

/// Most diagnostics published for one file.
pub(crate) const MAX_DIAGNOSTICS: usize = 1000;

/// The open documents by URI.
#[derive(Default)]
pub(crate) struct Documents {
    pub(crate) open: BTreeMap<Uri, Document>,
}

impl Documents {
    /// Every occurrence of `kind`/`name` in the open documents, with its
    /// document.
    pub(crate) fn all<'a>(
        &'a self,
        of: &'a Occurrence,
    ) -> impl Iterator<Item = (&'a Document, &'a Occurrence)> + 'a {
        self.open.values().flat_map(move |doc| {
            doc.occurrences
                .iter()
                .filter(move |o| o.kind == of.kind && o.name == of.name)
                .map(move |o| (doc, o))
        })
    }
}
