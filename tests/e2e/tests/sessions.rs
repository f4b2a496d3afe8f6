//! Sessions end to end: titan-client drives a real Titan server (on SQLite, and on PostgreSQL when
//! configured), whose sessions are real whatsapp-rust clients talking to the WhatsApp emulator.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use sqlx::Row;
use titan_client::types::{self, MessageStatus, MessageType, SendMessage, Status, StatusReason};
use titan_e2e::database::Engine;
use titan_e2e::harness::{Harness, STEP, jid, status_of};
use wa_emulator::Fault;

titan_e2e::on_both_databases!(
    linking_messaging_receipts_and_restart,
    unlink_ban_and_connection_faults,
    bad_requests_change_nothing,
    delete_and_logout_unlink_the_device_from_the_phone,
    a_proxy_relays_the_session_traffic,
);

fn text(chat: &str, body: &str) -> titan_client::types::builder::SendMessage {
    SendMessage::builder()
        .chat_id(chat)
        .type_(MessageType::Text)
        .text(body.to_owned())
}

/// Polls a chat until a message with `id` satisfies `accept`.
async fn wait_message(
    harness: &Harness,
    session: &str,
    chat: &str,
    id: &str,
    accept: impl Fn(&types::Message) -> bool,
) -> types::Message {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        if let Some(found) = harness
            .history(session, chat)
            .await
            .into_iter()
            .find(|m| m.id == id && accept(m))
        {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{session}: message {id} never reached the expected state"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `done` until it holds, within [`STEP`].
async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + STEP;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "no {what} within {STEP:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many outbox events of `kind` the session has.
async fn events(harness: &Harness, session: &str, kind: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM events WHERE session = $1 AND event = $2")
        .bind(session)
        .bind(kind)
        .fetch_one(&harness.db().pool)
        .await
        .unwrap()
        .get::<i64, _>("n")
}

async fn linking_messaging_receipts_and_restart(mut harness: Harness) {
    let (alice, bob) = ("15550001001", "15550001002");
    harness.link_by_qr("alice", alice).await;
    harness.link_by_code("bob", bob).await;
    let a = harness.session("alice").await;
    assert_eq!(a.phone_number.as_deref(), Some("+15550001001"));
    assert!(a.lid.is_some(), "the LID is known once paired");
    assert_eq!(
        a.push_name.as_deref(),
        Some("User 15550001001"),
        "the account's name, from the phone's app state"
    );

    let sent = harness
        .client
        .send_message()
        .body(text(&jid(bob), "hello bob").session("alice".to_owned()))
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!(sent.status, MessageStatus::Sent);
    assert!(sent.from_me);

    let received = wait_message(&harness, "bob", &jid(alice), &sent.id, |_| true).await;
    assert_eq!(received.text.as_deref(), Some("hello bob"));
    assert!(!received.from_me);
    wait_message(&harness, "alice", &jid(bob), &sent.id, |m| {
        m.status == MessageStatus::Delivered
    })
    .await;

    harness
        .client
        .mark_messages_seen()
        .session("bob")
        .body(
            types::MarkSeen::builder()
                .chat_id(jid(alice))
                .message_ids(vec![sent.id.clone()]),
        )
        .send()
        .await
        .unwrap();
    wait_message(&harness, "alice", &jid(bob), &sent.id, |m| {
        m.status == MessageStatus::Read
    })
    .await;

    // A reply quoting the message and mentioning alice, from the session-scoped route.
    let reply = harness
        .client
        .send_session_message()
        .session("bob")
        .body(
            text(&jid(alice), "hi @15550001001")
                .quoted_message_id(Some(sent.id.clone()))
                .mentions(vec![jid(alice)]),
        )
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    let at_alice = wait_message(&harness, "alice", &jid(bob), &reply.id, |_| true).await;
    assert_eq!(at_alice.quoted_message_id.as_deref(), Some(sent.id.as_str()));
    assert_eq!(at_alice.mentions, vec![jid(alice)]);

    for (session, kind, at_least) in [
        ("alice", "session.qr", 1),
        ("alice", "session.connected", 1),
        ("bob", "session.connected", 1),
        ("alice", "message.sent", 1),
        ("bob", "message.received", 1),
        ("alice", "message.ack", 2),
    ] {
        assert!(
            events(&harness, session, kind).await >= at_least,
            "{session}: {kind} in the outbox"
        );
    }

    // A restart brings both sessions back with their stored keys: no new pairing.
    let qr_events = events(&harness, "alice", "session.qr").await;
    harness.restart().await;
    harness.wait_status("alice", Status::Connected, None).await;
    harness.wait_status("bob", Status::Connected, None).await;
    assert_eq!(
        events(&harness, "alice", "session.qr").await,
        qr_events,
        "no QR code after a restart"
    );
    let after = harness
        .client
        .send_session_message()
        .session("alice")
        .body(text(&jid(bob), "still here"))
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    wait_message(&harness, "bob", &jid(alice), &after.id, |_| true).await;
    harness.stop().await;
}

async fn unlink_ban_and_connection_faults(harness: Harness) {
    let phone = "15550002001";
    let device = harness.link_by_qr("carol", phone).await;

    // 515 and a dropped socket: the session logs in again by itself and is CONNECTED.
    for fault in [Fault::StreamError515, Fault::Drop] {
        let logins = harness.emulator.handshakes().len();
        harness.emulator.inject(phone, device, fault).unwrap();
        wait_until("a new login", || harness.emulator.handshakes().len() > logins).await;
        harness.wait_status("carol", Status::Connected, None).await;
    }

    // A temporary ban: DISCONNECTED/TEMPORARY_BAN, then back by itself after the expiry.
    harness.emulator.ban(phone, 101, Duration::from_secs(3)).unwrap();
    harness
        .wait_status("carol", Status::Disconnected, Some(StatusReason::TemporaryBan))
        .await;
    harness.wait_status("carol", Status::Connected, None).await;

    // Replaced stream: STREAM_ERROR, not restarted.
    harness.emulator.inject(phone, device, Fault::Replaced).unwrap();
    harness
        .wait_status("carol", Status::Disconnected, Some(StatusReason::StreamError))
        .await;

    // Unlinked from the phone: LOGGED_OUT and the keys are gone.
    let device = harness.link_by_qr("dave", "15550002002").await;
    harness.emulator.unlink("15550002002", device).unwrap();
    harness
        .wait_status("dave", Status::Disconnected, Some(StatusReason::LoggedOut))
        .await;
    assert_eq!(device_rows(&harness, "dave").await, 0, "keys wiped on logout");
    assert!(events(&harness, "dave", "session.logged_out").await >= 1);

    // Logout through the API.
    let erin = harness.link_by_qr("erin", "15550002003").await;
    assert_eq!(harness.emulator.linked_devices("15550002003"), vec![erin]);
    log_out(&harness, "erin", "15550002003").await;
    harness.stop().await;
}

/// Logs `name` out through the API and checks the outcome: `LOGGED_OUT`, no keys left, and the
/// device gone from `phone`'s linked devices.
async fn log_out(harness: &Harness, name: &str, phone: &str) {
    let session = harness
        .client
        .logout_session()
        .session(name)
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!(session.status, Status::Disconnected);
    assert_eq!(session.status_reason, Some(StatusReason::LoggedOut));
    assert_eq!(device_rows(harness, name).await, 0, "{name}: keys wiped");
    assert_eq!(
        harness.emulator.linked_devices(phone),
        Vec::<u32>::new(),
        "{name}: unlinked on the phone"
    );
}

/// Rows of `session` across every device-store table.
async fn device_rows(harness: &Harness, session: &str) -> i64 {
    let tables: Vec<String> = match harness.engine {
        Engine::Sqlite => sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'wa\\_%' ESCAPE '\\'")
            .fetch_all(&harness.db().pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("name"))
            .collect(),
        Engine::Postgres => sqlx::query("SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'wa\\_%'")
            .fetch_all(&harness.db().pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("name"))
            .collect(),
    };
    assert!(tables.len() > 10, "the device store's tables: {tables:?}");
    let mut total = 0;
    for table in tables {
        total += sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {table} WHERE session = $1"
        )))
        .bind(session)
        .fetch_one(&harness.db().pool)
        .await
        .unwrap()
        .get::<i64, _>("n");
    }
    total
}

