//! Verifying Titan's webhook deliveries.
//!
//! Titan signs each delivery twice: `X-Webhook-Signature: sha256=<hex HMAC-SHA256(body)>` and the
//! Standard Webhooks headers `webhook-id`, `webhook-timestamp`, `webhook-signature` (which also
//! let a receiver reject replays). Verify the raw body bytes, before parsing them; [`unwrap`]
//! does both and gives the typed [`Event`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::events::Event;

/// How far a Standard Webhooks timestamp may be from now.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a delivery did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No signature header of either scheme.
    #[error("no X-Webhook-Signature or webhook-signature header")]
    MissingSignature,
    /// A required header is absent.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is not in the documented format.
    #[error("malformed header {0}")]
    Malformed(&'static str),
    /// The timestamp is outside the tolerance: a replay or a badly skewed clock.
    #[error("timestamp outside the tolerance window")]
    Expired,
    /// No signature matches the body and secret.
    #[error("signature does not match")]
    Mismatch,
    /// The signature holds but the body is not an event envelope of a known shape.
    #[error("the body is not a Titan event: {0}")]
    Body(String),
}

/// Verifies `X-Webhook-Signature: sha256=<hex>` over `body` with the webhook's `secret`.
pub fn verify_signature(body: &[u8], header: &str, secret: &str) -> Result<(), WebhookError> {
    let hex_digest = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(WebhookError::Malformed("X-Webhook-Signature"))?;
    let given = hex::decode(hex_digest).map_err(|_| WebhookError::Malformed("X-Webhook-Signature"))?;
    let expected = hmac(secret.as_bytes(), &[body]);
    if bool::from(expected.ct_eq(&given)) {
        Ok(())
    } else {
        Err(WebhookError::Mismatch)
    }
}

/// Verifies the Standard Webhooks headers: `webhook-signature` holds space-separated `v1,<base64>`
/// HMAC-SHA256 signatures of `{id}.{timestamp}.{body}`; a `whsec_` secret is base64 after the prefix.
pub fn verify_standard(
    body: &[u8],
    id: &str,
    timestamp: &str,
    signatures: &str,
    secret: &str,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let sent: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| WebhookError::Malformed("webhook-timestamp"))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if now.abs_diff(sent) > tolerance.as_secs() {
        return Err(WebhookError::Expired);
    }
    let key = match secret.strip_prefix("whsec_") {
        Some(encoded) => STANDARD
            .decode(encoded)
            .map_err(|_| WebhookError::Malformed("secret"))?,
        None => secret.as_bytes().to_vec(),
    };
    let expected = hmac(&key, &[id.as_bytes(), b".", timestamp.trim().as_bytes(), b".", body]);
    let matched = signatures
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|given| bool::from(expected.ct_eq(&given)));
    if matched { Ok(()) } else { Err(WebhookError::Mismatch) }
}

/// Verifies a delivery from its headers with whichever scheme they carry (Standard Webhooks
/// first, because it also rejects replays).
pub fn verify(body: &[u8], headers: &http::HeaderMap, secret: &str) -> Result<(), WebhookError> {
    let get = |name: &'static str| {
        headers
            .get(name)
            .map(|v| v.to_str().map_err(|_| WebhookError::Malformed(name)))
            .transpose()
    };
    if let Some(signatures) = get("webhook-signature")? {
        let id = get("webhook-id")?.ok_or(WebhookError::MissingHeader("webhook-id"))?;
        let timestamp = get("webhook-timestamp")?.ok_or(WebhookError::MissingHeader("webhook-timestamp"))?;
        return verify_standard(body, id, timestamp, signatures, secret, DEFAULT_TOLERANCE);
    }
    match get("x-webhook-signature")? {
        Some(signature) => verify_signature(body, signature, secret),
        None => Err(WebhookError::MissingSignature),
    }
}

