//! Aggregate text sends for issue 25, each figure printed with its configuration. The emulator
//! runs in this process; `--sessions` (50) accounts form a ring (each sends to the next) with
//! `--in-flight` (200) sends in flight in all, for `--seconds` (20) per run, after one warm-up
//! send per account (so every run starts with its Signal sessions established):
//!
//! 1. through a real `titan` process (a release sandbox build) on SQLite, then on PostgreSQL
//!    (a fresh schema in `TITAN_TEST_DATABASE_URL`, skipped when it is unset): accepted sends/s
//!    and the latency of `POST …/messages/send`;
//!    then through three `titan` processes sharing one PostgreSQL schema, each send going to
//!    the next server in turn (forwarded when another server runs its session);
//! 2. through bare whatsapp-rust clients (in-memory stores, in this process) against the same
//!    emulator: sends/s and the latency of `send_message`, the limit the server adds to.
//!
//! The SQLite run first measures, under the same load, calls that only read
//! (`GET /api/sessions/{name}`): what the HTTP API alone allows on this machine.
//!
//! Everything shares the machine's cores: the emulator, the server and this process's clients.
//! After each run the benchmark prints the processor time per send of each part (the servers,
//! PostgreSQL's processes, and this process), read from `/proc`.
//!
//! ```sh
//! cargo build --release -p titan-server --features sandbox
//! cargo bench -p titan-e2e --bench throughput       # or: -- --sessions 50 --in-flight 200 --seconds 20
//! ```

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use titan_client::Client;
use titan_client::types::{MessageType, SendMessage};
use titan_e2e::cpu::Reading;
use titan_e2e::database::{self, Engine};
use titan_e2e::process::{Server, free_port, link, metric, percentile, phone, session, wait_connected};
use wa_emulator::Emulator;
use whatsapp_rust::waproto::whatsapp as wa;

struct Options {
    sessions: usize,
    in_flight: usize,
    seconds: u64,
}

/// What one run measured.
struct Run {
    sent: usize,
    elapsed: Duration,
    latencies_ms: Vec<f64>,
    /// Transactions the database committed during the run (PostgreSQL only).
    commits: Option<i64>,
    /// Durable writes and the log syncs that served them during the run (SQLite only).
    syncs: Option<(u64, u64)>,
    /// Where the machine's processor time went during the run.
    cpu: Option<Cpu>,
}

/// Processor time used during a run, by whom (read from `/proc`): on a machine whose cores
/// everything shares, what one send costs each part is what bounds the rate.
struct Cpu {
    /// The `titan` processes, all of them (none in the bare clients' run).
    servers: Option<Duration>,
    /// PostgreSQL's processes (on PostgreSQL, when it runs on this machine).
    postgres: Option<Duration>,
    /// This process: the emulator and the clients.
    bench: Option<Duration>,
}

/// What [`Cpu`] subtracts from: readings taken as a run starts.
struct CpuStart {
    servers: Vec<u32>,
    before: [Reading; 3],
}

impl CpuStart {
    /// Readings of the processes `servers`, of PostgreSQL's (with `postgres`) and of this one.
    fn now(servers: Vec<u32>, postgres: bool) -> Self {
        let pg = if postgres {
            Reading::named("postgres")
        } else {
            Reading::default()
        };
        let before = [Reading::of(&servers), pg, Reading::own()];
        Self { servers, before }
    }

    /// What each used since [`CpuStart::now`].
    fn used(self) -> Cpu {
        let [servers, postgres, bench] = self.before;
        Cpu {
            servers: Reading::of(&self.servers).since(&servers),
            postgres: if postgres.is_empty() {
                None
            } else {
                Reading::named("postgres").since(&postgres)
            },
            bench: Reading::own().since(&bench),
        }
    }
}

impl Run {
    fn print(&self, what: &str, options: &Options) {
        println!(
            "{what}: {} sessions in a ring, {} in flight: {} sent in {:.1} s = {:.0} sends/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            options.sessions,
            options.in_flight,
            self.sent,
            self.elapsed.as_secs_f64(),
            self.rate(),
            percentile(&self.latencies_ms, 0.5),
            percentile(&self.latencies_ms, 0.99),
            self.latencies_ms.last().copied().unwrap_or_default(),
        );
        if let Some(commits) = self.commits {
            println!(
                "  {commits} database commits from the run's start to the server's stop = {:.1} per send (sender and receiver)",
                commits as f64 / self.sent.max(1) as f64
            );
        }
        if let Some(cpu) = &self.cpu {
            let per_send = |used: Option<Duration>| {
                used.map(|used| format!("{:.2} ms", used.as_secs_f64() * 1000.0 / self.sent.max(1) as f64))
            };
            let parts: Vec<String> = [
                ("servers", per_send(cpu.servers)),
                ("PostgreSQL", per_send(cpu.postgres)),
                ("this process (emulator and clients)", per_send(cpu.bench)),
            ]
            .into_iter()
            .filter_map(|(who, used)| Some(format!("{who} {}", used?)))
            .collect();
            println!(
                "  processor time per send: {} ({} cores in all)",
                parts.join(", "),
                std::thread::available_parallelism().map_or(0, usize::from)
            );
        }
        if let Some((writes, syncs)) = self.syncs {
            println!(
                "  {writes} durable writes, {syncs} log syncs = {:.1} writes per sync, {:.1} syncs per send",
                writes as f64 / syncs.max(1) as f64,
                syncs as f64 / self.sent.max(1) as f64
            );
        }
    }

