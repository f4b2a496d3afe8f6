//! Checking a media file before it is uploaded. Its bytes must be what WhatsApp renders for the
//! message type, sniffed from the bytes themselves (never from a name or a header), and what
//! WhatsApp shows beside the file is computed here: a JPEG thumbnail and the dimensions of a
//! picture, the dimensions of a sticker, the length of a video or an Ogg Opus voice note.

use std::io::Cursor;

use image::ImageReader;
use image::codecs::jpeg::JpegEncoder;

use super::probe;
use crate::model::attachment::{MediaInfo, MediaKind};
use crate::whatsapp::spool::Spool;

/// Longest side of a picture's thumbnail, in pixels (what WhatsApp's own clients send).
const THUMBNAIL_SIDE: u32 = 72;
/// JPEG quality of thumbnails.
const THUMBNAIL_QUALITY: u8 = 60;
/// MIME type WhatsApp expects for voice notes.
const VOICE_MIME: &str = "audio/ogg; codecs=opus";
/// How much of a document is read to tell its type (the deepest signature `infer` knows, an ISO
/// image's, starts past 32 KiB).
const SNIFF_BYTES: usize = 64 * 1024;

/// Why a file cannot be sent as the type asked for.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The file has no bytes.
    #[error("the file is empty")]
    Empty,
    /// The bytes are not of a format WhatsApp shows for this type.
    #[error("type `{requested}` needs {expected}; these bytes are {found}")]
    WrongType {
        /// The message type asked for.
        requested: String,
        /// What that type takes.
        expected: &'static str,
        /// What the bytes are.
        found: String,
    },
    /// The bytes claim a picture format but do not decode.
    #[error("the picture cannot be decoded: {0}")]
    Undecodable(String),
    /// The server could not read its own copy of the file back (not the caller's fault).
    #[error("the server could not read the file back: {0}")]
    Unreadable(#[from] std::io::Error),
}

/// A checked file, ready to upload.
#[derive(Debug)]
pub struct Prepared {
    /// What the history will show of it (its `media_id` is new).
    pub info: MediaInfo,
    /// The file.
    pub file: Spool,
    /// The JPEG preview WhatsApp shows before the file is downloaded (pictures).
    pub thumbnail: Option<Vec<u8>>,
}

/// What the caller asked to send: the type's name (`voice`, `file`, … as written), its kind,
/// and for documents a file name.
#[derive(Debug)]
pub struct Request {
    /// The message type as the caller wrote it, for error messages.
    pub requested: String,
    /// The kind of media.
    pub kind: MediaKind,
    /// Whether an audio file is a voice note.
    pub ptt: bool,
    /// A document's file name.
    pub file_name: Option<String>,
}

/// Checks `file` against `request` and computes what WhatsApp shows beside it. A document is
/// told from its head alone; the other types are read whole (a picture is decoded, a video's or
/// a voice note's length is read), then let go, so only the spool stays.
pub fn prepare(request: Request, file: Spool) -> Result<Prepared, MediaError> {
    if file.is_empty() {
        return Err(MediaError::Empty);
    }
    let bytes = match request.kind {
        MediaKind::Document => file.head(SNIFF_BYTES)?,
        _ => file.contents()?,
    };
    let (info, thumbnail) = describe(request, &bytes, file.len())?;
    drop(bytes);
    Ok(Prepared { info, file, thumbnail })
}

