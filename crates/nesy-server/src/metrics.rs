//! Request counts, errors and a latency histogram in Prometheus's text
//! format. Three metric families do not justify a metrics framework; the
//! exposition format is written by hand.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// Latency bucket bounds, seconds.
const BUCKETS: [f64; 10] = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    errors: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
    by_status: BTreeMap<u16, u64>,
}

/// The service's counters.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<&'static str, Series>>,
    /// Evaluations whose work has not stopped yet (whatever their
    /// requests were answered).
    running: AtomicUsize,
    /// Decision-log lines that could not be written.
    log_failures: AtomicU64,
}

/// Counts one evaluation as running until dropped.
pub(crate) struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Metrics {
    /// Counts one request.
    pub fn record(&self, endpoint: &'static str, status: u16, latency: Duration) {
        let Ok(mut all) = self.series.lock() else {
            return;
        };
        let s = all.entry(endpoint).or_default();
        let secs = latency.as_secs_f64();
        s.count += 1;
        s.sum += secs;
        if status >= 400 {
            s.errors += 1;
        }
        *s.by_status.entry(status).or_default() += 1;
        for (b, bound) in s.buckets.iter_mut().zip(BUCKETS) {
            if secs <= bound {
                *b += 1;
            }
        }
    }

    /// Counts an evaluation as running while the guard lives.
    pub(crate) fn running(&self) -> Running<'_> {
        self.running.fetch_add(1, Ordering::SeqCst);
        Running(&self.running)
    }

    /// Counts a decision-log line that could not be written; the count so
    /// far.
    pub(crate) fn decision_log_failed(&self) -> u64 {
        self.log_failures.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Decision-log lines that could not be written.
    pub fn decision_log_errors(&self) -> u64 {
        self.log_failures.load(Ordering::Relaxed)
    }

    /// Evaluations running now.
    pub fn evaluations_running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP nesy_evaluations_running Evaluations (and reloads) whose work has not stopped."
        );
        let _ = writeln!(out, "# TYPE nesy_evaluations_running gauge");
        let _ = writeln!(
            out,
            "nesy_evaluations_running {}",
            self.evaluations_running()
        );
        let _ = writeln!(
            out,
            "# HELP nesy_decision_log_errors_total Decision-log lines that could not be written."
        );
        let _ = writeln!(out, "# TYPE nesy_decision_log_errors_total counter");
        let _ = writeln!(
            out,
            "nesy_decision_log_errors_total {}",
            self.decision_log_errors()
        );
        let Ok(all) = self.series.lock() else {
            return out;
        };
        let _ = writeln!(
            out,
            "# HELP nesy_requests_total Requests by endpoint and status."
        );
        let _ = writeln!(out, "# TYPE nesy_requests_total counter");
        for (e, s) in all.iter() {
            for (status, n) in &s.by_status {
                let _ = writeln!(
                    out,
                    "nesy_requests_total{{endpoint=\"{e}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP nesy_request_errors_total Requests answered with a 4xx or 5xx status."
        );
        let _ = writeln!(out, "# TYPE nesy_request_errors_total counter");
        for (e, s) in all.iter() {
            let _ = writeln!(
                out,
                "nesy_request_errors_total{{endpoint=\"{e}\"}} {}",
                s.errors
            );
        }
        let _ = writeln!(out, "# HELP nesy_request_seconds Request latency.");
        let _ = writeln!(out, "# TYPE nesy_request_seconds histogram");
        for (e, s) in all.iter() {
            for (b, bound) in s.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "nesy_request_seconds_bucket{{endpoint=\"{e}\",le=\"{bound}\"}} {b}"
                );
            }
            let _ = writeln!(
                out,
                "nesy_request_seconds_bucket{{endpoint=\"{e}\",le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "nesy_request_seconds_sum{{endpoint=\"{e}\"}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "nesy_request_seconds_count{{endpoint=\"{e}\"}} {}",
                s.count
            );
        }
        out
    }
}
