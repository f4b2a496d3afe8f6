//! Conformance suite for whatsapp-rust storage backends: every case runs on the library's own
//! `InMemoryBackend` (the reference), on Titan's `DeviceStore` over a fresh SQLite file and on
//! `DeviceStore` over PostgreSQL (when `TITAN_TEST_DATABASE_URL` is set). Then what only the SQL
//! store has: sessions sharing a database are isolated, and `wipe` empties exactly one session.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use titan_server::store::cluster;
use titan_server::store::device::{self, DeviceStore};
use titan_server::store::{Db, Engine};
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::store::traits::DeviceStore as _;
use whatsapp_rust::store::traits::{
    AppStateSyncKey, AppSyncStore, Backend, DeviceInfo, DeviceListRecord, LidPnMappingEntry, MsgSecretEntry,
    MsgSecretStore, PendingInboundKey, PendingInboundRow, ProtocolStore, SignalStore, TcTokenEntry,
};
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::InMemoryBackend;
use whatsapp_rust::wacore::time::now_secs;

/// Where a case runs.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Memory,
    Sqlite,
    Postgres,
}

/// A fresh, migrated database for `kind` (with the directory its SQLite file lives in), or
/// `None` when PostgreSQL is not configured.
async fn fresh_db(kind: common::Backend) -> Option<(Db, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let url = common::database_url(kind, &dir).await?;
    Some((Db::connect(&url).await.unwrap(), dir))
}

/// Runs `case` on a fresh backend of `kind`.
async fn run<F, Fut>(kind: Kind, case: F)
where
    F: FnOnce(Arc<dyn Backend>) -> Fut,
    Fut: Future<Output = ()>,
{
    let sql = match kind {
        Kind::Memory => return case(Arc::new(InMemoryBackend::new())).await,
        Kind::Sqlite => common::Backend::Sqlite,
        Kind::Postgres => common::Backend::Postgres,
    };
    let Some((db, _dir)) = fresh_db(sql).await else {
        return;
    };
    case(Arc::new(DeviceStore::new(db, "alice", None))).await;
}

/// One `#[tokio::test]` per case and backend: `in_memory::x`, `sqlite::x`, `postgres::x`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(#[tokio::test] async fn $case() { super::run(super::Kind::Memory, super::$case).await })*
        }
        mod sqlite {
            $(#[tokio::test] async fn $case() { super::run(super::Kind::Sqlite, super::$case).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $case() { super::run(super::Kind::Postgres, super::$case).await })*
        }
    };
}

conformance!(
    identities,
    sessions,
    signal_state_for_user,
    prekeys,
    signed_prekeys,
    sender_keys,
    sync_keys,
    app_state_versions,
    mutation_macs,
    sender_key_devices,
    lid_pn_mappings,
    base_keys,
    device_lists,
    group_metadata,
    tc_tokens,
    tc_token_expiry,
    sent_messages,
    concurrent_takes,
    pending_inbound,
    expiry_by_age,
    msg_secrets,
    msg_secret_merge,
    device_row,
    large_batches,
);

fn arc(s: &str) -> Arc<str> {
    Arc::from(s)
}

async fn identities(b: Arc<dyn Backend>) {
    assert_eq!(b.load_identity("1@s.whatsapp.net").await.unwrap(), None, "absent");
    b.put_identity("1@s.whatsapp.net", [1; 32]).await.unwrap();
    assert_eq!(b.load_identity("1@s.whatsapp.net").await.unwrap(), Some([1; 32]));
    b.put_identity("1@s.whatsapp.net", [2; 32]).await.unwrap();
    assert_eq!(
        b.load_identity("1@s.whatsapp.net").await.unwrap(),
        Some([2; 32]),
        "overwrite"
    );

    // The batch writes what single puts write, and the last write of a repeated key wins.
    b.put_identities_batch(&[
        (arc("2@s.whatsapp.net"), [3; 32]),
        (arc("3:4@s.whatsapp.net"), [4; 32]),
        (arc("2@s.whatsapp.net"), [5; 32]),
        (arc("1@s.whatsapp.net"), [6; 32]),
    ])
    .await
    .unwrap();
    assert_eq!(b.load_identity("2@s.whatsapp.net").await.unwrap(), Some([5; 32]));
    assert_eq!(b.load_identity("3:4@s.whatsapp.net").await.unwrap(), Some([4; 32]));
    assert_eq!(b.load_identity("1@s.whatsapp.net").await.unwrap(), Some([6; 32]));
    b.put_identities_batch(&[]).await.unwrap();

    b.delete_identity("2@s.whatsapp.net").await.unwrap();
    assert_eq!(b.load_identity("2@s.whatsapp.net").await.unwrap(), None, "deleted");
    assert_eq!(
        b.load_identity("1@s.whatsapp.net").await.unwrap(),
        Some([6; 32]),
        "others stay"
    );
    b.delete_identity("2@s.whatsapp.net").await.unwrap();
}

async fn sessions(b: Arc<dyn Backend>) {
    let a = "15550001:1@s.whatsapp.net";
    assert!(b.get_session(a).await.unwrap().is_none());
    assert!(!b.has_session(a).await.unwrap());
    b.put_session(a, b"one").await.unwrap();
    assert_eq!(b.get_session(a).await.unwrap().as_deref(), Some(&b"one"[..]));
    assert!(b.has_session(a).await.unwrap());
    b.put_session(a, b"two").await.unwrap();
    assert_eq!(b.get_session(a).await.unwrap().as_deref(), Some(&b"two"[..]));

    b.put_sessions_batch(&[
        (arc(a), Bytes::from_static(b"three")),
        (arc("x@lid"), Bytes::from_static(b"first")),
        (arc("x@lid"), Bytes::from_static(b"second")),
    ])
    .await
    .unwrap();
    assert_eq!(b.get_session(a).await.unwrap().as_deref(), Some(&b"three"[..]));
    assert_eq!(b.get_session("x@lid").await.unwrap().as_deref(), Some(&b"second"[..]));

    b.delete_session(a).await.unwrap();
    assert!(!b.has_session(a).await.unwrap());
    assert!(b.get_session(a).await.unwrap().is_none());
    assert!(b.has_session("x@lid").await.unwrap());
}

async fn signal_state_for_user(b: Arc<dyn Backend>) {
    let user = "5511999990000";
    assert!(!b.has_signal_state_for_user(user).await.unwrap());
    // A user that `user` is a prefix of does not count.
    b.put_session("55119999900001@s.whatsapp.net", b"s").await.unwrap();
    assert!(!b.has_signal_state_for_user(user).await.unwrap());
    // `_` is a plain character, not a wildcard.
    assert!(!b.has_signal_state_for_user("5511999990_00").await.unwrap());
    // Device 0 is `user@server`, other devices `user:dev@server`; an identity alone counts.
    b.put_session("5511999990000@s.whatsapp.net", b"s").await.unwrap();
    assert!(b.has_signal_state_for_user(user).await.unwrap());
    b.put_identity("777:5@lid", [7; 32]).await.unwrap();
    assert!(b.has_signal_state_for_user("777").await.unwrap());
    assert!(!b.has_signal_state_for_user("77").await.unwrap());
}

