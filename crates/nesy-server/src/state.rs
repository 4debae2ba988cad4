//! The state every request shares: the engine being served (built,
//! confined to the served directories, reloaded and swapped atomically),
//! the concurrency slots, the counters and the decision log.

use crate::errors::describe;
use crate::{Metrics, ServerConfig};
use nesy::Engine;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::Semaphore;

/// What went wrong building or reloading the engine.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The rules, knowledge or models did not load.
    #[error("{0}")]
    Load(String),
    /// A file outside the directories the server was started with.
    #[error("{0}")]
    Confined(String),
}

/// The engine being served, with the knowledge graph SPARQL sees.
pub(crate) struct Served {
    pub(crate) engine: Engine,
    pub(crate) graph: Arc<nesy::kg::Graph>,
}

/// Shared by every request.
pub struct State {
    pub(crate) config: ServerConfig,
    pub(crate) served: RwLock<Arc<Served>>,
    /// Held by each evaluation (and reload) until its work has stopped.
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) metrics: Metrics,
    pub(crate) log: Option<Mutex<std::fs::File>>,
    pub(crate) next_id: AtomicU64,
    pub(crate) allowed: Vec<PathBuf>,
}

pub(crate) fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

impl State {
    /// Loads everything; fails with the loading errors (diagnostics as text).
    pub fn new(config: ServerConfig) -> Result<Arc<State>, ServeError> {
        let mut allowed: Vec<PathBuf> = config
            .rules
            .iter()
            .chain(&config.knowledge)
            .chain(config.models.iter().map(|m| &m.1))
            .filter_map(|p| canonical(p).parent().map(Path::to_path_buf))
            .chain(std::env::current_dir().ok().map(|d| canonical(&d)))
            .collect();
        allowed.sort();
        allowed.dedup();
        let log = match &config.decision_log {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| ServeError::Load(format!("{}: {e}", path.display())))?,
            )),
            None => None,
        };
        let served = build(&config, &allowed)?;
        Ok(Arc::new(State {
            permits: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            served: RwLock::new(Arc::new(served)),
            metrics: Metrics::default(),
            log,
            next_id: AtomicU64::new(1),
            allowed,
            config,
        }))
    }

    /// Builds the engine again from the same files and swaps it in; on
    /// failure the old one keeps serving and the error is returned.
    pub fn reload(&self) -> Result<(), ServeError> {
        let served = build(&self.config, &self.allowed)?;
        if let Ok(mut slot) = self.served.write() {
            *slot = Arc::new(served);
        }
        Ok(())
    }

    /// The service's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn current(&self) -> Option<Arc<Served>> {
        self.served.read().ok().map(|s| Arc::clone(&s))
    }
}

pub(crate) fn build(config: &ServerConfig, allowed: &[PathBuf]) -> Result<Served, ServeError> {
    // `@import` and `@model` paths are checked against the served
    // directories before anything is opened.
    let mut builder = Engine::builder()
        .limits(config.limits.clone())
        .semiring(config.semiring)
        .confine_to(allowed);
    for r in &config.rules {
        builder = builder.rules(r);
    }
    for k in &config.knowledge {
        builder = builder.knowledge(k);
    }
    for (name, path) in &config.models {
        builder = builder.model(name, path);
    }
    let engine = builder.build().map_err(|e| match e {
        nesy::Error::Confined { .. } => ServeError::Confined(e.to_string()),
        other => ServeError::Load(describe(&other)),
    })?;
    // SPARQL sees the RDF knowledge and what the rules derive.
    let graph = nesy::kg::Graph::in_memory().map_err(|e| ServeError::Load(e.to_string()))?;
    for k in &config.knowledge {
        if nesy::kg::format_of(k).is_some() {
            graph
                .load_file(k, None)
                .map_err(|e| ServeError::Load(e.to_string()))?;
        }
    }
    // The engine's own base evaluation: the program is evaluated once.
    engine
        .materialize(&graph, "urn:nesy:inferred")
        .map_err(|e| ServeError::Load(describe(&e)))?;
    Ok(Served {
        engine,
        graph: Arc::new(graph),
    })
}
