//! Writes that are on disk when they return, with one `fsync` shared by many of them (group
//! commit) on SQLite.
//!
//! SQLite's own durable commit (`synchronous = FULL`) syncs the write-ahead log inside every
//! commit, while the database's one write lock is held, so writers queue behind each other's
//! `fsync`. Titan's writer connection commits with `synchronous = NORMAL` instead (the log is
//! written, not synced), and a writer then waits for [`WalSync`]: one background `fsync` of the
//! log that began after its commit. Every commit that came before it is covered, so one `fsync`
//! serves every writer waiting at the time (and while many writes are under way, a round first
//! waits a millisecond for more to join it). A write is reported done only once its log frames are
//! on disk, as with `FULL`; after a power cut SQLite's recovery replays the log up to the last
//! synced commit, which includes every write that returned.
//!
//! The writer does not checkpoint either (copying the log's pages into the database file, then
//! syncing that file), which SQLite would otherwise do inside a commit every 1,000 pages, again
//! under the write lock: [`WalSync`] checkpoints from a reading connection while writes come,
//! and the writer goes on appending meanwhile. Such a checkpoint never catches up while writes
//! keep coming (each copies what the log held when it began), and SQLite starts the log over
//! only once all of it was copied: under steady writes the log grew without end (740 MB in 12 s
//! of the throughput benchmark, every page a new one for the kernel to allocate). So once the
//! log passes [`RESTART_FROM`] pages, a checkpoint also holds the writer for the short rest of
//! the copy (`RESTART`), and the next write starts the log over at its beginning.
//!
//! On PostgreSQL a commit is already durable (and PostgreSQL groups the flushes of concurrent
//! commits itself), so nothing waits here.

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Execute as _};
use tokio::sync::{Notify, oneshot};

use super::Db;
use super::queue::{Deferred, Joined, Queue, Queued, one_statement, run_each};
use super::rounds::Statement;
use super::writer::{HeldTx, SqliteWriter, Writer};

/// How often the log is checkpointed into the database file while writes come.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// The log's length in pages (of 4 KiB) from which a checkpoint holds the writer to finish the
/// copy, so that the log starts over (32 MiB: about half a second of the throughput benchmark's
/// writes).
const RESTART_FROM: i64 = 8192;

/// What the log file is cut back to when it starts over, in bytes (`journal_size_limit` on the
/// connections that write): a burst does not keep its length on disk, and a steady load, which
/// starts over at [`RESTART_FROM`] pages, reuses its file as it is.
pub(super) const LOG_KEPT: i64 = 2 * RESTART_FROM * 4096;

/// How long a sync round waits for more commits to join it when [`GATHER_FROM`] writes or more
/// are under way. Each round costs an `fsync` and a hop to a blocking thread and back; with 200
/// sends in flight, rounds covered 1.4 writes each without this wait (see the README).
const GATHER: Duration = Duration::from_millis(1);

/// The writes under way (waiting for the writer, writing, or waiting for the log) from which a
/// sync round waits [`GATHER`] first. Fewer wait for nothing: a few writes one after another (one
/// chat's sends) would each be delayed, for no sync saved.
const GATHER_FROM: usize = 32;

/// The shared `fsync` of a SQLite database's write-ahead log.
#[derive(Debug)]
pub(super) struct WalSync {
    /// The `-wal` file beside the database.
    wal: PathBuf,
    /// Commits that asked to be made durable, counted.
    asked: AtomicU64,
    /// Wakes the syncer when a commit asks.
    wake: Notify,
    /// The commits waiting for the next round, each to be told whether its `fsync` worked. Each
    /// is told once, by the round that covers it: waiters are not all woken by every round (a
    /// commit made while a round syncs waits for the next one).
    waiting: Mutex<Vec<oneshot::Sender<bool>>>,
    /// Rounds run, counted (each one `fsync`).
    rounds: AtomicU64,
    /// Writes under way, from the moment they ask for the writer until they are durable or given
    /// up (see [`Writing`]).
    writers: AtomicUsize,
}

