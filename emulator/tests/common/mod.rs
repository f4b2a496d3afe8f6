//! A real whatsapp-rust client driven against the emulator, as every test here uses it.
#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use wa_emulator::Emulator;
use whatsapp_rust::prelude::{Bot, BotHandle, Event, TokioRuntime};
use whatsapp_rust::store::traits::Backend;
use whatsapp_rust::transport::TokioWebSocketTransportFactory;

/// How long a step may take before the test fails (generous: steps take milliseconds, but CI
/// machines can be slow and a wait that runs out names the step it was waiting for).
pub const STEP: Duration = Duration::from_secs(45);

pub struct Companion {
    pub handle: BotHandle,
    pub events: mpsc::UnboundedReceiver<Arc<Event>>,
}

/// A plain text message.
pub fn text(body: &str) -> whatsapp_rust::waproto::whatsapp::Message {
    whatsapp_rust::waproto::whatsapp::Message {
        conversation: Some(body.to_owned()),
        ..Default::default()
    }
}

/// The phone-number JID of `phone`.
pub fn jid(phone: &str) -> whatsapp_rust::Jid {
    format!("{phone}@s.whatsapp.net").parse().unwrap()
}

/// An HTTP client that trusts the emulator's media host (its CA and nothing else).
pub fn media_client(emulator: &Emulator) -> whatsapp_rust::http::UreqHttpClient {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let ca = Certificate::from_pem(emulator.media_ca_pem().as_bytes()).unwrap();
    let tls = TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(vec![ca])))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .build()
        .into();
    whatsapp_rust::http::UreqHttpClient::with_agent(agent)
}

/// Logs from the emulator and the clients when `RUST_LOG` is set (e.g. `RUST_LOG=debug`), so a
/// failing test can be read stanza by stanza.
fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

pub async fn connect(emulator: &Emulator, backend: Arc<dyn Backend>, push_name: &str) -> Companion {
    init_logging();
    let (tx, events) = mpsc::unbounded_channel();
    let bot = Bot::builder()
        .with_backend_arc(backend)
        .with_transport_factory(TokioWebSocketTransportFactory::new().with_url(emulator.ws_url()))
        .with_http_client(media_client(emulator))
        .with_runtime(TokioRuntime)
        .with_version((2, 3000, 0))
        .with_push_name(push_name)
        .on_event(move |event, _client| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event);
            }
        })
        .build()
        .await
        .unwrap();
    Companion {
        handle: bot.spawn(),
        events,
    }
}

impl Companion {
    /// The next QR code the client shows.
    pub async fn qr(&mut self) -> String {
        self.wait_for("a QR code", |e| match e {
            Event::PairingQrCode(qr) => Some(qr.code.clone()),
            _ => None,
        })
        .await
    }

    /// The first event `pick` accepts, within [`STEP`].
    pub async fn wait_for<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {STEP:?}"))
                .unwrap_or_else(|| panic!("the client stopped before {what}"));
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    }
}

/// A new client on fresh keys, linked by QR to `phone`; returns it connected, with its device id.
pub async fn pair(emulator: &Emulator, phone: &str, push_name: &str) -> (Companion, u32) {
    let backend: Arc<dyn Backend> = Arc::new(whatsapp_rust::wacore::store::InMemoryBackend::new());
    pair_with(emulator, backend, phone, push_name).await
}

/// Like [`pair`], on the given key store (so the test can log in again on it later).
pub async fn pair_with(
    emulator: &Emulator,
    backend: Arc<dyn Backend>,
    phone: &str,
    push_name: &str,
) -> (Companion, u32) {
    let mut companion = connect(emulator, backend, push_name).await;
    let qr = companion.qr().await;
    let linked = emulator.scan_qr(&qr, Some(phone)).unwrap();
    companion
        .wait_for("Connected", |e| matches!(e, Event::Connected(_)).then_some(()))
        .await;
    (companion, linked.device)
}
