//! The transport policy: authentication, timeouts, retries with backoff, idempotency keys.

use std::time::Duration;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use rand::Rng;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, Request, Response, StatusCode};

use crate::{Client, Error};

/// Header carrying the idempotency key of a POST.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Retries after the first attempt, unless configured otherwise.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Total time one attempt may take, unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Time to establish a connection, unless configured otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Longest `Retry-After` honoured; a longer one is returned to the caller as an error.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Per-client settings the hooks read on every call.
#[derive(Debug, Clone)]
pub struct ClientState {
    api_key: Option<String>,
    max_retries: u32,
}

/// Configures a [`Client`]: base URL, API key, timeouts, retries, user agent.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: Option<String>,
    api_key: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    max_retries: u32,
    user_agent: String,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: None,
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            user_agent: format!("titan-client-rust/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

impl ClientBuilder {
    /// The server's base URL, e.g. `http://127.0.0.1:8080`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API key (`titan_...`) sent as `Authorization: Bearer`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Total time one attempt may take (default 10 minutes).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time to establish a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retries after the first attempt on connection errors, 408, 409, 429 and 5xx (default 2; 0 disables).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Replaces the `User-Agent` header.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = self
            .base_url
            .ok_or_else(|| Error::Config("a base URL is required (or TITAN_BASE_URL)".into()))?;
        let base_url = base_url.trim_end_matches('/').to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "base URL must start with http:// or https://, got `{base_url}`"
            )));
        }
        let mut headers = HeaderMap::new();
        let agent = HeaderValue::from_str(&self.user_agent).map_err(|e| Error::Config(format!("user agent: {e}")))?;
        headers.insert(USER_AGENT, agent);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let state = ClientState {
            api_key: self.api_key,
            max_retries: self.max_retries,
        };
        Ok(Client::new_with_client(&base_url, http, state))
    }
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client for `TITAN_BASE_URL` with `TITAN_API_KEY`, and default settings otherwise.
    pub fn from_env() -> Result<Self, Error> {
        let base_url =
            std::env::var("TITAN_BASE_URL").map_err(|_| Error::Config("TITAN_BASE_URL is not set".into()))?;
        let mut builder = Self::builder().base_url(base_url);
        if let Ok(key) = std::env::var("TITAN_API_KEY") {
            builder = builder.api_key(key);
        }
        builder.build()
    }
}

impl ClientHooks<ClientState> for Client {
    /// Adds the API key.
    async fn pre<E>(&self, request: &mut Request, _: &OperationInfo) -> Result<(), progenitor_client::Error<E>> {
        if let Some(key) = &self.inner().api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                progenitor_client::Error::InvalidRequest("the API key is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        Ok(())
    }

    /// Sends the request, retrying what is safe to retry. A POST gets an `Idempotency-Key`
    /// before its first attempt, so every retry of it is recognised by the server as the same call.
    async fn exec(&self, mut request: Request, _: &OperationInfo) -> reqwest::Result<Response> {
        if request.method() == Method::POST && !request.headers().contains_key(IDEMPOTENCY_KEY) {
            let key = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap_or(HeaderValue::from_static("0"));
            request.headers_mut().insert(IDEMPOTENCY_KEY, key);
        }
        let max_retries = self.inner().max_retries;
        let mut attempt = 0;
        loop {
            let retry = if attempt < max_retries {
                request.try_clone()
            } else {
                None
            };
            let result = self.client().execute(request).await;
            let Some(next) = retry else { return result };
            let delay = match &result {
                Ok(response) => match retry_delay(response, attempt) {
                    Some(delay) => delay,
                    None => return result,
                },
                Err(error) if error.is_connect() || error.is_timeout() || error.is_request() => backoff(attempt),
                Err(_) => return result,
            };
            tokio::time::sleep(delay).await;
            attempt += 1;
            request = next;
        }
    }
}

/// How long to wait before retrying `response`, or `None` if it must not be retried.
fn retry_delay(response: &Response, attempt: u32) -> Option<Duration> {
    let headers = response.headers();
    match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
        Some("true") => {}
        Some("false") => return None,
        _ => {
            let status = response.status();
            let retryable = matches!(
                status,
                StatusCode::REQUEST_TIMEOUT | StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS
            ) || status.is_server_error();
            if !retryable {
                return None;
            }
        }
    }
    match server_delay(headers) {
        Some(delay) if delay > MAX_RETRY_AFTER => None,
        Some(delay) => Some(delay),
        None => Some(backoff(attempt)),
    }
}

/// The delay the server asked for, in `retry-after-ms` or `Retry-After` (seconds).
fn server_delay(headers: &HeaderMap) -> Option<Duration> {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        return Some(Duration::from_secs_f64(ms.max(0.0) / 1000.0));
    }
    text(RETRY_AFTER.as_str())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|s| Duration::from_secs_f64(s.max(0.0)))
}

/// 0.5 s doubling per attempt up to 8 s, less up to 25% jitter so clients do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let base = INITIAL_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempt))
        .min(MAX_BACKOFF);
    base.mul_f64(1.0 - rand::rng().random_range(0.0..0.25))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_a_ceiling() {
        for attempt in 0..10 {
            let delay = backoff(attempt);
            let base = INITIAL_BACKOFF
                .saturating_mul(2u32.saturating_pow(attempt))
                .min(MAX_BACKOFF);
            assert!(delay <= base && delay >= base.mul_f64(0.75), "{attempt}: {delay:?}");
        }
    }

    #[test]
    fn server_delays_are_read_from_both_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(server_delay(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(server_delay(&headers), Some(Duration::from_millis(150)));
    }
}
