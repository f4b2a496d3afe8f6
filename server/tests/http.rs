//! The HTTP contract: error envelopes, request ids, scopes per route, rate limits, docs and spec.

#![allow(clippy::unwrap_used)]

mod common;

use reqwest::Method;
use serde_json::{Value, json};
use titan_server::auth::Scope;
use titan_server::config::Config;

use common::{MASTER_KEY, expect_error};

on_both_databases! {
    /// 400, 401, 403, 404, 405, 413 and 415 all answer in the `{"error", "docs"}` envelope.
    async fn every_error_uses_the_envelope(server, Config { max_body_bytes: 4096, ..Config::default() }) {
        let root = server.root_key().await;
        let message = expect_error(server.call(Method::GET, "/api/account/keys", None, None).await, 401).await;
        assert!(message.contains("missing API key"), "{message}");
        let message = expect_error(server.call(Method::GET, "/api/account/keys", Some("titan_nope"), None).await, 401).await;
        assert!(message.contains("invalid API key"), "{message}");

        let (_, reader) = server.admin_key(json!({"label": "reader", "scopes": ["sessions:read"]})).await;
        let message = expect_error(server.call(Method::GET, "/api/account/keys", Some(&reader), None).await, 403).await;
        assert_eq!(message, "missing scope: *");

        expect_error(server.call(Method::GET, "/api/nothing-here", Some(&root), None).await, 404).await;
        expect_error(server.call(Method::GET, "/nothing", None, None).await, 404).await;
        let wrong_method = server.call(Method::PUT, "/api/account/keys", Some(&root), None).await;
        assert_eq!(wrong_method.headers()["allow"], "POST,GET,HEAD");
        let message = expect_error(wrong_method, 405).await;
        assert!(message.contains("PUT"), "{message}");

        let url = format!("{}/api/account/keys", server.base);
        let malformed = server.http.post(&url).bearer_auth(&root).header("content-type", "application/json").body("{\"label\":").send().await.unwrap();
        expect_error(malformed, 400).await;
        let wrong_shape = server.http.post(&url).bearer_auth(&root).json(&json!({"label": 5, "scopes": ["*"]})).send().await.unwrap();
        expect_error(wrong_shape, 400).await;
        let unknown_field = server.http.post(&url).bearer_auth(&root).json(&json!({"label": "x", "scopes": ["*"], "scope": "typo"})).send().await.unwrap();
        let message = expect_error(unknown_field, 400).await;
        assert!(message.contains("scope"), "{message}");
        let no_type = server.http.post(&url).bearer_auth(&root).body("{}").send().await.unwrap();
        let message = expect_error(no_type, 415).await;
        assert!(message.contains("Content-Type"), "{message}");
        let huge = json!({"label": "x".repeat(10_000), "scopes": ["*"]});
        let message = expect_error(server.http.post(&url).bearer_auth(&root).json(&huge).send().await.unwrap(), 413).await;
        assert!(message.contains("too large"), "{message}");

        let admin_without_key = server.call(Method::GET, "/admin/keys", None, None).await;
        expect_error(admin_without_key, 401).await;
        let admin_wrong_key = server.call(Method::GET, "/admin/keys", Some(&root), None).await;
        expect_error(admin_wrong_key, 401).await;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys").fetch_one(&server.db().pool).await.unwrap();
        assert_eq!(count, 2, "no rejected request created anything");
        server.stop().await;
    }
}

on_both_databases! {
    /// Every response carries X-Request-Id, echoed when the client sent one.
    async fn request_ids_are_set_or_echoed(server, Config::default()) {
        let fresh = server.call(Method::GET, "/healthz", None, None).await;
        let id = fresh.headers().get("x-request-id").expect("request id").to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        let echoed = server.http.get(format!("{}/api/account/keys", server.base)).header("x-request-id", "my-trace-42").send().await.unwrap();
        assert_eq!(echoed.status(), 401);
        assert_eq!(echoed.headers().get("x-request-id").unwrap(), "my-trace-42");
        server.stop().await;
    }
}

/// What a route needs, read from the served OpenAPI document.
struct Operation {
    method: Method,
    path: String,
    scopes: Vec<Scope>,
}

