//! Learning tunable probabilities through the rules: maximum likelihood
//! where it is known in closed form, recovery of a program's probabilities
//! from its conclusions, reproducibility, and bad examples files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use nesy::{Error, Example, Program, TrainOptions, Value};

fn sym(s: &str) -> Value {
    Value::symbol(s)
}

#[test]
fn a_tunable_disjunction_learns_the_frequencies() {
    // Maximum likelihood for one die is the frequency of each face; the
    // heads start from the seed (t(_)).
    let program = Program::from_source(
        "dice.nesy",
        "die(d1).\nt(_) :: roll(D, 1); t(_) :: roll(D, 2); t(_) :: roll(D, 3) :- die(D).\n",
    )
    .unwrap();
    let faces = [1, 1, 2, 2, 2, 3, 3, 3, 3, 3];
    let examples: Vec<Example> = faces
        .iter()
        .map(|&f| Example::new("roll", vec![sym("d1"), Value::Int(f)], 1.0))
        .collect();
    let options = TrainOptions {
        epochs: 300,
        batch: 10,
        learning_rate: 0.05,
        ..TrainOptions::default()
    };
    let trained = program
        .train(&examples, &[], &options, &mut |_| {})
        .unwrap();
    let learned: Vec<f64> = trained.weights.values().copied().collect();
    for (ours, frequency) in learned.iter().zip([0.2, 0.3, 0.5]) {
        assert!((ours - frequency).abs() < 1e-3, "{learned:?}");
    }
    // Losses fall.
    assert!(trained.epochs.last().unwrap().loss < trained.epochs[0].loss);
}

