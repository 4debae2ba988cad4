//! Where the time of an evaluation went: per stratum and per rule
//! (`nesy run --stats`).

use serde::Serialize;
use std::time::Duration;

/// Where the time of an evaluation went.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Wall-clock time of the whole evaluation.
    #[serde(serialize_with = "seconds")]
    pub time: Duration,
    /// One entry per stratum with rules, in evaluation order.
    pub strata: Vec<StratumStats>,
    /// One entry per rule, in program order.
    pub rules: Vec<RuleStats>,
}

/// One stratum's share.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StratumStats {
    /// The relations it defines.
    pub relations: Vec<String>,
    /// Rounds until nothing new came (1 for a stratum without recursion).
    pub iterations: usize,
    /// New tuples it added.
    pub tuples: usize,
    /// Wall-clock time.
    #[serde(serialize_with = "seconds")]
    pub time: Duration,
}

/// One rule's share.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleStats {
    /// `file:line:col`, and the `@name` if it has one.
    pub rule: String,
    /// The relation it defines.
    pub head: String,
    /// Times a plan of it ran (one per round and per recursive atom).
    pub evaluations: usize,
    /// Rows it produced, duplicates included.
    pub derived: usize,
    /// Time spent in it, summed over threads.
    #[serde(serialize_with = "seconds")]
    pub time: Duration,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}
