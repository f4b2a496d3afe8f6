//! Status posts (stories) through the unified send. Alice's address book holds Bob, not Carol:
//! her text status (with its background and font) reaches Bob and not Carol; a picture posted to
//! `recipients` [Carol] reaches Carol and not Bob; a video to Bob's LID reaches him; deleting the text status reaches Bob as
//! `message.revoked`. A status is not a chat. Posting needs `status:write` besides
//! `messages:write`; what a status cannot be gets a clear 400, and a session whose address book
//! is empty a 409 unless it names `recipients`.

#![allow(clippy::unwrap_used, missing_docs)]

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use titan_e2e::harness::{Harness, jid};
use titan_e2e::receiver::Receiver;
use wa_emulator::PhoneChange;

titan_e2e::on_both_databases!(status_posts_reach_their_audience_only);

const ALICE: &str = "15550014001";
const BOB: &str = "15550014002";
const CAROL: &str = "15550014003";
const NOBODY: &str = "15550014999";
const STATUS: &str = "status@broadcast";

/// `POST /api/sessions/{session}/messages/send` with `body`, asserting `expected`; the answer.
async fn send(harness: &Harness, session: &str, body: Value, expected: u16) -> Value {
    let path = format!("/api/sessions/{session}/messages/send");
    let (status, answer) = harness.call(Method::POST, &path, Some(body.clone())).await;
    assert_eq!(status, expected, "{body}: {answer}");
    answer
}

/// Alice writes `text` to `to` and waits until it arrives: everything Alice posted before has
/// reached `to` by then (the emulator delivers to each device in order).
async fn barrier(harness: &Harness, receiver: &Receiver, to: (&str, &str), text: &str) {
    let body = json!({"chatId": jid(to.1), "type": "text", "text": text});
    send(harness, "alice", body, 201).await;
    receiver.expect("message.received", to.0, |p| p["body"] == text).await;
}

/// The `message.received` events of `session` in the status chat.
fn statuses_of(receiver: &Receiver, session: &str) -> Vec<Value> {
    receiver
        .delivered()
        .into_iter()
        .filter(|e| e["event"] == "message.received" && e["session"] == session && e["payload"]["chatId"] == STATUS)
        .map(|e| e["payload"].clone())
        .collect()
}

