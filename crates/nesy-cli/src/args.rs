//! Flags several commands share: the output format, the semiring and the
//! limits of an evaluation.

use crate::error::CliError;
use clap::{Args, ValueEnum};
use nesy::{Limits, Semiring};
use std::time::Duration;

/// How relations and answers are printed.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    /// Aligned columns under each relation's name.
    Table,
    /// `relation<TAB>value<TAB>...` per tuple, sorted, no quotes (diff-able).
    Tsv,
    /// `{"relations": {"name": [[v, ...], ...]}}`, numbers as JSON numbers.
    Json,
    /// `relation,value,...` per tuple, quoted where CSV needs it.
    Csv,
}

/// `--semiring NAME [-k K]`.
#[derive(Args, Debug, Clone)]
pub(crate) struct SemiringArgs {
    /// Tag every tuple: `bool` (plain), `max-prob` (most likely proof),
    /// `add-mult` (sum of proofs, clamped), `top-k` (exact over the k most
    /// likely proofs; also written `top-k(K)`), `why` (all proofs),
    /// `diff-top-k` (top-k, differentiable: what `train program` uses).
    /// Probabilities are printed as the last column (tsv, csv, table) or
    /// as `{"tuple": [...], "probability": p}` (json).
    #[arg(long, default_value = "bool", value_name = "NAME")]
    semiring: String,
    /// The k of `--semiring top-k` and `diff-top-k` (default 10).
    #[arg(short = 'k', long = "top-k", value_name = "K")]
    k: Option<usize>,
}

impl SemiringArgs {
    /// The semiring asked for (a usage error when unknown).
    pub(crate) fn kind(&self) -> Result<Semiring, CliError> {
        self.kind_as(&self.semiring)
    }

    /// The semiring `name`, with this `-k`.
    pub(crate) fn kind_as(&self, name: &str) -> Result<Semiring, CliError> {
        let named = name.parse::<Semiring>().map_err(CliError::Usage)?;
        Ok(match (named, self.k) {
            (Semiring::TopK(_), Some(k)) => Semiring::TopK(k.max(1)),
            (Semiring::DiffTopK(_), Some(k)) => Semiring::DiffTopK(k.max(1)),
            (other, _) => other,
        })
    }
}

/// Bounds that stop a runaway evaluation.
#[derive(Args, Debug, Clone)]
pub(crate) struct LimitArgs {
    /// Stop after this long: `30s`, `500ms`, `2m` (a bare number is seconds).
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Stop when the relations hold more tuples than this, facts included
    /// (0: no limit). The default keeps a runaway program from exhausting
    /// memory: 200 million tuples take a few GiB.
    #[arg(long, default_value_t = DEFAULT_MAX_TUPLES)]
    max_tuples: usize,
    /// Under `--semiring top-k` and `why`: stop when there are more events
    /// than this (each ground instance of a weighted rule is one; a few
    /// hundred bytes each) (0: no limit).
    #[arg(long, default_value_t = DEFAULT_MAX_EVENTS)]
    max_events: usize,
}

/// `--max-tuples` when none is given.
const DEFAULT_MAX_TUPLES: usize = 200_000_000;

/// `--max-events` when none is given: a few GiB.
const DEFAULT_MAX_EVENTS: usize = 10_000_000;

impl LimitArgs {
    /// The limits these flags ask for.
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            timeout: self.timeout,
            max_tuples: (self.max_tuples > 0).then_some(self.max_tuples),
            max_events: (self.max_events > 0).then_some(self.max_events),
            cancel: None,
        }
    }
}

/// A duration such as `30s`, `500ms`, `2m` or `1h` (a bare number is
/// seconds).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((text, ""), |i| text.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as `30s`, `500ms` or `2m`"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit `{other}`: use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 days").is_err());
    }
}
