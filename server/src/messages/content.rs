//! What a send request asks to send: each message type takes its own fields (and refuses the
//! others'), and a file's bytes are decoded and checked here, before anything is stored or sent.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{MessageText, PlaceText, SendMessage};
use crate::engine::{Content, MediaFile};
use crate::error::ApiError;
use crate::media::prepare::{self, MediaError};
use crate::media::preview;
use crate::media::source::{self, Fetcher, SourceError};
use crate::model::attachment::{Location, MediaKind, SharedContact};
use crate::model::bounded::{ListRule, NOT_BLANK, PhoneNumber, TextRule, bounded_list, bounded_text, inline};
use crate::model::poll;

/// The kind of message to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// A text (`text`; `linkPreview`: show the preview of its first link).
    Text,
    /// A picture, JPEG or PNG (`url` or `base64`, `caption`).
    Image,
    /// An MP4 video (`url` or `base64`, `caption`).
    Video,
    /// A voice note, Ogg Opus (`url` or `base64`); the same as `audio` with `ptt` true.
    Voice,
    /// An audio file (`url` or `base64`, `ptt`: whether it is a voice note, default false).
    Audio,
    /// A document (`url` or `base64`, `filename`, `caption`); the same as `document`.
    File,
    /// A document (`url` or `base64`, `filename`, `caption`).
    Document,
    /// A WebP sticker, animated or not (`url` or `base64`).
    Sticker,
    /// A poll (`name`: the question, 2 to 12 `options`, `multipleAnswers`); votes arrive as
    /// `message.vote`.
    Poll,
    /// A place (`latitude`, `longitude`, `name`, `address`).
    Location,
    /// Contact cards (`contacts`): one card, or several in one message.
    Contact,
}

impl MessageType {
    /// The name the caller wrote.
    const fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Video => "video",
            Self::Voice => "voice",
            Self::Audio => "audio",
            Self::File => "file",
            Self::Document => "document",
            Self::Sticker => "sticker",
            Self::Poll => "poll",
            Self::Location => "location",
            Self::Contact => "contact",
        }
    }

    /// Whether a channel takes this type (channels carry no end-to-end encrypted files).
    pub const fn posts_to_channels(self) -> bool {
        matches!(self, Self::Text | Self::Poll | Self::Location | Self::Contact)
    }

    /// The body fields this type takes besides the common ones.
    const fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Text => &["text", "linkPreview"],
            Self::Image | Self::Video => &["url", "base64", "caption"],
            Self::Voice => &["url", "base64"],
            Self::Audio => &["url", "base64", "ptt"],
            Self::File | Self::Document => &["url", "base64", "filename", "caption"],
            Self::Sticker => &["url", "base64"],
            Self::Poll => &["name", "options", "multipleAnswers"],
            Self::Location => &["latitude", "longitude", "name", "address"],
            Self::Contact => &["contacts"],
        }
    }
}

bounded_text! {
    /// A file as base64 (standard or URL-safe, padded or not, or a `data:` URL): up to 70 MB of
    /// text, about 52 MB of file.
    Base64File = TextRule { min: 1, max: 70_000_000, pattern: None }; content_encoding = "base64";
}

bounded_text! {
    /// Where the server fetches a file from: a public `https://` URL (`http://` and private
    /// addresses only where the deployment allows them), up to 50 MB.
    FileUrl = TextRule { min: 1, max: 2048, pattern: Some(("^[Hh][Tt][Tt][Pp][Ss]?://", "an http:// or https:// URL")) };
}

bounded_text! {
    /// A document's file name, as the recipient sees it.
    FileName = TextRule { min: 1, max: 255, pattern: Some(NOT_BLANK) };
}

bounded_text! {
    /// A contact card's name.
    CardName = TextRule { min: 1, max: 255, pattern: Some(NOT_BLANK) };
}

bounded_text! {
    /// A vCard as given by the caller (sent as is).
    VCard = TextRule { min: 1, max: 10_000, pattern: Some(("^BEGIN:VCARD", "a vCard, starting with `BEGIN:VCARD`")) };
}

/// One contact card to share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactCard {
    /// The name shown on the card.
    #[schema(inline)]
    pub name: CardName,
    /// Their phone number in international form; the card links it to WhatsApp.
    #[schema(inline)]
    pub phone_number: PhoneNumber,
    /// The whole card (vCard 3.0), sent as is; when absent, one is built from `name` and
    /// `phoneNumber`.
    #[serde(default)]
    #[schema(inline)]
    pub vcard: Option<VCard>,
}

