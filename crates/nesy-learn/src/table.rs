//! Tables of training data: CSV with a header, numeric and categorical
//! features, a named target column.
//!
//! A column is numeric when every value parses as a number; otherwise it
//! is categorical and one-hot encoded: one 0/1 feature per category (in
//! sorted order) named `column=category`. A category not seen in training
//! encodes as all zeros. An empty cell, `NA`, `NaN` or `?` is a missing
//! value, which is an error naming the line and column: nesy does not
//! impute.

use crate::error::{Error, Result};
use nesy_lang::Lines;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// How a feature is read and encoded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeatureKind {
    /// A number, used as is.
    Numeric,
    /// A category, one-hot encoded over these (sorted) categories.
    Categorical {
        /// The categories seen in training.
        categories: Vec<String>,
    },
}

/// One input column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    /// The column name.
    pub name: String,
    /// How it is encoded.
    #[serde(flatten)]
    pub kind: FeatureKind,
}

/// What a model predicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// A class, with a probability per class.
    #[default]
    Classification,
    /// A number (the mean of a leaf's rows).
    Regression,
}

impl Task {
    /// Whether it is classification (what a model file says by saying
    /// nothing).
    pub fn is_classification(&self) -> bool {
        *self == Task::Classification
    }
}

impl std::str::FromStr for Task {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "classification" => Ok(Task::Classification),
            "regression" => Ok(Task::Regression),
            other => Err(format!(
                "unknown task `{other}` (classification or regression)"
            )),
        }
    }
}

/// The columns a model reads and the classes it predicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Input columns, in order.
    pub features: Vec<Feature>,
    /// The target column's name.
    pub target: String,
    /// Class names, sorted; a class is predicted by its index here. Empty
    /// for regression.
    pub classes: Vec<String>,
    /// Classification (the default, left out of files) or regression.
    #[serde(default, skip_serializing_if = "Task::is_classification")]
    pub task: Task,
}

/// A raw feature value, before encoding.
#[derive(Clone, Debug, PartialEq)]
pub enum FeatureValue {
    /// A number.
    Number(f64),
    /// A category (or text).
    Text(String),
}

