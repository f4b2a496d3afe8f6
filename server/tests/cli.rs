//! The `titan` binary: `keys create`, `openapi`, and `serve` with a graceful stop on SIGTERM.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const TITAN: &str = env!("CARGO_BIN_EXE_titan");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test]
async fn keys_create_then_serve_then_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/nested/titan.db", dir.path().display());
    let created = Command::new(TITAN)
        .args([
            "keys",
            "create",
            "--label",
            "ops",
            "--scopes",
            "*",
            "--lifetime-days",
            "7",
        ])
        .env("DATABASE_URL", &database_url)
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let key = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("titan_"), "stdout is only the key: {key}");
    let notes = String::from_utf8(created.stderr).unwrap();
    assert!(notes.contains("cannot be shown again") && !notes.contains(&key));

    let bad_scope = Command::new(TITAN)
        .args(["keys", "create", "--label", "x", "--scopes", "chats:write"])
        .env("DATABASE_URL", &database_url)
        .output()
        .unwrap();
    assert!(!bad_scope.status.success());
    assert!(String::from_utf8_lossy(&bad_scope.stderr).contains("unknown scope"));

    let port = free_port();
    let mut server = Command::new(TITAN)
        .arg("serve")
        .env("DATABASE_URL", &database_url)
        .env("TITAN_BIND", format!("127.0.0.1:{port}"))
        // Loopback, so a sandbox build (as `make test` builds it) starts too; no session runs here.
        .env("TITAN_WHATSAPP_URL", "ws://127.0.0.1:9/ws/chat")
        .env("TITAN_LOG_FORMAT", "json")
        .env("TITAN_SECRET_KEY_FILE", dir.path().join("secret.key"))
        .env_remove("MASTER_KEY")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/account/keys");
    let deadline = Instant::now() + Duration::from_secs(30);
    let response = loop {
        match http.get(&url).bearer_auth(&key).send().await {
            Ok(response) => break response,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(error) => panic!("server did not come up: {error}"),
        }
    };
    assert_eq!(response.status(), 200);
    let listed: Value = response.json().await.unwrap();
    assert_eq!(listed["data"][0]["label"], "ops");
    let admin = http
        .get(format!("http://127.0.0.1:{port}/admin/keys"))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 403, "the admin API is off without MASTER_KEY");

    // SQLite serves one server: a second one on the same file refuses to start, and says why.
    let second = Command::new(TITAN)
        .arg("serve")
        .env("DATABASE_URL", &database_url)
        .env("TITAN_BIND", format!("127.0.0.1:{}", free_port()))
        .env("TITAN_WHATSAPP_URL", "ws://127.0.0.1:9/ws/chat")
        .env("TITAN_SECRET_KEY_FILE", dir.path().join("secret.key"))
        .output()
        .unwrap();
    assert!(!second.status.success(), "a second server on the SQLite file exits");
    let why = String::from_utf8_lossy(&second.stderr);
    assert!(
        why.contains("another titan server has the SQLite database") && why.contains("PostgreSQL"),
        "{why}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || {
        let status = server.wait().unwrap();
        let mut logs = String::new();
        std::io::Read::read_to_string(server.stderr.as_mut().unwrap(), &mut logs).unwrap();
        (status, logs)
    })
    .await
    .unwrap();
    assert!(output.0.success(), "graceful shutdown exits 0");
    let logs = output.1;
    assert!(logs.contains("shutting down"));
    let request_line = logs
        .lines()
        .find(|l| l.contains("/api/account/keys"))
        .expect("a request log line");
    let request_line: Value = serde_json::from_str(request_line).expect("JSON logs");
    assert_eq!(request_line["status"], 200);
    assert!(request_line["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(!logs.contains(&key), "the key is never logged");
    assert!(!logs.contains(&key["titan_".len()..]));
}

#[test]
fn openapi_prints_the_served_document() {
    let output = Command::new(TITAN).arg("openapi").output().unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        printed.trim_end(),
        titan_server::api::openapi().to_pretty_json().unwrap()
    );
}

#[test]
fn help_documents_every_setting() {
    let output = Command::new(TITAN).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for variable in [
        "TITAN_BIND",
        "DATABASE_URL",
        "MASTER_KEY",
        "TITAN_RATE_LIMIT",
        "TITAN_RATE_LIMIT_WINDOW_SECS",
        "TITAN_AUTH_FAILURE_LIMIT",
        "TITAN_LOG_FORMAT",
        "TITAN_MAX_BODY_BYTES",
    ] {
        assert!(help.contains(variable), "--help names {variable}");
    }
}
