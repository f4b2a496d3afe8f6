//! What the end-to-end suites share: a real Titan server on a real database, the WhatsApp
//! emulator it connects to, titan-client to drive it, and proxies that count what they relay.

pub mod database;
pub mod harness;
pub mod proxies;
pub mod receiver;
