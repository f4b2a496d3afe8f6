//! A real `titan` process for the benchmarks (a release sandbox build, so its client accepts the
//! emulator) and the multi-server tests (the debug build `cargo test` makes), with what they do
//! to it: link sessions through the emulator, count the connected ones, read its memory, stop
//! or kill it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use titan_client::Client;
use titan_client::types::{self, CreateKey, Scope, Status};
use wa_emulator::Emulator;

use crate::harness::{MASTER_KEY, client};

/// The `titan` binary of a release sandbox build (or the one `TITAN_BINARY` names).
pub fn titan_binary() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("TITAN_BINARY") {
        return path.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target").into());
    let path = std::path::Path::new(&target).join("release/titan");
    assert!(
        path.exists(),
        "build it first: cargo build --release -p titan-server --features sandbox"
    );
    path
}

/// The `titan` binary of the debug sandbox build beside this test binary (`cargo test
/// --workspace --features titan-server/sandbox` builds it), or the one `TITAN_BINARY` names.
pub fn debug_titan_binary() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("TITAN_BINARY") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/debug/deps/<test> → target/debug/titan
    let path = exe
        .parent()
        .and_then(std::path::Path::parent)
        .map(|dir| dir.join("titan"))
        .expect("the target directory");
    assert!(
        path.exists(),
        "build it first: cargo build -p titan-server --features sandbox (cargo test --workspace does)"
    );
    path
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `titan serve`.
pub struct Server {
    child: Child,
    /// Its base URL.
    pub base: String,
}

impl Server {
    /// Starts `titan serve` on `port` against `database_url`, talking to `emulator`; the media
    /// CA goes to `dir`.
    pub fn spawn(emulator: &Emulator, database_url: &str, dir: &std::path::Path, port: u16) -> Self {
        Self::spawn_with(&titan_binary(), emulator, database_url, dir, port, &[])
    }

    /// Starts `binary serve` like [`Server::spawn`], with `env` added to its environment.
    pub fn spawn_with(
        binary: &std::path::Path,
        emulator: &Emulator,
        database_url: &str,
        dir: &std::path::Path,
        port: u16,
        env: &[(&str, &str)],
    ) -> Self {
        let ca = dir.join("media-ca.pem");
        std::fs::write(&ca, emulator.media_ca_pem()).expect("write the media CA");
        let child = Command::new(binary)
            .arg("serve")
            .envs(env.iter().copied())
            .env("TITAN_SECRET_KEY", "process-secret-key")
            .env("TITAN_MEDIA_STORE", dir.join("media"))
            .env("DATABASE_URL", database_url)
            .env("TITAN_BIND", format!("127.0.0.1:{port}"))
            .env("MASTER_KEY", MASTER_KEY)
            .env("TITAN_WHATSAPP_URL", emulator.ws_url())
            .env("TITAN_WHATSAPP_VERSION", "2.3000.0")
            .env("TITAN_MEDIA_CA_FILE", &ca)
            .env("TITAN_RATE_LIMIT", "1000000")
            .env("TITAN_MEDIA_ALLOW_PRIVATE", "true")
            // `TITAN_TEST_SERVER_LOG=info` (any filter) shows more of the servers' logs.
            .env(
                "TITAN_LOG",
                std::env::var("TITAN_TEST_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start titan");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits until it answers `/healthz`.
    pub async fn ready(&self) {
        let http = reqwest::Client::new();
        while http.get(format!("{}/healthz", self.base)).send().await.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A new `*` key.
    pub async fn key(&self) -> String {
        client(&self.base, MASTER_KEY)
            .admin_create_key()
            .body(CreateKey::builder().label("bench").scopes(vec![Scope::ALL]))
            .send()
            .await
            .expect("create a key")
            .into_inner()
            .data
            .key
    }

    /// A client holding a new `*` key.
    pub async fn api(&self) -> Client {
        client(&self.base, &self.key().await)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its resident set, in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.memory_kib("VmRSS:")
    }

    /// The peak of its resident set so far, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.memory_kib("VmHWM:")
    }

    /// A `/proc/{pid}/status` memory figure, in KiB.
    fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// SIGKILL, then wait: the process dies at once, as in a crash or a lost machine.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait: sessions flush and keep their running mark.
    pub fn stop(mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    /// A benchmark that fails midway does not leave its server running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The phone number the emulator gives bench session `i`.
pub fn phone(i: usize) -> String {
    format!("1555{i:07}")
}

/// The name of bench session `i`.
pub fn session(i: usize) -> String {
    format!("s{i:04}")
}

/// How many sessions are `CONNECTED`.
pub async fn connected(client: &Client) -> usize {
    let mut count = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut call = client.list_sessions().limit(200u32);
        if let Some(c) = &cursor {
            call = call.cursor(c.clone());
        }
        let page = call.send().await.expect("list sessions").into_inner();
        count += page.data.iter().filter(|s| s.status == Status::Connected).count();
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return count,
        }
    }
}

/// Waits until `want` sessions are `CONNECTED` (at most ten minutes).
pub async fn wait_connected(client: &Client, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while connected(client).await < want {
        assert!(Instant::now() < deadline, "sessions did not all connect");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Creates sessions `from..to` and links each, session `i` by QR to [`phone`] `phones + i`, 16
/// at a time.
pub async fn link(client: &Client, emulator: &Emulator, phones: usize, from: usize, to: usize) {
    futures::stream::iter(from..to)
        .for_each_concurrent(16, |i| async move {
            let name = session(i);
            client
                .create_session()
                .body(types::CreateSession::builder().name(name.clone()).start(true))
                .send()
                .await
                .expect("create a session");
            let qr = client
                .get_pairing_qr()
                .session(&name)
                .send()
                .await
                .expect("a QR code")
                .into_inner()
                .data;
            emulator
                .scan_qr(&qr.code, Some(&phone(phones + i)))
                .expect("scan the QR code");
        })
        .await;
}

/// The value at fraction `p` of `sorted`.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The value of the first `/metrics` series of the server at `base` whose line starts with
/// `series` (a name, or a name and the start of its labels); `None` if it has none.
pub async fn metric(http: &reqwest::Client, base: &str, series: &str) -> Option<u64> {
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    metrics
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
}
