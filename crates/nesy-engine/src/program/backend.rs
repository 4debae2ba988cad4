//! The program as another backend reads it ([`Program::compiled`]), and
//! an [`Evaluation`] made from the rows such a backend derived
//! ([`Program::evaluation_from_rows`]), so that queries, output and tests
//! work the same whichever backend evaluated.

use crate::Error;
use crate::eval::{self, Outcome, Stats};
use crate::ir::{RelId, RelationInfo, Rule};
use crate::program::Program;
use crate::result::Evaluation;
use crate::storage::Store;
use crate::value::{Interner, Value};
use std::sync::Arc;
use std::time::Duration;

/// A program's compiled relations, rules and facts, borrowed.
pub struct Compiled<'p> {
    /// Every relation, by id.
    pub relations: &'p [RelationInfo],
    /// Every rule, as written (not split for the native planner).
    pub rules: &'p [Rule],
    /// The base facts, per relation: flat rows of interned ids.
    pub facts: &'p [Vec<u32>],
    /// The values of the ids in `facts` and in the rules' constants.
    pub interner: &'p Interner,
    /// The relations in strata, each after those it reads; negation and
    /// aggregation only read earlier strata.
    pub strata: Vec<Vec<RelId>>,
    /// Relations some rule derives.
    pub derived: Vec<bool>,
}

impl Program {
    /// The compiled program, for a backend other than the native one.
    /// Fails when negation or an aggregate goes through recursion.
    pub fn compiled(&self) -> Result<Compiled<'_>, Error> {
        Ok(Compiled {
            relations: &self.relations,
            rules: &self.rules,
            facts: &self.facts,
            interner: &self.interner,
            strata: eval::strata(self.relations.len(), &self.rules)?,
            derived: (0..self.relations.len())
                .map(|r| self.rules.iter().any(|rule| rule.head == r))
                .collect(),
        })
    }

    /// The evaluation whose relations hold `rows` (per relation id, as
    /// [`Program::compiled`] numbers them; a relation left out is empty),
    /// evaluated in `time` by another backend.
    pub fn evaluation_from_rows(
        &self,
        rows: Vec<Vec<Vec<Value>>>,
        time: Duration,
    ) -> Result<Evaluation, Error> {
        let mut interner = Interner::layered(Arc::clone(&self.interner));
        let mut stores: Vec<Store> = self
            .relations
            .iter()
            .map(|r| Store::new(r.stored_arity()))
            .collect();
        for (relation, rows) in rows.into_iter().enumerate() {
            let (Some(store), Some(info)) =
                (stores.get_mut(relation), self.relations.get(relation))
            else {
                return Err(Error::Compile {
                    location: None,
                    message: format!("rows for relation {relation}, which the program lacks"),
                });
            };
            for row in rows {
                if row.len() != info.stored_arity() {
                    return Err(Error::Compile {
                        location: None,
                        message: format!(
                            "a row of {} values for `{}`, which has {}",
                            row.len(),
                            info.name,
                            info.stored_arity()
                        ),
                    });
                }
                if row.is_empty() {
                    store.to_add.push(0);
                }
                for value in row {
                    let id = interner.intern(value);
                    store.to_add.push(id);
                }
            }
        }
        for store in &mut stores {
            store.advance();
        }
        Ok(Evaluation::assemble(
            self.names.clone(),
            self.relations.clone(),
            &self.rules,
            Outcome {
                stores,
                interner,
                stats: Stats {
                    time,
                    ..Stats::default()
                },
            },
        ))
    }
}
