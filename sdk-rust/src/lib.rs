//! Typed Rust client for the Titan WhatsApp REST API.
//!
//! The endpoint methods and types are generated from Titan's OpenAPI document (`generated.rs`,
//! never edited by hand); this crate adds the transport policy around them: authentication,
//! timeouts, retries with jittered exponential backoff that honour `Retry-After`, an
//! `Idempotency-Key` on every POST reused across its retries, typed errors, auto-paging streams and
//! webhook signature verification.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use titan_client::{Client, paging::Paginated};
//!
//! # async fn demo() -> Result<(), titan_client::Error> {
//! // Reads TITAN_BASE_URL and TITAN_API_KEY.
//! let client = Client::from_env()?;
//! let created = client
//!     .create_key()
//!     .body(titan_client::types::CreateKey::builder().label("ci").scopes(vec![titan_client::types::Scope::SessionsRead]))
//!     .send()
//!     .await?;
//! println!("store this key now: {}", created.data.key);
//! let keys: Vec<_> = client.list_keys().limit(50).stream().try_collect().await?;
//! println!("{} keys", keys.len());
//! # Ok(())
//! # }
//! ```
//!
//! Every call returns [`ResponseValue`], which derefs to the body and also gives the status and
//! headers (raw response access), or an error that converts into [`Error`] with the status,
//! `error`, `docs` and request id of a failed call.

mod error;
pub mod events;
#[allow(missing_docs, clippy::all, clippy::unwrap_used)]
#[rustfmt::skip]
mod generated;
#[allow(missing_docs)]
#[rustfmt::skip]
mod generated_events;
#[allow(missing_docs)]
#[rustfmt::skip]
mod generated_paging;
pub mod paging;
pub mod raw;
mod transport;
pub mod webhooks;

pub use error::{ApiError, Error};
pub use generated::*;
pub use progenitor_client::{ByteStream, ResponseValue};
pub use transport::{ClientBuilder, ClientState};

impl types::Scope {
    /// `*`, every scope (the generator can only name this variant `X`).
    pub const ALL: Self = Self::X;
}
