//! Message actions (react, edit, delete, typing) and presence: request bodies, their checks, and
//! the calls into the engine.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::jid::{self, ChatId, ContactId, SendTo};
use super::{Message, MessageId, MessageText};
use crate::auth::Caller;
use crate::commands::Command;
use crate::engine::ChatState;
use crate::error::ApiError;
use crate::model::bounded::{NOT_BLANK, TextRule, bounded_text};
use crate::state::{AppState, SharedState};

bounded_text! {
    /// One emoji (a few code points at most), or `""` to remove a reaction.
    Emoji = TextRule { min: 0, max: 16, pattern: None };
}

bounded_text! {
    /// The account's display name, as WhatsApp takes it.
    PushName = TextRule { min: 1, max: 25, pattern: Some(NOT_BLANK) };
}

use crate::store::messages::{self as store, MessageRecord};

/// A reaction to a message.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"chatId": "5511999999999@s.whatsapp.net", "messageId": "3EB0C767D1826A1B2C3D", "reaction": "👍"}))]
pub struct React {
    /// The chat the message is in.
    #[schema(inline)]
    pub chat_id: ChatId,
    /// The message to react to (from this session's history).
    #[schema(inline)]
    pub message_id: MessageId,
    /// One emoji; an empty string removes the session's reaction.
    #[schema(inline)]
    pub reaction: Emoji,
}

/// A reaction as sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reaction {
    /// The chat.
    pub chat_id: String,
    /// The message reacted to.
    pub message_id: String,
    /// The emoji ("" when removed).
    pub reaction: String,
}

crate::envelopes!(Reaction => ReactionData);

/// New text for one of the session's own messages.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"chatId": "5511999999999@s.whatsapp.net", "messageId": "3EB0C767D1826A1B2C3D", "text": "Hello, updated!"}))]
pub struct EditMessage {
    /// The chat the message is in.
    #[schema(inline)]
    pub chat_id: ChatId,
    /// The session's own text message to edit.
    #[schema(inline)]
    pub message_id: MessageId,
    /// The new text.
    #[schema(inline)]
    pub text: MessageText,
}

/// A message to delete.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"chatId": "5511999999999@s.whatsapp.net", "messageId": "3EB0C767D1826A1B2C3D", "forEveryone": true}))]
pub struct DeleteMessage {
    /// The chat the message is in, or `status@broadcast` for one of the session's status posts
    /// (which also needs the scope `status:write`; the delete reaches the post's audience).
    #[schema(inline)]
    pub chat_id: SendTo,
    /// The message: the session's own, or (in a group the session administers) anyone's.
    #[schema(inline)]
    pub message_id: MessageId,
    /// Delete it for everyone in the chat. Only `true` is supported for now (deleting for this
    /// account only is an app-state change, not yet served).
    #[serde(default)]
    #[schema(inline)]
    pub for_everyone: ForEveryone,
}

/// `forEveryone`, which can only be `true` for now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForEveryone;

impl<'de> Deserialize<'de> for ForEveryone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match bool::deserialize(deserializer)? {
            true => Ok(Self),
            false => Err(serde::de::Error::custom(
                "false (deleting for this account only) is not supported yet; pass true",
            )),
        }
    }
}

impl utoipa::PartialSchema for ForEveryone {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::Boolean)
            .enum_values(Some([true]))
            .default(Some(serde_json::Value::Bool(true)))
            .into()
    }
}

impl utoipa::ToSchema for ForEveryone {}

/// What the session shows a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TypingState {
    /// Typing.
    Composing,
    /// Recording a voice note.
    Recording,
    /// Stopped typing or recording.
    Paused,
}

/// A typing indicator to show.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"chatId": "5511999999999@s.whatsapp.net", "state": "composing"}))]
pub struct Typing {
    /// The chat to show it in.
    #[schema(inline)]
    pub chat_id: ChatId,
    /// `composing`, `recording` or `paused`.
    pub state: TypingState,
}

/// Whether the account shows as online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PresenceState {
    /// Online.
    Available,
    /// Offline.
    Unavailable,
}

/// The account's presence to set.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"presence": "available"}))]
pub struct SetPresence {
    /// `available` (online) or `unavailable` (offline).
    pub presence: PresenceState,
}

/// A contact whose presence to follow.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"chatId": "5511999999999@s.whatsapp.net"}))]
pub struct SubscribePresence {
    /// The contact.
    #[schema(inline)]
    pub chat_id: ContactId,
}

/// A new value for a profile field.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"value": "Acme Support"}))]
pub struct ProfileValue {
    /// The new value (surrounding spaces are dropped).
    #[schema(inline)]
    pub value: PushName,
}

/// A blocked contact.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockedContact {
    /// The contact's JID as WhatsApp lists it (usually the LID).
    pub id: String,
    /// The phone number (`+<digits>`), when the account knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The LID, when the account knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<String>,
    /// When it was blocked (Unix seconds), when WhatsApp says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_at: Option<u64>,
}

