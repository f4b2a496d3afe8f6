//! The `deliveries` table: one row per event per webhook, from fan-out until delivered or dead,
//! holding its last attempt's outcome (the delivery log).

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Queue, Write, now_ms};
use crate::model::delivery::DeliveryState;
use crate::model::envelope::Envelope;

/// A delivery still to make, with the event it carries.
#[derive(Debug, Clone)]
pub struct Pending {
    /// `dlv_<ULID>`.
    pub id: String,
    /// The webhook it goes to.
    pub webhook_id: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (ms since epoch).
    pub next_attempt_at: i64,
    /// The event.
    pub envelope: Envelope,
}

/// The outcome of one attempt, as recorded.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The delivery.
    pub id: String,
    /// Its state afterwards.
    pub state: DeliveryState,
    /// Attempts made so far, this one included.
    pub attempts: u32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: i64,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// How long the attempt took.
    pub latency_ms: i64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// One line of the delivery log.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    /// `dlv_<ULID>`.
    pub id: String,
    /// The webhook.
    pub webhook_id: String,
    /// The event delivered.
    pub event_id: String,
    /// The event's type.
    pub event: String,
    /// The event's session.
    pub session: String,
    /// Pending, delivered or dead.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: i64,
    /// The last answer's HTTP status.
    pub status_code: Option<u16>,
    /// The last attempt's duration.
    pub latency_ms: Option<i64>,
    /// The last failure.
    pub error: Option<String>,
    /// ms since epoch.
    pub created_at: i64,
    /// ms since epoch.
    pub updated_at: i64,
}

fn pending_from_row(row: &AnyRow) -> anyhow::Result<Pending> {
    let payload: String = row.try_get("payload")?;
    Ok(Pending {
        id: row.try_get("id")?,
        webhook_id: row.try_get("webhook_id")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
        next_attempt_at: row.try_get("next_attempt_at")?,
        envelope: Envelope::new(
            row.try_get("event_id")?,
            row.try_get("event")?,
            row.try_get("session")?,
            row.try_get("event_created_at")?,
            &payload,
        ),
    })
}

const PENDING_SELECT: &str = "SELECT d.id, d.webhook_id, d.attempts, d.next_attempt_at, d.event_id, d.session, \
     e.event, e.payload, e.created_at AS event_created_at FROM deliveries d JOIN events e ON e.id = d.event_id";

/// Every (webhook, session) lane that has pending deliveries.
pub async fn pending_lanes(db: &Db) -> anyhow::Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT DISTINCT webhook_id, session FROM deliveries WHERE state = 'pending'")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("webhook_id")?, r.try_get("session")?)))
        .collect()
}

/// Up to `limit` pending deliveries of one lane after `after`, in order.
pub async fn lane(db: &Db, webhook_id: &str, session: &str, after: &str, limit: i64) -> anyhow::Result<Vec<Pending>> {
    let sql = format!(
        "{PENDING_SELECT} WHERE d.webhook_id = $1 AND d.session = $2 AND d.state = 'pending' AND d.id > $3 \
         ORDER BY d.id LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(webhook_id)
        .bind(session)
        .bind(after)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(pending_from_row).collect()
}

/// Records attempt outcomes, in one transaction.
pub async fn record(db: &Db, outcomes: &[Outcome]) -> anyhow::Result<()> {
    let mut batch = db.batch();
    let now = now_ms();
    for outcome in outcomes {
        batch
            .defer(
                "UPDATE deliveries SET state = $1, attempts = $2, next_attempt_at = $3, status_code = $4, \
                 latency_ms = $5, error = $6, updated_at = $7 WHERE id = $8",
            )
            .bind(outcome.state.as_str())
            .bind(i64::from(outcome.attempts))
            .bind(outcome.next_attempt_at)
            .bind(outcome.status_code.map(i64::from))
            .bind(outcome.latency_ms)
            .bind(&outcome.error)
            .bind(now)
            .bind(&outcome.id);
    }
    batch.commit(db).await.context("commit")?;
    Ok(())
}

fn log_from_row(row: &AnyRow) -> anyhow::Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: row.try_get("id")?,
        webhook_id: row.try_get("webhook_id")?,
        event_id: row.try_get("event_id")?,
        event: row.try_get("event")?,
        session: row.try_get("session")?,
        state: row.try_get::<String, _>("state")?.parse()?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
        next_attempt_at: row.try_get("next_attempt_at")?,
        status_code: row
            .try_get::<Option<i64>, _>("status_code")?
            .and_then(|c| u16::try_from(c).ok()),
        latency_ms: row.try_get("latency_ms")?,
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const LOG_SELECT: &str = "SELECT d.id, d.webhook_id, d.event_id, e.event, d.session, d.state, d.attempts, \
     d.next_attempt_at, d.status_code, d.latency_ms, d.error, d.created_at, d.updated_at \
     FROM deliveries d JOIN events e ON e.id = d.event_id";

/// Up to `limit` deliveries of a webhook, newest first, older than `before` when given, in
/// `state` when given.
pub async fn log(
    db: &Db,
    webhook_id: &str,
    before: Option<&str>,
    state: Option<DeliveryState>,
    limit: i64,
) -> anyhow::Result<Vec<DeliveryRow>> {
    let sql = format!(
        "{LOG_SELECT} WHERE d.webhook_id = $1 AND ($2 = '' OR d.id < $2) AND ($3 = '' OR d.state = $3) \
         ORDER BY d.id DESC LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(webhook_id)
        .bind(before.unwrap_or_default())
        .bind(state.map(DeliveryState::as_str).unwrap_or_default())
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(log_from_row).collect()
}

/// One delivery of a webhook.
pub async fn get(db: &Db, webhook_id: &str, id: &str) -> anyhow::Result<Option<DeliveryRow>> {
    let sql = format!("{LOG_SELECT} WHERE d.webhook_id = $1 AND d.id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(webhook_id)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(log_from_row).transpose()
}

/// Makes a delivery pending again with a fresh round of attempts, due now; returns it with its
/// event (`None` if it does not exist).
pub async fn requeue(db: &Db, webhook_id: &str, id: &str) -> anyhow::Result<Option<Pending>> {
    let now = now_ms();
    let changed = sqlx::query(
        "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1 \
         WHERE webhook_id = $2 AND id = $3",
    )
    .bind(now)
    .bind(webhook_id)
    .bind(id)
    .write(db)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(None);
    }
    let sql = format!("{PENDING_SELECT} WHERE d.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(pending_from_row).transpose()
}
