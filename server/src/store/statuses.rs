//! The `status_audiences` table: who each status post was shown to, so that deleting it reaches
//! the same devices.

use super::{Db, Write, now_ms};

/// The statements that forget a session's audiences (`$1`: the session).
pub(super) const FORGET: [&str; 1] = ["DELETE FROM status_audiences WHERE session = $1"];

/// Records that `session`'s status post `message_id` goes to `recipients`.
pub async fn remember(db: &Db, session: &str, message_id: &str, recipients: &[String]) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO status_audiences (session, message_id, recipients, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (session, message_id) DO UPDATE SET recipients = excluded.recipients",
    )
    .bind(session)
    .bind(message_id)
    .bind(serde_json::to_string(recipients)?)
    .bind(now_ms())
    .write(db)
    .await?;
    Ok(())
}

/// The audience of `session`'s status post `message_id`, if it is one of the session's posts.
pub async fn audience(db: &Db, session: &str, message_id: &str) -> anyhow::Result<Option<Vec<String>>> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT recipients FROM status_audiences WHERE session = $1 AND message_id = $2")
            .bind(session)
            .bind(message_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(stored.map(|json| serde_json::from_str(&json)).transpose()?)
}
