//! Cross-cutting HTTP layers: request logs and metrics, and the error envelope for responses that
//! did not come from a handler (unknown routes, wrong methods, oversized bodies).

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::SharedState;

/// Limits each request body to what its route takes ([`crate::config::Config::body_limit`]); a
/// body over the limit gets 413 when it is read. Runs after routing, so the route is known.
pub async fn limit_body(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    let limit = state.config.body_limit(route);
    let request = request.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
    next.run(request).await
}

/// Header carrying the request id (set or echoed by the request-id layers).
pub const REQUEST_ID: &str = "x-request-id";

/// Logs one line per request (never headers or bodies, so no secret) and records its metrics.
pub async fn observe(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.record(method.as_str(), &route, status, elapsed);
    tracing::info!(
        request_id,
        method = %method,
        path,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Rewrites any error response that is not already JSON into the `{"error", "docs"}` envelope.
pub async fn envelope(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            format!("method {method} is not allowed on this route; the Allow header lists the methods it accepts")
        }
        StatusCode::PAYLOAD_TOO_LARGE => "request body too large".to_owned(),
        other => other.canonical_reason().unwrap_or("request failed").to_lowercase(),
    };
    let (mut parts, _) = response.into_parts();
    let rewritten = ApiError::Status { status, message }.into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, rewritten.into_body())
}

/// The answer for a path no route matches.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no such route: {}", uri.path()))
}

/// A response with no body, for `204 No Content`.
pub fn no_content() -> Response {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_default()
}
