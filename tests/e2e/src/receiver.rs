//! A webhook receiver on loopback: records every request it gets (headers, raw body, the status
//! it answered) and answers with a status the test chooses.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::harness::STEP;
use crate::schema::EventSchemas;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its raw body.
    pub body: Bytes,
    /// The status the receiver answered.
    pub status: u16,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Received {
    /// The body as JSON (the event envelope).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct Shared {
    received: Mutex<Vec<Received>>,
    status: AtomicU16,
    arrived: Notify,
    schemas: Arc<EventSchemas>,
    /// How the bodies received so far break their schemas (checked once, on arrival).
    violations: Mutex<Vec<String>>,
}

/// The receiver; it stops when dropped.
pub struct Receiver {
    /// Its URL, e.g. `http://127.0.0.1:1234/hook`.
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let status = shared.status.load(Ordering::SeqCst);
    let envelope: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let violations = shared.schemas.violations(&envelope);
    if !violations.is_empty() {
        let report = format!("{}\n{envelope:#}", violations.join("\n  "));
        shared
            .violations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(report);
    }
    shared
        .received
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Received {
            headers,
            body,
            status,
            at: std::time::Instant::now(),
        });
    shared.arrived.notify_waiters();
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

impl Receiver {
    /// Starts a receiver answering 200, which checks every envelope it gets against
    /// `schemas`.
    pub async fn start(schemas: Arc<EventSchemas>) -> Self {
        let shared = Arc::new(Shared {
            received: Mutex::default(),
            status: AtomicU16::new(200),
            arrived: Notify::new(),
            schemas,
            violations: Mutex::default(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        let app = Router::new().route("/hook", post(receive)).with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared, task }
    }

    /// Answers every following request with `status`.
    pub fn answer_with(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The envelopes of the requests answered 2xx, in arrival order; panics if any request so
    /// far broke its schema.
    pub fn delivered(&self) -> Vec<Value> {
        let violations = self
            .shared
            .violations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        assert!(
            violations.is_empty(),
            "envelopes that do not match their schema in openapi.json:\n  {}",
            violations.join("\n  ")
        );
        self.received()
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .map(Received::json)
            .collect()
    }

    /// Waits (up to `within`) until `done` holds for the delivered envelopes; panics naming `what`.
    pub async fn wait_until(&self, what: &str, within: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrived = self.shared.arrived.notified();
            let delivered = self.delivered();
            if done(&delivered) {
                return delivered;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let delivered = self.delivered();
                assert!(
                    done(&delivered),
                    "timed out waiting for {what}; delivered: {delivered:#?}"
                );
                return delivered;
            }
        }
    }

    /// Waits (up to [`STEP`]) for a delivered `event` on `session` whose payload passes
    /// `matches`, and returns that payload.
    pub async fn expect(&self, event: &str, session: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let pick = |all: &[Value]| {
            all.iter()
                .find(|e| e["event"] == event && e["session"] == session && matches(&e["payload"]))
                .map(|e| e["payload"].clone())
        };
        let all = self
            .wait_until(&format!("{event} on {session}"), STEP, |all| pick(all).is_some())
            .await;
        pick(&all).unwrap_or_default()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
