//! `Idempotency-Key` on POST: replayed per API key, refused when reused for another request.

#![allow(clippy::unwrap_used)]

mod common;

use reqwest::Method;
use serde_json::{Value, json};
use titan_server::config::Config;

use common::expect_error;

async fn count(server: &common::TestServer, key: &str, label: &str) -> usize {
    let listed: Value = server
        .call(Method::GET, "/api/account/keys", Some(key), None)
        .await
        .json()
        .await
        .unwrap();
    listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["label"] == label)
        .count()
}

on_both_databases! {
    /// A repeated POST with the same key replays the first response and creates nothing new.
    async fn repeated_posts_replay_the_first_response(server, Config::default()) {
        let root = server.root_key().await;
        let url = format!("{}/api/account/keys", server.base);
        let body = json!({"label": "once", "scopes": ["chats:read"]});
        let send = |key: &'static str, body: Value| {
            server.http.post(&url).bearer_auth(&root).header("idempotency-key", key).json(&body).send()
        };
        let first = send("abc-1", body.clone()).await.unwrap();
        assert_eq!(first.status(), 201);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first: Value = first.json().await.unwrap();
        let again = send("abc-1", body.clone()).await.unwrap();
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.headers()["content-type"], "application/json");
        let again: Value = again.json().await.unwrap();
        assert_eq!(again, first, "the same key (and the same secret) comes back");

        assert_eq!(count(&server, &root, "once").await, 1);

        let reused = send("abc-1", json!({"label": "other", "scopes": ["chats:read"]})).await.unwrap();
        let message = expect_error(reused, 422).await;
        assert!(message.contains("different request"), "{message}");
        let fresh = send("abc-2", body).await.unwrap();
        assert_eq!(fresh.status(), 201, "another key is another request");
        assert_eq!(count(&server, &root, "once").await, 2);

        let invalid = send("", json!({})).await.unwrap();
        expect_error(invalid, 400).await;
        let (_, other_key) = server.admin_key(json!({"label": "other-caller", "scopes": ["*"]})).await;
        let other = server.http.post(&url).bearer_auth(&other_key).header("idempotency-key", "abc-1")
            .json(&json!({"label": "theirs", "scopes": ["chats:read"]})).send().await.unwrap();
        assert_eq!(other.status(), 201, "keys are scoped to the API key that sent them");
        server.stop().await;
    }
}
