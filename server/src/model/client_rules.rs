//! Client-token rules as the API shows them: what the browser tokens minted for a session may do.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scope::Scope;

/// One thing client tokens may be allowed to do; each opens a few routes of its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientAction {
    /// `POST …/messages/send`.
    SendMessage,
    /// `POST …/messages/react`.
    SendReaction,
    /// `POST …/messages/typing`.
    SendTyping,
    /// `POST …/messages/seen`.
    SendSeen,
    /// `GET …/presence`, `GET …/presence/{chatId}`.
    ReadPresence,
    /// `POST …/presence/{chatId}/subscribe`.
    SubscribePresence,
    /// `GET …/contacts`, `GET …/contacts/{contactId}`, its picture, `POST …/contacts/check`.
    ReadContact,
}

impl ClientAction {
    /// Every action, in the order the documentation lists them.
    pub const ALL: [ClientAction; 7] = [
        Self::SendMessage,
        Self::SendReaction,
        Self::SendTyping,
        Self::SendSeen,
        Self::ReadPresence,
        Self::SubscribePresence,
        Self::ReadContact,
    ];

    /// The action's wire name, e.g. `send_message`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SendMessage => "send_message",
            Self::SendReaction => "send_reaction",
            Self::SendTyping => "send_typing",
            Self::SendSeen => "send_seen",
            Self::ReadPresence => "read_presence",
            Self::SubscribePresence => "subscribe_presence",
            Self::ReadContact => "read_contact",
        }
    }

    /// The scope an API key would need for the same routes.
    pub const fn scope(self) -> Scope {
        match self {
            Self::SendMessage | Self::SendReaction | Self::SendTyping | Self::SendSeen => Scope::MessagesWrite,
            Self::ReadPresence => Scope::PresenceRead,
            Self::SubscribePresence => Scope::PresenceWrite,
            Self::ReadContact => Scope::ContactsRead,
        }
    }

    /// Whether the action counts against the rules' daily limit (sends do; reads and typing
    /// do not).
    pub const fn is_send(self) -> bool {
        matches!(self, Self::SendMessage | Self::SendReaction)
    }

    /// Whether the action writes to a chat, and so is bound by the rules' recipient mode.
    pub const fn writes_to_chat(self) -> bool {
        matches!(
            self,
            Self::SendMessage | Self::SendReaction | Self::SendTyping | Self::SendSeen
        )
    }
}

impl fmt::Display for ClientAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`ClientAction::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown client action `{0}`")]
pub struct UnknownAction(pub String);

impl FromStr for ClientAction {
    type Err = UnknownAction;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == name)
            .ok_or_else(|| UnknownAction(name.to_owned()))
    }
}

/// Whom client tokens may write to (send, react, type, mark seen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientMode {
    /// Only chats the session already has messages in: a token continues conversations, it
    /// cannot start one with a number of its choosing.
    #[default]
    Conversation,
    /// Any chat.
    Any,
}

impl RecipientMode {
    /// The mode's wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Conversation => "conversation",
            Self::Any => "any",
        }
    }

    /// The mode named `name` as stored (an unknown name reads as the stricter `conversation`).
    pub fn from_stored(name: &str) -> Self {
        if name == Self::Any.as_str() {
            Self::Any
        } else {
            Self::Conversation
        }
    }
}

/// The client-token rules of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "session": "my-session", "recipientMode": "conversation", "allowedActions": "send_message,send_typing",
    "rateLimit": 5, "maxDaily": 100, "allowedOrigins": "https://myapp.com", "enabled": true,
    "createdAt": "2026-12-01T10:00:00Z", "updatedAt": "2026-12-01T10:00:00Z"
}))]
pub struct ClientRules {
    /// The session the rules govern.
    pub session: String,
    /// Whom tokens may write to.
    pub recipient_mode: RecipientMode,
    /// What tokens may do: actions, comma-separated (empty: nothing).
    pub allowed_actions: String,
    /// Requests per minute per ephemeral id (sliding window); 0 for no limit.
    pub rate_limit: u32,
    /// Sends (messages and reactions) per UTC day per ephemeral id; 0 for no limit.
    pub max_daily: u32,
    /// Browser origins allowed to call with a token, comma-separated (empty: any origin).
    pub allowed_origins: String,
    /// Whether tokens work at all; `false` refuses every existing token until set again.
    pub enabled: bool,
    /// When the rules were first set.
    pub created_at: DateTime<Utc>,
    /// When they last changed.
    pub updated_at: DateTime<Utc>,
}

impl ClientRules {
    /// The actions the rules allow (names that are not actions are ignored: the API stores
    /// only checked lists).
    pub fn actions(&self) -> Vec<ClientAction> {
        split_list(&self.allowed_actions)
            .filter_map(|name| name.parse().ok())
            .collect()
    }

    /// Whether a browser at `origin` may call with a token.
    pub fn allows_origin(&self, origin: &str) -> bool {
        let mut origins = split_list(&self.allowed_origins).peekable();
        origins.peek().is_none() || origins.any(|allowed| allowed.eq_ignore_ascii_case(origin))
    }
}

/// The items of a comma-separated list, trimmed, without empty ones.
pub fn split_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(actions: &str, origins: &str) -> ClientRules {
        ClientRules {
            session: "s".into(),
            recipient_mode: RecipientMode::Any,
            allowed_actions: actions.into(),
            rate_limit: 0,
            max_daily: 0,
            allowed_origins: origins.into(),
            enabled: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn actions_and_origins_are_read_from_their_lists() {
        let r = rules(
            "send_message, read_contact,",
            "https://a.example, https://B.example:8443",
        );
        assert_eq!(r.actions(), [ClientAction::SendMessage, ClientAction::ReadContact]);
        assert!(r.allows_origin("https://a.example"));
        assert!(r.allows_origin("https://b.example:8443"), "hosts compare without case");
        assert!(!r.allows_origin("https://a.example.evil"));
        assert!(
            rules("", "").allows_origin("https://anything.example"),
            "no list: any origin"
        );
        assert!(rules("", "").actions().is_empty(), "no list: nothing allowed");
    }

    #[test]
    fn every_action_round_trips_by_name() {
        for action in ClientAction::ALL {
            assert_eq!(action.as_str().parse::<ClientAction>(), Ok(action));
        }
        assert!("send_everything".parse::<ClientAction>().is_err());
    }
}
