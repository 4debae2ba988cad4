//! `nesy train rules|kge`, `nesy eval link`, `nesy predict link`: link
//! prediction from the command line.

use crate::Outcome;
use crate::run::aligned;
use clap::Args;
use nesy::learn::link::kge::{self, KgeFile, KgeHeader, KgeKind, KgeParams};
use nesy::learn::link::rules::{self as mined, MineParams, RuleSet};
use nesy::learn::link::{Direction, Graph, Hybrid, LinkScorer, Triple, Vocab, evaluate, graph};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::learn::{fail, finish};

type Named = Vec<(String, String, String)>;

fn read(path: &Path) -> Result<Named, Outcome> {
    graph::read_tsv(path).map_err(fail)
}

/// `nesy train rules`.
#[derive(Args, Debug)]
pub struct TrainRulesArgs {
    /// Training triples, `head<TAB>relation<TAB>tail`.
    #[arg(long, value_name = "T.tsv")]
    train: PathBuf,
    /// Longest rule body (path length).
    #[arg(long, default_value_t = 3)]
    max_length: usize,
    /// Time budget for sampling paths.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Training triples sampled per relation.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Rules kept per relation (the most confident).
    #[arg(long, default_value_t = 1000)]
    rules_per_relation: usize,
    /// Seeds the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The rule file to write.
    #[arg(long, short = 'o', value_name = "FILE.nesy")]
    output: PathBuf,
}

/// `nesy train kge`.
#[derive(Args, Debug)]
pub struct TrainKgeArgs {
    /// Training triples.
    #[arg(long, value_name = "T.tsv")]
    train: PathBuf,
    /// Validation triples, for early stopping and calibration.
    #[arg(long, value_name = "V.tsv")]
    valid: PathBuf,
    /// transe, distmult, complex or rotate.
    #[arg(long, default_value = "complex")]
    model: KgeKind,
    /// Rank (default 200).
    #[arg(long)]
    dim: Option<usize>,
    /// Most epochs (default 200; early stopping usually ends sooner).
    #[arg(long)]
    epochs: Option<usize>,
    /// AdamW learning rate (default 0.01; 0.003 for transe and rotate).
    #[arg(long)]
    learning_rate: Option<f64>,
    /// Queries per step (default 128).
    #[arg(long)]
    batch_size: Option<usize>,
    /// N3 (distmult, complex) or L2 (transe, rotate) weight (default 0.01 / 1e-4).
    #[arg(long)]
    regularization: Option<f64>,
    /// AdamW weight decay (default 0).
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Epochs between validation checks (default 5).
    #[arg(long)]
    valid_every: Option<usize>,
    /// Checks without improvement before stopping (default 4).
    #[arg(long)]
    patience: Option<usize>,
    /// Seeds initial weights and batch order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu, or cuda (built with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// The model file to write.
    #[arg(long, short = 'o', value_name = "M.kge")]
    output: PathBuf,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = crate::learn::SummaryFormat::Text)]
    format: crate::learn::SummaryFormat,
}

/// `nesy eval link`.
#[derive(Args, Debug)]
pub struct EvalLinkArgs {
    /// An embedding (`nesy train kge`).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Mined rules (`nesy train rules`).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Rules first, the embedding for the rest (needs both).
    #[arg(long, requires_all = ["model", "rules"])]
    hybrid: bool,
    /// Test triples.
    #[arg(long, value_name = "T.tsv")]
    test: PathBuf,
    /// Known triples filtered from the ranking, comma-separated (the test
    /// triples are filtered too); the first is the graph rules apply to
    /// unless `--train` says otherwise.
    #[arg(
        long,
        value_name = "T.tsv,V.tsv",
        value_delimiter = ',',
        required = true
    )]
    filter: Vec<PathBuf>,
    /// The graph rules are applied to (default: the first --filter file).
    #[arg(long, value_name = "T.tsv")]
    train: Option<PathBuf>,
    /// Add metrics per relation.
    #[arg(long)]
    per_relation: bool,
    /// With --hybrid: the rules' weight in the mix (default: the best of
    /// 0, 0.1, ..., 1 on --valid, else 0.5).
    #[arg(long, value_name = "W")]
    hybrid_weight: Option<f64>,
    /// With --hybrid: validation triples to choose the weight on.
    #[arg(long, value_name = "V.tsv")]
    valid: Option<PathBuf>,
    /// Output format: `json` gives {"mrr", "hits_at_1", "hits_at_3", "hits_at_10", "queries", ...}.
    #[arg(long, value_enum, default_value_t = crate::learn::SummaryFormat::Text)]
    format: crate::learn::SummaryFormat,
}

