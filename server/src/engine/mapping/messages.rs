//! Messages (stored in the history), edits, revokes, reactions, poll votes, messages that could
//! not be decrypted, and receipts.

use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::wacore::types::events::{InboundMessage, Receipt, UndecryptableMessage};
use whatsapp_rust::wacore::types::message::{MessageInfo, MessageSource};
use whatsapp_rust::wacore::types::presence::ReceiptType;
use whatsapp_rust::wacore_binary::jid::JidExt as _;
use whatsapp_rust::waproto::whatsapp as wa;

use whatsapp_rust::download::Downloadable;

use super::Effect;
use crate::events::{NewEvent, Payload};
use crate::model::attachment::{
    Attachment, AttachmentFields, Location, MediaInfo, MediaKeys, MediaKind, SharedContact, StoredMedia,
};
use crate::model::events::{
    AckPayload, AckType, DeletePayload, EditedPayload, MessageHeader, MessagePayload, ReactionPayload, ReadPayload,
    RevokedPayload, VotePayload,
};
use crate::model::jid::{JidRef, chat_key};
use crate::model::message::MessageStatus;
use crate::model::poll::{Poll, SealedVote};
use crate::store::messages::MessageRecord;

use wa::message::protocol_message::Type as ProtocolType;

/// A message from the session's client: chat content is stored (with `message.received`, or
/// `message.sent` for the account's other devices, plus `message.reaction` for reactions); edits,
/// revokes and poll votes change or announce what is already there; key distribution and other
/// protocol traffic is not the user's concern.
pub(super) fn inbound(inbound: &InboundMessage) -> Option<Effect> {
    let info = &inbound.info;
    let base = inbound.message.get_base_message();
    if let Some(protocol) = base.protocol_message.as_option() {
        return protocol_change(info, protocol);
    }
    if let Some(update) = base.poll_update_message.as_option() {
        return vote(info, update);
    }
    let (kind, text) = content(base)?;
    let mut record = record(info, base, kind, text);
    record.poll = poll(info, &inbound.message, base);
    record.attachment = attachment(base);
    let payload = MessagePayload {
        header: header(info),
        ..record.payload()
    };
    let mut events = vec![NewEvent::new(message_event(payload))];
    if let Some(reaction) = base.reaction_message.as_option() {
        events.push(NewEvent::new(Payload::MessageReaction(ReactionPayload {
            header: header(info),
            kind: "reaction".into(),
            reaction: reaction.text.clone().unwrap_or_default(),
            reaction_to: reaction.key.as_option().and_then(|k| k.id.clone()),
        })));
    }
    Some(Effect::Store(Box::new(record), events))
}

/// A vote on a poll: `message.vote`, with the options it picked once the poll's secret opens it.
fn vote(info: &MessageInfo, update: &wa::message::PollUpdateMessage) -> Option<Effect> {
    let poll_id = update.poll_creation_message_key.as_option()?.id.clone()?;
    let sealed = update.vote.as_option()?;
    let source = &info.source;
    let vote = SealedVote {
        payload: sealed.enc_payload.clone().unwrap_or_default(),
        iv: sealed.enc_iv.clone().unwrap_or_default(),
        voters: sender_forms(source),
    };
    let payload = VotePayload {
        header: header(info),
        kind: "poll".into(),
        poll_id: poll_id.clone(),
        title: None,
        poll_options: Vec::new(),
        undecrypted: false,
    };
    Some(Effect::Vote {
        poll_id,
        vote,
        payload: Box::new(payload),
    })
}

/// The poll a message creates, with the secret its votes are encrypted with (carried in the
/// message's context info, outside any wrapper, or inside it) and its creator's JIDs.
fn poll(info: &MessageInfo, message: &wa::Message, base: &wa::Message) -> Option<Poll> {
    let creation = poll_creation(base)?;
    let secret = [message, base]
        .into_iter()
        .find_map(|m| m.message_context_info.as_option()?.message_secret.clone())?;
    let source = &info.source;
    Some(Poll {
        options: creation.options.iter().filter_map(|o| o.option_name.clone()).collect(),
        secret,
        creators: sender_forms(source),
    })
}

/// The sender's JID in each form WhatsApp gave (phone number and LID), as poll votes are keyed.
fn sender_forms(source: &MessageSource) -> Vec<String> {
    std::iter::once(&source.sender)
        .chain(source.sender_alt.as_ref())
        .map(|jid| jid.to_non_ad_string())
        .collect()
}

fn poll_creation(message: &wa::Message) -> Option<&wa::message::PollCreationMessage> {
    [
        &message.poll_creation_message,
        &message.poll_creation_message_v2,
        &message.poll_creation_message_v3,
    ]
    .into_iter()
    .find_map(|p| p.as_option())
}