impl Schema {
    /// The names of the encoded columns (one per numeric feature, one per
    /// category of a categorical feature).
    pub fn encoded_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.features {
            match &f.kind {
                FeatureKind::Numeric => out.push(f.name.clone()),
                FeatureKind::Categorical { categories } => {
                    out.extend(categories.iter().map(|c| format!("{}={c}", f.name)))
                }
            }
        }
        out
    }

    /// Which feature each encoded column comes from, and for a category
    /// column the category.
    pub fn encoded_columns(&self) -> Vec<(usize, Option<&str>)> {
        let mut out = Vec::new();
        for (i, f) in self.features.iter().enumerate() {
            match &f.kind {
                FeatureKind::Numeric => out.push((i, None)),
                FeatureKind::Categorical { categories } => {
                    out.extend(categories.iter().map(|c| (i, Some(c.as_str()))))
                }
            }
        }
        out
    }

    /// Encodes one row of raw values given in feature order.
    pub fn encode(&self, values: &[FeatureValue]) -> Result<Vec<f64>, String> {
        if values.len() != self.features.len() {
            return Err(format!(
                "the model takes {} features ({}), got {} values",
                self.features.len(),
                self.feature_list(),
                values.len()
            ));
        }
        let mut out = Vec::new();
        for (f, v) in self.features.iter().zip(values) {
            match (&f.kind, v) {
                (FeatureKind::Numeric, FeatureValue::Number(x)) if x.is_finite() => out.push(*x),
                (FeatureKind::Numeric, FeatureValue::Text(t)) => match t.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() => out.push(x),
                    _ => return Err(format!("feature `{}` must be a number, got {t:?}", f.name)),
                },
                (FeatureKind::Numeric, FeatureValue::Number(x)) => {
                    return Err(format!("feature `{}` must be finite, got {x}", f.name));
                }
                (FeatureKind::Categorical { categories }, v) => {
                    let text = match v {
                        FeatureValue::Text(t) => t.clone(),
                        FeatureValue::Number(x) => number_text(*x),
                    };
                    out.extend(categories.iter().map(|c| f64::from(u8::from(*c == text))));
                }
            }
        }
        Ok(out)
    }

    /// `a, b, c`: the feature names, for messages.
    pub fn feature_list(&self) -> String {
        self.features
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Reads a CSV with the columns of this schema (in any order, extra
    /// columns ignored); the target column is read when present.
    pub fn read_csv(&self, path: &Path) -> Result<Table> {
        let raw = RawCsv::read(path)?;
        let mut columns = Vec::new();
        for f in &self.features {
            let Some(i) = raw.header.iter().position(|h| *h == f.name) else {
                return Err(Error::Data {
                    path: raw.path.clone(),
                    line: 1,
                    message: format!(
                        "no column `{}`; the model reads {}",
                        f.name,
                        self.feature_list()
                    ),
                });
            };
            columns.push(i);
        }
        let target = raw.header.iter().position(|h| *h == self.target);
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut numbers = Vec::new();
        for (row, line) in raw.rows.iter().zip(&raw.lines) {
            let values: Vec<FeatureValue> = columns
                .iter()
                .map(|&c| FeatureValue::Text(row.get(c).cloned().unwrap_or_default()))
                .collect();
            for (f, v) in self.features.iter().zip(&values) {
                if let FeatureValue::Text(t) = v
                    && is_missing(t)
                {
                    return Err(raw.missing(*line, &f.name));
                }
            }
            x.push(self.encode(&values).map_err(|message| Error::Data {
                path: raw.path.clone(),
                line: *line,
                message,
            })?);
            if let Some(t) = target
                && self.task == Task::Regression
            {
                let value = row.get(t).map(String::as_str).unwrap_or_default();
                match value.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() => numbers.push(v),
                    _ if is_missing(value) => return Err(raw.missing(*line, &self.target)),
                    _ => {
                        return Err(Error::Data {
                            path: raw.path.clone(),
                            line: *line,
                            message: format!(
                                "`{}` is a regression target, and {value:?} is not a number",
                                self.target
                            ),
                        });
                    }
                }
            } else if let Some(t) = target {
                let value = row.get(t).map(String::as_str).unwrap_or_default();
                match self.classes.iter().position(|c| c == value) {
                    Some(class) => y.push(class),
                    None => {
                        return Err(Error::Data {
                            path: raw.path.clone(),
                            line: *line,
                            message: format!(
                                "class {value:?} in `{}` is not one the model knows ({})",
                                self.target,
                                self.classes.join(", ")
                            ),
                        });
                    }
                }
            }
        }
        let regression = self.task == Task::Regression;
        Ok(Table {
            schema: self.clone(),
            x,
            y: target.filter(|_| !regression).map(|_| y),
            values: target.filter(|_| regression).map(|_| numbers),
            lines: raw.lines,
            digest: raw.digest,
        })
    }
}

fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn is_missing(t: &str) -> bool {
    matches!(t.trim(), "" | "NA" | "NaN" | "nan" | "?")
}

/// The values of column `name` of a CSV, by the line of their row (to key
/// predictions by an id column).
pub fn column_by_line(path: &Path, name: &str) -> Result<std::collections::HashMap<u64, String>> {
    let raw = RawCsv::read(path)?;
    let Some(c) = raw.header.iter().position(|h| h == name) else {
        return Err(Error::Data {
            path: raw.path.clone(),
            line: 1,
            message: format!(
                "no column `{name}`; the columns are {}",
                raw.header.join(", ")
            ),
        });
    };
    Ok(raw
        .lines
        .iter()
        .zip(&raw.rows)
        .map(|(line, row)| (*line, row.get(c).cloned().unwrap_or_default()))
        .collect())
}

/// Encoded rows, their classes when the table has the target column, and
/// where each row came from.
#[derive(Clone, Debug)]
pub struct Table {
    /// The columns and classes.
    pub schema: Schema,
    /// Encoded feature rows (see [`Schema::encoded_names`]).
    pub x: Vec<Vec<f64>>,
    /// Class index per row, when the target column was read.
    pub y: Option<Vec<usize>>,
    /// A regression table's target per row, when it was read.
    pub values: Option<Vec<f64>>,
    /// The CSV line of each row.
    pub lines: Vec<u64>,
    /// SHA-256 of the file's bytes, hex.
    pub digest: String,
}

impl Table {
    /// Reads a training table: every column but `target` is a feature,
    /// typed from its values.
    pub fn from_csv(path: &Path, target: &str) -> Result<Table> {
        Table::from_csv_excluding(path, target, &[])
    }

    /// [`Table::from_csv`] with the columns `exclude` left out (an id, a
    /// note); each must be a column of the file.
    pub fn from_csv_excluding(path: &Path, target: &str, exclude: &[String]) -> Result<Table> {
        Table::from_csv_for(path, target, exclude, Task::Classification)
    }

