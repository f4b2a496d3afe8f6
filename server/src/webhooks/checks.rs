//! What a webhook may be: its target URL, signing key, label, session filter and custom headers,
//! each a bounded type whose rule is also its schema, plus the checks that need the caller or
//! the server's settings.

use std::collections::BTreeMap;

use http::{HeaderName, HeaderValue};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};

use super::{signature, target};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::model::bounded::{ClearableLabel, SessionName, TextRule, VISIBLE_ASCII, bounded_text, session_name_pattern};
use crate::state::AppState;

bounded_text! {
    /// Where a webhook POSTs: exactly the URLs the delivery client can parse (an IPv6 literal
    /// needs a name instead).
    WebhookUrl = TextRule {
        min: 1,
        max: 2048,
        pattern: Some((
            concat!(
                "^https?://",
                "(([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*\\.?",
                "|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))",
                "(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
                "([/?#][!-~]*)?$",
            ),
            "an `http://` or `https://` URL: a host name or IPv4 address, an optional port, then a path of visible ASCII",
        )),
    };
}

bounded_text! {
    /// The key deliveries are signed with.
    HmacKey = TextRule { min: 16, max: 256, pattern: Some(VISIBLE_ASCII) };
}

bounded_text! {
    /// Only this session's events; `""` for every session.
    SessionFilter = TextRule {
        min: 0,
        max: SessionName::RULE.max,
        pattern: Some((
            concat!("^$|", session_name_pattern!()),
            concat!("empty, or a session name (", session_name_pattern!(meaning), ")"),
        )),
    };
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

/// Most custom headers per webhook.
const MAX_HEADERS: usize = 20;

/// A header name: an HTTP token.
const HEADER_NAME: &str = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

/// A header value: no control characters but tab.
const HEADER_VALUE: &str = "^[^\\x00-\\x08\\x0a-\\x1f\\x7f]*$";

/// Extra headers sent with every delivery: valid names and values, none reserved.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct WebhookHeaders(BTreeMap<String, String>);

impl WebhookHeaders {
    /// The checked headers.
    pub fn into_inner(self) -> BTreeMap<String, String> {
        self.0
    }

    fn violation(headers: &BTreeMap<String, String>) -> Option<String> {
        if headers.len() > MAX_HEADERS {
            return Some(format!("at most {MAX_HEADERS} custom headers"));
        }
        for (name, value) in headers {
            let Ok(parsed) = HeaderName::from_bytes(name.as_bytes()) else {
                return Some(format!("`{name}` is not a valid header name"));
            };
            if RESERVED_HEADERS.contains(&parsed.as_str()) {
                return Some(format!("the header `{name}` is set by Titan and cannot be overridden"));
            }
            if HeaderValue::from_str(value).is_err() {
                return Some(format!("the value of header `{name}` is not a valid header value"));
            }
        }
        None
    }
}

impl<'de> serde::Deserialize<'de> for WebhookHeaders {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let headers = BTreeMap::<String, String>::deserialize(deserializer)?;
        match Self::violation(&headers) {
            Some(why) => Err(serde::de::Error::custom(why)),
            None => Ok(Self(headers)),
        }
    }
}

impl utoipa::PartialSchema for WebhookHeaders {
    fn schema() -> RefOr<Schema> {
        let names = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(HEADER_NAME))
            .min_length(Some(1));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .max_properties(Some(MAX_HEADERS))
            .property_names(Some(names))
            .additional_properties(Some(AdditionalProperties::RefOr(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(HEADER_VALUE))
                    .into(),
            )))
            .into()
    }
}

impl utoipa::ToSchema for WebhookHeaders {}

/// The signing key to use: the one given, or a new one.
pub(super) fn hmac_key(key: Option<HmacKey>) -> Result<String, ApiError> {
    match key {
        Some(key) => Ok(key.into_inner()),
        None => Ok(signature::generate_key()?),
    }
}

/// A label as stored: `None` for none or `""`.
pub(super) fn label(label: Option<ClearableLabel>) -> Option<String> {
    label.map(ClearableLabel::into_inner).filter(|l| !l.is_empty())
}

/// The target URL as stored, refused when it names a private address the server may not reach.
pub(super) fn url(state: &AppState, url: WebhookUrl) -> Result<String, ApiError> {
    let parsed = target::parse(url.as_str()).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    target::check(&parsed, state.config.webhook_allow_private).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(parsed.to_string())
}

/// Checks a session filter against the caller's key: a key limited to sessions may only
/// manage webhooks of those sessions.
pub(super) fn session(caller: &Caller, session: Option<SessionFilter>) -> Result<Option<String>, ApiError> {
    let session = session.map(SessionFilter::into_inner).filter(|s| !s.is_empty());
    match &session {
        Some(name) => caller.grant.require_session(name)?,
        None if caller.grant.sessions.is_some() => {
            return Err(ApiError::Forbidden(
                "this key is limited to some sessions: set `session` to one of them".into(),
            ));
        }
        None => {}
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;

    #[test]
    fn the_url_pattern_admits_only_what_the_delivery_client_parses() {
        let rule = WebhookUrl::RULE.compile().expect("the pattern compiles");
        for ok in [
            "https://example.com/titan",
            "http://203.0.113.5:8080/hook?x=1",
            "http://receiver.internal.",
            "https://a-b.c0/#frag",
        ] {
            assert!(rule.is_match(ok), "{ok}");
            assert!(target::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://example.com/",
            "http://",
            "http://999.1.1.1/",
            "http://h:65536/",
            "http://a b/",
            "http://1.2.3/",
        ] {
            assert!(!rule.is_match(bad), "{bad}");
        }
    }

    #[test]
    fn headers_follow_their_schema_and_reserved_ones_are_refused_in_any_case() {
        for (pattern, ok, bad) in [
            (HEADER_NAME, "X-Api_Key.1", "a b"),
            (HEADER_VALUE, "Bearer x\tÿ", "a\nb"),
        ] {
            let regex = Regex::new(pattern).expect("the pattern compiles");
            assert!(regex.is_match(ok) && !regex.is_match(bad), "{pattern}");
        }
        let read = |json: serde_json::Value| serde_json::from_value::<WebhookHeaders>(json).map_err(|e| e.to_string());
        assert!(read(serde_json::json!({"Authorization": "Bearer x"})).is_ok());
        assert!(
            read(serde_json::json!({"Content-Type": "text/plain"}))
                .unwrap_err()
                .contains("set by Titan")
        );
        assert!(
            read(serde_json::json!({"WEBHOOK-ID": "x"}))
                .unwrap_err()
                .contains("set by Titan")
        );
        assert!(
            read(serde_json::json!({"a b": "x"}))
                .unwrap_err()
                .contains("not a valid header name")
        );
        assert!(
            read(serde_json::json!({"x": "a\nb"}))
                .unwrap_err()
                .contains("not a valid header value")
        );
    }
}
