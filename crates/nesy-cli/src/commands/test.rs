//! `nesy test`: run the `@test` blocks of rule files.

use crate::args::{LimitArgs, SemiringArgs};
use crate::diagnostics::report;
use crate::error::{CliError, CliResult};
use crate::files;
use crate::output::{plural, print_out};
use nesy::{Program, TestOutcome};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `nesy test`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Rule files, or directories to search for `.nesy` files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// What `prob(atom) = p +- e.` expectations are computed under
    /// (`top-k` when `bool`).
    #[command(flatten)]
    semiring: SemiringArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

/// `nesy test`.
pub(crate) fn run(args: &Args) -> CliResult {
    let files = files::collect(&args.paths).map_err(CliError::Usage)?;
    let limits = args.limits.limits();
    let semiring = args.semiring.kind()?;
    let (mut passed, mut failed, mut unloadable) = (0, 0, 0);
    let mut out = String::new();
    for file in &files {
        let program = match Program::from_files(std::slice::from_ref(file)) {
            Ok(p) => p,
            Err(e) => {
                let _ = std::io::stdout().write_all(out.as_bytes());
                out.clear();
                report(&e);
                let tests = program_test_count(file);
                errln!(
                    "error: `{}` could not be loaded; {} not run",
                    file.display(),
                    plural(tests, "test")
                );
                failed += tests;
                unloadable += 1;
                continue;
            }
        };
        for result in program.run_tests_under(semiring, &limits) {
            match &result.outcome {
                TestOutcome::Passed => {
                    passed += 1;
                    out.push_str(&format!(
                        "test {} \"{}\" ... ok\n",
                        result.location, result.name
                    ));
                }
                TestOutcome::Failed { failures } => {
                    failed += 1;
                    out.push_str(&format!(
                        "test {} \"{}\" ... FAILED\n",
                        result.location, result.name
                    ));
                    for f in failures {
                        out.push_str(&format!(
                            "    {}: expected `{}`, but {}\n",
                            f.location, f.expectation, f.reason
                        ));
                    }
                }
                TestOutcome::Error { message } => {
                    failed += 1;
                    out.push_str(&format!(
                        "test {} \"{}\" ... ERROR\n    {message}\n",
                        result.location, result.name
                    ));
                }
            }
        }
    }
    out.push_str(&format!("\n{passed} passed, {failed} failed\n"));
    print_out(&out);
    if failed > 0 || unloadable > 0 {
        Err(CliError::Reported)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// How many `@test` blocks a file has, counted from its syntax (when it
/// cannot be loaded, each of them fails).
fn program_test_count(file: &Path) -> usize {
    std::fs::read_to_string(file).map_or(0, |text| {
        let parsed = nesy::lang::parse(&text);
        parsed
            .program
            .items
            .iter()
            .filter(|i| matches!(i, nesy::lang::ast::Item::Test(_)))
            .count()
    })
}
