//! `nesy query`: the answers of a goal over rule files.

use super::short_iris;
use crate::args::{LimitArgs, OutputFormat, SemiringArgs};
use crate::error::CliResult;
use crate::load::load;
use crate::output::{answers_json, answers_table, csv_field, print_out, show_probability};
use nesy::Semiring;
use std::path::PathBuf;
use std::process::ExitCode;

/// `nesy query`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The rule files, evaluated together.
    #[arg(required = true, num_args = 1..)]
    files: Vec<PathBuf>,
    /// The goal: literals separated by commas.
    goal: String,
    /// More rule files evaluated with FILE (repeatable), such as the
    /// data of a rules-only file.
    #[arg(long = "with", value_name = "FILE")]
    with: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Write IRIs with the program's prefixes in TSV, CSV and JSON too (the
    /// table always does).
    #[arg(long)]
    short_iris: bool,
    #[command(flatten)]
    semiring: SemiringArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

/// `nesy query`.
pub(crate) fn run(args: &Args) -> CliResult {
    let semiring = args.semiring.kind()?;
    let files: Vec<PathBuf> = args.files.iter().chain(&args.with).cloned().collect();
    let program = load(&files)?;
    let (goal, format, limits) = (&args.goal, args.format, &args.limits);
    let answered = if semiring == Semiring::Bool {
        program.query(goal, &limits.limits())
    } else {
        program.query_tagged(goal, semiring, &limits.limits())
    };
    let mut answers = answered?;
    let prefixes = short_iris::of_program(&program);
    if args.short_iris && format != OutputFormat::Table {
        for value in answers.rows.iter_mut().flatten() {
            short_iris::shorten_value(value, &prefixes);
        }
    }
    if answers.rows.is_empty() {
        let symbols = crate::hints::goal_symbols(goal);
        if !symbols.is_empty() {
            let evaluation = program.evaluate(&limits.limits())?;
            for hint in crate::hints::symbol_not_iri(&symbols, &evaluation, &prefixes) {
                errln!(
                    "warning: the goal's symbol `{}` is in no fact; {}",
                    hint.symbol,
                    hint.did_you_mean()
                );
            }
        }
    }
    let text = match format {
        OutputFormat::Table => answers_table(&answers, &|v| short_iris::cell(v, &prefixes)),
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
    print_out(&text);
    Ok(ExitCode::SUCCESS)
}
