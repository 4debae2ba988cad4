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
use nesy::lang::{Checked, SourceFile};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[macro_use]
mod console;
mod files;
mod kg;
mod learn;
mod link;
mod run;

use run::{LimitArgs, OutputFormat};

/// How a command ended.
pub(crate) enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: what was asked for failed (the reason is already printed).
    Failed,
    /// Exit 2: the command line was wrong.
    Usage(String),
}

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

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum CheckFormat {
    /// Readable reports with the source line and a caret.
    Text,
    /// `{"diagnostics": [{file, line, column, severity, code, message, help, ...}], ...}`
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check rule files for errors without running them.
    Check {
        /// Rule files, or directories to search for `.nesy` files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Treat warnings as errors (exit 1 when there are any).
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Format rule files in place, in the one canonical style.
    Fmt {
        /// Rule files, directories to search for `.nesy` files, or `-` to
        /// format standard input to standard output.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Change nothing; exit 1 if any file would change.
        #[arg(long)]
        check: bool,
    },
    /// Evaluate rule files and print the derived relations (and the
    /// answers to their `?-` queries).
    Run {
        /// Rule files, evaluated together.
        #[arg(required = true)]
        files: Vec<PathBuf>,
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
        semiring: run::SemiringArgs,
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
    },
    /// Answer a goal such as `ancestor(alice, X)` over a rule file.
    Query {
        /// The rule file.
        file: PathBuf,
        /// The goal: literals separated by commas.
        goal: String,
        /// More rule files evaluated with FILE (repeatable), such as the
        /// data of a rules-only file.
        #[arg(long = "with", value_name = "FILE")]
        with: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        #[command(flatten)]
        semiring: run::SemiringArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Explain why a fact holds (its proof) or why it does not (the rules
    /// that could derive it and where each fails).
    Explain {
        /// The rule file.
        file: PathBuf,
        /// The fact, such as `ancestor(alice, carol)`; with variables, each
        /// answer is explained.
        goal: String,
        /// More rule files evaluated with FILE (repeatable).
        #[arg(long = "with", value_name = "FILE")]
        with: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = run::ExplainFormat::Text)]
        format: run::ExplainFormat,
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
        semiring: run::SemiringArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// The knowledge graph: load RDF, query it with SPARQL, export, count.
    Kg {
        #[command(subcommand)]
        command: kg::KgCommand,
    },
    /// Train a model: `nesy train tree --data t.csv --target y -o m.tree`.
    Train {
        #[command(subcommand)]
        command: learn::TrainCommand,
    },
    /// Evaluate a model on labelled data.
    Eval {
        #[command(subcommand)]
        command: learn::EvalCommand,
    },
    /// Predict with a model, optionally with each decision's path.
    Predict {
        #[command(subcommand)]
        command: learn::PredictCommand,
    },
    /// Write a CART tree as nesy rules, one weighted rule per leaf.
    ExportRules {
        /// The model file (a CART tree).
        #[arg(long)]
        model: PathBuf,
        /// Write the rules here instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// The relation the rules derive, `NAME(Id, Class)` (default: the
        /// model file's name).
        #[arg(long)]
        name: Option<String>,
        /// The relation the rules read, `INPUT(Id, feature...)` (default:
        /// `NAME_input`).
        #[arg(long)]
        input: Option<String>,
    },
    /// Serve decisions over HTTP (see `nesy serve --help` and the README).
    Serve(ServeArgs),
    /// Run the `@test` blocks of rule files; exit 1 if any fails.
    Test {
        /// Rule files, or directories to search for `.nesy` files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        // Never `eprintln!` here: with standard error closed it panics
        // again, inside the hook, and the process aborts.
        errln!(
            "nesy: internal error{location}; this is a bug in nesy, please report it with the input that caused it"
        );
    }));
    let cli = Cli::parse();
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let result = match cli.command {
        Command::Check {
            paths,
            format,
            deny_warnings,
        } => check(&paths, format, deny_warnings, color),
        Command::Fmt { paths, check } => fmt(&paths, check, color),
        Command::Run {
            files,
            relations,
            format,
            output,
            stats,
            semiring,
            materialize,
            store,
            triple_relations,
            graph,
            limits,
        } => {
            if materialize {
                outcome(run::materialize(
                    &files,
                    store.as_deref(),
                    &graph,
                    &triple_relations,
                    &limits,
                    color,
                ))
            } else {
                semiring.kind().and_then(|kind| {
                    outcome(run::run(
                        &files,
                        &relations,
                        format,
                        output.as_deref(),
                        stats,
                        kind,
                        &limits,
                        color,
                    ))
                })
            }
        }
        Command::Query {
            file,
            goal,
            with,
            format,
            semiring,
            limits,
        } => {
            let files: Vec<PathBuf> = std::iter::once(file).chain(with).collect();
            semiring
                .kind()
                .and_then(|kind| outcome(run::query(&files, &goal, format, kind, &limits, color)))
        }
        Command::Test { paths, limits } => outcome(run::test(&paths, &limits, color)),
        Command::Kg { command } => outcome(kg::run(command)),
        Command::Train { command } => outcome(learn::train(command)),
        Command::Serve(args) => outcome(serve(args)),
        Command::Eval { command } => outcome(learn::eval(command)),
        Command::Predict { command } => outcome(learn::predict(command)),
        Command::ExportRules {
            model,
            output,
            name,
            input,
        } => outcome(learn::export_rules(
            &model,
            output.as_deref(),
            name.as_deref(),
            input.as_deref(),
        )),
        Command::Explain {
            file,
            goal,
            with,
            format,
            all,
            max_proofs,
            depth,
            max_depth,
            semiring,
            limits,
        } => semiring.kind().and_then(|kind| {
            let files: Vec<PathBuf> = std::iter::once(file).chain(with).collect();
            outcome(run::explain(
                &files,
                &goal,
                format,
                &nesy::ExplainOptions {
                    all,
                    max_proofs,
                    why_not_depth: depth,
                    max_depth,
                    ..nesy::ExplainOptions::default()
                },
                kind,
                &limits,
                color,
            ))
        }),
    };
    let code = match result {
        Ok(code) => code,
        Err(usage) => {
            errln!("error: {usage}");
            ExitCode::from(2)
        }
    };
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

fn outcome(o: Outcome) -> Result<ExitCode, String> {
    match o {
        Outcome::Success => Ok(ExitCode::SUCCESS),
        Outcome::Failed => Ok(ExitCode::FAILURE),
        Outcome::Usage(message) => Err(message),
    }
}

/// Renders diagnostics with source excerpts and carets.
fn render(
    checked_source: &SourceFile,
    diagnostics: &[nesy::lang::Diagnostic],
    color: bool,
) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    for d in diagnostics {
        let report = checked_source.report(d.clone()).without_code();
        let location = checked_source.locate(d);
        out.push_str(&format!(
            "{}:{}:{}: {}[{}]: {}\n",
            checked_source.name(),
            location.line,
            location.column,
            d.severity,
            d.code,
            d.message
        ));
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str("  (could not render the source excerpt)\n");
        }
        out.push('\n');
    }
    out
}

