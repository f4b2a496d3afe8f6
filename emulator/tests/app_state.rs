//! App-state sync between real clients of one account and its phone: changes a companion
//! uploads reach the phone's state and the account's other companions as live changes, changes
//! the phone makes reach every companion (including one that was offline), concurrent uploads
//! on one base both land (the later one after a 409 and a rebuild), and a removal uploaded on
//! the wire drops the entry.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use buffa::Message as _;
use common::{Companion, STEP, connect, jid, pair_with};
use wa_emulator::{AppStateEntry, Emulator, PhoneChange};
use whatsapp_rust::prelude::Event;
use whatsapp_rust::store::traits::Backend;
use whatsapp_rust::wacore::appstate::hash::generate_patch_mac;
use whatsapp_rust::wacore::appstate::{encode_record, expand_app_state_keys};
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Client, NodeBuilder};

/// The collections every account has.
const COLLECTIONS: [&str; 5] = [
    "critical_block",
    "critical_unblock_low",
    "regular_high",
    "regular_low",
    "regular",
];

fn store() -> Arc<dyn Backend> {
    Arc::new(whatsapp_rust::wacore::store::InMemoryBackend::new())
}

/// Resolves once the client on `store` has synced every collection at least once, so what it
/// hears next is a live change, not a first (full) sync.
async fn synced(store: &Arc<dyn Backend>) {
    for name in COLLECTIONS {
        at_version(store, name, 1).await;
    }
}

