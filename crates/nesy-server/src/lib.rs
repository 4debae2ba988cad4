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
//!
//! The parts: `config.rs` (what is served), `state.rs` (building and
//! reloading it), `guard.rs` (token, body, deadline and concurrency of
//! every request), `handlers.rs` and `sparql.rs` (the endpoints),
//! `errors.rs`, `log.rs` (the decision log), `metrics.rs`, `listen.rs`.

mod config;
mod errors;
mod guard;
mod handlers;
mod listen;
mod log;
mod metrics;
mod sparql;
mod state;
pub mod ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use guard::request_deadline;
use handlers::{
    decide, explain, facts, health, method_not_allowed, metrics_text, not_found, openapi, query,
    reload, rules,
};
use sparql::{sparql_get, sparql_post};
use std::sync::Arc;

pub use config::ServerConfig;
pub use listen::{serve, serve_on};
pub use metrics::Metrics;
pub use state::{ServeError, State};

/// The router; mount it anywhere.
pub fn router(state: Arc<State>) -> Router {
    let limit = state.config.max_body_bytes;
    let router = Router::new()
        .route("/v1/decide/{name}", post(decide))
        .route("/v1/query", post(query))
        .route("/v1/explain", post(explain))
        .route("/v1/sparql", get(sparql_get).post(sparql_post))
        .route("/v1/rules", get(rules))
        .route("/v1/reload", post(reload))
        .route("/v1/facts", post(facts))
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi));
    let router = if state.config.ui {
        router
            .route("/ui", get(ui::to_index))
            .route("/ui/", get(ui::asset))
            .route("/ui/{file}", get(ui::asset))
    } else {
        router
    };
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            request_deadline,
        ))
        .with_state(state)
}
