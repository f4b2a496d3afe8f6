//! An event on its way into the outbox ([`NewEvent`]) and on its way out ([`Envelope`]).

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

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
    /// The envelope of an outbox row (`payload` is the stored JSON text, taken as it is: it is
    /// checked, not parsed into values and written out again).
    pub fn new(id: String, event: String, session: String, created_at_ms: i64, payload: &str) -> Self {
        let created_at = DateTime::from_timestamp_millis(created_at_ms).unwrap_or_default();
        let body = Body {
            event: &event,
            id: &id,
            payload: serde_json::from_str(payload).unwrap_or(RawValue::NULL),
            session: &session,
            timestamp: created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        };
        let body = serde_json::to_string(&body).unwrap_or_default();
        Self {
            id,
            event,
            session,
            created_at,
            body: body.into(),
        }
    }
}

/// An envelope's JSON body, its keys in the order they have always had.
#[derive(Serialize)]
struct Body<'a> {
    event: &'a str,
    id: &'a str,
    payload: &'a RawValue,
    session: &'a str,
    timestamp: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_embeds_the_stored_payload_as_it_is() {
        let envelope = Envelope::new(
            "evt_1".into(),
            "message.sent".into(),
            "shop".into(),
            1_700_000_000_123,
            r#"{"id":"3EB0","body":"a \"quoted\" text","to":{"jid":"1@s.whatsapp.net"}}"#,
        );
        assert_eq!(
            &*envelope.body,
            r#"{"event":"message.sent","id":"evt_1","payload":{"id":"3EB0","body":"a \"quoted\" text","to":{"jid":"1@s.whatsapp.net"}},"session":"shop","timestamp":"2023-11-14T22:13:20.123Z"}"#
        );
    }

    #[test]
    fn a_payload_that_is_not_json_becomes_null() {
        let envelope = Envelope::new("evt_1".into(), "session.qr".into(), "s".into(), 0, "{not json");
        let body: serde_json::Value = serde_json::from_str(&envelope.body).unwrap_or_default();
        assert_eq!(body["payload"], serde_json::Value::Null);
        assert_eq!(body["id"], "evt_1");
    }
}
