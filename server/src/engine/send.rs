//! Sending through a session (texts, polls, media files, places and contact cards): a media file is
//! uploaded to WhatsApp's CDN first; then the message is stored as `pending` before it leaves, so
//! an accepted message is never lost, and moves to `sent` (with a `message.sent` event) or `error`.

use whatsapp_rust::Jid;
use whatsapp_rust::buffa::{Message as _, MessageField};
use whatsapp_rust::media::{self, AudioOptions, DocumentOptions, ImageOptions, VideoOptions};
use whatsapp_rust::send::SendOptions;
use whatsapp_rust::upload::UploadResponse;
use whatsapp_rust::wacore::download::MediaType;
use whatsapp_rust::wacore::upload::encrypt_media_streaming;
use whatsapp_rust::wacore_binary::jid::JidExt as _;
use whatsapp_rust::waproto::whatsapp as wa;

use super::status::StatusPost;
use super::{Engine, EngineError};
use crate::events::{NewEvent, Payload};
use crate::model::attachment::{Attachment, Location, MediaInfo, MediaKeys, MediaKind, SharedContact, StoredMedia};
use crate::model::message::MessageStatus;
use crate::model::poll::Poll;
use crate::store::messages::{self as store, MessageRecord};
use crate::store::send_queue;
use crate::whatsapp::spool::{Spool, SpoolWriter};

/// What a message to send holds.
#[derive(Debug, Clone)]
pub enum Content {
    /// A text, with the preview of its first link when one was asked for and could be made.
    Text {
        /// The text.
        text: String,
        /// The preview WhatsApp shows above it.
        preview: Option<LinkPreview>,
    },
    /// A poll: its question, its answers, and whether voters may pick several.
    Poll {
        /// The question.
        name: String,
        /// The answers, distinct.
        options: Vec<String>,
        /// Whether more than one answer may be picked.
        multiple: bool,
    },
    /// A media file, with a caption where WhatsApp shows one.
    Media {
        /// The checked file.
        file: Box<MediaFile>,
        /// Its caption.
        caption: Option<String>,
    },
    /// A place.
    Location(Location),
    /// Contact cards (one message, however many).
    Contacts(Vec<SharedContact>),
}

/// What WhatsApp shows above a text for its first link.
#[derive(Debug, Clone)]
pub struct LinkPreview {
    /// The link, as the text has it.
    pub matched_text: String,
    /// The page's title.
    pub title: String,
    /// The page's description.
    pub description: Option<String>,
    /// A small JPEG of the page's picture.
    pub thumbnail: Option<Vec<u8>>,
}

/// A media file checked for its type, with what WhatsApp shows beside it.
#[derive(Debug, Clone)]
pub struct MediaFile {
    /// What the history will show of it.
    pub info: MediaInfo,
    /// The file itself, in memory or (when large) in a temporary file.
    pub file: Spool,
    /// The JPEG preview shown before the file is downloaded.
    pub thumbnail: Option<Vec<u8>>,
}

/// What one outgoing message becomes: the WhatsApp message and what the history keeps of it.
struct Built {
    message: wa::Message,
    kind: &'static str,
    text: Option<String>,
    poll: Option<Poll>,
    attachment: Option<Attachment>,
}

/// A validated message to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The recipient chat.
    pub chat: Jid,
    /// The chat id as the caller wrote it (how the message is stored).
    pub chat_id: String,
    /// What it holds.
    pub content: Content,
    /// The stored message this one replies to.
    pub quoted: Option<MessageRecord>,
    /// JIDs mentioned.
    pub mentions: Vec<String>,
    /// Whether to mark it forwarded.
    pub forwarded: bool,
    /// For a post to `status@broadcast`: its audience and look.
    pub status: Option<StatusPost>,
    /// Queue it for the session's pacer instead of sending it now (the session paces its sends).
    pub paced: bool,
}

impl Outgoing {
    /// The context (reply, mentions, forwarding) to attach, if any. `own` is the session's JID
    /// (the participant of quoted own messages).
    fn context(&self, own: Option<&Jid>) -> Option<wa::ContextInfo> {
        if self.quoted.is_none() && self.mentions.is_empty() && !self.forwarded {
            return None;
        }
        let mut context = wa::ContextInfo {
            mentioned_jid: self.mentions.clone(),
            ..Default::default()
        };
        if let Some(quoted) = &self.quoted {
            context.stanza_id = Some(quoted.id.clone());
            context.participant = if quoted.from_me {
                own.map(Jid::to_non_ad_string)
            } else {
                quoted.sender.clone()
            };
            context.quoted_message = MessageField::some(wa::Message {
                conversation: quoted.text.clone(),
                ..Default::default()
            });
        }
        if self.forwarded {
            context.is_forwarded = Some(true);
            context.forwarding_score = Some(1);
        }
        Some(context)
    }

