//! The `send_queue` table: the messages a paced session accepted and has not sent yet, each
//! stored with its `messages` row in one transaction, so an accepted send survives a restart.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::messages::{self, MessageRecord};
use super::{Db, Queue, Write, now_ms};
use crate::model::envelope::NewEvent;
use crate::model::message::MessageStatus;

/// The statements that forget a session's queue (`$1`: the session).
pub(super) const FORGET: [&str; 1] = ["DELETE FROM send_queue WHERE session = $1"];

/// A message waiting for its turn.
#[derive(Debug, Clone)]
pub struct Queued {
    /// Its WhatsApp id.
    pub id: String,
    /// The recipient's JID.
    pub chat_jid: String,
    /// The WhatsApp message, encoded.
    pub message: Vec<u8>,
    /// Earlier sends of it that failed for a passing reason.
    pub attempts: u32,
}

/// Stores `record` (status `queued`) and the encoded `message` to send to `chat_jid` after
/// every message the session queued before it.
pub async fn enqueue(db: &Db, record: &MessageRecord, chat_jid: &str, message: &[u8]) -> anyhow::Result<()> {
    let seq = messages::reserve_seq(db).await?;
    let mut batch = db.disjoint_batch();
    messages::insert_in(&mut batch, record, seq, &Default::default(), None)?;
    batch
        .defer("INSERT INTO send_queue (session, id, chat_jid, message, queued_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&record.session)
        .bind(&record.id)
        .bind(chat_jid)
        .bind(message)
        .bind(now_ms());
    batch.commit(db).await.context("commit")?;
    Ok(())
}

/// The session's next message to send. A queued message whose chat was cleared meanwhile (its
/// `messages` row is gone) is dropped: clearing a chat cancels what waits for it.
pub async fn next(db: &Db, session: &str) -> anyhow::Result<Option<Queued>> {
    loop {
        let row = sqlx::query(
            "SELECT q.position, q.id, q.chat_jid, q.message, q.attempts, m.seq FROM send_queue q \
             LEFT JOIN messages m ON m.session = q.session AND m.id = q.id AND m.from_me = 1 \
             WHERE q.session = $1 ORDER BY q.position LIMIT 1",
        )
        .bind(session)
        .fetch_optional(&db.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        if row.try_get::<Option<i64>, _>("seq")?.is_none() {
            sqlx::query("DELETE FROM send_queue WHERE position = $1")
                .bind(row.try_get::<i64, _>("position")?)
                .write(db)
                .await?;
            continue;
        }
        return Ok(Some(Queued {
            id: row.try_get("id")?,
            chat_jid: row.try_get("chat_jid")?,
            message: row.try_get("message")?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        }));
    }
}

/// When the session's last queued message left, if one ever did.
pub async fn last_sent(db: &Db, session: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
    let at: Option<i64> = sqlx::query("SELECT paced_at FROM sessions WHERE name = $1")
        .bind(session)
        .fetch_optional(&db.pool)
        .await?
        .map(|row| row.try_get("paced_at"))
        .transpose()?
        .flatten();
    Ok(at.and_then(DateTime::from_timestamp_millis))
}

/// Counts one more failed attempt at sending queued message `id`.
pub async fn attempted(db: &Db, session: &str, id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE send_queue SET attempts = attempts + 1 WHERE session = $1 AND id = $2")
        .bind(session)
        .bind(id)
        .write(db)
        .await?;
    Ok(())
}

/// Empties the session's queue, recording each message that waited as `error` for `reason`
/// (the session was logged out: its account may not be the one they were meant to leave from).
pub async fn cancel(db: &Db, session: &str, reason: &str) -> anyhow::Result<()> {
    // It reads before it writes: on SQLite it must hold the write lock from its start.
    let mut tx = db.begin_write().await.context("begin")?;
    let ids: Vec<String> = sqlx::query("SELECT id FROM send_queue WHERE session = $1")
        .bind(session)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get("id"))
        .collect::<Result<_, _>>()?;
    for id in &ids {
        messages::advance_in(&mut tx, session, id, MessageStatus::Error, Some(reason));
    }
    sqlx::query("DELETE FROM send_queue WHERE session = $1")
        .bind(session)
        .execute(&mut *tx)
        .await?;
    tx.commit().await.context("commit")?;
    Ok(())
}

/// Takes queued message `id` off the queue and records how it ended: `sent` at the time given
/// (when it left, its new `sentAt`), or `error` with the reason given; `events` with it.
pub async fn finish(
    db: &Db,
    session: &str,
    id: &str,
    outcome: Result<DateTime<Utc>, &str>,
    events: &[NewEvent],
) -> anyhow::Result<()> {
    let events = super::events::complete(db, session, events).await?;
    let mut tx = db.begin_write().await.context("begin")?;
    sqlx::query("DELETE FROM send_queue WHERE session = $1 AND id = $2")
        .bind(session)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    match outcome {
        Ok(sent_at) => {
            sqlx::query("UPDATE messages SET sent_at = $1 WHERE session = $2 AND id = $3 AND from_me = 1")
                .bind(sent_at.timestamp_millis())
                .bind(session)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE sessions SET paced_at = $1 WHERE name = $2")
                .bind(sent_at.timestamp_millis())
                .bind(session)
                .execute(&mut *tx)
                .await?;
            messages::advance_in(&mut tx, session, id, MessageStatus::Sent, None);
        }
        Err(reason) => {
            messages::advance_in(&mut tx, session, id, MessageStatus::Error, Some(reason));
        }
    }
    super::events::commit_with(tx, db, session, &events).await
}
