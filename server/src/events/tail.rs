//! Each server's live feed of the outbox, for the event stream. It reads the `events` table
//! itself rather than hearing what this server's webhook dispatcher fans out, so with several
//! servers on one PostgreSQL a stream client of any of them sees every event any of them writes.
//!
//! Ids order events by when they were made, not by when they committed: a transaction can commit
//! after a later one. So each read goes back [`LAG`] behind the newest event seen and skips the
//! ids it already sent, and an event is never missed for committing late (within `LAG`). It
//! reads only while someone listens.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::broadcast;

use super::Envelope;
use crate::store::{Db, now_ms};

/// How far behind the newest event a read reaches, for transactions that committed late and
/// clocks of other servers that run behind.
pub const LAG: Duration = Duration::from_secs(3);
/// How often the outbox is read without a signal (other servers' events have none).
const POLL: Duration = Duration::from_millis(250);
/// Rows per read.
const BATCH: i64 = 500;
/// Events a slow listener may fall behind before it re-reads the outbox.
const BUFFER: usize = 4096;

/// The live feed: subscribe to receive every event committed from now on.
#[derive(Debug, Clone)]
pub struct Tail {
    sender: broadcast::Sender<Arc<Envelope>>,
    /// When the first of the current listeners subscribed (ms since the epoch): events made
    /// before are history, for `Last-Event-ID` to replay.
    since: Arc<AtomicI64>,
}

impl Default for Tail {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BUFFER).0,
            since: Arc::default(),
        }
    }
}

impl Tail {
    /// Starts reading `db`'s outbox for the listeners (until the returned handle is aborted).
    pub fn follow(&self, db: Db) -> tokio::task::JoinHandle<()> {
        tokio::spawn(follow(db, self.clone()))
    }

    /// Every event made after this call and committed by any server, in about the order they
    /// were made.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        if self.sender.receiver_count() == 0 {
            self.since.store(now_ms(), Ordering::SeqCst);
        }
        self.sender.subscribe()
    }
}

/// [`LAG`] in milliseconds.
pub(super) fn lag_ms() -> i64 {
    i64::try_from(LAG.as_millis()).unwrap_or(i64::MAX)
}

/// The smallest event id made at `ms` (ms since the epoch).
pub(super) fn floor(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or_default();
    format!("evt_{}", ulid::Ulid::from_parts(ms, 0))
}

/// The ids the tail has sent that are still within reach of a read.
#[derive(Debug, Default)]
struct Window {
    sent: BTreeSet<String>,
}

impl Window {
    /// Takes in one read's events (ids above `floor`), returning those not sent before, and
    /// forgets the ids below `floor`, which no read reaches any more.
    fn admit(&mut self, events: Vec<Envelope>, floor: &str) -> Vec<Envelope> {
        self.sent = self.sent.split_off(floor);
        events.into_iter().filter(|e| self.sent.insert(e.id.clone())).collect()
    }
}

async fn follow(db: Db, tail: Tail) {
    let mut window = Window::default();
    loop {
        tokio::select! {
            () = db.events_committed() => {}
            () = tokio::time::sleep(POLL) => {}
        }
        if tail.sender.receiver_count() == 0 {
            window = Window::default();
            continue;
        }
        let floor = floor(now_ms() - lag_ms()).max(floor(tail.since.load(Ordering::SeqCst)));
        let mut cursor = floor.clone();
        loop {
            let batch = match crate::store::events::after(&db, &cursor, BATCH).await {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "the event stream cannot read the outbox");
                    break;
                }
            };
            let full = batch.len() == usize::try_from(BATCH).unwrap_or(usize::MAX);
            if let Some(last) = batch.last() {
                cursor.clone_from(&last.id);
            }
            for envelope in window.admit(batch, &floor) {
                let _ = tail.sender.send(Arc::new(envelope));
            }
            if !full {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> Envelope {
        Envelope::new(id.into(), "session.qr".into(), "s".into(), 0, "{}")
    }

    fn ids(events: &[Envelope]) -> Vec<&str> {
        events.iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn each_event_is_sent_once_even_when_it_commits_late() {
        let mut window = Window::default();
        let first = window.admit(vec![event("evt_2"), event("evt_4")], "evt_1");
        assert_eq!(ids(&first), ["evt_2", "evt_4"]);
        // evt_3 was made before evt_4 but committed after the first read.
        let second = window.admit(
            vec![event("evt_2"), event("evt_3"), event("evt_4"), event("evt_5")],
            "evt_1",
        );
        assert_eq!(ids(&second), ["evt_3", "evt_5"]);
        // Once the floor passes them, old ids are forgotten and never read again.
        let third = window.admit(vec![event("evt_5"), event("evt_6")], "evt_5");
        assert_eq!(ids(&third), ["evt_6"]);
        assert_eq!(window.sent.len(), 2);
    }

    #[test]
    fn the_floor_is_the_first_id_of_its_millisecond() {
        assert!(floor(1_000) < crate::ids::new("evt"));
        assert!(floor(1_000) < floor(1_001));
        assert!(floor(now_ms() + 60_000) > crate::ids::new("evt"));
    }
}
