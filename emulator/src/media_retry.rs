//! The phone's own files and their re-upload ("media retry").
//!
//! WhatsApp's CDN forgets media after a while; a device whose download then fails sends its own
//! account a `<receipt type="server-error">` whose `<encrypt>` proves it knows the media key, and
//! the account's primary phone, which keeps the file, uploads it again and answers with a
//! `<notification type="mediaretry">` naming the new direct path (encrypted with a key derived
//! from the media key). The emulator plays that phone, but it is not a Signal recipient: it
//! cannot read what other devices send, so it can re-upload only the files it sent itself.
//! [`phone_sends`] makes the phone send one (to every companion of the account, as a
//! `DeviceSentMessage`), [`crate::media::expire`] makes the CDN forget it, and [`answer`]
//! plays the phone receiving the retry request.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use buffa::Message as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use wacore::download::MediaType;
use wacore::libsignal::crypto::{aes_256_gcm_decrypt, aes_256_gcm_encrypt};
use wacore_binary::builder::NodeBuilder;
use wacore_binary::jid::Jid;
use wacore_binary::node::Node;
use waproto::whatsapp as wa;

use crate::admin::AdminError;
use crate::conn::{now_secs, random_hex};
use crate::routing::{Me, attr, child_bytes};
use crate::state::{Registry, Shared};

/// The HKDF info that turns a media key into the key of the retry request and its answer
/// (WhatsApp Web's `WACryptoMediaRetry`).
const RETRY_KEY_INFO: &[u8] = b"WhatsApp Media Retry Notification";

/// A file the phone sent, kept so it can be uploaded again after the CDN copy expires.
#[derive(Debug, Clone)]
pub struct SentMedia {
    /// The chat it went to (a JID without device), which a retry request names in `<rmr jid>`.
    pub chat: Jid,
    /// The media key: a retry request must be encrypted with the key derived from it.
    pub media_key: [u8; 32],
    /// The encrypted file, byte for byte as first uploaded.
    pub ciphertext: Bytes,
    /// Its kind's segment of CDN paths (`/v/{kind}/...`).
    pub kind: MediaKind,
}

/// The kinds of file the phone can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// A picture (`imageMessage`).
    Image,
    /// A file shown with its name (`documentMessage`).
    Document,
    /// A sound or voice note (`audioMessage`).
    Audio,
    /// A clip (`videoMessage`).
    Video,
}

impl MediaKind {
    /// The media type whose keys encrypt this kind.
    fn media_type(self) -> MediaType {
        match self {
            Self::Image => MediaType::Image,
            Self::Document => MediaType::Document,
            Self::Audio => MediaType::Audio,
            Self::Video => MediaType::Video,
        }
    }
}

/// Body of `POST /admin/accounts/{phone}/phone-sends`: a file the phone sends to a chat.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneSend {
    /// The chat's JID (a user, by phone number or LID).
    pub chat: String,
    /// What kind of file it is.
    #[serde(rename = "type")]
    pub kind: MediaKind,
    /// The file's bytes, base64 (standard alphabet, padded).
    pub base64: String,
    /// Its MIME type.
    pub mime_type: String,
    /// Its name (documents only).
    #[serde(default)]
    pub file_name: Option<String>,
    /// The caption shown with it (not for audio).
    #[serde(default)]
    pub caption: Option<String>,
}

/// What `POST /admin/accounts/{phone}/phone-sends` answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneSent {
    /// The message id, which a retry request names.
    pub id: String,
    /// Where the CDN serves the file (until it expires).
    pub direct_path: String,
}

