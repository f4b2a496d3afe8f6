//! Titan's events: the envelope every webhook and stream carries, and the outbox they are written
//! to in the same transaction as the state they reflect (delivery reads the outbox).

use serde_json::Value;

/// The event types the server produces, by their wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// A session's status or status reason changed.
    SessionStatus,
    /// A new pairing QR code is available.
    SessionQr,
    /// A session finished pairing and is connected.
    SessionConnected,
    /// The WhatsApp account unlinked the session, or it was logged out.
    SessionLoggedOut,
    /// A message arrived.
    MessageReceived,
    /// The session sent a message (through the API or from another of the account's devices).
    MessageSent,
    /// A delivery, read or played receipt, or a delivery failure.
    MessageAck,
}

impl EventType {
    /// The wire name, e.g. `session.status`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SessionStatus => "session.status",
            Self::SessionQr => "session.qr",
            Self::SessionConnected => "session.connected",
            Self::SessionLoggedOut => "session.logged_out",
            Self::MessageReceived => "message.received",
            Self::MessageSent => "message.sent",
            Self::MessageAck => "message.ack",
        }
    }
}

/// An event about to be written to the outbox.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Its type.
    pub kind: EventType,
    /// The `payload` of the envelope.
    pub payload: Value,
}

impl NewEvent {
    /// An event of `kind` with `payload`.
    pub fn new(kind: EventType, payload: Value) -> Self {
        Self { kind, payload }
    }
}
