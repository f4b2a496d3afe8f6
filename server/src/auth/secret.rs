//! API key secrets: generated once, shown once, stored only as a SHA-256 digest.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of every API key.
pub const KEY_PREFIX: &str = "titan_";

/// How many characters of a key are kept in clear to let users tell keys apart.
const VISIBLE_CHARS: usize = KEY_PREFIX.len() + 6;

/// A freshly generated key: the secret to show once, and what may be stored.
pub struct NewSecret {
    /// `titan_` + 43 base64url characters (256 random bits). Never stored, never logged.
    pub secret: String,
    /// Hex SHA-256 of `secret`: the only form that reaches the database.
    pub hash: String,
    /// The first characters of `secret`, safe to display.
    pub prefix: String,
}

/// Generates a key with 256 bits from `rand`'s thread-local CSPRNG (ChaCha, seeded by the OS).
pub fn generate() -> NewSecret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{KEY_PREFIX}{}", base64_url(&bytes));
    NewSecret {
        hash: hash(&secret),
        prefix: secret[..VISIBLE_CHARS].to_owned(),
        secret,
    }
}

/// The stored form of a presented key.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_unique_and_hashed() {
        let a = generate();
        let b = generate();
        assert!(a.secret.starts_with(KEY_PREFIX));
        assert_eq!(a.secret.len(), KEY_PREFIX.len() + 43);
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.hash, hash(&a.secret));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.secret[KEY_PREFIX.len()..]));
        assert!(a.secret.starts_with(&a.prefix));
    }
}
