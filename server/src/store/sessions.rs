//! The `sessions` table. Every status change goes through [`apply`], which writes the matching
//! `session.status` event (and any other event of the change) in the same transaction.

use std::collections::BTreeSet;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, now_ms};
use crate::model::envelope::NewEvent;
use crate::model::events::Payload;
use crate::model::session::{State, Status};

/// Who the session is linked to, learned when it pairs or connects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The account's phone number (digits, no `+`).
    pub phone_number: Option<String>,
    /// The account's LID JID.
    pub lid: Option<String>,
    /// The account's display name.
    pub push_name: Option<String>,
    /// The business name, for WhatsApp Business accounts.
    pub business_name: Option<String>,
    /// The platform of the primary device.
    pub platform: Option<String>,
}

/// One stored session.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// Unique name, chosen by the user.
    pub name: String,
    /// Current status and reason.
    pub state: State,
    /// Whether the session should run: restored when the server starts.
    pub running: bool,
    /// Who it is linked to.
    pub identity: Identity,
    /// Proxy URL for its WhatsApp traffic.
    pub proxy: Option<String>,
    /// Settings, a JSON object.
    pub config: serde_json::Value,
    /// The latest connection failure.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One change to a session, applied atomically with its events.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// New status and reason; a `session.status` event is written when they differ.
    pub state: Option<State>,
    /// Whether it should run after a server restart.
    pub running: Option<bool>,
    /// New identity fields (absent fields are kept).
    pub identity: Option<Identity>,
    /// New (or cleared) latest error.
    pub last_error: Option<Option<String>>,
    /// New proxy (or none).
    pub proxy: Option<Option<String>>,
    /// New settings.
    pub config: Option<serde_json::Value>,
    /// Other events to write with the change.
    pub events: Vec<NewEvent>,
    /// The lease its writer holds on the session (several servers on PostgreSQL): the change
    /// commits only while that lease is still the writer's.
    pub fence: Option<super::cluster::Fence>,
}

/// Why an insert failed.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// A session with this name exists.
    #[error("a session with this name already exists")]
    Duplicate,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] anyhow::Error),
}

/// Every column; after `name`, the ones [`bind_mutable`] binds, then `created_at`.
const COLUMNS: &str = "name, status, status_reason, running, phone_number, lid, push_name, business_name, platform, \
     proxy, config, last_error, updated_at, created_at";

/// Binds the columns a change may set, in [`COLUMNS`] order (`status` … `updated_at`).
fn bind_mutable<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    record: &'q SessionRecord,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(record.state.status.as_str())
        .bind(record.state.reason.map(|r| r.as_str()))
        .bind(i64::from(record.running))
        .bind(&record.identity.phone_number)
        .bind(&record.identity.lid)
        .bind(&record.identity.push_name)
        .bind(&record.identity.business_name)
        .bind(&record.identity.platform)
        .bind(&record.proxy)
        .bind(record.config.to_string())
        .bind(&record.last_error)
        .bind(millis(record.updated_at))
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn from_row(row: &AnyRow) -> anyhow::Result<SessionRecord> {
    let reason: Option<String> = row.try_get("status_reason")?;
    let config: String = row.try_get("config")?;
    Ok(SessionRecord {
        name: row.try_get("name")?,
        state: State::new(
            row.try_get::<String, _>("status")?.parse::<Status>()?,
            reason.map(|r| r.parse()).transpose()?,
        ),
        running: row.try_get::<i64, _>("running")? != 0,
        identity: Identity {
            phone_number: row.try_get("phone_number")?,
            lid: row.try_get("lid")?,
            push_name: row.try_get("push_name")?,
            business_name: row.try_get("business_name")?,
            platform: row.try_get("platform")?,
        },
        proxy: row.try_get("proxy")?,
        config: serde_json::from_str(&config).context("session config is not JSON")?,
        last_error: row.try_get("last_error")?,
        created_at: time(row.try_get("created_at")?),
        updated_at: time(row.try_get("updated_at")?),
    })
}

/// Inserts a new session, with its first `session.status` event.
pub async fn insert(db: &Db, record: &SessionRecord) -> Result<(), InsertError> {
    let (owned_db, owned) = (db.clone(), record.clone());
    db.session_write(&record.name, async move { insert_row(&owned_db, &owned).await })
        .await
        .map_err(|e| InsertError::Database(e.into()))?
}

