//! A CART tree as nesy rules: one weighted rule per leaf.

use crate::table::{FeatureKind, Schema};
use crate::tree::{Tree, argmax, smoothed};
use std::fmt::Write;

/// The rules for `tree`: `name(Id, Class)` holds, with the leaf's
/// probability of `Class` as the rule's weight (smoothed by
/// `leaf_smoothing`, as the model's predictions are), for each row
/// `input(Id, feature, ...)` that reaches the leaf. Under any semiring the
/// one rule that fires for a row gives the tree's class and probability.
pub fn tree_rules(
    tree: &Tree,
    schema: &Schema,
    leaf_smoothing: f64,
    name: &str,
    input: &str,
    source: &str,
) -> String {
    let vars = variable_names(schema);
    let columns = schema.encoded_columns();
    let classes = schema.classes.len();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// Exported from {source}: a CART tree, one rule per leaf."
    );
    let _ = writeln!(
        out,
        "// Input: {input}(Id, {}), one row per case.",
        schema
            .features
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "// Output: {name}(Id, Class), weighted by the leaf's share of Class among\n// the training rows that reached it ({}).",
        schema.classes.join(", ")
    );
    // The input is declared: its facts come from another file or at run
    // time, and the declaration types them.
    let fields: Vec<String> = schema
        .features
        .iter()
        .map(|f| {
            let ty = match f.kind {
                crate::table::FeatureKind::Numeric => "number",
                crate::table::FeatureKind::Categorical { .. } => "string",
            };
            format!("{}: {ty}", field_name(&f.name))
        })
        .collect();
    let _ = writeln!(out, "@decl {input}(id: any, {}).", fields.join(", "));
    for (i, (tests, counts)) in tree.leaves().iter().enumerate() {
        let p = smoothed(counts, classes, leaf_smoothing);
        let class = argmax(&p);
        let weight = p.get(class).copied().unwrap_or(0.0);
        let class_name = schema.classes.get(class).cloned().unwrap_or_default();
        let rows: f64 = counts.iter().sum();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "// leaf {i}: {rows} training rows, {}",
            schema
                .classes
                .iter()
                .zip(counts)
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(out, "@name({name}_leaf_{i})");
        // Features no test of this leaf reads are written `_Name`: named
        // for the reader, and no singleton-variable warning.
        let tested: Vec<usize> = tests
            .iter()
            .filter_map(|&(column, _, _)| columns.get(column).map(|&(feature, _)| feature))
            .collect();
        let args: Vec<String> = vars
            .iter()
            .enumerate()
            .map(|(f, v)| {
                if tested.contains(&f) {
                    v.clone()
                } else {
                    format!("_{v}")
                }
            })
            .collect();
        let mut body = vec![format!("{input}(Id, {})", args.join(", "))];
        for &(column, goes_left, threshold) in tests {
            let Some(&(feature, category)) = columns.get(column) else {
                continue;
            };
            let var = vars.get(feature).cloned().unwrap_or_default();
            match category {
                // One-hot column: < 0.5 means "not this category".
                Some(cat) => body.push(format!(
                    "{var} {} {}",
                    if goes_left { "!=" } else { "=" },
                    string_literal(cat)
                )),
                None => body.push(format!(
                    "{var} {} {}",
                    if goes_left { "<" } else { ">=" },
                    number_literal(threshold)
                )),
            }
        }
        let _ = writeln!(
            out,
            "{} :: {name}(Id, {}) :-\n    {}.",
            number_literal(weight),
            string_literal(&class_name),
            body.join(",\n    ")
        );
    }
    out
}

/// A feature's name as a declaration's field name: lowercase letters,
/// digits and `_`, starting with a letter.
fn field_name(feature: &str) -> String {
    let mut name: String = feature
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert(0, 'f');
    }
    name
}

/// `sepal_length` -> `SepalLength`: a variable per feature, unique.
fn variable_names(schema: &Schema) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in &schema.features {
        let mut v: String = f
            .name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|p| !p.is_empty())
            .map(|p| {
                let mut chars = p.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect();
        if v.is_empty() || v.starts_with(|c: char| c.is_ascii_digit()) || v == "Id" {
            v = format!("F{v}");
        }
        let mut unique = v.clone();
        let mut n = 2;
        while out.contains(&unique) {
            unique = format!("{v}{n}");
            n += 1;
        }
        out.push(unique);
    }
    if schema
        .features
        .iter()
        .any(|f| matches!(f.kind, FeatureKind::Categorical { .. }))
    {
        // Nothing else to do: categorical variables compare with strings.
    }
    out
}

fn string_literal(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A float literal that reads back to exactly this value (Rust's shortest
/// round-trip form; nesy reads exponents).
fn number_literal(x: f64) -> String {
    format!("{x:?}")
}
