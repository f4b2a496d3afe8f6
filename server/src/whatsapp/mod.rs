//! Titan's side of whatsapp-rust: the pieces a session's client is built from.

pub mod http;
pub mod spool;
pub mod transport;
