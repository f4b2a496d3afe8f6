//! Groups from every member's side: Alice's Titan session creates a group with Bob and Carol (and
//! a number that is not on WhatsApp), each member lists and reads it with the right admin flags,
//! Carol leaves and the others see her go. Bad group ids and unknown groups get clear 4xx answers.

#![allow(clippy::unwrap_used, missing_docs)]

use serde_json::{Value, json};
use titan_e2e::harness::{Harness, jid};

titan_e2e::on_both_databases!(a_group_is_created_read_by_each_member_and_left);

const ALICE: &str = "15550008001";
const BOB: &str = "15550008002";
const CAROL: &str = "15550008003";
const NOBODY: &str = "15550008999";

/// `method` `path` with the harness's key and `body`; the status and the JSON answer (`null` when
/// there is none).
async fn call(harness: &Harness, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", harness.base))
        .bearer_auth(harness.key());
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The `(phoneNumber, isAdmin, isSuperAdmin)` of each participant, sorted.
fn members(group: &Value) -> Vec<(String, bool, bool)> {
    let mut members: Vec<_> = group["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["phoneNumber"].as_str().unwrap().to_owned(),
                p["isAdmin"].as_bool().unwrap(),
                p["isSuperAdmin"].as_bool().unwrap(),
            )
        })
        .collect();
    members.sort();
    members
}

async fn a_group_is_created_read_by_each_member_and_left(harness: Harness) {
    let receiver = harness.receiver().await;
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_qr("bob", BOB).await;
    harness.link_by_qr("carol", CAROL).await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;

    let (status, created) = call(
        &harness,
        post.clone(),
        "/api/sessions/alice/groups",
        Some(json!({"name": "Weekend", "participants": [jid(BOB), jid(CAROL), jid(NOBODY)]})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let group = &created["data"];
    let id = group["id"].as_str().unwrap().to_owned();
    assert!(id.ends_with("@g.us"), "{id}");
    assert_eq!(group["name"], "Weekend");
    assert_eq!(group["ownerPhoneNumber"], format!("+{ALICE}"));
    assert!(group["createdAt"].is_string(), "{group}");
    let everyone = vec![
        (format!("+{ALICE}"), true, true),
        (format!("+{BOB}"), false, false),
        (format!("+{CAROL}"), false, false),
    ];
    assert_eq!(
        members(group),
        everyone,
        "WhatsApp left out the number it does not know"
    );

    // Each member lists it and reads the same group.
    for session in ["alice", "bob", "carol"] {
        let (status, page) = call(&harness, get.clone(), &format!("/api/sessions/{session}/groups"), None).await;
        assert_eq!(status, 200, "{page}");
        let listed: Vec<&str> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, [id.as_str()], "{session}'s groups");
        let (status, read) = call(
            &harness,
            get.clone(),
            &format!("/api/sessions/{session}/groups/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{read}");
        assert_eq!(
            (&read["data"]["name"], members(&read["data"])),
            (&json!("Weekend"), everyone.clone())
        );
    }
    receiver
        .expect("group.update", "bob", |p| {
            p["id"] == id.as_str() && p["action"] == "created"
        })
        .await;

    // Carol leaves: she no longer has it, and the others see her go.
    let leave = format!("/api/sessions/carol/groups/{id}/leave");
    let (status, _) = call(&harness, post.clone(), &leave, None).await;
    assert_eq!(status, 204);
    receiver
        .expect("group.participant", "alice", |p| {
            p["id"] == id.as_str() && p["left"].as_array().is_some_and(|left| !left.is_empty())
        })
        .await;
    let (status, _) = call(&harness, get.clone(), &format!("/api/sessions/carol/groups/{id}"), None).await;
    assert!(matches!(status, 403 | 404), "a group Carol left: {status}");
    let (_, page) = call(&harness, get.clone(), "/api/sessions/carol/groups", None).await;
    assert_eq!(page["data"], json!([]));
    let (_, read) = call(&harness, get.clone(), &format!("/api/sessions/bob/groups/{id}"), None).await;
    assert_eq!(members(&read["data"]), everyone[..2]);
    let (status, again) = call(&harness, post.clone(), &leave, None).await;
    assert_eq!(status, 404, "leaving twice: {again}");

    // Bad input is refused before WhatsApp is asked, and unknown groups are 404.
    let (status, bad) = call(&harness, get.clone(), "/api/sessions/alice/groups/not-a-group", None).await;
    assert_eq!(status, 400, "{bad}");
    assert!(bad["error"].as_str().unwrap().contains("invalid groupId"), "{bad}");
    let (status, _) = call(
        &harness,
        get.clone(),
        "/api/sessions/alice/groups/123456789-123@g.us",
        None,
    )
    .await;
    assert_eq!(status, 404);
    for body in [
        json!({"name": "", "participants": [jid(BOB)]}),
        json!({"name": "A name much longer than twenty-five", "participants": [jid(BOB)]}),
        json!({"name": "No one", "participants": []}),
        json!({"name": "Twice", "participants": [jid(BOB), jid(BOB)]}),
        json!({"name": "A group", "participants": ["120363025246125486@g.us"]}),
    ] {
        let (status, refused) = call(&harness, post.clone(), "/api/sessions/alice/groups", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {refused}");
    }
    let (_, page) = call(&harness, get, "/api/sessions/alice/groups", None).await;
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        1,
        "no group was made by a refused request"
    );
}
