//! `nesy predict tree`: the class and probability of each row of a CSV
//! (a regression's value), optionally with the decision path.

use crate::error::CliResult;
use crate::learned::{finish, model_and_table};
use crate::output::aligned;
use clap::ValueEnum;
use std::fmt::Write as _;
use std::path::PathBuf;

/// `nesy predict tree`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
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
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Key each prediction by this column (an id) instead of its CSV line.
    #[arg(long, value_name = "COL")]
    id: Option<String>,
}

/// How predictions are printed.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    /// Aligned columns.
    Table,
    /// `line<TAB>class<TAB>probability[<TAB>path]` (a regression:
    /// `line<TAB>value[<TAB>path]`).
    Tsv,
    /// `[{"line", "class", "probability", "distribution", "path"?}]` (a
    /// regression: `{"line", "value", "path"?}`), and the `--id` column's
    /// value under its name.
    Json,
}

/// What a model says of a row.
enum Said {
    /// A regression's value.
    Value(f64),
    /// A class with its probability and distribution.
    Class(nesy::learn::Prediction),
}

/// `nesy predict tree`.
pub(crate) fn run(args: &Args) -> CliResult {
    let mut out = String::new();
    let (explain, format) = (args.explain, args.format);
    let (model, table) = model_and_table(&args.model, &args.data)?;
    let ids = match &args.id {
        Some(column) => Some(
            nesy::learn::table::column_by_line(&args.data, column).map_err(crate::error::fail)?,
        ),
        None => None,
    };
    let key_name = args.id.clone().unwrap_or_else(|| "line".to_string());
    let key = |line: &u64| -> serde_json::Value {
        match &ids {
            Some(ids) => serde_json::json!(ids.get(line).cloned().unwrap_or_default()),
            None => serde_json::json!(line),
        }
    };
    let classifier = model.classifier.as_ref();
    let regression = model.schema().task == nesy::learn::Task::Regression;
    let mut json_rows = Vec::new();
    let mut rows = vec![{
        let mut h = if regression {
            vec![key_name.clone(), "value".to_string()]
        } else {
            vec![
                key_name.clone(),
                "class".to_string(),
                "probability".to_string(),
            ]
        };
        if explain {
            h.push("path".to_string());
        }
        h
    }];
    for (x, line) in table.x.iter().zip(&table.lines) {
        let prediction = match classifier.value(x) {
            Some(value) => Said::Value(value),
            None => Said::Class(classifier.predict(x)),
        };
        let path = explain.then(|| classifier.explain(x));
        if format == Format::Json {
            let mut row = match &prediction {
                Said::Value(value) => serde_json::json!({ "line": line, "value": value }),
                Said::Class(p) => {
                    let distribution: serde_json::Map<String, serde_json::Value> = model
                        .schema()
                        .classes
                        .iter()
                        .zip(&p.distribution)
                        .map(|(c, q)| (c.clone(), serde_json::json!(q)))
                        .collect();
                    serde_json::json!({
                        "line": line,
                        "class": p.class_name,
                        "probability": p.probability,
                        "distribution": distribution,
                    })
                }
            };
            if let (Some(_), Some(obj)) = (&ids, row.as_object_mut()) {
                obj.insert(key_name.clone(), key(line));
            }
            if let (Some(path), Some(obj)) = (&path, row.as_object_mut()) {
                obj.insert("path".to_string(), serde_json::json!(path));
            }
            json_rows.push(row);
        } else {
            let shown = match &ids {
                Some(ids) => ids.get(line).cloned().unwrap_or_default(),
                None => line.to_string(),
            };
            let mut r = vec![shown];
            match &prediction {
                Said::Value(value) => r.push(format!("{value}")),
                Said::Class(p) => r.extend([p.class_name.clone(), format!("{:.4}", p.probability)]),
            }
            if let Some(path) = &path {
                r.push(path.to_text());
            }
            rows.push(r);
        }
    }
    match format {
        Format::Json => {
            let _ = writeln!(out, "{}", serde_json::Value::Array(json_rows));
        }
        Format::Tsv => {
            for r in rows.iter().skip(1) {
                let _ = writeln!(out, "{}", r.join("\t"));
            }
        }
        Format::Table => {
            let _ = write!(out, "{}", aligned(&rows, ""));
        }
    }
    finish(&out)
}