/// Verifies a delivery (see [`verify`]), then reads its body into the typed [`Event`]; an event
/// type newer than this SDK becomes [`Event::Unknown`].
///
/// ```no_run
/// # fn demo(body: &[u8], headers: &http::HeaderMap) -> Result<(), titan_client::webhooks::WebhookError> {
/// use titan_client::events::Event;
/// match titan_client::webhooks::unwrap(body, headers, "the webhook's hmacKey")? {
///     Event::MessageReceived(e) => println!("{}: {:?}", e.session, e.payload.text),
///     other => println!("{} on {}", other.event(), other.session()),
/// }
/// # Ok(())
/// # }
/// ```
pub fn unwrap(body: &[u8], headers: &http::HeaderMap, secret: &str) -> Result<Event, WebhookError> {
    verify(body, headers, secret)?;
    serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))
}

/// [`verify`] with the headers as `(name, value)` pairs, as the language bindings receive them;
/// a pair that is not a valid header is left out.
pub fn verify_pairs<'a>(
    body: &[u8],
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    secret: &str,
) -> Result<(), WebhookError> {
    let mut map = http::HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            map.append(name, value);
        }
    }
    verify(body, &map, secret)
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published Standard Webhooks test vector.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: &str = "1614265330";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn standard_webhooks_vector_verifies_and_tampering_fails() {
        let forever = Duration::from_secs(u64::MAX / 2);
        assert_eq!(verify_standard(BODY, ID, TIMESTAMP, SIGNATURE, SECRET, forever), Ok(()));
        let several = format!("v1,bm9wZQ== {SIGNATURE}");
        assert_eq!(verify_standard(BODY, ID, TIMESTAMP, &several, SECRET, forever), Ok(()));
        assert_eq!(
            verify_standard(b"{}", ID, TIMESTAMP, SIGNATURE, SECRET, forever),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify_standard(BODY, "msg_other", TIMESTAMP, SIGNATURE, SECRET, forever),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify_standard(BODY, ID, TIMESTAMP, SIGNATURE, SECRET, DEFAULT_TOLERANCE),
            Err(WebhookError::Expired)
        );
    }

    #[test]
    fn a_verified_body_is_read_into_its_typed_event() {
        let body = br#"{"id":"evt_1","event":"session.qr","session":"s","timestamp":"2026-01-01T00:00:00.000Z","payload":{"code":"2@x"}}"#;
        let mut headers = http::HeaderMap::new();
        let signature = format!("sha256={}", hex::encode(hmac(b"key", &[body])));
        headers.insert("x-webhook-signature", signature.parse().expect("header"));
        match unwrap(body, &headers, "key") {
            Ok(Event::SessionQr(event)) => {
                assert_eq!((event.id.as_str(), event.payload.code.as_str()), ("evt_1", "2@x"))
            }
            other => panic!("expected session.qr, got {other:?}"),
        }
        assert_eq!(unwrap(body, &headers, "other").err(), Some(WebhookError::Mismatch));
        let future = br#"{"id":"evt_2","event":"newer.type","session":"s","timestamp":"t","payload":{"a":1}}"#;
        let signature = format!("sha256={}", hex::encode(hmac(b"key", &[future])));
        headers.insert("x-webhook-signature", signature.parse().expect("header"));
        assert!(matches!(unwrap(future, &headers, "key"), Ok(Event::Unknown(e)) if e.event == "newer.type"));
        let broken =
            br#"{"id":"evt_3","event":"session.qr","session":"s","timestamp":"2026-01-01T00:00:00Z","payload":{}}"#;
        let signature = format!("sha256={}", hex::encode(hmac(b"key", &[broken])));
        headers.insert("x-webhook-signature", signature.parse().expect("header"));
        assert!(matches!(unwrap(broken, &headers, "key"), Err(WebhookError::Body(_))));
    }

    #[test]
    fn sha256_header_verifies() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231-style known value.
        let header = "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
        let body = b"The quick brown fox jumps over the lazy dog";
        assert_eq!(verify_signature(body, header, "key"), Ok(()));
        assert_eq!(
            verify_signature(b"tampered", header, "key"),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify_signature(body, "md5=00", "key"),
            Err(WebhookError::Malformed("X-Webhook-Signature"))
        );
        let mut headers = http::HeaderMap::new();
        headers.insert("x-webhook-signature", header.parse().expect("header"));
        assert_eq!(verify(body, &headers, "key"), Ok(()));
        assert_eq!(
            verify(body, &http::HeaderMap::new(), "key"),
            Err(WebhookError::MissingSignature)
        );
    }
}
