//! SPARQL parsed with prefixes the query does not declare (the common
//! ones, a data file's, a rule file's), and syntax errors a person can
//! act on: an unknown prefix is named with the `PREFIX` line to add, and
//! the parser's list of expected characters never reaches the user.
//!
//! ```
//! use nesy_kg::{KgError, Prefixes, SparqlLimits, check_query_with};
//!
//! let limits = SparqlLimits::default();
//! // rdf: is known without a PREFIX line.
//! check_query_with("SELECT ?x WHERE { ?x rdf:type ?c }", &limits, &Prefixes::common())?;
//! let Err(KgError::SparqlSyntax { message, line, column, help, .. }) =
//!     check_query_with("SELECT ?x WHERE { ?x ex:knows ?y }", &limits, &Prefixes::common())
//! else {
//!     panic!("ex: is not declared")
//! };
//! assert_eq!(message, "unknown prefix `ex:`");
//! assert_eq!((line, column), (1, 22));
//! assert!(help.contains("PREFIX ex: <"));
//! # Ok::<(), KgError>(())
//! ```

use crate::{KgError, Prefixes};

/// The query text with `prefixes` declared before it: one line, so the
/// parser's line numbers are one more than the user's.
pub(crate) fn with_prologue(text: &str, prefixes: &Prefixes) -> String {
    if prefixes.is_empty() {
        return text.to_string();
    }
    format!("{}\n{text}", prefixes.sparql_prologue())
}

/// A parse error of `text` (parsed with `prefixes` declared before it, on
/// a line of their own when there are any), said plainly and located in
/// `text`.
pub(crate) fn syntax_error(
    text: &str,
    prefixes: &Prefixes,
    forms: &[&str],
    parser: &str,
) -> KgError {
    if let Some((offset, word)) = first_keyword(text)
        && !forms.iter().any(|f| f.eq_ignore_ascii_case(word))
        && !["PREFIX", "BASE"]
            .iter()
            .any(|f| f.eq_ignore_ascii_case(word))
    {
        let list = match forms.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => forms.join(""),
        };
        let kind = if forms.contains(&"SELECT") {
            "a query"
        } else {
            "an update"
        };
        return located(
            text,
            offset,
            format!("{kind} starts with {list}, not `{word}`"),
            "PREFIX and BASE lines may come first".to_string(),
        );
    }
    if let Some((offset, label)) = undeclared_prefix(text, prefixes) {
        let known: Vec<&str> = prefixes.iter().map(|(l, _)| l).collect();
        let iri = crate::prefixes::COMMON_PREFIXES
            .iter()
            .find(|(l, _)| *l == label)
            .map_or("...".to_string(), |(_, iri)| (*iri).to_string());
        let known = if known.is_empty() {
            String::new()
        } else {
            format!(" (known without one: {})", known.join(", "))
        };
        return located(
            text,
            offset,
            format!("unknown prefix `{label}:`"),
            format!("add `PREFIX {label}: <{iri}>` before the query{known}"),
        );
    }
    // peg says `error at L:C: expected one of <every character class>`.
    let shift = usize::from(!prefixes.is_empty());
    let position = parser
        .strip_prefix("error at ")
        .and_then(|rest| rest.split_once(": "))
        .and_then(|(at, _)| at.split_once(':'))
        .and_then(|(l, c)| Some((l.parse::<usize>().ok()?, c.parse::<usize>().ok()?)));
    let Some((line, column)) = position else {
        return KgError::Sparql(parser.to_string());
    };
    let offset = offset_of(text, line.saturating_sub(shift).max(1), column);
    let rest = text.get(offset..).unwrap_or_default();
    let token: String = rest
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .chars()
        .take(30)
        .collect();
    let message = if token.is_empty() {
        "the query ends too early".to_string()
    } else {
        format!("syntax error at `{token}`")
    };
    located(
        text,
        offset,
        message,
        "see the SPARQL 1.1 grammar; the query is read up to here".to_string(),
    )
}

fn located(text: &str, offset: usize, message: String, help: String) -> KgError {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    KgError::SparqlSyntax {
        line: before.bytes().filter(|&b| b == b'\n').count() + 1,
        column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
        offset,
        message,
        help,
    }
}

/// The query forms [`syntax_error`] names.
pub(crate) const QUERY_FORMS: [&str; 4] = ["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"];

/// The update operations [`syntax_error`] names.
pub(crate) const UPDATE_FORMS: [&str; 10] = [
    "INSERT", "DELETE", "WITH", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD",
];

/// The first word of the text after whitespace, comments and `PREFIX
/// p: <iri>` / `BASE <iri>` lines: its offset and the word.
fn first_keyword(text: &str) -> Option<(usize, &str)> {
    let mut at = 0;
    loop {
        let rest = text.get(at..)?;
        let trimmed = rest.trim_start();
        at += rest.len() - trimmed.len();
        if trimmed.starts_with('#') {
            at += trimmed.find('\n').unwrap_or(trimmed.len());
            continue;
        }
        let end = trimmed
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(trimmed.len());
        let word = trimmed.get(..end)?;
        if word.is_empty() {
            return None;
        }
        if word.eq_ignore_ascii_case("PREFIX") || word.eq_ignore_ascii_case("BASE") {
            // Past the declaration's IRI.
            at += trimmed.find('>')? + 1;
            continue;
        }
        return Some((at, word));
    }
}

