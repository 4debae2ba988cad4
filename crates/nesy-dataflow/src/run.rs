//! Running a program as a dataflow: one dataflow per worker, inputs fed
//! by hash, strata built in dependency order (recursive ones in an
//! iterative scope), every relation sent to worker 0, which collects it.

use crate::compile::{Coll, Faults, Relations};
use crate::datum::Row;
use crate::error::Error;
use crate::plan::{DataflowPlan, fact_rows};
use differential_dataflow::input::{Input, InputSession};
use differential_dataflow::operators::iterate::VecVariable;
use nesy_engine::ir::RelId;
use nesy_engine::{Clock, Evaluation, Limits, Program, Value};
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use timely::dataflow::Scope;
use timely::dataflow::operators::core::Filter;
use timely::dataflow::operators::probe::Handle;
use timely::dataflow::operators::{Exchange, Inspect, Probe};
use timely::order::Product;

/// How many workers, and where.
#[derive(Clone, Debug)]
pub struct Options {
    /// Worker threads in this process (at least 1).
    pub workers: usize,
    /// Several processes: this one's place among them.
    pub cluster: Option<Cluster>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workers: 1,
            cluster: None,
        }
    }
}

/// One process of a cluster: every process runs the same program with
/// the same hosts; process 0 collects the results.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// This process's index: its line in `hosts`.
    pub process: usize,
    /// `host:port` of every process, in order.
    pub hosts: Vec<String>,
}

/// Rows each relation ends with, as the collecting worker accumulates
/// them (a row's count can dip below zero and come back while the
/// iterations settle).
pub(crate) type Sink = Arc<Mutex<Vec<FxHashMap<Row, isize>>>>;

/// Evaluates `program` on timely/differential dataflow under the `bool`
/// semiring. Returns the evaluation on the process that collects the
/// results (the only one, or process 0 of a cluster); `None` on the
/// others. Limits: the time limit and the cancel flag stop the workers;
/// the tuple limit counts the rows relations receive.
pub fn evaluate(
    program: &Program,
    options: &Options,
    limits: &Limits,
) -> Result<Option<Evaluation>, Error> {
    let start = Instant::now();
    let workers = options.workers.max(1);
    let config = config(options, workers)?;
    let collecting = options.cluster.as_ref().is_none_or(|c| c.process == 0);
    let shared = Shared::new(program, limits, None)?;
    let (sink, failure, faults) = (
        Arc::clone(&shared.sink),
        Arc::clone(&shared.failure),
        shared.faults.clone(),
    );
    // Connecting a cluster prints to stdout (timely's own messages):
    // they go to stderr, so that the results on stdout stay clean.
    let quiet = options
        .cluster
        .as_ref()
        .and_then(|_| gag::Redirect::stdout(std::io::stderr()).ok());
    let guards = timely::execute(config, move |worker| shared.run(worker));
    drop(quiet);
    let guards = guards.map_err(Error::Cluster)?;
    for result in guards.join() {
        result.map_err(Error::Cluster)?;
    }
    if let Some(error) = failure.lock().ok().and_then(|mut f| f.take()) {
        return Err(error);
    }
    if let Some(error) = faults.take() {
        return Err(error.into());
    }
    if !collecting {
        return Ok(None);
    }
    let collected = std::mem::take(&mut *sink.lock().map_err(|_| poisoned())?);
    let rows: Vec<Vec<Vec<Value>>> = collected
        .into_iter()
        .map(|counts| {
            counts
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(row, _)| row.into_iter().map(|d| d.0).collect())
                .collect()
        })
        .collect();
    Ok(Some(program.evaluation_from_rows(rows, start.elapsed())?))
}

/// The worker that feeds `row`.
fn share(row: &Row, peers: usize) -> usize {
    let mut hasher = FxHasher::default();
    row.hash(&mut hasher);
    (hasher.finish() as usize) % peers.max(1)
}

pub(crate) fn poisoned() -> Error {
    Error::Cluster("a worker panicked".to_string())
}