/// One write under way, counted in [`WalSync`] until dropped.
#[derive(Debug)]
pub(super) struct Writing(Arc<WalSync>);

impl Drop for Writing {
    fn drop(&mut self) {
        self.0.writers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl WalSync {
    /// Starts the syncer of the log beside the SQLite file `database`, and its checkpoints on
    /// a connection of `readers` (or on `writer`'s, to start the log over).
    pub(super) fn start(database: &str, readers: AnyPool, writer: &Arc<SqliteWriter>) -> Arc<Self> {
        let sync = Arc::new(Self {
            wal: PathBuf::from(format!("{database}-wal")),
            asked: AtomicU64::new(0),
            wake: Notify::new(),
            waiting: Mutex::default(),
            rounds: AtomicU64::new(0),
            writers: AtomicUsize::new(0),
        });
        tokio::spawn(Arc::clone(&sync).run());
        tokio::spawn(Arc::clone(&sync).checkpoint(readers, Arc::downgrade(writer)));
        sync
    }

    /// Every [`CHECKPOINT_EVERY`] in which something was written, copies what the log holds
    /// into the database file (`PASSIVE`: it waits for no one and no one waits for it), and
    /// once the log is [`RESTART_FROM`] pages long, has `writer` finish the copy so that the log
    /// starts over; until the pool closes or the writer is gone.
    async fn checkpoint(self: Arc<Self>, readers: AnyPool, writer: Weak<SqliteWriter>) {
        let mut seen = 0;
        loop {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            let written = self.asked.load(Ordering::Relaxed);
            if written == seen {
                continue;
            }
            seen = written;
            // SQLite's answer: whether it was kept from copying everything, the pages in the
            // log, and the pages copied.
            let checkpointed = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&readers)
                .await;
            let outcome = match checkpointed {
                Ok((_, log, _)) if log >= RESTART_FROM => match writer.upgrade() {
                    Some(writer) => writer.restart_log().await,
                    None => return,
                },
                Ok(_) => Ok(()),
                Err(error) => Err(error),
            };
            match outcome {
                Ok(()) => {}
                Err(sqlx::Error::PoolClosed) => return,
                Err(error) => tracing::warn!(%error, "cannot checkpoint the SQLite write-ahead log"),
            }
        }
    }

    /// Counts a write under way until the returned guard is dropped.
    pub(super) fn enter(self: &Arc<Self>) -> Writing {
        self.writers.fetch_add(1, Ordering::Relaxed);
        Writing(Arc::clone(self))
    }

    /// Syncs the log whenever commits wait, each round covering every commit counted before it
    /// began. With many writes under way, a round first waits [`GATHER`] for more to join it.
    async fn run(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            if self.writers.load(Ordering::Relaxed) >= GATHER_FROM {
                tokio::time::sleep(GATHER).await;
            }
            // Every commit that asked before this line is in the log: this round's `fsync` covers it.
            let covered = std::mem::take(&mut *self.waiting.lock().unwrap_or_else(PoisonError::into_inner));
            if covered.is_empty() {
                continue;
            }
            let wal = self.wal.clone();
            // No log file: nothing was ever written to it.
            let synced = tokio::task::spawn_blocking(move || match std::fs::File::open(&wal) {
                Ok(file) => file.sync_data(),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(error) => Err(error),
            })
            .await
            .unwrap_or_else(|join| Err(std::io::Error::other(join)));
            if let Err(error) = &synced {
                tracing::error!(wal = %self.wal.display(), %error, "cannot sync the SQLite write-ahead log: the writes waiting for it fail");
            }
            self.rounds.fetch_add(1, Ordering::Relaxed);
            for waiter in covered {
                // A waiter gone (its caller gave up) needs no answer.
                let _ = waiter.send(synced.is_ok());
            }
        }
    }