/// Resolves once the client on `store` holds `collection` at `version` or later.
async fn at_version(store: &Arc<dyn Backend>, collection: &str, version: u64) {
    let deadline = tokio::time::Instant::now() + STEP;
    while store.get_version(collection).await.unwrap().version < version {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{collection} not at version {version} within {STEP:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Resolves once the client on `store` holds `collection` at the version `leader` holds.
async fn caught_up(store: &Arc<dyn Backend>, leader: &Arc<dyn Backend>, collection: &str) {
    let version = leader.get_version(collection).await.unwrap().version;
    at_version(store, collection, version).await;
}

/// One app-state change a client announced: what it touched, whether it came from a full sync,
/// and its payload in short.
#[derive(Debug)]
struct Change {
    chat: String,
    full_sync: bool,
    detail: String,
}

/// The app-state change in `event`, by kind.
fn change(event: &Event) -> Option<(&'static str, Change)> {
    let (kind, chat, full_sync, detail) = match event {
        Event::ArchiveUpdate(u) => ("archive", &u.jid, u.from_full_sync, format!("{:?}", u.action.archived)),
        Event::PinUpdate(u) => ("pin", &u.jid, u.from_full_sync, format!("{:?}", u.action.pinned)),
        Event::MuteUpdate(u) => (
            "mute",
            &u.jid,
            u.from_full_sync,
            format!("{:?}/{:?}", u.action.muted, u.action.mute_end_timestamp),
        ),
        Event::MarkChatAsReadUpdate(u) => ("read", &u.jid, u.from_full_sync, format!("{:?}", u.action.read)),
        Event::StarUpdate(u) => (
            "star",
            &u.chat_jid,
            u.from_full_sync,
            format!("{}/{}/{:?}", u.message_id, u.from_me, u.action.starred),
        ),
        Event::ContactUpdate(u) => (
            "contact",
            &u.jid,
            u.from_full_sync,
            format!("{:?}/{:?}", u.action.full_name, u.action.first_name),
        ),
        Event::DeleteChatUpdate(u) => ("delete", &u.jid, u.from_full_sync, format!("{}", u.delete_media)),
        Event::ClearChatUpdate(u) => (
            "clear",
            &u.jid,
            u.from_full_sync,
            format!("{}/{}", u.delete_starred, u.delete_media),
        ),
        _ => return None,
    };
    Some((
        kind,
        Change {
            chat: chat.to_string(),
            full_sync,
            detail,
        },
    ))
}

/// The latest change of each kind `companion` hears, once it has heard every one of `kinds`.
async fn changes(companion: &mut Companion, kinds: &[&str]) -> BTreeMap<&'static str, Change> {
    let mut seen = BTreeMap::new();
    companion
        .wait_for(&format!("app-state changes {kinds:?}"), |event| {
            if let Some((kind, change)) = change(event) {
                seen.insert(kind, change);
            }
            kinds.iter().all(|k| seen.contains_key(k)).then_some(())
        })
        .await;
    seen
}

/// The value of the phone's entry at `index`, if it has one.
fn entry(emulator: &Emulator, phone: &str, index: &[&str]) -> Option<serde_json::Value> {
    emulator
        .app_state(phone)
        .unwrap()
        .into_iter()
        .find(|e: &AppStateEntry| e.index == index)
        .map(|e| e.value)
}

/// `value` without its timestamp (which must be there).
fn untimed(mut value: serde_json::Value) -> serde_json::Value {
    let timestamp = value.as_object_mut().unwrap().remove("timestamp");
    assert!(timestamp.is_some_and(|t| t.as_i64().unwrap() > 0), "no timestamp");
    value
}

#[tokio::test]
async fn a_companion_s_changes_reach_the_phone_and_its_other_companion_live() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let phone = "15550000401";
    let (first_store, second_store) = (store(), store());
    let (first, _) = pair_with(&emulator, Arc::clone(&first_store), phone, "ann").await;
    let (mut second, _) = pair_with(&emulator, Arc::clone(&second_store), phone, "ann-tablet").await;
    synced(&first_store).await;
    synced(&second_store).await;

    let chat = jid("15550000499");
    let actions = first.handle.client();
    let actions = actions.chat_actions();
    // One change at a time, each heard before the next: whatsapp-rust drops a `server_sync`
    // that arrives while it is still applying the previous one of the same collection.
    actions.archive_chat(&chat, None).await.unwrap();
    caught_up(&second_store, &first_store, "regular_low").await;
    actions.pin_chat(&chat).await.unwrap();
    caught_up(&second_store, &first_store, "regular_low").await;
    actions.mute_chat(&chat).await.unwrap();
    caught_up(&second_store, &first_store, "regular_high").await;
    actions.star_message(&chat, None, "3EB0STARRED", true).await.unwrap();
    caught_up(&second_store, &first_store, "regular_high").await;

    let chat_text = chat.to_string();
    let archived = entry(&emulator, phone, &["archive", &chat_text]).unwrap();
    assert_eq!(untimed(archived), serde_json::json!({"archived": true}));
    let pinned = entry(&emulator, phone, &["pin_v1", &chat_text]).unwrap();
    assert_eq!(untimed(pinned), serde_json::json!({"pinned": true}));
    let muted = entry(&emulator, phone, &["mute", &chat_text]).unwrap();
    assert_eq!(
        untimed(muted),
        serde_json::json!({"muted": true, "muteEndTimestamp": -1})
    );
    let starred = entry(&emulator, phone, &["star", &chat_text, "3EB0STARRED", "1", "0"]).unwrap();
    assert_eq!(untimed(starred), serde_json::json!({"starred": true}));
    let name = entry(&emulator, phone, &["setting_pushName"]).unwrap();
    assert_eq!(untimed(name), serde_json::json!({"name": "ann"}));

    let heard = changes(&mut second, &["archive", "pin", "mute", "star"]).await;
    for (kind, change) in &heard {
        assert!(!change.full_sync, "{kind} came as a full sync");
        assert_eq!(change.chat, chat_text);
    }
    assert_eq!(heard["archive"].detail, "Some(true)");
    assert_eq!(heard["pin"].detail, "Some(true)");
    assert_eq!(heard["mute"].detail, "Some(true)/Some(-1)");
    assert_eq!(heard["star"].detail, "3EB0STARRED/true/Some(true)");

    first.handle.shutdown().await;
    second.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

#[tokio::test]
async fn the_phone_s_changes_reach_a_companion_live() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let phone = "15550000402";
    let keys = store();
    let (mut companion, _) = pair_with(&emulator, Arc::clone(&keys), phone, "bea").await;
    synced(&keys).await;

    let chat = jid("15550000498").to_string();
    let contact = jid("15550000497").to_string();
    let changes_made = [
        PhoneChange::Archive {
            chat: chat.clone(),
            archived: true,
        },
        PhoneChange::Mute {
            chat: chat.clone(),
            until_ms: Some(-1),
        },
        PhoneChange::MarkRead {
            chat: chat.clone(),
            read: false,
        },
        PhoneChange::Star {
            chat: chat.clone(),
            message_id: "3EB0PHONE".into(),
            from_me: false,
            participant: None,
            starred: true,
        },
        PhoneChange::Contact {
            jid: contact.clone(),
            full_name: Some("Bob B".into()),
            first_name: Some("Bob".into()),
        },
        PhoneChange::Delete { chat: chat.clone() },
        PhoneChange::Clear { chat: chat.clone() },
    ];
    for change in changes_made {
        emulator.phone_changes(phone, change).unwrap();
    }

    let heard = changes(
        &mut companion,
        &["archive", "mute", "read", "star", "contact", "delete", "clear"],
    )
    .await;
    for (kind, change) in &heard {
        assert!(!change.full_sync, "{kind} came as a full sync");
    }
    assert_eq!(heard["archive"].detail, "Some(true)");
    assert_eq!(heard["mute"].detail, "Some(true)/Some(-1)");
    assert_eq!(heard["read"].detail, "Some(false)");
    assert_eq!(heard["star"].detail, "3EB0PHONE/false/Some(true)");
    assert_eq!(heard["contact"].chat, contact);
    assert_eq!(heard["contact"].detail, "Some(\"Bob B\")/Some(\"Bob\")");
    assert_eq!(heard["delete"].detail, "false");
    assert_eq!(heard["clear"].detail, "false/false");

    let saved = entry(&emulator, phone, &["contact", &contact]).unwrap();
    assert_eq!(
        untimed(saved),
        serde_json::json!({"fullName": "Bob B", "firstName": "Bob"})
    );
    let cleared = entry(&emulator, phone, &["clearChat", &chat, "0", "0"]).unwrap();
    assert_eq!(untimed(cleared), serde_json::json!({}));
    let deleted = entry(&emulator, phone, &["deleteChat", &chat, "0"]).unwrap();
    assert_eq!(untimed(deleted), serde_json::json!({}));

    // The same through the admin API.
    let base = format!("{}/admin/accounts", emulator.admin_url());
    let unmute = format!(r#"{{"action": "mute", "chat": "{chat}"}}"#);
    assert_eq!(http("POST", &format!("{base}/{phone}/app-state"), &unmute).await.0, 204);
    let (status, body) = http("GET", &format!("{base}/{phone}/app-state"), "").await;
    assert_eq!(status, 200);
    let entries: Vec<AppStateEntry> = serde_json::from_str(&body).unwrap();
    let muted = entries.iter().find(|e| e.index == ["mute", chat.as_str()]).unwrap();
    assert_eq!(muted.value["muted"], serde_json::json!(false));
    assert_eq!(muted.value["muteEndTimestamp"], serde_json::json!(0));
    let bad_jid = r#"{"action": "archive", "chat": "not a jid", "archived": true}"#;
    assert_eq!(http("POST", &format!("{base}/{phone}/app-state"), bad_jid).await.0, 400);
    assert_eq!(http("GET", &format!("{base}/15559999999/app-state"), "").await.0, 404);
    let heard = changes(&mut companion, &["mute"]).await;
    assert_eq!(heard["mute"].detail, "Some(false)/Some(0)");

    companion.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

/// An admin API request: (status, body).
async fn http(method: &'static str, url: &str, body: &str) -> (u16, String) {
    let (url, body) = (url.to_owned(), body.to_owned());
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let response = match method {
            "POST" => agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body.as_bytes()),
            _ => agent.get(&url).call(),
        }
        .unwrap();
        let status = response.status().as_u16();
        (status, response.into_body().read_to_string().unwrap())
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn two_companions_uploading_on_one_base_both_land() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let phone = "15550000403";
    let (first_store, second_store) = (store(), store());
    let (first, _) = pair_with(&emulator, Arc::clone(&first_store), phone, "cal").await;
    let (second, _) = pair_with(&emulator, Arc::clone(&second_store), phone, "cal-laptop").await;
    synced(&first_store).await;
    synced(&second_store).await;
    let base = first_store.get_version("regular_low").await.unwrap().version;
    assert_eq!(base, second_store.get_version("regular_low").await.unwrap().version);

    let (one, two) = (jid("15550000496"), jid("15550000495"));
    let (first_client, second_client) = (first.handle.client(), second.handle.client());
    let (first_actions, second_actions) = (first_client.chat_actions(), second_client.chat_actions());
    let (archived, pinned) = tokio::join!(first_actions.archive_chat(&one, None), second_actions.pin_chat(&two),);
    archived.unwrap();
    pinned.unwrap();

    assert!(entry(&emulator, phone, &["archive", &one.to_string()]).is_some());
    assert!(entry(&emulator, phone, &["pin_v1", &two.to_string()]).is_some());
    for store in [&first_store, &second_store] {
        at_version(store, "regular_low", base + 2).await;
    }

    first.handle.shutdown().await;
    second.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

/// A patch the client on `store` would build for one mutation of `collection` on its current
/// base (the same steps as whatsapp-rust's `build_patch`), with that base.
async fn build_patch(
    store: &Arc<dyn Backend>,
    collection: &str,
    operation: wa::syncd_mutation::SyncdOperation,
    index: &[&str],
    value: &wa::SyncActionValue,
) -> (Vec<u8>, u64) {
    let key_id = store.get_latest_sync_key_id().await.unwrap().unwrap();
    let key = store.get_sync_key(&key_id).await.unwrap().unwrap();
    let keys = expand_app_state_keys(&key.key_data);
    let index = serde_json::to_vec(index).unwrap();
    let (mutation, _) = encode_record(operation, &index, value, &keys, &key_id, &[9; 16], 3);
    let index_mac: [u8; 32] = mutation.record.index.blob.clone().unwrap().try_into().unwrap();
    let previous = store.get_mutation_macs(collection, &[index_mac]).await.unwrap();
    let mut state = store.get_version(collection).await.unwrap();
    let base = state.version;
    let mutations = vec![mutation];
    let (_, updated) = state.update_hash(&mutations, |mac, _| {
        Ok(<[u8; 32]>::try_from(mac).ok().and_then(|m| previous.get(&m).cloned()))
    });
    updated.unwrap();
    state.version += 1;
    let mut patch = wa::SyncdPatch {
        snapshot_mac: Some(state.generate_snapshot_mac(collection, &keys.snapshot_mac)),
        key_id: buffa::MessageField::some(wa::KeyId { id: Some(key_id) }),
        mutations,
        ..Default::default()
    };
    patch.patch_mac = Some(generate_patch_mac(&patch, collection, &keys.patch_mac, state.version));
    (patch.encode_to_vec(), base)
}

/// Uploads `patch` to `collection` on `base` as a raw sync IQ; the `<collection>` answered.
async fn upload(client: &Client, collection: &str, base: u64, patch: Vec<u8>) -> whatsapp_rust::wacore_binary::Node {
    let request = NodeBuilder::new("collection")
        .attr("name", collection.to_owned())
        .attr("version", base.to_string())
        .attr("return_snapshot", "false")
        .children([NodeBuilder::new("patch").bytes(patch).build()])
        .build();
    let iq = NodeBuilder::new("iq")
        .attr("to", "s.whatsapp.net")
        .attr("type", "set")
        .attr("xmlns", "w:sync:app:state")
        .children([NodeBuilder::new("sync").children([request]).build()])
        .build();
    let answer = client.send_iq_node(iq, None).await.unwrap();
    answer
        .get()
        .to_owned()
        .get_optional_child_by_tag(&["sync", "collection"])
        .cloned()
        .unwrap()
}

fn attr(node: &whatsapp_rust::wacore_binary::Node, key: &str) -> Option<String> {
    node.attrs.get(key).map(|v| v.as_str().into_owned())
}

#[tokio::test]
async fn a_stale_upload_gets_a_conflict_and_a_removal_drops_the_entry() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let phone = "15550000404";
    let keys = store();
    let (companion, _) = pair_with(&emulator, Arc::clone(&keys), phone, "dot").await;
    synced(&keys).await;
    let client = companion.handle.client();
    let chat = jid("15550000494");
    let chat_text = chat.to_string();
    client.chat_actions().archive_chat(&chat, None).await.unwrap();
    assert!(entry(&emulator, phone, &["archive", &chat_text]).is_some());

    // Built on version 0 of a collection that is further on: 409, with every patch since.
    let archived = wa::SyncActionValue {
        archive_chat_action: buffa::MessageField::some(wa::sync_action_value::ArchiveChatAction {
            archived: Some(true),
            ..Default::default()
        }),
        timestamp: Some(1_700_000_000_000),
        ..Default::default()
    };
    let (patch, base) = build_patch(
        &keys,
        "regular_low",
        wa::syncd_mutation::SyncdOperation::SET,
        &["archive", &chat_text],
        &archived,
    )
    .await;
    let conflict = upload(&client, "regular_low", 0, patch).await;
    assert_eq!(attr(&conflict, "type").as_deref(), Some("error"));
    let error = conflict.get_optional_child("error").unwrap();
    assert_eq!(attr(error, "code").as_deref(), Some("409"));
    assert_eq!(attr(&conflict, "version"), Some(base.to_string()));
    let missed = conflict
        .get_optional_child("patches")
        .and_then(|p| p.children())
        .map_or(0, <[_]>::len);
    assert_eq!(u64::try_from(missed).unwrap(), base);

    // A removal on the current base: accepted, and the phone no longer has the entry.
    let (removal, base) = build_patch(
        &keys,
        "regular_low",
        wa::syncd_mutation::SyncdOperation::REMOVE,
        &["archive", &chat_text],
        &archived,
    )
    .await;
    let accepted = upload(&client, "regular_low", base, removal).await;
    assert_eq!(attr(&accepted, "type"), None);
    assert_eq!(attr(&accepted, "version"), Some((base + 1).to_string()));
    assert!(entry(&emulator, phone, &["archive", &chat_text]).is_none());

    // The client did not record its raw upload: its next change conflicts, it takes the
    // removal in, and its rebuilt patch validates against the server's LT-hash.
    client.chat_actions().pin_chat(&chat).await.unwrap();
    assert!(entry(&emulator, phone, &["pin_v1", &chat_text]).is_some());
    assert_eq!(keys.get_version("regular_low").await.unwrap().version, base + 2);

    companion.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

#[tokio::test]
async fn a_companion_offline_during_a_phone_change_hears_it_at_reconnection() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let phone = "15550000405";
    let keys = store();
    let (companion, device) = pair_with(&emulator, Arc::clone(&keys), phone, "eve").await;
    synced(&keys).await;
    companion.handle.shutdown().await;
    emulator.wait_until_offline(phone, device).await;

    let chat = jid("15550000493").to_string();
    emulator
        .phone_changes(
            phone,
            PhoneChange::Pin {
                chat: chat.clone(),
                pinned: true,
            },
        )
        .unwrap();
    emulator.wait_for_queued(phone, device, 1).await;

    let mut again = connect(&emulator, keys, "eve").await;
    let heard = changes(&mut again, &["pin"]).await;
    assert!(!heard["pin"].full_sync);
    assert_eq!(
        (heard["pin"].chat.as_str(), heard["pin"].detail.as_str()),
        (chat.as_str(), "Some(true)")
    );

    again.handle.shutdown().await;
    emulator.stop().await.unwrap();
}
