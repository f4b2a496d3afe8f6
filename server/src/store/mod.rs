//! Storage: one sqlx pool on SQLite (the default) or PostgreSQL, with embedded migrations.

pub mod chats;
pub mod client_rules;
pub mod cluster;
pub mod contacts;
pub mod deliveries;
pub mod device;
mod durable;
pub mod events;
pub mod groups;
pub mod idempotency;
mod kept;
pub mod keys;
pub mod labels;
pub mod messages;
pub mod objects;
pub mod presences;
mod queue;
mod rounds;
pub mod send_queue;
pub mod sessions;
pub mod statuses;
pub mod webhooks;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use durable::WalSync;
pub use durable::{Write, WriteBatch, WriteTx};
pub use queue::{Deferred, Queue};
use sqlx::AnyPool;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use tokio::sync::Notify;
use writer::{SqliteWriter, Writer};

/// A query whose arguments are already bound by value (so it can be rewritten or sent later).
pub(crate) type AnyQuery = sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>;

/// `$first, $first+1, …` for `count` placeholders.
fn placeholders(count: usize, first: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which database engine a URL points at; migrations differ per engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// An embedded SQLite file (WAL mode).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The application's database: a pool plus the engine behind it.
#[derive(Debug, Clone)]
pub struct Db {
    /// The connection pool every store module reads through.
    pub pool: AnyPool,
    /// Where every write goes ([`Db::begin_write`], [`Write`]): on SQLite one connection of its
    /// own, on PostgreSQL `pool` itself.
    writer: Writer,
    /// On a SQLite file, the shared sync of its write-ahead log every write waits for.
    wal: Option<Arc<WalSync>>,
    /// The engine behind `pool`.
    pub engine: Engine,
    /// Signalled after a commit that wrote events, so delivery starts without polling.
    outbox: Arc<Notify>,
    /// Signalled likewise for this server's live event stream.
    tail: Arc<Notify>,
    /// Taken by each fan-out of the outbox on SQLite, which reads the events it takes before it
    /// writes (see [`events::fan_out`]): two at once would both take the same events.
    fan_outs: Arc<tokio::sync::Mutex<()>>,
    /// The LID mappings read so far (see [`device::KnownMappings`]).
    known_mappings: Arc<device::KnownMappings>,
    /// On SQLite, the session rows read so far: every call for a session reads its row first,
    /// and every change to it goes through [`sessions`], which forgets it after it commits.
    kept_sessions: Option<Arc<kept::Kept<Option<sessions::SessionRecord>>>>,
}

/// How long a PostgreSQL connection may sit unused before it is pinged when handed out.
const PING_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether a pooled PostgreSQL connection may be handed out: one unused for over
/// [`PING_AFTER_IDLE`] is pinged first (the server or a proxy may have closed it meanwhile; a
/// failed ping makes the pool drop it and hand out another). One used less than that ago was
/// alive when it came back (sqlx pings each connection as it returns to the pool), and under
/// load that is nearly every hand-out: a ping each time was a round trip more per statement or
/// transaction.
async fn ping_if_idle(
    connection: &mut sqlx::AnyConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> Result<bool, sqlx::Error> {
    if meta.idle_for > PING_AFTER_IDLE {
        sqlx::Connection::ping(connection).await?;
    }
    Ok(true)
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects to `url`, creating a SQLite file (and its directory) if missing, and applies the
    /// embedded migrations. SQLite is switched to WAL so readers never wait for the writer.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres:// (got a URL with another scheme)");
        };
        let url = match engine {
            Engine::Sqlite => prepare_sqlite(url)?,
            Engine::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).context("DATABASE_URL is not a valid database URL")?;
        let max = match engine {
            Engine::Sqlite => 8,
            Engine::Postgres => 16,
        };
        // No ping (a round trip) each time a connection is handed out: a SQLite connection is a
        // file this process holds open, with no other end to hang up, and a PostgreSQL one in use
        // a moment ago is alive (see `ping_if_idle`).
        let pool = AnyPoolOptions::new().max_connections(max).test_before_acquire(false);
        let pool = match engine {
            Engine::Sqlite => pool,
            Engine::Postgres => pool.before_acquire(|connection, meta| Box::pin(ping_if_idle(connection, meta))),
        };
        let pool = pool
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot connect to the {engine:?} database"))?;
        let migrator = match engine {
            Engine::Sqlite => {
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await
                    .context("enable WAL")?;
                &SQLITE_MIGRATIONS
            }
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.context("apply database migrations")?;
        let (writer, wal) = match engine {
            Engine::Sqlite => sqlite_writer(options, sqlite_path(&url), &pool).await?,
            Engine::Postgres => (Writer::Postgres(pool.clone()), None),
        };
        Ok(Self {
            pool,
            writer,
            wal,
            engine,
            outbox: Arc::default(),
            tail: Arc::default(),
            fan_outs: Arc::default(),
            known_mappings: Arc::default(),
            kept_sessions: (engine == Engine::Sqlite).then(Arc::default),
        })
    }

    /// A transaction that will write, on the writer; its [`WriteTx::commit`] returns once the
    /// commit is durable. On SQLite it takes the write lock at `BEGIN IMMEDIATE`, so a
    /// transaction that reads before it writes cannot fail with `SQLITE_BUSY` when it first
    /// writes, even against another process writing the file.
    ///
    /// Never begin a write while holding one: on SQLite there is one writer, and it would wait
    /// for itself.
    pub async fn begin_write(&self) -> sqlx::Result<WriteTx> {
        let writing = self.wal.as_ref().map(WalSync::enter);
        let tx = match &self.writer {
            Writer::Sqlite(writer) => durable::Tx::Sqlite(writer.begin().await?),
            Writer::Postgres(pool) => durable::Tx::Postgres(pool.begin().await?),
        };
        Ok(WriteTx::new(tx, self.wal.clone(), writing))
    }

    /// A write of statements whose results nothing reads, all sent at once (see [`WriteBatch`]).
    pub fn batch(&self) -> WriteBatch {
        WriteBatch::new(false)
    }

    /// A [`Db::batch`] whose statements touch different rows and read nothing another of them
    /// writes: PostgreSQL runs them as one statement (see [`WriteBatch`]), each seeing the
    /// database as it was before the batch. A statement that changes a row another changes,
    /// or reads a table another writes, belongs in [`Db::batch`].
    pub fn disjoint_batch(&self) -> WriteBatch {
        WriteBatch::new(true)
    }

    /// On SQLite, its write rounds and the writes they carried, and on a file its durable writes
    /// and the log syncs that served them, in Prometheus' text format (nothing on PostgreSQL,
    /// whose own statistics count commits).
    pub fn metrics(&self) -> String {
        let rounds = match &self.writer {
            Writer::Sqlite(writer) => writer.metrics(),
            Writer::Postgres(_) => String::new(),
        };
        rounds + &self.wal.as_ref().map(|wal| wal.metrics()).unwrap_or_default()
    }

    /// Closes the connections, waiting for those in use to come back.
    pub async fn close(&self) {
        if let Writer::Sqlite(writer) = &self.writer {
            writer.close().await;
        }
        self.pool.close().await;
    }

    /// `FOR UPDATE` where the engine locks rows (PostgreSQL); SQLite's write lock covers it.
    pub fn for_update(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR UPDATE",
        }
    }

    /// Tells the event dispatcher and the live stream that committed events wait in the outbox.
    pub fn events_written(&self) {
        self.outbox.notify_one();
        self.tail.notify_one();
    }

    /// Forgets what is kept in memory of `session`'s LID mappings: called once a change to them
    /// has ended, and when this server starts running the session.
    fn mappings_changed(&self, session: &str) {
        self.known_mappings.forget(session);
    }

    /// Runs `write`, a change to `session`'s row, to its end even if its caller stops waiting,
    /// then forgets what is kept in memory of the row (on SQLite).
    async fn session_write<T: Send + 'static>(
        &self,
        session: &str,
        write: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        match &self.kept_sessions {
            Some(kept) => kept.write(Some(session), write).await,
            None => Ok(write.await),
        }
    }

    /// Waits for the turn of a fan-out of the outbox ([`events::fan_out`]), held until dropped.
    async fn fan_out_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.fan_outs.lock().await
    }

    /// Resolves once events were written through this `Db` since the last call (for the live
    /// stream; other servers' events are found by polling).
    pub async fn events_committed(&self) {
        self.tail.notified().await;
    }

    /// Resolves once events were written since the last call (or at once if they were).
    pub async fn events_pending(&self) {
        self.outbox.notified().await;
    }

    /// Makes sure no other server uses this SQLite file: SQLite serves one server, and two would
    /// run the same sessions at once. Holds a lock on `<file>.lock` until the returned file is
    /// dropped. Nothing to hold on PostgreSQL, where servers share sessions through leases.
    pub fn lock_single_server(&self, url: &str) -> anyhow::Result<Option<std::fs::File>> {
        let path = sqlite_path(url);
        if self.engine != Engine::Sqlite {
            return Ok(None);
        }
        let lock_path = format!("{path}.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("open {lock_path}"))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another titan server has the SQLite database {path} open; SQLite serves one server \
                 (use PostgreSQL, DATABASE_URL=postgres://…, to run several on one database)"
            ),
            Err(std::fs::TryLockError::Error(error)) => Err(error).with_context(|| format!("lock {lock_path}")),
        }
    }

    /// Whether the database answers a trivial query (for `/readyz`).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// SQLite's writer: one connection, so writers queue for it (woken the moment it is free) instead
