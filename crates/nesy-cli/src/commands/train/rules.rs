//! `nesy train rules`: path rules mined from a knowledge graph, written as
//! a nesy rule file.

use crate::error::{CliResult, fail};
use crate::learned::{finish, read_triples};
use nesy::learn::link::rules::{self as mined, MineParams};
use nesy::learn::link::{TripleIndex, Vocab};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `nesy train rules`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
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

/// `nesy train rules`.
pub(crate) fn run(args: &Args) -> CliResult {
    let start = Instant::now();
    let named = read_triples(&args.train)?;
    let vocab = Vocab::of(&[&named]);
    let (triples, _) = vocab.ids(&named);
    let graph = TripleIndex::new(&vocab, triples);
    if args.max_length == 0 || args.max_length > 4 {
        return Err(fail("--max-length must be 1 to 4"));
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
        return Err(fail(format!("{}: {e}", dir.display())));
    }
    let import = relative(&args.output, &args.train);
    let text = mined::to_nesy(&rules, &vocab, &import, &args.train.display().to_string());
    nesy::learn::model_file::write_atomic(&args.output, text.as_bytes()).map_err(fail)?;
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
