//! A program evaluated once, answering many requests that each add a few
//! facts: only the relations that depend on the added facts are derived
//! again; every other relation is taken as the base evaluation left it.
//!
//! ```
//! use nesy_engine::{Limits, Program, Value};
//! let checked = nesy_lang::check_source("r.nesy", "
//!     @decl applicant(id: symbol, income: int).
//!     blacklisted(a2).
//!     rich(A) :- applicant(A, I), I > 50000, not blacklisted(A).
//! ");
//! let mut program = Program::new();
//! program.add_source(&checked.source, &checked.program)?;
//! let prepared = program.prepare(&Limits::default())?;
//! let result = prepared.evaluate_with(
//!     &[("applicant".to_string(), vec![Value::symbol("a1"), Value::Int(90000)])],
//!     &Limits::default(),
//! )?;
//! assert!(result.contains("rich", &[Value::symbol("a1")]));
//! // `blacklisted` does not depend on the input: it was not derived again.
//! assert_eq!(prepared.rederived(&["applicant"]), ["applicant", "rich"]);
//! # Ok::<(), nesy_engine::Error>(())
//! ```

use crate::Error;
use crate::eval::{self, Limits};
use crate::ir::{RelationInfo, Rule};
use crate::program::Program;
use crate::result::Evaluation;
use crate::split;
use crate::value::{Interner, Value};
use std::sync::Arc;

/// A program and its base evaluation, ready for requests.
pub struct Prepared {
    program: Program,
    relations: Vec<RelationInfo>,
    rules: Vec<Rule>,
    base: Evaluation,
    interner: Arc<Interner>,
}

impl Program {
    /// Evaluates the program once for [`Prepared::evaluate_with`].
    pub fn prepare(&self, limits: &Limits) -> Result<Prepared, Error> {
        let base = self.evaluate(limits)?;
        let mut relations = self.relations.clone();
        let rules = split::split_rules(&mut relations, &self.rules);
        Ok(Prepared {
            interner: Arc::new(base.interner.clone()),
            program: self.clone(),
            relations,
            rules,
            base,
        })
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("relations", &self.relations.len())
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// The base evaluation (no request facts).
    pub fn base(&self) -> &Evaluation {
        &self.base
    }

    /// The program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Ids of the relations derived again when facts of `inputs` are added:
    /// the inputs and everything that depends on them.
    fn dirty(&self, inputs: &[usize]) -> Vec<bool> {
        let mut dirty = vec![false; self.relations.len()];
        for &r in inputs {
            if let Some(d) = dirty.get_mut(r) {
                *d = true;
            }
        }
        loop {
            let mut changed = false;
            for rule in &self.rules {
                if dirty.get(rule.head).copied().unwrap_or(true) {
                    continue;
                }
                if rule
                    .dependencies()
                    .iter()
                    .any(|(r, _)| dirty.get(*r).copied().unwrap_or(false))
                {
                    if let Some(d) = dirty.get_mut(rule.head) {
                        *d = true;
                    }
                    changed = true;
                }
            }
            if !changed {
                return dirty;
            }
        }
    }

    /// The names of the relations an input to `relations` makes derive
    /// again (internal helper relations left out), sorted.
    pub fn rederived(&self, relations: &[&str]) -> Vec<String> {
        let ids: Vec<usize> = relations
            .iter()
            .filter_map(|r| self.program.names.lookup(r))
            .collect();
        let mut out: Vec<String> = self
            .dirty(&ids)
            .iter()
            .enumerate()
            .filter(|(_, d)| **d)
            .filter_map(|(r, _)| self.relations.get(r).map(|i| i.name.clone()))
            .filter(|n| !n.starts_with(split::INTERNAL))
            .collect();
        out.sort();
        out
    }

    /// Evaluates with `input` facts added (`(relation, values)`): the
    /// relations that depend on them are derived from the program's facts
    /// plus the input; every other relation keeps its base tuples.
    pub fn evaluate_with(
        &self,
        input: &[(String, Vec<Value>)],
        limits: &Limits,
    ) -> Result<Evaluation, Error> {
        let mut interner = Interner::layered(Arc::clone(&self.interner));
        let mut extra: Vec<Vec<u32>> = vec![Vec::new(); self.relations.len()];
        let mut inputs = Vec::new();
        for (name, values) in input {
            let Some(rel) = self.program.names.lookup(name) else {
                return Err(Error::UnknownRelation(name.clone()));
            };
            let arity = self.relations.get(rel).map_or(0, |r| r.arity);
            if arity != usize::MAX && arity != values.len() {
                return Err(Error::Arity {
                    relation: name.clone(),
                    expected: arity,
                    found: values.len(),
                    location: None,
                });
            }
            let row: Vec<u32> = values.iter().map(|v| interner.intern(v.clone())).collect();
            if let Some(rows) = extra.get_mut(rel) {
                if row.is_empty() {
                    rows.push(0);
                } else {
                    rows.extend(row);
                }
            }
            inputs.push(rel);
        }
        let dirty = self.dirty(&inputs);
        let is_dirty = |r: usize| dirty.get(r).copied().unwrap_or(false);
        // Dirty relations start from the program's facts plus the input;
        // the others are the base evaluation's finished stores, copied
        // as they are (no sorting or indexing again).
        let facts: Vec<Vec<u32>> = (0..self.relations.len())
            .map(|r| {
                if is_dirty(r) {
                    let mut f = self.program.facts.get(r).cloned().unwrap_or_default();
                    f.extend(extra.get(r).map(Vec::as_slice).unwrap_or_default());
                    f
                } else {
                    Vec::new()
                }
            })
            .collect();
        let seeds: Vec<Option<crate::storage::Store>> = (0..self.relations.len())
            .map(|r| {
                if is_dirty(r) {
                    None
                } else {
                    self.base.stores.get(r).cloned()
                }
            })
            .collect();
        let rules: Vec<Rule> = self
            .rules
            .iter()
            .filter(|r| dirty.get(r.head).copied().unwrap_or(false))
            .cloned()
            .collect();
        let outcome =
            eval::evaluate_seeded(&self.relations, &rules, &facts, seeds, interner, limits)?;
        Ok(Evaluation::assemble(
            self.program.names.clone(),
            self.relations.clone(),
            &self.rules,
            outcome,
        ))
    }
}