#[test]
fn restarts_go_on_with_the_run_best_on_validation() {
    // `t(_)` starts from the seed plus the run's number; after one tiny
    // step, a run is right on the validation example exactly when it
    // started at 0.5 or above, and the best run goes on.
    let program = Program::from_source("coin.nesy", "t(_) :: heads.").unwrap();
    let examples = vec![Example::new("heads", vec![], 1.0)];
    let valid = vec![Example::new("heads", vec![], 1.0)];
    let options = |seed, restarts| TrainOptions {
        epochs: 1,
        batch: 1,
        learning_rate: 1e-9,
        seed,
        restarts,
        restart_steps: 1,
        ..TrainOptions::default()
    };
    let start = |seed| {
        program
            .train(&examples, &[], &options(seed, 1), &mut |_| {})
            .unwrap()
            .weights["heads"]
    };
    // A seed whose own start is below 0.5 but one of the next two is not.
    let seed = (0..100)
        .find(|&s| start(s) < 0.5 && (start(s + 1) >= 0.5 || start(s + 2) >= 0.5))
        .unwrap();
    let trained = program
        .train(&examples, &valid, &options(seed, 3), &mut |_| {})
        .unwrap();
    assert_eq!(trained.restarts.len(), 3);
    assert_eq!(trained.restarts[0], 0.0);
    let best = trained.restarts.iter().position(|&a| a == 1.0).unwrap();
    assert_eq!(trained.chosen_restart(), Some(best));
    let value = trained.weights["heads"];
    assert!(value >= 0.5, "{value}");
    assert!((value - start(seed + best as u64)).abs() < 1e-6);
    // Chosen on validation examples, which it needs.
    let error = program
        .train(&examples, &[], &options(seed, 3), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(error.contains("validation examples"), "{error}");
}

#[test]
fn probabilities_are_recovered_from_conclusions_only() {
    // The edges' probabilities are learned from paths alone: a-c can be
    // reached directly or through b, so its path probability mixes all
    // three edges.
    let truth = [0.8, 0.4, 0.3];
    let rules = |p: [&str; 3]| {
        format!(
            "{} :: edge(a, b). {} :: edge(b, c). {} :: edge(a, c).
             path(X, Y) :- edge(X, Y).
             path(X, Z) :- edge(X, Y), path(Y, Z).",
            p[0], p[1], p[2]
        )
    };
    let reference = Program::from_source("truth.nesy", &rules(["0.8", "0.4", "0.3"])).unwrap();
    let (tagged, _) = reference
        .evaluate_tagged(nesy::Semiring::TopK(100), &nesy::Limits::default())
        .unwrap();
    let examples: Vec<Example> = [("a", "b"), ("b", "c"), ("a", "c")]
        .iter()
        .map(|(x, y)| {
            let tuple = vec![sym(x), sym(y)];
            let p = tagged.probability("path", &tuple).unwrap();
            Example::new("path", tuple, p)
        })
        .collect();
    let program =
        Program::from_source("learn.nesy", &rules(["t(0.5)", "t(0.5)", "t(0.5)"])).unwrap();
    let options = TrainOptions {
        epochs: 2000,
        batch: 3,
        learning_rate: 0.1,
        ..TrainOptions::default()
    };
    let trained = program
        .train(&examples, &[], &options, &mut |_| {})
        .unwrap();
    for (edge, truth) in ["edge(a, b)", "edge(b, c)", "edge(a, c)"].iter().zip(truth) {
        let ours = trained.weights[*edge];
        assert!((ours - truth).abs() < 0.01, "{edge}: {ours} vs {truth}");
    }
    let text = trained.program.trained_source(0).unwrap();
    assert!(text.starts_with("t(0.8"), "{text}");
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let source = "t(_) :: a. t(_) :: b. c :- a, not b.\n";
    let program = Program::from_source("s.nesy", source).unwrap();
    let examples = vec![
        Example::new("c", vec![], 1.0),
        Example::new("a", vec![], 1.0),
        Example::new("b", vec![], 0.0),
    ];
    let run = |seed| {
        let options = TrainOptions {
            epochs: 3,
            batch: 2,
            learning_rate: 0.01,
            seed,
            ..TrainOptions::default()
        };
        let trained = program
            .train(&examples, &examples, &options, &mut |_| {})
            .unwrap();
        (trained.program.trained_source(0).unwrap(), trained.epochs)
    };
    let (first, epochs) = run(7);
    assert_eq!(run(7).0, first);
    assert_ne!(run(8).0, first, "t(_) starts from the seed");
    assert!(epochs.iter().all(|e| e.valid_accuracy.is_some()));
    assert!(first.contains("t(0."), "{first}");
}

#[test]
fn bad_examples_files_say_where() {
    let program = Program::from_source("p.nesy", "t(0.5) :: edge(a, b).\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (text, line, says) in [
        (
            "edge(a, b)\t1\nedge(a, b) 1\n",
            2,
            "expected `atom<TAB>probability`",
        ),
        ("edge(a, b)\t1.5\n", 1, "outside [0, 1]"),
        ("# comment\n\nedge(a, b)\tyes\n", 3, "is not a probability"),
        (
            "edge(a, X)\t1\n",
            1,
            "every argument of an example is a value",
        ),
        ("nope(a)\t1\n", 1, "no relation `nope`"),
        ("edge(a)\t1\n", 1, "has 2 arguments"),
        ("edge(a, b\t1\n", 1, "is not an atom"),
    ] {
        let path = dir.path().join("ex.tsv");
        std::fs::write(&path, text).unwrap();
        let error = program.read_examples(&path).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, Error::Examples { .. }), "{message}");
        assert!(message.contains(&format!("ex.tsv:{line}: ")), "{message}");
        assert!(message.contains(says), "{message}");
    }
    // The facts an example brings are inputs, never conclusions.
    let derived = Program::from_source(
        "d.nesy",
        "@input pair.\nt(0.5) :: link(a, b).\nlink(X, Y) :- pair(X, Y).\n",
    )
    .unwrap();
    let path = dir.path().join("ex.tsv");
    std::fs::write(
        &path,
        "link(a, b)\t1\tpair(a, b)\nlink(a, c)\t1\tlink(a, c)\n",
    )
    .unwrap();
    let message = derived.read_examples(&path).unwrap_err().to_string();
    assert!(
        message.contains("ex.tsv:2: ") && message.contains("not of `link`"),
        "{message}"
    );
    // Deep nesting in an example is an error, not a stack overflow.
    let deep = format!("edge({}a{}, b)\t1\n", "f(".repeat(5000), ")".repeat(5000));
    std::fs::write(&path, deep).unwrap();
    let message = program.read_examples(&path).unwrap_err().to_string();
    assert!(message.contains("ex.tsv:1: "), "{message}");
    let missing = program
        .read_examples(&dir.path().join("none.tsv"))
        .unwrap_err();
    assert!(matches!(missing, Error::Io { .. }));
}