pub(crate) fn config(options: &Options, workers: usize) -> Result<timely::Config, Error> {
    let communication = match &options.cluster {
        None if workers == 1 => timely::CommunicationConfig::Thread,
        None => timely::CommunicationConfig::Process(workers),
        Some(cluster) => {
            if cluster.process >= cluster.hosts.len() {
                return Err(Error::Cluster(format!(
                    "process {} of a cluster of {} (processes count from 0)",
                    cluster.process,
                    cluster.hosts.len()
                )));
            }
            timely::CommunicationConfig::Cluster {
                threads: workers,
                process: cluster.process,
                addresses: cluster.hosts.clone(),
                report: false,
                zerocopy: false,
            }
        }
    };
    Ok(timely::Config {
        communication,
        worker: timely::WorkerConfig::default(),
    })
}

/// What every worker shares.
pub(crate) struct Shared {
    pub(crate) plan: Arc<DataflowPlan>,
    pub(crate) facts: Arc<Vec<Vec<Row>>>,
    pub(crate) sink: Sink,
    pub(crate) failure: Arc<Mutex<Option<Error>>>,
    pub(crate) faults: Faults,
    pub(crate) clock: Clock,
    pub(crate) max_tuples: Option<usize>,
    /// Rows the relations received so far (for the tuple limit).
    pub(crate) held: Arc<AtomicUsize>,
    /// Set by the worker that hit a limit: the others stop too.
    pub(crate) stop: Arc<AtomicBool>,
    /// Kept alive for updates ([`crate::Live`]): what the workers listen
    /// to after the first evaluation.
    pub(crate) live: Option<LiveLinks>,
}

/// An update for the workers of a live dataflow: rows to add and remove
/// (each known to be absent, resp. present), applied as epoch `epoch`.
pub(crate) enum Command {
    Apply {
        insert: Arc<Vec<(RelId, Row)>>,
        delete: Arc<Vec<(RelId, Row)>>,
        epoch: u32,
    },
}

/// The channels of a live dataflow: one command receiver per worker (each
/// takes its own), a shared "epoch done" sender, and the log of changes
/// the collecting worker saw.
pub(crate) struct LiveLinks {
    pub(crate) commands: Mutex<Vec<Option<std::sync::mpsc::Receiver<Command>>>>,
    pub(crate) done: std::sync::mpsc::Sender<()>,
    pub(crate) changes: Arc<Mutex<Vec<(RelId, Row, isize)>>>,
}

impl Shared {
    /// The compiled plan and facts of `program`, fresh result slots, the
    /// clock of `limits` started; `live` for a dataflow kept running.
    pub(crate) fn new(
        program: &Program,
        limits: &Limits,
        live: Option<LiveLinks>,
    ) -> Result<Shared, Error> {
        let compiled = program.compiled()?;
        let plan = Arc::new(DataflowPlan::new(&compiled)?);
        let facts = Arc::new(fact_rows(&compiled));
        let relations = plan.relations;
        Ok(Shared {
            plan,
            facts,
            sink: Arc::new(Mutex::new(vec![FxHashMap::default(); relations])),
            failure: Arc::default(),
            faults: Faults::default(),
            clock: Clock::start(limits),
            max_tuples: limits.max_tuples,
            held: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
            live,
        })
    }

    fn fail(&self, error: Error) {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(mut slot) = self.failure.lock()
            && slot.is_none()
        {
            *slot = Some(error);
        }
    }

