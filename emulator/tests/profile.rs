//! Profiles and contacts between real clients: about text, profile picture, push name, the
//! "is on WhatsApp" lookup, and read receipts switched off by privacy.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{Companion, jid, media_client, pair, text};
use wa_emulator::Emulator;
use whatsapp_rust::http::{HttpClient, HttpRequest};
use whatsapp_rust::prelude::Event;
use whatsapp_rust::types::presence::ReceiptType;
use whatsapp_rust::wacore::iq::privacy::{PrivacyCategory, PrivacyValue};

/// The id and sender push name of the next text `body`; fails on a read receipt seen first.
async fn text_without_read_receipt(companion: &mut Companion, body: &str) -> (String, String) {
    companion
        .wait_for("a message", |e| match e {
            Event::Receipt(r) if r.r#type == ReceiptType::Read => panic!("a read receipt leaked: {r:?}"),
            Event::Messages(batch) => batch.messages.iter().find_map(|m| {
                (m.message.conversation.as_deref() == Some(body))
                    .then(|| (m.info.id.to_string(), m.info.push_name.clone()))
            }),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn about_picture_push_name_lookup_and_read_receipt_privacy() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (a, b) = ("15550000301", "15550000302");
    let (mut alice, alice_device) = pair(&emulator, a, "alice").await;
    let (mut bob, bob_device) = pair(&emulator, b, "bob").await;
    emulator.wait_for_prekeys(a, alice_device).await;
    emulator.wait_for_prekeys(b, bob_device).await;
    let alice_client = alice.handle.client();
    let bob_client = bob.handle.client();

    // About text, seen by a contact through usync.
    alice_client
        .profile()
        .set_status_text("Hiking this week")
        .await
        .unwrap();
    let info = bob_client.contacts().get_user_info(&[jid(a)]).await.unwrap();
    assert_eq!(
        info.get(&jid(a)).and_then(|i| i.status.as_deref()),
        Some("Hiking this week")
    );

    // A profile picture, served by the media host.
    let jpeg = b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9".to_vec();
    let set = alice_client.profile().set_profile_picture(jpeg.clone()).await.unwrap();
    let picture = bob_client
        .contacts()
        .get_profile_picture(&jid(a), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(picture.id, set.id);
    let served = media_client(&emulator)
        .execute(HttpRequest::get(picture.url))
        .await
        .unwrap();
    assert_eq!((served.status_code, served.body), (200, jpeg));
    assert!(
        bob_client
            .contacts()
            .get_profile_picture(&jid(b), false)
            .await
            .unwrap()
            .is_none()
    );

    // Who is on WhatsApp.
    let lookup = bob_client
        .contacts()
        .is_on_whatsapp(&[jid(a), jid("15559999999")])
        .await
        .unwrap();
    let registered: Vec<(String, bool)> = lookup
        .iter()
        .map(|r| (r.jid.user.to_string(), r.is_registered))
        .collect();
    assert!(registered.contains(&(a.to_owned(), true)), "{registered:?}");
    assert!(
        registered.contains(&("15559999999".to_owned(), false)),
        "{registered:?}"
    );

    // A new push name travels with Alice's next message.
    alice_client.profile().set_push_name("Alice B.").await.unwrap();
    alice_client.send_message(jid(b), text("new name")).await.unwrap();
    let (id, name) = text_without_read_receipt(&mut bob, "new name").await;
    assert_eq!(name, "Alice B.");

    // Bob turns read receipts off: reading Alice's message tells her nothing.
    bob_client
        .set_privacy_setting(PrivacyCategory::ReadReceipts, PrivacyValue::None)
        .await
        .unwrap();
    let settings = bob_client.fetch_privacy_settings().await.unwrap();
    assert_eq!(
        settings.get_value(&PrivacyCategory::ReadReceipts),
        Some(&PrivacyValue::None)
    );
    bob_client.mark_as_read(&jid(a), None, &[id.as_str()]).await.unwrap();
    bob_client.send_message(jid(a), text("read it")).await.unwrap();
    text_without_read_receipt(&mut alice, "read it").await;

    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
    emulator.stop().await.unwrap();
}
