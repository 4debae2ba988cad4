//! Learned models inside rules: a tree trained here is called by rules in
//! both argument forms, its probability is the tag, explanations show the
//! decision path, exported rules agree with the model, and every misuse is
//! a clear error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use nesy::Semiring;
use nesy::{Error, ExplainOptions, Limits, Program, Value};
use nesy_learn::cart::CartParams;
use nesy_learn::{FitOptions, Holdout, Table, TrainRequest, TreeModel, Variant};
use std::path::{Path, PathBuf};

const IRIS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/knowledge/tabular/iris.csv");

/// Trains a tree on iris into `dir/iris.tree`.
fn train_iris(dir: &Path, variant: Variant) -> PathBuf {
    let table = Table::from_csv(Path::new(IRIS), "class").unwrap();
    let request = TrainRequest {
        variant,
        cart: CartParams {
            max_depth: Some(3),
            trees: 10,
            ..CartParams::default()
        },
        soft: nesy_learn::soft::SoftParams {
            epochs: 20,
            ..Default::default()
        },
        holdout: Holdout::None,
        data_file: "iris.csv",
        test_table: None,
    };
    let mut progress = |_: usize, _: f64| {};
    let mut options = FitOptions {
        seed: 0,
        device: nesy_learn::device("cpu").unwrap(),
        progress: &mut progress,
    };
    let (model, header, _) = nesy_learn::train(&table, &request, &mut options).unwrap();
    let path = dir.join("iris.tree");
    model.save(&header, &path).unwrap();
    path
}

/// Iris rows as facts `flower(rowN, sl, sw, pl, pw)` and the features as
/// binary relations, and the model's answer for each row.
fn iris_facts() -> (String, Vec<(String, Vec<f64>)>) {
    let table = Table::from_csv(Path::new(IRIS), "class").unwrap();
    let mut text = String::new();
    let mut rows = Vec::new();
    for (i, x) in table.x.iter().enumerate() {
        let id = format!("row{i}");
        text.push_str(&format!(
            "flower({id}, {:?}, {:?}, {:?}, {:?}).\n",
            x[0], x[1], x[2], x[3]
        ));
        rows.push((id, x.clone()));
    }
    text.push_str(
        "sepal_length(F, V) :- flower(F, V, _, _, _).\n\
         sepal_width(F, V) :- flower(F, _, V, _, _).\n\
         petal_length(F, V) :- flower(F, _, _, V, _).\n\
         petal_width(F, V) :- flower(F, _, _, _, V).\n",
    );
    (text, rows)
}

fn program(dir: &Path, rules: &str) -> Result<Program, Error> {
    let path = dir.join("rules.nesy");
    std::fs::write(&path, rules).unwrap();
    Program::from_files(&[path])
}

#[test]
fn rules_call_a_tree_by_features_and_by_entity() {
    let dir = tempfile::tempdir().unwrap();
    let model = TreeModel::load(&train_iris(dir.path(), Variant::Cart)).unwrap();
    let (facts, rows) = iris_facts();
    let rules = format!(
        "@model iris = \"iris.tree\".\n{facts}\n\
         by_features(F, C, P) :- flower(F, SL, SW, PL, PW), iris.predict(SL, SW, PL, PW, C, P).\n\
         by_entity(F, C, P) :- flower(F, _, _, _, _), iris.predict(F, C, P).\n\
         setosa(F) :- flower(F, _, _, _, _), iris.predict(F) = \"setosa\".\n"
    );
    let result = program(dir.path(), &rules)
        .unwrap()
        .evaluate(&Limits::default())
        .unwrap();
    let by_features = result.relation("by_features").unwrap();
    assert_eq!(by_features.len(), 150);
    assert_eq!(
        result.relation("by_entity").unwrap().to_vecs(),
        by_features.to_vecs()
    );
    let mut setosa = 0;
    for (id, x) in &rows {
        let p = model.classifier.predict(x);
        let tuple = [
            Value::symbol(id),
            Value::string(&p.class_name),
            Value::float(p.probability),
        ];
        assert!(result.contains("by_features", &tuple), "{id}: {tuple:?}");
        setosa += usize::from(p.class_name == "setosa");
    }
    assert_eq!(result.relation("setosa").unwrap().len(), setosa);
    assert_eq!(setosa, 50);
}

