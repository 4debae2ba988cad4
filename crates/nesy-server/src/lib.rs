//! The nesy decision service: [`router`] is an axum `Router` over a
//! [`nesy::Engine`], which `nesy serve` runs and a service can mount in its
//! own axum app.
//!
//! ```no_run
//! use nesy_server::{ServerConfig, State, router};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ServerConfig { rules: vec!["rules/credit.nesy".into()], ..ServerConfig::default() };
//! let state = State::new(config)?;
//! let app = axum::Router::new().nest("/nesy", router(state));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Endpoints: `POST /v1/decide/{name}`, `POST /v1/query`, `POST
//! /v1/explain`, `GET|POST /v1/sparql`, `GET /v1/rules`, `POST /v1/reload`,
//! `GET /health`, `GET /metrics`, `GET /openapi.json`. Every error is JSON
//! `{"error": "..."}`.

mod listen;
mod log;
mod metrics;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use nesy::engine::{Cancel, SemiringKind};
use nesy::{Engine, Input, Limits};
use serde::Deserialize;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

pub use listen::{serve, serve_on};
pub use metrics::Metrics;

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
    pub semiring: SemiringKind,
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
    /// ([`serve`] closes the connection after).
    pub header_timeout: Duration,
    /// How long a whole request may take, body and answer included (at
    /// least the evaluation's time limit and a few seconds).
    pub request_timeout: Duration,
    /// Largest SPARQL answer held for a response.
    pub max_response_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            rules: Vec::new(),
            knowledge: Vec::new(),
            models: Vec::new(),
            semiring: SemiringKind::Bool,
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
        }
    }
}

/// What went wrong building or reloading the engine.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The rules, knowledge or models did not load.
    #[error("{0}")]
    Load(String),
    /// A file outside the directories the server was started with.
    #[error("{0}")]
    Confined(String),
}

/// The engine being served, with the knowledge graph SPARQL sees.
struct Served {
    engine: Engine,
    graph: Arc<nesy_kg::Graph>,
}

/// Shared by every request.
pub struct State {
    config: ServerConfig,
    served: RwLock<Arc<Served>>,
    /// Held by each evaluation (and reload) until its work has stopped.
    permits: Arc<Semaphore>,
    metrics: Metrics,
    log: Option<Mutex<std::fs::File>>,
    next_id: AtomicU64,
    allowed: Vec<PathBuf>,
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

impl State {
    /// Loads everything; fails with the loading errors (diagnostics as text).
    pub fn new(config: ServerConfig) -> Result<Arc<State>, ServeError> {
        let mut allowed: Vec<PathBuf> = config
            .rules
            .iter()
            .chain(&config.knowledge)
            .chain(config.models.iter().map(|m| &m.1))
            .filter_map(|p| canonical(p).parent().map(Path::to_path_buf))
            .chain(std::env::current_dir().ok().map(|d| canonical(&d)))
            .collect();
        allowed.sort();
        allowed.dedup();
        let log = match &config.decision_log {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| ServeError::Load(format!("{}: {e}", path.display())))?,
            )),
            None => None,
        };
        let served = build(&config, &allowed)?;
        Ok(Arc::new(State {
            permits: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            served: RwLock::new(Arc::new(served)),
            metrics: Metrics::default(),
            log,
            next_id: AtomicU64::new(1),
            allowed,
            config,
        }))
    }

    /// Builds the engine again from the same files and swaps it in; on
    /// failure the old one keeps serving and the error is returned.
    pub fn reload(&self) -> Result<(), ServeError> {
        let served = build(&self.config, &self.allowed)?;
        if let Ok(mut slot) = self.served.write() {
            *slot = Arc::new(served);
        }
        Ok(())
    }

    /// The service's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    fn current(&self) -> Option<Arc<Served>> {
        self.served.read().ok().map(|s| Arc::clone(&s))
    }
}

