//! Sessions: one linked (or to-be-linked) WhatsApp number each. This module validates and
//! authorizes; the [`crate::engine`] runs them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::commands::Command;
use crate::envelope::{Page, PageRequest};
use crate::error::ApiError;
use crate::model::bounded::{SessionName, TextRule, bounded_text};
use crate::model::session::{SessionConfig, State, Status, StatusReason};
use crate::state::{AppState, SharedState};
use crate::store::sessions::{self as store, Change, Identity, InsertError, SessionRecord};
use crate::whatsapp::transport::Proxy;

bounded_text! {
    /// A proxy URL (`""` for none): exactly what [`Proxy`] parses.
    ProxyUrl = TextRule {
        min: 0,
        max: 2048,
        pattern: Some((
            "^$|^(http|socks5)://([^@:]*:[^@]*@)?[^/@]+:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])/*$",
            "empty, or `http://` or `socks5://`, then `[user:password@]host:port`",
        )),
    };
}

/// Body of a session creation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "my-session", "start": true}))]
pub struct CreateSession {
    /// Unique name.
    #[schema(inline)]
    pub name: SessionName,
    /// Start the session at once (it then waits for pairing).
    #[serde(default)]
    pub start: bool,
    /// Route the session's WhatsApp traffic (WebSocket and media) through this proxy:
    /// `http://[user:password@]host:port` (CONNECT) or `socks5://[user:password@]host:port`.
    #[serde(default)]
    #[schema(inline)]
    pub proxy: Option<ProxyUrl>,
    /// Settings.
    #[serde(default)]
    pub config: Option<SessionConfig>,
}

/// Changes to a session; omitted fields stay as they are. They apply from the next start.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"proxy": "socks5://user:secret@10.0.0.2:1080"}))]
pub struct UpdateSession {
    /// New proxy URL; an empty string removes the proxy.
    #[serde(default)]
    #[schema(inline)]
    pub proxy: Option<ProxyUrl>,
    /// New settings (replace the old ones).
    #[serde(default)]
    pub config: Option<SessionConfig>,
}

/// A session as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"name": "my-session", "status": "CONNECTED", "statusReason": null,
    "phoneNumber": "+5511999999999", "lid": "123456789@lid", "pushName": "John Doe", "config": {"historySync": false},
    "createdAt": "2025-05-01T12:01:00Z", "updatedAt": "2025-05-01T12:03:00Z"}))]
