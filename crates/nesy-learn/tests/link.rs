//! Link prediction end to end on Nations: mined rules, embeddings, the
//! hybrid, the one evaluator, model files, reproducibility.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use nesy_learn::link::kge::{self, Kge, KgeFile, KgeHeader, KgeKind, KgeParams};
use nesy_learn::link::rules::{self, Body, MineParams, RuleSet};
use nesy_learn::link::{
    Direction, Hybrid, LinkScorer, Triple, TripleIndex, Vocab, evaluate, graph,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../knowledge/kg/nations")
        .join(name)
}

struct Nations {
    vocab: Vocab,
    train: Vec<Triple>,
    valid: Vec<Triple>,
    test: Vec<Triple>,
}

fn nations() -> Nations {
    let (t, v, s) = (
        graph::read_tsv(&data("train.tsv")).unwrap(),
        graph::read_tsv(&data("valid.tsv")).unwrap(),
        graph::read_tsv(&data("test.tsv")).unwrap(),
    );
    let vocab = Vocab::of(&[&t, &v]);
    Nations {
        train: vocab.ids(&t).0,
        valid: vocab.ids(&v).0,
        test: vocab.ids(&s).0,
        vocab,
    }
}

fn mine(n: &Nations) -> RuleSet {
    let graph = TripleIndex::new(&n.vocab, n.train.clone());
    let params = MineParams {
        max_length: 2,
        samples_per_relation: 60,
        time_budget: Duration::from_secs(60),
        ..MineParams::default()
    };
    RuleSet::new(rules::mine(&graph, &params), graph)
}

fn embed(n: &Nations, kind: KgeKind, epochs: usize, seed: u64) -> Kge {
    let params = KgeParams {
        dim: 32,
        epochs,
        valid_every: 5,
        ..KgeParams::defaults(kind)
    };
    let mut progress = |_: usize, _: f64, _: Option<f64>| {};
    let data = kge::TrainingSet {
        train: &n.train,
        valid: &n.valid,
        entities: n.vocab.entities.len(),
        relations: n.vocab.relations.len(),
    };
    kge::train(
        data,
        &params,
        seed,
        &nesy_learn::device("cpu").unwrap(),
        &mut progress,
    )
    .unwrap()
    .0
}

fn known(n: &Nations) -> Vec<Triple> {
    n.train.iter().chain(&n.valid).copied().collect()
}

/// Scores every entity the same: the evaluator's floor.
struct Constant(usize);
impl LinkScorer for Constant {
    fn scores(&self, _: u32, _: u32, _: Direction) -> Vec<f64> {
        vec![0.0; self.0]
    }
}

#[test]
fn mined_rules_predict_links_and_read_back() {
    let n = nations();
    let set = mine(&n);
    assert!(set.rules.iter().any(|r| matches!(r.body, Body::Cyclic(_))));
    assert!(
        set.rules
            .iter()
            .all(|r| r.support >= 2 && r.confidence > 0.0 && r.confidence < 1.0)
    );
    let m = evaluate(&set, &n.test, &known(&n), None);
    let floor = evaluate(&Constant(n.vocab.entities.len()), &n.test, &known(&n), None);
    assert!(
        m.mrr > 0.6 && m.mrr > floor.mrr + 0.2,
        "rules MRR {} vs floor {}",
        m.mrr,
        floor.mrr
    );
    // Seeded: the same rules again.
    assert_eq!(mine(&n).rules, set.rules);
    // The nesy rule file reads back to the same rules.
    let text = rules::to_nesy(&set.rules, &n.vocab, "train.tsv", "train.tsv");
    let (back, _) = rules::from_nesy(&text, &n.vocab).unwrap();
    assert_eq!(back.len(), set.rules.len());
    for (a, b) in back.iter().zip(&set.rules) {
        assert_eq!((a.head, &a.body), (b.head, &b.body));
        assert!((a.confidence - b.confidence).abs() < 1e-15);
    }
    // Every prediction can be traced along a path of the graph.
    let (h, r, _) = n.test[0];
    for (c, _, rule) in set.predict(h, r, Direction::Tail).into_iter().take(5) {
        let path = set.path(rule, h, c, Direction::Tail);
        assert_eq!((path[0], *path.last().unwrap()), (h, c));
    }
}

