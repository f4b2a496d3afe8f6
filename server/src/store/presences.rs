//! The `presences` table: the last presence each session heard of per chat or contact, written
//! with its `presence.update` event in one transaction.

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, device, now_ms};
use crate::model::envelope::NewEvent;
use crate::model::events::{ContactPresence, PresenceMedia, PresencePayload};
use crate::model::jid::Addressing;
use crate::model::presence::ChatPresence;

/// The key a presence is kept under: a contact named by LID is kept under their phone-number JID
/// when the session's LID mapping knows it, so either form finds it.
async fn key(db: &Db, session: &str, chat_id: &str) -> anyhow::Result<String> {
    let Some(lid) = chat_id.strip_suffix("@lid") else {
        return Ok(chat_id.to_owned());
    };
    let mapping = device::known_mapping(db, session, Addressing::Lid, lid).await?;
    Ok(mapping.map_or_else(|| chat_id.to_owned(), |m| format!("{}@s.whatsapp.net", m.phone_number)))
}

/// Records the presence `event` reports for `chat_id` (a `last_seen` of `None` keeps the one
/// known), with the event.
pub async fn record(
    db: &Db,
    session: &str,
    chat_id: &str,
    presence: &PresencePayload,
    event: &NewEvent,
) -> anyhow::Result<()> {
    let chat_id = key(db, session, chat_id).await?;
    let events = super::events::complete(db, session, std::slice::from_ref(event)).await?;
    let mut tx = db.begin_write().await.context("begin")?;
    sqlx::query(
        "INSERT INTO presences (session, chat_id, state, media, last_seen, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session, chat_id) DO UPDATE SET \
         state = excluded.state, media = excluded.media, \
         last_seen = COALESCE(excluded.last_seen, presences.last_seen), updated_at = excluded.updated_at",
    )
    .bind(session)
    .bind(&chat_id)
    .bind(presence.state.as_str())
    .bind(presence.media.map(|m| m.as_str()))
    .bind(presence.last_seen)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    super::events::commit_with(tx, db, session, &events).await
}

const COLUMNS: &str = "chat_id, state, media, last_seen, updated_at";

fn from_row(row: &AnyRow) -> anyhow::Result<ChatPresence> {
    let state: String = row.try_get("state")?;
    let media: Option<String> = row.try_get("media")?;
    Ok(ChatPresence {
        chat_id: row.try_get("chat_id")?,
        presence: state.parse::<ContactPresence>()?,
        media: media.map(|m| m.parse::<PresenceMedia>()).transpose()?,
        last_seen: row.try_get("last_seen")?,
        updated_at: chrono::DateTime::from_timestamp_millis(row.try_get("updated_at")?).unwrap_or_default(),
    })
}

/// The last presence heard of for `chat_id` (either JID form of a contact), if any.
pub async fn one(db: &Db, session: &str, chat_id: &str) -> anyhow::Result<Option<ChatPresence>> {
    let chat_id = key(db, session, chat_id).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM presences WHERE session = $1 AND chat_id = $2"
    )))
    .bind(session)
    .bind(&chat_id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every presence the session heard of, most recent first.
pub async fn all(db: &Db, session: &str) -> anyhow::Result<Vec<ChatPresence>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM presences WHERE session = $1 ORDER BY updated_at DESC, chat_id"
    )))
    .bind(session)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}
