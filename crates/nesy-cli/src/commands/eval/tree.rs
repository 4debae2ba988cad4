//! `nesy eval tree`: accuracy, macro-F1 and the confusion matrix of a tree
//! model on a labelled CSV.

use crate::error::{CliResult, fail};
use crate::learned::{SummaryFormat, finish, model_and_table};
use crate::output::aligned;
use std::fmt::Write as _;
use std::path::PathBuf;

/// `nesy eval tree`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The model file.
    #[arg(long)]
    model: PathBuf,
    /// CSV with the model's feature columns and its target column.
    #[arg(long)]
    data: PathBuf,
    /// Output format: `json` gives {"accuracy", "macro_f1", "brier", "log_loss", "confusion", "classes", "rows"}; for a regression {"rmse", "mae", "r2", "rows"}.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    format: SummaryFormat,
}

/// `nesy eval tree`.
pub(crate) fn run(args: &Args) -> CliResult {
    let mut out = String::new();
    let (data, format) = (&args.data, args.format);
    let (model, table) = model_and_table(&args.model, data)?;
    if table.y.is_none() && table.values.is_none() {
        return Err(fail(format!(
            "{}: no target column `{}` to evaluate against",
            data.display(),
            model.schema().target
        )));
    }
    let metrics = nesy::learn::evaluate(model.classifier.as_ref(), &table);
    if let Some(errors) = metrics.errors {
        match format {
            SummaryFormat::Json => {
                let json = serde_json::json!({
                    "rmse": errors.rmse,
                    "mae": errors.mae,
                    "r2": errors.r2,
                    "rows": table.len(),
                });
                let _ = writeln!(out, "{json}");
            }
            SummaryFormat::Text => {
                let _ = writeln!(out, "rows  {}", table.len());
                let _ = writeln!(out, "RMSE  {:.4}", errors.rmse);
                let _ = writeln!(out, "MAE   {:.4}", errors.mae);
                let _ = writeln!(out, "R2    {:.4}", errors.r2);
            }
        }
        return finish(&out);
    }
    let scores = nesy::learn::train::probability_scores(model.classifier.as_ref(), &table);
    let classes = &model.schema().classes;
    match format {
        SummaryFormat::Json => {
            let json = serde_json::json!({
                "accuracy": metrics.accuracy,
                "macro_f1": metrics.macro_f1,
                "brier": scores.brier,
                "log_loss": scores.log_loss,
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
            let _ = writeln!(out, "Brier     {:.4}", scores.brier);
            let _ = writeln!(out, "log-loss  {:.4}", scores.log_loss);
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
