//! What a message carries beside its text: a media file (with the keys WhatsApp's CDN needs to
//! give it back), a location, or shared contacts. One type serves the history, the events and
//! the media API, so what is stored is what is shown.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use whatsapp_rust::download::{DownloadParams, MediaType};

use super::wire::{base64_bytes, wire_enum};

wire_enum! {
    /// The kind of a media file, which decides how WhatsApp encrypts and shows it.
    MediaKind as "lowercase" {
        /// A picture (JPEG or PNG).
        Image => "image",
        /// A video (MP4).
        Video => "video",
        /// Audio: a voice note (push-to-talk) or a plain audio file.
        Audio => "audio",
        /// Any file, shown with its name.
        Document => "document",
        /// A WebP sticker.
        Sticker => "sticker",
    }
}

impl MediaKind {
    /// The media type whose keys encrypt this kind on WhatsApp's CDN.
    pub const fn media_type(self) -> MediaType {
        match self {
            Self::Image => MediaType::Image,
            Self::Video => MediaType::Video,
            Self::Audio => MediaType::Audio,
            Self::Document => MediaType::Document,
            Self::Sticker => MediaType::Sticker,
        }
    }
}

/// What is stored of a message's attachment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Attachment {
    /// A media file.
    Media(StoredMedia),
    /// A place.
    Location(Location),
    /// One or more shared contacts.
    Contacts {
        /// The contacts, in the order they were shared.
        contacts: Vec<SharedContact>,
    },
}

/// A media file as stored: what is shown and what downloads it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredMedia {
    /// What the history, events and media API show.
    pub info: MediaInfo,
    /// What WhatsApp's CDN needs; never shown.
    pub keys: MediaKeys,
}

/// The shown description of a media file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaInfo {
    /// Titan's id of the file, for `GET …/media/{mediaId}` and its download.
    pub media_id: String,
    /// Its kind.
    pub kind: MediaKind,
    /// Its MIME type.
    pub mime_type: String,
    /// Its size in bytes (decrypted).
    pub file_length: u64,
    /// A document's file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Pixel width of an image, sticker or video, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Pixel height of an image, sticker or video, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Length in seconds of a video or audio file, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u32>,
    /// Whether an audio file is a voice note (push-to-talk).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ptt: bool,
    /// Whether a sticker is animated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub animated: bool,
}

impl MediaInfo {
    /// A file known only by its id, kind, type and size (the rest is filled in when known).
    pub const fn new(media_id: String, kind: MediaKind, mime_type: String, file_length: u64) -> Self {
        Self {
            media_id,
            kind,
            mime_type,
            file_length,
            file_name: None,
            width: None,
            height: None,
            seconds: None,
            ptt: false,
            animated: false,
        }
    }

    /// The usual file extension of its MIME type (`bin` when there is none).
    pub fn extension(&self) -> &'static str {
        match self.mime_type.split(';').next().unwrap_or(&self.mime_type).trim() {
            "image/jpeg" => "jpg",
            "audio/ogg" => "ogg",
            "audio/mpeg" => "mp3",
            "audio/mp4" => "m4a",
            other => mime_guess::get_mime_extensions_str(other)
                .and_then(|all| all.first())
                .copied()
                .unwrap_or("bin"),
        }
    }

    /// The name to save the file under: a document's own name, else `{stem}.{extension}`.
    pub fn saved_name(&self, stem: &str) -> String {
        self.file_name
            .clone()
            .unwrap_or_else(|| format!("{stem}.{}", self.extension()))
    }
}

/// Where a media file sits on WhatsApp's CDN and how it is encrypted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaKeys {
    /// The CDN path.
    pub direct_path: String,
    /// The key the file is encrypted with.
    #[serde(with = "base64_bytes")]
    pub media_key: Vec<u8>,
    /// SHA-256 of the decrypted file.
    #[serde(with = "base64_bytes")]
    pub file_sha256: Vec<u8>,
    /// SHA-256 of the encrypted file.
    #[serde(with = "base64_bytes")]
    pub file_enc_sha256: Vec<u8>,
}

impl std::fmt::Debug for MediaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaKeys")
            .field("direct_path", &self.direct_path)
            .finish_non_exhaustive()
    }
}

impl StoredMedia {
    /// What the client needs to download and decrypt the file again.
    pub fn download_params(&self) -> DownloadParams {
        DownloadParams::encrypted(
            self.keys.direct_path.clone(),
            &self.keys.media_key,
            &self.keys.file_sha256,
            &self.keys.file_enc_sha256,
            self.info.file_length,
            self.info.kind.media_type(),
        )
    }
}

