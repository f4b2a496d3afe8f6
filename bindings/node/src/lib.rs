//! The native half of Titan's Node SDK (npm package `titan-client`). It exposes titan-client's
//! transport (API key, timeouts, retries honouring `Retry-After`, idempotency keys), its event
//! stream and its webhook verification; the typed JavaScript surface in `lib/` is generated from
//! the OpenAPI document and sends every operation through [`Transport::request`].
//!
//! Nothing here throws for a failed call: an answer, or the reason there was none, resolves as an
//! [`Answer`], so the JavaScript side raises its own error classes with every detail intact.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use titan_client::events::{RawEvent, Subscription};
use titan_client::raw::{RawRequest, RawResponse};
use titan_client::{Client, Error};

/// Why a call got no answer: `kind` is `timeout`, `connection`, `invalid_request` or `unexpected`.
#[napi(object)]
pub struct Failure {
    /// Which kind of failure, for the JavaScript error class.
    pub kind: String,
    /// What happened, with its causes.
    pub message: String,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let kind = match &error {
            Error::Timeout(_) => "timeout",
            Error::Connection(_) => "connection",
            Error::InvalidRequest(_) | Error::Config(_) => "invalid_request",
            Error::Api(_) | Error::UnexpectedResponse(_) => "unexpected",
        };
        Self {
            kind: kind.to_owned(),
            message: error.with_causes(),
        }
    }
}

/// Titan's answer (any status), or the failure that left the call without one.
#[napi(object)]
pub struct Answer {
    /// The HTTP status; 0 when there is no answer.
    pub status: u32,
    /// The response headers as `[name, value]` pairs, names in lower case.
    pub headers: Vec<Vec<String>>,
    /// The whole body.
    pub body: Buffer,
    /// Set when there is no answer.
    pub failure: Option<Failure>,
}

impl From<Result<RawResponse, Error>> for Answer {
    fn from(outcome: Result<RawResponse, Error>) -> Self {
        match outcome {
            Ok(response) => Self {
                status: u32::from(response.status),
                headers: response
                    .headers
                    .iter()
                    .filter_map(|(name, value)| Some(vec![name.as_str().to_owned(), value.to_str().ok()?.to_owned()]))
                    .collect(),
                body: response.body.to_vec().into(),
                failure: None,
            },
            Err(error) => Self {
                status: 0,
                headers: Vec::new(),
                body: Vec::new().into(),
                failure: Some(error.into()),
            },
        }
    }
}

/// One Server-Sent Event of `GET /api/events`.
#[napi(object)]
pub struct StreamedEvent {
    /// The event id (`Last-Event-ID` resumes after it).
    pub id: String,
    /// The event type, e.g. `message.received`.
    pub event: String,
    /// The session it concerns.
    pub session: String,
    /// When it happened (RFC 3339).
    pub timestamp: String,
    /// Its data.
    pub payload: serde_json::Value,
}

/// The next item of a subscription: an event, the end (neither set), or a failure.
#[napi(object)]
pub struct Next {
    /// The event, if one came.
    pub event: Option<StreamedEvent>,
    /// Set when the stream failed for good.
    pub failure: Option<Failure>,
}

/// A configured titan-client; each JavaScript `Titan` client holds one.
#[napi]
pub struct Transport {
    client: Client,
}

#[napi]
impl Transport {
    /// Builds the client: `timeoutMs` bounds each attempt, `maxRetries` counts retries after it.
    #[napi(constructor)]
    pub fn new(
        base_url: String,
        api_key: Option<String>,
        timeout_ms: f64,
        max_retries: u32,
        user_agent: String,
    ) -> napi::Result<Self> {
        let timeout = Duration::try_from_secs_f64(timeout_ms / 1000.0)
            .map_err(|_| napi::Error::from_reason("timeout must be a positive number of milliseconds"))?;
        let mut builder = Client::builder()
            .base_url(base_url)
            .timeout(timeout)
            .max_retries(max_retries)
            .user_agent(user_agent);
        if let Some(key) = api_key {
            builder = builder.api_key(key);
        }
        let client = builder.build().map_err(|e| napi::Error::from_reason(e.with_causes()))?;
        Ok(Self { client })
    }

