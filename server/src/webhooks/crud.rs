//! Creating, reading, changing and deleting webhooks, and the delivery log, each within what
//! the caller's key may see.

use super::api_types::{CreateWebhook, Delivery, DeliveryQuery, UpdateWebhook, Webhook};
use super::checks::{hmac_key, label, session, url};
use super::hook::Hook;
use crate::auth::Caller;
use crate::envelope::{Page, PageRequest};
use crate::error::ApiError;
use crate::model::bounded::Cursor;
use crate::state::AppState;
use crate::store::deliveries as log_store;
use crate::store::now_ms;
use crate::store::webhooks::{self as store, WebhookRow};

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
        url: url(state, request.url)?,
        label: label(request.label),
        events: request.events,
        session: session(caller, request.session)?,
        enabled: request.enabled,
        headers: request.headers.into_inner(),
        retries: request.retries.unwrap_or_default(),
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
        hook.url = url(state, new)?;
    }
    if let Some(new) = request.label {
        hook.label = label(Some(new));
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
        hook.headers = new.into_inner();
    }
    if let Some(new) = request.retries {
        hook.retries = new;
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
    let page = PageRequest::new(query.cursor.map(Cursor::into_inner), query.limit);
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
