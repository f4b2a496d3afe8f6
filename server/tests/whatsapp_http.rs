//! The reqwest media client against the emulator's HTTPS media host, with real whatsapp-rust
//! clients: upload, send, download; statuses come back as responses; timeouts and untrusted
//! hosts are errors.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use titan_server::whatsapp::http::{HttpClientConfig, ReqwestHttpClient};
use wa_emulator::Emulator;
use whatsapp_rust::download::MediaType;
use whatsapp_rust::http::{HttpClient, HttpRequest};
use whatsapp_rust::media::{ImageOptions, image_message};
use whatsapp_rust::prelude::{Bot, BotHandle, Event, TokioRuntime};
use whatsapp_rust::transport::TokioWebSocketTransportFactory;
use whatsapp_rust::upload::UploadOptions;

fn trusting(emulator: &Emulator) -> ReqwestHttpClient {
    ReqwestHttpClient::new(&HttpClientConfig {
        extra_roots: vec![emulator.media_ca_pem().to_owned()],
        ..Default::default()
    })
    .unwrap()
}

/// A client linked by QR to `phone`, connected, with its event stream.
async fn linked(emulator: &Emulator, phone: &str) -> (BotHandle, tokio::sync::mpsc::UnboundedReceiver<Arc<Event>>) {
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let bot = Bot::builder()
        .with_backend(whatsapp_rust::wacore::store::InMemoryBackend::new())
        .with_transport_factory(TokioWebSocketTransportFactory::new().with_url(emulator.ws_url()))
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
        .unwrap();
    let handle = bot.spawn();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .unwrap()
            .unwrap();
        match &*event {
            Event::PairingQrCode(qr) => {
                emulator.scan_qr(&qr.code, Some(phone)).unwrap();
            }
            Event::Connected(_) => return (handle, events),
            _ => {}
        }
    }
}

#[tokio::test]
async fn media_goes_through_the_reqwest_client() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (alice, _) = linked(&emulator, "15550000401").await;
    let (bob, mut bob_events) = linked(&emulator, "15550000402").await;
    emulator.wait_for_prekeys("15550000401", 1).await;
    emulator.wait_for_prekeys("15550000402", 1).await;

    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let client = alice.client();
    let uploaded = client
        .upload(bytes.clone(), MediaType::Image, UploadOptions::default())
        .await
        .unwrap();
    let direct_path = uploaded.direct_path.clone();
    client
        .send_message(
            "15550000402@s.whatsapp.net".parse::<whatsapp_rust::Jid>().unwrap(),
            image_message(uploaded, ImageOptions::default()),
        )
        .await
        .unwrap();
    let image = loop {
        let event = tokio::time::timeout(Duration::from_secs(30), bob_events.recv())
            .await
            .unwrap()
            .unwrap();
        if let Event::Messages(batch) = &*event
            && let Some(image) = batch
                .messages
                .iter()
                .find_map(|m| m.message.image_message.as_option().cloned())
        {
            break image;
        }
    };
    assert!(bob.client().download(&image).await.unwrap() == bytes);

    // A refusal is a response with its status, not an error.
    let url = format!("{}{direct_path}", emulator.media_url());
    let refused = trusting(&emulator)
        .execute(HttpRequest::get(url.clone()))
        .await
        .unwrap();
    assert_eq!(refused.status_code, 401);
    // Without the emulator's CA the host is not trusted.
    let default = ReqwestHttpClient::new(&HttpClientConfig::default()).unwrap();
    assert!(default.execute(HttpRequest::get(url)).await.is_err());

    alice.shutdown().await;
    bob.shutdown().await;
    emulator.stop().await.unwrap();
}

/// An HTTP CONNECT proxy on loopback that counts the tunnels it relays.
async fn counting_proxy() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let tunnels = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&tunnels);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let Some(target) = head.strip_prefix("CONNECT ").and_then(|r| r.split(' ').next()) else {
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (url, tunnels)
}

#[tokio::test]
async fn media_requests_go_through_the_configured_proxy() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (proxy, tunnels) = counting_proxy().await;
    let client = ReqwestHttpClient::new(&HttpClientConfig {
        proxy: Some(proxy),
        extra_roots: vec![emulator.media_ca_pem().to_owned()],
        ..Default::default()
    })
    .unwrap();
    let response = client
        .execute(HttpRequest::get(format!(
            "{}/v/image/missing.enc",
            emulator.media_url()
        )))
        .await
        .unwrap();
    assert_eq!(response.status_code, 401, "the emulator answered through the tunnel");
    assert_eq!(tunnels.load(std::sync::atomic::Ordering::SeqCst), 1);
    emulator.stop().await.unwrap();
}

#[tokio::test]
async fn a_silent_server_is_a_timeout_and_bad_settings_are_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = ReqwestHttpClient::new(&HttpClientConfig {
        read_timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        client.execute(HttpRequest::get(format!("http://{addr}/never"))),
    )
    .await
    .expect("the read timeout ends the request");
    assert!(outcome.is_err());
    silent.abort();

    let bad_proxy = HttpClientConfig {
        proxy: Some("not a url".into()),
        ..Default::default()
    };
    assert!(ReqwestHttpClient::new(&bad_proxy).is_err());
    let bad_root = HttpClientConfig {
        extra_roots: vec!["-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n".into()],
        ..Default::default()
    };
    assert!(ReqwestHttpClient::new(&bad_root).is_err());
}
