//! Client tokens (`titan_ct_…`): short-lived JWTs (HS256) a server mints for a browser, bound to
//! one session and an ephemeral id. A token carries no permission of its own: every call reads
//! the session's client rules again and allows only their actions, origins, recipients and
//! limits, so a rule change applies to tokens already handed out.

use std::collections::BTreeSet;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Caller;
use crate::error::ApiError;
use crate::model::client_rules::{ClientAction, ClientRules, RecipientMode};
use crate::model::grant::Grant;
use crate::ratelimit::Decision;
use crate::secrets::SecretBox;
use crate::state::{AppState, SharedState};
use crate::store::client_rules as stored;

/// What every client token starts with.
pub const PREFIX: &str = "titan_ct_";

/// The JWT header of every client token.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// What a client token says (its JWT claims).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The session it is bound to.
    pub sid: String,
    /// The caller's ephemeral id, which its limits are counted by.
    pub sub: String,
    /// The generation of the rules it was minted under.
    pub generation: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// The token's own id.
    pub jti: String,
}

/// Why a presented client token is not valid (each is a 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a `titan_ct_` JWT of ours.
    #[error("malformed client token")]
    Malformed,
    /// Not signed by this server (or altered).
    #[error("invalid client token")]
    Signature,
    /// Past its expiry.
    #[error("client token expired at {0}: mint a new one")]
    Expired(DateTime<Utc>),
}

/// The signed token for `claims`.
pub fn mint(secrets: &SecretBox, claims: &Claims) -> anyhow::Result<String> {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
    );
    let tag = URL_SAFE_NO_PAD.encode(secrets.sign(signed.as_bytes()));
    Ok(format!("{PREFIX}{signed}.{tag}"))
}

/// The claims of `token` if this server signed it and it has not expired at `now`.
pub fn verify(secrets: &SecretBox, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
    let jwt = token.strip_prefix(PREFIX).ok_or(TokenError::Malformed)?;
    let (signed, tag) = jwt.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (header, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TokenError::Malformed)?;
    if !secrets.verify(signed.as_bytes(), &tag) {
        return Err(TokenError::Signature);
    }
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed);
    if decode(header)? != HEADER.as_bytes() {
        return Err(TokenError::Malformed);
    }
    let claims: Claims = serde_json::from_slice(&decode(payload)?).map_err(|_| TokenError::Malformed)?;
    if claims.exp <= now.timestamp() {
        return Err(TokenError::Expired(
            DateTime::from_timestamp(claims.exp, 0).unwrap_or_default(),
        ));
    }
    Ok(claims)
}

/// Who calls with a client token: what handlers need beyond the grant (the recipient rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// Whom the session's rules let tokens write to.
    pub recipients: RecipientMode,
}

/// The routes each action opens, as `(method, path template)`; the `{session}` segment must be
/// the token's session.
const ROUTES: &[(ClientAction, Method, &str)] = &[
    (
        ClientAction::SendMessage,
        Method::POST,
        "/api/sessions/{session}/messages/send",
    ),
    (
        ClientAction::SendReaction,
        Method::POST,
        "/api/sessions/{session}/messages/react",
    ),
    (
        ClientAction::SendTyping,
        Method::POST,
        "/api/sessions/{session}/messages/typing",
    ),
    (
        ClientAction::SendSeen,
        Method::POST,
        "/api/sessions/{session}/messages/seen",
    ),
    (
        ClientAction::ReadPresence,
        Method::GET,
        "/api/sessions/{session}/presence",
    ),
    (
        ClientAction::ReadPresence,
        Method::GET,
        "/api/sessions/{session}/presence/{chatId}",
    ),
    (
        ClientAction::SubscribePresence,
        Method::POST,
        "/api/sessions/{session}/presence/{chatId}/subscribe",
    ),
    (
        ClientAction::SubscribePresence,
        Method::POST,
        "/api/{session}/presence/subscribe",
    ),
    (
        ClientAction::ReadContact,
        Method::GET,
        "/api/sessions/{session}/contacts",
    ),
    (
        ClientAction::ReadContact,
        Method::GET,
        "/api/sessions/{session}/contacts/{contactId}",
    ),
    (
        ClientAction::ReadContact,
        Method::GET,
        "/api/sessions/{session}/contacts/{contactId}/picture",
    ),
    (
        ClientAction::ReadContact,
        Method::POST,
        "/api/sessions/{session}/contacts/check",
    ),
];

/// Every operation a client token can reach, as `(method, path template)`: the OpenAPI document
/// offers the client-token scheme on exactly these.
pub fn reachable() -> impl Iterator<Item = (&'static Method, &'static str)> {
    ROUTES.iter().map(|(_, method, template)| (method, *template))
}

/// The action `method` on `path` is, and the session its path names.
fn route<'p>(method: &Method, path: &'p str) -> Option<(ClientAction, &'p str)> {
    ROUTES.iter().find_map(|(action, allowed, template)| {
        if allowed != method {
            return None;
        }
        let (mut segments, mut parts) = (template.split('/'), path.split('/'));
        let mut session = None;
        loop {
            match (segments.next(), parts.next()) {
                (None, None) => return session.map(|s| (*action, s)),
                (Some("{session}"), Some(part)) if !part.is_empty() => session = Some(part),
                (Some(segment), Some(part)) if segment.starts_with('{') && !part.is_empty() => {}
                (Some(segment), Some(part)) if segment == part => {}
                _ => return None,
            }
        }
    })
}