/// What the history and WhatsApp show of a file of `length` bytes, from `bytes` (all of it, or
/// a document's head), or why it cannot be sent as `request` asks.
fn describe(request: Request, bytes: &[u8], length: u64) -> Result<(MediaInfo, Option<Vec<u8>>), MediaError> {
    let sniffed = infer::get(bytes).map(|t| t.mime_type());
    let wrong = |expected: &'static str| MediaError::WrongType {
        requested: request.requested.clone(),
        expected,
        found: sniffed.map_or_else(|| "of no known format".to_owned(), |m| format!("`{m}`")),
    };
    let mut info = MediaInfo::new(crate::ids::new("med"), request.kind, String::new(), length);
    let mut thumbnail = None;
    match request.kind {
        MediaKind::Image => {
            let mime = sniffed.filter(|m| matches!(*m, "image/jpeg" | "image/png"));
            info.mime_type = mime.ok_or_else(|| wrong("a JPEG or PNG picture"))?.to_owned();
            let (width, height, jpeg) = picture(bytes)?;
            (info.width, info.height, thumbnail) = (Some(width), Some(height), Some(jpeg));
        }
        MediaKind::Sticker => {
            if sniffed != Some("image/webp") {
                return Err(wrong("a WebP picture"));
            }
            info.mime_type = "image/webp".to_owned();
            let (width, height) = dimensions(bytes)?;
            (info.width, info.height) = (Some(width), Some(height));
            info.animated = whatsapp_rust::wacore::webp::is_animated(bytes);
        }
        MediaKind::Video => {
            if sniffed != Some("video/mp4") {
                return Err(wrong("an MP4 video"));
            }
            info.mime_type = "video/mp4".to_owned();
            info.seconds = probe::mp4_seconds(bytes);
        }
        MediaKind::Audio if request.ptt => {
            if !probe::is_ogg_opus(bytes) {
                return Err(wrong("an Ogg Opus voice note"));
            }
            info.mime_type = VOICE_MIME.to_owned();
            info.seconds = probe::ogg_opus_seconds(bytes);
            info.ptt = true;
        }
        MediaKind::Audio => {
            if probe::is_ogg_opus(bytes) {
                info.mime_type = VOICE_MIME.to_owned();
                info.seconds = probe::ogg_opus_seconds(bytes);
            } else {
                let plain = [
                    "audio/mpeg",
                    "audio/m4a",
                    "audio/aac",
                    "audio/amr",
                    "audio/ogg",
                    "audio/x-wav",
                ];
                let mime = sniffed.filter(|m| plain.contains(m) || *m == "video/mp4");
                let mime = mime.ok_or_else(|| wrong("an audio file (Ogg Opus, MP3, M4A, AAC, AMR or WAV)"))?;
                // An M4A is an MP4 container; WhatsApp plays it as audio/mp4.
                info.mime_type = if matches!(mime, "audio/m4a" | "video/mp4") {
                    "audio/mp4"
                } else {
                    mime
                }
                .to_owned();
                info.seconds = probe::mp4_seconds(bytes);
            }
        }
        MediaKind::Document => {
            let named = request
                .file_name
                .as_deref()
                .and_then(|n| mime_guess::from_path(n).first_raw());
            info.mime_type = sniffed.or(named).unwrap_or("application/octet-stream").to_owned();
            info.file_name = request.file_name;
        }
    }
    Ok((info, thumbnail))
}

/// A picture's size and its JPEG thumbnail.
fn picture(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), MediaError> {
    let decoded = decode(bytes)?;
    Ok((decoded.width(), decoded.height(), small_jpeg(&decoded)?))
}

/// The small JPEG WhatsApp shows for a picture (JPEG, PNG or WebP) before it is opened, for a
/// picture from elsewhere (a link preview's): one whose header claims more than
/// [`FOREIGN_PICTURE_SIDE`] pixels a side is refused before it is decoded.
pub fn thumbnail(bytes: &[u8]) -> Result<Vec<u8>, MediaError> {
    small_jpeg(&decode_within(bytes, foreign_limits())?)
}

/// The decoder's limits for a picture from elsewhere.
fn foreign_limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(FOREIGN_PICTURE_SIDE);
    limits.max_image_height = Some(FOREIGN_PICTURE_SIDE);
    limits.max_alloc = Some(FOREIGN_PICTURE_BYTES);
    limits
}

/// A profile or group picture as WhatsApp takes it: a JPEG at most [`PROFILE_SIDE`] pixels a side,
/// from a JPEG, PNG or WebP (decoded within the limits of a picture from elsewhere).
pub fn profile_jpeg(bytes: &[u8]) -> Result<Vec<u8>, MediaError> {
    let picture = decode_within(bytes, foreign_limits())?
        .thumbnail(PROFILE_SIDE, PROFILE_SIDE)
        .into_rgb8();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, PROFILE_QUALITY)
        .encode_image(&picture)
        .map_err(|e| MediaError::Undecodable(e.to_string()))?;
    Ok(jpeg)
}

/// Largest side of a profile or group picture, in pixels.
const PROFILE_SIDE: u32 = 640;
/// JPEG quality of a profile or group picture.
const PROFILE_QUALITY: u8 = 85;

/// Largest side of a picture fetched from elsewhere, in pixels.
const FOREIGN_PICTURE_SIDE: u32 = 8192;
/// Most memory decoding such a picture may take.
const FOREIGN_PICTURE_BYTES: u64 = 256 * 1024 * 1024;

fn decode(bytes: &[u8]) -> Result<image::DynamicImage, MediaError> {
    decode_within(bytes, image::Limits::default())
}

fn decode_within(bytes: &[u8], limits: image::Limits) -> Result<image::DynamicImage, MediaError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| MediaError::Undecodable(e.to_string()))?;
    reader.limits(limits);
    reader.decode().map_err(|e| MediaError::Undecodable(e.to_string()))
}

fn small_jpeg(picture: &image::DynamicImage) -> Result<Vec<u8>, MediaError> {
    let small = picture.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE).into_rgb8();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, THUMBNAIL_QUALITY)
        .encode_image(&small)
        .map_err(|e| MediaError::Undecodable(e.to_string()))?;
    Ok(jpeg)
}

