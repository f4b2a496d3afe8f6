//! Several servers on one PostgreSQL database: the `servers` registry (who is alive, and where
//! the others reach it) and the `leases` that give each running session, and each server-wide
//! duty, exactly one owner. Every time is the database's clock, so servers whose clocks drift
//! still agree on which lease has expired.

use anyhow::Context;
use sqlx::Row;

use super::{AnyQuery, Db, Write};

/// The database's clock in ms since epoch (PostgreSQL only: leases exist only there).
const NOW: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// The lease kind of a running session (its name is the session's).
pub const SESSION: &str = "session";

/// The lease kind of a duty one server does for all (webhook delivery).
pub const ROLE: &str = "role";

/// The condition (after `WHERE …`) that keeps the events (aliased `e`) of the sessions server
/// `$2` holds a live lease for and, when `$3` is 1, of those no server holds one for.
pub fn events_of_leased() -> String {
    format!(
        " AND (EXISTS (SELECT 1 FROM leases l WHERE l.kind = '{SESSION}' AND l.name = e.session \
         AND l.owner = $2 AND l.expires_at > {NOW}) OR ($3 = 1 AND NOT EXISTS (SELECT 1 FROM leases l \
         WHERE l.kind = '{SESSION}' AND l.name = e.session AND l.expires_at > {NOW})))"
    )
}

/// Proof that a server held a lease when it last checked: its id and the lease's token. A write
/// made with a fence commits only while the lease still carries that token, so an owner that
/// was paused past its lease cannot write over the new owner's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The owning server's id.
    pub owner: String,
    /// The lease's token when it was taken.
    pub token: i64,
}

/// The write was refused: the lease behind its fence is held by another server now (or has
/// expired).
#[derive(Debug, thiserror::Error)]
#[error("this server no longer holds the lease of `{0}`")]
pub struct Fenced(pub String);

/// Who holds a session, as a server deciding where a request goes sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// No such session.
    Missing,
    /// A live lease names this server.
    Server {
        /// The owner's id.
        id: String,
        /// Where the owner takes forwarded requests.
        address: String,
    },
    /// The session should run, but no live server holds it (its owner died; another takes it
    /// over within a lease period).
    Orphaned,
    /// The session is stopped: any server may act on it.
    Idle,
}

/// One server as `/admin/cluster` lists it.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its id (new at every start).
    pub id: String,
    /// Where the others forward requests to it.
    pub address: String,
    /// When it started (ms since epoch).
    pub started_at: i64,
    /// How long ago its last heartbeat was, in ms.
    pub heartbeat_age_ms: i64,
    /// The leases it holds.
    pub leases: Vec<HeldLease>,
}

/// One lease a server holds.
#[derive(Debug, Clone)]
pub struct HeldLease {
    /// [`SESSION`] or [`ROLE`].
    pub kind: String,
    /// The session's name, or the duty's.
    pub name: String,
    /// The fencing token.
    pub token: i64,
    /// How long the server has held it, in ms.
    pub age_ms: i64,
    /// How long until it expires unless renewed, in ms.
    pub expires_in_ms: i64,
}