/// `nesy predict link`.
#[derive(Args, Debug)]
pub struct PredictLinkArgs {
    /// The known entity.
    head: String,
    /// The relation.
    relation: String,
    /// An embedding.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Mined rules; their rule and path are shown for each candidate.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// The graph rules apply to (needed with --rules).
    #[arg(long, value_name = "T.tsv")]
    train: Option<PathBuf>,
    /// Ask for the head of (?, relation, HEAD) instead of the tail.
    #[arg(long)]
    inverse: bool,
    /// How many candidates.
    #[arg(short = 'k', long, default_value_t = 10)]
    k: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = crate::learn::SummaryFormat::Text)]
    format: crate::learn::SummaryFormat,
}

/// The path from the directory of `from_file` to `to` (both made absolute).
fn relative(from_file: &Path, to: &Path) -> String {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let from_dir = abs(from_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new(".")));
    let to = abs(to);
    let (a, b): (Vec<_>, Vec<_>) = (from_dir.components().collect(), to.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in b.iter().skip(common) {
        out.push(c.as_os_str());
    }
    out.display().to_string()
}

/// `nesy train rules`.
pub fn train_rules(args: TrainRulesArgs) -> Outcome {
    let start = Instant::now();
    let named = match read(&args.train) {
        Ok(t) => t,
        Err(o) => return o,
    };
    let vocab = Vocab::of(&[&named]);
    let (triples, _) = vocab.ids(&named);
    let graph = Graph::new(&vocab, triples);
    if args.max_length == 0 || args.max_length > 4 {
        return fail("--max-length must be 1 to 4");
    }
    let params = MineParams {
        max_length: args.max_length,
        time_budget: Duration::from_secs(args.seconds),
        samples_per_relation: args.samples,
        seed: args.seed,
        rules_per_relation: args.rules_per_relation,
        ..MineParams::default()
    };
    let rules = mined::mine(&graph, &params);
    if let Some(dir) = args.output.parent().filter(|p| !p.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return fail(format!("{}: {e}", dir.display()));
    }
    let import = relative(&args.output, &args.train);
    let text = mined::to_nesy(&rules, &vocab, &import, &args.train.display().to_string());
    if let Err(e) = nesy::learn::model::write_atomic(&args.output, text.as_bytes()) {
        return fail(e);
    }
    let cyclic = rules
        .iter()
        .filter(|r| matches!(r.body, mined::Body::Cyclic(_)))
        .count();
    finish(&format!(
        "mined {} rules ({} cyclic, {} with constants) from {} triples in {:.1} s\nwrote {}\n",
        rules.len(),
        cyclic,
        rules.len() - cyclic,
        graph.triples.len(),
        start.elapsed().as_secs_f64(),
        args.output.display()
    ))
}

fn digest(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    std::fs::read(path).map_or_else(|_| String::new(), |b| format!("{:x}", Sha256::digest(&b)))
}

