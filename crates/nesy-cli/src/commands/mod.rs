//! One module per command, each with its clap arguments and a `run`
//! returning the exit status or a [`CliError`](crate::error::CliError).

pub(crate) mod backend;
pub(crate) mod check;
pub(crate) mod eval;
pub(crate) mod explain;
pub(crate) mod export_rules;
pub(crate) mod fmt;
pub(crate) mod kg;
pub(crate) mod predict;
pub(crate) mod query;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod short_iris;
pub(crate) mod test;
pub(crate) mod train;
