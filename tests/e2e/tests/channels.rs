//! Channels (newsletters). Alice creates a channel; Bob finds it by its invite code and follows
//! it; Alice's post reaches Bob and not Carol, who does not follow; Alice renames it and Bob gets
//! `newsletter.update`; Bob may neither post to it, rename it nor delete it (403); after Bob
//! unfollows, posts no longer reach him; Alice deletes it and it is gone (404). Bad ids, codes,
//! names and post types get clear 400s.

#![allow(clippy::unwrap_used, missing_docs)]

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use titan_e2e::harness::{Harness, jid};
use titan_e2e::receiver::Receiver;

titan_e2e::on_both_databases!(channel_posts_reach_followers_only);

const ALICE: &str = "15550015001";
const BOB: &str = "15550015002";
const CAROL: &str = "15550015003";

/// `method /api/sessions/{session}{path}` with `body`, asserting `expected`; the answer.
async fn call(
    harness: &Harness,
    session: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: u16,
) -> Value {
    let path = format!("/api/sessions/{session}{path}");
    let (status, answer) = harness.call(method.clone(), &path, body).await;
    assert_eq!(status, expected, "{method} {path}: {answer}");
    answer
}

/// The URL path of channel `id`.
fn channel_path(id: &str) -> String {
    format!("/channels/{}", id.replace('@', "%40"))
}

/// Alice posts `text` to channel `id`, then writes to `absent` and waits for that: by then the post
/// would have reached `absent` had it been for them (the emulator delivers to each device in the
/// order Alice sent). Answers the post's id.
async fn post_then_barrier(
    harness: &Harness,
    receiver: &Receiver,
    id: &str,
    text: &str,
    absent: (&str, &str),
) -> String {
    let body = json!({"chatId": id, "type": "text", "text": text});
    let sent = call(harness, "alice", Method::POST, "/messages/send", Some(body), 201).await;
    let barrier = format!("after {text}");
    let body = json!({"chatId": jid(absent.1), "type": "text", "text": barrier});
    call(harness, "alice", Method::POST, "/messages/send", Some(body), 201).await;
    receiver
        .expect("message.received", absent.0, |p| p["body"] == barrier.as_str())
        .await;
    sent["data"]["id"].as_str().unwrap().to_owned()
}

