//! Sessions at run time. Each running session has one supervisor task that owns its
//! whatsapp-rust client: it turns the client's events into stored state and outbox events,
//! restarts the client after transient failures, and is the only one that stops it (always with
//! a flush, never an abort).

mod actions;
mod channels;
mod chats;
mod contacts;
mod groups;
mod inbound;
mod labels;
mod lease;
mod mapping;
mod media;
mod observe;
mod pacing;
mod send;
mod status;
mod supervisor;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use whatsapp_rust::Client;

pub use actions::{Blocked, ChatState};
pub use channels::{ChannelChange, ChannelKey};
pub use groups::{GroupSettings, Joined, MemberChange, MemberOutcome};
pub use lease::ClusterSettings;
pub use send::{Content, LinkPreview, MediaFile, Outgoing};
pub use status::{FontType, StatusPost};

use crate::model::session::{State, Status};
use crate::store::Db;
use crate::store::cluster::Fence;
use crate::store::sessions::{self as store, Change};

/// How long a stopped session being logged out or deleted may take to connect, so it can tell
/// WhatsApp to unlink it from the phone.
const UNLINK_CONNECT_BOUND: Duration = Duration::from_secs(15);

/// How sessions reach WhatsApp.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// The WhatsApp WebSocket URL (the sandbox emulator's in sandbox mode).
    pub whatsapp_url: String,
    /// PEM certificates the media client trusts besides the system roots (the sandbox
    /// emulator's media CA).
    pub media_roots: Vec<String>,
    /// WhatsApp Web version to announce; `None` fetches the current one once a day.
    pub version: Option<(u32, u32, u32)>,
    /// Longest time a connection attempt or a media read may take.
    pub network_timeout: Duration,
    /// Where media files are persisted.
    pub objects: crate::store::objects::MediaObjects,
    /// How this server shares its database with others (PostgreSQL); `None` on SQLite, where
    /// one server owns every session.
    pub cluster: Option<ClusterSettings>,
}

/// Refuses a WhatsApp URL whose host is not loopback: a sandbox build's client skips
/// WhatsApp's certificate check, so it must never talk to anything but the local emulator.
#[cfg(feature = "sandbox")]
pub fn require_loopback(url: &str) -> anyhow::Result<()> {
    let host = url
        .parse::<http::Uri>()
        .ok()
        .and_then(|uri| uri.host().map(|h| h.trim_matches(['[', ']']).to_owned()));
    let loopback = host
        .as_deref()
        .is_some_and(|host| host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()));
    anyhow::ensure!(
        loopback,
        "this server was built with the `sandbox` feature and only connects to a WhatsApp emulator on loopback; \
         refusing TITAN_WHATSAPP_URL {url} (build without `--features sandbox` to reach WhatsApp)"
    );
    Ok(())
}

