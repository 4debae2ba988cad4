//! The endpoints: decisions (and their log lines), queries,
//! explanations, the program, reload, health, metrics, the API document.

use crate::errors::{engine_error, error};
use crate::guard::{TooSlow, authorized, guarded_quick, json_endpoint, parse};
use crate::log;
use crate::state::State;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path as UrlPath, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nesy::{Engine, Input};
use serde::Deserialize;
use serde_json::json;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Results whose proofs name the rules a logged decision used.
pub(crate) const LOGGED_PROOFS: usize = 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecideRequest {
    #[serde(default)]
    pub(crate) input: Input,
    #[serde(default)]
    pub(crate) explain: bool,
    /// `"input"`: only the tuples the input adds; `"all"` (the default):
    /// every tuple of the relation.
    #[serde(default)]
    pub(crate) only: Option<String>,
}

/// Whether a request asks for only the tuples its input adds.
fn only_input(only: Option<&str>) -> Result<bool, crate::errors::ApiError> {
    match only {
        None | Some("all") => Ok(false),
        Some("input") => Ok(true),
        Some(other) => Err(crate::errors::ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("`only` is \"all\" or \"input\", not {other:?}"),
        )),
    }
}

pub(crate) async fn decide(
    Extract(state): Extract<Arc<State>>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let parsed = authorized(&state, &headers)
        .and_then(|()| parse::<DecideRequest>(body))
        .and_then(|r| only_input(r.only.as_deref()).map(|only| (only, r)));
    let (only, request) = match parsed {
        Ok(r) => r,
        Err(r) => {
            state
                .metrics
                .record("decide", r.status.as_u16(), Duration::ZERO);
            return r.into_response();
        }
    };
    let logger = Arc::clone(&state);
    guarded_quick(&state, "decide", move |served, cancel, budget| {
        let engine = served.engine.with_cancel(cancel);
        let start = Instant::now();
        // A first try on the runtime's thread stops at the inline budget
        // (unless the configured limit is shorter: then it is the answer).
        let mut limits = logger.config.limits.clone();
        let inline = budget.filter(|b| limits.timeout.is_none_or(|t| t > *b));
        if inline.is_some() {
            limits.timeout = inline;
        }
        // The log names the rules of the first results' proofs; whole
        // explanations only when asked for.
        let options = nesy::DecideOptions {
            explain: request.explain,
            rules_of: if logger.log.is_some() {
                LOGGED_PROOFS
            } else {
                0
            },
            limits: Some(limits),
            only_input: only,
            ..nesy::DecideOptions::default()
        };
        let decided = engine.decide(&name, &request.input, &options);
        Ok(match decided {
            Err(nesy::Error::Engine(nesy::EvalError::Timeout { .. })) if inline.is_some() => {
                return Err(TooSlow);
            }
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
        })
    })
    .await
}

impl State {
    pub(crate) fn write_log(
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
        // A poisoned lock still holds a usable file: a line is whole or
        // not written at all (one `write` of the whole line).
        let mut file = log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = file.write_all(format!("{line}\n").as_bytes()) {
            // Counted in /metrics; said on standard error for the 1st, 2nd,
            // 4th, 8th... failure, so a full disk does not flood it.
            let failures = self.metrics.decision_log_failed();
            if failures.is_power_of_two() {
                crate::listen::say(&format!(
                    "nesy serve: cannot write the decision log ({failures} lines lost so far): {e}"
                ));
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryRequest {
    pub(crate) goal: String,
    #[serde(default)]
    pub(crate) input: Input,
}

pub(crate) async fn query(
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
pub(crate) struct ExplainRequest {
    pub(crate) fact: String,
    #[serde(default)]
    pub(crate) input: Input,
}

pub(crate) async fn explain(
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

pub(crate) async fn rules(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return r.into_response();
    }
    match state.current() {
        Some(served) => {
            let sources: Vec<serde_json::Value> = served
                .engine
                .sources()
                .into_iter()
                .map(|(name, text)| json!({"name": name, "text": text}))
                .collect();
            Json(json!({"engine": served.engine.info(), "sources": sources})).into_response()
        }
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the engine is unavailable",
        ),
    }
}

pub(crate) async fn reload(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&state, &headers) {
        return r.into_response();
    }
    // A reload evaluates the whole program.
    in_a_slot(state, "reload", |state| match state.reload() {
        Ok(()) => Json(json!({"reloaded": true})).into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": "the new program was refused; the old one keeps serving", "diagnostics": e.to_string()})),
        )
            .into_response(),
    })
    .await
}

/// Runs `work` on the blocking pool, holding a slot like any evaluation
/// until it has finished (503 when none is free), and records it under
/// `endpoint`.
async fn in_a_slot<F>(state: Arc<State>, endpoint: &'static str, work: F) -> Response
where
    F: FnOnce(&State) -> Response + Send + 'static,
{
    let start = Instant::now();
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
                work(&worker)
            })
            .await;
            outcome.unwrap_or_else(|_| {
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("the {endpoint} failed unexpectedly"),
                )
            })
        }
    };
    state
        .metrics
        .record(endpoint, response.status().as_u16(), start.elapsed());
    response
}

/// `POST /v1/facts`: base facts in and out.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FactsRequest {
    #[serde(default)]
    pub(crate) insert: Input,
    #[serde(default)]
    pub(crate) delete: Input,
}

pub(crate) async fn facts(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request: FactsRequest = match authorized(&state, &headers).and_then(|()| parse(body)) {
        Ok(r) => r,
        Err(r) => {
            state
                .metrics
                .record("facts", r.status.as_u16(), Duration::ZERO);
            return r.into_response();
        }
    };
    // An update evaluates what the facts reach (the whole program when
    // the engine is not incremental).
    in_a_slot(state, "facts", move |state| {
        match state.update(&request.insert, &request.delete) {
            Ok(update) => Json(json!(update)).into_response(),
            Err(e) => engine_error(&e),
        }
    })
    .await
}

pub(crate) async fn health(Extract(state): Extract<Arc<State>>) -> Response {
    let version = state.current().map_or(0, |served| served.engine.version());
    Json(json!({"status": "ok", "version": version})).into_response()
}

pub(crate) async fn metrics_text(Extract(state): Extract<Arc<State>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

pub(crate) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

pub(crate) async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint (see /openapi.json)",
    )
}

pub(crate) async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method (see /openapi.json)",
    )
}
