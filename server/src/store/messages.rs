//! The `messages` table: what each session sent and received, with delivery progress.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Engine, Queue, Write, now_ms};
use crate::model::attachment::{Attachment, AttachmentFields, StoredMedia};
use crate::model::envelope::NewEvent;
use crate::model::events::{MessageHeader, MessagePayload};
use crate::model::jid::JidRef;
use crate::model::message::MessageStatus;
use crate::model::poll::Poll;

/// One stored message.
#[derive(Debug, Clone)]
pub struct MessageRecord {
    /// Arrival order within the database; the history cursor.
    pub seq: i64,
    /// The session it belongs to.
    pub session: String,
    /// The chat's JID.
    pub chat_id: String,
    /// WhatsApp's message id.
    pub id: String,
    /// Whether the session's account sent it.
    pub from_me: bool,
    /// The sender's JID (in groups, the participant).
    pub sender: Option<String>,
    /// The sender's display name, when WhatsApp told us.
    pub push_name: Option<String>,
    /// `text`, `image`, ...
    pub kind: String,
    /// The text, for text messages.
    pub text: Option<String>,
    /// The id of the message this one replies to.
    pub quoted_id: Option<String>,
    /// JIDs mentioned.
    pub mentions: Vec<String>,
    /// Delivery progress.
    pub status: MessageStatus,
    /// Why sending failed, when it did.
    pub error: Option<String>,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// A poll's options and secret (type `poll`).
    pub poll: Option<Poll>,
    /// Its media, location or contacts.
    pub attachment: Option<Attachment>,
    /// Whether the account starred it.
    pub starred: bool,
}

impl MessageRecord {
    /// The `message.received` / `message.sent` payload of this message. `from` is the chat for
    /// groups and the account's own messages, the sender otherwise.
    pub fn payload(&self) -> MessagePayload {
        let is_group = self.chat_id.ends_with("@g.us");
        let from = if is_group || self.from_me {
            JidRef::of(&self.chat_id)
        } else {
            JidRef::of(self.sender.as_deref().unwrap_or(&self.chat_id))
        };
        MessagePayload {
            header: MessageHeader {
                id: self.id.clone(),
                chat_id: self.chat_id.clone(),
                from,
                sender: self.sender.as_deref().filter(|_| is_group).map(JidRef::of),
                timestamp: self.sent_at.timestamp(),
                from_me: self.from_me,
                is_group,
                push_name: self.push_name.clone(),
            },
            kind: self.kind.clone(),
            status: Some(self.status),
            text: self.text.clone(),
            body: self.text.clone(),
            quoted_message_id: self.quoted_id.clone(),
            poll_options: self.poll.as_ref().map(|p| p.options.clone()),
            attachment: self.attachment_fields(),
            unavailable: false,
        }
    }

    /// The shown fields of its attachment (the text is a media message's caption).
    pub fn attachment_fields(&self) -> AttachmentFields {
        AttachmentFields::of(self.attachment.as_ref(), self.text.as_deref())
    }

    /// The id of its media file, if it has one.
    pub fn media_id(&self) -> Option<&str> {
        match &self.attachment {
            Some(Attachment::Media(media)) => Some(&media.info.media_id),
            _ => None,
        }
    }
}

const COLUMNS: &str = "seq, session, chat_id, id, from_me, sender, push_name, type, text, quoted_id, mentions, status, error, sent_at, poll, attachment, starred";

fn from_row(row: &AnyRow) -> anyhow::Result<MessageRecord> {
    let mentions: Option<String> = row.try_get("mentions")?;
    let poll: Option<String> = row.try_get("poll")?;
    let attachment: Option<String> = row.try_get("attachment")?;
    Ok(MessageRecord {
        seq: row.try_get("seq")?,
        session: row.try_get("session")?,
        chat_id: row.try_get("chat_id")?,
        id: row.try_get("id")?,
        from_me: row.try_get::<i64, _>("from_me")? != 0,
        sender: row.try_get("sender")?,
        push_name: row.try_get("push_name")?,
        kind: row.try_get("type")?,
        text: row.try_get("text")?,
        quoted_id: row.try_get("quoted_id")?,
        mentions: mentions
            .map(|m| serde_json::from_str(&m))
            .transpose()
            .context("mentions are not JSON")?
            .unwrap_or_default(),
        status: row.try_get::<String, _>("status")?.parse()?,
        error: row.try_get("error")?,
        sent_at: DateTime::from_timestamp_millis(row.try_get("sent_at")?).unwrap_or_default(),
        poll: poll
            .map(|p| serde_json::from_str(&p))
            .transpose()
            .context("a poll is not JSON")?,
        attachment: attachment
            .map(|a| serde_json::from_str(&a))
            .transpose()
            .context("an attachment is not JSON")?,
        starred: row.try_get::<i64, _>("starred")? != 0,
    })
}

