//! The SPARQL 1.1 protocol over the knowledge graph and what the rules
//! derive: bounded, cancellable queries, answers labelled with what is
//! sent.

use crate::errors::error;
use crate::guard::{authorized, guarded};
use crate::state::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nesy::Limits;
use serde::Deserialize;
use std::io::Write;
use std::sync::Arc;

#[derive(Deserialize)]
pub(crate) struct SparqlParams {
    pub(crate) query: Option<String>,
}

pub(crate) async fn sparql_get(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Query(params): Query<SparqlParams>,
) -> Response {
    sparql(state, headers, params.query).await
}

pub(crate) async fn sparql_post(
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
pub(crate) async fn sparql(
    state: Arc<State>,
    headers: HeaderMap,
    query: Option<String>,
) -> Response {
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
        let options = nesy::kg::QueryOptions {
            union: true,
            results_format: results_format.to_string(),
            graph_format: graph_format.to_string(),
            limits: Limits {
                cancel: Some(cancel),
                ..limits
            },
            ..nesy::kg::QueryOptions::default()
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
            Err(e @ nesy::kg::KgError::Stopped(_)) => {
                error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
        }
    })
    .await
}

/// An answer held in memory up to a size: past it, writes fail and the
/// query stops.
pub(crate) struct Capped {
    pub(crate) bytes: Vec<u8>,
    pub(crate) max: usize,
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
