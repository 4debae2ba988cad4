//! nesy's router mounted inside a user's own axum service: the service
//! keeps its routes and serves decisions under `/nesy`.
//!
//! ```sh
//! cargo run --example axum_service &
//! curl -s -X POST localhost:3000/nesy/v1/decide/decision -H 'content-type: application/json' \
//!      -d '{"input": {"applicant": [["c1", 100000, 27000, 9]]}}'
//! curl -s localhost:3000/hello
//! ```

use axum::Router;
use axum::routing::get;
use nesy_server::{ServerConfig, State, router};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let state = State::new(ServerConfig {
        rules: vec!["rules/credit.nesy".into()],
        ..ServerConfig::default()
    })?;
    let app = Router::new()
        .route("/hello", get(|| async { "the user's own route\n" }))
        .nest("/nesy", router(state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
