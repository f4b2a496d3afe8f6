//! Delivery of the outbox: fan-out of committed events into per-webhook deliveries, then signed
//! POSTs with bounded concurrency, one at a time per (webhook, session) lane so each receiver
//! sees a session's events in order, retried per the webhook's policy until delivered or dead.
//! When several servers share the database, each delivers the sessions it runs (see [`Scope`]).
//! Every step is recorded in the database first or after, never only in memory: a crash at any
//! point re-delivers (at least once); receivers dedupe by the event `id`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;

use crate::events::Envelope;
use crate::outbound::GuardedResolver;
use crate::secrets::SecretBox;
use crate::store::deliveries::{self, Outcome, Pending};
use crate::store::events::Takes;
use crate::store::{Db, now_ms};
use crate::webhooks::target;
use crate::webhooks::{DeliveryState, Hook, signature};

/// Events fanned out per transaction.
const FAN_OUT_BATCH: i64 = 500;
/// Deliveries of one lane held in memory; the rest wait in the database.
const LANE_BUFFER: usize = 1000;
/// How often the outbox and the webhook list are read even without a signal (other servers
/// sharing a PostgreSQL database write there too).
const POLL: Duration = Duration::from_secs(1);
/// Webhooks are re-read this often, for changes made through other servers.
const RELOAD_WEBHOOKS: Duration = Duration::from_secs(30);
/// Largest part of a receiver's answer that is read (the rest is dropped).
const MAX_ANSWER: usize = 64 * 1024;

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Deliveries in flight at once, over all webhooks.
    pub concurrency: usize,
    /// Longest wait for one delivery (connect, send, answer).
    pub timeout: Duration,
    /// Allow targets on private networks (tests, the sandbox, trusted networks).
    pub allow_private: bool,
}

/// One (webhook, session) lane: its next deliveries in order.
#[derive(Debug, Default)]
struct Lane {
    queue: VecDeque<Pending>,
    /// An attempt is in flight for the head.
    busy: bool,
    /// Some pending deliveries are only in the database (the buffer was full, or at start).
    behind: bool,
    /// Deliveries fan-out left in the database; a reload that started before one of them
    /// cannot clear `behind`.
    skipped: u64,
    /// The greatest delivery id this lane has taken in.
    cursor: String,
}

type LaneKey = (String, String);

/// Which sessions' webhooks this server delivers.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Every session's: the server is alone on its database.
    All,
    /// Several servers share the database (see [`Shared`]).
    Shared(Arc<Shared>),
}

/// Several servers share the database: each fans out and delivers the events of the sessions it
/// runs, and the holder of the delivery lease also those of sessions no server runs (stopped or
/// deleted sessions, sessions between servers, events of no session). Each session's lanes are
/// so delivered by one server at a time, in order, and the work spreads with the sessions.
pub struct Shared {
    /// This server's id, as its leases name it.
    pub server_id: String,
    /// Whether this server runs a session now (read live: a session started here is delivered
    /// here at once).
    pub runs_here: Box<dyn Fn(&str) -> bool + Send + Sync>,
    /// The sessions other servers held a live lease for at the last look.
    pub elsewhere: HashSet<String>,
    /// Whether this server holds the delivery lease.
    pub orphans: bool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("server_id", &self.server_id)
            .field("elsewhere", &self.elsewhere.len())
            .field("orphans", &self.orphans)
            .finish_non_exhaustive()
    }
}

impl Scope {
    /// Whether this server delivers the lanes of `session` now.
    fn covers(&self, session: &str) -> bool {
        match self {
            Self::All => true,
            Self::Shared(shared) => {
                (shared.runs_here)(session) || (shared.orphans && !shared.elsewhere.contains(session))
            }
        }
    }

    /// Whether a lane of `session` stays in memory while empty: a session this server runs
    /// keeps its lanes (they are known to be caught up). A lane new to this server may have older
    /// deliveries another server fanned out, so it starts by reading the database.
    fn remembers(&self, session: &str) -> bool {
        match self {
            Self::All => false,
            Self::Shared(shared) => (shared.runs_here)(session),
        }
    }

    /// The events this server's fan-out takes.
    fn takes(&self) -> Takes<'_> {
        match self {
            Self::All => Takes::All,
            Self::Shared(shared) => Takes::Leased {
                server: &shared.server_id,
                orphans: shared.orphans,
            },
        }
    }
}

/// How far a shutdown has gone: scheduling stops first, recording once attempts are done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Running,
    NoNewAttempts,
    Stopped,
}

