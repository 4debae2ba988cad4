//! `nesy eval link`: filtered MRR and Hits@k of mined rules, an embedding,
//! or both.

use crate::error::{CliResult, fail};
use crate::learned::{RuleSetRef, SummaryFormat, finish, load_rules, read_triples};
use crate::output::aligned;
use nesy::learn::link::kge::KgeFile;
use nesy::learn::link::{Hybrid, LinkScorer, Triple, Vocab, evaluate};
use std::path::PathBuf;
use std::time::Instant;

/// `nesy eval link`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
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
    /// 0, 0.05, ..., 1 on --valid, else 0.5 with a warning).
    #[arg(long, value_name = "W")]
    hybrid_weight: Option<f64>,
    /// With --hybrid: validation triples to choose the weight on.
    #[arg(long, value_name = "V.tsv")]
    valid: Option<PathBuf>,
    /// Output format: `json` gives {"mrr", "hits_at_1", "hits_at_3", "hits_at_10", "queries", ...}.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    format: SummaryFormat,
}

/// `nesy eval link`.
pub(crate) fn run(args: &Args) -> CliResult {
    let start = Instant::now();
    if args.model.is_none() && args.rules.is_none() {
        return Err(fail("give --model, --rules, or both with --hybrid"));
    }
    let test_named = read_triples(&args.test)?;
    let mut filters = Vec::new();
    for f in &args.filter {
        filters.push(read_triples(f)?);
    }
    let model = match &args.model {
        Some(p) => Some(KgeFile::load(p).map_err(fail)?),
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
        Some(p) => read_triples(p)?,
        None => filters.first().cloned().unwrap_or_default(),
    };
    let (train, _) = vocab.ids(&train_named);
    let rules = match &args.rules {
        Some(p) => Some(load_rules(p, &vocab, &train)?),
        None => None,
    };
    let valid = match &args.valid {
        Some(p) => vocab.ids(&read_triples(p)?).0,
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
            if args.hybrid_weight.is_none() {
                if valid.is_empty() {
                    errln!(
                        "warning: no --valid to choose the hybrid's rule weight on: using the default 0.5 (or give --hybrid-weight)"
                    );
                } else {
                    hybrid.fit_weight(&valid, &known);
                }
            }
            weight_used = Some(hybrid.weight);
            (Box::new(hybrid), "hybrid")
        }
        (Some(m), _, false) if args.rules.is_none() => (Box::new(m.model.clone()), "kge"),
        (_, Some(r), false) if args.model.is_none() => (Box::new(RuleSetRef(r)), "rules"),
        _ => return Err(fail("give --model or --rules, or both with --hybrid")),
    };
    let metrics = evaluate(
        scorer.as_ref(),
        &test,
        &known,
        args.per_relation.then_some(vocab.relations.as_slice()),
    );
    let seconds = start.elapsed().as_secs_f64();
    match args.format {
        SummaryFormat::Json => {
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
        SummaryFormat::Text => {
            let name = match weight_used {
                Some(w) => format!("hybrid (rule weight {w:.2})"),
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
