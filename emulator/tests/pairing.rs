//! Real whatsapp-rust 0.7.0 clients pair with the emulator by QR and log in again on stored keys.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use wa_emulator::{Emulator, Fault, Pattern};
use whatsapp_rust::prelude::{Bot, BotHandle, Event, TokioRuntime};
use whatsapp_rust::store::traits::Backend;
use whatsapp_rust::transport::TokioWebSocketTransportFactory;

/// How long a step may take before the test fails (the first login after pairing waits up to
/// 10 s for an app-state key share that the emulator does not send yet).
const STEP: Duration = Duration::from_secs(45);

struct Companion {
    handle: BotHandle,
    events: mpsc::UnboundedReceiver<Arc<Event>>,
}

async fn connect(emulator: &Emulator, backend: Arc<dyn Backend>, push_name: &str) -> Companion {
    let (tx, events) = mpsc::unbounded_channel();
    let bot = Bot::builder()
        .with_backend_arc(backend)
        .with_transport_factory(TokioWebSocketTransportFactory::new().with_url(emulator.ws_url()))
        .with_http_client(whatsapp_rust::http::UreqHttpClient::new())
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
    /// The first event `pick` accepts, within [`STEP`].
    async fn wait_for<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
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

#[tokio::test]
async fn qr_pairing_reaches_connected_and_a_restart_logs_in_again() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let backend: Arc<dyn Backend> = Arc::new(whatsapp_rust::wacore::store::InMemoryBackend::new());

    let mut companion = connect(&emulator, Arc::clone(&backend), "alice").await;
    let qr = companion
        .wait_for("a QR code", |e| match e {
            Event::PairingQrCode(qr) => Some(qr.code.clone()),
            _ => None,
        })
        .await;
    let scanned = std::time::Instant::now();
    let linked = emulator.scan_qr(&qr, Some("15550001111")).unwrap();
    assert_eq!(linked.phone, "15550001111");
    assert_eq!(
        linked.jid,
        format!("15550001111:{}@s.whatsapp.net", linked.device)
    );
    companion
        .wait_for("PairSuccess", |e| {
            matches!(e, Event::PairSuccess(_)).then_some(())
        })
        .await;
    companion
        .wait_for("Connected", |e| {
            matches!(e, Event::Connected(_)).then_some(())
        })
        .await;
    eprintln!("QR scan to Connected: {:?}", scanned.elapsed());
    let client = companion.handle.client();
    assert_eq!(
        client.pn().map(|j| j.user.to_string()),
        Some("15550001111".to_owned())
    );
    assert!(
        emulator.scan_qr(&qr, None).is_err(),
        "a used QR code links nothing"
    );
    companion.handle.shutdown().await;

    // A new client on the same keys logs in without pairing.
    let restarted_at = std::time::Instant::now();
    let mut again = connect(&emulator, backend, "alice").await;
    again
        .wait_for("Connected after restart", |e| match e {
            Event::PairingQrCode(_) => panic!("a paired device was asked to pair again"),
            Event::Connected(_) => Some(()),
            _ => None,
        })
        .await;
    eprintln!("restart to Connected: {:?}", restarted_at.elapsed());
    let patterns = emulator.handshakes();
    assert_eq!(
        patterns.first(),
        Some(&Pattern::Xx),
        "an unpaired client starts with XX"
    );
    assert_eq!(
        patterns.last(),
        Some(&Pattern::Ik),
        "a restart on stored keys uses IK: {patterns:?}"
    );

    // Faults: a 515 and a dropped socket each end in a transparent reconnect.
    for fault in [Fault::StreamError515, Fault::Drop] {
        let before = emulator.handshakes().len();
        emulator
            .inject(&linked.phone, linked.device, fault)
            .unwrap();
        again
            .wait_for("Connected after the fault", |e| {
                matches!(e, Event::Connected(_)).then_some(())
            })
            .await;
        assert!(
            emulator.handshakes().len() > before,
            "{fault:?} forced a new connection"
        );
    }
    again.handle.shutdown().await;
    emulator.stop().await.unwrap();
}

#[tokio::test]
async fn an_unknown_device_is_logged_out() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let other = Emulator::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let backend: Arc<dyn Backend> = Arc::new(whatsapp_rust::wacore::store::InMemoryBackend::new());
    let mut companion = connect(&other, Arc::clone(&backend), "bob").await;
    let qr = companion
        .wait_for("a QR code", |e| match e {
            Event::PairingQrCode(qr) => Some(qr.code.clone()),
            _ => None,
        })
        .await;
    other.scan_qr(&qr, None).unwrap();
    companion
        .wait_for("Connected", |e| {
            matches!(e, Event::Connected(_)).then_some(())
        })
        .await;
    companion.handle.shutdown().await;

    // The same keys against an emulator that never linked them: 401 → LoggedOut.
    let mut stranger = connect(&emulator, backend, "bob").await;
    stranger
        .wait_for("LoggedOut", |e| {
            matches!(e, Event::LoggedOut(_)).then_some(())
        })
        .await;
    stranger.handle.shutdown().await;
    emulator.stop().await.unwrap();
    other.stop().await.unwrap();
}
