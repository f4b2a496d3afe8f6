//! Sending through a session: the message is stored as `pending` before it leaves, so an
//! accepted message is never lost, and moves to `sent` (with a `message.sent` event) or `error`.

use whatsapp_rust::Jid;
use whatsapp_rust::buffa::MessageField;
use whatsapp_rust::send::SendOptions;
use whatsapp_rust::waproto::whatsapp as wa;

use super::{Engine, EngineError};
use crate::events::{EventType, NewEvent};
use crate::messages::{MessageStatus, event_payload};
use crate::store::messages::{self as store, MessageRecord};

/// A validated text message to send.
#[derive(Debug, Clone)]
pub struct OutgoingText {
    /// The recipient chat.
    pub chat: Jid,
    /// The chat id as the caller wrote it (how the message is stored).
    pub chat_id: String,
    /// The text.
    pub text: String,
    /// The stored message this one replies to.
    pub quoted: Option<MessageRecord>,
    /// JIDs mentioned.
    pub mentions: Vec<String>,
    /// Whether to mark it forwarded.
    pub forwarded: bool,
}

impl OutgoingText {
    /// The WhatsApp message: a plain conversation, or an extended text when it quotes,
    /// mentions or is forwarded. `own` is the session's JID (the participant of quoted own messages).
    fn to_message(&self, own: Option<&Jid>) -> wa::Message {
        if self.quoted.is_none() && self.mentions.is_empty() && !self.forwarded {
            return wa::Message {
                conversation: Some(self.text.clone()),
                ..Default::default()
            };
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
        wa::Message {
            extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
                text: Some(self.text.clone()),
                context_info: MessageField::some(context),
                ..Default::default()
            }),
            ..Default::default()
        }
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
        self.connected_client(session).ok_or_else(|| {
            EngineError::Conflict(format!(
                "session `{session}` is not connected: start it and wait for status CONNECTED"
            ))
        })
    }

    /// Sends `text` from `session`, which must be connected.
    pub async fn send_text(&self, session: &str, text: OutgoingText) -> Result<MessageRecord, EngineError> {
        let client = self.require_connected(session)?;
        let own = client.pn();
        let message = text.to_message(own.as_ref());
        let mut record = MessageRecord {
            seq: 0,
            session: session.to_owned(),
            chat_id: text.chat_id.clone(),
            id: client.generate_message_id(),
            from_me: true,
            sender: own.as_ref().map(Jid::to_non_ad_string),
            push_name: None,
            kind: "text".into(),
            text: Some(text.text.clone()),
            quoted_id: text.quoted.as_ref().map(|q| q.id.clone()),
            mentions: text.mentions.clone(),
            status: MessageStatus::Pending,
            error: None,
            sent_at: chrono::Utc::now(),
        };
        let db = &self.shared.db;
        store::insert(db, &record, &[]).await?;
        let ids = [record.id.clone()];
        let options = SendOptions::default().with_message_id(record.id.clone());
        match client.send_message_with_options(text.chat, message, options).await {
            Ok(_) => {
                record.status = MessageStatus::Sent;
                let event = NewEvent::new(EventType::MessageSent, event_payload(&record));
                store::advance(db, session, &ids, MessageStatus::Sent, None, &[event]).await?;
                Ok(record)
            }
            Err(error) => {
                let reason = format!("WhatsApp did not accept the message: {error}");
                store::advance(db, session, &ids, MessageStatus::Error, Some(&reason), &[]).await?;
                Err(EngineError::Upstream(reason))
            }
        }
    }
}
