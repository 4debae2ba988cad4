//! Training a tree model end to end: split or cross-validate, fit, measure,
//! describe.

use crate::cart::CartParams;
use crate::error::Result;
use crate::metrics::Metrics;
use crate::model_file::{
    Cart, Classifier, DataInfo, FORMAT, Fit, FitOptions, Forest, Header, Soft, Trained, VERSION,
    Variant,
};
use crate::soft::SoftParams;
use crate::table::{Table, Task, k_folds, train_test_split};
use serde::Serialize;

/// How the model is evaluated while training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Holdout {
    /// Train on every row; report training accuracy only.
    None,
    /// Hold this fraction of the rows out for testing; the saved model is
    /// the one fitted on the rest.
    Split(f64),
    /// k-fold cross-validation for the reported test metrics; the saved
    /// model is then fitted on every row.
    Folds(usize),
}

/// What training measured.
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    /// On the rows the saved model was fitted on.
    pub train: Metrics,
    /// On the held-out rows (split), or the mean over folds.
    pub test: Option<Metrics>,
    /// Per fold, with `--folds`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub folds: Vec<Metrics>,
}

/// Everything `nesy train tree` decides.
pub struct TrainRequest<'a> {
    /// The learner.
    pub variant: Variant,
    /// CART and forest parameters.
    pub cart: CartParams,
    /// Soft tree parameters.
    pub soft: SoftParams,
    /// How to evaluate.
    pub holdout: Holdout,
    /// The data file's name as recorded in the header.
    pub data_file: &'a str,
    /// With [`Holdout::None`]: a separate table to report test metrics on.
    pub test_table: Option<&'a Table>,
}

fn fit(table: &Table, req: &TrainRequest<'_>, options: &mut FitOptions<'_>) -> Result<Trained> {
    if table.schema.task == Task::Regression && req.variant == Variant::Soft {
        return Err(crate::Error::Invalid(
            "the soft tree classifies; a regression takes `--variant cart` or `forest`".to_string(),
        ));
    }
    Ok(match req.variant {
        Variant::Cart => Trained::Cart(Cart::fit(table, &req.cart, options)?),
        Variant::Forest => Trained::Forest(Forest::fit(table, &req.cart, options)?),
        Variant::Soft => Trained::Soft(Soft::fit(table, &req.soft, options)?),
    })
}

/// Metrics of a model on a table with targets: a classifier's accuracy,
/// or a regression's errors.
pub fn evaluate(model: &dyn Classifier, table: &Table) -> Metrics {
    if let Some(truth) = &table.values {
        let predicted: Vec<f64> = table
            .x
            .iter()
            .map(|x| model.value(x).unwrap_or(f64::NAN))
            .collect();
        return Metrics::regression(truth, &predicted);
    }
    let predicted: Vec<usize> = table.x.iter().map(|x| model.predict(x).class).collect();
    Metrics::new(table.targets(), &predicted, table.schema.classes.len())
}

/// The Brier score and log-loss of `model`'s class distributions on a
/// labelled table.
pub fn probability_scores(
    model: &dyn Classifier,
    table: &Table,
) -> crate::metrics::ProbabilityScores {
    let distributions: Vec<Vec<f64>> = table
        .x
        .iter()
        .map(|x| model.predict(x).distribution)
        .collect();
    crate::metrics::ProbabilityScores::new(table.targets(), &distributions)
}

fn mean(metrics: &[Metrics], classes: usize) -> Metrics {
    let n = metrics.len().max(1) as f64;
    let mut confusion = vec![vec![0usize; classes]; classes];
    for m in metrics {
        for (row, other) in confusion.iter_mut().zip(&m.confusion) {
            for (c, o) in row.iter_mut().zip(other) {
                *c += o;
            }
        }
    }
    let errors = metrics
        .iter()
        .map(|m| m.errors)
        .collect::<Option<Vec<_>>>()
        .filter(|e| !e.is_empty())
        .map(|e| crate::metrics::RegressionErrors {
            rmse: e.iter().map(|e| e.rmse).sum::<f64>() / n,
            mae: e.iter().map(|e| e.mae).sum::<f64>() / n,
            r2: e.iter().map(|e| e.r2).sum::<f64>() / n,
        });
    Metrics {
        accuracy: metrics.iter().map(|m| m.accuracy).sum::<f64>() / n,
        macro_f1: metrics.iter().map(|m| m.macro_f1).sum::<f64>() / n,
        confusion,
        errors,
    }
}

/// Trains as asked; returns the model, its header and what was measured.
pub fn train(
    table: &Table,
    req: &TrainRequest<'_>,
    options: &mut FitOptions<'_>,
) -> Result<(Trained, Header, TrainReport)> {
    let classes = table.schema.classes.len();
    let (model, fitted_rows, report) = match req.holdout {
        Holdout::None => {
            let model = fit(table, req, options)?;
            let train = evaluate(model.classifier(), table);
            let test = req.test_table.map(|t| evaluate(model.classifier(), t));
            (
                model,
                table.len(),
                TrainReport {
                    train,
                    test,
                    folds: Vec::new(),
                },
            )
        }
        Holdout::Split(fraction) => {
            let (train_rows, test_rows) = train_test_split(table.len(), fraction, options.seed)?;
            let (train_t, test_t) = (table.subset(&train_rows), table.subset(&test_rows));
            let model = fit(&train_t, req, options)?;
            let train = evaluate(model.classifier(), &train_t);
            let test = evaluate(model.classifier(), &test_t);
            (
                model,
                train_t.len(),
                TrainReport {
                    train,
                    test: Some(test),
                    folds: Vec::new(),
                },
            )
        }
        Holdout::Folds(k) => {
            let mut folds = Vec::new();
            for (train_rows, test_rows) in k_folds(table.len(), k, options.seed)? {
                let model = fit(&table.subset(&train_rows), req, options)?;
                folds.push(evaluate(model.classifier(), &table.subset(&test_rows)));
            }
            let model = fit(table, req, options)?;
            let train = evaluate(model.classifier(), table);
            let test = Some(mean(&folds, classes));
            (model, table.len(), TrainReport { train, test, folds })
        }
    };
    // The file says which smoothing its leaves are read with.
    let regression = table.schema.task == Task::Regression;
    let cart = CartParams {
        leaf_smoothing: (!regression)
            .then(|| req.cart.smoothing_for(req.variant == Variant::Forest)),
        ..req.cart.clone()
    };
    let params = match req.variant {
        Variant::Cart | Variant::Forest => serde_json::to_value(&cart),
        Variant::Soft => serde_json::to_value(&req.soft),
    }
    .unwrap_or_default();
    let header = Header {
        format: FORMAT.to_string(),
        version: VERSION,
        kind: "tree".to_string(),
        variant: req.variant,
        schema: table.schema.clone(),
        params,
        seed: options.seed,
        metrics: serde_json::to_value(&report).unwrap_or_default(),
        data: DataInfo {
            file: req.data_file.to_string(),
            sha256: table.digest.clone(),
            rows: fitted_rows,
        },
        created_by: format!("nesy {}", env!("CARGO_PKG_VERSION")),
    };
    Ok((model, header, report))
}
