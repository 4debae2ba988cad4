//! `nesy::Layer`: forward probabilities against the possible worlds, and
//! the Jacobian against finite differences.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use nesy::{Layer, Limits, Program, Semiring, Value};

fn digit(image: &str, d: i64) -> Vec<Value> {
    vec![Value::symbol(image), Value::Int(d)]
}

/// A small seeded generator (no dependency for three random numbers).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64) / ((1u64 << 53) as f64)
    }
    /// A distribution over `n` classes.
    fn softmax(&mut self, n: usize) -> Vec<f64> {
        let raw: Vec<f64> = (0..n).map(|_| (3.0 * self.next()).exp()).collect();
        let total: f64 = raw.iter().sum();
        raw.iter().map(|x| x / total).collect()
    }
}

const CLASSES: i64 = 4;

fn addition_layer(exclusive: bool) -> Layer {
    let program = Program::from_source(
        "add.nesy",
        "addition(X, Y, Z) :- pair(X, Y), digit(X, A), digit(Y, B), Z = A + B. pair(a, b).",
    )
    .unwrap();
    let facts = ["a", "b"]
        .iter()
        .flat_map(|image| (0..CLASSES).map(move |d| digit(image, d)))
        .collect();
    let sums = (0..2 * CLASSES - 1)
        .map(|s| vec![Value::symbol("a"), Value::symbol("b"), Value::Int(s)])
        .collect();
    Layer::new(
        &program,
        &[("digit".to_string(), facts)],
        exclusive,
        &[("addition".to_string(), sums)],
        Semiring::DiffTopK(100),
    )
    .unwrap()
}

#[test]
fn exclusive_inputs_give_the_distribution_of_the_sum() {
    let layer = addition_layer(true);
    assert_eq!((layer.inputs(), layer.outputs()), (8, 7));
    let mut rng = Lcg(7);
    for _ in 0..5 {
        let (a, b) = (rng.softmax(4), rng.softmax(4));
        let input: Vec<f64> = a.iter().chain(&b).copied().collect();
        let out = layer.forward(&input, &Limits::default()).unwrap();
        for s in 0..7usize {
            let expected: f64 = (0..4)
                .filter_map(|i| s.checked_sub(i).filter(|j| *j < 4).map(|j| a[i] * b[j]))
                .sum();
            assert!(
                (out.probabilities[s] - expected).abs() < 1e-6,
                "P(sum = {s})"
            );
            // d P(sum = s) / d P(a = i) = P(b = s - i).
            for i in 0..4 {
                let d = s.checked_sub(i).filter(|j| *j < 4).map_or(0.0, |j| b[j]);
                assert!(
                    (out.jacobian[s][i] - d).abs() < 1e-6,
                    "dP(sum={s})/dP(a={i})"
                );
            }
        }
        let total: f64 = out.probabilities.iter().sum();
        assert!((total - 1.0).abs() < 1e-6);
    }
}

/// Central differences of the forward pass.
fn finite_differences(layer: &Layer, input: &[f64]) -> Vec<Vec<f64>> {
    let h = 1e-6;
    let mut columns = Vec::new();
    for i in 0..input.len() {
        let (mut up, mut down) = (input.to_vec(), input.to_vec());
        up[i] += h;
        down[i] -= h;
        let f = |x: &[f64]| layer.forward(x, &Limits::default()).unwrap().probabilities;
        let (u, d) = (f(&up), f(&down));
        columns.push(
            u.iter()
                .zip(&d)
                .map(|(u, d)| (u - d) / (2.0 * h))
                .collect::<Vec<_>>(),
        );
    }
    (0..layer.outputs())
        .map(|j| columns.iter().map(|c| c[j]).collect())
        .collect()
}