/// The phone of `phone` sends a file to `send.chat`: it encrypts and uploads it as a client
/// does, remembers it (see [`crate::state::Account::sent_media`]) and delivers the message,
/// Signal-encrypted, to each of the account's companions (queued for those offline).
pub async fn phone_sends(shared: &Shared, phone: &str, send: &PhoneSend) -> Result<PhoneSent, AdminError> {
    let bad = |e: String| AdminError::BadRequest(e);
    let data = STANDARD
        .decode(send.base64.trim())
        .map_err(|e| bad(format!("base64: {e}")))?;
    let chat: Jid = send.chat.parse().map_err(|e| bad(format!("chat: {e}")))?;
    if !chat.is_pn() && !chat.is_lid() {
        return Err(bad("the chat must be a user's JID".into()));
    }
    let chat = chat.to_non_ad();
    if send.file_name.is_some() && send.kind != MediaKind::Document {
        return Err(bad("only a document has a file name".into()));
    }
    if send.caption.is_some() && send.kind == MediaKind::Audio {
        return Err(bad("audio has no caption".into()));
    }
    let encrypted = wacore::upload::encrypt_media(&data, send.kind.media_type())
        .map_err(|e| AdminError::Internal(format!("media not encrypted: {e}")))?;
    let kind = send.kind.media_type().mms_type();
    let direct_path = format!("/v/{kind}/{}.enc", random_hex(16));
    let id = random_hex(16).to_uppercase();
    let now = now_secs();
    let ciphertext = Bytes::from(encrypted.data_to_upload);
    let file = File {
        url: format!("https://{}{direct_path}", shared.media_host()),
        direct_path: direct_path.clone(),
        media_key: encrypted.media_key.to_vec(),
        file_sha256: encrypted.file_sha256.to_vec(),
        file_enc_sha256: encrypted.file_enc_sha256.to_vec(),
        file_length: u64::try_from(data.len()).unwrap_or(u64::MAX),
        media_key_timestamp: i64::try_from(now).unwrap_or(i64::MAX),
        mimetype: send.mime_type.clone(),
    };
    let message = wa::Message {
        device_sent_message: buffa::MessageField::some(wa::message::DeviceSentMessage {
            destination_jid: Some(chat.to_string()),
            message: buffa::MessageField::some(content(send, file, encrypted.streaming_sidecar)),
            phash: None,
        }),
        ..Default::default()
    };
    let recipients = shared.with(|r| {
        let account = r
            .accounts
            .get_mut(phone)
            .ok_or_else(|| AdminError::NotFound(format!("no account {phone}")))?;
        account.sent_media.insert(
            id.clone(),
            SentMedia {
                chat: chat.clone(),
                media_key: encrypted.media_key,
                ciphertext: ciphertext.clone(),
                kind: send.kind,
            },
        );
        let devices = account.device_ids();
        r.media.insert(direct_path.clone(), ciphertext);
        Ok::<_, AdminError>(
            devices
                .into_iter()
                .filter_map(|device| r.recipient(phone, device))
                .collect::<Vec<_>>(),
        )
    })?;
    for recipient in recipients {
        let envelope = NodeBuilder::new("message")
            .attr("recipient", chat.to_string())
            .attr("id", id.clone())
            .attr("t", now.to_string())
            .attr("type", "media");
        match recipient.seal(&message, envelope).await {
            Ok(stanza) => shared.with(|r| r.deliver(phone, recipient.device, stanza, true)),
            Err(error) => tracing::warn!(%error, phone, device = recipient.device, "phone's file not sealed"),
        }
    }
    tracing::info!(phone, id, direct_path, "the phone sent a file");
    Ok(PhoneSent { id, direct_path })
}

/// The CDN fields every media message carries.
struct File {
    url: String,
    direct_path: String,
    media_key: Vec<u8>,
    file_sha256: Vec<u8>,
    file_enc_sha256: Vec<u8>,
    file_length: u64,
    media_key_timestamp: i64,
    mimetype: String,
}

/// One of the media messages, with [`File`]'s fields and the given extra ones.
macro_rules! media_message {
    ($kind:ident, $file:expr, { $($field:ident: $value:expr),* $(,)? }) => {
        wa::message::$kind {
            url: Some($file.url),
            direct_path: Some($file.direct_path),
            media_key: Some($file.media_key),
            file_sha256: Some($file.file_sha256),
            file_enc_sha256: Some($file.file_enc_sha256),
            file_length: Some($file.file_length),
            media_key_timestamp: Some($file.media_key_timestamp),
            mimetype: Some($file.mimetype),
            $($field: $value,)*
            ..Default::default()
        }
    };
}

