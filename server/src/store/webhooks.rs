//! The `webhooks` table. Secrets arrive here already sealed (see [`crate::secrets`]).

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Write};

/// One stored webhook, as its columns hold it.
#[derive(Debug, Clone)]
pub struct WebhookRow {
    /// `wh_<ULID>`.
    pub id: String,
    /// Target URL.
    pub url: String,
    /// Free text for humans.
    pub label: Option<String>,
    /// JSON array of event type names (`["*"]` = all).
    pub events: String,
    /// Only this session's events; `None` for all sessions.
    pub session: Option<String>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Sealed JSON object of extra request headers.
    pub headers: String,
    /// Attempts before a delivery is dead.
    pub retry_attempts: i64,
    /// Base delay between attempts, in seconds.
    pub retry_delay_secs: i64,
    /// `constant`, `linear` or `exponential`.
    pub retry_policy: String,
    /// The sealed HMAC key.
    pub secret: String,
    /// ms since epoch.
    pub created_at: i64,
    /// ms since epoch.
    pub updated_at: i64,
}

const COLUMNS: &str = "id, url, label, events, session, enabled, headers, retry_attempts, retry_delay_secs, \
     retry_policy, secret, created_at, updated_at";

fn from_row(row: &AnyRow) -> sqlx::Result<WebhookRow> {
    Ok(WebhookRow {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        label: row.try_get("label")?,
        events: row.try_get("events")?,
        session: row.try_get("session")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        headers: row.try_get("headers")?,
        retry_attempts: row.try_get("retry_attempts")?,
        retry_delay_secs: row.try_get("retry_delay_secs")?,
        retry_policy: row.try_get("retry_policy")?,
        secret: row.try_get("secret")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Inserts a webhook, or replaces every column but `id` and `created_at` of an existing one.
pub async fn upsert(db: &Db, webhook: &WebhookRow) -> anyhow::Result<()> {
    let sql = format!(
        "INSERT INTO webhooks ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, label = excluded.label, events = excluded.events, \
         session = excluded.session, enabled = excluded.enabled, headers = excluded.headers, \
         retry_attempts = excluded.retry_attempts, retry_delay_secs = excluded.retry_delay_secs, \
         retry_policy = excluded.retry_policy, secret = excluded.secret, updated_at = excluded.updated_at"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&webhook.id)
        .bind(&webhook.url)
        .bind(&webhook.label)
        .bind(&webhook.events)
        .bind(&webhook.session)
        .bind(i64::from(webhook.enabled))
        .bind(&webhook.headers)
        .bind(webhook.retry_attempts)
        .bind(webhook.retry_delay_secs)
        .bind(&webhook.retry_policy)
        .bind(&webhook.secret)
        .bind(webhook.created_at)
        .bind(webhook.updated_at)
        .write(db)
        .await
        .context("save webhook")?;
    Ok(())
}

/// The webhook `id`.
pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<WebhookRow>> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Every webhook with an id after `after`, by id (there are few).
pub async fn list(db: &Db, after: Option<&str>) -> anyhow::Result<Vec<WebhookRow>> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id > $1 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(after.unwrap_or_default())
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
}

/// Deletes the webhook and its deliveries; `false` if there was none.
pub async fn delete(db: &Db, id: &str) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await.context("begin")?;
    sqlx::query("DELETE FROM deliveries WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await.context("commit")?;
    Ok(deleted > 0)
}

/// A fingerprint of the webhook list (how many, and the latest change): a server routing events
/// with a list read under another fingerprint is routing with a stale list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Version {
    count: i64,
    changed_at: i64,
}

/// The webhook list's fingerprint now, as `executor` sees it.
pub async fn version<'e>(executor: impl sqlx::Executor<'e, Database = sqlx::Any>) -> anyhow::Result<Version> {
    let row = sqlx::query("SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), 0) AS at FROM webhooks")
        .fetch_one(executor)
        .await
        .context("read the webhook list's version")?;
    Ok(Version {
        count: row.try_get("n")?,
        changed_at: row.try_get("at")?,
    })
}
