//! The `client_rules` and `client_sends` tables: each session's client-token rules, and the sends
//! its tokens made per ephemeral id and day (the daily limit survives a restart, and holds across
//! servers sharing one database).

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Write, now_ms};
use crate::model::client_rules::{ClientRules, RecipientMode};

/// The statements that forget a session's rules and counts (`$1`: the session).
pub(super) const FORGET: [&str; 2] = [
    "DELETE FROM client_rules WHERE session = $1",
    "DELETE FROM client_sends WHERE session = $1",
];

/// Stored rules with the generation tokens are minted under.
#[derive(Debug, Clone)]
pub struct StoredRules {
    /// Changes each time the rules are created, so tokens of deleted rules stay dead.
    pub generation: String,
    /// The rules themselves.
    pub rules: ClientRules,
}

fn from_row(row: &AnyRow) -> sqlx::Result<StoredRules> {
    let when = |column: &str| -> sqlx::Result<DateTime<Utc>> {
        Ok(DateTime::from_timestamp_millis(row.try_get(column)?).unwrap_or_default())
    };
    let count = |column: &str| -> sqlx::Result<u32> { Ok(u32::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0)) };
    Ok(StoredRules {
        generation: row.try_get("generation")?,
        rules: ClientRules {
            session: row.try_get("session")?,
            recipient_mode: RecipientMode::from_stored(&row.try_get::<String, _>("recipient_mode")?),
            allowed_actions: row.try_get("allowed_actions")?,
            rate_limit: count("rate_limit")?,
            max_daily: count("max_daily")?,
            allowed_origins: row.try_get("allowed_origins")?,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
            created_at: when("created_at")?,
            updated_at: when("updated_at")?,
        },
    })
}

/// The rules of `session`, if it has any.
pub async fn get(db: &Db, session: &str) -> sqlx::Result<Option<StoredRules>> {
    sqlx::query(
        "SELECT session, generation, recipient_mode, allowed_actions, rate_limit, max_daily, allowed_origins, \
         enabled, created_at, updated_at FROM client_rules WHERE session = $1",
    )
    .bind(session)
    .fetch_optional(&db.pool)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Sets the rules of `rules.session` (keeping the generation and creation time of rules it
/// replaces; `generation` is used when there were none), and answers them as stored.
pub async fn put(db: &Db, rules: &ClientRules, generation: &str) -> sqlx::Result<StoredRules> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO client_rules (session, generation, recipient_mode, allowed_actions, rate_limit, max_daily, \
         allowed_origins, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (session) DO UPDATE SET recipient_mode = excluded.recipient_mode, \
         allowed_actions = excluded.allowed_actions, rate_limit = excluded.rate_limit, \
         max_daily = excluded.max_daily, allowed_origins = excluded.allowed_origins, enabled = excluded.enabled, \
         updated_at = excluded.updated_at",
    )
    .bind(&rules.session)
    .bind(generation)
    .bind(rules.recipient_mode.as_str())
    .bind(&rules.allowed_actions)
    .bind(i64::from(rules.rate_limit))
    .bind(i64::from(rules.max_daily))
    .bind(&rules.allowed_origins)
    .bind(i64::from(rules.enabled))
    .bind(now)
    .write(db)
    .await?;
    get(db, &rules.session).await?.ok_or_else(|| sqlx::Error::RowNotFound)
}

/// Deletes the rules of `session` (and so refuses its tokens); whether there were any.
pub async fn delete(db: &Db, session: &str) -> sqlx::Result<bool> {
    let mut tx = db.begin_write().await?;
    let deleted = sqlx::query("DELETE FROM client_rules WHERE session = $1")
        .bind(session)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM client_sends WHERE session = $1")
        .bind(session)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(deleted > 0)
}

/// Counts one send of `ephemeral_id` on `day` if fewer than `limit` were counted; whether it
/// was. Days before yesterday are forgotten on the way.
pub async fn reserve_send(db: &Db, session: &str, ephemeral_id: &str, day: i64, limit: u32) -> sqlx::Result<bool> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM client_sends WHERE session = $1 AND ephemeral_id = $2 AND day < $3")
        .bind(session)
        .bind(ephemeral_id)
        .bind(day - 1)
        .execute(&mut *tx)
        .await?;
    let counted = sqlx::query(
        "INSERT INTO client_sends (session, ephemeral_id, day, sends) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (session, ephemeral_id, day) DO UPDATE SET sends = client_sends.sends + 1 \
         WHERE client_sends.sends < $4",
    )
    .bind(session)
    .bind(ephemeral_id)
    .bind(day)
    .bind(i64::from(limit))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(counted > 0)
}

/// Gives back a send [`reserve_send`] counted for a request that failed.
pub async fn release_send(db: &Db, session: &str, ephemeral_id: &str, day: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE client_sends SET sends = sends - 1 WHERE session = $1 AND ephemeral_id = $2 AND day = $3 \
         AND sends > 0",
    )
    .bind(session)
    .bind(ephemeral_id)
    .bind(day)
    .write(db)
    .await?;
    Ok(())
}
