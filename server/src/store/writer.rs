//! Where writes go: on PostgreSQL the shared pool, on SQLite one writer at a time, whose writes
//! known up front run in rounds.
//!
//! SQLite takes one writer at a time. A write whose statements are all known up front (one
//! statement, or a [`super::WriteBatch`]) is handed to the rounds' thread, which takes every such
//! write waiting when it gets its turn and runs them as one transaction (a round), each write
//! all or nothing: a write that fails is rolled back alone, and the others land.
//! The round runs on the thread's own connection ([`RoundConnection`]), statement after statement
//! in place, each prepared once.
//!
//! A transaction that reads between its statements ([`super::WriteTx`]) holds a connection Titan
//! keeps itself, behind a fair lock the rounds take their turns on too. A one-connection sqlx pool
//! made each turn longer than the write: it pings the connection when it hands it out and again
//! when it takes it back, and takes it back from a spawned task, all while the next writer waits
//! (see the README's measured performance).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sqlx::any::{AnyArguments, AnyConnectOptions, AnyQueryResult};
use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard, mpsc, oneshot};

use super::queue::Joined;
use super::rounds::{RoundConnection, Statement};

/// Where [`super::Db`]'s writes go.
#[derive(Debug, Clone)]
pub(super) enum Writer {
    /// SQLite: the one write connection.
    Sqlite(Arc<SqliteWriter>),
    /// PostgreSQL: the shared pool (PostgreSQL runs writers side by side).
    Postgres(AnyPool),
}

/// The most writes one round takes.
const ROUND_MAX: usize = 512;

/// How long [`SqliteWriter::restart_log`] waits for readers still in the log, holding the
/// writer, in milliseconds (SQLite's busy handler sleeps 1, 2, 5, 10… ms in between).
const RESTART_WAIT_MS: i64 = 100;

/// SQLite's writer: writes known up front go to the rounds' thread ([`SqliteWriter::write`]),
/// transactions hold the write connection ([`SqliteWriter::begin`]).
#[derive(Debug)]
pub(super) struct SqliteWriter {
    connection: Arc<WriteConnection>,
    /// The rounds' thread takes the writes from here; it ends when the writer is dropped.
    writes: mpsc::UnboundedSender<Write>,
}

/// The transactions' write connection and what keeps it usable, shared with the rounds' thread
/// (which takes its turns on the same lock).
#[derive(Debug)]
struct WriteConnection {
    /// How to open it again after it broke.
    options: AnyConnectOptions,
    /// The connection, `None` before it is opened or after it broke.
    slot: Arc<Mutex<Slot>>,
    /// A transaction was left open (its writer gave up): the next holder rolls it back first.
    abandoned: AtomicBool,
    /// Rounds run, counted.
    rounds: AtomicU64,
    /// Writes those rounds carried, counted.
    round_writes: AtomicU64,
}

/// What the lock guards.
#[derive(Debug, Default)]
struct Slot {
    conn: Option<AnyConnection>,
    closed: bool,
}

/// The write connection, held: no other writer runs until it is dropped.
type Held = OwnedMappedMutexGuard<Slot, AnyConnection>;

/// A write waiting for a round, and where its outcome goes.
struct Write {
    statements: Vec<Statement>,
    done: oneshot::Sender<sqlx::Result<Vec<AnyQueryResult>>>,
}

impl SqliteWriter {
    /// Opens the write connection of the SQLite database `options` points at (the file `path`),
    /// and starts the thread that runs its rounds.
    pub(super) async fn open(options: AnyConnectOptions, path: &str) -> sqlx::Result<Arc<Self>> {
        let connection = Arc::new(WriteConnection {
            options,
            slot: Arc::default(),
            abandoned: AtomicBool::new(false),
            rounds: AtomicU64::new(0),
            round_writes: AtomicU64::new(0),
        });
        connection.slot.lock().await.conn = Some(connection.connect().await?);
        let (writes, queued) = mpsc::unbounded_channel();
        let rounds = Arc::clone(&connection);
        let path = path.to_owned();
        // The rounds run SQLite in place: a thread of their own, off the server's runtime.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(sqlx::Error::Io)?;
        std::thread::Builder::new()
            .name("sqlite-rounds".into())
            .spawn(move || rounds.rounds(&runtime, &path, queued))
            .map_err(sqlx::Error::Io)?;
        Ok(Arc::new(Self { connection, writes }))
    }

    /// Runs `statements` all or nothing, in a round with whatever other writes wait at the
    /// time; the outcome of each. Once called, the write runs even if the caller stops waiting.
    pub(super) async fn write(&self, statements: Vec<Statement>) -> sqlx::Result<Vec<AnyQueryResult>> {
        let (done, outcome) = oneshot::channel();
        self.writes
            .send(Write { statements, done })
            .map_err(|_| sqlx::Error::PoolClosed)?;
        outcome.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }

    /// Begins a transaction that takes the write lock at once (`BEGIN IMMEDIATE`), holding the
    /// connection until it ends.
    pub(super) async fn begin(&self) -> sqlx::Result<HeldTx> {
        let mut tx = HeldTx {
            conn: self.connection.hold().await?,
            connection: Arc::clone(&self.connection),
            ended: false,
        };
        // Dropped from here on (cancelled, or the begin failed), `tx` leaves the rollback to the
        // next holder.
        sqlx::query("BEGIN IMMEDIATE").execute(tx.conn()).await?;
        Ok(tx)
    }

