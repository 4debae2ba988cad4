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
        let report = checked_source.report(d.clone()).without_code();
        let location = checked_source.locate(d);
        out.push_str(&format!(
            "{}:{}:{}: {}[{}]: {}\n",
            checked_source.name(),
            location.line,
            location.column,
            d.severity,
            d.code,
            d.message
        ));
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str("  (could not render the source excerpt)\n");
        }
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