/// Stores `message` (its `seq` is ignored) with `events`, unless the same message is already
/// stored (a redelivery), in which case nothing is written. Returns whether it was new.
pub async fn insert(db: &Db, message: &MessageRecord, events: &[NewEvent]) -> anyhow::Result<bool> {
    let events = super::events::complete(db, &message.session, events).await?;
    let sender = match message.sender.as_deref().filter(|_| !message.from_me) {
        Some(sender) => super::contacts::sender(db, &message.session, sender).await?,
        None => None,
    };
    let seq = reserve_seq(db).await?;
    let mut batch = db.disjoint_batch();
    insert_in(&mut batch, message, seq, &events, sender.as_ref())?;
    match batch.commit(db).await {
        Ok(()) => {}
        // Stored already: the insert failed, and nothing of the write was kept. (Not looked up
        // first: a redelivery is rare, and the lookup would cost every new message a read.)
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => return Ok(false),
        Err(error) => return Err(anyhow::Error::new(error).context("store a message")),
    }
    db.events_written();
    Ok(true)
}

/// The `seq` of a message about to be stored, drawn ahead on PostgreSQL, so that its insert
/// and its chat's new activity can be one statement of a [`Db::disjoint_batch`] (neither sees
/// the other's write); `None` on SQLite, whose insert numbers it and whose chat update reads it
/// back after.
pub(super) async fn reserve_seq(db: &Db) -> anyhow::Result<Option<i64>> {
    match db.engine {
        Engine::Sqlite => Ok(None),
        Engine::Postgres => sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('messages', 'seq'))")
            .fetch_one(&db.pool)
            .await
            .map(Some)
            .context("draw a message seq"),
    }
}

/// Queues on `q` the insert of `message` with `events`, and what it changes: its chat's
/// activity and, when a person sent it, their contact (`sender`, from
/// [`super::contacts::sender`]); `seq` is the message's, when drawn by [`reserve_seq`]. The
/// statements touch different rows, as a [`Db::disjoint_batch`] needs. The commit fails (a
/// unique violation) if the message is stored already.
pub(super) fn insert_in(
    q: &mut impl Queue,
    message: &MessageRecord,
    seq: Option<i64>,
    events: &super::events::Completed,
    sender: Option<&super::contacts::ContactKey>,
) -> anyhow::Result<()> {
    let mentions = (!message.mentions.is_empty())
        .then(|| serde_json::to_string(&message.mentions))
        .transpose()?;
    let poll = message.poll.as_ref().map(serde_json::to_string).transpose()?;
    let attachment = message.attachment.as_ref().map(serde_json::to_string).transpose()?;
    let sent_at = message.sent_at.timestamp_millis();
    q.defer(
        "INSERT INTO messages (session, chat_id, id, from_me, sender, push_name, type, text, quoted_id, mentions, \
         status, progress, error, sent_at, updated_at, poll, attachment, media_id, seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(&message.session)
    .bind(&message.chat_id)
    .bind(&message.id)
    .bind(i64::from(message.from_me))
    .bind(&message.sender)
    .bind(&message.push_name)
    .bind(&message.kind)
    .bind(&message.text)
    .bind(&message.quoted_id)
    .bind(mentions)
    .bind(message.status.as_str())
    .bind(message.status.rank())
    .bind(&message.error)
    .bind(sent_at)
    .bind(now_ms())
    .bind(poll)
    .bind(attachment)
    .bind(message.media_id())
    .bind(seq);
    let (session, chat_id) = (&message.session, &message.chat_id);
    super::chats::stored(q, session, chat_id, (&message.id, seq), message.from_me, sent_at);
    if let Some(sender) = sender {
        super::contacts::heard_from(q, session, sender, message.push_name.as_deref());
    }
    super::events::append(q, session, events);
    Ok(())
}

/// Moves the session's own messages `ids` forward to `status` (never backwards: a late
/// `delivered` does not undo `read`), writing `events` in the same transaction.
pub async fn advance(
    db: &Db,
    session: &str,
    ids: &[String],
    status: MessageStatus,
    error: Option<&str>,
    events: &[NewEvent],
) -> anyhow::Result<()> {
    let events = super::events::complete(db, session, events).await?;
    let mut batch = db.disjoint_batch();
    for id in ids {
        advance_in(&mut batch, session, id, status, error);
    }
    super::events::append(&mut batch, session, &events);
    batch.commit(db).await.context("commit")?;
    db.events_written();
    Ok(())
}

/// Queues on `tx` moving the session's own message `id` forward to `status`, as [`advance`]
/// does.
pub(super) fn advance_in(tx: &mut impl Queue, session: &str, id: &str, status: MessageStatus, error: Option<&str>) {
    tx.defer(
        "UPDATE messages SET status = $1, progress = $2, error = COALESCE($3, error), updated_at = $4 \
         WHERE session = $5 AND id = $6 AND from_me = 1 AND progress < $2",
    )
    .bind(status.as_str())
    .bind(status.rank())
    .bind(error)
    .bind(now_ms())
    .bind(session)
    .bind(id);
}

/// Rewrites stored message `id` after an edit (new `text`) or a revoke (`kind` `revoke`, no
/// text), writing `events` in the same transaction; the events are written even when the
/// message is not stored (it predates the session). Returns whether a message changed.
pub async fn rewrite(
    db: &Db,
    session: &str,
    id: &str,
    kind: Option<&str>,
    text: Option<&str>,
    events: &[NewEvent],
) -> anyhow::Result<bool> {
    let events = super::events::complete(db, session, events).await?;
    let mut tx = db.begin_write().await.context("begin")?;
    let changed = sqlx::query(
        "UPDATE messages SET type = COALESCE($1, type), text = $2, updated_at = $3 WHERE session = $4 AND id = $5",
    )
    .bind(kind)
    .bind(text)
    .bind(now_ms())
    .bind(session)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    super::events::commit_with(tx, db, session, &events).await?;
    Ok(changed)
}

/// Stars or unstars the session's stored message `id` in `chat_id` (nothing when it is not
/// stored), writing `events` in the same transaction.
pub async fn star(
    db: &Db,
    session: &str,
    chat_id: &str,
    id: &str,
    starred: bool,
    events: &[NewEvent],
) -> anyhow::Result<()> {
    let events = super::events::complete(db, session, events).await?;
    let mut tx = db.begin_write().await.context("begin")?;
    sqlx::query("UPDATE messages SET starred = $1, updated_at = $2 WHERE session = $3 AND chat_id = $4 AND id = $5")
        .bind(i64::from(starred))
        .bind(now_ms())
        .bind(session)
        .bind(chat_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    super::events::commit_with(tx, db, session, &events).await
}

/// Up to `limit` messages of one chat, newest first, older than `before` (a `seq`) when given.
pub async fn history(
    db: &Db,
    session: &str,
    chat_id: &str,
    before: Option<i64>,
    limit: usize,
) -> anyhow::Result<Vec<MessageRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE session = $1 AND chat_id = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(session)
        .bind(chat_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The session's messages `seqs` that are still stored, in no particular order.
pub async fn by_seqs(db: &Db, session: &str, seqs: &[i64]) -> anyhow::Result<Vec<MessageRecord>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE session = $1 AND seq IN ({})",
        super::placeholders(seqs.len(), 2)
    );
    let rows = seqs
        .iter()
        .fold(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(session), |q, seq| {
            q.bind(*seq)
        })
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// One of the session's messages by WhatsApp id (the newest if ids repeat across chats).
pub async fn get(db: &Db, session: &str, id: &str) -> anyhow::Result<Option<MessageRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM messages WHERE session = $1 AND id = $2 ORDER BY seq DESC LIMIT 1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(session)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The display name `sender` (either of their JIDs) gave with their latest message to the
/// session, if they sent one with a name.
pub async fn push_name_of(db: &Db, session: &str, sender: [&str; 2]) -> anyhow::Result<Option<String>> {
    let row = sqlx::query(
        "SELECT push_name FROM messages WHERE session = $1 AND sender IN ($2, $3) AND from_me = 0 \
         AND push_name IS NOT NULL ORDER BY seq DESC LIMIT 1",
    )
    .bind(session)
    .bind(sender[0])
    .bind(sender[1])
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| r.try_get("push_name")).transpose()?)
}

