//! Media through the emulator's HTTPS media host: A uploads an image, sends it, and B downloads
//! identical bytes; the host's certificate is trusted only through the emulator's own CA. And
//! media retry: a file the phone sent expires on the CDN, and the phone re-uploads it when a
//! companion asks.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;

use base64::Engine;
use common::{Companion, media_client, pair};
use wa_emulator::{Emulator, PhoneSent};
use whatsapp_rust::download::MediaType;
use whatsapp_rust::http::{HttpClient, HttpRequest};
use whatsapp_rust::media::{ImageOptions, image_message};
use whatsapp_rust::prelude::Event;
use whatsapp_rust::store::traits::Backend;
use whatsapp_rust::upload::UploadOptions;
use whatsapp_rust::waproto::whatsapp::message::ImageMessage;
use whatsapp_rust::{MediaRetryResult, MediaReuploadRequest};

#[tokio::test]
async fn an_image_uploaded_by_a_downloads_identically_at_b() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (alice, alice_device) = pair(&emulator, "15550000201", "alice").await;
    let (mut bob, bob_device) = pair(&emulator, "15550000202", "bob").await;
    emulator.wait_for_prekeys("15550000201", alice_device).await;
    emulator.wait_for_prekeys("15550000202", bob_device).await;

    let picture: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let client = alice.handle.client();
    let uploaded = client
        .upload(picture.clone(), MediaType::Image, UploadOptions::default())
        .await
        .unwrap();
    assert!(uploaded.direct_path.starts_with("/v/"), "{}", uploaded.direct_path);
    let message = image_message(
        uploaded.clone(),
        ImageOptions {
            caption: Some("the view".into()),
            ..Default::default()
        },
    );
    client.send_message(common::jid("15550000202"), message).await.unwrap();

    let image = bob
        .wait_for("an image", |e| match e {
            Event::Messages(batch) => batch
                .messages
                .iter()
                .find_map(|m| m.message.image_message.as_option().cloned()),
            _ => None,
        })
        .await;
    assert_eq!(image.caption.as_deref(), Some("the view"));
    let downloaded = bob.handle.client().download(&image).await.unwrap();
    assert_eq!(downloaded.len(), picture.len());
    assert!(downloaded == picture, "B downloads exactly the bytes A uploaded");

    // The blob is served only with the media_conn token.
    let url = format!("{}{}", emulator.media_url(), uploaded.direct_path);
    let anonymous = media_client(&emulator)
        .execute(HttpRequest::get(url.clone()))
        .await
        .unwrap();
    assert_eq!(anonymous.status_code, 401);
    // A client that does not trust the emulator's CA cannot reach the host at all.
    let untrusting = whatsapp_rust::http::UreqHttpClient::new();
    assert!(untrusting.execute(HttpRequest::get(url)).await.is_err());
    assert!(emulator.media_ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));

    alice.handle.shutdown().await;
    bob.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

/// An admin API request with a JSON body: (status, body).
async fn post(url: String, body: serde_json::Value) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let response = agent
            .post(&url)
            .header("content-type", "application/json")
            .send(body.to_string().as_bytes())
            .unwrap();
        let status = response.status().as_u16();
        (status, response.into_body().read_to_string().unwrap())
    })
    .await
    .unwrap()
}

