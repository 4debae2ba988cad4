//! What every request goes through: the token, the body, the request
//! deadline, and the concurrency slot held by the work until it has
//! stopped (cancelled past its time limit or when the request is
//! dropped).

use crate::errors::{ApiError, error};
use crate::state::{Served, State};
use axum::body::Bytes;
use axum::extract::State as Extract;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nesy::Cancel;
use nesy::Engine;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A whole request, body and answer, within `request_timeout` (and never
/// less than the evaluation's own limit). A request dropped here cancels
/// its evaluation, which keeps its concurrency slot until it has stopped.
pub(crate) async fn request_deadline(
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
pub(crate) fn authorized(state: &State, headers: &HeaderMap) -> Result<(), ApiError> {
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
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn parse<T: for<'de> Deserialize<'de>>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
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
pub(crate) struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Runs `work` on the blocking pool under the concurrency limit, timing it
/// and counting the outcome. The slot is held by the work itself, until it
/// has stopped: past the time limit (or when the request is dropped) the
/// work is cancelled and waited for, never left running.
pub(crate) async fn guarded<F>(state: &Arc<State>, endpoint: &'static str, work: F) -> Response
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

/// How long a decision may run on the runtime's own thread before it is
/// stopped there and run again on the blocking pool (see
/// [`guarded_quick`]).
pub(crate) const INLINE_BUDGET: Duration = Duration::from_millis(1);

/// What [`guarded_quick`]'s work says when it ran out of the inline budget.
pub(crate) struct TooSlow;

/// [`guarded`] for work that usually takes microseconds (a decision): it
/// runs first on the runtime's thread, without the hand-off to the
/// blocking pool and back (which costs more than the decision), with its
/// time limit cut to [`INLINE_BUDGET`]; work that needs longer is stopped
/// there and run again, whole, on the blocking pool under the full limits.
/// The answer is the same either way: only where the work runs differs.
pub(crate) async fn guarded_quick<F>(
    state: &Arc<State>,
    endpoint: &'static str,
    work: F,
) -> Response
where
    F: Fn(Arc<Served>, Cancel, Option<Duration>) -> Result<Response, TooSlow>
        + Send
        + Sync
        + 'static,
{
    let start = Instant::now();
    let quick = match Arc::clone(&state.permits).try_acquire_owned() {
        Err(_) => Some(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many requests in flight; retry shortly",
        )),
        Ok(permit) => match state.current() {
            None => Some(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the engine is unavailable",
            )),
            Some(served) => {
                let _running = state.metrics.running();
                let cancel = Cancel::new();
                let outcome = work(served, cancel, Some(INLINE_BUDGET)).ok();
                drop(permit);
                outcome
            }
        },
    };
    let response = match quick {
        Some(response) => response,
        None => {
            let work = Arc::new(work);
            // Counted once, under the endpoint, by the slow path.
            return guarded(state, endpoint, move |served, cancel| {
                work(served, cancel, None).unwrap_or_else(|TooSlow| {
                    error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "evaluation stopped: time limit reached",
                    )
                })
            })
            .await;
        }
    };
    state
        .metrics
        .record(endpoint, response.status().as_u16(), start.elapsed());
    response
}

/// An endpoint taking a JSON body: the token, then the body, then `work`
/// under [`guarded`]; every outcome is counted under `endpoint`.
pub(crate) async fn json_endpoint<T, F>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerConfig;
    use axum::http::HeaderValue;

    fn with_token(dir: &std::path::Path) -> Arc<State> {
        let rules = dir.join("r.nesy");
        std::fs::write(&rules, "p(1).\n").unwrap();
        State::new(ServerConfig {
            rules: vec![rules],
            token: Some("s3cret".to_string()),
            ..ServerConfig::default()
        })
        .unwrap()
    }

    fn asking(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_token_is_a_bearer_token_in_any_case_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let state = with_token(dir.path());
        assert!(authorized(&state, &asking("Bearer s3cret")).is_ok());
        assert!(authorized(&state, &asking("bearer  s3cret ")).is_ok());
        assert!(authorized(&state, &asking("Basic s3cret")).is_err());
        assert!(authorized(&state, &asking("Bearer s3cre")).is_err());
        assert!(authorized(&state, &asking("Bearer s3cret2")).is_err());
        assert!(authorized(&state, &asking("s3cret")).is_err());
        assert!(authorized(&state, &HeaderMap::new()).is_err());
    }

    #[test]
    fn equal_bytes_compare_equal_and_nothing_else_does() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn a_malformed_body_is_a_400() {
        let refused = parse::<serde_json::Value>(Ok(Bytes::from_static(b"{\"a\": }"))).unwrap_err();
        let response = refused.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
