//! The phone's own Signal sender. WhatsApp's primary device shares the account's app-state key
//! with every new companion in an end-to-end encrypted `protocolMessage`; the emulator plays that
//! phone, so a freshly linked client gets its key at once instead of waiting out its 10 s grace.
//! The same sender seals what the phone itself sends to a chat (a `DeviceSentMessage`), which
//! its companions see as their own account's messages.

use std::collections::HashMap;

use wacore::libsignal::protocol::{
    CiphertextMessage, Direction, IdentityChange, IdentityKey, IdentityKeyPair, IdentityKeyStore, KeyPair,
    PreKeyBundle, ProtocolAddress, PublicKey, SessionRecord, SessionStore, SignalProtocolError, UsePQRatchet,
    message_encrypt, process_prekey_bundle,
};
use wacore::messages::MessageUtils;
use wacore::types::jid::JidExt as _;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::jid::Jid;
use wacore_binary::node::Node;
use waproto::whatsapp as wa;

use crate::state::KeyBundle;

type SignalResult<T> = Result<T, SignalProtocolError>;

/// An account's app-state sync key, shared with each of its companions.
#[derive(Debug, Clone)]
pub struct AppStateKey {
    /// The key id the client files the key under.
    pub id: Vec<u8>,
    /// The 32-byte key.
    pub data: Vec<u8>,
    /// When the phone made it (ms since the epoch).
    pub timestamp: i64,
}

impl AppStateKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        use rand::Rng;
        let mut id = vec![0u8; 6];
        let mut data = vec![0u8; 32];
        rand::rng().fill_bytes(&mut id);
        rand::rng().fill_bytes(&mut data);
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Self { id, data, timestamp }
    }
}

/// One companion as a recipient of its own phone's messages: everything the phone needs to
/// Signal-encrypt a message for it, copied out of the registry so the encryption runs without
/// the lock. The phone keeps no sessions: each message starts a fresh one from the bundle.
#[derive(Clone)]
pub struct Recipient {
    /// The account's phone number.
    pub phone: String,
    /// The companion's device id.
    pub device: u32,
    /// The phone's identity key pair.
    pub identity: KeyPair,
    /// The phone's Signal registration id.
    pub registration_id: u32,
    /// The companion's published keys, with at most one one-time key (already consumed).
    pub bundle: KeyBundle,
}

impl Recipient {
    /// The phone's `<message>` to the companion: `envelope` (a `<message>` builder with the
    /// stanza's own attributes: id, t, type, ...) from the phone's JID, carrying `message`
    /// encrypted in a new session (a `pkmsg`).
    pub async fn seal(&self, message: &wa::Message, envelope: NodeBuilder) -> SignalResult<Node> {
        let companion = Jid::pn_device(&self.phone, u16::try_from(self.device).unwrap_or(u16::MAX));
        let address = companion.to_protocol_address();
        let mut sessions = Sessions::default();
        let mut identities = PhoneIdentity {
            identity: IdentityKeyPair::from(self.identity.clone()),
            registration_id: self.registration_id,
        };
        let bundle = self.prekey_bundle()?;
        process_prekey_bundle(
            &address,
            &mut sessions,
            &mut identities,
            &bundle,
            &mut rand::make_rng::<rand::rngs::StdRng>(),
            UsePQRatchet::No,
        )
        .await?;
        let plaintext = MessageUtils::encode_and_pad(message);
        let ciphertext = message_encrypt(&plaintext, &address, &mut sessions, &mut identities).await?;
        let kind = match ciphertext {
            CiphertextMessage::PreKeySignalMessage(_) => "pkmsg",
            _ => "msg",
        };
        let enc = NodeBuilder::new("enc")
            .attr("v", "2")
            .attr("type", kind)
            .bytes(ciphertext.serialize().to_vec())
            .build();
        Ok(envelope
            .attr("from", format!("{}@s.whatsapp.net", self.phone))
            .children([enc])
            .build())
    }