async fn prekeys(b: Arc<dyn Backend>) {
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 0, "no pre-keys: 0");
    assert!(b.load_prekey(1).await.unwrap().is_none());
    b.store_prekey(1, b"k1", false).await.unwrap();
    b.store_prekeys_batch(
        &[
            (2, Bytes::from_static(b"k2")),
            (40, Bytes::from_static(b"k40")),
            (3, Bytes::from_static(b"k3")),
        ],
        true,
    )
    .await
    .unwrap();
    assert_eq!(b.load_prekey(1).await.unwrap().as_deref(), Some(&b"k1"[..]));
    assert_eq!(b.load_prekey(40).await.unwrap().as_deref(), Some(&b"k40"[..]));
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 40);

    // The batch load returns the existing keys, in the order asked, like single loads.
    let loaded = b.load_prekeys_batch(&[3, 99, 1, 40]).await.unwrap();
    let mut singles = Vec::new();
    for id in [3, 99, 1, 40] {
        if let Some(record) = b.load_prekey(id).await.unwrap() {
            singles.push((id, record));
        }
    }
    assert_eq!(loaded, singles);
    assert_eq!(loaded.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![3, 1, 40]);
    assert!(b.load_prekeys_batch(&[]).await.unwrap().is_empty());

    b.store_prekey(1, b"k1-new", true).await.unwrap();
    assert_eq!(
        b.load_prekey(1).await.unwrap().as_deref(),
        Some(&b"k1-new"[..]),
        "overwrite"
    );

    // A key consumed between the upload snapshot and the mark stays consumed.
    b.remove_prekey(2).await.unwrap();
    b.mark_prekeys_uploaded(&[1, 2, 3]).await.unwrap();
    b.mark_prekeys_uploaded(&[]).await.unwrap();
    assert!(
        b.load_prekey(2).await.unwrap().is_none(),
        "mark_prekeys_uploaded resurrected a removed key"
    );
    assert_eq!(b.load_prekey(3).await.unwrap().as_deref(), Some(&b"k3"[..]));

    b.remove_prekey(40).await.unwrap();
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 3, "max follows removals");
}

async fn signed_prekeys(b: Arc<dyn Backend>) {
    assert!(b.load_signed_prekey(1).await.unwrap().is_none());
    assert!(b.load_all_signed_prekeys().await.unwrap().is_empty());
    b.store_signed_prekey(1, b"s1").await.unwrap();
    b.store_signed_prekey(7, b"s7").await.unwrap();
    b.store_signed_prekey(1, b"s1-new").await.unwrap();
    assert_eq!(b.load_signed_prekey(1).await.unwrap(), Some(b"s1-new".to_vec()));
    let mut all = b.load_all_signed_prekeys().await.unwrap();
    all.sort();
    assert_eq!(all, vec![(1, b"s1-new".to_vec()), (7, b"s7".to_vec())]);
    b.remove_signed_prekey(1).await.unwrap();
    assert!(b.load_signed_prekey(1).await.unwrap().is_none());
    assert_eq!(b.load_all_signed_prekeys().await.unwrap(), vec![(7, b"s7".to_vec())]);
}

async fn sender_keys(b: Arc<dyn Backend>) {
    let g = "120363000000000001@g.us::15550001:1@s.whatsapp.net";
    assert!(b.get_sender_key(g).await.unwrap().is_none());
    b.put_sender_key(g, b"r1").await.unwrap();
    b.put_sender_key(g, b"r2").await.unwrap();
    assert_eq!(b.get_sender_key(g).await.unwrap(), Some(b"r2".to_vec()));
    b.put_sender_keys_batch(&[
        (arc(g), Bytes::from_static(b"r3")),
        (arc("other"), Bytes::from_static(b"o1")),
        (arc("other"), Bytes::from_static(b"o2")),
    ])
    .await
    .unwrap();
    assert_eq!(b.get_sender_key(g).await.unwrap(), Some(b"r3".to_vec()));
    assert_eq!(b.get_sender_key("other").await.unwrap(), Some(b"o2".to_vec()));
    b.delete_sender_key(g).await.unwrap();
    assert!(b.get_sender_key(g).await.unwrap().is_none());
    assert!(b.get_sender_key("other").await.unwrap().is_some());
}

fn sync_key(data: u8, timestamp: i64) -> AppStateSyncKey {
    AppStateSyncKey {
        key_data: vec![data; 32],
        fingerprint: vec![data, 1, 2],
        timestamp,
    }
}

async fn sync_keys(b: Arc<dyn Backend>) {
    assert!(b.get_sync_key(&[0, 0, 0, 1]).await.unwrap().is_none());
    assert_eq!(b.get_latest_sync_key_id().await.unwrap(), None, "no keys, no latest");
    b.set_sync_key(&[0, 0, 0, 9], sync_key(9, 900)).await.unwrap();
    // The latest key is the one stored last, not the highest id.
    b.set_sync_key(&[0, 0, 0, 1], sync_key(1, 100)).await.unwrap();
    assert_eq!(b.get_latest_sync_key_id().await.unwrap(), Some(vec![0, 0, 0, 1]));
    let key = b.get_sync_key(&[0, 0, 0, 9]).await.unwrap().unwrap();
    assert_eq!(
        (key.key_data, key.fingerprint, key.timestamp),
        (vec![9; 32], vec![9, 1, 2], 900)
    );
    // Storing a key again replaces it and makes it the latest.
    b.set_sync_key(&[0, 0, 0, 9], sync_key(8, 800)).await.unwrap();
    assert_eq!(b.get_latest_sync_key_id().await.unwrap(), Some(vec![0, 0, 0, 9]));
    assert_eq!(b.get_sync_key(&[0, 0, 0, 9]).await.unwrap().unwrap().timestamp, 800);
}

async fn app_state_versions(b: Arc<dyn Backend>) {
    let fresh = b.get_version("regular").await.unwrap();
    assert_eq!(
        (fresh.version, fresh.hash, fresh.index_value_map.len()),
        (0, [0; 128], 0)
    );
    assert!(!fresh.mac_mismatch_fatal);

    let mut hash = [0u8; 128];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::try_from(i).unwrap().wrapping_mul(7);
    }
    let state = HashState {
        version: 42,
        hash,
        index_value_map: HashMap::from([("idx-a".to_owned(), vec![1, 2, 3]), ("idx-b".to_owned(), vec![255; 32])]),
        mac_mismatch_fatal: true,
    };
    b.set_version("regular", state.clone()).await.unwrap();
    let got = b.get_version("regular").await.unwrap();
    assert_eq!(
        (got.version, got.hash, &got.index_value_map, got.mac_mismatch_fatal),
        (42, hash, &state.index_value_map, true)
    );
    assert_eq!(
        b.get_version("critical_block").await.unwrap().version,
        0,
        "per collection"
    );

    b.set_version(
        "regular",
        HashState {
            version: 43,
            ..HashState::default()
        },
    )
    .await
    .unwrap();
    let got = b.get_version("regular").await.unwrap();
    assert_eq!((got.version, got.index_value_map.len()), (43, 0), "overwrite");
}

fn mac(index: u8, value: u8) -> AppStateMutationMAC {
    AppStateMutationMAC {
        index_mac: vec![index; 32],
        value_mac: vec![value; 32],
    }
}

