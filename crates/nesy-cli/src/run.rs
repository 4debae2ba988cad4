//! `nesy run`, `nesy query` and `nesy test`: evaluate rule files and print
//! relations, answers and test results.

use crate::{Outcome, files, plural, render};
use clap::{Args, ValueEnum};
use nesy::{Answers, Error, Evaluation, Limits, Program, Relation, Stats, TestOutcome, Value};
use nesy::{Semiring, TaggedRelation, TaggedRow};
use serde_json::{Map, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How relations and answers are printed.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned columns under each relation's name.
    Table,
    /// `relation<TAB>value<TAB>...` per tuple, sorted, no quotes (diff-able).
    Tsv,
    /// `{"relations": {"name": [[v, ...], ...]}}`, numbers as JSON numbers.
    Json,
    /// `relation,value,...` per tuple, quoted where CSV needs it.
    Csv,
}

/// `--semiring NAME [-k K]`.
#[derive(Args, Debug, Clone)]
pub struct SemiringArgs {
    /// Tag every tuple: `bool` (plain), `max-prob` (most likely proof),
    /// `add-mult` (sum of proofs, clamped), `top-k` (exact over the k most
    /// likely proofs; also written `top-k(K)`), `why` (all proofs).
    /// Probabilities are printed as the last column (tsv, csv, table) or
    /// as `{"tuple": [...], "probability": p}` (json).
    #[arg(long, default_value = "bool", value_name = "NAME")]
    semiring: String,
    /// The k of `--semiring top-k` (default 10).
    #[arg(short = 'k', long = "top-k", value_name = "K")]
    k: Option<usize>,
}

impl SemiringArgs {
    /// The semiring asked for (a usage error when unknown).
    pub fn kind(&self) -> Result<Semiring, String> {
        Ok(match (self.semiring.parse::<Semiring>()?, self.k) {
            (Semiring::TopK(_), Some(k)) => Semiring::TopK(k.max(1)),
            (other, _) => other,
        })
    }
}

/// Bounds that stop a runaway evaluation.
#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Stop after this long: `30s`, `500ms`, `2m` (a bare number is seconds).
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Stop when the relations hold more tuples than this, facts included
    /// (0: no limit). The default keeps a runaway program from exhausting
    /// memory: 200 million tuples take a few GiB.
    #[arg(long, default_value_t = DEFAULT_MAX_TUPLES)]
    max_tuples: usize,
    /// Under `--semiring top-k` and `why`: stop when there are more events
    /// than this (each ground instance of a weighted rule is one; a few
    /// hundred bytes each) (0: no limit).
    #[arg(long, default_value_t = DEFAULT_MAX_EVENTS)]
    max_events: usize,
}

/// `--max-tuples` when none is given.
const DEFAULT_MAX_TUPLES: usize = 200_000_000;

