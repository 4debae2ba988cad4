//! `@import rel from "file.csv"` / `.tsv` / `.facts` (each may be gzipped).
//!
//! CSV files have a header row; TSV and `.facts` files (Soufflé's format)
//! have none. Each column takes the type its `@decl` gives it; without one,
//! integers become ints, other numbers floats, the rest symbols. A file is
//! read whole before any of its rows is added, so an error loses nothing
//! silently: the load fails naming the file and line.

use crate::{Error, ReadPolicy};
use nesy_engine::Value;
use nesy_lang::ast::{ImportSource, Item};
use nesy_lang::{Checked, Location, ValueType};
use std::io::Read;
use std::path::Path;

pub(crate) fn load_imports(
    engine: &mut nesy_engine::Program,
    checked: &Checked,
    dir: &Path,
    policy: &ReadPolicy,
) -> Result<(), Error> {
    load_graph_imports(engine, checked, dir, policy)?;
    for item in &checked.program.items {
        let Item::Import(import) = item else { continue };
        if is_graph_import(&import.source) {
            continue;
        }
        let (ImportSource::File(file), Some(relation)) = (&import.source, &import.relation) else {
            continue;
        };
        let path = tidy(&dir.join(&file.value));
        let path = policy.check(&path, &located(checked, import.span))?;
        let types = declared_types(checked, &relation.text);
        let rows = read_table(&path, types.as_deref())?;
        if let Some((location, first)) = rows.first()
            && let Some(arity) = engine.arity(&relation.text)
            && arity != first.len()
        {
            return Err(Error::Import {
                location: location.clone(),
                message: format!(
                    "`{}` has {arity} columns, but the file has {}",
                    relation.text,
                    first.len()
                ),
            });
        }
        for (location, row) in rows {
            engine.add_fact_from(&relation.text, row, &location)?;
        }
    }
    Ok(())
}