fn build(config: &ServerConfig, allowed: &[PathBuf]) -> Result<Served, ServeError> {
    // `@import` and `@model` paths are checked against the served
    // directories before anything is opened.
    let mut builder = Engine::builder()
        .limits(config.limits.clone())
        .semiring(config.semiring)
        .confine_to(allowed);
    for r in &config.rules {
        builder = builder.rules(r);
    }
    for k in &config.knowledge {
        builder = builder.knowledge(k);
    }
    for (name, path) in &config.models {
        builder = builder.model(name, path);
    }
    let engine = builder.build().map_err(|e| match e {
        nesy::Error::Confined { .. } => ServeError::Confined(e.to_string()),
        other => ServeError::Load(describe(&other)),
    })?;
    // SPARQL sees the RDF knowledge and what the rules derive.
    let graph = nesy_kg::Graph::in_memory().map_err(|e| ServeError::Load(e.to_string()))?;
    for k in &config.knowledge {
        if nesy_kg::format_of(k).is_some() {
            graph
                .load_file(k, None)
                .map_err(|e| ServeError::Load(e.to_string()))?;
        }
    }
    let evaluation = engine
        .program()
        .evaluate(&config.limits)
        .map_err(|e| ServeError::Load(describe(&e)))?;
    engine
        .program()
        .materialize(&evaluation, &graph, "urn:nesy:inferred")
        .map_err(|e| ServeError::Load(describe(&e)))?;
    Ok(Served {
        engine,
        graph: Arc::new(graph),
    })
}

/// An error as text, rule diagnostics with their locations.
fn describe(e: &nesy::Error) -> String {
    match e {
        nesy::Error::Rules(diagnostics) => diagnostics
            .iter()
            .map(|(source, d)| {
                let p = source.position(d.span.start);
                format!("{}:{}:{}: {}", source.name(), p.line, p.column, d.message)
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    ApiError::new(status, message).into_response()
}

/// An error answer: its status and `{"error": message}`.
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

fn engine_error(e: &nesy::Error) -> Response {
    use nesy::engine::Error as E;
    let status = match e {
        nesy::Error::Request(_)
        | nesy::Error::Rules(_)
        | nesy::Error::Engine(E::UnknownRelation(_) | E::Arity { .. }) => StatusCode::BAD_REQUEST,
        // Limits, and evaluations that fail on the request's values.
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    error(status, describe(e))
}

/// The router; mount it anywhere.
pub fn router(state: Arc<State>) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/v1/decide/{name}", post(decide))
        .route("/v1/query", post(query))
        .route("/v1/explain", post(explain))
        .route("/v1/sparql", get(sparql_get).post(sparql_post))
        .route("/v1/rules", get(rules))
        .route("/v1/reload", post(reload))
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            request_deadline,
        ))
        .with_state(state)
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint (see /openapi.json)",
    )
}

async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method (see /openapi.json)",
    )
}

/// A whole request, body and answer, within `request_timeout` (and never
/// less than the evaluation's own limit). A request dropped here cancels
/// its evaluation, which keeps its concurrency slot until it has stopped.
async fn request_deadline(
    Extract(state): Extract<Arc<State>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let limit = state.config.request_timeout.max(
        state
            .config
            .limits
            .timeout
            .map_or(Duration::ZERO, |t| t.saturating_add(Duration::from_secs(5))),
    );
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request took longer than {} s (body and evaluation)",
                limit.as_secs()
            ),
        ),
    }
}

/// Whether the `Authorization` header carries the token: `Bearer`, in any
/// case, then the token.
fn authorized(state: &State, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &state.config.token else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    if given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "a bearer token is required (Authorization: Bearer ...)",
        ))
    }
}

/// Compares without stopping at the first difference, so the time taken
/// says nothing about how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn parse<T: for<'de> Deserialize<'de>>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "the request body is larger than this server accepts",
            )
        } else {
            ApiError::new(status, e.body_text())
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")))
}

/// Sets the cancel flag when dropped: the request's future went away (its
/// client left, or the request timed out) and its work must stop.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Runs `work` on the blocking pool under the concurrency limit, timing it
/// and counting the outcome. The slot is held by the work itself, until it
/// has stopped: past the time limit (or when the request is dropped) the
/// work is cancelled and waited for, never left running.
async fn guarded<F>(state: &Arc<State>, endpoint: &'static str, work: F) -> Response
where
    F: FnOnce(Arc<Served>, Cancel) -> Response + Send + 'static,
{
    let start = Instant::now();
    let response = match Arc::clone(&state.permits).try_acquire_owned() {
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many requests in flight; retry shortly",
        ),
        Ok(permit) => match state.current() {
            None => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the engine is unavailable",
            ),
            Some(served) => {
                let cancel = Cancel::new();
                let _on_drop = CancelOnDrop(cancel.clone());
                let flag = cancel.clone();
                let owner = Arc::clone(state);
                let mut handle = tokio::task::spawn_blocking(move || {
                    let _slot = permit;
                    let _running = owner.metrics.running();
                    work(served, flag)
                });
                // The engine stops itself at its time limit; this is the
                // backstop for work that does not look at the clock often.
                let budget = state
                    .config
                    .limits
                    .timeout
                    .map_or(Duration::from_secs(3600), |t| {
                        t.saturating_add(Duration::from_secs(1))
                    });
                match tokio::time::timeout(budget, &mut handle).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(_)) => error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the evaluation failed unexpectedly",
                    ),
                    Err(_) => {
                        cancel.cancel();
                        let _ = handle.await;
                        error(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "evaluation stopped: time limit reached",
                        )
                    }
                }
            }
        },
    };
    state
        .metrics
        .record(endpoint, response.status().as_u16(), start.elapsed());
    response
}

