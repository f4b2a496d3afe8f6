//! A webhook as the server holds it: with its secrets opened for delivery, sealed for storage,
//! and shown to its owner.

use std::collections::BTreeMap;

use anyhow::Context;

use super::api_types::{Webhook, time};
use crate::events::EventFilter;
use crate::model::delivery::{Attempts, DelaySeconds, Retries};
use crate::secrets::SecretBox;
use crate::store::webhooks::WebhookRow;

/// A webhook with its secrets opened: what the dispatcher delivers with.
#[derive(Debug, Clone)]
pub struct Hook {
    /// `wh_...`.
    pub id: String,
    /// Target URL.
    pub url: String,
    /// Label.
    pub label: Option<String>,
    /// Event types.
    pub events: EventFilter,
    /// Session filter.
    pub session: Option<String>,
    /// Deliver or not.
    pub enabled: bool,
    /// Extra headers.
    pub headers: BTreeMap<String, String>,
    /// Retry policy.
    pub retries: Retries,
    /// Signing key.
    pub hmac_key: String,
    /// ms since epoch.
    pub created_at: i64,
    /// ms since epoch.
    pub updated_at: i64,
}

impl Hook {
    /// Whether an event of type `event` on `session` goes to this webhook.
    pub fn wants(&self, event: &str, session: &str) -> bool {
        self.enabled && self.events.accepts(event) && self.session.as_deref().is_none_or(|s| s == session)
    }

    /// Opens a stored row with the server's key; a row that does not open or parse is an
    /// error, never a webhook with default filters.
    pub fn open(row: WebhookRow, secrets: &SecretBox) -> anyhow::Result<Self> {
        let headers = secrets.open(&format!("{}:headers", row.id), &row.headers)?;
        let hmac_key = secrets.open(&format!("{}:secret", row.id), &row.secret)?;
        Ok(Self {
            headers: serde_json::from_str(&headers).context("stored headers are not a JSON object")?,
            hmac_key,
            events: serde_json::from_str(&row.events).context("stored events are not a filter")?,
            retries: Retries {
                attempts: stored(row.retry_attempts, Attempts::new).context("stored retry attempts")?,
                delay_seconds: stored(row.retry_delay_secs, DelaySeconds::new).context("stored retry delay")?,
                policy: row.retry_policy.parse()?,
            },
            id: row.id,
            url: row.url,
            label: row.label,
            session: row.session,
            enabled: row.enabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// The row to store: secrets sealed with the server's key.
    pub(super) fn seal(&self, secrets: &SecretBox) -> anyhow::Result<WebhookRow> {
        Ok(WebhookRow {
            id: self.id.clone(),
            url: self.url.clone(),
            label: self.label.clone(),
            events: serde_json::to_string(&self.events)?,
            session: self.session.clone(),
            enabled: self.enabled,
            headers: secrets.seal(&format!("{}:headers", self.id), &serde_json::to_string(&self.headers)?)?,
            retry_attempts: i64::from(self.retries.attempts.get()),
            retry_delay_secs: i64::from(self.retries.delay_seconds.get()),
            retry_policy: self.retries.policy.as_str().to_owned(),
            secret: secrets.seal(&format!("{}:secret", self.id), &self.hmac_key)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }

    /// The API view; the signing key only when `show_key` (at creation).
    pub(super) fn view(&self, show_key: bool) -> Webhook {
        Webhook {
            id: self.id.clone(),
            url: self.url.clone(),
            label: self.label.clone(),
            events: self.events.clone(),
            session: self.session.clone(),
            enabled: self.enabled,
            headers: self.headers.clone(),
            retries: self.retries,
            hmac_key: show_key.then(|| self.hmac_key.clone()),
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
        }
    }
}

/// A stored bounded number, read back through its rule.
fn stored<T>(value: i64, new: fn(u32) -> Result<T, String>) -> anyhow::Result<T> {
    let value = u32::try_from(value)?;
    new(value).map_err(anyhow::Error::msg)
}
