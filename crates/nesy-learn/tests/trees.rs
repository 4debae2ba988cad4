//! Decision trees end to end: training on the shipped tables, accuracy,
//! reproducibility, model files and their error paths.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use nesy_learn::cart::{CartParams, Criterion};
use nesy_learn::soft::SoftParams;
use nesy_learn::{
    Classifier, Error, FitOptions, Holdout, Table, TrainRequest, TreeModel, Variant, device, train,
};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../knowledge/tabular")
        .join(name)
}

fn request(variant: Variant, holdout: Holdout) -> TrainRequest<'static> {
    TrainRequest {
        variant,
        cart: CartParams {
            max_depth: Some(4),
            trees: 20,
            ..CartParams::default()
        },
        soft: SoftParams {
            epochs: 40,
            ..SoftParams::default()
        },
        holdout,
        data_file: "table.csv",
        test_table: None,
    }
}

fn fit(
    table: &Table,
    req: &TrainRequest<'_>,
    seed: u64,
) -> (
    nesy_learn::Trained,
    nesy_learn::Header,
    nesy_learn::TrainReport,
) {
    let mut progress = |_: usize, _: f64| {};
    let mut options = FitOptions {
        seed,
        device: device("cpu").unwrap(),
        progress: &mut progress,
    };
    train(table, req, &mut options).unwrap()
}

#[test]
fn cart_learns_iris_and_is_reproducible() {
    let table = Table::from_csv(&data("iris.csv"), "class").unwrap();
    assert_eq!(table.len(), 150);
    assert_eq!(table.schema.classes, ["setosa", "versicolor", "virginica"]);
    let req = request(Variant::Cart, Holdout::Split(0.3));
    let (a, header, report) = fit(&table, &req, 0);
    let test = report.test.unwrap();
    assert!(test.accuracy >= 0.9, "test accuracy {}", test.accuracy);
    assert!(report.train.accuracy >= test.accuracy - 0.1);
    assert_eq!(header.data.rows, 105);
    // Same data, parameters and seed: the same tree (the seed orders the
    // features, which decides ties between equally good splits).
    let (b, _, _) = fit(&table, &req, 0);
    let (nesy_learn::Trained::Cart(a), nesy_learn::Trained::Cart(b)) = (a, b) else {
        panic!("not CART");
    };
    assert_eq!(a.tree, b.tree);
    // Every prediction carries a probability from the leaf's counts.
    let p = a.predict(&table.x[0]);
    assert_eq!(p.class_name, "setosa");
    assert!(p.probability > 0.9 && p.probability <= 1.0);
    assert!((p.distribution.iter().sum::<f64>() - 1.0).abs() < 1e-9);
}

#[test]
fn entropy_and_depth_limits_change_the_tree() {
    let table = Table::from_csv(&data("iris.csv"), "class").unwrap();
    let mut req = request(Variant::Cart, Holdout::None);
    req.cart.max_depth = Some(1);
    let (stump, _, report) = fit(&table, &req, 0);
    let nesy_learn::Trained::Cart(stump) = stump else {
        panic!()
    };
    assert_eq!(stump.tree.nodes.len(), 3, "depth 1 is one split");
    assert!(report.train.accuracy < 0.7);
    req.cart.max_depth = None;
    req.cart.criterion = Criterion::Entropy;
    let (_, _, full) = fit(&table, &req, 0);
    assert!(full.train.accuracy > 0.97, "{}", full.train.accuracy);
}

#[test]
fn forest_and_soft_tree_learn_breast_cancer() {
    let table = Table::from_csv(&data("breast_cancer.csv"), "class").unwrap();
    let forest = fit(&table, &request(Variant::Forest, Holdout::Split(0.25)), 1).2;
    assert!(forest.test.unwrap().accuracy > 0.9);
    let req = request(Variant::Soft, Holdout::Split(0.25));
    let (a, _, soft) = fit(&table, &req, 1);
    assert!(
        soft.test.as_ref().unwrap().accuracy > 0.9,
        "{:?}",
        soft.test
    );
    // Seeded initialisation and batch order: the same weights again.
    let (b, _, _) = fit(&table, &req, 1);
    let (nesy_learn::Trained::Soft(a), nesy_learn::Trained::Soft(b)) = (a, b) else {
        panic!("not soft");
    };
    assert_eq!(a.tree.weights, b.tree.weights);
    let (c, _, _) = fit(&table, &req, 2);
    let nesy_learn::Trained::Soft(c) = c else {
        panic!()
    };
    assert_ne!(
        a.tree.weights, c.tree.weights,
        "another seed, other weights"
    );
}

