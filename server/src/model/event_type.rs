//! The 30 event types of Titan's webhooks and event stream, and the filter that selects them.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

macro_rules! event_types {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// One type of event, by its wire name (`message.received`, `session.status`, ...).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum EventType {
            $(#[doc = $doc] $variant,)*
        }

        impl EventType {
            /// Every event type, in the order of the documentation.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            /// The wire name, e.g. `session.status`.
            pub const fn as_str(self) -> &'static str {
                match self { $(EventType::$variant => $name,)* }
            }

            /// The type's name in Rust and in the OpenAPI components, e.g. `SessionStatus`.
            pub const fn type_name(self) -> &'static str {
                match self { $(EventType::$variant => stringify!($variant),)* }
            }

            /// When the event is sent, in one sentence (the documentation's words).
            pub const fn description(self) -> &'static str {
                match self { $(EventType::$variant => $doc,)* }
            }
        }
    };
}

event_types! {
    MessageReceived => "message.received", "A message arrived.";
    MessageSent => "message.sent", "The session sent a message (through the API or from another of the account's devices).";
    MessageAck => "message.ack", "A delivery, read or played receipt, or a delivery failure.";
    MessageRevoked => "message.revoked", "Someone else deleted their message for everyone (`revokedId` names it).";
    MessageReaction => "message.reaction", "A reaction was added or removed.";
    MessageEdited => "message.edited", "A message was edited (by its sender, or by this account through the API or another device).";
    MessageUpdate => "message.update", "A message changed in a way no other type covers (for example starred on another device).";
    MessageDelete => "message.delete", "This account deleted a message: for everyone (through the API or another device), or for itself only on another device (`forEveryone: false`).";
    MessageVote => "message.vote", "A poll vote.";
    SessionStatus => "session.status", "A session's status or status reason changed.";
    SessionQr => "session.qr", "A new pairing QR code is available.";
    SessionConnected => "session.connected", "A session finished pairing and is connected.";
    SessionLoggedOut => "session.logged_out", "The WhatsApp account unlinked the session, or it was logged out.";
    GroupUpdate => "group.update", "A group's subject, description or picture changed, or the session joined a group.";
    GroupParticipant => "group.participant", "Participants joined, left, were promoted or demoted.";
    PresenceUpdate => "presence.update", "A subscribed contact's presence or chat state changed.";
    CallReceived => "call.received", "An incoming call.";
    CallMissed => "call.missed", "An incoming call was not answered.";
    CallAccepted => "call.accepted", "An incoming call was accepted.";
    CallRejected => "call.rejected", "An incoming call was rejected.";
    ContactUpdate => "contact.update", "A contact's profile changed: push name, picture, about text, phone number, or the name saved for them.";
    ChatArchive => "chat.archive", "A chat was archived or unarchived.";
    ChatMute => "chat.mute", "A chat was muted or unmuted.";
    ChatRead => "chat.read", "A chat was marked read or unread.";
    ChatClear => "chat.clear", "A chat's history was cleared.";
    ChatDelete => "chat.delete", "A chat was deleted.";
    LabelsUpdate => "labels.update", "A label was assigned to or removed from a chat.";
    NewsletterUpdate => "newsletter.update", "A followed channel changed.";
    BlocklistUpdate => "blocklist.update", "A contact was blocked or unblocked.";
    HistorySync => "history.sync", "WhatsApp delivered a chunk of chat history.";
    CommandResult => "command.result", "An async command (`Prefer: respond-async`) finished.";
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the event types.
#[derive(Debug, thiserror::Error)]
#[error("unknown event type `{0}`; the event types are listed in the webhook documentation, and `*` means all")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownEventType(s.to_owned()))
    }
}

/// Which events a webhook or stream wants: all of them, or a set of types.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EventFilter {
    /// Every event (`[]` or `["*"]` on the wire).
    #[default]
    All,
    /// Only these types.
    Only(Vec<EventType>),
}

impl EventFilter {
    /// Parses the wire form: event type names, where `*` (or no name at all) means every type.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, UnknownEventType> {
        let mut kinds = Vec::new();
        for name in names {
            match name.as_ref().trim() {
                "*" => return Ok(Self::All),
                name => {
                    let kind = name.parse()?;
                    if !kinds.contains(&kind) {
                        kinds.push(kind);
                    }
                }
            }
        }
        Ok(if kinds.is_empty() { Self::All } else { Self::Only(kinds) })
    }

    /// Whether an event of type `event` (a wire name) passes.
    pub fn accepts(&self, event: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(kinds) => kinds.iter().any(|k| k.as_str() == event),
        }
    }

    /// The wire form: `["*"]` for all, else the names.
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            Self::All => vec!["*"],
            Self::Only(kinds) => kinds.iter().map(|k| k.as_str()).collect(),
        }
    }
}

impl Serialize for EventFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EventFilter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        Self::parse(&names).map_err(serde::de::Error::custom)
    }
}

impl PartialSchema for EventFilter {
    fn schema() -> RefOr<Schema> {
        let names = std::iter::once("*").chain(EventType::ALL.iter().map(|k| k.as_str()));
        let item = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names))
            .build();
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(item)
            .description(Some("Event types to receive; `[]` or `[\"*\"]` means every type."))
            .into()
    }
}

impl ToSchema for EventFilter {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EventFilter")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_type_is_known_and_names_round_trip() {
        // webhook-events.txt has a section for each of these 31 names (command.result included).
        assert_eq!(EventType::ALL.len(), 31);
        for kind in EventType::ALL {
            assert_eq!(kind.as_str().parse::<EventType>().ok(), Some(*kind));
        }
    }

    #[test]
    fn filters_parse_the_wire_forms() {
        assert_eq!(EventFilter::parse::<&str>(&[]).ok(), Some(EventFilter::All));
        assert_eq!(EventFilter::parse(&["*"]).ok(), Some(EventFilter::All));
        let only = EventFilter::parse(&["message.received", "message.received", "session.status"]).ok();
        assert_eq!(
            only,
            Some(EventFilter::Only(vec![
                EventType::MessageReceived,
                EventType::SessionStatus
            ]))
        );
        let only = only.unwrap_or_default();
        assert!(only.accepts("session.status") && !only.accepts("message.ack"));
        assert!(EventFilter::parse(&["message.recieved"]).is_err());
    }
}
