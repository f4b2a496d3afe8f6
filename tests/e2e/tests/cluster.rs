//! Three `titan` processes on one PostgreSQL database with 30 linked sessions: sessions spread
//! over the servers, any server answers for any session, every server delivers the webhooks of
//! the sessions it runs, and when one server is killed (SIGKILL, under load, the one also
//! delivering those of sessions no server runs) the other two take its sessions and their
//! deliveries over: every session is `CONNECTED` again within
//! the lease period plus 5 s, no accepted message is lost or delivered twice, no event is lost,
//! each session's events reach the webhook in order, and the emulator never saw one device
//! connected twice. Then one of the two is stopped gracefully (SIGTERM) under load: the last
//! server runs all 30 sessions within the same bound, again losing and repeating nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use titan_e2e::database::{self, Engine};
use titan_e2e::harness::{MASTER_KEY, client};
use titan_e2e::process::{Server, debug_titan_binary, free_port, link, metric, phone, session, wait_connected};
use titan_e2e::receiver::Receiver;
use titan_e2e::schema::EventSchemas;
use wa_emulator::Emulator;

const SERVERS: usize = 3;
const SESSIONS: usize = 30;
/// The lease period the servers run with, in seconds.
const LEASE_TTL: u64 = 3;
/// How long after the kill every session must be connected again.
const FAILOVER_BOUND: Duration = Duration::from_secs(LEASE_TTL + 5);

