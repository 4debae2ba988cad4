//! `nesy run`: evaluate rule files and print the derived relations (and
//! the answers of their queries), or write them back as triples.

use super::backend::BackendArgs;
use crate::args::{LimitArgs, OutputFormat, SemiringArgs};
use crate::error::{CliError, CliResult};
use crate::files;
use crate::load::load;
use crate::output::{
    aligned, answers_json, answers_table, csv_field, csv_lines, json_relations, ms, output_paths,
    plural, round_probability, show_probability, table, tsv, write_dir, write_out,
};
use nesy::{
    Evaluation, Limits, Program, Relation, Semiring, Stats, TaggedRelation, TaggedRow, Value,
};
use serde_json::{Map, json};
use std::path::PathBuf;
use std::process::ExitCode;

/// `nesy run`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Rule files, evaluated together.
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Write IRIs with the program's prefixes in TSV, CSV, JSON and
    /// `--output` files too (the table always does).
    #[arg(long)]
    short_iris: bool,
    /// Print only this relation (repeatable); default: every relation
    /// defined by rules.
    #[arg(long = "relation", short = 'r', value_name = "R")]
    relations: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Write one `<relation>.tsv` file per relation into this directory
    /// instead of printing (like Soufflé's `-D`).
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Print time, iterations and tuples per stratum and rule to stderr.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    semiring: SemiringArgs,
    /// Write the derived relations of two columns back as triples into
    /// a named graph: of `--store DIR`, or, without a store, printed as
    /// N-Quads instead of the relations.
    #[arg(long)]
    materialize: bool,
    /// The on-disk store `--materialize` writes to (needs `--features
    /// rocksdb`).
    #[arg(long, value_name = "DIR", requires = "materialize")]
    store: Option<PathBuf>,
    /// A relation of three columns whose tuples are triples `(s, p, o)`
    /// (repeatable), written by `--materialize` as they are, such as
    /// `t` of rules/owl2rl.nesy.
    #[arg(long = "triples", value_name = "R", requires = "materialize")]
    triple_relations: Vec<String>,
    /// The named graph `--materialize` writes to.
    #[arg(
        long,
        value_name = "IRI",
        default_value = "urn:nesy:inferred",
        requires = "materialize"
    )]
    graph: String,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    backend: BackendArgs,
}

/// `nesy run`.
pub(crate) fn run(args: &Args) -> CliResult {
    // A usage error is reported before the files are read.
    let semiring = if args.materialize {
        Semiring::Bool
    } else {
        args.semiring.kind()?
    };
    args.backend.check(semiring != Semiring::Bool)?;
    let program = load(&args.files)?;
    let limits = args.limits.limits();
    let result = if args.materialize {
        materialize(&program, args, &limits)
    } else if semiring != Semiring::Bool {
        run_tagged(&program, args, semiring, &limits)
    } else {
        run_plain(&program, args, &limits)
    };
    // The process ends next: freeing a large program value by value takes
    // longer than the system takes to reclaim it all at once.
    std::mem::forget(program);
    result
}

/// Every tuple of the selected relations, with the answers of queries.
fn run_plain(program: &Program, args: &Args, limits: &Limits) -> CliResult {
    let (relations, format, output) = (&args.relations, args.format, args.output.as_deref());
    // A cluster's other processes did their share; process 0 writes.
    let Some(mut evaluation) = args.backend.evaluate(program, limits)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let names: Vec<String> = if relations.is_empty() {
        evaluation
            .derived_relations()
            .iter()
            .map(|name| name.to_string())
            .collect()
    } else {
        if let Some(name) = relations.iter().find(|r| evaluation.count(r).is_none()) {
            return Err(CliError::Usage(format!(
                "no relation `{name}` in the program"
            )));
        }
        relations.clone()
    };
    let mut answers = program.answer_queries(&mut evaluation, limits)?;
    let symbols = crate::hints::rule_symbols(program);
    let prefixes = super::short_iris::of_program(program);
    // TSV and `--output` files with full IRIs are written as the rows are
    // read out of the stores: no copy of the values, which for a large
    // closure would cost more memory than the evaluation.
    let streamed = !args.short_iris && (output.is_some() || format == OutputFormat::Tsv);
    let mut selected: Vec<Relation> = if streamed {
        Vec::new()
    } else {
        names
            .iter()
            .filter_map(|n| evaluation.relation(n))
            .collect()
    };
    if args.short_iris {
        let values = selected
            .iter_mut()
            .flat_map(Relation::values_mut)
            .chain(answers.iter_mut().flat_map(|a| a.rows.iter_mut().flatten()));
        for value in values {
            super::short_iris::shorten_value(value, &prefixes);
        }
    }
    for hint in crate::hints::symbol_not_iri(&symbols, &evaluation, &prefixes) {
        errln!(
            "warning: a rule looks for the symbol `{}`, which no fact holds; {}",
            hint.symbol,
            hint.did_you_mean()
        );
    }
    if streamed {
        let sorted: Vec<_> = names
            .iter()
            .filter_map(|n| evaluation.sorted_rows(n))
            .collect();
        match output {
            Some(dir) => write_dir(dir, &sorted).map_err(CliError::Usage)?,
            None => write_out(|out| tsv(out, &sorted)),
        }
    } else if let Some(dir) = output {
        write_dir(dir, &selected).map_err(CliError::Usage)?;
    } else {
        write_out(|out| match format {
            OutputFormat::Table => table(out, &selected, &answers, &|v| {
                super::short_iris::cell(v, &prefixes)
            }),
            OutputFormat::Tsv => tsv(out, &selected),
            OutputFormat::Csv => csv_lines(out, &selected),
            OutputFormat::Json => json_relations(out, &selected, &answers),
        });
    }
    if args.stats {
        err!("{}", stats_table(evaluation.stats(), &evaluation));
    }
    // As the program in `run`: the process ends next.
    std::mem::forget(evaluation);
    Ok(ExitCode::SUCCESS)
}

