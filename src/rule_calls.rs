//! A rule file from `nesy train rules` (mined or with learned weights) as a
//! `@model`: `kin.score(R, H, T)` and `kin.top(R, H, K)`, as an embedding
//! answers them, scored the way `nesy eval link` scores the file (its
//! `// aggregate:` line) on the graph it imports as `kg`.
//!
//! ```nesy
//! @model kin = "learned.nesy".
//! close(X, Y, P) :- person(X), person(Y), P = kin.score(term12, X, Y), P > 0.5.
//! ```
//!
//! `nesy explain` shows a call with the score, the rule that contributes
//! most and one path of it through the graph.

use crate::error::Error;
use crate::model_files::{entity_like, link_signature, value_text};
use nesy_engine::{ForeignPredicate, ModelExplanation, ModelOutput, Signature, Value};
use nesy_lang::ast::{ImportSource, Item};
use nesy_learn::link::rules::{self, RuleSet};
use nesy_learn::link::{Direction, TripleIndex, Vocab, graph};
use std::path::Path;

/// A rule set applied to its training graph, answering model calls.
pub(crate) struct RuleCalls {
    path: String,
    rules: RuleSet,
    vocab: Vocab,
}

/// Reads a rule file and the `kg` triples it imports (checked by `check`,
/// the caller's read policy, before anything is read).
pub(crate) fn load(
    path: &Path,
    shown: &str,
    check: impl Fn(&Path) -> Result<std::path::PathBuf, Error>,
    location: &nesy_lang::Location,
) -> Result<RuleCalls, Error> {
    let failed = |message: String| Error::Model {
        location: location.clone(),
        message: format!("`{shown}`: {message}"),
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    let parsed = nesy_lang::parse(&text);
    let import = parsed.program.items.iter().find_map(|item| match item {
        Item::Import(decl) if decl.relation.as_ref().is_some_and(|r| r.text == "kg") => {
            match &decl.source {
                ImportSource::File(file) => Some(file.value.clone()),
                _ => None,
            }
        }
        _ => None,
    });
    let Some(import) = import else {
        return Err(failed(
            "a rule model imports its graph as `@import kg from \"T.tsv\".` (as `nesy train rules` writes it)"
                .to_string(),
        ));
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let graph_path = check(&dir.join(&import))?;
    let named = graph::read_tsv(&graph_path).map_err(|e| failed(e.to_string()))?;
    let vocab = Vocab::of(&[&named]);
    let (triples, _) = vocab.ids(&named);
    let (found, _) = rules::from_nesy(&text, &vocab).map_err(|e| failed(e.to_string()))?;
    let aggregate = rules::aggregate_of(&text).map_err(failed)?;
    Ok(RuleCalls {
        path: shown.to_string(),
        rules: RuleSet::new(found, TripleIndex::new(&vocab, triples)).with_aggregate(aggregate),
        vocab,
    })
}

impl RuleCalls {
    fn ids(&self, relation: &Value, head: &Value) -> Option<(u32, u32)> {
        let relation = value_text(relation);
        // By the graph's name or the rule file's relation name.
        let r = self.vocab.relation(&relation).or_else(|| {
            self.vocab
                .relations
                .iter()
                .position(|n| rules::relation_name(n) == relation)
                .map(|i| i as u32)
        })?;
        Some((r, self.vocab.entity(&value_text(head))?))
    }

    /// Candidates with their scores (in [0, 1]) and best rules.
    fn scored(&self, h: u32, r: u32) -> Vec<(u32, f64, usize)> {
        self.rules
            .predict(h, r, Direction::Tail)
            .into_iter()
            .map(|(c, s, rule)| (c, s.min(1.0), rule))
            .collect()
    }
}

impl ForeignPredicate for RuleCalls {
    fn describe(&self) -> String {
        format!(
            "{} rules ({}) {}",
            self.rules.rules.len(),
            self.rules.aggregate.name(),
            self.path
        )
    }

    fn signature(&self, method: &str) -> Result<Signature, String> {
        link_signature(method, "a rule model")
    }

    fn call(&self, method: &str, inputs: &[Value]) -> Result<Vec<ModelOutput>, String> {
        let [relation, head, third] = inputs else {
            return Err("expected three inputs".to_string());
        };
        let Some((r, h)) = self.ids(relation, head) else {
            return Ok(Vec::new());
        };
        let scored = self.scored(h, r);
        match method {
            "score" => {
                let Some(t) = self.vocab.entity(&value_text(third)) else {
                    return Ok(Vec::new());
                };
                let p = scored.iter().find(|(c, _, _)| *c == t).map_or(0.0, |x| x.1);
                Ok(vec![ModelOutput {
                    values: vec![Value::float(p)],
                    probability: p,
                }])
            }
            _ => {
                let k = match third {
                    Value::Int(k) if *k >= 0 => *k as usize,
                    other => return Err(format!("K must be a non-negative integer, got {other}")),
                };
                let mut ranked = scored;
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                Ok(ranked
                    .into_iter()
                    .take(k)
                    .filter_map(|(e, p, _)| {
                        let name = self.vocab.entities.get(e as usize)?;
                        Some(ModelOutput {
                            values: vec![entity_like(head, name)],
                            probability: p,
                        })
                    })
                    .collect())
            }
        }
    }

    fn explain(&self, method: &str, inputs: &[Value]) -> Option<ModelExplanation> {
        let [relation, head, third] = inputs else {
            return None;
        };
        let (r, h) = self.ids(relation, head)?;
        let scored = self.scored(h, r);
        match method {
            "score" => {
                let t = self.vocab.entity(&value_text(third))?;
                let Some(&(_, s, rule)) = scored.iter().find(|(c, _, _)| *c == t) else {
                    return Some(ModelExplanation {
                        text: "no rule predicts it: score 0".to_string(),
                        detail: serde_json::json!({"score": 0.0, "rule": null, "path": []}),
                    });
                };
                let text_of =
                    |x: &nesy_learn::link::rules::Rule| RuleSet::rule_text(x, &self.vocab);
                let rule_text = self.rules.rules.get(rule).map(text_of).unwrap_or_default();
                let path: Vec<String> = self
                    .rules
                    .path(rule, h, t, Direction::Tail)
                    .into_iter()
                    .filter_map(|e| self.vocab.entities.get(e as usize).cloned())
                    .collect();
                let rank = 1 + scored.iter().filter(|x| x.1 > s).count();
                Some(ModelExplanation {
                    text: format!(
                        "score {s:.4} ({}), rank {rank} of {} predicted tails; most by {rule_text} via {}",
                        self.rules.aggregate.name(),
                        scored.len(),
                        path.join(" -> ")
                    ),
                    detail: serde_json::json!({
                        "score": s,
                        "aggregate": self.rules.aggregate.name(),
                        "rank": rank,
                        "rule": rule_text,
                        "path": path,
                    }),
                })
            }
            _ => Some(ModelExplanation {
                text: format!(
                    "the top {third} of {} tails the rules predict ({})",
                    scored.len(),
                    self.rules.aggregate.name()
                ),
                detail: serde_json::json!({"predicted": scored.len()}),
            }),
        }
    }
}
