//! `GET /api/events`: the live event stream (Server-Sent Events).

use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{KeepAlive, Sse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, required};
use crate::error::{ApiError, ErrorBody};
use crate::events::stream::{self, StreamQuery};
use crate::extract::Query;
use crate::state::SharedState;

/// How often an idle stream sends a comment, so proxies keep it open and clients notice a
/// dead connection.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// The event stream route.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(events))
}

#[utoipa::path(
    get, path = "/api/events", operation_id = "streamEvents", tag = "Webhooks",
    summary = "Stream events",
    description = "Server-Sent Events of the same envelopes webhooks receive: each message has `id` (the \
        event id), `event` (its type) and `data` (the JSON envelope). Reconnect with `Last-Event-ID` to \
        receive what was missed (within the retention window). A comment is sent every 15 s when idle. \
        A key limited to sessions only sees their events. Required scope: `webhooks:manage`.",
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id"),
    ),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = String),
        (status = "4XX", description = "Invalid input, authentication or permission", body = ErrorBody),
        (status = "5XX", description = "Server error", body = ErrorBody),
    ),
    security(("apiKey" = [])),
    extensions(("x-scopes" = json!(["webhooks:manage"])))
)]
async fn events(
    State(state): State<SharedState>,
    Authorized(caller, _): Authorized<required::WebhooksManage>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let stream = stream::open(&state, &caller, query, last)?;
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT)))
}
