//! Learning a program's tunable probabilities (`t(...)`) from examples,
//! by gradient descent through the rules: each example's probability is
//! computed under `diff-top-k` with its gradient, and the parameters
//! follow the gradient of the cross-entropy.
//!
//! ```
//! use nesy::{Example, Program, TrainOptions, Value};
//!
//! let program = Program::from_source("coin.nesy", "t(0.5) :: heads.")?;
//! // Eight tosses, six heads: the most likely probability is 0.75.
//! let examples: Vec<Example> = (0..8)
//!     .map(|i| Example::new("heads", vec![], if i < 6 { 1.0 } else { 0.0 }))
//!     .collect();
//! let options = TrainOptions { epochs: 200, batch: 8, learning_rate: 0.05, ..TrainOptions::default() };
//! let trained = program.train(&examples, &[], &options, &mut |_| {})?;
//! assert!((trained.weights["heads"] - 0.75).abs() < 1e-3);
//! assert!(trained.program.trained_source(0).unwrap().contains("t(0.75) :: heads."));
//! # Ok::<(), nesy::Error>(())
//! ```

use crate::{Error, Program};
use nesy_engine::{Clock, Limits, ParamKey, SemiringKind, TaggedEvaluation, Value};
use nesy_lang::ast::{Clause, Item, Literal, ProbabilityKind, TestEntry};
use nesy_lang::{Location, SourceFile};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
#[cfg(feature = "learn")]
use std::sync::Arc;
use std::time::Instant;

/// One labelled conclusion: an atom and the probability it should have
/// (DeepProbLog's query examples: `addition(img3, img9, 12)` with 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// The relation.
    pub relation: String,
    /// The atom's values.
    pub tuple: Vec<Value>,
    /// The probability it should have, in [0, 1].
    pub target: f64,
    /// Facts the example brings (its inputs, as a decision request's):
    /// added while it is evaluated.
    pub facts: Vec<(String, Vec<Value>)>,
    /// Where it was read, if from a file.
    pub location: Option<Location>,
}

impl Example {
    /// An example made in code.
    pub fn new(relation: &str, tuple: Vec<Value>, target: f64) -> Self {
        Example {
            relation: relation.to_string(),
            tuple,
            target,
            facts: Vec::new(),
            location: None,
        }
    }
}

/// How to train.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// The semiring examples are counted under (`diff-top-k(K)`; exact
    /// when K covers every proof).
    pub semiring: SemiringKind,
    /// Passes over the examples.
    pub epochs: usize,
    /// Examples per step.
    pub batch: usize,
    /// Step size of gradient descent on the probabilities.
    pub learning_rate: f64,
    /// Seeds the example order and the starting values of `t(_)`.
    pub seed: u64,
    /// AdamW's step size for the networks of neural predicates.
    pub network_learning_rate: f64,
    /// Bounds each evaluation.
    pub limits: Limits,
    /// With more than 1: that many runs start (the networks' weights, the
    /// example order and `t(_)` drawn from the seed plus the run's number;
    /// the first keeps the networks as given), each goes
    /// `restart_steps` steps, and the one most accurate on the validation
    /// examples goes on (a neural predicate can settle early where its
    /// classes do not mean what the rules say).
    pub restarts: usize,
    /// Steps (batches) each restart takes before the choice.
    pub restart_steps: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            semiring: SemiringKind::DiffTopK(nesy_engine::DEFAULT_K),
            epochs: 10,
            batch: 16,
            learning_rate: 0.1,
            seed: 0,
            network_learning_rate: 1e-3,
            limits: Limits::default(),
            restarts: 1,
            restart_steps: 40,
        }
    }
}

/// What one epoch gave.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// Counted from 1.
    pub epoch: usize,
    /// Mean cross-entropy of the training examples during the epoch.
    pub loss: f64,
    /// On the validation examples after the epoch, if there are any.
    pub valid_accuracy: Option<f64>,
}

/// A trained program and how training went.
#[derive(Clone, Debug)]
pub struct Trained {
    /// The program with the learned values.
    pub program: Program,
    /// One report per epoch.
    pub epochs: Vec<EpochReport>,
    /// The learned values, by what they weigh: the fact (`edge(a, b)`), the
    /// rule (its `@name`, or `rule FILE:LINE:COL`) and head.
    pub weights: BTreeMap<String, f64>,
    /// Wall time per epoch.
    pub seconds_per_epoch: f64,
    /// EM: interpretations left out of the last step because their
    /// evidence had probability 0 (`problog lfi` warns "Ignoring example").
    pub ignored_interpretations: usize,
    /// With restarts: each run's validation accuracy when the choice was
    /// made, in order (the first best went on).
    pub restarts: Vec<f64>,
}

