//! `nesy train kge`: a knowledge-graph embedding in candle.

use crate::error::{CliResult, fail};
use crate::learned::{SummaryFormat, epoch_bar, epoch_progress, finish, read_triples};
use nesy::learn::link::Vocab;
use nesy::learn::link::kge::{self, KgeFile, KgeHeader, KgeKind, KgeParams};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `nesy train kge`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Training triples.
    #[arg(long, value_name = "T.tsv")]
    train: PathBuf,
    /// Validation triples, for early stopping and calibration.
    #[arg(long, value_name = "V.tsv")]
    valid: PathBuf,
    /// transe, distmult, complex or rotate.
    #[arg(long, default_value = "complex")]
    model: KgeKind,
    /// Rank (default 200).
    #[arg(long)]
    dim: Option<usize>,
    /// Most epochs (default 200; early stopping usually ends sooner).
    #[arg(long)]
    epochs: Option<usize>,
    /// AdamW learning rate (default 0.01; 0.003 for transe and rotate).
    #[arg(long)]
    learning_rate: Option<f64>,
    /// Queries per step (default 128).
    #[arg(long)]
    batch_size: Option<usize>,
    /// N3 (distmult, complex) or L2 (transe, rotate) weight (default 0.01 / 1e-4).
    #[arg(long)]
    regularization: Option<f64>,
    /// AdamW weight decay (default 0).
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Epochs between validation checks (default 5).
    #[arg(long)]
    valid_every: Option<usize>,
    /// Checks without improvement before stopping (default 4).
    #[arg(long)]
    patience: Option<usize>,
    /// Seeds initial weights and batch order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu, or cuda (built with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// The model file to write.
    #[arg(long, short = 'o', value_name = "M.kge")]
    output: PathBuf,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    format: SummaryFormat,
}

/// `nesy train kge`.
pub(crate) fn run(args: &Args) -> CliResult {
    let start = Instant::now();
    let (train_named, valid_named) = (read_triples(&args.train)?, read_triples(&args.valid)?);
    let device = nesy::learn::device(&args.device).map_err(fail)?;
    let vocab = Vocab::of(&[&train_named, &valid_named]);
    let (train, _) = vocab.ids(&train_named);
    let (valid, _) = vocab.ids(&valid_named);
    let mut params = KgeParams::defaults(args.model);
    params.dim = args.dim.unwrap_or(params.dim);
    params.epochs = args.epochs.unwrap_or(params.epochs);
    params.learning_rate = args.learning_rate.unwrap_or(params.learning_rate);
    params.batch_size = args.batch_size.unwrap_or(params.batch_size);
    params.regularization = args.regularization.unwrap_or(params.regularization);
    params.weight_decay = args.weight_decay.unwrap_or(params.weight_decay);
    params.valid_every = args.valid_every.unwrap_or(params.valid_every);
    params.patience = args.patience.unwrap_or(params.patience);
    let bar = epoch_bar(params.epochs as u64, true);
    let mut progress = epoch_progress(&bar);
    let data = kge::TrainingSet {
        train: &train,
        valid: &valid,
        entities: vocab.entities.len(),
        relations: vocab.relations.len(),
    };
    let trained = kge::train(data, &params, args.seed, &device, &mut progress);
    let (model, report) = match trained {
        Ok(r) => r,
        Err(e) => {
            bar.abandon();
            return Err(fail(e));
        }
    };
    bar.finish_and_clear();
    let header = KgeHeader {
        format: nesy::learn::model_file::FORMAT.to_string(),
        version: nesy::learn::model_file::VERSION,
        kind: "kge".to_string(),
        model: args.model,
        dim: params.dim,
        entities: vocab.entities.clone(),
        relations: vocab.relations.clone(),
        params: params.clone(),
        seed: args.seed,
        metrics: serde_json::to_value(&report).unwrap_or_default(),
        calibration: [model.calibration.0, model.calibration.1],
        data: serde_json::json!({
            "train": {"file": args.train.display().to_string(), "sha256": digest(&args.train), "triples": train.len()},
            "valid": {"file": args.valid.display().to_string(), "sha256": digest(&args.valid), "triples": valid.len()},
        }),
        created_by: format!("nesy {}", env!("CARGO_PKG_VERSION")),
    };
    if let Err(e) = (KgeFile { header, model }).save(&args.output) {
        return Err(fail(e));
    }
    let seconds = start.elapsed().as_secs_f64();
    let v = &report.valid;
    match args.format {
        SummaryFormat::Json => finish(&format!(
            "{}\n",
            serde_json::json!({
                "model": args.output.display().to_string(),
                "embedding": args.model.to_string(),
                "valid": v,
                "best_epoch": report.best_epoch,
                "epochs_run": report.epochs_run,
                "seconds": seconds,
            })
        )),
        SummaryFormat::Text => finish(&format!(
            "trained {} (dim {}) on {} triples, {} entities, {} relations in {seconds:.1} s; best epoch {} of {}\n  valid  MRR {:.4}  Hits@1 {:.4}  Hits@3 {:.4}  Hits@10 {:.4}\nsaved {}\n",
            args.model,
            params.dim,
            train.len(),
            vocab.entities.len(),
            vocab.relations.len(),
            report.best_epoch,
            report.epochs_run,
            v.mrr,
            v.hits_at_1,
            v.hits_at_3,
            v.hits_at_10,
            args.output.display()
        )),
    }
}

/// The SHA-256 of a file, recorded in the model file (empty when it
/// cannot be read).
fn digest(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    std::fs::read(path).map_or_else(|_| String::new(), |b| format!("{:x}", Sha256::digest(&b)))
}
