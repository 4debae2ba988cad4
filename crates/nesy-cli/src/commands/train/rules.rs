//! `nesy train rules`: path rules mined from a knowledge graph, written as
//! a nesy rule file; with `--learn-weights`, their weights learned by
//! gradient descent on the completion task.

use crate::error::{CliError, CliResult, fail};
use crate::learned::{SummaryFormat, epoch_bar, epoch_progress, finish, read_triples};
use clap::ValueEnum;
use nesy::learn::link::learn::{self, LearnParams};
use nesy::learn::link::rules::{self as mined, Aggregate, MineParams, Rule};
use nesy::learn::link::{TripleIndex, Vocab};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How rule scores combine, as `--aggregate` names it.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum AggregateArg {
    /// The best weight (`max-prob`; default).
    Max,
    /// `1 - Π(1 - w)^n`: ProbLog's probability.
    NoisyOr,
    /// `Σ w n` (`add-mult`).
    Sum,
}

impl From<AggregateArg> for Aggregate {
    fn from(a: AggregateArg) -> Aggregate {
        match a {
            AggregateArg::NoisyOr => Aggregate::NoisyOr,
            AggregateArg::Max => Aggregate::Max,
            AggregateArg::Sum => Aggregate::Sum,
        }
    }
}

/// `nesy train rules`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Training triples, `head<TAB>relation<TAB>tail`.
    #[arg(long, value_name = "T.tsv")]
    train: PathBuf,
    /// Longest rule body (path length).
    #[arg(long, default_value_t = 3)]
    max_length: usize,
    /// Time budget for sampling paths, and again for scoring the
    /// candidate rules.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Training triples sampled per relation.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Rules kept per relation (the most confident).
    #[arg(long, default_value_t = 1000)]
    rules_per_relation: usize,
    /// Seeds the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The rule file to write.
    #[arg(long, short = 'o', value_name = "FILE.nesy")]
    output: PathBuf,
    /// Learn the rules' weights by gradient descent on the completion task
    /// (the candidates: the mined rules, or --candidates).
    #[arg(long)]
    learn_weights: bool,
    /// Candidate rules to learn weights for instead of mining them (a rule
    /// file: weighted or plain path rules over the graph's relations).
    #[arg(long, value_name = "FILE.nesy", requires = "learn_weights")]
    candidates: Option<PathBuf>,
    /// Validation triples: pick the epoch (and stop early) by filtered MRR.
    #[arg(long, value_name = "V.tsv", requires = "learn_weights")]
    valid: Option<PathBuf>,
    /// How rule scores combine, which the weights are learned for.
    #[arg(long, value_enum, default_value_t = AggregateArg::Max, requires = "learn_weights")]
    aggregate: AggregateArg,
    /// Most epochs (early stopping usually ends sooner).
    #[arg(long, default_value_t = 50, requires = "learn_weights")]
    epochs: usize,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 0.05, requires = "learn_weights")]
    lr: f64,
    /// Queries per step.
    #[arg(long, default_value_t = 256, requires = "learn_weights")]
    batch_size: usize,
    /// Drop rules whose learned weight is below this (for `sum`, below this
    /// times the largest weight).
    #[arg(long, default_value_t = 0.001, requires = "learn_weights")]
    prune: f64,
    /// Training queries at most (two per training triple; a seeded sample
    /// beyond), bounding time and memory on large graphs.
    #[arg(long, default_value_t = 200_000, requires = "learn_weights")]
    max_queries: usize,
    /// Validation checks without gain before stopping.
    #[arg(long, default_value_t = 5, requires = "learn_weights")]
    patience: usize,
    /// Pull of each rule's weight back to its candidate weight (a Gaussian
    /// prior; 0: none).
    #[arg(long, default_value_t = 1.0, requires = "learn_weights")]
    prior: f64,
    /// cpu, or cuda (built with `--features cuda`).
    #[arg(long, default_value = "cpu", requires = "learn_weights")]
    device: String,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    format: SummaryFormat,
}

/// `nesy train rules`.
pub(crate) fn run(args: &Args) -> CliResult {
    let start = Instant::now();
    let named = read_triples(&args.train)?;
    let vocab = Vocab::of(&[&named]);
    let (triples, _) = vocab.ids(&named);
    let graph = TripleIndex::new(&vocab, triples);
    if args.max_length == 0 || args.max_length > 4 {
        return Err(fail("--max-length must be 1 to 4"));
    }
    let params = MineParams {
        max_length: args.max_length,
        time_budget: Duration::from_secs(args.seconds),
        samples_per_relation: args.samples,
        seed: args.seed,
        rules_per_relation: args.rules_per_relation,
        ..MineParams::default()
    };
    if args.learn_weights {
        return learn_weights(args, &vocab, &graph, &params, start);
    }
    let rules = mine(&graph, &params);
    let import = relative(&args.output, &args.train);
    let text = mined::to_nesy(&rules, &vocab, &import, &args.train.display().to_string());
    write(&args.output, &text)?;
    let cyclic = rules
        .iter()
        .filter(|r| matches!(r.body, mined::Body::Cyclic(_)))
        .count();
    let seconds = start.elapsed().as_secs_f64();
    match args.format {
        SummaryFormat::Json => finish(&format!(
            "{}\n",
            serde_json::json!({
                "rules": rules.len(),
                "cyclic": cyclic,
                "triples": graph.triples.len(),
                "seconds": seconds,
                "output": args.output.display().to_string(),
            })
        )),
        SummaryFormat::Text => finish(&format!(
            "mined {} rules ({} cyclic, {} with constants) from {} triples in {seconds:.1} s\nwrote {}\n",
            rules.len(),
            cyclic,
            rules.len() - cyclic,
            graph.triples.len(),
            args.output.display()
        )),
    }
}

