//! Groups from every member's side: Alice's Titan session creates a group with Bob and Carol (and
//! a number that is not on WhatsApp), each member lists and reads it with the right admin flags,
//! Carol leaves and the others see her go; Alice renames and describes it, adds, promotes and
//! (through Bob) removes members, answered one by one; Carol previews the invite and joins by
//! it, and a revoked code leads nowhere; settings are read back by Bob, and only the creator
//! deletes the group, after which no member has it. Bad group ids and unknown groups get clear
//! 4xx answers.

#![allow(clippy::unwrap_used, missing_docs)]

use base64::Engine as _;
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

    // Alice renames it and describes it: Bob reads the new name and description, and is told.
    let group_path = format!("/api/sessions/alice/groups/{id}");
    let put = reqwest::Method::PUT;
    let (status, _) = call(
        &harness,
        put.clone(),
        &format!("{group_path}/subject"),
        Some(json!({"value": "Weekend trip"})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &harness,
        put.clone(),
        &format!("{group_path}/description"),
        Some(json!({"value": "Bring boots"})),
    )
    .await;
    assert_eq!(status, 204);
    receiver
        .expect("group.update", "bob", |p| {
            p["id"] == id.as_str() && p["newSubject"] == "Weekend trip"
        })
        .await;
    let (_, read) = call(&harness, get.clone(), &format!("/api/sessions/bob/groups/{id}"), None).await;
    assert_eq!(
        (&read["data"]["name"], &read["data"]["description"]),
        (&json!("Weekend trip"), &json!("Bring boots"))
    );
    let (status, _) = call(
        &harness,
        put.clone(),
        &format!("{group_path}/description"),
        Some(json!({"value": ""})),
    )
    .await;
    assert_eq!(status, 204);
    let (_, read) = call(&harness, get.clone(), &format!("/api/sessions/bob/groups/{id}"), None).await;
    assert_eq!(
        read["data"]["description"],
        Value::Null,
        "an empty description removes it"
    );

    // Participants, answered one by one.
    let participants = format!("{group_path}/participants");
    let outcome = |answer: &Value| -> Vec<(String, String)> {
        answer["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["participant"].as_str().unwrap().to_owned(),
                    r["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let (status, added) = call(
        &harness,
        post.clone(),
        &participants,
        Some(json!({"participants": [jid(CAROL), jid(BOB), jid(NOBODY)]})),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(
        outcome(&added),
        [
            (jid(CAROL), "added".into()),
            (jid(BOB), "alreadyMember".into()),
            (jid(NOBODY), "notFound".into())
        ]
    );
    let (status, promoted) = call(
        &harness,
        post.clone(),
        &format!("{participants}/promote"),
        Some(json!({"participants": [jid(BOB)]})),
    )
    .await;
    assert_eq!((status, outcome(&promoted)), (200, vec![(jid(BOB), "promoted".into())]));
    let (_, listed) = call(
        &harness,
        get.clone(),
        &format!("/api/sessions/bob/groups/{id}/participants"),
        None,
    )
    .await;
    assert_eq!(
        members(&json!({"participants": listed["data"]})),
        [
            (format!("+{ALICE}"), true, true),
            (format!("+{BOB}"), true, false),
            (format!("+{CAROL}"), false, false)
        ]
    );
    let bob_path = format!("/api/sessions/bob/groups/{id}/participants");
    let (_, demoted) = call(
        &harness,
        post.clone(),
        &format!("{bob_path}/demote"),
        Some(json!({"participants": [jid(ALICE)]})),
    )
    .await;
    assert_eq!(
        outcome(&demoted),
        [(jid(ALICE), "refused".into())],
        "the creator stays an admin"
    );
    let (status, removed) = call(
        &harness,
        reqwest::Method::DELETE,
        &bob_path,
        Some(json!({"participants": [jid(CAROL)]})),
    )
    .await;
    assert_eq!((status, outcome(&removed)), (200, vec![(jid(CAROL), "removed".into())]));
    receiver
        .expect("group.participant", "carol", |p| {
            p["id"] == id.as_str() && p["left"].as_array().is_some_and(|l| !l.is_empty())
        })
        .await;

    // The invite: Carol previews it, joins by it; a revoked code no longer works.
    let (status, invite) = call(&harness, get.clone(), &format!("{group_path}/invite"), None).await;
    assert_eq!(status, 200, "{invite}");
    let code = invite["data"]["code"].as_str().unwrap().to_owned();
    assert_eq!(invite["data"]["link"], format!("https://chat.whatsapp.com/{code}"));
    let (status, preview) = call(
        &harness,
        get.clone(),
        &format!("/api/sessions/carol/groups/join?inviteCode={code}"),
        None,
    )
    .await;
    assert_eq!(
        (status, &preview["data"]["name"]),
        (200, &json!("Weekend trip")),
        "{preview}"
    );
    let (status, joined) = call(
        &harness,
        post.clone(),
        "/api/sessions/carol/groups/join",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!((status, &joined["data"]["status"]), (200, &json!("joined")), "{joined}");
    let (status, revoked) = call(&harness, reqwest::Method::DELETE, &format!("{group_path}/invite"), None).await;
    assert_eq!(status, 200, "{revoked}");
    assert_ne!(revoked["data"]["code"], json!(code), "a new code");
    let (status, _) = call(
        &harness,
        get.clone(),
        &format!("/api/sessions/carol/groups/join?inviteCode={code}"),
        None,
    )
    .await;
    assert_eq!(status, 404, "the old code leads nowhere");

    // A picture, as base64 (a PNG, made a JPEG by the server), then removed: Bob is told both.
    let png = base64::engine::general_purpose::STANDARD.encode(include_bytes!("../../fixtures/media/chart.png"));
    let (status, set) = call(
        &harness,
        put.clone(),
        &format!("{group_path}/picture"),
        Some(json!({"base64": png})),
    )
    .await;
    assert_eq!(status, 204, "{set}");
    receiver
        .expect("group.update", "bob", |p| {
            p["id"] == id.as_str() && p["newPicture"].is_string()
        })
        .await;
    let (status, _) = call(
        &harness,
        reqwest::Method::DELETE,
        &format!("{group_path}/picture"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    receiver
        .expect("group.update", "bob", |p| {
            p["id"] == id.as_str() && p["pictureRemoved"] == true
        })
        .await;
    let (status, refused) = call(
        &harness,
        put.clone(),
        &format!("{group_path}/picture"),
        Some(json!({"base64": "aGVsbG8="})),
    )
    .await;
    assert_eq!(status, 400, "not a picture: {refused}");

    // Settings: Alice makes it announce-only, locked and disappearing; Bob reads them.
    let (status, set) = call(
        &harness,
        put.clone(),
        &format!("{group_path}/settings"),
        Some(json!({"announce": true, "locked": true, "ephemeralSeconds": 604800})),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    let (_, read) = call(&harness, get.clone(), &format!("/api/sessions/bob/groups/{id}"), None).await;
    let settings = |g: &Value| {
        (
            g["announce"].clone(),
            g["locked"].clone(),
            g["ephemeralSeconds"].clone(),
        )
    };
    assert_eq!(settings(&read["data"]), (json!(true), json!(true), json!(604800)));
    assert_eq!(settings(&set["data"]), settings(&read["data"]));
    let (status, same) = call(
        &harness,
        put.clone(),
        &format!("{group_path}/settings"),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, settings(&same["data"])),
        (200, settings(&read["data"])),
        "no setting given: nothing changes"
    );

    // Deleting: only the creator may; then no member has the group any more.
    let (status, refused) = call(
        &harness,
        reqwest::Method::DELETE,
        &format!("/api/sessions/bob/groups/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    let (status, _) = call(&harness, reqwest::Method::DELETE, &group_path, None).await;
    assert_eq!(status, 204);
    for session in ["alice", "bob", "carol"] {
        let (_, page) = call(&harness, get.clone(), &format!("/api/sessions/{session}/groups"), None).await;
        assert_eq!(page["data"], json!([]), "{session} has no group left");
    }

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
    assert_eq!(page["data"], json!([]), "no group was made by a refused request");
}
