//! Loading rule files as one program, with the checker's warnings.

use crate::error::CliError;
use nesy::Program;
use std::path::PathBuf;

/// Loads rule files as one program, printing the checker's warnings; an
/// error ends the command.
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
    print_warnings(&program);
    Ok(program)
}

/// The checker's warnings, one line each (`nesy check` shows them in full).
fn print_warnings(program: &Program) {
    for (source, d) in program.warnings() {
        errln!("warning: {}: {}", source.locate(d), d.message);
    }
}
