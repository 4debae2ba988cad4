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

mod metrics;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use nesy::engine::SemiringKind;
use nesy::{Engine, Input, Limits};
use serde::Deserialize;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Semaphore;

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
    /// Input fields written as `"***"` in the decision log.
    pub mask: Vec<String>,
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
            },
            max_body_bytes: 1 << 20,
            max_concurrent: 64,
            token: None,
            decision_log: None,
            mask: Vec::new(),
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
    permits: Semaphore,
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
            permits: Semaphore::new(config.max_concurrent.max(1)),
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

    fn current(&self) -> Option<Arc<Served>> {
        self.served.read().ok().map(|s| Arc::clone(&s))
    }
}

/// Every `@import` and `@model` path must lie below a directory the server
/// was started with: its working directory, or that of one of its rule,
/// knowledge or model files.
fn confine(engine: &Engine, allowed: &[PathBuf]) -> Result<(), ServeError> {
    use nesy::lang::ast::{ImportSource, Item};
    for source in engine.program().sources() {
        let dir = Path::new(source.source.name())
            .parent()
            .map(canonical)
            .unwrap_or_else(|| canonical(Path::new(".")));
        for item in &source.program.items {
            let path = match item {
                Item::Import(i) => match &i.source {
                    ImportSource::File(f) => Some(f.value.clone()),
                    ImportSource::Store(f) => Some(f.value.clone()),
                    _ => None,
                },
                Item::Model(m) => Some(m.path.value.clone()),
                _ => None,
            };
            if let Some(p) = path {
                let full = canonical(&dir.join(&p));
                if !allowed.iter().any(|a| full.starts_with(a)) {
                    return Err(ServeError::Confined(format!(
                        "{}: `{p}` is outside the directories this server serves",
                        source.source.name()
                    )));
                }
            }
        }
    }
    Ok(())
}