#[test]
fn cross_validation_reports_every_fold() {
    let table = Table::from_csv(&data("iris.csv"), "class").unwrap();
    let (_, header, report) = fit(&table, &request(Variant::Cart, Holdout::Folds(5)), 3);
    assert_eq!(report.folds.len(), 5);
    let mean = report.folds.iter().map(|m| m.accuracy).sum::<f64>() / 5.0;
    assert!((report.test.unwrap().accuracy - mean).abs() < 1e-12);
    assert_eq!(
        header.data.rows, 150,
        "the saved model is fitted on every row"
    );
    assert_eq!(header.metrics["folds"].as_array().unwrap().len(), 5);
}

#[test]
fn model_files_round_trip_and_describe_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let table = Table::from_csv(&data("iris.csv"), "class").unwrap();
    for variant in [Variant::Cart, Variant::Forest, Variant::Soft] {
        let (model, header, _) = fit(&table, &request(variant, Holdout::Split(0.2)), 5);
        let path = dir.path().join(format!("iris-{variant}.tree"));
        model.save(&header, &path).unwrap();
        let loaded = TreeModel::load(&path).unwrap();
        assert_eq!(loaded.header, header);
        assert_eq!(loaded.header.variant, variant);
        assert_eq!(loaded.header.data.sha256.len(), 64);
        for x in &table.x {
            let (p, q) = (model.classifier().predict(x), loaded.classifier.predict(x));
            assert_eq!(p.class, q.class);
            assert!((p.probability - q.probability).abs() < 1e-9);
        }
        // No temporary files are left beside the model.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| n.to_string_lossy().starts_with("iris-")),
            "{names:?}"
        );
    }
}

#[test]
fn leaves_are_smoothed_and_older_files_read_as_raw_frequencies() {
    let dir = tempfile::tempdir().unwrap();
    let table = Table::from_csv(&data("iris.csv"), "class").unwrap();
    let (model, header, _) = fit(&table, &request(Variant::Cart, Holdout::None), 0);
    let path = dir.path().join("iris.tree");
    model.save(&header, &path).unwrap();
    let loaded = TreeModel::load(&path).unwrap();
    assert_eq!(loaded.leaf_smoothing(), 1.0);
    let tree = loaded.cart.clone().unwrap();
    let x = &table.x[0];
    let counts = match &tree.nodes[tree.leaf(x)] {
        nesy_learn::tree::Node::Leaf { counts } => counts.clone(),
        other => panic!("{other:?}"),
    };
    let n: f64 = counts.iter().sum();
    // (n_c + 1) / (n + 3) for three classes.
    let smoothed = loaded.classifier.proba(x);
    for (p, c) in smoothed.iter().zip(&counts) {
        assert!(
            (p - (c + 1.0) / (n + 3.0)).abs() < 1e-12,
            "{smoothed:?} {counts:?}"
        );
    }
    assert!(smoothed.iter().all(|&p| p > 0.0 && p < 1.0));
    // A file written before smoothing existed has no `leaf_smoothing`: its
    // leaves keep the raw frequencies they were trained with.
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    json["params"]
        .as_object_mut()
        .unwrap()
        .remove("leaf_smoothing");
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    let old = TreeModel::load(&path).unwrap();
    assert_eq!(old.leaf_smoothing(), 0.0);
    for (p, c) in old.classifier.proba(x).iter().zip(&counts) {
        assert!((p - c / n).abs() < 1e-12);
    }
    // A bad value is a clear error.
    json["params"]["leaf_smoothing"] = serde_json::json!(-2.0);
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    let error = TreeModel::load(&path).unwrap_err().to_string();
    assert!(
        error.contains("leaf_smoothing is a count of 0 or more"),
        "{error}"
    );
}