bounded_list! {
    /// The cards of a contact message (1 at least, when the type is `contact`).
    ContactCards(Vec<ContactCard>) = ListRule { min: 0, max: 100, unique: false }, items = inline::<ContactCard>();
}

/// Degrees within ±`limit`, documented with the same bounds.
macro_rules! degrees {
    ($(#[$meta:meta])* $name:ident = $limit:expr;) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(f64);

        impl $name {
            /// The largest magnitude allowed.
            const LIMIT: f64 = $limit;
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = f64::deserialize(deserializer)?;
                if value.is_finite() && value.abs() <= Self::LIMIT {
                    Ok(Self(value))
                } else {
                    Err(serde::de::Error::custom(format!(
                        "must be from -{limit} to {limit} degrees, got {value}",
                        limit = Self::LIMIT
                    )))
                }
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Number)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Double)))
                    .minimum(Some(-Self::LIMIT))
                    .maximum(Some(Self::LIMIT))
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

degrees! {
    /// Degrees north (negative: south).
    Latitude = 90.0;
}

degrees! {
    /// Degrees east (negative: west).
    Longitude = 180.0;
}

/// What `request` asks to send, once its type's fields are checked (and no other type's are
/// given) and a file's bytes are decoded and checked.
pub async fn content(request: &mut SendMessage, fetcher: &Fetcher) -> Result<Content, ApiError> {
    let kind = request.kind;
    refuse_foreign_fields(request)?;
    let bad = |why: String| Err(ApiError::BadRequest(why));
    match kind {
        MessageType::Text => {
            let Some(text) = &request.text else {
                return bad("type `text` needs `text`".into());
            };
            let preview = match request.link_preview {
                true => preview::preview(fetcher, text.as_str()).await,
                false => None,
            };
            Ok(Content::Text {
                text: text.as_str().to_owned(),
                preview,
            })
        }
        MessageType::Poll => {
            let Some(name) = &request.name else {
                return bad("type `poll` needs a `name` (the question)".into());
            };
            let options: Vec<String> = request
                .options
                .as_slice()
                .iter()
                .map(|o| o.as_str().to_owned())
                .collect();
            if options.len() < poll::MIN_OPTIONS {
                return bad(format!(
                    "a poll needs {} to {} options, got {}",
                    poll::MIN_OPTIONS,
                    poll::MAX_OPTIONS,
                    options.len()
                ));
            }
            Ok(Content::Poll {
                name: name.as_str().to_owned(),
                options,
                multiple: request.multiple_answers,
            })
        }
        MessageType::Location => {
            let (Some(latitude), Some(longitude)) = (request.latitude, request.longitude) else {
                return bad("type `location` needs `latitude` and `longitude`".into());
            };
            Ok(Content::Location(Location {
                latitude: latitude.0,
                longitude: longitude.0,
                name: request.name.as_ref().map(|n| n.as_str().to_owned()),
                address: request.address.as_ref().map(PlaceText::as_str).map(str::to_owned),
            }))
        }
        MessageType::Contact => {
            let cards = request.contacts.as_slice();
            if cards.is_empty() {
                return bad("type `contact` needs `contacts`: at least one card".into());
            }
            Ok(Content::Contacts(cards.iter().map(shared_contact).collect()))
        }
        MessageType::Image => media(request, fetcher, MediaKind::Image).await,
        MessageType::Video => media(request, fetcher, MediaKind::Video).await,
        MessageType::Voice | MessageType::Audio => media(request, fetcher, MediaKind::Audio).await,
        MessageType::File | MessageType::Document => media(request, fetcher, MediaKind::Document).await,
        MessageType::Sticker => media(request, fetcher, MediaKind::Sticker).await,
    }
}

