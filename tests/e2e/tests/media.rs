//! Every message type end to end: Alice's Titan session sends pictures, a video, a voice note,
//! an audio file, a document, a sticker, a place and contact cards to Bob's, through the
//! emulator's real media host. Bob's webhook gets `message.received` with the documented fields,
//! his history keeps them, and each file downloads again byte for byte through the media API
//! (decrypted from the CDN with the keys the message carried). Bad files are refused with a 400
//! that says why, and nothing is stored for them.

#![allow(clippy::unwrap_used, missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use titan_e2e::harness::{Harness, jid};

titan_e2e::on_both_databases!(every_message_type_reaches_the_other_session_and_downloads_identical);

const ALICE: &str = "15550005001";
const BOB: &str = "15550005002";

/// A media fixture (`tests/fixtures/media`).
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../fixtures/media/", $name)).as_slice()
    };
}

/// One file to send and what Bob must see of it.
struct File {
    body: Value,
    bytes: &'static [u8],
    received_type: &'static str,
    mime_type: &'static str,
}

fn file(kind: &str, bytes: &'static [u8], extra: Value, received_type: &'static str, mime_type: &'static str) -> File {
    let mut body = json!({"chatId": jid(BOB), "type": kind, "base64": STANDARD.encode(bytes)});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    File {
        body,
        bytes,
        received_type,
        mime_type,
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `POST` or `GET` `path` with the harness's key; the status and the body.
async fn call(
    harness: &Harness,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", harness.base))
        .bearer_auth(harness.key());
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

async fn send(harness: &Harness, body: &Value) -> (u16, Value) {
    let (status, _, bytes) = call(
        harness,
        reqwest::Method::POST,
        "/api/sessions/alice/messages/send",
        Some(body),
    )
    .await;
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// A web server on loopback that serves files to send: a picture, a redirect to it, a redirect
/// loop, a redirect to the metadata address, a file over the size cap (streamed, no length) and
/// a missing file. Returns its base URL.
async fn file_host() -> String {
    use axum::body::Body;
    use axum::response::Redirect;
    use axum::routing::get;

    let app = axum::Router::new()
        .route("/photo.jpg", get(|| async { fixture!("photo.jpg") }))
        .route("/moved", get(|| async { Redirect::temporary("/photo.jpg") }))
        .route(
            "/loop/{n}",
            get(|axum::extract::Path(n): axum::extract::Path<u32>| async move {
                Redirect::temporary(&format!("/loop/{}", n + 1))
            }),
        )
        .route(
            "/metadata",
            get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data/") }),
        )
        .route(
            "/huge.jpg",
            get(|| async {
                let chunk = axum::body::Bytes::from(vec![0xffu8; 1 << 20]);
                let chunks = std::iter::repeat_n(chunk, 51).map(Ok::<_, std::io::Error>);
                Body::from_stream(futures::stream::iter(chunks))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

async fn every_message_type_reaches_the_other_session_and_downloads_identical(harness: Harness) {
    let receiver = harness.receiver().await;
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_code("bob", BOB).await;

    let files = [
        file(
            "image",
            fixture!("photo.jpg"),
            json!({"caption": "Sunset"}),
            "image",
            "image/jpeg",
        ),
        file("image", fixture!("chart.png"), json!({}), "image", "image/png"),
        file(
            "video",
            fixture!("clip.mp4"),
            json!({"caption": "Clip"}),
            "video",
            "video/mp4",
        ),
        file(
            "voice",
            fixture!("voice.ogg"),
            json!({}),
            "audio",
            "audio/ogg; codecs=opus",
        ),
        file(
            "audio",
            fixture!("song.mp3"),
            json!({"ptt": false}),
            "audio",
            "audio/mpeg",
        ),
        file(
            "file",
            fixture!("report.pdf"),
            json!({"filename": "report.pdf", "caption": "Q3"}),
            "document",
            "application/pdf",
        ),
        file("sticker", fixture!("sticker.webp"), json!({}), "sticker", "image/webp"),
    ];
    for file in &files {
        let (status, sent) = send(&harness, &file.body).await;
        assert_eq!(status, 201, "{sent}");
        let sent = &sent["data"];
        assert_eq!(sent["type"], file.received_type, "{sent}");
        assert_eq!(sent["mimeType"], file.mime_type, "{sent}");
        assert_eq!(sent["fileLength"], file.bytes.len(), "{sent}");
        assert_eq!(
            sent["caption"],
            file.body.get("caption").cloned().unwrap_or(Value::Null),
            "{sent}"
        );
        let sent_id = sent["id"].as_str().unwrap();

        let received = receiver.expect("message.received", "bob", |p| p["id"] == sent_id).await;
        assert_eq!(received["type"], file.received_type, "{received}");
        assert_eq!(received["mimeType"], file.mime_type, "{received}");
        assert_eq!(received["fileLength"], file.bytes.len(), "{received}");
        assert_eq!(received["caption"], sent["caption"], "{received}");
        assert_eq!(received["fileName"], sent["fileName"], "{received}");
        let media_id = received["mediaId"].as_str().unwrap();
        assert_ne!(Some(media_id), sent["mediaId"].as_str(), "each side names its own copy");

        // Bob's copy: described, then downloaded from the CDN and decrypted, byte for byte.
        let (status, _, body) = call(
            &harness,
            reqwest::Method::GET,
            &format!("/api/sessions/bob/media/{media_id}"),
            None,
        )
        .await;
        let described: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "{described}");
        assert_eq!(described["data"]["messageId"], sent_id);
        assert_eq!(described["data"]["mimeType"], file.mime_type);
        let path = format!("/api/sessions/bob/media/{media_id}/download");
        let (status, headers, bytes) = call(&harness, reqwest::Method::POST, &path, None).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(
            sha256(&bytes),
            sha256(file.bytes),
            "{} downloads identical",
            file.mime_type
        );
        assert_eq!(headers["content-type"], file.mime_type);
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment; filename=")
        );

        // Alice's own copy downloads too.
        let own = sent["mediaId"].as_str().unwrap();
        let (status, _, bytes) = call(
            &harness,
            reqwest::Method::POST,
            &format!("/api/sessions/alice/media/{own}/download"),
            None,
        )
        .await;
        assert_eq!((status, sha256(&bytes)), (200, sha256(file.bytes)));
    }

    // A file larger than a web server's usual body limit goes up and comes back whole.
    let large: Vec<u8> = (0..5_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let body =
        json!({"chatId": jid(BOB), "type": "document", "filename": "large.bin", "base64": STANDARD.encode(&large)});
    let (status, sent) = send(&harness, &body).await;
    assert_eq!(status, 201, "{sent}");
    let sent_id = sent["data"]["id"].as_str().unwrap();
    let received = receiver.expect("message.received", "bob", |p| p["id"] == sent_id).await;
    assert_eq!(received["fileLength"], large.len());
    let path = format!(
        "/api/sessions/bob/media/{}/download",
        received["mediaId"].as_str().unwrap()
    );
    let (_, _, bytes) = call(&harness, reqwest::Method::POST, &path, None).await;
    assert_eq!(sha256(&bytes), sha256(&large), "a 5 MB document downloads identical");

    // A file the server fetches (here through one redirect) arrives the same.
    let host = file_host().await;
    let by_url = json!({"chatId": jid(BOB), "type": "image", "url": format!("{host}/moved")});
    let (status, sent) = send(&harness, &by_url).await;
    assert_eq!(status, 201, "{sent}");
    let sent_id = sent["data"]["id"].as_str().unwrap();
    let received = receiver.expect("message.received", "bob", |p| p["id"] == sent_id).await;
    let path = format!(
        "/api/sessions/bob/media/{}/download",
        received["mediaId"].as_str().unwrap()
    );
    let (_, _, bytes) = call(&harness, reqwest::Method::POST, &path, None).await;
    assert_eq!(sha256(&bytes), sha256(fixture!("photo.jpg")));

    // What the history keeps of them: dimensions, lengths, the voice-note flag, the file name.
    let (_, _, body) = call(
        &harness,
        reqwest::Method::GET,
        &format!("/api/sessions/bob/chats/{}/messages", jid(ALICE)),
        None,
    )
    .await;
    let history: Value = serde_json::from_slice(&body).unwrap();
    let history = history["data"].as_array().unwrap();
    let of_type = |kind: &str| {
        history
            .iter()
            .filter(|m| m["type"] == kind)
            .cloned()
            .collect::<Vec<_>>()
    };
    let audio = of_type("audio");
    assert_eq!(audio.len(), 2);
    assert!(audio.iter().any(|m| m["ptt"] == true && m["seconds"] == 3), "{audio:?}");
    assert!(audio.iter().any(|m| m["ptt"] == false), "{audio:?}");
    assert_eq!(of_type("video")[0]["seconds"], 9);
    let documents = of_type("document");
    let report = documents.iter().find(|m| m["fileName"] == "report.pdf").unwrap();
    assert_eq!(report["text"], "Q3");

    // A place and contact cards (one built from a name and number, one given as a vCard).
    let place = json!({"chatId": jid(BOB), "type": "location", "latitude": -23.5505, "longitude": -46.6333,
        "name": "Praça da Sé", "address": "São Paulo, SP"});
    let (status, sent) = send(&harness, &place).await;
    assert_eq!(status, 201, "{sent}");
    let id = sent["data"]["id"].as_str().unwrap();
    let received = receiver.expect("message.received", "bob", |p| p["id"] == id).await;
    assert_eq!(received["type"], "location");
    assert_eq!(
        received["location"],
        json!({"latitude": -23.5505, "longitude": -46.6333, "name": "Praça da Sé", "address": "São Paulo, SP"})
    );
    let given = "BEGIN:VCARD\nVERSION:3.0\nFN:Support\nTEL;waid=15550009999:+15550009999\nEND:VCARD";
    let cards = json!({"chatId": jid(BOB), "type": "contact", "contacts": [
        {"name": "Jane Doe", "phoneNumber": "+15550001234"},
        {"name": "Support", "phoneNumber": "15550009999", "vcard": given},
    ]});
    let (status, sent) = send(&harness, &cards).await;
    assert_eq!(status, 201, "{sent}");
    let id = sent["data"]["id"].as_str().unwrap();
    let received = receiver.expect("message.received", "bob", |p| p["id"] == id).await;
    assert_eq!(received["type"], "contact");
    let contacts = received["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 2, "several cards are one message");
    assert_eq!(contacts[0]["name"], "Jane Doe");
    assert!(
        contacts[0]["vcard"]
            .as_str()
            .unwrap()
            .contains("waid=15550001234:+15550001234")
    );
    assert_eq!(contacts[1]["vcard"], given);

    // Bad input: a 400 that says why, and nothing stored.
    let stored = || async {
        let path = format!("/api/sessions/alice/chats/{}/messages", jid(BOB));
        let (_, _, body) = call(&harness, reqwest::Method::GET, &path, None).await;
        let page: Value = serde_json::from_slice(&body).unwrap();
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].clone())
            .collect::<Vec<_>>()
    };
    let before = stored().await;
    let refused = [
        (
            file("sticker", fixture!("chart.png"), json!({}), "", "").body,
            "type `sticker` needs a WebP picture; these bytes are `image/png`",
        ),
        (
            file("voice", fixture!("song.mp3"), json!({}), "", "").body,
            "needs an Ogg Opus voice note",
        ),
        (
            json!({"chatId": jid(BOB), "type": "image", "base64": "not base64!"}),
            "`base64` is not valid base64",
        ),
        (
            file("file", fixture!("report.pdf"), json!({}), "", "").body,
            "type `file` needs a `filename`",
        ),
        (
            file("sticker", fixture!("sticker.webp"), json!({"caption": "hi"}), "", "").body,
            "`caption` is not a field of type `sticker`",
        ),
        (
            json!({"chatId": jid(BOB), "type": "location", "latitude": 91, "longitude": 0}),
            "latitude: must be from -90 to 90 degrees",
        ),
        (
            json!({"chatId": jid(BOB), "type": "contact", "contacts": []}),
            "needs `contacts`",
        ),
        (
            json!({"chatId": jid(BOB), "type": "image"}),
            "needs the file: `url` (fetched by the server) or `base64`",
        ),
    ];
    let url = |path: &str| json!({"chatId": jid(BOB), "type": "image", "url": format!("{host}{path}")});
    let closed = json!({"chatId": jid(BOB), "type": "image", "url": "http://127.0.0.1:9/photo.jpg"});
    let refused = refused.into_iter().chain([
        (url("/missing.jpg"), "`url` answered HTTP 404"),
        (url("/loop/0"), "`url` redirected more than 3 times"),
        (url("/metadata"), "`url` leads to 169.254.169.254"),
        (url("/huge.jpg"), "the file at `url` is larger than 50 MB"),
        (closed, "could not fetch `url`"),
        (
            json!({"chatId": jid(BOB), "type": "image", "url": "http://169.254.169.254/latest/meta-data/"}),
            "`url` leads to 169.254.169.254",
        ),
        (
            json!({"chatId": jid(BOB), "type": "image", "url": format!("{host}/photo.jpg"), "base64": "aGk="}),
            "not both",
        ),
    ]);
    for (body, why) in refused {
        let (status, answer) = send(&harness, &body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(why),
            "{answer} should say {why}"
        );
    }
    assert_eq!(before, stored().await, "refused sends store nothing");

    let (status, _, _) = call(
        &harness,
        reqwest::Method::GET,
        "/api/sessions/bob/media/med_01JZ8X6V3QW8T9N6F4C2B1A0Z9",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = call(&harness, reqwest::Method::GET, "/api/sessions/bob/media/nope", None).await;
    assert_eq!(status, 400);
}