#[test]
fn training_needs_something_to_learn() {
    let fixed = Program::from_source("f.nesy", "0.5 :: a.\n").unwrap();
    let examples = vec![Example::new("a", vec![], 1.0)];
    let error = fixed
        .train(&examples, &[], &TrainOptions::default(), &mut |_| {})
        .unwrap_err();
    assert!(
        error.to_string().contains("no tunable probability"),
        "{error}"
    );
    let tunable = Program::from_source("t.nesy", "t(0.5) :: a.\n").unwrap();
    let error = tunable
        .train(&[], &[], &TrainOptions::default(), &mut |_| {})
        .unwrap_err();
    assert!(
        error.to_string().contains("no training examples"),
        "{error}"
    );
    let options = TrainOptions {
        semiring: nesy::Semiring::MaxProb,
        ..TrainOptions::default()
    };
    let error = tunable
        .train(&examples, &[], &options, &mut |_| {})
        .unwrap_err();
    assert!(error.to_string().contains("diff-top-k"), "{error}");
    for rate in [f64::NAN, -0.1, 0.0, f64::INFINITY] {
        let options = TrainOptions {
            learning_rate: rate,
            ..TrainOptions::default()
        };
        let error = tunable
            .train(&examples, &[], &options, &mut |_| {})
            .unwrap_err();
        assert!(error.to_string().contains("a positive number"), "{error}");
    }
}

#[test]
fn em_learns_what_problog_lfi_learns() {
    // tests/lfi/: programs, ProbLog evidence files, and the weights
    // `problog lfi` learned (tests/lfi/regenerate.py).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lfi");
    let mut programs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "nesy"))
        .collect();
    programs.sort();
    assert!(programs.len() >= 6, "the LFI corpus went missing");
    for path in programs {
        let program = Program::from_files(&[&path]).unwrap();
        let (ours, _) = em_weights(&program, &path.with_extension("ev"));
        let theirs: Vec<f64> = std::fs::read_to_string(path.with_extension("expected"))
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{}", path.display());
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(
                (a - b).abs() < 1e-3,
                "{}: t(...) number {}: nesy {a}, problog lfi {b}",
                path.display(),
                i + 1
            );
        }
    }
}

/// Learns by EM from an evidence file (1000 iterations at most): the
/// learned `t(...)`s in order, and how many interpretations the last step
/// left out.
fn em_weights(program: &Program, evidence: &std::path::Path) -> (Vec<f64>, usize) {
    let interpretations = program.read_interpretations(evidence).unwrap();
    let options = TrainOptions {
        epochs: 1000,
        ..TrainOptions::default()
    };
    let trained = program
        .train_em(&interpretations, &options, &mut |_| {})
        .unwrap();
    let text = trained.program.trained_source(0).unwrap();
    let weights = text
        .split("t(")
        .skip(1)
        .map(|rest| rest.split(')').next().unwrap().parse().unwrap())
        .collect();
    (weights, trained.ignored_interpretations)
}

/// [`em_weights`] of a program and evidence given in text.
fn em(source: &str, evidence: &str) -> (Vec<f64>, usize) {
    let program = Program::from_source("p.nesy", source).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.ev");
    std::fs::write(&path, evidence).unwrap();
    em_weights(&program, &path)
}

#[test]
fn em_counts_the_heads_of_a_disjunction_that_the_evidence_implies() {
    // d2 is neither 1 nor 2, so it is 3: nine throws seen or implied,
    // three of each face, and the maximum-likelihood weights are a third
    // each. ProbLog 2.3's lfi leaves out a head missing from the example's
    // ground program and learns 0.375, 0.375, 0.25 (log-likelihood -10.044
    // where a third each has -9.888).
    let source = "die(d1). die(d2). die(d3). die(d4).\n\
        t(0.3) :: face(D, 1); t(0.3) :: face(D, 2); t(0.3) :: face(D, 3) :- die(D).\n\
        two_ones :- face(d1, 1), face(d2, 1).\n";
    let evidence = "evidence(face(d1, 1), true).\nevidence(face(d2, 3), true).\nevidence(face(d3, 2), true).\n---\n\
        evidence(face(d1, 2), true).\nevidence(face(d4, 2), true).\n---\n\
        evidence(two_ones, true).\nevidence(face(d3, 3), true).\n---\n\
        evidence(face(d2, 1), false).\nevidence(face(d2, 2), false).\n";
    let (weights, ignored) = em(source, evidence);
    assert_eq!(ignored, 0);
    assert_eq!(weights.len(), 3);
    for w in weights {
        assert!((w - 1.0 / 3.0).abs() < 1e-5, "{w}");
    }
}

