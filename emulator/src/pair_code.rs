//! The phone's half of linking with a pair code: the companion asks for a code
//! (`companion_hello`), the user types it on the phone (the admin API), the phone answers with
//! its wrapped ephemeral key (`primary_hello`), the companion sends its key bundle
//! (`companion_finish`), and the phone derives the new ADV secret from it and links the device
//! exactly as a QR scan does.

use tokio::sync::oneshot;
use wacore::libsignal::protocol::{KeyPair, PublicKey};
use wacore::pair_code::PairCodeUtils;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::node::Node;

use crate::admin::{AdminError, Linked};
use crate::routing::child_bytes;
use crate::state::{Pending, Registry, Shared};

/// HKDF info of the key that encrypts the companion's key bundle.
const BUNDLE_KEY_INFO: &[u8] = b"link_code_pairing_key_bundle_encryption_key";

/// A companion waiting for its owner to type the code it shows.
#[derive(Debug)]
pub struct LinkCode {
    /// The pairing ref the server minted (echoed in every later stage).
    pub reference: Vec<u8>,
    /// `salt ‖ iv ‖ AES-CTR(companion ephemeral public key)`, keyed by the code.
    pub wrapped_companion: Vec<u8>,
    /// The waiting connection.
    pub pending: Pending,
    /// Set once the phone has sent `primary_hello`.
    pub primary: Option<PrimaryHello>,
}

/// What the phone remembers between `primary_hello` and `companion_finish`.
pub struct PrimaryHello {
    /// The phone's ephemeral key pair for this pairing.
    pub ephemeral: KeyPair,
    /// The companion's ephemeral public key, unwrapped with the typed code.
    pub companion_ephemeral: [u8; 32],
    /// Told the outcome (the linked device, or why linking failed).
    pub outcome: Option<oneshot::Sender<Result<Linked, AdminError>>>,
}

impl std::fmt::Debug for PrimaryHello {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrimaryHello").finish_non_exhaustive()
    }
}

/// The 32-byte public half of `pair`.
pub fn public_bytes(pair: &KeyPair) -> [u8; 32] {
    <[u8; 32]>::try_from(pair.public_key.public_key_bytes()).unwrap_or_default()
}

/// The `<link_code_companion_reg>` of a pairing IQ and the phone number it names.
fn registration(request: &Node) -> Result<(&Node, String), u16> {
    let stage = request.get_optional_child("link_code_companion_reg").ok_or(400u16)?;
    let jid = stage.attrs().optional_jid("jid").ok_or(400u16)?;
    Ok((stage, jid.user.to_string()))
}

/// `companion_hello` from an unpaired connection: remembers it under its phone number (a newer
/// request replaces an older one) and answers with the pairing ref.
pub fn companion_hello(registry: &mut Registry, pending: Pending, request: &Node) -> Result<Vec<Node>, u16> {
    let (hello, phone) = registration(request)?;
    let wrapped = child_bytes(hello, "link_code_pairing_wrapped_companion_ephemeral_pub")
        .filter(|w| w.len() == 80)
        .ok_or(400u16)?;
    let reference = format!("2@{}", crate::conn::random_hex(16)).into_bytes();
    registry.link_codes.insert(
        phone,
        LinkCode {
            reference: reference.clone(),
            wrapped_companion: wrapped.to_vec(),
            pending,
            primary: None,
        },
    );
    let reply = NodeBuilder::new("link_code_companion_reg")
        .children([NodeBuilder::new("link_code_pairing_ref").bytes(reference).build()])
        .build();
    Ok(vec![reply])
}

