//! The `chats` table: each session's chats with their activity (kept in the transaction that
//! stores each message) and the marks the account puts on them, changed through the API or on
//! the account's other devices, each change written with its events.

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Queue, now_ms};
use crate::model::envelope::NewEvent;
use crate::model::jid::STATUS_BROADCAST;

/// A change the account makes to one of its chats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatChange {
    /// Archived (`true`) or taken out of the archive.
    Archived(bool),
    /// Pinned (`true`) or unpinned.
    Pinned(bool),
    /// Muted until a time (Unix seconds, -1 for ever), or unmuted (`None`).
    Muted(Option<i64>),
    /// Read (`true`: no unread messages left) or marked unread.
    Read(bool),
    /// Its messages up to the clear deleted, the chat kept; starred ones stay unless
    /// `delete_starred`.
    Cleared {
        /// Starred messages go too.
        delete_starred: bool,
        /// When the chat was cleared (ms since epoch): messages from after it stay (one sent
        /// right after a clear, or queued, outlives the clear's echo from WhatsApp).
        at: i64,
    },
    /// The chat and its messages deleted.
    Deleted,
}

/// One stored chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRow {
    /// The chat's JID.
    pub chat_id: String,
    /// `seq` of its newest stored message; 0 when it has none.
    pub activity: i64,
    /// When its newest message was sent (ms since epoch).
    pub last_at: Option<i64>,
    /// Messages received since the account last read it.
    pub unread: i64,
    /// Whether the account marked it unread.
    pub marked_unread: bool,
    /// Whether it is archived.
    pub archived: bool,
    /// When it was pinned (ms since epoch).
    pub pinned_at: Option<i64>,
    /// Muted until (Unix seconds, -1 for ever).
    pub muted_until: Option<i64>,
}

/// The statements that forget a session's chats (`$1`: the session).
pub(super) const FORGET: [&str; 1] = ["DELETE FROM chats WHERE session = $1"];

/// Queues on `q`, with the insert of message `id` of `chat_id` (sent at `sent_at`, ms), what it
/// changes in the chat: the chat moves to the top (its activity becomes the message's `seq`,
/// given when drawn ahead, else read back after the insert; never a lower one, so a message
/// numbered earlier but stored later does not move it back); a received message counts as
/// unread, one the account sent reads the chat. Status posts (`status@broadcast`) are not a
/// chat, as in WhatsApp's apps.
pub(super) fn stored(
    q: &mut impl Queue,
    session: &str,
    chat_id: &str,
    (id, seq): (&str, Option<i64>),
    from_me: bool,
    sent_at: i64,
) {
    if chat_id == STATUS_BROADCAST {
        return;
    }
    q.defer(
        "INSERT INTO chats (session, chat_id, activity, last_at, unread, updated_at) VALUES ($1, $2, \
         COALESCE($8, (SELECT seq FROM messages WHERE session = $1 AND chat_id = $2 AND id = $3 AND from_me = $4)), \
         $5, $6, $7) \
         ON CONFLICT (session, chat_id) DO UPDATE SET \
         activity = CASE WHEN excluded.activity > chats.activity THEN excluded.activity ELSE chats.activity END, \
         last_at = CASE WHEN excluded.activity > chats.activity THEN excluded.last_at ELSE chats.last_at END, \
         unread = CASE WHEN excluded.unread = 0 THEN 0 ELSE chats.unread + 1 END, \
         marked_unread = CASE WHEN excluded.unread = 0 THEN 0 ELSE chats.marked_unread END, \
         updated_at = excluded.updated_at",
    )
    .bind(session)
    .bind(chat_id)
    .bind(id)
    .bind(i64::from(from_me))
    .bind(sent_at)
    .bind(i64::from(!from_me))
    .bind(now_ms())
    .bind(seq);
}

