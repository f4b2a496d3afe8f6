//! One error type for every failed call, carrying what Titan said and the request id.

use crate::types::ErrorBody;

/// A non-2xx answer from Titan: its status, message, docs link and request id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message} (request id {request_id}; see {docs})")]
pub struct ApiError {
    /// HTTP status, e.g. 404.
    pub status: u16,
    /// Titan's `error` message.
    pub message: String,
    /// Titan's `docs` link.
    pub docs: String,
    /// The `X-Request-Id` of the failed request, for support and logs.
    pub request_id: String,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Titan answered with an error status (after any retries).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Titan could not be reached, or the connection broke (after any retries).
    #[error("connection error: {0}")]
    Connection(#[source] reqwest::Error),
    /// The call took longer than the configured timeout.
    #[error("request timed out: {0}")]
    Timeout(#[source] reqwest::Error),
    /// The request could not be built (a missing or invalid argument).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The client is misconfigured (e.g. `TITAN_BASE_URL` is missing).
    #[error("configuration error: {0}")]
    Config(String),
    /// Titan's answer did not have the documented shape.
    #[error("unexpected response: {0}")]
    UnexpectedResponse(String),
}

impl Error {
    /// The HTTP status, when Titan answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(api) => Some(api.status),
            _ => None,
        }
    }

    /// The message with its causes, e.g. "connection error: ...: Connection refused (os error
    /// 111)": what the language bindings show, since their errors cannot carry a Rust chain.
    pub fn with_causes(&self) -> String {
        let mut message = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        message
    }
}

impl From<reqwest::Error> for Error {
    /// A transport failure: a timeout, or any other connection error.
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout(error)
        } else {
            Self::Connection(error)
        }
    }
}

impl From<progenitor_client::Error<ErrorBody>> for Error {
    fn from(error: progenitor_client::Error<ErrorBody>) -> Self {
        use progenitor_client::Error as E;
        match error {
            E::ErrorResponse(response) => {
                let request_id = header(response.headers(), "x-request-id");
                let status = response.status().as_u16();
                let body = response.into_inner();
                Self::Api(ApiError {
                    status,
                    message: body.error,
                    docs: body.docs,
                    request_id,
                })
            }
            E::CommunicationError(e) | E::ResponseBodyError(e) => e.into(),
            E::InvalidRequest(message) => Self::InvalidRequest(message),
            E::Custom(message) => Self::InvalidRequest(message),
            E::InvalidResponsePayload(bytes, e) => {
                Self::UnexpectedResponse(format!("{e}: {}", String::from_utf8_lossy(&bytes)))
            }
            E::UnexpectedResponse(response) => Self::Api(ApiError {
                status: response.status().as_u16(),
                message: "undocumented response".into(),
                docs: String::new(),
                request_id: header(response.headers(), "x-request-id"),
            }),
            E::InvalidUpgrade(e) => Self::UnexpectedResponse(e.to_string()),
        }
    }
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