/// The owner of `phone` types `code`: the phone unwraps the companion's ephemeral key, sends
/// `primary_hello`, and waits (up to a minute) for the companion to finish linking.
pub async fn enter_code(shared: &Shared, phone: &str, code: &str) -> Result<Linked, AdminError> {
    let code = code.trim().replace('-', "").to_ascii_uppercase();
    if code.len() != 8 {
        return Err(AdminError::BadRequest("a pair code has 8 characters".into()));
    }
    let (wrapped, identity_public) = shared
        .with(|r| {
            let waiting = r.link_codes.get(phone)?.wrapped_companion.clone();
            let identity = r.accounts.get(phone).map(|a| public_bytes(&a.identity));
            Some((waiting, identity))
        })
        .ok_or_else(|| AdminError::NotFound(format!("no companion is waiting for a pair code for {phone}")))?;
    // Unknown numbers get an account, as a QR scan by a new phone does.
    let identity_public = match identity_public {
        Some(key) => key,
        None => shared.with(|r| public_bytes(&r.account_for(Some(phone), None).identity)),
    };
    let phrase = code.clone();
    // Two PBKDF2 runs of 2^17 rounds: off the async workers.
    let (companion_ephemeral, ephemeral, wrapped_primary) = tokio::task::spawn_blocking(move || {
        let companion = PairCodeUtils::decrypt_primary_ephemeral_pub(&wrapped, &phrase)?;
        let ephemeral = wacore::crypto::generate_curve_key_pair();
        let public = public_bytes(&ephemeral);
        Ok::<_, wacore::pair_code::PairCodeError>((
            companion,
            ephemeral,
            PairCodeUtils::encrypt_ephemeral_pub(&public, &phrase),
        ))
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?
    .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    let (tell, outcome) = oneshot::channel();
    let sent = shared.with(|r| {
        let waiting = r.link_codes.get_mut(phone)?;
        waiting.primary = Some(PrimaryHello {
            ephemeral,
            companion_ephemeral,
            outcome: Some(tell),
        });
        let stage = NodeBuilder::new("link_code_companion_reg")
            .attr("stage", "primary_hello")
            .children([
                NodeBuilder::new("link_code_pairing_wrapped_primary_ephemeral_pub")
                    .bytes(wrapped_primary.to_vec())
                    .build(),
                NodeBuilder::new("primary_identity_pub")
                    .bytes(identity_public.to_vec())
                    .build(),
                NodeBuilder::new("link_code_pairing_ref")
                    .bytes(waiting.reference.clone())
                    .build(),
            ])
            .build();
        waiting
            .pending
            .connection
            .send(crate::state::Command::Send(notification(stage)))
            .ok()
    });
    sent.ok_or_else(|| AdminError::NotFound(format!("the companion waiting for {phone} has disconnected")))?;
    tokio::time::timeout(std::time::Duration::from_secs(60), outcome)
        .await
        .map_err(|_| AdminError::NotFound("the companion did not finish linking within 60 s".into()))?
        .map_err(|_| AdminError::NotFound("the companion disconnected before it finished linking".into()))?
}

/// `companion_finish`: opens the companion's key bundle with the ephemeral agreement, derives
/// the new ADV secret, and links the device as a QR scan would. A bundle that does not open
/// means the typed code was wrong: nothing is linked and the companion is told to refresh its
/// code.
pub fn companion_finish(shared: &Shared, request: &Node) -> Result<(), u16> {
    let (finish, phone) = registration(request)?;
    let bundle = child_bytes(finish, "link_code_pairing_wrapped_key_bundle")
        .filter(|b| b.len() == 156)
        .ok_or(400u16)?
        .to_vec();
    let companion_identity: [u8; 32] = child_bytes(finish, "companion_identity_public")
        .and_then(|b| b.try_into().ok())
        .ok_or(400u16)?;
    let reference = child_bytes(finish, "link_code_pairing_ref").ok_or(400u16)?.to_vec();
    let (waiting, account_identity) = shared
        .with(|r| {
            let matches = r.link_codes.get(&phone).is_some_and(|w| w.reference == reference);
            let waiting = r.link_codes.remove(&phone).filter(|_| matches)?;
            Some((waiting, r.accounts.get(&phone)?.identity.clone()))
        })
        .ok_or(404u16)?;
    let Some(mut primary) = waiting.primary else {
        return Err(400);
    };
    let outcome = primary.outcome.take();
    let linked = open_bundle(&primary, &account_identity, &bundle, &companion_identity).and_then(|adv_secret| {
        crate::admin::link(shared, &waiting.pending, Some(&phone), &companion_identity, &adv_secret)
    });
    if let Err(error) = &linked {
        tracing::warn!(%error, phone, "pair code linking failed");
        // Tell the companion its code is spent, so it can ask for another at once.
        let refresh = NodeBuilder::new("link_code_companion_reg")
            .attr("stage", "refresh_code")
            .attr("force_manual_refresh", "true")
            .children([NodeBuilder::new("link_code_pairing_ref").bytes(reference).build()])
            .build();
        let _ = waiting
            .pending
            .connection
            .send(crate::state::Command::Send(notification(refresh)));
    }
    if let Some(outcome) = outcome {
        let _ = outcome.send(linked);
    }
    Ok(())
}

/// Decrypts `salt ‖ nonce ‖ AES-GCM(companion identity ‖ phone identity ‖ random)` and returns
/// `HKDF(ephemeral agreement ‖ identity agreement ‖ random, info "adv_secret")`.
fn open_bundle(
    primary: &PrimaryHello,
    account: &KeyPair,
    wrapped: &[u8],
    companion_identity: &[u8; 32],
) -> Result<[u8; 32], AdminError> {
    let wrong_code = || AdminError::BadRequest("the pair code does not match the one the companion shows".into());
    let internal = |e: &dyn std::fmt::Display| AdminError::Internal(e.to_string());
    let companion_ephemeral =
        PublicKey::from_djb_public_key_bytes(&primary.companion_ephemeral).map_err(|_| wrong_code())?;
    let ephemeral_shared = primary
        .ephemeral
        .calculate_agreement(&companion_ephemeral)
        .map_err(|_| wrong_code())?;
    let mut key = [0u8; 32];
    wacore::crypto::hkdf_sha256_into(&ephemeral_shared, Some(&wrapped[..32]), BUNDLE_KEY_INFO, &mut key)
        .map_err(|e| internal(&e))?;
    let nonce: &[u8; 12] = wrapped[32..44].try_into().map_err(|e| internal(&e))?;
    let mut bundle = Vec::with_capacity(96);
    wacore::libsignal::crypto::aes_256_gcm_decrypt(&key, nonce, b"", &wrapped[44..], &mut bundle)
        .map_err(|_| wrong_code())?;
    if bundle.len() != 96 || bundle[..32] != companion_identity[..] || bundle[32..64] != public_bytes(account) {
        return Err(AdminError::BadRequest(
            "the companion's key bundle names other identities".into(),
        ));
    }
    let companion = PublicKey::from_djb_public_key_bytes(companion_identity).map_err(|e| internal(&e))?;
    let identity_shared = account.calculate_agreement(&companion).map_err(|e| internal(&e))?;
    let mut material = Vec::with_capacity(96);
    material.extend_from_slice(&ephemeral_shared);
    material.extend_from_slice(&identity_shared);
    material.extend_from_slice(&bundle[64..96]);
    let mut adv_secret = [0u8; 32];
    wacore::crypto::hkdf_sha256_into(&material, None, b"adv_secret", &mut adv_secret).map_err(|e| internal(&e))?;
    Ok(adv_secret)
}

/// A `link_code_companion_reg` notification from the server carrying `stage`.
fn notification(stage: Node) -> Node {
    NodeBuilder::new("notification")
        .attr("from", crate::conn::SERVER)
        .attr("id", crate::conn::random_hex(8))
        .attr("type", "link_code_companion_reg")
        .attr("t", crate::conn::now_secs().to_string())
        .children([stage])
        .build()
}