/// The byte offset of 1-based `line` and `column` (characters).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text.get(start..).and_then(|r| r.find('\n')) {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line_text = text.get(start..).unwrap_or_default();
    start
        + line_text
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(line_text.len(), |(i, _)| i)
}

/// The first prefixed name whose prefix neither the query nor `prefixes`
/// declares: its byte offset and label. IRIs (`<...>`), strings and
/// comments are skipped; so are blank nodes (`_:b`).
pub(crate) fn undeclared_prefix(text: &str, prefixes: &Prefixes) -> Option<(usize, String)> {
    let bytes = text.as_bytes();
    let name_char = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.';
    let mut declared: rustc_hash::FxHashSet<&str> = rustc_hash::FxHashSet::default();
    let mut used: Vec<(usize, String)> = Vec::new();
    let mut after_prefix_keyword = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'#' => {
                i = text
                    .get(i..)
                    .and_then(|r| r.find('\n'))
                    .map_or(text.len(), |n| i + n);
            }
            b'"' | b'\'' => {
                let quote = b;
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    i += 1;
                    if c == b'\\' {
                        i += 1;
                    } else if c == quote {
                        break;
                    }
                }
            }
            // An IRI has no spaces; `<` before a space is less-than.
            b'<' => {
                let rest = text.get(i + 1..).unwrap_or_default();
                let end = rest.find(|c: char| c == '>' || c.is_whitespace());
                match end {
                    Some(n) if rest.as_bytes().get(n) == Some(&b'>') => i += n + 2,
                    _ => i += 1,
                }
            }
            // A blank node, `_:label`.
            b'_' if bytes.get(i + 1) == Some(&b':') => {
                i += 2;
                while bytes.get(i).is_some_and(|&c| name_char(c)) {
                    i += 1;
                }
            }
            b'?' | b'$' => {
                i += 1;
                while bytes.get(i).is_some_and(|&c| name_char(c)) {
                    i += 1;
                }
            }
            _ if b == b':' || b.is_ascii_alphabetic() => {
                let start = i;
                while bytes.get(i).is_some_and(|&c| name_char(c)) {
                    i += 1;
                }
                let word = text.get(start..i).unwrap_or_default();
                if bytes.get(i) == Some(&b':') {
                    if after_prefix_keyword {
                        declared.insert(word);
                    } else {
                        used.push((start, word.to_string()));
                    }
                    after_prefix_keyword = false;
                    i += 1;
                } else {
                    after_prefix_keyword = word.eq_ignore_ascii_case("PREFIX");
                }
            }
            _ => i += 1,
        }
    }
    used.into_iter()
        .find(|(_, label)| !declared.contains(label.as_str()) && prefixes.get(label).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iris_strings_comments_and_variables_are_not_prefixed_names() {
        let p = Prefixes::common();
        let q = "PREFIX ex: <http://e/> # no: here\n\
                 SELECT ?x WHERE { ?x ex:p \"a:b\" . ?x <http://x/y:z> ?y FILTER(?y < 3) }";
        assert_eq!(undeclared_prefix(q, &p), None);
        let q = "SELECT * WHERE { ?s ?p _:b . ?s foaf:name ?n }";
        assert_eq!(
            undeclared_prefix(q, &p),
            Some((q.find("foaf").unwrap(), "foaf".to_string()))
        );
        // The default prefix `:` is a prefix too.
        let q = "SELECT * WHERE { ?s :p ?o }";
        assert_eq!(undeclared_prefix(q, &p), Some((20, String::new())));
    }

    #[test]
    fn a_query_larger_than_any_accepted_full_of_prefixes_is_scanned_in_one_pass() {
        // 5,000 declarations and 5,000 uses, one undeclared at the end:
        // the declared labels are a set, not a list searched per use.
        let mut q = String::new();
        for i in 0..5000 {
            q.push_str(&format!("PREFIX p{i}: <http://e/{i}#> "));
        }
        q.push_str("SELECT * WHERE { ");
        for i in 0..5000 {
            q.push_str(&format!("?s p{i}:x ?o . "));
        }
        q.push_str("?s zz:x ?o }");
        assert!(q.len() > 100_000);
        let at = q.find("zz:").unwrap();
        assert_eq!(
            undeclared_prefix(&q, &Prefixes::common()),
            Some((at, "zz".to_string()))
        );
    }

    #[test]
    fn a_misspelt_query_form_is_named_after_the_prologue() {
        let text = "# q\nPREFIX e: <http://e/> BASE <http://b/>\n  SELEC ?x WHERE {}";
        let KgError::SparqlSyntax {
            line,
            column,
            message,
            ..
        } = syntax_error(text, &Prefixes::new(), &QUERY_FORMS, "error at 3:3: x")
        else {
            panic!("not located")
        };
        assert_eq!((line, column), (3, 3));
        assert_eq!(
            message,
            "a query starts with SELECT, ASK, CONSTRUCT or DESCRIBE, not `SELEC`"
        );
    }

    #[test]
    fn parser_positions_are_moved_back_over_the_prologue() {
        let p = Prefixes::common();
        let text = "SELECT ?x\nWHERE { ?x rdf:type }";
        let Err(e) = spargebra::Query::parse(&with_prologue(text, &p), None) else {
            panic!("does not parse")
        };
        let KgError::SparqlSyntax {
            line,
            column,
            message,
            ..
        } = syntax_error(text, &p, &QUERY_FORMS, &e.to_string())
        else {
            panic!("not located")
        };
        assert_eq!((line, column), (2, 21), "{message}");
        assert_eq!(message, "syntax error at `}`");
    }
}
