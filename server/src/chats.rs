//! Chats: each session's chats as stored (newest activity first, with their last message,
//! unread count and the account's marks), and the actions that change them on WhatsApp
//! (archive, pin, mute, read, clear, delete) and stars on messages.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::commands::Command;
use crate::envelope::{Page, PageRequest};
use crate::error::ApiError;
use crate::messages::Message;
use crate::messages::jid::{ChatId, parse_chat};
use crate::messages::{self, MessageId};
use crate::model::bounded::{IntRule, PageLimit, TextRule, bounded_int, bounded_text};
use crate::state::{AppState, SharedState};
use crate::store::chats::{self as stored, ChatChange, ChatCursor, ChatRow};
use crate::store::{contacts, groups, messages as history};

/// A chat of the session's account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "5511999999999@s.whatsapp.net", "name": "Maria", "isGroup": false, "unreadCount": 2,
    "markedUnread": false, "archived": false, "pinned": true, "muted": false, "mutedUntil": null,
    "lastMessageAt": "2025-05-01T12:05:00Z"}))]
pub struct Chat {
    /// The chat's JID.
    pub id: String,
    /// The group's subject, or the contact's name in the account's address book, else the name
    /// they gave with their latest message; absent when none is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether it is a group.
    pub is_group: bool,
    /// Messages received since the account last read the chat.
    pub unread_count: i64,
    /// Whether the account marked it unread.
    pub marked_unread: bool,
    /// Whether it is archived.
    pub archived: bool,
    /// Whether it is pinned.
    pub pinned: bool,
    /// Whether it is muted now.
    pub muted: bool,
    /// Until when it is muted (Unix seconds; -1 for ever); null when not muted.
    pub muted_until: Option<i64>,
    /// When its newest stored message was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_at: Option<DateTime<Utc>>,
    /// Its newest stored message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<Message>,
}

crate::envelopes!(Chat => ChatData, ChatPage);

bounded_text! {
    /// The `cursor` of a page of chats: where the previous page ended.
    ChatListCursor = TextRule {
        min: 3,
        max: 160,
        pattern: Some(("^[0-9]{1,18}:[!-~]{1,140}$", "a `cursor` from a previous page of chats")),
    };
}

/// The query of a chat list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatListQuery {
    /// The `cursor` of the previous page; omit for the first page.
    #[param(inline)]
    pub cursor: Option<ChatListCursor>,
    /// Items per page (default 50).
    #[param(inline)]
    pub limit: Option<PageLimit>,
    /// Only archived chats (`true`) or only chats not archived (`false`); omit for both.
    pub archived: Option<bool>,
}

bounded_int! {
    /// How long to mute a chat, in seconds (at most a year).
    MuteSeconds = IntRule { min: 1, max: 31_536_000, text: false };
}

/// How long to mute a chat.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"duration": 28800}))]
pub struct MuteChat {
    /// Seconds from now; omit to mute for ever.
    #[serde(default)]
    #[schema(inline)]
    pub duration: Option<MuteSeconds>,
}

/// A message to star or unstar.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"chatId": "5511999999999@s.whatsapp.net", "messageId": "3EB0C767D1826A1B2C3D", "star": true}))]
pub struct StarMessage {
    /// The chat the message is in.
    #[schema(inline)]
    pub chat_id: ChatId,
    /// The message (from this session's history).
    #[schema(inline)]
    pub message_id: MessageId,
    /// `true` stars it, `false` takes the star off.
    pub star: bool,
}

/// What an action on a chat does, as a route names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatAction {
    /// `POST …/archive`.
    Archive,
    /// `POST …/unarchive`.
    Unarchive,
    /// `POST …/pin`.
    Pin,
    /// `POST …/unpin`.
    Unpin,
    /// `POST …/unmute`.
    Unmute,
    /// `POST …/read`.
    Read,
    /// `POST …/unread`.
    Unread,
    /// `POST …/clear`.
    Clear,
    /// `DELETE …/chats/{chatId}`.
    Delete,
}

impl ChatAction {
    /// The change it makes.
    fn change(self) -> ChatChange {
        match self {
            Self::Archive => ChatChange::Archived(true),
            Self::Unarchive => ChatChange::Archived(false),
            Self::Pin => ChatChange::Pinned(true),
            Self::Unpin => ChatChange::Pinned(false),
            Self::Unmute => ChatChange::Muted(None),
            Self::Read => ChatChange::Read(true),
            Self::Unread => ChatChange::Read(false),
            Self::Clear => ChatChange::Cleared {
                delete_starred: false,
                at: crate::store::now_ms(),
            },
            Self::Delete => ChatChange::Deleted,
        }
    }
}

/// The next page's cursor after `row`: its activity and id.
fn cursor_of(row: &ChatRow) -> String {
    format!("{}:{}", row.activity, row.chat_id)
}

