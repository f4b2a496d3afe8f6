//! WhatsApp Business labels from both sides of the account. Through the API Alice creates a
//! label, puts it on her chat with Bob, renames it, takes it off and deletes it: each shows in
//! her labels at once, in her phone's app state, and as `labels.update`. Her phone creates a
//! label, labels the chat and deletes the label: each reaches her session's list and events. A
//! new label takes the next free id after the phone's. Bad names, colours, ids and chats get
//! clear 4xx answers, unknown labels 404.

#![allow(clippy::unwrap_used, missing_docs)]

use reqwest::Method;
use serde_json::{Value, json};
use titan_e2e::harness::{Harness, STEP, jid};
use wa_emulator::PhoneChange;

titan_e2e::on_both_databases!(labels_follow_the_api_and_the_phone);

const ALICE: &str = "15550012001";
const BOB: &str = "15550012002";

/// `method path` on Alice's session with `body`, asserting `expected`; the answer's `data`.
async fn call(harness: &Harness, method: Method, path: &str, body: Option<Value>, expected: u16) -> Value {
    let path = format!("/api/sessions/alice{path}");
    let (status, answer) = harness.call(method.clone(), &path, body).await;
    assert_eq!(status, expected, "{method} {path}: {answer}");
    answer["data"].clone()
}

/// Waits until Alice's labels pass `check`, and answers them.
async fn until_labels(harness: &Harness, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let labels = call(harness, Method::GET, "/labels", None, 200).await;
        let labels = labels.as_array().unwrap().clone();
        if check(&labels) {
            return labels;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {labels:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The value of Alice's phone's app-state entry `index`, if it has one.
fn on_phone(harness: &Harness, index: &[&str]) -> Option<Value> {
    let entries = harness.emulator.app_state(ALICE).unwrap();
    entries.into_iter().find(|e| e.index == index).map(|e| e.value)
}

async fn labels_follow_the_api_and_the_phone(harness: Harness) {
    let receiver = harness.receiver().await;
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_qr("bob", BOB).await;
    let bob = jid(BOB);
    assert_eq!(call(&harness, Method::GET, "/labels", None, 200).await, json!([]));

    // Through the API.
    let created = call(
        &harness,
        Method::POST,
        "/labels",
        Some(json!({"name": "New customer", "color": 1})),
        201,
    )
    .await;
    assert_eq!(
        created,
        json!({"id": "1", "name": "New customer", "color": 1, "chatIds": []})
    );
    assert_eq!(
        on_phone(&harness, &["label_edit", "1"]).unwrap()["name"],
        json!("New customer")
    );
    receiver
        .expect("labels.update", "alice", |p| {
            p["labelId"] == "1" && p["name"] == "New customer"
        })
        .await;

    let labeled = call(
        &harness,
        Method::POST,
        "/labels/1/chats",
        Some(json!({"chatIds": [bob]})),
        200,
    )
    .await;
    assert_eq!(labeled["chatIds"], json!([bob]));
    assert_eq!(
        on_phone(&harness, &["label_jid", "1", &bob]).unwrap()["labeled"],
        json!(true)
    );
    receiver
        .expect("labels.update", "alice", |p| {
            p["labelId"] == "1" && p["chatId"] == bob && p["labeled"] == true
        })
        .await;

    let renamed = call(&harness, Method::PUT, "/labels/1", Some(json!({"name": "Paid"})), 200).await;
    assert_eq!((&renamed["name"], &renamed["color"]), (&json!("Paid"), &json!(1)));
    assert_eq!(
        call(&harness, Method::GET, "/labels", None, 200).await,
        json!([{"id": "1", "name": "Paid", "color": 1, "chatIds": [bob]}])
    );

    // From the phone.
    let phone_does = |change: PhoneChange| harness.emulator.phone_changes(ALICE, change).unwrap();
    phone_does(PhoneChange::Label {
        id: "7".into(),
        name: "VIP".into(),
        color: 3,
        deleted: false,
    });
    receiver
        .expect("labels.update", "alice", |p| {
            p["labelId"] == "7" && p["name"] == "VIP" && p["color"] == 3
        })
        .await;
    until_labels(&harness, "the phone's label", |l| l.iter().any(|l| l["id"] == "7")).await;
    phone_does(PhoneChange::LabelChat {
        id: "7".into(),
        chat: bob.clone(),
        labeled: true,
    });
    receiver
        .expect("labels.update", "alice", |p| {
            p["labelId"] == "7" && p["labeled"] == true
        })
        .await;
    until_labels(&harness, "the phone labels the chat", |l| {
        l.iter().any(|l| l["id"] == "7" && l["chatIds"] == json!([bob]))
    })
    .await;

    // A new label takes the next free id.
    let next = call(&harness, Method::POST, "/labels", Some(json!({"name": "Later"})), 201).await;
    assert_eq!((&next["id"], &next["color"]), (&json!("8"), &json!(0)));

    // Off the chat, then gone; the phone deletes its own.
    let unlabeled = call(
        &harness,
        Method::DELETE,
        "/labels/1/chats",
        Some(json!({"chatIds": [bob]})),
        200,
    )
    .await;
    assert_eq!(unlabeled["chatIds"], json!([]));
    assert_eq!(
        on_phone(&harness, &["label_jid", "1", &bob]).unwrap()["labeled"],
        json!(false)
    );
    call(&harness, Method::DELETE, "/labels/1", None, 204).await;
    assert_eq!(
        on_phone(&harness, &["label_edit", "1"]).unwrap()["deleted"],
        json!(true)
    );
    receiver
        .expect("labels.update", "alice", |p| {
            p["labelId"] == "1" && p["deleted"] == true
        })
        .await;
    phone_does(PhoneChange::Label {
        id: "7".into(),
        name: "VIP".into(),
        color: 3,
        deleted: true,
    });
    let left = until_labels(&harness, "the phone deletes its label", |l| l.len() == 1).await;
    assert_eq!(left[0]["id"], json!("8"), "{left:#?}");

    // Bad input changes nothing.
    for (method, path, body, expected) in [
        (Method::POST, "/labels", json!({"name": ""}), 400),
        (Method::POST, "/labels", json!({"name": "x", "color": 20}), 400),
        (Method::POST, "/labels", json!({"name": "x", "colour": 2}), 400),
        (Method::PUT, "/labels/abc", json!({"name": "x"}), 400),
        (Method::PUT, "/labels/999", json!({"name": "x"}), 404),
        (Method::POST, "/labels/8/chats", json!({"chatIds": ["nope"]}), 400),
        (Method::POST, "/labels/8/chats", json!({"chatIds": []}), 400),
        (Method::DELETE, "/labels/999", Value::Null, 404),
    ] {
        let body = (!body.is_null()).then_some(body);
        let (status, answer) = harness
            .call(method.clone(), &format!("/api/sessions/alice{path}"), body)
            .await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    assert_eq!(
        call(&harness, Method::GET, "/labels", None, 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
