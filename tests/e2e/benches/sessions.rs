//! Session figures for issue 5, against a real `titan` process (a sandbox build, so its client
//! accepts the emulator) and the WhatsApp emulator in this process:
//!
//! 1. time from server start to `CONNECTED` for `--restore` (100) restored sessions;
//! 2. server RSS per connected idle session, over `--sessions` (200);
//! 3. text sends/s and latency (p50/p99) from the API call to the receiver's stored message,
//!    one sender and one receiver, `--seconds` (30) with `--concurrency` (4) calls in flight.
//!
//! ```sh
//! cargo build --release -p titan-server --features sandbox
//! cargo bench -p titan-e2e --bench sessions            # or: -- --sessions 200 --restore 100
//! ```

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Row;
use titan_client::types::{MessageType, SendMessage};
use titan_e2e::process::{Server, free_port, link, percentile, wait_connected};
use wa_emulator::Emulator;

struct Options {
    sessions: usize,
    restore: usize,
    seconds: u64,
    concurrency: usize,
}

fn options() -> Options {
    let value = titan_e2e::bench_flag;
    Options {
        sessions: value("--sessions", 200) as usize,
        restore: value("--restore", 100) as usize,
        seconds: value("--seconds", 30),
        concurrency: value("--concurrency", 4) as usize,
    }
}

#[tokio::main]
async fn main() {
    let options = options();
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/titan.db", dir.path().display());
    let port = free_port();
    let server = Server::spawn(&emulator, &database_url, dir.path(), port);
    server.ready().await;
    let api = server.api().await;

    // 1. Restore: link `restore` sessions, restart the server, time until all are CONNECTED.
    link(&api, &emulator, 0, 0, options.restore).await;
    wait_connected(&api, options.restore).await;
    server.stop();
    let started = Instant::now();
    let server = Server::spawn(&emulator, &database_url, dir.path(), port);
    server.ready().await;
    let listening = started.elapsed();
    wait_connected(&api, options.restore).await;
    let restored = started.elapsed();
    println!(
        "restore: {} sessions CONNECTED {:.2} s after the server process started (listening after {:.2} s)",
        options.restore,
        restored.as_secs_f64(),
        listening.as_secs_f64()
    );

    // 2. Memory: server RSS with the restored sessions idle, then with `sessions` idle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let with_restored = server.rss_kib();
    link(&api, &emulator, 0, options.restore, options.sessions).await;
    wait_connected(&api, options.sessions).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let with_all = server.rss_kib();
    let added = options.sessions - options.restore;
    // RSS may also shrink between the readings (the allocator hands memory back).
    let per_added = match added {
        0 => "no session added".to_owned(),
        added => format!(
            "{:.0} KiB per added session",
            (with_all as f64 - with_restored as f64) / added as f64
        ),
    };
    println!(
        "memory: server RSS {:.1} MiB with {} connected idle sessions, {:.1} MiB with {}: {per_added}; {:.0} KiB per session overall",
        with_restored as f64 / 1024.0,
        options.restore,
        with_all as f64 / 1024.0,
        options.sessions,
        with_all as f64 / options.sessions as f64
    );

    // 3. Throughput and latency: s0000 → s0001 for `seconds`.
    let (sender, receiver) = ("s0000", "s0001");
    let chat = "15550000001@s.whatsapp.net".to_owned();
    let starts = Arc::new(std::sync::Mutex::new(Vec::<(String, i64)>::new()));
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let workers = (0..options.concurrency).map(|_| {
        let (api, chat, starts) = (api.clone(), chat.clone(), Arc::clone(&starts));
        tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let at = chrono::Utc::now().timestamp_millis();
                let sent = api
                    .send_session_message()
                    .session(sender)
                    .body(
                        SendMessage::builder()
                            .chat_id(chat.clone())
                            .type_(MessageType::Text)
                            .text(format!("bench {n}")),
                    )
                    .send()
                    .await
                    .unwrap()
                    .into_inner()
                    .data;
                starts.lock().unwrap().push((sent.id, at));
                n += 1;
            }
        })
    });
    futures::future::join_all(workers).await;
    let starts = std::mem::take(&mut *starts.lock().unwrap());
    let sent = starts.len();
    // Wait until the receiver has stored every message, then read when each was stored.
    let db = titan_server::store::Db::connect(&database_url).await.unwrap();
    let stored_deadline = Instant::now() + Duration::from_secs(120);
    let rows = loop {
        let rows = sqlx::query("SELECT id, updated_at FROM messages WHERE session = $1 AND from_me = 0")
            .bind(receiver)
            .fetch_all(&db.pool)
            .await
            .unwrap();
        if rows.len() >= sent || Instant::now() > stored_deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let stored: std::collections::HashMap<String, i64> = rows
        .iter()
        .map(|r| (r.get::<String, _>("id"), r.get::<i64, _>("updated_at")))
        .collect();
    let mut latencies: Vec<f64> = starts
        .iter()
        .filter_map(|(id, at)| stored.get(id).map(|done| (done - at) as f64))
        .collect();
    latencies.sort_by(f64::total_cmp);
    println!(
        "messages: {} sent in {} s = {:.1} sends/s ({} calls in flight); {} stored by the receiver; API call → receiver's stored message p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        sent,
        options.seconds,
        sent as f64 / options.seconds as f64,
        options.concurrency,
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    server.stop();
    emulator.stop().await.unwrap();
}