async fn status_posts_reach_their_audience_only(harness: Harness) {
    let receiver = harness.receiver().await;
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_qr("bob", BOB).await;
    harness.link_by_qr("carol", CAROL).await;
    let (bob, carol) = (jid(BOB), jid(CAROL));

    // An empty address book: nobody to show a status to, unless the post names them.
    let text = json!({"chatId": STATUS, "type": "text", "text": "Hello from my status"});
    let refused = send(&harness, "alice", text.clone(), 409).await;
    assert!(refused["error"].as_str().unwrap().contains("recipients"), "{refused}");

    // Alice's phone saves Bob in her address book.
    harness
        .emulator
        .phone_changes(
            ALICE,
            PhoneChange::Contact {
                jid: bob.clone(),
                full_name: Some("Bob Builder".into()),
                first_name: Some("Bob".into()),
            },
        )
        .unwrap();
    receiver.expect("contact.update", "alice", |p| p["id"] == bob).await;

    // A text status, styled, to her address book: Bob sees it, Carol does not.
    let styled = json!({"chatId": STATUS, "type": "text", "text": "Hello from my status",
        "backgroundColor": "#AA3366", "font": "fb_script"});
    let posted = send(&harness, "alice", styled, 201).await["data"].clone();
    assert_eq!(
        (&posted["chatId"], &posted["type"], &posted["status"], &posted["text"]),
        (
            &json!(STATUS),
            &json!("text"),
            &json!("sent"),
            &json!("Hello from my status")
        ),
        "{posted:#}"
    );
    let text_id = posted["id"].as_str().unwrap().to_owned();
    let seen = receiver
        .expect("message.received", "bob", |p| p["id"] == text_id.as_str())
        .await;
    assert_eq!(
        (&seen["chatId"], &seen["body"], &seen["fromMe"]),
        (&json!(STATUS), &json!("Hello from my status"), &json!(false)),
        "{seen:#}"
    );
    assert_eq!(seen["sender"]["phoneNumber"], json!(format!("+{ALICE}")), "{seen:#}");
    barrier(&harness, &receiver, ("carol", CAROL), "barrier one").await;
    assert!(
        statuses_of(&receiver, "carol").is_empty(),
        "Carol is not in Alice's address book"
    );

    // A picture to the audience the post names: Carol sees it, Bob does not.
    let photo = base64::engine::general_purpose::STANDARD.encode(include_bytes!("../../fixtures/media/photo.jpg"));
    let picture = json!({"chatId": STATUS, "type": "image", "base64": photo, "caption": "Sunset",
        "recipients": [carol]});
    let posted = send(&harness, "alice", picture, 201).await["data"].clone();
    let image_id = posted["id"].as_str().unwrap().to_owned();
    let seen = receiver
        .expect("message.received", "carol", |p| p["id"] == image_id.as_str())
        .await;
    assert_eq!(
        (&seen["chatId"], &seen["type"], &seen["caption"]),
        (&json!(STATUS), &json!("image"), &json!("Sunset")),
        "{seen:#}"
    );
    barrier(&harness, &receiver, ("bob", BOB), "barrier two").await;
    let bobs: Vec<Value> = statuses_of(&receiver, "bob");
    assert_eq!(bobs.len(), 1, "Bob saw only the text status: {bobs:#?}");

    // A video, to Bob by his LID.
    let clip = base64::engine::general_purpose::STANDARD.encode(include_bytes!("../../fixtures/media/clip.mp4"));
    let (_, lid) = harness
        .call(Method::GET, &format!("/api/sessions/alice/lids/pn/{BOB}"), None)
        .await;
    let bob_lid = lid["data"]["lid"].as_str().unwrap().to_owned();
    let video = json!({"chatId": STATUS, "type": "video", "base64": clip, "caption": "Behind the scenes",
        "recipients": [bob_lid]});
    let video_id = send(&harness, "alice", video, 201).await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let seen = receiver
        .expect("message.received", "bob", |p| p["id"] == video_id.as_str())
        .await;
    assert_eq!(
        (&seen["chatId"], &seen["type"], &seen["caption"]),
        (&json!(STATUS), &json!("video"), &json!("Behind the scenes")),
        "{seen:#}"
    );

    // A status is not a chat: neither side lists one.
    for session in ["alice", "bob"] {
        let (_, chats) = harness
            .call(Method::GET, &format!("/api/sessions/{session}/chats"), None)
            .await;
        assert!(
            chats["data"].as_array().unwrap().iter().all(|c| c["id"] != STATUS),
            "{session}: {chats:#}"
        );
    }

    // Deleting the text status reaches its audience.
    let (status, answer) = harness
        .call(
            Method::POST,
            "/api/sessions/alice/messages/delete",
            Some(json!({"chatId": STATUS, "messageId": text_id, "forEveryone": true})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    receiver
        .expect("message.revoked", "bob", |p| p["revokedId"] == text_id.as_str())
        .await;
    let (status, answer) = harness
        .call(
            Method::POST,
            "/api/sessions/bob/messages/delete",
            Some(json!({"chatId": STATUS, "messageId": image_id, "forEveryone": true})),
        )
        .await;
    assert_eq!(status, 404, "Bob never had Alice's picture: {answer}");

    // Posting needs status:write besides messages:write.
    let (status, key) = harness
        .call(
            Method::POST,
            "/api/account/keys",
            Some(json!({"label": "messages only", "scopes": ["messages:write", "sessions:read"]})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let (status, answer) = {
        let response = reqwest::Client::new()
            .post(format!("{}/api/sessions/alice/messages/send", harness.base))
            .bearer_auth(key["data"]["key"].as_str().unwrap())
            .json(&json!({"chatId": STATUS, "type": "text", "text": "not allowed", "recipients": [bob]}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("status:write"), "{answer}");

    // What a status cannot be, and status fields on a chat: 400s that change nothing.
    for (body, says) in [
        (
            json!({"chatId": STATUS, "type": "poll", "name": "Q?", "options": ["a", "b"]}),
            "`text`, an `image` or a `video`",
        ),
        (
            json!({"chatId": STATUS, "type": "image", "base64": "AAAA", "font": "system"}),
            "for text status posts",
        ),
        (
            json!({"chatId": bob, "type": "text", "text": "hi", "recipients": [carol]}),
            "for status posts",
        ),
        (
            json!({"chatId": STATUS, "type": "text", "text": "hi", "backgroundColor": "#GGHHII"}),
            "#RRGGBB",
        ),
        (
            json!({"chatId": STATUS, "type": "text", "text": "hi", "font": "comic_sans"}),
            "font",
        ),
        (
            json!({"chatId": STATUS, "type": "text", "text": "hi", "recipients": [jid(NOBODY)]}),
            "no WhatsApp account",
        ),
        (
            json!({"chatId": "other@broadcast", "type": "text", "text": "hi"}),
            "status@broadcast",
        ),
    ] {
        let answer = send(&harness, "alice", body.clone(), 400).await;
        assert!(answer["error"].as_str().unwrap().contains(says), "{body}: {answer}");
    }

    // The status posts are a history of their own: Alice's two, and the one Bob saw (deleted).
    let posts: Vec<(String, String)> = harness
        .history("alice", STATUS)
        .await
        .into_iter()
        .map(|m| (m.id, m.type_))
        .collect();
    assert_eq!(
        posts,
        [
            (video_id.clone(), "video".to_owned()),
            (image_id, "image".to_owned()),
            (text_id.clone(), "revoke".to_owned())
        ],
        "nothing the 400s asked for was stored"
    );
    let seen: Vec<String> = harness.history("bob", STATUS).await.into_iter().map(|m| m.id).collect();
    assert_eq!(seen, [video_id, text_id]);
}
