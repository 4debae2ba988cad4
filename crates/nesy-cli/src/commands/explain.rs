//! `nesy explain`: why a fact holds (its proof) or why not (the rules that
//! could derive it and where each fails).

use crate::args::{LimitArgs, SemiringArgs};
use crate::error::{CliError, CliResult};
use crate::load::load;
use crate::output::print_out;
use clap::ValueEnum;
use std::path::PathBuf;
use std::process::ExitCode;

/// `nesy explain`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The rule files, evaluated together.
    #[arg(required = true, num_args = 1..)]
    files: Vec<PathBuf>,
    /// The fact, such as `ancestor(alice, carol)`; with variables, each
    /// answer is explained.
    goal: String,
    /// More rule files evaluated with FILE (repeatable).
    #[arg(long = "with", value_name = "FILE")]
    with: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// List alternative proofs too (at most `--max-proofs`).
    #[arg(long)]
    all: bool,
    /// Most proofs listed with `--all`, and most answers explained for a
    /// goal with variables.
    #[arg(long, default_value_t = 10)]
    max_proofs: usize,
    /// How deep "why not" follows a missing premise into its rules
    /// (at most 8).
    #[arg(long, default_value_t = 3)]
    depth: usize,
    /// Levels of a proof shown; deeper steps are marked as going on
    /// (`truncated` in JSON) (at most 1000; JSON nests two levels per
    /// proof level, and many JSON readers stop at 128).
    #[arg(long, default_value_t = 50)]
    max_depth: usize,
    #[command(flatten)]
    semiring: SemiringArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

/// How explanations are printed.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    /// An indented tree.
    Text,
    /// The explanation object (an array of them for a goal with variables).
    Json,
    /// Graphviz: `| dot -Tsvg > proof.svg`.
    Dot,
    /// One self-contained HTML page: the proofs as a collapsible tree
    /// (`> proof.html`, then open it in a browser).
    Html,
}

/// `nesy explain`.
pub(crate) fn run(args: &Args) -> CliResult {
    let semiring = args.semiring.kind()?;
    let files: Vec<PathBuf> = args.files.iter().chain(&args.with).cloned().collect();
    let program = load(&files)?;
    let options = nesy::ExplainOptions {
        all: args.all,
        max_proofs: args.max_proofs,
        why_not_depth: args.depth,
        max_depth: args.max_depth,
        ..nesy::ExplainOptions::default()
    };
    let (goal, format, limits) = (&args.goal, args.format, &args.limits);
    let explanations = program.explain_tagged(goal, &options, semiring, &limits.limits())?;
    let ground = goal_is_ground(goal);
    let text = match format {
        Format::Text => {
            let prefixes = super::short_iris::of_program(&program);
            let text = explanations
                .iter()
                .map(|e| e.to_text())
                .collect::<Vec<_>>()
                .join("\n");
            super::short_iris::text(&text, &prefixes)
        }
        Format::Dot => explanations
            .iter()
            .map(|e| e.to_dot())
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Html => {
            let json = serde_json::to_string(&explanations)
                .map_err(|e| CliError::Usage(format!("cannot write JSON: {e}")))?;
            nesy_server::ui::explanation_page(&format!("nesy explain {goal}"), &json)
        }
        Format::Json => {
            let json = match (ground, explanations.first()) {
                (true, Some(first)) => serde_json::to_value(first),
                _ => serde_json::to_value(&explanations),
            };
            match json {
                Ok(j) => format!("{j:#}\n"),
                Err(e) => return Err(CliError::Usage(format!("cannot write JSON: {e}"))),
            }
        }
    };
    print_out(&text);
    Ok(ExitCode::SUCCESS)
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
