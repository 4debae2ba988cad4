//! The decision log: one JSON line per decision, with the masked fields
//! written as `"***"` wherever they appear, and the input identified by a
//! keyed hash that cannot be reversed without the key.
//!
//! A field named in `--mask` is masked by name in object rows, and by its
//! position (from the relation's `@decl`) in array rows and in the
//! decision's results; `relation.N` masks position N of a relation
//! without a declaration, and a relation's own name masks all its values.
//! An unkeyed hash of the input would give the masked values away (income
//! and debt were recovered from one in seconds by trying values), so the
//! hash is an HMAC-SHA256 under a key the operator supplies, or absent.

use hmac::{Hmac, Mac};
use nesy::{Decision, EngineInfo, Input, Row};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Written in place of a masked value.
const MASKED: &str = "***";

/// Which values of which relations are masked.
#[derive(Debug, Default)]
pub(crate) struct Masks {
    /// Field names, masked by name in object rows.
    names: BTreeSet<String>,
    /// Per relation, the positions masked in array rows and results.
    positions: BTreeMap<String, BTreeSet<usize>>,
    /// Relations all of whose values are masked.
    whole: BTreeSet<String>,
}

impl Masks {
    /// The masks `--mask` names, resolved against the program's
    /// declarations.
    pub(crate) fn new(mask: &[String], info: &EngineInfo) -> Masks {
        let mut masks = Masks::default();
        for entry in mask {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            if let Some((relation, n)) = entry.rsplit_once('.')
                && let Ok(n) = n.parse::<usize>()
            {
                masks
                    .positions
                    .entry(relation.to_string())
                    .or_default()
                    .insert(n);
                continue;
            }
            masks.names.insert(entry.to_string());
            if info.relations.contains_key(entry) {
                masks.whole.insert(entry.to_string());
            }
            for (relation, fields) in &info.declared {
                for (i, field) in fields.iter().enumerate() {
                    if field == entry {
                        masks
                            .positions
                            .entry(relation.clone())
                            .or_default()
                            .insert(i);
                    }
                }
            }
        }
        masks
    }

    fn hides(&self, relation: &str, position: usize) -> bool {
        self.whole.contains(relation)
            || self
                .positions
                .get(relation)
                .is_some_and(|p| p.contains(&position))
    }

    /// Values in argument order, those masked replaced.
    fn positional<'v>(&self, relation: &str, values: impl Iterator<Item = Value> + 'v) -> Value {
        Value::Array(
            values
                .enumerate()
                .map(|(i, v)| {
                    if self.hides(relation, i) {
                        json!(MASKED)
                    } else {
                        v
                    }
                })
                .collect(),
        )
    }

    /// A row of `relation` with its masked values replaced.
    fn row(&self, relation: &str, row: &Row) -> Value {
        match row {
            Row::Values(values) => self.positional(relation, values.iter().cloned()),
            Row::Typed(values) => {
                self.positional(relation, values.iter().map(|v| json!(v.to_string())))
            }
            Row::Fields(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| {
                        let hidden = self.whole.contains(relation) || self.names.contains(k);
                        (k.clone(), if hidden { json!(MASKED) } else { v.clone() })
                    })
                    .collect(),
            ),
        }
    }

    /// The input with its masked values replaced.
    fn input(&self, input: &Input) -> Value {
        Value::Object(
            input
                .0
                .iter()
                .map(|(relation, rows)| {
                    (
                        relation.clone(),
                        Value::Array(rows.iter().map(|r| self.row(relation, r)).collect()),
                    )
                })
                .collect(),
        )
    }

    /// A decision's results, masked as rows of the decision relation.
    fn results(&self, decision: &Decision) -> Value {
        Value::Array(
            decision
                .results
                .iter()
                .map(|r| {
                    let args = self.positional(&decision.decision, r.args.iter().map(|v| json!(v)));
                    json!({"args": args, "probability": r.probability})
                })
                .collect(),
        )
    }
}

/// The keyed hash of an input: HMAC-SHA256 of its JSON, hex.
fn keyed_hash(key: &[u8], input: &Input) -> Option<String> {
    let raw = serde_json::to_vec(input).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(&raw);
    Some(
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

/// One log line.
pub(crate) fn line(
    id: &str,
    decision: &Decision,
    input: &Input,
    masks: &Masks,
    key: Option<&[u8]>,
    latency: Duration,
) -> Value {
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut line = json!({
        "id": id,
        "time_ms": time,
        "decision": decision.decision,
        "input": masks.input(input),
        "results": masks.results(decision),
        "rules_used": decision.rules_used,
        "latency_us": latency.as_micros() as u64,
    });
    if let (Some(key), Some(obj)) = (key, line.as_object_mut())
        && let Some(hash) = keyed_hash(key, input)
    {
        obj.insert("input_hmac_sha256".to_string(), json!(hash));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> EngineInfo {
        let mut info = EngineInfo::default();
        info.relations.insert("applicant".to_string(), 3);
        info.relations.insert("income".to_string(), 2);
        info.declared.insert(
            "applicant".to_string(),
            vec!["id".to_string(), "income".to_string(), "debt".to_string()],
        );
        info
    }

    #[test]
    fn fields_are_masked_by_name_and_by_position() {
        let masks = Masks::new(&["income".to_string(), "debt".to_string()], &info());
        let input: Input = serde_json::from_value(json!({
            "applicant": [["c1", 123456, 7777], {"id": "c2", "income": 654321, "debt": 8888}],
            "income": [["c3", 42424]]
        }))
        .unwrap();
        let shown = masks.input(&input).to_string();
        for secret in ["123456", "7777", "654321", "8888", "42424", "c3"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("c1") && shown.contains("c2"));
    }

    #[test]
    fn the_hash_needs_the_key() {
        let input: Input = serde_json::from_value(json!({"applicant": [["c1", 1, 2]]})).unwrap();
        let a = keyed_hash(b"key one", &input).unwrap();
        let b = keyed_hash(b"key two", &input).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
    }
}
