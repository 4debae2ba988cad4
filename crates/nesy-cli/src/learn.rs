//! `nesy train`, `nesy eval`, `nesy predict`, `nesy export-rules`: learned
//! models from the command line.

use crate::Outcome;
use crate::run::aligned;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use nesy::learn::cart::{CartParams, Criterion};
use nesy::learn::soft::SoftParams;
use nesy::learn::{FitOptions, Holdout, Metrics, Table, TrainRequest, TreeModel, Variant};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `nesy train` trains.
#[derive(Subcommand, Debug)]
pub enum TrainCommand {
    /// A decision tree on a CSV table: CART, a random forest, or a soft
    /// (neural) tree.
    Tree(TrainTreeArgs),
    /// Rules mined from a knowledge graph (link prediction, statistical).
    Rules(crate::link::TrainRulesArgs),
    /// A knowledge-graph embedding in candle (link prediction, neural).
    Kge(crate::link::TrainKgeArgs),
}

/// `nesy train tree`.
#[derive(Args, Debug)]
pub struct TrainTreeArgs {
    /// The training table: CSV with a header.
    #[arg(long, value_name = "FILE.csv")]
    data: PathBuf,
    /// The column to predict.
    #[arg(long, value_name = "COL")]
    target: String,
    /// The learner: `cart` (linfa-trees), `forest` (linfa-ensemble) or
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
    /// Fraction of the features each forest tree sees.
    #[arg(long, default_value_t = 0.5)]
    feature_fraction: f64,
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
}

/// Text or JSON.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum SummaryFormat {
    /// For people.
    Text,
    /// For scripts.
    Json,
}

/// What `nesy eval` evaluates.
#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Link prediction: filtered MRR and Hits@k of rules, an embedding,
    /// or both.
    Link(crate::link::EvalLinkArgs),
    /// A tree model on a labelled CSV: accuracy, macro-F1, confusion matrix.
    Tree {
        /// The model file.
        #[arg(long)]
        model: PathBuf,
        /// CSV with the model's feature columns and its target column.
        #[arg(long)]
        data: PathBuf,
        /// Output format: `json` gives {"accuracy", "macro_f1", "confusion", "classes", "rows"}.
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
}

/// What `nesy predict` predicts with.
#[derive(Subcommand, Debug)]
pub enum PredictCommand {
    /// The top candidates completing (head, relation, ?), with scores and,
    /// for rules, the rule and path behind each.
    Link(crate::link::PredictLinkArgs),
    /// A tree model on each row of a CSV: class and probability.
    Tree {
        /// The model file.
        #[arg(long)]
        model: PathBuf,
        /// CSV with the model's feature columns (the target may be absent).
        #[arg(long)]
        data: PathBuf,
        /// Add the decision path of each prediction.
        #[arg(long)]
        explain: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PredictFormat::Table)]
        format: PredictFormat,
    },
}

/// How predictions are printed.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum PredictFormat {
    /// Aligned columns.
    Table,
    /// `line<TAB>class<TAB>probability[<TAB>path]`.
    Tsv,
    /// `[{"line", "class", "probability", "distribution", "path"?}]`.
    Json,
}

fn load_model(path: &Path) -> Result<TreeModel, Outcome> {
    TreeModel::load(path).map_err(|e| {
        errln!("error: {e}");
        Outcome::Failed
    })
}

