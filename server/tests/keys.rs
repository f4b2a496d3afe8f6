//! API keys end to end: lifecycle, storage, expiry, revocation, session limits, paging.

#![allow(clippy::unwrap_used)]

mod common;

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Row;
use titan_server::config::Config;

use common::{MASTER_KEY, expect_error};

on_both_databases! {
    /// Create, list, get, patch and delete through `/api/account/keys`; the secret is shown once.
    async fn key_lifecycle(server, Config::default()) {
        let root = server.root_key().await;
        let created = server
            .call(Method::POST, "/api/account/keys", Some(&root),
                Some(json!({"label": "my-first-key", "lifetimeDays": 30, "scopes": ["sessions:manage", "messages:write"]})))
            .await;
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        let key = &created["data"];
        let id = key["id"].as_str().unwrap();
        let secret = key["key"].as_str().unwrap();
        assert!(id.starts_with("key_"));
        assert!(secret.starts_with("titan_") && secret.len() >= 6 + 22, "at least 128 random bits");
        assert_eq!(key["scopes"], json!(["sessions:manage", "messages:write"]));
        assert_eq!(key["isActive"], true);
        let expires = chrono::DateTime::parse_from_rfc3339(key["expiresAt"].as_str().unwrap()).unwrap();
        let created_at = chrono::DateTime::parse_from_rfc3339(key["createdAt"].as_str().unwrap()).unwrap();
        assert_eq!((expires - created_at).num_days(), 30);

        let fetched: Value = server.call(Method::GET, &format!("/api/account/keys/{id}"), Some(&root), None).await.json().await.unwrap();
        assert_eq!(fetched["data"]["label"], "my-first-key");
        assert!(fetched["data"].get("key").is_none(), "the secret is shown only once");

        let listed: Value = server.call(Method::GET, "/api/account/keys", Some(&root), None).await.json().await.unwrap();
        let ids: Vec<&str> = listed["data"].as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap()).collect();
        assert!(ids.contains(&id));
        assert!(listed["data"].as_array().unwrap().iter().all(|k| k.get("key").is_none()));
        assert!(listed.get("cursor").is_none(), "one page only");

        let patched = server.call(Method::PATCH, &format!("/api/account/keys/{id}"), Some(&root), Some(json!({"label": "renamed"}))).await;
        assert_eq!(patched.status(), 200);
        let patched: Value = patched.json().await.unwrap();
        assert_eq!(patched["data"]["label"], "renamed");

        let deleted = server.call(Method::DELETE, &format!("/api/account/keys/{id}"), Some(&root), None).await;
        assert_eq!(deleted.status(), 204);
        let gone = server.call(Method::GET, &format!("/api/account/keys/{id}"), Some(&root), None).await;
        expect_error(gone, 404).await;
        let again = server.call(Method::DELETE, &format!("/api/account/keys/{id}"), Some(&root), None).await;
        expect_error(again, 404).await;

        let invalid = server.call(Method::POST, "/api/account/keys", Some(&root), Some(json!({"label": "x", "scopes": ["sessions:write"]}))).await;
        let message = expect_error(invalid, 400).await;
        assert!(message.contains("sessions:write"), "{message}");
        let empty = server.call(Method::POST, "/api/account/keys", Some(&root), Some(json!({"label": "x", "scopes": []}))).await;
        expect_error(empty, 400).await;
        server.stop().await;
    }
}

on_both_databases! {
    /// The database holds only the SHA-256 of a key, never the key.
    async fn keys_are_stored_only_as_hashes(server, Config::default()) {
        let (id, secret) = server.admin_key(json!({"label": "stored", "scopes": ["*"]})).await;
        let row = sqlx::query("SELECT id, label, prefix, key_hash, scopes, sessions FROM api_keys WHERE id = $1")
            .bind(&id)
            .fetch_one(&server.db().pool)
            .await
            .unwrap();
        let hash: String = row.get("key_hash");
        assert_eq!(hash, hex::encode(Sha256::digest(secret.as_bytes())));
        let random_part = &secret["titan_".len()..];
        for column in ["id", "label", "prefix", "key_hash", "scopes"] {
            let value: String = row.get(column);
            assert!(!value.contains(random_part), "{column} holds the secret");
        }
        let prefix: String = row.get("prefix");
        assert!(secret.starts_with(&prefix) && prefix.len() < secret.len() / 2);
        server.stop().await;
    }
}

on_both_databases! {
    /// An expired key is refused with 401.
    async fn expired_keys_are_refused(server, Config::default()) {
        let (id, secret) = server.admin_key(json!({"label": "short", "scopes": ["*"], "lifetimeDays": 1})).await;
        sqlx::query("UPDATE api_keys SET expires_at = $1 WHERE id = $2")
            .bind(chrono::Utc::now().timestamp_millis() - 1000)
            .bind(&id)
            .execute(&server.db().pool)
            .await
            .unwrap();
        let response = server.call(Method::GET, "/api/account/keys", Some(&secret), None).await;
        let message = expect_error(response, 401).await;
        assert!(message.contains("expired"), "{message}");
        server.stop().await;
    }
}

