//! The `events` table: the outbox every event is written to before anyone is told about it.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, Queue, Write, WriteTx, device, now_ms};
use crate::model::envelope::{Envelope, NewEvent};

/// Events whose JIDRefs are completed from the session's LID mapping (see [`complete`]), ready
/// to append. Completing reads, so it happens before the write begins: the reads never hold the
/// writer (on SQLite, the one connection every write waits for), and appending is one insert.
#[derive(Debug, Default)]
pub struct Completed(Vec<NewEvent>);

/// `events` with each person they name in both JID forms where `session`'s LID mapping (the one
/// whatsapp-rust keeps, learned from usync and messages) knows the other form, read from the
/// read pool.
pub async fn complete(db: &Db, session: &str, events: &[NewEvent]) -> anyhow::Result<Completed> {
    let mut completed = Vec::with_capacity(events.len());
    for event in events {
        let mut event = event.clone();
        for jid in event.payload.jid_refs() {
            let Some((form, user)) = jid.known_form() else { continue };
            if let Some(pair) = device::known_mapping(db, session, form, user).await? {
                jid.complete(&pair.phone_number, &pair.lid);
            }
        }
        completed.push(event);
    }
    Ok(Completed(completed))
}

/// Queues on `tx` the insert of each of `events` for `session` (see [`Queue::defer`]), each
/// with a new id (`evt_<ULID>`, increasing, so the outbox reads in order).
pub fn append(tx: &mut impl Queue, session: &str, events: &Completed) {
    for event in &events.0 {
        tx.defer("INSERT INTO events (id, session, event, payload, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(crate::ids::new("evt"))
            .bind(session)
            .bind(event.kind().as_str())
            .bind(event.payload.to_value().to_string())
            .bind(now_ms());
    }
}

/// Writes `events` for `session` in one transaction of their own (events that reflect no stored
/// state, such as presence or calls).
pub async fn write(db: &Db, session: &str, events: &[NewEvent]) -> anyhow::Result<()> {
    let events = complete(db, session, events).await?;
    let mut batch = db.disjoint_batch();
    append(&mut batch, session, &events);
    batch.commit(db).await.context("commit")?;
    db.events_written();
    Ok(())
}

/// Appends `events` for `session` to `tx`, commits it and wakes delivery: how every transaction
/// that changes state ends, so the state and the events announcing it land together.
pub(super) async fn commit_with(mut tx: WriteTx, db: &Db, session: &str, events: &Completed) -> anyhow::Result<()> {
    append(&mut tx, session, events);
    tx.commit().await.context("commit")?;
    db.events_written();
    Ok(())
}

/// Up to `limit` events after `after` (by id), for a stream that resumes.
pub async fn after(db: &Db, after: &str, limit: i64) -> anyhow::Result<Vec<Envelope>> {
    let rows =
        sqlx::query("SELECT id, session, event, payload, created_at FROM events WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&db.pool)
            .await?;
    rows.iter().map(envelope).collect()
}

fn envelope(row: &AnyRow) -> anyhow::Result<Envelope> {
    let payload: String = row.try_get("payload")?;
    Ok(Envelope::new(
        row.try_get("id")?,
        row.try_get("event")?,
        row.try_get::<Option<String>, _>("session")?.unwrap_or_default(),
        row.try_get("created_at")?,
        &payload,
    ))
}

/// An event just fanned out, with the deliveries made for it (delivery id, webhook id).
#[derive(Debug)]
pub struct Fanned {
    /// The event.
    pub envelope: Envelope,
    /// One delivery per matching webhook.
    pub deliveries: Vec<(String, String)>,
}

/// Whose events a fan-out takes.
#[derive(Debug, Clone, Copy)]
pub enum Takes<'a> {
    /// Every event (one server alone on its database).
    All,
    /// Several servers share the database: the events of the sessions `server` holds a live
    /// lease for, and with `orphans` also those of sessions no server holds one for. Each
    /// session's events are then fanned out, and so ordered, by one server at a time.
    Leased {
        /// This server's id.
        server: &'a str,
        /// Whether this server also takes the sessions no server runs.
        orphans: bool,
    },
}

/// Rows per multi-row delivery insert (5 parameters each, well under SQLite's fast range).
const INSERT_CHUNK: usize = 150;

/// Takes up to `limit` events not yet fanned out, creates a pending delivery for each webhook
/// `route` names for it, and flags them, all or nothing: every committed event gets its
/// deliveries exactly once, whatever order concurrent writers committed in. `route` knows the
/// webhooks of list version `hooks`; `None` (nothing done) when the list has changed since (on
/// another server, say), so that no event is routed without a webhook created before it.
///
/// On SQLite (one server, and fan-outs taking turns on [`Db`]'s lock) the events are read from
/// the read pool and flagged in a round: the fan-out, which runs whenever events are written,
/// never holds the writer every other write waits for. On PostgreSQL it is one transaction that
/// locks the events it takes.
pub async fn fan_out(
    db: &Db,
    takes: Takes<'_>,
    limit: i64,
    hooks: super::webhooks::Version,
    route: impl Fn(&Envelope) -> Vec<String>,
) -> anyhow::Result<Option<Vec<Fanned>>> {
    match db.engine {
        super::Engine::Sqlite => {
            let _turn = db.fan_out_turn().await;
            let mut conn = db.pool.acquire().await.context("acquire")?;
            let taken = take(&mut conn, takes, limit, hooks, "", route).await?;
            drop(conn);
            let fanned = match taken {
                Some(fanned) if !fanned.is_empty() => fanned,
                nothing => return Ok(nothing),
            };
            let mut batch = db.batch();
            flag(&mut batch, &fanned);
            batch.commit(db).await.context("commit")?;
            Ok(Some(fanned))
        }
        super::Engine::Postgres => {
            let mut tx = db.begin_write().await.context("begin")?;
            // An event another server is fanning out right now is waited for, not skipped. A
            // session's events are so fanned out in order even while the session changes servers
            // (the server it left may still hold an older one), and their deliveries' ids follow
            // that order.
            let taken = take(&mut tx, takes, limit, hooks, " FOR UPDATE OF e", route).await?;
            let fanned = match taken {
                Some(fanned) if !fanned.is_empty() => fanned,
                nothing => return Ok(nothing),
            };
            flag(&mut tx, &fanned);
            tx.commit().await.context("commit")?;
            Ok(Some(fanned))
        }
    }
}

/// Reads on `conn` up to `limit` events not yet fanned out (with `lock` after the query), and
/// routes each; `None` when the webhook list is no longer version `hooks`.
async fn take(
    conn: &mut AnyConnection,
    takes: Takes<'_>,
    limit: i64,
    hooks: super::webhooks::Version,
    lock: &str,
    route: impl Fn(&Envelope) -> Vec<String>,
) -> anyhow::Result<Option<Vec<Fanned>>> {
    let (whose, server, orphans) = match takes {
        Takes::All => (String::new(), "", false),
        Takes::Leased { server, orphans } => (super::cluster::events_of_leased(), server, orphans),
    };
    let sql = format!(
        "SELECT id, session, event, payload, created_at FROM events e WHERE fanned_out = 0{whose} \
         ORDER BY id LIMIT $1{lock}"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit);
    if !whose.is_empty() {
        query = query.bind(server).bind(i64::from(orphans));
    }
    let rows = query.fetch_all(&mut *conn).await?;
    if rows.is_empty() {
        return Ok(Some(Vec::new()));
    }
    // Read after the events: a webhook committed before any of them is counted here.
    if super::webhooks::version(&mut *conn).await? != hooks {
        return Ok(None);
    }
    rows.iter()
        .map(|row| {
            let envelope = envelope(row)?;
            let deliveries = route(&envelope)
                .into_iter()
                .map(|webhook| (crate::ids::new("dlv"), webhook))
                .collect();
            Ok(Fanned { envelope, deliveries })
        })
        .collect::<anyhow::Result<_>>()
        .map(Some)
}

/// Queues on `tx` the deliveries of `fanned` and the flag on their events.
fn flag(tx: &mut impl Queue, fanned: &[Fanned]) {
    let now = now_ms();
    let rows: Vec<(&str, &str, &str, &str)> = fanned
        .iter()
        .flat_map(|f| {
            f.deliveries.iter().map(move |(id, webhook)| {
                (
                    id.as_str(),
                    webhook.as_str(),
                    f.envelope.id.as_str(),
                    f.envelope.session.as_str(),
                )
            })
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = i * 5;
                format!(
                    "(${}, ${}, ${}, ${}, 'pending', 0, ${n}, ${n}, ${n})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    n = p + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO deliveries (id, webhook_id, event_id, session, state, attempts, next_attempt_at, \
             created_at, updated_at) VALUES {}",
            values.join(", ")
        );
        let mut query = tx.defer(&sql);
        for (id, webhook, event, session) in chunk {
            query = query.bind(*id).bind(*webhook).bind(*event).bind(*session).bind(now);
        }
    }
    for chunk in fanned.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let mut query = tx.defer(&format!(
            "UPDATE events SET fanned_out = 1 WHERE id IN ({})",
            marks.join(", ")
        ));
        for f in chunk {
            query = query.bind(&f.envelope.id);
        }
    }
}

/// Deletes what is older than `cutoff` (ms since epoch) and fully handled: delivered deliveries,
/// then fanned-out events that no delivery refers to any more. Pending and dead deliveries, and
/// their events, are kept. Returns how many events and deliveries went.
pub async fn prune(db: &Db, cutoff: i64) -> anyhow::Result<(u64, u64)> {
    let deliveries = sqlx::query("DELETE FROM deliveries WHERE state = 'delivered' AND updated_at < $1")
        .bind(cutoff)
        .write(db)
        .await?
        .rows_affected();
    let events = sqlx::query(
        "DELETE FROM events WHERE fanned_out = 1 AND created_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)",
    )
    .bind(cutoff)
    .write(db)
    .await?
    .rows_affected();
    Ok((events, deliveries))
}
