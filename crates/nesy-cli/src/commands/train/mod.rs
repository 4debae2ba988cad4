//! `nesy train`: a decision tree, mined rules or a knowledge-graph
//! embedding.

use crate::error::CliResult;
use clap::Subcommand;

mod kge;
mod rules;
mod tree;

/// What `nesy train` trains.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// A decision tree on a CSV table: CART, a random forest, or a soft
    /// (neural) tree.
    Tree(tree::Args),
    /// Rules mined from a knowledge graph (link prediction, statistical).
    Rules(rules::Args),
    /// A knowledge-graph embedding in candle (link prediction, neural).
    Kge(kge::Args),
}

/// `nesy train ...`.
pub(crate) fn run(command: &Command) -> CliResult {
    match command {
        Command::Tree(args) => tree::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Kge(args) => kge::run(args),
    }
}