#[test]
fn embeddings_learn_nations_and_are_reproducible() {
    let n = nations();
    let floor = evaluate(&Constant(n.vocab.entities.len()), &n.test, &known(&n), None).mrr;
    for kind in [
        KgeKind::TransE,
        KgeKind::DistMult,
        KgeKind::ComplEx,
        KgeKind::RotatE,
    ] {
        let model = embed(&n, kind, 10, 0);
        let mrr = evaluate(&model, &n.test, &known(&n), None).mrr;
        assert!(mrr > floor + 0.05, "{kind}: MRR {mrr} vs floor {floor}");
    }
    let a = embed(&n, KgeKind::ComplEx, 10, 3);
    let b = embed(&n, KgeKind::ComplEx, 10, 3);
    assert_eq!(a, b, "same seed, same weights");
    let mrr = evaluate(&a, &n.test, &known(&n), None).mrr;
    assert!(mrr > 0.6, "complex MRR {mrr}");
    // The plain-Rust scorer and the training's matrix product agree.
    let (h, r, _) = n.test[0];
    let batch = kge::batch_scores(&a, &[(h, r)], &nesy_learn::device("cpu").unwrap()).unwrap();
    for (x, y) in a.scores(h, r, Direction::Tail).iter().zip(&batch[0]) {
        assert!((x - f64::from(*y)).abs() < 1e-3, "{x} vs {y}");
    }
    // Calibrated probabilities: true triples above corrupted ones on average.
    let p_true: f64 = n
        .valid
        .iter()
        .map(|&(h, r, t)| a.probability(h, r, t))
        .sum::<f64>()
        / n.valid.len() as f64;
    let all = known(&n);
    let corrupted: Vec<f64> = n
        .valid
        .iter()
        .map(|&(h, r, t)| (h, r, (t + 5) % 14))
        .filter(|x| !all.contains(x) && !n.test.contains(x))
        .map(|(h, r, t)| a.probability(h, r, t))
        .collect();
    let p_false = corrupted.iter().sum::<f64>() / corrupted.len() as f64;
    assert!(
        p_true > p_false + 0.1 && p_true <= 1.0 && p_false >= 0.0,
        "{p_true} vs {p_false}"
    );
}

#[test]
fn the_hybrid_is_at_least_as_good_as_either_on_validation() {
    let n = nations();
    let set = mine(&n);
    let model = embed(&n, KgeKind::DistMult, 20, 0);
    let mut hybrid = Hybrid {
        rules: &set,
        embedding: &model,
        weight: 0.5,
    };
    let w = hybrid.fit_weight(&n.valid, &known(&n));
    let valid = |s: &dyn LinkScorer| evaluate(s, &n.valid, &known(&n), None).mrr;
    // Weights 0 and 1 are in the grid: rank by the embedding, or by rules.
    assert!(
        valid(&hybrid)
            >= valid(&Hybrid {
                rules: &set,
                embedding: &model,
                weight: 0.0
            }) - 1e-12
    );
    assert!(
        valid(&hybrid)
            >= valid(&Hybrid {
                rules: &set,
                embedding: &model,
                weight: 1.0
            }) - 1e-12,
        "w {w}"
    );
    let per = evaluate(&hybrid, &n.test, &known(&n), Some(&n.vocab.relations));
    assert!(!per.per_relation.is_empty());
    let total: usize = per.per_relation.values().map(|m| m.queries).sum();
    assert_eq!(total, per.queries);
}

#[test]
fn embedding_files_round_trip_and_reject_corruption() {
    let n = nations();
    let model = embed(&n, KgeKind::RotatE, 5, 1);
    let header = KgeHeader {
        format: "nesy-model".into(),
        version: 1,
        kind: "kge".into(),
        model: KgeKind::RotatE,
        dim: 32,
        entities: n.vocab.entities.clone(),
        relations: n.vocab.relations.clone(),
        params: KgeParams::defaults(KgeKind::RotatE),
        seed: 1,
        metrics: serde_json::json!({}),
        calibration: [model.calibration.0, model.calibration.1],
        data: serde_json::json!({}),
        created_by: "test".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.kge");
    KgeFile {
        header: header.clone(),
        model: model.clone(),
    }
    .save(&path)
    .unwrap();
    let back = KgeFile::load(&path).unwrap();
    assert_eq!(back.model, model);
    assert_eq!(back.header, header);
    assert_eq!(nesy_learn::model_file::model_kind(&path).unwrap(), "kge");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let err = KgeFile::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("n.kge") && err.contains("safetensors"),
        "{err}"
    );
    // A tree file is not an embedding.
    std::fs::write(&path, "{\"format\": \"nesy-model\", \"kind\": \"tree\"}").unwrap();
    assert!(KgeFile::load(&path).is_err());
}

#[test]
fn bad_triple_files_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.tsv");
    std::fs::write(&path, "a\tr\tb\nc\td\n").unwrap();
    let err = graph::read_tsv(&path).unwrap_err().to_string();
    assert!(
        err.contains("t.tsv:2") && err.contains("found 2 field(s)"),
        "{err}"
    );
    std::fs::write(&path, "\n").unwrap();
    assert!(
        graph::read_tsv(&path)
            .unwrap_err()
            .to_string()
            .contains("no triples")
    );
}

/// Every binding of a path body's variables from `anchor`, counted by its
/// last entity, by brute force over all entities (`exclude` left out).
fn bindings(
    g: &TripleIndex,
    path: &[rules::Step],
    anchor: u32,
    exclude: Option<Triple>,
) -> std::collections::BTreeMap<u32, f64> {
    let holds = |a: u32, s: &rules::Step, b: u32| {
        let t = if s.inverse {
            (b, s.relation, a)
        } else {
            (a, s.relation, b)
        };
        Some(t) != exclude && g.contains(t.0, t.1, t.2)
    };
    let n = g.entities as u32;
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![(anchor, 0usize)];
    while let Some((at, depth)) = stack.pop() {
        let Some(step) = path.get(depth) else {
            *out.entry(at).or_insert(0.0) += 1.0;
            continue;
        };
        for next in 0..n {
            if holds(at, step, next) {
                stack.push((next, depth + 1));
            }
        }
    }
    out
}

