//! Titan's pieces of a whatsapp-rust client, with real clients against the emulator: the reqwest
//! media client (upload, send, download; statuses come back as responses; timeouts and untrusted
//! hosts are errors) and the session transport, directly and through HTTP CONNECT and SOCKS5
//! proxies that count what they relay.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;
use titan_e2e::bot::{linked, linked_via, trusting, wait_for};
use titan_e2e::proxies::{counting_proxy, counting_socks5};

use titan_server::whatsapp::http::{HttpClientConfig, ReqwestHttpClient};
use titan_server::whatsapp::transport::Proxy;
use wa_emulator::Emulator;
use whatsapp_rust::download::MediaType;
use whatsapp_rust::http::{HttpClient, HttpRequest};
use whatsapp_rust::media::{ImageOptions, image_message};
use whatsapp_rust::prelude::Event;
use whatsapp_rust::upload::UploadOptions;

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
    let image = wait_for(&mut bob_events, "the image", |event| match event {
        Event::Messages(batch) => batch
            .messages
            .iter()
            .find_map(|m| m.message.image_message.as_option().cloned()),
        _ => None,
    })
    .await;
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
async fn the_websocket_goes_through_http_connect_and_socks5_proxies() {
    let emulator = Emulator::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (http_proxy, http_tunnels) = counting_proxy().await;
    let (socks, socks_tunnels) = counting_socks5(false).await;
    let (socks_auth, auth_tunnels) = counting_socks5(true).await;
    let mut clients = Vec::new();
    for (phone, url) in [
        ("15550000411", &http_proxy),
        ("15550000412", &socks),
        ("15550000413", &socks_auth),
    ] {
        let (client, _) = linked_via(&emulator, phone, Some(url.parse().unwrap())).await;
        clients.push(client);
    }
    for (name, tunnels) in [
        ("CONNECT", &http_tunnels),
        ("SOCKS5", &socks_tunnels),
        ("SOCKS5 with password", &auth_tunnels),
    ] {
        // Pairing restarts the stream (515), so each client went through its proxy twice.
        assert!(
            tunnels.load(std::sync::atomic::Ordering::SeqCst) >= 2,
            "the {name} proxy relayed the client's connections"
        );
    }
    for client in clients {
        client.shutdown().await;
    }

    // A proxy that refuses (wrong password) is an error, not a direct connection.
    let wrong: Proxy = socks_auth.replace("secret", "wrong").parse().unwrap();
    assert!(wrong.tunnel("127.0.0.1", 1).await.is_err());
    emulator.stop().await.unwrap();
}

#[test]
fn proxy_urls_are_checked() {
    for good in [
        "http://127.0.0.1:3128",
        "socks5://proxy.example:1080",
        "socks5://u:p@10.0.0.1:1080/",
    ] {
        assert!(good.parse::<Proxy>().is_ok(), "{good}");
    }
    for bad in [
        "https://127.0.0.1:3128",
        "socks5://host",
        "http://:80",
        "http://h:99999",
        "ftp://h:21",
        "http://u@h:1",
    ] {
        assert!(bad.parse::<Proxy>().is_err(), "{bad}");
    }
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
