//! Where writes go: on PostgreSQL the shared pool, on SQLite one connection Titan holds itself.
//!
//! SQLite takes one writer at a time, so every write waits its turn for one connection. A
//! one-connection sqlx pool made each turn longer than the write: it pings the connection when
//! it hands it out and again when it takes it back (each ping a round trip to the connection's
//! thread), and takes it back from a spawned task, all while the next writer waits. Holding the
//! connection behind a fair lock instead, a turn is the write's own statements and nothing else
//! (see the README's measured performance).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::any::{AnyArguments, AnyConnectOptions};
use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

/// Where [`super::Db`]'s writes go.
#[derive(Debug, Clone)]
pub(super) enum Writer {
    /// SQLite: the one write connection.
    Sqlite(Arc<SqliteWriter>),
    /// PostgreSQL: the shared pool (PostgreSQL runs writers side by side).
    Postgres(AnyPool),
}

/// SQLite's write connection, handed to one writer at a time in the order they asked.
#[derive(Debug)]
pub(super) struct SqliteWriter {
    /// How to open it again after it broke.
    options: AnyConnectOptions,
    /// Whether the database is a file (not `:memory:`): its commits then leave the log unsynced
    /// and the checkpoints to [`super::durable::WalSync`].
    on_file: bool,
    /// The connection, `None` before it is opened or after it broke.
    slot: Arc<Mutex<Slot>>,
    /// A transaction was left open (its writer gave up): the next writer rolls it back first.
    abandoned: AtomicBool,
}

/// What the lock guards.
#[derive(Debug, Default)]
pub(super) struct Slot {
    conn: Option<AnyConnection>,
    closed: bool,
}

/// The write connection, held: no other writer runs until it is dropped.
pub(super) type Held = OwnedMappedMutexGuard<Slot, AnyConnection>;

impl SqliteWriter {
    /// Opens the write connection of the SQLite database `options` points at.
    pub(super) async fn open(options: AnyConnectOptions, on_file: bool) -> sqlx::Result<Arc<Self>> {
        let writer = Self {
            options,
            on_file,
            slot: Arc::default(),
            abandoned: AtomicBool::new(false),
        };
        writer.slot.lock().await.conn = Some(writer.connect().await?);
        Ok(Arc::new(writer))
    }

    /// A new connection, set up for writing: commits leave the log unsynced (`NORMAL`) and never
    /// checkpoint, both left to [`super::durable::WalSync`] on a file.
    async fn connect(&self) -> sqlx::Result<AnyConnection> {
        let mut conn = AnyConnection::connect_with(&self.options).await?;
        if self.on_file {
            sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut conn).await?;
            sqlx::query("PRAGMA wal_autocheckpoint = 0").execute(&mut conn).await?;
        }
        Ok(conn)
    }

    /// Waits for the connection, then holds it. A transaction a previous writer left open is
    /// rolled back first; a connection that cannot say so is replaced.
    pub(super) async fn hold(&self) -> sqlx::Result<Held> {
        let mut slot = Arc::clone(&self.slot).lock_owned().await;
        if slot.closed {
            return Err(sqlx::Error::PoolClosed);
        }
        if self.abandoned.swap(false, Ordering::AcqRel)
            && let Some(conn) = slot.conn.as_mut()
            && let Err(error) = sqlx::query("ROLLBACK").execute(conn).await
        {
            // Nothing to roll back (it never began, or its failed commit ended it), or the
            // connection is gone: either way a new one is in a known state.
            tracing::debug!(%error, "replacing the SQLite write connection after an abandoned transaction");
            slot.conn = None;
        }
        if slot.conn.is_none() {
            slot.conn = Some(self.connect().await?);
        }
        OwnedMutexGuard::try_map(slot, |slot| slot.conn.as_mut()).map_err(|_| sqlx::Error::PoolClosed)
    }

    /// Holds the connection for a transaction whose `BEGIN` the caller sends with its first
    /// statements.
    pub(super) async fn reserve(self: &Arc<Self>) -> sqlx::Result<HeldTx> {
        Ok(HeldTx {
            conn: self.hold().await?,
            writer: Arc::clone(self),
            ended: false,
        })
    }

    /// Begins a transaction that takes the write lock at once (`BEGIN IMMEDIATE`).
    pub(super) async fn begin(self: &Arc<Self>) -> sqlx::Result<HeldTx> {
        let mut tx = self.reserve().await?;
        // Dropped from here on (cancelled, or the begin failed), `tx` leaves the rollback to the
        // next writer.
        sqlx::query("BEGIN IMMEDIATE").execute(tx.conn()).await?;
        Ok(tx)
    }

    /// Closes the connection once the writer holding it is done; later writes fail with
    /// [`sqlx::Error::PoolClosed`].
    pub(super) async fn close(&self) {
        let mut slot = self.slot.lock().await;
        slot.closed = true;
        if let Some(conn) = slot.conn.take()
            && let Err(error) = conn.close().await
        {
            tracing::warn!(%error, "cannot close the SQLite write connection");
        }
    }
}

/// A transaction on the held write connection. Dropped before [`HeldTx::commit_after`]
/// succeeded, it is rolled back by the next writer, before that writer's own statements.
#[derive(Debug)]
pub(super) struct HeldTx {
    conn: Held,
    writer: Arc<SqliteWriter>,
    ended: bool,
}

impl HeldTx {
    /// Runs `statements` (each ended by `;`, none with results to read, `args` their arguments)
    /// and commits, in one round trip to the connection's thread; then lets the next writer in.
    pub(super) async fn commit_after(mut self, mut statements: String, args: AnyArguments) -> sqlx::Result<()> {
        statements.push_str("COMMIT");
        sqlx::query_with(sqlx::AssertSqlSafe(statements), args)
            .execute(&mut *self.conn)
            .await?;
        self.ended = true;
        Ok(())
    }

    /// The connection, inside the transaction.
    pub(super) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }

    /// The connection, for reading inside the transaction.
    pub(super) fn conn_ref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl Drop for HeldTx {
    fn drop(&mut self) {
        if !self.ended {
            // Set before the connection is let go: the next writer to hold it sees the flag.
            self.writer.abandoned.store(true, Ordering::Release);
        }
    }
}
