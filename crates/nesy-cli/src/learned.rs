//! What `train`, `eval`, `predict` and `export-rules` share: reading
//! model files and triples, the summary format, the progress bar.

use crate::error::{CliError, CliResult, fail};
use crate::output::print_out;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use nesy::learn::link::rules::{self as mined, RuleSet};
use nesy::learn::link::{Direction, LinkScorer, Triple, TripleIndex, Vocab, graph};
use nesy::learn::{Table, TreeModel};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

/// Text or JSON.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum SummaryFormat {
    /// For people.
    Text,
    /// For scripts.
    Json,
}

/// A tree model file.
pub(crate) fn load_model(path: &Path) -> Result<TreeModel, CliError> {
    TreeModel::load(path).map_err(fail)
}

/// A progress bar over `epochs` epochs, on a terminal when `show`.
pub(crate) fn epoch_bar(epochs: u64, show: bool) -> ProgressBar {
    if !(show && std::io::stderr().is_terminal()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(epochs);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} epoch {pos}/{len} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// What an epoch-based trainer reports to its bar: the position, the loss
/// and the last validation MRR seen.
pub(crate) fn epoch_progress(bar: &ProgressBar) -> impl FnMut(usize, f64, Option<f64>) + '_ {
    let mut last_mrr = None;
    move |epoch, loss, mrr| {
        last_mrr = mrr.or(last_mrr);
        bar.set_position(epoch as u64);
        bar.set_message(match last_mrr {
            Some(m) => format!("loss {loss:.4} valid MRR {m:.4}"),
            None => format!("loss {loss:.4}"),
        });
    }
}

/// A tree model and a CSV read with its schema.
pub(crate) fn model_and_table(model: &Path, data: &Path) -> Result<(TreeModel, Table), CliError> {
    let model = load_model(model)?;
    let table = model.schema().read_csv(data).map_err(fail)?;
    Ok((model, table))
}

/// Prints to stdout; a closed pipe is not an error.
pub(crate) fn finish(text: &str) -> CliResult {
    print_out(text);
    Ok(ExitCode::SUCCESS)
}

/// Named triples: `head<TAB>relation<TAB>tail` lines.
pub(crate) type Named = Vec<(String, String, String)>;

/// The triples of a TSV file.
pub(crate) fn read_triples(path: &Path) -> Result<Named, CliError> {
    graph::read_tsv(path).map_err(fail)
}

/// Rules read back from a rule file over a vocabulary and training graph.
pub(crate) fn load_rules(
    path: &Path,
    vocab: &Vocab,
    train: &[Triple],
) -> Result<RuleSet, CliError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let (rules, _) =
        mined::from_nesy(&text, vocab).map_err(|e| fail(format!("{}:{e}", path.display())))?;
    let aggregate =
        mined::aggregate_of(&text).map_err(|e| fail(format!("{}:{e}", path.display())))?;
    if rules.is_empty() {
        return Err(fail(format!(
            "{}: no weighted path rules over this graph's relations",
            path.display()
        )));
    }
    Ok(RuleSet::new(rules, TripleIndex::new(vocab, train.to_vec())).with_aggregate(aggregate))
}

/// A borrowed rule set as a scorer.
pub(crate) struct RuleSetRef<'a>(pub(crate) &'a RuleSet);

impl LinkScorer for RuleSetRef<'_> {
    fn scores(&self, anchor: u32, relation: u32, direction: Direction) -> Vec<f64> {
        self.0.scores(anchor, relation, direction)
    }
}