/// How long after a stopped client's last wipe its late background writes are wiped again.
const LATE_WRITE_GRACE: Duration = Duration::from_millis(500);

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No session has this name.
    #[error("session `{0}` not found")]
    NotFound(String),
    /// The session is not in a state that allows the operation.
    #[error("{0}")]
    Conflict(String),
    /// WhatsApp does not know what the request names (a contact, an invite code).
    #[error("{0}")]
    Unknown(String),
    /// WhatsApp refused the account the operation (not a group member, not an admin).
    #[error("{0}")]
    Forbidden(String),
    /// WhatsApp refused the request as malformed.
    #[error("{0}")]
    Invalid(String),
    /// WhatsApp (or the connection to it) failed the operation.
    #[error("{0}")]
    Upstream(String),
    /// What the request names is gone from WhatsApp for good (a media file neither the CDN nor
    /// the phone still has).
    #[error("{0}")]
    Gone(String),
    /// Another server holds the session now (several servers on one database); a retry goes
    /// to that server.
    #[error("{0}")]
    Unavailable(String),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl EngineError {
    /// The operation needs WhatsApp, and `session` is not connected to it.
    fn not_connected(session: &str) -> Self {
        Self::Conflict(format!(
            "session `{session}` is not connected: start it and wait for status CONNECTED"
        ))
    }

    /// WhatsApp refused (or could not be reached for) `what`, because of `error`.
    fn refused(what: &str, error: impl std::fmt::Display) -> Self {
        Self::Upstream(format!("WhatsApp did not take the {what}: {error}"))
    }

    /// Like [`Self::refused`], except that WhatsApp's "no such item" (IQ error 404) is
    /// [`Self::Unknown`] (the request named something that does not exist), and a client that
    /// lost its connection is [`Self::Conflict`], as when it was not connected to begin with.
    fn refused_iq(what: &str, error: &whatsapp_rust::IqError) -> Self {
        match error {
            whatsapp_rust::IqError::ServerError { code: 404, text, .. } => {
                Self::Unknown(format!("WhatsApp has no such {what} target: {text}"))
            }
            // The session dropped its connection between the check and the request.
            whatsapp_rust::IqError::NotConnected => Self::Conflict(format!(
                "the session lost its connection to WhatsApp before the {what} was sent: wait for status CONNECTED"
            )),
            other => Self::refused(what, other),
        }
    }
}

/// A pairing QR code as the session shows it now.
#[derive(Debug, Clone)]
pub struct CurrentQr {
    /// The text to encode in the QR image (`2@…`).
    pub code: String,
    /// When WhatsApp rotates it.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// What a supervisor is told to do.
#[derive(Debug)]
enum Command {
    /// Stop the client with a flush and record `MANUAL_STOP`.
    Stop(oneshot::Sender<()>),
    /// Log out (unlink from the phone), stop, wipe the keys, record `LOGGED_OUT`.
    Logout(oneshot::Sender<()>),
    /// The server is stopping: flush and stop; the session runs again at the next start.
    Shutdown(oneshot::Sender<()>),
    /// Another server took the session's lease: stop without recording anything of the
    /// session's own (its new owner does).
    Abandon(oneshot::Sender<()>),
}

/// The run-time side of one session.
#[derive(Debug, Default)]
struct Slot {
    /// The supervisor, when one runs; the lock serializes start, stop and logout.
    runner: tokio::sync::Mutex<Option<Runner>>,
    /// What requests read without waiting for the supervisor.
    live: Mutex<Live>,
    /// Woken when `live` changes (a client starts, a QR code arrives, the client connects).
    changed: Notify,
    /// Held from each read of the session's groups from WhatsApp until its answer is stored,
    /// and from each leave until the group is forgotten: an answer read before a change can
    /// then never be stored after the change's own.
    groups: tokio::sync::Mutex<()>,
    /// Held from choosing a new label's id until the label is stored, so two labels created at
    /// once never take one id.
    labels: tokio::sync::Mutex<()>,
    /// The session's lease while this server owns it (several servers on one database).
    fence: Mutex<Option<Fence>>,
    /// Woken when a message is queued for the session's [`pacing::Pacer`].
    queued: Notify,
    /// Woken when the session's settings change, so a pacer waiting out a gap applies a new
    /// pace (or none) at once.
    settings_changed: Notify,
}

#[derive(Default)]
struct Live {
    client: Option<Arc<Client>>,
    connected: bool,
    qr: Option<CurrentQr>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("running", &self.client.is_some())
            .field("connected", &self.connected)
            .field("qr", &self.qr)
            .finish()
    }
}

#[derive(Debug)]
struct Runner {
    commands: mpsc::Sender<Command>,
    task: JoinHandle<()>,
}

