//! WhatsApp channels (newsletters) as the API shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::wire::wire_enum;

wire_enum! {
    /// What the session's account is to a channel.
    ChannelRole as "lowercase" {
        /// It created the channel.
        Owner => "owner",
        /// It administers the channel.
        Admin => "admin",
        /// It follows the channel.
        Subscriber => "subscriber",
        /// It only looks at the channel.
        Guest => "guest",
    }
}

wire_enum! {
    /// Whether WhatsApp shows the channel.
    ChannelState as "lowercase" {
        /// Shown.
        Active => "active",
        /// Suspended by WhatsApp.
        Suspended => "suspended",
        /// Suspended in some countries.
        Geosuspended => "geosuspended",
    }
}

/// A channel, as WhatsApp describes it to the session's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "120363012345678901@newsletter", "name": "Titan news", "description": "Releases",
    "subscriberCount": 42, "verified": false, "state": "active", "role": "owner", "inviteCode": "0029VaABCDEF",
    "inviteUrl": "https://whatsapp.com/channel/0029VaABCDEF", "createdAt": "2025-05-01T12:00:00Z"}))]
pub struct Channel {
    /// The channel's JID (`<id>@newsletter`): the `chatId` its posts are sent to.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How many follow it.
    pub subscriber_count: u64,
    /// Whether WhatsApp verified it.
    pub verified: bool,
    /// Whether WhatsApp shows it.
    pub state: ChannelState,
    /// What the session's account is to it, when WhatsApp says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ChannelRole>,
    /// Its invite code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_code: Option<String>,
    /// The link that opens it in WhatsApp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_url: Option<String>,
    /// Its picture (a WhatsApp CDN path), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}
