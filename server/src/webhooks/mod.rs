//! Webhooks: where events are POSTed, which ones, how deliveries are signed and retried, and
//! the delivery log. This module validates and authorizes; [`dispatcher`] delivers.

pub mod dispatcher;
pub mod signature;
pub mod target;

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::envelope::{Page, PageRequest};
use crate::error::ApiError;
use crate::events::EventFilter;
use crate::secrets::SecretBox;
use crate::state::AppState;
use crate::store::deliveries::{self as log_store, DeliveryRow};
use crate::store::now_ms;
use crate::store::webhooks::{self as store, WebhookRow};
use crate::validate;

pub use crate::model::delivery::{DeliveryState, Retries, RetryPolicy};

/// Body of a webhook creation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"url": "https://example.com/titan", "events": ["message.received", "session.status"]}))]
pub struct CreateWebhook {
    /// Where to POST events: an `http://` or `https://` URL on the public internet.
    pub url: String,
    /// A name for humans.
    #[serde(default)]
    pub label: Option<String>,
    /// Event types to receive (default: all).
    #[serde(default)]
    pub events: EventFilter,
    /// Only this session's events (default: every session).
    #[serde(default)]
    pub session: Option<String>,
    /// Deliver events (default true).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Extra headers sent with every delivery (e.g. an `Authorization` your receiver checks).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Retry policy (defaults: 15 attempts, 5 s, exponential).
    #[serde(default)]
    pub retries: Option<Retries>,
    /// The key deliveries are signed with (16 to 256 characters); generated when absent.
    #[serde(default)]
    pub hmac_key: Option<String>,
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
    pub url: Option<String>,
    /// New label; an empty string removes it.
    #[serde(default)]
    pub label: Option<String>,
    /// New event types.
    #[serde(default)]
    pub events: Option<EventFilter>,
    /// New session filter; an empty string means every session.
    #[serde(default)]
    pub session: Option<String>,
    /// Turn deliveries on or off. While off, no event is queued for the webhook; deliveries
    /// already queued wait and resume when it is turned on.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// New extra headers (replace the old ones).
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// New retry policy.
    #[serde(default)]
    pub retries: Option<Retries>,
    /// A new signing key (16 to 256 characters); the response shows it once.
    #[serde(default)]
    pub hmac_key: Option<String>,
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

fn time(ms: i64) -> DateTime<Utc> {
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
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// Only deliveries in this state.
    #[param(inline)]
    pub status: Option<DeliveryState>,
}

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
                attempts: u32::try_from(row.retry_attempts).context("stored retry attempts")?,
                delay_seconds: u32::try_from(row.retry_delay_secs).context("stored retry delay")?,
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