    fn rate(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `send(i, n)` (account `i`'s `n`th send, answering its latency) with `in_flight` calls
/// at a time, spread evenly over the accounts, until `seconds` have passed.
async fn drive<F, Fut>(options: &Options, send: F) -> Run
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Duration> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let workers = (0..options.in_flight).map(|w| {
        let send = send.clone();
        let sessions = options.sessions;
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                latencies.push(send(w % sessions, n).await.as_secs_f64() * 1000.0);
                n += 1;
            }
            latencies
        })
    });
    let mut latencies_ms: Vec<f64> = futures::future::join_all(workers)
        .await
        .into_iter()
        .flat_map(Result::unwrap)
        .collect();
    let elapsed = started.elapsed();
    latencies_ms.sort_by(f64::total_cmp);
    Run {
        sent: latencies_ms.len(),
        elapsed,
        latencies_ms,
        commits: None,
        syncs: None,
        cpu: None,
    }
}

/// One Titan send from session `i` (phone `phones + i`) to the next account of the ring.
async fn titan_send(api: &Client, phones: usize, sessions: usize, i: usize, n: u64) -> Duration {
    let started = Instant::now();
    api.send_session_message()
        .session(session(i))
        .body(
            SendMessage::builder()
                .chat_id(format!("{}@s.whatsapp.net", phone(phones + (i + 1) % sessions)))
                .type_(MessageType::Text)
                .text(format!("bench {n}")),
        )
        .send()
        .await
        .unwrap();
    started.elapsed()
}

/// What a Titan run measured: its sends, and with `reads` first the same load of calls that
/// only read (the API's own ceiling, WhatsApp aside).
struct Titan {
    sends: Run,
    reads: Option<Run>,
}

