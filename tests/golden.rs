//! Golden tests, Nemo's way: every program in `rules/` has a folder
//! `tests/golden/NAME/` with one `RELATION.tsv` per derived relation (rows
//! sorted, values tab-separated, as `nesy run --output DIR` writes them).
//! Every shipped program must load and evaluate.
//!
//! After an intended change, regenerate with
//! `NESY_BLESS=1 cargo test --test golden` and review the diff.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly on broken fixtures"
)]

mod common;

use nesy::{Limits, Program};
use std::collections::BTreeMap;
use std::path::Path;

/// What a program gives: file name -> contents.
fn outputs(path: &Path) -> BTreeMap<String, String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/");
    let mut out = BTreeMap::new();
    let result = Program::from_files(&[path]).and_then(|p| p.evaluate(&Limits::default()));
    match result {
        Err(e) => panic!("{}: {}", path.display(), e.to_string().replace(root, "")),
        Ok(evaluation) => {
            for name in evaluation.derived_relations() {
                let relation = evaluation.relation(name).unwrap();
                let mut text = String::new();
                for row in relation.rows() {
                    let fields: Vec<String> = row.iter().map(|v| v.to_plain_string()).collect();
                    text.push_str(&fields.join("\t"));
                    text.push('\n');
                }
                let file = name.replace(
                    |c: char| !(c.is_alphanumeric() || c == '_' || c == '-'),
                    "_",
                );
                out.insert(format!("{file}.tsv"), text);
            }
        }
    }
    out
}

#[test]
fn every_rule_program_derives_its_golden_relations() {
    let bless = std::env::var_os("NESY_BLESS").is_some();
    let programs = common::nesy_files("rules");
    assert!(programs.len() >= 5, "the rules/ corpus went missing");
    let mut failures = Vec::new();
    for program in &programs {
        let stem = program.file_stem().unwrap().to_string_lossy().to_string();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(&stem);
        let actual = outputs(program);
        if bless {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            for (file, text) in &actual {
                std::fs::write(dir.join(file), text).unwrap();
            }
            continue;
        }
        let mut expected = BTreeMap::new();
        for entry in
            std::fs::read_dir(&dir).unwrap_or_else(|_| panic!("no golden folder {}", dir.display()))
        {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            expected.insert(name, std::fs::read_to_string(&path).unwrap());
        }
        if actual != expected {
            for (file, text) in &expected {
                match actual.get(file) {
                    None => failures.push(format!("{stem}: {file} expected but not produced")),
                    Some(a) if a != text => failures.push(format!(
                        "{stem}/{file}:\n--- expected\n{text}--- actual\n{a}"
                    )),
                    _ => {}
                }
            }
            for file in actual.keys().filter(|f| !expected.contains_key(*f)) {
                failures.push(format!("{stem}: {file} produced but not expected"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden outputs differ (bless with NESY_BLESS=1):\n{}",
        failures.join("\n")
    );
}

#[test]
fn contains_needs_the_whole_tuple() {
    let evaluation = Program::from_files(&["rules/family.nesy"])
        .unwrap()
        .evaluate(&Limits::default())
        .unwrap();
    let alice = nesy::Value::symbol("alice");
    let carol = nesy::Value::symbol("carol");
    assert!(evaluation.contains("ancestor", &[alice.clone(), carol.clone()]));
    assert!(!evaluation.contains("ancestor", &[carol.clone(), alice.clone()]));
    assert!(
        !evaluation.contains("ancestor", std::slice::from_ref(&alice)),
        "a prefix is not a tuple"
    );
    assert!(!evaluation.contains("ancestor", &[alice, nesy::Value::symbol("nobody")]));
    assert!(!evaluation.contains("no_such_relation", &[carol]));
}
