//! Building an [`Engine`]: rule files and texts, knowledge, models, the
//! semiring and limits, and where `@import`s may read.

use super::{Engine, EngineInfo, Inner};
use crate::ReadPolicy;
use crate::error::Error;
use crate::program::Program;
use nesy_engine::{Limits, SemiringKind};
use nesy_lang::ValueType;
use nesy_lang::ast::Item;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Builds an [`Engine`].
#[derive(Clone, Debug, Default)]
pub struct EngineBuilder {
    rules: Vec<PathBuf>,
    texts: Vec<(String, String)>,
    knowledge: Vec<PathBuf>,
    models: Vec<(String, PathBuf)>,
    limits: Limits,
    semiring: Option<SemiringKind>,
    policy: ReadPolicy,
    #[cfg(feature = "dataflow")]
    incremental: bool,
}

impl EngineBuilder {
    /// A rule file (its `@import`s and `@model`s resolve against its folder).
    pub fn rules(mut self, path: impl AsRef<Path>) -> Self {
        self.rules.push(path.as_ref().to_path_buf());
        self
    }

    /// Rule text, named `name` in messages.
    pub fn rules_text(mut self, name: &str, text: &str) -> Self {
        self.texts.push((name.to_string(), text.to_string()));
        self
    }

    /// Knowledge: a `.nesy` file of facts, or an RDF file whose triples
    /// become facts `p(s, o)`.
    pub fn knowledge(mut self, path: impl AsRef<Path>) -> Self {
        self.knowledge.push(path.as_ref().to_path_buf());
        self
    }

    /// A model file rules call as `name.method(...)`.
    pub fn model(mut self, name: &str, path: impl AsRef<Path>) -> Self {
        self.models
            .push((name.to_string(), path.as_ref().to_path_buf()));
        self
    }

    /// Reads `@import` and `@model` files only below these directories
    /// (checked before any is opened); the files given to the builder
    /// itself are read wherever they are.
    pub fn confine_to<P: AsRef<Path>>(mut self, dirs: impl IntoIterator<Item = P>) -> Self {
        self.policy = ReadPolicy::within(dirs);
        self
    }

    /// Limits for the base evaluation and for every request.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The semiring decisions' probabilities are computed in (default
    /// `bool`: every tuple that holds has probability 1).
    pub fn semiring(mut self, semiring: SemiringKind) -> Self {
        self.semiring = Some(semiring);
        self
    }

    /// Keeps a differential dataflow of the program running, so that
    /// [`Engine::update`] re-derives only what changed facts reach
    /// (feature `dataflow`). The program must be one the dataflow backend
    /// runs: no model calls, the `bool` semiring.
    #[cfg(feature = "dataflow")]
    pub fn incremental(mut self, incremental: bool) -> Self {
        self.incremental = incremental;
        self
    }

    /// Checks, loads and evaluates everything.
    pub fn build(self) -> Result<Engine, Error> {
        let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let mut files: Vec<PathBuf> = self.rules.clone();
        let mut generated = String::new();
        for k in &self.knowledge {
            if k.extension().is_some_and(|e| e == "nesy") {
                files.push(k.clone());
            } else {
                generated.push_str(&format!("@import {:?}.\n", abs(k).display().to_string()));
            }
        }
        for (name, path) in &self.models {
            generated.push_str(&format!(
                "@model {name} = {:?}.\n",
                abs(path).display().to_string()
            ));
        }
        let mut texts = self.texts.clone();
        if !generated.is_empty() {
            // Models first: the rules that call them compile after.
            texts.insert(0, ("<engine>".to_string(), generated));
        }
        // The knowledge and model files given here are read where they are.
        let given = self
            .knowledge
            .iter()
            .chain(self.models.iter().map(|m| &m.1))
            .filter_map(|p| abs(p).parent().map(Path::to_path_buf));
        let policy = self.policy.also(given);
        let program = Program::from_files_confined(&files, &texts, &policy)?;
        let prepared = program
            .engine()
            .prepare(&self.limits)?
            .with_semiring(self.semiring.unwrap_or(SemiringKind::Bool), &self.limits)?;
        let mut decls = HashMap::new();
        let mut info = EngineInfo {
            sources: files
                .iter()
                .map(|f| f.display().to_string())
                .chain(self.texts.iter().map(|t| t.0.clone()))
                .collect(),
            semiring: self.semiring.unwrap_or(SemiringKind::Bool).to_string(),
            ..EngineInfo::default()
        };
        for source in program.sources() {
            for item in &source.program.items {
                match item {
                    Item::Decl(d) => {
                        let fields: Vec<(String, Option<ValueType>)> = d
                            .fields
                            .iter()
                            .map(|f| (f.name.text.clone(), ValueType::from_name(&f.ty.text)))
                            .collect();
                        info.declared.insert(
                            d.relation.text.clone(),
                            fields.iter().map(|f| f.0.clone()).collect(),
                        );
                        info.declared_types.insert(
                            d.relation.text.clone(),
                            d.fields.iter().map(|f| f.ty.text.clone()).collect(),
                        );
                        decls.insert(d.relation.text.clone(), fields);
                    }
                    Item::Model(m) => {
                        info.models
                            .insert(m.name.text.clone(), m.path.value.clone());
                    }
                    _ => {}
                }
            }
        }
        #[cfg(feature = "dataflow")]
        let live = if self.incremental {
            if self.semiring.is_some_and(|s| s != SemiringKind::Bool) {
                return Err(Error::Request(
                    "incremental updates run the bool semiring only".to_string(),
                ));
            }
            let live = nesy_dataflow::Live::start(program.engine(), 1)?;
            Some(std::sync::Arc::new(std::sync::Mutex::new(live)))
        } else {
            None
        };
        let base = prepared.base();
        for name in base.relation_names() {
            if let Some(r) = base.relation(&name) {
                info.relations.insert(name.clone(), r.arity);
            }
        }
        info.derived = base
            .derived_relations()
            .into_iter()
            .map(str::to_string)
            .collect();
        Ok(Engine::new(Inner {
            program,
            prepared,
            decls,
            limits: self.limits,
            semiring: self.semiring.unwrap_or(SemiringKind::Bool),
            info,
            version: 0,
            #[cfg(feature = "dataflow")]
            live,
        }))
    }
}