async fn protected_operations(server: &common::TestServer) -> Vec<Operation> {
    let spec: Value = server
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .json()
        .await
        .unwrap();
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let uses_api_key = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("apiKey").is_some()));
            if !uses_api_key {
                continue;
            }
            let scopes = operation["x-scopes"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path} has no x-scopes"));
            operations.push(Operation {
                method: method.to_uppercase().parse().unwrap(),
                path: path.replace("{id}", "key_00000000000000000000000000"),
                scopes: scopes.iter().map(|s| s.as_str().unwrap().parse().unwrap()).collect(),
            });
        }
    }
    operations
}

on_both_databases! {
    /// Every route that needs a scope answers 403 naming it to a key without it, and not to a key with it.
    async fn route_scope_matrix(server, Config::default()) {
        let operations = protected_operations(&server).await;
        assert!(operations.len() >= 5, "the matrix covers the API-key routes");
        for operation in &operations {
            for required in &operation.scopes {
                let others: Vec<&str> = Scope::ALL.iter().filter(|s| *s != required && **s != Scope::All).map(|s| s.as_str()).collect();
                let (_, lacking) = server.admin_key(json!({"label": "lacking", "scopes": others})).await;
                let body = matches!(operation.method, Method::POST | Method::PATCH | Method::PUT).then(|| json!({}));
                let denied = server.call(operation.method.clone(), &operation.path, Some(&lacking), body.clone()).await;
                let message = expect_error(denied, 403).await;
                assert_eq!(message, format!("missing scope: {required}"), "{} {}", operation.method, operation.path);

                let wanted: Vec<&str> = operation.scopes.iter().map(|s| s.as_str()).collect();
                let (_, holding) = server.admin_key(json!({"label": "holding", "scopes": wanted})).await;
                let allowed = server.call(operation.method.clone(), &operation.path, Some(&holding), body).await;
                assert!(![401, 403].contains(&allowed.status().as_u16()), "{} {} refused a key with {wanted:?}: {}", operation.method, operation.path, allowed.status());
            }
        }
        server.stop().await;
    }
}

on_both_databases! {
    /// Each key gets its sliding window; over it, 429 with Retry-After and the envelope.
    async fn rate_limits_per_key(server, Config { rate_limit: 5, ..Config::default() }) {
        let (_, first) = server.admin_key(json!({"label": "a", "scopes": ["*"]})).await;
        let (_, second) = server.admin_key(json!({"label": "b", "scopes": ["*"]})).await;
        for expected_remaining in (0..5).rev() {
            let ok = server.call(Method::GET, "/api/account/keys", Some(&first), None).await;
            assert_eq!(ok.status(), 200);
            assert_eq!(ok.headers()["x-ratelimit-limit"], "5");
            assert_eq!(ok.headers()["x-ratelimit-remaining"], expected_remaining.to_string().as_str());
        }
        let limited = server.call(Method::GET, "/api/account/keys", Some(&first), None).await;
        let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=120).contains(&retry_after), "Retry-After {retry_after}");
        assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
        let message = expect_error(limited, 429).await;
        assert!(message.contains("rate limit"), "{message}");
        let other = server.call(Method::GET, "/api/account/keys", Some(&second), None).await;
        assert_eq!(other.status(), 200, "limits are per key");
        server.stop().await;
    }
}

on_both_databases! {
    /// Repeated failed authentication from one address is cut off with 429, even for the master key.
    async fn failed_authentication_is_limited_per_address(server, Config { auth_failure_limit: 3, ..Config::default() }) {
        for _ in 0..3 {
            expect_error(server.call(Method::GET, "/api/account/keys", Some("titan_guess"), None).await, 401).await;
        }
        let blocked = server.call(Method::GET, "/api/account/keys", Some("titan_guess"), None).await;
        assert!(blocked.headers().contains_key("retry-after"));
        expect_error(blocked, 429).await;
        expect_error(server.call(Method::GET, "/admin/keys", Some(MASTER_KEY), None).await, 429).await;
        server.stop().await;
    }
}

