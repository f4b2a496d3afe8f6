//! How far a message got.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Delivery progress of a message, as receipts report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Accepted, not yet acknowledged by WhatsApp.
    Pending,
    /// WhatsApp's server has it.
    Sent,
    /// It reached the recipient's device (for received messages: it reached this session).
    Delivered,
    /// The recipient opened it.
    Read,
    /// The recipient played it (voice notes, videos).
    Played,
    /// Sending failed.
    Error,
}

impl MessageStatus {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Played => "played",
            Self::Error => "error",
        }
    }

    /// Order of progress: a status only ever moves to a higher rank, so a late `delivered`
    /// receipt never undoes `read`. `error` replaces only `pending`.
    pub const fn rank(self) -> i64 {
        match self {
            Self::Pending => 0,
            Self::Sent | Self::Error => 1,
            Self::Delivered => 2,
            Self::Read => 3,
            Self::Played => 4,
        }
    }
}

impl FromStr for MessageStatus {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => Self::Pending,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "played" => Self::Played,
            "error" => Self::Error,
            other => anyhow::bail!("unknown message status `{other}`"),
        })
    }
}
