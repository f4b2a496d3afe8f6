//! One session's supervisor: builds the client, turns its events into stored state, restarts
//! it after transient failures and records how it ended.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use whatsapp_rust::Client;
use whatsapp_rust::prelude::{Bot, BotHandle, Event, TokioRuntime};
use whatsapp_rust::store::traits::Backend;

use super::mapping::RingingCalls;
use super::media::PersistWorker;
use super::observe::{ConnectFailure, Enqueue, Observed};
use super::pacing::Pacer;
use super::{Command, CurrentQr, EngineError, Shared, Slot, groups, inbound};
use crate::events::{NewEvent, Payload};
use crate::model::events::{ConnectedPayload, LoggedOutPayload, QrPayload};
use crate::model::session::{SessionConfig, State, Status, StatusReason};
use crate::store::Db;
use crate::store::cluster::{Fence, Fenced};
use crate::store::device::{self, DeviceStore};
use crate::store::sessions::{self as store, Change, Identity};
use crate::whatsapp::http::{HttpClientConfig, ReqwestHttpClient};
use crate::whatsapp::transport::{Proxy, SessionTransportFactory};

/// Attempts at recording a state change before giving up on it.
const APPLY_ATTEMPTS: u32 = 5;

/// Longest wait between two restarts of a client that keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How long the supervisor waits for WhatsApp to answer a read of the account's groups.
const GROUP_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// How one run of the client ended.
#[derive(Debug)]
enum Outcome {
    /// A command stopped it; its effects are recorded.
    Commanded,
    /// The account unlinked the device (or WhatsApp logged it out).
    LoggedOut,
    /// WhatsApp banned the number until this long from now.
    Banned(Duration),
    /// Every QR code expired.
    QrTimeout,
    /// Another connection replaced this one, or the stream broke.
    StreamError(String),
    /// WhatsApp refused the connection for good.
    Failed(String),
    /// The client stopped (or could not be built) with no reason given: try again.
    Ended(String),
}

/// What ended a wait between runs.
enum Wake {
    Elapsed,
    Commanded,
}

/// The task supervising one session.
pub(super) struct Supervisor {
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    name: String,
    proxy: Option<String>,
    history_sync: bool,
    /// Persist received media files to the object store (the `persistMedia` setting).
    persist_media: bool,
    /// The worker doing so for the connected client; dropped (stopped) with it.
    persister: Option<PersistWorker>,
    /// The worker sending the session's queued messages through the connected client.
    pacer: Option<Pacer>,
    commands: mpsc::Receiver<Command>,
    /// Set by `PairSuccess` (with the business name it gave), so the next `Connected` announces
    /// `session.connected`.
    just_paired: Option<Option<String>>,
    /// The calls ringing now, so one that ends unanswered is announced as missed.
    calls: RingingCalls,
    /// The session's lease when several servers share the database: every state write carries it.
    fence: Option<Fence>,
}

impl Supervisor {
    pub(super) fn new(
        shared: Arc<Shared>,
        slot: Arc<Slot>,
        name: String,
        proxy: Option<String>,
        config: &serde_json::Value,
        commands: mpsc::Receiver<Command>,
        fence: Option<Fence>,
    ) -> Self {
        let config: SessionConfig = serde_json::from_value(config.clone()).unwrap_or_default();
        Self {
            shared,
            slot,
            name,
            proxy,
            history_sync: config.history_sync,
            persist_media: config.persist_media,
            persister: None,
            pacer: None,
            commands,
            just_paired: None,
            calls: RingingCalls::default(),
            fence,
        }
    }

    fn db(&self) -> &Db {
        &self.shared.db
    }

