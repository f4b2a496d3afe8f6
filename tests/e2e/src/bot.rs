//! A bare whatsapp-rust client linked to an emulator phone: the other side of a conversation
//! where Titan has no endpoint for it yet (creating groups, voting on polls), or where a test
//! checks the library itself.

use std::sync::Arc;
use std::time::Duration;

use titan_server::whatsapp::http::{HttpClientConfig, ReqwestHttpClient};
use titan_server::whatsapp::transport::{Proxy, SessionTransportFactory};
use wa_emulator::Emulator;
use whatsapp_rust::prelude::{Bot, BotHandle, Event, TokioRuntime};

use crate::harness::STEP;

/// What a linked client reports, in order.
pub type Events = tokio::sync::mpsc::UnboundedReceiver<Arc<Event>>;

/// An HTTP client for the emulator's media host, trusting its CA.
pub fn trusting(emulator: &Emulator) -> ReqwestHttpClient {
    ReqwestHttpClient::new(&HttpClientConfig {
        extra_roots: vec![emulator.media_ca_pem().to_owned()],
        ..Default::default()
    })
    .expect("an HTTP client for the emulator")
}

/// A client linked by QR to `phone`, connected, with its event stream.
pub async fn linked(emulator: &Emulator, phone: &str) -> (BotHandle, Events) {
    linked_via(emulator, phone, None).await
}

/// Like [`linked`], with the WebSocket through `proxy`.
pub async fn linked_via(emulator: &Emulator, phone: &str, proxy: Option<Proxy>) -> (BotHandle, Events) {
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let bot = Bot::builder()
        .with_backend(whatsapp_rust::wacore::store::InMemoryBackend::new())
        .with_transport_factory(SessionTransportFactory::new(emulator.ws_url(), proxy))
        .with_http_client(trusting(emulator))
        .with_runtime(TokioRuntime)
        .with_version((2, 3000, 0))
        .with_push_name(phone)
        .on_event(move |event, _client| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event);
            }
        })
        .build()
        .await
        .expect("build the client");
    let handle = bot.spawn();
    wait_for(&mut events, "pairing", |event| match event {
        Event::PairingQrCode(qr) => {
            emulator.scan_qr(&qr.code, Some(phone)).expect("scan the QR code");
            None
        }
        Event::Connected(_) => Some(()),
        _ => None,
    })
    .await;
    (handle, events)
}

/// Waits for the first event `pick` accepts and returns what it extracted.
pub async fn wait_for<T>(events: &mut Events, what: &str, pick: impl Fn(&Event) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = tokio::time::timeout(left.max(Duration::from_millis(1)), events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within {STEP:?}"))
            .unwrap_or_else(|| panic!("the client stopped while waiting for {what}"));
        if let Some(found) = pick(&event) {
            return found;
        }
    }
}