async fn mutation_macs(b: Arc<dyn Backend>) {
    assert!(b.get_mutation_mac("regular", &[1; 32]).await.unwrap().is_none());
    b.put_mutation_macs("regular", 1, &[mac(1, 10), mac(2, 20), mac(3, 30)])
        .await
        .unwrap();
    b.put_mutation_macs("critical", 1, &[mac(1, 11)]).await.unwrap();
    b.put_mutation_macs("regular", 2, &[mac(2, 21)]).await.unwrap();
    assert_eq!(
        b.get_mutation_mac("regular", &[1; 32]).await.unwrap(),
        Some(vec![10; 32])
    );
    assert_eq!(
        b.get_mutation_mac("regular", &[2; 32]).await.unwrap(),
        Some(vec![21; 32]),
        "overwrite"
    );
    assert_eq!(
        b.get_mutation_mac("critical", &[1; 32]).await.unwrap(),
        Some(vec![11; 32]),
        "per collection"
    );

    // The batch lookup equals single lookups and leaves out what is missing.
    let batch = b
        .get_mutation_macs("regular", &[[1; 32], [2; 32], [9; 32]])
        .await
        .unwrap();
    assert_eq!(batch, HashMap::from([([1; 32], vec![10; 32]), ([2; 32], vec![21; 32])]));
    assert!(b.get_mutation_macs("regular", &[]).await.unwrap().is_empty());

    b.delete_mutation_macs("regular", &[vec![1; 32], vec![9; 32]])
        .await
        .unwrap();
    b.delete_mutation_macs("regular", &[]).await.unwrap();
    assert!(b.get_mutation_mac("regular", &[1; 32]).await.unwrap().is_none());
    assert!(b.get_mutation_mac("regular", &[3; 32]).await.unwrap().is_some());
    assert!(
        b.get_mutation_mac("critical", &[1; 32]).await.unwrap().is_some(),
        "delete is per collection"
    );

    b.clear_mutation_macs("regular").await.unwrap();
    assert!(
        b.get_mutation_macs("regular", &[[2; 32], [3; 32]])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        b.get_mutation_mac("critical", &[1; 32]).await.unwrap().is_some(),
        "clear is per collection"
    );
}

async fn sorted_devices(b: &Arc<dyn Backend>, group: &str) -> Vec<(String, bool)> {
    let mut devices = b.get_sender_key_devices(group).await.unwrap();
    devices.sort();
    devices
}

async fn sender_key_devices(b: Arc<dyn Backend>) {
    let (g1, g2) = ("1@g.us", "2@g.us");
    assert!(b.get_sender_key_devices(g1).await.unwrap().is_empty());
    b.set_sender_key_status(g1, &[("a:1@lid", true), ("b:2@lid", false), ("a:1@lid", false)])
        .await
        .unwrap();
    b.set_sender_key_status(g2, &[("a:1@lid", true), ("c:3@lid", true)])
        .await
        .unwrap();
    assert_eq!(
        sorted_devices(&b, g1).await,
        vec![("a:1@lid".to_owned(), false), ("b:2@lid".to_owned(), false)],
        "the last status of a repeated device wins"
    );
    b.set_sender_key_status(g1, &[("b:2@lid", true)]).await.unwrap();
    assert_eq!(sorted_devices(&b, g1).await[1], ("b:2@lid".to_owned(), true), "update");
    assert_eq!(
        sorted_devices(&b, g2).await,
        vec![("a:1@lid".to_owned(), true), ("c:3@lid".to_owned(), true)],
        "per group"
    );

    b.delete_sender_key_device_rows(&["a:1@lid"]).await.unwrap();
    b.delete_sender_key_device_rows(&[]).await.unwrap();
    assert_eq!(
        sorted_devices(&b, g1).await,
        vec![("b:2@lid".to_owned(), true)],
        "across groups"
    );
    assert_eq!(sorted_devices(&b, g2).await, vec![("c:3@lid".to_owned(), true)]);

    b.clear_sender_key_devices(g1).await.unwrap();
    assert!(b.get_sender_key_devices(g1).await.unwrap().is_empty());
    assert_eq!(
        sorted_devices(&b, g2).await.len(),
        1,
        "clearing one group keeps the others"
    );
    b.clear_all_sender_key_devices().await.unwrap();
    assert!(b.get_sender_key_devices(g2).await.unwrap().is_empty());
}

fn mapping(lid: &str, phone: &str, at: i64, source: &str) -> LidPnMappingEntry {
    LidPnMappingEntry {
        lid: lid.to_owned(),
        phone_number: phone.to_owned(),
        created_at: at,
        updated_at: at,
        learning_source: source.to_owned(),
    }
}

async fn lid_pn_mappings(b: Arc<dyn Backend>) {
    assert!(b.get_lid_mapping("100").await.unwrap().is_none());
    assert!(b.get_pn_mapping("555").await.unwrap().is_none());
    b.put_lid_mapping(&mapping("100", "555", 1000, "usync")).await.unwrap();
    let by_lid = b.get_lid_mapping("100").await.unwrap().unwrap();
    assert_eq!(
        (
            by_lid.phone_number.as_str(),
            by_lid.created_at,
            by_lid.updated_at,
            by_lid.learning_source.as_str()
        ),
        ("555", 1000, 1000, "usync")
    );
    assert_eq!(
        b.get_pn_mapping("555").await.unwrap().unwrap().lid,
        "100",
        "both directions"
    );

    // The LID moves to another number: the old number no longer maps to it.
    b.put_lid_mapping(&mapping("100", "556", 2000, "peer_pn_message"))
        .await
        .unwrap();
    let moved = b.get_lid_mapping("100").await.unwrap().unwrap();
    assert_eq!((moved.phone_number.as_str(), moved.updated_at), ("556", 2000));
    assert_eq!(moved.learning_source, "peer_pn_message");
    assert!(b.get_pn_mapping("555").await.unwrap().is_none());

    // Batch, with a number learned under a newer LID: the number maps to the most recent one.
    b.put_lid_mappings(&[
        mapping("200", "777", 3000, "usync"),
        mapping("201", "777", 4000, "usync"),
        mapping("300", "888", 1, "x"),
        mapping("300", "889", 2, "y"),
    ])
    .await
    .unwrap();
    b.put_lid_mappings(&[]).await.unwrap();
    assert_eq!(b.get_pn_mapping("777").await.unwrap().unwrap().lid, "201");
    assert_eq!(
        b.get_lid_mapping("300").await.unwrap().unwrap().phone_number,
        "889",
        "last write wins"
    );
    let mut all: Vec<(String, String)> = b
        .get_all_lid_mappings()
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.lid, m.phone_number))
        .collect();
    all.sort();
    let expected = [("100", "556"), ("200", "777"), ("201", "777"), ("300", "889")];
    assert_eq!(all, expected.map(|(l, p)| (l.to_owned(), p.to_owned())));
}

async fn base_keys(b: Arc<dyn Backend>) {
    let a = "1:2@s.whatsapp.net";
    assert!(!b.has_same_base_key(a, "m1", b"key").await.unwrap(), "nothing saved");
    b.save_base_key(a, "m1", b"key").await.unwrap();
    assert!(b.has_same_base_key(a, "m1", b"key").await.unwrap());
    assert!(!b.has_same_base_key(a, "m1", b"other").await.unwrap());
    assert!(!b.has_same_base_key(a, "m2", b"key").await.unwrap(), "per message");
    b.save_base_key(a, "m1", b"new").await.unwrap();
    assert!(b.has_same_base_key(a, "m1", b"new").await.unwrap(), "overwrite");
    b.delete_base_key(a, "m1").await.unwrap();
    assert!(!b.has_same_base_key(a, "m1", b"new").await.unwrap());
}

fn device_list(user: &str, devices: &[u32], timestamp: i64) -> DeviceListRecord {
    DeviceListRecord {
        user: user.to_owned(),
        devices: devices
            .iter()
            .map(|&d| DeviceInfo::new(d, (d > 0).then_some(d + 10)).with_hosting(d == 99))
            .collect(),
        timestamp,
        phash: Some(format!("2:{user}")),
        raw_id: Some(7),
    }
}

/// A device list as data, to compare records whole.
fn summary(record: &DeviceListRecord) -> serde_json::Value {
    serde_json::to_value(record).unwrap()
}

