//! The corpus of broken programs in `tests/broken/`: each `NAME.nesy` must
//! produce exactly the diagnostics listed in `NAME.expected`, one per line as
//! `LINE:COLUMN: SEVERITY[CODE]: MESSAGE`, each followed by `  help: HELP`
//! when it has a help line. The same corpus drives the CLI
//! tests in `crates/nesy-cli/tests/`.
//!
//! After an intended change of messages, regenerate the expectations with
//! `NESY_BLESS=1 cargo test --test diagnostics` and review the diff.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on broken fixtures"
)]

mod common;

use std::fmt::Write;
use std::path::Path;

fn render(path: &Path) -> String {
    // Relative to the repository (the working directory of tests), as the
    // CLI's corpus test gives it: messages show paths as given.
    let path = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path);
    let checked = nesy::check_file(path).unwrap();
    let mut out = String::new();
    for d in &checked.diagnostics {
        let at = checked.source.position(d.span.start);
        writeln!(
            out,
            "{}:{}: {}[{}]: {}",
            at.line, at.column, d.severity, d.code, d.message
        )
        .unwrap();
        if let Some(help) = &d.help {
            writeln!(out, "  help: {help}").unwrap();
        }
    }
    out
}

#[test]
fn every_broken_program_reports_exactly_its_expected_diagnostics() {
    let bless = std::env::var_os("NESY_BLESS").is_some();
    let files = common::nesy_files("tests/broken");
    assert!(files.len() >= 20, "the corpus is missing");
    let mut failures = Vec::new();
    for path in files {
        let actual = render(&path);
        let expected_path = path.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} has no .expected file", path.display()));
        if actual != expected {
            failures.push(format!(
                "{}\n--- expected\n{expected}--- actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_broken_program_but_the_warnings_one_has_an_error() {
    for path in common::nesy_files("tests/broken") {
        let checked = nesy::check_file(&path).unwrap();
        // `warnings.nesy` and `NAME.warnings.nesy` have warnings only.
        let is_warnings_only = path
            .file_stem()
            .is_some_and(|s| s.to_string_lossy().ends_with("warnings"));
        assert_eq!(
            checked.has_errors(),
            !is_warnings_only,
            "{}",
            path.display()
        );
        assert!(!checked.diagnostics.is_empty(), "{}", path.display());
    }
}

/// Every error of a program that does not load is rendered by miette (as
/// a related report with its excerpt), not only the first.
#[test]
fn a_rules_error_renders_every_diagnostic() {
    let err = nesy::Program::from_source("two.nesy", "p(X) :- q(Y).\nr(X) :- s(Z).\n").unwrap_err();
    let nesy::Error::Rules(errors) = &err else {
        panic!("expected rule errors, got {err:?}")
    };
    assert_eq!(errors.len(), 2);
    assert_eq!(
        err.to_string(),
        "two.nesy:1:3: variable `X` in the head is not bound by the body (and 1 more)"
    );
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, &err)
        .unwrap();
    assert!(out.contains("two.nesy:1:"), "{out}");
    assert!(out.contains("two.nesy:2:"), "{out}");
    assert!(out.contains("r(X) :- s(Z)."), "{out}");
}