impl Slot {
    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fence(&self) -> std::sync::MutexGuard<'_, Option<Fence>> {
        self.fence.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What every supervisor shares.
#[derive(Debug)]
struct Shared {
    db: Db,
    settings: EngineSettings,
}

/// Every session's supervisor, by session name.
#[derive(Debug)]
pub struct Engine {
    shared: Arc<Shared>,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl Engine {
    /// An engine with no session running yet (see [`Engine::restore`]).
    pub fn new(db: Db, settings: EngineSettings) -> Self {
        Self {
            shared: Arc::new(Shared { db, settings }),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The session's slot, created on its first start.
    fn slot(&self, name: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(name.to_owned()).or_default())
    }

    /// The session's slot if it was ever started; reads never create one.
    fn existing(&self, name: &str) -> Option<Arc<Slot>> {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Starts the session's client unless it runs already; the session then shows `CONNECTING`
    /// until it connects or asks for a pairing.
    pub async fn start(&self, name: &str) -> Result<(), EngineError> {
        #[cfg(feature = "sandbox")]
        require_loopback(&self.shared.settings.whatsapp_url).map_err(|e| EngineError::Conflict(format!("{e:#}")))?;
        let record = store::get(&self.shared.db, name)
            .await?
            .ok_or_else(|| EngineError::NotFound(name.to_owned()))?;
        let slot = self.slot(name);
        let mut runner = slot.runner.lock().await;
        if runner.as_ref().is_some_and(|r| !r.task.is_finished()) {
            return Ok(());
        }
        let fence = self.take_lease(name).await?;
        *slot.fence() = fence.clone();
        let change = Change {
            state: Some(State::new(Status::Connecting, None)),
            running: Some(true),
            last_error: Some(None),
            fence: fence.clone(),
            ..Change::default()
        };
        store::apply(&self.shared.db, name, change)
            .await?
            .ok_or_else(|| EngineError::NotFound(name.to_owned()))?;
        let (commands, receiver) = mpsc::channel(4);
        let supervisor = supervisor::Supervisor::new(
            Arc::clone(&self.shared),
            Arc::clone(&slot),
            record.name,
            record.proxy,
            &record.config,
            receiver,
            fence,
        );
        let task = tokio::spawn(supervisor.run());
        *runner = Some(Runner { commands, task });
        Ok(())
    }

    /// Sends `command` to the session's supervisor and waits until it has been carried out and
    /// the supervisor has ended. `false` if no supervisor was running.
    async fn command(&self, name: &str, command: impl FnOnce(oneshot::Sender<()>) -> Command) -> bool {
        let Some(slot) = self.existing(name) else {
            return false;
        };
        let mut runner = slot.runner.lock().await;
        let Some(Runner { commands, task }) = runner.take() else {
            return false;
        };
        if task.is_finished() {
            return false;
        }
        let (done, wait) = oneshot::channel();
        if commands.send(command(done)).await.is_ok() {
            let _ = wait.await;
        }
        if let Err(error) = task.await {
            tracing::error!(session = name, %error, "session supervisor failed");
        }
        self.give_up_lease(name, &slot).await;
        true
    }

    /// Stops the session's client (flushing its state) and records `MANUAL_STOP`. Stopping a
    /// session that does not run changes nothing.
    pub async fn stop(&self, name: &str) -> Result<(), EngineError> {
        self.command(name, Command::Stop).await;
        Ok(())
    }

    /// Logs the session out: unlinks it from the phone, stops it, wipes its keys and records
    /// `LOGGED_OUT`. The session must be paired again afterwards.
    pub async fn logout(&self, name: &str) -> Result<(), EngineError> {
        if !self.unlink(name).await? {
            supervisor::record_logout(&self.shared.db, name).await?;
        }
        self.wipe_after_stop(name).await
    }

    /// Wipes a stopped session's keys, and again after [`LATE_WRITE_GRACE`]. A supervisor's
    /// logout wipes them too, but the client's background tasks (a late key or mapping update)
    /// can still write after that, and a session started but never paired has keys without any
    /// logout. The second wipe narrows that window; it does not close it (the store does not yet
    /// refuse writes for a session being removed).
    async fn wipe_after_stop(&self, name: &str) -> Result<(), EngineError> {
        crate::store::device::wipe(&self.shared.db, name).await?;
        tokio::time::sleep(LATE_WRITE_GRACE).await;
        crate::store::device::wipe(&self.shared.db, name).await?;
        Ok(())
    }

    /// Unlinks the session from the phone, wipes its keys and forgets it (it is being deleted).
    pub async fn remove(&self, name: &str) -> Result<(), EngineError> {
        self.unlink(name).await?;
        self.wipe_after_stop(name).await?;
        self.slots.lock().unwrap_or_else(PoisonError::into_inner).remove(name);
        Ok(())
    }

    /// Has the session's supervisor log it out, which tells WhatsApp to remove the device from
    /// the phone's Linked Devices. A paired session that is stopped is started for that, and
    /// given up to [`UNLINK_CONNECT_BOUND`] to connect; if it cannot (WhatsApp unreachable), it
    /// is logged out locally and the device stays listed on the phone until removed there.
    /// `false` when no supervisor ran and the session was never paired: nothing to tell.
    async fn unlink(&self, name: &str) -> Result<bool, EngineError> {
        if self.command(name, Command::Logout).await {
            return Ok(true);
        }
        let paired = store::get(&self.shared.db, name)
            .await?
            .is_some_and(|s| s.identity.phone_number.is_some());
        if !paired || !crate::store::device::exists(&self.shared.db, name).await? {
            return Ok(false);
        }
        self.start(name).await?;
        let connected = self
            .wait_live(name, UNLINK_CONNECT_BOUND, |live| live.connected.then_some(()))
            .await;
        if connected.is_none() {
            tracing::warn!(
                session = name,
                bound = ?UNLINK_CONNECT_BOUND,
                "could not reach WhatsApp to unlink the device; it stays in the phone's Linked Devices until removed there"
            );
        }
        Ok(self.command(name, Command::Logout).await)
    }

    /// The session's client, if it is connected.
    pub fn connected_client(&self, name: &str) -> Option<Arc<Client>> {
        let slot = self.existing(name)?;
        let live = slot.live();
        live.connected.then(|| live.client.clone()).flatten()
    }

    /// The session's client while it runs (connected or not), waiting up to `wait` for a
    /// just-started session to build it.
    pub async fn running_client(&self, name: &str, wait: Duration) -> Option<Arc<Client>> {
        self.wait_live(name, wait, |live| live.client.clone()).await
    }

    /// The QR code the session shows now, waiting up to `wait` for the first one.
    pub async fn qr(&self, name: &str, wait: Duration) -> Option<CurrentQr> {
        self.wait_live(name, wait, |live| live.qr.clone()).await
    }

    /// The first `Some` that `pick` finds in the session's live state within `wait`.
    async fn wait_live<T>(&self, name: &str, wait: Duration, pick: impl Fn(&Live) -> Option<T>) -> Option<T> {
        let slot = self.existing(name)?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = slot.changed.notified();
            if let Some(found) = pick(&slot.live()) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Starts every session that was running when the server last stopped. With several
    /// servers on one database this does nothing: the cluster's keeper takes sessions over as
    /// their leases allow.
    pub async fn restore(&self) -> anyhow::Result<usize> {
        if self.shared.settings.cluster.is_some() {
            return Ok(0);
        }
        let sessions = store::running(&self.shared.db).await?;
        let count = sessions.len();
        for session in sessions {
            if let Err(error) = self.start(&session.name).await {
                tracing::error!(session = %session.name, %error, "cannot restore session");
            }
        }
        Ok(count)
    }

    /// Stops every session concurrently, each with its flush, within `bound`. Sessions keep
    /// their `running` mark, so the next server start restores them.
    pub async fn shutdown(&self, bound: Duration) {
        let names: Vec<String> = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        let stops = names.iter().map(|name| self.command(name, Command::Shutdown));
        if tokio::time::timeout(bound, futures::future::join_all(stops))
            .await
            .is_err()
        {
            tracing::error!(
                ?bound,
                "some sessions did not finish flushing before the shutdown bound"
            );
        }
    }
}
