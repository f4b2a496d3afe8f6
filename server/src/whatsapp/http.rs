//! whatsapp-rust's HTTP client (media upload and download) on reqwest. whatsapp-rust's own
//! `UreqHttpClient` blocks a thread per transfer and has no timeouts; this one is async, bounds
//! connecting and each read, can go through the session's proxy, and can trust extra roots
//! (the sandbox emulator's media CA). Uploads stream their body from whatsapp-rust's reader with
//! an exact `Content-Length`, so a large file is sent without being held in memory.

use std::io::Read;
use std::time::Duration;

use whatsapp_rust::http::{HttpClient, HttpRequest, HttpResponse};
use whatsapp_rust::wacore::net::UploadBody;

/// Bytes read from an upload's body at a time.
const UPLOAD_PIECE: usize = 64 * 1024;

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

impl ReqwestHttpClient {
    /// `request`'s method, URL and headers (its body is the caller's to add).
    fn builder(&self, request: &HttpRequest) -> anyhow::Result<reqwest::RequestBuilder> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())?;
        let mut outgoing = self.client.request(method, &request.url);
        for (name, value) in &request.headers {
            if !name.eq_ignore_ascii_case("content-length") {
                outgoing = outgoing.header(name, value);
            }
        }
        Ok(outgoing)
    }

    /// Sends `outgoing` and reads the answer, whatever its status, up to the body cap.
    async fn exchange(&self, outgoing: reqwest::RequestBuilder) -> anyhow::Result<HttpResponse> {
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

#[whatsapp_rust::async_trait]
impl HttpClient for ReqwestHttpClient {
    /// Sends `request`; any status comes back as a response (whatsapp-rust's retry logic reads
    /// it), only transport failures and oversized bodies are errors.
    async fn execute(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        let mut outgoing = self.builder(&request)?;
        if let Some(body) = request.body {
            outgoing = outgoing.body(body);
        }
        self.exchange(outgoing).await
    }

    fn supports_upload_streaming(&self) -> bool {
        true
    }

    /// Sends `body`, `content_length` bytes, as the request's body with that exact
    /// `Content-Length` (WhatsApp's CDN refuses chunked uploads). whatsapp-rust calls this on a
    /// blocking thread: the body is read here piece by piece and handed to the request, which
    /// runs on the async runtime, so at most a few pieces are in memory at once.
    fn execute_upload(
        &self,
        request: HttpRequest,
        mut body: UploadBody,
        content_length: u64,
    ) -> anyhow::Result<HttpResponse> {
        let runtime = tokio::runtime::Handle::try_current()?;
        let (pieces, received) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(4);
        let stream = futures::stream::unfold(received, |mut received| async move {
            received.recv().await.map(|piece| (piece, received))
        });
        let outgoing = self
            .builder(&request)?
            .header(reqwest::header::CONTENT_LENGTH, content_length)
            .body(reqwest::Body::wrap_stream(stream));
        let client = self.clone();
        let answer = runtime.spawn(async move { client.exchange(outgoing).await });
        let mut buffer = vec![0u8; UPLOAD_PIECE];
        loop {
            let piece = match body.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => Ok(bytes::Bytes::copy_from_slice(&buffer[..n])),
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => Err(error),
            };
            let failed = piece.is_err();
            // A closed channel means the request already ended; its answer says how.
            if pieces.blocking_send(piece).is_err() || failed {
                break;
            }
        }
        drop(pieces);
        runtime.block_on(answer)?
    }
}
