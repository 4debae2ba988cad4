//! `nesy eval program`: how well a rule file's probabilities predict
//! labelled conclusions.

use crate::args::{LimitArgs, SemiringArgs};
use crate::error::CliResult;
use crate::learned::{SummaryFormat, finish};
use crate::load::load;
use nesy::Semiring;
use std::path::PathBuf;

/// `nesy eval program`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Rule files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Examples: `atom<TAB>probability` per line.
    #[arg(long, value_name = "EX.tsv")]
    examples: PathBuf,
    #[command(flatten)]
    semiring: SemiringArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    format: SummaryFormat,
}

/// `nesy eval program`.
pub(crate) fn run(args: &Args) -> CliResult {
    let program = load(&args.files)?;
    let examples = program.read_examples(&args.examples)?;
    let semiring = match args.semiring.kind()? {
        Semiring::Bool => args.semiring.kind_as("top-k")?,
        other => other,
    };
    let scores = program.score(&examples, semiring, &args.limits.limits())?;
    match args.format {
        SummaryFormat::Json => finish(&format!(
            "{}\n",
            serde_json::to_string(&scores).unwrap_or_default()
        )),
        SummaryFormat::Text => finish(&format!(
            "{} examples under {semiring}: accuracy {:.4}, log-likelihood {:.4}\n",
            scores.examples, scores.accuracy, scores.log_likelihood
        )),
    }
}