/// An endpoint taking a JSON body: the token, then the body, then `work`
/// under [`guarded`]; every outcome is counted under `endpoint`.
async fn json_endpoint<T, F>(
    state: Arc<State>,
    endpoint: &'static str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    work: F,
) -> Response
where
    T: for<'de> Deserialize<'de> + Send + 'static,
    F: FnOnce(Engine, T) -> Response + Send + 'static,
{
    let request: T = match authorized(&state, headers).and_then(|()| parse(body)) {
        Ok(r) => r,
        Err(r) => {
            state
                .metrics
                .record(endpoint, r.status.as_u16(), Duration::ZERO);
            return r.into_response();
        }
    };
    guarded(&state, endpoint, move |served, cancel| {
        work(served.engine.with_cancel(cancel), request)
    })
    .await
}

/// Results whose proofs name the rules a logged decision used.
const LOGGED_PROOFS: usize = 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideRequest {
    #[serde(default)]
    input: Input,
    #[serde(default)]
    explain: bool,
}

async fn decide(
    Extract(state): Extract<Arc<State>>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let logger = Arc::clone(&state);
    json_endpoint(
        state,
        "decide",
        &headers,
        body,
        move |engine, request: DecideRequest| {
            let start = Instant::now();
            // The log names the rules of the first results' proofs; whole
            // explanations only when asked for.
            let decided = if logger.log.is_some() && !request.explain {
                engine.decide_naming_rules(&name, &request.input, LOGGED_PROOFS)
            } else {
                engine.decide(&name, &request.input, request.explain)
            };
            match decided {
                Ok(mut decision) => {
                    let decision_id = format!("d-{id}");
                    if logger.log.is_some() {
                        logger.write_log(
                            &engine,
                            &decision_id,
                            &decision,
                            &request.input,
                            start.elapsed(),
                        );
                    }
                    if !request.explain {
                        for r in &mut decision.results {
                            r.explanation = None;
                        }
                        decision.why_not = None;
                    }
                    let mut body = json!({
                        "decision_id": decision_id,
                        "decision": decision.decision,
                        "holds": decision.holds,
                        "results": decision.results,
                        "metrics": {"eval_us": decision.eval_us},
                    });
                    if let (Some(w), Some(obj)) = (&decision.why_not, body.as_object_mut()) {
                        obj.insert("why_not".to_string(), json!(w));
                    }
                    Json(body).into_response()
                }
                Err(e) => engine_error(&e),
            }
        },
    )
    .await
}

