//! Webhooks and the event stream end to end: real WhatsApp activity (sessions on whatsapp-rust
//! talking to the emulator) reaches real receivers, filtered, signed and in order; a failing
//! receiver gets everything once it recovers; dead deliveries retry by hand; SSE resumes.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use titan_client::types::{self, EventFilter, EventFilterItem, MessageType, RetryPolicy, SendMessage};
use titan_e2e::harness::{Harness, STEP, jid};
use titan_e2e::receiver::Receiver;
use titan_e2e::schema::EventSchemas;

titan_e2e::on_both_databases!(
    whatsapp_activity_reaches_the_receivers,
    a_failing_receiver_gets_everything_once_it_recovers,
    the_event_stream_filters_and_resumes,
);

/// Registers a webhook and returns its id.
async fn webhook(harness: &Harness, body: types::builder::CreateWebhook) -> String {
    harness
        .client
        .create_webhook()
        .body(body)
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
        .id
}

fn retries(attempts: u32, delay_seconds: u32) -> Option<types::Retries> {
    Some(types::Retries {
        attempts: Some(attempts),
        delay_seconds: Some(delay_seconds),
        policy: Some(RetryPolicy::Constant),
    })
}

fn kinds(envelopes: &[Value]) -> BTreeSet<String> {
    envelopes
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn of<'a>(envelopes: &'a [Value], event: &str, session: &str) -> Vec<&'a Value> {
    envelopes
        .iter()
        .filter(|e| e["event"] == event && e["session"] == session)
        .collect()
}

async fn deliveries(harness: &Harness, webhook: &str) -> Vec<types::Delivery> {
    harness
        .client
        .list_webhook_deliveries()
        .id(webhook)
        .send()
        .await
        .unwrap()
        .into_inner()
        .data
}

