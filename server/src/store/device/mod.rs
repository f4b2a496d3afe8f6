//! whatsapp-rust's key store on the server's own database: the `wa_*` tables, one set of rows per
//! Titan session. [`DeviceStore`] implements the library's five storage traits, so it is a
//! [`Backend`](whatsapp_rust::store::traits::Backend) a client can be built on.
//!
//! One file per trait: `signal.rs` (Signal keys and sessions), `app_sync.rs` (app-state keys,
//! versions and MACs), `protocol.rs` (device lists, LID mappings, tokens, retry payloads…),
//! `msg_secret.rs` (message secrets) and `device_row.rs` (the session's own device).
//!
//! Every write the client asks for goes through [`DeviceStore::write`], `execute_all` or a
//! transaction from `begin`: when several servers share the database, each checks the session's
//! lease against the store's fence (within the write's first statement, or as a transaction's
//! first statement), so a server paused past its lease cannot overwrite the new owner's keys and
//! sessions. ([`wipe`], run when a session is logged out or deleted, is not fenced.)

mod app_sync;
mod device_row;
mod known_mappings;
mod msg_secret;
mod protocol;
mod signal;

pub(crate) use known_mappings::{KnownMappings, known_entry, known_mapping};
pub(crate) use protocol::{lids_of_phones, mapping_of_lid, mapping_of_phone};

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::Arc;

use anyhow::Context;
use sqlx::AssertSqlSafe;
use whatsapp_rust::store::error::StoreError;
use whatsapp_rust::store::traits::TcTokenEntry;

use super::cluster::{self, Fence, Fenced};
use super::kept::Kept;
use super::{AnyQuery, Db, Write, WriteTx, placeholders};

/// whatsapp-rust's storage for one Titan session, on the server's own database.
#[derive(Debug, Clone)]
pub struct DeviceStore {
    db: Db,
    session: Arc<str>,
    /// The session's lease as this server took it, when servers share the database: every
    /// write commits only while the lease still carries it.
    fence: Option<Fence>,
    /// The trusted-contact tokens read so far. whatsapp-rust reads the recipient's token before
    /// every 1:1 message it sends; the tokens change rarely, and only through this store while
    /// it lives (one run of the session's client: on SQLite this server is the only writer, and
    /// with several servers the lease fences every other server's writes out).
    tc_tokens: Arc<Kept<Option<TcTokenEntry>>>,
}

impl DeviceStore {
    /// A store for `session`'s rows in `db`, writing under `fence` when given (nothing is read
    /// or written until the client asks). What this server kept of the session's LID mappings
    /// is forgotten: another server may have changed them while it ran the session.
    pub fn new(db: Db, session: &str, fence: Option<Fence>) -> Self {
        db.mappings_changed(session);
        Self {
            db,
            session: Arc::from(session),
            fence,
            tc_tokens: Arc::default(),
        }
    }
}

/// Every device-store table: [`wipe`] empties a session from each of them.
const TABLES: [&str; 18] = [
    "wa_device",
    "wa_identities",
    "wa_sessions",
    "wa_prekeys",
    "wa_signed_prekeys",
    "wa_sender_keys",
    "wa_app_state_keys",
    "wa_app_state_versions",
    "wa_app_state_mutation_macs",
    "wa_base_keys",
    "wa_device_registry",
    "wa_group_metadata",
    "wa_lid_pn_mapping",
    "wa_sender_key_devices",
    "wa_tc_tokens",
    "wa_sent_messages",
    "wa_pending_inbound_messages",
    "wa_msg_secrets",
];

/// Deletes every device-store row of `session` (logout / delete wipes keys).
pub async fn wipe(db: &Db, session: &str) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await.context("begin device store wipe")?;
    for table in TABLES {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE session = $1")))
            .bind(session)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("wipe {table}"))?;
    }
    tx.commit().await.context("commit device store wipe")?;
    db.mappings_changed(session);
    Ok(())
}

/// Whether `session` has a stored device row (i.e. was paired/built before).
pub async fn exists(db: &Db, session: &str) -> anyhow::Result<bool> {
    device_row_exists(db, session).await.context("look up device row")
}

/// The one query behind [`exists`] and the trait's `exists`.
async fn device_row_exists(db: &Db, session: &str) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT 1 FROM wa_device WHERE session = $1")
        .bind(session)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}

/// The statements that write `rows` (see [`DeviceStore::insert_rows`]): none for no rows.
fn inserts<T>(
    into: &str,
    columns: usize,
    conflict: &str,
    rows: &[&T],
    bind: impl Fn(AnyQuery, &T) -> AnyQuery,
) -> Vec<AnyQuery> {
    rows.chunks(MAX_BINDS / columns)
        .map(|chunk| {
            let sql = format!(
                "INSERT INTO {into} VALUES {} {conflict}",
                values_rows(chunk.len(), columns)
            );
            chunk
                .iter()
                .fold(sqlx::query(AssertSqlSafe(sql)), |query, row| bind(query, row))
        })
        .collect()
}

/// The most bind parameters one statement carries. Far below SQLite's 32766 and PostgreSQL's
/// 65535 because SQLite resolves named (`$N`) parameters with a linear search each, so a
/// statement's parse time grows with the square of its parameter count (the conformance suite's
/// large batches: 11.5 s at 30,000 per statement, 0.4 s at 1,000); PostgreSQL is as fast either way.
const MAX_BINDS: usize = 1_000;

/// A failed query, naming the store operation it belonged to.
#[derive(Debug, thiserror::Error)]
#[error("device store: {op} failed")]
struct QueryFailed {
    op: &'static str,
    #[source]
    source: sqlx::Error,
}

