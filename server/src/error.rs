//! The one error type every handler returns, and the `{"error", "docs"}` envelope it renders as.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::engine::EngineError;
use crate::model::grant::Denied;

pub use crate::model::error_body::ErrorBody;

/// Base of every `docs` link in an error envelope.
pub const DOCS_BASE: &str = "https://docs.usetitan.app";

/// Everything a request can fail with; each variant maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or fails validation.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no key, or a key that is unknown, expired or disabled.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the key lacks a scope or session, or the admin API is off.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource or route.
    #[error("{0}")]
    NotFound(String),
    /// 409: the resource already exists or is in the wrong state.
    #[error("{0}")]
    Conflict(String),
    /// 429: rate limited; the client may retry after this many seconds.
    #[error("rate limit exceeded: retry in {retry_after} s")]
    RateLimited {
        /// Seconds until a request would be admitted again.
        retry_after: u64,
    },
    /// 429: a client token's ephemeral id used up its day's sends; retry after this many seconds.
    #[error("daily limit of {limit} sends reached for this ephemeral id: retry in {retry_after} s")]
    DailyLimit {
        /// Sends allowed per UTC day.
        limit: u32,
        /// Seconds until the next UTC day.
        retry_after: u64,
    },
    /// 503: no server can take the request right now (a session between two owners); the client
    /// may retry after this many seconds.
    #[error("{message}")]
    Unavailable {
        /// What is missing.
        message: String,
        /// Seconds after which a retry should succeed.
        retry_after: u64,
    },
    /// Any other status produced by a layer (405, 413, 415, ...), with its message.
    #[error("{message}")]
    Status {
        /// The HTTP status to answer with.
        status: StatusCode,
        /// What went wrong.
        message: String,
    },
    /// 500: a failure on our side; the cause is logged, never shown.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited { .. } | Self::DailyLimit { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Status { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The envelope for this error, with the docs page that explains its status.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.to_string(),
            docs: docs_link(self.status()),
        }
    }
}

/// The docs page for an error status.
pub fn docs_link(status: StatusCode) -> String {
    let page = match status.as_u16() {
        401 => "api-reference/authentication",
        403 => "api-reference/authentication#scopes",
        429 => "api-reference/introduction#rate-limiting",
        _ => "api-reference/introduction#http-status-codes",
    };
    format!("{DOCS_BASE}/{page}")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        if let Self::RateLimited { retry_after }
        | Self::DailyLimit { retry_after, .. }
        | Self::Unavailable { retry_after, .. } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        // A well-formed body of the wrong shape is a 400 like every other invalid input.
        let status = match rejection.status() {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        };
        let message = match &rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "expected a JSON body with `Content-Type: application/json`".to_owned()
            }
            JsonRejection::BytesRejection(_) if status == StatusCode::PAYLOAD_TOO_LARGE => {
                "request body too large".to_owned()
            }
            _ => rejection.body_text(),
        };
        Self::Status { status, message }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        Self::Forbidden(denied.0)
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::NotFound(_) => Self::NotFound(error.to_string()),
            EngineError::Unknown(message) => Self::NotFound(message),
            EngineError::Forbidden(message) => Self::Forbidden(message),
            EngineError::Invalid(message) => Self::BadRequest(message),
            EngineError::Conflict(message) => Self::Conflict(message),
            EngineError::Upstream(message) => Self::Status {
                status: StatusCode::BAD_GATEWAY,
                message,
            },
            EngineError::Gone(message) => Self::Status {
                status: StatusCode::GONE,
                message,
            },
            EngineError::Unavailable(message) => Self::Unavailable {
                message,
                retry_after: 1,
            },
            EngineError::Internal(cause) => Self::Internal(cause),
        }
    }
}