async fn device_lists(b: Arc<dyn Backend>) {
    assert!(b.get_devices("555").await.unwrap().is_none());
    let record = device_list("555", &[0, 3, 99], 1000);
    b.update_device_list(record.clone()).await.unwrap();
    assert_eq!(summary(&b.get_devices("555").await.unwrap().unwrap()), summary(&record));

    let newer = DeviceListRecord {
        phash: None,
        raw_id: None,
        ..device_list("555", &[0], 2000)
    };
    b.update_device_list(newer.clone()).await.unwrap();
    assert_eq!(
        summary(&b.get_devices("555").await.unwrap().unwrap()),
        summary(&newer),
        "overwrite"
    );

    let batch = vec![
        device_list("666", &[0, 1], 1),
        device_list("777", &[], 2),
        device_list("666", &[0, 2], 3),
    ];
    b.update_device_lists(batch.clone()).await.unwrap();
    b.update_device_lists(Vec::new()).await.unwrap();
    assert_eq!(
        summary(&b.get_devices("666").await.unwrap().unwrap()),
        summary(&batch[2]),
        "last wins"
    );
    assert_eq!(
        summary(&b.get_devices("777").await.unwrap().unwrap()),
        summary(&batch[1])
    );

    b.delete_devices("555").await.unwrap();
    assert!(b.get_devices("555").await.unwrap().is_none());
    assert!(b.get_devices("666").await.unwrap().is_some());
}

async fn group_metadata(b: Arc<dyn Backend>) {
    let g = "120363000000000001@g.us";
    assert!(b.get_group_metadata(g).await.unwrap().is_none());
    b.put_group_metadata(g, b"v1").await.unwrap();
    assert_eq!(b.get_group_metadata(g).await.unwrap(), Some(b"v1".to_vec()));
    b.put_group_metadata(g, b"v2").await.unwrap();
    assert_eq!(b.get_group_metadata(g).await.unwrap(), Some(b"v2".to_vec()));
    assert!(b.get_group_metadata("other@g.us").await.unwrap().is_none());
    b.delete_group_metadata(g).await.unwrap();
    assert!(b.get_group_metadata(g).await.unwrap().is_none());
}

fn token(bytes: &[u8], at: i64, sender: Option<i64>) -> TcTokenEntry {
    TcTokenEntry {
        token: bytes.to_vec(),
        token_timestamp: at,
        sender_timestamp: sender,
    }
}

async fn tc(b: &Arc<dyn Backend>, jid: &str) -> Option<(Vec<u8>, i64, Option<i64>)> {
    b.get_tc_token(jid)
        .await
        .unwrap()
        .map(|t| (t.token, t.token_timestamp, t.sender_timestamp))
}

async fn tc_tokens(b: Arc<dyn Backend>) {
    assert_eq!(tc(&b, "u@lid").await, None);
    b.put_tc_token("u@lid", &token(&[1], 10, Some(5))).await.unwrap();
    assert_eq!(tc(&b, "u@lid").await, Some((vec![1], 10, Some(5))));
    b.put_tc_token("u@lid", &token(&[2], 20, None)).await.unwrap();
    assert_eq!(
        tc(&b, "u@lid").await,
        Some((vec![2], 20, None)),
        "put replaces the whole entry"
    );

    // The sender bucket: a placeholder when absent, then only ever advanced; a real token stays.
    b.touch_tc_token_sender_timestamp("p@lid", 1000).await.unwrap();
    assert_eq!(tc(&b, "p@lid").await, Some((vec![], 1000, Some(1000))));
    b.touch_tc_token_sender_timestamp("p@lid", 500).await.unwrap();
    assert_eq!(
        tc(&b, "p@lid").await,
        Some((vec![], 1000, Some(1000))),
        "never regresses"
    );
    b.touch_tc_token_sender_timestamp("u@lid", 3000).await.unwrap();
    assert_eq!(
        tc(&b, "u@lid").await,
        Some((vec![2], 20, Some(3000))),
        "the real token survives"
    );

    // Received tokens: newer wins, the sender bucket is kept, a placeholder never blocks.
    b.store_received_tc_token("u@lid", &[3], 15).await.unwrap();
    assert_eq!(
        tc(&b, "u@lid").await,
        Some((vec![2], 20, Some(3000))),
        "older write ignored"
    );
    b.store_received_tc_token("u@lid", &[4], 20).await.unwrap();
    assert_eq!(tc(&b, "u@lid").await, Some((vec![4], 20, Some(3000))), "as new wins");
    b.store_received_tc_token("p@lid", &[5], 600).await.unwrap();
    assert_eq!(
        tc(&b, "p@lid").await,
        Some((vec![5], 600, Some(1000))),
        "placeholder accepts an older token"
    );
    b.store_received_tc_token("n@lid", &[6], 7).await.unwrap();
    assert_eq!(
        tc(&b, "n@lid").await,
        Some((vec![6], 7, None)),
        "fresh row has no sender bucket"
    );

    let mut jids = b.get_all_tc_token_jids().await.unwrap();
    jids.sort();
    assert_eq!(jids, ["n@lid", "p@lid", "u@lid"]);
    b.delete_tc_token("n@lid").await.unwrap();
    assert_eq!(tc(&b, "n@lid").await, None);
}

async fn tc_token_expiry(b: Arc<dyn Backend>) {
    // token cutoff 1000, sender cutoff 2000.
    b.touch_tc_token_sender_timestamp("recent_placeholder", 2500)
        .await
        .unwrap();
    b.touch_tc_token_sender_timestamp("stale_placeholder", 100)
        .await
        .unwrap();
    b.put_tc_token("expired_token_live_sender", &token(&[1], 1, Some(2500)))
        .await
        .unwrap();
    b.put_tc_token("expired_token", &token(&[2], 1, None)).await.unwrap();
    b.put_tc_token("expired_token_stale_sender", &token(&[2], 1, Some(1999)))
        .await
        .unwrap();
    b.put_tc_token("fresh_token", &token(&[3], 5000, None)).await.unwrap();
    b.put_tc_token("token_at_cutoff", &token(&[3], 1000, None))
        .await
        .unwrap();

    assert_eq!(b.delete_expired_tc_tokens(1000, 2000).await.unwrap(), 3);
    let mut left = b.get_all_tc_token_jids().await.unwrap();
    left.sort();
    assert_eq!(
        left,
        [
            "expired_token_live_sender",
            "fresh_token",
            "recent_placeholder",
            "token_at_cutoff"
        ]
    );
    assert_eq!(b.delete_expired_tc_tokens(1000, 2000).await.unwrap(), 0);
}

async fn sent_messages(b: Arc<dyn Backend>) {
    assert_eq!(b.take_sent_message("c@s.whatsapp.net", "m1").await.unwrap(), None);
    b.store_sent_message("c@s.whatsapp.net", "m1", b"p1").await.unwrap();
    b.store_sent_message("c@s.whatsapp.net", "m1", b"p1-again")
        .await
        .unwrap();
    b.store_sent_message("c@s.whatsapp.net", "m2", b"p2").await.unwrap();
    b.store_sent_message("d@s.whatsapp.net", "m1", b"d1").await.unwrap();
    assert_eq!(
        b.take_sent_message("c@s.whatsapp.net", "m1").await.unwrap(),
        Some(b"p1-again".to_vec())
    );
    assert_eq!(
        b.take_sent_message("c@s.whatsapp.net", "m1").await.unwrap(),
        None,
        "taken once"
    );
    assert_eq!(
        b.take_sent_message("d@s.whatsapp.net", "m1").await.unwrap(),
        Some(b"d1".to_vec()),
        "per chat"
    );

    // A cutoff in the past removes nothing; one in the future removes everything left.
    assert_eq!(b.delete_expired_sent_messages(now_secs() - 3600).await.unwrap(), 0);
    assert_eq!(b.delete_expired_sent_messages(now_secs() + 3600).await.unwrap(), 1);
    assert_eq!(b.take_sent_message("c@s.whatsapp.net", "m2").await.unwrap(), None);
}

