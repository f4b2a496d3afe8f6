//! The live event stream (`GET /api/events`) as a [`Stream`] of envelopes, typed ([`Event`]) or
//! raw ([`RawEvent`]). The stream reconnects by itself after a dropped connection (or the
//! client's timeout), resuming with `Last-Event-ID` so no event is skipped; an error answer from
//! Titan (401, 403, 400) ends it.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

pub use crate::generated_events::Event;
use crate::{Client, Error};

/// One event, untyped: the envelope with its payload as JSON. What [`Event::Unknown`] holds,
/// and what the language bindings pass on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawEvent {
    /// `evt_...`, unique: dedupe by it.
    pub id: String,
    /// The event type, e.g. `message.received`.
    pub event: String,
    /// The session it happened on.
    pub session: String,
    /// When it was written (RFC 3339).
    pub timestamp: String,
    /// The type's payload.
    pub payload: serde_json::Value,
}

/// What to subscribe to.
#[derive(Debug, Clone, Default)]
pub struct Subscription {
    /// Event types (all when empty).
    pub events: Vec<String>,
    /// Only this session's events.
    pub session: Option<String>,
    /// Resume after this event id.
    pub last_event_id: Option<String>,
}

/// Splits Server-Sent Events text into messages; fed chunk by chunk.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: String,
}

/// One Server-Sent Events message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseMessage {
    /// The `id:` field.
    pub id: Option<String>,
    /// The `event:` field.
    pub event: Option<String>,
    /// The `data:` lines, joined by newlines.
    pub data: String,
}

impl SseParser {
    /// Adds `chunk` and returns the messages it completed (comments and heartbeats are dropped).
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseMessage> {
        self.buffer.push_str(&String::from_utf8_lossy(chunk));
        let mut out = Vec::new();
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut message = SseMessage::default();
            let mut data = Vec::new();
            for line in block.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => message.id = Some(value.to_owned()),
                    "event" => message.event = Some(value.to_owned()),
                    "data" => data.push(value),
                    _ => {}
                }
            }
            if !data.is_empty() {
                message.data = data.join("\n");
                out.push(message);
            }
        }
        out
    }
}

struct State {
    client: Client,
    subscription: Subscription,
    body: Option<BoxStream<'static, reqwest::Result<Bytes>>>,
    parser: SseParser,
    ready: VecDeque<SseMessage>,
    done: bool,
}

impl Client {
    /// Subscribes to the event stream, typed. Needs `webhooks:manage`.
    ///
    /// ```no_run
    /// # async fn demo(client: titan_client::Client) {
    /// use futures::StreamExt;
    /// use titan_client::events::{Event, Subscription};
    /// let mut events = client.subscribe(Subscription::default());
    /// while let Some(event) = events.next().await {
    ///     match event.expect("stream") {
    ///         Event::MessageReceived(e) => println!("{}: {:?}", e.session, e.payload.text),
    ///         other => println!("{} {}", other.event(), other.id()),
    ///     }
    /// }
    /// # }
    /// ```
    pub fn subscribe(&self, subscription: Subscription) -> BoxStream<'static, Result<Event, Error>> {
        self.messages(subscription).map(|message| parse(&message?)).boxed()
    }

    /// Subscribes to the event stream, untyped: every field as sent, whatever this SDK knows.
    pub fn subscribe_raw(&self, subscription: Subscription) -> BoxStream<'static, Result<RawEvent, Error>> {
        self.messages(subscription).map(|message| parse(&message?)).boxed()
    }

    /// The stream's messages, reconnecting after the last one seen.
    fn messages(&self, subscription: Subscription) -> BoxStream<'static, Result<SseMessage, Error>> {
        let state = State {
            client: self.clone(),
            subscription,
            body: None,
            parser: SseParser::default(),
            ready: VecDeque::new(),
            done: false,
        };
        futures::stream::unfold(state, |mut state| async move {
            loop {
                if let Some(message) = state.ready.pop_front() {
                    if message.id.is_some() {
                        state.subscription.last_event_id.clone_from(&message.id);
                    }
                    return Some((Ok(message), state));
                }
                if state.done {
                    return None;
                }
                let Some(body) = state.body.as_mut() else {
                    match connect(&state.client, &state.subscription).await {
                        Ok(body) => {
                            state.parser = SseParser::default();
                            state.body = Some(body);
                        }
                        Err(error) => {
                            state.done = true;
                            return Some((Err(error), state));
                        }
                    }
                    continue;
                };
                match body.next().await {
                    Some(Ok(chunk)) => state.ready.extend(state.parser.feed(&chunk)),
                    // Dropped (or timed out): reconnect from the last event seen.
                    Some(Err(_)) | None => {
                        state.body = None;
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                }
            }
        })
        .boxed()
    }
}

/// An event of one message, typed as `T` (an [`Event`] or a [`RawEvent`]).
fn parse<T: serde::de::DeserializeOwned>(message: &SseMessage) -> Result<T, Error> {
    serde_json::from_str(&message.data)
        .map_err(|e| Error::UnexpectedResponse(format!("an event that does not match its schema: {e}")))
}

async fn connect(
    client: &Client,
    subscription: &Subscription,
) -> Result<BoxStream<'static, reqwest::Result<Bytes>>, Error> {
    let mut request = client.stream_events();
    if !subscription.events.is_empty() {
        request = request.events(subscription.events.join(","));
    }
    if let Some(session) = &subscription.session {
        request = request.session(session.clone());
    }
    if let Some(last) = &subscription.last_event_id {
        request = request.last_event_id(last.clone());
    }
    let response = request.send().await.map_err(Error::from)?;
    Ok(response.into_inner().into_inner().boxed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_across_chunks_are_parsed_and_heartbeats_dropped() {
        let mut parser = SseParser::default();
        assert!(parser.feed(b": heartbeat\n\nid: evt_1\nevent: session.st").is_empty());
        let messages = parser.feed(b"atus\ndata: {\"a\":1}\n\n");
        assert_eq!(
            messages,
            [SseMessage {
                id: Some("evt_1".into()),
                event: Some("session.status".into()),
                data: "{\"a\":1}".into()
            }]
        );
    }
}