/// Today's number (days since the epoch, UTC) and the seconds until tomorrow.
fn day(now: DateTime<Utc>) -> (i64, u64) {
    let seconds = now.timestamp();
    let day = seconds.div_euclid(86_400);
    (day, u64::try_from((day + 1) * 86_400 - seconds).unwrap_or(1))
}

/// A send counted against the daily limit, given back if the call fails.
#[derive(Debug)]
struct Reserved {
    session: String,
    ephemeral_id: String,
    day: i64,
}

/// What checking a client-token call leaves for its response: CORS headers, rate-limit headers,
/// and a counted send to give back if the call fails.
#[derive(Debug, Default)]
pub struct Admission {
    cors: Option<HeaderValue>,
    limit: Option<Decision>,
    reserved: Option<Reserved>,
}

impl Admission {
    /// Finishes the response: CORS headers for an allowed origin, `X-RateLimit-*` for the
    /// per-minute limit, and the day's send given back when the call did not succeed.
    pub async fn finish(self, state: &AppState, mut response: Response) -> Response {
        if let Some(reserved) = &self.reserved
            && !response.status().is_success()
            && let Err(error) =
                stored::release_send(&state.db, &reserved.session, &reserved.ephemeral_id, reserved.day).await
        {
            tracing::warn!(%error, session = %reserved.session, "cannot give back a client token's daily send");
        }
        if let Some(origin) = self.cors {
            allow_origin(response.headers_mut(), origin);
        }
        if let Some(decision) = self.limit {
            super::rate_headers(response.headers_mut(), decision);
        }
        response
    }
}

/// Adds the CORS headers that let a browser at `origin` read the response.
fn allow_origin(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("x-ratelimit-limit, x-ratelimit-remaining, retry-after, x-request-id"),
    );
    headers.append(header::VARY, HeaderValue::from_static("origin"));
}

/// The origin a browser sent, when it sent one.
fn origin(headers: &HeaderMap) -> Option<(&str, HeaderValue)> {
    let value = headers.get(header::ORIGIN)?;
    Some((value.to_str().ok()?, value.clone()))
}

/// 403 unless the rules exist, are on, and let a browser at the request's origin in.
async fn rules_for(state: &AppState, session: &str, headers: &HeaderMap) -> Result<stored::StoredRules, ApiError> {
    let stored = stored::get(&state.db, session).await?.ok_or_else(|| {
        ApiError::Forbidden(format!(
            "session `{session}` has no client rules: its client tokens are revoked"
        ))
    })?;
    if !stored.rules.enabled {
        return Err(ApiError::Forbidden(format!(
            "client tokens of session `{session}` are disabled by its client rules"
        )));
    }
    if let Some((origin, _)) = origin(headers)
        && !stored.rules.allows_origin(origin)
    {
        return Err(ApiError::Forbidden(format!(
            "origin `{origin}` is not in the allowedOrigins of session `{session}`"
        )));
    }
    Ok(stored)
}