async fn concurrent_takes(b: Arc<dyn Backend>) {
    for round in 0..20 {
        let id = format!("m{round}");
        b.store_sent_message("c@s.whatsapp.net", &id, b"payload").await.unwrap();
        let takes: Vec<_> = (0..2)
            .map(|_| {
                let (b, id) = (Arc::clone(&b), id.clone());
                tokio::spawn(async move { b.take_sent_message("c@s.whatsapp.net", &id).await.unwrap() })
            })
            .collect();
        let mut got = Vec::new();
        for take in takes {
            got.push(take.await.unwrap());
        }
        assert_eq!(
            got.iter().filter(|g| g.is_some()).count(),
            1,
            "round {round}: exactly one of two concurrent takes gets the payload: {got:?}"
        );
    }
}

async fn pending_inbound(b: Arc<dyn Backend>) {
    assert_eq!(b.get_pending_inbound("c", "s", "1").await.unwrap(), None);
    b.store_pending_inbound("c", "s", "1", b"m1").await.unwrap();
    b.store_pending_inbound("c", "s", "1", b"m1-again").await.unwrap();
    assert_eq!(
        b.get_pending_inbound("c", "s", "1").await.unwrap(),
        Some(b"m1-again".to_vec())
    );
    assert_eq!(
        b.get_pending_inbound("c", "other", "1").await.unwrap(),
        None,
        "keyed by sender too"
    );

    let row = |chat, id, message| PendingInboundRow {
        chat,
        sender: "s",
        id,
        message,
    };
    b.store_pending_inbound_batch(&[row("c", "2", b"m2"), row("d", "1", b"d1"), row("c", "2", b"m2-last")])
        .await
        .unwrap();
    b.store_pending_inbound_batch(&[]).await.unwrap();
    assert_eq!(
        b.get_pending_inbound("c", "s", "2").await.unwrap(),
        Some(b"m2-last".to_vec())
    );
    assert_eq!(
        b.get_pending_inbound("d", "s", "1").await.unwrap(),
        Some(b"d1".to_vec()),
        "per chat"
    );
    // Reading does not consume.
    assert!(b.get_pending_inbound("d", "s", "1").await.unwrap().is_some());

    b.delete_pending_inbound("c", "s", "1").await.unwrap();
    assert_eq!(b.get_pending_inbound("c", "s", "1").await.unwrap(), None);
    let key = |chat, id| PendingInboundKey { chat, sender: "s", id };
    b.delete_pending_inbound_batch(&[key("c", "2"), key("x", "9")])
        .await
        .unwrap();
    b.delete_pending_inbound_batch(&[]).await.unwrap();
    assert_eq!(b.get_pending_inbound("c", "s", "2").await.unwrap(), None);
    assert!(b.get_pending_inbound("d", "s", "1").await.unwrap().is_some());
}

