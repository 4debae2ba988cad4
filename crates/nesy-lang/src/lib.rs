//! The nesy rule language: grammar, typed syntax tree, checker and formatter.
//!
//! ```
//! use nesy_lang::{check_source, format_source};
//!
//! let source = r#"
//! parent(alice, bob).
//! parent(bob, carol).
//! ancestor(X, Y) :- parent(X, Y).
//! ancestor(X, Z) :- parent(X, Y), ancestor(Y, Z).
//! ?- ancestor(alice, W).
//! "#;
//! let checked = check_source("family.nesy", source);
//! assert!(!checked.has_errors());
//! assert_eq!(checked.program.items.len(), 5);
//! assert!(format_source(source).is_ok());
//! ```
//!
//! The language is described for rule writers in `docs/language.md`; the
//! grammar itself is `src/nesy.pest`.

pub mod ast;
mod check;
mod diagnostic;
mod facts;
mod format;
mod lexer;
mod lines;
mod lints;
pub mod outline;
mod parser;
mod walk;

pub use check::{
    BUILTIN_PREFIXES, CheckOptions, RDF_FORMATS, TABLE_FORMATS, ValueType, check_program,
};
pub use diagnostic::{
    Diagnostic, JsonDiagnostic, JsonFix, Location, Position, Report, Severity, SourceFile,
};
pub use format::{MAX_WIDTH, format_program, format_source};
pub use lines::Lines;
pub use parser::{MAX_DISJUNCTION_HEADS, Parsed, parse};

use std::path::Path;

/// A source text, its syntax tree and every diagnostic about it.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The text and its name, for locating and rendering diagnostics.
    pub source: SourceFile,
    /// The items that parsed (all of them when there is no syntax error).
    pub program: ast::Program,
    /// Syntax and checker diagnostics, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The number of errors and of warnings.
    pub fn counts(&self) -> (usize, usize) {
        let errors = self.diagnostics.iter().filter(|d| d.is_error()).count();
        (errors, self.diagnostics.len() - errors)
    }
}

/// Parses and checks a text; `name` is used in messages. Nothing is read from
/// the file system (imports and models are not looked for).
pub fn check_source(name: &str, text: &str) -> Checked {
    check_with(SourceFile::new(name, text), &CheckOptions::default())
}

/// Reads, parses and checks a rule file; relative `@import` and `@model` paths
/// resolve against the file's directory.
pub fn check_file(path: &Path) -> std::io::Result<Checked> {
    let text = std::fs::read_to_string(path)?;
    let base_dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .map(Path::to_path_buf);
    Ok(check_with(
        SourceFile::new(path.display().to_string(), text),
        &CheckOptions { base_dir },
    ))
}

/// Parses and checks `source` with `options`.
pub fn check_with(source: SourceFile, options: &CheckOptions) -> Checked {
    let parsed = parse(source.text());
    let syntax_errors = !parsed.diagnostics.is_empty();
    let mut diagnostics = parsed.diagnostics;
    // The items that parsed are checked too, so one run reports everything.
    // Only "never defined" is dropped then: the definition may sit in the
    // item that did not parse.
    diagnostics.extend(
        check_program(&parsed.program, options)
            .into_iter()
            .filter(|d| !(syntax_errors && d.code == "undefined-relation")),
    );
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    Checked {
        source,
        program: parsed.program,
        diagnostics,
    }
}