    pub(crate) fn run(&self, worker: &mut timely::worker::Worker) {
        let index = worker.index();
        let peers = worker.peers();
        let probe = Handle::new();
        let built = worker.dataflow::<u32, _, _>(|scope| self.build(scope, &probe));
        let (mut inputs, mut unit) = match built {
            Ok(inputs) => inputs,
            Err(error) => return self.fail(error),
        };
        if index == 0 {
            unit.insert(Row::new());
        }
        for (rel, rows) in self.facts.iter().enumerate() {
            let Some(input) = inputs.get_mut(rel) else {
                continue;
            };
            // Each row once in the whole cluster, wherever it was read.
            for row in rows {
                if share(row, peers) == index {
                    input.insert(row.clone());
                }
            }
        }
        unit.advance_to(1);
        unit.flush();
        for input in &mut inputs {
            input.advance_to(1);
            input.flush();
        }
        while probe.less_than(unit.time()) {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            if let Err(error) = self.clock.check() {
                return self.fail(error.into());
            }
            worker.step();
        }
        let Some(live) = &self.live else {
            return;
        };
        let commands = live
            .commands
            .lock()
            .ok()
            .and_then(|mut all| all.get_mut(index).and_then(Option::take));
        let Some(commands) = commands else {
            return;
        };
        if live.done.send(()).is_err() {
            return;
        }
        // Until the owner drops its senders.
        while let Ok(Command::Apply {
            insert,
            delete,
            epoch,
        }) = commands.recv()
        {
            for (rel, row) in insert.iter() {
                if let Some(input) = inputs.get_mut(*rel)
                    && share(row, peers) == index
                {
                    input.insert(row.clone());
                }
            }
            for (rel, row) in delete.iter() {
                if let Some(input) = inputs.get_mut(*rel)
                    && share(row, peers) == index
                {
                    input.remove(row.clone());
                }
            }
            let next = epoch + 1;
            unit.advance_to(next);
            unit.flush();
            for input in &mut inputs {
                input.advance_to(next);
                input.flush();
            }
            while probe.less_than(&next) {
                worker.step();
            }
            if live.done.send(()).is_err() {
                return;
            }
        }
    }