/// Maps a sqlx error of operation `op` into the library's error type: pool and I/O trouble is a
/// connection error, anything else a database error.
fn db_err(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| {
        let connection = matches!(
            source,
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
        );
        let error = Box::new(QueryFailed { op, source });
        if connection {
            StoreError::Connection(error)
        } else {
            StoreError::Database(error)
        }
    }
}

/// Maps a JSON (de)serialization error of a stored value.
fn json_err(error: serde_json::Error) -> StoreError {
    StoreError::Serialization(Box::new(error))
}

/// An integer that does not fit the type it is converted to (a corrupt row, or a value beyond
/// what a BIGINT column holds).
fn out_of_range(what: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::Validation(format!("{what} {value} is out of range"))
}

/// How many rows a DELETE removed, as the library counts them.
fn removed(rows: u64) -> u32 {
    u32::try_from(rows).unwrap_or(u32::MAX)
}

/// Maps a failed lease check of operation `op`: a lost lease is a database error naming it.
fn fence_err(op: &'static str) -> impl FnOnce(anyhow::Error) -> StoreError {
    move |error| match error.downcast::<sqlx::Error>() {
        Ok(source) => db_err(op)(source),
        Err(error) => StoreError::Database(error.context(format!("device store: {op} refused")).into()),
    }
}

/// `($1, …, $c), ($c+1, …), …` for `rows` rows of `columns` placeholders.
fn values_rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(columns, row * columns + 1)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of `rows` whose key is not repeated later, in order: a multi-row upsert must not
/// touch a row twice (PostgreSQL refuses it), and the last write of a key is the one that wins.
fn last_per_key<'a, T, K: Eq + Hash>(rows: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut seen = HashSet::with_capacity(rows.len());
    let mut kept: Vec<&T> = rows.iter().rev().filter(|row| seen.insert(key(row))).collect();
    kept.reverse();
    kept
}

/// The statements of `template` for `items`: its `{in}` becomes a list of placeholders after
/// the `leading` ones that `bind_leading` fills, chunked under [`MAX_BINDS`].
fn in_list_queries<'a, T>(
    template: &'a str,
    leading: usize,
    items: &'a [T],
    bind_leading: impl Fn(AnyQuery) -> AnyQuery + 'a,
    bind: impl Fn(AnyQuery, &T) -> AnyQuery + 'a,
) -> impl Iterator<Item = AnyQuery> + 'a {
    items.chunks(MAX_BINDS - leading).map(move |chunk| {
        let sql = template.replace("{in}", &placeholders(chunk.len(), leading + 1));
        chunk.iter().fold(bind_leading(sqlx::query(AssertSqlSafe(sql))), &bind)
    })
}

impl DeviceStore {
    /// Opens a write transaction; under a fence its first statement checks the lease and holds
    /// it until the transaction ends, so the lease cannot change hands while the write commits.
    async fn begin(&self, op: &'static str) -> Result<WriteTx, StoreError> {
        let mut tx = self.db.begin_write().await.map_err(db_err(op))?;
        if let Some(fence) = &self.fence {
            cluster::check(&mut tx, &self.session, fence)
                .await
                .map_err(fence_err(op))?;
        }
        Ok(tx)
    }

    /// Runs one write statement (under a fence, one that also checks the lease); the rows it
    /// changed.
    async fn write(&self, op: &'static str, query: AnyQuery) -> Result<u64, StoreError> {
        let done = self.fenced(op, query)?.write(&self.db).await;
        self.written(op, done).map(|done| done.rows_affected())
    }

    /// Runs `queries` as one write: none when there are none, one alone as [`Self::write`] does,
    /// more in one transaction (on SQLite, in a round with the writes waiting at the time), whose
    /// first statement under a fence also checks the lease and holds it until the commit.
    async fn execute_all(&self, op: &'static str, queries: Vec<AnyQuery>) -> Result<(), StoreError> {
        let mut queries = match <[AnyQuery; 1]>::try_from(queries) {
            Ok([query]) => return self.write(op, query).await.map(drop),
            Err(queries) => queries.into_iter(),
        };
        let Some(first) = queries.next() else {
            return Ok(());
        };
        let mut batch = self.db.batch();
        batch.push(self.fenced(op, first)?);
        queries.for_each(|query| batch.push(query));
        let committed = batch.commit(&self.db).await;
        self.written(op, committed)
    }

    /// `query`, which under a fence also checks the lease (see [`cluster::fenced`]).
    fn fenced(&self, op: &'static str, query: AnyQuery) -> Result<AnyQuery, StoreError> {
        match &self.fence {
            Some(fence) => cluster::fenced(query, &self.session, fence).map_err(db_err(op)),
            None => Ok(query),
        }
    }

    /// The outcome of a write made through [`Self::fenced`]: a lease check that refused it is
    /// [`Fenced`].
    fn written<T>(&self, op: &'static str, outcome: sqlx::Result<T>) -> Result<T, StoreError> {
        match outcome {
            Ok(done) => Ok(done),
            Err(error) if cluster::refused(&error) => Err(fence_err(op)(Fenced(self.session.to_string()).into())),
            Err(error) => Err(db_err(op)(error)),
        }
    }

    /// Writes `rows` with `INSERT INTO {into} VALUES (…), (…) {conflict}` where each row binds
    /// `columns` values through `bind`; statements are chunked under [`MAX_BINDS`] and run in one
    /// transaction when there is more than one.
    async fn insert_rows<T: Sync>(
        &self,
        op: &'static str,
        into: &str,
        columns: usize,
        conflict: &str,
        rows: &[&T],
        bind: impl Fn(AnyQuery, &T) -> AnyQuery + Send + Sync,
    ) -> Result<(), StoreError> {
        self.execute_all(op, inserts(into, columns, conflict, rows, bind)).await
    }
}