/// Refuses a field that belongs to another message type, naming the fields this one takes.
fn refuse_foreign_fields(request: &SendMessage) -> Result<(), ApiError> {
    let given = [
        ("text", request.text.is_some()),
        ("linkPreview", request.link_preview),
        ("name", request.name.is_some()),
        ("options", !request.options.as_slice().is_empty()),
        ("multipleAnswers", request.multiple_answers),
        ("url", request.url.is_some()),
        ("base64", request.base64.is_some()),
        ("caption", request.caption.is_some()),
        ("filename", request.filename.is_some()),
        ("ptt", request.ptt.is_some()),
        ("latitude", request.latitude.is_some()),
        ("longitude", request.longitude.is_some()),
        ("address", request.address.is_some()),
        ("contacts", !request.contacts.as_slice().is_empty()),
    ];
    let takes = request.kind.fields();
    match given.iter().find(|(field, present)| *present && !takes.contains(field)) {
        Some((field, _)) => Err(ApiError::BadRequest(format!(
            "`{field}` is not a field of type `{kind}`, which takes `{takes}`",
            kind = request.kind.as_str(),
            takes = takes.join("`, `"),
        ))),
        None => Ok(()),
    }
}

/// A file message: its bytes fetched or decoded, and checked off the async workers (a large file
/// takes a moment), then the checked file.
async fn media(request: &mut SendMessage, fetcher: &Fetcher, kind: MediaKind) -> Result<Content, ApiError> {
    let requested = request.kind.as_str();
    if kind == MediaKind::Document && request.filename.is_none() {
        return Err(ApiError::BadRequest(format!("type `{requested}` needs a `filename`")));
    }
    let check = prepare::Request {
        requested: requested.to_owned(),
        kind,
        ptt: request.kind == MessageType::Voice || request.ptt == Some(true),
        file_name: request.filename.as_ref().map(|f| f.as_str().to_owned()),
    };
    // A URL is fetched here; base64 is decoded with the check, off the async workers.
    let fetched = match (request.base64.take(), request.url.take()) {
        (Some(encoded), None) => Err(encoded),
        (None, Some(url)) => Ok(fetcher.fetch(url.as_str()).await?),
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(format!(
                "type `{requested}` takes the file as `url` or as `base64`, not both"
            )));
        }
        (None, None) => {
            return Err(ApiError::BadRequest(format!(
                "type `{requested}` needs the file: `url` (fetched by the server) or `base64`"
            )));
        }
    };
    let prepared = tokio::task::spawn_blocking(move || {
        // The base64 text is let go as soon as it is decoded (the arm's binding ends with it).
        let file = match fetched {
            Ok(file) => file,
            Err(encoded) => source::decode_base64(encoded.as_str())?,
        };
        Ok::<_, FileError>(prepare::prepare(check, file)?)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("checking a file failed: {e}")))??;
    Ok(Content::Media {
        file: Box::new(MediaFile {
            info: prepared.info,
            file: prepared.file,
            thumbnail: prepared.thumbnail,
        }),
        caption: request.caption.as_ref().map(MessageText::as_str).map(str::to_owned),
    })
}

/// Why a file was refused: it could not be had, or it is not what its type takes.
#[derive(Debug, thiserror::Error)]
enum FileError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Media(#[from] MediaError),
}

impl From<FileError> for ApiError {
    fn from(error: FileError) -> Self {
        match error {
            FileError::Source(error) => error.into(),
            FileError::Media(MediaError::Unreadable(io)) => {
                Self::Internal(anyhow::anyhow!("reading back a file to send failed: {io}"))
            }
            FileError::Media(error) => Self::BadRequest(error.to_string()),
        }
    }
}

/// A card as sent: the caller's vCard, or a vCard 3.0 built from the name and number.
fn shared_contact(card: &ContactCard) -> SharedContact {
    let name = card.name.as_str().to_owned();
    let vcard = match &card.vcard {
        Some(vcard) => vcard.as_str().to_owned(),
        None => build_vcard(&name, card.phone_number.as_str()),
    };
    SharedContact { name, vcard }
}

/// A vCard 3.0 for `name` at `phone` (`waid` links the number to its WhatsApp account).
fn build_vcard(name: &str, phone: &str) -> String {
    let digits = phone.trim_start_matches('+');
    let escaped = name
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace(';', "\\;")
        .replace(['\r', '\n'], " ");
    format!("BEGIN:VCARD\nVERSION:3.0\nFN:{escaped}\nTEL;type=CELL;type=VOICE;waid={digits}:+{digits}\nEND:VCARD")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_vcard_escapes_the_name_and_links_the_number() {
        assert_eq!(
            build_vcard("Doe, Jane; \\x", "+5511999999999"),
            "BEGIN:VCARD\nVERSION:3.0\nFN:Doe\\, Jane\\; \\\\x\nTEL;type=CELL;type=VOICE;waid=5511999999999:+5511999999999\nEND:VCARD"
        );
    }
}
