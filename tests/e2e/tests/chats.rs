//! Chats, stars and contacts from both sides of the account. Bob and Carol write to Alice: her
//! chats list newest first with their last message, unread count and name, and page; her
//! contacts list them. Through the API Alice archives, pins, mutes, marks unread, reads (Bob sees
//! his messages read), stars and clears: each shows in her chat at once, in her phone's app
//! state, and as its event. Then her phone unarchives, mutes, pins, reads, stars, renames Bob in
//! the address book, clears and deletes the chat: each reaches her session as state and as the
//! documented event. Bad chat ids, unknown chats and messages, and bad mute durations get clear
//! 4xx answers; a stopped session's chats are still listed but cannot be changed.

#![allow(clippy::unwrap_used, missing_docs)]

use reqwest::Method;
use serde_json::{Value, json};
use titan_e2e::harness::{Harness, STEP, jid};
use wa_emulator::{AppStateEntry, PhoneChange};

titan_e2e::on_both_databases!(chats_follow_the_api_and_the_phone);

const ALICE: &str = "15550011001";
const BOB: &str = "15550011002";
const CAROL: &str = "15550011003";

/// Sends `text` from `session` to `to` and answers its id.
async fn send(harness: &Harness, session: &str, to: &str, text: &str) -> String {
    let (status, sent) = harness
        .call(
            Method::POST,
            &format!("/api/sessions/{session}/messages/send"),
            Some(json!({"chatId": jid(to), "type": "text", "text": text})),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    sent["data"]["id"].as_str().unwrap().to_owned()
}

/// `GET path` as JSON, asserting 200.
async fn get(harness: &Harness, path: &str) -> Value {
    let (status, answer) = harness.call(Method::GET, path, None).await;
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

/// Alice's chat with Bob now.
async fn bob_chat(harness: &Harness) -> Value {
    get(harness, &format!("/api/sessions/alice/chats/{}", jid(BOB))).await["data"].clone()
}

/// `POST …/chats/{bob}/{action}` on Alice's session, asserting 204.
async fn act(harness: &Harness, action: &str, body: Option<Value>) {
    let path = format!("/api/sessions/alice/chats/{}/{action}", jid(BOB));
    let (status, answer) = harness.call(Method::POST, &path, body).await;
    assert_eq!(status, 204, "{action}: {answer}");
}

/// Waits until `check` holds for Alice's chat with Bob.
async fn until_chat(harness: &Harness, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let chat = bob_chat(harness).await;
        if check(&chat) {
            return chat;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {chat:#}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The value of the live entry `index` of Alice's phone's app state, if any.
fn phone_entry(entries: &[AppStateEntry], index: &[&str]) -> Option<Value> {
    entries.iter().find(|e| e.index == index).map(|e| e.value.clone())
}

/// The texts of `session`'s history of the chat with `with`, newest first, and whether each is
/// starred.
async fn texts(harness: &Harness, session: &str, with: &str) -> Vec<(String, bool)> {
    let path = format!("/api/sessions/{session}/chats/{}/messages", jid(with));
    get(harness, &path).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["text"].as_str().unwrap_or_default().to_owned(),
                m["starred"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn chats_follow_the_api_and_the_phone(harness: Harness) {
    let receiver = harness.receiver().await;
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_qr("bob", BOB).await;
    harness.link_by_qr("carol", CAROL).await;
    let (status, _) = harness
        .call(
            Method::PUT,
            "/api/sessions/bob/profile/name",
            Some(json!({"value": "Bob B"})),
        )
        .await;
    assert_eq!(status, 204);
    let bob = jid(BOB);

    // Alice writes first; Bob answers twice, then Carol writes.
    send(&harness, "alice", BOB, "Hi Bob").await;
    let one = send(&harness, "bob", ALICE, "one").await;
    let two = send(&harness, "bob", ALICE, "two").await;
    until_chat(&harness, "Bob's messages reach Alice", |c| c["unreadCount"] == 2).await;
    send(&harness, "carol", ALICE, "Carol here").await;
    receiver
        .expect("message.received", "alice", |p| p["body"] == "Carol here")
        .await;

    // Newest activity first, with the last message; then page by page.
    let chats = get(&harness, "/api/sessions/alice/chats").await;
    let ids: Vec<&str> = chats["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [jid(CAROL), bob.clone()], "{chats:#}");
    let chat = &chats["data"][1];
    assert_eq!(
        (
            &chat["name"],
            &chat["isGroup"],
            &chat["unreadCount"],
            &chat["lastMessage"]["text"]
        ),
        (&json!("Bob B"), &json!(false), &json!(2), &json!("two")),
        "{chat:#}"
    );
    assert_eq!(
        (&chat["archived"], &chat["pinned"], &chat["muted"], &chat["mutedUntil"]),
        (&json!(false), &json!(false), &json!(false), &Value::Null)
    );
    let first = get(&harness, "/api/sessions/alice/chats?limit=1").await;
    assert_eq!(first["data"][0]["id"], json!(jid(CAROL)), "{first:#}");
    let cursor = first["cursor"].as_str().unwrap();
    let second = get(
        &harness,
        &format!("/api/sessions/alice/chats?limit=1&cursor={}", urlencode(cursor)),
    )
    .await;
    assert_eq!(second["data"][0]["id"], json!(bob), "{second:#}");
    assert!(second.get("cursor").is_none(), "the last page: {second:#}");

    // Alice's contacts: whoever wrote to her, by phone number, with their names.
    let contacts = get(&harness, "/api/sessions/alice/contacts").await;
    let listed = contacts["data"].as_array().unwrap();
    let bob_contact = listed
        .iter()
        .find(|c| c["phoneNumber"] == format!("+{BOB}"))
        .unwrap_or_else(|| panic!("Bob is a contact: {contacts:#}"));
    assert_eq!(bob_contact["pushName"], json!("Bob B"), "{contacts:#}");
    assert!(
        bob_contact["lid"].as_str().is_some_and(|lid| lid.ends_with("@lid")),
        "his LID, from the session's mapping: {contacts:#}"
    );
    assert!(
        listed.iter().any(|c| c["phoneNumber"] == format!("+{CAROL}")),
        "{contacts:#}"
    );

    // Through the API: each change shows at once, on the phone, and as its event.
    act(&harness, "archive", None).await;
    assert_eq!(bob_chat(&harness).await["archived"], json!(true));
    let phone = harness.emulator.app_state(ALICE).unwrap();
    assert_eq!(
        phone_entry(&phone, &["archive", &bob]).unwrap()["archived"],
        json!(true),
        "{phone:#?}"
    );
    receiver
        .expect("chat.archive", "alice", |p| p["id"] == bob && p["archived"] == true)
        .await;
    let archived = get(&harness, "/api/sessions/alice/chats?archived=true").await;
    assert_eq!(archived["data"].as_array().unwrap().len(), 1, "{archived:#}");
    let active = get(&harness, "/api/sessions/alice/chats?archived=false").await;
    assert_eq!(active["data"][0]["id"], json!(jid(CAROL)), "{active:#}");

    act(&harness, "unarchive", None).await;
    assert_eq!(bob_chat(&harness).await["archived"], json!(false));
    receiver
        .expect("chat.archive", "alice", |p| p["id"] == bob && p["archived"] == false)
        .await;
    act(&harness, "archive", None).await;

    act(&harness, "unpin", None).await;
    let phone = harness.emulator.app_state(ALICE).unwrap();
    assert_eq!(
        phone_entry(&phone, &["pin_v1", &bob]).unwrap()["pinned"],
        json!(false),
        "{phone:#?}"
    );
    act(&harness, "pin", None).await;
    assert_eq!(bob_chat(&harness).await["pinned"], json!(true));
    let phone = harness.emulator.app_state(ALICE).unwrap();
    assert_eq!(
        phone_entry(&phone, &["pin_v1", &bob]).unwrap()["pinned"],
        json!(true),
        "{phone:#?}"
    );

    let before = chrono::Utc::now().timestamp();
    act(&harness, "mute", Some(json!({"duration": 3600}))).await;
    let chat = bob_chat(&harness).await;
    let until = chat["mutedUntil"].as_i64().unwrap();
    assert!(
        chat["muted"] == true && (before + 3600..=before + 3700).contains(&until),
        "{chat:#}"
    );
    receiver
        .expect("chat.mute", "alice", |p| p["id"] == bob && p["mutedUntil"] == until)
        .await;
    act(&harness, "unmute", None).await;
    assert_eq!(bob_chat(&harness).await["muted"], json!(false));
    receiver
        .expect("chat.mute", "alice", |p| p["id"] == bob && p["muted"] == false)
        .await;

    act(&harness, "unread", None).await;
    assert_eq!(bob_chat(&harness).await["markedUnread"], json!(true));
    act(&harness, "read", None).await;
    let chat = bob_chat(&harness).await;
    assert_eq!(
        (&chat["unreadCount"], &chat["markedUnread"]),
        (&json!(0), &json!(false)),
        "{chat:#}"
    );
    receiver
        .expect("chat.read", "alice", |p| p["id"] == bob && p["read"] == true)
        .await;
    let read_by_alice =
        |p: &Value, id: &str| p["type"] == "read" && p["messageIds"].as_array().unwrap().contains(&json!(id));
    for id in [&one, &two] {
        receiver.expect("message.ack", "bob", |p| read_by_alice(p, id)).await;
    }

    let (status, starred) = harness
        .call(
            Method::POST,
            "/api/sessions/alice/messages/star",
            Some(json!({"chatId": bob, "messageId": one, "star": true})),
        )
        .await;
    assert_eq!(status, 204, "{starred}");
    assert_eq!(
        texts(&harness, "alice", BOB).await,
        [("two".into(), false), ("one".into(), true), ("Hi Bob".into(), false)]
    );
    let phone = harness.emulator.app_state(ALICE).unwrap();
    assert_eq!(
        phone_entry(&phone, &["star", &bob, &one, "0", "0"]).unwrap()["starred"],
        json!(true),
        "{phone:#?}"
    );
    receiver
        .expect("message.update", "alice", |p| p["id"] == one && p["starred"] == true)
        .await;

    // Alice's phone: each change reaches her session as state and as its event.
    let phone_does = |change: PhoneChange| harness.emulator.phone_changes(ALICE, change).unwrap();
    phone_does(PhoneChange::Archive {
        chat: bob.clone(),
        archived: false,
    });
    let unarchived = |all: &[Value]| {
        all.iter()
            .filter(|e| e["event"] == "chat.archive" && e["session"] == "alice" && e["payload"]["archived"] == false)
            .count()
    };
    receiver
        .wait_until("the phone's chat.archive", STEP, |all| unarchived(all) >= 2)
        .await;
    until_chat(&harness, "the phone unarchives", |c| c["archived"] == false).await;

    phone_does(PhoneChange::Mute {
        chat: bob.clone(),
        until_ms: Some(-1),
    });
    receiver
        .expect("chat.mute", "alice", |p| p["id"] == bob && p["mutedUntil"] == -1)
        .await;
    until_chat(&harness, "the phone mutes for ever", |c| {
        c["mutedUntil"] == -1 && c["muted"] == true
    })
    .await;

    phone_does(PhoneChange::Pin {
        chat: bob.clone(),
        pinned: false,
    });
    until_chat(&harness, "the phone unpins", |c| c["pinned"] == false).await;

    send(&harness, "bob", ALICE, "three").await;
    until_chat(&harness, "a new message is unread", |c| c["unreadCount"] == 1).await;
    phone_does(PhoneChange::MarkRead {
        chat: bob.clone(),
        read: true,
    });
    let read_events = |all: &[Value]| {
        all.iter()
            .filter(|e| e["event"] == "chat.read" && e["session"] == "alice" && e["payload"]["read"] == true)
            .count()
    };
    receiver
        .wait_until("a second chat.read", STEP, |all| read_events(all) >= 2)
        .await;
    until_chat(&harness, "the phone reads", |c| c["unreadCount"] == 0).await;

    phone_does(PhoneChange::Star {
        chat: bob.clone(),
        message_id: two.clone(),
        from_me: false,
        participant: None,
        starred: true,
    });
    receiver
        .expect("message.update", "alice", |p| p["id"] == two && p["starred"] == true)
        .await;

    phone_does(PhoneChange::Contact {
        jid: bob.clone(),
        full_name: Some("Bob Builder".into()),
        first_name: Some("Bob".into()),
    });
    receiver
        .expect("contact.update", "alice", |p| {
            p["id"] == bob && p["name"] == "Bob Builder"
        })
        .await;
    until_chat(&harness, "the address-book name", |c| c["name"] == "Bob Builder").await;
    let contacts = get(&harness, "/api/sessions/alice/contacts").await;
    assert!(
        contacts["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["phoneNumber"] == format!("+{BOB}") && c["name"] == "Bob Builder"),
        "{contacts:#}"
    );

    // Clearing keeps the starred messages; deleting removes the chat.
    phone_does(PhoneChange::Clear { chat: bob.clone() });
    receiver.expect("chat.clear", "alice", |p| p["id"] == bob).await;
    let deadline = tokio::time::Instant::now() + STEP;
    while texts(&harness, "alice", BOB).await.len() != 2 {
        assert!(tokio::time::Instant::now() < deadline, "the phone clears the chat");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        texts(&harness, "alice", BOB).await,
        [("two".into(), true), ("one".into(), true)]
    );
    phone_does(PhoneChange::Delete { chat: bob.clone() });
    receiver.expect("chat.delete", "alice", |p| p["id"] == bob).await;
    let path = format!("/api/sessions/alice/chats/{bob}");
    let deadline = tokio::time::Instant::now() + STEP;
    while harness.call(Method::GET, &path, None).await.0 != 404 {
        assert!(tokio::time::Instant::now() < deadline, "the phone deletes the chat");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(texts(&harness, "alice", BOB).await.is_empty());

    // Through the API: clear, then delete Carol's chat.
    let carol = jid(CAROL);
    let (status, _) = harness
        .call(Method::POST, &format!("/api/sessions/alice/chats/{carol}/clear"), None)
        .await;
    assert_eq!(status, 204);
    assert!(texts(&harness, "alice", CAROL).await.is_empty());
    receiver.expect("chat.clear", "alice", |p| p["id"] == carol).await;
    let (status, _) = harness
        .call(Method::DELETE, &format!("/api/sessions/alice/chats/{carol}"), None)
        .await;
    assert_eq!(status, 204);
    receiver.expect("chat.delete", "alice", |p| p["id"] == carol).await;
    let chats = get(&harness, "/api/sessions/alice/chats").await;
    assert_eq!(chats["data"], json!([]), "{chats:#}");
    let phone = harness.emulator.app_state(ALICE).unwrap();
    assert!(
        phone_entry(&phone, &["deleteChat", &carol, "0"]).is_some(),
        "{phone:#?}"
    );

    // Bad input changes nothing.
    for (method, path, body, expected) in [
        (Method::GET, "/api/sessions/alice/chats/not-a-jid".to_owned(), None, 400),
        (
            Method::GET,
            format!("/api/sessions/alice/chats/{}", jid("15550011999")),
            None,
            404,
        ),
        (
            Method::POST,
            "/api/sessions/alice/chats/nope/archive".to_owned(),
            None,
            400,
        ),
        (
            Method::POST,
            format!("/api/sessions/alice/chats/{carol}/mute"),
            Some(json!({"duration": 0})),
            400,
        ),
        (
            Method::POST,
            format!("/api/sessions/alice/chats/{carol}/mute"),
            Some(json!({"until": 5})),
            400,
        ),
        (
            Method::GET,
            "/api/sessions/alice/chats?cursor=nonsense".to_owned(),
            None,
            400,
        ),
        (
            Method::POST,
            "/api/sessions/alice/messages/star".to_owned(),
            Some(json!({"chatId": carol, "messageId": "3EB0000000000000", "star": true})),
            404,
        ),
    ] {
        let (status, answer) = harness.call(method.clone(), &path, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        assert!(answer["error"].is_string() && answer["docs"].is_string(), "{answer}");
    }

    // A stopped session's chats are listed, not changed.
    let (status, _) = harness.call(Method::POST, "/api/sessions/alice/stop", None).await;
    assert_eq!(status, 200);
    get(&harness, "/api/sessions/alice/chats").await;
    let (status, answer) = harness
        .call(
            Method::POST,
            &format!("/api/sessions/alice/chats/{carol}/archive"),
            None,
        )
        .await;
    assert_eq!(status, 409, "{answer}");
}

/// `text` with the characters a query string cannot carry as they are percent-encoded.
fn urlencode(text: &str) -> String {
    text.replace('%', "%25")
        .replace('@', "%40")
        .replace(':', "%3A")
        .replace('+', "%2B")
}
