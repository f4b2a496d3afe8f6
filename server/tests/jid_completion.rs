//! Events name people in both JID forms when the session's LID mapping knows both: the outbox
//! completes each JIDRef from `wa_lid_pn_mapping` as it writes the event. On SQLite, and on
//! PostgreSQL when `TITAN_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use titan_server::events::{NewEvent, Payload};
use titan_server::model::events::{BlockAction, BlocklistPayload};
use titan_server::model::jid::JidRef;
use titan_server::store::Db;
use titan_server::store::device::DeviceStore;
use whatsapp_rust::store::traits::{LidPnMappingEntry, ProtocolStore};

fn blocked(jid: &str) -> NewEvent {
    NewEvent::new(Payload::BlocklistUpdate(BlocklistPayload {
        id: jid.to_owned(),
        from: JidRef::of(jid),
        action: BlockAction::Block,
        blocked: true,
        timestamp: 1,
        from_me: true,
    }))
}

async fn run(backend: common::Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = common::database_url(backend, &dir).await else {
        return;
    };
    let db = Db::connect(&url).await.unwrap();
    let mapping = LidPnMappingEntry {
        lid: "77".into(),
        phone_number: "15550001111".into(),
        created_at: 1,
        updated_at: 1,
        learning_source: "usync".into(),
    };
    DeviceStore::new(db.clone(), "alice", None)
        .put_lid_mapping(&mapping)
        .await
        .unwrap();
    let events = [
        blocked("15550001111@s.whatsapp.net"),
        blocked("77@lid"),
        blocked("15550009999@s.whatsapp.net"),
    ];
    titan_server::store::events::write(&db, "alice", &events).await.unwrap();
    // Bob's session has no such mapping: nothing leaks across sessions.
    titan_server::store::events::write(&db, "bob", &events[..1])
        .await
        .unwrap();
    let written = titan_server::store::events::after(&db, "", 10).await.unwrap();
    let from: Vec<(String, serde_json::Value)> = written
        .iter()
        .map(|e| {
            let body: serde_json::Value = serde_json::from_str(&e.body).unwrap();
            (e.session.clone(), body["payload"]["from"].clone())
        })
        .collect();
    let both = |mode: &str| serde_json::json!({"phoneNumber": "+15550001111", "lid": "77@lid", "mode": mode});
    assert_eq!(from[0], ("alice".into(), both("pn")), "a phone number gains its LID");
    assert_eq!(from[1], ("alice".into(), both("lid")), "a LID gains its phone number");
    assert_eq!(
        from[2].1,
        serde_json::json!({"phoneNumber": "+15550009999", "lid": null, "mode": "pn"}),
        "an unknown person keeps the one form"
    );
    assert_eq!(
        from[3],
        (
            "bob".into(),
            serde_json::json!({"phoneNumber": "+15550001111", "lid": null, "mode": "pn"})
        )
    );

    // A mapping learned after a person was looked up is used from then on, and a wiped
    // session's mappings are gone: nothing read before a change outlives it.
    let learned = LidPnMappingEntry {
        lid: "88".into(),
        phone_number: "15550009999".into(),
        ..mapping
    };
    DeviceStore::new(db.clone(), "alice", None)
        .put_lid_mapping(&learned)
        .await
        .unwrap();
    titan_server::store::events::write(&db, "alice", &events[2..])
        .await
        .unwrap();
    titan_server::store::device::wipe(&db, "alice").await.unwrap();
    titan_server::store::events::write(&db, "alice", &events[..1])
        .await
        .unwrap();
    let last = &written.last().unwrap().id;
    let later = titan_server::store::events::after(&db, last, 10).await.unwrap();
    let from: Vec<serde_json::Value> = later
        .iter()
        .map(|e| serde_json::from_str::<serde_json::Value>(&e.body).unwrap()["payload"]["from"].clone())
        .collect();
    assert_eq!(
        from,
        [
            serde_json::json!({"phoneNumber": "+15550009999", "lid": "88@lid", "mode": "pn"}),
            serde_json::json!({"phoneNumber": "+15550001111", "lid": null, "mode": "pn"}),
        ]
    );
}

#[tokio::test]
async fn sqlite() {
    run(common::Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres() {
    run(common::Backend::Postgres).await;
}
