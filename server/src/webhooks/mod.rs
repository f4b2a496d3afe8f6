//! Webhooks: where events are POSTed, which ones, how deliveries are signed and retried, and
//! the delivery log. [`crud`] validates ([`checks`]) and authorizes; [`dispatcher`] delivers.

mod api_types;
mod checks;
mod crud;
pub mod dispatcher;
mod hook;
pub mod signature;
pub mod target;

pub use self::api_types::{
    CreateWebhook, Delivery, DeliveryData, DeliveryPage, DeliveryQuery, UpdateWebhook, Webhook, WebhookData,
    WebhookPage,
};
pub use self::crud::{create, delete, deliveries, get, list, retry, update};
pub use self::hook::Hook;
pub use crate::model::delivery::{DeliveryState, Retries, RetryPolicy};