    /// [`Table::from_csv_excluding`] for a task: for regression the target
    /// is a number on every row.
    pub fn from_csv_for(
        path: &Path,
        target: &str,
        exclude: &[String],
        task: Task,
    ) -> Result<Table> {
        let raw = RawCsv::read(path)?;
        if let Some(missing) = exclude.iter().find(|e| !raw.header.contains(e)) {
            return Err(Error::Data {
                path: raw.path.clone(),
                line: 1,
                message: format!(
                    "no column `{missing}` to leave out; the columns are {}",
                    raw.header.join(", ")
                ),
            });
        }
        let Some(t) = raw.header.iter().position(|h| h == target) else {
            return Err(Error::Data {
                path: raw.path.clone(),
                line: 1,
                message: format!(
                    "no target column `{target}`; the columns are {}",
                    raw.header.join(", ")
                ),
            });
        };
        if raw.rows.is_empty() {
            return Err(Error::Data {
                path: raw.path.clone(),
                line: 1,
                message: "the table has no rows".to_string(),
            });
        }
        let mut features = Vec::new();
        for (c, name) in raw.header.iter().enumerate() {
            if c == t || exclude.contains(name) {
                continue;
            }
            let mut numeric = true;
            let mut categories = Vec::new();
            for (row, line) in raw.rows.iter().zip(&raw.lines) {
                let v = row.get(c).map(String::as_str).unwrap_or_default();
                if is_missing(v) {
                    return Err(raw.missing(*line, name));
                }
                numeric &= v.trim().parse::<f64>().is_ok_and(f64::is_finite);
                categories.push(v.to_string());
            }
            let kind = if numeric {
                FeatureKind::Numeric
            } else {
                categories.sort();
                categories.dedup();
                FeatureKind::Categorical { categories }
            };
            features.push(Feature {
                name: name.clone(),
                kind,
            });
        }
        let mut classes = Vec::new();
        if task == Task::Regression {
            let schema = Schema {
                features,
                target: target.to_string(),
                classes,
                task,
            };
            return schema.read_csv(path);
        }
        for (row, line) in raw.rows.iter().zip(&raw.lines) {
            let v = row.get(t).map(String::as_str).unwrap_or_default();
            if is_missing(v) {
                return Err(raw.missing(*line, target));
            }
            classes.push(v.to_string());
        }
        classes.sort();
        classes.dedup();
        if classes.len() < 2 {
            return Err(Error::Data {
                path: raw.path.clone(),
                line: 1,
                message: format!("the target `{target}` has one class only; nothing to learn"),
            });
        }
        let schema = Schema {
            features,
            target: target.to_string(),
            classes,
            task,
        };
        schema.read_csv(path)
    }

    /// Features that look like ids rather than properties: named `id`, or
    /// text with a different value on every row (as a one-hot feature an
    /// id only memorises the rows). Numbers are not suspected: a measured
    /// quantity is often different on every row.
    pub fn id_like_features(&self) -> Vec<&str> {
        self.schema
            .features
            .iter()
            .filter(|f| {
                f.name.eq_ignore_ascii_case("id")
                    || matches!(&f.kind, FeatureKind::Categorical { categories }
                        if self.len() > 2 && categories.len() == self.len())
            })
            .map(|f| f.name.as_str())
            .collect()
    }

    /// The class of each row (empty if the table has no target column).
    pub fn targets(&self) -> &[usize] {
        self.y.as_deref().unwrap_or_default()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The rows at `indices`, as a table of their own.
    pub fn subset(&self, indices: &[usize]) -> Table {
        Table {
            schema: self.schema.clone(),
            x: indices
                .iter()
                .filter_map(|&i| self.x.get(i).cloned())
                .collect(),
            y: self
                .y
                .as_ref()
                .map(|y| indices.iter().filter_map(|&i| y.get(i).copied()).collect()),
            values: self
                .values
                .as_ref()
                .map(|v| indices.iter().filter_map(|&i| v.get(i).copied()).collect()),
            lines: indices
                .iter()
                .filter_map(|&i| self.lines.get(i).copied())
                .collect(),
            digest: self.digest.clone(),
        }
    }
}

/// A seeded shuffle of `0..n` split into (train, test), the test part
/// `fraction` of the rows (at least one of each when n >= 2).
pub fn train_test_split(n: usize, fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::Invalid(format!(
            "--test-split must be between 0 and 1 (exclusive), got {fraction}"
        )));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let test = ((n as f64) * fraction).round() as usize;
    let test = test.clamp(1, n.saturating_sub(1));
    let train = order.split_off(test);
    Ok((train, order))
}