/// Stops a session and waits until it shows `MANUAL_STOP`.
async fn stop(harness: &Harness, name: &str) {
    harness.client.stop_session().session(name).send().await.unwrap();
    harness
        .wait_status(name, Status::Disconnected, Some(StatusReason::ManualStop))
        .await;
}

async fn delete_and_logout_unlink_the_device_from_the_phone(harness: Harness) {
    let emulator = &harness.emulator;

    // A running session, deleted: gone from the phone's linked devices, no keys, no session.
    let phone = "15550003001";
    let device = harness.link_by_qr("frank", phone).await;
    assert!(device_rows(&harness, "frank").await > 0, "a linked session has keys");
    assert_eq!(emulator.linked_devices(phone), vec![device]);
    harness.client.delete_session().session("frank").send().await.unwrap();
    assert_eq!(device_rows(&harness, "frank").await, 0);
    assert_eq!(
        emulator.linked_devices(phone),
        Vec::<u32>::new(),
        "unlinked on the phone"
    );
    assert_eq!(
        status_of(harness.client.get_session().session("frank").send().await),
        404
    );

    // A stopped session, deleted: it connects just long enough to unlink itself.
    let phone = "15550003002";
    harness.link_by_qr("grace", phone).await;
    stop(&harness, "grace").await;
    harness.client.delete_session().session("grace").send().await.unwrap();
    assert_eq!(
        emulator.linked_devices(phone),
        Vec::<u32>::new(),
        "unlinked on the phone"
    );
    assert_eq!(device_rows(&harness, "grace").await, 0);

    // A stopped session, logged out: unlinked too, LOGGED_OUT, keys wiped, not running.
    let phone = "15550003003";
    harness.link_by_qr("heidi", phone).await;
    stop(&harness, "heidi").await;
    log_out(&harness, "heidi", phone).await;

    // A session that was never paired is deleted without connecting.
    let logins = emulator.handshakes().len();
    harness
        .client
        .create_session()
        .body(types::CreateSession::builder().name("ivan"))
        .send()
        .await
        .unwrap();
    harness.client.delete_session().session("ivan").send().await.unwrap();
    assert_eq!(
        emulator.handshakes().len(),
        logins,
        "no connection for an unpaired session"
    );
    harness.stop().await;
}

