//! The formatter: its output is pinned by insta snapshots, it is idempotent,
//! and every shipped rule file is already in canonical form.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on broken fixtures"
)]

mod common;

#[test]
fn formatting_pins_the_canonical_layout() {
    for path in common::nesy_files("tests/fmt") {
        let source = std::fs::read_to_string(&path).unwrap();
        let formatted = nesy::format_source(&source).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(name, formatted);
    }
}

#[test]
fn formatting_is_idempotent() {
    for path in common::nesy_files("tests/fmt")
        .into_iter()
        .chain(common::nesy_files("rules"))
    {
        let source = std::fs::read_to_string(&path).unwrap();
        let once = nesy::format_source(&source).unwrap();
        let twice = nesy::format_source(&once).unwrap();
        assert_eq!(once, twice, "{}", path.display());
    }
}

#[test]
fn formatting_keeps_every_comment() {
    for path in common::nesy_files("tests/fmt") {
        let source = std::fs::read_to_string(&path).unwrap();
        let formatted = nesy::format_source(&source).unwrap();
        let before = nesy::lang::parse(&source).program.comments;
        let after = nesy::lang::parse(&formatted).program.comments;
        let texts =
            |c: &[nesy::lang::ast::Comment]| c.iter().map(|c| c.text.clone()).collect::<Vec<_>>();
        assert_eq!(texts(&before), texts(&after), "{}", path.display());
        assert!(!before.is_empty());
    }
}

#[test]
fn shipped_rule_files_are_formatted() {
    for path in common::nesy_files("rules") {
        let source = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            nesy::format_source(&source).unwrap(),
            source,
            "run `nesy fmt {}`",
            path.display()
        );
    }
}

#[test]
fn a_file_with_syntax_errors_is_not_formatted() {
    let errors = nesy::format_source("p(a).\nq(X :- p(X).\n").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "syntax");
}