fn check(
    paths: &[PathBuf],
    format: CheckFormat,
    deny_warnings: bool,
    color: bool,
) -> Result<ExitCode, String> {
    let files = files::collect(paths)?;
    // A file that cannot be read (not UTF-8, no permission) is reported
    // as an error of its own, and the others are still checked.
    let results: Vec<Result<Checked, String>> = files
        .iter()
        .map(|file| nesy::check_file(file).map_err(|e| e.to_string()))
        .collect();
    let (mut errors, mut warnings) = (0, 0);
    for r in &results {
        match r {
            Ok(c) => {
                let (e, w) = c.counts();
                errors += e;
                warnings += w;
            }
            Err(_) => errors += 1,
        }
    }
    let mut stdout = std::io::stdout().lock();
    let written = match format {
        CheckFormat::Json => {
            let diagnostics: Vec<serde_json::Value> = results
                .iter()
                .zip(&files)
                .flat_map(|(r, file)| match r {
                    Ok(c) => c
                        .diagnostics
                        .iter()
                        .map(|d| serde_json::json!(c.source.to_json(d)))
                        .collect::<Vec<_>>(),
                    Err(e) => vec![serde_json::json!({
                        "file": file.display().to_string(),
                        "line": 1, "column": 1, "end_line": 1, "end_column": 1,
                        "severity": "error",
                        "code": "unreadable",
                        "message": format!("cannot read the file: {e}"),
                        "help": "rule files are UTF-8 text",
                    })],
                })
                .collect();
            let json = serde_json::json!({
                "files": files.len(),
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diagnostics,
            });
            writeln!(stdout, "{json:#}")
        }
        CheckFormat::Text => (|| {
            for (r, file) in results.iter().zip(&files) {
                match r {
                    Ok(c) => write!(stdout, "{}", render(&c.source, &c.diagnostics, color))?,
                    Err(e) => writeln!(
                        stdout,
                        "{}: error[unreadable]: cannot read the file: {e}\n",
                        file.display()
                    )?,
                }
            }
            writeln!(
                stdout,
                "{} checked: {}, {}",
                plural(files.len(), "file"),
                plural(errors, "error"),
                plural(warnings, "warning")
            )
        })(),
    };
    if let Err(e) = written {
        console::fail(&e);
    }
    let failed = errors > 0 || (deny_warnings && warnings > 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn fmt(paths: &[PathBuf], check_only: bool, color: bool) -> Result<ExitCode, String> {
    if paths.len() == 1 && paths.first().is_some_and(|p| p == Path::new("-")) {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(match nesy::lang::format_source(&text) {
            Ok(formatted) => {
                if check_only {
                    if formatted == text {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                } else {
                    out!("{formatted}");
                    ExitCode::SUCCESS
                }
            }
            Err(diagnostics) => {
                err!(
                    "{}",
                    render(&SourceFile::new("<stdin>", text), &diagnostics, color)
                );
                ExitCode::FAILURE
            }
        });
    }
    let files = files::collect(paths)?;
    let mut failed = false;
    let mut changed = 0;
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                errln!(
                    "error: cannot read `{}`: {e}; not formatted",
                    file.display()
                );
                failed = true;
                continue;
            }
        };
        match nesy::lang::format_source(&text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                changed += 1;
                if check_only {
                    outln!("would reformat {}", file.display());
                    failed = true;
                } else if let Err(e) = files::write_atomically(file, &formatted) {
                    errln!("error: cannot write `{}`: {e}", file.display());
                    failed = true;
                } else {
                    outln!("formatted {}", file.display());
                }
            }
            Err(diagnostics) => {
                let source = SourceFile::new(file.display().to_string(), text);
                err!("{}", render(&source, &diagnostics, color));
                errln!(
                    "error: `{}` has syntax errors; not formatted",
                    file.display()
                );
                failed = true;
            }
        }
    }
    if check_only && changed > 0 {
        outln!("{} would be reformatted", plural(changed, "file"));
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `nesy serve`.
#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Rule files.
    #[arg(long, required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Knowledge files: `.nesy` facts or RDF.
    #[arg(long, num_args = 1..)]
    knowledge: Vec<PathBuf>,
    /// Models as NAME=FILE (rules call them as NAME.method(...)).
    #[arg(long, num_args = 1.., value_name = "NAME=FILE")]
    model: Vec<String>,
    /// Address to listen on (loopback by default). On any other address,
    /// require a token and put the server behind a TLS proxy.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Require `Authorization: Bearer TOKEN`. Prefer NESY_TOKEN or
    /// --token-file: a token on the command line shows in `ps`.
    #[arg(long, env = "NESY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Read the token from this file (its first line).
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// Semiring of the decisions' probabilities.
    #[arg(long, default_value = "bool")]
    semiring: String,
    /// Evaluation time limit per request.
    #[arg(long, default_value = "5s", value_parser = run::parse_duration)]
    timeout: std::time::Duration,
    /// Tuple budget per request (also the event budget under top-k/why).
    #[arg(long, default_value_t = 10_000_000)]
    max_tuples: usize,
    /// Largest request body, bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_body: usize,
    /// Requests evaluated at once (more get 503).
    #[arg(long, default_value_t = 64)]
    max_concurrent: usize,
    /// Append one JSON line per decision to this file.
    #[arg(long, value_name = "FILE")]
    decision_log: Option<PathBuf>,
    /// Input fields to mask in the decision log (comma-separated): field
    /// names (by name and, through @decl, by position, in input rows and
    /// results), relation names, or `relation.N`.
    #[arg(long, value_delimiter = ',')]
    mask: Vec<String>,
    /// The key of the decision log's `input_hmac_sha256` (its first line);
    /// or set NESY_LOG_KEY. Without a key the log has no input hash.
    #[arg(long, value_name = "FILE")]
    log_key_file: Option<PathBuf>,
    /// How long a client may take to send a request's headers.
    #[arg(long, default_value = "10s", value_parser = run::parse_duration)]
    header_timeout: std::time::Duration,
    /// How long a whole request may take (at least --timeout and 5 s).
    #[arg(long, default_value = "30s", value_parser = run::parse_duration)]
    request_timeout: std::time::Duration,
}

