//! The `api_keys` table.

use std::collections::BTreeSet;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Write};
use crate::model::grant::Grant;
use crate::model::scope::Scope;

/// One stored API key (never the secret itself).
#[derive(Debug, Clone)]
pub struct KeyRecord {
    /// `key_<ULID>`: sortable by creation time.
    pub id: String,
    /// A name for humans.
    pub label: String,
    /// The first characters of the secret, to tell keys apart.
    pub prefix: String,
    /// Hex SHA-256 of the secret.
    pub hash: String,
    /// Scopes, sessions and expiry.
    pub grant: Grant,
    /// Disabled keys answer 401.
    pub active: bool,
    /// When the key was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl KeyRecord {
    /// Why the key may not be used right now, if it may not.
    pub fn unusable_reason(&self, now: DateTime<Utc>) -> Option<&'static str> {
        if !self.active {
            Some("API key is disabled")
        } else if self.grant.expires_at.is_some_and(|at| at <= now) {
            Some("API key has expired")
        } else {
            None
        }
    }
}

/// Changes a PATCH may make.
#[derive(Debug, Default)]
pub struct KeyChanges {
    /// New label.
    pub label: Option<String>,
    /// Enable or disable.
    pub active: Option<bool>,
}

/// The column list every query selects, as a macro so queries stay `&'static str`.
macro_rules! columns {
    () => {
        "id, label, prefix, key_hash, scopes, sessions, active, created_at, updated_at, expires_at"
    };
}

/// Inserts a new key.
pub async fn insert(db: &Db, key: &KeyRecord) -> anyhow::Result<()> {
    let sql = concat!(
        "INSERT INTO api_keys (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    );
    sqlx::query(sql)
        .bind(&key.id)
        .bind(&key.label)
        .bind(&key.prefix)
        .bind(&key.hash)
        .bind(serde_json::to_string(&key.grant.scopes)?)
        .bind(key.grant.sessions.as_ref().map(serde_json::to_string).transpose()?)
        .bind(i64::from(key.active))
        .bind(key.created_at.timestamp_millis())
        .bind(key.updated_at.timestamp_millis())
        .bind(key.grant.expires_at.map(|at| at.timestamp_millis()))
        .write(db)
        .await
        .context("insert api key")?;
    Ok(())
}

/// The key whose secret hashes to `hash`.
pub async fn find_by_hash(db: &Db, hash: &str) -> anyhow::Result<Option<KeyRecord>> {
    let sql = concat!("SELECT ", columns!(), " FROM api_keys WHERE key_hash = $1");
    let row = sqlx::query(sql)
        .bind(hash)
        .fetch_optional(&db.pool)
        .await
        .context("find api key")?;
    row.as_ref().map(decode).transpose()
}

/// The key with this id.
pub async fn find(db: &Db, id: &str) -> anyhow::Result<Option<KeyRecord>> {
    let sql = concat!("SELECT ", columns!(), " FROM api_keys WHERE id = $1");
    let row = sqlx::query(sql)
        .bind(id)
        .fetch_optional(&db.pool)
        .await
        .context("find api key")?;
    row.as_ref().map(decode).transpose()
}

/// Up to `limit` keys with ids after `after`, oldest first.
pub async fn list_after(db: &Db, after: Option<&str>, limit: usize) -> anyhow::Result<Vec<KeyRecord>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM api_keys WHERE id > $1 ORDER BY id LIMIT $2"
    );
    let limit = i64::try_from(limit).context("page size")?;
    let rows = sqlx::query(sql)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&db.pool)
        .await
        .context("list api keys")?;
    rows.iter().map(decode).collect()
}

/// Applies `changes` and returns the updated key, or `None` if there is no such key.
pub async fn update(db: &Db, id: &str, changes: &KeyChanges) -> anyhow::Result<Option<KeyRecord>> {
    let sql =
        "UPDATE api_keys SET label = COALESCE($1, label), active = COALESCE($2, active), updated_at = $3 WHERE id = $4";
    let done = sqlx::query(sql)
        .bind(changes.label.as_deref())
        .bind(changes.active.map(i64::from))
        .bind(super::now_ms())
        .bind(id)
        .write(db)
        .await
        .context("update api key")?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    find(db, id).await
}

/// Deletes a key; false if there was none.
pub async fn delete(db: &Db, id: &str) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM api_keys WHERE id = $1")
        .bind(id)
        .write(db)
        .await
        .context("delete api key")?;
    Ok(done.rows_affected() > 0)
}

fn decode(row: &AnyRow) -> anyhow::Result<KeyRecord> {
    let scopes: String = row.try_get("scopes")?;
    let sessions: Option<String> = row.try_get("sessions")?;
    let expires_at: Option<i64> = row.try_get("expires_at")?;
    let active: i64 = row.try_get("active")?;
    Ok(KeyRecord {
        id: row.try_get("id")?,
        label: row.try_get("label")?,
        prefix: row.try_get("prefix")?,
        hash: row.try_get("key_hash")?,
        grant: Grant {
            scopes: serde_json::from_str::<BTreeSet<Scope>>(&scopes).context("stored scopes")?,
            sessions: sessions
                .map(|s| serde_json::from_str(&s))
                .transpose()
                .context("stored sessions")?,
            expires_at: expires_at.map(from_ms).transpose()?,
        },
        active: active != 0,
        created_at: from_ms(row.try_get("created_at")?)?,
        updated_at: from_ms(row.try_get("updated_at")?)?,
    })
}

fn from_ms(ms: i64) -> anyhow::Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).context("stored timestamp out of range")
}