/// `--max-events` when none is given: a few GiB.
const DEFAULT_MAX_EVENTS: usize = 10_000_000;

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            timeout: self.timeout,
            max_tuples: (self.max_tuples > 0).then_some(self.max_tuples),
            max_events: (self.max_events > 0).then_some(self.max_events),
            cancel: None,
        }
    }
}

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((text, ""), |i| text.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as `30s`, `500ms` or `2m`"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit `{other}`: use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

/// Reports an error and ends the command with exit status 1.
fn failed(error: &Error, color: bool) -> Outcome {
    report(error, color);
    Outcome::Failed
}

/// Prints an error of loading or running; rule errors with their carets.
pub fn report(error: &Error, color: bool) {
    match error {
        Error::Rules(diagnostics) => {
            for (source, d) in diagnostics {
                err!("{}", render(source, std::slice::from_ref(d), color));
            }
            errln!(
                "error: {}; nothing was run",
                plural(diagnostics.len(), "error")
            );
        }
        other => {
            errln!("error: {other}");
            if let Some(help) = miette::Diagnostic::help(other) {
                errln!("help: {help}");
            }
        }
    }
}

fn load(paths: &[PathBuf], color: bool) -> Result<Program, Outcome> {
    for path in paths {
        if !path.is_file() {
            return Err(Outcome::Usage(format!(
                "`{}` is not a file",
                path.display()
            )));
        }
    }
    let program = Program::from_files(paths).map_err(|e| {
        report(&e, color);
        Outcome::Failed
    })?;
    print_warnings(&program);
    Ok(program)
}

/// The checker's warnings, one line each (`nesy check` shows them in full).
fn print_warnings(program: &Program) {
    for (source, d) in program.warnings() {
        let at = source.locate(d);
        errln!(
            "warning: {}:{}:{}: {}",
            source.name(),
            at.line,
            at.column,
            d.message
        );
    }
}

/// `nesy run`.
#[allow(
    clippy::too_many_arguments,
    reason = "one parameter per command-line flag"
)]
pub fn run(
    paths: &[PathBuf],
    relations: &[String],
    format: OutputFormat,
    output: Option<&Path>,
    stats: bool,
    semiring: Semiring,
    limits: &LimitArgs,
    color: bool,
) -> Outcome {
    let program = match load(paths, color) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let limits = limits.limits();
    if semiring != Semiring::Bool {
        return run_tagged(
            &program, relations, format, output, semiring, &limits, color,
        );
    }
    let mut evaluation = match program.evaluate(&limits) {
        Ok(e) => e,
        Err(e) => return failed(&e, color),
    };
    let selected: Vec<Relation> = if relations.is_empty() {
        evaluation
            .derived_relations()
            .iter()
            .filter_map(|name| evaluation.relation(name))
            .collect()
    } else {
        let mut out = Vec::new();
        for name in relations {
            match evaluation.relation(name) {
                Some(r) => out.push(r),
                None => return Outcome::Usage(format!("no relation `{name}` in the program")),
            }
        }
        out
    };
    let answers = match program.answer_queries(&mut evaluation, &limits) {
        Ok(a) => a,
        Err(e) => return failed(&e, color),
    };
    let written = match output {
        Some(dir) => write_dir(dir, &selected),
        None => write_out(|out| match format {
            OutputFormat::Table => table(out, &selected, &answers),
            OutputFormat::Tsv => tsv(out, &selected),
            OutputFormat::Csv => csv_lines(out, &selected),
            OutputFormat::Json => json_relations(out, &selected, &answers),
        }),
    };
    if let Err(message) = written {
        return Outcome::Usage(message);
    }
    if stats {
        err!("{}", stats_table(evaluation.stats(), &evaluation));
    }
    Outcome::Success
}

/// `nesy run --materialize`: derived triples into a named graph.
pub fn materialize(
    paths: &[PathBuf],
    store: Option<&Path>,
    graph_iri: &str,
    triple_relations: &[String],
    limits: &LimitArgs,
    color: bool,
) -> Outcome {
    let program = match load(paths, color) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let evaluation = match program.evaluate(&limits.limits()) {
        Ok(e) => e,
        Err(e) => return failed(&e, color),
    };
    let graph = match store {
        Some(dir) => nesy::kg::Graph::open(dir),
        None => nesy::kg::Graph::in_memory(),
    };
    let graph = match graph {
        Ok(g) => g,
        Err(e) => {
            errln!("error: {e}");
            return Outcome::Failed;
        }
    };
    let new = match program.materialize_with(&evaluation, &graph, graph_iri, triple_relations) {
        Ok(n) => n,
        Err(e) => return failed(&e, color),
    };
    if store.is_none() {
        let stdout = std::io::stdout();
        if let Err(e) = graph.export("nq", stdout.lock()) {
            errln!("error: {e}");
            return Outcome::Failed;
        }
    }
    errln!("{} written to <{graph_iri}>", plural(new, "new triple"));
    Outcome::Success
}

