//! Loading rule files and their imports, and running them.

use crate::error::RuleErrors;
use crate::{Error, ReadPolicy};
use nesy_engine::{
    Answers, Clock, Evaluation, ExplainOptions, Explanation, Limits, Query, SemiringKind,
    TaggedEvaluation, TestResult, Value,
};
use nesy_lang::ast::{Item, Literal};
use nesy_lang::{Checked, Diagnostic, SourceFile};
use std::path::{Path, PathBuf};

/// Rules and facts loaded from rule files (with their `@import`s) or text.
///
/// ```
/// use nesy::{Limits, Program, Value};
///
/// let mut program = Program::from_source("tc.nesy", "
///     reach(X, Y) :- edge(X, Y).
///     reach(X, Z) :- reach(X, Y), edge(Y, Z).
/// ")?;
/// for (a, b) in [(1, 2), (2, 3)] {
///     program.add_fact("edge", vec![Value::Int(a), Value::Int(b)])?;
/// }
/// let result = program.evaluate(&Limits::default())?;
/// assert_eq!(result.relation("reach").unwrap().len(), 3);
///
/// let answers = program.query("reach(1, X)", &Limits::default())?;
/// assert_eq!(answers.rows, vec![vec![Value::Int(2)], vec![Value::Int(3)]]);
/// # Ok::<(), nesy::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Program {
    pub(crate) engine: nesy_engine::Program,
    pub(crate) sources: Vec<Checked>,
    /// The networks of `@model` declarations of kind `net`, by name: what
    /// training through the rules updates.
    #[cfg(feature = "learn")]
    pub(crate) nets: Vec<(String, std::sync::Arc<crate::net_calls::NetModel>)>,
}

impl Program {
    /// Checks and compiles rule text; `name` is used in messages. `@import`s
    /// resolve against the current directory.
    pub fn from_source(name: &str, text: &str) -> Result<Self, Error> {
        let checked = nesy_lang::check_with(
            SourceFile::new(name, text),
            &nesy_lang::CheckOptions::default(),
        );
        Self::from_checked(vec![(checked, PathBuf::from("."))], &ReadPolicy::anywhere())
    }

    /// Reads, checks and compiles rule files, and loads their `@import`s
    /// (relative paths resolve against each file's directory).
    pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self, Error> {
        Self::from_files_and_texts(paths, &[])
    }

    /// Rule files and rule texts together (texts resolve paths against the
    /// current directory).
    pub fn from_files_and_texts<P: AsRef<Path>>(
        paths: &[P],
        texts: &[(String, String)],
    ) -> Result<Self, Error> {
        Self::from_files_confined(paths, texts, &ReadPolicy::anywhere())
    }

    /// [`Program::from_files_and_texts`], reading `@import`s and `@model`s
    /// only where `policy` allows (checked before any file is opened).
    pub fn from_files_confined<P: AsRef<Path>>(
        paths: &[P],
        texts: &[(String, String)],
        policy: &ReadPolicy,
    ) -> Result<Self, Error> {
        let mut checked = Vec::new();
        for (name, text) in texts {
            checked.push((
                nesy_lang::check_with(
                    SourceFile::new(name, text),
                    &nesy_lang::CheckOptions::default(),
                ),
                PathBuf::from("."),
            ));
        }
        for path in paths {
            let path = path.as_ref();
            let c = nesy_lang::check_file(path).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf();
            checked.push((c, dir));
        }
        Self::from_checked(checked, policy)
    }

    /// The checked sources the program was built from.
    pub fn sources(&self) -> &[Checked] {
        &self.sources
    }

