//! Two `titan` processes on one PostgreSQL database: a stream client of each receives every
//! event either server writes, because each server's live stream reads the outbox itself.
//! (SQLite is one server's file, so this runs on PostgreSQL only.)

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::process::{free_port, root_key, serve, wait_healthy};
use serde_json::{Value, json};

/// Sessions each server creates; each creation writes one `session.status` event.
const PER_SERVER: usize = 5;

/// Reads an open `GET /api/events` response until `done` holds for the envelopes so far.
async fn read_until(mut response: reqwest::Response, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buffer = String::new();
    let mut envelopes = Vec::new();
    while !done(&envelopes) {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, response.chunk()).await;
        let Ok(Ok(Some(chunk))) = chunk else {
            panic!("the stream ended or stalled; it carried: {envelopes:#?}");
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            if let Some(data) = message.lines().find_map(|l| l.strip_prefix("data:")) {
                envelopes.push(serde_json::from_str(data.trim()).unwrap());
            }
        }
    }
    envelopes
}

#[tokio::test]
async fn a_stream_on_either_server_receives_what_both_write() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database_url) = common::database_url(common::Backend::Postgres, &dir).await else {
        return;
    };
    let http = reqwest::Client::new();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut child = serve(&database_url, port, dir.path(), &[]);
        wait_healthy(&http, &base, &mut child, dir.path()).await;
        servers.push((base, child));
    }
    let key = root_key(&http, &servers[0].0).await;
    let mut streams = Vec::new();
    for (base, _) in &servers {
        let response = http
            .get(format!("{base}/api/events?events=session.status"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        streams.push(response);
    }
    // Give each tail a read, so both streams are live before anything is written.
    tokio::time::sleep(Duration::from_millis(600)).await;

    let mut written = BTreeSet::new();
    for (index, (base, _)) in servers.iter().enumerate() {
        for n in 0..PER_SERVER {
            let name = format!("server{index}-s{n}");
            let created = http
                .post(format!("{base}/api/sessions"))
                .bearer_auth(&key)
                .json(&json!({"name": name}))
                .send()
                .await
                .unwrap();
            assert_eq!(created.status(), 201, "{name} on {base}");
            written.insert(name);
        }
    }

    let sessions = |envelopes: &[Value]| -> BTreeSet<String> {
        envelopes
            .iter()
            .filter_map(|e| e["session"].as_str().map(str::to_owned))
            .collect()
    };
    let mut readers = Vec::new();
    for stream in streams {
        let expected = written.clone();
        readers.push(tokio::spawn(async move {
            read_until(stream, |envelopes| sessions(envelopes).is_superset(&expected)).await
        }));
    }
    for (reader, (base, _)) in readers.into_iter().zip(&servers) {
        let envelopes = reader.await.unwrap();
        assert_eq!(
            sessions(&envelopes),
            written,
            "the stream of {base} saw every session of both servers"
        );
        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        for envelope in &envelopes {
            *ids.entry(envelope["id"].as_str().unwrap()).or_default() += 1;
        }
        assert!(ids.values().all(|n| *n == 1), "no event twice on {base}: {ids:?}");
    }
    for (_, mut child) in servers {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
