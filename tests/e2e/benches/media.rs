//! Media figures for issue 21, with the server, the emulator and the client in this process (a
//! SQLite database, one sender session and one receiver):
//!
//! 1. image sends/s and latency (p50/p99) of `POST …/messages/send` for a ~100 KB JPEG sent as
//!    base64 (each send decodes, sniffs, thumbnails, encrypts and uploads it), `--count` (200)
//!    sends with `--concurrency` (4) in flight;
//! 2. the process's peak RSS while sending one `--document-mb` (50) MB document, first fetched by
//!    the server from a `url` (a file host in this process), then as base64 in the request.
//!    Every part runs in this one process, so each growth of the peak also counts the emulator's
//!    CDN copy of the encrypted upload (the document's size) and, for base64, the client's JSON
//!    body; the server spools a large file to a temporary file rather than holding it.
//!
//! ```sh
//! cargo bench -p titan-e2e --bench media            # or: -- --count 200 --concurrency 4 --document-mb 50
//! ```

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use serde_json::{Value, json};
use titan_e2e::database::Engine;
use titan_e2e::harness::{Harness, jid};

const ALICE: &str = "15550006001";
const BOB: &str = "15550006002";

/// This process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

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

async fn send(http: &reqwest::Client, harness: &Harness, body: &Value) -> Duration {
    let started = Instant::now();
    let response = http
        .post(format!("{}/api/sessions/alice/messages/send", harness.base))
        .bearer_auth(harness.key())
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 201, "{text}");
    started.elapsed()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let count = titan_e2e::bench_flag("--count", 200) as usize;
    let concurrency = titan_e2e::bench_flag("--concurrency", 4) as usize;
    let document_mb = titan_e2e::bench_flag("--document-mb", 50) as usize;
    let harness = Arc::new(Harness::start(Engine::Sqlite).await.unwrap());
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_code("bob", BOB).await;
    let http = reqwest::Client::new();

    let image = image_100k();
    let body = Arc::new(json!({"chatId": jid(BOB), "type": "image", "base64": STANDARD.encode(&image)}));
    send(&http, &harness, &body).await; // warm-up: sessions and media connection established
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(0..count)
        .map(|_| {
            let (http, harness, body) = (http.clone(), harness.clone(), body.clone());
            async move { send(&http, &harness, &body).await }
        })
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
    let before = peak_rss_kib();
    let body = json!({"chatId": jid(BOB), "type": "document", "filename": "big.bin", "url": format!("{host}/big.bin")});
    let took = send(&http, &harness, &body).await;
    let after = peak_rss_kib();
    println!(
        "{document_mb} MB document by url: sent in {:.2} s; process peak RSS {} MiB before, {} MiB after (+{} MiB, \
         of which {document_mb} MB is the emulator's CDN copy)",
        took.as_secs_f64(),
        before / 1024,
        after / 1024,
        (after - before) / 1024,
    );

    let body =
        json!({"chatId": jid(BOB), "type": "document", "filename": "big.bin", "base64": STANDARD.encode(&document)});
    drop(document);
    let before = peak_rss_kib();
    let took = send(&http, &harness, &body).await;
    let after = peak_rss_kib();
    println!(
        "{document_mb} MB document as base64: sent in {:.2} s; process peak RSS {} MiB before, {} MiB after (+{} MiB, \
         with the client's {} MB JSON body serialised and received, and the emulator's CDN copy)",
        took.as_secs_f64(),
        before / 1024,
        after / 1024,
        (after - before) / 1024,
        body.to_string().len() / 1_000_000,
    );
}

/// A web server on loopback that serves `document` at `/big.bin`, for the server to fetch.
async fn file_host(document: axum::body::Bytes) -> String {
    let app = axum::Router::new().route("/big.bin", axum::routing::get(move || async move { document.clone() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}
