//! RDF/XML entities, bounded before the parser expands them.
//!
//! oxrdfxml expands an internal entity when it is declared, entities
//! inside it included, and again wherever it is referenced: eight levels of
//! ten references each (the "billion laughs", 627 bytes) asked it for
//! gigabytes. Ontologies do use entities, as short IRI prefixes
//! (`<!ENTITY owl "http://www.w3.org/2002/07/owl#">`), so they are not
//! refused outright: their expanded sizes are computed without expanding
//! them, and a file is refused when one entity, all of them together, or
//! all their references in the document would expand past the bounds
//! below. Parameter and external entities are refused (the parser reads
//! neither).

use crate::KgError;

/// Largest expansion of one entity.
const MAX_ENTITY: usize = 64 * 1024;

/// Largest expansion of all declarations together, and of all the
/// document's references together.
const MAX_EXPANSION: usize = 16 << 20;

/// Checks the entities of an RDF/XML document (`name` is for messages).
pub(crate) fn check_entities(text: &[u8], name: &str) -> Result<(), KgError> {
    let Some(doctype) = find(text, b"<!DOCTYPE", 0) else {
        return Ok(());
    };
    // The internal subset: from `[` to the `]` that ends it (quoted
    // values may hold brackets).
    let mut entities: Vec<(Vec<u8>, usize)> = Vec::new();
    let mut declared = 0usize;
    let mut i = doctype;
    let mut body_start = text.len();
    while let Some(&c) = text.get(i) {
        match c {
            b'"' | b'\'' => {
                i = find(text, &[c], i + 1).map_or(text.len(), |e| e + 1);
                continue;
            }
            b'>' => {
                body_start = i + 1;
                break;
            }
            b'[' => {
                let (end, found) = internal_subset(text, i + 1, name)?;
                for (at, entity_name, value) in found {
                    let size = expanded(value, &entities);
                    if size > MAX_ENTITY {
                        return Err(error(
                            text,
                            at,
                            name,
                            format!(
                                "entity `{}` expands to {size} bytes; at most {MAX_ENTITY} are accepted",
                                String::from_utf8_lossy(entity_name)
                            ),
                        ));
                    }
                    declared += size;
                    if declared > MAX_EXPANSION {
                        return Err(error(
                            text,
                            at,
                            name,
                            format!(
                                "the entities declared expand to more than {MAX_EXPANSION} bytes"
                            ),
                        ));
                    }
                    entities.push((entity_name.to_vec(), size));
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if entities.is_empty() {
        return Ok(());
    }
    // Every reference in the document expands once more.
    let mut total = 0usize;
    let mut at = body_start;
    while let Some(amp) = find(text, b"&", at) {
        at = amp + 1;
        let Some(semi) = find(text, b";", at) else {
            break;
        };
        let Some(reference) = text.get(at..semi) else {
            break;
        };
        if let Some((_, size)) = entities.iter().find(|(n, _)| n == reference) {
            total += size;
            if total > MAX_EXPANSION {
                return Err(error(
                    text,
                    amp,
                    name,
                    format!("entity references expand to more than {MAX_EXPANSION} bytes"),
                ));
            }
        }
    }
    Ok(())
}

type Declaration<'a> = (usize, &'a [u8], &'a [u8]);

/// The entity declarations of the internal subset starting at `from`, and
/// where the subset ends.
fn internal_subset<'a>(
    text: &'a [u8],
    from: usize,
    name: &str,
) -> Result<(usize, Vec<Declaration<'a>>), KgError> {
    let mut out = Vec::new();
    let mut i = from;
    while let Some(&c) = text.get(i) {
        match c {
            b']' => return Ok((i + 1, out)),
            b'"' | b'\'' => {
                i = find(text, &[c], i + 1).map_or(text.len(), |e| e + 1);
                continue;
            }
            b'<' if text.get(i..i + 4) == Some(b"<!--") => {
                i = find(text, b"-->", i + 4).map_or(text.len(), |e| e + 3);
                continue;
            }
            b'<' if text.get(i..i + 8) == Some(b"<!ENTITY") => {
                let rest = text.get(i + 8..).unwrap_or_default();
                let skip = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
                let rest = rest.get(skip..).unwrap_or_default();
                if rest.first() == Some(&b'%') {
                    return Err(error(
                        text,
                        i,
                        name,
                        "parameter entities (`<!ENTITY % ...>`) are not accepted".to_string(),
                    ));
                }
                let len = rest.iter().take_while(|b| !b.is_ascii_whitespace()).count();
                let entity_name = rest.get(..len).unwrap_or_default();
                let after = rest.get(len..).unwrap_or_default();
                let gap = after.iter().take_while(|b| b.is_ascii_whitespace()).count();
                let value_at = i + 8 + skip + len + gap;
                match text.get(value_at) {
                    Some(&q @ (b'"' | b'\'')) => {
                        let end = find(text, &[q], value_at + 1).unwrap_or(text.len());
                        let value = text.get(value_at + 1..end).unwrap_or_default();
                        out.push((i, entity_name, value));
                        i = end + 1;
                        continue;
                    }
                    _ => {
                        return Err(error(
                            text,
                            i,
                            name,
                            "external entities (`SYSTEM`, `PUBLIC`) are not accepted".to_string(),
                        ));
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok((text.len(), out))
}

/// The length of `value` once the entities it references are expanded.
fn expanded(value: &[u8], known: &[(Vec<u8>, usize)]) -> usize {
    let mut size = 0;
    let mut i = 0;
    while i < value.len() {
        if value.get(i) == Some(&b'&')
            && let Some(semi) = find(value, b";", i + 1)
            && let Some(reference) = value.get(i + 1..semi)
            && let Some((_, s)) = known.iter().find(|(n, _)| n == reference)
        {
            size += s;
            i = semi + 1;
            continue;
        }
        size += 1;
        i += 1;
    }
    size
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn error(text: &[u8], at: usize, name: &str, message: String) -> KgError {
    let before = text.get(..at).unwrap_or(text);
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() as u64 + 1;
    KgError::Syntax {
        file: name.to_string(),
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn laughs(levels: usize, fanout: usize) -> String {
        let mut dtd = String::from("<!ENTITY l0 \"lol\">\n");
        for level in 1..=levels {
            let refs: String = (0..fanout).map(|_| format!("&l{};", level - 1)).collect();
            dtd.push_str(&format!("<!ENTITY l{level} \"{refs}\">\n"));
        }
        format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE rdf:RDF [\n{dtd}]>\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"http://x/a\"><rdf:value>&l{levels};</rdf:value></rdf:Description></rdf:RDF>"
        )
    }

    #[test]
    fn nested_entities_are_refused_before_expansion() {
        let Err(KgError::Syntax { line, message, .. }) =
            check_entities(laughs(8, 10).as_bytes(), "bomb.rdf")
        else {
            panic!("not refused");
        };
        assert!(message.contains("expands to"), "{message}");
        // l5 = 3 * 10^5 bytes is the first past 64 KiB; it is declared on line 8.
        assert_eq!(line, 8);
    }

    #[test]
    fn many_references_to_a_large_entity_are_refused() {
        let big = "x".repeat(60_000);
        let refs = "&big;".repeat(400);
        let doc = format!("<!DOCTYPE r [<!ENTITY big \"{big}\">]><r>{refs}</r>");
        assert!(check_entities(doc.as_bytes(), "q.rdf").is_err());
    }

    #[test]
    fn prefix_entities_of_ontologies_pass() {
        let doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE rdf:RDF [\n <!ENTITY owl \"http://www.w3.org/2002/07/owl#\" >\n <!ENTITY xsd 'http://www.w3.org/2001/XMLSchema#' >\n]>\n<rdf:RDF><owl:Class rdf:about=\"&owl;Thing\"/></rdf:RDF>";
        assert!(check_entities(doc.as_bytes(), "o.owl").is_ok());
        assert!(check_entities(laughs(2, 10).as_bytes(), "small.rdf").is_ok());
    }

    #[test]
    fn parameter_and_external_entities_are_refused() {
        let p = "<!DOCTYPE r [<!ENTITY % p \"x\">]><r/>";
        assert!(check_entities(p.as_bytes(), "p.rdf").is_err());
        let e = "<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><r>&e;</r>";
        assert!(check_entities(e.as_bytes(), "e.rdf").is_err());
    }
}
