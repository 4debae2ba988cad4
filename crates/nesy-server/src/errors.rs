//! Error answers: every error is JSON `{"error": "..."}` with the status
//! its cause calls for.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error as text, rule diagnostics with their locations.
pub(crate) fn describe(e: &nesy::Error) -> String {
    match e {
        nesy::Error::Rules(diagnostics) => diagnostics
            .iter()
            .map(|(source, d)| format!("{}: {}", source.locate(d), d.message))
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    ApiError::new(status, message).into_response()
}

/// An error answer: its status and `{"error": message}`.
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
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

pub(crate) fn engine_error(e: &nesy::Error) -> Response {
    use nesy::EvalError as E;
    let status = match e {
        nesy::Error::Request(_)
        | nesy::Error::Rules(_)
        | nesy::Error::Engine(E::UnknownRelation(_) | E::Arity { .. }) => StatusCode::BAD_REQUEST,
        // Limits (`e.is_limit()`), and evaluations that fail on the
        // request's values.
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    error(status, describe(e))
}
