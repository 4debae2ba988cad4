//! What an evaluation gives back: relations, query answers, test results.

use crate::Limits;
use crate::eval::{self, Stats};
use crate::ir::{RelationInfo, Rule};
use crate::program::{Names, Query};
use crate::storage::{Store, sort_dedup};
use crate::value::{Interner, Value};
use crate::{Error, split};
use nesy_lang::Location;
use serde::Serialize;

/// The relations a program derives.
pub struct Evaluation {
    names: Names,
    pub(crate) relations: Vec<RelationInfo>,
    derived: Vec<bool>,
    pub(crate) stores: Vec<Store>,
    pub(crate) interner: Interner,
    stats: Stats,
}

/// A relation's rows, sorted by value (numbers by value, then text).
#[derive(Clone, Debug, PartialEq)]
pub struct Relation {
    /// The name as written in the rules.
    pub name: String,
    /// Number of columns.
    pub arity: usize,
    /// Rows one after the other (flat, to keep big relations compact).
    values: Vec<Value>,
    len: usize,
}

impl Relation {
    /// Every value of every row, to rewrite in place (for output, such as
    /// IRIs written with prefixes).
    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, Value> {
        self.values.iter_mut()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows, in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[Value]> + '_ {
        (0..self.len).map(move |i| {
            self.values
                .get(i * self.arity..(i + 1) * self.arity)
                .unwrap_or_default()
        })
    }

    /// Whether `row` is one of the rows.
    pub fn contains(&self, row: &[Value]) -> bool {
        if self.arity == 0 {
            return row.is_empty() && self.len > 0;
        }
        let rows: Vec<&[Value]> = self.values.chunks_exact(self.arity).collect();
        rows.binary_search(&row).is_ok()
    }

    /// The rows as vectors.
    pub fn to_vecs(&self) -> Vec<Vec<Value>> {
        self.rows().map(<[Value]>::to_vec).collect()
    }
}

/// A relation's rows, sorted as [`Relation`]'s, whose values are read from
/// the evaluation as they are visited ([`Evaluation::sorted_rows`]).
pub struct SortedRows<'e> {
    name: &'e str,
    arity: usize,
    width: usize,
    /// Rows of ranks: a value's position in `ids`.
    ranks: Vec<u32>,
    /// The relation's distinct value ids, by value.
    ids: Vec<u32>,
    interner: &'e Interner,
}

/// A relation's rows from its store, sorted by value.
pub(crate) fn sorted_rows<'e>(
    info: &'e RelationInfo,
    store: &Store,
    interner: &'e Interner,
) -> SortedRows<'e> {
    let arity = if info.arity == usize::MAX {
        0
    } else {
        info.arity
    };
    let width = store.width.max(1);
    let mut rows = store.rows();
    // Sort by value cheaply: rank the distinct ids by their values, sort
    // rows of ranks as integers; the ranks map back to ids.
    let ids = if rows.len().saturating_mul(16) < interner.len() {
        // Few rows beside many values (a request's tuples next to a large
        // base): rank through the rows' own ids, not arrays of every value.
        let mut ids = rows.clone();
        ids.sort_unstable();
        ids.dedup();
        let by_id = ids.clone();
        ids.sort_by(|&a, &b| interner.value(a).cmp(interner.value(b)));
        let mut rank = vec![0u32; by_id.len()];
        for (r, id) in ids.iter().enumerate() {
            if let Ok(at) = by_id.binary_search(id)
                && let Some(slot) = rank.get_mut(at)
            {
                *slot = r as u32;
            }
        }
        for x in &mut rows {
            *x = by_id
                .binary_search(x)
                .ok()
                .and_then(|at| rank.get(at).copied())
                .unwrap_or(0);
        }
        ids
    } else {
        let mut present = vec![false; interner.len()];
        for &id in &rows {
            if let Some(p) = present.get_mut(id as usize) {
                *p = true;
            }
        }
        let mut ids: Vec<u32> = (0..present.len() as u32)
            .filter(|&i| present.get(i as usize).copied().unwrap_or(false))
            .collect();
        drop(present);
        // Comparing values is comparing strings: worth all cores when many.
        if ids.len() > 1 << 15 {
            use rayon::slice::ParallelSliceMut;
            ids.par_sort_by(|&a, &b| interner.value(a).cmp(interner.value(b)));
        } else {
            ids.sort_by(|&a, &b| interner.value(a).cmp(interner.value(b)));
        }
        let mut rank = vec![0u32; interner.len()];
        for (r, &id) in ids.iter().enumerate() {
            if let Some(slot) = rank.get_mut(id as usize) {
                *slot = r as u32;
            }
        }
        for x in &mut rows {
            *x = rank.get(*x as usize).copied().unwrap_or(0);
        }
        ids
    };
    sort_dedup(&mut rows, width);
    SortedRows {
        name: &info.name,
        arity,
        width,
        ranks: rows,
        ids,
        interner,
    }
}

