//! Running a program: evaluating it, answering queries, running its
//! tests.

use crate::Limits;
use crate::eval::{self};
use crate::ir::{RelationInfo, Rule};
use crate::program::{Program, Query, TestCase, location};
use crate::result::{Answers, Evaluation, Failure, Strategy, TestOutcome, TestResult};
use crate::semiring::SemiringKind;
use crate::value::{Interner, Value};
use crate::{Error, magic, split};
use nesy_lang::ast::{self, Literal};
use std::sync::Arc;

impl Program {
    /// Evaluates every rule.
    pub fn evaluate(&self, limits: &Limits) -> Result<Evaluation, Error> {
        self.evaluate_rules(&self.relations, &self.rules, limits)
    }

    fn evaluate_rules(
        &self,
        relations: &[RelationInfo],
        rules: &[Rule],
        limits: &Limits,
    ) -> Result<Evaluation, Error> {
        let mut relations = relations.to_vec();
        let rules = split::split_rules(&mut relations, rules);
        let outcome = eval::evaluate(
            &relations,
            &rules,
            &self.facts,
            Interner::layered(Arc::clone(&self.interner)),
            limits,
        )?;
        Ok(Evaluation::assemble(
            self.names.clone(),
            relations,
            &rules,
            outcome,
        ))
    }

    /// Answers a query. When the goal gives a constant to a relation whose
    /// rules use no negation and no aggregate, the program is rewritten with
    /// magic sets so that only what the constants can reach is derived;
    /// otherwise everything is evaluated and the goal matched.
    pub fn query(&self, query: &Query, limits: &Limits) -> Result<Answers, Error> {
        if let Some(rewritten) = magic::rewrite(&self.relations, &self.rules, &query.rule) {
            let mut evaluation =
                self.evaluate_rules(&rewritten.relations, &rewritten.rules, limits)?;
            let rows = eval::answer(
                &mut evaluation.stores,
                &evaluation.interner,
                &rewritten.goal,
                limits,
                &crate::Clock::start(limits),
            )?;
            return Ok(Answers {
                goal: query.text.clone(),
                variables: query.variables.clone(),
                rows,
                strategy: Strategy::MagicSets,
                probabilities: None,
            });
        }
        self.evaluate(limits)?.answer(query, limits)
    }

    /// Runs one `@test`: the program plus the test's `given` facts and
    /// rules, then every expectation checked.
    pub fn run_test(&self, test: &TestCase, limits: &Limits) -> TestResult {
        self.run_test_under(test, SemiringKind::Bool, limits)
    }

    /// [`Program::run_test`], its `prob(...)` expectations computed under
    /// `semiring` (`top-k` when it is `bool`).
    pub fn run_test_under(
        &self,
        test: &TestCase,
        semiring: SemiringKind,
        limits: &Limits,
    ) -> TestResult {
        let outcome = match self.test_outcome(test, semiring, limits) {
            Ok(o) => o,
            Err(e) => TestOutcome::Error {
                message: e.to_string(),
            },
        };
        TestResult {
            name: test.name.clone(),
            location: test.location.clone(),
            outcome,
        }
    }

    fn test_outcome(
        &self,
        test: &TestCase,
        semiring: SemiringKind,
        limits: &Limits,
    ) -> Result<TestOutcome, Error> {
        let mut program = self.clone();
        for clause in &test.given {
            program.add_clause(&test.source, clause)?;
        }
        let mut failures = program.probability_failures(test, semiring, limits)?;
        let mut queries = Vec::new();
        for expectation in test.expectations.iter().filter(|e| e.probability.is_none()) {
            let body = [Literal::Atom(expectation.atom.clone())];
            queries.push(program.compile_query(&test.source, &body, expectation.atom.span)?);
        }
        let mut evaluation = program.evaluate(limits)?;
        for (expectation, query) in test
            .expectations
            .iter()
            .filter(|e| e.probability.is_none())
            .zip(&queries)
        {
            let answers = evaluation.answer(query, limits)?;
            if answers.holds() == expectation.negated {
                let text = expectation_text(test, expectation);
                let reason = if expectation.negated {
                    describe_found(&answers)
                } else {
                    "it does not hold".to_string()
                };
                failures.push(Failure {
                    expectation: text,
                    location: location(&test.source, expectation.span.start),
                    reason,
                });
            }
        }
        failures.sort_by_key(|f| (f.location.line, f.location.column));
        Ok(if failures.is_empty() {
            TestOutcome::Passed
        } else {
            TestOutcome::Failed { failures }
        })
    }

    /// The `prob(atom) = p +- e.` expectations of a test that fail under
    /// `semiring` (`top-k` for `bool`, which has no probabilities but 0
    /// and 1).
    fn probability_failures(
        &self,
        test: &TestCase,
        semiring: SemiringKind,
        limits: &Limits,
    ) -> Result<Vec<Failure>, Error> {
        let expected: Vec<&ast::Expectation> = test
            .expectations
            .iter()
            .filter(|e| e.probability.is_some())
            .collect();
        if expected.is_empty() {
            return Ok(Vec::new());
        }
        let semiring = match semiring {
            SemiringKind::Bool => SemiringKind::TopK(crate::DEFAULT_K),
            other => other,
        };
        let tagged = self.evaluate_tagged(semiring, limits)?;
        let mut failures = Vec::new();
        for expectation in expected {
            let Some(want) = &expectation.probability else {
                continue;
            };
            let tuple: Vec<Value> = expectation
                .atom
                .args
                .iter()
                .filter_map(|a| match a {
                    ast::Expr::Const(c) => Some(self.constant_value(&c.value)),
                    _ => None,
                })
                .collect();
            let got = tagged
                .probability(&expectation.atom.relation.text, &tuple)
                .unwrap_or(0.0);
            if (got - want.value).abs() > want.tolerance {
                let text = expectation_text(test, expectation);
                failures.push(Failure {
                    expectation: text,
                    location: location(&test.source, expectation.span.start),
                    reason: format!("its probability under {semiring} is {got}"),
                });
            }
        }
        Ok(failures)
    }
}

fn describe_found(answers: &Answers) -> String {
    if answers.variables.is_empty() {
        return "it holds".to_string();
    }
    let first: Vec<String> = answers
        .variables
        .iter()
        .zip(answers.rows.first().into_iter().flatten())
        .map(|(v, x)| format!("{v} = {x}"))
        .collect();
    format!("it holds, for example with {}", first.join(", "))
}

/// An expectation as written, without its final `.`.
fn expectation_text(test: &TestCase, expectation: &ast::Expectation) -> String {
    test.source
        .text()
        .get(expectation.span.start..expectation.span.end)
        .unwrap_or_default()
        .trim()
        .trim_end_matches('.')
        .to_string()
}