/// Waits for the clock's next second, so that rows written before and after it differ in age.
async fn next_second() -> i64 {
    let before = now_secs();
    while now_secs() == before {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    now_secs()
}

async fn expiry_by_age(b: Arc<dyn Backend>) {
    b.store_sent_message("c", "old", b"o").await.unwrap();
    b.store_pending_inbound("c", "s", "old", b"o").await.unwrap();
    let cutoff = next_second().await;
    b.store_sent_message("c", "new", b"n").await.unwrap();
    b.store_pending_inbound("c", "s", "new", b"n").await.unwrap();

    assert_eq!(
        b.delete_expired_sent_messages(cutoff).await.unwrap(),
        1,
        "only the older payload"
    );
    assert_eq!(b.take_sent_message("c", "old").await.unwrap(), None);
    assert_eq!(
        b.take_sent_message("c", "new").await.unwrap(),
        Some(b"n".to_vec()),
        "the newer stays"
    );

    assert_eq!(
        b.delete_expired_pending_inbound(cutoff).await.unwrap(),
        1,
        "only the older message"
    );
    assert_eq!(b.get_pending_inbound("c", "s", "old").await.unwrap(), None);
    assert!(
        b.get_pending_inbound("c", "s", "new").await.unwrap().is_some(),
        "the newer stays"
    );
}

fn secret(chat: &str, msg_id: &str, byte: u8, expires_at: i64, message_ts: i64) -> MsgSecretEntry {
    MsgSecretEntry {
        chat: arc(chat),
        sender: arc("s@s.whatsapp.net"),
        msg_id: arc(msg_id),
        secret: [byte; 32],
        expires_at,
        message_ts,
    }
}

async fn msg_secrets(b: Arc<dyn Backend>) {
    let s = "s@s.whatsapp.net";
    assert_eq!(b.get_msg_secret("c", s, "M1").await.unwrap(), None);
    b.put_msg_secret("c", s, "M1", &[1; 32]).await.unwrap();
    assert_eq!(b.get_msg_secret("c", s, "M1").await.unwrap(), Some(vec![1; 32]));
    assert_eq!(
        b.get_msg_secret_with_ts("c", s, "M1").await.unwrap(),
        Some((vec![1; 32], 0))
    );
    // Keyed by chat, sender and id.
    b.put_msg_secret("c", "other", "M1", &[2; 32]).await.unwrap();
    b.put_msg_secret("d", s, "M1", &[3; 32]).await.unwrap();
    b.put_msg_secret("c", s, "M2", &[4; 32]).await.unwrap();
    assert_eq!(b.get_msg_secret("c", s, "M1").await.unwrap(), Some(vec![1; 32]));
    assert_eq!(b.get_msg_secret("c", "other", "M1").await.unwrap(), Some(vec![2; 32]));
    assert_eq!(b.get_msg_secret("d", s, "M1").await.unwrap(), Some(vec![3; 32]));
    b.put_msg_secret("c", s, "M1", &[9; 32]).await.unwrap();
    assert_eq!(
        b.get_msg_secret("c", s, "M1").await.unwrap(),
        Some(vec![9; 32]),
        "overwrite"
    );

    let stored = b
        .put_msg_secrets(vec![secret("e", "A", 5, 0, 1234), secret("e", "B", 6, 100, 0)])
        .await
        .unwrap();
    assert_eq!(stored, 2);
    assert_eq!(
        b.get_msg_secret_with_ts("e", s, "A").await.unwrap(),
        Some((vec![5; 32], 1234))
    );
    assert_eq!(b.put_msg_secrets(Vec::new()).await.unwrap(), 0);

    // Expiry: deadlines at or before the cutoff go, 0 ("never") and later deadlines stay.
    b.put_msg_secrets(vec![
        secret("x", "past", 1, 50, 0),
        secret("x", "at", 1, 100, 0),
        secret("x", "later", 1, 101, 0),
    ])
    .await
    .unwrap();
    assert_eq!(
        b.delete_expired_msg_secrets(100).await.unwrap(),
        3,
        "x/past, x/at and e/B"
    );
    assert_eq!(b.get_msg_secret("x", s, "past").await.unwrap(), None);
    assert_eq!(b.get_msg_secret("x", s, "at").await.unwrap(), None);
    assert_eq!(b.get_msg_secret("e", s, "B").await.unwrap(), None);
    assert!(b.get_msg_secret("x", s, "later").await.unwrap().is_some());
    assert!(
        b.get_msg_secret("e", s, "A").await.unwrap().is_some(),
        "0 never expires"
    );
    assert!(b.get_msg_secret("c", s, "M1").await.unwrap().is_some());
    assert_eq!(b.delete_expired_msg_secrets(100).await.unwrap(), 0);
}

async fn msg_secret_merge(b: Arc<dyn Backend>) {
    let s = "s@s.whatsapp.net";
    // A later deadline wins over an earlier one, either way round.
    b.put_msg_secrets(vec![secret("c", "late", 1, 200, 10)]).await.unwrap();
    b.put_msg_secrets(vec![secret("c", "late", 2, 100, 0)]).await.unwrap();
    // 0 ("never") wins over any deadline, either way round.
    b.put_msg_secrets(vec![secret("c", "never1", 1, 0, 0)]).await.unwrap();
    b.put_msg_secrets(vec![secret("c", "never1", 1, 300, 0)]).await.unwrap();
    b.put_msg_secrets(vec![secret("c", "never2", 1, 300, 0)]).await.unwrap();
    b.put_msg_secrets(vec![secret("c", "never2", 1, 0, 0)]).await.unwrap();
    // The same merge applies to repeats inside one batch.
    b.put_msg_secrets(vec![
        secret("c", "batch", 1, 100, 50),
        secret("c", "batch", 2, 400, 0),
        secret("c", "batch", 3, 150, 40),
    ])
    .await
    .unwrap();

    // The secret is the last written; message_ts keeps the later known time (0 never clobbers).
    assert_eq!(
        b.get_msg_secret_with_ts("c", s, "late").await.unwrap(),
        Some((vec![2; 32], 10))
    );
    assert_eq!(
        b.get_msg_secret_with_ts("c", s, "batch").await.unwrap(),
        Some((vec![3; 32], 50))
    );
    b.put_msg_secrets(vec![secret("c", "late", 2, 100, 20)]).await.unwrap();
    assert_eq!(
        b.get_msg_secret_with_ts("c", s, "late").await.unwrap(),
        Some((vec![2; 32], 20))
    );

    // Read the merged deadlines back through expiry.
    assert_eq!(
        b.delete_expired_msg_secrets(399).await.unwrap(),
        1,
        "late (200) goes; batch kept 400"
    );
    assert!(b.get_msg_secret("c", s, "late").await.unwrap().is_none());
    assert!(b.get_msg_secret("c", s, "batch").await.unwrap().is_some());
    assert_eq!(
        b.delete_expired_msg_secrets(i64::MAX).await.unwrap(),
        1,
        "batch; never1 and never2 stay"
    );
    assert!(b.get_msg_secret("c", s, "never1").await.unwrap().is_some());
    assert!(b.get_msg_secret("c", s, "never2").await.unwrap().is_some());
}

fn json(device: &whatsapp_rust::wacore::store::Device) -> serde_json::Value {
    serde_json::to_value(device).unwrap()
}

async fn device_row(b: Arc<dyn Backend>) {
    assert!(!b.exists().await.unwrap());
    assert!(b.load().await.unwrap().is_none());
    b.create().await.unwrap();
    assert!(b.exists().await.unwrap(), "create makes the row");
    let created = b.load().await.unwrap().unwrap();
    b.create().await.unwrap();
    assert_eq!(
        json(&b.load().await.unwrap().unwrap()),
        json(&created),
        "a second create keeps the identity"
    );

    let mut device = created.clone();
    device.push_name = "Alice".to_owned();
    device.pn = Some("15550001111:3@s.whatsapp.net".parse().unwrap());
    device.lid = Some("100000012345678:3@lid".parse().unwrap());
    device.next_pre_key_id = 812;
    device.server_has_prekeys = true;
    device.edge_routing_info = Some(vec![1, 2, 3]);
    device.login_counter = 4;
    b.save(&device).await.unwrap();
    let loaded = b.load().await.unwrap().unwrap();
    assert_eq!(json(&loaded), json(&device), "every persisted field round-trips");
    assert_eq!(loaded.identity_key.public_key, device.identity_key.public_key);
    assert_eq!(
        loaded.noise_key.private_key.serialize(),
        device.noise_key.private_key.serialize()
    );
    assert_eq!(
        *loaded.device_props,
        *whatsapp_rust::wacore::store::device::DEVICE_PROPS,
        "the client's device props are the library defaults"
    );
}

async fn large_batches(b: Arc<dyn Backend>) {
    // Big enough that the SQL store splits every write into several statements.
    let keys: Vec<(u32, Bytes)> = (1..=10_000u32)
        .map(|id| (id, Bytes::from(id.to_be_bytes().to_vec())))
        .collect();
    b.store_prekeys_batch(&keys, false).await.unwrap();
    let ids: Vec<u32> = keys.iter().map(|(id, _)| *id).collect();
    assert_eq!(b.load_prekeys_batch(&ids).await.unwrap(), keys);
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 10_000);
    b.mark_prekeys_uploaded(&ids).await.unwrap();

    let macs: Vec<AppStateMutationMAC> = (0..8_000u32)
        .map(|i| {
            let mut index = [0u8; 32];
            index[..4].copy_from_slice(&i.to_be_bytes());
            AppStateMutationMAC {
                index_mac: index.to_vec(),
                value_mac: i.to_le_bytes().to_vec(),
            }
        })
        .collect();
    b.put_mutation_macs("regular", 1, &macs).await.unwrap();
    let indexes: Vec<[u8; 32]> = macs.iter().map(|m| m.index_mac.clone().try_into().unwrap()).collect();
    let found = b.get_mutation_macs("regular", &indexes).await.unwrap();
    assert_eq!(found.len(), 8_000);
    assert!(macs.iter().all(|m| found[m.index_mac.as_slice()] == m.value_mac));

    let secrets: Vec<MsgSecretEntry> = (0..5_000).map(|i| secret("c", &format!("m{i}"), 1, 0, i)).collect();
    assert_eq!(b.put_msg_secrets(secrets).await.unwrap(), 5_000);
    assert_eq!(
        b.get_msg_secret_with_ts("c", "s@s.whatsapp.net", "m4999")
            .await
            .unwrap(),
        Some((vec![1; 32], 4999))
    );
}

// ---------------------------------------------------------------------------------------------
// SQL store only: sessions sharing a database.
// ---------------------------------------------------------------------------------------------

/// Writes at least one row to every device-store table.
async fn populate(b: &DeviceStore, tag: u8) {
    b.create().await.unwrap();
    b.put_identity("1@s.whatsapp.net", [tag; 32]).await.unwrap();
    b.put_session("1@s.whatsapp.net", &[tag]).await.unwrap();
    b.store_prekey(1, &[tag], false).await.unwrap();
    b.store_signed_prekey(1, &[tag]).await.unwrap();
    b.put_sender_key("g::1", &[tag]).await.unwrap();
    b.set_sync_key(&[tag], sync_key(tag, 1)).await.unwrap();
    b.set_version(
        "regular",
        HashState {
            version: u64::from(tag),
            ..HashState::default()
        },
    )
    .await
    .unwrap();
    b.put_mutation_macs("regular", 1, &[mac(1, tag)]).await.unwrap();
    b.save_base_key("1@s.whatsapp.net", "m", &[tag]).await.unwrap();
    b.update_device_list(device_list("1", &[0, u32::from(tag)], 1))
        .await
        .unwrap();
    b.put_group_metadata("g@g.us", &[tag]).await.unwrap();
    b.put_lid_mapping(&mapping("100", &format!("55{tag}"), 1, "usync"))
        .await
        .unwrap();
    b.set_sender_key_status("g@g.us", &[("1:1@lid", true)]).await.unwrap();
    b.put_tc_token("1@lid", &token(&[tag], 1, None)).await.unwrap();
    b.store_sent_message("1@s.whatsapp.net", "m", &[tag]).await.unwrap();
    b.store_pending_inbound("c", "s", "m", &[tag]).await.unwrap();
    b.put_msg_secret("c", "s", "m", &[tag; 32]).await.unwrap();
}

/// Every `wa_` table of the schema, read from the database itself (not from the store's list).
async fn schema_tables(db: &Db) -> Vec<String> {
    let sql = match db.engine {
        Engine::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'wa\\_%' ESCAPE '\\'",
        Engine::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name LIKE 'wa\\_%' ESCAPE '\\'"
        }
    };
    let rows = sqlx::query(sql).fetch_all(&db.pool).await.unwrap();
    let mut tables: Vec<String> = rows.iter().map(|r| r.get::<String, _>("name")).collect();
    tables.sort();
    tables
}