/// Announces (or re-announces) a server and its forwarding address.
pub async fn announce(db: &Db, id: &str, address: &str) -> anyhow::Result<()> {
    let sql = format!(
        "INSERT INTO servers (id, address, started_at, heartbeat_at) VALUES ($1, $2, {NOW}, {NOW}) \
         ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, heartbeat_at = EXCLUDED.heartbeat_at"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(address)
        .write(db)
        .await
        .context("announce this server")?;
    Ok(())
}

/// Records that the server is alive, and forgets servers silent for longer than `forget_ms`.
pub async fn heartbeat(db: &Db, id: &str, forget_ms: i64) -> anyhow::Result<()> {
    let sql = format!("UPDATE servers SET heartbeat_at = {NOW} WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).write(db).await?;
    let sql = format!("DELETE FROM servers WHERE heartbeat_at < {NOW} - $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(forget_ms).write(db).await?;
    Ok(())
}

/// A server leaving for good (a graceful stop): its leases end now, so the others take its
/// sessions over at their next look instead of after the lease period.
pub async fn leave(db: &Db, id: &str) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await.context("begin")?;
    sqlx::query("DELETE FROM leases WHERE owner = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM servers WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await.context("commit")?;
    Ok(())
}

/// Takes (or keeps) the lease `kind`/`name` for `owner` for `ttl_ms`, unless another server
/// holds it unexpired. The token grows when the lease changes hands. `None` when refused.
pub async fn acquire(db: &Db, kind: &str, name: &str, owner: &str, ttl_ms: i64) -> anyhow::Result<Option<Fence>> {
    let sql = format!(
        "INSERT INTO leases (kind, name, owner, token, acquired_at, expires_at) VALUES ($1, $2, $3, 1, {NOW}, {NOW} + $4) \
         ON CONFLICT (kind, name) DO UPDATE SET \
           token = CASE WHEN leases.owner = EXCLUDED.owner THEN leases.token ELSE leases.token + 1 END, \
           acquired_at = CASE WHEN leases.owner = EXCLUDED.owner THEN leases.acquired_at ELSE EXCLUDED.acquired_at END, \
           owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at \
         WHERE leases.owner = EXCLUDED.owner OR leases.expires_at <= {NOW} \
         RETURNING token"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(kind)
        .bind(name)
        .bind(owner)
        .bind(ttl_ms)
        .write_returning(db)
        .await
        .with_context(|| format!("acquire the {kind} lease of `{name}`"))?
        .pop();
    row.map(|row| {
        Ok(Fence {
            owner: owner.to_owned(),
            token: row.try_get("token")?,
        })
    })
    .transpose()
}

/// Extends every unexpired lease `owner` holds by `ttl_ms`, and returns them (kind, name,
/// token). A lease missing from the answer is lost: its holder must stop acting on it.
pub async fn renew(db: &Db, owner: &str, ttl_ms: i64) -> anyhow::Result<Vec<(String, String, i64)>> {
    let sql = format!(
        "UPDATE leases SET expires_at = {NOW} + $2 WHERE owner = $1 AND expires_at > {NOW} RETURNING kind, name, token"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(ttl_ms)
        .write_returning(db)
        .await
        .context("renew leases")?;
    rows.iter()
        .map(|r| Ok((r.try_get("kind")?, r.try_get("name")?, r.try_get("token")?)))
        .collect()
}

/// The sessions a server other than `owner` holds a live lease for.
pub async fn leased_elsewhere(db: &Db, owner: &str) -> anyhow::Result<Vec<String>> {
    let sql = format!("SELECT name FROM leases WHERE kind = '{SESSION}' AND owner <> $1 AND expires_at > {NOW}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .fetch_all(&db.pool)
        .await
        .context("read the sessions other servers hold")?;
    rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
}

/// Gives the lease up (its owner stopped the session, or is leaving).
pub async fn release(db: &Db, kind: &str, name: &str, owner: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM leases WHERE kind = $1 AND name = $2 AND owner = $3")
        .bind(kind)
        .bind(name)
        .bind(owner)
        .write(db)
        .await
        .with_context(|| format!("release the {kind} lease of `{name}`"))?;
    Ok(())
}

/// Fails with [`Fenced`] unless `fence` still matches the live lease of session `name`; holds
/// the lease until `tx` ends, so it cannot change hands while the write commits (the check
/// [`fenced`] writes make, run as a statement of its own).
pub async fn check(tx: &mut sqlx::AnyConnection, name: &str, fence: &Fence) -> anyhow::Result<()> {
    let checked = sqlx::query("SELECT titan_hold_lease($1, $2, $3)")
        .bind(name)
        .bind(&fence.owner)
        .bind(fence.token)
        .execute(&mut *tx)
        .await;
    match checked {
        Ok(_) => Ok(()),
        Err(error) if refused(&error) => Err(Fenced(name.to_owned()).into()),
        Err(error) => Err(error.into()),
    }
}

/// The SQLSTATE `titan_hold_lease` (migrations 0017 and 0018) raises when the caller's lease is gone.
const FENCED_SQLSTATE: &str = "TF001";

/// `query`, one write statement with no `WITH` of its own, made to commit only while `fence`
/// still matches the live lease of session `name`, within the statement itself: a
/// data-modifying CTE (the one part of a statement PostgreSQL always runs) calls
/// `titan_hold_lease`, which holds the lease until the statement commits (migration 0018: a shared
/// advisory lock that a change of hands waits for) or, when the lease has moved on, raises
/// [`FENCED_SQLSTATE`] and so undoes the write. One round trip, where
/// [`check`] in a transaction takes four (`BEGIN`, the check, the write, `COMMIT`).
pub(crate) fn fenced(mut query: AnyQuery, name: &str, fence: &Fence) -> sqlx::Result<AnyQuery> {
    use sqlx::{Arguments, Execute};
    let mut arguments = query.take_arguments().map_err(sqlx::Error::Encode)?.unwrap_or_default();
    let first = arguments.len() + 1;
    arguments.add(name.to_owned()).map_err(sqlx::Error::Encode)?;
    arguments.add(fence.owner.clone()).map_err(sqlx::Error::Encode)?;
    arguments.add(fence.token).map_err(sqlx::Error::Encode)?;
    let probe = format!(
        "fence AS (INSERT INTO fence_probe SELECT WHERE titan_hold_lease(${first}, ${}, ${}))",
        first + 1,
        first + 2
    );
    let sql = format!("WITH {probe} {}", query.sql().as_str());
    Ok(sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments))
}

/// Whether `error` is `titan_hold_lease` refusing a [`fenced`] write.
pub(crate) fn refused(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|error| error.code())
        .is_some_and(|code| code == FENCED_SQLSTATE)
}

/// Sessions that should run but that no live lease holds, in random order (so servers taking
/// them over at once rarely reach for the same one first).
pub async fn orphans(db: &Db) -> anyhow::Result<Vec<String>> {
    let sql = format!(
        "SELECT s.name FROM sessions s LEFT JOIN leases l ON l.kind = '{SESSION}' AND l.name = s.name \
         AND l.expires_at > {NOW} WHERE s.running = 1 AND l.name IS NULL ORDER BY random()"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&db.pool).await?;
    rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
}

/// How many servers have sent a heartbeat within `live_ms`, and how many sessions should run.
pub async fn load(db: &Db, live_ms: i64) -> anyhow::Result<(i64, i64)> {
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM servers WHERE heartbeat_at > {NOW} - $1) AS servers, \
         (SELECT COUNT(*) FROM sessions WHERE running = 1) AS sessions"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(live_ms)
        .fetch_one(&db.pool)
        .await?;
    Ok((row.try_get("servers")?, row.try_get("sessions")?))
}

/// Who holds session `name` now.
pub async fn holder(db: &Db, name: &str) -> anyhow::Result<Holder> {
    let sql = format!(
        "SELECT s.running, l.owner, v.address FROM sessions s \
         LEFT JOIN leases l ON l.kind = '{SESSION}' AND l.name = s.name AND l.expires_at > {NOW} \
         LEFT JOIN servers v ON v.id = l.owner WHERE s.name = $1"
    );
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(&db.pool)
        .await?
    else {
        return Ok(Holder::Missing);
    };
    let owner: Option<String> = row.try_get("owner")?;
    let address: Option<String> = row.try_get("address")?;
    Ok(match (owner, address) {
        (Some(id), Some(address)) => Holder::Server { id, address },
        _ if row.try_get::<i64, _>("running")? != 0 => Holder::Orphaned,
        _ => Holder::Idle,
    })
}

/// Every known server with the leases it holds, oldest server first.
pub async fn members(db: &Db) -> anyhow::Result<Vec<Member>> {
    let sql =
        format!("SELECT id, address, started_at, {NOW} - heartbeat_at AS age FROM servers ORDER BY started_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&db.pool).await?;
    let mut members = rows
        .iter()
        .map(|r| {
            Ok(Member {
                id: r.try_get("id")?,
                address: r.try_get("address")?,
                started_at: r.try_get("started_at")?,
                heartbeat_age_ms: r.try_get("age")?,
                leases: Vec::new(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let sql = format!(
        "SELECT owner, kind, name, token, {NOW} - acquired_at AS age, expires_at - {NOW} AS left_ms FROM leases \
         WHERE expires_at > {NOW} ORDER BY kind, name"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&db.pool).await?;
    for row in &rows {
        let owner: String = row.try_get("owner")?;
        if let Some(member) = members.iter_mut().find(|m| m.id == owner) {
            member.leases.push(HeldLease {
                kind: row.try_get("kind")?,
                name: row.try_get("name")?,
                token: row.try_get("token")?,
                age_ms: row.try_get("age")?,
                expires_in_ms: row.try_get("left_ms")?,
            });
        }
    }
    Ok(members)
}

/// The live server (heartbeat within `live_ms`) running the fewest sessions, ties broken at
/// random: where a session starting now should run. Its id and address.
pub async fn least_loaded(db: &Db, live_ms: i64) -> anyhow::Result<Option<(String, String)>> {
    let sql = format!(
        "SELECT v.id, v.address FROM servers v LEFT JOIN leases l ON l.owner = v.id AND l.kind = '{SESSION}' \
         AND l.expires_at > {NOW} WHERE v.heartbeat_at > {NOW} - $1 GROUP BY v.id, v.address \
         ORDER BY COUNT(l.name), random() LIMIT 1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(live_ms)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("address")?))).transpose()
}
