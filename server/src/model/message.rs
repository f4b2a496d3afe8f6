//! How far a message got.

use super::wire::wire_enum;

wire_enum! {
    /// Delivery progress of a message, as receipts report it.
    MessageStatus as "lowercase" {
        /// Waiting in a paced session's send queue for its turn.
        Queued => "queued",
        /// Accepted, not yet acknowledged by WhatsApp.
        Pending => "pending",
        /// WhatsApp's server has it.
        Sent => "sent",
        /// It reached the recipient's device (for received messages: it reached this session).
        Delivered => "delivered",
        /// The recipient opened it.
        Read => "read",
        /// The recipient played it (voice notes, videos).
        Played => "played",
        /// Sending failed.
        Error => "error",
    }
}

impl MessageStatus {
    /// Order of progress: a status only ever moves to a higher rank, so a late `delivered`
    /// receipt never undoes `read`. `error` replaces only `queued` and `pending`.
    pub const fn rank(self) -> i64 {
        match self {
            Self::Queued | Self::Pending => 0,
            Self::Sent | Self::Error => 1,
            Self::Delivered => 2,
            Self::Read => 3,
            Self::Played => 4,
        }
    }
}