/// A revoke (`message.revoked` when someone else deleted their message for everyone,
/// `message.delete` when this account did, from another device) or an edit (`message.edited`).
fn protocol_change(info: &MessageInfo, protocol: &wa::message::ProtocolMessage) -> Option<Effect> {
    let target = protocol.key.as_option().and_then(|k| k.id.clone())?;
    match protocol.r#type {
        Some(ProtocolType::Revoke) => {
            let payload = if info.source.is_from_me {
                Payload::MessageDelete(DeletePayload {
                    header: MessageHeader {
                        id: target.clone(),
                        ..header(info)
                    },
                    kind: "revoke".into(),
                    for_everyone: true,
                    revoke_id: Some(info.id.to_string()),
                    message_from_me: None,
                    status: None,
                    quoted_message_id: None,
                })
            } else {
                Payload::MessageRevoked(RevokedPayload {
                    header: header(info),
                    kind: "revoke".into(),
                    revoked_id: target.clone(),
                })
            };
            Some(Effect::Revoke {
                id: target,
                event: NewEvent::new(payload),
            })
        }
        Some(ProtocolType::MessageEdit) => {
            let edited = protocol.edited_message.as_option()?;
            let text = edited
                .text_content()
                .or_else(|| edited.get_caption())
                .map(str::to_owned);
            let payload = EditedPayload {
                message: MessagePayload {
                    text: text.clone(),
                    ..bare(
                        MessageHeader {
                            id: target.clone(),
                            ..header(info)
                        },
                        "edited",
                    )
                },
                edited: true,
                edit_id: Some(info.id.to_string()),
            };
            Some(Effect::Edit {
                id: target,
                text,
                event: NewEvent::new(Payload::MessageEdited(payload)),
            })
        }
        _ => None,
    }
}

/// A message the client could not decrypt (or a view-once it cannot show): announced as
/// `message.received` with `unavailable: true`, not stored.
pub(super) fn undecryptable(message: &UndecryptableMessage) -> Effect {
    let payload = MessagePayload {
        unavailable: true,
        ..bare(header(&message.info), "unknown")
    };
    Effect::Event(NewEvent::new(message_event(payload)))
}

/// A receipt: the session's own messages move forward (`message.ack`); a read on the account's
/// other device means the chat was read (`chat.read`).
pub(super) fn receipt(receipt: &Receipt) -> Option<Effect> {
    let ids: Vec<String> = receipt.message_ids.iter().map(ToString::to_string).collect();
    let source = &receipt.source;
    let chat = chat_key(&source.chat, source.recipient_alt.as_ref());
    let (status, kind) = match receipt.r#type {
        ReceiptType::Delivered => (MessageStatus::Delivered, AckType::Delivered),
        ReceiptType::Read => (MessageStatus::Read, AckType::Read),
        ReceiptType::Played => (MessageStatus::Played, AckType::Played),
        ReceiptType::ServerError => (MessageStatus::Error, AckType::Error),
        ReceiptType::ReadSelf => {
            let payload = ReadPayload {
                chat: super::app_state::chat_header(&chat, receipt.timestamp.timestamp()),
                read: true,
                message_ids: Some(ids),
            };
            return Some(Effect::Event(NewEvent::new(Payload::ChatRead(payload))));
        }
        _ => return None,
    };
    let payload = AckPayload {
        from: JidRef::of(&chat),
        sender: JidRef::person(&source.sender, source.sender_alt.as_ref()),
        message_ids: ids.clone(),
        kind,
        timestamp: receipt.timestamp.timestamp(),
    };
    let event = NewEvent::new(Payload::MessageAck(payload));
    Some(Effect::Ack { ids, status, event })
}

/// The fields every message event starts with, with both JID forms of the sender when WhatsApp
/// gave both. `from` is the chat for groups and the account's own messages, the sender
/// otherwise; `sender` is set in groups and on status posts.
fn header(info: &MessageInfo) -> MessageHeader {
    let source = &info.source;
    let chat_id = chat_key(&source.chat, source.sender_alt.as_ref());
    let is_group = source.chat.is_group();
    let sender = JidRef::person(&source.sender, source.sender_alt.as_ref());
    let from = if is_group || source.is_from_me {
        JidRef::of(&chat_id)
    } else {
        sender.clone()
    };
    MessageHeader {
        id: info.id.to_string(),
        chat_id,
        from,
        sender: (is_group || source.chat.is_status_broadcast()).then_some(sender),
        timestamp: info.timestamp.timestamp(),
        from_me: source.is_from_me,
        is_group,
        push_name: Some(info.push_name.clone()).filter(|n| !n.is_empty()),
    }
}

/// A message payload with only its header and type.
fn bare(header: MessageHeader, kind: &str) -> MessagePayload {
    MessagePayload {
        header,
        kind: kind.to_owned(),
        status: None,
        text: None,
        body: None,
        quoted_message_id: None,
        poll_options: None,
        attachment: AttachmentFields::default(),
        unavailable: false,
    }
}

/// `message.sent` for the account's own messages, `message.received` for the others.
fn message_event(payload: MessagePayload) -> Payload {
    if payload.header.from_me {
        Payload::MessageSent(payload)
    } else {
        Payload::MessageReceived(payload)
    }
}

