//! Client tokens for browser integrations: a session's client rules (what its tokens may do, from
//! which origins, to whom, how often) and the minting of tokens bound to the session. Every call
//! made with a token is checked against the rules in [`crate::auth::client`].

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::auth::client::{self, Claims};
use crate::error::ApiError;
use crate::model::bounded::{IntRule, SessionName, TextRule, bounded_int, bounded_text};
use crate::model::client_rules::{ClientAction, ClientRules, RecipientMode, split_list};
use crate::state::AppState;
use crate::store::client_rules as stored;

/// One action name, as the pattern of [`ActionList`] spells it.
macro_rules! action {
    () => {
        "(send_message|send_reaction|send_typing|send_seen|read_presence|subscribe_presence|read_contact)"
    };
}

/// One origin, as the pattern of [`OriginList`] spells it.
macro_rules! origin {
    () => {
        "https?://[a-zA-Z0-9.-]+(:[0-9]{1,5})?"
    };
}

bounded_text! {
    /// Actions client tokens may perform, comma-separated (empty: none).
    ActionList = TextRule {
        min: 0,
        max: 300,
        pattern: Some((
            concat!("^( *", action!(), " *(, *", action!(), " *)*)?$"),
            "comma-separated actions: send_message, send_reaction, send_typing, send_seen, read_presence, \
             subscribe_presence, read_contact",
        )),
    };
}

bounded_text! {
    /// Browser origins allowed to call with a token, comma-separated (empty: any origin).
    OriginList = TextRule {
        min: 0,
        max: 2000,
        pattern: Some((
            concat!("^( *", origin!(), " *(, *", origin!(), " *)*)?$"),
            "comma-separated origins such as `https://myapp.com` or `http://localhost:3000`",
        )),
    };
}

bounded_text! {
    /// The caller's id chosen by the integrator (a visitor, a browser session): limits count per id.
    EphemeralId = TextRule { min: 1, max: 128, pattern: Some(("^[!-~]+$", "printable ASCII without spaces")) };
}

bounded_int! {
    /// Requests per minute per ephemeral id; 0 for no limit.
    RateLimit = IntRule { min: 0, max: 1_000_000, text: false };
}

bounded_int! {
    /// Sends per UTC day per ephemeral id; 0 for no limit.
    MaxDaily = IntRule { min: 0, max: 100_000_000, text: false };
}

bounded_int! {
    /// A token's lifetime in seconds (at most a day).
    TokenTtl = IntRule { min: 1, max: 86_400, text: false };
}

/// Requests per minute per ephemeral id when the rules do not say.
const DEFAULT_RATE_LIMIT: u32 = 60;
/// Sends per day per ephemeral id when the rules do not say.
const DEFAULT_MAX_DAILY: u32 = 1_000;
/// A token's lifetime when the mint request does not say.
const DEFAULT_TTL_SECONDS: u32 = 900;

crate::envelopes!(ClientRules => ClientRulesData);
crate::envelopes!(ClientToken => ClientTokenData);

