//! Paced sending through a real `titan` process: a session with a `pacing` setting answers each
//! send at once with status `queued`, sends its queue in order with the setting's gap between two
//! messages, and a server killed with SIGKILL mid-queue loses nothing it accepted: the next
//! server sends the rest, still paced, each message received once. Removing the setting sends
//! what waits at once, clearing a chat drops what waits for it, and logging the session out
//! fails what still waits. A send that fails for a passing reason is tried again, five times in
//! all, and the queue goes on behind a message that failed for good.

use std::time::Duration;

use serde_json::{Value, json};
use titan_client::Client;
use titan_client::types::{MessageStatus, MessageType, SendMessage};
use titan_e2e::database::{self, Engine};
use titan_e2e::harness::{STEP, client};
use titan_e2e::process::{Server, debug_titan_binary, free_port, link, phone, session, wait_connected};
use wa_emulator::Emulator;

/// Messages queued in the test.
const MESSAGES: usize = 8;
/// The pace: 120 a minute, one every 500 ms, without jitter so the gaps can be checked.
const PER_MINUTE: u64 = 120;
/// The shortest gap between two sends the pace allows, less the millisecond rounding of
/// `sentAt`.
const MIN_GAP_MS: i64 = (60_000 / PER_MINUTE) as i64 - 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_sends_survive_a_kill_on_sqlite() {
    paced_sends_survive_a_kill(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_sends_survive_a_kill_on_postgres() {
    paced_sends_survive_a_kill(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_sends_are_retried_then_given_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = database::fresh(Engine::Sqlite, &dir)
        .await
        .expect("fresh database")
        .expect("SQLite");
    let emulator = Emulator::start("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("start the emulator");
    let server = Server::spawn_with(
        &debug_titan_binary(),
        &emulator,
        &database_url,
        dir.path(),
        free_port(),
        &[],
    );
    server.ready().await;
    let key = server.key().await;
    let api = client(&server.base, &key);
    link(&api, &emulator, 0, 0, 3).await;
    wait_connected(&api, 3).await;
    let (alice, bob, carol) = (session(0), session(1), session(2));
    let jid = |i: usize| format!("{}@s.whatsapp.net", phone(i));
    let fast = json!({"messagesPerMinute": 600, "jitterPercent": 0});
    let (status, answer) = set_pacing(&server.base, &key, &alice, fast).await;
    assert_eq!(status, 200, "{answer}");

    // Alice has no Signal session with Bob yet, so her first send fetches his prekeys: the
    // first two fetches fail (IQ error 500), and the third attempt delivers it, once.
    emulator.refuse_key_fetches(&phone(0), 2);
    let retried = queue_text(&api, &alice, &jid(1), "retried".into()).await;
    let received = wait_history(&server.base, &key, &bob, &jid(0), "the retried message received", |m| {
        !m.is_empty()
    })
    .await;
    let ids: Vec<&str> = received.iter().map(|m| m["id"].as_str().unwrap_or_default()).collect();
    assert_eq!(ids, [retried.as_str()], "received once");
    assert_eq!(emulator.stats().refused_key_fetches, 2, "two attempts failed first");
    let sent = wait_history(
        &server.base,
        &key,
        &alice,
        &jid(1),
        "the retried message recorded sent",
        |m| m.iter().all(|m| m["status"] != "queued"),
    )
    .await;
    assert_ne!(sent[0]["status"], "error", "{}", sent[0]);

    // To Carol, every attempt fails: after the fifth (1 + 2 + 4 + 8 s of backoff) the message
    // is recorded `error`, with WhatsApp's reason, and the message queued behind it leaves.
    emulator.refuse_key_fetches(&phone(0), 5);
    let abandoned = queue_text(&api, &alice, &jid(2), "abandoned".into()).await;
    let behind = queue_text(&api, &alice, &jid(1), "behind".into()).await;
    let failed = wait_history(&server.base, &key, &alice, &jid(2), "the message given up", |m| {
        m.iter().all(|m| m["status"] != "queued")
    })
    .await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["id"], abandoned.as_str());
    assert_eq!(failed[0]["status"], "error", "{}", failed[0]);
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("WhatsApp did not accept the message"),
        "{}",
        failed[0]
    );
    assert_eq!(emulator.stats().refused_key_fetches, 7, "five attempts, no sixth");
    let received = wait_history(&server.base, &key, &bob, &jid(0), "the message behind received", |m| {
        m.len() >= 2
    })
    .await;
    assert_eq!(received[1]["id"], behind.as_str());
    let (status, page) = call(
        &server.base,
        &key,
        reqwest::Method::GET,
        &format!("/api/sessions/{carol}/chats/{}/messages", jid(0)),
        None,
    )
    .await;
    assert!(
        status == 404 || page["data"].as_array().is_some_and(Vec::is_empty),
        "Carol received nothing: {status} {page}"
    );
    server.stop();
    emulator.stop().await.expect("stop the emulator");
}

/// `method` `base``path` with `key` and a JSON `body`: the status and the JSON answer.
async fn call(base: &str, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("the answer's body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Sets `session`'s `pacing` setting through `base`: the status and the answer.
async fn set_pacing(base: &str, key: &str, session: &str, pacing: Value) -> (u16, Value) {
    let body = json!({"config": {"pacing": pacing}});
    call(
        base,
        key,
        reqwest::Method::PATCH,
        &format!("/api/sessions/{session}"),
        Some(body),
    )
    .await
}

/// Sends `text` from `session` to `chat`, checks that it was queued, and returns its id.
async fn queue_text(api: &Client, session: &str, chat: &str, text: String) -> String {
    let body = SendMessage::builder()
        .chat_id(chat.to_owned())
        .type_(MessageType::Text)
        .text(text);
    let sent = api
        .send_session_message()
        .session(session)
        .body(body)
        .send()
        .await
        .expect("send a paced message")
        .into_inner()
        .data;
    assert_eq!(sent.status, MessageStatus::Queued, "{sent:?}");
    sent.id
}

/// The messages of `chat` in `session`'s history, oldest first; `None` while the session is
/// between servers (503: on PostgreSQL a killed server's sessions move once its leases expire).
async fn history(base: &str, key: &str, session: &str, chat: &str) -> Option<Vec<Value>> {
    let path = format!("/api/sessions/{session}/chats/{chat}/messages?limit=200");
    let (status, page) = call(base, key, reqwest::Method::GET, &path, None).await;
    if status == 503 {
        return None;
    }
    assert_eq!(status, 200, "{page}");
    let mut messages = page["data"].as_array().cloned().unwrap_or_default();
    messages.reverse();
    Some(messages)
}

/// Polls until `done` holds for `session`'s history of `chat`, within [`STEP`], and returns it.
async fn wait_history(
    base: &str,
    key: &str,
    session: &str,
    chat: &str,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        if let Some(messages) = history(base, key, session, chat).await
            && done(&messages)
        {
            return messages;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} within {STEP:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn paced_sends_survive_a_kill(engine: Engine) {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(database_url) = database::fresh(engine, &dir).await.expect("fresh database") else {
        return;
    };
    let emulator = Emulator::start("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("start the emulator");
    let binary = debug_titan_binary();
    let env = [("TITAN_LEASE_TTL_SECS", "3")];
    let first = Server::spawn_with(&binary, &emulator, &database_url, dir.path(), free_port(), &env);
    first.ready().await;
    let key = first.key().await;
    let api = client(&first.base, &key);
    link(&api, &emulator, 0, 0, 2).await;
    wait_connected(&api, 2).await;
    let (alice, bob) = (session(0), session(1));
    let (alice_jid, bob_jid) = (
        format!("{}@s.whatsapp.net", phone(0)),
        format!("{}@s.whatsapp.net", phone(1)),
    );

    // A pace out of bounds is refused and changes nothing.
    for bad in [
        json!({"messagesPerMinute": 0}),
        json!({"messagesPerMinute": 601}),
        json!({"messagesPerMinute": 10, "jitterPercent": 91}),
        json!({"jitterPercent": 10}),
        json!({"messagesPerMinute": 10, "burst": 2}),
    ] {
        let (status, answer) = set_pacing(&first.base, &key, &alice, bad.clone()).await;
        assert_eq!(status, 400, "{bad} → {answer}");
        assert!(answer["error"].is_string() && answer["docs"].is_string(), "{answer}");
    }
    let (_, unchanged) = call(
        &first.base,
        &key,
        reqwest::Method::GET,
        &format!("/api/sessions/{alice}"),
        None,
    )
    .await;
    assert!(unchanged["data"]["config"].get("pacing").is_none(), "{unchanged}");

    // Alice paces her sends; the setting applies at once.
    let pace = json!({"messagesPerMinute": PER_MINUTE, "jitterPercent": 0});
    let (status, updated) = set_pacing(&first.base, &key, &alice, pace).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        updated["data"]["config"]["pacing"],
        json!({"messagesPerMinute": PER_MINUTE, "jitterPercent": 0})
    );

    // Every send is answered at once, queued.
    let mut ids = Vec::new();
    for n in 0..MESSAGES {
        ids.push(queue_text(&api, &alice, &bob_jid, format!("paced {n}")).await);
    }

    // Two of them leave, then the server dies.
    wait_history(
        &first.base,
        &key,
        &alice,
        &bob_jid,
        "two paced messages sent",
        |messages| messages.iter().filter(|m| m["status"] != "queued").count() >= 2,
    )
    .await;
    first.kill();

    // The next server sends the rest; Bob receives each message once, in the order queued.
    let second = Server::spawn_with(&binary, &emulator, &database_url, dir.path(), free_port(), &env);
    second.ready().await;
    let received: Vec<String> = wait_history(
        &second.base,
        &key,
        &bob,
        &alice_jid,
        "every queued message received",
        |messages| messages.len() >= MESSAGES,
    )
    .await
    .iter()
    .map(|m| m["id"].as_str().unwrap_or_default().to_owned())
    .collect();
    assert_eq!(received, ids, "Bob received each message once, in order");

    // Alice's history shows each sent, in order, at least the pace's gap apart, across the kill.
    let sent = wait_history(
        &second.base,
        &key,
        &alice,
        &bob_jid,
        "every paced message recorded sent",
        |messages| messages.iter().all(|m| m["status"] != "queued"),
    )
    .await;
    assert_eq!(sent.len(), MESSAGES, "{sent:?}");
    let times: Vec<i64> = sent
        .iter()
        .map(|m| {
            assert!(
                ["sent", "delivered", "read"].contains(&m["status"].as_str().unwrap_or_default()),
                "{m}"
            );
            chrono::DateTime::parse_from_rfc3339(m["sentAt"].as_str().expect("sentAt"))
                .expect("an RFC 3339 time")
                .timestamp_millis()
        })
        .collect();
    let gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    println!("{engine:?}: gaps between paced sends (ms): {gaps:?}");
    assert!(
        gaps.iter().all(|&gap| gap >= MIN_GAP_MS),
        "a gap shorter than the pace allows: {gaps:?}"
    );

    // At one a minute, the next messages wait behind the last one's gap. Clearing a chat drops
    // what waits for it; removing the setting sends the rest at once.
    let slow = json!({"messagesPerMinute": 1, "jitterPercent": 0});
    let (status, answer) = set_pacing(&second.base, &key, &alice, slow.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let api = client(&second.base, &key);
    let dropped = queue_text(&api, &alice, &bob_jid, "dropped".into()).await;
    let (status, answer) = call(
        &second.base,
        &key,
        reqwest::Method::POST,
        &format!("/api/sessions/{alice}/chats/{bob_jid}/clear"),
        None,
    )
    .await;
    assert!((200..300).contains(&status), "clear: {status} {answer}");
    let mut released = Vec::new();
    for n in 0..2 {
        released.push(queue_text(&api, &alice, &bob_jid, format!("released {n}")).await);
    }
    let (status, answer) = call(
        &second.base,
        &key,
        reqwest::Method::PATCH,
        &format!("/api/sessions/{alice}"),
        Some(json!({"config": {}})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["data"]["config"].get("pacing").is_none(), "{answer}");
    // The queue keeps its order, so the dropped message, had it stayed, would have left first.
    let received = wait_history(
        &second.base,
        &key,
        &bob,
        &alice_jid,
        "the released messages received",
        |messages| messages.len() >= MESSAGES + 2,
    )
    .await;
    let ids: Vec<&str> = received[MESSAGES..]
        .iter()
        .map(|m| m["id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        ids, released,
        "the cleared chat's message dropped, the rest left at once"
    );
    assert!(!ids.contains(&dropped.as_str()));

    // Logging out fails what still waits.
    let (status, answer) = set_pacing(&second.base, &key, &alice, slow).await;
    assert_eq!(status, 200, "{answer}");
    for n in 0..2 {
        queue_text(&api, &alice, &bob_jid, format!("never sent {n}")).await;
    }
    let path = format!("/api/sessions/{alice}");
    let (status, answer) = call(
        &second.base,
        &key,
        reqwest::Method::POST,
        &format!("{path}/logout"),
        None,
    )
    .await;
    assert!((200..300).contains(&status), "logout: {status} {answer}");
    let after = wait_history(
        &second.base,
        &key,
        &alice,
        &bob_jid,
        "the waiting messages failed",
        |messages| messages.len() == 4 && messages[2..].iter().all(|m| m["status"] == "error"),
    )
    .await;
    for message in &after[2..] {
        assert!(
            message["error"].as_str().unwrap_or_default().contains("logged out"),
            "{message}"
        );
    }
    second.stop();
    emulator.stop().await.expect("stop the emulator");
}