/// `--materialize`: derived triples into a named graph.
fn materialize(program: &Program, args: &Args, limits: &Limits) -> CliResult {
    let (store, graph_iri) = (args.store.as_deref(), args.graph.as_str());
    let Some(evaluation) = args.backend.evaluate(program, limits)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let graph = match store {
        Some(dir) => nesy::kg::Graph::open(dir)?,
        None => nesy::kg::Graph::in_memory()?,
    };
    let new = program
        .materialize_with(&evaluation, &graph, graph_iri, &args.triple_relations)
        .map_err(|e| match e {
            // As `-r` says it: a relation that is not one of triples is a
            // usage error (the library checks before writing anything).
            nesy::Error::Engine(nesy::EvalError::UnknownRelation(name)) => {
                CliError::Usage(format!("no relation `{name}` in the program"))
            }
            nesy::Error::Request(message) => CliError::Usage(message),
            other => other.into(),
        })?;
    if store.is_none() {
        let stdout = std::io::stdout();
        graph.export("nq", stdout.lock())?;
    }
    errln!("{} written to <{graph_iri}>", plural(new, "new triple"));
    Ok(ExitCode::SUCCESS)
}

/// `--semiring ...`: every tuple with its probability.
fn run_tagged(program: &Program, args: &Args, semiring: Semiring, limits: &Limits) -> CliResult {
    let (relations, format, output) = (&args.relations, args.format, args.output.as_deref());
    let (tagged, answers) = program.evaluate_tagged(semiring, limits)?;
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
            None => {
                return Err(CliError::Usage(format!(
                    "no relation `{name}` in the program"
                )));
            }
        }
    }
    let prefixes = super::short_iris::of_program(program);
    // JSON looks proofs up by the tuple as evaluated: IRIs are shortened
    // as rows are written.
    let written = |tuple: &[Value]| -> Vec<Value> {
        let mut tuple = tuple.to_vec();
        if args.short_iris {
            for value in &mut tuple {
                super::short_iris::shorten_value(value, &prefixes);
            }
        }
        tuple
    };
    let plain_row = |row: &TaggedRow, sep: &str| {
        let mut fields: Vec<String> = written(&row.tuple)
            .iter()
            .map(|v| v.plain().to_string())
            .collect();
        fields.push(show_probability(row.probability));
        fields.join(sep)
    };
    if let Some(dir) = output {
        let paths =
            output_paths(dir, selected.iter().map(|r| r.name.as_str())).map_err(CliError::Usage)?;
        if let Err(e) = std::fs::create_dir_all(dir) {
            return Err(CliError::Usage(format!(
                "cannot create `{}`: {e}",
                dir.display()
            )));
        }
        for (r, path) in selected.iter().zip(paths) {
            let text: String = r
                .rows
                .iter()
                .map(|row| plain_row(row, "\t") + "\n")
                .collect();
            if let Err(e) = files::write_atomically(&path, &text) {
                return Err(CliError::Usage(format!(
                    "cannot write `{}`: {e}",
                    path.display()
                )));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    write_out(|out| match format {
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
                    fields.extend(
                        written(&row.tuple)
                            .iter()
                            .map(|v| csv_field(&v.to_plain_string())),
                    );
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
                        let mut cell = json!({"tuple": written(&row.tuple), "probability": round_probability(row.probability)});
                        if semiring.keeps_proofs()
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
            // IRIs short with the program's prefixes.
            let prefixes = super::short_iris::of_program(program);
            let cell = |v: &Value| super::short_iris::cell(v, &prefixes);
            for r in &selected {
                writeln!(out, "{} ({})", r.name, plural(r.rows.len(), "tuple"))?;
                let cells: Vec<Vec<String>> = r
                    .rows
                    .iter()
                    .map(|row| {
                        let mut c: Vec<String> = row.tuple.iter().map(cell).collect();
                        c.push(format!("p = {}", show_probability(row.probability)));
                        c
                    })
                    .collect();
                out.write_all(aligned(&cells, "  ").as_bytes())?;
                writeln!(out)?;
            }
            for a in &answers {
                writeln!(out, "?- {}.", a.goal)?;
                for line in answers_table(a, &cell).lines() {
                    writeln!(out, "  {line}")?;
                }
                writeln!(out)?;
            }
            Ok(())
        }
    });
    Ok(ExitCode::SUCCESS)
}

/// `--stats`: time, iterations and tuples per stratum and per rule.
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
