//! `Idempotency-Key` on POST: the first successful response for a key is recorded per API key
//! for 24 hours and replayed for every retry, so a client that lost a response can retry without
//! doing the work twice. A refused or failed request records nothing.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::model::bounded::IdempotencyKey;
use crate::state::SharedState;
use crate::store::idempotency::{self, Claim, StoredResponse};
use crate::store::now_ms;

/// Request header naming the key.
pub const HEADER: &str = "idempotency-key";
/// Response header set on replays.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a recorded response is replayed.
pub const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// After this long without a response, a claim is taken for a request whose server stopped.
const ABANDONED_AFTER: Duration = Duration::from_secs(10 * 60);

/// Layer for authenticated routes, inside authentication: records are kept per calling key
/// (the master key's under an empty id).
pub async fn layer(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    match handle(&state, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn handle(state: &SharedState, request: Request, next: Next) -> Result<Response, ApiError> {
    let key = request.headers().get(HEADER).cloned();
    let (Some(key), true) = (key, request.method() == Method::POST) else {
        return Ok(next.run(request).await);
    };
    let key = key
        .to_str()
        .map_err(|_| "must be visible ASCII characters".to_owned())
        .and_then(IdempotencyKey::parse)
        .map_err(|why| ApiError::BadRequest(format!("Idempotency-Key {why}")))?
        .into_inner();
    let caller_id = request
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.key_id.clone())
        .unwrap_or_default();

    let (parts, body) = request.into_parts();
    // `http::limit_body` (outside this layer) bounds the body to its route's limit.
    let body = to_bytes(body, usize::MAX).await.map_err(|_| ApiError::Status {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: "request body too large".into(),
    })?;
    let hash = hex::encode(
        Sha256::new()
            .chain_update(parts.method.as_str())
            .chain_update([0])
            .chain_update(parts.uri.to_string())
            .chain_update([0])
            .chain_update(&body)
            .finalize(),
    );
    let now = now_ms();
    let expired_before = now - millis(RETENTION);
    let abandoned_before = now - millis(ABANDONED_AFTER);
    match idempotency::claim(&state.db, &caller_id, &key, &hash, expired_before, abandoned_before).await? {
        Claim::Claimed => {}
        Claim::InProgress => {
            let mut response =
                ApiError::Conflict("a request with this Idempotency-Key is still in progress; retry shortly".into())
                    .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Ok(response);
        }
        Claim::Mismatch => {
            return Err(ApiError::Status {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: "this Idempotency-Key was already used with a different request".into(),
            });
        }
        Claim::Done(stored) => return Ok(replay(stored)),
    }

    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    // Only work that was done is replayed: a refused request leaves nothing behind, so its retry
    // (after the caller fixed what was wrong) is judged afresh.
    if !response.status().is_success() {
        idempotency::release(&state.db, &caller_id, &key).await?;
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, usize::MAX)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("buffer response: {e}")))?;
    let stored = StoredResponse {
        status: parts.status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.to_vec(),
    };
    idempotency::complete(&state.db, &caller_id, &key, &stored).await?;
    Ok(Response::from_parts(parts, Body::from(body)))
}

fn replay(stored: StoredResponse) -> Response {
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    if let Some(content_type) = stored.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Deletes recorded responses older than [`RETENTION`] once an hour, for as long as the server runs.
pub async fn prune_forever(db: crate::store::Db) {
    let mut tick = tokio::time::interval(Duration::from_secs(60 * 60));
    loop {
        tick.tick().await;
        match idempotency::prune(&db, now_ms() - millis(RETENTION)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "expired idempotency keys removed"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "pruning idempotency keys failed"),
        }
    }
}
