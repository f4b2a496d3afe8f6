//! Presence as the API reads it back: the last state heard of per chat or contact.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::events::{ContactPresence, PresenceMedia};

/// The last presence the session heard of for a contact (online, offline) or a chat (typing,
/// recording, paused), from `presence.update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chatId": "5511999999999@s.whatsapp.net", "presence": "unavailable", "media": null,
    "lastSeen": 1736937000, "updatedAt": "2025-01-15T10:30:00Z"}))]
pub struct ChatPresence {
    /// The contact, or the chat they type in.
    pub chat_id: String,
    /// The state last heard of.
    pub presence: ContactPresence,
    /// `audio` while recording a voice note, else null.
    pub media: Option<PresenceMedia>,
    /// When the contact was last seen (Unix seconds), when WhatsApp said (kept across later
    /// updates that do not say).
    pub last_seen: Option<i64>,
    /// When the session heard it.
    pub updated_at: DateTime<Utc>,
}
