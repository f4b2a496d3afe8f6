//! The phone's and the server's ways of ending a session, seen by real clients: unlink, a
//! replaced stream, a temporary ban (and its end), refused logins, a second connection of one
//! device.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{connect, pair_with};
use wa_emulator::{Emulator, Fault};
use whatsapp_rust::prelude::Event;
use whatsapp_rust::store::traits::Backend;

fn store() -> Arc<dyn Backend> {
    Arc::new(whatsapp_rust::wacore::store::InMemoryBackend::new())
}

#[tokio::test]
async fn unlinking_logs_the_device_out_for_good() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let keys = store();
    let (mut companion, device) = pair_with(&emulator, Arc::clone(&keys), "15550000011", "carol").await;
    emulator.unlink("15550000011", device).unwrap();
    companion
        .wait_for("LoggedOut", |e| matches!(e, Event::LoggedOut(_)).then_some(()))
        .await;
    companion.handle.shutdown().await;

    let mut again = connect(&emulator, keys, "carol").await;
    let at_login = again
        .wait_for("LoggedOut at login", |e| match e {
            Event::LoggedOut(out) => Some(out.on_connect),
            Event::Connected(_) => panic!("an unlinked device logged in"),
            _ => None,
        })
        .await;
    assert!(at_login, "the refusal came at login");
    again.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

#[tokio::test]
async fn a_replaced_stream_is_reported() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (mut companion, device) = pair_with(&emulator, store(), "15550000012", "dave").await;
    emulator.inject("15550000012", device, Fault::Replaced).unwrap();
    companion
        .wait_for("StreamReplaced", |e| {
            matches!(e, Event::StreamReplaced(_)).then_some(())
        })
        .await;
    companion.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

#[tokio::test]
async fn a_temporary_ban_reports_its_expiry_and_ends() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let keys = store();
    let (mut companion, _) = pair_with(&emulator, Arc::clone(&keys), "15550000013", "erin").await;
    let ban = Duration::from_secs(3);
    let ends = tokio::time::Instant::now() + ban;
    emulator.ban("15550000013", 102, ban).unwrap();
    let expire = companion
        .wait_for("TemporaryBan", |e| match e {
            Event::TemporaryBan(ban) => Some(ban.expire),
            _ => None,
        })
        .await;
    assert!(
        expire > chrono::Duration::zero() && expire <= chrono::Duration::seconds(3),
        "{expire:?}"
    );
    companion.handle.shutdown().await;

    // The ban is over when its time is: the same keys log in again.
    tokio::time::sleep_until(ends).await;
    let mut again = connect(&emulator, keys, "erin").await;
    again
        .wait_for("Connected after the ban", |e| {
            matches!(e, Event::Connected(_)).then_some(())
        })
        .await;
    again.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

#[tokio::test]
async fn refused_logins_log_out_until_allowed() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let keys = store();
    let (companion, _) = pair_with(&emulator, Arc::clone(&keys), "15550000014", "frank").await;
    companion.handle.shutdown().await;
    emulator.refuse_logins("15550000014", Some(403));
    let mut refused = connect(&emulator, Arc::clone(&keys), "frank").await;
    refused
        .wait_for("LoggedOut", |e| matches!(e, Event::LoggedOut(_)).then_some(()))
        .await;
    refused.handle.shutdown().await;
    emulator.refuse_logins("15550000014", None);
    let mut allowed = connect(&emulator, keys, "frank").await;
    allowed
        .wait_for("Connected", |e| matches!(e, Event::Connected(_)).then_some(()))
        .await;
    allowed.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

#[tokio::test]
async fn a_dropped_connection_reconnects_and_loses_no_message() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (alice, alice_device) = pair_with(&emulator, store(), "15550000021", "alice").await;
    let (mut bob, bob_device) = pair_with(&emulator, store(), "15550000022", "bob").await;
    emulator.wait_for_prekeys("15550000021", alice_device).await;
    emulator.wait_for_prekeys("15550000022", bob_device).await;

    // Bob's socket dies; Alice sends at once, while his client is still finding out.
    let before = emulator.handshakes().len();
    emulator.inject("15550000022", bob_device, Fault::Drop).unwrap();
    let sent = alice
        .handle
        .client()
        .send_message(common::jid("15550000022"), common::text("sent into the gap"))
        .await
        .unwrap();
    // Offline messages are handed over before the client reports Connected, so wait for the
    // message itself; the new handshake shows it came over a new connection.
    let id = bob
        .wait_for("the message", |e| match e {
            Event::Messages(batch) => batch
                .messages
                .iter()
                .find(|m| m.message.conversation.as_deref() == Some("sent into the gap"))
                .map(|m| m.info.id.to_string()),
            _ => None,
        })
        .await;
    assert_eq!(id, sent.message_id);
    assert!(
        emulator.handshakes().len() > before,
        "Bob came back on a new connection"
    );
    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

#[tokio::test]
async fn a_second_connection_of_a_connected_device_is_refused_and_counted() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let keys = store();
    let (mut alice, alice_device) = pair_with(&emulator, keys.clone(), "15550000031", "alice").await;
    let (bob, bob_device) = pair_with(&emulator, store(), "15550000032", "bob").await;
    emulator.wait_for_prekeys("15550000031", alice_device).await;
    emulator.wait_for_prekeys("15550000032", bob_device).await;
    assert_eq!(emulator.stats().concurrent_logins, 0);

    // A second client on Alice's keys (two servers running one session) is turned away.
    let mut twin = connect(&emulator, keys, "alice").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while emulator.stats().concurrent_logins == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the second login was not refused"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The first connection keeps the device: Bob's message reaches it, not the twin.
    bob.handle
        .client()
        .send_message(common::jid("15550000031"), common::text("to the first connection"))
        .await
        .unwrap();
    alice
        .wait_for("the message", |e| match e {
            Event::Messages(batch) => batch
                .messages
                .iter()
                .any(|m| m.message.conversation.as_deref() == Some("to the first connection"))
                .then_some(()),
            _ => None,
        })
        .await;
    while let Ok(event) = twin.events.try_recv() {
        assert!(!matches!(*event, Event::Connected(_)), "the twin connected");
    }
    twin.handle.shutdown().await;
    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
    emulator.stop().await.unwrap();
}
