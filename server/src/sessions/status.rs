//! A session's status and the reason for it, as the API and `session.status` events show them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An enum whose serde names (`SCREAMING_SNAKE_CASE`, which utoipa reads too) are also its
/// stored names, parsed back with `FromStr`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// The wire name, as stored and serialized.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire,)* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = anyhow::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok(Self::$variant),)*
                    other => Err(anyhow::anyhow!(concat!("unknown ", stringify!($name), " `{}`"), other)),
                }
            }
        }
    };
}

wire_enum! {
    /// Whether the session is connected to WhatsApp.
    Status {
        /// Starting, waiting for a pairing, or reconnecting.
        Connecting => "CONNECTING",
        /// Authenticated and online.
        Connected => "CONNECTED",
        /// Not running; `statusReason` says why.
        Disconnected => "DISCONNECTED",
    }
}

wire_enum! {
    /// Why the session has its status.
    StatusReason {
        /// Waiting for a QR code scan or a pair code.
        ScanQr => "SCAN_QR",
        /// Reconnecting after a dropped connection or a failed attempt.
        AutoReconnect => "AUTO_RECONNECT",
        /// Stopped through the API.
        ManualStop => "MANUAL_STOP",
        /// The WhatsApp account unlinked the device, or the session was logged out; pair again.
        LoggedOut => "LOGGED_OUT",
        /// Every QR code expired without a scan; start the session again.
        QrTimeout => "QR_TIMEOUT",
        /// WhatsApp refused the connection for good (for example, an outdated client).
        Failed => "FAILED",
        /// WhatsApp banned the number for a while; the session starts again by itself afterwards.
        TemporaryBan => "TEMPORARY_BAN",
        /// The stream was replaced by another connection of the same device, or broke.
        StreamError => "STREAM_ERROR",
    }
}

/// A status with its reason: what `session.status` events carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// The status.
    pub status: Status,
    /// Why, if there is a reason.
    pub reason: Option<StatusReason>,
}

impl State {
    /// A status with a reason.
    pub const fn new(status: Status, reason: Option<StatusReason>) -> Self {
        Self { status, reason }
    }

    /// `DISCONNECTED` for `reason`.
    pub const fn disconnected(reason: StatusReason) -> Self {
        Self::new(Status::Disconnected, Some(reason))
    }

    /// The `session.status` payload.
    pub fn payload(self) -> serde_json::Value {
        serde_json::json!({"status": self.status, "statusReason": self.reason})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_are_the_wire_names() {
        for reason in [
            StatusReason::ScanQr,
            StatusReason::AutoReconnect,
            StatusReason::ManualStop,
            StatusReason::LoggedOut,
            StatusReason::QrTimeout,
            StatusReason::Failed,
            StatusReason::TemporaryBan,
            StatusReason::StreamError,
        ] {
            let json = serde_json::to_string(&reason).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
            assert_eq!(reason.as_str().parse::<StatusReason>().ok(), Some(reason));
        }
        for status in [Status::Connecting, Status::Connected, Status::Disconnected] {
            assert_eq!(
                serde_json::to_value(status).ok(),
                Some(serde_json::json!(status.as_str()))
            );
        }
    }
}
