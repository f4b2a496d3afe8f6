//! The webhooks API over real HTTP: validation (SSRF included), keys shown once and sealed at
//! rest, session-limited keys, and delivery to a real receiver with the delivery log.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Row;
use titan_server::config::Config;

use common::expect_error;

/// A receiver that records what it gets and answers 200.
async fn receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, Bytes)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

on_both_databases! {
    /// Private targets, unknown event types, reserved headers and bad retry policies get 400 and
    /// create nothing.
    async fn bad_webhooks_are_refused(server, Config::default()) {
        let root = server.root_key().await;
        for (body, needle) in [
            (json!({"url": "http://127.0.0.1:9/hook"}), "private"),
            (json!({"url": "http://localhost/hook"}), "private"),
            (json!({"url": "http://169.254.169.254/latest/meta-data"}), "metadata"),
            // An IPv6 literal is outside the documented URL rule (a receiver there needs a name).
            (json!({"url": "http://[::1]/hook"}), "IPv4 address"),
            (json!({"url": "ftp://example.com/x"}), "http"),
            (json!({"url": "not a url"}), "http"),
            (json!({"url": "http://93.184.216.34/x", "events": ["message.recieved"]}), "unknown event type"),
            (json!({"url": "http://93.184.216.34/x", "headers": {"X-Webhook-Signature": "x"}}), "cannot be overridden"),
            (json!({"url": "http://93.184.216.34/x", "headers": {"bad header": "x"}}), "not a valid header name"),
            (json!({"url": "http://93.184.216.34/x", "retries": {"attempts": 0}}), "attempts"),
            (json!({"url": "http://93.184.216.34/x", "retries": {"policy": "fibonacci"}}), "fibonacci"),
            (json!({"url": "http://93.184.216.34/x", "hmacKey": "short"}), "hmacKey"),
            (json!({"url": "http://93.184.216.34/x", "session": "no spaces"}), "session name"),
        ] {
            let response = server.call(Method::POST, "/api/webhooks", Some(&root), Some(body.clone())).await;
            let message = expect_error(response, 400).await;
            assert!(message.contains(needle), "{body}: {message}");
        }
        let list = json_of(server.call(Method::GET, "/api/webhooks", Some(&root), None).await, 200).await;
        assert_eq!(list["data"], json!([]));
        let (_, reader) = server.admin_key(json!({"label": "r", "scopes": ["sessions:read"]})).await;
        expect_error(server.call(Method::GET, "/api/webhooks", Some(&reader), None).await, 403).await;
        expect_error(server.call(Method::GET, "/api/webhooks/wh_nope", Some(&root), None).await, 404).await;
        expect_error(server.call(Method::GET, "/api/events?events=nope", Some(&root), None).await, 400).await;
    }
}