#[test]
fn the_jacobian_is_the_derivative_of_the_forward_pass() {
    // Independent inputs on a graph with shared sub-paths: the output
    // probabilities are not sums of products, and the proofs overlap.
    let program = Program::from_source(
        "paths.nesy",
        "path(X, Y) :- edge(X, Y). path(X, Z) :- edge(X, Y), path(Y, Z).",
    )
    .unwrap();
    let edge = |a: &str, b: &str| vec![Value::symbol(a), Value::symbol(b)];
    let edges = vec![
        edge("a", "b"),
        edge("b", "c"),
        edge("a", "c"),
        edge("c", "d"),
        edge("b", "d"),
    ];
    let goals = vec![edge("a", "d"), edge("a", "c"), edge("b", "d")];
    let layer = Layer::new(
        &program,
        &[("edge".to_string(), edges)],
        false,
        &[("path".to_string(), goals)],
        Semiring::DiffTopK(100),
    )
    .unwrap();
    let mut rng = Lcg(3);
    for _ in 0..3 {
        let input: Vec<f64> = (0..5).map(|_| 0.1 + 0.8 * rng.next()).collect();
        let out = layer.forward(&input, &Limits::default()).unwrap();
        // P(path(b, d)) = 1 - (1 - bd)(1 - bc cd).
        let (ab, bc, ac, cd, bd) = (input[0], input[1], input[2], input[3], input[4]);
        assert!((out.probabilities[2] - (1.0 - (1.0 - bd) * (1.0 - bc * cd))).abs() < 1e-9);
        let _ = (ab, ac);
        let numeric = finite_differences(&layer, &input);
        for (j, row) in out.jacobian.iter().enumerate() {
            for (i, d) in row.iter().enumerate() {
                assert!(
                    (d - numeric[j][i]).abs() < 1e-5,
                    "d out {j} / d in {i}: {d} vs {}",
                    numeric[j][i]
                );
            }
        }
    }
    // The exclusive layer too.
    let layer = addition_layer(true);
    let input: Vec<f64> = [0.1, 0.2, 0.3, 0.35, 0.4, 0.3, 0.2, 0.05].to_vec();
    let out = layer.forward(&input, &Limits::default()).unwrap();
    let numeric = finite_differences(&layer, &input);
    for (j, row) in out.jacobian.iter().enumerate() {
        for (i, d) in row.iter().enumerate() {
            assert!((d - numeric[j][i]).abs() < 1e-5);
        }
    }
}

#[test]
fn batches_are_the_items_forward() {
    let layer = addition_layer(true);
    let items: Vec<Vec<f64>> = (0..6)
        .map(|k| {
            let mut rng = Lcg(k);
            let (a, b) = (rng.softmax(4), rng.softmax(4));
            a.into_iter().chain(b).collect()
        })
        .collect();
    let batch = layer.forward_batch(&items, &Limits::default()).unwrap();
    for (item, out) in items.iter().zip(&batch) {
        assert_eq!(&layer.forward(item, &Limits::default()).unwrap(), out);
    }
}

#[test]
fn bad_layers_and_inputs_are_errors() {
    let program = Program::from_source("p.nesy", "q(X) :- p(X).").unwrap();
    let p = |x: i64| vec![Value::Int(x)];
    let inputs = vec![("p".to_string(), vec![p(1), p(2)])];
    let outputs = vec![("q".to_string(), vec![p(1)])];
    let err = Layer::new(&program, &inputs, false, &outputs, Semiring::TopK(3)).unwrap_err();
    assert!(err.to_string().contains("diff-top-k"), "{err}");
    let empty = vec![("p".to_string(), vec![])];
    assert!(Layer::new(&program, &empty, false, &outputs, Semiring::DiffTopK(3)).is_err());
    let ragged = vec![(
        "p".to_string(),
        vec![p(1), vec![Value::Int(1), Value::Int(2)]],
    )];
    assert!(Layer::new(&program, &ragged, false, &outputs, Semiring::DiffTopK(3)).is_err());
    let layer = Layer::new(&program, &inputs, false, &outputs, Semiring::DiffTopK(3)).unwrap();
    let limits = Limits::default();
    assert!(
        layer
            .forward(&[0.5], &limits)
            .unwrap_err()
            .to_string()
            .contains("takes 2")
    );
    assert!(
        layer
            .forward(&[0.5, 1.5], &limits)
            .unwrap_err()
            .to_string()
            .contains("[0, 1]")
    );
    assert!(layer.forward(&[0.5, f64::NAN], &limits).is_err());
    // Certain and impossible inputs are fine (kept just inside (0, 1)).
    let out = layer.forward(&[1.0, 0.0], &limits).unwrap();
    assert!((out.probabilities[0] - 1.0).abs() < 1e-6);
    // An output no rule can derive has probability 0 and no gradient.
    let never = vec![("q".to_string(), vec![p(9)])];
    let layer = Layer::new(&program, &inputs, false, &never, Semiring::DiffTopK(3)).unwrap();
    let out = layer.forward(&[0.5, 0.5], &limits).unwrap();
    assert_eq!(out.probabilities, [0.0]);
    assert_eq!(out.jacobian, [[0.0, 0.0]]);
}
