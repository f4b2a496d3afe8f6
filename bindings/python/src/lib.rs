//! `titan._core`: the native half of Titan's Python SDK. It exposes titan-client's transport
//! (API key, timeouts, retries honouring `Retry-After`, idempotency keys), its event stream and
//! its webhook verification; the typed Python surface in `python/titan` is generated from the
//! OpenAPI document and calls every operation through [`Transport`].
//!
//! Blocking calls release the GIL and poll for signals, so Ctrl-C interrupts them; every call
//! refuses to run in a process forked after the runtime started, instead of hanging.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use titan_client::events::{RawEvent, Subscription};
use titan_client::raw::{RawRequest, RawResponse};
use titan_client::{Client, Error};

pyo3::import_exception!(titan._exceptions, APIError);
pyo3::import_exception!(titan._exceptions, APIConnectionError);
pyo3::import_exception!(titan._exceptions, APITimeoutError);
pyo3::import_exception!(titan._exceptions, InvalidWebhookSignatureError);

/// How often a blocking call wakes to let Python handle signals (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// The process that started the runtime: a forked child must not use it (its threads are gone).
static RUNTIME_OWNER: OnceLock<u32> = OnceLock::new();

/// The one tokio runtime every call runs on, sync or async, so they share one connection pool.
fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    let pid = std::process::id();
    if *RUNTIME_OWNER.get_or_init(|| pid) != pid {
        return Err(PyRuntimeError::new_err(
            "titan: this process was forked after a titan client had been used, and the client's \
             network runtime does not survive fork(). Create clients in the child process, or use \
             multiprocessing's 'spawn' start method.",
        ));
    }
    Ok(pyo3_async_runtimes::tokio::get_runtime())
}

/// Runs `future` to completion with the GIL released, waking every [`SIGNAL_POLL`] to run
/// Python's signal handlers: a `KeyboardInterrupt` they raise abandons the call.
fn block_on<T: Send>(py: Python<'_>, future: impl Future<Output = Result<T, Error>> + Send) -> PyResult<T> {
    let runtime = runtime()?;
    let outcome = py.detach(|| {
        runtime.block_on(async {
            let mut future = std::pin::pin!(future);
            loop {
                tokio::select! {
                    outcome = &mut future => return Ok::<_, PyErr>(outcome),
                    () = tokio::time::sleep(SIGNAL_POLL) => {
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    })?;
    outcome.map_err(to_python)
}

/// The Python exception for a call that got no answer.
fn to_python(error: Error) -> PyErr {
    let message = error.with_causes();
    match error {
        Error::Timeout(_) => APITimeoutError::new_err(message),
        Error::Connection(_) => APIConnectionError::new_err(message),
        Error::InvalidRequest(_) | Error::Config(_) => PyValueError::new_err(message),
        Error::Api(_) | Error::UnexpectedResponse(_) => APIError::new_err(message),
    }
}

/// An answer as Python receives it: `(status, [(header, value)], body)`.
struct Answer(RawResponse);

impl<'py> IntoPyObject<'py> for Answer {
    type Target = PyTuple;
    type Output = Bound<'py, PyTuple>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let headers: Vec<(&str, &str)> = self
            .0
            .headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
            .collect();
        (self.0.status, headers, PyBytes::new(py, &self.0.body)).into_pyobject(py)
    }
}

/// One event as Python receives it: `(id, event, session, timestamp, payload as JSON)`.
struct EventTuple(RawEvent);

impl<'py> IntoPyObject<'py> for EventTuple {
    type Target = PyTuple;
    type Output = Bound<'py, PyTuple>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let RawEvent {
            id,
            event,
            session,
            timestamp,
            payload,
        } = self.0;
        (id, event, session, timestamp, payload.to_string()).into_pyobject(py)
    }
}

/// A configured titan-client: the Python `Client` and `AsyncClient` each hold one.
#[pyclass(frozen, module = "titan._core")]
struct Transport {
    client: Client,
}

#[pymethods]
impl Transport {
    #[new]
    #[pyo3(signature = (base_url, api_key, timeout, max_retries, user_agent))]
    fn new(
        base_url: String,
        api_key: Option<String>,
        timeout: f64,
        max_retries: u32,
        user_agent: String,
    ) -> PyResult<Self> {
        let timeout = Duration::try_from_secs_f64(timeout)
            .map_err(|_| PyValueError::new_err("timeout must be a positive number of seconds"))?;
        let mut builder = Client::builder()
            .base_url(base_url)
            .timeout(timeout)
            .max_retries(max_retries)
            .user_agent(user_agent);
        if let Some(key) = api_key {
            builder = builder.api_key(key);
        }
        let client = builder.build().map_err(to_python)?;
        Ok(Self { client })
    }

    /// Sends a request and waits for the answer, with the GIL released.
    #[pyo3(signature = (method, path, query, headers, body))]
    fn request(
        &self,
        py: Python<'_>,
        method: &str,
        path: String,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        body: Option<&[u8]>,
    ) -> PyResult<Answer> {
        let request = raw_request(method, path, query, headers, body)?;
        let client = self.client.clone();
        block_on(py, async move { client.send_raw(request).await }).map(Answer)
    }

    /// Sends a request; the answer arrives through an asyncio awaitable.
    #[pyo3(signature = (method, path, query, headers, body))]
    fn request_async<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        path: String,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        body: Option<&[u8]>,
    ) -> PyResult<Bound<'py, PyAny>> {
        runtime()?;
        let request = raw_request(method, path, query, headers, body)?;
        let client = self.client.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            client.send_raw(request).await.map(Answer).map_err(to_python)
        })
    }

    /// Subscribes to `GET /api/events`; the stream reconnects by itself with `Last-Event-ID`.
    #[pyo3(signature = (events, session, last_event_id))]
    fn events(&self, events: Vec<String>, session: Option<String>, last_event_id: Option<String>) -> EventStream {
        let stream = self.client.subscribe_raw(Subscription {
            events,
            session,
            last_event_id,
        });
        EventStream {
            stream: Arc::new(tokio::sync::Mutex::new(stream)),
        }
    }
}