#[test]
fn em_leaves_out_interpretations_the_program_cannot_produce() {
    // After the first step the coin's heads sum to 1, as `problog lfi`
    // makes them, and a coin that is neither heads nor tails has
    // probability 0: that interpretation is left out, and counted.
    let source = "toss(c1). toss(c2). toss(c3). toss(c4).\n\
        t(0.4) :: side(C, heads); t(0.4) :: side(C, tails) :- toss(C).\n\
        win :- side(c1, heads), side(c2, heads).\n";
    let evidence = "evidence(side(c1, heads), true).\nevidence(side(c3, tails), true).\nevidence(win, false).\n---\n\
        evidence(side(c2, tails), true).\nevidence(side(c4, heads), false).\n---\n\
        evidence(win, true).\nevidence(side(c3, heads), false).\nevidence(side(c3, tails), false).\n";
    let (weights, ignored) = em(source, evidence);
    assert_eq!(ignored, 1);
    // One heads (c1) and four tails (c2 twice, c3, c4) seen or implied.
    assert!((weights[0] - 0.2).abs() < 1e-5, "{weights:?}");
    assert!((weights[1] - 0.8).abs() < 1e-5, "{weights:?}");
}

#[test]
fn evidence_files_say_where_they_are_wrong() {
    let program = Program::from_source("p.nesy", "t(0.5) :: a. b :- a.\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ev.pl");
    std::fs::write(&path, "evidence(a, true).\n---\nevidence(b, maybe).\n").unwrap();
    let error = program.read_interpretations(&path).unwrap_err().to_string();
    assert!(
        error.contains("ev.pl:3: the observed value is `true` or `false`, not `maybe`"),
        "{error}"
    );
    std::fs::write(
        &path,
        "% two interpretations\nevidence(a).\n-----\nevidence(b, false).\n",
    )
    .unwrap();
    let read = program.read_interpretations(&path).unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[1], vec![("b".to_string(), vec![], false)]);
    // A `%` in a string is text, not a comment.
    let quoted = Program::from_source("q.nesy", "t(0.5) :: rate(\"50%\").\n").unwrap();
    std::fs::write(&path, "evidence(rate(\"50%\"), true). % half\n").unwrap();
    let read = quoted.read_interpretations(&path).unwrap();
    assert_eq!(
        read,
        vec![vec![("rate".to_string(), vec![Value::string("50%")], true)]]
    );
    std::fs::write(&path, "observe(a).\n").unwrap();
    let error = program.read_interpretations(&path).unwrap_err().to_string();
    assert!(
        error.contains("ev.pl:1: expected `evidence(atom, true).`"),
        "{error}"
    );
    // Evidence that no interpretation can have is an error, not a
    // division by zero.
    let never = Program::from_source("d.nesy", "t(0.3) :: x; t(0.3) :: y. z :- x, y.\n").unwrap();
    let error = never
        .train_em(
            &[vec![("z".to_string(), vec![], true)]],
            &TrainOptions::default(),
            &mut |_| {},
        )
        .unwrap_err()
        .to_string();
    assert!(error.contains("probability 0"), "{error}");
}

#[test]
fn explanations_of_a_trained_program_show_the_learned_weights() {
    let program = Program::from_source(
        "likes.nesy",
        "person(a).\n@name(taste) t(0.5) :: likes(X) :- person(X).\n",
    )
    .unwrap();
    let examples: Vec<Example> = [1.0, 1.0, 1.0, 0.0]
        .iter()
        .map(|&t| Example::new("likes", vec![sym("a")], t))
        .collect();
    let options = TrainOptions {
        epochs: 300,
        batch: 4,
        learning_rate: 0.05,
        ..TrainOptions::default()
    };
    let trained = program
        .train(&examples, &[], &options, &mut |_| {})
        .unwrap();
    let learned = trained.weights["taste: likes(X)"];
    assert!((learned - 0.75).abs() < 1e-3, "{learned}");
    let limits = nesy::Limits::default();
    // Plain: the rule node carries its learned weight.
    let plain = trained
        .program
        .explain("likes(a)", &nesy::ExplainOptions::default(), &limits)
        .unwrap();
    let weight = plain[0].rule.as_ref().unwrap().probability.unwrap();
    assert!((weight - learned).abs() < 1e-9);
    assert!(
        plain[0].to_string().contains("(weight 0.75"),
        "{}",
        plain[0]
    );
    // Under a semiring: the proof's derivation, the rule with its learned
    // weight.
    let tagged = trained
        .program
        .explain_tagged(
            "likes(a)",
            &nesy::ExplainOptions::default(),
            nesy::Semiring::TopK(10),
            &limits,
        )
        .unwrap();
    let text = tagged[0].to_string();
    assert!(text.starts_with("likes(a)  [p = 0.75"), "{text}");
    assert!(
        text.contains("likes(a)  [by rule `taste` at likes.nesy:2:1 (weight 0.75) with X = a]"),
        "{text}"
    );
}

