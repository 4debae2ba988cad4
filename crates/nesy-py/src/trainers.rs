//! The learners from Python: `nesy.train_tree` writes a model file that
//! rules call (`@model credit = "credit.tree"`, or an `Engine`'s
//! `models={...}`), as `nesy train tree` does.

use crate::values::json_to_py;
use nesy::learn::cart::{CartParams, MaxFeatures};
use nesy::learn::soft::SoftParams;
use nesy::learn::{FitOptions, Holdout, Table, Task, TrainRequest, Variant};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::PathBuf;

/// Trains a decision tree (`cart`), a random forest (`forest`) or a soft
/// tree (`soft`) on a CSV table and writes its model file; returns what
/// `nesy train tree --format json` reports (`train` and `test` metrics,
/// `classes`, `features`, `rows`).
#[pyfunction]
#[pyo3(signature = (data, target, output, variant = "cart", max_depth = None, seed = 0, test_split = 0.2, id = None, exclude = Vec::new(), trees = 100, epochs = None))]
#[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
pub(crate) fn train_tree<'py>(
    py: Python<'py>,
    data: PathBuf,
    target: &str,
    output: PathBuf,
    variant: &str,
    max_depth: Option<usize>,
    seed: u64,
    test_split: f64,
    id: Option<String>,
    exclude: Vec<String>,
    trees: usize,
    epochs: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let variant: Variant = variant.parse().map_err(PyValueError::new_err)?;
    if !(0.0..1.0).contains(&test_split) {
        return Err(PyValueError::new_err(format!(
            "test_split is a fraction in [0, 1), got {test_split}"
        )));
    }
    let excluded: Vec<String> = exclude.into_iter().chain(id).collect();
    let report = py.detach(|| -> Result<_, String> {
        let table = Table::from_csv_for(&data, target, &excluded, Task::Classification)
            .map_err(|e| e.to_string())?;
        let data_file = data.display().to_string();
        let request = TrainRequest {
            variant,
            cart: CartParams {
                max_depth,
                trees,
                max_features: MaxFeatures::Sqrt,
                seed,
                ..CartParams::default()
            },
            soft: SoftParams {
                depth: max_depth.unwrap_or(SoftParams::default().depth),
                epochs: epochs.unwrap_or(SoftParams::default().epochs),
                ..SoftParams::default()
            },
            holdout: if test_split > 0.0 {
                Holdout::Split(test_split)
            } else {
                Holdout::None
            },
            data_file: &data_file,
            test_table: None,
        };
        let mut progress = |_: usize, _: f64| {};
        let mut options = FitOptions {
            seed,
            device: nesy::learn::device("cpu").map_err(|e| e.to_string())?,
            progress: &mut progress,
        };
        let (model, header, report) =
            nesy::learn::train(&table, &request, &mut options).map_err(|e| e.to_string())?;
        model.save(&header, &output).map_err(|e| e.to_string())?;
        Ok(serde_json::json!({
            "model": output.display().to_string(),
            "variant": variant.to_string(),
            "rows": table.len(),
            "features": table.schema.features.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
            "classes": table.schema.classes,
            "train": report.train,
            "test": report.test,
        }))
    });
    match report {
        Ok(json) => json_to_py(py, &json),
        Err(e) => Err(crate::errors::NesyError::new_err(e)),
    }
}