#[test]
fn groundings_count_every_body_binding_and_leave_the_excluded_triple_out() {
    use nesy_learn::link::ground::Grounder;
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for _ in 0..20 {
        let vocab = Vocab {
            entities: (0..7).map(|i| format!("e{i}")).collect(),
            relations: (0..3).map(|i| format!("r{i}")).collect(),
        };
        let mut triples: Vec<Triple> = (0..18)
            .map(|_| {
                (
                    rng.gen_range(0..7),
                    rng.gen_range(0..3),
                    rng.gen_range(0..7),
                )
            })
            .collect();
        triples.sort_unstable();
        triples.dedup();
        let g = TripleIndex::new(&vocab, triples.clone());
        let step = |rng: &mut rand_chacha::ChaCha8Rng| rules::Step {
            relation: rng.gen_range(0..3),
            inverse: rng.gen_bool(0.5),
        };
        let rule_set: Vec<rules::Rule> = (0..12)
            .map(|_| {
                let len = rng.gen_range(1..=3);
                rules::Rule {
                    head: rng.gen_range(0..3),
                    body: Body::Cyclic((0..len).map(|_| step(&mut rng)).collect()),
                    support: 0,
                    groundings: 0,
                    confidence: 0.5,
                    weight: 0.5,
                }
            })
            .collect();
        let grounder = Grounder::new(&rule_set);
        let exclude = triples.get(rng.gen_range(0..triples.len())).copied();
        for anchor in 0..7u32 {
            for relation in 0..3u32 {
                for direction in [Direction::Tail, Direction::Head] {
                    for excluded in [None, exclude] {
                        let mut found = Vec::new();
                        grounder.ground(&g, anchor, relation, direction, excluded, &mut found);
                        let mut got = std::collections::BTreeMap::new();
                        for x in &found {
                            *got.entry((x.rule, x.candidate)).or_insert(0.0) += x.count;
                        }
                        let mut want = std::collections::BTreeMap::new();
                        for (i, rule) in rule_set.iter().enumerate() {
                            let Body::Cyclic(path) = &rule.body else {
                                continue;
                            };
                            if rule.head != relation {
                                continue;
                            }
                            // Asked for heads, the body is walked from its end.
                            let walked: Vec<rules::Step> = match direction {
                                Direction::Tail => path.clone(),
                                Direction::Head => path
                                    .iter()
                                    .rev()
                                    .map(|s| rules::Step {
                                        relation: s.relation,
                                        inverse: !s.inverse,
                                    })
                                    .collect(),
                            };
                            for (c, n) in bindings(&g, &walked, anchor, excluded) {
                                want.insert((i as u32, c), n);
                            }
                        }
                        assert_eq!(
                            got, want,
                            "anchor {anchor}, relation {relation}, {direction:?}, {excluded:?}"
                        );
                    }
                }
            }
        }
    }
}

/// Past 1,000 start entities a cyclic body's confidence is estimated from
/// a seeded sample, its counts scaled back up: close to the exact count,
/// and the same for one seed.
#[test]
fn confidence_on_large_graphs_is_estimated_from_a_sample() {
    let n = 6000;
    let mut named = Vec::new();
    for i in 0..n {
        let (x, y) = (format!("e{i}"), format!("e{}", (i * 7 + 1) % n));
        if i % 2 == 0 {
            named.push((x.clone(), "r".to_string(), y.clone()));
        }
        named.push((x, "a".to_string(), y));
    }
    let vocab = Vocab::of(&[&named]);
    let graph = TripleIndex::new(&vocab, vocab.ids(&named).0);
    let params = MineParams {
        max_length: 1,
        samples_per_relation: 50,
        time_budget: Duration::from_secs(60),
        ..MineParams::default()
    };
    let r = vocab.relations.iter().position(|x| x == "r").unwrap() as u32;
    let a = vocab.relations.iter().position(|x| x == "a").unwrap() as u32;
    let find = |rules: &[rules::Rule]| {
        rules
            .iter()
            .find(|x| {
                x.head == r
                    && x.body
                        == Body::Cyclic(vec![rules::Step {
                            relation: a,
                            inverse: false,
                        }])
            })
            .cloned()
            .expect("r(X, Y) :- a(X, Y) mined")
    };
    let mined = rules::mine(&graph, &params);
    let rule = find(&mined);
    // 6,000 `a` pairs in all, half of them `r`: 3000 / (6000 + 5) exactly.
    assert_eq!(rule.groundings, n);
    assert!(
        (rule.confidence - 0.5).abs() < 0.05,
        "estimated confidence {}",
        rule.confidence
    );
    assert_eq!(find(&rules::mine(&graph, &params)), rule);
}
