//! Contacts, LIDs and the profile, from two linked sessions: Alice checks which numbers are on
//! WhatsApp (Bob's is, with his JID and LID; an unknown one is not), looks Bob's LID up both ways,
//! and reads his picture once Bob's session sets one (and a 404 once he removes it); Bob sets his
//! about text and reads his own profile back, and Alice reads him as a contact once he has
//! written to her. Bad numbers and LIDs get clear 400s, unknown ones
//! 404s.

#![allow(clippy::unwrap_used, missing_docs)]

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use titan_e2e::harness::{Harness, jid};

titan_e2e::on_both_databases!(numbers_lids_pictures_and_profiles);

const ALICE: &str = "15550010001";
const BOB: &str = "15550010002";
const NOBODY: &str = "15550010999";

async fn numbers_lids_pictures_and_profiles(harness: Harness) {
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_qr("bob", BOB).await;

    // Which numbers are on WhatsApp, in the order asked.
    let (status, checked) = harness
        .call(
            Method::POST,
            "/api/sessions/alice/contacts/check",
            Some(json!({"phoneNumbers": [format!("+{BOB}"), NOBODY]})),
        )
        .await;
    assert_eq!(status, 200, "{checked}");
    let bob = &checked["data"][0];
    assert_eq!(
        (&bob["phoneNumber"], &bob["onWhatsapp"], &bob["jid"], &bob["isBusiness"]),
        (&json!(format!("+{BOB}")), &json!(true), &json!(jid(BOB)), &json!(false)),
        "{checked}"
    );
    let lid = bob["lid"].as_str().unwrap().to_owned();
    assert!(lid.ends_with("@lid"), "{checked}");
    let (status, known) = harness.call(Method::GET, "/api/sessions/alice/contacts", None).await;
    assert_eq!(status, 200, "{known}");
    assert_eq!(
        known["data"],
        json!([{"phoneNumber": format!("+{BOB}"), "lid": lid, "pushName": null, "name": null,
            "businessName": null, "about": null, "profileUrl": null}]),
        "a number found on WhatsApp is a known contact, one that is not is not"
    );
    let nobody = &checked["data"][1];
    assert_eq!(
        (&nobody["phoneNumber"], &nobody["onWhatsapp"], nobody.get("jid")),
        (&json!(format!("+{NOBODY}")), &json!(false), None),
        "{checked}"
    );

    // Bob's LID both ways; Carol's Titan session never met Bob, so WhatsApp is asked.
    let (status, by_phone) = harness
        .call(Method::GET, &format!("/api/sessions/alice/lids/pn/{BOB}"), None)
        .await;
    assert_eq!((status, &by_phone["data"]["lid"]), (200, &json!(lid)), "{by_phone}");
    let (status, by_lid) = harness
        .call(Method::GET, &format!("/api/sessions/alice/lids/{lid}"), None)
        .await;
    assert_eq!(
        (status, &by_lid["data"]["phoneNumber"]),
        (200, &json!(format!("+{BOB}"))),
        "{by_lid}"
    );
    harness.link_by_qr("carol", "15550010003").await;
    let (status, asked) = harness
        .call(Method::GET, &format!("/api/sessions/carol/lids/{lid}"), None)
        .await;
    assert_eq!(
        (status, &asked["data"]["phoneNumber"]),
        (200, &json!(format!("+{BOB}"))),
        "{asked}"
    );
    let (status, unknown) = harness
        .call(Method::GET, &format!("/api/sessions/alice/lids/pn/{NOBODY}"), None)
        .await;
    assert_eq!(status, 404, "{unknown}");
    for bad in ["/lids/pn/12ab", "/lids/12345", "/lids/abc@lid"] {
        let (status, refused) = harness
            .call(Method::GET, &format!("/api/sessions/alice{bad}"), None)
            .await;
        assert_eq!(status, 400, "{bad}: {refused}");
    }
    for body in [
        json!({"phoneNumbers": []}),
        json!({"phoneNumbers": ["not a number"]}),
        json!({"phoneNumbers": [BOB, BOB]}),
    ] {
        let (status, refused) = harness
            .call(Method::POST, "/api/sessions/alice/contacts/check", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {refused}");
    }

    // Bob's picture: none yet, then set (a PNG made a JPEG), then removed.
    let picture = format!("/api/sessions/alice/contacts/{}/picture", jid(BOB));
    let (status, _) = harness.call(Method::GET, &picture, None).await;
    assert_eq!(status, 404, "no picture yet");
    let png = base64::engine::general_purpose::STANDARD.encode(include_bytes!("../../fixtures/media/chart.png"));
    let (status, set) = harness
        .call(
            Method::PUT,
            "/api/sessions/bob/profile/picture",
            Some(json!({"base64": png})),
        )
        .await;
    assert_eq!(status, 204, "{set}");
    let (status, seen) = harness.call(Method::GET, &picture, None).await;
    assert_eq!(status, 200, "{seen}");
    let url = seen["data"]["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("https://"), "{seen}");
    assert!(seen["data"]["id"].is_string(), "{seen}");
    let (status, refused) = harness
        .call(
            Method::PUT,
            "/api/sessions/bob/profile/picture",
            Some(json!({"base64": "aGVsbG8="})),
        )
        .await;
    assert_eq!(status, 400, "not a picture: {refused}");

    // Bob's about text and his own profile.
    let (status, _) = harness
        .call(
            Method::PUT,
            "/api/sessions/bob/profile/status",
            Some(json!({"value": "Out fishing"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, profile) = harness.call(Method::GET, "/api/sessions/bob/profile", None).await;
    assert_eq!(status, 200, "{profile}");
    let profile = &profile["data"];
    assert_eq!(
        (&profile["phoneNumber"], &profile["lid"], &profile["about"]),
        (&json!(format!("+{BOB}")), &json!(lid), &json!("Out fishing")),
        "{profile}"
    );
    assert_eq!(profile["profileUrl"], json!(url), "the picture Alice sees");
    let (status, refused) = harness
        .call(
            Method::PUT,
            "/api/sessions/bob/profile/status",
            Some(json!({"value": "x".repeat(140)})),
        )
        .await;
    assert_eq!(status, 400, "{refused}");

    // Alice reads Bob as a contact, by either JID, once he has written to her under his name.
    let (status, _) = harness
        .call(
            Method::PUT,
            "/api/sessions/bob/profile/name",
            Some(json!({"value": "Bob B"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, sent) = harness
        .call(
            Method::POST,
            "/api/sessions/bob/messages/send",
            Some(json!({"chatId": jid(ALICE), "type": "text", "text": "Hello Alice"})),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let deadline = tokio::time::Instant::now() + titan_e2e::harness::STEP;
    while harness.history("alice", &jid(BOB)).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Bob's message never reached Alice"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for id in [jid(BOB), lid.clone()] {
        let (status, contact) = harness
            .call(Method::GET, &format!("/api/sessions/alice/contacts/{id}"), None)
            .await;
        assert_eq!(status, 200, "{contact}");
        assert_eq!(
            contact["data"],
            json!({"phoneNumber": format!("+{BOB}"), "lid": lid, "pushName": "Bob B", "name": null, "businessName": null,
                "about": "Out fishing", "profileUrl": url}),
            "{id}"
        );
    }
    let (status, _) = harness
        .call(
            Method::GET,
            &format!("/api/sessions/alice/contacts/{}", jid(NOBODY)),
            None,
        )
        .await;
    assert_eq!(status, 404, "no account has the number");

    let (status, _) = harness
        .call(Method::DELETE, "/api/sessions/bob/profile/picture", None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = harness.call(Method::GET, &picture, None).await;
    assert_eq!(status, 404, "the picture is gone");
    let (_, profile) = harness.call(Method::GET, "/api/sessions/bob/profile", None).await;
    assert_eq!(profile["data"]["profileUrl"], Value::Null, "{profile}");
}
