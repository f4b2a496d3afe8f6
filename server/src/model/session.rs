//! A session's status and the reason for it, as the API and `session.status` events show them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::bounded::{IntRule, bounded_int};
use super::wire::wire_enum;

wire_enum! {
    /// Whether the session is connected to WhatsApp.
    Status as "SCREAMING_SNAKE_CASE" {
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
    StatusReason as "SCREAMING_SNAKE_CASE" {
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
    pub const fn payload(self) -> super::events::SessionStatusPayload {
        super::events::SessionStatusPayload {
            status: self.status,
            status_reason: self.reason,
        }
    }
}

/// Settings of a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionConfig {
    /// Download the chat history WhatsApp offers after pairing (off by default: it can be large).
    #[serde(default)]
    pub history_sync: bool,
    /// Copy every media file the session receives into the media store (`TITAN_MEDIA_STORE`) as
    /// it arrives, as `POST …/media/{mediaId}/persist` does; off by default.
    #[serde(default)]
    pub persist_media: bool,
    /// Send this session's messages at a steady pace instead of as fast as they come, as
    /// WhatsApp bans numbers that burst. Sends are then queued durably (answered at once with
    /// status `queued`, kept across restarts) and leave one by one; absent: no pacing. Takes
    /// effect at once, for the messages already queued too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing: Option<Pacing>,
}

bounded_int! {
    /// How many messages a paced session sends per minute at most, on average.
    MessagesPerMinute = IntRule { min: 1, max: 600, text: false };
}

bounded_int! {
    /// How far each gap between two paced sends may stray from the average, in percent of it.
    JitterPercent = IntRule { min: 0, max: 90, text: false };
}

/// A session's send pace: on average `messagesPerMinute`, each gap between two messages
/// lengthened or shortened at random by up to `jitterPercent` of the average gap, so the
/// messages do not leave like clockwork.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"messagesPerMinute": 20, "jitterPercent": 30}))]
pub struct Pacing {
    /// Messages per minute, 1 to 600.
    #[schema(inline)]
    pub messages_per_minute: MessagesPerMinute,
    /// Randomness of each gap, 0 to 90 percent of the average gap (default 20).
    #[serde(default = "Pacing::default_jitter")]
    #[schema(inline)]
    pub jitter_percent: JitterPercent,
}

impl Pacing {
    const fn default_jitter() -> JitterPercent {
        JitterPercent::new_const(20)
    }

    /// The gap to leave before the next message: the average gap, moved by `unit` (from -1 to
    /// 1, drawn at random) times the jitter.
    pub fn gap(self, unit: f64) -> std::time::Duration {
        let average = 60.0 / f64::from(self.messages_per_minute.get());
        let spread = f64::from(self.jitter_percent.get()) / 100.0;
        std::time::Duration::from_secs_f64(average * (1.0 + spread * unit.clamp(-1.0, 1.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pace_spreads_its_gaps_around_the_average() {
        let pace: Pacing = serde_json::from_value(serde_json::json!({"messagesPerMinute": 20}))
            .expect("a pace with the default jitter");
        assert_eq!(pace.jitter_percent.get(), 20);
        let ms = |unit: f64| pace.gap(unit).as_secs_f64() * 1000.0;
        for (unit, want) in [(0.0, 3000.0), (1.0, 3600.0), (-1.0, 2400.0), (7.0, 3600.0)] {
            assert!(
                (ms(unit) - want).abs() < 0.001,
                "gap({unit}) = {} ms, not {want}",
                ms(unit)
            );
        }
        for bad in [
            serde_json::json!({"messagesPerMinute": 0}),
            serde_json::json!({"messagesPerMinute": 20, "jitterPercent": 91}),
            serde_json::json!({"messagesPerMinute": 20.5}),
        ] {
            assert!(serde_json::from_value::<Pacing>(bad.clone()).is_err(), "{bad}");
        }
    }
}