#[test]
fn the_models_probability_is_the_tag() {
    let dir = tempfile::tempdir().unwrap();
    let model = TreeModel::load(&train_iris(dir.path(), Variant::Cart)).unwrap();
    let rules = "@model iris = \"iris.tree\".\n\
        flower(f1, 6.0, 2.9, 4.5, 1.5).\n\
        label(F, C) :- flower(F, A, B, C2, D), iris.predict(A, B, C2, D, C, _).\n\
        any(F, C) :- flower(F, A, B, C2, D), iris.prob(A, B, C2, D, C, _).\n";
    let program = program(dir.path(), rules).unwrap();
    let (tagged, _) = program
        .evaluate_tagged(Semiring::MaxProb, &Limits::default())
        .unwrap();
    let p = model.classifier.predict(&[6.0, 2.9, 4.5, 1.5]);
    let got = tagged
        .probability(
            "label",
            &[Value::symbol("f1"), Value::string(&p.class_name)],
        )
        .unwrap();
    assert!(
        (got - p.probability).abs() < 1e-12,
        "{got} vs {}",
        p.probability
    );
    // `prob` answers every class; their tags are the distribution.
    let total: f64 = ["setosa", "versicolor", "virginica"]
        .iter()
        .filter_map(|c| tagged.probability("any", &[Value::symbol("f1"), Value::string(c)]))
        .sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    // One answer used twice is one event: its square is not taken.
    let twice = "@model iris = \"iris.tree\".\n\
        flower(f1, 6.0, 2.9, 4.5, 1.5).\n\
        a(F, C) :- flower(F, A, B, C2, D), iris.predict(A, B, C2, D, C, _).\n\
        b(F, C) :- flower(F, A, B, C2, D), iris.predict(A, B, C2, D, C, _).\n\
        both(F, C) :- a(F, C), b(F, C).\n";
    let (tagged, _) = self::program(dir.path(), twice)
        .unwrap()
        .evaluate_tagged(Semiring::TopK(10), &Limits::default())
        .unwrap();
    let both = tagged
        .probability("both", &[Value::symbol("f1"), Value::string(&p.class_name)])
        .unwrap();
    assert!((both - p.probability).abs() < 1e-12, "{both}");
}

#[test]
fn a_classifiers_classes_exclude_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let model = TreeModel::load(&train_iris(dir.path(), Variant::Forest)).unwrap();
    let x = [6.0, 2.9, 4.5, 1.5];
    let distribution = model.classifier.predict(&x).distribution;
    // The test means something only where two classes are possible.
    assert!(
        distribution.iter().filter(|&&p| p > 0.0).count() >= 2,
        "{distribution:?}"
    );
    let rules = "@model iris = \"iris.tree\".\n\
        flower(f1, 6.0, 2.9, 4.5, 1.5).\n\
        class(F, C) :- flower(F, A, B, C2, D), iris.prob(A, B, C2, D, C, _).\n\
        some_class(F) :- class(F, _).\n\
        not_setosa(F) :- class(F, \"versicolor\").\n\
        not_setosa(F) :- class(F, \"virginica\").\n\
        two_classes(F) :- class(F, \"versicolor\"), class(F, \"virginica\").\n";
    let program = program(dir.path(), rules).unwrap();
    for semiring in [Semiring::TopK(10), Semiring::Why] {
        let (tagged, _) = program
            .evaluate_tagged(semiring, &Limits::default())
            .unwrap();
        let f1 = [Value::symbol("f1")];
        // One input has one class: some class holds for sure, and "this
        // class or that" is the sum, not a noisy-or.
        let some = tagged.probability("some_class", &f1).unwrap();
        assert!((some - 1.0).abs() < 1e-9, "{semiring}: {some}");
        let either = tagged.probability("not_setosa", &f1).unwrap();
        let sum = distribution[1] + distribution[2];
        assert!((either - sum).abs() < 1e-9, "{semiring}: {either} vs {sum}");
        assert_eq!(tagged.probability("two_classes", &f1).unwrap_or(0.0), 0.0);
        for (class, p) in ["setosa", "versicolor", "virginica"]
            .iter()
            .zip(&distribution)
        {
            let ours = tagged
                .probability("class", &[Value::symbol("f1"), Value::string(class)])
                .unwrap_or(0.0);
            assert!((ours - p).abs() < 1e-9, "{semiring}: {class} {ours} vs {p}");
        }
    }
}

