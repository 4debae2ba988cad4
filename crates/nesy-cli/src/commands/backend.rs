//! `--backend native|dataflow` and the dataflow's workers and cluster:
//! which evaluator `nesy run` uses.

use crate::error::CliError;
use nesy::dataflow::{Cluster, Options};
use nesy::{Evaluation, Limits, Program};
use std::path::PathBuf;

/// The evaluators.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Backend {
    /// The built-in parallel semi-naive engine: every feature, fastest on
    /// one machine.
    #[default]
    Native,
    /// timely/differential dataflow: several worker threads, or several
    /// processes (`--processes`); `bool` only, no model calls.
    Dataflow,
}

/// `--backend`, `--workers`, `--processes`, `--process`, `--hosts`.
#[derive(clap::Args, Debug, Default)]
pub(crate) struct BackendArgs {
    /// The evaluator.
    #[arg(long, value_enum, default_value_t = Backend::Native)]
    pub(crate) backend: Backend,
    /// Dataflow worker threads in this process.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=512))]
    workers: u16,
    /// Dataflow processes in the cluster (each started with the same
    /// files, `--hosts` and its own `--process`); process 0 writes the
    /// results.
    #[arg(long, value_name = "P", requires = "hosts", value_parser = clap::value_parser!(u16).range(1..=4096))]
    processes: Option<u16>,
    /// This process's index in the cluster, from 0.
    #[arg(long, value_name = "I", requires = "processes", default_value_t = 0)]
    process: u16,
    /// The cluster's addresses, one `host:port` per line (line I is
    /// process I).
    #[arg(long, value_name = "FILE", requires = "processes")]
    hosts: Option<PathBuf>,
}

impl BackendArgs {
    /// Whether the dataflow backend was asked for.
    pub(crate) fn dataflow(&self) -> bool {
        self.backend == Backend::Dataflow
    }

    /// A usage error for dataflow flags given to the native backend, or
    /// for the dataflow backend asked to do what it cannot.
    pub(crate) fn check(&self, needs_tags: bool) -> Result<(), CliError> {
        if !self.dataflow() && (self.workers != 1 || self.processes.is_some()) {
            return Err(CliError::Usage(
                "`--workers` and `--processes` choose the dataflow's workers: add `--backend dataflow` (the native engine uses every core by itself)".to_string(),
            ));
        }
        if self.dataflow() && needs_tags {
            return Err(CliError::Usage(
                "the dataflow backend evaluates the bool semiring only: leave out `--semiring` or use `--backend native`".to_string(),
            ));
        }
        Ok(())
    }

    /// Evaluates `program` with the chosen backend: `None` on a cluster
    /// process other than 0, which has nothing to write.
    pub(crate) fn evaluate(
        &self,
        program: &Program,
        limits: &Limits,
    ) -> Result<Option<Evaluation>, CliError> {
        if !self.dataflow() {
            return Ok(Some(program.evaluate(limits)?));
        }
        let cluster = match (&self.hosts, self.processes) {
            (Some(path), Some(processes)) => Some(
                Cluster::from_hosts_file(path, usize::from(self.process), usize::from(processes))
                    .map_err(|e| CliError::Engine(Box::new(e.into())))?,
            ),
            _ => None,
        };
        let options = Options {
            workers: usize::from(self.workers),
            cluster,
        };
        Ok(program.evaluate_dataflow(&options, limits)?)
    }
}
