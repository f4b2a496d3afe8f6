//! Media: the files of a session's messages, sent or received. A file to send is decoded and
//! checked here ([`source`], [`prepare`], [`probe`]); a file in the history is described by
//! `GET …/media/{mediaId}`, copied to the media store by `…/persist`, and downloaded from that
//! copy or again from WhatsApp's CDN, decrypted with the keys its message carried.

pub mod prepare;
pub mod preview;
pub mod probe;
pub mod source;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::model::attachment::{Attachment, MediaKind, StoredMedia};
use crate::model::bounded::{TextRule, bounded_text};
use crate::state::AppState;
use crate::store::messages::{self as store, MessageRecord};

bounded_text! {
    /// A media file's id, as message events and the history give it.
    MediaId = TextRule { min: 5, max: 64, pattern: Some(("^med_[0-9A-Z]+$", "`med_` and an id, as messages give it")) };
}

/// A media file of the session's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "med_01JZ8X6V3QW8T9N6F4C2B1A0Z9", "messageId": "3EB0C767D1826A1B2C3D", "session": "my-session",
    "chatId": "5511999999999@s.whatsapp.net", "fromMe": false, "type": "image", "mimeType": "image/jpeg",
    "fileLength": 48213, "width": 1280, "height": 960, "sentAt": "2025-05-01T12:05:00Z", "persisted": true,
    "s3Url": "s3://my-bucket/titan/my-session/med_01JZ8X6V3QW8T9N6F4C2B1A0Z9.jpg"}))]
pub struct Media {
    /// The file's id.
    pub id: String,
    /// The WhatsApp id of the message that carries it.
    pub message_id: String,
    /// The session.
    pub session: String,
    /// The chat the message is in.
    pub chat_id: String,
    /// Whether the session's account sent it.
    pub from_me: bool,
    /// What kind of file it is.
    #[serde(rename = "type")]
    pub kind: MediaKind,
    /// Its MIME type.
    pub mime_type: String,
    /// Its size in bytes.
    pub file_length: u64,
    /// A document's file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Pixel width, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Pixel height, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Length in seconds of a video or audio file, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u32>,
    /// Whether an audio file is a voice note.
    pub ptt: bool,
    /// Whether a sticker is animated.
    pub animated: bool,
    /// When its message was sent.
    pub sent_at: DateTime<Utc>,
    /// Whether a copy is in the media store (`POST …/media/{mediaId}/persist`, or the session's
    /// `persistMedia` setting); a persisted file downloads from there, even once WhatsApp's CDN
    /// no longer has it.
    pub persisted: bool,
    /// The copy's URL in the media store: `s3://bucket/…`, or `file:///…` for a directory store;
    /// `null` until it is persisted.
    pub s3_url: Option<String>,
}

crate::envelopes!(Media => MediaData);

/// A downloaded file and how to serve it.
#[derive(Debug)]
pub struct Download {
    /// The decrypted bytes.
    pub bytes: bytes::Bytes,
    /// Its MIME type.
    pub mime_type: String,
    /// The name to save it under.
    pub file_name: String,
}

/// The media file `media_id` of `session`, with the message that carries it.
async fn find(
    state: &AppState,
    caller: &Caller,
    session: &str,
    media_id: &str,
) -> Result<(MessageRecord, StoredMedia), ApiError> {
    let id =
        MediaId::parse(media_id).map_err(|why| ApiError::BadRequest(format!("invalid mediaId `{media_id}`: {why}")))?;
    crate::sessions::find(state, caller, session).await?;
    let missing = || ApiError::NotFound(format!("session `{session}` has no media file `{media_id}`"));
    let mut record = store::by_media(&state.db, session, id.as_str())
        .await?
        .ok_or_else(missing)?;
    match record.attachment.take() {
        Some(Attachment::Media(media)) => Ok((record, media)),
        _ => Err(missing()),
    }
}

/// What is known of media file `media_id`.
pub async fn get(state: &AppState, caller: &Caller, session: &str, media_id: &str) -> Result<Media, ApiError> {
    let (record, media) = find(state, caller, session, media_id).await?;
    let object = store::media_object(&state.db, session, &media.info.media_id).await?;
    Ok(describe(record, media, object))
}

/// Copies media file `media_id` into the media store (through the session, which must be
/// connected, unless it is there already) and describes it.
pub async fn persist(state: &AppState, caller: &Caller, session: &str, media_id: &str) -> Result<Media, ApiError> {
    let (record, media) = find(state, caller, session, media_id).await?;
    let url = state.engine.persist(session, &record, &media).await?;
    Ok(describe(record, media, Some(url)))
}

/// The media API's view of `media`, carried by `record` and persisted to `object` if it was.
fn describe(record: MessageRecord, media: StoredMedia, object: Option<String>) -> Media {
    let info = media.info;
    Media {
        id: info.media_id,
        message_id: record.id,
        session: record.session,
        chat_id: record.chat_id,
        from_me: record.from_me,
        kind: info.kind,
        mime_type: info.mime_type,
        file_length: info.file_length,
        file_name: info.file_name,
        width: info.width,
        height: info.height,
        seconds: info.seconds,
        ptt: info.ptt,
        animated: info.animated,
        sent_at: record.sent_at,
        persisted: object.is_some(),
        s3_url: object,
    }
}

/// Media file `media_id`, downloaded from WhatsApp's CDN through the session (which must be
/// connected) and decrypted.
pub async fn download(state: &AppState, caller: &Caller, session: &str, media_id: &str) -> Result<Download, ApiError> {
    let (record, media) = find(state, caller, session, media_id).await?;
    let bytes = state.engine.download(session, &record, &media).await?;
    let file_name = media.info.saved_name(&record.id);
    Ok(Download {
        bytes,
        mime_type: media.info.mime_type,
        file_name,
    })
}