    fn prekey_bundle(&self) -> SignalResult<PreKeyBundle> {
        let keys = &self.bundle;
        let one_time = keys
            .one_time
            .first_key_value()
            .map(|(id, key)| PublicKey::from_djb_public_key_bytes(key).map(|k| ((*id).into(), k)))
            .transpose()?;
        PreKeyBundle::new(
            keys.registration_id,
            self.device.into(),
            one_time,
            keys.signed.id.into(),
            PublicKey::from_djb_public_key_bytes(&keys.signed.public_bytes)?,
            keys.signed.signature.clone(),
            IdentityKey::new(PublicKey::from_djb_public_key_bytes(&keys.identity)?),
        )
    }
}

/// What the phone sends a new companion once: the account's app-state key.
#[derive(Clone)]
pub struct KeyShare {
    /// The companion.
    pub to: Recipient,
    /// The account's app-state key.
    pub key: AppStateKey,
    /// ADV raw id of the account (part of the key's fingerprint).
    pub raw_id: u32,
}

impl KeyShare {
    /// The `<message>` the phone sends: a `pkmsg` holding an `APP_STATE_SYNC_KEY_SHARE`.
    pub async fn seal(&self) -> SignalResult<Node> {
        let envelope = NodeBuilder::new("message")
            .attr("id", crate::conn::random_hex(8).to_uppercase())
            .attr("t", (self.key.timestamp / 1000).to_string())
            .attr("type", "text")
            .attr("category", "peer");
        self.to.seal(&self.message(), envelope).await
    }

    fn message(&self) -> wa::Message {
        let fingerprint = wa::message::AppStateSyncKeyFingerprint {
            raw_id: Some(self.raw_id),
            current_index: Some(self.to.device),
            device_indexes: vec![0, self.to.device],
        };
        let key = wa::message::AppStateSyncKey {
            key_id: buffa::MessageField::some(wa::message::AppStateSyncKeyId {
                key_id: Some(self.key.id.clone()),
            }),
            key_data: buffa::MessageField::some(wa::message::AppStateSyncKeyData {
                key_data: Some(self.key.data.clone()),
                fingerprint: buffa::MessageField::some(fingerprint),
                timestamp: Some(self.key.timestamp),
            }),
        };
        wa::Message {
            protocol_message: buffa::MessageField::some(wa::message::ProtocolMessage {
                r#type: Some(wa::message::protocol_message::Type::APP_STATE_SYNC_KEY_SHARE),
                app_state_sync_key_share: buffa::MessageField::some(wa::message::AppStateSyncKeyShare {
                    keys: vec![key],
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// The sessions of one send (each message starts a fresh one from the companion's bundle).
#[derive(Default)]
struct Sessions(HashMap<String, SessionRecord>);

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn load_session(&self, address: &ProtocolAddress) -> SignalResult<Option<SessionRecord>> {
        Ok(self.0.get(address.name()).cloned())
    }

    async fn has_session(&self, address: &ProtocolAddress) -> SignalResult<bool> {
        Ok(self.0.contains_key(address.name()))
    }

    async fn store_session(&mut self, address: &ProtocolAddress, record: SessionRecord) -> SignalResult<()> {
        self.0.insert(address.name().to_owned(), record);
        Ok(())
    }
}

/// The phone's identity, trusting every peer: it only ever talks to the companion whose keys
/// it has just read from the server.
struct PhoneIdentity {
    identity: IdentityKeyPair,
    registration_id: u32,
}

#[async_trait::async_trait]
impl IdentityKeyStore for PhoneIdentity {
    async fn get_identity_key_pair(&self) -> SignalResult<IdentityKeyPair> {
        Ok(self.identity.clone())
    }

    async fn get_local_registration_id(&self) -> SignalResult<u32> {
        Ok(self.registration_id)
    }

    async fn save_identity(&mut self, _: &ProtocolAddress, _: &IdentityKey) -> SignalResult<IdentityChange> {
        Ok(IdentityChange::NewOrUnchanged)
    }

    async fn is_trusted_identity(&self, _: &ProtocolAddress, _: &IdentityKey, _: Direction) -> SignalResult<bool> {
        Ok(true)
    }

    async fn get_identity(&self, _: &ProtocolAddress) -> SignalResult<Option<IdentityKey>> {
        Ok(None)
    }
}