/// The next image `companion` receives, with its id, whether it is its own account's, and its chat.
async fn received_image(companion: &mut Companion) -> (ImageMessage, String, bool, String) {
    companion
        .wait_for("an image", |e| match e {
            Event::Messages(batch) => batch.messages.iter().find_map(|m| {
                let image = m.message.image_message.as_option()?.clone();
                let source = &m.info.source;
                Some((image, m.info.id.to_string(), source.is_from_me, source.chat.to_string()))
            }),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn the_phone_re_uploads_a_file_it_sent_once_the_cdn_copy_expired() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let phone = "15550000211";
    let chat = "15550000212@s.whatsapp.net";
    let (mut carol, carol_device) = pair(&emulator, phone, "carol").await;
    let laptop_keys: Arc<dyn Backend> = Arc::new(whatsapp_rust::wacore::store::InMemoryBackend::new());
    let (laptop, laptop_device) = common::pair_with(&emulator, Arc::clone(&laptop_keys), phone, "carol-laptop").await;
    emulator.wait_for_prekeys(phone, carol_device).await;
    emulator.wait_for_prekeys(phone, laptop_device).await;
    laptop.handle.shutdown().await;
    emulator.wait_until_offline(phone, laptop_device).await;

    // The phone sends a picture; the companion online sees its own account's message.
    let picture: Vec<u8> = (0..120_000u32)
        .map(|i| (i.wrapping_mul(2_246_822_519) >> 11) as u8)
        .collect();
    let base = emulator.admin_url();
    let (status, body) = post(
        format!("{base}/admin/accounts/{phone}/phone-sends"),
        serde_json::json!({
            "chat": chat,
            "type": "image",
            "base64": base64::engine::general_purpose::STANDARD.encode(&picture),
            "mimeType": "image/jpeg",
            "caption": "from the phone",
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let sent: PhoneSent = serde_json::from_str(&body).unwrap();
    let (image, id, from_me, received_in) = received_image(&mut carol).await;
    assert_eq!(id, sent.id);
    assert!(from_me, "the phone's message is the account's own");
    assert_eq!(received_in, chat, "the chat is the message's recipient");
    assert_eq!(image.caption.as_deref(), Some("from the phone"));
    assert_eq!(image.direct_path.as_deref(), Some(sent.direct_path.as_str()));
    let client = carol.handle.client();
    assert!(
        client.download(&image).await.unwrap() == picture,
        "the download is byte-identical"
    );

    // The companion that was offline gets it at its next login.
    let mut laptop = common::connect(&emulator, laptop_keys, "carol-laptop").await;
    let (_, queued_id, queued_from_me, _) = received_image(&mut laptop).await;
    assert_eq!((queued_id.as_str(), queued_from_me), (sent.id.as_str(), true));
    laptop.handle.shutdown().await;

    // The CDN copy expires: the download fails.
    let (status, body) = post(
        format!("{base}/admin/media/expire"),
        serde_json::json!({ "directPath": sent.direct_path }),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, r#"{"expired":1}"#));
    let (status, _) = post(
        format!("{base}/admin/media/expire"),
        serde_json::json!({ "directPath": sent.direct_path }),
    )
    .await;
    assert_eq!(status, 404, "a path the CDN no longer holds");
    assert!(client.download(&image).await.is_err(), "the expired copy is gone");

    // The companion asks its phone to re-upload; the new path serves the same bytes.
    let chat_jid = common::jid("15550000212");
    let media_key = image.media_key.clone().unwrap();
    let request = |msg_id, media_key| MediaReuploadRequest {
        msg_id,
        chat_jid: &chat_jid,
        media_key,
        is_from_me: true,
        participant: None,
    };
    let result = client
        .media_reupload()
        .request(&request(&id, &media_key))
        .await
        .unwrap();
    let MediaRetryResult::Success { direct_path } = result else {
        panic!("the phone did not re-upload: {result:?}");
    };
    assert_ne!(direct_path, sent.direct_path);
    let mut fresh = image.clone();
    fresh.direct_path = Some(direct_path);
    assert!(
        client.download(&fresh).await.unwrap() == picture,
        "the re-upload is byte-identical"
    );

    // A request for a message the phone never sent, and one with the wrong key.
    let unknown = client
        .media_reupload()
        .request(&request("3EB0000000000000000000", &media_key))
        .await
        .unwrap();
    assert!(matches!(unknown, MediaRetryResult::NotFound), "{unknown:?}");
    let wrong_key = client
        .media_reupload()
        .request(&request(&id, &[7u8; 32]))
        .await
        .unwrap();
    assert!(matches!(wrong_key, MediaRetryResult::DecryptionError), "{wrong_key:?}");

    // Without a path, every blob expires.
    assert!(emulator.expire_media(None).unwrap() >= 1);
    assert!(client.download(&fresh).await.is_err());

    carol.handle.shutdown().await;
    emulator.stop().await.unwrap();
}