/// `some` holds when a tossed coin shows heads; each example tosses its own
/// coin (its facts).
const COINS: &str = "@input toss.\n@decl toss(c: symbol).\n\
    PROB :: heads(C) :- toss(C).\nsome :- toss(C), heads(C).\n";

fn tossing(coin: &str, target: f64) -> Example {
    Example {
        facts: vec![("toss".to_string(), vec![sym(coin)])],
        ..Example::new("some", vec![], target)
    }
}

#[test]
fn an_example_never_sees_the_facts_of_another() {
    // Scored together, each example still tosses one coin: p(some) = 0.5,
    // not the 0.75 of two coins tossed at once.
    let program = Program::from_source("coins.nesy", &COINS.replace("PROB", "0.5")).unwrap();
    let examples = [tossing("a", 1.0), tossing("b", 1.0)];
    let scores = program
        .score(
            &examples,
            nesy::Semiring::DiffTopK(10),
            &nesy::Limits::default(),
        )
        .unwrap();
    assert!(
        (scores.log_likelihood - 2.0 * 0.5f64.ln()).abs() < 1e-9,
        "{scores:?}"
    );
    // Trained in one batch, a coin that shows heads once in two tosses
    // learns 0.5; had the batch's two coins been tossed together, p(some)
    // = 1 - (1 - p)^2 would have settled at 0.5, p at 0.29.
    let program = Program::from_source("coins.nesy", &COINS.replace("PROB", "t(0.9)")).unwrap();
    let options = TrainOptions {
        epochs: 400,
        batch: 2,
        learning_rate: 0.05,
        ..TrainOptions::default()
    };
    let trained = program
        .train(
            &[tossing("a", 1.0), tossing("b", 0.0)],
            &[],
            &options,
            &mut |_| {},
        )
        .unwrap();
    let learned: Vec<f64> = trained.weights.values().copied().collect();
    assert!((learned[0] - 0.5).abs() < 1e-3, "{learned:?}");
}

#[test]
fn one_deadline_covers_every_example_of_a_run() {
    // Each example alone takes a few milliseconds; 2,000 of them outlast
    // the 50 ms timeout, which is the whole run's, not each example's.
    let mut text = String::from(
        "@input start.\n@decl start(n: int).\nt(0.9) :: go.\n\
         reach(X) :- start(X), go.\nreach(Y) :- reach(X), edge(X, Y).\n",
    );
    for i in 0..200 {
        text.push_str(&format!("0.9 :: edge({i}, {}).\n", i + 1));
    }
    let program = Program::from_source("chain.nesy", &text).unwrap();
    let examples: Vec<Example> = (0..2000)
        .map(|i| Example {
            facts: vec![("start".to_string(), vec![Value::Int(i % 200)])],
            ..Example::new("reach", vec![Value::Int(200)], 1.0)
        })
        .collect();
    let limits = nesy::Limits {
        timeout: Some(std::time::Duration::from_millis(50)),
        ..nesy::Limits::default()
    };
    let err = program
        .score(&examples, nesy::Semiring::DiffTopK(10), &limits)
        .unwrap_err();
    assert!(err.is_limit(), "{err}");
    assert!(err.to_string().contains("50 ms"), "{err}");
    let options = TrainOptions {
        epochs: 1000,
        limits,
        ..TrainOptions::default()
    };
    let err = program
        .train(&examples, &[], &options, &mut |_| {})
        .unwrap_err();
    assert!(err.is_limit(), "{err}");
}
