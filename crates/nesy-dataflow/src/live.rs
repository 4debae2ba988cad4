//! A dataflow kept running: base facts inserted and deleted, derived
//! relations following incrementally (differential dataflow's
//! retractions), each update one epoch.
//!
//! ```
//! use nesy_dataflow::Live;
//! use nesy_engine::{Program, Value};
//!
//! let checked = nesy_lang::check_source("tc.nesy", "
//!     edge(1, 2). edge(2, 3).
//!     path(X, Y) :- edge(X, Y).
//!     path(X, Z) :- path(X, Y), edge(Y, Z).
//! ");
//! let mut program = Program::new();
//! program.add_source(&checked.source, &checked.program)?;
//! let mut live = Live::start(&program, 2)?;
//! let edge = |a, b| ("edge".to_string(), vec![Value::Int(a), Value::Int(b)]);
//! let changes = live.update(&[edge(3, 4)], &[edge(1, 2)])?;
//! assert_eq!((changes.inserted, changes.deleted), (1, 1));
//! let path = live.rows("path").unwrap();
//! assert_eq!(path.len(), 3); // 2->3, 3->4, 2->4
//! # Ok::<(), nesy_dataflow::Error>(())
//! ```

use crate::compile::Faults;
use crate::datum::{Datum, Row};
use crate::error::Error;
use crate::run::{Command, LiveLinks, Options, Shared, Sink, config, poisoned};
use nesy_engine::ir::RelId;
use nesy_engine::{Evaluation, Limits, Program, Value};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running dataflow of a program, updated in place.
pub struct Live {
    /// Relation ids by name, and names by id.
    ids: FxHashMap<String, RelId>,
    names: Vec<String>,
    arities: Vec<usize>,
    /// The base facts now, per relation (what may be deleted).
    base: Vec<FxHashSet<Row>>,
    commands: Vec<mpsc::Sender<Command>>,
    done: mpsc::Receiver<()>,
    workers: usize,
    sink: Sink,
    changes: Arc<Mutex<Vec<(RelId, Row, isize)>>>,
    faults: Faults,
    epoch: u32,
    guards: Option<timely::communication::WorkerGuards<()>>,
}

/// What an update changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    /// Base facts inserted and deleted (those already present, resp.
    /// absent, are left out).
    pub inserted: usize,
    /// Base facts deleted.
    pub deleted: usize,
    /// Rows that came into each relation (by name), derived or base.
    pub added: Vec<(String, Vec<Value>)>,
    /// Rows that left.
    pub removed: Vec<(String, Vec<Value>)>,
    /// How long the workers took.
    pub time: Duration,
}

