//! The `idempotency_keys` table: one row per (API key, Idempotency-Key).

use anyhow::Context;
use sqlx::Row;

use super::{Db, Write, now_ms};

/// What a POST with an idempotency key found when it tried to claim the key.
#[derive(Debug)]
pub enum Claim {
    /// The key is new: this request runs and its response is recorded.
    Claimed,
    /// The first request with this key is still running.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
    /// The first request finished: replay its response.
    Done(StoredResponse),
}

/// A recorded response.
#[derive(Debug)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, if the response had one.
    pub content_type: Option<String>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// Claims `(api_key_id, key)` for a request hashing to `hash`. Rows older than `expired_before`
/// (ms since epoch) are treated as absent, and so are unfinished rows older than
/// `abandoned_before`, whose server stopped before recording a response.
pub async fn claim(
    db: &Db,
    api_key_id: &str,
    key: &str,
    hash: &str,
    expired_before: i64,
    abandoned_before: i64,
) -> anyhow::Result<Claim> {
    // One statement: a new key is inserted, an expired or abandoned row is taken over.
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (api_key_id, idem_key, request_hash, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (api_key_id, idem_key) DO UPDATE
         SET request_hash = excluded.request_hash, created_at = excluded.created_at,
             status = NULL, content_type = NULL, body = NULL
         WHERE idempotency_keys.created_at < $5
            OR (idempotency_keys.status IS NULL AND idempotency_keys.created_at < $6)",
    )
    .bind(api_key_id)
    .bind(key)
    .bind(hash)
    .bind(now_ms())
    .bind(expired_before)
    .bind(abandoned_before)
    .write(db)
    .await
    .context("claim idempotency key")?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Claimed);
    }
    let row = sqlx::query(
        "SELECT request_hash, status, content_type, body FROM idempotency_keys WHERE api_key_id = $1 AND idem_key = $2",
    )
    .bind(api_key_id)
    .bind(key)
    .fetch_optional(&db.pool)
    .await
    .context("read idempotency key")?;
    let Some(row) = row else {
        return Ok(Claim::InProgress);
    };
    let stored_hash: String = row.try_get("request_hash")?;
    if stored_hash != hash {
        return Ok(Claim::Mismatch);
    }
    let status: Option<i64> = row.try_get("status")?;
    Ok(match status {
        None => Claim::InProgress,
        Some(status) => Claim::Done(StoredResponse {
            status: u16::try_from(status).context("stored status")?,
            content_type: row.try_get("content_type")?,
            body: row.try_get::<Option<Vec<u8>>, _>("body")?.unwrap_or_default(),
        }),
    })
}

/// Records the response of a claimed key.
pub async fn complete(db: &Db, api_key_id: &str, key: &str, response: &StoredResponse) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = $1, content_type = $2, body = $3 WHERE api_key_id = $4 AND idem_key = $5",
    )
    .bind(i64::from(response.status))
    .bind(response.content_type.as_deref())
    .bind(response.body.as_slice())
    .bind(api_key_id)
    .bind(key)
    .write(db)
    .await
    .context("record idempotent response")?;
    Ok(())
}

/// Releases a claimed key without a response, so a retry runs the request again.
pub async fn release(db: &Db, api_key_id: &str, key: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE api_key_id = $1 AND idem_key = $2")
        .bind(api_key_id)
        .bind(key)
        .write(db)
        .await
        .context("release idempotency key")?;
    Ok(())
}

/// Deletes every row created before `before` (ms since epoch); returns how many.
pub async fn prune(db: &Db, before: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(before)
        .write(db)
        .await
        .context("prune idempotency keys")?;
    Ok(done.rows_affected())
}