/// `nesy run --semiring ...`: every tuple with its probability.
fn run_tagged(
    program: &Program,
    relations: &[String],
    format: OutputFormat,
    output: Option<&Path>,
    semiring: Semiring,
    limits: &Limits,
    color: bool,
) -> Outcome {
    let (tagged, answers) = match program.evaluate_tagged(semiring, limits) {
        Ok(t) => t,
        Err(e) => return failed(&e, color),
    };
    let names: Vec<String> = if relations.is_empty() {
        tagged
            .support
            .derived_relations()
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        relations.to_vec()
    };
    let mut selected: Vec<TaggedRelation> = Vec::new();
    for name in &names {
        match tagged.relation(name) {
            Some(r) => selected.push(r),
            None => return Outcome::Usage(format!("no relation `{name}` in the program")),
        }
    }
    let plain_row = |row: &TaggedRow, sep: &str| {
        let mut fields: Vec<String> = row.tuple.iter().map(|v| v.plain().to_string()).collect();
        fields.push(show_probability(row.probability));
        fields.join(sep)
    };
    if let Some(dir) = output {
        let paths = match output_paths(dir, selected.iter().map(|r| r.name.as_str())) {
            Ok(p) => p,
            Err(e) => return Outcome::Usage(e),
        };
        if let Err(e) = std::fs::create_dir_all(dir) {
            return Outcome::Usage(format!("cannot create `{}`: {e}", dir.display()));
        }
        for (r, path) in selected.iter().zip(paths) {
            let text: String = r
                .rows
                .iter()
                .map(|row| plain_row(row, "\t") + "\n")
                .collect();
            if let Err(e) = files::write_atomically(&path, &text) {
                return Outcome::Usage(format!("cannot write `{}`: {e}", path.display()));
            }
        }
        return Outcome::Success;
    }
    let written = write_out(|out| match format {
        OutputFormat::Tsv => {
            let mut sorted: Vec<&TaggedRelation> = selected.iter().collect();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            for r in sorted {
                for row in &r.rows {
                    writeln!(out, "{}\t{}", r.name, plain_row(row, "\t"))?;
                }
            }
            Ok(())
        }
        OutputFormat::Csv => {
            for r in &selected {
                for row in &r.rows {
                    let mut fields = vec![csv_field(&r.name)];
                    fields.extend(row.tuple.iter().map(|v| csv_field(&v.to_plain_string())));
                    fields.push(show_probability(row.probability));
                    writeln!(out, "{}", fields.join(","))?;
                }
            }
            Ok(())
        }
        OutputFormat::Json => {
            let mut map = Map::new();
            for r in &selected {
                let rows: Vec<serde_json::Value> = r
                    .rows
                    .iter()
                    .map(|row| {
                        let mut cell = json!({"tuple": row.tuple, "probability": round_probability(row.probability)});
                        if matches!(semiring, Semiring::Why | Semiring::TopK(_))
                            && let Some(obj) = cell.as_object_mut() {
                                obj.insert("proofs".to_string(), json!(tagged.proofs(&r.name, &row.tuple)));
                            }
                        cell
                    })
                    .collect();
                map.insert(r.name.clone(), serde_json::Value::Array(rows));
            }
            let mut doc = Map::new();
            doc.insert("relations".to_string(), serde_json::Value::Object(map));
            doc.insert("semiring".to_string(), json!(semiring.to_string()));
            if !answers.is_empty() {
                doc.insert(
                    "queries".to_string(),
                    answers.iter().map(answers_json).collect(),
                );
            }
            writeln!(out, "{:#}", serde_json::Value::Object(doc))
        }
        OutputFormat::Table => {
            for r in &selected {
                writeln!(out, "{} ({})", r.name, plural(r.rows.len(), "tuple"))?;
                let cells: Vec<Vec<String>> = r
                    .rows
                    .iter()
                    .map(|row| {
                        let mut c: Vec<String> = row.tuple.iter().map(Value::to_string).collect();
                        c.push(format!("p = {}", show_probability(row.probability)));
                        c
                    })
                    .collect();
                out.write_all(aligned(&cells, "  ").as_bytes())?;
                writeln!(out)?;
            }
            for a in &answers {
                writeln!(out, "?- {}.", a.goal)?;
                for line in answers_table(a).lines() {
                    writeln!(out, "  {line}")?;
                }
                writeln!(out)?;
            }
            Ok(())
        }
    });
    match written {
        Ok(()) => Outcome::Success,
        Err(m) => Outcome::Usage(m),
    }
}