async fn whatsapp_activity_reaches_the_receivers(harness: Harness) {
    let (all, bobs, off) = (
        Receiver::start(harness.schemas()).await,
        Receiver::start(harness.schemas()).await,
        Receiver::start(harness.schemas()).await,
    );
    let created = harness
        .client
        .create_webhook()
        .body(types::CreateWebhook::builder().url(&all.url))
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    let secret = created.hmac_key.expect("the key is shown at creation");
    webhook(
        &harness,
        types::CreateWebhook::builder()
            .url(&bobs.url)
            .session("bob".to_owned())
            .events(EventFilter(vec![EventFilterItem::MessageReceived])),
    )
    .await;
    let disabled = webhook(&harness, types::CreateWebhook::builder().url(&off.url).enabled(false)).await;

    let (alice, bob) = ("15550002001", "15550002002");
    harness.link_by_qr("alice", alice).await;
    harness.link_by_code("bob", bob).await;
    let sent = harness
        .client
        .send_message()
        .body(
            SendMessage::builder()
                .session("alice".to_owned())
                .chat_id(jid(bob))
                .type_(MessageType::Text)
                .text("hello over webhooks".to_owned()),
        )
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    let received = bobs.wait_until("bob's message.received", STEP, |e| !e.is_empty()).await;
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
    harness.client.logout_session().session("bob").send().await.unwrap();

    let expected: BTreeSet<String> = [
        "session.status",
        "session.qr",
        "session.connected",
        "session.logged_out",
        "message.sent",
        "message.received",
        "message.ack",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let delivered = all
        .wait_until("every WhatsApp-driven event type", STEP, |e| {
            kinds(e).is_superset(&expected)
                && of(e, "message.ack", "alice")
                    .iter()
                    .any(|a| a["payload"]["type"] == "read")
        })
        .await;

    // The payloads follow webhook-events.txt.
    let on_bob = of(&delivered, "message.received", "bob");
    let message = on_bob.iter().find(|e| e["payload"]["id"] == sent.id.as_str()).unwrap();
    assert_eq!(message["payload"]["from"]["phoneNumber"], format!("+{alice}"));
    assert_eq!(message["payload"]["text"], "hello over webhooks");
    assert_eq!(message["payload"]["type"], "text");
    assert_eq!(message["payload"]["fromMe"], false);
    let mine = of(&delivered, "message.sent", "alice");
    assert!(
        mine.iter()
            .any(|e| e["payload"]["id"] == sent.id.as_str() && e["payload"]["fromMe"] == true)
    );
    let read = of(&delivered, "message.ack", "alice");
    let read = read.iter().find(|a| a["payload"]["type"] == "read").unwrap();
    assert_eq!(read["payload"]["messageIds"][0], sent.id.as_str());
    let connected = of(&delivered, "session.connected", "alice");
    assert_eq!(connected[0]["payload"]["phoneNumber"], format!("+{alice}"));
    assert!(
        of(&delivered, "session.qr", "alice")[0]["payload"]["code"]
            .as_str()
            .unwrap()
            .starts_with("2@")
    );
    assert_eq!(of(&delivered, "session.logged_out", "bob").len(), 1);

    // One lane per (webhook, session): each session's status changes arrive in the order written.
    for session in ["alice", "bob"] {
        let ids: Vec<&str> = of(&delivered, "session.status", session)
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "{session}'s status events in order: {ids:?}"
        );
    }
    // Every real delivery verifies with the SDK's helpers (RustCrypto's HMAC, not the server's)
    // and reads into its typed event.
    for request in all.received() {
        let event =
            titan_client::webhooks::unwrap(&request.body, &request.headers, &secret).expect("a typed, signed event");
        assert!(
            !matches!(event, titan_client::events::Event::Unknown(_)),
            "every type the server sends is known to the SDK: {event:?}"
        );
        assert_eq!(event.id(), request.json()["id"].as_str().unwrap());
        let header = request.header("x-webhook-signature").unwrap();
        titan_client::webhooks::verify_signature(&request.body, header, &secret).expect("X-Webhook-Signature");
        assert!(
            titan_client::webhooks::verify(&request.body, &request.headers, "whsec_AAAAAAAAAAAAAAAAAAAAAAAA").is_err()
        );
    }
    // Every envelope is unique and carries the documented fields.
    let ids: BTreeSet<&str> = delivered.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), delivered.len(), "no duplicates without a crash");
    assert!(
        delivered
            .iter()
            .all(|e| e["timestamp"].is_string() && e["payload"].is_object())
    );

    // Filters hold: bob's receiver only got bob's incoming messages; the disabled one nothing.
    assert!(
        received
            .iter()
            .all(|e| e["event"] == "message.received" && e["session"] == "bob")
    );
    assert!(
        bobs.delivered()
            .iter()
            .all(|e| e["event"] == "message.received" && e["session"] == "bob")
    );
    assert!(off.received().is_empty(), "a disabled webhook gets nothing");
    assert!(deliveries(&harness, &disabled).await.is_empty());
    harness.stop().await;
}

async fn a_failing_receiver_gets_everything_once_it_recovers(harness: Harness) {
    let flaky = Receiver::start(harness.schemas()).await;
    flaky.answer_with(500);
    let patient = webhook(
        &harness,
        types::CreateWebhook::builder().url(&flaky.url).retries(retries(50, 1)),
    )
    .await;
    let short = Receiver::start(harness.schemas()).await;
    short.answer_with(503);
    let brief = webhook(
        &harness,
        types::CreateWebhook::builder().url(&short.url).retries(retries(2, 0)),
    )
    .await;

    let names = ["s1", "s2", "s3", "s4", "s5"];
    for name in names {
        harness
            .client
            .create_session()
            .body(types::CreateSession::builder().name(name))
            .send()
            .await
            .unwrap();
    }
    // Retried while failing, and the log says why.
    let deadline = tokio::time::Instant::now() + STEP;
    while flaky.received().len() < 2 * names.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no retries: {:?}",
            flaky.received().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = deliveries(&harness, &patient).await;
    assert_eq!(log.len(), names.len());
    assert!(
        log.iter()
            .all(|d| d.status == types::DeliveryState::Pending && d.status_code == Some(500)),
        "{log:?}"
    );
    assert!(log[0].error.as_deref().unwrap_or_default().contains("HTTP 500"));

    flaky.answer_with(200);
    let delivered = flaky
        .wait_until("every event after recovery", STEP, |e| {
            names.iter().all(|n| e.iter().any(|x| x["session"] == *n))
        })
        .await;
    assert_eq!(delivered.len(), names.len(), "each event delivered once it succeeds");
    let deadline = tokio::time::Instant::now() + STEP;
    while deliveries(&harness, &patient)
        .await
        .iter()
        .any(|d| d.status != types::DeliveryState::Delivered)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the log never shows them delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Two attempts, then dead; a manual retry delivers once the receiver is back.
    let deadline = tokio::time::Instant::now() + STEP;
    let dead = loop {
        let log = deliveries(&harness, &brief).await;
        if log.len() == names.len() && log.iter().all(|d| d.status == types::DeliveryState::Dead) {
            break log;
        }
        assert!(tokio::time::Instant::now() < deadline, "never dead: {log:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(dead.iter().all(|d| d.attempts == 2 && d.status_code == Some(503)));
    assert_eq!(short.received().len(), 2 * names.len());
    short.answer_with(200);
    let retried = harness
        .client
        .retry_webhook_delivery()
        .id(&brief)
        .delivery_id(&dead[0].id)
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!(retried.status, types::DeliveryState::Pending);
    let got = short.wait_until("the retried delivery", STEP, |e| !e.is_empty()).await;
    assert_eq!(got[0]["id"], dead[0].event_id.as_str());
    harness.stop().await;
}

/// Reads SSE messages until `count` arrived, checking each against its schema; returns (id,
/// event, data) of each.
async fn read_events(
    response: reqwest::Response,
    count: usize,
    schemas: &EventSchemas,
) -> Vec<(String, String, Value)> {
    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + STEP;
    while out.len() < count {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("SSE events in time");
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap().unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                message
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim_start().to_owned()))
                    .unwrap_or_default()
            };
            if !field("id:").is_empty() {
                let envelope: Value = serde_json::from_str(&field("data:")).unwrap();
                schemas.check(&envelope);
                out.push((field("id:"), field("event:"), envelope));
            }
        }
    }
    out
}

