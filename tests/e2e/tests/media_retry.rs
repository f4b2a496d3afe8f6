//! A file WhatsApp's CDN no longer has. Bob sends Alice a photo from his phone, and Bob's Titan
//! session (a companion of that phone) gets it as his own message. Once the emulator's CDN has
//! forgotten it, downloading it through Titan asks Bob's phone to upload it again (WhatsApp's
//! media retry), and the photo still comes back byte for byte. The history keeps the new CDN
//! path, so the next download goes straight to the CDN. A file Bob's phone never had answers
//! 410 once the CDN has forgotten it.

#![allow(clippy::unwrap_used, missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use titan_e2e::harness::{Harness, jid};
use wa_emulator::{MediaKind, PhoneSend};

titan_e2e::on_both_databases!(an_expired_file_is_uploaded_again_by_the_phone);

const ALICE: &str = "15550007001";
const BOB: &str = "15550007002";

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `POST …/media/{mediaId}/download` on `session`: the status and the body.
async fn download(harness: &Harness, session: &str, media_id: &str) -> (u16, Vec<u8>) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/api/sessions/{session}/media/{media_id}/download",
            harness.base
        ))
        .bearer_auth(harness.key())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

async fn an_expired_file_is_uploaded_again_by_the_phone(harness: Harness) {
    let receiver = harness.receiver().await;
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_code("bob", BOB).await;
    let photo = include_bytes!("../../fixtures/media/photo.jpg").as_slice();

    // Bob's phone sends Alice a photo; his Titan session has it as his own sent message.
    let sent = harness
        .emulator
        .phone_sends(
            BOB,
            &PhoneSend {
                chat: jid(ALICE),
                kind: MediaKind::Image,
                base64: STANDARD.encode(photo),
                mime_type: "image/jpeg".into(),
                file_name: None,
                caption: Some("From my phone".into()),
            },
        )
        .await
        .unwrap();
    let event = receiver.expect("message.sent", "bob", |p| p["id"] == sent.id).await;
    assert_eq!(
        (&event["fromMe"], &event["chatId"], &event["type"], &event["caption"]),
        (
            &json!(true),
            &json!(jid(ALICE)),
            &json!("image"),
            &json!("From my phone")
        )
    );
    let media_id = event["mediaId"].as_str().unwrap().to_owned();
    let (status, bytes) = download(&harness, "bob", &media_id).await;
    assert_eq!(
        (status, sha256(&bytes)),
        (200, sha256(photo)),
        "downloads from the CDN while it has it"
    );

    // The CDN forgets it; the phone uploads it again and the download still gives the photo.
    assert!(harness.emulator.expire_media(Some(&sent.direct_path)).unwrap() > 0);
    let (status, bytes) = download(&harness, "bob", &media_id).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(sha256(&bytes), sha256(photo), "the re-uploaded copy is the same photo");

    // The new path is kept in the history (the next download goes straight to it), and the
    // description is unchanged.
    let attachment: String =
        sqlx::query_scalar("SELECT attachment FROM messages WHERE session = 'bob' AND media_id = $1")
            .bind(&media_id)
            .fetch_one(&harness.db().pool)
            .await
            .unwrap();
    let attachment: Value = serde_json::from_str(&attachment).unwrap();
    let kept = attachment.pointer("/keys/directPath").and_then(Value::as_str).unwrap();
    assert_ne!(kept, sent.direct_path, "the phone's new upload is at a new path");
    let (_, described) = harness
        .call(
            reqwest::Method::GET,
            &format!("/api/sessions/bob/media/{media_id}"),
            None,
        )
        .await;
    assert_eq!(described["data"]["messageId"], sent.id.as_str());
    assert_eq!(described["data"]["mimeType"], "image/jpeg");
    let (status, bytes) = download(&harness, "bob", &media_id).await;
    assert_eq!((status, sha256(&bytes)), (200, sha256(photo)));

    // A photo Alice's Titan session sent: Bob's phone never had it, so once the CDN forgets it,
    // Bob's download is a 410 that says so.
    let body = json!({"chatId": jid(BOB), "type": "image", "base64": STANDARD.encode(photo)});
    let (status, sent) = harness
        .call(reqwest::Method::POST, "/api/sessions/alice/messages/send", Some(body))
        .await;
    assert_eq!(status, 201, "{sent}");
    let id = sent["data"]["id"].as_str().unwrap();
    let received = receiver.expect("message.received", "bob", |p| p["id"] == id).await;
    let theirs = received["mediaId"].as_str().unwrap();
    assert_eq!(download(&harness, "bob", theirs).await.0, 200);
    assert!(harness.emulator.expire_media(None).unwrap() > 0);
    let (status, body) = download(&harness, "bob", theirs).await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 410, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("the phone no longer has it either"),
        "{body}"
    );
}