/// A probability to 12 decimals, trailing zeros dropped: `0.86`, not
/// `0.8600000000000001` (floating-point noise would make outputs differ
/// between runs that compute in another order).
fn show_probability(p: f64) -> String {
    let text = format!("{:.12}", round_probability(p));
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// A probability rounded to 12 decimals, for JSON.
fn round_probability(p: f64) -> f64 {
    (p * 1e12).round() / 1e12
}

/// `nesy query`.
pub fn query(
    paths: &[PathBuf],
    goal: &str,
    format: OutputFormat,
    semiring: Semiring,
    limits: &LimitArgs,
    color: bool,
) -> Outcome {
    let program = match load(paths, color) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let answered = if semiring == Semiring::Bool {
        program.query(goal, &limits.limits())
    } else {
        program.query_tagged(goal, semiring, &limits.limits())
    };
    let answers = match answered {
        Ok(a) => a,
        Err(e) => return failed(&e, color),
    };
    let text = match format {
        OutputFormat::Table => answers_table(&answers),
        OutputFormat::Tsv | OutputFormat::Csv => {
            let sep = if format == OutputFormat::Tsv {
                '\t'
            } else {
                ','
            };
            let mut out = String::new();
            for (i, row) in answers.rows.iter().enumerate() {
                let mut fields: Vec<String> = row
                    .iter()
                    .map(|v| {
                        let plain = v.to_plain_string();
                        if sep == ',' { csv_field(&plain) } else { plain }
                    })
                    .collect();
                if let Some(p) = answers.probabilities.as_ref().and_then(|ps| ps.get(i)) {
                    fields.push(show_probability(*p));
                }
                out.push_str(&fields.join(&sep.to_string()));
                out.push('\n');
            }
            out
        }
        OutputFormat::Json => format!("{:#}\n", answers_json(&answers)),
    };
    match print_out(&text) {
        Ok(()) => Outcome::Success,
        Err(m) => Outcome::Usage(m),
    }
}

/// How explanations are printed.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ExplainFormat {
    /// An indented tree.
    Text,
    /// The explanation object (an array of them for a goal with variables).
    Json,
    /// Graphviz: `| dot -Tsvg > proof.svg`.
    Dot,
}

/// `nesy explain`.
pub fn explain(
    paths: &[PathBuf],
    goal: &str,
    format: ExplainFormat,
    options: &nesy::ExplainOptions,
    semiring: Semiring,
    limits: &LimitArgs,
    color: bool,
) -> Outcome {
    let program = match load(paths, color) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let explanations = match program.explain_tagged(goal, options, semiring, &limits.limits()) {
        Ok(e) => e,
        Err(e) => return failed(&e, color),
    };
    let ground = goal_is_ground(goal);
    let text = match format {
        ExplainFormat::Text => explanations
            .iter()
            .map(|e| e.to_text())
            .collect::<Vec<_>>()
            .join("\n"),
        ExplainFormat::Dot => explanations
            .iter()
            .map(|e| e.to_dot())
            .collect::<Vec<_>>()
            .join("\n"),
        ExplainFormat::Json => {
            let json = match (ground, explanations.first()) {
                (true, Some(first)) => serde_json::to_value(first),
                _ => serde_json::to_value(&explanations),
            };
            match json {
                Ok(j) => format!("{j:#}\n"),
                Err(e) => return Outcome::Usage(format!("cannot write JSON: {e}")),
            }
        }
    };
    match print_out(&text) {
        Ok(()) => Outcome::Success,
        Err(m) => Outcome::Usage(m),
    }
}

