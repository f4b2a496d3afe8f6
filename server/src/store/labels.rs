//! The `labels` and `label_chats` tables: each session's WhatsApp Business labels and the chats
//! they are on, changed with the events that announce them in one transaction. WhatsApp has no
//! "list labels", so this copy, kept from the account's app state, is the list.

use std::collections::BTreeMap;

use anyhow::Context;
use sqlx::Row;

use super::{Db, now_ms};
use crate::model::envelope::NewEvent;
use crate::model::label::Label;

/// The statements that forget a session's labels (`$1`: the session).
pub(super) const FORGET: [&str; 2] = [
    "DELETE FROM labels WHERE session = $1",
    "DELETE FROM label_chats WHERE session = $1",
];

/// A change to one label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelChange {
    /// Created, renamed or recoloured: its name and colour now.
    Set {
        /// Its name.
        name: String,
        /// Its colour index.
        color: i32,
    },
    /// Deleted, and so taken off every chat.
    Deleted,
    /// Put on chat `0` (`true`) or taken off it.
    Chat(String, bool),
}

/// Applies `change` to label `id` of `session`, with `events`.
pub async fn change(db: &Db, session: &str, id: &str, change: &LabelChange, events: &[NewEvent]) -> anyhow::Result<()> {
    let events = super::events::complete(db, session, events).await?;
    let mut tx = db.begin_write().await.context("begin")?;
    match change {
        LabelChange::Set { name, color } => {
            sqlx::query(
                "INSERT INTO labels (session, id, name, color, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (session, id) DO UPDATE SET name = excluded.name, color = excluded.color, \
                 updated_at = excluded.updated_at",
            )
            .bind(session)
            .bind(id)
            .bind(name)
            .bind(i64::from(*color))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        LabelChange::Deleted => {
            for statement in [
                "DELETE FROM labels WHERE session = $1 AND id = $2",
                "DELETE FROM label_chats WHERE session = $1 AND label_id = $2",
            ] {
                sqlx::query(statement).bind(session).bind(id).execute(&mut *tx).await?;
            }
        }
        LabelChange::Chat(chat_id, labeled) => {
            let statement = if *labeled {
                "INSERT INTO label_chats (session, label_id, chat_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (session, label_id, chat_id) DO NOTHING"
            } else {
                "DELETE FROM label_chats WHERE session = $1 AND label_id = $2 AND chat_id = $3"
            };
            sqlx::query(statement)
                .bind(session)
                .bind(id)
                .bind(chat_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    super::events::commit_with(tx, db, session, &events).await
}

/// Every label of `session`, by id (numerically), with its chats.
pub async fn all(db: &Db, session: &str) -> anyhow::Result<Vec<Label>> {
    let rows = sqlx::query("SELECT id, name, color FROM labels WHERE session = $1")
        .bind(session)
        .fetch_all(&db.pool)
        .await?;
    let mut labels = BTreeMap::new();
    for row in &rows {
        let id: String = row.try_get("id")?;
        let label = Label {
            id: id.clone(),
            name: row.try_get("name")?,
            color: i32::try_from(row.try_get::<i64, _>("color")?).unwrap_or_default(),
            chat_ids: Vec::new(),
        };
        labels.insert((id.len(), id), label);
    }
    let chats = sqlx::query("SELECT label_id, chat_id FROM label_chats WHERE session = $1 ORDER BY chat_id")
        .bind(session)
        .fetch_all(&db.pool)
        .await?;
    for row in &chats {
        let id: String = row.try_get("label_id")?;
        if let Some(label) = labels.get_mut(&(id.len(), id)) {
            label.chat_ids.push(row.try_get("chat_id")?);
        }
    }
    Ok(labels.into_values().collect())
}

/// Label `id` of `session`, if it has one.
pub async fn one(db: &Db, session: &str, id: &str) -> anyhow::Result<Option<Label>> {
    Ok(all(db, session).await?.into_iter().find(|l| l.id == id))
}

/// The id a new label of `session` gets: one more than the highest it has.
pub async fn next_id(db: &Db, session: &str) -> anyhow::Result<String> {
    let highest = all(db, session)
        .await?
        .iter()
        .filter_map(|l| l.id.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    Ok((highest + 1).to_string())
}
