//! Text between two real whatsapp-rust clients through the emulator: fan-out, receipts, offline queue.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;

use common::{Companion, connect, jid, pair, text};
use wa_emulator::Emulator;
use whatsapp_rust::prelude::Event;
use whatsapp_rust::store::traits::Backend;
use whatsapp_rust::types::presence::{ChatPresence, ReceiptType};

async fn received_text(companion: &mut Companion) -> (String, String, bool) {
    companion
        .wait_for("a message", |e| match e {
            Event::Messages(batch) => batch.messages.iter().find_map(|m| {
                let body = m.message.conversation.clone()?;
                Some((body, m.info.id.to_string(), m.info.is_offline))
            }),
            _ => None,
        })
        .await
}

async fn receipt(companion: &mut Companion, id: &str, kind: ReceiptType) {
    companion
        .wait_for("a receipt", |e| match e {
            Event::Receipt(r) if r.r#type == kind && r.message_ids.iter().any(|m| m.as_str() == id) => Some(()),
            _ => None,
        })
        .await;
}

#[tokio::test]
async fn text_receipts_presence_typing_blocking_and_the_offline_queue() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (mut alice, alice_device) = pair(&emulator, "15550000001", "alice").await;
    let bob_keys: Arc<dyn Backend> = Arc::new(whatsapp_rust::wacore::store::InMemoryBackend::new());
    let (mut bob, bob_device) = common::pair_with(&emulator, Arc::clone(&bob_keys), "15550000002", "bob").await;
    emulator.wait_for_prekeys("15550000002", bob_device).await;
    emulator.wait_for_prekeys("15550000001", alice_device).await;

    let bob_jid: whatsapp_rust::Jid = jid("15550000002");
    let alice_jid: whatsapp_rust::Jid = jid("15550000001");
    let sent = alice
        .handle
        .client()
        .send_message(bob_jid.clone(), text("hello bob"))
        .await
        .unwrap();
    let (body, id, offline) = received_text(&mut bob).await;
    assert_eq!(
        (body.as_str(), id.as_str(), offline),
        ("hello bob", sent.message_id.as_str(), false)
    );
    receipt(&mut alice, &sent.message_id, ReceiptType::Delivered).await;

    bob.handle
        .client()
        .mark_as_read(&alice_jid, None, &[id.as_str()])
        .await
        .unwrap();
    receipt(&mut alice, &sent.message_id, ReceiptType::Read).await;

    // Presence and typing: Alice subscribes to Bob, sees him come online, then sees him type.
    alice
        .handle
        .client()
        .presence()
        .subscribe(bob_jid.clone())
        .await
        .unwrap();
    bob.handle.client().presence().set_available().await.unwrap();
    alice
        .wait_for("Bob available", |e| match e {
            Event::Presence(p) if p.from.user.as_str() == "15550000002" && !p.unavailable => Some(()),
            _ => None,
        })
        .await;
    bob.handle
        .client()
        .chatstate()
        .send_composing(&alice_jid)
        .await
        .unwrap();
    alice
        .wait_for("Bob typing", |e| match e {
            Event::ChatPresence(c) if c.state == ChatPresence::Composing => Some(()),
            _ => None,
        })
        .await;
    bob.handle.client().presence().set_unavailable().await.unwrap();
    let last_seen = alice
        .wait_for("Bob away", |e| match e {
            Event::Presence(p) if p.from.user.as_str() == "15550000002" && p.unavailable => Some(p.last_seen),
            _ => None,
        })
        .await;
    assert!(
        last_seen.is_some(),
        "an unavailable presence carries the last-seen time"
    );

    // Bob goes offline; Alice's next message waits for him and arrives when he is back.
    bob.handle.shutdown().await;
    emulator.wait_until_offline("15550000002", bob_device).await;
    let queued = alice
        .handle
        .client()
        .send_message(bob_jid.clone(), text("while you were away"))
        .await
        .unwrap();
    emulator.wait_for_queued("15550000002", bob_device, 1).await;
    let mut bob = connect(&emulator, bob_keys, "bob").await;
    let (body, id, offline) = received_text(&mut bob).await;
    assert_eq!(
        (body.as_str(), id.as_str(), offline),
        ("while you were away", queued.message_id.as_str(), true)
    );
    receipt(&mut alice, &queued.message_id, ReceiptType::Delivered).await;

    // And Bob can answer.
    let reply = bob
        .handle
        .client()
        .send_message(alice_jid.clone(), text("back now"))
        .await
        .unwrap();
    let (body, id, _) = received_text(&mut alice).await;
    assert_eq!((body.as_str(), id.as_str()), ("back now", reply.message_id.as_str()));

    // Bob blocks Alice: her next message is not delivered; after he unblocks, messages flow again.
    let blocking = bob.handle.client();
    blocking.blocking().block(&alice_jid).await.unwrap();
    assert_eq!(blocking.blocking().get_blocklist().await.unwrap().len(), 1);
    alice
        .handle
        .client()
        .send_message(bob_jid.clone(), text("are you there?"))
        .await
        .unwrap();
    // `send_message` returns once the stanza is written, not once the server has routed it; an
    // IQ answered on Alice's connection proves the server handled the message before it, so the
    // unblock cannot overtake it.
    alice.handle.client().blocking().get_blocklist().await.unwrap();
    blocking.blocking().unblock(&alice_jid).await.unwrap();
    assert!(blocking.blocking().get_blocklist().await.unwrap().is_empty());
    let after = alice
        .handle
        .client()
        .send_message(bob_jid, text("unblocked"))
        .await
        .unwrap();
    let (body, id, _) = received_text(&mut bob).await;
    assert_eq!(
        (body.as_str(), id.as_str()),
        ("unblocked", after.message_id.as_str()),
        "the blocked message never arrived"
    );

    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

#[tokio::test]
async fn a_message_damaged_in_transit_is_retried_and_arrives() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (mut alice, alice_device) = pair(&emulator, "15550000031", "alice").await;
    let (mut bob, bob_device) = pair(&emulator, "15550000032", "bob").await;
    emulator.wait_for_prekeys("15550000031", alice_device).await;
    emulator.wait_for_prekeys("15550000032", bob_device).await;
    let bob_jid: whatsapp_rust::Jid = jid("15550000032");
    let alice_jid: whatsapp_rust::Jid = jid("15550000031");

    // One message establishes the session both ways.
    let first = alice
        .handle
        .client()
        .send_message(bob_jid.clone(), text("first"))
        .await
        .unwrap();
    assert_eq!(received_text(&mut bob).await.1, first.message_id);
    bob.handle.client().send_message(alice_jid, text("ack")).await.unwrap();
    received_text(&mut alice).await;

    // The next one arrives damaged: Bob cannot decrypt it, sends a retry receipt, the emulator
    // relays it to Alice, and her client re-encrypts; Bob gets the message after all.
    emulator
        .inject("15550000032", bob_device, wa_emulator::Fault::CorruptNextMessage)
        .unwrap();
    let second = alice
        .handle
        .client()
        .send_message(bob_jid, text("second"))
        .await
        .unwrap();
    let (body, id, _) = received_text(&mut bob).await;
    assert_eq!((body.as_str(), id.as_str()), ("second", second.message_id.as_str()));
    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
    emulator.stop().await.unwrap();
}
