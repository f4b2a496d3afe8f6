//! API key management, shared by `/api/account/keys`, `/admin/keys` and `titan keys create`.
//!
//! One rule governs every operation: a caller acts only on keys whose scopes and sessions it holds
//! itself, and mints only keys that expire no later than it does. The master key holds everything.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Grant, Scope, secret};
use crate::envelope::{Page, PageRequest};
use crate::error::ApiError;
use crate::model::bounded::{IntRule, Label, ListRule, SessionNames, bounded_int, bounded_list, reference};
use crate::state::AppState;
use crate::store::keys::{self as store, KeyChanges, KeyRecord};

bounded_int! {
    /// Days until a key expires.
    LifetimeDays = IntRule { min: 1, max: 3650, text: false };
}

bounded_list! {
    /// The scopes a new key holds.
    KeyScopes(Vec<Scope>) = ListRule { min: 1, max: 64, unique: false }, items = reference::<Scope>();
}

/// Body of a key creation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"label": "my-first-key", "lifetimeDays": 30, "scopes": ["sessions:manage", "messages:write"]}))]
pub struct CreateKey {
    /// A name for humans.
    #[schema(inline)]
    pub label: Label,
    /// Scopes the key holds; only scopes the caller holds.
    #[schema(inline)]
    pub scopes: KeyScopes,
    /// Sessions the key is limited to; omit for every session the caller may use.
    #[serde(default)]
    #[schema(inline)]
    pub sessions: Option<SessionNames>,
    /// Days until the key expires; omit for a key that does not expire (or that expires with
    /// the caller, if the caller expires).
    #[serde(default)]
    #[schema(inline)]
    pub lifetime_days: Option<LifetimeDays>,
}

/// Changes to a key; omitted fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"isActive": false}))]
pub struct UpdateKey {
    /// New label.
    #[serde(default)]
    #[schema(inline)]
    pub label: Option<Label>,
    /// `false` disables the key at once; `true` enables it again.
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// An API key as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "key_01JZ8X6V3QW8T9N6F4C2B1A0Z9", "label": "my-first-key", "prefix": "titan_AAAB3x",
    "scopes": ["sessions:manage", "messages:write"], "isActive": true,
    "createdAt": "2025-05-01T12:00:00Z", "updatedAt": "2025-05-01T12:00:00Z", "expiresAt": "2025-05-31T12:00:00Z"}))]
pub struct ApiKey {
    /// Key id (`key_` + ULID).
    pub id: String,
    /// A name for humans.
    pub label: String,
    /// The first characters of the secret, to tell keys apart.
    pub prefix: String,
    /// Scopes held.
    pub scopes: Vec<Scope>,
    /// Sessions the key is limited to; absent when it may use every session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<Vec<String>>,
    /// Whether the key is enabled.
    pub is_active: bool,
    /// When the key was created.
    pub created_at: DateTime<Utc>,
    /// When the key was last changed.
    pub updated_at: DateTime<Utc>,
    /// When the key expires; absent if it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new key with its secret, which is shown this once and never again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"key": "titan_Qm9vZGxlcy1hcmUtbm90LWEta2V5LWp1c3QtYW4tZXhhbXBsZQ", "id": "key_01JZ8X6V3QW8T9N6F4C2B1A0Z9",
    "label": "my-first-key", "prefix": "titan_Qm9vZG", "scopes": ["sessions:manage", "messages:write"], "isActive": true,
    "createdAt": "2025-05-01T12:00:00Z", "updatedAt": "2025-05-01T12:00:00Z", "expiresAt": "2025-05-31T12:00:00Z"}))]
pub struct CreatedKey {
    /// The secret to send as `Authorization: Bearer <key>`. Store it now: it cannot be shown again.
    pub key: String,
    /// The key's details.
    #[serde(flatten)]
    pub details: ApiKey,
}

crate::envelopes!(ApiKey => ApiKeyData, ApiKeyPage);
crate::envelopes!(CreatedKey => CreatedKeyData);

