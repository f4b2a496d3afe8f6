//! Polls and groups produced for real: Titan sessions on whatsapp-rust and a bare whatsapp-rust
//! client (Carol) that votes and runs a group, all through the emulator. A webhook receiver gets
//! `message.vote` with the options picked, `group.participant` for each membership change and
//! `group.update` for creation, subject, description and settings changes and for joining by
//! invite.

#![allow(clippy::unwrap_used, missing_docs)]

use serde_json::{Value, json};
use titan_client::types::{self, MessageType, SendMessage};
use titan_e2e::bot::{self, linked};
use titan_e2e::harness::{Harness, STEP, jid, status_of};
use titan_e2e::receiver::Receiver;
use whatsapp_rust::prelude::Event;
use whatsapp_rust::wacore::poll::compute_option_hash;
use whatsapp_rust::{
    GroupCreateOptions, GroupDescription, GroupParticipantOptions, GroupSubject, Jid, PreviousDescription,
};

titan_e2e::on_both_databases!(votes_are_named_and_group_changes_reach_the_receiver);

const ALICE: &str = "15550004001";
const BOB: &str = "15550004002";
const CAROL: &str = "15550004003";

/// The phone numbers in a JIDRef list.
fn phones(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["phoneNumber"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('+')
                .to_owned()
        })
        .collect()
}

/// Waits for the `group.participant` on `session` in `group` with a non-empty `list` (`joined`,
/// `left`, `promoted` or `demoted`), and returns the phone numbers in it.
async fn members(receiver: &Receiver, session: &str, group: &str, list: &str) -> Vec<String> {
    let change = receiver
        .expect("group.participant", session, |p| {
            p["id"] == group && p[list].as_array().is_some_and(|l| !l.is_empty())
        })
        .await;
    phones(&change[list])
}