/// Rows of `session` per `wa_` table.
async fn row_counts(db: &Db, session: &str) -> Vec<(String, i64)> {
    let mut counts = Vec::new();
    for table in schema_tables(db).await {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE session = $1"
        )))
        .bind(session)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        counts.push((table, count));
    }
    counts
}

async fn sessions_are_isolated_on(kind: common::Backend) {
    let Some((db, _dir)) = fresh_db(kind).await else {
        return;
    };
    let alice = DeviceStore::new(db.clone(), "alice", None);
    let bob = DeviceStore::new(db.clone(), "bob", None);
    populate(&alice, 1).await;

    // Nothing alice wrote is visible to bob.
    assert!(!bob.exists().await.unwrap());
    assert!(!device::exists(&db, "bob").await.unwrap());
    assert!(device::exists(&db, "alice").await.unwrap());
    assert!(bob.load().await.unwrap().is_none());
    assert!(bob.load_identity("1@s.whatsapp.net").await.unwrap().is_none());
    assert!(!bob.has_session("1@s.whatsapp.net").await.unwrap());
    assert!(!bob.has_signal_state_for_user("1").await.unwrap());
    assert_eq!(bob.get_max_prekey_id().await.unwrap(), 0);
    assert!(bob.load_all_signed_prekeys().await.unwrap().is_empty());
    assert!(bob.get_sender_key("g::1").await.unwrap().is_none());
    assert!(bob.get_latest_sync_key_id().await.unwrap().is_none());
    assert_eq!(bob.get_version("regular").await.unwrap().version, 0);
    assert!(bob.get_mutation_mac("regular", &[1; 32]).await.unwrap().is_none());
    assert!(!bob.has_same_base_key("1@s.whatsapp.net", "m", &[1]).await.unwrap());
    assert!(bob.get_devices("1").await.unwrap().is_none());
    assert!(bob.get_group_metadata("g@g.us").await.unwrap().is_none());
    assert!(bob.get_all_lid_mappings().await.unwrap().is_empty());
    assert!(bob.get_sender_key_devices("g@g.us").await.unwrap().is_empty());
    assert!(bob.get_all_tc_token_jids().await.unwrap().is_empty());
    assert!(bob.take_sent_message("1@s.whatsapp.net", "m").await.unwrap().is_none());
    assert!(bob.get_pending_inbound("c", "s", "m").await.unwrap().is_none());
    assert!(bob.get_msg_secret("c", "s", "m").await.unwrap().is_none());

    // Bob's writes to the same keys leave alice's rows alone, and bob's expiry and clears too.
    populate(&bob, 2).await;
    bob.clear_all_sender_key_devices().await.unwrap();
    bob.clear_mutation_macs("regular").await.unwrap();
    assert_eq!(bob.delete_expired_sent_messages(i64::MAX).await.unwrap(), 1);
    assert_eq!(bob.delete_expired_msg_secrets(i64::MAX).await.unwrap(), 0);
    assert_eq!(bob.delete_expired_tc_tokens(i64::MAX, i64::MAX).await.unwrap(), 1);
    assert_eq!(alice.load_identity("1@s.whatsapp.net").await.unwrap(), Some([1; 32]));
    assert_eq!(alice.get_sender_key_devices("g@g.us").await.unwrap().len(), 1);
    assert!(alice.get_mutation_mac("regular", &[1; 32]).await.unwrap().is_some());
    assert_eq!(
        alice.take_sent_message("1@s.whatsapp.net", "m").await.unwrap(),
        Some(vec![1])
    );
    assert_eq!(alice.get_all_tc_token_jids().await.unwrap(), ["1@lid"]);
    assert_eq!(alice.get_pn_mapping("551").await.unwrap().unwrap().lid, "100");
    assert!(alice.get_pn_mapping("552").await.unwrap().is_none());
}

async fn wipe_empties_one_session_on(kind: common::Backend) {
    let Some((db, _dir)) = fresh_db(kind).await else {
        return;
    };
    let alice = DeviceStore::new(db.clone(), "alice", None);
    let bob = DeviceStore::new(db.clone(), "bob", None);
    populate(&alice, 1).await;
    populate(&bob, 2).await;

    let tables = schema_tables(&db).await;
    assert_eq!(tables.len(), 18, "the device store has 18 tables: {tables:?}");
    let bob_before = row_counts(&db, "bob").await;
    for (table, count) in row_counts(&db, "alice").await {
        assert!(
            count > 0,
            "populate writes no row to {table}: extend it for the new table"
        );
    }

    device::wipe(&db, "alice").await.unwrap();
    for (table, count) in row_counts(&db, "alice").await {
        assert_eq!(count, 0, "wipe left rows of the session in {table}");
    }
    assert_eq!(row_counts(&db, "bob").await, bob_before, "wipe touched another session");
    assert!(!device::exists(&db, "alice").await.unwrap());
    assert!(device::exists(&db, "bob").await.unwrap());
    device::wipe(&db, "alice").await.unwrap();
}