pub struct Session {
    /// Unique name.
    pub name: String,
    /// `CONNECTING`, `CONNECTED` or `DISCONNECTED`.
    pub status: Status,
    /// Why it has that status (null when connected or starting).
    pub status_reason: Option<StatusReason>,
    /// The linked account's phone number (`+` and digits), once paired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The linked account's LID, once paired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<String>,
    /// The linked account's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_name: Option<String>,
    /// The business name, for WhatsApp Business accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    /// The platform of the account's phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The proxy, with its password hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Settings.
    pub config: SessionConfig,
    /// The latest connection failure, while it is relevant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the session was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

crate::envelopes!(Session => SessionData, SessionPage);

impl From<SessionRecord> for Session {
    fn from(record: SessionRecord) -> Self {
        Self {
            name: record.name,
            status: record.state.status,
            status_reason: record.state.reason,
            phone_number: record.identity.phone_number.map(|p| format!("+{p}")),
            lid: record.identity.lid,
            push_name: record.identity.push_name,
            business_name: record.identity.business_name,
            platform: record.identity.platform,
            proxy: record
                .proxy
                .as_deref()
                .and_then(|p| p.parse::<Proxy>().ok())
                .map(|p| p.redacted()),
            config: serde_json::from_value(record.config).unwrap_or_default(),
            last_error: record.last_error,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// A checked proxy URL as stored (`None` for none).
fn proxy(url: Option<ProxyUrl>) -> Result<Option<String>, ApiError> {
    let Some(url) = url.map(ProxyUrl::into_inner).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    url.parse::<Proxy>()
        .map_err(|e| ApiError::BadRequest(format!("invalid proxy: {e}")))?;
    Ok(Some(url))
}

/// The session `name`: 403 unless the caller may use it, 404 unless it exists. Every
/// endpoint under `/api/sessions/{session}` starts here.
pub(crate) async fn find(state: &AppState, caller: &Caller, name: &str) -> Result<SessionRecord, ApiError> {
    caller.grant.require_session(name)?;
    store::get(&state.db, name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("session `{name}` not found")))
}

/// Whether `session` paces its sends (its `pacing` setting).
pub(crate) fn paces(session: &SessionRecord) -> bool {
    serde_json::from_value::<SessionConfig>(session.config.clone()).is_ok_and(|c| c.pacing.is_some())
}

/// Creates a session (`DISCONNECTED`, or started when asked).
pub async fn create(state: &AppState, caller: &Caller, request: CreateSession) -> Result<Session, ApiError> {
    let name = request.name.into_inner();
    caller.grant.require_session(&name)?;
    let now = Utc::now();
    let record = SessionRecord {
        name,
        state: State::new(Status::Disconnected, None),
        running: false,
        identity: Identity::default(),
        proxy: proxy(request.proxy)?,
        config: serde_json::to_value(request.config.unwrap_or_default()).map_err(anyhow::Error::from)?,
        last_error: None,
        created_at: now,
        updated_at: now,
    };
    store::insert(&state.db, &record).await.map_err(|e| match e {
        InsertError::Duplicate => ApiError::Conflict(format!("a session named `{}` already exists", record.name)),
        InsertError::Database(cause) => ApiError::Internal(cause),
    })?;
    if request.start {
        state.engine.start(&record.name).await?;
    }
    get(state, caller, &record.name).await
}

/// One page of the sessions the caller may use, by name.
pub async fn list(state: &AppState, caller: &Caller, page: PageRequest) -> Result<Page<Session>, ApiError> {
    let records = store::list(
        &state.db,
        page.after.as_deref(),
        page.limit + 1,
        caller.grant.sessions.as_ref(),
    )
    .await?;
    Ok(Page::from_overfetch(records, page.limit, |s| s.name.clone()).map(Session::from))
}

/// One session.
pub async fn get(state: &AppState, caller: &Caller, name: &str) -> Result<Session, ApiError> {
    Ok(find(state, caller, name).await?.into())
}

/// Changes a session's proxy or settings (effective from its next start, but for the pace of
/// its queued sends, which applies at once).
pub async fn update(
    state: &AppState,
    caller: &Caller,
    name: &str,
    request: UpdateSession,
) -> Result<Session, ApiError> {
    find(state, caller, name).await?;
    let change = Change {
        proxy: request.proxy.map(|p| proxy(Some(p))).transpose()?,
        config: request
            .config
            .map(serde_json::to_value)
            .transpose()
            .map_err(anyhow::Error::from)?,
        ..Change::default()
    };
    let record = store::apply(&state.db, name, change)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("session `{name}` not found")))?;
    state.engine.settings_changed(name);
    Ok(record.into())
}

/// Logs the session out if it runs, wipes its keys, and deletes it with its messages.
pub async fn delete(state: &AppState, caller: &Caller, name: &str) -> Result<(), ApiError> {
    find(state, caller, name).await?;
    state.engine.remove(name).await?;
    store::delete(&state.db, name).await?;
    Ok(())
}

/// What a lifecycle endpoint does.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// Start (no-op when running).
    Start,
    /// Stop with a flush.
    Stop,
    /// Stop, then start.
    Restart,
    /// Unlink, stop, wipe the keys.
    Logout,
}

/// Checks that `name` is the caller's; the command runs a lifecycle action and returns the
/// session afterwards.
pub async fn act(
    state: &SharedState,
    caller: &Caller,
    name: &str,
    action: Action,
) -> Result<Command<Session>, ApiError> {
    find(state, caller, name).await?;
    let (state, caller, name) = (state.clone(), caller.clone(), name.to_owned());
    Ok(Box::pin(async move {
        let engine = &state.engine;
        match action {
            Action::Start => engine.start(&name).await?,
            Action::Stop => engine.stop(&name).await?,
            Action::Restart => {
                engine.stop(&name).await?;
                engine.start(&name).await?;
            }
            Action::Logout => engine.logout(&name).await?,
        }
        get(&state, &caller, &name).await
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the proxy pattern admits, the proxy parser takes, so a documented value is never a 400.
    #[test]
    fn the_proxy_pattern_admits_only_what_the_parser_takes() {
        for ok in [
            "",
            "http://10.0.0.2:3128",
            "socks5://user:secret@10.0.0.2:1080/",
            "http://u:p:q@proxy.internal:65535",
            "http://[::1]:8080",
        ] {
            let url = ProxyUrl::parse(ok).unwrap_or_else(|why| panic!("{ok}: {why}"));
            assert!(proxy(Some(url)).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://h:1",
            "http://h",
            "http://h:65536",
            "http://:1",
            "http://h:1/x",
            " http://h:1",
            "http://user@h:1",
        ] {
            assert!(ProxyUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
