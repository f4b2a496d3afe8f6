//! Messages: sending through a session and reading a chat's history.

pub mod actions;
pub mod jid;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::commands::Command;
use crate::engine::{Content, Outgoing};
use crate::envelope::{Page, PageRequest};
use crate::error::ApiError;
use crate::model::message::MessageStatus;
use crate::model::poll;
use crate::state::{AppState, SharedState};
use crate::store::messages::{self as store, MessageRecord};

/// Longest text message accepted, in characters (WhatsApp's own limit).
const MAX_TEXT_CHARS: usize = 65_536;
/// Longest poll question or option, in characters.
const MAX_POLL_NAME_CHARS: usize = 255;
/// Most JIDs one message may mention.
const MAX_MENTIONS: usize = 256;

/// The kind of message to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// A text message (`text`).
    Text,
    /// A poll (`poll`): `name` and 2 to 12 `options`; votes arrive as `message.vote`.
    Poll,
}

/// A message to send. At `/api/messages/send` it names its `session`; at
/// `/api/sessions/{session}/messages/send` the path does.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"session": "my-session", "chatId": "5511999999999@s.whatsapp.net", "type": "text", "text": "Hello from Titan!"}))]
pub struct SendMessage {
    /// The session to send from (required at `/api/messages/send`; must match the path otherwise).
    #[serde(default)]
    pub session: Option<String>,
    /// The chat: `<phone digits>@s.whatsapp.net`, `<lid>@lid` or `<group id>@g.us`.
    pub chat_id: String,
    /// What kind of message this is.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// The text (type `text`): 1 to 65,536 characters.
    #[serde(default)]
    pub text: Option<String>,
    /// The question (type `poll`): 1 to 255 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// The answers (type `poll`): 2 to 12 distinct, non-empty names.
    #[serde(default)]
    pub options: Vec<String>,
    /// Whether voters may pick more than one answer (type `poll`; default one).
    #[serde(default)]
    pub multiple_answers: bool,
    /// Reply to this message (a WhatsApp message id from this session's history).
    #[serde(default)]
    pub quoted_message_id: Option<String>,
    /// JIDs to mention (at most 256), e.g. `5511999999999@s.whatsapp.net`.
    #[serde(default)]
    pub mentions: Vec<String>,
    /// Mark the message as forwarded.
    #[serde(default)]
    pub is_forwarded: bool,
}

/// Messages to mark as read (a read receipt for each, unless the account's read receipts are off).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"chatId": "5511999999999@s.whatsapp.net", "messageIds": ["3EB0C767D1826A1B2C3D"]}))]
pub struct MarkSeen {
    /// The chat the messages are in.
    pub chat_id: String,
    /// WhatsApp ids of received messages (1 to 256).
    pub message_ids: Vec<String>,
    /// In groups, the JID of the participant who sent them.
    #[serde(default)]
    pub participant: Option<String>,
}

/// What a seen request did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Seen {
    /// The chat.
    pub chat_id: String,
    /// The messages marked read.
    pub message_ids: Vec<String>,
}

crate::envelopes!(Seen => SeenData);

/// A message sent or received by a session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "3EB0C767D1826A1B2C3D", "session": "my-session", "chatId": "5511999999999@s.whatsapp.net",
    "fromMe": true, "status": "sent", "type": "text", "text": "Hello from Titan!", "sentAt": "2025-05-01T12:05:00Z"}))]
pub struct Message {
    /// WhatsApp's message id.
    pub id: String,
    /// The session that sent or received it.
    pub session: String,
    /// The chat it belongs to.
    pub chat_id: String,
    /// Whether the session's account sent it.
    pub from_me: bool,
    /// The sender's JID (in groups, the participant); absent for the session's own messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The sender's display name, when WhatsApp provided it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_name: Option<String>,
    /// Delivery progress (for the session's own messages; received ones are `delivered`).
    pub status: MessageStatus,
    /// `text`, `image`, `video`, `audio`, `document`, `sticker`, `location`, `contact`, `poll`,
    /// `reaction` or `unknown`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text or caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The message this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_message_id: Option<String>,
    /// JIDs mentioned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// A poll's answers (type `poll`; `text` is its question).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Why sending failed (status `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
}

crate::envelopes!(Message => MessageData, MessagePage);

impl From<MessageRecord> for Message {
    fn from(record: MessageRecord) -> Self {
        Self {
            id: record.id,
            session: record.session,
            chat_id: record.chat_id,
            from_me: record.from_me,
            from: if record.from_me { None } else { record.sender },
            push_name: record.push_name,
            status: record.status,
            kind: record.kind,
            text: record.text,
            quoted_message_id: record.quoted_id,
            mentions: record.mentions,
            options: record.poll.map(|p| p.options).unwrap_or_default(),
            error: record.error,
            sent_at: record.sent_at,
        }
    }
}