    /// Applies `change`, retrying a few times when the database refuses; if it still refuses,
    /// the failure is logged and the supervisor keeps running (the next change records the
    /// current state again).
    async fn apply(&self, mut change: Change) {
        change.fence.clone_from(&self.fence);
        for attempt in 1..=APPLY_ATTEMPTS {
            match store::apply(self.db(), &self.name, change.clone()).await {
                Ok(_) => return,
                Err(error) if error.is::<Fenced>() => {
                    tracing::warn!(session = %self.name, "another server holds the session now; its state is theirs to record");
                    return;
                }
                Err(error) if attempt == APPLY_ATTEMPTS => {
                    tracing::error!(session = %self.name, error = format!("{error:#}"), "cannot record session state");
                }
                Err(error) => {
                    tracing::warn!(session = %self.name, attempt, error = format!("{error:#}"), "retrying a session state write");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
    }

    async fn set_state(&self, state: State) {
        self.apply(Change {
            state: Some(state),
            ..Change::default()
        })
        .await;
    }

    /// Runs the client until a command or a terminal outcome ends the session.
    pub(super) async fn run(mut self) {
        let mut failures = 0u32;
        loop {
            let outcome = self.run_client().await;
            self.persister = None;
            self.pacer = None;
            {
                let mut live = self.slot.live();
                live.client = None;
                live.connected = false;
                live.qr = None;
            }
            tracing::info!(session = %self.name, ?outcome, "session client stopped");
            let wait = match outcome {
                Outcome::Commanded => return,
                Outcome::LoggedOut => {
                    if let Err(error) = record_logout(self.db(), &self.name).await {
                        tracing::error!(session = %self.name, error = format!("{error:#}"), "cannot record logout");
                    }
                    return;
                }
                Outcome::QrTimeout => return self.end(StatusReason::QrTimeout, None).await,
                Outcome::StreamError(why) => return self.end(StatusReason::StreamError, Some(why)).await,
                Outcome::Failed(why) => return self.end(StatusReason::Failed, Some(why)).await,
                Outcome::Banned(expire) => {
                    failures = 0;
                    self.set_state(State::disconnected(StatusReason::TemporaryBan)).await;
                    tracing::warn!(session = %self.name, ?expire, "temporarily banned; starting again after the ban");
                    expire
                }
                Outcome::Ended(why) => {
                    failures += 1;
                    let wait = backoff(failures);
                    tracing::warn!(session = %self.name, %why, ?wait, "session client ended; restarting");
                    self.apply(Change {
                        state: Some(State::new(Status::Connecting, Some(StatusReason::AutoReconnect))),
                        last_error: Some(Some(why)),
                        ..Change::default()
                    })
                    .await;
                    wait
                }
            };
            match self.wait(wait).await {
                Wake::Commanded => return,
                Wake::Elapsed => {
                    self.set_state(State::new(Status::Connecting, Some(StatusReason::AutoReconnect)))
                        .await;
                }
            }
        }
    }

    /// Records a terminal outcome: `DISCONNECTED` for `reason`; not restored at the next start.
    async fn end(&self, reason: StatusReason, why: Option<String>) {
        self.apply(Change {
            state: Some(State::disconnected(reason)),
            running: Some(false),
            last_error: why.map(Some),
            ..Change::default()
        })
        .await;
    }

    /// Sleeps `duration` unless a command comes first (which is then carried out).
    async fn wait(&mut self, duration: Duration) -> Wake {
        tokio::select! {
            () = tokio::time::sleep(duration) => Wake::Elapsed,
            command = self.commands.recv() => {
                self.obey_idle(command).await;
                Wake::Commanded
            }
        }
    }

    /// Carries out a command while no client runs.
    async fn obey_idle(&self, command: Option<Command>) {
        match command {
            Some(Command::Stop(done)) => {
                self.manual_stop().await;
                let _ = done.send(());
            }
            Some(Command::Logout(done)) => {
                if let Err(error) = record_logout(self.db(), &self.name).await {
                    tracing::error!(session = %self.name, error = format!("{error:#}"), "cannot record logout");
                }
                let _ = done.send(());
            }
            Some(Command::Shutdown(done)) => {
                self.set_state(State::new(Status::Disconnected, None)).await;
                let _ = done.send(());
            }
            Some(Command::Abandon(done)) => {
                let _ = done.send(());
            }
            None => {}
        }
    }

    async fn manual_stop(&self) {
        self.apply(Change {
            state: Some(State::disconnected(StatusReason::ManualStop)),
            running: Some(false),
            ..Change::default()
        })
        .await;
    }

    async fn build(
        &self,
        events: mpsc::UnboundedSender<Arc<Event>>,
        notes: mpsc::UnboundedSender<ConnectFailure>,
    ) -> anyhow::Result<Bot> {
        let settings = &self.shared.settings;
        let proxy = self.proxy.as_deref().map(str::parse::<Proxy>).transpose()?;
        let transport = Observed::new(
            SessionTransportFactory::new(settings.whatsapp_url.clone(), proxy),
            notes,
        );
        let http = ReqwestHttpClient::new(&HttpClientConfig {
            connect_timeout: settings.network_timeout,
            read_timeout: settings.network_timeout,
            proxy: self.proxy.clone(),
            extra_roots: settings.media_roots.clone(),
            ..HttpClientConfig::default()
        })?;
        let backend: Arc<dyn Backend> = Arc::new(DeviceStore::new(self.db().clone(), &self.name, self.fence.clone()));
        let mut builder = Bot::builder()
            .with_backend_arc(backend)
            .with_transport_factory(transport)
            .with_http_client(http)
            .with_runtime(TokioRuntime)
            .with_event_handler(Enqueue(events))
            .with_inbound_durability_hook(inbound::DurableInbound {
                db: self.db().clone(),
                session: self.name.clone(),
            });
        if let Some(version) = settings.version {
            builder = builder.with_version(version);
        }
        if !self.history_sync {
            builder = builder.skip_history_sync();
        }
        Ok(builder.build().await?)
    }

    /// One run of the client: from building it to its end.
    async fn run_client(&mut self) -> Outcome {
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let (notes_tx, mut notes) = mpsc::unbounded_channel();
        let bot = match self.build(events_tx, notes_tx).await {
            Ok(bot) => bot,
            Err(error) => return Outcome::Ended(format!("cannot build the client: {error:#}")),
        };
        let mut handle = bot.spawn();
        let client = handle.client();
        self.slot.live().client = Some(Arc::clone(&client));
        self.slot.changed.notify_waiters();
        let mut terminal = None;
        let mut stream_error = None;
        let command = loop {
            tokio::select! {
                command = self.commands.recv() => break command,
                Some(event) = events.recv() => {
                    if let Some(t) = self.on_event(&client, &event, &mut stream_error).await {
                        terminal.get_or_insert(t);
                    }
                }
                Some(note) = notes.recv() => self.on_connect_failure(note).await,
                () = &mut handle => break None,
            }
        };
        let commanded = command.is_some();
        if let Some(command) = command {
            self.obey_running(command, handle, &client, &mut events).await;
        }
        // Whatever the client said before it stopped is still recorded.
        while let Ok(event) = events.try_recv() {
            if let Some(t) = self.on_event(&client, &event, &mut stream_error).await {
                terminal.get_or_insert(t);
            }
        }
        if commanded {
            return Outcome::Commanded;
        }
        terminal.unwrap_or_else(|| match stream_error {
            Some(code) => Outcome::StreamError(format!("stream error {code}")),
            None => Outcome::Ended("the connection loop stopped".into()),
        })
    }

    /// Carries out a command while the client runs; always stops it with its flush.
    async fn obey_running(
        &mut self,
        command: Command,
        handle: BotHandle,
        client: &Arc<Client>,
        events: &mut mpsc::UnboundedReceiver<Arc<Event>>,
    ) {
        match command {
            Command::Stop(done) => {
                handle.shutdown().await;
                self.drain(events).await;
                self.manual_stop().await;
                let _ = done.send(());
            }
            Command::Logout(done) => {
                client.logout().await;
                handle.shutdown().await;
                self.drain(events).await;
                if let Err(error) = record_logout(self.db(), &self.name).await {
                    tracing::error!(session = %self.name, error = format!("{error:#}"), "cannot record logout");
                }
                let _ = done.send(());
            }
            Command::Shutdown(done) => {
                handle.shutdown().await;
                self.drain(events).await;
                self.set_state(State::new(Status::Disconnected, None)).await;
                let _ = done.send(());
            }
            Command::Abandon(done) => {
                handle.shutdown().await;
                self.drain(events).await;
                let _ = done.send(());
            }
        }
    }

    /// Records the messages, receipts and other reports still queued (status changes are
    /// superseded by the command's own outcome).
    async fn drain(&mut self, events: &mut mpsc::UnboundedReceiver<Arc<Event>>) {
        while let Ok(event) = events.try_recv() {
            self.record_inbound(&event).await;
        }
    }

    /// Stores what `event` reports; answers whether it stored a media file someone sent.
    async fn record_inbound(&mut self, event: &Event) -> bool {
        inbound::record(&self.shared.db, &self.name, event, &mut self.calls)
            .await
            .unwrap_or_else(|error| {
                tracing::error!(session = %self.name, error = format!("{error:#}"), "cannot store what the client reported");
                false
            })
    }

    /// With the `persistMedia` setting, (re)starts the worker that persists received files for
    /// the client that just connected.
    fn start_persisting(&mut self, client: &Arc<Client>) {
        if self.persist_media {
            let worker = PersistWorker::start(Arc::clone(&self.shared), Arc::clone(client), self.name.clone());
            self.persister = Some(worker);
        }
    }

    /// Waits (a bounded time) for `read`, which stores what WhatsApp says of the account's groups:
    /// the whole list as the client connects, one group before the event of its change is
    /// written, so whoever that event reaches lists the group as it now is. A failure is logged;
    /// the next connection reads the whole list again. A group the account is no longer in is
    /// not a failure (the read forgot it).
    async fn keep_groups(&self, what: &str, read: impl Future<Output = Result<(), EngineError>>) {
        match tokio::time::timeout(GROUP_READ_TIMEOUT, read).await {
            Ok(Ok(()) | Err(EngineError::Forbidden(_) | EngineError::Unknown(_))) => {}
            Ok(Err(error)) => tracing::warn!(session = %self.name, %error, "cannot {what}"),
            Err(_) => tracing::warn!(session = %self.name, "cannot {what}: WhatsApp did not answer in time"),
        }
    }

    async fn on_connect_failure(&self, note: ConnectFailure) {
        tracing::warn!(session = %self.name, attempt = note.attempt, error = %note.error, "connection attempt failed");
        self.apply(Change {
            state: Some(State::new(Status::Connecting, Some(StatusReason::AutoReconnect))),
            last_error: Some(Some(format!(
                "connection attempt {} failed: {}",
                note.attempt, note.error
            ))),
            ..Change::default()
        })
        .await;
    }

    /// Records what `event` changes; returns the outcome it makes inevitable, if any.
    async fn on_event(
        &mut self,
        client: &Arc<Client>,
        event: &Event,
        stream_error: &mut Option<String>,
    ) -> Option<Outcome> {
        match event {
            Event::PairingQrCode(qr) => {
                let expires_at = chrono::Utc::now() + chrono::Duration::from_std(qr.timeout).unwrap_or_default();
                // Announced first: whoever sees the new code can already find its `session.qr`.
                self.apply(Change {
                    state: Some(State::new(Status::Connecting, Some(StatusReason::ScanQr))),
                    events: vec![NewEvent::new(Payload::SessionQr(QrPayload { code: qr.code.clone() }))],
                    ..Change::default()
                })
                .await;
                self.slot.live().qr = Some(CurrentQr {
                    code: qr.code.clone(),
                    expires_at,
                });
                self.slot.changed.notify_waiters();
            }
            Event::PairSuccess(paired) => {
                self.just_paired = Some(Some(paired.business_name.clone()).filter(|b| !b.is_empty()));
                self.slot.live().qr = None;
                self.apply(Change {
                    identity: Some(Identity {
                        phone_number: Some(paired.id.user.to_string()),
                        lid: Some(paired.lid.to_non_ad_string()),
                        business_name: Some(paired.business_name.clone()).filter(|b| !b.is_empty()),
                        platform: Some(paired.platform.clone()).filter(|p| !p.is_empty()),
                        push_name: None,
                    }),
                    ..Change::default()
                })
                .await;
            }
            Event::Connected(_) => {
                let identity = Identity {
                    phone_number: client.pn().map(|j| j.user.to_string()),
                    lid: client.lid().map(|j| j.to_non_ad_string()),
                    push_name: Some(client.push_name()).filter(|n| !n.is_empty()),
                    business_name: None,
                    platform: None,
                };
                let mut events = Vec::new();
                if let Some(business_name) = self.just_paired.take() {
                    events.push(NewEvent::new(Payload::SessionConnected(ConnectedPayload {
                        phone_number: identity.phone_number.as_ref().map(|p| format!("+{p}")),
                        push_name: identity.push_name.clone(),
                        business_name,
                        lid: identity.lid.clone(),
                    })));
                }
                {
                    let mut live = self.slot.live();
                    live.connected = true;
                    live.qr = None;
                }
                self.slot.changed.notify_waiters();
                self.apply(Change {
                    state: Some(State::new(Status::Connected, None)),
                    identity: Some(identity),
                    last_error: Some(None),
                    events,
                    ..Change::default()
                })
                .await;
                self.start_persisting(client);
                self.pacer = Some(Pacer::start(
                    Arc::clone(&self.shared),
                    Arc::clone(&self.slot),
                    Arc::clone(client),
                    self.name.clone(),
                ));
                self.keep_groups(
                    "read the group list",
                    groups::sync_groups(self.db(), &self.name, &self.slot, client),
                )
                .await;
            }
            Event::Disconnected(_) => {
                self.slot.live().connected = false;
                self.set_state(State::new(Status::Connecting, Some(StatusReason::AutoReconnect)))
                    .await;
            }
            Event::LoggedOut(_) => return Some(Outcome::LoggedOut),
            Event::TemporaryBan(ban) => {
                return Some(Outcome::Banned(ban.expire.to_std().unwrap_or(Duration::from_secs(60))));
            }
            Event::StreamReplaced(_) => {
                return Some(Outcome::StreamError(
                    "another connection of this device replaced the stream".into(),
                ));
            }
            Event::StreamError(error) => {
                tracing::warn!(session = %self.name, code = %error.code, "stream error");
                *stream_error = Some(error.code.clone());
            }
            Event::PairingQrCodesExhausted(_) => return Some(Outcome::QrTimeout),
            Event::ConnectFailure(failure) => {
                return Some(Outcome::Failed(format!(
                    "WhatsApp refused the connection: {:?}{}",
                    failure.reason,
                    failure
                        .message
                        .as_deref()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                )));
            }
            Event::ClientOutdated(_) => {
                return Some(Outcome::Failed("WhatsApp says this client version is outdated".into()));
            }
            _ => {
                if let Event::GroupUpdate(update) = event {
                    let reread = groups::read_group(self.db(), &self.name, &self.slot, client, &update.group_jid);
                    self.keep_groups("read a changed group back", async { reread.await.map(drop) })
                        .await;
                }
                if self.record_inbound(event).await
                    && let Some(persister) = &self.persister
                {
                    persister.wake();
                }
            }
        }
        None
    }
}

/// Wipes the session's keys and records `LOGGED_OUT` with a `session.logged_out` event; the
/// session is not restored at the next start and must be paired again.
pub(super) async fn record_logout(db: &Db, name: &str) -> anyhow::Result<()> {
    device::wipe(db, name).await?;
    crate::store::groups::forget(db, name).await?;
    crate::store::send_queue::cancel(db, name, "the session was logged out before the message left").await?;
    store::apply(
        db,
        name,
        Change {
            state: Some(State::disconnected(StatusReason::LoggedOut)),
            running: Some(false),
            events: vec![NewEvent::new(Payload::SessionLoggedOut(LoggedOutPayload {}))],
            ..Change::default()
        },
    )
    .await?;
    Ok(())
}

/// Exponential backoff from 1 s, capped at [`MAX_BACKOFF`], with ±20 % jitter.
fn backoff(failures: u32) -> Duration {
    let base = Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(MAX_BACKOFF);
    let jitter = rand::random_range(0.8..1.2);
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(1200));
        assert!(backoff(3) >= Duration::from_millis(3200));
        assert!(backoff(30) <= MAX_BACKOFF.mul_f64(1.2));
    }
}
