//! What the webhooks API takes and answers: webhook bodies, the webhook and delivery views, and
//! the delivery log's query.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::checks::{HmacKey, SessionFilter, WebhookHeaders, WebhookUrl};
use crate::events::EventFilter;
use crate::model::bounded::{ClearableLabel, Cursor, PageLimit};
use crate::model::delivery::{DeliveryState, Retries};
use crate::store::deliveries::DeliveryRow;

/// Body of a webhook creation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"url": "https://example.com/titan", "events": ["message.received", "session.status"]}))]
pub struct CreateWebhook {
    /// Where to POST events: an `http://` or `https://` URL on the public internet.
    #[schema(inline)]
    pub url: WebhookUrl,
    /// A name for humans (`""` for none).
    #[serde(default)]
    #[schema(inline)]
    pub label: Option<ClearableLabel>,
    /// Event types to receive (default: all).
    #[serde(default)]
    pub events: EventFilter,
    /// Only this session's events (default, or `""`: every session).
    #[serde(default)]
    #[schema(inline)]
    pub session: Option<SessionFilter>,
    /// Deliver events (default true).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Extra headers sent with every delivery (e.g. an `Authorization` your receiver checks);
    /// those Titan sets (framing and signature headers) are refused.
    #[serde(default)]
    #[schema(inline)]
    pub headers: WebhookHeaders,
    /// Retry policy (defaults: 15 attempts, 5 s, exponential).
    #[serde(default)]
    pub retries: Option<Retries>,
    /// The key deliveries are signed with; generated when absent.
    #[serde(default)]
    #[schema(inline)]
    pub hmac_key: Option<HmacKey>,
}

fn enabled_by_default() -> bool {
    true
}

/// Changes to a webhook; omitted fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"enabled": false}))]
pub struct UpdateWebhook {
    /// New target URL.
    #[serde(default)]
    #[schema(inline)]
    pub url: Option<WebhookUrl>,
    /// New label; an empty string removes it.
    #[serde(default)]
    #[schema(inline)]
    pub label: Option<ClearableLabel>,
    /// New event types.
    #[serde(default)]
    pub events: Option<EventFilter>,
    /// New session filter; an empty string means every session.
    #[serde(default)]
    #[schema(inline)]
    pub session: Option<SessionFilter>,
    /// Turn deliveries on or off. While off, no event is queued for the webhook; deliveries
    /// already queued wait and resume when it is turned on.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// New extra headers (replace the old ones); those Titan sets are refused.
    #[serde(default)]
    #[schema(inline)]
    pub headers: Option<WebhookHeaders>,
    /// New retry policy.
    #[serde(default)]
    pub retries: Option<Retries>,
    /// A new signing key; the response shows it once.
    #[serde(default)]
    #[schema(inline)]
    pub hmac_key: Option<HmacKey>,
}

/// A webhook as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "wh_01JZ8X6V3QW8T9N6F4C2B1A0Z9", "url": "https://example.com/titan", "label": "crm",
    "events": ["*"], "session": null, "enabled": true, "headers": {}, "retries": {"attempts": 15, "delaySeconds": 5,
    "policy": "exponential"}, "createdAt": "2025-05-01T12:00:00Z", "updatedAt": "2025-05-01T12:00:00Z"}))]
pub struct Webhook {
    /// `wh_...`.
    pub id: String,
    /// Target URL.
    pub url: String,
    /// A name for humans.
    pub label: Option<String>,
    /// Event types delivered (`["*"]` = all).
    pub events: EventFilter,
    /// Only this session's events; null for every session.
    pub session: Option<String>,
    /// Whether events are delivered.
    pub enabled: bool,
    /// Extra request headers.
    pub headers: BTreeMap<String, String>,
    /// Retry policy.
    pub retries: Retries,
    /// The signing key: only in the response that created or replaced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac_key: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

crate::envelopes!(Webhook => WebhookData, WebhookPage);

/// One event's delivery to one webhook, with its last attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// `dlv_...`.
    pub id: String,
    /// The event's id (`evt_...`): the `id` of the envelope the receiver gets.
    pub event_id: String,
    /// The event's type.
    pub event: String,
    /// The event's session.
    pub session: String,
    /// `pending`, `delivered` or `dead`.
    pub status: DeliveryState,
    /// Attempts made (reset by a manual retry).
    pub attempts: u32,
    /// The last answer's HTTP status.
    pub status_code: Option<u16>,
    /// How long the last attempt took, in milliseconds.
    pub latency_ms: Option<i64>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the event was queued for this webhook.
    pub created_at: DateTime<Utc>,
    /// When the delivery last changed.
    pub updated_at: DateTime<Utc>,
}

crate::envelopes!(Delivery => DeliveryData, DeliveryPage);

/// A stored time (ms since the epoch) as the API shows it.
pub(super) fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl From<DeliveryRow> for Delivery {
    fn from(row: DeliveryRow) -> Self {
        Self {
            id: row.id,
            event_id: row.event_id,
            event: row.event,
            session: row.session,
            status: row.state,
            attempts: row.attempts,
            status_code: row.status_code,
            latency_ms: row.latency_ms,
            error: row.error,
            next_attempt_at: (row.state == DeliveryState::Pending).then(|| time(row.next_attempt_at)),
            created_at: time(row.created_at),
            updated_at: time(row.updated_at),
        }
    }
}

/// The query of the delivery log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// The `cursor` of the previous page; omit for the first page.
    #[param(inline)]
    pub cursor: Option<Cursor>,
    /// Items per page (default 50).
    #[param(inline)]
    pub limit: Option<PageLimit>,
    /// Only deliveries in this state.
    #[param(inline)]
    pub status: Option<DeliveryState>,
}
