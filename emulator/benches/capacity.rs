//! Capacity: links and connects N real whatsapp-rust clients (default 1,000) to a `wa-emulator`
//! process and prints that process's resident memory, idle and with every client connected.
//!
//! `cargo bench -p wa-emulator --bench capacity` (or `-- 2000 --concurrency 64`).
//! The emulator runs as its own process so its memory is measured alone; the clients live here.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use whatsapp_rust::http::{HttpClient, HttpRequest, UreqHttpClient};
use whatsapp_rust::prelude::{Bot, BotHandle, Event, TokioRuntime};
use whatsapp_rust::transport::TokioWebSocketTransportFactory;

struct Emulator {
    child: Child,
    base: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmRSS` and `VmHWM` of `pid` in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn start_emulator(http: &UreqHttpClient) -> Emulator {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_wa-emulator"))
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start wa-emulator");
    let emulator = Emulator {
        child,
        base: format!("127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        let probe = HttpRequest::get(format!("http://{}/admin/stats", emulator.base));
        if http.execute(probe).await.is_ok_and(|r| r.status_code == 200) {
            return emulator;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("wa-emulator did not come up");
}

/// One client: connect, show a QR code, get it scanned for `phone`, wait for Connected.
async fn link(emulator: &str, http: Arc<UreqHttpClient>, phone: String) -> BotHandle {
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let bot = Bot::builder()
        .with_backend(whatsapp_rust::wacore::store::InMemoryBackend::new())
        .with_transport_factory(TokioWebSocketTransportFactory::new().with_url(format!("ws://{emulator}/ws/chat")))
        .with_http_client(UreqHttpClient::new())
        .with_runtime(TokioRuntime)
        .with_version((2, 3000, 0))
        .with_push_name(format!("user {phone}"))
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
        match &*events.recv().await.expect("client stopped") {
            Event::PairingQrCode(qr) => {
                let body = serde_json::json!({ "qr": qr.code, "phone": phone }).to_string();
                let request = HttpRequest::post(format!("http://{emulator}/admin/scan-qr"))
                    .with_header("Content-Type", "application/json")
                    .with_body(body.into_bytes());
                let response = http.execute(request).await.unwrap();
                assert_eq!(response.status_code, 200, "{}", String::from_utf8_lossy(&response.body));
            }
            Event::Connected(_) => break,
            _ => {}
        }
    }
    // Keep draining events so the client never blocks on a full channel.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    handle
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let clients: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let concurrency: usize = args
        .iter()
        .position(|a| a == "--concurrency")
        .and_then(|i| args.get(i + 1))
        .and_then(|a| a.parse().ok())
        .unwrap_or(32);
    let http = Arc::new(UreqHttpClient::new());
    let emulator = start_emulator(&http).await;
    let pid = emulator.child.id();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (idle, _) = memory(pid);
    println!("emulator pid {pid}, idle RSS {:.1} MiB", idle as f64 / 1024.0);

    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(concurrency));
    let mut tasks = Vec::with_capacity(clients);
    for n in 0..clients {
        let (gate, http, base) = (Arc::clone(&gate), Arc::clone(&http), emulator.base.clone());
        // The task yields the client's handle (itself a future) to keep it running, not to await it.
        #[allow(clippy::async_yields_async)]
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            link(&base, http, format!("1777{n:07}")).await
        }));
    }
    let mut handles = Vec::with_capacity(clients);
    for (n, task) in tasks.into_iter().enumerate() {
        handles.push(task.await.unwrap());
        if (n + 1) % 100 == 0 {
            println!("{:>5} clients connected after {:.1?}", n + 1, started.elapsed());
        }
    }
    let linked_in = started.elapsed();
    // Let prekey uploads and the post-login IQs settle before measuring.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stats = http
        .execute(HttpRequest::get(format!("http://{}/admin/stats", emulator.base)))
        .await
        .unwrap();
    let (rss, peak) = memory(pid);
    println!("linked and connected {clients} clients in {linked_in:.1?}");
    println!("emulator stats: {}", String::from_utf8_lossy(&stats.body));
    println!(
        "emulator RSS with {clients} connected clients: {:.1} MiB (peak {:.1} MiB), {:.1} KiB per client above idle",
        rss as f64 / 1024.0,
        peak as f64 / 1024.0,
        (rss.saturating_sub(idle)) as f64 / clients as f64
    );
    for handle in handles {
        handle.abort();
    }
}
