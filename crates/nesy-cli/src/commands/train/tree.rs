//! `nesy train tree`: CART, a random forest or a soft tree on a CSV table.

use crate::error::{CliResult, fail};
use crate::learned::{SummaryFormat, epoch_bar, finish};
use crate::output::aligned;
use nesy::learn::cart::{CartParams, Criterion, MaxFeatures};
use nesy::learn::soft::SoftParams;
use nesy::learn::{FitOptions, Holdout, Metrics, Table, Task, TrainRequest, Variant};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

/// `income (number), colour (text: blue, green, red)`: each feature and
/// its type, in the model's order (what `model.predict(...)` takes by
/// position).
fn feature_types(schema: &nesy::learn::Schema) -> String {
    schema
        .features
        .iter()
        .map(|f| match &f.kind {
            nesy::learn::table::FeatureKind::Numeric => format!("{} (number)", f.name),
            nesy::learn::table::FeatureKind::Categorical { categories } => {
                let mut shown: Vec<&str> = categories.iter().take(5).map(String::as_str).collect();
                if categories.len() > 5 {
                    shown.push("...");
                }
                format!("{} (text: {})", f.name, shown.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `nesy train tree`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The training table: CSV with a header.
    #[arg(long, value_name = "FILE.csv")]
    data: PathBuf,
    /// The column to predict.
    #[arg(long, value_name = "COL")]
    target: String,
    /// The learner: `cart` (one tree, as scikit-learn's
    /// DecisionTreeClassifier), `forest` (as its RandomForestClassifier) or
    /// `soft` (a soft decision tree in candle).
    #[arg(long, default_value = "cart")]
    variant: Variant,
    /// Deepest level of a CART/forest tree (default: grow until pure); the
    /// depth of a soft tree (default 4).
    #[arg(long, value_name = "N")]
    max_depth: Option<usize>,
    /// Seeds the split, the folds, the forest's bootstrap and the soft
    /// tree's initial weights and batches.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Hold out this fraction of the rows for testing (default 0.2); the
    /// saved model is fitted on the rest.
    #[arg(long, value_name = "F", conflicts_with = "folds")]
    test_split: Option<f64>,
    /// Report k-fold cross-validation instead; the saved model is then
    /// fitted on every row.
    #[arg(long, value_name = "K")]
    folds: Option<usize>,
    /// Fit on every row of --data and report test metrics on this CSV.
    #[arg(long, value_name = "FILE.csv", conflicts_with_all = ["folds", "test_split"])]
    test_data: Option<PathBuf>,
    /// Where to write the model.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
    /// Split criterion (CART, forest): gini or entropy.
    #[arg(long, default_value = "gini")]
    criterion: Criterion,
    /// A node with fewer rows is not split (CART, forest).
    #[arg(long, default_value_t = 2)]
    min_samples_split: usize,
    /// No split leaves fewer rows on a side (CART, forest).
    #[arg(long, default_value_t = 1)]
    min_samples_leaf: usize,
    /// Trees in a forest.
    #[arg(long, default_value_t = 100)]
    trees: usize,
    /// Features a forest tries at each split: sqrt (of their number), log2,
    /// all, a count, or a fraction in (0, 1]. Default as scikit-learn's:
    /// sqrt for classes, all for a regression.
    #[arg(long, value_name = "sqrt|log2|all|N|F")]
    max_features: Option<MaxFeatures>,
    /// The fraction of the features a forest tries at each split (the same
    /// as `--max-features F`).
    #[arg(long, value_name = "F", conflicts_with = "max_features")]
    feature_fraction: Option<f64>,
    /// Laplace smoothing of the leaves' class probabilities: the count
    /// added to each class, so that a leaf of two rows does not say 1.0 to
    /// the rules that take its probability as a tag (default 1 for CART, 0
    /// for a forest, whose mean over trees already spreads it); 0 for the
    /// raw frequencies.
    #[arg(long, value_name = "A")]
    leaf_smoothing: Option<f64>,
    /// Epochs (soft tree).
    #[arg(long, default_value_t = SoftParams::default().epochs)]
    epochs: usize,
    /// AdamW learning rate (soft tree).
    #[arg(long, default_value_t = SoftParams::default().learning_rate)]
    learning_rate: f64,
    /// AdamW weight decay (soft tree).
    #[arg(long, default_value_t = SoftParams::default().weight_decay)]
    weight_decay: f64,
    /// Rows per step (soft tree).
    #[arg(long, default_value_t = SoftParams::default().batch_size)]
    batch_size: usize,
    /// Weight of the balance penalty (soft tree).
    #[arg(long, default_value_t = SoftParams::default().penalty)]
    penalty: f64,
    /// Where candle trains: cpu, or cuda (built with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    format: SummaryFormat,
    /// Columns that are not features (comma-separated).
    #[arg(long, value_name = "COL,...", value_delimiter = ',')]
    exclude: Vec<String>,
    /// The rows' id column: not a feature.
    #[arg(long, value_name = "COL")]
    id: Option<String>,
    /// classification (the target's values are classes) or regression
    /// (the target is a number; squared error; CART and forest).
    #[arg(long, default_value = "classification", value_name = "TASK")]
    task: Task,
}

/// `nesy train tree`.
pub(crate) fn run(args: &Args) -> CliResult {
    let mut out = String::new();
    let start = Instant::now();
    let excluded: Vec<String> = args.exclude.iter().chain(&args.id).cloned().collect();
    let table =
        Table::from_csv_for(&args.data, &args.target, &excluded, args.task).map_err(fail)?;
    let regression = args.task == Task::Regression;
    for name in table.id_like_features() {
        errln!(
            "warning: column `{name}` looks like an id (named so, or a different text on every row); \
             it is used as a feature, which memorises rows: `--id {name}` or `--exclude {name}` leaves it out"
        );
    }
    let device = nesy::learn::device(&args.device).map_err(fail)?;
    let test_table = match &args.test_data {
        Some(path) => match table.schema.read_csv(path) {
            Ok(t) if t.y.is_some() || t.values.is_some() => Some(t),
            Ok(_) => {
                return Err(fail(format!(
                    "{}: no target column `{}` to test against",
                    path.display(),
                    args.target
                )));
            }
            Err(e) => return Err(fail(e)),
        },
        None => None,
    };
    let holdout = match (args.test_split, args.folds, &test_table) {
        (_, _, Some(_)) => Holdout::None,
        (_, Some(k), None) => Holdout::Folds(k),
        (Some(f), None, None) => Holdout::Split(f),
        (None, None, None) => Holdout::Split(0.2),
    };
    let data_file = args.data.display().to_string();
    let request = TrainRequest {
        variant: args.variant,
        cart: CartParams {
            criterion: args.criterion,
            max_depth: args.max_depth,
            min_samples_split: args.min_samples_split,
            min_samples_leaf: args.min_samples_leaf,
            trees: args.trees,
            // As scikit-learn: sqrt of the features per split for classes,
            // all of them for a regression.
            max_features: match (args.feature_fraction, args.max_features) {
                (Some(f), _) => MaxFeatures::Fraction(f),
                (None, Some(m)) => m,
                (None, None) if regression => MaxFeatures::All,
                (None, None) => MaxFeatures::Sqrt,
            },
            seed: args.seed,
            leaf_smoothing: args.leaf_smoothing,
        },
        soft: SoftParams {
            depth: args.max_depth.unwrap_or(SoftParams::default().depth),
            epochs: args.epochs,
            learning_rate: args.learning_rate,
            weight_decay: args.weight_decay,
            batch_size: args.batch_size,
            penalty: args.penalty,
            ..SoftParams::default()
        },
        holdout,
        data_file: &data_file,
        test_table: test_table.as_ref(),
    };
    let fits = match holdout {
        Holdout::Folds(k) => k as u64 + 1,
        _ => 1,
    };
    let bar = epoch_bar(args.epochs as u64 * fits, args.variant == Variant::Soft);
    let mut progress = |epoch: usize, loss: f64| {
        bar.inc(1);
        bar.set_message(format!("loss {loss:.4}"));
        let _ = epoch;
    };
    let mut options = FitOptions {
        seed: args.seed,
        device,
        progress: &mut progress,
    };
    let fit_start = Instant::now();
    let trained = nesy::learn::train(&table, &request, &mut options);
    let fit_seconds = fit_start.elapsed().as_secs_f64();
    let (model, header, report) = match trained {
        Ok(r) => r,
        Err(e) => {
            bar.abandon();
            return Err(fail(e));
        }
    };
    bar.finish_and_clear();
    model.save(&header, &args.output).map_err(fail)?;
    let seconds = start.elapsed().as_secs_f64();
    match args.format {
        SummaryFormat::Json => {
            let json = serde_json::json!({
                "model": args.output.display().to_string(),
                "variant": args.variant.to_string(),
                "rows": table.len(),
                "features": table.schema.features.len(),
                "task": if regression { "regression" } else { "classification" },
                "classes": table.schema.classes,
                "train": report.train,
                "test": report.test,
                "folds": report.folds,
                "seconds": seconds,
                "fit_seconds": fit_seconds,
            });
            let _ = writeln!(out, "{json}");
        }
        SummaryFormat::Text => {
            let what = if regression {
                format!("a regression of `{}`", args.target)
            } else {
                format!("{} classes", table.schema.classes.len())
            };
            let _ = writeln!(
                out,
                "trained a {} tree on {} ({} rows, {} features, {what}) in {seconds:.2} s",
                args.variant,
                data_file,
                table.len(),
                table.schema.features.len(),
            );
            let _ = writeln!(
                out,
                "features, in the order a call passes them: {}",
                feature_types(&table.schema)
            );
            let mut rows = vec![if regression {
                vec![
                    String::new(),
                    "RMSE".to_string(),
                    "MAE".to_string(),
                    "R2".to_string(),
                ]
            } else {
                vec![
                    String::new(),
                    "accuracy".to_string(),
                    "macro-F1".to_string(),
                ]
            }];
            rows.push(metric_row("train", &report.train));
            if let Some(test) = &report.test {
                let label = match holdout {
                    Holdout::Folds(k) => format!("test ({k}-fold)"),
                    _ => "test".to_string(),
                };
                rows.push(metric_row(&label, test));
            }
            let _ = write!(out, "{}", aligned(&rows, "  "));
            let _ = writeln!(out, "saved {}", args.output.display());
        }
    }
    finish(&out)
}

/// A row of the metrics table.
fn metric_row(label: &str, m: &Metrics) -> Vec<String> {
    match &m.errors {
        Some(e) => vec![
            label.to_string(),
            format!("{:.4}", e.rmse),
            format!("{:.4}", e.mae),
            format!("{:.4}", e.r2),
        ],
        None => vec![
            label.to_string(),
            format!("{:.4}", m.accuracy),
            format!("{:.4}", m.macro_f1),
        ],
    }
}
