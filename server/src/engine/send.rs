//! Sending through a session (texts and polls): the message is stored as `pending` before it leaves, so an
//! accepted message is never lost, and moves to `sent` (with a `message.sent` event) or `error`.

use whatsapp_rust::Jid;
use whatsapp_rust::buffa::MessageField;
use whatsapp_rust::send::SendOptions;
use whatsapp_rust::waproto::whatsapp as wa;

use super::{Engine, EngineError};
use crate::events::{NewEvent, Payload};
use crate::model::message::MessageStatus;
use crate::model::poll::Poll;
use crate::store::messages::{self as store, MessageRecord};

/// What a message to send holds.
#[derive(Debug, Clone)]
pub enum Content {
    /// A text.
    Text(String),
    /// A poll: its question, its answers, and whether voters may pick several.
    Poll {
        /// The question.
        name: String,
        /// The answers, distinct.
        options: Vec<String>,
        /// Whether more than one answer may be picked.
        multiple: bool,
    },
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

    /// The WhatsApp message, with what the history keeps of it: its type, its text, and for a
    /// poll the options and the fresh message secret its votes will be encrypted with.
    fn to_message(
        &self,
        own: Option<&Jid>,
        own_lid: Option<&Jid>,
    ) -> (wa::Message, &'static str, String, Option<Poll>) {
        let context = self.context(own);
        match &self.content {
            Content::Text(text) => {
                let message = match context {
                    None => wa::Message {
                        conversation: Some(text.clone()),
                        ..Default::default()
                    },
                    Some(context) => wa::Message {
                        extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
                            text: Some(text.clone()),
                            context_info: MessageField::some(context),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                };
                (message, "text", text.clone(), None)
            }
            Content::Poll {
                name,
                options,
                multiple,
            } => {
                let secret = rand::random::<[u8; 32]>().to_vec();
                let count = if *multiple { options.len() } else { 1 };
                let creation = wa::message::PollCreationMessage {
                    name: Some(name.clone()),
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
                let mut message = if *multiple {
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
                    options: options.clone(),
                    secret,
                    creators: [own, own_lid]
                        .into_iter()
                        .flatten()
                        .map(Jid::to_non_ad_string)
                        .collect(),
                };
                (message, "poll", name.clone(), Some(poll))
            }
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

    /// Sends `outgoing` from `session`, which must be connected.
    pub async fn send(&self, session: &str, outgoing: Outgoing) -> Result<MessageRecord, EngineError> {
        let client = self.require_connected(session)?;
        let own = client.pn();
        let (message, kind, text, poll) = outgoing.to_message(own.as_ref(), client.lid().as_ref());
        let mut record = MessageRecord {
            seq: 0,
            session: session.to_owned(),
            chat_id: outgoing.chat_id.clone(),
            id: client.generate_message_id(),
            from_me: true,
            sender: own.as_ref().map(Jid::to_non_ad_string),
            push_name: None,
            kind: kind.into(),
            text: Some(text),
            quoted_id: outgoing.quoted.as_ref().map(|q| q.id.clone()),
            mentions: outgoing.mentions.clone(),
            status: MessageStatus::Pending,
            error: None,
            sent_at: chrono::Utc::now(),
            poll,
        };
        let db = &self.shared.db;
        store::insert(db, &record, &[]).await?;
        let ids = [record.id.clone()];
        let options = SendOptions::default().with_message_id(record.id.clone());
        match client.send_message_with_options(outgoing.chat, message, options).await {
            Ok(_) => {
                record.status = MessageStatus::Sent;
                let event = NewEvent::new(Payload::MessageSent(record.payload()));
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
