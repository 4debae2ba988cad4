//! `nesy predict`: predictions of a model, optionally with the reason for
//! each.

use crate::error::CliResult;
use clap::Subcommand;

mod link;
mod tree;

/// What `nesy predict` predicts with.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// The top candidates completing (head, relation, ?), with scores and,
    /// for rules, the rule and path behind each.
    Link(link::Args),
    /// A tree model on each row of a CSV: class and probability.
    Tree(tree::Args),
}

/// `nesy predict ...`.
pub(crate) fn run(command: &Command) -> CliResult {
    match command {
        Command::Link(args) => link::run(args),
        Command::Tree(args) => tree::run(args),
    }
}