impl SortedRows<'_> {
    /// The rows as lists of values.
    pub fn to_vecs(&self) -> Vec<Vec<Value>> {
        self.rows().map(|row| row.cloned().collect()).collect()
    }

    /// The name as written in the rules.
    pub fn name(&self) -> &str {
        self.name
    }

    /// Number of columns.
    pub fn arity(&self) -> usize {
        self.arity
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ranks.len() / self.width
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ranks.is_empty()
    }

    /// Each row's values, in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = impl Iterator<Item = &Value> + '_> + '_ {
        self.ranks.chunks_exact(self.width).map(move |row| {
            row.iter().take(self.arity).map(move |&r| {
                self.interner
                    .value(self.ids.get(r as usize).copied().unwrap_or(0))
            })
        })
    }
}

/// A list of rows, each a list of values.
impl Serialize for Relation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.rows())
    }
}

/// How a query was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Everything was evaluated, then the goal was matched.
    Full,
    /// The program was rewritten with magic sets so that only facts
    /// relevant to the goal's constants were derived.
    MagicSets,
}

/// The bindings that satisfy a goal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answers {
    /// The goal as written.
    pub goal: String,
    /// The goal's named variables: the columns of `rows`.
    pub variables: Vec<String>,
    /// One row per distinct binding, sorted.
    pub rows: Vec<Vec<Value>>,
    /// How the answers were computed.
    pub strategy: Strategy,
    /// Under a probabilistic semiring: each row's probability, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<Vec<f64>>,
}

impl Answers {
    /// Whether the goal holds at least once.
    pub fn holds(&self) -> bool {
        !self.rows.is_empty()
    }
}

/// The outcome of one `@test`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestResult {
    /// The test's name.
    pub name: String,
    /// Where the test is written.
    pub location: Location,
    /// Passed, failed, or could not run.
    pub outcome: TestOutcome,
}

/// How a test ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TestOutcome {
    /// Every expectation held.
    Passed,
    /// Some expectations did not hold.
    Failed {
        /// The expectations that did not hold: the text as written and its
        /// `file:line:col`.
        failures: Vec<Failure>,
    },
    /// The test's program could not be evaluated.
    Error {
        /// Why.
        message: String,
    },
}

/// One expectation that did not hold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Failure {
    /// The expectation as written, `not` included.
    pub expectation: String,
    /// Where the expectation is written.
    pub location: Location,
    /// What was found instead, briefly.
    pub reason: String,
}

impl Evaluation {
    /// A relation by name (as written in rules, prefixed names allowed).
    pub fn relation(&self, name: &str) -> Option<Relation> {
        let id = self.names.lookup(name)?;
        self.relation_at(id)
    }

    fn relation_at(&self, id: usize) -> Option<Relation> {
        let sorted = self.sorted_at(id)?;
        let mut values = Vec::with_capacity(sorted.len() * sorted.arity);
        for row in sorted.rows() {
            values.extend(row.cloned());
        }
        Some(Relation {
            name: sorted.name.to_string(),
            arity: sorted.arity,
            len: sorted.len(),
            values,
        })
    }