/// The message the phone sends: the media message of `send`'s kind.
fn content(send: &PhoneSend, file: File, sidecar: Option<Vec<u8>>) -> wa::Message {
    let caption = send.caption.clone();
    let mut message = wa::Message::default();
    match send.kind {
        MediaKind::Image => {
            message.image_message = buffa::MessageField::some(media_message!(ImageMessage, file, { caption: caption }));
        }
        MediaKind::Video => {
            message.video_message = buffa::MessageField::some(media_message!(VideoMessage, file, {
                caption: caption,
                streaming_sidecar: sidecar,
            }));
        }
        MediaKind::Audio => {
            message.audio_message =
                buffa::MessageField::some(media_message!(AudioMessage, file, { streaming_sidecar: sidecar }));
        }
        MediaKind::Document => {
            message.document_message = buffa::MessageField::some(media_message!(DocumentMessage, file, {
                caption: caption,
                file_name: send.file_name.clone(),
            }));
        }
    }
    message
}

/// Whether a receipt asks the phone to re-upload a file: `type="server-error"` with the
/// encrypted request in `<encrypt>`.
pub fn is_request(receipt: &Node) -> bool {
    attr(receipt, "type").as_deref() == Some("server-error") && receipt.get_optional_child("encrypt").is_some()
}

/// Why the phone cannot re-upload, as the `<error code>` of its answer (the codes wacore's
/// `parse_media_retry_notification` reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The phone failed (code 1).
    General = 1,
    /// The phone did not send this file (code 2).
    NotFound = 2,
    /// The request is not encrypted with the file's media key (code 3).
    Decryption = 3,
}

/// The phone of `me`'s account receives `me`'s retry request (see [`is_request`]): if it sent
/// the file the request names and the request decrypts with its media key, it uploads the file
/// again under a new direct path; either way `me` gets the `<notification type="mediaretry">`.
pub fn answer(registry: &mut Registry, me: &Me, receipt: &Node) {
    let Some(id) = attr(receipt, "id") else {
        tracing::debug!(phone = me.phone, "media retry request without an id");
        return;
    };
    let sent = registry
        .accounts
        .get(&me.phone)
        .and_then(|account| account.sent_media.get(&id))
        .filter(|sent| names(registry, receipt, sent))
        .cloned();
    let outcome = match sent {
        None => Err(Refusal::NotFound),
        Some(sent) if !requested_with(&sent.media_key, &id, receipt) => Err(Refusal::Decryption),
        Some(sent) => reupload(registry, &id, &sent),
    };
    let reply = match outcome {
        Ok(encrypt) => encrypt,
        Err(refusal) => {
            tracing::debug!(phone = me.phone, id, ?refusal, "the phone refuses to re-upload");
            NodeBuilder::new("error")
                .attr("code", (refusal as u8).to_string())
                .build()
        }
    };
    let mut children = vec![reply];
    children.extend(receipt.get_optional_child("rmr").cloned());
    let notification = NodeBuilder::new("notification")
        .attr("from", format!("{}@s.whatsapp.net", me.phone))
        .attr("id", id)
        .attr("type", "mediaretry")
        .attr("t", now_secs().to_string())
        .children(children)
        .build();
    registry.deliver(&me.phone, me.device, notification, false);
}

/// Whether the request's `<rmr>` names `sent`: a message the account sent (`from_me`) in the
/// chat it went to (by phone number or LID).
fn names(registry: &Registry, receipt: &Node, sent: &SentMedia) -> bool {
    let Some(rmr) = receipt.get_optional_child("rmr") else {
        return false;
    };
    let from_me = attr(rmr, "from_me").as_deref() == Some("true");
    let same_chat = rmr.attrs().optional_jid("jid").is_some_and(|jid| {
        let jid = jid.to_non_ad();
        jid == sent.chat
            || registry
                .resolve(&jid)
                .zip(registry.resolve(&sent.chat))
                .is_some_and(|(a, b)| a.phone == b.phone)
    });
    from_me && same_chat
}

/// Whether the request's `<encrypt>` holds a `ServerErrorReceipt` for `id` sealed with the key
/// derived from `media_key` (AAD: the id), i.e. the requester holds the file's key.
fn requested_with(media_key: &[u8; 32], id: &str, receipt: &Node) -> bool {
    let Some(encrypt) = receipt.get_optional_child("encrypt") else {
        return false;
    };
    let (Some(ciphertext), Some(iv)) = (child_bytes(encrypt, "enc_p"), child_bytes(encrypt, "enc_iv")) else {
        return false;
    };
    let (Ok(iv), Ok(key)) = (<&[u8; 12]>::try_from(iv), retry_key(media_key)) else {
        return false;
    };
    let mut plaintext = Vec::new();
    if aes_256_gcm_decrypt(&key, iv, id.as_bytes(), ciphertext, &mut plaintext).is_err() {
        return false;
    }
    wa::ServerErrorReceipt::decode_from_slice(&plaintext).is_ok_and(|r| r.stanza_id.as_deref() == Some(id))
}