/// A progress bar over `epochs` epochs, on a terminal when `show`.
pub(crate) fn epoch_bar(epochs: u64, show: bool) -> ProgressBar {
    if !(show && std::io::stderr().is_terminal()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(epochs);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} epoch {pos}/{len} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// A tree model and a CSV read with its schema.
fn model_and_table(model: &Path, data: &Path) -> Result<(TreeModel, Table), Outcome> {
    let model = load_model(model)?;
    let table = model.schema().read_csv(data).map_err(fail)?;
    Ok((model, table))
}

/// Prints to stdout; a closed pipe is not an error.
pub(crate) fn finish(text: &str) -> Outcome {
    match crate::run::print_out(text) {
        Ok(()) => Outcome::Success,
        Err(e) => fail(e),
    }
}

pub(crate) fn fail(e: impl std::fmt::Display) -> Outcome {
    errln!("error: {e}");
    Outcome::Failed
}

/// `nesy train ...`.
pub fn train(command: TrainCommand) -> Outcome {
    match command {
        TrainCommand::Tree(args) => train_tree(args),
        TrainCommand::Rules(args) => crate::link::train_rules(args),
        TrainCommand::Kge(args) => crate::link::train_kge(args),
    }
}

fn train_tree(args: TrainTreeArgs) -> Outcome {
    let mut out = String::new();
    let start = Instant::now();
    let table = match Table::from_csv(&args.data, &args.target) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let device = match nesy::learn::device(&args.device) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let test_table = match &args.test_data {
        Some(path) => match table.schema.read_csv(path) {
            Ok(t) if t.y.is_some() => Some(t),
            Ok(_) => {
                return fail(format!(
                    "{}: no target column `{}` to test against",
                    path.display(),
                    args.target
                ));
            }
            Err(e) => return fail(e),
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
            feature_fraction: args.feature_fraction,
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
            return fail(e);
        }
    };
    bar.finish_and_clear();
    if let Err(e) = model.save(&header, &args.output) {
        return fail(e);
    }
    let seconds = start.elapsed().as_secs_f64();
    match args.format {
        SummaryFormat::Json => {
            let json = serde_json::json!({
                "model": args.output.display().to_string(),
                "variant": args.variant.to_string(),
                "rows": table.len(),
                "features": table.schema.features.len(),
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
            let _ = writeln!(
                out,
                "trained a {} tree on {} ({} rows, {} features, {} classes) in {seconds:.2} s",
                args.variant,
                data_file,
                table.len(),
                table.schema.features.len(),
                table.schema.classes.len()
            );
            let mut rows = vec![vec![
                String::new(),
                "accuracy".to_string(),
                "macro-F1".to_string(),
            ]];
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

fn metric_row(label: &str, m: &Metrics) -> Vec<String> {
    vec![
        label.to_string(),
        format!("{:.4}", m.accuracy),
        format!("{:.4}", m.macro_f1),
    ]
}

/// `nesy eval ...`.
pub fn eval(command: EvalCommand) -> Outcome {
    let mut out = String::new();
    let (model, data, format) = match command {
        EvalCommand::Link(args) => return crate::link::eval_link(args),
        EvalCommand::Tree {
            model,
            data,
            format,
        } => (model, data, format),
    };
    let (model, table) = match model_and_table(&model, &data) {
        Ok(x) => x,
        Err(o) => return o,
    };
    if table.y.is_none() {
        return fail(format!(
            "{}: no target column `{}` to evaluate against",
            data.display(),
            model.schema().target
        ));
    }
    let metrics = nesy::learn::evaluate(model.classifier.as_ref(), &table);
    let classes = &model.schema().classes;
    match format {
        SummaryFormat::Json => {
            let json = serde_json::json!({
                "accuracy": metrics.accuracy,
                "macro_f1": metrics.macro_f1,
                "confusion": metrics.confusion,
                "classes": classes,
                "rows": table.len(),
            });
            let _ = writeln!(out, "{json}");
        }
        SummaryFormat::Text => {
            let _ = writeln!(out, "rows      {}", table.len());
            let _ = writeln!(out, "accuracy  {:.4}", metrics.accuracy);
            let _ = writeln!(out, "macro-F1  {:.4}", metrics.macro_f1);
            let _ = writeln!(out, "confusion (rows: true class, columns: predicted)");
            let mut rows = vec![
                std::iter::once(String::new())
                    .chain(classes.iter().cloned())
                    .collect::<Vec<_>>(),
            ];
            for (class, counts) in classes.iter().zip(&metrics.confusion) {
                rows.push(
                    std::iter::once(class.clone())
                        .chain(counts.iter().map(usize::to_string))
                        .collect(),
                );
            }
            let _ = write!(out, "{}", aligned(&rows, "  "));
        }
    }
    finish(&out)
}

/// `nesy predict ...`.
pub fn predict(command: PredictCommand) -> Outcome {
    let mut out = String::new();
    let (model, data, explain, format) = match command {
        PredictCommand::Link(args) => return crate::link::predict_link(args),
        PredictCommand::Tree {
            model,
            data,
            explain,
            format,
        } => (model, data, explain, format),
    };
    let (model, table) = match model_and_table(&model, &data) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let classifier = model.classifier.as_ref();
    let mut json_rows = Vec::new();
    let mut rows = vec![{
        let mut h = vec![
            "line".to_string(),
            "class".to_string(),
            "probability".to_string(),
        ];
        if explain {
            h.push("path".to_string());
        }
        h
    }];
    for (x, line) in table.x.iter().zip(&table.lines) {
        let p = classifier.predict(x);
        let path = explain.then(|| classifier.explain(x));
        match format {
            PredictFormat::Json => {
                let distribution: serde_json::Map<String, serde_json::Value> = model
                    .schema()
                    .classes
                    .iter()
                    .zip(&p.distribution)
                    .map(|(c, q)| (c.clone(), serde_json::json!(q)))
                    .collect();
                let mut row = serde_json::json!({
                    "line": line,
                    "class": p.class_name,
                    "probability": p.probability,
                    "distribution": distribution,
                });
                if let (Some(path), Some(obj)) = (&path, row.as_object_mut()) {
                    obj.insert("path".to_string(), serde_json::json!(path));
                }
                json_rows.push(row);
            }
            PredictFormat::Table | PredictFormat::Tsv => {
                let mut r = vec![
                    line.to_string(),
                    p.class_name.clone(),
                    format!("{:.4}", p.probability),
                ];
                if let Some(path) = &path {
                    r.push(path.to_text());
                }
                rows.push(r);
            }
        }
    }
    match format {
        PredictFormat::Json => {
            let _ = writeln!(out, "{}", serde_json::Value::Array(json_rows));
        }
        PredictFormat::Tsv => {
            for r in rows.iter().skip(1) {
                let _ = writeln!(out, "{}", r.join("\t"));
            }
        }
        PredictFormat::Table => {
            let _ = write!(out, "{}", aligned(&rows, ""));
        }
    }
    finish(&out)
}

/// `nesy export-rules`.
pub fn export_rules(
    model_path: &Path,
    output: Option<&Path>,
    name: Option<&str>,
    input: Option<&str>,
) -> Outcome {
    let model = match load_model(model_path) {
        Ok(m) => m,
        Err(o) => return o,
    };
    let Some(tree) = &model.cart else {
        return fail(format!(
            "{}: a {} model has no single tree to write as rules; export-rules takes a CART model (`--variant cart`)",
            model_path.display(),
            model.header.variant
        ));
    };
    let stem = model_path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".to_string());
    // A nesy identifier made of the file's name.
    let default_name = nesy::learn::link::rules::relation_name(&stem);
    let name = name.map(str::to_string).unwrap_or(default_name);
    let input = input
        .map(str::to_string)
        .unwrap_or_else(|| format!("{name}_input"));
    let text = nesy::learn::export::tree_rules(
        tree,
        model.schema(),
        &name,
        &input,
        &model_path.display().to_string(),
    );
    match output {
        Some(path) => match nesy::learn::model::write_atomic(path, text.as_bytes()) {
            Ok(()) => {
                errln!("wrote {} ({} rules)", path.display(), tree.leaves().len());
                Outcome::Success
            }
            Err(e) => fail(e),
        },
        None => finish(&text),
    }
}
