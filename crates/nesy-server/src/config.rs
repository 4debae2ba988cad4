//! What the service serves, and its limits.

use nesy::Limits;
use nesy::Semiring;
use std::path::PathBuf;
use std::time::Duration;

/// What the service serves and its limits.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Rule files.
    pub rules: Vec<PathBuf>,
    /// Knowledge files (`.nesy` facts or RDF).
    pub knowledge: Vec<PathBuf>,
    /// Models, `(name, file)`.
    pub models: Vec<(String, PathBuf)>,
    /// The semiring of the decisions' probabilities.
    pub semiring: Semiring,
    /// Per request: evaluation time and tuple budget.
    pub limits: Limits,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Requests evaluated at once; more are turned away with 503.
    pub max_concurrent: usize,
    /// Required bearer token, if any.
    pub token: Option<String>,
    /// Append one JSON line per decision here.
    pub decision_log: Option<PathBuf>,
    /// Input fields written as `"***"` in the decision log: field names
    /// (masked by name and, through `@decl`, by position, in input rows
    /// and results), relation names (all their values), `relation.N`.
    pub mask: Vec<String>,
    /// The key of the decision log's `input_hmac_sha256`; without one the
    /// log has no hash of the input (an unkeyed hash would give masked
    /// values away).
    pub log_key: Option<Vec<u8>>,
    /// How long a client may take to send a request's headers
    /// ([`crate::serve`] closes the connection after).
    pub header_timeout: Duration,
    /// How long a whole request may take, body and answer included (at
    /// least the evaluation's time limit and a few seconds).
    pub request_timeout: Duration,
    /// Largest SPARQL answer held for a response.
    pub max_response_bytes: usize,
    /// Serve the decision page at `/ui/` (static files; its API calls take
    /// the token like any other).
    pub ui: bool,
    /// Keep a differential dataflow of the program running, so that
    /// `POST /v1/facts` re-derives only what the changed facts reach
    /// (without it, each update evaluates the program again).
    pub incremental: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            rules: Vec::new(),
            knowledge: Vec::new(),
            models: Vec::new(),
            semiring: Semiring::Bool,
            limits: Limits {
                timeout: Some(Duration::from_secs(5)),
                max_tuples: Some(10_000_000),
                max_events: Some(10_000_000),
                cancel: None,
            },
            max_body_bytes: 1 << 20,
            max_concurrent: 64,
            token: None,
            decision_log: None,
            mask: Vec::new(),
            log_key: None,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 64 << 20,
            ui: false,
            incremental: false,
        }
    }
}
