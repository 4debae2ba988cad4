//! `nesy fmt`: rule files in the one canonical style.

use crate::diagnostics::render;
use crate::error::{CliError, CliResult};
use crate::files;
use crate::output::plural;
use nesy::lang::SourceFile;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `nesy fmt`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Rule files, directories to search for `.nesy` files, or `-` to
    /// format standard input to standard output.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Change nothing; exit 1 if any file would change.
    #[arg(long)]
    check: bool,
}

/// `nesy fmt`.
pub(crate) fn run(args: &Args) -> CliResult {
    let (paths, check_only) = (&args.paths, args.check);
    if paths.len() == 1 && paths.first().is_some_and(|p| p == Path::new("-")) {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Usage(format!("cannot read standard input: {e}")))?;
        return Ok(match nesy::lang::format_source(&text) {
            Ok(formatted) => {
                if check_only {
                    if formatted == text {
                        ExitCode::SUCCESS
                    } else {
                        out!("{}", diff("<stdin>", &text, &formatted));
                        ExitCode::FAILURE
                    }
                } else {
                    out!("{formatted}");
                    ExitCode::SUCCESS
                }
            }
            Err(diagnostics) => {
                err!(
                    "{}",
                    render(&SourceFile::new("<stdin>", text), &diagnostics)
                );
                ExitCode::FAILURE
            }
        });
    }
    let files = files::collect(paths).map_err(CliError::Usage)?;
    let mut failed = false;
    let mut changed = 0;
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                errln!(
                    "error: cannot read `{}`: {e}; not formatted",
                    file.display()
                );
                failed = true;
                continue;
            }
        };
        match nesy::lang::format_source(&text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                changed += 1;
                if check_only {
                    outln!("would reformat {}", file.display());
                    out!("{}", diff(&file.display().to_string(), &text, &formatted));
                    failed = true;
                } else if let Err(e) = files::write_atomically(file, &formatted) {
                    errln!("error: cannot write `{}`: {e}", file.display());
                    failed = true;
                } else {
                    outln!("formatted {}", file.display());
                }
            }
            Err(diagnostics) => {
                let source = SourceFile::new(file.display().to_string(), text);
                err!("{}", render(&source, &diagnostics));
                errln!(
                    "error: `{}` has syntax errors; not formatted",
                    file.display()
                );
                failed = true;
            }
        }
    }
    if check_only && changed > 0 {
        outln!("{} would be reformatted", plural(changed, "file"));
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// What formatting would change, as a unified diff (as `rustfmt --check`
/// and `black --diff` show it).
fn diff(name: &str, text: &str, formatted: &str) -> String {
    similar::TextDiff::from_lines(text, formatted)
        .unified_diff()
        .context_radius(2)
        .header(name, &format!("{name} (formatted)"))
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_diff_shows_the_changed_lines() {
        let diff = super::diff("a.nesy", "p(X):-q(X).\nq(a).\n", "p(X) :- q(X).\nq(a).\n");
        assert_eq!(
            diff,
            "--- a.nesy\n+++ a.nesy (formatted)\n@@ -1,2 +1,2 @@\n-p(X):-q(X).\n+p(X) :- q(X).\n q(a).\n"
        );
    }
}