/// `nesy train kge`.
pub fn train_kge(args: TrainKgeArgs) -> Outcome {
    let start = Instant::now();
    let (train_named, valid_named) = match (read(&args.train), read(&args.valid)) {
        (Ok(t), Ok(v)) => (t, v),
        (Err(o), _) | (_, Err(o)) => return o,
    };
    let device = match nesy::learn::device(&args.device) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let vocab = Vocab::of(&[&train_named, &valid_named]);
    let (train, _) = vocab.ids(&train_named);
    let (valid, _) = vocab.ids(&valid_named);
    let mut params = KgeParams::defaults(args.model);
    params.dim = args.dim.unwrap_or(params.dim);
    params.epochs = args.epochs.unwrap_or(params.epochs);
    params.learning_rate = args.learning_rate.unwrap_or(params.learning_rate);
    params.batch_size = args.batch_size.unwrap_or(params.batch_size);
    params.regularization = args.regularization.unwrap_or(params.regularization);
    params.weight_decay = args.weight_decay.unwrap_or(params.weight_decay);
    params.valid_every = args.valid_every.unwrap_or(params.valid_every);
    params.patience = args.patience.unwrap_or(params.patience);
    let bar = crate::learn::epoch_bar(params.epochs as u64, true);
    let mut last_mrr = None;
    let mut progress = |epoch: usize, loss: f64, mrr: Option<f64>| {
        last_mrr = mrr.or(last_mrr);
        bar.set_position(epoch as u64);
        bar.set_message(match last_mrr {
            Some(m) => format!("loss {loss:.4} valid MRR {m:.4}"),
            None => format!("loss {loss:.4}"),
        });
    };
    let data = kge::TrainingSet {
        train: &train,
        valid: &valid,
        entities: vocab.entities.len(),
        relations: vocab.relations.len(),
    };
    let trained = kge::train(data, &params, args.seed, &device, &mut progress);
    let (model, report) = match trained {
        Ok(r) => r,
        Err(e) => {
            bar.abandon();
            return fail(e);
        }
    };
    bar.finish_and_clear();
    let header = KgeHeader {
        format: nesy::learn::model::FORMAT.to_string(),
        version: nesy::learn::model::VERSION,
        kind: "kge".to_string(),
        model: args.model,
        dim: params.dim,
        entities: vocab.entities.clone(),
        relations: vocab.relations.clone(),
        params: params.clone(),
        seed: args.seed,
        metrics: serde_json::to_value(&report).unwrap_or_default(),
        calibration: [model.calibration.0, model.calibration.1],
        data: serde_json::json!({
            "train": {"file": args.train.display().to_string(), "sha256": digest(&args.train), "triples": train.len()},
            "valid": {"file": args.valid.display().to_string(), "sha256": digest(&args.valid), "triples": valid.len()},
        }),
        created_by: format!("nesy {}", env!("CARGO_PKG_VERSION")),
    };
    if let Err(e) = (KgeFile { header, model }).save(&args.output) {
        return fail(e);
    }
    let seconds = start.elapsed().as_secs_f64();
    let v = &report.valid;
    match args.format {
        crate::learn::SummaryFormat::Json => finish(&format!(
            "{}\n",
            serde_json::json!({
                "model": args.output.display().to_string(),
                "embedding": args.model.to_string(),
                "valid": v,
                "best_epoch": report.best_epoch,
                "epochs_run": report.epochs_run,
                "seconds": seconds,
            })
        )),
        crate::learn::SummaryFormat::Text => finish(&format!(
            "trained {} (dim {}) on {} triples, {} entities, {} relations in {seconds:.1} s; best epoch {} of {}\n  valid  MRR {:.4}  Hits@1 {:.4}  Hits@3 {:.4}  Hits@10 {:.4}\nsaved {}\n",
            args.model,
            params.dim,
            train.len(),
            vocab.entities.len(),
            vocab.relations.len(),
            report.best_epoch,
            report.epochs_run,
            v.mrr,
            v.hits_at_1,
            v.hits_at_3,
            v.hits_at_10,
            args.output.display()
        )),
    }
}

/// Rules read back from a rule file over a vocabulary and training graph.
fn load_rules(path: &Path, vocab: &Vocab, train: &[Triple]) -> Result<RuleSet, Outcome> {
    let text =
        std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let (rules, _) =
        mined::from_nesy(&text, vocab).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    if rules.is_empty() {
        return Err(fail(format!(
            "{}: no weighted path rules over this graph's relations",
            path.display()
        )));
    }
    Ok(RuleSet::new(rules, Graph::new(vocab, train.to_vec())))
}

