//! Loading rule files as one program, with the checker's warnings.

use crate::diagnostics::render;
use crate::error::CliError;
use crate::output::plural;
use nesy::{Program, Severity};
use std::path::PathBuf;

/// Loads rule files as one program for `run`, `query` and `explain`,
/// printing the checker's warnings; an error ends the command. So does a
/// relation used but never defined (only a warning for `nesy check`): run,
/// it would quietly answer nothing through it.
pub(crate) fn load(paths: &[PathBuf]) -> Result<Program, CliError> {
    for path in paths {
        if !path.is_file() {
            return Err(CliError::Usage(format!(
                "`{}` is not a file",
                path.display()
            )));
        }
    }
    let program = Program::from_files(paths)?;
    // The checker looks at one file at a time: a relation another file
    // defines is defined.
    let defined_elsewhere = |name: &str| program.sources().iter().any(|c| defines(c, name));
    let mut undefined = 0;
    for (source, d) in program.warnings() {
        if d.code == "undefined-relation" {
            if defined_elsewhere(source.text().get(d.span.start..d.span.end).unwrap_or("")) {
                continue;
            }
            let mut refused = d.clone();
            refused.severity = Severity::Error;
            refused.help = Some(match d.help.as_deref() {
                Some(h) if h.starts_with("did you mean") => format!(
                    "{}; if its facts come at run time, declare it with `@decl`",
                    h.split(" (").next().unwrap_or(h)
                ),
                Some(h) => h.to_string(),
                None => "define it with facts or rules, @import it, or declare it with `@decl`"
                    .to_string(),
            });
            err!("{}", render(source, &[refused]));
            undefined += 1;
        } else {
            errln!("warning: {}: {}", source.locate(d), d.message);
        }
    }
    if undefined > 0 {
        errln!(
            "error: {} used but never defined; nothing was run",
            plural(undefined, "relation")
        );
        return Err(CliError::Reported);
    }
    Ok(program)
}

/// Whether a checked file defines a relation: facts or rules for it, an
/// `@import` into it, an `@decl` or `@input` of it.
fn defines(checked: &nesy::Checked, relation: &str) -> bool {
    use nesy::lang::ast::Item;
    checked.program.items.iter().any(|item| match item {
        Item::Clause(c) => c.head.relation.text == relation,
        Item::Import(i) => i.relation.as_ref().is_some_and(|r| r.text == relation),
        Item::Decl(d) => d.relation.text == relation,
        Item::Input(i) => i.relations.iter().any(|r| r.text == relation),
        _ => false,
    })
}
