//! Client tokens as a browser integration uses them. Alice's server sets her session's client
//! rules and mints a token for a visitor; the token, sent from an allowed browser origin, sends
//! Bob a message he receives, and reads Alice's contacts. Everything outside the rules is refused:
//! another origin (403, and its CORS preflight too), an action the rules leave out (403), a chat
//! the session has no conversation with (403), another session (403), management routes (403),
//! more calls than the per-minute limit (429) or sends than the daily limit (429, still counted
//! after a restart), an expired or forged token (401). A rule change applies to the next call;
//! disabling or deleting the rules refuses tokens already handed out.

#![allow(clippy::unwrap_used, missing_docs)]

use reqwest::Method;
use reqwest::header::{HeaderMap, ORIGIN};
use serde_json::{Value, json};
use titan_client::types;
use titan_e2e::harness::{Harness, jid};

titan_e2e::on_both_databases!(client_tokens_reach_only_what_their_rules_allow);

const ALICE: &str = "15550013001";
const BOB: &str = "15550013002";
const CAROL: &str = "15550013003";
const SHOP: &str = "https://shop.example";

/// The status, headers and JSON answer of `method path` with `token` from `origin`.
async fn with_token(
    harness: &Harness,
    token: &str,
    origin: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, HeaderMap, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", harness.base))
        .bearer_auth(token);
    if let Some(origin) = origin {
        request = request.header(ORIGIN, origin);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let answer = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
    (status, headers, answer)
}

/// Alice's session's client rules set to `rules`.
async fn set_rules(harness: &Harness, rules: Value) -> Value {
    let (status, answer) = harness
        .call(Method::PUT, "/api/sessions/alice/client-rules", Some(rules))
        .await;
    assert_eq!(status, 200, "{answer}");
    answer["data"].clone()
}

/// A token for Alice's session and `visitor`, living `ttl` seconds.
async fn mint(harness: &Harness, visitor: &str, ttl: Option<u32>) -> String {
    let mut body = json!({"session": "alice", "ephemeralId": visitor});
    if let Some(ttl) = ttl {
        body["ttlSeconds"] = json!(ttl);
    }
    let (status, answer) = harness.call(Method::POST, "/api/client-tokens", Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    answer["data"]["token"].as_str().unwrap().to_owned()
}

fn text(to: &str, text: &str) -> Value {
    json!({"chatId": jid(to), "type": "text", "text": text})
}

const SEND: &str = "/api/sessions/alice/messages/send";

async fn client_tokens_reach_only_what_their_rules_allow(mut harness: Harness) {
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_qr("bob", BOB).await;
    harness.link_by_qr("carol", CAROL).await;

    // No rules yet: no token.
    let (status, answer) = harness
        .call(
            Method::POST,
            "/api/client-tokens",
            Some(json!({"session": "alice", "ephemeralId": "v1"})),
        )
        .await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(
        harness
            .call(Method::GET, "/api/sessions/alice/client-rules", None)
            .await
            .0,
        404
    );

    let rules = set_rules(
        &harness,
        json!({"recipientMode": "conversation", "allowedActions": "send_message, read_contact",
               "rateLimit": 0, "maxDaily": 0, "allowedOrigins": "https://shop.example, http://localhost:3000"}),
    )
    .await;
    assert_eq!(rules["allowedActions"], "send_message,read_contact");
    assert_eq!(rules["allowedOrigins"], "https://shop.example,http://localhost:3000");
    assert_eq!(
        (rules["enabled"].clone(), rules["recipientMode"].clone()),
        (json!(true), json!("conversation"))
    );
    let (status, read) = harness
        .call(Method::GET, "/api/sessions/alice/client-rules", None)
        .await;
    assert_eq!((status, &read["data"]), (200, &rules));

    let (status, answer) = harness
        .call(
            Method::POST,
            "/api/client-tokens",
            Some(json!({"session": "alice", "ephemeralId": "visitor-1"})),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let token = answer["data"]["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("titan_ct_"), "{token}");
    let expires: chrono::DateTime<chrono::Utc> = answer["data"]["expiresAt"].as_str().unwrap().parse().unwrap();
    let lifetime = (expires - chrono::Utc::now()).num_seconds();
    assert!(
        (890..=900).contains(&lifetime),
        "default lifetime 900 s, got {lifetime}"
    );

    // Conversation mode: Bob has never written to Alice, so the token cannot write to him.
    let (status, _, answer) = with_token(&harness, &token, Some(SHOP), Method::POST, SEND, Some(text(BOB, "hi"))).await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("conversation"), "{answer}");
    let (status, answer) = harness
        .call(
            Method::POST,
            "/api/sessions/bob/messages/send",
            Some(text(ALICE, "hello shop")),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let deadline = tokio::time::Instant::now() + titan_e2e::harness::STEP;
    while harness.history("alice", &jid(BOB)).await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "Alice never got Bob's message");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // Now the token writes to Bob from the shop's origin, and Bob receives it.
    let (status, headers, answer) = with_token(
        &harness,
        &token,
        Some(SHOP),
        Method::POST,
        SEND,
        Some(text(BOB, "thanks for writing")),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(headers["access-control-allow-origin"], SHOP);
    let deadline = tokio::time::Instant::now() + titan_e2e::harness::STEP;
    while !harness
        .history("bob", &jid(ALICE))
        .await
        .iter()
        .any(|m| m.text.as_deref() == Some("thanks for writing"))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Bob never got the token's message"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Carol is no conversation of Alice's; no origin (a server-side caller) is fine.
    let (status, _, _) = with_token(&harness, &token, None, Method::POST, SEND, Some(text(CAROL, "hi"))).await;
    assert_eq!(status, 403);
    let (status, _, answer) = with_token(
        &harness,
        &token,
        None,
        Method::GET,
        "/api/sessions/alice/contacts",
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["phoneNumber"] == format!("+{BOB}")),
        "{answer}"
    );

    // Origins: another site is refused, and so is its preflight; the shop's preflight passes.
    let (status, headers, _) = with_token(
        &harness,
        &token,
        Some("https://evil.example"),
        Method::POST,
        SEND,
        Some(text(BOB, "no")),
    )
    .await;
    assert_eq!(status, 403);
    assert!(headers.get("access-control-allow-origin").is_none());
    let preflight = |origin: &'static str| {
        reqwest::Client::new()
            .request(Method::OPTIONS, format!("{}{SEND}", harness.base))
            .header(ORIGIN, origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let allowed = preflight(SHOP).await.unwrap();
    assert_eq!(allowed.status().as_u16(), 204);
    assert_eq!(allowed.headers()["access-control-allow-origin"], SHOP);
    assert!(
        allowed.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused.headers().get("access-control-allow-origin").is_none());

    // Outside the rules: an action they leave out, another session, the management API.
    for (method, path, body) in [
        (
            Method::POST,
            "/api/sessions/alice/messages/typing",
            Some(json!({"chatId": jid(BOB), "state": "composing"})),
        ),
        (
            Method::POST,
            "/api/sessions/bob/messages/send",
            Some(text(ALICE, "as bob")),
        ),
        (Method::GET, "/api/sessions", None),
        (Method::GET, "/api/sessions/alice/client-rules", None),
        (
            Method::POST,
            "/api/client-tokens",
            Some(json!({"session": "alice", "ephemeralId": "x"})),
        ),
        (Method::GET, "/api/sessions/alice/chats", None),
    ] {
        let (status, _, answer) = with_token(&harness, &token, Some(SHOP), method.clone(), path, body).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
    }
    // A rule change applies to the next call: typing is allowed once the rules say so.
    set_rules(
        &harness,
        json!({"recipientMode": "conversation", "allowedActions": "send_message,send_typing,read_contact",
               "rateLimit": 3, "maxDaily": 0, "allowedOrigins": SHOP}),
    )
    .await;
    let typing = json!({"chatId": jid(BOB), "state": "composing"});
    let path = "/api/sessions/alice/messages/typing";
    let (status, headers, answer) =
        with_token(&harness, &token, Some(SHOP), Method::POST, path, Some(typing.clone())).await;
    assert_eq!(status, 204, "{answer}");
    assert_eq!(headers["x-ratelimit-limit"], "3");

    // Per minute and per ephemeral id: 3 calls, then 429; another visitor has its own count.
    for _ in 0..2 {
        let (status, _, _) = with_token(&harness, &token, Some(SHOP), Method::POST, path, Some(typing.clone())).await;
        assert_eq!(status, 204);
    }
    let (status, headers, answer) =
        with_token(&harness, &token, Some(SHOP), Method::POST, path, Some(typing.clone())).await;
    assert_eq!(status, 429, "{answer}");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(headers["access-control-allow-origin"], SHOP, "the browser may read why");
    let other = mint(&harness, "visitor-2", None).await;
    let (status, _, _) = with_token(&harness, &other, Some(SHOP), Method::POST, path, Some(typing.clone())).await;
    assert_eq!(status, 204);

    // Daily sends: 2 per visitor; a refused send does not count; the count survives a restart.
    set_rules(
        &harness,
        json!({"recipientMode": "any", "allowedActions": "send_message", "rateLimit": 0, "maxDaily": 2}),
    )
    .await;
    let third = mint(&harness, "visitor-3", None).await;
    let (status, _, _) = with_token(
        &harness,
        &third,
        None,
        Method::POST,
        SEND,
        Some(json!({"chatId": jid(CAROL), "type": "text"})),
    )
    .await;
    assert_eq!(status, 400, "a text without text");
    let (status, _, answer) = with_token(&harness, &third, None, Method::POST, SEND, Some(text(CAROL, "one"))).await;
    assert_eq!(status, 201, "recipientMode any reaches Carol: {answer}");
    harness.restart().await;
    harness.wait_status("alice", types::Status::Connected, None).await;
    let (status, _, _) = with_token(&harness, &third, None, Method::POST, SEND, Some(text(CAROL, "two"))).await;
    assert_eq!(status, 201);
    let (status, headers, answer) =
        with_token(&harness, &third, None, Method::POST, SEND, Some(text(CAROL, "three"))).await;
    assert_eq!(status, 429, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("daily limit of 2"),
        "{answer}"
    );
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&wait), "until UTC midnight: {wait}");

    // Expired and forged tokens are 401.
    let short = mint(&harness, "visitor-4", Some(1)).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, _, answer) = with_token(&harness, &short, None, Method::POST, SEND, Some(text(CAROL, "late"))).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("expired"), "{answer}");
    let forged = format!("{}x", &third[..third.len() - 1]);
    let (status, _, _) = with_token(&harness, &forged, None, Method::POST, SEND, Some(text(CAROL, "forged"))).await;
    assert_eq!(status, 401);

    // Disabled rules refuse every token until enabled again; deleted rules refuse them for good.
    let fresh = mint(&harness, "visitor-5", None).await;
    set_rules(
        &harness,
        json!({"recipientMode": "any", "allowedActions": "read_contact", "enabled": false}),
    )
    .await;
    let contacts = "/api/sessions/alice/contacts";
    assert_eq!(
        with_token(&harness, &fresh, None, Method::GET, contacts, None).await.0,
        403
    );
    let (status, answer) = harness
        .call(
            Method::POST,
            "/api/client-tokens",
            Some(json!({"session": "alice", "ephemeralId": "v6"})),
        )
        .await;
    assert_eq!(status, 409, "no tokens while disabled: {answer}");
    set_rules(
        &harness,
        json!({"recipientMode": "any", "allowedActions": "read_contact"}),
    )
    .await;
    assert_eq!(
        with_token(&harness, &fresh, None, Method::GET, contacts, None).await.0,
        200
    );
    assert_eq!(
        harness
            .call(Method::DELETE, "/api/sessions/alice/client-rules", None)
            .await
            .0,
        204
    );
    assert_eq!(
        with_token(&harness, &fresh, None, Method::GET, contacts, None).await.0,
        403
    );
    set_rules(
        &harness,
        json!({"recipientMode": "any", "allowedActions": "read_contact"}),
    )
    .await;
    let (status, _, answer) = with_token(&harness, &fresh, None, Method::GET, contacts, None).await;
    assert_eq!(status, 401, "minted under deleted rules: {answer}");
    let renewed = mint(&harness, "visitor-5", None).await;
    assert_eq!(
        with_token(&harness, &renewed, None, Method::GET, contacts, None)
            .await
            .0,
        200
    );

    // Bad rules and mint requests are 400s that change nothing.
    for bad in [
        json!({"allowedActions": "send_message"}),
        json!({"recipientMode": "anyone"}),
        json!({"recipientMode": "any", "allowedActions": "send_message,delete_everything"}),
        json!({"recipientMode": "any", "allowedOrigins": "shop.example"}),
        json!({"recipientMode": "any", "rateLimit": -1}),
        json!({"recipientMode": "any", "extra": true}),
    ] {
        let (status, answer) = harness
            .call(Method::PUT, "/api/sessions/alice/client-rules", Some(bad.clone()))
            .await;
        assert_eq!(status, 400, "{bad}: {answer}");
    }
    let (_, read) = harness
        .call(Method::GET, "/api/sessions/alice/client-rules", None)
        .await;
    assert_eq!(read["data"]["allowedActions"], "read_contact");
    for bad in [
        json!({"session": "alice", "ephemeralId": "has space"}),
        json!({"session": "alice", "ephemeralId": "v", "ttlSeconds": 86_401}),
        json!({"session": "alice"}),
    ] {
        let (status, answer) = harness
            .call(Method::POST, "/api/client-tokens", Some(bad.clone()))
            .await;
        assert_eq!(status, 400, "{bad}: {answer}");
    }
    let (status, _) = harness
        .call(
            Method::POST,
            "/api/client-tokens",
            Some(json!({"session": "nobody", "ephemeralId": "v"})),
        )
        .await;
    assert_eq!(status, 404);

    harness.stop().await;
}
