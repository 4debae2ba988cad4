//! The examples in `docs/language.md` are real: every ```nesy block checks
//! without errors, and every ```nesy,error CODE block fails with CODE.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use std::path::Path;

#[test]
fn language_guide_examples_check() {
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/language.md"))
            .unwrap();
    let mut blocks = 0;
    let mut lines = guide.lines().enumerate();
    while let Some((start, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```nesy") else {
            continue;
        };
        let body: String = lines
            .by_ref()
            .take_while(|(_, l)| !l.starts_with("```"))
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        blocks += 1;
        let checked = nesy::check_source(&format!("docs/language.md:{}", start + 1), &body);
        let errors: Vec<&str> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect();
        match info.strip_prefix(",error ") {
            Some(code) => assert_eq!(errors, [code.trim()], "block at line {}", start + 1),
            None => assert!(
                errors.is_empty(),
                "block at line {}: {:#?}",
                start + 1,
                checked.diagnostics
            ),
        }
        // Every example parses well enough to format.
        nesy::format_source(&body).unwrap();
    }
    assert!(blocks >= 10, "only {blocks} examples found");
}