/// The position a `cursor` from a previous page names.
fn parse_cursor(cursor: &str) -> Result<ChatCursor, ApiError> {
    let bad = || {
        ApiError::BadRequest(format!(
            "invalid cursor `{cursor}`: pass the `cursor` of a previous page"
        ))
    };
    let (activity, chat_id) = cursor.split_once(':').ok_or_else(bad)?;
    Ok(ChatCursor {
        activity: activity.parse().map_err(|_| bad())?,
        chat_id: chat_id.to_owned(),
    })
}

/// One page of the session's chats, newest activity first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    session: &str,
    query: ChatListQuery,
) -> Result<Page<Chat>, ApiError> {
    let page = PageRequest::new(query.cursor.map(ChatListCursor::into_inner), query.limit);
    let after = page.after.as_deref().map(parse_cursor).transpose()?;
    crate::sessions::find(state, caller, session).await?;
    let rows = stored::page(&state.db, session, after.as_ref(), query.archived, page.limit + 1).await?;
    let page = Page::from_overfetch(rows, page.limit, cursor_of);
    Ok(Page {
        data: described(state, session, page.data).await?,
        cursor: page.cursor,
    })
}

/// Chat `chat_id`; 404 when the session has no such chat.
pub async fn get(state: &AppState, caller: &Caller, session: &str, chat_id: &str) -> Result<Chat, ApiError> {
    let jid = parse_chat(chat_id)?;
    crate::sessions::find(state, caller, session).await?;
    let row = stored::one(&state.db, session, &jid.to_non_ad_string())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("session `{session}` has no chat `{chat_id}`")))?;
    let mut chats = described(state, session, vec![row]).await?;
    chats
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("session `{session}` has no chat `{chat_id}`")))
}

/// `rows` as the API shows them: with their names and last messages, read in one query each.
async fn described(state: &AppState, session: &str, rows: Vec<ChatRow>) -> Result<Vec<Chat>, ApiError> {
    let (groups, people): (Vec<String>, Vec<String>) = rows
        .iter()
        .map(|row| row.chat_id.clone())
        .partition(|id| id.ends_with("@g.us"));
    let mut names = groups::names(&state.db, session, &groups).await?;
    names.extend(contacts::names(&state.db, session, &people).await?);
    let seqs: Vec<i64> = rows.iter().map(|row| row.activity).filter(|&seq| seq > 0).collect();
    let mut last: HashMap<i64, Message> = history::by_seqs(&state.db, session, &seqs)
        .await?
        .into_iter()
        .map(|m| (m.seq, Message::from(m)))
        .collect();
    let now = Utc::now().timestamp();
    Ok(rows
        .into_iter()
        .map(|row| {
            let muted_until = row.muted_until.filter(|&until| until == -1 || until > now);
            Chat {
                name: names.get(&row.chat_id).cloned(),
                is_group: row.chat_id.ends_with("@g.us"),
                unread_count: row.unread,
                marked_unread: row.marked_unread,
                archived: row.archived,
                pinned: row.pinned_at.is_some(),
                muted: muted_until.is_some(),
                muted_until,
                last_message_at: row.last_at.and_then(DateTime::from_timestamp_millis),
                last_message: last.remove(&row.activity),
                id: row.chat_id,
            }
        })
        .collect())
}

/// Checks `chat_id`; the command makes `action`'s change to the chat on WhatsApp and in the
/// store. The chat need not be stored yet: WhatsApp takes marks on any chat.
pub async fn act(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    chat_id: &str,
    action: ChatAction,
) -> Result<Command<()>, ApiError> {
    change(state, caller, session, chat_id, action.change()).await
}

/// Checks `chat_id` and `request`; the command mutes the chat for the duration asked, or for
/// ever.
pub async fn mute(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    chat_id: &str,
    request: MuteChat,
) -> Result<Command<()>, ApiError> {
    let until = request
        .duration
        .map_or(-1, |d| Utc::now().timestamp() + i64::from(d.get()));
    change(state, caller, session, chat_id, ChatChange::Muted(Some(until))).await
}

/// Checks `chat_id`; the command makes `change` on WhatsApp and in the store.
async fn change(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    chat_id: &str,
    change: ChatChange,
) -> Result<Command<()>, ApiError> {
    let jid = parse_chat(chat_id)?;
    crate::sessions::find(state, caller, session).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.change_chat(&session, &jid, &change).await?)
    }))
}

/// Checks `request`; the command stars or unstars a message of the session's history.
pub async fn star(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: StarMessage,
) -> Result<Command<()>, ApiError> {
    let chat = parse_chat(request.chat_id.as_str())?;
    crate::sessions::find(state, caller, session).await?;
    let message =
        messages::actions::target(state, session, request.chat_id.as_str(), request.message_id.as_str()).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state.engine.star(&session, &chat, &message, request.star).await?)
    }))
}