/// Uploads `sent` again under a new direct path and seals the success answer: the
/// `<encrypt>` of a `MediaRetryNotification` naming the new path.
fn reupload(registry: &mut Registry, id: &str, sent: &SentMedia) -> Result<Node, Refusal> {
    let direct_path = format!("/v/{}/{}.enc", sent.kind.media_type().mms_type(), random_hex(16));
    let notification = wa::MediaRetryNotification {
        stanza_id: Some(id.to_owned()),
        direct_path: Some(direct_path.clone()),
        result: Some(wa::media_retry_notification::ResultType::SUCCESS),
        message_secret: None,
    }
    .encode_to_vec();
    let key = retry_key(&sent.media_key).map_err(|error| {
        tracing::warn!(%error, id, "media retry key not derived");
        Refusal::General
    })?;
    let mut iv = [0u8; 12];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut iv);
    let mut ciphertext = Vec::new();
    aes_256_gcm_encrypt(&key, &iv, id.as_bytes(), &notification, &mut ciphertext).map_err(|error| {
        tracing::warn!(%error, id, "media retry answer not encrypted");
        Refusal::General
    })?;
    registry.media.insert(direct_path.clone(), sent.ciphertext.clone());
    tracing::info!(id, direct_path, "the phone re-uploaded a file");
    Ok(NodeBuilder::new("encrypt")
        .children([
            NodeBuilder::new("enc_p").bytes(ciphertext).build(),
            NodeBuilder::new("enc_iv").bytes(iv.to_vec()).build(),
        ])
        .build())
}

/// The AES-256-GCM key of a retry request and its answer: HKDF-SHA256 of the media key.
fn retry_key(media_key: &[u8]) -> Result<[u8; 32], wacore::crypto::CryptoError> {
    let mut key = [0u8; 32];
    wacore::crypto::hkdf_sha256_into(media_key, None, RETRY_KEY_INFO, &mut key)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(media_key: &[u8; 32], id: &str, chat: &Jid) -> Node {
        let (ciphertext, iv) = wacore::media_retry::encrypt_media_retry_receipt(media_key, id).expect("sealed");
        wacore::media_retry::build_media_retry_receipt(&Jid::pn("15550000001"), id, chat, true, None, &ciphertext, &iv)
    }

    #[test]
    fn a_request_opens_only_with_the_files_key_and_id() {
        let chat = Jid::pn("15550000002");
        let receipt = request(&[5u8; 32], "ABC", &chat);
        assert!(is_request(&receipt));
        assert!(requested_with(&[5u8; 32], "ABC", &receipt));
        assert!(!requested_with(&[6u8; 32], "ABC", &receipt));
        assert!(!requested_with(&[5u8; 32], "ABD", &receipt));
    }

    #[test]
    fn the_answer_opens_with_the_clients_own_parser() {
        let sent = SentMedia {
            chat: Jid::pn("15550000002"),
            media_key: [9u8; 32],
            ciphertext: Bytes::from_static(b"blob"),
            kind: MediaKind::Image,
        };
        let mut registry = Registry::default();
        let encrypt = reupload(&mut registry, "XYZ", &sent).expect("re-uploaded");
        let notification = NodeBuilder::new("notification")
            .attr("id", "XYZ")
            .attr("type", "mediaretry")
            .children([encrypt])
            .build();
        let parsed = wacore::media_retry::parse_media_retry_notification(&notification.as_node_ref(), &[9u8; 32])
            .expect("parsed");
        let wacore::media_retry::MediaRetryResult::Success { direct_path } = parsed else {
            panic!("not a success: {parsed:?}");
        };
        assert!(direct_path.starts_with("/v/image/"), "{direct_path}");
        assert_eq!(registry.media.get(&direct_path), Some(&Bytes::from_static(b"blob")));
    }
}