    fn seal(&self, secrets: &SecretBox) -> anyhow::Result<WebhookRow> {
        Ok(WebhookRow {
            id: self.id.clone(),
            url: self.url.clone(),
            label: self.label.clone(),
            events: serde_json::to_string(&self.events)?,
            session: self.session.clone(),
            enabled: self.enabled,
            headers: secrets.seal(&format!("{}:headers", self.id), &serde_json::to_string(&self.headers)?)?,
            retry_attempts: i64::from(self.retries.attempts),
            retry_delay_secs: i64::from(self.retries.delay_seconds),
            retry_policy: self.retries.policy.as_str().to_owned(),
            secret: secrets.seal(&format!("{}:secret", self.id), &self.hmac_key)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }

    fn view(&self, show_key: bool) -> Webhook {
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

/// Headers a webhook may not set: the ones that frame or sign the delivery.
const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
    "x-webhook-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

fn headers(headers: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ApiError> {
    if headers.len() > 20 {
        return Err(ApiError::BadRequest("at most 20 custom headers".into()));
    }
    for (name, value) in &headers {
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ApiError::BadRequest(format!("`{name}` is not a valid header name")))?;
        if RESERVED_HEADERS.contains(&parsed.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "the header `{name}` is set by Titan and cannot be overridden"
            )));
        }
        HeaderValue::from_str(value)
            .map_err(|_| ApiError::BadRequest(format!("the value of header `{name}` is not a valid header value")))?;
    }
    Ok(headers)
}

fn hmac_key(key: Option<String>) -> Result<String, ApiError> {
    match key {
        None => Ok(signature::generate_key()?),
        Some(key) if (16..=256).contains(&key.chars().count()) && key.trim() == key => Ok(key),
        Some(_) => Err(ApiError::BadRequest(
            "hmacKey must be 16 to 256 characters without surrounding spaces".into(),
        )),
    }
}

fn label(label: Option<String>) -> Result<Option<String>, ApiError> {
    label
        .filter(|l| !l.trim().is_empty())
        .map(|l| validate::label(&l))
        .transpose()
}

async fn url(state: &AppState, url: &str) -> Result<String, ApiError> {
    if url.len() > 2048 {
        return Err(ApiError::BadRequest("url must be at most 2048 characters".into()));
    }
    let parsed = target::parse(url).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    target::check(&parsed, state.config.webhook_allow_private)
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(parsed.to_string())
}

/// Checks a session filter against the caller's key: a key limited to sessions may only
/// manage webhooks of those sessions.
fn session(caller: &Caller, session: Option<String>) -> Result<Option<String>, ApiError> {
    let session = session.filter(|s| !s.is_empty());
    match &session {
        Some(name) => {
            validate::session_name(name)?;
            caller.grant.require_session(name)?;
        }
        None if caller.grant.sessions.is_some() => {
            return Err(ApiError::Forbidden(
                "this key is limited to some sessions: set `session` to one of them".into(),
            ));
        }
        None => {}
    }
    Ok(session)
}

fn visible(caller: &Caller, hook: &Hook) -> bool {
    match (&caller.grant.sessions, &hook.session) {
        (None, _) => true,
        (Some(allowed), Some(session)) => allowed.contains(session),
        (Some(_), None) => false,
    }
}

fn opened(state: &AppState, row: WebhookRow) -> Result<Hook, ApiError> {
    let id = row.id.clone();
    Hook::open(row, &state.secrets).map_err(|e| ApiError::Internal(e.context(format!("webhook {id}"))))
}

/// The webhook `id`: 404 unless it exists and the caller may see it.
async fn find(state: &AppState, caller: &Caller, id: &str) -> Result<Hook, ApiError> {
    let not_found = || ApiError::NotFound(format!("webhook `{id}` not found"));
    let row = store::get(&state.db, id).await?.ok_or_else(not_found)?;
    let hook = opened(state, row)?;
    if visible(caller, &hook) {
        Ok(hook)
    } else {
        Err(not_found())
    }
}

/// Creates a webhook; the response shows its key once.
pub async fn create(state: &AppState, caller: &Caller, request: CreateWebhook) -> Result<Webhook, ApiError> {
    let now = now_ms();
    let hook = Hook {
        id: crate::ids::new("wh"),
        url: url(state, &request.url).await?,
        label: label(request.label)?,
        events: request.events,
        session: session(caller, request.session)?,
        enabled: request.enabled,
        headers: headers(request.headers)?,
        retries: checked(request.retries.unwrap_or_default())?,
        hmac_key: hmac_key(request.hmac_key)?,
        created_at: now,
        updated_at: now,
    };
    store::upsert(&state.db, &hook.seal(&state.secrets)?).await?;
    state.dispatcher.webhooks_changed().await?;
    tracing::info!(webhook = %hook.id, url = %hook.url, "webhook created");
    Ok(hook.view(true))
}

/// One page of the webhooks the caller may see, by id.
pub async fn list(state: &AppState, caller: &Caller, page: PageRequest) -> Result<Page<Webhook>, ApiError> {
    let mut hooks = Vec::new();
    for row in store::list(&state.db, page.after.as_deref()).await? {
        let hook = opened(state, row)?;
        if visible(caller, &hook) {
            hooks.push(hook.view(false));
            if hooks.len() > page.limit {
                break;
            }
        }
    }
    Ok(Page::from_overfetch(hooks, page.limit, |w| w.id.clone()))
}

/// One webhook.
pub async fn get(state: &AppState, caller: &Caller, id: &str) -> Result<Webhook, ApiError> {
    Ok(find(state, caller, id).await?.view(false))
}

/// Changes a webhook; the response shows the key only when this change set a new one.
pub async fn update(state: &AppState, caller: &Caller, id: &str, request: UpdateWebhook) -> Result<Webhook, ApiError> {
    let mut hook = find(state, caller, id).await?;
    if let Some(new) = request.url {
        hook.url = url(state, &new).await?;
    }
    if let Some(new) = request.label {
        hook.label = label(Some(new))?;
    }
    if let Some(new) = request.events {
        hook.events = new;
    }
    if let Some(new) = request.session {
        hook.session = session(caller, Some(new))?;
    }
    if let Some(new) = request.enabled {
        hook.enabled = new;
    }
    if let Some(new) = request.headers {
        hook.headers = headers(new)?;
    }
    if let Some(new) = request.retries {
        hook.retries = checked(new)?;
    }
    let new_key = request.hmac_key.is_some();
    if new_key {
        hook.hmac_key = hmac_key(request.hmac_key)?;
    }
    hook.updated_at = now_ms();
    store::upsert(&state.db, &hook.seal(&state.secrets)?).await?;
    state.dispatcher.webhooks_changed().await?;
    Ok(hook.view(new_key))
}

/// Deletes a webhook and its queued deliveries.
pub async fn delete(state: &AppState, caller: &Caller, id: &str) -> Result<(), ApiError> {
    find(state, caller, id).await?;
    store::delete(&state.db, id).await?;
    state.dispatcher.webhooks_changed().await?;
    tracing::info!(webhook = %id, "webhook deleted");
    Ok(())
}

/// One page of a webhook's delivery log, newest first.
pub async fn deliveries(
    state: &AppState,
    caller: &Caller,
    id: &str,
    query: DeliveryQuery,
) -> Result<Page<Delivery>, ApiError> {
    find(state, caller, id).await?;
    let status = query.status;
    let page: PageRequest = crate::envelope::PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    }
    .try_into()?;
    let limit = i64::try_from(page.limit + 1).unwrap_or(i64::MAX);
    let rows = log_store::log(&state.db, id, page.after.as_deref(), status, limit).await?;
    Ok(Page::from_overfetch(rows, page.limit, |d| d.id.clone()).map(Delivery::from))
}

/// Queues a delivery again (any state) with a fresh round of attempts, due now.
pub async fn retry(state: &AppState, caller: &Caller, id: &str, delivery: &str) -> Result<Delivery, ApiError> {
    find(state, caller, id).await?;
    let pending = log_store::requeue(&state.db, id, delivery)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("delivery `{delivery}` of webhook `{id}` not found")))?;
    // Read the row before the dispatcher has it: the answer is the requeued (pending) delivery,
    // not whatever the dispatcher has already made of it.
    let row = log_store::get(&state.db, id, delivery)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("delivery `{delivery}` of webhook `{id}` not found")))?;
    state.dispatcher.requeue(pending);
    Ok(row.into())
}

/// `retries` if its numbers are in range, else 400 naming the field.
fn checked(retries: Retries) -> Result<Retries, ApiError> {
    if !(1..=50).contains(&retries.attempts) {
        return Err(ApiError::BadRequest("retries.attempts must be between 1 and 50".into()));
    }
    if retries.delay_seconds > 3600 {
        return Err(ApiError::BadRequest(
            "retries.delaySeconds must be between 0 and 3600".into(),
        ));
    }
    Ok(retries)
}