/// Checks a call made with client token `token`: the token, the session's rules (on, this
/// origin, this route's action), the per-minute and daily limits; answers the caller (or why
/// not) and what the response needs.
pub async fn admit(
    state: &AppState,
    token: &str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> (Result<Caller, ApiError>, Admission) {
    let mut admission = Admission::default();
    let claims = match verify(&state.secrets, token, Utc::now()) {
        Ok(claims) => claims,
        Err(error) => return (Err(ApiError::Unauthorized(error.to_string())), admission),
    };
    let stored = match rules_for(state, &claims.sid, headers).await {
        Ok(stored) => stored,
        Err(error) => return (Err(error), admission),
    };
    admission.cors = origin(headers).map(|(_, value)| value);
    if stored.generation != claims.generation {
        let stale = "this client token was minted under client rules that were deleted since: mint a new one";
        return (Err(ApiError::Unauthorized(stale.into())), admission);
    }
    let outcome = permit(state, &claims, &stored.rules, method, path, &mut admission).await;
    (outcome, admission)
}

/// The route and limit checks of [`admit`], once the token and rules are known to be good.
async fn permit(
    state: &AppState,
    claims: &Claims,
    rules: &ClientRules,
    method: &Method,
    path: &str,
    admission: &mut Admission,
) -> Result<Caller, ApiError> {
    let (action, session) =
        route(method, path).ok_or_else(|| ApiError::Forbidden(format!("client tokens cannot call {method} {path}")))?;
    if session != claims.sid {
        return Err(ApiError::Forbidden(format!(
            "this client token is for session `{}`, not `{session}`",
            claims.sid
        )));
    }
    let actions = rules.actions();
    if !actions.contains(&action) {
        return Err(ApiError::Forbidden(format!(
            "the client rules of session `{session}` do not allow `{action}`"
        )));
    }
    let key = format!("{session}\n{}", claims.sub);
    if rules.rate_limit > 0 {
        let decision = state.client_limiter.hit_within(&key, rules.rate_limit);
        admission.limit = Some(decision);
        if !decision.allowed {
            return Err(ApiError::RateLimited {
                retry_after: decision.retry_after,
            });
        }
    }
    if action.is_send() && rules.max_daily > 0 {
        let (today, until_tomorrow) = day(Utc::now());
        if !stored::reserve_send(&state.db, session, &claims.sub, today, rules.max_daily).await? {
            return Err(ApiError::DailyLimit {
                limit: rules.max_daily,
                retry_after: until_tomorrow,
            });
        }
        admission.reserved = Some(Reserved {
            session: session.to_owned(),
            ephemeral_id: claims.sub.clone(),
            day: today,
        });
    }
    Ok(Caller {
        key_id: Some(format!("ct:{session}:{}", claims.sub)),
        grant: Grant {
            scopes: actions.iter().map(|a| a.scope()).collect::<BTreeSet<_>>(),
            sessions: Some(BTreeSet::from([session.to_owned()])),
            expires_at: DateTime::from_timestamp(claims.exp, 0),
        },
        client: Some(ClientIdentity {
            recipients: rules.recipient_mode,
        }),
    })
}

/// Layer answering browsers' CORS preflights for the routes client tokens reach: 204 with the
/// CORS headers when the session's rules are on and allow the origin, 403 otherwise. Other
/// requests pass through.
pub async fn preflight(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let asked = match request.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD) {
        Some(asked) if request.method() == Method::OPTIONS => asked.clone(),
        _ => return next.run(request).await,
    };
    match answer_preflight(&state, &asked, request.uri().path(), request.headers()).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn answer_preflight(
    state: &AppState,
    asked: &HeaderValue,
    path: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let method = Method::from_bytes(asked.as_bytes())
        .map_err(|_| ApiError::BadRequest("Access-Control-Request-Method is not a method".into()))?;
    let Some((_, origin)) = origin(headers) else {
        return Err(ApiError::BadRequest("a CORS preflight needs an Origin header".into()));
    };
    let (_, session) = route(&method, path)
        .ok_or_else(|| ApiError::Forbidden(format!("client tokens cannot call {method} {path}")))?;
    rules_for(state, session, headers).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    allow_origin(headers, origin);
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, asked.clone());
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, idempotency-key, prefer"),
    );
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sid: "shop".into(),
            sub: "visitor-1".into(),
            generation: "gen_1".into(),
            iat: 0,
            exp,
            jti: "ct_1".into(),
        }
    }

    #[test]
    fn tokens_verify_only_unaltered_unexpired_and_ours() {
        let secrets = SecretBox::new("one");
        let now = Utc::now();
        let token = mint(&secrets, &claims(now.timestamp() + 60)).expect("mint");
        assert!(token.starts_with(PREFIX));
        assert_eq!(verify(&secrets, &token, now), Ok(claims(now.timestamp() + 60)));
        assert_eq!(verify(&SecretBox::new("two"), &token, now), Err(TokenError::Signature));
        let expired = mint(&secrets, &claims(now.timestamp() - 1)).expect("mint");
        assert!(matches!(verify(&secrets, &expired, now), Err(TokenError::Expired(_))));
        // Another token's claims under this token's signature.
        let (_, tag) = token.rsplit_once('.').expect("signed");
        let (forged, _) = expired.rsplit_once('.').expect("signed");
        assert_eq!(
            verify(&secrets, &format!("{forged}.{tag}"), now),
            Err(TokenError::Signature)
        );
        for garbage in ["titan_ct_", "titan_ct_a.b", "titan_abc", "titan_ct_a.b.!!"] {
            assert_eq!(verify(&secrets, garbage, now), Err(TokenError::Malformed), "{garbage}");
        }
    }

    #[test]
    fn routes_name_their_action_and_session() {
        assert_eq!(
            route(&Method::POST, "/api/sessions/shop/messages/send"),
            Some((ClientAction::SendMessage, "shop"))
        );
        assert_eq!(
            route(&Method::GET, "/api/sessions/shop/presence/1555%40s.whatsapp.net"),
            Some((ClientAction::ReadPresence, "shop"))
        );
        assert_eq!(
            route(&Method::POST, "/api/shop/presence/subscribe"),
            Some((ClientAction::SubscribePresence, "shop"))
        );
        assert_eq!(route(&Method::GET, "/api/sessions/shop/messages/send"), None);
        assert_eq!(route(&Method::POST, "/api/sessions/shop/messages/star"), None);
        assert_eq!(route(&Method::GET, "/api/sessions/shop"), None);
        assert_eq!(route(&Method::GET, "/api/sessions//contacts"), None);
    }

    #[test]
    fn days_turn_at_utc_midnight() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        assert_eq!(day(at("1970-01-02T00:00:00Z")), (1, 86_400));
        assert_eq!(day(at("1970-01-02T23:59:59Z")), (1, 1));
    }
}
