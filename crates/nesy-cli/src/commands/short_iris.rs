//! SPARQL results with IRIs written short (`ex:alice`, not
//! `<http://example.org/acme#alice>`) by the graph's prefixes: what `nesy
//! kg query` prints as a table, and as TSV, CSV or JSON with
//! `--short-iris`.

use nesy::kg::Prefixes;

/// The prefixes a program's output is written with: `rdf`, `rdfs`,
/// `owl`, `xsd` and the `@prefix`es of its files.
pub(crate) fn of_program(program: &nesy::Program) -> Prefixes {
    let mut prefixes = Prefixes::common();
    for checked in program.sources() {
        for item in &checked.program.items {
            if let nesy::lang::ast::Item::Prefix(d) = item {
                prefixes.add(&d.label.text, &d.iri);
            }
        }
    }
    prefixes
}

/// `value`, an IRI written short where a prefix fits (its text becomes
/// the prefixed name), for TSV, CSV and JSON with `--short-iris`.
pub(crate) fn shorten_value(value: &mut nesy::Value, prefixes: &Prefixes) {
    if let nesy::Value::Iri(iri) = value
        && let Some(short) = prefixes.shorten(iri)
    {
        *value = nesy::Value::iri(short);
    }
}

/// A value as a table cell: an IRI short where a prefix fits.
pub(crate) fn cell(value: &nesy::Value, prefixes: &Prefixes) -> String {
    match value {
        nesy::Value::Iri(iri) => prefixes.shorten(iri).unwrap_or_else(|| value.to_string()),
        other => other.to_string(),
    }
}

