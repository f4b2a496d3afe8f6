//! Messages: sending through a session and reading a chat's history.

pub mod actions;
pub mod content;
pub mod jid;
pub mod status;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use whatsapp_rust::wacore_binary::jid::JidExt as _;

use crate::auth::Caller;
use crate::commands::Command;
use crate::engine::Outgoing;
use crate::envelope::Page;
use crate::error::ApiError;
use crate::model::attachment::AttachmentFields;
use crate::model::bounded::{
    ListRule, NOT_BLANK, PageLimit, SeqCursor, SessionName, TextRule, bounded_list, bounded_text, inline,
};
use crate::model::message::MessageStatus;
use crate::model::poll;
use crate::state::{AppState, SharedState};
use crate::store::messages::{self as store, MessageRecord};
use content::{Base64File, ContactCards, FileName, FileUrl, Latitude, Longitude};
use jid::{ChatId, SendTo};
use status::{BackgroundColor, StatusFont, StatusRecipients};

pub use content::MessageType;

bounded_text! {
    /// A text message or caption (WhatsApp's own limit).
    MessageText = TextRule { min: 1, max: 65_536, pattern: Some(NOT_BLANK) };
}

bounded_text! {
    /// A poll's question or one of its answers.
    PollText = TextRule { min: 1, max: 255, pattern: Some(NOT_BLANK) };
}

bounded_text! {
    /// A place's address.
    PlaceText = TextRule { min: 1, max: 1024, pattern: Some(NOT_BLANK) };
}

bounded_text! {
    /// A WhatsApp message id.
    MessageId = TextRule { min: 1, max: 128, pattern: None };
}

bounded_list! {
    /// A poll's answers: distinct, so that votes can tell them apart (2 at least, when the
    /// type is `poll`).
    PollOptions(Vec<PollText>) = ListRule { min: 0, max: poll::MAX_OPTIONS, unique: true }, items = inline::<PollText>();
}

bounded_list! {
    /// JIDs a message mentions.
    Mentions(Vec<ChatId>) = ListRule { min: 0, max: 256, unique: false }, items = inline::<ChatId>();
}

bounded_list! {
    /// Messages one read receipt covers.
    MessageIds(Vec<MessageId>) = ListRule { min: 1, max: 256, unique: false }, items = inline::<MessageId>();
}

/// The query of a chat's history.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The `cursor` of the previous page; omit for the newest messages.
    #[param(inline)]
    pub cursor: Option<SeqCursor>,
    /// Items per page (default 50).
    #[param(inline)]
    pub limit: Option<PageLimit>,
}

/// A message to send. At `/api/messages/send` it names its `session`; at
/// `/api/sessions/{session}/messages/send` the path does.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"session": "my-session", "chatId": "5511999999999@s.whatsapp.net", "type": "text", "text": "Hello from Titan!"}))]
pub struct SendMessage {
    /// The session to send from (required at `/api/messages/send`; must match the path otherwise).
    #[serde(default)]
    #[schema(inline)]
    pub session: Option<SessionName>,
    /// The chat; a channel the account owns or administers (`<id>@newsletter`; types `text`,
    /// `poll`, `location` and `contact`); or `status@broadcast` to post to the account's status
    /// (types `text`, `image` and `video`; the scope `status:write` is needed too).
    #[schema(inline)]
    pub chat_id: SendTo,
    /// What kind of message this is.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// The text (type `text`).
    #[serde(default)]
    #[schema(inline)]
    pub text: Option<MessageText>,
    /// Show the title, description and picture of the page behind the text's first link, as
    /// WhatsApp's apps do (type `text`). The server fetches the page through the same guard as
    /// files (a few seconds and 512 KB at most); if it cannot, the text goes without a preview.
    #[serde(default)]
    pub link_preview: bool,
    /// Where the server fetches the file from (types `image`, `video`, `voice`, `audio`,
    /// `file`, `document`, `sticker`; or give `base64`): up to 50 MB, public `https://` URLs
    /// only unless the deployment allows private ones. Redirects are followed 3 times at most.
    #[serde(default)]
    #[schema(inline)]
    pub url: Option<FileUrl>,
    /// The file's bytes, base64-encoded (the same types; or give `url`). The bytes' real format
    /// must be one the type takes.
    #[serde(default)]
    #[schema(inline)]
    pub base64: Option<Base64File>,
    /// The caption (types `image`, `video`, `file`, `document`).
    #[serde(default)]
    #[schema(inline)]
    pub caption: Option<MessageText>,
    /// The file name the recipient sees (types `file` and `document`, required).
    #[serde(default)]
    #[schema(inline)]
    pub filename: Option<FileName>,
    /// Whether the audio is a voice note (type `audio`; default false; type `voice` always is).
    #[serde(default)]
    pub ptt: Option<bool>,
    /// The question (type `poll`) or the place's name (type `location`).
    #[serde(default)]
    #[schema(inline)]
    pub name: Option<PollText>,
    /// The answers (type `poll`): 2 or more.
    #[serde(default)]
    #[schema(inline)]
    pub options: PollOptions,
    /// Whether voters may pick more than one answer (type `poll`; default one).
    #[serde(default)]
    pub multiple_answers: bool,
    /// Degrees north, -90 to 90 (type `location`, required).
    #[serde(default)]
    #[schema(inline)]
    pub latitude: Option<Latitude>,
    /// Degrees east, -180 to 180 (type `location`, required).
    #[serde(default)]
    #[schema(inline)]
    pub longitude: Option<Longitude>,
    /// The place's address (type `location`).
    #[serde(default)]
    #[schema(inline)]
    pub address: Option<PlaceText>,
    /// The cards to share (type `contact`, at least one; several become one message).
    #[serde(default)]
    #[schema(inline)]
    pub contacts: ContactCards,
    /// Reply to this message (a WhatsApp message id from this session's history).
    #[serde(default)]
    #[schema(inline)]
    pub quoted_message_id: Option<MessageId>,
    /// JIDs to mention, e.g. `5511999999999@s.whatsapp.net`.
    #[serde(default)]
    #[schema(inline)]
    pub mentions: Mentions,
    /// Mark the message as forwarded.
    #[serde(default)]
    pub is_forwarded: bool,
    /// Who sees a status post (chatId `status@broadcast`): phone-number or LID JIDs. Default: the
    /// session's address book (the contacts the account saved), those of them on WhatsApp.
    #[serde(default)]
    #[schema(inline)]
    pub recipients: StatusRecipients,
    /// A text status's background, `#RRGGBB` or `#AARRGGBB` (default `#1E6E4F`).
    #[serde(default)]
    #[schema(inline)]
    pub background_color: Option<BackgroundColor>,
    /// A text status's font (default `system`).
    #[serde(default)]
    pub font: Option<StatusFont>,
}