/// The contacts a session's account has blocked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Blocklist {
    /// Every blocked contact.
    pub data: Vec<BlockedContact>,
}

/// The stored message `id` in `chat_id`, or a 404 that says where to look.
pub(crate) async fn target(
    state: &AppState,
    session: &str,
    chat_id: &str,
    id: &str,
) -> Result<MessageRecord, ApiError> {
    store::get(&state.db, session, id)
        .await?
        .filter(|m| m.chat_id == chat_id)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "message `{id}` is not in this session's history of chat `{chat_id}`"
            ))
        })
}

/// Checks `request`; the command reacts to a message of the session's history.
pub async fn react(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: React,
) -> Result<Command<Reaction>, ApiError> {
    let chat = jid::parse_chat(request.chat_id.as_str())?;
    crate::sessions::find(state, caller, session).await?;
    crate::client_tokens::require_recipient(state, caller, session, request.chat_id.as_str()).await?;
    let message = target(state, session, request.chat_id.as_str(), request.message_id.as_str()).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        state
            .engine
            .react(&session, &chat, &message, request.reaction.as_str())
            .await?;
        Ok(Reaction {
            chat_id: request.chat_id.into_inner(),
            message_id: request.message_id.into_inner(),
            reaction: request.reaction.into_inner(),
        })
    }))
}

/// Checks `request`; the command edits one of the session's own text messages.
pub async fn edit(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: EditMessage,
) -> Result<Command<Message>, ApiError> {
    let chat = jid::parse_target(request.chat_id.as_str())?;
    super::status::require_scope(caller, &chat)?;
    crate::sessions::find(state, caller, session).await?;
    let message = target(state, session, request.chat_id.as_str(), request.message_id.as_str()).await?;
    if !message.from_me || message.kind != "text" {
        return Err(ApiError::Conflict(format!(
            "message `{}` cannot be edited: only the session's own text messages can",
            message.id
        )));
    }
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state
            .engine
            .edit(&session, &chat, message, request.text.as_str())
            .await?
            .into())
    }))
}

/// Checks `request`; the command deletes a message for everyone.
pub async fn delete(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: DeleteMessage,
) -> Result<Command<Message>, ApiError> {
    let chat = jid::parse_target(request.chat_id.as_str())?;
    super::status::require_scope(caller, &chat)?;
    crate::sessions::find(state, caller, session).await?;
    let message = target(state, session, request.chat_id.as_str(), request.message_id.as_str()).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.revoke(&session, &chat, message).await?.into())
    }))
}

/// Checks `request`; the command shows typing, recording or paused in a chat.
pub async fn typing(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: Typing,
) -> Result<Command<()>, ApiError> {
    let chat = jid::parse_chat(request.chat_id.as_str())?;
    crate::sessions::find(state, caller, session).await?;
    crate::client_tokens::require_recipient(state, caller, session, request.chat_id.as_str()).await?;
    let chat_state = match request.state {
        TypingState::Composing => ChatState::Composing,
        TypingState::Recording => ChatState::Recording,
        TypingState::Paused => ChatState::Paused,
    };
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.chat_state(&session, &chat, chat_state).await?)
    }))
}

/// Checks `request`; the command sets the account's presence.
pub async fn set_presence(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: SetPresence,
) -> Result<Command<()>, ApiError> {
    crate::sessions::find(state, caller, session).await?;
    let available = request.presence == PresenceState::Available;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.set_presence(&session, available).await?)
    }))
}

/// Checks `request`; the command sets the account's push name.
pub async fn set_push_name(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: ProfileValue,
) -> Result<Command<()>, ApiError> {
    let name = request.value.as_str().trim().to_owned();
    crate::sessions::find(state, caller, session).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.set_push_name(&session, &name).await?)
    }))
}

/// Checks `chat_id`; the command follows the contact's presence.
pub async fn subscribe_presence(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    chat_id: &str,
) -> Result<Command<()>, ApiError> {
    let jid = jid::parse_contact(chat_id)?;
    crate::sessions::find(state, caller, session).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.subscribe_presence(&session, &jid).await?)
    }))
}

/// Checks `contact_id`; the command blocks or unblocks the contact.
pub async fn set_blocked(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    contact_id: &str,
    blocked: bool,
) -> Result<Command<()>, ApiError> {
    let jid = jid::parse_contact(contact_id)?;
    crate::sessions::find(state, caller, session).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.set_blocked(&session, &jid, blocked).await?)
    }))
}

/// Checks the session is the caller's; the command asks WhatsApp for the account's blocklist.
pub async fn blocklist(
    state: &SharedState,
    caller: &Caller,
    session: &str,
) -> Result<Command<Vec<BlockedContact>>, ApiError> {
    crate::sessions::find(state, caller, session).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        let entries = state.engine.blocklist(&session).await?;
        Ok(entries
            .into_iter()
            .map(|b| BlockedContact {
                id: b.id,
                phone_number: b.phone_number,
                lid: b.lid,
                blocked_at: b.at,
            })
            .collect())
    }))
}