    fn from_checked(
        mut checked: Vec<(Checked, PathBuf)>,
        policy: &ReadPolicy,
    ) -> Result<Self, Error> {
        known_models_across_sources(&mut checked);
        for (c, dir) in &mut checked {
            // A refused path is reported as such, before what the checker
            // says of it (that it does not exist, say).
            policy.check_source(c, dir)?;
            #[cfg(feature = "kg")]
            crate::sparql_check::add_sparql_diagnostics(c);
            #[cfg(feature = "learn")]
            crate::model_check::add_model_diagnostics(c, dir, policy);
        }
        let errors: Vec<(SourceFile, Diagnostic)> = checked
            .iter()
            .flat_map(|(c, _)| {
                c.diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| (c.source.clone(), d.clone()))
            })
            .collect();
        if !errors.is_empty() {
            return Err(Error::Rules(RuleErrors::new(errors)));
        }
        let mut engine = nesy_engine::Program::new();
        #[cfg(feature = "learn")]
        let mut nets = Vec::new();
        for (c, _dir) in &checked {
            #[cfg(feature = "learn")]
            nets.extend(crate::model_files::load_models(
                &mut engine,
                c,
                _dir,
                policy,
            )?);
            #[cfg(not(feature = "learn"))]
            no_models(c)?;
        }
        for (c, _) in &checked {
            engine.add_source(&c.source, &c.program)?;
        }
        for (c, dir) in &checked {
            crate::import::load_imports(&mut engine, c, dir, policy)?;
        }
        Ok(Program {
            engine,
            sources: checked.into_iter().map(|(c, _)| c).collect(),
            #[cfg(feature = "learn")]
            nets,
        })
    }

    /// The checker's warnings, with the source each is about.
    pub fn warnings(&self) -> impl Iterator<Item = (&SourceFile, &Diagnostic)> {
        self.sources
            .iter()
            .flat_map(|c| c.diagnostics.iter().map(move |d| (&c.source, d)))
    }

    /// Adds a fact; the relation's arity must match its other uses.
    pub fn add_fact(&mut self, relation: &str, values: Vec<Value>) -> Result<(), Error> {
        Ok(self.engine.add_fact(relation, values)?)
    }

    /// Evaluates every rule.
    pub fn evaluate(&self, limits: &Limits) -> Result<Evaluation, Error> {
        Ok(self.engine.evaluate(limits)?)
    }

    /// Evaluates every rule on the differential-dataflow backend, with
    /// `options.workers` threads (and, for a cluster, in several
    /// processes: the evaluation comes back on process 0, `None` on the
    /// others). Model calls are refused; the answers equal
    /// [`Program::evaluate`]'s.
    ///
    /// ```
    /// use nesy::dataflow::Options;
    /// use nesy::{Limits, Program};
    ///
    /// let program = Program::from_source("tc.nesy", "
    ///     edge(1, 2). edge(2, 3).
    ///     reach(X, Y) :- edge(X, Y).
    ///     reach(X, Z) :- reach(X, Y), edge(Y, Z).
    /// ")?;
    /// let options = Options { workers: 2, ..Options::default() };
    /// let result = program.evaluate_dataflow(&options, &Limits::default())?.unwrap();
    /// assert_eq!(result.relation("reach").unwrap().len(), 3);
    /// # Ok::<(), nesy::Error>(())
    /// ```
    #[cfg(feature = "dataflow")]
    pub fn evaluate_dataflow(
        &self,
        options: &nesy_dataflow::Options,
        limits: &Limits,
    ) -> Result<Option<Evaluation>, Error> {
        Ok(nesy_dataflow::evaluate(&self.engine, options, limits)?)
    }

    /// A dataflow of this program kept running on `workers` threads, for
    /// base-fact updates ([`nesy_dataflow::Live::update`]).
    #[cfg(feature = "dataflow")]
    pub fn live(&self, workers: usize) -> Result<nesy_dataflow::Live, Error> {
        Ok(nesy_dataflow::Live::start(&self.engine, workers)?)
    }

    /// Answers a goal such as `ancestor(alice, X)` (the `?-` and the final
    /// `.` may be left out). Only what the goal needs is derived when the
    /// goal gives constants to positive rules (magic sets); see
    /// [`nesy_engine::Program::query`].
    pub fn query(&self, goal: &str, limits: &Limits) -> Result<Answers, Error> {
        let mut engine = self.engine.clone();
        let query = self.compile_goal(&mut engine, goal)?;
        Ok(engine.query(&query, limits)?)
    }

    /// Explains a fact such as `ancestor(alice, carol)`: a proof tree when
    /// it holds, each rule that could derive it and where that failed when
    /// it does not. A goal with variables explains each answer (up to
    /// `options.max_proofs`), or why there is none.
    ///
    /// ```
    /// use nesy::{ExplainOptions, Limits, Program};
    ///
    /// let program = Program::from_source("f.nesy", "
    ///     parent(alice, bob). parent(bob, carol).
    ///     ancestor(X, Y) :- parent(X, Y).
    ///     ancestor(X, Z) :- parent(X, Y), ancestor(Y, Z).
    /// ")?;
    /// let why = &program.explain("ancestor(alice, carol)", &ExplainOptions::default(), &Limits::default())?[0];
    /// assert!(why.holds);
    /// assert_eq!(why.premises[0].source.as_deref(), Some("f.nesy:2:5"));
    /// println!("{}", why.to_text());
    /// # Ok::<(), nesy::Error>(())
    /// ```
    pub fn explain(
        &self,
        goal: &str,
        options: &ExplainOptions,
        limits: &Limits,
    ) -> Result<Vec<Explanation>, Error> {
        let mut engine = self.engine.clone();
        let query = self.compile_goal(&mut engine, goal)?;
        let clock = Clock::start(limits);
        let mut evaluation = engine.evaluate(limits)?;
        Ok(engine.explain_with(&mut evaluation, &query, options, limits, &clock)?)
    }

    /// Explains atoms given as typed values, no text parsed: each goal is a
    /// relation and its arguments, `Some` a value and `None` a variable
    /// (`relation(X0, X1)` asks why nothing matches). The program is
    /// evaluated once for all of them.
    ///
    /// ```
    /// use nesy::{ExplainOptions, Limits, Program, Value};
    ///
    /// let program = Program::from_source("p.nesy", "ok(X) :- person(X). person(\"Ann Lee\").")?;
    /// let goal = ("ok".to_string(), vec![Some(Value::string("Ann Lee"))]);
    /// let why = program.explain_atoms(&[goal], &ExplainOptions::default(), &Limits::default())?;
    /// assert!(why[0][0].holds);
    /// # Ok::<(), nesy::Error>(())
    /// ```
    pub fn explain_atoms(
        &self,
        goals: &[(String, Vec<Option<Value>>)],
        options: &ExplainOptions,
        limits: &Limits,
    ) -> Result<Vec<Vec<Explanation>>, Error> {
        self.explain_atoms_under(goals, options, SemiringKind::Bool, limits)
    }

    /// [`Program::explain_atoms`] as a semiring computes them (see
    /// [`Program::explain_tagged`]).
    pub fn explain_atoms_under(
        &self,
        goals: &[(String, Vec<Option<Value>>)],
        options: &ExplainOptions,
        semiring: SemiringKind,
        limits: &Limits,
    ) -> Result<Vec<Vec<Explanation>>, Error> {
        let mut engine = self.engine.clone();
        let queries = goals
            .iter()
            .map(|(relation, args)| engine.atom_query(relation, args))
            .collect::<Result<Vec<_>, _>>()?;
        explain_queries(&engine, &queries, options, semiring, limits)
    }

    /// Writes every derived relation of two columns back as triples into
    /// the named graph `graph_iri` of `graph`: `rel(s, o)` becomes `s rel o`,
    /// the predicate being the relation's IRI (`ex:parent` expanded) or
    /// `urn:nesy:rel` for a plain name, symbols `urn:nesy:symbol`. Returns
    /// how many triples were new (running twice adds nothing).
    #[cfg(feature = "kg")]
    pub fn materialize(
        &self,
        evaluation: &Evaluation,
        graph: &nesy_kg::Graph,
        graph_iri: &str,
    ) -> Result<usize, Error> {
        self.materialize_with(evaluation, graph, graph_iri, &[])
    }

    /// [`Program::materialize`], and the three-column relations named in
    /// `triple_relations` written as the triples they hold (`t(s, p, o)` as
    /// `s p o`, `p` an IRI), as rules over `t(s, p, o)` such as
    /// `rules/owl2rl.nesy` derive them.
    #[cfg(feature = "kg")]
    pub fn materialize_with(
        &self,
        evaluation: &Evaluation,
        graph: &nesy_kg::Graph,
        graph_iri: &str,
        triple_relations: &[String],
    ) -> Result<usize, Error> {
        let as_iri = |v: &Value| match v {
            Value::Symbol(s) => Value::iri(format!("urn:nesy:{s}")),
            other => other.clone(),
        };
        // A relation named for triples that is not one is a mistake to
        // say, not to skip (as `nesy run -r` says it).
        for name in triple_relations {
            match evaluation.relation(name) {
                None => {
                    return Err(nesy_engine::Error::UnknownRelation(name.clone()).into());
                }
                Some(r) if r.arity != 3 => {
                    return Err(Error::Request(format!(
                        "`{name}` has {} columns; a relation of triples has three (subject, predicate IRI, object)",
                        r.arity
                    )));
                }
                Some(_) => {}
            }
        }
        let mut triples = Vec::new();
        for name in evaluation.derived_relations() {
            let Some(relation) = evaluation.relation(name) else {
                continue;
            };
            if relation.arity == 3 && triple_relations.iter().any(|t| t == name) {
                for row in relation.rows() {
                    if let [sub, Value::Iri(p), obj] = row {
                        triples.push((as_iri(sub), p.to_string(), as_iri(obj)));
                    }
                }
                continue;
            }
            if relation.arity != 2 {
                continue;
            }
            let predicate = match self.engine.relation_iri(name) {
                Some(iri) => iri,
                None => format!("urn:nesy:{name}"),
            };
            for row in relation.rows() {
                if let [s, o] = row {
                    triples.push((as_iri(s), predicate.clone(), as_iri(o)));
                }
            }
        }
        graph
            .insert_triples(Some(graph_iri), &triples)
            .map_err(Error::from)
    }

    /// Evaluates under a semiring: every tuple with its probability, and
    /// the answers to the files' `?- goal.` queries with theirs.
    pub fn evaluate_tagged(
        &self,
        semiring: SemiringKind,
        limits: &Limits,
    ) -> Result<(TaggedEvaluation, Vec<Answers>), Error> {
        let mut engine = self.engine.clone();
        let queries: Vec<Query> = engine.queries().to_vec();
        let relations: Vec<String> = queries
            .iter()
            .map(|q| engine.add_query_relation(q))
            .collect();
        let tagged = engine.evaluate_tagged(semiring, limits)?;
        let answers = queries
            .iter()
            .zip(&relations)
            .map(|(query, relation)| {
                let rows = tagged
                    .relation(relation)
                    .map(|r| r.rows)
                    .unwrap_or_default();
                Answers {
                    goal: query.text.clone(),
                    variables: query.variables.clone(),
                    probabilities: Some(rows.iter().map(|r| r.probability).collect()),
                    rows: rows.into_iter().map(|r| r.tuple).collect(),
                    strategy: nesy_engine::Strategy::Full,
                }
            })
            .collect();
        Ok((tagged, answers))
    }

    /// Answers a goal with the probability of each answer under a
    /// semiring (the goal's answers become a relation of their own, so
    /// conjunctions, negations and shared events are accounted for).
    pub fn query_tagged(
        &self,
        goal: &str,
        semiring: SemiringKind,
        limits: &Limits,
    ) -> Result<Answers, Error> {
        let mut engine = self.engine.clone();
        let query = self.compile_goal(&mut engine, goal)?;
        let relation = engine.add_query_relation(&query);
        let tagged = engine.evaluate_tagged(semiring, limits)?;
        let rows = tagged
            .relation(&relation)
            .map(|r| r.rows)
            .unwrap_or_default();
        Ok(Answers {
            goal: query.text.clone(),
            variables: query.variables.clone(),
            probabilities: Some(rows.iter().map(|r| r.probability).collect()),
            rows: rows.into_iter().map(|r| r.tuple).collect(),
            strategy: nesy_engine::Strategy::Full,
        })
    }

    /// [`Program::explain`] as a semiring computes it: each answer of
    /// non-zero probability with the proofs its probability was counted
    /// from (best first, with their events; `max-prob` and `add-mult`, which
    /// keep no proofs, show the most likely one). When no answer has a
    /// non-zero probability, why not, as [`Program::explain`] says it.
    pub fn explain_tagged(
        &self,
        goal: &str,
        options: &ExplainOptions,
        semiring: SemiringKind,
        limits: &Limits,
    ) -> Result<Vec<Explanation>, Error> {
        let mut engine = self.engine.clone();
        let query = self.compile_goal(&mut engine, goal)?;
        let mut explained = explain_queries(&engine, &[query], options, semiring, limits)?;
        Ok(explained.pop().unwrap_or_default())
    }

    /// Compiles a goal into `engine`, which must be (a clone of) this
    /// program's engine.
    /// A goal written as text (`decision(a1, D)`) as a relation and its
    /// arguments, `None` for a variable; `Ok(None)` for a goal that is
    /// not one atom with distinct variables.
    pub(crate) fn goal_atom(&self, goal: &str) -> Result<Option<nesy_engine::GoalAtom>, Error> {
        let mut engine = self.engine.clone();
        let query = self.compile_goal(&mut engine, goal)?;
        Ok(engine.goal_atom(&query))
    }

    pub(crate) fn compile_goal(
        &self,
        engine: &mut nesy_engine::Program,
        goal: &str,
    ) -> Result<Query, Error> {
        let goal = goal.trim();
        let goal = goal.strip_prefix("?-").unwrap_or(goal).trim();
        let goal = goal.strip_suffix('.').unwrap_or(goal);
        let source = SourceFile::new("<goal>", format!("?- {goal}."));
        let mut parsed = nesy_lang::parse(source.text());
        // Prefixes of the rule files apply to the goal.
        let prefixes: Vec<Item> = self
            .sources
            .iter()
            .flat_map(|c| {
                c.program
                    .items
                    .iter()
                    .filter(|i| matches!(i, Item::Prefix(_)))
                    .cloned()
            })
            .collect();
        let mut diagnostics = parsed.diagnostics;
        let mut with_prefixes = parsed.program.clone();
        with_prefixes.items.splice(0..0, prefixes);
        diagnostics.extend(
            nesy_lang::check_program(&with_prefixes, &nesy_lang::CheckOptions::default())
                .into_iter()
                .filter(Diagnostic::is_error),
        );
        let body = match parsed.program.items.pop() {
            Some(Item::Query(q)) if diagnostics.is_empty() && parsed.program.items.is_empty() => q,
            _ => {
                if diagnostics.is_empty() {
                    diagnostics.push(Diagnostic::error(
                        "bad-goal",
                        nesy_lang::ast::Span::new(0, source.text().len()),
                        "a goal is one or more literals, such as `ancestor(alice, X)`",
                    ));
                }
                return Err(Error::Rules(RuleErrors::new(
                    diagnostics
                        .into_iter()
                        .map(|d| (source.clone(), d))
                        .collect(),
                )));
            }
        };
        let mut unknown = Vec::new();
        for literal in &body.body {
            if let Literal::Atom(a) = literal
                && !engine.has_relation(&a.relation.text)
            {
                unknown.push(
                    Diagnostic::error(
                        "unknown-relation",
                        a.relation.span,
                        format!("no relation `{}` in the program", a.relation.text),
                    )
                    .with_label("unknown"),
                );
            }
        }
        if !unknown.is_empty() {
            return Err(Error::Rules(RuleErrors::new(
                unknown.into_iter().map(|d| (source.clone(), d)).collect(),
            )));
        }
        Ok(engine.compile_query(&source, &body.body, body.span)?)
    }

    /// The `?- goal.` queries of the files, answered over `evaluation`.
    pub fn answer_queries(
        &self,
        evaluation: &mut Evaluation,
        limits: &Limits,
    ) -> Result<Vec<Answers>, Error> {
        self.engine
            .queries()
            .iter()
            .map(|q| Ok(evaluation.answer(q, limits)?))
            .collect()
    }

    /// Runs every `@test` block, in order.
    pub fn run_tests(&self, limits: &Limits) -> Vec<TestResult> {
        self.run_tests_under(SemiringKind::Bool, limits)
    }

    /// Runs every `@test` block, its `prob(atom) = p +- e.` expectations
    /// computed under `semiring` (`top-k` when it is `bool`); the other
    /// expectations are about the program as plain Datalog.
    pub fn run_tests_under(&self, semiring: SemiringKind, limits: &Limits) -> Vec<TestResult> {
        self.engine
            .tests()
            .iter()
            .map(|t| self.engine.run_test_under(t, semiring, limits))
            .collect()
    }

    /// The compiled program.
    pub(crate) fn engine(&self) -> &nesy_engine::Program {
        &self.engine
    }
}

