//! Any server answers any request when several share one PostgreSQL database: a request for a
//! session another server runs is forwarded to that server (at the address it announced), and
//! one for a session between two owners (its server died, another takes it over within a lease
//! period) is answered 503 with `Retry-After`. SDKs need nothing of this: they retry 503s.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderName};

use crate::error::ApiError;
use crate::state::SharedState;
use crate::store::cluster::{self, Holder};

/// Marks a forwarded request (with the forwarding server's id): it is served where it lands,
/// never forwarded again.
pub const FORWARDED_BY: &str = "x-titan-forwarded-by";

/// Routes (`POST`) that name their session in the JSON body instead of the path, and the field.
const BODY_SESSION_ROUTES: [(&str, &str); 2] = [("/api/messages/send", "session"), ("/api/sessions", "name")];

/// Routes (all `POST`) that start a session: one not running anywhere starts on the server
/// running the fewest sessions.
const STARTING_ROUTES: [&str; 3] = [
    "/api/sessions",
    "/api/sessions/{session}/start",
    "/api/sessions/{session}/restart",
];

/// Serves the request here, or forwards it to the server running its session.
pub async fn layer(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let Some(cluster) = state.engine.cluster() else {
        return next.run(request).await;
    };
    if request.headers().contains_key(FORWARDED_BY) {
        return next.run(request).await;
    }
    let starting = request.method() == http::Method::POST
        && request
            .extensions()
            .get::<MatchedPath>()
            .is_some_and(|route| STARTING_ROUTES.contains(&route.as_str()));
    let (request, session) = match session_of(request, state.config.max_send_body_bytes).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let Some(session) = session.filter(|s| !state.engine.runs_here(s)) else {
        return next.run(request).await;
    };
    match cluster::holder(&state.db, &session).await {
        Ok(Holder::Server { id, address }) if id != cluster.server_id => {
            forward(&state, request, &cluster.server_id, &address, &session).await
        }
        Ok(Holder::Orphaned) => ApiError::Unavailable {
            message: format!(
                "session `{session}` is moving to another server (the one running it stopped answering); retry shortly"
            ),
            retry_after: cluster.lease_ttl.as_secs().max(1),
        }
        .into_response(),
        Ok(Holder::Missing | Holder::Idle) if starting => {
            match cluster::least_loaded(&state.db, cluster.ttl_ms()).await {
                Ok(Some((id, address))) if id != cluster.server_id => {
                    forward(&state, request, &cluster.server_id, &address, &session).await
                }
                Ok(_) => next.run(request).await,
                Err(error) => ApiError::Internal(error).into_response(),
            }
        }
        Ok(_) => next.run(request).await,
        Err(error) => ApiError::Internal(error).into_response(),
    }
}

/// The session the request is for: the `{session}` segment of its route, or the session its
/// JSON body names (the body is read for that, and put back).
async fn session_of(request: Request, limit: usize) -> Result<(Request, Option<String>), ApiError> {
    let Some(route) = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()) else {
        return Ok((request, None));
    };
    if let Some(at) = route.split('/').position(|segment| segment == "{session}") {
        // Session names are letters, digits, `_` and `-`: nothing to decode.
        let session = request.uri().path().split('/').nth(at).map(str::to_owned);
        return Ok((request, session));
    }
    let body_route = BODY_SESSION_ROUTES
        .iter()
        .find(|(path, _)| *path == route)
        .filter(|_| request.method() == http::Method::POST);
    let Some((_, field)) = body_route else {
        return Ok((request, None));
    };
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| ApiError::Status {
        status: http::StatusCode::PAYLOAD_TOO_LARGE,
        message: "request body too large".to_owned(),
    })?;
    let session = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|body| body.get(*field)?.as_str().map(str::to_owned));
    Ok((Request::from_parts(parts, Body::from(bytes)), session))
}

/// Headers that describe one connection, not the request: never passed on.
fn hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::HOST,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

/// Sends the request on to `address` as it came (method, path, query, headers, streamed body)
/// and streams the answer back.
async fn forward(state: &SharedState, request: Request, me: &str, address: &str, session: &str) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = state
        .forwarder
        .request(parts.method, format!("{address}{path}"))
        .header(FORWARDED_BY, me)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()));
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(session, address, %error, "the server running the session did not answer a forwarded request");
            return ApiError::Unavailable {
                message: format!("the server running session `{session}` did not answer; retry shortly"),
                retry_after: 1,
            }
            .into_response();
        }
    };
    let mut response = Response::builder().status(answer.status());
    if let Some(headers) = response.headers_mut() {
        for (name, value) in answer.headers() {
            if !hop_by_hop(name) {
                headers.append(name, value.clone());
            }
        }
    }
    response
        .body(Body::from_stream(answer.bytes_stream()))
        .unwrap_or_else(|error| ApiError::Internal(error.into()).into_response())
}
