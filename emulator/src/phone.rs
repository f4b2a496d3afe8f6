//! The primary phone's half of QR pairing: reading the QR a companion shows and signing the
//! companion's device identity with the account key, as WhatsApp's phone app does.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use buffa::Message;
use wacore::libsignal::protocol::KeyPair;
use waproto::whatsapp::{self as wa, ADVEncryptionType};

/// What a companion's QR code carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCode {
    /// The server-issued ref that identifies the waiting connection.
    pub reference: String,
    /// The companion's Noise static public key.
    pub noise_public: [u8; 32],
    /// The companion's Signal identity public key.
    pub identity_public: [u8; 32],
    /// The secret the phone keys its HMAC with.
    pub adv_secret: Vec<u8>,
}

/// Why a QR string was refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid QR code: {0}")]
pub struct InvalidQr(String);

impl std::str::FromStr for QrCode {
    type Err = InvalidQr;

    /// Parses `ref,b64(noise),b64(identity),b64(adv secret),client type`.
    fn from_str(qr: &str) -> Result<Self, Self::Err> {
        let qr = qr.trim().trim_start_matches("https://wa.me/settings/linked_devices#");
        let parts: Vec<&str> = qr.split(',').collect();
        let [reference, noise, identity, secret, ..] = parts.as_slice() else {
            return Err(InvalidQr("expected at least 4 comma-separated fields".into()));
        };
        let decode = |field: &str, name: &str| STANDARD.decode(field).map_err(|e| InvalidQr(format!("{name}: {e}")));
        let key = |field: &str, name: &str| -> Result<[u8; 32], InvalidQr> {
            decode(field, name)?
                .try_into()
                .map_err(|_| InvalidQr(format!("{name} is not 32 bytes")))
        };
        Ok(Self {
            reference: (*reference).to_owned(),
            noise_public: key(noise, "noise key")?,
            identity_public: key(identity, "identity key")?,
            adv_secret: decode(secret, "adv secret")?,
        })
    }
}

/// `ADVSignedDeviceIdentityHMAC` for a companion: the account signs
/// `[6,0] ‖ details ‖ companion identity` and the result is HMAC'd with the QR's secret.
pub fn sign_device_identity(
    account: &KeyPair,
    raw_id: u32,
    key_index: u32,
    companion_identity: &[u8; 32],
    adv_secret: &[u8],
) -> anyhow::Result<Vec<u8>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let details = wa::ADVDeviceIdentity {
        raw_id: Some(raw_id),
        timestamp: Some(now),
        key_index: Some(key_index),
        account_type: Some(ADVEncryptionType::E2EE),
        device_type: Some(ADVEncryptionType::E2EE),
    }
    .encode_to_vec();
    let mut message = vec![6u8, 0];
    message.extend_from_slice(&details);
    message.extend_from_slice(companion_identity);
    let signature = wacore::crypto::calculate_curve_signature(&account.private_key, &message)
        .map_err(|e| anyhow::anyhow!("sign device identity: {e}"))?;
    let signed = wa::ADVSignedDeviceIdentity {
        details: Some(details),
        account_signature_key: Some(account.public_key.public_key_bytes().to_vec()),
        account_signature: Some(signature.to_vec()),
        device_signature: None,
    }
    .encode_to_vec();
    let hmac = wacore::libsignal::crypto::hmac_sha256(adv_secret, &signed);
    Ok(wa::ADVSignedDeviceIdentityHMAC {
        details: Some(signed),
        hmac: Some(hmac.to_vec()),
        account_type: Some(ADVEncryptionType::E2EE),
    }
    .encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_identity_passes_the_companions_own_checks() {
        let account = wacore::crypto::generate_curve_key_pair();
        let companion = wacore::crypto::generate_curve_key_pair();
        let noise = wacore::crypto::generate_curve_key_pair();
        let adv_secret = [7u8; 32];
        let mut identity = [0u8; 32];
        identity.copy_from_slice(companion.public_key.public_key_bytes());
        let container = sign_device_identity(&account, 42, 3, &identity, &adv_secret).expect("signed");

        let state = wacore::pair::DeviceState {
            identity_key: companion,
            noise_key: noise,
            adv_secret_key: adv_secret,
        };
        let (_, key_index) =
            wacore::pair::PairUtils::do_pair_crypto(&state, &container).expect("the client accepts it");
        assert_eq!(key_index, 3);
    }

    #[test]
    fn qr_codes_parse() {
        let key = STANDARD.encode([1u8; 32]);
        let qr: QrCode = format!("2@abc,{key},{key},{key},9").parse().expect("parses");
        assert_eq!(qr.reference, "2@abc");
        assert_eq!(qr.identity_public, [1u8; 32]);
        assert!("2@abc,nope".parse::<QrCode>().is_err());
    }
}