/// A picture's size, read from its header.
fn dimensions(bytes: &[u8]) -> Result<(u32, u32), MediaError> {
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| MediaError::Undecodable(e.to_string()))?
        .into_dimensions()
        .map_err(|e| MediaError::Undecodable(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::media::probe::tests::fixture;

    fn request(requested: &str, kind: MediaKind, ptt: bool) -> Request {
        Request {
            requested: requested.into(),
            kind,
            ptt,
            file_name: None,
        }
    }

    #[test]
    fn pictures_get_their_size_and_a_small_jpeg_thumbnail() {
        let prepared = prepare(
            request("image", MediaKind::Image, false),
            fixture!("chart.png").to_vec().into(),
        )
        .unwrap();
        assert_eq!(prepared.info.mime_type, "image/png");
        assert_eq!((prepared.info.width, prepared.info.height), (Some(320), Some(200)));
        let thumbnail = prepared.thumbnail.unwrap();
        assert_eq!(infer::get(&thumbnail).map(|t| t.mime_type()), Some("image/jpeg"));
        let reader = ImageReader::new(Cursor::new(&thumbnail)).with_guessed_format().unwrap();
        assert_eq!(reader.into_dimensions().unwrap(), (72, 45));
        let photo = prepare(
            request("image", MediaKind::Image, false),
            fixture!("photo.jpg").to_vec().into(),
        )
        .unwrap();
        assert_eq!(
            (photo.info.mime_type.as_str(), photo.info.width),
            ("image/jpeg", Some(640))
        );
    }

    #[test]
    fn bytes_of_another_format_are_refused_with_what_was_expected() {
        let png = fixture!("chart.png").to_vec();
        let error = prepare(request("sticker", MediaKind::Sticker, false), png.clone().into()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "type `sticker` needs a WebP picture; these bytes are `image/png`"
        );
        let error = prepare(
            request("voice", MediaKind::Audio, true),
            fixture!("song.mp3").to_vec().into(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "type `voice` needs an Ogg Opus voice note; these bytes are `audio/mpeg`"
        );
        let error = prepare(request("video", MediaKind::Video, false), png.into()).unwrap_err();
        assert!(error.to_string().contains("an MP4 video"), "{error}");
        let error = prepare(request("image", MediaKind::Image, false), b"hello".to_vec().into()).unwrap_err();
        assert!(error.to_string().ends_with("of no known format"), "{error}");
        assert!(matches!(
            prepare(request("video", MediaKind::Video, false), Vec::new().into()),
            Err(MediaError::Empty)
        ));
        let truncated = fixture!("photo.jpg")[..400].to_vec();
        assert!(matches!(
            prepare(request("image", MediaKind::Image, false), truncated.into()),
            Err(MediaError::Undecodable(_))
        ));
    }

    #[test]
    fn voice_notes_videos_stickers_audio_and_documents_get_what_whatsapp_shows() {
        let voice = prepare(
            request("voice", MediaKind::Audio, true),
            fixture!("voice.ogg").to_vec().into(),
        )
        .unwrap();
        assert_eq!(
            (voice.info.mime_type.as_str(), voice.info.seconds, voice.info.ptt),
            (VOICE_MIME, Some(3), true)
        );
        let song = prepare(
            request("audio", MediaKind::Audio, false),
            fixture!("song.mp3").to_vec().into(),
        )
        .unwrap();
        assert_eq!((song.info.mime_type.as_str(), song.info.ptt), ("audio/mpeg", false));
        let video = prepare(
            request("video", MediaKind::Video, false),
            fixture!("clip.mp4").to_vec().into(),
        )
        .unwrap();
        assert_eq!(
            (video.info.mime_type.as_str(), video.info.seconds),
            ("video/mp4", Some(9))
        );
        let sticker = prepare(
            request("sticker", MediaKind::Sticker, false),
            fixture!("sticker.webp").to_vec().into(),
        )
        .unwrap();
        assert_eq!((sticker.info.width, sticker.info.animated), (Some(512), false));
        let named = |name: &str| Request {
            file_name: Some(name.into()),
            ..request("file", MediaKind::Document, false)
        };
        let csv = prepare(named("report.csv"), b"a,b\n1,2\n".to_vec().into()).unwrap();
        assert_eq!(csv.info.mime_type, "text/csv");
        assert_eq!(csv.info.file_name.as_deref(), Some("report.csv"));
        let pdf = prepare(named("scan"), fixture!("report.pdf").to_vec().into()).unwrap();
        assert_eq!(pdf.info.mime_type, "application/pdf");
    }
}
