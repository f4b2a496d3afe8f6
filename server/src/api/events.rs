//! `GET /api/events`: the live event stream (Server-Sent Events).

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, Caller, required};
use crate::error::ApiError;
use crate::events::EventFilter;
use crate::events::stream::{self, Selection};
use crate::extract::Query;
use crate::model::bounded::SessionName;
use crate::state::SharedState;

/// How often an idle stream sends a comment, so proxies keep it open and clients notice a
/// dead connection.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// One message of the stream, as Server-Sent Events frame it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StreamMessage {
    /// The event's id (`evt_...`); send it back as `Last-Event-ID` to resume after it.
    pub id: String,
    /// The event's type.
    pub event: String,
    /// The event's envelope as JSON: a `WebhookEvent`.
    pub data: String,
}

/// The filters of the stream.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Comma-separated event types (default: all), e.g. `message.received,session.status`.
    #[param(value_type = Option<EventFilter>, style = Form, explode = false)]
    pub events: Option<String>,
    /// Only this session's events.
    #[param(inline)]
    pub session: Option<SessionName>,
}

/// What `query` selects, within what the caller's key may see.
fn selection(caller: &Caller, query: StreamQuery) -> Result<Selection, ApiError> {
    let names: Vec<&str> = query
        .events
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|n| !n.trim().is_empty())
        .collect();
    let events = EventFilter::parse(&names).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let sessions = match query.session.map(SessionName::into_inner) {
        Some(name) => {
            caller.grant.require_session(&name)?;
            Some(BTreeSet::from([name]))
        }
        None => caller.grant.sessions.clone(),
    };
    Ok(Selection { events, sessions })
}

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
        (status = 200, description = "The event stream: one message per event", content_type = "text/event-stream", body = StreamMessage),
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
    let receiver = stream::listen(state.db.clone(), &state.tail, selection(&caller, query)?, last);
    let events = futures::stream::unfold(receiver, |mut receiver| async move {
        let envelope = receiver.recv().await?;
        let event = Event::default()
            .id(envelope.id.as_str())
            .event(envelope.event.as_str())
            .data(envelope.body.as_ref());
        Some((Ok::<_, Infallible>(event), receiver))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT)))
}
