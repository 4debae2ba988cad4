//! Relation names: the keys they are known by (a prefixed name and its
//! IRI are one relation).

use crate::ir::RelId;
use rustc_hash::FxHashMap;

/// Relation names: as written, or expanded through the prefixes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Names {
    pub(crate) by_key: FxHashMap<String, RelId>,
    pub(crate) prefixes: FxHashMap<String, String>,
}

impl Names {
    /// The key of a relation name: `ex:p` becomes `<http://...p>` when the
    /// prefix is known, so both spellings name one relation.
    pub(crate) fn key(&self, text: &str) -> String {
        let text = text.trim();
        // Turtle's shorthand: `a(X, C)` is `rdf:type(X, C)`.
        if text == "a" {
            return "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>".to_string();
        }
        match text.split_once(':') {
            Some((prefix, local)) if !text.starts_with('<') => {
                let ns = self.prefixes.get(prefix).map(String::as_str).or_else(|| {
                    nesy_lang::BUILTIN_PREFIXES
                        .iter()
                        .find(|(p, _)| *p == prefix)
                        .map(|(_, ns)| *ns)
                });
                match ns {
                    Some(ns) => format!("<{ns}{local}>"),
                    None => text.to_string(),
                }
            }
            _ => text.to_string(),
        }
    }

    pub(crate) fn lookup(&self, text: &str) -> Option<RelId> {
        self.by_key.get(&self.key(text)).copied()
    }
}