    /// The writes that waited for the log so far, and the syncs that served them, in Prometheus'
    /// text format: how many writes one `fsync` covers.
    pub(super) fn metrics(&self) -> String {
        format!(
            "# HELP titan_sqlite_durable_writes_total Writes to the SQLite database that waited for its log to reach the disk.\n\
             # TYPE titan_sqlite_durable_writes_total counter\n\
             titan_sqlite_durable_writes_total {}\n\
             # HELP titan_sqlite_log_syncs_total Syncs of the SQLite write-ahead log, each covering every write waiting at the time.\n\
             # TYPE titan_sqlite_log_syncs_total counter\n\
             titan_sqlite_log_syncs_total {}\n",
            self.asked.load(Ordering::Relaxed),
            self.rounds.load(Ordering::Relaxed),
        )
    }

    /// Waits until what was committed before this call is on disk.
    pub(super) async fn wait(&self) -> sqlx::Result<()> {
        let (tell, told) = oneshot::channel();
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner).push(tell);
        self.asked.fetch_add(1, Ordering::Relaxed);
        self.wake.notify_one();
        if told.await.map_err(|_| sqlx::Error::PoolClosed)? {
            Ok(())
        } else {
            Err(sqlx::Error::Io(std::io::Error::other(
                "the SQLite write-ahead log could not be synced to disk",
            )))
        }
    }
}

/// Waits until what the writer committed so far is on disk: for `wal`'s next sync, or at once
/// without one (PostgreSQL, whose commits are durable by themselves).
pub(super) async fn settled(wal: Option<&WalSync>) -> sqlx::Result<()> {
    match wal {
        Some(wal) => wal.wait().await,
        None => Ok(()),
    }
}

/// A transaction that writes, from [`Db::begin_write`]: use it as the connection it derefs to,
/// queue the statements whose results nothing reads with [`Queue::defer`], and
/// [`WriteTx::commit`] returns once what it wrote is on disk. Dropped uncommitted, it rolls back.
#[derive(Debug)]
pub struct WriteTx {
    tx: Tx,
    queued: Queued,
    wal: Option<Arc<WalSync>>,
    _writing: Option<Writing>,
}

/// The transaction under a [`WriteTx`], per engine.
#[derive(Debug)]
pub(super) enum Tx {
    /// On SQLite's write connection.
    Sqlite(HeldTx),
    /// On a connection of PostgreSQL's pool.
    Postgres(sqlx::Transaction<'static, Any>),
}

impl WriteTx {
    pub(super) fn new(tx: Tx, wal: Option<Arc<WalSync>>, writing: Option<Writing>) -> Self {
        let queued = Queued::default();
        Self {
            tx,
            queued,
            wal,
            _writing: writing,
        }
    }

    /// Runs the queued statements and commits, and waits until the commit is durable (the next
    /// writer goes on meanwhile).
    pub async fn commit(self) -> sqlx::Result<()> {
        let Self {
            tx,
            queued,
            wal,
            _writing,
        } = self;
        match tx {
            Tx::Sqlite(tx) => tx.commit_after(queued.joined()?).await?,
            Tx::Postgres(mut tx) => {
                run_each(queued.statements()?, &mut tx).await?;
                tx.commit().await?;
            }
        }
        settled(wal.as_deref()).await
    }
}

impl Queue for WriteTx {
    fn defer(&mut self, sql: &str) -> Deferred<'_> {
        self.queued.defer(sql)
    }
}

/// A write transaction of statements whose results nothing reads, from [`Db::batch`]: queue
/// them with [`Queue::defer`], then [`WriteBatch::commit`]. On SQLite it runs in a round with the
/// other writes waiting at the time: one round trip to the connection's thread for them all,
/// against two or more for each [`WriteTx`]. On PostgreSQL a batch of one statement, or one
/// from [`Db::disjoint_batch`], runs as one statement: one round trip, no `BEGIN` or `COMMIT`.
#[derive(Debug)]
pub struct WriteBatch {
    queued: Queued,
    /// Its statements touch different rows and none reads what another writes.
    disjoint: bool,
}

