//! An event on its way into the outbox ([`NewEvent`]) and on its way out ([`Envelope`]).

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::event_type::EventType;
use super::events::Payload;

/// An event about to be written to the outbox: its payload, which names its type.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The `payload` of the envelope.
    pub payload: Payload,
}

impl NewEvent {
    /// The event carrying `payload`.
    pub fn new(payload: Payload) -> Self {
        Self { payload }
    }

    /// Its type.
    pub const fn kind(&self) -> EventType {
        self.payload.kind()
    }
}

/// An event as delivered: `{id, event, session, timestamp, payload}`, serialized once and shared
/// by every webhook and stream that receives it.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// `evt_<ULID>`, unique: receivers dedupe by it.
    pub id: String,
    /// The event type's wire name.
    pub event: String,
    /// The session it happened on.
    pub session: String,
    /// When it was written to the outbox.
    pub created_at: DateTime<Utc>,
    /// The JSON body, exactly as sent.
    pub body: Arc<str>,
}

impl Envelope {
    /// The envelope of an outbox row (`payload` is the stored JSON text).
    pub fn new(id: String, event: String, session: String, created_at_ms: i64, payload: &str) -> Self {
        let created_at = DateTime::from_timestamp_millis(created_at_ms).unwrap_or_default();
        let payload: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
        let body = serde_json::json!({
            "id": id,
            "event": event,
            "session": session,
            "timestamp": created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "payload": payload,
        })
        .to_string();
        Self {
            id,
            event,
            session,
            created_at,
            body: body.into(),
        }
    }
}