async fn votes_are_named_and_group_changes_reach_the_receiver(mut harness: Harness) {
    let receiver = harness.receiver().await;
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_code("bob", BOB).await;
    let (carol, mut carol_events) = linked(&harness.emulator, CAROL).await;
    harness.emulator.wait_for_prekeys(CAROL, 1).await;
    let client = &harness.client;
    let carol_client = carol.client();

    // A bad poll is refused before anything is sent.
    let bad = client
        .send_session_message()
        .session("alice")
        .body(
            SendMessage::builder()
                .chat_id(jid(CAROL))
                .type_(MessageType::Poll)
                .name("Lunch?".to_owned())
                .options(vec!["Pizza".into(), "Pizza".into()]),
        )
        .send()
        .await;
    assert_eq!(status_of(bad), 400);

    // Alice asks; Carol's client sees the poll and votes with its secret.
    let poll = client
        .send_session_message()
        .session("alice")
        .body(
            SendMessage::builder()
                .chat_id(jid(CAROL))
                .type_(MessageType::Poll)
                .name("Favorite color?".to_owned())
                .options(vec!["Blue".into(), "Green".into(), "Red".into()]),
        )
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!(
        (poll.type_.as_str(), poll.text.as_deref()),
        ("poll", Some("Favorite color?"))
    );
    assert_eq!(poll.options, ["Blue", "Green", "Red"]);
    let secret = bot::wait_for(&mut carol_events, "Alice's poll", |event| match event {
        Event::Messages(batch) => batch.messages.iter().find_map(|m| {
            (m.info.id == poll.id)
                .then(|| m.message.message_context_info.as_option()?.message_secret.clone())
                .flatten()
        }),
        _ => None,
    })
    .await;
    let alice_jid: Jid = jid(ALICE).parse().unwrap();
    carol_client
        .polls()
        .vote(alice_jid.clone(), &poll.id, &alice_jid, &secret, &["Green".to_owned()])
        .await
        .unwrap();
    let vote = receiver
        .expect("message.vote", "alice", |p| p["pollId"] == poll.id.as_str())
        .await;
    assert_eq!(vote["title"], "Favorite color?");
    assert_eq!(
        vote["pollOptions"],
        json!([{"name": "Green", "hash": hex(compute_option_hash("Green"))}])
    );
    assert_eq!(vote["fromMe"], false);
    assert_eq!(phones(&json!([vote["from"]])), [CAROL]);

    // Carol asks Alice and votes on her own poll: Alice stored the poll she received, so she can
    // read that vote too.
    let options = ["Tea".to_owned(), "Coffee".to_owned()];
    let (sent, carol_secret) = carol_client
        .polls()
        .create(alice_jid.clone(), "Tea or coffee?", &options, 2)
        .await
        .unwrap();
    let received = receiver
        .expect("message.received", "alice", |p| p["id"] == sent.message_id.as_str())
        .await;
    assert_eq!(received["type"], "poll");
    assert_eq!(received["pollOptions"], json!(["Tea", "Coffee"]));
    let carol_jid: Jid = jid(CAROL).parse().unwrap();
    carol_client
        .polls()
        .vote(alice_jid.clone(), &sent.message_id, &carol_jid, &carol_secret, &options)
        .await
        .unwrap();
    let vote = receiver
        .expect("message.vote", "alice", |p| p["pollId"] == sent.message_id.as_str())
        .await;
    let names: Vec<_> = vote["pollOptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].clone())
        .collect();
    assert_eq!(names, [json!("Tea"), json!("Coffee")]);

    // Carol makes a group with Alice: Alice hears it was created.
    let created = carol_client
        .groups()
        .create_group(
            GroupCreateOptions::new("Titan team").with_participant(GroupParticipantOptions::new(alice_jid.clone())),
        )
        .await
        .unwrap();
    let group = created.metadata.id.clone();
    let group_id = group.to_string();
    let update = receiver
        .expect("group.update", "alice", |p| p["id"] == group_id.as_str())
        .await;
    assert_eq!(update["action"], "created");

    // Membership changes reach Alice as group.participant.
    let bob_jid: Jid = jid(BOB).parse().unwrap();
    carol_client
        .groups()
        .add_participants(group.clone(), std::slice::from_ref(&bob_jid))
        .await
        .unwrap();
    assert_eq!(members(&receiver, "alice", &group_id, "joined").await, [BOB]);
    carol_client
        .groups()
        .promote_participants(group.clone(), std::slice::from_ref(&alice_jid))
        .await
        .unwrap();
    assert_eq!(members(&receiver, "bob", &group_id, "promoted").await, [ALICE]);
    carol_client
        .groups()
        .demote_participants(group.clone(), std::slice::from_ref(&alice_jid))
        .await
        .unwrap();
    assert_eq!(members(&receiver, "bob", &group_id, "demoted").await, [ALICE]);

    // Subject and description changes are group.update.
    carol_client
        .groups()
        .set_subject(group.clone(), GroupSubject::new("Titan core").unwrap())
        .await
        .unwrap();
    let renamed = receiver
        .expect("group.update", "alice", |p| p["newSubject"] == "Titan core")
        .await;
    assert_eq!(renamed["id"], group_id.as_str());
    carol_client
        .groups()
        .set_description(
            group.clone(),
            Some(GroupDescription::new("Where we ship").unwrap()),
            PreviousDescription::Absent,
        )
        .await
        .unwrap();
    receiver
        .expect("group.update", "bob", |p| p["newDescription"] == "Where we ship")
        .await;
    // So are settings: only admins may edit the group's info now.
    carol_client.groups().set_locked(group.clone(), true).await.unwrap();
    let locked = receiver.expect("group.update", "alice", |p| p["locked"] == true).await;
    assert_eq!(locked["id"], group_id.as_str());

    // Bob leaves when Carol removes him, then comes back by invite: Titan announces the join.
    carol_client
        .groups()
        .remove_participants(group.clone(), std::slice::from_ref(&bob_jid))
        .await
        .unwrap();
    assert_eq!(members(&receiver, "alice", &group_id, "left").await, [BOB]);
    let link = carol_client
        .groups()
        .get_invite_link(group.clone(), false)
        .await
        .unwrap();
    let bad = client
        .join_group()
        .session("bob")
        .body(types::JoinGroup::builder().code("not a code"))
        .send()
        .await;
    assert_eq!(status_of(bad), 400);
    let joined = client
        .join_group()
        .session("bob")
        .body(types::JoinGroup::builder().code(link))
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!(joined.id, group_id);
    assert_eq!(joined.status, types::JoinStatus::Joined);
    let update = receiver
        .expect("group.update", "bob", |p| p["action"] == "joined")
        .await;
    assert_eq!(update["id"], group_id.as_str());
    // Alice sees Bob join a second time, now by the invite.
    let bob_joined = |e: &Value| {
        e["event"] == "group.participant"
            && e["session"] == "alice"
            && e["payload"]["id"] == group_id.as_str()
            && phones(&e["payload"]["joined"]) == [BOB]
    };
    receiver
        .wait_until("Bob joining again, on alice", STEP, |all| {
            all.iter().filter(|e| bob_joined(e)).count() >= 2
        })
        .await;

    // Lifecycle calls run in the background too, and a graceful stop waits for the commands it
    // accepted: a poll sent async just before a restart is sent, and its result is reported.
    let http = reqwest::Client::new();
    let background = |path: &str, body: Value| {
        http.post(format!("{}/api/sessions/{path}", harness.base))
            .bearer_auth(harness.key())
            .header("prefer", "respond-async")
            .json(&body)
            .send()
    };
    let correlation = |answer: Value| answer["data"]["correlationId"].as_str().unwrap().to_owned();
    let stop = background("bob/stop", json!({})).await.unwrap();
    assert_eq!(stop.status(), 202);
    let stop = correlation(stop.json().await.unwrap());
    let stopped = receiver
        .expect("command.result", "bob", |p| p["correlationId"] == stop.as_str())
        .await;
    assert_eq!(
        (stopped["status"].as_u64(), &stopped["result"]["name"]),
        (Some(200), &json!("bob"))
    );
    let body = json!({"chatId": jid(CAROL), "type": "poll", "name": "Still there?", "options": ["Yes", "No"]});
    let answer = background("alice/messages/send", body).await.unwrap();
    assert_eq!(answer.status(), 202);
    let sent = correlation(answer.json().await.unwrap());
    harness.restart().await;
    let result = receiver
        .expect("command.result", "alice", |p| p["correlationId"] == sent.as_str())
        .await;
    assert_eq!(result["status"].as_u64(), Some(201), "{result}");
    let poll_id = result["result"]["id"].as_str().unwrap().to_owned();
    bot::wait_for(
        &mut carol_events,
        "the poll sent across the restart",
        |event| match event {
            Event::Messages(batch) => batch.messages.iter().find(|m| m.info.id == poll_id).map(|_| ()),
            _ => None,
        },
    )
    .await;

    carol.shutdown().await;
    harness.stop().await;
}

fn hex(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
