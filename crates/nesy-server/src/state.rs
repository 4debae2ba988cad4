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
    /// Held by an update or a reload while it makes the next engine, so
    /// that two never start from the same one (and one's change is lost).
    pub(crate) changing: Mutex<()>,
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
            changing: Mutex::new(()),
        }))
    }

    /// Builds the engine again from the same files and swaps it in; on
    /// failure the old one keeps serving and the error is returned. `Ok`
    /// means the new engine answers the next request.
    pub fn reload(&self) -> Result<(), ServeError> {
        let _changing = self
            .changing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let served = Arc::new(build(&self.config, &self.allowed)?);
        // A thread that panicked holding the slot poisons it, but cannot
        // have left it half-written (it holds one `Arc`): the poison is
        // cleared and the swap made, rather than reporting a reload that
        // swapped nothing.
        let mut slot = self.served.write().unwrap_or_else(|poisoned| {
            self.served.clear_poison();
            poisoned.into_inner()
        });
        *slot = served;
        Ok(())
    }

    /// Inserts and deletes base facts ([`nesy::Engine::update`]) and
    /// swaps the updated engine in: requests already running finish on
    /// the old base, the next ones see the new. Updates are applied one
    /// at a time.
    pub fn update(
        &self,
        insert: &nesy::Input,
        delete: &nesy::Input,
    ) -> Result<nesy::Update, nesy::Error> {
        let _changing = self
            .changing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(current) = self.current() else {
            return Err(nesy::Error::Request(
                "no engine is being served".to_string(),
            ));
        };
        let mut engine = current.engine.clone();
        let update = engine.update(insert, delete)?;
        let served = Arc::new(Served {
            engine,
            graph: Arc::clone(&current.graph),
        });
        let mut slot = self.served.write().unwrap_or_else(|poisoned| {
            self.served.clear_poison();
            poisoned.into_inner()
        });
        *slot = served;
        Ok(update)
    }

    /// The service's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn current(&self) -> Option<Arc<Served>> {
        // Poison cannot leave the slot half-written (see `reload`).
        let slot = self
            .served
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(Arc::clone(&slot))
    }
}

pub(crate) fn build(config: &ServerConfig, allowed: &[PathBuf]) -> Result<Served, ServeError> {
    // `@import` and `@model` paths are checked against the served
    // directories before anything is opened.
    let mut builder = Engine::builder()
        .limits(config.limits.clone())
        .semiring(config.semiring)
        .incremental(config.incremental)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn state_serving(dir: &Path, rules: &str) -> Arc<State> {
        let file = dir.join("r.nesy");
        std::fs::write(&file, rules).unwrap();
        State::new(ServerConfig {
            rules: vec![file],
            ..ServerConfig::default()
        })
        .unwrap()
    }

    fn rules_served(state: &State) -> String {
        let served = state.current().unwrap();
        served.engine.sources()[0].1.clone()
    }

    /// A panic while the engine slot was held must not make a reload
    /// report success and swap nothing.
    #[test]
    fn a_reload_after_a_panic_holding_the_slot_swaps_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_serving(dir.path(), "p(1).\n");
        let poisoner = Arc::clone(&state);
        let _ = std::thread::spawn(move || {
            let _slot = poisoner.served.write().unwrap();
            panic!("a bug while holding the slot");
        })
        .join();
        assert!(state.served.is_poisoned());
        std::fs::write(dir.path().join("r.nesy"), "p(2).\n").unwrap();
        state.reload().unwrap();
        assert_eq!(rules_served(&state), "p(2).\n");
        assert!(!state.served.is_poisoned());
    }

    /// A refused reload keeps the old engine.
    #[test]
    fn a_refused_reload_keeps_the_old_engine() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_serving(dir.path(), "p(1).\n");
        std::fs::write(dir.path().join("r.nesy"), "p(X) :- q(Y).\n").unwrap();
        let refused = state.reload().unwrap_err();
        assert!(refused.to_string().contains("r.nesy:1:"), "{refused}");
        assert_eq!(rules_served(&state), "p(1).\n");
    }

    /// Imports are confined to the directories of the served files.
    #[test]
    fn files_outside_the_served_directories_are_refused() {
        let served = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("t.csv"), "a\n1\n").unwrap();
        let rules = format!(
            "@import t from \"{}\".\n",
            outside.path().join("t.csv").display()
        );
        let file = served.path().join("r.nesy");
        std::fs::write(&file, rules).unwrap();
        let refused = State::new(ServerConfig {
            rules: vec![file],
            ..ServerConfig::default()
        })
        .err()
        .unwrap();
        assert!(matches!(refused, ServeError::Confined(_)), "{refused}");
    }
}
