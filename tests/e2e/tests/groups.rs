//! Groups from every member's side: Alice's Titan session creates a group with Bob and Carol (and
//! a number that is not on WhatsApp), each member lists it (as soon as its event arrives) and
//! reads it with the right admin flags, Carol leaves and the others see her go; Alice renames and
//! describes it (and her phone renames it: her session hears of it too), adds, promotes and (through Bob) removes members, answered one by one; Carol
//! previews the invite and joins by it, and a revoked code leads nowhere; settings are read back
//! by Bob; Bob's stored groups are listed and read while his session is stopped, across a server
//! restart; with approval on, Carol's joins are requests that Alice hears of, lists, approves and
//! rejects; only the creator deletes the group, after which no member has it. Bad group ids and
//! unknown groups get clear 4xx answers.

#![allow(clippy::unwrap_used, missing_docs)]

use base64::Engine as _;
use serde_json::{Value, json};
use titan_client::types::Status;
use titan_e2e::harness::{Harness, STEP, jid};
use titan_e2e::receiver::Receiver;

titan_e2e::on_both_databases!(a_group_is_created_read_by_each_member_and_left);

const ALICE: &str = "15550008001";
const BOB: &str = "15550008002";
const CAROL: &str = "15550008003";
const NOBODY: &str = "15550008999";

/// Waits until `session` has had `times` `event`s whose payload passes `matches`.
async fn expect_times(receiver: &Receiver, event: &str, session: &str, times: usize, matches: impl Fn(&Value) -> bool) {
    receiver
        .wait_until(&format!("{times} × {event} on {session}"), STEP, |all| {
            all.iter()
                .filter(|e| e["event"] == event && e["session"] == session && matches(&e["payload"]))
                .count()
                >= times
        })
        .await;
}

/// Whether a `group.participant` payload about group `id` has `phone` in its list `list`.
fn lists(payload: &Value, id: &str, list: &str, phone: &str) -> bool {
    payload["id"] == id
        && payload[list]
            .as_array()
            .is_some_and(|people| people.iter().any(|p| p["phoneNumber"] == format!("+{phone}")))
}

