//! The bottom layer: the types every other layer shares (message, delivery and session status,
//! polls, scopes and grants, JIDRefs, event types and their payloads). It depends on libraries
//! only, so `store/`, `engine/` and `events/` can use it without reaching up into the API or
//! domain modules.

pub mod attachment;
pub mod bounded;
pub mod channel;
pub mod client_rules;
pub mod contact;
pub mod delivery;
pub mod envelope;
pub mod error_body;
pub mod event_type;
pub mod events;
pub mod grant;
pub mod group;
pub mod jid;
pub mod label;
pub mod message;
pub mod poll;
pub mod presence;
pub mod scope;
pub mod session;
pub(crate) mod wire;
