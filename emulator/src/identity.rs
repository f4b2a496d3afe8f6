//! The emulator's server identity: a Noise static key and a certificate chain for it, signed
//! (XEdDSA) by an intermediate that a root key of the emulator's own signs.
//!
//! Real clients pin WhatsApp's root key, so they accept this chain only when built with
//! `danger-skip-cert-chain-verify`; the structure (serials, leaf key = static key) is still checked.

use crate::conn::now_secs;
use buffa::Message;
use wacore::libsignal::protocol::KeyPair;
use waproto::whatsapp::{self as wa, cert_chain::noise_certificate};

/// The issuer serial clients expect on the intermediate certificate.
const ROOT_SERIAL: u32 = 0;
const INTERMEDIATE_SERIAL: u32 = 1;
const LEAF_SERIAL: u32 = 2;

/// The server's long-lived Noise key pair and its certificate chain.
pub struct ServerIdentity {
    /// The Noise static key pair (the leaf certificate's key).
    pub static_key: KeyPair,
    /// Protobuf `CertChain` sent (encrypted) in every ServerHello.
    pub cert_chain: Vec<u8>,
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("static_public", &hex::encode(self.static_public()))
            .finish()
    }
}

impl ServerIdentity {
    /// Generates a root, an intermediate and a static key, and signs the chain.
    pub fn generate() -> anyhow::Result<Self> {
        let root = wacore::crypto::generate_curve_key_pair();
        let intermediate = wacore::crypto::generate_curve_key_pair();
        let static_key = wacore::crypto::generate_curve_key_pair();
        let now = now_secs();
        let valid_until = now + 10 * 365 * 24 * 3600;
        let not_before = now.saturating_sub(3600);
        let intermediate_key = intermediate.public_key.public_key_bytes();
        let intermediate_cert = certificate(
            &root,
            INTERMEDIATE_SERIAL,
            ROOT_SERIAL,
            intermediate_key,
            not_before,
            valid_until,
        )?;
        let static_public = static_key.public_key.public_key_bytes();
        let leaf_cert = certificate(
            &intermediate,
            LEAF_SERIAL,
            INTERMEDIATE_SERIAL,
            static_public,
            not_before,
            valid_until,
        )?;
        let chain = wa::CertChain {
            leaf: buffa::MessageField::some(leaf_cert),
            intermediate: buffa::MessageField::some(intermediate_cert),
        };
        Ok(Self {
            static_key,
            cert_chain: chain.encode_to_vec(),
        })
    }

    /// The static public key clients cache for Noise IK.
    pub fn static_public(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.static_key.public_key.public_key_bytes());
        key
    }
}

/// A certificate for `key` (serial `serial`), signed by `issuer` (serial `issuer_serial`).
fn certificate(
    issuer: &KeyPair,
    serial: u32,
    issuer_serial: u32,
    key: &[u8],
    not_before: u64,
    not_after: u64,
) -> anyhow::Result<wa::cert_chain::NoiseCertificate> {
    let details = noise_certificate::Details {
        serial: Some(serial),
        issuer_serial: Some(issuer_serial),
        key: Some(key.to_vec()),
        not_before: Some(not_before),
        not_after: Some(not_after),
    };
    let details = details.encode_to_vec();
    let signature = wacore::crypto::calculate_curve_signature(&issuer.private_key, &details)
        .map_err(|e| anyhow::anyhow!("sign certificate: {e}"))?;
    Ok(wa::cert_chain::NoiseCertificate {
        details: Some(details),
        signature: Some(signature.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_verifies_against_its_own_root() {
        let identity = ServerIdentity::generate().expect("identity");
        let chain = wa::CertChain::decode_from_slice(&identity.cert_chain).expect("decodes");
        let leaf = chain.leaf.into_option().expect("leaf");
        let details = noise_certificate::Details::decode_from_slice(leaf.details.as_deref().unwrap_or_default())
            .expect("details");
        assert_eq!(details.key.as_deref(), Some(&identity.static_public()[..]));
        assert_eq!(details.issuer_serial, Some(INTERMEDIATE_SERIAL));
        let intermediate = chain.intermediate.into_option().expect("intermediate");
        let inter_details =
            noise_certificate::Details::decode_from_slice(intermediate.details.as_deref().unwrap_or_default())
                .expect("details");
        let inter_key = wacore::libsignal::protocol::PublicKey::from_djb_public_key_bytes(
            inter_details.key.as_deref().unwrap_or_default(),
        )
        .expect("key");
        assert!(inter_key.verify_signature(
            leaf.details.as_deref().unwrap_or_default(),
            leaf.signature.as_deref().unwrap_or_default()
        ));
    }
}