/// The ids of `session`'s groups, as `GET …/groups` lists them.
async fn group_ids(harness: &Harness, session: &str) -> Vec<String> {
    let (status, page) = harness
        .call(reqwest::Method::GET, &format!("/api/sessions/{session}/groups"), None)
        .await;
    assert_eq!(status, 200, "{page}");
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect()
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

async fn a_group_is_created_read_by_each_member_and_left(mut harness: Harness) {
    let receiver = harness.receiver().await;
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_qr("bob", BOB).await;
    harness.link_by_qr("carol", CAROL).await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;

    let (status, created) = harness
        .call(
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

    // Each member lists it (the stored list has it before the member's event is sent) and reads
    // the same group.
    for session in ["alice", "bob", "carol"] {
        if session != "alice" {
            receiver
                .expect("group.update", session, |p| {
                    p["id"] == id.as_str() && p["action"] == "created"
                })
                .await;
        }
        assert_eq!(group_ids(&harness, session).await, [id.as_str()], "{session}'s groups");
        let (status, read) = harness
            .call(get.clone(), &format!("/api/sessions/{session}/groups/{id}"), None)
            .await;
        assert_eq!(status, 200, "{read}");
        assert_eq!(
            (&read["data"]["name"], members(&read["data"])),
            (&json!("Weekend"), everyone.clone())
        );
    }

    // Carol leaves: she no longer has it, and the others see her go.
    let leave = format!("/api/sessions/carol/groups/{id}/leave");
    let (status, _) = harness.call(post.clone(), &leave, None).await;
    assert_eq!(status, 204);
    receiver
        .expect("group.participant", "alice", |p| {
            p["id"] == id.as_str() && p["left"].as_array().is_some_and(|left| !left.is_empty())
        })
        .await;
    let (status, _) = harness
        .call(get.clone(), &format!("/api/sessions/carol/groups/{id}"), None)
        .await;
    assert!(matches!(status, 403 | 404), "a group Carol left: {status}");
    assert!(group_ids(&harness, "carol").await.is_empty());
    let (_, read) = harness
        .call(get.clone(), &format!("/api/sessions/bob/groups/{id}"), None)
        .await;
    assert_eq!(members(&read["data"]), everyone[..2]);
    let (status, again) = harness.call(post.clone(), &leave, None).await;
    assert_eq!(status, 404, "leaving twice: {again}");

    // Alice renames it and describes it: Bob reads the new name and description, and is told.
    let group_path = format!("/api/sessions/alice/groups/{id}");
    let put = reqwest::Method::PUT;
    let (status, _) = harness
        .call(
            put.clone(),
            &format!("{group_path}/subject"),
            Some(json!({"value": "Weekend trip"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = harness
        .call(
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
    let (_, read) = harness
        .call(get.clone(), &format!("/api/sessions/bob/groups/{id}"), None)
        .await;
    assert_eq!(
        (&read["data"]["name"], &read["data"]["description"]),
        (&json!("Weekend trip"), &json!("Bring boots"))
    );
    // Alice's phone renames it too: her session and Bob's are told, her stored list follows.
    harness.emulator.rename_group(ALICE, &id, "Trip").unwrap();
    for session in ["alice", "bob"] {
        receiver
            .expect("group.update", session, |p| {
                p["id"] == id.as_str() && p["newSubject"] == "Trip" && p["author"]["phoneNumber"] == format!("+{ALICE}")
            })
            .await;
    }
    let (_, page) = harness.call(get.clone(), "/api/sessions/alice/groups", None).await;
    assert_eq!(page["data"][0]["name"], "Trip", "{page}");
    let (status, _) = harness
        .call(
            put.clone(),
            &format!("{group_path}/subject"),
            Some(json!({"value": "Weekend trip"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = harness
        .call(
            put.clone(),
            &format!("{group_path}/description"),
            Some(json!({"value": ""})),
        )
        .await;
    assert_eq!(status, 204);
    let (_, read) = harness
        .call(get.clone(), &format!("/api/sessions/bob/groups/{id}"), None)
        .await;
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
    let (status, added) = harness
        .call(
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
    let (status, promoted) = harness
        .call(
            post.clone(),
            &format!("{participants}/promote"),
            Some(json!({"participants": [jid(BOB)]})),
        )
        .await;
    assert_eq!((status, outcome(&promoted)), (200, vec![(jid(BOB), "promoted".into())]));
    let (_, listed) = harness
        .call(
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
    let (_, demoted) = harness
        .call(
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
    let (status, removed) = harness
        .call(
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
    let (status, invite) = harness.call(get.clone(), &format!("{group_path}/invite"), None).await;
    assert_eq!(status, 200, "{invite}");
    let code = invite["data"]["code"].as_str().unwrap().to_owned();
    assert_eq!(invite["data"]["link"], format!("https://chat.whatsapp.com/{code}"));
    let (status, preview) = harness
        .call(
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
    let (status, joined) = harness
        .call(
            post.clone(),
            "/api/sessions/carol/groups/join",
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!((status, &joined["data"]["status"]), (200, &json!("joined")), "{joined}");
    let (status, revoked) = harness
        .call(reqwest::Method::DELETE, &format!("{group_path}/invite"), None)
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_ne!(revoked["data"]["code"], json!(code), "a new code");
    let (status, _) = harness
        .call(
            get.clone(),
            &format!("/api/sessions/carol/groups/join?inviteCode={code}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "the old code leads nowhere");

    // A picture, as base64 (a PNG, made a JPEG by the server), then removed: Bob is told both.
    let png = base64::engine::general_purpose::STANDARD.encode(include_bytes!("../../fixtures/media/chart.png"));
    let (status, set) = harness
        .call(
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
    let (status, _) = harness
        .call(reqwest::Method::DELETE, &format!("{group_path}/picture"), None)
        .await;
    assert_eq!(status, 204);
    receiver
        .expect("group.update", "bob", |p| {
            p["id"] == id.as_str() && p["pictureRemoved"] == true
        })
        .await;
    let (status, refused) = harness
        .call(
            put.clone(),
            &format!("{group_path}/picture"),
            Some(json!({"base64": "aGVsbG8="})),
        )
        .await;
    assert_eq!(status, 400, "not a picture: {refused}");

    // Settings: Alice makes it announce-only, locked and disappearing; Bob reads them.
    let (status, set) = harness
        .call(
            put.clone(),
            &format!("{group_path}/settings"),
            Some(json!({"announce": true, "locked": true, "ephemeralSeconds": 604800})),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    let (_, read) = harness
        .call(get.clone(), &format!("/api/sessions/bob/groups/{id}"), None)
        .await;
    let settings = |g: &Value| {
        (
            g["announce"].clone(),
            g["locked"].clone(),
            g["ephemeralSeconds"].clone(),
        )
    };
    assert_eq!(settings(&read["data"]), (json!(true), json!(true), json!(604800)));
    for (field, value) in [
        ("announce", json!(true)),
        ("locked", json!(true)),
        ("ephemeralSeconds", json!(604800)),
    ] {
        receiver
            .expect("group.update", "bob", |p| p["id"] == id.as_str() && p[field] == value)
            .await;
    }
    assert_eq!(settings(&set["data"]), settings(&read["data"]));
    let (status, same) = harness
        .call(put.clone(), &format!("{group_path}/settings"), Some(json!({})))
        .await;
    assert_eq!(
        (status, settings(&same["data"])),
        (200, settings(&read["data"])),
        "no setting given: nothing changes"
    );

    // Bob's groups are kept: with his session stopped, across a restart, they are listed and
    // read as last seen.
    let (status, _) = harness.call(post.clone(), "/api/sessions/bob/stop", None).await;
    assert_eq!(status, 200);
    harness.restart().await;
    assert_eq!(group_ids(&harness, "bob").await, [id.as_str()], "Bob's stored groups");
    let (status, kept) = harness
        .call(get.clone(), &format!("/api/sessions/bob/groups/{id}"), None)
        .await;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(settings(&kept["data"]), settings(&read["data"]));
    assert_eq!(kept["data"]["name"], "Weekend trip");
    let (status, refused) = harness
        .call(get.clone(), "/api/sessions/bob/groups?refresh=true", None)
        .await;
    assert_eq!(status, 409, "refreshing needs the connection: {refused}");
    let (status, _) = harness.call(post.clone(), "/api/sessions/bob/start", None).await;
    assert_eq!(status, 200);
    for session in ["alice", "bob", "carol"] {
        harness.wait_status(session, Status::Connected, None).await;
    }
    let (status, page) = harness
        .call(get.clone(), "/api/sessions/bob/groups?refresh=true", None)
        .await;
    assert_eq!(
        (status, page["data"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{page}"
    );

    // Approval: Carol's joins become requests that Alice, an admin, hears of and lists; the
    // first is approved (Carol is in), the second rejected (she stays out).
    let (status, set) = harness
        .call(
            put.clone(),
            &format!("{group_path}/settings"),
            Some(json!({"approvalMode": true})),
        )
        .await;
    assert_eq!((status, &set["data"]["approvalMode"]), (200, &json!(true)), "{set}");
    receiver
        .expect("group.update", "bob", |p| {
            p["id"] == id.as_str() && p["approvalMode"] == true
        })
        .await;
    let (_, invite) = harness.call(get.clone(), &format!("{group_path}/invite"), None).await;
    let code = invite["data"]["code"].as_str().unwrap().to_owned();
    let requests = format!("{group_path}/requests");
    for (round, verdict) in [(1, "approve"), (2, "reject")] {
        let (status, _) = harness
            .call(
                reqwest::Method::DELETE,
                &participants,
                Some(json!({"participants": [jid(CAROL)]})),
            )
            .await;
        assert_eq!(status, 200, "Carol is out before round {round}");
        let (status, asked) = harness
            .call(
                post.clone(),
                "/api/sessions/carol/groups/join",
                Some(json!({"code": code})),
            )
            .await;
        assert_eq!(
            (status, &asked["data"]["status"]),
            (200, &json!("pendingApproval")),
            "{asked}"
        );
        expect_times(&receiver, "group.participant", "alice", round, |p| {
            lists(p, &id, "requested", CAROL)
        })
        .await;
        let (status, pending) = harness.call(get.clone(), &requests, None).await;
        assert_eq!(status, 200, "{pending}");
        assert_eq!(pending["data"].as_array().map(Vec::len), Some(1), "{pending}");
        assert_eq!(pending["data"][0]["phoneNumber"], format!("+{CAROL}"));
        assert!(pending["data"][0]["requestedAt"].is_string(), "{pending}");
        let (status, answered) = harness
            .call(
                post.clone(),
                &format!("{requests}/{verdict}"),
                Some(json!({"participants": [jid(CAROL), jid(BOB)]})),
            )
            .await;
        let done = if verdict == "approve" { "approved" } else { "rejected" };
        assert_eq!(
            (status, outcome(&answered)),
            (200, vec![(jid(CAROL), done.into()), (jid(BOB), "notFound".into())]),
            "{answered}"
        );
        let (_, pending) = harness.call(get.clone(), &requests, None).await;
        assert_eq!(pending["data"], json!([]), "no request left after round {round}");
    }
    // Carol was let in once (her second `joined`; the first was by invite), then turned down.
    expect_times(&receiver, "group.participant", "carol", 2, |p| {
        lists(p, &id, "joined", CAROL)
    })
    .await;
    let (status, _) = harness
        .call(get.clone(), &format!("/api/sessions/carol/groups/{id}"), None)
        .await;
    assert!(matches!(status, 403 | 404), "Carol was turned down: {status}");
    let carol_requests = format!("/api/sessions/carol/groups/{id}/requests");
    let (status, refused) = harness.call(get.clone(), &carol_requests, None).await;
    assert_eq!(status, 403, "only admins list requests: {refused}");

    // Deleting: only the creator may; then no member has the group any more (each list changes
    // before the member's event of it is sent).
    let (status, refused) = harness
        .call(reqwest::Method::DELETE, &format!("/api/sessions/bob/groups/{id}"), None)
        .await;
    assert_eq!(status, 403, "{refused}");
    let (status, _) = harness.call(reqwest::Method::DELETE, &group_path, None).await;
    assert_eq!(status, 204);
    for (session, phone) in [("alice", ALICE), ("bob", BOB)] {
        receiver
            .expect("group.participant", session, |p| lists(p, &id, "left", phone))
            .await;
        assert!(
            group_ids(&harness, session).await.is_empty(),
            "{session} has no group left"
        );
    }
    // Carol's fourth `left`: she left, Bob removed her, then Alice did before each request.
    expect_times(&receiver, "group.participant", "carol", 4, |p| {
        lists(p, &id, "left", CAROL)
    })
    .await;
    assert!(group_ids(&harness, "carol").await.is_empty(), "carol has no group left");

    // Bad input is refused before WhatsApp is asked, and unknown groups are 404.
    let (status, bad) = harness
        .call(get.clone(), "/api/sessions/alice/groups/not-a-group", None)
        .await;
    assert_eq!(status, 400, "{bad}");
    assert!(bad["error"].as_str().unwrap().contains("invalid groupId"), "{bad}");
    let (status, _) = harness
        .call(get.clone(), "/api/sessions/alice/groups/123456789-123@g.us", None)
        .await;
    assert_eq!(status, 404);
    for body in [
        json!({"name": "", "participants": [jid(BOB)]}),
        json!({"name": "A name much longer than twenty-five", "participants": [jid(BOB)]}),
        json!({"name": "No one", "participants": []}),
        json!({"name": "Twice", "participants": [jid(BOB), jid(BOB)]}),
        json!({"name": "A group", "participants": ["120363025246125486@g.us"]}),
    ] {
        let (status, refused) = harness
            .call(post.clone(), "/api/sessions/alice/groups", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {refused}");
    }
    assert!(
        group_ids(&harness, "alice").await.is_empty(),
        "no group was made by a refused request"
    );
}
