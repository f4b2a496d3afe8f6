//! Event types produced for real: two sessions on whatsapp-rust, talking through the emulator,
//! react to, edit and delete messages, show typing and presence, and block each other; a
//! webhook receiver gets each documented event with its payload, and the histories follow.

#![allow(clippy::unwrap_used, missing_docs)]

use serde_json::Value;
use titan_client::types::{self, MessageType, PresenceState, SendMessage, TypingState};
use titan_e2e::harness::{Harness, jid, status_of};

titan_e2e::on_both_databases!(message_actions_presence_and_blocking_reach_the_receiver);

const ALICE: &str = "15550003001";
const BOB: &str = "15550003002";

async fn message_actions_presence_and_blocking_reach_the_receiver(harness: Harness) {
    let receiver = harness.receiver().await;
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_code("bob", BOB).await;
    let client = &harness.client;

    let sent = client
        .send_session_message()
        .session("alice")
        .body(
            SendMessage::builder()
                .chat_id(jid(BOB))
                .type_(MessageType::Text)
                .text("first draft".to_owned()),
        )
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    receiver
        .expect("message.received", "bob", |p| p["id"] == sent.id.as_str())
        .await;

    // Bob reacts: alice gets message.reaction naming her message, and the reaction as a message.
    let reaction = client
        .react_to_message()
        .session("bob")
        .body(
            types::React::builder()
                .chat_id(jid(ALICE))
                .message_id(sent.id.clone())
                .reaction("👍"),
        )
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!(reaction.reaction, "👍");
    let reacted = receiver
        .expect("message.reaction", "alice", |p| p["reactionTo"] == sent.id.as_str())
        .await;
    assert_eq!(reacted["reaction"], "👍");
    assert_eq!(reacted["type"], "reaction");
    assert_eq!(reacted["from"]["phoneNumber"], format!("+{BOB}"));
    assert_eq!(reacted["fromMe"], false);

    // Alice edits: bob gets message.edited with the new text, and his history shows it.
    let edited = client
        .edit_message()
        .session("alice")
        .body(
            types::EditMessage::builder()
                .chat_id(jid(BOB))
                .message_id(sent.id.clone())
                .text("final text"),
        )
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!(edited.text.as_deref(), Some("final text"));
    let edit = receiver
        .expect("message.edited", "bob", |p| p["id"] == sent.id.as_str())
        .await;
    assert_eq!(
        (edit["text"].as_str(), edit["edited"].as_bool()),
        (Some("final text"), Some(true))
    );
    assert_eq!(edit["type"], "edited");
    assert_eq!(edit["fromMe"], false);
    let own = receiver
        .expect("message.edited", "alice", |p| p["id"] == sent.id.as_str())
        .await;
    assert_eq!(own["fromMe"], true);
    let bobs = harness.history("bob", &jid(ALICE)).await;
    let stored = bobs.iter().find(|m| m.id == sent.id).unwrap();
    assert_eq!(stored.text.as_deref(), Some("final text"));

    // Only the session's own text messages can be edited (another one is a 409: the request is
    // well formed, the message cannot take it); a message not in the chat is a 404.
    let not_own = client
        .edit_message()
        .session("bob")
        .body(
            types::EditMessage::builder()
                .chat_id(jid(ALICE))
                .message_id(sent.id.clone())
                .text("not mine"),
        )
        .send()
        .await;
    assert_eq!(status_of(not_own), 409);
    let unknown = client
        .delete_message()
        .session("alice")
        .body(
            types::DeleteMessage::builder()
                .chat_id(jid(BOB))
                .message_id("NOT-A-MESSAGE")
                .for_everyone(true),
        )
        .send()
        .await;
    assert_eq!(status_of(unknown), 404);

    // Typing and recording: bob sees alice's chat state as presence.update.
    for state in [TypingState::Composing, TypingState::Recording, TypingState::Paused] {
        client
            .send_typing()
            .session("alice")
            .body(types::Typing::builder().chat_id(jid(BOB)).state(state))
            .send()
            .await
            .unwrap();
    }
    let typing = receiver
        .expect("presence.update", "bob", |p| {
            p["state"] == "composing" && p["media"].is_null()
        })
        .await;
    assert_eq!(typing["sender"]["phoneNumber"], format!("+{ALICE}"));
    receiver
        .expect("presence.update", "bob", |p| p["media"] == "audio")
        .await;
    receiver
        .expect("presence.update", "bob", |p| p["state"] == "paused")
        .await;

    // Presence: alice takes a new display name, then bob follows alice, who goes online then
    // offline.
    client
        .set_profile_name()
        .session("alice")
        .body(types::ProfileValue::builder().value("Alice"))
        .send()
        .await
        .unwrap();
    client
        .subscribe_presence()
        .session("bob")
        .chat_id(jid(ALICE))
        .send()
        .await
        .unwrap();
    for presence in [PresenceState::Available, PresenceState::Unavailable] {
        client
            .set_presence()
            .session("alice")
            .body(types::SetPresence::builder().presence(presence))
            .send()
            .await
            .unwrap();
    }
    let online = receiver
        .expect("presence.update", "bob", |p| p["state"] == "available")
        .await;
    assert_eq!(online["from"]["phoneNumber"], format!("+{ALICE}"));
    // WhatsApp names her by one form only; bob's LID mapping gives the other.
    assert!(
        online["from"]["lid"].as_str().is_some_and(|l| l.ends_with("@lid")),
        "{online}"
    );
    receiver
        .expect("presence.update", "bob", |p| p["unavailable"] == true)
        .await;
    // Bob reads back the last presence heard of for Alice's chat (her last presence.update: the
    // client may announce her once more on its own), by either of her JIDs; a chat never heard
    // of is a 404.
    let borrowed = &harness;
    let last = |path: String| async move {
        let (status, answer) = borrowed.call(reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 200, "{path}: {answer}");
        answer["data"].clone()
    };
    let about_alice = |all: &[Value]| -> Vec<Value> {
        all.iter()
            .filter(|e| {
                e["event"] == "presence.update"
                    && e["session"] == "bob"
                    && e["payload"]["from"]["phoneNumber"] == format!("+{ALICE}")
            })
            .map(|e| e["payload"].clone())
            .collect()
    };
    let stored = loop {
        let stored = last(format!("/api/sessions/bob/presence/{}", jid(ALICE))).await;
        let heard = about_alice(&receiver.delivered());
        let latest = heard.last().unwrap();
        let last_seen = heard.iter().rev().find_map(|p| p["lastSeen"].as_i64());
        if (&stored["presence"], stored["lastSeen"].as_i64()) == (&latest["state"], last_seen) {
            break stored;
        }
        let arrived = receiver.wait_until("another presence.update", std::time::Duration::from_secs(10), |all| {
            about_alice(all).len() > heard.len()
        });
        arrived.await;
    };
    assert!(stored["lastSeen"].is_i64(), "{stored}");
    let lid = online["from"]["lid"].as_str().unwrap();
    let by_lid = last(format!("/api/sessions/bob/presence/{lid}")).await;
    assert_eq!(by_lid["chatId"], jid(ALICE), "one entry, found by either JID: {by_lid}");
    let listed = last("/api/sessions/bob/presence".to_owned()).await;
    assert!(
        listed
            .as_array()
            .is_some_and(|all| all.iter().any(|p| p["chatId"] == jid(ALICE))),
        "{listed}"
    );
    let (status, _) = harness
        .call(
            reqwest::Method::GET,
            &format!("/api/sessions/bob/presence/{}", jid("15550000999")),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Alice deletes her message for everyone: bob gets message.revoked, alice message.delete,
    // and both histories keep it as a revoked message without text.
    let deleted = client
        .delete_message()
        .session("alice")
        .body(
            types::DeleteMessage::builder()
                .chat_id(jid(BOB))
                .message_id(sent.id.clone())
                .for_everyone(true),
        )
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!((deleted.type_.as_str(), deleted.text.as_deref()), ("revoke", None));
    let revoked = receiver
        .expect("message.revoked", "bob", |p| p["revokedId"] == sent.id.as_str())
        .await;
    assert_eq!(revoked["from"]["phoneNumber"], format!("+{ALICE}"));
    let mine = receiver
        .expect("message.delete", "alice", |p| p["id"] == sent.id.as_str())
        .await;
    assert_eq!(mine["forEveryone"], true);
    let bobs = harness.history("bob", &jid(ALICE)).await;
    let stored = bobs.iter().find(|m| m.id == sent.id).unwrap();
    assert_eq!((stored.type_.as_str(), stored.text.as_deref()), ("revoke", None));

    // Async commands: Prefer: respond-async answers 202 at once; the outcome (the sent message,
    // or the error a synchronous call would have got) arrives as command.result.
    let http = reqwest::Client::new();
    let send_async = |text: &str, chat: &str| {
        http.post(format!("{}/api/sessions/alice/messages/send", harness.base))
            .bearer_auth(harness.key())
            .header("prefer", "respond-async")
            .json(&serde_json::json!({"chatId": chat, "type": "text", "text": text}))
            .send()
    };
    let answer = send_async("sent in the background", &jid(BOB)).await.unwrap();
    assert_eq!(answer.status(), 202);
    let accepted: Value = answer.json().await.unwrap();
    let correlation = accepted["data"]["correlationId"].as_str().unwrap().to_owned();
    assert!(accepted["data"]["requestId"].is_string());
    let result = receiver
        .expect("command.result", "alice", |p| {
            p["correlationId"] == correlation.as_str()
        })
        .await;
    assert_eq!(
        (result["status"].as_u64(), result["error"].is_null()),
        (Some(201), true),
        "{result}"
    );
    assert_eq!(result["operation"], "sendSessionMessage");
    let background_id = result["result"]["id"].as_str().unwrap().to_owned();
    receiver
        .expect("message.received", "bob", |p| p["id"] == background_id.as_str())
        .await;
    // Bad input is still refused at once and starts nothing.
    let refused = send_async("", &jid(BOB)).await.unwrap();
    assert_eq!(refused.status(), 400);
    // A failure in the WhatsApp part (here: the session is not connected) arrives as the
    // result's error envelope.
    client
        .create_session()
        .body(types::CreateSession::builder().name("idle"))
        .send()
        .await
        .unwrap();
    let stopped = http
        .post(format!("{}/api/sessions/idle/messages/typing", harness.base))
        .bearer_auth(harness.key())
        .header("prefer", "respond-async")
        .json(&serde_json::json!({"chatId": jid(BOB), "state": "composing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 202);
    let correlation = stopped.json::<Value>().await.unwrap()["data"]["correlationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = receiver
        .expect("command.result", "idle", |p| p["correlationId"] == correlation.as_str())
        .await;
    assert_eq!(
        (failed["status"].as_u64(), failed["result"].is_null()),
        (Some(409), true),
        "{failed}"
    );
    assert!(
        failed["error"]["error"].as_str().unwrap().contains("not connected"),
        "{failed}"
    );

    // Blocking: blocklist.update is written, and the blocklist follows.
    client
        .block_contact()
        .session("alice")
        .contact_id(jid(BOB))
        .send()
        .await
        .unwrap();
    let blocked = receiver
        .expect("blocklist.update", "alice", |p| p["action"] == "block")
        .await;
    assert_eq!(blocked["from"]["phoneNumber"], format!("+{BOB}"));
    let list = client
        .get_blocklist()
        .session("alice")
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    let blocked_bob = |c: &types::BlockedContact| c.phone_number.as_deref() == Some(&format!("+{BOB}"));
    assert!(list.iter().any(blocked_bob), "{list:?}");
    client
        .unblock_contact()
        .session("alice")
        .contact_id(jid(BOB))
        .send()
        .await
        .unwrap();
    receiver
        .expect("blocklist.update", "alice", |p| p["action"] == "unblock")
        .await;
    let list = client
        .get_blocklist()
        .session("alice")
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert!(!list.iter().any(blocked_bob), "{list:?}");
    harness.stop().await;
}
