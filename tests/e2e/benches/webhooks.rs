//! Webhook delivery figures for issue 6, in-process: a Titan server (its dispatcher, on a SQLite
//! file or on PostgreSQL when `TITAN_BENCH_DATABASE_URL` is set) delivers to a receiver on
//! loopback. Events enter the outbox through the call the engine makes for every incoming
//! library message (`store::messages::insert` with its `message.received` event), spread over
//! `--sessions` (10) sessions, i.e. 10 delivery lanes.
//!
//! 1. throughput: `--burst` (20000) events written by 4 writers as fast as they go, with the
//!    server running (events/s from the first write to the last delivery: the write path bounds
//!    it), then the same number written while the server is stopped and delivered from the outbox
//!    after it starts (events/s of fan-out + delivery alone);
//! 2. latency at `--rate` (1000) events/s for `--seconds` (10): from the write (the engine
//!    handling the library event) to the receiver, p50/p99/max.
//!
//! ```sh
//! cargo bench -p titan-e2e --bench webhooks            # or: -- --rate 1000 --seconds 10
//! ```

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::{Value, json};
use titan_server::config::Config;
use titan_server::events::{NewEvent, Payload};
use titan_server::model::message::MessageStatus;
use titan_server::server::RunningServer;
use titan_server::store::Db;
use titan_server::store::messages::{MessageRecord, insert};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receiver() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let record = arrivals.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let record = record.clone();
            async move {
                let now = Instant::now();
                let envelope: Value = serde_json::from_slice(&body).unwrap_or_default();
                let id = envelope["payload"]["id"].as_str().unwrap_or_default().to_owned();
                record.lock().unwrap().entry(id).or_insert(now);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, arrivals)
}

/// Writes one incoming text message with its `message.received` event, as the engine does.
async fn write(db: &Db, session: &str, id: &str) {
    let record = MessageRecord {
        seq: 0,
        session: session.to_owned(),
        chat_id: "15550009999@s.whatsapp.net".to_owned(),
        id: id.to_owned(),
        from_me: false,
        sender: Some("15550009999@s.whatsapp.net".to_owned()),
        push_name: Some("Bench".to_owned()),
        kind: "text".to_owned(),
        text: Some("hello".to_owned()),
        quoted_id: None,
        mentions: Vec::new(),
        status: MessageStatus::Delivered,
        error: None,
        sent_at: chrono::Utc::now(),
        poll: None,
        attachment: None,
        starred: false,
    };
    let event = NewEvent::new(Payload::MessageReceived(record.payload()));
    insert(db, &record, &[event]).await.unwrap();
}

async fn wait_all(arrivals: &Arrivals, ids: &[String], within: Duration) -> Instant {
    let deadline = Instant::now() + within;
    loop {
        {
            let seen = arrivals.lock().unwrap();
            if ids.iter().all(|id| seen.contains_key(id)) {
                return ids.iter().map(|id| seen[id]).max().unwrap();
            }
        }
        assert!(Instant::now() < deadline, "deliveries did not complete");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let sessions = titan_e2e::bench_flag("--sessions", 10) as usize;
    let burst = titan_e2e::bench_flag("--burst", 20_000) as usize;
    let rate = titan_e2e::bench_flag("--rate", 1000);
    let seconds = titan_e2e::bench_flag("--seconds", 10);
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("TITAN_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    let db = Db::connect(&url).await.unwrap();
    let config = Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        master_key: Some("bench-master-key-0123456789".into()),
        secret_key: Some("bench".into()),
        webhook_allow_private: true,
        rate_limit: 1_000_000,
        ..Config::default()
    };
    let server = RunningServer::start(config.clone(), db.clone()).await.unwrap();
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let key: Value = http
        .post(format!("{base}/admin/keys"))
        .bearer_auth("bench-master-key-0123456789")
        .json(&json!({"label": "bench", "scopes": ["*"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["data"]["key"].as_str().unwrap().to_owned();
    let (hook, arrivals) = receiver().await;
    let created = http
        .post(format!("{base}/api/webhooks"))
        .bearer_auth(&key)
        .json(&json!({"url": hook, "events": ["message.received"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let names: Vec<String> = (0..sessions).map(|i| format!("bench-{i}")).collect();
    println!(
        "database: {:?}; {sessions} sessions (delivery lanes); 1 webhook",
        db.engine
    );

    // 1. Throughput.
    let ids: Vec<String> = (0..burst).map(|i| format!("burst-{i}")).collect();
    let started = Instant::now();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (db, ids, names) = (db.clone(), ids.clone(), names.clone());
            tokio::spawn(async move {
                for (i, id) in ids.iter().enumerate().skip(w).step_by(4) {
                    write(&db, &names[i % names.len()], id).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let written = started.elapsed();
    let last = wait_all(&arrivals, &ids, Duration::from_secs(600)).await;
    let total = last - started;
    println!(
        "throughput: {burst} events written in {:.2} s ({:.0}/s), all delivered after {:.2} s: {:.0} events/s delivered",
        written.as_secs_f64(),
        burst as f64 / written.as_secs_f64(),
        total.as_secs_f64(),
        burst as f64 / total.as_secs_f64()
    );

    // 1b. Delivery alone: a backlog written while the server is down, delivered after it starts.
    server.stop().await.unwrap();
    let db = Db::connect(&url).await.unwrap();
    let ids: Vec<String> = (0..burst).map(|i| format!("backlog-{i}")).collect();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (db, ids, names) = (db.clone(), ids.clone(), names.clone());
            tokio::spawn(async move {
                for (i, id) in ids.iter().enumerate().skip(w).step_by(4) {
                    write(&db, &names[i % names.len()], id).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let started = Instant::now();
    let server = RunningServer::start(config, db.clone()).await.unwrap();
    let last = wait_all(&arrivals, &ids, Duration::from_secs(600)).await;
    println!(
        "backlog: {burst} events waiting in the outbox delivered {:.2} s after the server started: {:.0} events/s delivered",
        (last - started).as_secs_f64(),
        burst as f64 / (last - started).as_secs_f64()
    );

    // 2. Latency at a fixed rate.
    let count = (rate * seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let ids: Vec<String> = (0..count).map(|i| format!("paced-{i}")).collect();
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for (i, id) in ids.iter().enumerate() {
        tokio::time::sleep_until(start + interval * i as u32).await;
        let (db, sent, id, session) = (db.clone(), sent.clone(), id.clone(), names[i % names.len()].clone());
        tasks.push(tokio::spawn(async move {
            sent.lock().unwrap().insert(id.clone(), Instant::now());
            write(&db, &session, &id).await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let achieved = count as f64 / start.elapsed().as_secs_f64();
    wait_all(&arrivals, &ids, Duration::from_secs(600)).await;
    let mut latencies: Vec<Duration> = {
        let seen = arrivals.lock().unwrap();
        let sent = sent.lock().unwrap();
        ids.iter().map(|id| seen[id] - sent[id]).collect()
    };
    latencies.sort();
    println!(
        "latency at {rate} events/s offered ({achieved:.0}/s achieved, {count} events): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (write of the library event to the receiver)",
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
    );
    server.stop().await.unwrap();
}
