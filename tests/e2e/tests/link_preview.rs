//! Link previews end to end: Alice's Titan session sends texts with `linkPreview: true` to
//! Carol, a bare whatsapp-rust client, whose client decodes the message WhatsApp's apps render.
//! A page with Open Graph tags gives its title, description and a JPEG thumbnail of its picture;
//! a page that cannot be fetched, or a text without a link, still goes out as a plain text.

#![allow(clippy::unwrap_used, missing_docs)]

use serde_json::{Value, json};
use titan_e2e::bot::{self, linked};
use titan_e2e::harness::{Harness, jid};
use whatsapp_rust::prelude::Event;
use whatsapp_rust::waproto::whatsapp as wa;

titan_e2e::on_both_databases!(a_text_shows_the_preview_of_its_first_link);

const ALICE: &str = "15550007001";
const CAROL: &str = "15550007002";

/// A web site on loopback: an article with Open Graph tags and a picture, a page without tags
/// but a title, and nothing else (404). Returns its base URL.
async fn site() -> String {
    use axum::response::Html;
    use axum::routing::get;

    let article = r#"<!doctype html><html><head><title>Ignored when og:title is there</title>
        <meta property="og:title" content="Titan &amp; WhatsApp">
        <meta name="description" content="Self-hosted, typed, tested.">
        <meta property="og:image" content="/cover.jpg"></head><body>...</body></html>"#;
    let app = axum::Router::new()
        .route("/article", get(move || async move { Html(article) }))
        .route(
            "/plain",
            get(|| async { Html("<html><head><title> Just a title </title></head></html>") }),
        )
        .route(
            "/cover.jpg",
            get(|| async { include_bytes!("../../fixtures/media/photo.jpg").as_slice() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

async fn send(harness: &Harness, body: Value) -> (u16, Value) {
    harness
        .call(reqwest::Method::POST, "/api/sessions/alice/messages/send", Some(body))
        .await
}

/// Sends `text` with a preview asked for; the message Carol's client receives.
async fn sent_to_carol(harness: &Harness, carol: &mut bot::Events, text: &str) -> wa::Message {
    let (status, sent) = send(
        harness,
        json!({"chatId": jid(CAROL), "type": "text", "text": text, "linkPreview": true}),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["data"]["text"], text);
    let id = sent["data"]["id"].as_str().unwrap().to_owned();
    bot::wait_for(carol, "Alice's text", |event| match event {
        Event::Messages(batch) => batch
            .messages
            .iter()
            .find(|m| m.info.id == id)
            .map(|m| (*m.message).clone()),
        _ => None,
    })
    .await
}

async fn a_text_shows_the_preview_of_its_first_link(harness: Harness) {
    harness.link_by_qr("alice", ALICE).await;
    let (_carol, mut carol) = linked(&harness.emulator, CAROL).await;
    let host = site().await;

    // A page with Open Graph tags: title, description, and a thumbnail of its picture.
    let text = format!("Read {host}/article, then reply.");
    let message = sent_to_carol(&harness, &mut carol, &text).await;
    let extended = message.extended_text_message.as_option().expect("an extended text");
    assert_eq!(extended.text.as_deref(), Some(text.as_str()));
    assert_eq!(extended.matched_text, Some(format!("{host}/article")));
    assert_eq!(extended.title.as_deref(), Some("Titan & WhatsApp"));
    assert_eq!(extended.description.as_deref(), Some("Self-hosted, typed, tested."));
    let thumbnail = extended.jpeg_thumbnail.as_deref().expect("a thumbnail");
    assert!(thumbnail.starts_with(&[0xff, 0xd8]), "a JPEG");
    assert!(thumbnail.len() < 20_000, "a small one: {} bytes", thumbnail.len());
    assert_eq!(
        extended.preview_type,
        Some(wa::message::extended_text_message::PreviewType::IMAGE)
    );

    // A page with only a title: a preview without picture or description.
    let message = sent_to_carol(&harness, &mut carol, &format!("{host}/plain")).await;
    let extended = message.extended_text_message.as_option().expect("an extended text");
    assert_eq!(extended.title.as_deref(), Some("Just a title"));
    assert_eq!(
        (extended.description.as_ref(), extended.jpeg_thumbnail.as_ref()),
        (None, None)
    );

    // A page that is not there, and a text without a link: the text goes out as it is.
    for text in [format!("gone: {host}/missing"), "no link at all".to_owned()] {
        let message = sent_to_carol(&harness, &mut carol, &text).await;
        assert_eq!(message.conversation.as_deref(), Some(text.as_str()), "a plain text");
    }

    // `linkPreview` belongs to texts.
    let (status, refused) = send(
        &harness,
        json!({"chatId": jid(CAROL), "type": "location", "latitude": 1.0, "longitude": 2.0, "linkPreview": true}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("`linkPreview` is not a field of type `location`"),
        "{refused}"
    );
}