    /// Sends a request; the promise resolves with the answer, whatever its status.
    #[napi]
    pub async fn request(
        &self,
        method: String,
        path: String,
        query: Vec<Vec<String>>,
        headers: Vec<Vec<String>>,
        body: Option<Buffer>,
    ) -> Answer {
        let request = match raw_request(&method, path, query, headers, body) {
            Ok(request) => request,
            Err(error) => return Answer::from(Err(error)),
        };
        Answer::from(self.client.send_raw(request).await)
    }

    /// Subscribes to `GET /api/events`; the stream reconnects by itself with `Last-Event-ID`.
    #[napi]
    pub fn events(&self, events: Vec<String>, session: Option<String>, last_event_id: Option<String>) -> EventStream {
        let stream = self.client.subscribe_raw(Subscription {
            events,
            session,
            last_event_id,
        });
        EventStream {
            stream: Arc::new(tokio::sync::Mutex::new(Some(stream))),
        }
    }
}

/// `[name, value]` pairs from JavaScript as Rust pairs; a malformed pair is a clear error.
fn pairs(items: Vec<Vec<String>>, what: &str) -> Result<Vec<(String, String)>, Error> {
    items
        .into_iter()
        .map(|pair| match <[String; 2]>::try_from(pair) {
            Ok([name, value]) => Ok((name, value)),
            Err(_) => Err(Error::InvalidRequest(format!(
                "each {what} must be a [name, value] pair"
            ))),
        })
        .collect()
}

fn raw_request(
    method: &str,
    path: String,
    query: Vec<Vec<String>>,
    headers: Vec<Vec<String>>,
    body: Option<Buffer>,
) -> Result<RawRequest, Error> {
    let method = http::Method::from_bytes(method.as_bytes())
        .map_err(|_| Error::InvalidRequest(format!("`{method}` is not an HTTP method")))?;
    Ok(RawRequest {
        method,
        path,
        query: pairs(query, "query parameter")?,
        headers: pairs(headers, "header")?,
        body: body.map(|b| b.to_vec().into()),
    })
}

type Events = BoxStream<'static, Result<RawEvent, Error>>;

/// The events of one subscription, taken one at a time; `close()` ends it at once.
#[napi]
pub struct EventStream {
    stream: Arc<tokio::sync::Mutex<Option<Events>>>,
}

#[napi]
impl EventStream {
    /// The next event; neither field is set once the stream has ended or been closed.
    #[napi]
    pub async fn next(&self) -> Next {
        let mut guard = self.stream.lock().await;
        let Some(stream) = guard.as_mut() else {
            return Next {
                event: None,
                failure: None,
            };
        };
        match stream.next().await {
            Some(Ok(event)) => Next {
                event: Some(StreamedEvent {
                    id: event.id,
                    event: event.event,
                    session: event.session,
                    timestamp: event.timestamp,
                    payload: event.payload,
                }),
                failure: None,
            },
            Some(Err(error)) => Next {
                event: None,
                failure: Some(error.into()),
            },
            None => Next {
                event: None,
                failure: None,
            },
        }
    }

    /// Closes the connection; a pending `next()` finishes first, later ones see the end.
    #[napi]
    pub async fn close(&self) {
        self.stream.lock().await.take();
    }
}

/// Checks a webhook delivery's signature (either scheme): `null` when it is valid, otherwise why
/// not. `headers` are `[name, value]` pairs.
#[napi]
pub fn verify_webhook(body: Buffer, headers: Vec<Vec<String>>, secret: String) -> Option<String> {
    let pairs = headers.iter().filter_map(|pair| match pair.as_slice() {
        [name, value] => Some((name.as_str(), value.as_str())),
        _ => None,
    });
    titan_client::webhooks::verify_pairs(&body, pairs, &secret)
        .err()
        .map(|e| e.to_string())
}