on_both_databases! {
    /// Disabling, re-enabling and deleting a key take effect on its very next request.
    async fn revocation_applies_to_the_next_request(server, Config::default()) {
        let root = server.root_key().await;
        let (id, secret) = server.admin_key(json!({"label": "victim", "scopes": ["*"]})).await;
        let ok = server.call(Method::GET, "/api/account/keys", Some(&secret), None).await;
        assert_eq!(ok.status(), 200);

        let disabled = server.call(Method::PATCH, &format!("/api/account/keys/{id}"), Some(&root), Some(json!({"isActive": false}))).await;
        assert_eq!(disabled.status(), 200);
        let refused = server.call(Method::GET, "/api/account/keys", Some(&secret), None).await;
        let message = expect_error(refused, 401).await;
        assert!(message.contains("disabled"), "{message}");

        let enabled = server.call(Method::PATCH, &format!("/admin/keys/{id}"), Some(MASTER_KEY), Some(json!({"isActive": true}))).await;
        assert_eq!(enabled.status(), 200);
        let ok = server.call(Method::GET, "/api/account/keys", Some(&secret), None).await;
        assert_eq!(ok.status(), 200);

        let deleted = server.call(Method::DELETE, &format!("/api/account/keys/{id}"), Some(&root), None).await;
        assert_eq!(deleted.status(), 204);
        let refused = server.call(Method::GET, "/api/account/keys", Some(&secret), None).await;
        expect_error(refused, 401).await;
        server.stop().await;
    }
}

on_both_databases! {
    /// A key limited to sessions mints only keys within them, and sees only such keys.
    async fn session_limited_keys_stay_within_their_sessions(server, Config::default()) {
        let (root_id, _) = server.admin_key(json!({"label": "root", "scopes": ["*"]})).await;
        let (_, limited) = server.admin_key(json!({"label": "team-a", "scopes": ["*"], "sessions": ["a", "a2"]})).await;

        let outside = server.call(Method::POST, "/api/account/keys", Some(&limited),
            Some(json!({"label": "x", "scopes": ["sessions:read"], "sessions": ["a", "b"]}))).await;
        let message = expect_error(outside, 403).await;
        assert!(message.contains("`b`"), "403 names the session: {message}");

        let inherited = server.call(Method::POST, "/api/account/keys", Some(&limited),
            Some(json!({"label": "child", "scopes": ["sessions:read"]}))).await;
        assert_eq!(inherited.status(), 201);
        let inherited: Value = inherited.json().await.unwrap();
        assert_eq!(inherited["data"]["sessions"], json!(["a", "a2"]), "a child inherits its parent's sessions");

        let narrower = server.call(Method::POST, "/api/account/keys", Some(&limited),
            Some(json!({"label": "narrow", "scopes": ["messages:write"], "sessions": ["a2"]}))).await;
        assert_eq!(narrower.status(), 201);

        let listed: Value = server.call(Method::GET, "/api/account/keys", Some(&limited), None).await.json().await.unwrap();
        let labels: Vec<&str> = listed["data"].as_array().unwrap().iter().map(|k| k["label"].as_str().unwrap()).collect();
        assert_eq!(labels, ["team-a", "child", "narrow"], "the unlimited root key is not visible");
        let hidden = server.call(Method::GET, &format!("/api/account/keys/{root_id}"), Some(&limited), None).await;
        expect_error(hidden, 404).await;
        let untouchable = server.call(Method::DELETE, &format!("/api/account/keys/{root_id}"), Some(&limited), None).await;
        expect_error(untouchable, 404).await;

        let (_, expiring) = server.admin_key(json!({"label": "temp", "scopes": ["*"], "lifetimeDays": 1})).await;
        let longer = server.call(Method::POST, "/api/account/keys", Some(&expiring),
            Some(json!({"label": "x", "scopes": ["*"], "lifetimeDays": 30}))).await;
        expect_error(longer, 403).await;
        let inherits: Value = server.call(Method::POST, "/api/account/keys", Some(&expiring),
            Some(json!({"label": "y", "scopes": ["*"]}))).await.json().await.unwrap();
        assert!(inherits["data"]["expiresAt"].is_string(), "a child of an expiring key expires too");
        server.stop().await;
    }
}

on_both_databases! {
    /// Lists page with `cursor` and `limit`; the last page has no cursor.
    async fn lists_page_with_cursors(server, Config::default()) {
        for i in 0..6 {
            server.admin_key(json!({"label": format!("k{i}"), "scopes": ["*"]})).await;
        }
        let mut labels = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/admin/keys?limit=4&cursor={c}"),
                None => "/admin/keys?limit=4".to_owned(),
            };
            let page: Value = server.call(Method::GET, &path, Some(MASTER_KEY), None).await.json().await.unwrap();
            pages += 1;
            labels.extend(page["data"].as_array().unwrap().iter().map(|k| k["label"].as_str().unwrap().to_owned()));
            match page.get("cursor").and_then(Value::as_str) {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(pages, 2);
        assert_eq!(labels, ["k0", "k1", "k2", "k3", "k4", "k5"]);

        let exact: Value = server.call(Method::GET, "/admin/keys?limit=6", Some(MASTER_KEY), None).await.json().await.unwrap();
        assert!(exact.get("cursor").is_none(), "no cursor when nothing is left");
        expect_error(server.call(Method::GET, "/admin/keys?limit=0", Some(MASTER_KEY), None).await, 400).await;
        expect_error(server.call(Method::GET, "/admin/keys?limit=201", Some(MASTER_KEY), None).await, 400).await;
        // A cursor is a sort key, so any visible-ASCII one is a position; others are refused.
        expect_error(server.call(Method::GET, "/admin/keys?cursor=a%20b", Some(MASTER_KEY), None).await, 400).await;
        server.stop().await;
    }
}