    /// Copies the rest of the write-ahead log into the database file, holding the write
    /// connection so that no write comes between, and waits for the readers still reading the
    /// log: the next write then starts the log over at its beginning (`RESTART`), instead of
    /// appending to it. Writes wait meanwhile, so it waits [`RESTART_WAIT_MS`] at most for
    /// readers; if one reads longer, the log goes on and a later checkpoint tries again.
    pub(super) async fn restart_log(&self) -> sqlx::Result<()> {
        let mut conn = self.connection.hold().await?;
        let usual: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(&mut *conn).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA busy_timeout = {RESTART_WAIT_MS}")))
            .execute(&mut *conn)
            .await?;
        let restarted = sqlx::query("PRAGMA wal_checkpoint(RESTART)").execute(&mut *conn).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA busy_timeout = {usual}")))
            .execute(&mut *conn)
            .await?;
        restarted.map(drop)
    }

    /// The rounds run so far and the writes they carried, in Prometheus' text format: how many
    /// writes share a round trip to the write connection.
    pub(super) fn metrics(&self) -> String {
        format!(
            "# HELP titan_sqlite_write_rounds_total Round trips to the SQLite write connection that ran the writes waiting at the time, as one transaction.\n\
             # TYPE titan_sqlite_write_rounds_total counter\n\
             titan_sqlite_write_rounds_total {}\n\
             # HELP titan_sqlite_round_writes_total Writes run in those rounds.\n\
             # TYPE titan_sqlite_round_writes_total counter\n\
             titan_sqlite_round_writes_total {}\n",
            self.connection.rounds.load(Ordering::Relaxed),
            self.connection.round_writes.load(Ordering::Relaxed),
        )
    }

    /// Closes the connection once the writer holding it is done; later writes fail with
    /// [`sqlx::Error::PoolClosed`].
    pub(super) async fn close(&self) {
        let mut slot = self.connection.slot.lock().await;
        slot.closed = true;
        if let Some(conn) = slot.conn.take()
            && let Err(error) = conn.close().await
        {
            tracing::warn!(%error, "cannot close the SQLite write connection");
        }
    }
}

impl WriteConnection {
    /// A new connection, set up for writing: commits leave the log unsynced (`NORMAL`) and never
    /// checkpoint, both left to [`super::durable::WalSync`]; a long log is cut back when it
    /// starts over.
    async fn connect(&self) -> sqlx::Result<AnyConnection> {
        let mut conn = AnyConnection::connect_with(&self.options).await?;
        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut conn).await?;
        sqlx::query("PRAGMA wal_autocheckpoint = 0").execute(&mut conn).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PRAGMA journal_size_limit = {}",
            super::durable::LOG_KEPT
        )))
        .execute(&mut conn)
        .await?;
        Ok(conn)
    }

    /// Waits for the connection, then holds it. A transaction a previous holder left open is
    /// rolled back first; a connection that cannot say so is replaced.
    async fn hold(&self) -> sqlx::Result<Held> {
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

    /// The rounds' thread: waits for a write, then for the connection, and runs every write
    /// waiting by then (up to [`ROUND_MAX`]) as one round on `rounds`, its own connection to the
    /// file at `path`; until the writer is dropped. `runtime` waits for the connection.
    fn rounds(&self, runtime: &tokio::runtime::Runtime, path: &str, mut queued: mpsc::UnboundedReceiver<Write>) {
        let mut rounds: Option<RoundConnection> = None;
        while let Some(first) = queued.blocking_recv() {
            let mut writes = vec![first];
            // Held for the round: a transaction on the other connection cannot run meanwhile.
            let held = runtime.block_on(self.hold());
            while writes.len() < ROUND_MAX
                && let Ok(write) = queued.try_recv()
            {
                writes.push(write);
            }
            self.rounds.fetch_add(1, Ordering::Relaxed);
            self.round_writes.fetch_add(writes.len() as u64, Ordering::Relaxed);
            let outcomes = match held {
                Ok(_held) => {
                    let conn = match rounds.take() {
                        Some(conn) => Ok(conn),
                        None => RoundConnection::open(path),
                    };
                    conn.and_then(|mut conn| {
                        let outcomes = conn.round(writes.iter().map(|write| write.statements.as_slice()))?;
                        rounds = Some(conn);
                        Ok(outcomes)
                    })
                }
                Err(error) => Err(error),
            };
            match outcomes {
                Ok(outcomes) => {
                    for (write, outcome) in writes.into_iter().zip(outcomes) {
                        let _ = write.done.send(outcome);
                    }
                }
                Err(error) => {
                    // Nothing of the round was kept (its connection, dropped, rolled it back).
                    tracing::warn!(%error, writes = writes.len(), "a round of SQLite writes failed");
                    for write in writes {
                        let _ = write.done.send(Err(again(&error)));
                    }
                }
            }
        }
    }
}

/// `error` once more, for each write of a round it failed.
fn again(error: &sqlx::Error) -> sqlx::Error {
    match error {
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        other => sqlx::Error::Io(std::io::Error::other(other.to_string())),
    }
}

/// A transaction on the held write connection. Dropped before [`HeldTx::commit_after`]
/// succeeded, it is rolled back by the next holder, before that holder's own statements.
#[derive(Debug)]
pub(super) struct HeldTx {
    conn: Held,
    connection: Arc<WriteConnection>,
    ended: bool,
}

impl HeldTx {
    /// Runs `statements` (none with results to read) and commits, in one round trip to the
    /// connection's thread; then lets the next writer in.
    pub(super) async fn commit_after(mut self, mut statements: Joined) -> sqlx::Result<()> {
        statements.push("COMMIT", AnyArguments::default());
        sqlx::query_with(sqlx::AssertSqlSafe(statements.sql), statements.args)
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
            // Set before the connection is let go: the next holder sees the flag.
            self.connection.abandoned.store(true, Ordering::Release);
        }
    }
}
