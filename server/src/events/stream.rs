//! What one listener of the event stream receives: what it missed (from the outbox, with
//! `Last-Event-ID`), then what the outbox's tail brings (every server's events), filtered.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::tail::Tail;
use super::{Envelope, EventFilter};
use crate::store::Db;

/// Outbox rows read per query while catching up.
const CATCH_UP_BATCH: i64 = 500;
/// Envelopes waiting for a slow listener before the reader waits too.
const LISTENER_BUFFER: usize = 256;

/// Which events one listener receives.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The event types.
    pub events: EventFilter,
    /// The sessions, or `None` for every session.
    pub sessions: Option<BTreeSet<String>>,
}

impl Selection {
    fn accepts(&self, envelope: &Envelope) -> bool {
        self.events.accepts(&envelope.event) && self.sessions.as_ref().is_none_or(|s| s.contains(&envelope.session))
    }
}

/// The envelopes `selection` picks: those after `last_event_id` from the outbox when given,
/// then every new one from `tail`, until the receiver is dropped.
pub fn listen(
    db: Db,
    tail: &Tail,
    selection: Selection,
    last_event_id: Option<String>,
) -> mpsc::Receiver<Arc<Envelope>> {
    let live = tail.subscribe();
    let (sender, receiver) = mpsc::channel::<Arc<Envelope>>(LISTENER_BUFFER);
    tokio::spawn(forward(db, live, sender, selection, last_event_id.unwrap_or_default()));
    receiver
}

/// Sends the listener what it missed since `last` (from the outbox), then live events; falls
/// back to the outbox whenever it lags behind the live feed. The live feed can carry an event
/// that committed late, with an id below one already sent, so what a catch-up sent is skipped by
/// id rather than by order.
async fn forward(
    db: Db,
    mut live: tokio::sync::broadcast::Receiver<Arc<Envelope>>,
    sender: mpsc::Sender<Arc<Envelope>>,
    selection: Selection,
    mut last: String,
) {
    let mut catch_up = !last.is_empty();
    let mut caught_up: BTreeSet<String> = BTreeSet::new();
    loop {
        if catch_up {
            catch_up = false;
            let reach = super::tail::floor(crate::store::now_ms() - 2 * super::tail::lag_ms());
            caught_up = caught_up.split_off(&reach);
            loop {
                let batch = match crate::store::events::after(&db, &last, CATCH_UP_BATCH).await {
                    Ok(batch) => batch,
                    Err(error) => {
                        tracing::warn!(error = format!("{error:#}"), "event stream cannot read the outbox");
                        return;
                    }
                };
                let full = batch.len() == usize::try_from(CATCH_UP_BATCH).unwrap_or(usize::MAX);
                for envelope in batch {
                    last.clone_from(&envelope.id);
                    if envelope.id >= reach {
                        caught_up.insert(envelope.id.clone());
                    }
                    if selection.accepts(&envelope) && sender.send(Arc::new(envelope)).await.is_err() {
                        return;
                    }
                }
                if !full {
                    break;
                }
            }
        }
        let received = tokio::select! {
            received = live.recv() => received,
            () = sender.closed() => return,
        };
        match received {
            Ok(envelope) => {
                if caught_up.contains(&envelope.id) {
                    continue; // already sent while catching up
                }
                if envelope.id > last {
                    last.clone_from(&envelope.id);
                }
                if selection.accepts(&envelope) && sender.send(envelope).await.is_err() {
                    return;
                }
            }
            Err(RecvError::Lagged(_)) => catch_up = !last.is_empty(),
            Err(RecvError::Closed) => return,
        }
    }
}