/// `nesy eval link`.
pub fn eval_link(args: EvalLinkArgs) -> Outcome {
    let start = Instant::now();
    if args.model.is_none() && args.rules.is_none() {
        return fail("give --model, --rules, or both with --hybrid");
    }
    let test_named = match read(&args.test) {
        Ok(t) => t,
        Err(o) => return o,
    };
    let mut filters = Vec::new();
    for f in &args.filter {
        match read(f) {
            Ok(t) => filters.push(t),
            Err(o) => return o,
        }
    }
    let model = match &args.model {
        Some(p) => match KgeFile::load(p) {
            Ok(m) => Some(m),
            Err(e) => return fail(e),
        },
        None => None,
    };
    let vocab = match &model {
        Some(m) => Vocab {
            entities: m.header.entities.clone(),
            relations: m.header.relations.clone(),
        },
        None => {
            let mut all: Vec<&[(String, String, String)]> =
                filters.iter().map(Vec::as_slice).collect();
            all.push(&test_named);
            Vocab::of(&all)
        }
    };
    let (test, unknown) = vocab.ids(&test_named);
    let known: Vec<Triple> = filters.iter().flat_map(|f| vocab.ids(f).0).collect();
    let train_named = match &args.train {
        Some(p) => match read(p) {
            Ok(t) => t,
            Err(o) => return o,
        },
        None => filters.first().cloned().unwrap_or_default(),
    };
    let (train, _) = vocab.ids(&train_named);
    let rules = match &args.rules {
        Some(p) => match load_rules(p, &vocab, &train) {
            Ok(r) => Some(r),
            Err(o) => return o,
        },
        None => None,
    };
    let valid = match &args.valid {
        Some(p) => match read(p) {
            Ok(t) => vocab.ids(&t).0,
            Err(o) => return o,
        },
        None => Vec::new(),
    };
    let mut weight_used = None;
    let (scorer, name): (Box<dyn LinkScorer + '_>, &str) = match (&model, &rules, args.hybrid) {
        (Some(m), Some(r), true) => {
            let mut hybrid = Hybrid {
                rules: r,
                embedding: &m.model,
                weight: args.hybrid_weight.unwrap_or(0.5),
            };
            if args.hybrid_weight.is_none() && !valid.is_empty() {
                hybrid.fit_weight(&valid, &known);
            }
            weight_used = Some(hybrid.weight);
            (Box::new(hybrid), "hybrid")
        }
        (Some(m), _, false) if args.rules.is_none() => (Box::new(m.model.clone()), "kge"),
        (_, Some(r), false) if args.model.is_none() => (Box::new(RuleSetRef(r)), "rules"),
        _ => return fail("give --model or --rules, or both with --hybrid"),
    };
    let metrics = evaluate(
        scorer.as_ref(),
        &test,
        &known,
        args.per_relation.then_some(vocab.relations.as_slice()),
    );
    let seconds = start.elapsed().as_secs_f64();
    match args.format {
        crate::learn::SummaryFormat::Json => {
            let mut json = serde_json::to_value(&metrics).unwrap_or_default();
            if let Some(obj) = json.as_object_mut() {
                obj.insert("scorer".to_string(), serde_json::json!(name));
                if let Some(w) = weight_used {
                    obj.insert("hybrid_weight".to_string(), serde_json::json!(w));
                }
                obj.insert("skipped".to_string(), serde_json::json!(unknown));
                obj.insert("seconds".to_string(), serde_json::json!(seconds));
            }
            finish(&format!("{json}\n"))
        }
        crate::learn::SummaryFormat::Text => {
            let name = match weight_used {
                Some(w) => format!("hybrid (rule weight {w:.1})"),
                None => name.to_string(),
            };
            let mut out = format!(
                "{name}: {} test triples ({} queries, filtered){}\n",
                test.len(),
                metrics.queries,
                if unknown > 0 {
                    format!(", {unknown} skipped (unknown entity or relation)")
                } else {
                    String::new()
                }
            );
            let mut rows = vec![vec![
                "".to_string(),
                "MRR".into(),
                "Hits@1".into(),
                "Hits@3".into(),
                "Hits@10".into(),
            ]];
            rows.push(vec![
                "all".to_string(),
                format!("{:.4}", metrics.mrr),
                format!("{:.4}", metrics.hits_at_1),
                format!("{:.4}", metrics.hits_at_3),
                format!("{:.4}", metrics.hits_at_10),
            ]);
            for (r, m) in &metrics.per_relation {
                rows.push(vec![
                    r.clone(),
                    format!("{:.4}", m.mrr),
                    format!("{:.4}", m.hits_at_1),
                    format!("{:.4}", m.hits_at_3),
                    format!("{:.4}", m.hits_at_10),
                ]);
            }
            out.push_str(&aligned(&rows, "  "));
            finish(&out)
        }
    }
}

/// A borrowed rule set as a scorer.
struct RuleSetRef<'a>(&'a RuleSet);

impl LinkScorer for RuleSetRef<'_> {
    fn scores(&self, anchor: u32, relation: u32, direction: Direction) -> Vec<f64> {
        self.0.scores(anchor, relation, direction)
    }
}