    /// A relation's rows in [`Relation`]'s order, read out of the store
    /// without copying a value: for writing large relations (a row is ids,
    /// four bytes a value, where a [`Relation`] holds each value).
    ///
    /// ```
    /// # let checked = nesy_lang::check_source("r.nesy", "e(1, 2). e(2, 3). p(X, Y) :- e(X, Y).");
    /// # let mut program = nesy_engine::Program::new();
    /// # program.add_source(&checked.source, &checked.program).unwrap();
    /// let evaluation = program.evaluate(&nesy_engine::Limits::default())?;
    /// let p = evaluation.sorted_rows("p").unwrap();
    /// let rows: Vec<String> = p.rows().map(|row| {
    ///     row.map(|v| v.to_plain_string()).collect::<Vec<_>>().join(" ")
    /// }).collect();
    /// assert_eq!(rows, ["1 2", "2 3"]);
    /// # Ok::<(), nesy_engine::Error>(())
    /// ```
    pub fn sorted_rows(&self, name: &str) -> Option<SortedRows<'_>> {
        self.sorted_at(self.names.lookup(name)?)
    }

    fn sorted_at(&self, id: usize) -> Option<SortedRows<'_>> {
        Some(sorted_rows(
            self.relations.get(id)?,
            self.stores.get(id)?,
            &self.interner,
        ))
    }

    /// Every relation, in the order they were first mentioned.
    pub fn relations(&self) -> impl Iterator<Item = Relation> + '_ {
        (0..self.relations.len())
            .filter(|&id| {
                !self
                    .relations
                    .get(id)
                    .is_some_and(|r| r.name.starts_with(split::INTERNAL))
            })
            .filter_map(|id| self.relation_at(id))
    }

    /// Every relation's name, in order (internal helpers left out).
    pub fn relation_names(&self) -> Vec<String> {
        self.relations
            .iter()
            .filter(|r| !r.name.starts_with(split::INTERNAL))
            .map(|r| r.name.clone())
            .collect()
    }

    /// The names of the relations defined by rules, in order.
    pub fn derived_relations(&self) -> Vec<&str> {
        self.relations
            .iter()
            .zip(&self.derived)
            .filter(|(r, d)| **d && !r.name.starts_with("?- "))
            .map(|(r, _)| r.name.as_str())
            .collect()
    }

    /// Whether `relation` holds the tuple `values`.
    pub fn contains(&self, relation: &str, values: &[Value]) -> bool {
        let Some(id) = self.names.lookup(relation) else {
            return false;
        };
        let (Some(store), Some(info)) = (self.stores.get(id), self.relations.get(id)) else {
            return false;
        };
        let arity = if info.arity == usize::MAX {
            0
        } else {
            info.arity
        };
        if values.len() != arity {
            return false;
        }
        // A value never interned is in no relation.
        values
            .iter()
            .map(|v| self.interner.get(v))
            .collect::<Option<Vec<u32>>>()
            .is_some_and(|row| store.contains(&row))
    }

    /// A relation's id by name.
    pub(crate) fn relation_id(&self, relation: &str) -> Option<usize> {
        self.names.lookup(relation)
    }

    /// How many tuples a relation holds, without reading them out.
    pub fn count(&self, relation: &str) -> Option<usize> {
        self.stores.get(self.names.lookup(relation)?).map(|s| s.len)
    }

    /// Tuples held by all relations.
    pub fn tuple_count(&self) -> usize {
        self.stores.iter().map(|s| s.len).sum()
    }

    /// Time, rounds and tuples per stratum and rule.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Answers a query of the program over these relations.
    pub fn answer(&mut self, query: &Query, limits: &Limits) -> Result<Answers, Error> {
        let rows = eval::answer(
            &mut self.stores,
            &self.interner,
            &query.rule,
            limits,
            &crate::Clock::start(limits),
        )?;
        Ok(Answers {
            goal: query.text.clone(),
            variables: query.variables.clone(),
            rows,
            strategy: Strategy::Full,
            probabilities: None,
        })
    }
}

impl Evaluation {
    /// An evaluation from the evaluator's outcome; `rules` are all the
    /// program's rules (a relation they define is derived).
    pub(crate) fn assemble(
        names: Names,
        relations: Vec<RelationInfo>,
        rules: &[Rule],
        outcome: eval::Outcome,
    ) -> Evaluation {
        let derived = (0..relations.len())
            .map(|r| {
                rules.iter().any(|x| x.head == r)
                    && !relations
                        .get(r)
                        .is_some_and(|i| i.name.starts_with(split::INTERNAL))
            })
            .collect();
        Evaluation {
            names,
            relations,
            derived,
            stores: outcome.stores,
            interner: outcome.interner,
            stats: outcome.stats,
        }
    }
}
