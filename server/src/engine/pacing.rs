//! Paced sending. A session with a `pacing` setting queues what it sends, durably (see
//! [`crate::store::send_queue`]); while its client is connected, a [`Pacer`] sends the queue in
//! order, leaving the setting's gap, with its jitter, between two messages. A send that fails
//! for a passing reason is tried again, [`ATTEMPTS`] times in all, then recorded as `error`.
//!
//! A message leaves at least once: a server stopped between a message's send and its record
//! sends it again, with the same id, so a receiver can tell (a Titan session stores it once).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::send::{SendError, SendOptions};
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Client, Jid};

use super::{Shared, Slot};
use crate::events::{NewEvent, Payload};
use crate::model::message::MessageStatus;
use crate::model::session::{Pacing, SessionConfig};
use crate::store::send_queue::{self as queue, Queued};
use crate::store::{messages, sessions};

/// Sends of one message that fail for a passing reason before it is recorded as `error`.
const ATTEMPTS: u32 = 5;

/// How long the pacer waits before reading the queue again after the database failed, or
/// before checking again whether a dropped connection is back.
const RETRY: Duration = Duration::from_secs(1);

/// The worker sending one connected session's queue; dropped (stopped) with its client.
pub(super) struct Pacer {
    task: JoinHandle<()>,
}

impl Pacer {
    /// Starts sending `session`'s queue through `client`.
    pub(super) fn start(shared: Arc<Shared>, slot: Arc<Slot>, client: Arc<Client>, session: String) -> Self {
        let worker = Worker {
            shared,
            slot,
            client,
            session,
            last: None,
        };
        Self {
            task: tokio::spawn(worker.run()),
        }
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Worker {
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    client: Arc<Client>,
    session: String,
    /// When the last queued message left (the next one waits its gap from there).
    last: Option<DateTime<Utc>>,
}

impl Worker {
    async fn run(mut self) {
        let mut started = false;
        loop {
            match queue::next(&self.shared.db, &self.session).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.slot.queued.notified().await;
                    continue;
                }
                Err(error) => {
                    self.db_failed(&error).await;
                    continue;
                }
            }
            if !started {
                // Read once, when there is first something to send: an idle session's client
                // connects with a single query here.
                started = true;
                self.last = queue::last_sent(&self.shared.db, &self.session).await.unwrap_or_else(|error| {
                    tracing::warn!(session = %self.session, error = format!("{error:#}"), "cannot read when the last queued message left");
                    Some(Utc::now())
                });
                tracing::info!(session = %self.session, "sending the session's queued messages");
            }
            if let Some(pacing) = self.pacing().await
                && !self.wait_turn(pacing).await
            {
                continue; // the pace changed while waiting: wait (or not) by the new one
            }
            // Read again after the wait: the chat may have been cleared meanwhile.
            match queue::next(&self.shared.db, &self.session).await {
                Ok(Some(queued)) if self.client.is_connected() => self.send(queued).await,
                Ok(Some(_)) => tokio::time::sleep(RETRY).await,
                Ok(None) => {}
                Err(error) => self.db_failed(&error).await,
            }
        }
    }

    /// Logs a failed read of the queue and waits before the next.
    async fn db_failed(&self, error: &anyhow::Error) {
        tracing::warn!(session = %self.session, error = format!("{error:#}"), "cannot read the send queue");
        tokio::time::sleep(RETRY).await;
    }

    /// The session's pace now (a change applies to the next message); none if it has none or
    /// cannot be read.
    async fn pacing(&self) -> Option<Pacing> {
        let record = sessions::get(&self.shared.db, &self.session).await.ok()??;
        serde_json::from_value::<SessionConfig>(record.config).ok()?.pacing
    }

    /// Waits until a gap drawn from `pacing` has passed since the last message left; `false`
    /// when the session's settings changed first.
    async fn wait_turn(&self, pacing: Pacing) -> bool {
        let Some(last) = self.last else {
            return true;
        };
        let unit = rand::random::<f64>().mul_add(2.0, -1.0);
        let since = (Utc::now() - last).to_std().unwrap_or_default();
        tokio::select! {
            () = tokio::time::sleep(pacing.gap(unit).saturating_sub(since)) => true,
            () = self.slot.settings_changed.notified() => false,
        }
    }

    /// Sends `queued` and records the outcome.
    async fn send(&mut self, queued: Queued) {
        let message = match wa::Message::decode_from_slice(&queued.message) {
            Ok(message) => message,
            Err(error) => {
                return self
                    .record(&queued, Err(&format!("the queued message cannot be read: {error}")))
                    .await;
            }
        };
        let chat: Jid = match queued.chat_jid.parse() {
            Ok(chat) => chat,
            Err(error) => {
                return self
                    .record(&queued, Err(&format!("the queued recipient cannot be read: {error}")))
                    .await;
            }
        };
        let options = SendOptions::default().with_message_id(queued.id.clone());
        let sent = self.client.send_message_with_options(chat, message, options).await;
        let now = Utc::now();
        self.last = Some(now);
        match sent {
            Ok(_) => self.record(&queued, Ok(now)).await,
            Err(SendError::InvalidRequest(why)) => {
                self.record(&queued, Err(&format!("WhatsApp did not accept the message: {why}")))
                    .await;
            }
            Err(error) if queued.attempts + 1 >= ATTEMPTS => {
                self.record(&queued, Err(&format!("WhatsApp did not accept the message: {error}")))
                    .await;
            }
            Err(error) => {
                tracing::warn!(session = %self.session, id = %queued.id, attempt = queued.attempts + 1, %error, "a queued message was not sent; trying again");
                if let Err(error) = queue::attempted(&self.shared.db, &self.session, &queued.id).await {
                    tracing::warn!(session = %self.session, error = format!("{error:#}"), "cannot count a send attempt");
                }
                tokio::time::sleep(RETRY * 2u32.pow(queued.attempts)).await;
            }
        }
    }

    /// Takes `queued` off the queue as sent (announcing `message.sent`) or failed. If that
    /// cannot be recorded, it stays queued and is sent again, with the same id.
    async fn record(&self, queued: &Queued, outcome: Result<DateTime<Utc>, &str>) {
        let db = &self.shared.db;
        let events = match outcome {
            Ok(sent_at) => match messages::get(db, &self.session, &queued.id).await {
                Ok(Some(mut record)) => {
                    record.status = MessageStatus::Sent;
                    record.sent_at = sent_at;
                    vec![NewEvent::new(Payload::MessageSent(record.payload()))]
                }
                // Its chat was cleared while it left: nothing to announce.
                Ok(None) => Vec::new(),
                Err(error) => {
                    tracing::error!(session = %self.session, id = %queued.id, error = format!("{error:#}"), "cannot read a queued message that was sent");
                    return tokio::time::sleep(RETRY).await;
                }
            },
            Err(why) => {
                tracing::warn!(session = %self.session, id = %queued.id, why, "a queued message failed");
                Vec::new()
            }
        };
        if let Err(error) = queue::finish(db, &self.session, &queued.id, outcome, &events).await {
            tracing::error!(session = %self.session, id = %queued.id, error = format!("{error:#}"), "cannot record a queued message's send");
            tokio::time::sleep(RETRY).await;
        }
    }
}
