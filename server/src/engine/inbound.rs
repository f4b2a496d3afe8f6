//! Messages and receipts from a session's client, stored with their events.

use whatsapp_rust::prelude::Event;
use whatsapp_rust::wacore::types::events::{InboundMessage, Receipt};
use whatsapp_rust::wacore::types::presence::ReceiptType;
use whatsapp_rust::waproto::whatsapp as wa;

use crate::events::{EventType, NewEvent};
use crate::messages::jid::{chat_key, jid_ref};
use crate::messages::{MessageStatus, event_payload};
use crate::store::Db;
use crate::store::messages::{self as store, MessageRecord};

/// Stores what `event` says about messages; other events are not this module's concern.
pub(super) async fn record(db: &Db, session: &str, event: &Event) -> anyhow::Result<()> {
    match event {
        Event::Messages(batch) => {
            for inbound in batch.messages.iter() {
                if let Some(message) = to_record(session, inbound) {
                    let kind = if message.from_me {
                        EventType::MessageSent
                    } else {
                        EventType::MessageReceived
                    };
                    let event = NewEvent::new(kind, event_payload(&message));
                    store::insert(db, &message, &[event]).await?;
                }
            }
            Ok(())
        }
        Event::Receipt(receipt) => receipt_recorded(db, session, receipt).await,
        _ => Ok(()),
    }
}

/// What a message holds: its type and text (or caption); `None` for protocol messages
/// (revokes, edits, key distribution), which are not chat content.
fn content(message: &wa::Message) -> Option<(&'static str, Option<String>)> {
    if let Some(text) = &message.conversation {
        return Some(("text", Some(text.clone())));
    }
    if let Some(extended) = message.extended_text_message.as_option() {
        return Some(("text", extended.text.clone()));
    }
    if let Some(image) = message.image_message.as_option() {
        return Some(("image", image.caption.clone()));
    }
    if let Some(video) = message.video_message.as_option() {
        return Some(("video", video.caption.clone()));
    }
    if message.audio_message.is_set() {
        return Some(("audio", None));
    }
    if let Some(document) = message.document_message.as_option() {
        return Some(("document", document.caption.clone()));
    }
    if message.sticker_message.is_set() {
        return Some(("sticker", None));
    }
    if message.location_message.is_set() {
        return Some(("location", None));
    }
    if message.contact_message.is_set() || message.contacts_array_message.is_set() {
        return Some(("contact", None));
    }
    if let Some(reaction) = message.reaction_message.as_option() {
        return Some(("reaction", reaction.text.clone()));
    }
    None
}

fn to_record(session: &str, inbound: &InboundMessage) -> Option<MessageRecord> {
    let info = &inbound.info;
    let (kind, text) = content(&inbound.message)?;
    let source = &info.source;
    let context = inbound
        .message
        .extended_text_message
        .as_option()
        .and_then(|m| m.context_info.as_option());
    Some(MessageRecord {
        seq: 0,
        session: session.to_owned(),
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
    })
}

async fn receipt_recorded(db: &Db, session: &str, receipt: &Receipt) -> anyhow::Result<()> {
    let (status, label) = match receipt.r#type {
        ReceiptType::Delivered => (MessageStatus::Delivered, "delivered"),
        ReceiptType::Read | ReceiptType::ReadSelf => (MessageStatus::Read, "read"),
        ReceiptType::Played | ReceiptType::PlayedSelf => (MessageStatus::Played, "played"),
        ReceiptType::ServerError => (MessageStatus::Error, "error"),
        _ => return Ok(()),
    };
    let ids: Vec<String> = receipt.message_ids.iter().map(ToString::to_string).collect();
    let source = &receipt.source;
    let payload = serde_json::json!({
        "from": jid_ref(&chat_key(&source.chat, source.recipient_alt.as_ref())),
        "sender": jid_ref(&chat_key(&source.sender, source.sender_alt.as_ref())),
        "messageIds": ids,
        "type": label,
        "timestamp": receipt.timestamp.timestamp(),
    });
    let event = NewEvent::new(EventType::MessageAck, payload);
    store::advance(db, session, &ids, status, None, &[event]).await?;
    Ok(())
}