/// Without learned models, a `@model` is an error naming the feature.
#[cfg(not(feature = "learn"))]
fn no_models(checked: &Checked) -> Result<(), Error> {
    for item in &checked.program.items {
        if let Item::Model(m) = item {
            return Err(Error::Unsupported {
                location: checked.source.location(m.span.start),
                message:
                    "this build of nesy has no learned models: `@model` needs the `learn` feature"
                        .to_string(),
            });
        }
    }
    Ok(())
}

/// Explains each query, the program evaluated once for all of them (one
/// deadline for all, not one each). Under a semiring, an answer of non-zero
/// probability shows the proofs the semiring kept (for `max-prob` and
/// `add-mult`, which keep none, the most likely of `why`'s); a query
/// with none gets the plain why-not, tagged.
fn explain_queries(
    engine: &nesy_engine::Program,
    queries: &[Query],
    options: &ExplainOptions,
    semiring: SemiringKind,
    limits: &Limits,
) -> Result<Vec<Vec<Explanation>>, Error> {
    let clock = Clock::start(limits);
    if semiring == SemiringKind::Bool {
        let mut evaluation = engine.evaluate(limits)?;
        return queries
            .iter()
            .map(|q| Ok(engine.explain_with(&mut evaluation, q, options, limits, &clock)?))
            .collect();
    }
    let mut tagged = engine.evaluate_tagged(semiring, limits)?;
    let best = match semiring {
        kind if kind.keeps_proofs() => None,
        // Every minimal proof, so that the best is exact under negation
        // too (`top-k(1)` keeps only the best proof of a negated tuple).
        _ => Some(engine.evaluate_tagged(SemiringKind::Why, limits)?),
    };
    let mut plain: Option<nesy_engine::Evaluation> = None;
    let mut out = Vec::with_capacity(queries.len());
    for query in queries {
        let explained = engine.explain_tagged(
            &mut tagged,
            best.as_ref(),
            query,
            options.max_proofs,
            limits,
            &clock,
        )?;
        if !explained.is_empty() {
            out.push(explained);
            continue;
        }
        let evaluation = match &mut plain {
            Some(evaluation) => evaluation,
            None => plain.insert(engine.evaluate(limits)?),
        };
        let mut why_not = engine.explain_with(evaluation, query, options, limits, &clock)?;
        for e in &mut why_not {
            e.apply_tags(&tagged);
        }
        out.push(why_not);
    }
    Ok(out)
}

/// A model is the program's, whichever of its sources declares it (an
/// engine's `model(name, path)`, a shared `models.nesy`): each source is
/// checked alone, so its calls to a model declared in another one are
/// not unknown after all.
fn known_models_across_sources(checked: &mut [(Checked, PathBuf)]) {
    let declared: std::collections::BTreeSet<String> = checked
        .iter()
        .flat_map(|(c, _)| c.program.items.iter())
        .filter_map(|item| match item {
            Item::Model(m) => Some(m.name.text.clone()),
            _ => None,
        })
        .collect();
    for (c, _) in checked.iter_mut() {
        let text = c.source.text().to_string();
        c.diagnostics.retain(|d| {
            d.code != "unknown-model"
                || !text
                    .get(d.span.start..d.span.end)
                    .is_some_and(|name| declared.contains(name))
        });
    }
}
