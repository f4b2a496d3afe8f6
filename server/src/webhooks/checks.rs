//! What a webhook may be: its custom headers, signing key, label, target URL, session filter and
//! retry policy, each checked before anything is stored.

use std::collections::BTreeMap;

use http::{HeaderName, HeaderValue};

use super::{signature, target};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::model::delivery::Retries;
use crate::state::AppState;
use crate::validate;

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

pub(super) fn headers(headers: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ApiError> {
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

pub(super) fn hmac_key(key: Option<String>) -> Result<String, ApiError> {
    match key {
        None => Ok(signature::generate_key()?),
        Some(key) if (16..=256).contains(&key.chars().count()) && key.trim() == key => Ok(key),
        Some(_) => Err(ApiError::BadRequest(
            "hmacKey must be 16 to 256 characters without surrounding spaces".into(),
        )),
    }
}

pub(super) fn label(label: Option<String>) -> Result<Option<String>, ApiError> {
    label
        .filter(|l| !l.trim().is_empty())
        .map(|l| validate::label(&l))
        .transpose()
}

pub(super) async fn url(state: &AppState, url: &str) -> Result<String, ApiError> {
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
pub(super) fn session(caller: &Caller, session: Option<String>) -> Result<Option<String>, ApiError> {
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

/// `retries` if its numbers are in range, else 400 naming the field.
pub(super) fn checked(retries: Retries) -> Result<Retries, ApiError> {
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
