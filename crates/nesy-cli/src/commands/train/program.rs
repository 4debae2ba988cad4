//! `nesy train program`: the tunable probabilities (`t(...)`) of a rule
//! file, learned from labelled conclusions by gradient descent through the
//! rules (`diff-top-k`).

use crate::args::{LimitArgs, SemiringArgs};
use crate::error::CliResult;
use crate::learned::{SummaryFormat, epoch_bar, finish};
use crate::load::load;
use nesy::{Semiring, TrainOptions};
use std::path::PathBuf;

/// `nesy train program`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Rule files; the tunable probabilities are in the first.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Training examples: `atom<TAB>probability` per line; with `--method
    /// em`, ProbLog's evidence file (`evidence(atom, true).` lines,
    /// interpretations separated by lines of dashes).
    #[arg(long, value_name = "EX.tsv")]
    examples: PathBuf,
    /// Validation examples, scored after each epoch.
    #[arg(long, value_name = "V.tsv")]
    valid: Option<PathBuf>,
    /// gradient: descent on the cross-entropy through `diff-top-k`; em:
    /// learning from interpretations, as `problog lfi`.
    #[arg(long, value_enum, default_value_t = Method::Gradient)]
    method: Method,
    #[command(flatten)]
    semiring: SemiringArgs,
    /// Passes over the examples (default 10); for `em`, most iterations
    /// (default 1000; it stops sooner when nothing moves).
    #[arg(long)]
    epochs: Option<usize>,
    /// Examples per step.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Step size.
    #[arg(long, default_value_t = 0.1)]
    lr: f64,
    /// Seeds the example order and the starting values of `t(_)`.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// AdamW's step size for the networks of neural predicates.
    #[arg(long, default_value_t = 1e-3)]
    net_lr: f64,
    /// Start this many runs (the networks' weights, the example order and
    /// `t(_)` drawn from the seed plus the run's number; the first keeps
    /// the networks as given), take each `--restart-steps` steps, and go on
    /// with the one most accurate on `--valid` (which it needs).
    #[arg(long, default_value_t = 1, value_name = "R")]
    restarts: usize,
    /// Steps (batches) each restart takes before the choice.
    #[arg(long, default_value_t = 40, value_name = "S")]
    restart_steps: usize,
    #[command(flatten)]
    limits: LimitArgs,
    /// The trained rule file to write (`t(...)` replaced by learned values).
    #[arg(long, short = 'o', value_name = "OUT.nesy")]
    output: PathBuf,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    format: SummaryFormat,
}

/// How the probabilities are learned.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// Gradient descent on the cross-entropy of the examples.
    Gradient,
    /// Expectation maximization from interpretations (`problog lfi`).
    Em,
}

/// `nesy train program`.
pub(crate) fn run(args: &Args) -> CliResult {
    let program = load(&args.files)?;
    let epochs = args.epochs.unwrap_or(match args.method {
        Method::Gradient => 10,
        Method::Em => 1000,
    });
    // diff-top-k unless told otherwise (`-k` alone sets its k).
    let semiring = match args.semiring.kind()? {
        Semiring::Bool => match args.semiring.kind_as("diff-top-k")? {
            Semiring::TopK(k) | Semiring::DiffTopK(k) => Semiring::DiffTopK(k),
            other => other,
        },
        other => other,
    };
    let options = TrainOptions {
        semiring,
        epochs,
        batch: args.batch,
        learning_rate: args.lr,
        seed: args.seed,
        network_learning_rate: args.net_lr,
        limits: args.limits.limits(),
        restarts: args.restarts,
        restart_steps: args.restart_steps,
    };
    let bar = epoch_bar(epochs as u64, true);
    let mut progress = |report: &nesy::EpochReport| {
        bar.set_position(report.epoch as u64);
        bar.set_message(match report.valid_accuracy {
            Some(a) => format!("loss {:.4} valid accuracy {a:.4}", report.loss),
            None => format!("loss {:.4}", report.loss),
        });
    };
    let (trained, count) = match args.method {
        Method::Gradient => {
            let examples = program.read_examples(&args.examples)?;
            let valid = match &args.valid {
                Some(path) => program.read_examples(path)?,
                None => Vec::new(),
            };
            (
                program.train(&examples, &valid, &options, &mut progress),
                examples.len(),
            )
        }
        Method::Em => {
            let interpretations = program.read_interpretations(&args.examples)?;
            let count = interpretations.len();
            (
                program.train_em(&interpretations, &options, &mut progress),
                count,
            )
        }
    };
    let trained = match trained {
        Ok(t) => t,
        Err(e) => {
            bar.abandon();
            return Err(e.into());
        }
    };
    bar.finish_and_clear();
    if trained.ignored_interpretations > 0 {
        errln!(
            "warning: {} of {count} interpretations left out of the last EM step: their evidence has probability 0 under the program (as `problog lfi` ignores them)",
            trained.ignored_interpretations
        );
    }
    let written = trained.program.write_trained(&args.output)?;
    let losses: Vec<f64> = trained.epochs.iter().map(|e| e.loss).collect();
    let valid_accuracy = trained.epochs.last().and_then(|e| e.valid_accuracy);
    match args.format {
        SummaryFormat::Json => finish(&format!(
            "{}\n",
            serde_json::json!({
                "epochs": trained.epochs.len(),
                "loss": losses.last(),
                "loss_per_epoch": losses,
                "valid_accuracy": valid_accuracy,
                "weights": trained.weights,
                "seconds_per_epoch": trained.seconds_per_epoch,
                "ignored_interpretations": trained.ignored_interpretations,
                "restarts": trained.restarts,
                "output": args.output.display().to_string(),
                "files": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            })
        )),
        SummaryFormat::Text => {
            let mut text = format!(
                "trained {} tunable probabilities on {} examples, {} epochs under {semiring} ({:.3} s per epoch); final loss {:.4}",
                trained.weights.len(),
                count,
                trained.epochs.len(),
                trained.seconds_per_epoch,
                losses.last().copied().unwrap_or(0.0),
            );
            if let Some(a) = valid_accuracy {
                text.push_str(&format!(", valid accuracy {a:.4}"));
            }
            text.push('\n');
            if let Some(chosen) = trained.chosen_restart() {
                let all: Vec<String> = trained.restarts.iter().map(|a| format!("{a:.4}")).collect();
                text.push_str(&format!(
                    "restarts: valid accuracy {} after {} steps; run {chosen} went on\n",
                    all.join(", "),
                    args.restart_steps,
                ));
            }
            for (what, value) in &trained.weights {
                text.push_str(&format!("  {value:.6}  {what}\n"));
            }
            for path in &written {
                text.push_str(&format!("saved {}\n", path.display()));
            }
            finish(&text)
        }
    }
}
