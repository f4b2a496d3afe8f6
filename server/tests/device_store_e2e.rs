//! Real whatsapp-rust clients on `DeviceStore` against the emulator: a QR-paired client logs in
//! again from the database alone (Noise IK, no QR), and two clients keeping their Signal state in
//! one database exchange text, also after one of them restarts. On SQLite, and on PostgreSQL when
//! `TITAN_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use titan_server::store::Db;
use titan_server::store::device::{self, DeviceStore};
use titan_server::whatsapp::http::{HttpClientConfig, ReqwestHttpClient};
use titan_server::whatsapp::transport::SessionTransportFactory;
use wa_emulator::{Emulator, Pattern};
use whatsapp_rust::prelude::{Bot, BotHandle, Event, TokioRuntime};

/// How long one step may take.
const STEP: Duration = Duration::from_secs(45);

/// A running client and its events.
struct Client {
    handle: BotHandle,
    events: tokio::sync::mpsc::UnboundedReceiver<Arc<Event>>,
}

/// A client for `session` of `db`, on a store built just for it, started against `emulator`.
async fn start(emulator: &Emulator, db: &Db, session: &str) -> Client {
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let http = ReqwestHttpClient::new(&HttpClientConfig {
        extra_roots: vec![emulator.media_ca_pem().to_owned()],
        ..Default::default()
    })
    .unwrap();
    let bot = Bot::builder()
        .with_backend_arc(Arc::new(DeviceStore::new(db.clone(), session, None)))
        .with_transport_factory(SessionTransportFactory::new(emulator.ws_url(), None))
        .with_http_client(http)
        .with_runtime(TokioRuntime)
        .with_version((2, 3000, 0))
        .with_push_name(session)
        .on_event(move |event, _client| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event);
            }
        })
        .build()
        .await
        .unwrap();
    Client {
        handle: bot.spawn(),
        events,
    }
}

impl Client {
    /// The first event `pick` accepts, within [`STEP`].
    async fn wait_for<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {STEP:?}"))
                .unwrap_or_else(|| panic!("the client stopped before {what}"));
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    }

    /// Waits for Connected, failing if the client asks to pair instead.
    async fn connected_without_qr(&mut self) {
        self.wait_for("Connected on stored keys", |e| match e {
            Event::PairingQrCode(_) => panic!("a paired device was asked to pair again"),
            Event::Connected(_) => Some(()),
            _ => None,
        })
        .await;
    }

    /// The next text message received, which must decrypt at the first try (a message that
    /// does not, because the Signal state it needs is missing, only arrives after a retry).
    async fn text(&mut self) -> String {
        self.wait_for("a text message", |e| match e {
            Event::UndecryptableMessage(_) => panic!("a message did not decrypt on stored state"),
            Event::Messages(batch) => batch.messages.iter().find_map(|m| m.message.conversation.clone()),
            _ => None,
        })
        .await
    }

    /// Sends `body` to `phone`.
    async fn send(&self, phone: &str, body: &str) {
        let message = whatsapp_rust::waproto::whatsapp::Message {
            conversation: Some(body.to_owned()),
            ..Default::default()
        };
        let to: whatsapp_rust::Jid = format!("{phone}@s.whatsapp.net").parse().unwrap();
        self.handle.client().send_message(to, message).await.unwrap();
    }
}

/// A new client for `session`, linked by QR to `phone`; returns it connected, with its device id.
async fn pair(emulator: &Emulator, db: &Db, session: &str, phone: &str) -> (Client, u32) {
    let mut client = start(emulator, db, session).await;
    let qr = client
        .wait_for("a QR code", |e| match e {
            Event::PairingQrCode(qr) => Some(qr.code.clone()),
            _ => None,
        })
        .await;
    let linked = emulator.scan_qr(&qr, Some(phone)).unwrap();
    client
        .wait_for("Connected", |e| matches!(e, Event::Connected(_)).then_some(()))
        .await;
    (client, linked.device)
}

/// A fresh database of `kind` (its URL, and the directory of its SQLite file).
async fn fresh(kind: common::Backend) -> Option<(String, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let url = common::database_url(kind, &dir).await?;
    Some((url, dir))
}

async fn pairs_then_logs_in_from_the_database(kind: common::Backend) {
    let Some((url, _dir)) = fresh(kind).await else {
        return;
    };
    let db = Db::connect(&url).await.unwrap();
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert!(!device::exists(&db, "alice").await.unwrap());

    let (alice, _) = pair(&emulator, &db, "alice", "15550001111").await;
    assert!(device::exists(&db, "alice").await.unwrap(), "pairing stored the device");
    alice.handle.shutdown().await;
    db.pool.close().await;

    // A new pool, a new store, a new client: everything it knows comes from the database.
    let db = Db::connect(&url).await.unwrap();
    let mut again = start(&emulator, &db, "alice").await;
    again.connected_without_qr().await;
    assert_eq!(
        again.handle.client().pn().map(|j| j.user.to_string()),
        Some("15550001111".to_owned())
    );
    assert_eq!(
        emulator.handshakes().last(),
        Some(&Pattern::Ik),
        "the restart used the stored keys"
    );
    again.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

async fn two_sessions_exchange_text(kind: common::Backend) {
    let Some((url, _dir)) = fresh(kind).await else {
        return;
    };
    let db = Db::connect(&url).await.unwrap();
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (alice_phone, bob_phone) = ("15550002001", "15550002002");
    let (mut alice, alice_device) = pair(&emulator, &db, "alice", alice_phone).await;
    let (mut bob, bob_device) = pair(&emulator, &db, "bob", bob_phone).await;
    emulator.wait_for_prekeys(alice_phone, alice_device).await;
    emulator.wait_for_prekeys(bob_phone, bob_device).await;

    alice.send(bob_phone, "hello bob").await;
    assert_eq!(bob.text().await, "hello bob");
    bob.send(alice_phone, "hello alice").await;
    assert_eq!(alice.text().await, "hello alice");

    // Bob restarts on the database: his Signal sessions were stored, so he reads alice's next
    // message and answers it.
    bob.handle.shutdown().await;
    let mut bob = start(&emulator, &db, "bob").await;
    bob.connected_without_qr().await;
    alice.send(bob_phone, "still there?").await;
    assert_eq!(bob.text().await, "still there?");
    bob.send(alice_phone, "yes").await;
    assert_eq!(alice.text().await, "yes");

    for session in ["alice", "bob"] {
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM wa_sessions WHERE session = $1")
            .bind(session)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert!(rows > 0, "{session} keeps Signal sessions in wa_sessions");
    }
    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

#[tokio::test]
async fn sqlite_pairs_then_logs_in_from_the_database() {
    pairs_then_logs_in_from_the_database(common::Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_pairs_then_logs_in_from_the_database() {
    pairs_then_logs_in_from_the_database(common::Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_two_sessions_exchange_text() {
    two_sessions_exchange_text(common::Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_two_sessions_exchange_text() {
    two_sessions_exchange_text(common::Backend::Postgres).await;
}
