//! titan-client against a real Titan server on loopback: the SDK's promises, end to end.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use titan_client::paging::Paginated;
use titan_client::types::{CreateKey, Scope, UpdateKey};
use titan_client::{Client, Error};
use titan_server::config::Config;
use titan_server::server::RunningServer;
use titan_server::store::Db;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MASTER_KEY: &str = "sdk-test-master-key";

struct Server {
    base: String,
    running: RunningServer,
    _dir: tempfile::TempDir,
}

async fn server(config: Config) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}/titan.db", dir.path().display()))
        .await
        .unwrap();
    let config = Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        master_key: Some(MASTER_KEY.into()),
        secret_key: Some("sdk-test-secret".into()),
        ..config
    };
    let running = RunningServer::start(config, db).await.unwrap();
    Server {
        base: format!("http://{}", running.addr),
        running,
        _dir: dir,
    }
}

fn client(base: &str, key: &str) -> Client {
    Client::builder()
        .base_url(base)
        .api_key(key)
        .max_retries(3)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn new_key(label: &str, scopes: Vec<Scope>) -> titan_client::types::builder::CreateKey {
    CreateKey::builder().label(label.to_owned()).scopes(scopes)
}

async fn root_key(server: &Server) -> String {
    let admin = client(&server.base, MASTER_KEY);
    admin
        .admin_create_key()
        .body(new_key("root", vec![Scope::ALL]))
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
        .key
}

#[tokio::test]
async fn key_lifecycle_through_the_sdk() {
    let server = server(Config::default()).await;
    let client = client(&server.base, &root_key(&server).await);

    let created = client
        .create_key()
        .body(new_key("ci", vec![Scope::SessionsRead]).lifetime_days(30))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "raw response access");
    assert!(created.headers().contains_key("x-request-id"));
    let created = created.into_inner().data;
    assert!(created.key.starts_with("titan_"));
    assert_eq!(created.scopes, vec![Scope::SessionsRead]);
    assert!(created.expires_at.is_some());

    let fetched = client.get_key().id(created.id.clone()).send().await.unwrap();
    assert_eq!(fetched.data.label, "ci");
    let updated = client
        .update_key()
        .id(created.id.clone())
        .body(UpdateKey::builder().is_active(false))
        .send()
        .await
        .unwrap();
    assert!(!updated.data.is_active);

    let disabled = Client::builder()
        .base_url(&server.base)
        .api_key(created.key.clone())
        .build()
        .unwrap();
    let error = Error::from(disabled.list_keys().send().await.unwrap_err());
    assert_eq!(error.status(), Some(401));

    let deleted = client.delete_key().id(created.id.clone()).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    let Error::Api(gone) = Error::from(client.get_key().id(created.id).send().await.unwrap_err()) else {
        panic!("an API error")
    };
    assert_eq!(gone.status, 404);
    server.running.stop().await.unwrap();
}

#[tokio::test]
async fn streams_walk_every_page() {
    let server = server(Config::default()).await;
    let client = client(&server.base, &root_key(&server).await);
    for i in 0..7 {
        client
            .create_key()
            .body(new_key(&format!("k{i}"), vec![Scope::ChatsRead]))
            .send()
            .await
            .unwrap();
    }
    let first_page = client.list_keys().limit(3).send().await.unwrap().into_inner();
    assert_eq!(first_page.data.len(), 3);
    assert!(first_page.cursor.is_some());
    let all: Vec<_> = client.list_keys().limit(3).stream().try_collect().await.unwrap();
    let labels: Vec<&str> = all.iter().map(|k| k.label.as_str()).collect();
    assert_eq!(labels, ["root", "k0", "k1", "k2", "k3", "k4", "k5", "k6"]);
    server.running.stop().await.unwrap();
}