/// The texts `session` received in channel `id`.
fn received_in(receiver: &Receiver, session: &str, id: &str) -> Vec<String> {
    receiver
        .delivered()
        .into_iter()
        .filter(|e| e["event"] == "message.received" && e["session"] == session && e["payload"]["chatId"] == id)
        .map(|e| e["payload"]["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn channel_posts_reach_followers_only(harness: Harness) {
    let receiver = harness.receiver().await;
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_qr("bob", BOB).await;
    harness.link_by_qr("carol", CAROL).await;

    let photo = base64::engine::general_purpose::STANDARD.encode(include_bytes!("../../fixtures/media/photo.jpg"));
    let body = json!({"name": "Titan news", "description": "Releases", "picture": {"base64": photo}});
    let created = call(&harness, "alice", Method::POST, "/channels", Some(body), 201).await["data"].clone();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.ends_with("@newsletter"), "{created:#}");
    assert_eq!(
        (
            &created["name"],
            &created["description"],
            &created["role"],
            &created["subscriberCount"]
        ),
        (&json!("Titan news"), &json!("Releases"), &json!("owner"), &json!(0)),
        "{created:#}"
    );
    assert!(
        created["profileUrl"].as_str().is_some_and(|p| p.ends_with(".jpg")),
        "{created:#}"
    );
    let code = created["inviteCode"].as_str().unwrap().to_owned();
    assert_eq!(
        created["inviteUrl"],
        json!(format!("https://whatsapp.com/channel/{code}"))
    );

    // Bob finds it by its invite code and follows it.
    let found = call(
        &harness,
        "bob",
        Method::GET,
        &format!("/channels/invite/{code}"),
        None,
        200,
    )
    .await["data"]
        .clone();
    assert_eq!(
        (&found["id"], &found["role"]),
        (&json!(id), &json!("guest")),
        "{found:#}"
    );
    let followed = call(
        &harness,
        "bob",
        Method::POST,
        &format!("{}/follow", channel_path(&id)),
        None,
        200,
    )
    .await;
    assert_eq!(followed["data"]["role"], json!("subscriber"), "{followed:#}");
    let listed = call(&harness, "bob", Method::GET, "/channels", None, 200).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed:#}");
    let mine = call(&harness, "alice", Method::GET, &channel_path(&id), None, 200).await;
    assert_eq!(mine["data"]["subscriberCount"], json!(1), "{mine:#}");
    call(
        &harness,
        "bob",
        Method::POST,
        &format!("{}/mute", channel_path(&id)),
        None,
        204,
    )
    .await;
    call(
        &harness,
        "bob",
        Method::POST,
        &format!("{}/unmute", channel_path(&id)),
        None,
        204,
    )
    .await;

    // A post reaches the follower, not Carol; it is in both histories.
    let post = post_then_barrier(&harness, &receiver, &id, "Titan 1.0 is out", ("carol", CAROL)).await;
    receiver
        .expect("message.received", "bob", |p| {
            p["chatId"] == id.as_str() && p["id"] == post.as_str()
        })
        .await;
    assert_eq!(received_in(&receiver, "bob", &id), ["Titan 1.0 is out"]);
    assert!(received_in(&receiver, "carol", &id).is_empty(), "Carol does not follow");
    let seen: Vec<String> = harness.history("bob", &id).await.into_iter().map(|m| m.id).collect();
    assert_eq!(seen, std::slice::from_ref(&post));
    let sent: Vec<String> = harness.history("alice", &id).await.into_iter().map(|m| m.id).collect();
    assert_eq!(sent, [post]);

    // The owner renames it: the follower hears of it.
    let body = json!({"name": "Titan releases", "description": "Every release"});
    let renamed = call(&harness, "alice", Method::PATCH, &channel_path(&id), Some(body), 200).await;
    assert_eq!(renamed["data"]["name"], json!("Titan releases"), "{renamed:#}");
    let update = receiver
        .expect("newsletter.update", "bob", |p| p["name"] == "Titan releases")
        .await;
    assert_eq!(
        (&update["id"], &update["from"], &update["description"]),
        (&json!(id), &json!({"id": id}), &json!("Every release")),
        "{update:#}"
    );

    // Only the owner posts, renames and deletes.
    let body = json!({"chatId": id, "type": "text", "text": "from bob"});
    let refused = call(&harness, "bob", Method::POST, "/messages/send", Some(body), 403).await;
    assert!(refused["error"].as_str().unwrap().contains("owner"), "{refused}");
    let body = json!({"name": "Bob's now"});
    call(&harness, "bob", Method::PATCH, &channel_path(&id), Some(body), 403).await;
    call(&harness, "bob", Method::DELETE, &channel_path(&id), None, 403).await;

    // Unfollowed, Bob gets no more posts.
    call(
        &harness,
        "bob",
        Method::POST,
        &format!("{}/unfollow", channel_path(&id)),
        None,
        204,
    )
    .await;
    post_then_barrier(&harness, &receiver, &id, "Titan 1.1 is out", ("bob", BOB)).await;
    assert_eq!(received_in(&receiver, "bob", &id), ["Titan 1.0 is out"]);
    let listed = call(&harness, "bob", Method::GET, "/channels", None, 200).await;
    assert_eq!(listed["data"], json!([]), "{listed:#}");

    // Bad input: 400s; what does not exist: 404.
    for (method, path, body, says) in [
        (Method::POST, "/channels".to_owned(), Some(json!({"name": " "})), "name"),
        (
            Method::POST,
            "/channels".to_owned(),
            Some(json!({"name": "x", "picture": {"base64": "AAAA"}})),
            "picture",
        ),
        (Method::GET, "/channels/123@g.us".replace('@', "%40"), None, "channel"),
        (
            Method::GET,
            "/channels/invite/not%20a%20code".to_owned(),
            None,
            "invite code",
        ),
        (
            Method::POST,
            "/messages/send".to_owned(),
            Some(json!({"chatId": id, "type": "image", "base64": "AAAA"})),
            "channel post",
        ),
    ] {
        let answer = call(&harness, "alice", method.clone(), &path, body, 400).await;
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{method} {path}: {answer}"
        );
    }
    call(&harness, "alice", Method::GET, "/channels/invite/NoSuchCode", None, 404).await;

    // The owner deletes it.
    call(&harness, "alice", Method::DELETE, &channel_path(&id), None, 204).await;
    call(&harness, "alice", Method::GET, &channel_path(&id), None, 404).await;
    let listed = call(&harness, "alice", Method::GET, "/channels", None, 200).await;
    assert_eq!(listed["data"], json!([]), "{listed:#}");
}