/// What a message holds: its type and text (or caption, poll name or emoji); `None` for what is
/// not chat content.
fn content(message: &wa::Message) -> Option<(&'static str, Option<String>)> {
    let caption = || message.get_caption().map(str::to_owned);
    if let Some(text) = message.text_content() {
        return Some(("text", Some(text.to_owned())));
    }
    if message.image_message.is_set() {
        return Some(("image", caption()));
    }
    if message.video_message.is_set() || message.ptv_message.is_set() {
        return Some(("video", caption()));
    }
    if message.audio_message.is_set() {
        return Some(("audio", None));
    }
    if message.document_message.is_set() {
        return Some(("document", caption()));
    }
    if message.sticker_message.is_set() {
        return Some(("sticker", None));
    }
    if message.location_message.is_set() || message.live_location_message.is_set() {
        return Some(("location", None));
    }
    if message.contact_message.is_set() || message.contacts_array_message.is_set() {
        return Some(("contact", None));
    }
    if let Some(poll) = poll_creation(message) {
        return Some(("poll", poll.name.clone()));
    }
    if let Some(reaction) = message.reaction_message.as_option() {
        return Some(("reaction", reaction.text.clone()));
    }
    None
}

/// The media file, place or contact cards a message carries, as the history keeps them.
fn attachment(message: &wa::Message) -> Option<Attachment> {
    if let Some(image) = message.image_message.as_option() {
        let mut media = media(MediaKind::Image, image, image.mimetype.as_deref())?;
        (media.info.width, media.info.height) = (image.width, image.height);
        return Some(Attachment::Media(media));
    }
    if let Some(video) = message.video_message.as_option().or(message.ptv_message.as_option()) {
        let mut media = media(MediaKind::Video, video, video.mimetype.as_deref())?;
        (media.info.width, media.info.height, media.info.seconds) = (video.width, video.height, video.seconds);
        return Some(Attachment::Media(media));
    }
    if let Some(audio) = message.audio_message.as_option() {
        let mut media = media(MediaKind::Audio, audio, audio.mimetype.as_deref())?;
        (media.info.seconds, media.info.ptt) = (audio.seconds, audio.ptt.unwrap_or(false));
        return Some(Attachment::Media(media));
    }
    if let Some(document) = message.document_message.as_option() {
        let mut media = media(MediaKind::Document, document, document.mimetype.as_deref())?;
        media.info.file_name = document.file_name.clone();
        return Some(Attachment::Media(media));
    }
    if let Some(sticker) = message.sticker_message.as_option() {
        let mut media = media(MediaKind::Sticker, sticker, sticker.mimetype.as_deref())?;
        (media.info.width, media.info.height) = (sticker.width, sticker.height);
        media.info.animated = sticker.is_animated.unwrap_or(false);
        return Some(Attachment::Media(media));
    }
    if let Some(place) = message.location_message.as_option() {
        return Some(Attachment::Location(Location {
            latitude: place.degrees_latitude.unwrap_or_default(),
            longitude: place.degrees_longitude.unwrap_or_default(),
            name: place.name.clone(),
            address: place.address.clone(),
        }));
    }
    let card = |c: &wa::message::ContactMessage| SharedContact {
        name: c.display_name.clone().unwrap_or_default(),
        vcard: c.vcard.clone().unwrap_or_default(),
    };
    if let Some(contact) = message.contact_message.as_option() {
        return Some(Attachment::Contacts {
            contacts: vec![card(contact)],
        });
    }
    message
        .contacts_array_message
        .as_option()
        .map(|array| Attachment::Contacts {
            contacts: array.contacts.iter().map(card).collect(),
        })
}

/// A received media file under a new id, when the message carries what downloads it.
fn media(kind: MediaKind, file: &dyn Downloadable, mime_type: Option<&str>) -> Option<StoredMedia> {
    Some(StoredMedia {
        info: MediaInfo::new(
            crate::ids::new("med"),
            kind,
            mime_type.unwrap_or("application/octet-stream").to_owned(),
            file.file_length().unwrap_or_default(),
        ),
        keys: MediaKeys {
            direct_path: file.direct_path()?.to_owned(),
            media_key: file.media_key()?.to_vec(),
            file_sha256: file.file_sha256()?.to_vec(),
            file_enc_sha256: file.file_enc_sha256()?.to_vec(),
        },
    })
}

fn record(info: &MessageInfo, base: &wa::Message, kind: &str, text: Option<String>) -> MessageRecord {
    let source = &info.source;
    let context = base
        .extended_text_message
        .as_option()
        .and_then(|m| m.context_info.as_option());
    MessageRecord {
        seq: 0,
        session: String::new(),
        chat_id: chat_key(&source.chat, source.sender_alt.as_ref()),
        id: info.id.to_string(),
        from_me: source.is_from_me,
        sender: Some(chat_key(&source.sender, source.sender_alt.as_ref())),
        push_name: Some(info.push_name.clone()).filter(|n| !n.is_empty()),
        kind: kind.to_owned(),
        text,
        quoted_id: context.and_then(|c| c.stanza_id.clone()),
        mentions: context.map(|c| c.mentioned_jid.clone()).unwrap_or_default(),
        status: if source.is_from_me {
            MessageStatus::Sent
        } else {
            MessageStatus::Delivered
        },
        error: None,
        sent_at: info.timestamp,
        poll: None,
        attachment: None,
        starred: false,
    }
}