impl Trained {
    /// With restarts: the run that went on (the first of the most
    /// accurate on validation).
    pub fn chosen_restart(&self) -> Option<usize> {
        first_best(&self.restarts)
    }
}

/// The place of the first largest accuracy.
fn first_best(accuracies: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &a) in accuracies.iter().enumerate() {
        if best.is_none_or(|(_, b)| a > b) {
            best = Some((i, a));
        }
    }
    best.map(|(i, _)| i)
}

/// How well a program predicts examples.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ExampleScores {
    /// Examples predicted right: `r(a, b, v)` with target 1 is right when
    /// `v` is the most probable last argument given the others (with
    /// target 0, when it is not); an atom of no arguments is right when its
    /// probability is on the target's side of 0.5.
    pub accuracy: f64,
    /// The sum over examples of `t ln p + (1 - t) ln (1 - p)`.
    pub log_likelihood: f64,
    /// How many examples.
    pub examples: usize,
}

/// One interpretation: atoms observed true or false (ProbLog's
/// `evidence(atom, true).`).
pub type Interpretation = Vec<(String, Vec<Value>, bool)>;

/// Keeps probabilities off 0 and 1, where a log has no gradient.
const EDGE: f64 = 1e-4;

impl Program {
    /// Reads an examples file: one example per line, `atom<TAB>probability`
    /// (`addition(img3, img9, 12)`, a tab, `1`), optionally a third column
    /// of facts the example brings, separated by `;` (`pair(img3, img9)`:
    /// its inputs, added while it is evaluated); blank lines and lines
    /// starting with `#` or `%` are skipped. A malformed line is an error
    /// naming the file and line.
    pub fn read_examples(&self, path: &Path) -> Result<Vec<Example>, Error> {
        let mut examples = Vec::new();
        for (location, line) in numbered_lines(path)? {
            let bad = |message: String| Error::Examples {
                location: location.clone(),
                message,
            };
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('%') {
                continue;
            }
            let mut columns = line.split('\t');
            let atom = columns.next().unwrap_or_default();
            let (Some(target), facts) = (columns.next(), columns.next()) else {
                return Err(bad(
                    "expected `atom<TAB>probability`, e.g. `edge(a, b)\t1`".to_string()
                ));
            };
            if columns.next().is_some() {
                return Err(bad(
                    "expected at most three columns: atom, probability, facts".to_string(),
                ));
            }
            let facts = facts
                .unwrap_or_default()
                .split(';')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(|f| {
                    let (relation, tuple) = self.ground_atom(f.trim_end_matches('.'))?;
                    // As for a decision request: input never stands in for
                    // a conclusion.
                    if self.engine.accepts_input(&relation) {
                        Ok((relation, tuple))
                    } else {
                        Err(format!(
                            "an example may bring facts of the program's inputs only (`@input`, or relations no rule derives), not of `{relation}`"
                        ))
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(bad)?;
            let target: f64 = target
                .trim()
                .parse()
                .map_err(|_| bad(format!("`{}` is not a probability", target.trim())))?;
            if !(0.0..=1.0).contains(&target) {
                return Err(bad(format!("the target {target} is outside [0, 1]")));
            }
            let (relation, tuple) = self.ground_atom(atom.trim()).map_err(bad)?;
            examples.push(Example {
                relation,
                tuple,
                target,
                facts,
                location: Some(location),
            });
        }
        Ok(examples)
    }

    /// Reads ProbLog's evidence files (`problog lfi`'s examples): lines
    /// `evidence(atom, true).` or `evidence(atom, false).` (`evidence(atom).`
    /// is true), interpretations separated by lines of dashes; `%` starts a
    /// comment. A malformed line is an error naming the file and line.
    pub fn read_interpretations(&self, path: &Path) -> Result<Vec<Interpretation>, Error> {
        let mut all = Vec::new();
        let mut current: Interpretation = Vec::new();
        for (location, line) in numbered_lines(path)? {
            let line = without_comment(&line).trim();
            if line.is_empty() {
                continue;
            }
            if line.len() >= 3 && line.chars().all(|c| c == '-') {
                all.push(std::mem::take(&mut current));
                continue;
            }
            let bad = |message: String| Error::Examples {
                location: location.clone(),
                message,
            };
            let inner = line
                .strip_prefix("evidence(")
                .and_then(|r| r.strip_suffix('.'))
                .and_then(|r| r.trim_end().strip_suffix(')'))
                .ok_or_else(|| {
                    bad("expected `evidence(atom, true).` or `evidence(atom, false).`".to_string())
                })?;
            let (atom, holds) = match inner.rsplit_once(',').map(|(a, v)| (a, v.trim())) {
                Some((atom, "true")) => (atom, true),
                Some((atom, "false")) => (atom, false),
                Some((atom, value))
                    if value.chars().all(|c| c.is_ascii_lowercase())
                        && self.ground_atom(atom.trim()).is_ok() =>
                {
                    return Err(bad(format!(
                        "the observed value is `true` or `false`, not `{value}`"
                    )));
                }
                _ => (inner, true),
            };
            let (relation, tuple) = self.ground_atom(atom.trim()).map_err(bad)?;
            current.push((relation, tuple, holds));
        }
        if !current.is_empty() {
            all.push(current);
        }
        all.retain(|i| !i.is_empty());
        Ok(all)
    }

    /// `r(a, 1, "x")` as a relation and values; every argument a constant.
    fn ground_atom(&self, text: &str) -> Result<(String, Vec<Value>), String> {
        let parsed = nesy_lang::parse(&format!("?- {text}."));
        let atom = match parsed.program.items.as_slice() {
            [Item::Query(q)] if parsed.diagnostics.is_empty() => match q.body.as_slice() {
                [Literal::Atom(atom)] => atom.clone(),
                _ => return Err(format!("`{text}` is not one atom")),
            },
            _ => return Err(format!("`{text}` is not an atom")),
        };
        let tuple = atom
            .args
            .iter()
            .map(|a| match a {
                nesy_lang::ast::Expr::Const(c) => Ok(self.engine.constant_value(&c.value)),
                _ => Err(format!("`{text}`: every argument of an example is a value")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let arity = self
            .engine
            .relations()
            .find(|(name, _)| *name == atom.relation.text)
            .map(|(_, arity)| arity);
        match arity {
            None => {
                return Err(format!(
                    "no relation `{}` in the program",
                    atom.relation.text
                ));
            }
            Some(Some(n)) if n != tuple.len() => {
                return Err(format!(
                    "`{}` has {n} arguments in the program, {} here",
                    atom.relation.text,
                    tuple.len()
                ));
            }
            _ => {}
        }
        Ok((atom.relation.text, tuple))
    }

    /// Learns the program's tunable probabilities from `examples`: each
    /// epoch visits them in a seeded order, in batches, and each
    /// probability moves against the batch's mean gradient of the
    /// cross-entropy (kept inside (0, 1), and an annotated disjunction's
    /// heads summing to at most 1). The program is evaluated once under
    /// `options.semiring` ([`nesy_engine::Prepared`]); each example is a
    /// request on it, on all cores: its facts derive again only what they
    /// reach, and no example sees another's. The base is evaluated again
    /// after a step that moved a probability, or changed a network that
    /// the base called.
    /// `t(_)` starts from a value drawn from the seed. Same seed, same
    /// result. `progress` hears each epoch.
    pub fn train(
        &self,
        examples: &[Example],
        valid: &[Example],
        options: &TrainOptions,
        progress: &mut dyn FnMut(&EpochReport),
    ) -> Result<Trained, Error> {
        if examples.is_empty() {
            return Err(Error::Training("no training examples".to_string()));
        }
        let start = Instant::now();
        // One deadline for the whole run.
        let clock = Clock::start(&options.limits);
        let (mut run, restarts) = if options.restarts > 1 {
            self.best_start(examples, valid, options, &clock)?
        } else {
            (
                self.start_run(examples.len(), options, 0, &clock)?,
                Vec::new(),
            )
        };
        let mut reports = Vec::new();
        for epoch in 1..=options.epochs {
            // A restart's first steps were this epoch's beginning.
            if epoch != 1 || restarts.is_empty() {
                run.begin_epoch();
            }
            while !run.epoch_done() {
                run.step(examples, options, &clock)?;
            }
            let report = EpochReport {
                epoch,
                loss: run.loss / examples.len() as f64,
                valid_accuracy: self.valid_accuracy(&run, valid, options, &clock)?,
            };
            progress(&report);
            reports.push(report);
        }
        let seconds_per_epoch = start.elapsed().as_secs_f64() / options.epochs.max(1) as f64;
        let program = run.program(self);
        Ok(Trained {
            weights: program.learned_weights(),
            program,
            epochs: reports,
            seconds_per_epoch,
            ignored_interpretations: 0,
            restarts,
        })
    }

    /// A run from its seeded start: restart `restart` draws `t(_)`, the
    /// example order and (after the first) the networks' weights from the
    /// seed plus `restart`.
    fn start_run(
        &self,
        examples: usize,
        options: &TrainOptions,
        restart: u64,
        clock: &Clock,
    ) -> Result<Run, Error> {
        let seeded = TrainOptions {
            seed: options.seed.wrapping_add(restart),
            ..options.clone()
        };
        let (engine, rng) = self.start_training(&seeded)?;
        #[cfg(feature = "learn")]
        let mut engine = engine;
        #[cfg(feature = "learn")]
        let nets = crate::train_nets::NetTraining::start(
            &self.nets,
            &mut engine,
            options.network_learning_rate,
            (restart > 0).then_some(seeded.seed),
        )?;
        let requests = Requests::prepare(&engine, options, clock)?;
        Ok(Run {
            engine,
            rng,
            #[cfg(feature = "learn")]
            nets,
            requests,
            order: (0..examples).collect(),
            next: examples,
            loss: 0.0,
        })
    }

    /// `options.restarts` runs, each taken `options.restart_steps` steps
    /// into its first epoch and scored on `valid`; the best (the first of
    /// equals) goes on. Returns it and every run's validation accuracy.
    fn best_start(
        &self,
        examples: &[Example],
        valid: &[Example],
        options: &TrainOptions,
        clock: &Clock,
    ) -> Result<(Run, Vec<f64>), Error> {
        if valid.is_empty() {
            return Err(Error::Training(
                "restarts are chosen on validation examples: give some (`--valid`)".to_string(),
            ));
        }
        let mut best: Option<Run> = None;
        let mut accuracies = Vec::new();
        for restart in 0..options.restarts {
            let mut run = self.start_run(examples.len(), options, restart as u64, clock)?;
            run.begin_epoch();
            for _ in 0..options.restart_steps {
                if run.epoch_done() {
                    break;
                }
                run.step(examples, options, clock)?;
            }
            let accuracy = self
                .valid_accuracy(&run, valid, options, clock)?
                .unwrap_or(0.0);
            accuracies.push(accuracy);
            if first_best(&accuracies) == Some(restart) {
                best = Some(run);
            }
        }
        match best {
            Some(run) => Ok((run, accuracies)),
            None => Err(Error::Training("no restart ran".to_string())),
        }
    }

    /// The accuracy on `valid` of the program as `run` has it (`None`
    /// without validation examples).
    fn valid_accuracy(
        &self,
        run: &Run,
        valid: &[Example],
        options: &TrainOptions,
        clock: &Clock,
    ) -> Result<Option<f64>, Error> {
        if valid.is_empty() {
            return Ok(None);
        }
        let limits = clock.remaining(&options.limits)?;
        let scores = run
            .program(self)
            .score(valid, options.semiring, &limits)
            .map_err(|e| match e {
                Error::Engine(e) => Error::Engine(clock.overall(e)),
                other => other,
            })?;
        Ok(Some(scores.accuracy))
    }

    /// Learns the tunable probabilities from interpretations by
    /// expectation maximization, as `problog lfi` does: each iteration
    /// evaluates the program once, takes each tunable event's posterior
    /// given each interpretation's evidence, and sets each probability to
    /// the mean posterior of its events (a fact: one per interpretation; a
    /// rule: one per ground instance). It stops after `options.epochs`
    /// iterations or when no probability moves by more than 1e-10. `t(_)`
    /// starts from the seed. As in `problog lfi`: a rule's probability is
    /// the expected number of its instances that happened over the
    /// expected number whose body held; an annotated disjunction's
    /// tunable heads are then scaled to take all the probability its
    /// written heads leave; an interpretation whose evidence has
    /// probability 0 is left out of the step (and counted in
    /// [`Trained::ignored_interpretations`]).
    pub fn train_em(
        &self,
        interpretations: &[Interpretation],
        options: &TrainOptions,
        progress: &mut dyn FnMut(&EpochReport),
    ) -> Result<Trained, Error> {
        if interpretations.is_empty() {
            return Err(Error::Training("no interpretations".to_string()));
        }
        let (mut engine, _) = self.start_training(options)?;
        let start = Instant::now();
        let mut reports = Vec::new();
        // One deadline for the whole run.
        let clock = Clock::start(&options.limits);
        let mut ignored_interpretations = 0;
        for epoch in 1..=options.epochs.max(1) {
            let limits = clock.remaining(&options.limits)?;
            let tagged = engine
                .evaluate_tagged(options.semiring, &limits)
                .map_err(|e| clock.overall(e))?;
            let units = engine.em_units(&tagged);
            let mut sums: BTreeMap<ParamKey, (f64, f64)> = BTreeMap::new();
            let mut log_likelihood = 0.0;
            let mut ignored = 0;
            for evidence in interpretations {
                let counts = engine.expected_counts(&tagged, &units, evidence, &clock)?;
                // As `problog lfi` does: evidence the program cannot
                // produce says nothing of its weights.
                if counts.evidence <= 0.0 {
                    ignored += 1;
                    continue;
                }
                log_likelihood += counts.evidence.ln();
                for (key, (happened, body)) in counts.counts {
                    let entry = sums.entry(key).or_default();
                    entry.0 += happened;
                    entry.1 += body;
                }
            }
            if ignored == interpretations.len() {
                return Err(Error::Training(
                    "every interpretation's evidence has probability 0 under the program"
                        .to_string(),
                ));
            }
            // A parameter whose body no interpretation makes true keeps
            // its value (the examples say nothing of it).
            let updated: Vec<(ParamKey, f64)> = sums
                .into_iter()
                .filter(|(_, (_, body))| *body > 1e-15)
                .map(|(key, (happened, body))| (key, (happened / body).clamp(0.0, 1.0)))
                .collect();
            let before: BTreeMap<ParamKey, f64> = engine.parameters().into_iter().collect();
            engine.set_parameters(updated);
            engine.complete_disjunctions();
            let moved = engine
                .parameters()
                .into_iter()
                .map(|(key, value)| before.get(&key).map_or(0.0, |old| (value - old).abs()))
                .fold(0.0, f64::max);
            let report = EpochReport {
                epoch,
                loss: -log_likelihood / interpretations.len() as f64,
                valid_accuracy: None,
            };
            progress(&report);
            reports.push(report);
            ignored_interpretations = ignored;
            if moved < 1e-10 {
                break;
            }
        }
        let seconds_per_epoch = start.elapsed().as_secs_f64() / reports.len().max(1) as f64;
        #[cfg(feature = "learn")]
        let program = self.with_learned(engine, &[]);
        #[cfg(not(feature = "learn"))]
        let program = self.with_learned(engine);
        Ok(Trained {
            weights: program.learned_weights(),
            program,
            epochs: reports,
            seconds_per_epoch,
            ignored_interpretations,
            restarts: Vec::new(),
        })
    }

    /// This program with a trained engine (and, with networks, their
    /// trained copies).
    fn with_learned(
        &self,
        engine: nesy_engine::Program,
        #[cfg(feature = "learn")] nets: &[crate::train_nets::NetTraining],
    ) -> Program {
        let mut program = self.clone();
        program.engine = engine;
        #[cfg(feature = "learn")]
        if !nets.is_empty() {
            program.nets = nets
                .iter()
                .map(|n| (n.name.clone(), Arc::clone(&n.model)))
                .collect();
        }
        program
    }

    /// The engine training starts from: its `t(_)` drawn from the seed
    /// (disjunctions projected back under 1), and the seeded generator,
    /// which goes on to order the examples. Refuses a semiring that keeps
    /// no proofs and a program with nothing to learn.
    fn start_training(
        &self,
        options: &TrainOptions,
    ) -> Result<(nesy_engine::Program, ChaCha8Rng), Error> {
        if !options.semiring.keeps_proofs() {
            return Err(Error::Training(format!(
                "training counts proofs: use diff-top-k, not {}",
                options.semiring
            )));
        }
        for (name, rate) in [
            ("learning rate", options.learning_rate),
            ("network learning rate", options.network_learning_rate),
        ] {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(Error::Training(format!(
                    "the {name} is a positive number, not {rate}"
                )));
            }
        }
        let mut engine = self.engine.clone();
        #[cfg(feature = "learn")]
        let networks = !self.nets.is_empty();
        #[cfg(not(feature = "learn"))]
        let networks = false;
        if engine.parameters().is_empty() && !networks {
            return Err(Error::Training(
                "nothing to learn: the program has no tunable probability `t(...)` and no network"
                    .to_string(),
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        let seeded: Vec<(ParamKey, f64)> = self
            .tunable()
            .into_iter()
            .filter(|t| t.kind == ProbabilityKind::Seeded)
            .map(|t| (t.key, rng.gen_range(0.1..0.9)))
            .collect();
        engine.set_parameters(seeded);
        engine.normalize_disjunctions(EDGE);
        Ok((engine, rng))
    }

    /// Accuracy and log-likelihood of `examples` under `semiring` (see
    /// [`ExampleScores`]).
    pub fn score(
        &self,
        examples: &[Example],
        semiring: SemiringKind,
        limits: &Limits,
    ) -> Result<ExampleScores, Error> {
        let options = TrainOptions {
            semiring,
            limits: limits.clone(),
            ..TrainOptions::default()
        };
        // One deadline for every example.
        let clock = Clock::start(limits);
        let requests = Requests::prepare(&self.engine, &options, &clock)?;
        let all: Vec<&Example> = examples.iter().collect();
        let judged = requests.judge(&all, &options, &clock)?;
        let mut right = 0usize;
        let mut log_likelihood = 0.0;
        for (example, (p, best)) in examples.iter().zip(judged) {
            let p = p.clamp(EDGE, 1.0 - EDGE);
            let t = example.target;
            log_likelihood += t * p.ln() + (1.0 - t) * (1.0 - p).ln();
            let predicted = best == Some(true);
            if predicted == (t >= 0.5) {
                right += 1;
            }
        }
        Ok(ExampleScores {
            accuracy: if examples.is_empty() {
                0.0
            } else {
                right as f64 / examples.len() as f64
            },
            log_likelihood,
            examples: examples.len(),
        })
    }

    /// Source `index` with each `t(...)` written as its current value
    /// (`t(0.731)`, so that it can be trained again), formatted as `nesy
    /// fmt` would.
    pub fn trained_source(&self, index: usize) -> Option<String> {
        self.trained_source_with(index, &BTreeMap::new())
    }

    /// [`Program::trained_source`], each `@model` named in `models` reading
    /// the file given there instead.
    fn trained_source_with(
        &self,
        index: usize,
        models: &BTreeMap<String, String>,
    ) -> Option<String> {
        let checked = self.sources.get(index)?;
        let values: BTreeMap<ParamKey, f64> = self.engine.parameters().into_iter().collect();
        let mut text = checked.source.text().to_string();
        let mut tunable: Vec<Tunable> = self
            .tunable()
            .into_iter()
            .filter(|t| *t.key.file == *checked.source.name())
            .collect();
        let mut edits: Vec<(usize, usize, String)> = Vec::new();
        for item in &checked.program.items {
            if let Item::Model(decl) = item
                && let Some(file) = models.get(&decl.name.text)
            {
                edits.push((
                    decl.path.span.start,
                    decl.path.span.end,
                    format!("{file:?}"),
                ));
            }
        }
        tunable.sort_by_key(|t| std::cmp::Reverse(t.key.offset));
        for t in tunable {
            let Some(value) = values.get(&t.key) else {
                continue;
            };
            // A tunable probability stays inside (0, 1), so that the file
            // checks and trains again: 0 and 1 are written 1e-6 inside.
            let value = value.clamp(1e-6, 1.0 - 1e-6);
            edits.push((t.span.0, t.span.1, format!("t({})", short(value))));
        }
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        for (start, end, replacement) in edits {
            text.replace_range(start..end, &replacement);
        }
        Some(nesy_lang::format_source(&text).unwrap_or(text))
    }

    /// Writes the trained program: the first rule file with its learned
    /// values to `output`, and each network of a neural predicate beside it
    /// (`OUT.NAME.net`, the file's `@model` pointing at it). Returns the
    /// files written.
    pub fn write_trained(&self, output: &Path) -> Result<Vec<std::path::PathBuf>, Error> {
        #[cfg_attr(not(feature = "learn"), allow(unused_mut))]
        let mut written = Vec::new();
        #[cfg_attr(not(feature = "learn"), allow(unused_mut))]
        let mut models: BTreeMap<String, String> = BTreeMap::new();
        #[cfg(feature = "learn")]
        for (name, model) in &self.nets {
            let (path, file_name) = crate::train_nets::save_network(name, model, output)?;
            models.insert(name.clone(), file_name);
            written.push(path);
        }
        let text = self.trained_source_with(0, &models).unwrap_or_default();
        std::fs::write(output, text).map_err(|source| Error::Io {
            path: output.to_path_buf(),
            source,
        })?;
        written.insert(0, output.to_path_buf());
        Ok(written)
    }

    /// The learned values by what they weigh.
    fn learned_weights(&self) -> BTreeMap<String, f64> {
        let values: BTreeMap<ParamKey, f64> = self.engine.parameters().into_iter().collect();
        let mut out = BTreeMap::new();
        for t in self.tunable() {
            if let Some(value) = values.get(&t.key) {
                let mut name = t.what.clone();
                if out.contains_key(&name) {
                    name = format!("{name} at {}", t.location);
                }
                out.insert(name, round(*value));
            }
        }
        out
    }

    /// Every `t(...)` of the sources, in order.
    fn tunable(&self) -> Vec<Tunable> {
        let mut out = Vec::new();
        for checked in &self.sources {
            let source = &checked.source;
            for item in &checked.program.items {
                match item {
                    Item::Clause(c) => tunable_of(source, c, &mut out),
                    Item::Test(t) => {
                        for entry in &t.entries {
                            if let TestEntry::Given(g) = entry {
                                for c in &g.clauses {
                                    tunable_of(source, c, &mut out);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

/// A line of an evidence file up to its `%` comment (a `%` inside a
/// quoted string is text).
fn without_comment(line: &str) -> &str {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '%' if !quoted => return line.get(..i).unwrap_or(line),
            _ => {}
        }
    }
    line
}

/// A file's lines, each with its location (`file:line`).
fn numbered_lines(path: &Path) -> Result<Vec<(Location, String)>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file: std::sync::Arc<str> = path.display().to_string().into();
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let location = Location {
                file: file.clone(),
                line: Some(i + 1),
                column: None,
            };
            (location, line.to_string())
        })
        .collect())
}

/// One training run: the engine with its current probabilities, the
/// seeded generator, the networks being trained, the prepared base, and
/// where it is in the current epoch.
struct Run {
    engine: nesy_engine::Program,
    rng: ChaCha8Rng,
    #[cfg(feature = "learn")]
    nets: Vec<crate::train_nets::NetTraining>,
    requests: Requests,
    /// The examples' order, shuffled again each epoch.
    order: Vec<usize>,
    /// Where the next batch starts in `order`.
    next: usize,
    /// The current epoch's summed loss so far.
    loss: f64,
}

impl Run {
    fn begin_epoch(&mut self) {
        self.order.shuffle(&mut self.rng);
        self.next = 0;
        self.loss = 0.0;
    }

    fn epoch_done(&self) -> bool {
        self.next >= self.order.len()
    }

    /// One step: the next batch's gradients, then the probabilities and
    /// networks move; the base is prepared again if what it was tagged
    /// with changed.
    fn step(
        &mut self,
        examples: &[Example],
        options: &TrainOptions,
        clock: &Clock,
    ) -> Result<(), Error> {
        let end = (self.next + options.batch.max(1)).min(self.order.len());
        let chunk = self.order.get(self.next..end).unwrap_or_default();
        self.next = end;
        let batch_examples: Vec<&Example> = chunk.iter().filter_map(|&i| examples.get(i)).collect();
        let gradients = self.requests.gradients(&batch_examples, options, clock)?;
        let mut step: BTreeMap<ParamKey, f64> = BTreeMap::new();
        #[cfg(feature = "learn")]
        let mut net_gradients = crate::train_nets::NetGradients::default();
        for (example, gradient) in batch_examples.iter().zip(gradients) {
            let p = gradient.probability.clamp(EDGE, 1.0 - EDGE);
            let t = example.target;
            self.loss -= t * p.ln() + (1.0 - t) * (1.0 - p).ln();
            // d(cross-entropy)/dp
            let d_loss = (p - t) / (p * (1.0 - p));
            for (key, d) in gradient.parameters {
                *step.entry(key).or_default() += d_loss * d;
            }
            #[cfg(feature = "learn")]
            for (answer, d) in &gradient.answers {
                net_gradients.add(&self.nets, answer, d_loss * d);
            }
        }
        let n = batch_examples.len().max(1) as f64;
        #[cfg(feature = "learn")]
        net_gradients.apply(&mut self.nets, n)?;
        let moved = !step.is_empty();
        let current: BTreeMap<ParamKey, f64> = self.engine.parameters().into_iter().collect();
        let updated: Vec<(ParamKey, f64)> = step
            .into_iter()
            .filter_map(|(key, g)| {
                let value = current.get(&key)?;
                let moved = value - options.learning_rate * g / n;
                Some((key, moved.clamp(EDGE, 1.0 - EDGE)))
            })
            .collect();
        self.engine.set_parameters(updated);
        self.engine.normalize_disjunctions(EDGE);
        // The base's tags hold the probabilities it was tagged with, and
        // the answers of the networks it called.
        #[cfg(feature = "learn")]
        let stale = moved
            || self
                .nets
                .iter()
                .any(|n| self.requests.base_calls_model(&n.name));
        #[cfg(not(feature = "learn"))]
        let stale = moved;
        if stale {
            self.requests = Requests::prepare(&self.engine, options, clock)?;
        }
        Ok(())
    }

    /// `program` with this run's probabilities and networks.
    fn program(&self, program: &Program) -> Program {
        #[cfg(feature = "learn")]
        return program.with_learned(self.engine.clone(), &self.nets);
        #[cfg(not(feature = "learn"))]
        return program.with_learned(self.engine.clone());
    }
}

/// The program prepared once under the training semiring, each example a
/// request on it: an example's facts re-derive only the relations they
/// reach, and no example sees another's facts. The base is prepared again
/// when a step changes what its tags hold (see `train`).
struct Requests {
    prepared: nesy_engine::Prepared,
}

impl Requests {
    /// Within the time `clock` has left (one deadline for a whole run).
    fn prepare(
        engine: &nesy_engine::Program,
        options: &TrainOptions,
        clock: &Clock,
    ) -> Result<Self, Error> {
        let limits = clock.remaining(&options.limits)?;
        let prepared = engine
            .prepare(&limits)
            .and_then(|p| p.with_semiring(options.semiring, &limits))
            .map_err(|e| clock.overall(e))?;
        Ok(Requests { prepared })
    }

    #[cfg(feature = "learn")]
    fn base_calls_model(&self, name: &str) -> bool {
        self.prepared.base_calls_model(name)
    }

    /// Each example's request, evaluated on all cores, in order, within
    /// the time `clock` has left.
    fn map<T: Send>(
        &self,
        examples: &[&Example],
        options: &TrainOptions,
        clock: &Clock,
        each: impl Fn(&Example, &TaggedEvaluation) -> Result<T, Error> + Sync,
    ) -> Result<Vec<T>, Error> {
        examples
            .par_iter()
            .map(|example| {
                let limits = clock.remaining(&options.limits)?;
                let tagged = self
                    .prepared
                    .evaluate_tagged_with(&example.facts, &limits)
                    .map_err(|e| clock.overall(e))?;
                each(example, &tagged)
            })
            .collect()
    }

    /// Each example's probability and gradient.
    fn gradients(
        &self,
        examples: &[&Example],
        options: &TrainOptions,
        clock: &Clock,
    ) -> Result<Vec<nesy_engine::Gradient>, Error> {
        let program = self.prepared.program();
        self.map(examples, options, clock, |example, tagged| {
            Ok(program.gradient(tagged, &example.relation, &example.tuple, clock)?)
        })
    }

    /// Each example's probability, and whether its last value is the most
    /// probable one (see `most_probable`).
    fn judge(
        &self,
        examples: &[&Example],
        options: &TrainOptions,
        clock: &Clock,
    ) -> Result<Vec<(f64, Option<bool>)>, Error> {
        self.map(examples, options, clock, |example, tagged| {
            let p = tagged
                .probability(&example.relation, &example.tuple)
                .unwrap_or(0.0);
            Ok((p, most_probable(tagged, example)))
        })
    }
}

/// A `t(...)` in a source.
struct Tunable {
    key: ParamKey,
    kind: ProbabilityKind,
    /// Its bytes in the source.
    span: (usize, usize),
    /// What it weighs, for people.
    what: String,
    location: Location,
}

fn tunable_of(source: &SourceFile, clause: &Clause, out: &mut Vec<Tunable>) {
    let Some(p) = clause.probability.as_ref().filter(|p| p.is_tunable()) else {
        return;
    };
    let head = source
        .text()
        .get(clause.head.span.start..clause.head.span.end)
        .unwrap_or_default()
        // A head of no arguments' span can run into the space before `:-`.
        .trim()
        .to_string();
    let what = if clause.is_fact() {
        head
    } else {
        let rule = match &clause.name {
            Some(name) => name.text.clone(),
            None => format!("rule {}", source.location(clause.span.start)),
        };
        format!("{rule}: {head}")
    };
    out.push(Tunable {
        key: ParamKey {
            file: source.name().into(),
            offset: p.span.start,
        },
        kind: p.kind,
        span: (p.span.start, p.span.end),
        what,
        location: source.location(p.span.start),
    });
}

/// Whether the example's last value is the most probable one given the
/// others (`None`: the relation is unknown).
fn most_probable(tagged: &TaggedEvaluation, example: &Example) -> Option<bool> {
    let relation = tagged.relation(&example.relation)?;
    let Some((last, given)) = example.tuple.split_last() else {
        let p = tagged.probability(&example.relation, &[]).unwrap_or(0.0);
        return Some(p >= 0.5);
    };
    let best = relation
        .rows
        .iter()
        .filter(|r| r.tuple.get(..given.len()) == Some(given))
        .max_by(|a, b| {
            a.probability
                .total_cmp(&b.probability)
                .then_with(|| b.tuple.cmp(&a.tuple))
        })?;
    Some(best.tuple.last() == Some(last))
}

/// Six decimals, as few digits as that needs (`0.75`, not `0.750000`).
fn short(value: f64) -> String {
    let text = format!("{:.6}", round(value));
    let text = text.trim_end_matches('0');
    text.strip_suffix('.')
        .map_or(text.to_string(), |t| format!("{t}.0"))
}

fn round(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}
