//! Real whatsapp-rust 0.7.0 clients pair with the emulator by QR and log in again on stored keys.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;

use common::connect;
use wa_emulator::{Emulator, Fault, Pattern};
use whatsapp_rust::prelude::Event;
use whatsapp_rust::store::traits::Backend;

#[tokio::test]
async fn qr_pairing_reaches_connected_and_a_restart_logs_in_again() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let backend: Arc<dyn Backend> = Arc::new(whatsapp_rust::wacore::store::InMemoryBackend::new());

    let mut companion = connect(&emulator, Arc::clone(&backend), "alice").await;
    let qr = companion.qr().await;
    let scanned = std::time::Instant::now();
    let linked = emulator.scan_qr(&qr, Some("15550001111")).unwrap();
    assert_eq!(linked.phone, "15550001111");
    assert_eq!(linked.jid, format!("15550001111:{}@s.whatsapp.net", linked.device));
    companion
        .wait_for("PairSuccess", |e| matches!(e, Event::PairSuccess(_)).then_some(()))
        .await;
    companion
        .wait_for("Connected", |e| matches!(e, Event::Connected(_)).then_some(()))
        .await;
    eprintln!("QR scan to Connected: {:?}", scanned.elapsed());
    let client = companion.handle.client();
    assert_eq!(client.pn().map(|j| j.user.to_string()), Some("15550001111".to_owned()));
    assert!(emulator.scan_qr(&qr, None).is_err(), "a used QR code links nothing");
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
        emulator.inject(&linked.phone, linked.device, fault).unwrap();
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
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let other = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let backend: Arc<dyn Backend> = Arc::new(whatsapp_rust::wacore::store::InMemoryBackend::new());
    let mut companion = connect(&other, Arc::clone(&backend), "bob").await;
    let qr = companion.qr().await;
    other.scan_qr(&qr, None).unwrap();
    companion
        .wait_for("Connected", |e| matches!(e, Event::Connected(_)).then_some(()))
        .await;
    companion.handle.shutdown().await;

    // The same keys against an emulator that never linked them: 401 → LoggedOut.
    let mut stranger = connect(&emulator, backend, "bob").await;
    stranger
        .wait_for("LoggedOut", |e| matches!(e, Event::LoggedOut(_)).then_some(()))
        .await;
    stranger.handle.shutdown().await;
    emulator.stop().await.unwrap();
    other.stop().await.unwrap();
}

#[tokio::test]
async fn pair_code_linking_reaches_connected_and_a_wrong_code_links_nothing() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let backend: Arc<dyn Backend> = Arc::new(whatsapp_rust::wacore::store::InMemoryBackend::new());
    let mut companion = connect(&emulator, backend, "carol").await;
    companion.qr().await;
    let options = whatsapp_rust::pair_code::PairCodeOptions {
        phone_number: "15550002222".into(),
        ..Default::default()
    };
    let code = companion.handle.client().pair_with_code(options).await.unwrap();
    assert_eq!(code.len(), 8, "the client shows an 8-character code: {code}");

    let wrong = if code.starts_with('A') { "BBBBBBBB" } else { "AAAAAAAA" };
    let refused = emulator.enter_pair_code("15550002222", wrong).await;
    assert!(refused.is_err(), "a wrong code must not link a device");
    assert!(
        emulator.enter_pair_code("15550009999", &code).await.is_err(),
        "no companion waits for that number"
    );

    // The phone retires the spent code; the companion asks for a new one and that one works.
    companion
        .wait_for("PairingCodeRefresh", |e| {
            matches!(e, Event::PairingCodeRefresh(_)).then_some(())
        })
        .await;
    let options = whatsapp_rust::pair_code::PairCodeOptions {
        phone_number: "15550002222".into(),
        ..Default::default()
    };
    let code = companion.handle.client().pair_with_code(options).await.unwrap();
    let entered = std::time::Instant::now();
    let linked = emulator
        .enter_pair_code("15550002222", &code.to_lowercase())
        .await
        .unwrap();
    assert_eq!(linked.phone, "15550002222");
    companion
        .wait_for("Connected", |e| matches!(e, Event::Connected(_)).then_some(()))
        .await;
    eprintln!("pair code entered to Connected: {:?}", entered.elapsed());
    assert_eq!(
        companion.handle.client().pn().map(|j| j.user.to_string()),
        Some("15550002222".to_owned())
    );
    companion.handle.shutdown().await;
    emulator.stop().await.unwrap();
}
