//! A WhatsApp server on loopback that real whatsapp-rust clients pair with and talk through.
//!
//! [`Emulator::start`] serves, on one port, the client WebSocket (`/ws/chat`: WhatsApp framing,
//! Noise XX/IK/XXfallback, binary nodes) and an admin HTTP API that plays the phone
//! (`POST /admin/scan-qr`). Clients must be built with `danger-skip-cert-chain-verify`, since
//! the emulator's certificate chain is signed by its own root, not WhatsApp's.

mod admin;
mod app_state;
mod channels;
mod conn;
mod groups;
mod identity;
mod media;
mod media_retry;
mod noise;
mod pair_code;
mod phone;
mod profile;
mod routing;
mod signal;
mod state;
mod status;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use admin::{
    AccountView, ExpireRequest, Expired, Fault, FaultRequest, Linked, PairCodeRequest, ScanRequest, Stats,
};
pub use app_state::{AppStateEntry, PhoneChange};
pub use media_retry::{MediaKind, PhoneSend, PhoneSent};
pub use noise::Pattern;

use crate::identity::ServerIdentity;
use crate::state::Shared;

/// A running emulator.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    media: JoinHandle<std::io::Result<()>>,
}

impl Emulator {
    /// Starts serving on `bind` (use port 0 for an ephemeral port).
    pub async fn start(bind: SocketAddr) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared::new(ServerIdentity::generate()?, media::MediaTls::generate()?));
        let app = Router::new()
            .route("/ws/chat", get(upgrade))
            .merge(admin::routes())
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let media_listener = tokio::net::TcpListener::bind(SocketAddr::new(bind.ip(), 0)).await?;
        let media_addr = media_listener.local_addr()?;
        let _ = shared.media_addr.set(media_addr);
        let media_listener = media::TlsListener::new(media_listener, shared.media_tls.acceptor.clone())?;
        let media_app = media::routes().with_state(Arc::clone(&shared));
        let media = tokio::spawn(async move { axum::serve(media_listener, media_app).await });
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                })
                .await
        });
        tracing::info!(%addr, %media_addr, "WhatsApp emulator listening (media host on HTTPS)");
        Ok(Self {
            addr,
            shared,
            shutdown,
            task,
            media,
        })
    }

    /// The media host's base URL (HTTPS, certificate signed by [`Self::media_ca_pem`]).
    pub fn media_url(&self) -> String {
        format!("https://{}", self.shared.media_host())
    }

    /// The PEM certificate of the CA that signs the media host's certificate, for clients to
    /// trust explicitly (also served at `GET /admin/media-ca.pem`).
    pub fn media_ca_pem(&self) -> &str {
        &self.shared.media_tls.ca_pem
    }

    /// The client WebSocket URL (`TokioWebSocketTransportFactory::with_url`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws/chat", self.addr)
    }

    /// The base URL of the admin API.
    pub fn admin_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Plays the phone: scans a companion's QR code (see `POST /admin/scan-qr`).
    pub fn scan_qr(&self, qr: &str, phone: Option<&str>) -> anyhow::Result<Linked> {
        admin::scan(&self.shared, qr, phone).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Plays the phone's owner typing the pair code a companion shows for `phone` (see
    /// `POST /admin/pair-code`); resolves once the device is linked.
    pub async fn enter_pair_code(&self, phone: &str, code: &str) -> anyhow::Result<Linked> {
        pair_code::enter_code(&self.shared, phone, code)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Inflicts a fault on the live connection of `phone:device` (see `POST /admin/faults`).
    pub fn inject(&self, phone: &str, device: u32, fault: Fault) -> anyhow::Result<()> {
        admin::inject(&self.shared, phone, device, fault).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Unlinks `phone:device` (see `DELETE /admin/accounts/{phone}/devices/{device}`).
    pub fn unlink(&self, phone: &str, device: u32) -> anyhow::Result<()> {
        admin::unlink(&self.shared, phone, device).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The phone of `phone` renames group `group` (see
    /// `POST /admin/accounts/{phone}/groups/{group}/subject`).
    pub fn rename_group(&self, phone: &str, group: &str, subject: &str) -> anyhow::Result<()> {
        admin::rename_group(&self.shared, phone, group, subject).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The phone of `phone` changes its own app state, so tests can see a change made on the
    /// phone reach its companions (see `POST /admin/accounts/{phone}/app-state`).
    pub fn phone_changes(&self, phone: &str, change: PhoneChange) -> anyhow::Result<()> {
        admin::change_app_state(&self.shared, phone, &change).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The live entries of `phone`'s app state, whoever changed them, so tests can check what
    /// companions uploaded (see `GET /admin/accounts/{phone}/app-state`).
    pub fn app_state(&self, phone: &str) -> anyhow::Result<Vec<AppStateEntry>> {
        admin::app_state(&self.shared, phone).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The phone of `phone` sends a file to a chat; its companions receive it as their own
    /// account's message, and the phone keeps the file to re-upload it when asked (see
    /// `POST /admin/accounts/{phone}/phone-sends`).
    pub async fn phone_sends(&self, phone: &str, send: &PhoneSend) -> anyhow::Result<PhoneSent> {
        media_retry::phone_sends(&self.shared, phone, send)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The CDN forgets the blob at `direct_path` (every blob with `None`), as WhatsApp's does
    /// with old media; returns how many it forgot (see `POST /admin/media/expire`).
    pub fn expire_media(&self, direct_path: Option<&str>) -> anyhow::Result<usize> {
        admin::expire(&self.shared, direct_path)
            .map(|e| e.expired)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Bans `phone` temporarily (see `POST /admin/accounts/{phone}/ban`).
    pub fn ban(&self, phone: &str, code: u16, duration: std::time::Duration) -> anyhow::Result<()> {
        admin::ban(&self.shared, phone, code, duration).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Refuses (`Some(reason)`) or allows again (`None`) every login of `phone`.
    pub fn refuse_logins(&self, phone: &str, reason: Option<u16>) {
        admin::refuse_logins(&self.shared, phone, reason);
    }

    /// Makes the next `count` prekey fetches by `phone`'s devices fail (see
    /// `POST /admin/accounts/{phone}/refuse-key-fetches`).
    pub fn refuse_key_fetches(&self, phone: &str, count: usize) {
        admin::refuse_key_fetches(&self.shared, phone, count);
    }

    /// The ids of the companion devices linked to `phone` now (none for an unknown number).
    pub fn linked_devices(&self, phone: &str) -> Vec<u32> {
        self.shared.with(|r| r.device_ids(phone))
    }

    /// Offers each unpaired connection `count` QR refs from now on, instead of WhatsApp's six, so
    /// a test can see the codes rotate and run out (the first lasts 60 s, each other 20 s).
    pub fn set_qr_refs(&self, count: usize) {
        self.shared.with(|r| r.qr_refs = Some(count));
    }

    /// Accounts, devices, live connections, queued stanzas and groups (see `GET /admin/stats`).
    pub fn stats(&self) -> Stats {
        admin::stats(&self.shared)
    }

    /// The patterns of the most recent handshakes (up to 1,024), oldest first.
    pub fn handshakes(&self) -> Vec<Pattern> {
        self.shared.with(|r| r.handshakes.clone())
    }

    /// Resolves once `phone:device` has uploaded its prekeys, i.e. peers can message it.
    pub async fn wait_for_prekeys(&self, phone: &str, device: u32) {
        self.shared
            .until(|r| {
                r.accounts
                    .get(phone)
                    .and_then(|a| a.devices.get(&device))
                    .is_some_and(|d| d.keys.is_some())
            })
            .await;
    }

    /// Resolves once `phone:device` has no live connection.
    pub async fn wait_until_offline(&self, phone: &str, device: u32) {
        let key = (phone.to_owned(), device);
        self.shared.until(|r| !r.online.contains_key(&key)).await;
    }

    /// Resolves once at least `count` stanzas wait in the queue of `phone:device`.
    pub async fn wait_for_queued(&self, phone: &str, device: u32, count: usize) {
        let key = (phone.to_owned(), device);
        self.shared
            .until(|r| r.outbox.get(&key).map_or(0, Vec::len) >= count)
            .await;
    }

    /// Stops accepting connections and waits for the server task.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.media.abort();
        self.task.abort();
        let _ = self.task.await;
        Ok(())
    }
}

/// Socket buffer sizes per connection: WhatsApp stanzas are small, and tungstenite's 128 KiB
/// defaults would dominate the emulator's memory with a thousand clients connected.
const SOCKET_BUFFER: usize = 8 * 1024;

async fn upgrade(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .on_upgrade(move |socket| conn::serve(shared, socket))
}