/// RDF files and stores become facts `p(s, o)` (the relation named by the
/// predicate's IRI, so `ex:parent` in rules reads `<...#parent>` triples),
/// or `rel(s, p, o)` when the import names a relation; SPARQL imports are
/// run over the file's RDF imports and their rows become `rel(...)`.
/// Without the knowledge graph, an RDF, store or SPARQL import is an
/// error naming the feature.
#[cfg(not(feature = "kg"))]
fn load_graph_imports(
    _engine: &mut nesy_engine::Program,
    checked: &Checked,
    _dir: &Path,
    _policy: &ReadPolicy,
) -> Result<(), Error> {
    for item in &checked.program.items {
        if let Item::Import(import) = item
            && is_graph_import(&import.source)
        {
            return Err(Error::Unsupported {
                location: located(checked, import.span),
                message: "this build of nesy has no knowledge graph: RDF, store and SPARQL imports need the `kg` feature".to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(feature = "kg")]
fn load_graph_imports(
    engine: &mut nesy_engine::Program,
    checked: &Checked,
    dir: &Path,
    policy: &ReadPolicy,
) -> Result<(), Error> {
    let located = |span: nesy_lang::ast::Span| located(checked, span);
    let kg = |e: nesy_kg::KgError, at: Location| crate::error::GraphError {
        location: Some(at),
        source: Box::new(e),
    };
    // RDF files are streamed straight into facts; they are also put into a
    // store only when a SPARQL import needs one to run over.
    let needs_store = checked
        .program
        .items
        .iter()
        .any(|i| matches!(i, Item::Import(d) if matches!(d.source, ImportSource::Sparql(_))));
    let mut graph: Option<nesy_kg::Graph> = None;
    let mut shared = || -> Result<nesy_kg::Graph, nesy_kg::KgError> {
        match &graph {
            Some(g) => Ok(g.clone()),
            None => {
                let g = nesy_kg::Graph::in_memory()?;
                graph = Some(g.clone());
                Ok(g)
            }
        }
    };
    for item in &checked.program.items {
        let Item::Import(import) = item else { continue };
        let at = located(import.span);
        let mut failure: Option<Error> = None;
        let mut add = |predicate: &str, s: Value, o: Value, file: &Location| {
            if failure.is_some() {
                return;
            }
            let result = match &import.relation {
                Some(rel) => {
                    engine.add_fact_from(&rel.text, vec![s, Value::iri(predicate), o], file)
                }
                None => engine.add_fact_from(&format!("<{predicate}>"), vec![s, o], file),
            };
            if let Err(e) = result {
                failure = Some(e.into());
            }
        };
        match &import.source {
            ImportSource::File(f) if is_graph_import(&import.source) => {
                let path = policy.check(&tidy(&dir.join(&f.value)), &at)?;
                // RDF parsers give no line per triple: the file alone.
                let file = Location::file(path.display().to_string());
                let read = nesy_kg::for_each_triple_block(&path, |block| {
                    match add_block(engine, import.relation.as_ref(), &block, &file) {
                        Ok(()) => true,
                        Err(e) => {
                            failure = Some(e);
                            false
                        }
                    }
                });
                if let Some(e) = failure.take() {
                    return Err(e);
                }
                read.map_err(|e| kg(e, at.clone()))?;
                if needs_store {
                    shared()
                        .map_err(|e| kg(e, at.clone()))?
                        .load_file(&path, None)
                        .map_err(|e| kg(e, at.clone()))?;
                }
            }
            ImportSource::Store(d) => {
                let path = policy.check(&tidy(&dir.join(&d.value)), &at)?;
                let store = nesy_kg::Graph::open(&path).map_err(|e| kg(e, at.clone()))?;
                let file = Location::file(path.display().to_string());
                for (p, s, o) in store.facts().map_err(|e| kg(e, at.clone()))? {
                    add(&p, s, o, &file);
                }
            }
            _ => continue,
        }
        if let Some(e) = failure {
            return Err(e);
        }
    }
    let prefixes = crate::sparql_check::rule_prefixes(&checked.program);
    for item in &checked.program.items {
        let Item::Import(import) = item else { continue };
        let (ImportSource::Sparql(query), Some(rel)) = (&import.source, &import.relation) else {
            continue;
        };
        let at = located(import.span);
        let g = shared().map_err(|e| kg(e, at.clone()))?;
        let options = nesy_kg::QueryOptions {
            prefixes: prefixes.clone(),
            ..nesy_kg::QueryOptions::default()
        };
        let (_, rows) = g
            .select_with(&query.value, &options)
            .map_err(|e| kg(e, at.clone()))?;
        for row in rows {
            engine.add_fact_from(&rel.text, row, &at)?;
        }
    }
    Ok(())
}

/// A block of an RDF file's triples as facts `rel(s, p, o)`, or `p(s, o)`
/// without a relation; each distinct term of the block is interned once.
#[cfg(feature = "kg")]
fn add_block(
    engine: &mut nesy_engine::Program,
    relation: Option<&nesy_lang::ast::Name>,
    block: &nesy_kg::TripleBlock,
    file: &Location,
) -> Result<(), Error> {
    let mut table = nesy_engine::ValueTable::new(&block.terms);
    if let Some(rel) = relation {
        let rel = engine.fact_relation(&rel.text, 3)?;
        for triple in &block.triples {
            engine.add_indexed_fact(rel, triple, &mut table, file)?;
        }
        return Ok(());
    }
    // The relation of each predicate, found once per block.
    let mut by_predicate: Vec<Option<nesy_engine::FactRelation>> = vec![None; block.terms.len()];
    for &[s, p, o] in &block.triples {
        let (Some(slot), Some(predicate)) = (
            by_predicate.get_mut(p as usize),
            block.terms.get(p as usize),
        ) else {
            continue;
        };
        let rel = match slot {
            Some(rel) => *rel,
            None => {
                let name = match predicate {
                    Value::Iri(iri) => format!("<{iri}>"),
                    other => format!("<{other}>"),
                };
                *slot.insert(engine.fact_relation(&name, 2)?)
            }
        };
        engine.add_indexed_fact(rel, &[s, o], &mut table, file)?;
    }
    Ok(())
}

/// Where a span of a checked source is.
fn located(checked: &Checked, span: nesy_lang::ast::Span) -> Location {
    checked.source.location(span.start)
}

/// `rules/../knowledge/x.csv` as `knowledge/x.csv`, for messages (the
/// file system is not asked: links are not resolved).
fn tidy(path: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// The type a `@decl` gives each column of `relation`, if declared.
fn declared_types(checked: &Checked, relation: &str) -> Option<Vec<Option<ValueType>>> {
    checked.program.items.iter().find_map(|item| match item {
        Item::Decl(d) if d.relation.text == relation => Some(
            d.fields
                .iter()
                .map(|f| ValueType::from_name(&f.ty.text))
                .collect(),
        ),
        _ => None,
    })
}

/// Whether an import reads RDF, a store or SPARQL (the knowledge graph's
/// part) rather than a table.
fn is_graph_import(source: &ImportSource) -> bool {
    match source {
        ImportSource::File(f) => {
            let lower = f.value.to_ascii_lowercase();
            let lower = lower.strip_suffix(".gz").unwrap_or(&lower);
            !nesy_lang::TABLE_FORMATS
                .iter()
                .any(|ext| lower.ends_with(&format!(".{ext}")))
        }
        ImportSource::Store(_) | ImportSource::Sparql(_) => true,
    }
}

/// The rows of a table file, each with its line.
pub(crate) fn read_table(
    path: &Path,
    types: Option<&[Option<ValueType>]>,
) -> Result<Vec<(Location, Vec<Value>)>, Error> {
    let file: std::sync::Arc<str> = path.display().to_string().into();
    let at = |line: Option<usize>| Location {
        file: file.clone(),
        line,
        column: None,
    };
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = std::fs::read(path).map_err(io_error)?;
    let mut name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let Some(stem) = name.strip_suffix(".gz") {
        let mut text = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_end(&mut text)
            .map_err(io_error)?;
        bytes = text;
        name = stem.to_string();
    }
    let text = String::from_utf8(bytes).map_err(|e| Error::Import {
        location: at(Some(
            1 + e
                .as_bytes()
                .iter()
                .take(e.utf8_error().valid_up_to())
                .filter(|&&b| b == b'\n')
                .count(),
        )),
        message: "the file is not valid UTF-8".to_string(),
    })?;
    let bad = |line: Option<usize>, message: String| Error::Import {
        location: at(line),
        message,
    };
    // A byte-order mark (spreadsheet exports) is not part of the first
    // value; the csv crate drops it itself, the tab-separated reader here.
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    let mut rows = Vec::new();
    if name.ends_with(".csv") {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let width = reader
            .headers()
            .map_err(|e| bad(Some(1), format!("cannot read the header row: {e}")))?
            .len();
        if let Some(types) = types
            && types.len() != width
        {
            return Err(bad(
                Some(1),
                format!(
                    "the header has {width} columns, but the relation is declared with {}",
                    types.len()
                ),
            ));
        }
        let mut lines = nesy_lang::Lines::new(text.as_bytes());
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map(|p| {
                    nesy_lang::Lines::new(text.as_bytes()).line_of(p.byte() as usize) as usize
                });
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("expected {expected_len} comma-separated values, found {len}")
                    }
                    _ => e.to_string(),
                };
                bad(line, message)
            })?;
            let line = record
                .position()
                .map(|p| lines.line_of(p.byte() as usize) as usize);
            let row = record
                .iter()
                .enumerate()
                .map(|(i, field)| {
                    parse_value(field, types.and_then(|t| t.get(i).copied().flatten()))
                })
                .collect::<Result<Vec<_>, String>>()
                .map_err(|m| bad(line, m))?;
            rows.push((at(line), row));
        }
    } else {
        let mut width = types.map(<[_]>::len);
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let expected = *width.get_or_insert(fields.len());
            if fields.len() != expected {
                return Err(bad(
                    Some(line_no),
                    format!(
                        "expected {expected} tab-separated values, found {}",
                        fields.len()
                    ),
                ));
            }
            let row = fields
                .iter()
                .enumerate()
                .map(|(c, field)| {
                    parse_value(field, types.and_then(|t| t.get(c).copied().flatten()))
                })
                .collect::<Result<Vec<_>, String>>()
                .map_err(|m| bad(Some(line_no), m))?;
            rows.push((at(Some(line_no)), row));
        }
    }
    Ok(rows)
}