/// The first line of a secret file, without its line end.
fn read_secret(path: &Path, what: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the {what} file `{}`: {e}", path.display()))?;
    let secret = text.lines().next().unwrap_or("").trim().to_string();
    if secret.is_empty() {
        return Err(format!("the {what} file `{}` is empty", path.display()));
    }
    Ok(secret)
}

/// Whether `addr` binds only to the loopback interface.
fn is_loopback(addr: &str) -> bool {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn serve(args: ServeArgs) -> Outcome {
    let semiring = match args.semiring.parse::<nesy::Semiring>() {
        Ok(s) => s,
        Err(e) => return Outcome::Usage(e),
    };
    let mut models = Vec::new();
    for m in &args.model {
        match m.split_once('=') {
            Some((name, file)) if !name.is_empty() && !file.is_empty() => {
                models.push((name.to_string(), PathBuf::from(file)))
            }
            _ => return Outcome::Usage(format!("--model takes NAME=FILE, got `{m}`")),
        }
    }
    let token = match (&args.token, &args.token_file) {
        (_, Some(file)) => match read_secret(file, "token") {
            Ok(t) => Some(t),
            Err(e) => return Outcome::Usage(e),
        },
        (token, None) => token.clone().filter(|t| !t.is_empty()),
    };
    let log_key = match (&args.log_key_file, std::env::var("NESY_LOG_KEY")) {
        (Some(file), _) => match read_secret(file, "log key") {
            Ok(k) => Some(k.into_bytes()),
            Err(e) => return Outcome::Usage(e),
        },
        (None, Ok(key)) if !key.is_empty() => Some(key.into_bytes()),
        _ => None,
    };
    if !is_loopback(&args.addr) && token.is_none() {
        errln!(
            "warning: serving on {} without a token: anyone who can reach it can ask for decisions and reload; set NESY_TOKEN or --token-file, and put a TLS proxy in front",
            args.addr
        );
    }
    let config = nesy_server::ServerConfig {
        rules: args.rules,
        knowledge: args.knowledge,
        models,
        semiring,
        limits: nesy::Limits {
            timeout: Some(args.timeout),
            max_tuples: Some(args.max_tuples),
            max_events: Some(args.max_tuples),
            cancel: None,
        },
        max_body_bytes: args.max_body,
        max_concurrent: args.max_concurrent,
        token,
        decision_log: args.decision_log,
        mask: args.mask,
        log_key,
        header_timeout: args.header_timeout,
        request_timeout: args.request_timeout,
        ..nesy_server::ServerConfig::default()
    };
    let state = match nesy_server::State::new(config) {
        Ok(s) => s,
        Err(e) => {
            errln!("error: {e}");
            return Outcome::Failed;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            errln!("error: cannot start the runtime: {e}");
            return Outcome::Failed;
        }
    };
    match runtime.block_on(nesy_server::serve(state, &args.addr)) {
        Ok(()) => Outcome::Success,
        Err(e) => {
            errln!("error: {}: {e}", args.addr);
            Outcome::Failed
        }
    }
}