/// `nesy predict link`.
pub fn predict_link(args: PredictLinkArgs) -> Outcome {
    let model = match &args.model {
        Some(p) => match KgeFile::load(p) {
            Ok(m) => Some(m),
            Err(e) => return fail(e),
        },
        None => None,
    };
    let train_named = match &args.train {
        Some(p) => match read(p) {
            Ok(t) => Some(t),
            Err(o) => return o,
        },
        None => None,
    };
    let vocab = match (&model, &train_named) {
        (Some(m), _) => Vocab {
            entities: m.header.entities.clone(),
            relations: m.header.relations.clone(),
        },
        (None, Some(t)) => Vocab::of(&[t]),
        (None, None) => return fail("give --model, or --rules with --train"),
    };
    let rules = match (&args.rules, &train_named) {
        (Some(p), Some(t)) => match load_rules(p, &vocab, &vocab.ids(t).0) {
            Ok(r) => Some(r),
            Err(o) => return o,
        },
        (Some(_), None) => return fail("--rules needs --train (the graph the rules apply to)"),
        _ => None,
    };
    let Some(anchor) = vocab.entity(&args.head) else {
        return fail(format!("unknown entity `{}`", args.head));
    };
    let Some(relation) = vocab.relation(&args.relation) else {
        return fail(format!(
            "unknown relation `{}` (the graph has {})",
            args.relation,
            vocab.relations.len()
        ));
    };
    let direction = if args.inverse {
        Direction::Head
    } else {
        Direction::Tail
    };
    let scores: Vec<f64> = match (&model, &rules) {
        (Some(m), Some(r)) => Hybrid {
            rules: r,
            embedding: &m.model,
            weight: 0.5,
        }
        .scores(anchor, relation, direction),
        (Some(m), None) => m.model.scores(anchor, relation, direction),
        (None, Some(r)) => r.scores(anchor, relation, direction),
        (None, None) => return fail("give --model or --rules"),
    };
    let mut ranked: Vec<(u32, f64)> = scores
        .iter()
        .enumerate()
        .map(|(i, &s)| (i as u32, s))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(args.k);
    let support: std::collections::HashMap<u32, usize> = rules
        .as_ref()
        .map(|r| {
            r.predict(anchor, relation, direction)
                .into_iter()
                .map(|(c, _, i)| (c, i))
                .collect()
        })
        .unwrap_or_default();
    let name = |e: u32| vocab.entities.get(e as usize).cloned().unwrap_or_default();
    let mut json_rows = Vec::new();
    let mut rows = vec![vec![
        "candidate".to_string(),
        "score".into(),
        "probability".into(),
        "because".into(),
    ]];
    for (c, s) in &ranked {
        let probability = model.as_ref().map(|m| match direction {
            Direction::Tail => m.model.probability(anchor, relation, *c),
            Direction::Head => m.model.probability(*c, relation, anchor),
        });
        let because = match (&rules, support.get(c)) {
            (Some(r), Some(&i)) => {
                let rule = r
                    .rules
                    .get(i)
                    .map(|x| RuleSet::rule_text(x, &vocab))
                    .unwrap_or_default();
                let path: Vec<String> = r
                    .path(i, anchor, *c, direction)
                    .into_iter()
                    .map(name)
                    .collect();
                Some((rule, path))
            }
            _ => None,
        };
        json_rows.push(serde_json::json!({
            "candidate": name(*c),
            "score": s,
            "probability": probability,
            "rule": because.as_ref().map(|b| b.0.clone()),
            "path": because.as_ref().map(|b| b.1.clone()),
        }));
        rows.push(vec![
            name(*c),
            format!("{s:.4}"),
            probability.map_or("-".to_string(), |p| format!("{p:.4}")),
            because.map_or(String::new(), |(rule, path)| {
                format!("{rule}  via {}", path.join(" -> "))
            }),
        ]);
    }
    match args.format {
        crate::learn::SummaryFormat::Json => {
            finish(&format!("{}\n", serde_json::Value::Array(json_rows)))
        }
        crate::learn::SummaryFormat::Text => {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "{}",
                if args.inverse {
                    format!("(?, {}, {})", args.relation, args.head)
                } else {
                    format!("({}, {}, ?)", args.head, args.relation)
                }
            );
            out.push_str(&aligned(&rows, "  "));
            finish(&out)
        }
    }
}