/// `method` `base``path` with `key`: the status and the JSON answer (`Null` when there is none);
/// `None` when the server did not answer at all.
async fn call(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let mut request = http.request(method, format!("{base}{path}")).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.ok()?;
    Some((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

/// `/admin/cluster` through `base`.
async fn cluster(http: &reqwest::Client, base: &str) -> Value {
    let (status, cluster) = call(http, base, MASTER_KEY, reqwest::Method::GET, "/admin/cluster", None)
        .await
        .expect("GET /admin/cluster");
    assert_eq!(status, 200, "{cluster}");
    assert_eq!(cluster["data"]["mode"], "cluster");
    cluster
}

/// The address of the server delivering the webhooks of sessions no server runs.
async fn deliverer(http: &reqwest::Client, base: &str) -> String {
    let cluster = cluster(http, base).await;
    let delivering: Vec<&Value> = cluster["data"]["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .filter(|s| s["deliversWebhooks"] == true)
        .collect();
    assert_eq!(delivering.len(), 1, "one server delivers: {cluster}");
    delivering[0]["address"].as_str().expect("address").to_owned()
}

/// How many webhook deliveries the server at `base` has made.
async fn delivered_by(http: &reqwest::Client, base: &str) -> u64 {
    metric(http, base, "titan_webhook_attempts_total{outcome=\"delivered\"}")
        .await
        .expect("titan_webhook_attempts_total in /metrics")
}

/// The sessions each server holds, by server address, from `/admin/cluster`.
async fn placement(http: &reqwest::Client, base: &str) -> BTreeMap<String, Vec<String>> {
    cluster(http, base).await["data"]["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .map(|server| {
            let sessions = server["sessions"]
                .as_array()
                .expect("sessions")
                .iter()
                .map(|s| s["name"].as_str().expect("name").to_owned())
                .collect();
            (server["address"].as_str().expect("address").to_owned(), sessions)
        })
        .collect()
}

/// One accepted send: who sent which text to whom.
#[derive(Debug, Clone)]
struct Accepted {
    from: String,
    to: String,
    text: String,
}

/// Sends ring messages (session `i` to session `i + 1`) round-robin through `bases` while `run`
/// holds, 8 at a time; returns the sends answered 2xx.
async fn load(bases: Arc<Vec<String>>, key: String, run: Arc<AtomicBool>, counter: Arc<AtomicU64>) -> Vec<Accepted> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client");
    let workers = (0..8).map(|_| {
        let (bases, key, run, counter, http) = (bases.clone(), key.clone(), run.clone(), counter.clone(), http.clone());
        tokio::spawn(async move {
            let mut accepted = Vec::new();
            while run.load(Ordering::SeqCst) {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let i = usize::try_from(n).expect("count") % SESSIONS;
                let base = &bases[usize::try_from(n).expect("count") % bases.len()];
                let text = format!("cluster message {n}");
                let body = json!({
                    "chatId": format!("{}@s.whatsapp.net", phone((i + 1) % SESSIONS)),
                    "type": "text",
                    "text": text,
                });
                let path = format!("/api/sessions/{}/messages/send", session(i));
                match call(&http, base, &key, reqwest::Method::POST, &path, Some(body)).await {
                    Some((status, _)) if (200..300).contains(&status) => accepted.push(Accepted {
                        from: session(i),
                        to: session((i + 1) % SESSIONS),
                        text,
                    }),
                    // Refused (a session between servers: 503, or not yet reconnected: 409) or
                    // unanswered (the killed server): not accepted, so nothing is owed.
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            accepted
        })
    });
    futures::future::join_all(workers)
        .await
        .into_iter()
        .flat_map(|r| r.expect("load worker"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_s_sessions_move_to_the_others_and_nothing_is_lost() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(database_url) = database::fresh(Engine::Postgres, &dir).await.expect("fresh database") else {
        return;
    };
    let emulator = Emulator::start("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("start the emulator");
    let ttl = LEASE_TTL.to_string();
    let env = [
        ("TITAN_LEASE_TTL_SECS", ttl.as_str()),
        ("TITAN_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("TITAN_LOG", "warn"),
    ];
    let binary = debug_titan_binary();
    let mut servers: Vec<Server> = (0..SERVERS)
        .map(|n| {
            let dir = dir.path().join(format!("server-{n}"));
            std::fs::create_dir_all(&dir).expect("server dir");
            Server::spawn_with(&binary, &emulator, &database_url, &dir, free_port(), &env)
        })
        .collect();
    for server in &servers {
        server.ready().await;
    }
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let key = servers[0].key().await;
    let http = reqwest::Client::new();

    // A webhook for every event, created through the first server.
    let schemas = Arc::new(EventSchemas::served(&bases[0]).await);
    let receiver = Receiver::start(schemas).await;
    let (status, hook) = call(
        &http,
        &bases[0],
        &key,
        reqwest::Method::POST,
        "/api/webhooks",
        Some(json!({"url": receiver.url})),
    )
    .await
    .expect("create the webhook");
    assert_eq!(status, 201, "{hook}");

    // 30 sessions created and linked through the second server spread over all three.
    let api = client(&bases[1], &key);
    link(&api, &emulator, 0, 0, SESSIONS).await;
    wait_connected(&api, SESSIONS).await;
    let before = placement(&http, &bases[2]).await;
    println!(
        "sessions per server after linking: {:?}",
        before.values().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(before.len(), SERVERS, "{before:?}");
    assert_eq!(before.values().map(Vec::len).sum::<usize>(), SESSIONS, "{before:?}");
    for (address, sessions) in &before {
        assert!(!sessions.is_empty(), "server {address} runs no session: {before:?}");
    }

    // Any server answers for any session: every session's details through every server.
    for base in &bases {
        for i in 0..SESSIONS {
            let path = format!("/api/sessions/{}", session(i));
            let (status, body) = call(&http, base, &key, reqwest::Method::GET, &path, None)
                .await
                .expect("get a session");
            assert_eq!(status, 200, "{base}{path}: {body}");
            assert_eq!(body["data"]["status"], "CONNECTED", "{base}{path}: {body}");
        }
    }

    // Load through all three servers; then the one delivering the webhooks is killed under it.
    let run = Arc::new(AtomicBool::new(true));
    let counter = Arc::new(AtomicU64::new(0));
    let all = tokio::spawn(load(Arc::new(bases.clone()), key.clone(), run.clone(), counter.clone()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Every server delivers the webhooks of its own sessions.
    let mut delivered_before = HashMap::new();
    for base in &bases {
        let made = delivered_by(&http, base).await;
        assert!(made > 0, "{base} delivered no webhook");
        delivered_before.insert(base.clone(), made);
    }
    println!("webhook deliveries by server before the kill: {delivered_before:?}");
    let delivering = deliverer(&http, &bases[0]).await;
    let victim = servers.remove(
        servers
            .iter()
            .position(|s| s.base == delivering)
            .expect("the deliverer"),
    );
    let victim_base = victim.base.clone();
    let moved = before.get(&victim_base).cloned().unwrap_or_default();
    let sent_before_kill = counter.load(Ordering::SeqCst);
    let killed = Instant::now();
    let killed_at = chrono::Utc::now();
    victim.kill();
    run.store(false, Ordering::SeqCst);
    let mut accepted = all.await.expect("load");
    let survivors: Vec<String> = bases.iter().filter(|b| **b != victim_base).cloned().collect();
    // Until another server holds them, the dead server's sessions are answered 503 with
    // `Retry-After` (which the SDKs honour): its lease outlives it by up to a lease period.
    let moving = http
        .get(format!("{}/api/sessions/{}", survivors[0], moved[0]))
        .bearer_auth(&key)
        .send()
        .await
        .expect("an answer");
    assert_eq!(moving.status(), 503);
    assert!(moving.headers().contains_key("retry-after"));
    run.store(true, Ordering::SeqCst);
    let survivors_load = tokio::spawn(load(
        Arc::new(survivors.clone()),
        key.clone(),
        run.clone(),
        counter.clone(),
    ));

    // Every session connected again, on a survivor, within the bound: the moved ones connected
    // anew after the kill.
    let failover = loop {
        let now = placement(&http, &survivors[0]).await;
        let held: usize = now
            .iter()
            .filter(|(address, _)| **address != victim_base)
            .map(|(_, s)| s.len())
            .sum();
        if held == SESSIONS && all_connected(&http, &survivors[0], &key, &moved, killed_at).await {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "sessions did not move: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "killed the webhook-delivering server, running {} sessions, after {sent_before_kill} sends; all {SESSIONS} CONNECTED on the other two after {failover:?} (lease TTL {LEASE_TTL} s)",
        moved.len()
    );
    assert!(
        failover <= FAILOVER_BOUND,
        "failover took {failover:?}, over the lease period + 5 s"
    );
    // The survivors keep taking sends for a while.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = placement(&http, &survivors[1]).await;
    assert_ne!(
        deliverer(&http, &survivors[0]).await,
        victim_base,
        "another server delivers the sessions no server runs now"
    );
    // Both survivors went on delivering, the moved sessions' webhooks included.
    for base in &survivors {
        let made = delivered_by(&http, base).await;
        assert!(made > delivered_before[base], "{base} delivered nothing after the kill");
    }
    // Each survivor's `/metrics` counts the sessions it holds: all of them between the two.
    let mut owned = 0;
    for base in &survivors {
        owned += metric(&http, base, "titan_cluster_sessions_owned{")
            .await
            .expect("titan_cluster_sessions_owned in /metrics");
    }
    assert_eq!(owned, u64::try_from(SESSIONS).expect("a count"));
    println!(
        "sessions per server after the failover: {:?}",
        after.values().map(Vec::len).collect::<Vec<_>>()
    );

    // Then the one of the two delivering webhooks is stopped gracefully (SIGTERM), still under
    // load: it gives its leases up as it leaves, so the last server takes its sessions and the
    // deliveries over without waiting out a lease period.
    let leaving_base = deliverer(&http, &survivors[0]).await;
    let staying = survivors
        .iter()
        .find(|b| **b != leaving_base)
        .expect("the other survivor")
        .clone();
    let handed = after.get(&leaving_base).cloned().unwrap_or_default();
    let leaving = servers.remove(
        servers
            .iter()
            .position(|s| s.base == leaving_base)
            .expect("the leaving server"),
    );
    let stopping = Instant::now();
    let stopped_at = chrono::Utc::now();
    tokio::task::spawn_blocking(move || leaving.stop())
        .await
        .expect("stop the server");
    let stop_took = stopping.elapsed();
    run.store(false, Ordering::SeqCst);
    accepted.extend(survivors_load.await.expect("load"));
    run.store(true, Ordering::SeqCst);
    let last_load = tokio::spawn(load(
        Arc::new(vec![staying.clone()]),
        key.clone(),
        run.clone(),
        counter.clone(),
    ));
    let handover = loop {
        let now = placement(&http, &staying).await;
        if now.get(&staying).map(Vec::len) == Some(SESSIONS)
            && all_connected(&http, &staying, &key, &handed, stopped_at).await
        {
            break stopping.elapsed();
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(60),
            "sessions did not move off the stopped server: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "stopped (SIGTERM) a server running {} sessions: it exited after {stop_took:?}; all {SESSIONS} CONNECTED on the last one after {handover:?}",
        handed.len()
    );
    assert!(!handed.is_empty(), "the stopped server ran no session: {after:?}");
    assert!(
        handover <= FAILOVER_BOUND,
        "the handover took {handover:?}, over the lease period + 5 s"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    run.store(false, Ordering::SeqCst);
    accepted.extend(last_load.await.expect("load"));
    println!("{} sends accepted in all", accepted.len());
    assert!(!accepted.is_empty());

    // Every accepted message reached its recipient once and is recorded as sent once.
    let texts: HashSet<&str> = accepted.iter().map(|a| a.text.as_str()).collect();
    let missing = |all: &[Value]| -> Vec<String> {
        let (sent, received) = counts(all, &texts);
        accepted
            .iter()
            .flat_map(|a| {
                let mut gaps = Vec::new();
                if !received.contains_key(&(a.to.clone(), a.text.clone())) {
                    gaps.push(format!("{} never received `{}` from {}", a.to, a.text, a.from));
                }
                if !sent.contains_key(&(a.from.clone(), a.text.clone())) {
                    gaps.push(format!("{} has no message.sent for `{}`", a.from, a.text));
                }
                gaps
            })
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let delivered = loop {
        let delivered = receiver.delivered();
        let gaps = missing(&delivered);
        if gaps.is_empty() {
            break delivered;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} accepted sends not accounted for, e.g. {:#?}",
            gaps.len(),
            accepted.len(),
            &gaps[..gaps.len().min(10)]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (sent, received) = counts(&delivered, &texts);
    for a in &accepted {
        assert_eq!(
            received[&(a.to.clone(), a.text.clone())],
            1,
            "{a:?} received more than once"
        );
        assert_eq!(
            sent[&(a.from.clone(), a.text.clone())],
            1,
            "{a:?} recorded as sent more than once"
        );
    }

    // Each session's status changes reached the webhook in the order they were written, across
    // the move (first arrivals: a redelivery after the kill may repeat an event, never reorder
    // them). Status changes are written one after another; other events of a session may be
    // written concurrently, and arrive in the order they committed.
    let mut seen = HashSet::new();
    let mut last: HashMap<String, String> = HashMap::new();
    let mut statuses = 0;
    for event in &delivered {
        let id = event["id"].as_str().expect("event id").to_owned();
        if !seen.insert(id.clone()) || event["event"] != "session.status" {
            continue;
        }
        statuses += 1;
        let session = event["session"].as_str().unwrap_or_default().to_owned();
        if let Some(previous) = last.get(&session) {
            assert!(*previous < id, "session {session}: event {id} arrived after {previous}");
        }
        last.insert(session, id);
    }

    let stats = emulator.stats();
    assert_eq!(
        stats.concurrent_logins, 0,
        "a device was connected from two servers at once"
    );
    println!(
        "{} events delivered ({} distinct, {statuses} status changes in order); the emulator refused {} concurrent logins",
        delivered.len(),
        seen.len(),
        stats.concurrent_logins
    );
    for server in servers {
        server.stop();
    }
    emulator.stop().await.expect("stop the emulator");
}

/// Whether every session reads `CONNECTED` through `base`, those in `moved` by a change made
/// after `since` (their new server's connection, not the killed one's).
async fn all_connected(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    moved: &[String],
    since: chrono::DateTime<chrono::Utc>,
) -> bool {
    let (status, body) = call(http, base, key, reqwest::Method::GET, "/api/sessions?limit=100", None)
        .await
        .unwrap_or((0, Value::Null));
    let fresh = |s: &Value| {
        !moved.iter().any(|m| s["name"] == m.as_str())
            || s["updatedAt"]
                .as_str()
                .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                .is_some_and(|at| at > since)
    };
    status == 200
        && body["data"]
            .as_array()
            .is_some_and(|all| all.len() == SESSIONS && all.iter().all(|s| s["status"] == "CONNECTED" && fresh(s)))
}

/// How many distinct `message.sent` (by sender) and `message.received` (by recipient) events
/// carry each of `texts`.
type Counts = HashMap<(String, String), usize>;
fn counts(delivered: &[Value], texts: &HashSet<&str>) -> (Counts, Counts) {
    let mut seen = HashSet::new();
    let (mut sent, mut received) = (Counts::new(), Counts::new());
    for event in delivered {
        if !seen.insert(event["id"].as_str().unwrap_or_default().to_owned()) {
            continue;
        }
        let Some(text) = event["payload"]["body"].as_str().filter(|t| texts.contains(t)) else {
            continue;
        };
        let key = (
            event["session"].as_str().unwrap_or_default().to_owned(),
            text.to_owned(),
        );
        match event["event"].as_str() {
            Some("message.sent") => *sent.entry(key).or_default() += 1,
            Some("message.received") => *received.entry(key).or_default() += 1,
            _ => {}
        }
    }
    (sent, received)
}
