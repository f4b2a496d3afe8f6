//! The `events` table: the outbox every event is written to before anyone is told about it.

use sqlx::AnyConnection;

use super::now_ms;
use crate::events::NewEvent;

/// Appends `event` for `session` on `conn` (the caller's transaction) and returns its id
/// (`evt_<ULID>`, increasing, so the outbox reads in order).
pub async fn append(conn: &mut AnyConnection, session: &str, event: &NewEvent) -> anyhow::Result<String> {
    let id = crate::ids::new("evt");
    sqlx::query("INSERT INTO events (id, session, event, payload, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(session)
        .bind(event.kind.as_str())
        .bind(event.payload.to_string())
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(id)
}
