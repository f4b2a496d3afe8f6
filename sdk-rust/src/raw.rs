//! Calls by method and path, under the same transport policy as the typed methods (API key,
//! timeouts, retries, idempotency key). The Python SDK sends every operation through here (the
//! Node SDK will too), so the policy lives in one place; Rust users can reach an endpoint this
//! SDK's version does not know yet.

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use crate::{Client, Error};

/// A request by method and path, e.g. `GET /api/sessions?limit=10`.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path after the base URL, starting with `/`.
    pub path: String,
    /// Query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Extra headers (e.g. `Prefer`, `Last-Event-ID`).
    pub headers: Vec<(String, String)>,
    /// A JSON body.
    pub body: Option<Bytes>,
}

/// Titan's answer, whatever its status: the bindings turn error statuses into their own
/// exception classes.
#[derive(Debug)]
pub struct RawResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Client {
    /// Sends `request` and reads the whole answer. Only a failure to get an answer at all (after
    /// the retries) is an error; an error status is a [`RawResponse`] like any other.
    pub async fn send_raw(&self, request: RawRequest) -> Result<RawResponse, Error> {
        let response = self.open_raw(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(Error::from)?;
        Ok(RawResponse { status, headers, body })
    }

    /// Sends `request` and returns the answer before its body is read, for streams (SSE).
    pub async fn open_raw(&self, request: RawRequest) -> Result<reqwest::Response, Error> {
        let url = format!("{}{}", self.baseurl(), request.path);
        let mut builder = self.client().request(request.method, url).query(&request.query);
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::InvalidRequest(format!("`{name}` is not a valid header name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| Error::InvalidRequest(format!("the value of `{name}` is not a valid header value")))?;
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.header(CONTENT_TYPE, "application/json").body(body);
        }
        let mut request = builder.build().map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let info = OperationInfo { operation_id: "raw" };
        self.pre::<()>(&mut request, &info)
            .await
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        self.exec(request, &info).await.map_err(Error::from)
    }
}
