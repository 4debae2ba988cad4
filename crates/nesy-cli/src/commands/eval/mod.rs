//! `nesy eval`: a model on labelled data.

use crate::error::CliResult;
use clap::Subcommand;

mod link;
mod net;
mod program;
mod tree;

/// What `nesy eval` evaluates.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Link prediction: filtered MRR and Hits@k of rules, an embedding,
    /// or both.
    Link(link::Args),
    /// A tree model on a labelled CSV: accuracy, macro-F1, confusion matrix.
    Tree(tree::Args),
    /// A network's accuracy on labelled rows.
    Net(net::Args),
    /// A rule file's probabilities on labelled conclusions: accuracy and
    /// log-likelihood.
    Program(program::Args),
}

/// `nesy eval ...`.
pub(crate) fn run(command: &Command) -> CliResult {
    match command {
        Command::Link(args) => link::run(args),
        Command::Tree(args) => tree::run(args),
        Command::Net(args) => net::run(args),
        Command::Program(args) => program::run(args),
    }
}
