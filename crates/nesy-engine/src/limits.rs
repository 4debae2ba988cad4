//! Bounds on work: [`Limits`] says how much an evaluation may take,
//! [`Cancel`] stops it from outside, and [`Clock`] is what long-running
//! loops consult.
//!
//! ```
//! use nesy_engine::{Cancel, Clock, Error, Limits};
//! use std::time::Duration;
//!
//! let cancel = Cancel::new();
//! let limits = Limits {
//!     timeout: Some(Duration::from_secs(5)),
//!     cancel: Some(cancel.clone()),
//!     ..Limits::default()
//! };
//! let clock = Clock::start(&limits);
//! assert!(clock.check().is_ok());
//! cancel.cancel(); // another thread gives up on the work
//! assert!(matches!(clock.check(), Err(Error::Cancelled)));
//! ```
//!
//! A timeout too large to add to the current instant (`u64::MAX` seconds)
//! means no deadline rather than an overflow.

use crate::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Bounds on an evaluation; `None` means unbounded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    /// Wall-clock time.
    pub timeout: Option<Duration>,
    /// Tuples held by all relations together (facts included); rows an
    /// aggregate enumerates count too.
    pub max_tuples: Option<usize>,
    /// Under `top-k` and `why`: events (probabilistic facts, ground
    /// instances of weighted rules, model answers), each of which keeps
    /// its identity and name.
    pub max_events: Option<usize>,
    /// Stops the work when set from elsewhere (a server giving up on a
    /// request); checked wherever the clock is read.
    pub cancel: Option<Cancel>,
}

/// A flag that stops work in progress: clone it into [`Limits::cancel`],
/// call [`Cancel::cancel`] from any thread, and the work ends with
/// [`Error::Cancelled`] at its next look at the clock.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag not yet set.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Asks the work to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Two flags are equal when they are the same flag.
impl PartialEq for Cancel {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// When a piece of work must stop: its deadline and its cancel flag.
#[derive(Clone, Debug)]
pub struct Clock {
    deadline: Option<Instant>,
    timeout: Option<Duration>,
    cancel: Option<Cancel>,
}

impl Clock {
    /// Starts the clock of `limits` now.
    pub fn start(limits: &Limits) -> Self {
        Clock {
            deadline: limits.timeout.and_then(|t| Instant::now().checked_add(t)),
            timeout: limits.timeout,
            cancel: limits.cancel.clone(),
        }
    }

    /// A clock that never stops anything.
    pub fn unbounded() -> Self {
        Clock {
            deadline: None,
            timeout: None,
            cancel: None,
        }
    }

    /// `limits` for a piece of this work started now: the time left
    /// until this clock's deadline (the same cancel flag), so that many
    /// evaluations (the examples of a training run) share one deadline.
    /// `Err` when the time is already up or the work was cancelled.
    pub fn remaining(&self, limits: &Limits) -> Result<Limits, Error> {
        self.check()?;
        Ok(Limits {
            timeout: self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now())),
            cancel: self.cancel.clone(),
            ..limits.clone()
        })
    }

    /// The configured timeout, for an error of a piece of the work (see
    /// [`Clock::remaining`]): a piece that ran out of the time left is
    /// reported as the whole work's timeout.
    pub fn overall(&self, error: Error) -> Error {
        match (error, self.timeout) {
            (Error::Timeout { .. }, Some(limit)) => Error::Timeout { limit },
            (other, _) => other,
        }
    }

    /// `Err` once the time is up or the work was cancelled.
    pub fn check(&self) -> Result<(), Error> {
        if self.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
            return Err(Error::Cancelled);
        }
        match (self.deadline, self.timeout) {
            (Some(deadline), Some(limit)) if Instant::now() > deadline => {
                Err(Error::Timeout { limit })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_timeout_is_no_deadline_not_an_overflow() {
        let limits = Limits {
            timeout: Some(Duration::from_secs(u64::MAX)),
            ..Limits::default()
        };
        let clock = Clock::start(&limits);
        assert!(clock.check().is_ok());
    }

    #[test]
    fn a_passed_deadline_is_a_timeout() {
        let limits = Limits {
            timeout: Some(Duration::ZERO),
            ..Limits::default()
        };
        let clock = Clock::start(&limits);
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(clock.check(), Err(Error::Timeout { .. })));
    }
}
