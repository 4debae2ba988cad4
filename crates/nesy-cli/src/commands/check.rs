//! `nesy check`: every diagnostic of rule files, without running them.

use crate::diagnostics::render;
use crate::error::{CliError, CliResult};
use crate::output::plural;
use crate::{console, files};
use clap::ValueEnum;
use nesy::lang::Checked;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// `nesy check`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Rule files, or directories to search for `.nesy` files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Treat warnings as errors (exit 1 when there are any).
    #[arg(long)]
    deny_warnings: bool,
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    /// Readable reports with the source line and a caret.
    Text,
    /// `{"diagnostics": [{file, line, column, severity, code, message, help, ...}], ...}`
    Json,
}

/// `nesy check`.
pub(crate) fn run(args: &Args) -> CliResult {
    let files = files::collect(&args.paths).map_err(CliError::Usage)?;
    // A file that cannot be read (not UTF-8, no permission) is reported
    // as an error of its own, and the others are still checked.
    let results: Vec<Result<Checked, String>> = files
        .iter()
        .map(|file| nesy::check_file(file).map_err(|e| e.to_string()))
        .collect();
    let (mut errors, mut warnings) = (0, 0);
    for r in &results {
        match r {
            Ok(c) => {
                let (e, w) = c.counts();
                errors += e;
                warnings += w;
            }
            Err(_) => errors += 1,
        }
    }
    let mut stdout = std::io::stdout().lock();
    let written = match args.format {
        Format::Json => {
            let diagnostics: Vec<serde_json::Value> = results
                .iter()
                .zip(&files)
                .flat_map(|(r, file)| match r {
                    Ok(c) => c
                        .diagnostics
                        .iter()
                        .map(|d| serde_json::json!(c.source.to_json(d)))
                        .collect::<Vec<_>>(),
                    Err(e) => vec![serde_json::json!({
                        "file": file.display().to_string(),
                        "line": 1, "column": 1, "end_line": 1, "end_column": 1,
                        "severity": "error",
                        "code": "unreadable",
                        "message": format!("cannot read the file: {e}"),
                        "help": "rule files are UTF-8 text",
                    })],
                })
                .collect();
            let json = serde_json::json!({
                "files": files.len(),
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diagnostics,
            });
            writeln!(stdout, "{json:#}")
        }
        Format::Text => (|| {
            for (r, file) in results.iter().zip(&files) {
                match r {
                    Ok(c) => write!(stdout, "{}", render(&c.source, &c.diagnostics))?,
                    Err(e) => writeln!(
                        stdout,
                        "{}: error[unreadable]: cannot read the file: {e}\n",
                        file.display()
                    )?,
                }
            }
            writeln!(
                stdout,
                "{} checked: {}, {}",
                plural(files.len(), "file"),
                plural(errors, "error"),
                plural(warnings, "warning")
            )
        })(),
    };
    if let Err(e) = written {
        console::fail(&e);
    }
    let failed = errors > 0 || (args.deny_warnings && warnings > 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