/// Checks `request` and returns the command that sends it from `session` and answers with the
/// stored message (status `sent` once WhatsApp's server has it).
pub async fn send(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: SendMessage,
) -> Result<Command<Message>, ApiError> {
    let chat = jid::parse_chat(&request.chat_id)?;
    let content = content(&request)?;
    if request.mentions.len() > MAX_MENTIONS {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_MENTIONS} mentions per message"
        )));
    }
    for mention in &request.mentions {
        jid::parse_chat(mention)?;
    }
    crate::sessions::find(state, caller, session).await?;
    let quoted = match &request.quoted_message_id {
        Some(id) => Some(store::get(&state.db, session, id).await?.ok_or_else(|| {
            ApiError::BadRequest(format!(
                "quotedMessageId `{id}` is not in this session's message history"
            ))
        })?),
        None => None,
    };
    let outgoing = Outgoing {
        chat,
        chat_id: request.chat_id,
        content,
        quoted,
        mentions: request.mentions,
        forwarded: request.is_forwarded,
    };
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.send(&session, outgoing).await?.into())
    }))
}

/// What `request` asks to send, once its type's fields are checked (and no other type's are given).
fn content(request: &SendMessage) -> Result<Content, ApiError> {
    let bad = |why: String| Err(ApiError::BadRequest(why));
    match request.kind {
        MessageType::Text => {
            if request.name.is_some() || !request.options.is_empty() || request.multiple_answers {
                return bad("`name`, `options` and `multipleAnswers` are for type `poll`".into());
            }
            let Some(text) = request.text.clone().filter(|t| !t.trim().is_empty()) else {
                return bad("type `text` needs a non-empty `text`".into());
            };
            if text.chars().count() > MAX_TEXT_CHARS {
                return bad(format!("text is longer than {MAX_TEXT_CHARS} characters"));
            }
            Ok(Content::Text(text))
        }
        MessageType::Poll => {
            if request.text.is_some() {
                return bad("a poll has a `name` (its question) and `options`, not `text`".into());
            }
            let Some(name) = request.name.clone().filter(|n| !n.trim().is_empty()) else {
                return bad("type `poll` needs a non-empty `name` (the question)".into());
            };
            if name.chars().count() > MAX_POLL_NAME_CHARS {
                return bad(format!("a poll's name is longer than {MAX_POLL_NAME_CHARS} characters"));
            }
            let options = &request.options;
            if !(poll::MIN_OPTIONS..=poll::MAX_OPTIONS).contains(&options.len()) {
                return bad(format!(
                    "a poll needs {} to {} options, got {}",
                    poll::MIN_OPTIONS,
                    poll::MAX_OPTIONS,
                    options.len()
                ));
            }
            for (index, option) in options.iter().enumerate() {
                if option.trim().is_empty() || option.chars().count() > MAX_POLL_NAME_CHARS {
                    return bad(format!(
                        "options[{index}] must be 1 to {MAX_POLL_NAME_CHARS} characters"
                    ));
                }
                if options[..index].contains(option) {
                    return bad(format!(
                        "options[{index}] `{option}` repeats an earlier option; votes could not tell them apart"
                    ));
                }
            }
            Ok(Content::Poll {
                name,
                options: options.clone(),
                multiple: request.multiple_answers,
            })
        }
    }
}

/// Checks `request` and returns the command that marks received messages as read, sending read
/// receipts to their senders.
pub async fn seen(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: MarkSeen,
) -> Result<Command<Seen>, ApiError> {
    let chat = jid::parse_chat(&request.chat_id)?;
    if request.message_ids.is_empty() || request.message_ids.len() > MAX_MENTIONS {
        return Err(ApiError::BadRequest(format!(
            "messageIds must list 1 to {MAX_MENTIONS} message ids"
        )));
    }
    let participant = request.participant.as_deref().map(jid::parse_chat).transpose()?;
    crate::sessions::find(state, caller, session).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        state
            .engine
            .mark_read(&session, &chat, participant.as_ref(), &request.message_ids)
            .await?;
        Ok(Seen {
            chat_id: request.chat_id,
            message_ids: request.message_ids,
        })
    }))
}

/// One page of a chat's messages, newest first.
pub async fn history(
    state: &AppState,
    caller: &Caller,
    session: &str,
    chat_id: &str,
    page: PageRequest,
) -> Result<Page<Message>, ApiError> {
    jid::parse_chat(chat_id)?;
    crate::sessions::find(state, caller, session).await?;
    let before = page
        .after
        .as_deref()
        .map(|c| c.parse::<i64>())
        .transpose()
        .map_err(|_| ApiError::BadRequest("invalid cursor: pass the `cursor` of a previous page unchanged".into()))?;
    let records = store::history(&state.db, session, chat_id, before, page.limit + 1).await?;
    Ok(Page::from_overfetch(records, page.limit, |m| m.seq.to_string()).map(Message::from))
}