    /// `collection`, counted against the tuple limit, with the clock read
    /// every few thousand rows; once a limit is hit (here or on another
    /// worker) nothing more passes, so that loops drain and workers stop.
    fn guard<'s, T: timely::progress::Timestamp + differential_dataflow::lattice::Lattice + Ord>(
        &self,
        collection: Coll<'s, T>,
        relation: RelId,
    ) -> Coll<'s, T> {
        let held = Arc::clone(&self.held);
        let stop = Arc::clone(&self.stop);
        let failure = Arc::clone(&self.failure);
        let clock = self.clock.clone();
        let limit = self.max_tuples;
        let name = self.plan.names.get(relation).cloned().unwrap_or_default();
        let passed = collection
            .inner
            .filter(move |(_, _, diff): &(Row, T, isize)| {
                if stop.load(Ordering::Relaxed) {
                    return false;
                }
                let before = held.fetch_add(usize::try_from(*diff).unwrap_or(0), Ordering::Relaxed);
                let error = match limit {
                    Some(limit) if before >= limit => Some(nesy_engine::Error::TooManyTuples {
                        limit,
                        relation: name.clone(),
                    }),
                    _ if before.is_multiple_of(4096) => clock.check().err(),
                    _ => None,
                };
                if let Some(error) = error {
                    stop.store(true, Ordering::SeqCst);
                    if let Ok(mut slot) = failure.lock()
                        && slot.is_none()
                    {
                        *slot = Some(error.into());
                    }
                    return false;
                }
                true
            });
        differential_dataflow::VecCollection::new(passed)
    }

    /// The dataflow: inputs per relation, strata, outputs to worker 0.
    #[allow(clippy::type_complexity, reason = "the inputs the worker feeds")]
    fn build<'s>(
        &self,
        scope: Scope<'s, u32>,
        probe: &Handle<u32>,
    ) -> Result<
        (
            Vec<InputSession<u32, Row, isize>>,
            InputSession<u32, Row, isize>,
        ),
        Error,
    > {
        let (unit_input, unit) = scope.new_collection::<Row, isize>();
        let mut inputs = Vec::new();
        let mut collections: Vec<Option<Coll<'s, u32>>> = Vec::new();
        for _ in 0..self.plan.relations {
            let (input, collection) = scope.new_collection::<Row, isize>();
            inputs.push(input);
            collections.push(Some(collection));
        }
        let base = collections.clone();
        for stratum in &self.plan.strata {
            let rules: Vec<_> = self
                .plan
                .rules
                .iter()
                .filter(|r| stratum.contains(&r.head))
                .collect();
            if rules.is_empty() {
                continue;
            }
            let recursive = rules
                .iter()
                .any(|r| r.positive_reads().iter().any(|x| stratum.contains(x)));
            let failed = |message: String, rule: &crate::plan::DRule| {
                Error::Engine(nesy_engine::Error::Compile {
                    location: Some(rule.location.clone()),
                    message,
                })
            };
            if !recursive {
                let relations = Relations {
                    by_id: collections.clone(),
                    unit: unit.clone(),
                    faults: self.faults.clone(),
                };
                for &r in stratum {
                    let mut all = base.get(r).cloned().flatten();
                    for rule in rules.iter().filter(|x| x.head == r) {
                        let derived = relations.rule(rule).map_err(|m| failed(m, rule))?;
                        all = Some(match all {
                            Some(a) => a.concat(derived),
                            None => derived,
                        });
                    }
                    if let (Some(slot), Some(all)) = (collections.get_mut(r), all) {
                        *slot = Some(self.guard(all.distinct(), r));
                    }
                }
                continue;
            }
            let outer = collections.clone();
            let left: Vec<(RelId, Coll<'s, u32>)> =
                scope.iterative::<u32, _, _>(|inner| -> Result<_, Error> {
                    let step = Product::new(Default::default(), 1);
                    let mut variables = Vec::new();
                    let mut by_id: Vec<Option<Coll<'_, _>>> = outer
                        .iter()
                        .enumerate()
                        .map(|(r, c)| {
                            let read = rules.iter().any(|rule| rule.reads(r));
                            c.as_ref()
                                .filter(|_| read && !stratum.contains(&r))
                                .map(|c| c.clone().enter(inner))
                        })
                        .collect();
                    for &r in stratum {
                        let (variable, collection): (VecVariable<_, Row, isize>, _) =
                            VecVariable::new(inner, step);
                        if let Some(slot) = by_id.get_mut(r) {
                            *slot = Some(collection);
                        }
                        variables.push((r, variable));
                    }
                    let relations = Relations {
                        by_id,
                        unit: unit.clone().enter(inner),
                        faults: self.faults.clone(),
                    };
                    let mut out = Vec::new();
                    for (r, variable) in variables {
                        let mut all = base.get(r).cloned().flatten().map(|c| c.enter(inner));
                        for rule in rules.iter().filter(|x| x.head == r) {
                            let derived = relations.rule(rule).map_err(|m| failed(m, rule))?;
                            all = Some(match all {
                                Some(a) => a.concat(derived),
                                None => derived,
                            });
                        }
                        let next = match all {
                            Some(all) => all.distinct(),
                            None => relations.unit.clone().filter(|_| false),
                        };
                        // Checked inside the loop: a worker's step runs
                        // the iterations until they settle, so a recursion
                        // without end must be cut from within.
                        let next = self.guard(next, r);
                        variable.set(next.clone());
                        out.push((r, next.leave(scope)));
                    }
                    Ok(out)
                })?;
            for (r, collection) in left {
                if let Some(slot) = collections.get_mut(r) {
                    *slot = Some(collection);
                }
            }
        }
        for (r, collection) in collections.into_iter().enumerate() {
            let Some(collection) = collection else {
                continue;
            };
            let sink = Arc::clone(&self.sink);
            let changes = self.live.as_ref().map(|l| Arc::clone(&l.changes));
            collection
                .inner
                .exchange(|_| 0)
                .inspect(move |(row, _time, diff): &(Row, u32, isize)| {
                    if let Ok(mut sink) = sink.lock()
                        && let Some(counts) = sink.get_mut(r)
                    {
                        let count = counts.entry(row.clone()).or_insert(0);
                        *count += diff;
                        if *count == 0 {
                            counts.remove(row);
                        }
                    }
                    if let Some(changes) = &changes
                        && let Ok(mut changes) = changes.lock()
                    {
                        changes.push((r, row.clone(), *diff));
                    }
                })
                .probe_with(probe);
        }
        Ok((inputs, unit_input))
    }
}