on_both_databases! {
    /// The key is shown once, sealed at rest, rotated on request; session-limited keys only
    /// see and create their sessions' webhooks.
    async fn keys_are_shown_once_and_sealed_at_rest(server, Config { webhook_allow_private: true, ..Config::default() }) {
        let root = server.root_key().await;
        let body = json!({"url": "http://127.0.0.1:9/hook", "label": "crm", "events": ["session.status"],
            "headers": {"Authorization": "Bearer receiver-token"}, "hmacKey": "my-own-signing-key-123"});
        let created = json_of(server.call(Method::POST, "/api/webhooks", Some(&root), Some(body)).await, 201).await;
        let id = created["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(created["data"]["hmacKey"], "my-own-signing-key-123");
        assert_eq!(created["data"]["retries"], json!({"attempts": 15, "delaySeconds": 5, "policy": "exponential"}));
        let fetched = json_of(server.call(Method::GET, &format!("/api/webhooks/{id}"), Some(&root), None).await, 200).await;
        assert!(fetched["data"].get("hmacKey").is_none(), "shown once: {fetched}");
        assert_eq!(fetched["data"]["headers"]["Authorization"], "Bearer receiver-token");

        let row = sqlx::query("SELECT secret, headers FROM webhooks WHERE id = $1")
            .bind(&id)
            .fetch_one(&server.db().pool)
            .await
            .unwrap();
        let (secret, headers): (String, String) = (row.get("secret"), row.get("headers"));
        assert!(!secret.contains("my-own-signing-key") && !headers.contains("receiver-token"), "sealed at rest");

        let rotated = json_of(
            server.call(Method::PATCH, &format!("/api/webhooks/{id}"), Some(&root), Some(json!({"hmacKey": null}))).await,
            200,
        ).await;
        assert!(rotated["data"].get("hmacKey").is_none(), "no key change, no key shown");
        let generated = json_of(
            server.call(Method::POST, "/api/webhooks", Some(&root), Some(json!({"url": "http://127.0.0.1:9/x", "session": "alpha"}))).await,
            201,
        ).await;
        assert!(generated["data"]["hmacKey"].as_str().unwrap().starts_with("whsec_"));

        let (_, limited) = server.admin_key(json!({"label": "l", "scopes": ["webhooks:manage"], "sessions": ["alpha"]})).await;
        let seen = json_of(server.call(Method::GET, "/api/webhooks", Some(&limited), None).await, 200).await;
        assert_eq!(seen["data"].as_array().unwrap().len(), 1, "only alpha's webhook: {seen}");
        expect_error(server.call(Method::GET, &format!("/api/webhooks/{id}"), Some(&limited), None).await, 404).await;
        expect_error(
            server.call(Method::POST, "/api/webhooks", Some(&limited), Some(json!({"url": "http://127.0.0.1:9/x"}))).await,
            403,
        ).await;
        expect_error(
            server.call(Method::POST, "/api/webhooks", Some(&limited), Some(json!({"url": "http://127.0.0.1:9/x", "session": "beta"}))).await,
            403,
        ).await;
        let deleted = server.call(Method::DELETE, &format!("/api/webhooks/{id}"), Some(&root), None).await;
        assert_eq!(deleted.status(), 204);
        expect_error(server.call(Method::GET, &format!("/api/webhooks/{id}"), Some(&root), None).await, 404).await;
    }
}

on_both_databases! {
    /// A session event reaches the receiver signed, with the Standard Webhooks headers, and the
    /// delivery log shows it delivered.
    async fn events_are_delivered_signed_and_logged(server, Config { webhook_allow_private: true, ..Config::default() }) {
        let root = server.root_key().await;
        let (url, seen) = receiver().await;
        let created = json_of(
            server.call(Method::POST, "/api/webhooks", Some(&root), Some(json!({"url": url, "events": ["session.status"]}))).await,
            201,
        ).await;
        let id = created["data"]["id"].as_str().unwrap().to_owned();
        let key = created["data"]["hmacKey"].as_str().unwrap().to_owned();
        json_of(server.call(Method::POST, "/api/sessions", Some(&root), Some(json!({"name": "alpha"}))).await, 201).await;

        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while seen.lock().unwrap().is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "no delivery");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (headers, body) = seen.lock().unwrap()[0].clone();
        let envelope: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(envelope["event"], "session.status");
        assert_eq!(envelope["session"], "alpha");
        assert_eq!(envelope["payload"], json!({"status": "DISCONNECTED", "statusReason": null}));
        assert_eq!(headers["webhook-id"], envelope["id"].as_str().unwrap());
        let expected = titan_server::webhooks::signature::sign(
            &key,
            envelope["id"].as_str().unwrap(),
            headers["webhook-timestamp"].to_str().unwrap().parse().unwrap(),
            &body,
        );
        assert_eq!(headers["x-webhook-signature"], expected.titan.as_str());
        assert_eq!(headers["webhook-signature"], expected.standard.as_str());

        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let log = loop {
            let log = json_of(server.call(Method::GET, &format!("/api/webhooks/{id}/deliveries"), Some(&root), None).await, 200).await;
            if log["data"][0]["status"] == "delivered" {
                break log;
            }
            assert!(tokio::time::Instant::now() < deadline, "log never shows the delivery: {log}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let entry = &log["data"][0];
        assert_eq!(entry["eventId"], envelope["id"]);
        assert_eq!(entry["statusCode"], 200);
        assert_eq!(entry["attempts"], 1);
        assert!(entry["latencyMs"].as_i64().is_some());
        let dead = json_of(
            server.call(Method::GET, &format!("/api/webhooks/{id}/deliveries?status=dead"), Some(&root), None).await,
            200,
        ).await;
        assert_eq!(dead["data"], json!([]));
        server.stop().await;
    }
}
