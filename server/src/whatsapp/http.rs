//! whatsapp-rust's HTTP client (media upload and download) on reqwest. whatsapp-rust's own
//! `UreqHttpClient` blocks a thread per transfer and has no timeouts; this one is async, bounds
//! connecting and each read, can go through the session's proxy, and can trust extra roots
//! (the sandbox emulator's media CA).

use std::time::Duration;

use whatsapp_rust::http::{HttpClient, HttpRequest, HttpResponse};

/// How a session's media client connects.
#[derive(Debug, Clone)]
pub struct HttpClientConfig {
    /// Longest wait for a TCP and TLS connection.
    pub connect_timeout: Duration,
    /// Longest silence while reading a response.
    pub read_timeout: Duration,
    /// `http://…` or `socks5://…` proxy for every request, if any.
    pub proxy: Option<String>,
    /// PEM certificates trusted in addition to the system roots.
    pub extra_roots: Vec<String>,
    /// Largest response body accepted (media bodies are held in memory).
    pub max_body_bytes: u64,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            proxy: None,
            extra_roots: Vec::new(),
            max_body_bytes: 512 * 1024 * 1024,
        }
    }
}

/// Why a media client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    /// The proxy URL is not one reqwest accepts.
    #[error("invalid proxy URL: {0}")]
    Proxy(reqwest::Error),
    /// An extra root certificate is not valid PEM.
    #[error("invalid root certificate: {0}")]
    Certificate(reqwest::Error),
    /// reqwest refused the configuration.
    #[error("cannot build the HTTP client: {0}")]
    Build(reqwest::Error),
}

/// A whatsapp-rust [`HttpClient`] on reqwest.
#[derive(Debug, Clone)]
pub struct ReqwestHttpClient {
    client: reqwest::Client,
    max_body_bytes: u64,
}

impl ReqwestHttpClient {
    /// A client configured by `config`.
    pub fn new(config: &HttpClientConfig) -> Result<Self, HttpClientError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout);
        if let Some(proxy) = &config.proxy {
            builder = builder.proxy(reqwest::Proxy::all(proxy).map_err(HttpClientError::Proxy)?);
        }
        for pem in &config.extra_roots {
            let root = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(HttpClientError::Certificate)?;
            builder = builder.add_root_certificate(root);
        }
        Ok(Self {
            client: builder.build().map_err(HttpClientError::Build)?,
            max_body_bytes: config.max_body_bytes,
        })
    }
}

#[whatsapp_rust::async_trait]
impl HttpClient for ReqwestHttpClient {
    /// Sends `request`; any status comes back as a response (whatsapp-rust's retry logic reads
    /// it), only transport failures and oversized bodies are errors.
    async fn execute(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())?;
        let mut outgoing = self.client.request(method, &request.url);
        for (name, value) in &request.headers {
            outgoing = outgoing.header(name, value);
        }
        if let Some(body) = request.body {
            outgoing = outgoing.body(body);
        }
        let mut response = outgoing.send().await?;
        let status_code = response.status().as_u16();
        if response.content_length().is_some_and(|n| n > self.max_body_bytes) {
            anyhow::bail!("response body larger than {} bytes", self.max_body_bytes);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if (body.len() + chunk.len()) as u64 > self.max_body_bytes {
                anyhow::bail!("response body larger than {} bytes", self.max_body_bytes);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse { status_code, body })
    }
}