/// WhatsApp's QR codes rotate while nobody scans (the served code changes and each new one is a
/// `session.qr` event); once they have all expired the session ends `QR_TIMEOUT` and stops, and
/// a new start shows a fresh code that links. This waits through the library's own timers (60 s
/// for the first code, 20 s for the next, with the emulator offering two), so it runs once, on
/// SQLite: the database plays no part in the timing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_codes_rotate_then_run_out() {
    let harness = Harness::start(Engine::Sqlite).await.unwrap();
    harness.emulator.set_qr_refs(2);
    harness.create_started("judy").await;
    let qr = |harness: &Harness| {
        let client = harness.client.clone();
        async move { client.get_pairing_qr().session("judy").send().await }
    };
    let first = qr(&harness).await.unwrap().into_inner().data;
    let lifetime = first.expires_at - chrono::Utc::now();
    assert!(
        lifetime > chrono::Duration::seconds(50) && lifetime <= chrono::Duration::seconds(60),
        "the first code lasts 60 s: {lifetime}"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let second = loop {
        let current = qr(&harness).await.unwrap().into_inner().data;
        if current.code != first.code {
            break current;
        }
        assert!(tokio::time::Instant::now() < deadline, "the QR code never rotated");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(second.expires_at > first.expires_at);
    assert!(
        events(&harness, "judy", "session.qr").await >= 2,
        "one session.qr per code"
    );

    harness
        .wait_status("judy", Status::Disconnected, Some(StatusReason::QrTimeout))
        .await;
    assert_eq!(status_of(qr(&harness).await), 409, "no code once they ran out");

    harness.client.start_session().session("judy").send().await.unwrap();
    let fresh = qr(&harness).await.unwrap().into_inner().data;
    assert!(fresh.code != first.code && fresh.code != second.code);
    harness.emulator.scan_qr(&fresh.code, Some("15550006001")).unwrap();
    harness.wait_status("judy", Status::Connected, None).await;
    harness.stop().await;
}

async fn bad_requests_change_nothing(harness: Harness) {
    let client = &harness.client;
    let bad_name = client
        .create_session()
        .body(types::CreateSession::builder().name("-bad"))
        .send()
        .await;
    assert_eq!(status_of(bad_name), 400);
    let bad_proxy = client
        .create_session()
        .body(
            types::CreateSession::builder()
                .name("p")
                .proxy(Some("ftp://x:1".to_owned())),
        )
        .send()
        .await;
    assert_eq!(status_of(bad_proxy), 400);
    client
        .create_session()
        .body(types::CreateSession::builder().name("gina"))
        .send()
        .await
        .unwrap();
    let duplicate = client
        .create_session()
        .body(types::CreateSession::builder().name("gina"))
        .send()
        .await;
    assert_eq!(status_of(duplicate), 409);
    let not_started = client.get_pairing_qr().session("gina").send().await;
    assert_eq!(status_of(not_started), 409);
    let not_connected = client
        .send_session_message()
        .session("gina")
        .body(text(&jid("15550004001"), "x"))
        .send()
        .await;
    assert_eq!(status_of(not_connected), 409);
    let bad_chat = client
        .send_session_message()
        .session("gina")
        .body(text("not-a-jid", "x"))
        .send()
        .await;
    assert_eq!(status_of(bad_chat), 400);
    assert_eq!(status_of(client.start_session().session("nobody").send().await), 404);
    let session = harness.session("gina").await;
    assert_eq!(session.status, Status::Disconnected);
    assert_eq!(session.status_reason, None);
    let listed = client.list_sessions().send().await.unwrap().into_inner().data;
    assert_eq!(listed.len(), 1, "only the one valid session exists");
    harness.stop().await;
}

async fn a_proxy_relays_the_session_traffic(harness: Harness) {
    let (proxy, tunnels) = titan_e2e::proxies::counting_socks5(true).await;
    harness
        .client
        .create_session()
        .body(types::CreateSession::builder().name("henry").proxy(Some(proxy)))
        .send()
        .await
        .unwrap();
    let session = harness.session("henry").await;
    assert_eq!(
        session.proxy.as_deref().map(|p| p.contains("secret")),
        Some(false),
        "password hidden"
    );
    harness.client.start_session().session("henry").send().await.unwrap();
    let qr = harness
        .client
        .get_pairing_qr()
        .session("henry")
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    harness.emulator.scan_qr(&qr.code, Some("15550005001")).unwrap();
    harness.wait_status("henry", Status::Connected, None).await;
    assert!(
        tunnels.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the WebSocket went through the proxy"
    );
    harness.stop().await;
}