/// of sleeping in SQLite's busy handler (1 ms, then 2, 5, 10… ms) however soon the lock frees. It
/// commits without syncing (`synchronous = NORMAL`) and without checkpointing, and writes wait
/// for the shared sync of the log instead (see [`durable`]).
async fn sqlite_writer(
    options: AnyConnectOptions,
    path: &str,
    readers: &AnyPool,
) -> anyhow::Result<(Writer, Option<Arc<WalSync>>)> {
    let writer = SqliteWriter::open(options, path)
        .await
        .context("cannot open the SQLite database's write connection")?;
    let wal = WalSync::start(path, readers.clone(), &writer);
    Ok((Writer::Sqlite(writer), Some(wal)))
}

/// The file path of a `sqlite:` URL.
fn sqlite_path(url: &str) -> &str {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    rest.split_once('?').map_or(rest, |(path, _)| path)
}

/// Makes sure the SQLite file's directory exists and that the file is created if missing.
fn prepare_sqlite(url: &str) -> anyhow::Result<String> {
    let path = sqlite_path(url);
    if path.is_empty() || path == ":memory:" {
        // Each connection would open a database of its own.
        anyhow::bail!(
            "DATABASE_URL must name a SQLite file (sqlite://path/to/titan.db); an in-memory database is not shared between the server's connections"
        );
    }
    let query = url.split_once('?').map_or("", |(_, query)| query);
    if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("create database directory {}", dir.display()))?;
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Milliseconds since the Unix epoch, the timestamp format of every table.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