on_both_databases! {
    /// `/docs` loads nothing from another host; `/openapi.json` is OpenAPI 3.1; probes and metrics answer.
    async fn docs_spec_probes_and_metrics(server, Config::default()) {
        let html = server.call(Method::GET, "/docs", None, None).await.text().await.unwrap();
        assert!(html.contains("/docs/scalar.js") && html.contains("/openapi.json"));
        for attribute in ["src=", "href=", "url:"] {
            for (_, rest) in html.match_indices(attribute).map(|(i, _)| html.split_at(i + attribute.len())) {
                let value = rest.trim_start().trim_start_matches(['"', '\'']);
                assert!(value.starts_with('/') || value.starts_with('#'), "{attribute} points off this server: {}", &value[..value.len().min(60)]);
            }
        }
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"));
        let script = server.call(Method::GET, "/docs/scalar.js", None, None).await;
        assert_eq!(script.status(), 200);
        assert!(script.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
        assert!(script.bytes().await.unwrap().len() > 100_000, "the real Scalar bundle is embedded");

        let spec = server.call(Method::GET, "/openapi.json", None, None).await.text().await.unwrap();
        let parsed: utoipa::openapi::OpenApi = serde_json::from_str(&spec).expect("a valid OpenAPI 3.1 document");
        assert!(matches!(parsed.openapi, utoipa::openapi::OpenApiVersion::Version31));
        assert_eq!(spec, titan_server::api::openapi().to_pretty_json().unwrap(), "served document = generated document");

        let health: Value = server.call(Method::GET, "/healthz", None, None).await.json().await.unwrap();
        assert_eq!(health, json!({"data": {"status": "ok"}}));
        let ready = server.call(Method::GET, "/readyz", None, None).await;
        assert_eq!(ready.status(), 200);

        let root = server.root_key().await;
        server.call(Method::GET, "/api/account/keys", Some(&root), None).await;
        let metrics = server.call(Method::GET, "/metrics", None, None).await.text().await.unwrap();
        assert!(metrics.contains(r#"titan_http_requests_total{method="GET",route="/api/account/keys",status="200"} 1"#), "{metrics}");
        assert!(metrics.contains(r#"titan_http_request_duration_seconds_count{method="GET",route="/api/account/keys"} 1"#));
        assert!(!metrics.contains(&root), "no secret in metrics");
        server.stop().await;
    }
}

on_both_databases! {
    /// `/admin/cluster` (master key only) shows this server: alone on SQLite, as a cluster member
    /// holding the webhook-delivery lease on PostgreSQL; `/metrics` says what it owns there.
    async fn admin_cluster_lists_this_server(server, Config::default()) {
        let root = server.root_key().await;
        expect_error(server.call(Method::GET, "/admin/cluster", Some(&root), None).await, 401).await;
        let response = server.call(Method::GET, "/admin/cluster", Some(MASTER_KEY), None).await;
        assert_eq!(response.status(), 200);
        let cluster: Value = response.json().await.unwrap();
        let data = &cluster["data"];
        let servers = data["servers"].as_array().unwrap();
        assert_eq!(servers.len(), 1, "{cluster}");
        assert_eq!(servers[0]["thisServer"], true);
        assert_eq!(servers[0]["deliversWebhooks"], true, "{cluster}");
        let metrics = server.call(Method::GET, "/metrics", None, None).await.text().await.unwrap();
        match server.db().engine {
            titan_server::store::Engine::Sqlite => {
                assert_eq!(data["mode"], "single");
                assert!(!metrics.contains("titan_cluster_"));
            }
            titan_server::store::Engine::Postgres => {
                assert_eq!(data["mode"], "cluster");
                assert_eq!(data["leaseTtlMs"], 10_000);
                assert!(servers[0]["id"].as_str().unwrap().starts_with("srv_"));
                assert!(servers[0]["heartbeatAgeMs"].as_i64().unwrap() < 10_000);
                assert!(metrics.contains("titan_cluster_delivering{server=\""), "{metrics}");
                assert!(metrics.contains("titan_cluster_sessions_owned{server=\""), "{metrics}");
            }
        }
        server.stop().await;
    }
}
