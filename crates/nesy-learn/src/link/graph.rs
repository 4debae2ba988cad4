//! Triples as ids: entities and relations numbered in sorted order.

use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::path::Path;

/// `(head, relation, tail)` as ids.
pub type Triple = (u32, u32, u32);

/// Entity and relation names, sorted; an id is a position here.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vocab {
    /// Entity names.
    pub entities: Vec<String>,
    /// Relation names.
    pub relations: Vec<String>,
}

impl Vocab {
    /// The vocabulary of the given triples (names).
    pub fn of(files: &[&[(String, String, String)]]) -> Vocab {
        let mut entities = BTreeSet::new();
        let mut relations = BTreeSet::new();
        for file in files {
            for (h, r, t) in file.iter() {
                entities.insert(h.clone());
                entities.insert(t.clone());
                relations.insert(r.clone());
            }
        }
        Vocab {
            entities: entities.into_iter().collect(),
            relations: relations.into_iter().collect(),
        }
    }

    /// An entity's id.
    pub fn entity(&self, name: &str) -> Option<u32> {
        self.entities
            .binary_search_by(|e| e.as_str().cmp(name))
            .ok()
            .map(|i| i as u32)
    }

    /// A relation's id.
    pub fn relation(&self, name: &str) -> Option<u32> {
        self.relations
            .binary_search_by(|e| e.as_str().cmp(name))
            .ok()
            .map(|i| i as u32)
    }

    /// Name triples as ids; those with a name outside the vocabulary are
    /// returned apart.
    pub fn ids(&self, triples: &[(String, String, String)]) -> (Vec<Triple>, usize) {
        let mut out = Vec::new();
        let mut unknown = 0;
        for (h, r, t) in triples {
            match (self.entity(h), self.relation(r), self.entity(t)) {
                (Some(h), Some(r), Some(t)) => out.push((h, r, t)),
                _ => unknown += 1,
            }
        }
        (out, unknown)
    }
}

/// Reads `head<TAB>relation<TAB>tail` lines (the pykeen/LibKGE layout;
/// blank lines skipped).
pub fn read_tsv(path: &Path) -> Result<Vec<(String, String, String)>> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: shown.clone(),
        source,
    })?;
    // A byte-order mark (spreadsheet exports) is not part of the first name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('\t').collect();
        match parts.as_slice() {
            [h, r, t] if !h.is_empty() && !r.is_empty() && !t.is_empty() => {
                out.push((h.to_string(), r.to_string(), t.to_string()))
            }
            _ => {
                return Err(Error::Data {
                    path: shown,
                    line: i as u64 + 1,
                    message: format!(
                        "expected head<TAB>relation<TAB>tail, found {} field(s)",
                        parts.len()
                    ),
                });
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Data {
            path: shown,
            line: 1,
            message: "no triples".to_string(),
        });
    }
    Ok(out)
}

/// The training graph, indexed both ways for walking paths.
#[derive(Clone, Debug)]
pub struct TripleIndex {
    /// Number of entities.
    pub entities: usize,
    /// Number of relations.
    pub relations: usize,
    /// The triples.
    pub triples: Vec<Triple>,
    /// `out[e]`: `(relation, tail)` of each triple with head `e`, sorted.
    pub out: Vec<Vec<(u32, u32)>>,
    /// `inn[e]`: `(relation, head)` of each triple with tail `e`, sorted.
    pub inn: Vec<Vec<(u32, u32)>>,
}

impl TripleIndex {
    /// Indexes triples over a vocabulary's entities and relations.
    pub fn new(vocab: &Vocab, triples: Vec<Triple>) -> TripleIndex {
        let n = vocab.entities.len();
        let mut out = vec![Vec::new(); n];
        let mut inn = vec![Vec::new(); n];
        for &(h, r, t) in &triples {
            if let Some(o) = out.get_mut(h as usize) {
                o.push((r, t));
            }
            if let Some(i) = inn.get_mut(t as usize) {
                i.push((r, h));
            }
        }
        for v in out.iter_mut().chain(inn.iter_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        TripleIndex {
            entities: n,
            relations: vocab.relations.len(),
            triples,
            out,
            inn,
        }
    }

    /// Whether `(h, r, t)` is in the graph.
    pub fn contains(&self, h: u32, r: u32, t: u32) -> bool {
        self.out
            .get(h as usize)
            .is_some_and(|o| o.binary_search(&(r, t)).is_ok())
    }

    /// The entities one step from `e` along `relation` (backwards when
    /// `inverse`).
    pub fn step(&self, e: u32, relation: u32, inverse: bool) -> impl Iterator<Item = u32> + '_ {
        let edges = if inverse { &self.inn } else { &self.out };
        let list = edges.get(e as usize).map(Vec::as_slice).unwrap_or_default();
        let start = list.partition_point(|&(r, _)| r < relation);
        list.get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(move |&&(r, _)| r == relation)
            .map(|&(_, x)| x)
    }
}
