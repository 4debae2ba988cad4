//! Plain facts read without pest: `edge(1, 2).`, `name(a1, "Ann").`.
//!
//! Large rule files are mostly facts, and pest spends most of its time on
//! them in its per-rule bookkeeping (call and stack guards). A fact whose
//! arguments are unsigned integers, lowercase symbols and short strings
//! without escapes, with spaces or tabs between its tokens, is read here
//! into exactly the clause pest's builder makes; anything else (a
//! variable, a float, a prefixed name, a comment or a line break inside,
//! a probability, a rule) is left to pest, which reads and reports it as
//! always. `tests` below checks the two agree.

use crate::ast::{Atom, Clause, ConstValue, Constant, Expr, Name, Span};

/// The plain fact at the start of `rest` (at byte `at` of the file) and the
/// bytes it takes, or `None` when pest must read what is there.
pub(crate) fn plain_fact(rest: &str, at: usize) -> Option<(Clause, usize)> {
    let bytes = rest.as_bytes();
    let name_end = ident_end(bytes, 0)?;
    let relation = rest.get(..name_end)?;
    if is_reserved(relation) {
        return None;
    }
    let mut pos = skip_blanks(bytes, name_end);
    if bytes.get(pos) != Some(&b'(') {
        return None;
    }
    pos = skip_blanks(bytes, pos + 1);
    let mut args = Vec::new();
    if bytes.get(pos) == Some(&b')') {
        pos += 1;
    } else {
        loop {
            let (arg, end) = constant(rest, pos, at)?;
            args.push(arg);
            pos = skip_blanks(bytes, end);
            match bytes.get(pos) {
                Some(b',') => pos = skip_blanks(bytes, pos + 1),
                Some(b')') => {
                    pos += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    let atom_end = pos;
    pos = skip_blanks(bytes, pos);
    if bytes.get(pos) != Some(&b'.') {
        return None;
    }
    let end = pos + 1;
    let head = Atom {
        relation: Name {
            text: relation.to_string(),
            span: Span::new(at, at + name_end),
        },
        args,
        span: Span::new(at, at + atom_end),
    };
    Some((
        Clause {
            name: None,
            probability: None,
            head,
            body: Vec::new(),
            span: Span::new(at, at + end),
            choice: None,
        },
        end,
    ))
}

/// `not` is reserved; `true` and `false` are booleans.
fn is_reserved(ident: &str) -> bool {
    matches!(ident, "not" | "true" | "false")
}

/// The end of a lowercase identifier starting at `start`.
fn ident_end(bytes: &[u8], start: usize) -> Option<usize> {
    if !bytes.get(start)?.is_ascii_lowercase() {
        return None;
    }
    let len = bytes
        .get(start..)?
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    Some(start + len)
}

fn skip_blanks(bytes: &[u8], mut pos: usize) -> usize {
    while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}

/// A constant at byte `pos` of `rest`: the expression and where it ends.
fn constant(rest: &str, pos: usize, at: usize) -> Option<(Expr, usize)> {
    let bytes = rest.as_bytes();
    let first = *bytes.get(pos)?;
    let (value, end) = if first.is_ascii_digit() {
        let len = bytes
            .get(pos..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = pos + len;
        // `1.5`, `1e3`, `12ab`: pest's to read (or to report).
        if bytes
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_'))
        {
            return None;
        }
        (ConstValue::Int(rest.get(pos..end)?.parse().ok()?), end)
    } else if first == b'"' {
        if bytes.get(pos + 1) == Some(&b'"') && bytes.get(pos + 2) == Some(&b'"') {
            return None; // a long string
        }
        let body = bytes.get(pos + 1..)?;
        let len = body
            .iter()
            .position(|&b| matches!(b, b'"' | b'\\' | b'\n' | b'\r'))?;
        if body.get(len) != Some(&b'"') {
            return None; // an escape, or no closing quote on the line
        }
        let value = rest.get(pos + 1..pos + 1 + len)?.to_string();
        (ConstValue::String(value), pos + len + 2)
    } else {
        let end = ident_end(bytes, pos)?;
        let word = rest.get(pos..end)?;
        // `ex:a` is a prefixed name, `m.p(...)` a model call.
        if is_reserved(word) || matches!(bytes.get(end), Some(b':' | b'.' | b'(')) {
            return None;
        }
        (ConstValue::Symbol(word.to_string()), end)
    };
    let text = rest.get(pos..end)?.to_string();
    Some((
        Expr::Const(Constant {
            value,
            text,
            span: Span::new(at + pos, at + end),
        }),
        end,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test")]
    use crate::parser::{Parsed, parse, parse_items, parse_items_with};
    use proptest::prelude::*;

    fn assert_same(a: &Parsed, b: &Parsed, source: &str) {
        assert_eq!(a.program, b.program, "{source:?}");
        assert_eq!(
            format!("{:?}", a.diagnostics),
            format!("{:?}", b.diagnostics),
            "{source:?}"
        );
    }

    /// Plain facts read here must give what pest gives, item by item (also
    /// around syntax errors) and, for a file without errors, what one
    /// pest parse of the whole file gives: items, spans, comments, errors.
    fn same(source: &str) {
        let fast = parse_items(source);
        assert_same(&fast, &parse_items_with(source, false), source);
        if fast.diagnostics.is_empty() {
            assert_same(&fast, &parse(source), source);
        }
    }

    /// A large file (read item by item) with a broken fact in the middle:
    /// the error is where it is, and every fact around it is read.
    #[test]
    fn a_syntax_error_in_a_large_fact_file_is_located_and_the_rest_read() {
        let mut source = String::new();
        for i in 0..20_000 {
            source.push_str(&format!("edge({i}, {}).\n", i + 1));
        }
        let broken_at = source.len();
        source.push_str("edge(1, .\n");
        for i in 0..20_000 {
            source.push_str(&format!("name(n{i}, \"N {i}\").\n"));
        }
        assert!(source.len() >= crate::parser::ITEM_BY_ITEM_FROM);
        let parsed = parse(&source);
        assert_eq!(parsed.program.items.len(), 40_000);
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        let error = &parsed.diagnostics[0];
        assert!(
            (broken_at..broken_at + 10).contains(&error.span.start),
            "{error:?}"
        );
        same(&source);
    }

    #[test]
    fn facts_read_without_pest_are_the_clauses_pest_builds() {
        for source in [
            "edge(1, 2).\nedge(2,3) .\n",
            "name(a1, \"Ann Lee\").\tname(a2, \"\").\n",
            "empty().\r\np( 007 , x_Y9 ).\n",
            "r(\"naïve\", é).\n",
            // Left to pest: floats, negatives, variables, prefixes, model
            // calls, escapes, long strings, reserved words, comments, rules,
            // probabilities, disjunctions, line breaks inside.
            "p(1.5). p(-2). p(X). p(ex:a). p(m.q(1)). p(\"a\\\"b\"). p(\"\"\"x\"\"\").",
            "p(not). p(true). not(1). p(1) // c\n. p(1 /* c */). q(1) :- p(1).",
            "0.5 :: p(1). t(_) :: p(2). p(1); p(2). p(\n1).",
            "p(99999999999999999999). p(1, ). p(1 2). p(1)",
            "@prefix ex: <http://e/>. ex:p(1). p(ex:a, 2). // end\n/* block */ q(3).",
        ] {
            same(source);
        }
    }

    #[test]
    fn shipped_rule_files_read_alike_item_by_item() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let mut read = 0;
        for dir in ["rules", "tests/golden", "tests/broken", "knowledge"] {
            let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "nesy") {
                    same(&std::fs::read_to_string(&path).unwrap());
                    read += 1;
                }
            }
        }
        assert!(read >= 10, "{read} files");
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..100_000).prop_map(|n| n.to_string()),
            "[a-z][a-zA-Z0-9_]{0,4}",
            "\"[a-z é\\\\\"]{0,4}\"",
            Just("X".to_string()),
            Just("1.5".to_string()),
            Just("-3".to_string()),
            Just("ex:a".to_string()),
            Just("not".to_string()),
            Just(" ".to_string()),
            Just("\n".to_string()),
            Just("//c\n".to_string()),
        ]
    }

    proptest! {
        #[test]
        fn random_fact_files_read_alike(
            facts in prop::collection::vec(
                ("[a-z]{1,3}", prop::collection::vec(token(), 0..4), prop_oneof![Just(","), Just(", "), Just(" ,")], prop_oneof![Just("."), Just(" ."), Just(""), Just(". ")]),
                1..12,
            )
        ) {
            let source: String = facts
                .iter()
                .map(|(rel, args, sep, end)| format!("{rel}({}){end}\n", args.join(sep)))
                .collect();
            same(&source);
        }
    }
}
