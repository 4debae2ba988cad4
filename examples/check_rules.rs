//! Checks a rule file from a Rust program and prints its diagnostics in the
//! same rich form as `nesy check`.
//!
//! ```sh
//! cargo run --example check_rules -- rules/family.nesy
//! ```
#![allow(clippy::print_stdout, reason = "an example prints")]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let path = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("rules/family.nesy"), PathBuf::from);
    let checked = match nesy::check_file(&path) {
        Ok(checked) => checked,
        Err(e) => {
            eprintln!("cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    for d in &checked.diagnostics {
        // A miette report shows the source line with a caret under the problem.
        println!(
            "{:?}",
            miette::Report::new(checked.source.report(d.clone()))
        );
    }
    let (errors, warnings) = checked.counts();
    println!(
        "{}: {} items, {errors} errors, {warnings} warnings",
        path.display(),
        checked.program.items.len()
    );
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