#[test]
fn corrupt_and_mismatched_model_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let table = Table::from_csv(&data("iris.csv"), "class").unwrap();
    let (model, header, _) = fit(&table, &request(Variant::Cart, Holdout::None), 0);
    let good = dir.path().join("good.tree");
    model.save(&header, &good).unwrap();
    let text = std::fs::read_to_string(&good).unwrap();

    let check = |name: &str, contents: &[u8], expected: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        let err = TreeModel::load(&path).unwrap_err();
        assert!(matches!(err, Error::ModelFile { .. }), "{name}: {err}");
        let message = err.to_string();
        assert!(message.contains(name), "{message}");
        assert!(message.contains(expected), "{name}: {message}");
    };
    check(
        "truncated.tree",
        &text.as_bytes()[..text.len() / 2],
        "not a valid nesy model file",
    );
    check(
        "version.tree",
        text.replacen("\"version\": 1", "\"version\": 99", 1)
            .as_bytes(),
        "version 99",
    );
    check(
        "kind.tree",
        text.replacen("\"kind\": \"tree\"", "\"kind\": \"kge\"", 1)
            .as_bytes(),
        "not a decision tree",
    );
    check(
        "links.tree",
        text.replacen("\"left\": 1", "\"left\": 0", 1).as_bytes(),
        "malformed",
    );
    check(
        "binary.tree",
        b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage",
        "neither a JSON nor a safetensors",
    );

    let (soft, soft_header, _) = fit(&table, &request(Variant::Soft, Holdout::None), 0);
    let soft_path = dir.path().join("soft.tree");
    soft.save(&soft_header, &soft_path).unwrap();
    let bytes = std::fs::read(&soft_path).unwrap();
    check("cut.tree", &bytes[..bytes.len() - 10], "safetensors");
    assert!(matches!(
        TreeModel::load(&dir.path().join("absent.tree")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn missing_values_and_bad_columns_name_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "a,b,y\n1,2,x\n3,,z\n").unwrap();
    let err = Table::from_csv(&path, "y").unwrap_err().to_string();
    assert!(
        err.contains("t.csv:3") && err.contains("column `b`"),
        "{err}"
    );
    let err = Table::from_csv(&path, "nope").unwrap_err().to_string();
    assert!(
        err.contains("no target column `nope`") && err.contains("a, b, y"),
        "{err}"
    );
    std::fs::write(&path, "a,b,y\n1,2,x\n3,4\n").unwrap();
    let err = Table::from_csv(&path, "y").unwrap_err().to_string();
    assert!(err.contains("t.csv:3"), "{err}");
    std::fs::write(&path, "a,y\n1,x\n2,x\n").unwrap();
    let err = Table::from_csv(&path, "y").unwrap_err().to_string();
    assert!(err.contains("one class only"), "{err}");
    // Data for a trained model must have its columns.
    let table = Table::from_csv(&data("iris.csv"), "class").unwrap();
    std::fs::write(&path, "sepal_length,petal_length\n1,2\n").unwrap();
    let err = table.schema.read_csv(&path).unwrap_err().to_string();
    assert!(err.contains("no column `sepal_width`"), "{err}");
}

#[test]
fn categorical_columns_are_one_hot_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.csv");
    let mut csv = String::from("colour,size,label\n");
    for i in 0..40 {
        let colour = ["red", "blue", "green"][i % 3];
        let label = if colour == "red" { "hot" } else { "cold" };
        csv.push_str(&format!("{colour},{},{label}\n", i % 7));
    }
    std::fs::write(&path, csv).unwrap();
    let table = Table::from_csv(&path, "label").unwrap();
    assert_eq!(
        table.schema.encoded_names(),
        ["colour=blue", "colour=green", "colour=red", "size"]
    );
    let (model, _, report) = fit(&table, &request(Variant::Cart, Holdout::None), 0);
    assert_eq!(report.train.accuracy, 1.0);
    let nesy_learn::Trained::Cart(cart) = model else {
        panic!()
    };
    let path_steps = match cart.explain(&table.x[0]) {
        nesy_learn::DecisionPath::Tests { steps, .. } => steps,
        other => panic!("{other:?}"),
    };
    assert_eq!(path_steps[0].feature, "colour=red");
}
