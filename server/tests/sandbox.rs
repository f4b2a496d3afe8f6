//! `titan serve --sandbox`, as the README's tour uses it: link a session with curl-style HTTP
//! calls only (the emulator's phone answers at `--sandbox-bind`) and send a message. Also: a
//! sandbox build refuses to connect anywhere but loopback.

#![cfg(feature = "sandbox")]
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TITAN: &str = env!("CARGO_BIN_EXE_titan");
const MASTER: &str = "sandbox-master-key";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Kills the server when the test ends, whatever happens.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http.request(method, url).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Polls `GET /api/sessions/{name}` until its status is `status`.
async fn wait_status(http: &reqwest::Client, api: &str, key: &str, name: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let (_, session) = call(
            http,
            reqwest::Method::GET,
            &format!("{api}/api/sessions/{name}"),
            key,
            None,
        )
        .await;
        if session["data"]["status"] == status {
            return session;
        }
        assert!(Instant::now() < deadline, "{name} never reached {status}: {session}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_readme_tour_links_two_sessions_and_sends_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let (port, phone_port) = (free_port(), free_port());
    let _server = Server(
        Command::new(TITAN)
            .args(["serve", "--sandbox"])
            .env("DATABASE_URL", format!("sqlite://{}/titan.db", dir.path().display()))
            .env("TITAN_BIND", format!("127.0.0.1:{port}"))
            .env("TITAN_SANDBOX_BIND", format!("127.0.0.1:{phone_port}"))
            .env("MASTER_KEY", MASTER)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (api, phone) = (
        format!("http://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{phone_port}"),
    );
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{api}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the sandbox server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let post = reqwest::Method::POST;
    let (status, created) = call(
        &http,
        post.clone(),
        &format!("{api}/admin/keys"),
        MASTER,
        Some(json!({"label": "tour", "scopes": ["*"]})),
    )
    .await;
    assert_eq!(status, 201);
    let key = created["data"]["key"].as_str().unwrap().to_owned();

    for (name, number) in [("alice", "15550009001"), ("bob", "15550009002")] {
        let (status, _) = call(
            &http,
            post.clone(),
            &format!("{api}/api/sessions"),
            &key,
            Some(json!({"name": name, "start": true})),
        )
        .await;
        assert_eq!(status, 201);
        let (status, qr) = call(
            &http,
            reqwest::Method::GET,
            &format!("{api}/api/{name}/pair/qr"),
            &key,
            None,
        )
        .await;
        assert_eq!(status, 200, "{qr}");
        let (status, linked) = call(
            &http,
            post.clone(),
            &format!("{phone}/admin/scan-qr"),
            "",
            Some(json!({"qr": qr["data"]["code"], "phone": number})),
        )
        .await;
        assert_eq!(status, 200, "{linked}");
        wait_status(&http, &api, &key, name, "CONNECTED").await;
    }
    let (status, sent) = call(
        &http,
        post,
        &format!("{api}/api/messages/send"),
        &key,
        Some(json!({
            "session": "alice", "chatId": "15550009002@s.whatsapp.net", "type": "text", "text": "Hello from Titan!"
        })),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let id = sent["data"]["id"].as_str().unwrap().to_owned();
    let history = format!("{api}/api/sessions/bob/chats/15550009001%40s.whatsapp.net/messages");
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let (_, page) = call(&http, reqwest::Method::GET, &history, &key, None).await;
        if page["data"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["id"] == id.as_str()))
        {
            break;
        }
        assert!(Instant::now() < deadline, "bob never got the message: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_sandbox_build_refuses_a_whatsapp_url_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(TITAN)
        .arg("serve")
        .env("DATABASE_URL", format!("sqlite://{}/titan.db", dir.path().display()))
        .env("TITAN_BIND", format!("127.0.0.1:{}", free_port()))
        .env("TITAN_WHATSAPP_URL", "wss://web.whatsapp.com/ws/chat")
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "a sandbox build must not start against WhatsApp"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("only connects to a WhatsApp emulator on loopback"),
        "{stderr}"
    );
}
