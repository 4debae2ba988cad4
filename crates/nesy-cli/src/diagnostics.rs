//! Showing what is wrong with rules: diagnostics with their source line
//! and caret, and the errors of loading and running a program.

use crate::console;
use crate::output::plural;
use nesy::Error;
use nesy::lang::SourceFile;

/// Renders diagnostics with source excerpts and carets.
pub(crate) fn render(
    checked_source: &SourceFile,
    diagnostics: &[nesy::lang::Diagnostic],
) -> String {
    let theme = if console::color() {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    for d in diagnostics {
        // The header says where and what, in the `file:line:col:` form
        // editors and `grep` read; miette adds the excerpt, caret and help.
        out.push_str(&format!(
            "{}: {}[{}]: {}\n",
            checked_source.locate(d),
            d.severity,
            d.code,
            d.message
        ));
        let report = checked_source
            .report(d.clone())
            .without_code()
            .without_message();
        let mut excerpt = String::new();
        if handler.render_report(&mut excerpt, &report).is_err() {
            out.push_str("  (could not render the source excerpt)\n");
        }
        // The first line is miette's `×` line, left empty.
        out.push_str(excerpt.split_once('\n').map_or("", |(_, rest)| rest));
        out.push('\n');
    }
    out
}

/// Prints an error of loading or running; rule errors with their carets.
pub(crate) fn report(error: &Error) {
    match error {
        Error::Rules(diagnostics) => {
            for (source, d) in diagnostics {
                err!("{}", render(source, std::slice::from_ref(d)));
            }
            errln!(
                "error: {}; nothing was run",
                plural(diagnostics.len(), "error")
            );
        }
        other => {
            errln!("error: {other}");
            if let Some(help) = miette::Diagnostic::help(other) {
                errln!("help: {help}");
            }
        }
    }
}
