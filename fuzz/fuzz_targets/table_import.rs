//! Feeds arbitrary bytes to `@import` as a CSV and a TSV file, untyped and
//! typed by `@decl`: loading may fail, but never panic, and a failure names
//! a line of the file (or the file itself).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nesy::{Error, Limits, Program};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    for (file, rules) in [
        ("t.csv", "@import t from \"t.csv\".\nq(X) :- t(X, _).\n"),
        ("t.tsv", "@import t from \"t.tsv\".\nq(X) :- t(X, _).\n"),
        (
            "t.csv",
            "@import t from \"t.csv\".\n@decl t(a: int, b: string).\nq(X) :- t(X, _).\n",
        ),
        (
            "t.tsv",
            "@import t from \"t.tsv\".\n@decl t(a: float, b: symbol).\nq(X) :- t(X, _).\n",
        ),
    ] {
        std::fs::write(dir.path().join(file), data).expect("written");
        let path = dir.path().join("rules.nesy");
        std::fs::write(&path, rules).expect("written");
        match Program::from_files(&[&path]) {
            Ok(program) => {
                let _ = program.evaluate(&Limits::default());
            }
            Err(Error::Import { location, .. }) => {
                assert!(location.file.ends_with(file), "{location}");
                if let Some(line) = location.line {
                    assert!((1..=lines).contains(&line), "{location} of {lines} lines");
                }
            }
            Err(_) => {}
        }
    }
});