#[tokio::test]
async fn sqlite_sessions_are_isolated() {
    sessions_are_isolated_on(common::Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_sessions_are_isolated() {
    sessions_are_isolated_on(common::Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_wipe_empties_one_session() {
    wipe_empties_one_session_on(common::Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_wipe_empties_one_session() {
    wipe_empties_one_session_on(common::Backend::Postgres).await;
}

/// A fresh PostgreSQL database (when configured) where server `srv_old` holds the lease of
/// session `alice`, with that lease's fence.
async fn leased_db() -> Option<(Db, tempfile::TempDir, cluster::Fence)> {
    let (db, dir) = fresh_db(common::Backend::Postgres).await?;
    let old = cluster::acquire(&db, cluster::SESSION, "alice", "srv_old", 60_000)
        .await
        .unwrap()
        .expect("the first lease");
    Some((db, dir, old))
}

/// Several servers on one PostgreSQL: a store writing under a session lease's fence writes
/// while the lease is its own; once the lease has expired and another server took it (the old
/// owner was paused past it), every kind of write through the old fence is refused and changes
/// nothing, and the new owner's writes go through.
#[tokio::test]
async fn postgres_writes_under_a_lost_lease_are_refused() {
    let Some((db, _dir, old)) = leased_db().await else {
        return;
    };
    let paused = DeviceStore::new(db.clone(), "alice", Some(old));
    populate(&paused, 1).await;
    let before = row_counts(&db, "alice").await;

    // The old owner stops renewing; its lease expires and another server takes it.
    sqlx::query("UPDATE leases SET expires_at = 0 WHERE name = 'alice'")
        .execute(&db.pool)
        .await
        .unwrap();
    let new = cluster::acquire(&db, cluster::SESSION, "alice", "srv_new", 60_000)
        .await
        .unwrap()
        .expect("the lease, taken over");
    assert!(new.token > 1, "{new:?}");

    // More pre-keys than one statement carries: a write of two statements, the lease checked in
    // the first.
    let many: Vec<(u32, Bytes)> = (100..400).map(|id| (id, Bytes::from_static(&[9]))).collect();
    let refused = [
        paused.put_identity("1@s.whatsapp.net", [9; 32]).await.err(),
        paused.store_prekeys_batch(&many, false).await.err(),
        paused.put_session("1@s.whatsapp.net", &[9]).await.err(),
        paused.put_session("2@s.whatsapp.net", &[9]).await.err(),
        paused.delete_session("1@s.whatsapp.net").await.err(),
        paused
            .store_prekeys_batch(&[(2, Bytes::from_static(&[9]))], false)
            .await
            .err(),
        paused.remove_prekey(1).await.err(),
        paused.put_sender_key("g::1", &[9]).await.err(),
        paused.store_sent_message("1@s.whatsapp.net", "m2", &[9]).await.err(),
        paused.take_sent_message("1@s.whatsapp.net", "m").await.err(),
        paused.store_pending_inbound("c", "s", "m2", &[9]).await.err(),
        paused.put_msg_secret("c", "s", "m2", &[9; 32]).await.err(),
        paused.delete_expired_msg_secrets(i64::MAX).await.err(),
        paused.clear_mutation_macs("regular").await.err(),
    ];
    for (n, error) in refused.iter().enumerate() {
        let error = error
            .as_ref()
            .unwrap_or_else(|| panic!("write {n} went through a lost lease"));
        let mut chain = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            chain = format!("{chain}: {cause}");
            source = cause.source();
        }
        assert!(
            chain.contains("no longer holds the lease of `alice`"),
            "write {n}: {chain}"
        );
    }
    assert_eq!(row_counts(&db, "alice").await, before, "a refused write changed a row");
    assert_eq!(paused.load_identity("1@s.whatsapp.net").await.unwrap(), Some([1; 32]));
    assert_eq!(
        paused.get_session("1@s.whatsapp.net").await.unwrap().as_deref(),
        Some(&[1u8][..])
    );

    // The new owner writes.
    let owner = DeviceStore::new(db.clone(), "alice", Some(new));
    owner.put_session("1@s.whatsapp.net", &[2]).await.unwrap();
    owner.store_prekeys_batch(&many, false).await.unwrap();
    let prekeys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM wa_prekeys WHERE session = 'alice' AND id >= 100")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(prekeys, 300);
    assert_eq!(
        owner.take_sent_message("1@s.whatsapp.net", "m").await.unwrap(),
        Some(vec![1])
    );
    assert_eq!(
        owner.get_session("1@s.whatsapp.net").await.unwrap().as_deref(),
        Some(&[2u8][..])
    );
}

/// A change of hands and the writes of the lease's old owner never overlap: a takeover waits
/// for the writes that passed their check to commit, and a write that checks while a takeover
/// is under way waits for it, then is refused. A renewal, which keeps the owner, waits for no
/// write.
#[tokio::test]
async fn postgres_a_takeover_waits_for_the_writes_under_way() {
    let Some((db, _dir, old)) = leased_db().await else {
        return;
    };
    let soon = Duration::from_secs(5);

    // The old owner's write under way: checked, not committed.
    let mut write = db.begin_write().await.unwrap();
    cluster::check(&mut write, "alice", &old).await.unwrap();
    sqlx::query("INSERT INTO wa_sessions (session, address, record) VALUES ('alice', 'before', $1)")
        .bind(vec![1u8])
        .execute(&mut *write)
        .await
        .unwrap();
    let renewed = tokio::time::timeout(soon, cluster::renew(&db, "srv_old", 60_000))
        .await
        .expect("a renewal waited for a write")
        .unwrap();
    assert_eq!(renewed.len(), 1, "{renewed:?}");

    // The lease expires; another server takes it, and waits for the write.
    sqlx::query("UPDATE leases SET expires_at = 0 WHERE name = 'alice'")
        .execute(&db.pool)
        .await
        .unwrap();
    let takeover = tokio::spawn({
        let db = db.clone();
        async move { cluster::acquire(&db, cluster::SESSION, "alice", "srv_new", 60_000).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!takeover.is_finished(), "the lease changed hands under a write");
    write.commit().await.unwrap();
    let new = tokio::time::timeout(soon, takeover)
        .await
        .expect("the takeover still waits after the write committed")
        .unwrap()
        .unwrap()
        .expect("the lease, taken over");
    assert!(new.token > old.token, "{new:?}");
    let kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM wa_sessions WHERE session = 'alice' AND address = 'before'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(kept, 1, "the write that passed its check was lost");

    // A third server takes the lease over in a transaction left open: the new owner's write
    // checks meanwhile, waits, and is refused once the lease has changed hands.
    let mut handover = db.begin_write().await.unwrap();
    sqlx::query("UPDATE leases SET owner = 'srv_third', token = token + 1 WHERE name = 'alice'")
        .execute(&mut *handover)
        .await
        .unwrap();
    let late = tokio::spawn({
        let (db, new) = (db.clone(), new.clone());
        async move {
            let mut write = db.begin_write().await.unwrap();
            cluster::check(&mut write, "alice", &new).await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!late.is_finished(), "a write checked the lease while it changed hands");
    handover.commit().await.unwrap();
    let refused = tokio::time::timeout(soon, late)
        .await
        .expect("the write still waits after the change of hands")
        .unwrap()
        .expect_err("a write went through a lease that changed hands");
    assert!(
        refused.to_string().contains("no longer holds the lease of `alice`"),
        "{refused:#}"
    );
}

/// Two servers on one database (two `Db`s on one file or schema): a server keeps the LID
/// mappings it read while it runs a session, and the mappings another server wrote while it
/// ran the session are read again when this server starts running it (a new `DeviceStore`).
async fn a_session_started_again_reads_the_mappings_another_server_wrote(backend: common::Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = common::database_url(backend, &dir).await else {
        return;
    };
    let (here, there) = (Db::connect(&url).await.unwrap(), Db::connect(&url).await.unwrap());
    let first_run = DeviceStore::new(here.clone(), "alice", None);
    assert!(first_run.get_lid_mapping("100").await.unwrap().is_none());
    assert!(first_run.get_pn_mapping("555").await.unwrap().is_none());

    // The session moved to the other server, which learned a mapping.
    let elsewhere = DeviceStore::new(there, "alice", None);
    elsewhere
        .put_lid_mapping(&mapping("100", "555", 1000, "usync"))
        .await
        .unwrap();

    let second_run = DeviceStore::new(here.clone(), "alice", None);
    let by_lid = second_run.get_lid_mapping("100").await.unwrap();
    assert_eq!(by_lid.map(|m| m.phone_number), Some("555".to_owned()), "{backend:?}");
    let by_phone = second_run.get_pn_mapping("555").await.unwrap();
    assert_eq!(by_phone.map(|m| m.lid), Some("100".to_owned()), "{backend:?}");
}

#[tokio::test]
async fn sqlite_a_session_started_again_reads_the_mappings_another_server_wrote() {
    a_session_started_again_reads_the_mappings_another_server_wrote(common::Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_a_session_started_again_reads_the_mappings_another_server_wrote() {
    a_session_started_again_reads_the_mappings_another_server_wrote(common::Backend::Postgres).await;
}

/// A mapping write whose caller gave up once it was under way still lands, and the store reads
/// it afterwards instead of the answer it kept from before.
async fn a_mapping_write_given_up_is_read_once_it_lands(kind: Kind) {
    run(kind, |b| async move {
        assert!(
            b.get_lid_mapping("100").await.unwrap().is_none(),
            "kept: no mapping yet"
        );
        let put = mapping("100", "555", 1000, "usync");
        // Polled once (the write is handed over), then dropped. (A zero timeout is not once: its
        // timer fires at the clock's next tick, and a fast write may end before it.)
        let mut write = b.put_lid_mapping(&put);
        let polled = futures::poll!(write.as_mut());
        assert!(polled.is_pending(), "the write had not ended when its caller gave up");
        drop(write);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(read) = b.get_lid_mapping("100").await.unwrap() {
                assert_eq!(read.phone_number, "555");
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{kind:?}: the mapping never became readable"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn sqlite_a_mapping_write_given_up_is_read_once_it_lands() {
    a_mapping_write_given_up_is_read_once_it_lands(Kind::Sqlite).await;
}

#[tokio::test]
async fn postgres_a_mapping_write_given_up_is_read_once_it_lands() {
    a_mapping_write_given_up_is_read_once_it_lands(Kind::Postgres).await;
}
