//! Titan's events: the envelope every webhook and stream carries (defined in the bottom layer,
//! [`crate::model::envelope`]), each server's live tail of the outbox, the stream's listeners,
//! and retention. Webhook delivery is [`crate::webhooks::dispatcher`].

pub mod retention;
pub mod stream;
pub mod tail;

pub use crate::model::envelope::{Envelope, NewEvent};
pub use crate::model::event_type::{EventFilter, EventType, UnknownEventType};
pub use crate::model::events::Payload;
