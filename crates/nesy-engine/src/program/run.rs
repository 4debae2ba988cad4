//! Running a program: evaluating it, answering queries, running its
//! tests.

use crate::Limits;
use crate::eval::{self};
use crate::ir::{RelationInfo, Rule};
use crate::program::{Program, Query, TestCase, location};
use crate::result::{Answers, Evaluation, Failure, Strategy, TestOutcome, TestResult};
use crate::value::Interner;
use crate::{Error, magic, split};
use nesy_lang::ast::Literal;
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
        let outcome = match self.test_outcome(test, limits) {
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

    fn test_outcome(&self, test: &TestCase, limits: &Limits) -> Result<TestOutcome, Error> {
        let mut program = self.clone();
        for clause in &test.given {
            program.add_clause(&test.source, clause)?;
        }
        let mut queries = Vec::new();
        for expectation in &test.expectations {
            let body = [Literal::Atom(expectation.atom.clone())];
            queries.push(program.compile_query(&test.source, &body, expectation.atom.span)?);
        }
        let mut evaluation = program.evaluate(limits)?;
        let mut failures = Vec::new();
        for (expectation, query) in test.expectations.iter().zip(&queries) {
            let answers = evaluation.answer(query, limits)?;
            if answers.holds() == expectation.negated {
                let text = test
                    .source
                    .text()
                    .get(expectation.span.start..expectation.span.end)
                    .unwrap_or_default()
                    .trim()
                    .trim_end_matches('.')
                    .to_string();
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
        Ok(if failures.is_empty() {
            TestOutcome::Passed
        } else {
            TestOutcome::Failed { failures }
        })
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