impl From<&KeyRecord> for ApiKey {
    fn from(record: &KeyRecord) -> Self {
        Self {
            id: record.id.clone(),
            label: record.label.clone(),
            prefix: record.prefix.clone(),
            scopes: record.grant.scopes.iter().copied().collect(),
            sessions: record.grant.sessions.as_ref().map(|s| s.iter().cloned().collect()),
            is_active: record.active,
            created_at: record.created_at,
            updated_at: record.updated_at,
            expires_at: record.grant.expires_at,
        }
    }
}

/// Creates a key within the caller's own grant and returns it with its secret.
pub async fn create(state: &AppState, caller: &Caller, request: CreateKey) -> Result<CreatedKey, ApiError> {
    let label = request.label.into_inner();
    let sessions = match request.sessions {
        Some(names) => Some(
            names
                .into_inner()
                .into_iter()
                .map(|n| n.into_inner())
                .collect::<BTreeSet<_>>(),
        ),
        None => caller.grant.sessions.clone(),
    };
    let now = Utc::now();
    let expires_at = match request.lifetime_days {
        Some(days) => Some(now + Duration::days(i64::from(days.get()))),
        None => caller.grant.expires_at,
    };
    let grant = Grant {
        scopes: request.scopes.into_inner().into_iter().collect(),
        sessions,
        expires_at,
    };
    caller.grant.require_covers(&grant)?;
    caller.grant.require_outlives(&grant)?;

    let fresh = secret::generate();
    let record = KeyRecord {
        id: crate::ids::new("key"),
        label,
        prefix: fresh.prefix,
        hash: fresh.hash,
        grant,
        active: true,
        created_at: now,
        updated_at: now,
    };
    store::insert(&state.db, &record).await?;
    tracing::info!(
        key_id = record.id,
        by = caller.key_id.as_deref().unwrap_or("master key"),
        "api key created"
    );
    Ok(CreatedKey {
        key: fresh.secret,
        details: ApiKey::from(&record),
    })
}

/// The keys the caller may see, oldest first.
pub async fn list(state: &AppState, caller: &Caller, page: PageRequest) -> Result<Page<ApiKey>, ApiError> {
    let mut visible = Vec::with_capacity(page.limit + 1);
    let mut after = page.after;
    let batch = page.limit + 1;
    loop {
        let rows = store::list_after(&state.db, after.as_deref(), batch).await?;
        let exhausted = rows.len() < batch;
        after = rows.last().map(|row| row.id.clone());
        visible.extend(
            rows.iter()
                .filter(|row| caller.grant.covers(&row.grant))
                .map(ApiKey::from),
        );
        if exhausted || visible.len() > page.limit {
            break;
        }
    }
    Ok(Page::from_overfetch(visible, page.limit, |key| key.id.clone()))
}

/// One key the caller may see; 404 for keys it may not, so their existence does not leak.
pub async fn get(state: &AppState, caller: &Caller, id: &str) -> Result<ApiKey, ApiError> {
    Ok(ApiKey::from(&visible(state, caller, id).await?))
}

/// Changes a key's label or enables/disables it; the change applies to the next request.
pub async fn update(state: &AppState, caller: &Caller, id: &str, request: UpdateKey) -> Result<ApiKey, ApiError> {
    let label = request.label.map(Label::into_inner);
    visible(state, caller, id).await?;
    let changes = KeyChanges {
        label,
        active: request.is_active,
    };
    let updated = store::update(&state.db, id, &changes)
        .await?
        .ok_or_else(|| not_found(id))?;
    let shown = ApiKey::from(&updated);
    state.keys.store(updated);
    tracing::info!(key_id = id, active = shown.is_active, "api key updated");
    Ok(shown)
}

/// Deletes a key; it stops working on the next request.
pub async fn delete(state: &AppState, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let record = visible(state, caller, id).await?;
    if !store::delete(&state.db, id).await? {
        return Err(not_found(id));
    }
    state.keys.forget(&record.hash);
    tracing::info!(key_id = id, "api key deleted");
    Ok(())
}

async fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<KeyRecord, ApiError> {
    store::find(&state.db, id)
        .await?
        .filter(|record| caller.grant.covers(&record.grant))
        .ok_or_else(|| not_found(id))
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no API key with id `{id}`"))
}