/// A field as a value of the declared type, or of the type it looks like.
fn parse_value(field: &str, ty: Option<ValueType>) -> Result<Value, String> {
    let number = |integers_exact: bool| -> Option<Value> {
        if let Ok(i) = field.parse::<i64>() {
            return Some(Value::Int(i));
        }
        // Untyped, an integer too large for 64 bits is not silently a
        // float (it would lose digits, and two ids could become one).
        let digits = field.strip_prefix(['-', '+']).unwrap_or(field);
        if integers_exact && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        field
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && field.bytes().any(|b| b.is_ascii_digit()))
            .map(Value::float)
    };
    Ok(match ty {
        Some(ValueType::Symbol) => Value::symbol(field),
        Some(ValueType::String) => Value::string(field),
        Some(ValueType::Iri) => Value::iri(
            field
                .strip_prefix('<')
                .and_then(|f| f.strip_suffix('>'))
                .unwrap_or(field),
        ),
        Some(ValueType::Int) => Value::Int(field.parse().map_err(
            |e: std::num::ParseIntError| match e.kind() {
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                    format!(
                        "`{field}` is too large for a 64-bit integer (the column is declared `int`)"
                    )
                }
                _ => format!("`{field}` is not an integer (the column is declared `int`)"),
            },
        )?),
        Some(ValueType::Float) => match number(false) {
            Some(Value::Int(i)) => Value::float(i as f64),
            Some(v) => v,
            None => {
                return Err(format!(
                    "`{field}` is not a number (the column is declared `float`)"
                ));
            }
        },
        Some(ValueType::Number) => number(false).ok_or_else(|| {
            format!("`{field}` is not a number (the column is declared `number`)")
        })?,
        Some(ValueType::Bool) => match field {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => {
                return Err(format!(
                    "`{field}` is not `true` or `false` (the column is declared `bool`)"
                ));
            }
        },
        Some(ValueType::Any) | None => number(true).unwrap_or_else(|| Value::symbol(field)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_take_their_declared_or_apparent_type() {
        assert_eq!(parse_value("42", None), Ok(Value::Int(42)));
        assert_eq!(parse_value("-1.5", None), Ok(Value::Float(-1.5)));
        assert_eq!(parse_value("inf", None), Ok(Value::symbol("inf")));
        assert_eq!(
            parse_value("42", Some(ValueType::Symbol)),
            Ok(Value::symbol("42"))
        );
        assert_eq!(
            parse_value("3", Some(ValueType::Float)),
            Ok(Value::Float(3.0))
        );
        assert!(
            parse_value("x", Some(ValueType::Int))
                .unwrap_err()
                .contains("not an integer")
        );
        // Too large for i64: text, never a float that loses digits.
        assert_eq!(
            parse_value("123456789012345678901", None),
            Ok(Value::symbol("123456789012345678901"))
        );
        assert!(
            parse_value("123456789012345678901", Some(ValueType::Int))
                .unwrap_err()
                .contains("too large")
        );
    }
}
