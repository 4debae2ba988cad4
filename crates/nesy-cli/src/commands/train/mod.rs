//! `nesy train`: a decision tree, mined rules, a knowledge-graph
//! embedding, or a rule file's tunable probabilities.

use crate::error::CliResult;
use clap::Subcommand;

mod kge;
mod net;
mod program;
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
    /// The network of a neural predicate (an MLP in candle over a table's
    /// rows): trained on labels, or saved untrained for `train program`.
    Net(net::Args),
    /// The tunable probabilities `t(...)` of a rule file, from labelled
    /// conclusions, by gradient descent through the rules.
    Program(program::Args),
}

/// `nesy train ...`.
pub(crate) fn run(command: &Command) -> CliResult {
    match command {
        Command::Tree(args) => tree::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Kge(args) => kge::run(args),
        Command::Net(args) => net::run(args),
        Command::Program(args) => program::run(args),
    }
}