    /// The WhatsApp message, with what the history keeps of it: its type, its text, for a poll
    /// the options and the fresh message secret its votes will be encrypted with, and for a
    /// media file (uploaded here, through `client`) its keys.
    async fn build(&mut self, client: &whatsapp_rust::Client) -> Result<Built, EngineError> {
        let own = client.pn();
        let own_lid = client.lid();
        let context = self.context(own.as_ref());
        let plain = |message, kind, text: Option<&String>, attachment| Built {
            message,
            kind,
            text: text.cloned(),
            poll: None,
            attachment,
        };
        Ok(match &mut self.content {
            Content::Text { text, preview } => {
                let message = match (context, preview) {
                    (None, None) => wa::Message {
                        conversation: Some(text.clone()),
                        ..Default::default()
                    },
                    (context, preview) => wa::Message {
                        extended_text_message: MessageField::some(extended_text(text, context, preview.as_ref())),
                        ..Default::default()
                    },
                };
                plain(message, "text", Some(text), None)
            }
            Content::Poll {
                name,
                options,
                multiple,
            } => {
                let (message, poll) = poll_message(name, options, *multiple, context, [own.as_ref(), own_lid.as_ref()]);
                Built {
                    poll: Some(poll),
                    ..plain(message, "poll", Some(name), None)
                }
            }
            Content::Media { file, caption } => {
                let upload = upload(client, &file.file, file.info.kind.media_type()).await?;
                let stored = StoredMedia {
                    info: file.info.clone(),
                    keys: MediaKeys {
                        direct_path: upload.direct_path.clone(),
                        media_key: upload.media_key.to_vec(),
                        file_sha256: upload.file_sha256.to_vec(),
                        file_enc_sha256: upload.file_enc_sha256.to_vec(),
                    },
                };
                let message = media_message(file, caption.clone(), context, upload);
                plain(
                    message,
                    file.info.kind.as_str(),
                    caption.as_ref(),
                    Some(Attachment::Media(stored)),
                )
            }
            Content::Location(place) => {
                let message = wa::Message {
                    location_message: MessageField::some(wa::message::LocationMessage {
                        degrees_latitude: Some(place.latitude),
                        degrees_longitude: Some(place.longitude),
                        name: place.name.clone(),
                        address: place.address.clone(),
                        context_info: context.map(MessageField::some).unwrap_or_default(),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                plain(message, "location", None, Some(Attachment::Location(place.clone())))
            }
            Content::Contacts(cards) => {
                let card = |c: &SharedContact| wa::message::ContactMessage {
                    display_name: Some(c.name.clone()),
                    vcard: Some(c.vcard.clone()),
                    ..Default::default()
                };
                let context = context.map(MessageField::some).unwrap_or_default();
                let message = match cards.as_slice() {
                    [one] => wa::Message {
                        contact_message: MessageField::some(wa::message::ContactMessage {
                            context_info: context,
                            ..card(one)
                        }),
                        ..Default::default()
                    },
                    many => wa::Message {
                        contacts_array_message: MessageField::some(wa::message::ContactsArrayMessage {
                            display_name: Some(format!("{} contacts", many.len())),
                            contacts: many.iter().map(card).collect(),
                            context_info: context,
                        }),
                        ..Default::default()
                    },
                };
                let attachment = Attachment::Contacts {
                    contacts: cards.clone(),
                };
                plain(message, "contact", None, Some(attachment))
            }
        })
    }
}

/// A text with its reply, mention or forward context and its link preview.
fn extended_text(
    text: &str,
    context: Option<wa::ContextInfo>,
    preview: Option<&LinkPreview>,
) -> wa::message::ExtendedTextMessage {
    use wa::message::extended_text_message::PreviewType;
    let mut message = wa::message::ExtendedTextMessage {
        text: Some(text.to_owned()),
        context_info: context.map(MessageField::some).unwrap_or_default(),
        ..Default::default()
    };
    if let Some(preview) = preview {
        message.matched_text = Some(preview.matched_text.clone());
        message.title = Some(preview.title.clone());
        message.description.clone_from(&preview.description);
        message.jpeg_thumbnail.clone_from(&preview.thumbnail);
        message.preview_type = Some(match preview.thumbnail {
            Some(_) => PreviewType::IMAGE,
            None => PreviewType::NONE,
        });
    }
    message
}

/// A poll's message and what is kept of it (its options, its fresh secret, its creator's JIDs).
fn poll_message(
    name: &str,
    options: &[String],
    multiple: bool,
    context: Option<wa::ContextInfo>,
    creators: [Option<&Jid>; 2],
) -> (wa::Message, Poll) {
    let secret = rand::random::<[u8; 32]>().to_vec();
    let count = if multiple { options.len() } else { 1 };
    let creation = wa::message::PollCreationMessage {
        name: Some(name.to_owned()),
        options: options
            .iter()
            .map(|option| wa::message::poll_creation_message::Option {
                option_name: Some(option.clone()),
                ..Default::default()
            })
            .collect(),
        selectable_options_count: Some(u32::try_from(count).unwrap_or(1)),
        context_info: context.map(MessageField::some).unwrap_or_default(),
        ..Default::default()
    };
    // WhatsApp's own clients send single-answer polls as v3 and multiple-answer ones as v1.
    let mut message = if multiple {
        wa::Message {
            poll_creation_message: MessageField::some(creation),
            ..Default::default()
        }
    } else {
        wa::Message {
            poll_creation_message_v3: MessageField::some(creation),
            ..Default::default()
        }
    };
    message.message_context_info = MessageField::some(wa::MessageContextInfo {
        message_secret: Some(secret.clone()),
        ..Default::default()
    });
    let poll = Poll {
        options: options.to_vec(),
        secret,
        creators: creators.into_iter().flatten().map(Jid::to_non_ad_string).collect(),
    };
    (message, poll)
}

/// Encrypts `file` into a spool of its own (off the async workers) and uploads that, streamed
/// from memory or from disk, so a large file is never held whole in memory on its way out.
async fn upload(client: &whatsapp_rust::Client, file: &Spool, kind: MediaType) -> Result<UploadResponse, EngineError> {
    let plain = file.clone();
    let encrypted = tokio::task::spawn_blocking(move || {
        let mut encrypted = SpoolWriter::new();
        let info = encrypt_media_streaming(plain.reader_from(0)?, &mut encrypted, kind)?;
        anyhow::Ok((encrypted.finish(), info))
    })
    .await
    .map_err(|e| anyhow::anyhow!("encrypting a file to send failed: {e}"))?;
    let (encrypted, info) = encrypted.map_err(|e| anyhow::anyhow!("encrypting a file to send failed: {e}"))?;
    tracing::debug!(
        bytes = encrypted.len(),
        on_disk = encrypted.on_disk(),
        "uploading a file"
    );
    client
        .upload_stream(encrypted, info, kind)
        .await
        .map_err(|e| EngineError::Upstream(format!("WhatsApp did not accept the upload: {e}")))
}

/// The message of an uploaded media file, with what WhatsApp shows beside it.
fn media_message(
    file: &MediaFile,
    caption: Option<String>,
    context: Option<wa::ContextInfo>,
    upload: UploadResponse,
) -> wa::Message {
    let info = &file.info;
    let context_info = context.map(Box::new);
    let mimetype = Some(info.mime_type.clone());
    let thumbnail = file.thumbnail.clone();
    match info.kind {
        MediaKind::Image => {
            let mut message = media::image_message(
                upload,
                ImageOptions {
                    caption,
                    mimetype,
                    jpeg_thumbnail: thumbnail,
                    context_info,
                },
            );
            if let Some(image) = message.image_message.as_option_mut() {
                (image.width, image.height) = (info.width, info.height);
            }
            message
        }
        MediaKind::Video => media::video_message(
            upload,
            VideoOptions {
                caption,
                mimetype,
                jpeg_thumbnail: thumbnail,
                duration_seconds: info.seconds,
                gif_playback: None,
                context_info,
            },
        ),
        MediaKind::Audio => media::audio_message(
            upload,
            AudioOptions {
                mimetype,
                duration_seconds: info.seconds,
                ptt: Some(info.ptt),
                waveform: None,
                context_info,
            },
        ),
        MediaKind::Document => media::document_message(
            upload,
            DocumentOptions {
                mimetype,
                file_name: info.file_name.clone(),
                title: info.file_name.clone(),
                caption,
                page_count: None,
                jpeg_thumbnail: thumbnail,
                context_info,
            },
        ),
        MediaKind::Sticker => wa::Message {
            sticker_message: MessageField::some(wa::message::StickerMessage {
                url: Some(upload.url),
                direct_path: Some(upload.direct_path),
                media_key: Some(upload.media_key.to_vec()),
                file_sha256: Some(upload.file_sha256.to_vec()),
                file_enc_sha256: Some(upload.file_enc_sha256.to_vec()),
                file_length: Some(upload.file_length),
                media_key_timestamp: Some(upload.media_key_timestamp),
                mimetype,
                width: info.width,
                height: info.height,
                is_animated: Some(info.animated),
                context_info: context_info.map(|c| MessageField::some(*c)).unwrap_or_default(),
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

impl Engine {
    /// Sends read receipts for received messages `ids` in `chat` (from `sender` in groups).
    pub async fn mark_read(
        &self,
        session: &str,
        chat: &Jid,
        sender: Option<&Jid>,
        ids: &[String],
    ) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        client
            .mark_as_read(chat, sender, &ids)
            .await
            .map_err(|e| EngineError::refused("read receipts", e))
    }

    pub(super) fn require_connected(
        &self,
        session: &str,
    ) -> Result<std::sync::Arc<whatsapp_rust::Client>, EngineError> {
        self.connected_client(session)
            .ok_or_else(|| EngineError::not_connected(session))
    }

    /// Sends `outgoing` from `session`, which must be connected: a media file is uploaded first
    /// (a failed upload stores nothing). A paced message is stored `queued` with what will be
    /// sent, for the session's pacer, and returned at once.
    pub async fn send(&self, session: &str, mut outgoing: Outgoing) -> Result<MessageRecord, EngineError> {
        let client = self.require_connected(session)?;
        let audience = match &outgoing.status {
            Some(post) => self.status_audience(session, post).await?,
            None => Vec::new(),
        };
        if outgoing.chat.is_newsletter() {
            self.require_channel_poster(session, &outgoing.chat).await?;
        }
        let mut built = outgoing.build(&client).await?;
        let own = client.pn();
        let mut record = MessageRecord {
            seq: 0,
            session: session.to_owned(),
            chat_id: outgoing.chat_id.clone(),
            id: client.generate_message_id(),
            from_me: true,
            sender: own.as_ref().map(Jid::to_non_ad_string),
            push_name: None,
            kind: built.kind.into(),
            text: built.text,
            quoted_id: outgoing.quoted.as_ref().map(|q| q.id.clone()),
            mentions: outgoing.mentions.clone(),
            status: MessageStatus::Pending,
            error: None,
            sent_at: chrono::Utc::now(),
            poll: built.poll,
            attachment: built.attachment,
            starred: false,
        };
        let db = &self.shared.db;
        if outgoing.paced {
            record.status = MessageStatus::Queued;
            let chat = outgoing.chat.to_string();
            send_queue::enqueue(db, &record, &chat, &built.message.encode_to_vec()).await?;
            if let Some(slot) = self.existing(session) {
                slot.queued.notify_one();
            }
            return Ok(record);
        }
        if outgoing.status.is_some() {
            self.remember_audience(session, &record.id, &audience).await?;
        }
        store::insert(db, &record, &[]).await?;
        let ids = [record.id.clone()];
        let sent = match &outgoing.status {
            Some(post) => {
                let message = post.styled(std::mem::take(&mut built.message));
                self.post_status(&client, &record.id, message, &audience).await
            }
            None => {
                let options = SendOptions::default().with_message_id(record.id.clone());
                client
                    .send_message_with_options(outgoing.chat, built.message, options)
                    .await
                    .map(drop)
                    .map_err(|error| format!("WhatsApp did not accept the message: {error}"))
            }
        };
        match sent {
            Ok(()) => {
                record.status = MessageStatus::Sent;
                let event = NewEvent::new(Payload::MessageSent(record.payload()));
                store::advance(db, session, &ids, MessageStatus::Sent, None, &[event]).await?;
                Ok(record)
            }
            Err(reason) => {
                store::advance(db, session, &ids, MessageStatus::Error, Some(&reason), &[]).await?;
                Err(EngineError::Upstream(reason))
            }
        }
    }
}