/// The Titan run on `engine` with `servers` processes sharing the database (PostgreSQL only for
/// more than one) and accounts `phones..phones + sessions`, or `None` when that database is not
/// configured. Sends go to the servers in turn, as a load balancer would spread them: a send
/// reaching a server that does not run its session is forwarded to the one that does. With
/// `reads`, a run of `GET /api/sessions/{name}` (authentication, one database read, no WhatsApp)
/// comes first.
async fn titan(
    emulator: &Emulator,
    engine: Engine,
    servers: usize,
    phones: usize,
    reads: bool,
    options: &Options,
) -> Option<Titan> {
    let dir = tempfile::tempdir().unwrap();
    let database_url = database::fresh(engine, &dir).await.unwrap()?;
    let processes: Vec<Server> = (0..servers)
        .map(|n| {
            let dir = dir.path().join(format!("server-{n}"));
            std::fs::create_dir_all(&dir).unwrap();
            Server::spawn(emulator, &database_url, &dir, free_port())
        })
        .collect();
    for server in &processes {
        server.ready().await;
    }
    let key = processes[0].key().await;
    let apis: Arc<Vec<Client>> = Arc::new(
        processes
            .iter()
            .map(|server| titan_e2e::harness::client(&server.base, &key))
            .collect(),
    );
    let api = apis[0].clone();
    link(&api, emulator, phones, 0, options.sessions).await;
    wait_connected(&api, options.sessions).await;
    for i in 0..options.sessions {
        emulator.wait_for_prekeys(&phone(phones + i), 1).await;
    }
    let sessions = options.sessions;
    futures::stream::iter(0..sessions)
        .for_each_concurrent(16, |i| {
            let api = api.clone();
            async move {
                titan_send(&api, phones, sessions, i, 0).await;
            }
        })
        .await;
    let reads = if reads {
        let api = api.clone();
        let read = move |i: usize, _: u64| {
            let api = api.clone();
            async move {
                let started = Instant::now();
                api.get_session().session(session(i)).send().await.unwrap();
                started.elapsed()
            }
        };
        Some(drive(options, read).await)
    } else {
        None
    };
    let db = titan_server::store::Db::connect(&database_url).await.unwrap();
    let before = commits(&db).await;
    let syncs_before = log_syncs(&processes[0], engine).await;
    let cpu = CpuStart::now(processes.iter().map(Server::pid).collect(), engine == Engine::Postgres);
    let mut run = drive(options, move |i, n| {
        let apis = Arc::clone(&apis);
        async move {
            let api = &apis[usize::try_from(n).unwrap_or(0).wrapping_add(i) % apis.len()];
            titan_send(api, phones, sessions, i, n).await
        }
    })
    .await;
    run.cpu = Some(cpu.used());
    run.syncs = match (syncs_before, log_syncs(&processes[0], engine).await) {
        (Some((writes, syncs)), Some((writes_after, syncs_after))) => {
            Some((writes_after - writes, syncs_after - syncs))
        }
        _ => None,
    };
    // Stopped first: a server's connections publish what they committed when they close.
    for server in processes {
        server.stop();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    run.commits = match (before, commits(&db).await) {
        (Some(before), Some(after)) => Some(after - before),
        _ => None,
    };
    Some(Titan { sends: run, reads })
}

/// The durable writes and log syncs a server on SQLite counted so far (`None` on PostgreSQL,
/// or from a server built before it counted them).
async fn log_syncs(server: &Server, engine: Engine) -> Option<(u64, u64)> {
    if engine != Engine::Sqlite {
        return None;
    }
    let http = reqwest::Client::new();
    Some((
        metric(&http, &server.base, "titan_sqlite_durable_writes_total").await?,
        metric(&http, &server.base, "titan_sqlite_log_syncs_total").await?,
    ))
}

/// Transactions committed so far in `db`'s database, on PostgreSQL (its statistics collector
/// counts them per database, for every connection); `None` on SQLite.
async fn commits(db: &titan_server::store::Db) -> Option<i64> {
    if db.engine != titan_server::store::Engine::Postgres {
        return None;
    }
    // The collector publishes a backend's counts when its transaction ends; this reads a fresh
    // snapshot.
    sqlx::query("SELECT pg_stat_clear_snapshot()")
        .execute(&db.pool)
        .await
        .ok()?;
    sqlx::query_scalar::<_, i64>("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        .fetch_one(&db.pool)
        .await
        .ok()
}

/// The bare-client run: accounts `offset..offset + sessions` linked as whatsapp-rust clients.
async fn bare(emulator: &Emulator, offset: usize, options: &Options) -> Run {
    let mut handles = Vec::new();
    for i in 0..options.sessions {
        let (handle, events) = titan_e2e::bot::linked(emulator, &phone(offset + i)).await;
        // Nobody reads the events; dropping the receiver makes the client's sends to it fail
        // quietly instead of queueing.
        drop(events);
        handles.push(handle);
    }
    for i in 0..options.sessions {
        emulator.wait_for_prekeys(&phone(offset + i), 1).await;
    }
    let clients: Arc<Vec<_>> = Arc::new(handles.iter().map(|h| h.client()).collect());
    let sessions = options.sessions;
    let send = move |i: usize, n: u64| {
        let clients = Arc::clone(&clients);
        async move {
            let to: whatsapp_rust::Jid = format!("{}@s.whatsapp.net", phone(offset + (i + 1) % sessions))
                .parse()
                .unwrap();
            let message = wa::Message {
                conversation: Some(format!("bench {n}")),
                ..Default::default()
            };
            let started = Instant::now();
            clients[i].send_message(to, message).await.unwrap();
            started.elapsed()
        }
    };
    for i in 0..sessions {
        send(i, 0).await;
    }
    let cpu = CpuStart::now(Vec::new(), false);
    let mut run = drive(options, send).await;
    run.cpu = Some(cpu.used());
    drop(handles);
    run
}

#[tokio::main]
async fn main() {
    let value = titan_e2e::bench_flag;
    let options = Options {
        sessions: value("--sessions", 50) as usize,
        in_flight: value("--in-flight", 200) as usize,
        seconds: value("--seconds", 20),
    };
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    // Each run has accounts of its own, so no run sends to devices another run left behind.
    let sqlite = titan(&emulator, Engine::Sqlite, 1, 0, true, &options).await;
    let postgres = titan(&emulator, Engine::Postgres, 1, 100_000, false, &options).await;
    let cluster = titan(&emulator, Engine::Postgres, 3, 200_000, false, &options).await;
    let bare = bare(&emulator, 300_000, &options).await;
    let bare_rate = bare.rate();
    for (what, run) in [
        ("titan, SQLite", sqlite),
        ("titan, PostgreSQL", postgres),
        (
            "titan, 3 servers on one PostgreSQL (sends spread over all three)",
            cluster,
        ),
    ] {
        let Some(Titan { sends, reads }) = run else { continue };
        if let Some(reads) = reads {
            println!(
                "{what}, GET /api/sessions/{{name}} (authentication and one read, no WhatsApp), same load: {:.0} calls/s; latency p50 {:.1} ms, p99 {:.1} ms",
                reads.rate(),
                percentile(&reads.latencies_ms, 0.5),
                percentile(&reads.latencies_ms, 0.99),
            );
        }
        sends.print(what, &options);
        println!(
            "  = {:.0} % of the bare clients' rate",
            sends.rate() / bare_rate * 100.0
        );
    }
    bare.print("bare whatsapp-rust clients", &options);
    emulator.stop().await.unwrap();
}
