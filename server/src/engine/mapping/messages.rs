//! Messages (stored in the history), edits, revokes, reactions, poll votes, messages that could
//! not be decrypted, and receipts.

use serde_json::{Value, json};
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::wacore::types::events::{InboundMessage, Receipt, UndecryptableMessage};
use whatsapp_rust::wacore::types::message::{MessageInfo, MessageSource};
use whatsapp_rust::wacore::types::presence::ReceiptType;
use whatsapp_rust::wacore_binary::jid::JidExt as _;
use whatsapp_rust::waproto::whatsapp as wa;

use super::{Effect, merge, with};
use crate::events::{EventType, NewEvent};
use crate::messages::jid::{chat_key, jid_ref, person};
use crate::messages::poll::{Poll, SealedVote};
use crate::messages::{MessageStatus, event_payload};
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
    let general = if record.from_me {
        EventType::MessageSent
    } else {
        EventType::MessageReceived
    };
    let mut events = vec![NewEvent::new(general, event_payload(&record))];
    if let Some(reaction) = base.reaction_message.as_option() {
        let payload = json!({
            "type": "reaction",
            "reaction": reaction.text.clone().unwrap_or_default(),
            "reactionTo": reaction.key.as_option().and_then(|k| k.id.clone()),
        });
        events.push(NewEvent::new(EventType::MessageReaction, merge(header(info), payload)));
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
    let payload = json!({"type": "poll", "pollId": poll_id});
    let event = NewEvent::new(EventType::MessageVote, merge(header(info), payload));
    Some(Effect::Vote { poll_id, vote, event })
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
            let event = if info.source.is_from_me {
                let payload =
                    json!({"id": target, "type": "revoke", "forEveryone": true, "revokeId": info.id.to_string()});
                NewEvent::new(EventType::MessageDelete, merge(header(info), payload))
            } else {
                let payload = json!({"type": "revoke", "revokedId": target});
                NewEvent::new(EventType::MessageRevoked, merge(header(info), payload))
            };
            Some(Effect::Revoke { id: target, event })
        }
        Some(ProtocolType::MessageEdit) => {
            let edited = protocol.edited_message.as_option()?;
            let text = edited
                .text_content()
                .or_else(|| edited.get_caption())
                .map(str::to_owned);
            let payload =
                json!({"id": target, "type": "edited", "text": text, "edited": true, "editId": info.id.to_string()});
            let event = NewEvent::new(EventType::MessageEdited, merge(header(info), payload));
            Some(Effect::Edit {
                id: target,
                text,
                event,
            })
        }
        _ => None,
    }
}

/// A message the client could not decrypt (or a view-once it cannot show): announced as
/// `message.received` with `unavailable: true`, not stored.
pub(super) fn undecryptable(message: &UndecryptableMessage) -> Effect {
    let payload = with(header(&message.info), "type", "unknown");
    let kind = if message.info.source.is_from_me {
        EventType::MessageSent
    } else {
        EventType::MessageReceived
    };
    Effect::Event(NewEvent::new(kind, with(payload, "unavailable", true)))
}

/// A receipt: the session's own messages move forward (`message.ack`); a read on the account's
/// other device means the chat was read (`chat.read`).
pub(super) fn receipt(receipt: &Receipt) -> Option<Effect> {
    let ids: Vec<String> = receipt.message_ids.iter().map(ToString::to_string).collect();
    let source = &receipt.source;
    let chat = chat_key(&source.chat, source.recipient_alt.as_ref());
    let (status, label) = match receipt.r#type {
        ReceiptType::Delivered => (MessageStatus::Delivered, "delivered"),
        ReceiptType::Read => (MessageStatus::Read, "read"),
        ReceiptType::Played => (MessageStatus::Played, "played"),
        ReceiptType::ServerError => (MessageStatus::Error, "error"),
        ReceiptType::ReadSelf => {
            let payload = json!({
                "id": chat,
                "from": jid_ref(&chat),
                "read": true,
                "messageIds": ids,
                "timestamp": receipt.timestamp.timestamp(),
                "fromMe": true,
            });
            return Some(Effect::Event(NewEvent::new(EventType::ChatRead, payload)));
        }
        _ => return None,
    };
    let payload = json!({
        "from": jid_ref(&chat),
        "sender": person(&source.sender, source.sender_alt.as_ref()),
        "messageIds": ids,
        "type": label,
        "timestamp": receipt.timestamp.timestamp(),
    });
    let event = NewEvent::new(EventType::MessageAck, payload);
    Some(Effect::Ack { ids, status, event })
}

/// The fields every message event starts with: `{id, chatId, from, timestamp, fromMe, isGroup}`,
/// and `sender` in groups. `from` is the chat for groups and the account's own messages, the
/// sender otherwise.
fn header(info: &MessageInfo) -> Value {
    let source = &info.source;
    let chat_id = chat_key(&source.chat, source.sender_alt.as_ref());
    let is_group = source.chat.is_group();
    let sender = person(&source.sender, source.sender_alt.as_ref());
    let from = if is_group || source.is_from_me {
        jid_ref(&chat_id)
    } else {
        sender.clone()
    };
    let mut payload = json!({
        "id": info.id.to_string(),
        "chatId": chat_id,
        "from": from,
        "timestamp": info.timestamp.timestamp(),
        "fromMe": source.is_from_me,
        "isGroup": is_group,
    });
    if is_group {
        payload = with(payload, "sender", sender);
    }
    if !info.push_name.is_empty() {
        payload = with(payload, "pushName", info.push_name.clone());
    }
    payload
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
    }
}