#[test]
fn exported_rules_give_the_models_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let path = train_iris(dir.path(), Variant::Cart);
    let model = TreeModel::load(&path).unwrap();
    let rules = nesy_learn::export::tree_rules(
        model.cart.as_ref().unwrap(),
        model.schema(),
        model.leaf_smoothing(),
        "iris",
        "flower",
        "iris.tree",
    );
    let (facts, rows) = iris_facts();
    let program = self::program(dir.path(), &format!("{rules}\n{facts}")).unwrap();
    let (tagged, _) = program
        .evaluate_tagged(Semiring::MaxProb, &Limits::default())
        .unwrap();
    let iris = tagged.relation("iris").unwrap();
    assert_eq!(iris.rows.len(), rows.len(), "one rule fires per row");
    for (id, x) in &rows {
        let p = model.classifier.predict(x);
        let got = tagged
            .probability("iris", &[Value::symbol(id), Value::string(&p.class_name)])
            .unwrap_or_else(|| panic!("{id}: no {}", p.class_name));
        assert!(
            (got - p.probability).abs() < 1e-12,
            "{id}: {got} vs {}",
            p.probability
        );
    }
}

#[test]
fn explanations_show_the_model_call_and_its_path() {
    let dir = tempfile::tempdir().unwrap();
    train_iris(dir.path(), Variant::Cart);
    let rules = "@model iris = \"iris.tree\".\n\
        flower(f1, 5.1, 3.5, 1.4, 0.2).\n\
        @name(by_tree)\n\
        kind(F, C) :- flower(F, A, B, C2, D), iris.predict(A, B, C2, D, C, _).\n";
    let program = program(dir.path(), rules).unwrap();
    let why = &program
        .explain(
            "kind(f1, \"setosa\")",
            &ExplainOptions::default(),
            &Limits::default(),
        )
        .unwrap()[0];
    assert!(why.holds);
    let json = serde_json::to_value(why).unwrap();
    let call = &json["premises"][1];
    assert_eq!(call["kind"], "model");
    assert_eq!(call["model"]["call"], "iris.predict");
    assert_eq!(call["model"]["outputs"][0], "setosa");
    assert!(
        call["model"]["model"]
            .as_str()
            .unwrap()
            .starts_with("CART tree")
    );
    let detail = &call["model"]["explanation"]["detail"];
    assert_eq!(detail["kind"], "tests");
    // Petal length and width split setosa off equally well; the seeded
    // feature order picked width.
    assert_eq!(detail["steps"][0]["feature"], "petal_width");
    assert!(
        why.to_text().contains("petal_width = 0.2 <"),
        "{}",
        why.to_text()
    );
    // Why not: the model answers otherwise.
    let not = &program
        .explain(
            "kind(f1, \"virginica\")",
            &ExplainOptions::default(),
            &Limits::default(),
        )
        .unwrap()[0];
    assert!(!not.holds);
    assert!(
        not.attempts[0]
            .reason
            .contains("the model answers (\"setosa\""),
        "{:?}",
        not.attempts
    );
}

#[test]
fn forests_and_soft_trees_are_called_the_same_way() {
    for variant in [Variant::Forest, Variant::Soft] {
        let dir = tempfile::tempdir().unwrap();
        let model = TreeModel::load(&train_iris(dir.path(), variant)).unwrap();
        let rules = "@model iris = \"iris.tree\".\n\
            flower(f1, 5.1, 3.5, 1.4, 0.2).\n\
            kind(F, C, P) :- flower(F, A, B, C2, D), iris.predict(A, B, C2, D, C, P).\n";
        let result = program(dir.path(), rules)
            .unwrap()
            .evaluate(&Limits::default())
            .unwrap();
        let p = model.classifier.predict(&[5.1, 3.5, 1.4, 0.2]);
        assert!(result.contains(
            "kind",
            &[
                Value::symbol("f1"),
                Value::string(&p.class_name),
                Value::float(p.probability)
            ]
        ));
    }
}