#[tokio::test]
async fn errors_are_typed_with_status_message_docs_and_request_id() {
    let server = server(Config::default()).await;
    let anonymous = Client::builder().base_url(&server.base).build().unwrap();
    let Error::Api(unauthorized) = Error::from(anonymous.list_keys().send().await.unwrap_err()) else {
        panic!("401")
    };
    assert_eq!(unauthorized.status, 401);
    assert!(unauthorized.message.contains("missing API key"));
    assert!(unauthorized.docs.starts_with("https://"));
    assert_eq!(unauthorized.request_id.len(), 36);

    let root = client(&server.base, &root_key(&server).await);
    let reader_key = root
        .create_key()
        .body(new_key("reader", vec![Scope::SessionsRead]))
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
        .key;
    let reader = client(&server.base, &reader_key);
    let Error::Api(forbidden) = Error::from(reader.list_keys().send().await.unwrap_err()) else {
        panic!("403")
    };
    assert_eq!(
        (forbidden.status, forbidden.message.as_str()),
        (403, "missing scope: *")
    );

    let Error::Api(missing) = Error::from(root.get_key().id("key_nope").send().await.unwrap_err()) else {
        panic!("404")
    };
    assert_eq!(missing.status, 404);

    let invalid = Error::from(root.get_key().send().await.unwrap_err());
    assert!(
        matches!(invalid, Error::InvalidRequest(_)),
        "a missing path argument never reaches the server: {invalid:?}"
    );
    let unreachable = Client::builder()
        .base_url("http://127.0.0.1:9")
        .max_retries(0)
        .build()
        .unwrap();
    assert!(matches!(
        Error::from(unreachable.healthz().send().await.unwrap_err()),
        Error::Connection(_)
    ));
    server.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_429_from_the_real_limiter_is_retried_after_retry_after() {
    let server = server(Config {
        rate_limit: 2,
        rate_limit_window_secs: 1,
        ..Config::default()
    })
    .await;
    let client = client(&server.base, &root_key(&server).await);
    for _ in 0..4 {
        client
            .list_keys()
            .send()
            .await
            .expect("rate-limited calls succeed after their retries");
    }
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let limited = metrics
        .lines()
        .find(|l| l.starts_with(r#"titan_http_requests_total{method="GET",route="/api/account/keys",status="429"}"#))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(
        limited >= 1,
        "the server answered 429 at least once and the SDK retried:\n{metrics}"
    );
    server.running.stop().await.unwrap();
}

/// Relays connections to `upstream`; the first one is cut as soon as the server starts answering,
/// so the client never sees that response.
async fn lossy_proxy(upstream: std::net::SocketAddr) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
            tokio::spawn(async move {
                let mut server = TcpStream::connect(upstream).await.unwrap();
                if !first {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
                let (mut client_read, _client_write) = client.split();
                let (mut server_read, mut server_write) = server.split();
                let forward = tokio::io::copy(&mut client_read, &mut server_write);
                let mut byte = [0u8; 1];
                tokio::select! {
                    _ = forward => {}
                    _ = server_read.read(&mut byte) => {}
                }
                let _ = server_write.shutdown().await;
                // Both halves drop here: the client loses the response.
            });
        }
    });
    (address, connections)
}

#[tokio::test]
async fn an_idempotent_post_retried_after_a_lost_response_creates_one_key() {
    let server = server(Config::default()).await;
    let root = root_key(&server).await;
    let (proxy, connections) = lossy_proxy(server.running.addr).await;
    let through_proxy = client(&proxy, &root);

    let created = through_proxy
        .create_key()
        .body(new_key("exactly-once", vec![Scope::ChatsRead]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        created
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true"),
        "the retry was a replay"
    );
    assert!(
        connections.load(Ordering::SeqCst) >= 2,
        "the first response was lost and the call retried"
    );

    let direct = client(&server.base, &root);
    let all: Vec<_> = direct.list_keys().stream().try_collect().await.unwrap();
    let copies = all.iter().filter(|k| k.label == "exactly-once").count();
    assert_eq!(copies, 1, "one key despite two deliveries of the POST");
    assert_eq!(
        all.iter().find(|k| k.label == "exactly-once").map(|k| &k.id),
        Some(&created.into_inner().data.id)
    );
    server.running.stop().await.unwrap();
}
