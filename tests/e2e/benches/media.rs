//! Media figures for issue 21, against a real `titan` process (a release sandbox build on SQLite;
//! `TITAN_BINARY` picks another build) with the emulator and a file host in this process, one
//! sender session and one receiver:
//!
//! 1. image sends/s and latency (p50/p99) of `POST …/messages/send` for a ~100 KB JPEG sent as
//!    base64 (each send decodes, sniffs, thumbnails, encrypts and uploads it), `--count` (200)
//!    sends with `--concurrency` (4) in flight;
//! 2. the server process's peak RSS (`VmHWM`) while it sends one `--document-mb` (50) MB
//!    document, first fetched from a `url` (the file host), then given as base64 in the request.
//!
//! ```sh
//! cargo build --release -p titan-server --features sandbox
//! cargo bench -p titan-e2e --bench media            # or: -- --count 200 --concurrency 4 --document-mb 50
//! ```

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use serde_json::{Value, json};
use titan_e2e::process::{Server, free_port, link, phone, session, wait_connected};
use wa_emulator::Emulator;

/// A JPEG of about 100 KB: the fixture photo, padded with a comment segment (JPEG decoders skip
/// `COM` segments, so it decodes as the same picture).
fn image_100k() -> Vec<u8> {
    let photo = include_bytes!("../../fixtures/media/photo.jpg");
    let mut image = photo[..2].to_vec();
    let filler: Vec<u8> = (0..100_000 - photo.len()).map(|i| b'a' + (i % 26) as u8).collect();
    for chunk in filler.chunks(65_000) {
        image.extend([0xff, 0xfe]);
        image.extend(u16::try_from(chunk.len() + 2).unwrap().to_be_bytes());
        image.extend(chunk);
    }
    image.extend(&photo[2..]);
    image
}

/// Sends `body` from session 0 through `server` with `key`; the call's duration.
async fn send(http: &reqwest::Client, server: &str, key: &str, body: &Value) -> Duration {
    let started = Instant::now();
    let response = http
        .post(format!("{server}/api/sessions/{}/messages/send", session(0)))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 201, "{text}");
    started.elapsed()
}

/// A web server on loopback that serves `document` at `/big.bin`, for the server to fetch.
async fn file_host(document: axum::body::Bytes) -> String {
    let app = axum::Router::new().route("/big.bin", axum::routing::get(move || async move { document.clone() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let count = titan_e2e::bench_flag("--count", 200) as usize;
    let concurrency = titan_e2e::bench_flag("--concurrency", 4) as usize;
    let document_mb = titan_e2e::bench_flag("--document-mb", 50) as usize;
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/titan.db", dir.path().display());
    let server = Server::spawn(&emulator, &database_url, dir.path(), free_port());
    server.ready().await;
    let key = server.key().await;
    let api = titan_e2e::harness::client(&server.base, &key);
    link(&api, &emulator, 0, 0, 2).await;
    wait_connected(&api, 2).await;
    emulator.wait_for_prekeys(&phone(1), 1).await;
    let (http, base, to) = (
        reqwest::Client::new(),
        server.base.clone(),
        format!("{}@s.whatsapp.net", phone(1)),
    );

    let image = image_100k();
    let body = json!({"chatId": to, "type": "image", "base64": STANDARD.encode(&image)});
    send(&http, &base, &key, &body).await; // warm-up: the Signal session and the media connection
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(0..count)
        .map(|_| send(&http, &base, &key, &body))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "image sends ({} bytes as base64, SQLite, {concurrency} in flight): {count} in {:.2} s = {:.1} sends/s; p50 {} ms, p99 {} ms",
        image.len(),
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        at(0.50).as_millis(),
        at(0.99).as_millis(),
    );

    let document = axum::body::Bytes::from(
        (0..document_mb * 1_000_000)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let host = file_host(document.clone()).await;
    let body = json!({"chatId": to, "type": "document", "filename": "big.bin", "url": format!("{host}/big.bin")});
    let before = server.peak_rss_kib();
    let took = send(&http, &base, &key, &body).await;
    let after = server.peak_rss_kib();
    println!(
        "{document_mb} MB document by url: sent in {:.2} s; server peak RSS {} MiB before, {} MiB after (+{} MiB)",
        took.as_secs_f64(),
        before / 1024,
        after / 1024,
        (after - before) / 1024,
    );
    let body = json!({"chatId": to, "type": "document", "filename": "big.bin", "base64": STANDARD.encode(&document)});
    let length = body.to_string().len();
    let took = send(&http, &base, &key, &body).await;
    let last = server.peak_rss_kib();
    println!(
        "{document_mb} MB document as base64 ({} MB JSON body): sent in {:.2} s; server peak RSS {} MiB before, {} MiB after (+{} MiB)",
        length / 1_000_000,
        took.as_secs_f64(),
        after / 1024,
        last / 1024,
        (last - after) / 1024,
    );
    server.stop();
    emulator.stop().await.unwrap();
}