/// Text for people (a table, an explanation) with each `<iri>` written
/// short where a prefix fits. An IRI is `<` then no space up to `>`, with
/// a `:` inside (so `X < Y` and `<-` stay as they are).
pub(crate) fn text(text: &str, prefixes: &Prefixes) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let (before, from) = rest.split_at(open);
        out.push_str(before);
        let inner = from.get(1..).unwrap_or_default();
        let end = inner.find(|c: char| c == '>' || c == '<' || c.is_whitespace());
        match end {
            Some(n) if inner.get(n..).is_some_and(|r| r.starts_with('>')) => {
                let iri = inner.get(..n).unwrap_or_default();
                match prefixes.shorten(iri).filter(|_| iri.contains(':')) {
                    Some(short) => out.push_str(&short),
                    None => {
                        out.push('<');
                        out.push_str(iri);
                        out.push('>');
                    }
                }
                rest = inner.get(n + 1..).unwrap_or_default();
            }
            _ => {
                out.push('<');
                rest = inner;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One TSV results cell (`<iri>`, `"lit"^^<iri>`, `_:b`, a number) with
/// its IRIs shortened where a prefix fits.
pub(crate) fn tsv_cell(cell: &str, prefixes: &Prefixes) -> String {
    if let Some(iri) = cell.strip_prefix('<').and_then(|c| c.strip_suffix('>')) {
        return prefixes.shorten(iri).unwrap_or_else(|| cell.to_string());
    }
    if let Some((literal, datatype)) = cell.rsplit_once("^^<")
        && let Some(short) = datatype
            .strip_suffix('>')
            .and_then(|iri| prefixes.shorten(iri))
    {
        return format!("{literal}^^{short}");
    }
    cell.to_string()
}

/// TSV results (the header line untouched) with every cell shortened.
pub(crate) fn tsv(text: &str, prefixes: &Prefixes) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            let cells: Vec<String> = line.split('\t').map(|c| tsv_cell(c, prefixes)).collect();
            out.push_str(&cells.join("\t"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// SPARQL JSON results with the value of every `uri` binding shortened.
pub(crate) fn json(text: &str, prefixes: &Prefixes) -> Result<String, serde_json::Error> {
    let mut results: serde_json::Value = serde_json::from_str(text)?;
    if let Some(rows) = results
        .pointer_mut("/results/bindings")
        .and_then(|b| b.as_array_mut())
    {
        for binding in rows.iter_mut().filter_map(|r| r.as_object_mut()) {
            for term in binding.values_mut() {
                shorten_json_term(term, prefixes);
            }
        }
    }
    Ok(format!("{}\n", serde_json::to_string(&results)?))
}

fn shorten_json_term(term: &mut serde_json::Value, prefixes: &Prefixes) {
    let key = match term.get("type").and_then(|t| t.as_str()) {
        Some("uri") => "value",
        Some("literal") => "datatype",
        _ => return,
    };
    let short = term
        .get(key)
        .and_then(|v| v.as_str())
        .and_then(|iri| prefixes.shorten(iri));
    if let (Some(short), Some(slot)) = (short, term.get_mut(key)) {
        *slot = serde_json::Value::String(short);
    }
}

/// SPARQL CSV results made from JSON ones, IRIs shortened: each cell is
/// the term's value (an IRI, a literal's lexical form, `_:id`), quoted
/// where CSV needs it.
pub(crate) fn csv_from_json(text: &str, prefixes: &Prefixes) -> Result<String, serde_json::Error> {
    let results: serde_json::Value = serde_json::from_str(text)?;
    let Some(vars) = results.pointer("/head/vars").and_then(|v| v.as_array()) else {
        // ASK: a boolean.
        let answer = results.get("boolean").and_then(|b| b.as_bool());
        return Ok(format!("_askResult\r\n{}\r\n", answer.unwrap_or(false)));
    };
    let vars: Vec<&str> = vars.iter().filter_map(|v| v.as_str()).collect();
    let mut out = vars.join(",");
    out.push_str("\r\n");
    let rows = results
        .pointer("/results/bindings")
        .and_then(|b| b.as_array())
        .map_or(&[][..], Vec::as_slice);
    for row in rows {
        let cells: Vec<String> = vars
            .iter()
            .map(|var| {
                let Some(term) = row.get(*var) else {
                    return String::new();
                };
                let value = term.get("value").and_then(|v| v.as_str()).unwrap_or("");
                let value = match term.get("type").and_then(|t| t.as_str()) {
                    Some("uri") => prefixes.shorten(value).unwrap_or_else(|| value.to_string()),
                    Some("bnode") => format!("_:{value}"),
                    _ => value.to_string(),
                };
                csv_quoted(&value)
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    Ok(out)
}

fn csv_quoted(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Prefixes {
        let mut p = Prefixes::common();
        p.add("ex", "http://example.org/acme#");
        p
    }

    #[test]
    fn cells_of_each_kind() {
        let p = prefixes();
        assert_eq!(tsv_cell("<http://example.org/acme#bob>", &p), "ex:bob");
        assert_eq!(tsv_cell("<http://other.org/x>", &p), "<http://other.org/x>");
        assert_eq!(
            tsv_cell("\"2\"^^<http://www.w3.org/2001/XMLSchema#short>", &p),
            "\"2\"^^xsd:short"
        );
        assert_eq!(tsv_cell("\"ex:bob\"", &p), "\"ex:bob\"");
        assert_eq!(tsv_cell("_:b1", &p), "_:b1");
    }

    #[test]
    fn text_shortens_iris_and_leaves_comparisons() {
        let p = prefixes();
        assert_eq!(
            text(
                "mayWrite(<http://example.org/acme#bob>, <http://x.org/r>)  X < Y <-",
                &p
            ),
            "mayWrite(ex:bob, <http://x.org/r>)  X < Y <-"
        );
        assert_eq!(text("a <b> c", &p), "a <b> c");
    }

    #[test]
    fn csv_quotes_and_shortens() {
        let json = r#"{"head":{"vars":["s","n"]},"results":{"bindings":[
            {"s":{"type":"uri","value":"http://example.org/acme#bob"},
             "n":{"type":"literal","value":"Bob, \"the\" builder"}},
            {"s":{"type":"bnode","value":"b0"}}]}}"#;
        assert_eq!(
            csv_from_json(json, &prefixes()).unwrap(),
            "s,n\r\nex:bob,\"Bob, \"\"the\"\" builder\"\r\n_:b0,\r\n"
        );
    }
}