/// The message that carries media file `media_id` of `session`.
pub async fn by_media(db: &Db, session: &str, media_id: &str) -> anyhow::Result<Option<MessageRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM messages WHERE session = $1 AND media_id = $2 LIMIT 1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(session)
        .bind(media_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The URL of the object media file `media_id` of `session` was persisted to, if it was.
pub async fn media_object(db: &Db, session: &str, media_id: &str) -> anyhow::Result<Option<String>> {
    let row = sqlx::query("SELECT media_object FROM messages WHERE session = $1 AND media_id = $2 LIMIT 1")
        .bind(session)
        .bind(media_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row
        .map(|r| r.try_get::<Option<String>, _>("media_object"))
        .transpose()?
        .flatten())
}

/// Records that media file `media_id` of `session` was persisted to the object at `url`.
pub async fn set_media_object(db: &Db, session: &str, media_id: &str, url: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE messages SET media_object = $1 WHERE session = $2 AND media_id = $3")
        .bind(url)
        .bind(session)
        .bind(media_id)
        .write(db)
        .await?;
    Ok(())
}

/// Records `media`'s keys anew (the phone uploaded it again to a new CDN path).
pub async fn set_media_keys(db: &Db, session: &str, media: &StoredMedia) -> anyhow::Result<()> {
    let attachment = serde_json::to_string(&Attachment::Media(media.clone()))?;
    sqlx::query("UPDATE messages SET attachment = $1 WHERE session = $2 AND media_id = $3")
        .bind(attachment)
        .bind(session)
        .bind(&media.info.media_id)
        .write(db)
        .await?;
    Ok(())
}

/// Media files `session` received since `since` that are not persisted yet, newest first (at
/// most `limit`, so files that keep failing never hold newer ones back): what the session's
/// `persistMedia` setting still has to copy.
pub async fn unpersisted_media(
    db: &Db,
    session: &str,
    since: DateTime<Utc>,
    limit: usize,
) -> anyhow::Result<Vec<MessageRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE session = $1 AND media_id IS NOT NULL AND media_object IS NULL \
         AND from_me = 0 AND sent_at >= $2 ORDER BY seq DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(session)
        .bind(since.timestamp_millis())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}