async fn insert_row(db: &Db, record: &SessionRecord) -> Result<(), InsertError> {
    let status = NewEvent::new(Payload::SessionStatus(record.state.payload()));
    let status = super::events::complete(db, &record.name, &[status]).await?;
    let mut tx = db.begin_write().await.context("begin")?;
    let sql = format!(
        "INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&record.name);
    let result = bind_mutable(query, record)
        .bind(millis(record.created_at))
        .execute(&mut *tx)
        .await;
    match result {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(InsertError::Duplicate),
        other => other.context("insert session")?,
    };
    super::events::append(&mut tx, &record.name, &status);
    tx.commit().await.context("commit")?;
    db.events_written();
    Ok(())
}

/// The session named `name` (on SQLite, as kept in memory since it was last read).
pub async fn get(db: &Db, name: &str) -> anyhow::Result<Option<SessionRecord>> {
    let read = async {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE name = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&db.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    };
    match &db.kept_sessions {
        Some(kept) => kept.get_or_read(name, read).await,
        None => read.await,
    }
}

/// Up to `limit` sessions named after `after`, by name, among `allowed` (all when `None`).
pub async fn list(
    db: &Db,
    after: Option<&str>,
    limit: usize,
    allowed: Option<&BTreeSet<String>>,
) -> anyhow::Result<Vec<SessionRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE name > $1 ORDER BY name LIMIT $2");
    let mut out = Vec::new();
    let mut cursor = after.unwrap_or_default().to_owned();
    // Session-limited keys see a subset: keep reading until the page is full or the table ends.
    loop {
        let batch = i64::try_from(limit.max(50)).unwrap_or(i64::MAX);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&cursor)
            .bind(batch)
            .fetch_all(&db.pool)
            .await?;
        let done = rows.len() < usize::try_from(batch).unwrap_or(usize::MAX);
        for row in &rows {
            let record = from_row(row)?;
            cursor.clone_from(&record.name);
            if allowed.is_none_or(|a| a.contains(&record.name)) {
                out.push(record);
                if out.len() == limit {
                    return Ok(out);
                }
            }
        }
        if done {
            return Ok(out);
        }
    }
}

/// Every session that should be running (restored when the server starts).
pub async fn running(db: &Db) -> anyhow::Result<Vec<SessionRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE running = 1 ORDER BY name");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&db.pool).await?;
    rows.iter().map(from_row).collect()
}

/// Applies `change` to the session, with its events, in one transaction. `None` when the
/// session does not exist (any more).
pub async fn apply(db: &Db, name: &str, change: Change) -> anyhow::Result<Option<SessionRecord>> {
    let (owned_db, owned_name) = (db.clone(), name.to_owned());
    db.session_write(name, async move { apply_change(&owned_db, &owned_name, change).await })
        .await?
}

async fn apply_change(db: &Db, name: &str, change: Change) -> anyhow::Result<Option<SessionRecord>> {
    let status = match change.state {
        Some(state) => {
            Some(super::events::complete(db, name, &[NewEvent::new(Payload::SessionStatus(state.payload()))]).await?)
        }
        None => None,
    };
    let events = super::events::complete(db, name, &change.events).await?;
    let mut tx = db.begin_write().await.context("begin")?;
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE name = $1{}", db.for_update());
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    if let Some(fence) = &change.fence {
        super::cluster::check(&mut tx, name, fence).await?;
    }
    let mut record = from_row(&row)?;
    let previous = record.state;
    if let Some(state) = change.state {
        record.state = state;
    }
    if let Some(running) = change.running {
        record.running = running;
    }
    if let Some(identity) = change.identity {
        let current = &mut record.identity;
        current.phone_number = identity.phone_number.or(current.phone_number.take());
        current.lid = identity.lid.or(current.lid.take());
        current.push_name = identity.push_name.or(current.push_name.take());
        current.business_name = identity.business_name.or(current.business_name.take());
        current.platform = identity.platform.or(current.platform.take());
    }
    if let Some(error) = change.last_error {
        record.last_error = error;
    }
    if let Some(proxy) = change.proxy {
        record.proxy = proxy;
    }
    if let Some(config) = change.config {
        record.config = config;
    }
    record.updated_at = time(now_ms());
    let update = sqlx::query(
        "UPDATE sessions SET status = $2, status_reason = $3, running = $4, phone_number = $5, lid = $6, \
         push_name = $7, business_name = $8, platform = $9, proxy = $10, config = $11, last_error = $12, \
         updated_at = $13 WHERE name = $1",
    )
    .bind(name);
    bind_mutable(update, &record).execute(&mut *tx).await?;
    if record.state != previous
        && let Some(status) = &status
    {
        super::events::append(&mut tx, name, status);
    }
    super::events::append(&mut tx, name, &events);
    tx.commit().await.context("commit")?;
    db.events_written();
    Ok(Some(record))
}

/// Deletes the session row and what it kept (messages and those waiting to be sent, chats,
/// contacts, presences, groups, labels); `false` if there was none.
pub async fn delete(db: &Db, name: &str) -> anyhow::Result<bool> {
    let (owned_db, owned_name) = (db.clone(), name.to_owned());
    db.session_write(name, async move { delete_rows(&owned_db, &owned_name).await })
        .await?
}

async fn delete_rows(db: &Db, name: &str) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await.context("begin")?;
    let own = [
        "DELETE FROM messages WHERE session = $1",
        "DELETE FROM presences WHERE session = $1",
    ];
    let kept = own
        .into_iter()
        .chain(super::chats::FORGET)
        .chain(super::client_rules::FORGET)
        .chain(super::contacts::FORGET)
        .chain(super::groups::FORGET)
        .chain(super::labels::FORGET)
        .chain(super::send_queue::FORGET)
        .chain(super::statuses::FORGET);
    for statement in kept {
        sqlx::query(statement).bind(name).execute(&mut *tx).await?;
    }
    let deleted = sqlx::query("DELETE FROM sessions WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await.context("commit")?;
    Ok(deleted > 0)
}