impl State {
    fn write_log(
        &self,
        engine: &Engine,
        id: &str,
        decision: &nesy::Decision,
        input: &Input,
        latency: Duration,
    ) {
        let Some(log) = &self.log else { return };
        let masks = log::Masks::new(&self.config.mask, engine.info());
        let line = log::line(
            id,
            decision,
            input,
            &masks,
            self.config.log_key.as_deref(),
            latency,
        );
        if let Ok(mut f) = log.lock() {
            let _ = writeln!(f, "{line}");
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryRequest {
    goal: String,
    #[serde(default)]
    input: Input,
}

async fn query(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    json_endpoint(
        state,
        "query",
        &headers,
        body,
        |engine, request: QueryRequest| match engine.query(&request.goal, &request.input) {
            Ok(a) => Json(json!(a)).into_response(),
            Err(e) => engine_error(&e),
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainRequest {
    fact: String,
    #[serde(default)]
    input: Input,
}

async fn explain(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    json_endpoint(
        state,
        "explain",
        &headers,
        body,
        |engine, request: ExplainRequest| match engine.explain(&request.fact, &request.input) {
            Ok(e) => Json(json!({ "explanations": e })).into_response(),
            Err(e) => engine_error(&e),
        },
    )
    .await
}

#[derive(Deserialize)]
struct SparqlParams {
    query: Option<String>,
}

async fn sparql_get(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<SparqlParams>,
) -> Response {
    sparql(state, headers, params.query).await
}

async fn sparql_post(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let text = match body {
        Ok(b) => b,
        Err(e) => return error(e.status(), e.body_text()),
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let query = if is_form {
        axum::extract::Query::<SparqlParams>::try_from_uri(
            &format!("/?{}", String::from_utf8_lossy(&text))
                .parse()
                .unwrap_or_default(),
        )
        .ok()
        .and_then(|q| q.0.query)
    } else {
        Some(String::from_utf8_lossy(&text).to_string())
    };
    sparql(state, headers, query).await
}

/// SPARQL 1.1 protocol: solutions as `application/sparql-results+json`
/// (or XML, CSV, TSV by `Accept`), graphs as N-Triples. The default graph
/// is the union of the knowledge and what the rules derive.
async fn sparql(state: Arc<State>, headers: HeaderMap, query: Option<String>) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return r.into_response();
    }
    let Some(query) = query.filter(|q| !q.trim().is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "give the query as ?query=... or as the request body",
        );
    };
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Solutions and booleans in a SPARQL results format, graphs in an RDF
    // one, each labelled with what is actually sent.
    let results_format = if accept.contains("sparql-results+xml") {
        "xml"
    } else if accept.contains("text/csv") {
        "csv"
    } else if accept.contains("text/tab-separated-values") {
        "tsv"
    } else {
        "json"
    };
    let graph_format = if accept.contains("text/turtle") {
        "ttl"
    } else if accept.contains("application/rdf+xml") {
        "rdf"
    } else if accept.contains("application/trig") {
        "trig"
    } else if accept.contains("application/n-quads") {
        "nq"
    } else {
        "nt"
    };
    let max_bytes = state.config.max_response_bytes;
    let limits = state.config.limits.clone();
    guarded(&state, "sparql", move |served, cancel| {
        let options = nesy_kg::QueryOptions {
            union: true,
            results_format: results_format.to_string(),
            graph_format: graph_format.to_string(),
            limits: Limits {
                cancel: Some(cancel),
                ..limits
            },
            ..nesy_kg::QueryOptions::default()
        };
        let mut out = Capped {
            bytes: Vec::new(),
            max: max_bytes,
        };
        match served.graph.run_query(&query, &options, &mut out) {
            Ok(form) => ([(header::CONTENT_TYPE, form.media_type())], out.bytes).into_response(),
            Err(e) if out.bytes.len() >= max_bytes => error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the results are larger than {max_bytes} bytes: {e}"),
            ),
            Err(e @ nesy_kg::KgError::Stopped(_)) => {
                error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
        }
    })
    .await
}

/// An answer held in memory up to a size: past it, writes fail and the
/// query stops.
struct Capped {
    bytes: Vec<u8>,
    max: usize,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len().saturating_add(buf.len()) > self.max {
            self.bytes.extend_from_slice(
                buf.get(..self.max.saturating_sub(self.bytes.len()))
                    .unwrap_or_default(),
            );
            return Err(std::io::Error::other("the response size limit was reached"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn rules(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return r.into_response();
    }
    match state.current() {
        Some(served) => {
            let sources: Vec<serde_json::Value> = served
                .engine
                .program()
                .sources()
                .iter()
                .map(|c| json!({"name": c.source.name(), "text": c.source.text()}))
                .collect();
            Json(json!({"engine": served.engine.info(), "sources": sources})).into_response()
        }
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the engine is unavailable",
        ),
    }
}

async fn reload(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return r.into_response();
    }
    let start = Instant::now();
    // A reload evaluates the whole program: it takes a slot like any
    // evaluation, held until it has finished.
    let response = match Arc::clone(&state.permits).try_acquire_owned() {
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many requests in flight; retry shortly",
        ),
        Ok(permit) => {
            let worker = Arc::clone(&state);
            let outcome = tokio::task::spawn_blocking(move || {
                let _slot = permit;
                let _running = worker.metrics.running();
                worker.reload()
            })
            .await;
            match outcome {
                Ok(Ok(())) => Json(json!({"reloaded": true})).into_response(),
                Ok(Err(e)) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"error": "the new program was refused; the old one keeps serving", "diagnostics": e.to_string()})),
                )
                    .into_response(),
                Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the reload failed unexpectedly"),
            }
        }
    };
    state
        .metrics
        .record("reload", response.status().as_u16(), start.elapsed());
    response
}

async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn metrics_text(Extract(state): Extract<Arc<State>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}