/// Messages to mark as read (a read receipt for each, unless the account's read receipts are off).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"chatId": "5511999999999@s.whatsapp.net", "messageIds": ["3EB0C767D1826A1B2C3D"]}))]
pub struct MarkSeen {
    /// The chat the messages are in.
    #[schema(inline)]
    pub chat_id: ChatId,
    /// WhatsApp ids of received messages.
    #[schema(inline)]
    pub message_ids: MessageIds,
    /// In groups, the JID of the participant who sent them.
    #[serde(default)]
    #[schema(inline)]
    pub participant: Option<jid::ContactId>,
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
    /// Its media file, location or contacts.
    #[serde(flatten)]
    pub attachment: AttachmentFields,
    /// Why sending failed (status `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the account starred it (`POST …/messages/star`, or on another device).
    #[serde(default)]
    pub starred: bool,
    /// When it was sent (a queued message: when it was accepted, until it leaves).
    pub sent_at: DateTime<Utc>,
}

crate::envelopes!(Message => MessageData, MessagePage);

impl From<MessageRecord> for Message {
    fn from(record: MessageRecord) -> Self {
        let attachment = record.attachment_fields();
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
            attachment,
            error: record.error,
            starred: record.starred,
            sent_at: record.sent_at,
        }
    }
}

/// Checks `request` and returns the command that sends it from `session` and answers with the
/// stored message (status `sent` once WhatsApp's server has it, or `queued` when the session
/// paces its sends; status posts are never paced).
pub async fn send(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    mut request: SendMessage,
) -> Result<Command<Message>, ApiError> {
    let chat = jid::parse_target(request.chat_id.as_str())?;
    let status = status::post(caller, &request, &chat)?;
    if chat.is_newsletter() && !request.kind.posts_to_channels() {
        return Err(ApiError::BadRequest(
            "a channel post is a `text`, `poll`, `location` or `contact` (files cannot be posted to channels yet)"
                .into(),
        ));
    }
    for mention in request.mentions.as_slice() {
        jid::parse_chat(mention.as_str())?;
    }
    let record = crate::sessions::find(state, caller, session).await?;
    let paced = status.is_none() && crate::sessions::paces(&record);
    crate::client_tokens::require_recipient(state, caller, session, request.chat_id.as_str()).await?;
    let content = content::content(&mut request, &state.fetcher).await?;
    let quoted = match &request.quoted_message_id {
        Some(id) => Some(store::get(&state.db, session, id.as_str()).await?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "quotedMessageId `{}` is not in this session's message history",
                id.as_str()
            ))
        })?),
        None => None,
    };
    let outgoing = Outgoing {
        chat,
        chat_id: request.chat_id.into_inner(),
        content,
        quoted,
        mentions: request
            .mentions
            .into_inner()
            .into_iter()
            .map(ChatId::into_inner)
            .collect(),
        forwarded: request.is_forwarded,
        status,
        paced,
    };
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.send(&session, outgoing).await?.into())
    }))
}

/// Checks `request` and returns the command that marks received messages as read, sending read
/// receipts to their senders.
pub async fn seen(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: MarkSeen,
) -> Result<Command<Seen>, ApiError> {
    let chat = jid::parse_chat(request.chat_id.as_str())?;
    let participant = request
        .participant
        .as_ref()
        .map(|p| jid::parse_contact(p.as_str()))
        .transpose()?;
    let message_ids: Vec<String> = request
        .message_ids
        .into_inner()
        .into_iter()
        .map(MessageId::into_inner)
        .collect();
    crate::sessions::find(state, caller, session).await?;
    crate::client_tokens::require_recipient(state, caller, session, request.chat_id.as_str()).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        state
            .engine
            .mark_read(&session, &chat, participant.as_ref(), &message_ids)
            .await?;
        Ok(Seen {
            chat_id: request.chat_id.into_inner(),
            message_ids,
        })
    }))
}

/// One page of a chat's messages (or of the status posts the session posted and saw), newest
/// first.
pub async fn history(
    state: &AppState,
    caller: &Caller,
    session: &str,
    chat_id: &str,
    query: HistoryQuery,
) -> Result<Page<Message>, ApiError> {
    jid::parse_target(chat_id)?;
    crate::sessions::find(state, caller, session).await?;
    let page = crate::envelope::PageRequest::new(query.cursor.map(SeqCursor::into_inner), query.limit);
    // The rule admits 18 digits at most, which always fit.
    let before = page.after.as_deref().and_then(|c| c.parse::<i64>().ok());
    let records = store::history(&state.db, session, chat_id, before, page.limit + 1).await?;
    Ok(Page::from_overfetch(records, page.limit, |m| m.seq.to_string()).map(Message::from))
}