impl Live {
    /// Evaluates `program` on `workers` threads and keeps the dataflow
    /// for [`Live::update`]. Model calls are refused, as by
    /// [`crate::evaluate`].
    pub fn start(program: &Program, workers: usize) -> Result<Live, Error> {
        let workers = workers.max(1);
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..workers).map(|_| mpsc::channel()).unzip();
        let (done_tx, done) = mpsc::channel();
        let changes: Arc<Mutex<Vec<(RelId, Row, isize)>>> = Arc::default();
        let links = LiveLinks {
            commands: Mutex::new(receivers.into_iter().map(Some).collect()),
            done: done_tx,
            changes: Arc::clone(&changes),
        };
        // Updates run to the end: no deadline, no tuple budget.
        let shared = Shared::new(program, &Limits::default(), Some(links))?;
        let names = shared.plan.names.clone();
        let ids = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let arities = shared.plan.arities.clone();
        let base = shared
            .facts
            .iter()
            .map(|rows| rows.iter().cloned().collect())
            .collect();
        let (sink, failure, faults) = (
            Arc::clone(&shared.sink),
            Arc::clone(&shared.failure),
            shared.faults.clone(),
        );
        let options = Options {
            workers,
            cluster: None,
        };
        let config = config(&options, workers)?;
        let guards =
            timely::execute(config, move |worker| shared.run(worker)).map_err(Error::Cluster)?;
        let mut live = Live {
            ids,
            names,
            arities,
            base,
            commands: senders,
            done,
            workers,
            sink,
            changes,
            faults,
            epoch: 1,
            guards: Some(guards),
        };
        // The first evaluation: every worker reports it settled, or ended.
        for _ in 0..workers {
            if live.done.recv().is_err() {
                live.commands.clear();
                if let Some(guards) = live.guards.take() {
                    drop(guards.join());
                }
                return Err(failure
                    .lock()
                    .ok()
                    .and_then(|mut f| f.take())
                    .unwrap_or_else(|| Error::Cluster("the workers ended".to_string())));
            }
        }
        if let Some(error) = live.faults.take() {
            return Err(error.into());
        }
        if let Ok(mut log) = live.changes.lock() {
            log.clear();
        }
        Ok(live)
    }

    /// Inserts and deletes base facts, `(relation, values)`, as one step:
    /// derived relations follow. Facts already present (inserted) or
    /// absent (deleted) are skipped; a fact both inserted and deleted is
    /// deleted. An unknown relation or a wrong arity changes nothing; an
    /// update that makes a rule's arithmetic fail is undone, and the error
    /// returned.
    pub fn update(
        &mut self,
        insert: &[(String, Vec<Value>)],
        delete: &[(String, Vec<Value>)],
    ) -> Result<Changes, Error> {
        let start = Instant::now();
        let insert = self.rows_of(insert)?;
        let delete = self.rows_of(delete)?;
        let mut inserts: Vec<(RelId, Row)> = Vec::new();
        let mut deletes: Vec<(RelId, Row)> = Vec::new();
        let deleting: FxHashSet<&(RelId, Row)> = delete.iter().collect();
        let mut seen: FxHashSet<&(RelId, Row)> = FxHashSet::default();
        for entry in &insert {
            let (rel, row) = entry;
            let present = self.base.get(*rel).is_some_and(|b| b.contains(row));
            if !present && !deleting.contains(entry) && seen.insert(entry) {
                inserts.push(entry.clone());
            }
        }
        for entry in &delete {
            let (rel, row) = entry;
            let present = self.base.get(*rel).is_some_and(|b| b.contains(row));
            if present && seen.insert(entry) {
                deletes.push(entry.clone());
            }
        }
        let changes = self.apply(&inserts, &deletes)?;
        if let Some(error) = self.faults.take() {
            // Atomic: the inverse update restores the state before it.
            self.apply(&deletes, &inserts)?;
            self.faults.take();
            return Err(error.into());
        }
        for (rel, row) in &inserts {
            if let Some(base) = self.base.get_mut(*rel) {
                base.insert(row.clone());
            }
        }
        for (rel, row) in &deletes {
            if let Some(base) = self.base.get_mut(*rel) {
                base.remove(row);
            }
        }
        let name = |rel: RelId| self.names.get(rel).cloned().unwrap_or_default();
        let values = |row: Row| row.into_iter().map(|d| d.0).collect::<Vec<Value>>();
        Ok(Changes {
            inserted: inserts.len(),
            deleted: deletes.len(),
            added: changes
                .iter()
                .filter(|(_, _, d)| *d > 0)
                .map(|(r, row, _)| (name(*r), values(row.clone())))
                .collect(),
            removed: changes
                .into_iter()
                .filter(|(_, _, d)| *d < 0)
                .map(|(r, row, _)| (name(r), values(row)))
                .collect(),
            time: start.elapsed(),
        })
    }

    /// One epoch: the rows sent to every worker, then the net change of
    /// each relation's rows.
    fn apply(
        &mut self,
        inserts: &[(RelId, Row)],
        deletes: &[(RelId, Row)],
    ) -> Result<Vec<(RelId, Row, isize)>, Error> {
        let insert = Arc::new(inserts.to_vec());
        let delete = Arc::new(deletes.to_vec());
        for sender in &self.commands {
            sender
                .send(Command::Apply {
                    insert: Arc::clone(&insert),
                    delete: Arc::clone(&delete),
                    epoch: self.epoch,
                })
                .map_err(|_| Error::Cluster("the workers ended".to_string()))?;
        }
        for _ in 0..self.workers {
            self.done
                .recv()
                .map_err(|_| Error::Cluster("the workers ended".to_string()))?;
        }
        self.epoch += 1;
        let log = std::mem::take(&mut *self.changes.lock().map_err(|_| poisoned())?);
        let mut net: FxHashMap<(RelId, Row), isize> = FxHashMap::default();
        for (rel, row, diff) in log {
            *net.entry((rel, row)).or_insert(0) += diff;
        }
        let mut out: Vec<(RelId, Row, isize)> = net
            .into_iter()
            .filter(|(_, d)| *d != 0)
            .map(|((r, row), d)| (r, row, d))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Rows of `facts` by relation id, each checked against the program.
    fn rows_of(&self, facts: &[(String, Vec<Value>)]) -> Result<Vec<(RelId, Row)>, Error> {
        facts
            .iter()
            .map(|(relation, values)| {
                let rel = *self
                    .ids
                    .get(relation)
                    .ok_or_else(|| nesy_engine::Error::UnknownRelation(relation.clone()))?;
                let arity = self.arities.get(rel).copied().unwrap_or(0);
                if values.len() != arity {
                    return Err(nesy_engine::Error::Arity {
                        relation: relation.clone(),
                        expected: arity,
                        found: values.len(),
                        location: None,
                    }
                    .into());
                }
                Ok((rel, values.iter().cloned().map(Datum).collect()))
            })
            .collect()
    }

    /// The rows `relation` holds now, sorted.
    pub fn rows(&self, relation: &str) -> Option<Vec<Vec<Value>>> {
        let rel = *self.ids.get(relation)?;
        let sink = self.sink.lock().ok()?;
        let mut rows: Vec<Vec<Value>> = sink
            .get(rel)?
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(row, _)| row.iter().map(|d| d.0.clone()).collect())
            .collect();
        rows.sort();
        Some(rows)
    }

    /// Every relation's rows now, by relation id (for
    /// [`Program::evaluation_from_rows`]).
    pub fn all_rows(&self) -> Result<Vec<Vec<Vec<Value>>>, Error> {
        let sink = self.sink.lock().map_err(|_| poisoned())?;
        Ok(sink
            .iter()
            .map(|counts| {
                counts
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(row, _)| row.iter().map(|d| d.0.clone()).collect())
                    .collect()
            })
            .collect())
    }

    /// The evaluation of `program` (the one started from, with this live
    /// dataflow's base facts) as it stands now.
    pub fn evaluation(&self, program: &Program) -> Result<Evaluation, Error> {
        Ok(program.evaluation_from_rows(self.all_rows()?, Duration::ZERO)?)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // Dropping the senders ends the workers' loops.
        self.commands.clear();
        if let Some(guards) = self.guards.take() {
            drop(guards.join());
        }
    }
}
