//! The SPARQL inside rule files, checked with the rules: a query that
//! `nesy run` would refuse (too long, nested too deep, too many patterns)
//! or could not parse (an unknown prefix, a syntax error) is an error of
//! `nesy check`, located inside the string. The file's `@prefix`es and
//! `rdf`, `rdfs`, `owl`, `xsd` are known inside its queries.
//!
//! ```
//! let deep = format!(
//!     "@import r from sparql(\"SELECT * WHERE {}?s ?p ?o{}\").",
//!     "{".repeat(200),
//!     "}".repeat(200)
//! );
//! let checked = nesy::check_source("deep.nesy", &deep);
//! let d = &checked.diagnostics[0];
//! assert_eq!(d.code, "sparql-refused");
//! // At the first brace past the nesting limit, inside the string.
//! assert_eq!(checked.source.position(d.span.start).column, 23 + 15 + 65);
//! ```

use nesy_kg::{KgError, Prefixes, SparqlLimits};
use nesy_lang::ast::{ImportSource, Item, Span, StringLit};
use nesy_lang::{Checked, Diagnostic};

/// The prefixes a rule file's SPARQL knows without `PREFIX` lines: the
/// common ones (`rdf`, `rdfs`, `owl`, `xsd`) and the file's `@prefix`es.
pub(crate) fn rule_prefixes(program: &nesy_lang::ast::Program) -> Prefixes {
    let mut prefixes = Prefixes::common();
    for item in &program.items {
        if let Item::Prefix(d) = item {
            prefixes.add(&d.label.text, &d.iri);
        }
    }
    prefixes
}

/// Adds a diagnostic for each `sparql("...")` import that would not run.
pub(crate) fn add_sparql_diagnostics(checked: &mut Checked) {
    let mut found = Vec::new();
    let prefixes = rule_prefixes(&checked.program);
    for item in &checked.program.items {
        let Item::Import(import) = item else { continue };
        let ImportSource::Sparql(query) = &import.source else {
            continue;
        };
        match nesy_kg::check_query_with(&query.value, &SparqlLimits::default(), &prefixes) {
            Ok(()) => {}
            Err(KgError::SparqlSyntax {
                offset,
                message,
                help,
                ..
            }) => {
                let at = source_offset(query, offset);
                let code = if message.starts_with("unknown prefix") {
                    "sparql-unknown-prefix"
                } else {
                    "sparql-syntax"
                };
                found.push(
                    Diagnostic::error(code, Span::new(at, at + 1), message)
                        .with_label("here")
                        .with_help(help),
                );
            }
            Err(KgError::Refused {
                offset, message, ..
            }) => {
                let at = source_offset(query, offset);
                found.push(
                    Diagnostic::error("sparql-refused", Span::new(at, at + 1), message)
                        .with_label("here")
                        .with_help(
                            "queries in rule files are bounded as the server bounds them; flatten or split the query",
                        ),
                );
            }
            Err(e) => found.push(
                Diagnostic::error("sparql-syntax", query.span, e.to_string())
                    .with_label("this query does not parse"),
            ),
        }
    }
    if found.is_empty() {
        return;
    }
    checked.diagnostics.extend(found);
    checked
        .diagnostics
        .sort_by_key(|d| (d.span.start, d.span.end));
}

/// The source offset of byte `offset` of a string literal's decoded value
/// (escapes are longer in the source than in the value).
fn source_offset(lit: &StringLit, offset: usize) -> usize {
    let long = lit.text.starts_with("\"\"\"");
    let open = if long { 3 } else { 1 };
    let raw = lit.text.get(open..).unwrap_or_default();
    if long {
        return lit.span.start + open + offset.min(raw.len());
    }
    let mut decoded = 0;
    let mut at = 0;
    let bytes = raw.as_bytes();
    while at < raw.len() && decoded < offset {
        if bytes.get(at) == Some(&b'\\') {
            if bytes.get(at + 1) == Some(&b'u') {
                let end = raw
                    .get(at..)
                    .and_then(|r| r.find('}'))
                    .map_or(raw.len(), |e| at + e + 1);
                let produced = raw
                    .get(at + 3..end.saturating_sub(1))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                    .map_or(1, char::len_utf8);
                decoded += produced;
                at = end;
            } else {
                decoded += 1;
                at += 2;
            }
        } else {
            let len = raw
                .get(at..)
                .and_then(|r| r.chars().next())
                .map_or(1, char::len_utf8);
            decoded += len;
            at += len;
        }
    }
    lit.span.start + open + at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_shift_the_location() {
        let lit = StringLit {
            value: "a\"b{".to_string(),
            text: "\"a\\\"b{\"".to_string(),
            span: Span::new(10, 17),
        };
        // `{` is byte 3 of the value, byte 4 of the source text after `"`.
        assert_eq!(source_offset(&lit, 3), 10 + 1 + 4);
    }
}
