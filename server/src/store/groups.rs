//! The `groups` and `group_lists` tables: each session's groups as last read from WhatsApp, so
//! listing them asks WhatsApp nothing and still works after a restart.

use anyhow::Context;
use sqlx::Row;

use super::{Db, Write, now_ms};
use crate::model::group::Group;

const UPSERT: &str = "INSERT INTO groups (session, id, data, updated_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (session, id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at";

/// Replaces the session's whole list with `groups` (WhatsApp's answer to "which groups am I
/// in") and records when.
pub async fn replace_all(db: &Db, session: &str, groups: &[Group]) -> anyhow::Result<()> {
    let now = now_ms();
    let mut tx = db.begin_write().await.context("begin")?;
    sqlx::query("DELETE FROM groups WHERE session = $1")
        .bind(session)
        .execute(&mut *tx)
        .await?;
    for group in groups {
        sqlx::query(UPSERT)
            .bind(session)
            .bind(&group.id)
            .bind(serde_json::to_string(group)?)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO group_lists (session, synced_at) VALUES ($1, $2) \
         ON CONFLICT (session) DO UPDATE SET synced_at = excluded.synced_at",
    )
    .bind(session)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await.context("commit")?;
    Ok(())
}

/// Stores `group` as the session's current view of it.
pub async fn put(db: &Db, session: &str, group: &Group) -> anyhow::Result<()> {
    sqlx::query(UPSERT)
        .bind(session)
        .bind(&group.id)
        .bind(serde_json::to_string(group)?)
        .bind(now_ms())
        .write(db)
        .await?;
    Ok(())
}

/// Forgets group `id` for the session (it left, or is no longer a member).
pub async fn remove(db: &Db, session: &str, id: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM groups WHERE session = $1 AND id = $2")
        .bind(session)
        .bind(id)
        .write(db)
        .await?;
    Ok(())
}

/// The statements that forget a session's groups (`$1`: the session).
pub(super) const FORGET: [&str; 2] = [
    "DELETE FROM groups WHERE session = $1",
    "DELETE FROM group_lists WHERE session = $1",
];

/// Forgets every group of the session, and that its list was ever read (its account logged out).
pub async fn forget(db: &Db, session: &str) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await.context("begin")?;
    for statement in FORGET {
        sqlx::query(statement).bind(session).execute(&mut *tx).await?;
    }
    tx.commit().await.context("commit")?;
    Ok(())
}

/// Up to `limit` of the session's groups by id, those after `after` when given; `None` when the
/// session's list was never read from WhatsApp.
pub async fn page(db: &Db, session: &str, after: Option<&str>, limit: usize) -> anyhow::Result<Option<Vec<Group>>> {
    let synced = sqlx::query("SELECT synced_at FROM group_lists WHERE session = $1")
        .bind(session)
        .fetch_optional(&db.pool)
        .await?;
    if synced.is_none() {
        return Ok(None);
    }
    let rows = sqlx::query("SELECT data FROM groups WHERE session = $1 AND id > $2 ORDER BY id LIMIT $3")
        .bind(session)
        .bind(after.unwrap_or(""))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| Ok(serde_json::from_str(&row.try_get::<String, _>("data")?)?))
        .collect::<anyhow::Result<Vec<Group>>>()
        .map(Some)
}

/// The session's stored view of group `id`, if it has one.
pub async fn one(db: &Db, session: &str, id: &str) -> anyhow::Result<Option<Group>> {
    let row = sqlx::query("SELECT data FROM groups WHERE session = $1 AND id = $2")
        .bind(session)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|row| Ok(serde_json::from_str(&row.try_get::<String, _>("data")?)?))
        .transpose()
}

/// The names of the session's stored groups among `ids`, by id.
pub async fn names(
    db: &Db,
    session: &str,
    ids: &[String],
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let sql = format!(
        "SELECT data FROM groups WHERE session = $1 AND id IN ({})",
        super::placeholders(ids.len(), 2)
    );
    let rows = ids
        .iter()
        .fold(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(session), |q, id| q.bind(id))
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| {
            let group: Group = serde_json::from_str(&row.try_get::<String, _>("data")?)?;
            Ok((group.id, group.name))
        })
        .collect()
}