async fn the_event_stream_filters_and_resumes(harness: Harness) {
    let http = reqwest::Client::new();
    let key = harness.key();
    let open = |query: &str, last: Option<&str>| {
        let mut request = http.get(format!("{}/api/events{query}", harness.base)).bearer_auth(key);
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last);
        }
        request.send()
    };
    let live = open("?events=session.status", None).await.unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(live.headers()["content-type"], "text/event-stream");
    let only_s3 = open("?session=s3", None).await.unwrap();
    for name in ["s1", "s2", "s3"] {
        harness
            .client
            .create_session()
            .body(types::CreateSession::builder().name(name))
            .send()
            .await
            .unwrap();
    }
    let first = read_events(live, 3, &harness.schemas()).await;
    let sessions: Vec<&str> = first.iter().map(|(_, _, d)| d["session"].as_str().unwrap()).collect();
    assert_eq!(sessions, ["s1", "s2", "s3"]);
    assert!(
        first
            .iter()
            .all(|(id, event, data)| event == "session.status" && data["id"] == id.as_str())
    );
    let filtered = read_events(only_s3, 1, &harness.schemas()).await;
    assert_eq!(filtered[0].2["session"], "s3");

    // Resume after the first: the two others come from the outbox, then live ones follow.
    let resumed = open("", Some(&first[0].0)).await.unwrap();
    harness
        .client
        .create_session()
        .body(types::CreateSession::builder().name("s4"))
        .send()
        .await
        .unwrap();
    let rest = read_events(resumed, 3, &harness.schemas()).await;
    let ids: Vec<&str> = rest.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids[..2], [first[1].0.as_str(), first[2].0.as_str()]);
    assert_eq!(rest[2].2["session"], "s4");

    // The SDK's stream does the same, typed.
    let subscription = titan_client::events::Subscription {
        events: vec!["session.status".into()],
        last_event_id: Some(first[0].0.clone()),
        ..Default::default()
    };
    let stream = harness
        .client
        .subscribe(subscription)
        .take(3)
        .map(|e| e.expect("an event"));
    let typed: Vec<titan_client::events::Event> = tokio::time::timeout(STEP, stream.collect())
        .await
        .expect("three events through the SDK");
    let sessions: Vec<&str> = typed.iter().map(titan_client::events::Event::session).collect();
    assert_eq!(sessions, ["s2", "s3", "s4"]);
    assert_eq!(typed[0].id(), first[1].0);
    assert!(
        matches!(typed[0], titan_client::events::Event::SessionStatus(_)),
        "{:?}",
        typed[0]
    );
    harness.stop().await;
}