/// Applies `change` to `chat_id` (creating the chat if it is new), with `events`, in one
/// transaction.
pub async fn change(
    db: &Db,
    session: &str,
    chat_id: &str,
    change: &ChatChange,
    events: &[NewEvent],
) -> anyhow::Result<()> {
    let events = super::events::complete(db, session, events).await?;
    let mut tx = db.begin_write().await.context("begin")?;
    let now = now_ms();
    if *change != ChatChange::Deleted {
        sqlx::query(
            "INSERT INTO chats (session, chat_id, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (session, chat_id) DO NOTHING",
        )
        .bind(session)
        .bind(chat_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let (set, value): (&str, Option<i64>) = match change {
        ChatChange::Archived(archived) => ("archived = $1", Some(i64::from(*archived))),
        ChatChange::Pinned(pinned) => ("pinned_at = $1", pinned.then_some(now)),
        ChatChange::Muted(until) => ("muted_until = $1", *until),
        ChatChange::Read(true) => ("unread = 0, marked_unread = 0, updated_at = $1", Some(now)),
        ChatChange::Read(false) => ("marked_unread = 1, updated_at = $1", Some(now)),
        ChatChange::Cleared { .. } | ChatChange::Deleted => {
            ("unread = 0, marked_unread = 0, updated_at = $1", Some(now))
        }
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE chats SET {set} WHERE session = $2 AND chat_id = $3"
    )))
    .bind(value)
    .bind(session)
    .bind(chat_id)
    .execute(&mut *tx)
    .await?;
    // The messages that go: those up to a clear (the starred ones only if asked), or all of a
    // deleted chat's, with its row.
    let forget = match change {
        ChatChange::Cleared { delete_starred, at } => {
            Some((if *delete_starred { "" } else { " AND starred = 0" }, *at))
        }
        ChatChange::Deleted => Some(("", i64::MAX)),
        _ => None,
    };
    if let Some((starred, until)) = forget {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM messages WHERE session = $1 AND chat_id = $2 AND sent_at <= $3{starred}"
        )))
        .bind(session)
        .bind(chat_id)
        .bind(until)
        .execute(&mut *tx)
        .await?;
    }
    if *change == ChatChange::Deleted {
        sqlx::query("DELETE FROM chats WHERE session = $1 AND chat_id = $2")
            .bind(session)
            .bind(chat_id)
            .execute(&mut *tx)
            .await?;
    }
    super::events::commit_with(tx, db, session, &events).await
}

const COLUMNS: &str = "chat_id, activity, last_at, unread, marked_unread, archived, pinned_at, muted_until";

fn from_row(row: &AnyRow) -> anyhow::Result<ChatRow> {
    Ok(ChatRow {
        chat_id: row.try_get("chat_id")?,
        activity: row.try_get("activity")?,
        last_at: row.try_get("last_at")?,
        unread: row.try_get("unread")?,
        marked_unread: row.try_get::<i64, _>("marked_unread")? != 0,
        archived: row.try_get::<i64, _>("archived")? != 0,
        pinned_at: row.try_get("pinned_at")?,
        muted_until: row.try_get("muted_until")?,
    })
}

/// Where a page of chats starts: after the chat with this activity and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatCursor {
    /// The previous page's last activity.
    pub activity: i64,
    /// The previous page's last chat.
    pub chat_id: String,
}

/// Up to `limit` of the session's chats, newest activity first, after `after` when given;
/// only archived (or only unarchived) ones when `archived` says so.
pub async fn page(
    db: &Db,
    session: &str,
    after: Option<&ChatCursor>,
    archived: Option<bool>,
    limit: usize,
) -> anyhow::Result<Vec<ChatRow>> {
    let (activity, chat_id) = after.map_or((i64::MAX, ""), |c| (c.activity, c.chat_id.as_str()));
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM chats WHERE session = $1 \
         AND (activity < $2 OR (activity = $2 AND ($3 = '' OR chat_id < $3))) \
         AND ($4 < 0 OR archived = $4) \
         ORDER BY activity DESC, chat_id DESC LIMIT $5"
    )))
    .bind(session)
    .bind(activity)
    .bind(chat_id)
    .bind(archived.map_or(-1, i64::from))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The session's chat `chat_id`, if it has one.
pub async fn one(db: &Db, session: &str, chat_id: &str) -> anyhow::Result<Option<ChatRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM chats WHERE session = $1 AND chat_id = $2"
    )))
    .bind(session)
    .bind(chat_id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}