/// Whether a goal names no variable (then JSON output is one object).
fn goal_is_ground(goal: &str) -> bool {
    let goal = goal.trim();
    let goal = goal.strip_prefix("?-").unwrap_or(goal).trim();
    let goal = goal.strip_suffix('.').unwrap_or(goal);
    let parsed = nesy::lang::parse(&format!("?- {goal}."));
    let mut ground = true;
    for item in &parsed.program.items {
        if let nesy::lang::ast::Item::Query(q) = item {
            for literal in &q.body {
                if let nesy::lang::ast::Literal::Atom(a) = literal {
                    for arg in &a.args {
                        arg.for_each_var(&mut |_| ground = false);
                    }
                }
            }
        }
    }
    ground
}

/// `nesy test`.
pub fn test(paths: &[PathBuf], limits: &LimitArgs, color: bool) -> Outcome {
    let files = match files::collect(paths) {
        Ok(f) => f,
        Err(m) => return Outcome::Usage(m),
    };
    let limits = limits.limits();
    let (mut passed, mut failed, mut unloadable) = (0, 0, 0);
    let mut out = String::new();
    for file in &files {
        let program = match Program::from_files(std::slice::from_ref(file)) {
            Ok(p) => p,
            Err(e) => {
                let _ = std::io::stdout().write_all(out.as_bytes());
                out.clear();
                report(&e, color);
                let tests = program_test_count(file);
                errln!(
                    "error: `{}` could not be loaded; {} not run",
                    file.display(),
                    plural(tests, "test")
                );
                failed += tests;
                unloadable += 1;
                continue;
            }
        };
        for result in program.run_tests(&limits) {
            match &result.outcome {
                TestOutcome::Passed => {
                    passed += 1;
                    out.push_str(&format!(
                        "test {} \"{}\" ... ok\n",
                        result.location, result.name
                    ));
                }
                TestOutcome::Failed { failures } => {
                    failed += 1;
                    out.push_str(&format!(
                        "test {} \"{}\" ... FAILED\n",
                        result.location, result.name
                    ));
                    for f in failures {
                        out.push_str(&format!(
                            "    {}: expected `{}`, but {}\n",
                            f.location, f.expectation, f.reason
                        ));
                    }
                }
                TestOutcome::Error { message } => {
                    failed += 1;
                    out.push_str(&format!(
                        "test {} \"{}\" ... ERROR\n    {message}\n",
                        result.location, result.name
                    ));
                }
            }
        }
    }
    out.push_str(&format!("\n{passed} passed, {failed} failed\n"));
    let _ = print_out(&out);
    if failed > 0 || unloadable > 0 {
        Outcome::Failed
    } else {
        Outcome::Success
    }
}

/// How many `@test` blocks a file has, counted from its syntax (when it
/// cannot be loaded, each of them fails).
fn program_test_count(file: &Path) -> usize {
    std::fs::read_to_string(file).map_or(0, |text| {
        let parsed = nesy::lang::parse(&text);
        parsed
            .program
            .items
            .iter()
            .filter(|i| matches!(i, nesy::lang::ast::Item::Test(_)))
            .count()
    })
}

pub(crate) fn print_out(text: &str) -> Result<(), String> {
    write_out(|out| out.write_all(text.as_bytes()))
}

