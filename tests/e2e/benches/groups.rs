//! Group list figures for issue 22, with the server, the emulator and the clients in this
//! process, on SQLite and (when `TITAN_TEST_DATABASE_URL` is set) PostgreSQL:
//!
//! 1. Alice's session creates `--groups` (500) groups with Bob, one call at a time: creates/s;
//! 2. how long until Bob's stored list has them all (each is read back from WhatsApp as its
//!    notification arrives, before its event is written);
//! 3. one full listing of Alice's groups, page by page (`limit=200`), from the stored list (p50
//!    and max of `--rounds` (20) listings), against the same with `refresh=true` on its first
//!    page (the whole list read from WhatsApp first).
//!
//! ```sh
//! cargo bench -p titan-e2e --bench groups            # or: -- --groups 500 --rounds 20
//! ```

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use titan_e2e::database::Engine;
use titan_e2e::harness::{Harness, jid};

const ALICE: &str = "15550009001";
const BOB: &str = "15550009002";

/// Every group `session` lists, page by page; `refresh` asks for the first page's refresh.
async fn list_all(http: &reqwest::Client, harness: &Harness, session: &str, refresh: bool) -> usize {
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    loop {
        let mut url = format!("{}/api/sessions/{session}/groups?limit=200", harness.base);
        if let Some(after) = &cursor {
            url.push_str(&format!("&cursor={after}"));
        } else if refresh {
            url.push_str("&refresh=true");
        }
        let page: Value = http
            .get(url)
            .bearer_auth(harness.key())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen += page["data"].as_array().unwrap().len();
        match page["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
}

/// `(p50, max)` of `samples`.
fn spread(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() - 1])
}

async fn run(engine: Engine, groups: usize, rounds: usize) {
    let Some(harness) = Harness::start(engine).await else {
        println!("{engine:?}: skipped (no database)");
        return;
    };
    harness.link_by_qr("alice", ALICE).await;
    harness.link_by_qr("bob", BOB).await;
    let http = reqwest::Client::new();

    let started = Instant::now();
    for n in 0..groups {
        let response = http
            .post(format!("{}/api/sessions/alice/groups", harness.base))
            .bearer_auth(harness.key())
            .json(&json!({"name": format!("Group {n}"), "participants": [jid(BOB)]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }
    let created = started.elapsed();
    while list_all(&http, &harness, "bob", false).await < groups {
        assert!(started.elapsed() < Duration::from_secs(600), "Bob's list never filled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bob_has_all = started.elapsed();

    let mut stored = Vec::new();
    let mut refreshed = Vec::new();
    for _ in 0..rounds {
        let at = Instant::now();
        assert_eq!(list_all(&http, &harness, "alice", false).await, groups);
        stored.push(at.elapsed());
        let at = Instant::now();
        assert_eq!(list_all(&http, &harness, "alice", true).await, groups);
        refreshed.push(at.elapsed());
    }
    let (stored_p50, stored_max) = spread(stored);
    let (refreshed_p50, refreshed_max) = spread(refreshed);
    println!(
        "{engine:?}, {groups} groups: created in {created:.2?} ({:.0}/s); Bob's stored list had all {groups} \
         {bob_has_all:.2?} after the first create",
        groups as f64 / created.as_secs_f64()
    );
    println!(
        "{engine:?}, listing all {groups} ({rounds} rounds, pages of 200): stored p50 {stored_p50:.2?} max \
         {stored_max:.2?}; with refresh=true p50 {refreshed_p50:.2?} max {refreshed_max:.2?}"
    );
    harness.stop().await;
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let groups = titan_e2e::bench_flag("--groups", 500) as usize;
    let rounds = titan_e2e::bench_flag("--rounds", 20) as usize;
    for engine in [Engine::Sqlite, Engine::Postgres] {
        run(engine, groups, rounds).await;
    }
}
