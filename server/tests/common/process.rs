//! `titan` as a real process: started on a database, waited for, killed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const TITAN: &str = env!("CARGO_BIN_EXE_titan");
/// The master key the processes are started with.
pub const MASTER: &str = "process-master-key-0123456789";

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Starts `titan serve` on `database_url` at `port`, logging to `dir/titan.log`, with `extra`
/// environment variables on top of the test defaults.
pub fn serve(database_url: &str, port: u16, dir: &std::path::Path, extra: &[(&str, &str)]) -> Child {
    Command::new(TITAN)
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("TITAN_BIND", format!("127.0.0.1:{port}"))
        .env("TITAN_WHATSAPP_URL", "ws://127.0.0.1:9/ws/chat")
        .env("MASTER_KEY", MASTER)
        .env("TITAN_SECRET_KEY_FILE", dir.join("secret.key"))
        .env("TITAN_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("TITAN_RATE_LIMIT", "100000")
        .env("RUST_LOG", "warn")
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .stderr(log(dir))
        .spawn()
        .unwrap()
}

/// The server's log (appended across restarts), shown when it does not come up.
fn log(dir: &std::path::Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("titan.log"))
        .unwrap()
}

/// Waits until the server at `base` is ready, or panics with its log.
pub async fn wait_healthy(http: &reqwest::Client, base: &str, server: &mut Child, dir: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while http.get(format!("{base}/readyz")).send().await.map(|r| r.status()).ok() != Some(reqwest::StatusCode::OK) {
        if Instant::now() > deadline || server.try_wait().unwrap().is_some() {
            let log = std::fs::read_to_string(dir.join("titan.log")).unwrap_or_default();
            panic!("server did not come up ({:?}); its log:\n{log}", server.try_wait());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A new `*` API key, minted with the master key through the admin API at `base`.
pub async fn root_key(http: &reqwest::Client, base: &str) -> String {
    let created: serde_json::Value = http
        .post(format!("{base}/admin/keys"))
        .bearer_auth(MASTER)
        .json(&serde_json::json!({"label": "test", "scopes": ["*"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["data"]["key"].as_str().unwrap().to_owned()
}