fn raw_request(
    method: &str,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<&[u8]>,
) -> PyResult<RawRequest> {
    let method = http::Method::from_bytes(method.as_bytes())
        .map_err(|_| PyValueError::new_err(format!("`{method}` is not an HTTP method")))?;
    Ok(RawRequest {
        method,
        path,
        query,
        headers,
        body: body.map(|b| b.to_vec().into()),
    })
}

/// The events of one subscription, taken one at a time (blocking or awaited).
#[pyclass(frozen, module = "titan._core")]
struct EventStream {
    stream: Arc<tokio::sync::Mutex<BoxStream<'static, Result<RawEvent, Error>>>>,
}

#[pymethods]
impl EventStream {
    /// The next event, waiting for it with the GIL released; `None` once the stream has ended.
    fn next(&self, py: Python<'_>) -> PyResult<Option<EventTuple>> {
        let stream = Arc::clone(&self.stream);
        block_on(py, async move { stream.lock().await.next().await.transpose() }).map(|e| e.map(EventTuple))
    }

    /// The next event through an asyncio awaitable; `None` once the stream has ended.
    fn next_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime()?;
        let stream = Arc::clone(&self.stream);
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let next = stream.lock().await.next().await.transpose().map_err(to_python)?;
            Ok(next.map(EventTuple))
        })
    }
}

/// Verifies a webhook delivery (either signature scheme) or raises `InvalidWebhookSignatureError`.
#[pyfunction]
fn verify_webhook(body: &[u8], headers: Vec<(String, String)>, secret: &str) -> PyResult<()> {
    let pairs = headers.iter().map(|(name, value)| (name.as_str(), value.as_str()));
    titan_client::webhooks::verify_pairs(body, pairs, secret)
        .map_err(|e| InvalidWebhookSignatureError::new_err(e.to_string()))
}

/// The module Python imports as `titan._core`.
#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Transport>()?;
    module.add_class::<EventStream>()?;
    module.add_function(wrap_pyfunction!(verify_webhook, module)?)?;
    Ok(())
}