/// The client rules of a session (they replace any it had).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "recipientMode": "conversation", "allowedActions": "send_message,send_reaction,send_typing",
    "rateLimit": 5, "maxDaily": 100, "allowedOrigins": "https://myapp.com,https://staging.myapp.com", "enabled": true
}))]
pub struct SetClientRules {
    /// Whom tokens may write to: `conversation` (chats the session already has messages in) or
    /// `any`.
    pub recipient_mode: RecipientMode,
    /// Actions tokens may perform, comma-separated; omitted or empty, none.
    #[serde(default)]
    #[schema(inline)]
    pub allowed_actions: Option<ActionList>,
    /// Requests per minute per ephemeral id (sliding window); 0 for no limit; default 60.
    #[serde(default)]
    #[schema(inline)]
    pub rate_limit: Option<RateLimit>,
    /// Sends (messages and reactions) per UTC day per ephemeral id; 0 for no limit; default 1000.
    #[serde(default)]
    #[schema(inline)]
    pub max_daily: Option<MaxDaily>,
    /// Browser origins allowed to call with a token, comma-separated; omitted or empty, any origin.
    #[serde(default)]
    #[schema(inline)]
    pub allowed_origins: Option<OriginList>,
    /// Whether tokens work; default `true`. `false` refuses every token of the session until set
    /// back.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A token to mint.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"session": "my-session", "ephemeralId": "visitor-42", "ttlSeconds": 900}))]
pub struct MintClientToken {
    /// The session the token is bound to; it must have client rules.
    #[schema(inline)]
    pub session: SessionName,
    /// Your id for the token's holder (a visitor, a browser session): its limits count per id.
    #[schema(inline)]
    pub ephemeral_id: EphemeralId,
    /// Seconds the token lives; default 900 (15 minutes).
    #[serde(default)]
    #[schema(inline)]
    pub ttl_seconds: Option<TokenTtl>,
}

/// A minted client token: give `token` to the browser, mint another before `expiresAt`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "token": "titan_ct_eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzaWQiOiJteS1zZXNzaW9uIn0.c2lnbmF0dXJl",
    "session": "my-session", "ephemeralId": "visitor-42", "expiresAt": "2026-12-01T10:15:00Z"
}))]
pub struct ClientToken {
    /// `titan_ct_…`: the bearer token for the browser.
    pub token: String,
    /// The session it is bound to.
    pub session: String,
    /// The ephemeral id its limits count under.
    pub ephemeral_id: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// The client rules of `session`, or a 404 when it has none.
pub async fn rules(state: &AppState, caller: &Caller, session: &str) -> Result<ClientRules, ApiError> {
    crate::sessions::find(state, caller, session).await?;
    stored::get(&state.db, session)
        .await?
        .map(|stored| stored.rules)
        .ok_or_else(|| ApiError::NotFound(format!("session `{session}` has no client rules")))
}

/// Sets the client rules of `session`; they apply to the next call of every token.
pub async fn set_rules(
    state: &AppState,
    caller: &Caller,
    session: &str,
    request: SetClientRules,
) -> Result<ClientRules, ApiError> {
    crate::sessions::find(state, caller, session).await?;
    let named = request.allowed_actions.as_ref().map_or("", |list| list.as_str());
    let mut actions: Vec<ClientAction> = split_list(named).filter_map(|name| name.parse().ok()).collect();
    actions.sort();
    actions.dedup();
    let origins = request.allowed_origins.as_ref().map_or("", |list| list.as_str());
    let now = Utc::now();
    let rules = ClientRules {
        session: session.to_owned(),
        recipient_mode: request.recipient_mode,
        allowed_actions: actions.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(","),
        rate_limit: request.rate_limit.map_or(DEFAULT_RATE_LIMIT, RateLimit::get),
        max_daily: request.max_daily.map_or(DEFAULT_MAX_DAILY, MaxDaily::get),
        allowed_origins: split_list(origins).collect::<Vec<_>>().join(","),
        enabled: request.enabled.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    Ok(stored::put(&state.db, &rules, &crate::ids::new("gen")).await?.rules)
}

/// Deletes the client rules of `session`: its tokens are refused from the next call on, and
/// stay refused if rules are set again.
pub async fn delete_rules(state: &AppState, caller: &Caller, session: &str) -> Result<(), ApiError> {
    crate::sessions::find(state, caller, session).await?;
    if stored::delete(&state.db, session).await? {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("session `{session}` has no client rules")))
    }
}

/// Mints a token for `request.session`, whose client rules must exist and be on.
pub async fn mint(state: &AppState, caller: &Caller, request: MintClientToken) -> Result<ClientToken, ApiError> {
    let session = request.session.into_inner();
    crate::sessions::find(state, caller, &session).await?;
    let stored = stored::get(&state.db, &session).await?.ok_or_else(|| {
        ApiError::Conflict(format!(
            "session `{session}` has no client rules: set them with PUT /api/sessions/{session}/client-rules first"
        ))
    })?;
    if !stored.rules.enabled {
        return Err(ApiError::Conflict(format!(
            "the client rules of session `{session}` are disabled: its tokens would be refused"
        )));
    }
    let now = Utc::now();
    let ttl = request.ttl_seconds.map_or(DEFAULT_TTL_SECONDS, TokenTtl::get);
    let expires_at = now + Duration::seconds(i64::from(ttl));
    let ephemeral_id = request.ephemeral_id.into_inner();
    let claims = Claims {
        sid: session.clone(),
        sub: ephemeral_id.clone(),
        generation: stored.generation,
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
        jti: crate::ids::new("ct"),
    };
    Ok(ClientToken {
        token: client::mint(&state.secrets, &claims)?,
        session,
        ephemeral_id,
        expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or(expires_at),
    })
}

/// 403 when `caller` is a client token whose rules do not let it write to `chat_id` of
/// `session` (in `conversation` mode, only chats the session already has messages in).
pub async fn require_recipient(
    state: &AppState,
    caller: &Caller,
    session: &str,
    chat_id: &str,
) -> Result<(), ApiError> {
    let Some(client) = &caller.client else {
        return Ok(());
    };
    if client.recipients == RecipientMode::Any || crate::store::chats::one(&state.db, session, chat_id).await?.is_some()
    {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "client tokens of session `{session}` may only write to chats it already has messages in \
         (recipientMode `conversation`), and `{chat_id}` is not one"
    )))
}
