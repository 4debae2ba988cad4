//! The HTTP API end to end through the router: every endpoint, every
//! error status with its JSON body, hot reload, the decision log, limits,
//! tokens and path confinement.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::write;
use nesy_server::{ServerConfig, State, router};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const RULES: &str = "
@decl applicant(id: symbol, income: int, debt: int).
blacklisted(a2).
@name(approve_low_debt)
approve(A) :- applicant(A, I, D), D * 100 / I < 30, not blacklisted(A).
reach(X, Y) :- link(X, Y).
reach(X, Z) :- reach(X, Y), link(Y, Z).
";

fn state(dir: &Path, tweak: impl FnOnce(&mut ServerConfig)) -> Arc<State> {
    let mut config = ServerConfig {
        rules: vec![write(dir, "rules.nesy", RULES)],
        ..ServerConfig::default()
    };
    tweak(&mut config);
    State::new(config).unwrap()
}

async fn call(
    state: &Arc<State>,
    method: &str,
    uri: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value, String) {
    let mut with_type = headers.to_vec();
    with_type.push((header::CONTENT_TYPE.as_str(), "application/json"));
    let a = common::send(state, method, uri, body, &with_type).await;
    (a.status, a.json, a.text)
}

#[tokio::test]
async fn decide_answers_with_ids_results_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(dir.path(), |_| {});
    let input = r#"{"input": {"applicant": [{"id": "a1", "income": 50000, "debt": 4000}, ["a2", 50000, 1000], ["a3", 10, 9]]}}"#;
    let (status, body, _) = call(&s, "POST", "/v1/decide/approve", Some(input), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["decision_id"].as_str().unwrap().starts_with("d-"));
    assert_eq!(
        body["results"],
        json!([{"args": ["a1"], "probability": 1.0}])
    );
    assert!(body["metrics"]["eval_us"].as_u64().is_some());
    let (_, body, _) = call(
        &s,
        "POST",
        "/v1/decide/approve",
        Some(&input.replace("}}", "}, \"explain\": true}")),
        &[],
    )
    .await;
    let e = &body["results"][0]["explanation"];
    assert_eq!(e["holds"], true);
    assert_eq!(e["rule"]["name"], "approve_low_debt");
    // Nothing holds: said plainly, and with explain, why not.
    let (status, body, _) = call(
        &s,
        "POST",
        "/v1/decide/approve",
        Some(r#"{"input": {"applicant": [["a9", 10, 9]]}, "explain": true}"#),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["holds"], false);
    assert_eq!(body["results"], json!([]));
    assert_eq!(body["why_not"]["holds"], false);
}

/// `"only": "input"`: the tuples the request adds, not the rule file's own;
/// anything else than `all` or `input` is a 400 naming the field.
#[tokio::test]
async fn only_the_tuples_the_input_adds() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(dir.path(), |c| {
        c.rules = vec![write(
            dir.path(),
            "rules.nesy",
            &format!("{RULES}applicant(a7, 90000, 1000).\n"),
        )];
    });
    let ask = |only: &str, id: &str| {
        format!(r#"{{"input": {{"applicant": [["{id}", 50000, 4000]]}}, "only": "{only}"}}"#)
    };
    let (status, body, _) = call(
        &s,
        "POST",
        "/v1/decide/approve",
        Some(&ask("all", "a1")),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["results"],
        json!([{"args": ["a1"], "probability": 1.0}, {"args": ["a7"], "probability": 1.0}])
    );
    let (status, body, _) = call(
        &s,
        "POST",
        "/v1/decide/approve",
        Some(&ask("input", "a1")),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["results"],
        json!([{"args": ["a1"], "probability": 1.0}])
    );
    assert_eq!(body["holds"], true);
    // What already held without the input is not the input's.
    let same = r#"{"input": {"applicant": [["a7", 90000, 1000]]}, "only": "input"}"#;
    let (_, body, _) = call(&s, "POST", "/v1/decide/approve", Some(same), &[]).await;
    assert_eq!(body["results"], json!([]));
    assert_eq!(body["holds"], false);
    let (status, body, _) = call(
        &s,
        "POST",
        "/v1/decide/approve",
        Some(&ask("some", "a1")),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("only"), "{body}");
}

#[tokio::test]
async fn query_explain_rules_health_openapi() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(dir.path(), |_| {});
    let (status, body, _) = call(
        &s,
        "POST",
        "/v1/query",
        Some(r#"{"goal": "reach(a, X)", "input": {"link": [["a", "b"], ["b", "c"]]}}"#),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["variables"], json!(["X"]));
    assert_eq!(body["rows"], json!([["b"], ["c"]]));
    let (status, body, _) = call(
        &s,
        "POST",
        "/v1/explain",
        Some(r#"{"fact": "reach(a, c)", "input": {"link": [["a", "b"], ["b", "c"]]}}"#),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["explanations"][0]["holds"], true);
    let (_, body, _) = call(&s, "GET", "/v1/rules", None, &[]).await;
    assert!(
        body["engine"]["derived"]
            .as_array()
            .unwrap()
            .contains(&json!("approve"))
    );
    assert_eq!(
        body["engine"]["declared"]["applicant"],
        json!(["id", "income", "debt"])
    );
    assert!(
        body["sources"][0]["text"]
            .as_str()
            .unwrap()
            .contains("approve_low_debt")
    );
    let (status, body, _) = call(&s, "GET", "/health", None, &[]).await;
    assert_eq!((status, &body["status"]), (StatusCode::OK, &json!("ok")));
    let (_, body, _) = call(&s, "GET", "/openapi.json", None, &[]).await;
    assert_eq!(body["openapi"], "3.0.3");
    for path in [
        "/v1/decide/{name}",
        "/v1/query",
        "/v1/explain",
        "/v1/sparql",
        "/v1/rules",
        "/v1/reload",
        "/health",
        "/metrics",
    ] {
        assert!(body["paths"].get(path).is_some(), "{path} undocumented");
    }
}

#[tokio::test]
async fn bad_requests_get_json_errors_with_the_right_status() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(dir.path(), |c| {
        c.max_body_bytes = 200;
        c.limits.max_tuples = Some(50);
    });
    let expect = |status: StatusCode, want: StatusCode, body: &Value, text: &str| {
        assert_eq!(status, want, "{body}");
        assert!(body["error"].as_str().unwrap().contains(text), "{body}");
    };
    let (st, b, _) = call(&s, "POST", "/v1/decide/approve", Some("{not json"), &[]).await;
    expect(st, StatusCode::BAD_REQUEST, &b, "malformed JSON");
    let (st, b, _) = call(
        &s,
        "POST",
        "/v1/decide/approve",
        Some(r#"{"input": {"nope": [[1]]}}"#),
        &[],
    )
    .await;
    expect(st, StatusCode::BAD_REQUEST, &b, "unknown relation `nope`");
    let (st, b, _) = call(&s, "POST", "/v1/decide/nothing", Some("{}"), &[]).await;
    expect(
        st,
        StatusCode::BAD_REQUEST,
        &b,
        "unknown decision relation `nothing`",
    );
    let (st, b, _) = call(
        &s,
        "POST",
        "/v1/decide/approve",
        Some(r#"{"inputs": {}}"#),
        &[],
    )
    .await;
    expect(st, StatusCode::BAD_REQUEST, &b, "unknown field `inputs`");
    let (st, b, _) = call(
        &s,
        "POST",
        "/v1/decide/approve",
        Some(r#"{"input": {"applicant": [{"id": "a", "income": "x", "debt": 1}]}}"#),
        &[],
    )
    .await;
    expect(st, StatusCode::BAD_REQUEST, &b, "applicant[0].income");
    let big = format!(
        r#"{{"input": {{"link": [{}]}}}}"#,
        vec![r#"["a","b"]"#; 40].join(",")
    );
    let (st, b, _) = call(&s, "POST", "/v1/decide/reach", Some(&big), &[]).await;
    expect(st, StatusCode::PAYLOAD_TOO_LARGE, &b, "larger than");
    // Over the tuple budget: 422, and the server goes on serving.
    let chain: Vec<String> = (0..12)
        .map(|i| format!(r#"["n{i}","n{}"]"#, i + 1))
        .collect();
    let (st, b, _) = call(
        &s,
        "POST",
        "/v1/query",
        Some(&format!(
            r#"{{"goal": "reach(X, Y)", "input": {{"link": [{}]}}}}"#,
            chain.join(",")
        )),
        &[],
    )
    .await;
    expect(st, StatusCode::UNPROCESSABLE_ENTITY, &b, "tuple limit");
    let (st, _, _) = call(&s, "GET", "/health", None, &[]).await;
    assert_eq!(st, StatusCode::OK);
    let (_, _, metrics) = call(&s, "GET", "/metrics", None, &[]).await;
    assert!(
        metrics.contains("nesy_requests_total{endpoint=\"decide\",status=\"400\"} 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("nesy_request_errors_total{endpoint=\"query\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("nesy_request_seconds_bucket{endpoint=\"query\",le=\"+Inf\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_token_guards_every_endpoint_but_health() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(dir.path(), |c| c.token = Some("s3cret".to_string()));
    let (st, b, _) = call(&s, "POST", "/v1/decide/approve", Some("{}"), &[]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(b["error"].as_str().unwrap().contains("bearer token"));
    let (st, _, _) = call(
        &s,
        "POST",
        "/v1/decide/approve",
        Some("{}"),
        &[("authorization", "Bearer wrong")],
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _, _) = call(
        &s,
        "POST",
        "/v1/decide/approve",
        Some("{}"),
        &[("authorization", "Bearer s3cret")],
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    for (m, uri) in [
        ("GET", "/v1/rules"),
        ("POST", "/v1/reload"),
        ("GET", "/v1/sparql?query=ASK%7B%7D"),
    ] {
        let (st, _, _) = call(&s, m, uri, None, &[]).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{uri}");
    }
    let (st, _, _) = call(&s, "GET", "/health", None, &[]).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn hot_reload_swaps_good_programs_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(dir.path(), |_| {});
    let ask = r#"{"input": {"applicant": [["a1", 100, 40]]}}"#;
    let (_, b, _) = call(&s, "POST", "/v1/decide/approve", Some(ask), &[]).await;
    assert_eq!(b["holds"], false, "40% debt is too much");
    write(dir.path(), "rules.nesy", &RULES.replace("< 30", "< 50"));
    let (st, b, _) = call(&s, "POST", "/v1/reload", None, &[]).await;
    assert_eq!((st, &b["reloaded"]), (StatusCode::OK, &json!(true)), "{b}");
    let (_, b, _) = call(&s, "POST", "/v1/decide/approve", Some(ask), &[]).await;
    assert_eq!(b["holds"], true, "the new rule serves");
    write(
        dir.path(),
        "rules.nesy",
        "approve(A) :- applicant(A, I, D), D < .\n",
    );
    let (st, b, _) = call(&s, "POST", "/v1/reload", None, &[]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        b["diagnostics"].as_str().unwrap().contains("rules.nesy:1:"),
        "{b}"
    );
    let (_, b, _) = call(&s, "POST", "/v1/decide/approve", Some(ask), &[]).await;
    assert_eq!(b["holds"], true, "the old program keeps serving");
}

#[tokio::test]
async fn the_decision_log_masks_listed_fields() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.jsonl");
    let s = state(dir.path(), |c| {
        c.decision_log = Some(log.clone());
        c.mask = vec!["income".to_string()];
        c.log_key = Some(b"a key from the operator".to_vec());
    });
    call(
        &s,
        "POST",
        "/v1/decide/approve",
        Some(r#"{"input": {"applicant": [{"id": "a1", "income": 50000, "debt": 4000}]}}"#),
        &[],
    )
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["decision"], "approve");
    assert_eq!(line["input"]["applicant"][0]["income"], "***");
    assert_eq!(line["input"]["applicant"][0]["debt"], 4000);
    // A keyed hash (an unkeyed one would give the masked income away).
    assert!(line.get("input_sha256").is_none());
    assert_eq!(line["input_hmac_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(line["rules_used"], json!(["approve_low_debt"]));
    assert!(line["latency_us"].as_u64().is_some() && line["id"].as_str().is_some());
}

/// A decision whose log line cannot be written is still answered; the
/// lost line is counted in /metrics (and said on standard error).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn decision_log_write_errors_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    // Every write to /dev/full fails with "no space left on device".
    let s = state(dir.path(), |c| c.decision_log = Some("/dev/full".into()));
    let ask = r#"{"input": {"applicant": [{"id": "a1", "income": 50000, "debt": 4000}]}}"#;
    for _ in 0..2 {
        let (status, body, _) = call(&s, "POST", "/v1/decide/approve", Some(ask), &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(s.metrics().decision_log_errors(), 2);
    let (_, _, metrics) = call(&s, "GET", "/metrics", None, &[]).await;
    assert!(
        metrics.contains("nesy_decision_log_errors_total 2\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn sparql_sees_knowledge_and_derived_triples() {
    let dir = tempfile::tempdir().unwrap();
    let ttl = write(
        dir.path(),
        "k.ttl",
        "@prefix ex: <http://example.org/> .\nex:a ex:link ex:b .\nex:b ex:link ex:c .\n",
    );
    let rules = write(
        dir.path(),
        "r.nesy",
        "@prefix ex: <http://example.org/>.\nex:reach(X, Y) :- ex:link(X, Y).\nex:reach(X, Z) :- ex:reach(X, Y), ex:link(Y, Z).\n",
    );
    let s = State::new(ServerConfig {
        rules: vec![rules],
        knowledge: vec![ttl],
        ..ServerConfig::default()
    })
    .unwrap();
    let q = "SELECT ?y WHERE { <http://example.org/a> <http://example.org/reach> ?y } ORDER BY ?y";
    let uri = format!(
        "/v1/sparql?query={}",
        q.replace(' ', "%20")
            .replace('?', "%3F")
            .replace('{', "%7B")
            .replace('}', "%7D")
            .replace('<', "%3C")
            .replace('>', "%3E")
            .replace('/', "%2F")
            .replace(':', "%3A")
            .replace('#', "%23")
    );
    let (st, b, text) = call(&s, "GET", &uri, None, &[]).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(b["results"]["bindings"].as_array().unwrap().len(), 2, "{b}");
    let mut request = Request::builder()
        .method("POST")
        .uri("/v1/sparql")
        .header(header::CONTENT_TYPE, "application/sparql-query");
    request = request.header(header::ACCEPT, "text/csv");
    let response = router(Arc::clone(&s))
        .oneshot(request.body(Body::from(q)).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let (st, b, _) = call(&s, "GET", "/v1/sparql?query=SELEC", None, &[]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(b["error"].is_string());
}

#[test]
fn imports_outside_the_served_directories_are_refused() {
    let served = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    write(elsewhere.path(), "secret.csv", "a,b\n1,2\n");
    let rules = write(
        served.path(),
        "r.nesy",
        &format!(
            "@import s from \"{}\".\n",
            elsewhere.path().join("secret.csv").display()
        ),
    );
    let err = State::new(ServerConfig {
        rules: vec![rules],
        ..ServerConfig::default()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("outside the directories"), "{err}");
}

#[tokio::test]
async fn requests_over_the_concurrency_limit_get_503() {
    let dir = tempfile::tempdir().unwrap();
    let s = state(dir.path(), |c| c.max_concurrent = 1);
    // A query that takes a while: the closure of a 300-link chain (45,150
    // tuples; a 40-link one came to finish before the second request
    // arrived, now and then, once evaluation got faster).
    let chain: Vec<String> = (0..300)
        .map(|i| format!(r#"["n{i}","n{}"]"#, i + 1))
        .collect();
    let body = format!(
        r#"{{"goal": "reach(X, Y)", "input": {{"link": [{}]}}}}"#,
        chain.join(",")
    );
    // Both reach the limit while the other evaluates (tokio::join! polls
    // them in turn, in either order): one holds the only permit, the other
    // is turned away.
    let (a, b) = tokio::join!(
        call(&s, "POST", "/v1/query", Some(&body), &[]),
        call(&s, "POST", "/v1/query", Some(&body), &[])
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE]);
    let refused = if a.0 == StatusCode::OK { &b.1 } else { &a.1 };
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("too many requests")
    );
    // Once the first is done, the permit is free again.
    let (third, _, _) = call(&s, "POST", "/v1/query", Some(&body), &[]).await;
    assert_eq!(third, StatusCode::OK);
}

#[tokio::test]
async fn the_page_is_served_only_with_ui_and_needs_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let off = state(dir.path(), |_| {});
    let (status, _, _) = call(&off, "GET", "/ui/", None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let on = state(dir.path(), |c| {
        c.ui = true;
        c.token = Some("t0k".to_string());
    });
    let (status, _, text) = call(&on, "GET", "/ui/", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("<script src=\"explain.js\">"), "{text}");
    for file in ["app.js", "explain.js", "style.css", "index.html"] {
        let (status, _, text) = call(&on, "GET", &format!("/ui/{file}"), None, &[]).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        assert!(!text.is_empty());
    }
    let (status, _, _) = call(&on, "GET", "/ui", None, &[]).await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    let (status, json, _) = call(&on, "GET", "/ui/../v1/rules", None, &[]).await;
    assert_ne!(status, StatusCode::OK, "{json}");
    let (status, _, _) = call(&on, "GET", "/ui/secret.txt", None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The API the page calls still takes the token.
    let (status, _, _) = call(&on, "GET", "/v1/rules", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, json, _) = call(
        &on,
        "GET",
        "/v1/rules",
        None,
        &[("authorization", "Bearer t0k")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The page prefills input from the declarations' types.
    assert_eq!(
        json["engine"]["declared_types"]["applicant"],
        json!(["symbol", "int", "int"])
    );
}
