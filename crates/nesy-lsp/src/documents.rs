//! The open rule files, each checked as it was last sent, and their
//! diagnostics in the protocol's terms.

use crate::text::{range, uri_path};
use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Uri};
use nesy_lang::outline::{Occurrence, occurrences};
use nesy_lang::{CheckOptions, Checked, Severity, SourceFile, check_with};
use std::collections::BTreeMap;

/// An open rule file.
pub(crate) struct Document {
    pub(crate) uri: Uri,
    pub(crate) checked: Checked,
    pub(crate) occurrences: Vec<Occurrence>,
}

impl Document {
    /// Checks `text` as the file `uri` names (relative `@import` and
    /// `@model` paths resolve against its directory, as `nesy check` does).
    pub(crate) fn new(uri: Uri, text: String) -> Self {
        let path = uri_path(&uri);
        let name = path
            .as_ref()
            .map_or_else(|| uri.as_str().to_string(), |p| p.display().to_string());
        let base_dir = path
            .as_ref()
            .and_then(|p| p.parent())
            .map(|d| d.to_path_buf());
        let checked = check_with(SourceFile::new(name, text), &CheckOptions { base_dir });
        let occurrences = occurrences(&checked.program);
        Document {
            uri,
            checked,
            occurrences,
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
        Location::new(self.uri.clone(), range(self.text(), start, end))
    }

    /// The checker's diagnostics: code, message, the help after it, the
    /// related places.
    pub(crate) fn diagnostics(&self) -> Vec<lsp_types::Diagnostic> {
        let text = self.text();
        self.checked
            .diagnostics
            .iter()
            .map(|d| {
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
                    range: range(text, d.span.start, d.span.end),
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
            })
            .collect()
    }
}

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
