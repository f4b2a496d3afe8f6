//! The crash test: while a burst of events is being delivered, the `titan` process is killed
//! with SIGKILL and started again on the same database; every event in the outbox still reaches
//! the receiver (duplicates allowed, none missing).

#![allow(clippy::unwrap_used)]

mod common;

use common::process::{free_port, root_key, serve, wait_healthy};

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::{Value, json};
use sqlx::Row;

/// Sessions created in the burst: each creation writes one `session.status` event.
const BURST: usize = 1500;
/// Deliveries in flight at once: few, so a backlog is pending when the process dies.
const CONCURRENCY: &str = "4";

/// Event ids the receiver got, with how often each arrived.
type Seen = Arc<Mutex<HashMap<String, usize>>>;

async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let record = record.clone();
            async move {
                // A little work per delivery, so a backlog builds while the burst runs.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let envelope: Value = serde_json::from_slice(&body).unwrap_or_default();
                let id = envelope["id"].as_str().unwrap_or_default().to_owned();
                *record.lock().unwrap().entry(id).or_default() += 1;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn crash_during_a_burst(backend: common::Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(database_url) = common::database_url(backend, &dir).await else {
        return;
    };
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut server = serve(
        &database_url,
        port,
        dir.path(),
        &[("TITAN_WEBHOOK_CONCURRENCY", CONCURRENCY)],
    );
    wait_healthy(&http, &base, &mut server, dir.path()).await;

    let key = root_key(&http, &base).await;
    let (url, seen) = receiver().await;
    let created = http
        .post(format!("{base}/api/webhooks"))
        .bearer_auth(&key)
        .json(&json!({"url": url, "retries": {"attempts": 50, "delaySeconds": 1, "policy": "constant"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    // The burst: four writers create sessions; the process is killed mid-way.
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (http, base, key, accepted) = (http.clone(), base.clone(), key.clone(), accepted.clone());
            tokio::spawn(async move {
                for i in (w..BURST).step_by(4) {
                    let name = format!("s{i}");
                    let sent = http
                        .post(format!("{base}/api/sessions"))
                        .bearer_auth(&key)
                        .json(&json!({"name": name}))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == 201 => accepted.lock().unwrap().push(name),
                        _ => return, // the server is gone
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.lock().unwrap().len() < 200 {
        assert!(Instant::now() < deadline, "deliveries did not start");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    let at_kill = seen.lock().unwrap().len();
    for writer in writers {
        writer.await.unwrap();
    }
    let accepted = accepted.lock().unwrap().clone();

    let mut server = serve(
        &database_url,
        port,
        dir.path(),
        &[("TITAN_WEBHOOK_CONCURRENCY", CONCURRENCY)],
    );
    wait_healthy(&http, &base, &mut server, dir.path()).await;
    let db = titan_server::store::Db::connect(&database_url).await.unwrap();
    let outbox: HashSet<String> = sqlx::query("SELECT id, payload FROM events WHERE event = 'session.status'")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>("id"))
        .collect();
    let named: usize = sqlx::query("SELECT COUNT(*) AS n FROM sessions")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get::<i64, _>("n")
        .try_into()
        .unwrap();
    assert!(named >= accepted.len(), "every accepted session was stored");
    assert_eq!(
        outbox.len(),
        named,
        "one session.status event per stored session, written with it"
    );

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let missing: Vec<String> = {
            let seen = seen.lock().unwrap();
            outbox.iter().filter(|id| !seen.contains_key(*id)).cloned().collect()
        };
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} events never arrived, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = seen.lock().unwrap().clone();
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "crash test ({backend:?}): {} sessions accepted before SIGKILL, {} events in the outbox, \
         {at_kill} delivered before the kill, {} distinct delivered in the end, {duplicates} duplicates, 0 missing",
        accepted.len(),
        outbox.len(),
        seen.len(),
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_every_event_survives_sigkill() {
    crash_during_a_burst(common::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_event_survives_sigkill() {
    crash_during_a_burst(common::Backend::Postgres).await;
}