#[test]
fn misused_models_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    train_iris(dir.path(), Variant::Cart);
    let error = |rules: &str| program(dir.path(), rules).unwrap_err().to_string();
    let wrong_arity = error(
        "@model iris = \"iris.tree\".\nf(x, 1, 2).\ng(C) :- f(_, A, C), iris.predict(A, C).\n",
    );
    assert!(
        wrong_arity.contains("rules.nesy:3:")
            && wrong_arity.contains("`iris.predict` takes (sepal_length, sepal_width, petal_length, petal_width, Class, Probability)"),
        "{wrong_arity}"
    );
    let method = error(
        "@model iris = \"iris.tree\".\nf(1.0).\ng(C) :- f(A), iris.embed(A, A, A, A, C, _).\n",
    );
    assert!(method.contains("no method `embed`"), "{method}");
    let negated = error(
        "@model iris = \"iris.tree\".\nf(1.0).\ng(A) :- f(A), not iris.predict(A, A, A, A, \"setosa\", _).\n",
    );
    assert!(negated.contains("cannot be negated"), "{negated}");
    // A model file that is not a model: the error names the declaration.
    std::fs::write(
        dir.path().join("bad.tree"),
        "{\"format\": \"something else\"}",
    )
    .unwrap();
    let corrupt = error("@model bad = \"bad.tree\".\nf(1).\n");
    assert!(
        corrupt.contains("rules.nesy:1:1") && corrupt.contains("bad.tree"),
        "{corrupt}"
    );
    // A model file of a kind nesy does not know is an error of its own,
    // not a tree that fails to load.
    std::fs::write(
        dir.path().join("odd.model"),
        "{\"format\": \"nesy-model\", \"version\": 1, \"kind\": \"bayes\"}",
    )
    .unwrap();
    let unknown = error("@model odd = \"odd.model\".\nf(1).\n");
    assert!(
        unknown.contains("rules.nesy:1:1")
            && unknown.contains("of kind `bayes`, which this nesy does not read"),
        "{unknown}"
    );
    // A missing file is a warning; calling it is an error.
    let missing =
        error("@model gone = \"gone.tree\".\nf(1.0).\ng(C) :- f(A), gone.predict(A, C, _).\n");
    assert!(missing.contains("model `gone` is not loaded"), "{missing}");
    // A value of the wrong type is an error naming the rule and the call.
    let typed = program(
        dir.path(),
        "@model iris = \"iris.tree\".\nf(abc).\ng(C) :- f(A), iris.predict(A, A, A, A, C, _).\n",
    )
    .unwrap()
    .evaluate(&Limits::default())
    .err()
    .unwrap()
    .to_string();
    assert!(
        typed.contains("rules.nesy:3:1")
            && typed.contains("iris.predict failed")
            && typed.contains("must be a number"),
        "{typed}"
    );
}

/// A model given to the engine builder (or declared in another file of
/// the program) is known to every rule file: each is checked alone, the
/// model is the program's.
#[test]
fn models_declared_elsewhere_in_the_program_are_known() {
    let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/models/credit.tree");
    let rules = "
        @decl applicant(id: symbol, income: int, debt: int, years_employed: int).
        @input applicant.
        income(A, I) :- applicant(A, I, _, _).
        debt(A, D) :- applicant(A, _, D, _).
        years_employed(A, Y) :- applicant(A, _, _, Y).
        good(A) :- applicant(A, _, _, _), credit.predict(A) = \"good\".
    ";
    let engine = nesy::Engine::builder()
        .rules_text("policy.nesy", rules)
        .model("credit", tree)
        .build()
        .unwrap();
    let input = nesy::Input::new().fact(
        "applicant",
        vec![
            Value::symbol("z1"),
            Value::Int(90000),
            Value::Int(1000),
            Value::Int(10),
        ],
    );
    let decision = engine
        .decide("good", &input, &nesy::DecideOptions::default())
        .unwrap();
    assert!(decision.holds);
    // Still unknown when nothing declares it, with the place of the call.
    let err = nesy::Engine::builder()
        .rules_text("policy.nesy", rules)
        .build()
        .unwrap_err();
    assert!(err.to_string().starts_with("policy.nesy:7:"), "{err}");
    assert!(err.to_string().contains("unknown model `credit`"), "{err}");
}
