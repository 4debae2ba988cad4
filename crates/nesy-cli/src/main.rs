//! The `nesy` command.
//!
//! ```text
//! nesy check rules/                 # check every .nesy file below rules/
//! nesy check --format json a.nesy   # diagnostics as JSON
//! nesy fmt --check rules/           # exit 1 if a file is not formatted
//! nesy run rules/family.nesy        # evaluate, print the derived relations
//! nesy run --format tsv -r ancestor rules/family.nesy
//! nesy query rules/family.nesy 'ancestor(alice, X)'
//! nesy test rules/                  # run the @test blocks
//! nesy explain rules/family.nesy 'ancestor(alice, dave)' --format dot
//! nesy train tree --data knowledge/tabular/iris.csv --target class -o models/iris.tree
//! nesy predict tree --model models/iris.tree --data knowledge/tabular/iris.csv --explain
//! nesy train kge --train T.tsv --valid V.tsv --model complex -o models/g.kge
//! nesy eval link --model models/g.kge --test S.tsv --filter T.tsv,V.tsv
//! nesy serve --rules rules/credit.nesy --addr 127.0.0.1:8080
//! ```
//!
//! Exit status: 0 when all is well, 1 when a file has an error, an
//! evaluation fails or stops at a limit, a test fails (or, for `fmt
//! --check`, a file would change), 2 on usage errors such as a missing file.

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::process::ExitCode;

/// Requests allocate many small blocks; see the dependency's note.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[macro_use]
mod console;
mod args;
mod commands;
mod diagnostics;
mod error;
mod files;
mod hints;
mod learned;
mod load;
mod output;

use commands::{
    check, eval, explain, export_rules, fmt, kg, predict, query, run, serve, test, train,
};

/// nesy: rules, knowledge graphs and learned models, with explanations.
#[derive(Parser, Debug)]
#[command(name = "nesy", version, about, long_about = None)]
struct Cli {
    /// When to color the output.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check rule files for errors without running them.
    Check(check::Args),
    /// Format rule files in place, in the one canonical style.
    Fmt(fmt::Args),
    /// Evaluate rule files and print the derived relations (and the
    /// answers to their `?-` queries).
    Run(run::Args),
    /// Answer a goal such as `ancestor(alice, X)` over a rule file.
    Query(query::Args),
    /// Explain why a fact holds (its proof) or why it does not (the rules
    /// that could derive it and where each fails).
    Explain(explain::Args),
    /// The knowledge graph: load RDF, query it with SPARQL, export, count.
    Kg {
        #[command(subcommand)]
        command: kg::Command,
    },
    /// Train a model: `nesy train tree --data t.csv --target y -o m.tree`.
    Train {
        #[command(subcommand)]
        command: train::Command,
    },
    /// Evaluate a model on labelled data.
    Eval {
        #[command(subcommand)]
        command: eval::Command,
    },
    /// Predict with a model, optionally with each decision's path.
    Predict {
        #[command(subcommand)]
        command: predict::Command,
    },
    /// Write a CART tree as nesy rules, one weighted rule per leaf.
    ExportRules(export_rules::Args),
    /// Serve decisions over HTTP: `POST /v1/decide/{name}`, `GET
    /// /v1/rules`, `POST /v1/reload`, `GET /metrics` (docs/service.md).
    Serve(serve::Args),
    /// Run the `@test` blocks of rule files; exit 1 if any fails.
    Test(test::Args),
    /// Speak the Language Server Protocol on standard input and output,
    /// for editors (diagnostics, formatting, hover, definitions, completion).
    Lsp,
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        // Never `eprintln!` here: with standard error closed it panics
        // again, inside the hook, and the process aborts.
        errln!(
            "{}",
            internal_error(panic_message(info.payload()), location.as_deref())
        );
    }));
    let cli = Cli::parse();
    console::set_color(match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    });
    let result = match &cli.command {
        Command::Check(args) => check::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Run(args) => run::run(args),
        Command::Query(args) => query::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Kg { command } => kg::run(command),
        Command::Train { command } => train::run(command),
        Command::Eval { command } => eval::run(command),
        Command::Predict { command } => predict::run(command),
        Command::ExportRules(args) => export_rules::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Test(args) => test::run(args),
        Command::Lsp => nesy_lsp::run_stdio(&|path, text| nesy::check_text(path, text))
            .map(|()| ExitCode::SUCCESS)
            .map_err(|e| error::CliError::Failed(format!("the language server stopped: {e}"))),
    };
    let code = result.unwrap_or_else(error::CliError::exit);
    match console::stdout_failed() {
        // The reader went away (`| head`): not an error of ours.
        None | Some(true) => code,
        Some(false) => {
            errln!(
                "error: cannot write to standard output: {}",
                console::reason()
            );
            ExitCode::FAILURE
        }
    }
}

/// The message of a panic (`payload_as_str` is newer than our MSRV).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// What a panic prints: its message and place (no backtrace: a user
/// reports this line with their input).
fn internal_error(message: Option<&str>, location: Option<&str>) -> String {
    let mut out = String::from("nesy: internal error");
    if let Some(location) = location {
        out.push_str(&format!(" at {location}"));
    }
    if let Some(message) = message {
        out.push_str(&format!(": {message}"));
    }
    out.push_str("; this is a bug in nesy, please report it with the input that caused it");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_says_its_message_and_place() {
        assert_eq!(
            super::internal_error(Some("index out of bounds"), Some("src/x.rs:3")),
            "nesy: internal error at src/x.rs:3: index out of bounds; this is a bug in nesy, please report it with the input that caused it"
        );
        assert_eq!(
            super::internal_error(None, None),
            "nesy: internal error; this is a bug in nesy, please report it with the input that caused it"
        );
    }
}
