//! Printing results: relations and answers as tables, TSV, CSV and JSON,
//! probabilities without floating-point noise, and the files of
//! `--output DIR`. Every command writes its results through here.

use crate::{console, files};
use nesy::{Answers, Relation, SortedRows, Value};
use serde_json::{Map, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Prints to standard output (a failure ends the command, see
/// `console.rs`).
pub(crate) fn print_out(text: &str) {
    write_out(|out| out.write_all(text.as_bytes()));
}

/// Writes to stdout through a buffer.
pub(crate) fn write_out(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    // A failure is remembered: the command ends with status 1 (or, for
    // a closed pipe as in `| head`, quietly).
    if let Err(e) = f(&mut stdout).and_then(|()| stdout.flush()) {
        console::fail(&e);
    }
}

/// Rows as columns padded to their widest cell, each line after `indent`.
pub(crate) fn aligned(rows: &[Vec<String>], indent: &str) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = indent.to_string();
        for (c, cell) in row.iter().enumerate() {
            let width = widths.get(c).copied().unwrap_or(0);
            line.push_str(cell);
            if c + 1 < row.len() {
                // Padded by hand: `format!`'s width is limited to u16, and
                // a cell (a stratum's relations) can be wider.
                let pad = width.saturating_sub(cell.chars().count()) + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `n word`, with the word's plural unless `n` is 1.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A probability to 12 decimals, trailing zeros dropped: `0.86`, not
/// `0.8600000000000001` (floating-point noise would make outputs differ
/// between runs that compute in another order).
pub(crate) fn show_probability(p: f64) -> String {
    let p = round_probability(p);
    // `-0` (a negative rounding error) is zero.
    if p == 0.0 {
        return "0".to_string();
    }
    let text = format!("{p:.12}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A probability rounded to 12 decimals, for JSON.
pub(crate) fn round_probability(p: f64) -> f64 {
    (p * 1e12).round() / 1e12
}

/// A field of a CSV line, quoted where CSV needs it.
pub(crate) fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Relations as aligned tables, then the answers of queries.
pub(crate) fn table(
    out: &mut dyn Write,
    relations: &[Relation],
    answers: &[Answers],
    cell: &dyn Fn(&Value) -> String,
) -> std::io::Result<()> {
    for r in relations {
        writeln!(out, "{} ({})", r.name, plural(r.len(), "tuple"))?;
        if r.arity == 0 {
            writeln!(out, "  {}", !r.is_empty())?;
        } else {
            let cells: Vec<Vec<String>> =
                r.rows().map(|row| row.iter().map(cell).collect()).collect();
            out.write_all(aligned(&cells, "  ").as_bytes())?;
        }
        writeln!(out)?;
    }
    for a in answers {
        writeln!(out, "?- {}.", a.goal)?;
        for line in answers_table(a, cell).lines() {
            writeln!(out, "  {line}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The answers of a goal as aligned columns, one per variable (and `p`
/// for a probability), or `true`/`false` for a goal without variables.
/// `cell` writes a value (IRIs short, say).
pub(crate) fn answers_table(answers: &Answers, cell: &dyn Fn(&Value) -> String) -> String {
    let probability = |i: usize| {
        answers
            .probabilities
            .as_ref()
            .and_then(|ps| ps.get(i))
            .copied()
    };
    if answers.variables.is_empty() {
        return match (answers.holds(), probability(0)) {
            (true, Some(p)) => format!("true (p = {})\n", show_probability(p)),
            (true, None) => "true\n".to_string(),
            (false, _) => "false\n".to_string(),
        };
    }
    if answers.probabilities.is_some() {
        let mut header = answers.variables.clone();
        header.push("p".to_string());
        let mut cells = vec![header];
        for (i, row) in answers.rows.iter().enumerate() {
            let mut c: Vec<String> = row.iter().map(cell).collect();
            c.push(probability(i).map(show_probability).unwrap_or_default());
            cells.push(c);
        }
        let mut out = aligned(&cells, "");
        out.push_str(&format!("({})\n", plural(answers.rows.len(), "answer")));
        return out;
    }
    let mut cells = vec![answers.variables.clone()];
    cells.extend(
        answers
            .rows
            .iter()
            .map(|row| row.iter().map(cell).collect()),
    );
    let mut out = aligned(&cells, "");
    out.push_str(&format!("({})\n", plural(answers.rows.len(), "answer")));
    out
}

/// Relations as `relation<TAB>value...` lines, relations sorted by name.
pub(crate) fn tsv(out: &mut dyn Write, relations: &[impl Rows]) -> std::io::Result<()> {
    let mut sorted: Vec<_> = relations.iter().collect();
    sorted.sort_by(|a, b| a.relation_name().cmp(b.relation_name()));
    let mut buf = Vec::with_capacity(2 * FLUSH_AT);
    for r in sorted {
        r.each_row(&mut |row| {
            push_row(&mut buf, Some(r.relation_name()), row);
            flush_full(&mut buf, out)
        })?;
    }
    out.write_all(&buf)
}

/// What TSV and `--output` files are written from: a [`Relation`] (values
/// held, perhaps rewritten) or [`SortedRows`] (values read from the
/// evaluation as they are written).
pub(crate) trait Rows {
    /// The relation's name as written.
    fn relation_name(&self) -> &str;
    /// Calls `f` with each row's values, in order.
    fn each_row(
        &self,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = &Value>) -> std::io::Result<()>,
    ) -> std::io::Result<()>;
}

impl Rows for Relation {
    fn relation_name(&self) -> &str {
        &self.name
    }

    fn each_row(
        &self,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = &Value>) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.rows().try_for_each(|row| f(&mut row.iter()))
    }
}

impl Rows for SortedRows<'_> {
    fn relation_name(&self) -> &str {
        self.name()
    }

    fn each_row(
        &self,
        f: &mut dyn FnMut(&mut dyn Iterator<Item = &Value>) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.rows().try_for_each(|mut row| f(&mut row))
    }
}

/// Bytes gathered before a write.
const FLUSH_AT: usize = 1 << 16;

fn flush_full(buf: &mut Vec<u8>, out: &mut dyn Write) -> std::io::Result<()> {
    if buf.len() >= FLUSH_AT {
        out.write_all(buf)?;
        buf.clear();
    }
    Ok(())
}

/// One line: `prefix<TAB>` if given, the values tab-separated as
/// [`Value::plain`] writes them (integers without the formatting machinery).
fn push_row(buf: &mut Vec<u8>, prefix: Option<&str>, row: &mut dyn Iterator<Item = &Value>) {
    let mut first = true;
    if let Some(p) = prefix {
        buf.extend_from_slice(p.as_bytes());
        first = false;
    }
    for v in row {
        if !first {
            buf.push(b'\t');
        }
        first = false;
        match v {
            Value::Int(i) => buf.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            Value::Symbol(s) | Value::String(s) | Value::Iri(s) => {
                buf.extend_from_slice(s.as_bytes())
            }
            other => {
                // Writing into a Vec cannot fail.
                let _ = write!(buf, "{}", other.plain());
            }
        }
    }
    buf.push(b'\n');
}

/// Relations as `relation,value,...` lines.
pub(crate) fn csv_lines(out: &mut dyn Write, relations: &[Relation]) -> std::io::Result<()> {
    for r in relations {
        for row in r.rows() {
            let mut fields = vec![csv_field(&r.name)];
            fields.extend(row.iter().map(|v| csv_field(&v.to_plain_string())));
            writeln!(out, "{}", fields.join(","))?;
        }
    }
    Ok(())
}

/// The answers of a goal as JSON: `{goal, variables, rows, strategy,
/// probabilities?}`.
pub(crate) fn answers_json(a: &Answers) -> serde_json::Value {
    let mut doc = json!({
        "goal": a.goal,
        "variables": a.variables,
        "rows": a.rows,
        "strategy": a.strategy,
    });
    if let (Some(ps), Some(map)) = (&a.probabilities, doc.as_object_mut()) {
        let rounded: Vec<f64> = ps.iter().map(|&p| round_probability(p)).collect();
        map.insert("probabilities".to_string(), json!(rounded));
    }
    doc
}

/// `{"relations": {...}, "queries"?: [...]}`.
pub(crate) fn json_relations(
    out: &mut dyn Write,
    relations: &[Relation],
    answers: &[Answers],
) -> std::io::Result<()> {
    let mut map = Map::new();
    for r in relations {
        map.insert(r.name.clone(), json!(r));
    }
    let mut doc = Map::new();
    doc.insert("relations".to_string(), serde_json::Value::Object(map));
    if !answers.is_empty() {
        doc.insert(
            "queries".to_string(),
            answers.iter().map(answers_json).collect(),
        );
    }
    writeln!(out, "{:#}", serde_json::Value::Object(doc))
}

/// A relation's name as a file name: characters that paths do not like
/// become `_` (so `ex:ancestor` is written to `ex_ancestor.tsv`).
pub(crate) fn file_name(relation: &str) -> String {
    relation
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The file each relation is written to in `dir`; an error, before any
/// file is written, when two relations would share one (`ex:r` and `ex_r`
/// both make `ex_r.tsv`; names are compared ignoring case, as some file
/// systems do).
pub(crate) fn output_paths<'n>(
    dir: &Path,
    names: impl IntoIterator<Item = &'n str>,
) -> Result<Vec<PathBuf>, String> {
    let mut taken: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    let mut paths = Vec::new();
    for name in names {
        let file = format!("{}.tsv", file_name(name));
        if let Some(other) = taken.insert(file.to_lowercase(), name) {
            return Err(format!(
                "relations `{other}` and `{name}` would both be written to `{file}`; select one of them with -r, or rename one"
            ));
        }
        paths.push(dir.join(file));
    }
    Ok(paths)
}

/// One `<relation>.tsv` file per relation in `dir` (`--output DIR`).
pub(crate) fn write_dir(dir: &Path, relations: &[impl Rows]) -> Result<(), String> {
    let paths = output_paths(dir, relations.iter().map(|r| r.relation_name()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    for (r, path) in relations.iter().zip(paths) {
        files::write_atomically_with(&path, |file| {
            let mut buf = Vec::with_capacity(2 * FLUSH_AT);
            r.each_row(&mut |row| {
                push_row(&mut buf, None, row);
                flush_full(&mut buf, file)
            })?;
            file.write_all(&buf)
        })
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    Ok(())
}

/// A duration in milliseconds, two decimals.
pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_names_become_file_names() {
        assert_eq!(file_name("ex:ancestor"), "ex_ancestor");
        assert_eq!(file_name("reach"), "reach");
    }

    #[test]
    fn clashing_file_names_are_refused_before_writing() {
        let clash = output_paths(Path::new("out"), ["ex:r", "ex_r"]);
        assert!(clash.is_err_and(|e| e.contains("`ex:r` and `ex_r`")));
        let fine = output_paths(Path::new("out"), ["a", "b"]);
        assert_eq!(
            fine,
            Ok(vec![PathBuf::from("out/a.tsv"), PathBuf::from("out/b.tsv")])
        );
    }

    #[test]
    fn probabilities_drop_floating_point_noise() {
        assert_eq!(show_probability(0.8600000000000001), "0.86");
        assert_eq!(show_probability(1.0), "1");
        assert_eq!(show_probability(0.0), "0");
        assert_eq!(show_probability(-0.0), "0");
        assert_eq!(show_probability(-1e-15), "0");
        assert_eq!(show_probability(0.5), "0.5");
        assert_eq!(show_probability(1e-13), "0");
    }

    #[test]
    fn columns_are_padded_to_the_widest_cell() {
        let rows = vec![
            vec!["a".to_string(), "bb".to_string()],
            vec!["ccc".to_string(), "d".to_string()],
        ];
        assert_eq!(aligned(&rows, "  "), "  a    bb\n  ccc  d\n");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
