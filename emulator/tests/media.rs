//! Media through the emulator's HTTPS media host: A uploads an image, sends it, and B downloads
//! identical bytes; the host's certificate is trusted only through the emulator's own CA.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{media_client, pair};
use wa_emulator::Emulator;
use whatsapp_rust::download::MediaType;
use whatsapp_rust::http::{HttpClient, HttpRequest};
use whatsapp_rust::media::{ImageOptions, image_message};
use whatsapp_rust::prelude::Event;
use whatsapp_rust::upload::UploadOptions;

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
