//! `nesy predict link`: the top candidates completing a triple, with the
//! rule and path behind each when rules are given.

use crate::error::{CliResult, fail};
use crate::learned::{SummaryFormat, finish, load_rules, read_triples};
use crate::output::aligned;
use nesy::learn::link::kge::KgeFile;
use nesy::learn::link::rules::RuleSet;
use nesy::learn::link::{Direction, Hybrid, LinkScorer, Vocab};
use std::fmt::Write as _;
use std::path::PathBuf;

/// `nesy predict link`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
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
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    format: SummaryFormat,
}

/// `nesy predict link`.
pub(crate) fn run(args: &Args) -> CliResult {
    let model = match &args.model {
        Some(p) => Some(KgeFile::load(p).map_err(fail)?),
        None => None,
    };
    let train_named = match &args.train {
        Some(p) => Some(read_triples(p)?),
        None => None,
    };
    let vocab = match (&model, &train_named) {
        (Some(m), _) => Vocab {
            entities: m.header.entities.clone(),
            relations: m.header.relations.clone(),
        },
        (None, Some(t)) => Vocab::of(&[t]),
        (None, None) => return Err(fail("give --model, or --rules with --train")),
    };
    let rules = match (&args.rules, &train_named) {
        (Some(p), Some(t)) => Some(load_rules(p, &vocab, &vocab.ids(t).0)?),
        (Some(_), None) => {
            return Err(fail("--rules needs --train (the graph the rules apply to)"));
        }
        _ => None,
    };
    let Some(anchor) = vocab.entity(&args.head) else {
        return Err(fail(format!("unknown entity `{}`", args.head)));
    };
    let Some(relation) = vocab.relation(&args.relation) else {
        return Err(fail(format!(
            "unknown relation `{}` (the graph has {})",
            args.relation,
            vocab.relations.len()
        )));
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
        (None, None) => return Err(fail("give --model or --rules")),
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
        SummaryFormat::Json => finish(&format!("{}\n", serde_json::Value::Array(json_rows))),
        SummaryFormat::Text => {
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