/// Writes to stdout through a buffer.
fn write_out(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), String> {
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    // A failure is remembered: the command ends with status 1 (or, for
    // a closed pipe as in `| head`, quietly).
    if let Err(e) = f(&mut stdout).and_then(|()| stdout.flush()) {
        crate::console::fail(&e);
    }
    Ok(())
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

fn table(out: &mut dyn Write, relations: &[Relation], answers: &[Answers]) -> std::io::Result<()> {
    for r in relations {
        writeln!(out, "{} ({})", r.name, plural(r.len(), "tuple"))?;
        if r.arity == 0 {
            writeln!(out, "  {}", !r.is_empty())?;
        } else {
            let cells: Vec<Vec<String>> = r
                .rows()
                .map(|row| row.iter().map(Value::to_string).collect())
                .collect();
            out.write_all(aligned(&cells, "  ").as_bytes())?;
        }
        writeln!(out)?;
    }
    for a in answers {
        writeln!(out, "?- {}.", a.goal)?;
        for line in answers_table(a).lines() {
            writeln!(out, "  {line}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn answers_table(answers: &Answers) -> String {
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
            let mut c: Vec<String> = row.iter().map(Value::to_string).collect();
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
            .map(|row| row.iter().map(Value::to_string).collect()),
    );
    let mut out = aligned(&cells, "");
    out.push_str(&format!("({})\n", plural(answers.rows.len(), "answer")));
    out
}

fn tsv(out: &mut dyn Write, relations: &[Relation]) -> std::io::Result<()> {
    let mut sorted: Vec<&Relation> = relations.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for r in sorted {
        for row in r.rows() {
            out.write_all(r.name.as_bytes())?;
            for v in row {
                write!(out, "\t{}", v.plain())?;
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn csv_lines(out: &mut dyn Write, relations: &[Relation]) -> std::io::Result<()> {
    for r in relations {
        for row in r.rows() {
            let mut fields = vec![csv_field(&r.name)];
            fields.extend(row.iter().map(|v| csv_field(&v.to_plain_string())));
            writeln!(out, "{}", fields.join(","))?;
        }
    }
    Ok(())
}

fn answers_json(a: &Answers) -> serde_json::Value {
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

fn json_relations(
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
fn file_name(relation: &str) -> String {
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
fn output_paths<'n>(
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

fn write_dir(dir: &Path, relations: &[Relation]) -> Result<(), String> {
    let paths = output_paths(dir, relations.iter().map(|r| r.name.as_str()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    for (r, path) in relations.iter().zip(paths) {
        let mut text = String::new();
        for row in r.rows() {
            let fields: Vec<String> = row.iter().map(Value::to_plain_string).collect();
            text.push_str(&fields.join("\t"));
            text.push('\n');
        }
        files::write_atomically(&path, &text)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn stats_table(stats: &Stats, evaluation: &Evaluation) -> String {
    let mut out = format!(
        "evaluated in {}: {} held\n\n",
        ms(stats.time),
        plural(evaluation.tuple_count(), "tuple")
    );
    let mut rows = vec![vec![
        "stratum".to_string(),
        "relations".into(),
        "iterations".into(),
        "new tuples".into(),
        "time".into(),
    ]];
    for (i, s) in stats.strata.iter().enumerate() {
        // A large recursive component (a mined rule file) would make one
        // line of every row: name a few, count the rest.
        const SHOWN: usize = 6;
        let mut relations = s
            .relations
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if s.relations.len() > SHOWN {
            relations.push_str(&format!(" and {} more", s.relations.len() - SHOWN));
        }
        rows.push(vec![
            (i + 1).to_string(),
            relations,
            s.iterations.to_string(),
            s.tuples.to_string(),
            ms(s.time),
        ]);
    }
    out.push_str(&aligned(&rows, ""));
    out.push('\n');
    let mut rows = vec![vec![
        "rule".to_string(),
        "head".into(),
        "evaluations".into(),
        "derived".into(),
        "time".into(),
    ]];
    for r in &stats.rules {
        rows.push(vec![
            r.rule.clone(),
            r.head.clone(),
            r.evaluations.to_string(),
            r.derived.to_string(),
            ms(r.time),
        ]);
    }
    out.push_str(&aligned(&rows, ""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 days").is_err());
    }

    #[test]
    fn relation_names_become_file_names() {
        assert_eq!(file_name("ex:ancestor"), "ex_ancestor");
        assert_eq!(file_name("reach"), "reach");
    }
}