struct Inner {
    db: Db,
    secrets: Arc<SecretBox>,
    settings: DispatchSettings,
    http: reqwest::Client,
    hooks: RwLock<Arc<HashMap<String, Arc<Hook>>>>,
    /// The version of the webhook list `hooks` was read at.
    hooks_version: Mutex<crate::store::webhooks::Version>,
    lanes: Mutex<HashMap<LaneKey, Lane>>,
    permits: Arc<Semaphore>,
    wake: Notify,
    stop: watch::Sender<Stage>,
    /// Which sessions' webhooks this server delivers.
    scope: watch::Sender<Scope>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    /// Attempts this server made since it started: delivered, and failed.
    attempts: [AtomicU64; 2],
}

/// The delivery machinery of one server: start it once, stop it on shutdown.
pub struct Dispatcher {
    inner: Arc<Inner>,
    outcomes: Mutex<Option<mpsc::UnboundedReceiver<Outcome>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Dispatcher {
    /// A dispatcher for `db` (not running yet: see [`start`](Self::start)).
    pub fn new(db: Db, secrets: Arc<SecretBox>, settings: DispatchSettings) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .dns_resolver(GuardedResolver {
                allow_private: settings.allow_private,
            })
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("Titan-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let (outcomes, received) = mpsc::unbounded_channel();
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                secrets,
                permits: Arc::new(Semaphore::new(settings.concurrency.max(1))),
                settings,
                http,
                hooks: RwLock::default(),
                hooks_version: Mutex::default(),
                lanes: Mutex::default(),
                wake: Notify::new(),
                stop: watch::Sender::new(Stage::Running),
                scope: watch::Sender::new(Scope::All),
                outcomes,
                attempts: [AtomicU64::new(0), AtomicU64::new(0)],
            }),
            outcomes: Mutex::new(Some(received)),
            tasks: Mutex::default(),
        })
    }

    /// Loads the webhooks and the lanes with pending deliveries, and starts delivering.
    pub async fn start(&self) -> anyhow::Result<()> {
        let Some(outcomes) = lock(&self.outcomes).take() else {
            return Ok(());
        };
        self.inner.reload_hooks().await?;
        self.inner.resume_pending().await?;
        let inner = &self.inner;
        let mut tasks = lock(&self.tasks);
        tasks.push(tokio::spawn(inner.clone().fan_out_forever()));
        tasks.push(tokio::spawn(inner.clone().schedule_forever()));
        tasks.push(tokio::spawn(inner.clone().record_forever(outcomes)));
        Ok(())
    }

    /// Stops delivering: attempts in flight get a moment to finish and every outcome already
    /// known is written; whatever was not confirmed is delivered again after the next start.
    pub async fn shutdown(&self, bound: Duration) {
        self.inner.stop.send_replace(Stage::NoNewAttempts);
        let all = u32::try_from(self.inner.settings.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(bound, self.inner.permits.acquire_many(all)).await;
        self.inner.stop.send_replace(Stage::Stopped);
        let tasks: Vec<JoinHandle<()>> = lock(&self.tasks).drain(..).collect();
        for task in tasks {
            let _ = tokio::time::timeout(bound, task).await;
        }
    }

    /// Other servers share the database: deliver nothing until [`set_scope`](Self::set_scope)
    /// says which sessions are this server's.
    pub fn join_cluster(&self, server_id: &str) {
        self.inner.scope.send_replace(Scope::Shared(Arc::new(Shared {
            server_id: server_id.to_owned(),
            runs_here: Box::new(|_| false),
            elsewhere: HashSet::new(),
            orphans: false,
        })));
    }

    /// Sets which sessions this server delivers (several servers on one database; renewed at
    /// every lease renewal). Lanes it no longer covers are forgotten (an attempt in flight still
    /// finishes and is recorded); every lane it covers with deliveries pending in the database,
    /// whoever left them, is resumed.
    pub async fn set_scope(&self, scope: Scope) -> anyhow::Result<()> {
        let orphans = |scope: &Scope| matches!(scope, Scope::Shared(s) if s.orphans);
        let was = orphans(&self.inner.scope.send_replace(scope.clone()));
        if orphans(&scope) && !was {
            tracing::info!("this server now delivers the webhooks of sessions no server runs");
        }
        lock(&self.inner.lanes).retain(|(_, session), _| scope.covers(session));
        self.inner.resume_pending().await
    }

    /// Whether this server delivers the webhooks of sessions no server runs (always, alone).
    pub fn delivers_orphans(&self) -> bool {
        match &*self.inner.scope.borrow() {
            Scope::All => true,
            Scope::Shared(shared) => shared.orphans,
        }
    }

    /// This server's delivery attempts, in Prometheus' text format.
    pub fn metrics(&self) -> String {
        let [delivered, failed] = &self.inner.attempts;
        format!(
            "# HELP titan_webhook_attempts_total Webhook delivery attempts this server made, by outcome.\n\
             # TYPE titan_webhook_attempts_total counter\n\
             titan_webhook_attempts_total{{outcome=\"delivered\"}} {}\n\
             titan_webhook_attempts_total{{outcome=\"failed\"}} {}\n",
            delivered.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
        )
    }

    /// Re-reads the webhooks after a change through the API.
    pub async fn webhooks_changed(&self) -> anyhow::Result<()> {
        self.inner.reload_hooks().await?;
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Puts a delivery made pending again (a manual retry) at the head of its lane.
    pub fn requeue(&self, pending: Pending) {
        if !self.inner.scope.borrow().covers(&pending.envelope.session) {
            return; // the delivering server finds it pending in the database
        }
        let key = (pending.webhook_id.clone(), pending.envelope.session.clone());
        let mut lanes = lock(&self.inner.lanes);
        let lane = lanes.entry(key).or_default();
        if let Some(queued) = lane.queue.iter_mut().find(|p| p.id == pending.id) {
            *queued = pending;
        } else {
            lane.queue.push_front(pending);
        }
        drop(lanes);
        self.inner.wake.notify_one();
    }
}

impl Inner {
    /// Marks every lane this server covers with pending deliveries in the database as behind,
    /// so the scheduler reads them.
    async fn resume_pending(&self) -> anyhow::Result<()> {
        let mut lanes = deliveries::pending_lanes(&self.db).await?;
        let scope = self.scope.borrow().clone();
        lanes.retain(|(_, session)| scope.covers(session));
        let mut map = lock(&self.lanes);
        let resumed = lanes.iter().filter(|key| !map.contains_key(*key)).count();
        for key in lanes {
            map.entry(key).or_default().behind = true;
        }
        drop(map);
        if resumed > 0 {
            tracing::info!(lanes = resumed, "resuming webhook deliveries left pending");
        }
        self.wake.notify_one();
        Ok(())
    }

    async fn reload_hooks(&self) -> anyhow::Result<()> {
        // The version first: a change between the two reads makes the next fan-out read again.
        let version = crate::store::webhooks::version(&self.db.pool).await?;
        let rows = crate::store::webhooks::list(&self.db, None).await?;
        let mut hooks = HashMap::with_capacity(rows.len());
        for row in rows {
            let id = row.id.clone();
            match Hook::open(row, &self.secrets) {
                Ok(hook) => {
                    hooks.insert(id, Arc::new(hook));
                }
                Err(error) => tracing::error!(webhook = %id, error = format!("{error:#}"), "webhook skipped"),
            }
        }
        *self.hooks.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(hooks);
        *lock(&self.hooks_version) = version;
        Ok(())
    }

    fn hooks(&self) -> Arc<HashMap<String, Arc<Hook>>> {
        self.hooks.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Moves committed events from the outbox into lanes, whenever events are written (and
    /// every second regardless).
    async fn fan_out_forever(self: Arc<Self>) {
        let mut reloaded = Instant::now();
        let mut stop = self.stop.subscribe();
        loop {
            tokio::select! {
                () = self.db.events_pending() => {}
                () = tokio::time::sleep(POLL) => {}
                _ = stop.wait_for(|s| *s >= Stage::NoNewAttempts) => return,
            }
            if reloaded.elapsed() >= RELOAD_WEBHOOKS {
                reloaded = Instant::now();
                if let Err(error) = self.reload_hooks().await {
                    tracing::warn!(error = format!("{error:#}"), "cannot re-read webhooks");
                }
            }
            loop {
                // The version before the list: a reload between the two reads only makes the
                // fan-out find the version stale and read again.
                let version = *lock(&self.hooks_version);
                let hooks = self.hooks();
                let route = |event: &Envelope| -> Vec<String> {
                    hooks
                        .values()
                        .filter(|h| h.wants(&event.event, &event.session))
                        .map(|h| h.id.clone())
                        .collect()
                };
                let scope = self.scope.borrow().clone();
                match crate::store::events::fan_out(&self.db, scope.takes(), FAN_OUT_BATCH, version, route).await {
                    Ok(None) => {
                        // The webhooks changed (through another server): route with the new list.
                        if let Err(error) = self.reload_hooks().await {
                            tracing::warn!(error = format!("{error:#}"), "cannot re-read webhooks");
                            tokio::time::sleep(POLL).await;
                            break;
                        }
                    }
                    Ok(Some(batch)) if batch.is_empty() => break,
                    Ok(Some(batch)) => self.take_in(batch),
                    Err(error) => {
                        tracing::warn!(error = format!("{error:#}"), "cannot read the event outbox; retrying");
                        tokio::time::sleep(POLL).await;
                        break;
                    }
                }
            }
        }
    }

    fn take_in(&self, batch: Vec<crate::store::events::Fanned>) {
        let now = now_ms();
        // With other servers, a lane new here may have older deliveries pending that another
        // server fanned out (the session was theirs a moment ago): it reads them first.
        let shared = matches!(*self.scope.borrow(), Scope::Shared(_));
        let mut lanes = lock(&self.lanes);
        for fanned in batch {
            let envelope = fanned.envelope;
            for (id, webhook_id) in fanned.deliveries {
                let lane = lanes
                    .entry((webhook_id.clone(), envelope.session.clone()))
                    .or_insert_with(|| Lane {
                        behind: shared,
                        ..Lane::default()
                    });
                if lane.behind || lane.queue.len() >= LANE_BUFFER {
                    lane.behind = true;
                    lane.skipped += 1;
                    continue;
                }
                lane.cursor.clone_from(&id);
                lane.queue.push_back(Pending {
                    id,
                    webhook_id,
                    attempts: 0,
                    next_attempt_at: now,
                    envelope: envelope.clone(),
                });
            }
        }
        drop(lanes);
        self.wake.notify_one();
    }

    /// Starts an attempt for every lane whose head is due, refills lanes from the database, and
    /// sleeps until the next head is due or something changes.
    async fn schedule_forever(self: Arc<Self>) {
        let mut stop = self.stop.subscribe();
        loop {
            let (next_due, refill) = self.start_due();
            for key in refill {
                if let Err(error) = self.refill(&key).await {
                    tracing::warn!(error = format!("{error:#}"), "cannot read pending deliveries; retrying");
                }
            }
            let wait = next_due.map_or(POLL, |due| {
                Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0))
            });
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait.min(POLL)) => {}
                _ = stop.wait_for(|s| *s >= Stage::NoNewAttempts) => return,
            }
        }
    }

    /// Spawns the due attempts; returns when the next head is due and which lanes to refill.
    fn start_due(self: &Arc<Self>) -> (Option<i64>, Vec<LaneKey>) {
        let scope = self.scope.borrow().clone();
        let hooks = self.hooks();
        let now = now_ms();
        let mut next_due: Option<i64> = None;
        let mut refill = Vec::new();
        let mut lanes = lock(&self.lanes);
        lanes.retain(|key, lane| {
            if !scope.covers(&key.1) {
                return false; // another server delivers it now (an attempt in flight still ends)
            }
            if lane.busy {
                return true;
            }
            let Some(hook) = hooks.get(&key.0) else {
                return false; // the webhook was deleted, its deliveries with it
            };
            let Some(head) = lane.queue.front() else {
                if lane.behind {
                    refill.push(key.clone());
                }
                return lane.behind || scope.remembers(&key.1);
            };
            if !hook.enabled {
                return true;
            }
            if head.next_attempt_at > now {
                next_due = Some(next_due.map_or(head.next_attempt_at, |d| d.min(head.next_attempt_at)));
                return true;
            }
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                return true; // a finishing attempt wakes the scheduler
            };
            lane.busy = true;
            tokio::spawn(self.clone().attempt(head.clone(), hook.clone(), permit));
            true
        });
        (next_due, refill)
    }

    async fn refill(&self, key: &LaneKey) -> anyhow::Result<()> {
        let (cursor, skipped) = match lock(&self.lanes).get(key) {
            Some(lane) => (lane.cursor.clone(), lane.skipped),
            None => return Ok(()),
        };
        let limit = i64::try_from(LANE_BUFFER).unwrap_or(i64::MAX);
        let loaded = deliveries::lane(&self.db, &key.0, &key.1, &cursor, limit).await?;
        let complete = loaded.len() < LANE_BUFFER;
        let mut lanes = lock(&self.lanes);
        let Some(lane) = lanes.get_mut(key) else {
            return Ok(());
        };
        for pending in loaded {
            if pending.id > lane.cursor {
                lane.cursor.clone_from(&pending.id);
                lane.queue.push_back(pending);
            }
        }
        if complete && lane.skipped == skipped {
            lane.behind = false;
        }
        drop(lanes);
        self.wake.notify_one();
        Ok(())
    }

    /// Makes one attempt, records it, and moves the lane on.
    async fn attempt(self: Arc<Self>, pending: Pending, hook: Arc<Hook>, permit: OwnedSemaphorePermit) {
        let started = Instant::now();
        let answer = self.post(&pending.envelope, &hook).await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let attempts = pending.attempts + 1;
        let (status_code, error) = match answer {
            Ok(status) if (200..300).contains(&status) => (Some(status), None),
            Ok(status) => (Some(status), Some(format!("the receiver answered HTTP {status}"))),
            Err(error) => (None, Some(error)),
        };
        self.attempts[usize::from(error.is_some())].fetch_add(1, Ordering::Relaxed);
        let (state, next_attempt_at) = match &error {
            None => (DeliveryState::Delivered, now_ms()),
            Some(_) if attempts >= hook.retries.attempts.get() => (DeliveryState::Dead, now_ms()),
            Some(_) => {
                let delay = hook.retries.delay_after(attempts).as_millis() as f64;
                let jittered = delay * (0.8 + 0.4 * rand::random::<f64>());
                (DeliveryState::Pending, now_ms() + jittered as i64)
            }
        };
        match (&state, &error) {
            (DeliveryState::Dead, Some(error)) => tracing::warn!(
                webhook = %hook.id, event = %pending.envelope.id, attempts, %error,
                "webhook delivery failed for the last time; it is dead (retry it by hand)"
            ),
            (_, Some(error)) => tracing::info!(
                webhook = %hook.id, event = %pending.envelope.id, attempts, %error, "webhook delivery failed; will retry"
            ),
            _ => tracing::debug!(webhook = %hook.id, event = %pending.envelope.id, latency_ms, "webhook delivered"),
        }
        let _ = self.outcomes.send(Outcome {
            id: pending.id.clone(),
            state,
            attempts,
            next_attempt_at,
            status_code,
            latency_ms,
            error,
        });
        {
            let mut lanes = lock(&self.lanes);
            if let Some(lane) = lanes.get_mut(&(hook.id.clone(), pending.envelope.session.clone())) {
                lane.busy = false;
                if let Some(at) = lane.queue.iter().position(|p| p.id == pending.id) {
                    if state == DeliveryState::Pending {
                        if let Some(queued) = lane.queue.get_mut(at) {
                            queued.attempts = attempts;
                            queued.next_attempt_at = next_attempt_at;
                        }
                    } else {
                        lane.queue.remove(at);
                    }
                }
            }
        }
        drop(permit);
        self.wake.notify_one();
    }

    /// POSTs the envelope, signed; the receiver's status, or why there was none.
    async fn post(&self, envelope: &Envelope, hook: &Hook) -> Result<u16, String> {
        let url = target::parse(&hook.url).map_err(|e| e.to_string())?;
        // Names are checked by the resolver at connect time; literal addresses here.
        target::check(&url, self.settings.allow_private).map_err(|e| e.to_string())?;
        let timestamp = chrono::Utc::now().timestamp();
        let signed = signature::sign(&hook.hmac_key, &envelope.id, timestamp, envelope.body.as_bytes());
        let mut request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header("x-webhook-signature", signed.titan)
            .header("webhook-id", envelope.id.as_str())
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signed.standard);
        for (name, value) in &hook.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                request = request.header(name, value);
            }
        }
        let mut response = request
            .body(envelope.body.to_string())
            .send()
            .await
            .map_err(|e| describe(&e.without_url()))?;
        let status = response.status().as_u16();
        // Read (a bounded part of) the answer so the connection can be reused.
        let mut read = 0;
        while read < MAX_ANSWER {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                _ => break,
            }
        }
        Ok(status)
    }

    /// Writes attempt outcomes in batches; a database failure delays them, never drops them.
    async fn record_forever(self: Arc<Self>, mut outcomes: mpsc::UnboundedReceiver<Outcome>) {
        let mut stop = self.stop.subscribe();
        let mut stopping = false;
        loop {
            let first = if stopping {
                None
            } else {
                tokio::select! {
                    outcome = outcomes.recv() => outcome,
                    _ = stop.wait_for(|s| *s == Stage::Stopped) => {
                        stopping = true;
                        None
                    }
                }
            };
            let mut batch: Vec<Outcome> = first.into_iter().collect();
            while batch.len() < 500 {
                match outcomes.try_recv() {
                    Ok(outcome) => batch.push(outcome),
                    Err(_) => break,
                }
            }
            if stopping && batch.is_empty() {
                return;
            }
            while let Err(error) = deliveries::record(&self.db, &batch).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "cannot record webhook deliveries; retrying"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// A transport failure in a sentence (its source chain, without the URL).
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