/// A place, as a location message carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// Degrees north (negative: south), -90 to 90.
    pub latitude: f64,
    /// Degrees east (negative: west), -180 to 180.
    pub longitude: f64,
    /// The place's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A shared contact card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SharedContact {
    /// The name shown on the card.
    pub name: String,
    /// The card itself (vCard 3.0).
    pub vcard: String,
}

/// The attachment fields of a message in the history and in message events; each is absent
/// when the message has no such thing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentFields {
    /// The caption of an image, video or document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// The media file's id, for `GET /api/sessions/{session}/media/{mediaId}` and its download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// The media file's MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// The media file's size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_length: Option<u64>,
    /// A document's file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Length in seconds of a video or audio file, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u32>,
    /// Whether an audio message is a voice note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ptt: Option<bool>,
    /// A location message's place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// A contact message's cards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<SharedContact>>,
}

impl AttachmentFields {
    /// The fields of `attachment`, with `caption` for media that shows one.
    pub fn of(attachment: Option<&Attachment>, caption: Option<&str>) -> Self {
        match attachment {
            None => Self::default(),
            Some(Attachment::Media(media)) => {
                let info = &media.info;
                let captioned = matches!(info.kind, MediaKind::Image | MediaKind::Video | MediaKind::Document);
                Self {
                    caption: caption.filter(|_| captioned).map(str::to_owned),
                    media_id: Some(info.media_id.clone()),
                    mime_type: Some(info.mime_type.clone()),
                    file_length: Some(info.file_length),
                    file_name: info.file_name.clone(),
                    seconds: info.seconds,
                    ptt: (info.kind == MediaKind::Audio).then_some(info.ptt),
                    ..Self::default()
                }
            }
            Some(Attachment::Location(location)) => Self {
                location: Some(location.clone()),
                ..Self::default()
            },
            Some(Attachment::Contacts { contacts }) => Self {
                contacts: Some(contacts.clone()),
                ..Self::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn media(kind: MediaKind) -> Attachment {
        Attachment::Media(StoredMedia {
            info: MediaInfo {
                media_id: "med_1".into(),
                kind,
                mime_type: "image/jpeg".into(),
                file_length: 10,
                file_name: None,
                width: Some(4),
                height: Some(3),
                seconds: None,
                ptt: false,
                animated: false,
            },
            keys: MediaKeys {
                direct_path: "/v/t62/abc".into(),
                media_key: vec![1; 32],
                file_sha256: vec![2; 32],
                file_enc_sha256: vec![3; 32],
            },
        })
    }

    #[test]
    fn stored_attachments_read_back_and_keys_stay_out_of_debug_output() {
        let attachment = media(MediaKind::Image);
        let json = serde_json::to_string(&attachment).unwrap();
        assert_eq!(serde_json::from_str::<Attachment>(&json).unwrap(), attachment);
        let Attachment::Media(stored) = &attachment else {
            unreachable!()
        };
        assert!(!format!("{:?}", stored.keys).contains("[1, 1"));
    }

    #[test]
    fn fields_show_a_caption_only_where_whatsapp_does() {
        let image = AttachmentFields::of(Some(&media(MediaKind::Image)), Some("hi"));
        assert_eq!(image.caption.as_deref(), Some("hi"));
        assert_eq!(image.media_id.as_deref(), Some("med_1"));
        assert_eq!(image.ptt, None);
        let sticker = AttachmentFields::of(Some(&media(MediaKind::Sticker)), Some("hi"));
        assert_eq!(sticker.caption, None);
        assert_eq!(AttachmentFields::of(None, Some("hi")), AttachmentFields::default());
    }

    #[test]
    fn files_are_named_with_the_usual_extension() {
        let named = |mime: &str| MediaInfo::new("med_1".into(), MediaKind::Document, mime.into(), 1).saved_name("m");
        assert_eq!(named("audio/ogg; codecs=opus"), "m.ogg");
        assert_eq!(named("image/jpeg"), "m.jpg");
        assert_eq!(named("image/png"), "m.png");
        assert_eq!(named("application/x-unknown-thing"), "m.bin");
        let mut document = MediaInfo::new("med_1".into(), MediaKind::Document, "application/pdf".into(), 1);
        document.file_name = Some("report.pdf".into());
        assert_eq!(document.saved_name("m"), "report.pdf");
    }
}
