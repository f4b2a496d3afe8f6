//! What a supervisor sees of its client: every library event (through a handler that only
//! enqueues, so the client's dispatch path never waits on the database) and every failed
//! connection attempt (which the library only logs).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::mpsc;
use whatsapp_rust::prelude::Event;
use whatsapp_rust::wacore::net::{Transport, TransportEvent, TransportFactory};
use whatsapp_rust::wacore::types::events::EventHandler;

/// Forwards every event to the supervisor, in dispatch order.
pub(super) struct Enqueue(pub mpsc::UnboundedSender<Arc<Event>>);

impl EventHandler for Enqueue {
    fn handle_event(&self, event: Arc<Event>) {
        // The receiver only goes away once the client has stopped.
        let _ = self.0.send(event);
    }
}

/// A failed connection attempt.
#[derive(Debug)]
pub(super) struct ConnectFailure {
    /// Consecutive failures so far, this one included.
    pub attempt: u32,
    /// Why it failed.
    pub error: String,
}

/// Wraps a transport factory to report failed attempts and count consecutive ones.
pub(super) struct Observed<F> {
    inner: F,
    failures: AtomicU32,
    notes: mpsc::UnboundedSender<ConnectFailure>,
}

impl<F> Observed<F> {
    pub(super) fn new(inner: F, notes: mpsc::UnboundedSender<ConnectFailure>) -> Self {
        Self {
            inner,
            failures: AtomicU32::new(0),
            notes,
        }
    }
}

#[whatsapp_rust::async_trait]
impl<F: TransportFactory> TransportFactory for Observed<F> {
    async fn create_transport(
        &self,
    ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), anyhow::Error> {
        match self.inner.create_transport().await {
            Ok(transport) => {
                self.failures.store(0, Ordering::Relaxed);
                Ok(transport)
            }
            Err(error) => {
                let attempt = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                let _ = self.notes.send(ConnectFailure {
                    attempt,
                    error: format!("{error:#}"),
                });
                Err(error)
            }
        }
    }
}
