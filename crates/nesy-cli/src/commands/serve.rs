//! `nesy serve`: the decision service over HTTP (see docs/service.md).

use crate::args::parse_duration;
use crate::error::{CliError, CliResult, fail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `nesy serve`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
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
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
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
    /// Serve the decision page at `/ui/`: pick a decision, edit its input,
    /// run it, expand its proofs (it uses the API, with the token if set).
    #[arg(long)]
    ui: bool,
    /// Keep a differential dataflow of the program running, so that
    /// `POST /v1/facts` re-derives only what the changed facts reach
    /// (programs without model calls, `bool` semiring). Without it each
    /// update evaluates the program again.
    #[arg(long)]
    incremental: bool,
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
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    header_timeout: std::time::Duration,
    /// How long a whole request may take (at least --timeout and 5 s).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
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

/// `nesy serve`.
pub(crate) fn run(args: &Args) -> CliResult {
    let semiring = args
        .semiring
        .parse::<nesy::Semiring>()
        .map_err(CliError::Usage)?;
    let mut models = Vec::new();
    for m in &args.model {
        match m.split_once('=') {
            Some((name, file)) if !name.is_empty() && !file.is_empty() => {
                models.push((name.to_string(), PathBuf::from(file)))
            }
            _ => {
                return Err(CliError::Usage(format!(
                    "--model takes NAME=FILE, got `{m}`"
                )));
            }
        }
    }
    let token = match (&args.token, &args.token_file) {
        (_, Some(file)) => Some(read_secret(file, "token").map_err(CliError::Usage)?),
        (token, None) => token.clone().filter(|t| !t.is_empty()),
    };
    let log_key = match (&args.log_key_file, std::env::var("NESY_LOG_KEY")) {
        (Some(file), _) => match read_secret(file, "log key") {
            Ok(k) => Some(k.into_bytes()),
            Err(e) => return Err(CliError::Usage(e)),
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
        rules: args.rules.clone(),
        knowledge: args.knowledge.clone(),
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
        decision_log: args.decision_log.clone(),
        mask: args.mask.clone(),
        log_key,
        header_timeout: args.header_timeout,
        request_timeout: args.request_timeout,
        ui: args.ui,
        incremental: args.incremental,
        ..nesy_server::ServerConfig::default()
    };
    let state = nesy_server::State::new(config).map_err(fail)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start the runtime: {e}")))?;
    runtime
        .block_on(nesy_server::serve(state, &args.addr))
        .map_err(|e| fail(format!("{}: {e}", args.addr)))?;
    Ok(ExitCode::SUCCESS)
}