fn build(config: &ServerConfig, allowed: &[PathBuf]) -> Result<Served, ServeError> {
    let mut builder = Engine::builder()
        .limits(config.limits)
        .semiring(config.semiring);
    for r in &config.rules {
        builder = builder.rules(r);
    }
    for k in &config.knowledge {
        builder = builder.knowledge(k);
    }
    for (name, path) in &config.models {
        builder = builder.model(name, path);
    }
    let engine = builder
        .build()
        .map_err(|e| ServeError::Load(describe(&e)))?;
    confine(&engine, allowed)?;
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
    let status = match e {
        nesy::Error::Request(_) => StatusCode::BAD_REQUEST,
        nesy::Error::Rules(_) => StatusCode::BAD_REQUEST,
        nesy::Error::Engine(nesy::engine::Error::UnknownRelation(_)) => StatusCode::BAD_REQUEST,
        nesy::Error::Engine(
            nesy::engine::Error::Timeout { .. }
            | nesy::engine::Error::TooManyTuples { .. }
            | nesy::engine::Error::Unsettled { .. }
            | nesy::engine::Error::TooManyEvents { .. },
        ) => StatusCode::UNPROCESSABLE_ENTITY,
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
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

fn authorized(state: &State, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &state.config.token else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(token.as_str()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "a bearer token is required (Authorization: Bearer ...)",
        ))
    }
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

/// Runs `work` on the blocking pool under the concurrency limit, timing it
/// and counting the outcome.
async fn guarded<F>(state: &Arc<State>, endpoint: &'static str, work: F) -> Response
where
    F: FnOnce(Arc<Served>) -> Response + Send + 'static,
{
    let start = Instant::now();
    let response = match state.permits.try_acquire() {
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many requests in flight; retry shortly",
        ),
        Ok(_permit) => match state.current() {
            None => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the engine is unavailable",
            ),
            Some(served) => {
                // A hard stop a little after the engine's own time limit.
                let budget = state
                    .config
                    .limits
                    .timeout
                    .map_or(Duration::from_secs(3600), |t| t + Duration::from_secs(1));
                match tokio::time::timeout(
                    budget,
                    tokio::task::spawn_blocking(move || work(served)),
                )
                .await
                {
                    Ok(Ok(r)) => r,
                    Ok(Err(_)) => error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the evaluation failed unexpectedly",
                    ),
                    Err(_) => error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "evaluation stopped: time limit reached",
                    ),
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
    F: FnOnce(Arc<Served>, T) -> Response + Send + 'static,
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
    guarded(&state, endpoint, move |served| work(served, request)).await
}

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
        move |served, request: DecideRequest| {
            let start = Instant::now();
            // Rules named in the log come from explanations: make them when logging.
            let explain = request.explain || logger.log.is_some();
            match served.engine.decide(&name, &request.input, explain) {
                Ok(mut decision) => {
                    let decision_id = format!("d-{id}");
                    if logger.log.is_some() {
                        logger.write_log(&decision_id, &decision, &request.input, start.elapsed());
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
    fn write_log(&self, id: &str, decision: &nesy::Decision, input: &Input, latency: Duration) {
        use sha2::{Digest, Sha256};
        let Some(log) = &self.log else { return };
        let raw = serde_json::to_vec(input).unwrap_or_default();
        let mut shown = serde_json::to_value(input).unwrap_or_default();
        mask(&mut shown, &self.config.mask);
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let line = json!({
            "id": id,
            "time_ms": time,
            "decision": decision.decision,
            "input_sha256": format!("{:x}", Sha256::digest(&raw)),
            "input": shown,
            "results": decision.results.iter().map(|r| json!({"args": r.args, "probability": r.probability})).collect::<Vec<_>>(),
            "rules_used": decision.rules_used,
            "latency_us": latency.as_micros() as u64,
        });
        if let Ok(mut f) = log.lock() {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// Replaces the values of fields named in `fields` (in object rows) with `"***"`.
fn mask(value: &mut serde_json::Value, fields: &[String]) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if fields.contains(k) {
                    *v = json!("***");
                } else {
                    mask(v, fields);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask(v, fields)),
        _ => {}
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
        |served, request: QueryRequest| match served.engine.query(&request.goal, &request.input) {
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
        |served, request: ExplainRequest| match served.engine.explain(&request.fact, &request.input)
        {
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
    let (format, content_type) = if accept.contains("sparql-results+xml") {
        ("xml", "application/sparql-results+xml")
    } else if accept.contains("text/csv") {
        ("csv", "text/csv")
    } else if accept.contains("text/tab-separated-values") {
        ("tsv", "text/tab-separated-values")
    } else {
        ("json", "application/sparql-results+json")
    };
    guarded(&state, "sparql", move |served| {
        let mut out = Vec::new();
        match served
            .graph
            .write_query_with(&query, format, true, &mut out)
        {
            Ok(()) => {
                let ct = if out.starts_with(b"<") && format == "json" {
                    "application/n-triples"
                } else {
                    content_type
                };
                ([(header::CONTENT_TYPE, ct)], out).into_response()
            }
            Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
        }
    })
    .await
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
    let worker = Arc::clone(&state);
    let start = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || worker.reload()).await;
    let response = match outcome {
        Ok(Ok(())) => Json(json!({"reloaded": true})).into_response(),
        Ok(Err(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": "the new program was refused; the old one keeps serving", "diagnostics": e.to_string()})),
        )
            .into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the reload failed unexpectedly"),
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

/// Serves on `addr` until Ctrl-C; SIGHUP reloads (Unix). Prints the
/// address it listens on (port 0 picks a free one) to standard error.
pub async fn serve(state: Arc<State>, addr: &str) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("nesy serve: listening on http://{}", listener.local_addr()?);
    #[cfg(unix)]
    {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                return;
            };
            while hup.recv().await.is_some() {
                let worker = Arc::clone(&state);
                match tokio::task::spawn_blocking(move || worker.reload()).await {
                    Ok(Ok(())) => eprintln!("nesy serve: reloaded"),
                    Ok(Err(e)) => {
                        eprintln!("nesy serve: reload refused, the old program keeps serving:\n{e}")
                    }
                    Err(_) => eprintln!("nesy serve: reload failed unexpectedly"),
                }
            }
        });
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