impl WriteBatch {
    pub(super) fn new(disjoint: bool) -> Self {
        Self {
            queued: Queued::default(),
            disjoint,
        }
    }

    /// Queues `query`, a statement already bound, as [`Queue::defer`] would.
    pub fn push(&mut self, query: Query<'_>) {
        self.queued.push(query);
    }

    /// Runs the queued statements all or nothing, and returns once they are durable.
    pub async fn commit(self, db: &Db) -> sqlx::Result<()> {
        let _writing = db.wal.as_ref().map(WalSync::enter);
        match &db.writer {
            Writer::Sqlite(writer) => drop(writer.write(self.queued.statements()?).await?),
            Writer::Postgres(pool) => {
                let statements = self.queued.statements()?;
                let one = if statements.len() == 1 || self.disjoint {
                    one_statement(statements)
                } else {
                    Err(statements)
                };
                match one {
                    Ok((sql, args)) => {
                        sqlx::query_with(sqlx::AssertSqlSafe(sql), args).execute(pool).await?;
                    }
                    Err(statements) => {
                        let mut tx = pool.begin().await?;
                        run_each(statements, &mut tx).await?;
                        tx.commit().await?;
                    }
                }
            }
        }
        settled(db.wal.as_deref()).await
    }
}

impl Queue for WriteBatch {
    fn defer(&mut self, sql: &str) -> Deferred<'_> {
        self.queued.defer(sql)
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.tx {
            Tx::Sqlite(tx) => tx.conn_ref(),
            Tx::Postgres(tx) => tx,
        }
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.tx {
            Tx::Sqlite(tx) => tx.conn(),
            Tx::Postgres(tx) => tx,
        }
    }
}

/// A query with its arguments bound, as the store builds them.
pub(super) type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments>;

/// The statement of `query` with its arguments, for SQLite's write rounds.
pub(super) fn statement(mut query: Query<'_>) -> sqlx::Result<Statement> {
    let args = query.take_arguments().map_err(sqlx::Error::Encode)?;
    Ok((query.sql().as_str().to_owned(), args.unwrap_or_default()))
}

/// Runs a statement that writes on [`Db`]'s writer, outside any transaction, and returns once
/// it is durable. On SQLite it runs in a round with the other writes waiting at the time, so it
/// must be one statement.
pub trait Write {
    /// Executes it; the rows it changed.
    fn write(self, db: &Db) -> impl Future<Output = sqlx::Result<AnyQueryResult>> + Send;

    /// Executes it (a `… RETURNING` statement); the rows it returned.
    fn write_returning(self, db: &Db) -> impl Future<Output = sqlx::Result<Vec<AnyRow>>> + Send;
}

impl<'q> Write for Query<'q> {
    async fn write(self, db: &Db) -> sqlx::Result<AnyQueryResult> {
        let _writing = db.wal.as_ref().map(WalSync::enter);
        let done = match &db.writer {
            Writer::Sqlite(writer) => {
                let statement = statement(self)?;
                writer.write(vec![statement]).await?.pop().unwrap_or_default()
            }
            Writer::Postgres(pool) => self.execute(pool).await?,
        };
        settled(db.wal.as_deref()).await?;
        Ok(done)
    }

    async fn write_returning(self, db: &Db) -> sqlx::Result<Vec<AnyRow>> {
        let _writing = db.wal.as_ref().map(WalSync::enter);
        let rows = match &db.writer {
            // Rows come back on the transactions' connection (a round gives none back).
            Writer::Sqlite(writer) => {
                let mut tx = writer.begin().await?;
                let rows = self.fetch_all(tx.conn()).await?;
                tx.commit_after(Joined::default()).await?;
                rows
            }
            Writer::Postgres(pool) => self.fetch_all(pool).await?,
        };
        settled(db.wal.as_deref()).await?;
        Ok(rows)
    }
}
