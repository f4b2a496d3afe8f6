//! Delivery signatures: Titan's `X-Webhook-Signature` (hex HMAC-SHA256 of the raw body) and the
//! Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`), which also
//! let receivers reject replays.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// The prefix of generated keys: Standard Webhooks libraries accept such keys as they are.
const PREFIX: &str = "whsec_";

/// A new random HMAC key, `whsec_` + base64 of 32 random bytes.
pub fn generate_key() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("no randomness for a webhook key"))?;
    Ok(format!("{PREFIX}{}", STANDARD.encode(bytes)))
}

/// The headers that sign one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// `X-Webhook-Signature: sha256=<hex>`: HMAC-SHA256 of the raw body, keyed by the hmacKey
    /// as UTF-8 text.
    pub titan: String,
    /// `webhook-signature: v1,<base64>`: HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed by the
    /// base64-decoded part of a `whsec_` key (else by the key's UTF-8 bytes).
    pub standard: String,
}

/// Signs `body`, sent as message `id` at `timestamp` (Unix seconds), with `key`.
pub fn sign(key: &str, id: &str, timestamp: i64, body: &[u8]) -> Signed {
    let titan = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()), body);
    let standard_key = key
        .strip_prefix(PREFIX)
        .and_then(|k| STANDARD.decode(k).ok())
        .unwrap_or_else(|| key.as_bytes().to_vec());
    let mut context = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, &standard_key));
    context.update(format!("{id}.{timestamp}.").as_bytes());
    context.update(body);
    Signed {
        titan: format!("sha256={}", hex::encode(titan.as_ref())),
        standard: format!("v1,{}", STANDARD.encode(context.sign().as_ref())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_published_examples() {
        // Standard Webhooks' reference test vector (standard-webhooks/standard-webhooks, spec).
        let signed = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signed.standard, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        // The HMAC-SHA256 example of Wikipedia's HMAC article.
        let titan = sign("key", "x", 0, b"The quick brown fox jumps over the lazy dog").titan;
        assert_eq!(
            titan,
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn generated_keys_are_prefixed_and_distinct() {
        let a = generate_key().expect("a key");
        assert!(a.starts_with("whsec_") && a.len() > 40);
        assert_ne!(a, generate_key().expect("a key"));
    }
}