/// Mines, saying on standard error when the time budget cut it short.
fn mine(graph: &TripleIndex, params: &MineParams) -> Vec<Rule> {
    let (rules, report) = mined::mine_with_report(graph, params);
    if report.cut_short() {
        errln!(
            "warning: the time budget ({} s) ran out: {} of {} training triples sampled, {} of {} candidate rules scored; raise --seconds to mine more",
            params.time_budget.as_secs(),
            report.sampled,
            report.to_sample,
            report.scored,
            report.candidates
        );
    }
    rules
}

/// Writes a rule file, creating its directory.
fn write(path: &Path, text: &str) -> Result<(), CliError> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return Err(fail(format!("{}: {e}", dir.display())));
    }
    nesy::learn::model_file::write_atomic(path, text.as_bytes()).map_err(fail)
}

/// `--learn-weights`: candidates mined or read, weights learned, the
/// rules kept written.
fn learn_weights(
    args: &Args,
    vocab: &Vocab,
    graph: &TripleIndex,
    mine_params: &MineParams,
    start: Instant,
) -> CliResult {
    let (candidates, source): (Vec<Rule>, String) = match &args.candidates {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| fail(format!("{}: {e}", path.display())))?;
            let (rules, skipped) = mined::candidates_from_nesy(&text, vocab)
                .map_err(|e| fail(format!("{}:{e}", path.display())))?;
            if rules.is_empty() {
                return Err(fail(format!(
                    "{}: no path rules over this graph's relations to learn weights for",
                    path.display()
                )));
            }
            if skipped > 0 {
                errln!(
                    "warning: {}: {skipped} clause(s) skipped (not path rules over the graph's relations)",
                    path.display()
                );
            }
            (rules, format!("candidates {}", path.display()))
        }
        None => (
            mine(graph, mine_params),
            format!("rules mined with seed {}", mine_params.seed),
        ),
    };
    let mined_seconds = start.elapsed().as_secs_f64();
    let valid = match &args.valid {
        Some(p) => vocab.ids(&read_triples(p)?).0,
        None => {
            errln!(
                "warning: no --valid: the epoch with the lowest training loss is kept, and no validation MRR is reported"
            );
            Vec::new()
        }
    };
    let device = nesy::learn::device(&args.device).map_err(fail)?;
    let params = LearnParams {
        aggregate: args.aggregate.into(),
        epochs: args.epochs,
        learning_rate: args.lr,
        batch_size: args.batch_size,
        seed: args.seed,
        max_queries: args.max_queries,
        prune: args.prune,
        patience: args.patience,
        prior: args.prior,
        ..LearnParams::default()
    };
    let bar = epoch_bar(params.epochs as u64, true);
    let mut progress = epoch_progress(&bar);
    let learned = learn::learn_weights(graph, &candidates, &valid, &params, &device, &mut progress);
    let (rules, report) = match learned {
        Ok(r) => r,
        Err(e) => {
            bar.abandon();
            return Err(fail(e));
        }
    };
    bar.finish_and_clear();
    let summary = format!(
        "From {} ({} candidates) on {}, aggregate {}, seed {}: {} kept, {} pruned below {}{}.",
        source,
        candidates.len(),
        args.train.display(),
        params.aggregate.name(),
        args.seed,
        rules.len(),
        report.pruned,
        params.prune,
        match report.valid_mrr_pruned {
            Some(m) => format!("; validation MRR {m:.4} at epoch {}", report.best_epoch),
            None => String::new(),
        }
    );
    let import = relative(&args.output, &args.train);
    let text = mined::to_nesy_learned(
        &rules,
        vocab,
        &import,
        &summary,
        params.aggregate,
        &report.bias,
    );
    write(&args.output, &text)?;
    let seconds = start.elapsed().as_secs_f64();
    match args.format {
        SummaryFormat::Json => finish(&format!(
            "{}\n",
            serde_json::json!({
                "candidates": candidates.len(),
                "rules": rules.len(),
                "pruned": report.pruned,
                "aggregate": params.aggregate.name(),
                "queries": report.queries,
                "groundings": report.groundings,
                "epochs_run": report.epochs_run,
                "best_epoch": report.best_epoch,
                "valid_mrr": report.valid_mrr,
                "valid_mrr_pruned": report.valid_mrr_pruned,
                "seconds_mining": mined_seconds,
                "seconds_grounding": report.seconds_grounding,
                "seconds_training": report.seconds_training,
                "seconds": seconds,
                "output": args.output.display().to_string(),
            })
        )),
        SummaryFormat::Text => finish(&format!(
            "learned the weights of {} candidate rules ({}, {}) on {} queries ({} groundings) in {seconds:.1} s \
             (candidates {mined_seconds:.1} s, grounding {:.1} s, training {:.1} s); best epoch {} of {}\n\
             kept {} rules, pruned {} below {}{}\nwrote {}\n",
            candidates.len(),
            source,
            params.aggregate.name(),
            report.queries,
            report.groundings,
            report.seconds_grounding,
            report.seconds_training,
            report.best_epoch,
            report.epochs_run,
            rules.len(),
            report.pruned,
            params.prune,
            match (report.valid_mrr, report.valid_mrr_pruned) {
                (Some(a), Some(b)) => format!("; validation MRR {a:.4} ({b:.4} as written)"),
                _ => String::new(),
            },
            args.output.display()
        )),
    }
}

/// The path from the directory of `from_file` to `to` (both made absolute).
fn relative(from_file: &Path, to: &Path) -> String {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let from_dir = abs(from_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new(".")));
    let to = abs(to);
    let (a, b): (Vec<_>, Vec<_>) = (from_dir.components().collect(), to.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in b.iter().skip(common) {
        out.push(c.as_os_str());
    }
    out.display().to_string()
}