/// A seeded shuffle of `0..n` cut into `k` folds: (train, test) per fold.
pub fn k_folds(n: usize, k: usize, seed: u64) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    if k < 2 || k > n {
        return Err(Error::Invalid(format!(
            "--folds must be between 2 and the number of rows ({n}), got {k}"
        )));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    Ok((0..k)
        .map(|f| {
            let in_fold = |i: &usize| i % k == f;
            let pick = |test: bool| -> Vec<usize> {
                order
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| in_fold(i) == test)
                    .map(|(_, &r)| r)
                    .collect()
            };
            (pick(false), pick(true))
        })
        .collect())
}

/// A CSV read whole: header, rows as text, the line of each row.
struct RawCsv {
    path: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    lines: Vec<u64>,
    digest: String,
}

impl RawCsv {
    fn read(path: &Path) -> Result<RawCsv> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        let digest = format!("{:x}", Sha256::digest(&bytes));
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(bytes.as_slice());
        let bytes = bytes.as_slice();
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(&shown, &e))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        let mut counter = Lines::new(bytes);
        for record in reader.records() {
            let record = record.map_err(|e| csv_error(&shown, &e))?;
            let line = record
                .position()
                .map_or(0, |p| counter.line_of(p.byte() as usize));
            if record.len() != header.len() {
                return Err(Error::Data {
                    path: shown,
                    line,
                    message: format!(
                        "{} fields where the header has {}",
                        record.len(),
                        header.len()
                    ),
                });
            }
            rows.push(record.iter().map(str::to_string).collect());
            lines.push(line);
        }
        Ok(RawCsv {
            path: shown,
            header,
            rows,
            lines,
            digest,
        })
    }

    fn missing(&self, line: u64, column: &str) -> Error {
        Error::Data {
            path: self.path.clone(),
            line,
            message: format!(
                "missing value in column `{column}` (nesy does not impute: fill or drop the row)"
            ),
        }
    }
}

/// The 1-based line a record starting at byte `at` is on.
pub fn line_of(bytes: &[u8], at: usize) -> u64 {
    Lines::new(bytes).line_of(at)
}

fn csv_error(path: &str, e: &csv::Error) -> Error {
    Error::Data {
        path: path.to_string(),
        line: e.position().map_or(1, |p| p.line()),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_seeded_and_disjoint() {
        let (a, b) = train_test_split(10, 0.3, 7).unwrap();
        assert_eq!((a.len(), b.len()), (7, 3));
        assert_eq!(
            train_test_split(10, 0.3, 7).unwrap(),
            (a.clone(), b.clone())
        );
        assert_ne!(
            train_test_split(10, 0.3, 8).unwrap(),
            (a.clone(), b.clone())
        );
        let mut all: Vec<usize> = a.into_iter().chain(b).collect();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        let folds = k_folds(10, 3, 1).unwrap();
        assert_eq!(folds.len(), 3);
        let mut tests: Vec<usize> = folds.iter().flat_map(|(_, t)| t.clone()).collect();
        tests.sort();
        assert_eq!(tests, (0..10).collect::<Vec<_>>());
        assert!(k_folds(10, 1, 1).is_err());
        assert!(train_test_split(10, 1.0, 1).is_err());
    }

    #[test]
    fn categorical_features_are_one_hot() {
        let schema = Schema {
            features: vec![
                Feature {
                    name: "x".into(),
                    kind: FeatureKind::Numeric,
                },
                Feature {
                    name: "colour".into(),
                    kind: FeatureKind::Categorical {
                        categories: vec!["blue".into(), "red".into()],
                    },
                },
            ],
            target: "y".into(),
            classes: vec!["a".into(), "b".into()],
            task: Task::Classification,
        };
        assert_eq!(schema.encoded_names(), ["x", "colour=blue", "colour=red"]);
        let row = schema
            .encode(&[FeatureValue::Number(2.5), FeatureValue::Text("red".into())])
            .unwrap();
        assert_eq!(row, [2.5, 0.0, 1.0]);
        let unseen = schema
            .encode(&[
                FeatureValue::Number(1.0),
                FeatureValue::Text("green".into()),
            ])
            .unwrap();
        assert_eq!(unseen, [1.0, 0.0, 0.0]);
        assert!(schema.encode(&[FeatureValue::Number(1.0)]).is_err());
        assert!(
            schema
                .encode(&[
                    FeatureValue::Text("x".into()),
                    FeatureValue::Text("red".into())
                ])
                .is_err()
        );
    }
}
